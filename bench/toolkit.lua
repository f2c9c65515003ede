-- bench/toolkit.lua: throughput of the toolkit's activations (scalar
-- reference vs the SIMD paths) and the cost of dropout in training.
--   ./nerve bench/toolkit.lua
-- Prints numbers only; nothing here is a test.
local nerve = require "nerve"
local clock = nerve.core.clock

local N = 1 << 20 -- elements per pass
local x = nerve.matrix(1024, 1024)
for i = 1, 1024 do for j = 1, 1024, 37 do x:set(i, j, (i - j) / 97) end end
local dy = x:copy()

local function rate(net, reps)
  net:forward(x); net:backward(x, dy) -- warm up, size the buffers
  local t0 = clock()
  for _ = 1, reps do net:forward(x); net:backward(x, dy) end
  return reps * N / (clock() - t0) / 1e6
end

local isas = { "scalar" }
for _, s in ipairs{ "avx2", "avx512" } do
  if nerve.core.isa_supported(s) then isas[#isas + 1] = s end
end
local default = nerve.isa()

print(string.format("%-20s %s", "forward+backward,", "M elements/s over " .. N .. " floats"))
for _, name in ipairs{ "elu", "softplus", "gelu", "sigmoid_symmetric", "tanh" } do
  local row = { string.format("%-20s", name) }
  for _, isa in ipairs(isas) do
    nerve.set_isa(isa)
    local net = nerve.sequential{ nerve[name]() }
    row[#row + 1] = string.format("%s %7.0f", isa, rate(net, 20))
  end
  print(table.concat(row, "  "))
end
nerve.set_isa(default)

-- dropout: training (mask drawn per element) vs evaluation (identity)
local net = nerve.sequential{ nerve.dropout(0.5) }
local train = rate(net, 20)
net:evaluate()
local eval = rate(net, 20)
print(string.format("%-20s training %7.0f  evaluation %7.0f", "dropout(0.5)", train, eval))
