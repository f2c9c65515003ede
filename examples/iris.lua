-- Fisher's iris: 4 measurements -> 3 species. A 4-16-3 tanh network with
-- cross-entropy on logits, trained on 120 flowers, tested on the other 30.
-- Run: ./nerve examples/iris.lua [path/to/iris.csv]
local nerve = require "nerve"

local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local path = arg and arg[1] or here .. "/data/iris.csv"

-- The file: a header "150,4,setosa,versicolor,virginica", then rows of
-- four measurements and a class index 0..2.
local rows = {}
local f = assert(io.open(path))
f:read("l")
for line in f:lines() do
  local r = {}
  for v in line:gmatch("[^,]+") do r[#r + 1] = tonumber(v) end
  if #r == 5 then rows[#rows + 1] = r end
end
f:close()

-- A fixed shuffle (the file is ordered by class), then 120 / 30.
nerve.seed(7)
local rng = math.random
math.randomseed(7)
for i = #rows, 2, -1 do
  local j = rng(i)
  rows[i], rows[j] = rows[j], rows[i]
end

local function matrices(first, last)
  local x, y = nerve.matrix(last - first + 1, 4), nerve.matrix(last - first + 1, 1)
  for i = first, last do
    for j = 1, 4 do x:set(i - first + 1, j, rows[i][j]) end
    y:set(i - first + 1, 1, rows[i][5] + 1)      -- classes 1..3
  end
  return x, y
end
local x_train, y_train = matrices(1, 120)
local x_test, y_test = matrices(121, #rows)

-- Standardize with the training set's mean and deviation.
local function standardize(x, stats)
  local n, m = x:shape()
  if not stats then
    stats = {}
    for j = 1, m do
      local s, s2 = 0, 0
      for i = 1, n do s = s + x:get(i, j); s2 = s2 + x:get(i, j) ^ 2 end
      local mean = s / n
      stats[j] = { mean, math.sqrt(s2 / n - mean * mean) }
    end
  end
  for i = 1, n do
    for j = 1, m do x:set(i, j, (x:get(i, j) - stats[j][1]) / stats[j][2]) end
  end
  return stats
end
local stats = standardize(x_train)
standardize(x_test, stats)

local net = nerve.mlp{ 4, 16, 3, hidden = "tanh", output = "linear" }
print(net)
local report = nerve.fit(net, x_train, y_train, {
  loss = nerve.cross_entropy(),
  optimizer = nerve.adam(net, { lr = 0.01 }),
  batch = 16,
  epochs = 300,
  seed = 1,
  validation = { x_test, y_test },
  stop = nerve.stop.loss_below(0.02),
})
print(string.format("trained %d epochs (%s): training loss %.4f, held-out loss %.4f",
  report.epochs, report.stopped, report.loss, report.val_history[#report.val_history]))

local function accuracy(x, y)
  local out, right = net:forward(x), 0
  local n = #out
  for i = 1, n do
    local best = 1
    for j = 2, 3 do if out:get(i, j) > out:get(i, best) then best = j end end
    if best == y:get(i, 1) then right = right + 1 end
  end
  return right / n
end
print(string.format("held-out accuracy: %.1f%% (%d flowers)",
  100 * accuracy(x_test, y_test), #x_test))
