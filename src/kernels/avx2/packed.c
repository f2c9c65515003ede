/*
** avx2/packed.c - the packed GEMM's micro-kernels with AVX2 + FMA (the
** driver is gemm.c, the kernel ukr.h).
**
** A tile of 6 rows by 16 columns of C lives in 12 of the 16 registers:
** two fused multiply-add ports of 4 cycles' latency need 8 independent
** sums, and 6 broadcasts with 2 loads per 12 FMAs leave the load ports
** room. Panels are packed and aligned, so nothing is masked.
*/
#include "kernels/gemm.h"
#include "kernels/sets.h"
#include "kernels/simd.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define UKR_MR 6
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

#define AVX2 __attribute__((target("avx2,fma")))
#define INL static inline __attribute__((always_inline, target("avx2,fma")))

/* Transposes the 8 x 8 block r[0..7] in place: r[q][c] becomes the old
** r[c][q]. */
INL void transpose8(__m256 *r) {
  __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xee);
  __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xee);
  __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xee);
  __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xee);
  r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

/* What packing does to each value: bf16 rounding (nerve_bf16's, lane by
** lane), then the scale. */
typedef struct xform {
  __m256 s;
  float scale;
  int bf16;
} xform;

INL xform xform_of(float scale, int bf16) {
  xform t = {_mm256_set1_ps(scale), scale, bf16};
  return t;
}

INL __m256 bf16v(__m256 v) {
  __m256i u = _mm256_castps_si256(v);
  __m256i mag = _mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff));
  __m256i nan = _mm256_cmpgt_epi32(mag, _mm256_set1_epi32(0x7f800000));
  __m256i odd = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
  __m256i r = _mm256_add_epi32(u, _mm256_add_epi32(odd, _mm256_set1_epi32(0x7fff)));
  r = _mm256_blendv_epi8(r, _mm256_or_si256(u, _mm256_set1_epi32(0x00400000)),
                         nan);
  return _mm256_castsi256_ps(
      _mm256_and_si256(r, _mm256_set1_epi32((int)0xffff0000u)));
}

INL __m256 apply(const xform *t, __m256 v) {
  return _mm256_mul_ps(t->s, t->bf16 ? bf16v(v) : v);
}

static inline float apply1(const xform *t, float x) {
  return t->scale * (t->bf16 ? nerve_bf16(x) : x);
}

/* Every panel where a row of op(B) is contiguous (forward: B = W), row by
** row so that each row of B is read once, start to end (panel by panel,
** W's rows would be read a cache line at a time, a row apart): whole
** vectors, the last panel's tail masked, then zeros. */
INL void panels_rows(int rows, int cols, int w, const float *x, size_t rs,
                     float *dst, const xform *t) {
  size_t pstride = (size_t)rows * w; /* one panel */
  __m256i tail = nerve_mask8((size_t)(cols % 8));
  for (int p = 0; p < rows; p++) {
    const float *xp = x + (size_t)p * rs;
    float *d = dst + (size_t)p * w;
    for (int j = 0; j < cols; j += w, d += pstride)
      for (int u = 0; u < w; u += 8) {
        int left = cols - j - u;
        __m256 v = left >= 8  ? _mm256_loadu_ps(xp + j + u)
                   : left > 0 ? _mm256_maskload_ps(xp + j + u, tail)
                              : _mm256_setzero_ps();
        _mm256_store_ps(d + u, apply(t, v));
      }
  }
}

/* One panel where a column of op(B) is contiguous (input gradient: B =
** W^T, a column is a row of W): 8 columns by 8 rows at a time,
** transposed in registers; missing columns are zeros. */
INL void panel_cols(int rows, int h, int w, const float *x, size_t cs,
                    float *dst, const xform *t) {
  for (int u = 0; u < w; u += 8) {
    int hc = h - u < 0 ? 0 : h - u < 8 ? h - u : 8;
    const float *xu = x + (size_t)u * cs;
    int p = 0;
    for (; p + 8 <= rows; p += 8) {
      __m256 r[8];
      for (int c = 0; c < 8; c++)
        r[c] = c < hc ? _mm256_loadu_ps(xu + (size_t)c * cs + p)
                      : _mm256_setzero_ps();
      transpose8(r);
      for (int q = 0; q < 8; q++)
        _mm256_store_ps(dst + (size_t)(p + q) * w + u, apply(t, r[q]));
    }
    for (; p < rows; p++)
      for (int c = 0; c < 8; c++)
        dst[(size_t)p * w + u + c] =
            c < hc ? apply1(t, xu[(size_t)c * cs + p]) : 0.0f;
  }
}

/* nerve_pack_b_c's layout, with vectors where op(B)'s rows or columns are
** contiguous (every shape of training). */
static AVX2 void pack_b(int rows, int cols, const float *x, size_t rs,
                        size_t cs, float *dst, int w, float scale, int bf16) {
  if (w % 8 || (cs != 1 && rs != 1)) {
    nerve_pack_b_c(rows, cols, x, rs, cs, dst, w, scale, bf16);
    return;
  }
  xform t = xform_of(scale, bf16);
  if (cs == 1) {
    panels_rows(rows, cols, w, x, rs, dst, &t);
    return;
  }
  for (int j = 0; j < cols; j += w, dst += (size_t)rows * w) {
    int h = cols - j < w ? cols - j : w;
    panel_cols(rows, h, w, x + (size_t)j * cs, cs, dst, &t);
  }
}

