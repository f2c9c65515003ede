/*
** pass.c - the forward and backward phases over a network's batch
** buffers. Buffers grow (all together or not at all) and never shrink, so
** a steady training loop allocates nothing.
*/
#include <stdint.h>
#include <string.h>

#include "internal.h"

int nerve__buf_prepare(nerve_ctx *ctx, nerve_buf *b, size_t n) {
  b->spare = NULL;
  if (n <= b->cap) return 1;
  if (n > SIZE_MAX / sizeof(float)) return 0;
  b->spare = nerve_malloc(ctx, n * sizeof(float));
  b->want = n;
  return b->spare != NULL;
}

int nerve__buf_commit(nerve_ctx *ctx, nerve_buf *b) {
  if (!b->spare) return 0;
  nerve_free(ctx, b->p);
  b->p = b->spare;
  b->cap = b->want;
  b->spare = NULL;
  return 1;
}

void nerve__buf_rollback(nerve_ctx *ctx, nerve_buf *b) {
  nerve_free(ctx, b->spare);
  b->spare = NULL;
}

void nerve__buf_free(nerve_ctx *ctx, nerve_buf *b) {
  nerve_free(ctx, b->p);
  b->p = NULL;
  b->cap = 0;
}

/* Width after layer l given width w before it. */
static int width_after(const nerve_layer *l, int w) {
  return l->kind == NERVE_LINEAR ? l->n_out : w;
}

/* Every buffer the net may grow, for prepare/commit/abort in one loop:
** the layers' outputs, then NBUFS more. */
#define NBUFS 5
static nerve_buf *buf_at(nerve_net *net, int i) {
  switch (i - net->n) {
  case 0: return &net->g0;
  case 1: return &net->g1;
  case 2: return &net->xin;
  case 3: return &net->y;
  case 4: return &net->rl;
  default: return &net->s[i].out;
  }
}

/* The packed GEMM's buffers for a batch of rows (kernels/gemm.h): the
** largest packed W (forward) or W^T (input gradient, back), the largest
** packed error terms (weight gradient, back), a block of packed A per
** part; nothing for a net whose GEMMs are all too small to pack. */
static void pack_sizes(nerve_net *net, int rows, int back, size_t sz[3]) {
  const nerve_kernels *k = net->ctx->k;
  int bf = net->precision == NERVE_BF16;
  /* a training loop asks for the same shape every step, and a hand-written
  ** one alternates forward and backward: work out both once per shape
  ** (layers are only ever appended, so their count is enough) */
  if (net->pkey.k != k || net->pkey.rows != rows || net->pkey.n != net->n ||
      net->pkey.precision != net->precision) {
    size_t *f = net->pkey.fwd, *b = net->pkey.back;
    f[0] = f[1] = f[2] = b[0] = b[1] = b[2] = 0;
    for (int i = 0; i < net->n; i++) {
      const nerve_layer *l = net->s[i].l;
      if (l->kind != NERVE_LINEAR) continue;
      int ni = l->n_in, no = l->n_out;
      size_t fw = nerve_gemm_packed(k, NERVE_GEMM_NN, rows, no, ni, bf)
                      ? nerve_gemm_bsize(k, no, ni)
                      : 0;
      size_t iw = nerve_gemm_packed(k, NERVE_GEMM_NT, rows, ni, no, bf)
                      ? nerve_gemm_bsize(k, ni, no)
                      : 0;
      size_t wd = nerve_gemm_packed(k, NERVE_GEMM_TN, ni, no, rows, bf)
                      ? nerve_gemm_bsize(k, no, rows)
                      : 0;
      f[0] = fw > f[0] ? fw : f[0];
      f[2] |= fw != 0;
      b[0] = fw > b[0] ? fw : b[0];
      b[0] = iw > b[0] ? iw : b[0];
      b[1] = wd > b[1] ? wd : b[1];
      b[2] |= fw || iw || wd;
    }
    f[2] = f[2] ? NERVE_PARTS * nerve_gemm_asize(k) : 0;
    b[2] = b[2] ? NERVE_PARTS * nerve_gemm_asize(k) : 0;
    net->pkey.k = k;
    net->pkey.rows = rows;
    net->pkey.n = net->n;
    net->pkey.precision = net->precision;
  }
  memcpy(sz, back ? net->pkey.back : net->pkey.fwd, 3 * sizeof *sz);
}

