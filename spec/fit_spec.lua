-- nerve.fit: the training driver (lua/nerve/fit.lua).
local nerve = require "nerve"

local function xor()
  return nerve.matrix{ { 0, 0 }, { 0, 1 }, { 1, 0 }, { 1, 1 } },
         nerve.matrix{ { 0 }, { 1 }, { 1 }, { 0 } }
end

-- n rows of 2 inputs and a smooth target in (0, 1).
local function regression(n)
  local x, y = nerve.matrix(n, 2), nerve.matrix(n, 1)
  for i = 1, n do
    local a, b = math.sin(i * 0.7), math.cos(i * 1.3)
    x:set(i, 1, a)
    x:set(i, 2, b)
    y:set(i, 1, 0.5 + 0.3 * a * b)
  end
  return x, y
end

-- 3 classes around 3 centres; classes as a Lua array.
local function blobs(n)
  local centres = { { 1, 0 }, { -1, 1 }, { 0, -1 } }
  local x, classes = nerve.matrix(n, 2), {}
  for i = 1, n do
    local c = (i - 1) % 3 + 1
    classes[i] = c
    x:set(i, 1, centres[c][1] + 0.3 * math.sin(i * 2.1))
    x:set(i, 2, centres[c][2] + 0.3 * math.cos(i * 3.7))
  end
  return x, classes
end

local function params(net)
  local out = {}
  for i, p in ipairs(net:parameters()) do out[i] = p:totable() end
  return out
end

local function near(a, b, tol)
  if type(a) == "table" then
    if type(b) ~= "table" or #a ~= #b then return false end
    for i = 1, #a do
      if not near(a[i], b[i], tol) then return false end
    end
    return true
  end
  return math.abs(a - b) <= (tol or 1e-6) * math.max(1, math.abs(a))
end

