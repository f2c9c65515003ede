/*
** loptim.c - nerve.Optimizer: sgd, adam, adamw, rmsprop, adagrad and
** rprop, each made for one network whose parameters it steps; its fields
** (lr, clip, steps, kind, net), and the state that checkpoints save and
** restore. The Lua layer (lua/nerve/optim.lua) checks the options of the
** optimizers beyond sgd and adam.
*/
#include <string.h>

#include "lnerve.h"

loptim *ln_checkoptim(lua_State *L, int arg) {
  loptim *o = (loptim *)luaL_checkudata(L, arg, LN_OPTIM);
  if (o->opt == NULL) luaL_error(L, "nerve.Optimizer: closed");
  return o;
}

/* Pushes an optimizer userdata holding no optimizer yet, with the
** network at 1 as its user value (for net, tostring and safety). */
static loptim *newoptim(lua_State *L) {
  loptim *o = (loptim *)lua_newuserdatauv(L, sizeof(loptim), 1);
  o->opt = NULL;
  luaL_setmetatable(L, LN_OPTIM);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, -2, 1);
  return o;
}

static float checkrate(lua_State *L, int arg, const char *what) {
  lua_Number v = luaL_checknumber(L, arg);
  if (!(v >= 0 && v < 1e30))
    luaL_argerror(L, arg, lua_pushfstring(L, "%s must be a finite number >= 0",
                                          what));
  return (float)v;
}

/* core.sgd(net, lr, momentum, nesterov, weight_decay) */
static int l_sgd(lua_State *L) {
  ln_ctx(L);
  lnet *n = ln_checknet(L, 1);
  nerve_sgd_opts opts;
  opts.lr = checkrate(L, 2, "lr");
  opts.momentum = checkrate(L, 3, "momentum");
  opts.nesterov = lua_toboolean(L, 4);
  opts.weight_decay = checkrate(L, 5, "weight_decay");
  loptim *o = newoptim(L);
  n = ln_checknet(L, 1); /* newoptim may have run finalizers */
  n->busy = 1;
  nerve_status s = nerve_sgd_new(n->net, &opts, &o->opt);
  n->busy = 0;
  if (s != NERVE_OK) return ln_error(L, "nerve.sgd", s);
  return 1;
}

/* core.adam(net, lr, beta1, beta2, eps, weight_decay) */
static int l_adam(lua_State *L) {
  ln_ctx(L);
  lnet *n = ln_checknet(L, 1);
  nerve_adam_opts opts;
  opts.lr = checkrate(L, 2, "lr");
  opts.beta1 = checkrate(L, 3, "beta1");
  opts.beta2 = checkrate(L, 4, "beta2");
  opts.eps = checkrate(L, 5, "eps");
  opts.weight_decay = checkrate(L, 6, "weight_decay");
  luaL_argcheck(L, opts.beta1 < 1, 3, "beta1 must be < 1");
  luaL_argcheck(L, opts.beta2 < 1, 4, "beta2 must be < 1");
  loptim *o = newoptim(L);
  n = ln_checknet(L, 1);
  n->busy = 1;
  nerve_status s = nerve_adam_new(n->net, &opts, &o->opt);
  n->busy = 0;
  if (s != NERVE_OK) return ln_error(L, "nerve.adam", s);
  return 1;
}

static float num(lua_State *L, int arg) {
  return (float)luaL_checknumber(L, arg);
}

static int made(lua_State *L, const char *fn, nerve_status s) {
  if (s == NERVE_EARG)
    return luaL_error(L, "%s: an option is out of its range", fn);
  if (s != NERVE_OK) return ln_error(L, fn, s);
  return 1;
}

/* core.adamw(net, lr, beta1, beta2, eps, weight_decay) */
static int l_adamw(lua_State *L) {
  ln_ctx(L);
  lnet *n = ln_checknet(L, 1);
  nerve_adam_opts o = {num(L, 2), num(L, 3), num(L, 4), num(L, 5), num(L, 6)};
  loptim *u = newoptim(L);
  return made(L, "nerve.adamw", nerve_adamw_new(n->net, &o, &u->opt));
}

