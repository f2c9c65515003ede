/*
** test_optim.c - optimizer steps against the update rules of nerve.h
** worked in double, their options, the toolkit's optimizers and gradient
** clipping, and allocation failure in their constructors.
*/
#include <math.h>
#include <string.h>

#include "engine.h"

/* ------------------------------------------------------------- optimizers */

/* One linear 2 -> 1 layer: 3 parameters with fixed gradients. */
static const double P0[3] = {0.5, -0.3, 0.2}, G0[3] = {0.2, -0.1, 0.4};

typedef struct oref {
  int adam, nesterov;
  double lr, mom, wd, b1, b2, eps;
} oref;

/* The update rules of nerve.h, in double, for `steps` steps. */
static void optim_by_hand(const oref *o, int steps, double *p) {
  double v[3] = {0}, m[3] = {0};
  memcpy(p, P0, sizeof P0);
  for (int t = 1; t <= steps; t++)
    for (int j = 0; j < 3; j++) {
      double g = G0[j] + o->wd * p[j];
      if (o->adam) {
        m[j] = o->b1 * m[j] + (1 - o->b1) * g;
        v[j] = o->b2 * v[j] + (1 - o->b2) * g * g;
        double mh = m[j] / (1 - pow(o->b1, t)), vh = v[j] / (1 - pow(o->b2, t));
        p[j] -= o->lr * mh / (sqrt(vh) + o->eps);
      } else {
        v[j] = o->mom * v[j] + g; /* no dampening; v starts at 0 */
        p[j] -= o->lr * (o->nesterov ? g + o->mom * v[j] : v[j]);
      }
    }
}

static void check_optim(const oref *o) {
  counter c;
  nerve_ctx *ctx = new_ctx(&c);
  nerve_net *net;
  CHECK(nerve_net_new(ctx, &net) == NERVE_OK);
  nerve_layer *l = lin(ctx, 2, 1);
  add(net, l);
  set_mat(nerve_layer_weight(l), P0);
  set_mat(nerve_layer_bias(l), P0 + 2);
  set_mat(nerve_layer_grad_weight(l), G0);
  set_mat(nerve_layer_grad_bias(l), G0 + 2);
  nerve_optim *opt = NULL;
  if (o->adam) {
    nerve_adam_opts a = {(float)o->lr, (float)o->b1, (float)o->b2,
                         (float)o->eps, (float)o->wd};
    CHECK(nerve_adam_new(net, &a, &opt) == NERVE_OK);
  } else {
    nerve_sgd_opts s = {(float)o->lr, (float)o->mom, (float)o->wd, o->nesterov};
    CHECK(nerve_sgd_new(net, &s, &opt) == NERVE_OK);
  }
  /* the optimizer holds the layers: it outlives the network */
  nerve_net_free(net);
  for (int t = 1; t <= 3; t++) {
    double want[3];
    optim_by_hand(o, t, want);
    CHECK(nerve_optim_step(opt) == NERVE_OK);
    CHECK(nerve_optim_steps(opt) == t);
    float *w = nerve_layer_weight(l).data, *b = nerve_layer_bias(l).data;
    CHECK_NEAR(w[0], want[0], 2e-6);
    CHECK_NEAR(w[1], want[1], 2e-6);
    CHECK_NEAR(b[0], want[2], 2e-6);
    /* gradients are left as they were */
    CHECK(nerve_layer_grad_weight(l).data[1] == (float)G0[1]);
  }
  CHECK(nerve_optim_lr(opt) == (float)o->lr);
  nerve_optim_set_lr(opt, 0.5f);
  CHECK(nerve_optim_lr(opt) == 0.5f);
  nerve_optim_free(opt);
  end_ctx(ctx, &c);
}

