-- Interrupting a fit that runs all in C: Lua's hooks run between batches,
-- so Ctrl-C at the interpreter (or a host's hook) stops it at once, with
-- the network as after a whole number of batches. The bounds are
-- generous: uninterrupted, each fit here would run for minutes.
local nerve = require "nerve"
local clock = nerve.core.clock

local ROWS, BATCH = 256, 16

local function data()
  local x, y = nerve.matrix(ROWS, 16), nerve.matrix(ROWS, 4)
  for i = 1, ROWS do
    for j = 1, 16 do x:set(i, j, math.sin(i * 0.37 + j * 1.7)) end
    for j = 1, 4 do y:set(i, j, 0.5 + 0.4 * math.cos(i * 0.11 * j)) end
  end
  return x, y
end

local function new_net()
  nerve.seed(11)
  return nerve.mlp{ 16, 64, 64, 4 }
end

local function params(net)
  local out = {}
  for _, p in ipairs(net:parameters()) do
    local rows, cols = p:shape()
    for r = 1, rows do
      for c = 1, cols do out[#out + 1] = p:get(r, c) end
    end
  end
  return out
end

describe("interrupting nerve.fit", function()
  it("a hook raising after a deadline stops the all-in-C path at once and " ..
    "leaves the weights of a whole number of batches", function()
    local x, y = data()
    local net = new_net()
    net:evaluate()
    local opt = nerve.sgd(net, { lr = 0.05, momentum = 0.9 })
    local deadline
    -- as the standalone interpreter's SIGINT handler does, but on a clock:
    -- the hook raises the first time Lua code runs after the deadline
    local function hook()
      if deadline and clock() > deadline then
        debug.sethook()
        error("interrupted!")
      end
    end
    deadline = clock() + 0.3
    debug.sethook(hook, "", 1)
    local ok, err = pcall(nerve.fit, net, x, y, { epochs = 1000000,
      batch = BATCH, optimizer = opt, seed = 7 })
    local late = clock() - deadline
    debug.sethook()
    assert.is_false(ok)
    assert.truthy(tostring(err):find("interrupted!$"), tostring(err))
    assert.is_true(late < 5, "stopped " .. late .. " s after the deadline")
    local steps = opt.steps
    assert.is_true(steps > 0)
    assert.is_false(net:is_training()) -- the mode is put back
    -- the same batches one at a time (nerve.trainer, a C call per batch)
    local twin = new_net()
    local twin_opt = nerve.sgd(twin, { lr = 0.05, momentum = 0.9 })
    local t = nerve.trainer(twin, x, y, { epochs = 1000000, batch = BATCH,
      optimizer = twin_opt, seed = 7 })
    t:step(steps)
    assert.equal(steps, twin_opt.steps)
    local a, b = params(net), params(twin)
    for i = 1, #a do
      assert.is_true(a[i] == a[i] and a[i] ~= math.huge and a[i] ~= -math.huge)
    end
    assert.same(b, a)
  end)

  it("a hook that does not raise lets the run go on to the same end", function()
    local x, y = data()
    local a, b = new_net(), new_net()
    -- the pauses run a function without debug information: count them
    local pauses = 0
    debug.sethook(function()
      if debug.getinfo(2, "S").source == "=?" then pauses = pauses + 1 end
    end, "c")
    local t0 = clock()
    nerve.fit(a, x, y, { epochs = 400, batch = BATCH, seed = 3 })
    local seconds = clock() - t0
    debug.sethook()
    nerve.fit(b, x, y, { epochs = 400, batch = BATCH, seed = 3 })
    if seconds > 0.2 then assert.is_true(pauses > 0) end
    assert.same(params(b), params(a))
  end)

  it("Ctrl-C (SIGINT) at the standalone interpreter stops it with Lua's " ..
    "own error", function()
    local lua = io.popen("command -v lua5.4"):read("l")
    if not lua then pending("no lua5.4 on the path") return end
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir " .. dir))
    local f = assert(io.open(dir .. "/long.lua", "w"))
    f:write([[
local nerve = require "nerve"
local x, y = nerve.matrix(256, 16), nerve.matrix(256, 4)
local net = nerve.mlp{16, 64, 64, 4}
io.open(arg[1], "w"):close() -- ready: the parent may send SIGINT
local t = nerve.core.clock()
local ok, err = pcall(nerve.fit, net, x, y, {epochs = 1000000, batch = 16})
print(ok, err, nerve.core.clock() - t)
]])
    f:close()
    local env = string.format("LUA_PATH=%q LUA_CPATH=%q", package.path,
      package.cpath)
    -- SIGINT 0.5 s after the child is ready; a watchdog kills it after 120 s
    local script = string.format([[
d=%s; %s %s $d/long.lua $d/ready > $d/out 2>&1 & p=$!
(sleep 120; kill -KILL $p) >/dev/null 2>&1 & w=$!
i=0; while [ ! -e $d/ready ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
sleep 0.5; kill -INT $p; wait $p; kill $w 2>/dev/null; cat $d/out]],
      dir, env, lua)
    local p = io.popen(script)
    local out = p:read("a")
    p:close()
    os.execute("rm -rf " .. dir)
    local ok, err, seconds = out:match("^(%S+)\t([^\t]*)\t(%S+)")
    assert.equal("false", ok, out)
    assert.equal("interrupted!", err)
    assert.is_true(tonumber(seconds) < 10, out)
  end)
end)
