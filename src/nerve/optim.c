/*
** optim.c - the optimizers over the parameters of a network: SGD
** (momentum, Nesterov), Adam, AdamW, RMSprop, Adagrad and RPROP (iRPROP-),
** plus clipping by global L2 norm. Each linear layer's W and b are one flat
** vector, so every update is a single loop per layer. The state lives in
** one allocation made at creation: a step never allocates.
**
** The rules, with g = grad (+ weight_decay * p where a rule says so):
**   SGD:     v = mu v + g; p -= lr v (Nesterov: p -= lr (g + mu v))
**   Adam:    m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
**            p -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
**   AdamW:   p *= 1 - lr wd (decoupled decay), then Adam with g = grad
**   RMSprop: v = a v + (1-a) g^2; (centered: ga = a ga + (1-a) g,
**            v' = v - ga^2, else v' = v); d = g / (sqrt(v') + eps);
**            with momentum: buf = mu buf + d, p -= lr buf; else p -= lr d
**   Adagrad: s += g^2; p -= lr / (1 + (t-1) lr_decay) g / (sqrt(s) + eps)
**   iRPROP-: (g = grad, no decay, no lr) if g g_prev > 0 the step grows,
**            step = min(step inc, delta_max); if g g_prev < 0 it shrinks,
**            step = max(step dec, delta_min), and g = 0 (no move now,
**            no sign change next time); p -= sign(g) step; g_prev = g.
*/
#include <math.h>
#include <string.h>

#include "internal.h"

enum { SGD, ADAM, ADAMW, RMSPROP, ADAGRAD, RPROP };

static const char *const names[] = {"sgd",     "adam",    "adamw",
                                    "rmsprop", "adagrad", "rprop"};

struct nerve_optim {
  nerve_ctx *ctx;
  int kind;
  double clip; /* largest global L2 norm of the gradients; 0: off */
  nerve_sgd_opts sgd;
  nerve_adam_opts ad;
  nerve_rmsprop_opts rms;
  nerve_adagrad_opts ada;
  nerve_rprop_opts rp;
  long t;
  int n;                /* linear layers, retained */
  int per;              /* state floats per parameter */
  nerve_layer **layers; /* after the struct, in the same block */
  float *state;         /* per layer: per arrays of its parameter count */
  size_t nstate;        /* floats */
};

static int finite_nonneg(float x) { return isfinite(x) && x >= 0; }

static nerve_status make(nerve_net *net, int kind, int per,
                         nerve_optim **out) {
  int n = nerve_net_param_count(net) / 2;
  size_t np = nerve_net_num_params(net);
  size_t head = (sizeof(nerve_optim) + 63) & ~(size_t)63;
  size_t lbytes = ((size_t)n * sizeof(nerve_layer *) + 63) & ~(size_t)63;
  size_t sbytes = np * per * sizeof(float);
  char *mem = nerve_malloc(net->ctx, head + lbytes + sbytes);
  if (!mem) return NERVE_ENOMEM;
  nerve_optim *o = (nerve_optim *)(void *)mem;
  memset(o, 0, sizeof *o);
  o->ctx = net->ctx;
  o->kind = kind;
  o->n = n;
  o->per = per;
  o->nstate = np * per;
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
  nerve_status s = make(net, SGD, o->momentum != 0, out);
  if (!s) (*out)->sgd = *o;
  return s;
}

static int adam_ok(const nerve_adam_opts *o) {
  return finite_nonneg(o->lr) && finite_nonneg(o->eps) &&
         finite_nonneg(o->weight_decay) && o->beta1 >= 0 && o->beta1 < 1 &&
         o->beta2 >= 0 && o->beta2 < 1;
}

nerve_status nerve_adam_new(nerve_net *net, const nerve_adam_opts *o,
                            nerve_optim **out) {
  if (!net || !o || !out || !adam_ok(o)) return NERVE_EARG;
  nerve_status s = make(net, ADAM, 2, out);
  if (!s) (*out)->ad = *o;
  return s;
}

nerve_status nerve_adamw_new(nerve_net *net, const nerve_adam_opts *o,
                             nerve_optim **out) {
  if (!net || !o || !out || !adam_ok(o)) return NERVE_EARG;
  nerve_status s = make(net, ADAMW, 2, out);
  if (!s) (*out)->ad = *o;
  return s;
}

nerve_status nerve_rmsprop_new(nerve_net *net, const nerve_rmsprop_opts *o,
                               nerve_optim **out) {
  if (!net || !o || !out || !finite_nonneg(o->lr) || !finite_nonneg(o->eps) ||
      !finite_nonneg(o->weight_decay) || !finite_nonneg(o->momentum) ||
      !(o->alpha >= 0 && o->alpha <= 1))
    return NERVE_EARG;
  int per = 1 + (o->momentum != 0) + (o->centered != 0);
  nerve_status s = make(net, RMSPROP, per, out);
  if (!s) (*out)->rms = *o;
  return s;
}

