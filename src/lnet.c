/*
** lnet.c - nerve.Layer and nerve.Net: layers (parameters and views of
** them) and sequential networks (forward, backward, updates, copies and
** the model format).
*/
#include <errno.h>
#include <string.h>

#include "lnerve.h"

/* ------------------------------------------------------------- layers */

static llayer *checklayer(lua_State *L, int arg) {
  llayer *u = (llayer *)luaL_checkudata(L, arg, LN_LAYER);
  /* a finalizer may reach a layer whose own finalizer already ran */
  if (u->l == NULL) luaL_error(L, "nerve.Layer: the layer was collected");
  return u;
}

/* Pushes a new layer userdata holding one reference to l. */
static void pushlayer(lua_State *L, nerve_layer *l) {
  llayer *u = (llayer *)lua_newuserdatauv(L, sizeof(llayer), 0);
  u->l = NULL;
  luaL_setmetatable(L, LN_LAYER);
  nerve_layer_retain(l);
  u->l = l;
}

static int l_linear(lua_State *L) {
  lctx *c = ln_ctx(L);
  int n_in = (int)ln_checkdim(L, 1, "n_in");
  int n_out = (int)ln_checkdim(L, 2, "n_out");
  llayer *u = (llayer *)lua_newuserdatauv(L, sizeof(llayer), 0);
  u->l = NULL;
  luaL_setmetatable(L, LN_LAYER);
  nerve_status s = nerve_linear_new(c->ctx, n_in, n_out, &u->l);
  if (s != NERVE_OK) return ln_error(L, "nerve.linear", s);
  return 1;
}

static int l_activation(lua_State *L) {
  lctx *c = ln_ctx(L);
  const char *name = luaL_checkstring(L, 1);
  int k = nerve_kind_find(name);
  if (k < 0 || k == NERVE_LINEAR)
    return luaL_error(L, "nerve: unknown activation '%s' (expected sigmoid, "
                         "tanh, relu, leaky_relu, softmax, identity, dropout, "
                         "elu, softplus, gelu or sigmoid_symmetric)", name);
  float alpha = (float)luaL_optnumber(L, 2, 0.01);
  llayer *u = (llayer *)lua_newuserdatauv(L, sizeof(llayer), 0);
  u->l = NULL;
  luaL_setmetatable(L, LN_LAYER);
  nerve_status s = nerve_act_new(c->ctx, (nerve_kind)k, alpha, &u->l);
  if (s != NERVE_OK) return ln_error(L, "nerve.activation", s);
  return 1;
}

static int l_is_layer(lua_State *L) {
  lua_pushboolean(L, luaL_testudata(L, 1, LN_LAYER) != NULL);
  return 1;
}

static int layer_gc(lua_State *L) {
  llayer *u = (llayer *)luaL_checkudata(L, 1, LN_LAYER);
  if (u->l) {
    ln_ctx_gc(L);
    nerve_layer_release(u->l);
    u->l = NULL;
  }
  return 0;
}

static const char *const inits[] = {
    "xavier",        "he",       "uniform",    "zero",   "normal",
    "xavier_normal", "he_normal", "constant", "orthogonal", NULL};

/* layer:init(scheme [, param]): re-draws the weights from the state's
** generator; param is the sd of "normal", the value of "constant", the
** gain of "orthogonal". */
static int layer_init(lua_State *L) {
  lctx *c = ln_ctx(L);
  llayer *u = checklayer(L, 1);
  const char *name = luaL_checkstring(L, 2);
  int i = 0;
  while (inits[i] && strcmp(inits[i], name) != 0) i++;
  if (!inits[i])
    return luaL_error(L, "nerve.linear: unknown init '%s' (expected xavier, "
                         "he, uniform, zero, normal, xavier_normal, "
                         "he_normal, constant, orthogonal or a function)",
                      name);
  nerve_status s =
      lua_isnoneornil(L, 3)
          ? nerve_layer_init(u->l, (nerve_init)i, nerve_ctx_rng(c->ctx))
          : nerve_layer_init_with(u->l, (nerve_init)i, luaL_checknumber(L, 3),
                                  nerve_ctx_rng(c->ctx));
  if (s == NERVE_EARG)
    return luaL_argerror(L, 3, "the init's parameter is out of range");
  if (s != NERVE_OK) return ln_error(L, "nerve.linear", s);
  lua_settop(L, 1);
  return 1;
}

