/*
** avx512/act_more.c - elu, softplus, gelu and their error terms with
** AVX-512F (the appended slots of kernels.h). Tails are masked: nothing
** past n is touched. The approximations are described in act_more.h.
**
** Accuracy (vs libm in double, measured by spec/c/test_kernels.c over a
** grid on [-100, 100], magnitudes 1e-38..1e4 and the special values):
**   elu:      relative error <= 5e-7 (x <= 0; x > 0 is exact)
**   softplus: relative error <= 5e-7 where the result is normal
**   gelu:     relative error <= 1e-6 + 1.2e-7 x^2 for x < 0 (the x^2 term
**             is float's conditioning: x / sqrt 2 rounds), 1e-6 for x >= 0
** Infinities saturate (elu(-inf) = -alpha, softplus(-inf) = 0,
** gelu(-inf) = 0, +inf stays +inf); NaN in gives NaN out.
*/
#include "kernels/act_more.h"
#include "kernels/simd.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx2,fma")))
#define INL                                                             \
  static inline __attribute__((always_inline, target("avx512f,avx2,fma")))

INL __mmask16 tail(size_t r) {
  return (__mmask16)(r >= 16 ? 0xffffu : (1u << r) - 1);
}

INL __m512 set1(float v) { return _mm512_set1_ps(v); }

/* e^x as avx512/act.c computes it (simd.h describes it) */
INL __m512 vexp(__m512 x) {
  x = _mm512_max_ps(set1(MEXP_LO), x);
  x = _mm512_min_ps(set1(MEXP_HI), x);
  __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, set1(VEXP_LOG2E)),
                                  _MM_FROUND_TO_NEAREST_INT |
                                      _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, set1(VEXP_LN2_HI), x);
  r = _mm512_fnmadd_ps(n, set1(VEXP_LN2_LO), r);
  __m512 p = _mm512_fmadd_ps(set1(VEXP_C6), r, set1(VEXP_C5));
  p = _mm512_fmadd_ps(p, r, set1(VEXP_C4));
  p = _mm512_fmadd_ps(p, r, set1(VEXP_C3));
  p = _mm512_fmadd_ps(p, r, set1(VEXP_C2));
  p = _mm512_fmadd_ps(p, r, set1(1.0f));
  p = _mm512_fmadd_ps(p, r, set1(1.0f));
  return _mm512_scalef_ps(p, n);
}

/* e^x - 1 for x <= 0 */
INL __m512 vexpm1_neg(__m512 x) {
  __m512 q = _mm512_fmadd_ps(set1(1.0f / 5040), x, set1(1.0f / 720));
  q = _mm512_fmadd_ps(q, x, set1(1.0f / 120));
  q = _mm512_fmadd_ps(q, x, set1(1.0f / 24));
  q = _mm512_fmadd_ps(q, x, set1(1.0f / 6));
  q = _mm512_fmadd_ps(q, x, set1(0.5f));
  __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(x, x), q, x);
  __m512 big = _mm512_sub_ps(vexp(x), set1(1.0f));
  __mmask16 sm = _mm512_cmp_ps_mask(x, set1(-VEXPM1_CUT), _CMP_GT_OQ);
  return _mm512_mask_blend_ps(sm, big, small);
}

/* log(1 + t) for 0 <= t <= 1 */
INL __m512 vlog1p01(__m512 t) {
  __m512 s = _mm512_div_ps(t, _mm512_add_ps(t, set1(2.0f)));
  __m512 s2 = _mm512_mul_ps(s, s);
  __m512 q = _mm512_fmadd_ps(set1(1.0f / 15), s2, set1(1.0f / 13));
  q = _mm512_fmadd_ps(q, s2, set1(1.0f / 11));
  q = _mm512_fmadd_ps(q, s2, set1(1.0f / 9));
  q = _mm512_fmadd_ps(q, s2, set1(1.0f / 7));
  q = _mm512_fmadd_ps(q, s2, set1(1.0f / 5));
  q = _mm512_fmadd_ps(q, s2, set1(1.0f / 3));
  q = _mm512_fmadd_ps(q, s2, set1(1.0f));
  return _mm512_mul_ps(_mm512_add_ps(s, s), q);
}

