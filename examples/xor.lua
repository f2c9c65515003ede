-- XOR with the seed's network: a 2-2-1... here 2-4-1 sigmoid MLP trained by
-- gradient descent on E = 1/(2N) sum (yhat - y)^2, printing the loss as it
-- converges.  Run: ./nerve examples/xor.lua
local nerve = require "nerve"

nerve.seed(1)
local x = nerve.matrix{ {0, 0}, {0, 1}, {1, 0}, {1, 1} }
local y = nerve.matrix{ {0}, {1}, {1}, {0} }
local net = nerve.mlp{ 2, 4, 1 }           -- sigmoid hidden and output
print(net)

local report = nerve.fit(net, x, y, {
  optimizer = nerve.sgd(net, { lr = 2, momentum = 0.9 }),
  batch = 4,
  epochs = 5000,
  stop = nerve.stop.loss_below(1e-3),
  on_epoch = function(state)
    if state.epoch == 1 or state.epoch % 25 == 0 then
      print(string.format("epoch %5d  loss %.6f", state.epoch, state.loss))
    end
  end,
})
print(string.format("stopped after %d epochs (%s), loss %.6f",
  report.epochs, report.stopped, report.loss))

local out = net:forward(x)
for i = 1, 4 do
  print(string.format("%g xor %g = %.3f", x:get(i, 1), x:get(i, 2), out:get(i, 1)))
end
