local nerve = require "nerve"
local data = nerve.data

local D = "spec/data/"

local function fails(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok)
  return tostring(err)
end

-- A loader's failure: nil and a message that names the file and holds
-- every given fragment.
local function bad(loader, path, ...)
  local a, msg = loader(path)
  assert.is_nil(a)
  assert.is_string(msg)
  assert.truthy(msg:find(path, 1, true), msg)
  for _, want in ipairs{ ... } do
    assert.truthy(msg:find(want, 1, true), msg)
  end
  return msg
end

local function shape(m) return { m:shape() } end

describe("nerve.data.csv", function()
  it("reads inputs and one trailing target column after a header", function()
    local x, y = data.csv(D .. "tiny.csv", { header = true })
    assert.are.same({ 3, 2 }, shape(x))
    assert.are.same({ 3, 1 }, shape(y))
    assert.are.same({ { 1, 2 }, { 3.5, -4 }, { 0.5, 6 } }, x:totable())
    assert.are.same({ { 1 }, { 2 }, { 3 } }, y:totable())
  end)

  it("reads a gzip-compressed CSV the same way", function()
    local x1, y1 = data.csv(D .. "tiny.csv", { header = true })
    local x2, y2 = data.csv(D .. "tiny.csv.gz", { header = true })
    assert.are.same(x1:totable(), x2:totable())
    assert.are.same(y1:totable(), y2:totable())
  end)

  it("takes the number of target columns from opts.target", function()
    local x, y = data.csv(D .. "noheader.csv", { target = 2 })
    assert.are.same({ { 1, 2 }, { 3, 4 } }, x:totable())
    assert.are.same({ { 0.5, 1 }, { 0.25, 0 } }, y:totable())
  end)

  it("gives y = nil for target = 0", function()
    local x, y = data.csv(D .. "noheader.csv", { target = 0 })
    assert.are.same({ 2, 4 }, shape(x))
    assert.is_nil(y)
  end)

  it("uses opts.sep, skips blank lines and accepts CRLF", function()
    local x, y = data.csv(D .. "semicolon.csv", { sep = ";" })
    assert.are.same({ { 1, 2 }, { 4, 5 }, { 7, 8 } }, x:totable())
    assert.are.same({ { 3 }, { 6 }, { 9 } }, y:totable())
  end)

  it("treats a run of blanks as one separator when sep is a blank", function()
    local x = data.csv(D .. "spaces.csv", { sep = " ", target = 0 })
    assert.are.same({ { 1, 2, 3 }, { 4, 5, 6 }, { 7, 8, 9 } }, x:totable())
  end)

  it("reads the header line as data when header is not set", function()
    bad(data.csv, D .. "tiny.csv", ":1:", "field 1 is 'a', expected a number")
  end)

  it("returns nil and the line of a field that is not a number", function()
    bad(data.csv, D .. "bad_field.csv", ":3:", "field 2 is 'abc'",
      "expected a number")
  end)

  it("returns nil for a row with another number of fields", function()
    bad(data.csv, D .. "ragged.csv", ":4:", "2 fields, expected 3",
      "as on line 1")
  end)

  it("returns nil for an empty field, NaN and an over-long field", function()
    bad(data.csv, D .. "empty_field.csv", ":2:", "field 2 is 'nothing'")
    bad(data.csv, D .. "nan.csv", ":2:", "field 2 is 'nan'")
    bad(data.csv, D .. "long_field.csv", ":1:", "field 3 is longer than")
  end)

  it("returns nil for files without data rows", function()
    bad(data.csv, D .. "empty.csv", "no data rows")
    local x, msg = data.csv(D .. "header_only.csv", { header = true })
    assert.is_nil(x)
    assert.truthy(msg:find("no data rows", 1, true))
  end)

  it("returns nil when the targets leave no input column", function()
    bad(data.csv, D .. "onecol.csv", ":1:", "1 fields, expected more than "
      .. "the 1 target column")
  end)

  it("returns nil and the system's reason for a missing file", function()
    bad(data.csv, D .. "missing.csv", "No such file")
  end)

  it("returns nil for a folder", function()
    local x, msg = data.csv("spec/data")
    assert.is_nil(x)
    assert.truthy(msg:find("spec/data", 1, true))
  end)

  it("raises for wrong arguments and unknown options", function()
    assert.truthy(fails(data.csv, 42):find("file name", 1, true))
    assert.truthy(fails(data.csv, D .. "tiny.csv", { head = true })
      :find("unknown option 'head'", 1, true))
    assert.truthy(fails(data.csv, D .. "tiny.csv", { target = -1 })
      :find("'target' must be an integer", 1, true))
    assert.truthy(fails(data.csv, D .. "tiny.csv", { target = 1.5 })
      :find("'target' must be an integer", 1, true))
    assert.truthy(fails(data.csv, D .. "tiny.csv", { header = 1 })
      :find("'header' must be a boolean", 1, true))
    assert.truthy(fails(data.csv, D .. "tiny.csv", { sep = ";;" })
      :find("'sep' must be one character", 1, true))
    assert.truthy(fails(data.csv, D .. "tiny.csv", { sep = "." })
      :find("'sep' must be one character", 1, true))
    assert.truthy(fails(data.csv, D .. "tiny.csv", "x")
      :find("options must be a table", 1, true))
  end)
end)

