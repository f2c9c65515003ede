--- nerve.show: a readable text of any value, for the REPL.
--
--   nerve.show{ lr = 0.01, sizes = { 4, 16, 3 } }
--     --> { lr = 0.01, sizes = { 4, 16, 3 } }
--
-- Nerve's objects (networks, matrices, reports, ...) and anything else
-- with a __tostring show as tostring does; plain tables show their
-- contents, keys sorted, nested tables to a depth, long tables cut with
-- "...". `./nerve`'s REPL shows the results of expressions this way
-- (M.repl), so `> report.history` lists the losses instead of
-- "table: 0x...".
local type, tostring, pairs, ipairs, next, select, getmetatable, rawget, mtype =
  type, tostring, pairs, ipairs, next, select, getmetatable, rawget, math.type
local format, concat, sort = string.format, table.concat, table.sort
local getinfo = debug.getinfo
local io, print = io, print
local _ENV = nil

local M = {}

local DEPTH, ITEMS, WIDTH = 3, 40, 76

local function is_identifier(k)
  return type(k) == "string" and k:match("^[%a_][%w_]*$") ~= nil
    and k ~= "end" and k ~= "and" and k ~= "or" and k ~= "not"
    and k ~= "nil" and k ~= "true" and k ~= "false" and k ~= "function"
end

local function scalar(v)
  if type(v) == "string" then return format("%q", v) end
  if mtype(v) == "float" then
    -- the shortest %g that reads back as v: 0.1 rather than 0.1000000000000
    for digits = 6, 17 do
      local s = format("%." .. digits .. "g", v)
      if s + 0.0 == v then
        return (s:find("[%.eEni]") and s or s .. ".0")
      end
    end
  end
  return tostring(v)
end

-- Keys in a stable order: the array part 1..n first, then the rest by
-- type and text.
local function keys_of(t)
  local n = 0
  while rawget(t, n + 1) ~= nil do n = n + 1 end
  local rest = {}
  for k in pairs(t) do
    if not (mtype(k) == "integer" and k >= 1 and k <= n) then rest[#rest + 1] = k end
  end
  sort(rest, function(a, b)
    local ta, tb = type(a), type(b)
    if ta ~= tb then return ta < tb end
    if ta == "number" then return a < b end
    return tostring(a) < tostring(b)
  end)
  return n, rest
end

local function next_empty(t) return next(t) == nil end

local function has_tostring(v)
  local mt = getmetatable(v)
  return type(mt) == "table" and (rawget(mt, "__tostring") ~= nil
    or rawget(mt, "__name") ~= nil)
end

local function text(v, depth, indent, seen)
  if type(v) ~= "table" or has_tostring(v) then
    if type(v) == "table" or type(v) == "userdata" then
      -- a multi-line tostring (a network) stays aligned inside a table
      return (tostring(v):gsub("\n", "\n" .. indent))
    end
    return scalar(v)
  end
  if seen[v] then return "<cycle>" end
  if next_empty(v) then return "{}" end
  if depth >= DEPTH then return "{...}" end
  seen[v] = true
  local n, rest = keys_of(v)
  local parts, total = {}, n + #rest
  local inner = indent .. "  "
  for i = 1, n do
    if #parts == ITEMS then break end
    parts[#parts + 1] = text(v[i], depth + 1, inner, seen)
  end
  for _, k in ipairs(rest) do
    if #parts == ITEMS then break end
    local key = is_identifier(k) and k or "[" .. scalar(k) .. "]"
    parts[#parts + 1] = key .. " = " .. text(v[k], depth + 1, inner, seen)
  end
  seen[v] = nil
  if total > #parts then parts[#parts + 1] = format("... (%d more)", total - #parts) end
  local line = "{ " .. concat(parts, ", ") .. " }"
  local multi = line:find("\n")
  if #line + #indent <= WIDTH and not multi then return line end
  -- one line per entry when an entry spans lines, else as many as fit
  local lines, cur = {}, nil
  for i, p in ipairs(parts) do
    local piece = p .. (i < #parts and "," or "")
    if not multi and cur and #cur + 1 + #piece <= WIDTH then
      cur = cur .. " " .. piece
    else
      if cur then lines[#lines + 1] = cur end
      cur = inner .. piece
    end
  end
  lines[#lines + 1] = cur
  return "{\n" .. concat(lines, "\n") .. "\n" .. indent .. "}"
end

--- nerve.show(v) -> string: v as readable text; a string is itself.
function M.show(v)
  if type(v) == "string" then return v end
  return text(v, 0, "", {})
end

-- The REPL's display: lua5.4's interactive mode prints an expression's
-- values by calling the global `print` from its C main function, with
-- nothing else on the stack. A print in code always has a caller above
-- that, or was reached by a tail call (the REPL runs `print(t)` as
-- `return print(t)`), or runs in a coroutine. So the replacement shows
-- values with M.show only in the first case and is the standard print
-- everywhere else.
local function from_repl()
  if getinfo(2, "t").istailcall then return false end
  local caller = getinfo(3, "S")
  return caller ~= nil and caller.what == "C" and getinfo(4, "S") == nil
end

function M.repl_print(...)
  if not from_repl() then return print(...) end
  local out = {}
  for i = 1, select("#", ...) do out[i] = M.show((select(i, ...))) end
  io.stdout:write(concat(out, "\t"), "\n")
end

return M
