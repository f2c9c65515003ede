/*
** test_kernels.c - every SIMD kernel table against the scalar reference
** (relative error, odd shapes, tails, strided views with guarded padding),
** and the exp-based activations of every table against libm in double.
*/
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrays.h"
#include "check.h"
#include "kernels/kernels.h"

#define U 0x1p-24 /* unit roundoff of float */

/* The stated bounds (kernels/avx2/act.c, kernels/avx512/act.c); the scalar
** reference meets them too. */
#define SIGMOID_REL 2e-7 /* where the result is >= TINY */
#define TANH_REL 2e-7
#define EXP_REL 1e-7     /* through softmax */
#define TINY 1.2e-38     /* below: absolute error < TINY (flushed to 0) */
/* elu, softplus, gelu keep denormals: below FLT_MIN their error is
** absolute, at most TINY_ABS */
#define TINY_ABS 1.5e-45

/* ---------------------------------------------------------- the GEMMs */

enum { NN, NN_BIAS, NT, TN, TN_SET, NKINDS };
static const char *kind_name[] = {"gemm_nn", "gemm_nn+bias", "gemm_nt",
                                  "gemm_tn", "gemm_tn_set"};

/* A is transposed (k x m) */
static int is_tn(int kind) { return kind == TN || kind == TN_SET; }

static void gemm(const nerve_kernels *t, int kind, int m, int n, int k,
                 const float *a, int lda, const float *b, int ldb, float *c,
                 int ldc, const float *bias) {
  switch (kind) {
  case NN: t->gemm_nn(m, n, k, a, lda, b, ldb, c, ldc, NULL); break;
  case NN_BIAS: t->gemm_nn(m, n, k, a, lda, b, ldb, c, ldc, bias); break;
  case NT: t->gemm_nt(m, n, k, a, lda, b, ldb, c, ldc); break;
  case TN: t->gemm_tn(m, n, k, a, lda, b, ldb, c, ldc); break;
  default: t->gemm_tn_set(m, n, k, a, lda, b, ldb, c, ldc); break;
  }
}

/* One GEMM of t against the reference. pad > 0 makes strided views: A
** and B padded with NaN (a read would show in C), C padded with GUARD
** (a write would show there). nn, nt and tn_set start from C = NaN, which
** must be overwritten; tn accumulates onto random C. */
static int gemm_case(const nerve_kernels *ref, const nerve_kernels *t,
                     int kind, int m, int n, int k, int pad) {
  int ar = is_tn(kind) ? k : m, ac = is_tn(kind) ? m : k;
  int br = kind == NT ? n : k, bc = kind == NT ? k : n;
  int lda = ac + pad, ldb = bc + 2 * pad, ldc = n + 3 * pad;
  size_t la, lb, lc, lbias;
  float *a = view(ar, ac, lda, NAN, &la), *b = view(br, bc, ldb, NAN, &lb);
  float *c0 = view(m, n, ldc, GUARD, &lc), *bias = view(1, n, n, 0, &lbias);
  if (kind != TN)
    for (size_t i = 0; i < lc; i++)
      if ((int)(i % ldc) < n) c0[i] = NAN;
  float *a0 = dup(a, la), *b0 = dup(b, lb), *want = dup(c0, lc),
        *got = dup(c0, lc);
  gemm(ref, kind, m, n, k, a, lda, b, ldb, want, ldc, bias);
  gemm(t, kind, m, n, k, a, lda, b, ldb, got, ldc, bias);

  int ok = memcmp(a, a0, la * sizeof *a) == 0 &&
           memcmp(b, b0, lb * sizeof *b) == 0;
  if (!ok)
    fprintf(stderr, "%s %s m=%d n=%d k=%d pad=%d: wrote its inputs\n",
            t->name, kind_name[kind], m, n, k, pad);
  for (int i = 0; i < m && ok; i++)
    for (int j = 0; j < ldc && ok; j++) {
      size_t ij = (size_t)i * ldc + j;
      if (ij >= lc) break;
      if (j >= n) {
        if (!same_bits(got[ij], GUARD)) {
          fprintf(stderr, "%s %s m=%d n=%d k=%d pad=%d: padding C[%d][%d] "
                  "overwritten\n", t->name, kind_name[kind], m, n, k, pad,
                  i, j);
          ok = 0;
        }
        continue;
      }
      /* scale: the sum of the magnitudes of what was added */
      double s = kind == TN        ? fabs(c0[ij])
                 : kind == NN_BIAS ? fabs(bias[j])
                                   : 0;
      for (int p = 0; p < k; p++) {
        double x = is_tn(kind) ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p];
        double y = kind == NT ? b[(size_t)j * ldb + p] : b[(size_t)p * ldb + j];
        s += fabs(x * y);
      }
      double tol = (2.0 * k + 4) * U * s;
      if (!(fabs((double)got[ij] - want[ij]) <= tol)) {
        fprintf(stderr, "%s %s m=%d n=%d k=%d pad=%d: C[%d][%d] = %.9g, "
                "want %.9g\n", t->name, kind_name[kind], m, n, k, pad, i, j,
                got[ij], want[ij]);
        ok = 0;
      }
    }
  free(a), free(b), free(c0), free(bias), free(a0), free(b0), free(want);
  free(got);
  return ok;
}

