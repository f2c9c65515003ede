/*
** test_threads.c - the thread pool: two threads give one thread's floats
** bit for bit on MNIST-sized networks, fp32 and bf16, and allocate nothing
** after the first step; a context changes its thread count freely.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

/* ------------------------------------------------------------ two threads */

/* A 784-h-h2-10 relu MLP with softmax cross-entropy (the benchmark's
** 784-256-128-10, or wider), a few SGD steps at batch rows on threads
** threads; its parameters and counts of allocations after the first step
** into out/calls. */
static void mnist_run(int threads, const int w[4], int rows, float momentum,
                      nerve_precision prec, float *out, size_t *calls,
                      size_t *live) {
  counter c;
  nerve_ctx *ctx = new_ctx(&c);
  CHECK(nerve_ctx_set_threads(ctx, threads) == NERVE_OK);
  nerve_rng_seed(nerve_ctx_rng(ctx), 11);
  nerve_net *net = NULL;
  CHECK(nerve_net_new(ctx, &net) == NERVE_OK);
  for (int i = 0; i < 3; i++) {
    add(net, lin(ctx, w[i], w[i + 1]));
    add(net, act(ctx, i < 2 ? NERVE_RELU : NERVE_SOFTMAX, 0));
  }
  CHECK(nerve_net_set_precision(net, prec) == NERVE_OK);
  enum { N = 300 };
  static float x[N * 784], y[N];
  nerve_rng r;
  nerve_rng_seed(&r, 3);
  for (int i = 0; i < N * 784; i++) x[i] = (float)nerve_rng_uniform(&r);
  for (int i = 0; i < N; i++) y[i] = (float)(1 + i % 10);
  nerve_mat xm = nerve_mat_view(x, N, 784), ym = nerve_mat_view(y, N, 1);
  nerve_sgd_opts o = {0.05f, momentum, 0, 0};
  nerve_optim *opt = NULL;
  CHECK(nerve_sgd_new(net, &o, &opt) == NERVE_OK);
  double e;
  for (int s = 0; s < 4; s++) {
    if (s == 1) *calls = c.calls;
    CHECK(nerve_net_train_batch(net, NERVE_CROSS_ENTROPY, &xm, &ym, NULL,
                                (s * rows) % (N - rows + 1), rows, opt, &e,
                                NULL) == NERVE_OK);
  }
  *calls = c.calls - *calls;
  *live = c.live;
  /* parameters, then the last batch's input gradient from backward */
  size_t k = 0;
  for (int i = 0; i < 6; i += 2) {
    nerve_layer *l = nerve_net_layer(net, i);
    nerve_mat wm = nerve_layer_weight(l), bm = nerve_layer_bias(l);
    memcpy(out + k, wm.data, (size_t)wm.rows * wm.cols * sizeof(float));
    k += (size_t)wm.rows * wm.cols;
    memcpy(out + k, bm.data, (size_t)bm.cols * sizeof(float));
    k += (size_t)bm.cols;
  }
  nerve_mat yhat, g, dx;
  nerve_mat xb = nerve_mat_view(x, rows, 784);
  CHECK(nerve_net_forward(net, &xb, &yhat) == NERVE_OK);
  memcpy(out + k, yhat.data, (size_t)rows * 10 * sizeof(float));
  k += (size_t)rows * 10;
  float *gd = nerve_malloc(ctx, (size_t)rows * 10 * sizeof(float));
  for (int i = 0; i < rows * 10; i++) gd[i] = 0.01f * (float)(i % 7);
  g = nerve_mat_view(gd, rows, 10);
  CHECK(nerve_net_backward(net, &xb, &g, &dx) == NERVE_OK);
  memcpy(out + k, dx.data, (size_t)rows * 784 * sizeof(float));
  nerve_free(ctx, gd);
  nerve_optim_free(opt);
  nerve_net_free(net);
  end_ctx(ctx, &c);
}

/* Two threads give one thread's floats, bit for bit, and allocate nothing
** after the first step. */
static void threads_case(const int w[4], int rows, float mu,
                         nerve_precision prec) {
  size_t np = 0;
  for (int i = 0; i < 3; i++) np += (size_t)w[i] * w[i + 1] + w[i + 1];
  size_t n = np + (size_t)rows * (10 + 784);
  float *p1 = calloc(n, sizeof(float)), *p2 = calloc(n, sizeof(float));
  size_t c1 = 1, c2 = 1, l1, l2;
  mnist_run(1, w, rows, mu, prec, p1, &c1, &l1);
  mnist_run(2, w, rows, mu, prec, p2, &c2, &l2);
  CHECK(memcmp(p1, p2, n * sizeof(float)) == 0);
  /* no allocation after the first step, threads or not */
  CHECK(c1 == 0 && c2 == 0);
  /* the pool's own block is all the second thread costs */
  CHECK(l2 >= l1 && l2 - l1 < 4096);
  int finite = 1;
  for (size_t i = 0; i < n; i++) finite &= isfinite(p1[i]) != 0;
  CHECK(finite);
  free(p1);
  free(p2);
}

static void test_threads(void) {
  /* batches under the parallel threshold, across it, and ragged */
  const int batches[] = {1, 7, 32, 256, 300};
  static const int small[4] = {784, 256, 128, 10};
  /* momentum, and plain SGD (its step folded into the backward pass) */
  for (int b = 0; b < 10; b++)
    threads_case(small, batches[b % 5], b < 5 ? 0.9f : 0, NERVE_FP32);
  /* a wider network, every GEMM of its wide layers packed */
  static const int medium[4] = {784, 640, 640, 10};
  threads_case(medium, 256, 0.9f, NERVE_FP32);
  threads_case(medium, 256, 0, NERVE_FP32);
  /* bf16: every GEMM packed, on the pair kernels where the CPU has them */
  threads_case(small, 7, 0.9f, NERVE_BF16);
  threads_case(small, 300, 0, NERVE_BF16);
  threads_case(medium, 256, 0.9f, NERVE_BF16);
  /* a context switches counts freely and frees its pool */
  counter c;
  nerve_ctx *ctx = new_ctx(&c);
  size_t base = c.live;
  CHECK(nerve_ctx_set_threads(ctx, 2) == NERVE_OK);
  CHECK(nerve_ctx_set_threads(ctx, 3) == NERVE_OK);
  CHECK(nerve_ctx_set_threads(ctx, 1) == NERVE_OK && c.live == base);
  CHECK(nerve_ctx_set_threads(ctx, 2) == NERVE_OK && c.live > base);
  end_ctx(ctx, &c);
  /* no memory for the pool: ENOMEM and still one thread */
  ctx = new_ctx(&c);
  c.fail_at = c.calls + 1;
  CHECK(nerve_ctx_set_threads(ctx, 2) == NERVE_ENOMEM);
  CHECK(nerve_ctx_threads(ctx) == 1);
  end_ctx(ctx, &c);
}

int main(void) {
  test_threads();
  return check_report("test_threads");
}
