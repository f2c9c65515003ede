/*
** data_rows.c - row-wise helpers for data sets: gather through an index,
** per-column statistics and standardization, one-hot targets, and image
** shifts for augmentation.
*/
#include <math.h>
#include <string.h>

#include "internal.h"

/* ------------------------------------------------------- row helpers */

nerve_status nerve_data_gather(const nerve_mat *src, const int32_t *idx,
                               int count, nerve_mat *dst) {
  if (!nerve__mat_ok(src) || !nerve__mat_ok(dst) || count != dst->rows ||
      dst->cols != src->cols)
    return NERVE_ESHAPE;
  for (int i = 0; i < count; i++)
    if (idx[i] < 0 || idx[i] >= src->rows) return NERVE_EARG;
  for (int i = 0; i < count; i++)
    memcpy(dst->data + (size_t)i * dst->stride,
           src->data + (size_t)idx[i] * src->stride,
           (size_t)src->cols * sizeof(float));
  return NERVE_OK;
}

nerve_status nerve_data_stats(const nerve_mat *x, float *mean, float *sd) {
  if (!nerve__mat_ok(x) || !mean || !sd) return NERVE_EARG;
  for (int j = 0; j < x->cols; j++) {
    double m = 0, q = 0;
    /* Welford's update: stable for columns with a large mean */
    for (int i = 0; i < x->rows; i++) {
      double v = x->data[(size_t)i * x->stride + j];
      double d = v - m;
      m += d / (i + 1);
      q += d * (v - m);
    }
    double s = sqrt(q / x->rows);
    if (!isfinite(m) || !isfinite(s)) return NERVE_ENAN;
    mean[j] = (float)m;
    sd[j] = (float)s;
  }
  return NERVE_OK;
}

nerve_status nerve_data_standardize(nerve_mat *x, const float *mean,
                                    const float *sd) {
  if (!nerve__mat_ok(x) || !mean || !sd) return NERVE_EARG;
  for (int j = 0; j < x->cols; j++)
    if (!isfinite(mean[j]) || !isfinite(sd[j]) || sd[j] < 0) return NERVE_ENAN;
  for (int i = 0; i < x->rows; i++) {
    float *r = x->data + (size_t)i * x->stride;
    for (int j = 0; j < x->cols; j++) {
      /* a constant column has nothing to scale: it only moves to 0 */
      float s = sd[j] > 0 ? sd[j] : 1.0f;
      r[j] = (r[j] - mean[j]) / s;
    }
  }
  return NERVE_OK;
}

nerve_status nerve_data_one_hot(const nerve_mat *y, nerve_mat *out,
                                int *bad_row) {
  if (!nerve__mat_ok(y) || !nerve__mat_ok(out) || y->cols != 1 ||
      out->rows != y->rows)
    return NERVE_ESHAPE;
  for (int i = 0; i < y->rows; i++) {
    float v = y->data[(size_t)i * y->stride];
    if (!(v >= 1 && v <= out->cols && v == floorf(v))) {
      if (bad_row) *bad_row = i;
      return NERVE_EARG;
    }
  }
  for (int i = 0; i < y->rows; i++) {
    float *r = out->data + (size_t)i * out->stride;
    memset(r, 0, (size_t)out->cols * sizeof(float));
    r[(int)y->data[(size_t)i * y->stride] - 1] = 1;
  }
  return NERVE_OK;
}

nerve_status nerve_data_shift(const nerve_mat *x, int width, int height,
                              int dx, int dy, nerve_mat *out) {
  if (!nerve__mat_ok(x) || !nerve__mat_ok(out) || out->rows != x->rows ||
      out->cols != x->cols || width < 1 || height < 1 ||
      (size_t)width * (size_t)height != (size_t)x->cols)
    return NERVE_ESHAPE;
  if (dx <= -width || dx >= width || dy <= -height || dy >= height)
    return NERVE_EARG;
  for (int i = 0; i < x->rows; i++) {
    const float *src = x->data + (size_t)i * x->stride;
    float *dst = out->data + (size_t)i * out->stride;
    memset(dst, 0, (size_t)x->cols * sizeof(float));
    /* output pixel (r, c) = input (r - dy, c - dx) */
    int c0 = dx > 0 ? dx : 0, c1 = dx < 0 ? width + dx : width;
    for (int r = dy > 0 ? dy : 0; r < (dy < 0 ? height + dy : height); r++)
      memcpy(dst + (size_t)r * width + c0,
             src + (size_t)(r - dy) * width + (c0 - dx),
             (size_t)(c1 - c0) * sizeof(float));
  }
  return NERVE_OK;
}
