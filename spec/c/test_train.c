/*
** test_train.c - the training loops: train_batch on XOR and its refusals,
** whole epochs against train_batch by hand, SGD folded into the backward
** pass, the loss and gradients of a step, lazily cleared gradients, and
** the precision of a network.
*/
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "engine.h"

/* --------------------------------------------------------------- training */

static const float XOR_X[8] = {0, 0, 0, 1, 1, 0, 1, 1};
static const float XOR_Y[4] = {0, 1, 1, 0};

static nerve_net *xor_net(nerve_ctx *ctx, uint64_t seed) {
  nerve_rng_seed(nerve_ctx_rng(ctx), seed);
  nerve_net *net;
  CHECK(nerve_net_new(ctx, &net) == NERVE_OK);
  add(net, lin(ctx, 2, 4));
  add(net, act(ctx, NERVE_TANH, 0));
  add(net, lin(ctx, 4, 1));
  add(net, act(ctx, NERVE_SIGMOID, 0));
  return net;
}

/* Trains with shuffled single rows and pairs; returns the last full loss. */
static double train_xor(nerve_ctx *ctx, nerve_net *net, int epochs) {
  nerve_mat x = nerve_mat_view((float *)XOR_X, 4, 2);
  nerve_mat y = nerve_mat_view((float *)XOR_Y, 4, 1);
  nerve_sgd_opts o = {0.5f, 0.9f, 0, 0};
  nerve_optim *opt;
  double e = 0;
  CHECK(nerve_sgd_new(net, &o, &opt) == NERVE_OK);
  int ok = 1;
  for (int ep = 0; ep < epochs; ep++) {
    int32_t idx[4] = {0, 1, 2, 3};
    for (int i = 3; i > 0; i--) { /* Fisher-Yates */
      int j = (int)nerve_rng_below(nerve_ctx_rng(ctx), (uint64_t)i + 1);
      int32_t t = idx[i];
      idx[i] = idx[j];
      idx[j] = t;
    }
    ok &= nerve_net_train_batch(net, NERVE_MSE, &x, &y, idx, 0, 2, opt, &e,
                                NULL) == NERVE_OK;
    ok &= nerve_net_train_batch(net, NERVE_MSE, &x, &y, idx + 2, 0, 2, opt, &e,
                                NULL) == NERVE_OK;
  }
  CHECK(ok);
  double gn;
  CHECK(nerve_net_train_batch(net, NERVE_MSE, &x, &y, NULL, 0, 4, NULL, &e,
                              &gn) == NERVE_OK);
  CHECK(gn >= 0 && gn == nerve_net_grad_norm(net));
  nerve_optim_free(opt);
  return e;
}

static void params_of(nerve_net *net, float *out) {
  for (int i = 0; i < nerve_net_param_count(net); i++) {
    nerve_mat p = nerve_net_param(net, i);
    memcpy(out, p.data, (size_t)p.rows * p.cols * sizeof(float));
    out += p.rows * p.cols;
  }
}

