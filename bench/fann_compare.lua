-- nerve and FANN side by side on the FANN benchmark sets (`make bench-fann`):
-- the same topology (sigmoid layers) and the same epoch budget, trained in
-- one run; prints each one's test MSE (FANN's
-- definition) after the last epoch and at its best epoch (the protocol of
-- FANN's published figures), and the wall time of the training epochs.
--
--   ./nerve bench/fann_compare.lua --fann build/fann_compare
--       [--data FOLDER] [--epochs N] [--seed N] [SET ...]
--
-- FANN trains with its default iRPROP- (full batch) from U(-0.1, 0.1);
-- nerve with Adam (lr 3e-3, batches of 16, its usual way) and the MSE
-- loss from its default Xavier initialisation (--fann-init: FANN's range;
-- --lr X: another rate). Both run on one
-- thread; only training epochs are timed (test evaluations are not).
-- Never part of `make test`: timings depend on the machine's load.

local nerve = require "nerve"

local PUBLISHED = {
  diabetes = 0.16345, gene = 0.07537, mushroom = 0.00000, soybean = 0.04382,
  thyroid = 0.01090, parity8 = 0.00000, building = 0.00631,
  abelone = 0.00560, bank32fm = 0.00180, ["pumadyn-32fm"] = 0.00419,
}
local SETS = { "diabetes", "gene", "mushroom", "soybean", "thyroid",
  "parity8", "building", "abelone", "bank32fm", "pumadyn-32fm" }
-- Hidden layers per set (one layer; parity needs a wider one).
local HIDDEN = { parity8 = { 32 } }
local DEFAULT_HIDDEN = { 16 }

local fann_bin, folder, epochs, seed, lr, fann_init, only =
  nil, "../shared/datasets/fann", 200, 1, 3e-3, false, {}
do
  local i = 1
  while i <= #arg do
    local a = arg[i]
    if a == "--fann" then fann_bin = arg[i + 1]; i = i + 1
    elseif a == "--data" then folder = arg[i + 1]; i = i + 1
    elseif a == "--epochs" then epochs = math.tointeger(tonumber(arg[i + 1])); i = i + 1
    elseif a == "--seed" then seed = math.tointeger(tonumber(arg[i + 1])); i = i + 1
    elseif a == "--lr" then lr = tonumber(arg[i + 1]); i = i + 1
    elseif a == "--fann-init" then fann_init = true
    else only[a] = true end
    i = i + 1
  end
end
if not fann_bin or not epochs or not seed then
  io.stderr:write("usage: fann_compare.lua --fann PROGRAM [--data FOLDER] "
    .. "[--epochs N] [--seed N] [--lr X] [--fann-init] [SET ...]\n")
  os.exit(2)
end

local function run_fann(name, hidden)
  local cmd = ("%s %s/%s.train %s/%s.test %d %d %s"):format(fann_bin, folder,
    name, folder, name, epochs, seed, table.concat(hidden, " "))
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  p:close()
  local r = {}
  for k, v in out:gmatch("([%w_]+)=([%d%.e%-]+)") do r[k] = tonumber(v) end
  if not r.mse then error("fann_compare: no result from " .. cmd .. "\n" .. out) end
  return r
end

local function run_nerve(name, hidden)
  local x, y = assert(nerve.data.fann(folder .. "/" .. name .. ".train"))
  local xt, yt = assert(nerve.data.fann(folder .. "/" .. name .. ".test"))
  local _, n_in = x:shape()
  local _, n_out = y:shape()
  local sizes = { n_in, hidden = "sigmoid", output = "sigmoid" }
  for _, h in ipairs(hidden) do sizes[#sizes + 1] = h end
  sizes[#sizes + 1] = n_out
  nerve.seed(seed)
  local net = nerve.mlp(sizes)
  -- --fann-init: FANN's initial range, so that both start alike
  local g = nerve.core.rng(seed)
  for i = 1, fann_init and #net or 0 do
    local w = net:layer(i).weight
    if w then
      local r, c = w:shape()
      for a = 1, r do
        for b = 1, c do w:set(a, b, (g:uniform() * 2 - 1) * 0.1) end
      end
    end
  end
  local best, best_epoch, eval_s = math.huge, 0, 0
  local report = nerve.fit(net, x, y, {
    loss = nerve.mse(), optimizer = nerve.adam(net, { lr = lr }),
    epochs = epochs, batch = 16, seed = seed,
    on_epoch = function(state)
      local t = nerve.core.clock()
      local m = nerve.metrics.mse(net, xt, yt)
      if m < best then best, best_epoch = m, state.epoch end
      eval_s = eval_s + nerve.core.clock() - t
    end,
  })
  return { mse = nerve.metrics.mse(net, xt, yt), best_mse = best,
    best_epoch = best_epoch, seconds = report.seconds - eval_s }
end

nerve.threads(1)
print(("FANN sets, %d epochs, seed %d; MSE = FANN's (sum of squared errors "
  .. "/ (samples * outputs)) on the test file"):format(epochs, seed))
print(("%-13s %-9s | %9s %9s %7s | %9s %9s %7s | %9s"):format("set", "layers",
  "nerve", "best", "secs", "FANN", "best", "secs", "published"))
for _, name in ipairs(SETS) do
  if next(only) == nil or only[name] then
    local hidden = HIDDEN[name] or DEFAULT_HIDDEN
    local n = run_nerve(name, hidden)
    local f = run_fann(name, hidden)
    print(("%-13s %-9s | %9.5f %9.5f %7.2f | %9.5f %9.5f %7.2f | %9.5f"):format(
      name, table.concat(hidden, "-"), n.mse, n.best_mse, n.seconds,
      f.mse, f.best_mse, f.seconds, PUBLISHED[name]))
  end
end
print(("nerve: Adam lr %g, batch 16, %s; FANN: iRPROP- (its default), "
  .. "U(-0.1, 0.1); both sigmoid layers; 'best' = lowest test MSE after any "
  .. "epoch"):format(lr, fann_init and "U(-0.1, 0.1)" or "Xavier init"))
