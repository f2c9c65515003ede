/*
** test_gemm.c - the packed GEMM driver (kernels/gemm.c) with every table's
** micro-kernels and packing routines, and with a plain C micro-kernel of
** odd geometry that runs on any machine.
**
** Every element of C must be its chain of fused multiply-adds (init, then
** one fmaf per p in order), bit for bit: on the packed path, on the
** unpacked nn and tn slots, whatever the blocking and however the rows
** are cut between threads. Inputs are strided views padded with NaN (a
** read of padding would show in C) and C is padded with GUARD (a write
** would show there).
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrays.h"
#include "check.h"
#include "kernels/gemm.h"
#include "kernels/sets.h"

enum { NN, NN_BIAS, NT, TN, TN_SET, NKINDS };
static const char *kind_name[] = {"nn", "nn+bias", "nt", "tn", "tn_set"};

/* ------------------------------------------ a micro-kernel in plain C */

/* Odd on purpose: mr = 5 rows, nr = 4 columns (any nr works for the
** driver; the SIMD tables use whole vectors). */
enum { TMR = 5, TNR = 4 };

static void c_ukr(int mr, int kc, const float *ap, const float *bp, float *c,
                  size_t ldc, int acc, const float *bias) {
  for (int i = 0; i < mr; i++)
    for (int j = 0; j < TNR; j++) {
      float s = acc ? c[i * ldc + j] : bias ? bias[j] : 0.0f;
      for (int p = 0; p < kc; p++)
        s = fmaf(ap[p * TMR + i], bp[p * TNR + j], s);
      c[i * ldc + j] = s;
    }
}

#define UKR(r)                                                          \
  static void c_ukr##r(int kc, const float *ap, const float *bp,        \
                       float *c, size_t ldc, int acc,                   \
                       const float *bias) {                             \
    c_ukr(r, kc, ap, bp, c, ldc, acc, bias);                            \
  }
UKR(1) UKR(2) UKR(3) UKR(4) UKR(5)
#undef UKR

/* c + a0 b0 + a1 b1 on bf16 values as vdpbf16ps sums it (the odd
** product first), without its flushing of denormals: the sum of the
** plain pair micro-kernel. The products are exact. */
static float c_dot2(float c, float a0, float b0, float a1, float b1) {
  return (c + a1 * b1) + a0 * b0;
}

static float half(uint32_t w, int hi) {
  uint32_t u = hi ? w & 0xffff0000u : w << 16;
  float x;
  memcpy(&x, &u, sizeof x);
  return x;
}

/* The plain pair micro-kernel: kc steps of one word (a pair of depths)
** of A per row and of B per column (kernels.h's ukr2). */
static void c_pair_ukr(int mr, int kc, const float *ap, const float *bp,
                   float *c, size_t ldc, int acc, const float *bias) {
  const uint32_t *aw = (const uint32_t *)ap, *bw = (const uint32_t *)bp;
  for (int i = 0; i < mr; i++)
    for (int j = 0; j < TNR; j++) {
      float s = acc ? c[i * ldc + j] : bias ? bias[j] : 0.0f;
      for (int q = 0; q < kc; q++) {
        uint32_t a = aw[q * TMR + i], b = bw[q * TNR + j];
        s = c_dot2(s, half(a, 0), half(b, 0), half(a, 1), half(b, 1));
      }
      c[i * ldc + j] = s;
    }
}

#define UKR(r)                                                          \
  static void c_pair##r(int kc, const float *ap, const float *bp,      \
                         float *c, size_t ldc, int acc,                 \
                         const float *bias) {                           \
    c_pair_ukr(r, kc, ap, bp, c, ldc, acc, bias);                           \
  }
UKR(1) UKR(2) UKR(3) UKR(4) UKR(5)
#undef UKR

/* The plain table's rule: wide enough on both sides. */
static int c_pays(int shape, int m, int n, int k) {
  return (void)shape, (void)k, m >= 32 && n >= 32;
}

/* The scalar table with the plain micro-kernels and small blocks, so that
** small matrices cross every block edge. */
static nerve_kernels c_table(void) {
  nerve_kernels t = *nerve_kernels_get("scalar");
  t.name = "plain-ukr";
  t.mr = TMR, t.nr = TNR, t.kc = 7, t.mc = 10, t.nc = 12;
  t.ukr[0] = c_ukr1, t.ukr[1] = c_ukr2, t.ukr[2] = c_ukr3;
  t.ukr[3] = c_ukr4, t.ukr[4] = c_ukr5;
  t.pack_a = nerve_pack_a_c;
  t.pack_b = nerve_pack_b_c;
  t.pays = c_pays;
  t.ukr2[0] = c_pair1, t.ukr2[1] = c_pair2, t.ukr2[2] = c_pair3;
  t.ukr2[3] = c_pair4, t.ukr2[4] = c_pair5;
  t.pack2_a = nerve_pack2_a_c;
  t.pack2_b = nerve_pack2_b_c;
  return t;
}

typedef float dot2_fn(float c, float a0, float b0, float a1, float b1);