/* One panel of h <= w rows of op(A) where a row is contiguous (forward
** and input gradient: A = X or D): 8 rows by 8 steps of p at a time,
** transposed in registers; rows past h are neither read nor written. */
INL void panel_a_rows(int h, int cols, int w, const float *x, size_t rs,
                      float *dst, const xform *t) {
  for (int g = 0; g < h; g += 8) {
    int hr = h - g < 8 ? h - g : 8; /* rows of this group */
    const float *xg = x + (size_t)g * rs;
    int p = 0;
    for (; p + 8 <= cols; p += 8) {
      __m256 r[8];
      for (int c = 0; c < 8; c++)
        r[c] = c < hr ? _mm256_loadu_ps(xg + (size_t)c * rs + p)
                      : _mm256_setzero_ps();
      transpose8(r);
      for (int q = 0; q < 8; q++) {
        __m256 v = apply(t, r[q]);
        float *d = dst + (size_t)(p + q) * w + g;
        if (hr == 8) _mm256_storeu_ps(d, v);
        else nerve_store8(d, v, (size_t)hr);
      }
    }
    for (; p < cols; p++)
      for (int c = 0; c < hr; c++)
        dst[(size_t)p * w + g + c] = apply1(t, xg[(size_t)c * rs + p]);
  }
}

/* Every panel where a column of op(A) is contiguous (weight gradient: A =
** X^T): h floats per panel and step, copied, 8 steps of p at a time
** across all panels, so that each row of X is read start to end and each
** panel written 8 steps long. Step by step, a panel's cache line is
** filled over several steps (mr floats each) while the other panels'
** stores, kc mr floats apart (a multiple of 4 KB at kc 256 or 512), fall
** in its L1 set and evict it first (AVX-512 on Zen 4, 1024 x 1024 x
** 256: packing A 5.8% of the time step by step, 2.8% so). */
INL void panels_a_cols(int rows, int cols, int w, const float *x, size_t cs,
                       float *dst, const xform *t) {
  size_t pstride = (size_t)cols * w; /* one panel */
  for (int p0 = 0; p0 < cols; p0 += 8) {
    int p1 = cols - p0 < 8 ? cols : p0 + 8;
    for (int i = 0; i < rows; i += w) {
      int h = rows - i < w ? rows - i : w;
      for (int p = p0; p < p1; p++) {
        const float *xp = x + (size_t)p * cs + i;
        float *d = dst + (size_t)(i / w) * pstride + (size_t)p * w;
        int u = 0;
        for (; u + 8 <= h; u += 8)
          _mm256_storeu_ps(d + u, apply(t, _mm256_loadu_ps(xp + u)));
        if (u < h) {
          __m256i m = nerve_mask8((size_t)(h - u));
          nerve_store8(d + u, apply(t, _mm256_maskload_ps(xp + u, m)),
                       (size_t)(h - u));
        }
      }
    }
  }
}

/* nerve_pack_a_c's layout, with vectors where op(A)'s rows or columns are
** contiguous (every shape of training). */
static AVX2 void pack_a(int rows, int cols, const float *x, size_t rs,
                        size_t cs, float *dst, int w, float scale, int bf16) {
  if (cs != 1 && rs != 1) {
    nerve_pack_a_c(rows, cols, x, rs, cs, dst, w, scale, bf16);
    return;
  }
  xform t = xform_of(scale, bf16);
  if (cs != 1) {
    panels_a_cols(rows, cols, w, x, cs, dst, &t);
    return;
  }
  for (int i = 0; i < rows; i += w, dst += (size_t)cols * w) {
    int h = rows - i < w ? rows - i : w;
    panel_a_rows(h, cols, w, x + (size_t)i * rs, rs, dst, &t);
  }
}

/* Where packing pays, measured (every shape of 16 to 1024 rows by 10 to
** 2048 columns, AVX2 on Zen 3, packed against the unpacked slots): it
** pays for B's rows a few cache lines wide and up, which the unpacked
** tiles read a cache line at a time, a row apart, and for enough rows to
** spread the cost of packing B over. An output layer's few columns never
** pay: a panel of nr columns is mostly padding. */
static int pays(int shape, int m, int n, int k) {
  switch (shape) {
  case NERVE_GEMM_NN: return (n >= 512 && m >= 32) || (n >= 256 && m >= 256);
  case NERVE_GEMM_NT: return (n >= 512 && m >= 64) || (n >= 256 && m >= 128);
  case NERVE_GEMM_TN: return (n >= 256 && k >= 32) || (n >= 128 && m >= 1024);
  }
  return 0;
}

void nerve_packed_avx2(nerve_kernels *k) {
  static nerve_ukr *const fns[] = UKR_TABLE;
  k->mr = UKR_MR;
  k->nr = 2 * UKR_VW;
  for (int r = 0; r < UKR_MR; r++) k->ukr[r] = fns[r];
  k->pack_a = pack_a;
  k->pack_b = pack_b;
  k->pays = pays;
}

#else

void nerve_packed_avx2(nerve_kernels *k) { (void)k; }

#endif