static void describe(lua_State *L, nerve_layer *l) {
  nerve_kind k = nerve_layer_kind(l);
  if (k == NERVE_LINEAR)
    lua_pushfstring(L, "linear(%d -> %d)", nerve_layer_n_in(l),
                    nerve_layer_n_out(l));
  else if (ln_kind_param(k)) {
    char num[LN_FLOATBUF];
    lua_pushfstring(L, "%s(%s)", nerve_kind_name(k),
                    ln_float(num, nerve_layer_alpha(l)));
  }
  else lua_pushstring(L, nerve_kind_name(k));
}

static int layer_tostring(lua_State *L) {
  llayer *u = (llayer *)luaL_checkudata(L, 1, LN_LAYER);
  if (u->l == NULL) {
    lua_pushliteral(L, "nerve.Layer (collected)");
    return 1;
  }
  lua_pushliteral(L, "nerve.");
  describe(L, u->l);
  lua_concat(L, 2);
  return 1;
}

/* Fields: weight, bias, grad_weight, grad_bias (views sharing the
** layer's storage), kind, n_in, n_out, alpha; then the methods. */
static int layer_index(lua_State *L) {
  llayer *u = checklayer(L, 1);
  const char *key = lua_tostring(L, 2);
  nerve_layer *l = u->l;
  int linear = nerve_layer_kind(l) == NERVE_LINEAR;
  if (key == NULL) return 0;
  if (strcmp(key, "weight") == 0 || strcmp(key, "bias") == 0 ||
      strcmp(key, "grad_weight") == 0 || strcmp(key, "grad_bias") == 0) {
    if (!linear) return 0;
    nerve_mat m = key[0] == 'w'   ? nerve_layer_weight(l)
                  : key[0] == 'b' ? nerve_layer_bias(l)
                  : key[5] == 'w' ? nerve_layer_grad_weight(l)
                                  : nerve_layer_grad_bias(l);
    ln_pushview(L, m, 1);
    return 1;
  }
  if (strcmp(key, "kind") == 0) {
    lua_pushstring(L, nerve_kind_name(nerve_layer_kind(l)));
    return 1;
  }
  if (strcmp(key, "n_in") == 0 || strcmp(key, "n_out") == 0) {
    int n = key[2] == 'i' ? nerve_layer_n_in(l) : nerve_layer_n_out(l);
    if (!linear) return 0;
    lua_pushinteger(L, n);
    return 1;
  }
  const char *pname = ln_kind_param(nerve_layer_kind(l));
  if (pname && strcmp(key, pname) == 0) {
    lua_pushnumber(L, nerve_layer_alpha(l));
    return 1;
  }
  lua_getmetatable(L, 1);
  lua_getfield(L, -1, "methods");
  lua_getfield(L, -1, key);
  return 1;
}

static int layer_newindex(lua_State *L) {
  return luaL_error(L, "nerve.Layer: field '%s' is read-only (write into "
                       "layer.weight and friends with :set or :fill)",
                    luaL_tolstring(L, 2, NULL));
}

/* ------------------------------------------------------------ networks */

lnet *ln_checknet(lua_State *L, int arg) {
  lnet *n = (lnet *)luaL_checkudata(L, arg, LN_NET);
  if (n->net == NULL) luaL_error(L, "nerve.Net: the network is closed");
  if (n->busy) luaL_error(L, "nerve.Net: the network is in use (re-entered)");
  return n;
}

/* A new, empty network userdata (its engine net still NULL). */
static lnet *newnet(lua_State *L) {
  lnet *n = (lnet *)lua_newuserdatauv(L, sizeof(lnet), 3);
  n->net = NULL;
  n->busy = 0;
  lua_newtable(L);
  lua_setiuservalue(L, -2, 1);
  luaL_setmetatable(L, LN_NET);
  return n;
}

/* Wraps every layer of the engine net at index idx in a layer userdata,
** stored in the network's layer table (after clone and load). */
static void adoptlayers(lua_State *L, int idx) {
  lnet *n = (lnet *)lua_touserdata(L, idx);
  lua_getiuservalue(L, idx, 1);
  for (int i = 0; i < nerve_net_count(n->net); i++) {
    pushlayer(L, nerve_net_layer(n->net, i));
    lua_rawseti(L, -2, i + 1);
  }
  lua_pop(L, 1);
}

