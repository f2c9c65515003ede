-- LuaUnit suite for the host C API (nerve_lua.h), run inside test_host:
-- networks built in C and pushed into Lua (owned by the state), and
-- networks of Lua borrowed by C.
local lu = require "luaunit"
local nerve = require "nerve"
local host = host  -- set by the C host

local M = {}

local function sigmoid(a) return 1 / (1 + math.exp(-a)) end

-- The output Lua computes by hand from the layer's parameters.
local function by_hand(net, x)
  local w, b = net:layer(1).weight, net:layer(1).bias
  local out = {}
  local _, n_out = w:shape()
  for j = 1, n_out do
    local a = b:get(1, j)
    for i = 1, #x do a = a + x[i] * w:get(i, j) end
    out[j] = sigmoid(a)
  end
  return out
end

local function assert_close(got, want)
  lu.assertEquals(#got, #want)
  for i = 1, #want do lu.assertAlmostEquals(got[i], want[i], 1e-6) end
end

function M.test_a_network_built_in_c_is_a_lua_network()
  local net = host.cnet(3, 2, false)
  lu.assertEquals(tostring(net):match("^nerve%.sequential"), "nerve.sequential")
  lu.assertEquals(net:num_parameters(), 3 * 2 + 2)
  lu.assertEquals(net:layer(1).kind, "linear")
  lu.assertEquals(net:layer(2).kind, "sigmoid")
  local x = { 0.5, -1, 2 }
  assert_close(net:forward(nerve.matrix{ x }):totable()[1], by_hand(net, x))
end

function M.test_a_network_of_another_context_is_copied_into_the_state()
  collectgarbage()
  local before = host.limit()
  local net = host.cnet(200, 100, true)
  -- the copy lives in the state's memory: weights are counted here
  lu.assertTrue(host.limit() - before > 200 * 100 * 4)
  local x = {}
  for i = 1, 200 do x[i] = (i % 7) / 7 end
  assert_close(net:forward(nerve.matrix{ x }):totable()[1], by_hand(net, x))
end

function M.test_c_borrows_a_lua_network_and_runs_it()
  nerve.seed(5)
  local net = nerve.mlp{ 4, 3 }
  local x = { 1, 2, 3, 4 }
  assert_close(host.cforward(net, x), net:forward(nerve.matrix{ x }):totable()[1])
  -- after training in Lua, C sees the new weights (the same network)
  nerve.fit(net, nerve.matrix{ x }, nerve.matrix{ { 1, 0, 1 } },
    { epochs = 20, batch = 1 })
  assert_close(host.cforward(net, x), net:forward(nerve.matrix{ x }):totable()[1])
end

function M.test_tonet_refuses_what_is_not_an_open_network()
  lu.assertFalse(host.isnet(nil))
  lu.assertFalse(host.isnet({}))
  lu.assertFalse(host.isnet(nerve.matrix(1, 1)))
  lu.assertFalse(host.isnet(nerve.linear(2, 2)))
  local net = nerve.mlp{ 2, 1 }
  lu.assertTrue(host.isnet(net))
  net:close()
  lu.assertFalse(host.isnet(net))
  local ok, err = pcall(host.cforward, "not a net", { 1 })
  lu.assertFalse(ok)
  lu.assertStrContains(err, "nerve.Net expected")
  ok, err = pcall(host.cforward, net, { 1 })
  lu.assertFalse(ok)
  lu.assertStrContains(err, "closed")
end

function M.test_pushed_networks_are_freed_by_the_state()
  collectgarbage(); collectgarbage()
  local before = host.limit()
  for _ = 1, 20 do host.cnet(100, 100, false) end
  for _ = 1, 5 do host.cnet(100, 100, true) end
  collectgarbage(); collectgarbage()
  lu.assertTrue(host.limit() - before < 20000, "kept " .. (host.limit() - before))
end

local runner = lu.LuaUnit.new()
runner:setOutputType("text")
runner:runSuiteByInstances({ { "capi", M } })
local r = runner.result
return r.runCount - r.notSuccessCount, r.notSuccessCount
