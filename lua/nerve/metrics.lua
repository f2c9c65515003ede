--- nerve.metrics: how well a network does on a data set.
--
--   metrics.accuracy(net, x, y)            fraction of rows whose largest
--                                          output is the class in y
--   metrics.confusion(net, x, y)           a confusion matrix object
--   metrics.mse(net, x, y)                 FANN's MSE: sum of squared
--                                          errors / (rows * outputs)
--   metrics.bit_fail(net, x, y [, limit])  FANN's bit fail: outputs whose
--                                          |error| >= limit (0.35)
--
-- The network runs forward in chunks of rows (in C), so large sets need no
-- large buffers. Class targets are indices 1..C (a B x 1 matrix or a Lua
-- array) or one-hot rows; mse and bit_fail take y shaped like the output.

local core = require "nerve.core"

local type, error, tostring, getmetatable, setmetatable =
  type, error, tostring, getmetatable, setmetatable
local format, concat = string.format, table.concat
local max, mtype = math.max, math.type
local plural = require("nerve.options").plural
local registry = require "nerve.classes"
local _ENV = nil

local M = {}

local function describe(v)
  local mt = getmetatable(v)
  if type(mt) == "table" and type(mt.__name) == "string" then
    return mt.__name
  end
  if type(v) == "number" then return tostring(v) end
  return type(v)
end

local function fail(fn, fmt, ...)
  error("nerve.metrics." .. fn .. ": " .. format(fmt, ...), 3)
end

-- fail for the checkers the public functions call: one frame deeper, so
-- the message still points at the user's line.
local function fail_in(fn, fmt, ...)
  error("nerve.metrics." .. fn .. ": " .. format(fmt, ...), 4)
end

-- Checks net and x, and turns a Lua array or table of rows y into a matrix.
local function args(fn, net, x, y)
  if not core.is_net(net) then
    fail_in(fn, "expected a network as argument 1, got %s", describe(net))
  end
  if not core.is_matrix(x) then
    fail_in(fn, "x must be a matrix, got %s", describe(x))
  end
  if type(y) == "table" and not core.is_matrix(y) then
    if type(y[1]) == "number" then
      local m = core.matrix(#y, 1)
      for i = 1, #y do
        if type(y[i]) ~= "number" then
          fail_in(fn, "y[%d] must be a number, got %s", i, describe(y[i]))
        end
        m:set(i, 1, y[i])
      end
      y = m
    else
      y = core.matrix(y)
    end
  end
  if not core.is_matrix(y) then
    fail_in(fn, "y must be a matrix or a table, got %s", describe(y))
  end
  return y
end

--- metrics.accuracy(net, x, y) -> fraction in [0, 1] (as nerve.accuracy).
function M.accuracy(net, x, y)
  y = args("accuracy", net, x, y)
  return core.accuracy(net, x, y)
end

--- metrics.mse(net, x, y) -> FANN's mean squared error: the sum over rows
-- and outputs of (output - target)^2, divided by rows * outputs (no 1/2,
-- unlike the mse loss).
function M.mse(net, x, y)
  y = args("mse", net, x, y)
  local sse = core.metric_errors(net, x, y, 0.35)
  local rows, cols = y:shape()
  return sse / (rows * cols)
end

--- metrics.bit_fail(net, x, y [, limit = 0.35]) -> the number of outputs
-- (over all rows) whose |output - target| is at least limit: FANN's bit
-- fail (fann_update_MSE counts |diff| >= bit_fail_limit) with its default
-- limit.
function M.bit_fail(net, x, y, limit)
  y = args("bit_fail", net, x, y)
  if limit == nil then limit = 0.35 end
  if type(limit) ~= "number" or not (limit >= 0) then
    fail("bit_fail", "limit must be a number >= 0, got %s", describe(limit))
  end
  local _, fails = core.metric_errors(net, x, y, limit)
  return fails
end

-- ------------------------------------------------------------ confusion

local Confusion = {}
Confusion.__index = Confusion
Confusion.__name = "nerve.Confusion"
registry[Confusion.__name] = Confusion

--- confusion.counts[t][p]: rows of true class t predicted as p.
--- confusion.classes, confusion.total.

--- c:accuracy() -> the fraction on the diagonal.
function Confusion:accuracy()
  local right = 0
  for k = 1, self.classes do right = right + self.counts[k][k] end
  return self.total > 0 and right / self.total or 0
end

local function checkclass(self, fn, k)
  if mtype(k) ~= "integer" or k < 1 or k > self.classes then
    error(format("nerve.Confusion:%s: class must be an integer 1..%d, got %s",
      fn, self.classes, describe(k)), 3)
  end
end

--- c:recall(k) -> of the rows of class k, the fraction predicted k (0 when
-- there are none).
function Confusion:recall(k)
  checkclass(self, "recall", k)
  local row, n = self.counts[k], 0
  for p = 1, self.classes do n = n + row[p] end
  return n > 0 and row[k] / n or 0
end

--- c:precision(k) -> of the rows predicted k, the fraction of class k (0
-- when there are none).
function Confusion:precision(k)
  checkclass(self, "precision", k)
  local n = 0
  for t = 1, self.classes do n = n + self.counts[t][k] end
  return n > 0 and self.counts[k][k] / n or 0
end

--- tostring(c): a table with true classes as rows and predictions as
-- columns, each row's recall at its end.
function Confusion:__tostring()
  local c = self.classes
  local width = #tostring(self.total)
  width = max(width, #tostring(c), 3)
  local cell = "%" .. width .. "s"
  local lines = {
    format("nerve.Confusion(%s, %s, accuracy %.2f%%)", plural(c, "class", "classes"),
      plural(self.total, "row"), 100 * self:accuracy()),
    "rows: true class, columns: predicted class",
  }
  local head = { format(cell, "") }
  for p = 1, c do head[#head + 1] = format(cell, p) end
  head[#head + 1] = "  recall"
  lines[#lines + 1] = concat(head, " ")
  for t = 1, c do
    local row = { format(cell, t) }
    for p = 1, c do row[#row + 1] = format(cell, self.counts[t][p]) end
    row[#row + 1] = format("  %5.1f%%", 100 * self:recall(t))
    lines[#lines + 1] = concat(row, " ")
  end
  return concat(lines, "\n")
end

--- metrics.confusion(net, x, y) -> a nerve.Confusion over the network's
-- output classes.
function M.confusion(net, x, y)
  y = args("confusion", net, x, y)
  local counts = core.confusion(net, x, y)
  local total = 0
  for t = 1, #counts do
    for p = 1, #counts do total = total + counts[t][p] end
  end
  return setmetatable({ counts = counts, classes = #counts, total = total },
    Confusion)
end

-- Metrics fit can report by name (opts.metric); a function(net, x, y)
-- works as well.
M.by_name = {
  accuracy = M.accuracy, mse = M.mse, bit_fail = M.bit_fail,
}

return M
