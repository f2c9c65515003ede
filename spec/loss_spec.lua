local nerve = require "nerve"
local ref = dofile("spec/helpers/ref.lua")
local f32 = ref.f32

local function fails(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok)
  return tostring(err)
end

local function rows(m) return m:totable() end

describe("mse", function()
  local yhat = nerve.matrix{ { 0.5, 1 }, { -1, 2 } }
  local y = nerve.matrix{ { 0, 1 }, { 1, 1.5 } }

  it("matches the seed's E = 1/(2B) sum (yhat - y)^2", function()
    local e = nerve.mse():forward(yhat, y)
    assert.is_number(e)
    ref.assert_close(e, (0.25 + 0 + 4 + 0.25) / 4, 1e-7)
  end)

  it("has the gradient (yhat - y) / B", function()
    local g = nerve.mse():backward(yhat, y)
    local r, c = g:shape()
    assert.are.same({ 2, 2 }, { r, c })
    assert.are.same({ { 0.25, 0 }, { -1, 0.25 } }, rows(g))
  end)

  it("is zero for a perfect prediction", function()
    assert.are.equal(0, nerve.mse():forward(y, y))
  end)

  it("rejects targets of another shape", function()
    local l = nerve.mse()
    fails(l.forward, l, yhat, nerve.matrix(2, 3))
    fails(l.backward, l, yhat, nerve.matrix(3, 2))
  end)

  it("rejects a NaN target", function()
    local l = nerve.mse()
    local bad = nerve.matrix{ { 0, 0 / 0 }, { 1, 1 } }
    fails(l.forward, l, yhat, bad)
    fails(l.backward, l, yhat, bad)
  end)
end)

describe("cross_entropy", function()
  local z = { { 1, 2, 0.5 }, { -1, 0, 3 } }
  local t = { 2, 3 }
  local function want_e()
    return ref.loss("cross_entropy", ref.totable(nerve.matrix(z)), t)
  end
  local function want_g()
    local g = {}
    for b, row in ipairs(z) do
      local s = 0
      for _, v in ipairs(row) do s = s + math.exp(v) end
      g[b] = {}
      for j, v in ipairs(row) do
        g[b][j] = (math.exp(v) / s - (j == t[b] and 1 or 0)) / #z
      end
    end
    return g
  end

  it("takes class indices as a B x 1 matrix", function()
    local l = nerve.cross_entropy()
    ref.assert_close(l:forward(nerve.matrix(z), nerve.matrix{ { 2 }, { 3 } }), want_e(), 1e-6)
    ref.assert_near(l:backward(nerve.matrix(z), nerve.matrix{ { 2 }, { 3 } }), want_g(), 1e-5, 1e-3)
  end)

  it("takes class indices as a Lua array", function()
    local l = nerve.cross_entropy()
    ref.assert_close(l:forward(nerve.matrix(z), { 2, 3 }), want_e(), 1e-6)
    ref.assert_near(l:backward(nerve.matrix(z), { 2, 3 }), want_g(), 1e-5, 1e-3)
  end)

  it("takes one-hot targets", function()
    local l = nerve.cross_entropy()
    local oh = nerve.matrix{ { 0, 1, 0 }, { 0, 0, 1 } }
    ref.assert_close(l:forward(nerve.matrix(z), oh), want_e(), 1e-6)
    ref.assert_near(l:backward(nerve.matrix(z), oh), want_g(), 1e-5, 1e-3)
  end)

  it("gives a gradient shaped like the logits", function()
    local g = nerve.cross_entropy():backward(nerve.matrix(z), { 1, 1 })
    local r, c = g:shape()
    assert.are.same({ 2, 3 }, { r, c })
  end)

  it("always reads a B x 1 matrix as indices", function()
    -- one class: every index is 1 and E is log 1 = 0
    local l = nerve.cross_entropy()
    local z1 = nerve.matrix{ { 0.3 }, { -2 } }
    assert.are.equal(0, l:forward(z1, nerve.matrix{ { 1 }, { 1 } }))
    assert.are.same({ { 0 }, { 0 } }, l:backward(z1, nerve.matrix{ { 1 }, { 1 } }):totable())
  end)

  it("is stable for large logits", function()
    local l = nerve.cross_entropy()
    local big = nerve.matrix{ { 1000, 0 }, { -1000, 1000 } }
    ref.assert_close(l:forward(big, { 2, 2 }), 500, 1e-6)
    local e = l:forward(big, { 1, 2 })
    assert.is_true(e >= 0 and e < 1e-6, "E = " .. e)
    local g = l:backward(big, { 2, 1 })
    for _, row in ipairs(g:totable()) do
      for _, v in ipairs(row) do assert.is_true(v == v and math.abs(v) <= 0.5) end
    end
  end)

  it("rejects indices outside 1..C and fractions", function()
    local l, zm = nerve.cross_entropy(), nerve.matrix(z)
    fails(l.forward, l, zm, { 0, 1 })
    fails(l.forward, l, zm, { 1, 4 })
    fails(l.forward, l, zm, { 1, 1.5 })
    fails(l.forward, l, zm, nerve.matrix{ { 1 }, { 4 } })
    fails(l.backward, l, zm, { 4, 1 })
  end)

  it("rejects targets with the wrong number of rows", function()
    local l, zm = nerve.cross_entropy(), nerve.matrix(z)
    fails(l.forward, l, zm, { 1 })
    fails(l.forward, l, zm, { 1, 2, 3 })
    fails(l.forward, l, zm, nerve.matrix{ { 1 }, { 2 }, { 3 } })
    fails(l.forward, l, zm, nerve.matrix(2, 2))
  end)

  it("rejects a NaN target", function()
    local l, zm = nerve.cross_entropy(), nerve.matrix(z)
    fails(l.forward, l, zm, nerve.matrix{ { 0 / 0 }, { 1 } })
    fails(l.forward, l, zm, nerve.matrix{ { 0, 0 / 0, 1 }, { 0, 0, 1 } })
  end)
end)

