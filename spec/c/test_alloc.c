/*
** test_alloc.c - allocation failure at every allocation of two scenarios,
** one of everything that allocates and one whose GEMMs take the packed
** path: each failure is an ENOMEM, the call then works, nothing leaks.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"

/* ----------------------------------------------- allocation failure sweep */

/* Runs one call; on ENOMEM counts it and runs it again with the allocator
** healed, so the rest of the scenario checks that nothing was half done. */
#define TRY(expr)                                                        \
  do {                                                                   \
    nerve_status s_ = (expr);                                            \
    if (s_ == NERVE_ENOMEM) {                                            \
      (*fails)++;                                                        \
      c->fail_at = 0;                                                    \
      s_ = (expr);                                                       \
    }                                                                    \
    if (s_ != NERVE_OK) {                                                \
      fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #expr,      \
              nerve_strerror(s_));                                       \
      (*bad)++;                                                          \
    }                                                                    \
  } while (0)

/* A model file the scenario saves and loads (set by test_alloc_failures). */
static char sweep_path[256];

/* Everything that allocates; returns a digest of the results. */
static double scenario(counter *c, int *fails, int *bad) {
  nerve_ctx *ctx = NULL;
  nerve_net *net = NULL, *copy = NULL, *back = NULL, *disk = NULL;
  nerve_layer *l1 = NULL, *l2 = NULL, *a1 = NULL, *a2 = NULL;
  nerve_optim *sgd = NULL, *adam = NULL;
  void *bytes = NULL;
  size_t len = 0;
  double digest = 0, e = 0;
  TRY(nerve_ctx_new(&ctx, count_alloc, c));
  nerve_ctx_set_isa(ctx, "scalar");
  nerve_rng_seed(nerve_ctx_rng(ctx), 3);
  TRY(nerve_net_new(ctx, &net));
  TRY(nerve_linear_new(ctx, 3, 5, &l1));
  TRY(nerve_act_new(ctx, NERVE_TANH, 0, &a1));
  TRY(nerve_linear_new(ctx, 5, 2, &l2));
  TRY(nerve_act_new(ctx, NERVE_SOFTMAX, 0, &a2));
  TRY(nerve_net_add(net, l1));
  TRY(nerve_net_add(net, a1));
  TRY(nerve_net_add(net, l2));
  TRY(nerve_net_add(net, a2));
  float x[8 * 3], y[8], g[8 * 2];
  for (int i = 0; i < 24; i++) x[i] = (float)sin(i + 1.0);
  for (int i = 0; i < 8; i++) y[i] = (float)(1 + i % 2);
  nerve_mat xm = nerve_mat_view(x, 4, 3), out, gin;
  TRY(nerve_net_forward(net, &xm, &out));
  nerve_mat ym = nerve_mat_view(y, 4, 1), gm = nerve_mat_view(g, 4, 2);
  nerve_loss_backward(NERVE_CROSS_ENTROPY, &out, &ym, &gm);
  TRY(nerve_net_backward(net, &xm, &gm, &gin));
  digest += gin.data[5];
  xm.rows = 8; /* the buffers grow */
  TRY(nerve_net_forward(net, &xm, &out));
  digest += out.data[15];
  nerve_sgd_opts so = {0.1f, 0.9f, 0.01f, 1};
  nerve_adam_opts ao = {0.01f, 0.9f, 0.999f, 1e-8f, 0};
  TRY(nerve_sgd_new(net, &so, &sgd));
  TRY(nerve_adam_new(net, &ao, &adam));
  ym.rows = 8;
  xm.rows = 8;
  int32_t idx[3] = {7, 0, 3};
  TRY(nerve_net_train_batch(net, NERVE_CROSS_ENTROPY, &xm, &ym, NULL, 0, 8,
                            sgd, &e, NULL));
  digest += e;
  TRY(nerve_net_train_batch(net, NERVE_CROSS_ENTROPY, &xm, &ym, idx, 0, 3,
                            adam, &e, NULL));
  digest += e;
  TRY(nerve_optim_step(sgd));
  TRY(nerve_net_serialize(net, &bytes, &len));
  TRY(nerve_net_deserialize(ctx, bytes, len, &back));
  TRY(nerve_net_clone(net, &copy));
  TRY(nerve_net_forward(copy, &xm, &out));
  digest += out.data[3];
  TRY(nerve_net_forward(back, &xm, &out));
  digest += out.data[3];
  TRY(nerve_net_save(back, sweep_path));
  TRY(nerve_net_load(ctx, sweep_path, &disk));
  TRY(nerve_net_forward(disk, &xm, &out));
  digest += out.data[4];
  TRY(nerve_net_train_batch(copy, NERVE_CROSS_ENTROPY, &xm, &ym, NULL, 2, 5,
                            NULL, &e, NULL));
  digest += e;
  nerve_free(ctx, bytes);
  nerve_optim_free(sgd);
  nerve_optim_free(adam);
  nerve_net_free(net);
  nerve_net_free(copy);
  nerve_net_free(back);
  nerve_net_free(disk);
  nerve_layer_release(l1);
  nerve_layer_release(l2);
  nerve_layer_release(a1);
  nerve_layer_release(a2);
  nerve_ctx_free(ctx);
  return digest;
}

