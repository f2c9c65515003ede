/*
** test_oom.c - allocation failure through the Lua binding, in a C host's
** own lua_State. For every case of oom_cases.lua and every k, a fresh
** state runs the case's setup, then its operation under pcall with the
** k-th allocation and every later one refused (Lua allocates too; only
** the operation is armed), then its check with the allocator healthy.
** Each run must: fail with a "not enough memory" error (or succeed if the
** failure was absorbed), leave the objects working (the check), hold no
** engine memory once everything is dropped (core.memory), and give every
** byte back at lua_close. The sweep ends at the first k the operation
** never reaches.
**
** Usage: test_oom DIR [-v]  (DIR holds oom_cases.lua; run from the tree
** root; -v prints the points per case)
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

int luaopen_nerve_core(lua_State *L);

typedef struct counter {
  size_t live;
  size_t armed, count, fail_at; /* while armed, allocation fail_at.. fail */
} counter;

/* Growing requests can fail; Lua assumes shrinking never does. */
static void *alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  counter *c = (counter *)ud;
  size_t old = ptr ? osize : 0;
  if (nsize == 0) {
    free(ptr);
    c->live -= old;
    return NULL;
  }
  if (c->armed && nsize > old && ++c->count >= c->fail_at) return NULL;
  void *p = realloc(ptr, nsize);
  if (p) c->live = c->live - old + nsize;
  return p;
}

static int failures, points;

#define FAIL(...)                                                        \
  do {                                                                   \
    fprintf(stderr, __VA_ARGS__);                                        \
    fputc('\n', stderr);                                                 \
    failures++;                                                          \
  } while (0)

static lua_State *newstate(counter *c) {
  lua_State *L = lua_newstate(alloc, c);
  if (!L) return NULL;
  luaL_openlibs(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_nerve_core);
  lua_setfield(L, -2, "nerve.core");
  lua_pop(L, 1);
  if (luaL_dostring(L, "package.path = 'lua/?.lua;lua/?/init.lua' "
                      "package.cpath = ''") != LUA_OK) {
    lua_close(L);
    return NULL;
  }
  return L;
}

/* Engine blocks held now (core.memory's second result), or -1. */
static long engine_blocks(lua_State *L) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_getfield(L, -1, "nerve.core");
  lua_getfield(L, -1, "memory");
  long n = -1;
  if (lua_pcall(L, 0, 2, 0) == LUA_OK) n = (long)lua_tointeger(L, -1);
  lua_settop(L, 0);
  return n;
}

/* Calls field name of the table at index 1 with nargs arguments on top. */
static int call(lua_State *L, const char *name, int nargs) {
  lua_getfield(L, 1, name);
  lua_insert(L, -1 - nargs);
  return lua_pcall(L, nargs, 0, 0);
}

/* One run of case name with the k-th allocation failing; 1 when the
** operation finished without reaching allocation k (the sweep is done). */
static int run(const char *dir, const char *name, size_t k) {
  counter c = {0, 0, 0, 0};
  lua_State *L = newstate(&c);
  if (!L) {
    FAIL("%s: cannot make a state", name);
    return 1;
  }
  char path[600];
  snprintf(path, sizeof path, "%s/oom_cases.lua", dir);
  int done = 1;
  if (luaL_dofile(L, path) != LUA_OK) {
    FAIL("%s: %s", path, lua_tostring(L, -1));
    goto out;
  }
  lua_getfield(L, -1, "cases");
  lua_getfield(L, -1, name);
  if (lua_pcall(L, 0, 1, 0) != LUA_OK) {
    FAIL("%s: %s", name, lua_tostring(L, -1));
    goto out;
  }
  lua_replace(L, 1);
  lua_settop(L, 1);
  if (call(L, "setup", 0) != LUA_OK) {
    FAIL("%s: setup: %s", name, lua_tostring(L, -1));
    goto out;
  }
  lua_getfield(L, 1, "op");
  c.count = 0;
  c.fail_at = k;
  c.armed = 1;
  int rc = lua_pcall(L, 0, 0, 0);
  c.armed = 0;
  int injected = c.count >= k;
  done = !injected;
  if (injected) points++;
  if (rc != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    if (!injected)
      FAIL("%s: fails without an allocation failure: %s", name, msg);
    else if (!msg || !strstr(msg, "not enough memory"))
      FAIL("%s, allocation %zu: error is not 'not enough memory': %s", name,
           k, msg ? msg : "(not a string)");
    lua_pushboolean(L, 0);
    lua_insert(L, -2);
  } else {
    lua_pushboolean(L, 1);
    lua_pushnil(L);
  }
  if (call(L, "check", 2) != LUA_OK)
    FAIL("%s, allocation %zu: afterwards: %s", name, k, lua_tostring(L, -1));
  /* drop everything: only the context may remain */
  lua_settop(L, 0);
  lua_gc(L, LUA_GCCOLLECT, 0);
  lua_gc(L, LUA_GCCOLLECT, 0);
  long blocks = engine_blocks(L);
  if (blocks != 1)
    FAIL("%s, allocation %zu: %ld engine blocks held after collection "
         "(want 1, the context)", name, k, blocks);
out:
  lua_close(L);
  if (c.live != 0)
    FAIL("%s, allocation %zu: %zu bytes still allocated after lua_close",
         name, k, c.live);
  return done;
}

