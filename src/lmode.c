/*
** lmode.c - a network's training and evaluation modes (dropout acts only
** while training), its precision (fp32 or bf16 matrix products),
** net:predict, and the names of the layers' parameters.
*/
#include <string.h>

#include "lnerve.h"

/* The name under which a layer of kind k shows its parameter (the
** engine's alpha), or NULL when it has none. */
const char *ln_kind_param(nerve_kind k) {
  switch (k) {
  case NERVE_LEAKY_RELU: return "alpha";
  case NERVE_DROPOUT: return "p";
  case NERVE_ELU: return "alpha";
  case NERVE_SIGMOID_SYMMETRIC: return "steepness";
  default: return NULL;
  }
}

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
  if (s == NERVE_ESHAPE || s == NERVE_EARG) {
    if (nerve_net_count(n->net) == 0)
      return luaL_error(L, "nerve.predict: the network has no layers");
    return luaL_error(L, "nerve.predict: input has %d column%s, network "
                         "expects %d", x.cols, LN_S(x.cols),
                      nerve_net_n_in(n->net));
  }
  if (s != NERVE_OK) return ln_error(L, "nerve.predict", s);
  /* through a view: the allocation may run finalizers that move the
  ** buffers, and the view then raises instead of copying freed memory */
  ln_pushnetbuf(L, out, 1);
  int view = lua_gettop(L);
  lmat *u = ln_newmat(L, out.rows, out.cols);
  const nerve_mat *src = ln_checkmat(L, view);
  for (int i = 0; i < src->rows; i++)
    memcpy(u->m.data + (size_t)i * u->m.stride,
           src->data + (size_t)i * src->stride,
           (size_t)src->cols * sizeof(float));
  return 1;
}

static const luaL_Reg net_methods[] = {{"training", net_training},
                                       {"evaluate", net_evaluate},
                                       {"is_training", net_is_training},
                                       {"predict", net_predict},
                                       {"precision", net_precision},
                                       {NULL, NULL}};

static const luaL_Reg funcs[] = {{"precisions", l_precisions}, {NULL, NULL}};

void ln_open_mode(lua_State *L) {
  ln_add_methods(L, LN_NET, net_methods);
  lua_pushvalue(L, lua_upvalueindex(1));
  luaL_setfuncs(L, funcs, 1);
}
