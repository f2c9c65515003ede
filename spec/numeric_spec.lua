-- Numeric safety: NaN and infinity in data are refused (or, in fit, left
-- out on request), a diverging fit stops and gives back its last finite
-- weights, and the activations and losses stay finite at extreme inputs.
local nerve = require "nerve"

local function fails(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok, "expected an error")
  return tostring(err)
end

local function has(err, s)
  assert.truthy(err:find(s, 1, true), "error message lacks '" .. s .. "': " .. err)
end

local nan, inf = 0 / 0, math.huge

local function finite(m)
  return nerve.core.nonfinite(m) == nil
end

local function line_data()
  local x = nerve.matrix{ { 1 }, { 2 }, { 3 }, { -1 }, { 0.5 } }
  local y = nerve.matrix{ { 2 }, { 4 }, { 6 }, { -2 }, { 1 } }
  return x, y
end

describe("fit with NaN or infinity in the data", function()
  it("refuses inputs, naming the row and the column", function()
    local x, y = line_data()
    x:set(3, 1, nan)
    local net = nerve.mlp{ 1, 1, output = "linear" }
    local err = fails(nerve.fit, net, x, y, { epochs = 1 })
    has(err, "nerve.fit: x has NaN at row 3, column 1")
    has(err, "nonfinite")
    x:set(3, 1, -inf)
    has(fails(nerve.fit, net, x, y, { epochs = 1 }), "x has infinity at row 3")
  end)

  it("refuses targets and validation inputs", function()
    local x, y = line_data()
    y:set(2, 1, inf)
    local net = nerve.mlp{ 1, 1, output = "linear" }
    has(fails(nerve.fit, net, x, y, { epochs = 1 }), "y has infinity at row 2, column 1")
    local x2, y2 = line_data()
    local xv = x2:copy()
    xv:set(5, 1, nan)
    has(fails(nerve.fit, net, x2, y2, { epochs = 1, validation = { xv, y2 } }),
      "validation[1] (x_val) has NaN at row 5")
  end)

  it("changes nothing when it refuses", function()
    local x, y = line_data()
    x:set(1, 1, nan)
    local net = nerve.mlp{ 1, 1, output = "linear" }
    local before = net:serialize()
    fails(nerve.fit, net, x, y, { epochs = 3 })
    assert.equal(before, net:serialize())
  end)

  it("leaves such rows out with nonfinite = 'skip', like training without them", function()
    local x, y = line_data()
    x:set(2, 1, nan)
    y:set(4, 1, -inf)
    local clean_x = nerve.matrix{ { 1 }, { 3 }, { 0.5 } }
    local clean_y = nerve.matrix{ { 2 }, { 6 }, { 1 } }
    nerve.seed(3)
    local a = nerve.mlp{ 1, 2, 1, hidden = "tanh", output = "linear" }
    local b = a:clone()
    local ra = nerve.fit(a, x, y, { epochs = 20, batch = 2, shuffle = false,
      nonfinite = "skip" })
    local rb = nerve.fit(b, clean_x, clean_y, { epochs = 20, batch = 2, shuffle = false })
    assert.equal(2, ra.dropped)
    assert.equal(0, rb.dropped)
    assert.equal(b:serialize(), a:serialize())
    assert.same(rb.history, ra.history)
  end)

  it("skips rows for class-index targets and shuffled batches too", function()
    local x = nerve.matrix{ { 0, 1 }, { 1, 0 }, { nan, 0 }, { 1, 1 } }
    local y = nerve.matrix{ { 1 }, { 2 }, { 1 }, { nan } }
    local net = nerve.mlp{ 2, 3, 2, output = "linear" }
    local r = nerve.fit(net, x, y, { loss = nerve.cross_entropy(), epochs = 5,
      seed = 1, nonfinite = "skip" })
    assert.equal(2, r.dropped)
    assert.equal(5, r.epochs)
    for _, p in ipairs(net:parameters()) do assert.is_true(finite(p)) end
  end)

  it("says so when every row is bad, and checks the option", function()
    local x = nerve.matrix{ { nan }, { inf } }
    local y = nerve.matrix{ { 1 }, { 1 } }
    local net = nerve.mlp{ 1, 1 }
    has(fails(nerve.fit, net, x, y, { nonfinite = "skip" }), "every row")
    has(fails(nerve.fit, net, x, y, { nonfinite = "drop" }),
      "option 'nonfinite' must be \"error\" or \"skip\"")
    has(fails(nerve.fit, net, x, y, { restore_on_diverge = 1 }),
      "option 'restore_on_diverge' must be a boolean")
  end)
end)

describe("train_batch and the losses", function()
  it("refuse a NaN input row of the batch", function()
    local x, y = line_data()
    x:set(4, 1, nan)
    local net = nerve.mlp{ 1, 1, output = "linear" }
    local before = net:serialize()
    has(fails(nerve.core.train_batch, net, "mse", x, y, nil, 1, 5),
      "x has NaN or infinity at row 4, column 1")
    assert.equal(before, net:serialize())
    -- rows outside the batch do not matter
    assert.is_number(nerve.core.train_batch(net, "mse", x, y, nil, 1, 3))
  end)

  it("refuse NaN or infinite targets in every loss", function()
    local yhat = nerve.matrix{ { 0.5, 0.5 } }
    for _, loss in ipairs{ nerve.mse(), nerve.bce(), nerve.cross_entropy() } do
      local y = nerve.matrix{ { nan, 1 } }
      has(fails(loss.forward, loss, yhat, y), "NaN or infinity")
      has(fails(loss.backward, loss, yhat, y), "NaN or infinity")
      y = nerve.matrix{ { 0, -inf } }
      has(fails(loss.forward, loss, yhat, y), "NaN or infinity")
    end
  end)
end)

