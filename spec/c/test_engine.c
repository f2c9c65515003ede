/*
** test_engine.c - the engine against hand computations: the seed's 2-2-1
** sigmoid network number by number, gradients against central differences
** of a double-precision forward, optimizer steps, the model format and its
** rejections, allocation failure at every allocation, training and errors.
*/
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "nerve.h"

static const char *const isas[] = {"scalar", "avx2", "avx512", "neon"};
#define NISA 4

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

static void *count_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
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

static nerve_ctx *new_ctx(counter *c) {
  memset(c, 0, sizeof *c);
  nerve_ctx *ctx = NULL;
  CHECK(nerve_ctx_new(&ctx, count_alloc, c) == NERVE_OK);
  return ctx;
}

static void end_ctx(nerve_ctx *ctx, counter *c) {
  nerve_ctx_free(ctx);
  CHECK(c->live == 0);
  CHECK(c->bad_free == 0);
  CHECK(c->resizes == 0);
}

/* ------------------------------------------------------------- helpers */

static nerve_layer *lin(nerve_ctx *ctx, int n_in, int n_out) {
  nerve_layer *l = NULL;
  CHECK(nerve_linear_new(ctx, n_in, n_out, &l) == NERVE_OK);
  return l;
}

static nerve_layer *act(nerve_ctx *ctx, nerve_kind k, float alpha) {
  nerve_layer *l = NULL;
  CHECK(nerve_act_new(ctx, k, alpha, &l) == NERVE_OK);
  return l;
}

/* Appends l to net and drops the caller's reference. */
static void add(nerve_net *net, nerve_layer *l) {
  CHECK(nerve_net_add(net, l) == NERVE_OK);
  nerve_layer_release(l);
}

static void set_mat(nerve_mat m, const double *v) {
  for (int i = 0; i < m.rows; i++)
    for (int j = 0; j < m.cols; j++)
      m.data[i * m.stride + j] = (float)v[i * m.cols + j];
}

static double sig(double a) { return 1 / (1 + exp(-a)); }

/* Fills a parameter tensor with reproducible values in [-r, r]. */
static void fill_rand(nerve_mat m, nerve_rng *r, double range) {
  for (int i = 0; i < m.rows; i++)
    for (int j = 0; j < m.cols; j++)
      m.data[i * m.stride + j] =
          (float)((2 * nerve_rng_uniform(r) - 1) * range);
}

/* ------------------------------------------- 1. the seed's 2-2-1 network */

/* The seed network: inputs x1, x2; hidden sigmoid units 1, 2; one sigmoid
** output. W1[i][j] connects input i to hidden j, W2[j] hidden j to the
** output; b are the weights of the constant input 1. */
static const double W1[2][2] = {{0.15, 0.25}, {0.20, 0.30}};
static const double B1[2] = {0.35, 0.35};
static const double W2[2] = {0.40, 0.45};
static const double B2 = 0.60;
static const double X[2][2] = {{0.05, 0.10}, {0.50, -0.30}};
static const double Y[2] = {0.01, 0.90};

typedef struct seed_want {
  double yhat[2], e, dw1[2][2], db1[2], dw2[2], db2, dx[2][2];
} seed_want;

/* The classic derivation, by hand, for the first n rows. */
static seed_want seed_by_hand(int n) {
  seed_want w;
  memset(&w, 0, sizeof w);
  for (int r = 0; r < n; r++) {
    double a[2], o[2];
    for (int j = 0; j < 2; j++) { /* a_j = b_j + sum_i x_i w_ij */
      a[j] = B1[j] + X[r][0] * W1[0][j] + X[r][1] * W1[1][j];
      o[j] = sig(a[j]);
    }
    double aout = B2 + o[0] * W2[0] + o[1] * W2[1];
    double yhat = sig(aout);
    w.yhat[r] = yhat;
    w.e += (yhat - Y[r]) * (yhat - Y[r]) / (2.0 * n); /* E = 1/(2N) sum */
    /* delta_out = dE/dyhat * g'(a) = (yhat - y)/N * yhat (1 - yhat) */
    double dout = (yhat - Y[r]) / n * yhat * (1 - yhat);
    w.db2 += dout; /* dE/db = delta */
    for (int j = 0; j < 2; j++) {
      w.dw2[j] += dout * o[j]; /* dE/dw = delta * o_prev */
      /* delta_hidden_j = delta_out w_j g'(a_j) */
      double dh = dout * W2[j] * o[j] * (1 - o[j]);
      w.db1[j] += dh;
      for (int i = 0; i < 2; i++) {
        w.dw1[i][j] += dh * X[r][i];
        w.dx[r][i] += dh * W1[i][j]; /* dE/dx_i = sum_j delta_j w_ij */
      }
    }
  }
  return w;
}

static void test_seed_network(void) {
  counter c;
  nerve_ctx *ctx = new_ctx(&c);
  nerve_net *net;
  CHECK(nerve_net_new(ctx, &net) == NERVE_OK);
  nerve_layer *l1 = lin(ctx, 2, 2), *l2 = lin(ctx, 2, 1);
  set_mat(nerve_layer_weight(l1), &W1[0][0]);
  set_mat(nerve_layer_bias(l1), B1);
  set_mat(nerve_layer_weight(l2), W2);
  set_mat(nerve_layer_bias(l2), &B2);
  add(net, l1);
  add(net, act(ctx, NERVE_SIGMOID, 0));
  add(net, l2);
  add(net, act(ctx, NERVE_SIGMOID, 0));
  float xf[4], yf[2], gf[2];
  set_mat(nerve_mat_view(xf, 2, 2), &X[0][0]);
  set_mat(nerve_mat_view(yf, 2, 1), Y);
  int ran = 0;
  for (int is = 0; is < NISA; is++) {
    if (nerve_ctx_set_isa(ctx, isas[is]) != NERVE_OK) continue;
    ran++;
    for (int n = 1; n <= 2; n++) {
      seed_want w = seed_by_hand(n);
      nerve_mat x = nerve_mat_view(xf, n, 2), y = nerve_mat_view(yf, n, 1);
      nerve_mat g = nerve_mat_view(gf, n, 1), out, gin;
      double e;
      nerve_net_zero_grad(net);
      CHECK(nerve_net_forward(net, &x, &out) == NERVE_OK);
      CHECK(out.rows == n && out.cols == 1);
      for (int r = 0; r < n; r++) CHECK_NEAR(out.data[r], w.yhat[r], 1e-6);
      CHECK(nerve_loss_forward(NERVE_MSE, &out, &y, &e) == NERVE_OK);
      CHECK_NEAR(e, w.e, 1e-6);
      CHECK(nerve_loss_backward(NERVE_MSE, &out, &y, &g) == NERVE_OK);
      CHECK(nerve_net_backward(net, &x, &g, &gin) == NERVE_OK);
      nerve_mat gw1 = nerve_layer_grad_weight(l1),
                gb1 = nerve_layer_grad_bias(l1);
      nerve_mat gw2 = nerve_layer_grad_weight(l2),
                gb2 = nerve_layer_grad_bias(l2);
      for (int j = 0; j < 2; j++) {
        CHECK_NEAR(gb1.data[j], w.db1[j], 1e-7);
        CHECK_NEAR(gw2.data[j], w.dw2[j], 1e-7);
        for (int i = 0; i < 2; i++)
          CHECK_NEAR(gw1.data[i * 2 + j], w.dw1[i][j], 1e-7);
      }
      CHECK(gin.rows == n && gin.cols == 2);
      for (int r = 0; r < n; r++)
        for (int i = 0; i < 2; i++)
          CHECK_NEAR(gin.data[r * gin.stride + i], w.dx[r][i], 1e-7);
      CHECK_NEAR(gb2.data[0], w.db2, 1e-7);
      /* the gradient is really there (the test is not passing on zeros) */
      CHECK(fabs(w.db2) > 1e-4 && fabs(w.dw1[0][0]) > 1e-6);
    }
  }
  CHECK(ran >= 1);
  nerve_net_free(net);
  end_ctx(ctx, &c);
}

