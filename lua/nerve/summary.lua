--- net:summary(): a table of a network's layers like Keras' model.summary():
-- each layer with its type, output shape and parameter count, then the
-- totals. Returned as a string (the REPL shows it; scripts print it).
local format, rep, concat, max = string.format, string.rep, table.concat,
  math.max
local tostring, getmetatable, type, ipairs, error =
  tostring, getmetatable, type, ipairs, error
local core = require "nerve.core"
local _ENV = nil

local M = {}

function M.summary(net)
  if not core.is_net(net) then
    error("net:summary: expected a network, got " .. type(net), 2)
  end
  local rows = {}
  local width = net:n_in()
  local total = 0
  for i = 1, #net do
    local layer = net:layer(i)
    local kind, params, name = layer.kind, 0
    if kind == "linear" then
      params = layer.n_in * layer.n_out + layer.n_out
      width = layer.n_out
      name = format("linear(%d -> %d)", layer.n_in, layer.n_out)
    elseif kind == "leaky_relu" then
      name = format("leaky_relu(%g)", layer.alpha)
    else
      name = kind
    end
    total = total + params
    rows[#rows + 1] = { tostring(i), name,
      width > 0 and format("(B, %d)", width) or "(B, any)", tostring(params) }
  end
  local bytes = total * 4
  local head = { "#", "Layer (type)", "Output shape", "Param #" }
  local w = { #head[1], #head[2], #head[3], #head[4] }
  for _, r in ipairs(rows) do
    for c = 1, 4 do w[c] = max(w[c], #r[c]) end
  end
  local function line(r)
    return format("%-" .. w[1] .. "s  %-" .. w[2] .. "s  %-" .. w[3]
      .. "s  %" .. w[4] .. "s", r[1], r[2], r[3], r[4])
  end
  local ruler = rep("=", w[1] + w[2] + w[3] + w[4] + 6)
  local out = { line(head), ruler }
  for _, r in ipairs(rows) do out[#out + 1] = line(r) end
  out[#out + 1] = ruler
  out[#out + 1] = format("Total params: %d (%s as float32)", total,
    bytes >= 1048576 and format("%.2f MB", bytes / 1048576)
      or format("%.1f KB", bytes / 1024))
  out[#out + 1] = format("Input: (B, %d)  Output: (B, %d)", net:n_in(),
    net:n_out())
  return concat(out, "\n")
end

--- Adds summary to the methods of every network (the metatable of
-- nerve.Net is shared by all of them).
function M.install()
  local methods = getmetatable(core.net()).__index
  if type(methods) == "table" and methods.summary == nil then
    methods.summary = M.summary
  end
end

return M
