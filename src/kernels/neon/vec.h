/*
** neon/vec.h - aarch64 NEON in the vector vocabulary of the kernel
** templates (act.h, unpacked.h): 4 floats a vector, comparison masks as
** vectors. NEON has no masked loads: a tail is its lane count, loaded and
** stored lane by lane (simd.h's nerve_load4, nerve_store4).
*/
#ifndef NERVE_NEON_VEC_H
#define NERVE_NEON_VEC_H

#include <arm_neon.h>

#include "kernels/simd.h"

#define V_ATTR
#define V_INL static inline __attribute__((always_inline))

#define VW 4
typedef float32x4_t V;
typedef uint32x4_t VM;
typedef size_t VT;

#define V_SET1(x) vdupq_n_f32(x)
#define V_ZERO() vdupq_n_f32(0.0f)
#define V_LOADU(p) vld1q_f32(p)
#define V_STOREU(p, v) vst1q_f32(p, v)
#define V_ADD(a, b) vaddq_f32(a, b)
#define V_SUB(a, b) vsubq_f32(a, b)
#define V_MUL(a, b) vmulq_f32(a, b)
#define V_DIV(a, b) vdivq_f32(a, b)
/* NEON's max and min return NaN for a NaN operand, so the clamps of exp
** keep NaN as x86's do */
#define V_MAX(a, b) vmaxq_f32(a, b)
#define V_MIN(a, b) vminq_f32(a, b)
#define V_FMA(a, b, c) vfmaq_f32(c, a, b)  /* a b + c */
#define V_FNMA(a, b, c) vfmsq_f32(c, a, b) /* c - a b */
#define V_ABS(x) vabsq_f32(x)
#define V_ROUND(x) vrndnq_f32(x)
#define V_GT(a, b) vcgtq_f32(a, b)
#define V_GE(a, b) vcgeq_f32(a, b)
#define V_LT(a, b) vcltq_f32(a, b)
#define V_SEL(m, t, f) vbslq_f32(m, t, f) /* m ? t : f */
#define V_KEEP(m, v)                                                    \
  vreinterpretq_f32_u32(vandq_u32(m, vreinterpretq_u32_f32(v)))

#define V_TAIL(r) (r) /* the lane count itself */
#define V_LOADT(p, t, r) nerve_load4(p, t, 0.0f)
#define V_STORET(p, v, t, r) nerve_store4(p, v, t)
#define V_LOADT_FILL(p, t, r, fill) nerve_load4(p, t, fill)

#define V_HSUM(v) vaddvq_f32(v)
#define V_HMAX(v) vmaxvq_f32(v)

#define V_ZEROUPPER() ((void)0)

#endif
