--- nerve: multilayer perceptrons trained by backpropagation.
-- The public API (see docs/api.md); numbers run in the C core, nerve.core.
local core = require "nerve.core"

local type, error, pairs, ipairs, tostring, math_type =
  type, error, pairs, ipairs, tostring, math.type
local pcall, tointeger = pcall, math.tointeger
local concat, sort = table.concat, table.sort
local require = require
local _ENV = nil

local nerve = {
  version = core.version,
  matrix = core.matrix,
  seed = core.seed,
  isa = core.isa,
  set_isa = core.set_isa,
  precisions = core.precisions,
  threads = core.threads,
  load = core.load,
  deserialize = core.deserialize,
  core = core,
}

local checkopts = require("nerve.options").check
nerve.checkopts = checkopts

-- Runs a core function for a wrapper and raises its error, if any, at the
-- wrapper's caller (a C error otherwise points at the wrapper's line).
-- Level 3: here <- wrapper <- caller, so wrappers must not tail-call it.
local function call(f, ...)
  local ok, a, b = pcall(f, ...)
  if not ok then error(tostring(a), 3) end
  return a, b
end

-- Layers ------------------------------------------------------------------

local MAX_DIM = 1 << 24 -- NERVE_MAX_DIM

-- A layer width argument, checked here so that the error names the
-- caller's line (level 3: here <- constructor <- caller).
local function width(fn, v, i, name)
  local n = type(v) == "number" and tointeger(v) or nil
  if n == nil or n < 1 or n > MAX_DIM then
    error(fn .. ": argument #" .. i .. " (" .. name .. ") must be an integer "
      .. "in 1.." .. MAX_DIM .. ", got " .. (v == nil and "nothing"
        or type(v) == "number" and tostring(v) or type(v)), 3)
  end
  return n
end

local linear_opts = { init = true, sd = true, value = true, gain = true }
local inits = { xavier = true, he = true, uniform = true, zero = true,
  normal = true, xavier_normal = true, he_normal = true, constant = true,
  orthogonal = true }
-- the option that carries each parametrised init's number
local init_param = { normal = "sd", constant = "value", orthogonal = "gain" }

--- nerve.linear(n_in, n_out [, opts]): a fully connected layer.
-- opts.init: "xavier" (default), "he", "uniform", "zero", "normal"
-- (N(0, sd^2), opts.sd = 0.01), "xavier_normal", "he_normal", "constant"
-- (opts.value = 0), "orthogonal" (opts.gain = 1) or
-- function(n_in, n_out) -> number, called once per weight. Biases start
-- at zero.
function nerve.linear(n_in, n_out, opts)
  n_in = width("nerve.linear", n_in, 1, "n_in")
  n_out = width("nerve.linear", n_out, 2, "n_out")
  opts = checkopts("nerve.linear", opts, linear_opts)
  local init = opts.init
  if type(init) == "string" and not inits[init] then
    error("nerve.linear: unknown init '" .. init .. "' (expected xavier, he, "
      .. "uniform, zero, normal, xavier_normal, he_normal, constant, "
      .. "orthogonal or a function)", 2)
  end
  for _, key in pairs(init_param) do
    if opts[key] ~= nil and init_param[init] ~= key then
      error("nerve.linear: option '" .. key .. "' goes with init = '"
        .. (key == "sd" and "normal" or key == "value" and "constant"
          or "orthogonal") .. "'", 2)
    end
  end
  local param = init_param[init] and opts[init_param[init]]
  if param ~= nil and (type(param) ~= "number" or param ~= param
      or param == 1 / 0 or param == -1 / 0 or (init == "normal" and param < 0)) then
    error("nerve.linear: option '" .. init_param[init] .. "' must be a finite "
      .. "number" .. (init == "normal" and " >= 0" or "") .. ", got "
      .. tostring(param), 2)
  end
  local layer = core.linear(n_in, n_out)
  if type(init) == "string" then
    if init ~= "xavier" then layer:init(init, param) end
  elseif type(init) == "function" then
    local w = layer.weight
    for i = 1, n_in do
      for j = 1, n_out do
        local v = init(n_in, n_out)
        if type(v) ~= "number" then
          error("nerve.linear: init function returned " .. type(v)
            .. ", expected a number", 2)
        end
        w:set(i, j, v)
      end
    end
  elseif init ~= nil then
    error("nerve.linear: option 'init' must be a string or a function, got "
      .. type(init), 2)
  end
  return layer
