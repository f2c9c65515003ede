-- nerve.stop: convergence criteria (lua/nerve/stop.lua), called on their own.
local nerve = require "nerve"
local stop = nerve.stop

-- Feeds the criterion one state per value of `field`; returns the epochs at
-- which it fired and the reasons it gave.
local function run(c, field, values, extra)
  local fired, reasons = {}, {}
  for epoch, v in ipairs(values) do
    local state = { epoch = epoch, loss = 1, grad_norm = 1, seconds = 0 }
    state[field] = v
    for k, x in pairs(extra or {}) do state[k] = x end
    local f, r = c(state)
    if f then
      fired[#fired + 1] = epoch
      reasons[#reasons + 1] = r
    end
  end
  return fired, reasons
end

local function message(f)
  local ok, msg = pcall(f)
  assert.is_false(ok)
  return tostring(msg)
end

local function params(net)
  local out = {}
  for i, p in ipairs(net:parameters()) do out[i] = p:totable() end
  return out
end

describe("nerve.stop", function()
  describe("loss_below", function()
    it("fires with 'loss_below' once the loss is below eps", function()
      local c = stop.loss_below(0.1)
      assert.are.same({ false }, { c{ epoch = 1, loss = 0.1 } })
      local f, r = c{ epoch = 2, loss = 0.0999 }
      assert.is_true(f)
      assert.are.equal("loss_below", r)
    end)

    it("rejects an eps that is not a number", function()
      local msg = message(function() stop.loss_below("0.1") end)
      assert.matches("nerve.stop.loss_below", msg, 1, true)
      assert.matches("eps", msg, 1, true)
      assert.matches("stop_spec.lua", msg, 1, true)
      message(function() stop.loss_below(0 / 0) end)
      message(function() stop.loss_below() end)
    end)

    it("raises when the state has no loss", function()
      local msg = message(function() stop.loss_below(1){ epoch = 1 } end)
      assert.matches("loss", msg, 1, true)
    end)
  end)

  describe("epochs", function()
    it("fires with 'epochs' from epoch n on", function()
      local fired, reasons = run(stop.epochs(3), "epoch", { 1, 2, 3, 4 })
      assert.are.same({ 3, 4 }, fired)
      assert.are.same({ "epochs", "epochs" }, reasons)
    end)

    it("rejects a count that is not a whole number >= 0", function()
      for _, bad in ipairs{ -1, 1.5, "3", true } do
        local msg = message(function() stop.epochs(bad) end)
        assert.matches("nerve.stop.epochs", msg, 1, true)
      end
    end)
  end)

  describe("grad_norm_below", function()
    it("fires with 'grad_norm_below' once the norm is below eps", function()
      local fired, reasons = run(stop.grad_norm_below(1e-3), "grad_norm",
        { 1, 0.01, 1e-4 })
      assert.are.same({ 3 }, fired)
      assert.are.same({ "grad_norm_below" }, reasons)
    end)

    it("rejects an eps that is not a number", function()
      assert.matches("grad_norm_below",
        message(function() stop.grad_norm_below({}) end), 1, true)
    end)
  end)

  describe("seconds", function()
    it("fires with 'seconds' once the time is reached", function()
      local fired, reasons = run(stop.seconds(2), "seconds", { 0.5, 1.9, 2, 3 })
      assert.are.same({ 3, 4 }, fired)
      assert.are.same({ "seconds", "seconds" }, reasons)
    end)

    it("rejects a time that is not a number", function()
      assert.matches("seconds", message(function() stop.seconds("1") end))
    end)
  end)

  describe("plateau", function()
    it("fires at the end of the k-th epoch in a row without improvement", function()
      local fired, reasons = run(stop.plateau{ patience = 3 }, "loss",
        { 5, 4, 4, 4, 4, 4 })
      assert.are.same({ 5, 6 }, fired)
      assert.are.equal("plateau", reasons[1])
    end)

    it("starts counting again after an improvement", function()
      local fired = run(stop.plateau{ patience = 2 }, "loss",
        { 5, 5, 4, 4, 3, 3, 3 })
      assert.are.same({ 7 }, fired)
    end)

    it("compares with the best loss so far, not the last one", function()
      local fired = run(stop.plateau{ patience = 2 }, "loss",
        { 1, 3, 2, 1.5 })
      assert.are.same({ 3, 4 }, fired)
    end)

    it("counts an improvement of at most min_delta as none", function()
      local fired = run(stop.plateau{ patience = 2, min_delta = 0.1 }, "loss",
        { 1, 0.95, 0.9, 0.5 })
      assert.are.same({ 3 }, fired)
    end)

    it("waits 10 epochs by default", function()
      local values = {}
      for i = 1, 12 do values[i] = 1 end
      assert.are.same({ 11, 12 }, run(stop.plateau(), "loss", values))
      assert.are.same({ 11, 12 }, run(stop.plateau{}, "loss", values))
    end)

    it("never counts a NaN loss as an improvement", function()
      local fired = run(stop.plateau{ patience = 2 }, "loss", { 1, 0 / 0, 0 / 0 })
      assert.are.same({ 3 }, fired)
    end)

    it("forgets its counters on reset", function()
      local c = stop.plateau{ patience = 2 }
      assert.are.same({ 3 }, run(c, "loss", { 1, 1, 1 }))
      c:reset()
      assert.are.same({ 3 }, run(c, "loss", { 9, 9, 9 }))
    end)

    it("names an unknown option and rejects bad values", function()
      local msg = message(function() stop.plateau{ patiense = 3 } end)
      assert.matches("nerve.stop.plateau", msg, 1, true)
      assert.matches("'patiense'", msg, 1, true)
      assert.matches("patience", message(function()
        stop.plateau{ patience = -1 }
      end), 1, true)
      assert.matches("min_delta", message(function()
        stop.plateau{ min_delta = "x" }
      end), 1, true)
      assert.matches("plateau", message(function() stop.plateau(3) end))
    end)
  end)

  describe("early", function()
    it("watches the validation loss and fires with 'early'", function()
      local c = stop.early{ patience = 2, restore = false }
      local fired, reasons = run(c, "val_loss", { 3, 2, 2.5, 2.1, 2.2 },
        { loss = 0 })
      assert.are.same({ 4, 5 }, fired)
      assert.are.same({ "early", "early" }, reasons)
      assert.are.equal(2, c.best_epoch)
    end)

    it("raises when the state has no validation loss", function()
      local msg = message(function() stop.early(){ epoch = 1, loss = 1 } end)
      assert.matches("val_loss", msg, 1, true)
      assert.matches("validation", msg, 1, true)
    end)

    it("puts the best weights back into state.net when it fires", function()
      nerve.seed(3)
      local net = nerve.mlp{ 2, 3, 1 }
      local c = stop.early{ patience = 2, restore = true }
      local p = net:parameters()
      local function epoch(e, val, fill)
        p[1]:fill(fill)
        return c{ epoch = e, loss = 1, val_loss = val, net = net }
      end
      assert.is_false(epoch(1, 1.0, 0.1))
      assert.is_false(epoch(2, 0.5, 0.2))
      local best = params(net)
      assert.is_false(epoch(3, 0.7, 0.3))
      assert.is_true(epoch(4, 0.6, 0.4))
      assert.are.same(best, params(net))
      assert.are.equal(0.2, math.floor(net:parameters()[1]:get(1, 1) * 10 + 0.5) / 10)
    end)

    it("restores true by default and keeps the weights with restore = false", function()
      local net = nerve.mlp{ 2, 3, 1 }
      local p = net:parameters()
      for _, restore in ipairs{ true, false } do
        local c = restore and stop.early{ patience = 1 }
          or stop.early{ patience = 1, restore = false }
        p[1]:fill(1)
        c{ epoch = 1, val_loss = 1, net = net }
        p[1]:fill(2)
        assert.is_true((c{ epoch = 2, val_loss = 2, net = net }))
        assert.are.equal(restore and 1 or 2, p[1]:get(1, 1))
      end
    end)

    it("waits 10 epochs by default", function()
      local values = {}
      for i = 1, 11 do values[i] = 1 end
      assert.are.same({ 11 }, run(stop.early{ restore = false }, "val_loss", values))
    end)

    it("is marked as needing validation, and so are any and all holding it", function()
      assert.is_true(stop.early().needs_validation)
      assert.is_false(stop.plateau().needs_validation)
      assert.is_true(stop.any{ stop.epochs(1), stop.early() }.needs_validation)
      assert.is_true(stop.all{ stop.early(), stop.epochs(1) }.needs_validation)
      assert.is_false(stop.any{ stop.epochs(1), stop.plateau() }.needs_validation)
    end)

    it("names an unknown option and rejects bad values", function()
      local msg = message(function() stop.early{ patience = 2, restor = true } end)
      assert.matches("nerve.stop.early", msg, 1, true)
      assert.matches("'restor'", msg, 1, true)
      assert.matches("restore", message(function()
        stop.early{ restore = "yes" }
      end), 1, true)
      assert.matches("patience", message(function()
        stop.early{ patience = -2 }
      end), 1, true)
    end)
  end)

  describe("any", function()
    it("reports the reason of the first criterion that fired", function()
      local c = stop.any{ stop.loss_below(0.5), stop.epochs(3) }
      assert.are.same({ false }, { c{ epoch = 1, loss = 1 } })
      assert.are.same({ true, "epochs" }, { c{ epoch = 3, loss = 1 } })
      assert.are.same({ true, "loss_below" }, { c{ epoch = 4, loss = 0.1 } })
    end)

    it("accepts functions and reports 'stop' for one without a reason", function()
      local c = stop.any{ function(s) return s.epoch == 2 end }
      assert.are.same({ true, "stop" }, { c{ epoch = 2, loss = 1 } })
      local d = stop.any{ function() return true, "mine" end }
      assert.are.same({ true, "mine" }, { d{ epoch = 1, loss = 1 } })
    end)

    it("lets every child see every epoch", function()
      local plateau = stop.plateau{ patience = 2 }
      local c = stop.any{ stop.epochs(1), plateau }
      run(c, "loss", { 1, 1 })
      assert.are.equal(1, plateau.wait)
    end)

    it("resets its children", function()
      local c = stop.any{ stop.plateau{ patience = 2 } }
      assert.are.same({ 3 }, run(c, "loss", { 1, 1, 1 }))
      c:reset()
      assert.are.same({ 3 }, run(c, "loss", { 5, 5, 5 }))
    end)

    it("rejects an empty list and things that are not criteria", function()
      assert.matches("nerve.stop.any", message(function() stop.any{} end), 1, true)
      assert.matches("nerve.stop.any", message(function() stop.any{ 1 } end), 1, true)
      assert.matches("nerve.stop.any", message(function() stop.any(5) end), 1, true)
    end)
  end)

  describe("all", function()
    it("fires with 'all' only when every criterion fires", function()
      local c = stop.all{ stop.loss_below(0.5), stop.epochs(3) }
      assert.are.same({ false }, { c{ epoch = 3, loss = 1 } })
      assert.are.same({ false }, { c{ epoch = 2, loss = 0.1 } })
      assert.are.same({ true, "all" }, { c{ epoch = 3, loss = 0.1 } })
    end)

    it("restores the weights of an early inside it only when it fires", function()
      local net = nerve.mlp{ 2, 3, 1 }
      local p = net:parameters()
      local c = stop.all{ stop.early{ patience = 1 }, stop.epochs(3) }
      p[1]:fill(1)
      assert.is_false((c{ epoch = 1, val_loss = 1, net = net }))
      p[1]:fill(2)
      assert.is_false((c{ epoch = 2, val_loss = 2, net = net }))
      assert.are.equal(2, p[1]:get(1, 1))
      p[1]:fill(3)
      assert.is_true((c{ epoch = 3, val_loss = 3, net = net }))
      assert.are.equal(1, p[1]:get(1, 1))
    end)

    it("rejects an empty list", function()
      assert.matches("nerve.stop.all", message(function() stop.all{} end), 1, true)
    end)
  end)

  it("describes each criterion with tostring", function()
    assert.matches("loss_below", tostring(stop.loss_below(0.01)), 1, true)
    assert.matches("plateau", tostring(stop.plateau()), 1, true)
    assert.matches("any", tostring(stop.any{ stop.epochs(2) }), 1, true)
  end)
end)