static void test_gemm(const nerve_kernels *ref, const nerve_kernels *t) {
  static const int dims[] = {1, 3, 17, 63, 65, 257};
  static const int few[] = {1, 3, 17, 65};
  static const int ns[] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13,
                           14, 15, 16, 17, 31, 32, 33, 48, 63, 64, 65, 80};
  static const int ks[] = {1, 2, 5, 16, 17};
  int nd = sizeof dims / sizeof *dims, nf = sizeof few / sizeof *few;
  for (int kind = 0; kind < NKINDS; kind++) {
    for (int i = 0; i < nd; i++)
      for (int j = 0; j < nd; j++)
        for (int l = 0; l < nd; l++)
          CHECK(gemm_case(ref, t, kind, dims[i], dims[j], dims[l], 0));
    /* every tile height and width, tails of both */
    for (int m = 1; m <= 13; m++)
      for (size_t j = 0; j < sizeof ns / sizeof *ns; j++)
        for (size_t l = 0; l < sizeof ks / sizeof *ks; l++)
          CHECK(gemm_case(ref, t, kind, m, ns[j], ks[l], 0));
    for (int i = 0; i < nf; i++)
      for (int j = 0; j < nf; j++)
        for (int l = 0; l < nf; l++)
          CHECK(gemm_case(ref, t, kind, few[i], few[j], few[l], 1 + i + l));
    /* deep: C is passed over in several blocks of k */
    CHECK(gemm_case(ref, t, kind, 7, 33, 600, 0));
    CHECK(gemm_case(ref, t, kind, 13, 70, 1100, 3));
    CHECK(gemm_case(ref, t, kind, 1, 5, 1100, 0));
  }
}

/* gemm_tn_set is gemm_tn onto a zeroed C, bit for bit: the engine may
** skip clearing a gradient it is about to overwrite. */
static int tn_set_case(const nerve_kernels *t, int m, int n, int k) {
  size_t la, lb, lc;
  float *a = view(k, m, m, 0, &la), *b = view(k, n, n, 0, &lb);
  float *c = view(m, n, n, 0, &lc), *set = dup(c, lc);
  memset(c, 0, lc * sizeof *c);
  for (size_t i = 0; i < lc; i++) set[i] = NAN;
  t->gemm_tn(m, n, k, a, m, b, n, c, n);
  t->gemm_tn_set(m, n, k, a, m, b, n, set, n);
  int ok = memcmp(c, set, lc * sizeof *c) == 0;
  free(a), free(b), free(c), free(set);
  return ok;
}

static void test_tn_set(const nerve_kernels *t) {
  static const int dims[] = {1, 5, 16, 17, 70, 600};
  for (int i = 0; i < 6; i++)
    for (int j = 0; j < 6; j++)
      for (int l = 0; l < 6; l++)
        CHECK(tn_set_case(t, dims[i], dims[j] % 100, dims[l]));
}

/* The SGD step in place gives the reference's floats, bit for bit, at
** every length (tails) and leaves what follows p alone. */
static void test_sgd(const nerve_kernels *ref, const nerve_kernels *t) {
  static const size_t ns[] = {0, 1, 7, 8, 15, 16, 17, 33, 64, 1000};
  for (size_t c = 0; c < sizeof ns / sizeof *ns; c++) {
    size_t n = ns[c], l1, l2;
    float *p = view(1, (int)n + 1, (int)n + 1, 0, &l1);
    float *g = view(1, (int)n + 1, (int)n + 1, 0, &l2);
    float *want = dup(p, l1), *got = dup(p, l1);
    got[n] = want[n] = GUARD;
    ref->sgd(n, 0.37f, want, g);
    t->sgd(n, 0.37f, got, g);
    CHECK(memcmp(want, got, l1 * sizeof *p) == 0);
    CHECK(same_bits(got[n], GUARD));
    free(p), free(g), free(want), free(got);
  }
}

