/*
** lmatrix.c - nerve.Matrix: float32 row-major matrices for Lua, owning
** their storage or viewing another matrix, a layer's parameters or a
** network's batch buffer.
*/
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lnerve.h"

#define ALIGN 64

/* Pushes a matrix userdata with extra bytes of storage room and user
** value 1, holding nothing: kind, storage and owner are set by the
** caller (a view of nothing, were a finalizer to find it). */
static lmat *newmatrix(lua_State *L, size_t extra, int kind) {
  lmat *u = (lmat *)lua_newuserdatauv(L, sizeof(lmat) + extra, 1);
  u->m.data = NULL;
  u->m.rows = u->m.cols = u->m.stride = 0;
  u->kind = kind;
  u->epoch = 0;
  u->net = NULL;
  u->layer = NULL;
  luaL_setmetatable(L, LN_MATRIX);
  return u;
}

/* An owned rows x cols matrix, zero-filled, its storage inside the
** userdata (so the collector counts it), 64-byte aligned. */
lmat *ln_newmatrix(lua_State *L, int rows, int cols) {
  size_t n = (size_t)rows * (size_t)cols;
  if (n > ((size_t)-1 - sizeof(lmat) - ALIGN) / sizeof(float))
    luaL_error(L, "nerve.matrix: %d x %d is too large", rows, cols);
  lmat *u = newmatrix(L, ALIGN + n * sizeof(float), LM_OWN);
  uintptr_t p = (uintptr_t)(u + 1);
  p = (p + ALIGN - 1) & ~(uintptr_t)(ALIGN - 1);
  u->m.data = (float *)p;
  u->m.rows = rows;
  u->m.cols = cols;
  u->m.stride = cols;
  memset(u->m.data, 0, n * sizeof(float));
  return u;
}

/* Pushes a view of m whose storage belongs to the value at index owner:
** a matrix, a layer (its parameters), or a network (one of its batch
** buffers, valid while they have not moved since). */
void ln_pushview(lua_State *L, nerve_mat m, int owner) {
  owner = lua_absindex(L, owner);
  lnet *n = (lnet *)luaL_testudata(L, owner, LN_NET);
  /* read before allocating: a finalizer run by the allocation may move
  ** the buffers (the view is then stale, as it should be) or close n */
  size_t epoch = n ? nerve_net_buffer_epoch(n->net) : 0;
  lmat *u = newmatrix(L, 0, n ? LM_NETBUF : LM_VIEW);
  u->m = m;
  u->epoch = epoch;
  u->net = n;
  u->layer = (llayer *)luaL_testudata(L, owner, LN_LAYER);
  lua_pushvalue(L, owner);
  lua_setiuservalue(L, -2, 1);
}

/* The matrix at arg, or NULL if it is none. A view of a network buffer
** that has moved (or a closed network) raises: its memory is gone. */
static nerve_mat *tomatrix(lua_State *L, int arg) {
  lmat *u = (lmat *)luaL_testudata(L, arg, LN_MATRIX);
  if (u && u->kind == LM_NETBUF &&
      (u->net->net == NULL || nerve_net_buffer_epoch(u->net->net) != u->epoch))
    luaL_error(L, "nerve.Matrix: this view of a network buffer is stale "
                  "(the network was closed or its buffers grew); "
                  "use :copy() to keep results");
  if (u && u->layer && u->layer->l == NULL)
    luaL_error(L, "nerve.Matrix: this view's layer was collected");
  return u ? &u->m : NULL;
}

nerve_mat *ln_checkmatrix(lua_State *L, int arg) {
  nerve_mat *m = tomatrix(L, arg);
  if (!m) luaL_typeerror(L, arg, LN_MATRIX);
  return m;
}

/* Reads the numbers of table t (at index t) into row r of u. */
static void readrow(lua_State *L, int t, lmat *u, int r, const char *fn) {
  for (int j = 0; j < u->m.cols; j++) {
    lua_rawgeti(L, t, j + 1);
    int ok;
    lua_Number v = lua_tonumberx(L, -1, &ok);
    if (!ok)
      luaL_error(L, "%s: element [%d][%d] is %s, expected a number", fn, r + 1,
                 j + 1, luaL_typename(L, -1));
    u->m.data[(size_t)r * u->m.stride + j] = (float)v;
    lua_pop(L, 1);
  }
}

