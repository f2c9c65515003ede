/*
** train.c - one mini-batch step in one call, so a training loop driven
** from Lua crosses into C once per batch. Everything is checked before
** anything changes.
*/
#include <string.h>

#include "internal.h"

/* Row i of the batch: idx[i], or first + i. */
static int row_of(const int32_t *idx, int first, int i) {
  return idx ? idx[i] : first + i;
}

static nerve_status check_rows(const int32_t *idx, int first, int count,
                               int rows) {
  if (!idx) return first >= 0 && first <= rows - count ? NERVE_OK : NERVE_EARG;
  for (int i = 0; i < count; i++)
    if (idx[i] < 0 || idx[i] >= rows) return NERVE_EARG;
  return NERVE_OK;
}

static nerve_status check_args(nerve_net *net, nerve_loss k,
                               const nerve_mat *x, const nerve_mat *y,
                               const int32_t *idx, int first, int count) {
  if (!net || !net->n || (unsigned)k >= NERVE_LOSS_COUNT) return NERVE_EARG;
  if (!nerve__mat_ok(x) || !nerve__mat_ok(y)) return NERVE_EARG;
  if (count < 1 || count > NERVE_MAX_DIM) return NERVE_EARG;
  int nin = nerve_net_n_in(net), w = nerve_net_n_out(net);
  if (!w) w = x->cols;
  if (x->rows != y->rows || (nin && x->cols != nin)) return NERVE_ESHAPE;
  if (y->cols != w && !(k == NERVE_CROSS_ENTROPY && y->cols == 1))
    return NERVE_ESHAPE;
  nerve_status s = check_rows(idx, first, count, x->rows);
  for (int i = 0; !s && i < count; i++)
    s = nerve__target_row(
        k, y->data + (size_t)row_of(idx, first, i) * y->stride, y->cols, w);
  /* a non-finite input would turn every weight it reaches into NaN */
  for (int i = 0; !s && i < count; i++) {
    nerve_mat r = {x->data + (size_t)row_of(idx, first, i) * x->stride, 1,
                   x->cols, x->cols};
    if (nerve_mat_nonfinite(&r, NULL, NULL)) s = NERVE_ENAN;
  }
  return s;
}

static void gather(float *dst, const nerve_mat *m, const int32_t *idx,
                   int first, int count) {
  for (int i = 0; i < count; i++)
    memcpy(dst + (size_t)i * m->cols,
           m->data + (size_t)row_of(idx, first, i) * m->stride,
           (size_t)m->cols * sizeof(float));
}

nerve_status nerve_net_train_batch(nerve_net *net, nerve_loss k,
                                   const nerve_mat *x, const nerve_mat *y,
                                   const int32_t *idx, int idx_first,
                                   int count, nerve_optim *opt, double *e,
                                   double *grad_norm) {
  nerve_status s = check_args(net, k, x, y, idx, idx_first, count);
  int w, cols = x ? x->cols : 0;
  if (!s) s = nerve__net_reserve(net, count, cols, 1, y->cols, &w);
  if (s) return s;
  gather(net->xin.p, x, idx, idx_first, count);
  gather(net->y.p, y, idx, idx_first, count);
  nerve_net_zero_grad(net);
  nerve__net_run(net, net->xin.p, cols, count, cols);
  nerve_mat yhat = nerve_mat_view(net->s[net->n - 1].out.p, count, w);
  nerve_mat yb = nerve_mat_view(net->y.p, count, y->cols);
  nerve_mat g = nerve_mat_view(net->g0.p, count, w);
  double loss = 0;
  /* cannot fail: the rows were checked above */
  nerve_loss_forward(k, &yhat, &yb, &loss);
  nerve_loss_backward(k, &yhat, &yb, &g);
  nerve__net_back(net, net->xin.p, cols, 0);
  if (grad_norm) *grad_norm = nerve_net_grad_norm(net);
  if (e) *e = loss;
  return opt ? nerve_optim_step(opt) : NERVE_OK;
}