/* ----------------------------- 2. gradients against central differences */

#define MAXL 8
#define MAXW 8

/* The same network in double precision, for accurate numeric gradients. */
typedef struct dnet {
  int n;
  nerve_kind kind[MAXL];
  double alpha[MAXL];
  int nin[MAXL], nout[MAXL];
  double p[MAXL][MAXW * MAXW + MAXW]; /* W row-major then b */
} dnet;

static void dnet_from(dnet *d, nerve_net *net) {
  memset(d, 0, sizeof *d);
  d->n = nerve_net_count(net);
  for (int i = 0; i < d->n; i++) {
    nerve_layer *l = nerve_net_layer(net, i);
    d->kind[i] = nerve_layer_kind(l);
    d->alpha[i] = nerve_layer_alpha(l);
    d->nin[i] = nerve_layer_n_in(l);
    d->nout[i] = nerve_layer_n_out(l);
    if (d->kind[i] != NERVE_LINEAR) continue;
    nerve_mat w = nerve_layer_weight(l), b = nerve_layer_bias(l);
    int nw = w.rows * w.cols;
    for (int j = 0; j < nw; j++) d->p[i][j] = w.data[j];
    for (int j = 0; j < b.cols; j++) d->p[i][nw + j] = b.data[j];
  }
}

/* Runs one row through d; returns the output width. */
static int dnet_row(const dnet *d, const double *x, int w, double *out) {
  double v[MAXW], t[MAXW];
  memcpy(v, x, (size_t)w * sizeof *v);
  for (int i = 0; i < d->n; i++) {
    const double *p = d->p[i];
    switch (d->kind[i]) {
    case NERVE_LINEAR:
      for (int j = 0; j < d->nout[i]; j++) {
        t[j] = p[d->nin[i] * d->nout[i] + j];
        for (int k = 0; k < d->nin[i]; k++)
          t[j] += v[k] * p[k * d->nout[i] + j];
      }
      w = d->nout[i];
      memcpy(v, t, (size_t)w * sizeof *v);
      break;
    case NERVE_SIGMOID: for (int j = 0; j < w; j++) v[j] = sig(v[j]); break;
    case NERVE_TANH: for (int j = 0; j < w; j++) v[j] = tanh(v[j]); break;
    case NERVE_RELU:
      for (int j = 0; j < w; j++)
        v[j] = v[j] > 0 ? v[j] : 0;
      break;
    case NERVE_LEAKY_RELU:
      for (int j = 0; j < w; j++) v[j] = v[j] > 0 ? v[j] : d->alpha[i] * v[j];
      break;
    case NERVE_SOFTMAX: {
      double m = v[0], s = 0;
      for (int j = 1; j < w; j++) m = v[j] > m ? v[j] : m;
      for (int j = 0; j < w; j++) s += (v[j] = exp(v[j] - m));
      for (int j = 0; j < w; j++) v[j] /= s;
      break;
    }
    default: break;
    }
  }
  memcpy(out, v, (size_t)w * sizeof *v);
  return w;
}

static double dloss_row(nerve_loss k, const double *p, int c, const float *y,
                        int ycols) {
  double e = 0;
  if (k == NERVE_MSE)
    for (int j = 0; j < c; j++) e += 0.5 * (p[j] - y[j]) * (p[j] - y[j]);
  else if (k == NERVE_BCE)
    for (int j = 0; j < c; j++)
      e -= y[j] * log(p[j]) + (1 - y[j]) * log(1 - p[j]);
  else {
    double m = p[0], s = 0;
    for (int j = 1; j < c; j++) m = p[j] > m ? p[j] : m;
    for (int j = 0; j < c; j++) s += exp(p[j] - m);
    double lse = m + log(s);
    if (ycols == 1) e = lse - p[(int)y[0] - 1];
    else
      for (int j = 0; j < c; j++) e -= y[j] * (p[j] - lse);
  }
  return e;
}

static double dnet_loss(const dnet *d, const double *x, int rows, int cols,
                        nerve_loss k, const float *y, int ycols) {
  double e = 0, out[MAXW];
  for (int r = 0; r < rows; r++) {
    int c = dnet_row(d, x + r * cols, cols, out);
    e += dloss_row(k, out, c, y + r * ycols, ycols);
  }
  return e / rows;
}

typedef struct gcase {
  const char *name;
  nerve_loss loss;
  int rows, cols, stride, ycols;
  nerve_kind kinds[MAXL];
  int widths[MAXL]; /* n_out of linear layers; alpha*100 for leaky */
  int n;
} gcase;

static const gcase gcases[] = {
    {"sigmoid mse", NERVE_MSE, 5, 3, 3, 2,
     {NERVE_LINEAR, NERVE_SIGMOID, NERVE_LINEAR}, {4, 0, 2}, 3},
    {"tanh softmax mse", NERVE_MSE, 4, 3, 4, 3,
     {NERVE_LINEAR, NERVE_TANH, NERVE_LINEAR, NERVE_SOFTMAX}, {4, 0, 3, 0}, 4},
    {"relu leaky ce idx", NERVE_CROSS_ENTROPY, 6, 3, 3, 1,
     {NERVE_LINEAR, NERVE_RELU, NERVE_LINEAR, NERVE_LEAKY_RELU, NERVE_LINEAR,
      NERVE_IDENTITY},
     {5, 0, 4, 10, 3, 0}, 6},
    {"relu leaky ce onehot", NERVE_CROSS_ENTROPY, 6, 3, 3, 3,
     {NERVE_LINEAR, NERVE_RELU, NERVE_LINEAR, NERVE_LEAKY_RELU, NERVE_LINEAR},
     {5, 0, 4, 10, 3}, 5},
    {"sigmoid bce", NERVE_BCE, 5, 3, 3, 2,
     {NERVE_LINEAR, NERVE_TANH, NERVE_LINEAR, NERVE_SIGMOID}, {4, 0, 2, 0}, 4},
    {"activation first, strided", NERVE_MSE, 3, 3, 5, 2,
     {NERVE_SIGMOID, NERVE_LINEAR, NERVE_TANH}, {0, 2, 0}, 3},
    {"activations only", NERVE_MSE, 3, 4, 6, 4,
     {NERVE_LEAKY_RELU, NERVE_TANH, NERVE_SOFTMAX}, {20, 0, 0}, 3},
    {"relu first", NERVE_BCE, 4, 3, 4, 2,
     {NERVE_RELU, NERVE_LINEAR, NERVE_SIGMOID}, {0, 2, 0}, 3},
};

static nerve_net *build_case(nerve_ctx *ctx, const gcase *gc) {
  nerve_net *net;
  CHECK(nerve_net_new(ctx, &net) == NERVE_OK);
  int w = gc->cols;
  for (int i = 0; i < gc->n; i++) {
    if (gc->kinds[i] == NERVE_LINEAR) {
      nerve_layer *l = lin(ctx, w, gc->widths[i]);
      /* nonzero biases so every path is exercised */
      fill_rand(nerve_layer_bias(l), nerve_ctx_rng(ctx), 0.5);
      add(net, l);
      w = gc->widths[i];
    } else {
      add(net, act(ctx, gc->kinds[i], gc->widths[i] / 100.0f));
    }
  }
  return net;
}

