/*
** avx2/packed.c - the packed GEMM's micro-kernels with AVX2 + FMA (the
** driver is gemm.c).
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

#define AVX2 __attribute__((target("avx2,fma")))
#define INL static inline __attribute__((always_inline, target("avx2,fma")))

enum { MR = 6, NR = 16 };

/* The tile of mr rows (a constant once inlined). */
INL void ukr(const int mr, int kc, const float *ap, const float *bp, float *c,
             size_t ldc, int acc, const float *bias) {
  __m256 z = _mm256_setzero_ps();
  __m256 c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z,
         c31 = z, c40 = z, c41 = z, c50 = z, c51 = z;
#define INIT(r, src)                                                    \
  if (mr > r) {                                                         \
    c##r##0 = _mm256_loadu_ps(src);                                     \
    c##r##1 = _mm256_loadu_ps((src) + 8);                               \
  }
  if (acc) {
    INIT(0, c) INIT(1, c + ldc) INIT(2, c + 2 * ldc) INIT(3, c + 3 * ldc)
    INIT(4, c + 4 * ldc) INIT(5, c + 5 * ldc)
  } else if (bias) {
    INIT(0, bias) INIT(1, bias) INIT(2, bias) INIT(3, bias) INIT(4, bias)
    INIT(5, bias)
  }
#undef INIT
#define ROW(r)                                                          \
  if (mr > r) {                                                         \
    __m256 x = _mm256_broadcast_ss(ap + r);                             \
    c##r##0 = _mm256_fmadd_ps(x, b0, c##r##0);                          \
    c##r##1 = _mm256_fmadd_ps(x, b1, c##r##1);                          \
  }
#define STEP                                                            \
  {                                                                     \
    __m256 b0 = _mm256_load_ps(bp), b1 = _mm256_load_ps(bp + 8);        \
    ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)                           \
    ap += MR;                                                           \
    bp += NR;                                                           \
  }
  int p = 0;
  for (; p + 4 <= kc; p += 4) {
    STEP STEP STEP STEP
  }
  for (; p < kc; p++) STEP
#undef STEP
#undef ROW
#define STORE(r)                                                        \
  if (mr > r) {                                                         \
    _mm256_storeu_ps(c + r * ldc, c##r##0);                             \
    _mm256_storeu_ps(c + r * ldc + 8, c##r##1);                         \
  }
  STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5)
#undef STORE
}

#define UKR(r)                                                          \
  static AVX2 void ukr##r(int kc, const float *ap, const float *bp,     \
                          float *c, size_t ldc, int acc,                \
                          const float *bias) {                          \
    ukr(r, kc, ap, bp, c, ldc, acc, bias);                              \
  }
UKR(1) UKR(2) UKR(3) UKR(4) UKR(5) UKR(6)
#undef UKR

void nerve_packed_avx2(nerve_kernels *k) {
  k->mr = MR;
  k->nr = NR;
  k->ukr[0] = ukr1;
  k->ukr[1] = ukr2;
  k->ukr[2] = ukr3;
  k->ukr[3] = ukr4;
  k->ukr[4] = ukr5;
  k->ukr[5] = ukr6;
  k->pack_a = nerve_pack_a_c;
  k->pack_b = nerve_pack_b_c;
}

#else

void nerve_packed_avx2(nerve_kernels *k) { (void)k; }

#endif
