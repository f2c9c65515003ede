local nerve = require "nerve"
local metrics = nerve.metrics

local function fails(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok)
  return tostring(err)
end

-- A network whose output is its input, so x holds the predictions.
local function echo() return nerve.sequential{ nerve.identity() } end

local pred = nerve.matrix{
  { 0.9, 0.1, 0.0 }, -- predicted 1
  { 0.2, 0.7, 0.1 }, -- 2
  { 0.1, 0.2, 0.6 }, -- 3
  { 0.5, 0.4, 0.1 }, -- 1
  { 0.0, 0.3, 0.8 }, -- 3
}
local classes = nerve.matrix{ { 1 }, { 2 }, { 3 }, { 2 }, { 2 } }

describe("metrics.accuracy", function()
  it("is the fraction of rows whose largest output is the class", function()
    assert.are.equal(3 / 5, metrics.accuracy(echo(), pred, classes))
  end)

  it("agrees with nerve.accuracy and takes one-hot rows and arrays", function()
    local net = echo()
    assert.are.equal(nerve.accuracy(net, pred, classes),
      metrics.accuracy(net, pred, nerve.data.one_hot(classes, 3)))
    assert.are.equal(3 / 5, metrics.accuracy(net, pred, { 1, 2, 3, 2, 2 }))
  end)
end)

describe("metrics.confusion", function()
  local c = metrics.confusion(echo(), pred, classes)

  it("counts true classes against predicted ones", function()
    assert.are.equal(3, c.classes)
    assert.are.equal(5, c.total)
    assert.are.same({ { 1, 0, 0 }, { 1, 1, 1 }, { 0, 0, 1 } }, c.counts)
  end)

  it("gives accuracy, recall and precision", function()
    assert.are.equal(3 / 5, c:accuracy())
    assert.are.equal(1, c:recall(1))
    assert.are.equal(1 / 3, c:recall(2))
    assert.are.equal(1 / 2, c:precision(1))
    assert.are.equal(1, c:precision(2))
    assert.are.equal(1 / 2, c:precision(3))
  end)

  it("gives zero for a class that never occurs", function()
    local c2 = metrics.confusion(echo(), nerve.matrix{ { 1, 0 } },
      nerve.matrix{ { 1 } })
    assert.are.equal(0, c2:recall(2))
    assert.are.equal(0, c2:precision(2))
  end)

  it("prints a readable table", function()
    local s = tostring(c)
    assert.truthy(s:find("nerve.Confusion(3 classes, 5 rows, accuracy 60.00%)",
      1, true))
    assert.truthy(s:find("rows: true class, columns: predicted class", 1, true))
    assert.truthy(s:find("\n  2   1   1   1    33.3%", 1, true), s)
    assert.truthy(s:find("\n  1   1   0   0   100.0%", 1, true), s)
  end)

  it("takes one-hot targets", function()
    local c2 = metrics.confusion(echo(), pred, nerve.data.one_hot(classes, 3))
    assert.are.same(c.counts, c2.counts)
  end)

  it("raises for targets that do not fit", function()
    assert.truthy(fails(metrics.confusion, echo(), pred, nerve.matrix(4, 1, 1))
      :find("x has 5 rows, y has 4", 1, true))
    assert.truthy(fails(metrics.confusion, echo(), pred, nerve.matrix(5, 1, 4))
      :find("class indices 1..", 1, true))
    assert.truthy(fails(metrics.confusion, echo(), pred, nerve.matrix(5, 2))
      :find("does not fit", 1, true))
    assert.truthy(fails(metrics.confusion, nerve.mlp{ 2, 3 }, pred, classes)
      :find("x has 3 columns, the network expects 2", 1, true))
    assert.truthy(fails(c.recall, c, 4):find("class must be an integer 1..3", 1, true))
    assert.truthy(fails(c.precision, c, "a"):find("class must be", 1, true))
  end)

  it("raises for a non-network and a non-matrix", function()
    assert.truthy(fails(metrics.confusion, {}, pred, classes)
      :find("expected a network", 1, true))
    assert.truthy(fails(metrics.confusion, echo(), "x", classes)
      :find("x must be a matrix", 1, true))
    assert.truthy(fails(metrics.confusion, echo(), pred, 3)
      :find("y must be a matrix or a table", 1, true))
  end)
end)

