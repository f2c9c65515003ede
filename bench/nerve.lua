-- nerve's side of `make bench`: prints one CSV line per repeat,
--   workload,impl,threads,unit,value,cpu
-- cpu is the process's CPU time over the wall time of the repeat (1: one
-- core all to itself; less on a machine shared with other work).
-- Every figure is timed inside the process with nerve.clock(). The
-- workloads are those of bench/torch_peer.py, row for row;
-- `lua5.4 bench/nerve.lua sweep` runs the size sweep instead, and
-- `lua5.4 bench/nerve.lua sweep bf16` its bf16 rows.
local nerve = require "nerve"
local core = nerve.core

local REPS = tonumber(os.getenv("BENCH_REPS")) or 5
local TARGET = tonumber(os.getenv("BENCH_SECONDS")) or 0.25
local clock = core.clock

local function emit(workload, impl, threads, unit, v, cpu)
  io.write(string.format("%s,%s,%d,%s,%.6g,%.3f\n", workload, impl, threads, unit, v, cpu))
  io.flush()
end

-- How each precision runs on this CPU, for the report's header (a comment
-- line, not a row)
do
  local how, names = nerve.precisions(), {}
  for name in pairs(how) do names[#names + 1] = name end
  table.sort(names)
  for i, name in ipairs(names) do names[i] = name .. " = " .. how[name] end
  io.write("# nerve.precisions(): ", table.concat(names, ", "), "\n")
end

-- Runs f(n) (n units of work) for about TARGET seconds, REPS times after a
-- calibration; emits the rate (units per second) of each repeat.
local function rate(workload, impl, threads, unit, f, scale)
  scale = scale or 1
  local n = 1
  while true do
    local t0 = clock(); f(n); local t = clock() - t0
    if t > TARGET / 8 then n = math.max(1, math.floor(n * TARGET / t)); break end
    n = n * 4
  end
  for _ = 1, REPS do
    local c0, t0 = os.clock(), clock(); f(n)
    local t, c = clock() - t0, os.clock() - c0
    local v = n / t * scale
    if unit == "us" then v = 1e6 * t / n end
    emit(workload, impl, threads, unit, v, c / t)
  end
end

math.randomseed(1)
local function random_data(rows, cols, classes)
  local x = nerve.matrix(rows, cols)
  local rnd = math.random
  for i = 1, rows do for j = 1, cols do x:set(i, j, rnd()) end end
  local y = nerve.matrix(rows, 1)
  for i = 1, rows do y:set(i, 1, 1 + (i * 7) % classes) end
  return x, y
end

-- n whole epochs of nerve.fit over x, y in order, as f(n) for rate()
local function fit_epochs(net, x, y, loss, opt, b)
  return function(n)
    nerve.fit(net, x, y, { loss = loss, optimizer = opt, batch = b,
      epochs = n, shuffle = false })
  end
end
-- n forwards of x
local function forwards(net, x)
  return function(n) for _ = 1, n do net:forward(x) end end
end

local only = os.getenv("BENCH_ONLY") -- a workload prefix, for quick runs
local function want(w) return not only or w:sub(1, #only) == only end

-- The size sweep: the networks of bench/sweep.txt (layer sizes, batch,
-- and the mark bf16 on those also run in bf16).
local function sweep_nets()
  local nets = {}
  for line in io.lines((arg[0]:match("^(.*)/") or ".") .. "/sweep.txt") do
    local name, batch, mark = line:match("^([%d-]+)%s+(%d+)%s*(%w*)")
    if name then
      local spec = { hidden = "relu", output = "linear" }
      for d in name:gmatch("%d+") do spec[#spec + 1] = tonumber(d) end
      nets[#nets + 1] = { name = name, spec = spec, batch = tonumber(batch), bf16 = mark == "bf16" }
    end
  end
  return nets
end

-- Each network trained by fit over whole epochs of a whole number of
-- batches, at least 4 and at least 2048 rows (the rows PyTorch's loop
-- cycles through), and a forward of one batch, at 1 and 2 threads. An
-- epoch of the largest network is about 86 GFLOP: rate() runs at least
-- one per repeat. Data sets are shared by networks of one input size.
-- precision "bf16": the networks marked bf16, trained only (the same fit,
-- net:precision("bf16")), as sweep_train_bf16_<sizes>_b<batch>.
local function sweep(nets, precision)
  local bf16 = precision == "bf16"
  local data = {}
  local function dataset(rows, cols, classes)
    local key = rows .. "x" .. cols .. "x" .. classes
    data[key] = data[key] or { random_data(rows, cols, classes) }
    return data[key][1], data[key][2]
  end
  for _, threads in ipairs{ 1, 2 } do
    nerve.threads(threads)
    for _, s in ipairs(nets) do
      local b, n_in, n_out = s.batch, s.spec[1], s.spec[#s.spec]
      local tag = (bf16 and "bf16_" or "") .. s.name .. "_b" .. b
      local wt, wi = "sweep_train_" .. tag, "sweep_infer_" .. tag
      local train, infer = want(wt) and (s.bf16 or not bf16), want(wi) and not bf16
      nerve.seed(1)
      local net = (train or infer) and nerve.mlp(s.spec):precision(precision)
      if train then
        local rows = b * math.max(4, -(-2048 // b))
        local x, y = dataset(rows, n_in, n_out)
        rate(wt, "nerve_fit", threads, "samples/s", fit_epochs(net, x, y,
          nerve.cross_entropy(), nerve.sgd(net, { lr = 0.01 }), b), rows)
      end
      if infer then
        rate(wi, "nerve", threads, "samples/s", forwards(net, (dataset(b, n_in, n_out))), b)
      end
    end
  end
  nerve.threads(1)
end

if arg[1] == "sweep" then
  sweep(sweep_nets(), arg[2] or "fp32")
  return
end

-- fit's data sets: 2048 rows for batches 32 and 256, the rows PyTorch's
-- loop cycles through (bench/torch_peer.py), so both work on the same
-- amount of data; 512 for batch 1 (an epoch of single-row steps)
local DATA = {}
for _, rows in ipairs{ 512, 2048 } do DATA[rows] = { random_data(rows, 784, 10) } end
-- batches of b rows for the hand-written loop, 2048 rows in all
local BATCHES = {}
for _, b in ipairs{ 1, 32, 256 } do
  local xb, yb = {}, {}
  for k = 1, 2048 // b do xb[k], yb[k] = random_data(b, 784, 10) end
  BATCHES[b] = { xb, yb }
end

local function mnist_net()
  nerve.seed(1)
  return nerve.mlp{ 784, 256, 128, 10, hidden = "relu", output = "linear" }
end

for _, threads in ipairs{ 1, 2 } do
  nerve.threads(threads)
  for _, b in ipairs{ 1, 32, 256 } do
    local net = mnist_net()
    local loss = nerve.cross_entropy()
    local opt = nerve.sgd(net, { lr = 0.01 })
    -- nerve.fit over whole epochs of batch b (the rate counts samples)
    local w = "train_b" .. b
    if want(w) then
      local rows = b == 1 and 512 or 2048
      local xs, ys = DATA[rows][1], DATA[rows][2]
      rate(w, "nerve_fit", threads, "samples/s", fit_epochs(net, xs, ys, loss, opt, b), rows)
      -- the same step written by hand: forward, loss, backward, step
      local xb, yb = BATCHES[b][1], BATCHES[b][2]
      rate(w, "nerve_loop", threads, "samples/s", function(n)
        for i = 1, n do
          local k = (i - 1) % #xb + 1
          net:zero_grad()
          local out = net:forward(xb[k])
          -- false: no dE/dx, which a training loop does not need (PyTorch
          -- does not compute it either: x does not require grad)
          net:backward(xb[k], loss:backward(out, yb[k]), false)
          opt:step()
        end
      end, b)
    end
    w = "infer_b" .. b
    if want(w) then
      local xb = BATCHES[b][1][1]
      rate(w, "nerve", threads, "samples/s", forwards(net, xb), b)
    end
  end
end
nerve.threads(1)

if want("xor") then
  local x = nerve.matrix{ { 0, 0 }, { 0, 1 }, { 1, 0 }, { 1, 1 } }
  local y = nerve.matrix{ { 0 }, { 1 }, { 1 }, { 0 } }
  nerve.seed(1)
  local net = nerve.mlp{ 2, 4, 1 }
  local loss = nerve.mse()
  local opt = nerve.sgd(net, { lr = 0.5 })
  -- one step on the four samples, by hand and in one engine call
  rate("xor_step", "nerve_loop", 1, "us", function(n)
    for _ = 1, n do
      net:zero_grad()
      local out = net:forward(x)
      net:backward(x, loss:backward(out, y))
      opt:step()
    end
  end)
  local tb = core.train_batch
  rate("xor_step", "nerve_train_batch", 1, "us", function(n)
    for _ = 1, n do tb(net, "mse", x, y, nil, 1, 4, opt) end
  end)
  rate("xor_fit", "nerve_fit", 1, "samples/s", fit_epochs(net, x, y, loss, opt, 4), 4)
end

if want("small") then
  nerve.seed(1)
  local net = nerve.mlp{ 32, 64, 64, 8, hidden = "tanh", output = "linear" }
  local row = {}
  for j = 1, 32 do row[j] = math.random() end
  local xm = nerve.matrix{ row }
  rate("small_fwd", "nerve", 1, "us", forwards(net, xm))
end
