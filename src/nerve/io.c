/*
** io.c - the model format. Little-endian, written byte by byte so the
** bytes are the same on any host:
**
**   "NERVEMDL"  u32 version (1)  u32 layer count  u32 total length
**   per layer:  u32 kind  u32 n_in  u32 n_out  f32 alpha
**   per linear layer: W (n_in x n_out, row-major) then b, IEEE float32
**   u32 CRC-32 (polynomial 0xEDB88320) of every byte before it
**
** The total length tells truncation (ETRUNC) from corruption (ECHECKSUM).
** Everything is checked before a network is built.
*/
#include <math.h>
#include <string.h>

#include "internal.h"

#define MAGIC "NERVEMDL"
#define FORMAT_VERSION 1u
#define HEAD 20u  /* magic, version, count, total */
#define LREC 16u  /* one layer record */

static uint32_t crc32(const unsigned char *p, size_t n) {
  uint32_t table[256]; /* rebuilt per call: cheap, and no global state */
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint32_t nerve_crc32(const void *bytes, size_t len) {
  return crc32((const unsigned char *)bytes, len);
}

static void wr32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)v;
  p[1] = (unsigned char)(v >> 8);
  p[2] = (unsigned char)(v >> 16);
  p[3] = (unsigned char)(v >> 24);
}

static uint32_t rd32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

static void wrf(unsigned char *p, float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  wr32(p, u);
}

static float rdf(const unsigned char *p) {
  uint32_t u = rd32(p);
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

nerve_status nerve_net_serialize(const nerve_net *net, void **bytes,
                                 size_t *len) {
  if (!net || !bytes || !len) return NERVE_EARG;
  /* add() keeps both counts within limits, so this fits a u32 */
  size_t total = HEAD + LREC * (size_t)net->n +
                 4 * nerve_net_num_params(net) + 4;
  unsigned char *p = nerve_malloc(net->ctx, total), *q = p;
  if (!p) return NERVE_ENOMEM;
  memcpy(q, MAGIC, 8);
  wr32(q + 8, FORMAT_VERSION);
  wr32(q + 12, (uint32_t)net->n);
  wr32(q + 16, (uint32_t)total);
  q += HEAD;
  for (int i = 0; i < net->n; i++, q += LREC) {
    const nerve_layer *l = net->s[i].l;
    wr32(q, (uint32_t)l->kind);
    wr32(q + 4, (uint32_t)l->n_in);
    wr32(q + 8, (uint32_t)l->n_out);
    wrf(q + 12, l->alpha);
  }
  for (int i = 0; i < net->n; i++) {
    const nerve_layer *l = net->s[i].l;
    size_t np = nerve__layer_nparams(l);
    for (size_t j = 0; j < np; j++, q += 4) wrf(q, l->w[j]);
  }
  wr32(q, crc32(p, total - 4));
  *bytes = p;
  *len = total;
  return NERVE_OK;
}

/* Magic, version, length and checksum. */
static nerve_status check_frame(const unsigned char *p, size_t len) {
  size_t m = len < 8 ? len : 8;
  if (m && memcmp(p, MAGIC, m) != 0) return NERVE_EFORMAT;
  if (len < 12) return NERVE_ETRUNC;
  if (rd32(p + 8) != FORMAT_VERSION) return NERVE_EVERSION;
  if (len < HEAD + 4) return NERVE_ETRUNC;
  uint32_t total = rd32(p + 16);
  if (total > len) return NERVE_ETRUNC;
  if (total < HEAD + 4) return NERVE_EFORMAT;
  if (crc32(p, total - 4) != rd32(p + total - 4)) return NERVE_ECHECKSUM;
  return total == len ? NERVE_OK : NERVE_EFORMAT; /* bytes after the end */
}

/* The layer records: kinds, sizes, limits, widths, the implied length. */
static nerve_status check_layers(const unsigned char *p, size_t len) {
  uint32_t n = rd32(p + 12);
  if (n > NERVE_MAX_LAYERS) return NERVE_ELIMIT;
  if (HEAD + (size_t)n * LREC + 4 > len) return NERVE_EFORMAT;
  size_t params = 0;
  uint32_t w = 0;
  for (uint32_t i = 0; i < n; i++) {
    const unsigned char *r = p + HEAD + (size_t)i * LREC;
    uint32_t kind = rd32(r), n_in = rd32(r + 4), n_out = rd32(r + 8);
    if (kind >= NERVE_KIND_COUNT || !isfinite(rdf(r + 12)))
      return NERVE_EFORMAT;
    /* kinds without a parameter are written with all bits zero, so that
    ** one model has one encoding */
    if (!nerve__kind_has_param((nerve_kind)kind) && rd32(r + 12) != 0)
      return NERVE_EFORMAT;
    if (kind == NERVE_DROPOUT && !(rdf(r + 12) >= 0 && rdf(r + 12) < 1))
      return NERVE_EFORMAT;
    if (kind != NERVE_LINEAR) {
      if (n_in || n_out) return NERVE_EFORMAT;
      continue;
    }
    if (n_in > NERVE_MAX_DIM || n_out > NERVE_MAX_DIM) return NERVE_ELIMIT;
    if (!n_in || !n_out || (w && n_in != w)) return NERVE_EFORMAT;
    size_t np = (size_t)n_in * n_out + n_out; /* < 2^49: no overflow */
    if (np > NERVE_MAX_PARAMS - params) return NERVE_ELIMIT;
    params += np;
    w = n_out;
  }
  if (HEAD + (size_t)n * LREC + 4 * params + 4 != len) return NERVE_EFORMAT;
  const unsigned char *q = p + HEAD + (size_t)n * LREC;
  for (size_t j = 0; j < params; j++, q += 4)
    if (!isfinite(rdf(q))) return NERVE_EFORMAT;
  return NERVE_OK;
}

/* Builds the checked model. */
static nerve_status build(nerve_ctx *ctx, const unsigned char *p,
                          nerve_net *net) {
  uint32_t n = rd32(p + 12);
  const unsigned char *q = p + HEAD + (size_t)n * LREC;
  for (uint32_t i = 0; i < n; i++) {
    const unsigned char *r = p + HEAD + (size_t)i * LREC;
    nerve_layer *l;
    nerve_kind kind = (nerve_kind)rd32(r);
    nerve_status s =
        kind == NERVE_LINEAR
            ? nerve__linear_alloc(ctx, (int)rd32(r + 4), (int)rd32(r + 8), &l)
            : nerve_act_new(ctx, kind, rdf(r + 12), &l);
    if (s) return s;
    size_t np = nerve__layer_nparams(l);
    for (size_t j = 0; j < np; j++, q += 4) l->w[j] = rdf(q);
    s = nerve_net_add(net, l);
    nerve_layer_release(l);
    if (s) return s;
  }
  return NERVE_OK;
}

nerve_status nerve_net_deserialize(nerve_ctx *ctx, const void *bytes,
                                   size_t len, nerve_net **out) {
  if (!ctx || !out || (!bytes && len)) return NERVE_EARG;
  const unsigned char *p = bytes;
  nerve_status s = check_frame(p, len);
  if (!s) s = check_layers(p, len);
  if (s) return s;
  nerve_net *net = NULL;
  s = nerve_net_new(ctx, &net);
  if (!s) s = build(ctx, p, net);
  if (s) {
    nerve_net_free(net);
    return s;
  }
  *out = net;
  return NERVE_OK;
}