/* Targets that fit the loss: indices, one-hot rows, or values in (0,1). */
static void make_targets(const gcase *gc, int c, nerve_rng *r, float *y) {
  for (int i = 0; i < gc->rows; i++) {
    int t = (int)nerve_rng_below(r, (uint64_t)c);
    for (int j = 0; j < gc->ycols; j++) {
      float *v = &y[i * gc->ycols + j];
      if (gc->loss == NERVE_CROSS_ENTROPY)
        *v = gc->ycols == 1 ? (float)(t + 1) : (float)(j == t);
      else
        *v = (float)(0.1 + 0.8 * nerve_rng_uniform(r));
    }
  }
}

static void gradcheck_case(nerve_ctx *ctx, const gcase *gc) {
  nerve_net *net = build_case(ctx, gc);
  nerve_rng *r = nerve_ctx_rng(ctx);
  float xf[64], yf[64], gf[64];
  double xd[64];
  for (int i = 0; i < gc->rows * gc->stride; i++)
    xf[i] = (float)(2 * nerve_rng_uniform(r) - 1);
  for (int i = 0; i < gc->rows; i++)
    for (int j = 0; j < gc->cols; j++)
      xd[i * gc->cols + j] = xf[i * gc->stride + j];
  nerve_mat x = {xf, gc->rows, gc->cols, gc->stride}, out, gin;
  CHECK(nerve_net_forward(net, &x, &out) == NERVE_OK);
  make_targets(gc, out.cols, r, yf);
  nerve_mat y = nerve_mat_view(yf, gc->rows, gc->ycols);
  nerve_mat g = nerve_mat_view(gf, out.rows, out.cols);
  double e;
  dnet d;
  dnet_from(&d, net);
  nerve_net_zero_grad(net);
  CHECK(nerve_loss_forward(gc->loss, &out, &y, &e) == NERVE_OK);
  CHECK_NEAR(e, dnet_loss(&d, xd, gc->rows, gc->cols, gc->loss, yf, gc->ycols),
             1e-5);
  CHECK(nerve_loss_backward(gc->loss, &out, &y, &g) == NERVE_OK);
  CHECK(nerve_net_backward(net, &x, &g, &gin) == NERVE_OK);
  const double h = 1e-6;
  double biggest = 0, worst = 0;
  /* every parameter */
  for (int i = 0; i < d.n; i++) {
    if (d.kind[i] != NERVE_LINEAR) continue;
    nerve_layer *l = nerve_net_layer(net, i);
    nerve_mat gw = nerve_layer_grad_weight(l), gb = nerve_layer_grad_bias(l);
    int nw = d.nin[i] * d.nout[i];
    for (int j = 0; j < nw + d.nout[i]; j++) {
      double keep = d.p[i][j];
      d.p[i][j] = keep + h;
      double ep =
          dnet_loss(&d, xd, gc->rows, gc->cols, gc->loss, yf, gc->ycols);
      d.p[i][j] = keep - h;
      double em =
          dnet_loss(&d, xd, gc->rows, gc->cols, gc->loss, yf, gc->ycols);
      d.p[i][j] = keep;
      double num = (ep - em) / (2 * h);
      double got = j < nw ? gw.data[j] : gb.data[j - nw];
      double err = fabs(got - num) / fmax(1, fabs(num));
      worst = fmax(worst, err);
      biggest = fmax(biggest, fabs(got));
    }
  }
  /* and every input */
  for (int k = 0; k < gc->rows * gc->cols; k++) {
    double keep = xd[k];
    xd[k] = keep + h;
    double ep = dnet_loss(&d, xd, gc->rows, gc->cols, gc->loss, yf, gc->ycols);
    xd[k] = keep - h;
    double em = dnet_loss(&d, xd, gc->rows, gc->cols, gc->loss, yf, gc->ycols);
    xd[k] = keep;
    double num = (ep - em) / (2 * h);
    double got = gin.data[(k / gc->cols) * gin.stride + k % gc->cols];
    worst = fmax(worst, fabs(got - num) / fmax(1, fabs(num)));
    biggest = fmax(biggest, fabs(got));
  }
  if (worst > 2e-5)
    fprintf(stderr, "gradcheck %s: worst %g\n", gc->name, worst);
  CHECK(worst <= 2e-5);
  CHECK(biggest > 1e-3); /* not passing on an all-zero gradient */
  nerve_net_free(net);
}

static void test_gradients(void) {
  counter c;
  nerve_ctx *ctx = new_ctx(&c);
  for (int is = 0; is < NISA; is++) {
    if (nerve_ctx_set_isa(ctx, isas[is]) != NERVE_OK) continue;
    nerve_rng_seed(nerve_ctx_rng(ctx), 7);
    for (size_t i = 0; i < sizeof gcases / sizeof gcases[0]; i++)
      gradcheck_case(ctx, &gcases[i]);
  }
  end_ctx(ctx, &c);
}

/* Losses at their edges: huge logits, probabilities of exactly 0 and 1,
** bad targets. */
static void test_loss_edges(void) {
  float z[4] = {1e4f, -1e4f, -1e4f, 1e4f}, t[2] = {2, 2}, g[4];
  nerve_mat zm = nerve_mat_view(z, 2, 2), tm = nerve_mat_view(t, 2, 1);
  nerve_mat gm = nerve_mat_view(g, 2, 2);
  double e;
  CHECK(nerve_loss_forward(NERVE_CROSS_ENTROPY, &zm, &tm, &e) == NERVE_OK);
  CHECK_NEAR(e, 1e4, 1e-6); /* row 1: 2e4, row 2: 0 */
  CHECK(nerve_loss_backward(NERVE_CROSS_ENTROPY, &zm, &tm, &gm) == NERVE_OK);
  CHECK_NEAR(g[0], 0.5, 1e-7);
  CHECK_NEAR(g[1], -0.5, 1e-7);
  CHECK_NEAR(g[2], 0, 1e-7);
  CHECK_NEAR(g[3], 0, 1e-7);

  float p[4] = {0, 1, 1, 0}, y[4] = {1, 0, 1, 0};
  nerve_mat pm = nerve_mat_view(p, 2, 2), ym = nerve_mat_view(y, 2, 2);
  CHECK(nerve_loss_forward(NERVE_BCE, &pm, &ym, &e) == NERVE_OK);
  CHECK(isfinite(e) && e > 90 && e <= 100.0 + 1e-9);
  CHECK(nerve_loss_backward(NERVE_BCE, &pm, &ym, &gm) == NERVE_OK);
  for (int i = 0; i < 4; i++) CHECK(isfinite(g[i]));
  CHECK(g[0] < 0 && g[1] > 0 && fabs(g[2]) < 1e-3 && fabs(g[3]) < 1e-3);

  /* targets: NaN, indices out of range or fractional, shapes */
  float bad[2] = {1, NAN};
  nerve_mat bm = nerve_mat_view(bad, 2, 1);
  CHECK(nerve_loss_check(NERVE_CROSS_ENTROPY, &zm, &bm) == NERVE_ENAN);
  bad[1] = 3;
  CHECK(nerve_loss_check(NERVE_CROSS_ENTROPY, &zm, &bm) == NERVE_EARG);
  bad[1] = 0;
  CHECK(nerve_loss_check(NERVE_CROSS_ENTROPY, &zm, &bm) == NERVE_EARG);
  bad[1] = 1.5f;
  CHECK(nerve_loss_check(NERVE_CROSS_ENTROPY, &zm, &bm) == NERVE_EARG);
  bad[1] = 2;
  CHECK(nerve_loss_check(NERVE_CROSS_ENTROPY, &zm, &bm) == NERVE_OK);
  CHECK(nerve_loss_check(NERVE_MSE, &zm, &bm) == NERVE_ESHAPE);
  y[3] = INFINITY;
  CHECK(nerve_loss_check(NERVE_MSE, &pm, &ym) == NERVE_ENAN);
  CHECK(nerve_loss_forward(NERVE_BCE, &pm, &ym, &e) == NERVE_ENAN);
  nerve_mat g3 = nerve_mat_view(g, 1, 2);
  y[3] = 0;
  CHECK(nerve_loss_backward(NERVE_MSE, &pm, &ym, &g3) == NERVE_ESHAPE);
  CHECK(nerve_loss_check(NERVE_LOSS_COUNT, &pm, &ym) == NERVE_EARG);
  CHECK(strcmp(nerve_loss_name(NERVE_CROSS_ENTROPY), "cross_entropy") == 0);
  CHECK(nerve_loss_name(NERVE_LOSS_COUNT) == NULL);
}

