/*
** data_idx.c - IDX files (the MNIST format: big-endian header, then the
** elements), plain or gzip, and the MNIST pair of images and labels.
*/
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "data_read.h"

/* ----------------------------------------------------------------- idx */

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

/* One element of IDX type t (big-endian) as a float. */
static float idx_value(int t, const unsigned char *p) {
  switch (t) {
  case 0x08: return (float)p[0];
  case 0x09: return (float)(signed char)p[0];
  case 0x0B: return (float)(int16_t)(uint16_t)(p[0] << 8 | p[1]);
  case 0x0C: return (float)(int32_t)be32(p);
  case 0x0D: {
    uint32_t u = be32(p);
    float f;
    memcpy(&f, &u, 4);
    return f;
  }
  default: {
    uint64_t u = (uint64_t)be32(p) << 32 | be32(p + 4);
    double d;
    memcpy(&d, &u, 8);
    return (float)d;
  }
  }
}

static int idx_size(int t) {
  switch (t) {
  case 0x08:
  case 0x09: return 1;
  case 0x0B: return 2;
  case 0x0C:
  case 0x0D: return 4;
  case 0x0E: return 8;
  }
  return 0;
}

static nerve_status idx_read(nerve_ctx *ctx, rd *r, nerve_data *out,
                             nerve_data_err *e) {
  unsigned char h[4];
  if (!nerve__rd_bytes(r, h, 4, e)) {
    if (r->bad) return r->bad;
    nerve__data_err(e, (long)nerve__rd_offset(r), 1,
                    "the file ends inside the 4-byte magic "
                    "number");
    return NERVE_ETRUNC;
  }
  int t = h[2], nd = h[3], size = idx_size(t);
  if (h[0] || h[1] || !size || nd < 1 || nd > NERVE_IDX_MAXDIMS) {
    nerve__data_err(e, 0, 1,
                    "magic number %02x %02x %02x %02x, expected 00 00 then "
                    "a type (08, 09, 0b, 0c, 0d, 0e) and 1..%d dimensions",
                    h[0], h[1], h[2], h[3], NERVE_IDX_MAXDIMS);
    return NERVE_EFORMAT;
  }
  size_t cells = 1;
  for (int i = 0; i < nd; i++) {
    unsigned long long at = nerve__rd_offset(r);
    if (!nerve__rd_bytes(r, h, 4, e)) {
      if (r->bad) return r->bad;
      nerve__data_err(e, (long)at, 1, "the file ends inside dimension %d of %d",
                      i + 1, nd);
      return NERVE_ETRUNC;
    }
    uint32_t d = be32(h);
    if (d < 1 || d > NERVE_MAX_DIM) {
      nerve__data_err(e, (long)at, 1, "dimension %d is %lu, expected 1..%d",
                      i + 1, (unsigned long)d, NERVE_MAX_DIM);
      return d < 1 ? NERVE_EFORMAT : NERVE_ELIMIT;
    }
    out->dims[i] = (int)d;
    if (cells > NERVE_DATA_MAX_CELLS / d) {
      nerve__data_err(e, (long)at, 1,
                      "more than %zu values (the loader's limit)",
                      (size_t)NERVE_DATA_MAX_CELLS);
      return NERVE_ELIMIT;
    }
    cells *= d;
  }
  size_t cols = cells / (size_t)out->dims[0];
  if (cols > NERVE_MAX_DIM) {
    nerve__data_err(e, (long)nerve__rd_offset(r), 1,
                    "items of %zu values, expected at most "
                    "%d",
                    cols, NERVE_MAX_DIM);
    return NERVE_ELIMIT;
  }
  out->ndims = nd;
  out->type = t;
  /* Allocated as the data arrives, so a lying header costs nothing. */
  grow g = {0};
  unsigned char v[8];
  nerve_status s = NERVE_OK;
  for (size_t i = 0; i < cells && s == NERVE_OK; i++) {
    if (!nerve__rd_bytes(r, v, (size_t)size, e)) {
      if (r->bad)
        s = r->bad;
      else {
        nerve__data_err(e, (long)nerve__rd_offset(r), 1,
                        "the file ends after %zu of %zu "
                        "values, expected %zu more bytes",
                        i, cells, (cells - i) * (size_t)size);
        s = NERVE_ETRUNC;
      }
      break;
    }
    float f = idx_value(t, v);
    if (!isfinite(f)) {
      nerve__data_err(e, (long)(nerve__rd_offset(r) - (unsigned)size), 1,
                      "value %zu is not "
                      "a finite number",
                      i + 1);
      s = NERVE_EFORMAT;
      break;
    }
    s = nerve__push(ctx, &g, f, 0, e);
  }
  if (s == NERVE_OK) {
    unsigned long long at = nerve__rd_offset(r);
    if (nerve__rd_bytes(r, v, 1, e)) {
      nerve__data_err(e, (long)at, 1,
                      "extra bytes after the %zu values, expected the "
                      "end of the file",
                      cells);
      s = NERVE_EFORMAT;
    } else if (r->bad)
      s = r->bad;
  }
  if (s == NERVE_OK) {
    out->x = g.p;
    out->rows = out->dims[0];
    out->n_x = (int)cols;
  } else
    nerve_free(ctx, g.p);
  return s;
}

