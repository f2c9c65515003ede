/*
** avx512/gemm.c - the register tiles of the unpacked GEMM slots with
** AVX-512F (unpacked.h drives them and holds colsum).
**
** nn and tn share one register-tiled micro-kernel: a tile of up to 6 rows
** by 4 vectors (64 columns) of C lives in 24 registers while rows of B are
** loaded and elements of A broadcast; C is passed over in blocks of KC of
** k. nt is a dot-product kernel: 4 rows of A against 4 rows of B, reduced
** at the end. The last vector of a row is masked, so nothing past a row's
** end is read or written. Each element of C from nn and tn is the packed
** path's chain of FMAs.
*/
#include <stdint.h>

#include "kernels/sets.h"
#include "kernels/simd.h"

#if defined(__x86_64__)
#include "kernels/avx512/vec.h"

enum { MR = 6, NV = 4, NR = 16 * NV, KC = 512 }; /* KC: depth of a pass */

/* C (mr x 16 nv) = init + sum_p A(r, p) B(p, :) with A(r, p) = a[r * ars +
** p * acs] (nn: ars = lda, acs = 1; tn: ars = 1, acs = lda). init is C
** itself when acc, else the bias or zero. lm masks the last vector of a
** row. mr and nv are constants once inlined, which drops the unused rows
** and vectors. */
V_INL void tile(const int mr, const int nv, int k, const float *a, size_t ars,
              size_t acs, const float *b, size_t ldb, float *c, size_t ldc,
              const float *bias, int acc, __mmask16 lm) {
  const __mmask16 m0 = nv == 1 ? lm : 0xffff, m1 = nv == 2 ? lm : 0xffff,
                  m2 = nv == 3 ? lm : 0xffff, m3 = lm;
  __m512 z = _mm512_setzero_ps();
  __m512 c00 = z, c01 = z, c02 = z, c03 = z, c10 = z, c11 = z, c12 = z,
         c13 = z, c20 = z, c21 = z, c22 = z, c23 = z, c30 = z, c31 = z,
         c32 = z, c33 = z, c40 = z, c41 = z, c42 = z, c43 = z, c50 = z,
         c51 = z, c52 = z, c53 = z;
#define LOADV(v, p) (nv > v ? _mm512_maskz_loadu_ps(m##v, (p) + 16 * v) : z)
#define INIT(r, src)                                                    \
  if (mr > r) {                                                         \
    c##r##0 = LOADV(0, src), c##r##1 = LOADV(1, src);                   \
    c##r##2 = LOADV(2, src), c##r##3 = LOADV(3, src);                   \
  }
  if (acc) {
    INIT(0, c) INIT(1, c + ldc) INIT(2, c + 2 * ldc) INIT(3, c + 3 * ldc)
    INIT(4, c + 4 * ldc) INIT(5, c + 5 * ldc)
  } else if (bias) {
    INIT(0, bias) INIT(1, bias) INIT(2, bias) INIT(3, bias) INIT(4, bias)
    INIT(5, bias)
  }
#undef INIT
#define FMA(r, v) c##r##v = _mm512_fmadd_ps(x, b##v, c##r##v)
#define ROW(r)                                                          \
  if (mr > r) {                                                         \
    __m512 x = _mm512_set1_ps(ap[r * ars]);                             \
    FMA(r, 0);                                                          \
    if (nv > 1) FMA(r, 1);                                              \
    if (nv > 2) FMA(r, 2);                                              \
    if (nv > 3) FMA(r, 3);                                              \
  }
  for (int p = 0; p < k; p++) {
    const float *ap = a + p * acs, *bp = b + p * ldb;
    /* B's rows are ldb apart: ask for the one 8 ahead, which the hardware
    ** prefetcher finds late inside a training step, where the other
    ** buffers crowd L2 (the layer-1 weight-gradient GEMM of a batch-256
    ** step 2% faster; alone, with B hot, the same) */
    /* (integer arithmetic: past B's last row it is no pointer into B, and
    ** a prefetch of any address is harmless) */
    const char *pf = (const char *)((uintptr_t)bp + 8 * ldb * sizeof(float));
    _mm_prefetch(pf, _MM_HINT_T0);
    if (nv > 1) _mm_prefetch(pf + 64, _MM_HINT_T0);
    if (nv > 2) _mm_prefetch(pf + 128, _MM_HINT_T0);
    if (nv > 3) _mm_prefetch(pf + 192, _MM_HINT_T0);
    __m512 b0 = LOADV(0, bp), b1 = LOADV(1, bp), b2 = LOADV(2, bp),
           b3 = LOADV(3, bp);
    ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
  }
#undef ROW
#undef FMA
#undef LOADV
#define STOREV(r, v)                                                    \
  if (nv > v) _mm512_mask_storeu_ps(c + r * ldc + 16 * v, m##v, c##r##v)
#define STORE(r)                                                        \
  if (mr > r) {                                                         \
    STOREV(r, 0);                                                       \
    STOREV(r, 1);                                                       \
    STOREV(r, 2);                                                       \
    STOREV(r, 3);                                                       \
  }
  STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5)
#undef STORE
#undef STOREV
}

