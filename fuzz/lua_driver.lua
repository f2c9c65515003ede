-- lua_driver.lua - runs fuzz input as a program of nerve API calls.
--
-- Called by fuzz_lua.c with the input bytes in a fresh lua_State. The bytes
-- are a tiny bytecode: an op byte, then the op's argument bytes (slots,
-- sizes, values drawn from tables of interesting ones). Values live in 16
-- slots; every call runs under pcall. Any error is acceptable unless it is
-- an internal one: a Lua runtime error ("attempt to ...") raised from the
-- nerve sources, or an error value that is not a string. Those, and any
-- crash, leak or sanitizer report, are findings.
local data = ...
local nerve = require "nerve"
local core = nerve.core

local pos, len = 1, #data
local function byte()
  if pos > len then return 0 end
  local b = data:byte(pos)
  pos = pos + 1
  return b
end

local NSLOT = 16
local slot = {}
local boxes = {} -- tables that finalizer traps reach (filled later)
for i = 1, 4 do boxes[i] = {} end

local function sl() return (byte() % NSLOT) + 1 end
local function get() return slot[sl()] end
local function put(v) slot[sl()] = v end

-- a slot holding a value of the wanted kind when one exists (searching
-- from the drawn slot on), so that most calls get past argument checks;
-- one byte in eight takes the drawn slot whatever it holds
local function pick(is)
  local b = byte()
  local i = b % NSLOT + 1
  if b >= 224 then return slot[i] end
  for k = 0, NSLOT - 1 do
    local v = slot[(i + k - 1) % NSLOT + 1]
    if is(v) then return v end
  end
  return slot[i]
end
local function is_loss(v)
  return type(v) == "table" and type(v.forward) == "function"
end
local function net() return pick(core.is_net) end
local function matx() return pick(core.is_matrix) end
local function layer() return pick(core.is_layer) end
local function optim() return pick(core.is_optimizer) end
local function loss() return pick(is_loss) end

-- sizes: mostly small, sometimes at or past the limits
local DIMS = { 1, 2, 3, 4, 5, 8, 1, 2, 3, 0, -1, 17, 65, 1 << 24, (1 << 24) + 1,
  2 ^ 31, 2.5, 1e300, math.mininteger, "3" }