/* Layers wide enough and a batch big enough that the GEMMs take the
** packed path (kernels/gemm.h), whose buffers the engine grows: forward,
** backward (which grows the backward's own), a step with SGD folded into
** the backward pass, a bigger batch. On the best table. */
static double packed_scenario(counter *c, int *fails, int *bad) {
  nerve_ctx *ctx = NULL;
  nerve_net *net = NULL;
  nerve_layer *l1 = NULL, *a1 = NULL, *l2 = NULL;
  nerve_optim *sgd = NULL;
  double digest = 0, e = 0;
  enum { IN = 40, HID = 512, OUT = 10, ROWS = 96 };
  static float x[ROWS * IN], y[ROWS], g[ROWS * OUT];
  for (int i = 0; i < ROWS * IN; i++) x[i] = (float)sin(i + 1.0);
  for (int i = 0; i < ROWS; i++) y[i] = (float)(1 + i % OUT);
  TRY(nerve_ctx_new(&ctx, count_alloc, c));
  nerve_rng_seed(nerve_ctx_rng(ctx), 5);
  TRY(nerve_net_new(ctx, &net));
  TRY(nerve_linear_new(ctx, IN, HID, &l1));
  TRY(nerve_act_new(ctx, NERVE_RELU, 0, &a1));
  TRY(nerve_linear_new(ctx, HID, OUT, &l2));
  TRY(nerve_net_add(net, l1));
  TRY(nerve_net_add(net, a1));
  TRY(nerve_net_add(net, l2));
  nerve_mat xm = nerve_mat_view(x, 64, IN), out, gin;
  nerve_mat ym = nerve_mat_view(y, 64, 1), gm = nerve_mat_view(g, 64, OUT);
  TRY(nerve_net_forward(net, &xm, &out));
  digest += out.data[7];
  nerve_loss_backward(NERVE_CROSS_ENTROPY, &out, &ym, &gm);
  TRY(nerve_net_backward(net, &xm, &gm, &gin));
  digest += gin.data[9] + nerve_layer_grad_weight(l1).data[3];
  nerve_sgd_opts so = {0.1f, 0, 0, 0};
  TRY(nerve_sgd_new(net, &so, &sgd));
  TRY(nerve_net_train_batch(net, NERVE_CROSS_ENTROPY, &xm, &ym, NULL, 0, 64,
                            sgd, &e, NULL));
  digest += e + nerve_layer_weight(l1).data[11];
  xm.rows = ym.rows = ROWS; /* the buffers grow */
  TRY(nerve_net_train_batch(net, NERVE_CROSS_ENTROPY, &xm, &ym, NULL, 0,
                            ROWS, sgd, &e, NULL));
  digest += e + nerve_layer_weight(l1).data[11];
  /* bf16 packs every GEMM, the small ones too */
  TRY(nerve_net_set_precision(net, NERVE_BF16));
  TRY(nerve_net_train_batch(net, NERVE_CROSS_ENTROPY, &xm, &ym, NULL, 0,
                            ROWS, sgd, &e, NULL));
  digest += e + nerve_layer_weight(l1).data[11];
  nerve_optim_free(sgd);
  nerve_net_free(net);
  nerve_layer_release(l1);
  nerve_layer_release(a1);
  nerve_layer_release(l2);
  nerve_ctx_free(ctx);
  return digest;
}

/* Fails every allocation of a scenario in turn. */
static size_t sweep(double (*run)(counter *, int *, int *)) {
  counter c;
  int fails = 0, bad = 0;
  memset(&c, 0, sizeof c);
  double want = run(&c, &fails, &bad);
  size_t total = c.calls;
  CHECK(bad == 0 && fails == 0 && c.live == 0 && total > 20);
  int all_failed = 1, all_same = 1, all_clean = 1, all_ok = 1;
  for (size_t k = 1; k <= total; k++) {
    memset(&c, 0, sizeof c);
    c.fail_at = k;
    fails = bad = 0;
    double got = run(&c, &fails, &bad);
    all_failed &= fails == 1;
    all_same &= got == want;
    all_clean &= c.live == 0 && c.bad_free == 0 && c.resizes == 0;
    all_ok &= bad == 0;
    if (fails != 1 || got != want || c.live || bad)
      fprintf(stderr, "failing allocation %zu: fails %d, bad %d, live %zu\n",
              k, fails, bad, c.live);
  }
  CHECK(all_failed);
  CHECK(all_same);
  CHECK(all_clean);
  CHECK(all_ok);
  return total;
}

static void test_alloc_failures(void) {
  char dir[] = "/tmp/nerve_sweep_XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  snprintf(sweep_path, sizeof sweep_path, "%s/m.nrv", dir);
  size_t total = sweep(scenario);
  unlink(sweep_path);
  CHECK(rmdir(dir) == 0); /* no temporary file was left behind */
  size_t packed = sweep(packed_scenario);
  printf("test_alloc: allocation failure swept at %zu points, %zu more "
         "with packed GEMMs\n", total, packed);
}

int main(void) {
  test_alloc_failures();
  return check_report("test_alloc");
}
