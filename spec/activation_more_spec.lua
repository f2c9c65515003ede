-- elu, softplus, gelu and FANN's symmetric sigmoid: values against the
-- double-precision reference over the whole useful range, gradients
-- against central differences, the model format; more initialisers.
local nerve = require "nerve"
local ref = dofile("spec/helpers/ref.lua")

local function fails(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok)
  return tostring(err)
end

local B = 3

local function data(seed, n_in, n_out)
  local g = ref.rng(seed)
  return g, ref.random_rows(g, B, n_in, -1, 1), ref.random_rows(g, B, n_out, -1, 1)
end

local kinds = {
  { "elu" }, { "elu", 0.7 }, { "softplus" }, { "gelu" },
  { "sigmoid_symmetric" }, { "sigmoid_symmetric", 1.3 },
}

local function label(d)
  return d[1] .. (d[2] and (" " .. d[2]) or "")
end

-- A row of values over [-lo, hi] with saturation and zero.
local function sweep()
  local xs = { 0, -0.0, 1e-30, -1e-30, 1e-4, -1e-4, 88, -88, 100, -100, 1e4, -1e4 }
  for i = -400, 400 do xs[#xs + 1] = i / 20 end
  return xs
end

describe("more activations", function()
  for _, d in ipairs(kinds) do
    it(label(d) .. " matches the double reference from -1e4 to 1e4", function()
      local xs = sweep()
      local x = nerve.matrix{ xs }
      for _, isa in ipairs{ nerve.isa(), "scalar" } do
        nerve.set_isa(isa)
        local net = nerve.sequential{ nerve[d[1]](d[2]) }
        local y = net:forward(x)
        local f = ref.activation(d[1], d[2])
        for j, v in ipairs(xs) do
          local want = f(ref.f32(v))
          -- relative, down to 1e-25; gelu's left tail is ill-conditioned
          -- in float (x / sqrt 2 rounds by 6e-8 relative, which erfc
          -- turns into about x^2 6e-8), so its bound grows with x^2
          local rel = 2e-6 + (d[1] == "gelu" and v < 0 and 1.2e-7 * v * v or 0)
          ref.assert_close(y:get(1, j), want, rel, 1e-25,
            label(d) .. "(" .. v .. ") on " .. isa)
        end
      end
    end)
  end

  for n, d in ipairs(kinds) do
    it("has gradients that match finite differences: " .. label(d), function()
      local desc = { { "linear", 4, 5 }, d, { "linear", 5, 3 } }
      local g, x, y = data(60 + n, 4, 3)
      local net = ref.build(desc, g, 1)
      ref.check_gradients(net, desc, "mse", x, nerve.matrix(y), y)
    end)
  end

  it("has gradients that match as the first layer and deep in a stack", function()
    local desc = { { "gelu" }, { "linear", 4, 5 }, { "elu" }, { "linear", 5, 4 },
      { "softplus" }, { "linear", 4, 3 }, { "sigmoid_symmetric", 0.8 } }
    local g, x, y = data(71, 4, 3)
    local net = ref.build(desc, g, 1)
    ref.check_gradients(net, desc, "mse", x, nerve.matrix(y), y)
  end)

  it("makes the symmetric sigmoid FANN's 2 / (1 + e^(-2 s a)) - 1, s = 0.5 by default", function()
    local net = nerve.sequential{ nerve.sigmoid_symmetric() }
    local y = net:forward(nerve.matrix{ { -3, 0.25, 2 } })
    for j, a in ipairs{ -3, 0.25, 2 } do
      ref.assert_close(y:get(1, j), 2 / (1 + math.exp(-2 * 0.5 * a)) - 1, 1e-6)
    end
  end)

  it("defaults elu's alpha to 1 and checks the parameters", function()
    assert.are.equal(1, nerve.elu().alpha)
    assert.are.equal(0.5, nerve.sigmoid_symmetric().steepness)
    assert.truthy(fails(nerve.elu, "x"):find("nerve.elu", 1, true))
    assert.truthy(fails(nerve.sigmoid_symmetric, 0 / 0):find("steepness", 1, true))
  end)

  it("are saved and loaded with their parameters", function()
    local net = nerve.sequential{ nerve.linear(3, 4), nerve.elu(0.3), nerve.linear(4, 4),
      nerve.softplus(), nerve.gelu(), nerve.sigmoid_symmetric(0.9) }
    local back = assert(nerve.deserialize(net:serialize()))
    assert.are.equal(tostring(net), tostring(back))
    assert.are.equal(ref.f32(0.3), back:layer(2).alpha)
    assert.are.equal(ref.f32(0.9), back:layer(6).steepness)
    local x = nerve.matrix{ { 1, -2, 3 }, { -0.5, 0.5, 0 } }
    assert.is_true(ref.same(net:forward(x), back:forward(x)))
  end)

  it("are accepted by name in mlp", function()
    for _, name in ipairs{ "elu", "softplus", "gelu", "sigmoid_symmetric" } do
      local net = nerve.mlp{ 2, 3, 1, hidden = name, output = name }
      assert.are.equal(name, net:layer(2).kind)
      assert.are.equal(name, net:layer(4).kind)
    end
    local err = fails(nerve.mlp, { 2, 1, hidden = "swish" })
    assert.truthy(err:find("swish", 1, true) and err:find("gelu", 1, true), err)
  end)
end)

-- mean and standard deviation of a matrix's elements
local function moments(m)
  local rows, cols = m:shape()
  local s, s2 = 0, 0
  for i = 1, rows do
    for j = 1, cols do
      local v = m:get(i, j)
      s, s2 = s + v, s2 + v * v
    end
  end
  local n = rows * cols
  return s / n, math.sqrt(s2 / n - (s / n) ^ 2)
end

describe("more initialisers", function()
  it("draws normal weights with the given sd (0.01 by default)", function()
    nerve.seed(1)
    local mean, sd = moments(nerve.linear(200, 100, { init = "normal" }).weight)
    assert.is_true(math.abs(mean) < 1e-3 and math.abs(sd - 0.01) < 3e-4, mean .. " " .. sd)
    mean, sd = moments(nerve.linear(200, 100, { init = "normal", sd = 2 }).weight)
    assert.is_true(math.abs(mean) < 0.05 and math.abs(sd - 2) < 0.05, mean .. " " .. sd)
  end)

  it("scales xavier_normal and he_normal by the fans", function()
    nerve.seed(2)
    local _, sd = moments(nerve.linear(300, 100, { init = "xavier_normal" }).weight)
    ref.assert_close(sd, math.sqrt(2 / 400), 0.03)
    _, sd = moments(nerve.linear(300, 100, { init = "he_normal" }).weight)
    ref.assert_close(sd, math.sqrt(2 / 300), 0.03)
  end)

  it("sets a constant and zero biases", function()
    local l = nerve.linear(3, 4, { init = "constant", value = 0.25 })
    for i = 1, 3 do for j = 1, 4 do assert.are.equal(0.25, l.weight:get(i, j)) end end
    assert.are.equal(0, l.bias:get(1, 4))
    assert.are.equal(0, nerve.linear(2, 2, { init = "constant" }).weight:get(2, 2))
  end)

  for _, shape in ipairs{ { 7, 4 }, { 4, 7 }, { 5, 5 } } do
    it("makes orthogonal weights, " .. shape[1] .. " x " .. shape[2], function()
      nerve.seed(3)
      local gain = 1.5
      local w = nerve.linear(shape[1], shape[2], { init = "orthogonal", gain = gain }).weight
      local t = ref.totable(w)
      local rows, cols = shape[1], shape[2]
      local tall = rows >= cols
      local k, m = tall and cols or rows, tall and rows or cols
      local function at(v, i) if tall then return t[i][v] else return t[v][i] end end
      for a = 1, k do
        for b = 1, k do
          local d = 0
          for i = 1, m do d = d + at(a, i) * at(b, i) end
          local want = a == b and gain * gain or 0
          assert.is_true(math.abs(d - want) < 1e-5, a .. "," .. b .. ": " .. d)
        end
      end
    end)
  end

  it("reproduces with a seed and rejects bad parameters", function()
    nerve.seed(4)
    local a = nerve.linear(5, 3, { init = "orthogonal" }).weight:totable()
    nerve.seed(4)
    assert.are.same(a, nerve.linear(5, 3, { init = "orthogonal" }).weight:totable())
    assert.truthy(fails(nerve.linear, 2, 2, { init = "normal", sd = -1 }):find("sd", 1, true))
    assert.truthy(fails(nerve.linear, 2, 2, { init = "he", gain = 2 }):find("gain", 1, true))
    assert.truthy(fails(nerve.linear, 2, 2, { init = "gauss" }):find("orthogonal", 1, true))
    local l = nerve.linear(2, 2)
    l:init("normal", 0.5)
    assert.truthy(fails(l.init, l, "normal", -0.5):find("parameter", 1, true))
  end)
end)
