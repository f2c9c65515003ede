/*
** lnerve.h - the one header of the Lua binding (nerve.core): the
** per-state context, the userdata types, the hub's shared helpers, and
** each type's checker and creator. Binding files include it, nerve.h and
** the public nerve_lua.h (both through it), Lua's and libc's headers,
** and nothing of the engine's insides.
**
** The arrows point one way, as in Lua's own liolib.c and linit.c. linit.c
** (luaopen_nerve_core) is the only file that knows every type: it calls
** each type file's opener. A type file calls the hub (lnerve.c), and,
** where it needs another type, only that type's checker or creator
** declared here; the hub calls no type file. The binding turns engine
** statuses into Lua errors and holds no numerics of its own.
*/
#ifndef LNERVE_H
#define LNERVE_H

#include <lauxlib.h>
#include <lua.h>

#include "nerve.h"
#include "nerve_lua.h"

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
  nerve_optim *opt; /* NULL until made, and once collected */
} loptim;

typedef struct lperm {
  int n;
  int32_t idx[1]; /* n entries, 0-based rows */
} lperm;

typedef struct lrng {
  nerve_rng r;
} lrng;

/* ---------------------------------------------------- lnerve.c (hub) */

lctx *ln_getcontext(lua_State *L);
lctx *ln_ctx(lua_State *L);
lctx *ln_ctx_gc(lua_State *L);
int ln_error(lua_State *L, const char *fn, nerve_status s);
void ln_createmeta(lua_State *L, const char *tname, const luaL_Reg *metameth,
                   const luaL_Reg *meth);
lua_Integer ln_checkdim(lua_State *L, int arg, const char *what);
double ln_checkclip(lua_State *L, int arg);
/* The path at arg, or NULL after pushing nil and a message naming fn: a
** path holding a NUL byte would name another file (the C library stops at
** it), an empty one none. */
const char *ln_checkpath(lua_State *L, int arg, const char *fn);
/* Why a save failed with s and errno e (EINVAL: the path names a device,
** FIFO or socket, which a save never replaces). */
const char *ln_saveerror(int e, nerve_status s);
#define LN_FLOATBUF 32
const char *ln_float(char buf[LN_FLOATBUF], float v);
/* "" or "s": the plural ending for a count in a message */
#define LN_S(n) ((n) == 1 ? "" : "s")

/* ------------------------------- the types: checkers and creators */

/* lmatrix.c: nerve.Matrix */
nerve_mat *ln_checkmatrix(lua_State *L, int arg);
nerve_mat ln_checkinput(lua_State *L, int arg, const char *fn);
lmat *ln_newmatrix(lua_State *L, int rows, int cols);
void ln_pushview(lua_State *L, nerve_mat m, int owner);

/* llayer.c: nerve.Layer */
llayer *ln_checklayer(lua_State *L, int arg);
void ln_pushlayer(lua_State *L, nerve_layer *l);
void ln_describelayer(lua_State *L, nerve_layer *l);

/* lnet.c: nerve.Net */
lnet *ln_checknet(lua_State *L, int arg);
lnet *ln_newnet(lua_State *L);
void ln_adoptlayers(lua_State *L, int idx);

/* loptim.c: nerve.Optimizer */
loptim *ln_checkoptim(lua_State *L, int arg);

/* lperm.c: nerve.Permutation */
lperm *ln_checkperm(lua_State *L, int arg);
lperm *ln_newperm(lua_State *L, int capacity);

/* lrng.c: nerve.Generator */
lrng *ln_checkrng(lua_State *L, int arg);

/* ------------------------------------ the openers (called by linit.c) */

/* Each registers its type's metatable and adds its functions to the
** module table on the top of the stack; they run with the context as
** upvalue 1. */
void ln_open_engine(lua_State *L); /* lengine.c: seed, isa, threads, ... */
void ln_open_rng(lua_State *L);
void ln_open_perm(lua_State *L);
void ln_open_matrix(lua_State *L);
void ln_open_layer(lua_State *L);
void ln_open_net(lua_State *L);
void ln_open_optim(lua_State *L);
void ln_open_train(lua_State *L); /* ltrain.c: losses, training steps */
void ln_open_data(lua_State *L);  /* ldata.c: loaders, metrics */
void ln_open_ckpt(lua_State *L);  /* lckpt.c: CRC-32, atomic write */

#endif