static void test_training(void) {
  counter c;
  nerve_ctx *ctx = new_ctx(&c);
  nerve_ctx_set_isa(ctx, "scalar");
  nerve_net *net = xor_net(ctx, 42);
  CHECK(nerve_net_num_params(net) == 17);
  double e = train_xor(ctx, net, 1500);
  CHECK(e < 0.01);
  nerve_mat x = nerve_mat_view((float *)XOR_X, 4, 2), out;
  CHECK(nerve_net_forward(net, &x, &out) == NERVE_OK);
  for (int i = 0; i < 4; i++) CHECK(fabs(out.data[i] - XOR_Y[i]) < 0.25);

  /* the same seed gives the same network, bit for bit */
  float pa[17], pb[17];
  params_of(net, pa);
  nerve_net *twin = xor_net(ctx, 42);
  train_xor(ctx, twin, 1500);
  params_of(twin, pb);
  CHECK(memcmp(pa, pb, sizeof pa) == 0);
  nerve_net_free(twin);

  /* no allocation in the steady state, nor for a smaller batch */
  nerve_mat y = nerve_mat_view((float *)XOR_Y, 4, 1);
  size_t calls = c.calls;
  for (int i = 0; i < 10; i++)
    CHECK(nerve_net_train_batch(net, NERVE_MSE, &x, &y, NULL, i % 2, 3 - i % 2,
                                NULL, &e, NULL) == NERVE_OK);
  CHECK(nerve_net_forward(net, &x, &out) == NERVE_OK);
  CHECK(c.calls == calls);

  /* bad rows or targets change nothing */
  float before[17], after[17];
  params_of(net, before);
  nerve_sgd_opts o = {0.5f, 0, 0, 0};
  nerve_optim *opt;
  CHECK(nerve_sgd_new(net, &o, &opt) == NERVE_OK);
  int32_t bad1[2] = {0, 4}, bad2[2] = {-1, 0};
  CHECK(nerve_net_train_batch(net, NERVE_MSE, &x, &y, bad1, 0, 2, opt, &e,
                              NULL) == NERVE_EARG);
  CHECK(nerve_net_train_batch(net, NERVE_MSE, &x, &y, bad2, 0, 2, opt, &e,
                              NULL) == NERVE_EARG);
  CHECK(nerve_net_train_batch(net, NERVE_MSE, &x, &y, NULL, 3, 2, opt, &e,
                              NULL) == NERVE_EARG);
  CHECK(nerve_net_train_batch(net, NERVE_MSE, &x, &y, NULL, -1, 2, opt, &e,
                              NULL) == NERVE_EARG);
  CHECK(nerve_net_train_batch(net, NERVE_MSE, &x, &y, NULL, 0, 0, opt, &e,
                              NULL) == NERVE_EARG);
  float ynan[4] = {0, 1, NAN, 0};
  nerve_mat yn = nerve_mat_view(ynan, 4, 1);
  CHECK(nerve_net_train_batch(net, NERVE_MSE, &x, &yn, NULL, 0, 4, opt, &e,
                              NULL) == NERVE_ENAN);
  /* ... but a NaN in a row not taken is no error */
  CHECK(nerve_net_train_batch(net, NERVE_MSE, &x, &yn, NULL, 0, 2, NULL, &e,
                              NULL) == NERVE_OK);
  params_of(net, after);
  CHECK(memcmp(before, after, sizeof before) == 0);
  nerve_mat y2 = nerve_mat_view((float *)XOR_Y, 2, 2);
  CHECK(nerve_net_train_batch(net, NERVE_MSE, &x, &y2, NULL, 0, 2, opt, &e,
                              NULL) == NERVE_ESHAPE);
  nerve_mat x3 = nerve_mat_view((float *)XOR_X, 2, 3);
  CHECK(nerve_net_train_batch(net, NERVE_MSE, &x3, &y2, NULL, 0, 2, opt, &e,
                              NULL) == NERVE_ESHAPE);
  float cls[4] = {1, 2, 3, 1};
  nerve_mat ym = nerve_mat_view(cls, 4, 1);
  CHECK(nerve_net_train_batch(net, NERVE_CROSS_ENTROPY, &x, &ym, NULL, 0, 4,
                              opt, &e, NULL) == NERVE_EARG);
  CHECK(nerve_optim_steps(opt) == 0);
  params_of(net, after);
  CHECK(memcmp(before, after, sizeof before) == 0);
  nerve_optim_free(opt);
  nerve_net_free(net);
  end_ctx(ctx, &c);
}

