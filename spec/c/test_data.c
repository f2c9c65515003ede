/*
** test_data.c - the engine's data loaders without Lua: results on the
** small files in spec/data, a failure of every allocation in turn (an
** ordinary NERVE_ENOMEM that leaks nothing), large generated files that
** cross the reader's buffer and the buffers' growth, damaged files, and
** the row helpers.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "check.h"
#include "nerve.h"

typedef struct counter {
  size_t live, calls, fail_at, bad_free;
} counter;

typedef union hdr {
  size_t n;
  max_align_t align;
} hdr;

static void *count_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  counter *c = ud;
  if (nsize == 0) {
    if (ptr) {
      hdr *h = (hdr *)ptr - 1;
      if (h->n != osize) c->bad_free++;
      c->live -= h->n;
      free(h);
    }
    return NULL;
  }
  if (ptr) return NULL;
  c->calls++;
  if (c->fail_at && c->calls == c->fail_at) return NULL;
  hdr *h = malloc(sizeof *h + nsize);
  if (!h) return NULL;
  h->n = nsize;
  c->live += nsize;
  return h + 1;
}

typedef nerve_status (*loader)(nerve_ctx *, const char *, nerve_data *,
                               nerve_data_err *);

static nerve_status csv1(nerve_ctx *ctx, const char *path, nerve_data *d,
                         nerve_data_err *e) {
  nerve_csv_opts o = {1, 1, ','};
  return nerve_data_csv(ctx, path, &o, d, e);
}

/* Fails allocation 1, 2, ... until the load succeeds; every failure must
** be NERVE_ENOMEM with nothing left allocated. */
static void every_failure(loader f, const char *path) {
  for (size_t k = 1;; k++) {
    counter c;
    memset(&c, 0, sizeof c);
    nerve_ctx *ctx = NULL;
    if (nerve_ctx_new(&ctx, count_alloc, &c) != NERVE_OK) continue;
    c.fail_at = k;
    nerve_data d;
    nerve_data_err e;
    nerve_status s = f(ctx, path, &d, &e);
    if (s == NERVE_OK) nerve_data_free(ctx, &d);
    else CHECK(s == NERVE_ENOMEM && d.x == NULL && d.y == NULL);
    nerve_ctx_free(ctx);
    CHECK(c.live == 0 && c.bad_free == 0);
    if (s == NERVE_OK || k > 100) break;
  }
}

static void small_files(nerve_ctx *ctx) {
  nerve_data d;
  nerve_data_err e;
  CHECK(csv1(ctx, "spec/data/tiny.csv", &d, &e) == NERVE_OK);
  CHECK(d.rows == 3 && d.n_x == 2 && d.n_y == 1);
  CHECK(d.x[2] == 3.5f && d.x[3] == -4 && d.y[2] == 3);
  nerve_data_free(ctx, &d);
  CHECK(d.x == NULL && d.rows == 0);

  CHECK(nerve_data_fann(ctx, "spec/data/bad_value.train", &d, &e) ==
        NERVE_EFORMAT);
  CHECK(e.line == 4 && e.bytes == 0 && strstr(e.what, "'x'") != NULL);
  CHECK(nerve_data_fann(ctx, "spec/data/truncated.train", &d, &e) ==
        NERVE_ETRUNC);
  CHECK(nerve_data_idx(ctx, "spec/data/missing", &d, &e) == NERVE_EIO);
  CHECK(nerve_data_idx(ctx, "spec/data/huge.idx3", &d, &e) == NERVE_ELIMIT);
  CHECK(nerve_data_idx(ctx, "spec/data/bad_magic.idx1", &d, &e) ==
        NERVE_EFORMAT && e.bytes == 1);
  CHECK(nerve_data_idx(ctx, "spec/data/truncated.idx3", &d, &e) ==
        NERVE_ETRUNC && e.line == 33);

  CHECK(nerve_data_idx(ctx, "spec/data/images.idx3.gz", &d, &e) == NERVE_OK);
  CHECK(d.rows == 5 && d.n_x == 6 && d.ndims == 3 && d.dims[2] == 3 &&
        d.type == 0x08 && d.y == NULL && d.x[29] == 232);
  nerve_data_free(ctx, &d);

  int which = -1;
  CHECK(nerve_data_mnist(ctx, "spec/data/images.idx3",
                         "spec/data/labels.idx1.gz", &d, &e, &which) ==
        NERVE_OK);
  CHECK(d.n_y == 1 && d.y[0] == 4 && d.y[2] == 10);
  CHECK(fabsf(d.x[29] - 232.0f / 255) < 1e-6f);
  nerve_data_free(ctx, &d);
  CHECK(nerve_data_mnist(ctx, "spec/data/images.idx3",
                         "spec/data/labels_four.idx1", &d, &e, &which) ==
        NERVE_EFORMAT && which == 1);

  nerve_csv_opts o = {0, 0, '5'};
  CHECK(nerve_data_csv(ctx, "spec/data/tiny.csv", &o, &d, &e) == NERVE_EARG);
}

