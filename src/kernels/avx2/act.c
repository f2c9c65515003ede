/*
** avx2/act.c - activations, softmax, their error terms and SGD with AVX2 +
** FMA: every activation slot of kernels.h. avx512/act.c's twin, with the
** same approximations (simd.h) and bounds. Tails use masked loads and
** partial or masked stores: nothing past n is touched.
**
** Accuracy vs the exact value, measured over every float (see simd.h for
** the exp underneath):
**   sigmoid: relative error <= 2e-7 where the result is >= 1.2e-38, below
**            absolute < 1.2e-38 (flushed to 0); sigmoid(-inf) = 0,
**            sigmoid(+inf) = 1.
**   tanh:    relative error <= 2e-7 everywhere, so also near 0; tanh(+-inf)
**            = +-1.
**   softmax: relative error <= 2e-7 + (n + 1 + |x - max|) 6e-8 for each x
**            of a row of n (the sum's rounding, and x - max's in float),
**            absolute < 1.2e-38 below; any finite logits (max-shifted:
**            nothing overflows).
** Finite or infinite inputs never give NaN; NaN in gives NaN out.
**
** elu, softplus and gelu vs libm in double, measured by
** spec/c/test_kernels.c over a grid on [-100, 100], magnitudes 1e-38..1e4
** and the special values:
**   elu:      relative error <= 5e-7 (x <= 0; x > 0 is exact)
**   softplus: relative error <= 5e-7 where the result is normal
**   gelu:     relative error <= 1e-6 + 1.2e-7 x^2 for x < 0 (the x^2 term
**             is float's conditioning: x / sqrt 2 rounds), 1e-6 for x >= 0
** Infinities saturate (elu(-inf) = -alpha, softplus(-inf) = 0,
** gelu(-inf) = 0, +inf stays +inf); NaN in gives NaN out.
*/
#include "kernels/kernels.h"
#include "kernels/simd.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>

#define AVX2 __attribute__((target("avx2,fma")))
#define INL static inline __attribute__((always_inline, target("avx2,fma")))

INL __m256 set1(float v) { return _mm256_set1_ps(v); }

INL __m256 absv(__m256 x) { return _mm256_andnot_ps(set1(-0.0f), x); }

INL float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v),
                        _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

INL float hmax(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v),
                        _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

/* Two exps: flushing denormals is faster; elu, softplus and gelu need them. */

