/*
** nerve_lua.c - the host API (nerve_lua.h): preloading the compiled-in
** Lua layer, the state's engine context, and networks crossing between C
** and Lua.
*/
#include "lnerve.h"
#include "nerve_lua_src.h"

/* package.preload loader: upvalue 1 is the source entry. */
static int loadembedded(lua_State *L) {
  const nerve_lua_src *s =
      (const nerve_lua_src *)lua_touserdata(L, lua_upvalueindex(1));
  if (luaL_loadbufferx(L, s->text, s->len, s->chunk, "t") != LUA_OK)
    return lua_error(L);
  lua_pushstring(L, s->module);
  lua_call(L, 1, 1);
  return 1;
}

int nerve_lua_open(lua_State *L) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_nerve_core);
  lua_setfield(L, -2, "nerve.core");
  for (const nerve_lua_src *s = nerve_lua_sources; s->module; s++) {
    lua_pushlightuserdata(L, (void *)s);
    lua_pushcclosure(L, loadembedded, 1);
    lua_setfield(L, -2, s->module);
  }
  lua_pop(L, 1);
  return 0;
}

/* The state's binding context, with L as the thread its allocator uses;
** NULL when nerve.core was never opened in this state. */
static lctx *statectx(lua_State *L) {
  lctx *c = NULL;
  if (lua_getfield(L, LUA_REGISTRYINDEX, LN_CONTEXT) == LUA_TUSERDATA) {
    c = (lctx *)lua_touserdata(L, -1);
    c->L = L;
  }
  lua_pop(L, 1);
  return c;
}

nerve_ctx *nerve_lua_ctx(lua_State *L) {
  lctx *c = statectx(L);
  if (c == NULL) {
    luaL_requiref(L, "nerve.core", luaopen_nerve_core, 0);
    lua_pop(L, 1);
    c = statectx(L);
  }
  return c->ctx;
}

/* Makes a closed nerve.Net userdata; run protected by pushnet. */
static int newwrapper(lua_State *L) {
  ln_newnet(L);
  return 1;
}

static int copyfailed(lua_State *L, nerve_net *net, nerve_status s) {
  nerve_net_free(net);
  return ln_error(L, "nerve_lua_pushnet", s);
}

void nerve_lua_pushnet(lua_State *L, nerve_net *net) {
  nerve_ctx *ctx = nerve_lua_ctx(L);
  if (nerve_net_ctx(net) != ctx) {
    /* Another context's allocator: move the network into this state's
    ** memory through the model format, which keeps every parameter. */
    void *bytes;
    size_t len;
    nerve_net *copy = NULL;
    nerve_status s = nerve_net_serialize(net, &bytes, &len);
    if (s != NERVE_OK) {
      copyfailed(L, net, s);
      return;
    }
    statectx(L);
    s = nerve_net_deserialize(ctx, bytes, len, &copy);
    nerve_free(nerve_net_ctx(net), bytes);
    nerve_net_free(net);
    if (s != NERVE_OK) {
      ln_error(L, "nerve_lua_pushnet", s);
      return;
    }
    net = copy;
  }
  /* The userdata is made protected: until it holds net, a memory error
  ** must free net here rather than leak it. */
  if (!lua_checkstack(L, 3)) {
    nerve_net_free(net);
    luaL_error(L, "nerve_lua_pushnet: stack overflow");
    return;
  }
  lua_pushcfunction(L, newwrapper);
  if (lua_pcall(L, 0, 1, 0) != LUA_OK) {
    statectx(L);
    nerve_net_free(net);
    lua_error(L);
    return;
  }
  ((lnet *)lua_touserdata(L, -1))->net = net;
  /* From here the userdata owns net; its __gc frees it on any error. */
  ln_adoptlayers(L, lua_gettop(L));
}

nerve_net *nerve_lua_tonet(lua_State *L, int idx) {
  lnet *n = (lnet *)luaL_testudata(L, idx, LN_NET);
  if (n == NULL || n->net == NULL || n->busy) return NULL;
  statectx(L);
  return n->net;
}

nerve_net *nerve_lua_checknet(lua_State *L, int arg) {
  nerve_net *net = nerve_lua_tonet(L, arg);
  if (net == NULL) {
    luaL_checkudata(L, arg, LN_NET); /* names what was expected */
    luaL_argerror(L, arg, "open nerve.Net expected (closed or in use)");
  }
  return net;
}
