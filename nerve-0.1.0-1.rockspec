-- LuaRocks package of nerve for Lua 5.4:
--   luarocks --lua-version 5.4 make            (from a checkout)
-- The Makefile builds the C core; the Lua layer, the core and (under the
-- rock's own folder, c/) the host headers, libnerve.a and nerve.pc are
-- installed. Needs a C11 compiler and the Lua 5.4 headers.
rockspec_format = "3.0"
package = "nerve"
version = "0.1.0-1"
source = {
  url = "git+file:///usr/src/nerve", -- `luarocks make` builds the checkout it runs in
  tag = "v0.1.0",
}
description = {
  summary = "Multilayer perceptrons trained by backpropagation, with a SIMD C engine",
  detailed = [[
nerve builds and trains multilayer perceptrons from Lua 5.4: layers,
activations, losses, SGD and Adam, a training driver with convergence
criteria, model files, progress bars and loss plots. The numbers run in a
C11 engine with AVX2/AVX-512 kernels; C hosts (games, tools) can embed it
in their own lua_State (nerve_lua.h) or use the engine without Lua.
]],
  license = "MIT",
  labels = { "neural-network", "machine-learning", "simd" },
}
dependencies = { "lua >= 5.4, < 5.5" }
build = {
  type = "make",
  build_target = "all",
  build_variables = {
    BUILD = "build/rock",
    CFLAGS = "$(CFLAGS)",
    LUA = "$(LUA)",
    LUA_INC = "$(LUA_INCDIR)",
  },
  install_target = "install",
  install_variables = {
    BUILD = "build/rock",
    LUA = "$(LUA)",
    PREFIX = "$(PREFIX)/c",
    LUA_LMOD = "$(LUADIR)",
    LUA_CMOD = "$(LIBDIR)",
  },
  copy_directories = { "docs", "examples" },
}
