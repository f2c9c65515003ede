/*
** train.c - one mini-batch step in one call, so a training loop driven
** from Lua crosses into C once per batch, and whole epochs in one call,
** for nerve.fit when no Lua code needs to see an epoch. Everything is
** checked before anything changes.
*/
#include <math.h>
#include <string.h>

#include "internal.h"

/* Floats of a batch copy worth splitting over the pool (256 KiB). */
#define GATHER_PAR (1 << 16)
/* Outputs whose loss is worth splitting (a few microseconds of exp). */
#define LOSS_PAR 1024

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
                               const int32_t *idx, int first, int count,
                               int scan_x) {
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
  for (int i = 0; !s && scan_x && i < count; i++) {
    nerve_mat r = {x->data + (size_t)row_of(idx, first, i) * x->stride, 1,
                   x->cols, x->cols};
    if (nerve_mat_nonfinite(&r, NULL, NULL)) s = NERVE_ENAN;
  }
  return s;
}

typedef struct gather_job {
  float *dst;
  const nerve_mat *m;
  const int32_t *idx;
  int first, count, parts;
} gather_job;

static void gather_part(void *u, int p) {
  const gather_job *j = u;
  int i0 = (int)((long long)j->count * p / j->parts);
  int i1 = (int)((long long)j->count * (p + 1) / j->parts);
  size_t w = (size_t)j->m->cols;
  for (int i = i0; i < i1; i++)
    memcpy(j->dst + i * w,
           j->m->data + (size_t)row_of(j->idx, j->first, i) * j->m->stride,
           w * sizeof(float));
}

/* Copies the batch's rows of m to dst, on the pool when there is enough of
** it to be worth a second core's memory bandwidth. */
static void gather(nerve_net *net, float *dst, const nerve_mat *m,
                   const int32_t *idx, int first, int count) {
  gather_job j = {dst, m, idx, first, count, 1};
  if ((size_t)count * m->cols >= GATHER_PAR) j.parts = NERVE_PARTS;
  nerve__pool_run(net->ctx, j.parts, gather_part, &j);
}

typedef struct loss_job {
  nerve_loss k;
  const nerve_mat *yhat, *y;
  nerve_mat *g;
  double *rowe;
  int parts;
} loss_job;

static void loss_part(void *u, int p) {
  const loss_job *j = u;
  int r0 = (int)((long long)j->yhat->rows * p / j->parts);
  int r1 = (int)((long long)j->yhat->rows * (p + 1) / j->parts);
  nerve__loss_rows(j->k, j->yhat, j->y, j->g, r0, r1, j->rowe);
}

/* E of the batch and dE/dyhat into g, the rows on the pool when there are
** enough of them; the row terms are summed in row order, so E has the bits
** nerve_loss_forward gives. */
static double loss_rows(nerve_net *net, nerve_loss k, const nerve_mat *yhat,
                        const nerve_mat *y, nerve_mat *g) {
  double *rowe = (double *)(void *)net->rl.p, sum = 0;
  loss_job j = {k, yhat, y, g, rowe, 1};
  if ((size_t)yhat->rows * yhat->cols >= LOSS_PAR) j.parts = NERVE_PARTS;
  nerve__pool_run(net->ctx, j.parts, loss_part, &j);
  for (int i = 0; i < yhat->rows; i++) sum += rowe[i];
  return sum / yhat->rows;
}

/* The step itself, on checked rows, with buffers for count rows: forward,
** loss, backward and opt's step. The step is folded into the backward pass
** when it is plain SGD, the loss is finite (a diverging step keeps its
** gradients for the caller to measure) and nobody asked for the norm. */
static nerve_status step(nerve_net *net, nerve_loss k, const nerve_mat *x,
                         const nerve_mat *y, const int32_t *idx, int first,
                         int count, int w, nerve_optim *opt, double *e,
                         double *grad_norm, int cold) {
  int cols = x->cols, ld = cols;
  const float *in = net->xin.p;
  if (!idx && !nerve__net_aliases(net, x)) {
    /* consecutive rows: the forward and backward passes read them in
    ** place (the passes write nothing but the net's own buffers) */
    in = x->data + (size_t)first * x->stride;
    ld = x->stride;
  } else gather(net, net->xin.p, x, idx, first, count);
  gather(net, net->y.p, y, idx, first, count);
  nerve__net_run(net, in, ld, count, cols, cold && in != net->xin.p);
  nerve_mat yhat = nerve_mat_view(net->s[net->n - 1].out.p, count, w);
  nerve_mat yb = nerve_mat_view(net->y.p, count, y->cols);
  nerve_mat g = nerve_mat_view(net->g0.p, count, w);
  *e = loss_rows(net, k, &yhat, &yb, &g);
  float lr = opt && !grad_norm && *e - *e == 0
                 ? nerve__optim_fused_lr(opt, net)
                 : 0;
  if (lr == 0) nerve_net_zero_grad(net);
  nerve__net_back(net, in, ld, 0, lr);
  if (lr != 0) {
    nerve__optim_count(opt);
    return NERVE_OK;
  }
  if (grad_norm) *grad_norm = nerve_net_grad_norm(net);
  return opt ? nerve_optim_step(opt) : NERVE_OK;
}

