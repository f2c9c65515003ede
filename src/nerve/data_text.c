/*
** data_text.c - numeric CSV and FANN training-data files, parsed token by
** token from the reader, each error with its line and what was expected.
*/
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data_read.h"

#define TOKMAX 128

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

/* A NUL byte where a token is read: text files have none, and one would
** cut the token short where strtod reads it (e sets where). */
static int nul(rd *r, nerve_data_err *e) {
  nerve__data_err(e, r->line, 0, "a NUL byte at column %llu, expected text",
                  nerve__rd_column(r));
  return -1;
}

/* Reads characters up to (not including) a separator, newline or the end
** into tok, trimming spaces. Returns 0 if the field is too long, -1 at a
** NUL byte (e set). */
static int read_field(rd *r, int sep, char *tok, nerve_data_err *e) {
  size_t n = 0;
  int c, ws = is_space(sep);
  while ((c = nerve__rd_peek(r, e)) >= 0 && is_space(c) && (ws || c != sep))
    r->pos++;
  while ((c = nerve__rd_peek(r, e)) >= 0 && c != sep && c != '\n' &&
         !(ws && is_space(c))) {
    if (c == 0) return nul(r, e);
    if (n + 1 >= TOKMAX) return 0;
    tok[n++] = (char)c;
    r->pos++;
  }
  while (n > 0 && is_space((unsigned char)tok[n - 1]))
    n--;
  tok[n] = '\0';
  return 1;
}

