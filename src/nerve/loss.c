/*
** loss.c - mean squared error, cross-entropy on logits, binary
** cross-entropy on probabilities. Sums run in double; the gradients carry
** the 1/B factor so that the backward phase just sums rows.
*/
#include <math.h>

#include "internal.h"

static const char *const loss_names[NERVE_LOSS_COUNT] = {"mse", "cross_entropy",
                                                         "bce"};

const char *nerve_loss_name(nerve_loss k) {
  return (unsigned)k < NERVE_LOSS_COUNT ? loss_names[k] : NULL;
}

/* BCE's logs are clamped like PyTorch's so E stays finite at p = 0 or 1. */
#define LOG_FLOOR (-100.0)
/* ... and its gradient divides by p(1-p) with p kept this far inside. */
#define P_EPS 1e-7

nerve_status nerve__target_row(nerve_loss k, const float *y, int ycols,
                               int c) {
  for (int j = 0; j < ycols; j++)
    if (!isfinite(y[j])) return NERVE_ENAN;
  if (k == NERVE_CROSS_ENTROPY && ycols == 1) {
    float t = y[0];
    if (t < 1 || t > (float)c || t != floorf(t)) return NERVE_EARG;
  }
  return NERVE_OK;
}

/* Shapes only: y is yhat's shape, or B x 1 indices for cross-entropy. */
static nerve_status check_shape(nerve_loss k, const nerve_mat *yhat,
                                const nerve_mat *y) {
  if ((unsigned)k >= NERVE_LOSS_COUNT) return NERVE_EARG;
  if (!nerve__mat_ok(yhat) || !nerve__mat_ok(y)) return NERVE_EARG;
  if (y->rows != yhat->rows) return NERVE_ESHAPE;
  if (y->cols == yhat->cols) return NERVE_OK;
  return k == NERVE_CROSS_ENTROPY && y->cols == 1 ? NERVE_OK : NERVE_ESHAPE;
}

nerve_status nerve_loss_check(nerve_loss k, const nerve_mat *yhat,
                              const nerve_mat *y) {
  nerve_status s = check_shape(k, yhat, y);
  for (int i = 0; !s && i < y->rows; i++)
    s = nerve__target_row(k, y->data + (size_t)i * y->stride, y->cols,
                          yhat->cols);
  return s;
}

/* log sum_j exp(z_j), shifted by the largest z so nothing overflows. */
static double logsumexp(const float *z, int n) {
  double m = z[0], s = 0;
  for (int j = 1; j < n; j++) m = z[j] > m ? z[j] : m;
  for (int j = 0; j < n; j++) s += exp(z[j] - m);
  return m + log(s);
}

/* The largest z, and how many times it occurs. */
static double zmax(const float *z, int n, int *times) {
  double m = z[0];
  int k = 0;
  for (int j = 1; j < n; j++) m = z[j] > m ? z[j] : m;
  for (int j = 0; j < n; j++) k += z[j] == m;
  *times = k;
  return m;
}

/* softmax(z)_j in the limit when the largest z is infinite (z - max would
** be inf - inf): the mass is shared by the entries equal to it. */
static double inf_softmax(const float *z, int j, double m, int times) {
  return z[j] == m ? 1.0 / times : 0.0;
}

/* The largest logit of a row, how often it occurs and the row's
** log-sum-exp (0 when the largest is infinite), shared by the loss and its
** gradient. */
typedef struct ce_stats {
  double m, lse;
  int times;
} ce_stats;

static ce_stats ce_of(const float *z, int c) {
  ce_stats st;
  st.m = zmax(z, c, &st.times);
  st.lse = isinf(st.m) ? 0 : logsumexp(z, c);
  return st;
}

/* -sum_j y_j log softmax(z)_j for one row (y indices or a distribution). */
static double ce_loss(const float *z, const float *y, int ycols, int c,
                      const ce_stats *st) {
  if (isinf(st->m)) {
    double e = 0;
    for (int j = 0; j < c; j++) {
      double w = ycols == 1 ? (j == (int)y[0] - 1) : y[j];
      if (w != 0) e -= w * log(inf_softmax(z, j, st->m, st->times));
    }
    return e;
  }
  if (ycols == 1) return st->lse - z[(int)y[0] - 1];
  double e = 0;
  for (int j = 0; j < c; j++)
    if (y[j] != 0) e -= y[j] * (z[j] - st->lse);
  return e;
}

static double ce_row(const float *z, const float *y, int ycols, int c) {
  ce_stats st = ce_of(z, c);
  return ce_loss(z, y, ycols, c, &st);
}

