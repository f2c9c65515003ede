/*
** avx512/packed.c - the packed GEMM's micro-kernels with AVX-512F (the
** driver is gemm.c, the kernel ukr.h).
**
** A tile of 12 rows by 32 columns of C lives in 24 of the 32 registers:
** two 512-bit fused multiply-add ports of 4 cycles' latency (Intel's
** server cores) need 8 independent sums, a core with one (Zen 4) 4; 12
** broadcasts and 2 loads per 24 FMAs leave the load ports room, and the B
** micro-panel (kc x 32) is half of what a 64-column tile's would be in L1.
** Panels are packed and aligned, so nothing is masked.
*/
#include "kernels/gemm.h"
#include "kernels/sets.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define UKR_MR 12
#define UKR_VW 16
#define UKR_V __m512
#define UKR_ZERO() _mm512_setzero_ps()
#define UKR_LOAD(p) _mm512_load_ps(p)
#define UKR_LOADU(p) _mm512_loadu_ps(p)
#define UKR_STOREU(p, v) _mm512_storeu_ps(p, v)
#define UKR_BCAST(p) _mm512_set1_ps(*(p))
#define UKR_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define UKR_ATTR __attribute__((target("avx512f,avx2,fma")))
#define UKR_ZEROUPPER() _mm256_zeroupper()
#include "kernels/ukr.h"

void nerve_packed_avx512(nerve_kernels *k) {
  static nerve_ukr *const fns[] = UKR_TABLE;
  k->mr = UKR_MR;
  k->nr = 2 * UKR_VW;
  for (int r = 0; r < UKR_MR; r++) k->ukr[r] = fns[r];
}

#else

void nerve_packed_avx512(nerve_kernels *k) { (void)k; }

#endif