/* core.rmsprop(net, lr, alpha, eps, weight_decay, momentum, centered) */
static int l_rmsprop(lua_State *L) {
  ln_ctx(L);
  lnet *n = ln_checknet(L, 1);
  nerve_rmsprop_opts o = {num(L, 2), num(L, 3), num(L, 4),
                          num(L, 5), num(L, 6), lua_toboolean(L, 7)};
  loptim *u = newoptim(L);
  return made(L, "nerve.rmsprop", nerve_rmsprop_new(n->net, &o, &u->opt));
}

/* core.adagrad(net, lr, lr_decay, weight_decay, initial_accumulator, eps) */
static int l_adagrad(lua_State *L) {
  ln_ctx(L);
  lnet *n = ln_checknet(L, 1);
  nerve_adagrad_opts o = {num(L, 2), num(L, 3), num(L, 4), num(L, 5),
                          num(L, 6)};
  loptim *u = newoptim(L);
  return made(L, "nerve.adagrad", nerve_adagrad_new(n->net, &o, &u->opt));
}

/* core.rprop(net, increase, decrease, delta_min, delta_max, delta_zero,
** fann) */
static int l_rprop(lua_State *L) {
  ln_ctx(L);
  lnet *n = ln_checknet(L, 1);
  nerve_rprop_opts o = {num(L, 2), num(L, 3), num(L, 4),
                        num(L, 5), num(L, 6), lua_toboolean(L, 7)};
  loptim *u = newoptim(L);
  return made(L, "nerve.rprop", nerve_rprop_new(n->net, &o, &u->opt));
}

static int l_is_optimizer(lua_State *L) {
  lua_pushboolean(L, luaL_testudata(L, 1, LN_OPTIM) != NULL);
  return 1;
}

static int optim_step(lua_State *L) {
  ln_ctx(L);
  loptim *o = ln_checkoptim(L, 1);
  nerve_status s = nerve_optim_step(o->opt);
  if (s != NERVE_OK) return ln_error(L, "nerve.step", s);
  lua_settop(L, 1);
  return 1;
}

static int optim_gc(lua_State *L) {
  loptim *o = (loptim *)luaL_checkudata(L, 1, LN_OPTIM);
  if (o->opt) {
    ln_ctx_gc(L);
    nerve_optim_free(o->opt);
    o->opt = NULL;
  }
  return 0;
}

static int optim_index(lua_State *L) {
  loptim *o = ln_checkoptim(L, 1);
  const char *key = luaL_checkstring(L, 2);
  if (strcmp(key, "lr") == 0) lua_pushnumber(L, nerve_optim_lr(o->opt));
  else if (strcmp(key, "steps") == 0)
    lua_pushinteger(L, nerve_optim_steps(o->opt));
  else if (strcmp(key, "kind") == 0)
    lua_pushstring(L, nerve_optim_name(o->opt));
  else if (strcmp(key, "clip") == 0)
    lua_pushnumber(L, nerve_optim_clip(o->opt));
  else if (strcmp(key, "net") == 0) /* whose parameters it steps */
    lua_getiuservalue(L, 1, 1);
  else {
    lua_getmetatable(L, 1);
    lua_getfield(L, -1, "methods");
    lua_getfield(L, -1, key);
  }
  return 1;
}

static int optim_newindex(lua_State *L) {
  loptim *o = ln_checkoptim(L, 1);
  const char *key = luaL_checkstring(L, 2);
  if (strcmp(key, "clip") == 0) {
    nerve_optim_set_clip(o->opt, ln_checkclip(L, 3));
    return 0;
  }
  if (strcmp(key, "lr") != 0)
    return luaL_error(L, "nerve.Optimizer: field '%s' cannot be set (only lr "
                         "and clip)", key);
  if (strcmp(nerve_optim_name(o->opt), "rprop") == 0)
    return luaL_error(L, "nerve.Optimizer: rprop has no learning rate");
  nerve_optim_set_lr(o->opt, checkrate(L, 3, "lr"));
  return 0;
}

