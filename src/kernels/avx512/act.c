/*
** avx512/act.c - activations, softmax and their error terms with
** AVX-512F. Tails use masked loads and stores: nothing past n is touched.
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

#define AVX512 __attribute__((target("avx512f,avx2,fma")))
#define INL                                                             \
  static inline __attribute__((always_inline, target("avx512f,avx2,fma")))

/* Lanes 0 .. r-1 of 16 on (r <= 16). */
INL __mmask16 tail(size_t r) {
  return (__mmask16)(r >= 16 ? 0xffffu : (1u << r) - 1);
}

INL __m512 set1(float v) { return _mm512_set1_ps(v); }

/* bitwise ops on floats need only AVX-512F through the integer forms */
INL __m512 or_ps(__m512 a, __m512 b) {
  return _mm512_castsi512_ps(
      _mm512_or_si512(_mm512_castps_si512(a), _mm512_castps_si512(b)));
}

INL __m512 and_ps(__m512 a, __m512 b) {
  return _mm512_castsi512_ps(
      _mm512_and_si512(_mm512_castps_si512(a), _mm512_castps_si512(b)));
}

/* e^x (simd.h); the clamps keep NaN (it is their second operand). */
INL __m512 vexp(__m512 x) {
  __mmask16 lo = _mm512_cmp_ps_mask(x, set1(VEXP_LO), _CMP_LT_OQ);
  x = _mm512_max_ps(set1(VEXP_LO), x);
  x = _mm512_min_ps(set1(VEXP_HI), x);
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
  return _mm512_maskz_scalef_ps((__mmask16)~lo, p, n);
}

/* x >= 0: 1 / (1 + e^-x); x < 0: e^x / (1 + e^x). Nothing overflows. */
INL __m512 vsigmoid(__m512 x) {
  __m512 one = set1(1.0f);
  __m512 t = vexp(or_ps(x, set1(-0.0f)));
  __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
  __m512 num = _mm512_mask_blend_ps(neg, one, t);
  return _mm512_div_ps(num, _mm512_add_ps(one, t));
}

INL __m512 vtanh(__m512 x) {
  __m512 sign = set1(-0.0f), one = set1(1.0f);
  __m512 ax = _mm512_abs_ps(x);
  __m512 t = vexp(_mm512_mul_ps(ax, set1(-2.0f)));
  __m512 big = _mm512_div_ps(_mm512_sub_ps(one, t), _mm512_add_ps(one, t));
  __m512 s = _mm512_mul_ps(ax, ax);
  __m512 q = _mm512_fmadd_ps(set1(VTANH_T4), s, set1(VTANH_T3));
  q = _mm512_fmadd_ps(q, s, set1(VTANH_T2));
  q = _mm512_fmadd_ps(q, s, set1(VTANH_T1));
  q = _mm512_fmadd_ps(q, s, set1(VTANH_T0));
  __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(ax, s), q, ax);
  __mmask16 isbig = _mm512_cmp_ps_mask(ax, set1(VTANH_CUT), _CMP_GE_OQ);
  return or_ps(_mm512_mask_blend_ps(isbig, small, big), and_ps(x, sign));
}

/* The loop every element-wise kernel shares: full vectors, then a masked
** tail. EXPR(x) gives the vector of results from the vector x. */
#define MAP1(n, x, y, EXPR)                                             \
  do {                                                                  \
    size_t i_ = 0;                                                      \
    for (; i_ + 16 <= (n); i_ += 16) {                                  \
      __m512 x_ = _mm512_loadu_ps((x) + i_);                            \
      _mm512_storeu_ps((y) + i_, EXPR(x_));                             \
    }                                                                   \
    if (i_ < (n)) {                                                     \
      __mmask16 m_ = tail((n) - i_);                                    \
      __m512 x_ = _mm512_maskz_loadu_ps(m_, (x) + i_);                  \
      _mm512_mask_storeu_ps((y) + i_, m_, EXPR(x_));                    \
    }                                                                   \
  } while (0)

/* The same over two inputs: EXPR(u, v). */
#define MAP2(n, u, v, y, EXPR)                                          \
  do {                                                                  \
    size_t i_ = 0;                                                      \
    for (; i_ + 16 <= (n); i_ += 16) {                                  \
      __m512 u_ = _mm512_loadu_ps((u) + i_);                            \
      __m512 v_ = _mm512_loadu_ps((v) + i_);                            \
      _mm512_storeu_ps((y) + i_, EXPR(u_, v_));                         \
    }                                                                   \
    if (i_ < (n)) {                                                     \
      __mmask16 m_ = tail((n) - i_);                                    \
      __m512 u_ = _mm512_maskz_loadu_ps(m_, (u) + i_);                  \
      __m512 v_ = _mm512_maskz_loadu_ps(m_, (v) + i_);                  \
      _mm512_mask_storeu_ps((y) + i_, m_, EXPR(u_, v_));                \
    }                                                                   \
  } while (0)

static AVX512 void sigmoid(size_t n, const float *x, float *y) {
  MAP1(n, x, y, vsigmoid);
}

static AVX512 void tanh_(size_t n, const float *x, float *y) {
  MAP1(n, x, y, vtanh);
}

/* max(x, 0) gives 0 for NaN and -0, as x > 0 ? x : 0 does */
#define RELU(x) _mm512_max_ps(x, _mm512_setzero_ps())
static AVX512 void relu(size_t n, const float *x, float *y) {
  MAP1(n, x, y, RELU);
}