/* e^x (simd.h); the clamps keep NaN (it is their second operand). */
INL __m256 vexp_flush(__m256 x) {
  __m256 lo = _mm256_cmp_ps(x, set1(VEXP_LO), _CMP_LT_OQ);
  x = _mm256_max_ps(set1(VEXP_LO), x);
  x = _mm256_min_ps(set1(VEXP_HI), x);
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
  /* 2^n in the exponent bits, n in [-126, 127] */
  __m256i e = _mm256_slli_epi32(
      _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_andnot_ps(lo, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

/* e^x as vexp_flush computes it, over [MEXP_LO, MEXP_HI] and with no
** flush (simd.h) */
INL __m256 vexp_wide(__m256 x) {
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

/* x >= 0: 1 / (1 + e^-x); x < 0: e^x / (1 + e^x). Nothing overflows. */
INL __m256 vsigmoid_flush(__m256 x) {
  __m256 t = vexp_flush(_mm256_or_ps(x, set1(-0.0f)));
  __m256 num = _mm256_blendv_ps(set1(1.0f), t, x);
  return _mm256_div_ps(num, _mm256_add_ps(set1(1.0f), t));
}

/* The same with vexp_wide: softplus_bwd keeps denormals as softplus does. */
INL __m256 vsigmoid_wide(__m256 x) {
  __m256 t = vexp_wide(_mm256_or_ps(x, set1(-0.0f)));
  __m256 num = _mm256_blendv_ps(set1(1.0f), t, x);
  return _mm256_div_ps(num, _mm256_add_ps(set1(1.0f), t));
}

INL __m256 vtanh(__m256 x) {
  __m256 sign = set1(-0.0f), one = set1(1.0f);
  __m256 ax = _mm256_andnot_ps(sign, x);
  __m256 t = vexp_flush(_mm256_mul_ps(ax, set1(-2.0f)));
  __m256 big = _mm256_div_ps(_mm256_sub_ps(one, t), _mm256_add_ps(one, t));
  __m256 s = _mm256_mul_ps(ax, ax);
  __m256 q = _mm256_fmadd_ps(set1(VTANH_T4), s, set1(VTANH_T3));
  q = _mm256_fmadd_ps(q, s, set1(VTANH_T2));
  q = _mm256_fmadd_ps(q, s, set1(VTANH_T1));
  q = _mm256_fmadd_ps(q, s, set1(VTANH_T0));
  __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(ax, s), q, ax);
  __m256 y = _mm256_blendv_ps(
      small, big, _mm256_cmp_ps(ax, set1(VTANH_CUT), _CMP_GE_OQ));
  return _mm256_or_ps(y, _mm256_and_ps(x, sign));
}

/* e^x - 1 for x <= 0 */
INL __m256 vexpm1_neg(__m256 x) {
  __m256 q = _mm256_fmadd_ps(set1(1.0f / 5040), x, set1(1.0f / 720));
  q = _mm256_fmadd_ps(q, x, set1(1.0f / 120));
  q = _mm256_fmadd_ps(q, x, set1(1.0f / 24));
  q = _mm256_fmadd_ps(q, x, set1(1.0f / 6));
  q = _mm256_fmadd_ps(q, x, set1(0.5f));
  __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(x, x), q, x);
  __m256 big = _mm256_sub_ps(vexp_wide(x), set1(1.0f));
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
  __m256 hx2 = _mm256_mul_ps(_mm256_mul_ps(ax, ax), set1(-0.5f)); /* -z^2 */
  if (g) *g = vexp_wide(hx2);
  return _mm256_mul_ps(t, vexp_wide(_mm256_add_ps(hx2, p)));
}

/* Phi(x) = erfc(-x / sqrt 2) / 2 */
INL __m256 vphi_cdf(__m256 x, __m256 *g) {
  __m256 e = _mm256_mul_ps(verfc_half(x, g), set1(0.5f));
  __m256 pos = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GT_OQ);
  return _mm256_blendv_ps(e, _mm256_sub_ps(set1(1.0f), e), pos);
}

/* The loop every element-wise kernel shares: full vectors, then a masked
** tail. EXPR(x) gives the vector of results from the vector x. */
#define MAP1(n, x, y, EXPR)                                             \
  do {                                                                  \
    size_t i_ = 0;                                                      \
    for (; i_ + 8 <= (n); i_ += 8) {                                    \
      __m256 x_ = _mm256_loadu_ps((x) + i_);                            \
      _mm256_storeu_ps((y) + i_, EXPR(x_));                             \
    }                                                                   \
    if (i_ < (n)) {                                                     \
      __m256i m_ = nerve_mask8((n) - i_);                               \
      __m256 x_ = _mm256_maskload_ps((x) + i_, m_);                     \
      nerve_store8((y) + i_, EXPR(x_), (n) - i_);                       \
    }                                                                   \
  } while (0)

/* The same over two inputs: EXPR(u, v). */
#define MAP2(n, u, v, y, EXPR)                                          \
  do {                                                                  \
    size_t i_ = 0;                                                      \
    for (; i_ + 8 <= (n); i_ += 8) {                                    \
      __m256 u_ = _mm256_loadu_ps((u) + i_);                            \
      __m256 v_ = _mm256_loadu_ps((v) + i_);                            \
      _mm256_storeu_ps((y) + i_, EXPR(u_, v_));                         \
    }                                                                   \
    if (i_ < (n)) {                                                     \
      __m256i m_ = nerve_mask8((n) - i_);                               \
      __m256 u_ = _mm256_maskload_ps((u) + i_, m_);                     \
      __m256 v_ = _mm256_maskload_ps((v) + i_, m_);                     \
      nerve_store8((y) + i_, EXPR(u_, v_), (n) - i_);                   \
    }                                                                   \
  } while (0)

/* The loops of elu, softplus and gelu, whose kernels take extra arguments:
** EXPR is an expression in x_ (LOOP1: x to y), or in a_, dy_ and y_
** (LOOP2: to dx; y_ from Y, which is a where the kernel needs no y). */
#define LOOP1(n, EXPR)                                                  \
  do {                                                                  \
    size_t i_ = 0;                                                      \
    for (; i_ + 8 <= (n); i_ += 8) {                                    \
      __m256 x_ = _mm256_loadu_ps(x + i_);                              \
      _mm256_storeu_ps(y + i_, EXPR);                                   \
    }                                                                   \
    if (i_ < (n)) {                                                     \
      __m256i m_ = nerve_mask8((n) - i_);                               \
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
      __m256i m_ = nerve_mask8((n) - i_);                               \
      __m256 a_ = _mm256_maskload_ps(a + i_, m_);                       \
      __m256 dy_ = _mm256_maskload_ps(dy + i_, m_);                     \
      __m256 y_ = _mm256_maskload_ps((Y) + i_, m_);                     \
      (void)y_;                                                         \
      _mm256_maskstore_ps(dx + i_, m_, EXPR);                           \
    }                                                                   \
  } while (0)

static AVX2 void sigmoid(size_t n, const float *x, float *y) {
  MAP1(n, x, y, vsigmoid_flush);
}

static AVX2 void tanh_(size_t n, const float *x, float *y) {
  MAP1(n, x, y, vtanh);
}

/* max(x, 0) gives 0 for NaN and -0, as x > 0 ? x : 0 does */
#define RELU(x) _mm256_max_ps(x, _mm256_setzero_ps())
static AVX2 void relu(size_t n, const float *x, float *y) {
  MAP1(n, x, y, RELU);
}

static AVX2 void leaky_relu(size_t n, const float *x, float *y, float alpha) {
  __m256 va = set1(alpha), z = _mm256_setzero_ps();
#define LEAKY(x)                                                        \
  _mm256_blendv_ps(_mm256_mul_ps(va, x), x, _mm256_cmp_ps(x, z, _CMP_GT_OQ))
  MAP1(n, x, y, LEAKY);
#undef LEAKY
}

#define SIGMOID_BWD(y, dy)                                              \
  _mm256_mul_ps(_mm256_mul_ps(dy, y), _mm256_sub_ps(set1(1.0f), y))
static AVX2 void sigmoid_bwd(size_t n, const float *y, const float *dy,
                             float *dx) {
  MAP2(n, y, dy, dx, SIGMOID_BWD);
}

#define TANH_BWD(y, dy) _mm256_mul_ps(dy, _mm256_fnmadd_ps(y, y, set1(1.0f)))
static AVX2 void tanh_bwd(size_t n, const float *y, const float *dy,
                          float *dx) {
  MAP2(n, y, dy, dx, TANH_BWD);
}

#define RELU_BWD(a, dy)                                                 \
  _mm256_and_ps(_mm256_cmp_ps(a, _mm256_setzero_ps(), _CMP_GT_OQ), dy)
static AVX2 void relu_bwd(size_t n, const float *a, const float *dy,
                          float *dx) {
  MAP2(n, a, dy, dx, RELU_BWD);
}

static AVX2 void leaky_relu_bwd(size_t n, const float *a, const float *dy,
                                float *dx, float alpha) {
  __m256 va = set1(alpha), z = _mm256_setzero_ps();
#define LEAKY_BWD(a, dy)                                                \
  _mm256_blendv_ps(_mm256_mul_ps(va, dy), dy, _mm256_cmp_ps(a, z, _CMP_GT_OQ))
  MAP2(n, a, dy, dx, LEAKY_BWD);
#undef LEAKY_BWD
}

/* p -= lr g: the product rounded, then the difference, as the
** reference does (an FMA would round once and differ). */
static AVX2 void sgd(size_t n, float lr, float *p, const float *g) {
  __m256 vlr = set1(lr);
#define SGD(p, g) _mm256_sub_ps(p, _mm256_mul_ps(vlr, g))
  MAP2(n, p, g, p, SGD);
#undef SGD
}

/* Three passes over a row: max, e^(x - max) and its sum, scale. The tail's
** exponentials stay in a register until their one partial store. */
static AVX2 void softmax(int m, int n, const float *x, float *y) {
  size_t w = n > 0 ? (size_t)n : 0, j;
  __m256 ninf = set1(-HUGE_VALF);
  __m256i mk = nerve_mask8(w % 8);
  __m256 fm = _mm256_castsi256_ps(mk);
  for (int i = 0; i < m; i++) {
    const float *xi = x + (size_t)i * w;
    float *yi = y + (size_t)i * w;
    __m256 vm = ninf, vs = _mm256_setzero_ps(), xt = ninf, et = vs;
    for (j = 0; j + 8 <= w; j += 8)
      vm = _mm256_max_ps(vm, _mm256_loadu_ps(xi + j));
    if (j < w) {
      xt = _mm256_blendv_ps(ninf, _mm256_maskload_ps(xi + j, mk), fm);
      vm = _mm256_max_ps(vm, xt);
    }
    vm = set1(hmax(vm));
    for (j = 0; j + 8 <= w; j += 8) {
      __m256 e = vexp_flush(_mm256_sub_ps(_mm256_loadu_ps(xi + j), vm));
      _mm256_storeu_ps(yi + j, e);
      vs = _mm256_add_ps(vs, e);
    }
    if (j < w) { /* e^-inf = 0 in the lanes past the row */
      et = vexp_flush(_mm256_sub_ps(xt, vm));
      vs = _mm256_add_ps(vs, et);
    }
    __m256 inv = set1(1.0f / hsum(vs));
    for (j = 0; j + 8 <= w; j += 8)
      _mm256_storeu_ps(yi + j, _mm256_mul_ps(_mm256_loadu_ps(yi + j), inv));
    if (j < w) nerve_store8(yi + j, _mm256_mul_ps(et, inv), w - j);
  }
}

static AVX2 void softmax_bwd(int m, int n, const float *y, const float *dy,
                             float *dx) {
  size_t w = n > 0 ? (size_t)n : 0, j;
  __m256i mk = nerve_mask8(w % 8);
  for (int i = 0; i < m; i++) {
    const float *yi = y + (size_t)i * w, *dyi = dy + (size_t)i * w;
    float *dxi = dx + (size_t)i * w;
    __m256 vs = _mm256_setzero_ps();
    for (j = 0; j + 8 <= w; j += 8)
      vs = _mm256_fmadd_ps(_mm256_loadu_ps(dyi + j), _mm256_loadu_ps(yi + j),
                           vs);
    if (j < w)
      vs = _mm256_fmadd_ps(_mm256_maskload_ps(dyi + j, mk),
                           _mm256_maskload_ps(yi + j, mk), vs);
    __m256 s = set1(hsum(vs));
#define SOFTMAX_BWD(y, dy) _mm256_mul_ps(y, _mm256_sub_ps(dy, s))
    MAP2(w, yi, dyi, dxi, SOFTMAX_BWD);
#undef SOFTMAX_BWD
  }
}

INL __m256 velu(__m256 x, __m256 va) {
  __m256 pos = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GT_OQ);
  return _mm256_blendv_ps(_mm256_mul_ps(va, vexpm1_neg(x)), x, pos);
}

