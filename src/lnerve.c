/*
** lnerve.c - luaopen_nerve_core: the per-state context, the allocator hook
** that makes engine memory visible to Lua's collector, error conversion,
** and the engine-wide calls (seed, isa, threads, clock, generators).
*/
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

/* Registers metatable tname: metamethods meta, methods reachable through
** __index (unless meta sets its own __index); all get the context. */
void ln_register(lua_State *L, const char *tname, const luaL_Reg *meta,
                 const luaL_Reg *methods) {
  luaL_newmetatable(L, tname);
  lua_pushvalue(L, lua_upvalueindex(1));
  luaL_setfuncs(L, meta, 1);
  if (methods) {
    lua_getfield(L, -1, "__index");
    int has = !lua_isnil(L, -1);
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    luaL_setfuncs(L, methods, 1);
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

/* ------------------------------------------------------------ engine */

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

/* -------------------------------------------- generators, permutations */

static int l_rng(lua_State *L) {
  lua_Integer seed = luaL_checkinteger(L, 1);
  lrng *g = (lrng *)lua_newuserdatauv(L, sizeof(lrng), 0);
  nerve_rng_seed(&g->r, (uint64_t)seed);
  luaL_setmetatable(L, LN_RNG);
  return 1;
}

static int rng_uniform(lua_State *L) {
  lrng *g = (lrng *)luaL_checkudata(L, 1, LN_RNG);
  lua_pushnumber(L, nerve_rng_uniform(&g->r));
  return 1;
}

static int rng_tostring(lua_State *L) {
  luaL_checkudata(L, 1, LN_RNG);
  lua_pushliteral(L, "nerve.Generator");
  return 1;
}

static int l_perm(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  if (n < 1 || n > INT32_MAX / 2) return luaL_argerror(L, 1, "size out of range");
  lperm *p = (lperm *)lua_newuserdatauv(
      L, sizeof(lperm) + (size_t)(n - 1) * sizeof(int32_t), 0);
  p->n = (int)n;
  for (int i = 0; i < p->n; i++) p->idx[i] = i;
  luaL_setmetatable(L, LN_PERM);
  return 1;
}

/* Fisher-Yates with the given generator or the state's. */
static int perm_shuffle(lua_State *L) {
  lctx *c = ln_ctx(L);
  lperm *p = (lperm *)luaL_checkudata(L, 1, LN_PERM);
  nerve_rng *r = lua_isnoneornil(L, 2)
                     ? nerve_ctx_rng(c->ctx)
                     : &((lrng *)luaL_checkudata(L, 2, LN_RNG))->r;
  nerve_rng_shuffle(r, p->idx, p->n);
  lua_settop(L, 1);
  return 1;
}

static int perm_get(lua_State *L) {
  lperm *p = (lperm *)luaL_checkudata(L, 1, LN_PERM);
  lua_Integer i = luaL_checkinteger(L, 2);
  luaL_argcheck(L, i >= 1 && i <= p->n, 2, "index out of range");
  lua_pushinteger(L, p->idx[i - 1] + 1);
  return 1;
}

static int perm_len(lua_State *L) {
  lua_pushinteger(L, ((lperm *)luaL_checkudata(L, 1, LN_PERM))->n);
  return 1;
}

static int perm_tostring(lua_State *L) {
  lperm *p = (lperm *)luaL_checkudata(L, 1, LN_PERM);
  lua_pushfstring(L, "nerve.Permutation(%d)", p->n);
  return 1;
}

static const luaL_Reg rng_meta[] = {{"__tostring", rng_tostring}, {NULL, NULL}};
static const luaL_Reg rng_methods[] = {{"uniform", rng_uniform}, {NULL, NULL}};
static const luaL_Reg perm_meta[] = {
    {"__len", perm_len}, {"__tostring", perm_tostring}, {NULL, NULL}};
static const luaL_Reg perm_methods[] = {
    {"shuffle", perm_shuffle}, {"get", perm_get}, {NULL, NULL}};

static const luaL_Reg funcs[] = {
    {"seed", l_seed},       {"isa", l_isa},     {"set_isa", l_set_isa},
    {"isa_supported", l_supported},             {"threads", l_threads},
    {"clock", l_clock},     {"rng", l_rng},     {"perm", l_perm},
    {"isatty", l_isatty},   {"memory", l_memory},
    {NULL, NULL}};

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

/* Builds the module table; runs with the context as upvalue 1. */
static int setup(lua_State *L) {
  lua_newtable(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  luaL_setfuncs(L, funcs, 1);
  lua_pushliteral(L, NERVE_VERSION);
  lua_setfield(L, -2, "version");
  ln_register(L, LN_RNG, rng_meta, rng_methods);
  ln_register(L, LN_PERM, perm_meta, perm_methods);
  ln_open_matrix(L);
  ln_open_net(L);
  ln_open_train(L);
  ln_open_data(L);
  ln_open_optim(L);
  ln_open_mode(L);
  ln_open_ckpt(L);
  return 1;
}

/* One context per state: opening the module again reuses it. */
static lctx *getcontext(lua_State *L) {
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

NERVE_API int luaopen_nerve_core(lua_State *L);
int luaopen_nerve_core(lua_State *L) {
  getcontext(L);
  lua_pushcclosure(L, setup, 1);
  lua_call(L, 0, 1);
  return 1;
}
