/*
** net.c - a network as a sequence of layers: construction, the parameter
** list, plain gradient steps, copies.
*/
#include <math.h>
#include <string.h>

#include "internal.h"

nerve_status nerve_net_new(nerve_ctx *ctx, nerve_net **out) {
  if (!ctx || !out) return NERVE_EARG;
  nerve_net *net = nerve_malloc(ctx, sizeof *net);
  if (!net) return NERVE_ENOMEM;
  memset(net, 0, sizeof *net);
  net->ctx = ctx;
  *out = net;
  return NERVE_OK;
}

void nerve_net_free(nerve_net *net) {
  if (!net) return;
  nerve_ctx *ctx = net->ctx;
  for (int i = 0; i < net->n; i++) {
    nerve__buf_free(ctx, &net->s[i].out);
    nerve_layer_release(net->s[i].l);
  }
  nerve_free(ctx, net->s);
  nerve__buf_free(ctx, &net->g0);
  nerve__buf_free(ctx, &net->g1);
  nerve__buf_free(ctx, &net->xin);
  nerve__buf_free(ctx, &net->y);
  nerve__buf_free(ctx, &net->rl);
  for (int i = 0; i < 3; i++) nerve__buf_free(ctx, &net->pk[i]);
  nerve_free(ctx, net);
}

nerve_ctx *nerve_net_ctx(const nerve_net *net) { return net->ctx; }

nerve_status nerve_net_add(nerve_net *net, nerve_layer *l) {
  if (!net || !l || l->ctx != net->ctx) return NERVE_EARG;
  if (net->n >= NERVE_MAX_LAYERS) return NERVE_ELIMIT;
  if (l->kind == NERVE_LINEAR) {
    for (int i = 0; i < net->n; i++)
      if (net->s[i].l == l) return NERVE_EARG;
    int w = nerve_net_n_out(net);
    if (w && l->n_in != w) return NERVE_ESHAPE;
    if (nerve_net_num_params(net) + nerve__layer_nparams(l) > NERVE_MAX_PARAMS)
      return NERVE_ELIMIT;
  }
  if (net->n == net->cap) {
    int cap = net->cap ? 2 * net->cap : 8;
    nerve_slot *s = nerve_malloc(net->ctx, (size_t)cap * sizeof *s);
    if (!s) return NERVE_ENOMEM;
    if (net->n) memcpy(s, net->s, (size_t)net->n * sizeof *s);
    nerve_free(net->ctx, net->s);
    net->s = s;
    net->cap = cap;
  }
  memset(&net->s[net->n], 0, sizeof net->s[0]);
  net->s[net->n++].l = l;
  nerve_layer_retain(l);
  net->rows = 0; /* the kept batch no longer matches the layers */
  return NERVE_OK;
}

int nerve_net_count(const nerve_net *net) { return net->n; }

nerve_layer *nerve_net_layer(const nerve_net *net, int i) {
  return i >= 0 && i < net->n ? net->s[i].l : NULL;
}

int nerve_net_n_in(const nerve_net *net) {
  for (int i = 0; i < net->n; i++)
    if (net->s[i].l->kind == NERVE_LINEAR) return net->s[i].l->n_in;
  return 0;
}

int nerve_net_n_out(const nerve_net *net) {
  for (int i = net->n - 1; i >= 0; i--)
    if (net->s[i].l->kind == NERVE_LINEAR) return net->s[i].l->n_out;
  return 0;
}

size_t nerve_net_num_params(const nerve_net *net) {
  size_t n = 0;
  for (int i = 0; i < net->n; i++) n += nerve__layer_nparams(net->s[i].l);
  return n;
}

int nerve_net_param_count(const nerve_net *net) {
  int n = 0;
  for (int i = 0; i < net->n; i++) n += net->s[i].l->kind == NERVE_LINEAR;
  return 2 * n;
}

/* The linear layer holding parameter tensor i, or NULL. */
static nerve_layer *param_layer(const nerve_net *net, int i) {
  for (int j = 0; i >= 0 && j < net->n; j++) {
    nerve_layer *l = net->s[j].l;
    if (l->kind != NERVE_LINEAR) continue;
    if (i < 2) return l;
    i -= 2;
  }
  return NULL;
}

