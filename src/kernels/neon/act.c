/*
** neon/act.c - activations, softmax, their error terms and SGD with
** aarch64 NEON; avx2/act.c's twin. exp and tanh are simd.h's algorithm
** with its constants, step for step (round to nearest even, the same
** FMAs), so avx2/act.c's accuracy bounds hold here too. Tails go through
** lane loads and stores (simd.h): nothing past n is touched.
**
** elu, softplus, gelu and their error terms stay on the scalar reference
** for now (the table starts as a copy of it, so this partial port is
** correct by design).
*/
#include "kernels/kernels.h"
#include "kernels/simd.h"

#if defined(__aarch64__)
#include <arm_neon.h>
#include <math.h>

#define INL static inline __attribute__((always_inline))

INL float32x4_t set1(float v) { return vdupq_n_f32(v); }

/* All ones where the sign bit of x is set (blendv's test on x86). */
INL uint32x4_t signmask(float32x4_t x) {
  return vreinterpretq_u32_s32(vshrq_n_s32(vreinterpretq_s32_f32(x), 31));
}

/* e^x (simd.h). NEON's max and min return NaN for a NaN operand, so the
** clamps keep NaN as x86's do. */
INL float32x4_t vexp(float32x4_t x) {
  uint32x4_t lo = vcltq_f32(x, set1(VEXP_LO));
  x = vmaxq_f32(set1(VEXP_LO), x);
  x = vminq_f32(set1(VEXP_HI), x);
  float32x4_t n = vrndnq_f32(vmulq_f32(x, set1(VEXP_LOG2E)));
  float32x4_t r = vfmsq_f32(x, n, set1(VEXP_LN2_HI));
  r = vfmsq_f32(r, n, set1(VEXP_LN2_LO));
  float32x4_t p = vfmaq_f32(set1(VEXP_C5), set1(VEXP_C6), r);
  p = vfmaq_f32(set1(VEXP_C4), p, r);
  p = vfmaq_f32(set1(VEXP_C3), p, r);
  p = vfmaq_f32(set1(VEXP_C2), p, r);
  p = vfmaq_f32(set1(1.0f), p, r);
  p = vfmaq_f32(set1(1.0f), p, r);
  /* 2^n in the exponent bits, n in [-126, 127] */
  int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
  float32x4_t y = vmulq_f32(p, vreinterpretq_f32_s32(e));
  return vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(y), lo));
}

/* x >= 0: 1 / (1 + e^-x); x < 0: e^x / (1 + e^x). Nothing overflows. */
INL float32x4_t vsigmoid(float32x4_t x) {
  float32x4_t t = vexp(vnegq_f32(vabsq_f32(x)));
  float32x4_t num = vbslq_f32(signmask(x), t, set1(1.0f));
  return vdivq_f32(num, vaddq_f32(set1(1.0f), t));
}

INL float32x4_t vtanh(float32x4_t x) {
  float32x4_t one = set1(1.0f), ax = vabsq_f32(x);
  float32x4_t t = vexp(vmulq_f32(ax, set1(-2.0f)));
  float32x4_t big = vdivq_f32(vsubq_f32(one, t), vaddq_f32(one, t));
  float32x4_t s = vmulq_f32(ax, ax);
  float32x4_t q = vfmaq_f32(set1(VTANH_T3), set1(VTANH_T4), s);
  q = vfmaq_f32(set1(VTANH_T2), q, s);
  q = vfmaq_f32(set1(VTANH_T1), q, s);
  q = vfmaq_f32(set1(VTANH_T0), q, s);
  float32x4_t small = vfmaq_f32(ax, vmulq_f32(ax, s), q);
  float32x4_t y = vbslq_f32(vcgeq_f32(ax, set1(VTANH_CUT)), big, small);
  /* the sign of x back onto |tanh x| */
  return vbslq_f32(vdupq_n_u32(0x80000000u), x, y);
}

/* The loop every element-wise kernel shares: full vectors, then a
** lane-loaded tail. EXPR(x) gives the vector of results from x. */
#define MAP1(n, x, y, EXPR)                                             \
  do {                                                                  \
    size_t i_ = 0;                                                      \
    for (; i_ + 4 <= (n); i_ += 4) {                                    \
      float32x4_t x_ = vld1q_f32((x) + i_);                             \
      vst1q_f32((y) + i_, EXPR(x_));                                    \
    }                                                                   \
    if (i_ < (n)) {                                                     \
      float32x4_t x_ = nerve_load4((x) + i_, (n) - i_, 0.0f);           \
      nerve_store4((y) + i_, EXPR(x_), (n) - i_);                       \
    }                                                                   \
  } while (0)

/* The same over two inputs: EXPR(u, v). */
#define MAP2(n, u, v, y, EXPR)                                          \
  do {                                                                  \
    size_t i_ = 0;                                                      \
    for (; i_ + 4 <= (n); i_ += 4) {                                    \
      float32x4_t u_ = vld1q_f32((u) + i_), v_ = vld1q_f32((v) + i_);   \
      vst1q_f32((y) + i_, EXPR(u_, v_));                                \
    }                                                                   \
    if (i_ < (n)) {                                                     \
      float32x4_t u_ = nerve_load4((u) + i_, (n) - i_, 0.0f);           \
      float32x4_t v_ = nerve_load4((v) + i_, (n) - i_, 0.0f);           \
      nerve_store4((y) + i_, EXPR(u_, v_), (n) - i_);                   \
    }                                                                   \
  } while (0)

/* Lanes where x > 0 (false for NaN and -0, as the reference's test). */
#define POS(x) vcgtq_f32(x, vdupq_n_f32(0.0f))

static void sigmoid(size_t n, const float *x, float *y) {
  MAP1(n, x, y, vsigmoid);
}

