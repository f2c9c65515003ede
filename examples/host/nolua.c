/*
** nolua.c - the engine alone (nerve.h), no Lua linked: a 2-4-1 network
** learns XOR with nerve_net_train_epochs (whole epochs in one call, until
** the loss is below 0.001), then is serialised and read back. A host that
** wants to see each batch calls nerve_net_train_batch instead. Build: cc nolua.c $(pkg-config --cflags
** --libs nerve)
*/
#include <stdio.h>
#include <stdlib.h>

#include "nerve.h"

static void *heap(void *ud, void *ptr, size_t osize, size_t nsize) {
  (void)ud, (void)osize;
  if (nsize == 0) {
    free(ptr);
    return NULL;
  }
  return realloc(ptr, nsize);
}

#define CHECK(call)                                                        \
  do {                                                                     \
    nerve_status s_ = (call);                                              \
    if (s_ != NERVE_OK) {                                                  \
      fprintf(stderr, "%s: %s\n", #call, nerve_strerror(s_));              \
      return 1;                                                            \
    }                                                                      \
  } while (0)

int main(void) {
  float xs[] = {0, 0, 0, 1, 1, 0, 1, 1}, ys[] = {0, 1, 1, 0};
  nerve_mat x = nerve_mat_view(xs, 4, 2), y = nerve_mat_view(ys, 4, 1), out;
  nerve_ctx *ctx;
  nerve_net *net, *copy;
  nerve_layer *l[4];
  nerve_optim *opt;
  nerve_sgd_opts so = {2.0f, 0.9f, 0.0f, 0};

  CHECK(nerve_ctx_new(&ctx, heap, NULL));
  nerve_rng_seed(nerve_ctx_rng(ctx), 1);
  CHECK(nerve_net_new(ctx, &net));
  CHECK(nerve_linear_new(ctx, 2, 4, &l[0]));
  CHECK(nerve_act_new(ctx, NERVE_SIGMOID, 0, &l[1]));
  CHECK(nerve_linear_new(ctx, 4, 1, &l[2]));
  CHECK(nerve_act_new(ctx, NERVE_SIGMOID, 0, &l[3]));
  for (int i = 0; i < 4; i++) {
    CHECK(nerve_net_add(net, l[i]));
    nerve_layer_release(l[i]); /* the network holds them */
  }
  CHECK(nerve_sgd_new(net, &so, &opt));
  nerve_epochs run = {.loss = NERVE_MSE, .x = &x, .y = &y, .batch = 4,
                      .opt = opt, .epochs = 5000, .loss_below = 1e-3};
  CHECK(nerve_net_train_epochs(net, &run));
  printf("XOR with the engine alone (%s): loss %.6f after %d epochs\n",
         nerve_ctx_isa(ctx), run.loss_out, run.done);

  void *bytes;
  size_t len;
  CHECK(nerve_net_serialize(net, &bytes, &len));
  CHECK(nerve_net_deserialize(ctx, bytes, len, &copy));
  nerve_free(ctx, bytes);
  CHECK(nerve_net_forward(copy, &x, &out));
  for (int i = 0; i < 4; i++)
    printf("%g xor %g = %.3f\n", xs[2 * i], xs[2 * i + 1], out.data[i]);
  nerve_optim_free(opt);
  nerve_net_free(copy);
  nerve_net_free(net);
  nerve_ctx_free(ctx);
  return run.stopped != NERVE_STOP_CRITERION; /* 0: it learned */
}
