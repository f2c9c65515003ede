/*
** internal.h - what the engine's files share and nobody else sees: the
** object layouts, the growable batch buffers and a few helpers.
*/
#ifndef NERVE_INTERNAL_H
#define NERVE_INTERNAL_H

#include "nerve.h"
#include "kernels/gemm.h"

typedef struct nerve_pool nerve_pool;

struct nerve_ctx {
  nerve_alloc alloc;
  void *ud;
  const nerve_kernels *k;
  nerve_rng rng;
  int threads;
  nerve_pool *pool; /* NULL: one thread */
};

/* One allocation holds the struct and, for a linear layer, the parameters
** W then b (contiguous, so an optimizer or the model file sees one flat
** vector) and, 64-byte aligned after them, the gradients gW then gb. */
struct nerve_layer {
  nerve_ctx *ctx;
  int refs;
  nerve_kind kind;
  int n_in, n_out;
  float alpha;
  float *w, *b, *gw, *gb;
  /* gzero: gw and gb are zero but not cleared yet (the next backward
  ** overwrites them instead of adding); shown: gw or gb were handed out
  ** as a view, so zeroing clears them at once */
  unsigned char gzero, shown;
};

/* A batch buffer that only grows. spare holds a bigger block between
** prepare and commit, so several buffers grow all together or not at all. */
typedef struct nerve_buf {
  float *p, *spare;
  size_t cap; /* floats */
  size_t want;
} nerve_buf;

typedef struct nerve_slot {
  nerve_layer *l;
  nerve_buf out; /* the layer's output o (or a for linear) of the batch */
  int w;         /* its width in the last forward */
} nerve_slot;

struct nerve_net {
  nerve_ctx *ctx;
  nerve_slot *s;
  int n, cap;
  nerve_buf g0, g1; /* dE/do ping-pong of the backward phase */
  nerve_buf xin;    /* contiguous input: a copy of x or a gathered batch */
  nerve_buf y;      /* gathered targets of train_batch */
  nerve_buf rl;     /* train_batch's loss of each row (as doubles) */
  /* the packed GEMM's buffers (kernels/gemm.h): a layer's packed W or W^T,
  ** its packed error terms (weight gradient), a block of packed A per
  ** part; never seen outside the passes */
  nerve_buf pk[3];
  struct { /* pk's sizes for the last shape asked, forward and back */
    const nerve_kernels *k;
    int rows, n;
    nerve_precision precision;
    size_t fwd[3], back[3];
  } pkey;
  int rows, cols;   /* shape of the last forward's batch; rows 0: none */
  size_t epoch;     /* bumped whenever a batch buffer moves */
  int eval;         /* evaluation mode (dropout off); 0: training */
  nerve_precision precision; /* of the GEMMs */
};

/* A linear layer with zero parameters, without drawing from the rng. */
nerve_status nerve__linear_alloc(nerve_ctx *ctx, int n_in, int n_out,
                                 nerve_layer **out);
/* Floats of W and b together. */
size_t nerve__layer_nparams(const nerve_layer *l);
/* l's gradients, cleared first when a zero_grad is pending. */
float *nerve__layer_grads(nerve_layer *l);

/* 1 when m is a usable view (data, 1 <= rows, cols <= MAX_DIM, stride). */
int nerve__mat_ok(const nerve_mat *m);

/* Buffers: prepare every one, then commit all or abort all. */
int nerve__buf_prepare(nerve_ctx *ctx, nerve_buf *b, size_t n);
/* 1 when the buffer moved. */
int nerve__buf_commit(nerve_ctx *ctx, nerve_buf *b);
void nerve__buf_rollback(nerve_ctx *ctx, nerve_buf *b);
void nerve__buf_free(nerve_ctx *ctx, nerve_buf *b);

/* Sizes every batch buffer of net for rows x cols input (plus xin, and the
** train buffers and the backward pass's packing buffers when ycols > 0);
** ESHAPE on a width mismatch, ENOMEM. On error nothing changed. *out_w
** receives the output width. */
nerve_status nerve__net_reserve(nerve_net *net, int rows, int cols,
                                int need_xin, int ycols, int *out_w);
/* The loss of rows r0..r1-1 into rowe[] (doubles) and its gradient into
** grad (yhat's shape), shapes and targets already checked: the floats of
** nerve_loss_forward's row terms and of nerve_loss_backward, with the
** log-sum-exp of a cross-entropy row computed once for both. */
void nerve__loss_rows(nerve_loss k, const nerve_mat *yhat, const nerve_mat *y,
                      nerve_mat *grad, int r0, int r1, double *rowe);

/* Grows the packing buffers for a backward pass over the last forward's
** batch; ENOMEM, and then nothing changed. */
nerve_status nerve__net_reserve_back(nerve_net *net);

/* 1 when x's elements overlap one of net's own buffers. */
int nerve__net_aliases(nerve_net *net, const nerve_mat *x);
/* Forward on x (already checked and reserved). cold: x has not been read
** lately, so the first GEMM reads it through once first (see pass.c). */
void nerve__net_run(nerve_net *net, const float *x, int ldx, int rows,
                    int cols, int cold);
/* Backward from dE/do of the output already in g0; x as in forward. Returns
** the buffer holding dE/dx (when want_in). lr != 0: no gradients are
** accumulated; each linear layer takes the plain SGD step W -= lr dE/dW
** (b likewise) as soon as its error terms are known. */
float *nerve__net_back(nerve_net *net, const float *x, int ldx, int want_in,
                       float lr);

/* The learning rate when opt's step would be plain SGD (no momentum, decay
** or clipping) over exactly net's linear layers (a net holds a layer at
** most once), so the step can be folded into the backward pass; 0
** otherwise. */
float nerve__optim_fused_lr(const nerve_optim *opt, const nerve_net *net);
/* Counts a step taken by the backward pass for opt. */
void nerve__optim_count(nerve_optim *opt);

/* Dropout (dropout.c): forward of n floats a -> o in net's mode, keeping
** the mask (0 or 1 / (1 - p) per element) in mask; backward d *= mask. */
void nerve__dropout_fwd(nerve_net *net, const nerve_layer *l, size_t n,
                        const float *a, float *o, float *mask);
void nerve__dropout_bwd(size_t n, const float *mask, float *d);

/* Checks one target row for loss k against an output width c. */
nerve_status nerve__target_row(nerve_loss k, const float *y, int ycols, int c);

/* Parallel regions (pool.c). Work above a size threshold is cut into
** NERVE_PARTS fixed parts whatever the thread count, so results are
** bitwise identical for 1 and n threads; the pool only runs them. */
#define NERVE_PARTS 2
typedef void (*nerve_task)(void *arg, int part);
/* Runs fn(arg, 0..parts-1), spread over the pool's threads; returns when
** all are done. Called from the context's owning thread only. */
void nerve__pool_run(nerve_ctx *ctx, int parts, nerve_task fn, void *arg);
/* Starts min(n, NERVE_PARTS) - 1 workers into ctx->pool (none for n < 2). */
nerve_status nerve__pool_new(nerve_ctx *ctx, int n);
/* Joins and frees ctx->pool; NULL is fine. */
void nerve__pool_free(nerve_ctx *ctx);

/* 1 for the kinds whose layers carry a parameter (alpha) */
int nerve__kind_has_param(nerve_kind k);

#endif