/* A gzip FANN file of n samples, bigger than the reader's buffer. */
static int write_big(const char *path, int n) {
  gzFile f = gzopen(path, "wb");
  if (!f) return 0;
  gzprintf(f, "%d 3 2\n", n);
  for (int i = 0; i < n; i++)
    gzprintf(f, "%d %.3f -%d\n%d 0.5\n", i, i * 0.001, i % 7, i % 2);
  return gzclose(f) == Z_OK;
}

static void big_file(nerve_ctx *ctx) {
  char path[] = "/tmp/nerve_test_dataXXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  if (fd < 0) return;
  fclose(fdopen(fd, "w"));
  const int n = 20000;
  CHECK(write_big(path, n));
  nerve_data d;
  nerve_data_err e;
  CHECK(nerve_data_fann(ctx, path, &d, &e) == NERVE_OK);
  CHECK(d.rows == n && d.n_x == 3 && d.n_y == 2);
  int ok = 1;
  for (int i = 0; i < n && ok; i++)
    ok = d.x[3 * i] == i && d.x[3 * i + 2] == -(i % 7) &&
         d.y[2 * i] == i % 2 && d.y[2 * i + 1] == 0.5f &&
         fabsf(d.x[3 * i + 1] - i * 0.001f) < 1e-4f;
  CHECK(ok);
  nerve_data_free(ctx, &d);
  remove(path);
}

static void helpers(void) {
  float a[6] = {1, 10, 2, 20, 3, 60};
  nerve_mat x = nerve_mat_view(a, 3, 2);
  float mean[2], sd[2];
  CHECK(nerve_data_stats(&x, mean, sd) == NERVE_OK);
  CHECK_NEAR(mean[0], 2, 1e-6);
  CHECK_NEAR(mean[1], 30, 1e-6);
  CHECK_NEAR(sd[0], sqrt(2.0 / 3), 1e-6);
  CHECK(nerve_data_standardize(&x, mean, sd) == NERVE_OK);
  CHECK_NEAR(a[0], -sqrt(1.5), 1e-6);
  CHECK_NEAR(a[2], 0, 1e-6);

  float b[6];
  nerve_mat dst = nerve_mat_view(b, 2, 2);
  int32_t idx[2] = {2, 0};
  float src[6] = {1, 2, 3, 4, 5, 6};
  nerve_mat s = nerve_mat_view(src, 3, 2);
  CHECK(nerve_data_gather(&s, idx, 2, &dst) == NERVE_OK);
  CHECK(b[0] == 5 && b[1] == 6 && b[2] == 1 && b[3] == 2);
  idx[1] = 3;
  CHECK(nerve_data_gather(&s, idx, 2, &dst) == NERVE_EARG);

  float y[3] = {2, 1, 3}, oh[9];
  nerve_mat ym = nerve_mat_view(y, 3, 1), om = nerve_mat_view(oh, 3, 3);
  int bad = -1;
  CHECK(nerve_data_one_hot(&ym, &om, &bad) == NERVE_OK);
  CHECK(oh[1] == 1 && oh[3] == 1 && oh[8] == 1 && oh[0] == 0);
  y[1] = 0;
  CHECK(nerve_data_one_hot(&ym, &om, &bad) == NERVE_EARG && bad == 1);
}