static AVX2 void elu(size_t n, const float *x, float *y, float alpha) {
  __m256 va = set1(alpha);
  LOOP1(n, velu(x_, va));
}

/* max(x, 0) + log1p(e^-|x|); max(NaN, 0) is 0 but the log term is NaN */
INL __m256 vsoftplus(__m256 x) {
  __m256 t = vexp_wide(_mm256_or_ps(x, set1(-0.0f)));
  return _mm256_add_ps(_mm256_max_ps(x, _mm256_setzero_ps()), vlog1p01(t));
}

static AVX2 void softplus(size_t n, const float *x, float *y) {
  LOOP1(n, vsoftplus(x_));
}

/* x Phi(x); -0 below -15, where it underflows (and -inf * 0 is NaN) */
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
  LOOP2(n, a, _mm256_mul_ps(dy_, vsigmoid_wide(a_)));
}

/* Phi(a) + a phi(a); 0 below -15; a clamped at 15 in the product, where
** phi is 0 anyway (no inf * 0) */
INL __m256 vgelu_d(__m256 a) {
  __m256 g, cdf = vphi_cdf(a, &g);
  __m256 lo = _mm256_cmp_ps(a, set1(-15.0f), _CMP_LT_OQ);
  __m256 ac = _mm256_min_ps(a, set1(15.0f));
  return _mm256_blendv_ps(
      _mm256_fmadd_ps(_mm256_mul_ps(ac, set1(VINV_SQRT2PI)), g, cdf),
      _mm256_setzero_ps(), lo);
}

static AVX2 void gelu_bwd(size_t n, const float *a, const float *dy,
                          float *dx) {
  LOOP2(n, a, _mm256_mul_ps(dy_, vgelu_d(a_)));
}

void nerve_act_avx2(nerve_kernels *k) {
  k->sigmoid = sigmoid;
  k->tanh = tanh_;
  k->relu = relu;
  k->leaky_relu = leaky_relu;
  k->softmax = softmax;
  k->sigmoid_bwd = sigmoid_bwd;
  k->tanh_bwd = tanh_bwd;
  k->relu_bwd = relu_bwd;
  k->sgd = sgd;
  k->leaky_relu_bwd = leaky_relu_bwd;
  k->softmax_bwd = softmax_bwd;
  k->elu = elu;
  k->softplus = softplus;
  k->gelu = gelu;
  k->elu_bwd = elu_bwd;
  k->softplus_bwd = softplus_bwd;
  k->gelu_bwd = gelu_bwd;
}

#else

void nerve_act_avx2(nerve_kernels *k) { (void)k; }

#endif
