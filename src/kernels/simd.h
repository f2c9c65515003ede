/*
** simd.h - what the SIMD kernel files share: the setters of the activation
** files (called by the GEMM files' nerve_kernels_* setters) and the
** constants of the vectorized exp, tanh, expm1, log1p and erfc.
**
** exp(x) = 2^n e^r with n = round(x log2 e), r = x - n ln2 (ln2 in two
** parts, the first step exact with FMA), |r| <= ln2/2, and e^r a degree-6
** polynomial 1 + r + r^2 Q(r) fitted by Chebyshev (max relative error of
** the fit 8e-9). Measured over every float x in [-87.33, 88.37]: relative
** error <= 8.1e-8. Below VEXP_LO the result is flushed to 0 (absolute
** error < 1.2e-38): computing denormals costs microcode assists on these
** cores, and they would slow whatever reads them next. Above VEXP_HI it is
** e^VEXP_HI; the callers pass x <= 0. -inf gives 0, NaN gives NaN.
**
** tanh(x) for |x| < VTANH_CUT is x + x^3 P(x^2), P of degree 4 (relative
** error of the fit 1.7e-8), so small |x| stays accurate in relative terms;
** above it (1 - e^-2|x|) / (1 + e^-2|x|), where e^-2|x| <= 0.29 keeps the
** cancellation harmless.
**
** expm1(x), x <= 0 (elu): for |x| < VEXPM1_CUT the Taylor polynomial of
** degree 7 (truncation below 2e-8 relative), else e^x - 1 (no
** cancellation: the result is below -0.29).
** log1p(t), 0 <= t <= 1 (softplus's log(1 + e^-|x|)): with s = t / (2 + t)
** <= 1/3, log1p(t) = 2 atanh(s) = 2 s (1 + s^2/3 + ... + s^14/15), the
** series cut where the rest is below 2e-9 relative.
** erfc(z), z >= 0 (gelu): t = 1 / (1 + z/2), erfc(z) = t e^(-z^2 + P(t)),
** P of degree 11 fitted by Chebyshev on [0, 1] to log(erfc(z)/t) + z^2
** (max error of the fit 1.5e-8; 3e-7 with float rounding).
*/
#ifndef NERVE_SIMD_H
#define NERVE_SIMD_H

#include "kernels.h"

void nerve_act_avx2(nerve_kernels *k);
void nerve_act_avx512(nerve_kernels *k);
void nerve_act_neon(nerve_kernels *k);

#define VEXP_LO -87.33f /* e^VEXP_LO is normal: 1.183e-38 */
#define VEXP_HI 88.37f  /* n <= 127 */
#define VEXP_LOG2E 1.44269504089f
#define VEXP_LN2_HI 0.693147182464599609375f /* float(ln 2) */
#define VEXP_LN2_LO -1.904654299957768e-09f  /* ln 2 - VEXP_LN2_HI */
/* Q(r) = C2 + C3 r + C4 r^2 + C5 r^3 + C6 r^4 */
#define VEXP_C2 0.5f
#define VEXP_C3 0.1666657703f
#define VEXP_C4 0.04166655466f
#define VEXP_C5 0.008363173075f
#define VEXP_C6 0.001392617612f

#define VTANH_CUT 0.625f

/* gemm_nt's short-k path (an output layer's few units): when k is at most
** NERVE_NT_SHORT_K and B^T (k x n) fits NERVE_NT_BUF floats, it is copied
** to the caller's bt and the nn kernels run whole vectors along n, where
** the dot products would run mostly masked vectors along k (3x faster on
** 256x128x10). 0 when the shape does not qualify. */
#define NERVE_NT_SHORT_K 16
#define NERVE_NT_BUF 2048 /* 8 KiB of stack */

static inline int nerve_nt_short(int n, int k, const float *b, int ldb,
                                 float *bt) {
  if (k > NERVE_NT_SHORT_K || (size_t)n * k > NERVE_NT_BUF) return 0;
  for (int p = 0; p < k; p++)
    for (int j = 0; j < n; j++) bt[(size_t)p * n + j] = b[(size_t)j * ldb + p];
  return 1;
}
/* P(s) = T0 + T1 s + T2 s^2 + T3 s^3 + T4 s^4 */
#define VTANH_T0 -0.3333332894f
#define VTANH_T1 0.1333276974f
#define VTANH_T2 -0.05385090958f
#define VTANH_T3 0.020997179f
#define VTANH_T4 -0.006096714166f

