/*
** data_read.h - what the data loaders share (data_read.c, data_text.c,
** data_idx.c): a buffered reader over a plain or gzip file that counts
** lines, growing float buffers, and error reports.
*/
#ifndef NERVE_DATA_READ_H
#define NERVE_DATA_READ_H

#include <stdio.h>
#include <zlib.h>

#include "internal.h"

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
  unsigned long long bol;    /* offset of that line's first byte */
  long tokline;              /* line of the last word read */
  int eof, gz, zinit, in_eof;
  int binary; /* errors give the byte offset, not the line */
  z_stream z;
  nerve_status bad; /* set by a read error */
} rd;

/* Floats that grow by doubling (the engine never resizes a block). */
typedef struct grow {
  float *p;
  size_t n, cap;
} grow;

/* Fills e (when not NULL): where (a line, or a byte offset when bytes),
** and what was found and expected. */
void nerve__data_err(nerve_data_err *e, long line, int bytes,
                     const char *fmt, ...);
/* Opens path for reading; on failure r needs no closing. */
nerve_status nerve__rd_open(nerve_ctx *ctx, rd *r, const char *path,
                            nerve_data_err *e);
void nerve__rd_close(nerve_ctx *ctx, rd *r);
/* The next byte (not consumed), or -1 at the end or on an error (r->bad). */
int nerve__rd_peek(rd *r, nerve_data_err *e);
/* The next byte, consumed (counting lines), or -1. Consume bytes other
** than newlines by r->pos++ or this: only this counts lines. */
int nerve__rd_get(rd *r, nerve_data_err *e);
/* Reads exactly n bytes; 0 when the data ends first (or on an error). */
int nerve__rd_bytes(rd *r, unsigned char *p, size_t n, nerve_data_err *e);
/* Bytes consumed so far. */
unsigned long long nerve__rd_offset(const rd *r);
/* The 1-based column (in bytes) of the next byte on its line. */
unsigned long long nerve__rd_column(const rd *r);
/* Appends v: NERVE_OK, NERVE_ENOMEM or NERVE_ELIMIT (e says so). */
nerve_status nerve__push(nerve_ctx *ctx, grow *g, float v, long line,
                         nerve_data_err *e);

#endif
