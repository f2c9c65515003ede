/*
** init.c - the initialisers beyond the uniform ones of layer.c: normal
** draws (plain, Glorot, Kaiming), a constant and orthogonal matrices.
*/
#include <math.h>
#include <string.h>

#include "internal.h"

/* A standard normal draw (Box-Muller; one of the pair, so every weight
** costs two uniforms and the sequence depends on nothing else). */
static double normal(nerve_rng *r) {
  double u1 = 1.0 - nerve_rng_uniform(r); /* (0, 1]: log is finite */
  double u2 = nerve_rng_uniform(r);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Modified Gram-Schmidt on k vectors of length m (m >= k): vector v,
** element i at p[v * vs + i * es]. Dot products in double. */
static void orthonormalize(float *p, int k, int m, size_t vs, size_t es) {
  for (int v = 0; v < k; v++) {
    float *a = p + v * vs;
    for (int u = 0; u < v; u++) {
      const float *b = p + u * vs;
      double d = 0;
      for (int i = 0; i < m; i++) d += (double)a[i * es] * b[i * es];
      for (int i = 0; i < m; i++) a[i * es] -= (float)(d * b[i * es]);
    }
    double s = 0;
    for (int i = 0; i < m; i++) s += (double)a[i * es] * a[i * es];
    if (s > 0) /* zero only for a degenerate draw: left as it is */
      for (int i = 0; i < m; i++) a[i * es] = (float)(a[i * es] / sqrt(s));
  }
}

nerve_status nerve_layer_init_with(nerve_layer *l, nerve_init init,
                                   double param, nerve_rng *r) {
  if ((unsigned)init > NERVE_INIT_ORTHOGONAL || !isfinite(param))
    return NERVE_EARG;
  if (init == NERVE_INIT_NORMAL && param < 0) return NERVE_EARG;
  if (init <= NERVE_INIT_ZERO) return nerve_layer_init(l, init, r);
  if (l->kind != NERVE_LINEAR) return NERVE_OK;
  double fi = l->n_in, fo = l->n_out, sd = param;
  size_t nw = (size_t)l->n_in * l->n_out;
  if (init == NERVE_INIT_XAVIER_NORMAL) sd = sqrt(2.0 / (fi + fo));
  if (init == NERVE_INIT_HE_NORMAL) sd = sqrt(2.0 / fi);
  if (init == NERVE_INIT_ORTHOGONAL) sd = 1;
  for (size_t i = 0; i < nw; i++)
    l->w[i] = init == NERVE_INIT_CONSTANT ? (float)param
                                          : (float)(sd * normal(r));
  if (init == NERVE_INIT_ORTHOGONAL) {
    size_t n = (size_t)l->n_out;
    if (l->n_in >= l->n_out) /* orthonormal columns */
      orthonormalize(l->w, l->n_out, l->n_in, 1, n);
    else /* orthonormal rows */
      orthonormalize(l->w, l->n_in, l->n_out, n, 1);
    for (size_t i = 0; i < nw; i++) l->w[i] = (float)(l->w[i] * param);
  }
  memset(l->b, 0, (size_t)l->n_out * sizeof(float));
  return NERVE_OK;
}
