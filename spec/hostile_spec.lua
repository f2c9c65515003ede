-- Hostile model bytes: every kind of damage gives nil and a message that
-- says which, sizes past the engine's limits are refused before they are
-- allocated, and nothing in a model is ever run.
local nerve = require "nerve"

local function u32(n)
  return string.char(n & 255, n >> 8 & 255, n >> 16 & 255, n >> 24 & 255)
end

-- CRC-32 (polynomial 0xEDB88320), to seal hand-made bytes.
local function crc32(s)
  local c = 0xFFFFFFFF
  for i = 1, #s do
    c = c ~ s:byte(i)
    for _ = 1, 8 do
      c = (c & 1 == 1) and (0xEDB88320 ~ (c >> 1)) or (c >> 1)
    end
  end
  return c ~ 0xFFFFFFFF
end

-- A sealed model from layer records {kind, n_in, n_out, alpha bits} and
-- parameter bytes; version and length may be overridden.
local function sealed(records, params, version, length)
  local body = {}
  for i, r in ipairs(records) do
    body[i] = u32(r[1]) .. u32(r[2]) .. u32(r[3]) .. u32(r[4] or 0)
  end
  body = table.concat(body) .. (params or "")
  local total = 20 + #body + 4
  local head = "NERVEMDL" .. u32(version or 1) .. u32(#records) ..
    u32(length or total)
  local s = head .. body
  return s .. u32(crc32(s))
end

local function refused(bytes, words)
  local net, msg = nerve.deserialize(bytes)
  assert.is_nil(net)
  assert.is_string(msg)
  assert.truthy(msg:find(words, 1, true), "message lacks '" .. words .. "': " .. msg)
end

describe("hostile model bytes", function()
  it("name a checksum mismatch, a version and a truncation", function()
    local good = nerve.mlp{ 2, 2 }:serialize()
    local flipped = good:sub(1, 30) .. string.char(good:byte(31) ~ 1) .. good:sub(32)
    refused(flipped, "checksum mismatch")
    refused(sealed({}, "", 2), "unsupported format version")
    refused(good:sub(1, #good - 1), "truncated")
  end)

  it("refuse sizes past NERVE_MAX_* before allocating them", function()
    local before = collectgarbage("count")
    refused(sealed{ { 0, 1 << 24, 1 << 24 } }, "larger than this build accepts")
    refused(sealed{ { 0, 0xFFFFFFFF, 1 } }, "larger than this build accepts")
    local many = {}
    for i = 1, 4097 do many[i] = { 6, 0, 0 } end
    refused(sealed(many), "larger than this build accepts")
    -- a length field claiming 4 GiB over 24 bytes
    refused(sealed({}, "", 1, 0xFFFFFFFF), "truncated")
    assert.is_true(collectgarbage("count") - before < 1024)
  end)

  it("refuse an alpha on a layer that has none", function()
    refused(sealed{ { 2, 0, 0, 0x20000000 } }, "not a nerve model")
    assert.is_truthy(nerve.deserialize(sealed{ { 4, 0, 0, 0x3e4ccccd } }))
  end)

  it("never run code: Lua source or bytecode is just not a model", function()
    _G.HOSTILE_RAN = nil
    local src = "HOSTILE_RAN = true return 1"
    for _, bytes in ipairs{ src, string.dump(load(src)), "NERVEMDL" .. src } do
      refused(bytes, "nerve model")
      local path = os.tmpname()
      local f = assert(io.open(path, "wb"))
      f:write(bytes)
      f:close()
      local net, msg = nerve.load(path)
      os.remove(path)
      assert.is_nil(net)
      assert.is_string(msg)
    end
    assert.is_nil(_G.HOSTILE_RAN)
  end)
end)
