--- nerve.data: data sets from files and the usual row operations.
--
-- The loaders parse in C, streaming the file (gzip or plain), and return
-- matrices; a file that is missing, unreadable or not in the expected
-- format gives nil, message (the message names the file, the line or byte
-- and what was expected), like io.open. Wrong arguments raise.
-- Class labels are 1-based indices in a B x 1 matrix, as cross_entropy and
-- nerve.accuracy take them.

local core = require "nerve.core"

local type, error, ipairs = type, error, ipairs
local table_unpack = table.unpack
local format = string.format
local mtype, floor = math.type, math.floor
local checkopts = require("nerve.options").check
local describe = require("nerve.options").describe
local plural = require("nerve.options").plural
local _ENV = nil

local M = {}

local function fail(fn, fmt, ...)
  error("nerve.data." .. fn .. ": " .. format(fmt, ...), 3)
end

-- fail for the checkers the public functions call: one frame deeper, so
-- the message still points at the user's line.
local function fail_in(fn, fmt, ...)
  error("nerve.data." .. fn .. ": " .. format(fmt, ...), 4)
end

local function checkpath(fn, path, n)
  if type(path) ~= "string" then
    fail_in(fn, "argument %d must be a file name, got %s", n, describe(path))
  end
end

local function checkmatrix(fn, m, what)
  if not core.is_matrix(m) then
    fail_in(fn, "%s must be a matrix, got %s", what, describe(m))
  end
end

-- ------------------------------------------------------------- loaders

local csv_opts = { header = true, target = true, sep = true }

--- nerve.data.csv(path [, opts]) -> x, y: a numeric CSV file.
-- opts.header (false): skip the first line; opts.target (1): trailing
-- columns that form y (0: y is nil); opts.sep (","): the separator, one
-- character (" " or "\t" make runs of blanks one separator).
function M.csv(path, opts)
  checkpath("csv", path, 1)
  opts = checkopts("nerve.data.csv", opts, csv_opts)
  local header, target, sep = opts.header, opts.target, opts.sep
  if header == nil then header = false end
  if type(header) ~= "boolean" then
    fail("csv", "option 'header' must be a boolean, got %s", describe(header))
  end
  if target == nil then target = 1 end
  if mtype(target) ~= "integer" or target < 0 or target > 65535 then
    if not (mtype(target) == "float" and target == floor(target)
        and target >= 0 and target <= 65535) then
      fail("csv", "option 'target' must be an integer >= 0, got %s",
        describe(target))
    end
    target = floor(target)
  end
  if sep == nil then sep = "," end
  if type(sep) ~= "string" or #sep ~= 1 or sep:find("[%d%.%+%-\n]") then
    fail("csv", "option 'sep' must be one character that cannot be part of a "
      .. "number, got %s", type(sep) == "string" and "'" .. sep .. "'"
      or describe(sep))
  end
  return core.data_csv(path, header, target, sep)
end