/* ------------------------------------------------------- 3. optimizers */

/* One linear 2 -> 1 layer: 3 parameters with fixed gradients. */
static const double P0[3] = {0.5, -0.3, 0.2}, G0[3] = {0.2, -0.1, 0.4};

typedef struct oref {
  int adam, nesterov;
  double lr, mom, wd, b1, b2, eps;
} oref;

/* The update rules of nerve.h, in double, for `steps` steps. */
static void optim_by_hand(const oref *o, int steps, double *p) {
  double v[3] = {0}, m[3] = {0};
  memcpy(p, P0, sizeof P0);
  for (int t = 1; t <= steps; t++)
    for (int j = 0; j < 3; j++) {
      double g = G0[j] + o->wd * p[j];
      if (o->adam) {
        m[j] = o->b1 * m[j] + (1 - o->b1) * g;
        v[j] = o->b2 * v[j] + (1 - o->b2) * g * g;
        double mh = m[j] / (1 - pow(o->b1, t)), vh = v[j] / (1 - pow(o->b2, t));
        p[j] -= o->lr * mh / (sqrt(vh) + o->eps);
      } else {
        v[j] = o->mom * v[j] + g; /* no dampening; v starts at 0 */
        p[j] -= o->lr * (o->nesterov ? g + o->mom * v[j] : v[j]);
      }
    }
}

static void check_optim(const oref *o) {
  counter c;
  nerve_ctx *ctx = new_ctx(&c);
  nerve_net *net;
  CHECK(nerve_net_new(ctx, &net) == NERVE_OK);
  nerve_layer *l = lin(ctx, 2, 1);
  add(net, l);
  set_mat(nerve_layer_weight(l), P0);
  set_mat(nerve_layer_bias(l), P0 + 2);
  set_mat(nerve_layer_grad_weight(l), G0);
  set_mat(nerve_layer_grad_bias(l), G0 + 2);
  nerve_optim *opt = NULL;
  if (o->adam) {
    nerve_adam_opts a = {(float)o->lr, (float)o->b1, (float)o->b2,
                         (float)o->eps, (float)o->wd};
    CHECK(nerve_adam_new(net, &a, &opt) == NERVE_OK);
  } else {
    nerve_sgd_opts s = {(float)o->lr, (float)o->mom, (float)o->wd, o->nesterov};
    CHECK(nerve_sgd_new(net, &s, &opt) == NERVE_OK);
  }
  /* the optimizer holds the layers: it outlives the network */
  nerve_net_free(net);
  for (int t = 1; t <= 3; t++) {
    double want[3];
    optim_by_hand(o, t, want);
    CHECK(nerve_optim_step(opt) == NERVE_OK);
    CHECK(nerve_optim_steps(opt) == t);
    float *w = nerve_layer_weight(l).data, *b = nerve_layer_bias(l).data;
    CHECK_NEAR(w[0], want[0], 2e-6);
    CHECK_NEAR(w[1], want[1], 2e-6);
    CHECK_NEAR(b[0], want[2], 2e-6);
    /* gradients are left as they were */
    CHECK(nerve_layer_grad_weight(l).data[1] == (float)G0[1]);
  }
  CHECK(nerve_optim_lr(opt) == (float)o->lr);
  nerve_optim_set_lr(opt, 0.5f);
  CHECK(nerve_optim_lr(opt) == 0.5f);
  nerve_optim_free(opt);
  end_ctx(ctx, &c);
}

static void test_optimizers(void) {
  const oref cases[] = {
      {0, 0, 0.1, 0, 0, 0, 0, 0},       /* plain */
      {0, 0, 0.1, 0.9, 0, 0, 0, 0},     /* momentum */
      {0, 1, 0.1, 0.9, 0, 0, 0, 0},     /* Nesterov */
      {0, 0, 0.1, 0.9, 0.01, 0, 0, 0},  /* momentum + weight decay */
      {0, 0, 0.1, 0, 0.5, 0, 0, 0},     /* weight decay alone */
      {0, 1, 0.05, 0.5, 0.1, 0, 0, 0},  /* everything */
      {1, 0, 0.01, 0, 0, 0.9, 0.999, 1e-8},
      {1, 0, 0.1, 0, 0.1, 0.8, 0.99, 1e-3},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    check_optim(&cases[i]);

  /* numbers written out: p = 0.5, g = 0.2, lr = 0.1 */
  double p[3];
  oref mom = {0, 0, 0.1, 0.9, 0, 0, 0, 0};
  optim_by_hand(&mom, 1, p);
  CHECK_NEAR(p[0], 0.48, 1e-12); /* first step: v = g */
  optim_by_hand(&mom, 2, p);
  CHECK_NEAR(p[0], 0.48 - 0.1 * (0.9 * 0.2 + 0.2), 1e-12);
  oref adam = {1, 0, 0.01, 0, 0, 0.9, 0.999, 1e-8};
  optim_by_hand(&adam, 1, p);
  CHECK_NEAR(p[0], 0.5 - 0.01 * 0.2 / (0.2 + 1e-8), 1e-12); /* t = 1 */

  /* bad options */
  counter c;
  nerve_ctx *ctx = new_ctx(&c);
  nerve_net *net;
  CHECK(nerve_net_new(ctx, &net) == NERVE_OK);
  add(net, lin(ctx, 2, 2));
  nerve_optim *opt = NULL;
  nerve_sgd_opts s = {NAN, 0, 0, 0};
  CHECK(nerve_sgd_new(net, &s, &opt) == NERVE_EARG);
  s.lr = 0.1f;
  s.momentum = -1;
  CHECK(nerve_sgd_new(net, &s, &opt) == NERVE_EARG);
  nerve_adam_opts a = {0.1f, 1.0f, 0.999f, 1e-8f, 0};
  CHECK(nerve_adam_new(net, &a, &opt) == NERVE_EARG);
  CHECK(opt == NULL);
  nerve_net_free(net);
  end_ctx(ctx, &c);
}

/* ----------------------------------------------------- 4. model format */

static uint32_t test_crc(const unsigned char *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
  }
  return ~c;
}

static void put32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

static void reseal(unsigned char *p, size_t len) {
  put32(p + len - 4, test_crc(p, len - 4));
}

static nerve_net *format_net(nerve_ctx *ctx) {
  nerve_net *net;
  CHECK(nerve_net_new(ctx, &net) == NERVE_OK);
  nerve_layer *l1 = lin(ctx, 3, 4), *l2 = lin(ctx, 4, 2);
  fill_rand(nerve_layer_bias(l1), nerve_ctx_rng(ctx), 1);
  fill_rand(nerve_layer_bias(l2), nerve_ctx_rng(ctx), 1);
  add(net, l1);
  add(net, act(ctx, NERVE_TANH, 0));
  add(net, l2);
  add(net, act(ctx, NERVE_LEAKY_RELU, 0.2f));
  add(net, act(ctx, NERVE_SOFTMAX, 0));
  return net;
}

