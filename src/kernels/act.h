/*
** act.h - activations, softmax, their error terms and SGD (the activation
** slots of kernels.h), written once for every vector width: a file
** includes its instruction set's vec.h (the V_ vocabulary), defines the
** hooks below and includes this, which defines the slots and ACT_SETTER,
** the function that fills them.
**
**   ACT_SETTER          the setter's name (simd.h's nerve_act_*)
**   ACT_WIDE            1: also elu, softplus, gelu and their error terms
**   ACT_POW2(p, n, lo)  p 2^n for integral n in [-126, 127], 0 where lo
**   ACT_POW2_WIDE(p, n) p 2^n for n in [-150, 128] (ACT_WIDE only)
** and, where the default does not suit the instruction set:
**   ACT_NEGABS(x)       -|x| (default: the sign bit set)
**   ACT_NEGABS_WIDE(x)  -|x| before the wide exp (default ACT_NEGABS)
**   ACT_SEL_NEG(x, t, f)  x < 0 ? t : f; either may stand for -0 and NaN
**   ACT_COPYSIGN(y, x)  |y| with the sign of x, y >= 0
**   ACT_RELU(x)         x > 0 ? x : 0, so 0 for NaN and -0
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
** Finite or infinite inputs never give NaN; NaN in gives NaN out. Every
** width runs the same steps (round to nearest even, the same FMAs), so
** the bounds hold on each.
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
**
** Tails go through V_LOADT and V_STORET: nothing past n is touched.
*/
#include <math.h>

#ifndef ACT_NEGABS
#define ACT_NEGABS(x) V_OR(x, V_SET1(-0.0f))
#endif
#ifndef ACT_NEGABS_WIDE
#define ACT_NEGABS_WIDE(x) ACT_NEGABS(x)
#endif
#ifndef ACT_SEL_NEG
#define ACT_SEL_NEG(x, t, f) V_SEL(V_LT(x, V_ZERO()), t, f)
#endif
#ifndef ACT_COPYSIGN
#define ACT_COPYSIGN(y, x) V_OR(y, V_AND(x, V_SET1(-0.0f)))
#endif
#ifndef ACT_RELU
/* x86's max gives its second operand, 0, for NaN and for -0 */
#define ACT_RELU(x) V_MAX(x, V_ZERO())
#endif
#ifndef V_SUB_IF
#define V_SUB_IF(m, a, b, f) V_SEL(m, V_SUB(a, b), f) /* m ? a - b : f */
#endif

/* e^r for |r| <= ln2/2 and n = round(x log2 e), r = x - n ln2 (simd.h) */
#define ACT_EXP_POLY(x, n, p)                                           \
  V n = V_ROUND(V_MUL(x, V_SET1(VEXP_LOG2E)));                          \
  V r_ = V_FNMA(n, V_SET1(VEXP_LN2_HI), x);                             \
  r_ = V_FNMA(n, V_SET1(VEXP_LN2_LO), r_);                              \
  V p = V_FMA(V_SET1(VEXP_C6), r_, V_SET1(VEXP_C5));                    \
  p = V_FMA(p, r_, V_SET1(VEXP_C4));                                    \
  p = V_FMA(p, r_, V_SET1(VEXP_C3));                                    \
  p = V_FMA(p, r_, V_SET1(VEXP_C2));                                    \
  p = V_FMA(p, r_, V_SET1(1.0f));                                       \
  p = V_FMA(p, r_, V_SET1(1.0f))

/* e^x (simd.h), flushed below VEXP_LO; the clamps keep NaN (it is their
** second operand). */
V_INL V vexp_flush(V x) {
  VM lo = V_LT(x, V_SET1(VEXP_LO));
  x = V_MAX(V_SET1(VEXP_LO), x);
  x = V_MIN(V_SET1(VEXP_HI), x);
  ACT_EXP_POLY(x, n, p);
  return ACT_POW2(p, n, lo);
}

/* x >= 0: 1 / (1 + e^-x); x < 0: e^x / (1 + e^x). Nothing overflows. */
V_INL V vsigmoid_flush(V x) {
  V one = V_SET1(1.0f);
  V t = vexp_flush(ACT_NEGABS(x));
  return V_DIV(ACT_SEL_NEG(x, t, one), V_ADD(one, t));
}

