-- nerve.schedule: learning rates per epoch, for nerve.fit (option
-- `schedule`) and for hand-written loops.
--
--   local s = nerve.schedule.cosine{ lr = 0.1, epochs = 100, min = 0 }
--   for epoch = 1, 100 do s:apply(opt, epoch) ... end   -- sets opt.lr
--
-- Epochs count from 1, as in fit; every schedule gives `lr` at epoch 1.
--   constant{lr}                    lr
--   step{lr, step, gamma = 0.1}     lr * gamma^floor((e-1) / step)   (StepLR)
--   exponential{lr, gamma}          lr * gamma^(e-1)                  (ExponentialLR)
--   cosine{lr, epochs, min = 0}     min + (lr - min) (1 + cos(pi (e-1) / epochs)) / 2
--                                   for e - 1 <= epochs, then min (no restart)
-- Each also takes `warmup = k`: epochs 1..k rise linearly, lr * e / k, and
-- the schedule itself then starts at epoch k + 1 as if it were its epoch 1.
-- nerve.schedule.warmup{lr, epochs = k} is a warm-up followed by lr.
-- A schedule is a function of the epoch alone, so a checkpoint's epoch is
-- all it needs to resume.
local type, error, pairs, tostring, setmetatable, getmetatable =
  type, error, pairs, tostring, setmetatable, getmetatable
local floor, cos, pi, mtype = math.floor, math.cos, math.pi, math.type
local format, concat, sort = string.format, table.concat, table.sort
local registry = require "nerve.classes"
local _ENV = nil

local M = {}

local Schedule = {}
Schedule.__index = Schedule
Schedule.__name = "nerve.Schedule"
registry[Schedule.__name] = Schedule

local function check(fn, opts, allowed, required)
  if type(opts) ~= "table" then
    error(fn .. ": expected an options table, got " .. type(opts), 3)
  end
  allowed.warmup = true
  for k in pairs(opts) do
    if not allowed[k] then
      local names = {}
      for name in pairs(allowed) do names[#names + 1] = name end
      sort(names)
      error(fn .. ": unknown option '" .. tostring(k) .. "' (expected "
        .. concat(names, ", ") .. ")", 3)
    end
  end
  for _, k in pairs(required) do
    if opts[k] == nil then error(fn .. ": option '" .. k .. "' is required", 3) end
  end
end

local function number(fn, v, key, lo, default, int)
  if v == nil then return default end
  if type(v) ~= "number" or v ~= v or v == 1 / 0 or v < lo
      or (int and mtype(v) ~= "integer" and v ~= floor(v)) then
    error(fn .. ": option '" .. key .. "' must be a" .. (int and "n integer" or
      " finite number") .. " >= " .. lo .. ", got " .. tostring(v), 3)
  end
  return int and floor(v) or v
end

local function make(fn, opts, kind, f)
  local s = setmetatable({ kind = kind, f = f }, Schedule)
  s.lr = number(fn, opts.lr, "lr", 0)
  s.warmup = number(fn, opts.warmup, "warmup", 0, 0, true)
  return s
end

local function epoch_of(e)
  if mtype(e) ~= "integer" then
    if type(e) == "number" and e == floor(e) then return floor(e) end
    error("nerve.schedule: epoch must be an integer >= 1, got " .. tostring(e), 3)
  end
  if e < 1 then
    error("nerve.schedule: epoch must be an integer >= 1, got " .. e, 3)
  end
  return e
end

--- s:rate(epoch): the learning rate for that epoch (1-based).
function Schedule:rate(epoch)
  epoch = epoch_of(epoch)
  local w = self.warmup
  if epoch <= w then return self.lr * epoch / w end
  return self.f(epoch - w - 1)
end

Schedule.__call = Schedule.rate

--- s:apply(opt, epoch): sets opt.lr to the epoch's rate and returns it.
function Schedule:apply(opt, epoch)
  local r = self:rate(epoch)
  opt.lr = r
  return r
end

function Schedule:__tostring()
  return format("nerve.schedule.%s(lr=%g%s)", self.kind, self.lr,
    self.warmup > 0 and format(", warmup=%d", self.warmup) or "")
end

function M.is_schedule(v) return getmetatable(v) == Schedule end

function M.constant(opts)
  local fn = "nerve.schedule.constant"
  check(fn, opts, { lr = true }, { "lr" })
  local s
  s = make(fn, opts, "constant", function() return s.lr end)
  return s
end

function M.warmup(opts)
  local fn = "nerve.schedule.warmup"
  check(fn, opts, { lr = true, epochs = true }, { "lr", "epochs" })
  local k = number(fn, opts.epochs, "epochs", 1, nil, true)
  local s
  s = make(fn, { lr = opts.lr, warmup = k }, "warmup", function() return s.lr end)
  return s
end

function M.step(opts)
  local fn = "nerve.schedule.step"
  check(fn, opts, { lr = true, step = true, gamma = true }, { "lr", "step" })
  local step = number(fn, opts.step, "step", 1, nil, true)
  local gamma = number(fn, opts.gamma, "gamma", 0, 0.1)
  local s
  s = make(fn, opts, "step", function(e) return s.lr * gamma ^ (e // step) end)
  s.step, s.gamma = step, gamma
  return s
end

function M.exponential(opts)
  local fn = "nerve.schedule.exponential"
  check(fn, opts, { lr = true, gamma = true }, { "lr", "gamma" })
  local gamma = number(fn, opts.gamma, "gamma", 0)
  local s
  s = make(fn, opts, "exponential", function(e) return s.lr * gamma ^ e end)
  s.gamma = gamma
  return s
end

function M.cosine(opts)
  local fn = "nerve.schedule.cosine"
  check(fn, opts, { lr = true, epochs = true, min = true }, { "lr", "epochs" })
  local t = number(fn, opts.epochs, "epochs", 1, nil, true)
  local lo = number(fn, opts.min, "min", 0, 0)
  local s
  s = make(fn, opts, "cosine", function(e)
    if e >= t then return lo end
    return lo + (s.lr - lo) * (1 + cos(pi * e / t)) / 2
  end)
  s.epochs, s.min = t, lo
  return s
end

return M