static int l_net(lua_State *L) {
  lctx *c = ln_ctx(L);
  lnet *n = newnet(L);
  nerve_status s = nerve_net_new(c->ctx, &n->net);
  if (s != NERVE_OK) return ln_error(L, "nerve.sequential", s);
  return 1;
}

static int l_is_net(lua_State *L) {
  lua_pushboolean(L, luaL_testudata(L, 1, LN_NET) != NULL);
  return 1;
}

/* __gc: the network is unreachable, nothing can be reading its memory. */
static int net_gc(lua_State *L) {
  lnet *n = (lnet *)luaL_checkudata(L, 1, LN_NET);
  if (n->net) {
    ln_ctx_gc(L);
    nerve_net_free(n->net);
    n->net = NULL;
  }
  return 0;
}

static int net_close(lua_State *L) {
  lnet *n = (lnet *)luaL_checkudata(L, 1, LN_NET);
  ln_ctx(L);
  if (n->busy) /* from a callback while the engine works on it */
    return luaL_error(L, "nerve.close: the network is in use");
  return net_gc(L);
}

static int net_add(lua_State *L) {
  ln_ctx(L);
  lnet *n = ln_checknet(L, 1);
  llayer *u = checklayer(L, 2);
  lua_getiuservalue(L, 1, 1);
  lua_Integer len = luaL_len(L, -1);
  lua_pushvalue(L, 2);
  lua_rawseti(L, -2, len + 1); /* may raise: before the engine changes */
  /* that store may have run finalizers: check again (a closed network's
  ** layer table no longer matters) */
  n = ln_checknet(L, 1);
  u = checklayer(L, 2);
  n->busy = 1;
  nerve_status s = nerve_net_add(n->net, u->l);
  n->busy = 0;
  if (s != NERVE_OK) {
    lua_pushnil(L);
    lua_rawseti(L, -2, len + 1);
    if (s == NERVE_ESHAPE)
      return luaL_error(L, "nerve.add: layer takes %d inputs, network gives %d",
                        nerve_layer_n_in(u->l), nerve_net_n_out(n->net));
    if (s == NERVE_EARG)
      return luaL_error(L, "nerve.add: this linear layer is already in the "
                           "network (use :clone() for a copy)");
    return ln_error(L, "nerve.add", s);
  }
  lua_settop(L, 1);
  return 1;
}

static int net_len(lua_State *L) {
  lnet *n = ln_checknet(L, 1);
  lua_pushinteger(L, nerve_net_count(n->net));
  return 1;
}

static int net_layer(lua_State *L) {
  lnet *n = ln_checknet(L, 1);
  lua_Integer i = luaL_checkinteger(L, 2);
  int count = nerve_net_count(n->net);
  if (i < 1 || i > count)
    return luaL_argerror(L, 2, lua_pushfstring(L, "layer %I out of range 1..%d",
                                               i, count));
  lua_getiuservalue(L, 1, 1);
  lua_rawgeti(L, -1, i);
  return 1;
}

/* Returns the cached view in user value slot if it still shows m, else a
** new view of m cached there. One view per buffer means no allocation per
** forward in the steady state. */
static void pushbuf(lua_State *L, int netidx, int slot, nerve_mat m) {
  if (lua_getiuservalue(L, netidx, slot) == LUA_TUSERDATA) {
    lmat *v = (lmat *)lua_touserdata(L, -1);
    lnet *n = (lnet *)lua_touserdata(L, netidx);
    if (v->m.data == m.data && v->m.rows == m.rows && v->m.cols == m.cols &&
        v->m.stride == m.stride && v->epoch == nerve_net_buffer_epoch(n->net))
      return;
  }
  lua_pop(L, 1);
  ln_pushnetbuf(L, m, netidx);
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, netidx, slot);
}

static int widtherror(lua_State *L, const char *fn, lnet *n, nerve_mat *x) {
  int want = nerve_net_n_in(n->net);
  if (nerve_net_count(n->net) == 0)
    return luaL_error(L, "%s: the network has no layers", fn);
  return luaL_error(L, "%s: input has %d column%s, network expects %d", fn,
                    x->cols, LN_S(x->cols), want);
}

