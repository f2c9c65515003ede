local nerve = require "nerve"
local ref = dofile("spec/helpers/ref.lua")

local function model()
  nerve.seed(21)
  local net = nerve.sequential{
    nerve.linear(3, 6), nerve.tanh(),
    nerve.linear(6, 5), nerve.leaky_relu(0.3),
    nerve.linear(5, 4), nerve.relu(),
    nerve.linear(4, 4), nerve.sigmoid(),
    nerve.linear(4, 3), nerve.softmax(),
  }
  -- biases away from zero so that they are seen to round-trip
  for i = 1, #net, 2 do net:layer(i).bias:fill(0.1 * i) end
  return net
end

local X = { { 0.1, -0.7, 2 }, { -3, 0.5, 0.25 }, { 1, 1, -1 } }

local function outputs(net) return net:forward(nerve.matrix(X)):totable() end

local function same_params(a, b)
  local pa, pb = a:parameters(), b:parameters()
  if #pa ~= #pb then return false end
  for i = 1, #pa do
    if not ref.same(pa[i], pb[i]) then return false end
  end
  return true
end

local function tmpname()
  local p = os.tmpname()
  return p
end

describe("save and load", function()
  it("round-trip a network bitwise", function()
    local net, path = model(), tmpname()
    assert.are.equal(true, net:save(path))
    local back, err = nerve.load(path)
    os.remove(path)
    assert.is_not_nil(back, err)
    assert.are.equal(#net, #back)
    assert.are.equal(net:num_parameters(), back:num_parameters())
    assert.is_true(same_params(net, back))
    assert.is_true(ref.same(outputs(net), outputs(back)))
  end)

  it("keep a mlp's activations", function()
    nerve.seed(22)
    local net = nerve.mlp{ 2, 5, 3, hidden = "tanh", output = "linear" }
    local path = tmpname()
    assert(net:save(path))
    local back = assert(nerve.load(path))
    os.remove(path)
    assert.are.equal(3, #back)
    local x = nerve.matrix{ { 0.3, -4 } }
    assert.is_true(ref.same(net:forward(x), back:forward(x)))
  end)

  it("overwrite an existing file", function()
    local path = tmpname()
    local f = assert(io.open(path, "wb"))
    f:write(string.rep("x", 100000))
    f:close()
    local net = model()
    assert.are.equal(true, net:save(path))
    local back = nerve.load(path)
    os.remove(path)
    assert.is_not_nil(back)
    assert.is_true(ref.same(outputs(net), outputs(back)))
  end)

  it("give a network that trains", function()
    local path = tmpname()
    nerve.seed(23)
    assert(nerve.mlp{ 2, 4, 1 }:save(path))
    local net = assert(nerve.load(path))
    os.remove(path)
    local x = nerve.matrix{ { 0, 0 }, { 0, 1 }, { 1, 0 }, { 1, 1 } }
    local y = nerve.matrix{ { 0 }, { 0 }, { 0 }, { 1 } }
    local loss = nerve.mse()
    local first = loss:forward(net:forward(x), y)
    for _ = 1, 300 do
      net:zero_grad()
      net:backward(x, loss:backward(net:forward(x), y))
      net:update(1)
    end
    local last = loss:forward(net:forward(x), y)
    assert.is_true(last < first / 2, "loss went from " .. first .. " to " .. last)
  end)

  it("load returns nil and a message for a missing file", function()
    local a, b = nerve.load("/nonexistent/dir/model.nerve")
    assert.is_nil(a)
    assert.is_string(b)
  end)

  it("save returns nil and a message for an unwritable path", function()
    local a, b = model():save("/nonexistent/dir/model.nerve")
    assert.is_nil(a)
    assert.is_string(b)
  end)

  it("load returns nil and a message for a file that is not a model", function()
    local path = tmpname()
    local f = assert(io.open(path, "wb"))
    f:write("return { hello = 'world' }\n")
    f:close()
    local a, b = nerve.load(path)
    os.remove(path)
    assert.is_nil(a)
    assert.is_string(b)
  end)

  it("load returns nil and a message for a directory", function()
    local a, b = nerve.load("/tmp")
    assert.is_nil(a)
    assert.is_string(b)
  end)

  it("load returns nil and a message for an empty file", function()
    local path = tmpname()
    local a, b = nerve.load(path)
    os.remove(path)
    assert.is_nil(a)
    assert.is_string(b)
  end)

  it("write the bytes serialize gives", function()
    local net, path = model(), tmpname()
    assert(net:save(path))
    local f = assert(io.open(path, "rb"))
    local bytes = f:read("a")
    f:close()
    os.remove(path)
    assert.are.equal(net:serialize(), bytes)
  end)
end)

describe("serialize and deserialize", function()
  it("round-trip a network bitwise", function()
    local net = model()
    local s = net:serialize()
    assert.is_string(s)
    local back, err = nerve.deserialize(s)
    assert.is_not_nil(back, err)
    assert.is_true(same_params(net, back))
    assert.is_true(ref.same(outputs(net), outputs(back)))
    assert.are.equal(s, back:serialize())
  end)

  it("give a network independent of the original", function()
    local net = model()
    local back = nerve.deserialize(net:serialize())
    local before = outputs(net)
    back:layer(1).weight:fill(0)
    assert.is_true(ref.same(before, outputs(net)))
  end)

  it("store the float32 parameters in a defined byte order", function()
    local net = nerve.mlp{ 2, 2, 1 }
    net:layer(1).weight:set(1, 2, 1234.5678)
    local v = net:layer(1).weight:get(1, 2)
    local s = net:serialize()
    assert.truthy(s:find(string.pack("<f", v), 1, true) or s:find(string.pack(">f", v), 1, true))
  end)

  it("are deterministic", function()
    assert.are.equal(model():serialize(), model():serialize())
  end)

  it("return nil and a message for garbage", function()
    for _, s in ipairs{ "", "x", "garbage", string.rep("\0", 64), string.rep("\255", 1000),
                        "NERVEMDL", "NERVEMDL" .. string.rep("\0", 100) } do
      local a, b = nerve.deserialize(s)
      assert.is_nil(a)
      assert.is_string(b)
    end
  end)

  it("return nil and a message for every truncation", function()
    local s = model():serialize()
    for n = 0, #s - 1 do
      local a, b = nerve.deserialize(s:sub(1, n))
      if a ~= nil or type(b) ~= "string" then
        error("a model cut to " .. n .. " of " .. #s .. " bytes was accepted")
      end
    end
  end)

  it("return nil and a message for trailing bytes", function()
    local s = model():serialize()
    local a, b = nerve.deserialize(s .. "\0")
    assert.is_nil(a)
    assert.is_string(b)
  end)

  it("return nil and a message for every flipped byte", function()
    local s = model():serialize()
    for i = 1, #s do
      local c = s:byte(i)
      local bad = s:sub(1, i - 1) .. string.char(c ~ 0xff) .. s:sub(i + 1)
      local a, b = nerve.deserialize(bad)
      if a ~= nil or type(b) ~= "string" then
        error("a model with byte " .. i .. " of " .. #s .. " flipped was accepted")
      end
    end
  end)

  it("return nil and a message for a flipped bit", function()
    local s = model():serialize()
    for i = 1, #s, 7 do
      local bad = s:sub(1, i - 1) .. string.char(s:byte(i) ~ 0x10) .. s:sub(i + 1)
      local a, b = nerve.deserialize(bad)
      if a ~= nil or type(b) ~= "string" then
        error("a model with a bit of byte " .. i .. " flipped was accepted")
      end
    end
  end)

  it("raise for an argument that is not a string", function()
    assert.is_false(pcall(nerve.deserialize, {}))
    assert.is_false(pcall(nerve.deserialize))
  end)
end)
