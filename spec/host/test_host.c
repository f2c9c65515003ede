/*
** test_host.c - a C host with its own lua_State: nerve is opened with
** nerve_lua_open (everything preloaded from the library, no files), and
** LuaUnit suites run inside the state. The state's allocator counts bytes,
** so the suites can show that every byte nerve takes goes through the
** host's allocator, that a capped allocator gives Lua errors, and that
** lua_close gives every byte back.
**
** The suites reach the host through the global `host`:
**   host.limit([bytes])      sets this state's cap (0: none); returns live bytes
**   host.run(codes [, cap])  runs each chunk of the array codes in a fresh
**                            state of its own thread, all at once; cap limits
**                            each state to cap bytes above its setup. Returns
**                            an array of {ok=, value=, live=, peak=}: value is
**                            the chunk's result (a string) or the error, live
**                            the bytes left after lua_close
**   host.silent(fn)          runs fn with stdout and stderr sent to a file;
**                            returns ok, error, bytes written there
**   host.cnet, host.cforward, host.isnet: networks across the C API
**   host.quick               true when NERVE_HOST_QUICK is set (valgrind)
**
** Usage: test_host DIR  (runs the suites listed in main from DIR)
*/
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "nerve_lua.h"

typedef struct counter {
  size_t live, peak, limit; /* limit 0: none */
} counter;

/* A lua_Alloc that counts live bytes and can refuse past a limit. */
static void *counting(void *ud, void *ptr, size_t osize, size_t nsize) {
  counter *c = (counter *)ud;
  size_t old = ptr ? osize : 0;
  if (nsize == 0) {
    free(ptr);
    c->live -= old;
    return NULL;
  }
  if (c->limit && c->live - old + nsize > c->limit) return NULL;
  void *p = realloc(ptr, nsize);
  if (p) {
    c->live = c->live - old + nsize;
    if (c->live > c->peak) c->peak = c->live;
  }
  return p;
}

static int host_limit(lua_State *L) {
  void *ud;
  lua_getallocf(L, &ud);
  counter *c = (counter *)ud;
  if (!lua_isnoneornil(L, 1)) c->limit = (size_t)luaL_checkinteger(L, 1);
  lua_pushinteger(L, (lua_Integer)c->live);
  return 1;
}

/* A state as a host makes it: standard libraries, nerve preloaded, and
** package paths without the source tree (LuaUnit comes from the system). */
static lua_State *newstate(counter *c) {
  lua_State *L = lua_newstate(counting, c);
  if (!L) return NULL;
  luaL_openlibs(L);
  nerve_lua_open(L);
  if (luaL_dostring(L, "package.path = '/usr/share/lua/5.4/?.lua' "
                       "package.cpath = ''") != LUA_OK) {
    lua_close(L);
    return NULL;
  }
  return L;
}

/* ------------------------------------------------- states in threads */

typedef struct job {
  const char *code;
  size_t cap;
  counter c;
  int ok;
  char *value; /* malloc'd: the result or the error */
  size_t len;
} job;

static void keep(job *j, lua_State *L) {
  size_t len = 0;
  const char *s = lua_tolstring(L, -1, &len);
  if (!s) s = "(not a string)", len = strlen(s);
  j->value = (char *)malloc(len + 1);
  if (j->value) {
    memcpy(j->value, s, len);
    j->value[len] = '\0';
    j->len = len;
  }
}

static void *runjob(void *arg) {
  job *j = (job *)arg;
  lua_State *L = newstate(&j->c);
  if (!L) return NULL;
  if (j->cap) j->c.limit = j->c.live + j->cap;
  int r = luaL_loadstring(L, j->code);
  if (r == LUA_OK) r = lua_pcall(L, 0, 1, 0);
  j->ok = r == LUA_OK;
  keep(j, L);
  j->c.limit = 0;
  lua_close(L);
  return NULL;
}

static int host_run(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_Integer cap = luaL_optinteger(L, 2, 0);
  int n = (int)luaL_len(L, 1);
  luaL_argcheck(L, n >= 1 && n <= 16, 1, "1..16 chunks expected");
  job jobs[16];
  pthread_t th[16];
  memset(jobs, 0, sizeof jobs);
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, 1, i + 1);
    jobs[i].code = luaL_checkstring(L, -1); /* stays in the table */
    lua_pop(L, 1);
    jobs[i].cap = (size_t)cap;
  }
  int started = 0;
  for (; started < n; started++)
    if (pthread_create(&th[started], NULL, runjob, &jobs[started]) != 0) break;
  for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    lua_createtable(L, 0, 4);
    lua_pushboolean(L, jobs[i].ok);
    lua_setfield(L, -2, "ok");
    if (jobs[i].value) lua_pushlstring(L, jobs[i].value, jobs[i].len);
    else lua_pushstring(L, i < started ? "(no state)" : "(no thread)");
    lua_setfield(L, -2, "value");
    lua_pushinteger(L, (lua_Integer)jobs[i].c.live);
    lua_setfield(L, -2, "live");
    lua_pushinteger(L, (lua_Integer)jobs[i].c.peak);
    lua_setfield(L, -2, "peak");
    free(jobs[i].value);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

/* ------------------------------------------------------------- silence */

