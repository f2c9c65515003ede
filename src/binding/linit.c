/*
** linit.c - luaopen_nerve_core, as Lua's linit.c opens the standard
** libraries: the only file that knows every type of the binding. It makes
** (or finds) the state's context and has each file register its type and
** functions in the module table.
*/
#include "lnerve.h"

/* The openers, in order; each adds to the module table on the top. */
static void (*const openers[])(lua_State *L) = {
    ln_open_engine, ln_open_rng,   ln_open_perm,  ln_open_matrix,
    ln_open_layer,  ln_open_net,   ln_open_optim, ln_open_train,
    ln_open_data,   ln_open_ckpt};

/* Builds the module table; runs with the context as upvalue 1, which
** every function and method the openers register receives too. */
static int setup(lua_State *L) {
  lua_newtable(L);
  lua_pushliteral(L, NERVE_VERSION);
  lua_setfield(L, -2, "version");
  for (size_t i = 0; i < sizeof openers / sizeof openers[0]; i++)
    openers[i](L);
  return 1;
}

int luaopen_nerve_core(lua_State *L) {
  ln_getcontext(L);
  lua_pushcclosure(L, setup, 1);
  lua_call(L, 0, 1);
  return 1;
}
