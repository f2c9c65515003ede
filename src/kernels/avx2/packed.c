/*
** avx2/packed.c - the packed GEMM's micro-kernels with AVX2 + FMA (the
** driver is gemm.c, the kernel ukr.h).
**
** A tile of 6 rows by 16 columns of C lives in 12 of the 16 registers:
** two fused multiply-add ports of 4 cycles' latency need 8 independent
** sums, and 6 broadcasts with 2 loads per 12 FMAs leave the load ports
** room. Panels are packed and aligned, so nothing is masked.
*/
#include "kernels/gemm.h"
#include "kernels/sets.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define UKR_MR 6
#define UKR_VW 8
#define UKR_V __m256
#define UKR_ZERO() _mm256_setzero_ps()
#define UKR_LOAD(p) _mm256_load_ps(p)
#define UKR_LOADU(p) _mm256_loadu_ps(p)
#define UKR_STOREU(p, v) _mm256_storeu_ps(p, v)
#define UKR_BCAST(p) _mm256_broadcast_ss(p)
#define UKR_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define UKR_ATTR __attribute__((target("avx2,fma")))
#include "kernels/ukr.h"

void nerve_packed_avx2(nerve_kernels *k) {
  static nerve_ukr *const fns[] = UKR_TABLE;
  k->mr = UKR_MR;
  k->nr = 2 * UKR_VW;
  for (int r = 0; r < UKR_MR; r++) k->ukr[r] = fns[r];
  k->pack_a = nerve_pack_a_c;
  k->pack_b = nerve_pack_b_c;
}

#else

void nerve_packed_avx2(nerve_kernels *k) { (void)k; }

#endif