static int host_silent(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  FILE *f = tmpfile();
  if (!f) return luaL_error(L, "host.silent: no temporary file");
  fflush(stdout);
  fflush(stderr);
  int out = dup(1), err = dup(2);
  dup2(fileno(f), 1);
  dup2(fileno(f), 2);
  lua_pushvalue(L, 1);
  int r = lua_pcall(L, 0, 0, 0);
  fflush(stdout);
  fflush(stderr);
  dup2(out, 1);
  dup2(err, 2);
  close(out);
  close(err);
  fseek(f, 0, SEEK_END);
  long written = ftell(f);
  fclose(f);
  lua_pushboolean(L, r == LUA_OK);
  if (r == LUA_OK) lua_pushnil(L);
  else lua_rotate(L, -2, 1);
  lua_pushinteger(L, written);
  return 3;
}

/* ---------------------------------------------- networks across C, Lua */

static void *plain(void *ud, void *ptr, size_t osize, size_t nsize) {
  (void)ud, (void)osize;
  if (nsize == 0) {
    free(ptr);
    return NULL;
  }
  return realloc(ptr, nsize);
}

/* host.cnet(n_in, n_out, foreign): a linear + sigmoid network built in C,
** in the state's context or (foreign) in a malloc context of the host's,
** handed to Lua with nerve_lua_pushnet. */
static int host_cnet(lua_State *L) {
  int n_in = (int)luaL_checkinteger(L, 1), n_out = (int)luaL_checkinteger(L, 2);
  int foreign = lua_toboolean(L, 3);
  nerve_ctx *own = NULL, *ctx;
  if (foreign) {
    if (nerve_ctx_new(&own, plain, NULL) != NERVE_OK)
      return luaL_error(L, "host.cnet: no context");
    ctx = own;
  } else {
    ctx = nerve_lua_ctx(L);
  }
  nerve_net *net = NULL;
  nerve_layer *lin = NULL, *act = NULL;
  nerve_status s = nerve_net_new(ctx, &net);
  if (s == NERVE_OK) s = nerve_linear_new(ctx, n_in, n_out, &lin);
  if (s == NERVE_OK) s = nerve_act_new(ctx, NERVE_SIGMOID, 0, &act);
  if (s == NERVE_OK) s = nerve_net_add(net, lin);
  if (s == NERVE_OK) s = nerve_net_add(net, act);
  nerve_layer_release(lin); /* the network holds them now */
  nerve_layer_release(act);
  if (s != NERVE_OK) {
    nerve_net_free(net);
    nerve_ctx_free(own);
    return luaL_error(L, "host.cnet: %s", nerve_strerror(s));
  }
  nerve_lua_pushnet(L, net); /* net belongs to the state from here */
  if (own) nerve_ctx_free(own); /* pushnet copied it: own is unused now */
  return 1;
}

/* host.cforward(net, {x1, x2, ...}): one row through the network from C. */
static int host_cforward(lua_State *L) {
  nerve_net *net = nerve_lua_checknet(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  float x[64];
  int n = (int)luaL_len(L, 2);
  luaL_argcheck(L, n >= 1 && n <= 64, 2, "1..64 inputs expected");
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, 2, i + 1);
    x[i] = (float)luaL_checknumber(L, -1);
    lua_pop(L, 1);
  }
  nerve_mat in = nerve_mat_view(x, 1, n), out;
  nerve_status s = nerve_net_forward(net, &in, &out);
  if (s != NERVE_OK) return luaL_error(L, "host.cforward: %s", nerve_strerror(s));
  lua_createtable(L, out.cols, 0);
  for (int j = 0; j < out.cols; j++) {
    lua_pushnumber(L, out.data[j]);
    lua_rawseti(L, -2, j + 1);
  }
  return 1;
}

static int host_isnet(lua_State *L) {
  lua_pushboolean(L, nerve_lua_tonet(L, 1) != NULL);
  return 1;
}

/* --------------------------------------------------------------- suites */

/* Runs one suite file in a fresh state; returns its failures, or -1. */
static int runsuite(const char *dir, const char *file, int *passed) {
  counter c = {0, 0, 0};
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  lua_State *L = newstate(&c);
  if (!L) return -1;
  static const luaL_Reg fns[] = {{"limit", host_limit},
                                 {"run", host_run},
                                 {"silent", host_silent},
                                 {"cnet", host_cnet},
                                 {"cforward", host_cforward},
                                 {"isnet", host_isnet},
                                 {NULL, NULL}};
  luaL_newlib(L, fns);
  lua_pushstring(L, dir);
  lua_setfield(L, -2, "dir");
  /* fewer repetitions under valgrind (make valgrind) */
  lua_pushboolean(L, getenv("NERVE_HOST_QUICK") != NULL);
  lua_setfield(L, -2, "quick");
  lua_setglobal(L, "host");
  int failed = -1;
  if (luaL_dofile(L, path) != LUA_OK) {
    fprintf(stderr, "%s: %s\n", path, lua_tostring(L, -1));
  } else if (lua_isinteger(L, -2) && lua_isinteger(L, -1)) {
    *passed += (int)lua_tointeger(L, -2);
    failed = (int)lua_tointeger(L, -1);
  } else {
    fprintf(stderr, "%s: expected the suite to return passed, failed\n", path);
  }
  lua_close(L);
  if (c.live != 0) {
    fprintf(stderr, "%s: %zu bytes still allocated after lua_close\n", path,
            c.live);
    if (failed >= 0) failed++;
  }
  return failed;
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "spec/host";
  static const char *const suites[] = {"embed_test.lua", "capi_test.lua",
                                       "guarantees_test.lua",
                                       "trainer_test.lua", NULL};
  int passed = 0, failed = 0;
  for (int i = 0; suites[i]; i++) {
    if (argc > 2 && strcmp(argv[2], suites[i]) != 0) continue;
    int f = runsuite(dir, suites[i], &passed);
    failed += f < 0 ? 1 : f;
  }
  printf("test_host: %d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