-- mse written in Lua: a user-made loss, so fit takes the generic path.
local function lua_mse(log)
  return {
    forward = function(self, yhat, y)
      local rows, cols = yhat:shape()
      if log then log[#log + 1] = y:copy() end
      local s = 0
      for i = 1, rows do
        for j = 1, cols do
          local d = yhat:get(i, j) - y:get(i, j)
          s = s + d * d
        end
      end
      return s / (2 * rows)
    end,
    backward = function(self, yhat, y)
      local rows, cols = yhat:shape()
      local g = nerve.matrix(rows, cols)
      for i = 1, rows do
        for j = 1, cols do
          g:set(i, j, (yhat:get(i, j) - y:get(i, j)) / rows)
        end
      end
      return g
    end,
  }
end

local function full_loss(net, loss, x, y)
  return loss:forward(net:forward(x), y)
end

-- A network that does not learn: plain SGD with lr 0.
local function frozen(net)
  return nerve.sgd(net, { lr = 0 })
end

describe("nerve.fit", function()
  before_each(function() nerve.seed(1234) end)

  describe("training", function()
    it("learns XOR with nerve.mlp{2, 4, 1} and stops with 'loss_below'", function()
      local x, y = xor()
      for _, seed in ipairs{ 1, 2, 3 } do
        nerve.seed(seed)
        local net = nerve.mlp{ 2, 4, 1 }
        local report = nerve.fit(net, x, y, {
          optimizer = nerve.sgd(net, { lr = 2, momentum = 0.9 }),
          epochs = 5000, seed = seed, stop = nerve.stop.loss_below(0.01),
        })
        assert.are.equal("loss_below", report.stopped)
        assert.is_true(report.loss < 0.01)
        local out = net:forward(x)
        for i, want in ipairs{ 0, 1, 1, 0 } do
          assert.is_true(math.abs(out:get(i, 1) - want) < 0.3)
        end
      end
    end)

    it("runs every epoch and reports 'epochs' when nothing stops it", function()
      local x, y = regression(10)
      local report = nerve.fit(nerve.mlp{ 2, 3, 1 }, x, y, { epochs = 7 })
      assert.are.equal("epochs", report.stopped)
      assert.are.equal(7, report.epochs)
      assert.are.equal(7, #report.history)
      assert.are.equal(report.history[7], report.loss)
      assert.is_number(report.seconds)
      assert.is_true(report.seconds >= 0)
    end)

    it("runs no epoch when epochs is 0", function()
      local x, y = regression(5)
      local net = nerve.mlp{ 2, 3, 1 }
      local before = params(net)
      local report = nerve.fit(net, x, y, { epochs = 0 })
      assert.are.equal(0, report.epochs)
      assert.are.same({}, report.history)
      assert.are.equal("epochs", report.stopped)
      assert.is_nil(report.loss)
      assert.are.same(before, params(net))
    end)

    it("lowers the training loss on a smooth regression", function()
      local x, y = regression(64)
      local net = nerve.mlp{ 2, 8, 1, hidden = "tanh" }
      local report = nerve.fit(net, x, y, {
        optimizer = nerve.adam(net, { lr = 0.01 }), epochs = 200, seed = 3,
      })
      assert.is_true(report.loss < report.history[1] / 2)
    end)
  end)

  describe("defaults", function()
    it("uses mse, sgd with lr 0.1 and batches of 32", function()
      local x, y = regression(70)
      local a = nerve.mlp{ 2, 5, 1 }
      local b = a:clone()
      local ra = nerve.fit(a, x, y, { epochs = 3, seed = 9 })
      local rb = nerve.fit(b, x, y, {
        epochs = 3, seed = 9, loss = nerve.mse(), batch = 32, shuffle = true,
        optimizer = nerve.sgd(b, { lr = 0.1 }),
      })
      assert.are.same(ra.history, rb.history)
      assert.are.same(params(a), params(b))
    end)

    it("runs 1000 epochs at most", function()
      local x, y = xor()
      local report = nerve.fit(nerve.mlp{ 2, 2, 1 }, x, y,
        { optimizer = nil, stop = nil })
      assert.are.equal(1000, report.epochs)
      assert.are.equal("epochs", report.stopped)
    end)
  end)

  describe("batches", function()
    it("averages the epoch's loss over samples, not batches", function()
      local x, y = regression(7)
      local net = nerve.mlp{ 2, 3, 1 }
      local report = nerve.fit(net, x, y, {
        batch = 3, epochs = 1, shuffle = false, optimizer = frozen(net),
      })
      assert.is_true(near(full_loss(net, nerve.mse(), x, y),
        report.history[1], 1e-5))
    end)

    it("makes the last batch of an epoch smaller", function()
      local x, y = regression(7)
      local net = nerve.mlp{ 2, 3, 1 }
      local sizes = {}
      local loss = lua_mse(sizes)
      nerve.fit(net, x, y, { loss = loss, batch = 3, epochs = 1 })
      assert.are.same({ 3, 3, 1 }, {
        #sizes[1], #sizes[2], #sizes[3],
      })
    end)

    it("steps the optimizer once per batch", function()
      local x, y = regression(7)
      local net = nerve.mlp{ 2, 3, 1 }
      local steps = 0
      nerve.fit(net, x, y, {
        batch = 3, epochs = 2,
        optimizer = { step = function() steps = steps + 1 end },
      })
      assert.are.equal(6, steps)
    end)

    it("takes rows in order with shuffle = false", function()
      local x, y = regression(7)
      for i = 1, 7 do y:set(i, 1, i) end
      local seen = {}
      local net = nerve.mlp{ 2, 3, 1, output = "linear" }
      nerve.fit(net, x, y, {
        loss = lua_mse(seen), batch = 3, epochs = 2, shuffle = false,
        optimizer = frozen(net),
      })
      local rows = {}
      for _, m in ipairs(seen) do
        for i = 1, #m do rows[#rows + 1] = m:get(i, 1) end
      end
      assert.are.same({ 1, 2, 3, 4, 5, 6, 7, 1, 2, 3, 4, 5, 6, 7 }, rows)
    end)

    it("matches a hand-written loop of forward, backward and step", function()
      local x, y = regression(5)
      local a = nerve.mlp{ 2, 4, 1 }
      local b = a:clone()
      nerve.fit(a, x, y, {
        batch = 2, epochs = 1, shuffle = false,
        optimizer = nerve.sgd(a, { lr = 0.5 }),
      })
      local loss, xt, yt = nerve.mse(), x:totable(), y:totable()
      for first = 1, 5, 2 do
        local xb, yb = {}, {}
        for i = first, math.min(first + 1, 5) do
          xb[#xb + 1], yb[#yb + 1] = xt[i], yt[i]
        end
        xb, yb = nerve.matrix(xb), nerve.matrix(yb)
        b:zero_grad()
        local out = b:forward(xb)
        b:backward(xb, loss:backward(out, yb))
        b:update(0.5)
      end
      assert.is_true(near(params(b), params(a), 1e-5))
    end)

    it("shuffles so that batches differ from the rows in order", function()
      local x, y = regression(12)
      for i = 1, 12 do y:set(i, 1, i) end
      local seen = {}
      local net = nerve.mlp{ 2, 3, 1, output = "linear" }
      nerve.fit(net, x, y, {
        loss = lua_mse(seen), batch = 4, epochs = 1, seed = 5,
        optimizer = frozen(net),
      })
      local rows = {}
      for _, m in ipairs(seen) do
        for i = 1, #m do rows[#rows + 1] = m:get(i, 1) end
      end
      local sorted = { table.unpack(rows) }
      table.sort(sorted)
      assert.are.same({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 }, sorted)
      assert.are_not.same(sorted, rows)
    end)
  end)

  describe("seeds", function()
    it("gives identical reports and weights for one seed", function()
      local x, y = regression(50)
      local a = nerve.mlp{ 2, 6, 1 }
      local b = a:clone()
      local ra = nerve.fit(a, x, y, { epochs = 5, batch = 8, seed = 42 })
      nerve.seed(999) -- the state's generator does not matter with a seed
      local rb = nerve.fit(b, x, y, { epochs = 5, batch = 8, seed = 42 })
      assert.are.same(ra.history, rb.history)
      assert.are.same(params(a), params(b))
    end)

    it("gives other batches for another seed", function()
      local x, y = regression(50)
      local a = nerve.mlp{ 2, 6, 1 }
      local b = a:clone()
      local ra = nerve.fit(a, x, y, { epochs = 3, batch = 8, seed = 1 })
      local rb = nerve.fit(b, x, y, { epochs = 3, batch = 8, seed = 2 })
      assert.are_not.same(ra.history, rb.history)
    end)

    it("follows nerve.seed when no seed is given", function()
      local x, y = regression(50)
      local function run()
        nerve.seed(77)
        local net = nerve.mlp{ 2, 6, 1 }
        return nerve.fit(net, x, y, { epochs = 4, batch = 8 }).history
      end
      assert.are.same(run(), run())
    end)

    it("ignores the generator with shuffle = false", function()
      local x, y = regression(20)
      local a = nerve.mlp{ 2, 6, 1 }
      local b = a:clone()
      nerve.seed(1)
      local ra = nerve.fit(a, x, y, { epochs = 3, batch = 4, shuffle = false })
      nerve.seed(2)
      local rb = nerve.fit(b, x, y, { epochs = 3, batch = 4, shuffle = false })
      assert.are.same(ra.history, rb.history)
    end)
  end)

  describe("losses and optimizers", function()
    it("trains cross_entropy with class indices in a Lua array", function()
      local x, classes = blobs(30)
      local net = nerve.mlp{ 2, 8, 3, hidden = "tanh", output = "linear" }
      local report = nerve.fit(net, x, classes, {
        loss = nerve.cross_entropy(), epochs = 100, batch = 10, seed = 1,
        optimizer = nerve.adam(net, { lr = 0.05 }),
      })
      assert.is_true(report.loss < report.history[1])
      local y = nerve.matrix(30, 1)
      for i = 1, 30 do y:set(i, 1, classes[i]) end
      assert.is_true(nerve.accuracy(net, x, y) > 0.9)
    end)

    it("reads a Lua array, an N x 1 matrix and one-hot rows alike", function()
      local x, classes = blobs(12)
      local col, onehot = nerve.matrix(12, 1), nerve.matrix(12, 3)
      for i = 1, 12 do
        col:set(i, 1, classes[i])
        onehot:set(i, classes[i], 1)
      end
      local net = nerve.mlp{ 2, 4, 3, output = "linear" }
      local histories = {}
      for i, y in ipairs{ classes, col, onehot } do
        local copy = net:clone()
        histories[i] = nerve.fit(copy, x, y, {
          loss = nerve.cross_entropy(), epochs = 3, batch = 5, seed = 4,
        }).history
      end
      assert.is_true(near(histories[1], histories[2], 1e-6))
      assert.is_true(near(histories[1], histories[3], 1e-5))
    end)

    it("raises on a class out of range and leaves the network unchanged", function()
      local x, classes = blobs(40)
      classes[40] = 4
      local net = nerve.mlp{ 2, 4, 3, output = "linear" }
      local before = params(net)
      assert.has_error(function()
        nerve.fit(net, x, classes, { loss = nerve.cross_entropy(), batch = 4 })
      end)
      assert.are.same(before, params(net))
    end)

    it("trains bce on probabilities", function()
      local x, y = xor()
      local net = nerve.mlp{ 2, 4, 1 }
      local report = nerve.fit(net, x, y, {
        loss = nerve.bce(), epochs = 50, seed = 1,
        optimizer = nerve.adam(net, { lr = 0.05 }),
      })
      assert.is_true(report.loss < report.history[1])
    end)

    it("takes the generic path for a user-made loss, with the same numbers", function()
      local x, y = regression(9)
      local a = nerve.mlp{ 2, 4, 1 }
      local b = a:clone()
      local ra = nerve.fit(a, x, y, { epochs = 4, batch = 4, shuffle = false })
      local rb = nerve.fit(b, x, y, {
        loss = lua_mse(), epochs = 4, batch = 4, shuffle = false,
      })
      assert.is_true(near(ra.history, rb.history, 1e-5))
      assert.is_true(near(params(a), params(b), 1e-5))
      assert.is_true(near(ra.grad_norm, rb.grad_norm, 1e-4))
    end)

    it("shuffles the generic path's batches like the built-in path's", function()
      local x, y = regression(20)
      local a = nerve.mlp{ 2, 4, 1 }
      local b = a:clone()
      local ra = nerve.fit(a, x, y, { epochs = 3, batch = 6, seed = 8 })
      local rb = nerve.fit(b, x, y, {
        loss = lua_mse(), epochs = 3, batch = 6, seed = 8,
      })
      assert.is_true(near(ra.history, rb.history, 1e-5))
      assert.is_true(near(params(a), params(b), 1e-5))
    end)

    it("follows nerve.seed on the generic path too", function()
      local x, y = regression(20)
      local function run()
        nerve.seed(31)
        local net = nerve.mlp{ 2, 4, 1 }
        return nerve.fit(net, x, y, { loss = lua_mse(), epochs = 3, batch = 6 })
          .history
      end
      assert.are.same(run(), run())
    end)

    it("steps a user-made optimizer after each batch", function()
      local x, y = regression(9)
      local a = nerve.mlp{ 2, 4, 1 }
      local b = a:clone()
      local ra = nerve.fit(a, x, y, { epochs = 4, batch = 4, shuffle = false })
      local rb = nerve.fit(b, x, y, {
        epochs = 4, batch = 4, shuffle = false,
        optimizer = { step = function() b:update(0.1) end },
      })
      assert.is_true(near(ra.history, rb.history, 1e-6))
      assert.is_true(near(params(a), params(b), 1e-6))
    end)
  end)

  describe("state", function()
    it("passes epoch, loss, val_loss, grad_norm, seconds and net", function()
      local x, y = regression(20)
      local xv, yv = regression(6)
      local net = nerve.mlp{ 2, 4, 1 }
      local states = {}
      local report = nerve.fit(net, x, y, {
        epochs = 4, batch = 5, validation = { xv, yv },
        on_epoch = function(state)
          states[#states + 1] = state
          state.check = full_loss(net, nerve.mse(), xv, yv)
        end,
      })
      assert.are.equal(4, #states)
      local last = -1
      for i, s in ipairs(states) do
        assert.are.equal(i, s.epoch)
        assert.are.equal(report.history[i], s.loss)
        assert.is_true(near(s.check, s.val_loss, 1e-5))
        assert.are.equal(report.val_history[i], s.val_loss)
        assert.is_number(s.grad_norm)
        assert.is_true(s.grad_norm >= 0)
        assert.is_true(s.seconds >= last)
        last = s.seconds
        assert.are.equal(net, s.net)
      end
      assert.are.equal(states[4].val_loss, report.val_loss)
    end)

    it("leaves val_loss nil without validation", function()
      local x, y = regression(8)
      local seen = false
      nerve.fit(nerve.mlp{ 2, 2, 1 }, x, y, {
        epochs = 1, on_epoch = function(s) seen = true assert.is_nil(s.val_loss) end,
      })
      assert.is_true(seen)
    end)

    it("measures grad_norm as the L2 norm of the parameter gradients", function()
      local x, y = regression(6)
      local net = nerve.mlp{ 2, 3, 1 }
      local report = nerve.fit(net, x, y, {
        epochs = 1, batch = 6, optimizer = frozen(net),
      })
      net:zero_grad()
      local loss = nerve.mse()
      local out = net:forward(x)
      net:backward(x, loss:backward(out, y))
      local sum = 0
      for i = 1, #net do
        local layer = net:layer(i)
        for _, g in ipairs{ layer.grad_weight or false, layer.grad_bias or false } do
          if g then
            for _, row in ipairs(g:totable()) do
              for _, v in ipairs(row) do sum = sum + v * v end
            end
          end
        end
      end
      assert.is_true(sum > 0)
      assert.is_true(near(math.sqrt(sum), report.grad_norm, 1e-4))
    end)
  end)

  -- With a built-in loss and optimizer and nothing that has to see an
  -- epoch in Lua, fit runs whole epochs in one C call; an on_epoch that
  -- returns nothing sends it down the per-batch path. Both must give the
  -- same floats.
  -- fit runs its epochs in C, several per call when no Lua code needs to
  -- see each one, one per call with on_epoch; yield sends it down the
  -- per-batch path (a C call per batch). All must give the same floats.
  describe("whole epochs in C", function()
    -- Returns the results of the many-epochs path, of the per-batch path
    -- and of the one-epoch path (each {report, params}), and how many
    -- epochs on_epoch saw in the last.
    local function twice(make_data, layers, opts)
      local out, seen = {}, 0
      for k, path in ipairs{ "c", "batch", "epoch" } do
        local x, y = make_data()
        nerve.seed(99)
        local net = nerve.mlp(layers)
        local o = {}
        for key, v in pairs(opts) do o[key] = v end
        if type(opts.optimizer) == "function" then o.optimizer = opts.optimizer(net) end
        if type(opts.stop) == "function" then o.stop = opts.stop() end
        o.seed = 5
        local report
        if path == "batch" then
          o.yield = true
          local co = coroutine.wrap(function() return nerve.fit(net, x, y, o) end)
          report = co()
          while type(report) ~= "table" do report = co() end
        else
          if path == "epoch" then o.on_epoch = function() seen = seen + 1 end end
          report = nerve.fit(net, x, y, o)
        end
        out[k] = { report = report, params = params(net) }
      end
      return out[1], out[2], out[3], seen
    end

    local function eq(u, v) return u == v or (u ~= u and v ~= v) end -- NaN too

    local function same(a, b)
      local ha, hb = a.report.history, b.report.history
      assert.are.equal(#ha, #hb)
      for i = 1, #ha do assert.is_true(eq(ha[i], hb[i]), "epoch " .. i) end
      for _, f in ipairs{ "epochs", "loss", "grad_norm", "stopped", "restored" } do
        assert.is_true(eq(a.report[f], b.report[f]), f)
      end
      assert.are.same(a.params, b.params)
    end

    it("gives the floats of the per-batch path (shuffled, ragged batches, clip)", function()
      local c, b, e, seen = twice(function() return regression(10) end, { 2, 5, 1 },
        { epochs = 30, batch = 3, clip = 0.05,
          optimizer = function(net) return nerve.sgd(net, { lr = 0.3, momentum = 0.9 }) end })
      same(c, b)
      same(c, e)
      assert.are.equal(30, c.report.epochs)
      assert.are.equal(30, seen)
    end)

    it("matches for cross-entropy, Adam and rows left out as non-finite", function()
      local function data()
        local x, classes = blobs(12)
        x:set(4, 2, 0 / 0)
        return x, classes
      end
      local c, b, e = twice(data, { 2, 6, 3, output = "linear" },
        { epochs = 12, batch = 5, nonfinite = "skip",
          loss = nerve.cross_entropy(),
          optimizer = function(net) return nerve.adam(net, { lr = 0.01 }) end })
      same(c, b)
      same(c, e)
      assert.are.equal(1, c.report.dropped)
    end)

    it("matches with a schedule and validation (one epoch per call)", function()
      local xv, yv = regression(6)
      local c, b, e = twice(function() return regression(10) end, { 2, 5, 1 },
        { epochs = 9, batch = 4, validation = { xv, yv },
          schedule = function(epoch) return 0.2 / epoch end })
      same(c, b)
      same(c, e)
      assert.are.same(c.report.val_history, b.report.val_history)
      assert.are.equal(9, #c.report.val_history)
    end)

    it("stops where a threshold criterion fires, with its reason", function()
      local probe = twice(function() return regression(10) end, { 2, 5, 1 },
        { epochs = 40 })
      local eps = probe.report.history[17]
      local c, b, e = twice(function() return regression(10) end, { 2, 5, 1 },
        { epochs = 40, stop = function() return nerve.stop.loss_below(eps * 1.0000001) end })
      same(c, b)
      same(c, e)
      assert.are.equal("loss_below", c.report.stopped)
      assert.are.equal(17, c.report.epochs)
      c, b, e = twice(function() return regression(10) end, { 2, 5, 1 },
        { epochs = 40, stop = function()
            return nerve.stop.any{ nerve.stop.grad_norm_below(1e-12), nerve.stop.epochs(7) }
          end })
      same(c, b)
      same(c, e)
      assert.are.equal("epochs", c.report.stopped)
      assert.are.equal(7, c.report.epochs)
      c, b, e = twice(function() return regression(10) end, { 2, 5, 1 },
        { epochs = 40, stop = function() return nerve.stop.grad_norm_below(1e9) end })
      same(c, b)
      same(c, e)
      assert.are.equal("grad_norm_below", c.report.stopped)
      assert.are.equal(1, c.report.epochs)
    end)

    it("runs in C with the progress bar on, in chunks, to the same floats", function()
      local written = {}
      local saved = io.stderr
      io.stderr = { write = function(self, s) written[#written + 1] = s return self end }
      local ok, c, b, e = pcall(twice, function() return regression(10) end,
        { 2, 5, 1 }, { epochs = 300, batch = 4, progress = true })
      io.stderr = saved
      assert(ok, c)
      same(c, b)
      same(c, e)
      assert.matches("epoch", table.concat(written))
      local plain = twice(function() return regression(10) end, { 2, 5, 1 },
        { epochs = 300, batch = 4 })
      same(c, plain)
    end)

    it("puts the last finite weights back after a divergence", function()
      local c, b, e = twice(function() return regression(10) end,
        { 2, 5, 1, output = "linear" },
        { epochs = 50, optimizer = function(net) return nerve.sgd(net, { lr = 1e29 }) end })
      same(c, b)
      same(c, e)
      assert.are.equal("diverged", c.report.stopped)
      assert.is_true(c.report.restored)
      for _, p in ipairs(c.params) do
        for _, row in ipairs(p) do
          for _, v in ipairs(row) do assert.is_true(v == v and math.abs(v) < math.huge) end
        end
      end
    end)
  end)

  describe("stopping", function()
    it("stops with 'on_epoch' when on_epoch returns false", function()
      local x, y = regression(8)
      local report = nerve.fit(nerve.mlp{ 2, 2, 1 }, x, y, {
        on_epoch = function(s) if s.epoch == 3 then return false end end,
      })
      assert.are.equal("on_epoch", report.stopped)
      assert.are.equal(3, report.epochs)
      assert.are.equal(3, #report.history)
    end)

    it("calls on_epoch before the stop criterion", function()
      local x, y = regression(8)
      local order = {}
      nerve.fit(nerve.mlp{ 2, 2, 1 }, x, y, {
        epochs = 2,
        on_epoch = function() order[#order + 1] = "on_epoch" end,
        stop = function() order[#order + 1] = "stop" end,
      })
      assert.are.same({ "on_epoch", "stop", "on_epoch", "stop" }, order)
    end)

    it("uses the reason a stop function gives", function()
      local x, y = regression(8)
      local report = nerve.fit(nerve.mlp{ 2, 2, 1 }, x, y, {
        stop = function(s) return s.epoch >= 2, "mine" end,
      })
      assert.are.equal("mine", report.stopped)
      assert.are.equal(2, report.epochs)
    end)

    it("reports 'stop' for a stop function that gives no reason", function()
      local x, y = regression(8)
      local report = nerve.fit(nerve.mlp{ 2, 2, 1 }, x, y, {
        stop = function(s) return s.epoch == 4 end,
      })
      assert.are.equal("stop", report.stopped)
      assert.are.equal(4, report.epochs)
    end)

    it("lets a criterion that fires on the last epoch win over 'epochs'", function()
      local x, y = regression(8)
      local report = nerve.fit(nerve.mlp{ 2, 2, 1 }, x, y, {
        epochs = 3, stop = function(s) return s.epoch == 3, "mine" end,
      })
      assert.are.equal("mine", report.stopped)
    end)

    it("stops with 'loss_below'", function()
      local x, y = regression(8)
      local net = nerve.mlp{ 2, 2, 1 }
      local report = nerve.fit(net, x, y, {
        optimizer = frozen(net), shuffle = false, stop = nerve.stop.loss_below(math.huge),
      })
      assert.are.equal("loss_below", report.stopped)
      assert.are.equal(1, report.epochs)
    end)

    it("stops with 'epochs' at the criterion's epoch", function()
      local x, y = regression(8)
      local report = nerve.fit(nerve.mlp{ 2, 2, 1 }, x, y, {
        stop = nerve.stop.epochs(6),
      })
      assert.are.equal("epochs", report.stopped)
      assert.are.equal(6, report.epochs)
    end)

    it("stops with 'plateau' after patience epochs without improvement", function()
      local x, y = regression(8)
      local net = nerve.mlp{ 2, 2, 1 }
      local report = nerve.fit(net, x, y, {
        optimizer = frozen(net), shuffle = false, stop = nerve.stop.plateau{ patience = 3 },
      })
      assert.are.equal("plateau", report.stopped)
      assert.are.equal(4, report.epochs)
    end)

    it("stops with 'grad_norm_below'", function()
      local x, y = regression(8)
      local report = nerve.fit(nerve.mlp{ 2, 2, 1 }, x, y, {
        stop = nerve.stop.grad_norm_below(math.huge),
      })
      assert.are.equal("grad_norm_below", report.stopped)
      assert.are.equal(1, report.epochs)
    end)

    it("stops with 'seconds'", function()
      local x, y = regression(8)
      local report = nerve.fit(nerve.mlp{ 2, 2, 1 }, x, y, {
        stop = nerve.stop.seconds(0),
      })
      assert.are.equal("seconds", report.stopped)
      assert.are.equal(1, report.epochs)
    end)

    it("stops with 'early' when the validation loss stops improving", function()
      local x, y = regression(8)
      local net = nerve.mlp{ 2, 2, 1 }
      local report = nerve.fit(net, x, y, {
        optimizer = frozen(net), shuffle = false, validation = { x, y },
        stop = nerve.stop.early{ patience = 2 },
      })
      assert.are.equal("early", report.stopped)
      assert.are.equal(3, report.epochs)
    end)

    it("reports the criterion that fired inside stop.any", function()
      local x, y = regression(8)
      local net = nerve.mlp{ 2, 2, 1 }
      local report = nerve.fit(net, x, y, {
        optimizer = frozen(net), shuffle = false,
        stop = nerve.stop.any{
          nerve.stop.loss_below(-1), nerve.stop.plateau{ patience = 2 },
          nerve.stop.epochs(10),
        },
      })
      assert.are.equal("plateau", report.stopped)
      assert.are.equal(3, report.epochs)
    end)

    it("reports 'all' when every criterion of stop.all fires", function()
      local x, y = regression(8)
      local net = nerve.mlp{ 2, 2, 1 }
      local report = nerve.fit(net, x, y, {
        optimizer = frozen(net), shuffle = false,
        stop = nerve.stop.all{
          nerve.stop.epochs(5), nerve.stop.plateau{ patience = 2 },
        },
      })
      assert.are.equal("all", report.stopped)
      assert.are.equal(5, report.epochs)
    end)

    it("resets a criterion so that it serves a second fit", function()
      local x, y = regression(8)
      local net = nerve.mlp{ 2, 2, 1 }
      local plateau = nerve.stop.plateau{ patience = 2 }
      local r1 = nerve.fit(net, x, y, { optimizer = frozen(net), shuffle = false, stop = plateau })
      local r2 = nerve.fit(net, x, y, { optimizer = frozen(net), shuffle = false, stop = plateau })
      assert.are.equal(3, r1.epochs)
      assert.are.equal(3, r2.epochs)
    end)

    it("raises when early has no validation data, even inside stop.any", function()
      local x, y = regression(8)
      local net = nerve.mlp{ 2, 2, 1 }
      for _, stop in ipairs{
        nerve.stop.early{ patience = 2 },
        nerve.stop.any{ nerve.stop.epochs(3), nerve.stop.early() },
        nerve.stop.all{ nerve.stop.early(), nerve.stop.epochs(3) },
      } do
        assert.has_error(function()
          nerve.fit(net, x, y, { stop = stop })
        end)
        local ok, msg = pcall(nerve.fit, net, x, y, { stop = stop })
        assert.is_false(ok)
        assert.matches("validation", msg)
      end
    end)

    it("restores the best weights when early stops", function()
      local x, y = regression(16)
      -- opposite targets for validation: learning y makes it worse
      local yv = nerve.matrix(16, 1)
      for i = 1, 16 do yv:set(i, 1, 1 - y:get(i, 1)) end
      local net = nerve.mlp{ 2, 6, 1 }
      local snaps, vals = {}, {}
      local report = nerve.fit(net, x, y, {
        optimizer = nerve.sgd(net, { lr = 0.5 }), batch = 4, seed = 1,
        epochs = 200, validation = { x, yv },
        on_epoch = function(s)
          snaps[s.epoch], vals[s.epoch] = params(s.net), s.val_loss
        end,
        stop = nerve.stop.early{ patience = 3, restore = true },
      })
      assert.are.equal("early", report.stopped)
      local best = 1
      for e = 2, #vals do if vals[e] < vals[best] then best = e end end
      assert.are.equal(best + 3, report.epochs)
      assert.are.same(snaps[best], params(net))
      assert.are_not.same(snaps[report.epochs], params(net))
    end)

    it("keeps the last weights when early has restore = false", function()
      local x, y = regression(16)
      local yv = nerve.matrix(16, 1)
      for i = 1, 16 do yv:set(i, 1, 1 - y:get(i, 1)) end
      local net = nerve.mlp{ 2, 6, 1 }
      local last
      local report = nerve.fit(net, x, y, {
        optimizer = nerve.sgd(net, { lr = 0.5 }), batch = 4, seed = 1,
        epochs = 200, validation = { x, yv },
        on_epoch = function(s) last = params(s.net) end,
        stop = nerve.stop.early{ patience = 3, restore = false },
      })
      assert.are.equal("early", report.stopped)
      assert.are.same(last, params(net))
    end)
  end)

  describe("validation", function()
    it("fills val_history for every epoch", function()
      local x, y = regression(12)
      local xv, yv = regression(5)
      local report = nerve.fit(nerve.mlp{ 2, 3, 1 }, x, y, {
        epochs = 6, validation = { xv, yv },
      })
      assert.are.equal(6, #report.val_history)
      assert.are.equal(report.val_history[6], report.val_loss)
    end)

    it("uses a user-made loss on validation data too", function()
      local x, y = regression(12)
      local xv, yv = regression(5)
      local net = nerve.mlp{ 2, 3, 1 }
      local report = nerve.fit(net, x, y, {
        epochs = 2, loss = lua_mse(), validation = { xv, yv },
      })
      assert.is_true(near(full_loss(net, nerve.mse(), xv, yv),
        report.val_loss, 1e-5))
    end)
  end)

  describe("progress", function()
    it("writes lines on stderr when progress = true and nothing otherwise", function()
      local x, y = regression(8)
      local written = {}
      local saved = io.stderr
      io.stderr = { write = function(self, s) written[#written + 1] = s return self end }
      local ok, err = pcall(function()
        nerve.fit(nerve.mlp{ 2, 2, 1 }, x, y, { epochs = 3 })
        assert.are.equal(0, #written)
        nerve.fit(nerve.mlp{ 2, 2, 1 }, x, y, { epochs = 3, progress = true })
      end)
      io.stderr = saved
      assert(ok, err)
      assert.is_true(#written >= 1)
      assert.matches("epoch", table.concat(written))
    end)
  end)

  describe("argument errors", function()
    local function message(f)
      local ok, msg = pcall(f)
      assert.is_false(ok)
      return tostring(msg)
    end

    it("names an unknown option", function()
      local x, y = xor()
      local msg = message(function()
        nerve.fit(nerve.mlp{ 2, 2, 1 }, x, y, { epoch = 10 })
      end)
      assert.matches("nerve.fit", msg, 1, true)
      assert.matches("'epoch'", msg, 1, true)
      assert.matches("epochs", msg, 1, true)
    end)

    it("points the error at the caller", function()
      local x, y = xor()
      local msg = message(function()
        nerve.fit(nerve.mlp{ 2, 2, 1 }, x, y, { epoch = 10 })
      end)
      assert.matches("fit_spec.lua", msg, 1, true)
    end)

    it("names an option of the wrong type or range", function()
      local x, y = xor()
      local net = nerve.mlp{ 2, 2, 1 }
      local cases = {
        { batch = 0 }, { batch = 1.5 }, { batch = "8" }, { epochs = -1 },
        { epochs = 0.5 }, { shuffle = "yes" }, { seed = "x" }, { seed = 0.5 },
        { progress = 1 }, { on_epoch = 1 }, { stop = 42 }, { loss = 42 },
        { loss = {} }, { optimizer = {} }, { validation = 42 },
        { validation = { x } },
      }
      for _, opts in ipairs(cases) do
        local name = next(opts)
        local msg = message(function() nerve.fit(net, x, y, opts) end)
        assert.matches("nerve.fit", msg, 1, true)
        assert.matches(name, msg, 1, true)
      end
    end)

    it("rejects a network, inputs or targets of the wrong kind", function()
      local x, y = xor()
      local net = nerve.mlp{ 2, 2, 1 }
      assert.matches("network", message(function() nerve.fit(nil, x, y) end))
      assert.matches("x", message(function() nerve.fit(net, 42, y) end))
      assert.matches("y", message(function() nerve.fit(net, x, 42) end))
      assert.matches("rows", message(function()
        nerve.fit(net, x, nerve.matrix(3, 1))
      end))
      assert.matches("columns", message(function()
        nerve.fit(net, nerve.matrix(4, 3), y)
      end))
      assert.matches("options", message(function() nerve.fit(net, x, y, 5) end))
    end)

    it("raises on NaN targets before training", function()
      local x, y = xor()
      y:set(4, 1, 0 / 0)
      local net = nerve.mlp{ 2, 2, 1 }
      local before = params(net)
      assert.matches("NaN", (function()
        local ok, msg = pcall(nerve.fit, net, x, y, { batch = 1 })
        return msg
      end)())
      assert.are.same(before, params(net))
    end)

    it("raises on infinite targets before training", function()
      local x, y = xor()
      y:set(2, 1, math.huge)
      assert.matches("infinity", select(2, pcall(nerve.fit, nerve.mlp{ 2, 2, 1 }, x, y)))
    end)

    it("checks large targets before training too", function()
      local n = (1 << 20) + 8
      local x, y = nerve.matrix(n, 1), nerve.matrix(n, 1)
      y:set(n, 1, 0 / 0)
      local net = nerve.mlp{ 1, 1 }
      local before = params(net)
      local ok, msg = pcall(nerve.fit, net, x, y, { batch = 1024, shuffle = false })
      assert.is_false(ok)
      assert.matches("NaN", msg)
      assert.are.same(before, params(net))
    end)
  end)
end)