nerve_status nerve_data_idx(nerve_ctx *ctx, const char *path, nerve_data *out,
                            nerve_data_err *e) {
  if (!ctx || !path || !out) return NERVE_EARG;
  memset(out, 0, sizeof *out);
  if (e) memset(e, 0, sizeof *e);
  rd r;
  nerve_status s = nerve__rd_open(ctx, &r, path, e);
  if (s != NERVE_OK) return s;
  r.binary = 1;
  s = idx_read(ctx, &r, out, e);
  if (s != NERVE_OK) memset(out, 0, sizeof *out);
  nerve__rd_close(ctx, &r);
  return s;
}

nerve_status nerve_data_mnist(nerve_ctx *ctx, const char *images,
                              const char *labels, nerve_data *out,
                              nerve_data_err *e, int *which) {
  if (!ctx || !images || !labels || !out || !which) return NERVE_EARG;
  memset(out, 0, sizeof *out);
  nerve_data im, lb;
  *which = 0;
  nerve_status s = nerve_data_idx(ctx, images, &im, e);
  if (s != NERVE_OK) return s;
  if (im.type != 0x08 || im.ndims != 3) {
    nerve__data_err(e, 0, 1,
                    "%d dimensions of type %02x, expected MNIST images "
                    "(3 dimensions of unsigned bytes)",
                    im.ndims, im.type);
    nerve_data_free(ctx, &im);
    return NERVE_EFORMAT;
  }
  *which = 1;
  s = nerve_data_idx(ctx, labels, &lb, e);
  if (s == NERVE_OK && (lb.type != 0x08 || lb.ndims != 1)) {
    nerve__data_err(e, 0, 1,
                    "%d dimensions of type %02x, expected MNIST labels "
                    "(1 dimension of unsigned bytes)",
                    lb.ndims, lb.type);
    s = NERVE_EFORMAT;
  }
  if (s == NERVE_OK && lb.rows != im.rows) {
    nerve__data_err(e, 0, 1, "%d labels, expected %d (one per image)", lb.rows,
                    im.rows);
    s = NERVE_EFORMAT;
  }
  for (int i = 0; s == NERVE_OK && i < lb.rows; i++)
    if (lb.x[i] > 9) {
      nerve__data_err(e, 8 + i, 1, "label %d is %g, expected a digit 0..9",
                      i + 1, (double)lb.x[i]);
      s = NERVE_EFORMAT;
    }
  if (s != NERVE_OK) {
    nerve_data_free(ctx, &im);
    nerve_data_free(ctx, &lb);
    return s;
  }
  size_t n = (size_t)im.rows * (size_t)im.n_x;
  for (size_t i = 0; i < n; i++)
    im.x[i] *= 1.0f / 255.0f;
  for (int i = 0; i < lb.rows; i++)
    lb.x[i] += 1;
  *out = im;
  out->y = lb.x;
  out->n_y = 1;
  return NERVE_OK;
}
