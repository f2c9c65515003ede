-- oom_cases.lua - the operations test_oom runs with allocation failure at
-- every point. Each case: setup() (allocator healthy), op() (the k-th and
-- every later allocation fail), check(ok, err) (healthy again: the objects
-- must still work and give the results they gave before, or refuse
-- cleanly). Every name a case keeps lives in its closure, so dropping the
-- table drops everything.
local nerve = require "nerve"

local function rows(n, cols, f)
  local t = {}
  for i = 1, n do
    local r = {}
    for j = 1, cols do r[j] = f(i, j) end
    t[i] = r
  end
  return nerve.matrix(t)
end

local function same(a, b)
  local ta, tb = a:totable(), b:totable()
  if #ta ~= #tb then return false end
  for i = 1, #ta do
    for j = 1, #ta[i] do
      if ta[i][j] ~= tb[i][j] then return false end
    end
  end
  return true
end

local function data()
  local x = rows(8, 4, function(i, j) return math.sin(i * 3 + j) end)
  local y = rows(8, 1, function(i) return i % 3 + 1 end)
  return x, y
end

local function new_net()
  nerve.seed(9)
  return nerve.mlp{ 4, 6, 3, hidden = "tanh", output = "linear" }
end

local cases = {}

cases.construct = function()
  local net, x
  return {
    setup = function() x = data() end,
    op = function()
      nerve.seed(9)
      net = nerve.mlp{ 4, 6, 3, hidden = "tanh", output = "softmax" }
      net:add(nerve.linear(3, 2))
    end,
    check = function(ok)
      if ok then
        assert(#net == 5, "the network is incomplete")
        net:forward(x)
      end
    end,
  }
end

cases.forward = function()
  local net, x, want
  return {
    setup = function()
      net, x = new_net(), data()
      want = net:clone():forward(x):copy()
    end,
    op = function() net:forward(x) end,
    check = function() assert(same(net:forward(x), want), "forward changed") end,
  }
end

cases.backward = function()
  local net, x, g, want
  local function run(n)
    n:zero_grad()
    n:forward(x)
    n:backward(x, g)
  end
  return {
    setup = function()
      net, x = new_net(), data()
      g = rows(8, 3, function(i, j) return (i - j) / 8 end)
      local c = net:clone()
      run(c)
      want = c:gradients()[1]:copy()
    end,
    op = function() run(net) end,
    check = function()
      run(net)
      assert(same(net:gradients()[1], want), "gradients differ")
    end,
  }
end

cases.optimizers = function()
  local net, x, y
  return {
    setup = function() net, x, y = new_net(), data() end,
    op = function()
      local loss = nerve.cross_entropy()
      net:zero_grad()
      net:backward(x, loss:backward(net:forward(x), y))
      nerve.adam(net, { lr = 0.01 }):step()
      nerve.sgd(net, { lr = 0.1, momentum = 0.9, nesterov = true }):step()
    end,
    check = function()
      local out = net:forward(x)
      assert(nerve.core.nonfinite(out) == nil, "non-finite output")
    end,
  }
end

cases.fit = function()
  local net, x, y
  return {
    setup = function() net, x, y = new_net(), data() end,
    op = function()
      nerve.fit(net, x, y, { loss = nerve.cross_entropy(), epochs = 2,
        batch = 4, seed = 1, optimizer = nerve.adam(net),
        stop = nerve.stop.plateau{ patience = 3 }, validation = { x, y } })
    end,
    check = function()
      local r = nerve.fit(net, x, y, { loss = nerve.cross_entropy(), epochs = 1 })
      assert(r.epochs == 1)
    end,
  }
end

cases.model_bytes = function()
  local net, bytes, back
  return {
    setup = function() net = new_net() end,
    op = function()
      bytes = net:serialize()
      back = nerve.deserialize(bytes)
    end,
    check = function(ok)
      if ok then assert(back:serialize() == bytes, "round trip differs") end
      assert(nerve.deserialize(net:serialize()):serialize() == net:serialize())
    end,
  }
end

cases.model_file = function()
  local net, old, back
  local path = os.getenv("NERVE_OOM_FILE")
  return {
    setup = function()
      net = new_net()
      old = nerve.mlp{ 2, 2 }
      assert(old:save(path))
      old = old:serialize()
    end,
    op = function()
      assert(net:save(path))
      back = assert(nerve.load(path))
    end,
    check = function(ok)
      -- the file holds the old model or the new one, never a broken one
      local now = assert(nerve.load(path)):serialize()
      assert(now == old or now == net:serialize(), "the model file is broken")
      if ok then assert(back:serialize() == net:serialize()) end
    end,
  }
end

cases.copies = function()
  local net, c
  return {
    setup = function() net = new_net() end,
    op = function()
      c = net:clone()
      c:copy_parameters(net)
      local p = c:parameters()
      p[1]:set(1, 1, 0.5)
      tostring(c)
    end,
    check = function(ok)
      if ok then assert(c:parameters()[1]:get(1, 1) == 0.5) end
      local d = net:clone()
      assert(d:serialize() == net:serialize())
    end,
  }
end

cases.losses = function()
  local x, y, z
  return {
    setup = function()
      x, y = data()
      z = rows(8, 3, function(i, j) return i - j * 2 end)
    end,
    op = function()
      local ce = nerve.cross_entropy()
      ce:forward(z, { 1, 2, 3, 1, 2, 3, 1, 2 })
      ce:backward(z, y)
      nerve.mse():backward(x, x)
      nerve.bce():forward(nerve.matrix{ { 0.5 } }, { { 1 } })
    end,
    check = function()
      assert(nerve.cross_entropy():forward(z, y) > 0)
    end,
  }
end

cases.accuracy = function()
  local net, x, y
  return {
    setup = function() net, x, y = new_net(), data() end,
    op = function()
      nerve.accuracy(net, x, y)
      nerve.core.eval_loss(net, "cross_entropy", x, y)
    end,
    check = function()
      local a = nerve.accuracy(net, x, y)
      assert(a >= 0 and a <= 1)
    end,
  }
end

local names = {}
for name in pairs(cases) do names[#names + 1] = name end
table.sort(names)
return { cases = cases, names = names }
