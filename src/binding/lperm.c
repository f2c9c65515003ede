/*
** lperm.c - nerve.Permutation: an order of a data set's rows (0-based in
** C, 1-based in Lua), shuffled by Fisher-Yates; and its state as a
** string, which checkpoints save and restore.
*/
#include <string.h>

#include "lnerve.h"

lperm *ln_checkperm(lua_State *L, int arg) {
  return (lperm *)luaL_checkudata(L, arg, LN_PERM);
}

/* Pushes a permutation with room for capacity rows, holding none yet;
** the caller fills idx and sets n. */
lperm *ln_newperm(lua_State *L, int capacity) {
  lperm *p = (lperm *)lua_newuserdatauv(
      L, sizeof(lperm) + (size_t)(capacity - 1) * sizeof(int32_t), 0);
  p->n = 0;
  luaL_setmetatable(L, LN_PERM);
  return p;
}

/* core.perm(n): the rows 1..n in order */
static int l_perm(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  if (n < 1 || n > INT32_MAX / 2) return luaL_argerror(L, 1, "size out of range");
  lperm *p = ln_newperm(L, (int)n);
  for (int i = 0; i < (int)n; i++) p->idx[i] = i;
  p->n = (int)n;
  return 1;
}

/* Fisher-Yates with the given generator or the state's. */
static int perm_shuffle(lua_State *L) {
  lctx *c = ln_ctx(L);
  lperm *p = ln_checkperm(L, 1);
  nerve_rng *r = lua_isnoneornil(L, 2) ? nerve_ctx_rng(c->ctx)
                                       : &ln_checkrng(L, 2)->r;
  nerve_rng_shuffle(r, p->idx, p->n);
  lua_settop(L, 1);
  return 1;
}

static int perm_get(lua_State *L) {
  lperm *p = ln_checkperm(L, 1);
  lua_Integer i = luaL_checkinteger(L, 2);
  luaL_argcheck(L, i >= 1 && i <= p->n, 2, "index out of range");
  lua_pushinteger(L, p->idx[i - 1] + 1);
  return 1;
}

static int perm_len(lua_State *L) {
  lua_pushinteger(L, ln_checkperm(L, 1)->n);
  return 1;
}

static int perm_tostring(lua_State *L) {
  lperm *p = ln_checkperm(L, 1);
  lua_pushfstring(L, "nerve.Permutation(%d)", p->n);
  return 1;
}

/* core.perm_state(p) -> its rows as little-endian int32 */
static int l_perm_state(lua_State *L) {
  lperm *p = ln_checkperm(L, 1);
  luaL_Buffer b;
  unsigned char *q = (unsigned char *)luaL_buffinitsize(L, &b, 4 * (size_t)p->n);
  for (int i = 0; i < p->n; i++)
    for (int k = 0; k < 4; k++)
      q[4 * (size_t)i + k] = (unsigned char)((uint32_t)p->idx[i] >> 8 * k);
  luaL_pushresultsize(&b, 4 * (size_t)p->n);
  return 1;
}

/* core.perm_set_state(p, bytes) -> true, or false when the bytes are not
** a permutation of p's size */
static int l_perm_set_state(lua_State *L) {
  lperm *p = ln_checkperm(L, 1);
  size_t n;
  const unsigned char *b = (const unsigned char *)luaL_checklstring(L, 2, &n);
  int ok = n == 4 * (size_t)p->n;
  /* check it is a permutation before changing anything */
  char *seen = ok ? (char *)lua_newuserdatauv(L, (size_t)p->n, 0) : NULL;
  if (seen) memset(seen, 0, (size_t)p->n);
  for (int i = 0; ok && i < p->n; i++) {
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) v |= (uint32_t)b[4 * (size_t)i + k] << 8 * k;
    ok = v < (uint32_t)p->n && !seen[v];
    if (ok) seen[v] = 1;
  }
  for (int i = 0; ok && i < p->n; i++) {
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) v |= (uint32_t)b[4 * (size_t)i + k] << 8 * k;
    p->idx[i] = (int32_t)v;
  }
  lua_pushboolean(L, ok);
  return 1;
}

static const luaL_Reg metameth[] = {
    {"__len", perm_len}, {"__tostring", perm_tostring}, {NULL, NULL}};
static const luaL_Reg meth[] = {
    {"shuffle", perm_shuffle}, {"get", perm_get}, {NULL, NULL}};

static const luaL_Reg funcs[] = {{"perm", l_perm},
                                 {"perm_state", l_perm_state},
                                 {"perm_set_state", l_perm_set_state},
                                 {NULL, NULL}};

void ln_open_perm(lua_State *L) {
  ln_createmeta(L, LN_PERM, metameth, meth);
  lua_pushvalue(L, lua_upvalueindex(1));
  luaL_setfuncs(L, funcs, 1);
}