static int closing_seen;
static int closing_ok(lua_State *L) {
  (void)L;
  closing_seen = 1;
  return 0;
}

/* A finalizer older than the module (so it runs after the module's own
** context is gone, while the state closes) that calls nerve: an error,
** not a crash. */
static void closing_state(void) {
  counter c = {0, 0, 0, 0};
  lua_State *L = newstate(&c);
  if (!L) return;
  const char *code =
      "local keep = setmetatable({}, { __gc = function(t)\n"
      "  local ok, err = pcall(t.nerve.mlp, { 2, 2 })\n"
      "  assert(not ok and err:find('closing'), tostring(err))\n"
      "  ok = pcall(function() return t.net:forward(t.x) end)\n"
      "  assert(not ok)\n"
      "  ok = pcall(function() return t.layer.weight end)\n"
      "  assert(not ok)\n"
      "  t.x:get(1, 1)\n"
      "  closing_ok()\n"
      "end })\n"
      "keep.nerve = require 'nerve'\n"
      "keep.net = keep.nerve.mlp{ 2, 2 }\n"
      "keep.layer = keep.net:layer(1)\n"
      "keep.x = keep.nerve.matrix(1, 2)\n"
      "_G.keep = keep\n";
  lua_register(L, "closing_ok", closing_ok);
  if (luaL_dostring(L, code) != LUA_OK)
    FAIL("closing state: %s", lua_tostring(L, -1));
  lua_close(L);
  if (!closing_seen) FAIL("closing state: the finalizer did not finish");
  if (c.live != 0) FAIL("closing state: %zu bytes left", c.live);
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "spec/host";
  int verbose = argc > 2 && strcmp(argv[2], "-v") == 0;
  char file[] = "/tmp/nerve_oom_XXXXXX";
  int fd = mkstemp(file);
  if (fd < 0) return 1;
  close(fd);
  setenv("NERVE_OOM_FILE", file, 1);

  /* the case names, from the file itself */
  counter c = {0, 0, 0, 0};
  lua_State *L = newstate(&c);
  char path[600];
  snprintf(path, sizeof path, "%s/oom_cases.lua", dir);
  if (!L || luaL_dofile(L, path) != LUA_OK) {
    fprintf(stderr, "test_oom: %s\n", L ? lua_tostring(L, -1) : "no state");
    return 1;
  }
  lua_getfield(L, -1, "names");
  int ncases = (int)luaL_len(L, -1);
  char names[32][32];
  for (int i = 0; i < ncases && i < 32; i++) {
    lua_rawgeti(L, -1, i + 1);
    snprintf(names[i], sizeof names[i], "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  lua_close(L);

  for (int i = 0; i < ncases && i < 32; i++) {
    int before = points;
    size_t k = 1;
    while (!run(dir, names[i], k) && k < 100000) k++;
    if (verbose)
      printf("test_oom: %-12s %5d allocation failure points\n", names[i],
             points - before);
  }
  closing_state();
  unlink(file);
  printf("test_oom: %d points swept, %d passed, %d failed\n", points,
         points - failures > 0 ? points - failures : 0, failures);
  return failures ? 1 : 0;
}