static double clamp_log(double x) {
  double l = log(x);
  return l < LOG_FLOOR ? LOG_FLOOR : l; /* NaN stays NaN */
}

static double row_loss(nerve_loss k, const float *p, const float *y,
                       int ycols, int c) {
  double e = 0;
  switch (k) {
  case NERVE_MSE:
    for (int j = 0; j < c; j++)
      e += 0.5 * ((double)p[j] - y[j]) * (p[j] - y[j]);
    return e;
  case NERVE_CROSS_ENTROPY: return ce_row(p, y, ycols, c);
  default:
    for (int j = 0; j < c; j++)
      e -= y[j] * clamp_log(p[j]) + (1.0 - y[j]) * clamp_log(1.0 - p[j]);
    return e;
  }
}

nerve_status nerve_loss_forward(nerve_loss k, const nerve_mat *yhat,
                                const nerve_mat *y, double *e) {
  nerve_status s = nerve_loss_check(k, yhat, y);
  if (s) return s;
  double sum = 0;
  for (int i = 0; i < yhat->rows; i++)
    sum += row_loss(k, yhat->data + (size_t)i * yhat->stride,
                    y->data + (size_t)i * y->stride, y->cols, yhat->cols);
  if (e) *e = sum / yhat->rows;
  return NERVE_OK;
}

/* (softmax(z) * sum(y) - y) / B: (softmax - onehot) / B for a one-hot y,
** the exact gradient for any target distribution. */
static void ce_grad(const float *z, const float *y, int ycols, int c,
                    double inv_b, const ce_stats *st, float *g) {
  double sy = 1;
  if (ycols != 1) {
    sy = 0;
    for (int j = 0; j < c; j++) sy += y[j];
  }
  /* every z is read before g is written: g may be z */
  int t = ycols == 1 ? (int)y[0] - 1 : -1;
  for (int j = 0; j < c; j++) {
    double target = ycols == 1 ? (j == t) : y[j];
    double p = isinf(st->m) ? inf_softmax(z, j, st->m, st->times)
                            : exp(z[j] - st->lse);
    g[j] = (float)((p * sy - target) * inv_b);
  }
}

static double bce_grad(double p, double y, double inv_b) {
  double q = p < P_EPS ? P_EPS : p > 1 - P_EPS ? 1 - P_EPS : p;
  return (p - y) / (q * (1 - q)) * inv_b;
}

/* Row i of dE/dyhat; for cross-entropy, *e (when not NULL) gets the row's
** loss from the same log-sum-exp. */
static void row_grad(nerve_loss k, const nerve_mat *yhat, const nerve_mat *y,
                     nerve_mat *grad, int i, double inv_b, double *e) {
  int c = yhat->cols;
  const float *p = yhat->data + (size_t)i * yhat->stride;
  const float *t = y->data + (size_t)i * y->stride;
  float *g = grad->data + (size_t)i * grad->stride;
  if (k == NERVE_CROSS_ENTROPY) {
    ce_stats st = ce_of(p, c);
    if (e) *e = ce_loss(p, t, y->cols, c, &st); /* before g: g may be p */
    ce_grad(p, t, y->cols, c, inv_b, &st, g);
    return;
  }
  for (int j = 0; j < c; j++)
    g[j] = k == NERVE_MSE ? (float)(((double)p[j] - t[j]) * inv_b)
                          : (float)bce_grad(p[j], t[j], inv_b);
}

nerve_status nerve_loss_backward(nerve_loss k, const nerve_mat *yhat,
                                 const nerve_mat *y, nerve_mat *grad) {
  nerve_status s = nerve_loss_check(k, yhat, y);
  if (s) return s;
  if (!nerve__mat_ok(grad)) return NERVE_EARG;
  if (grad->rows != yhat->rows || grad->cols != yhat->cols)
    return NERVE_ESHAPE;
  double inv_b = 1.0 / yhat->rows;
  for (int i = 0; i < yhat->rows; i++)
    row_grad(k, yhat, y, grad, i, inv_b, NULL);
  return NERVE_OK;
}

void nerve__loss_rows(nerve_loss k, const nerve_mat *yhat, const nerve_mat *y,
                      nerve_mat *grad, int r0, int r1, double *rowe) {
  double inv_b = 1.0 / yhat->rows;
  for (int i = r0; i < r1; i++) {
    if (k != NERVE_CROSS_ENTROPY) /* cross-entropy's comes with g */
      rowe[i] = row_loss(k, yhat->data + (size_t)i * yhat->stride,
                         y->data + (size_t)i * y->stride, y->cols, yhat->cols);
    row_grad(k, yhat, y, grad, i, inv_b, rowe + i);
  }
}
