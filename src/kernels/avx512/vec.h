/*
** avx512/vec.h - AVX-512F in the vector vocabulary of the kernel
** templates (act.h, unpacked.h): 16 floats a vector, comparisons and
** tails as mask registers, so every tail is one masked load or store.
*/
#ifndef NERVE_AVX512_VEC_H
#define NERVE_AVX512_VEC_H

#include <immintrin.h>

#include "kernels/simd.h"

#define V_ATTR __attribute__((target("avx512f,avx2,fma")))
#define V_INL                                                           \
  static inline __attribute__((always_inline, target("avx512f,avx2,fma")))

#define VW 16
typedef __m512 V;
typedef __mmask16 VM;
typedef __mmask16 VT;

/* Lanes 0 .. r-1 of 16 on (any r: 16 and more is every lane). */
V_INL __mmask16 v_tail(size_t r) {
  return (__mmask16)(r >= 16 ? 0xffffu : (1u << r) - 1);
}

/* bitwise ops on floats need only AVX-512F through the integer forms */
V_INL __m512 v_or(__m512 a, __m512 b) {
  return _mm512_castsi512_ps(
      _mm512_or_si512(_mm512_castps_si512(a), _mm512_castps_si512(b)));
}

V_INL __m512 v_and(__m512 a, __m512 b) {
  return _mm512_castsi512_ps(
      _mm512_and_si512(_mm512_castps_si512(a), _mm512_castps_si512(b)));
}

#define V_SET1(x) _mm512_set1_ps(x)
#define V_ZERO() _mm512_setzero_ps()
#define V_LOADU(p) _mm512_loadu_ps(p)
#define V_STOREU(p, v) _mm512_storeu_ps(p, v)
#define V_BCAST(p) _mm512_set1_ps(*(p))
#define V_ADD(a, b) _mm512_add_ps(a, b)
#define V_SUB(a, b) _mm512_sub_ps(a, b)
#define V_MUL(a, b) _mm512_mul_ps(a, b)
#define V_DIV(a, b) _mm512_div_ps(a, b)
/* x86's max and min return the second operand when either is NaN */
#define V_MAX(a, b) _mm512_max_ps(a, b)
#define V_MIN(a, b) _mm512_min_ps(a, b)
#define V_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)   /* a b + c */
#define V_FNMA(a, b, c) _mm512_fnmadd_ps(a, b, c) /* c - a b */
#define V_OR(a, b) v_or(a, b)
#define V_AND(a, b) v_and(a, b)
#define V_ABS(x) _mm512_abs_ps(x)
#define V_ROUND(x)                                                      \
  _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define V_GT(a, b) _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ)
#define V_GE(a, b) _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ)
#define V_LT(a, b) _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ)
#define V_SEL(m, t, f) _mm512_mask_blend_ps(m, f, t) /* m ? t : f */
#define V_KEEP(m, v) _mm512_maskz_mov_ps(m, v)       /* m ? v : 0 */
/* m ? a - b : f in one masked instruction */
#define V_SUB_IF(m, a, b, f) _mm512_mask_sub_ps(f, m, a, b)

#define V_TAIL(r) v_tail(r)
#define V_LOADT(p, t, r) _mm512_maskz_loadu_ps(t, p)
#define V_STORET(p, v, t, r) _mm512_mask_storeu_ps(p, t, v)
#define V_LOADT_FILL(p, t, r, fill) _mm512_mask_loadu_ps(V_SET1(fill), t, p)
/* the mask covers a whole vector too: no branch */
#define V_STOREN(p, v, t, r) _mm512_mask_storeu_ps(p, t, v)

#define V_HSUM(v) _mm512_reduce_add_ps(v)
#define V_HMAX(v) _mm512_reduce_max_ps(v)

#define V_ZEROUPPER() _mm256_zeroupper()

#endif
