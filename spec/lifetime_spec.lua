-- Lifetime: every object used after close, after its parent's close or
-- after its own finalizer gives a clean error (never a crash), Lua code
-- run by finalizers cannot pull memory from under a running call, and a
-- network shared by coroutines stays consistent.
local nerve = require "nerve"

local function fails(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok, "expected an error")
  return tostring(err)
end

local function has(err, s)
  assert.truthy(err:find(s, 1, true), "error message lacks '" .. s .. "': " .. err)
end

local function collect()
  collectgarbage("collect")
  collectgarbage("collect")
end

describe("a closed network", function()
  it("refuses every method with 'closed'", function()
    local net = nerve.mlp{ 2, 3, 1 }
    local x = nerve.matrix{ { 1, 2 } }
    local g = nerve.matrix{ { 1 } }
    net:close()
    local calls = {
      function() return net:forward(x) end,
      function() return net:backward(x, g) end,
      function() return net:zero_grad() end,
      function() return net:update(0.1) end,
      function() return net:grad_norm() end,
      function() return net:layer(1) end,
      function() return net:parameters() end,
      function() return net:gradients() end,
      function() return net:num_parameters() end,
      function() return net:n_in() end,
      function() return net:n_out() end,
      function() return net:clone() end,
      function() return net:copy_parameters(nerve.mlp{ 2, 3, 1 }) end,
      function() return nerve.mlp{ 2, 3, 1 }:copy_parameters(net) end,
      function() return net:serialize() end,
      function() return net:save("/nonexistent/x.nrv") end,
      function() return net:add(nerve.tanh()) end,
      function() return #net end,
      function() return nerve.sgd(net) end,
      function() return nerve.adam(net) end,
      function() return nerve.fit(net, x, g, { epochs = 1 }) end,
      function() return nerve.accuracy(net, x, { 1 }) end,
      function() return nerve.core.train_batch(net, "mse", x, g, nil, 1, 1) end,
      function() return nerve.core.eval_loss(net, "mse", x, g) end,
    }
    for _, call in ipairs(calls) do has(fails(call), "closed") end
    assert.equal("nerve.sequential (closed)", tostring(net))
    net:close() -- twice is fine
  end)

  it("makes its output and gradient views stale, not dangling", function()
    local net = nerve.mlp{ 2, 3, 1 }
    local x = nerve.matrix{ { 1, 2 } }
    local out = net:forward(x)
    local gin = net:backward(x, nerve.matrix{ { 1 } })
    local sub = out:sub(1, 1)
    net:close()
    for _, m in ipairs{ out, gin, sub } do
      has(fails(m.get, m, 1, 1), "stale")
      has(fails(m.totable, m), "stale")
      has(fails(m.copy, m), "stale")
      has(fails(tostring, m), "stale")
    end
  end)

  it("leaves its layers and their views usable", function()
    local net = nerve.mlp{ 2, 3, 1 }
    local l = net:layer(1)
    local w = l.weight
    local before = w:get(1, 1)
    net:close()
    assert.equal(before, w:get(1, 1))
    w:set(1, 1, 0.25)
    assert.equal(0.25, l.weight:get(1, 1))
    local other = nerve.sequential{ l }
    assert.equal(3, other:forward(nerve.matrix{ { 1, 0 } }):shape() and 3)
  end)

  it("leaves an optimizer made for it usable (it holds the layers)", function()
    local net = nerve.mlp{ 2, 2 }
    local opt = nerve.sgd(net, { lr = 0.5 })
    local w = net:layer(1).weight
    net:layer(1).grad_weight:fill(1)
    net:close()
    collect()
    local before = w:get(1, 1)
    opt:step()
    assert.near(before - 0.5, w:get(1, 1), 1e-6)
  end)
end)

