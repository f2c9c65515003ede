/*
** data.c - data sets from files: numeric CSV, FANN training data and IDX
** (plain, or gzip inflated by zlib with the context's allocator), read as
** a stream into owned row-major float32 buffers; and the
** row-wise helpers the Lua layer builds on (gather, statistics,
** standardization, one-hot).
**
** A bad file is an ordinary error: the status says which kind, and
** nerve_data_err holds the line (or byte offset) and what was expected.
*/
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "internal.h"

#define RDBUF 65536
#define TOKMAX 128

/* ------------------------------------------------------------ reader */

/* A buffered byte stream over a file, inflated when it starts with the
** gzip magic bytes (zlib's inflate, its memory from the context), with a
** line count. */
typedef struct rd {
  nerve_ctx *ctx;
  FILE *f;
  unsigned char *buf, *in; /* RDBUF bytes each; in only for gzip */
  size_t pos, len;
  unsigned long long offset; /* bytes consumed before buf */
  long line;                 /* 1-based line of the next byte */
  long tokline;              /* line of the last word read */
  int eof, gz, zinit, in_eof;
  int binary; /* errors give the byte offset, not the line */
  z_stream z;
  nerve_status bad; /* set by a read error */
} rd;

static void seterr(nerve_data_err *e, long line, int bytes, const char *fmt,
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
#define WHERE(r) ((r)->binary ? (long)((r)->offset + (r)->pos) : (r)->line), \
                 (r)->binary

/* Reads up to n raw bytes; sets r->bad on an error. */
static size_t raw_read(rd *r, unsigned char *p, size_t n, nerve_data_err *e) {
  size_t k = fread(p, 1, n, r->f);
  if (k < n && ferror(r->f)) {
    r->bad = NERVE_EIO;
    seterr(e, WHERE(r), "read error: %s", strerror(errno));
  }
  return k;
}

static void rd_close(nerve_ctx *ctx, rd *r) {
  if (r->zinit) inflateEnd(&r->z);
  if (r->f) fclose(r->f);
  nerve_free(ctx, r->buf);
  nerve_free(ctx, r->in);
  memset(r, 0, sizeof *r);
}

/* Closes r after a failed open and gives s. */
static nerve_status rd_fail(rd *r, nerve_status s) {
  rd_close(r->ctx, r);
  return s;
}

static nerve_status rd_open(nerve_ctx *ctx, rd *r, const char *path,
                            nerve_data_err *e) {
  memset(r, 0, sizeof *r);
  r->ctx = ctx;
  r->line = 1;
  errno = 0;
  r->f = fopen(path, "rb");
  if (!r->f) {
    int err = errno ? errno : EIO;
    seterr(e, 0, 0, "%s", strerror(err));
    errno = err;
    return NERVE_EIO;
  }
  r->buf = nerve_malloc(ctx, RDBUF);
  if (!r->buf) return rd_fail(r, NERVE_ENOMEM);
  r->len = raw_read(r, r->buf, RDBUF, e);
  if (r->bad) {
    seterr(e, 0, 0, "%s", strerror(errno));
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
  if (k != Z_OK) return rd_fail(r, k == Z_MEM_ERROR ? NERVE_ENOMEM : NERVE_EFORMAT);
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
      seterr(e, WHERE(r), "truncated gzip data (the compressed stream "
             "ends early)");
      return 0;
    } else if (k != Z_OK && k != Z_BUF_ERROR) {
      r->bad = NERVE_EFORMAT;
      seterr(e, WHERE(r), "corrupt gzip data (%s)",
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
static int rd_peek(rd *r, nerve_data_err *e) {
  if (r->pos == r->len && !rd_fill(r, e)) return -1;
  return r->buf[r->pos];
}

static int rd_get(rd *r, nerve_data_err *e) {
  int c = rd_peek(r, e);
  if (c >= 0) {
    r->pos++;
    if (c == '\n') r->line++;
  }
  return c;
}

/* ---------------------------------------------------- growing buffers */

typedef struct grow {
  float *p;
  size_t n, cap;
} grow;

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
static nerve_status push(nerve_ctx *ctx, grow *g, float v, long line,
                         nerve_data_err *e) {
  int k = grow_push(ctx, g, v);
  if (k > 0) return NERVE_OK;
  if (k < 0) return NERVE_ENOMEM;
  seterr(e, line, 0, "more than %zu numbers (the loader's limit)",
         (size_t)NERVE_DATA_MAX_CELLS);
  return NERVE_ELIMIT;
}

void nerve_data_free(nerve_ctx *ctx, nerve_data *d) {
  if (!d) return;
  nerve_free(ctx, d->x);
  nerve_free(ctx, d->y);
  memset(d, 0, sizeof *d);
}

/* ------------------------------------------------------------- tokens */

static int is_space(int c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Quotes a token for a message, cut short when long. */
static const char *shown(const char *tok) { return tok[0] ? tok : "nothing"; }

/* Parses tok as a finite float; 0 when it is not one. */
static int tonum(const char *tok, float *v) {
  if (!tok[0]) return 0;
  char *end;
  errno = 0;
  double d = strtod(tok, &end);
  if (*end != '\0' || !isfinite(d)) return 0;
  if (fabs(d) > 3.4028234663852886e38) return 0;
  *v = (float)d;
  return 1;
}

/* Reads characters up to (not including) a separator, newline or the end
** into tok, trimming spaces. Returns 0 if the field is too long. */
static int read_field(rd *r, int sep, char *tok, nerve_data_err *e) {
  size_t n = 0;
  int c, ws = is_space(sep);
  while ((c = rd_peek(r, e)) >= 0 && is_space(c) && (ws || c != sep))
    r->pos++;
  while ((c = rd_peek(r, e)) >= 0 && c != sep && c != '\n' &&
         !(ws && is_space(c))) {
    if (n + 1 >= TOKMAX) return 0;
    tok[n++] = (char)c;
    r->pos++;
  }
  while (n > 0 && is_space((unsigned char)tok[n - 1])) n--;
  tok[n] = '\0';
  return 1;
}

/* Skips spaces and newlines, then reads a whitespace-separated token.
** tok is empty at the end of the data. Returns 0 if it is too long. */
static int read_word(rd *r, char *tok, nerve_data_err *e) {
  int c;
  while ((c = rd_peek(r, e)) >= 0 && (is_space(c) || c == '\n')) rd_get(r, e);
  size_t n = 0;
  if (c >= 0) r->tokline = r->line;
  while ((c = rd_peek(r, e)) >= 0 && !is_space(c) && c != '\n') {
    if (n + 1 >= TOKMAX) return 0;
    tok[n++] = (char)c;
    r->pos++;
  }
  tok[n] = '\0';
  return 1;
}

/* ----------------------------------------------------------------- csv */

/* Parses one CSV line (fields up to the newline) into row; returns the
** field count, or -1 with e set. */
static int csv_line(rd *r, int sep, float *row, int maxf, int *blank,
                    nerve_data_err *e) {
  char tok[TOKMAX];
  int n = 0;
  *blank = 0;
  for (;;) {
    long line = r->line;
    if (!read_field(r, sep, tok, e)) {
      seterr(e, line, 0, "field %d is longer than %d characters, expected a "
             "number", n + 1, TOKMAX - 1);
      return -1;
    }
    int c = rd_peek(r, e);
    if (n == 0 && !tok[0] && (c == '\n' || c < 0)) {
      *blank = 1;
      rd_get(r, e);
      return 0;
    }
    if (n >= maxf) {
      seterr(e, line, 0, "more than %d fields (the loader's limit)", maxf);
      return -1;
    }
    if (!tonum(tok, &row[n])) {
      seterr(e, line, 0, "field %d is '%s', expected a number", n + 1,
             shown(tok));
      return -1;
    }
    n++;
    if (is_space(sep) && is_space(c)) {
      /* a run of blanks is one separator; blanks at the end are none */
      while ((c = rd_peek(r, e)) >= 0 && is_space(c)) r->pos++;
      if (c >= 0 && c != '\n') continue;
    } else if (c == sep) {
      r->pos++;
      continue;
    }
    rd_get(r, e); /* the newline, or nothing at the end */
    return n;
  }
}

#define CSV_MAXF 65536

static nerve_status csv_read(nerve_ctx *ctx, rd *r, const nerve_csv_opts *o,
                             grow *gx, grow *gy, int *rows, int *cols,
                             float *row, nerve_data_err *e) {
  int sep = o->sep ? (unsigned char)o->sep : ',';
  if (o->header) {
    int c;
    while ((c = rd_get(r, e)) >= 0 && c != '\n') {}
  }
  int width = 0;
  long first = 0;
  *rows = 0;
  for (;;) {
    if (r->bad) return r->bad;
    if (rd_peek(r, e) < 0) break;
    long line = r->line;
    int blank;
    int n = csv_line(r, sep, row, CSV_MAXF, &blank, e);
    if (r->bad) return r->bad;
    if (n < 0) return NERVE_EFORMAT;
    if (blank) continue;
    if (width == 0) {
      width = n;
      first = line;
      if (o->targets >= width) {
        seterr(e, line, 0, "%d fields, expected more than the %d target "
               "column%s", n, o->targets, o->targets == 1 ? "" : "s");
        return NERVE_EFORMAT;
      }
    } else if (n != width) {
      seterr(e, line, 0, "%d fields, expected %d (as on line %ld)", n, width,
             first);
      return NERVE_EFORMAT;
    }
    if (*rows >= NERVE_MAX_DIM) {
      seterr(e, line, 0, "more than %d rows (the loader's limit)",
             NERVE_MAX_DIM);
      return NERVE_ELIMIT;
    }
    int nx = width - o->targets;
    for (int j = 0; j < width; j++) {
      nerve_status s = push(ctx, j < nx ? gx : gy, row[j], line, e);
      if (s != NERVE_OK) return s;
    }
    (*rows)++;
  }
  if (r->bad) return r->bad;
  if (*rows == 0) {
    seterr(e, r->line, 0, "no data rows, expected lines of numbers");
    return NERVE_EFORMAT;
  }
  *cols = width;
  return NERVE_OK;
}

/* Hands the grown buffers over to out. */
static void take(nerve_data *out, grow *gx, grow *gy, int rows, int nx,
                 int ny) {
  out->x = gx->p;
  out->y = ny > 0 ? gy->p : NULL;
  out->rows = rows;
  out->n_x = nx;
  out->n_y = ny;
  gx->p = NULL;
  if (ny > 0) gy->p = NULL;
}

nerve_status nerve_data_csv(nerve_ctx *ctx, const char *path,
                            const nerve_csv_opts *o, nerve_data *out,
                            nerve_data_err *e) {
  if (!ctx || !path || !o || !out || o->targets < 0 || o->sep == '\n' ||
      o->sep == '.' || o->sep == '-' || o->sep == '+' ||
      (o->sep >= '0' && o->sep <= '9'))
    return NERVE_EARG;
  memset(out, 0, sizeof *out);
  if (e) memset(e, 0, sizeof *e);
  rd r;
  nerve_status s = rd_open(ctx, &r, path, e);
  if (s != NERVE_OK) return s;
  float *row = nerve_malloc(ctx, CSV_MAXF * sizeof(float));
  grow gx = {0}, gy = {0};
  int rows = 0, cols = 0;
  s = row ? csv_read(ctx, &r, o, &gx, &gy, &rows, &cols, row, e)
          : NERVE_ENOMEM;
  if (s == NERVE_OK) take(out, &gx, &gy, rows, cols - o->targets, o->targets);
  nerve_free(ctx, row);
  nerve_free(ctx, gx.p);
  nerve_free(ctx, gy.p);
  rd_close(ctx, &r);
  return s;
}

/* ---------------------------------------------------------------- fann */

/* A header count: an integer in lo..NERVE_MAX_DIM. */
static int header_int(const char *tok, int lo, int *v) {
  char *end;
  if (!tok[0]) return 0;
  errno = 0;
  long n = strtol(tok, &end, 10);
  if (*end || errno || n < lo || n > NERVE_MAX_DIM) return 0;
  *v = (int)n;
  return 1;
}

static nerve_status fann_read(nerve_ctx *ctx, rd *r, grow *gx, grow *gy,
                              int hdr[3], nerve_data_err *e) {
  static const char *const names[3] = {"the number of samples",
                                       "the number of inputs",
                                       "the number of outputs"};
  char tok[TOKMAX];
  for (int i = 0; i < 3; i++) {
    int ok = read_word(r, tok, e);
    if (r->bad) return r->bad;
    if (!ok || !header_int(tok, i == 2 ? 0 : 1, &hdr[i])) {
      seterr(e, r->line, 0, "header: '%s', expected %s (an integer %d..%d)",
             ok ? shown(tok) : "a long word", names[i], i == 2 ? 0 : 1,
             NERVE_MAX_DIM);
      return NERVE_EFORMAT;
    }
  }
  int per = hdr[1] + hdr[2];
  if ((size_t)hdr[0] * (size_t)per > NERVE_DATA_MAX_CELLS) {
    seterr(e, r->line, 0, "header: %d samples of %d numbers are more than "
           "%zu numbers (the loader's limit)", hdr[0], per,
           (size_t)NERVE_DATA_MAX_CELLS);
    return NERVE_ELIMIT;
  }
  for (int i = 0; i < hdr[0]; i++) {
    for (int j = 0; j < per; j++) {
      int ok = read_word(r, tok, e);
      if (r->bad) return r->bad;
      float v;
      int in = j < hdr[1];
      int k = in ? j + 1 : j - hdr[1] + 1;
      if (ok && !tok[0]) {
        seterr(e, r->tokline, 0, "the file ends in sample %d of %d, expected "
               "%s %d", i + 1, hdr[0], in ? "input" : "output", k);
        return NERVE_ETRUNC;
      }
      if (!ok || !tonum(tok, &v)) {
        seterr(e, r->line, 0, "'%s', expected a number (%s %d of sample %d)",
               ok ? shown(tok) : "a long word", in ? "input" : "output", k,
               i + 1);
        return NERVE_EFORMAT;
      }
      nerve_status s = push(ctx, in ? gx : gy, v, r->line, e);
      if (s != NERVE_OK) return s;
    }
  }
  int ok = read_word(r, tok, e);
  if (r->bad) return r->bad;
  if (!ok || tok[0]) {
    seterr(e, r->line, 0, "'%s' after the %d samples, expected the end of "
           "the file", ok ? tok : "a long word", hdr[0]);
    return NERVE_EFORMAT;
  }
  return NERVE_OK;
}

nerve_status nerve_data_fann(nerve_ctx *ctx, const char *path,
                             nerve_data *out, nerve_data_err *e) {
  if (!ctx || !path || !out) return NERVE_EARG;
  memset(out, 0, sizeof *out);
  if (e) memset(e, 0, sizeof *e);
  rd r;
  nerve_status s = rd_open(ctx, &r, path, e);
  if (s != NERVE_OK) return s;
  grow gx = {0}, gy = {0};
  int hdr[3] = {0, 0, 0};
  s = fann_read(ctx, &r, &gx, &gy, hdr, e);
  if (s == NERVE_OK) take(out, &gx, &gy, hdr[0], hdr[1], hdr[2]);
  nerve_free(ctx, gx.p);
  nerve_free(ctx, gy.p);
  rd_close(ctx, &r);
  return s;
}

/* ----------------------------------------------------------------- idx */

/* Reads exactly n bytes; 0 when the data ends first (or on an error). */
static int rd_bytes(rd *r, unsigned char *p, size_t n, nerve_data_err *e) {
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

static unsigned long long rd_offset(const rd *r) { return r->offset + r->pos; }

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
  case 0x08: case 0x09: return 1;
  case 0x0B: return 2;
  case 0x0C: case 0x0D: return 4;
  case 0x0E: return 8;
  }
  return 0;
}

static nerve_status idx_read(nerve_ctx *ctx, rd *r, nerve_data *out,
                             nerve_data_err *e) {
  unsigned char h[4];
  if (!rd_bytes(r, h, 4, e)) {
    if (r->bad) return r->bad;
    seterr(e, (long)rd_offset(r), 1, "the file ends inside the 4-byte magic "
           "number");
    return NERVE_ETRUNC;
  }
  int t = h[2], nd = h[3], size = idx_size(t);
  if (h[0] || h[1] || !size || nd < 1 || nd > NERVE_IDX_MAXDIMS) {
    seterr(e, 0, 1, "magic number %02x %02x %02x %02x, expected 00 00 then "
           "a type (08, 09, 0b, 0c, 0d, 0e) and 1..%d dimensions", h[0], h[1],
           h[2], h[3], NERVE_IDX_MAXDIMS);
    return NERVE_EFORMAT;
  }
  size_t cells = 1;
  for (int i = 0; i < nd; i++) {
    unsigned long long at = rd_offset(r);
    if (!rd_bytes(r, h, 4, e)) {
      if (r->bad) return r->bad;
      seterr(e, (long)at, 1, "the file ends inside dimension %d of %d", i + 1,
             nd);
      return NERVE_ETRUNC;
    }
    uint32_t d = be32(h);
    if (d < 1 || d > NERVE_MAX_DIM) {
      seterr(e, (long)at, 1, "dimension %d is %lu, expected 1..%d", i + 1,
             (unsigned long)d, NERVE_MAX_DIM);
      return d < 1 ? NERVE_EFORMAT : NERVE_ELIMIT;
    }
    out->dims[i] = (int)d;
    if (cells > NERVE_DATA_MAX_CELLS / d) {
      seterr(e, (long)at, 1, "more than %zu values (the loader's limit)",
             (size_t)NERVE_DATA_MAX_CELLS);
      return NERVE_ELIMIT;
    }
    cells *= d;
  }
  size_t cols = cells / (size_t)out->dims[0];
  if (cols > NERVE_MAX_DIM) {
    seterr(e, (long)rd_offset(r), 1, "items of %zu values, expected at most "
           "%d", cols, NERVE_MAX_DIM);
    return NERVE_ELIMIT;
  }
  out->ndims = nd;
  out->type = t;
  /* Allocated as the data arrives, so a lying header costs nothing. */
  grow g = {0};
  unsigned char v[8];
  nerve_status s = NERVE_OK;
  for (size_t i = 0; i < cells && s == NERVE_OK; i++) {
    if (!rd_bytes(r, v, (size_t)size, e)) {
      if (r->bad) s = r->bad;
      else {
        seterr(e, (long)rd_offset(r), 1, "the file ends after %zu of %zu "
               "values, expected %zu more bytes", i, cells,
               (cells - i) * (size_t)size);
        s = NERVE_ETRUNC;
      }
      break;
    }
    float f = idx_value(t, v);
    if (!isfinite(f)) {
      seterr(e, (long)(rd_offset(r) - (unsigned)size), 1, "value %zu is not "
             "a finite number", i + 1);
      s = NERVE_EFORMAT;
      break;
    }
    s = push(ctx, &g, f, 0, e);
  }
  if (s == NERVE_OK) {
    unsigned long long at = rd_offset(r);
    if (rd_bytes(r, v, 1, e)) {
      seterr(e, (long)at, 1, "extra bytes after the %zu values, expected the "
             "end of the file", cells);
      s = NERVE_EFORMAT;
    } else if (r->bad) s = r->bad;
  }
  if (s == NERVE_OK) {
    out->x = g.p;
    out->rows = out->dims[0];
    out->n_x = (int)cols;
  } else nerve_free(ctx, g.p);
  return s;
}

nerve_status nerve_data_idx(nerve_ctx *ctx, const char *path, nerve_data *out,
                            nerve_data_err *e) {
  if (!ctx || !path || !out) return NERVE_EARG;
  memset(out, 0, sizeof *out);
  if (e) memset(e, 0, sizeof *e);
  rd r;
  nerve_status s = rd_open(ctx, &r, path, e);
  if (s != NERVE_OK) return s;
  r.binary = 1;
  s = idx_read(ctx, &r, out, e);
  if (s != NERVE_OK) memset(out, 0, sizeof *out);
  rd_close(ctx, &r);
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
    seterr(e, 0, 1, "%d dimensions of type %02x, expected MNIST images "
           "(3 dimensions of unsigned bytes)", im.ndims, im.type);
    nerve_data_free(ctx, &im);
    return NERVE_EFORMAT;
  }
  *which = 1;
  s = nerve_data_idx(ctx, labels, &lb, e);
  if (s == NERVE_OK && (lb.type != 0x08 || lb.ndims != 1)) {
    seterr(e, 0, 1, "%d dimensions of type %02x, expected MNIST labels "
           "(1 dimension of unsigned bytes)", lb.ndims, lb.type);
    s = NERVE_EFORMAT;
  }
  if (s == NERVE_OK && lb.rows != im.rows) {
    seterr(e, 0, 1, "%d labels, expected %d (one per image)", lb.rows,
           im.rows);
    s = NERVE_EFORMAT;
  }
  for (int i = 0; s == NERVE_OK && i < lb.rows; i++)
    if (lb.x[i] > 9) {
      seterr(e, 8 + i, 1, "label %d is %g, expected a digit 0..9", i + 1,
             (double)lb.x[i]);
      s = NERVE_EFORMAT;
    }
  if (s != NERVE_OK) {
    nerve_data_free(ctx, &im);
    nerve_data_free(ctx, &lb);
    return s;
  }
  size_t n = (size_t)im.rows * (size_t)im.n_x;
  for (size_t i = 0; i < n; i++) im.x[i] *= 1.0f / 255.0f;
  for (int i = 0; i < lb.rows; i++) lb.x[i] += 1;
  *out = im;
  out->y = lb.x;
  out->n_y = 1;
  return NERVE_OK;
}

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