#if defined(__x86_64__)
#include <immintrin.h>
/* The instruction itself on one lane: the sum the avx512 table's pair
** kernels must give, element by element. */
__attribute__((target("avx512f,avx512bf16"))) static float
hw_dot2(float c, float a0, float b0, float a1, float b1) {
  uint32_t wa, wb;
  float x[2] = {a0, a1}, y[2] = {b0, b1};
  uint32_t u[4];
  memcpy(u, x, sizeof x), memcpy(u + 2, y, sizeof y);
  wa = u[0] >> 16 | (u[1] & 0xffff0000u);
  wb = u[2] >> 16 | (u[3] & 0xffff0000u);
  __m512 r = _mm512_dpbf16_ps(_mm512_set1_ps(c),
                              (__m512bh)_mm512_set1_epi32((int)wa),
                              (__m512bh)_mm512_set1_epi32((int)wb));
  return _mm512_cvtss_f32(r);
}
#endif

/* AMX's layout (avx512/amx.c) read in plain C: a tile of r <= 32 rows by
** 32 columns, A packed per 16 words of depth as 32 rows of 16 words, B
** the pair panel; each pair summed as c_dot2. With the table's own AMX
** packing, it tests everything of the AMX path but the tile instructions
** on any CPU with AVX512-BF16. */
enum { AMR = 32, ANR = 32, AKQ = 16 };

static void amx_c_ukr(int mr, int kw, const float *ap, const float *bp,
                      float *c, size_t ldc, int acc, const float *bias) {
  const uint32_t *aw = (const uint32_t *)ap, *bw = (const uint32_t *)bp;
  for (int i = 0; i < mr; i++)
    for (int j = 0; j < ANR; j++) {
      float s = acc ? c[i * ldc + j] : bias ? bias[j] : 0.0f;
      for (int q = 0; q < kw; q++) {
        uint32_t a = aw[(q / AKQ) * AMR * AKQ + i * AKQ + q % AKQ];
        uint32_t b = bw[q * ANR + j];
        s = c_dot2(s, half(a, 0), half(b, 0), half(a, 1), half(b, 1));
      }
      c[i * ldc + j] = s;
    }
}

#define UKR(r)                                                          \
  static void amx_c##r(int kw, const float *ap, const float *bp,        \
                       float *c, size_t ldc, int acc,                   \
                       const float *bias) {                             \
    amx_c_ukr(r, kw, ap, bp, c, ldc, acc, bias);                        \
  }
UKR(1) UKR(2) UKR(3) UKR(4) UKR(5) UKR(6) UKR(7) UKR(8) UKR(9) UKR(10)
UKR(11) UKR(12) UKR(13) UKR(14) UKR(15) UKR(16) UKR(17) UKR(18) UKR(19)
UKR(20) UKR(21) UKR(22) UKR(23) UKR(24) UKR(25) UKR(26) UKR(27) UKR(28)
UKR(29) UKR(30) UKR(31) UKR(32)
#undef UKR
static nerve_ukr *const amx_c[AMR] = {
    amx_c1,  amx_c2,  amx_c3,  amx_c4,  amx_c5,  amx_c6,  amx_c7,  amx_c8,
    amx_c9,  amx_c10, amx_c11, amx_c12, amx_c13, amx_c14, amx_c15, amx_c16,
    amx_c17, amx_c18, amx_c19, amx_c20, amx_c21, amx_c22, amx_c23, amx_c24,
    amx_c25, amx_c26, amx_c27, amx_c28, amx_c29, amx_c30, amx_c31, amx_c32};

static int granted(int asking) { return (void)asking, 1; }

/* 1 when t's bf16 jobs run on the real AMX tiles: their sums (the
** instruction accumulates a tile's 16 pairs in an order of its own) are
** checked within tolerance, not bit for bit. */
static int real_amx(const nerve_kernels *t) {
  return t->amx_ukr && t->amx_ukr != amx_c && t->amx_ready(1);
}

/* How table t sums a bf16 pair: NULL where it has no pair kernels (the
** chain of fmaf on rounded operands). */
static dot2_fn *dot2_of(const nerve_kernels *t) {
  if (t->amx_ukr == amx_c) return c_dot2;
  if (!t->ukr2[0]) return NULL;
  if (t->ukr2[0] == c_pair1) return c_dot2;
#if defined(__x86_64__)
  return hw_dot2;
#else
  return NULL;
#endif
}

#if defined(__x86_64__)
/* ukr.h's 12-row tile (AVX-512's) built with AVX2's vectors: every line
** of the template that a 12-row table runs, on any x86 machine with AVX2
** (the avx512 table itself only runs where the CPU has it). */
#include <immintrin.h>
#define UKR_MR 12
#define UKR_VW 8
#define UKR_V __m256
#define UKR_ZERO() _mm256_setzero_ps()
#define UKR_LOAD(p) _mm256_load_ps(p)
#define UKR_LOADU(p) _mm256_loadu_ps(p)
#define UKR_STOREU(p, v) _mm256_storeu_ps(p, v)
#define UKR_BCAST(p) _mm256_broadcast_ss(p)
#define UKR_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define UKR_ATTR __attribute__((target("avx2,fma")))
#define UKR_ZEROUPPER() _mm256_zeroupper()
#include "kernels/ukr.h"