describe("metrics.mse", function()
  it("is FANN's: squared errors over rows * outputs, without a half", function()
    local x = nerve.matrix{ { 0.5, 1 }, { 0, 0.25 } }
    local y = nerve.matrix{ { 0, 1 }, { 1, 0 } }
    local want = (0.25 + 0 + 1 + 0.0625) / 4
    assert.is_true(math.abs(metrics.mse(echo(), x, y) - want) < 1e-7)
  end)

  it("is the mse loss times 2 / outputs (the loss halves, per row)", function()
    nerve.seed(4)
    local net = nerve.mlp{ 3, 4, 2 }
    local x = nerve.matrix{ { 1, 2, 3 }, { -1, 0, 1 }, { 0.5, 0.5, 0 } }
    local y = nerve.matrix{ { 0, 1 }, { 1, 1 }, { 0.5, 0 } }
    local loss = nerve.mse():forward(net:forward(x), y) -- 1/(2B) sum
    local outputs = 2
    assert.is_true(math.abs(metrics.mse(net, x, y) - loss * 2 / outputs) < 1e-6)
  end)

  it("raises for a shape mismatch and NaN targets", function()
    assert.truthy(fails(metrics.mse, echo(), nerve.matrix(2, 2), nerve.matrix(2, 3))
      :find("does not fit", 1, true))
    assert.truthy(fails(metrics.mse, echo(), nerve.matrix(1, 1), nerve.matrix{ { 0 / 0 } })
      :find("NaN", 1, true))
  end)
end)

describe("metrics.bit_fail", function()
  local x = nerve.matrix{ { 0.35, 0.2 }, { 0.9, 0.5 } }
  local y = nerve.matrix{ { 0, 0 }, { 0, 1 } }

  it("counts outputs whose |error| reaches the limit 0.35, as FANN", function()
    -- errors 0.35 (counts: FANN uses >=), 0.2, 0.9, 0.5
    assert.are.equal(3, metrics.bit_fail(echo(), x, y))
  end)

  it("takes another limit", function()
    assert.are.equal(2, metrics.bit_fail(echo(), x, y, 0.5))
    assert.are.equal(0, metrics.bit_fail(echo(), x, y, 1))
    assert.are.equal(4, metrics.bit_fail(echo(), x, y, 0))
  end)

  it("raises for a bad limit", function()
    assert.truthy(fails(metrics.bit_fail, echo(), x, y, -1)
      :find("limit must be a number >= 0", 1, true))
    assert.truthy(fails(metrics.bit_fail, echo(), x, y, "a")
      :find("limit must be", 1, true))
  end)
end)

