/*
** dropout.c - inverted dropout and the network's training/evaluation
** mode. The mask is drawn from the context's generator, so a seed
** reproduces it (and a checkpoint that saves the generator resumes it).
*/
#include <math.h>
#include <string.h>

#include "internal.h"

void nerve_net_set_training(nerve_net *net, int on) { net->eval = !on; }

int nerve_net_training(const nerve_net *net) { return !net->eval; }

void nerve__dropout_fwd(nerve_net *net, const nerve_layer *l, size_t n,
                        const float *a, float *o, float *mask) {
  float p = l->alpha;
  if (net->eval || p == 0) {
    /* identity; a unit mask keeps backward exact in either mode */
    memmove(o, a, n * sizeof(float));
    for (size_t i = 0; i < n; i++) mask[i] = 1.0f;
    return;
  }
  nerve_rng *r = &net->ctx->rng;
  float keep = 1.0f / (1.0f - p);
  /* each 64-bit draw gives two 32-bit uniforms: u < p 2^32 drops */
  uint64_t t = (uint64_t)ldexp((double)p, 32), u = 0;
  for (size_t i = 0; i < n; i++) {
    if (i % 2 == 0) u = nerve_rng_next(r);
    else u >>= 32;
    float m = (u & 0xffffffffu) < t ? 0.0f : keep;
    mask[i] = m;
    o[i] = m != 0 ? a[i] * m : 0.0f; /* no NaN from inf * 0 */
  }
}

void nerve__dropout_bwd(size_t n, const float *mask, float *d) {
  for (size_t i = 0; i < n; i++) d[i] *= mask[i];
}
