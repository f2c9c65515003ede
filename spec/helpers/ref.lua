-- Shared helpers for the specs: a double-precision reference of the
-- networks nerve builds, finite differences, and near-compares.
--   local ref = dofile("spec/helpers/ref.lua")
local nerve = require "nerve"

local ref = {}

-- The float32 value nearest to v, as a Lua double.
function ref.f32(v)
  return (string.unpack("<f", string.pack("<f", v)))
end

-- A small deterministic generator (independent of math.random).
function ref.rng(seed)
  local s = (seed or 1) * 2654435761 % 4294967296
  local g = {}
  function g.uniform(lo, hi)
    s = (s * 1103515245 + 12345) % 2147483648
    local u = s / 2147483648
    return lo + (hi - lo) * u
  end
  function g.int(lo, hi)
    return math.min(hi, lo + math.floor(g.uniform(0, 1) * (hi - lo + 1)))
  end
  return g
end

-- A rows x cols table of float32-representable uniform numbers.
function ref.random_rows(g, rows, cols, lo, hi)
  local t = {}
  for i = 1, rows do
    t[i] = {}
    for j = 1, cols do t[i][j] = ref.f32(g.uniform(lo or -1, hi or 1)) end
  end
  return t
end

function ref.totable(m)
  local r, c = m:shape()
  local t = {}
  for i = 1, r do
    t[i] = {}
    for j = 1, c do t[i][j] = m:get(i, j) end
  end
  return t
end

function ref.copy_rows(t)
  local c = {}
  for i, row in ipairs(t) do
    c[i] = {}
    for j, v in ipairs(row) do c[i][j] = v end
  end
  return c
end

-- Fills every entry of a nerve matrix from a table of rows.
function ref.set_all(m, t)
  for i, row in ipairs(t) do
    for j, v in ipairs(row) do m:set(i, j, v) end
  end
end