nerve_status nerve_adagrad_new(nerve_net *net, const nerve_adagrad_opts *o,
                               nerve_optim **out) {
  if (!net || !o || !out || !finite_nonneg(o->lr) || !finite_nonneg(o->eps) ||
      !finite_nonneg(o->weight_decay) || !finite_nonneg(o->lr_decay) ||
      !finite_nonneg(o->initial_accumulator))
    return NERVE_EARG;
  nerve_status s = make(net, ADAGRAD, 1, out);
  if (s) return s;
  (*out)->ada = *o;
  for (size_t j = 0; j < (*out)->nstate; j++)
    (*out)->state[j] = o->initial_accumulator;
  return NERVE_OK;
}

nerve_status nerve_rprop_new(nerve_net *net, const nerve_rprop_opts *o,
                             nerve_optim **out) {
  if (!net || !o || !out || !finite_nonneg(o->delta_min) ||
      !finite_nonneg(o->delta_max) || !finite_nonneg(o->delta_zero) ||
      !(o->increase >= 1 && isfinite(o->increase)) ||
      !(o->decrease > 0 && o->decrease <= 1) || o->delta_min > o->delta_max)
    return NERVE_EARG;
  nerve_status s = make(net, RPROP, 2, out);
  if (s) return s;
  nerve_optim *r = *out;
  r->rp = *o;
  /* per layer: previous gradients (zero) then the step sizes */
  float *st = r->state;
  for (int i = 0; i < r->n; i++) {
    size_t np = nerve__layer_nparams(r->layers[i]);
    for (size_t j = 0; j < np; j++) st[np + j] = o->delta_zero;
    st += 2 * np;
  }
  return NERVE_OK;
}

void nerve_optim_free(nerve_optim *opt) {
  if (!opt) return;
  for (int i = 0; i < opt->n; i++) nerve_layer_release(opt->layers[i]);
  nerve_free(opt->ctx, opt);
}

/* ------------------------------------------------------------ the rules */

/* Plain SGD in fixed blocks of 8, so the compiler turns each block into
** vector code even at -O2; the arithmetic per element is unchanged. */
static void sgd_plain(float lr, float wd, size_t n, float *restrict p,
                      const float *restrict grad) {
  size_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int u = 0; u < 8; u++) p[j + u] -= lr * (grad[j + u] + wd * p[j + u]);
  for (; j < n; j++) p[j] -= lr * (grad[j] + wd * p[j]);
}

static void sgd_step(const nerve_sgd_opts *o, size_t n, float *p,
                     const float *grad, float *vel) {
  float lr = o->lr, mu = o->momentum, wd = o->weight_decay;
  if (!vel) {
    sgd_plain(lr, wd, n, p, grad);
    return;
  }
  for (size_t j = 0; j < n; j++) {
    float g = grad[j] + wd * p[j];
    float v = vel[j] = mu * vel[j] + g;
    p[j] -= lr * (o->nesterov ? g + mu * v : v);
  }
}

/* wd is the coupled decay (added to g); decay the decoupled factor. */
static void adam_step(const nerve_adam_opts *o, long t, float wd, float decay,
                      size_t n, float *p, const float *grad, float *m,
                      float *v) {
  float b1 = o->beta1, b2 = o->beta2;
  float bc1 = (float)(1 - pow(b1, (double)t));
  float bc2 = (float)(1 - pow(b2, (double)t));
  for (size_t j = 0; j < n; j++) {
    float g = grad[j] + wd * p[j];
    if (decay != 1) p[j] *= decay;
    m[j] = b1 * m[j] + (1 - b1) * g;
    v[j] = b2 * v[j] + (1 - b2) * g * g;
    p[j] -= o->lr * (m[j] / bc1) / (sqrtf(v[j] / bc2) + o->eps);
  }
}

static void rmsprop_step(const nerve_rmsprop_opts *o, size_t n, float *p,
                         const float *grad, float *st) {
  float a = o->alpha, wd = o->weight_decay, mu = o->momentum;
  float *sq = st, *buf = mu != 0 ? st + n : NULL;
  float *avg = o->centered ? st + n * (mu != 0 ? 2 : 1) : NULL;
  for (size_t j = 0; j < n; j++) {
    float g = grad[j] + wd * p[j];
    sq[j] = a * sq[j] + (1 - a) * g * g;
    float v = sq[j];
    if (avg) {
      avg[j] = a * avg[j] + (1 - a) * g;
      v -= avg[j] * avg[j];
    }
    float d = g / (sqrtf(v > 0 ? v : 0) + o->eps);
    if (buf) d = buf[j] = mu * buf[j] + d;
    p[j] -= o->lr * d;
  }
}

