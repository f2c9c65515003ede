local nerve = require "nerve"
local ref = dofile("spec/helpers/ref.lua")

local ISAS = { avx512 = true, avx2 = true, neon = true, scalar = true }

local function weights(net)
  local t = {}
  for i, m in ipairs(net:parameters()) do t[i] = m:totable() end
  return t
end

local function train(seed)
  nerve.seed(seed)
  local net = nerve.mlp{ 2, 5, 1, hidden = "tanh" }
  local x = nerve.matrix{ { 0, 0 }, { 0, 1 }, { 1, 0 }, { 1, 1 }, { 0.5, 0.5 } }
  local y = nerve.matrix{ { 0 }, { 1 }, { 1 }, { 0 }, { 0.5 } }
  nerve.fit(net, x, y, { epochs = 20, batch = 2 })
  return weights(net), net:forward(x):totable()
end

-- Runs a Lua chunk in a fresh lua5.4 with NERVE_ISA set; returns its output.
local function with_env(isa, chunk)
  local cmd = string.format("NERVE_ISA=%s LUA_PATH=%q LUA_CPATH=%q lua5.4 -e %q 2>&1",
    isa, package.path, package.cpath, chunk)
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  p:close()
  return out
end

describe("nerve.seed", function()
  it("gives identical networks for one seed", function()
    nerve.seed(123)
    local a = weights(nerve.mlp{ 4, 8, 3 })
    nerve.seed(123)
    local b = weights(nerve.mlp{ 4, 8, 3 })
    assert.are.same(a, b)
  end)

  it("gives other networks for another seed", function()
    nerve.seed(123)
    local a = weights(nerve.mlp{ 4, 8, 3 })
    nerve.seed(124)
    local b = weights(nerve.mlp{ 4, 8, 3 })
    assert.are_not.same(a, b)
  end)

  it("gives identical training, shuffling included", function()
    local w1, o1 = train(77)
    local w2, o2 = train(77)
    assert.are.same(w1, w2)
    assert.are.same(o1, o2)
  end)
end)

describe("nerve.isa", function()
  it("names one of the four paths", function()
    local isa = nerve.isa()
    assert.is_string(isa)
    assert.is_true(ISAS[isa], "isa() gave " .. tostring(isa))
  end)

  it("can be forced to scalar and back", function()
    local old = nerve.isa()
    nerve.set_isa("scalar")
    assert.are.equal("scalar", nerve.isa())
    nerve.set_isa(old)
    assert.are.equal(old, nerve.isa())
  end)

  it("raises for an unknown path", function()
    local ok, err = pcall(nerve.set_isa, "bogus")
    assert.is_false(ok)
    assert.truthy(tostring(err):find("bogus", 1, true), err)
  end)

  it("follows NERVE_ISA at load", function()
    assert.are.equal("scalar", with_env("scalar", 'io.write(require("nerve").isa())'))
  end)

  it("follows NERVE_ISA for every path set_isa accepts", function()
    local old = nerve.isa()
    for _, p in ipairs{ "avx2", "avx512", "neon" } do
      if pcall(nerve.set_isa, p) then
        assert.are.equal(p, with_env(p, 'io.write(require("nerve").isa())'))
      end
    end
    nerve.set_isa(old)
  end)

  it("ignores an unknown NERVE_ISA", function()
    local out = with_env("bogus", 'io.write(require("nerve").isa())')
    assert.is_true(ISAS[out] == true, "got: " .. out)
  end)
end)

describe("nerve.threads", function()
  it("returns a number >= 1", function()
    local n = nerve.threads()
    assert.is_number(n)
    assert.is_true(n >= 1)
  end)

  it("accepts a count and reports it", function()
    local old = nerve.threads()
    nerve.threads(2)
    assert.are.equal(2, nerve.threads())
    nerve.threads(old)
    assert.are.equal(old, nerve.threads())
  end)

  it("gives bitwise identical results for any thread count", function()
    local old = nerve.threads()
    local g = ref.rng(5)
    local x = nerve.matrix(ref.random_rows(g, 1000, 64))
    local function run(n)
      nerve.threads(n)
      nerve.seed(9)
      local net = nerve.mlp{ 64, 128, 10, hidden = "relu" }
      local y = net:forward(x):copy()
      local dx = net:backward(x, y:copy():fill(0.01)):copy()
      return y:totable(), dx:totable(), nil, net:layer(1).grad_weight:totable()
    end
    local a = { run(1) }
    local b = { run(4) }
    nerve.threads(old)
    assert.is_true(ref.same(a[1], b[1]), "outputs differ")
    assert.is_true(ref.same(a[2], b[2]), "dE/dx differs")
    assert.is_true(ref.same(a[4], b[4]), "gradients differ")
  end)
end)

describe("nerve.version", function()
  it("is a string", function()
    assert.is_string(nerve.version)
    assert.is_true(#nerve.version > 0)
  end)
end)
