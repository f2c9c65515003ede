-- Checkpoints: a run stopped half way and resumed in fresh objects ends
-- with the same bits as one that never stopped; the file format rejects
-- what it should.
local nerve = require "nerve"
local ref = dofile("spec/helpers/ref.lua")

local function fails(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok)
  return tostring(err)
end

local function tmp()
  local p = os.tmpname()
  os.remove(p)
  return p
end

local function data(n, seed)
  local g = ref.rng(seed)
  local x, y = nerve.matrix(n, 3), nerve.matrix(n, 1)
  for i = 1, n do
    local s = 0
    for j = 1, 3 do
      local v = g.uniform(-1, 1)
      x:set(i, j, v)
      s = s + v
    end
    y:set(i, 1, s > 0 and 1 or 2)
  end
  return x, y
end

-- a network with dropout (draws from nerve's generator while training)
local function model()
  return nerve.sequential{ nerve.linear(3, 8), nerve.relu(), nerve.dropout(0.25),
    nerve.linear(8, 2) }
end

local function params(net)
  local t = {}
  for i, p in ipairs(net:parameters()) do t[i] = p:totable() end
  return t
end

local function same_params(a, b)
  local pa, pb = params(a), params(b)
  for i = 1, #pa do
    if not ref.same(pa[i], pb[i]) then return false end
  end
  return #pa == #pb
end

describe("nerve.fit with checkpoint and resume", function()
  local x, y = data(50, 1)
  local xv, yv = data(20, 2)

  local function opts(net, opt, epochs, extra)
    local o = { loss = nerve.cross_entropy(), optimizer = opt, epochs = epochs,
      batch = 8, validation = { xv, yv }, clip = 1,
      schedule = nerve.schedule.cosine{ lr = 0.05, epochs = 8, warmup = 2 } }
    for k, v in pairs(extra or {}) do o[k] = v end
    return o
  end

  for _, case in ipairs{
    { "adam, shuffling from nerve's generator", function(net) return nerve.adam(net) end, {} },
    { "sgd with momentum and a fit seed", function(net)
      return nerve.sgd(net, { momentum = 0.9 }) end, { seed = 42 } },
    { "rmsprop, rows in order", function(net) return nerve.rmsprop(net) end,
      { shuffle = false } },
  } do
    it("ends bitwise where an uninterrupted run ends: " .. case[1], function()
      -- straight: 8 epochs
      nerve.seed(7)
      local a = model()
      local ra = nerve.fit(a, x, y, opts(a, case[2](a), 8, case[3]))

      -- 4 epochs with checkpoints, then fresh objects resume to 8
      local path = tmp()
      nerve.seed(7)
      local b = model()
      local extra = { checkpoint = { path = path, every = 2 } }
      for k, v in pairs(case[3]) do extra[k] = v end
      nerve.fit(b, x, y, opts(b, case[2](b), 4, extra))
      assert.is_false(same_params(a, b))

      nerve.seed(12345) -- whatever happens meanwhile is undone by resume
      local c = model()
      extra.resume = true
      local rc = nerve.fit(c, x, y, opts(c, case[2](c), 8, extra))
      os.remove(path)

      assert.is_true(same_params(a, c), "parameters differ")
      assert.are.equal(8, rc.epochs)
      assert.are.same(ra.history, rc.history)
      assert.are.same(ra.val_history, rc.val_history)
      -- the generator is where the straight run left it
      assert.are.equal(nerve.core.rng_state(), (function()
        nerve.seed(7)
        local d = model()
        nerve.fit(d, x, y, opts(d, case[2](d), 8, case[3]))
        return nerve.core.rng_state()
      end)())
    end)
  end

  it("starts fresh with resume = true when there is no checkpoint yet", function()
    local path = tmp()
    nerve.seed(3)
    local a = model()
    local r = nerve.fit(a, x, y, { loss = nerve.cross_entropy(), epochs = 2,
      optimizer = nerve.sgd(a), checkpoint = path, resume = true })
    assert.are.equal(2, r.epochs)
    local ck = assert(nerve.checkpoint.load(path))
    assert.are.equal(2, ck.epoch)
    os.remove(path)
  end)

  it("raises for a missing resume file, a Lua optimizer, bad options", function()
    local net = model()
    local err = fails(nerve.fit, net, x, y, { loss = nerve.cross_entropy(),
      epochs = 1, resume = "/nonexistent/ck" })
    assert.truthy(err:find("cannot resume", 1, true), err)
    err = fails(nerve.fit, net, x, y, { loss = nerve.cross_entropy(), epochs = 1,
      checkpoint = tmp(), optimizer = { step = function() end } })
    assert.truthy(err:find("nerve optimizer", 1, true), err)
    err = fails(nerve.fit, net, x, y, { loss = nerve.cross_entropy(), epochs = 1,
      checkpoint = { path = "a", evry = 2 } })
    assert.truthy(err:find("evry", 1, true), err)
    err = fails(nerve.fit, net, x, y, { loss = nerve.cross_entropy(), epochs = 1,
      resume = true })
    assert.truthy(err:find("checkpoint", 1, true), err)
  end)
end)

describe("nerve.checkpoint", function()
  it("resumes a hand-written loop exactly", function()
    local x, y = data(16, 3)
    local loss = nerve.cross_entropy()
    local function epoch(net, opt)
      net:zero_grad()
      net:backward(x, loss:backward(net:forward(x), y))
      opt:step()
    end
    nerve.seed(1)
    local a = model()
    local oa = nerve.adamw(a, { lr = 0.01 })
    for _ = 1, 6 do epoch(a, oa) end

    nerve.seed(1)
    local b = model()
    local ob = nerve.adamw(b, { lr = 0.01 })
    for _ = 1, 3 do epoch(b, ob) end
    local path = tmp()
    assert.is_true(nerve.checkpoint.save(path, { net = b, optimizer = ob, epoch = 3,
      state = { note = "half way", list = { 1, 2.5, "x", true } } }))

    nerve.seed(99)
    local c = model()
    local oc = nerve.adamw(c, { lr = 0.5 })
    local ck = assert(nerve.checkpoint.load(path))
    os.remove(path)
    assert.are.equal(3, ck.epoch)
    assert.are.same({ note = "half way", list = { 1, 2.5, "x", true } }, ck.state)
    assert.is_true(same_params(b, ck.net))
    ck:restore{ net = c, optimizer = oc }
    assert.are.equal(3, oc.steps)
    assert.are.equal(ob.lr, oc.lr)
    for _ = 1, 3 do epoch(c, oc) end
    assert.is_true(same_params(a, c))
  end)

  it("keeps integers, floats and strings exactly", function()
    local net = model()
    local state = { i = 3, f = 3.0, tiny = 5e-324, big = -1.7976931348623157e308,
      inf = math.huge, s = "a\0b", nested = { { 1 }, { k = false } } }
    local ck = assert(nerve.checkpoint.parse(nerve.checkpoint.bytes{ net = net, state = state }))
    assert.are.same(state, ck.state)
    assert.are.equal("integer", math.type(ck.state.i))
    assert.are.equal("float", math.type(ck.state.f))
    assert.is_nil(ck.optimizer)
    assert.truthy(fails(nerve.checkpoint.bytes, { net = net, state = { f = print } })
      :find("function", 1, true))
    local cyc = {}
    cyc.self = cyc
    assert.truthy(fails(nerve.checkpoint.bytes, { net = net, state = cyc }):find("cycle", 1, true))
  end)

  it("rejects foreign, truncated, corrupt and unknown-version bytes", function()
    local m = model()
    local s = nerve.checkpoint.bytes{ net = m, optimizer = nerve.sgd(m) }
    local function bad(bytes, what)
      local ck, err = nerve.checkpoint.parse(bytes)
      assert.is_nil(ck)
      assert.truthy(err:find(what, 1, true), err)
    end
    bad("NERVEMDL" .. s:sub(9), "not a nerve checkpoint")
    bad("", "not a nerve checkpoint")
    bad(s:sub(1, -2), "truncated")
    bad(s:sub(1, 30), "truncated")
    local i = #s // 2
    bad(s:sub(1, i - 1) .. string.char((s:byte(i) + 1) % 256) .. s:sub(i + 1), "checksum")
    bad(s:sub(1, 8) .. string.pack("<I4", 2) .. s:sub(13), "version")
    bad(s .. "x", "corrupt")
    local ck, err = nerve.checkpoint.load("/nonexistent/dir/ck")
    assert.is_nil(ck)
    assert.truthy(err:find("nonexistent", 1, true), err)
    local ok, werr = nerve.checkpoint.save("/nonexistent/dir/ck", { net = model() })
    assert.is_nil(ok)
    assert.truthy(werr:find("nonexistent", 1, true), werr)
  end)

  it("refuses to restore into objects that do not fit, changing nothing", function()
    local net = model()
    local ck = assert(nerve.checkpoint.parse(nerve.checkpoint.bytes{ net = net,
      optimizer = nerve.adam(net) }))
    local other = model()
    local before = params(other)
    local err = fails(ck.restore, ck, { net = other, optimizer = nerve.sgd(other) })
    assert.truthy(err:find("adam", 1, true), err)
    local small = nerve.sequential{ nerve.linear(3, 2) }
    err = fails(ck.restore, ck, { net = small })
    assert.truthy(err:find("layers differ", 1, true), err)
    err = fails(ck.restore, ck, { net = other, optimizer = nerve.adam(small) })
    assert.truthy(err:find("does not fit", 1, true), err)
    assert.are.same(before, params(other))
    err = fails(ck.restore, ck, { nett = other })
    assert.truthy(err:find("nett", 1, true), err)
  end)
end)
