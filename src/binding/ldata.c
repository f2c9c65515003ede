/*
** ldata.c - the data loaders and row helpers for Lua (nerve.core.data_*)
** and the evaluation metrics (core.metric_errors, core.confusion).
** A loader's engine buffers are held by a closed-first userdata, so a
** memory error while the result matrices are made leaks nothing; a bad
** file returns nil, "fn: path:line: what was expected".
*/
#include <errno.h>
#include <string.h>

#include "lnerve.h"

#define LN_DATABUF "nerve.DataBuffer"

typedef struct ldbuf {
  nerve_data d;
  nerve_ctx *ctx;
} ldbuf;

static int dbuf_gc(lua_State *L) {
  ldbuf *b = (ldbuf *)luaL_checkudata(L, 1, LN_DATABUF);
  if (b->ctx) {
    ln_ctx_gc(L);
    nerve_data_free(b->ctx, &b->d);
    b->ctx = NULL;
  }
  return 0;
}

/* Pushes an empty holder; the context frees it only once it is filled. */
static ldbuf *newbuf(lua_State *L) {
  ldbuf *b = (ldbuf *)lua_newuserdatauv(L, sizeof(ldbuf), 0);
  memset(b, 0, sizeof *b);
  luaL_setmetatable(L, LN_DATABUF);
  return b;
}

/* nil, message for a loader's failure s on path. */
static int fail(lua_State *L, const char *fn, const char *path,
                nerve_status s, const nerve_data_err *e) {
  lua_pushnil(L);
  if (s == NERVE_ENOMEM)
    lua_pushfstring(L, "%s: %s: not enough memory", fn, path);
  else if (s == NERVE_EIO && e->line == 0)
    lua_pushfstring(L, "%s: %s: %s", fn, path, e->what);
  else if (e->bytes)
    lua_pushfstring(L, "%s: %s: byte %d: %s", fn, path, (int)e->line, e->what);
  else
    lua_pushfstring(L, "%s: %s:%d: %s", fn, path, (int)e->line, e->what);
  return 2;
}

/* A new matrix holding rows x cols floats copied from p. */
static void pushcopy(lua_State *L, const float *p, int rows, int cols) {
  lmat *m = ln_newmatrix(L, rows, cols);
  memcpy(m->m.data, p, (size_t)rows * (size_t)cols * sizeof(float));
}

/* Pushes x and y (or nil) from the holder at index -1, then frees it. */
static int result(lua_State *L, ldbuf *b) {
  int h = lua_gettop(L);
  pushcopy(L, b->d.x, b->d.rows, b->d.n_x);
  if (b->d.n_y > 0) pushcopy(L, b->d.y, b->d.rows, b->d.n_y);
  else lua_pushnil(L);
  nerve_data_free(b->ctx, &b->d);
  b->ctx = NULL;
  lua_remove(L, h);
  return 2;
}

/* core.data_csv(path, header, targets, sep) */
static int l_csv(lua_State *L) {
  lctx *c = ln_ctx(L);
  const char *path = ln_checkpath(L, 1, "nerve.data.csv");
  if (!path) return 2;
  nerve_csv_opts o;
  o.header = lua_toboolean(L, 2);
  lua_Integer t = luaL_checkinteger(L, 3);
  size_t len;
  const char *sep = luaL_optlstring(L, 4, ",", &len);
  luaL_argcheck(L, t >= 0 && t <= 65535, 3, "target count out of range");
  luaL_argcheck(L, len == 1, 4, "separator must be one character");
  o.targets = (int)t;
  o.sep = sep[0];
  ldbuf *b = newbuf(L);
  nerve_data_err e;
  b->ctx = c->ctx;
  nerve_status s = nerve_data_csv(c->ctx, path, &o, &b->d, &e);
  if (s == NERVE_EARG)
    return luaL_error(L, "nerve.data.csv: separator '%s' cannot separate "
                         "numbers", sep);
  if (s != NERVE_OK) return fail(L, "nerve.data.csv", path, s, &e);
  return result(L, b);
}

