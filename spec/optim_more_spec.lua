-- AdamW, RMSprop, Adagrad and RPROP against their rules worked by hand in
-- double precision; clipping by global norm. The gradients are written
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

local function set6(w, b, v)
  w:set(1, 1, v[1]); w:set(1, 2, v[2]); w:set(2, 1, v[3]); w:set(2, 2, v[4])
  b:set(1, 1, v[5]); b:set(1, 2, v[6])
end

local function setgrads(net, g)
  local l = net:layer(1)
  set6(l.grad_weight, l.grad_bias, g)
end

local function setup()
  local net = nerve.sequential{ nerve.linear(2, 2) }
  local l = net:layer(1)
  set6(l.weight, l.bias, P0)
  setgrads(net, G)
  return net
end

local function params(net)
  local l = net:layer(1)
  return { l.weight:get(1, 1), l.weight:get(1, 2), l.weight:get(2, 1),
           l.weight:get(2, 2), l.bias:get(1, 1), l.bias:get(1, 2) }
end

local function expect(net, want, what)
  local got = params(net)
  for k = 1, 6 do
    ref.assert_close(got[k], want[k], 1e-5, 0.1, (what or "parameter") .. " " .. k)
  end
end

local function start()
  local p = {}
  for k = 1, 6 do p[k] = f32(P0[k]) end
  return p
end

-- Each rule by hand: state s (a table), step number t, gradient g, in place.
local function adamw_by_hand(o)
  local lr, b1, b2 = o.lr or 1e-3, o.beta1 or 0.9, o.beta2 or 0.999
  local eps, wd = o.eps or 1e-8, o.weight_decay or 0.01
  local m, v = { 0, 0, 0, 0, 0, 0 }, { 0, 0, 0, 0, 0, 0 }
  return function(p, t)
    for k = 1, 6 do
      local g = f32(G[k])
      p[k] = p[k] * (1 - lr * wd)
      m[k] = b1 * m[k] + (1 - b1) * g
      v[k] = b2 * v[k] + (1 - b2) * g * g
      p[k] = p[k] - lr * (m[k] / (1 - b1 ^ t)) / (math.sqrt(v[k] / (1 - b2 ^ t)) + eps)
    end
  end
end

local function rmsprop_by_hand(o)
  local lr, a, eps = o.lr or 0.01, o.alpha or 0.99, o.eps or 1e-8
  local wd, mu = o.weight_decay or 0, o.momentum or 0
  local sq, buf, avg = {}, {}, {}
  for k = 1, 6 do sq[k], buf[k], avg[k] = 0, 0, 0 end
  return function(p)
    for k = 1, 6 do
      local g = f32(G[k]) + wd * p[k]
      sq[k] = a * sq[k] + (1 - a) * g * g
      local v = sq[k]
      if o.centered then
        avg[k] = a * avg[k] + (1 - a) * g
        v = v - avg[k] * avg[k]
      end
      local d = g / (math.sqrt(v) + eps)
      if mu ~= 0 then
        buf[k] = mu * buf[k] + d
        d = buf[k]
      end
      p[k] = p[k] - lr * d
    end
  end
end

local function adagrad_by_hand(o)
  local lr, decay, wd = o.lr or 0.01, o.lr_decay or 0, o.weight_decay or 0
  local eps = o.eps or 1e-10
  local s = {}
  for k = 1, 6 do s[k] = o.initial_accumulator or 0 end
  return function(p, t)
    local clr = lr / (1 + (t - 1) * decay)
    for k = 1, 6 do
      local g = f32(G[k]) + wd * p[k]
      s[k] = s[k] + g * g
      p[k] = p[k] - clr * g / (math.sqrt(s[k]) + eps)
    end
  end
end

local function run(make, by_hand, o, steps)
  local net = setup()
  local opt = make(net, o)
  local p, step = start(), by_hand(o)
  for t = 1, steps do
    opt:step()
    step(p, t)
    expect(net, p, "step " .. t .. ", parameter")
  end
  assert.are.equal(steps, opt.steps)
  return net, opt
end

describe("nerve.adamw", function()
  it("decays the weights apart from the Adam step, over 3 steps", function()
    run(nerve.adamw, adamw_by_hand, { lr = 0.01, weight_decay = 0.1 }, 3)
    run(nerve.adamw, adamw_by_hand, { lr = 0.05, beta1 = 0.5, beta2 = 0.9,
      eps = 1e-3, weight_decay = 0.5 }, 3)
  end)

  it("defaults to PyTorch's lr = 1e-3, betas 0.9, 0.999, eps 1e-8, weight_decay 0.01", function()
    run(nerve.adamw, adamw_by_hand, {}, 3)
  end)

  it("differs from adam with the same weight_decay", function()
    local a, b = setup(), setup()
    nerve.adam(a, { lr = 0.01, weight_decay = 0.5 }):step()
    nerve.adamw(b, { lr = 0.01, weight_decay = 0.5 }):step()
    assert.are_not.same(params(a), params(b))
  end)

  it("names its kind and an unknown option", function()
    assert.are.equal("adamw", nerve.adamw(setup()).kind)
    local err = fails(nerve.adamw, setup(), { lr = 0.1, decay = 0.9 })
    assert.truthy(err:find("'decay'", 1, true), err)
  end)
end)

