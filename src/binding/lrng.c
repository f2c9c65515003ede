/*
** lrng.c - nerve.Generator: a random generator of its own (xoshiro256**,
** the engine's nerve_rng), for shuffles and draws that must not move the
** state's generator; and the generators' states as strings, which
** checkpoints save and restore.
*/
#include <string.h>

#include "lnerve.h"

lrng *ln_checkrng(lua_State *L, int arg) {
  return (lrng *)luaL_checkudata(L, arg, LN_RNG);
}

/* core.rng(seed) */
static int l_rng(lua_State *L) {
  lua_Integer seed = luaL_checkinteger(L, 1);
  lrng *g = (lrng *)lua_newuserdatauv(L, sizeof(lrng), 0);
  nerve_rng_seed(&g->r, (uint64_t)seed);
  luaL_setmetatable(L, LN_RNG);
  return 1;
}

static int rng_uniform(lua_State *L) {
  lua_pushnumber(L, nerve_rng_uniform(&ln_checkrng(L, 1)->r));
  return 1;
}

static int rng_tostring(lua_State *L) {
  ln_checkrng(L, 1);
  lua_pushliteral(L, "nerve.Generator");
  return 1;
}

/* The generator at arg: a nerve.Generator, or the state's when absent. */
static nerve_rng *torng(lua_State *L, int arg) {
  lctx *c = ln_ctx(L);
  if (lua_isnoneornil(L, arg)) return nerve_ctx_rng(c->ctx);
  return &ln_checkrng(L, arg)->r;
}

/* core.rng_state([g]) -> 32 bytes, little-endian */
static int l_rng_state(lua_State *L) {
  nerve_rng *r = torng(L, 1);
  unsigned char b[32];
  for (int i = 0; i < 4; i++)
    for (int k = 0; k < 8; k++) b[8 * i + k] = (unsigned char)(r->s[i] >> 8 * k);
  lua_pushlstring(L, (const char *)b, sizeof b);
  return 1;
}

/* core.set_rng_state(bytes [, g]) */
static int l_set_rng_state(lua_State *L) {
  size_t n;
  const unsigned char *b = (const unsigned char *)luaL_checklstring(L, 1, &n);
  nerve_rng *r = torng(L, 2);
  luaL_argcheck(L, n == 32, 1, "generator state of 32 bytes expected");
  uint64_t s[4] = {0, 0, 0, 0};
  for (int i = 0; i < 4; i++)
    for (int k = 0; k < 8; k++) s[i] |= (uint64_t)b[8 * i + k] << 8 * k;
  luaL_argcheck(L, s[0] | s[1] | s[2] | s[3], 1,
                "an all-zero generator state is invalid");
  memcpy(r->s, s, sizeof s);
  return 0;
}

static const luaL_Reg metameth[] = {{"__tostring", rng_tostring},
                                    {NULL, NULL}};
static const luaL_Reg meth[] = {{"uniform", rng_uniform}, {NULL, NULL}};

static const luaL_Reg funcs[] = {{"rng", l_rng},
                                 {"rng_state", l_rng_state},
                                 {"set_rng_state", l_set_rng_state},
                                 {NULL, NULL}};

void ln_open_rng(lua_State *L) {
  ln_createmeta(L, LN_RNG, metameth, meth);
  lua_pushvalue(L, lua_upvalueindex(1));
  luaL_setfuncs(L, funcs, 1);
}
