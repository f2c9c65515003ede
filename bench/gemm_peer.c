/* nerve's GEMM kernels (the table of libnerve.a) against OpenBLAS sgemm
** on the three training shapes of 784-256-128-10 at batch 256, one
** thread. CSV as bench/nerve.lua; which=nerve or which=openblas. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/kernels.h"

static double cpu(void) { return (double)clock() / CLOCKS_PER_SEC; }

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

static float *buf(size_t n) {
  float *p = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
  for (size_t i = 0; i < n; i++) p[i] = (float)(i % 17) * 0.01f;
  return p;
}

int main(int argc, char **argv) {
  int blas = argc > 1 && strcmp(argv[1], "openblas") == 0;
  int reps = getenv("BENCH_REPS") ? atoi(getenv("BENCH_REPS")) : 5;
  const nerve_kernels *k = nerve_kernels_best();
  /* forward C = A B (256x784 x 784x256); weight gradient C += A^T B
  ** (A 256x784, B 256x256: C 784x256); input gradient C = A B^T
  ** (A 256x256, B 128x256: C 256x128, the 256x128 x 128x256 shape) */
  struct { const char *name; int m, n, k; } s[3] = {
      {"gemm_fwd_256x784x256", 256, 256, 784},
      {"gemm_wgrad_784x256x256", 784, 256, 256},
      {"gemm_igrad_256x128x256", 256, 128, 256}};
  for (int q = 0; q < 3; q++) {
    int m = s[q].m, n = s[q].n, kk = s[q].k;
    float *a = buf((size_t)m * kk), *b = buf((size_t)kk * n),
          *c = buf((size_t)m * n);
    for (int r = -1; r < reps; r++) {
      int it = 0;
      double t0 = now(), c0 = cpu(), t;
      do {
        for (int u = 0; u < 20; u++, it++) {
          if (q == 0) {
            if (blas) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, kk, 1, a, kk, b, n, 0, c, n);
            else k->gemm_nn(m, n, kk, a, kk, b, n, c, n, NULL);
          } else if (q == 1) { /* A stored k x m */
            if (blas) cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, n, kk, 1, a, m, b, n, 1, c, n);
            else k->gemm_tn(m, n, kk, a, m, b, n, c, n);
          } else { /* B stored n x k */
            if (blas) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, kk, 1, a, kk, b, kk, 0, c, n);
            else k->gemm_nt(m, n, kk, a, kk, b, kk, c, n);
          }
        }
        t = now() - t0;
      } while (t < 0.1);
      if (r >= 0)
        printf("%s,%s,1,GFLOP/s,%g,%.3f\n", s[q].name,
               blas ? "openblas" : "nerve", 2.0 * m * n * kk * it / t * 1e-9,
               (cpu() - c0) / t);
    }
    free(a);
    free(b);
    free(c);
  }
  return 0;
}