static int net_forward(lua_State *L) {
  ln_ctx(L);
  nerve_mat x = ln_checkinput(L, 2, "nerve.forward"), out;
  lnet *n = ln_checknet(L, 1); /* after the input, which may allocate */
  n->busy = 1;
  nerve_status s = nerve_net_forward(n->net, &x, &out);
  n->busy = 0;
  if (s == NERVE_ESHAPE || s == NERVE_EARG)
    return widtherror(L, "nerve.forward", n, &x);
  if (s != NERVE_OK) return ln_error(L, "nerve.forward", s);
  pushbuf(L, 1, 2, out);
  return 1;
}

static int net_backward(lua_State *L) {
  ln_ctx(L);
  ln_checkinput(L, 2, "nerve.backward"); /* may allocate: first */
  nerve_mat x = *ln_checkmat(L, 2);
  nerve_mat g = *ln_checkmat(L, 3), gin;
  lnet *n = ln_checknet(L, 1);
  /* net:backward(x, g, false): no dE/dx (a training loop that does not
  ** need it skips the first layer's input-gradient GEMM) */
  int want = lua_isnoneornil(L, 4) || lua_toboolean(L, 4);
  n->busy = 1;
  nerve_status s = nerve_net_backward(n->net, &x, &g, want ? &gin : NULL);
  n->busy = 0;
  if (s == NERVE_ESTATE)
    return luaL_error(L, "nerve.backward: no forward pass of a %d x %d batch "
                         "came before (call net:forward(x) first)",
                      x.rows, x.cols);
  if (s == NERVE_ESHAPE)
    return luaL_error(L, "nerve.backward: grad_output is %d x %d, network "
                         "output is %d x %d",
                      g.rows, g.cols, x.rows, nerve_net_n_out(n->net));
  if (s != NERVE_OK) return ln_error(L, "nerve.backward", s);
  if (!want) return 0;
  pushbuf(L, 1, 3, gin);
  return 1;
}

static int net_zero_grad(lua_State *L) {
  nerve_net_zero_grad(ln_checknet(L, 1)->net);
  lua_settop(L, 1);
  return 1;
}

static int net_update(lua_State *L) {
  lnet *n = ln_checknet(L, 1);
  float lr = (float)luaL_checknumber(L, 2);
  nerve_net_update(n->net, lr);
  lua_settop(L, 1);
  return 1;
}

static int net_grad_norm(lua_State *L) {
  lua_pushnumber(L, nerve_net_grad_norm(ln_checknet(L, 1)->net));
  return 1;
}

/* {W1, b1, W2, b2, ...} or the gradients: views of the linear layers'
** storage. Walks the network's table of layer userdata, which stays
** valid whatever a finalizer run by an allocation here does. */
static int paramviews(lua_State *L, int grads) {
  ln_checknet(L, 1);
  int top = lua_gettop(L);
  lua_newtable(L);
  lua_getiuservalue(L, 1, 1);
  lua_Integer count = luaL_len(L, top + 2);
  int k = 0;
  for (lua_Integer i = 1; i <= count; i++) {
    lua_rawgeti(L, top + 2, i);
    nerve_layer *l = checklayer(L, -1)->l;
    if (nerve_layer_kind(l) == NERVE_LINEAR) {
      ln_pushview(L, grads ? nerve_layer_grad_weight(l) : nerve_layer_weight(l),
                  -1);
      lua_rawseti(L, top + 1, ++k);
      l = checklayer(L, -1)->l;
      ln_pushview(L, grads ? nerve_layer_grad_bias(l) : nerve_layer_bias(l),
                  -1);
      lua_rawseti(L, top + 1, ++k);
    }
    lua_pop(L, 1);
  }
  lua_settop(L, top + 1);
  return 1;
}

static int net_parameters(lua_State *L) { return paramviews(L, 0); }

/* Same as parameters, for the accumulated gradients. */
static int net_gradients(lua_State *L) { return paramviews(L, 1); }

static int net_num_parameters(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)nerve_net_num_params(ln_checknet(L, 1)->net));
  return 1;
}

