/*
** unpacked.h - the unpacked GEMM slots (the shapes where packing does not
** pay, gemm.c) and colsum, written once for every vector width: a file
** includes its instruction set's vec.h (the V_ vocabulary), defines what
** is its own and includes this, which defines the slots and GU_SETTER,
** the function that fills them.
**
**   pass(m, n, kc, a, ars, acs, b, ldb, c, ldc, bias, acc)
**               one pass of C (m x n) over kc of k: the bias (nn) or C
**               itself (tn, and every pass after the first) plus that part
**               of A B, A(r, p) = a[r * ars + p * acs]; the register tiles
**   dots(mr, nr, k, a, lda, b, ldb, c, ldc)
**               C (mr <= GU_DR x nr <= 4) = A B^T by dot products over k
**               (inlined, mr and nr constants)
**   KC          depth of a pass over C: the rows of A it reads stay in L1
**   GU_DR       rows of A a dots tile takes (3 or 4)
**   GU_NARROW   1: C of at most VW columns over a short k runs one vector
**               a row, without the setup of the tiles
**   GU_SETTER   the setter's name (sets.h's nerve_gemm_*)
**
** Each element of C from nn and tn is the packed path's chain of FMAs
** (gemm.h); colsum adds the rows in order, as the reference does.
*/

#ifndef V_STOREN
/* lanes 0 .. r-1 of v, r <= VW */
#define V_STOREN(p, v, t, r)                                            \
  do {                                                                  \
    if ((r) < VW) V_STORET(p, v, t, r);                                 \
    else V_STOREU(p, v);                                                \
  } while (0)
#endif

/* C (m x n) for nn (acc = 0), tn (acc = 1) and tn_set (acc = 0, no bias),
** in passes over KC of k. */
static V_ATTR void tiles(int m, int n, int k, const float *a, size_t ars,
                         size_t acs, const float *b, size_t ldb, float *c,
                         size_t ldc, const float *bias, int acc) {
  int p = 0;
  do { /* at least once: k = 0 still sets C to the bias */
    int kc = k - p < KC ? k - p : KC;
    pass(m, n, kc, a + p * acs, ars, acs, b + p * ldb, ldb, c, ldc,
         p ? NULL : bias, acc || p);
    p += kc;
  } while (p < k);
}

#if GU_NARROW
/* C of at most VW columns over a short k (nets the size of XOR): one
** vector per row, the last lanes off; the same sums in the same order. */
static V_ATTR void narrow(int m, int n, int k, const float *a, size_t ars,
                          size_t acs, const float *b, size_t ldb, float *c,
                          size_t ldc, const float *bias, int acc) {
  size_t w = (size_t)n;
  VT mk = V_TAIL(w);
  V init = bias ? V_LOADT(bias, mk, w) : V_ZERO();
  for (int i = 0; i < m; i++) {
    const float *ai = a + i * ars;
    float *ci = c + i * ldc;
    V s = acc ? V_LOADT(ci, mk, w) : init;
    for (int p = 0; p < k; p++)
      s = V_FMA(V_BCAST(ai + p * acs), V_LOADT(b + p * ldb, mk, w), s);
    V_STOREN(ci, s, mk, w);
  }
}
#define GU_SMALL(n, k) ((n) <= VW && (k) <= 16)
#else
#define GU_SMALL(n, k) 0
#define narrow tiles /* never called: keeps the dead branch compiling */
#endif

/* V_ZEROUPPER before returning: the tiles are noinline helpers (simd.h) */
static V_ATTR void gemm_nn(int m, int n, int k, const float *a, int lda,
                           const float *b, int ldb, float *c, int ldc,
                           const float *bias) {
  if (GU_SMALL(n, k))
    narrow(m, n, k, a, (size_t)lda, 1, b, (size_t)ldb, c, (size_t)ldc, bias,
           0);
  else
    tiles(m, n, k, a, (size_t)lda, 1, b, (size_t)ldb, c, (size_t)ldc, bias,
          0);
  V_ZEROUPPER();
}

/* C = A^T B onto C (acc) or onto zero (C is only written: the sums are
** those onto a zeroed C, 0 + x rounding to x). */
static V_ATTR void tn(int m, int n, int k, const float *a, int lda,
                      const float *b, int ldb, float *c, int ldc, int acc) {
  if (GU_SMALL(n, k))
    narrow(m, n, k, a, 1, (size_t)lda, b, (size_t)ldb, c, (size_t)ldc, NULL,
           acc);
  else
    tiles(m, n, k, a, 1, (size_t)lda, b, (size_t)ldb, c, (size_t)ldc, NULL,
          acc);
  V_ZEROUPPER();
}

