-- nerve.fit: the mini-batch training driver.
--
--   report = nerve.fit(net, x, y, opts)
--
-- With a built-in loss (mse, cross_entropy, bce) and a core optimizer,
-- core.train_epochs runs the epochs in C: one per call, or many when no
-- Lua code needs to see each epoch (that is what makes fit on tiny nets as
-- fast as a C loop). With yield or a Lua optimizer (any object with a
-- `step` method, stepped here) every batch is one C call, core.train_batch,
-- which zeroes the gradients, runs forward, loss and backward and steps a
-- core optimizer: the same steps, the same floats. Any other loss object
-- takes the generic path: batches are copied into matrices in Lua and the
-- loss's forward/backward are called; slow, but exact.
--
-- Per epoch: the batches, then the validation loss and, with opts.metric
-- ("accuracy", "mse", "bit_fail" of nerve.metrics, or a function(net, x_val,
-- y_val) -> number), state.val_metric (also report.val_metric and
-- report.val_metric_history), then `state` is built,
-- `on_epoch(state)` is called (false stops with "on_epoch"), then the stop
-- criterion. A criterion that fires on the last allowed epoch wins over
-- "epochs".

local type, error, pairs, ipairs, tostring = type, error, pairs, ipairs, tostring
local setmetatable = setmetatable
local pcall, require, rawequal = pcall, require, rawequal
local format, concat = string.format, table.concat
local mtype, huge, sqrt, min = math.type, math.huge, math.sqrt, math.min
local max, floor = math.max, math.floor
local io = io
local co_yield, yieldable = coroutine.yield, coroutine.isyieldable

local core = require "nerve.core"
local stop_mod = require "nerve.stop"
local checkpoint_mod = require "nerve.checkpoint"
local options = require "nerve.options"
local describe, is_callable = options.describe, options.is_callable
local plural = options.plural
local registry = require "nerve.classes"
local _ENV = nil

local BUILTIN = { mse = true, cross_entropy = true, bce = true }
-- seconds of epochs per C call when the progress bar is on (it redraws
-- at most every 0.5 s)
local PROGRESS_SECONDS = 0.2

local OPTIONS = {
  "batch", "checkpoint", "clip", "epochs", "loss", "metric", "nonfinite",
  "on_epoch", "optimizer", "progress", "restore_on_diverge", "resume",
  "schedule", "seed", "shuffle", "stop", "validation", "yield",
}
local KNOWN = {}
for _, k in ipairs(OPTIONS) do KNOWN[k] = true end

-- ------------------------------------------------------------- helpers

-- Every check raises at `level` counted from its caller, so a check made
-- directly in fit passes 2 and the message points at the user's call.
local function fail(level, fmt, ...)
  error("nerve.fit: " .. format(fmt, ...), level + 1)
end

local function index(obj, key) return obj[key] end

-- obj[key] for a table or a userdata, nil when indexing it raises.
local function get(obj, key)
  local t = type(obj)
  if t ~= "table" and t ~= "userdata" then return nil end
  local ok, v = pcall(index, obj, key)
  if ok then return v end
  return nil
end

local function has_method(obj, name)
  return is_callable(get(obj, name))
end

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

