-- The metatables of nerve's objects written in Lua, by type name (their
-- __name): each module adds its own, and nerve.help finds the methods of
-- a type here.
local _ENV = nil

return {}
