-- nerve.fit's report: what fit returns, kept up to date after every epoch
-- so that it always describes the weights the network holds.
--
--   report.epochs, loss, val_loss, val_metric, grad_norm, stopped,
--   history, val_history, val_metric_history, dropped, restored,
--   best_epoch, seconds
--
-- It prints as a summary rather than as a table's address.

local type, ipairs, tostring, setmetatable = type, ipairs, tostring, setmetatable
local format, concat = string.format, table.concat
local registry = require "nerve.classes"
local _ENV = nil

local M = {}

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

--- report.new(dropped, with_metric) -> a report of no epochs, stopped
-- by "epochs"; val_metric_history only when a metric is measured.
function M.new(dropped, with_metric)
  return setmetatable({
    epochs = 0, history = {}, val_history = {},
    stopped = "epochs", dropped = dropped or 0,
    val_metric_history = with_metric and {} or nil,
  }, Report)
end

--- The histories of a resumed run, up to the checkpoint's epoch.
function M.resumed(r, history, val_history)
  for i, v in ipairs(history) do r.history[i] = v end
  for i = 1, #history do r.val_history[i] = val_history[i] end
  local last = #r.history
  if last > 0 then
    r.epochs, r.loss, r.val_loss = last, r.history[last], r.val_history[last]
  end
end

--- An epoch whose loss is NaN or infinite ends the run.
function M.diverged(r, epoch, loss, grad_norm)
  r.history[epoch] = loss
  r.epochs, r.loss, r.stopped = epoch, loss, "diverged"
  r.grad_norm = grad_norm -- the diverging step's
end

--- A finished epoch; val_loss and val_metric nil when not measured.
function M.epoch(r, epoch, loss, val_loss, val_metric, grad_norm)
  if val_metric ~= nil then
    r.val_metric_history[epoch] = val_metric
    r.val_metric = val_metric
  end
  r.history[epoch] = loss
  r.val_history[epoch] = val_loss
  r.epochs, r.loss, r.val_loss = epoch, loss, val_loss
  r.grad_norm = grad_norm
end

return M