/* Splitting C into blocks of rows or of columns, as threads would, gives
** bitwise the same C: each element's sums never depend on its place. */
static int gemm_split(const nerve_kernels *t, int kind, int m, int n, int k,
                      int at, int rows) {
  int ar = is_tn(kind) ? k : m, ac = is_tn(kind) ? m : k;
  int br = kind == NT ? n : k, bc = kind == NT ? k : n;
  size_t la, lb, lc, lbias;
  float *a = view(ar, ac, ac, 0, &la), *b = view(br, bc, bc, 0, &lb);
  float *c = view(m, n, n, 0, &lc), *bias = view(1, n, n, 0, &lbias);
  float *part = dup(c, lc);
  gemm(t, kind, m, n, k, a, ac, b, bc, c, n, bias);
  for (int h = 0; h < 2; h++) {
    int lo = h ? at : 0, hi = h ? (rows ? m : n) : at;
    /* where the block starts in A (rows of C), B (columns) and C */
    size_t oa = is_tn(kind) ? (size_t)lo : (size_t)lo * ac;
    size_t ob = kind == NT ? (size_t)lo * bc : (size_t)lo;
    if (rows)
      gemm(t, kind, hi - lo, n, k, a + oa, ac, b, bc, part + (size_t)lo * n,
           n, bias);
    else
      gemm(t, kind, m, hi - lo, k, a, ac, b + ob, bc, part + lo, n,
           bias + lo);
  }
  int ok = memcmp(c, part, lc * sizeof *c) == 0;
  if (!ok)
    fprintf(stderr, "%s %s m=%d n=%d k=%d: split at %s %d changes C\n",
            t->name, kind_name[kind], m, n, k, rows ? "row" : "column", at);
  free(a), free(b), free(c), free(bias), free(part);
  return ok;
}

static void test_split(const nerve_kernels *t) {
  for (int kind = 0; kind < NKINDS; kind++) {
    CHECK(gemm_split(t, kind, 37, 45, 300, 17, 1));
    CHECK(gemm_split(t, kind, 37, 45, 300, 20, 0));
    CHECK(gemm_split(t, kind, 9, 40, 7, 5, 0)); /* narrow, then tiles */
    CHECK(gemm_split(t, kind, 8, 70, 600, 2, 1));
  }
}

static int colsum_case(const nerve_kernels *ref, const nerve_kernels *t,
                       int m, int n, int pad) {
  size_t la, lo;
  int lda = n + pad, ok = 1;
  float *a = view(m, n, lda, NAN, &la), *out = view(1, n + 16, n + 16, 0, &lo);
  for (int j = n; j < n + 16; j++) out[j] = GUARD;
  float *want = dup(out, lo), *got = dup(out, lo);
  ref->colsum(m, n, a, lda, want);
  t->colsum(m, n, a, lda, got);
  for (int j = 0; j < n + 16 && ok; j++) {
    double s = fabs(out[j]);
    for (int i = 0; i < m && j < n; i++) s += fabs(a[(size_t)i * lda + j]);
    if (j < n ? !(fabs((double)got[j] - want[j]) <= (m + 2) * U * s)
              : !same_bits(got[j], GUARD)) {
      fprintf(stderr, "%s colsum m=%d n=%d pad=%d: out[%d] = %.9g, want "
              "%.9g\n", t->name, m, n, pad, j, got[j], want[j]);
      ok = 0;
    }
  }
  free(a), free(out), free(want), free(got);
  return ok;
}

static void test_colsum(const nerve_kernels *ref, const nerve_kernels *t) {
  static const int ms[] = {1, 3, 17, 65, 257};
  static const int ns[] = {1, 3, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 257};
  for (size_t i = 0; i < sizeof ms / sizeof *ms; i++)
    for (size_t j = 0; j < sizeof ns / sizeof *ns; j++) {
      CHECK(colsum_case(ref, t, ms[i], ns[j], 0));
      CHECK(colsum_case(ref, t, ms[i], ns[j], 5));
    }
}

/* -------------------------------------------- element-wise, vs scalar */

enum { SIGMOID, TANH, RELU, LEAKY, SIGMOID_BWD, TANH_BWD, RELU_BWD,
       LEAKY_BWD, NELEM };
static const char *elem_name[] = {"sigmoid", "tanh", "relu", "leaky_relu",
                                  "sigmoid_bwd", "tanh_bwd", "relu_bwd",
                                  "leaky_relu_bwd"};

static void elem(const nerve_kernels *t, int f, size_t n, const float *x,
                 const float *dy, float *y) {
  switch (f) {
  case SIGMOID: t->sigmoid(n, x, y); break;
  case TANH: t->tanh(n, x, y); break;
  case RELU: t->relu(n, x, y); break;
  case LEAKY: t->leaky_relu(n, x, y, 0.01f); break;
  case SIGMOID_BWD: t->sigmoid_bwd(n, x, dy, y); break;
  case TANH_BWD: t->tanh_bwd(n, x, dy, y); break;
  case RELU_BWD: t->relu_bwd(n, x, dy, y); break;
  default: t->leaky_relu_bwd(n, x, dy, y, 0.2f); break;
  }
}

