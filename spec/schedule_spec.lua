-- Learning-rate schedules (by themselves, by hand and in fit) and the fit
-- option clip.
local nerve = require "nerve"
local ref = dofile("spec/helpers/ref.lua")
local S = nerve.schedule

local function fails(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok)
  return tostring(err)
end

local function close(a, b) ref.assert_close(a, b, 1e-12, 1e-30) end

describe("nerve.schedule", function()
  it("step multiplies by gamma every `step` epochs (StepLR)", function()
    local s = S.step{ lr = 0.1, step = 3, gamma = 0.5 }
    local want = { 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025 }
    for e, w in ipairs(want) do close(s:rate(e), w) end
    close(S.step{ lr = 1, step = 1 }:rate(3), 0.01) -- gamma defaults to 0.1
  end)

  it("exponential multiplies by gamma every epoch", function()
    local s = S.exponential{ lr = 0.2, gamma = 0.9 }
    close(s:rate(1), 0.2)
    close(s:rate(4), 0.2 * 0.9 ^ 3)
  end)

  it("cosine falls from lr to min over `epochs` and stays there", function()
    local s = S.cosine{ lr = 0.1, epochs = 4, min = 0.01 }
    close(s:rate(1), 0.1)
    close(s:rate(2), 0.01 + 0.09 * (1 + math.cos(math.pi / 4)) / 2)
    close(s:rate(3), 0.055)
    close(s:rate(5), 0.01)
    close(s:rate(50), 0.01)
    close(S.cosine{ lr = 1, epochs = 2 }:rate(2), 0.5) -- min defaults to 0
  end)

  it("warms up linearly, then runs the schedule from its first epoch", function()
    local s = S.cosine{ lr = 0.1, epochs = 10, warmup = 4 }
    close(s:rate(1), 0.025)
    close(s:rate(2), 0.05)
    close(s:rate(4), 0.1)
    close(s:rate(5), 0.1)
    close(s:rate(6), S.cosine{ lr = 0.1, epochs = 10 }:rate(2))
    local w = S.warmup{ lr = 0.3, epochs = 3 }
    close(w:rate(1), 0.1)
    close(w:rate(3), 0.3)
    close(w:rate(100), 0.3)
    close(S.step{ lr = 1, step = 1, gamma = 0.5, warmup = 2 }:rate(4), 0.5)
  end)

  it("sets opt.lr with apply, in a hand-written loop", function()
    local net = nerve.mlp{ 2, 2, 1 }
    local opt = nerve.sgd(net, { lr = 1 })
    local s = S.exponential{ lr = 0.5, gamma = 0.5 }
    assert.are.equal(0.125, s:apply(opt, 3))
    assert.are.equal(0.125, opt.lr)
    assert.are.equal(0.25, s(2))
  end)

  it("names bad options and epochs", function()
    local err = fails(S.cosine, { lr = 0.1, epoch = 10 })
    assert.truthy(err:find("'epoch'", 1, true), err)
    err = fails(S.step, { lr = 0.1 })
    assert.truthy(err:find("'step' is required", 1, true), err)
    err = fails(S.step, { lr = 0.1, step = 0 })
    assert.truthy(err:find("step", 1, true), err)
    err = fails(function() S.constant{ lr = 1 }:rate(0) end)
    assert.truthy(err:find("epoch", 1, true), err)
    assert.truthy(tostring(S.cosine{ lr = 0.1, epochs = 3 }):find("cosine", 1, true))
  end)
end)

local function data()
  local x = nerve.matrix{ { 0, 0 }, { 0, 1 }, { 1, 0 }, { 1, 1 } }
  local y = nerve.matrix{ { 0 }, { 1 }, { 1 }, { 0 } }
  return x, y
end

