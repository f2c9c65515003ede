/*
** lengine.c - the engine-wide calls of nerve.core: the state's seed, the
** instruction set and thread count, engine memory held, a monotonic clock
** and whether a file is a terminal.
*/
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "lnerve.h"

static int l_seed(lua_State *L) {
  lctx *c = ln_ctx(L);
  lua_Integer n;
  if (lua_isinteger(L, 1)) n = lua_tointeger(L, 1);
  else {
    lua_Number x = luaL_checknumber(L, 1);
    if (!lua_numbertointeger(x, &n))
      return luaL_argerror(L, 1, "integer seed expected");
  }
  nerve_rng_seed(nerve_ctx_rng(c->ctx), (uint64_t)n);
  return 0;
}

static int l_isa(lua_State *L) {
  lua_pushstring(L, nerve_ctx_isa(ln_ctx(L)->ctx));
  return 1;
}

static int l_set_isa(lua_State *L) {
  lctx *c = ln_ctx(L);
  const char *name = luaL_checkstring(L, 1);
  if (nerve_ctx_set_isa(c->ctx, name) == NERVE_OK) return 0;
  /* name only the paths this CPU runs: the others are no choice here */
  static const char *const isas[] = {"avx512", "avx2", "neon", "scalar"};
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  int n = 0;
  for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++)
    if (nerve_isa_supported(isas[i])) {
      if (n++) luaL_addstring(&b, ", ");
      luaL_addstring(&b, isas[i]);
    }
  luaL_pushresult(&b);
  return luaL_error(L, "nerve.set_isa: '%s' is not supported here (this CPU "
                       "runs %s)", name, lua_tostring(L, -1));
}

static int l_supported(lua_State *L) {
  lua_pushboolean(L, nerve_isa_supported(luaL_checkstring(L, 1)));
  return 1;
}

static int l_threads(lua_State *L) {
  lctx *c = ln_ctx(L);
  if (!lua_isnoneornil(L, 1)) {
    lua_Integer n = luaL_checkinteger(L, 1);
    if (n < 1 || n > 256)
      return luaL_argerror(L, 1, "thread count must be in 1..256");
    nerve_status s = nerve_ctx_set_threads(c->ctx, (int)n);
    if (s != NERVE_OK) return ln_error(L, "nerve.threads", s);
  }
  lua_pushinteger(L, nerve_ctx_threads(c->ctx));
  return 1;
}

/* bytes, blocks = core.memory(): engine memory held now (the context
** itself is one block), for leak checks. */
static int l_memory(lua_State *L) {
  lctx *c = ln_ctx(L);
  lua_pushinteger(L, (lua_Integer)c->bytes);
  lua_pushinteger(L, (lua_Integer)c->blocks);
  return 2;
}

static int l_clock(lua_State *L) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  lua_pushnumber(L, (lua_Number)t.tv_sec + (lua_Number)t.tv_nsec * 1e-9);
  return 1;
}

/* isatty(file): true when the Lua file handle is an open terminal (fit's
** progress bar draws only there); false for anything else. */
static int l_isatty(lua_State *L) {
  luaL_Stream *p = (luaL_Stream *)luaL_testudata(L, 1, LUA_FILEHANDLE);
  lua_pushboolean(L, p != NULL && p->closef != NULL && p->f != NULL &&
                         isatty(fileno(p->f)));
  return 1;
}

static const luaL_Reg funcs[] = {
    {"seed", l_seed},       {"isa", l_isa},     {"set_isa", l_set_isa},
    {"isa_supported", l_supported},             {"threads", l_threads},
    {"clock", l_clock},     {"isatty", l_isatty}, {"memory", l_memory},
    {NULL, NULL}};

void ln_open_engine(lua_State *L) {
  lua_pushvalue(L, lua_upvalueindex(1));
  luaL_setfuncs(L, funcs, 1);
}
