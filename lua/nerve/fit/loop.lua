-- nerve.fit's loop: runs a checked plan (lua/nerve/fit/checks.lua).
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
-- Per epoch: the batches, then the validation loss and the metric, then
-- `state` is built, `on_epoch(state)` is called (false stops with
-- "on_epoch"), then the stop criterion. A criterion that fires on the last
-- allowed epoch wins over "epochs".

local type, error, ipairs, tostring = type, error, ipairs, tostring
local setmetatable = setmetatable
local pcall, require = pcall, require
local format = string.format
local huge, sqrt, min = math.huge, math.sqrt, math.min
local max, floor = math.max, math.floor
local io = io
local co_yield = coroutine.yield

local core = require "nerve.core"
local stop_mod = require "nerve.stop"
local checkpoint_mod = require "nerve.checkpoint"
local describe = require("nerve.options").describe
local checks = require "nerve.fit.checks"
local report_mod = require "nerve.fit.report"
local fail, get, has_method = checks.fail, checks.get, checks.has_method
local _ENV = nil

local M = {}

-- seconds of epochs per C call when the progress bar is on (it redraws
-- at most every 0.5 s)
local PROGRESS_SECONDS = 0.2

-- The level of a check made in a function that M.run calls (that
-- function <- M.run <- fit <- the user's call).
local LEVEL = 4

-- 1 when every parameter of net is finite.
local function finite_params(net)
  for _, p in ipairs(net:parameters()) do
    if core.nonfinite(p) then return false end
  end
  return true
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
-- rows) and the last step's gradient norm. `run` keeps the batch buffers
-- from one epoch to the next.
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

-- ------------------------------------------------------------- epochs

-- The schedule's rate for the epoch about to run.
local function set_rate(r, epoch)
  if not r.rate then return end
  local lr = r.rate(epoch)
  if type(lr) ~= "number" then
    error(format("nerve.fit: the schedule returned %s for epoch %d, " ..
      "expected a number", describe(lr), epoch), 0)
  end
  r.opt.lr = lr
end

-- The validation loss of the network as it is now.
local function validation_loss(r)
  if r.loss_name then
    return core.eval_loss(r.net, r.loss_name, r.x_val, r.y_val)
  end
  return r.loss:forward(r.net:predict(r.x_val), r.y_val)
end

-- One epoch driven from Lua: a C call per batch (or the generic path);
-- returns the epoch's loss and its last step's gradient norm.
local function lua_epoch(r, epoch)
  local sum, gn
  set_rate(r, epoch)
  if r.loss_name then
    local net, x, y, perm, n, batch = r.net, r.x, r.y, r.perm, r.n, r.batch
    local train_opt, lua_opt, clip = r.train_opt, r.lua_opt, r.clip
    if perm and r.shuffle then perm:shuffle(r.rng) end
    sum = 0
    local first = 1
    while first <= n do
      local count = min(batch, n - first + 1)
      -- the gradient norm only for the epoch's last step (state.grad_norm)
      local l, g = core.train_batch(net, r.loss_name, x, y, perm, first,
        count, train_opt, clip, first + count > n)
      if lua_opt then
        if clip then net:clip_grad_norm(clip) end
        lua_opt:step()
      end
      sum = sum + l * count
      gn = g
      first = first + count
      if l ~= l or l == huge then break end -- diverged: see M.run
      if r.yield then co_yield(epoch, first - 1, n, l) end
    end
  else
    r.generic.epoch = epoch
    sum, gn = generic_epoch(r.generic)
  end
  return sum / r.n, gn
end

-- Epochs in C from `epoch` on, up to r.chunk of them; returns the last
-- epoch run, its loss and its last step's gradient norm.
local function c_epochs(r, epoch)
  set_rate(r, epoch)
  local epochs = r.epochs
  local want = min(epochs, r.last_epoch or epochs, epoch + r.chunk - 1)
    - epoch + 1
  local c0 = core.clock()
  local done, epoch_loss, gn = core.train_epochs(r.net, r.loss_name, r.x,
    r.y, r.perm, r.shuffle and (r.rng or true), r.batch, r.train_opt, r.clip,
    epoch, want < 1 and 1 or want, r.report.history, r.loss_stop,
    r.norm_stop, r.snapshot, true) -- x was checked
  if r.many and r.progress then
    local per = (core.clock() - c0) / done
    r.chunk = max(1, floor(PROGRESS_SECONDS / (per + 1e-9)))
  end
  return epoch + done - 1, epoch_loss, gn
