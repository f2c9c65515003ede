-- LuaUnit suite run inside test_host's own lua_State (nerve opened with
-- nerve_lua_open: the C core and the Lua layer come from the library).
-- Returns passed, failed to the host.
local lu = require "luaunit"
local nerve = require "nerve"
local host = host  -- set by the C host

local M = {}

function M.test_core_comes_from_the_preload()
  lu.assertEquals(package.cpath, "")
  lu.assertIsTable(package.loaded["nerve.core"])
  lu.assertIsString(nerve.version)
end

function M.test_the_lua_layer_is_compiled_into_the_library()
  -- the host's path holds only the system's LuaUnit, not the source tree
  lu.assertEquals(package.path, "/usr/share/lua/5.4/?.lua")
  for _, name in ipairs{ "nerve", "nerve.fit", "nerve.stop" } do
    lu.assertIsFunction(package.preload[name], name)
  end
  lu.assertEquals(debug.getinfo(nerve.mlp, "S").source, "@nerve/init.lua")
  -- no global is set by opening or requiring
  lu.assertNil(rawget(_G, "nerve"))
end

function M.test_help_and_its_reference_come_from_the_library()
  lu.assertIsFunction(package.preload["nerve.reference"])
  lu.assertStrContains(nerve.help(nerve.data.csv), "nerve.data.csv(path")
  lu.assertStrContains(nerve.help(nerve.mlp{ 2, 1 }), "net:predict")
  lu.assertEquals(debug.getinfo(nerve.help, "S").source, "@nerve/help.lua")
end

function M.test_xor_trains_inside_the_host()
  nerve.seed(3)
  local x = nerve.matrix{ {0, 0}, {0, 1}, {1, 0}, {1, 1} }
  local y = nerve.matrix{ {0}, {1}, {1}, {0} }
  local net = nerve.mlp{ 2, 4, 1, hidden = "tanh" }
  local report = nerve.fit(net, x, y, {
    optimizer = nerve.sgd(net, { lr = 0.5, momentum = 0.9 }),
    batch = 4, epochs = 3000, stop = nerve.stop.loss_below(1e-3),
  })
  lu.assertEquals(report.stopped, "loss_below")
  local out = net:forward(x)
  lu.assertTrue(out:get(1, 1) < 0.2 and out:get(2, 1) > 0.8)
end

function M.test_engine_memory_goes_through_the_host_allocator()
  collectgarbage()
  local before = host.limit()
  local net = nerve.mlp{ 100, 200, 10 }
  net:forward(nerve.matrix(64, 100, 0.5))
  local during = host.limit()
  -- weights, gradients and batch buffers: well over 100 KB
  lu.assertTrue(during - before > 150000, "grew by " .. (during - before))
  net = nil
  collectgarbage(); collectgarbage()
  lu.assertTrue(host.limit() - before < 20000)
end

function M.test_a_capped_allocator_gives_a_lua_error()
  collectgarbage()
  host.limit(host.limit() + 200000)
  local ok, err = pcall(function()
    local net = nerve.mlp{ 1000, 1000, 10 }   -- about 8 MB of parameters
    return net
  end)
  host.limit(0)
  lu.assertFalse(ok)
  lu.assertStrContains(tostring(err), "memory")
  -- the state still works afterwards
  local net = nerve.mlp{ 2, 3, 1 }
  lu.assertEquals(#net:forward({ 1, 2 }), 1)
end

function M.test_errors_are_lua_errors()
  local net = nerve.mlp{ 2, 3, 1 }
  local ok, err = pcall(net.forward, net, nerve.matrix(1, 3))
  lu.assertFalse(ok)
  lu.assertStrContains(err, "input has 3 columns, network expects 2")
end

function M.test_model_bytes_round_trip_in_memory()
  local net = nerve.mlp{ 3, 5, 2 }
  local copy = assert(nerve.deserialize(net:serialize()))
  local x = nerve.matrix{ { 0.1, 0.2, 0.3 } }
  lu.assertEquals(copy:forward(x):totable(), net:forward(x):totable())
  local bad, msg = nerve.deserialize("not a model")
  lu.assertNil(bad)
  lu.assertIsString(msg)
end

function M.test_a_checkpoint_resumes_in_memory()
  local x = nerve.matrix{ {0, 0}, {0, 1}, {1, 0}, {1, 1} }
  local y = nerve.matrix{ {0}, {1}, {1}, {0} }
  local loss = nerve.mse()
  local function model()
    return nerve.sequential{ nerve.linear(2, 8), nerve.gelu(), nerve.dropout(0.25),
      nerve.linear(8, 1) }
  end
  local function step(net, opt)
    net:zero_grad()
    net:backward(x, loss:backward(net:forward(x), y))
    opt:step()
  end
  nerve.seed(5)
  local a = model()
  local oa = nerve.adamw(a, { lr = 0.01 })
  for _ = 1, 4 do step(a, oa) end
  nerve.seed(5)
  local b = model()
  local ob = nerve.adamw(b, { lr = 0.01 })
  for _ = 1, 2 do step(b, ob) end
  local bytes = nerve.checkpoint.bytes{ net = b, optimizer = ob, epoch = 2 }
  local c = model()
  local oc = nerve.adamw(c, { lr = 0.01 })
  assert(nerve.checkpoint.parse(bytes)):restore{ net = c, optimizer = oc }
  for _ = 1, 2 do step(c, oc) end
  lu.assertEquals(c:layer(4).weight:totable(), a:layer(4).weight:totable())
end

function M.test_a_capped_allocator_fails_an_optimizer_cleanly()
  local net = nerve.mlp{ 300, 300, 10 }
  collectgarbage()
  host.limit(host.limit() + 100000)
  local ok, err = pcall(nerve.rmsprop, net, { momentum = 0.9, centered = true })
  host.limit(0)
  lu.assertFalse(ok)
  lu.assertStrContains(tostring(err), "memory")
  lu.assertStrContains(tostring(nerve.rmsprop(net)), "rmsprop")
end

local runner = lu.LuaUnit.new()
runner:setOutputType("text")
runner:runSuiteByInstances({ { "embed", M } })
local r = runner.result
return r.runCount - r.notSuccessCount, r.notSuccessCount
