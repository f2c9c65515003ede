/*
** gemm.c - the one GEMM driver of every table with a packed path (see
** gemm.h); only the micro-kernels and the packing routines are per
** instruction set.
**
** Layouts (mr, nr, kc, mc, nc from the table):
**   packed op(B), the whole matrix: for each depth block [p0, p0 + kc) the
**     panels of nr columns, one after the other, each kc rows of nr floats
**     (the last panel zero-padded): panel t at bp + p0 np + t nr kc, where
**     np is n rounded up to nr. Packed once per job, shared by all rows.
**   packed A, one block of mc rows by kc: panels of mr rows, each kc steps
**     of mr floats (panel q at ap + q mr kc), packed by each block of rows
**     into its own buffer.
**   bf16 on a table with pair kernels (ukr2): the same, with depth
**     blocks of 2 kc values packed as kc words, one word per pair of
**     depths (kernels.h): block p0 at bp + p0/2 np, panel t at + t nr q,
**     q = ceil(kc/2) words deep. The buffers' sizes hold either layout.
** Loops, outermost first: nc columns (a block of B for L3), kc of depth,
** mc rows (the packed A block stays in L2), nr columns (the B micro-panel
** stays in L1), mr rows: the micro-kernel.
*/
#include <math.h>
#include <string.h>

#include "kernels/gemm.h"

int nerve_gemm_packed(const nerve_kernels *t, nerve_gemm_shape shape, int m,
                      int n, int k, int bf16) {
  return t->mr > 0 && m > 0 && k > 0 &&
         (bf16 || (t->pays && t->pays((int)shape, m, n, k)));
}

static size_t round_up(size_t x, size_t q) { return (x + q - 1) / q * q; }

/* The kernels and packing a job runs on: float32's, or for bf16 AMX's
** (once the OS grants the tiles) or the pair kernels, where the table has
** them. A packed depth block of kc values is steps(kc) words deep: one
** per pair values, rounded up to a multiple of kq. */
typedef struct plan {
  nerve_ukr *const *ukr;
  nerve_pack *pack_a, *pack_b;
  int mr, kc, pair, kq;
} plan;

static plan plan_of(const nerve_kernels *t, const nerve_gemm *g) {
  plan p = {t->ukr, t->pack_a, t->pack_b, t->mr, t->kc, 1, 1};
  if (!g->bf16) return p;
  if (t->amx_ukr && t->amx_ready(1)) {
    p.ukr = t->amx_ukr, p.pack_a = t->amx_pack_a, p.pack_b = t->amx_pack_b;
    p.mr = t->amx_mr, p.kc = 2 * t->kc, p.pair = 2, p.kq = 16;
  } else if (t->ukr2[0]) {
    p.ukr = t->ukr2, p.pack_a = t->pack2_a, p.pack_b = t->pack2_b;
    p.kc = 2 * t->kc, p.pair = 2;
  }
  return p;
}

static int steps(const plan *p, int kc) {
  int w = (kc + p->pair - 1) / p->pair;
  return (w + p->kq - 1) / p->kq * p->kq;
}

int nerve_gemm_mr(const nerve_kernels *t, const nerve_gemm *g) {
  return plan_of(t, g).mr;
}

/* Every plan's layout fits: AMX's rounds only the last depth block up
** (kc is a multiple of 16), by at most 16 words. */
size_t nerve_gemm_bsize(const nerve_kernels *t, int n, int k) {
  size_t depth = (size_t)k + (t->amx_ukr ? 32 : 0);
  return t->mr ? round_up((size_t)n, (size_t)t->nr) * depth : 0;
}

/* A block's rows rounded up to any plan's tile (AMX's may be taller). */
size_t nerve_gemm_asize(const nerve_kernels *t) {
  size_t mr = (size_t)(t->amx_mr > t->mr ? t->amx_mr : t->mr);
  return t->mr ? round_up((size_t)t->mc, mr) * (size_t)t->kc : 0;
}

/* What a packing routine stores for x. */
static float packed(float x, float scale, int bf16) {
  return scale * (bf16 ? nerve_bf16(x) : x);
}