local function check_options(opts)
  for k in pairs(opts) do
    if not KNOWN[k] then
      local hint = ""
      if type(k) == "string" then
        local best, bd = nil, 3
        for _, name in ipairs(OPTIONS) do
          local d = distance(k, name)
          if d < bd then best, bd = name, d end
        end
        if best then hint = format("; did you mean '%s'?", best) end
      end
      fail(3, "unknown option '%s' (expected one of %s)%s",
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

-- Whole-set checks of the targets before training, so that a bad row late
-- in the data cannot stop training half way (nothing is half changed after
-- an error). Small targets are read cell by cell here; for large ones a
-- forward pass in C (core.eval_loss checks every target) is cheaper.
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
    fail(level + 1, "%s has %s, the network gives %d",
      what, plural(cols, "column"), t.n_out)
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

-- 1 when every parameter of net is finite.
local function finite_params(net)
  for _, p in ipairs(net:parameters()) do
    if core.nonfinite(p) then return false end
  end
  return true
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

-- ----------------------------------------------------- the generic path

-- Rows first..first+count-1 of `order` (a core permutation, or nil for
-- the rows in order) of src, into buf when it has the right size.
local function row_of(order, i)
  if order == nil then return i end
  return order:get(i)
end

local function copy_rows(src, order, first, count, buf)
  local _, cols = src:shape()
  local dst = buf
  if dst == nil or #dst ~= count then dst = core.matrix(count, cols) end
  for k = 1, count do
    local r = row_of(order, first + k - 1)
    for j = 1, cols do dst:set(k, j, src:get(r, j)) end
  end
  return dst
end

local function slice(y, order, first, count, buf)
  if core.is_matrix(y) then
    return copy_rows(y, order, first, count, core.is_matrix(buf) and buf or nil)
  end
  local t = {}
  for k = 1, count do t[k] = y[row_of(order, first + k - 1)] end
  return t
end

-- L2 norm of the accumulated gradients of every linear layer.
local function grad_norm_of(net)
  local sum = 0
  for i = 1, #net do
    local layer = net:layer(i)
    for _, key in ipairs{ "grad_weight", "grad_bias" } do
      local g = get(layer, key)
      if g ~= nil then
        local rows, cols = g:shape()
        for r = 1, rows do
          for c = 1, cols do
            local v = g:get(r, c)
            sum = sum + v * v
          end
        end
      end
    end
  end
  return sqrt(sum)
end

-- One epoch on the generic path; returns the summed loss (batch mean times
-- rows) and the last step's gradient norm.
local function generic_epoch(run)
  local net, loss, opt, x, y, n = run.net, run.loss, run.opt, run.x, run.y, run.n
  local order = run.perm
  if order and run.shuffle then order:shuffle(run.rng) end
  -- One batch in order is the data set itself: no copy.
  local whole = run.batch >= n and order == nil
  local sum, gn, first = 0, nil, 1
  while first <= n do
    local count = min(run.batch, n - first + 1)
    local xb, yb
    if whole then
      xb, yb = x, y
    else
      local full = count == run.batch
      xb = copy_rows(x, order, first, count, full and run.xbuf or nil)
      yb = slice(y, order, first, count, full and run.ybuf or nil)
      if full then run.xbuf, run.ybuf = xb, yb end
    end
    net:zero_grad()
    local yhat = net:forward(xb)
    local l = loss:forward(yhat, yb)
    if type(l) ~= "number" then
      error(format("nerve.fit: the loss's forward returned %s, expected a " ..
        "number", describe(l)), 0)
    end
    local g = loss:backward(yhat, yb)
    net:backward(xb, g)
    first = first + count
    if first > n then gn = grad_norm_of(net) end
    if run.clip then net:clip_grad_norm(run.clip) end
    opt:step()
    sum = sum + l * count
    if run.yield then co_yield(run.epoch, first - 1, n, l) end
  end
  return sum, gn
end

-- ---------------------------------------------------------------- fit

-- The report prints as a summary rather than as a table's address.
local Report = { __name = "nerve.FitReport" }
registry[Report.__name] = Report

local function number(v)
  if type(v) ~= "number" then return tostring(v) end
  return format("%.6g", v)
end

function Report.__tostring(r)
  local out = { format("nerve.fit report: %d epoch%s", r.epochs or 0,
    r.epochs == 1 and "" or "s") }
  if r.seconds then out[#out + 1] = format(" in %.3gs", r.seconds) end
  out[#out + 1] = ", stopped: " .. tostring(r.stopped)
  if r.restored and r.stopped ~= "diverged" and r.best_epoch then
    out[#out + 1] = format(" (epoch %d restored)", r.best_epoch)
  elseif r.restored then
    out[#out + 1] = " (last finite weights restored)"
  end
  out[#out + 1] = "; loss " .. number(r.loss)
  if r.val_loss ~= nil then out[#out + 1] = ", val_loss " .. number(r.val_loss) end
  if r.val_metric ~= nil then
    out[#out + 1] = ", val_metric " .. number(r.val_metric)
  end
  if r.best_epoch and not r.restored then
    out[#out + 1] = format(", best epoch %d", r.best_epoch)
  end
  if (r.dropped or 0) > 0 then
    out[#out + 1] = format(", %d row%s left out", r.dropped,
      r.dropped == 1 and "" or "s")
  end
  return concat(out)
end

-- A bar on a terminal, plain lines elsewhere (nerve/progress.lua).
local function progress_line(state, epochs, rows, stopped)
  require("nerve.progress").show(state, epochs, rows, stopped, io.stderr)
end

local function fit(net, x, y, opts)
  local nerve = require "nerve"
  local t0 = core.clock()

  if type(net) ~= "userdata" or not has_method(net, "forward") then
    fail(2, "bad argument #1 (network expected, got %s)", describe(net))
  end
  if opts == nil then opts = {} end
  if type(opts) ~= "table" then
    fail(2, "bad argument #4 (options table expected, got %s)", describe(opts))
  end
  check_options(opts)
  local nonfinite = opts.nonfinite
  if nonfinite == nil then nonfinite = "error" end
  if nonfinite ~= "error" and nonfinite ~= "skip" then
    fail(2, "option 'nonfinite' must be \"error\" or \"skip\", got %s",
      describe(nonfinite))
  end
  local skip = nonfinite == "skip"
  local restore = opts.restore_on_diverge
  if restore == nil then restore = true end
  if type(restore) ~= "boolean" then
    fail(2, "option 'restore_on_diverge' must be a boolean, got %s",
      describe(restore))
  end

  local n_in, n_out = net:n_in(), net:n_out()
  x = input_matrix(x, n_in, "x", 2)
  local n = x:shape()

  -- loss
  local loss = opts.loss
  if loss == nil then loss = nerve.mse() end
  if not (has_method(loss, "forward") and has_method(loss, "backward")) then
    fail(2, "option 'loss' must be a loss object (nerve.mse(), ... or a " ..
      "table with forward and backward methods), got %s", describe(loss))
  end
  local loss_name = get(loss, "name")
  if not BUILTIN[loss_name] then loss_name = nil end

  if loss_name then
    y = target_matrix({ net = net, loss_name = loss_name, n_out = n_out,
      x = x, skip_nonfinite = skip }, y, "y", 2)
  else
    y = target_any(y, n, "y", 2)
  end
  -- rows holding NaN or infinity: an error, or left out of training
  local keep, dropped
  if skip then
    keep, dropped = core.finite_rows(x, core.is_matrix(y) and y or nil)
    if keep and #keep == 0 then
      fail(2, "every row of x or y holds NaN or infinity")
    end
  else
    check_finite(x, "x", 2)
  end

  -- optimizer
  local opt = opts.optimizer
  if opt == nil then opt = nerve.sgd(net, { lr = 0.1 }) end
  local core_opt = core.is_optimizer(opt)
  if not core_opt and not has_method(opt, "step") then
    fail(2, "option 'optimizer' must be an optimizer (nerve.sgd, nerve.adam " ..
      "or an object with a step method), got %s", describe(opt))
  end
  -- An optimizer steps the parameters of the network it was made for;
  -- with another one, fit would train nothing and say nothing.
  local owner = get(opt, "net")
  if core.is_net(owner) and not rawequal(owner, net) then
    fail(2, "the optimizer belongs to another network (make it for the " ..
      "network you train: optimizer = nerve.%s(net, ...))",
      core_opt and opt.kind or "sgd")
  end

  -- counts and switches
  local batch = opts.batch
  if batch == nil then
    -- RPROP uses only the gradient's sign: full batches by default
    batch = core_opt and opt.kind == "rprop" and n or 32
  end
  local b = integer(batch)
  if b == nil or b < 1 then
    fail(2, "option 'batch' must be an integer >= 1, got %s", describe(batch))
  end
  batch = b
  local epochs = opts.epochs
  if epochs == nil then epochs = 1000 end
  local e = integer(epochs)
  if e == nil or e < 0 then
    fail(2, "option 'epochs' must be an integer >= 0, got %s", describe(epochs))
  end
  epochs = e
  local shuffle = opts.shuffle
  if shuffle == nil then shuffle = true end
  if type(shuffle) ~= "boolean" then
    fail(2, "option 'shuffle' must be a boolean, got %s", describe(shuffle))
  end
  local seed = opts.seed
  if seed ~= nil then
    local s = integer(seed)
    if s == nil then
      fail(2, "option 'seed' must be an integer, got %s", describe(seed))
    end
    seed = s
  end
  local progress = opts.progress
  if progress == nil then progress = false end
  if type(progress) ~= "boolean" then
    fail(2, "option 'progress' must be a boolean, got %s", describe(progress))
  end
  -- yield = true: coroutine.yield(epoch, rows done, rows, batch loss)
  -- after every batch (and once with epoch 0 when the options are
  -- checked), for hosts that train a little per frame.
  local yield = opts.yield
  if yield ~= nil and type(yield) ~= "boolean" then
    fail(2, "option 'yield' must be a boolean, got %s", describe(yield))
  end
  if yield and not yieldable() then
    fail(2, "option 'yield' needs fit to run inside a coroutine")
  end
  local on_epoch = opts.on_epoch
  if on_epoch ~= nil and not is_callable(on_epoch) then
    fail(2, "option 'on_epoch' must be a function, got %s", describe(on_epoch))
  end

  -- validation
  local validation = opts.validation
  local x_val, y_val
  if validation ~= nil then
    if type(validation) ~= "table" or core.is_matrix(validation) then
      fail(2, "option 'validation' must be a table {x_val, y_val}, got %s",
        describe(validation))
    end
    x_val = input_matrix(validation[1], n_in, "validation[1] (x_val)", 2)
    check_finite(x_val, "validation[1] (x_val)", 2)
    local nv = x_val:shape()
    if loss_name then
      y_val = target_matrix({ net = net, loss_name = loss_name,
        n_out = n_out, x = x_val }, validation[2], "validation[2] (y_val)", 2)
    else
      y_val = target_any(validation[2], nv, "validation[2] (y_val)", 2)
    end
  end

  -- validation metric: a name of nerve.metrics.by_name or a function
  local metric = opts.metric
  if metric ~= nil then
    if type(metric) == "string" then
      local f = nerve.metrics.by_name[metric]
      if f == nil then
        fail(2, "unknown metric '%s' (expected accuracy, mse, bit_fail or " ..
          "a function(net, x, y) -> number)", metric)
      end
      metric = f
    elseif not is_callable(metric) then
      fail(2, "option 'metric' must be a metric name or a function(net, x, " ..
        "y) -> number, got %s", describe(metric))
    end
    if validation == nil then
      fail(2, "option 'metric' needs the 'validation' option (the metric " ..
        "is measured on the validation set)")
    end
  end

  -- learning-rate schedule and gradient clipping
  local schedule, rate = opts.schedule, nil
  if schedule ~= nil then
    if has_method(schedule, "rate") then
      rate = function(epoch) return schedule:rate(epoch) end
    elseif is_callable(schedule) then
      rate = schedule
    else
      fail(2, "option 'schedule' must be a schedule (nerve.schedule.*) or a " ..
        "function(epoch) -> lr, got %s", describe(schedule))
    end
    if core_opt and opt.kind == "rprop" then
      fail(2, "option 'schedule' does not apply to rprop (it has no learning " ..
        "rate)")
    end
  end
  local clip = opts.clip
  if clip ~= nil and (type(clip) ~= "number" or not (clip > 0 and clip < huge)) then
    fail(2, "option 'clip' must be a number > 0 (the largest gradient norm), " ..
      "got %s", describe(clip))
  end

  -- checkpoints: {path = , every = 1} or a path; resume = true (from
  -- checkpoint.path when that file exists) or a path (must load)
  local ckpt, every = opts.checkpoint, 1
  if ckpt ~= nil then
    if type(ckpt) == "table" then
      for k in pairs(ckpt) do
        if k ~= "path" and k ~= "every" then
          fail(2, "option 'checkpoint': unknown field '%s' (expected path, " ..
            "every)", tostring(k))
        end
      end
      every = ckpt.every == nil and 1 or integer(ckpt.every)
      if every == nil or every < 1 then
        fail(2, "option 'checkpoint': every must be an integer >= 1, got %s",
          describe(ckpt.every))
      end
      ckpt = ckpt.path
    end
    if type(ckpt) ~= "string" then
      fail(2, "option 'checkpoint' must be a path or {path = ..., every = n}, " ..
        "got %s", describe(ckpt))
    end
  end
  local resume = opts.resume
  if resume == true then
    if not ckpt then fail(2, "option 'resume = true' needs option 'checkpoint'") end
    local f = io.open(ckpt, "rb")
    if f then f:close(); resume = ckpt else resume = nil end
  elseif resume == false then
    resume = nil
  elseif resume ~= nil and type(resume) ~= "string" then
    fail(2, "option 'resume' must be true or a path, got %s", describe(resume))
  end
  if (ckpt or resume) and not core_opt then
    fail(2, "checkpoints need a nerve optimizer (nerve.sgd, nerve.adam, ...) " ..
      "whose state can be saved")
  end

  -- stop criterion
  local stop = opts.stop
  if stop ~= nil then
    if not is_callable(stop) then
      fail(2, "option 'stop' must be a criterion (nerve.stop.*) or a " ..
        "function(state), got %s", describe(stop))
    end
    if get(stop, "needs_validation") == true and validation == nil then
      fail(2, "nerve.stop.early needs the 'validation' option (it watches " ..
        "the validation loss)")
    end
    if get(stop, "needs_metric") == true and metric == nil then
      fail(2, "this stop criterion watches val_metric, which needs the " ..
        "'metric' option")
    end
    if stop_mod.is_criterion(stop) or (type(stop) == "table"
        and has_method(stop, "reset")) then
      stop:reset()
    end
  end

  -- the run
  -- Both paths draw the same permutations, so batches do not depend on
  -- which path runs.
  local perm, rng, run
  if keep then perm, n = keep, #keep
  elseif shuffle then perm = core.perm(n) end
  if seed ~= nil then rng = core.rng(seed) end
  if not loss_name then
    run = {
      net = net, loss = loss, opt = opt, x = x, y = y, n = n, batch = batch,
      perm = perm, rng = rng, clip = clip, yield = yield, shuffle = shuffle,
    }
  end
  local train_opt = core_opt and opt or nil
  local lua_opt = not core_opt and opt or nil

  -- training mode for the batches (dropout on); validation evaluates;
  -- the network's mode is put back afterwards
  local was_training = net:is_training()
  net:training()

  local history, val_history, metric_history = {}, {}, {}
  local report = setmetatable({
    epochs = 0, history = history, val_history = val_history,
    stopped = "epochs", dropped = dropped or 0,
    val_metric_history = metric ~= nil and metric_history or nil,
  }, Report)
  local first_epoch = 1
  if resume then
    local ck, err = checkpoint_mod.load(resume)
    if not ck then fail(2, "cannot resume: %s", err) end
    local st = ck.state
    if type(st) ~= "table" or type(st.history) ~= "table" then
      fail(2, "cannot resume: %s was not written by nerve.fit", resume)
    end
    local ok, msg = pcall(ck.restore, ck, { net = net, optimizer = opt })
    if not ok then fail(2, "cannot resume: %s", tostring(msg)) end
    if (st.perm ~= nil) ~= (perm ~= nil) or (perm and not
        core.perm_set_state(perm, st.perm)) then
      fail(2, "cannot resume: the checkpoint's shuffling does not fit this " ..
        "run (another data set size, or shuffle changed)")
    end
    if rng and st.rng then core.set_rng_state(st.rng, rng) end
    for i, v in ipairs(st.history) do history[i] = v end
    for i = 1, #st.history do val_history[i] = st.val_history[i] end
    first_epoch = ck.epoch + 1
    local last = #history
    if last > 0 then
      report.epochs, report.loss, report.val_loss = last, history[last],
        val_history[last]
    end
  end

  -- the last finite weights, put back if the loss becomes NaN or infinite
  local snapshot = restore and has_method(net, "clone") and net:clone() or nil
  local last_print = t0
  if yield then co_yield(0, 0, n) end -- checked, ready: nothing ran yet
  -- The schedule's rate for the epoch about to run.
  local function set_rate(epoch)
    if not rate then return end
    local lr = rate(epoch)
    if type(lr) ~= "number" then
      error(format("nerve.fit: the schedule returned %s for epoch %d, " ..
        "expected a number", describe(lr), epoch), 0)
    end
    opt.lr = lr
  end

  -- The validation loss of the network as it is now.
  local function validation_loss()
    if loss_name then return core.eval_loss(net, loss_name, x_val, y_val) end
    return loss:forward(net:predict(x_val), y_val)
  end

  -- One epoch driven from Lua: a C call per batch (or the generic path);
  -- returns the epoch's loss and its last step's gradient norm.
  local function lua_epoch(epoch)
    local sum, gn
    set_rate(epoch)
    if loss_name then
      if perm and shuffle then perm:shuffle(rng) end
      sum = 0
      local first = 1
      while first <= n do
        local count = min(batch, n - first + 1)
        -- the gradient norm only for the epoch's last step (state.grad_norm)
        local l, g = core.train_batch(net, loss_name, x, y, perm, first,
          count, train_opt, clip, first + count > n)
        if lua_opt then
          if clip then net:clip_grad_norm(clip) end
          lua_opt:step()
        end
        sum = sum + l * count
        gn = g
        first = first + count
        if l ~= l or l == huge then break end -- diverged: see below
        if yield then co_yield(epoch, first - 1, n, l) end
      end
    else
      run.epoch = epoch
      sum, gn = generic_epoch(run)
    end
    return sum / n, gn
  end

  -- Epochs run in C (core.train_epochs) unless Lua must see each batch
  -- (yield, a Lua optimizer, a loss written in Lua). Several per call when
  -- no Lua code needs to see each epoch either, up to where a threshold
  -- criterion may fire (stop then decides), and with progress about
  -- PROGRESS_SECONDS of them (the first call one epoch, to time it); one
  -- per call otherwise.
  local in_c = loss_name and train_opt and not yield
  local many = in_c and on_epoch == nil and x_val == nil and rate == nil
    and not ckpt
  local loss_stop, norm_stop, last_epoch
  if many and stop ~= nil then
    loss_stop, norm_stop, last_epoch = stop_mod.thresholds(stop)
    many = loss_stop ~= nil
  end
  local chunk = (not many or progress) and 1 or huge
  local best_val, best_val_epoch -- the lowest validation loss, for the report
  local epoch = first_epoch
  while epoch <= epochs do
    local epoch_loss, gn
    if in_c then
      set_rate(epoch)
      local want = min(epochs, last_epoch or epochs, epoch + chunk - 1)
        - epoch + 1
      local done
      local c0 = core.clock()
      done, epoch_loss, gn = core.train_epochs(net, loss_name, x, y, perm,
        shuffle and (rng or true), batch, train_opt, clip, epoch,
        want < 1 and 1 or want, history, loss_stop, norm_stop, snapshot,
        true) -- x was checked above
      epoch = epoch + done - 1
      if many and progress then
        local per = (core.clock() - c0) / done
        chunk = max(1, floor(PROGRESS_SECONDS / (per + 1e-9)))
      end
    else
      epoch_loss, gn = lua_epoch(epoch)
    end

    if epoch_loss ~= epoch_loss or epoch_loss == huge or epoch_loss == -huge then
      history[epoch] = epoch_loss
      report.epochs, report.loss, report.stopped = epoch, epoch_loss, "diverged"
      report.grad_norm = gn -- the diverging step's
      if snapshot then
        net:copy_parameters(snapshot)
        report.restored = true
      end
      break
    end
    if snapshot and not in_c and finite_params(net) then
      snapshot:copy_parameters(net)
    end
    local val_loss = x_val and validation_loss() or nil
    local val_metric
    if metric ~= nil then
      val_metric = metric(net, x_val, y_val)
      if type(val_metric) ~= "number" then
        error(format("nerve.fit: the metric returned %s, expected a number",
          describe(val_metric)), 0)
      end
      metric_history[epoch] = val_metric
      report.val_metric = val_metric
    end
    history[epoch] = epoch_loss
    val_history[epoch] = val_loss
    if val_loss and (best_val == nil or val_loss < best_val) then
      best_val, best_val_epoch = val_loss, epoch
    end
    report.epochs, report.loss, report.val_loss = epoch, epoch_loss, val_loss
    report.grad_norm = gn

    local now = core.clock()
    local state = {
      epoch = epoch, epochs = epochs, loss = epoch_loss, val_loss = val_loss,
      grad_norm = gn, seconds = now - t0, net = net, optimizer = opt,
      val_metric = val_metric,
      lr = get(opt, "lr"),
      history = history, val_history = val_history,
    }

    local stopped
    if on_epoch ~= nil and on_epoch(state) == false then
      stopped = "on_epoch"
    elseif stop ~= nil then
      local fired, reason = stop(state)
      if fired then
        stopped = reason ~= nil and tostring(reason) or "stop"
        if state.restored then
          -- the report and the last progress line describe the weights
          -- the network ends with: the best epoch's, not the last one's
          report.restored, report.best_epoch = true, state.best_epoch
          local best = state.best_epoch
          if x_val then
            state.val_loss = validation_loss()
            report.val_loss = state.val_loss
          end
          if metric ~= nil and best then
            state.val_metric = metric_history[best]
            report.val_metric = state.val_metric
          end
        elseif state.best_epoch then
          report.best_epoch = state.best_epoch
        end
      end
    end

    if progress and (stopped or epoch == epochs or epoch == 1
        or now - last_print >= 0.5) then
      last_print = now
      progress_line(state, epochs, n, stopped)
    end
    if ckpt and (stopped or epoch == epochs or epoch % every == 0) then
      local ok, err = checkpoint_mod.save(ckpt, { net = net, optimizer = opt,
        epoch = epoch, state = {
          history = history, val_history = val_history,
          perm = perm and core.perm_state(perm) or nil,
          rng = rng and core.rng_state(rng) or nil,
        } })
      if not ok then
        error("nerve.fit: cannot write the checkpoint: " .. tostring(err), 0)
      end
    end
    if stopped then
      report.stopped = stopped
      break
    end
    epoch = epoch + 1
  end
  if report.best_epoch == nil then report.best_epoch = best_val_epoch end
  if snapshot then snapshot:close() end
  if not was_training then net:evaluate() end
  report.seconds = core.clock() - t0
  return report
end

return { fit = fit }