V_INL V vtanh(V x) {
  V one = V_SET1(1.0f);
  V ax = V_ABS(x);
  V t = vexp_flush(V_MUL(ax, V_SET1(-2.0f)));
  V big = V_DIV(V_SUB(one, t), V_ADD(one, t));
  V s = V_MUL(ax, ax);
  V q = V_FMA(V_SET1(VTANH_T4), s, V_SET1(VTANH_T3));
  q = V_FMA(q, s, V_SET1(VTANH_T2));
  q = V_FMA(q, s, V_SET1(VTANH_T1));
  q = V_FMA(q, s, V_SET1(VTANH_T0));
  V small = V_FMA(V_MUL(ax, s), q, ax);
  V y = V_SEL(V_GE(ax, V_SET1(VTANH_CUT)), big, small);
  return ACT_COPYSIGN(y, x);
}

/* The loop every element-wise kernel shares: full vectors, then a tail.
** F(x) gives the vector of results from the vector x (F(u, v), F(u, v,
** w) from two or three). */
#define MAP1(n, x, y, F)                                                \
  do {                                                                  \
    size_t i_ = 0;                                                      \
    for (; i_ + VW <= (n); i_ += VW) {                                  \
      V x_ = V_LOADU((x) + i_);                                         \
      V_STOREU((y) + i_, F(x_));                                        \
    }                                                                   \
    if (i_ < (n)) {                                                     \
      size_t r_ = (n) - i_;                                             \
      VT m_ = V_TAIL(r_);                                               \
      V x_ = V_LOADT((x) + i_, m_, r_);                                 \
      V_STORET((y) + i_, F(x_), m_, r_);                                \
    }                                                                   \
  } while (0)

#define MAP2(n, u, v, y, F)                                             \
  do {                                                                  \
    size_t i_ = 0;                                                      \
    for (; i_ + VW <= (n); i_ += VW) {                                  \
      V u_ = V_LOADU((u) + i_), v_ = V_LOADU((v) + i_);                 \
      V_STOREU((y) + i_, F(u_, v_));                                    \
    }                                                                   \
    if (i_ < (n)) {                                                     \
      size_t r_ = (n) - i_;                                             \
      VT m_ = V_TAIL(r_);                                               \
      V u_ = V_LOADT((u) + i_, m_, r_), v_ = V_LOADT((v) + i_, m_, r_); \
      V_STORET((y) + i_, F(u_, v_), m_, r_);                            \
    }                                                                   \
  } while (0)

#define MAP3(n, u, v, w, y, F)                                          \
  do {                                                                  \
    size_t i_ = 0;                                                      \
    for (; i_ + VW <= (n); i_ += VW) {                                  \
      V u_ = V_LOADU((u) + i_), v_ = V_LOADU((v) + i_);                 \
      V w_ = V_LOADU((w) + i_);                                         \
      V_STOREU((y) + i_, F(u_, v_, w_));                                \
    }                                                                   \
    if (i_ < (n)) {                                                     \
      size_t r_ = (n) - i_;                                             \
      VT m_ = V_TAIL(r_);                                               \
      V u_ = V_LOADT((u) + i_, m_, r_), v_ = V_LOADT((v) + i_, m_, r_); \
      V w_ = V_LOADT((w) + i_, m_, r_);                                 \
      V_STORET((y) + i_, F(u_, v_, w_), m_, r_);                        \
    }                                                                   \
  } while (0)

static V_ATTR void sigmoid(size_t n, const float *x, float *y) {
  MAP1(n, x, y, vsigmoid_flush);
}

static V_ATTR void tanh_(size_t n, const float *x, float *y) {
  MAP1(n, x, y, vtanh);
}

static V_ATTR void relu(size_t n, const float *x, float *y) {
  MAP1(n, x, y, ACT_RELU);
}

