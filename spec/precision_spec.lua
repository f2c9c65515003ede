-- net:precision and nerve.precisions: bf16 matrix products, float32 for
-- everything else.
local nerve = require "nerve"

local function data(rows, cols, seed)
  nerve.seed(seed)
  local x = nerve.matrix(rows, cols)
  local r = nerve.core.rng(seed)
  for i = 1, rows do
    for j = 1, cols do x:set(i, j, r:uniform() * 2 - 1) end
  end
  return x
end

local function maxdiff(a, b)
  local rows, cols = a:shape()
  local d, big = 0, 0
  for i = 1, rows do
    for j = 1, cols do
      local u, v = a:get(i, j), b:get(i, j)
      d = math.max(d, math.abs(u - v))
      big = math.max(big, math.abs(v))
    end
  end
  return d, big
end

local function net_of(sizes, seed)
  nerve.seed(seed)
  local t = { table.unpack(sizes) }
  t.hidden, t.output = "tanh", "linear"
  return nerve.mlp(t)
end

describe("net:precision", function()
  it("is fp32 by default, and sets bf16, returning the network", function()
    local net = net_of({ 3, 5, 2 }, 1)
    assert.equals("fp32", net:precision())
    assert.equals(net, net:precision("bf16"))
    assert.equals("bf16", net:precision())
    assert.equals("fp32", net:precision("fp32"):precision())
  end)

  it("names the known precisions when given another", function()
    local net = net_of({ 3, 5, 2 }, 1)
    assert.has_error(function() net:precision("fp16") end,
      "nerve.precision: unknown precision 'fp16' (expected fp32 or bf16)")
    assert.equals("fp32", net:precision())
  end)

  it("survives clone, not the model file", function()
    local net = net_of({ 3, 5, 2 }, 1):precision("bf16")
    assert.equals("bf16", net:clone():precision())
    assert.equals("fp32", nerve.deserialize(net:serialize()):precision())
    assert.matches("bf16 matrix products", tostring(net))
    assert.not_matches("bf16", tostring(net:clone():precision("fp32")))
  end)
end)

describe("nerve.precisions", function()
  it("says how each precision runs here", function()
    local p = nerve.precisions()
    assert.equals(nerve.isa(), p.fp32)
    assert.truthy(p.bf16 == "amx" or p.bf16 == "avx512_bf16"
                  or p.bf16 == "emulated")
  end)
end)

describe("bf16 matrix products", function()
  after_each(function() nerve.threads(1) end)

  it("round the operands: close to fp32, not equal", function()
    local net = net_of({ 40, 300, 10 }, 2)
    local x = data(64, 40, 3)
    local want = net:predict(x):copy()
    local got = net:precision("bf16"):predict(x)
    local d, big = maxdiff(got, want)
    assert.truthy(d > 0)
    -- each operand within 2^-9 relative: the sums within about 2^-7 of
    -- the sum of magnitudes
    assert.truthy(d < 0.02 * math.max(1, big))
  end)

  it("give the same floats for any thread count", function()
    local net = net_of({ 64, 512, 512, 10 }, 4):precision("bf16")
    local x = data(96, 64, 5)
    local y = nerve.matrix(96, 1)
    for i = 1, 96 do y:set(i, 1, 1 + i % 10) end
    local function train(threads)
      nerve.threads(threads)
      local n = net:clone()
      local opt = nerve.sgd(n, { lr = 0.05 })
      nerve.fit(n, x, y, { loss = nerve.cross_entropy(), optimizer = opt,
        batch = 32, epochs = 2, shuffle = false })
      return n:predict(x):copy()
    end
    local a, b = train(1), train(2)
    assert.equals(0, (maxdiff(a, b)))
  end)

  it("agree across the kernel tables within bf16's tolerance", function()
    local net = net_of({ 30, 200, 7 }, 6):precision("bf16")
    local x = data(50, 30, 7)
    local isa = nerve.isa()
    local want = net:predict(x):copy()
    nerve.set_isa("scalar")
    local got = net:predict(x)
    nerve.set_isa(isa)
    local d, big = maxdiff(got, want)
    assert.truthy(d <= 1e-5 * math.max(1, big))
  end)

  it("keep float32 master weights: an update below bf16's spacing moves them",
  function()
    local net = nerve.sequential{ nerve.linear(1, 1) }:precision("bf16")
    local w = net:layer(1).weight
    w:set(1, 1, 1)
    local x, y = nerve.matrix{ { 1 } }, nerve.matrix{ { 0 } }
    local opt = nerve.sgd(net, { lr = 1e-5 })
    nerve.fit(net, x, y, { loss = nerve.mse(), optimizer = opt, batch = 1,
      epochs = 1 })
    -- bf16 next to 1 is 2^-7 apart; the step is about 1e-5
    local v = w:get(1, 1)
    assert.truthy(v < 1 and v > 1 - 1e-4)
  end)

  it("train: the loss falls, and gradcheck holds at bf16's tolerance",
  function()
    local net = net_of({ 4, 16, 3 }, 8):precision("bf16")
    local x = data(30, 4, 9)
    local y = nerve.matrix(30, 1)
    for i = 1, 30 do y:set(i, 1, 1 + (x:get(i, 1) > 0 and 1 or 0)
                                  + (x:get(i, 2) > 0 and 1 or 0)) end
    local loss = nerve.cross_entropy()
    -- central differences of a rounded forward need a step well above
    -- bf16's spacing; both sides then agree to about 1e-2 (4e-3 here)
    assert.truthy(nerve.gradcheck(net, loss, x, y, 2e-2) < 3e-2)
    local report = nerve.fit(net, x, y, { loss = loss, epochs = 200,
      optimizer = nerve.adam(net, { lr = 0.02 }), batch = 30 })
    assert.truthy(report.loss < 0.5 * report.history[1])
  end)
end)
