--- nerve.help: the reference at the REPL.
--
--   nerve.help()               the index: every documented name, one line each
--   nerve.help(nerve.fit)      one entry, by function ...
--   nerve.help("fit")          ... or by name ("nerve.fit", "net:forward")
--   nerve.help(net)            the methods and fields of an object's type
--   nerve.help(nerve.data)     the entries of a namespace
--
-- The entries live in lua/nerve/reference.lua, which docs/api.md's tables
-- are generated from (tools/gen_api.lua), so the two say the same. Results
-- are strings: the REPL shows them, scripts print them if they want.
local type, pairs, ipairs, tostring, getmetatable, sort, concat, format =
  type, pairs, ipairs, tostring, getmetatable, table.sort, table.concat,
  string.format
local require = require
local _ENV = nil

local M = {}

-- The method prefix of each type, by its metatable's __name.
local PREFIX = {
  ["nerve.Matrix"] = "m", ["nerve.Net"] = "net", ["nerve.Layer"] = "layer",
  ["nerve.Optimizer"] = "opt", ["nerve.Loss"] = "loss",
  ["nerve.Trainer"] = "t", ["nerve.Schedule"] = "s", ["nerve.stop"] = "c",
  ["nerve.Checkpoint"] = "ck", ["nerve.Confusion"] = "conf",
  ["nerve.FitReport"] = "report",
}
M.prefix = PREFIX

local docs -- key -> entry, built on first use

-- The facade (lua/nerve/init.lua) whose names are documented, given by
-- the facade itself: a module below it must not require it.
local nerve
function M.attach(facade) nerve = facade end

local function load_docs()
  if docs then return end
  docs = {}
  for _, sec in ipairs(require "nerve.reference") do
    for _, e in ipairs(sec) do docs[e[1]] = e end
  end
end

local function plain(s) return (s:gsub("`", "")) end

local function entry(key)
  local e = docs[key]
  return plain(e[2]) .. "\n  " .. plain(e[3])
end

-- The first sentence or clause of text: up to the first ". " or "; "
-- outside parentheses, brackets and `code`, else all of it (never a cut
-- inside a parenthesis).
local function summary(text)
  local depth, code = 0, false
  for i = 1, #text do
    local ch = text:sub(i, i)
    if ch == "`" then code = not code
    elseif not code then
      if ch == "(" or ch == "[" or ch == "{" then depth = depth + 1
      elseif ch == ")" or ch == "]" or ch == "}" then depth = depth - 1
      elseif depth == 0 and (ch == "." or ch == ";")
          and text:sub(i + 1, i + 1) == " " then
        return text:sub(1, i - 1)
      end
    end
  end
  return (text:gsub("%.$", ""))
end
M.summary = summary

