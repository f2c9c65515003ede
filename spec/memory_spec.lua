-- Memory stays flat over long loops, and large buffers are visible to the
-- Lua garbage collector (DESIGN.md, "Engine principles").
local nerve = require "nerve"

local function kb()
  collectgarbage("collect")
  collectgarbage("collect")
  return collectgarbage("count")
end

-- margin: some KiB of Lua-side noise (interned strings, busted's own)
local MARGIN = 64

describe("memory", function()
  it("stays flat over 20000 forward/backward/update steps", function()
    nerve.seed(1)
    local net = nerve.mlp{ 4, 16, 2 }
    local x = nerve.matrix{ { 0.1, 0.2, 0.3, 0.4 }, { -1, 0, 1, 2 }, { 0, 0, 0, 1 } }
    local y = nerve.matrix{ { 0, 1 }, { 1, 0 }, { 1, 1 } }
    local loss = nerve.mse()
    -- warm up: buffers sized once per batch shape
    for _ = 1, 10 do
      net:zero_grad()
      net:backward(x, loss:backward(net:forward(x), y))
      net:update(0.1)
    end
    local start = kb()
    for _ = 1, 20000 do
      net:zero_grad()
      local out = net:forward(x)
      loss:forward(out, y)
      net:backward(x, loss:backward(out, y))
      net:update(0.1)
    end
    local stop = kb()
    assert.is_true(stop - start < MARGIN,
      string.format("grew from %.0f KiB to %.0f KiB", start, stop))
  end)

  it("stays flat while creating and discarding 20000 small networks", function()
    -- a full collection now and then keeps the number of dead objects
    -- awaiting collection (and any table anchoring them) bounded, so that
    -- only what is really kept shows
    local function churn(n)
      for i = 1, n do
        if i % 200 == 0 then collectgarbage("collect") end
        local net = nerve.mlp{ 3, 5, 2 }
        local c = net:clone()
        c:forward(nerve.matrix{ { 1, 2, 3 } })
        local opt = nerve.sgd(c, { lr = 0.1, momentum = 0.9 })
        opt:step()
        if i % 10 == 0 then nerve.deserialize(net:serialize()) end
      end
    end
    churn(2000)
    local start = kb()
    churn(20000)
    local stop = kb()
    assert.is_true(stop - start < MARGIN,
      string.format("grew from %.0f KiB to %.0f KiB", start, stop))
  end)

  it("stays flat while matrices and views come and go", function()
    local start = kb()
    for i = 1, 20000 do
      if i % 200 == 0 then collectgarbage("collect") end
      local m = nerve.matrix(8, 8, 1)
      local v = m:sub(2, 5, 2, 5)
      v:fill(2)
      m:copy()
    end
    local stop = kb()
    assert.is_true(stop - start < MARGIN,
      string.format("grew from %.0f KiB to %.0f KiB", start, stop))
  end)

  it("keeps an optimizer working after its network is collected", function()
    local net = nerve.mlp{ 3, 4, 2 }
    local sgd = nerve.sgd(net, { lr = 0.1, momentum = 0.5 })
    local adam = nerve.adam(net, {})
    net = nil
    collectgarbage("collect")
    collectgarbage("collect")
    sgd:step()
    adam:step()
    assert.is_nil(net)
  end)

  it("counts a large matrix in collectgarbage('count')", function()
    local start = kb()
    local m = nerve.matrix(1000, 1000)
    local held = kb()
    assert.is_true(held - start >= 3900,
      string.format("a 4 MB matrix shows as %.0f KiB", held - start))
    m = nil
    local stop = kb()
    assert.is_true(stop - start < MARGIN, "the matrix was not given back")
  end)

  it("counts a large network in collectgarbage('count')", function()
    local start = kb()
    local net = nerve.mlp{ 1000, 1000, 10 }
    local held = kb()
    assert.is_true(held - start >= 3900,
      string.format("a network of 4 MB of weights shows as %.0f KiB", held - start))
    net = nil
    local stop = kb()
    assert.is_true(stop - start < MARGIN, "the network was not given back")
  end)

  it("supports <close> on networks", function()
    local start = kb()
    do
      local net <close> = nerve.mlp{ 1000, 1000, 10 }
      assert.are.equal(4, #net)
    end
    assert.is_true(kb() - start < MARGIN)
  end)
end)