static int same_net(nerve_net *a, nerve_net *b) {
  if (nerve_net_count(a) != nerve_net_count(b)) return 0;
  for (int i = 0; i < nerve_net_count(a); i++) {
    nerve_layer *la = nerve_net_layer(a, i), *lb = nerve_net_layer(b, i);
    if (nerve_layer_kind(la) != nerve_layer_kind(lb) ||
        nerve_layer_alpha(la) != nerve_layer_alpha(lb) ||
        nerve_layer_n_in(la) != nerve_layer_n_in(lb) ||
        nerve_layer_n_out(la) != nerve_layer_n_out(lb))
      return 0;
  }
  for (int i = 0; i < nerve_net_param_count(a); i++) {
    nerve_mat pa = nerve_net_param(a, i), pb = nerve_net_param(b, i);
    if (pa.rows != pb.rows || pa.cols != pb.cols ||
        memcmp(pa.data, pb.data, (size_t)pa.rows * pa.cols * sizeof(float)))
      return 0;
  }
  float x[6] = {0.1f, -0.2f, 0.3f, 0.7f, 0.5f, -0.9f}, ya[4];
  nerve_mat xm = nerve_mat_view(x, 2, 3), oa, ob;
  if (nerve_net_forward(a, &xm, &oa) || nerve_net_forward(b, &xm, &ob))
    return 0;
  memcpy(ya, oa.data, sizeof ya);
  return memcmp(ya, ob.data, sizeof ya) == 0;
}

static nerve_status deser(nerve_ctx *ctx, const void *p, size_t n) {
  nerve_net *net = NULL;
  nerve_status s = nerve_net_deserialize(ctx, p, n, &net);
  nerve_net_free(net);
  return s;
}

static void test_format_rejects(nerve_ctx *ctx, counter *c,
                                const unsigned char *good, size_t len) {
  unsigned char *b = malloc(len + 64);
  CHECK(deser(ctx, NULL, 0) == NERVE_ETRUNC);
  CHECK(deser(ctx, good, 0) == NERVE_ETRUNC);
  int all_trunc = 1;
  for (size_t n = 0; n < len; n++)
    all_trunc &= deser(ctx, good, n) == NERVE_ETRUNC;
  CHECK(all_trunc);
  /* one extra byte */
  memcpy(b, good, len);
  b[len] = 0;
  CHECK(deser(ctx, b, len + 1) == NERVE_EFORMAT);
  /* a flipped bit anywhere */
  int flips_ok = 1;
  for (size_t i = 0; i < len; i++)
    for (int bit = 0; bit < 8; bit += 7) {
      memcpy(b, good, len);
      b[i] ^= (unsigned char)(1u << bit);
      nerve_status s = deser(ctx, b, len);
      nerve_status want = i < 8    ? NERVE_EFORMAT
                          : i < 12 ? NERVE_EVERSION
                                   : NERVE_ECHECKSUM;
      /* the length field: a longer claim reads as truncation */
      if (i >= 16 && i < 20 && s != NERVE_OK) continue;
      if (s != want) {
        fprintf(stderr, "flip at %zu bit %d: %s\n", i, bit, nerve_strerror(s));
        flips_ok = 0;
      }
    }
  CHECK(flips_ok);
  memcpy(b, "NERVEMDX", 8);
  CHECK(deser(ctx, b, len) == NERVE_EFORMAT);
  CHECK(deser(ctx, "GIF89a", 6) == NERVE_EFORMAT);
  /* a later version, properly sealed */
  memcpy(b, good, len);
  put32(b + 8, 2);
  reseal(b, len);
  CHECK(deser(ctx, b, len) == NERVE_EVERSION);
  /* sealed but inconsistent: bad kind, n_in not the running width, NaN */
  memcpy(b, good, len);
  put32(b + 20 + 16, 99);
  reseal(b, len);
  CHECK(deser(ctx, b, len) == NERVE_EFORMAT);
  memcpy(b, good, len);
  put32(b + 20 + 2 * 16 + 4, 5); /* second linear's n_in: 5, not 4 */
  reseal(b, len);
  CHECK(deser(ctx, b, len) == NERVE_EFORMAT);
  memcpy(b, good, len);
  put32(b + len - 8, 0x7fc00000u); /* last parameter: NaN */
  reseal(b, len);
  CHECK(deser(ctx, b, len) == NERVE_EFORMAT);
  /* huge sizes, sealed: refused before any allocation */
  size_t calls = c->calls;
  memcpy(b, good, len);
  put32(b + 20 + 4, 1u << 24); /* 2^24 x 4 is fine alone ... */
  put32(b + 20 + 8, 1u << 24); /* ... 2^24 x 2^24 is not */
  reseal(b, len);
  CHECK(deser(ctx, b, len) == NERVE_ELIMIT);
  put32(b + 20 + 4, 0xFFFFFFFFu);
  reseal(b, len);
  CHECK(deser(ctx, b, len) == NERVE_ELIMIT);
  memcpy(b, good, len);
  put32(b + 12, 0x7FFFFFFFu); /* layer count */
  reseal(b, len);
  CHECK(deser(ctx, b, len) == NERVE_ELIMIT);
  CHECK(c->calls == calls);
  free(b);
}

static void test_format(void) {
  counter c;
  nerve_ctx *ctx = new_ctx(&c);
  nerve_net *net = format_net(ctx), *back = NULL;
  void *bytes;
  size_t len;
  CHECK(nerve_net_serialize(net, &bytes, &len) == NERVE_OK);
  CHECK(len == 20 + 5 * 16 + 4 * (16 + 10) + 4);
  const unsigned char *p = bytes;
  CHECK(memcmp(p, "NERVEMDL", 8) == 0 && get32(p + 8) == 1 &&
        get32(p + 12) == 5 && get32(p + 16) == len);
  CHECK(get32(p + len - 4) == test_crc(p, len - 4));
  CHECK(nerve_net_deserialize(ctx, bytes, len, &back) == NERVE_OK);
  CHECK(same_net(net, back));
  nerve_net_free(back);
  test_format_rejects(ctx, &c, bytes, len);

  /* files */
  char dir[] = "/tmp/nerve_test_XXXXXX", path[256];
  CHECK(mkdtemp(dir) != NULL);
  snprintf(path, sizeof path, "%s/model.nrv", dir);
  CHECK(nerve_net_save(net, path) == NERVE_OK);
  CHECK(nerve_net_save(net, path) == NERVE_OK); /* over an old file */
  back = NULL;
  CHECK(nerve_net_load(ctx, path, &back) == NERVE_OK);
  CHECK(back && same_net(net, back));
  nerve_net_free(back);
  FILE *f = fopen(path, "rb");
  unsigned char *disk = malloc(len + 1);
  CHECK(f && fread(disk, 1, len + 1, f) == len &&
        memcmp(disk, bytes, len) == 0);
  if (f) fclose(f);
  free(disk);
  /* a truncated file */
  f = fopen(path, "wb");
  CHECK(f && fwrite(bytes, 1, len / 2, f) == len / 2);
  if (f) fclose(f);
  CHECK(nerve_net_load(ctx, path, &back) == NERVE_ETRUNC);
  unlink(path);
  errno = 0;
  CHECK(nerve_net_load(ctx, path, &back) == NERVE_EIO && errno == ENOENT);
  CHECK(nerve_net_load(ctx, dir, &back) == NERVE_EIO);
  char bad[300];
  snprintf(bad, sizeof bad, "%s/no/such/dir/m.nrv", dir);
  errno = 0;
  CHECK(nerve_net_save(net, bad) == NERVE_EIO && errno == ENOENT);
  CHECK(rmdir(dir) == 0); /* no temporary file was left behind */
  nerve_free(ctx, bytes);
  nerve_net_free(net);
  end_ctx(ctx, &c);
}