static int wide_table(nerve_kernels *t) {
  static nerve_ukr *const fns[] = UKR_TABLE;
  const nerve_kernels *avx2 = nerve_kernels_get("avx2");
  if (!avx2) return 0;
  *t = *avx2;
  t->name = "avx2-12-rows";
  t->mr = UKR_MR;
  t->mc = 48;
  for (int r = 0; r < UKR_MR; r++) t->ukr[r] = fns[r];
  return 1;
}
#else
static int wide_table(nerve_kernels *t) { (void)t; return 0; }
#endif

/* ---------------------------------------------------------- the cases */

typedef struct operands {
  float *a, *b, *c, *bias;
  size_t la, lb, lc;
  int lda, ldb, ldc;
} operands;

static int is_tn(int kind) { return kind == TN || kind == TN_SET; }

static nerve_gemm job(int kind, int m, int n, int k, operands *o) {
  switch (kind) {
  case NN:
  case NN_BIAS:
    return nerve_gemm_nn(m, n, k, o->a, o->lda, o->b, o->ldb, o->c, o->ldc,
                         kind == NN_BIAS ? o->bias : NULL);
  case NT: return nerve_gemm_nt(m, n, k, o->a, o->lda, o->b, o->ldb, o->c, o->ldc);
  default:
    return nerve_gemm_tn(m, n, k, o->a, o->lda, o->b, o->ldb, o->c, o->ldc,
                         kind == TN);
  }
}

/* Operands of job kind, padded by pad floats per row (NaN in A and B,
** GUARD in C); C holds random values (TN accumulates onto them) or NaN,
** which the job must overwrite. */
static operands make(int kind, int m, int n, int k, int pad) {
  operands o;
  int ar = is_tn(kind) ? k : m, ac = is_tn(kind) ? m : k;
  int br = kind == NT ? n : k, bc = kind == NT ? k : n;
  o.lda = ac + pad, o.ldb = bc + 2 * pad, o.ldc = n + 3 * pad;
  o.a = view(ar, ac, o.lda, NAN, &o.la);
  o.b = view(br, bc, o.ldb, NAN, &o.lb);
  o.c = view(m, n, o.ldc, GUARD, &o.lc);
  size_t lbias;
  o.bias = view(1, n, n, 0, &lbias);
  if (kind != TN)
    for (size_t i = 0; i < o.lc; i++)
      if ((int)(i % o.ldc) < n) o.c[i] = NAN;
  return o;
}

static void unmake(operands *o) {
  free(o->a), free(o->b), free(o->c), free(o->bias);
}

/* An operand as the GEMM takes it: rounded to bf16 in a bf16 job. */
static float operand(const nerve_gemm *g, float x) {
  return g->bf16 ? nerve_bf16(x) : x;
}

/* An operand of a bf16 job on pair kernels: denormals flushed first
** (kernels.h's pair packing). */
static float operand_of(const nerve_gemm *g, dot2_fn *dot2, float x) {
  if (dot2 && g->bf16 && fabsf(x) < 0x1p-126f) x = copysignf(0.0f, x);
  return operand(g, x);
}

/* What every path must give: each element's chain of fmaf (in bf16, on
** the rounded operands, B's scaled after rounding), or with dot2 (a bf16
** job on pair kernels) its chain of pairs, an odd depth's last pair
** completed with zeros. */
static void chain_of(const nerve_gemm *g, dot2_fn *dot2) {
  for (int i = 0; i < g->m; i++)
    for (int j = 0; j < g->n; j++) {
      float *cij = g->c + i * g->ldc + j;
      float s = g->acc ? *cij : g->bias ? g->bias[j] : 0.0f;
#define A(p) operand_of(g, dot2, g->a[i * g->ars + (p) * g->acs])
#define B(p) operand_of(g, dot2, g->b[(p) * g->brs + j * g->bcs])
      if (dot2 && g->bf16)
        for (int p = 0; p < g->k; p += 2)
          s = dot2(s, A(p), B(p), p + 1 < g->k ? A(p + 1) : 0.0f,
                   p + 1 < g->k ? B(p + 1) : 0.0f);
      else
        for (int p = 0; p < g->k; p++) s = fmaf(A(p), g->scale * B(p), s);
#undef A
#undef B
      *cij = s;
    }
}

static void chain(const nerve_gemm *g) { chain_of(g, NULL); }

static float *aligned(size_t n) {
  float *p = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64 + 64);
  if (!p) exit(2);
  return p;
}

/* g on the packed path of t, its rows cut into parts at the given row
** (0: one part), as the engine's threads would. */
static void run_packed(const nerve_kernels *t, nerve_gemm g, int at) {
  float *bp = aligned(nerve_gemm_bsize(t, g.n, g.k));
  float *ap = aligned(nerve_gemm_asize(t));
  g.bp = bp;
  for (int p = 0; p < 3; p++) nerve_gemm_pack(t, &g, p, 3);
  nerve_gemm_rows(t, &g, 0, at, ap);
  nerve_gemm_rows(t, &g, at, g.m, ap);
  free(bp), free(ap);
}