describe("bce", function()
  local p = { { f32(0.9), f32(0.2) }, { f32(0.4), f32(0.7) } }
  local y = { { 1, 0 }, { 0, 1 } }

  it("matches -1/B sum (y log p + (1-y) log(1-p))", function()
    local e = nerve.bce():forward(nerve.matrix(p), nerve.matrix(y))
    local want = -(math.log(p[1][1]) + math.log(1 - p[1][2])
                   + math.log(1 - p[2][1]) + math.log(p[2][2])) / 2
    ref.assert_close(e, want, 1e-6)
  end)

  it("has the gradient (p - y) / (p (1 - p) B)", function()
    local g = nerve.bce():backward(nerve.matrix(p), nerve.matrix(y))
    local want = {}
    for b = 1, 2 do
      want[b] = {}
      for j = 1, 2 do
        want[b][j] = (p[b][j] - y[b][j]) / (p[b][j] * (1 - p[b][j]) * 2)
      end
    end
    ref.assert_near(g, want, 1e-5, 1e-3)
  end)

  it("takes soft targets", function()
    local e = nerve.bce():forward(nerve.matrix{ { 0.5 } }, nerve.matrix{ { 0.5 } })
    ref.assert_close(e, math.log(2), 1e-6)
  end)

  it("rejects targets of another shape and NaN targets", function()
    local l = nerve.bce()
    fails(l.forward, l, nerve.matrix(p), nerve.matrix(2, 1))
    fails(l.forward, l, nerve.matrix(p), nerve.matrix{ { 1, 0 / 0 }, { 0, 1 } })
  end)
end)

describe("a loss", function()
  it("says what it expected for a wrong type", function()
    local l = nerve.mse()
    local err = fails(l.forward, l, "x", nerve.matrix(1, 1))
    assert.truthy(err:find("expected", 1, true), err)
    err = fails(l.backward, l, nerve.matrix(1, 1), 7)
    assert.truthy(err:find("expected", 1, true), err)
  end)
end)