static int l_fann(lua_State *L) {
  lctx *c = ln_ctx(L);
  const char *path = ln_checkpath(L, 1, "nerve.data.fann");
  if (!path) return 2;
  ldbuf *b = newbuf(L);
  nerve_data_err e;
  b->ctx = c->ctx;
  nerve_status s = nerve_data_fann(c->ctx, path, &b->d, &e);
  if (s != NERVE_OK) return fail(L, "nerve.data.fann", path, s, &e);
  return result(L, b);
}

/* core.data_idx(path) -> matrix, {dims...} */
static int l_idx(lua_State *L) {
  lctx *c = ln_ctx(L);
  const char *path = ln_checkpath(L, 1, "nerve.data.idx");
  if (!path) return 2;
  ldbuf *b = newbuf(L);
  nerve_data_err e;
  b->ctx = c->ctx;
  nerve_status s = nerve_data_idx(c->ctx, path, &b->d, &e);
  if (s != NERVE_OK) return fail(L, "nerve.data.idx", path, s, &e);
  lua_createtable(L, b->d.ndims, 0);
  for (int i = 0; i < b->d.ndims; i++) {
    lua_pushinteger(L, b->d.dims[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_insert(L, -2);
  result(L, b);
  lua_pop(L, 1); /* the nil y */
  lua_insert(L, -2);
  return 2;
}

static int l_mnist(lua_State *L) {
  lctx *c = ln_ctx(L);
  const char *images = ln_checkpath(L, 1, "nerve.data.mnist");
  if (!images) return 2;
  const char *labels = ln_checkpath(L, 2, "nerve.data.mnist");
  if (!labels) return 2;
  ldbuf *b = newbuf(L);
  nerve_data_err e;
  int which;
  b->ctx = c->ctx;
  nerve_status s = nerve_data_mnist(c->ctx, images, labels, &b->d, &e, &which);
  if (s != NERVE_OK)
    return fail(L, "nerve.data.mnist", which ? labels : images, s, &e);
  return result(L, b);
}

/* core.data_take(m, perm | nil, first, count): rows first..first+count-1
** (1-based) of m, taken through the permutation when given, as a new
** matrix. */
static int l_take(lua_State *L) {
  nerve_mat m = *ln_checkmatrix(L, 1);
  lperm *p = lua_isnil(L, 2) ? NULL : ln_checkperm(L, 2);
  lua_Integer first = luaL_checkinteger(L, 3), count = luaL_checkinteger(L, 4);
  lua_Integer n = p ? p->n : m.rows;
  luaL_argcheck(L, first >= 1 && first <= n, 3, "first row out of range");
  luaL_argcheck(L, count >= 1 && count <= n - first + 1, 4,
                "row count out of range");
  if (p && p->n != m.rows)
    return luaL_error(L, "nerve.data: permutation of %d row%s for a matrix of "
                         "%d", p->n, LN_S(p->n), m.rows);
  lmat *u = ln_newmatrix(L, (int)count, m.cols);
  nerve_status s;
  if (p) s = nerve_data_gather(&m, p->idx + first - 1, (int)count, &u->m);
  else {
    nerve_mat v = {m.data + (size_t)(first - 1) * m.stride, (int)count, m.cols,
                   m.stride};
    for (int i = 0; i < v.rows; i++)
      memcpy(u->m.data + (size_t)i * m.cols, v.data + (size_t)i * v.stride,
             (size_t)m.cols * sizeof(float));
    s = NERVE_OK;
  }
  if (s != NERVE_OK) return ln_error(L, "nerve.data", s);
  return 1;
}

/* core.data_stats(x) -> mean, sd (1 x cols each) */
static int l_stats(lua_State *L) {
  nerve_mat x = *ln_checkmatrix(L, 1);
  lmat *mean = ln_newmatrix(L, 1, x.cols);
  lmat *sd = ln_newmatrix(L, 1, x.cols);
  if (nerve_data_stats(&x, mean->m.data, sd->m.data) != NERVE_OK)
    return luaL_error(L, "nerve.data.standardize: x holds NaN or infinity");
  return 2;
}

/* core.data_standardize(x, mean, sd) -> a standardized copy of x */
static int l_standardize(lua_State *L) {
  nerve_mat x = *ln_checkmatrix(L, 1);
  nerve_mat mean = *ln_checkmatrix(L, 2), sd = *ln_checkmatrix(L, 3);
  if (mean.rows != 1 || sd.rows != 1 || mean.cols != x.cols ||
      sd.cols != x.cols)
    return luaL_error(L, "nerve.data.standardize: stats are for %d column%s, "
                         "x has %d", mean.cols, LN_S(mean.cols), x.cols);
  lmat *u = ln_newmatrix(L, x.rows, x.cols);
  for (int i = 0; i < x.rows; i++)
    memcpy(u->m.data + (size_t)i * x.cols, x.data + (size_t)i * x.stride,
           (size_t)x.cols * sizeof(float));
  if (nerve_data_standardize(&u->m, mean.data, sd.data) != NERVE_OK)
    return luaL_error(L, "nerve.data.standardize: stats must be finite, with "
                         "standard deviations >= 0");
  return 1;
}

/* core.data_one_hot(y, classes) */
static int l_one_hot(lua_State *L) {
  nerve_mat y = *ln_checkmatrix(L, 1);
  int classes = (int)ln_checkdim(L, 2, "classes");
  if (y.cols != 1)
    return luaL_error(L, "nerve.data.one_hot: y has %d columns, expected 1 "
                         "(class indices)", y.cols);
  lmat *u = ln_newmatrix(L, y.rows, classes);
  int bad = 0;
  if (nerve_data_one_hot(&y, &u->m, &bad) != NERVE_OK)
    return luaL_error(L, "nerve.data.one_hot: row %d holds %f, expected a "
                         "class index 1..%d", bad + 1,
                      (lua_Number)y.data[(size_t)bad * y.stride], classes);
  return 1;
}

/* core.data_shift(x, width, height, dx, dy) -> the moved images */
static int l_shift(lua_State *L) {
  nerve_mat x = *ln_checkmatrix(L, 1);
  lua_Integer w = luaL_checkinteger(L, 2), h = luaL_checkinteger(L, 3);
  lua_Integer dx = luaL_checkinteger(L, 4), dy = luaL_checkinteger(L, 5);
  if (w < 1 || h < 1 || w > x.cols || h > x.cols || w * h != x.cols)
    return luaL_error(L, "nerve.data.shift: %I x %I images need %I column%s, "
                         "x has %d", w, h, w * h, LN_S(w * h), x.cols);
  if (dx <= -w || dx >= w || dy <= -h || dy >= h)
    return luaL_error(L, "nerve.data.shift: a shift of (%I, %I) moves a %I x "
                         "%I image out of sight", dx, dy, w, h);
  lmat *u = ln_newmatrix(L, x.rows, x.cols);
  nerve_status s = nerve_data_shift(&x, (int)w, (int)h, (int)dx, (int)dy, &u->m);
  if (s != NERVE_OK) return ln_error(L, "nerve.data.shift", s);
  return 1;
}

/* core.data_concat(m1, m2, ...) -> the rows of all, in order */
static int l_concat(lua_State *L) {
  int n = lua_gettop(L);
  luaL_argcheck(L, n >= 1, 1, "expected matrices");
  lua_Integer rows = 0;
  int cols = ln_checkmatrix(L, 1)->cols;
  for (int i = 1; i <= n; i++) {
    nerve_mat *m = ln_checkmatrix(L, i);
    if (m->cols != cols)
      return luaL_error(L, "nerve.data.concat: matrix %d has %d column%s, "
                           "matrix 1 has %d", i, m->cols, LN_S(m->cols), cols);
    rows += m->rows;
    if (rows > NERVE_MAX_DIM)
      return luaL_error(L, "nerve.data.concat: more than %d rows",
                        NERVE_MAX_DIM);
  }
  lmat *u = ln_newmatrix(L, (int)rows, cols);
  float *p = u->m.data;
  for (int i = 1; i <= n; i++) {
    nerve_mat *m = ln_checkmatrix(L, i);
    for (int r = 0; r < m->rows; r++, p += cols)
      memcpy(p, m->data + (size_t)r * m->stride, (size_t)cols * sizeof(float));
  }
  return 1;
}

/* ------------------------------------------------------------ metrics */

static int metric_error(lua_State *L, const char *fn, nerve_status s,
                        nerve_net *net, const nerve_mat *x,
                        const nerve_mat *y) {
  int n_in = nerve_net_n_in(net), n_out = nerve_net_n_out(net);
  if (x->rows != y->rows)
    return luaL_error(L, "%s: x has %d row%s, y has %d", fn, x->rows,
                      LN_S(x->rows), y->rows);
  if ((s == NERVE_ESHAPE || s == NERVE_EARG) && n_in > 0 && x->cols != n_in)
    return luaL_error(L, "%s: x has %d column%s, the network expects %d",
                      fn, x->cols, LN_S(x->cols), n_in);
  if (s == NERVE_ENAN)
    return luaL_error(L, "%s: y contains NaN or infinity", fn);
  if (s == NERVE_EARG)
    return luaL_error(L, "%s: y must hold class indices 1..%d", fn, n_out);
  if (s == NERVE_ESHAPE)
    return luaL_error(L, "%s: y is %d x %d, which does not fit the "
                         "network's %d output%s", fn, y->rows, y->cols, n_out,
                      LN_S(n_out));
  return ln_error(L, fn, s);
}

/* core.metric_errors(net, x, y, limit) -> sum of squared errors, bit fails */
static int l_errors(lua_State *L) {
  ln_ctx(L);
  lnet *n = ln_checknet(L, 1);
  nerve_mat x = *ln_checkmatrix(L, 2), y = *ln_checkmatrix(L, 3);
  float limit = (float)luaL_checknumber(L, 4);
  double sse = 0;
  long fails = 0;
  n->busy = 1;
  nerve_status s = nerve_net_errors(n->net, &x, &y, limit, &sse, &fails);
  n->busy = 0;
  if (s != NERVE_OK) return metric_error(L, "nerve.metrics", s, n->net, &x, &y);
  lua_pushnumber(L, sse);
  lua_pushinteger(L, fails);
  return 2;
}

/* core.confusion(net, x, y) -> { {counts of true class 1}, ... } */
static int l_confusion(lua_State *L) {
  ln_ctx(L);
  lnet *n = ln_checknet(L, 1);
  nerve_mat x = *ln_checkmatrix(L, 2), y = *ln_checkmatrix(L, 3);
  int c = nerve_net_n_out(n->net);
  if (c == 0) c = x.cols; /* no linear layer: as wide as the input */
  if ((size_t)c > (size_t)1 << 14)
    return luaL_error(L, "nerve.metrics.confusion: %d classes are too many", c);
  long *counts = (long *)lua_newuserdatauv(L, (size_t)c * c * sizeof(long), 0);
  n->busy = 1;
  nerve_status s = nerve_net_confusion(n->net, &x, &y, c, counts);
  n->busy = 0;
  if (s != NERVE_OK)
    return metric_error(L, "nerve.metrics.confusion", s, n->net, &x, &y);
  lua_createtable(L, c, 0);
  for (int t = 0; t < c; t++) {
    lua_createtable(L, c, 0);
    for (int p = 0; p < c; p++) {
      lua_pushinteger(L, counts[(size_t)t * c + p]);
      lua_rawseti(L, -2, p + 1);
    }
    lua_rawseti(L, -2, t + 1);
  }
  return 1;
}

static const luaL_Reg metameth[] = {
    {"__gc", dbuf_gc}, {"__close", dbuf_gc}, {NULL, NULL}};

static const luaL_Reg funcs[] = {
    {"data_csv", l_csv},     {"data_fann", l_fann},
    {"data_idx", l_idx},     {"data_mnist", l_mnist},
    {"data_take", l_take},   {"data_stats", l_stats},
    {"data_standardize", l_standardize},
    {"data_one_hot", l_one_hot}, {"data_shift", l_shift},
    {"data_concat", l_concat},   {"metric_errors", l_errors},
    {"confusion", l_confusion}, {NULL, NULL}};

void ln_open_data(lua_State *L) {
  ln_createmeta(L, LN_DATABUF, metameth, NULL);
  lua_pushvalue(L, lua_upvalueindex(1));
  luaL_setfuncs(L, funcs, 1);
}