--- nerve.data.fann(path) -> x, y: a FANN training-data file
-- ("count n_in n_out", then each sample's inputs and outputs).
function M.fann(path)
  checkpath("fann", path, 1)
  return core.data_fann(path)
end

--- nerve.data.idx(path) -> m, dims: an IDX file (plain or gzip), one row
-- per item of the first dimension, raw values; dims lists the file's
-- dimensions ({10000, 28, 28} for MNIST images).
function M.idx(path)
  checkpath("idx", path, 1)
  return core.data_idx(path)
end

--- nerve.data.mnist(images, labels) -> x, y: MNIST IDX files (plain or
-- gzip); x is B x 784 scaled to [0, 1], y is B x 1 with classes 1..10
-- (digit + 1).
function M.mnist(images, labels)
  checkpath("mnist", images, 1)
  checkpath("mnist", labels, 2)
  return core.data_mnist(images, labels)
end

-- ---------------------------------------------------------- row helpers

local function rows_of(fn, y, what)
  if core.is_matrix(y) then return (y:shape()) end
  if type(y) == "table" then return #y end
  fail_in(fn, "%s must be a matrix or a table, got %s", what, describe(y))
end

-- Entries first..first+count-1 of a Lua array, through perm when given.
local function slice(t, perm, first, count)
  local out = {}
  for k = 1, count do
    local i = first + k - 1
    out[k] = t[perm and perm:get(i) or i]
  end
  return out
end

local function part(m, perm, first, count)
  if m == nil then return nil end
  if core.is_matrix(m) then return core.data_take(m, perm, first, count) end
  return slice(m, perm, first, count)
end

--- nerve.data.split(x, y, fraction [, seed]) -> x_train, y_train, x_test,
-- y_test. The first part holds round(fraction * rows) rows: the first rows
-- in order, or a shuffled choice when seed is given. y may be a matrix, a
-- Lua array or nil. Both parts must get at least one row.
function M.split(x, y, fraction, seed)
  checkmatrix("split", x, "x")
  local n = x:shape()
  if y ~= nil then
    local ny = rows_of("split", y, "y")
    if ny ~= n then fail("split", "y has %s, x has %d", plural(ny, "row"), n) end
  end
  if type(fraction) ~= "number" or not (fraction > 0 and fraction < 1) then
    fail("split", "fraction must be a number between 0 and 1, got %s",
      describe(fraction))
  end
  local first = floor(fraction * n + 0.5)
  if first < 1 or first > n - 1 then
    fail("split", "fraction %g of %s leaves a part empty", fraction,
      plural(n, "row"))
  end
  local perm
  if seed ~= nil then
    if mtype(seed) ~= "integer" then
      if not (mtype(seed) == "float" and seed == floor(seed)) then
        fail("split", "seed must be an integer, got %s", describe(seed))
      end
      seed = floor(seed)
    end
    perm = core.perm(n):shuffle(core.rng(seed))
  end
  return part(x, perm, 1, first), part(y, perm, 1, first),
    part(x, perm, first + 1, n - first), part(y, perm, first + 1, n - first)
end

local function stats_matrix(v, cols, what)
  if type(v) == "table" and not core.is_matrix(v) then
    if #v ~= cols then
      fail_in("standardize", "stats.%s has %s, x has %s", what,
        plural(#v, "number"), plural(cols, "column"))
    end
    for i = 1, cols do
      if type(v[i]) ~= "number" then
        fail_in("standardize", "stats.%s[%d] must be a number, got %s", what, i,
          describe(v[i]))
      end
    end
    return core.matrix(v)
  end
  if not core.is_matrix(v) then
    fail_in("standardize", "stats.%s must be a matrix or a table of numbers, "
      .. "got %s", what, describe(v))
  end
  return v
end

--- nerve.data.standardize(x [, stats]) -> x2, stats: x2 is a copy of x
-- with zero mean and unit (population) variance per column; a constant
-- column becomes 0. stats = {mean = 1 x C matrix, std = 1 x C matrix}
-- (computed from x when not given); pass the training set's stats to
-- scale a test set the same way.
function M.standardize(x, stats)
  checkmatrix("standardize", x, "x")
  local _, cols = x:shape()
  if stats == nil then
    local mean, std = core.data_stats(x)
    stats = { mean = mean, std = std }
  elseif type(stats) ~= "table" then
    fail("standardize", "stats must be a table {mean = ..., std = ...}, "
      .. "got %s", describe(stats))
  end
  local mean = stats_matrix(stats.mean, cols, "mean")
  local std = stats_matrix(stats.std, cols, "std")
  return core.data_standardize(x, mean, std), stats
end

--- nerve.data.one_hot(y, classes) -> B x classes matrix from class indices
-- 1..classes (a B x 1 matrix or a Lua array).
function M.one_hot(y, classes)
  if type(y) == "table" and not core.is_matrix(y) then
    if #y < 1 then fail("one_hot", "y is an empty table") end
    local m = core.matrix(#y, 1)
    for i = 1, #y do
      if type(y[i]) ~= "number" then
        fail("one_hot", "y[%d] must be a number, got %s", i, describe(y[i]))
      end
      m:set(i, 1, y[i])
    end
    y = m
  end
  checkmatrix("one_hot", y, "y")
  if mtype(classes) ~= "integer" or classes < 1 then
    fail("one_hot", "classes must be an integer >= 1, got %s",
      describe(classes))
  end
  return core.data_one_hot(y, classes)
end

--- nerve.data.shift(x, width, height, dx, dy) -> a copy of x whose rows,
-- read as width x height images (row-major), are moved dx pixels right and
-- dy down (negative: left, up), zeros filling in: data augmentation for
-- images such as MNIST's 28 x 28 digits.
function M.shift(x, width, height, dx, dy)
  checkmatrix("shift", x, "x")
  for i, v in ipairs{ width, height, dx, dy } do
    if mtype(v) ~= "integer" then
      fail("shift", "argument %d must be an integer, got %s", i + 1,
        describe(v))
    end
  end
  return core.data_shift(x, width, height, dx, dy)
end

--- nerve.data.concat{ m1, m2, ... } -> a new matrix with the rows of every
-- matrix in order (all with the same number of columns).
function M.concat(list)
  if type(list) ~= "table" or core.is_matrix(list) or #list < 1 then
    fail("concat", "expected a table of matrices, got %s", describe(list))
  end
  for i = 1, #list do
    if not core.is_matrix(list[i]) then
      fail("concat", "entry %d must be a matrix, got %s", i, describe(list[i]))
    end
  end
  return core.data_concat(table_unpack(list))
end

return M
