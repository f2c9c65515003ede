-- The optimizers: sgd, adam, adamw, rmsprop, adagrad, rprop.
-- Defaults and rules are PyTorch's (RPROP: FANN's iRPROP- constants); the
-- update rules are written out in src/nerve/optim.c and docs/toolkit.md.
local core = require "nerve.core"
local checkopts = require("nerve.options").check

local type, error, pairs, tostring = type, error, pairs, tostring
local _ENV = nil

local M = {}

local function check(fn, net, opts, allowed)
  if not core.is_net(net) then
    error(fn .. ": expected a network as argument 1, got " .. type(net), 3)
  end
  return checkopts(fn, opts, allowed) -- a tail call: errors point at fn's caller
end

-- opts[key] or default, a finite number in [lo, hi] (hi may be nil).
local function number(fn, opts, key, default, lo, hi, open_hi)
  local v = opts[key]
  if v == nil then return default end
  if type(v) ~= "number" or v ~= v or v == 1 / 0 or v == -1 / 0 then
    error(fn .. ": option '" .. key .. "' must be a finite number, got "
      .. tostring(v), 3)
  end
  if v < lo or (hi and (v > hi or (open_hi and v == hi))) then
    local range = hi and ((open_hi and " in [%s, %s)" or " in [%s, %s]")
      :format(lo, hi)) or (" >= " .. lo)
    error(fn .. ": option '" .. key .. "' must be" .. range .. ", got "
      .. tostring(v), 3)
  end
  return v
end

local function set(t)
  local s = {}
  for _, k in pairs(t) do s[k] = true end
  return s
end

-- opts[key] or default, a number >= min (sgd and adam accept infinities).
local function optnumber(fn, opts, key, default, min)
  local v = opts[key]
  if v == nil then return default end
  if type(v) ~= "number" or v ~= v then
    error(fn .. ": option '" .. key .. "' must be a number, got " .. type(v), 3)
  end
  if min and v < min then
    error(fn .. ": option '" .. key .. "' must be >= " .. min, 3)
  end
  return v
end

local SGD = set{ "lr", "momentum", "nesterov", "weight_decay" }

--- nerve.sgd(net, {lr = 0.1, momentum = 0, nesterov = false,
-- weight_decay = 0}): v = momentum v + g; p = p - lr v (Nesterov:
-- p = p - lr (g + momentum v)); g includes weight_decay * p.
function M.sgd(net, opts)
  opts = check("nerve.sgd", net, opts, SGD)
  local nesterov = opts.nesterov
  if nesterov ~= nil and type(nesterov) ~= "boolean" then
    error("nerve.sgd: option 'nesterov' must be a boolean, got " .. type(nesterov), 2)
  end
  return core.sgd(net, optnumber("nerve.sgd", opts, "lr", 0.1, 0),
    optnumber("nerve.sgd", opts, "momentum", 0, 0), nesterov or false,
    optnumber("nerve.sgd", opts, "weight_decay", 0, 0))
end

local ADAM = set{ "lr", "beta1", "beta2", "eps", "weight_decay" }

--- nerve.adam(net, {lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8,
-- weight_decay = 0}): bias-corrected Adam.
function M.adam(net, opts)
  opts = check("nerve.adam", net, opts, ADAM)
  return core.adam(net, optnumber("nerve.adam", opts, "lr", 1e-3, 0),
    optnumber("nerve.adam", opts, "beta1", 0.9, 0),
    optnumber("nerve.adam", opts, "beta2", 0.999, 0),
    optnumber("nerve.adam", opts, "eps", 1e-8, 0),
    optnumber("nerve.adam", opts, "weight_decay", 0, 0))
end

local ADAMW = set{ "lr", "beta1", "beta2", "eps", "weight_decay" }