describe("a diverging fit", function()
  local function diverge(opts)
    nerve.seed(11)
    local x, y = line_data()
    local net = nerve.mlp{ 1, 1, output = "linear" }
    local start = net:clone()
    opts.epochs, opts.batch, opts.shuffle = 500, 1, false
    opts.optimizer = nerve.sgd(net, { lr = 5 })
    return net, nerve.fit(net, x, y, opts), start, x, y
  end

  it("stops with 'diverged' and restores the last finite weights", function()
    local net, r, start, x, y = diverge{}
    assert.equal("diverged", r.stopped)
    assert.is_true(r.restored)
    assert.is_true(r.epochs > 1 and r.epochs < 500)
    assert.is_true(r.loss ~= r.loss or r.loss == inf)
    for i = 1, r.epochs - 1 do
      assert.is_true(r.history[i] == r.history[i] and r.history[i] < inf)
    end
    for _, p in ipairs(net:parameters()) do assert.is_true(finite(p)) end
    -- the same start trained for the finite epochs only gives these weights
    local again = start:clone()
    nerve.fit(again, x, y, { epochs = r.epochs - 1, batch = 1, shuffle = false,
      optimizer = nerve.sgd(again, { lr = 5 }) })
    assert.equal(again:serialize(), net:serialize())
  end)

  it("keeps the diverged weights with restore_on_diverge = false", function()
    local net, r = diverge{ restore_on_diverge = false }
    assert.equal("diverged", r.stopped)
    assert.is_nil(r.restored)
    local any = false
    for _, p in ipairs(net:parameters()) do any = any or not finite(p) end
    assert.is_true(any)
  end)
end)

describe("extreme inputs", function()
  local big = { 1e4, -1e4, 1e30, -1e30, 3.4e38, -3.4e38 }

  local function isas()
    local t = {}
    for _, name in ipairs{ "scalar", "avx2", "avx512" } do
      if nerve.core.isa_supported(name) then t[#t + 1] = name end
    end
    return t
  end

  after_each(function() nerve.set_isa(isas()[#isas()]) end)

  it("give finite sigmoid, tanh and softmax outputs on every instruction set", function()
    for _, isa in ipairs(isas()) do
      nerve.set_isa(isa)
      local x = nerve.matrix(#big + 2, 3)
      for i, v in ipairs(big) do x:set(i, 1, v); x:set(i, 2, -v); x:set(i, 3, 0) end
      x:set(#big + 1, 1, inf); x:set(#big + 2, 1, -inf)
      for _, kind in ipairs{ "sigmoid", "tanh" } do
        local o = nerve.sequential{ nerve[kind]() }:forward(x)
        assert.is_true(finite(o), isa .. " " .. kind)
        local lo = kind == "sigmoid" and 0 or -1
        for i = 1, #big + 2 do
          assert.is_true(o:get(i, 1) >= lo and o:get(i, 1) <= 1)
        end
        assert.equal(1, o:get(1, 1))
        assert.equal(lo, o:get(2, 1))
      end
      -- softmax on finite extremes (an infinite input is non-finite data:
      -- fit refuses it; a forward pass may give NaN)
      local o = nerve.sequential{ nerve.softmax() }:forward(x:sub(1, #big))
      assert.is_true(finite(o), isa .. " softmax")
      for i = 1, #big do
        local s = o:get(i, 1) + o:get(i, 2) + o:get(i, 3)
        assert.near(1, s, 1e-6)
        assert.equal(big[i] > 0 and 1 or 0, o:get(i, 1))
      end
    end
  end)

  it("give exact cross-entropy losses and gradients, infinite logits included", function()
    local ce = nerve.cross_entropy()
    for _, v in ipairs(big) do
      local z = nerve.matrix{ { v, 0 } }
      local right, wrong = v > 0 and 1 or 2, v > 0 and 2 or 1
      assert.equal(0, ce:forward(z, { right }))
      assert.near(math.abs(v), ce:forward(z, { wrong }), math.abs(v) * 1e-6)
      local g = ce:backward(z, { right })
      assert.equal(0, g:get(1, 1))
      assert.equal(0, g:get(1, 2))
    end
    local z = nerve.matrix{ { inf, 0, -inf } }
    assert.equal(0, ce:forward(z, { 1 }))
    assert.equal(inf, ce:forward(z, { 2 }))
    local g = ce:backward(z, { 2 })
    assert.same({ { 1, -1, 0 } }, g:totable())
    -- two infinite logits share the mass; all -inf is uniform
    assert.near(math.log(2), ce:forward(nerve.matrix{ { inf, inf, 0 } }, { 1 }), 1e-12)
    assert.near(math.log(3), ce:forward(nerve.matrix{ { -inf, -inf, -inf } }, { 3 }), 1e-12)
    -- one-hot targets take the same path
    assert.equal(0, ce:forward(nerve.matrix{ { inf, 0 } }, nerve.matrix{ { 1, 0 } }))
  end)

  it("give finite binary cross-entropy at probabilities 0 and 1", function()
    local bce = nerve.bce()
    for _, p in ipairs{ 0, 1, 1e-30, 1 - 1e-8 } do
      local m = nerve.matrix{ { p } }
      for _, t in ipairs{ 0, 1 } do
        local e = bce:forward(m, nerve.matrix{ { t } })
        assert.is_true(e == e and e >= 0 and e <= 100)
        local g = bce:backward(m, nerve.matrix{ { t } }):get(1, 1)
        assert.is_true(g == g and g > -inf and g < inf)
      end
    end
  end)
end)