/* One function per tile shape, so that no function grows huge (compilers
** and sanitizers slow down on one that holds every shape). */
typedef void tile_fn(int k, const float *a, size_t ars, size_t acs,
                     const float *b, size_t ldb, float *c, size_t ldc,
                     const float *bias, int acc, __mmask16 lm);
#define TILE(r, v)                                                      \
  static V_ATTR __attribute__((noinline)) void tile##r##v(              \
      int k, const float *a, size_t ars, size_t acs, const float *b,    \
      size_t ldb, float *c, size_t ldc, const float *bias, int acc,     \
      __mmask16 lm) {                                                   \
    tile(r, v, k, a, ars, acs, b, ldb, c, ldc, bias, acc, lm);          \
  }
#define TILES(r) TILE(r, 1) TILE(r, 2) TILE(r, 3) TILE(r, 4)
TILES(1) TILES(2) TILES(3) TILES(4) TILES(5) TILES(6)
#undef TILES
#undef TILE
#define ROW(r) {tile##r##1, tile##r##2, tile##r##3, tile##r##4}
static tile_fn *const tile_fns[MR][NV] = {ROW(1), ROW(2), ROW(3),
                                          ROW(4), ROW(5), ROW(6)};
#undef ROW

/* One pass of C (m x n) over kc of k: the bias (nn) or C itself (tn, and
** every pass after the first) plus that part of A B. */
static V_ATTR void pass(int m, int n, int kc, const float *a, size_t ars,
                        size_t acs, const float *b, size_t ldb, float *c,
                        size_t ldc, const float *bias, int acc) {
  for (int i = 0; i < m; i += MR) {
    int mr = m - i < MR ? m - i : MR;
    const float *ai = a + i * ars;
    float *ci = c + i * ldc;
    for (int j = 0; j < n; j += NR) {
      int nr = n - j < NR ? n - j : NR, nv = (nr + 15) / 16;
      __mmask16 lm = v_tail(nr - 16 * (nv - 1));
      tile_fns[mr - 1][nv - 1](kc, ai, ars, acs, b + j, ldb, ci + j, ldc,
                               bias ? bias + j : NULL, acc, lm);
    }
  }
}

