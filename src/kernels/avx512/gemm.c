/*
** avx512/gemm.c - the unpacked GEMM slots (the shapes where packing does
** not pay, gemm.c) and colsum with AVX-512F.
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
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx2,fma")))
#define INL                                                             \
  static inline __attribute__((always_inline, target("avx512f,avx2,fma")))

enum { MR = 6, NV = 4, NR = 16 * NV, KC = 512 }; /* KC: depth of a pass */

/* Lanes 0 .. r-1 of 16 on (r <= 16). */
INL __mmask16 tail(int r) {
  return (__mmask16)(r >= 16 ? 0xffffu : (1u << r) - 1);
}

/* C (mr x 16 nv) = init + sum_p A(r, p) B(p, :) with A(r, p) = a[r * ars +
** p * acs] (nn: ars = lda, acs = 1; tn: ars = 1, acs = lda). init is C
** itself when acc, else the bias or zero. lm masks the last vector of a
** row. mr and nv are constants once inlined, which drops the unused rows
** and vectors. */
INL void tile(const int mr, const int nv, int k, const float *a, size_t ars,
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
  static AVX512 __attribute__((noinline)) void tile##r##v(              \
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
static AVX512 void pass(int m, int n, int kc, const float *a, size_t ars,
                        size_t acs, const float *b, size_t ldb, float *c,
                        size_t ldc, const float *bias, int acc) {
  for (int i = 0; i < m; i += MR) {
    int mr = m - i < MR ? m - i : MR;
    const float *ai = a + i * ars;
    float *ci = c + i * ldc;
    for (int j = 0; j < n; j += NR) {
      int nr = n - j < NR ? n - j : NR, nv = (nr + 15) / 16;
      __mmask16 lm = tail(nr - 16 * (nv - 1));
      tile_fns[mr - 1][nv - 1](kc, ai, ars, acs, b + j, ldb, ci + j, ldc,
                               bias ? bias + j : NULL, acc, lm);
    }
  }
}

/* C (m x n) for nn (acc = 0) and tn (acc = 1), in passes over KC of k. */
static AVX512 void tiles(int m, int n, int k, const float *a, size_t ars,
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

/* C of at most 16 columns over a short k (nets the size of XOR): one
** masked vector per row, without the setup of the tiles; the same sums in
** the same order. */
static AVX512 void narrow(int m, int n, int k, const float *a, size_t ars,
                          size_t acs, const float *b, size_t ldb, float *c,
                          size_t ldc, const float *bias, int acc) {
  __mmask16 mk = tail(n);
  __m512 init = bias ? _mm512_maskz_loadu_ps(mk, bias) : _mm512_setzero_ps();
  for (int i = 0; i < m; i++) {
    const float *ai = a + i * ars;
    float *ci = c + i * ldc;
    __m512 s = acc ? _mm512_maskz_loadu_ps(mk, ci) : init;
    for (int p = 0; p < k; p++)
      s = _mm512_fmadd_ps(_mm512_set1_ps(ai[p * acs]),
                          _mm512_maskz_loadu_ps(mk, b + p * ldb), s);
    _mm512_mask_storeu_ps(ci, mk, s);
  }
}

static AVX512 void gemm_nn(int m, int n, int k, const float *a, int lda,
                           const float *b, int ldb, float *c, int ldc,
                           const float *bias) {
  if (n <= 16 && k <= 16)
    narrow(m, n, k, a, (size_t)lda, 1, b, (size_t)ldb, c, (size_t)ldc, bias,
           0);
  else
    tiles(m, n, k, a, (size_t)lda, 1, b, (size_t)ldb, c, (size_t)ldc, bias,
          0);
  NERVE_ZEROUPPER();
}

/* C = A^T B onto C (acc) or onto zero (C is only written). */
static AVX512 void tn(int m, int n, int k, const float *a, int lda,
                 const float *b, int ldb, float *c, int ldc, int acc) {
  if (n <= 16 && k <= 16)
    narrow(m, n, k, a, 1, (size_t)lda, b, (size_t)ldb, c, (size_t)ldc, NULL,
           acc);
  else
    tiles(m, n, k, a, 1, (size_t)lda, b, (size_t)ldb, c, (size_t)ldc, NULL,
          acc);
  NERVE_ZEROUPPER();
}

static AVX512 void gemm_tn(int m, int n, int k, const float *a, int lda,
                 const float *b, int ldb, float *c, int ldc) {
  tn(m, n, k, a, lda, b, ldb, c, ldc, 1);
}

static AVX512 void gemm_tn_set(int m, int n, int k, const float *a, int lda,
                     const float *b, int ldb, float *c, int ldc) {
  tn(m, n, k, a, lda, b, ldb, c, ldc, 0);
}

/* Sums the 16 accumulators v[4 c + r] into one vector whose 128-bit block
** r holds the 4 sums of row r (lane c). */
INL __m512 reduce16(const __m512 *v) {
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
INL void dots(const int mr, const int nr, int k, const float *a, size_t lda,
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
    const __mmask16 mk = tail(k - p);
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

typedef void dots_fn(int k, const float *a, size_t lda, const float *b,
                     size_t ldb, float *c, size_t ldc);
#define DOTS(r, q)                                                      \
  static AVX512 __attribute__((noinline)) void dots##r##q(              \
      int k, const float *a, size_t lda, const float *b, size_t ldb,    \
      float *c, size_t ldc) {                                           \
    dots(r, q, k, a, lda, b, ldb, c, ldc);                              \
  }
#define DOTSR(r) DOTS(r, 1) DOTS(r, 2) DOTS(r, 3) DOTS(r, 4)
DOTSR(1) DOTSR(2) DOTSR(3) DOTSR(4)
#undef DOTSR
#undef DOTS
#define ROW(r) {dots##r##1, dots##r##2, dots##r##3, dots##r##4}
static dots_fn *const dots_fns[4][4] = {ROW(1), ROW(2), ROW(3), ROW(4)};
#undef ROW

static AVX512 void gemm_nt(int m, int n, int k, const float *a, int lda,
                           const float *b, int ldb, float *c, int ldc) {
  float bt[NERVE_NT_BUF];
  if (nerve_nt_short(n, k, b, ldb, bt)) {
    gemm_nn(m, n, k, a, lda, bt, n, c, ldc, NULL);
    return;
  }
  size_t la = (size_t)lda, lb = (size_t)ldb, lc = (size_t)ldc;
  for (int i = 0; i < m; i += 4) {
    int mr = m - i < 4 ? m - i : 4;
    const float *ai = a + i * la;
    float *ci = c + i * lc;
    for (int j = 0; j < n; j += 4) {
      int nr = n - j < 4 ? n - j : 4;
      dots_fns[mr - 1][nr - 1](k, ai, la, b + j * lb, lb, ci + j, lc);
    }
  }
  NERVE_ZEROUPPER();
}

/* Adds the rows in order, as the reference does: the same sums. Columns
** go 64 at a time, then 16 at a time with the last masked. */
static AVX512 void colsum(int m, int n, const float *a, int lda, float *out) {
  size_t la = (size_t)lda;
  int j = 0;
  for (; j + 64 <= n; j += 64) {
    __m512 s0 = _mm512_loadu_ps(out + j), s1 = _mm512_loadu_ps(out + j + 16),
           s2 = _mm512_loadu_ps(out + j + 32),
           s3 = _mm512_loadu_ps(out + j + 48);
    for (int i = 0; i < m; i++) {
      const float *ai = a + i * la + j;
      s0 = _mm512_add_ps(s0, _mm512_loadu_ps(ai));
      s1 = _mm512_add_ps(s1, _mm512_loadu_ps(ai + 16));
      s2 = _mm512_add_ps(s2, _mm512_loadu_ps(ai + 32));
      s3 = _mm512_add_ps(s3, _mm512_loadu_ps(ai + 48));
    }
    _mm512_storeu_ps(out + j, s0);
    _mm512_storeu_ps(out + j + 16, s1);
    _mm512_storeu_ps(out + j + 32, s2);
    _mm512_storeu_ps(out + j + 48, s3);
  }
  for (; j < n; j += 16) {
    __mmask16 mk = tail(n - j);
    __m512 s = _mm512_maskz_loadu_ps(mk, out + j);
    for (int i = 0; i < m; i++)
      s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(mk, a + i * la + j));
    _mm512_mask_storeu_ps(out + j, mk, s);
  }
}

void nerve_gemm_avx512(nerve_kernels *k) {
  k->gemm_nn = gemm_nn;
  k->gemm_nt = gemm_nt;
  k->gemm_tn = gemm_tn;
  k->gemm_tn_set = gemm_tn_set;
  k->colsum = colsum;
}

#else

void nerve_gemm_avx512(nerve_kernels *k) { (void)k; }

#endif
