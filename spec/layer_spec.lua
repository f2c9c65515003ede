local nerve = require "nerve"
local ref = dofile("spec/helpers/ref.lua")

local function fails(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok)
  return tostring(err)
end

local function values(m)
  local t = {}
  for _, row in ipairs(m:totable()) do
    for _, v in ipairs(row) do t[#t + 1] = v end
  end
  return t
end

local function stats(t)
  local s, s2 = 0, 0
  for _, v in ipairs(t) do s = s + v; s2 = s2 + v * v end
  local mean = s / #t
  return mean, s2 / #t - mean * mean
end

-- A one-layer network around an activation, to see what it computes.
local function through(act, x)
  local net = nerve.sequential{ nerve.linear(#x, #x), act }
  local l = net:layer(1)
  l.weight:fill(0)
  for i = 1, #x do l.weight:set(i, i, 1) end
  l.bias:fill(0)
  return net:forward(nerve.matrix{ x }):totable()[1]
end

describe("nerve.linear", function()
  it("has an n_in x n_out weight and a 1 x n_out bias", function()
    local l = nerve.linear(3, 4)
    local r, c = l.weight:shape()
    assert.are.same({ 3, 4 }, { r, c })
    r, c = l.bias:shape()
    assert.are.same({ 1, 4 }, { r, c })
    r, c = l.grad_weight:shape()
    assert.are.same({ 3, 4 }, { r, c })
    r, c = l.grad_bias:shape()
    assert.are.same({ 1, 4 }, { r, c })
  end)

  it("initialises with Xavier by default (variance 2 / (n_in + n_out))", function()
    nerve.seed(1)
    local w = values(nerve.linear(200, 300).weight)
    local mean, var = stats(w)
    assert.is_true(math.abs(mean) < 0.005, "mean " .. mean)
    local want = 2 / (200 + 300)
    assert.is_true(math.abs(var - want) < 0.1 * want, "variance " .. var .. ", want " .. want)
  end)

  it("initialises with He (variance 2 / n_in)", function()
    nerve.seed(2)
    local w = values(nerve.linear(200, 300, { init = "he" }).weight)
    local mean, var = stats(w)
    assert.is_true(math.abs(mean) < 0.01, "mean " .. mean)
    local want = 2 / 200
    assert.is_true(math.abs(var - want) < 0.1 * want, "variance " .. var .. ", want " .. want)
  end)

  it("initialises uniformly with init = 'uniform'", function()
    nerve.seed(3)
    local w = values(nerve.linear(50, 40, { init = "uniform" }).weight)
    local mean = stats(w)
    assert.is_true(math.abs(mean) < 0.05, "mean " .. mean)
    local seen = {}
    local distinct = 0
    for _, v in ipairs(w) do
      assert.is_true(math.abs(v) <= 1, "uniform weight " .. v .. " outside [-1, 1]")
      if not seen[v] then seen[v] = true; distinct = distinct + 1 end
    end
    assert.is_true(distinct > 1000)
  end)

  it("explicitly takes init = 'xavier'", function()
    nerve.seed(4)
    local a = nerve.linear(5, 6, { init = "xavier" }).weight:totable()
    nerve.seed(4)
    local b = nerve.linear(5, 6).weight:totable()
    assert.are.same(a, b)
  end)

  it("calls an init function with (n_in, n_out) for every weight", function()
    local calls, args_ok = 0, true
    local l = nerve.linear(3, 4, { init = function(n_in, n_out)
      if n_in ~= 3 or n_out ~= 4 then args_ok = false end
      calls = calls + 1
      return calls * 0.5
    end })
    assert.is_true(args_ok, "init function got other arguments than (3, 4)")
    assert.are.equal(12, calls)
    local got = values(l.weight)
    table.sort(got)
    for k = 1, 12 do assert.are.equal(k * 0.5, got[k]) end
  end)

  it("puts a constant init function's value in every weight", function()
    local l = nerve.linear(2, 3, { init = function() return 0.25 end })
    assert.are.same({ { 0.25, 0.25, 0.25 }, { 0.25, 0.25, 0.25 } }, l.weight:totable())
  end)

  it("names an unknown init scheme in its error", function()
    local err = fails(nerve.linear, 2, 3, { init = "glorious" })
    assert.truthy(err:find("glorious", 1, true), err)
  end)

  it("names an unknown option in its error", function()
    local err = fails(nerve.linear, 2, 3, { inti = "he" })
    assert.truthy(err:find("inti", 1, true), err)
  end)

  it("rejects sizes below 1 and missing sizes", function()
    fails(nerve.linear, 0, 3)
    fails(nerve.linear, 3, 0)
    fails(nerve.linear, 3)
    fails(nerve.linear, "a", 3)
  end)

  it("computes o * W + b", function()
    local net = nerve.sequential{ nerve.linear(2, 3) }
    local l = net:layer(1)
    ref.set_all(l.weight, { { 1, 2, 3 }, { 4, 5, 6 } })
    ref.set_all(l.bias, { { 0.5, -0.5, 1 } })
    local y = net:forward(nerve.matrix{ { 1, 10 }, { -1, 0 } })
    assert.are.same({ { 41.5, 51.5, 64 }, { -0.5, -2.5, -2 } }, y:totable())
  end)
end)

describe("activation layers", function()
  local x = { -3, -0.5, 0, 0.5, 3 }

  it("sigmoid computes 1 / (1 + e^-a)", function()
    local y = through(nerve.sigmoid(), x)
    for i, a in ipairs(x) do ref.assert_close(y[i], 1 / (1 + math.exp(-a)), 1e-6, 1e-6) end
  end)

  it("tanh computes tanh(a)", function()
    local y = through(nerve.tanh(), x)
    for i, a in ipairs(x) do
      local t = (math.exp(2 * a) - 1) / (math.exp(2 * a) + 1)
      ref.assert_close(y[i], t, 1e-6, 1e-6)
    end
  end)

  it("relu computes max(0, a)", function()
    assert.are.same({ 0, 0, 0, 0.5, 3 }, through(nerve.relu(), x))
  end)

  it("leaky_relu has alpha 0.01 by default", function()
    local y = through(nerve.leaky_relu(), x)
    ref.assert_close(y[1], -0.03, 1e-6)
    ref.assert_close(y[2], -0.005, 1e-6)
    assert.are.same({ 0, 0.5, 3 }, { y[3], y[4], y[5] })
  end)

  it("leaky_relu takes alpha", function()
    local y = through(nerve.leaky_relu(0.2), x)
    ref.assert_close(y[1], -0.6, 1e-6)
    ref.assert_close(y[2], -0.1, 1e-6)
    assert.are.equal(3, y[5])
  end)

  it("softmax normalises each row", function()
    local net = nerve.sequential{ nerve.linear(3, 3), nerve.softmax() }
    local l = net:layer(1)
    l.weight:fill(0)
    for i = 1, 3 do l.weight:set(i, i, 1) end
    l.bias:fill(0)
    local y = net:forward(nerve.matrix{ { 1, 2, 3 }, { 0, 0, 0 }, { 1000, 0, -1000 } }):totable()
    local e = { math.exp(1), math.exp(2), math.exp(3) }
    local s = e[1] + e[2] + e[3]
    for j = 1, 3 do ref.assert_close(y[1][j], e[j] / s, 1e-6) end
    for j = 1, 3 do ref.assert_close(y[2][j], 1 / 3, 1e-6) end
    ref.assert_close(y[3][1], 1, 1e-6)
    assert.is_true(y[3][2] >= 0 and y[3][2] < 1e-30)
    assert.is_true(y[3][3] >= 0 and y[3][3] < 1e-30)
  end)
end)