/* f over n elements; inplace: y = x (dx = dy for the error terms). The
** output has 16 guarded floats past n; the inputs are exactly n. */
static int elem_case(const nerve_kernels *ref, const nerve_kernels *t,
                     int f, size_t n, int inplace) {
  float *x = xmalloc(n * sizeof *x), *dy = xmalloc(n * sizeof *dy);
  float *want = xmalloc((n + 16) * sizeof *want);
  float *got = xmalloc((n + 16) * sizeof *got);
  int ok = 1;
  for (size_t i = 0; i < n; i++) {
    x[i] = f == SIGMOID_BWD ? uni(0, 1) : f == TANH_BWD ? uni(-1, 1)
                                                        : uni(-12, 12);
    if (i % 7 == 3) x[i] = i % 2 ? 0.0f : -0.0f;
    dy[i] = uni(-2, 2);
  }
  for (size_t i = 0; i < n + 16; i++) want[i] = got[i] = GUARD;
  int bwd = f >= SIGMOID_BWD;
  if (inplace) {
    memcpy(want, bwd ? dy : x, n * sizeof *x);
    memcpy(got, want, n * sizeof *x);
    elem(ref, f, n, bwd ? x : want, want, want);
    elem(t, f, n, bwd ? x : got, got, got);
  } else {
    elem(ref, f, n, x, dy, want);
    elem(t, f, n, x, dy, got);
  }
  for (size_t i = 0; i < n + 16 && ok; i++) {
    double w = want[i], tol = 0;
    switch (i < n ? f : -1) { /* the two sides' bounds added */
    case SIGMOID: tol = 2 * SIGMOID_REL * fabs(w); break;
    case TANH: tol = 2 * TANH_REL * fabs(w); break;
    case SIGMOID_BWD: tol = 4 * U * fabs(dy[i] * x[i]) * (1 + x[i]); break;
    case TANH_BWD: tol = 4 * U * fabs(dy[i]) * (1 + x[i] * x[i]); break;
    case -1: break;
    default: tol = 2 * U * fabs(w); break;
    }
    if (i < n ? !(fabs(got[i] - w) <= tol) : !same_bits(got[i], GUARD)) {
      fprintf(stderr, "%s %s n=%zu%s: [%zu] = %.9g, want %.9g (x %.9g)\n",
              t->name, elem_name[f], n, inplace ? " in place" : "", i,
              got[i], want[i], i < n ? x[i] : 0.0);
      ok = 0;
    }
  }
  free(x), free(dy), free(want), free(got);
  return ok;
}

static void test_elem(const nerve_kernels *ref, const nerve_kernels *t) {
  static const size_t big[] = {255, 256, 257, 1000, 4099};
  for (int f = 0; f < NELEM; f++) {
    for (size_t n = 1; n <= 70; n++) CHECK(elem_case(ref, t, f, n, 0));
    for (size_t i = 0; i < sizeof big / sizeof *big; i++) {
      CHECK(elem_case(ref, t, f, big[i], 0));
      CHECK(elem_case(ref, t, f, big[i] - 240, 1));
    }
  }
}

/* ------------------------------------------------- softmax, vs scalar */

/* m rows of n logits scaled by sc; pattern 1: all equal, 2: one at +sc
** and the rest at -sc. With bwd, softmax_bwd of those outputs. */
static int softmax_case(const nerve_kernels *ref, const nerve_kernels *t,
                        int m, int n, float sc, int pattern, int bwd) {
  size_t len = (size_t)m * n, i;
  float *x = xmalloc(len * sizeof *x), *dy = xmalloc(len * sizeof *dy);
  float *want = xmalloc((len + 16) * sizeof *want);
  float *got = xmalloc((len + 16) * sizeof *got);
  int ok = 1;
  for (i = 0; i < len; i++) {
    x[i] = pattern == 1   ? sc
           : pattern == 2 ? (i % n == (size_t)n / 2 ? sc : -sc)
                          : uni(-sc, sc);
    dy[i] = uni(-1, 1);
  }
  for (i = 0; i < len + 16; i++) want[i] = got[i] = GUARD;
  if (bwd) {
    ref->softmax(m, n, x, x); /* outputs of a softmax as y, in place */
    ref->softmax_bwd(m, n, x, dy, want);
    t->softmax_bwd(m, n, x, dy, got);
  } else {
    ref->softmax(m, n, x, want);
    t->softmax(m, n, x, got);
  }
  for (i = 0; i < len + 16 && ok; i++) {
    double tol = 0;
    if (i < len && bwd) { /* |y| (|dy| + sum |dy y|) scales the error */
      double s = 0;
      for (size_t j = i - i % n; j < i - i % n + n; j++)
        s += fabs(dy[j] * x[j]);
      tol = 2 * (n + 3) * U * fabs(x[i]) * (fabs(dy[i]) + s);
    } else if (i < len) {
      tol = 2 * (2 * EXP_REL + (n + 1) * U) * fabs(want[i]) + TINY;
    }
    if (i < len ? !(fabs((double)got[i] - want[i]) <= tol)
                : !same_bits(got[i], GUARD)) {
      fprintf(stderr, "%s softmax%s m=%d n=%d scale %g: [%zu] = %.9g, "
              "want %.9g\n", t->name, bwd ? "_bwd" : "", m, n, sc, i, got[i],
              want[i]);
      ok = 0;
    }
  }
  free(x), free(dy), free(want), free(got);
  return ok;
}