nerve_mat nerve_net_param(const nerve_net *net, int i) {
  nerve_layer *l = param_layer(net, i);
  if (!l) return nerve_mat_view(NULL, 0, 0);
  return i % 2 ? nerve_layer_bias(l) : nerve_layer_weight(l);
}

nerve_mat nerve_net_grad(const nerve_net *net, int i) {
  nerve_layer *l = param_layer(net, i);
  if (!l) return nerve_mat_view(NULL, 0, 0);
  return i % 2 ? nerve_layer_grad_bias(l) : nerve_layer_grad_weight(l);
}

void nerve_net_zero_grad(nerve_net *net) {
  for (int i = 0; i < net->n; i++) {
    nerve_layer *l = net->s[i].l;
    size_t np = nerve__layer_nparams(l);
    if (np && l->shown) memset(l->gw, 0, np * sizeof(float));
    else if (np) l->gzero = 1; /* the next backward overwrites instead */
  }
}

void nerve_net_update(nerve_net *net, float lr) {
  for (int i = 0; i < net->n; i++) {
    nerve_layer *l = net->s[i].l;
    size_t np = l->gzero ? 0 : nerve__layer_nparams(l);
    if (np) net->ctx->k->sgd(np, lr, l->w, l->gw);
  }
}

/* Sums of squares in four fixed chains: one serial chain of double adds
** cost more than the whole batch-1 step (fit asks for it every batch). */
static double sum_sq(const float *g, size_t n) {
  double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    a0 += (double)g[j] * g[j];
    a1 += (double)g[j + 1] * g[j + 1];
    a2 += (double)g[j + 2] * g[j + 2];
    a3 += (double)g[j + 3] * g[j + 3];
  }
  for (; j < n; j++) a0 += (double)g[j] * g[j];
  return (a0 + a1) + (a2 + a3);
}

double nerve_net_grad_norm(const nerve_net *net) {
  double s = 0;
  for (int i = 0; i < net->n; i++) {
    const nerve_layer *l = net->s[i].l;
    if (!l->gzero) s += sum_sq(l->gw, nerve__layer_nparams(l));
  }
  return sqrt(s);
}

/* A fresh layer like l, with l's parameters and zero gradients. */
static nerve_status copy_layer(nerve_ctx *ctx, const nerve_layer *l,
                               nerve_layer **out) {
  if (l->kind != NERVE_LINEAR)
    return nerve_act_new(ctx, l->kind, l->alpha, out);
  nerve_status s = nerve__linear_alloc(ctx, l->n_in, l->n_out, out);
  if (!s) memcpy((*out)->w, l->w, nerve__layer_nparams(l) * sizeof(float));
  return s;
}

nerve_status nerve_net_clone(const nerve_net *net, nerve_net **out) {
  nerve_net *c;
  nerve_status s = nerve_net_new(net->ctx, &c);
  if (s) return s;
  for (int i = 0; i < net->n; i++) {
    nerve_layer *l;
    s = copy_layer(net->ctx, net->s[i].l, &l);
    if (s) break;
    s = nerve_net_add(c, l);
    nerve_layer_release(l); /* the network holds it now, or nobody */
    if (s) break;
  }
  if (s) {
    nerve_net_free(c);
    return s;
  }
  c->precision = net->precision;
  *out = c;
  return NERVE_OK;
}

nerve_status nerve_net_set_precision(nerve_net *net, nerve_precision p) {
  if (p != NERVE_FP32 && p != NERVE_BF16) return NERVE_EARG;
  net->precision = p;
  return NERVE_OK;
}

nerve_precision nerve_net_precision(const nerve_net *net) {
  return net->precision;
}

nerve_status nerve_net_copy_params(nerve_net *dst, const nerve_net *src) {
  if (dst->n != src->n) return NERVE_ESHAPE;
  for (int i = 0; i < dst->n; i++) {
    const nerve_layer *a = dst->s[i].l, *b = src->s[i].l;
    if (a->kind != b->kind || a->n_in != b->n_in || a->n_out != b->n_out)
      return NERVE_ESHAPE;
  }
  for (int i = 0; i < dst->n; i++) {
    nerve_layer *a = dst->s[i].l;
    size_t np = nerve__layer_nparams(a);
    if (np) memmove(a->w, src->s[i].l->w, np * sizeof(float));
  }
  return NERVE_OK;
}
