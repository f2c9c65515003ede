-- nerve.fit's option and data checks: everything is checked, and the
-- defaults filled in, before anything changes, so a bad option or a bad
-- row late in the data cannot stop training half way.
--
--   local p = checks.check(net, x, y, opts)   -- a plan of the run
--
-- The plan holds the network, the data as matrices, the loss (and the
-- name of a built-in one), the optimizer and every option in its final
-- form; lua/nerve/fit/loop.lua runs it.

local type, error, pairs, ipairs, tostring = type, error, pairs, ipairs, tostring
local pcall, rawequal = pcall, rawequal
local format, concat = string.format, table.concat
local mtype, huge, min = math.type, math.huge, math.min
local io = io
local yieldable = coroutine.isyieldable

local core = require "nerve.core"
local stop_mod = require "nerve.stop"
local options = require "nerve.options"
local describe, is_callable = options.describe, options.is_callable
local plural = options.plural
local losses = require "nerve.loss"
local optim = require "nerve.optim"
local metrics = require "nerve.metrics"
local _ENV = nil

local M = {}

local BUILTIN = { mse = true, cross_entropy = true, bce = true }

local OPTIONS = {
  "batch", "checkpoint", "clip", "epochs", "loss", "metric", "nonfinite",
  "on_epoch", "optimizer", "progress", "restore_on_diverge", "resume",
  "schedule", "seed", "shuffle", "stop", "validation", "yield",
}
local KNOWN = {}
for _, k in ipairs(OPTIONS) do KNOWN[k] = true end