/* The inputs unchanged, C's padding unchanged, and C bitwise want. */
static int compare(const nerve_kernels *t, const char *path, int kind,
                   int m, int n, int k, const operands *o,
                   const operands *orig, const float *want) {
  int ok = memcmp(o->a, orig->a, o->la * sizeof(float)) == 0 &&
           memcmp(o->b, orig->b, o->lb * sizeof(float)) == 0;
  if (!ok)
    fprintf(stderr, "%s %s %s m=%d n=%d k=%d: wrote its inputs\n", t->name,
            path, kind_name[kind], m, n, k);
  for (size_t i = 0; i < o->lc && ok; i++) {
    int col = (int)(i % o->ldc);
    float w = col < n ? want[i] : GUARD;
    if (!same_bits(o->c[i], w)) {
      fprintf(stderr, "%s %s %s m=%d n=%d k=%d: C[%d][%d] = %.9g, want "
              "%.9g\n", t->name, path, kind_name[kind], m, n, k,
              (int)(i / o->ldc), col, o->c[i], w);
      ok = 0;
    }
  }
  return ok;
}

/* The SIMD tables' unpacked nn and tn slots are chains of FMAs too; the
** scalar reference's are not (a product, then a sum). */
static int chains_unpacked(const nerve_kernels *t) {
  return t->gemm_nn != nerve_kernels_get("scalar")->gemm_nn;
}

/* One shape and kind on table t, in float32 or bf16: the packed path
** (with two cuts of the rows), and the unpacked slots where they are
** chains too (not nt; in bf16 every kind, the reference loops). */
static int gemm_case_in(const nerve_kernels *t, int kind, int m, int n, int k,
                        int pad, int bf16) {
  operands o = make(kind, m, n, k, pad), orig = o;
  orig.a = dup(o.a, o.la), orig.b = dup(o.b, o.lb), orig.c = dup(o.c, o.lc);
  nerve_gemm g = job(kind, m, n, k, &o);
  g.bf16 = bf16;
  g.c = dup(o.c, o.lc);
  chain_of(&g, dot2_of(t));
  float *want = g.c;
  int ok = 1;
  for (int cut = 0; cut < 2 && ok; cut++) {
    memcpy(o.c, orig.c, o.lc * sizeof(float));
    g = job(kind, m, n, k, &o);
    g.bf16 = bf16;
    run_packed(t, g, cut ? m / 2 : 0);
    ok = compare(t, cut ? "packed, cut" : "packed", kind, m, n, k, &o,
                 &orig, want);
  }
  if (ok && (bf16 || (kind != NT && chains_unpacked(t)))) {
    if (bf16 && dot2_of(t)) { /* the reference loops chain fmaf */
      memcpy(want, orig.c, o.lc * sizeof(float));
      g = job(kind, m, n, k, &o);
      g.bf16 = bf16, g.c = want;
      chain(&g);
    }
    memcpy(o.c, orig.c, o.lc * sizeof(float));
    g = job(kind, m, n, k, &o);
    g.bf16 = bf16;
    nerve_gemm_rows(t, &g, 0, m, NULL); /* bp NULL: the slots */
    ok = compare(t, "unpacked", kind, m, n, k, &o, &orig, want);
  }
  free(want), free(orig.a), free(orig.b), free(orig.c);
  unmake(&o);
  return ok;
}

static int gemm_case(const nerve_kernels *t, int kind, int m, int n, int k,
                     int pad) {
  return gemm_case_in(t, kind, m, n, k, pad, 0);
}

/* bf16 jobs: odd shapes, strides, block edges, k = 1. */
static void test_bf16(const nerve_kernels *t) {
  static const int dims[] = {1, 3, 17, 65};
  for (int kind = 0; kind < NKINDS; kind++) {
    for (int i = 0; i < 4; i++)
      for (int j = 0; j < 4; j++)
        for (int l = 0; l < 4; l++)
          CHECK(gemm_case_in(t, kind, dims[i], dims[j], dims[l], i % 2, 1));
    CHECK(gemm_case_in(t, kind, t->mc + 1, t->nr + 3, t->kc + 1, 1, 1));
    CHECK(gemm_case_in(t, kind, 7, 3 * t->nr + 1, 1, 0, 1));
    /* pair kernels' depth blocks are 2 kc */
    CHECK(gemm_case_in(t, kind, 9, t->nr + 1, 2 * t->kc + 1, 0, 1));
    CHECK(gemm_case_in(t, kind, 5, 2 * t->nr - 1, 4 * t->kc - 1, 1, 1));
  }
}