static void test_softmax(const nerve_kernels *ref, const nerve_kernels *t) {
  static const int ns[] = {1,  2,  3,  5,  7,  8,  9,  10, 15, 16,
                           17, 31, 33, 63, 64, 65, 100, 257};
  static const float scs[] = {1, 30, 1e4f};
  for (size_t j = 0; j < sizeof ns / sizeof *ns; j++)
    for (int m = 1; m <= 7; m += 3)
      for (int bwd = 0; bwd < 2; bwd++) {
        for (size_t s = 0; s < sizeof scs / sizeof *scs; s++)
          CHECK(softmax_case(ref, t, m, ns[j], scs[s], 0, bwd));
        CHECK(softmax_case(ref, t, m, ns[j], 1e4f, 1, bwd));
        CHECK(softmax_case(ref, t, m, ns[j], 1e4f, 2, bwd));
      }
  /* in place */
  float x[2 * 19], y[2 * 19];
  for (int i = 0; i < 38; i++) x[i] = y[i] = uni(-5, 5);
  ref->softmax(2, 19, x, x);
  t->softmax(2, 19, y, y);
  int ok = 1;
  for (int i = 0; i < 38; i++)
    ok &= fabs(x[i] - y[i]) <= 2 * (2 * EXP_REL + 20 * U) * x[i];
  CHECK(ok);
}

/* ----------------------------------------------- accuracy, vs libm */

static double sigmoid_d(double x) {
  return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x));
}

/* Inputs over the whole useful range and past it: a fine grid on
** [-100, 100], magnitudes from 1e-38 to 1e4 of both signs, the
** boundaries of the approximations and the special values. */
static float *acc_inputs(size_t *count) {
  enum { GRID = 200 * 512 + 1, LOGS = 100000 };
  static const float special[] = {
      0.0f, -0.0f, FLT_MIN, -FLT_MIN, 0x1p-149f, -0x1p-149f, 1e-30f,
      -1e-30f, 0.625f, -0.625f, 0x1.3ffffep-1f, -0x1.3ffffep-1f,
      0x1.400002p-1f, -0x1.400002p-1f, 9.0f, -9.0f, 87.3f, -87.3f, 88.7f,
      -88.7f, 87.33f, -87.33f, 87.34f, -87.34f, 200.0f, -200.0f, 1e4f,
      -1e4f, FLT_MAX, -FLT_MAX, HUGE_VALF, -HUGE_VALF};
  size_t ns = sizeof special / sizeof *special, n = 0;
  float *x = xmalloc((GRID + LOGS + ns) * sizeof *x);
  for (int i = 0; i < GRID; i++) x[n++] = -100.0f + (float)i / 512;
  for (int i = 0; i < LOGS; i++) {
    float v = powf(10.0f, uni(-38, 4));
    x[n++] = i % 2 ? v : -v;
  }
  for (size_t i = 0; i < ns; i++) x[n++] = special[i];
  *count = n;
  return x;
}

