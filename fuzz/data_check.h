/*
** data_check.h - what the data-loader harnesses check on one input. The
** loaders read files, so the input goes to a file of this process first.
** No memory error; a load either succeeds with sane shapes and finite
** numbers or fails with an empty result and a message; every byte is freed;
** a file cannot make the loader hold much more than its own size (a header
** that lies about its size gets no large allocation).
*/
#ifndef NERVE_DATA_CHECK_H
#define NERVE_DATA_CHECK_H

#include <math.h>
#include <unistd.h>

#include "fuzz.h"
#include "nerve.h"

enum { DATA_CSV, DATA_FANN, DATA_IDX };

/* The input as a file; its name is per process, so parallel fuzzers
** (-jobs) do not share it. */
static const char *data_file(const uint8_t *data, size_t size) {
  static char path[64];
  snprintf(path, sizeof path, "/tmp/nerve-fuzz-%ld.dat", (long)getpid());
  FILE *f = fopen(path, "wb");
  if (!f) return NULL;
  size_t put = fwrite(data, 1, size, f);
  if (fclose(f) != 0 || put != size) return NULL;
  return path;
}

static void check_data(int which, const uint8_t *data, size_t size) {
  const char *path = data_file(data, size);
  if (!path) return;
  fz_counter c;
  memset(&c, 0, sizeof c);
  c.cap = (size_t)512 << 20; /* a gzip bomb meets "not enough memory" */
  nerve_ctx *ctx = NULL;
  if (nerve_ctx_new(&ctx, fz_alloc, &c) != NERVE_OK) return;
  size_t base = c.live;
  nerve_data d;
  nerve_data_err err;
  memset(&d, 0xA5, sizeof d); /* the loader must set every field it owns */
  memset(&err, 0, sizeof err);
  nerve_status s;
  if (which == DATA_CSV) {
    /* the first byte picks the options, the rest is the file */
    nerve_csv_opts o = {size > 0 && (data[0] & 1), size > 0 ? (data[0] >> 1) & 3 : 1,
                        size > 0 && (data[0] & 8) ? ' ' : 0};
    s = nerve_data_csv(ctx, path, &o, &d, &err);
  } else if (which == DATA_FANN) {
    s = nerve_data_fann(ctx, path, &d, &err);
  } else {
    s = nerve_data_idx(ctx, path, &d, &err);
  }
  if (s == NERVE_OK) {
    FZ_ASSERT(d.rows >= 1 && d.n_x >= 0 && d.n_y >= 0);
    size_t nx = (size_t)d.rows * (size_t)d.n_x, ny = (size_t)d.rows * (size_t)d.n_y;
    FZ_ASSERT(nx + ny <= NERVE_DATA_MAX_CELLS);
    FZ_ASSERT(nx == 0 || d.x != NULL);
    FZ_ASSERT(ny == 0 || d.y != NULL);
    /* every number is readable; text formats only give finite ones */
    for (size_t i = 0; i < nx; i++)
      FZ_ASSERT(which == DATA_IDX || isfinite(d.x[i]));
    for (size_t i = 0; i < ny; i++) FZ_ASSERT(isfinite(d.y[i]));
    nerve_data_free(ctx, &d);
  } else {
    FZ_ASSERT(s == NERVE_EFORMAT || s == NERVE_ETRUNC || s == NERVE_ELIMIT ||
              s == NERVE_ENOMEM || s == NERVE_EIO || s == NERVE_ENAN);
    FZ_ASSERT(memchr(err.what, 0, sizeof err.what) != NULL);
    FZ_ASSERT(d.x == NULL && d.y == NULL && d.rows == 0); /* out is empty */
  }
  FZ_ASSERT(c.live == base);
  nerve_ctx_free(ctx);
  FZ_ASSERT(c.live == 0);
  unlink(path);
}

#endif