static void adagrad_step(const nerve_adagrad_opts *o, long t, size_t n,
                         float *p, const float *grad, float *sum) {
  float clr = (float)(o->lr / (1 + (double)(t - 1) * o->lr_decay));
  float wd = o->weight_decay;
  for (size_t j = 0; j < n; j++) {
    float g = grad[j] + wd * p[j];
    sum[j] += g * g;
    p[j] -= clr * g / (sqrtf(sum[j]) + o->eps);
  }
}

/* FANN 2.x's variant (see nerve.h); g = dE/dp, FANN's slope is -g. */
static void rprop_fann_step(const nerve_rprop_opts *o, size_t n, float *p,
                            const float *grad, float *prev, float *step) {
  for (size_t j = 0; j < n; j++) {
    float g = grad[j], d = step[j] > 0.0001f ? step[j] : 0.0001f;
    if (g * prev[j] >= 0) {
      d *= o->increase;
      if (d > o->delta_max) d = o->delta_max;
    } else {
      d *= o->decrease;
      if (d < o->delta_min) d = o->delta_min;
      g = 0;
    }
    float w = g > 0 ? p[j] - d : p[j] + d;
    p[j] = w < -1500 ? -1500 : w > 1500 ? 1500 : w;
    step[j] = d;
    prev[j] = g;
  }
}

static void rprop_step(const nerve_rprop_opts *o, size_t n, float *p,
                       const float *grad, float *prev, float *step) {
  if (o->fann) {
    rprop_fann_step(o, n, p, grad, prev, step);
    return;
  }
  for (size_t j = 0; j < n; j++) {
    float g = grad[j], s = g * prev[j], d = step[j];
    if (s > 0) {
      d *= o->increase;
      if (d > o->delta_max) d = o->delta_max;
    } else if (s < 0) {
      d *= o->decrease;
      if (d < o->delta_min) d = o->delta_min;
      g = 0;
    }
    if (g > 0) p[j] -= d;
    else if (g < 0) p[j] += d;
    step[j] = d;
    prev[j] = g;
  }
}

/* Scales the gradients of layers[0..n-1] so that their global L2 norm is
** at most max (PyTorch's clip_grad_norm_: factor max / (norm + 1e-6),
** applied only when below 1). Returns the norm before. */
static double clip_layers(nerve_layer *const *layers, int n, double max) {
  double s = 0;
  for (int i = 0; i < n; i++) {
    size_t np = nerve__layer_nparams(layers[i]);
    const float *g = layers[i]->gw;
    for (size_t j = 0; j < np; j++) s += (double)g[j] * g[j];
  }
  double norm = sqrt(s), f = max / (norm + 1e-6);
  if (f < 1) {
    float ff = (float)f;
    for (int i = 0; i < n; i++) {
      size_t np = nerve__layer_nparams(layers[i]);
      float *g = layers[i]->gw;
      for (size_t j = 0; j < np; j++) g[j] *= ff;
    }
  }
  return norm;
}

/* Every rule is elementwise: a range [j0, j1) of one layer's parameters
** steps alone, so big layers are cut into fixed parts for the pool. */
static void step_range(nerve_optim *opt, nerve_layer *l, float *st, size_t np,
                       size_t j0, size_t j1) {
  size_t n = j1 - j0;
  float *w = l->w + j0;
  const float *g = l->gw + j0;
  float *s0 = st ? st + j0 : NULL, *s1 = st ? st + np + j0 : NULL;
  switch (opt->kind) {
  case SGD:
    if (!opt->per && opt->sgd.weight_decay == 0) /* p -= lr g, vectorized */
      l->ctx->k->sgd(n, opt->sgd.lr, w, g);
    else sgd_step(&opt->sgd, n, w, g, opt->per ? s0 : NULL);
    break;
  case ADAM:
    adam_step(&opt->ad, opt->t, opt->ad.weight_decay, 1, n, w, g, s0, s1);
    break;
  case ADAMW:
    adam_step(&opt->ad, opt->t, 0, 1 - opt->ad.lr * opt->ad.weight_decay, n,
              w, g, s0, s1);
    break;
  case RMSPROP: rmsprop_step(&opt->rms, n, w, g, s0); break;
  case ADAGRAD: adagrad_step(&opt->ada, opt->t, n, w, g, s0); break;
  default: rprop_step(&opt->rp, n, w, g, s0, s1); break;
  }
}