--- nerve.adamw(net, {lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8,
-- weight_decay = 0.01}): Adam with decoupled weight decay (Loshchilov and
-- Hutter): p = p * (1 - lr * weight_decay), then the Adam step on the bare
-- gradient.
function M.adamw(net, opts)
  local fn = "nerve.adamw"
  opts = check(fn, net, opts, ADAMW)
  return core.adamw(net, number(fn, opts, "lr", 1e-3, 0),
    number(fn, opts, "beta1", 0.9, 0, 1, true),
    number(fn, opts, "beta2", 0.999, 0, 1, true),
    number(fn, opts, "eps", 1e-8, 0),
    number(fn, opts, "weight_decay", 0.01, 0))
end

local RMSPROP = set{ "lr", "alpha", "eps", "weight_decay", "momentum",
  "centered" }

--- nerve.rmsprop(net, {lr = 0.01, alpha = 0.99, eps = 1e-8,
-- weight_decay = 0, momentum = 0, centered = false}):
-- v = alpha v + (1 - alpha) g^2; p = p - lr g / (sqrt(v) + eps).
function M.rmsprop(net, opts)
  local fn = "nerve.rmsprop"
  opts = check(fn, net, opts, RMSPROP)
  local centered = opts.centered
  if centered ~= nil and type(centered) ~= "boolean" then
    error(fn .. ": option 'centered' must be a boolean, got "
      .. type(centered), 2)
  end
  return core.rmsprop(net, number(fn, opts, "lr", 0.01, 0),
    number(fn, opts, "alpha", 0.99, 0, 1),
    number(fn, opts, "eps", 1e-8, 0),
    number(fn, opts, "weight_decay", 0, 0),
    number(fn, opts, "momentum", 0, 0), centered or false)
end

local ADAGRAD = set{ "lr", "lr_decay", "weight_decay", "initial_accumulator",
  "eps" }

--- nerve.adagrad(net, {lr = 0.01, lr_decay = 0, weight_decay = 0,
-- initial_accumulator = 0, eps = 1e-10}): s = s + g^2;
-- p = p - lr / (1 + (t - 1) lr_decay) * g / (sqrt(s) + eps).
function M.adagrad(net, opts)
  local fn = "nerve.adagrad"
  opts = check(fn, net, opts, ADAGRAD)
  return core.adagrad(net, number(fn, opts, "lr", 0.01, 0),
    number(fn, opts, "lr_decay", 0, 0),
    number(fn, opts, "weight_decay", 0, 0),
    number(fn, opts, "initial_accumulator", 0, 0),
    number(fn, opts, "eps", 1e-10, 0))
end

local RPROP = set{ "increase", "decrease", "delta_min", "delta_max",
  "delta_zero", "fann" }

--- nerve.rprop(net, {increase = 1.2, decrease = 0.5, delta_min = 0,
-- delta_max = 50, delta_zero = 0.1}): iRPROP-, FANN's default training
-- algorithm with FANN's default constants. It uses only the sign of the
-- gradient, so it wants full batches: nerve.fit then defaults to one batch
-- of the whole set. fann = true copies FANN 2.x's code where it departs
-- from the published rule (see docs/toolkit.md).
function M.rprop(net, opts)
  local fn = "nerve.rprop"
  opts = check(fn, net, opts, RPROP)
  local dmin = number(fn, opts, "delta_min", 0, 0)
  local dmax = number(fn, opts, "delta_max", 50, 0)
  if dmin > dmax then
    error(fn .. ": option 'delta_min' must not exceed 'delta_max'", 2)
  end
  local inc = number(fn, opts, "increase", 1.2, 1)
  local dec = opts.decrease
  if dec ~= nil and (type(dec) ~= "number" or not (dec > 0 and dec <= 1)) then
    error(fn .. ": option 'decrease' must be a number in (0, 1], got "
      .. tostring(dec), 2)
  end
  local fann = opts.fann
  if fann ~= nil and type(fann) ~= "boolean" then
    error(fn .. ": option 'fann' must be a boolean, got " .. type(fann), 2)
  end
  return core.rprop(net, inc, dec or 0.5, dmin, dmax,
    number(fn, opts, "delta_zero", 0.1, 0), fann or false)
end

return M
