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

/* -sum_j y_j log softmax(z)_j for one row (y indices or a distribution). */
static double ce_row(const float *z, const float *y, int ycols, int c) {
  int times;
  double m = zmax(z, c, &times);
  if (isinf(m)) {
    double e = 0;
    for (int j = 0; j < c; j++) {
      double w = ycols == 1 ? (j == (int)y[0] - 1) : y[j];
      if (w != 0) e -= w * log(inf_softmax(z, j, m, times));
    }
    return e;
  }
  double lse = logsumexp(z, c);
  if (ycols == 1) return lse - z[(int)y[0] - 1];
  double e = 0;
  for (int j = 0; j < c; j++)
    if (y[j] != 0) e -= y[j] * (z[j] - lse);
  return e;
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
                    double inv_b, float *g) {
  int times;
  double m = zmax(z, c, &times);
  double lse = isinf(m) ? 0 : logsumexp(z, c), sy = 1;
  if (ycols != 1) {
    sy = 0;
    for (int j = 0; j < c; j++) sy += y[j];
  }
  /* every z is read before g is written: g may be z */
  int t = ycols == 1 ? (int)y[0] - 1 : -1;
  for (int j = 0; j < c; j++) {
    double target = ycols == 1 ? (j == t) : y[j];
    double p = isinf(m) ? inf_softmax(z, j, m, times) : exp(z[j] - lse);
    g[j] = (float)((p * sy - target) * inv_b);
  }
}

static double bce_grad(double p, double y, double inv_b) {
  double q = p < P_EPS ? P_EPS : p > 1 - P_EPS ? 1 - P_EPS : p;
  return (p - y) / (q * (1 - q)) * inv_b;
}

nerve_status nerve_loss_backward(nerve_loss k, const nerve_mat *yhat,
                                 const nerve_mat *y, nerve_mat *grad) {
  nerve_status s = nerve_loss_check(k, yhat, y);
  if (s) return s;
  if (!nerve__mat_ok(grad)) return NERVE_EARG;
  if (grad->rows != yhat->rows || grad->cols != yhat->cols)
    return NERVE_ESHAPE;
  double inv_b = 1.0 / yhat->rows;
  int c = yhat->cols;
  for (int i = 0; i < yhat->rows; i++) {
    const float *p = yhat->data + (size_t)i * yhat->stride;
    const float *t = y->data + (size_t)i * y->stride;
    float *g = grad->data + (size_t)i * grad->stride;
    if (k == NERVE_CROSS_ENTROPY) {
      ce_grad(p, t, y->cols, c, inv_b, g);
      continue;
    }
    for (int j = 0; j < c; j++)
      g[j] = k == NERVE_MSE ? (float)(((double)p[j] - t[j]) * inv_b)
                            : (float)bce_grad(p[j], t[j], inv_b);
  }
  return NERVE_OK;
}