/* Gives g the network's precision, and sets up its packed path into
** buffer b when its shape pays (or it is bf16) and the buffers are big
** enough (a table switched since they were sized packs nothing); 1 when
** it does. */
static int use_packed(const nerve_net *net, nerve_gemm *g, const nerve_buf *b) {
  const nerve_kernels *k = net->ctx->k;
  g->bp = NULL;
  g->bf16 = net->precision == NERVE_BF16;
  if (!b->cap || /* none of the net's GEMMs packs */
      !nerve_gemm_packed(k, g->shape, g->m, g->n, g->k, g->bf16) ||
      nerve_gemm_bsize(k, g->n, g->k) > b->cap ||
      NERVE_PARTS * nerve_gemm_asize(k) > net->pk[2].cap)
    return 0;
  g->bp = b->p;
  return 1;
}

/* Part p's buffer for blocks of packed A. */
static float *a_buf(const nerve_net *net, int p) {
  if (!net->pk[2].p) return NULL; /* no job packs */
  return net->pk[2].p + (size_t)p * nerve_gemm_asize(net->ctx->k);
}

/* 1 when job g runs on the driver (packed or bf16); a small float32 job
** calls its unpacked slot straight from the part, as cheap as a tiny
** network's step needs. */
static int driven(const nerve_gemm *g) { return g->bp || g->bf16; }

nerve_status nerve__net_reserve(nerve_net *net, int rows, int cols,
                                int need_xin, int ycols, int *out_w) {
  int w = cols, maxw = cols;
  for (int i = 0; i < net->n; i++) {
    const nerve_layer *l = net->s[i].l;
    if (l->kind == NERVE_LINEAR && l->n_in != w) return NERVE_ESHAPE;
    w = width_after(l, w);
    maxw = w > maxw ? w : maxw;
  }
  *out_w = w;
  size_t r = (size_t)rows, ok = 1;
  w = cols;
  for (int i = 0; i < net->n; i++) {
    w = width_after(net->s[i].l, w);
    /* a dropout layer keeps its mask after its output */
    size_t k = net->s[i].l->kind == NERVE_DROPOUT ? 2 : 1;
    ok &= nerve__buf_prepare(net->ctx, &net->s[i].out, k * r * w);
  }
  ok &= nerve__buf_prepare(net->ctx, &net->g0, r * maxw);
  ok &= nerve__buf_prepare(net->ctx, &net->g1, r * maxw);
  ok &= nerve__buf_prepare(net->ctx, &net->xin, need_xin ? r * cols : 0);
  ok &= nerve__buf_prepare(net->ctx, &net->y, r * (size_t)ycols);
  /* row losses in doubles: two floats each (a train_batch's only) */
  ok &= nerve__buf_prepare(net->ctx, &net->rl, ycols ? 2 * r : 0);
  size_t pk[3];
  pack_sizes(net, rows, ycols > 0, pk);
  int packs = (pk[0] | pk[1] | pk[2]) != 0;
  for (int i = 0; packs && i < 3; i++)
    ok &= nerve__buf_prepare(net->ctx, &net->pk[i], pk[i]);
  for (int i = 0; i < net->n + NBUFS; i++)
    if (!ok) nerve__buf_rollback(net->ctx, buf_at(net, i));
    else if (nerve__buf_commit(net->ctx, buf_at(net, i))) net->epoch++;
  /* no view ever shows these: no epoch */
  for (int i = 0; packs && i < 3; i++)
    if (!ok) nerve__buf_rollback(net->ctx, &net->pk[i]);
    else nerve__buf_commit(net->ctx, &net->pk[i]);
  return ok ? NERVE_OK : NERVE_ENOMEM;
}