/* Skips spaces and newlines, then reads a whitespace-separated token.
** tok is empty at the end of the data. Returns 0 if it is too long, -1 at
** a NUL byte (e set). */
static int read_word(rd *r, char *tok, nerve_data_err *e) {
  int c;
  while ((c = nerve__rd_peek(r, e)) >= 0 && (is_space(c) || c == '\n'))
    nerve__rd_get(r, e);
  size_t n = 0;
  if (c >= 0) r->tokline = r->line;
  while ((c = nerve__rd_peek(r, e)) >= 0 && !is_space(c) && c != '\n') {
    if (c == 0) return nul(r, e);
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
    int got = read_field(r, sep, tok, e);
    if (got < 0) return -1;
    if (!got) {
      nerve__data_err(e, line, 0,
                      "field %d is longer than %d characters, expected a "
                      "number",
                      n + 1, TOKMAX - 1);
      return -1;
    }
    int c = nerve__rd_peek(r, e);
    if (n == 0 && !tok[0] && (c == '\n' || c < 0)) {
      *blank = 1;
      nerve__rd_get(r, e);
      return 0;
    }
    if (n >= maxf) {
      nerve__data_err(e, line, 0, "more than %d fields (the loader's limit)",
                      maxf);
      return -1;
    }
    if (!tonum(tok, &row[n])) {
      nerve__data_err(e, line, 0, "field %d is '%s', expected a number", n + 1,
                      shown(tok));
      return -1;
    }
    n++;
    if (is_space(sep) && is_space(c)) {
      /* a run of blanks is one separator; blanks at the end are none */
      while ((c = nerve__rd_peek(r, e)) >= 0 && is_space(c))
        r->pos++;
      if (c >= 0 && c != '\n') continue;
    } else if (c == sep) {
      r->pos++;
      continue;
    }
    nerve__rd_get(r, e); /* the newline, or nothing at the end */
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
    while ((c = nerve__rd_get(r, e)) >= 0 && c != '\n') {
    }
  }
  int width = 0;
  long first = 0;
  *rows = 0;
  for (;;) {
    if (r->bad) return r->bad;
    if (nerve__rd_peek(r, e) < 0) break;
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
        nerve__data_err(e, line, 0,
                        "%d fields, expected more than the %d target "
                        "column%s",
                        n, o->targets, o->targets == 1 ? "" : "s");
        return NERVE_EFORMAT;
      }
    } else if (n != width) {
      nerve__data_err(e, line, 0, "%d fields, expected %d (as on line %ld)", n,
                      width, first);
      return NERVE_EFORMAT;
    }
    if (*rows >= NERVE_MAX_DIM) {
      nerve__data_err(e, line, 0, "more than %d rows (the loader's limit)",
                      NERVE_MAX_DIM);
      return NERVE_ELIMIT;
    }
    int nx = width - o->targets;
    for (int j = 0; j < width; j++) {
      nerve_status s = nerve__push(ctx, j < nx ? gx : gy, row[j], line, e);
      if (s != NERVE_OK) return s;
    }
    (*rows)++;
  }
  if (r->bad) return r->bad;
  if (*rows == 0) {
    nerve__data_err(e, r->line, 0, "no data rows, expected lines of numbers");
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
  nerve_status s = nerve__rd_open(ctx, &r, path, e);
  if (s != NERVE_OK) return s;
  float *row = nerve_malloc(ctx, CSV_MAXF * sizeof(float));
  grow gx = {0}, gy = {0};
  int rows = 0, cols = 0;
  s = row ? csv_read(ctx, &r, o, &gx, &gy, &rows, &cols, row, e) : NERVE_ENOMEM;
  if (s == NERVE_OK) take(out, &gx, &gy, rows, cols - o->targets, o->targets);
  nerve_free(ctx, row);
  nerve_free(ctx, gx.p);
  nerve_free(ctx, gy.p);
  nerve__rd_close(ctx, &r);
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
  static const char *const names[3] = {
      "the number of samples", "the number of inputs", "the number of outputs"};
  char tok[TOKMAX];
  for (int i = 0; i < 3; i++) {
    int ok = read_word(r, tok, e);
    if (r->bad) return r->bad;
    if (ok < 0) return NERVE_EFORMAT;
    if (!ok || !header_int(tok, i == 2 ? 0 : 1, &hdr[i])) {
      nerve__data_err(e, r->line, 0,
                      "header: '%s', expected %s (an integer %d..%d)",
                      ok ? shown(tok) : "a long word", names[i], i == 2 ? 0 : 1,
                      NERVE_MAX_DIM);
      return NERVE_EFORMAT;
    }
  }
  int per = hdr[1] + hdr[2];
  if ((size_t)hdr[0] * (size_t)per > NERVE_DATA_MAX_CELLS) {
    nerve__data_err(e, r->line, 0,
                    "header: %d samples of %d numbers are more than "
                    "%zu numbers (the loader's limit)",
                    hdr[0], per, (size_t)NERVE_DATA_MAX_CELLS);
    return NERVE_ELIMIT;
  }
  for (int i = 0; i < hdr[0]; i++) {
    for (int j = 0; j < per; j++) {
      int ok = read_word(r, tok, e);
      if (r->bad) return r->bad;
      if (ok < 0) return NERVE_EFORMAT;
      float v;
      int in = j < hdr[1];
      int k = in ? j + 1 : j - hdr[1] + 1;
      if (ok && !tok[0]) {
        nerve__data_err(e, r->tokline, 0,
                        "the file ends in sample %d of %d, expected "
                        "%s %d",
                        i + 1, hdr[0], in ? "input" : "output", k);
        return NERVE_ETRUNC;
      }
      if (!ok || !tonum(tok, &v)) {
        nerve__data_err(
            e, r->line, 0, "'%s', expected a number (%s %d of sample %d)",
            ok ? shown(tok) : "a long word", in ? "input" : "output", k, i + 1);
        return NERVE_EFORMAT;
      }
      nerve_status s = nerve__push(ctx, in ? gx : gy, v, r->line, e);
      if (s != NERVE_OK) return s;
    }
  }
  int ok = read_word(r, tok, e);
  if (r->bad) return r->bad;
  if (ok < 0) return NERVE_EFORMAT;
  if (!ok || tok[0]) {
    nerve__data_err(e, r->line, 0,
                    "'%s' after the %d samples, expected the end of "
                    "the file",
                    ok ? tok : "a long word", hdr[0]);
    return NERVE_EFORMAT;
  }
  return NERVE_OK;
}

nerve_status nerve_data_fann(nerve_ctx *ctx, const char *path, nerve_data *out,
                             nerve_data_err *e) {
  if (!ctx || !path || !out) return NERVE_EARG;
  memset(out, 0, sizeof *out);
  if (e) memset(e, 0, sizeof *e);
  rd r;
  nerve_status s = nerve__rd_open(ctx, &r, path, e);
  if (s != NERVE_OK) return s;
  grow gx = {0}, gy = {0};
  int hdr[3] = {0, 0, 0};
  s = fann_read(ctx, &r, &gx, &gy, hdr, e);
  if (s == NERVE_OK) take(out, &gx, &gy, hdr[0], hdr[1], hdr[2]);
  nerve_free(ctx, gx.p);
  nerve_free(ctx, gy.p);
  nerve__rd_close(ctx, &r);
  return s;
}