end

-- After a finite epoch: the validation loss and metric, the report, and
-- the state that on_epoch and the stop criterion see; returns the state
-- and the clock it was made at.
local function measure(r, epoch, epoch_loss, gn)
  local net, report = r.net, r.report
  local val_loss = r.x_val and validation_loss(r) or nil
  local val_metric
  if r.metric ~= nil then
    val_metric = r.metric(net, r.x_val, r.y_val)
    if type(val_metric) ~= "number" then
      error(format("nerve.fit: the metric returned %s, expected a number",
        describe(val_metric)), 0)
    end
  end
  report_mod.epoch(report, epoch, epoch_loss, val_loss, val_metric, gn)
  if val_loss and (r.best_val == nil or val_loss < r.best_val) then
    r.best_val, r.best_val_epoch = val_loss, epoch
  end
  local now = core.clock()
  return {
    epoch = epoch, epochs = r.epochs, loss = epoch_loss, val_loss = val_loss,
    grad_norm = gn, seconds = now - r.t0, net = net,
    optimizer = r.opt, val_metric = val_metric,
    lr = get(r.opt, "lr"),
    history = report.history, val_history = report.val_history,
  }, now
end

-- on_epoch, then the stop criterion: the reason to stop, or nil.
local function decide(r, state)
  if r.on_epoch ~= nil and r.on_epoch(state) == false then return "on_epoch" end
  if r.stop == nil then return nil end
  local fired, reason = r.stop(state)
  if not fired then return nil end
  local report = r.report
  if state.restored then
    -- the report and the last progress line describe the weights the
    -- network ends with: the best epoch's, not the last one's
    report.restored, report.best_epoch = true, state.best_epoch
    local best = state.best_epoch
    if r.x_val then
      state.val_loss = validation_loss(r)
      report.val_loss = state.val_loss
    end
    if r.metric ~= nil and best then
      state.val_metric = report.val_metric_history[best]
      report.val_metric = state.val_metric
    end
  elseif state.best_epoch then
    report.best_epoch = state.best_epoch
  end
  return reason ~= nil and tostring(reason) or "stop"
end

-- The progress line and the checkpoint after an epoch.
local function record(r, state, now, stopped)
  local epoch, epochs, report = state.epoch, r.epochs, r.report
  if r.progress and (stopped or epoch == epochs or epoch == 1
      or now - r.last_print >= 0.5) then
    r.last_print = now
    -- a bar on a terminal, plain lines elsewhere (nerve/progress.lua)
    require("nerve.progress").show(state, epochs, r.n, stopped, io.stderr,
      r.metric_name)
  end
  if r.ckpt and (stopped or epoch == epochs or epoch % r.every == 0) then
    local ok, err = checkpoint_mod.save(r.ckpt, { net = r.net,
      optimizer = r.opt, epoch = epoch, state = {
        history = report.history, val_history = report.val_history,
        perm = r.perm and core.perm_state(r.perm) or nil,
        rng = r.rng and core.rng_state(r.rng) or nil,
      } })
    if not ok then
      error("nerve.fit: cannot write the checkpoint: " .. tostring(err), 0)
    end
  end
end

-- ------------------------------------------------------------- the run

-- Puts back the network, the optimizer, the shuffling and the histories
-- of the checkpoint r.resume; returns the first epoch to run.
local function resume(r)
  local ck, err = checkpoint_mod.load(r.resume)
  if not ck then fail(LEVEL, "cannot resume: %s", err) end
  local st = ck.state
  if type(st) ~= "table" or type(st.history) ~= "table" then
    fail(LEVEL, "cannot resume: %s was not written by nerve.fit", r.resume)
  end
  local ok, msg = pcall(ck.restore, ck, { net = r.net, optimizer = r.opt })
  if not ok then fail(LEVEL, "cannot resume: %s", tostring(msg)) end
  local perm = r.perm
  if (st.perm ~= nil) ~= (perm ~= nil) or (perm and not
      core.perm_set_state(perm, st.perm)) then
    fail(LEVEL, "cannot resume: the checkpoint's shuffling does not fit " ..
      "this run (another data set size, or shuffle changed)")
  end
  if r.rng and st.rng then core.set_rng_state(st.rng, r.rng) end
  report_mod.resumed(r.report, st.history, st.val_history)
  return ck.epoch + 1
