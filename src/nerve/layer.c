/*
** layer.c - reference-counted layers: a linear map whose parameters live
** in one block that never moves, or a stateless activation.
*/
#include <math.h>
#include <string.h>

#include "internal.h"

static const char *const kind_names[NERVE_KIND_COUNT] = {
    "linear", "sigmoid", "tanh", "relu", "leaky_relu", "softmax", "identity",
    "dropout", "elu", "softplus", "gelu", "sigmoid_symmetric"};

const char *nerve_kind_name(nerve_kind k) {
  return (unsigned)k < NERVE_KIND_COUNT ? kind_names[k] : NULL;
}

int nerve_kind_find(const char *name) {
  for (int i = 0; name && i < NERVE_KIND_COUNT; i++)
    if (strcmp(kind_names[i], name) == 0) return i;
  return -1;
}

/* Floats rounded up to a multiple of 16 (64 bytes). */
static size_t pad16(size_t n) { return (n + 15) & ~(size_t)15; }

size_t nerve__layer_nparams(const nerve_layer *l) {
  return l->kind == NERVE_LINEAR ? (size_t)l->n_in * l->n_out + l->n_out : 0;
}

static size_t head_floats(void) {
  return pad16((sizeof(nerve_layer) + sizeof(float) - 1) / sizeof(float));
}

nerve_status nerve__linear_alloc(nerve_ctx *ctx, int n_in, int n_out,
                                 nerve_layer **out) {
  if (n_in < 1 || n_out < 1 || n_in > NERVE_MAX_DIM || n_out > NERVE_MAX_DIM)
    return NERVE_EARG;
  size_t np = (size_t)n_in * n_out + (size_t)n_out;
  if (np > NERVE_MAX_PARAMS) return NERVE_ELIMIT;
  size_t h = head_floats(), total = h + 2 * pad16(np);
  float *mem = nerve_malloc(ctx, total * sizeof(float));
  if (!mem) return NERVE_ENOMEM;
  memset(mem, 0, total * sizeof(float));
  nerve_layer *l = (nerve_layer *)(void *)mem;
  l->ctx = ctx;
  l->refs = 1;
  l->kind = NERVE_LINEAR;
  l->n_in = n_in;
  l->n_out = n_out;
  l->alpha = 0;
  l->w = mem + h;
  l->b = l->w + (size_t)n_in * n_out;
  l->gw = l->w + pad16(np);
  l->gb = l->gw + (size_t)n_in * n_out;
  *out = l;
  return NERVE_OK;
}

nerve_status nerve_linear_new(nerve_ctx *ctx, int n_in, int n_out,
                              nerve_layer **out) {
  nerve_layer *l;
  nerve_status s = nerve__linear_alloc(ctx, n_in, n_out, &l);
  if (s) return s;
  nerve_layer_init(l, NERVE_INIT_XAVIER, &ctx->rng);
  *out = l;
  return NERVE_OK;
}

/* Kinds whose layers carry a parameter in alpha. */
int nerve__kind_has_param(nerve_kind k) {
  return k == NERVE_LEAKY_RELU || k == NERVE_DROPOUT || k == NERVE_ELU ||
         k == NERVE_SIGMOID_SYMMETRIC;
}

nerve_status nerve_act_new(nerve_ctx *ctx, nerve_kind k, float alpha,
                           nerve_layer **out) {
  if (k <= NERVE_LINEAR || k >= NERVE_KIND_COUNT) return NERVE_EARG;
  if (k == NERVE_LEAKY_RELU && !isfinite(alpha)) return NERVE_EARG;
  if (k == NERVE_DROPOUT && !(alpha >= 0 && alpha < 1)) return NERVE_EARG;
  int param = nerve__kind_has_param(k);
  if (param && !isfinite(alpha)) return NERVE_EARG;
  nerve_layer *l = nerve_malloc(ctx, sizeof *l);
  if (!l) return NERVE_ENOMEM;
  memset(l, 0, sizeof *l);
  l->ctx = ctx;
  l->refs = 1;
  l->kind = k;
  l->alpha = param ? alpha : 0.0f;
  *out = l;
  return NERVE_OK;
}

void nerve_layer_retain(nerve_layer *l) { l->refs++; }

void nerve_layer_release(nerve_layer *l) {
  if (l && --l->refs == 0) nerve_free(l->ctx, l);
}

nerve_kind nerve_layer_kind(const nerve_layer *l) { return l->kind; }
int nerve_layer_n_in(const nerve_layer *l) { return l->n_in; }
int nerve_layer_n_out(const nerve_layer *l) { return l->n_out; }
float nerve_layer_alpha(const nerve_layer *l) { return l->alpha; }

static nerve_mat view(float *p, int rows, int cols) {
  return p ? nerve_mat_view(p, rows, cols) : nerve_mat_view(NULL, 0, 0);
}

nerve_mat nerve_layer_weight(nerve_layer *l) {
  return view(l->w, l->n_in, l->n_out);
}
nerve_mat nerve_layer_bias(nerve_layer *l) { return view(l->b, 1, l->n_out); }

/* gw and gb are one block: a pending zero_grad clears both. */
float *nerve__layer_grads(nerve_layer *l) {
  if (l->gzero) memset(l->gw, 0, nerve__layer_nparams(l) * sizeof(float));
  l->gzero = 0;
  return l->gw;
}

/* A view outlives any later zero_grad, which must then clear at once. */
nerve_mat nerve_layer_grad_weight(nerve_layer *l) {
  if (l->gw) l->shown = 1;
  return view(nerve__layer_grads(l), l->n_in, l->n_out);
}
nerve_mat nerve_layer_grad_bias(nerve_layer *l) {
  if (l->gw) l->shown = 1;
  nerve__layer_grads(l);
  return view(l->gb, 1, l->n_out);
}

nerve_status nerve_layer_init(nerve_layer *l, nerve_init init, nerve_rng *r) {
  if (init > NERVE_INIT_ZERO) /* the appended schemes, defaults */
    return nerve_layer_init_with(l, init,
                                 init == NERVE_INIT_NORMAL       ? 0.01
                                 : init == NERVE_INIT_ORTHOGONAL ? 1
                                                                 : 0,
                                 r);
  if ((unsigned)init > NERVE_INIT_ZERO) return NERVE_EARG;
  if (l->kind != NERVE_LINEAR) return NERVE_OK;
  double fi = l->n_in, fo = l->n_out, range = 0;
  switch (init) {
  case NERVE_INIT_XAVIER: range = sqrt(6.0 / (fi + fo)); break;
  case NERVE_INIT_HE: range = sqrt(6.0 / fi); break;
  case NERVE_INIT_UNIFORM: range = 1.0 / sqrt(fi); break;
  default: break; /* NERVE_INIT_ZERO */
  }
  size_t nw = (size_t)l->n_in * l->n_out;
  for (size_t i = 0; i < nw; i++) /* zero draws nothing from r */
    l->w[i] = range != 0 ? (float)((2 * nerve_rng_uniform(r) - 1) * range)
                         : 0.0f;
  memset(l->b, 0, (size_t)l->n_out * sizeof(float));
  return NERVE_OK;
}
