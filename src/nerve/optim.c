/*
** optim.c - SGD (momentum, Nesterov) and Adam over the parameters of a
** network. Each linear layer's W and b are one flat vector, so the update
** is a single loop per layer. The state lives in one allocation made at
** creation: a step never allocates.
*/
#include <math.h>
#include <string.h>

#include "internal.h"

struct nerve_optim {
  nerve_ctx *ctx;
  int adam;
  nerve_sgd_opts sgd;
  nerve_adam_opts ad;
  long t;
  int n;                /* linear layers, retained */
  nerve_layer **layers; /* after the struct, in the same block */
  float *state;         /* velocity, or m then v, layer after layer */
};

static int finite_nonneg(float x) { return isfinite(x) && x >= 0; }

static nerve_status make(nerve_net *net, int per_param, nerve_optim **out) {
  int n = nerve_net_param_count(net) / 2;
  size_t np = nerve_net_num_params(net);
  size_t head = (sizeof(nerve_optim) + 63) & ~(size_t)63;
  size_t lbytes = ((size_t)n * sizeof(nerve_layer *) + 63) & ~(size_t)63;
  size_t sbytes = np * per_param * sizeof(float);
  char *mem = nerve_malloc(net->ctx, head + lbytes + sbytes);
  if (!mem) return NERVE_ENOMEM;
  nerve_optim *o = (nerve_optim *)(void *)mem;
  memset(o, 0, sizeof *o);
  o->ctx = net->ctx;
  o->n = n;
  o->layers = (nerve_layer **)(void *)(mem + head);
  o->state = (float *)(void *)(mem + head + lbytes);
  memset(o->state, 0, sbytes); /* velocity and moments start at zero */
  for (int i = 0, j = 0; i < net->n; i++)
    if (net->s[i].l->kind == NERVE_LINEAR) {
      o->layers[j++] = net->s[i].l;
      nerve_layer_retain(net->s[i].l);
    }
  *out = o;
  return NERVE_OK;
}

nerve_status nerve_sgd_new(nerve_net *net, const nerve_sgd_opts *o,
                           nerve_optim **out) {
  if (!net || !o || !out || !finite_nonneg(o->lr) ||
      !finite_nonneg(o->momentum) || !finite_nonneg(o->weight_decay))
    return NERVE_EARG;
  /* without momentum the velocity is just g: no state needed */
  nerve_status s = make(net, o->momentum != 0, out);
  if (!s) (*out)->sgd = *o;
  return s;
}

nerve_status nerve_adam_new(nerve_net *net, const nerve_adam_opts *o,
                            nerve_optim **out) {
  if (!net || !o || !out || !finite_nonneg(o->lr) || !finite_nonneg(o->eps) ||
      !finite_nonneg(o->weight_decay) || !(o->beta1 >= 0 && o->beta1 < 1) ||
      !(o->beta2 >= 0 && o->beta2 < 1))
    return NERVE_EARG;
  nerve_status s = make(net, 2, out);
  if (!s) {
    (*out)->adam = 1;
    (*out)->ad = *o;
  }
  return s;
}

void nerve_optim_free(nerve_optim *opt) {
  if (!opt) return;
  for (int i = 0; i < opt->n; i++) nerve_layer_release(opt->layers[i]);
  nerve_free(opt->ctx, opt);
}

static void sgd_step(const nerve_sgd_opts *o, size_t n, float *p,
                     const float *grad, float *vel) {
  float lr = o->lr, mu = o->momentum, wd = o->weight_decay;
  for (size_t j = 0; j < n; j++) {
    float g = grad[j] + wd * p[j];
    if (!vel) {
      p[j] -= lr * g;
      continue;
    }
    float v = vel[j] = mu * vel[j] + g;
    p[j] -= lr * (o->nesterov ? g + mu * v : v);
  }
}

static void adam_step(const nerve_adam_opts *o, long t, size_t n, float *p,
                      const float *grad, float *m, float *v) {
  float b1 = o->beta1, b2 = o->beta2, wd = o->weight_decay;
  float bc1 = (float)(1 - pow(b1, (double)t));
  float bc2 = (float)(1 - pow(b2, (double)t));
  for (size_t j = 0; j < n; j++) {
    float g = grad[j] + wd * p[j];
    m[j] = b1 * m[j] + (1 - b1) * g;
    v[j] = b2 * v[j] + (1 - b2) * g * g;
    p[j] -= o->lr * (m[j] / bc1) / (sqrtf(v[j] / bc2) + o->eps);
  }
}

nerve_status nerve_optim_step(nerve_optim *opt) {
  if (!opt) return NERVE_EARG;
  opt->t++;
  float *st = opt->state;
  for (int i = 0; i < opt->n; i++) {
    nerve_layer *l = opt->layers[i];
    size_t np = nerve__layer_nparams(l);
    if (opt->adam) {
      adam_step(&opt->ad, opt->t, np, l->w, l->gw, st, st + np);
      st += 2 * np;
    } else {
      int mom = opt->sgd.momentum != 0;
      sgd_step(&opt->sgd, np, l->w, l->gw, mom ? st : NULL);
      st += mom ? np : 0;
    }
  }
  return NERVE_OK;
}

float nerve_optim_lr(const nerve_optim *opt) {
  return opt->adam ? opt->ad.lr : opt->sgd.lr;
}

void nerve_optim_set_lr(nerve_optim *opt, float lr) {
  if (opt->adam) opt->ad.lr = lr;
  else opt->sgd.lr = lr;
}

long nerve_optim_steps(const nerve_optim *opt) { return opt->t; }