/* x > 0 is false for NaN and -0, as the reference's test */
static V_ATTR void leaky_relu(size_t n, const float *x, float *y,
                              float alpha) {
  V va = V_SET1(alpha), z = V_ZERO();
#define LEAKY(x) V_SEL(V_GT(x, z), x, V_MUL(va, x))
  MAP1(n, x, y, LEAKY);
#undef LEAKY
}

#define SIGMOID_BWD(y, dy) V_MUL(V_MUL(dy, y), V_SUB(V_SET1(1.0f), y))
static V_ATTR void sigmoid_bwd(size_t n, const float *y, const float *dy,
                               float *dx) {
  MAP2(n, y, dy, dx, SIGMOID_BWD);
}
#undef SIGMOID_BWD

#define TANH_BWD(y, dy) V_MUL(dy, V_FNMA(y, y, V_SET1(1.0f)))
static V_ATTR void tanh_bwd(size_t n, const float *y, const float *dy,
                            float *dx) {
  MAP2(n, y, dy, dx, TANH_BWD);
}
#undef TANH_BWD

#define RELU_BWD(a, dy) V_KEEP(V_GT(a, V_ZERO()), dy)
static V_ATTR void relu_bwd(size_t n, const float *a, const float *dy,
                            float *dx) {
  MAP2(n, a, dy, dx, RELU_BWD);
}
#undef RELU_BWD

static V_ATTR void leaky_relu_bwd(size_t n, const float *a, const float *dy,
                                  float *dx, float alpha) {
  V va = V_SET1(alpha), z = V_ZERO();
#define LEAKY_BWD(a, dy) V_SEL(V_GT(a, z), dy, V_MUL(va, dy))
  MAP2(n, a, dy, dx, LEAKY_BWD);
#undef LEAKY_BWD
}

/* p -= lr g: the product rounded, then the difference, as the reference
** does (an FMA would round once and differ). */
static V_ATTR void sgd(size_t n, float lr, float *p, const float *g) {
  V vlr = V_SET1(lr);
#define SGD(p, g) V_SUB(p, V_MUL(vlr, g))
  MAP2(n, p, g, p, SGD);
#undef SGD
}

/* Three passes over a row: max, e^(x - max) and its sum, scale. The tail
** is loaded with -inf past the row (e^-inf = 0 adds nothing), and its
** exponentials stay in a register until their one partial store. */
static V_ATTR void softmax(int m, int n, const float *x, float *y) {
  size_t w = n > 0 ? (size_t)n : 0, t = w % VW, j;
  VT mk = V_TAIL(t);
  V ninf = V_SET1(-HUGE_VALF);
  for (int i = 0; i < m; i++) {
    const float *xi = x + (size_t)i * w;
    float *yi = y + (size_t)i * w;
    V vm = ninf, vs = V_ZERO(), xt = ninf, et = vs;
    for (j = 0; j + VW <= w; j += VW) vm = V_MAX(vm, V_LOADU(xi + j));
    if (j < w) {
      xt = V_LOADT_FILL(xi + j, mk, t, -HUGE_VALF);
      vm = V_MAX(vm, xt);
    }
    vm = V_SET1(V_HMAX(vm));
    for (j = 0; j + VW <= w; j += VW) {
      V e = vexp_flush(V_SUB(V_LOADU(xi + j), vm));
      V_STOREU(yi + j, e);
      vs = V_ADD(vs, e);
    }
    if (j < w) {
      et = vexp_flush(V_SUB(xt, vm));
      vs = V_ADD(vs, et);
    }
    V inv = V_SET1(1.0f / V_HSUM(vs));
    for (j = 0; j + VW <= w; j += VW)
      V_STOREU(yi + j, V_MUL(V_LOADU(yi + j), inv));
    if (j < w) V_STORET(yi + j, V_MUL(et, inv), mk, t);
  }
}

