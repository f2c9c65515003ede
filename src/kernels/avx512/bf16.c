/*
** avx512/bf16.c - bf16 jobs on AVX512-BF16: the packed GEMM's pair
** micro-kernels (vdpbf16ps) and their packing (kernels.h's ukr2, pack2_a,
** pack2_b).
**
** The tile is float32's, 12 rows by 32 columns (avx512/packed.c), built
** from the same template (ukr.h): each step takes a pair of depths, a
** 32-bit word of A broadcast and a row of 32 words of B, so one
** instruction does the work of two fused multiply-adds per element, at
** the same issue rate. Packing rounds with vcvtne2ps2bf16 (as the pair
** packing of kernels.h: nerve_bf16 with denormals flushed, which
** vdpbf16ps would flush anyway) and interleaves two depths into each
** word.
*/
#include <string.h>

#include "kernels/gemm.h"
#include "kernels/sets.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define TARGET __attribute__((target("avx512f,avx512bw,avx512bf16,avx2,fma")))

/* The broadcast pair: one word of packed A in every lane. */
static inline __attribute__((always_inline)) TARGET __m512
bcast_pair(const float *p) {
  int w;
  memcpy(&w, p, sizeof w);
  return _mm512_castsi512_ps(_mm512_set1_epi32(w));
}

/* c + a0 b0 + a1 b1 in every lane, the pairs of a and b as words. */
static inline __attribute__((always_inline)) TARGET __m512
dot_pair(__m512 a, __m512 b, __m512 c) {
  return _mm512_dpbf16_ps(c, (__m512bh)a, (__m512bh)b);
}

#define UKR_MR 12
#define UKR_VW 16
#define UKR_V __m512
#define UKR_ZERO() _mm512_setzero_ps()
#define UKR_LOAD(p) _mm512_load_ps(p)
#define UKR_LOADU(p) _mm512_loadu_ps(p)
#define UKR_STOREU(p, v) _mm512_storeu_ps(p, v)
#define UKR_BCAST(p) bcast_pair(p)
#define UKR_FMA(a, b, c) dot_pair(a, b, c)
#define UKR_ATTR TARGET
#define UKR_ZEROUPPER() _mm256_zeroupper()
#include "kernels/ukr.h"

/* ------------------------------------------------------------ packing */

