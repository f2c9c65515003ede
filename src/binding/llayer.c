/*
** llayer.c - nerve.Layer: linear layers (their parameters and gradients
** as views sharing the layer's storage, weight initialisation) and
** activation layers. A network holds its layers by reference, so one
** layer userdata may be reached from Lua and from a network at once.
*/
#include <string.h>

#include "lnerve.h"

llayer *ln_checklayer(lua_State *L, int arg) {
  llayer *u = (llayer *)luaL_checkudata(L, arg, LN_LAYER);
  /* a finalizer may reach a layer whose own finalizer already ran */
  if (u->l == NULL) luaL_error(L, "nerve.Layer: the layer was collected");
  return u;
}

/* Pushes a layer userdata holding no layer yet: its finalizer then has
** nothing to release if making the engine layer fails. */
static llayer *newlayer(lua_State *L) {
  llayer *u = (llayer *)lua_newuserdatauv(L, sizeof(llayer), 0);
  u->l = NULL;
  luaL_setmetatable(L, LN_LAYER);
  return u;
}

/* Pushes a new layer userdata holding one reference to l. */
void ln_pushlayer(lua_State *L, nerve_layer *l) {
  llayer *u = newlayer(L);
  nerve_layer_retain(l);
  u->l = l;
}

/* The name under which a layer of kind k shows its parameter (the
** engine's alpha), or NULL when it has none. */
static const char *kind_param(nerve_kind k) {
  switch (k) {
  case NERVE_LEAKY_RELU: return "alpha";
  case NERVE_DROPOUT: return "p";
  case NERVE_ELU: return "alpha";
  case NERVE_SIGMOID_SYMMETRIC: return "steepness";
  default: return NULL;
  }
}

static int l_linear(lua_State *L) {
  lctx *c = ln_ctx(L);
  int n_in = (int)ln_checkdim(L, 1, "n_in");
  int n_out = (int)ln_checkdim(L, 2, "n_out");
  llayer *u = newlayer(L);
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
  llayer *u = newlayer(L);
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
  llayer *u = ln_checklayer(L, 1);
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

/* Pushes what l is: "linear(2 -> 3)", "leaky_relu(0.01)", "relu". */
void ln_describelayer(lua_State *L, nerve_layer *l) {
  nerve_kind k = nerve_layer_kind(l);
  if (k == NERVE_LINEAR)
    lua_pushfstring(L, "linear(%d -> %d)", nerve_layer_n_in(l),
                    nerve_layer_n_out(l));
  else if (kind_param(k)) {
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
  ln_describelayer(L, u->l);
  lua_concat(L, 2);
  return 1;
}

/* Fields: weight, bias, grad_weight, grad_bias (views sharing the
** layer's storage), kind, n_in, n_out, alpha; then the methods. */
static int layer_index(lua_State *L) {
  llayer *u = ln_checklayer(L, 1);
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
  const char *pname = kind_param(nerve_layer_kind(l));
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

static const luaL_Reg metameth[] = {{"__gc", layer_gc},
                                    {"__index", layer_index},
                                    {"__newindex", layer_newindex},
                                    {"__tostring", layer_tostring},
                                    {NULL, NULL}};
static const luaL_Reg meth[] = {{"init", layer_init}, {NULL, NULL}};

static const luaL_Reg funcs[] = {{"linear", l_linear},
                                 {"activation", l_activation},
                                 {"is_layer", l_is_layer},
                                 {NULL, NULL}};

void ln_open_layer(lua_State *L) {
  ln_createmeta(L, LN_LAYER, metameth, meth);
  lua_pushvalue(L, lua_upvalueindex(1));
  luaL_setfuncs(L, funcs, 1);
}
