-- The REPL's conveniences: summaries, help, progress display, plots.
local nerve = require "nerve"

local function xor_report(validation)
  nerve.seed(1)
  local x = nerve.matrix{ { 0, 0 }, { 0, 1 }, { 1, 0 }, { 1, 1 } }
  local y = nerve.matrix{ { 0 }, { 1 }, { 1 }, { 0 } }
  local net = nerve.mlp{ 2, 4, 1 }
  return nerve.fit(net, x, y, { batch = 4, epochs = 300,
    optimizer = nerve.sgd(net, { lr = 2, momentum = 0.9 }),
    validation = validation and { x, y } or nil })
end

describe("net:summary", function()
  it("lists every layer with its output shape and parameters, and the total", function()
    local net = nerve.mlp{ 784, 128, 10, hidden = "relu", output = "linear" }
    local s = net:summary()
    assert.matches("1%s+linear%(784 %-> 128%)%s+%(B, 128%)%s+100480", s)
    assert.matches("2%s+relu%s+%(B, 128%)%s+0", s)
    assert.matches("3%s+linear%(128 %-> 10%)%s+%(B, 10%)%s+1290", s)
    assert.matches("Total params: 101770", s)
    assert.matches("Input: %(B, 784%)  Output: %(B, 10%)", s)
  end)

  it("names leaky_relu's alpha and works on an empty network", function()
    assert.matches("leaky_relu%(0.2%)", nerve.sequential{ nerve.linear(2, 2),
      nerve.leaky_relu(0.2) }:summary())
    assert.matches("Total params: 0", nerve.sequential{}:summary())
  end)
end)

describe("nerve.help", function()
  it("lists the documented names", function()
    local s = nerve.help()
    for _, name in ipairs{ "nerve.fit", "nerve.mlp", "net:forward",
        "nerve.trainer", "nerve.plot.loss", "nerve.stop.plateau" } do
      assert.truthy(s:find(name, 1, true), name)
    end
  end)

  it("finds an entry by function, by name and by object", function()
    assert.matches("^nerve%.fit%(net, x, y %[, opts%]%)", nerve.help(nerve.fit))
    assert.matches("^nerve%.fit%(", nerve.help("fit"))
    assert.matches("^nerve%.fit%(", nerve.help("nerve.fit"))
    assert.matches("^net:forward", nerve.help("forward"))
    local net = nerve.mlp{ 2, 1 }
    assert.matches("^net:forward", nerve.help(net.forward))
    assert.matches("net:summary", nerve.help(net))
    assert.matches("m:shape", nerve.help(nerve.matrix(1, 1)))
    assert.matches("^nerve%.stop%.plateau", nerve.help(nerve.stop.plateau))
  end)

  it("says so when nothing is documented", function()
    assert.matches("nothing documented as 'nope'", nerve.help("nope"))
    assert.matches("no entry", nerve.help(print))
  end)

  it("documents every function of the API contract", function()
    local names = { "matrix", "linear", "sigmoid", "tanh", "relu",
      "leaky_relu", "softmax", "sequential", "mlp", "mse", "cross_entropy",
      "bce", "sgd", "adam", "fit", "seed", "isa", "set_isa", "threads",
      "gradcheck", "accuracy", "load", "deserialize" }
    for _, n in ipairs(names) do
      assert.is_nil(nerve.help(nerve[n]):find("no entry"), n)
    end
  end)
end)