/* Whole epochs in one call are the same steps as nerve_net_train_batch
** driven by hand, with the same shuffles: the same floats, bit for bit. */
static void test_epochs(void) {
  counter c;
  nerve_ctx *ctx = new_ctx(&c);
  nerve_mat x = nerve_mat_view((float *)XOR_X, 4, 2);
  nerve_mat y = nerve_mat_view((float *)XOR_Y, 4, 1);
  nerve_net *a = xor_net(ctx, 7), *b = xor_net(ctx, 7), *snap = xor_net(ctx, 1);
  nerve_sgd_opts so = {0.5f, 0.9f, 0, 0};
  nerve_optim *oa, *ob;
  CHECK(nerve_sgd_new(a, &so, &oa) == NERVE_OK);
  CHECK(nerve_sgd_new(b, &so, &ob) == NERVE_OK);
  nerve_rng ra, rb;
  nerve_rng_seed(&ra, 5);
  nerve_rng_seed(&rb, 5);
  int32_t order[4] = {0, 1, 2, 3}, idx[4] = {0, 1, 2, 3};
  double losses[40];
  nerve_epochs e = {.loss = NERVE_MSE, .x = &x, .y = &y, .order = order,
                    .n = 4, .shuffle = &ra, .batch = 3, .opt = oa,
                    .epochs = 40, .snapshot = snap, .losses = losses};
  CHECK(nerve_net_train_epochs(a, &e) == NERVE_OK);
  CHECK(e.done == 40 && e.stopped == NERVE_STOP_EPOCHS);
  int same = 1;
  double gn = 0;
  for (int ep = 0; ep < 40; ep++) {
    for (int i = 3; i > 0; i--) {
      int j = (int)nerve_rng_below(&rb, (uint64_t)i + 1);
      int32_t t = idx[i];
      idx[i] = idx[j];
      idx[j] = t;
    }
    double l1, l2;
    same &= nerve_net_train_batch(b, NERVE_MSE, &x, &y, idx, 0, 3, ob, &l1,
                                  NULL) == NERVE_OK;
    same &= nerve_net_train_batch(b, NERVE_MSE, &x, &y, idx + 3, 0, 1, ob, &l2,
                                  &gn) == NERVE_OK;
    same &= losses[ep] == (l1 * 3 + l2 * 1) / 4;
  }
  CHECK(same);
  CHECK(e.loss_out == losses[39] && e.grad_norm == gn);
  float pa[17], pb[17], ps[17];
  params_of(a, pa);
  params_of(b, pb);
  params_of(snap, ps);
  CHECK(memcmp(pa, pb, sizeof pa) == 0);
  CHECK(memcmp(pa, ps, sizeof pa) == 0); /* the snapshot follows */

  /* no allocation once the buffers exist */
  size_t calls = c.calls;
  e.epochs = 5;
  CHECK(nerve_net_train_epochs(a, &e) == NERVE_OK && e.done == 5);
  CHECK(c.calls == calls);

  /* loss_below: stops after the first epoch under it */
  e.loss_below = losses[0] * 0.9;
  e.epochs = 40;
  CHECK(nerve_net_train_epochs(a, &e) == NERVE_OK);
  CHECK(e.stopped == NERVE_STOP_CRITERION && e.done >= 1);
  CHECK(losses[e.done - 1] < e.loss_below);
  for (int i = 0; i + 1 < e.done; i++) CHECK(losses[i] >= e.loss_below);
  e.loss_below = 0;
  e.norm_below = HUGE_VAL; /* holds at once */
  CHECK(nerve_net_train_epochs(a, &e) == NERVE_OK);
  CHECK(e.stopped == NERVE_STOP_CRITERION && e.done == 1);
  e.norm_below = 0;

  /* without an order: rows first to last, no shuffle */
  nerve_epochs in_order = {.loss = NERVE_MSE, .x = &x, .y = &y, .batch = 4,
                           .opt = oa, .epochs = 3};
  CHECK(nerve_net_train_epochs(a, &in_order) == NERVE_OK);
  CHECK(in_order.done == 3 && in_order.n == 4);

  /* refused before anything changes */
  params_of(a, pa);
  long steps = nerve_optim_steps(oa);
  int32_t bad[4] = {0, 1, 2, 4};
  nerve_epochs r = e;
  r.order = bad;
  r.shuffle = NULL;
  CHECK(nerve_net_train_epochs(a, &r) == NERVE_EARG && r.done == 0);
  r = e;
  r.opt = NULL;
  CHECK(nerve_net_train_epochs(a, &r) == NERVE_EARG);
  r = e;
  r.batch = 0;
  CHECK(nerve_net_train_epochs(a, &r) == NERVE_EARG);
  r = in_order;
  r.shuffle = &ra; /* nothing to shuffle */
  CHECK(nerve_net_train_epochs(a, &r) == NERVE_EARG);
  float ynan[4] = {0, 1, 1, NAN};
  nerve_mat yn = nerve_mat_view(ynan, 4, 1);
  r = e;
  r.y = &yn;
  CHECK(nerve_net_train_epochs(a, &r) == NERVE_ENAN);
  float xnan[8] = {0, 0, 0, 1, 1, NAN, 1, 1};
  nerve_mat xn = nerve_mat_view(xnan, 4, 2);
  r = e;
  r.x = &xn;
  CHECK(nerve_net_train_epochs(a, &r) == NERVE_ENAN);
  nerve_mat x3 = nerve_mat_view((float *)XOR_X, 2, 3);
  r = in_order;
  r.x = &x3;
  CHECK(nerve_net_train_epochs(a, &r) == NERVE_ESHAPE);
  params_of(a, pb);
  CHECK(memcmp(pa, pb, sizeof pa) == 0 && nerve_optim_steps(oa) == steps);

  /* divergence (a linear output and a huge rate): stops, and the snapshot
  ** keeps the last finite weights */
  nerve_net *d, *dsnap;
  CHECK(nerve_net_new(ctx, &d) == NERVE_OK);
  add(d, lin(ctx, 2, 4));
  add(d, act(ctx, NERVE_TANH, 0));
  add(d, lin(ctx, 4, 1));
  CHECK(nerve_net_clone(d, &dsnap) == NERVE_OK);
  nerve_sgd_opts huge = {1e30f, 0, 0, 0};
  nerve_optim *od;
  CHECK(nerve_sgd_new(d, &huge, &od) == NERVE_OK);
  r = e;
  r.opt = od;
  r.snapshot = dsnap;
  r.epochs = 40;
  CHECK(nerve_net_train_epochs(d, &r) == NERVE_OK);
  CHECK(r.stopped == NERVE_STOP_DIVERGED && !isfinite(r.loss_out));
  CHECK(r.done > 1 && !isfinite(losses[r.done - 1]));
  for (int i = 0; i + 1 < r.done; i++) CHECK(isfinite(losses[i]));
  for (int i = 0; i < nerve_net_param_count(dsnap); i++) {
    nerve_mat p = nerve_net_param(dsnap, i);
    CHECK(!nerve_mat_nonfinite(&p, NULL, NULL));
  }
  /* x_finite skips the scan of x: a NaN there is no error, it diverges */
  r.x = &xn;
  r.x_finite = 1;
  nerve_optim_set_lr(od, 0.1f);
  CHECK(nerve_net_train_epochs(d, &r) == NERVE_OK);
  CHECK(r.stopped == NERVE_STOP_DIVERGED && r.done == 1);
  nerve_optim_free(od);
  nerve_net_free(d);
  nerve_net_free(dsnap);

  nerve_optim_free(oa);
  nerve_optim_free(ob);
  nerve_net_free(a);
  nerve_net_free(b);
  nerve_net_free(snap);
  end_ctx(ctx, &c);
}

