-- nerve.stop: convergence criteria for nerve.fit.
--
-- A criterion is a callable object: `c(state) -> stop, reason`, where state
-- holds what fit fills in (epoch, loss, val_loss, grad_norm, seconds, net).
-- It returns `true, name` when it fires and `false` otherwise. Criteria
-- that watch a series (plateau, early) keep counters; `c:reset()` clears
-- them, and fit calls it when it starts, so one object serves many fits.
-- Criteria are level-triggered: once fired they keep firing while their
-- condition holds, which is what stop.all relies on.
--
-- Inside, each criterion has `c:check(state)` (decide and update counters)
-- and `c:finish(state)` (act once training stops because of it: early puts
-- back the best weights); calling the object runs both. stop.any and
-- stop.all combine their children's `check`s and `finish` only when they
-- themselves fire, so an early inside an all that has not fired yet never
-- rewinds the weights. `c.needs_validation` is true for early and for any
-- combination holding one; fit refuses those without validation data.

local type, error, tostring, pairs, ipairs = type, error, tostring, pairs, ipairs
local setmetatable, getmetatable = setmetatable, getmetatable
local format, concat, sort = string.format, table.concat, table.sort
local mtype, huge = math.type, math.huge
local option_checks = require "nerve.options"
local describe, is_callable = option_checks.describe, option_checks.is_callable
local registry = require "nerve.classes"
local _ENV = nil

local M = {}

local Criterion = {}
Criterion.__index = Criterion
Criterion.__name = "nerve.stop"
registry[Criterion.__name] = Criterion

function Criterion.__call(self, state)
  local fired, reason = self:check(state)
  if fired then self:finish(state) end
  return fired, reason
end

function Criterion.__tostring(self)
  return self.description
end

function Criterion.reset(self) end
function Criterion.finish(self, state) end

local function new(name, description, fields)
  fields.name = name
  fields.description = "nerve.stop." .. name .. description
  fields.needs_validation = fields.needs_validation or false
  return setmetatable(fields, Criterion)
end

-- ------------------------------------------------------- argument checks

-- The checkers raise at level 4: checker <- options/constructor <- user.
-- Constructors call them through `arg`, which adds the one missing frame
-- for direct calls.
local function check_number(fname, what, v, level)
  if type(v) ~= "number" or v ~= v then
    error(format("nerve.stop.%s: %s must be a number, got %s",
      fname, what, describe(v)), level)
  end
  return v
end

local function check_count(fname, what, v, level)
  if mtype(v) == "float" and v >= -huge and v < huge and v == v // 1 then
    v = v // 1 | 0
  end
  if mtype(v) ~= "integer" or v < 0 then
    error(format("nerve.stop.%s: %s must be an integer >= 0, got %s",
      fname, what, describe(v)), level)
  end
  return v
end

local function check_boolean(fname, what, v, level)
  if type(v) ~= "boolean" then
    error(format("nerve.stop.%s: %s must be a boolean, got %s",
      fname, what, describe(v)), level)
  end
  return v
end

