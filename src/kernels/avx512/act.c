/*
** avx512/act.c - the activation slots with AVX-512F (act.h over vec.h).
*/
#include "kernels/kernels.h"
#include "kernels/simd.h"

#if defined(__x86_64__)
#include "kernels/avx512/vec.h"

#define ACT_SETTER nerve_act_avx512
#define ACT_WIDE 1

/* scalef takes 2^n whole: no exponent bits to build, no range to split */
#define ACT_POW2(p, n, lo) _mm512_maskz_scalef_ps((__mmask16)~(lo), p, n)
#define ACT_POW2_WIDE(p, n) _mm512_scalef_ps(p, n)
#define ACT_NEGABS_WIDE(x) _mm512_sub_ps(_mm512_setzero_ps(), _mm512_abs_ps(x))

#include "kernels/act.h"

#else

void nerve_act_avx512(nerve_kernels *k) { (void)k; }

#endif
