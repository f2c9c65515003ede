--- nerve.trainer: training a little at a time, for hosts with a main loop.
--
--   local t = nerve.trainer(net, x, y, opts)   -- opts: those of nerve.fit
--   function on_frame()
--     t:run_for(0.004)        -- batches until 4 ms are spent, or
--     t:step(8)               -- at most 8 batches
--     if t.done then ... t.report ... end
--   end
--
-- It is nerve.fit run in a coroutine with the `yield` option, so batches,
-- shuffling, validation, stop criteria and the report are fit's own, and
-- every batch stays one C call. A trainer holds no global state; many can
-- run side by side (each with its own network).
local type, error, setmetatable, tostring, pairs =
  type, error, setmetatable, tostring, pairs
local co_create, co_resume, co_status = coroutine.create, coroutine.resume,
  coroutine.status
local mtype = math.type
local require = require
local core = require "nerve.core"
local registry = require "nerve.classes"
local _ENV = nil

local Trainer = {}
Trainer.__index = Trainer
Trainer.__name = "nerve.Trainer"
registry[Trainer.__name] = Trainer

--- Runs up to n batches (default 1). Returns done (true once training has
-- ended: epochs run out or a stop criterion fired) and the trainer.
-- An error inside training (a bad stop criterion, ...) is raised here,
-- and the trainer stays done.
function Trainer:step(n)
  if n == nil then n = 1 end
  if mtype(n) ~= "integer" or n < 0 then
    error("trainer:step: n must be an integer >= 0, got " .. tostring(n), 2)
  end
  local co = self.co
  for _ = 1, n do
    if self.done then break end
    local ok, epoch, rows, total, loss = co_resume(co)
    if not ok then
      self.done, self.error = true, epoch
      error(epoch, 0)
    end
    if co_status(co) == "dead" then
      self.done, self.report = true, epoch
      self.stopped = epoch.stopped
    else
      self.epoch, self.rows, self.total, self.loss = epoch, rows, total, loss
      self.batches = self.batches + 1
    end
  end
  return self.done, self
end

--- Runs batches until `seconds` have passed (checked between batches, so
-- one batch may overrun) or training ends. Returns done and the number of
-- batches run.
function Trainer:run_for(seconds)
  if type(seconds) ~= "number" then
    error("trainer:run_for: seconds must be a number, got " .. type(seconds), 2)
  end
  local t0, clock, count = core.clock(), core.clock, 0
  while not self.done and clock() - t0 < seconds do
    self:step(1)
    count = count + 1
  end
  return self.done, count
end

--- Fraction of the epochs run (0..1), for progress displays.
function Trainer:progress()
  if self.done then return 1 end
  local epochs = self.epochs
  if epochs == 0 or self.epoch == 0 then return 0 end
  return ((self.epoch - 1) + self.rows / self.total) / epochs
end

function Trainer:__tostring()
  if self.done then
    return "nerve.trainer (done: " .. tostring(self.stopped) .. ", "
      .. self.batches .. " batches)"
  end
  return "nerve.trainer (epoch " .. tostring(self.epoch) .. ", "
    .. self.batches .. " batches)"
end

local M = {}

--- nerve.trainer(net, x, y [, opts]): a trainer object; opts are
-- nerve.fit's (yield is implied). Fields: epoch, rows (done this epoch),
-- total (rows per epoch), loss (last batch), batches, state (the last
-- epoch's fit state), done, report (fit's, once done), stopped.
function M.trainer(net, x, y, opts)
  if opts ~= nil and type(opts) ~= "table" then
    error("nerve.trainer: options must be a table, got " .. type(opts), 2)
  end
  local fit_opts = {}
  if opts then
    for k, v in pairs(opts) do fit_opts[k] = v end
  end
  if fit_opts.yield ~= nil then
    error("nerve.trainer: option 'yield' is implied (remove it)", 2)
  end
  fit_opts.yield = true
  local self = setmetatable({
    batches = 0, done = false, epoch = 0, rows = 0,
    epochs = fit_opts.epochs or 1000,
  }, Trainer)
  local on_epoch = fit_opts.on_epoch
  fit_opts.on_epoch = function(state)
    self.state = state
    if on_epoch then return on_epoch(state) end
  end
  local fit = require "nerve.fit"
  self.co = co_create(function()
    return fit(net, x, y, fit_opts)
  end)
  -- The first resume checks the arguments (fit raises at once on bad
  -- ones) and stops before the first batch, so errors surface here.
  local ok, err = co_resume(self.co)
  if not ok then
    -- the message without fit's position, pointed at the caller instead
    error((tostring(err):gsub("^[^:]*:%d+: ", "")), 2)
  end
  return self
end

return M