/* Pauses at every third poll: now between two batches of an epoch, now
** between two epochs. */
typedef struct pauser {
  int calls, pauses;
} pauser;

static int pause_often(void *ud) {
  pauser *p = ud;
  return ++p->calls % 3 == 0 ? (p->pauses++, 1) : 0;
}

/* A run paused between batches and resumed, pause after pause, trains
** the same batches as one that never pauses: the same floats, the same
** losses, the same snapshot. */
static void test_pause(void) {
  counter c;
  nerve_ctx *ctx = new_ctx(&c);
  nerve_mat x = nerve_mat_view((float *)XOR_X, 4, 2);
  nerve_mat y = nerve_mat_view((float *)XOR_Y, 4, 1);
  nerve_net *a = xor_net(ctx, 3), *b = xor_net(ctx, 3);
  nerve_net *sa = xor_net(ctx, 1), *sb = xor_net(ctx, 1);
  nerve_sgd_opts so = {0.5f, 0.9f, 0, 0};
  nerve_optim *oa, *ob;
  CHECK(nerve_sgd_new(a, &so, &oa) == NERVE_OK);
  CHECK(nerve_sgd_new(b, &so, &ob) == NERVE_OK);
  nerve_rng ra, rb;
  nerve_rng_seed(&ra, 9);
  nerve_rng_seed(&rb, 9);
  int32_t order_a[4] = {0, 1, 2, 3}, order_b[4] = {0, 1, 2, 3};
  enum { EPOCHS = 30 };
  double la[EPOCHS], lb[EPOCHS];
  nerve_epochs ea = {.loss = NERVE_MSE, .x = &x, .y = &y, .order = order_a,
                     .n = 4, .shuffle = &ra, .batch = 3, .opt = oa,
                     .epochs = EPOCHS, .snapshot = sa, .losses = la};
  CHECK(nerve_net_train_epochs(a, &ea) == NERVE_OK && ea.done == EPOCHS);
  pauser p = {0, 0};
  nerve_epochs eb = {.loss = NERVE_MSE, .x = &x, .y = &y, .order = order_b,
                     .n = 4, .shuffle = &rb, .batch = 3, .opt = ob,
                     .snapshot = sb, .poll = pause_often, .poll_ud = &p};
  int done = 0, calls = 0, mid = 0;
  do {
    eb.epochs = EPOCHS - done;
    eb.losses = lb + done;
    CHECK(nerve_net_train_epochs(b, &eb) == NERVE_OK);
    done += eb.done;
    mid += eb.pos > 0;
    calls++;
  } while (eb.stopped == NERVE_STOP_PAUSED && calls < 1000);
  CHECK(eb.stopped == NERVE_STOP_EPOCHS && done == EPOCHS && eb.pos == 0);
  CHECK(p.pauses > EPOCHS / 2 && mid > 0 && mid < p.pauses);
  CHECK(memcmp(la, lb, sizeof la) == 0);
  CHECK(ea.loss_out == eb.loss_out && ea.grad_norm == eb.grad_norm);
  CHECK(nerve_optim_steps(oa) == nerve_optim_steps(ob));
  float pa[17], pb[17];
  params_of(a, pa);
  params_of(b, pb);
  CHECK(memcmp(pa, pb, sizeof pa) == 0);
  params_of(sa, pa);
  params_of(sb, pb);
  CHECK(memcmp(pa, pb, sizeof pa) == 0);
  /* a position past the rows is refused */
  eb.pos = 4;
  eb.epochs = 1;
  CHECK(nerve_net_train_epochs(b, &eb) == NERVE_EARG);
  nerve_optim_free(oa);
  nerve_optim_free(ob);
  nerve_net_free(a);
  nerve_net_free(b);
  nerve_net_free(sa);
  nerve_net_free(sb);
  end_ctx(ctx, &c);
}