-- Every message points at the user's call of fit: fail(level) raises at
-- `level` counted from the function that calls fail, and a helper given
-- `level` raises as if its caller had (fail(level + 1)). The groups below
-- run from M.check, which fit calls: their level is LEVEL (the group <-
-- M.check <- fit <- the user's call). No call on that path is a tail call,
-- which would take a level away.
local LEVEL = 4

-- ------------------------------------------------------------- helpers

local function fail(level, fmt, ...)
  error("nerve.fit: " .. format(fmt, ...), level + 1)
end
M.fail = fail

local function index(obj, key) return obj[key] end

-- obj[key] for a table or a userdata, nil when indexing it raises.
local function get(obj, key)
  local t = type(obj)
  if t ~= "table" and t ~= "userdata" then return nil end
  local ok, v = pcall(index, obj, key)
  if ok then return v end
  return nil
end
M.get = get

local function has_method(obj, name)
  return is_callable(get(obj, name))
end
M.has_method = has_method

-- Edit distance, for "did you mean" in unknown-option errors.
local function distance(a, b)
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    for j = 1, #b do
      local cost = a:byte(i) == b:byte(j) and 0 or 1
      cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

-- Settings that belong to the optimizer, not to fit.
local OPTIMIZER_SETTINGS = { lr = true, learning_rate = true, momentum = true,
  weight_decay = true, nesterov = true }

local function check_names(opts, level)
  for k in pairs(opts) do
    if not KNOWN[k] then
      local hint = ""
      if OPTIMIZER_SETTINGS[k] then
        hint = format("; '%s' is the optimizer's: optimizer = nerve.sgd(net, " ..
          "{ %s = ... }) (or nerve.adam, ...)", k, k == "learning_rate" and "lr" or k)
      elseif type(k) == "string" then
        local best, bd = nil, 3
        for _, name in ipairs(OPTIONS) do
          local d = distance(k, name)
          if d < bd then best, bd = name, d end
        end
        if best then hint = format("; did you mean '%s'?", best) end
      end
      fail(level + 1, "unknown option '%s' (expected one of %s)%s",
        tostring(k), concat(OPTIONS, ", "), hint)
    end
  end
end

local function integer(v)
  if mtype(v) == "integer" then return v end
  if mtype(v) == "float" and v >= -huge and v < huge and v == v // 1 then
    return v // 1 | 0
  end
  return nil
end

-- ------------------------------------------------------------ the data

-- Whole-set checks of the targets: small targets are read cell by cell
-- here; for large ones a forward pass in C (core.eval_loss checks every
-- target) is cheaper.
local SCAN_CELLS = 1 << 20

local function check_values(t, y, rows, cols, classes, what, level)
  if rows * cols > SCAN_CELLS then
    if t.skip_nonfinite then return end -- train_batch still checks each row
    local ok, msg = pcall(core.eval_loss, t.net, t.loss_name, t.x, y)
    if not ok then
      fail(level + 1, "%s: %s", what, (tostring(msg):gsub("^nerve%.fit: ", "")))
    end
    return
  end
  local n_out = t.n_out
  for i = 1, rows do
    for j = 1, cols do
      local v = y:get(i, j)
      if v ~= v or v == huge or v == -huge then
        if not t.skip_nonfinite then
          fail(level + 1, "%s has %s at row %d, column %d", what,
            v ~= v and "NaN" or "infinity", i, j)
        end
      elseif classes and (v ~= v // 1 or v < 1 or (n_out > 0 and v > n_out)) then
        fail(level + 1, "%s row %d: class %g out of range (expected an " ..
          "integer 1..%s)", what, i, v,
          n_out > 0 and tostring(n_out) or "C")
      end
    end
  end
end

-- Targets for the built-in losses as one matrix: a matrix stays; a Lua
-- array of numbers becomes an N x 1 column (class indices for
-- cross_entropy); a table of rows becomes a matrix. `t` holds net,
-- loss_name, n_out and the inputs x that go with y; `what` names the
-- argument in messages.
local function target_matrix(t, y, what, level)
  local n = t.x:shape()
  if not core.is_matrix(y) then
    if type(y) ~= "table" then
      fail(level + 1, "%s must be a matrix or a table, got %s",
        what, describe(y))
    end
    if #y ~= n then
      fail(level + 1, "%s has %s, the inputs have %d", what, plural(#y, "row"), n)
    end
    if type(y[1]) == "table" then
      local ok, m = pcall(core.matrix, y)
      if not ok then fail(level + 1, "%s: %s", what, tostring(m)) end
      y = m
    else
      local m = core.matrix(n, 1)
      for i = 1, n do
        local v = y[i]
        if type(v) ~= "number" then
          fail(level + 1, "%s[%d] must be a number, got %s",
            what, i, describe(v))
        end
        m:set(i, 1, v)
      end
      y = m
    end
  end
  local rows, cols = y:shape()
  if rows ~= n then
    fail(level + 1, "%s has %s, the inputs have %d", what, plural(rows, "row"),
        n)
  end
  local classes = t.loss_name == "cross_entropy" and cols == 1
  if t.n_out > 0 and not classes and cols ~= t.n_out then
    local hint = ""
    if cols == 1 and t.n_out > 1 then
      hint = "; if it holds class indices 1.." .. t.n_out ..
        ", use loss = nerve.cross_entropy()"
    end
    fail(level + 1, "%s has %s, the network gives %d%s",
      what, plural(cols, "column"), t.n_out, hint)
  end
  check_values(t, y, rows, cols, classes, what, level + 1)
  return y
end

-- Targets for a user-made loss: a matrix, or a Lua array (sliced as is).
local function target_any(y, n, what, level)
  if core.is_matrix(y) then
    local rows = y:shape()
    if rows ~= n then
      fail(level + 1, "%s has %s, the inputs have %d", what, plural(rows, "row"),
        n)
    end
  elseif type(y) == "table" then
    if #y ~= n then
      fail(level + 1, "%s has %s, the inputs have %d", what, plural(#y, "row"), n)
    end
  else
    fail(level + 1, "%s must be a matrix or a table, got %s", what, describe(y))
  end
  return y
end

-- Raises naming the first NaN or infinity of matrix m.
local function check_finite(m, what, level)
  local r, c = core.nonfinite(m)
  if r then
    local v = m:get(r, c)
    fail(level + 1, "%s has %s at row %d, column %d (option nonfinite = " ..
      "\"skip\" leaves such rows out)", what, v ~= v and "NaN" or "infinity",
      r, c)
  end
end

local function input_matrix(x, n_in, what, level)
  if type(x) == "table" and not core.is_matrix(x) then
    local ok, m = pcall(core.matrix, x)
    if not ok then fail(level + 1, "%s: %s", what, tostring(m)) end
    x = m
  end
  if not core.is_matrix(x) then
    fail(level + 1, "%s must be a matrix, got %s", what, describe(x))
  end
  local _, cols = x:shape()
  if n_in > 0 and cols ~= n_in then
    fail(level + 1, "%s has %s, the network expects %d",
      what, plural(cols, "column"), n_in)
  end
  return x
end

-- ----------------------------------------------------------- the groups

-- The arguments themselves and the switches that decide how data is read.
local function check_call(p, net, opts)
  if type(net) ~= "userdata" or not has_method(net, "forward") then
    fail(LEVEL, "bad argument #1 (network expected, got %s)", describe(net))
  end
  if opts == nil then opts = {} end
  if type(opts) ~= "table" then
    fail(LEVEL, "bad argument #4 (options table expected, got %s)",
      describe(opts))
  end
  check_names(opts, LEVEL)
  local nonfinite = opts.nonfinite
  if nonfinite == nil then nonfinite = "error" end
  if nonfinite ~= "error" and nonfinite ~= "skip" then
    fail(LEVEL, "option 'nonfinite' must be \"error\" or \"skip\", got %s",
      describe(nonfinite))
  end
  local restore = opts.restore_on_diverge
  if restore == nil then restore = true end
  if type(restore) ~= "boolean" then
    fail(LEVEL, "option 'restore_on_diverge' must be a boolean, got %s",
      describe(restore))
  end
  p.net, p.skip, p.restore = net, nonfinite == "skip", restore
  return opts
end

-- x, the loss, y, and the rows to leave out under nonfinite = "skip".
local function check_data(p, x, y, opts)
  local net, skip = p.net, p.skip
  local n_in, n_out = net:n_in(), net:n_out()
  x = input_matrix(x, n_in, "x", LEVEL)
  local n = x:shape()

  local loss = opts.loss
  if loss == nil then loss = losses.mse() end
  if not (has_method(loss, "forward") and has_method(loss, "backward")) then
    fail(LEVEL, "option 'loss' must be a loss object (nerve.mse(), ... or a " ..
      "table with forward and backward methods), got %s", describe(loss))
  end
  local loss_name = get(loss, "name")
  if not BUILTIN[loss_name] then loss_name = nil end

  if loss_name then
    y = target_matrix({ net = net, loss_name = loss_name, n_out = n_out,
      x = x, skip_nonfinite = skip }, y, "y", LEVEL)
  else
    y = target_any(y, n, "y", LEVEL)
  end
  -- rows holding NaN or infinity: an error, or left out of training
  local keep, dropped
  if skip then
    keep, dropped = core.finite_rows(x, core.is_matrix(y) and y or nil)
    if keep and #keep == 0 then
      fail(LEVEL, "every row of x or y holds NaN or infinity")
    end
  else
    check_finite(x, "x", LEVEL)
  end
  p.n_in, p.n_out, p.x, p.y, p.n = n_in, n_out, x, y, n
  p.loss, p.loss_name = loss, loss_name
  p.keep, p.dropped = keep, dropped
end

local function check_optimizer(p, opts)
  local net = p.net
  local opt = opts.optimizer
  if opt == nil then opt = optim.sgd(net, { lr = 0.1 }) end
  local core_opt = core.is_optimizer(opt)
  if not core_opt and not has_method(opt, "step") then
    fail(LEVEL, "option 'optimizer' must be an optimizer (nerve.sgd, " ..
      "nerve.adam or an object with a step method), got %s", describe(opt))
  end
  -- An optimizer steps the parameters of the network it was made for;
  -- with another one, fit would train nothing and say nothing.
  local owner = get(opt, "net")
  if core.is_net(owner) and not rawequal(owner, net) then
    fail(LEVEL, "the optimizer belongs to another network (make it for the " ..
      "network you train: optimizer = nerve.%s(net, ...))",
      core_opt and opt.kind or "sgd")
  end
  p.opt, p.core_opt = opt, core_opt
end

-- Counts and switches.
local function check_counts(p, opts)
  local batch = opts.batch
  if batch == nil then
    -- RPROP uses only the gradient's sign: full batches by default
    batch = p.core_opt and p.opt.kind == "rprop" and p.n or 32
  end
  local b = integer(batch)
  if b == nil or b < 1 then
    fail(LEVEL, "option 'batch' must be an integer >= 1, got %s", describe(batch))
  end
  local epochs = opts.epochs
  if epochs == nil then epochs = 1000 end
  local e = integer(epochs)
  if e == nil or e < 0 then
    fail(LEVEL, "option 'epochs' must be an integer >= 0, got %s",
      describe(epochs))
  end
  local shuffle = opts.shuffle
  if shuffle == nil then shuffle = true end
  if type(shuffle) ~= "boolean" then
    fail(LEVEL, "option 'shuffle' must be a boolean, got %s", describe(shuffle))
  end
  local seed = opts.seed
  if seed ~= nil then
    local s = integer(seed)
    if s == nil then
      fail(LEVEL, "option 'seed' must be an integer, got %s", describe(seed))
    end
    seed = s
  end
  local progress = opts.progress
  if progress == nil then progress = false end
  if type(progress) ~= "boolean" then
    fail(LEVEL, "option 'progress' must be a boolean, got %s",
      describe(progress))
  end
  -- yield = true: coroutine.yield(epoch, rows done, rows, batch loss)
  -- after every batch (and once with epoch 0 when the options are
  -- checked), for hosts that train a little per frame.
  local yield = opts.yield
  if yield ~= nil and type(yield) ~= "boolean" then
    fail(LEVEL, "option 'yield' must be a boolean, got %s", describe(yield))
  end
  if yield and not yieldable() then
    fail(LEVEL, "option 'yield' needs fit to run inside a coroutine")
  end
  local on_epoch = opts.on_epoch
  if on_epoch ~= nil and not is_callable(on_epoch) then
    fail(LEVEL, "option 'on_epoch' must be a function, got %s",
      describe(on_epoch))
  end
  p.batch, p.epochs, p.shuffle, p.seed = b, e, shuffle, seed
  p.progress, p.yield, p.on_epoch = progress, yield, on_epoch
end

-- The validation set and the metric measured on it: a name of
-- nerve.metrics.by_name or a function.
local function check_validation(p, opts)
  local validation = opts.validation
  local x_val, y_val
  if validation ~= nil then
    if type(validation) ~= "table" or core.is_matrix(validation) then
      fail(LEVEL, "option 'validation' must be a table {x_val, y_val}, got %s",
        describe(validation))
    end
    x_val = input_matrix(validation[1], p.n_in, "validation[1] (x_val)",
      LEVEL)
    check_finite(x_val, "validation[1] (x_val)", LEVEL)
    local nv = x_val:shape()
    if p.loss_name then
      y_val = target_matrix({ net = p.net, loss_name = p.loss_name,
        n_out = p.n_out, x = x_val }, validation[2],
        "validation[2] (y_val)", LEVEL)
    else
      y_val = target_any(validation[2], nv, "validation[2] (y_val)", LEVEL)
    end
  end

  local metric = opts.metric
  -- the progress bar's label: the built-in metric's name, or "metric"
  local metric_name = type(metric) == "string" and metric or "metric"
  if metric ~= nil then
    if type(metric) == "string" then
      local f = metrics.by_name[metric]
      if f == nil then
        fail(LEVEL, "unknown metric '%s' (expected accuracy, mse, bit_fail " ..
          "or a function(net, x, y) -> number)", metric)
      end
      metric = f
    elseif not is_callable(metric) then
      fail(LEVEL, "option 'metric' must be a metric name or a function(net, " ..
        "x, y) -> number, got %s", describe(metric))
    end
    if validation == nil then
      fail(LEVEL, "option 'metric' needs the 'validation' option (the " ..
        "metric is measured on the validation set)")
    end
  end
  p.x_val, p.y_val, p.metric = x_val, y_val, metric
  p.metric_name = metric ~= nil and metric_name or nil
end

-- The learning-rate schedule and gradient clipping.
local function check_schedule(p, opts)
  local schedule, rate = opts.schedule, nil
  if schedule ~= nil then
    if has_method(schedule, "rate") then
      rate = function(epoch) return schedule:rate(epoch) end
    elseif is_callable(schedule) then
      rate = schedule
    else
      fail(LEVEL, "option 'schedule' must be a schedule (nerve.schedule.*) " ..
        "or a function(epoch) -> lr, got %s", describe(schedule))
    end
    if p.core_opt and p.opt.kind == "rprop" then
      fail(LEVEL, "option 'schedule' does not apply to rprop (it has no " ..
        "learning rate)")
    end
  end
  local clip = opts.clip
  if clip ~= nil and (type(clip) ~= "number" or not (clip > 0 and clip < huge)) then
    fail(LEVEL, "option 'clip' must be a number > 0 (the largest gradient " ..
      "norm), got %s", describe(clip))
  end
  p.rate, p.clip = rate, clip
end

local function check_path(name, path)
  local bad = options.path_problem(path)
  if bad then fail(LEVEL, "option '%s': %s", name, bad) end
end

-- Checkpoints: {path = , every = 1} or a path; resume = true (from
-- checkpoint.path when that file exists) or a path (must load).
local function check_checkpoint(p, opts)
  local ckpt, every = opts.checkpoint, 1
  if ckpt ~= nil then
    if type(ckpt) == "table" then
      for k in pairs(ckpt) do
        if k ~= "path" and k ~= "every" then
          fail(LEVEL, "option 'checkpoint': unknown field '%s' (expected " ..
            "path, every)", tostring(k))
        end
      end
      every = ckpt.every == nil and 1 or integer(ckpt.every)
      if every == nil or every < 1 then
        fail(LEVEL, "option 'checkpoint': every must be an integer >= 1, " ..
          "got %s", describe(ckpt.every))
      end
      ckpt = ckpt.path
    end
    if type(ckpt) ~= "string" then
      fail(LEVEL, "option 'checkpoint' must be a path or {path = ..., " ..
        "every = n}, got %s", describe(ckpt))
    end
    check_path("checkpoint", ckpt)
  end
  local resume = opts.resume
  if resume == true then
    if not ckpt then
      fail(LEVEL, "option 'resume = true' needs option 'checkpoint'")
    end
    local f = io.open(ckpt, "rb")
    if f then f:close(); resume = ckpt else resume = nil end
  elseif resume == false then
    resume = nil
  elseif resume ~= nil and type(resume) ~= "string" then
    fail(LEVEL, "option 'resume' must be true or a path, got %s",
      describe(resume))
  elseif type(resume) == "string" then
    check_path("resume", resume)
  end
  if (ckpt or resume) and not p.core_opt then
    fail(LEVEL, "checkpoints need a nerve optimizer (nerve.sgd, nerve.adam, " ..
      "...) whose state can be saved")
  end
  p.ckpt, p.every, p.resume = ckpt, every, resume
end

-- The stop criterion, reset for this run.
local function check_stop(p, opts)
  local stop = opts.stop
  if stop ~= nil then
    if not is_callable(stop) then
      fail(LEVEL, "option 'stop' must be a criterion (nerve.stop.*) or a " ..
        "function(state), got %s", describe(stop))
    end
    if get(stop, "needs_validation") == true and p.x_val == nil then
      fail(LEVEL, "nerve.stop.early needs the 'validation' option (it " ..
        "watches the validation loss)")
    end
    if get(stop, "needs_metric") == true and p.metric == nil then
      fail(LEVEL, "this stop criterion watches val_metric, which needs the " ..
        "'metric' option")
    end
    if stop_mod.is_criterion(stop) or (type(stop) == "table"
        and has_method(stop, "reset")) then
      stop:reset()
    end
  end
  p.stop = stop
end

--- checks.check(net, x, y, opts) -> the plan of the run (see the top);
-- raises at fit's caller on the first bad argument, in the order below.
function M.check(net, x, y, opts)
  local p = {}
  opts = check_call(p, net, opts)
  check_data(p, x, y, opts)
  check_optimizer(p, opts)
  check_counts(p, opts)
  check_validation(p, opts)
  check_schedule(p, opts)
  check_checkpoint(p, opts)
  check_stop(p, opts)
  return p
end

return M
