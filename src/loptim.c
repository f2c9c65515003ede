/*
** loptim.c - the optimizers beyond sgd and adam (adamw, rmsprop, adagrad,
** rprop), gradient clipping, and the optimizer state that checkpoints
** save and restore. Optimizers are the same nerve.Optimizer userdata as
** ltrain.c's; the Lua layer (lua/nerve/optim.lua) checks the options.
*/
#include <string.h>

#include "lnerve.h"

static float num(lua_State *L, int arg) {
  return (float)luaL_checknumber(L, arg);
}

/* A closed optimizer userdata holding the network at 1 (for safety). */
static loptim *newoptim(lua_State *L) {
  loptim *o = (loptim *)lua_newuserdatauv(L, sizeof(loptim), 1);
  o->opt = NULL;
  o->kind = 2;
  luaL_setmetatable(L, LN_OPTIM);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, -2, 1);
  return o;
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

static loptim *checkoptim(lua_State *L, int arg) {
  loptim *o = (loptim *)luaL_checkudata(L, arg, LN_OPTIM);
  if (o->opt == NULL) luaL_error(L, "nerve.Optimizer: closed");
  return o;
}

/* core.optim_name(opt) */
static int l_optim_name(lua_State *L) {
  lua_pushstring(L, nerve_optim_name(checkoptim(L, 1)->opt));
  return 1;
}

/* core.optim_state(opt) -> steps, bytes: the state floats as a string
** of little-endian float32 (written byte by byte: any host). */
static int l_optim_state(lua_State *L) {
  loptim *o = checkoptim(L, 1);
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
  loptim *o = checkoptim(L, 1);
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

/* net:clip_grad_norm(max) -> the norm before clipping */
static int net_clip_grad_norm(lua_State *L) {
  lnet *n = ln_checknet(L, 1);
  lua_Number max = luaL_checknumber(L, 2);
  luaL_argcheck(L, max >= 0 && max < 1e300, 2,
                "max norm must be a finite number >= 0");
  lua_pushnumber(L, nerve_net_clip_grad_norm(n->net, max));
  return 1;
}

static const luaL_Reg funcs[] = {{"adamw", l_adamw},
                                 {"rmsprop", l_rmsprop},
                                 {"adagrad", l_adagrad},
                                 {"rprop", l_rprop},
                                 {"optim_name", l_optim_name},
                                 {"optim_state", l_optim_state},
                                 {"optim_set_state", l_optim_set_state},
                                 {NULL, NULL}};

static const luaL_Reg net_methods[] = {
    {"clip_grad_norm", net_clip_grad_norm}, {NULL, NULL}};

/* Adds methods to the method table of metatable tname. */
void ln_add_methods(lua_State *L, const char *tname, const luaL_Reg *m) {
  luaL_getmetatable(L, tname);
  if (lua_getfield(L, -1, "__index") != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_getfield(L, -1, "methods");
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  luaL_setfuncs(L, m, 1);
  lua_pop(L, 2);
}

void ln_open_optim(lua_State *L) {
  ln_add_methods(L, LN_NET, net_methods);
  lua_pushvalue(L, lua_upvalueindex(1));
  luaL_setfuncs(L, funcs, 1);
}