/* The exp of elu, softplus and gelu clamps x to [MEXP_LO, MEXP_HI], wider
** than [VEXP_LO, VEXP_HI], and flushes nothing: e^-104 rounds to 0 and
** e^88.8 overflows to inf, so softplus and gelu saturate exactly. */
#define MEXP_LO -104.0f
#define MEXP_HI 88.8f
#define VEXPM1_CUT 0.35f

#define VERFC_P0 -1.265512119f
#define VERFC_P1 0.999998553f
#define VERFC_P2 0.3750744848f
#define VERFC_P3 0.08175679195f
#define VERFC_P4 -0.0681377039f
#define VERFC_P5 -0.2640958796f
#define VERFC_P6 0.4228596556f
#define VERFC_P7 -1.386666664f
#define VERFC_P8 2.590129191f
#define VERFC_P9 -2.346272392f
#define VERFC_P10 1.050233522f
#define VERFC_P11 -0.1893674557f

#define VSQRT1_2 0.7071067812f      /* 1 / sqrt 2 */
#define VINV_SQRT2PI 0.3989422804f  /* 1 / sqrt(2 pi) */

#if defined(__x86_64__)
#include <immintrin.h>

#define NERVE_AVX2 __attribute__((always_inline, target("avx2,fma")))

/* Zeroes the upper halves of the vector registers (vzeroupper). Every slot
** whose vector work is in noinline helpers (the GEMM tiles and
** micro-kernels) calls it before it returns: GCC emits it only in
** functions that touch the wide registers themselves, and legacy SSE code
** after dirty upper halves (libm's exp in the loss) ran many times slower
** on Zen 3 (fit with cross-entropy on 784-256-128-10: about 62k to 75k
** samples/s). */
#define NERVE_ZEROUPPER() _mm256_zeroupper()

/* An AVX2 mask with lanes 0 .. r-1 of 8 on (r <= 8). */
static inline NERVE_AVX2 __m256i nerve_mask8(size_t r) {
  static const int bits[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                               0,  0,  0,  0,  0,  0,  0,  0};
  return _mm256_loadu_si256((const __m256i *)(bits + 8 - r));
}

/* Stores lanes 0 .. r-1 of v (r < 8) without vmaskmovps, whose store is
** slow on AMD cores. */
static inline NERVE_AVX2 void nerve_store8(float *p, __m256 v, size_t r) {
  __m128 h = _mm256_castps256_ps128(v);
  if (r & 4) {
    _mm_storeu_ps(p, h);
    h = _mm256_extractf128_ps(v, 1);
    p += 4;
  }
  if (r & 2) {
    _mm_storel_pi((__m64 *)(void *)p, h);
    h = _mm_movehl_ps(h, h);
    p += 2;
  }
  if (r & 1) _mm_store_ss(p, h);
}
#endif

#if defined(__aarch64__)
#include <arm_neon.h>

/* NEON has no masked loads: lanes 0 .. r-1 of 4 from p (r < 4), the rest
** fill, reading nothing past p + r. */
static inline float32x4_t nerve_load4(const float *p, size_t r,
                                      float fill) {
  float32x4_t v = vdupq_n_f32(fill);
  if (r & 2) {
    v = vcombine_f32(vld1_f32(p), vget_high_f32(v));
    if (r & 1) v = vld1q_lane_f32(p + 2, v, 2);
  } else if (r & 1) {
    v = vld1q_lane_f32(p, v, 0);
  }
  return v;
}

/* Stores lanes 0 .. r-1 of v (r < 4). */
static inline void nerve_store4(float *p, float32x4_t v, size_t r) {
  if (r & 2) {
    vst1_f32(p, vget_low_f32(v));
    if (r & 1) vst1q_lane_f32(p + 2, v, 2);
  } else if (r & 1) {
    vst1q_lane_f32(p, v, 0);
  }
}
#endif

#endif