/* A matrix from a table of rows, or a flat table as one row. */
static void fromtable(lua_State *L, int t, const char *fn) {
  lua_Integer rows = luaL_len(L, t);
  if (rows < 1) luaL_error(L, "%s: empty table, expected rows of numbers", fn);
  if (rows > NERVE_MAX_DIM) luaL_error(L, "%s: too many rows", fn);
  if (lua_rawgeti(L, t, 1) != LUA_TTABLE) {
    lua_pop(L, 1);
    lmat *u = ln_newmatrix(L, 1, (int)rows);
    readrow(L, t, u, 0, fn);
    return;
  }
  lua_Integer cols = luaL_len(L, -1);
  lua_pop(L, 1);
  if (cols < 1 || cols > NERVE_MAX_DIM)
    luaL_error(L, "%s: row 1 has %I numbers, expected 1..%d", fn, cols,
               NERVE_MAX_DIM);
  lmat *u = ln_newmatrix(L, (int)rows, (int)cols);
  for (int i = 0; i < (int)rows; i++) {
    if (lua_rawgeti(L, t, i + 1) != LUA_TTABLE)
      luaL_error(L, "%s: row %d is %s, expected a table of numbers", fn, i + 1,
                 luaL_typename(L, -1));
    if (luaL_len(L, -1) != cols)
      luaL_error(L, "%s: row %d has %I numbers, row 1 has %I", fn, i + 1,
                 luaL_len(L, -1), cols);
    readrow(L, lua_gettop(L), u, i, fn);
    lua_pop(L, 1);
  }
}

/* An input batch: a matrix, or a Lua table row (replaced on the stack by
** a 1 x n matrix so its storage lives as long as the call). */
nerve_mat ln_checkinput(lua_State *L, int arg, const char *fn) {
  if (lua_type(L, arg) == LUA_TTABLE) {
    arg = lua_absindex(L, arg);
    fromtable(L, arg, fn);
    lua_replace(L, arg);
  }
  return *ln_checkmatrix(L, arg);
}

static int l_matrix(lua_State *L) {
  if (lua_type(L, 1) == LUA_TTABLE) {
    fromtable(L, 1, "nerve.matrix");
    return 1;
  }
  int rows = (int)ln_checkdim(L, 1, "rows");
  int cols = (int)ln_checkdim(L, 2, "cols");
  float fill = (float)luaL_optnumber(L, 3, 0);
  lmat *u = ln_newmatrix(L, rows, cols);
  if (fill != 0)
    for (size_t i = 0, n = (size_t)rows * cols; i < n; i++) u->m.data[i] = fill;
  return 1;
}

static int l_is_matrix(lua_State *L) {
  lua_pushboolean(L, luaL_testudata(L, 1, LN_MATRIX) != NULL);
  return 1;
}

static int m_shape(lua_State *L) {
  nerve_mat *m = ln_checkmatrix(L, 1);
  lua_pushinteger(L, m->rows);
  lua_pushinteger(L, m->cols);
  return 2;
}

static int m_len(lua_State *L) {
  lua_pushinteger(L, ln_checkmatrix(L, 1)->rows);
  return 1;
}

static float *at(lua_State *L, nerve_mat *m) {
  lua_Integer i = luaL_checkinteger(L, 2), j = luaL_checkinteger(L, 3);
  if (i < 1 || i > m->rows)
    luaL_argerror(L, 2, lua_pushfstring(L, "row %I out of range 1..%d", i, m->rows));
  if (j < 1 || j > m->cols)
    luaL_argerror(L, 3, lua_pushfstring(L, "column %I out of range 1..%d", j, m->cols));
  return m->data + (size_t)(i - 1) * m->stride + (j - 1);
}

static int m_get(lua_State *L) {
  nerve_mat *m = ln_checkmatrix(L, 1);
  lua_pushnumber(L, *at(L, m));
  return 1;
}

static int m_set(lua_State *L) {
  nerve_mat *m = ln_checkmatrix(L, 1);
  float *p = at(L, m);
  *p = (float)luaL_checknumber(L, 4);
  lua_settop(L, 1);
  return 1;
}

