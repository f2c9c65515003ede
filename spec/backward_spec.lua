local nerve = require "nerve"
local ref = dofile("spec/helpers/ref.lua")

describe("net:backward(x, g, false)", function()
  local function grads(net)
    local t = {}
    for i, m in ipairs(net:gradients()) do t[i] = m:totable() end
    return t
  end

  for _, rows in ipairs{ 1, 300 } do
    it("adds the same gradients and returns no dE/dx (batch " .. rows .. ")", function()
      nerve.seed(6)
      local net = nerve.mlp{ 64, 128, 32, 4, hidden = "tanh" }
      local x = nerve.matrix(ref.random_rows(ref.rng(rows), rows, 64))
      local g = net:forward(x):copy():fill(0.25)
      net:zero_grad()
      local dx = net:backward(x, g):copy()
      assert.are.equal(rows, dx:shape())
      local want = grads(net)
      net:zero_grad()
      assert.are.equal(0, select("#", net:backward(x, g, false)))
      local got = grads(net)
      for i = 1, #want do assert.is_true(ref.same(want[i], got[i]), "gradient " .. i) end
      -- true and nil still return dE/dx
      assert.is_true(ref.same(dx, net:backward(x, g, true)))
    end)
  end

  it("skips dE/dx also when the network starts with an activation", function()
    nerve.seed(2)
    local net = nerve.sequential{ nerve.tanh(), nerve.linear(8, 3), nerve.sigmoid() }
    local x = nerve.matrix(ref.random_rows(ref.rng(1), 5, 8))
    local g = net:forward(x):copy():fill(1)
    net:zero_grad()
    net:backward(x, g)
    local want = grads(net)
    net:zero_grad()
    net:backward(x, g, false)
    assert.is_true(ref.same(want[1], grads(net)[1]))
  end)
end)