local function dim()
  local b = byte()
  if b < 200 then return b % 6 + 1 end
  return DIMS[b % #DIMS + 1]
end

local NUMS = { 0, 1, -1, 0.5, -2, 3, 1e4, -1e4, 1e30, -1e30, 1 / 0, -1 / 0,
  0 / 0, 1e-40, 2 ^ 31, 2 ^ 63, math.maxinteger, math.mininteger, 0.1, 88.8,
  -88.8, 3.4e38, -3.4e38, 1e-8, 2, 10 }
local function num()
  local b = byte()
  if b < 128 then return (b - 64) / 16 end
  return NUMS[b % #NUMS + 1]
end

local STRS = { "mse", "cross_entropy", "bce", "sigmoid", "tanh", "relu",
  "leaky_relu", "softmax", "identity", "linear", "xavier", "he", "uniform",
  "zero", "", "nope", "lr", "steps", "kind", "weight", "bias", "grad_weight",
  "grad_bias", "n_in", "n_out", "alpha", "error", "skip" }
local function str() return STRS[byte() % #STRS + 1] end

-- any value: from a slot, or a fresh number, string, nil or boolean
local function val()
  local b = byte()
  if b < 128 then return slot[b % NSLOT + 1] end
  if b < 176 then return num() end
  if b < 200 then return dim() end
  if b < 224 then return str() end
  if b < 240 then return nil end
  if b < 248 then return b % 2 == 0 end
  local t = {}
  for i = 1, byte() % 4 do t[i] = val() end
  return t
end

local function mat(rows, cols)
  local t = {}
  for i = 1, rows do
    local r = {}
    for j = 1, cols do r[j] = num() end
    t[i] = r
  end
  return core.matrix(t)
end

-- a small matrix of numbers or class indices
local function data_matrix()
  local rows, cols = byte() % 6 + 1, byte() % 5 + 1
  return mat(rows, cols)
end

local function options(keys)
  local o = {}
  for _ = 1, byte() % 4 do
    local k = keys[byte() % #keys + 1]
    o[k] = val()
  end
  return o
end

local FIT_KEYS = { "batch", "epochs", "loss", "optimizer", "shuffle", "seed",
  "stop", "validation", "on_epoch", "nonfinite", "restore_on_diverge",
  "progress_no" }
local STOPS = {
  function() return nerve.stop.loss_below(num()) end,
  function() return nerve.stop.epochs(dim()) end,
  function() return nerve.stop.plateau{ patience = dim(), min_delta = num() } end,
  function() return nerve.stop.early{ patience = dim(), restore = byte() % 2 == 0 } end,
  function() return nerve.stop.grad_norm_below(num()) end,
  function() return nerve.stop.any{ val(), val() } end,
  function() return nerve.stop.all{ val(), val() } end,
}

local METHODS = {
  "forward", "backward", "zero_grad", "update", "grad_norm", "layer",
  "parameters", "gradients", "num_parameters", "n_in", "n_out", "clone",
  "copy_parameters", "serialize", "close", "add", "shape", "get", "set",
  "totable", "copy", "fill", "sub", "init", "step", "shuffle", "uniform",
}

-- A callback that does something to a captured value when called.
local function callback()
  local v, m, a, b = val(), METHODS[byte() % #METHODS + 1], val(), val()
  local ret = val()
  return function()
    pcall(function() return v[m](v, a, b) end)
    return ret
  end
end

local ops = {
  -- constructors
  function() put(core.matrix(dim(), dim(), num())) end,
  function() put(data_matrix()) end,
  function() put(nerve.linear(dim(), dim(), byte() % 3 == 0 and { init = str() } or nil)) end,
  function() put(nerve.linear(dim(), dim(), { init = callback() })) end,
  function() put(core.activation(str(), num())) end,
  function() put(nerve.sequential{ layer(), layer(), layer() }) end,
  function()
    local spec = {}
    for i = 1, byte() % 4 + 1 do spec[i] = dim() end
    if byte() % 2 == 0 then spec.hidden = str() end
    if byte() % 2 == 0 then spec.output = str() end
    put(nerve.mlp(spec))
  end,
  function() local n = net(); put(n:add(layer())) end,
  function() put(nerve.mlp{ byte() % 4 + 1, byte() % 4 + 1, byte() % 4 + 1,
    hidden = "tanh", output = "linear" }) end,
  function() put(({ nerve.mse, nerve.cross_entropy, nerve.bce })[byte() % 3 + 1]()) end,
  function() put(nerve.sgd(net(), options{ "lr", "momentum", "nesterov", "weight_decay" })) end,
  function() put(nerve.adam(net(), options{ "lr", "beta1", "beta2", "eps", "weight_decay" })) end,
  function() put(core.perm(dim())) end,
  function() put(core.rng(byte())) end,
  -- the main calls
  function() local n = net(); put(n:forward(matx())) end,
  function() local n = net(); put(n:forward(data_matrix())) end,
  function() local n = net(); put(n:backward(matx(), matx())) end,
  function() local l = loss(); put(l:forward(matx(), matx())) end,
  function() local l = loss(); put(l:backward(matx(), matx())) end,
  function()
    local o = options(FIT_KEYS)
    if o.epochs ~= nil then o.epochs = byte() % 4 end
    if o.stop ~= nil then o.stop = STOPS[byte() % #STOPS + 1]() end
    if o.on_epoch ~= nil then o.on_epoch = callback() end
    if o.validation ~= nil then o.validation = { matx(), matx() } end
    if o.loss ~= nil then o.loss = loss() end
    if o.optimizer ~= nil then o.optimizer = optim() end
    o.epochs = o.epochs or byte() % 3 + 1
    put(nerve.fit(net(), matx(), matx(), o))
  end,
  function() put(nerve.accuracy(net(), matx(), matx())) end,
  function() put(nerve.gradcheck(net(), loss(), matx(), matx(), val())) end,
  function() put(core.train_batch(net(), val(), matx(), matx(), get(), dim(), dim(), optim())) end,
  function() put(core.eval_loss(net(), val(), matx(), matx())) end,
  -- model format
  function() local n = net(); put(n:serialize()) end,
  function()
    local s = pick(function(v) return type(v) == "string" end)
    if type(s) ~= "string" then return end
    local p, b = byte() % (#s + 1) + 1, string.char(byte())
    put(nerve.deserialize(s:sub(1, p - 1) .. b .. s:sub(p + 1)))
  end,
  function() put(nerve.deserialize(pick(function(v) return type(v) == "string" end))) end,
  -- a method by name with values from anywhere
  function()
    local o, m = get(), METHODS[byte() % #METHODS + 1]
    put(o[m](o, val(), val(), val(), val()))
  end,
  function() local o = get(); put(o[str()]) end,
  function() local o = get(); o[str()] = val() end,
  function() put(tostring(get())) end,
  function() put(#get()) end,
  function() local o = matx(); put(o:sub(dim(), dim(), dim(), dim())) end,
  function() local o = matx(); put(o:set(dim(), dim(), num())) end,
  -- lifetime: close, drop, collect, finalizer traps, coroutines
  function() local o = get(); o:close() end,
  function() slot[sl()] = nil end,
  function() collectgarbage(byte() % 2 == 0 and "collect" or "step") end,
  function()
    local box, m, a = boxes[byte() % 4 + 1], METHODS[byte() % #METHODS + 1], val()
    setmetatable({}, { __gc = function()
      for _, v in pairs(box) do pcall(function() return v[m](v, a) end) end
    end })
  end,
  function() boxes[byte() % 4 + 1][byte() % 4 + 1] = get() end,
  function() for i = 1, 4 do boxes[i] = {} end end,
  function()
    local n, x = net(), matx()
    local co = coroutine.wrap(function()
      local out = n:forward(x)
      coroutine.yield(out)
      return n:backward(x, out)
    end)
    put(co)
  end,
  function() local co = get(); if type(co) == "function" then put(co()) end end,
}

local function internal(msg)
  if type(msg) ~= "string" then return true end
  -- a Lua runtime error inside nerve's own Lua sources
  return msg:find("lua/nerve/[%w_]+%.lua:%d+: attempt to") ~= nil
end

while pos <= len do
  local op = ops[byte() % #ops + 1]
  local ok, err = pcall(op)
  if not ok and internal(err) then
    error("internal error: " .. tostring(err), 0)
  end
end
