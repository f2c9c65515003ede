/*
** ltrain.c - the training entry points nerve.fit drives: the built-in
** losses, one mini-batch step, whole epochs in C, the validation loss and
** accuracy, and the checks of data for NaN and infinity. The networks,
** optimizers and permutations they take are the other files' types.
*/
#include <string.h>
#include <time.h>

#include "lnerve.h"

/* ------------------------------------------------------------- losses */

/* The loss at arg: a built-in loss's name, or a loss object whose name
** field is one. */
static nerve_loss checkloss(lua_State *L, int arg) {
  const char *name = NULL;
  if (lua_type(L, arg) == LUA_TTABLE) {
    lua_getfield(L, arg, "name");
    name = lua_tostring(L, -1);
    lua_pop(L, 1);
  } else name = lua_tostring(L, arg);
  for (int k = 0; name && k < NERVE_LOSS_COUNT; k++)
    if (strcmp(name, nerve_loss_name((nerve_loss)k)) == 0) return (nerve_loss)k;
  luaL_argerror(L, arg, name ? lua_pushfstring(L, "unknown loss '%s'", name)
                             : "loss expected");
  return NERVE_MSE;
}

/* Targets at arg: a matrix, a Lua array of class indices (an N x 1
** column) or a table of rows; a table is replaced on the stack by the
** matrix made from it. */
static nerve_mat *checktargets(lua_State *L, int arg) {
  if (lua_type(L, arg) != LUA_TTABLE) return ln_checkmatrix(L, arg);
  lua_Integer n = luaL_len(L, arg);
  if (n >= 1 && lua_rawgeti(L, arg, 1) != LUA_TTABLE) {
    lua_pop(L, 1);
    if (n > NERVE_MAX_DIM) luaL_argerror(L, arg, "too many targets");
    lmat *u = ln_newmatrix(L, (int)n, 1);
    for (lua_Integer i = 0; i < n; i++) {
      lua_rawgeti(L, arg, i + 1);
      int ok;
      lua_Number v = lua_tonumberx(L, -1, &ok);
      if (!ok)
        luaL_argerror(L, arg, lua_pushfstring(L, "target %I is %s, expected "
                                                 "a number", i + 1,
                                              luaL_typename(L, -1)));
      u->m.data[i] = (float)v;
      lua_pop(L, 1);
    }
    lua_replace(L, arg);
    return &u->m;
  }
  if (n >= 1) lua_pop(L, 1);
  ln_checkinput(L, arg, "nerve.loss");
  return ln_checkmatrix(L, arg);
}

/* Raises the error of a target check; fn names the caller. */
static int targeterror(lua_State *L, const char *fn, nerve_loss k,
                       nerve_status s, const nerve_mat *yhat,
                       const nerve_mat *y) {
  if (s == NERVE_ENAN)
    return luaL_error(L, "%s: targets contain NaN or infinity", fn);
  if (s == NERVE_EARG)
    return luaL_error(L, "%s: targets must be class indices 1..%d", fn,
                      yhat->cols);
  if (s == NERVE_ESHAPE && k == NERVE_CROSS_ENTROPY)
    return luaL_error(L, "%s: targets are %d x %d, expected %d x 1 class "
                         "indices or %d x %d one-hot",
                      fn, y->rows, y->cols, yhat->rows, yhat->rows, yhat->cols);
  if (s == NERVE_ESHAPE)
    return luaL_error(L, "%s: targets are %d x %d, predictions %d x %d", fn,
                      y->rows, y->cols, yhat->rows, yhat->cols);
  return ln_error(L, fn, s);
}

static const char *lossfn(nerve_loss k, int backward) {
  static const char *const names[NERVE_LOSS_COUNT][2] = {
      {"nerve.mse:forward", "nerve.mse:backward"},
      {"nerve.cross_entropy:forward", "nerve.cross_entropy:backward"},
      {"nerve.bce:forward", "nerve.bce:backward"}};
  return names[k][backward];
}

/* loss:forward(yhat, y) and loss:backward(yhat, y) of the built-in losses
** (also callable as core.loss_forward(name, yhat, y)). */
static int l_loss_forward(lua_State *L) {
  nerve_loss k = checkloss(L, 1);
  ln_checkmatrix(L, 2);
  nerve_mat *y = checktargets(L, 3); /* may allocate: before yhat */
  nerve_mat *yhat = ln_checkmatrix(L, 2);
  double e;
  nerve_status s = nerve_loss_check(k, yhat, y);
  if (s == NERVE_OK) s = nerve_loss_forward(k, yhat, y, &e);
  if (s != NERVE_OK) return targeterror(L, lossfn(k, 0), k, s, yhat, y);
  lua_pushnumber(L, e);
  return 1;
}