-- Every section's entries in order, then the index.
local function index()
  local out = { "nerve " .. nerve.version
    .. ": nerve.help(name or function or object) for one entry or a type" }
  for _, sec in ipairs(require "nerve.reference") do
    if sec.fields then
      local names = {}
      for _, e in ipairs(sec) do names[#names + 1] = e[1] end
      out[#out + 1] = format("  %-26s %s", sec.title, concat(names, ", "))
    else
      out[#out + 1] = sec.title
      for _, e in ipairs(sec) do
        out[#out + 1] = format("  %-26s %s", e[1], plain(summary(e[3])))
      end
    end
  end
  return concat(out, "\n")
end

-- Entries of a type (prefix "net": net:forward, net.x, tostring(net), #net,
-- net(...)) or of a namespace (prefix "nerve.data."), in reference order.
local function group(prefix, namespace)
  local out = {}
  for _, sec in ipairs(require "nerve.reference") do
    for _, e in ipairs(sec) do
      local k = e[1]
      local hit
      if namespace then hit = k:sub(1, #prefix) == prefix
      else
        hit = k:sub(1, #prefix + 1) == prefix .. ":"
          or k:sub(1, #prefix + 1) == prefix .. "."
          or k == "tostring(" .. prefix .. ")" or k == "#" .. prefix
          or k == prefix .. "(...)"
      end
      if hit then out[#out + 1] = entry(k) end
    end
  end
  return concat(out, "\n")
end

-- One entry, and the sections attached to it (nerve.fit: its options,
-- state and report).
local function full(key)
  local out = { entry(key) }
  for _, sec in ipairs(require "nerve.reference") do
    if sec.attach == key then
      out[#out + 1] = sec.title .. ":"
      for _, e in ipairs(sec) do
        out[#out + 1] = "  " .. plain(e[2]) .. ": " .. plain(e[3])
      end
    end
  end
  return concat(out, "\n")
end

-- The metatables of every type by prefix: userdata from the core (made
-- without drawing from the generator), Lua objects from their modules.
local function types()
  local core = nerve.core
  local net = core.net()
  local list = {
    m = getmetatable(core.matrix(1, 1)), net = getmetatable(net),
    layer = getmetatable(core.activation("identity")),
    opt = getmetatable(core.sgd(net, 0.1, 0, false, 0)),
  }
  for name, mt in pairs(require "nerve.classes") do
    if PREFIX[name] then list[PREFIX[name]] = mt end
  end
  return list
end

-- The methods of a metatable: its __index table, or the `methods` table of
-- one whose __index is a function (layers, optimizers).
local function methods(mt)
  if type(mt.__index) == "table" then return mt.__index end
  return type(mt.methods) == "table" and mt.methods or {}
end
M.methods = methods

local METAMETHOD = { __tostring = "tostring(%s)", __len = "#%s", __call = "%s(...)" }
M.metamethod = METAMETHOD

-- The documented name of value v: a function of nerve or of one of its
-- namespaces (not nerve.core), a method or metamethod of a type, or a
-- namespace table.
local function name_of(v)
  if v == nerve then return nil end
  local found, seen = nil, {}
  local function walk(prefix, t)
    seen[t] = true
    local keys = {}
    for k in pairs(t) do
      if type(k) == "string" then keys[#keys + 1] = k end
    end
    sort(keys)
    for _, k in ipairs(keys) do
      local x = t[k]
      if found then return end
      -- a namespace table counts as found even without an entry of its own
      if x == v and (docs[prefix .. k] or type(x) == "table") then
        found = prefix .. k
        return
      end
      if type(x) == "table" and not seen[x] and x ~= nerve.core then
        walk(prefix .. k .. ".", x)
      end
    end
  end
  walk("nerve.", nerve)
  if found or type(v) ~= "function" then return found end
  for prefix, mt in pairs(types()) do
    for k, f in pairs(methods(mt)) do
      if f == v and docs[prefix .. ":" .. k] then return prefix .. ":" .. k end
    end
    for meta, pattern in pairs(METAMETHOD) do
      local key = format(pattern, prefix)
      if mt[meta] == v and docs[key] then return key end
    end
  end
  return nil
end

-- A key for a name as typed: exact, then with "nerve.", then a key that
-- ends in ".name" or ":name", nerve's own functions first, then network
-- and matrix methods, then the rest in sorted order.
local function rank(k)
  if k:sub(1, 6) == "nerve." then return 1 end
  if k:sub(1, 4) == "net:" then return 2 end
  if k:sub(1, 2) == "m:" then return 3 end
  return 4
end

local function lookup(s)
  if docs[s] then return s end
  if docs["nerve." .. s] then return "nerve." .. s end
  local keys = {}
  for k in pairs(docs) do
    if k:sub(-#s - 1) == "." .. s or k:sub(-#s - 1) == ":" .. s then
      keys[#keys + 1] = k
    end
  end
  sort(keys, function(a, b)
    if rank(a) ~= rank(b) then return rank(a) < rank(b) end
    return a < b
  end)
  return keys[1]
end

--- nerve.help([what]): see the top of this file.
function M.help(what)
  load_docs()
  if what == nil or what == nerve then return index() end
  local t = type(what)
  if t == "string" then
    local key = lookup(what)
    if key then return full(key) end
    return "nerve.help: nothing documented as '" .. what .. "' (nerve.help() lists all)"
  end
  local name = name_of(what)
  if name and t == "table" and not docs[name] then
    return group(name .. ".", true)
  end
  if name then return full(name) end
  local mt = getmetatable(what)
  local prefix = type(mt) == "table" and PREFIX[mt.__name]
  if prefix then return group(prefix) end
  return "nerve.help: no entry for this " .. t .. " (" .. tostring(what)
    .. "); nerve.help() lists all"
end

return M
