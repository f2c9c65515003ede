-- luacheck configuration (make lint runs it; part of make test).
std = "lua54"
max_line_length = 120
codes = true
ignore = {
  "211/_ENV", -- modules set `local _ENV = nil` after copying globals
  "212",      -- unused arguments: methods and callbacks keep their shape
  "581",      -- `not (a <= b)` is deliberate where NaN must fail a test
}

-- The reference (nerve.help, docs/api.md) is one entry per line.
files["lua/nerve/reference.lua"] = { max_line_length = false }

-- Busted specs. Memory tests drop references by assigning nil (unused
-- values), and progress specs swap io.stderr for a recorder.
files["spec"] = {
  std = "+busted",
  ignore = { "211", "231", "311", "122/io" },
}

-- LuaUnit suites inside the C host, which sets the global `host`.
files["spec/host"] = {
  std = "lua54",
  read_globals = { "host" },
  ignore = { "231", "311" },
}
