-- Hostile files and paths: NUL bytes in text data are an error with the
-- line and column (strtod would stop at one and read "3\0junk" as 3); a
-- path holding one is refused wherever a path is taken (the C library
-- would stop at it and use another file); a save goes through symbolic
-- links and never replaces what is not a regular file; a checkpoint whose
-- optimizer settings cannot be restored is refused when it is parsed.
local nerve = require "nerve"

local function write(path, bytes)
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
end

describe("a NUL byte in text data", function()
  local path

  before_each(function() path = os.tmpname() end)
  after_each(function() os.remove(path) end)

  it("inside a CSV number is an error at its line and column", function()
    write(path, "1,2\n3\0junk,4\n")
    local x, err = nerve.data.csv(path)
    assert.is_nil(x)
    assert.equals("nerve.data.csv: " .. path ..
      ":2: a NUL byte at column 2, expected text", err)
  end)

  it("as a whole CSV line is an error, not a blank line", function()
    write(path, "1,2\n\0\0\0\n3,4\n")
    local x, err = nerve.data.csv(path)
    assert.is_nil(x)
    assert.matches(":2: a NUL byte at column 1", err, 1, true)
  end)

  it("in FANN data is an error at its line and column", function()
    write(path, "2 1 1\n0 1\n1\0 0\n")
    local x, err = nerve.data.fann(path)
    assert.is_nil(x)
    assert.matches(":3: a NUL byte at column 2", err, 1, true)
  end)

  it("leaves data without one as it was", function()
    write(path, "1,2\n3,4\n")
    local x, y = nerve.data.csv(path, { target = 1 })
    assert.equals(2, #x)
    assert.equals(4, y:get(2, 1))
  end)
end)

describe("a path with a NUL byte, or an empty one", function()
  local net = nerve.sequential{ nerve.linear(2, 1) }

  it("is refused by save and load, naming the function", function()
    local ok, err = net:save("a\0b")
    assert.is_nil(ok)
    assert.equals("nerve.save: the path holds a NUL byte", err)
    ok, err = net:save("")
    assert.is_nil(ok)
    assert.equals("nerve.save: the path is empty", err)
    local back
    back, err = nerve.load("a\0b")
    assert.is_nil(back)
    assert.equals("nerve.load: the path holds a NUL byte", err)
    assert.is_nil(io.open("a", "rb")) -- nothing was written to ./a
  end)

  it("is refused by the data loaders", function()
    for _, f in ipairs{ "csv", "fann", "idx" } do
      local x, err = nerve.data[f]("x\0y")
      assert.is_nil(x)
      assert.equals("nerve.data." .. f .. ": the path holds a NUL byte", err)
    end
  end)

  it("is refused by checkpoints and fit's checkpoint options", function()
    local opt = nerve.sgd(net, { lr = 0.1 })
    local ck, err = nerve.checkpoint.load("c\0d")
    assert.is_nil(ck)
    assert.equals("nerve.checkpoint.load: the path holds a NUL byte", err)
    local ok
    ok, err = nerve.checkpoint.save("c\0d", { net = net, optimizer = opt })
    assert.is_nil(ok)
    assert.matches("the path holds a NUL byte", err, 1, true)
    local x = nerve.matrix{ { 0, 1 } }
    local y = nerve.matrix{ { 1 } }
    assert.has_error(function()
      nerve.fit(net, x, y, { optimizer = opt, epochs = 1,
                             checkpoint = "c\0d" })
    end, "nerve.fit: option 'checkpoint': the path holds a NUL byte")
  end)

  it("is refused by plot.loss", function()
    local ok, err = nerve.plot.loss({ losses = { 1, 0.5 } }, "p\0.svg")
    assert.is_nil(ok)
    assert.equals("nerve.plot.loss: the path holds a NUL byte", err)
  end)

  it("checkpoint.load of a directory says why", function()
    local ck, err = nerve.checkpoint.load(".")
    assert.is_nil(ck)
    assert.not_matches("cannot read$", err)
  end)
end)

describe("a save", function()
  it("through a symbolic link writes the file it points to", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir " .. dir))
    local target, link = dir .. "/model.bin", dir .. "/link.bin"
    assert(os.execute("ln -s model.bin " .. link))
    local net = nerve.sequential{ nerve.linear(2, 1) }
    assert.is_true(net:save(link))
    assert.is_truthy(nerve.load(target))
    assert.equals("link", io.popen("stat -c %F " .. link):read("l"):match("link"))
    assert(os.execute("mkfifo " .. dir .. "/fifo"))
    local ok, err = net:save(dir .. "/fifo")
    assert.is_nil(ok)
    assert.matches("not a regular file", err, 1, true)
    os.execute("rm -r " .. dir)
  end)
end)

describe("a checkpoint whose optimizer settings cannot be restored", function()
  local core = nerve.core
  -- the checkpoint's sections, its optimizer section replaced, re-sealed
  local function with_optimizer(bytes, kind, steps, lr, clip)
    local _, version, _, count = string.unpack("<c8I4I8I4", bytes)
    local pos, sections = 25, {}
    for _ = 1, count do
      local name, data
      name, data, pos = string.unpack("<s4s4", bytes, pos)
      if name == "optimizer" then
        local _, _, _, _, state = string.unpack("<s4i8dds4", data)
        data = string.pack("<s4i8dds4", kind, steps, lr, clip, state)
      end
      sections[#sections + 1] = string.pack("<s4s4", name, data)
    end
    local body = table.concat(sections)
    local all = string.pack("<c8I4I8I4", "NERVECKP", version,
      24 + #body + 4, count) .. body
    return all .. string.pack("<I4", core.crc32(all))
  end

  it("is refused when it is parsed, so restore never half-applies", function()
    nerve.seed(3)
    local net = nerve.sequential{ nerve.linear(2, 2) }
    local opt = nerve.adam(net, { lr = 0.01 })
    local good = nerve.checkpoint.bytes{ net = net, optimizer = opt }
    assert.is_truthy(nerve.checkpoint.parse(with_optimizer(good, "adam", 0,
      0.01, 0)))
    for _, case in ipairs{
      { "adam", 0, 0 / 0, 0, "lr" }, { "adam", 0, math.huge, 0, "lr" },
      { "adam", 0, 0.01, -1, "clip" }, { "adam", -5, 0.01, 0, "step" },
      { "nadam", 0, 0.01, 0, "unknown optimizer 'nadam'" } } do
      local ck, err = nerve.checkpoint.parse(with_optimizer(good, case[1],
        case[2], case[3], case[4]))
      assert.is_nil(ck)
      assert.matches(case[5], err, 1, true)
    end
  end)
end)