describe("nerve.rmsprop", function()
  local cases = {
    { "plain", { lr = 0.01 } },
    { "with momentum", { lr = 0.01, momentum = 0.9 } },
    { "centered", { lr = 0.02, alpha = 0.9, centered = true } },
    { "centered with momentum and weight decay",
      { lr = 0.02, alpha = 0.8, momentum = 0.5, centered = true, weight_decay = 0.1 } },
  }
  for _, c in ipairs(cases) do
    it("steps " .. c[1] .. " as the rule says, over 3 steps", function()
      run(nerve.rmsprop, rmsprop_by_hand, c[2], 3)
    end)
  end

  it("defaults to PyTorch's lr = 0.01, alpha = 0.99, eps = 1e-8", function()
    run(nerve.rmsprop, rmsprop_by_hand, {}, 3)
    -- first step: v = 0.01 g^2, so every parameter moves by lr / sqrt(0.01)
    local net = setup()
    nerve.rmsprop(net):step()
    ref.assert_close(params(net)[1], f32(P0[1]) - 0.1, 1e-5)
  end)

  it("names an unknown option and checks centered", function()
    local err = fails(nerve.rmsprop, setup(), { rho = 0.9 })
    assert.truthy(err:find("'rho'", 1, true), err)
    err = fails(nerve.rmsprop, setup(), { centered = 1 })
    assert.truthy(err:find("centered", 1, true), err)
    err = fails(nerve.rmsprop, setup(), { alpha = 2 })
    assert.truthy(err:find("alpha", 1, true), err)
  end)
end)

describe("nerve.adagrad", function()
  it("steps as the rule says, over 3 steps", function()
    run(nerve.adagrad, adagrad_by_hand, { lr = 0.1 }, 3)
  end)

  it("takes lr_decay, weight_decay and initial_accumulator", function()
    run(nerve.adagrad, adagrad_by_hand, { lr = 0.1, lr_decay = 0.5,
      weight_decay = 0.2, initial_accumulator = 0.1, eps = 1e-6 }, 4)
  end)

  it("moves every parameter by lr on its first step (defaults)", function()
    local net = setup()
    nerve.adagrad(net):step()
    local p = params(net)
    for k = 1, 6 do
      ref.assert_close(math.abs(p[k] - f32(P0[k])), 0.01, 1e-4, 1e-30, "step of " .. k)
    end
  end)

  it("names an unknown option", function()
    local err = fails(nerve.adagrad, setup(), { initial_accumulator_value = 1 })
    assert.truthy(err:find("initial_accumulator_value", 1, true), err)
  end)
end)