/* Plain SGD steps inside the backward pass (no gradient buffers): the same
** step as computing the gradients and then stepping, within rounding, and
** only when the optimizer owns exactly the net's linear layers. */
static nerve_net *small_net(nerve_ctx *ctx, uint64_t seed) {
  nerve_rng_seed(nerve_ctx_rng(ctx), seed);
  nerve_net *net;
  CHECK(nerve_net_new(ctx, &net) == NERVE_OK);
  add(net, lin(ctx, 20, 32));
  add(net, act(ctx, NERVE_TANH, 0));
  add(net, lin(ctx, 32, 16));
  add(net, act(ctx, NERVE_RELU, 0));
  add(net, lin(ctx, 16, 3));
  return net;
}

static void test_fused_sgd(void) {
  counter c;
  nerve_ctx *ctx = new_ctx(&c);
  enum { N = 40 };
  float xs[N * 20], ys[N];
  nerve_rng r;
  nerve_rng_seed(&r, 8);
  for (int i = 0; i < N * 20; i++) xs[i] = (float)nerve_rng_uniform(&r) - 0.5f;
  for (int i = 0; i < N; i++) ys[i] = (float)(1 + i % 3);
  nerve_mat x = nerve_mat_view(xs, N, 20), y = nerve_mat_view(ys, N, 1);
  nerve_net *a = small_net(ctx, 3), *b = small_net(ctx, 3);
  nerve_sgd_opts so = {0.2f, 0, 0, 0};
  nerve_optim *oa, *ob;
  CHECK(nerve_sgd_new(a, &so, &oa) == NERVE_OK);
  CHECK(nerve_sgd_new(b, &so, &ob) == NERVE_OK);
  int32_t idx[N];
  for (int i = 0; i < N; i++) idx[i] = (i * 7) % N;
  for (int s = 0; s < 12; s++) {
    double ea, eb, gn;
    const int32_t *ix = s % 2 ? idx : NULL; /* gathered rows, and in place */
    int first = s % 2 ? 0 : 5;
    /* a: folded; b: asks for the norm, so it keeps its gradients */
    CHECK(nerve_net_train_batch(a, NERVE_CROSS_ENTROPY, &x, &y, ix, first,
                                13, oa, &ea, NULL) == NERVE_OK);
    CHECK(nerve_net_train_batch(b, NERVE_CROSS_ENTROPY, &x, &y, ix, first,
                                13, ob, &eb, &gn) == NERVE_OK);
    CHECK_NEAR(ea, eb, 1e-5);
  }
  CHECK(nerve_optim_steps(oa) == 12 && nerve_optim_steps(ob) == 12);
  for (int i = 0; i < nerve_net_param_count(a); i++) {
    nerve_mat pa = nerve_net_param(a, i), pb = nerve_net_param(b, i);
    double worst = 0;
    for (int k = 0; k < pa.rows * pa.cols; k++) {
      double d = fabs(pa.data[k] - pb.data[k]);
      worst = d > worst ? d : worst;
    }
    CHECK(worst < 1e-5);
  }

  /* an optimizer made for another net steps its own layers only: the
  ** layer it does not own stays as it was */
  nerve_net *other;
  CHECK(nerve_net_new(ctx, &other) == NERVE_OK);
  nerve_layer *shared = nerve_net_layer(a, 0);
  nerve_layer_retain(shared);
  add(other, shared);
  add(other, act(ctx, NERVE_TANH, 0));
  add(other, lin(ctx, 32, 3));
  nerve_layer *own = nerve_net_layer(other, 2);
  nerve_layer_init(own, NERVE_INIT_XAVIER, &r);
  float before[32 * 3];
  memcpy(before, nerve_layer_weight(own).data, sizeof before);
  double e;
  CHECK(nerve_net_train_batch(other, NERVE_CROSS_ENTROPY, &x, &y, NULL, 0, 8,
                              oa, &e, NULL) == NERVE_OK);
  CHECK(memcmp(before, nerve_layer_weight(own).data, sizeof before) == 0);

  nerve_optim_free(oa);
  nerve_optim_free(ob);
  nerve_net_free(a);
  nerve_net_free(b);
  nerve_net_free(other);
  end_ctx(ctx, &c);
}

