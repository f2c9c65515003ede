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

/* Where packing pays with AVX-512, measured on Zen 4 (32 to 1024 rows by
** 10 to 2048 columns, depth 10 to 784, packed against the unpacked
** slots): the unpacked 6 x 64 tiles keep up wherever B sits in L2, and
** lose to packing where the input gradient's depth is short (its slot
** sums dot products: up to 3.5x at depth 10) and on the largest shapes.
** Packing stays on for operands past 1 MB, where a core with two FMA
** ports (Intel's) ran the unpacked tiles at a third of its peak. */
static int pays(int shape, int m, int n, int k) {
  long b = (long)n * k, c = (long)m * n;
  switch (shape) {
  case NERVE_GEMM_NN: return m >= 256 && b >= 1L << 18;
  case NERVE_GEMM_NT:
    return (k <= 32 && n >= 256 && m >= 32) ||
           (k <= 128 && n >= 256 && m >= 128) || (m >= 256 && b >= 1L << 18);
  case NERVE_GEMM_TN: return k >= 128 && c >= 1L << 18;
  }
  return 0;
}

void nerve_packed_avx512(nerve_kernels *k) {
  static nerve_ukr *const fns[] = UKR_TABLE;
  k->mr = UKR_MR;
  k->nr = 2 * UKR_VW;
  for (int r = 0; r < UKR_MR; r++) k->ukr[r] = fns[r];
  k->pays = pays;
}

#else

void nerve_packed_avx512(nerve_kernels *k) { (void)k; }

#endif