static void test_accuracy(const nerve_kernels *t, const float *x, size_t n) {
  float *y = xmalloc(n * sizeof *y);
  for (int f = SIGMOID; f <= TANH; f++) {
    double worst = 0, rel_bound = f == SIGMOID ? SIGMOID_REL : TANH_REL;
    size_t at = 0;
    int nan = 0;
    if (f == SIGMOID) t->sigmoid(n, x, y);
    else t->tanh(n, x, y);
    for (size_t i = 0; i < n; i++) {
      double w = f == SIGMOID ? sigmoid_d(x[i]) : tanh(x[i]);
      double e = fabs(y[i] - w);
      if (isnan(y[i])) nan = 1;
      e = fabs(w) >= TINY ? e / fabs(w) / rel_bound : e / TINY;
      if (e > worst) worst = e, at = i;
    }
    if (!(worst <= 1) || nan)
      fprintf(stderr, "%s %s: error %.3g of the bound at x = %.9g (%.9g)%s\n",
              t->name, elem_name[f], worst, x[at], y[at],
              nan ? ", NaN out" : "");
    CHECK(worst <= 1);
    CHECK(!nan);
  }
  /* saturation, exactly */
  float sx[6] = {-HUGE_VALF, HUGE_VALF, -1e4f, 1e4f, NAN, -NAN}, sy[6];
  t->sigmoid(6, sx, sy);
  CHECK(sy[0] == 0.0f && sy[1] == 1.0f && sy[2] == 0.0f && sy[3] == 1.0f);
  CHECK(isnan(sy[4]) && isnan(sy[5]));
  t->tanh(6, sx, sy);
  CHECK(sy[0] == -1.0f && sy[1] == 1.0f && sy[2] == -1.0f && sy[3] == 1.0f);
  CHECK(isnan(sy[4]) && isnan(sy[5]));
  free(y);

  /* softmax: rows of logits at every scale against double, stable at
  ** +-1e4 (no inf, no NaN), every result within its bound */
  static const int ns[] = {1, 2, 3, 10, 17, 100, 1000};
  static const float scs[] = {1, 20, 100, 1e4f};
  float *r = xmalloc(1000 * sizeof *r), *s = xmalloc(1000 * sizeof *s);
  for (size_t a = 0; a < sizeof ns / sizeof *ns; a++)
    for (size_t b = 0; b < sizeof scs / sizeof *scs; b++) {
      int w = ns[a], ok = 1;
      double mx = -HUGE_VAL, sum = 0;
      for (int j = 0; j < w; j++) {
        r[j] = uni(-scs[b], scs[b]);
        mx = r[j] > mx ? r[j] : mx;
      }
      t->softmax(1, w, r, s);
      for (int j = 0; j < w; j++) sum += exp(r[j] - mx);
      for (int j = 0; j < w && ok; j++) {
        double want = exp(r[j] - mx) / sum;
        /* x - max rounds in float: |x - max| U more */
        double tol =
            (2 * EXP_REL + (w + 1 + fabs(r[j] - mx)) * U) * want + TINY;
        if (!(fabs(s[j] - want) <= tol)) {
          fprintf(stderr, "%s softmax n=%d scale %g: [%d] = %.9g, want "
                  "%.9g\n", t->name, w, scs[b], j, s[j], want);
          ok = 0;
        }
      }
      CHECK(ok);
    }
  free(r), free(s);
}


/* ------------------------------------------- elu, softplus, gelu */

/* The stated bounds (kernels/avx2/act.c, kernels/avx512/act.c); the
** scalar reference meets them too. gelu's left side adds GELU_COND x^2
** (float's conditioning). */
#define ELU_REL 5e-7
#define SOFTPLUS_REL 5e-7
#define GELU_REL 1e-6
#define GELU_COND 1.2e-7
#define ELU_ALPHA 0.7f
#define SQRT_2PI 2.5066282746310002

enum { M_ELU, M_SOFTPLUS, M_GELU, M_ELU_BWD, M_SOFTPLUS_BWD, M_GELU_BWD, NMORE };
static const char *more_name[] = {"elu", "softplus", "gelu", "elu_bwd",
                                  "softplus_bwd", "gelu_bwd"};

static double elu_d(double x) { return x > 0 ? x : ELU_ALPHA * expm1(x); }
static double softplus_d(double x) {
  return (x > 0 ? x : 0) + log1p(exp(-fabs(x)));
}
/* the limits at +-inf exactly (inf * 0 would give NaN) */
static double gelu_d(double x) {
  return x < -40 ? -0.0 : 0.5 * x * erfc(-x / sqrt(2.0));
}
static double gelu_dd(double x) {
  if (x < -40 || x > 40) return x > 0;
  return 0.5 * erfc(-x / sqrt(2.0)) + x * exp(-0.5 * x * x) / SQRT_2PI;
}

/* f of table t over n floats x (dy for the error terms; y the forward
** output the elu error term needs). */
static void more(const nerve_kernels *t, int f, size_t n, const float *x,
                 const float *y, const float *dy, float *out) {
  switch (f) {
  case M_ELU: t->elu(n, x, out, ELU_ALPHA); break;
  case M_SOFTPLUS: t->softplus(n, x, out); break;
  case M_GELU: t->gelu(n, x, out); break;
  case M_ELU_BWD: t->elu_bwd(n, x, y, dy, out, ELU_ALPHA); break;
  case M_SOFTPLUS_BWD: t->softplus_bwd(n, x, dy, out); break;
  default: t->gelu_bwd(n, x, dy, out); break;
  }
}

