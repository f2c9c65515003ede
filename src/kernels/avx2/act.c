/*
** avx2/act.c - activations, softmax and their error terms with AVX2 + FMA.
** Tails use masked loads and partial stores: nothing past n is touched.
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
*/
#include "kernels/kernels.h"
#include "kernels/simd.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>

#define AVX2 __attribute__((target("avx2,fma")))
#define INL static inline __attribute__((always_inline, target("avx2,fma")))

INL __m256 set1(float v) { return _mm256_set1_ps(v); }

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

/* e^x (simd.h); the clamps keep NaN (it is their second operand). */
INL __m256 vexp(__m256 x) {
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

/* x >= 0: 1 / (1 + e^-x); x < 0: e^x / (1 + e^x). Nothing overflows. */
INL __m256 vsigmoid(__m256 x) {
  __m256 t = vexp(_mm256_or_ps(x, set1(-0.0f)));
  __m256 num = _mm256_blendv_ps(set1(1.0f), t, x);
  return _mm256_div_ps(num, _mm256_add_ps(set1(1.0f), t));
}

INL __m256 vtanh(__m256 x) {
  __m256 sign = set1(-0.0f), one = set1(1.0f);
  __m256 ax = _mm256_andnot_ps(sign, x);
  __m256 t = vexp(_mm256_mul_ps(ax, set1(-2.0f)));
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

static AVX2 void sigmoid(size_t n, const float *x, float *y) {
  MAP1(n, x, y, vsigmoid);
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
      __m256 e = vexp(_mm256_sub_ps(_mm256_loadu_ps(xi + j), vm));
      _mm256_storeu_ps(yi + j, e);
      vs = _mm256_add_ps(vs, e);
    }
    if (j < w) { /* e^-inf = 0 in the lanes past the row */
      et = vexp(_mm256_sub_ps(xt, vm));
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
}

#else

void nerve_act_avx2(nerve_kernels *k) { (void)k; }

#endif