/* A bf16 job of kind on t: the same floats with the rows cut in two, and
** the same exact products as the chain of fmaf summed in another order,
** so within a rounding per product of it: |C - chain| <= 2 k 2^-24
** (|init| + sum |a b|). */
static int close_case(const nerve_kernels *t, int kind, int m, int n, int k) {
  operands o = make(kind, m, n, k, 1), first = o;
  first.c = dup(o.c, o.lc);
  nerve_gemm g = job(kind, m, n, k, &o), w = g;
  g.bf16 = w.bf16 = 1;
  w.c = dup(o.c, o.lc);
  chain(&w);
  run_packed(t, g, m / 2);
  nerve_gemm h = g;
  h.c = first.c;
  run_packed(t, h, 0);
  int ok = memcmp(o.c, first.c, o.lc * sizeof(float)) == 0;
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      double mag = g.acc ? fabs(first.c[i * o.ldc + j]) : 0;
      if (g.bias) mag = fabs(g.bias[j]);
      for (int p = 0; p < k; p++)
        mag += fabs(nerve_bf16(g.a[i * g.ars + p * g.acs]) *
                    (double)nerve_bf16(g.b[p * g.brs + j * g.bcs]));
      double d = fabs((double)o.c[i * o.ldc + j] - w.c[i * o.ldc + j]);
      ok &= d <= 2.0 * k * 0x1p-24 * mag + 1e-37;
    }
  free(w.c), free(first.c);
  unmake(&o);
  return ok;
}

/* Pair and AMX kernels near the chain of fmaf. */
static void test_pairs_close(const nerve_kernels *t) {
  if (!dot2_of(t) && !real_amx(t)) return;
  CHECK(close_case(t, NN_BIAS, 37, 45, 301));
  if (!real_amx(t)) return;
  /* the bitwise cases of test_bf16, within tolerance */
  static const int dims[] = {1, 3, 17, 65};
  for (int kind = 0; kind < NKINDS; kind++) {
    for (int i = 0; i < 4; i++)
      for (int j = 0; j < 4; j++)
        for (int l = 0; l < 4; l++)
          CHECK(close_case(t, kind, dims[i], dims[j], dims[l]));
    CHECK(close_case(t, kind, t->mc + 1, t->nr + 3, 2 * t->kc + 1));
    CHECK(close_case(t, kind, 70, 2 * t->nr - 1, 4 * t->kc - 1));
  }
}

static void test_shapes(const nerve_kernels *t) {
  static const int dims[] = {1, 3, 15, 17, 63, 65};
  static const int big[] = {255, 257, 1023, 1025};
  int nd = sizeof dims / sizeof *dims, nb = sizeof big / sizeof *big;
  for (int kind = 0; kind < NKINDS; kind++) {
    for (int i = 0; i < nd; i++)
      for (int j = 0; j < nd; j++)
        for (int l = 0; l < nd; l++)
          CHECK(gemm_case(t, kind, dims[i], dims[j], dims[l], 0));
    /* one long side at a time, and strided views */
    for (int i = 0; i < nb; i++) {
      CHECK(gemm_case(t, kind, big[i], 17, 33, 1));
      CHECK(gemm_case(t, kind, 19, big[i], 33, 2));
      CHECK(gemm_case(t, kind, 19, 33, big[i], 3));
    }
    /* k = 1, and every row count of a micro-tile */
    for (int m = 1; m <= 2 * t->mr + 1; m++) {
      CHECK(gemm_case(t, kind, m, 3 * t->nr + 1, 1, 1));
      CHECK(gemm_case(t, kind, m, t->nr, 5, 0));
    }
  }
}

/* Each side on either side of its block size: kc and 2 kc of depth, mc
** rows, nc columns. */
static void test_block_edges(const nerve_kernels *t) {
  int kc = t->kc, mc = t->mc, nc = t->nc;
  for (int kind = 0; kind < NKINDS; kind++)
    for (int d = -1; d <= 1; d++) {
      CHECK(gemm_case(t, kind, 9, 2 * t->nr + 3, kc + d, 1));
      CHECK(gemm_case(t, kind, 9, t->nr + 1, 2 * kc + d, 0));
      CHECK(gemm_case(t, kind, mc + d, t->nr + 3, 19, 1));
      if ((size_t)nc * kc <= (1u << 22))
        CHECK(gemm_case(t, kind, 7, nc + d, 11, 2));
    }
}

/* The shapes of the networks make bench sweeps, in the three shapes of
** training: forward (rows x n_out x n_in), input gradient (rows x n_in x
** n_out) and weight gradient (n_in x n_out x rows). */
static void test_sweep(const nerve_kernels *t) {
  static const int layers[][2] = {{784, 1024}, {1024, 10}, {777, 333},
                                  {3072, 100}};
  int rows = 64; /* the reference is slow; the blocks cross rows anyway */
  for (size_t i = 0; i < sizeof layers / sizeof *layers; i++) {
    int ni = layers[i][0], no = layers[i][1];
    CHECK(gemm_case(t, NN_BIAS, rows, no, ni, 0));
    CHECK(gemm_case(t, NT, rows, ni, no, 0));
    CHECK(gemm_case(t, TN, ni, no, rows, 0));
  }
  CHECK(gemm_case(t, TN_SET, 1024, 1024, 32, 0));
}

