-- make_corpus.lua DIR - writes the seed corpus: valid models of several
-- shapes (DIR/model*/valid-*.nrv) and pseudo-random programs for the Lua
-- driver (DIR/lua/seed-*). Deterministic: the same files on every run.
local nerve = require "nerve"
local dir = assert(arg[1], "usage: make_corpus.lua DIR")

local function write(path, bytes)
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
end

nerve.seed(7)
local models = {
  empty = nerve.sequential{},
  act = nerve.sequential{ nerve.tanh() },
  one = nerve.sequential{ nerve.linear(1, 1) },
  seed221 = nerve.mlp{ 2, 2, 1 },
  xor = nerve.mlp{ 2, 4, 1, hidden = "tanh" },
  softmax = nerve.mlp{ 4, 8, 3, hidden = "relu", output = "softmax" },
  leaky = nerve.sequential{ nerve.leaky_relu(0.2), nerve.linear(3, 2),
    nerve.leaky_relu(0.05), nerve.identity() },
  deep = nerve.mlp{ 3, 3, 3, 3, 3, 3, 3, 2, hidden = "sigmoid",
    output = "linear" },
  wide = nerve.sequential{ nerve.linear(17, 9), nerve.sigmoid(),
    nerve.linear(9, 1) },
}
local n = 0
for name, net in pairs(models) do
  for _, harness in ipairs{ "model", "model_sealed" } do
    write(dir .. "/" .. harness .. "/valid-" .. name .. ".nrv", net:serialize())
    n = n + 1
  end
end

-- programs: a small linear congruential generator, so no file is random
local s = 12345
local function rand()
  s = (s * 1103515245 + 12345) % 2147483648
  return s // 65536 % 256
end
for i = 1, 24 do
  local t = {}
  for j = 1, 32 + i * 8 do t[j] = string.char(rand()) end
  write(string.format("%s/lua/seed-%02d", dir, i), table.concat(t))
  n = n + 1
end
print(string.format("make_corpus: %d files", n))