describe("finalizers", function()
  -- A table whose finalizer runs fn on the values later put in box.
  -- Objects made after it are finalized before it (newest first), so by
  -- the time fn runs, their own finalizers have run.
  -- The caller fills t.box, then drops t.
  local function trap(fn)
    return setmetatable({ box = {} }, { __gc = function(t) fn(t.box) end })
  end

  it("see a collected layer and its views as collected, not freed", function()
    local seen = {}
    local t = trap(function(b)
      for i, v in ipairs(b) do
        local ok, err = pcall(function()
          if nerve.core.is_layer(v) then return v.weight end
          return v:get(1, 1)
        end)
        seen[i] = ok and "ok" or tostring(err)
      end
      seen.str = tostring(b[1])
    end)
    do
      local l = nerve.linear(2, 2)
      t.box[1], t.box[2], t.box[3] = l, l.weight, l.bias:sub(1, 1, 1, 1)
    end
    t = nil
    collect()
    assert.equal(3, #seen)
    has(seen[1], "collected")
    has(seen[2], "collected")
    has(seen[3], "collected")
    assert.equal("nerve.Layer (collected)", seen.str)
  end)

  it("see a collected network as closed", function()
    local seen
    local t = trap(function(b)
      local ok, err = pcall(b[1].forward, b[1], nerve.matrix(1, 2))
      seen = ok and "ok" or tostring(err)
    end)
    t.box[1] = nerve.mlp{ 2, 2 }
    t = nil
    collect()
    has(seen, "closed")
  end)

  it("cannot close a network while the engine works on it", function()
    -- Many pending finalizers that close the network, and calls that make
    -- the engine allocate: a finalizer that runs inside an engine call is
    -- refused (nerve is working), and a network closed between calls fails
    -- cleanly.
    local net = nerve.mlp{ 4, 64, 4 }
    local errors = {}
    collectgarbage("incremental", 10, 400)
    for round = 1, 40 do
      for _ = 1, 20 do
        setmetatable({}, { __gc = function()
          local ok, err = pcall(net.close, net)
          if not ok then errors[#errors + 1] = err end
        end })
      end
      local ok, err = pcall(net.forward, net, nerve.matrix(round * 10, 4, 1))
      if not ok then has(tostring(err), "closed") break end
    end
    collectgarbage("incremental", 200, 100)
    -- between calls a finalizer does close it
    setmetatable({}, { __gc = function() net:close() end })
    collect()
    for _, err in ipairs(errors) do has(tostring(err), "from a finalizer") end
    has(fails(net.forward, net, nerve.matrix(1, 4)), "closed")
  end)
end)

describe("coroutines", function()
  local function run(schedule)
    nerve.seed(5)
    local net = nerve.mlp{ 3, 4, 2, hidden = "tanh", output = "linear" }
    local loss = nerve.mse()
    local x = { nerve.matrix{ { 1, 2, 3 }, { 0, 1, 0 } },
      nerve.matrix{ { -1, 0.5, 2 }, { 1, 1, 1 } } }
    local y = { nerve.matrix{ { 1, 0 }, { 0, 1 } }, nerve.matrix{ { 0, 0 }, { 1, 1 } } }
    local opt = nerve.sgd(net, { lr = 0.1 })
    local cos = {}
    for k = 1, 2 do
      cos[k] = coroutine.create(function()
        for _ = 1, 5 do
          -- one C call per step: atomic whatever runs in between
          nerve.core.train_batch(net, "mse", x[k], y[k], nil, 1, 2, opt)
          coroutine.yield()
          local out = net:forward(x[k]):copy()
          coroutine.yield()
          net:zero_grad()
          net:forward(x[k])
          net:backward(x[k], loss:backward(out, y[k]))
          opt:step()
          coroutine.yield()
        end
      end)
    end
    local i = 0
    while coroutine.status(cos[1]) ~= "dead" or coroutine.status(cos[2]) ~= "dead" do
      i = i + 1
      local k = schedule[(i - 1) % #schedule + 1]
      if coroutine.status(cos[k]) == "dead" then k = 3 - k end
      local ok, err = coroutine.resume(cos[k])
      assert(ok, err)
    end
    return net:serialize()
  end

  it("train one network with deterministic results", function()
    local a = { 1, 2, 1, 2, 2, 1, 1, 1, 2 }
    local first = run(a)
    assert.equal(first, run(a))
    assert.are_not.equal(first, run{ 1, 1, 2 })
    local net = nerve.deserialize(first)
    assert.is_truthy(net)
    for _, p in ipairs(net:parameters()) do
      for _, row in ipairs(p:totable()) do
        for _, v in ipairs(row) do assert.is_true(v == v) end
      end
    end
  end)

  it("see another coroutine's larger batch make their view stale", function()
    local net = nerve.mlp{ 2, 3 }
    local co = coroutine.wrap(function()
      local out = net:forward(nerve.matrix(1, 2, 1))
      coroutine.yield()
      return pcall(out.get, out, 1, 1)
    end)
    co()
    net:forward(nerve.matrix(500, 2, 1))
    local ok, err = co()
    assert.is_false(ok)
    has(tostring(err), "stale")
  end)
end)

describe("finalizers during an engine call", function()
  it("cannot free memory the call reads (a view of another network)", function()
    -- netB's output, fed to netA while finalizers try to close netB and to
    -- grow its buffers. Inside an engine call they are refused; between
    -- calls they may close netB, which later calls then report. Whatever
    -- ran, netA computed on netB's intact output (ASan in make check would
    -- see a freed buffer).
    nerve.seed(11)
    local a, b = nerve.mlp{ 8, 32, 8 }, nerve.mlp{ 8, 64, 8 }
    local x = nerve.matrix(4, 8, 0.5)
    local want = a:forward(b:forward(x)):copy():totable()
    collectgarbage("incremental", 10, 400)
    for round = 1, 30 do
      local ok, view = pcall(b.forward, b, x)
      if not ok then has(tostring(view), "closed") break end
      for _ = 1, 10 do
        setmetatable({}, { __gc = function()
          pcall(b.forward, b, nerve.matrix(500, 8))
          pcall(b.close, b)
        end })
      end
      local ok2, out = pcall(a.forward, a, view)
      if ok2 then
        assert.are.same(want, out:totable())
      else
        assert.truthy(tostring(out):find("stale", 1, true)
          or tostring(out):find("closed", 1, true), tostring(out))
      end
      a:forward(nerve.matrix(round * 20, 8)) -- a allocates: finalizers run
    end
    collectgarbage("incremental", 200, 100)
    collect()
  end)
end)