-- Checks the options table `opts` of constructor `fname` against `spec`
-- ({name = {checker, default}}); returns the options with defaults filled.
local function options(fname, opts, spec)
  if opts == nil then opts = {} end
  if type(opts) ~= "table" or getmetatable(opts) ~= nil then
    error(format("nerve.stop.%s: expected a table of options, got %s",
      fname, describe(opts)), 3)
  end
  local names = {}
  for k in pairs(spec) do names[#names + 1] = k end
  sort(names)
  for k in pairs(opts) do
    if spec[k] == nil then
      error(format("nerve.stop.%s: unknown option '%s' (expected one of %s)",
        fname, tostring(k), concat(names, ", ")), 3)
    end
  end
  local out = {}
  for _, k in ipairs(names) do
    local v = opts[k]
    if v == nil then v = spec[k][2] end
    out[k] = spec[k][1](fname, k, v, 4)
  end
  return out
end

-- Reads a number from the state (level 4: here <- check <- __call <- user).
local function field(fname, state, key)
  if type(state) ~= "table" then
    error(format("nerve.stop.%s: state must be a table, got %s",
      fname, describe(state)), 4)
  end
  local v = state[key]
  if type(v) ~= "number" then
    error(format("nerve.stop.%s: state.%s must be a number, got %s%s",
      fname, key, describe(v), key == "val_loss"
        and " (early stopping needs nerve.fit's validation option)"
        or key == "val_metric"
        and " (watching it needs nerve.fit's metric option)" or ""), 4)
  end
  return v
end

-- ---------------------------------------------------- simple thresholds

-- Fires when the epoch's training loss is below eps.
function M.loss_below(eps)
  eps = check_number("loss_below", "eps", eps, 3)
  return new("loss_below", format("(%g)", eps), {
    eps = eps,
    check = function(self, state)
      if field("loss_below", state, "loss") < self.eps then
        return true, "loss_below"
      end
      return false
    end,
  })
end

-- Fires from epoch n on.
function M.epochs(n)
  n = check_count("epochs", "n", n, 3)
  return new("epochs", format("(%d)", n), {
    n = n,
    check = function(self, state)
      if field("epochs", state, "epoch") >= self.n then
        return true, "epochs"
      end
      return false
    end,
  })
end

-- Fires when the last step's gradient norm is below eps.
function M.grad_norm_below(eps)
  eps = check_number("grad_norm_below", "eps", eps, 3)
  return new("grad_norm_below", format("(%g)", eps), {
    eps = eps,
    check = function(self, state)
      if field("grad_norm_below", state, "grad_norm") < self.eps then
        return true, "grad_norm_below"
      end
      return false
    end,
  })
end

-- Fires once training has taken t seconds of wall clock.
function M.seconds(t)
  t = check_number("seconds", "t", t, 3)
  return new("seconds", format("(%g)", t), {
    t = t,
    check = function(self, state)
      if field("seconds", state, "seconds") >= self.t then
        return true, "seconds"
      end
      return false
    end,
  })
end

-- ------------------------------------------------- patience-based criteria

-- Shared by plateau and early. `best` is the smallest value seen so far;
-- an epoch improves when it beats `best` by more than min_delta. `wait`
-- counts the epochs in a row without an improvement; the criterion fires
-- while wait >= patience (patience 0 acts like 1, as in Keras). A NaN
-- never improves. Returns fired and whether value is a new best.
local function watch(self, value)
  local best = self.best
  -- sign -1 (early's mode = "max") makes larger values the better ones
  local sign = self.sign or 1
  local new_best = value == value and (best == nil or sign * value < sign * best)
  if best == nil then
    if new_best then self.wait = 0 else self.wait = self.wait + 1 end
  elseif sign * (best - value) > self.min_delta then
    self.wait = 0
  else
    self.wait = self.wait + 1
  end
  if new_best then
    self.best = value
    self.best_epoch = self.epoch
  end
  local patience = self.patience > 0 and self.patience or 1
  return self.wait >= patience, new_best
end

local function reset_watch(self)
  self.best, self.best_epoch, self.wait, self.epoch = nil, nil, 0, 0
end

-- nerve.stop.plateau{patience = 10, min_delta = 0}: the training loss has
-- not improved on the best loss so far by more than min_delta for
-- `patience` epochs in a row (a local minimum).
function M.plateau(opts)
  local o = options("plateau", opts, {
    patience = { check_count, 10 },
    min_delta = { check_number, 0 },
  })
  local c = new("plateau", format("{patience = %d, min_delta = %g}",
    o.patience, o.min_delta), {
    patience = o.patience, min_delta = o.min_delta,
    reset = reset_watch,
    check = function(self, state)
      local loss = field("plateau", state, "loss")
      self.epoch = state.epoch or self.epoch + 1
      if watch(self, loss) then return true, "plateau" end
      return false
    end,
  })
  c:reset()
  return c
end

-- What early may watch, and the default mode of each.
local WATCH = { val_loss = "min", val_metric = "max" }

local function check_watch(fname, what, v, level)
  if v ~= nil and not WATCH[v] then
    error(format("nerve.stop.%s: %s must be \"val_loss\" or \"val_metric\", "
      .. "got %s", fname, what, describe(v)), level)
  end
  return v
end

local function check_mode(fname, what, v, level)
  if v ~= nil and v ~= "min" and v ~= "max" then
    error(format("nerve.stop.%s: %s must be \"min\" or \"max\", got %s",
      fname, what, describe(v)), level)
  end
  return v
end

-- nerve.stop.early{patience = 10, min_delta = 0, restore = true,
-- watch = "val_loss", mode = "min"}: the watched value has not improved
-- for `patience` epochs in a row. watch = "val_metric" follows fit's
-- opts.metric (state.val_metric) instead of the validation loss; mode
-- "max" makes larger values better (the default for val_metric, since
-- accuracy grows; say mode = "min" for an error metric). With restore,
-- the criterion keeps a copy of the weights of the best epoch
-- (state.net:clone() once, then copy_parameters on every new best) and
-- copies them back into state.net when it stops training. `c.best`,
-- `c.best_epoch` tell what was kept; when it stops training it also sets
-- state.best_epoch, and state.restored = true once the weights are back.
function M.early(opts)
  local o = options("early", opts, {
    patience = { check_count, 10 },
    min_delta = { check_number, 0 },
    restore = { check_boolean, true },
    watch = { check_watch, "val_loss" },
    mode = { check_mode, nil },
  })
  local mode = o.mode or WATCH[o.watch]
  local extra = ""
  if o.watch ~= "val_loss" or mode ~= "min" then
    extra = format(", watch = %s, mode = %s", o.watch, mode)
  end
  local c = new("early", format("{patience = %d, min_delta = %g, restore = %s%s}",
    o.patience, o.min_delta, tostring(o.restore), extra), {
    patience = o.patience, min_delta = o.min_delta, restore = o.restore,
    watch = o.watch, mode = mode, sign = mode == "max" and -1 or 1,
    needs_validation = true, needs_metric = o.watch == "val_metric",
    reset = function(self)
      reset_watch(self)
      self.snapshot, self.source = nil, nil
    end,
    check = function(self, state)
      local val = field("early", state, self.watch)
      self.epoch = state.epoch or self.epoch + 1
      local fired, new_best = watch(self, val)
      if new_best and self.restore and state.net ~= nil then
        local net = state.net
        if self.source ~= net then
          self.snapshot, self.source = net:clone(), net
        else
          self.snapshot:copy_parameters(net)
        end
      end
      if fired then return true, "early" end
      return false
    end,
    -- Tells fit through the state what it put back, so that the report
    -- describes the weights the network ends with.
    finish = function(self, state)
      if type(state) ~= "table" then return end
      state.best_epoch = self.best_epoch
      if self.restore and self.snapshot ~= nil and state.net == self.source then
        state.net:copy_parameters(self.snapshot)
        state.restored = true
      end
    end,
  })
  c:reset()
  return c
end

-- --------------------------------------------------------- combinations

-- Children may be criteria or plain functions(state) -> stop?, reason.
local function child_check(c, state)
  local mt = getmetatable(c)
  if mt == Criterion then return c:check(state) end
  local fired, reason = c(state)
  return fired, reason
end

local function child_finish(c, state)
  if getmetatable(c) == Criterion then c:finish(state) end
end

local function children(fname, list)
  if type(list) ~= "table" or getmetatable(list) ~= nil then
    error(format("nerve.stop.%s: expected a table of criteria, got %s",
      fname, describe(list)), 3)
  end
  local n = #list
  if n == 0 then
    error(format("nerve.stop.%s: expected at least one criterion", fname), 3)
  end
  for k, v in pairs(list) do
    if mtype(k) ~= "integer" or k < 1 or k > n then
      error(format("nerve.stop.%s: unexpected key '%s' (expected a list " ..
        "of criteria)", fname, tostring(k)), 3)
    end
    if not is_callable(v) then
      error(format("nerve.stop.%s: criterion %d must be a criterion or a " ..
        "function, got %s", fname, k, describe(v)), 3)
    end
  end
  local copy, needs, names, metric = {}, false, {}, false
  for i = 1, n do
    local c = list[i]
    copy[i] = c
    if type(c) == "table" and c.needs_validation == true then needs = true end
    if type(c) == "table" and c.needs_metric == true then metric = true end
    names[i] = getmetatable(c) == Criterion and c.description or "function"
  end
  return copy, needs, "{" .. concat(names, ", ") .. "}", metric
end

local function reset_children(self)
  for _, c in ipairs(self.children) do
    if getmetatable(c) == Criterion then c:reset() end
  end
end

-- Fires when any child fires, with the reason of the first that did (or
-- "stop" for a function that returns true alone). Every child sees every
-- epoch, so the counters of the others stay right.
function M.any(list)
  local kids, needs, desc, metric = children("any", list)
  return new("any", desc, {
    children = kids, needs_validation = needs, needs_metric = metric,
    reset = reset_children,
    check = function(self, state)
      local reason, fired = nil, {}
      for _, c in ipairs(self.children) do
        local f, r = child_check(c, state)
        if f then
          fired[#fired + 1] = c
          if reason == nil then reason = r ~= nil and tostring(r) or "stop" end
        end
      end
      self.fired = fired
      if reason ~= nil then return true, reason end
      return false
    end,
    finish = function(self, state)
      for _, c in ipairs(self.fired or {}) do child_finish(c, state) end
    end,
  })
end

-- Fires when every child fires in the same epoch; the reason is "all".
function M.all(list)
  local kids, needs, desc, metric = children("all", list)
  return new("all", desc, {
    children = kids, needs_validation = needs, needs_metric = metric,
    reset = reset_children,
    check = function(self, state)
      local all = true
      for _, c in ipairs(self.children) do
        if not child_check(c, state) then all = false end
      end
      if all then return true, "all" end
      return false
    end,
    finish = function(self, state)
      for _, c in ipairs(self.children) do child_finish(c, state) end
    end,
  })
end

-- For fit's all-in-C path: loss_below, norm_below, last_epoch when c is
-- made only of loss_below, grad_norm_below and epochs (alone or in an
-- any), so C can run epochs until one of them may fire and fit then asks
-- c itself; nil when c needs to see every epoch.
function M.thresholds(c)
  if getmetatable(c) ~= Criterion then return nil end
  if c.name == "loss_below" then return c.eps, 0, nil end
  if c.name == "grad_norm_below" then return 0, c.eps, nil end
  if c.name == "epochs" then return 0, 0, c.n end
  if c.name ~= "any" then return nil end
  local lb, nb, last = 0, 0, nil
  for _, k in ipairs(c.children) do
    local l, g, e = M.thresholds(k)
    if l == nil then return nil end
    if l > lb then lb = l end
    if g > nb then nb = g end
    if e and (last == nil or e < last) then last = e end
  end
  return lb, nb, last
end

-- True for the objects made here (fit uses it to reset and to check
-- needs_validation).
function M.is_criterion(v)
  return getmetatable(v) == Criterion
end

return M