/* Words of pairs whose two depths are two lines of memory, lane by lane:
** word u = (lo[u], hi[u]), each rounded by vcvtne2ps2bf16. */
static inline __attribute__((always_inline)) TARGET __m512i
across(__m512 lo, __m512 hi) {
  const __m512i zip = _mm512_set_epi16(
      31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22,
      6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  return _mm512_permutexvar_epi16(zip, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
}

/* The first n (0 .. 32) lanes of two vectors. */
static __mmask16 lanes(int n, int half) {
  n -= 16 * half;
  return n >= 16 ? 0xffff : n <= 0 ? 0 : (__mmask16)((1u << n) - 1);
}

/* Pairs of depth across lines: depth value p of line u is x[p ld + u]
** (n values, h <= 32 lines); step s's words go to d + s w, h of them
** written, then zeros up to wz. */
static TARGET void pack_across(const float *x, size_t ld, int n, int h,
                               int w, int wz, uint32_t *d) {
  __mmask16 m0 = lanes(h, 0), m1 = lanes(h, 1);
  __mmask16 s0 = lanes(wz, 0), s1 = lanes(wz, 1);
  __m512 z = _mm512_setzero_ps();
  for (int p = 0; p < n; p += 2, d += w) {
    const float *x0 = x + (size_t)p * ld, *x1 = x0 + ld;
    int odd = p + 1 == n;
    __m512 a0 = _mm512_maskz_loadu_ps(m0, x0);
    __m512 a1 = _mm512_maskz_loadu_ps(m1, x0 + 16);
    __m512 b0 = odd ? z : _mm512_maskz_loadu_ps(m0, x1);
    __m512 b1 = odd ? z : _mm512_maskz_loadu_ps(m1, x1 + 16);
    _mm512_mask_storeu_epi32(d, s0, across(a0, b0));
    if (s1) _mm512_mask_storeu_epi32(d + 16, s1, across(a1, b1));
  }
}

/* m[j][i] for m[i][j], 16 x 16 words: words, then pairs of them, then
** 128-bit lanes exchanged (64 shuffles for 256 words). */
static inline __attribute__((always_inline)) TARGET void
transpose16(__m512i m[16]) {
  __m512i t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_epi32(m[i], m[i + 1]);
    t[i + 1] = _mm512_unpackhi_epi32(m[i], m[i + 1]);
  }
  /* lane L of m[4g + c]: column 4L + c, rows 4g .. 4g + 3 */
  for (int g = 0; g < 16; g += 4) {
    m[g] = _mm512_unpacklo_epi64(t[g], t[g + 2]);
    m[g + 1] = _mm512_unpackhi_epi64(t[g], t[g + 2]);
    m[g + 2] = _mm512_unpacklo_epi64(t[g + 1], t[g + 3]);
    m[g + 3] = _mm512_unpackhi_epi64(t[g + 1], t[g + 3]);
  }
  for (int c = 0; c < 4; c++) {
    __m512i x0 = _mm512_shuffle_i32x4(m[c], m[4 + c], 0x44);
    __m512i x1 = _mm512_shuffle_i32x4(m[c], m[4 + c], 0xee);
    __m512i y0 = _mm512_shuffle_i32x4(m[8 + c], m[12 + c], 0x44);
    __m512i y1 = _mm512_shuffle_i32x4(m[8 + c], m[12 + c], 0xee);
    t[c] = _mm512_shuffle_i32x4(x0, y0, 0x88);
    t[4 + c] = _mm512_shuffle_i32x4(x0, y0, 0xdd);
    t[8 + c] = _mm512_shuffle_i32x4(x1, y1, 0x88);
    t[12 + c] = _mm512_shuffle_i32x4(x1, y1, 0xdd);
  }
  for (int i = 0; i < 16; i++) m[i] = t[i];
}

/* Pairs of depth along lines: depth value p of line u is x[u ld + p].
** Each line's next 256 values are read in one go (the lines are far
** apart: read a vector at a time, line after line, they miss the cache)
** and become 128 words of a block of lines; 16 lines of 16 words of it,
** transposed, are 16 steps of 16 words. Written as pack_across. */
static TARGET void pack_along(const float *x, size_t ld, int n, int h,
                              int w, int wz, uint32_t *d) {
  enum { SPAN = 256 };
  _Alignas(64) uint32_t blk[32][SPAN / 2];
  int lines = wz > 16 ? 32 : 16;
  for (int p0 = 0; p0 < n; p0 += SPAN) {
    int vals = n - p0 < SPAN ? n - p0 : SPAN, q = (vals + 1) / 2;
    for (int u = 0; u < lines; u++) {
      const float *xu = x + (size_t)u * ld + p0;
      for (int v = 0; v < vals; v += 32) {
        /* two lines ahead: the hardware does not follow the jumps */
        if (u + 2 < h) {
          _mm_prefetch((const char *)(xu + 2 * ld + v), _MM_HINT_T0);
          _mm_prefetch((const char *)(xu + 2 * ld + v + 16), _MM_HINT_T0);
        }
        __m512i words = _mm512_setzero_si512();
        if (u < h)
          words = (__m512i)_mm512_cvtne2ps_pbh(
              _mm512_maskz_loadu_ps(lanes(vals - v, 1), xu + v + 16),
              _mm512_maskz_loadu_ps(lanes(vals - v, 0), xu + v));
        _mm512_store_si512(blk[u] + v / 2, words);
      }
    }
    for (int s0 = 0; s0 < q; s0 += 16, d += 16 * (size_t)w) {
      int steps = q - s0 < 16 ? q - s0 : 16;
      for (int u0 = 0; u0 < wz; u0 += 16) {
        __mmask16 store = lanes(wz, u0 / 16);
        __m512i m[16];
        for (int i = 0; i < 16; i++)
          m[i] = _mm512_load_si512(blk[u0 + i] + s0);
        transpose16(m);
        for (int s = 0; s < steps; s++)
          _mm512_mask_storeu_epi32(d + (size_t)s * w + u0, store, m[s]);
      }
    }
  }
}

/* A's panels (kernels.h's pack2_a): rows of A are the lines. */
TARGET void nerve_pack2_a_avx512(int rows, int cols, const float *x,
                                 size_t rs, size_t cs, float *dst, int w,
                                 float scale, int bf16) {
  if (w > 32 || (rs != 1 && cs != 1)) {
    nerve_pack2_a_c(rows, cols, x, rs, cs, dst, w, scale, bf16);
    return;
  }
  uint32_t *d = (uint32_t *)dst;
  size_t q = (size_t)(cols + 1) / 2;
  for (int i = 0; i < rows; i += w, d += q * w) {
    int h = rows - i < w ? rows - i : w;
    const float *xi = x + (size_t)i * rs;
    if (rs == 1) pack_across(xi, cs, cols, h, w, h, d);
    else pack_along(xi, rs, cols, h, w, h, d);
  }
  _mm256_zeroupper();
}

/* B's panels (pack2_b): columns of op(B) are the lines, zero-padded. */
TARGET void nerve_pack2_b_avx512(int rows, int cols, const float *x,
                                 size_t rs, size_t cs, float *dst, int w,
                                 float scale, int bf16) {
  if (w > 32 || (rs != 1 && cs != 1)) {
    nerve_pack2_b_c(rows, cols, x, rs, cs, dst, w, scale, bf16);
    return;
  }
  uint32_t *d = (uint32_t *)dst;
  size_t q = (size_t)(rows + 1) / 2;
  for (int j = 0; j < cols; j += w, d += q * w) {
    int h = cols - j < w ? cols - j : w;
    const float *xj = x + (size_t)j * cs;
    if (cs == 1) pack_across(xj, rs, rows, h, w, w, d);
    else pack_along(xj, cs, rows, h, w, w, d);
  }
  _mm256_zeroupper();
}

void nerve_bf16_avx512(nerve_kernels *k) {
  static nerve_ukr *const fns[] = UKR_TABLE;
  k->bf16 = "avx512_bf16";
  for (int r = 0; r < UKR_MR; r++) k->ukr2[r] = fns[r];
  k->pack2_a = nerve_pack2_a_avx512;
  k->pack2_b = nerve_pack2_b_avx512;
}

#else

void nerve_bf16_avx512(nerve_kernels *k) { (void)k; }

#endif