static V_ATTR void softmax_bwd(int m, int n, const float *y, const float *dy,
                               float *dx) {
  size_t w = n > 0 ? (size_t)n : 0, t = w % VW, j;
  VT mk = V_TAIL(t);
  for (int i = 0; i < m; i++) {
    const float *yi = y + (size_t)i * w, *dyi = dy + (size_t)i * w;
    float *dxi = dx + (size_t)i * w;
    V vs = V_ZERO();
    for (j = 0; j + VW <= w; j += VW)
      vs = V_FMA(V_LOADU(dyi + j), V_LOADU(yi + j), vs);
    if (j < w)
      vs = V_FMA(V_LOADT(dyi + j, mk, t), V_LOADT(yi + j, mk, t), vs);
    V s = V_SET1(V_HSUM(vs));
#define SOFTMAX_BWD(y, dy) V_MUL(y, V_SUB(dy, s))
    MAP2(w, yi, dyi, dxi, SOFTMAX_BWD);
#undef SOFTMAX_BWD
  }
}

#if ACT_WIDE

/* e^x as vexp_flush computes it, over [MEXP_LO, MEXP_HI] and with no
** flush (simd.h): elu, softplus and gelu need the denormals. */
V_INL V vexp_wide(V x) {
  x = V_MAX(V_SET1(MEXP_LO), x);
  x = V_MIN(V_SET1(MEXP_HI), x);
  ACT_EXP_POLY(x, n, p);
  return ACT_POW2_WIDE(p, n);
}

/* vsigmoid_flush with vexp_wide: softplus_bwd keeps denormals as softplus
** does. */
V_INL V vsigmoid_wide(V x) {
  V one = V_SET1(1.0f);
  V t = vexp_wide(ACT_NEGABS_WIDE(x));
  return V_DIV(ACT_SEL_NEG(x, t, one), V_ADD(one, t));
}

/* e^x - 1 for x <= 0 */
V_INL V vexpm1_neg(V x) {
  V q = V_FMA(V_SET1(1.0f / 5040), x, V_SET1(1.0f / 720));
  q = V_FMA(q, x, V_SET1(1.0f / 120));
  q = V_FMA(q, x, V_SET1(1.0f / 24));
  q = V_FMA(q, x, V_SET1(1.0f / 6));
  q = V_FMA(q, x, V_SET1(0.5f));
  V small = V_FMA(V_MUL(x, x), q, x);
  V big = V_SUB(vexp_wide(x), V_SET1(1.0f));
  return V_SEL(V_GT(x, V_SET1(-VEXPM1_CUT)), small, big);
}

/* log(1 + t) for 0 <= t <= 1 */
V_INL V vlog1p01(V t) {
  V s = V_DIV(t, V_ADD(t, V_SET1(2.0f)));
  V s2 = V_MUL(s, s);
  V q = V_FMA(V_SET1(1.0f / 15), s2, V_SET1(1.0f / 13));
  q = V_FMA(q, s2, V_SET1(1.0f / 11));
  q = V_FMA(q, s2, V_SET1(1.0f / 9));
  q = V_FMA(q, s2, V_SET1(1.0f / 7));
  q = V_FMA(q, s2, V_SET1(1.0f / 5));
  q = V_FMA(q, s2, V_SET1(1.0f / 3));
  q = V_FMA(q, s2, V_SET1(1.0f));
  return V_MUL(V_ADD(s, s), q);
}

/* erfc(|x| / sqrt 2) and, in *g, e^(-x^2 / 2) */
V_INL V verfc_half(V x, V *g) {
  V ax = V_ABS(x);
  V z = V_MUL(ax, V_SET1(VSQRT1_2));
  V t = V_DIV(V_SET1(1.0f), V_FMA(z, V_SET1(0.5f), V_SET1(1.0f)));
  V p = V_FMA(V_SET1(VERFC_P11), t, V_SET1(VERFC_P10));
  p = V_FMA(p, t, V_SET1(VERFC_P9));
  p = V_FMA(p, t, V_SET1(VERFC_P8));
  p = V_FMA(p, t, V_SET1(VERFC_P7));
  p = V_FMA(p, t, V_SET1(VERFC_P6));
  p = V_FMA(p, t, V_SET1(VERFC_P5));
  p = V_FMA(p, t, V_SET1(VERFC_P4));
  p = V_FMA(p, t, V_SET1(VERFC_P3));
  p = V_FMA(p, t, V_SET1(VERFC_P2));
  p = V_FMA(p, t, V_SET1(VERFC_P1));
  p = V_FMA(p, t, V_SET1(VERFC_P0));
  V hx2 = V_MUL(V_MUL(ax, ax), V_SET1(-0.5f)); /* -z^2 */
  if (g) *g = vexp_wide(hx2);
  return V_MUL(t, vexp_wide(V_ADD(hx2, p)));
}