/* Sums the 16 accumulators v[4 c + r] into one vector whose 128-bit block
** r holds the 4 sums of row r (lane c). */
V_INL __m512 reduce16(const __m512 *v) {
#define PAIR(sh, u, w, i1, i2)                                          \
  _mm512_add_ps(sh(u, w, i1), sh(u, w, i2))
#define L1(i) PAIR(_mm512_shuffle_f32x4, v[2 * i], v[2 * i + 1], 0x44, 0xee)
  __m512 w0 = L1(0), w1 = L1(1), w2 = L1(2), w3 = L1(3), w4 = L1(4),
         w5 = L1(5), w6 = L1(6), w7 = L1(7);
#undef L1
  __m512 x0 = PAIR(_mm512_shuffle_f32x4, w0, w1, 0x88, 0xdd),
         x1 = PAIR(_mm512_shuffle_f32x4, w2, w3, 0x88, 0xdd),
         x2 = PAIR(_mm512_shuffle_f32x4, w4, w5, 0x88, 0xdd),
         x3 = PAIR(_mm512_shuffle_f32x4, w6, w7, 0x88, 0xdd);
  __m512 y0 = PAIR(_mm512_shuffle_ps, x0, x1, 0x44, 0xee),
         y1 = PAIR(_mm512_shuffle_ps, x2, x3, 0x44, 0xee);
  return PAIR(_mm512_shuffle_ps, y0, y1, 0x88, 0xdd);
#undef PAIR
}

/* C (mr x nr, both <= 4) = A B^T: dot products of rows of A and rows of B
** over k, 16 at a time, the last chunk masked. */
V_INL void dots(const int mr, const int nr, int k, const float *a, size_t lda,
              const float *b, size_t ldb, float *c, size_t ldc) {
  __m512 z0 = _mm512_setzero_ps();
  __m512 v[16] = {z0, z0, z0, z0, z0, z0, z0, z0,
                  z0, z0, z0, z0, z0, z0, z0, z0};
#define LA(r) (mr > r ? _mm512_maskz_loadu_ps(mk, a + r * lda + p) : z)
#define LB(j) (nr > j ? _mm512_maskz_loadu_ps(mk, b + j * ldb + p) : z)
#define FMA(r, j)                                                       \
  if (mr > r && nr > j) v[4 * j + r] = _mm512_fmadd_ps(a##r, b##j, v[4 * j + r])
#define STEP                                                            \
  {                                                                     \
    __m512 z = _mm512_setzero_ps();                                     \
    __m512 a0 = LA(0), a1 = LA(1), a2 = LA(2), a3 = LA(3);              \
    __m512 b0 = LB(0), b1 = LB(1), b2 = LB(2), b3 = LB(3);              \
    FMA(0, 0); FMA(1, 0); FMA(2, 0); FMA(3, 0);                         \
    FMA(0, 1); FMA(1, 1); FMA(2, 1); FMA(3, 1);                         \
    FMA(0, 2); FMA(1, 2); FMA(2, 2); FMA(3, 2);                         \
    FMA(0, 3); FMA(1, 3); FMA(2, 3); FMA(3, 3);                         \
  }
  int p = 0;
  for (; p + 16 <= k; p += 16) {
    const __mmask16 mk = 0xffff;
    STEP
  }
  if (p < k) {
    const __mmask16 mk = v_tail(k - p);
    STEP
  }
#undef STEP
#undef FMA
#undef LB
#undef LA
  __m512 s = reduce16(v);
  if (nr == 4) {
    if (mr > 0) _mm_storeu_ps(c, _mm512_extractf32x4_ps(s, 0));
    if (mr > 1) _mm_storeu_ps(c + ldc, _mm512_extractf32x4_ps(s, 1));
    if (mr > 2) _mm_storeu_ps(c + 2 * ldc, _mm512_extractf32x4_ps(s, 2));
    if (mr > 3) _mm_storeu_ps(c + 3 * ldc, _mm512_extractf32x4_ps(s, 3));
  } else {
    float t[16];
    _mm512_storeu_ps(t, s);
    for (int r = 0; r < mr; r++)
      for (int j = 0; j < nr; j++) c[r * ldc + j] = t[4 * r + j];
  }
}

#define GU_DR 4
#define GU_NARROW 1
#define GU_SETTER nerve_gemm_avx512
#include "kernels/unpacked.h"

#else

void nerve_gemm_avx512(nerve_kernels *k) { (void)k; }

#endif
