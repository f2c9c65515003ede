/*
** lnerve.h - shared pieces of the Lua binding (nerve.core): the per-state
** context, the userdata types and their checkers. The binding turns engine
** statuses into Lua errors and holds no numerics of its own.
*/
#ifndef LNERVE_H
#define LNERVE_H

#include <lauxlib.h>
#include <lua.h>

#include "nerve.h"

#define LN_MATRIX "nerve.Matrix"
#define LN_LAYER "nerve.Layer"
#define LN_NET "nerve.Net"
#define LN_OPTIM "nerve.Optimizer"
#define LN_PERM "nerve.Permutation"
#define LN_RNG "nerve.Generator"
#define LN_CONTEXT "nerve.context"

/* One per lua_State: the engine context, and the thread now running,
** which the allocator hook needs (it anchors blocks in that state). Every
** binding function reaches it as upvalue 1 through ln_ctx. */
typedef struct lctx {
  nerve_ctx *ctx;
  lua_State *L;
  size_t blocks, bytes; /* engine memory now held (core.memory) */
  int inalloc;          /* > 0 while the allocator hook makes a block */
} lctx;

/* How a matrix userdata holds its storage. */
enum { LM_OWN, LM_VIEW, LM_NETBUF };

/* A matrix: owned storage follows the struct; a view keeps its owner
** (a matrix or a layer) alive in its user value; a network buffer view
** is valid while the network's buffers have not moved since it was made. */
typedef struct lmat {
  nerve_mat m;
  int kind;
  size_t epoch;    /* LM_NETBUF: nerve_net_buffer_epoch when made */
  struct lnet *net; /* LM_NETBUF: the network (user value keeps it) */
  struct llayer *layer; /* LM_VIEW of a layer's storage: the layer */
} lmat;

typedef struct llayer {
  nerve_layer *l;
} llayer;

/* User values: 1 = table of layer userdata in order, 2 = cached output
** view, 3 = cached input-gradient view. */
typedef struct lnet {
  nerve_net *net; /* NULL once closed */
  int busy;       /* guards against re-entry from a finalizer */
} lnet;

typedef struct loptim {
  nerve_optim *opt;
  int kind; /* 0 sgd, 1 adam */
} loptim;

typedef struct lperm {
  int n;
  int32_t idx[1]; /* n entries, 0-based rows */
} lperm;

typedef struct lrng {
  nerve_rng r;
} lrng;

/* lnerve.c */
lctx *ln_ctx(lua_State *L);
lctx *ln_ctx_gc(lua_State *L);
int ln_error(lua_State *L, const char *fn, nerve_status s);
void ln_register(lua_State *L, const char *tname, const luaL_Reg *meta,
                 const luaL_Reg *methods);
lua_Integer ln_checkdim(lua_State *L, int arg, const char *what);
#define LN_FLOATBUF 32
const char *ln_float(char buf[LN_FLOATBUF], float v);
/* "" or "s": the plural ending for a count in a message */
#define LN_S(n) ((n) == 1 ? "" : "s")

/* lmatrix.c */
lmat *ln_newmat(lua_State *L, int rows, int cols);
void ln_pushview(lua_State *L, nerve_mat m, int owner);
void ln_pushnetbuf(lua_State *L, nerve_mat m, int netidx);
nerve_mat *ln_checkmat(lua_State *L, int arg);
nerve_mat *ln_tomat(lua_State *L, int arg);
nerve_mat ln_checkinput(lua_State *L, int arg, const char *fn);
void ln_open_matrix(lua_State *L);

/* lnet.c */
lnet *ln_checknet(lua_State *L, int arg);
void ln_open_net(lua_State *L);
void ln_newnet(lua_State *L);
void ln_adoptlayers(lua_State *L, int idx);

/* ltrain.c */
void ln_open_train(lua_State *L);

/* ldata.c */
void ln_open_data(lua_State *L);
/* lmode.c (training/evaluation modes, predict; layer parameters) */
const char *ln_kind_param(nerve_kind k);
void ln_open_mode(lua_State *L);

/* loptim.c (more optimizers, clipping, optimizer state) */
void ln_add_methods(lua_State *L, const char *tname, const luaL_Reg *m);
void ln_open_optim(lua_State *L);

/* lckpt.c (checkpoint helpers: CRC, atomic write, generator states) */
void ln_open_ckpt(lua_State *L);

#endif
