/*
** game.c - a game loop embedding Lua 5.4 and nerve: fixed 60 Hz frames,
** each with a time budget for training (game.lua trains a network a few
** batches per frame through nerve.trainer), inference from C on the
** published model every frame (nerve_lua_tonet, no Lua in the hot path),
** and a hot reload of a saved model from memory half way.
**
**   game [script [frames]]     (default examples/host/game.lua 180)
**
** Frame times are measured and printed; the budget is only what the
** trainer may spend, the rest of the frame is the game's.
*/
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "nerve_lua.h"

#define FRAME_S (1.0 / 60)
#define TRAIN_BUDGET_S 0.003

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void sleep_until(double t) {
  struct timespec ts;
  ts.tv_sec = (time_t)t;
  ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
  clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

/* The host's allocator: counts bytes, so the game can show what nerve
** and the scripts take. */
static size_t live_bytes;
static void *counting(void *ud, void *ptr, size_t osize, size_t nsize) {
  (void)ud;
  size_t old = ptr ? osize : 0;
  if (nsize == 0) {
    free(ptr);
    live_bytes -= old;
    return NULL;
  }
  void *p = realloc(ptr, nsize);
  if (p) live_bytes = live_bytes - old + nsize;
  return p;
}

/* Calls game.<fn> with nargs arguments already pushed; nres results. */
static int call(lua_State *L, int game, const char *fn, int nargs, int nres) {
  lua_getfield(L, game, fn);
  lua_insert(L, -nargs - 1);
  if (lua_pcall(L, nargs, nres, 0) != LUA_OK) {
    fprintf(stderr, "game.%s: %s\n", fn, lua_tostring(L, -1));
    lua_pop(L, 1);
    return 0;
  }
  return 1;
}

/* The model's danger estimate at (px, py), computed by C on the network
** the script owns (borrowed while game.model's result is on the stack). */
static float danger(lua_State *L, int game, float px, float py) {
  float v = -1;
  if (!call(L, game, "model", 0, 1)) return v;
  nerve_net *net = nerve_lua_tonet(L, -1);
  float in[2] = {px, py};
  nerve_mat x = nerve_mat_view(in, 1, 2), out;
  if (net && nerve_net_forward(net, &x, &out) == NERVE_OK) v = out.data[0];
  lua_pop(L, 1);
  return v;
}

static double accuracy(lua_State *L, int game) {
  double a = -1;
  if (call(L, game, "accuracy", 0, 1)) a = lua_tonumber(L, -1);
  lua_pop(L, 1);
  return a;
}

int main(int argc, char **argv) {
  const char *script = argc > 1 ? argv[1] : "examples/host/game.lua";
  int frames = argc > 2 ? atoi(argv[2]) : 180;

  lua_State *L = lua_newstate(counting, NULL);
  if (!L) return 1;
  luaL_openlibs(L);
  nerve_lua_open(L); /* require "nerve" now needs no files */
  if (luaL_dofile(L, script) != LUA_OK) {
    fprintf(stderr, "%s\n", lua_tostring(L, -1));
    lua_close(L);
    return 1;
  }
  int game = lua_gettop(L);
  lua_pushinteger(L, 42);
  if (!call(L, game, "setup", 1, 0)) return 1;

  char *saved = NULL; /* a model snapshot kept by the host, as an asset */
  size_t saved_len = 0;
  double work_sum = 0, work_max = 0, start = now(), next = start;
  int late = 0, batches_total = 0, epoch = 0, done = 0, worst = 0;
  printf("frame  epoch  batches  loss      work ms  (frame %.1f ms, "
         "training budget %.1f ms)  danger at player\n",
         FRAME_S * 1e3, TRAIN_BUDGET_S * 1e3);
  for (int f = 1; f <= frames; f++) {
    next += FRAME_S; /* frame f starts at its tick, as a vsync'd loop does */
    sleep_until(next);
    double t0 = now();
    /* update: training gets its budget unless it has finished */
    int batches = 0;
    double loss = 0;
    if (!done) {
      lua_pushnumber(L, TRAIN_BUDGET_S);
      if (!call(L, game, "update", 1, 4)) break;
      batches = (int)lua_tointeger(L, -4);
      epoch = (int)lua_tointeger(L, -3);
      loss = lua_tonumber(L, -2);
      done = lua_toboolean(L, -1);
      lua_pop(L, 4);
      batches_total += batches;
    }
    if (f % 10 == 0) call(L, game, "publish", 0, 0);
    if (f == frames / 3) { /* keep a snapshot, as a game saves an asset */
      if (call(L, game, "snapshot", 0, 1)) {
        size_t len;
        const char *b = lua_tolstring(L, -1, &len);
        free(saved);
        saved = (char *)malloc(len);
        if (saved) memcpy(saved, b, len), saved_len = len;
        lua_pop(L, 1);
      }
    }
    if (f == 2 * frames / 3 && saved) { /* hot reload from memory */
      double before = accuracy(L, game);
      lua_pushlstring(L, saved, saved_len);
      if (call(L, game, "reload", 1, 0))
        printf("frame %d: hot-reloaded the model saved at frame %d (%zu "
               "bytes): accuracy %.1f%% -> %.1f%%\n", f, frames / 3,
               saved_len, before * 100, accuracy(L, game) * 100);
    }
    /* "render": the player walks a circle; the NPC reads the danger */
    double a = f * 0.05, r = 0.1 + 0.8 * fabs(sin(f * 0.013));
    float d = danger(L, game, (float)(r * cos(a)), (float)(r * sin(a)));
    double work = now() - t0;
    work_sum += work;
    if (work > work_max) work_max = work, worst = f;
    if (work > FRAME_S) late++;
    if (f % 15 == 0 || f == 1)
      printf("%5d  %5d  %7d  %-8.4f  %7.2f  %s  %.3f at r=%.2f (%s)\n", f,
             epoch, batches, loss, work * 1e3, done ? "(trained)" : "         ",
             d, r, r > 0.4 && r < 0.75 ? "ring" : "safe");
  }
  double wall = now() - start;
  printf("%d frames in %.2f s: work %.2f ms average, %.2f ms at most (frame "
         "%d), %d frames over %.1f ms\n",
         frames, wall, work_sum / frames * 1e3, work_max * 1e3, worst, late,
         FRAME_S * 1e3);
  call(L, game, "publish", 0, 0);
  printf("trained %d batches (epoch %d), model accuracy %.1f%%, Lua state "
         "%zu KB\n", batches_total, epoch, accuracy(L, game) * 100,
         live_bytes / 1024);
  free(saved);
  lua_close(L);
  printf("after lua_close: %zu bytes still allocated\n", live_bytes);
  return live_bytes != 0;
}
