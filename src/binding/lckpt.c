/*
** lckpt.c - what checkpoints need from C besides the states of the types
** (lua/nerve/checkpoint.lua composes the file; optimizers, generators and
** permutations give their states in their own files): the CRC-32 and
** atomic write of the model format.
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
  const char *path = ln_checkpath(L, 1, "nerve.checkpoint.save");
  if (!path) return 2;
  size_t n;
  const char *s = luaL_checklstring(L, 2, &n);
  errno = 0;
  nerve_status st = nerve_file_write(c->ctx, path, s, n);
  if (st == NERVE_ENOMEM) return ln_error(L, "nerve.checkpoint.save", st);
  if (st != NERVE_OK) {
    int e = errno;
    luaL_pushfail(L);
    lua_pushfstring(L, "%s: %s", path, ln_saveerror(e, st));
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg funcs[] = {{"crc32", l_crc32},
                                 {"write_atomic", l_write_atomic},
                                 {NULL, NULL}};

void ln_open_ckpt(lua_State *L) {
  lua_pushvalue(L, lua_upvalueindex(1));
  luaL_setfuncs(L, funcs, 1);
}
