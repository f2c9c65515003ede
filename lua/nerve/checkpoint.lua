-- nerve.checkpoint: save training and resume it exactly.
--
--   nerve.checkpoint.save(path, { net = net, optimizer = opt, epoch = 10,
--     state = { anything = "plain Lua data" } })          -> true | nil, msg
--   local ck = assert(nerve.checkpoint.load(path))       -- or nil, msg
--   ck.epoch, ck.state, ck.net (a new network with the saved weights)
--   ck:restore{ net = net, optimizer = opt }             -- into your objects
--
-- Like PyTorch's torch.save({model, optimizer, epoch}) and load_state_dict:
-- you build the network and optimizer as before, then restore into them.
-- restore puts back the weights, the optimizer's whole state (moments,
-- step count, lr, clip) and nerve's generator (shuffling, dropout masks),
-- so that training continues with the same numbers as if never stopped.
--
-- The file: "NERVECKP", u32 version 1, u64 total length, u32 section
-- count, then sections (name and bytes, each with a u32 length), then a
-- u32 CRC-32 of everything before it; little-endian; written atomically
-- (temporary file, fsync, rename), like the model format it embeds.
local core = require "nerve.core"

local type, error, pairs, ipairs, tostring, setmetatable, pcall, rawequal =
  type, error, pairs, ipairs, tostring, setmetatable, pcall, rawequal
local mtype, huge = math.type, math.huge
local pack, unpack, format = string.pack, string.unpack, string.format
local concat, sort = table.concat, table.sort
local io_open = io.open
local registry = require "nerve.classes"
local path_problem = require("nerve.options").path_problem
local _ENV = nil

local M = {}

local MAGIC, VERSION = "NERVECKP", 1
local HEAD = 8 + 4 + 8 + 4

-- ------------------------------------------------- plain-data encoding

