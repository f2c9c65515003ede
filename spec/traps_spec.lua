-- Traps a user falls into at the REPL: each was silent or misleading.
local nerve = require "nerve"

local function xor()
  local x = nerve.matrix{ { 0, 0 }, { 0, 1 }, { 1, 0 }, { 1, 1 } }
  local y = nerve.matrix{ { 0 }, { 1 }, { 1 }, { 0 } }
  return x, y
end

local function fails(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok, "expected an error")
  return tostring(err)
end

describe("an optimizer made for another network", function()
  local x, y = xor()

  it("is refused by fit, which names the problem", function()
    local net, other = nerve.mlp{ 2, 3, 1 }, nerve.mlp{ 2, 3, 1 }
    local err = fails(nerve.fit, net, x, y,
      { epochs = 5, optimizer = nerve.adam(other) })
    assert.matches("nerve.fit: the optimizer belongs to another network", err,
      1, true)
  end)

  it("is refused on every path of fit, and by the trainer", function()
    local net, other = nerve.mlp{ 2, 3, 1 }, nerve.mlp{ 2, 3, 1 }
    for _, opts in ipairs{
      { epochs = 2, optimizer = nerve.sgd(other) },              -- all in C
      { epochs = 2, optimizer = nerve.rprop(other), on_epoch = function() end },
      { epochs = 2, optimizer = nerve.adamw(other), loss = {     -- generic
        forward = function() return 0 end,
        backward = function(_, yhat) return yhat:copy():fill(0) end } },
    } do
      assert.matches("belongs to another network",
        fails(nerve.fit, net, x, y, opts))
    end
    assert.matches("belongs to another network", fails(nerve.trainer, net, x, y,
      { optimizer = nerve.adam(other) }))
  end)

  it("is refused by the core training calls themselves", function()
    local net, other = nerve.mlp{ 2, 3, 1 }, nerve.mlp{ 2, 3, 1 }
    assert.matches("belongs to another network", fails(nerve.core.train_batch,
      net, "mse", x, y, nil, 1, 4, nerve.sgd(other)))
    assert.matches("belongs to another network", fails(nerve.core.train_epochs,
      net, "mse", x, y, nil, false, 4, nerve.sgd(other), nil, 1, 1, {}))
  end)

  it("is refused by a Lua optimizer that names its network", function()
    local net, other = nerve.mlp{ 2, 3, 1 }, nerve.mlp{ 2, 3, 1 }
    local lua_opt = { net = other, step = function() end }
    assert.matches("belongs to another network",
      fails(nerve.fit, net, x, y, { epochs = 1, optimizer = lua_opt }))
  end)

  it("is refused by checkpoints", function()
    local net, other = nerve.mlp{ 2, 3, 1 }, nerve.mlp{ 2, 3, 1 }
    assert.matches("belongs to another network", fails(nerve.checkpoint.bytes,
      { net = net, optimizer = nerve.adam(other) }))
    local ck = nerve.checkpoint.parse(nerve.checkpoint.bytes{ net = net,
      optimizer = nerve.adam(net) })
    assert.matches("belongs to another network", fails(ck.restore, ck,
      { net = net, optimizer = nerve.adam(other) }))
  end)

  it("tells its network, and fit trains with the right one", function()
    local net = nerve.mlp{ 2, 3, 1 }
    local opt = nerve.adam(net)
    assert.is_true(rawequal(net, opt.net))
    local before = net:parameters()[1]:copy()
    nerve.fit(net, x, y, { epochs = 3, optimizer = opt })
    assert.is_false(before:totable()[1][1] == net:parameters()[1]:get(1, 1))
  end)
end)

describe("net:predict", function()
  it("returns a matrix of its own: a later call leaves it alone", function()
    nerve.seed(3)
    local net = nerve.mlp{ 2, 3, 1 }
    local a, b = nerve.matrix{ { 0, 0 } }, nerve.matrix{ { 1, 1 } }
    local p = net:predict(a)
    local p_value = p:get(1, 1)
    local q = net:predict(b)
    assert.are.equal(p_value, p:get(1, 1))
    assert.are_not.equal(p:get(1, 1), q:get(1, 1))
    net:forward(b)
    net:forward(nerve.matrix(300, 2, 0.5)) -- grows the network's buffers
    assert.are.equal(p_value, p:get(1, 1))
    -- writing the result does not write the network's buffer
    local f = net:forward(a)
    local before = f:totable()
    net:predict(a):fill(7)
    assert.are.same(before, f:totable())
  end)

  it("keeps forward's contract: forward returns the network's buffer", function()
    local net = nerve.mlp{ 2, 3, 1 }
    local o = net:forward(nerve.matrix{ { 0, 0 } })
    local first = o:get(1, 1)
    net:forward(nerve.matrix{ { 5, -5 } })
    assert.are_not.equal(first, o:get(1, 1))
  end)
end)

