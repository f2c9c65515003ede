/*
** lckpt.c - what checkpoints need from C (lua/nerve/checkpoint.lua
** composes the file): the CRC-32 and atomic write of the model format,
** and the states of generators and permutations as strings.
*/
#include <errno.h>
#include <string.h>

#include "lnerve.h"

/* core.crc32(s) */
static int l_crc32(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  lua_pushinteger(L, (lua_Integer)nerve_crc32(s, n));
  return 1;
}

/* core.write_atomic(path, bytes) -> true | nil, message */
static int l_write_atomic(lua_State *L) {
  lctx *c = ln_ctx(L);
  const char *path = luaL_checkstring(L, 1);
  size_t n;
  const char *s = luaL_checklstring(L, 2, &n);
  errno = 0;
  nerve_status st = nerve_file_write(c->ctx, path, s, n);
  if (st == NERVE_ENOMEM) return ln_error(L, "nerve.checkpoint.save", st);
  if (st != NERVE_OK) {
    int e = errno;
    luaL_pushfail(L);
    lua_pushfstring(L, "%s: %s", path, e ? strerror(e) : nerve_strerror(st));
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* The generator at arg: a nerve.Generator, or the state's when absent. */
static nerve_rng *torng(lua_State *L, int arg) {
  lctx *c = ln_ctx(L);
  if (lua_isnoneornil(L, arg)) return nerve_ctx_rng(c->ctx);
  return &((lrng *)luaL_checkudata(L, arg, LN_RNG))->r;
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

/* core.perm_state(p) -> its rows as little-endian int32 */
static int l_perm_state(lua_State *L) {
  lperm *p = (lperm *)luaL_checkudata(L, 1, LN_PERM);
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
  lperm *p = (lperm *)luaL_checkudata(L, 1, LN_PERM);
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

static const luaL_Reg funcs[] = {{"crc32", l_crc32},
                                 {"write_atomic", l_write_atomic},
                                 {"rng_state", l_rng_state},
                                 {"set_rng_state", l_set_rng_state},
                                 {"perm_state", l_perm_state},
                                 {"perm_set_state", l_perm_set_state},
                                 {NULL, NULL}};

void ln_open_ckpt(lua_State *L) {
  lua_pushvalue(L, lua_upvalueindex(1));
  luaL_setfuncs(L, funcs, 1);
}
