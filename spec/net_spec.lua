local nerve = require "nerve"
local ref = dofile("spec/helpers/ref.lua")

local function fails(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok)
  return tostring(err)
end

local function is_linear(l) return l.weight ~= nil end

-- What a 1-1-1 mlp with unit weights and zero biases computes for x.
local function unit_mlp(opts, x)
  opts[1], opts[2], opts[3] = 1, 1, 1
  local net = nerve.mlp(opts)
  for i = 1, #net do
    local l = net:layer(i)
    if is_linear(l) then l.weight:set(1, 1, 1); l.bias:set(1, 1, 0) end
  end
  return net:forward(nerve.matrix{ { x } }):get(1, 1), #net
end

local function sig(a) return 1 / (1 + math.exp(-a)) end
local function tanh(a) return (math.exp(2 * a) - 1) / (math.exp(2 * a) + 1) end

describe("nerve.mlp", function()
  it("pairs each linear layer with an activation", function()
    local net = nerve.mlp{ 2, 4, 3, 1 }
    assert.are.equal(6, #net)
    for i = 1, 6, 2 do assert.is_true(is_linear(net:layer(i))) end
    local r, c = net:layer(1).weight:shape()
    assert.are.same({ 2, 4 }, { r, c })
    r, c = net:layer(3).weight:shape()
    assert.are.same({ 4, 3 }, { r, c })
    r, c = net:layer(5).weight:shape()
    assert.are.same({ 3, 1 }, { r, c })
  end)

  it("uses sigmoid for hidden and output layers by default", function()
    local y = unit_mlp({}, 0.5)
    ref.assert_close(y, sig(sig(0.5)), 1e-6)
  end)

  it("takes hidden = 'tanh'", function()
    local y = unit_mlp({ hidden = "tanh" }, 0.5)
    ref.assert_close(y, sig(tanh(0.5)), 1e-6)
  end)

  it("takes hidden = 'relu'", function()
    local y = unit_mlp({ hidden = "relu", output = "linear" }, -0.5)
    assert.are.equal(0, y)
  end)

  it("takes hidden = 'leaky_relu'", function()
    local y = unit_mlp({ hidden = "leaky_relu", output = "linear" }, -2)
    ref.assert_close(y, -0.02, 1e-6)
  end)

  it("takes output = 'tanh'", function()
    local y = unit_mlp({ output = "tanh" }, 0.5)
    ref.assert_close(y, tanh(sig(0.5)), 1e-6)
  end)

  it("adds no output activation with output = 'linear'", function()
    local y, n = unit_mlp({ hidden = "tanh", output = "linear" }, 0.5)
    ref.assert_close(y, tanh(0.5), 1e-6)
    assert.are.equal(3, n)
    local net = nerve.mlp{ 2, 4, 1, output = "linear" }
    assert.are.equal(3, #net)
    assert.is_true(is_linear(net:layer(3)))
  end)

  it("takes output = 'softmax'", function()
    local net = nerve.mlp{ 3, 5, 4, output = "softmax" }
    local y = net:forward(nerve.matrix{ { 1, 2, 3 }, { -1, 0, 1 } }):totable()
    for _, row in ipairs(y) do
      local s = 0
      for _, v in ipairs(row) do s = s + v end
      ref.assert_close(s, 1, 1e-5)
    end
  end)

  it("starts with zero biases", function()
    nerve.seed(5)
    local net = nerve.mlp{ 3, 7, 2, hidden = "relu" }
    for _, i in ipairs{ 1, 3 } do
      for _, v in ipairs(net:layer(i).bias:totable()[1]) do assert.are.equal(0, v) end
    end
    local nonzero = false
    for _, row in ipairs(net:layer(1).weight:totable()) do
      for _, v in ipairs(row) do if v ~= 0 then nonzero = true end end
    end
    assert.is_true(nonzero, "weights are initialised")
  end)

  it("names an unknown activation in its error", function()
    local err = fails(nerve.mlp, { 2, 3, 1, hidden = "swish" })
    assert.truthy(err:find("swish", 1, true), err)
    err = fails(nerve.mlp, { 2, 3, 1, output = "sigmod" })
    assert.truthy(err:find("sigmod", 1, true), err)
  end)

  it("names an unknown option in its error", function()
    local err = fails(nerve.mlp, { 2, 3, 1, hiden = "tanh" })
    assert.truthy(err:find("hiden", 1, true), err)
  end)

  it("needs at least two sizes, all >= 1", function()
    fails(nerve.mlp, { 2 })
    fails(nerve.mlp, {})
    fails(nerve.mlp, { 2, 0, 1 })
  end)
end)

describe("every object", function()
  it("prints something more useful than an address", function()
    local net = nerve.mlp{ 2, 2, 1 }
    for _, o in ipairs{ nerve.linear(2, 3), nerve.sigmoid(), nerve.tanh(), nerve.relu(),
                        nerve.leaky_relu(0.2), nerve.softmax(), net, nerve.matrix(2, 2),
                        nerve.mse(), nerve.cross_entropy(), nerve.bce(),
                        nerve.sgd(net, { lr = 0.1 }), nerve.adam(net, {}) } do
      local s = tostring(o)
      assert.is_string(s)
      assert.is_nil(s:match("^userdata: "), s)
      assert.is_nil(s:match("^table: "), s)
    end
    assert.truthy(tostring(nerve.linear(2, 3)):lower():find("linear", 1, true))
    assert.truthy(tostring(nerve.softmax()):lower():find("softmax", 1, true))
  end)
end)

describe("nerve.sequential", function()
  it("holds the layers in order", function()
    local a, b, c = nerve.linear(2, 3), nerve.tanh(), nerve.linear(3, 1)
    local net = nerve.sequential{ a, b, c }
    assert.are.equal(3, #net)
    local r, k = net:layer(3).weight:shape()
    assert.are.same({ 3, 1 }, { r, k })
    assert.is_nil(net:layer(2).weight)
  end)

  it("appends with add, which returns the network", function()
    local net = nerve.sequential{ nerve.linear(2, 3) }
    local r = net:add(nerve.relu())
    assert.are.equal(net, r)
    net:add(nerve.linear(3, 2)):add(nerve.softmax())
    assert.are.equal(4, #net)
    local _, c = net:forward(nerve.matrix{ { 1, 2 } }):shape()
    assert.are.equal(2, c)
  end)

  it("starts empty with an empty table", function()
    local net = nerve.sequential{}
    assert.are.equal(0, #net)
    net:add(nerve.linear(2, 2))
    assert.are.equal(1, #net)
  end)

  it("refuses to run layers whose widths do not chain", function()
    local ok = pcall(function()
      local net = nerve.sequential{ nerve.linear(2, 3), nerve.linear(4, 1) }
      net:forward(nerve.matrix{ { 1, 2 } })
    end)
    assert.is_false(ok)
  end)

  it("checks layer indices", function()
    local net = nerve.mlp{ 2, 2, 1 }
    fails(net.layer, net, 0)
    fails(net.layer, net, 5)
  end)
end)

describe("a network", function()
  local function net_and_x()
    nerve.seed(11)
    local net = nerve.mlp{ 3, 5, 2, hidden = "tanh" }
    local x = nerve.matrix{ { 0.1, -0.2, 0.3 }, { 1, 0.5, -1 } }
    return net, x
  end

  it("gives a B x n_out output", function()
    local net, x = net_and_x()
    local r, c = net:forward(x):shape()
    assert.are.same({ 2, 2 }, { r, c })
  end)

  it("accepts a Lua table row as a 1 x n_in input", function()
    local net = net_and_x()
    local a = net:forward{ 0.1, -0.2, 0.3 }:copy()
    local r, c = a:shape()
    assert.are.same({ 1, 2 }, { r, c })
    local b = net:forward(nerve.matrix{ { 0.1, -0.2, 0.3 } })
    assert.are.same(a:totable(), b:totable())
  end)

  it("gives each row the same output whatever the batch size", function()
    local net = net_and_x()
    local rows = ref.random_rows(ref.rng(12), 40, 3)
    local one = {}
    for i, r in ipairs(rows) do one[i] = net:forward{ r[1], r[2], r[3] }:totable()[1] end
    for _, b in ipairs{ 40, 7, 1, 33 } do
      local sub = {}
      for i = 1, b do sub[i] = rows[i] end
      local y = net:forward(nerve.matrix(sub)):totable()
      for i = 1, b do ref.assert_near({ y[i] }, { one[i] }, 1e-6, 1e-3, "row " .. i .. " of " .. b) end
    end
  end)

  it("keeps layer and parameter matrices usable after it is collected", function()
    local w = nerve.mlp{ 3, 4, 2 }:layer(1).weight
    local p = nerve.mlp{ 3, 4, 2 }:parameters()
    collectgarbage("collect")
    collectgarbage("collect")
    w:set(1, 1, 5)
    assert.are.equal(5, w:get(1, 1))
    p[2]:set(1, 4, -5)
    assert.are.equal(-5, p[2]:get(1, 4))
    local r, c = p[3]:shape()
    assert.are.same({ 4, 2 }, { r, c })
  end)

  it("returns its buffer from forward, overwritten by the next forward", function()
    local net, x = net_and_x()
    local y1 = net:forward(x)
    local kept = y1:copy()
    local before = y1:totable()
    local x2 = nerve.matrix{ { 0.9, 0.8, 0.7 }, { -0.5, 0, 0.5 } }
    local y2 = net:forward(x2)
    assert.are.same(y2:totable(), y1:totable())
    assert.are_not.same(before, y1:totable())
    assert.are.same(before, kept:totable())
  end)

  it("is changed by writing its layer's weight", function()
    local net, x = net_and_x()
    local before = net:forward(x):copy()
    net:layer(3).weight:set(1, 1, 5)
    assert.are.equal(5, net:layer(3).weight:get(1, 1))
    assert.are_not.same(before:totable(), net:forward(x):totable())
  end)

  it("shares storage with the layer objects it was built from", function()
    local l = nerve.linear(2, 1)
    local net = nerve.sequential{ l, nerve.sigmoid() }
    l.weight:fill(0)
    l.bias:fill(3)
    ref.assert_close(net:forward{ 1, 1 }:get(1, 1), 1 / (1 + math.exp(-3)), 1e-6)
    net:layer(1).bias:fill(-3)
    assert.are.equal(-3, l.bias:get(1, 1))
  end)

  it("is changed by writing its layer's bias", function()
    local net = nerve.mlp{ 2, 2, 1, output = "linear" }
    local x = nerve.matrix{ { 0.3, 0.4 } }
    local y0 = net:forward(x):get(1, 1)
    net:layer(3).bias:set(1, 1, 2)
    ref.assert_close(net:forward(x):get(1, 1), y0 + 2, 1e-6, 1)
  end)

  it("shares storage with layer matrices taken before an update", function()
    local net, x = net_and_x()
    local w = net:layer(1).weight
    local gw = net:layer(1).grad_weight
    net:backward(x, net:forward(x):copy():fill(1))
    assert.are_not.equal(0, gw:get(1, 1))
    local before = w:get(1, 1)
    net:update(0.1)
    assert.are_not.equal(before, w:get(1, 1))
    net:zero_grad()
    assert.are.equal(0, gw:get(1, 1))
  end)

  it("lists its parameters as shared matrices in layer order", function()
    local net = net_and_x()
    local p = net:parameters()
    assert.are.equal(4, #p)
    local shapes = {}
    for i, m in ipairs(p) do
      local r, c = m:shape()
      shapes[i] = { r, c }
    end
    assert.are.same({ { 3, 5 }, { 1, 5 }, { 5, 2 }, { 1, 2 } }, shapes)
    assert.are.same(net:layer(1).weight:totable(), p[1]:totable())
    assert.are.same(net:layer(3).bias:totable(), p[4]:totable())
    p[1]:set(2, 3, 42)
    assert.are.equal(42, net:layer(1).weight:get(2, 3))
    net:layer(3).bias:set(1, 2, -42)
    assert.are.equal(-42, p[4]:get(1, 2))
  end)

  it("counts its trainable numbers", function()
    assert.are.equal(2 * 4 + 4 + 4 * 1 + 1, nerve.mlp{ 2, 4, 1 }:num_parameters())
    assert.are.equal(3 * 5 + 5 + 5 * 2 + 2, nerve.mlp{ 3, 5, 2 }:num_parameters())
    assert.are.equal(7 * 2 + 2,
      nerve.sequential{ nerve.linear(7, 2), nerve.softmax() }:num_parameters())
  end)

  it("prints its layers and parameter count", function()
    local s = tostring(nerve.mlp{ 2, 4, 1, hidden = "tanh" })
    assert.is_string(s)
    local low = s:lower()
    assert.truthy(low:find("linear", 1, true), s)
    assert.truthy(low:find("tanh", 1, true), s)
    assert.truthy(low:find("sigmoid", 1, true), s)
    assert.truthy(s:find("17", 1, true), s)
  end)

  describe("clone", function()
    it("computes the same outputs", function()
      local net, x = net_and_x()
      local c = net:clone()
      assert.are.same(net:forward(x):totable(), c:forward(x):totable())
      assert.are.equal(#net, #c)
      assert.are.equal(net:num_parameters(), c:num_parameters())
    end)

    it("is deep", function()
      local net, x = net_and_x()
      local c = net:clone()
      local before = net:forward(x):copy()
      c:layer(1).weight:fill(0.5)
      c:layer(3).bias:fill(3)
      c:backward(x, c:forward(x):copy():fill(1))
      c:update(1)
      assert.are.same(before:totable(), net:forward(x):totable())
      assert.are.equal(0, net:layer(1).grad_weight:get(1, 1))
      local kept = c:layer(1).weight:totable()
      net:layer(1).weight:fill(-1)
      net:backward(x, net:forward(x):copy():fill(1))
      assert.are.same(kept, c:layer(1).weight:totable())
    end)
  end)

  describe("backward", function()
    it("returns dE/dx shaped like x", function()
      local net, x = net_and_x()
      local y = net:forward(x)
      local dx = net:backward(x, y:copy():fill(1))
      local r, c = dx:shape()
      assert.are.same({ 2, 3 }, { r, c })
    end)

    it("accumulates: two backwards double the gradients", function()
      local net, x = net_and_x()
      local g = net:forward(x):copy():fill(0.5)
      net:backward(x, g)
      local once = ref.snapshot(net)
      net:backward(x, g)
      local twice = ref.snapshot(net)
      -- snapshot holds W, b, gW, gb per linear layer
      for k = 3, #once, 4 do
        for _, d in ipairs{ 0, 1 } do
          local a, b = once[k + d], twice[k + d]
          for i = 1, #a do
            for j = 1, #a[i] do
              ref.assert_close(b[i][j], 2 * a[i][j], 1e-6, 1e-30)
            end
          end
        end
      end
      -- the weights themselves did not move
      assert.are.same(once[1], twice[1])
    end)

    it("sums the rows of a batch", function()
      local net = nerve.mlp{ 2, 3, 1 }
      local a, b = { 0.2, -0.4 }, { 0.9, 0.1 }
      local function grads(rows, go)
        net:zero_grad()
        local x = nerve.matrix(rows)
        net:forward(x)
        net:backward(x, nerve.matrix(go))
        return net:layer(1).grad_weight:totable(), net:layer(3).grad_bias:get(1, 1)
      end
      local ga, ba = grads({ a }, { { 1 } })
      local gb, bb = grads({ b }, { { -0.5 } })
      local gab, bab = grads({ a, b }, { { 1 }, { -0.5 } })
      for i = 1, 2 do
        for j = 1, 3 do ref.assert_close(gab[i][j], ga[i][j] + gb[i][j], 1e-5, 1e-6) end
      end
      ref.assert_close(bab, ba + bb, 1e-5, 1e-6)
    end)
  end)

  -- zero_grad only marks gradients nobody holds a view of; the next
  -- backward then writes them instead of adding to them
  it("gives after zero_grad the gradients of a fresh network, views or not", function()
    local net, x = net_and_x()
    local fresh = net:clone()
    local g = net:forward(x):copy():fill(0.5)
    for _ = 1, 3 do
      net:zero_grad()
      net:forward(x)
      net:backward(x, g)
    end
    fresh:forward(x)
    fresh:backward(x, g)
    for i = 1, #net do
      local l = net:layer(i)
      if is_linear(l) then
        assert.are.same(fresh:layer(i).grad_weight:totable(), l.grad_weight:totable())
        assert.are.same(fresh:layer(i).grad_bias:totable(), l.grad_bias:totable())
      end
    end
    local held = net:layer(1).grad_weight -- a view, taken before
    net:zero_grad()
    for _, row in ipairs(held:totable()) do
      for _, v in ipairs(row) do assert.are.equal(0, v) end
    end
  end)

  it("zeroes the accumulated gradients with zero_grad", function()
    local net, x = net_and_x()
    net:backward(x, net:forward(x):copy():fill(1))
    net:zero_grad()
    for i = 1, #net do
      local l = net:layer(i)
      if is_linear(l) then
        for _, row in ipairs(l.grad_weight:totable()) do
          for _, v in ipairs(row) do assert.are.equal(0, v) end
        end
        for _, v in ipairs(l.grad_bias:totable()[1]) do assert.are.equal(0, v) end
      end
    end
  end)

  it("steps p = p - lr * grad(p) with update", function()
    local net, x = net_and_x()
    net:backward(x, net:forward(x):copy():fill(1))
    local p0, g0 = {}, {}
    for i, m in ipairs(net:parameters()) do p0[i] = m:totable() end
    for i = 1, #net do
      local l = net:layer(i)
      if is_linear(l) then
        g0[#g0 + 1] = l.grad_weight:totable()
        g0[#g0 + 1] = l.grad_bias:totable()
      end
    end
    net:update(0.25)
    for i, m in ipairs(net:parameters()) do
      local want = {}
      for r, row in ipairs(p0[i]) do
        want[r] = {}
        for c, v in ipairs(row) do want[r][c] = v - 0.25 * g0[i][r][c] end
      end
      ref.assert_near(m, want, 1e-6, 1e-3, "parameter " .. i)
    end
    -- update does not zero the gradients
    assert.are.same(g0[1], net:layer(1).grad_weight:totable())
  end)
end)
