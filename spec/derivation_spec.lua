-- The seed's derivation, number by number, on a 2-2-1 sigmoid network:
-- a_j = sum_i o_i w_ij + w_0j, o_j = g(a_j), E = 1/(2N) sum (yhat - y)^2,
-- delta_out = (yhat - y) g'(a), delta_j = g'(a_j) sum_k w_jk delta_k,
-- dE/dw_ij = delta_j o_i, dE/dw_0j = delta_j.
local nerve = require "nerve"
local ref = dofile("spec/helpers/ref.lua")
local f32 = ref.f32

local REL = 1e-5

local function g(a) return 1 / (1 + math.exp(-a)) end
local function dg(a) local s = g(a) return s * (1 - s) end

-- weights of the textbook example, as float32 numbers
local W1 = { { f32(0.15), f32(0.25) }, { f32(0.20), f32(0.30) } }
local B1 = { f32(0.35), f32(0.35) }
local W2 = { { f32(0.40) }, { f32(0.45) } }
local B2 = { f32(0.60) }

local function seed_net()
  local net = nerve.mlp{ 2, 2, 1 }
  local l1, l2 = net:layer(1), net:layer(3)
  for i = 1, 2 do
    for j = 1, 2 do l1.weight:set(i, j, W1[i][j]) end
    l1.bias:set(1, i, B1[i])
    l2.weight:set(i, 1, W2[i][1])
  end
  l2.bias:set(1, 1, B2[1])
  return net
end

-- The derivation by hand, in double precision, for rows x and targets y.
local function by_hand(x, y)
  local N = #x
  local r = { yhat = {}, E = 0, dW1 = { { 0, 0 }, { 0, 0 } }, dB1 = { 0, 0 },
              dW2 = { { 0 }, { 0 } }, dB2 = { 0 }, dx = {}, gout = {} }
  for n = 1, N do
    local o0 = x[n]
    local a1, o1 = {}, {}
    for j = 1, 2 do
      a1[j] = o0[1] * W1[1][j] + o0[2] * W1[2][j] + B1[j]
      o1[j] = g(a1[j])
    end
    local a2 = o1[1] * W2[1][1] + o1[2] * W2[2][1] + B2[1]
    local yhat = g(a2)
    r.yhat[n] = { yhat }
    r.E = r.E + (yhat - y[n][1]) ^ 2 / (2 * N)
    -- dE/dyhat with the 1/N of the batch mean
    local gout = (yhat - y[n][1]) / N
    r.gout[n] = { gout }
    local d2 = gout * dg(a2)
    local d1 = {}
    for j = 1, 2 do d1[j] = dg(a1[j]) * W2[j][1] * d2 end
    for j = 1, 2 do
      r.dW2[j][1] = r.dW2[j][1] + d2 * o1[j]
      for i = 1, 2 do r.dW1[i][j] = r.dW1[i][j] + d1[j] * o0[i] end
      r.dB1[j] = r.dB1[j] + d1[j]
    end
    r.dB2[1] = r.dB2[1] + d2
    r.dx[n] = {}
    for i = 1, 2 do r.dx[n][i] = W1[i][1] * d1[1] + W1[i][2] * d1[2] end
  end
  return r
end

local function check(x, y)
  local net, loss = seed_net(), nerve.mse()
  local want = by_hand(x, y)
  local xm, ym = nerve.matrix(x), nerve.matrix(y)
  local yhat = net:forward(xm)
  ref.assert_near(yhat, want.yhat, REL, 1e-30, "output")
  ref.assert_close(loss:forward(yhat, ym), want.E, REL, 1e-30, "E")
  local gout = loss:backward(yhat, ym)
  ref.assert_near(gout, want.gout, REL, 1e-30, "dE/dyhat")
  local dx = net:backward(xm, gout)
  local l1, l2 = net:layer(1), net:layer(3)
  ref.assert_near(l2.grad_weight, want.dW2, REL, 1e-30, "dE/dw (output layer)")
  ref.assert_near(l2.grad_bias, { want.dB2 }, REL, 1e-30, "dE/dw_0 (output layer)")
  ref.assert_near(l1.grad_weight, want.dW1, REL, 1e-30, "dE/dw (hidden layer)")
  ref.assert_near(l1.grad_bias, { want.dB1 }, REL, 1e-30, "dE/dw_0 (hidden layer)")
  ref.assert_near(dx, want.dx, REL, 1e-30, "dE/dx")
  return net, want
end

describe("the seed's derivation on a 2-2-1 sigmoid network", function()
  it("is the network nerve.mlp{2,2,1} builds", function()
    local net = nerve.mlp{ 2, 2, 1 }
    assert.are.equal(4, #net)
    assert.are.equal(9, net:num_parameters())
  end)

  it("matches the hand-computed output, E and every gradient for one row", function()
    check({ { f32(0.05), f32(0.10) } }, { { f32(0.01) } })
  end)

  it("matches them for a batch of two rows", function()
    check({ { f32(0.05), f32(0.10) }, { f32(-0.7), f32(0.9) } },
          { { f32(0.01) }, { f32(0.99) } })
  end)

  it("sums the rows' gradients in a batch", function()
    local a = { f32(0.3), f32(-0.2) }
    local b = { f32(-0.8), f32(0.6) }
    local ya, yb = { f32(1) }, { f32(0) }
    local both = by_hand({ a, b }, { ya, yb })
    local one_a, one_b = by_hand({ a }, { ya }), by_hand({ b }, { yb })
    -- the 2-row mean gradient is the average of the one-row ones
    local net = check({ a, b }, { ya, yb })
    for i = 1, 2 do
      for j = 1, 2 do
        ref.assert_close(both.dW1[i][j], (one_a.dW1[i][j] + one_b.dW1[i][j]) / 2, 1e-12)
      end
    end
    assert.is_not_nil(net)
  end)

  it("takes the seed's gradient-descent step with update(lr)", function()
    local net, want = check({ { f32(0.05), f32(0.10) } }, { { f32(0.01) } })
    net:update(0.5)
    local l1, l2 = net:layer(1), net:layer(3)
    for i = 1, 2 do
      for j = 1, 2 do
        ref.assert_close(l1.weight:get(i, j), W1[i][j] - 0.5 * want.dW1[i][j], REL, 1e-30, "w1")
      end
      ref.assert_close(l1.bias:get(1, i), B1[i] - 0.5 * want.dB1[i], REL, 1e-30, "b1")
      ref.assert_close(l2.weight:get(i, 1), W2[i][1] - 0.5 * want.dW2[i][1], REL, 1e-30, "w2")
    end
    ref.assert_close(l2.bias:get(1, 1), B2[1] - 0.5 * want.dB2[1], REL, 1e-30, "b2")
  end)

  it("reaches the textbook numbers", function()
    -- the classic worked example: o = 0.75136507, dE/dw5 = 0.082167041
    -- (its E has no 1/2N for one output, so it uses 1/2 * (yhat - y)^2)
    local net = seed_net()
    local x = nerve.matrix{ { 0.05, 0.10 } }
    local yhat = net:forward(x)
    ref.assert_close(yhat:get(1, 1), 0.75136507, 1e-6, 1e-30, "output")
    net:backward(x, nerve.mse():backward(yhat, nerve.matrix{ { 0.01 } }))
    ref.assert_close(net:layer(3).grad_weight:get(1, 1), 0.082167041, 1e-5, 1e-30, "dE/dw5")
  end)
end)
