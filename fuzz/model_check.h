/*
** model_check.h - what the model-loader harnesses check on one input. No
** memory error; everything allocated is freed; the loader allocates in
** proportion to the input (a header cannot ask for more than the bytes
** it comes with); an accepted model serialises back to exactly the same
** bytes, and runs a forward pass.
*/
#ifndef NERVE_MODEL_CHECK_H
#define NERVE_MODEL_CHECK_H

#include "fuzz.h"
#include "nerve.h"

static void check_model(const uint8_t *data, size_t size) {
  fz_counter c;
  memset(&c, 0, sizeof c);
  nerve_ctx *ctx = NULL;
  if (nerve_ctx_new(&ctx, fz_alloc, &c) != NERVE_OK) return;
  nerve_ctx_set_isa(ctx, "scalar");
  size_t base = c.live;
  nerve_net *net = NULL;
  nerve_status s = nerve_net_deserialize(ctx, data, size, &net);
  /* the network, its layers and slot array: a few hundred bytes per layer
  ** record and parameters as in the file */
  FZ_ASSERT(c.peak - base <= 64 * size + 4096);
  if (s == NERVE_OK) {
    FZ_ASSERT(net != NULL);
    void *bytes = NULL;
    size_t len = 0;
    FZ_ASSERT(nerve_net_serialize(net, &bytes, &len) == NERVE_OK);
    FZ_ASSERT(len == size && memcmp(bytes, data, size) == 0);
    nerve_free(ctx, bytes);
    int n_in = nerve_net_n_in(net);
    if (n_in == 0) n_in = 3;
    if (n_in <= 4096) {
      size_t n = (size_t)2 * n_in;
      float *x = nerve_malloc(ctx, n * sizeof(float));
      FZ_ASSERT(x != NULL);
      for (size_t i = 0; i < n; i++) x[i] = (float)i * 0.25f - 1;
      nerve_mat xm = nerve_mat_view(x, 2, n_in), out;
      s = nerve_net_forward(net, &xm, &out);
      FZ_ASSERT(s == NERVE_OK || (s == NERVE_EARG && nerve_net_count(net) == 0));
      nerve_free(ctx, x);
    }
    nerve_net_free(net);
  } else {
    FZ_ASSERT(net == NULL);
    FZ_ASSERT(s >= NERVE_EFORMAT && s <= NERVE_ELIMIT);
  }
  nerve_ctx_free(ctx);
  FZ_ASSERT(c.live == 0);
}

#endif
