/*
** gemm_avx2.c - the GEMM and colsum slots with AVX2 + FMA, and the setter
** of the "avx2" table.
**
** nn and tn share one register-tiled micro-kernel: a tile of up to 6 rows
** by 2 vectors (16 columns) of C lives in 12 registers while rows of B are
** loaded and elements of A broadcast. nt is a dot-product kernel: 3 rows of
** A against 4 rows of B, reduced at the end. Tails use masked loads and
** stores, so nothing past a row's end is read or written. Not yet packed or
** cache-blocked.
*/
#include "kernels.h"
#include "simd.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
#define INL static inline __attribute__((always_inline, target("avx2,fma")))

enum { MR = 6, NR = 16 };

/* A mask with lanes 0 .. r-1 of 8 on (r <= 8). */
INL __m256i tail(int r) {
  static const int bits[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                               0,  0,  0,  0,  0,  0,  0,  0};
  return _mm256_loadu_si256((const __m256i *)(bits + 8 - r));
}

/* C (mr x 8 nv) = init + sum_p A(r, p) B(p, :) with A(r, p) = a[r * ars +
** p * acs] (nn: ars = lda, acs = 1; tn: ars = 1, acs = lda). init is C
** itself when acc, else the bias or zero. When masked, lm masks the last
** vector of a row. mr, nv and masked are constants once inlined. */
INL void tile(const int mr, const int nv, const int masked, int k,
              const float *a, size_t ars, size_t acs, const float *b,
              size_t ldb, float *c, size_t ldc, const float *bias, int acc,
              __m256i lm) {
  __m256 z = _mm256_setzero_ps();
  __m256 c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z,
         c31 = z, c40 = z, c41 = z, c50 = z, c51 = z;
  /* vector v of the row at p: plain, masked (the last when masked) or 0 */
#define LOADV(v, p)                                                     \
  (nv <= v ? z                                                          \
   : masked && nv == v + 1 ? _mm256_maskload_ps((p) + 8 * v, lm)         \
                           : _mm256_loadu_ps((p) + 8 * v))
#define INIT(r, src)                                                    \
  if (mr > r) c##r##0 = LOADV(0, src), c##r##1 = LOADV(1, src);
  if (acc) {
    INIT(0, c) INIT(1, c + ldc) INIT(2, c + 2 * ldc) INIT(3, c + 3 * ldc)
    INIT(4, c + 4 * ldc) INIT(5, c + 5 * ldc)
  } else if (bias) {
    INIT(0, bias) INIT(1, bias) INIT(2, bias) INIT(3, bias) INIT(4, bias)
    INIT(5, bias)
  }
#undef INIT
#define ROW(r)                                                          \
  if (mr > r) {                                                         \
    __m256 x = _mm256_broadcast_ss(ap + r * ars);                       \
    c##r##0 = _mm256_fmadd_ps(x, b0, c##r##0);                          \
    if (nv > 1) c##r##1 = _mm256_fmadd_ps(x, b1, c##r##1);              \
  }
  for (int p = 0; p < k; p++) {
    const float *ap = a + p * acs, *bp = b + p * ldb;
    __m256 b0 = LOADV(0, bp), b1 = LOADV(1, bp);
    ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
  }
#undef ROW
#undef LOADV
#define STOREV(r, v)                                                    \
  if (nv > v) {                                                         \
    if (masked && nv == v + 1)                                          \
      _mm256_maskstore_ps(c + r * ldc + 8 * v, lm, c##r##v);            \
    else                                                                \
      _mm256_storeu_ps(c + r * ldc + 8 * v, c##r##v);                   \
  }
#define STORE(r)                                                        \
  if (mr > r) {                                                         \
    STOREV(r, 0)                                                        \
    STOREV(r, 1)                                                        \
  }
  STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5)
#undef STORE
#undef STOREV
}

/* Tiles C (m x n) for nn (acc = 0) and tn (acc = 1). */
static AVX2 void tiles(int m, int n, int k, const float *a, size_t ars,
                       size_t acs, const float *b, size_t ldb, float *c,
                       size_t ldc, const float *bias, int acc) {
  for (int i = 0; i < m; i += MR) {
    int mr = m - i < MR ? m - i : MR;
    const float *ai = a + i * ars;
    float *ci = c + i * ldc;
    for (int j = 0; j < n; j += NR) {
      int nr = n - j < NR ? n - j : NR, nv = (nr + 7) / 8;
      int masked = nr % 8 != 0;
      __m256i lm = tail(nr - 8 * (nv - 1));
      const float *bj = b + j, *biasj = bias ? bias + j : NULL;
#define T(r, v, t)                                                      \
  case ((r - 1) * 2 + v - 1) * 2 + t:                                   \
    tile(r, v, t, k, ai, ars, acs, bj, ldb, ci + j, ldc, biasj, acc, lm); \
    break;
#define TR(r) T(r, 1, 0) T(r, 1, 1) T(r, 2, 0) T(r, 2, 1)
      switch (((mr - 1) * 2 + nv - 1) * 2 + masked) {
        TR(1) TR(2) TR(3) TR(4) TR(5) TR(6)
      }
#undef TR
#undef T
    }
  }
}

static AVX2 void gemm_nn(int m, int n, int k, const float *a, int lda,
                         const float *b, int ldb, float *c, int ldc,
                         const float *bias) {
  tiles(m, n, k, a, (size_t)lda, 1, b, (size_t)ldb, c, (size_t)ldc, bias, 0);
}

static AVX2 void gemm_tn(int m, int n, int k, const float *a, int lda,
                         const float *b, int ldb, float *c, int ldc) {
  tiles(m, n, k, a, 1, (size_t)lda, b, (size_t)ldb, c, (size_t)ldc, NULL, 1);
}

/* The sums of v0 .. v3 in lanes 0 .. 3. */
INL __m128 reduce4(__m256 v0, __m256 v1, __m256 v2, __m256 v3) {
  __m256 u = _mm256_hadd_ps(_mm256_hadd_ps(v0, v1), _mm256_hadd_ps(v2, v3));
  return _mm_add_ps(_mm256_castps256_ps128(u), _mm256_extractf128_ps(u, 1));
}

/* C (mr <= 3 x nr <= 4) = A B^T: dot products of rows of A and rows of B
** over k, 8 at a time, the last chunk masked. */
INL void dots(const int mr, const int nr, int k, const float *a, size_t lda,
              const float *b, size_t ldb, float *c, size_t ldc) {
  __m256 z = _mm256_setzero_ps();
  __m256 v00 = z, v01 = z, v02 = z, v03 = z, v10 = z, v11 = z, v12 = z,
         v13 = z, v20 = z, v21 = z, v22 = z, v23 = z;
#define LD(p) (masked ? _mm256_maskload_ps(p, mk) : _mm256_loadu_ps(p))
#define COL(j)                                                          \
  if (nr > j) {                                                         \
    __m256 y = LD(b + j * ldb + p);                                     \
    v0##j = _mm256_fmadd_ps(x0, y, v0##j);                              \
    if (mr > 1) v1##j = _mm256_fmadd_ps(x1, y, v1##j);                  \
    if (mr > 2) v2##j = _mm256_fmadd_ps(x2, y, v2##j);                  \
  }
#define STEP                                                            \
  {                                                                     \
    __m256 x0 = LD(a + p), x1 = mr > 1 ? LD(a + lda + p) : z,          \
           x2 = mr > 2 ? LD(a + 2 * lda + p) : z;                       \
    COL(0) COL(1) COL(2) COL(3)                                         \
  }
  int p = 0;
  {
    const int masked = 0;
    __m256i mk = _mm256_setzero_si256();
    for (; p + 8 <= k; p += 8) STEP
  }
  if (p < k) {
    const int masked = 1;
    __m256i mk = tail(k - p);
    STEP
  }
#undef STEP
#undef COL
#undef LD
  __m128 s0 = reduce4(v00, v01, v02, v03), s1 = reduce4(v10, v11, v12, v13),
         s2 = reduce4(v20, v21, v22, v23);
  if (nr == 4) {
    _mm_storeu_ps(c, s0);
    if (mr > 1) _mm_storeu_ps(c + ldc, s1);
    if (mr > 2) _mm_storeu_ps(c + 2 * ldc, s2);
  } else {
    float t[12];
    _mm_storeu_ps(t, s0);
    _mm_storeu_ps(t + 4, s1);
    _mm_storeu_ps(t + 8, s2);
    for (int r = 0; r < mr; r++)
      for (int j = 0; j < nr; j++) c[r * ldc + j] = t[4 * r + j];
  }
}

static AVX2 void gemm_nt(int m, int n, int k, const float *a, int lda,
                         const float *b, int ldb, float *c, int ldc) {
  size_t la = (size_t)lda, lb = (size_t)ldb, lc = (size_t)ldc;
  for (int i = 0; i < m; i += 3) {
    int mr = m - i < 3 ? m - i : 3;
    const float *ai = a + i * la;
    float *ci = c + i * lc;
    for (int j = 0; j < n; j += 4) {
      int nr = n - j < 4 ? n - j : 4;
      const float *bj = b + j * lb;
#define T(r, q)                                                         \
  case (r - 1) * 4 + q - 1:                                             \
    dots(r, q, k, ai, la, bj, lb, ci + j, lc);                          \
    break;
#define TR(r) T(r, 1) T(r, 2) T(r, 3) T(r, 4)
      switch ((mr - 1) * 4 + nr - 1) {
        TR(1) TR(2) TR(3)
      }
#undef TR
#undef T
    }
  }
}

/* Adds the rows in order, as the reference does: the same sums. Columns
** go 32 at a time, then 8 at a time with the last masked. */
static AVX2 void colsum(int m, int n, const float *a, int lda, float *out) {
  size_t la = (size_t)lda;
  int j = 0;
  for (; j + 32 <= n; j += 32) {
    __m256 s0 = _mm256_loadu_ps(out + j), s1 = _mm256_loadu_ps(out + j + 8),
           s2 = _mm256_loadu_ps(out + j + 16),
           s3 = _mm256_loadu_ps(out + j + 24);
    for (int i = 0; i < m; i++) {
      const float *ai = a + i * la + j;
      s0 = _mm256_add_ps(s0, _mm256_loadu_ps(ai));
      s1 = _mm256_add_ps(s1, _mm256_loadu_ps(ai + 8));
      s2 = _mm256_add_ps(s2, _mm256_loadu_ps(ai + 16));
      s3 = _mm256_add_ps(s3, _mm256_loadu_ps(ai + 24));
    }
    _mm256_storeu_ps(out + j, s0);
    _mm256_storeu_ps(out + j + 8, s1);
    _mm256_storeu_ps(out + j + 16, s2);
    _mm256_storeu_ps(out + j + 24, s3);
  }
  for (; j < n; j += 8) {
    __m256i mk = tail(n - j < 8 ? n - j : 8);
    __m256 s = _mm256_maskload_ps(out + j, mk);
    for (int i = 0; i < m; i++)
      s = _mm256_add_ps(s, _mm256_maskload_ps(a + i * la + j, mk));
    _mm256_maskstore_ps(out + j, mk, s);
  }
}

void nerve_kernels_avx2(nerve_kernels *k) {
  k->name = "avx2";
  k->gemm_nn = gemm_nn;
  k->gemm_nt = gemm_nt;
  k->gemm_tn = gemm_tn;
  k->colsum = colsum;
  nerve_act_avx2(k);
}

#else

void nerve_kernels_avx2(nerve_kernels *k) { k->name = "avx2"; }

#endif