/* x >= 0: 1 / (1 + e^-x); x < 0: e^x / (1 + e^x) */
INL __m512 vsigmoid(__m512 x) {
  __m512 one = set1(1.0f);
  __m512 t = vexp(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_abs_ps(x)));
  __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
  __m512 num = _mm512_mask_blend_ps(neg, one, t);
  return _mm512_div_ps(num, _mm512_add_ps(one, t));
}

/* erfc(|x| / sqrt 2) and, in *g, e^(-x^2 / 2) */
INL __m512 verfc_half(__m512 x, __m512 *g) {
  __m512 ax = _mm512_abs_ps(x);
  __m512 z = _mm512_mul_ps(ax, set1(VSQRT1_2));
  __m512 t = _mm512_div_ps(set1(1.0f),
                           _mm512_fmadd_ps(z, set1(0.5f), set1(1.0f)));
  __m512 p = _mm512_fmadd_ps(set1(VERFC_P11), t, set1(VERFC_P10));
  p = _mm512_fmadd_ps(p, t, set1(VERFC_P9));
  p = _mm512_fmadd_ps(p, t, set1(VERFC_P8));
  p = _mm512_fmadd_ps(p, t, set1(VERFC_P7));
  p = _mm512_fmadd_ps(p, t, set1(VERFC_P6));
  p = _mm512_fmadd_ps(p, t, set1(VERFC_P5));
  p = _mm512_fmadd_ps(p, t, set1(VERFC_P4));
  p = _mm512_fmadd_ps(p, t, set1(VERFC_P3));
  p = _mm512_fmadd_ps(p, t, set1(VERFC_P2));
  p = _mm512_fmadd_ps(p, t, set1(VERFC_P1));
  p = _mm512_fmadd_ps(p, t, set1(VERFC_P0));
  __m512 hx2 = _mm512_mul_ps(_mm512_mul_ps(ax, ax), set1(-0.5f)); /* -z^2 */
  if (g) *g = vexp(hx2);
  return _mm512_mul_ps(t, vexp(_mm512_add_ps(hx2, p)));
}

/* Phi(x) = erfc(-x / sqrt 2) / 2 */
INL __m512 vphi_cdf(__m512 x, __m512 *g) {
  __m512 e = _mm512_mul_ps(verfc_half(x, g), set1(0.5f));
  __mmask16 pos = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GT_OQ);
  return _mm512_mask_sub_ps(e, pos, set1(1.0f), e);
}

#define LOOP1(n, EXPR)                                                  \
  do {                                                                  \
    size_t i_ = 0;                                                      \
    for (; i_ + 16 <= (n); i_ += 16) {                                  \
      __m512 x_ = _mm512_loadu_ps(x + i_);                              \
      _mm512_storeu_ps(y + i_, EXPR);                                   \
    }                                                                   \
    if (i_ < (n)) {                                                     \
      __mmask16 m_ = tail((n) - i_);                                    \
      __m512 x_ = _mm512_maskz_loadu_ps(m_, x + i_);                    \
      _mm512_mask_storeu_ps(y + i_, m_, EXPR);                          \
    }                                                                   \
  } while (0)

/* a_, y_ (from Y; a when the kernel needs no y) and dy_ in, dx out */
#define LOOP2(n, Y, EXPR)                                               \
  do {                                                                  \
    size_t i_ = 0;                                                      \
    for (; i_ + 16 <= (n); i_ += 16) {                                  \
      __m512 a_ = _mm512_loadu_ps(a + i_), dy_ = _mm512_loadu_ps(dy + i_);\
      __m512 y_ = _mm512_loadu_ps((Y) + i_);                            \
      (void)y_;                                                         \
      _mm512_storeu_ps(dx + i_, EXPR);                                  \
    }                                                                   \
    if (i_ < (n)) {                                                     \
      __mmask16 m_ = tail((n) - i_);                                    \
      __m512 a_ = _mm512_maskz_loadu_ps(m_, a + i_);                    \
      __m512 dy_ = _mm512_maskz_loadu_ps(m_, dy + i_);                  \
      __m512 y_ = _mm512_maskz_loadu_ps(m_, (Y) + i_);                  \
      (void)y_;                                                         \
      _mm512_mask_storeu_ps(dx + i_, m_, EXPR);                         \
    }                                                                   \
  } while (0)