end

function nerve.sigmoid() return core.activation("sigmoid") end
function nerve.tanh() return core.activation("tanh") end
function nerve.relu() return core.activation("relu") end
function nerve.softmax() return core.activation("softmax") end
function nerve.identity() return core.activation("identity") end

function nerve.leaky_relu(alpha)
  if alpha ~= nil and type(alpha) ~= "number" then
    error("nerve.leaky_relu: alpha must be a number, got " .. type(alpha), 2)
  end
  return core.activation("leaky_relu", alpha or 0.01)
end

-- Activations by name, for mlp; "linear" adds no layer.
local activations = {
  sigmoid = nerve.sigmoid, tanh = nerve.tanh, relu = nerve.relu,
  leaky_relu = nerve.leaky_relu, softmax = nerve.softmax,
  identity = nerve.identity, linear = false,
}

-- More layers (lua/nerve/layers.lua), also by name in mlp.
do
  local more = require "nerve.layers"
  nerve.dropout = more.dropout
  for _, name in ipairs(more.names) do
    nerve[name], activations[name] = more[name], more[name]
  end
end

--- nerve.sequential{ layer, ... }: a network of the layers in order.
function nerve.sequential(layers)
  if layers ~= nil and type(layers) ~= "table" then
    error("nerve.sequential: expected a table of layers, got " .. type(layers), 2)
  end
  local net = core.net()
  for i, layer in ipairs(layers or {}) do
    if not core.is_layer(layer) then
      error("nerve.sequential: entry " .. i .. " is " .. type(layer)
        .. ", expected a layer", 2)
    end
    call(net.add, net, layer)
  end
  return net
end

