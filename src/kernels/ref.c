/*
** ref.c - the scalar reference kernels: plain loops, the meaning of every
** slot in kernels.h and the twin every SIMD path is tested against.
*/
#include <math.h>

#include <string.h>

#include "kernels.h"

static void gemm_nn(int m, int n, int k, const float *a, int lda,
                    const float *b, int ldb, float *c, int ldc,
                    const float *bias) {
  for (int i = 0; i < m; i++) {
    float *ci = c + (size_t)i * ldc;
    for (int j = 0; j < n; j++) ci[j] = bias ? bias[j] : 0.0f;
    for (int p = 0; p < k; p++) {
      float aip = a[(size_t)i * lda + p];
      const float *bp = b + (size_t)p * ldb;
      for (int j = 0; j < n; j++) ci[j] += aip * bp[j];
    }
  }
}

static void gemm_nt(int m, int n, int k, const float *a, int lda,
                    const float *b, int ldb, float *c, int ldc) {
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      const float *ai = a + (size_t)i * lda, *bj = b + (size_t)j * ldb;
      float s = 0.0f;
      for (int p = 0; p < k; p++) s += ai[p] * bj[p];
      c[(size_t)i * ldc + j] = s;
    }
}

static void gemm_tn(int m, int n, int k, const float *a, int lda,
                    const float *b, int ldb, float *c, int ldc) {
  for (int p = 0; p < k; p++) {
    const float *ap = a + (size_t)p * lda, *bp = b + (size_t)p * ldb;
    for (int i = 0; i < m; i++) {
      float *ci = c + (size_t)i * ldc;
      for (int j = 0; j < n; j++) ci[j] += ap[i] * bp[j];
    }
  }
}

static void gemm_tn_set(int m, int n, int k, const float *a, int lda,
                        const float *b, int ldb, float *c, int ldc) {
  for (int i = 0; i < m; i++) memset(c + (size_t)i * ldc, 0, n * sizeof(float));
  gemm_tn(m, n, k, a, lda, b, ldb, c, ldc);
}

/* clang contracts a product and a sum of one expression into an FMA where
** the target has one (aarch64) unless told not to; the SIMD twins round
** the product first, so must this. (GCC contracts nothing under -std=c11
** and does not know the pragma.) */
static void sgd(size_t n, float lr, float *p, const float *g) {
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif
  for (size_t i = 0; i < n; i++) p[i] -= lr * g[i];
}

static void colsum(int m, int n, const float *a, int lda, float *out) {
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) out[j] += a[(size_t)i * lda + j];
}

/* Written so that exp never overflows: for x < 0 use e^x / (1 + e^x). */
static float sigmoid1(float x) {
  if (x >= 0) return 1.0f / (1.0f + expf(-x));
  float e = expf(x);
  return e / (1.0f + e);
}

static void sigmoid(size_t n, const float *x, float *y) {
  for (size_t i = 0; i < n; i++) y[i] = sigmoid1(x[i]);
}

static void tanh_(size_t n, const float *x, float *y) {
  for (size_t i = 0; i < n; i++) y[i] = tanhf(x[i]);
}