static int optim_tostring(lua_State *L) {
  loptim *o = ln_checkoptim(L, 1);
  if (strcmp(nerve_optim_name(o->opt), "rprop") == 0) /* no lr */
    lua_pushfstring(L, "nerve.rprop(steps=%I)",
                    (lua_Integer)nerve_optim_steps(o->opt));
  else {
    char lr[LN_FLOATBUF];
    lua_pushfstring(L, "nerve.%s(lr=%s, steps=%I)", nerve_optim_name(o->opt),
                    ln_float(lr, nerve_optim_lr(o->opt)),
                    (lua_Integer)nerve_optim_steps(o->opt));
  }
  return 1;
}

/* core.optim_name(opt) */
static int l_optim_name(lua_State *L) {
  lua_pushstring(L, nerve_optim_name(ln_checkoptim(L, 1)->opt));
  return 1;
}

/* core.optim_state(opt) -> steps, bytes: the state floats as a string
** of little-endian float32 (written byte by byte: any host). */
static int l_optim_state(lua_State *L) {
  loptim *o = ln_checkoptim(L, 1);
  size_t n = nerve_optim_state_size(o->opt);
  const float *st = nerve_optim_state(o->opt);
  luaL_Buffer b;
  unsigned char *p = (unsigned char *)luaL_buffinitsize(L, &b, 4 * n + 1);
  for (size_t i = 0; i < n; i++) {
    uint32_t u;
    memcpy(&u, &st[i], 4);
    for (int k = 0; k < 4; k++) p[4 * i + k] = (unsigned char)(u >> 8 * k);
  }
  luaL_pushresultsize(&b, 4 * n);
  lua_pushinteger(L, (lua_Integer)nerve_optim_steps(o->opt));
  lua_insert(L, -2);
  return 2;
}

/* core.optim_set_state(opt, steps, bytes) -> true, or false when the
** bytes do not fit this optimizer (another kind or other shapes). */
static int l_optim_set_state(lua_State *L) {
  loptim *o = ln_checkoptim(L, 1);
  lua_Integer t = luaL_checkinteger(L, 2);
  size_t len;
  const unsigned char *p =
      (const unsigned char *)luaL_checklstring(L, 3, &len);
  size_t n = nerve_optim_state_size(o->opt);
  if (len != 4 * n || t < 0) {
    lua_pushboolean(L, 0);
    return 1;
  }
  float *st = nerve_optim_state(o->opt);
  for (size_t i = 0; i < n; i++) {
    uint32_t u = 0;
    for (int k = 0; k < 4; k++) u |= (uint32_t)p[4 * i + k] << 8 * k;
    memcpy(&st[i], &u, 4);
  }
  nerve_optim_set_steps(o->opt, (long)t);
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg metameth[] = {{"__gc", optim_gc},
                                    {"__index", optim_index},
                                    {"__newindex", optim_newindex},
                                    {"__tostring", optim_tostring},
                                    {NULL, NULL}};
static const luaL_Reg meth[] = {{"step", optim_step}, {NULL, NULL}};

static const luaL_Reg funcs[] = {{"sgd", l_sgd},
                                 {"adam", l_adam},
                                 {"adamw", l_adamw},
                                 {"rmsprop", l_rmsprop},
                                 {"adagrad", l_adagrad},
                                 {"rprop", l_rprop},
                                 {"is_optimizer", l_is_optimizer},
                                 {"optim_name", l_optim_name},
                                 {"optim_state", l_optim_state},
                                 {"optim_set_state", l_optim_set_state},
                                 {NULL, NULL}};

void ln_open_optim(lua_State *L) {
  ln_createmeta(L, LN_OPTIM, metameth, meth);
  lua_pushvalue(L, lua_upvalueindex(1));
  luaL_setfuncs(L, funcs, 1);
}
