-- Every layer, activation and loss against central finite differences of a
-- double-precision reference (spec/helpers/ref.lua).
local nerve = require "nerve"
local ref = dofile("spec/helpers/ref.lua")

local B = 3

local function data(seed, n_in, n_out)
  local g = ref.rng(seed)
  return g, ref.random_rows(g, B, n_in, -1, 1), ref.random_rows(g, B, n_out, -1, 1)
end

describe("backward against finite differences", function()
  local nets = {
    linear = { { "linear", 4, 3 } },
    sigmoid = { { "linear", 4, 5 }, { "sigmoid" }, { "linear", 5, 3 } },
    tanh = { { "linear", 4, 5 }, { "tanh" }, { "linear", 5, 3 } },
    relu = { { "linear", 4, 5 }, { "relu" }, { "linear", 5, 3 } },
    leaky_relu = { { "linear", 4, 5 }, { "leaky_relu" }, { "linear", 5, 3 } },
    ["leaky_relu with alpha 0.3"] = { { "linear", 4, 5 }, { "leaky_relu", 0.3 }, { "linear", 5, 3 } },
    softmax = { { "linear", 4, 5 }, { "softmax" }, { "linear", 5, 3 } },
    ["a deep mix"] = { { "linear", 4, 6 }, { "tanh" }, { "linear", 6, 5 }, { "relu" },
                       { "linear", 5, 7 }, { "leaky_relu", 0.1 }, { "linear", 7, 3 },
                       { "sigmoid" } },
  }
  local names = {}
  for k in pairs(nets) do names[#names + 1] = k end
  table.sort(names)
  for n, name in ipairs(names) do
    it("matches for " .. name .. " under mse", function()
      local desc = nets[name]
      local g, x, y = data(10 + n, 4, 3)
      local net = ref.build(desc, g, 1)
      ref.check_gradients(net, desc, "mse", x, nerve.matrix(y), y)
    end)
  end

  it("matches for a softmax output under mse", function()
    local desc = { { "linear", 4, 3 }, { "softmax" } }
    local g, x, y = data(31, 4, 3)
    local net = ref.build(desc, g, 2)
    ref.check_gradients(net, desc, "mse", x, nerve.matrix(y), y)
  end)

  describe("cross_entropy", function()
    local desc = { { "linear", 4, 5 }, { "tanh" }, { "linear", 5, 3 } }
    local classes = { 2, 3, 1 }
    local function onehot()
      local t = {}
      for b, c in ipairs(classes) do
        t[b] = { 0, 0, 0 }
        t[b][c] = 1
      end
      return t
    end

    it("matches with a B x 1 index matrix", function()
      local g, x = data(41, 4, 3)
      local net = ref.build(desc, g, 1)
      local idx = { { 2 }, { 3 }, { 1 } }
      ref.check_gradients(net, desc, "cross_entropy", x, nerve.matrix(idx), classes)
    end)

    it("matches with a Lua array of indices", function()
      local g, x = data(41, 4, 3)
      local net = ref.build(desc, g, 1)
      ref.check_gradients(net, desc, "cross_entropy", x, { 2, 3, 1 }, classes)
    end)

    it("matches with one-hot targets", function()
      local g, x = data(41, 4, 3)
      local net = ref.build(desc, g, 1)
      ref.check_gradients(net, desc, "cross_entropy", x, nerve.matrix(onehot()), classes)
    end)
  end)

  it("matches for bce on a sigmoid output", function()
    local desc = { { "linear", 4, 5 }, { "relu" }, { "linear", 5, 2 }, { "sigmoid" } }
    local g, x = data(51, 4, 2)
    local y = { { 1, 0 }, { 0, 0 }, { 1, 1 } }
    local net = ref.build(desc, g, 1)
    ref.check_gradients(net, desc, "bce", x, nerve.matrix(y), y)
  end)

  it("matches for bce with soft targets", function()
    local desc = { { "linear", 3, 2 }, { "sigmoid" } }
    local g, x = data(52, 3, 2)
    local y = { { ref.f32(0.2), ref.f32(0.9) }, { ref.f32(0.5), 0 }, { 1, ref.f32(0.3) } }
    local net = ref.build(desc, g, 1)
    ref.check_gradients(net, desc, "bce", x, nerve.matrix(y), y)
  end)

  it("matches for a batch of one row", function()
    local desc = { { "linear", 2, 4 }, { "sigmoid" }, { "linear", 4, 1 }, { "sigmoid" } }
    local g = ref.rng(61)
    local x = ref.random_rows(g, 1, 2)
    local y = { { 0.5 } }
    local net = ref.build(desc, g, 1.5)
    ref.check_gradients(net, desc, "mse", x, nerve.matrix(y), y)
  end)
end)

describe("nerve.gradcheck", function()
  local function setup()
    nerve.seed(7)
    local net = nerve.mlp{ 3, 5, 2, hidden = "tanh" }
    local g = ref.rng(71)
    local x = nerve.matrix(ref.random_rows(g, 4, 3))
    local y = nerve.matrix(ref.random_rows(g, 4, 2, 0, 1))
    return net, x, y
  end

  it("returns a small number for a correct backward", function()
    local net, x, y = setup()
    local e = nerve.gradcheck(net, nerve.mse(), x, y)
    assert.is_number(e)
    assert.is_true(e >= 0 and e < 1e-2, "gradcheck gave " .. tostring(e))
  end)

  it("accepts a step eps", function()
    local net, x, y = setup()
    local e = nerve.gradcheck(net, nerve.mse(), x, y, 1e-2)
    assert.is_number(e)
    assert.is_true(e >= 0 and e < 1e-2, "gradcheck gave " .. tostring(e))
  end)

  it("is small for cross_entropy with index targets", function()
    nerve.seed(8)
    local net = nerve.mlp{ 3, 6, 4, hidden = "relu", output = "linear" }
    local x = nerve.matrix(ref.random_rows(ref.rng(81), 5, 3))
    local e = nerve.gradcheck(net, nerve.cross_entropy(), x, { 1, 4, 2, 2, 3 })
    assert.is_true(e >= 0 and e < 1e-2, "gradcheck gave " .. tostring(e))
  end)

  it("is small for bce", function()
    nerve.seed(9)
    local net = nerve.mlp{ 3, 4, 2 }
    local x = nerve.matrix(ref.random_rows(ref.rng(91), 5, 3))
    local y = nerve.matrix{ { 1, 0 }, { 0, 1 }, { 1, 1 }, { 0, 0 }, { 1, 0 } }
    local e = nerve.gradcheck(net, nerve.bce(), x, y)
    assert.is_true(e >= 0 and e < 1e-2, "gradcheck gave " .. tostring(e))
  end)

  it("leaves the weights and the accumulated gradients as they were", function()
    local net, x, y = setup()
    -- some accumulated gradient to keep
    local loss = nerve.mse()
    net:backward(x, loss:backward(net:forward(x), y))
    local before = ref.snapshot(net)
    nerve.gradcheck(net, loss, x, y)
    assert.is_true(ref.same_snapshot(before, ref.snapshot(net)),
      "gradcheck changed a parameter or an accumulated gradient")
  end)
end)
