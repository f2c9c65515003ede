-- The built-in losses: nerve.mse(), nerve.cross_entropy(), nerve.bce().
-- A loss object is a table {name = ...}; its forward and backward run in
-- C (nerve.core), and nerve.fit recognises the built-in ones by name.
local core = require "nerve.core"
local setmetatable = setmetatable
local registry = require "nerve.classes"
local _ENV = nil

local M = {}

local Loss = {}
Loss.__index = Loss
Loss.__name = "nerve.Loss"
registry[Loss.__name] = Loss

-- In C, so that errors point at the caller's line.
Loss.forward = core.loss_forward
Loss.backward = core.loss_backward

function Loss:__call(yhat, y) return self:forward(yhat, y) end
function Loss:__tostring() return "nerve." .. self.name .. "()" end

local function loss(name)
  return function() return setmetatable({ name = name }, Loss) end
end
M.mse = loss("mse")
M.cross_entropy = loss("cross_entropy")
M.bce = loss("bce")

return M