describe("nerve.progress", function()
  local progress = require "nerve.progress"
  local state = { epoch = 25, loss = 0.0123, val_loss = 0.02, seconds = 2 }

  it("shows a bar with epoch, loss, samples/s and time left", function()
    local s = progress.text(state, 100, 1000, nil, 100)
    assert.matches("^%[==========%s+%] 25/100  loss 0.0123  val 0.02  " ..
      "12.5k samples/s  6.0s left$", s)
    assert.is_true(#s <= 100)
  end)

  it("shows fit's metric by name, on the bar and in plain lines", function()
    local st = { epoch = 25, loss = 0.0123, val_loss = 0.02, val_metric = 0.96667,
      seconds = 2 }
    assert.matches("val 0.02  accuracy 0.9667  ", progress.text(st, 100, 1000,
      nil, 100, "accuracy"))
    local out = {}
    local fake = { write = function(self, ...)
      for _, v in ipairs{ ... } do out[#out + 1] = v end
      return self
    end }
    progress.show(st, 100, 1000, nil, fake, "accuracy")
    assert.are.equal("nerve.fit: epoch 25/100  loss 0.0123  val 0.02  " ..
      "accuracy 0.96667  2.0s\n", table.concat(out))
  end)

  it("gets the metric's name from fit", function()
    local x = nerve.matrix{ { 0, 0 }, { 1, 1 } }
    local y = nerve.matrix{ { 1 }, { 2 } }
    local net = nerve.mlp{ 2, 2, output = "linear" }
    local out = {}
    local stderr = io.stderr
    io.stderr = { write = function(self, ...)
      for _, v in ipairs{ ... } do out[#out + 1] = v end
      return self
    end, flush = function() end }
    local ok, err = pcall(nerve.fit, net, x, y, { epochs = 2,
      loss = nerve.cross_entropy(), validation = { x, y }, metric = "accuracy",
      progress = true })
    io.stderr = stderr
    assert(ok, err)
    assert.matches("epoch 2/2  loss %S+  val %S+  accuracy %S+", table.concat(out))
  end)

  it("fills the bar and names the reason when training ends", function()
    local s = progress.text(state, 100, 1000, "loss_below", 100)
    assert.matches("^%[=+%]", s)
    assert.matches("done in 2.0s %(loss_below%)", s)
  end)

  it("writes plain lines where stderr is not a terminal", function()
    local out = {}
    local fake = { write = function(self, ...)
      for _, v in ipairs{ ... } do out[#out + 1] = v end
      return self
    end }
    progress.show(state, 100, 1000, nil, fake)
    assert.are.equal("nerve.fit: epoch 25/100  loss 0.0123  val 0.02  2.0s\n",
      table.concat(out))
  end)

  it("tells terminals from other files", function()
    local f = io.tmpfile()
    assert.is_false(nerve.core.isatty(f))
    f:close()
    assert.is_false(nerve.core.isatty(f))
    assert.is_false(nerve.core.isatty({}))
    assert.is_false(nerve.core.isatty(nil))
  end)

  it("formats durations and rates", function()
    assert.are.equal("3m05s", progress.duration(185))
    assert.are.equal("2h07m", progress.duration(7620))
    assert.are.equal("1.23M", progress.si(1234567))
  end)
end)

describe("nerve.plot", function()
  it("draws the loss curve in braille with its range and epochs", function()
    local r = xor_report(true)
    local s = nerve.plot.terminal(r, { width = 40, height = 8 })
    local lines = {}
    for l in s:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.are.equal(8 + 3, #lines)
    assert.matches("300 epochs", lines[1])
    assert.matches("• validation", lines[1])
    assert.matches("300$", lines[#lines])
    -- every chart row is 40 braille cells after its axis, the validation
    -- curve's marks among them
    local function cells(line) return line:match("┤(.*)$") or line:match("│(.*)$") end
    local marks = 0
    for i = 2, 9 do
      local row = cells(lines[i])
      assert.are.equal(40, utf8.len(row))
      for _, c in utf8.codes(row) do
        if c == 0x2022 then marks = marks + 1
        else assert.is_true(c >= 0x2800 and c <= 0x28ff) end
      end
    end
    -- one mark every other column, and the last
    assert.are.equal(21, marks)
    -- the loss falls: the first column is drawn high, the last low
    local first_row_with = function(col)
      for i = 2, 9 do
        local cps = {}
        for _, c in utf8.codes(cells(lines[i])) do cps[#cps + 1] = c end
        if cps[col] ~= 0x2800 then return i end
      end
    end
    assert.is_true(first_row_with(1) < first_row_with(40))
  end)

  it("makes sparklines of any numbers", function()
    assert.are.equal("▁▃▆█", nerve.plot.sparkline({ 1, 2, 3, 4 }))
    assert.are.equal(10, utf8.len(nerve.plot.sparkline(xor_report(), 10)))
  end)

  it("writes an SVG with training and validation curves", function()
    local path = os.tmpname()
    assert.is_true(nerve.plot.loss(xor_report(true), path, { title = "xor <1>" }))
    local f = assert(io.open(path))
    local svg = f:read("a")
    f:close()
    os.remove(path)
    assert.matches("^<svg ", svg)
    assert.matches("</svg>\n$", svg)
    local _, lines = svg:gsub("<polyline", "")
    assert.are.equal(2, lines)
    assert.matches("validation", svg)
    assert.matches("xor &lt;1&gt;", svg)
    local points = svg:match('points="([^"]*)"')
    local _, count = points:gsub(",", "")
    assert.are.equal(300, count)
  end)

  it("labels the SVG axes with round numbers", function()
    local function labels(svg)
      local out = {}
      for v in svg:gmatch('text%-anchor="end">([^<]*)</text>') do out[#out + 1] = v end
      local epochs = {}
      for v in svg:gmatch('text%-anchor="middle">(%d+)</text>') do epochs[#epochs + 1] = v end
      return table.concat(out, " "), table.concat(epochs, " ")
    end
    -- a linear scale from 0.481 to 1.13 over 85 epochs
    local h = {}
    for i = 1, 85 do h[i] = 1.13 - (1.13 - 0.481) * (i - 1) / 84 end
    local values, epochs = labels(nerve.plot.svg(h))
    assert.are.equal("0.4 0.6 0.8 1 1.2", values)
    assert.are.equal("1 20 40 60 80", epochs)
    -- a log scale: decades
    values, epochs = labels(nerve.plot.svg(xor_report(true)))
    assert.are.equal("0.0001 0.001 0.01 0.1 1", values)
    assert.are.equal("1 100 200 300", epochs)
    -- a constant loss still gets an axis around it
    values = labels(nerve.plot.svg({ 5, 5, 5 }))
    assert.are.equal("4.4 4.6 4.8 5 5.2 5.4 5.6", values)
  end)

  it("returns nil, message when the file cannot be written", function()
    local ok, err = nerve.plot.loss(xor_report(), "/nonexistent/dir/loss.svg")
    assert.is_nil(ok)
    assert.matches("nonexistent", err)
  end)

  it("raises on what is not a report", function()
    assert.has_error(function() nerve.plot.terminal(42) end,
      "nerve.plot.terminal: expected a fit report or an array of numbers, got number")
    assert.has_error(function() nerve.plot.loss({}, "x.svg") end)
  end)
end)

describe("tracebacks", function()
  it("name fit nerve.fit, as it is called", function()
    assert.are.equal(nerve.fit, require "nerve.fit")
    local net = nerve.mlp{ 2, 1 }
    local _, tb = xpcall(nerve.fit, debug.traceback, net, nerve.matrix(2, 2),
      nerve.matrix(2, 1), { on_epoch = function() error("boom") end })
    assert.matches("in function 'nerve.fit'\n", tb, 1, true)
    assert.is_nil(tb:find("nerve.fit.fit", 1, true))
  end)
end)

describe("./nerve", function()
  local function sh(cmd)
    local p = assert(io.popen(cmd .. " 2>&1"))
    local out = p:read("a")
    p:close()
    return out
  end

  it("rebuilds a stale core.so, and only then", function()
    -- a copy of the launcher with a make that logs its calls; make -q
    -- answers as $STALE says
    local dir = os.tmpname()
    os.remove(dir)
    local root = io.popen("pwd"):read("l")
    assert(os.execute(("mkdir -p %s/bin && cp nerve %s/ && ln -s %s/lua %s/lua && " ..
      "ln -s %s/build %s/build"):format(dir, dir, root, dir, root, dir)))
    local f = assert(io.open(dir .. "/bin/make", "w"))
    f:write('#!/bin/sh\necho "make $*" >> "$LOG"\n' ..
      'case "$1" in -q) [ "$STALE" = 0 ];; *) true;; esac\n')
    f:close()
    assert(os.execute("chmod +x " .. dir .. "/bin/make"))
    local run = ("cd %s && PATH=%s/bin:$PATH LOG=%s/log STALE=%%d ./nerve -e 'print(1)'")
      :format(dir, dir, dir)
    assert.are.equal("1\n", sh(run:format(0)))
    assert.are.equal("1\n", sh(run:format(1)))
    local log = assert(io.open(dir .. "/log")):read("a")
    os.execute("rm -rf " .. dir)
    assert.are.equal(("make -q -C %s build/nerve/core.so\n"):rep(2):format(dir, dir) ..
      ("make -s -C %s build/nerve/core.so\n"):format(dir), log)
  end)
end)