static void relu(size_t n, const float *x, float *y) {
  for (size_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0.0f;
}

static void leaky_relu(size_t n, const float *x, float *y, float alpha) {
  for (size_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : alpha * x[i];
}

static void softmax(int m, int n, const float *x, float *y) {
  for (int i = 0; i < m; i++) {
    const float *xi = x + (size_t)i * n;
    float *yi = y + (size_t)i * n;
    float mx = xi[0], s = 0.0f;
    for (int j = 1; j < n; j++) mx = xi[j] > mx ? xi[j] : mx;
    for (int j = 0; j < n; j++) s += (yi[j] = expf(xi[j] - mx));
    for (int j = 0; j < n; j++) yi[j] /= s;
  }
}

static void sigmoid_bwd(size_t n, const float *y, const float *dy, float *dx) {
  for (size_t i = 0; i < n; i++) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
}

static void tanh_bwd(size_t n, const float *y, const float *dy, float *dx) {
  for (size_t i = 0; i < n; i++) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}

static void relu_bwd(size_t n, const float *a, const float *dy, float *dx) {
  for (size_t i = 0; i < n; i++) dx[i] = a[i] > 0 ? dy[i] : 0.0f;
}

static void leaky_relu_bwd(size_t n, const float *a, const float *dy,
                           float *dx, float alpha) {
  for (size_t i = 0; i < n; i++) dx[i] = a[i] > 0 ? dy[i] : alpha * dy[i];
}

static void softmax_bwd(int m, int n, const float *y, const float *dy,
                        float *dx) {
  for (int i = 0; i < m; i++) {
    const float *yi = y + (size_t)i * n, *dyi = dy + (size_t)i * n;
    float *dxi = dx + (size_t)i * n, s = 0.0f;
    for (int j = 0; j < n; j++) s += dyi[j] * yi[j];
    for (int j = 0; j < n; j++) dxi[j] = yi[j] * (dyi[j] - s);
  }
}

static void elu(size_t n, const float *x, float *y, float alpha) {
  for (size_t i = 0; i < n; i++)
    y[i] = x[i] > 0 ? x[i] : alpha * expm1f(x[i]);
}

/* max(x, 0) + log1p(e^-|x|): no overflow, no cancellation */
static void softplus(size_t n, const float *x, float *y) {
  for (size_t i = 0; i < n; i++)
    y[i] = (x[i] > 0 ? x[i] : 0.0f) + log1pf(expf(-fabsf(x[i])));
}

/* erfc keeps the left tail accurate where 1 + erf would cancel; below
** GELU_ZERO the result underflows (and -inf * 0 would give NaN) */
#define GELU_ZERO -15.0f
static void gelu(size_t n, const float *x, float *y) {
  for (size_t i = 0; i < n; i++)
    y[i] = x[i] < GELU_ZERO ? -0.0f : 0.5f * x[i] * erfcf(-x[i] * 0.70710678f);
}

static void elu_bwd(size_t n, const float *a, const float *y, const float *dy,
                    float *dx, float alpha) {
  for (size_t i = 0; i < n; i++)
    dx[i] = a[i] > 0 ? dy[i] : dy[i] * (y[i] + alpha);
}

static void softplus_bwd(size_t n, const float *a, const float *dy,
                         float *dx) {
  for (size_t i = 0; i < n; i++) dx[i] = dy[i] * sigmoid1(a[i]);
}

static void gelu_bwd(size_t n, const float *a, const float *dy, float *dx) {
  for (size_t i = 0; i < n; i++) {
    float cdf = 0.5f * erfcf(-a[i] * 0.70710678f);
    float pdf = 0.39894228f * expf(-0.5f * a[i] * a[i]);
    /* a clamped where pdf is 0 anyway: no inf * 0 */
    float ac = a[i] > 15.0f ? 15.0f : a[i];
    dx[i] = a[i] < GELU_ZERO ? 0.0f * dy[i] : dy[i] * (cdf + ac * pdf);
  }
}

void nerve_kernels_ref(nerve_kernels *k) {
  k->name = "scalar";
  k->bf16 = "emulated";
  k->gemm_nn = gemm_nn;
  k->gemm_nt = gemm_nt;
  k->gemm_tn = gemm_tn;
  k->gemm_tn_set = gemm_tn_set;
  k->sgd = sgd;
  k->colsum = colsum;
  k->sigmoid = sigmoid;
  k->tanh = tanh_;
  k->relu = relu;
  k->leaky_relu = leaky_relu;
  k->softmax = softmax;
  k->sigmoid_bwd = sigmoid_bwd;
  k->tanh_bwd = tanh_bwd;
  k->relu_bwd = relu_bwd;
  k->leaky_relu_bwd = leaky_relu_bwd;
  k->softmax_bwd = softmax_bwd;
  k->elu = elu;
  k->softplus = softplus;
  k->gelu = gelu;
  k->elu_bwd = elu_bwd;
  k->softplus_bwd = softplus_bwd;
  k->gelu_bwd = gelu_bwd;
}
