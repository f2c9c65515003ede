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
