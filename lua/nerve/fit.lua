-- nerve.fit: the mini-batch training driver.
--
--   report = nerve.fit(net, x, y, opts)
--
-- In three parts, by concept:
--   lua/nerve/fit/checks.lua   the options and the data, checked before
--                              anything changes, into a plan of the run
--   lua/nerve/fit/loop.lua     the epochs: in C, a C call per batch, or
--                              the generic path for a loss written in Lua
--   lua/nerve/fit/report.lua   what fit returns, and how it prints
--
-- Per epoch: the batches, then the validation loss and, with opts.metric
-- ("accuracy", "mse", "bit_fail" of nerve.metrics, or a function(net, x_val,
-- y_val) -> number), state.val_metric (also report.val_metric and
-- report.val_metric_history), then `state` is built,
-- `on_epoch(state)` is called (false stops with "on_epoch"), then the stop
-- criterion. A criterion that fires on the last allowed epoch wins over
-- "epochs".

local core = require "nerve.core"
local checks = require "nerve.fit.checks"
local loop = require "nerve.fit.loop"
local _ENV = nil

-- The checks and the loop raise at fit's caller by counting the levels
-- from here, so neither call may be a tail call.
local function fit(net, x, y, opts)
  local t0 = core.clock()
  local plan = checks.check(net, x, y, opts)
  local report = loop.run(plan, t0)
  return report
end

-- The module is the function itself, not a table holding it: Lua names a
-- function in a traceback by a field of package.loaded that holds it, and
-- a table here would make that "nerve.fit.fit" as often as "nerve.fit".
return fit