static void test_optimizers(void) {
  const oref cases[] = {
      {0, 0, 0.1, 0, 0, 0, 0, 0},       /* plain */
      {0, 0, 0.1, 0.9, 0, 0, 0, 0},     /* momentum */
      {0, 1, 0.1, 0.9, 0, 0, 0, 0},     /* Nesterov */
      {0, 0, 0.1, 0.9, 0.01, 0, 0, 0},  /* momentum + weight decay */
      {0, 0, 0.1, 0, 0.5, 0, 0, 0},     /* weight decay alone */
      {0, 1, 0.05, 0.5, 0.1, 0, 0, 0},  /* everything */
      {1, 0, 0.01, 0, 0, 0.9, 0.999, 1e-8},
      {1, 0, 0.1, 0, 0.1, 0.8, 0.99, 1e-3},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    check_optim(&cases[i]);

  /* numbers written out: p = 0.5, g = 0.2, lr = 0.1 */
  double p[3];
  oref mom = {0, 0, 0.1, 0.9, 0, 0, 0, 0};
  optim_by_hand(&mom, 1, p);
  CHECK_NEAR(p[0], 0.48, 1e-12); /* first step: v = g */
  optim_by_hand(&mom, 2, p);
  CHECK_NEAR(p[0], 0.48 - 0.1 * (0.9 * 0.2 + 0.2), 1e-12);
  oref adam = {1, 0, 0.01, 0, 0, 0.9, 0.999, 1e-8};
  optim_by_hand(&adam, 1, p);
  CHECK_NEAR(p[0], 0.5 - 0.01 * 0.2 / (0.2 + 1e-8), 1e-12); /* t = 1 */

  /* bad options */
  counter c;
  nerve_ctx *ctx = new_ctx(&c);
  nerve_net *net;
  CHECK(nerve_net_new(ctx, &net) == NERVE_OK);
  add(net, lin(ctx, 2, 2));
  nerve_optim *opt = NULL;
  nerve_sgd_opts s = {NAN, 0, 0, 0};
  CHECK(nerve_sgd_new(net, &s, &opt) == NERVE_EARG);
  s.lr = 0.1f;
  s.momentum = -1;
  CHECK(nerve_sgd_new(net, &s, &opt) == NERVE_EARG);
  nerve_adam_opts a = {0.1f, 1.0f, 0.999f, 1e-8f, 0};
  CHECK(nerve_adam_new(net, &a, &opt) == NERVE_EARG);
  CHECK(opt == NULL);
  nerve_net_free(net);
  end_ctx(ctx, &c);
}

/* -------------------------------------- the training toolkit's optimizers */

/* A 2 -> 2 linear net with parameters P and gradients G (W then b). */
static nerve_net *toolkit_net(nerve_ctx *ctx) {
  static const double P[6] = {0.5, -0.25, 1.5, -2, 0.125, -0.75};
  static const double G[6] = {0.1, -0.4, 0.05, 1.2, -0.3, 0.02};
  nerve_net *net = NULL;
  CHECK(nerve_net_new(ctx, &net) == NERVE_OK);
  add(net, lin(ctx, 2, 2));
  set_mat(nerve_net_param(net, 0), P);
  set_mat(nerve_net_param(net, 1), P + 4);
  set_mat(nerve_net_grad(net, 0), G);
  set_mat(nerve_net_grad(net, 1), G + 4);
  return net;
}

static void test_toolkit_optimizers(void) {
  counter c;
  nerve_ctx *ctx = new_ctx(&c);
  nerve_net *net = toolkit_net(ctx);
  nerve_optim *o = NULL;
  /* AdamW: one step is p (1 - lr wd) - lr sign(g) (bias-corrected) */
  nerve_adam_opts aw = {0.01f, 0.9f, 0.999f, 1e-8f, 0.5f};
  CHECK(nerve_adamw_new(net, &aw, &o) == NERVE_OK);
  CHECK(strcmp(nerve_optim_name(o), "adamw") == 0);
  CHECK(nerve_optim_state_size(o) == 12);
  CHECK(nerve_optim_step(o) == NERVE_OK);
  double want = 0.5 * (1 - 0.01 * 0.5) - 0.01 * 0.1 / (0.1 + 1e-8);
  CHECK(fabs(nerve_net_param(net, 0).data[0] - want) < 1e-6);
  CHECK(nerve_optim_set_steps(o, -1) == NERVE_EARG);
  CHECK(nerve_optim_set_steps(o, 7) == NERVE_OK && nerve_optim_steps(o) == 7);
  nerve_optim_free(o);
  /* RPROP: the first step is delta_zero against the gradient's sign */
  nerve_rprop_opts rp = {1.2f, 0.5f, 0, 50, 0.1f, 0};
  float before = nerve_net_param(net, 0).data[1];
  CHECK(nerve_rprop_new(net, &rp, &o) == NERVE_OK);
  CHECK(nerve_optim_lr(o) == 0);
  CHECK(nerve_optim_step(o) == NERVE_OK);
  CHECK(fabs(nerve_net_param(net, 0).data[1] - (before + 0.1f)) < 1e-7);
  CHECK(nerve_optim_state(o)[12 / 2 + 1] == 0.1f); /* steps after grads */
  nerve_optim_free(o);
  /* bad options */
  nerve_rmsprop_opts rm = {0.01f, 1.5f, 1e-8f, 0, 0, 0};
  CHECK(nerve_rmsprop_new(net, &rm, &o) == NERVE_EARG);
  nerve_adagrad_opts ag = {0.01f, -1, 0, 0, 1e-10f};
  CHECK(nerve_adagrad_new(net, &ag, &o) == NERVE_EARG);
  rp.delta_min = 60;
  CHECK(nerve_rprop_new(net, &rp, &o) == NERVE_EARG);
  rp.delta_min = 0;
  rp.decrease = 0;
  CHECK(nerve_rprop_new(net, &rp, &o) == NERVE_EARG);
  /* clipping: by the optimizer and by hand, the same rule */
  rm.alpha = 0.99f;
  CHECK(nerve_rmsprop_new(net, &rm, &o) == NERVE_OK);
  CHECK(nerve_optim_set_clip(o, -1) == NERVE_EARG);
  CHECK(nerve_optim_set_clip(o, NAN) == NERVE_EARG);
  CHECK(nerve_optim_set_clip(o, 0.5) == NERVE_OK && nerve_optim_clip(o) == 0.5);
  nerve_optim_free(o);
  double norm = nerve_net_grad_norm(net);
  CHECK(fabs(nerve_net_clip_grad_norm(net, 0.5) - norm) < 1e-12);
  CHECK(fabs(nerve_net_grad_norm(net) - 0.5) < 1e-6);
  CHECK(fabs(nerve_net_clip_grad_norm(net, 10) - 0.5) < 1e-6);
  CHECK(fabs(nerve_net_grad_norm(net) - 0.5) < 1e-6); /* below: untouched */
  nerve_net_free(net);
  end_ctx(ctx, &c);
  /* every allocation of the new constructors may fail, leaking nothing */
  for (size_t k = 1; k < 40; k++) {
    ctx = new_ctx(&c);
    net = toolkit_net(ctx);
    c.fail_at = c.calls + k;
    nerve_rmsprop_opts r2 = {0.01f, 0.99f, 1e-8f, 0, 0.9f, 1};
    nerve_status s = nerve_rmsprop_new(net, &r2, &o);
    CHECK(s == NERVE_OK || s == NERVE_ENOMEM);
    if (s == NERVE_OK) {
      CHECK(nerve_optim_state_size(o) == 18);
      nerve_optim_free(o);
    }
    c.fail_at = 0;
    nerve_net_free(net);
    end_ctx(ctx, &c);
    if (s == NERVE_OK) break;
  }
}

int main(void) {
  test_optimizers();
  test_toolkit_optimizers();
  return check_report("test_optim");
}