void nerve_pack_a_c(int rows, int cols, const float *x, size_t rs, size_t cs,
                    float *dst, int w, float scale, int bf16) {
  for (int i = 0; i < rows; i += w, dst += (size_t)cols * w) {
    int h = rows - i < w ? rows - i : w;
    const float *xi = x + (size_t)i * rs;
    for (int p = 0; p < cols; p++)
      for (int r = 0; r < h; r++)
        dst[(size_t)p * w + r] =
            packed(xi[(size_t)r * rs + (size_t)p * cs], scale, bf16);
  }
}

void nerve_pack_b_c(int rows, int cols, const float *x, size_t rs, size_t cs,
                    float *dst, int w, float scale, int bf16) {
  for (int j = 0; j < cols; j += w, dst += (size_t)rows * w) {
    int h = cols - j < w ? cols - j : w;
    const float *xj = x + (size_t)j * cs;
    for (int p = 0; p < rows; p++) {
      float *d = dst + (size_t)p * w;
      for (int u = 0; u < h; u++)
        d[u] = packed(xj[(size_t)p * rs + u * cs], scale, bf16);
      for (int u = h; u < w; u++) d[u] = 0.0f;
    }
  }
}

/* x's bf16 bits for a pair: nerve_bf16 with a denormal x flushed to a
** zero of its sign first, as vcvtne2ps2bf16 rounds (the pair
** instructions flush denormal operands anyway). */
static uint32_t pair_half(float x) {
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  if ((u & 0x7f800000u) == 0) u &= 0x80000000u;
  memcpy(&x, &u, sizeof x);
  x = nerve_bf16(x);
  memcpy(&u, &x, sizeof u);
  return u >> 16;
}

/* The word of a bf16 pair: lo's bf16 in the low half, hi's in the high. */
static uint32_t pair_word(float lo, float hi) {
  return pair_half(lo) | pair_half(hi) << 16;
}

/* Pair packing works on words; scale is 1 (kernels.h) and bf16 implied. */
void nerve_pack2_a_c(int rows, int cols, const float *x, size_t rs,
                     size_t cs, float *dst, int w, float scale, int bf16) {
  (void)scale, (void)bf16;
  uint32_t *d = (uint32_t *)dst;
  int q = (cols + 1) / 2;
  for (int i = 0; i < rows; i += w, d += (size_t)q * w) {
    int h = rows - i < w ? rows - i : w;
    for (int s = 0; s < q; s++)
      for (int r = 0; r < h; r++) {
        const float *xr = x + (size_t)(i + r) * rs + (size_t)(2 * s) * cs;
        d[(size_t)s * w + r] = pair_word(xr[0], 2 * s + 1 < cols ? xr[cs] : 0);
      }
  }
}

void nerve_pack2_b_c(int rows, int cols, const float *x, size_t rs,
                     size_t cs, float *dst, int w, float scale, int bf16) {
  (void)scale, (void)bf16;
  uint32_t *d = (uint32_t *)dst;
  int q = (rows + 1) / 2;
  for (int j = 0; j < cols; j += w, d += (size_t)q * w) {
    int h = cols - j < w ? cols - j : w;
    for (int s = 0; s < q; s++) {
      uint32_t *ds = d + (size_t)s * w;
      const float *x0 = x + (size_t)(2 * s) * rs + (size_t)j * cs;
      for (int u = 0; u < h; u++)
        ds[u] = pair_word(x0[u * cs], 2 * s + 1 < rows ? x0[rs + u * cs] : 0);
      for (int u = h; u < w; u++) ds[u] = 0;
    }
  }
}

/* First panel of part p of parts. */
static int cut(int panels, int p, int parts) {
  return (int)((long long)panels * p / parts);
}

