-- nerve.help and docs/api.md cover every public name, and say the same.
local nerve = require "nerve"
local core = nerve.core
local reference = require "nerve.reference"
local help = require "nerve.help"

local docs = {}
for _, sec in ipairs(reference) do
  for _, e in ipairs(sec) do docs[e[1]] = e end
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

-- Every function reachable from `require "nerve"` through its tables,
-- as { path, f }; nerve.core is the internal binding and is left out.
local function reachable()
  local out, seen = {}, {}
  local function walk(prefix, t)
    seen[t] = true
    for _, k in ipairs(sorted_keys(t)) do
      local v = t[k]
      if type(v) == "function" then out[#out + 1] = { prefix .. k, v }
      elseif type(v) == "table" and v ~= core and not seen[v] then
        walk(prefix .. k .. ".", v)
      end
    end
  end
  walk("nerve.", nerve)
  return out
end

-- One object of every type, made here rather than by help itself.
local function objects()
  local net = nerve.mlp{ 2, 3, 2 }
  local x, y = nerve.matrix{ { 0, 1 }, { 1, 0 } }, { 1, 2 }
  local ck = assert(nerve.checkpoint.parse(nerve.checkpoint.bytes{
    net = net, optimizer = nerve.adam(net), epoch = 1 }))
  local list = {
    { "m", nerve.matrix(2, 2) }, { "net", net },
    { "layer", nerve.linear(2, 2) }, { "layer", nerve.sigmoid() },
    { "layer", nerve.dropout(0.1) },
    { "loss", nerve.mse() }, { "loss", nerve.cross_entropy() },
    { "loss", nerve.bce() },
    { "t", nerve.trainer(net, x, nerve.matrix{ { 1, 0 }, { 0, 1 } }, { epochs = 1 }) },
    { "s", nerve.schedule.cosine{ lr = 0.1, epochs = 10 } },
    { "s", nerve.schedule.constant{ lr = 0.1 } },
    { "c", nerve.stop.early{} }, { "c", nerve.stop.any{ nerve.stop.epochs(2) } },
    { "ck", ck }, { "conf", nerve.metrics.confusion(net, x, y) },
    { "report", nerve.fit(net, x, y, { epochs = 1, loss = nerve.cross_entropy() }) },
  }
  for _, kind in ipairs{ "sgd", "adam", "adamw", "rmsprop", "adagrad", "rprop" } do
    list[#list + 1] = { "opt", nerve[kind](net) }
  end
  return list
end

describe("nerve.help", function()
  it("has an entry for every function reachable from require 'nerve'", function()
    local missing, count = {}, 0
    for _, p in ipairs(reachable()) do
      count = count + 1
      if nerve.help(p[2]):find("no entry", 1, true) then
        missing[#missing + 1] = p[1]
      end
    end
    assert.same({}, missing)
    assert.is_true(count >= 75, "walked only " .. count .. " functions")
  end)

  it("has an entry for every method and metamethod of every type", function()
    local missing, count = {}, 0
    for _, o in ipairs(objects()) do
      local prefix, obj = o[1], o[2]
      local mt = getmetatable(obj)
      assert.equal(prefix, help.prefix[mt.__name], tostring(mt.__name))
      for _, k in ipairs(sorted_keys(help.methods(mt))) do
        local f = help.methods(mt)[k]
        if type(f) == "function" and k:sub(1, 2) ~= "__" then
          count = count + 1
          local key = prefix .. ":" .. k
          if not docs[key] or nerve.help(f):find("no entry", 1, true) then
            missing[#missing + 1] = key
          end
        end
      end
      for meta, pattern in pairs(help.metamethod) do
        if mt[meta] then
          local key = pattern:format(prefix)
          if not docs[key] then missing[#missing + 1] = key end
        end
      end
      local text = nerve.help(obj)
      assert.is_nil(text:find("no entry", 1, true), prefix)
    end
    table.sort(missing)
    assert.same({}, missing)
    assert.is_true(count >= 40, "walked only " .. count .. " methods")
  end)

  it("documents nothing that does not exist", function()
    local funcs = {}
    for _, p in ipairs(reachable()) do funcs[p[1]] = true end
    local methods = {}
    for _, o in ipairs(objects()) do
      for k in pairs(help.methods(getmetatable(o[2]))) do
        methods[o[1] .. ":" .. k] = true
      end
      if type(o[2]) == "table" then -- a criterion's own check and reset
        for k, v in pairs(o[2]) do
          if type(v) == "function" then methods[o[1] .. ":" .. k] = true end
        end
      end
    end
    local stale = {}
    for key, e in pairs(docs) do
      if key:find("^nerve%.") and e[2]:find("(", 1, true) and not funcs[key] then
        stale[#stale + 1] = key
      elseif key:find("^%w+:") and not methods[key] then
        stale[#stale + 1] = key
      end
    end
    table.sort(stale)
    assert.same({}, stale)
  end)

  it("shows a type's methods and fields for an object", function()
    local net = nerve.mlp{ 2, 1 }
    local s = nerve.help(net)
    for _, k in ipairs{ "predict", "evaluate", "training", "clip_grad_norm",
        "copy_parameters", "summary" } do
      assert.truthy(s:find("net:" .. k, 1, true), k)
    end
    assert.matches("opt%.lr", nerve.help(nerve.sgd(net)))
    assert.matches("layer%.weight", nerve.help(net:layer(1)))
    assert.matches("s:apply", nerve.help(nerve.schedule.step{ lr = 1, step = 2 }))
  end)

  it("lists a namespace and nerve.fit's options, state and report", function()
    local s = nerve.help(nerve.data)
    for _, k in ipairs{ "csv", "fann", "idx", "mnist", "split", "standardize",
        "one_hot", "shift", "concat" } do
      assert.truthy(s:find("nerve.data." .. k, 1, true), k)
    end
    local fit = nerve.help(nerve.fit)
    for _, k in ipairs{ "schedule", "checkpoint", "resume", "clip", "nonfinite",
        "restore_on_diverge", "metric", "validation", "yield" } do
      assert.truthy(fit:find("\n  " .. k .. " ", 1, true)
        or fit:find("\n  " .. k .. ":", 1, true), k)
    end
    assert.truthy(fit:find("report.best_epoch", 1, true))
    assert.truthy(fit:find("state.grad_norm", 1, true))
  end)

  it("finds every entry by its name", function()
    for key in pairs(docs) do
      local s = nerve.help(key)
      assert.is_nil(s:find("nothing documented", 1, true), key)
    end
    assert.matches("^nerve%.data%.csv", nerve.help("csv"))
    assert.matches("^net:predict", nerve.help("predict"))
  end)

  it("never cuts a description inside parentheses or code in the index", function()
    local function balanced(s)
      local depth = 0
      for ch in s:gmatch("[%(%)%[%]{}]") do
        depth = depth + ((ch == "(" or ch == "[" or ch == "{") and 1 or -1)
        if depth < 0 then return false end
      end
      return depth == 0
    end
    for key, e in pairs(docs) do
      local short = help.summary(e[3])
      assert.is_true(balanced(short), key .. ": " .. short)
      assert.equal(0, select(2, short:gsub("`", "")) % 2, key)
    end
    for line in nerve.help():gmatch("[^\n]+") do
      assert.is_true(balanced(line), line)
    end
  end)

  it("leaves nerve's generator alone", function()
    local before = core.rng_state()
    nerve.help(nerve.schedule.constant{ lr = 1 }.apply)
    nerve.help(nerve.matrix(1, 1).shape)
    nerve.help(print)
    assert.equal(before, core.rng_state())
  end)
end)

describe("docs/api.md", function()
  it("holds the tables generated from lua/nerve/reference.lua (make api)", function()
    local gen = assert(loadfile("tools/gen_api.lua"))()
    local f = assert(io.open("docs/api.md", "rb"))
    local text = f:read("a")
    f:close()
    assert.is_true(gen.render(text) == text,
      "docs/api.md is out of date with lua/nerve/reference.lua: run make api")
  end)

  it("has one entry per key", function()
    local seen = {}
    for _, sec in ipairs(reference) do
      for _, e in ipairs(sec) do
        assert.is_nil(seen[e[1]], e[1])
        seen[e[1]] = true
        assert.equal("string", type(e[2]), e[1])
        assert.equal("string", type(e[3]), e[1])
      end
    end
  end)
end)
