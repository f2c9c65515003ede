-- Layers beyond the API's core set: dropout and more activations.
local core = require "nerve.core"

local type, error, tostring = type, error, tostring
local _ENV = nil

-- names: the activations, which mlp also takes by name
local M = { names = {} }

--- nerve.dropout([p = 0.5]): inverted dropout. While the network is in
-- training mode (net:training(), the default, and always inside fit) each
-- forward zeroes every element with probability p and scales the others
-- by 1 / (1 - p), with a mask drawn from nerve's generator (nerve.seed
-- reproduces it); backward uses the same mask. In evaluation mode
-- (net:evaluate(), net:predict, validation, nerve.accuracy) it passes its
-- input through.
function M.dropout(p)
  if p == nil then p = 0.5 end
  if type(p) ~= "number" or not (p >= 0 and p < 1) then
    error("nerve.dropout: p must be a number in [0, 1), got " .. tostring(p), 2)
  end
  return core.activation("dropout", p)
end

return M
