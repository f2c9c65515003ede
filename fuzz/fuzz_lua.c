/*
** fuzz_lua.c - the Lua API driven by fuzz input. Each input runs in a
** fresh lua_State (a C host's, as in spec/host): nerve.core linked in and
** preloaded, the Lua layer from lua/, and fuzz/lua_driver.lua turning the
** bytes into a sequence of API calls with random shapes and values, each
** under pcall. Invariants: no memory error or undefined behaviour, no
** internal error (the driver raises for those), and every byte the state
** took comes back at lua_close. The state's memory is capped, so inputs
** asking for huge matrices meet "not enough memory" errors.
**
** Run from the repository root (NERVE_SRC overrides it).
*/
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "fuzz.h"

int luaopen_nerve_core(lua_State *L);

static char *driver;
static size_t driver_len;
static char root[1024] = ".";

static void load_driver(void) {
  const char *src = getenv("NERVE_SRC");
  if (src) snprintf(root, sizeof root, "%s", src);
  char path[1100];
  snprintf(path, sizeof path, "%s/fuzz/lua_driver.lua", root);
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "fuzz_lua: cannot open %s (run from the source tree)\n",
            path);
    abort();
  }
  fseek(f, 0, SEEK_END);
  driver_len = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  driver = malloc(driver_len);
  FZ_ASSERT(driver && fread(driver, 1, driver_len, f) == driver_len);
  fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!driver) load_driver();
  if (size > 4096) return 0; /* long programs only repeat themselves */
  fz_counter c;
  memset(&c, 0, sizeof c);
  c.cap = (size_t)64 << 20;
  lua_State *L = lua_newstate(fz_alloc, &c);
  FZ_ASSERT(L != NULL);
  luaL_openlibs(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_nerve_core);
  lua_setfield(L, -2, "nerve.core");
  lua_pop(L, 1);
  lua_getglobal(L, "package");
  lua_pushfstring(L, "%s/lua/?.lua;%s/lua/?/init.lua", root, root);
  lua_setfield(L, -2, "path");
  lua_pushliteral(L, "");
  lua_setfield(L, -2, "cpath");
  lua_pop(L, 1);
  FZ_ASSERT(luaL_loadbuffer(L, driver, driver_len, "=lua_driver") == LUA_OK);
  lua_pushlstring(L, (const char *)data, size);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    /* the cap can starve the driver itself; anything else is a finding */
    if (!msg || !strstr(msg, "not enough memory")) {
      fprintf(stderr, "fuzz_lua: %s\n", msg ? msg : "(error object)");
      abort();
    }
  }
  lua_close(L);
  FZ_ASSERT(c.live == 0);
  return 0;
}