nerve_status nerve__net_reserve_back(nerve_net *net) {
  size_t pk[3];
  int ok = 1;
  pack_sizes(net, net->rows, 1, pk);
  for (int i = 0; i < 3; i++)
    ok &= nerve__buf_prepare(net->ctx, &net->pk[i], pk[i]);
  for (int i = 0; i < 3; i++)
    if (!ok) nerve__buf_rollback(net->ctx, &net->pk[i]);
    else nerve__buf_commit(net->ctx, &net->pk[i]);
  return ok ? NERVE_OK : NERVE_ENOMEM;
}

static void copy_rows(float *dst, const float *src, int ld, int rows,
                      int cols) {
  for (int i = 0; i < rows; i++)
    memmove(dst + (size_t)i * cols, src + (size_t)i * ld,
            (size_t)cols * sizeof(float));
}

static void act_fwd(const nerve_kernels *k, const nerve_layer *l, int rows,
                    int w, const float *a, float *o) {
  size_t n = (size_t)rows * w;
  switch (l->kind) {
  case NERVE_SIGMOID: k->sigmoid(n, a, o); break;
  case NERVE_TANH: k->tanh(n, a, o); break;
  case NERVE_RELU: k->relu(n, a, o); break;
  case NERVE_LEAKY_RELU: k->leaky_relu(n, a, o, l->alpha); break;
  case NERVE_SOFTMAX: k->softmax(rows, w, a, o); break;
  case NERVE_ELU: k->elu(n, a, o, l->alpha); break;
  case NERVE_SOFTPLUS: k->softplus(n, a, o); break;
  case NERVE_GELU: k->gelu(n, a, o); break;
  case NERVE_SIGMOID_SYMMETRIC: /* FANN's: tanh(s a), on the tanh kernel */
    for (size_t i = 0; i < n; i++) o[i] = l->alpha * a[i];
    k->tanh(n, o, o);
    break;
  default: memcpy(o, a, n * sizeof(float)); break;
  }
}

/* d = dE/do on entry, dE/da on return (in place). */
static void act_bwd(const nerve_kernels *k, const nerve_layer *l, int rows,
                    int w, const float *a, const float *o, float *d) {
  size_t n = (size_t)rows * w;
  switch (l->kind) {
  case NERVE_SIGMOID: k->sigmoid_bwd(n, o, d, d); break;
  case NERVE_TANH: k->tanh_bwd(n, o, d, d); break;
  case NERVE_RELU: k->relu_bwd(n, a, d, d); break;
  case NERVE_LEAKY_RELU: k->leaky_relu_bwd(n, a, d, d, l->alpha); break;
  case NERVE_SOFTMAX: k->softmax_bwd(rows, w, o, d, d); break;
  case NERVE_ELU: k->elu_bwd(n, a, o, d, d, l->alpha); break;
  case NERVE_SOFTPLUS: k->softplus_bwd(n, a, d, d); break;
  case NERVE_GELU: k->gelu_bwd(n, a, d, d); break;
  case NERVE_SIGMOID_SYMMETRIC:
    k->tanh_bwd(n, o, d, d);
    for (size_t i = 0; i < n; i++) d[i] *= l->alpha;
    break;
  default: break;
  }
}

/* ------------------------------------------------------ parallel parts
** A GEMM of at least PAR_FLOPS is cut into NERVE_PARTS blocks of rows
** (starting on multiples of 8) whatever the thread count: each block is
** the same kernel call on a pointer offset, so 1 and n threads compute
** the same floats in the same order. Smaller work runs whole, on the
** calling thread: a batch of one never pays for a thread. Half a MFLOP
** (about 5 us) still gains from a second core: it puts the 128-10 layer of
** a batch-256 step on both (+2.5% against 1 MFLOP, measured), while the
** biggest batch-1 GEMM of that network (0.4 MFLOP) stays whole. */
#define PAR_FLOPS 500000.0
#define PAR_ROWS 16

static int parts_for(int rows, int n, int k) {
  return 2.0 * rows * n * k >= PAR_FLOPS && rows >= PAR_ROWS ? NERVE_PARTS
                                                             : 1;
}

