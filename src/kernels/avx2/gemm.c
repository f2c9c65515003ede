/*
** avx2/gemm.c - the register tiles of the unpacked GEMM slots with AVX2 +
** FMA (unpacked.h drives them and holds colsum).
**
** nn and tn share one register-tiled micro-kernel: a tile of C of 6 rows
** by 2 vectors (16 columns), or of up to 3 rows by 4 vectors (enough
** independent sums for a batch of 1 or 2), lives in 12 registers while
** rows of B are loaded and elements of A broadcast; C is passed over in
** blocks of KC of k so that the rows of A stay in L1. nt is a dot-product
** kernel: 3 rows of A against 4 rows of B, reduced at the end. Tails use
** masked loads and partial stores: nothing past a row's end is touched.
** Each element of C from nn and tn is the packed path's chain of FMAs.
*/
#include "kernels/sets.h"
#include "kernels/simd.h"

#if defined(__x86_64__)
#include "kernels/avx2/vec.h"

enum { MR = 6, NV = 4, KC = 256 }; /* KC: depth of a pass over C */

/* C (mr x 8 nv) = init + sum_p A(r, p) B(p, :) with A(r, p) = a[r * ars +
** p * acs] (nn: ars = lda, acs = 1; tn: ars = 1, acs = lda). init is C
** itself when acc, else the bias or zero. When masked, lm masks the last
** vector of a row (lr lanes on). mr, nv and masked are constants once
** inlined. */
V_INL void tile(const int mr, const int nv, const int masked, int k,
              const float *a, size_t ars, size_t acs, const float *b,
              size_t ldb, float *c, size_t ldc, const float *bias, int acc,
              __m256i lm, int lr) {
  __m256 z = _mm256_setzero_ps();
  __m256 c00 = z, c01 = z, c02 = z, c03 = z, c10 = z, c11 = z, c12 = z,
         c13 = z, c20 = z, c21 = z, c22 = z, c23 = z, c30 = z, c31 = z,
         c40 = z, c41 = z, c50 = z, c51 = z;
  /* vector v of the row at p: plain, masked (the last when masked) or 0 */
#define LOADV(v, p)                                                     \
  (nv <= v ? z                                                          \
   : masked && nv == v + 1 ? _mm256_maskload_ps((p) + 8 * v, lm)         \
                           : _mm256_loadu_ps((p) + 8 * v))
#define INIT(r, src)                                                    \
  if (mr > r) c##r##0 = LOADV(0, src), c##r##1 = LOADV(1, src);
#define INIT4(r, src)                                                   \
  if (mr > r) {                                                         \
    c##r##0 = LOADV(0, src), c##r##1 = LOADV(1, src);                   \
    c##r##2 = LOADV(2, src), c##r##3 = LOADV(3, src);                   \
  }
  if (acc) {
    INIT4(0, c) INIT4(1, c + ldc) INIT4(2, c + 2 * ldc)
    INIT(3, c + 3 * ldc) INIT(4, c + 4 * ldc) INIT(5, c + 5 * ldc)
  } else if (bias) {
    INIT4(0, bias) INIT4(1, bias) INIT4(2, bias) INIT(3, bias) INIT(4, bias)
    INIT(5, bias)
  }
#undef INIT4
#undef INIT
#define FMA(r, v) c##r##v = _mm256_fmadd_ps(x, b##v, c##r##v)
#define ROW(r)                                                          \
  if (mr > r) {                                                         \
    __m256 x = _mm256_broadcast_ss(ap + r * ars);                       \
    FMA(r, 0);                                                          \
    if (nv > 1) FMA(r, 1);                                              \
  }
#define ROW4(r)                                                         \
  if (mr > r) {                                                         \
    __m256 x = _mm256_broadcast_ss(ap + r * ars);                       \
    FMA(r, 0);                                                          \
    if (nv > 1) FMA(r, 1);                                              \
    if (nv > 2) FMA(r, 2);                                              \
    if (nv > 3) FMA(r, 3);                                              \
  }
  for (int p = 0; p < k; p++) {
    const float *ap = a + p * acs, *bp = b + p * ldb;
    __m256 b0 = LOADV(0, bp), b1 = LOADV(1, bp), b2 = LOADV(2, bp),
           b3 = LOADV(3, bp);
    ROW4(0) ROW4(1) ROW4(2) ROW(3) ROW(4) ROW(5)
  }
#undef ROW4
#undef FMA
#undef ROW
#undef LOADV
#define STOREV(r, v)                                                    \
  if (nv > v) {                                                         \
    if (masked && nv == v + 1)                                          \
      nerve_store8(c + r * ldc + 8 * v, c##r##v, lr);                   \
    else                                                                \
      _mm256_storeu_ps(c + r * ldc + 8 * v, c##r##v);                   \
  }
#define STORE(r)                                                        \
  if (mr > r) {                                                         \
    STOREV(r, 0)                                                        \
    STOREV(r, 1)                                                        \
  }
#define STORE4(r)                                                       \
  if (mr > r) {                                                         \
    STOREV(r, 0)                                                        \
    STOREV(r, 1)                                                        \
    STOREV(r, 2)                                                        \
    STOREV(r, 3)                                                        \
  }
  STORE4(0) STORE4(1) STORE4(2) STORE(3) STORE(4) STORE(5)
#undef STORE4
#undef STORE
#undef STOREV
}

/* One function per tile shape, so that no function grows huge (compilers
** and sanitizers slow down on one that holds every shape). 4 vectors wide
** only up to 3 rows. */
typedef void tile_fn(int k, const float *a, size_t ars, size_t acs,
                     const float *b, size_t ldb, float *c, size_t ldc,
                     const float *bias, int acc, __m256i lm, int lr);
#define TILE(r, v, t)                                                   \
  static V_ATTR __attribute__((noinline)) void tile##r##v##t(             \
      int k, const float *a, size_t ars, size_t acs, const float *b,    \
      size_t ldb, float *c, size_t ldc, const float *bias, int acc,     \
      __m256i lm, int lr) {                                             \
    tile(r, v, t, k, a, ars, acs, b, ldb, c, ldc, bias, acc, lm, lr);   \
  }
#define TILES2(r) TILE(r, 1, 0) TILE(r, 1, 1) TILE(r, 2, 0) TILE(r, 2, 1)
#define TILES4(r)                                                       \
  TILES2(r) TILE(r, 3, 0) TILE(r, 3, 1) TILE(r, 4, 0) TILE(r, 4, 1)
TILES4(1) TILES4(2) TILES4(3) TILES2(4) TILES2(5) TILES2(6)
#undef TILES4
#undef TILES2
#undef TILE
#define ROW2(r) {{tile##r##10, tile##r##11}, {tile##r##20, tile##r##21}}
#define ROW4(r)                                                         \
  {{tile##r##10, tile##r##11}, {tile##r##20, tile##r##21},              \
   {tile##r##30, tile##r##31}, {tile##r##40, tile##r##41}}
static tile_fn *const tile_fns[MR][NV][2] = {ROW4(1), ROW4(2), ROW4(3),
                                             ROW2(4), ROW2(5), ROW2(6)};
#undef ROW4
#undef ROW2

/* One pass of C (m x n) over kc of k: the bias (nn) or C itself (tn, and
** every pass after the first) plus that part of A B. Tiles of 6 x 16, the
** last rows 3 x 32 or less. */
static V_ATTR void pass(int m, int n, int kc, const float *a, size_t ars,
                      size_t acs, const float *b, size_t ldb, float *c,
                      size_t ldc, const float *bias, int acc) {
  for (int i = 0; i < m; i += MR) {
    int mr = m - i < MR ? m - i : MR;
    int nrmax = mr <= 3 ? 32 : 16;
    const float *ai = a + i * ars;
    float *ci = c + i * ldc;
    for (int j = 0; j < n; j += nrmax) {
      int nr = n - j < nrmax ? n - j : nrmax, nv = (nr + 7) / 8;
      int masked = nr % 8 != 0, lr = nr - 8 * (nv - 1);
      __m256i lm = nerve_mask8((size_t)lr);
      tile_fns[mr - 1][nv - 1][masked](kc, ai, ars, acs, b + j, ldb, ci + j,
                                       ldc, bias ? bias + j : NULL, acc, lm,
                                       lr);
    }
  }
}

/* The sums of v0 .. v3 in lanes 0 .. 3. */
V_INL __m128 reduce4(__m256 v0, __m256 v1, __m256 v2, __m256 v3) {
  __m256 u = _mm256_hadd_ps(_mm256_hadd_ps(v0, v1), _mm256_hadd_ps(v2, v3));
  return _mm_add_ps(_mm256_castps256_ps128(u), _mm256_extractf128_ps(u, 1));
}

/* C (mr <= 3 x nr <= 4) = A B^T: dot products of rows of A and rows of B
** over k, 8 at a time, the last chunk masked. */
V_INL void dots(const int mr, const int nr, int k, const float *a, size_t lda,
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
    __m256i mk = nerve_mask8(k - p);
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

#define GU_DR 3
#define GU_NARROW 1
#define GU_SETTER nerve_gemm_avx2
#include "kernels/unpacked.h"

#else

void nerve_gemm_avx2(nerve_kernels *k) { (void)k; }

#endif