local function activation(fn, name)
  local make = activations[name]
  if make == nil then
    local names = {}
    for k in pairs(activations) do names[#names + 1] = k end
    sort(names)
    error(fn .. ": unknown activation '" .. tostring(name) .. "' (expected "
      .. concat(names, ", ") .. ")", 3)
  end
  return make
end

--- nerve.mlp{ 2, 4, 1, hidden = "tanh", output = "sigmoid" }: linear layers
-- of those widths, each followed by an activation.
function nerve.mlp(spec)
  if type(spec) ~= "table" then
    error("nerve.mlp: expected a table like {2, 4, 1}, got " .. type(spec), 2)
  end
  for k in pairs(spec) do
    if k ~= "hidden" and k ~= "output" and math_type(k) ~= "integer" then
      error("nerve.mlp: unknown option '" .. tostring(k)
        .. "' (expected hidden, output)", 2)
    end
  end
  local n = #spec
  if n < 2 then error("nerve.mlp: expected at least two layer sizes", 2) end
  for i = 1, n do
    if math_type(spec[i]) ~= "integer" or spec[i] < 1 then
      error("nerve.mlp: size " .. i .. " must be a positive integer, got "
        .. tostring(spec[i]), 2)
    end
  end
  local hidden = activation("nerve.mlp", spec.hidden or "sigmoid")
  local output = activation("nerve.mlp", spec.output or "sigmoid")
  local net = core.net()
  for i = 1, n - 1 do
    local layer = core.linear(spec[i], spec[i + 1])
    net:add(layer)
    local make = i < n - 1 and hidden or output
    if make then net:add(make()) end
  end
  return net
end

-- Losses ------------------------------------------------------------------

-- Targets as the core wants them: a Lua array of class indices becomes an
-- N x 1 matrix, a table of rows a matrix.
local function targets(y)
  if type(y) ~= "table" then return y end
  if type(y[1]) == "number" then
    local m = core.matrix(#y, 1)
    for i = 1, #y do m:set(i, 1, y[i]) end
    return m
  end
  return core.matrix(y)
end
nerve.targets = targets

do
  local losses = require "nerve.loss"
  nerve.mse = losses.mse
  nerve.cross_entropy = losses.cross_entropy
  nerve.bce = losses.bce
end

-- Optimizers --------------------------------------------------------------

local function checknet(fn, net)
  if not core.is_net(net) then
    error(fn .. ": expected a network as argument 1, got " .. type(net), 3)
  end
end

-- The optimizers (lua/nerve/optim.lua): sgd, adam, adamw, rmsprop, adagrad,
-- rprop.
do
  local optim = require "nerve.optim"
  nerve.sgd, nerve.adam = optim.sgd, optim.adam
  nerve.adamw, nerve.rmsprop = optim.adamw, optim.rmsprop
  nerve.adagrad, nerve.rprop = optim.adagrad, optim.rprop
end

-- Gradient check ------------------------------------------------------------

--- nerve.gradcheck(net, loss, x, y [, eps]): the largest
-- |g_backprop - g_numeric| / max(1, |g_numeric|) over all parameters, with
-- central differences of step eps (default 1e-3). Leaves the parameters
-- and the accumulated gradients as they were. Every forward starts from
-- the same generator state (restored at the end), so dropout draws one
-- mask for the whole check and is checked through it.
function nerve.gradcheck(net, lossf, x, y, eps)
  checknet("nerve.gradcheck", net)
  if type(lossf) ~= "table" or type(lossf.forward) ~= "function" then
    error("nerve.gradcheck: expected a loss as argument 2", 2)
  end
  eps = eps or 1e-3
  if type(eps) ~= "number" or not (eps > 0) then
    error("nerve.gradcheck: eps must be a positive number", 2)
  end
  y = targets(y)
  -- Everything that can raise on bad input runs before anything changes.
  local rng = core.rng_state()
  local function forward()
    core.set_rng_state(rng)
    return net:forward(x)
  end
  local dy = lossf:backward(forward(), y)
  local params, grads = net:parameters(), net:gradients()
  local saved = {}
  for i, g in ipairs(grads) do saved[i] = g:copy() end
  net:zero_grad()
  net:backward(x, dy)
  local worst = 0
  for i, p in ipairs(params) do
    local rows, cols = p:shape()
    for r = 1, rows do
      for c = 1, cols do
        local orig = p:get(r, c)
        p:set(r, c, orig + eps)
        local up = p:get(r, c)
        local lp = lossf:forward(forward(), y)
        p:set(r, c, orig - eps)
        local down = p:get(r, c)
        local lm = lossf:forward(forward(), y)
        p:set(r, c, orig)
        local num = (lp - lm) / (up - down)
        local diff = grads[i]:get(r, c) - num
        if diff < 0 then diff = -diff end
        local scale = num < 0 and -num or num
        if scale < 1 then scale = 1 end
        if diff / scale > worst then worst = diff / scale end
      end
    end
  end
  for i, g in ipairs(grads) do
    local rows, cols = g:shape()
    local s = saved[i]
    for r = 1, rows do
      for c = 1, cols do g:set(r, c, s:get(r, c)) end
    end
  end
  core.set_rng_state(rng)
  return worst
end

-- Metrics -----------------------------------------------------------------

--- nerve.accuracy(net, x, y): the fraction of rows whose largest output is
-- the class in y (class indices 1..C as an N x 1 matrix or a Lua array, or
-- one-hot rows).
function nerve.accuracy(net, x, y)
  checknet("nerve.accuracy", net)
  local acc = call(core.accuracy, net, x, targets(y))
  return acc
end

-- Training ----------------------------------------------------------------

nerve.stop = require "nerve.stop"
nerve.schedule = require "nerve.schedule"
nerve.checkpoint = require "nerve.checkpoint"
nerve.fit = require "nerve.fit"
nerve.data = require "nerve.data"
nerve.metrics = require "nerve.metrics"
nerve.trainer = require("nerve.trainer").trainer
nerve.plot = require "nerve.plot"
nerve.show = require("nerve.show").show
do
  local help = require "nerve.help"
  help.attach(nerve)
  nerve.help = help.help
end
require("nerve.summary").install()

return nerve