/* First row of part p of n rows cut into parts, on a multiple of q. */
static int cut_q(int n, int p, int parts, int q) {
  if (p >= parts) return n;
  if (p == 0) return 0;
  int r = (int)((long long)n * p / parts) / q * q;
  return r < n ? r : n;
}

/* The cuts of a GEMM job's rows: a packed one's on whole micro-tiles (a
** cut inside one leaves a short tile in each part, which costs a full
** tile's traffic), an unpacked one's on multiples of 8. */
static int job_q(const nerve_kernels *k, const nerve_gemm *g) {
  return g->bp ? nerve_gemm_mr(k, g) : 8;
}

/* 1 when slot i is an activation whose work follows the rows of its
** input: it can run on a block of rows right after the GEMM made them. */
static int fusable(const nerve_net *net, int i) {
  if (i < 0 || i >= net->n) return 0;
  nerve_kind k = net->s[i].l->kind;
  return k != NERVE_LINEAR && k != NERVE_DROPOUT;
}

typedef struct fwd_job {
  const nerve_net *net;
  const nerve_kernels *k;
  const nerve_layer *l, *act; /* act: the fused activation, or NULL */
  nerve_gemm g;               /* a = in W + b */
  int rows, parts;
  float *o;  /* the activation's output */
  int warm;  /* read the rows of in first (see warm) */
} fwd_job;

/* Reads rows of the caller's input once, start to end, so that the GEMM
** finds them in cache instead of streaming them from memory six rows at
** a time while it computes: about 1.5% of a batch-256 training step,
** measured. */
#define WARM_MIN (1 << 14) /* floats; below, they are in cache anyway */

static void warm(const float *x, int ld, int rows, int cols) {
  float s[8] = {0};
  for (int i = 0; i < rows; i++) {
    const float *r = x + (size_t)i * ld;
    int j = 0;
    for (; j + 8 <= cols; j += 8)
      for (int u = 0; u < 8; u++) s[u] += r[j + u];
    for (; j < cols; j++) s[0] += r[j];
  }
  volatile float sink = s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7];
  (void)sink;
}

/* Part p of packing W. */
static void fwd_pack(void *u, int p) {
  const fwd_job *j = u;
  nerve_gemm_pack(j->k, &j->g, p, j->parts);
}

/* Rows of part p: a = in W + b, then o = g(a) while a is in cache. */
static void fwd_part(void *u, int p) {
  const fwd_job *j = u;
  int q = job_q(j->k, &j->g);
  int r0 = cut_q(j->rows, p, j->parts, q);
  int r1 = cut_q(j->rows, p + 1, j->parts, q);
  if (r1 <= r0) return;
  const nerve_layer *l = j->l;
  if (j->warm) warm(j->g.a + (size_t)r0 * j->g.ars, (int)j->g.ars, r1 - r0,
                    l->n_in);
  size_t off = (size_t)r0 * l->n_out;
  if (driven(&j->g)) nerve_gemm_rows(j->k, &j->g, r0, r1, a_buf(j->net, p));
  else
    j->k->gemm_nn(r1 - r0, l->n_out, l->n_in, j->g.a + (size_t)r0 * j->g.ars,
                  (int)j->g.ars, l->w, l->n_out, j->g.c + off, l->n_out,
                  l->b);
  if (j->act)
    act_fwd(j->k, j->act, r1 - r0, l->n_out, j->g.c + off, j->o + off);
}