/* The scale of the folded SGD step is applied as B is packed, and the
** bias step (colsum of the packed B) adds the same floats as colsum on
** the scaled matrix. */
static void test_scale(const nerve_kernels *t) {
  static const int shapes[][3] = {{40, 37, 29}, {17, 65, 300}, {6, 16, 1}};
  for (int s = 0; s < 3; s++) {
    int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
    operands o = make(TN, m, n, k, 1);
    nerve_gemm g = job(TN, m, n, k, &o);
    g.scale = -0.37f;
    float *want = dup(o.c, o.lc);
    nerve_gemm w = g;
    w.c = want;
    chain(&w);
    run_packed(t, g, m / 3);
    int ok = 1;
    for (size_t i = 0; i < o.lc; i++) ok &= same_bits(o.c[i], want[i]);
    CHECK(ok);
    /* colsum: the rows of B (k x n), scaled, in order */
    float *bp = aligned(nerve_gemm_bsize(t, n, k)), *sum = xmalloc(n * 4),
          *ref = xmalloc(n * 4), *scaled = xmalloc((size_t)k * n * 4);
    g.bp = bp;
    nerve_gemm_pack(t, &g, 0, 1);
    for (int j = 0; j < n; j++) sum[j] = ref[j] = (float)j;
    for (int p = 0; p < k; p++)
      for (int j = 0; j < n; j++)
        scaled[p * n + j] = g.scale * o.b[p * o.ldb + j];
    nerve_gemm_colsum(t, &g, sum);
    t->colsum(k, n, scaled, n, ref);
    CHECK(memcmp(sum, ref, n * sizeof(float)) == 0);
    free(bp), free(sum), free(ref), free(scaled), free(want);
    unmake(&o);
  }
}

/* A table's own packing routines give the plain ones' floats, at its
** panel widths and at twice them (a wider table may inherit them, as
** avx512 does avx2's). */
static void test_packing(const nerve_kernels *t) {
  static const int shapes[][2] = {{1, 1}, {5, 3}, {17, 33}, {64, 64},
                                  {65, 100}};
  for (int s = 0; s < 5; s++)
    for (int tr = 0; tr < 4; tr++) {
      int mr = tr < 2 ? t->mr : 2 * t->mr, nr = tr < 2 ? t->nr : 2 * t->nr;
      int rows = shapes[s][0], cols = shapes[s][1];
      int tp = tr % 2, ld = (tp ? rows : cols) + 3;
      size_t lx, rs = tp ? 1 : (size_t)ld, cs = tp ? (size_t)ld : 1;
      float *x = view(tp ? cols : rows, tp ? rows : cols, ld, NAN, &lx);
      size_t na = ((size_t)rows + mr) * cols + 64;
      size_t nb = ((size_t)cols + nr) * rows + 64;
      float *a1 = aligned(na), *a2 = aligned(na);
      float *b1 = aligned(nb), *b2 = aligned(nb);
      for (size_t i = 0; i < na; i++) a1[i] = a2[i] = GUARD;
      for (size_t i = 0; i < nb; i++) b1[i] = b2[i] = GUARD;
      for (int bf = 0; bf < 2; bf++) {
        t->pack_a(rows, cols, x, rs, cs, a1, mr, 1.0f, bf);
        nerve_pack_a_c(rows, cols, x, rs, cs, a2, mr, 1.0f, bf);
        t->pack_b(rows, cols, x, rs, cs, b1, nr, 0.5f, bf);
        nerve_pack_b_c(rows, cols, x, rs, cs, b2, nr, 0.5f, bf);
        CHECK(memcmp(a1, a2, na * sizeof(float)) == 0);
        CHECK(memcmp(b1, b2, nb * sizeof(float)) == 0);
      }
      free(x), free(a1), free(a2), free(b1), free(b2);
    }
}

/* The plain packing routines lay out what gemm.c says. */
static void test_layout(void) {
  float x[3 * 4] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}; /* 3 x 4 */
  float a[2 * 4 * 2], b[3 * 3 * 2];
  for (int i = 0; i < 16; i++) a[i] = GUARD;
  nerve_pack_a_c(3, 4, x, 4, 1, a, 2, 1.0f, 0); /* panels of 2 rows */
  static const float wa[16] = {1, 5, 2, 6, 3, 7, 4, 8, 9, 0, 10, 0, 11, 0,
                               12, 0};
  int ok = 1;
  for (int i = 0; i < 16; i++)
    ok &= (i >= 8 && i % 2) ? same_bits(a[i], GUARD) : a[i] == wa[i];
  CHECK(ok);
  nerve_pack_b_c(3, 4, x, 4, 1, b, 3, 2.0f, 0); /* panels of 3 columns */
  static const float wb[18] = {2,  4,  6,  10, 12, 14, 18, 20, 22,
                               8,  0,  0,  16, 0,  0,  24, 0,  0};
  CHECK(memcmp(b, wb, sizeof b) == 0);
}

static float from_bits(uint32_t u) {
  float x;
  memcpy(&x, &u, sizeof x);
  return x;
}

static uint32_t bits_of(float x) {
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  return u;
}

