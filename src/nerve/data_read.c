/*
** data_read.c - the loaders' reader: a file read in blocks, inflated by
** zlib (with the context's allocator) when it starts with the gzip magic
** bytes, so plain and .gz files read alike; growing buffers; errors.
*/
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "data_read.h"

#define RDBUF 65536

/* ------------------------------------------------------------ reader */

void nerve__data_err(nerve_data_err *e, long line, int bytes, const char *fmt,
                     ...) {
  if (!e) return;
  e->line = line;
  e->bytes = bytes;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->what, sizeof e->what, fmt, ap);
  va_end(ap);
}

static voidpf zalloc(voidpf ud, uInt items, uInt size) {
  if (size && items > (size_t)-1 / size) return Z_NULL;
  return nerve_malloc((nerve_ctx *)ud, (size_t)items * size);
}

static void zfree(voidpf ud, voidpf p) { nerve_free((nerve_ctx *)ud, p); }

/* Where the reader is, for a message: the line, or the byte offset. */
#define WHERE(r)                                                               \
  ((r)->binary ? (long)((r)->offset + (r)->pos) : (r)->line), (r)->binary

/* Reads up to n raw bytes; sets r->bad on an error. */
static size_t raw_read(rd *r, unsigned char *p, size_t n, nerve_data_err *e) {
  size_t k = fread(p, 1, n, r->f);
  if (k < n && ferror(r->f)) {
    r->bad = NERVE_EIO;
    nerve__data_err(e, WHERE(r), "read error: %s", strerror(errno));
  }
  return k;
}

void nerve__rd_close(nerve_ctx *ctx, rd *r) {
  if (r->zinit) inflateEnd(&r->z);
  if (r->f) fclose(r->f);
  nerve_free(ctx, r->buf);
  nerve_free(ctx, r->in);
  memset(r, 0, sizeof *r);
}

/* Closes r after a failed open and gives s. */
static nerve_status rd_fail(rd *r, nerve_status s) {
  nerve__rd_close(r->ctx, r);
  return s;
}

nerve_status nerve__rd_open(nerve_ctx *ctx, rd *r, const char *path,
                            nerve_data_err *e) {
  memset(r, 0, sizeof *r);
  r->ctx = ctx;
  r->line = 1;
  errno = 0;
  r->f = fopen(path, "rb");
  if (!r->f) {
    int err = errno ? errno : EIO;
    nerve__data_err(e, 0, 0, "%s", strerror(err));
    errno = err;
    return NERVE_EIO;
  }
  r->buf = nerve_malloc(ctx, RDBUF);
  if (!r->buf) return rd_fail(r, NERVE_ENOMEM);
  r->len = raw_read(r, r->buf, RDBUF, e);
  if (r->bad) {
    nerve__data_err(e, 0, 0, "%s", strerror(errno));
    return rd_fail(r, r->bad);
  }
  if (r->len < 2 || r->buf[0] != 0x1f || r->buf[1] != 0x8b) return NERVE_OK;
  /* gzip: what was read is compressed input */
  r->gz = 1;
  r->in = r->buf;
  r->buf = nerve_malloc(ctx, RDBUF);
  if (!r->buf) return rd_fail(r, NERVE_ENOMEM);
  r->z.zalloc = zalloc;
  r->z.zfree = zfree;
  r->z.opaque = ctx;
  r->z.next_in = r->in;
  r->z.avail_in = (uInt)r->len;
  r->len = 0;
  int k = inflateInit2(&r->z, 15 + 16);
  if (k != Z_OK)
    return rd_fail(r, k == Z_MEM_ERROR ? NERVE_ENOMEM : NERVE_EFORMAT);
  r->zinit = 1;
  return NERVE_OK;
}