static AVX512 void leaky_relu(size_t n, const float *x, float *y,
                              float alpha) {
  __m512 va = set1(alpha), z = _mm512_setzero_ps();
#define LEAKY(x)                                                        \
  _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, z, _CMP_GT_OQ),            \
                       _mm512_mul_ps(va, x), x)
  MAP1(n, x, y, LEAKY);
#undef LEAKY
}

#define SIGMOID_BWD(y, dy)                                              \
  _mm512_mul_ps(_mm512_mul_ps(dy, y), _mm512_sub_ps(set1(1.0f), y))
static AVX512 void sigmoid_bwd(size_t n, const float *y, const float *dy,
                               float *dx) {
  MAP2(n, y, dy, dx, SIGMOID_BWD);
}

#define TANH_BWD(y, dy) _mm512_mul_ps(dy, _mm512_fnmadd_ps(y, y, set1(1.0f)))
static AVX512 void tanh_bwd(size_t n, const float *y, const float *dy,
                            float *dx) {
  MAP2(n, y, dy, dx, TANH_BWD);
}

#define RELU_BWD(a, dy)                                                 \
  _mm512_maskz_mov_ps(                                                  \
      _mm512_cmp_ps_mask(a, _mm512_setzero_ps(), _CMP_GT_OQ), dy)
static AVX512 void relu_bwd(size_t n, const float *a, const float *dy,
                            float *dx) {
  MAP2(n, a, dy, dx, RELU_BWD);
}

static AVX512 void leaky_relu_bwd(size_t n, const float *a, const float *dy,
                                  float *dx, float alpha) {
  __m512 va = set1(alpha), z = _mm512_setzero_ps();
#define LEAKY_BWD(a, dy)                                                \
  _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, z, _CMP_GT_OQ),            \
                       _mm512_mul_ps(va, dy), dy)
  MAP2(n, a, dy, dx, LEAKY_BWD);
#undef LEAKY_BWD
}

/* p -= lr g: the product rounded, then the difference, as the
** reference does (an FMA would round once and differ). */
static AVX512 void sgd(size_t n, float lr, float *p, const float *g) {
  __m512 vlr = set1(lr);
#define SGD(p, g) _mm512_sub_ps(p, _mm512_mul_ps(vlr, g))
  MAP2(n, p, g, p, SGD);
#undef SGD
}

/* Three passes over a row: max, e^(x - max) and its sum, scale. The tail's
** exponentials stay in a register until their one partial store. */
static AVX512 void softmax(int m, int n, const float *x, float *y) {
  size_t w = n > 0 ? (size_t)n : 0, j;
  __mmask16 mk = tail(w % 16);
  __m512 ninf = set1(-HUGE_VALF);
  for (int i = 0; i < m; i++) {
    const float *xi = x + (size_t)i * w;
    float *yi = y + (size_t)i * w;
    __m512 vm = ninf, vs = _mm512_setzero_ps(), xt = ninf, et = vs;
    for (j = 0; j + 16 <= w; j += 16)
      vm = _mm512_max_ps(vm, _mm512_loadu_ps(xi + j));
    if (j < w) {
      xt = _mm512_mask_loadu_ps(ninf, mk, xi + j);
      vm = _mm512_max_ps(vm, xt);
    }
    vm = set1(_mm512_reduce_max_ps(vm));
    for (j = 0; j + 16 <= w; j += 16) {
      __m512 e = vexp(_mm512_sub_ps(_mm512_loadu_ps(xi + j), vm));
      _mm512_storeu_ps(yi + j, e);
      vs = _mm512_add_ps(vs, e);
    }
    if (j < w) { /* e^-inf = 0 in the lanes past the row */
      et = vexp(_mm512_sub_ps(xt, vm));
      vs = _mm512_add_ps(vs, et);
    }
    __m512 inv = set1(1.0f / _mm512_reduce_add_ps(vs));
    for (j = 0; j + 16 <= w; j += 16)
      _mm512_storeu_ps(yi + j, _mm512_mul_ps(_mm512_loadu_ps(yi + j), inv));
    if (j < w) _mm512_mask_storeu_ps(yi + j, mk, _mm512_mul_ps(et, inv));
  }
}

static AVX512 void softmax_bwd(int m, int n, const float *y, const float *dy,
                               float *dx) {
  size_t w = n > 0 ? (size_t)n : 0, j;
  __mmask16 mk = tail(w % 16);
  for (int i = 0; i < m; i++) {
    const float *yi = y + (size_t)i * w, *dyi = dy + (size_t)i * w;
    float *dxi = dx + (size_t)i * w;
    __m512 vs = _mm512_setzero_ps();
    for (j = 0; j + 16 <= w; j += 16)
      vs = _mm512_fmadd_ps(_mm512_loadu_ps(dyi + j), _mm512_loadu_ps(yi + j),
                           vs);
    if (j < w)
      vs = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mk, dyi + j),
                           _mm512_maskz_loadu_ps(mk, yi + j), vs);
    __m512 s = set1(_mm512_reduce_add_ps(vs));
#define SOFTMAX_BWD(y, dy) _mm512_mul_ps(y, _mm512_sub_ps(dy, s))
    MAP2(w, yi, dyi, dxi, SOFTMAX_BWD);
#undef SOFTMAX_BWD
  }
}

void nerve_act_avx512(nerve_kernels *k) {
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

void nerve_act_avx512(nerve_kernels *k) { (void)k; }

#endif