static int l_loss_backward(lua_State *L) {
  nerve_loss k = checkloss(L, 1);
  ln_checkmatrix(L, 2);
  nerve_mat *y = checktargets(L, 3); /* may allocate: before yhat */
  nerve_mat *yhat = ln_checkmatrix(L, 2);
  nerve_status s = nerve_loss_check(k, yhat, y);
  if (s != NERVE_OK) return targeterror(L, lossfn(k, 1), k, s, yhat, y);
  lmat *g = ln_newmatrix(L, yhat->rows, yhat->cols);
  yhat = ln_checkmatrix(L, 2); /* again: the allocation may run finalizers */
  y = ln_checkmatrix(L, 3);
  s = nerve_loss_backward(k, yhat, y, &g->m);
  if (s != NERVE_OK) return targeterror(L, lossfn(k, 1), k, s, yhat, y);
  return 1;
}

/* ---------------------------------------------------------- training */

/* Raises unless the optimizer at arg was made for the network at netarg:
** it would step the other network's parameters and train nothing here. */
static void checkowner(lua_State *L, int arg, int netarg) {
  lua_getiuservalue(L, arg, 1);
  int same = lua_rawequal(L, -1, netarg);
  lua_pop(L, 1);
  if (!same)
    luaL_error(L, "nerve.fit: the optimizer belongs to another network");
}

/* Raises the error of a failed training call. */
static int fiterror(lua_State *L, nerve_net *net, nerve_loss k,
                    nerve_status s, const nerve_mat *x, const nerve_mat *y) {
  if (s == NERVE_ESHAPE && nerve_net_n_in(net) && x->cols != nerve_net_n_in(net))
    return luaL_error(L, "nerve.fit: input has %d column%s, network expects "
                      "%d", x->cols, LN_S(x->cols), nerve_net_n_in(net));
  if (s == NERVE_EARG && nerve_net_count(net) == 0)
    return luaL_error(L, "nerve.fit: the network has no layers");
  int r, c;
  if (s == NERVE_ENAN && nerve_mat_nonfinite(x, &r, &c))
    return luaL_error(L, "nerve.fit: x has NaN or infinity at row %d, column "
                         "%d", r + 1, c + 1);
  nerve_mat yhat = {NULL, y->rows, nerve_net_n_out(net), 0};
  return targeterror(L, "nerve.fit", k, s, &yhat, y);
}

/* loss, grad_norm = core.train_batch(net, loss, x, y, perm, first, count,
** opt [, clip [, norm]]): one mini-batch step on rows first..first+count-1
** of perm (or of x and y when perm is nil); clip, when given, is the
** optimizer's gradient norm limit for this step. norm = false skips the
** gradient norm (a pass over every gradient): grad_norm is then nil, unless
** the loss is not finite. */
static int l_train_batch(lua_State *L) {
  ln_ctx(L);
  ln_checknet(L, 1);
  nerve_loss k = checkloss(L, 2); /* may run Lua code (__index): first */
  lnet *n = ln_checknet(L, 1);
  nerve_mat *x = ln_checkmatrix(L, 3), *y = ln_checkmatrix(L, 4);
  lperm *p = lua_isnil(L, 5) ? NULL : ln_checkperm(L, 5);
  lua_Integer first = luaL_checkinteger(L, 6), count = luaL_checkinteger(L, 7);
  loptim *o = lua_isnoneornil(L, 8) ? NULL : ln_checkoptim(L, 8);
  if (o) checkowner(L, 8, 1);
  lua_Integer limit = p ? p->n : x->rows;
  luaL_argcheck(L, first >= 1 && count >= 1 && first - 1 + count <= limit, 7,
                "batch out of range");
  if (x->rows != y->rows)
    return luaL_error(L, "nerve.fit: x has %d row%s, targets have %d", x->rows,
                      LN_S(x->rows), y->rows);
  /* optional clip: the optimizer clips inside its step for this call */
  double clip = lua_isnoneornil(L, 9) ? -1 : ln_checkclip(L, 9);
  double old_clip = o && clip >= 0 ? nerve_optim_clip(o->opt) : 0;
  if (o && clip >= 0) nerve_optim_set_clip(o->opt, clip);
  int norm = lua_isnoneornil(L, 10) || lua_toboolean(L, 10);
  double e = 0, gn = 0;
  n->busy = 1;
  nerve_status s = nerve_net_train_batch(
      n->net, k, x, y, p ? p->idx + (first - 1) : NULL,
      p ? 0 : (int)(first - 1), (int)count, o ? o->opt : NULL, &e,
      norm ? &gn : NULL);
  n->busy = 0;
  if (o && clip >= 0) nerve_optim_set_clip(o->opt, old_clip);
  if (s != NERVE_OK) return fiterror(L, n->net, k, s, x, y);
  lua_pushnumber(L, e);
  if (!norm && e - e != 0) { /* diverged: fit reports this step's norm */
    norm = 1;
    gn = nerve_net_grad_norm(n->net);
  }
  if (norm) lua_pushnumber(L, gn);
  else lua_pushnil(L);
  return 2;
}

