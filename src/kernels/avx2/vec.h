/*
** avx2/vec.h - AVX2 + FMA in the vector vocabulary of the kernel
** templates (act.h, unpacked.h): 8 floats a vector, comparison masks as
** vectors, tails through a lane mask (loads) and partial stores (simd.h's
** nerve_store8, which shuns vmaskmovps's slow store on AMD cores).
*/
#ifndef NERVE_AVX2_VEC_H
#define NERVE_AVX2_VEC_H

#include <immintrin.h>

#include "kernels/simd.h"

#define V_ATTR __attribute__((target("avx2,fma")))
#define V_INL static inline __attribute__((always_inline, target("avx2,fma")))

#define VW 8
typedef __m256 V;
typedef __m256 VM;  /* a comparison's result */
typedef __m256i VT; /* a tail's lanes */

#define V_SET1(x) _mm256_set1_ps(x)
#define V_ZERO() _mm256_setzero_ps()
#define V_LOADU(p) _mm256_loadu_ps(p)
#define V_STOREU(p, v) _mm256_storeu_ps(p, v)
#define V_BCAST(p) _mm256_broadcast_ss(p)
#define V_ADD(a, b) _mm256_add_ps(a, b)
#define V_SUB(a, b) _mm256_sub_ps(a, b)
#define V_MUL(a, b) _mm256_mul_ps(a, b)
#define V_DIV(a, b) _mm256_div_ps(a, b)
/* x86's max and min return the second operand when either is NaN */
#define V_MAX(a, b) _mm256_max_ps(a, b)
#define V_MIN(a, b) _mm256_min_ps(a, b)
#define V_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)   /* a b + c */
#define V_FNMA(a, b, c) _mm256_fnmadd_ps(a, b, c) /* c - a b */
#define V_OR(a, b) _mm256_or_ps(a, b)
#define V_AND(a, b) _mm256_and_ps(a, b)
#define V_ABS(x) _mm256_andnot_ps(V_SET1(-0.0f), x)
#define V_ROUND(x)                                                      \
  _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define V_GT(a, b) _mm256_cmp_ps(a, b, _CMP_GT_OQ)
#define V_GE(a, b) _mm256_cmp_ps(a, b, _CMP_GE_OQ)
#define V_LT(a, b) _mm256_cmp_ps(a, b, _CMP_LT_OQ)
#define V_SEL(m, t, f) _mm256_blendv_ps(f, t, m) /* m ? t : f */
#define V_KEEP(m, v) _mm256_and_ps(m, v)         /* m ? v : 0 */

/* Tails of r lanes (r < 8, or r <= 8 for V_TAIL and V_STOREN): t =
** V_TAIL(r) once, then loads (0 past r) and stores touch lanes 0 .. r-1
** only. */
#define V_TAIL(r) nerve_mask8(r)
#define V_LOADT(p, t, r) _mm256_maskload_ps(p, t)
#define V_STORET(p, v, t, r) nerve_store8(p, v, r)
/* lanes past r are fill */
#define V_LOADT_FILL(p, t, r, fill)                                     \
  _mm256_blendv_ps(V_SET1(fill), _mm256_maskload_ps(p, t),              \
                   _mm256_castsi256_ps(t))

V_INL float v_hsum(V v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v),
                        _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

V_INL float v_hmax(V v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v),
                        _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
#define V_HSUM(v) v_hsum(v)
#define V_HMAX(v) v_hmax(v)

#define V_ZEROUPPER() _mm256_zeroupper()

#endif
