-- gen_api.lua - the reference tables of docs/api.md, written from
-- lua/nerve/reference.lua (which nerve.help serves), so the page and the
-- REPL cannot drift apart. Run from the repository root:
--
--   lua5.4 tools/gen_api.lua write docs/api.md   rewrites the tables (make api)
--   lua5.4 tools/gen_api.lua check docs/api.md   fails when they are stale
--
-- Each table sits between `<!-- reference:ID ... -->` and
-- `<!-- /reference -->`, ID a section of reference.lua; the prose around
-- them is written by hand. Loaded without arguments (loadfile(...)()), it
-- returns { render = function(text) -> text } for spec/help_spec.lua.
local mode, path = ...

local function cell(s) return (s:gsub("|", "\\|")) end

local function rows(sec)
  local out = { "| " .. (sec.head or (sec.fields and "name" or "call"))
    .. " | meaning |", "|---|---|" }
  for _, e in ipairs(sec) do
    out[#out + 1] = "| `" .. cell(e[2]) .. "` | " .. cell(e[3]) .. " |"
  end
  return table.concat(out, "\n")
end

-- text with every marked table regenerated; an error for a marker of an
-- unknown section or a section without a marker.
local function render(text)
  local ref = dofile("lua/nerve/reference.lua")
  local by_id, used = {}, {}
  for _, sec in ipairs(ref) do by_id[sec.id] = sec end
  local out = text:gsub("(<!%-%- reference:([%w_]+)[^\n]*%-%->\n)(.-)(<!%-%- /reference %-%->)",
    function(open, id, _, close)
      local sec = by_id[id]
      if not sec then error("gen_api: docs/api.md marks an unknown section '" .. id .. "'", 0) end
      if used[id] then error("gen_api: section '" .. id .. "' is marked twice", 0) end
      used[id] = true
      return open .. rows(sec) .. "\n" .. close
    end)
  for _, sec in ipairs(ref) do
    if not used[sec.id] then
      error("gen_api: docs/api.md has no marker for section '" .. sec.id .. "'", 0)
    end
  end
  return out
end

if mode == nil then return { render = render } end

if (mode ~= "write" and mode ~= "check") or not path then
  io.stderr:write("usage: gen_api.lua write|check docs/api.md\n")
  os.exit(2)
end
local f = assert(io.open(path, "rb"))
local old = f:read("a")
f:close()
local ok, new = pcall(render, old)
if not ok then
  io.stderr:write(new, "\n")
  os.exit(1)
end
if mode == "check" then
  if new ~= old then
    io.stderr:write(path .. " is out of date with lua/nerve/reference.lua: run make api\n")
    os.exit(1)
  end
elseif new ~= old then
  f = assert(io.open(path, "wb"))
  f:write(new)
  f:close()
end
