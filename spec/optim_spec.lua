-- Optimizer steps against hand-computed values. The gradients are written
-- straight into the shared grad_weight / grad_bias matrices.
local nerve = require "nerve"
local ref = dofile("spec/helpers/ref.lua")
local f32 = ref.f32

local function fails(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok)
  return tostring(err)
end

-- parameters (weight 2x2 then bias 1x2, flattened) and their gradients
local P0 = { 0.5, -0.25, 1.5, -2, 0.125, -0.75 }
local G = { 0.1, -0.4, 0.05, 1.2, -0.3, 0.02 }

local function setup()
  local net = nerve.sequential{ nerve.linear(2, 2) }
  local l = net:layer(1)
  l.weight:set(1, 1, P0[1]); l.weight:set(1, 2, P0[2])
  l.weight:set(2, 1, P0[3]); l.weight:set(2, 2, P0[4])
  l.bias:set(1, 1, P0[5]); l.bias:set(1, 2, P0[6])
  l.grad_weight:set(1, 1, G[1]); l.grad_weight:set(1, 2, G[2])
  l.grad_weight:set(2, 1, G[3]); l.grad_weight:set(2, 2, G[4])
  l.grad_bias:set(1, 1, G[5]); l.grad_bias:set(1, 2, G[6])
  return net
end

local function params(net)
  local l = net:layer(1)
  return { l.weight:get(1, 1), l.weight:get(1, 2), l.weight:get(2, 1),
           l.weight:get(2, 2), l.bias:get(1, 1), l.bias:get(1, 2) }
end

local function grads(net)
  local l = net:layer(1)
  return { l.grad_weight:get(1, 1), l.grad_weight:get(1, 2), l.grad_weight:get(2, 1),
           l.grad_weight:get(2, 2), l.grad_bias:get(1, 1), l.grad_bias:get(1, 2) }
end

local function expect(net, want, what)
  local got = params(net)
  for k = 1, 6 do
    ref.assert_close(got[k], want[k], 1e-5, 1e-4, (what or "parameter") .. " " .. k)
  end
end

-- SGD by hand in double precision, `steps` steps with a constant gradient.
local function sgd_by_hand(o, steps)
  local p, v = {}, {}
  for k = 1, 6 do p[k], v[k] = f32(P0[k]), 0 end
  local lr, mom, wd = o.lr or 0.1, o.momentum or 0, o.weight_decay or 0
  for _ = 1, steps do
    for k = 1, 6 do
      local g = f32(G[k]) + wd * p[k]
      v[k] = mom * v[k] + g
      if o.nesterov then
        p[k] = p[k] - lr * (g + mom * v[k])
      else
        p[k] = p[k] - lr * v[k]
      end
    end
  end
  return p
end

local function adam_by_hand(o, steps)
  local p, m, v = {}, {}, {}
  for k = 1, 6 do p[k], m[k], v[k] = f32(P0[k]), 0, 0 end
  local lr, b1, b2 = o.lr or 1e-3, o.beta1 or 0.9, o.beta2 or 0.999
  local eps, wd = o.eps or 1e-8, o.weight_decay or 0
  for t = 1, steps do
    for k = 1, 6 do
      local g = f32(G[k]) + wd * p[k]
      m[k] = b1 * m[k] + (1 - b1) * g
      v[k] = b2 * v[k] + (1 - b2) * g * g
      p[k] = p[k] - lr * (m[k] / (1 - b1 ^ t)) / (math.sqrt(v[k] / (1 - b2 ^ t)) + eps)
    end
  end
  return p
end

