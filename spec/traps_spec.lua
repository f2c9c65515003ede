-- Traps a user falls into at the REPL: each was silent or misleading.
local nerve = require "nerve"

local function xor()
  local x = nerve.matrix{ { 0, 0 }, { 0, 1 }, { 1, 0 }, { 1, 1 } }
  local y = nerve.matrix{ { 0 }, { 1 }, { 1 }, { 0 } }
  return x, y
end

local function fails(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok, "expected an error")
  return tostring(err)
end

describe("an optimizer made for another network", function()
  local x, y = xor()

  it("is refused by fit, which names the problem", function()
    local net, other = nerve.mlp{ 2, 3, 1 }, nerve.mlp{ 2, 3, 1 }
    local err = fails(nerve.fit, net, x, y,
      { epochs = 5, optimizer = nerve.adam(other) })
    assert.matches("nerve.fit: the optimizer belongs to another network", err,
      1, true)
  end)

  it("is refused on every path of fit, and by the trainer", function()
    local net, other = nerve.mlp{ 2, 3, 1 }, nerve.mlp{ 2, 3, 1 }
    for _, opts in ipairs{
      { epochs = 2, optimizer = nerve.sgd(other) },              -- all in C
      { epochs = 2, optimizer = nerve.rprop(other), on_epoch = function() end },
      { epochs = 2, optimizer = nerve.adamw(other), loss = {     -- generic
        forward = function() return 0 end,
        backward = function(_, yhat) return yhat:copy():fill(0) end } },
    } do
      assert.matches("belongs to another network",
        fails(nerve.fit, net, x, y, opts))
    end
    assert.matches("belongs to another network", fails(nerve.trainer, net, x, y,
      { optimizer = nerve.adam(other) }))
  end)

  it("is refused by the core training calls themselves", function()
    local net, other = nerve.mlp{ 2, 3, 1 }, nerve.mlp{ 2, 3, 1 }
    assert.matches("belongs to another network", fails(nerve.core.train_batch,
      net, "mse", x, y, nil, 1, 4, nerve.sgd(other)))
    assert.matches("belongs to another network", fails(nerve.core.train_epochs,
      net, "mse", x, y, nil, false, 4, nerve.sgd(other), nil, 1, 1, {}))
  end)

  it("is refused by a Lua optimizer that names its network", function()
    local net, other = nerve.mlp{ 2, 3, 1 }, nerve.mlp{ 2, 3, 1 }
    local lua_opt = { net = other, step = function() end }
    assert.matches("belongs to another network",
      fails(nerve.fit, net, x, y, { epochs = 1, optimizer = lua_opt }))
  end)

  it("is refused by checkpoints", function()
    local net, other = nerve.mlp{ 2, 3, 1 }, nerve.mlp{ 2, 3, 1 }
    assert.matches("belongs to another network", fails(nerve.checkpoint.bytes,
      { net = net, optimizer = nerve.adam(other) }))
    local ck = nerve.checkpoint.parse(nerve.checkpoint.bytes{ net = net,
      optimizer = nerve.adam(net) })
    assert.matches("belongs to another network", fails(ck.restore, ck,
      { net = net, optimizer = nerve.adam(other) }))
  end)

  it("tells its network, and fit trains with the right one", function()
    local net = nerve.mlp{ 2, 3, 1 }
    local opt = nerve.adam(net)
    assert.is_true(rawequal(net, opt.net))
    local before = net:parameters()[1]:copy()
    nerve.fit(net, x, y, { epochs = 3, optimizer = opt })
    assert.is_false(before:totable()[1][1] == net:parameters()[1]:get(1, 1))
  end)
end)

describe("net:predict", function()
  it("returns a matrix of its own: a later call leaves it alone", function()
    nerve.seed(3)
    local net = nerve.mlp{ 2, 3, 1 }
    local a, b = nerve.matrix{ { 0, 0 } }, nerve.matrix{ { 1, 1 } }
    local p = net:predict(a)
    local p_value = p:get(1, 1)
    local q = net:predict(b)
    assert.are.equal(p_value, p:get(1, 1))
    assert.are_not.equal(p:get(1, 1), q:get(1, 1))
    net:forward(b)
    net:forward(nerve.matrix(300, 2, 0.5)) -- grows the network's buffers
    assert.are.equal(p_value, p:get(1, 1))
    -- writing the result does not write the network's buffer
    local f = net:forward(a)
    local before = f:totable()
    net:predict(a):fill(7)
    assert.are.same(before, f:totable())
  end)

  it("keeps forward's contract: forward returns the network's buffer", function()
    local net = nerve.mlp{ 2, 3, 1 }
    local o = net:forward(nerve.matrix{ { 0, 0 } })
    local first = o:get(1, 1)
    net:forward(nerve.matrix{ { 5, -5 } })
    assert.are_not.equal(first, o:get(1, 1))
  end)
end)