static void tanh_(size_t n, const float *x, float *y) { MAP1(n, x, y, vtanh); }

/* x > 0 ? x : 0 by mask, not fmax: NEON's gives NaN for NaN, and +0 for
** -0 only by its own rule */
#define RELU(x) vreinterpretq_f32_u32(vandq_u32(POS(x), vreinterpretq_u32_f32(x)))
static void relu(size_t n, const float *x, float *y) { MAP1(n, x, y, RELU); }

static void leaky_relu(size_t n, const float *x, float *y, float alpha) {
  float32x4_t va = set1(alpha);
#define LEAKY(x) vbslq_f32(POS(x), x, vmulq_f32(va, x))
  MAP1(n, x, y, LEAKY);
#undef LEAKY
}

#define SIGMOID_BWD(y, dy) vmulq_f32(vmulq_f32(dy, y), vsubq_f32(set1(1.0f), y))
static void sigmoid_bwd(size_t n, const float *y, const float *dy,
                        float *dx) {
  MAP2(n, y, dy, dx, SIGMOID_BWD);
}

#define TANH_BWD(y, dy) vmulq_f32(dy, vfmsq_f32(set1(1.0f), y, y))
static void tanh_bwd(size_t n, const float *y, const float *dy, float *dx) {
  MAP2(n, y, dy, dx, TANH_BWD);
}

#define RELU_BWD(a, dy)                                                 \
  vreinterpretq_f32_u32(vandq_u32(POS(a), vreinterpretq_u32_f32(dy)))
static void relu_bwd(size_t n, const float *a, const float *dy, float *dx) {
  MAP2(n, a, dy, dx, RELU_BWD);
}

static void leaky_relu_bwd(size_t n, const float *a, const float *dy,
                           float *dx, float alpha) {
  float32x4_t va = set1(alpha);
#define LEAKY_BWD(a, dy) vbslq_f32(POS(a), dy, vmulq_f32(va, dy))
  MAP2(n, a, dy, dx, LEAKY_BWD);
#undef LEAKY_BWD
}

/* p -= lr g: the product rounded, then the difference, as the reference
** does (vfmsq would round once and differ). */
static void sgd(size_t n, float lr, float *p, const float *g) {
  float32x4_t vlr = set1(lr);
#define SGD(p, g) vsubq_f32(p, vmulq_f32(vlr, g))
  MAP2(n, p, g, p, SGD);
#undef SGD
}

/* Three passes over a row: max, e^(x - max) and its sum, scale. The tail
** is lane-loaded with -inf past the row (e^-inf = 0 adds nothing), and
** its exponentials stay in a register until their one partial store. */
static void softmax(int m, int n, const float *x, float *y) {
  size_t w = n > 0 ? (size_t)n : 0, t = w % 4, j;
  float32x4_t ninf = set1(-HUGE_VALF);
  for (int i = 0; i < m; i++) {
    const float *xi = x + (size_t)i * w;
    float *yi = y + (size_t)i * w;
    float32x4_t vm = ninf, vs = vdupq_n_f32(0.0f), xt = ninf, et = vs;
    for (j = 0; j + 4 <= w; j += 4) vm = vmaxq_f32(vm, vld1q_f32(xi + j));
    if (t) {
      xt = nerve_load4(xi + j, t, -HUGE_VALF);
      vm = vmaxq_f32(vm, xt);
    }
    vm = set1(vmaxvq_f32(vm));
    for (j = 0; j + 4 <= w; j += 4) {
      float32x4_t e = vexp(vsubq_f32(vld1q_f32(xi + j), vm));
      vst1q_f32(yi + j, e);
      vs = vaddq_f32(vs, e);
    }
    if (t) {
      et = vexp(vsubq_f32(xt, vm));
      vs = vaddq_f32(vs, et);
    }
    float32x4_t inv = set1(1.0f / vaddvq_f32(vs));
    for (j = 0; j + 4 <= w; j += 4)
      vst1q_f32(yi + j, vmulq_f32(vld1q_f32(yi + j), inv));
    if (t) nerve_store4(yi + j, vmulq_f32(et, inv), t);
  }
}

static void softmax_bwd(int m, int n, const float *y, const float *dy,
                        float *dx) {
  size_t w = n > 0 ? (size_t)n : 0, t = w % 4, j;
  for (int i = 0; i < m; i++) {
    const float *yi = y + (size_t)i * w, *dyi = dy + (size_t)i * w;
    float *dxi = dx + (size_t)i * w;
    float32x4_t vs = vdupq_n_f32(0.0f);
    for (j = 0; j + 4 <= w; j += 4)
      vs = vfmaq_f32(vs, vld1q_f32(dyi + j), vld1q_f32(yi + j));
    if (t)
      vs = vfmaq_f32(vs, nerve_load4(dyi + j, t, 0.0f),
                     nerve_load4(yi + j, t, 0.0f));
    float32x4_t s = set1(vaddvq_f32(vs));
#define SOFTMAX_BWD(y, dy) vmulq_f32(y, vsubq_f32(dy, s))
    MAP2(w, yi, dyi, dxi, SOFTMAX_BWD);
#undef SOFTMAX_BWD
  }
}

void nerve_act_neon(nerve_kernels *k) {
  k->sigmoid = sigmoid;
  k->tanh = tanh_;
  k->relu = relu;
  k->leaky_relu = leaky_relu;
  k->softmax = softmax;
  k->sigmoid_bwd = sigmoid_bwd;
  k->tanh_bwd = tanh_bwd;
  k->relu_bwd = relu_bwd;
  k->leaky_relu_bwd = leaky_relu_bwd;
  k->softmax_bwd = softmax_bwd;
  k->sgd = sgd;
}

#else

void nerve_act_neon(nerve_kernels *k) { (void)k; }

#endif