void nerve__net_run(nerve_net *net, const float *x, int ldx, int rows,
                    int cols, int cold) {
  nerve_ctx *ctx = net->ctx;
  const nerve_kernels *k = ctx->k;
  const float *in = x;
  int ld = ldx, w = cols;
  if (net->s[0].l->kind != NERVE_LINEAR && ldx != cols) {
    /* activation kernels take contiguous arrays */
    copy_rows(net->xin.p, x, ldx, rows, cols);
    in = net->xin.p;
    ld = cols;
  }
  for (int i = 0; i < net->n; i++) {
    const nerve_layer *l = net->s[i].l;
    float *o = net->s[i].out.p;
    if (l->kind == NERVE_LINEAR) {
      w = l->n_out;
      fwd_job j = {net, k, l, NULL,
                   nerve_gemm_nn(rows, w, l->n_in, in, ld, l->w, w, o, w,
                                 l->b),
                   rows, parts_for(rows, w, l->n_in), o, 0};
      if (fusable(net, i + 1)) {
        j.act = net->s[i + 1].l;
        j.o = net->s[i + 1].out.p;
      }
      if (use_packed(net, &j.g, &net->pk[0]))
        nerve__pool_run(ctx, j.parts, fwd_pack, &j);
      else /* packing reads the rows anyway */
        j.warm = cold && in == x && (size_t)rows * l->n_in >= WARM_MIN;
      nerve__pool_run(ctx, j.parts, fwd_part, &j);
      net->s[i].w = w;
      if (j.act) {
        i++;
        o = j.o;
      }
    } else if (l->kind == NERVE_DROPOUT) {
      /* serial: the masks come from the shared generator, in order */
      size_t n = (size_t)rows * w;
      nerve__dropout_fwd(net, l, n, in, o, o + n);
    } else {
      act_fwd(k, l, rows, w, in, o);
    }
    net->s[i].w = w;
    in = o;
    ld = w;
  }
  net->rows = rows;
  net->cols = cols;
}

typedef struct bwd_job {
  const nerve_net *net;
  const nerve_kernels *k;
  nerve_layer *l;
  int rows, parts;
  const float *d; /* dE/da of the layer, rows x n_out */
  float *dx;      /* dE/d(input), or NULL when nobody needs it */
  const nerve_layer *act; /* the fused layer below, or NULL */
  const float *act_a, *act_o; /* its input and output (rows x n_in) */
  float *gb;      /* where the bias terms accumulate */
  int set;        /* gW and gb hold nothing yet: overwrite instead */
  /* gW (+)= in^T d and dx = d W^T; a job with g.m = 0 is not run, and one
  ** whose g.bp is set is packed first */
  nerve_gemm wg, ig;
} bwd_job;

/* Part p of packing d (weight gradient) and W^T (input gradient). */
static void bwd_pack(void *u, int p) {
  const bwd_job *j = u;
  if (j->wg.m && j->wg.bp) nerve_gemm_pack(j->k, &j->wg, p, j->parts);
  if (j->ig.m && j->ig.bp) nerve_gemm_pack(j->k, &j->ig, p, j->parts);
}

/* Part p's block of rows of gW (and gb in part 0). The weight gradient of
** a block sums over the whole batch in one call, so there is no
** cross-thread reduction at all. */
static void wgrad_part(void *u, int p) {
  const bwd_job *j = u;
  if (!j->wg.m) return;
  int ni = j->l->n_in, no = j->l->n_out;
  int q = job_q(j->k, &j->wg);
  int c0 = cut_q(ni, p, j->parts, q), c1 = cut_q(ni, p + 1, j->parts, q);
  const nerve_gemm *g = &j->wg;
  if (driven(g)) nerve_gemm_rows(j->k, g, c0, c1, a_buf(j->net, p));
  else if (c1 > c0)
    (g->acc ? j->k->gemm_tn : j->k->gemm_tn_set)(
        c1 - c0, no, j->rows, g->a + c0, (int)g->acs, g->b, no,
        g->c + (size_t)c0 * no, no);
  if (p != 0) return;
  if (j->set) memset(j->gb, 0, (size_t)no * sizeof(float));
  /* from the packed d when there is one: it may be scaled (back_fused);
  ** in bf16 it is rounded, and the bias keeps float32's sums */
  if (j->wg.bp && !j->wg.bf16) nerve_gemm_colsum(j->k, &j->wg, j->gb);
  else j->k->colsum(j->rows, no, j->d, no, j->gb);
}

