/*
** check.c - numeric checks on data coming in: finding NaN and infinity.
*/
#include <math.h>

#include "internal.h"

/* 0 when n floats are all finite: x * 0 is 0 for them and NaN for an
** infinity or a NaN. Eight chains, so it runs at load speed rather than
** one add's latency per float (training checks every input row). */
static int row_zero_sum(const float *r, int n) {
  float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
  int j = 0;
  for (; j + 8 <= n; j += 8) {
    s0 += r[j] * 0.0f;
    s1 += r[j + 1] * 0.0f;
    s2 += r[j + 2] * 0.0f;
    s3 += r[j + 3] * 0.0f;
    s4 += r[j + 4] * 0.0f;
    s5 += r[j + 5] * 0.0f;
    s6 += r[j + 6] * 0.0f;
    s7 += r[j + 7] * 0.0f;
  }
  for (; j < n; j++) s0 += r[j] * 0.0f;
  return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)) == 0;
}

int nerve_mat_nonfinite(const nerve_mat *m, int *row, int *col) {
  if (!m || !m->data) return 0;
  for (int i = 0; i < m->rows; i++) {
    const float *r = m->data + (size_t)i * m->stride;
    /* the sum of finite floats can overflow, so test each one, but only
    ** in a row whose sum says something is wrong: the common case is one
    ** pass of additions */
    if (row_zero_sum(r, m->cols)) continue;
    for (int j = 0; j < m->cols; j++)
      if (!isfinite(r[j])) {
        if (row) *row = i;
        if (col) *col = j;
        return 1;
      }
  }
  return 0;
}
