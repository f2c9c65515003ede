-- Option tables, checked one way across the Lua layer: an unknown name is
-- an error that names the word and lists the accepted ones.
local type, error, pairs, tostring, getmetatable =
  type, error, pairs, tostring, getmetatable
local concat, sort = table.concat, table.sort
local _ENV = nil

local M = {}

--- A value as messages show it: a number's value, a userdata's type name
-- (nerve.Matrix, ...), otherwise its type.
function M.describe(v)
  if type(v) == "number" then return tostring(v) end
  local mt = getmetatable(v)
  if type(mt) == "table" and type(mt.__name) == "string" then
    return mt.__name
  end
  return type(v)
end

--- "1 column", "3 columns": a count with its noun, plural unless 1
-- (`nouns` for a plural other than noun .. "s").
function M.plural(n, noun, nouns)
  return tostring(n) .. " " .. (n == 1 and noun or nouns or noun .. "s")
end

--- True for a function or a value whose metatable has __call.
function M.is_callable(v)
  if type(v) == "function" then return true end
  local mt = getmetatable(v)
  return type(mt) == "table" and mt.__call ~= nil
end

--- Why path cannot name a file, or nil: io.open would stop at a NUL byte
-- and use another file, and an empty path names none (the binding's paths
-- are checked the same way, ln_checkpath).
function M.path_problem(path)
  if path == "" then return "the path is empty" end
  if path:find("\0", 1, true) then return "the path holds a NUL byte" end
end

--- options.check(fn, opts, allowed): opts (a table, or nil for {}) when
-- every key is in the set allowed; otherwise raises an error naming fn and
-- the bad word, pointing at the line that called fn.
function M.check(fn, opts, allowed)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    error(fn .. ": options must be a table, got " .. M.describe(opts), 3)
  end
  for k in pairs(opts) do
    if not allowed[k] then
      local names = {}
      for name in pairs(allowed) do names[#names + 1] = name end
      sort(names)
      error(fn .. ": unknown option '" .. tostring(k) .. "' (expected "
        .. concat(names, ", ") .. ")", 3)
    end
  end
  return opts
end

return M