INL __m512 velu(__m512 x, __m512 va) {
  __mmask16 pos = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GT_OQ);
  return _mm512_mask_blend_ps(pos, _mm512_mul_ps(va, vexpm1_neg(x)), x);
}

static AVX512 void elu(size_t n, const float *x, float *y, float alpha) {
  __m512 va = set1(alpha);
  LOOP1(n, velu(x_, va));
}

/* max(x, 0) + log1p(e^-|x|); max(NaN, 0) is 0 but the log term is NaN */
INL __m512 vsoftplus(__m512 x) {
  __m512 t = vexp(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_abs_ps(x)));
  return _mm512_add_ps(_mm512_max_ps(x, _mm512_setzero_ps()), vlog1p01(t));
}

static AVX512 void softplus(size_t n, const float *x, float *y) {
  LOOP1(n, vsoftplus(x_));
}

/* x Phi(x); -0 below -15, where it underflows (and -inf * 0 is NaN) */
INL __m512 vgelu(__m512 x) {
  __mmask16 lo = _mm512_cmp_ps_mask(x, set1(-15.0f), _CMP_LT_OQ);
  return _mm512_mask_mov_ps(_mm512_mul_ps(x, vphi_cdf(x, NULL)), lo,
                            set1(-0.0f));
}

static AVX512 void gelu(size_t n, const float *x, float *y) {
  LOOP1(n, vgelu(x_));
}

INL __m512 velu_bwd(__m512 a, __m512 y, __m512 dy, __m512 va) {
  __mmask16 pos = _mm512_cmp_ps_mask(a, _mm512_setzero_ps(), _CMP_GT_OQ);
  return _mm512_mask_blend_ps(pos, _mm512_mul_ps(dy, _mm512_add_ps(y, va)),
                              dy);
}

static AVX512 void elu_bwd(size_t n, const float *a, const float *y,
                           const float *dy, float *dx, float alpha) {
  __m512 va = set1(alpha);
  LOOP2(n, y, velu_bwd(a_, y_, dy_, va));
}

static AVX512 void softplus_bwd(size_t n, const float *a, const float *dy,
                                float *dx) {
  LOOP2(n, a, _mm512_mul_ps(dy_, vsigmoid(a_)));
}

/* Phi(a) + a phi(a); 0 below -15; a clamped at 15 in the product, where
** phi is 0 anyway (no inf * 0) */
INL __m512 vgelu_d(__m512 a) {
  __m512 g, cdf = vphi_cdf(a, &g);
  __mmask16 lo = _mm512_cmp_ps_mask(a, set1(-15.0f), _CMP_LT_OQ);
  __m512 ac = _mm512_min_ps(a, set1(15.0f));
  return _mm512_mask_mov_ps(
      _mm512_fmadd_ps(_mm512_mul_ps(ac, set1(VINV_SQRT2PI)), g, cdf), lo,
      _mm512_setzero_ps());
}

static AVX512 void gelu_bwd(size_t n, const float *a, const float *dy,
                            float *dx) {
  LOOP2(n, a, _mm512_mul_ps(dy_, vgelu_d(a_)));
}

void nerve_act_more_avx512(nerve_kernels *k) {
  k->elu = elu;
  k->softplus = softplus;
  k->gelu = gelu;
  k->elu_bwd = elu_bwd;
  k->softplus_bwd = softplus_bwd;
  k->gelu_bwd = gelu_bwd;
}

#else

void nerve_act_more_avx512(nerve_kernels *k) { (void)k; }

#endif
