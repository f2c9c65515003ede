local nerve = require "nerve"

local X = { { 0, 0 }, { 0, 1 }, { 1, 0 }, { 1, 1 } }
local Y = { { 0 }, { 1 }, { 1 }, { 0 } }

describe("XOR", function()
  it("is learned on at least 8 of 10 seeds by a hand-written loop", function()
    local x, y = nerve.matrix(X), nerve.matrix(Y)
    local loss = nerve.mse()
    local learned, report = 0, {}
    for seed = 1, 10 do
      nerve.seed(seed)
      local net = nerve.mlp{ 2, 4, 1 }
      local opt = nerve.sgd(net, { lr = 0.5, momentum = 0.9 })
      local e = math.huge
      for _ = 1, 5000 do
        net:zero_grad()
        local out = net:forward(x)
        e = loss:forward(out, y)
        if e < 0.01 then break end
        net:backward(x, loss:backward(out, y))
        opt:step()
      end
      report[#report + 1] = string.format("%d: %.4g", seed, e)
      if e < 0.01 then learned = learned + 1 end
    end
    assert.is_true(learned >= 8, "learned on " .. learned .. " seeds: " .. table.concat(report, ", "))
  end)

  it("is learned on at least 8 of 10 seeds with plain update", function()
    local x, y = nerve.matrix(X), nerve.matrix(Y)
    local loss = nerve.mse()
    local learned, report = 0, {}
    for seed = 11, 20 do
      nerve.seed(seed)
      local net = nerve.mlp{ 2, 4, 1, hidden = "tanh" }
      local e = math.huge
      for _ = 1, 10000 do
        net:zero_grad()
        local out = net:forward(x)
        e = loss:forward(out, y)
        if e < 0.01 then break end
        net:backward(x, loss:backward(out, y))
        net:update(2)
      end
      report[#report + 1] = string.format("%d: %.4g", seed, e)
      if e < 0.01 then learned = learned + 1 end
    end
    assert.is_true(learned >= 8, "learned on " .. learned .. " seeds: " .. table.concat(report, ", "))
  end)

  it("is learned on at least 8 of 10 seeds with nerve.fit", function()
    local x, y = nerve.matrix(X), nerve.matrix(Y)
    local learned, report = 0, {}
    for seed = 21, 30 do
      nerve.seed(seed)
      local net = nerve.mlp{ 2, 4, 1, hidden = "tanh" }
      local r = nerve.fit(net, x, y, {
        optimizer = nerve.sgd(net, { lr = 0.5, momentum = 0.9 }),
        batch = 4, epochs = 5000, seed = seed,
        stop = nerve.stop.loss_below(0.005),
      })
      local e = nerve.mse():forward(net:forward(x), y)
      report[#report + 1] = string.format("%d: %.4g", seed, e)
      if e < 0.01 then learned = learned + 1 end
      assert.is_number(r.epochs)
    end
    assert.is_true(learned >= 8, "learned on " .. learned .. " seeds: " .. table.concat(report, ", "))
  end)
end)
