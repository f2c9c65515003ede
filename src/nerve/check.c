/*
** check.c - numeric checks on data coming in: finding NaN and infinity.
*/
#include <math.h>

#include "internal.h"

int nerve_mat_nonfinite(const nerve_mat *m, int *row, int *col) {
  if (!m || !m->data) return 0;
  for (int i = 0; i < m->rows; i++) {
    const float *r = m->data + (size_t)i * m->stride;
    /* the sum of finite floats can overflow, so test each one, but only
    ** in a row whose sum says something is wrong: the common case is one
    ** pass of additions */
    float s = 0;
    for (int j = 0; j < m->cols; j++) s += r[j] * 0.0f;
    if (s == 0) continue;
    for (int j = 0; j < m->cols; j++)
      if (!isfinite(r[j])) {
        if (row) *row = i;
        if (col) *col = j;
        return 1;
      }
  }
  return 0;
}
