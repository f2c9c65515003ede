-- Every SIMD path against the scalar reference, on odd shapes, tails and
-- strided inputs; compared by relative error, not bit equality.
local nerve = require "nerve"
local ref = dofile("spec/helpers/ref.lua")

local SHAPES = { 1, 3, 17, 63, 65, 257 }
local REL = 1e-4

-- the paths this machine and build accept besides scalar
local function paths()
  local old = nerve.isa()
  local list = {}
  for _, name in ipairs{ "avx2", "avx512", "neon" } do
    if pcall(nerve.set_isa, name) then list[#list + 1] = name end
  end
  nerve.set_isa(old)
  return list
end

local PATHS = paths()

-- Everything one forward and backward gives, as tables.
local function run(net, x, gout_fill)
  net:zero_grad()
  local y = net:forward(x)
  local g = y:copy()
  local r, c = g:shape()
  for i = 1, r do
    for j = 1, c do g:set(i, j, gout_fill(i, j)) end
  end
  local res = { y = y:totable() }
  res.dx = net:backward(x, g):totable()
  res.grads = {}
  for i = 1, #net do
    local l = net:layer(i)
    if l.weight then
      res.grads[#res.grads + 1] = l.grad_weight:totable()
      res.grads[#res.grads + 1] = l.grad_bias:totable()
    end
  end
  return res
end

local function gfill(i, j) return ((i * 7 + j * 13) % 11 - 5) / 10 end

local function compare(got, want, what)
  local function one(a, b, name)
    local scale = math.max(1e-3, ref.max_abs(b))
    ref.assert_near(a, b, REL, scale, what .. ": " .. name)
  end
  one(got.y, want.y, "output")
  one(got.dx, want.dx, "dE/dx")
  for k = 1, #want.grads do one(got.grads[k], want.grads[k], "gradient " .. k) end
end

-- Runs fn under scalar and under every other path; compares each with
-- scalar. Restores the original path.
local function against_scalar(what, fn)
  local old = nerve.isa()
  local ok, err = pcall(function()
    nerve.set_isa("scalar")
    local want = fn()
    for _, p in ipairs(PATHS) do
      nerve.set_isa(p)
      compare(fn(), want, what .. " on " .. p)
    end
  end)
  nerve.set_isa(old)
  if not ok then error(err, 0) end
end

describe("the SIMD paths", function()
  it("include what this CPU offers", function()
    -- at least the scalar path is always there; list the others when run
    -- verbosely
    assert.is_table(PATHS)
    assert.is_true(pcall(nerve.set_isa, "scalar"))
  end)

  it("are reported by isa() once forced", function()
    local old = nerve.isa()
    for _, p in ipairs{ "scalar", table.unpack(PATHS) } do
      nerve.set_isa(p)
      assert.are.equal(p, nerve.isa())
    end
    nerve.set_isa(old)
  end)

  it("restore the path a spec started with", function()
    local old = nerve.isa()
    against_scalar("nothing", function()
      return { y = { { 0 } }, dx = { { 0 } }, grads = {} }
    end)
    assert.are.equal(old, nerve.isa())
  end)

  for _, s in ipairs(SHAPES) do
    it("match scalar for a " .. s .. "-65-" .. s .. " tanh network, batch 17", function()
      nerve.seed(s)
      local net = nerve.mlp{ s, 65, s, hidden = "tanh" }
      local x = nerve.matrix(ref.random_rows(ref.rng(s), 17, s, -2, 2))
      against_scalar("width " .. s, function() return run(net, x, gfill) end)
    end)

    it("match scalar for a 17-" .. s .. "-3 relu network, batch " .. s, function()
      nerve.seed(100 + s)
      local net = nerve.mlp{ 17, s, 3, hidden = "relu", output = "linear" }
      local x = nerve.matrix(ref.random_rows(ref.rng(100 + s), s, 17, -2, 2))
      against_scalar("batch " .. s, function() return run(net, x, gfill) end)
    end)

    it("match scalar for a " .. s .. "-" .. s .. "-" .. s ..
       " leaky_relu/softmax network, batch " .. s, function()
      nerve.seed(200 + s)
      local net = nerve.sequential{ nerve.linear(s, s), nerve.leaky_relu(0.1),
                                    nerve.linear(s, s), nerve.sigmoid(),
                                    nerve.linear(s, s), nerve.softmax() }
      local x = nerve.matrix(ref.random_rows(ref.rng(200 + s), s, s, -3, 3))
      against_scalar("square " .. s, function() return run(net, x, gfill) end)
    end)
  end

  it("match scalar on large pre-activations (saturation)", function()
    local n = 257
    local net = nerve.sequential{ nerve.linear(1, n), nerve.tanh(), nerve.linear(n, n),
                                  nerve.sigmoid(), nerve.linear(n, n), nerve.softmax() }
    nerve.seed(3)
    net:layer(1).weight:fill(0)
    for j = 1, n do net:layer(1).weight:set(1, j, (j - 129) * 0.5) end
    local w3 = net:layer(3).weight
    local g = ref.rng(33)
    for i = 1, n do
      for j = 1, n do w3:set(i, j, g.uniform(-20, 20)) end
    end
    local x = nerve.matrix(ref.random_rows(ref.rng(34), 9, 1, -5, 5))
    against_scalar("saturation", function() return run(net, x, gfill) end)
  end)
end)

describe("the activations on every path", function()
  -- pre-activations from -30 to 30 in steps of 0.1, and far outside
  local A = {}
  for k = -300, 300 do A[#A + 1] = ref.f32(k / 10) end
  for _, v in ipairs{ -1000, -100, -89, -88, 88, 89, 100, 1000 } do A[#A + 1] = v end

  local function through(act)
    local net = nerve.sequential{ nerve.linear(1, #A), act }
    for j, v in ipairs(A) do net:layer(1).weight:set(1, j, v) end
    net:layer(1).bias:fill(0)
    return net:forward(nerve.matrix{ { 1 }, { 1 }, { 1 } }):totable()
  end

  local function each_path(fn)
    local old = nerve.isa()
    local ok, err = pcall(function()
      for _, p in ipairs{ "scalar", table.unpack(PATHS) } do
        nerve.set_isa(p)
        fn(p)
      end
    end)
    nerve.set_isa(old)
    if not ok then error(err, 0) end
  end

  local function check(p, name, y, f)
    for r = 1, #y do
      for j, a in ipairs(A) do
        local want, got = f(a), y[r][j]
        if not (math.abs(got - want) <= 1e-6) then
          error(string.format("%s on %s at a = %g: got %.9g, want %.9g", name, p, a, got, want))
        end
      end
    end
  end

  it("sigmoid matches libm over the whole range", function()
    each_path(function(p)
      check(p, "sigmoid", through(nerve.sigmoid()), function(a) return 1 / (1 + math.exp(-a)) end)
    end)
  end)

  it("tanh matches libm over the whole range", function()
    each_path(function(p)
      check(p, "tanh", through(nerve.tanh()), function(a)
        if a > 20 then return 1 elseif a < -20 then return -1 end
        return (math.exp(2 * a) - 1) / (math.exp(2 * a) + 1)
      end)
    end)
  end)

  it("relu and leaky_relu are exact", function()
    each_path(function(p)
      check(p, "relu", through(nerve.relu()), function(a) return math.max(a, 0) end)
      local y = through(nerve.leaky_relu(0.25))
      for j, a in ipairs(A) do
        assert.are.equal(a > 0 and a or ref.f32(0.25 * a), y[1][j])
      end
    end)
  end)

  it("softmax gives rows that sum to 1 with no NaN", function()
    each_path(function(p)
      local y = through(nerve.softmax())
      for _, row in ipairs(y) do
        local s = 0
        for _, v in ipairs(row) do
          assert.is_true(v == v and v >= 0, "softmax gave " .. v .. " on " .. p)
          s = s + v
        end
        ref.assert_close(s, 1, 1e-5, 1, "row sum on " .. p)
      end
    end)
  end)
end)

describe("strided views as inputs", function()
  local function big(rows, cols, seed)
    return nerve.matrix(ref.random_rows(ref.rng(seed), rows, cols, -1, 1))
  end

  for _, s in ipairs{ 3, 17, 63, 257 } do
    it("give what their copies give, width " .. s .. ", on every path", function()
      local X = big(70, s + 9, s)
      local G = big(70, 20, s + 1)
      local xv = X:sub(3, 67, 5, 4 + s)          -- 65 x s, strided
      local gv = G:sub(2, 66, 4, 4 + 5 - 1)      -- 65 x 5, strided
      nerve.seed(s)
      local net = nerve.mlp{ s, 17, 5, hidden = "tanh", output = "linear" }
      local old = nerve.isa()
      local ok, err = pcall(function()
        for _, p in ipairs{ "scalar", table.unpack(PATHS) } do
          nerve.set_isa(p)
          local function go(x, g)
            net:zero_grad()
            local y = net:forward(x):totable()
            local dx = net:backward(x, g):totable()
            return { y = y, dx = dx, grads = { net:layer(1).grad_weight:totable(),
                                               net:layer(1).grad_bias:totable(),
                                               net:layer(3).grad_weight:totable() } }
          end
          local want = go(xv:copy(), gv:copy())
          compare(go(xv, gv), want, "view of width " .. s .. " on " .. p)
        end
      end)
      nerve.set_isa(old)
      if not ok then error(err, 0) end
    end)
  end

  it("feed losses", function()
    local Z = big(10, 10, 5)
    local zv = Z:sub(2, 5, 3, 6)
    local l = nerve.cross_entropy()
    ref.assert_close(l:forward(zv, { 1, 2, 3, 4 }), l:forward(zv:copy(), { 1, 2, 3, 4 }), 1e-6)
    assert.is_true(ref.same(l:backward(zv, { 4, 3, 2, 1 }), l:backward(zv:copy(), { 4, 3, 2, 1 })))
    local m = nerve.mse()
    local yv = Z:sub(6, 9, 1, 4)
    ref.assert_close(m:forward(zv, yv), m:forward(zv:copy(), yv:copy()), 1e-6)
  end)
end)
