/*
** dispatch.c - builds each instruction set's kernel table once per process
** and picks one from CPUID (x86-64; on aarch64 NEON is always there). The
** tables are the only process-wide state.
*/
#include <pthread.h>
#include <string.h>

#include "kernels.h"
#include "sets.h"

/* In order of preference: the best usable one is the last. */
enum { SCALAR, AVX2, AVX512, NEON, NSETS };

static nerve_kernels tables[NSETS];
static int usable[NSETS];
static pthread_once_t once = PTHREAD_ONCE_INIT;

#if defined(__x86_64__)
/* __builtin_cpu_supports also checks that the OS saves the wide registers. */
static int has_avx2(void) {
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
static int has_avx512(void) {
  return has_avx2() && __builtin_cpu_supports("avx512f");
}
#if defined(NERVE_AMX)
#include <cpuid.h>
/* AMX-TILE and AMX-BF16 (CPUID 7.0 EDX bits 24, 22), their state enabled
** in XCR0 (bits 17, 18: tile configuration and data) by the OS. */
static int has_amx_bf16(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c >> 27 & 1)) return 0; /* OSXSAVE */
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
  if (!(d >> 24 & 1) || !(d >> 22 & 1)) return 0;
  unsigned lo, hi;
  __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (lo >> 17 & 3) == 3;
}
#endif
static int has_avx512_bf16(void) {
  return has_avx512() && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512bf16");
}
#define X86 1
#else
#define X86 0
#endif

static void build(void) {
  nerve_kernels_ref(&tables[SCALAR]);
  usable[SCALAR] = 1;
#if X86
  __builtin_cpu_init();
  tables[AVX2] = tables[SCALAR];
  nerve_kernels_avx2(&tables[AVX2]);
  nerve_blocks(&tables[AVX2]);
  usable[AVX2] = has_avx2();
  tables[AVX512] = tables[AVX2];
  nerve_kernels_avx512(&tables[AVX512]);
  if (has_avx512_bf16()) nerve_bf16_avx512(&tables[AVX512]);
#if defined(NERVE_AMX)
  if (has_avx512_bf16() && has_amx_bf16()) nerve_amx_avx512(&tables[AVX512]);
#endif
  nerve_blocks(&tables[AVX512]);
  usable[AVX512] = has_avx512();
#endif
#if defined(__aarch64__)
  tables[NEON] = tables[SCALAR];
  nerve_kernels_neon(&tables[NEON]);
  usable[NEON] = 1;
#endif
}

const nerve_kernels *nerve_kernels_get(const char *name) {
  pthread_once(&once, build);
  for (int i = 0; i < NSETS; i++)
    if (usable[i] && name && strcmp(tables[i].name, name) == 0)
      return &tables[i];
  return NULL;
}

const nerve_kernels *nerve_kernels_best(void) {
  pthread_once(&once, build);
  for (int i = NSETS - 1; i >= 0; i--)
    if (usable[i]) return &tables[i];
  return &tables[SCALAR];
}