/* Part p's block of batch rows of dE/dx and, on them, the derivative of
** the layer below. */
static void igrad_part(void *u, int p) {
  const bwd_job *j = u;
  if (!j->ig.m) return;
  int ni = j->l->n_in;
  int q = job_q(j->k, &j->ig);
  int r0 = cut_q(j->rows, p, j->parts, q);
  int r1 = cut_q(j->rows, p + 1, j->parts, q);
  if (r1 <= r0) return;
  const nerve_gemm *g = &j->ig;
  if (driven(g)) nerve_gemm_rows(j->k, g, r0, r1, a_buf(j->net, p));
  else
    j->k->gemm_nt(r1 - r0, ni, j->l->n_out, g->a + (size_t)r0 * g->ars,
                  (int)g->ars, g->b, (int)g->bcs, g->c + (size_t)r0 * ni, ni);
  size_t off = (size_t)r0 * ni;
  if (j->act)
    act_bwd(j->k, j->act, r1 - r0, ni, j->act_a + off, j->act_o + off,
            j->dx + off);
}

static void bwd_part(void *u, int p) {
  wgrad_part(u, p);
  igrad_part(u, p);
}

/* Packs what is to be packed, then runs the parts. */
static void run_bwd(nerve_ctx *ctx, bwd_job *j) {
  if ((j->wg.m && j->wg.bp) || (j->ig.m && j->ig.bp))
    nerve__pool_run(ctx, j->parts, bwd_pack, j);
  nerve__pool_run(ctx, j->parts, bwd_part, j);
}

/* The SGD step folded into the weight-gradient GEMM: with d scaled by
** -lr, W += in^T d is W -= lr dE/dW, with no gradient buffer written,
** zeroed or read back. dE/dx needs the old W. When both GEMMs are packed
** that is the packed W^T, and the scale is applied as d is packed: one
** step. Otherwise (and in bf16, whose rounded d must not reach the bias)
** dE/dx runs first, whole, then d is scaled in place. */
static void back_fused(nerve_ctx *ctx, bwd_job *j, float lr) {
  nerve_gemm wg = j->wg;
  wg.c = j->l->w;
  wg.acc = 1;
  j->gb = j->l->b;
  j->set = 0;
  if (use_packed(j->net, &wg, &j->net->pk[1]) && !wg.bf16 &&
      (!j->ig.m || j->ig.bp)) {
    wg.scale = -lr;
    j->wg = wg;
    run_bwd(ctx, j);
    return;
  }
  j->wg.m = 0;
  run_bwd(ctx, j);
  size_t n = (size_t)j->rows * j->l->n_out, i = 0;
  float *d = (float *)j->d; /* the layer's own error terms: done with */
  /* blocks of 16, which the compiler vectorizes even at -O2 */
  for (; i + 16 <= n; i += 16)
    for (int u = 0; u < 16; u++) d[i + u] *= -lr;
  for (; i < n; i++) d[i] *= -lr;
  j->ig.m = 0;
  j->wg = wg;
  run_bwd(ctx, j);
}

float *nerve__net_back(nerve_net *net, const float *x, int ldx, int want_in,
                       float lr) {
  nerve_ctx *ctx = net->ctx;
  const nerve_kernels *k = ctx->k;
  float *cur = net->g0.p, *other = net->g1.p;
  int rows = net->rows, first_lin = net->n;
  for (int i = net->n - 1; i >= 0; i--)
    if (net->s[i].l->kind == NERVE_LINEAR) first_lin = i;
  for (int i = net->n - 1; i >= 0; i--) {
    nerve_layer *l = net->s[i].l;
    const float *in = i ? net->s[i - 1].out.p : x;
    int ld = i ? net->s[i - 1].w : ldx;
    if (l->kind == NERVE_LINEAR) {
      /* dE/dx is needed by a linear layer below, or by the caller */
      int need = want_in || i > first_lin;
      int ni = l->n_in, no = l->n_out;
      bwd_job j = {net, k, l, rows, 1, cur, need ? other : NULL,
                   NULL, NULL, NULL, l->gb, l->gzero,
                   nerve_gemm_tn(ni, no, rows, in, ld, cur, no, l->gw, no,
                                 !l->gzero),
                   nerve_gemm_nt(need ? rows : 0, ni, no, cur, no, l->w, no,
                                 other, ni)};
      j.parts = parts_for(rows, ni, no);
      if (j.parts < 2) j.parts = parts_for(ni, no, rows);
      /* the activation below, fused when its input is contiguous */
      if (need && fusable(net, i - 1) && (i >= 2 || ldx == ni)) {
        j.act = net->s[i - 1].l;
        j.act_a = i >= 2 ? net->s[i - 2].out.p : x;
        j.act_o = net->s[i - 1].out.p;
      }
      if (need) use_packed(net, &j.ig, &net->pk[0]);
      if (lr != 0) back_fused(ctx, &j, lr);
      else {
        use_packed(net, &j.wg, &net->pk[1]);
        run_bwd(ctx, &j);
        l->gzero = 0;
      }
      if (!need) break;
      float *t = cur;
      cur = other;
      other = t;
      if (j.act) i--;
    } else {
      if (i == 0 && !want_in) break;
      int w = net->s[i].w;
      if (i == 0 && ldx != w) {
        copy_rows(net->xin.p, x, ldx, rows, w);
        in = net->xin.p;
      }
      if (l->kind == NERVE_DROPOUT) {
        size_t n = (size_t)rows * w;
        nerve__dropout_bwd(n, net->s[i].out.p + n, cur);
      } else act_bwd(k, l, rows, w, in, net->s[i].out.p, cur);
    }
  }
  return cur;
}

