-- Fisher's iris: 4 measurements -> 3 species. A 4-16-3 ReLU network with
-- cross-entropy on logits, trained on 120 flowers, tested on the other 30,
-- with early stopping on the held-out loss. docs/tutorial.md section 3 is
-- this program.
-- Run: ./nerve examples/iris.lua [path/to/iris.csv]
local nerve = require "nerve"

local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local path = arg and arg[1] or here .. "/data/iris.csv"

-- The file: a header "150,4,setosa,versicolor,virginica", then rows of
-- four measurements and a class index 0..2; it is ordered by class, so
-- the split shuffles (seed 1).
nerve.seed(7)
local x, y = assert(nerve.data.csv(path, { header = true }))
for i = 1, #y do y:set(i, 1, y:get(i, 1) + 1) end  -- classes 1..3
local x_train, y_train, x_test, y_test = nerve.data.split(x, y, 0.8, 1)
local stats
x_train, stats = nerve.data.standardize(x_train)  -- zero mean, unit variance
x_test = nerve.data.standardize(x_test, stats)    -- with the training stats

local net = nerve.mlp{ 4, 16, 3, hidden = "relu", output = "linear" }
print(net)
local report = nerve.fit(net, x_train, y_train, {
  loss = nerve.cross_entropy(),
  optimizer = nerve.adam(net, { lr = 0.01 }),
  epochs = 200, batch = 16,
  validation = { x_test, y_test },
  stop = nerve.stop.early{ patience = 20, restore = true },
})
print(report)
print(string.format("held-out accuracy: %.1f%% (%d flowers)",
  100 * nerve.accuracy(net, x_test, y_test), #x_test))