/* Bit patterns and what nerve_bf16 makes of them. */
static const uint32_t ROUND[][2] = {
    {0x3f800000u, 0x3f800000u}, /* 1 */
    {0x3f808000u, 0x3f800000u}, /* a tie: to the even 1 */
    {0x3f818000u, 0x3f820000u}, /* a tie: to the even 1 + 2^-6 */
    {0x3f808001u, 0x3f810000u}, /* past the tie: up */
    {0xbf807fffu, 0xbf800000u}, /* below the tie: down, sign kept */
    {0x7f7fffffu, 0x7f800000u}, /* past bf16's largest: infinite */
    {0x7f7f0000u, 0x7f7f0000u}, /* bf16's largest itself */
    {0x7f800000u, 0x7f800000u}, /* +inf */
    {0xff800000u, 0xff800000u}, /* -inf */
    {0x00008000u, 0x00000000u}, /* subnormal tie: to even 0 */
    {0x00018000u, 0x00020000u}, /* subnormal tie: to even */
    {0x80008000u, 0x80000000u}, /* to -0 */
    {0x00000001u, 0x00000000u}, /* the smallest subnormal */
    {0x80000000u, 0x80000000u}, /* -0 */
};

static int is_nan_bits(uint32_t u) { return (u & 0x7fffffffu) > 0x7f800000u; }

static void test_rounding(void) {
  int ok = 1;
  for (size_t i = 0; i < sizeof ROUND / sizeof *ROUND; i++)
    ok &= bits_of(nerve_bf16(from_bits(ROUND[i][0]))) == ROUND[i][1];
  CHECK(ok);
  /* NaN stays NaN, signalling ones too (their payload may be below bf16's
  ** bits), with its sign */
  static const uint32_t nans[] = {0x7fc00000u, 0x7f800001u, 0xff800001u,
                                  0x7fffffffu};
  for (int i = 0; i < 4; i++) {
    uint32_t r = bits_of(nerve_bf16(from_bits(nans[i])));
    CHECK(is_nan_bits(r) && (r & 0xffffu) == 0 && (r >> 31) == (nans[i] >> 31));
  }
  /* the result is a bf16, and within half its spacing of x */
  int close = 1;
  for (int i = 0; i < 100000; i++) {
    float x = from_bits(rnd());
    if (isnan(x) || isinf(x) || fabsf(x) > 3e38f) continue;
    float r = nerve_bf16(x);
    uint32_t u = bits_of(r);
    double ulp = ldexp(1.0, (int)((bits_of(fabsf(x)) >> 23) & 255) - 134);
    if ((bits_of(fabsf(x)) >> 23) == 0) ulp = ldexp(1.0, -133);
    close &= (u & 0xffffu) == 0 && fabs((double)r - x) <= ulp / 2 * 1.0000001;
  }
  CHECK(close);
}

/* A table's packing rounds lane by lane as nerve_bf16 does: special
** values and random bit patterns, in every lane position. */
static void test_rounding_packed(const nerve_kernels *t) {
  enum { N = 256 };
  float x[N], *b = aligned((size_t)N + 64);
  size_t nround = sizeof ROUND / sizeof *ROUND;
  for (int i = 0; i < N; i++)
    x[i] = from_bits(i < (int)(3 * nround) ? ROUND[i % nround][0]
                     : i % 7 == 0        ? 0x7f800001u + (uint32_t)i
                                         : rnd());
  t->pack_b(1, N, x, N, 1, b, t->nr, 1.0f, 1);
  int ok = 1;
  for (int i = 0; i < N; i++) {
    uint32_t want = bits_of(nerve_bf16(x[i])), got = bits_of(b[i]);
    ok &= is_nan_bits(want) ? is_nan_bits(got) : got == want;
  }
  CHECK(ok);
  free(b);
}

/* Tables without a packed path run every job on their slots. */
static void test_unpacked_table(const nerve_kernels *ref) {
  CHECK(ref->mr == 0 && !nerve_gemm_packed(ref, NERVE_GEMM_NN, 512, 512, 512, 1));
  CHECK(nerve_gemm_bsize(ref, 100, 100) == 0 && nerve_gemm_asize(ref) == 0);
  size_t la, lb, lc;
  float *a = view(20, 30, 30, 0, &la), *b = view(30, 40, 40, 0, &lb);
  float *c = view(20, 40, 40, 0, &lc), *want = dup(c, lc);
  nerve_gemm g = nerve_gemm_nn(20, 40, 30, a, 30, b, 40, c, 40, NULL);
  nerve_gemm_run(ref, &g, NULL);
  ref->gemm_nn(20, 40, 30, a, 30, b, 40, want, 40, NULL);
  CHECK(memcmp(c, want, lc * sizeof(float)) == 0);
  /* k = 0: C is the bias, or zero */
  g = nerve_gemm_nn(20, 40, 0, a, 30, b, 40, c, 40, b);
  nerve_gemm_run(nerve_kernels_best(), &g, NULL);
  CHECK(c[0] == b[0] && c[19 * 40 + 39] == b[39]);
  free(a), free(b), free(c), free(want);
}

