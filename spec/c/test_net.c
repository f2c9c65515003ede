/*
** test_net.c - networks against hand computations: the seed's 2-2-1
** sigmoid network number by number, gradients against central differences
** of a double-precision forward, the losses at their edges, the errors of
** building and running a network, the toolkit's layers and initialisers.
*/
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "engine.h"

static const char *const isas[] = {"scalar", "avx2", "avx512", "neon"};
#define NISA 4

static double sig(double a) { return 1 / (1 + exp(-a)); }

/* ----------------------------------------------- the seed's 2-2-1 network */

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

/* ---------------------------------- gradients against central differences */

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

/* ----------------------------------------------------------------- errors */

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

/* ------------------------------------------ the training toolkit's layers */

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

int main(void) {
  test_seed_network();
  test_gradients();
  test_loss_edges();
  test_errors();
  test_toolkit_layers();
  return check_report("test_net");
}