static V_ATTR void gemm_tn(int m, int n, int k, const float *a, int lda,
                           const float *b, int ldb, float *c, int ldc) {
  tn(m, n, k, a, lda, b, ldb, c, ldc, 1);
}

static V_ATTR void gemm_tn_set(int m, int n, int k, const float *a, int lda,
                               const float *b, int ldb, float *c, int ldc) {
  tn(m, n, k, a, lda, b, ldb, c, ldc, 0);
}

#undef narrow
#undef GU_SMALL

/* One function per dots shape, so that no function grows huge (compilers
** and sanitizers slow down on one that holds every shape). */
typedef void dots_fn(int k, const float *a, size_t lda, const float *b,
                     size_t ldb, float *c, size_t ldc);
#define GU_DOTS(r, q)                                                   \
  static V_ATTR __attribute__((noinline)) void dots##r##q(              \
      int k, const float *a, size_t lda, const float *b, size_t ldb,    \
      float *c, size_t ldc) {                                           \
    dots(r, q, k, a, lda, b, ldb, c, ldc);                              \
  }
#define GU_DOTSR(r) GU_DOTS(r, 1) GU_DOTS(r, 2) GU_DOTS(r, 3) GU_DOTS(r, 4)
#define GU_ROW(r) {dots##r##1, dots##r##2, dots##r##3, dots##r##4}
GU_DOTSR(1) GU_DOTSR(2) GU_DOTSR(3)
#if GU_DR > 3
GU_DOTSR(4)
static dots_fn *const dots_fns[4][4] = {GU_ROW(1), GU_ROW(2), GU_ROW(3),
                                        GU_ROW(4)};
#else
static dots_fn *const dots_fns[3][4] = {GU_ROW(1), GU_ROW(2), GU_ROW(3)};
#endif
#undef GU_ROW
#undef GU_DOTSR
#undef GU_DOTS

static V_ATTR void gemm_nt(int m, int n, int k, const float *a, int lda,
                           const float *b, int ldb, float *c, int ldc) {
  float bt[NERVE_NT_BUF];
  if (nerve_nt_short(n, k, b, ldb, bt)) {
    gemm_nn(m, n, k, a, lda, bt, n, c, ldc, NULL);
    return;
  }
  size_t la = (size_t)lda, lb = (size_t)ldb, lc = (size_t)ldc;
  for (int i = 0; i < m; i += GU_DR) {
    int mr = m - i < GU_DR ? m - i : GU_DR;
    const float *ai = a + i * la;
    float *ci = c + i * lc;
    for (int j = 0; j < n; j += 4) {
      int nr = n - j < 4 ? n - j : 4;
      dots_fns[mr - 1][nr - 1](k, ai, la, b + j * lb, lb, ci + j, lc);
    }
  }
  V_ZEROUPPER();
}

/* Adds the rows in order, as the reference does: the same sums. Columns
** go 4 vectors at a time, then one, then the last lanes. */
static V_ATTR void colsum(int m, int n, const float *a, int lda,
                          float *out) {
  size_t la = (size_t)lda;
  int j = 0;
  for (; j + 4 * VW <= n; j += 4 * VW) {
    V s0 = V_LOADU(out + j), s1 = V_LOADU(out + j + VW),
      s2 = V_LOADU(out + j + 2 * VW), s3 = V_LOADU(out + j + 3 * VW);
    for (int i = 0; i < m; i++) {
      const float *ai = a + i * la + j;
      s0 = V_ADD(s0, V_LOADU(ai));
      s1 = V_ADD(s1, V_LOADU(ai + VW));
      s2 = V_ADD(s2, V_LOADU(ai + 2 * VW));
      s3 = V_ADD(s3, V_LOADU(ai + 3 * VW));
    }
    V_STOREU(out + j, s0);
    V_STOREU(out + j + VW, s1);
    V_STOREU(out + j + 2 * VW, s2);
    V_STOREU(out + j + 3 * VW, s3);
  }
  for (; j + VW <= n; j += VW) {
    V s = V_LOADU(out + j);
    for (int i = 0; i < m; i++) s = V_ADD(s, V_LOADU(a + i * la + j));
    V_STOREU(out + j, s);
  }
  if (j < n) {
    size_t r = (size_t)(n - j);
    VT mk = V_TAIL(r);
    V s = V_LOADT(out + j, mk, r);
    for (int i = 0; i < m; i++) s = V_ADD(s, V_LOADT(a + i * la + j, mk, r));
    V_STORET(out + j, s, mk, r);
  }
}

void GU_SETTER(nerve_kernels *k) {
  k->gemm_nn = gemm_nn;
  k->gemm_nt = gemm_nt;
  k->gemm_tn = gemm_tn;
  k->gemm_tn_set = gemm_tn_set;
  k->colsum = colsum;
}
