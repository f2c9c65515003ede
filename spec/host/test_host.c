/*
** test_host.c - a C host with its own lua_State: nerve.core is linked in
** statically and preloaded (as linit.c documents), the Lua layer comes
** from the source tree, and LuaUnit suites run inside the state. The
** state's allocator counts bytes, so the test also shows that every byte
** nerve takes goes through the host's allocator and comes back at close.
**
** Usage: test_host DIR  (runs the suites listed in main from DIR)
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

int luaopen_nerve_core(lua_State *L);

typedef struct counter {
  size_t live, peak, calls, limit; /* limit 0: none */
} counter;

/* A lua_Alloc that counts live bytes and can refuse past a limit. */
static void *counting(void *ud, void *ptr, size_t osize, size_t nsize) {
  counter *c = (counter *)ud;
  size_t old = ptr ? osize : 0;
  if (nsize == 0) {
    free(ptr);
    c->live -= old;
    return NULL;
  }
  if (c->limit && c->live - old + nsize > c->limit) return NULL;
  void *p = realloc(ptr, nsize);
  if (p) {
    c->live = c->live - old + nsize;
    if (c->live > c->peak) c->peak = c->live;
    c->calls++;
  }
  return p;
}

/* Lets a suite set or read the allocator's cap: host.limit(bytes|0). */
static int host_limit(lua_State *L) {
  void *ud;
  lua_getallocf(L, &ud);
  counter *c = (counter *)ud;
  if (!lua_isnoneornil(L, 1)) c->limit = (size_t)luaL_checkinteger(L, 1);
  lua_pushinteger(L, (lua_Integer)c->live);
  return 1;
}

static lua_State *newstate(counter *c, const char *dir) {
  lua_State *L = lua_newstate(counting, c);
  if (!L) return NULL;
  luaL_openlibs(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_nerve_core);
  lua_setfield(L, -2, "nerve.core");
  lua_pop(L, 1);
  lua_newtable(L);
  lua_pushcfunction(L, host_limit);
  lua_setfield(L, -2, "limit");
  lua_pushstring(L, dir);
  lua_setfield(L, -2, "dir");
  lua_setglobal(L, "host");
  /* The Lua layer from the tree, LuaUnit from the system; no C modules
  ** from the file system (nerve.core must come from the preload). */
  if (luaL_dostring(L, "package.path = 'lua/?.lua;lua/?/init.lua;' .."
                      " package.path package.cpath = ''") != LUA_OK) {
    lua_close(L);
    return NULL;
  }
  return L;
}

/* Runs one suite file in a fresh state; returns its failures, or -1. */
static int runsuite(const char *dir, const char *file, int *passed) {
  counter c = {0, 0, 0, 0};
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  lua_State *L = newstate(&c, dir);
  if (!L) return -1;
  int failed = -1;
  if (luaL_dofile(L, path) != LUA_OK) {
    fprintf(stderr, "%s: %s\n", path, lua_tostring(L, -1));
  } else if (lua_isinteger(L, -2) && lua_isinteger(L, -1)) {
    *passed += (int)lua_tointeger(L, -2);
    failed = (int)lua_tointeger(L, -1);
  } else {
    fprintf(stderr, "%s: expected the suite to return passed, failed\n", path);
  }
  lua_close(L);
  if (c.live != 0) {
    fprintf(stderr, "%s: %zu bytes still allocated after lua_close\n", path,
            c.live);
    if (failed >= 0) failed++;
  }
  return failed;
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "spec/host";
  static const char *const suites[] = {"embed_test.lua", NULL};
  int passed = 0, failed = 0;
  for (int i = 0; suites[i]; i++) {
    int f = runsuite(dir, suites[i], &passed);
    failed += f < 0 ? 1 : f;
  }
  printf("test_host: %d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
