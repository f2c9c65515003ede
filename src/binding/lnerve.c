/*
** lnerve.c - the binding's hub: the per-state context and the allocator
** hook that makes engine memory visible to Lua's collector, error
** conversion, metatable creation and the argument checks the type files
** share. The type files call it; it calls none of them.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lnerve.h"

/* Registry key of the table that anchors engine blocks: block address
** (light userdata) -> the full userdata holding the block. */
static const char anchors_key = 'a';

/* Every binding function has the context as upvalue 1; refreshing L here
** keeps the allocator hook on the running thread (coroutines). */
lctx *ln_ctx(lua_State *L) {
  lctx *c = ln_ctx_gc(L);
  /* Finalizers may run while the hook below makes a block, that is in
  ** the middle of an engine call; nerve refuses them, since they could
  ** free or move memory that call is reading. */
  if (c->inalloc)
    luaL_error(L, "nerve: called from a finalizer while nerve works; "
                  "close or use nerve objects outside finalizers");
  return c;
}

/* The same for nerve's own finalizers, which only free objects nothing
** can reach, and so may run at any time. */
lctx *ln_ctx_gc(lua_State *L) {
  lctx *c = (lctx *)lua_touserdata(L, lua_upvalueindex(1));
  /* only a finalizer older than the module can run after the context's
  ** own one, while the state closes */
  if (c->ctx == NULL) luaL_error(L, "nerve: the Lua state is closing");
  c->L = L;
  return c;
}

static int newblock(lua_State *L) {
  size_t n = (size_t)lua_tointeger(L, 1);
  void *p = lua_newuserdatauv(L, n, 0);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &anchors_key);
  lua_pushlightuserdata(L, p);
  lua_pushvalue(L, -3);
  lua_rawset(L, -3);
  lua_pushlightuserdata(L, p);
  return 1;
}

/* The engine's allocator: blocks are Lua userdata anchored in the
** registry, so collectgarbage("count") and the collector's pace see them,
** and the host's allocator (and its limits) serves every byte. Allocation
** runs protected: a memory error becomes NULL, never a longjmp through
** the engine. Freeing only drops the anchor. */
static void *lalloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  lctx *c = (lctx *)ud;
  lua_State *L = c->L;
  if (nsize == 0) {
    if (ptr) {
      c->blocks--;
      c->bytes -= osize; /* the engine gives the original size back */
      lua_rawgetp(L, LUA_REGISTRYINDEX, &anchors_key);
      lua_pushlightuserdata(L, ptr);
      lua_pushnil(L);
      lua_rawset(L, -3);
      lua_pop(L, 1);
    }
    return NULL;
  }
  if (ptr != NULL || nsize > (size_t)LUA_MAXINTEGER || !lua_checkstack(L, 4))
    return NULL;
  /* A collection step here may run finalizers inside an engine call: any
  ** nerve call they make is refused (ln_ctx), nerve's own finalizers only
  ** free unreachable objects. (Stopping the collector instead would reset
  ** its debt at every block: restarting it makes it collect continuously.) */
  lua_pushcfunction(L, newblock);
  lua_pushinteger(L, (lua_Integer)nsize);
  c->inalloc++;
  int r = lua_pcall(L, 1, 1, 0);
  c->inalloc--;
  if (r != LUA_OK) {
    lua_pop(L, 1);
    return NULL;
  }
  void *p = lua_touserdata(L, -1);
  lua_pop(L, 1);
  c->blocks++;
  c->bytes += nsize;
  return p;
}

static const char *status_text(nerve_status s) {
  switch (s) {
  case NERVE_ESHAPE: return "matrix shapes do not fit together";
  default: return nerve_strerror(s);
  }
}

/* Raises the engine status s as an error of function fn. */
int ln_error(lua_State *L, const char *fn, nerve_status s) {
  if (s == NERVE_ENOMEM) return luaL_error(L, "%s: not enough memory", fn);
  return luaL_error(L, "%s: %s", fn, status_text(s));
}

