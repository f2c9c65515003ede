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