/* The exact value in double and the bound of one result. */
static double more_exact(int f, double x, double dy, double *tol) {
  double w;
  switch (f) {
  case M_ELU: w = elu_d(x), *tol = ELU_REL * fabs(w); break;
  case M_SOFTPLUS: w = softplus_d(x), *tol = SOFTPLUS_REL * fabs(w); break;
  case M_GELU: /* x Phi(x): Phi's rounding below FLT_MIN, times |x| */
    w = gelu_d(x);
    *tol = (GELU_REL + (x < 0 ? GELU_COND * x * x : 0)) * fabs(w) +
           TINY_ABS * fabs(x);
    break;
  case M_ELU_BWD: /* from the float y = elu(x): its error passes on, and
                  ** y + alpha cancels to y's rounding (U alpha) */
    w = dy * (x > 0 ? 1 : elu_d(x) + ELU_ALPHA);
    *tol = (2 * ELU_REL + 2 * U) * fabs(w) + 2 * U * ELU_ALPHA * fabs(dy);
    break;
  case M_SOFTPLUS_BWD:
    w = dy * sigmoid_d(x), *tol = (SIGMOID_REL + 2 * U) * fabs(w);
    break;
  default: /* the sum cancels near x = -0.75: bound by its terms */
    w = dy * gelu_dd(x);
    *tol = (GELU_REL + (x < 0 ? GELU_COND * x * x : 0)) * fabs(dy) *
               (0.5 * erfc(-x / sqrt(2.0)) +
                fabs(x) * exp(-0.5 * x * x) / SQRT_2PI) +
           TINY_ABS * fabs(x * dy);
    break;
  }
  *tol += TINY_ABS * (1 + fabs(dy));
  return w;
}

/* Every result of table t over the inputs x against double, within its
** bound (the y the error terms read comes from the same table). */
static void test_more_accuracy(const nerve_kernels *t, const float *x,
                               size_t n) {
  float *y = xmalloc(n * sizeof *y), *dy = xmalloc(n * sizeof *dy);
  float *out = xmalloc(n * sizeof *out);
  for (size_t i = 0; i < n; i++) dy[i] = i % 3 ? uni(-2, 2) : 1.0f;
  t->elu(n, x, y, ELU_ALPHA);
  for (int f = 0; f < NMORE; f++) {
    double worst = 0;
    size_t at = 0;
    int nan = 0;
    more(t, f, n, x, y, dy, out);
    for (size_t i = 0; i < n; i++) {
      double tol, w = more_exact(f, x[i], f >= M_ELU_BWD ? dy[i] : 1, &tol);
      if (isnan(out[i]) != isnan(w)) nan = 1;
      if (isnan(w) || isinf(w)) {
        if (!isnan(w) && out[i] != w) nan = 1;
        continue;
      }
      double e = fabs(out[i] - w) / tol;
      if (e > worst) worst = e, at = i;
    }
    if (!(worst <= 1) || nan)
      fprintf(stderr, "%s %s: error %.3g of the bound at x = %.9g (%.9g)%s\n",
              t->name, more_name[f], worst, x[at], out[at],
              nan ? ", NaN or inf where not due" : "");
    CHECK(worst <= 1);
    CHECK(!nan);
  }
  /* saturation */
  float sx[4] = {-HUGE_VALF, HUGE_VALF, NAN, -1e4f}, sy[4];
  t->elu(4, sx, sy, ELU_ALPHA);
  CHECK(sy[0] == -ELU_ALPHA && sy[1] == HUGE_VALF && isnan(sy[2]));
  t->softplus(4, sx, sy);
  CHECK(sy[0] == 0 && sy[1] == HUGE_VALF && isnan(sy[2]) && sy[3] == 0);
  t->gelu(4, sx, sy);
  CHECK(sy[0] == 0 && sy[1] == HUGE_VALF && isnan(sy[2]) && sy[3] == 0);
  free(y), free(dy), free(out);
}

