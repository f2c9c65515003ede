local nerve = require "nerve"
local ref = dofile("spec/helpers/ref.lua")

-- Big enough GEMMs (2 rows n k >= 1e6 FLOP) are cut into blocks of rows;
-- these batches fall under, across and far over that threshold.
local BATCHES = { 1, 9, 40, 333 }

local function with_threads(n, f)
  local old = nerve.threads()
  nerve.threads(n)
  local ok, a, b, c = pcall(f)
  nerve.threads(old)
  assert(ok, a)
  return a, b, c
end

local function weights(net)
  local t = {}
  for i, m in ipairs(net:parameters()) do t[i] = m:totable() end
  return t
end

local function same_list(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do
    if not ref.same(a[i], b[i]) then return false end
  end
  return true
end

local function data(rows, cols, classes)
  local g = ref.rng(rows)
  local x = nerve.matrix(ref.random_rows(g, rows, cols))
  local y = {}
  for i = 1, rows do y[i] = { 1 + i % classes } end
  return x, nerve.matrix(y)
end

local function net_of(kinds)
  return nerve.sequential{
    nerve.linear(96, 160), nerve[kinds[1]](),
    nerve.linear(160, 128), nerve.dropout(0.2),
    nerve.linear(128, 96), nerve[kinds[2]](),
    nerve.linear(96, 10), nerve.softmax(),
  }
end

describe("two threads", function()
  for _, rows in ipairs(BATCHES) do
    it("give bitwise the same forward, backward and fit at batch " .. rows, function()
      local x, y = data(rows, 96, 10)
      local function run()
        nerve.seed(4)
        local net = net_of{ "gelu", "sigmoid" }
        local out = net:forward(x):copy()
        local dx = net:backward(x, out:copy():fill(0.03)):copy()
        local grads = {}
        for i, m in ipairs(net:gradients()) do grads[i] = m:totable() end
        nerve.fit(net, x, y, { loss = nerve.cross_entropy(), epochs = 2,
          batch = math.min(rows, 64), seed = 3,
          optimizer = nerve.sgd(net, { lr = 0.05, momentum = 0.9 }) })
        -- plain SGD: the step runs inside the backward pass
        nerve.fit(net, x, y, { loss = nerve.cross_entropy(), epochs = 2,
          batch = math.min(rows, 64), shuffle = false,
          optimizer = nerve.sgd(net, { lr = 0.05 }) })
        return { out:totable(), dx:totable() }, grads, weights(net)
      end
      local a1, g1, w1 = with_threads(1, run)
      local a2, g2, w2 = with_threads(2, run)
      assert.is_true(ref.same(a1[1], a2[1]), "outputs differ")
      assert.is_true(ref.same(a1[2], a2[2]), "dE/dx differs")
      assert.is_true(same_list(g1, g2), "gradients differ")
      assert.is_true(same_list(w1, w2), "trained weights differ")
    end)
  end

  it("compute what one row at a time computes, within rounding", function()
    -- blocks of rows versus single rows: only the order of the bias and
    -- the kernels' tails may differ, never a row
    nerve.seed(8)
    local net = net_of{ "tanh", "relu" }:evaluate()
    local x = data(333, 96, 10)
    local whole = with_threads(2, function() return net:forward(x):totable() end)
    for _, r in ipairs{ 1, 8, 9, 166, 167, 333 } do
      local one = net:forward(nerve.matrix{ x:totable()[r] }):totable()[1]
      ref.assert_near({ whole[r] }, { one }, 1e-5, 1e-6, "row " .. r)
    end
  end)

  it("accumulate the weight gradient of a big batch as the sum of its halves", function()
    nerve.seed(2)
    local net = net_of{ "elu", "softplus" }
    local x = data(400, 96, 10)
    local rows = x:totable()
    local function grads(m)
      net:zero_grad()
      net:backward(m, net:forward(m):copy():fill(0.5))
      return net:layer(1).grad_weight:totable()
    end
    local all = with_threads(2, function() return grads(x) end)
    local top, bottom = {}, {}
    for i = 1, 200 do top[i], bottom[i] = rows[i], rows[i + 200] end
    local a, b = grads(nerve.matrix(top)), grads(nerve.matrix(bottom))
    for i = 1, #a do
      for j = 1, #a[i] do a[i][j] = a[i][j] + b[i][j] end
    end
    ref.assert_near(all, a, 1e-4, 1e-3, "grad_weight of layer 1")
  end)
end)
