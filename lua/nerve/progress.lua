--- nerve.progress: fit's `progress = true` display on stderr.
--
-- On a terminal, one line redrawn in place: a bar of the epochs run, the
-- epoch, the loss (and validation loss and metric, named: "accuracy
-- 0.967"), samples per second and the time
-- left if every epoch runs (a stop criterion may end sooner). Anywhere
-- else (a pipe, a log file, a test's fake stderr) plain lines, one per
-- report, so logs stay readable.
local format, rep, floor = string.format, string.rep, math.floor
local tonumber = tonumber
local io, os = io, os
local core = require "nerve.core"
local _ENV = nil

local M = {}

-- 1234567 -> "1.23M", for samples per second.
local function si(v)
  if v >= 1e9 then return format("%.2fG", v / 1e9) end
  if v >= 1e6 then return format("%.2fM", v / 1e6) end
  if v >= 1e4 then return format("%.1fk", v / 1e3) end
  return format("%.0f", v)
end
M.si = si

-- Seconds as "42s", "3m05s", "2h07m".
local function duration(s)
  if s ~= s or s < 0 then return "?" end
  if s < 60 then return format("%.1fs", s) end
  if s < 3600 then return format("%dm%02ds", floor(s / 60), floor(s % 60)) end
  return format("%dh%02dm", floor(s / 3600), floor(s % 3600 / 60))
end
M.duration = duration

-- The terminal's width from COLUMNS, else 80.
local function columns()
  local c = tonumber(os.getenv("COLUMNS") or "")
  if c and c >= 40 then return floor(c) end
  return 80
end

-- The reason training ended, and which weights it kept when a criterion
-- put back an earlier epoch's (the loss shown is then that epoch's).
local function reason(state, stopped)
  if state.restored and state.best_epoch then
    return format("%s, epoch %d restored", stopped, state.best_epoch)
  end
  return stopped
end

-- "  accuracy 0.9667" when fit measures a metric (fmt: its number format).
local function metric(state, name, fmt)
  if state.val_metric == nil then return "" end
  return format("  %s " .. fmt, name or "metric", state.val_metric)
end

--- The text of one report: state is fit's, epochs the most epochs, rows
-- the samples per epoch, stopped the reason when training has ended,
-- metric_name what fit's metric is called.
function M.text(state, epochs, rows, stopped, width, metric_name)
  if stopped then stopped = reason(state, stopped) end
  local val = (state.val_loss and format("  val %.4g", state.val_loss) or "")
    .. metric(state, metric_name, "%.4g")
  local rate = state.seconds > 0 and state.epoch * rows / state.seconds or 0
  local left = epochs > state.epoch and state.seconds / state.epoch
    * (epochs - state.epoch) or 0
  local tail = format(" %d/%d  loss %.4g%s  %s samples/s  %s",
    state.epoch, epochs, state.loss, val, si(rate),
    stopped and ("done in " .. duration(state.seconds) .. " (" .. stopped .. ")")
      or (duration(left) .. " left"))
  local bar = (width or 80) - #tail - 3
  if bar < 10 then return tail:sub(2) end
  if bar > 40 then bar = 40 end
  local full = epochs > 0 and floor(bar * state.epoch / epochs + 0.5) or bar
  if stopped then full = bar end
  return "[" .. rep("=", full) .. rep(" ", bar - full) .. "]" .. tail
end

--- Writes one report to f (default io.stderr): redrawn in place on a
-- terminal, a plain line otherwise.
function M.show(state, epochs, rows, stopped, f, metric_name)
  f = f or io.stderr
  if core.isatty(f) then
    -- the last epoch ends the bar's line even when no criterion fired
    if not stopped and state.epoch >= epochs then stopped = "epochs" end
    f:write("\r", M.text(state, epochs, rows, stopped, columns() - 1,
      metric_name), "\27[K", stopped and "\n" or "")
    f:flush()
  else
    local val = (state.val_loss and format("  val %.6g", state.val_loss) or "")
      .. metric(state, metric_name, "%.6g")
    f:write(format("nerve.fit: epoch %d/%d  loss %.6g%s  %.1fs%s\n",
      state.epoch, epochs, state.loss, val, state.seconds,
      stopped and "  (" .. reason(state, stopped) .. ")" or ""))
  end
end

return M