/* done, loss, grad_norm, stopped = core.train_epochs(net, loss, x, y, perm,
** shuffle, batch, opt, clip, first, epochs, history, loss_below,
** norm_below, snapshot, x_finite): up to `epochs` whole epochs in C (nerve.fit's
** path when no Lua code needs to see an epoch). perm: nil (rows in order)
** or the permutation to walk; shuffle: a generator, true (the state's) or
** false; clip, loss_below, norm_below, snapshot: nil for none; x_finite:
** true when the caller has checked x for NaN and infinity. Epoch i's
** loss goes to history[first + i - 1]; loss and grad_norm are the last
** epoch's. stopped: "epochs", "diverged" or "criterion" (loss_below or
** norm_below held).
**
** A long run lets Lua's hooks run between two batches: at once when the
** thread's hook changes (the standalone interpreter sets one on SIGINT)
** and at least every PAUSE_SECONDS otherwise. The run pauses in the
** engine, calls a Lua function, and goes on; the hook's error (Lua's
** "interrupted!") leaves the network as after a whole number of batches,
** and history holds every whole epoch. A hook may also yield (lua_callk):
** the run goes on when the coroutine is resumed. */
#define CHUNK 128 /* epochs per engine call: history is written between */
#define PAUSE_SECONDS 0.05
#define RUN_SLOT 17 /* the run's userdata, once it has paused */
#define LN_POLL "nerve.poll"

typedef struct train_run {
  nerve_epochs e;
  double losses[CHUNK];
  lua_Integer first, epochs, done;
  double clip;
  lnet *net, *snap;
  loptim *opt;
  /* pausing: the hook when the run last went on, and the clock, read
  ** every `stride` polls so that a read costs nothing beside a step */
  lua_State *L;
  lua_Hook hook;
  int mask, count, stride, left;
  double since, read;
} train_run;

static double optnum(lua_State *L, int arg) {
  return lua_isnoneornil(L, arg) ? 0 : luaL_checknumber(L, arg);
}

static double seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* The engine's poll: pause when the hook changed or PAUSE_SECONDS passed;
** the stride doubles while reads come closer than 1 ms, halves past 4. */
static int poll(void *ud) {
  train_run *r = ud;
  lua_State *L = r->L;
  if (lua_gethook(L) != r->hook || lua_gethookmask(L) != r->mask ||
      lua_gethookcount(L) != r->count)
    return 1;
  if (--r->left > 0) return 0;
  double t = seconds(), gap = t - r->read;
  r->read = t;
  if (gap < 1e-3 && r->stride < 1 << 20) r->stride *= 2;
  else if (gap > 4e-3 && r->stride > 1) r->stride /= 2;
  r->left = r->stride;
  return t - r->since >= PAUSE_SECONDS;
}

