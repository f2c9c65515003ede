/*
** avx2/act_more.c - elu, softplus, gelu and their error terms with AVX2 +
** FMA (the appended slots of kernels.h); avx512/act_more.c's twin, with
** the same approximations (act_more.h) and bounds. Tails use masked loads
** and stores: nothing past n is read or written.
*/
#include "kernels/act_more.h"
#include "kernels/simd.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
#define INL static inline __attribute__((always_inline, target("avx2,fma")))

INL __m256i tail(size_t r) {
  static const int bits[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                               0,  0,  0,  0,  0,  0,  0,  0};
  return _mm256_loadu_si256((const __m256i *)(bits + 8 - r));
}

INL __m256 set1(float v) { return _mm256_set1_ps(v); }

INL __m256 absv(__m256 x) { return _mm256_andnot_ps(set1(-0.0f), x); }

/* e^x as avx2/act.c computes it (simd.h describes it) */
INL __m256 vexp(__m256 x) {
  x = _mm256_max_ps(set1(MEXP_LO), x);
  x = _mm256_min_ps(set1(MEXP_HI), x);
  __m256 n = _mm256_round_ps(_mm256_mul_ps(x, set1(VEXP_LOG2E)),
                             _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, set1(VEXP_LN2_HI), x);
  r = _mm256_fnmadd_ps(n, set1(VEXP_LN2_LO), r);
  __m256 p = _mm256_fmadd_ps(set1(VEXP_C6), r, set1(VEXP_C5));
  p = _mm256_fmadd_ps(p, r, set1(VEXP_C4));
  p = _mm256_fmadd_ps(p, r, set1(VEXP_C3));
  p = _mm256_fmadd_ps(p, r, set1(VEXP_C2));
  p = _mm256_fmadd_ps(p, r, set1(1.0f));
  p = _mm256_fmadd_ps(p, r, set1(1.0f));
  /* 2^n as 2^(n/2) 2^(n - n/2): both normal for n in [-150, 128] */
  __m256i ni = _mm256_cvtps_epi32(n), bias = _mm256_set1_epi32(127);
  __m256i n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
  __m256 s1 = _mm256_castsi256_ps(
      _mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
  __m256 s2 = _mm256_castsi256_ps(
      _mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
  return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

/* e^x - 1 for x <= 0 */
INL __m256 vexpm1_neg(__m256 x) {
  __m256 q = _mm256_fmadd_ps(set1(1.0f / 5040), x, set1(1.0f / 720));
  q = _mm256_fmadd_ps(q, x, set1(1.0f / 120));
  q = _mm256_fmadd_ps(q, x, set1(1.0f / 24));
  q = _mm256_fmadd_ps(q, x, set1(1.0f / 6));
  q = _mm256_fmadd_ps(q, x, set1(0.5f));
  __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(x, x), q, x);
  __m256 big = _mm256_sub_ps(vexp(x), set1(1.0f));
  return _mm256_blendv_ps(big, small,
                          _mm256_cmp_ps(x, set1(-VEXPM1_CUT), _CMP_GT_OQ));
}

/* log(1 + t) for 0 <= t <= 1 */
INL __m256 vlog1p01(__m256 t) {
  __m256 s = _mm256_div_ps(t, _mm256_add_ps(t, set1(2.0f)));
  __m256 s2 = _mm256_mul_ps(s, s);
  __m256 q = _mm256_fmadd_ps(set1(1.0f / 15), s2, set1(1.0f / 13));
  q = _mm256_fmadd_ps(q, s2, set1(1.0f / 11));
  q = _mm256_fmadd_ps(q, s2, set1(1.0f / 9));
  q = _mm256_fmadd_ps(q, s2, set1(1.0f / 7));
  q = _mm256_fmadd_ps(q, s2, set1(1.0f / 5));
  q = _mm256_fmadd_ps(q, s2, set1(1.0f / 3));
  q = _mm256_fmadd_ps(q, s2, set1(1.0f));
  return _mm256_mul_ps(_mm256_add_ps(s, s), q);
}

INL __m256 vsigmoid(__m256 x) {
  __m256 t = vexp(_mm256_or_ps(x, set1(-0.0f)));
  __m256 num = _mm256_blendv_ps(set1(1.0f), t, x);
  return _mm256_div_ps(num, _mm256_add_ps(set1(1.0f), t));
}

/* erfc(|x| / sqrt 2) and, in *g, e^(-x^2 / 2) */
INL __m256 verfc_half(__m256 x, __m256 *g) {
  __m256 ax = absv(x);
  __m256 z = _mm256_mul_ps(ax, set1(VSQRT1_2));
  __m256 t = _mm256_div_ps(set1(1.0f),
                           _mm256_fmadd_ps(z, set1(0.5f), set1(1.0f)));
  __m256 p = _mm256_fmadd_ps(set1(VERFC_P11), t, set1(VERFC_P10));
  p = _mm256_fmadd_ps(p, t, set1(VERFC_P9));
  p = _mm256_fmadd_ps(p, t, set1(VERFC_P8));
  p = _mm256_fmadd_ps(p, t, set1(VERFC_P7));
  p = _mm256_fmadd_ps(p, t, set1(VERFC_P6));
  p = _mm256_fmadd_ps(p, t, set1(VERFC_P5));
  p = _mm256_fmadd_ps(p, t, set1(VERFC_P4));
  p = _mm256_fmadd_ps(p, t, set1(VERFC_P3));
  p = _mm256_fmadd_ps(p, t, set1(VERFC_P2));
  p = _mm256_fmadd_ps(p, t, set1(VERFC_P1));
  p = _mm256_fmadd_ps(p, t, set1(VERFC_P0));
  __m256 hx2 = _mm256_mul_ps(_mm256_mul_ps(ax, ax), set1(-0.5f));
  if (g) *g = vexp(hx2);
  return _mm256_mul_ps(t, vexp(_mm256_add_ps(hx2, p)));
}

INL __m256 vphi_cdf(__m256 x, __m256 *g) {
  __m256 e = _mm256_mul_ps(verfc_half(x, g), set1(0.5f));
  __m256 pos = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GT_OQ);
  return _mm256_blendv_ps(e, _mm256_sub_ps(set1(1.0f), e), pos);
}

#define LOOP1(n, EXPR)                                                  \
  do {                                                                  \
    size_t i_ = 0;                                                      \
    for (; i_ + 8 <= (n); i_ += 8) {                                    \
      __m256 x_ = _mm256_loadu_ps(x + i_);                              \
      _mm256_storeu_ps(y + i_, EXPR);                                   \
    }                                                                   \
    if (i_ < (n)) {                                                     \
      __m256i m_ = tail((n) - i_);                                      \
      __m256 x_ = _mm256_maskload_ps(x + i_, m_);                       \
      _mm256_maskstore_ps(y + i_, m_, EXPR);                            \
    }                                                                   \
  } while (0)

#define LOOP2(n, Y, EXPR)                                               \
  do {                                                                  \
    size_t i_ = 0;                                                      \
    for (; i_ + 8 <= (n); i_ += 8) {                                    \
      __m256 a_ = _mm256_loadu_ps(a + i_), dy_ = _mm256_loadu_ps(dy + i_);\
      __m256 y_ = _mm256_loadu_ps((Y) + i_);                            \
      (void)y_;                                                         \
      _mm256_storeu_ps(dx + i_, EXPR);                                  \
    }                                                                   \
    if (i_ < (n)) {                                                     \
      __m256i m_ = tail((n) - i_);                                      \
      __m256 a_ = _mm256_maskload_ps(a + i_, m_);                       \
      __m256 dy_ = _mm256_maskload_ps(dy + i_, m_);                     \
      __m256 y_ = _mm256_maskload_ps((Y) + i_, m_);                     \
      (void)y_;                                                         \
      _mm256_maskstore_ps(dx + i_, m_, EXPR);                           \
    }                                                                   \
  } while (0)

INL __m256 velu(__m256 x, __m256 va) {
  __m256 pos = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GT_OQ);
  return _mm256_blendv_ps(_mm256_mul_ps(va, vexpm1_neg(x)), x, pos);
}

