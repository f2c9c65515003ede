-- Programmer mistakes raise a Lua error that says what was wrong and what
-- was expected, and nothing is half changed afterwards.
local nerve = require "nerve"
local ref = dofile("spec/helpers/ref.lua")

local function fails(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok)
  return tostring(err)
end

local function has(err, s)
  assert.truthy(err:find(s, 1, true), "error message lacks '" .. s .. "': " .. err)
end

local function setup()
  nerve.seed(31)
  local net = nerve.mlp{ 2, 3, 1 }
  local x = nerve.matrix{ { 0.5, -0.5 }, { 1, 2 } }
  local y = nerve.matrix{ { 1 }, { 0 } }
  local loss = nerve.mse()
  local out = net:forward(x)
  net:backward(x, loss:backward(out, y))
  return net, x, y, out
end

-- runs fn (which must fail) and checks that net's parameters, gradients
-- and its last output are as they were
local function unchanged(net, out, fn)
  local snap, o = ref.snapshot(net), out:totable()
  local ok, err = pcall(fn)
  assert.is_false(ok)
  assert.is_true(ref.same_snapshot(snap, ref.snapshot(net)), "the network changed")
  assert.are.same(o, out:totable(), "the output buffer changed")
  return tostring(err)
end

describe("forward", function()
  it("names both widths when the input has the wrong number of columns", function()
    local net = nerve.mlp{ 2, 3, 1 }
    local err = fails(net.forward, net, nerve.matrix(4, 3))
    has(err, "input has 3 columns, network expects 2")
  end)

  it("checks a table row's width too", function()
    local net = nerve.mlp{ 2, 3, 1 }
    local err = fails(net.forward, net, { 1, 2, 3 })
    has(err, "3")
  end)

  it("says what it expected for an input of the wrong type", function()
    local net = nerve.mlp{ 2, 3, 1 }
    has(fails(net.forward, net, "x"), "expected")
    has(fails(net.forward, net, nil), "expected")
    has(fails(net.forward, net, 42), "expected")
  end)

  it("says what it expected when called on something else", function()
    local net = nerve.mlp{ 2, 3, 1 }
    has(fails(net.forward, nerve.matrix(1, 2), nerve.matrix(1, 2)), "expected")
  end)

  it("rejects a ragged or non-numeric table row", function()
    local net = nerve.mlp{ 2, 3, 1 }
    fails(net.forward, net, { 1, "a" })
    fails(net.forward, net, {})
  end)

  it("leaves the network and its last output as they were", function()
    local net, _, _, out = setup()
    local err = unchanged(net, out, function() return net:forward(nerve.matrix(2, 5)) end)
    has(err, "input has 5 columns, network expects 2")
    unchanged(net, out, function() return net:forward("oops") end)
    -- a larger batch must not grow (and so invalidate) the buffers first
    unchanged(net, out, function() return net:forward(nerve.matrix(500, 3)) end)
  end)
end)

describe("backward", function()
  it("rejects a grad_output of the wrong shape, changing nothing", function()
    local net, x, _, out = setup()
    unchanged(net, out, function() return net:backward(x, nerve.matrix(2, 2)) end)
    unchanged(net, out, function() return net:backward(x, nerve.matrix(3, 1)) end)
  end)

  it("rejects an input that is not the last forward's shape, changing nothing", function()
    local net, _, _, out = setup()
    unchanged(net, out, function() return net:backward(nerve.matrix(2, 3), nerve.matrix(2, 1)) end)
    unchanged(net, out, function() return net:backward(nerve.matrix(3, 2), nerve.matrix(3, 1)) end)
  end)

  it("says what it expected for arguments of the wrong type", function()
    local net, x, _, out = setup()
    has(unchanged(net, out, function() return net:backward(x, "g") end), "expected")
    has(unchanged(net, out, function() return net:backward(x) end), "expected")
  end)

  it("refuses to run before any forward", function()
    local net = nerve.mlp{ 2, 3, 1 }
    local snap = ref.snapshot(net)
    fails(net.backward, net, nerve.matrix(1, 2), nerve.matrix(1, 1))
    assert.is_true(ref.same_snapshot(snap, ref.snapshot(net)))
  end)
end)

describe("update", function()
  it("wants a number", function()
    local net, _, _, out = setup()
    has(unchanged(net, out, function() return net:update("fast") end), "expected")
    unchanged(net, out, function() return net:update() end)
  end)
end)

describe("a network method", function()
  it("says what it expected when called on something else", function()
    local net = nerve.mlp{ 2, 3, 1 }
    has(fails(net.zero_grad, {}), "expected")
    has(fails(net.num_parameters, nerve.matrix(1, 1)), "expected")
  end)

  it("refuses a non-layer in sequential and add", function()
    fails(nerve.sequential, { nerve.linear(2, 2), "tanh" })
    local net = nerve.sequential{ nerve.linear(2, 2) }
    fails(net.add, net, nerve.matrix(2, 2))
    fails(net.add, net, nil)
    assert.are.equal(1, #net)
  end)

  it("refuses to add a linear layer of the wrong width, changing nothing", function()
    local net = nerve.sequential{ nerve.linear(2, 3), nerve.tanh() }
    local ok = pcall(net.add, net, nerve.linear(4, 1))
    if not ok then
      assert.are.equal(2, #net)
      local _, c = net:forward(nerve.matrix(1, 2)):shape()
      assert.are.equal(3, c)
    else
      -- accepted at add: the mismatch must then be caught at forward
      assert.is_false(pcall(net.forward, net, nerve.matrix(1, 2)))
    end
  end)
end)

describe("gradcheck", function()
  it("rejects targets of the wrong shape, changing nothing", function()
    local net, x, _, out = setup()
    unchanged(net, out, function()
      return nerve.gradcheck(net, nerve.mse(), x, nerve.matrix(2, 4))
    end)
  end)

  it("wants a loss", function()
    local net, x, y = setup()
    fails(nerve.gradcheck, net, "mse", x, y)
  end)
end)

describe("losses", function()
  it("reject a NaN target before touching anything", function()
    local l = nerve.mse()
    fails(l.forward, l, nerve.matrix{ { 1 } }, nerve.matrix{ { 0 / 0 } })
    fails(l.backward, l, nerve.matrix{ { 1 } }, nerve.matrix{ { 0 / 0 } })
    l = nerve.bce()
    fails(l.forward, l, nerve.matrix{ { 0.5 } }, nerve.matrix{ { 0 / 0 } })
  end)
end)

describe("sizes beyond the engine's limits", function()
  it("raise an error instead of aborting", function()
    fails(nerve.matrix, 2 ^ 31, 2 ^ 31)
    fails(nerve.matrix, 2 ^ 40, 1)
    fails(nerve.linear, 2 ^ 24, 2 ^ 24)
    fails(nerve.linear, 2 ^ 31, 2)
    fails(nerve.mlp, { 2 ^ 24, 2 ^ 24, 2 })
  end)
end)

describe("the engine", function()
  it("rejects an unknown instruction set, keeping the current one", function()
    local old = nerve.isa()
    local err = fails(nerve.set_isa, "bogus")
    has(err, "bogus")
    assert.are.equal(old, nerve.isa())
  end)
end)