/* net's gradients, in parameter order, into out (as params_of). */
static void grads_of(nerve_net *net, float *out) {
  for (int i = 0; i < nerve_net_param_count(net); i++) {
    nerve_mat g = nerve_net_grad(net, i);
    memcpy(out, g.data, (size_t)g.rows * g.cols * sizeof(float));
    out += g.rows * g.cols;
  }
}

/* train_batch's loss (its rows on the pool, the log-sum-exp shared with
** the gradient) has the bits of nerve_loss_forward, and its gradients
** those of nerve_loss_backward and nerve_net_backward. */
static void test_step_loss(void) {
  counter c;
  nerve_ctx *ctx = new_ctx(&c);
  CHECK(nerve_ctx_set_threads(ctx, 2) == NERVE_OK);
  enum { N = 100, C = 16 };
  static float xs[N * 4], cls[N], hot[N * C], gs[N * C], g1[200], g2[200];
  nerve_rng r;
  nerve_rng_seed(&r, 9);
  for (int i = 0; i < N * 4; i++) xs[i] = (float)nerve_rng_uniform(&r) - 0.5f;
  for (int i = 0; i < N; i++) {
    cls[i] = (float)(1 + i % C);
    for (int j = 0; j < C; j++) hot[i * C + j] = j == i % C ? 1.0f : 0.0f;
  }
  nerve_mat x = nerve_mat_view(xs, N, 4), out;
  nerve_mat ys[3] = {nerve_mat_view(cls, N, 1), nerve_mat_view(hot, N, C),
                     nerve_mat_view(hot, N, C)};
  nerve_loss ks[3] = {NERVE_CROSS_ENTROPY, NERVE_CROSS_ENTROPY, NERVE_MSE};
  nerve_net *net;
  CHECK(nerve_net_new(ctx, &net) == NERVE_OK);
  add(net, lin(ctx, 4, 8));
  add(net, act(ctx, NERVE_TANH, 0));
  add(net, lin(ctx, 8, C));
  size_t np = nerve_net_num_params(net);
  CHECK(np <= 200);
  for (int t = 0; t < 3; t++) {
    double want, got, gn;
    CHECK(nerve_net_forward(net, &x, &out) == NERVE_OK);
    CHECK(nerve_loss_forward(ks[t], &out, &ys[t], &want) == NERVE_OK);
    nerve_mat g = nerve_mat_view(gs, N, C);
    CHECK(nerve_loss_backward(ks[t], &out, &ys[t], &g) == NERVE_OK);
    nerve_net_zero_grad(net);
    CHECK(nerve_net_backward(net, &x, &g, NULL) == NERVE_OK);
    grads_of(net, g1);
    CHECK(nerve_net_train_batch(net, ks[t], &x, &ys[t], NULL, 0, N, NULL,
                                &got, &gn) == NERVE_OK);
    CHECK(memcmp(&got, &want, sizeof got) == 0);
    grads_of(net, g2);
    CHECK(memcmp(g1, g2, np * sizeof(float)) == 0);
  }
  nerve_net_free(net);
  end_ctx(ctx, &c);
}