void nerve_gemm_pack(const nerve_kernels *t, const nerve_gemm *g, int part,
                     int parts) {
  int nr = t->nr, panels = (g->n + nr - 1) / nr;
  int t0 = cut(panels, part, parts), t1 = cut(panels, part + 1, parts);
  if (t1 <= t0) return;
  size_t np = (size_t)panels * nr;
  int j0 = t0 * nr, cols = (t1 * nr < g->n ? t1 * nr : g->n) - j0;
  plan pl = plan_of(t, g);
  for (int p0 = 0; p0 < g->k; p0 += pl.kc) {
    int kc = g->k - p0 < pl.kc ? g->k - p0 : pl.kc;
    float *dst = g->bp + (size_t)(p0 / pl.pair) * np +
                 (size_t)t0 * nr * steps(&pl, kc);
    pl.pack_b(kc, cols, g->b + (size_t)p0 * g->brs + (size_t)j0 * g->bcs,
              g->brs, g->bcs, dst, nr, g->scale, g->bf16);
  }
}

/* Asks for the rows of the next tile of C, which the micro-kernel reads
** (acc) or writes at once: they were last touched a whole depth block
** ago and have left L1 and often L2. */
static void prefetch_tile(const float *c, size_t ldc, int rows, int nr) {
  for (int r = 0; r < rows; r++) {
    const float *cr = c + (size_t)r * ldc;
    for (int j = 0; j < nr; j += 16) __builtin_prefetch(cr + j, 1, 3);
    __builtin_prefetch(cr + nr - 1, 1, 3);
  }
}

/* A tile at the right edge (nr < t->nr columns of C): through a full
** tile on the stack, so the micro-kernel never masks. */
static void edge_tile(const nerve_kernels *t, nerve_ukr *ukr, int mr,
                      int nr, int kc, const float *ap, const float *bp,
                      float *c, size_t ldc, int acc, const float *bias) {
  _Alignas(64) float tile[32 * 64]; /* mr <= 32 (AMX's), nr <= 64 */
  int w = t->nr;
  for (int r = 0; r < mr; r++) {
    float *tr = tile + (size_t)r * w;
    const float *src = acc ? c + (size_t)r * ldc : bias;
    for (int j = 0; j < w; j++) tr[j] = src && j < nr ? src[j] : 0.0f;
  }
  ukr(kc, ap, bp, tile, (size_t)w, 1, NULL);
  for (int r = 0; r < mr; r++)
    memcpy(c + (size_t)r * ldc, tile + (size_t)r * w, nr * sizeof(float));
}

/* bf16 rows without packing: the reference loops, each element its chain
** of FMAs on rounded operands in order of p (their products are exact, so
** these are the packed path's floats). */
static void bf16_rows(const nerve_gemm *g, int r0, int r1) {
  for (int i = r0; i < r1; i++)
    for (int j = 0; j < g->n; j++) {
      float *cij = g->c + (size_t)i * g->ldc + j;
      float s = g->acc ? *cij : g->bias ? g->bias[j] : 0.0f;
      for (int p = 0; p < g->k; p++)
        s = fmaf(nerve_bf16(g->a[(size_t)i * g->ars + (size_t)p * g->acs]),
                 nerve_bf16(g->b[(size_t)p * g->brs + (size_t)j * g->bcs]),
                 s);
      *cij = s;
    }
}

/* Rows r0 .. r1-1 of a float32 job on the table's unpacked slots. */
static void slot_rows(const nerve_kernels *t, const nerve_gemm *g, int r0,
                      int r1) {
  int m = r1 - r0, ldc = (int)g->ldc;
  float *c = g->c + (size_t)r0 * g->ldc;
  switch (g->shape) {
  case NERVE_GEMM_NN:
    t->gemm_nn(m, g->n, g->k, g->a + (size_t)r0 * g->ars, (int)g->ars, g->b,
               (int)g->brs, c, ldc, g->bias);
    break;
  case NERVE_GEMM_TN:
    (g->acc ? t->gemm_tn : t->gemm_tn_set)(m, g->n, g->k, g->a + r0,
                                           (int)g->acs, g->b, (int)g->brs, c,
                                           ldc);
    break;
  case NERVE_GEMM_NT:
    t->gemm_nt(m, g->n, g->k, g->a + (size_t)r0 * g->ars, (int)g->ars, g->b,
               (int)g->bcs, c, ldc);
    break;
  }
}

/* Rows of C without a packed path, or where it does not pay. */
static void unpacked_rows(const nerve_kernels *t, const nerve_gemm *g,
                          int r0, int r1) {
  if (g->bf16) bf16_rows(g, r0, r1);
  else slot_rows(t, g, r0, r1);
}