static int net_n_in(lua_State *L) {
  lua_pushinteger(L, nerve_net_n_in(ln_checknet(L, 1)->net));
  return 1;
}

static int net_n_out(lua_State *L) {
  lua_pushinteger(L, nerve_net_n_out(ln_checknet(L, 1)->net));
  return 1;
}

static int net_clone(lua_State *L) {
  ln_ctx(L);
  ln_checknet(L, 1);
  lnet *c = newnet(L);
  lnet *n = ln_checknet(L, 1); /* newnet may have run finalizers */
  n->busy = 1;
  nerve_status s = nerve_net_clone(n->net, &c->net);
  n->busy = 0;
  if (s != NERVE_OK) return ln_error(L, "nerve.clone", s);
  adoptlayers(L, lua_gettop(L));
  return 1;
}

static int net_copy_parameters(lua_State *L) {
  lnet *dst = ln_checknet(L, 1);
  lnet *src = ln_checknet(L, 2);
  nerve_status s = nerve_net_copy_params(dst->net, src->net);
  if (s == NERVE_ESHAPE)
    return luaL_error(L, "nerve.copy_parameters: the networks' layers differ");
  if (s != NERVE_OK) return ln_error(L, "nerve.copy_parameters", s);
  lua_settop(L, 1);
  return 1;
}

/* The engine net of n, checked again after anything that may allocate
** (an allocation may run a finalizer that closes it). */
static nerve_net *live(lua_State *L, lnet *n) {
  if (n->net == NULL) luaL_error(L, "nerve.Net: the network was closed");
  return n->net;
}

static int net_tostring(lua_State *L) {
  lnet *n = (lnet *)luaL_checkudata(L, 1, LN_NET);
  if (n->net == NULL) {
    lua_pushliteral(L, "nerve.sequential (closed)");
    return 1;
  }
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "nerve.sequential {");
  for (int i = 0; i < nerve_net_count(live(L, n)); i++) {
    lua_pushfstring(L, "\n  (%d) ", i + 1);
    luaL_addvalue(&b);
    describe(L, nerve_net_layer(live(L, n), i));
    luaL_addvalue(&b);
    nerve_layer *l = nerve_net_layer(live(L, n), i);
    if (nerve_layer_kind(l) == NERVE_LINEAR) {
      lua_pushfstring(L, "  %I parameters",
                      (lua_Integer)nerve_layer_n_in(l) * nerve_layer_n_out(l) +
                          nerve_layer_n_out(l));
      luaL_addvalue(&b);
    }
  }
  nerve_net *net = live(L, n);
  int in = nerve_net_n_in(net), out = nerve_net_n_out(net);
  lua_pushfstring(L, "\n}  %d -> %d, %I parameters", in, out,
                  (lua_Integer)nerve_net_num_params(net));
  luaL_addvalue(&b);
  if (nerve_net_precision(net) == NERVE_BF16)
    luaL_addstring(&b, ", bf16 matrix products");
  luaL_pushresult(&b);
  return 1;
}

/* ------------------------------------------------------- model format */

static int pushbytes(lua_State *L) {
  lua_pushlstring(L, (const char *)lua_touserdata(L, 1),
                  (size_t)lua_tointeger(L, 2));
  return 1;
}

static int net_serialize(lua_State *L) {
  lctx *c = ln_ctx(L);
  lnet *n = ln_checknet(L, 1);
  void *bytes;
  size_t len;
  n->busy = 1;
  nerve_status s = nerve_net_serialize(n->net, &bytes, &len);
  n->busy = 0;
  if (s != NERVE_OK) return ln_error(L, "nerve.serialize", s);
  /* The string is made protected, so the engine block is always freed. */
  lua_pushcfunction(L, pushbytes);
  lua_pushlightuserdata(L, bytes);
  lua_pushinteger(L, (lua_Integer)len);
  int r = lua_pcall(L, 2, 1, 0);
  c->L = L;
  nerve_free(c->ctx, bytes);
  if (r != LUA_OK) return lua_error(L);
  return 1;
}

