/*
** metrics.c - evaluation of a network on a data set, in chunks of rows so
** that the batch buffers stay small: FANN's squared error and bit-fail
** count, and the confusion matrix of the largest output.
*/
#include <math.h>
#include <string.h>

#include "internal.h"

#define CHUNK 256

static int argmax(const float *v, int n) {
  int best = 0;
  for (int j = 1; j < n; j++)
    if (v[j] > v[best]) best = j;
  return best;
}

static nerve_status errors(nerve_net *net, const nerve_mat *x,
                           const nerve_mat *y, float limit, double *sse,
                           long *bit_fail) {
  if (!net || !nerve__mat_ok(x) || !nerve__mat_ok(y) || !sse || !bit_fail)
    return NERVE_EARG;
  if (x->rows != y->rows) return NERVE_ESHAPE;
  for (int i = 0; i < y->rows; i++)
    for (int j = 0; j < y->cols; j++)
      if (!isfinite(y->data[(size_t)i * y->stride + j])) return NERVE_ENAN;
  double sum = 0;
  long fails = 0;
  for (int r = 0; r < x->rows; r += CHUNK) {
    int b = x->rows - r < CHUNK ? x->rows - r : CHUNK;
    nerve_mat xs = {x->data + (size_t)r * x->stride, b, x->cols, x->stride};
    nerve_mat out;
    nerve_status s = nerve_net_forward(net, &xs, &out);
    if (s != NERVE_OK) return s;
    if (out.cols != y->cols) return NERVE_ESHAPE;
    for (int i = 0; i < b; i++) {
      const float *o = out.data + (size_t)i * out.stride;
      const float *t = y->data + (size_t)(r + i) * y->stride;
      for (int j = 0; j < out.cols; j++) {
        double d = (double)o[j] - t[j];
        sum += d * d;
        fails += fabs(d) >= limit; /* FANN counts >= its bit_fail_limit */
      }
    }
  }
  *sse = sum;
  *bit_fail = fails;
  return NERVE_OK;
}

static nerve_status confusion(nerve_net *net, const nerve_mat *x,
                              const nerve_mat *y, int classes, long *counts) {
  if (!net || !nerve__mat_ok(x) || !nerve__mat_ok(y) || !counts ||
      classes < 1)
    return NERVE_EARG;
  if (x->rows != y->rows) return NERVE_ESHAPE;
  int c = classes;
  memset(counts, 0, (size_t)c * (size_t)c * sizeof *counts);
  for (int r = 0; r < x->rows; r += CHUNK) {
    int b = x->rows - r < CHUNK ? x->rows - r : CHUNK;
    nerve_mat xs = {x->data + (size_t)r * x->stride, b, x->cols, x->stride};
    nerve_mat ys = {y->data + (size_t)r * y->stride, b, y->cols, y->stride};
    nerve_mat out;
    nerve_status s = nerve_net_forward(net, &xs, &out);
    if (s == NERVE_OK) s = nerve_loss_check(NERVE_CROSS_ENTROPY, &out, &ys);
    if (s != NERVE_OK) return s;
    if (out.cols != c) return NERVE_ESHAPE;
    for (int i = 0; i < b; i++) {
      const float *o = out.data + (size_t)i * out.stride;
      const float *t = ys.data + (size_t)i * ys.stride;
      int want = ys.cols == 1 ? (int)t[0] - 1 : argmax(t, ys.cols);
      counts[(size_t)want * c + argmax(o, c)]++;
    }
  }
  return NERVE_OK;
}

/* Metrics measure the network, not one draw of its dropout masks: both
** run in evaluation mode and leave the mode as it was. */
nerve_status nerve_net_errors(nerve_net *net, const nerve_mat *x,
                              const nerve_mat *y, float limit, double *sse,
                              long *bit_fail) {
  if (!net) return NERVE_EARG;
  int was = nerve_net_training(net);
  nerve_net_set_training(net, 0);
  nerve_status s = errors(net, x, y, limit, sse, bit_fail);
  nerve_net_set_training(net, was);
  return s;
}

nerve_status nerve_net_confusion(nerve_net *net, const nerve_mat *x,
                                 const nerve_mat *y, int classes,
                                 long *counts) {
  if (!net) return NERVE_EARG;
  int was = nerve_net_training(net);
  nerve_net_set_training(net, 0);
  nerve_status s = confusion(net, x, y, classes, counts);
  nerve_net_set_training(net, was);
  return s;
}