/* SIMD against the scalar reference on every length up to 70 and a few
** big ones, in place and not, with guarded outputs. */
static int more_case(const nerve_kernels *ref, const nerve_kernels *t, int f,
                     size_t n, int inplace) {
  float *x = xmalloc(n * sizeof *x), *dy = xmalloc(n * sizeof *dy);
  float *y = xmalloc(n * sizeof *y);
  float *want = xmalloc((n + 16) * sizeof *want);
  float *got = xmalloc((n + 16) * sizeof *got);
  int ok = 1, bwd = f >= M_ELU_BWD;
  memset(x, 0, n * sizeof *x); /* (gcc cannot see the loop fill it) */
  for (size_t i = 0; i < n; i++) {
    x[i] = uni(-12, 12);
    if (i % 7 == 3) x[i] = i % 2 ? 0.0f : -0.0f;
    dy[i] = uni(-2, 2);
    y[i] = 0;
  }
  ref->elu(n, x, y, ELU_ALPHA);
  for (size_t i = 0; i < n + 16; i++) want[i] = got[i] = GUARD;
  if (inplace) { /* y = x, or dx = dy */
    memcpy(want, bwd ? dy : x, n * sizeof *x);
    memcpy(got, want, n * sizeof *x);
    more(ref, f, n, bwd ? x : want, y, want, want);
    more(t, f, n, bwd ? x : got, y, got, got);
  } else {
    more(ref, f, n, x, y, dy, want);
    more(t, f, n, x, y, dy, got);
  }
  for (size_t i = 0; i < n + 16 && ok; i++) {
    double tol = 0;
    if (i < n) {
      more_exact(f, x[i], bwd ? dy[i] : 1, &tol);
      tol *= 2; /* the two sides' bounds added */
    }
    if (i < n ? !(fabs((double)got[i] - want[i]) <= tol)
              : !same_bits(got[i], GUARD)) {
      fprintf(stderr, "%s %s n=%zu%s: [%zu] = %.9g, want %.9g (x %.9g)\n",
              t->name, more_name[f], n, inplace ? " in place" : "", i, got[i],
              want[i], i < n ? x[i] : 0.0);
      ok = 0;
    }
  }
  free(x), free(dy), free(y), free(want), free(got);
  return ok;
}

static void test_more(const nerve_kernels *ref, const nerve_kernels *t) {
  static const size_t big[] = {255, 256, 257, 1000, 4099};
  for (int f = 0; f < NMORE; f++) {
    for (size_t n = 1; n <= 70; n++) CHECK(more_case(ref, t, f, n, 0));
    for (size_t i = 0; i < sizeof big / sizeof *big; i++) {
      CHECK(more_case(ref, t, f, big[i], 0));
      CHECK(more_case(ref, t, f, big[i] - 240, 1));
    }
  }
}

/* ---------------------------------------------------------------- main */

/* Each SIMD table overrides every slot; "neon" leaves elu, softplus and
** gelu on the reference. */
static int has_more(const nerve_kernels *t) {
  return strcmp(t->name, "neon") != 0;
}

static void test_slots(const nerve_kernels *ref, const nerve_kernels *t) {
  if (has_more(t))
    CHECK(t->elu != ref->elu && t->softplus != ref->softplus &&
          t->gelu != ref->gelu && t->elu_bwd != ref->elu_bwd &&
          t->softplus_bwd != ref->softplus_bwd &&
          t->gelu_bwd != ref->gelu_bwd);
  CHECK(t->gemm_nn != ref->gemm_nn && t->gemm_nt != ref->gemm_nt &&
        t->gemm_tn != ref->gemm_tn && t->gemm_tn_set != ref->gemm_tn_set &&
        t->colsum != ref->colsum && t->sgd != ref->sgd);
  CHECK(t->sigmoid != ref->sigmoid && t->tanh != ref->tanh &&
        t->relu != ref->relu && t->leaky_relu != ref->leaky_relu &&
        t->softmax != ref->softmax);
  CHECK(t->sigmoid_bwd != ref->sigmoid_bwd &&
        t->tanh_bwd != ref->tanh_bwd && t->relu_bwd != ref->relu_bwd &&
        t->leaky_relu_bwd != ref->leaky_relu_bwd &&
        t->softmax_bwd != ref->softmax_bwd);
}

int main(void) {
  static const char *sets[] = {"avx2", "avx512", "neon"};
  const nerve_kernels *ref = nerve_kernels_get("scalar");
  size_t nx;
  float *x = acc_inputs(&nx);
  CHECK(ref != NULL && strcmp(ref->name, "scalar") == 0);
  if (!ref) return check_report("test_kernels");
  CHECK(nerve_kernels_get("no such set") == NULL);
  CHECK(nerve_kernels_best() != NULL);
#if defined(__aarch64__)
  CHECK(nerve_kernels_best() == nerve_kernels_get("neon"));
#endif
  test_accuracy(ref, x, nx);
  test_more_accuracy(ref, x, nx);
  test_split(ref);
  for (size_t i = 0; i < sizeof sets / sizeof *sets; i++) {
    const nerve_kernels *t = nerve_kernels_get(sets[i]);
    if (!t) continue; /* this CPU cannot run it */
    CHECK(strcmp(t->name, sets[i]) == 0);
    test_slots(ref, t);
    test_gemm(ref, t);
    test_tn_set(t);
    test_sgd(ref, t);
    test_split(t);
    test_colsum(ref, t);
    test_elem(ref, t);
    test_softmax(ref, t);
    test_accuracy(t, x, nx);
    test_more(ref, t);
    test_more_accuracy(t, x, nx);
  }
  free(x);
  return check_report("test_kernels");
}