static int net_save(lua_State *L) {
  ln_ctx(L);
  const char *path = luaL_checkstring(L, 2); /* may convert: first */
  lnet *n = ln_checknet(L, 1);
  errno = 0;
  n->busy = 1;
  nerve_status s = nerve_net_save(n->net, path);
  n->busy = 0;
  if (s == NERVE_ENOMEM) return ln_error(L, "nerve.save", s);
  if (s != NERVE_OK) {
    int e = errno;
    luaL_pushfail(L);
    lua_pushfstring(L, "%s: %s", path, e ? strerror(e) : nerve_strerror(s));
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

static const char *loaderror(nerve_status s) {
  switch (s) {
  case NERVE_EFORMAT: return "not a nerve model, or corrupt";
  case NERVE_ETRUNC: return "truncated nerve model";
  case NERVE_ECHECKSUM: return "nerve model checksum mismatch (corrupt)";
  case NERVE_EVERSION: return "nerve model of an unsupported format version";
  case NERVE_ELIMIT: return "nerve model larger than this build accepts";
  default: return nerve_strerror(s);
  }
}

static int l_deserialize(lua_State *L) {
  lctx *c = ln_ctx(L);
  size_t len;
  const char *bytes = luaL_checklstring(L, 1, &len);
  lnet *n = newnet(L);
  nerve_status s = nerve_net_deserialize(c->ctx, bytes, len, &n->net);
  if (s == NERVE_ENOMEM) return ln_error(L, "nerve.deserialize", s);
  if (s != NERVE_OK) {
    luaL_pushfail(L);
    lua_pushstring(L, loaderror(s));
    return 2;
  }
  adoptlayers(L, lua_gettop(L));
  return 1;
}

static int l_load(lua_State *L) {
  lctx *c = ln_ctx(L);
  const char *path = luaL_checkstring(L, 1);
  lnet *n = newnet(L);
  errno = 0;
  nerve_status s = nerve_net_load(c->ctx, path, &n->net);
  if (s == NERVE_ENOMEM) return ln_error(L, "nerve.load", s);
  if (s != NERVE_OK) {
    int e = errno;
    luaL_pushfail(L);
    lua_pushfstring(L, "%s: %s", path,
                    s == NERVE_EIO && e ? strerror(e) : loaderror(s));
    return 2;
  }
  adoptlayers(L, lua_gettop(L));
  return 1;
}

static const luaL_Reg layer_meta[] = {{"__gc", layer_gc},
                                      {"__index", layer_index},
                                      {"__newindex", layer_newindex},
                                      {"__tostring", layer_tostring},
                                      {NULL, NULL}};
static const luaL_Reg layer_methods[] = {{"init", layer_init}, {NULL, NULL}};

static const luaL_Reg net_meta[] = {{"__gc", net_gc},
                                    {"__close", net_close},
                                    {"__len", net_len},
                                    {"__tostring", net_tostring},
                                    {NULL, NULL}};
static const luaL_Reg net_methods[] = {
    {"add", net_add},
    {"forward", net_forward},
    {"backward", net_backward},
    {"zero_grad", net_zero_grad},
    {"update", net_update},
    {"grad_norm", net_grad_norm},
    {"layer", net_layer},
    {"parameters", net_parameters},
    {"gradients", net_gradients},
    {"num_parameters", net_num_parameters},
    {"n_in", net_n_in},
    {"n_out", net_n_out},
    {"clone", net_clone},
    {"copy_parameters", net_copy_parameters},
    {"serialize", net_serialize},
    {"save", net_save},
    {"close", net_close},
    {NULL, NULL}};

static const luaL_Reg funcs[] = {
    {"linear", l_linear},       {"activation", l_activation},
    {"is_layer", l_is_layer},   {"net", l_net},
    {"is_net", l_is_net},       {"deserialize", l_deserialize},
    {"load", l_load},           {NULL, NULL}};

void ln_open_net(lua_State *L) {
  ln_register(L, LN_LAYER, layer_meta, layer_methods);
  ln_register(L, LN_NET, net_meta, net_methods);
  lua_pushvalue(L, lua_upvalueindex(1));
  luaL_setfuncs(L, funcs, 1);
}

/* For nerve_lua_pushnet (nerve_lua.c): a closed network userdata, and the
** wrapping of its layers once it holds an engine network. */
void ln_newnet(lua_State *L) { newnet(L); }
void ln_adoptlayers(lua_State *L, int idx) { adoptlayers(L, idx); }