/* Damaged copies of good files (bytes changed, cut, inserted; a fixed
** seed): every loader must answer OK or an error status, leak nothing and,
** under the sanitizers, touch no byte it should not. */
static void damaged(void) {
  static const char *const seeds[] = {
      "spec/data/tiny.csv", "spec/data/tiny.train", "spec/data/images.idx3",
      "spec/data/images.idx3.gz", "spec/data/tiny.train.gz"};
  char path[] = "/tmp/nerve_test_damagedXXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  if (fd < 0) return;
  fclose(fdopen(fd, "w"));
  counter c;
  memset(&c, 0, sizeof c);
  nerve_ctx *ctx = NULL;
  CHECK(nerve_ctx_new(&ctx, count_alloc, &c) == NERVE_OK);
  uint64_t r = 12345;
  int answered = 0, total = 0;
  for (int it = 0; it < 400; it++) {
    unsigned char buf[512];
    FILE *f = fopen(seeds[it % 5], "rb");
    size_t n = f ? fread(buf, 1, sizeof buf - 8, f) : 0;
    if (f) fclose(f);
    for (int k = 0; k < 1 + it % 3; k++) {
      r = r * 6364136223846793005u + 1442695040888963407u;
      size_t at = n ? (size_t)(r >> 33) % n : 0;
      int op = (int)(r >> 60) % 3;
      if (op == 0 && n) buf[at] = (unsigned char)(r >> 20);
      else if (op == 1) n = at;
      else {
        memmove(buf + at + 1, buf + at, n - at);
        buf[at] = (unsigned char)(r >> 24);
        n++;
      }
    }
    f = fopen(path, "wb");
    if (!f) break;
    fwrite(buf, 1, n, f);
    fclose(f);
    nerve_data d;
    nerve_data_err e;
    nerve_csv_opts o = {it & 1, it % 3, ','};
    nerve_status s[3] = {nerve_data_csv(ctx, path, &o, &d, &e), NERVE_OK,
                         NERVE_OK};
    if (s[0] == NERVE_OK) nerve_data_free(ctx, &d);
    s[1] = nerve_data_fann(ctx, path, &d, &e);
    if (s[1] == NERVE_OK) nerve_data_free(ctx, &d);
    s[2] = nerve_data_idx(ctx, path, &d, &e);
    if (s[2] == NERVE_OK) nerve_data_free(ctx, &d);
    for (int k = 0; k < 3; k++) {
      total++;
      answered += s[k] == NERVE_OK || s[k] == NERVE_EFORMAT ||
                  s[k] == NERVE_ETRUNC || s[k] == NERVE_ELIMIT;
    }
  }
  CHECK(answered == total && total == 1200);
  nerve_ctx_free(ctx);
  CHECK(c.live == 0 && c.bad_free == 0);
  remove(path);
}

static nerve_status fann(nerve_ctx *ctx, const char *p, nerve_data *d,
                         nerve_data_err *e) {
  return nerve_data_fann(ctx, p, d, e);
}

int main(void) {
  counter c;
  memset(&c, 0, sizeof c);
  nerve_ctx *ctx = NULL;
  CHECK(nerve_ctx_new(&ctx, count_alloc, &c) == NERVE_OK);
  small_files(ctx);
  big_file(ctx);
  nerve_ctx_free(ctx);
  CHECK(c.live == 0 && c.bad_free == 0);
  helpers();
  damaged();
  every_failure(csv1, "spec/data/tiny.csv");
  every_failure(fann, "spec/data/tiny.train.gz");
  every_failure(nerve_data_idx, "spec/data/images.idx3.gz");
  return check_report("test_data");
}