/* C rows [r0, r1) over one depth block [p0, p0 + kc) and the columns
** [j0, j0 + nc). */
static void block(const nerve_kernels *t, const plan *pl, const nerve_gemm *g,
                  int r0, int r1, int p0, int kc, int j0, int nc, float *ap) {
  int MR = pl->mr, NR = t->nr, kw = steps(pl, kc);
  int acc = g->acc || p0 > 0;
  const float *bias = acc ? NULL : g->bias;
  size_t np = round_up((size_t)g->n, (size_t)NR);
  const float *bblk =
      g->bp + (size_t)(p0 / pl->pair) * np + (size_t)j0 * kw;
  /* blocks of at most mc rows, all alike: a last block of a few rows
  ** would stream all of B's panels again for little work */
  int nb = (r1 - r0 + t->mc - 1) / t->mc;
  int step = ((r1 - r0 + nb - 1) / nb + MR - 1) / MR * MR;
  for (int i0 = r0; i0 < r1; i0 += step) {
    int mc = r1 - i0 < step ? r1 - i0 : step;
    pl->pack_a(mc, kc, g->a + (size_t)i0 * g->ars + (size_t)p0 * g->acs,
               g->ars, g->acs, ap, MR, 1.0f, g->bf16);
    for (int jr = 0; jr < nc; jr += NR) {
      int nr = nc - jr < NR ? nc - jr : NR;
      const float *bp = bblk + (size_t)jr * kw;
      const float *bi = bias ? bias + j0 + jr : NULL;
      for (int ir = 0; ir < mc; ir += MR) {
        int mr = mc - ir < MR ? mc - ir : MR;
        float *c = g->c + (size_t)(i0 + ir) * g->ldc + j0 + jr;
        if (ir + MR < mc) {
          int next = mc - ir - MR < MR ? mc - ir - MR : MR;
          prefetch_tile(c + MR * g->ldc, g->ldc, next, nr);
        }
        const float *ai = ap + (size_t)ir * kw;
        if (nr == NR) pl->ukr[mr - 1](kw, ai, bp, c, g->ldc, acc, bi);
        else edge_tile(t, pl->ukr[mr - 1], mr, nr, kw, ai, bp, c, g->ldc,
                       acc, bi);
      }
    }
  }
}

void nerve_gemm_rows(const nerve_kernels *t, const nerve_gemm *g, int r0,
                     int r1, float *ap) {
  if (r1 <= r0) return;
  if (!g->bp) {
    unpacked_rows(t, g, r0, r1);
    return;
  }
  plan pl = plan_of(t, g);
  for (int j0 = 0; j0 < g->n; j0 += t->nc) {
    int nc = g->n - j0 < t->nc ? g->n - j0 : t->nc;
    for (int p0 = 0; p0 < g->k; p0 += pl.kc) {
      int kc = g->k - p0 < pl.kc ? g->k - p0 : pl.kc;
      block(t, &pl, g, r0, r1, p0, kc, j0, nc, ap);
    }
  }
}

void nerve_gemm_colsum(const nerve_kernels *t, const nerve_gemm *g,
                       float *out) {
  int nr = t->nr;
  size_t np = round_up((size_t)g->n, (size_t)nr);
  for (int p0 = 0; p0 < g->k; p0 += t->kc) {
    int kc = g->k - p0 < t->kc ? g->k - p0 : t->kc;
    for (int j = 0; j < g->n; j += nr)
      t->colsum(kc, g->n - j < nr ? g->n - j : nr,
                g->bp + (size_t)p0 * np + (size_t)j * kc, nr, out + j);
  }
}

void nerve_gemm_run(const nerve_kernels *t, nerve_gemm *g, float *ws) {
  g->bp = NULL;
  if (nerve_gemm_packed(t, g->shape, g->m, g->n, g->k, g->bf16)) {
    g->bp = ws;
    nerve_gemm_pack(t, g, 0, 1);
    ws += nerve_gemm_bsize(t, g->n, g->k);
  }
  nerve_gemm_rows(t, g, 0, g->m, ws);
}