describe("nerve.fit with a schedule", function()
  it("sets the optimizer's rate at the start of every epoch", function()
    nerve.seed(1)
    local net = nerve.mlp{ 2, 3, 1 }
    local x, y = data()
    local opt = nerve.sgd(net, { lr = 1 })
    local seen = {}
    nerve.fit(net, x, y, { optimizer = opt, epochs = 5,
      schedule = S.step{ lr = 0.4, step = 2, gamma = 0.5 },
      on_epoch = function(s) seen[s.epoch] = s.lr end })
    local want = { 0.4, 0.4, 0.2, 0.2, 0.1 }
    for e = 1, 5 do ref.assert_close(seen[e], want[e], 1e-6) end
  end)

  it("trains exactly like the same rates set by hand", function()
    local x, y = data()
    nerve.seed(2)
    local a = nerve.mlp{ 2, 3, 1 }
    local b = a:clone()
    local s = S.cosine{ lr = 0.5, epochs = 6 }
    nerve.fit(a, x, y, { optimizer = nerve.sgd(a), epochs = 6, batch = 2,
      shuffle = false, schedule = s })
    local ob = nerve.sgd(b)
    for e = 1, 6 do
      nerve.fit(b, x, y, { optimizer = ob, epochs = 1, batch = 2, shuffle = false,
        schedule = function() return s:rate(e) end })
    end
    assert.is_true(ref.same_snapshot(ref.snapshot(a), ref.snapshot(b)))
  end)

  it("rejects a schedule that is not one, and one for rprop", function()
    local net = nerve.mlp{ 2, 3, 1 }
    local x, y = data()
    local err = fails(nerve.fit, net, x, y, { schedule = 3, epochs = 1 })
    assert.truthy(err:find("schedule", 1, true), err)
    err = fails(nerve.fit, net, x, y, { optimizer = nerve.rprop(net),
      schedule = S.constant{ lr = 1 }, epochs = 1 })
    assert.truthy(err:find("rprop", 1, true), err)
  end)
end)

describe("nerve.fit with clip", function()
  it("clips inside the C step exactly like clip_grad_norm before step", function()
    local x, y = data()
    nerve.seed(3)
    local a = nerve.mlp{ 2, 3, 1 }
    local b = a:clone()
    local oa = nerve.sgd(a, { lr = 2, momentum = 0.5 })
    nerve.fit(a, x, y, { optimizer = oa, epochs = 3, batch = 4, shuffle = false,
      clip = 0.01 })
    assert.are.equal(0, oa.clip) -- fit leaves the optimizer as it was
    local ob, loss = nerve.sgd(b, { lr = 2, momentum = 0.5 }), nerve.mse()
    for _ = 1, 3 do
      b:zero_grad()
      b:backward(x, loss:backward(b:forward(x), y))
      assert.is_true(b:clip_grad_norm(0.01) > 0.01)
      ob:step()
    end
    assert.is_true(ref.same_snapshot(ref.snapshot(a), ref.snapshot(b)))
  end)

  it("clips for a Lua optimizer and on the generic path too", function()
    local x, y = data()
    nerve.seed(4)
    local a = nerve.mlp{ 2, 3, 1 }
    local b, c = a:clone(), a:clone()
    local function lua_opt(net)
      return { step = function() net:update(1) end }
    end
    nerve.fit(a, x, y, { optimizer = lua_opt(a), epochs = 2, batch = 4,
      shuffle = false, clip = 0.01 })
    local mse = nerve.mse()
    local custom = { forward = function(_, p, t) return mse:forward(p, t) end,
      backward = function(_, p, t) return mse:backward(p, t) end }
    nerve.fit(b, x, y, { optimizer = lua_opt(b), loss = custom, epochs = 2,
      batch = 4, shuffle = false, clip = 0.01 })
    nerve.fit(c, x, y, { optimizer = nerve.sgd(c, { lr = 1 }), epochs = 2,
      batch = 4, shuffle = false, clip = 0.01 })
    assert.is_true(ref.same_snapshot(ref.snapshot(a), ref.snapshot(b)))
    assert.is_true(ref.same_snapshot(ref.snapshot(a), ref.snapshot(c)))
  end)

  it("wants a positive number", function()
    local net = nerve.mlp{ 2, 3, 1 }
    local x, y = data()
    local err = fails(nerve.fit, net, x, y, { clip = -1, epochs = 1 })
    assert.truthy(err:find("clip", 1, true), err)
  end)
end)
