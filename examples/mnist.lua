-- MNIST, 10,000 digits: an MLP trained on the first 8,000, tested on the
-- last 2,000.
--
--   make mnist-data                  # fills data/mnist-10k (once)
--   ./nerve examples/mnist.lua [FOLDER] [--threads N] [--epochs N] [--seed N]
--                              [--bf16]
--
-- FOLDER holds images-idx3-ubyte(.gz) and labels-idx1-ubyte(.gz); the
-- default is data/mnist-10k. The recipe: every training digit also moved
-- one pixel in each of 8 directions (nerve.data.shift; 72,000 rows), a
-- 784-256-128-10 ReLU network on logits with cross-entropy, Adam with a
-- learning rate from 2e-3 decayed by nerve.schedule.cosine, batches of
-- 128, 8 epochs.
-- --bf16 trains with bfloat16 matrix products (net:precision).

local nerve = require "nerve"

local folder, threads, epochs, seed = "data/mnist-10k", 1, 8, 1
local precision = "fp32"
local i = 1
while i <= #arg do
  local a = arg[i]
  if a == "--bf16" then
    precision = "bf16"
    i = i + 1
  elseif a == "--threads" or a == "--epochs" or a == "--seed" then
    local n = math.tointeger(tonumber(arg[i + 1]))
    if not n or n < 1 then
      io.stderr:write("mnist.lua: ", a, " needs a positive integer\n")
      os.exit(2)
    end
    if a == "--threads" then threads = n
    elseif a == "--epochs" then epochs = n
    else seed = n end
    i = i + 2
  else
    folder = a
    i = i + 1
  end
end

-- Finds name or name.gz in folder.
local function find(name)
  for _, p in ipairs{ folder .. "/" .. name .. ".gz", folder .. "/" .. name } do
    local f = io.open(p, "rb")
    if f then f:close(); return p end
  end
  io.stderr:write(("mnist.lua: no %s(.gz) in %s; run `make mnist-data` or "
    .. "give the folder that holds the IDX files\n"):format(name, folder))
  os.exit(1)
end

local x, y = nerve.data.mnist(find("images-idx3-ubyte"),
  find("labels-idx1-ubyte"))
if not x then
  io.stderr:write("mnist.lua: ", y, "\n")
  os.exit(1)
end
local rows = x:shape()
local x_train, y_train, x_test, y_test = nerve.data.split(x, y, 0.8)
print(("MNIST: %d digits from %s, %d for training, %d for testing"):format(
  rows, folder, (x_train:shape()), (x_test:shape())))

nerve.threads(threads)
nerve.seed(seed)
local t0 = nerve.core.clock()

-- Augmentation: the digits moved by one pixel, 8 ways.
local xs, ys = { x_train }, { y_train }
for _, d in ipairs{ { 1, 0 }, { -1, 0 }, { 0, 1 }, { 0, -1 },
    { 1, 1 }, { -1, -1 }, { 1, -1 }, { -1, 1 } } do
  xs[#xs + 1] = nerve.data.shift(x_train, 28, 28, d[1], d[2])
  ys[#ys + 1] = y_train
end
local x_aug, y_aug = nerve.data.concat(xs), nerve.data.concat(ys)

local net = nerve.mlp{ 784, 256, 128, 10, hidden = "relu", output = "linear" }
net:precision(precision)
local report = nerve.fit(net, x_aug, y_aug, {
  loss = nerve.cross_entropy(),
  optimizer = nerve.adam(net, { lr = 2e-3 }),
  -- 2e-3 at epoch 1, decaying along a half cosine towards 0
  schedule = nerve.schedule.cosine{ lr = 2e-3, epochs = epochs },
  epochs = epochs, batch = 128, seed = seed,
  on_epoch = function(state)
    print(("  epoch %d/%d  loss %.4f  %.1f s"):format(state.epoch, epochs,
      state.loss, state.seconds))
  end,
})
local seconds = nerve.core.clock() - t0

local confusion = nerve.metrics.confusion(net, x_test, y_test)
print(net)
print(("%d training rows (8 shifted copies), %d epochs, %d thread(s), "
  .. "%s: %.1f s of training"):format((x_aug:shape()), report.epochs, threads,
  precision, seconds))
print("classes are digit + 1:")
print(confusion)
print(("test accuracy: %.2f%% on %d held-out digits (goal: 97.5%% in 60 s)")
  :format(100 * confusion:accuracy(), (x_test:shape())))
