/*
** lnet.c - nerve.Net: sequential networks of layers (forward, backward,
** updates, gradient clipping, copies), their training and evaluation
** modes (dropout acts only while training), their precision (fp32 or
** bf16 matrix products), net:predict, and the model format.
*/
#include <errno.h>
#include <string.h>

#include "lnerve.h"

lnet *ln_checknet(lua_State *L, int arg) {
  lnet *n = (lnet *)luaL_checkudata(L, arg, LN_NET);
  if (n->net == NULL) luaL_error(L, "nerve.Net: the network is closed");
  if (n->busy) luaL_error(L, "nerve.Net: the network is in use (re-entered)");
  return n;
}

/* Pushes a new, empty network userdata, closed (its engine net still
** NULL) until the caller makes one: a failure leaves nothing to free. */
lnet *ln_newnet(lua_State *L) {
  lnet *n = (lnet *)lua_newuserdatauv(L, sizeof(lnet), 3);
  n->net = NULL;
  n->busy = 0;
  lua_newtable(L);
  lua_setiuservalue(L, -2, 1);
  luaL_setmetatable(L, LN_NET);
  return n;
}

/* Wraps every layer of the engine net at index idx in a layer userdata,
** stored in the network's layer table (after clone and load, and for
** nerve_lua_pushnet). */
void ln_adoptlayers(lua_State *L, int idx) {
  lnet *n = (lnet *)lua_touserdata(L, idx);
  lua_getiuservalue(L, idx, 1);
  for (int i = 0; i < nerve_net_count(n->net); i++) {
    ln_pushlayer(L, nerve_net_layer(n->net, i));
    lua_rawseti(L, -2, i + 1);
  }
  lua_pop(L, 1);
}

