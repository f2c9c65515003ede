/*
** ctx.c - the context: allocator, kernel table, generator, thread count;
** aligned memory on top of the caller's allocator; status strings.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define ALIGN 64

/* Kept just before each aligned block: what the allocator must get back. */
typedef struct hdr {
  void *raw;
  size_t size;
} hdr;

const char *nerve_strerror(nerve_status s) {
  switch (s) {
  case NERVE_OK: return "success";
  case NERVE_ENOMEM: return "not enough memory";
  case NERVE_EARG: return "argument out of range";
  case NERVE_ESHAPE: return "matrix shapes do not fit";
  case NERVE_ESTATE: return "call out of order";
  case NERVE_ENAN: return "NaN or infinity where a finite number is needed";
  case NERVE_EFORMAT: return "not a nerve model, or a corrupt one";
  case NERVE_EVERSION: return "unsupported model format version";
  case NERVE_ECHECKSUM: return "model checksum mismatch";
  case NERVE_ETRUNC: return "model bytes end early";
  case NERVE_ELIMIT: return "size beyond the engine's limits";
  case NERVE_EIO: return "input/output error";
  }
  return "unknown error";
}

nerve_mat nerve_mat_view(float *data, int rows, int cols) {
  nerve_mat m = {data, rows, cols, cols};
  return m;
}

int nerve__mat_ok(const nerve_mat *m) {
  return m && m->data && m->rows >= 1 && m->cols >= 1 &&
         m->rows <= NERVE_MAX_DIM && m->cols <= NERVE_MAX_DIM &&
         m->stride >= m->cols;
}

void *nerve_malloc(nerve_ctx *ctx, size_t n) {
  size_t extra = sizeof(hdr) + ALIGN - 1;
  if (n > SIZE_MAX - extra) return NULL;
  char *raw = ctx->alloc(ctx->ud, NULL, 0, n + extra);
  if (!raw) return NULL;
  uintptr_t a = ((uintptr_t)raw + sizeof(hdr) + ALIGN - 1) &
                ~(uintptr_t)(ALIGN - 1);
  char *p = raw + (a - (uintptr_t)raw); /* stays inside raw's object */
  hdr h = {raw, n + extra};
  memcpy(p - sizeof h, &h, sizeof h);
  return p;
}

void nerve_free(nerve_ctx *ctx, void *p) {
  if (!p) return;
  hdr h;
  memcpy(&h, (char *)p - sizeof h, sizeof h);
  ctx->alloc(ctx->ud, h.raw, h.size, 0);
}

nerve_status nerve_ctx_new(nerve_ctx **out, nerve_alloc f, void *ud) {
  if (!out || !f) return NERVE_EARG;
  nerve_ctx *c = f(ud, NULL, 0, sizeof *c);
  if (!c) return NERVE_ENOMEM;
  c->alloc = f;
  c->ud = ud;
  c->k = nerve_kernels_best();
  /* an unknown or unsupported NERVE_ISA is ignored, like the Lua side */
  const char *env = getenv("NERVE_ISA");
  const nerve_kernels *k = env ? nerve_kernels_get(env) : NULL;
  if (k) c->k = k;
  nerve_rng_seed(&c->rng, 0);
  c->threads = 1;
  c->pool = NULL;
  *out = c;
  return NERVE_OK;
}

void nerve_ctx_free(nerve_ctx *ctx) {
  if (!ctx) return;
  nerve__pool_free(ctx);
  ctx->alloc(ctx->ud, ctx, sizeof *ctx, 0);
}

nerve_rng *nerve_ctx_rng(nerve_ctx *ctx) { return &ctx->rng; }

const char *nerve_ctx_isa(const nerve_ctx *ctx) { return ctx->k->name; }

const char *nerve_precision_kernels(const nerve_ctx *ctx, nerve_precision p) {
  switch (p) {
  case NERVE_FP32: return ctx->k->name;
  case NERVE_BF16:
    return ctx->k->amx_ukr && ctx->k->amx_ready(0) ? "amx" : ctx->k->bf16;
  }
  return NULL;
}

nerve_status nerve_ctx_set_isa(nerve_ctx *ctx, const char *name) {
  const nerve_kernels *k = nerve_kernels_get(name);
  if (!k) return NERVE_EARG;
  ctx->k = k;
  return NERVE_OK;
}

int nerve_isa_supported(const char *name) {
  return nerve_kernels_get(name) != NULL;
}

int nerve_ctx_threads(const nerve_ctx *ctx) { return ctx->threads; }

nerve_status nerve_ctx_set_threads(nerve_ctx *ctx, int n) {
  if (n < 1 || n > 1024) return NERVE_EARG;
  if (n == ctx->threads) return NERVE_OK;
  /* the workers start here, never inside a training step */
  nerve__pool_free(ctx);
  ctx->threads = 1;
  nerve_status s = nerve__pool_new(ctx, n);
  if (s == NERVE_OK) ctx->threads = n;
  return s;
}