static AVX2 void elu(size_t n, const float *x, float *y, float alpha) {
  __m256 va = set1(alpha);
  LOOP1(n, velu(x_, va));
}

INL __m256 vsoftplus(__m256 x) {
  __m256 t = vexp(_mm256_or_ps(x, set1(-0.0f)));
  return _mm256_add_ps(_mm256_max_ps(x, _mm256_setzero_ps()), vlog1p01(t));
}

static AVX2 void softplus(size_t n, const float *x, float *y) {
  LOOP1(n, vsoftplus(x_));
}

INL __m256 vgelu(__m256 x) {
  __m256 lo = _mm256_cmp_ps(x, set1(-15.0f), _CMP_LT_OQ);
  return _mm256_blendv_ps(_mm256_mul_ps(x, vphi_cdf(x, NULL)), set1(-0.0f),
                          lo);
}

static AVX2 void gelu(size_t n, const float *x, float *y) {
  LOOP1(n, vgelu(x_));
}

INL __m256 velu_bwd(__m256 a, __m256 y, __m256 dy, __m256 va) {
  __m256 pos = _mm256_cmp_ps(a, _mm256_setzero_ps(), _CMP_GT_OQ);
  return _mm256_blendv_ps(_mm256_mul_ps(dy, _mm256_add_ps(y, va)), dy, pos);
}

static AVX2 void elu_bwd(size_t n, const float *a, const float *y,
                         const float *dy, float *dx, float alpha) {
  __m256 va = set1(alpha);
  LOOP2(n, y, velu_bwd(a_, y_, dy_, va));
}

static AVX2 void softplus_bwd(size_t n, const float *a, const float *dy,
                              float *dx) {
  LOOP2(n, a, _mm256_mul_ps(dy_, vsigmoid(a_)));
}

INL __m256 vgelu_d(__m256 a) {
  __m256 g, cdf = vphi_cdf(a, &g);
  __m256 lo = _mm256_cmp_ps(a, set1(-15.0f), _CMP_LT_OQ);
  __m256 ac = _mm256_min_ps(a, set1(15.0f)); /* phi is 0 there: no inf*0 */
  return _mm256_blendv_ps(
      _mm256_fmadd_ps(_mm256_mul_ps(ac, set1(VINV_SQRT2PI)), g, cdf),
      _mm256_setzero_ps(), lo);
}

static AVX2 void gelu_bwd(size_t n, const float *a, const float *dy,
                          float *dx) {
  LOOP2(n, a, _mm256_mul_ps(dy_, vgelu_d(a_)));
}

void nerve_act_more_avx2(nerve_kernels *k) {
  k->elu = elu;
  k->softplus = softplus;
  k->gelu = gelu;
  k->elu_bwd = elu_bwd;
  k->softplus_bwd = softplus_bwd;
  k->gelu_bwd = gelu_bwd;
}

#else

void nerve_act_more_avx2(nerve_kernels *k) { (void)k; }

#endif