-- Largest |a - b| / max(floor, |b|) over two tables of rows (or matrices).
function ref.max_rel(a, b, floor)
  if type(a) ~= "table" then a = ref.totable(a) end
  if type(b) ~= "table" then b = ref.totable(b) end
  floor = floor or 1
  assert(#a == #b, "row counts differ: " .. #a .. " vs " .. #b)
  local worst, where = 0, nil
  for i = 1, #a do
    assert(#a[i] == #b[i], "column counts differ in row " .. i)
    for j = 1, #a[i] do
      local e = math.abs(a[i][j] - b[i][j]) / math.max(floor, math.abs(b[i][j]))
      if e ~= e then e = math.huge end
      if e > worst then worst, where = e, { i, j, a[i][j], b[i][j] } end
    end
  end
  return worst, where
end

-- Asserts that a and b (tables of rows or matrices) agree within rel,
-- relative to max(floor, |b|).
function ref.assert_near(a, b, rel, floor, what)
  local e, w = ref.max_rel(a, b, floor)
  if e > rel then
    error(string.format("%s: error %.3g > %.3g at (%d,%d): got %.9g, want %.9g",
      what or "values", e, rel, w[1], w[2], w[3], w[4]), 2)
  end
end

-- Same for two numbers.
function ref.assert_close(got, want, rel, floor, what)
  local e = math.abs(got - want) / math.max(floor or 1e-30, math.abs(want))
  if not (e <= rel) then
    error(string.format("%s: got %.9g, want %.9g (error %.3g > %.3g)",
      what or "value", got, want, e, rel), 2)
  end
end

-- Tables of rows that are bitwise equal.
function ref.same(a, b)
  if type(a) ~= "table" then a = ref.totable(a) end
  if type(b) ~= "table" then b = ref.totable(b) end
  if #a ~= #b then return false end
  for i = 1, #a do
    if #a[i] ~= #b[i] then return false end
    for j = 1, #a[i] do
      if a[i][j] ~= b[i][j] then return false end
    end
  end
  return true
end

-- Snapshot of every parameter and gradient of a network.
function ref.snapshot(net)
  local s = {}
  for i = 1, #net do
    local l = net:layer(i)
    if l.weight then
      s[#s + 1] = ref.totable(l.weight)
      s[#s + 1] = ref.totable(l.bias)
      s[#s + 1] = ref.totable(l.grad_weight)
      s[#s + 1] = ref.totable(l.grad_bias)
    end
  end
  return s
end

function ref.same_snapshot(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do
    if not ref.same(a[i], b[i]) then return false end
  end
  return true
end

------------------------------------------------------------------------
-- Networks described as lists: { {"linear", n_in, n_out}, {"tanh"},
-- {"leaky_relu", alpha}, {"softmax"}, ... }

local acts = {
  sigmoid = function(a) return 1 / (1 + math.exp(-a)) end,
  tanh = function(a)
    if a > 20 then return 1 elseif a < -20 then return -1 end
    local e = math.exp(2 * a)
    return (e - 1) / (e + 1)
  end,
  relu = function(a) return a > 0 and a or 0 end,
}

-- erf and erfc in double: the Maclaurin series for |x| < 3 (error below
-- 1e-13 there), the continued fraction of erfc beyond.
local function erfc_cf(x) -- x >= 3
  local f = x
  for k = 60, 1, -1 do f = x + (k / 2) / f end
  return math.exp(-x * x) / math.sqrt(math.pi) / f
end

function ref.erf(x)
  if math.abs(x) >= 3 then
    local c = erfc_cf(math.abs(x))
    return x > 0 and 1 - c or c - 1
  end
  local term, sum, n = x, x, 0
  repeat
    n = n + 1
    term = -term * x * x / n
    local add = term / (2 * n + 1)
    sum = sum + add
  until math.abs(add) <= 1e-17 * math.abs(sum)
  return 2 / math.sqrt(math.pi) * sum
end

function ref.erfc(x)
  if x >= 3 then return erfc_cf(x) end
  if x <= -3 then return 2 - erfc_cf(-x) end
  return 1 - ref.erf(x)
end

acts.softplus = function(a)
  return math.max(a, 0) + math.log(1 + math.exp(-math.abs(a)))
end
acts.gelu = function(a) return 0.5 * a * ref.erfc(-a / math.sqrt(2)) end

-- e^x - 1 and tanh without cancellation near 0 (Taylor there)
local function expm1(x)
  if math.abs(x) < 1e-5 then return x + x * x / 2 + x * x * x / 6 end
  return math.exp(x) - 1
end

local function tanh(x)
  if math.abs(x) < 1e-5 then return x - x * x * x / 3 end
  return acts.tanh(x)
end

-- activations with a parameter: param -> function(a)
local param_acts = {
  elu = function(alpha)
    alpha = alpha or 1
    return function(a) return a > 0 and a or alpha * expm1(a) end
  end,
  sigmoid_symmetric = function(s)
    s = s or 0.5
    return function(a) return tanh(s * a) end
  end,
}

-- The double-precision function of activation k (with parameter p).
function ref.activation(k, p)
  if param_acts[k] then return param_acts[k](p) end
  return acts[k]
end

-- Builds the nerve network of a description; linear weights are set to
-- float32 uniform numbers in [-scale, scale] and biases likewise.
function ref.build(desc, g, scale)
  local layers = {}
  for i, d in ipairs(desc) do
    local k = d[1]
    if k == "linear" then
      layers[i] = nerve.linear(d[2], d[3])
    elseif k == "leaky_relu" then
      layers[i] = d[2] and nerve.leaky_relu(d[2]) or nerve.leaky_relu()
    else
      layers[i] = nerve[k](d[2])
    end
  end
  local net = nerve.sequential(layers)
  if g then
    scale = scale or 1
    for i, d in ipairs(desc) do
      if d[1] == "linear" then
        local l = net:layer(i)
        ref.set_all(l.weight, ref.random_rows(g, d[2], d[3], -scale, scale))
        ref.set_all(l.bias, ref.random_rows(g, 1, d[3], -scale, scale))
      end
    end
  end
  return net
end

-- The parameters of net as double tables: params[i] = {w = rows, b = row}
-- for every linear layer i of desc.
function ref.params(net, desc)
  local p = {}
  for i, d in ipairs(desc) do
    if d[1] == "linear" then
      local l = net:layer(i)
      p[i] = { w = ref.totable(l.weight), b = ref.totable(l.bias)[1] }
    end
  end
  return p
end

-- Forward phase in double precision; x is a table of rows.
function ref.forward(desc, params, x)
  local o = ref.copy_rows(x)
  for i, d in ipairs(desc) do
    local k = d[1]
    local n = {}
    if k == "linear" then
      local w, b = params[i].w, params[i].b
      for r = 1, #o do
        n[r] = {}
        for j = 1, d[3] do
          local a = b[j]
          for q = 1, d[2] do a = a + o[r][q] * w[q][j] end
          n[r][j] = a
        end
      end
    elseif k == "softmax" then
      for r = 1, #o do
        local m = -math.huge
        for j = 1, #o[r] do m = math.max(m, o[r][j]) end
        local s = 0
        n[r] = {}
        for j = 1, #o[r] do n[r][j] = math.exp(o[r][j] - m); s = s + n[r][j] end
        for j = 1, #o[r] do n[r][j] = n[r][j] / s end
      end
    else
      local f = acts[k]
      if k == "leaky_relu" then
        local alpha = d[2] or 0.01
        f = function(a) return a > 0 and a or alpha * a end
      elseif param_acts[k] then
        f = param_acts[k](d[2])
      end
      for r = 1, #o do
        n[r] = {}
        for j = 1, #o[r] do n[r][j] = f(o[r][j]) end
      end
    end
    o = n
  end
  return o
end

-- Losses in double precision. y is a table of rows, or for
-- cross_entropy a Lua array of class indices.
function ref.loss(kind, yhat, y)
  local B = #yhat
  local e = 0
  if kind == "mse" then
    for b = 1, B do
      for j = 1, #yhat[b] do e = e + (yhat[b][j] - y[b][j]) ^ 2 end
    end
    return e / (2 * B)
  elseif kind == "cross_entropy" then
    for b = 1, B do
      local z = yhat[b]
      local m = -math.huge
      for j = 1, #z do m = math.max(m, z[j]) end
      local s = 0
      for j = 1, #z do s = s + math.exp(z[j] - m) end
      local t = y[b]
      if type(t) == "table" then
        if #t == 1 then t = t[1] else
          for j = 1, #t do if t[j] == 1 then t = j break end end
        end
      end
      e = e - (z[t] - m - math.log(s))
    end
    return e / B
  elseif kind == "bce" then
    for b = 1, B do
      for j = 1, #yhat[b] do
        local p, t = yhat[b][j], y[b][j]
        e = e - (t * math.log(p) + (1 - t) * math.log(1 - p))
      end
    end
    return e / B
  end
  error("unknown loss " .. tostring(kind))
end

-- The loss of the double reference for the network's current parameters.
function ref.energy(desc, params, x, kind, y)
  return ref.loss(kind, ref.forward(desc, params, x), y)
end

-- Central-difference gradients in double precision of every parameter
-- and of the input: returns grads[i] = {w = rows, b = row}, dx = rows.
function ref.numeric(desc, params, x, kind, y, h)
  h = h or 1e-6
  local function diff(get, set)
    local v = get()
    set(v + h)
    local ep = ref.energy(desc, params, x, kind, y)
    set(v - h)
    local em = ref.energy(desc, params, x, kind, y)
    set(v)
    return (ep - em) / (2 * h)
  end
  local grads = {}
  for i, p in pairs(params) do
    local gw, gb = {}, {}
    for q = 1, #p.w do
      gw[q] = {}
      for j = 1, #p.w[q] do
        gw[q][j] = diff(function() return p.w[q][j] end,
                        function(v) p.w[q][j] = v end)
      end
    end
    for j = 1, #p.b do
      gb[j] = diff(function() return p.b[j] end, function(v) p.b[j] = v end)
    end
    grads[i] = { w = gw, b = gb }
  end
  local dx = {}
  for r = 1, #x do
    dx[r] = {}
    for q = 1, #x[r] do
      dx[r][q] = diff(function() return x[r][q] end,
                      function(v) x[r][q] = v end)
    end
  end
  return grads, dx
end

-- Largest absolute value in a table of rows.
function ref.max_abs(t)
  local m = 0
  for _, row in ipairs(t) do
    for _, v in ipairs(row) do m = math.max(m, math.abs(v)) end
  end
  return m
end

-- Runs one forward/backward of net on (x, y) with nerve's loss and checks
-- every gradient (and dE/dx) against central differences of the double
-- reference. y_nerve is what the nerve loss gets, y_ref what ref.loss gets.
function ref.check_gradients(net, desc, kind, x, y_nerve, y_ref, rel)
  rel = rel or 2e-4
  local loss = nerve[kind]()
  net:zero_grad()
  local xm = nerve.matrix(x)
  local yhat = net:forward(xm)
  local dx = net:backward(xm, loss:backward(yhat, y_nerve))
  local params = ref.params(net, desc)
  local grads, ndx = ref.numeric(desc, params, ref.copy_rows(x), kind, y_ref)
  -- scale: the largest numeric gradient; it must not be zero
  local scale = ref.max_abs(ndx)
  for _, g in pairs(grads) do
    scale = math.max(scale, ref.max_abs(g.w), ref.max_abs({ g.b }))
  end
  assert(scale > 1e-3, "the gradient is (almost) all zero: the check would be vacuous")
  local nonzero = 0
  for i, g in pairs(grads) do
    local l = net:layer(i)
    local gw, gb = ref.totable(l.grad_weight), ref.totable(l.grad_bias)
    for _, row in ipairs(gw) do
      for _, v in ipairs(row) do if v ~= 0 then nonzero = nonzero + 1 end end
    end
    ref.assert_near(gw, g.w, rel, scale, "grad_weight of layer " .. i)
    ref.assert_near(gb, { g.b }, rel, scale, "grad_bias of layer " .. i)
  end
  assert(nonzero > 0, "nerve's grad_weight is all zero")
  ref.assert_near(dx, ndx, rel, scale, "dE/dx")
  -- the loss itself matches the reference
  local e = loss:forward(net:forward(xm), y_nerve)
  ref.assert_close(e, ref.energy(desc, params, x, kind, y_ref), 1e-5, 1e-3, "E")
end

return ref