/* ------------------------------------------- 5. allocation failure sweep */

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
  printf("test_engine: allocation failure swept at %zu points, %zu more "
         "with packed GEMMs\n", total, packed);
}

/* ------------------------------------------------------------ 6. training */

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
  nerve_epochs e = {NERVE_MSE, &x, &y, order, 4, 0, &ra, 3, oa, 40, 0, 0,
                    snap, losses, 0, NERVE_STOP_EPOCHS, 0, 0};
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
  nerve_epochs in_order = {NERVE_MSE, &x, &y, NULL, 0, 0, NULL, 4, oa, 3, 0, 0,
                           NULL, NULL, 0, NERVE_STOP_EPOCHS, 0, 0};
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

/* ------------------------------------------------------------ 7. errors */

static void test_errors(void) {
  counter c;
  nerve_ctx *ctx = new_ctx(&c);
  nerve_net *net, *other;
  CHECK(nerve_net_new(ctx, &net) == NERVE_OK);
  CHECK(nerve_net_new(ctx, &other) == NERVE_OK);
  float x[12] = {0}, g[12] = {0};
  nerve_mat xm = nerve_mat_view(x, 2, 2), out, gin;
  CHECK(nerve_net_forward(net, &xm, &out) == NERVE_EARG); /* no layers */
  nerve_layer *l1 = lin(ctx, 2, 3), *l2 = lin(ctx, 4, 1), *l3 = lin(ctx, 3, 3);
  nerve_layer *l;
  CHECK(nerve_net_add(net, l1) == NERVE_OK);
  CHECK(nerve_net_add(net, l2) == NERVE_ESHAPE);
  CHECK(nerve_net_count(net) == 1);
  CHECK(nerve_net_add(net, l3) == NERVE_OK);
  CHECK(nerve_net_add(net, l3) == NERVE_EARG); /* the same layer twice */
  CHECK(nerve_net_add(net, l1) == NERVE_EARG);
  CHECK(nerve_net_count(net) == 2);
  CHECK(nerve_net_add(other, l3) == NERVE_OK); /* shared across nets: fine */
  CHECK(nerve_net_n_in(net) == 2 && nerve_net_n_out(net) == 3);
  CHECK(nerve_net_param_count(net) == 4 && nerve_net_num_params(net) == 21);
  CHECK(nerve_net_param(net, 4).data == NULL);
  CHECK(nerve_net_layer(net, 2) == NULL && nerve_net_layer(net, -1) == NULL);
  /* backward before forward */
  nerve_mat gm = nerve_mat_view(g, 2, 3);
  CHECK(nerve_net_backward(net, &xm, &gm, &gin) == NERVE_ESTATE);
  /* widths */
  nerve_mat x3 = nerve_mat_view(x, 2, 3);
  CHECK(nerve_net_forward(net, &x3, &out) == NERVE_ESHAPE);
  CHECK(nerve_net_forward(net, &xm, &out) == NERVE_OK);
  CHECK(out.rows == 2 && out.cols == 3);
  nerve_mat x1 = nerve_mat_view(x, 1, 2), g2 = nerve_mat_view(g, 2, 2);
  CHECK(nerve_net_backward(net, &x1, &gm, &gin) == NERVE_ESTATE);
  CHECK(nerve_net_backward(net, &xm, &g2, &gin) == NERVE_ESHAPE);
  CHECK(nerve_net_backward(net, &xm, &gm, &gin) == NERVE_OK);
  CHECK(gin.rows == 2 && gin.cols == 2);
  CHECK(nerve_net_backward(net, &xm, &gm, NULL) == NERVE_OK);
  /* a bad view */
  nerve_mat bad = {x, 2, 3, 2};
  CHECK(nerve_net_forward(net, &bad, &out) == NERVE_EARG);
  /* adding a layer forgets the kept batch */
  CHECK(nerve_act_new(ctx, NERVE_RELU, 0, &l) == NERVE_OK);
  CHECK(nerve_net_add(net, l) == NERVE_OK);
  nerve_layer_release(l);
  CHECK(nerve_net_backward(net, &xm, &gm, &gin) == NERVE_ESTATE);
  /* forward of our own output, twice through a square net */
  CHECK(nerve_net_forward(other, &x3, &out) == NERVE_OK);
  float keep[6];
  memcpy(keep, out.data, sizeof keep);
  nerve_mat again = out;
  CHECK(nerve_net_forward(other, &again, &out) == NERVE_OK);
  nerve_mat km = nerve_mat_view(keep, 2, 3), o2;
  CHECK(nerve_net_forward(net, &xm, &o2) == NERVE_OK);
  nerve_net *ref;
  CHECK(nerve_net_clone(other, &ref) == NERVE_OK);
  CHECK(nerve_net_forward(ref, &km, &o2) == NERVE_OK);
  CHECK(memcmp(o2.data, out.data, sizeof keep) == 0);
  /* copy_params */
  CHECK(nerve_net_copy_params(ref, net) == NERVE_ESHAPE);
  fill_rand(nerve_layer_weight(l3), nerve_ctx_rng(ctx), 1);
  CHECK(nerve_net_copy_params(ref, other) == NERVE_OK);
  CHECK(memcmp(nerve_net_param(ref, 0).data, nerve_layer_weight(l3).data,
               9 * sizeof(float)) == 0);
  nerve_net_free(ref);
  /* activations and kinds */
  CHECK(nerve_act_new(ctx, NERVE_LINEAR, 0, &l) == NERVE_EARG);
  CHECK(nerve_act_new(ctx, NERVE_KIND_COUNT, 0, &l) == NERVE_EARG);
  CHECK(nerve_act_new(ctx, NERVE_LEAKY_RELU, NAN, &l) == NERVE_EARG);
  CHECK(nerve_linear_new(ctx, 0, 3, &l) == NERVE_EARG);
  CHECK(nerve_linear_new(ctx, NERVE_MAX_DIM + 1, 3, &l) == NERVE_EARG);
  CHECK(nerve_linear_new(ctx, NERVE_MAX_DIM, NERVE_MAX_DIM, &l) ==
        NERVE_ELIMIT);
  CHECK(nerve_kind_find("leaky_relu") == NERVE_LEAKY_RELU);
  CHECK(nerve_kind_find("nope") == -1);
  CHECK(strcmp(nerve_kind_name(NERVE_SOFTMAX), "softmax") == 0);
  CHECK(nerve_kind_name(NERVE_KIND_COUNT) == NULL);
  CHECK(nerve_layer_weight(l1).rows == 2 && nerve_layer_bias(l1).cols == 3);
  CHECK(nerve_layer_init(l1, NERVE_INIT_ZERO, nerve_ctx_rng(ctx)) == NERVE_OK);
  CHECK(nerve_layer_weight(l1).data[5] == 0);
  CHECK(nerve_layer_init(l1, (nerve_init)9, nerve_ctx_rng(ctx)) == NERVE_EARG);
  /* init ranges */
  nerve_layer *big = lin(ctx, 30, 20);
  const nerve_init inits[3] = {NERVE_INIT_XAVIER, NERVE_INIT_HE,
                               NERVE_INIT_UNIFORM};
  const double r[3] = {sqrt(6.0 / 50), sqrt(6.0 / 30), 1 / sqrt(30.0)};
  for (int i = 0; i < 3; i++) {
    CHECK(nerve_layer_init(big, inits[i], nerve_ctx_rng(ctx)) == NERVE_OK);
    double mx = 0;
    for (int j = 0; j < 600; j++)
      mx = fmax(mx, fabs(nerve_layer_weight(big).data[j]));
    CHECK(mx <= r[i] && mx > 0.9 * r[i]);
    CHECK(nerve_layer_bias(big).data[7] == 0);
  }
  nerve_layer_release(big);
  nerve_layer_release(l1);
  nerve_layer_release(l2);
  nerve_layer_release(l3);
  nerve_net_free(net);
  nerve_net_free(other);
  end_ctx(ctx, &c);
}

