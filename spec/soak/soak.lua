-- soak.lua [SECONDS] - trains, saves, loads and churns networks for a while
-- (default 180 s) at small sizes, then checks that memory came back: the
-- engine holds only its context once everything is dropped, and Lua's heap
-- did not grow. `make soak` runs it under valgrind's memcheck, which adds
-- invalid accesses and leaks to the verdict. Prints one line of counts.
local nerve = require "nerve"
local core = nerve.core

local seconds = tonumber(arg and arg[1]) or 180
local dir = os.tmpname()
os.remove(dir)
local path = dir .. ".nrv"

local function kb()
  collectgarbage("collect")
  collectgarbage("collect")
  return collectgarbage("count")
end

local counts = { rounds = 0, epochs = 0, saves = 0, loads = 0, forwards = 0,
  diverged = 0, refused = 0 }

local function round(r)
  nerve.seed(r)
  local width = 3 + r % 5
  local net = nerve.mlp{ 4, width, 3, hidden = r % 2 == 0 and "tanh" or "relu",
    output = "linear" }
  local rows = 16 + r % 23
  local x = nerve.matrix(rows, 4)
  local y = nerve.matrix(rows, 1)
  for i = 1, rows do
    for j = 1, 4 do x:set(i, j, math.sin(i * j + r)) end
    y:set(i, 1, i % 3 + 1)
  end
  local opt = r % 3 == 0 and nerve.sgd(net, { lr = 0.1, momentum = 0.9 })
    or nerve.adam(net, { lr = 0.01 })
  local rep = nerve.fit(net, x, y, { loss = nerve.cross_entropy(), epochs = 5,
    batch = 1 + r % 9, seed = r, optimizer = opt,
    validation = { x, y }, stop = nerve.stop.plateau{ patience = 3 } })
  counts.epochs = counts.epochs + rep.epochs
  -- a diverging run every so often
  if r % 7 == 0 then
    local d = nerve.mlp{ 4, 3, 1, output = "linear" }
    local t = nerve.matrix(rows, 1, 1e3)
    local dr = nerve.fit(d, x, t, { epochs = 50, batch = 4,
      optimizer = nerve.sgd(d, { lr = 10 }) })
    if dr.stopped == "diverged" then counts.diverged = counts.diverged + 1 end
    d:close()
  end
  -- NaN data is refused
  if r % 5 == 0 then
    local bad = x:copy()
    bad:set(1, 1, 0 / 0)
    if not pcall(nerve.fit, net, bad, y, { loss = nerve.cross_entropy(),
        epochs = 1 }) then
      counts.refused = counts.refused + 1
    end
  end
  assert(net:save(path))
  counts.saves = counts.saves + 1
  local back = assert(nerve.load(path))
  counts.loads = counts.loads + 1
  assert(back:serialize() == net:serialize(), "model changed on disk")
  assert(nerve.deserialize(back:serialize()))
  -- buffers growing and views going stale
  for b = 1, 40, 13 do
    local out = back:forward(nerve.matrix(b, 4, 0.5))
    counts.forwards = counts.forwards + 1
    local big = back:forward(nerve.matrix(b + 50, 4, 0.25))
    assert(not pcall(out.get, out, 1, 1) or true)
    big:copy()
  end
  local c = back:clone()
  c:copy_parameters(net)
  if r % 2 == 0 then back:close() end
  counts.rounds = counts.rounds + 1
end

local t0 = core.clock()
round(0) -- warm up before the baseline
local start = kb()
local r = 1
while core.clock() - t0 < seconds do
  round(r)
  r = r + 1
  if r % 50 == 0 then collectgarbage("collect") end
end
local stop = kb()
local bytes, blocks = core.memory()
os.remove(path)
print(string.format("soak: %d rounds, %d epochs, %d saves, %d loads, %d " ..
  "forwards, %d diverged, %d refused in %.0f s; Lua heap %.0f -> %.0f KiB; " ..
  "engine %d bytes in %d block(s)", counts.rounds, counts.epochs,
  counts.saves, counts.loads, counts.forwards, counts.diverged,
  counts.refused, core.clock() - t0, start, stop, bytes, blocks))
assert(blocks == 1, "engine memory held after everything was dropped")
assert(stop - start < 256, "the Lua heap grew")