static int l_net(lua_State *L) {
  lctx *c = ln_ctx(L);
  lnet *n = ln_newnet(L);
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
  llayer *u = ln_checklayer(L, 2);
  lua_getiuservalue(L, 1, 1);
  lua_Integer len = luaL_len(L, -1);
  lua_pushvalue(L, 2);
  lua_rawseti(L, -2, len + 1); /* may raise: before the engine changes */
  /* that store may have run finalizers: check again (a closed network's
  ** layer table no longer matters) */
  n = ln_checknet(L, 1);
  u = ln_checklayer(L, 2);
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
  ln_pushview(L, m, netidx);
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
  nerve_mat x = *ln_checkmatrix(L, 2);
  nerve_mat g = *ln_checkmatrix(L, 3), gin;
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

/* net:clip_grad_norm(max) -> the norm before clipping */
static int net_clip_grad_norm(lua_State *L) {
  lnet *n = ln_checknet(L, 1);
  lua_Number max = luaL_checknumber(L, 2);
  luaL_argcheck(L, max >= 0 && max < 1e300, 2,
                "max norm must be a finite number >= 0");
  lua_pushnumber(L, nerve_net_clip_grad_norm(n->net, max));
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
    nerve_layer *l = ln_checklayer(L, -1)->l;
    if (nerve_layer_kind(l) == NERVE_LINEAR) {
      ln_pushview(L, grads ? nerve_layer_grad_weight(l) : nerve_layer_weight(l),
                  -1);
      lua_rawseti(L, top + 1, ++k);
      l = ln_checklayer(L, -1)->l;
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
  lnet *c = ln_newnet(L);
  lnet *n = ln_checknet(L, 1); /* newnet may have run finalizers */
  n->busy = 1;
  nerve_status s = nerve_net_clone(n->net, &c->net);
  n->busy = 0;
  if (s != NERVE_OK) return ln_error(L, "nerve.clone", s);
  ln_adoptlayers(L, lua_gettop(L));
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
    ln_describelayer(L, nerve_net_layer(live(L, n), i));
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

/* ------------------------------------------- modes, precision, predict */

/* net:training() / net:evaluate(): set the mode, return the network */
static int net_training(lua_State *L) {
  nerve_net_set_training(ln_checknet(L, 1)->net, 1);
  lua_settop(L, 1);
  return 1;
}

static int net_evaluate(lua_State *L) {
  nerve_net_set_training(ln_checknet(L, 1)->net, 0);
  lua_settop(L, 1);
  return 1;
}

static int net_is_training(lua_State *L) {
  lua_pushboolean(L, nerve_net_training(ln_checknet(L, 1)->net));
  return 1;
}

/* The names of the precisions, in nerve_precision's order. */
static const char *const precisions[] = {"fp32", "bf16", NULL};

/* net:precision() -> name; net:precision(name) -> net */
static int net_precision(lua_State *L) {
  lnet *n = ln_checknet(L, 1);
  if (lua_isnoneornil(L, 2)) {
    lua_pushstring(L, precisions[nerve_net_precision(n->net)]);
    return 1;
  }
  const char *name = luaL_checkstring(L, 2);
  int p = 0;
  while (precisions[p] && strcmp(precisions[p], name) != 0) p++;
  if (!precisions[p])
    return luaL_error(L, "nerve.precision: unknown precision '%s' (expected "
                         "fp32 or bf16)", name);
  nerve_net_set_precision(n->net, (nerve_precision)p);
  lua_settop(L, 1);
  return 1;
}

/* nerve.precisions() -> { fp32 = how, bf16 = how } on this CPU */
static int l_precisions(lua_State *L) {
  nerve_ctx *ctx = ln_ctx(L)->ctx;
  lua_createtable(L, 0, 2);
  for (int p = 0; precisions[p]; p++) {
    lua_pushstring(L, nerve_precision_kernels(ctx, (nerve_precision)p));
    lua_setfield(L, -2, precisions[p]);
  }
  return 1;
}

/* net:predict(x): forward in evaluation mode whatever the mode is (and
** leaves the mode as it was); the output is a matrix of its own, so that
** results of several calls can be kept side by side (forward's is the
** network's buffer). */
static int net_predict(lua_State *L) {
  ln_ctx(L);
  lnet *n = ln_checknet(L, 1);
  nerve_mat x = ln_checkinput(L, 2, "nerve.predict"), out;
  int was = nerve_net_training(n->net);
  nerve_net_set_training(n->net, 0);
  n->busy = 1;
  nerve_status s = nerve_net_forward(n->net, &x, &out);
  n->busy = 0;
  nerve_net_set_training(n->net, was);
  if (s == NERVE_ESHAPE || s == NERVE_EARG)
    return widtherror(L, "nerve.predict", n, &x);
  if (s != NERVE_OK) return ln_error(L, "nerve.predict", s);
  /* through a view: the allocation may run finalizers that move the
  ** buffers, and the view then raises instead of copying freed memory */
  ln_pushview(L, out, 1);
  int view = lua_gettop(L);
  lmat *u = ln_newmatrix(L, out.rows, out.cols);
  const nerve_mat *src = ln_checkmatrix(L, view);
  for (int i = 0; i < src->rows; i++)
    memcpy(u->m.data + (size_t)i * u->m.stride,
           src->data + (size_t)i * src->stride,
           (size_t)src->cols * sizeof(float));
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
  const char *path = ln_checkpath(L, 2, "nerve.save"); /* may convert: first */
  if (!path) return 2;
  lnet *n = ln_checknet(L, 1);
  errno = 0;
  n->busy = 1;
  nerve_status s = nerve_net_save(n->net, path);
  n->busy = 0;
  if (s == NERVE_ENOMEM) return ln_error(L, "nerve.save", s);
  if (s != NERVE_OK) {
    int e = errno;
    luaL_pushfail(L);
    lua_pushfstring(L, "%s: %s", path, ln_saveerror(e, s));
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
  lnet *n = ln_newnet(L);
  nerve_status s = nerve_net_deserialize(c->ctx, bytes, len, &n->net);
  if (s == NERVE_ENOMEM) return ln_error(L, "nerve.deserialize", s);
  if (s != NERVE_OK) {
    luaL_pushfail(L);
    lua_pushstring(L, loaderror(s));
    return 2;
  }
  ln_adoptlayers(L, lua_gettop(L));
  return 1;
}

static int l_load(lua_State *L) {
  lctx *c = ln_ctx(L);
  const char *path = ln_checkpath(L, 1, "nerve.load");
  if (!path) return 2;
  lnet *n = ln_newnet(L);
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
  ln_adoptlayers(L, lua_gettop(L));
  return 1;
}

static const luaL_Reg metameth[] = {{"__gc", net_gc},
                                    {"__close", net_close},
                                    {"__len", net_len},
                                    {"__tostring", net_tostring},
                                    {NULL, NULL}};
static const luaL_Reg meth[] = {
    {"add", net_add},
    {"forward", net_forward},
    {"backward", net_backward},
    {"zero_grad", net_zero_grad},
    {"update", net_update},
    {"grad_norm", net_grad_norm},
    {"clip_grad_norm", net_clip_grad_norm},
    {"layer", net_layer},
    {"parameters", net_parameters},
    {"gradients", net_gradients},
    {"num_parameters", net_num_parameters},
    {"n_in", net_n_in},
    {"n_out", net_n_out},
    {"clone", net_clone},
    {"copy_parameters", net_copy_parameters},
    {"training", net_training},
    {"evaluate", net_evaluate},
    {"is_training", net_is_training},
    {"predict", net_predict},
    {"precision", net_precision},
    {"serialize", net_serialize},
    {"save", net_save},
    {"close", net_close},
    {NULL, NULL}};

static const luaL_Reg funcs[] = {
    {"net", l_net},               {"is_net", l_is_net},
    {"precisions", l_precisions}, {"deserialize", l_deserialize},
    {"load", l_load},             {NULL, NULL}};

void ln_open_net(lua_State *L) {
  ln_createmeta(L, LN_NET, metameth, meth);
  lua_pushvalue(L, lua_upvalueindex(1));
  luaL_setfuncs(L, funcs, 1);
}