typedef struct step_job {
  nerve_optim *opt;
  nerve_layer *l;
  float *st;
  size_t np;
  int parts;
} step_job;

static void step_part(void *u, int p) {
  step_job *j = u;
  size_t j0 = j->np * (size_t)p / (size_t)j->parts & ~(size_t)15;
  size_t j1 = p + 1 == j->parts ? j->np
                                : j->np * (size_t)(p + 1) / (size_t)j->parts &
                                      ~(size_t)15;
  if (j1 > j0) step_range(j->opt, j->l, j->st, j->np, j0, j1);
}

/* Layers of at least this many parameters (about a millisecond of work;
** below that a batch-1 step would pay for the pool) step in parts,
** whatever the thread count, so the floats never depend on it. */
#define STEP_PAR (1 << 20)

nerve_status nerve_optim_step(nerve_optim *opt) {
  if (!opt) return NERVE_EARG;
  for (int i = 0; i < opt->n; i++) nerve__layer_grads(opt->layers[i]);
  if (opt->clip > 0) clip_layers(opt->layers, opt->n, opt->clip);
  opt->t++;
  float *st = opt->state;
  for (int i = 0; i < opt->n; i++) {
    nerve_layer *l = opt->layers[i];
    size_t np = nerve__layer_nparams(l);
    step_job j = {opt, l, opt->per ? st : NULL, np,
                  np >= STEP_PAR ? NERVE_PARTS : 1};
    nerve__pool_run(l->ctx, j.parts, step_part, &j);
    st += opt->per * np;
  }
  return NERVE_OK;
}

float nerve__optim_fused_lr(const nerve_optim *opt, const nerve_net *net) {
  if (opt->kind != SGD || opt->per || opt->sgd.weight_decay != 0 ||
      opt->clip > 0)
    return 0;
  int j = 0;
  for (int i = 0; i < net->n; i++) {
    nerve_layer *l = net->s[i].l;
    if (l->kind != NERVE_LINEAR) continue;
    if (j >= opt->n || opt->layers[j] != l) return 0;
    j++;
  }
  return j == opt->n ? opt->sgd.lr : 0;
}

void nerve__optim_count(nerve_optim *opt) { opt->t++; }

/* ------------------------------------------------------------ settings */

float nerve_optim_lr(const nerve_optim *opt) {
  switch (opt->kind) {
  case SGD: return opt->sgd.lr;
  case ADAM:
  case ADAMW: return opt->ad.lr;
  case RMSPROP: return opt->rms.lr;
  case ADAGRAD: return opt->ada.lr;
  default: return 0;
  }
}

void nerve_optim_set_lr(nerve_optim *opt, float lr) {
  switch (opt->kind) {
  case SGD: opt->sgd.lr = lr; break;
  case ADAM:
  case ADAMW: opt->ad.lr = lr; break;
  case RMSPROP: opt->rms.lr = lr; break;
  case ADAGRAD: opt->ada.lr = lr; break;
  default: break; /* RPROP has no learning rate */
  }
}

long nerve_optim_steps(const nerve_optim *opt) { return opt->t; }

const char *nerve_optim_name(const nerve_optim *opt) {
  return names[opt->kind];
}

double nerve_optim_clip(const nerve_optim *opt) { return opt->clip; }

nerve_status nerve_optim_set_clip(nerve_optim *opt, double max_norm) {
  if (!(max_norm >= 0) || !isfinite(max_norm)) return NERVE_EARG;
  opt->clip = max_norm;
  return NERVE_OK;
}

size_t nerve_optim_state_size(const nerve_optim *opt) { return opt->nstate; }

float *nerve_optim_state(nerve_optim *opt) { return opt->state; }

nerve_status nerve_optim_set_steps(nerve_optim *opt, long t) {
  if (t < 0) return NERVE_EARG;
  opt->t = t;
  return NERVE_OK;
}

double nerve_net_clip_grad_norm(nerve_net *net, double max_norm) {
  double s = 0;
  for (int i = 0; i < net->n; i++) nerve__layer_grads(net->s[i].l);
  for (int i = 0; i < net->n; i++) {
    const nerve_layer *l = net->s[i].l;
    size_t np = nerve__layer_nparams(l);
    for (size_t j = 0; j < np; j++) s += (double)l->gw[j] * l->gw[j];
  }
  double norm = sqrt(s), f = max_norm / (norm + 1e-6);
  if (!(f < 1)) return norm;
  for (int i = 0; i < net->n; i++) {
    nerve_layer *l = net->s[i].l;
    size_t np = nerve__layer_nparams(l);
    for (size_t j = 0; j < np; j++) l->gw[j] *= (float)f;
  }
  return norm;
}
