/*
** fuzz.h - what the libFuzzer harnesses share: a counting allocator with a
** cap (so an input asking for gigabytes gets "not enough memory" instead of
** exhausting the fuzzer) and a check that aborts on a broken invariant (the
** fuzzer records the input as a crash). A harness is one file,
** fuzz/fuzz_NAME.c, defining LLVMFuzzerTestOneInput; its seeds live in
** fuzz/corpus/NAME/ and the Makefile finds it by its name.
*/
#ifndef NERVE_FUZZ_H
#define NERVE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fz_counter {
  size_t live, peak, biggest, calls, cap; /* cap 0: none */
} fz_counter;

/* lua_Alloc's contract (the engine's and Lua's allocators share it). */
static void *fz_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  fz_counter *c = (fz_counter *)ud;
  size_t old = ptr ? osize : 0;
  if (nsize == 0) {
    free(ptr);
    c->live -= old;
    return NULL;
  }
  if (c->cap && nsize > old && c->live - old + nsize > c->cap) return NULL;
  void *p = realloc(ptr, nsize);
  if (!p) return NULL;
  c->live = c->live - old + nsize;
  c->calls++;
  if (c->live > c->peak) c->peak = c->live;
  if (nsize > c->biggest) c->biggest = nsize;
  return p;
}

/* A broken invariant is a finding: say which, then abort. */
#define FZ_ASSERT(cond)                                                   \
  do {                                                                    \
    if (!(cond)) {                                                        \
      fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__,          \
              __LINE__, #cond);                                           \
      abort();                                                            \
    }                                                                     \
  } while (0)

#endif
