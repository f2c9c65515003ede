-- Layers beyond the API's core set: dropout and more activations.
local core = require "nerve.core"

local type, error, tostring = type, error, tostring
local _ENV = nil

-- names: the activations, which mlp also takes by name
local M = { names = { "elu", "softplus", "gelu", "sigmoid_symmetric" } }

local function param(fn, what, v, default)
  if v == nil then return default end
  if type(v) ~= "number" or v ~= v or v == 1 / 0 or v == -1 / 0 then
    error(fn .. ": " .. what .. " must be a finite number, got "
      .. tostring(v), 3)
  end
  return v
end

--- nerve.elu([alpha = 1]): a > 0 ? a : alpha (e^a - 1) (PyTorch's ELU).
function M.elu(alpha)
  return core.activation("elu", param("nerve.elu", "alpha", alpha, 1))
end

--- nerve.softplus(): log(1 + e^a), computed without overflow (PyTorch's
-- Softplus with beta 1; no threshold is needed).
function M.softplus() return core.activation("softplus") end

--- nerve.gelu(): a Phi(a) with the exact normal CDF (erf), PyTorch's
-- default GELU (not the tanh approximation).
function M.gelu() return core.activation("gelu") end

--- nerve.sigmoid_symmetric([steepness = 0.5]): FANN's SIGMOID_SYMMETRIC,
-- tanh(steepness * a), outputs in (-1, 1); 0.5 is FANN's default
-- steepness.
function M.sigmoid_symmetric(steepness)
  return core.activation("sigmoid_symmetric",
    param("nerve.sigmoid_symmetric", "steepness", steepness, 0.5))
end

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