describe("nerve.rprop", function()
  -- gradient signs per step for each parameter: grow, flip, rest, ...
  local seq = {
    { 0.1, -0.4, 0.05, 1.2, -0.3, 0.02 },
    { 0.2, -0.1, -0.05, 0.7, 0.3, 0 },
    { 0.3, 0.5, -0.2, 0.1, 0.3, 0.4 },
    { 0.1, 0.5, 0.2, -0.9, -0.1, 0.4 },
  }

  local function by_hand(o)
    local inc, dec = o.increase or 1.2, o.decrease or 0.5
    local dmin, dmax = o.delta_min or 0, o.delta_max or 50
    local step, prev = {}, {}
    for k = 1, 6 do step[k], prev[k] = o.delta_zero or 0.1, 0 end
    return function(p, t)
      for k = 1, 6 do
        local g = f32(seq[t][k])
        local s = g * prev[k]
        if s > 0 then
          step[k] = math.min(f32(step[k] * inc), dmax)
        elseif s < 0 then
          step[k] = math.max(f32(step[k] * dec), dmin)
          g = 0
        end
        if g > 0 then p[k] = p[k] - step[k] elseif g < 0 then p[k] = p[k] + step[k] end
        prev[k] = g
      end
    end
  end

  local function rprop_run(o)
    local net = setup()
    local opt = nerve.rprop(net, o)
    local p, step = start(), by_hand(o)
    for t = 1, #seq do
      setgrads(net, seq[t])
      opt:step()
      step(p, t)
      expect(net, p, "step " .. t .. ", parameter")
    end
  end

  it("is iRPROP- with FANN's constants (1.2, 0.5, 0, 50, 0.1) by default", function()
    rprop_run({})
    -- first step: each parameter moves by delta_zero against its gradient's sign
    local net = setup()
    nerve.rprop(net):step()
    local p = params(net)
    for k = 1, 6 do
      ref.assert_close(p[k], f32(P0[k]) - (G[k] > 0 and 0.1 or -0.1), 1e-6, 1e-7)
    end
  end)

  it("grows a step while the sign holds, halves it and rests on a flip", function()
    local net = setup()
    local opt = nerve.rprop(net)
    opt:step()                                  -- -0.1
    opt:step()                                  -- -0.12
    setgrads(net, { -1, -1, -1, -1, -1, -1 })
    opt:step()                                  -- flip: rests, step 0.06
    local p = params(net)
    ref.assert_close(p[1], f32(P0[1]) - 0.1 - 0.12, 1e-5)
    opt:step()                                  -- +0.06 (prev was zeroed)
    ref.assert_close(params(net)[1], f32(P0[1]) - 0.22 + 0.06, 1e-5)
  end)

  it("keeps steps within delta_min and delta_max", function()
    rprop_run({ increase = 2, decrease = 0.1, delta_min = 0.05, delta_max = 0.15,
      delta_zero = 0.1 })
  end)

  it("has no learning rate, and checks its options", function()
    local opt = nerve.rprop(setup())
    assert.are.equal("rprop", opt.kind)
    assert.are.equal("nerve.rprop(steps=0)", tostring(opt))
    local err = fails(function() opt.lr = 0.1 end)
    assert.truthy(err:find("learning rate", 1, true), err)
    err = fails(nerve.rprop, setup(), { delta_max = 1, delta_min = 2 })
    assert.truthy(err:find("delta_min", 1, true), err)
    err = fails(nerve.rprop, setup(), { decrease = 1.5 })
    assert.truthy(err:find("decrease", 1, true), err)
    err = fails(nerve.rprop, setup(), { lr = 0.1 })
    assert.truthy(err:find("'lr'", 1, true), err)
  end)

  it("follows FANN 2.x's code with fann = true", function()
    local net = setup()
    local opt = nerve.rprop(net, { fann = true })
    local p, step, prev = start(), {}, {}
    for k = 1, 6 do step[k], prev[k] = 0.1, 0 end
    local grads = { seq[1], seq[2], seq[3], seq[4], { 0, 0, 0, 0, 0, 0 } }
    for t = 1, #grads do
      setgrads(net, grads[t])
      opt:step()
      for k = 1, 6 do
        local g = f32(grads[t][k])
        local d = math.max(step[k], f32(0.0001))
        if g * prev[k] >= 0 then
          d = math.min(f32(d * 1.2), 50)
        else
          d = f32(d * 0.5)
          g = 0
        end
        p[k] = g > 0 and p[k] - d or p[k] + d
        step[k], prev[k] = d, g
      end
      expect(net, p, "step " .. t .. ", parameter")
    end
    -- the first step is 1.2 * delta_zero; a zero gradient moves by +step
    local first = setup()
    nerve.rprop(first, { fann = true }):step()
    ref.assert_close(params(first)[1], f32(P0[1]) - 0.12, 1e-6)
    ref.assert_close(params(first)[2], f32(P0[2]) + 0.12, 1e-6)
    local err = fails(nerve.rprop, setup(), { fann = 1 })
    assert.truthy(err:find("fann", 1, true), err)
  end)

  it("trains xor in full batches", function()
    nerve.seed(5)
    local net = nerve.mlp{ 2, 4, 1, hidden = "tanh" }
    local x = nerve.matrix{ { 0, 0 }, { 0, 1 }, { 1, 0 }, { 1, 1 } }
    local y = nerve.matrix{ { 0 }, { 1 }, { 1 }, { 0 } }
    local report = nerve.fit(net, x, y, { optimizer = nerve.rprop(net),
      epochs = 300, shuffle = false })
    assert.is_true(report.loss < 0.01, "loss " .. report.loss)
  end)
end)

describe("gradient clipping", function()
  it("scales the gradients to the global norm max / (norm + 1e-6)", function()
    local net = setup()
    local norm = 0
    for k = 1, 6 do norm = norm + f32(G[k]) ^ 2 end
    norm = math.sqrt(norm)
    assert.is_true(norm > 1)
    local before = net:clip_grad_norm(1)
    ref.assert_close(before, norm, 1e-6)
    assert.is_true(math.abs(net:grad_norm() - 1) < 1e-5, net:grad_norm())
    local g = net:layer(1).grad_weight:get(2, 2)
    ref.assert_close(g, f32(G[4]) / (norm + 1e-6), 1e-5)
  end)

  it("leaves gradients below the limit alone", function()
    local net = setup()
    net:clip_grad_norm(100)
    assert.are.equal(f32(G[4]), net:layer(1).grad_weight:get(2, 2))
  end)

  it("happens inside every optimizer's step when opt.clip is set", function()
    local a, b = setup(), setup()
    local oa = nerve.sgd(a, { lr = 1 })
    oa.clip = 0.5
    assert.are.equal(0.5, oa.clip)
    oa:step()
    b:clip_grad_norm(0.5)
    nerve.sgd(b, { lr = 1 }):step()
    assert.are.same(params(b), params(a))
  end)

  it("rejects a negative limit", function()
    fails(function() setup():clip_grad_norm(-1) end)
    fails(function() nerve.sgd(setup()).clip = -1 end)
  end)
end)