end

-- The order of the rows and the optimizers; both paths draw the same
-- permutations, so batches do not depend on which path runs.
local function prepare(r)
  if r.keep then r.perm, r.n = r.keep, #r.keep
  elseif r.shuffle then r.perm = core.perm(r.n) end
  if r.seed ~= nil then r.rng = core.rng(r.seed) end
  if not r.loss_name then
    r.generic = {
      net = r.net, loss = r.loss, opt = r.opt, x = r.x, y = r.y, n = r.n,
      batch = r.batch, perm = r.perm, rng = r.rng, clip = r.clip,
      yield = r.yield, shuffle = r.shuffle,
    }
  end
  r.train_opt = r.core_opt and r.opt or nil
  r.lua_opt = not r.core_opt and r.opt or nil
end

-- Epochs run in C (core.train_epochs) unless Lua must see each batch
-- (yield, a Lua optimizer, a loss written in Lua). Several per call when
-- no Lua code needs to see each epoch either, up to where a threshold
-- criterion may fire (stop then decides), and with progress about
-- PROGRESS_SECONDS of them (the first call one epoch, to time it); one
-- per call otherwise.
local function choose_path(r)
  r.in_c = r.loss_name and r.train_opt and not r.yield
  r.many = r.in_c and r.on_epoch == nil and r.x_val == nil and r.rate == nil
    and not r.ckpt
  if r.many and r.stop ~= nil then
    r.loss_stop, r.norm_stop, r.last_epoch = stop_mod.thresholds(r.stop)
    r.many = r.loss_stop ~= nil
  end
  r.chunk = (not r.many or r.progress) and 1 or huge
end

-- The network's mode put back and the snapshot freed, once: at the end,
-- or when an error (Lua's interrupt among them) leaves the run.
local function finish(r)
  if r.finished then return end
  r.finished = true
  if r.snapshot then r.snapshot:close() end
  if not r.was_training then r.net:evaluate() end
end

local Finish = { __close = function(r) finish(r.run) end }

--- loop.run(plan, t0) -> the report: trains r.net as the plan says; t0 is
-- the clock when fit was called.
function M.run(r, t0)
  r.t0 = t0
  prepare(r)
  -- training mode for the batches (dropout on); validation evaluates;
  -- the network's mode is put back afterwards, also after an error
  local net = r.net
  r.was_training = net:is_training()
  net:training()
  local _ <close> = setmetatable({ run = r }, Finish)
  local report = report_mod.new(r.dropped, r.metric ~= nil)
  r.report = report
  local epoch = 1
  if r.resume then epoch = resume(r) end
  -- the last finite weights, put back if the loss becomes NaN or infinite
  local snapshot = r.restore and has_method(net, "clone") and net:clone() or nil
  r.snapshot, r.last_print = snapshot, t0
  if r.yield then co_yield(0, 0, r.n) end -- checked, ready: nothing ran yet
  choose_path(r)
  local epochs, in_c = r.epochs, r.in_c
  while epoch <= epochs do
    local epoch_loss, gn
    if in_c then
      epoch, epoch_loss, gn = c_epochs(r, epoch)
    else
      epoch_loss, gn = lua_epoch(r, epoch)
    end
    if epoch_loss ~= epoch_loss or epoch_loss == huge or epoch_loss == -huge then
      report_mod.diverged(report, epoch, epoch_loss, gn)
      if snapshot then
        net:copy_parameters(snapshot)
        report.restored = true
      end
      break
    end
    if snapshot and not in_c and finite_params(net) then
      snapshot:copy_parameters(net)
    end
    local state, now = measure(r, epoch, epoch_loss, gn)
    local stopped = decide(r, state)
    record(r, state, now, stopped)
    if stopped then
      report.stopped = stopped
      break
    end
    epoch = epoch + 1
  end
  if report.best_epoch == nil then report.best_epoch = r.best_val_epoch end
  finish(r)
  report.seconds = core.clock() - t0
  return report
end

return M