/* The arguments, checked and put into r->e: at the start and again after
** every pause, as the Lua code that ran may have changed them. */
static void checkargs(lua_State *L, train_run *r) {
  lctx *c = ln_ctx(L);
  ln_checknet(L, 1);
  nerve_loss k = checkloss(L, 2); /* may run Lua code (__index): first */
  lnet *n = ln_checknet(L, 1);
  nerve_mat *x = ln_checkmatrix(L, 3), *y = ln_checkmatrix(L, 4);
  lperm *p = lua_isnil(L, 5) ? NULL : ln_checkperm(L, 5);
  nerve_rng *g = NULL;
  if (lua_isuserdata(L, 6)) g = &ln_checkrng(L, 6)->r;
  else if (lua_toboolean(L, 6)) g = nerve_ctx_rng(c->ctx);
  luaL_argcheck(L, !g || p, 6, "shuffling needs a permutation");
  lua_Integer batch = luaL_checkinteger(L, 7);
  luaL_argcheck(L, batch >= 1 && batch <= NERVE_MAX_DIM, 7, "batch out of range");
  loptim *o = ln_checkoptim(L, 8);
  checkowner(L, 8, 1);
  r->clip = lua_isnoneornil(L, 9) ? -1 : ln_checkclip(L, 9);
  r->first = luaL_checkinteger(L, 10);
  r->epochs = luaL_checkinteger(L, 11);
  luaL_argcheck(L, r->epochs >= 0 && r->first >= 1 &&
                       r->first <= INT32_MAX - r->epochs,
                11, "epochs out of range");
  luaL_checktype(L, 12, LUA_TTABLE);
  lnet *snap = lua_isnoneornil(L, 15) ? NULL : ln_checknet(L, 15);
  if (x->rows != y->rows)
    luaL_error(L, "nerve.fit: x has %d row%s, targets have %d", x->rows,
               LN_S(x->rows), y->rows);
  nerve_epochs *e = &r->e;
  e->loss = k;
  e->x = x;
  e->y = y;
  e->order = p ? p->idx : NULL;
  e->n = p ? p->n : 0;
  e->x_finite = lua_toboolean(L, 16);
  e->shuffle = g;
  e->batch = (int)batch;
  e->opt = o->opt;
  e->loss_below = optnum(L, 13);
  e->norm_below = optnum(L, 14);
  e->snapshot = snap ? snap->net : NULL;
  e->losses = r->losses;
  e->poll = poll;
  e->poll_ud = r;
  r->net = n;
  r->snap = snap;
  r->opt = o;
}

static int dumpwriter(lua_State *L, const void *p, size_t size, void *ud) {
  luaL_Buffer *b = ud;
  if (b->L == NULL) luaL_buffinit(L, b); /* here: the function stays on top */
  luaL_addlstring(b, (const char *)p, size);
  return 0;
}

/* Pushes the function a paused run calls so that hooks run: a Lua one, as
** count and line hooks fire on Lua instructions only, stripped of its
** debug information so that a hook's error carries no position in nerve
** (Lua's interrupt then reads "interrupted!"). */
static void pushpoll(lua_State *L) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, LN_POLL) == LUA_TFUNCTION) return;
  lua_pop(L, 1);
  if (luaL_loadstring(L, "return") != LUA_OK) lua_error(L);
  luaL_Buffer b;
  b.L = NULL;
  lua_dump(L, dumpwriter, &b, 1);
  luaL_pushresult(&b);
  size_t len;
  const char *bin = lua_tolstring(L, -1, &len);
  if (luaL_loadbufferx(L, bin, len, "=nerve", "b") != LUA_OK) lua_error(L);
  lua_replace(L, -3);
  lua_pop(L, 1);
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, LN_POLL);
}

static int run(lua_State *L, train_run *r);

static int go_on(lua_State *L, int status, lua_KContext ctx) {
  (void)status;
  (void)ctx;
  return run(L, (train_run *)lua_touserdata(L, RUN_SLOT));
}

