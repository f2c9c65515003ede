-- Dropout, training and evaluation modes, predict.
local nerve = require "nerve"
local ref = dofile("spec/helpers/ref.lua")

local function fails(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok)
  return tostring(err)
end

local function filled(rows, cols, seed)
  local g = ref.rng(seed)
  local m = nerve.matrix(rows, cols)
  for i = 1, rows do
    for j = 1, cols do m:set(i, j, g.uniform(0.5, 2) * (g.int(0, 1) * 2 - 1)) end
  end
  return m
end

describe("nerve.dropout", function()
  it("zeroes about p of the elements and scales the rest by 1/(1-p)", function()
    nerve.seed(1)
    local net = nerve.sequential{ nerve.dropout(0.3) }
    local x = filled(100, 100, 1)
    local y = net:forward(x)
    local zeros = 0
    for i = 1, 100 do
      for j = 1, 100 do
        local v, a = y:get(i, j), x:get(i, j)
        if v == 0 then zeros = zeros + 1
        else ref.assert_close(v, a / 0.7, 1e-6, 1e-30, "kept element") end
      end
    end
    assert.is_true(math.abs(zeros / 10000 - 0.3) < 0.03, "dropped " .. zeros)
  end)

  it("draws its mask from nerve's generator: a seed reproduces it", function()
    local net = nerve.sequential{ nerve.dropout(0.5) }
    local x = filled(8, 16, 2)
    nerve.seed(9)
    local a = net:forward(x):copy()
    local b = net:forward(x):copy()
    nerve.seed(9)
    local c = net:forward(x):copy()
    assert.is_true(ref.same(a, c))
    assert.is_false(ref.same(a, b))
  end)

  it("back-propagates through the same mask", function()
    nerve.seed(3)
    local net = nerve.sequential{ nerve.dropout(0.4) }
    local x = filled(6, 7, 3)
    local y = net:forward(x):copy()
    local dy = filled(6, 7, 4)
    local dx = net:backward(x, dy)
    for i = 1, 6 do
      for j = 1, 7 do
        local m = y:get(i, j) / x:get(i, j)
        ref.assert_close(dx:get(i, j), dy:get(i, j) * m, 1e-6, 1e-30)
      end
    end
  end)

  it("has gradients that match central differences under a fixed mask", function()
    nerve.seed(5)
    local net = nerve.sequential{ nerve.linear(3, 5), nerve.dropout(0.5),
      nerve.tanh(), nerve.linear(5, 2) }
    local x, y = filled(4, 3, 5), filled(4, 2, 6)
    local loss = nerve.mse()
    local function energy()
      nerve.seed(77) -- the same mask at every evaluation
      return loss:forward(net:forward(x), y)
    end
    net:zero_grad()
    nerve.seed(77)
    net:backward(x, loss:backward(net:forward(x), y))
    local params, grads = net:parameters(), net:gradients()
    local worst, nonzero = 0, 0
    for k, p in ipairs(params) do
      local rows, cols = p:shape()
      for r = 1, rows do
        for c = 1, cols do
          local v = p:get(r, c)
          p:set(r, c, v + 1e-2); local up = energy()
          p:set(r, c, v - 1e-2); local down = energy()
          p:set(r, c, v)
          local num = (up - down) / 2e-2
          local g = grads[k]:get(r, c)
          if g ~= 0 then nonzero = nonzero + 1 end
          worst = math.max(worst, math.abs(g - num) / math.max(1e-2, math.abs(num)))
        end
      end
    end
    assert.is_true(nonzero > 10, "too few nonzero gradients")
    assert.is_true(worst < 2e-2, "worst relative error " .. worst)
  end)

  it("passes nerve.gradcheck in training mode (one mask for the whole check)", function()
    nerve.seed(6)
    local net = nerve.sequential{ nerve.linear(3, 6), nerve.dropout(0.5), nerve.tanh(),
      nerve.linear(6, 2) }
    local x, y = filled(4, 3, 9), filled(4, 2, 10)
    local before = nerve.core.rng_state()
    assert.is_true(nerve.gradcheck(net, nerve.mse(), x, y, 1e-2) < 1e-2)
    assert.are.equal(before, nerve.core.rng_state()) -- the generator is put back
  end)

  it("passes its input through in evaluation mode, and with p = 0", function()
    local x = filled(5, 9, 7)
    local net = nerve.sequential{ nerve.dropout(0.9) }
    assert.are.equal(net, net:evaluate())
    assert.is_false(net:is_training())
    assert.is_true(ref.same(net:forward(x), x))
    assert.is_true(ref.same(net:backward(x, x), x))
    local id = nerve.sequential{ nerve.dropout(0) }
    assert.is_true(id:is_training())
    assert.is_true(ref.same(id:forward(x), x))
  end)

  it("checks p, shows it, and keeps it through save and load", function()
    for _, p in ipairs{ 1, -0.1, 1.5, "a" } do
      local err = fails(nerve.dropout, p)
      assert.truthy(err:find("nerve.dropout", 1, true), err)
    end
    local d = nerve.dropout(0.25)
    assert.are.equal(0.25, d.p)
    assert.are.equal("dropout", d.kind)
    assert.truthy(tostring(d):find("dropout(0.25", 1, true), tostring(d))
    assert.are.equal(0.5, nerve.dropout().p)
    local net = nerve.sequential{ nerve.linear(2, 3), d, nerve.relu() }
    local back = assert(nerve.deserialize(net:serialize()))
    assert.are.equal(0.25, back:layer(2).p)
    assert.are.equal(0.25, net:clone():layer(2).p)
  end)
end)