describe("nerve.sgd", function()
  local cases = {
    { "plain", { lr = 0.1 } },
    { "with momentum", { lr = 0.1, momentum = 0.9 } },
    { "with Nesterov momentum", { lr = 0.05, momentum = 0.8, nesterov = true } },
    { "with weight decay (biases included)", { lr = 0.1, weight_decay = 0.5 } },
    { "with everything", { lr = 0.2, momentum = 0.5, nesterov = true, weight_decay = 0.1 } },
  }
  for _, c in ipairs(cases) do
    it("steps " .. c[1] .. " as the rule says, over 3 steps", function()
      local net = setup()
      local opt = nerve.sgd(net, c[2])
      for s = 1, 3 do
        opt:step()
        expect(net, sgd_by_hand(c[2], s), "step " .. s .. ", parameter")
      end
    end)
  end

  it("does not dampen the velocity", function()
    -- two steps with momentum 0.9 and g = 0.1: p0 - lr*g - lr*(0.9 g + g)
    local net = setup()
    local opt = nerve.sgd(net, { lr = 1, momentum = 0.9 })
    opt:step(); opt:step()
    ref.assert_close(params(net)[1], 0.5 - 0.1 - 0.19, 1e-5)
  end)

  it("defaults to lr = 0.1 without momentum or decay", function()
    local net = setup()
    nerve.sgd(net, {}):step()
    expect(net, sgd_by_hand({ lr = 0.1 }, 1))
  end)

  it("does not zero the gradients", function()
    local net = setup()
    local before = grads(net)
    nerve.sgd(net, { lr = 0.1, momentum = 0.9 }):step()
    assert.are.same(before, grads(net))
  end)

  it("names an unknown option in its error", function()
    local err = fails(nerve.sgd, setup(), { lr = 0.1, momentun = 0.9 })
    assert.truthy(err:find("momentun", 1, true), err)
  end)

  it("wants a network", function()
    local err = fails(nerve.sgd, {}, { lr = 0.1 })
    assert.truthy(err:find("expected", 1, true), err)
  end)
end)

describe("nerve.adam", function()
  it("steps with bias correction over 3 steps", function()
    local o = { lr = 0.01, beta1 = 0.9, beta2 = 0.999, eps = 1e-8 }
    local net = setup()
    local opt = nerve.adam(net, o)
    for s = 1, 3 do
      opt:step()
      expect(net, adam_by_hand(o, s), "step " .. s .. ", parameter")
    end
  end)

  it("moves every parameter by about lr on its first step", function()
    local net = setup()
    nerve.adam(net, { lr = 0.01 }):step()
    local p = params(net)
    for k = 1, 6 do
      ref.assert_close(math.abs(p[k] - f32(P0[k])), 0.01, 1e-3, 1e-30, "step of " .. k)
    end
  end)

  it("takes other betas and weight decay (biases included)", function()
    local o = { lr = 0.05, beta1 = 0.5, beta2 = 0.9, eps = 1e-3, weight_decay = 0.2 }
    local net = setup()
    local opt = nerve.adam(net, o)
    for s = 1, 3 do
      opt:step()
      expect(net, adam_by_hand(o, s), "step " .. s .. ", parameter")
    end
  end)

  it("defaults to lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8", function()
    local net = setup()
    local opt = nerve.adam(net, {})
    for s = 1, 3 do
      opt:step()
      expect(net, adam_by_hand({}, s), "step " .. s .. ", parameter")
    end
  end)

  it("does not zero the gradients", function()
    local net = setup()
    local before = grads(net)
    nerve.adam(net, { lr = 0.01 }):step()
    assert.are.same(before, grads(net))
  end)

  it("names an unknown option in its error", function()
    local err = fails(nerve.adam, setup(), { lr = 0.1, beta = 0.9 })
    assert.truthy(err:find("beta", 1, true), err)
    err = fails(nerve.adam, setup(), { lr = 0.1, momentum = 0.9 })
    assert.truthy(err:find("momentum", 1, true), err)
  end)
end)

describe("an optimizer", function()
  it("trains a network with forward, backward and step", function()
    nerve.seed(3)
    local net = nerve.mlp{ 2, 3, 1 }
    local x = nerve.matrix{ { 0, 0 }, { 0, 1 }, { 1, 0 }, { 1, 1 } }
    local y = nerve.matrix{ { 0 }, { 1 }, { 1 }, { 1 } }
    local loss = nerve.mse()
    local opt = nerve.adam(net, { lr = 0.05 })
    local first = loss:forward(net:forward(x), y)
    for _ = 1, 200 do
      net:zero_grad()
      net:backward(x, loss:backward(net:forward(x), y))
      opt:step()
    end
    local last = loss:forward(net:forward(x), y)
    assert.is_true(last < first / 4, "loss went from " .. first .. " to " .. last)
  end)
end)