/* zero_grad only marks the gradients when nobody holds a view of them;
** the next backward then writes instead of adding. Whatever reads them
** sees exactly what an eager clear would have given. */
static void test_lazy_zero(void) {
  counter c;
  nerve_ctx *ctx = new_ctx(&c);
  nerve_net *lazy = NULL, *eager = NULL;
  nerve_rng_seed(nerve_ctx_rng(ctx), 4);
  for (int k = 0; k < 2; k++) {
    nerve_net *n;
    CHECK(nerve_net_new(ctx, &n) == NERVE_OK);
    add(n, lin(ctx, 5, 6));
    add(n, act(ctx, NERVE_TANH, 0));
    add(n, lin(ctx, 6, 6));
    add(n, act(ctx, NERVE_TANH, 0));
    add(n, lin(ctx, 6, 2));
    if (k) eager = n;
    else lazy = n;
  }
  CHECK(nerve_net_copy_params(eager, lazy) == NERVE_OK);
  float xs[4 * 5], gs[4 * 2];
  for (int i = 0; i < 20; i++) xs[i] = 0.1f * (float)(i % 7) - 0.3f;
  for (int i = 0; i < 8; i++) gs[i] = 0.05f * (float)(i % 5) - 0.1f;
  nerve_mat x = nerve_mat_view(xs, 4, 5), g = nerve_mat_view(gs, 4, 2), out;
  /* eager: a view of each gradient is out, so zero_grad clears at once */
  nerve_mat held = nerve_net_grad(eager, 0);
  for (int i = 0; i < nerve_net_param_count(eager); i++) nerve_net_grad(eager, i);
  float a[200], b[200];
  size_t np = nerve_net_num_params(lazy);
  CHECK(np <= 200);
  for (int round = 0; round < 3; round++) {
    nerve_net *nets[2] = {lazy, eager};
    for (int k = 0; k < 2; k++) {
      nerve_net_zero_grad(nets[k]);
      CHECK(nerve_net_forward(nets[k], &x, &out) == NERVE_OK);
      CHECK(nerve_net_backward(nets[k], &x, &g, NULL) == NERVE_OK);
      if (round == 2) /* accumulate a second backward */
        CHECK(nerve_net_backward(nets[k], &x, &g, NULL) == NERVE_OK);
    }
    CHECK(nerve_net_grad_norm(lazy) == nerve_net_grad_norm(eager));
    grads_of(eager, b);
    grads_of(lazy, a); /* shows lazy's gradients from here on */
    CHECK(memcmp(a, b, np * sizeof(float)) == 0);
  }
  /* cleared means zero, to every reader */
  nerve_net *fresh;
  CHECK(nerve_net_clone(lazy, &fresh) == NERVE_OK);
  CHECK(nerve_net_forward(fresh, &x, &out) == NERVE_OK);
  CHECK(nerve_net_backward(fresh, &x, &g, NULL) == NERVE_OK);
  nerve_net_zero_grad(fresh);
  CHECK(nerve_net_grad_norm(fresh) == 0);
  params_of(fresh, a);
  nerve_net_update(fresh, 0.5f);
  params_of(fresh, b);
  CHECK(memcmp(a, b, np * sizeof(float)) == 0);
  nerve_sgd_opts so = {0.5f, 0.9f, 0, 0};
  nerve_optim *o;
  CHECK(nerve_sgd_new(fresh, &so, &o) == NERVE_OK);
  CHECK(nerve_optim_step(o) == NERVE_OK);
  params_of(fresh, b);
  CHECK(memcmp(a, b, np * sizeof(float)) == 0);
  grads_of(fresh, a);
  int zero = 1;
  for (size_t i = 0; i < np; i++) zero &= a[i] == 0;
  CHECK(zero);
  /* a view taken before zero_grad reads zeros after it */
  nerve_net_zero_grad(eager);
  zero = 1;
  for (int i = 0; i < held.rows * held.cols; i++) zero &= held.data[i] == 0;
  CHECK(zero);
  nerve_optim_free(o);
  nerve_net_free(fresh);
  nerve_net_free(lazy);
  nerve_net_free(eager);
  end_ctx(ctx, &c);
}

