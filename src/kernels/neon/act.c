/*
** neon/act.c - the activation slots with aarch64 NEON (act.h over vec.h).
** elu, softplus, gelu and their error terms stay on the scalar reference
** (the table starts as a copy of it, so the partial set is correct by
** design).
*/
#include "kernels/kernels.h"
#include "kernels/simd.h"

#if defined(__aarch64__)
#include "kernels/neon/vec.h"

#define ACT_SETTER nerve_act_neon
#define ACT_WIDE 0

/* 2^n in the exponent bits, n in [-126, 127]; bic clears the lanes lo */
V_INL float32x4_t v_pow2(float32x4_t p, float32x4_t n, uint32x4_t lo) {
  int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
  float32x4_t y = vmulq_f32(p, vreinterpretq_f32_s32(e));
  return vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(y), lo));
}
#define ACT_POW2(p, n, lo) v_pow2(p, n, lo)

/* NEON has no float or and and: sign bits by negation and bit select */
#define ACT_NEGABS(x) vnegq_f32(vabsq_f32(x))
#define ACT_SEL_NEG(x, t, f)                                            \
  vbslq_f32(vreinterpretq_u32_s32(vshrq_n_s32(vreinterpretq_s32_f32(x), 31)), \
            t, f)
#define ACT_COPYSIGN(y, x) vbslq_f32(vdupq_n_u32(0x80000000u), x, y)
/* x > 0 ? x : 0 by mask, not fmax: NEON's gives NaN for NaN, and +0 for
** -0 only by its own rule */
#define ACT_RELU(x) V_KEEP(vcgtq_f32(x, vdupq_n_f32(0.0f)), x)

#include "kernels/act.h"

#else

void nerve_act_neon(nerve_kernels *k) { (void)k; }

#endif