/* Inflates into buf; the number of bytes, 0 at the end or on an error. */
static size_t inflate_some(rd *r, nerve_data_err *e) {
  r->z.next_out = r->buf;
  r->z.avail_out = RDBUF;
  while (r->z.avail_out == RDBUF) {
    if (r->z.avail_in == 0 && !r->in_eof) {
      size_t k = raw_read(r, r->in, RDBUF, e);
      if (r->bad) return 0;
      if (k == 0) r->in_eof = 1;
      r->z.next_in = r->in;
      r->z.avail_in = (uInt)k;
    }
    int k = inflate(&r->z, Z_NO_FLUSH);
    if (k == Z_STREAM_END) {
      /* another member may follow (as gzip -c a b > c makes) */
      if (r->z.avail_in == 0 && !r->in_eof) {
        size_t n = raw_read(r, r->in, RDBUF, e);
        if (r->bad) return 0;
        r->z.next_in = r->in;
        r->z.avail_in = (uInt)n;
        if (n == 0) r->in_eof = 1;
      }
      if (r->z.avail_in == 0) break;
      inflateReset(&r->z);
    } else if (k == Z_MEM_ERROR) {
      r->bad = NERVE_ENOMEM;
      return 0;
    } else if (k == Z_BUF_ERROR && r->in_eof && r->z.avail_in == 0) {
      r->bad = NERVE_ETRUNC;
      nerve__data_err(e, WHERE(r),
                      "truncated gzip data (the compressed stream "
                      "ends early)");
      return 0;
    } else if (k != Z_OK && k != Z_BUF_ERROR) {
      r->bad = NERVE_EFORMAT;
      nerve__data_err(e, WHERE(r), "corrupt gzip data (%s)",
                      r->z.msg ? r->z.msg : "inflate failed");
      return 0;
    }
  }
  return RDBUF - r->z.avail_out;
}

/* Refills the buffer; 0 at the end of the data or on an error (r->bad). */
static int rd_fill(rd *r, nerve_data_err *e) {
  if (r->eof || r->bad) return 0;
  r->offset += r->len;
  r->pos = r->len = 0;
  size_t n = r->gz ? inflate_some(r, e) : raw_read(r, r->buf, RDBUF, e);
  if (n > 0 && !r->bad) {
    r->len = n;
    return 1;
  }
  r->eof = 1;
  return 0;
}

/* The next byte, or -1 at the end (or on an error). */
int nerve__rd_peek(rd *r, nerve_data_err *e) {
  if (r->pos == r->len && !rd_fill(r, e)) return -1;
  return r->buf[r->pos];
}

int nerve__rd_get(rd *r, nerve_data_err *e) {
  int c = nerve__rd_peek(r, e);
  if (c >= 0) {
    r->pos++;
    if (c == '\n') r->line++, r->bol = nerve__rd_offset(r);
  }
  return c;
}

/* ---------------------------------------------------- growing buffers */

static int grow_push(nerve_ctx *ctx, grow *g, float v) {
  if (g->n == g->cap) {
    if (g->n >= NERVE_DATA_MAX_CELLS) return 0;
    size_t cap = g->cap ? g->cap * 2 : 1024;
    if (cap > NERVE_DATA_MAX_CELLS) cap = NERVE_DATA_MAX_CELLS;
    float *p = nerve_malloc(ctx, cap * sizeof(float));
    if (!p) return -1;
    if (g->n) memcpy(p, g->p, g->n * sizeof(float));
    nerve_free(ctx, g->p);
    g->p = p;
    g->cap = cap;
  }
  g->p[g->n++] = v;
  return 1;
}

/* A push that reports: NERVE_OK, NERVE_ENOMEM or NERVE_ELIMIT. */
nerve_status nerve__push(nerve_ctx *ctx, grow *g, float v, long line,
                         nerve_data_err *e) {
  int k = grow_push(ctx, g, v);
  if (k > 0) return NERVE_OK;
  if (k < 0) return NERVE_ENOMEM;
  nerve__data_err(e, line, 0, "more than %zu numbers (the loader's limit)",
                  (size_t)NERVE_DATA_MAX_CELLS);
  return NERVE_ELIMIT;
}

void nerve_data_free(nerve_ctx *ctx, nerve_data *d) {
  if (!d) return;
  nerve_free(ctx, d->x);
  nerve_free(ctx, d->y);
  memset(d, 0, sizeof *d);
}

/* Reads exactly n bytes; 0 when the data ends first (or on an error). */
int nerve__rd_bytes(rd *r, unsigned char *p, size_t n, nerve_data_err *e) {
  while (n) {
    if (r->pos == r->len && !rd_fill(r, e)) return 0;
    size_t k = r->len - r->pos < n ? r->len - r->pos : n;
    memcpy(p, r->buf + r->pos, k);
    r->pos += k;
    p += k;
    n -= k;
  }
  return 1;
}

unsigned long long nerve__rd_offset(const rd *r) { return r->offset + r->pos; }

unsigned long long nerve__rd_column(const rd *r) {
  return nerve__rd_offset(r) - r->bol + 1;
}