/* Engine calls of up to CHUNK epochs until the run ends, a pause between
** them letting Lua run. */
static int run(lua_State *L, train_run *r) {
  nerve_status s = NERVE_OK;
  nerve_epochs *e = &r->e;
  for (;;) {
    checkargs(L, r);
    r->L = L;
    r->hook = lua_gethook(L);
    r->mask = lua_gethookmask(L);
    r->count = lua_gethookcount(L);
    r->since = r->read = seconds();
    r->left = r->stride;
    lnet *n = r->net, *snap = r->snap;
    nerve_optim *o = r->opt->opt;
    double old_clip = nerve_optim_clip(o);
    while (r->done < r->epochs) {
      lua_Integer left = r->epochs - r->done;
      e->epochs = left < CHUNK ? (int)left : CHUNK;
      if (r->clip >= 0) nerve_optim_set_clip(o, r->clip);
      n->busy = 1;
      if (snap) snap->busy = 1;
      s = nerve_net_train_epochs(n->net, e);
      n->busy = 0;
      if (snap) snap->busy = 0;
      nerve_optim_set_clip(o, old_clip);
      for (int i = 0; i < e->done; i++) {
        lua_pushnumber(L, r->losses[i]);
        lua_rawseti(L, 12, r->first + r->done + i);
      }
      r->done += e->done;
      if (s || e->stopped != NERVE_STOP_EPOCHS) break;
    }
    if (s || e->stopped != NERVE_STOP_PAUSED) break;
    /* paused between two batches, the network in order: let Lua run */
    if (!lua_isuserdata(L, RUN_SLOT)) { /* a yield needs the run kept */
      train_run *u = (train_run *)lua_newuserdatauv(L, sizeof *u, 0);
      memcpy(u, r, sizeof *u);
      r = u;
      e = &r->e;
    }
    pushpoll(L);
    lua_callk(L, 0, 0, 0, go_on);
  }
  if (s != NERVE_OK && r->done == 0)
    return fiterror(L, r->net->net, e->loss, s, e->x, e->y);
  if (s != NERVE_OK) return ln_error(L, "nerve.fit", s);
  static const char *const why[] = {"epochs", "diverged", "criterion"};
  lua_pushinteger(L, r->done);
  lua_pushnumber(L, e->loss_out);
  lua_pushnumber(L, e->grad_norm);
  lua_pushstring(L, why[e->stopped]);
  return 4;
}

static int l_train_epochs(lua_State *L) {
  lua_settop(L, RUN_SLOT - 1);
  train_run r;
  memset(&r, 0, sizeof r);
  r.stride = 1;
  return run(L, &r);
}

/* Forward in evaluation mode (dropout off), leaving the mode as it was:
** losses and accuracies measure the network, not one draw of it. */
static nerve_status forward_eval(nerve_net *net, const nerve_mat *x,
                                 nerve_mat *out) {
  int was = nerve_net_training(net);
  nerve_net_set_training(net, 0);
  nerve_status s = nerve_net_forward(net, x, out);
  nerve_net_set_training(net, was);
  return s;
}

/* Mean loss over all rows of x, y, forward in chunks of rows. */
static int l_eval_loss(lua_State *L) {
  ln_ctx(L);
  ln_checknet(L, 1);
  nerve_loss k = checkloss(L, 2); /* may run Lua code (__index): first */
  lnet *n = ln_checknet(L, 1);
  nerve_mat *x = ln_checkmatrix(L, 3), *y = ln_checkmatrix(L, 4);
  if (x->rows != y->rows)
    return luaL_error(L, "nerve.fit: validation x has %d row%s, targets %d",
                      x->rows, LN_S(x->rows), y->rows);
  const int chunk = 256;
  double sum = 0;
  for (int r = 0; r < x->rows; r += chunk) {
    int b = x->rows - r < chunk ? x->rows - r : chunk;
    nerve_mat xs = {x->data + (size_t)r * x->stride, b, x->cols, x->stride};
    nerve_mat ys = {y->data + (size_t)r * y->stride, b, y->cols, y->stride};
    nerve_mat out;
    double e = 0;
    n->busy = 1;
    nerve_status s = forward_eval(n->net, &xs, &out);
    n->busy = 0;
    if (s == NERVE_ESHAPE || s == NERVE_EARG)
      return luaL_error(L, "nerve.fit: validation input has %d column%s, "
                           "network expects %d",
                        x->cols, LN_S(x->cols), nerve_net_n_in(n->net));
    if (s == NERVE_OK) s = nerve_loss_check(k, &out, &ys);
    if (s == NERVE_OK) s = nerve_loss_forward(k, &out, &ys, &e);
    if (s != NERVE_OK) return targeterror(L, "nerve.fit", k, s, &out, &ys);
    sum += e * b;
  }
  lua_pushnumber(L, sum / x->rows);
  return 1;
}

/* Index of the largest of n floats (the first on ties). */
static int argmax(const float *v, int n) {
  int best = 0;
  for (int j = 1; j < n; j++)
    if (v[j] > v[best]) best = j;
  return best;
}