describe("network modes", function()
  it("start in training mode; training and evaluate switch and chain", function()
    local net = nerve.mlp{ 2, 3, 1 }
    assert.is_true(net:is_training())
    assert.are.equal(net, net:evaluate())
    assert.is_false(net:is_training())
    assert.are.equal(net, net:training())
    assert.is_true(net:is_training())
  end)

  it("predict always evaluates and keeps the mode", function()
    nerve.seed(11)
    local net = nerve.sequential{ nerve.linear(4, 6), nerve.dropout(0.5), nerve.linear(6, 2) }
    local x = filled(3, 4, 8)
    local a = net:predict(x):copy()
    assert.is_true(net:is_training())
    net:evaluate()
    assert.is_true(ref.same(net:forward(x), a))
    assert.is_true(ref.same(net:predict(x), a))
    assert.is_false(net:is_training())
    net:training()
    assert.is_false(ref.same(net:forward(x), a))
    assert.truthy(fails(function() net:predict(filled(2, 3, 1)) end):find("nerve.predict", 1, true))
  end)

  it("fit trains in training mode, validates and measures in evaluation mode", function()
    nerve.seed(12)
    local net = nerve.sequential{ nerve.linear(2, 8), nerve.tanh(), nerve.dropout(0.5),
      nerve.linear(8, 1) }
    local x = nerve.matrix{ { 0, 0 }, { 0, 1 }, { 1, 0 }, { 1, 1 } }
    local y = nerve.matrix{ { 0 }, { 1 }, { 1 }, { 0 } }
    net:evaluate()
    local modes = {}
    local report = nerve.fit(net, x, y, { epochs = 3, validation = { x, y },
      on_epoch = function(s) modes[#modes + 1] = s.net:is_training() end })
    assert.are.same({ true, true, true }, modes)
    assert.is_false(net:is_training()) -- put back
    local loss = nerve.mse()
    ref.assert_close(report.val_loss, loss:forward(net:predict(x), y), 1e-6)
    net:training()
    local acc = nerve.accuracy(net, x, nerve.matrix{ { 1 }, { 1 }, { 1 }, { 1 } })
    assert.are.equal(acc, nerve.accuracy(net, x, nerve.matrix{ { 1 }, { 1 }, { 1 }, { 1 } }))
    assert.is_true(net:is_training())
  end)
end)