/* Phi(x) = erfc(-x / sqrt 2) / 2 */
V_INL V vphi_cdf(V x, V *g) {
  V e = V_MUL(verfc_half(x, g), V_SET1(0.5f));
  return V_SUB_IF(V_GT(x, V_ZERO()), V_SET1(1.0f), e, e);
}

V_INL V velu(V x, V va) {
  return V_SEL(V_GT(x, V_ZERO()), x, V_MUL(va, vexpm1_neg(x)));
}

static V_ATTR void elu(size_t n, const float *x, float *y, float alpha) {
  V va = V_SET1(alpha);
#define ELU(x) velu(x, va)
  MAP1(n, x, y, ELU);
#undef ELU
}

/* max(x, 0) + log1p(e^-|x|); max(NaN, 0) is 0 but the log term is NaN */
V_INL V vsoftplus(V x) {
  V t = vexp_wide(ACT_NEGABS_WIDE(x));
  return V_ADD(V_MAX(x, V_ZERO()), vlog1p01(t));
}

static V_ATTR void softplus(size_t n, const float *x, float *y) {
  MAP1(n, x, y, vsoftplus);
}

/* x Phi(x); -0 below -15, where it underflows (and -inf * 0 is NaN) */
V_INL V vgelu(V x) {
  return V_SEL(V_LT(x, V_SET1(-15.0f)), V_SET1(-0.0f),
               V_MUL(x, vphi_cdf(x, NULL)));
}

static V_ATTR void gelu(size_t n, const float *x, float *y) {
  MAP1(n, x, y, vgelu);
}

V_INL V velu_bwd(V a, V y, V dy, V va) {
  return V_SEL(V_GT(a, V_ZERO()), dy, V_MUL(dy, V_ADD(y, va)));
}

static V_ATTR void elu_bwd(size_t n, const float *a, const float *y,
                           const float *dy, float *dx, float alpha) {
  V va = V_SET1(alpha);
#define ELU_BWD(a, y, dy) velu_bwd(a, y, dy, va)
  MAP3(n, a, y, dy, dx, ELU_BWD);
#undef ELU_BWD
}

#define SOFTPLUS_BWD(a, dy) V_MUL(dy, vsigmoid_wide(a))
static V_ATTR void softplus_bwd(size_t n, const float *a, const float *dy,
                                float *dx) {
  MAP2(n, a, dy, dx, SOFTPLUS_BWD);
}
#undef SOFTPLUS_BWD

/* Phi(a) + a phi(a); 0 below -15; a clamped at 15 in the product, where
** phi is 0 anyway (no inf * 0) */
V_INL V vgelu_d(V a) {
  V g, cdf = vphi_cdf(a, &g);
  V ac = V_MIN(a, V_SET1(15.0f));
  return V_SEL(V_LT(a, V_SET1(-15.0f)), V_ZERO(),
               V_FMA(V_MUL(ac, V_SET1(VINV_SQRT2PI)), g, cdf));
}

#define GELU_BWD(a, dy) V_MUL(dy, vgelu_d(a))
static V_ATTR void gelu_bwd(size_t n, const float *a, const float *dy,
                            float *dx) {
  MAP2(n, a, dy, dx, GELU_BWD);
}
#undef GELU_BWD

#endif /* ACT_WIDE */

void ACT_SETTER(nerve_kernels *k) {
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
#if ACT_WIDE
  k->elu = elu;
  k->softplus = softplus;
  k->gelu = gelu;
  k->elu_bwd = elu_bwd;
  k->softplus_bwd = softplus_bwd;
  k->gelu_bwd = gelu_bwd;
#endif
}

#undef MAP3
#undef MAP2
#undef MAP1
#undef ACT_EXP_POLY
