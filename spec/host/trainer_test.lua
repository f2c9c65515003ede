-- LuaUnit suite for nerve.trainer and fit's yield option (training a few
-- batches per frame), run inside test_host.
local lu = require "luaunit"
local nerve = require "nerve"
local host = host  -- set by the C host

local M = {}

local function data()
  local x, y = nerve.matrix(40, 3), nerve.matrix(40, 1)
  for i = 1, 40 do
    for j = 1, 3 do x:set(i, j, math.cos(i * j * 0.7)) end
    y:set(i, 1, (x:get(i, 1) + x:get(i, 2) > 0) and 1 or 0)
  end
  return x, y
end

local function fresh()
  nerve.seed(11)
  return nerve.mlp{ 3, 6, 1, hidden = "tanh" }
end

function M.test_step_runs_that_many_batches()
  local x, y = data()
  local t = nerve.trainer(fresh(), x, y, { batch = 8, epochs = 3, seed = 1 })
  lu.assertEquals(t.batches, 0)
  lu.assertEquals(t:progress(), 0)
  lu.assertFalse(t:step(2))
  lu.assertEquals(t.batches, 2)
  lu.assertEquals(t.epoch, 1)
  lu.assertEquals(t.rows, 16)
  lu.assertEquals(t.total, 40)
  lu.assertIsNumber(t.loss)
  lu.assertAlmostEquals(t:progress(), 16 / 40 / 3, 1e-12)
  t:step(3)
  lu.assertEquals(t.epoch, 1)
  lu.assertNil(t.state)            -- the epoch ends with the next step
  t:step(1)
  lu.assertEquals(t.epoch, 2)
  lu.assertEquals(t.state.epoch, 1)
  local n = 0
  while not t:step(1) do n = n + 1 end
  lu.assertEquals(n, 9)
  lu.assertEquals(t.batches, 15)   -- 3 epochs of 5 batches
  lu.assertEquals(t.report.epochs, 3)
  lu.assertEquals(t.stopped, "epochs")
  lu.assertEquals(t:progress(), 1)
  lu.assertTrue(t:step(5))          -- done stays done
  lu.assertEquals(t.batches, 15)
  lu.assertStrContains(tostring(t), "done")
end

function M.test_a_trainer_trains_exactly_as_fit_does()
  local x, y = data()
  local opts = function(net)
    return { batch = 8, epochs = 20, seed = 4,
      optimizer = nerve.sgd(net, { lr = 0.3, momentum = 0.5 }),
      validation = { x, y } }
  end
  local a = fresh()
  local ra = nerve.fit(a, x, y, opts(a))
  local b = fresh()
  local t = nerve.trainer(b, x, y, opts(b))
  while not t:step(3) do end
  lu.assertEquals(b:serialize(), a:serialize())
  lu.assertEquals(t.report.history, ra.history)
  lu.assertEquals(t.report.val_loss, ra.val_loss)
end

function M.test_stop_criteria_end_training()
  local x, y = data()
  local t = nerve.trainer(fresh(), x, y, { batch = 40, epochs = 500,
    stop = nerve.stop.epochs(4) })
  while not t:step(100) do end
  lu.assertEquals(t.stopped, "epochs")
  lu.assertEquals(t.report.epochs, 4)
  local seen = 0
  t = nerve.trainer(fresh(), x, y, { batch = 40, epochs = 50,
    on_epoch = function(s) seen = s.epoch; return s.epoch < 7 end })
  while not t:step(10) do end
  lu.assertEquals(seen, 7)
  lu.assertEquals(t.stopped, "on_epoch")
end

function M.test_run_for_spends_a_time_budget()
  local x, y = data()
  local t = nerve.trainer(fresh(), x, y, { batch = 4, epochs = 5 })
  local done, n = t:run_for(0)
  lu.assertFalse(done)
  lu.assertEquals(n, 0)
  done, n = t:run_for(1e9)   -- to the end
  lu.assertTrue(done)
  lu.assertEquals(n, 51)     -- 50 batches and the last resume that ends fit
  lu.assertEquals(t.batches, 50)
end

function M.test_bad_arguments_raise_when_the_trainer_is_made()
  local x, y = data()
  local ok, err = pcall(nerve.trainer, fresh(), x, y, { bogus = 1 })
  lu.assertFalse(ok)
  lu.assertStrContains(err, "nerve.fit: unknown option 'bogus'")
  ok, err = pcall(nerve.trainer, fresh(), x, y, { yield = true })
  lu.assertFalse(ok)
  lu.assertStrContains(err, "implied")
  ok, err = pcall(nerve.trainer, fresh(), nerve.matrix(40, 5), y)
  lu.assertFalse(ok)
  lu.assertStrContains(err, "columns")
  local t = nerve.trainer(fresh(), x, y)
  ok, err = pcall(t.step, t, -1)
  lu.assertFalse(ok)
  lu.assertStrContains(err, "n must be")
end

function M.test_errors_during_training_are_raised_by_step()
  local x, y = data()
  local t = nerve.trainer(fresh(), x, y, { batch = 40, epochs = 5,
    on_epoch = function(s) if s.epoch == 2 then error("boom") end end })
  local ok, err = pcall(function() while not t:step(1) do end end)
  lu.assertFalse(ok)
  lu.assertEquals(t.batches, 2)
  lu.assertStrContains(err, "boom")
  lu.assertTrue(t.done)
end

function M.test_fit_yields_between_batches_in_a_coroutine()
  local x, y = data()
  local ok, err = pcall(nerve.fit, fresh(), x, y, { yield = true })
  lu.assertFalse(ok)
  lu.assertStrContains(err, "coroutine")
  local co = coroutine.wrap(function()
    return nerve.fit(fresh(), x, y, { batch = 16, epochs = 2, yield = true })
  end)
  local seen = {}
  while true do
    local epoch, rows, total = co()
    if type(epoch) == "table" then
      lu.assertEquals(epoch.epochs, 2) -- the report
      break
    end
    seen[#seen + 1] = epoch .. ":" .. rows .. "/" .. total
  end
  lu.assertEquals(seen, { "0:0/40", "1:16/40", "1:32/40", "1:40/40",
    "2:16/40", "2:32/40", "2:40/40" })
end

local runner = lu.LuaUnit.new()
runner:setOutputType("text")
runner:runSuiteByInstances({ { "trainer", M } })
local r = runner.result
return r.runCount - r.notSuccessCount, r.notSuccessCount