int nerve__net_aliases(nerve_net *net, const nerve_mat *x) {
  uintptr_t lo = (uintptr_t)x->data;
  uintptr_t hi = (uintptr_t)(x->data + (size_t)(x->rows - 1) * x->stride +
                             x->cols);
  for (int i = 0; i < net->n + NBUFS; i++) {
    const nerve_buf *b = buf_at(net, i);
    uintptr_t p = (uintptr_t)b->p;
    if (b->p && lo < p + b->cap * sizeof(float) && p < hi) return 1;
  }
  return 0;
}

nerve_status nerve_net_forward(nerve_net *net, const nerve_mat *x,
                               nerve_mat *out) {
  if (!net->n) return NERVE_EARG;
  if (!nerve__mat_ok(x) || !out) return NERVE_EARG;
  int w, rows = x->rows, cols = x->cols;
  int first_act = net->s[0].l->kind != NERVE_LINEAR;
  const float *xp = x->data;
  int ldx = x->stride;
  if (nerve__net_aliases(net, x)) {
    /* x is our own output (forward(forward(x))): copy it out of harm's way
    ** before any buffer is written or replaced */
    int nin = nerve_net_n_in(net);
    if (nin && nin != cols) return NERVE_ESHAPE;
    if (!nerve__buf_prepare(net->ctx, &net->xin, (size_t)rows * cols))
      return NERVE_ENOMEM;
    net->epoch += nerve__buf_commit(net->ctx, &net->xin);
    copy_rows(net->xin.p, xp, ldx, rows, cols);
    xp = net->xin.p;
    ldx = cols;
  }
  nerve_status s = nerve__net_reserve(net, rows, cols, first_act, 0, &w);
  if (s) return s;
  nerve__net_run(net, xp, ldx, rows, cols, 0);
  *out = nerve_mat_view(net->s[net->n - 1].out.p, rows, w);
  return NERVE_OK;
}

size_t nerve_net_buffer_epoch(const nerve_net *net) { return net->epoch; }

nerve_status nerve_net_backward(nerve_net *net, const nerve_mat *x,
                                const nerve_mat *grad_out,
                                nerve_mat *grad_in) {
  if (!nerve__mat_ok(x) || !nerve__mat_ok(grad_out)) return NERVE_EARG;
  if (!net->n || !net->rows || x->rows != net->rows || x->cols != net->cols)
    return NERVE_ESTATE;
  if (grad_out->rows != net->rows || grad_out->cols != net->s[net->n - 1].w)
    return NERVE_ESHAPE;
  nerve_status s = nerve__net_reserve_back(net);
  if (s) return s;
  copy_rows(net->g0.p, grad_out->data, grad_out->stride, grad_out->rows,
            grad_out->cols);
  float *d = nerve__net_back(net, x->data, x->stride, grad_in != NULL, 0);
  if (grad_in) *grad_in = nerve_mat_view(d, net->rows, net->cols);
  return NERVE_OK;
}
