/*
** arrays.h - what the kernel tests share: a seeded generator and arrays
** that span exactly the floats of a strided view, so that AddressSanitizer
** sees any read past its end and padding shows any stray read or write.
*/
#ifndef NERVE_ARRAYS_H
#define NERVE_ARRAYS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const float GUARD = -7777.25f; /* padding of outputs: must stay */

static uint64_t seed = 0x9e3779b97f4a7c15u;

static uint32_t rnd(void) {
  seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
  return (uint32_t)(seed >> 32);
}

static float uni(float lo, float hi) {
  return lo + (hi - lo) * (float)(rnd() >> 8) * 0x1p-24f;
}

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  return p;
}

/* Exactly the floats a rows x cols view with leading dimension ld spans:
** values in [-1, 1], padding set to pad. */
static float *view(int rows, int cols, int ld, float pad, size_t *len) {
  size_t n = rows > 0 ? (size_t)(rows - 1) * ld + cols : 0;
  float *p = xmalloc(n * sizeof *p);
  for (size_t i = 0; i < n; i++)
    p[i] = (int)(i % ld) < cols ? uni(-1, 1) : pad;
  *len = n;
  return p;
}

static float *dup(const float *p, size_t n) {
  float *q = xmalloc(n * sizeof *q);
  if (n) memcpy(q, p, n * sizeof *q);
  return q;
}

static int same_bits(float x, float y) { return memcmp(&x, &y, sizeof x) == 0; }

#endif