/* Functions that allocate while reading a matrix fetch it again after
** each allocation: a finalizer run by it may have made a view stale. */
static int m_totable(lua_State *L) {
  nerve_mat *m = ln_checkmatrix(L, 1);
  lua_createtable(L, m->rows, 0);
  for (int i = 0; i < m->rows; i++) {
    lua_createtable(L, m->cols, 0);
    m = ln_checkmatrix(L, 1);
    const float *r = m->data + (size_t)i * m->stride;
    for (int j = 0; j < m->cols; j++) {
      lua_pushnumber(L, r[j]);
      lua_rawseti(L, -2, j + 1);
    }
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

static int m_copy(lua_State *L) {
  nerve_mat m = *ln_checkmatrix(L, 1);
  lmat *u = ln_newmatrix(L, m.rows, m.cols);
  m = *ln_checkmatrix(L, 1);
  for (int i = 0; i < m.rows; i++)
    memcpy(u->m.data + (size_t)i * m.cols, m.data + (size_t)i * m.stride,
           (size_t)m.cols * sizeof(float));
  return 1;
}

static int m_fill(lua_State *L) {
  nerve_mat *m = ln_checkmatrix(L, 1);
  float v = (float)luaL_checknumber(L, 2);
  for (int i = 0; i < m->rows; i++)
    for (int j = 0; j < m->cols; j++) m->data[(size_t)i * m->stride + j] = v;
  lua_settop(L, 1);
  return 1;
}

/* m:sub(r1, r2 [, c1, c2]): the block of rows r1..r2 and columns c1..c2
** (1-based, inclusive) as a view sharing m's storage (Torch7's sub). */
static int m_sub(lua_State *L) {
  nerve_mat m = *ln_checkmatrix(L, 1);
  lua_Integer r1 = luaL_checkinteger(L, 2), r2 = luaL_checkinteger(L, 3);
  lua_Integer c1 = luaL_optinteger(L, 4, 1), c2 = luaL_optinteger(L, 5, m.cols);
  luaL_argcheck(L, r1 >= 1 && r1 <= m.rows, 2, "first row out of range");
  luaL_argcheck(L, r2 >= r1 && r2 <= m.rows, 3, "last row out of range");
  luaL_argcheck(L, c1 >= 1 && c1 <= m.cols, 4, "first column out of range");
  luaL_argcheck(L, c2 >= c1 && c2 <= m.cols, 5, "last column out of range");
  lmat *src = (lmat *)lua_touserdata(L, 1);
  nerve_mat v = {m.data + (size_t)(r1 - 1) * m.stride + (c1 - 1),
                 (int)(r2 - r1 + 1), (int)(c2 - c1 + 1), m.stride};
  /* A view of a view keeps the original owner alive (a network's buffer
  ** stays a view of that network's). */
  if (src->kind != LM_OWN) lua_getiuservalue(L, 1, 1);
  else lua_pushvalue(L, 1);
  ln_pushview(L, v, -1);
  return 1;
}

/* Shape, then up to 6 rows and 8 columns; larger matrices are elided. */
static int m_tostring(lua_State *L) {
  nerve_mat *m = ln_checkmatrix(L, 1);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  lua_pushfstring(L, "nerve.Matrix(%d x %d)", m->rows, m->cols);
  luaL_addvalue(&b);
  const int R = 6, C = 8;
  for (int i = 0; i < m->rows; i++) {
    if (m->rows > R && i == R / 2) {
      luaL_addstring(&b, "\n  ...");
      i = m->rows - R / 2;
    }
    luaL_addstring(&b, "\n ");
    for (int j = 0; j < m->cols; j++) {
      if (m->cols > C && j == C / 2) {
        luaL_addstring(&b, "  ...");
        j = m->cols - C / 2;
      }
      char s[32];
      m = ln_checkmatrix(L, 1);
      snprintf(s, sizeof s, " %10.4g", (double)m->data[(size_t)i * m->stride + j]);
      luaL_addstring(&b, s);
    }
  }
  luaL_pushresult(&b);
  return 1;
}

static const luaL_Reg metameth[] = {
    {"__len", m_len}, {"__tostring", m_tostring}, {NULL, NULL}};

static const luaL_Reg meth[] = {
    {"shape", m_shape}, {"get", m_get},   {"set", m_set},
    {"totable", m_totable}, {"copy", m_copy}, {"fill", m_fill},
    {"sub", m_sub},     {NULL, NULL}};

static const luaL_Reg funcs[] = {
    {"matrix", l_matrix}, {"is_matrix", l_is_matrix}, {NULL, NULL}};

void ln_open_matrix(lua_State *L) {
  ln_createmeta(L, LN_MATRIX, metameth, meth);
  lua_pushvalue(L, lua_upvalueindex(1));
  luaL_setfuncs(L, funcs, 1);
}
