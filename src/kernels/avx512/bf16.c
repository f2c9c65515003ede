/*
** avx512/bf16.c - bf16 jobs on AVX512-BF16: the packed GEMM's pair
** micro-kernels (vdpbf16ps) and their packing (kernels.h's ukr2, pack2_a,
** pack2_b).
**
** The tile is float32's, 12 rows by 32 columns (avx512/packed.c), built
** from the same template (ukr.h): each step takes a pair of depths, a
** 32-bit word of A broadcast and a row of 32 words of B, so one
** instruction does the work of two fused multiply-adds per element, at
** the same issue rate. Packing rounds to bf16 as nerve_bf16 does (in
** integer arithmetic: vcvtne2ps2bf16 would flush denormals) and
** interleaves two depths into each word.
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

/* x rounded to bf16 as nerve_bf16 does, lane by lane: the bf16 in the
** high half of each word (the low half is left over). */
static inline __attribute__((always_inline)) TARGET __m512i
rounded(__m512 x) {
  const __m512i one = _mm512_set1_epi32(1);
  __m512i u = _mm512_castps_si512(x);
  __m512i r = _mm512_add_epi32(
      u, _mm512_add_epi32(_mm512_set1_epi32(0x7fff),
                          _mm512_and_si512(_mm512_srli_epi32(u, 16), one)));
  __mmask16 nan = _mm512_cmpgt_epu32_mask(
      _mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)),
      _mm512_set1_epi32(0x7f800000));
  return _mm512_mask_or_epi32(r, nan, u, _mm512_set1_epi32(0x00400000));
}

/* Words of pairs whose two depths are two lines of memory, lane by lane:
** word u = (lo[u], hi[u]). */
static inline __attribute__((always_inline)) TARGET __m512i
across(__m512 lo, __m512 hi) {
  return _mm512_mask_blend_epi16(0xaaaaaaaau,
                                 _mm512_srli_epi32(rounded(lo), 16),
                                 rounded(hi));
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

/* Pairs of depth along lines: depth value p of line u is x[u ld + p]. A
** line's 16 pairs at a time become 16 words (the high halves of 32
** rounded values), kept in a block of lines x 16 words whose columns are
** then gathered into steps. Written as pack_across. */
static TARGET void pack_along(const float *x, size_t ld, int n, int h,
                              int w, int wz, uint32_t *d) {
  _Alignas(64) uint32_t blk[32 * 16];
  __m512i odd = _mm512_set_epi16(63, 61, 59, 57, 55, 53, 51, 49, 47, 45,
                                 43, 41, 39, 37, 35, 33, 31, 29, 27, 25,
                                 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
  __m512i col = _mm512_set_epi32(240, 224, 208, 192, 176, 160, 144, 128,
                                 112, 96, 80, 64, 48, 32, 16, 0);
  __mmask16 s0 = lanes(wz, 0), s1 = lanes(wz, 1);
  for (int p0 = 0; p0 < n; p0 += 32) {
    __mmask16 v0 = lanes(n - p0, 0), v1 = lanes(n - p0, 1);
    for (int u = 0; u < (wz > 16 ? 32 : 16); u++) {
      __m512i words = _mm512_setzero_si512();
      if (u < h) {
        const float *xu = x + (size_t)u * ld + p0;
        words = _mm512_permutex2var_epi16(
            rounded(_mm512_maskz_loadu_ps(v0, xu)), odd,
            rounded(_mm512_maskz_loadu_ps(v1, xu + 16)));
      }
      _mm512_store_si512(blk + 16 * u, words);
    }
    int steps = (n - p0 + 1) / 2 < 16 ? (n - p0 + 1) / 2 : 16;
    for (int s = 0; s < steps; s++, d += w) {
      __m512i idx = _mm512_add_epi32(col, _mm512_set1_epi32(s));
      _mm512_mask_storeu_epi32(
          d, s0, _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), s0, idx,
                                             blk, 4));
      if (s1)
        _mm512_mask_storeu_epi32(
            d + 16, s1,
            _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), s1, idx,
                                        blk + 256, 4));
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
