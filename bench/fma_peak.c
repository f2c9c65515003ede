/* The machine's FMA peak: 12 independent chains of 16-float (AVX-512) or
** 8-float (AVX2) fused multiply-adds, one thread. Where the CPU has
** AVX512-BF16 (checked at run time), also the bf16 peak: 12 chains of
** vdpbf16ps, as the row bf16_peak. CSV as bench/nerve.lua. */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double cpu(void) { return (double)clock() / CLOCKS_PER_SEC; }

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* Twelve named accumulators: an array would live in memory at -O2. */
#define CHAINS(T, SET, F)                                                \
  T c0 = SET(0), c1 = SET(1), c2 = SET(2), c3 = SET(3), c4 = SET(4),     \
    c5 = SET(5), c6 = SET(6), c7 = SET(7), c8 = SET(8), c9 = SET(9),     \
    c10 = SET(10), c11 = SET(11);                                        \
  for (long i = 0; i < n; i++) {                                         \
    c0 = F(c0, a, b); c1 = F(c1, a, b); c2 = F(c2, a, b);                \
    c3 = F(c3, a, b); c4 = F(c4, a, b); c5 = F(c5, a, b);                \
    c6 = F(c6, a, b); c7 = F(c7, a, b); c8 = F(c8, a, b);                \
    c9 = F(c9, a, b); c10 = F(c10, a, b); c11 = F(c11, a, b);            \
  }
/* their sum, so that no chain is dead code */
#define SUM12(ADD)                                                       \
  ADD(ADD(ADD(ADD(c0, c1), ADD(c2, c3)), ADD(ADD(c4, c5), ADD(c6, c7))), \
      ADD(ADD(c8, c9), ADD(c10, c11)))

#define S512(v) _mm512_set1_ps((float)(v))
#define S256(v) _mm256_set1_ps((float)(v))

__attribute__((target("avx512f"))) static float run512(long n) {
  __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(1e-6f);
  CHAINS(__m512, S512, _mm512_fmadd_ps)
  return _mm512_reduce_add_ps(SUM12(_mm512_add_ps));
}

__attribute__((target("avx2,fma"))) static float run256(long n) {
  __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(1e-6f);
  CHAINS(__m256, S256, _mm256_fmadd_ps)
  __m256 s = SUM12(_mm256_add_ps);
  float o[8];
  _mm256_storeu_ps(o, s);
  return o[0] + o[7];
}

/* Each vdpbf16ps of 512 bits: 16 lanes x 2 bf16 products summed into
** float32, 32 multiply-adds (64 FLOP). Unmeasured: written on a Zen 3
** without AVX512-BF16, where it compiles and is skipped at run time. No
** AMX: its tiles need the kernel's permission (arch_prctl) first. */
__attribute__((target("avx512bf16,avx512f"))) static float runbf16(long n) {
  __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-3f), _mm512_set1_ps(1e-3f)),
           b = a;
  CHAINS(__m512, S512, _mm512_dpbf16_ps)
  return _mm512_reduce_add_ps(SUM12(_mm512_add_ps));
}

int main(void) {
  int reps = getenv("BENCH_REPS") ? atoi(getenv("BENCH_REPS")) : 5;
  int w512 = __builtin_cpu_supports("avx512f");
  long n = 20000000;
  volatile float sink = 0;
  for (int r = -1; r < reps; r++) {
    double t0 = now(), c0 = cpu();
    sink += w512 ? run512(n) : run256(n);
    double t = now() - t0;
    if (r >= 0)
      printf("fma_peak,%s,1,GFLOP/s,%g,%.3f\n", w512 ? "avx512" : "avx2",
             2.0 * 12 * (w512 ? 16 : 8) * n / t * 1e-9, (cpu() - c0) / t);
  }
  int bf16 = __builtin_cpu_supports("avx512bf16");
  for (int r = -1; bf16 && r < reps; r++) {
    double t0 = now(), c0 = cpu();
    sink += runbf16(n);
    double t = now() - t0;
    if (r >= 0)
      printf("bf16_peak,avx512bf16,1,GFLOP/s,%g,%.3f\n", 64.0 * 12 * n / t * 1e-9,
             (cpu() - c0) / t);
  }
  (void)sink;
  return 0;
}