/* ------------------------------------------------------ context and rng */

static void test_context(void) {
  counter c;
  nerve_ctx *ctx = new_ctx(&c);
  CHECK(nerve_isa_supported("scalar"));
  CHECK(!nerve_isa_supported("mmx"));
  CHECK(nerve_ctx_set_isa(ctx, "mmx") == NERVE_EARG);
  CHECK(nerve_ctx_set_isa(ctx, "scalar") == NERVE_OK);
  CHECK(strcmp(nerve_ctx_isa(ctx), "scalar") == 0);
  CHECK(nerve_ctx_threads(ctx) == 1);
  CHECK(nerve_ctx_set_threads(ctx, 0) == NERVE_EARG);
  CHECK(nerve_ctx_set_threads(ctx, 4) == NERVE_OK &&
        nerve_ctx_threads(ctx) == 4);
  void *a = nerve_malloc(ctx, 0), *b = nerve_malloc(ctx, 0),
       *d = nerve_malloc(ctx, 1000);
  CHECK(a && b && a != b && d);
  CHECK((uintptr_t)a % 64 == 0 && (uintptr_t)d % 64 == 0);
  nerve_free(ctx, a);
  nerve_free(ctx, b);
  nerve_free(ctx, d);
  nerve_free(ctx, NULL);
  CHECK(nerve_malloc(ctx, SIZE_MAX - 8) == NULL);
  for (int s = 0; s <= NERVE_EIO; s++)
    CHECK(strlen(nerve_strerror((nerve_status)s)) > 0);
  nerve_rng r1, r2;
  nerve_rng_seed(&r1, 5);
  nerve_rng_seed(&r2, 5);
  int same = 1, inrange = 1, hit[3] = {0};
  for (int i = 0; i < 100; i++)
    same &= nerve_rng_next(&r1) == nerve_rng_next(&r2);
  for (int i = 0; i < 3000; i++) {
    double u = nerve_rng_uniform(&r1);
    inrange &= u >= 0 && u < 1;
    uint64_t k = nerve_rng_below(&r1, 3);
    inrange &= k < 3;
    hit[k < 3 ? k : 0]++;
  }
  CHECK(same && inrange);
  CHECK(hit[0] > 900 && hit[1] > 900 && hit[2] > 900);
  CHECK(nerve_rng_below(&r1, 1) == 0);
  /* a shuffle is a permutation, and each position sees every value */
  int first_seen[5] = {0};
  for (int t = 0; t < 500; t++) {
    int32_t v[5] = {0, 1, 2, 3, 4}, seen[5] = {0};
    nerve_rng_shuffle(&r1, v, 5);
    int perm = 1;
    for (int i = 0; i < 5; i++) perm &= v[i] >= 0 && v[i] < 5 && !seen[v[i]]++;
    CHECK(perm);
    first_seen[v[0]]++;
  }
  for (int i = 0; i < 5; i++) CHECK(first_seen[i] > 60);
  nerve_rng_shuffle(&r1, NULL, 0); /* nothing to do */
  /* xoshiro256** reference: state {1, 2, 3, 4} gives 11520, 0, 1509978240 */
  nerve_rng x = {{1, 2, 3, 4}};
  CHECK(nerve_rng_next(&x) == 11520u);
  CHECK(nerve_rng_next(&x) == 0u);
  CHECK(nerve_rng_next(&x) == 1509978240u);
  end_ctx(ctx, &c);
  /* NERVE_ISA picks a path; an unknown one is ignored */
  setenv("NERVE_ISA", "scalar", 1);
  ctx = new_ctx(&c);
  CHECK(strcmp(nerve_ctx_isa(ctx), "scalar") == 0);
  end_ctx(ctx, &c);
  setenv("NERVE_ISA", "bogus", 1);
  ctx = new_ctx(&c);
  CHECK(ctx && nerve_ctx_isa(ctx) != NULL);
  end_ctx(ctx, &c);
  unsetenv("NERVE_ISA");
}


/* --------------------------------- 10. the training toolkit (issue 4) */

/* A 2 -> 2 linear net with parameters P and gradients G (W then b). */
static nerve_net *toolkit_net(nerve_ctx *ctx) {
  static const double P[6] = {0.5, -0.25, 1.5, -2, 0.125, -0.75};
  static const double G[6] = {0.1, -0.4, 0.05, 1.2, -0.3, 0.02};
  nerve_net *net = NULL;
  CHECK(nerve_net_new(ctx, &net) == NERVE_OK);
  add(net, lin(ctx, 2, 2));
  set_mat(nerve_net_param(net, 0), P);
  set_mat(nerve_net_param(net, 1), P + 4);
  set_mat(nerve_net_grad(net, 0), G);
  set_mat(nerve_net_grad(net, 1), G + 4);
  return net;
}

static void test_toolkit_optimizers(void) {
  counter c;
  nerve_ctx *ctx = new_ctx(&c);
  nerve_net *net = toolkit_net(ctx);
  nerve_optim *o = NULL;
  /* AdamW: one step is p (1 - lr wd) - lr sign(g) (bias-corrected) */
  nerve_adam_opts aw = {0.01f, 0.9f, 0.999f, 1e-8f, 0.5f};
  CHECK(nerve_adamw_new(net, &aw, &o) == NERVE_OK);
  CHECK(strcmp(nerve_optim_name(o), "adamw") == 0);
  CHECK(nerve_optim_state_size(o) == 12);
  CHECK(nerve_optim_step(o) == NERVE_OK);
  double want = 0.5 * (1 - 0.01 * 0.5) - 0.01 * 0.1 / (0.1 + 1e-8);
  CHECK(fabs(nerve_net_param(net, 0).data[0] - want) < 1e-6);
  CHECK(nerve_optim_set_steps(o, -1) == NERVE_EARG);
  CHECK(nerve_optim_set_steps(o, 7) == NERVE_OK && nerve_optim_steps(o) == 7);
  nerve_optim_free(o);
  /* RPROP: the first step is delta_zero against the gradient's sign */
  nerve_rprop_opts rp = {1.2f, 0.5f, 0, 50, 0.1f, 0};
  float before = nerve_net_param(net, 0).data[1];
  CHECK(nerve_rprop_new(net, &rp, &o) == NERVE_OK);
  CHECK(nerve_optim_lr(o) == 0);
  CHECK(nerve_optim_step(o) == NERVE_OK);
  CHECK(fabs(nerve_net_param(net, 0).data[1] - (before + 0.1f)) < 1e-7);
  CHECK(nerve_optim_state(o)[12 / 2 + 1] == 0.1f); /* steps after grads */
  nerve_optim_free(o);
  /* bad options */
  nerve_rmsprop_opts rm = {0.01f, 1.5f, 1e-8f, 0, 0, 0};
  CHECK(nerve_rmsprop_new(net, &rm, &o) == NERVE_EARG);
  nerve_adagrad_opts ag = {0.01f, -1, 0, 0, 1e-10f};
  CHECK(nerve_adagrad_new(net, &ag, &o) == NERVE_EARG);
  rp.delta_min = 60;
  CHECK(nerve_rprop_new(net, &rp, &o) == NERVE_EARG);
  rp.delta_min = 0;
  rp.decrease = 0;
  CHECK(nerve_rprop_new(net, &rp, &o) == NERVE_EARG);
  /* clipping: by the optimizer and by hand, the same rule */
  rm.alpha = 0.99f;
  CHECK(nerve_rmsprop_new(net, &rm, &o) == NERVE_OK);
  CHECK(nerve_optim_set_clip(o, -1) == NERVE_EARG);
  CHECK(nerve_optim_set_clip(o, NAN) == NERVE_EARG);
  CHECK(nerve_optim_set_clip(o, 0.5) == NERVE_OK && nerve_optim_clip(o) == 0.5);
  nerve_optim_free(o);
  double norm = nerve_net_grad_norm(net);
  CHECK(fabs(nerve_net_clip_grad_norm(net, 0.5) - norm) < 1e-12);
  CHECK(fabs(nerve_net_grad_norm(net) - 0.5) < 1e-6);
  CHECK(fabs(nerve_net_clip_grad_norm(net, 10) - 0.5) < 1e-6);
  CHECK(fabs(nerve_net_grad_norm(net) - 0.5) < 1e-6); /* below: untouched */
  nerve_net_free(net);
  end_ctx(ctx, &c);
  /* every allocation of the new constructors may fail, leaking nothing */
  for (size_t k = 1; k < 40; k++) {
    ctx = new_ctx(&c);
    net = toolkit_net(ctx);
    c.fail_at = c.calls + k;
    nerve_rmsprop_opts r2 = {0.01f, 0.99f, 1e-8f, 0, 0.9f, 1};
    nerve_status s = nerve_rmsprop_new(net, &r2, &o);
    CHECK(s == NERVE_OK || s == NERVE_ENOMEM);
    if (s == NERVE_OK) {
      CHECK(nerve_optim_state_size(o) == 18);
      nerve_optim_free(o);
    }
    c.fail_at = 0;
    nerve_net_free(net);
    end_ctx(ctx, &c);
    if (s == NERVE_OK) break;
  }
}

