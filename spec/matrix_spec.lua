local nerve = require "nerve"
local ref = dofile("spec/helpers/ref.lua")

local function fails(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok)
  return tostring(err)
end

describe("nerve.matrix", function()
  it("makes a rows x cols matrix of zeros", function()
    local m = nerve.matrix(2, 3)
    local r, c = m:shape()
    assert.are.equal(2, r)
    assert.are.equal(3, c)
    for i = 1, 2 do
      for j = 1, 3 do assert.are.equal(0, m:get(i, j)) end
    end
  end)

  it("fills with the third argument", function()
    local m = nerve.matrix(3, 2, 1.5)
    for i = 1, 3 do
      for j = 1, 2 do assert.are.equal(1.5, m:get(i, j)) end
    end
  end)

  it("reports its rows with #", function()
    assert.are.equal(4, #nerve.matrix(4, 7))
    assert.are.equal(1, #nerve.matrix(1, 9))
  end)

  it("builds from a table of rows", function()
    local m = nerve.matrix{ { 1, 2 }, { 3, 4 }, { 5, 6 } }
    local r, c = m:shape()
    assert.are.equal(3, r)
    assert.are.equal(2, c)
    assert.are.equal(1, m:get(1, 1))
    assert.are.equal(2, m:get(1, 2))
    assert.are.equal(3, m:get(2, 1))
    assert.are.equal(6, m:get(3, 2))
  end)

  it("builds a 1 x n row from a flat table", function()
    local m = nerve.matrix{ 1, 2, 3 }
    local r, c = m:shape()
    assert.are.equal(1, r)
    assert.are.equal(3, c)
    assert.are.equal(3, m:get(1, 3))
  end)

  it("stores float32 numbers", function()
    local m = nerve.matrix(1, 1)
    m:set(1, 1, 0.1)
    assert.are.equal(ref.f32(0.1), m:get(1, 1))
    assert.are_not.equal(0.1, m:get(1, 1))
  end)

  it("sets and gets one element", function()
    local m = nerve.matrix(2, 2)
    m:set(2, 1, -7.25)
    assert.are.equal(-7.25, m:get(2, 1))
    assert.are.equal(0, m:get(1, 2))
  end)

  it("gives a table of rows", function()
    local t = nerve.matrix{ { 1, 2, 3 }, { 4, 5, 6 } }:totable()
    assert.are.same({ { 1, 2, 3 }, { 4, 5, 6 } }, t)
    assert.are.same({ { 9 } }, nerve.matrix{ 9 }:totable())
  end)

  it("copies into its own storage", function()
    local m = nerve.matrix{ { 1, 2 }, { 3, 4 } }
    local c = m:copy()
    assert.are.same(m:totable(), c:totable())
    c:set(1, 1, 100)
    assert.are.equal(1, m:get(1, 1))
    m:set(2, 2, -1)
    assert.are.equal(4, c:get(2, 2))
  end)

  it("fills every element and returns itself", function()
    local m = nerve.matrix(3, 4)
    local r = m:fill(2.5)
    assert.are.equal(m, r)
    for i = 1, 3 do
      for j = 1, 4 do assert.are.equal(2.5, m:get(i, j)) end
    end
  end)

  it("prints readably", function()
    local s = tostring(nerve.matrix{ { 1.5, -2.25 }, { 3, 4 } })
    assert.is_string(s)
    assert.truthy(s:find("1.5", 1, true))
    assert.truthy(s:find("-2.25", 1, true))
    assert.truthy(s:find("4", 1, true))
  end)

  it("elides large matrices when printed", function()
    local m = nerve.matrix(1000, 1000, 1.25)
    local s = tostring(m)
    assert.is_string(s)
    assert.is_true(#s < 20000, "tostring of a 1000x1000 matrix has " .. #s .. " characters")
    assert.truthy(s:find("1000", 1, true), "the shape is shown")
  end)

  describe("errors", function()
    it("rejects zero rows or columns", function()
      fails(nerve.matrix, 0, 3)
      fails(nerve.matrix, 3, 0)
      fails(nerve.matrix, -1, 2)
    end)

    it("rejects an empty table", function()
      fails(nerve.matrix, {})
    end)

    it("rejects a ragged table", function()
      fails(nerve.matrix, { { 1, 2 }, { 3 } })
      fails(nerve.matrix, { { 1 }, { 2, 3 } })
    end)

    it("rejects non-numbers in a table", function()
      fails(nerve.matrix, { { 1, "x" } })
      fails(nerve.matrix, { 1, {} })
    end)

    it("checks the bounds of get", function()
      local m = nerve.matrix(2, 3)
      fails(m.get, m, 0, 1)
      fails(m.get, m, 1, 0)
      fails(m.get, m, 3, 1)
      fails(m.get, m, 1, 4)
    end)

    it("checks the bounds of set and changes nothing", function()
      local m = nerve.matrix(2, 3, 1)
      fails(m.set, m, 0, 1, 5)
      fails(m.set, m, 3, 1, 5)
      fails(m.set, m, 1, 4, 5)
      fails(m.set, m, 2, 0, 5)
      assert.are.same({ { 1, 1, 1 }, { 1, 1, 1 } }, m:totable())
    end)

    it("rejects a value that is not a number", function()
      local m = nerve.matrix(2, 2)
      fails(m.set, m, 1, 1, "abc")
      fails(m.set, m, 1, 1, nil)
      fails(m.fill, m, {})
    end)

    it("says what it expected when called on something else", function()
      local m = nerve.matrix(2, 2)
      local err = fails(m.get, {}, 1, 1)
      assert.truthy(err:find("expected", 1, true), err)
    end)
  end)
end)

describe("matrix views (m:sub)", function()
  local function parent()
    local t = {}
    for i = 1, 6 do
      t[i] = {}
      for j = 1, 5 do t[i][j] = 10 * i + j end
    end
    return nerve.matrix(t)
  end

  it("has the shape of the inclusive ranges", function()
    local v = parent():sub(2, 4, 3, 5)
    local r, c = v:shape()
    assert.are.equal(3, r)
    assert.are.equal(3, c)
    assert.are.equal(3, #v)
  end)

  it("reads the parent's elements", function()
    local v = parent():sub(2, 4, 3, 5)
    assert.are.equal(23, v:get(1, 1))
    assert.are.equal(45, v:get(3, 3))
    assert.are.same({ { 23, 24, 25 }, { 33, 34, 35 }, { 43, 44, 45 } }, v:totable())
  end)

  it("writes through to the parent", function()
    local p = parent()
    local v = p:sub(2, 4, 3, 5)
    v:set(2, 1, -1)
    assert.are.equal(-1, p:get(3, 3))
    v:fill(0)
    assert.are.equal(0, p:get(4, 5))
    assert.are.equal(22, p:get(2, 2))
    assert.are.equal(51, p:get(5, 1))
  end)

  it("sees the parent's writes", function()
    local p = parent()
    local v = p:sub(1, 6, 2, 2)
    p:set(6, 2, 99)
    assert.are.equal(99, v:get(6, 1))
  end)

  it("keeps the parent's storage alive", function()
    local v = parent():sub(1, 2, 1, 2)
    collectgarbage("collect")
    collectgarbage("collect")
    assert.are.same({ { 11, 12 }, { 21, 22 } }, v:totable())
  end)

  it("copies into its own contiguous storage", function()
    local p = parent()
    local c = p:sub(2, 3, 2, 3):copy()
    c:set(1, 1, 0)
    assert.are.equal(22, p:get(2, 2))
    assert.are.same({ { 0, 23 }, { 32, 33 } }, c:totable())
  end)

  it("checks its ranges", function()
    local p = parent()
    fails(p.sub, p, 0, 2, 1, 2)
    fails(p.sub, p, 1, 7, 1, 2)
    fails(p.sub, p, 1, 2, 1, 6)
    fails(p.sub, p, 3, 2, 1, 2)
    local v = p:sub(2, 3, 2, 3)
    fails(v.get, v, 3, 1)
    fails(v.set, v, 1, 3, 0)
  end)
end)