-- Values: nil, booleans, integers, floats (exact), strings and tables of
-- them (no cycles, no functions or userdata). Keys are written sorted, so
-- the same data always gives the same bytes.
local function keyorder(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return ta < tb end
  if ta == "boolean" then return (a and 1 or 0) < (b and 1 or 0) end
  return a < b
end

local function encode(v, out, depth, seen)
  local t = type(v)
  if t == "nil" then out[#out + 1] = "z"
  elseif t == "boolean" then out[#out + 1] = v and "T" or "F"
  elseif mtype(v) == "integer" then out[#out + 1] = pack("<c1i8", "i", v)
  elseif t == "number" then out[#out + 1] = pack("<c1d", "d", v)
  elseif t == "string" then out[#out + 1] = pack("<c1s4", "s", v)
  elseif t == "table" then
    if seen[v] then error("nerve.checkpoint.save: state has a cycle", 0) end
    if depth > 64 then error("nerve.checkpoint.save: state nests too deep", 0) end
    seen[v] = true
    local keys = {}
    for k in pairs(v) do
      local kt = type(k)
      if kt ~= "string" and kt ~= "number" and kt ~= "boolean" then
        error("nerve.checkpoint.save: state has a " .. kt .. " key", 0)
      end
      keys[#keys + 1] = k
    end
    sort(keys, keyorder)
    out[#out + 1] = pack("<c1I4", "t", #keys)
    for _, k in ipairs(keys) do
      encode(k, out, depth + 1, seen)
      encode(v[k], out, depth + 1, seen)
    end
    seen[v] = nil
  else
    error("nerve.checkpoint.save: state holds a " .. t .. " (only nil, "
      .. "booleans, numbers, strings and tables can be saved)", 0)
  end
end

local function decode(s, pos, depth)
  if depth > 64 then error("nests too deep", 0) end
  local tag = s:sub(pos, pos)
  pos = pos + 1
  if tag == "z" then return nil, pos
  elseif tag == "T" then return true, pos
  elseif tag == "F" then return false, pos
  elseif tag == "i" then return unpack("<i8", s, pos)
  elseif tag == "d" then return unpack("<d", s, pos)
  elseif tag == "s" then return unpack("<s4", s, pos)
  elseif tag == "t" then
    local n
    n, pos = unpack("<I4", s, pos)
    local t = {}
    for _ = 1, n do
      local k, v
      k, pos = decode(s, pos, depth + 1)
      v, pos = decode(s, pos, depth + 1)
      if k == nil or k ~= k then error("bad key", 0) end
      t[k] = v
    end
    return t, pos
  end
  error("bad value tag", 0)
end

M.encode = function(v)
  local out = {}
  encode(v, out, 0, {})
  return concat(out)
end

-- ------------------------------------------------------------- the file

local function frame(sections)
  local names = {}
  for name in pairs(sections) do names[#names + 1] = name end
  sort(names)
  local body = {}
  for _, name in ipairs(names) do body[#body + 1] = pack("<s4s4", name, sections[name]) end
  body = concat(body)
  local total = HEAD + #body + 4
  local head = pack("<c8I4I8I4", MAGIC, VERSION, total, #names)
  local all = head .. body
  return all .. pack("<I4", core.crc32(all))
end

-- The sections of bytes s, or nil, message.
local function unframe(s)
  if #s < 8 or s:sub(1, 8) ~= MAGIC then
    return nil, "not a nerve checkpoint"
  end
  if #s < HEAD + 4 then return nil, "truncated nerve checkpoint" end
  local _, version, total, count = unpack("<c8I4I8I4", s)
  if version ~= VERSION then
    return nil, "nerve checkpoint of an unsupported format version " .. version
  end
  if total > #s then return nil, "truncated nerve checkpoint" end
  if total ~= #s then return nil, "not a nerve checkpoint, or corrupt" end
  if core.crc32(s:sub(1, -5)) ~= unpack("<I4", s, #s - 3) then
    return nil, "nerve checkpoint checksum mismatch (corrupt)"
  end
  local sections, pos = {}, HEAD + 1
  for _ = 1, count do
    local ok, name, data, nextpos = pcall(unpack, "<s4s4", s, pos)
    if not ok or nextpos > #s - 3 then
      return nil, "not a nerve checkpoint, or corrupt"
    end
    sections[name], pos = data, nextpos
  end
  return sections
end

-- ------------------------------------------------------------ save/load

local SAVE_OPTS = { net = true, optimizer = true, epoch = true, state = true }

--- nerve.checkpoint.bytes{ net =, optimizer =, epoch =, state = }: the
-- checkpoint as a string (what save writes).
function M.bytes(t, fn)
  fn = fn or "nerve.checkpoint.bytes"
  if type(t) ~= "table" then
    error(fn .. ": expected a table {net = ..., optimizer = ..., epoch = ...}", 3)
  end
  for k in pairs(t) do
    if not SAVE_OPTS[k] then
      error(fn .. ": unknown field '" .. tostring(k) .. "' (expected epoch, "
        .. "net, optimizer, state)", 3)
    end
  end
  if not core.is_net(t.net) then
    error(fn .. ": field 'net' must be a network, got " .. type(t.net), 3)
  end
  local sections = {
    model = t.net:serialize(),
    rng = core.rng_state(),
  }
  local opt = t.optimizer
  if opt ~= nil then
    if not core.is_optimizer(opt) then
      error(fn .. ": field 'optimizer' must be a nerve optimizer (nerve.sgd, "
        .. "nerve.adam, ...), got " .. type(opt), 3)
    end
    if not rawequal(opt.net, t.net) then
      error(fn .. ": the optimizer belongs to another network (its state " ..
        "would not fit this one's weights)", 3)
    end
    local steps, bytes = core.optim_state(opt)
    sections.optimizer = pack("<s4i8dds4", opt.kind, steps, opt.lr, opt.clip, bytes)
  end
  local epoch = t.epoch
  if epoch ~= nil and mtype(epoch) ~= "integer" then
    error(fn .. ": field 'epoch' must be an integer, got " .. tostring(epoch), 3)
  end
  local ok, state = pcall(M.encode, { epoch = epoch, state = t.state })
  if not ok then error((state:gsub("nerve.checkpoint.save", fn)), 3) end
  sections.state = state
  return frame(sections)
end

--- nerve.checkpoint.save(path, t): writes the checkpoint of t atomically;
-- true, or nil, message when the file cannot be written.
function M.save(path, t)
  if type(path) ~= "string" then
    error("nerve.checkpoint.save: path must be a string, got " .. type(path), 2)
  end
  return core.write_atomic(path, M.bytes(t, "nerve.checkpoint.save"))
end

local Checkpoint = {}
Checkpoint.__index = Checkpoint
Checkpoint.__name = "nerve.Checkpoint"
registry[Checkpoint.__name] = Checkpoint

-- The optimizers whose state a checkpoint can hold.
local KINDS = { sgd = true, adam = true, adamw = true, rmsprop = true,
  adagrad = true, rprop = true }

-- Why a saved optimizer section cannot be restored, or nil: everything
-- restore would set is checked here, so that a restore never fails half
-- way (weights replaced, then the optimizer refused).
local function bad_optimizer(o)
  if not KINDS[o.kind] then
    return "unknown optimizer '" .. tostring(o.kind) .. "'"
  end
  if o.steps < 0 then return "negative optimizer step count" end
  if not (o.lr >= 0 and o.lr < huge) then return "optimizer lr not a finite number >= 0" end
  if not (o.clip >= 0 and o.clip < 1e300) then
    return "optimizer clip not a finite number >= 0"
  end
  if #o.bytes % 4 ~= 0 then return "corrupt optimizer state" end
end

--- nerve.checkpoint.parse(bytes): a checkpoint from bytes, or nil, message.
function M.parse(s)
  if type(s) ~= "string" then
    error("nerve.checkpoint.parse: expected a string, got " .. type(s), 2)
  end
  local sections, err = unframe(s)
  if not sections then return nil, err end
  if not sections.model or not sections.rng or not sections.state then
    return nil, "nerve checkpoint without model, generator or state"
  end
  local net, merr = core.deserialize(sections.model)
  if not net then return nil, "nerve checkpoint: " .. merr end
  local ok, st = pcall(decode, sections.state, 1, 0)
  if not ok or type(st) ~= "table" then
    return nil, "nerve checkpoint: corrupt state"
  end
  local ck = setmetatable({ net = net, epoch = st.epoch, state = st.state,
    rng = sections.rng }, Checkpoint)
  if sections.optimizer then
    local ok2, kind, steps, lr, clip, bytes = pcall(unpack, "<s4i8dds4",
      sections.optimizer)
    if not ok2 then return nil, "nerve checkpoint: corrupt optimizer" end
    ck.optimizer = { kind = kind, steps = steps, lr = lr, clip = clip,
      bytes = bytes }
    local why = bad_optimizer(ck.optimizer)
    if why then return nil, "nerve checkpoint: " .. why end
  end
  if #sections.rng ~= #core.rng_state() then
    return nil, "nerve checkpoint: corrupt generator state"
  end
  return ck
end

--- nerve.checkpoint.load(path): the checkpoint in the file, or nil, message.
function M.load(path)
  if type(path) ~= "string" then
    error("nerve.checkpoint.load: path must be a string, got " .. type(path), 2)
  end
  local bad = path_problem(path)
  if bad then return nil, "nerve.checkpoint.load: " .. bad end
  local f, err = io_open(path, "rb")
  if not f then return nil, err end
  local s, rerr = f:read("a")
  f:close()
  if not s then return nil, path .. ": " .. (rerr or "cannot read") end
  local ck, perr = M.parse(s)
  if not ck then return nil, path .. ": " .. perr end
  return ck
end

local RESTORE_OPTS = { net = true, optimizer = true, rng = true }

-- The layers of net in a line: "linear(2 -> 3), sigmoid, ...".
local function layers_of(net)
  local out = {}
  for i = 1, #net do
    out[i] = tostring(net:layer(i)):gsub("^nerve%.", "")
  end
  return concat(out, ", ")
end

--- ck:restore{ net = net, optimizer = opt, rng = true }: puts the saved
-- weights into net, the saved state into opt (same kind, same network
-- shapes) and, unless rng = false, nerve's generator. Raises when they do
-- not fit; then nothing has changed.
function Checkpoint:restore(t)
  local fn = "nerve.checkpoint.restore"
  if type(t) ~= "table" then error(fn .. ": expected a table {net =, optimizer =}", 2) end
  for k in pairs(t) do
    if not RESTORE_OPTS[k] then
      error(fn .. ": unknown field '" .. tostring(k) .. "' (expected net, "
        .. "optimizer, rng)", 2)
    end
  end
  local net, opt = t.net, t.optimizer
  if net ~= nil and not core.is_net(net) then
    error(fn .. ": field 'net' must be a network", 2)
  end
  local o = self.optimizer
  if opt ~= nil then
    if not core.is_optimizer(opt) then error(fn .. ": field 'optimizer' must be a nerve optimizer", 2) end
    if not o then error(fn .. ": the checkpoint holds no optimizer", 2) end
    if o.kind ~= opt.kind then
      error(fn .. ": the checkpoint holds the state of optimizer '" .. o.kind
        .. "', not '" .. opt.kind .. "'", 2)
    end
    local _, bytes = core.optim_state(opt)
    if #bytes ~= #o.bytes then
      error(fn .. ": the optimizer's state does not fit the checkpoint's "
        .. "(another network, or other options)", 2)
    end
    if net ~= nil and not rawequal(opt.net, net) then
      error(fn .. ": the optimizer belongs to another network than field "
        .. "'net'", 2)
    end
  end
  -- checks done; now change things (copy_parameters checks layers first)
  if net ~= nil then
    if not pcall(net.copy_parameters, net, self.net) then
      error(fn .. ": the network's layers differ from the checkpoint's: "
        .. layers_of(net) .. ", against " .. layers_of(self.net), 2)
    end
  end
  if opt ~= nil then
    core.optim_set_state(opt, o.steps, o.bytes)
    if opt.kind ~= "rprop" then opt.lr = o.lr end
    opt.clip = o.clip
  end
  if t.rng ~= false then core.set_rng_state(self.rng) end
  return self
end

function Checkpoint:__tostring()
  return format("nerve.checkpoint(epoch %s, %s)", tostring(self.epoch),
    self.optimizer and self.optimizer.kind or "no optimizer")
end

return M