/* -------------------------------------------------------------- precision */

/* How bf16 runs on ctx's table: in hardware on avx512 where the CPU has
** AVX512-BF16, else emulated. */
static const char *bf16_kernels(const nerve_ctx *ctx) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (strcmp(nerve_ctx_isa(ctx), "avx512") == 0 &&
      __builtin_cpu_supports("avx512bf16"))
    return "avx512_bf16";
#endif
  return "emulated";
}

/* The precision of a network: set, kept by clones, not by the model
** format; bf16 close to fp32 and the same for any thread count. */
static void test_precision(void) {
  counter c;
  nerve_ctx *ctx = new_ctx(&c);
  nerve_rng_seed(nerve_ctx_rng(ctx), 7);
  nerve_net *net = NULL, *copy = NULL, *back = NULL;
  CHECK(nerve_net_new(ctx, &net) == NERVE_OK);
  add(net, lin(ctx, 30, 300));
  add(net, act(ctx, NERVE_TANH, 0));
  add(net, lin(ctx, 300, 5));
  CHECK(nerve_net_precision(net) == NERVE_FP32);
  CHECK(nerve_net_set_precision(net, (nerve_precision)7) == NERVE_EARG);
  CHECK(nerve_net_precision(net) == NERVE_FP32);
  CHECK(strcmp(nerve_precision_kernels(ctx, NERVE_FP32), nerve_ctx_isa(ctx)) == 0);
  const char *how = nerve_precision_kernels(ctx, NERVE_BF16);
#if defined(NERVE_AMX)
  /* a build with the AMX kernels on a CPU with AMX */
  if (strcmp(how, "amx") == 0) how = bf16_kernels(ctx);
#endif
  CHECK(strcmp(how, bf16_kernels(ctx)) == 0);
  CHECK(nerve_precision_kernels(ctx, (nerve_precision)7) == NULL);
  enum { R = 40 };
  static float x[R * 30], f32[R * 5], b16[R * 5];
  for (int i = 0; i < R * 30; i++) x[i] = (float)sin(0.37 * i);
  nerve_mat xm = nerve_mat_view(x, R, 30), out;
  CHECK(nerve_net_forward(net, &xm, &out) == NERVE_OK);
  memcpy(f32, out.data, sizeof f32);
  CHECK(nerve_net_set_precision(net, NERVE_BF16) == NERVE_OK);
  CHECK(nerve_net_forward(net, &xm, &out) == NERVE_OK);
  memcpy(b16, out.data, sizeof b16);
  double d = 0;
  for (int i = 0; i < R * 5; i++) {
    double e = fabs(f32[i] - b16[i]);
    if (e > d) d = e;
  }
  CHECK(d > 0 && d < 0.05);
  CHECK(nerve_net_clone(net, &copy) == NERVE_OK);
  CHECK(nerve_net_precision(copy) == NERVE_BF16);
  void *bytes = NULL;
  size_t len = 0;
  CHECK(nerve_net_serialize(net, &bytes, &len) == NERVE_OK);
  CHECK(nerve_net_deserialize(ctx, bytes, len, &back) == NERVE_OK);
  CHECK(nerve_net_precision(back) == NERVE_FP32);
  /* two threads, the same bf16 floats */
  CHECK(nerve_ctx_set_threads(ctx, 2) == NERVE_OK);
  CHECK(nerve_net_forward(copy, &xm, &out) == NERVE_OK);
  CHECK(memcmp(out.data, b16, sizeof b16) == 0);
  nerve_free(ctx, bytes);
  nerve_net_free(net);
  nerve_net_free(copy);
  nerve_net_free(back);
  end_ctx(ctx, &c);
}

int main(void) {
  test_training();
  test_epochs();
  test_pause();
  test_fused_sgd();
  test_lazy_zero();
  test_step_loss();
  test_precision();
  return check_report("test_train");
}