describe("nerve.stop.early with restore", function()
  -- Validation targets opposite to the training ones: the better the
  -- network fits, the worse its validation loss, so early fires and
  -- restores an early epoch.
  local function run(opts)
    nerve.seed(5)
    local x, y = xor()
    local anti = nerve.matrix{ { 1 }, { 0 }, { 0 }, { 1 } }
    local net = nerve.mlp{ 2, 4, 1 }
    local stop = nerve.stop.early{ patience = 3, restore = true }
    local o = { batch = 4, epochs = 200, stop = stop, seed = 1,
      optimizer = nerve.sgd(net, { lr = 2, momentum = 0.9 }),
      validation = { x, anti } }
    for k, v in pairs(opts or {}) do o[k] = v end
    return nerve.fit(net, x, y, o), net, stop, x, anti
  end

  it("reports the best epoch, the restore and the restored weights' loss", function()
    local report, net, stop, x, anti = run()
    assert.are.equal("early", report.stopped)
    assert.is_true(report.restored)
    assert.are.equal(stop.best_epoch, report.best_epoch)
    assert.is_true(report.best_epoch < report.epochs)
    local now = nerve.mse():forward(net:predict(x), anti)
    assert.is_true(math.abs(report.val_loss - now) <= 1e-6 * math.max(1, now),
      report.val_loss .. " vs " .. now)
    assert.is_true(math.abs(report.val_loss
      - report.val_history[report.best_epoch]) <= 1e-6)
    assert.is_true(report.val_loss < report.val_history[report.epochs])
  end)

  it("shows the restored epoch and its validation loss on the last progress line", function()
    local lines = {}
    local fake = { write = function(self, ...)
      for _, v in ipairs{ ... } do lines[#lines + 1] = v end
      return self
    end, flush = function() end }
    local saved = io.stderr
    io.stderr = fake
    local ok, report = pcall(run, { progress = true })
    io.stderr = saved
    assert.is_true(ok, tostring(report))
    local last = lines[#lines]
    assert.matches("%(early, epoch " .. report.best_epoch .. " restored%)", last)
    assert.matches(string.format("val %.6g", report.val_loss), last, 1, true)
  end)

  it("without restore, reports the best epoch and no restore", function()
    local report = run{ stop = nerve.stop.early{ patience = 3, restore = false } }
    assert.are.equal("early", report.stopped)
    assert.is_number(report.best_epoch)
    assert.is_nil(report.restored)
    assert.are.equal(report.val_history[report.epochs], report.val_loss)
  end)
end)

describe("tostring of a fit report", function()
  it("summarises epochs, final losses and why training stopped", function()
    nerve.seed(2)
    local x, y = xor()
    local net = nerve.mlp{ 2, 4, 1 }
    local r = nerve.fit(net, x, y, { batch = 4, epochs = 7,
      validation = { x, y } })
    local s = tostring(r)
    assert.is_nil(s:find("table: ", 1, true))
    assert.matches("^nerve%.fit report: 7 epochs in [%d.e-]+s, stopped: epochs; ", s)
    assert.matches(string.format("loss %.6g, val_loss %.6g", r.loss, r.val_loss),
      s, 1, true)
    assert.matches("best epoch %d+", s)
    assert.are.equal("table", type(r)) -- still a plain table of fields
  end)

  it("names a restore", function()
    nerve.seed(5)
    local x, y = xor()
    local anti = nerve.matrix{ { 1 }, { 0 }, { 0 }, { 1 } }
    local net = nerve.mlp{ 2, 4, 1 }
    local r = nerve.fit(net, x, y, { batch = 4, epochs = 200, seed = 1,
      stop = nerve.stop.early{ patience = 3 }, validation = { x, anti },
      optimizer = nerve.sgd(net, { lr = 2, momentum = 0.9 }) })
    assert.matches("stopped: early %(epoch " .. r.best_epoch .. " restored%)",
      tostring(r))
  end)
end)

describe("printing", function()
  it("shows float32 settings as the numbers that were typed", function()
    local net = nerve.sequential{ nerve.linear(2, 3), nerve.dropout(0.2),
      nerve.leaky_relu(0.3) }
    assert.are.equal("nerve.adam(lr=0.001, steps=0)", tostring(nerve.adam(net)))
    assert.are.equal("nerve.sgd(lr=0.1, steps=0)", tostring(nerve.sgd(net)))
    assert.are.equal("nerve.rmsprop(lr=0.01, steps=0)",
      tostring(nerve.rmsprop(net)))
    local s = tostring(net)
    assert.matches("dropout(0.2)", s, 1, true)
    assert.matches("leaky_relu(0.3)", s, 1, true)
    assert.are.equal("nerve.dropout(0.2)", tostring(net:layer(2)))
    -- a value no shorter text gives back exactly keeps all its digits
    local odd = nerve.sgd(net, { lr = 0.1234567 })
    assert.are.equal("nerve.sgd(lr=0.1234567, steps=0)", tostring(odd))
  end)

  it("lists only the instruction sets this CPU runs when set_isa refuses one", function()
    local err = fails(nerve.set_isa, "sse9")
    local listed = err:match("this CPU runs (.*)%)$")
    assert.is_string(listed, err)
    for _, isa in ipairs{ "avx512", "avx2", "neon", "scalar" } do
      local named = listed:find(isa .. "%f[^%w]") ~= nil
      assert.are.equal(nerve.core.isa_supported(isa), named, isa .. ": " .. err)
    end
  end)

  it("says '1 column', '1 row', and no 'a adam'", function()
    local net = nerve.mlp{ 2, 1 }
    local err = fails(net.forward, net, nerve.matrix(3, 1))
    assert.matches("input has 1 column, network expects 2", err, 1, true)
    err = fails(net.predict, net, nerve.matrix(3, 1))
    assert.matches("input has 1 column, network expects 2", err, 1, true)
    err = fails(nerve.accuracy, net, nerve.matrix(3, 1), { 1, 1, 1 })
    assert.matches("input has 1 column,", err, 1, true)
    local x = nerve.matrix(3, 2)
    err = fails(nerve.fit, net, x, nerve.matrix(1, 1))
    assert.matches("y has 1 row, the inputs have 3", err, 1, true)
    local ck = nerve.checkpoint.parse(nerve.checkpoint.bytes{ net = net,
      optimizer = nerve.adam(net) })
    err = fails(ck.restore, ck, { net = net, optimizer = nerve.sgd(net) })
    assert.matches("holds the state of optimizer 'adam', not 'sgd'", err, 1,
      true)
  end)
end)

describe("argument errors", function()
  -- the message's position must be this file, the line of the bad call
  local function where(f)
    local ok, err = pcall(f)
    assert.is_false(ok)
    return tostring(err)
  end
  local here = "^spec/traps_spec%.lua:%d+: "

  it("point at the caller's line for nerve.linear with a missing width", function()
    local err = where(function() local l = nerve.linear(4); return l end)
    assert.matches(here .. "nerve%.linear: argument #2 %(n_out%) must be an " ..
      "integer in 1%.%.%d+, got nothing$", err)
    err = where(function() local l = nerve.linear("4", 2); return l end)
    assert.matches(here .. "nerve%.linear: argument #1 %(n_in%)", err)
    err = where(function() local l = nerve.linear(4, 0); return l end)
    assert.matches(here .. "nerve%.linear: .* got 0$", err)
    assert.are.same({ 4, 2 }, { nerve.linear(4.0, 2).weight:shape() })
  end)

  it("point at the caller's line for other wrappers of the core", function()
    local net = nerve.mlp{ 2, 1 }
    assert.matches(here .. "nerve%.accuracy: input has 1 column",
      where(function() local a = nerve.accuracy(net, nerve.matrix(1, 1), { 1 }); return a end))
    assert.matches(here .. "nerve%.add: ", where(function()
      local n = nerve.sequential{ nerve.linear(2, 3), nerve.linear(2, 1) }; return n end))
    assert.matches(here .. "nerve%.data%.split: x must be a matrix",
      where(function() local a = nerve.data.split(3); return a end))
    assert.matches(here .. "nerve%.metrics%.confusion: x must be a matrix",
      where(function() local c = nerve.metrics.confusion(net, 3); return c end))
  end)
end)

describe("fit's messages point at the fix", function()
  local net = nerve.mlp{ 2, 3, 2 }
  local x = nerve.matrix{ { 0, 1 }, { 1, 0 } }
  local y = nerve.matrix{ { 1 }, { 2 } }

  it("a learning rate given to fit names the optimizer", function()
    local ok, err = pcall(nerve.fit, net, x, y, { lr = 0.1 })
    assert.is_false(ok)
    assert.matches("'lr' is the optimizer's: optimizer = nerve.sgd(net, { lr = ... })",
      err, 1, true)
  end)

  it("class indices with a loss that wants one column per output", function()
    local ok, err = pcall(nerve.fit, net, x, y,
      { optimizer = nerve.sgd(net, { lr = 0.1 }), epochs = 1 })
    assert.is_false(ok)
    assert.matches("if it holds class indices 1..2, use loss = nerve.cross_entropy()",
      err, 1, true)
  end)
end)

describe("restoring a checkpoint of another shape", function()
  it("names both networks' layers", function()
    local a, b = nerve.mlp{ 2, 3, 2 }, nerve.mlp{ 2, 4, 2 }
    local ck = nerve.checkpoint.parse(nerve.checkpoint.bytes{ net = a })
    local ok, err = pcall(ck.restore, ck, { net = b })
    assert.is_false(ok)
    assert.matches("layers differ from the checkpoint's: linear(2 -> 4), " ..
      "sigmoid, linear(4 -> 2), sigmoid, against linear(2 -> 3), sigmoid, " ..
      "linear(3 -> 2), sigmoid", err, 1, true)
  end)
end)