/* Creates metatable tname (liolib's createmeta): metamethods metameth,
** methods meth reachable through __index, or, when metameth has its own
** __index function, in the field "methods" for it to look up; all get the
** context as upvalue 1. meth may be NULL. */
void ln_createmeta(lua_State *L, const char *tname, const luaL_Reg *metameth,
                   const luaL_Reg *meth) {
  luaL_newmetatable(L, tname);
  lua_pushvalue(L, lua_upvalueindex(1));
  luaL_setfuncs(L, metameth, 1);
  if (meth) {
    lua_getfield(L, -1, "__index");
    int has = !lua_isnil(L, -1);
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    luaL_setfuncs(L, meth, 1);
    if (has) lua_setfield(L, -2, "methods");
    else lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
}

/* The shortest %g text that reads back as the same float32 (0.001f shows
** as "0.001", not as the double it widens to, 0.0010000000474975). */
const char *ln_float(char buf[LN_FLOATBUF], float v) {
  for (int digits = 1; digits < 9; digits++) {
    snprintf(buf, LN_FLOATBUF, "%.*g", digits, (double)v);
    if (strtof(buf, NULL) == v) return buf;
  }
  snprintf(buf, LN_FLOATBUF, "%.9g", (double)v); /* always exact */
  return buf;
}

/* An integer argument in 1..NERVE_MAX_DIM. */
lua_Integer ln_checkdim(lua_State *L, int arg, const char *what) {
  lua_Integer n = luaL_checkinteger(L, arg);
  if (n < 1 || n > NERVE_MAX_DIM)
    luaL_argerror(L, arg, lua_pushfstring(L, "%s must be in 1..%d, got %I",
                                          what, NERVE_MAX_DIM, n));
  return n;
}

/* A gradient norm limit: a finite number >= 0. */
double ln_checkclip(lua_State *L, int arg) {
  lua_Number v = luaL_checknumber(L, arg);
  if (!(v >= 0 && v < 1e300))
    luaL_argerror(L, arg, "clip must be a finite number >= 0");
  return v;
}

const char *ln_checkpath(lua_State *L, int arg, const char *fn) {
  size_t n;
  const char *path = luaL_checklstring(L, arg, &n);
  const char *why = n == 0                 ? "the path is empty"
                    : memchr(path, 0, n) ? "the path holds a NUL byte"
                                         : NULL;
  if (!why) return path;
  luaL_pushfail(L);
  lua_pushfstring(L, "%s: %s", fn, why);
  return NULL;
}

const char *ln_saveerror(int e, nerve_status s) {
  if (e == EINVAL) return "not a regular file (a device, FIFO or socket)";
  return e ? strerror(e) : nerve_strerror(s);
}

/* Frees the engine context when the state closes; the registry keeps the
** context userdata alive until then, and every engine object made with it
** holds a reference to it, so it is finalized last. */
static int ctx_gc(lua_State *L) {
  lctx *c = (lctx *)lua_touserdata(L, 1);
  if (c->ctx) {
    c->L = L;
    nerve_ctx_free(c->ctx);
    c->ctx = NULL;
  }
  return 0;
}

/* Pushes the state's context userdata, made on the first call: one
** context per state, so opening the module again reuses it. */
lctx *ln_getcontext(lua_State *L) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, LN_CONTEXT) == LUA_TUSERDATA)
    return (lctx *)lua_touserdata(L, -1);
  lua_pop(L, 1);
  lua_newtable(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &anchors_key);
  lctx *c = (lctx *)lua_newuserdatauv(L, sizeof(lctx), 0);
  c->ctx = NULL;
  c->L = L;
  c->blocks = c->bytes = 0;
  c->inalloc = 0;
  lua_newtable(L);
  lua_pushcfunction(L, ctx_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  nerve_status s = nerve_ctx_new(&c->ctx, lalloc, c);
  if (s != NERVE_OK) {
    ln_error(L, "nerve", s);
    return NULL;
  }
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, LN_CONTEXT);
  return c;
}