describe("fit with a validation metric", function()
  local function data()
    local x = nerve.matrix{ { 0, 0 }, { 0, 1 }, { 1, 0 }, { 1, 1 } }
    local y = nerve.matrix{ { 1 }, { 2 }, { 2 }, { 1 } }
    return x, y
  end

  it("reports the named metric every epoch", function()
    nerve.seed(1)
    local x, y = data()
    local net = nerve.mlp{ 2, 8, 2, hidden = "tanh", output = "linear" }
    local seen = {}
    local report = nerve.fit(net, x, y, {
      loss = nerve.cross_entropy(), epochs = 6, batch = 4,
      optimizer = nerve.adam(net, { lr = 0.05 }),
      validation = { x, y }, metric = "accuracy",
      on_epoch = function(state) seen[state.epoch] = state.val_metric end,
    })
    assert.are.equal(6, #report.val_metric_history)
    assert.are.same(seen, report.val_metric_history)
    assert.are.equal(report.val_metric_history[6], report.val_metric)
    assert.are.equal(nerve.accuracy(net, x, y), report.val_metric)
  end)

  it("calls a metric function with the network and validation set", function()
    nerve.seed(1)
    local x, y = data()
    local net = nerve.mlp{ 2, 3, 2, output = "linear" }
    local calls = 0
    local report = nerve.fit(net, x, y, {
      loss = nerve.cross_entropy(), epochs = 3, validation = { x, y },
      metric = function(n, xv, yv)
        calls = calls + 1
        assert.are.equal(net, n)
        assert.are.equal(x, xv)
        return 10 * calls
      end,
    })
    assert.are.same({ 10, 20, 30 }, report.val_metric_history)
  end)

  it("lets early stopping watch the metric, larger being better", function()
    nerve.seed(1)
    local x, y = data()
    local net = nerve.mlp{ 2, 3, 2, output = "linear" }
    local values = { 0.5, 0.75, 0.7, 0.6, 0.75 }
    local k = 0
    local report = nerve.fit(net, x, y, {
      loss = nerve.cross_entropy(), epochs = 20, validation = { x, y },
      metric = function() k = k + 1; return values[k] or 0 end,
      stop = nerve.stop.early{ patience = 3, watch = "val_metric" },
    })
    assert.are.equal("early", report.stopped)
    assert.are.equal(5, report.epochs)
  end)

  it("lets early stopping watch an error metric with mode = min", function()
    local c = nerve.stop.early{ patience = 2, watch = "val_metric",
      mode = "min", restore = false }
    assert.is_false(c{ epoch = 1, val_metric = 0.5 })
    assert.is_false(c{ epoch = 2, val_metric = 0.4 })
    assert.is_false(c{ epoch = 3, val_metric = 0.45 })
    assert.is_true(c{ epoch = 4, val_metric = 0.41 })
    assert.are.equal(0.4, c.best)
    assert.are.equal(2, c.best_epoch)
  end)

  it("keeps val_loss and mode min as early's defaults", function()
    local c = nerve.stop.early{ patience = 1, restore = false }
    assert.is_false(c{ epoch = 1, val_loss = 1 })
    assert.is_true(c{ epoch = 2, val_loss = 2 })
    local m = nerve.stop.early{ patience = 1, restore = false, mode = "max" }
    assert.is_false(m{ epoch = 1, val_loss = 1 })
    assert.is_false(m{ epoch = 2, val_loss = 2 })
    assert.is_true(m{ epoch = 3, val_loss = 2 })
  end)

  it("raises for bad metric options", function()
    local x, y = data()
    local net = nerve.mlp{ 2, 3, 2, output = "linear" }
    local ce = nerve.cross_entropy()
    assert.truthy(fails(nerve.fit, net, x, y, { loss = ce, metric = "accuracy" })
      :find("needs the 'validation' option", 1, true))
    assert.truthy(fails(nerve.fit, net, x, y, { loss = ce, validation = { x, y },
      metric = "f1" }):find("unknown metric 'f1'", 1, true))
    assert.truthy(fails(nerve.fit, net, x, y, { loss = ce, validation = { x, y },
      metric = 3 }):find("option 'metric' must be", 1, true))
    assert.truthy(fails(nerve.fit, net, x, y, { loss = ce, validation = { x, y },
      stop = nerve.stop.early{ watch = "val_metric" } })
      :find("needs the 'metric' option", 1, true))
    assert.truthy(fails(nerve.fit, net, x, y, { loss = ce, validation = { x, y },
      stop = nerve.stop.any{ nerve.stop.early{ watch = "val_metric" } } })
      :find("needs the 'metric' option", 1, true))
    assert.truthy(fails(nerve.fit, net, x, y, { loss = ce, validation = { x, y },
      epochs = 1, metric = function() return "x" end })
      :find("the metric returned string", 1, true))
    assert.truthy(fails(nerve.stop.early, { watch = "loss" })
      :find("watch must be \"val_loss\" or \"val_metric\"", 1, true))
    assert.truthy(fails(nerve.stop.early, { mode = "up" })
      :find("mode must be \"min\" or \"max\"", 1, true))
  end)
end)
