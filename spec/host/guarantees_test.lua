-- LuaUnit suite for what nerve promises a host (nerve_lua.h), run inside
-- test_host: memory only from the state's allocator (a cap gives Lua
-- errors, nothing leaks), no global state (states in threads train alone),
-- silence, errors that stay errors, and lua_close freeing everything.
local lu = require "luaunit"
local nerve = require "nerve"
local host = host  -- set by the C host

local M = {}

-- A training run in a fresh state; returns the trained model's bytes.
local EPOCHS = host.quick and 4 or 30
local function training(seed, width, rows)
  return string.format([[
    local nerve = require "nerve"
    nerve.seed(%d)
    local n = %d
    local x, y = nerve.matrix(n, 16), nerve.matrix(n, 1)
    for i = 1, n do
      local s = 0
      for j = 1, 16 do
        local v = math.sin(i * 0.37 + j * 1.3)
        x:set(i, j, v)
        s = s + v
      end
      y:set(i, 1, s > 0 and 1 or 0)
    end
    local net = nerve.mlp{ 16, %d, 1, hidden = "tanh" }
    nerve.fit(net, x, y, { optimizer = nerve.adam(net, { lr = 0.01 }),
      batch = 16, epochs = %d, seed = %d })
    return net:serialize()
  ]], seed, rows or 256, width, EPOCHS, seed)
end

function M.test_two_states_in_two_threads_train_as_they_do_alone()
  -- long enough (about 50 ms each) that the threads surely overlap
  local a, b = training(1, 64, 1024), training(2, 48, 1024)
  local alone_a = host.run({ a })[1]
  local alone_b = host.run({ b })[1]
  lu.assertTrue(alone_a.ok, alone_a.value)
  lu.assertTrue(alone_b.ok, alone_b.value)
  lu.assertNotEquals(alone_a.value, alone_b.value)
  for _ = 1, host.quick and 1 or 2 do
    local both = host.run({ a, b })
    lu.assertTrue(both[1].ok and both[2].ok)
    -- bitwise: the model bytes hold every float32 parameter
    lu.assertEquals(both[1].value, alone_a.value)
    lu.assertEquals(both[2].value, alone_b.value)
    lu.assertEquals(both[1].live, 0)
    lu.assertEquals(both[2].live, 0)
  end
  -- and the same chunk twice at once gives twice the same bytes
  local same = host.run({ a, a })
  lu.assertEquals(same[1].value, alone_a.value)
  lu.assertEquals(same[2].value, alone_a.value)
end

function M.test_a_memory_cap_gives_lua_errors_and_leaks_nothing()
  local code = training(3, 32)
  local free = host.run({ code })[1]
  lu.assertTrue(free.ok, free.value)
  lu.assertEquals(free.live, 0)
  -- caps from nothing to more than the run needs: each run either ends as
  -- the uncapped one did, bit for bit, or with a Lua memory error; and
  -- lua_close gives back every byte either way
  local failed, passed = 0, 0
  local steps = host.quick and 20 or 60
  for k = 0, steps do
    local cap = 1 + k * free.peak // (steps - 10)
    local r = host.run({ code }, cap)[1]
    lu.assertEquals(r.live, 0, "cap " .. cap)
    if r.ok then
      passed = passed + 1
      lu.assertEquals(r.value, free.value, "cap " .. cap)
    else
      failed = failed + 1
      lu.assertStrContains(r.value, "not enough memory", false,
        "cap " .. cap .. ": " .. r.value)
    end
  end
  lu.assertTrue(failed > steps // 6, "failed " .. failed)
  lu.assertTrue(passed > steps // 12, "passed " .. passed)
end

function M.test_the_state_recovers_after_hitting_its_cap()
  collectgarbage()
  for extra = 0, 400000, host.quick and 100000 or 40000 do
    host.limit(host.limit() + extra)
    local ok, err = pcall(function()
      local net = nerve.mlp{ 300, 300, 10 }
      net:forward(nerve.matrix(128, 300, 0.5))
      return net:serialize()
    end)
    host.limit(0)
    if not ok then lu.assertStrContains(tostring(err), "not enough memory") end
    collectgarbage()
  end
  lu.assertEquals(#nerve.mlp{ 2, 3, 1 }:forward({ 1, 2 }), 1)
end

function M.test_nothing_is_printed_unless_asked()
  local ok, err, written = host.silent(function()
    nerve.seed(1)
    local x = nerve.matrix{ { 0, 0 }, { 0, 1 }, { 1, 0 }, { 1, 1 } }
    local y = nerve.matrix{ { 0 }, { 1 }, { 1 }, { 0 } }
    local net = nerve.mlp{ 2, 4, 1 }
    nerve.fit(net, x, y, { epochs = 50, batch = 2,
      validation = { x, y }, stop = nerve.stop.plateau{ patience = 5 } })
    local t = nerve.trainer(net, x, y, { batch = 2, epochs = 3 })
    while not t:step(3) do end
    tostring(net); tostring(x)
    nerve.deserialize("garbage")
    nerve.load("/nonexistent/model")
    pcall(net.forward, net, nerve.matrix(1, 5))
    pcall(nerve.fit, net, x, y, { bogus = 1 })
    collectgarbage()
  end)
  lu.assertTrue(ok, err)
  lu.assertEquals(written, 0)
  -- asked: progress = true writes to stderr
  local _, _, asked = host.silent(function()
    local x = nerve.matrix{ { 0, 0 }, { 1, 1 } }
    nerve.fit(nerve.mlp{ 2, 1 }, x, nerve.matrix{ { 0 }, { 1 } },
      { epochs = 2, progress = true })
  end)
  lu.assertTrue(asked > 0)
end

-- Every public function with arguments of every wrong kind: each call
-- returns or raises a Lua error; none may crash the host.
function M.test_errors_never_escape_as_crashes()
  local net = nerve.mlp{ 2, 3, 1 }
  local values = { nil, true, 0, -1, 1e300, 0 / 0, "x", {}, { {} }, { 1, 2 },
    print, coroutine.create(print), nerve.matrix(2, 2), net, nerve.linear(2, 2),
    nerve.mse(), io.stdout }
  local calls, errors = 0, 0
  local function try(f, ...)
    calls = calls + 1
    local ok, err = pcall(f, ...)
    if not ok then
      errors = errors + 1
      lu.assertIsString(err)
    end
  end
  local fns = {}
  for name, f in pairs(nerve) do
    if type(f) == "function" and name ~= "help" then fns[#fns + 1] = f end
  end
  for _, name in ipairs{ "forward", "backward", "update", "layer", "add",
      "clone", "serialize", "copy_parameters", "summary" } do
    local m = net[name]
    if m then fns[#fns + 1] = function(...) return m(net, ...) end end
  end
  for _, f in ipairs(fns) do
    for i = 1, #values + 1 do
      try(f, values[i])
      for j = 1, #values + 1, host.quick and 5 or 3 do
        try(f, values[i], values[j])
      end
    end
  end
  lu.assertTrue(calls > (host.quick and 500 or 1000), calls)
  lu.assertTrue(errors > calls // 4, errors .. " of " .. calls)
  -- the state still works
  lu.assertEquals(#nerve.mlp{ 2, 3, 1 }:forward({ 1, 2 }), 1)
end

local runner = lu.LuaUnit.new()
runner:setOutputType("text")
runner:runSuiteByInstances({ { "guarantees", M } })
local r = runner.result
return r.runCount - r.notSuccessCount, r.notSuccessCount
