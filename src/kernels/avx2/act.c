/*
** avx2/act.c - the activation slots with AVX2 + FMA (act.h over vec.h).
*/
#include "kernels/kernels.h"
#include "kernels/simd.h"

#if defined(__x86_64__)
#include "kernels/avx2/vec.h"

#define ACT_SETTER nerve_act_avx2
#define ACT_WIDE 1

/* 2^n in the exponent bits, n in [-126, 127] */
#define ACT_POW2(p, n, lo)                                              \
  _mm256_andnot_ps(lo, _mm256_mul_ps(p, v_pow2(_mm256_cvtps_epi32(n))))
V_INL __m256 v_pow2(__m256i n) {
  return _mm256_castsi256_ps(
      _mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23));
}

/* 2^n as 2^(n/2) 2^(n - n/2): both normal for n in [-150, 128] */
V_INL __m256 v_pow2_wide(__m256 p, __m256 n) {
  __m256i ni = _mm256_cvtps_epi32(n);
  __m256i n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
  return _mm256_mul_ps(_mm256_mul_ps(p, v_pow2(n1)), v_pow2(n2));
}
#define ACT_POW2_WIDE(p, n) v_pow2_wide(p, n)

/* blendv tests the sign bit alone: x itself is the mask */
#define ACT_SEL_NEG(x, t, f) _mm256_blendv_ps(f, t, x)

#include "kernels/act.h"

#else

void nerve_act_avx2(nerve_kernels *k) { (void)k; }

#endif
