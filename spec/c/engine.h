/*
** engine.h - what the engine tests (test_net, test_optim, test_format,
** test_alloc, test_train, test_threads, test_context) share: an allocator
** that counts and fails on demand, contexts built on it, and the builders
** of layers and networks. Everything is static inline, so that a test that
** uses only part of it compiles without unused-function warnings.
*/
#ifndef NERVE_ENGINE_H
#define NERVE_ENGINE_H

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nerve.h"

/* ------------------------------------------------------ counting allocator */

/* Counts live bytes and calls, remembers the largest request, fails the
** fail_at-th call (1-based; 0: never), checks the osize given on free. */
typedef struct counter {
  size_t live, biggest, calls, fail_at, bad_free, resizes;
} counter;

typedef union hdr {
  size_t n;
  max_align_t align;
} hdr;

static inline void *count_alloc(void *ud, void *ptr, size_t osize,
                                size_t nsize) {
  counter *c = ud;
  if (nsize == 0) {
    if (ptr) {
      hdr *h = (hdr *)ptr - 1;
      if (h->n != osize) c->bad_free++;
      c->live -= h->n;
      free(h);
    }
    return NULL;
  }
  if (ptr) {
    c->resizes++; /* the engine promises never to resize */
    return NULL;
  }
  c->calls++;
  if (nsize > c->biggest) c->biggest = nsize;
  if (c->fail_at && c->calls == c->fail_at) return NULL;
  hdr *h = malloc(sizeof *h + nsize);
  if (!h) return NULL;
  h->n = nsize;
  c->live += nsize;
  return h + 1;
}

static inline nerve_ctx *new_ctx(counter *c) {
  memset(c, 0, sizeof *c);
  nerve_ctx *ctx = NULL;
  CHECK(nerve_ctx_new(&ctx, count_alloc, c) == NERVE_OK);
  return ctx;
}

static inline void end_ctx(nerve_ctx *ctx, counter *c) {
  nerve_ctx_free(ctx);
  CHECK(c->live == 0);
  CHECK(c->bad_free == 0);
  CHECK(c->resizes == 0);
}

/* ------------------------------------------------------------- helpers */

static inline nerve_layer *lin(nerve_ctx *ctx, int n_in, int n_out) {
  nerve_layer *l = NULL;
  CHECK(nerve_linear_new(ctx, n_in, n_out, &l) == NERVE_OK);
  return l;
}

static inline nerve_layer *act(nerve_ctx *ctx, nerve_kind k, float alpha) {
  nerve_layer *l = NULL;
  CHECK(nerve_act_new(ctx, k, alpha, &l) == NERVE_OK);
  return l;
}

/* Appends l to net and drops the caller's reference. */
static inline void add(nerve_net *net, nerve_layer *l) {
  CHECK(nerve_net_add(net, l) == NERVE_OK);
  nerve_layer_release(l);
}

static inline void set_mat(nerve_mat m, const double *v) {
  for (int i = 0; i < m.rows; i++)
    for (int j = 0; j < m.cols; j++)
      m.data[i * m.stride + j] = (float)v[i * m.cols + j];
}

/* Fills a parameter tensor with reproducible values in [-r, r]. */
static inline void fill_rand(nerve_mat m, nerve_rng *r, double range) {
  for (int i = 0; i < m.rows; i++)
    for (int j = 0; j < m.cols; j++)
      m.data[i * m.stride + j] =
          (float)((2 * nerve_rng_uniform(r) - 1) * range);
}

#endif