static void test_toolkit_layers(void) {
  counter c;
  nerve_ctx *ctx = new_ctx(&c);
  nerve_layer *l = NULL;
  CHECK(nerve_act_new(ctx, NERVE_DROPOUT, 1.0f, &l) == NERVE_EARG);
  CHECK(nerve_act_new(ctx, NERVE_DROPOUT, -0.1f, &l) == NERVE_EARG);
  CHECK(nerve_act_new(ctx, NERVE_ELU, NAN, &l) == NERVE_EARG);
  CHECK(nerve_kind_find("gelu") == NERVE_GELU);
  CHECK(strcmp(nerve_kind_name(NERVE_SIGMOID_SYMMETRIC),
               "sigmoid_symmetric") == 0);
  /* dropout: training by default, identity when evaluating */
  nerve_net *net = NULL;
  CHECK(nerve_net_new(ctx, &net) == NERVE_OK);
  add(net, act(ctx, NERVE_DROPOUT, 0.5f));
  CHECK(nerve_net_training(net) == 1);
  float xv[64];
  for (int i = 0; i < 64; i++) xv[i] = (float)i + 1;
  nerve_mat x = nerve_mat_view(xv, 4, 16), out;
  CHECK(nerve_net_forward(net, &x, &out) == NERVE_OK);
  int zeros = 0, scaled = 0;
  for (int i = 0; i < 64; i++) {
    zeros += out.data[i] == 0;
    scaled += out.data[i] == 2 * xv[i];
  }
  CHECK(zeros + scaled == 64 && zeros > 10 && scaled > 10);
  nerve_net_set_training(net, 0);
  CHECK(nerve_net_forward(net, &x, &out) == NERVE_OK);
  CHECK(memcmp(out.data, xv, sizeof xv) == 0);
  /* the model format keeps the new kinds and their parameters */
  add(net, act(ctx, NERVE_SIGMOID_SYMMETRIC, 0.75f));
  add(net, act(ctx, NERVE_ELU, 0.3f));
  void *bytes;
  size_t len;
  CHECK(nerve_net_serialize(net, &bytes, &len) == NERVE_OK);
  nerve_net *back = NULL;
  CHECK(nerve_net_deserialize(ctx, bytes, len, &back) == NERVE_OK);
  CHECK(nerve_layer_kind(nerve_net_layer(back, 1)) == NERVE_SIGMOID_SYMMETRIC);
  CHECK(nerve_layer_alpha(nerve_net_layer(back, 1)) == 0.75f);
  CHECK(nerve_layer_alpha(nerve_net_layer(back, 0)) == 0.5f);
  nerve_net_free(back);
  nerve_free(ctx, bytes);
  nerve_net_free(net);
  /* initialisers */
  l = lin(ctx, 6, 3);
  nerve_rng *r = nerve_ctx_rng(ctx);
  CHECK(nerve_layer_init_with(l, NERVE_INIT_NORMAL, -1, r) == NERVE_EARG);
  CHECK(nerve_layer_init_with(l, NERVE_INIT_CONSTANT, NAN, r) == NERVE_EARG);
  CHECK(nerve_layer_init_with(l, (nerve_init)99, 1, r) == NERVE_EARG);
  CHECK(nerve_layer_init_with(l, NERVE_INIT_CONSTANT, 0.25, r) == NERVE_OK);
  CHECK(nerve_layer_weight(l).data[17] == 0.25f);
  CHECK(nerve_layer_init_with(l, NERVE_INIT_ORTHOGONAL, 2, r) == NERVE_OK);
  nerve_mat w = nerve_layer_weight(l);
  for (int a = 0; a < 3; a++)
    for (int b = 0; b < 3; b++) {
      double d = 0;
      for (int i = 0; i < 6; i++) d += (double)w.data[i * 3 + a] * w.data[i * 3 + b];
      CHECK(fabs(d - (a == b ? 4 : 0)) < 1e-5);
    }
  CHECK(nerve_layer_init(l, NERVE_INIT_HE_NORMAL, r) == NERVE_OK);
  nerve_layer_release(l);
  end_ctx(ctx, &c);
}

static void test_toolkit_files(void) {
  counter c;
  nerve_ctx *ctx = new_ctx(&c);
  CHECK(nerve_crc32("123456789", 9) == 0xCBF43926u); /* the check value */
  char path[] = "/tmp/nerve_ckXXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  if (fd >= 0) close(fd);
  CHECK(nerve_file_write(ctx, path, "abc", 3) == NERVE_OK);
  FILE *f = fopen(path, "rb");
  char got[8] = {0};
  CHECK(f && fread(got, 1, 8, f) == 3 && memcmp(got, "abc", 3) == 0);
  if (f) fclose(f);
  unlink(path);
  errno = 0;
  CHECK(nerve_file_write(ctx, "/nonexistent/dir/x", "abc", 3) == NERVE_EIO);
  CHECK(errno == ENOENT);
  CHECK(nerve_file_write(ctx, "", "abc", 3) == NERVE_EARG);
  end_ctx(ctx, &c);
}

/* ---------------------------------------------------- 9. two threads */

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
  test_context();
  test_seed_network();
  test_gradients();
  test_loss_edges();
  test_optimizers();
  test_format();
  test_alloc_failures();
  test_training();
  test_epochs();
  test_fused_sgd();
  test_lazy_zero();
  test_step_loss();
  test_errors();
  test_toolkit_optimizers();
  test_toolkit_layers();
  test_toolkit_files();
  test_threads();
  test_precision();
  return check_report("test_engine");
}