/* A table's pair packing gives the plain routines' words, for either
** orientation of either operand, on values that round every way. */
static void test_packing2(const nerve_kernels *t) {
  static const int shapes[][2] = {{1, 1}, {5, 3}, {17, 33}, {12, 64},
                                  {65, 100}, {40, 31}};
  if (!t->pack2_a) return;
  size_t nround = sizeof ROUND / sizeof *ROUND;
  for (int s = 0; s < 6; s++)
    for (int tp = 0; tp < 2; tp++) {
      int rows = shapes[s][0], cols = shapes[s][1];
      int ld = (tp ? rows : cols) + 3;
      size_t lx, rs = tp ? 1 : (size_t)ld, cs = tp ? (size_t)ld : 1;
      float *x = view(tp ? cols : rows, tp ? rows : cols, ld, NAN, &lx);
      for (int i = 0; i < rows; i++)
        for (int p = 0; p < cols; p++)
          if ((i * cols + p) % 5 == 0)
            x[i * rs + p * cs] = from_bits(ROUND[(i + p) % nround][0]);
      size_t na = ((size_t)rows + t->mr) * cols + 64;
      size_t nb = ((size_t)cols + t->nr) * rows + 64;
      float *a1 = aligned(na), *a2 = aligned(na);
      float *b1 = aligned(nb), *b2 = aligned(nb);
      for (size_t i = 0; i < na; i++) a1[i] = a2[i] = GUARD;
      for (size_t i = 0; i < nb; i++) b1[i] = b2[i] = GUARD;
      t->pack2_a(rows, cols, x, rs, cs, a1, t->mr, 1.0f, 1);
      nerve_pack2_a_c(rows, cols, x, rs, cs, a2, t->mr, 1.0f, 1);
      t->pack2_b(rows, cols, x, rs, cs, b1, t->nr, 1.0f, 1);
      nerve_pack2_b_c(rows, cols, x, rs, cs, b2, t->nr, 1.0f, 1);
      CHECK(memcmp(a1, a2, na * sizeof(float)) == 0);
      CHECK(memcmp(b1, b2, nb * sizeof(float)) == 0);
      free(x), free(a1), free(a2), free(b1), free(b2);
    }
}

static void test_table(const nerve_kernels *t) {
  CHECK(t->mr >= 1 && t->mr <= NERVE_MR_MAX && t->nr >= 1 && t->nr <= 64);
  CHECK(t->kc >= 1 && t->mc % t->mr == 0 && t->nc % t->nr == 0);
  for (int r = 0; r < t->mr; r++) CHECK(t->ukr[r] != NULL);
  CHECK(t->pack_a && t->pack_b);
  /* where packing pays is a matter of shape only */
  CHECK(nerve_gemm_packed(t, NERVE_GEMM_NN, 256, 1024, 784, 0));
  CHECK(!nerve_gemm_packed(t, NERVE_GEMM_NN, 1, 1024, 784, 0));
  CHECK(!nerve_gemm_packed(t, NERVE_GEMM_TN, 1024, 10, 256, 0));
  /* bf16 rounds as it packs: every shape packs */
  CHECK(nerve_gemm_packed(t, NERVE_GEMM_NT, 1, 3, 2, 1));
  test_shapes(t);
  test_block_edges(t);
  test_scale(t);
  test_packing(t);
  test_rounding_packed(t);
  test_packing2(t);
  if (!real_amx(t)) test_bf16(t);
  test_pairs_close(t);
}

/* The AMX path with AMX's own packing and the plain C tile, on a CPU with
** AVX512-BF16 (the packing needs it): every bf16 case bit for bit. */
static void test_amx_layout(void) {
  const nerve_kernels *avx512 = nerve_kernels_get("avx512");
  if (!avx512 || !avx512->ukr2[0]) {
    printf("test_gemm: no AVX512-BF16, AMX's layout skipped\n");
    return;
  }
  nerve_kernels t = *avx512;
  t.name = "amx-layout";
  nerve_amx_avx512(&t);
  if (!t.amx_pack_a) {
    printf("test_gemm: no AMX code on this platform, its layout skipped\n");
    return;
  }
  t.amx_ukr = amx_c;
  t.amx_ready = granted;
  CHECK(t.amx_mr == AMR && t.nr == ANR && t.kc % AKQ == 0);
  test_bf16(&t);
  test_pairs_close(&t);
  int rows = 64;
  CHECK(gemm_case_in(&t, NN_BIAS, rows, 1024, 784, 0, 1));
  CHECK(gemm_case_in(&t, NT, rows, 784, 1024, 0, 1));
  CHECK(gemm_case_in(&t, TN, 784, 1024, rows, 0, 1));
}

int main(void) {
  static const char *sets[] = {"avx2", "avx512", "neon"};
  const nerve_kernels *ref = nerve_kernels_get("scalar");
  nerve_kernels plain = c_table();
  test_layout();
  test_rounding();
  test_unpacked_table(ref);
  test_table(&plain);
  test_amx_layout();
  nerve_kernels wide;
  if (wide_table(&wide)) test_table(&wide);
  else printf("test_gemm: no AVX2, the 12-row tile skipped\n");
  for (size_t i = 0; i < sizeof sets / sizeof *sets; i++) {
    const nerve_kernels *t = nerve_kernels_get(sets[i]);
    if (!t) {
      printf("test_gemm: %s: not on this CPU, skipped\n", sets[i]);
      continue;
    }
    if (!t->mr) {
      printf("test_gemm: %s: no packed path\n", sets[i]);
      continue;
    }
    test_table(t);
    test_sweep(t);
  }
  return check_report("test_gemm");
}