/* Fraction of rows whose largest output is the target class: y holds
** class indices 1..C (N x 1) or one-hot rows (N x C). */
static int l_accuracy(lua_State *L) {
  ln_ctx(L);
  lnet *n = ln_checknet(L, 1);
  nerve_mat *x = ln_checkmatrix(L, 2), *y = ln_checkmatrix(L, 3);
  if (x->rows != y->rows)
    return luaL_error(L, "nerve.accuracy: x has %d row%s, targets %d", x->rows,
                      LN_S(x->rows), y->rows);
  const int chunk = 256;
  long right = 0;
  for (int r = 0; r < x->rows; r += chunk) {
    int b = x->rows - r < chunk ? x->rows - r : chunk;
    nerve_mat xs = {x->data + (size_t)r * x->stride, b, x->cols, x->stride};
    nerve_mat ys = {y->data + (size_t)r * y->stride, b, y->cols, y->stride};
    nerve_mat out;
    n->busy = 1;
    nerve_status s = forward_eval(n->net, &xs, &out);
    n->busy = 0;
    if (s == NERVE_ESHAPE || s == NERVE_EARG)
      return luaL_error(L, "nerve.accuracy: input has %d column%s, network "
                           "expects %d", x->cols, LN_S(x->cols),
                        nerve_net_n_in(n->net));
    if (s == NERVE_OK) s = nerve_loss_check(NERVE_CROSS_ENTROPY, &out, &ys);
    if (s != NERVE_OK)
      return targeterror(L, "nerve.accuracy", NERVE_CROSS_ENTROPY, s, &out, &ys);
    for (int i = 0; i < b; i++) {
      const float *o = out.data + (size_t)i * out.stride;
      const float *t = ys.data + (size_t)i * ys.stride;
      int want = ys.cols == 1 ? (int)t[0] - 1 : argmax(t, ys.cols);
      right += argmax(o, out.cols) == want;
    }
  }
  lua_pushnumber(L, (lua_Number)right / x->rows);
  return 1;
}

/* perm, dropped = core.finite_rows(x [, y]): the rows of x (and y) that
** hold only finite numbers, as a permutation in row order, and how many
** rows were left out; nil, 0 when every row is finite. */
static int l_finite_rows(lua_State *L) {
  nerve_mat *x = ln_checkmatrix(L, 1);
  nerve_mat *y = lua_isnoneornil(L, 2) ? NULL : ln_checkmatrix(L, 2);
  if (y && y->rows != x->rows)
    return luaL_error(L, "nerve.fit: x has %d row%s, targets have %d", x->rows,
                      LN_S(x->rows), y->rows);
  int rows = x->rows, bad = 0;
  lperm *p = ln_newperm(L, rows);
  x = ln_checkmatrix(L, 1); /* again: the allocation may run finalizers */
  if (y) y = ln_checkmatrix(L, 2);
  for (int i = 0; i < rows; i++) {
    nerve_mat xr = {x->data + (size_t)i * x->stride, 1, x->cols, x->cols};
    int ok = !nerve_mat_nonfinite(&xr, NULL, NULL);
    if (ok && y) {
      nerve_mat yr = {y->data + (size_t)i * y->stride, 1, y->cols, y->cols};
      ok = !nerve_mat_nonfinite(&yr, NULL, NULL);
    }
    if (ok) p->idx[p->n++] = i;
    else bad++;
  }
  if (bad == 0) lua_pushnil(L);
  else lua_pushvalue(L, -1);
  lua_pushinteger(L, bad);
  return 2;
}

/* row, col = core.nonfinite(m): the first NaN or infinity, or nil. */
static int l_nonfinite(lua_State *L) {
  int r, c;
  if (!nerve_mat_nonfinite(ln_checkmatrix(L, 1), &r, &c)) return 0;
  lua_pushinteger(L, r + 1);
  lua_pushinteger(L, c + 1);
  return 2;
}

static const luaL_Reg funcs[] = {{"loss_forward", l_loss_forward},
                                 {"loss_backward", l_loss_backward},
                                 {"train_batch", l_train_batch},
                                 {"train_epochs", l_train_epochs},
                                 {"eval_loss", l_eval_loss},
                                 {"accuracy", l_accuracy},
                                 {"finite_rows", l_finite_rows},
                                 {"nonfinite", l_nonfinite},
                                 {NULL, NULL}};

void ln_open_train(lua_State *L) {
  lua_pushvalue(L, lua_upvalueindex(1));
  luaL_setfuncs(L, funcs, 1);
}