nerve_status nerve_net_train_batch(nerve_net *net, nerve_loss k,
                                   const nerve_mat *x, const nerve_mat *y,
                                   const int32_t *idx, int idx_first,
                                   int count, nerve_optim *opt, double *e,
                                   double *grad_norm) {
  nerve_status s = check_args(net, k, x, y, idx, idx_first, count, 1);
  int w;
  if (!s) s = nerve__net_reserve(net, count, x->cols, 1, y->cols, &w);
  if (s) return s;
  double loss;
  /* the checks above have just read the rows: not cold */
  s = step(net, k, x, y, idx, idx_first, count, w, opt, &loss, grad_norm, 0);
  if (e) *e = loss;
  return s;
}

/* --------------------------------------------------------- many epochs */

static int finite_params(const nerve_net *net) {
  for (int i = 0; i < nerve_net_param_count(net); i++) {
    nerve_mat p = nerve_net_param(net, i);
    if (nerve_mat_nonfinite(&p, NULL, NULL)) return 0;
  }
  return 1;
}

/* One epoch on checked rows, from row e->pos on: the batches in order,
** stopping at a batch whose loss is NaN or +inf. Returns the summed loss
** (batch mean times batch size) over n, the same sum nerve.fit forms; or,
** when e->poll asks between two batches, sets *paused and keeps the rows
** done and their sum in e->pos and e->sum. */
static nerve_status epoch(nerve_net *net, nerve_epochs *e, int w,
                          double *mean, int *paused) {
  double sum = e->pos ? e->sum : 0;
  for (int first = e->pos; first < e->n; first += e->batch) {
    if (first > e->pos && e->poll && e->poll(e->poll_ud)) {
      e->pos = first;
      e->sum = sum;
      *paused = 1;
      return NERVE_OK;
    }
    int count = e->n - first < e->batch ? e->n - first : e->batch;
    const int32_t *idx = e->order ? e->order + first : NULL;
    int last = first + count >= e->n;
    double l;
    nerve_status s = step(net, e->loss, e->x, e->y, idx, first, count, w,
                          e->opt, &l, last ? &e->grad_norm : NULL, 1);
    if (s) return s;
    /* as core.train_batch reports a diverging step: after the step */
    if (!last && !(l - l == 0)) e->grad_norm = nerve_net_grad_norm(net);
    sum += l * count;
    if (l != l || l == HUGE_VAL) break;
  }
  e->pos = 0;
  *mean = sum / e->n;
  return NERVE_OK;
}

nerve_status nerve_net_train_epochs(nerve_net *net, nerve_epochs *e) {
  e->done = 0;
  e->stopped = NERVE_STOP_EPOCHS;
  if (!e->opt || e->batch < 1 || e->epochs < 0 || !e->x || !e->y)
    return NERVE_EARG;
  if (!e->order) e->n = e->x->rows;
  if (e->n < 1 || (e->shuffle && !e->order)) return NERVE_EARG;
  if (e->pos < 0 || e->pos >= e->n) return NERVE_EARG;
  int b = e->batch < e->n ? e->batch : e->n, w;
  /* every row once, so the steps below need no checks */
  nerve_status s = NERVE_OK;
  for (int i = 0; !s && i < e->n; i += b)
    s = check_args(net, e->loss, e->x, e->y, e->order ? e->order + i : NULL,
                   i, e->n - i < b ? e->n - i : b, !e->x_finite);
  /* the snapshot starts as the weights now (its shape checked too), but
  ** keeps the last whole epoch's through a pause */
  if (!s && e->snapshot && !e->pos && finite_params(net))
    s = nerve_net_copy_params(e->snapshot, net);
  if (!s) s = nerve__net_reserve(net, b, e->x->cols, 1, e->y->cols, &w);
  while (!s && e->done < e->epochs) {
    /* a pause between two epochs comes before the shuffle */
    if (e->done && e->poll && e->poll(e->poll_ud)) {
      e->stopped = NERVE_STOP_PAUSED;
      break;
    }
    if (e->shuffle && !e->pos) nerve_rng_shuffle(e->shuffle, e->order, e->n);
    double m;
    int paused = 0;
    s = epoch(net, e, w, &m, &paused);
    if (s) break;
    if (paused) {
      e->stopped = NERVE_STOP_PAUSED;
      break;
    }
    e->loss_out = m;
    if (e->losses) e->losses[e->done] = m;
    e->done++;
    if (!(m - m == 0)) {
      e->stopped = NERVE_STOP_DIVERGED;
      break;
    }
    if (e->snapshot && finite_params(net))
      s = nerve_net_copy_params(e->snapshot, net);
    if (m < e->loss_below || e->grad_norm < e->norm_below) {
      e->stopped = NERVE_STOP_CRITERION;
      break;
    }
  }
  return s;
}