describe("nerve.data.fann", function()
  it("reads a FANN training-data file", function()
    local x, y = data.fann(D .. "tiny.train")
    assert.are.same({ { 0, 1 }, { 1, 0 }, { 1, 1 } }, x:totable())
    assert.are.same({ { 1 }, { 1 }, { 0 } }, y:totable())
  end)

  it("reads several outputs", function()
    local x, y = data.fann(D .. "twoout.train")
    assert.are.same({ 2, 3 }, shape(x))
    assert.are.same({ { 1, 0 }, { 0, 1 } }, y:totable())
    assert.are.equal(0.5, ((x:get(2, 2) * 1e6 + 0.5) // 1) / 1e6)
  end)

  it("reads a gzip-compressed file the same way", function()
    local x1, y1 = data.fann(D .. "tiny.train")
    local x2, y2 = data.fann(D .. "tiny.train.gz")
    assert.are.same(x1:totable(), x2:totable())
    assert.are.same(y1:totable(), y2:totable())
  end)

  it("returns nil for a file that ends early", function()
    bad(data.fann, D .. "truncated.train", ":4:", "ends in sample 2 of 3",
      "expected output 1")
  end)

  it("returns nil for a bad header with its line", function()
    bad(data.fann, D .. "bad_header.train", ":1:", "header: 'two'",
      "the number of inputs")
    bad(data.fann, D .. "negative.train", ":1:", "header: '-3'",
      "the number of samples")
  end)

  it("returns nil for a value that is not a number, with its line", function()
    bad(data.fann, D .. "bad_value.train", ":4:", "'x', expected a number",
      "input 2 of sample 2")
  end)

  it("returns nil for numbers after the last sample", function()
    bad(data.fann, D .. "trailing.train", ":4:", "'7' after the 1 samples",
      "expected the end of the file")
  end)

  it("refuses a header beyond the limits before allocating", function()
    bad(data.fann, D .. "huge_header.train", "loader's limit")
  end)

  it("allocates as data arrives, so a lying header only fails", function()
    local before = collectgarbage("count")
    bad(data.fann, D .. "lying.train", "ends in sample 1 of 1000000")
    assert.is_true(collectgarbage("count") - before < 4096)
  end)

  it("returns nil for a missing file and raises for a non-string", function()
    bad(data.fann, D .. "missing.train", "No such file")
    assert.truthy(fails(data.fann, nil):find("file name", 1, true))
  end)
end)

describe("nerve.data.idx", function()
  local labels = { { 3 }, { 0 }, { 9 }, { 1 }, { 7 } }

  it("reads a one-dimensional file as a column", function()
    local m, dims = data.idx(D .. "labels.idx1")
    assert.are.same(labels, m:totable())
    assert.are.same({ 5 }, dims)
  end)

  it("reads items of several dimensions as rows", function()
    local m, dims = data.idx(D .. "images.idx3")
    assert.are.same({ 5, 6 }, shape(m))
    assert.are.same({ 5, 2, 3 }, dims)
    assert.are.equal(0, m:get(1, 1))
    assert.are.equal(8 * 6, m:get(2, 1))
    assert.are.equal(232, m:get(5, 6))
  end)

  it("reads gzip files to the same values", function()
    assert.are.same(data.idx(D .. "images.idx3"):totable(),
      data.idx(D .. "images.idx3.gz"):totable())
    assert.are.same(labels, data.idx(D .. "labels.idx1.gz"):totable())
  end)

  it("reads every element type, big-endian", function()
    assert.are.same({ { 1.5, -2.25 }, { 3000, 0.125 } },
      data.idx(D .. "floats.idx2"):totable())
    assert.are.same({ { -300 }, { 0 }, { 1234 } },
      data.idx(D .. "shorts.idx1"):totable())
    assert.are.same({ { 0.5 }, { -7 } }, data.idx(D .. "doubles.idx1"):totable())
    assert.are.same({ { -128 }, { 5 } }, data.idx(D .. "sbytes.idx1"):totable())
    assert.are.same({ { -70000 }, { 70000 } }, data.idx(D .. "ints.idx1"):totable())
  end)

  it("returns nil for a file that ends early, with the byte offset", function()
    bad(data.idx, D .. "truncated.idx3", "byte 33", "ends after 17 of 30 values")
    bad(data.idx, D .. "short_header.idx3", "byte 8",
      "ends inside dimension 2 of 3")
  end)

  it("returns nil for a wrong magic number or element type", function()
    bad(data.idx, D .. "bad_magic.idx1", "byte 0", "magic number 01 00 08 01")
    bad(data.idx, D .. "bad_type.idx1", "magic number 00 00 07 01")
  end)

  it("returns nil for bytes after the data", function()
    bad(data.idx, D .. "extra.idx1", "byte 13", "expected the end of the file")
  end)

  it("returns nil for a zero dimension, a huge one and NaN", function()
    bad(data.idx, D .. "zero_dim.idx2", "dimension 1 is 0")
    bad(data.idx, D .. "huge.idx3", "loader's limit")
    bad(data.idx, D .. "nan.idx1", "value 1 is not a finite number")
  end)

  it("returns nil for corrupt and truncated gzip data", function()
    bad(data.idx, D .. "corrupt.idx1.gz", "byte ", "corrupt gzip data")
    bad(data.idx, D .. "truncated.idx3.gz", "truncated gzip data")
  end)

  it("returns nil for a text file and a missing one", function()
    bad(data.idx, D .. "tiny.csv", "magic number 61 2c 62 2c")
    bad(data.idx, D .. "missing.idx", "No such file")
  end)
end)

describe("nerve.data.mnist", function()
  it("scales images to [0, 1] and makes labels classes 1..10", function()
    local x, y = data.mnist(D .. "images.idx3.gz", D .. "labels.idx1")
    assert.are.same({ 5, 6 }, shape(x))
    assert.are.same({ { 4 }, { 1 }, { 10 }, { 2 }, { 8 } }, y:totable())
    assert.are.equal(0, x:get(1, 1))
    assert.is_true(math.abs(x:get(5, 6) - 232 / 255) < 1e-6)
  end)

  it("returns nil naming the labels file when counts differ", function()
    local x, msg = data.mnist(D .. "images.idx3", D .. "labels_four.idx1")
    assert.is_nil(x)
    assert.truthy(msg:find("labels_four.idx1", 1, true))
    assert.truthy(msg:find("4 labels, expected 5", 1, true))
  end)

  it("returns nil for a label that is not a digit", function()
    local x, msg = data.mnist(D .. "images.idx3", D .. "labels_bad.idx1")
    assert.is_nil(x)
    assert.truthy(msg:find("label 3 is 12", 1, true), msg)
  end)

  it("returns nil when the images are not three-dimensional bytes", function()
    local x, msg = data.mnist(D .. "labels.idx1", D .. "labels.idx1")
    assert.is_nil(x)
    assert.truthy(msg:find("expected MNIST images", 1, true))
    x, msg = data.mnist(D .. "images.idx3", D .. "images.idx3")
    assert.is_nil(x)
    assert.truthy(msg:find("expected MNIST labels", 1, true))
  end)

  it("returns nil for a missing file and raises for non-strings", function()
    local x, msg = data.mnist(D .. "nope", D .. "labels.idx1")
    assert.is_nil(x)
    assert.truthy(msg:find("nope", 1, true))
    assert.truthy(fails(data.mnist, D .. "images.idx3"):find("argument 2", 1, true))
  end)
end)

describe("nerve.data.split", function()
  local x = nerve.matrix{ { 1 }, { 2 }, { 3 }, { 4 }, { 5 } }
  local y = nerve.matrix{ { 10 }, { 20 }, { 30 }, { 40 }, { 50 } }

  it("keeps the first rows in order without a seed", function()
    local xa, ya, xb, yb = data.split(x, y, 0.6)
    assert.are.same({ { 1 }, { 2 }, { 3 } }, xa:totable())
    assert.are.same({ { 10 }, { 20 }, { 30 } }, ya:totable())
    assert.are.same({ { 4 }, { 5 } }, xb:totable())
    assert.are.same({ { 40 }, { 50 } }, yb:totable())
  end)

  it("makes copies, not views", function()
    local xa = data.split(x, y, 0.6)
    xa:set(1, 1, 99)
    assert.are.equal(1, x:get(1, 1))
  end)

  it("shuffles reproducibly with a seed and keeps pairs together", function()
    local a1, b1, c1, d1 = data.split(x, y, 0.6, 7)
    local a2 = data.split(x, y, 0.6, 7)
    assert.are.same(a1:totable(), a2:totable())
    local seen = {}
    for i = 1, 3 do
      assert.are.equal(a1:get(i, 1) * 10, b1:get(i, 1))
      seen[a1:get(i, 1)] = true
    end
    for i = 1, 2 do
      assert.are.equal(c1:get(i, 1) * 10, d1:get(i, 1))
      assert.is_nil(seen[c1:get(i, 1)])
      seen[c1:get(i, 1)] = true
    end
    local n = 0
    for _ in pairs(seen) do n = n + 1 end
    assert.are.equal(5, n)
    local other = {}
    for s = 1, 20 do
      other[#other + 1] = table.concat(
        data.split(x, y, 0.6, s):totable()[1], ",")
    end
    table.sort(other)
    assert.are_not.equal(other[1], other[#other])
  end)

  it("splits Lua arrays of targets and accepts y = nil", function()
    local xa, ya, xb, yb = data.split(x, { 1, 2, 3, 4, 5 }, 0.4)
    assert.are.same({ 1, 2 }, ya)
    assert.are.same({ 3, 4, 5 }, yb)
    assert.are.same({ 2, 1 }, shape(xa))
    xa, ya, xb, yb = data.split(x, nil, 0.4)
    assert.is_nil(ya)
    assert.is_nil(yb)
    assert.are.same({ 3, 1 }, shape(xb))
  end)

  it("raises for bad fractions, shapes and seeds", function()
    assert.truthy(fails(data.split, x, y, 1):find("between 0 and 1", 1, true))
    assert.truthy(fails(data.split, x, y, 0):find("between 0 and 1", 1, true))
    assert.truthy(fails(data.split, x, y, 0.01):find("leaves a part empty", 1, true))
    assert.truthy(fails(data.split, x, y, 0.95):find("leaves a part empty", 1, true))
    assert.truthy(fails(data.split, x, nerve.matrix(4, 1), 0.5)
      :find("y has 4 rows, x has 5", 1, true))
    assert.truthy(fails(data.split, { 1 }, y, 0.5):find("x must be a matrix", 1, true))
    assert.truthy(fails(data.split, x, y, 0.5, "s"):find("seed must be an integer", 1, true))
    assert.truthy(fails(data.split, x, 3, 0.5):find("y must be a matrix or a table", 1, true))
  end)
end)

describe("nerve.data.standardize", function()
  local x = nerve.matrix{ { 1, 10, 5 }, { 3, 20, 5 }, { 5, 60, 5 } }

  it("gives zero mean and unit variance per column", function()
    local z, stats = data.standardize(x)
    for j = 1, 2 do
      local s, q = 0, 0
      for i = 1, 3 do s = s + z:get(i, j) end
      for i = 1, 3 do q = q + z:get(i, j) ^ 2 end
      assert.is_true(math.abs(s) < 1e-6)
      assert.is_true(math.abs(q / 3 - 1) < 1e-6)
    end
    assert.are.same({ { 3, 30, 5 } }, stats.mean:totable())
    assert.is_true(math.abs(stats.std:get(1, 1) - math.sqrt(8 / 3)) < 1e-6)
  end)

  it("moves a constant column to zero", function()
    local z = data.standardize(x)
    assert.are.same({ 0, 0, 0 }, { z:get(1, 3), z:get(2, 3), z:get(3, 3) })
  end)

  it("leaves x unchanged", function()
    data.standardize(x)
    assert.are.same({ 1, 10, 5 }, x:totable()[1])
  end)

  it("applies given statistics to another set", function()
    local _, stats = data.standardize(x)
    local z = data.standardize(nerve.matrix{ { 3, 30, 6 } }, stats)
    assert.are.same({ { 0, 0, 1 } }, z:totable())
    local z2, same = data.standardize(nerve.matrix{ { 2, 0, 0 } },
      { mean = { 1, 0, 0 }, std = { 2, 1, 0 } })
    assert.are.same({ { 0.5, 0, 0 } }, z2:totable())
    assert.are.same({ 1, 0, 0 }, same.mean)
  end)

  it("raises for statistics of another width or type", function()
    local _, stats = data.standardize(x)
    assert.truthy(fails(data.standardize, nerve.matrix(1, 2), stats)
      :find("stats are for 3 columns, x has 2", 1, true))
    assert.truthy(fails(data.standardize, x, { mean = { 1 }, std = { 1, 1, 1 } })
      :find("stats.mean has 1 number, x has 3 columns", 1, true))
    assert.truthy(fails(data.standardize, x, { mean = "a", std = { 1, 1, 1 } })
      :find("stats.mean must be", 1, true))
    assert.truthy(fails(data.standardize, x, 5):find("stats must be a table", 1, true))
    assert.truthy(fails(data.standardize, x, { mean = { 0, 0, 0 },
      std = { -1, 1, 1 } }):find("standard deviations >= 0", 1, true))
    assert.truthy(fails(data.standardize, "x"):find("x must be a matrix", 1, true))
  end)

  it("raises for NaN in x", function()
    assert.truthy(fails(data.standardize, nerve.matrix{ { 0 / 0 } })
      :find("NaN", 1, true))
  end)
end)

describe("nerve.data.one_hot", function()
  it("turns class indices into one-hot rows", function()
    local m = data.one_hot(nerve.matrix{ { 2 }, { 1 }, { 3 } }, 3)
    assert.are.same({ { 0, 1, 0 }, { 1, 0, 0 }, { 0, 0, 1 } }, m:totable())
  end)

  it("accepts a Lua array", function()
    assert.are.same({ { 0, 1 }, { 1, 0 } }, data.one_hot({ 2, 1 }, 2):totable())
  end)

  it("round-trips through nerve.accuracy's one-hot reading", function()
    local net = nerve.sequential{ nerve.identity() }
    local y = nerve.matrix{ { 2 }, { 1 } }
    local x = data.one_hot(y, 2)
    assert.are.equal(1, nerve.accuracy(net, x, y))
  end)

  it("raises for indices out of range and bad arguments", function()
    assert.truthy(fails(data.one_hot, nerve.matrix{ { 1 }, { 4 } }, 3)
      :find("row 2 holds 4.0, expected a class index 1..3", 1, true))
    assert.truthy(fails(data.one_hot, nerve.matrix{ { 1.5 } }, 3)
      :find("row 1", 1, true))
    assert.truthy(fails(data.one_hot, nerve.matrix(2, 2), 3)
      :find("y has 2 columns, expected 1", 1, true))
    assert.truthy(fails(data.one_hot, nerve.matrix(2, 1, 1), 0)
      :find("classes must be an integer >= 1", 1, true))
    assert.truthy(fails(data.one_hot, {}, 2):find("empty table", 1, true))
    assert.truthy(fails(data.one_hot, { "a" }, 2):find("y[1] must be a number", 1, true))
    assert.truthy(fails(data.one_hot, 5, 2):find("y must be a matrix", 1, true))
  end)
end)

describe("nerve.data and fit", function()
  it("trains on loaded data through fit's permutation", function()
    nerve.seed(3)
    local x, y = data.fann(D .. "tiny.train")
    local net = nerve.mlp{ 2, 4, 1, hidden = "tanh" }
    local report = nerve.fit(net, x, y, { epochs = 5, batch = 2, seed = 1 })
    assert.are.equal(5, report.epochs)
  end)
end)

describe("nerve.data.shift", function()
  local m = nerve.matrix{ { 1, 2, 3, 4, 5, 6 }, { 7, 8, 9, 10, 11, 12 } }

  it("moves each row's image right and down, filling zeros", function()
    assert.are.same({ 0, 1, 2, 0, 4, 5 }, data.shift(m, 3, 2, 1, 0):totable()[1])
    assert.are.same({ 0, 0, 0, 1, 2, 3 }, data.shift(m, 3, 2, 0, 1):totable()[1])
    assert.are.same({ 11, 12, 0, 0, 0, 0 },
      data.shift(m, 3, 2, -1, -1):totable()[2])
    assert.are.same(m:totable(), data.shift(m, 3, 2, 0, 0):totable())
  end)

  it("leaves x unchanged", function()
    data.shift(m, 3, 2, 1, 1)
    assert.are.same({ 1, 2, 3, 4, 5, 6 }, m:totable()[1])
  end)

  it("raises for a wrong image size or a shift out of sight", function()
    assert.truthy(fails(data.shift, m, 2, 2, 0, 0)
      :find("2 x 2 images need 4 columns, x has 6", 1, true))
    assert.truthy(fails(data.shift, m, 3, 2, 3, 0):find("out of sight", 1, true))
    assert.truthy(fails(data.shift, m, 3, 2, 0, -2):find("out of sight", 1, true))
    assert.truthy(fails(data.shift, m, 3, 2, 0.5, 0)
      :find("argument 4 must be an integer", 1, true))
    assert.truthy(fails(data.shift, {}, 3, 2, 0, 0):find("x must be a matrix", 1, true))
  end)
end)

describe("nerve.data.concat", function()
  it("stacks the rows of every matrix in order", function()
    local a = nerve.matrix{ { 1, 2 } }
    local b = nerve.matrix{ { 3, 4 }, { 5, 6 } }
    assert.are.same({ { 1, 2 }, { 3, 4 }, { 5, 6 }, { 1, 2 } },
      data.concat{ a, b, a }:totable())
  end)

  it("takes views with a stride", function()
    local b = nerve.matrix{ { 3, 4, 9 }, { 5, 6, 9 } }
    assert.are.same({ { 4, 9 }, { 6, 9 } }, data.concat{ b:sub(1, 2, 2, 3) }:totable())
  end)

  it("raises for other widths and non-matrices", function()
    assert.truthy(fails(data.concat, { nerve.matrix(1, 2), nerve.matrix(1, 3) })
      :find("matrix 2 has 3 columns, matrix 1 has 2", 1, true))
    assert.truthy(fails(data.concat, { nerve.matrix(1, 2), 5 })
      :find("entry 2 must be a matrix", 1, true))
    assert.truthy(fails(data.concat, {}):find("expected a table of matrices", 1, true))
  end)
end)
