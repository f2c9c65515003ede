/* nerve's GEMM kernels (the table of libnerve.a) against OpenBLAS sgemm,
** one thread. CSV as bench/nerve.lua.
**   bench_gemm nerve|openblas          the three training shapes of
**                                      784-256-128-10 at batch 256
**   bench_gemm nerve|openblas sweep    square nn products and the five
**                                      large shapes of 784-1024-1024-10
**                                      at batch 256
**   bench_gemm nerve sweep bf16        those five shapes in bf16 (g.bf16;
**                                      OpenBLAS has none: Debian's build
**                                      lacks sbgemm)
** BENCH_ONLY (a workload prefix) selects shapes, as in bench/nerve.lua. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/gemm.h"

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

/* Every call into nerve's GEMM goes through these three: the packed
** driver (kernels/gemm.h) of the best table, on one thread, with a
** workspace sized before the clock starts. */
static const nerve_kernels *K;
static float *WS;
static int BF16; /* every job bf16: operands rounded as they are packed */

/* C (m x n) = A (m x k) B (k x n) */
static void nerve_nn(int m, int n, int k, const float *a, int lda,
                     const float *b, int ldb, float *c, int ldc) {
  nerve_gemm g = nerve_gemm_nn(m, n, k, a, lda, b, ldb, c, ldc, NULL);
  g.bf16 = BF16;
  nerve_gemm_run(K, &g, WS);
}

/* C (m x n) += A^T B, A is k x m, B is k x n */
static void nerve_tn(int m, int n, int k, const float *a, int lda,
                     const float *b, int ldb, float *c, int ldc) {
  nerve_gemm g = nerve_gemm_tn(m, n, k, a, lda, b, ldb, c, ldc, 1);
  g.bf16 = BF16;
  nerve_gemm_run(K, &g, WS);
}

/* C (m x n) = A (m x k) B^T, B is n x k */
static void nerve_nt(int m, int n, int k, const float *a, int lda,
                     const float *b, int ldb, float *c, int ldc) {
  nerve_gemm g = nerve_gemm_nt(m, n, k, a, lda, b, ldb, c, ldc);
  g.bf16 = BF16;
  nerve_gemm_run(K, &g, WS);
}

enum { NN, TN, NT };
typedef struct { const char *name; int op, m, n, k; } shape;

/* fwd: C = A B (256x784 x 784x256); wgrad: C += A^T B (A 256x784, B
** 256x256: C 784x256); igrad: C = A B^T (A 256x256, B 128x256: C
** 256x128, the 256x128 x 128x256 shape) */
static const shape BASE[] = {
    {"gemm_fwd_256x784x256", NN, 256, 256, 784},
    {"gemm_wgrad_784x256x256", TN, 784, 256, 256},
    {"gemm_igrad_256x128x256", NT, 256, 128, 256}};

/* Names give m x n x k. The network's shapes: the forward of layers 1
** and 2, their weight gradients, and layer 2's input gradient (layer 3's
** are a few percent of the work). */
static const shape SWEEP[] = {
    {"sweep_gemm_nn_256", NN, 256, 256, 256},
    {"sweep_gemm_nn_512", NN, 512, 512, 512},
    {"sweep_gemm_nn_1024", NN, 1024, 1024, 1024},
    {"sweep_gemm_nn_2048", NN, 2048, 2048, 2048},
    {"sweep_gemm_nn_4096", NN, 4096, 4096, 4096},
    {"sweep_gemm_fwd_256x1024x784", NN, 256, 1024, 784},
    {"sweep_gemm_fwd_256x1024x1024", NN, 256, 1024, 1024},
    {"sweep_gemm_wgrad_784x1024x256", TN, 784, 1024, 256},
    {"sweep_gemm_wgrad_1024x1024x256", TN, 1024, 1024, 256},
    {"sweep_gemm_igrad_256x1024x1024", NT, 256, 1024, 1024}};

/* The same five in bf16, beside torch.matmul on bf16 tensors
** (bench/torch_peer.py sweep bf16) */
static const shape SWEEP_BF16[] = {
    {"sweep_gemm_bf16_fwd_256x1024x784", NN, 256, 1024, 784},
    {"sweep_gemm_bf16_fwd_256x1024x1024", NN, 256, 1024, 1024},
    {"sweep_gemm_bf16_wgrad_784x1024x256", TN, 784, 1024, 256},
    {"sweep_gemm_bf16_wgrad_1024x1024x256", TN, 1024, 1024, 256},
    {"sweep_gemm_bf16_igrad_256x1024x1024", NT, 256, 1024, 1024}};

static void call(int blas, const shape *s, const float *a, const float *b,
                 float *c) {
  int m = s->m, n = s->n, k = s->k;
  if (s->op == NN) {
    if (blas) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, a, k, b, n, 0, c, n);
    else nerve_nn(m, n, k, a, k, b, n, c, n);
  } else if (s->op == TN) { /* A stored k x m */
    if (blas) cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, n, k, 1, a, m, b, n, 1, c, n);
    else nerve_tn(m, n, k, a, m, b, n, c, n);
  } else { /* B stored n x k */
    if (blas) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1, a, k, b, k, 0, c, n);
    else nerve_nt(m, n, k, a, k, b, k, c, n);
  }
}

int main(int argc, char **argv) {
  int blas = argc > 1 && strcmp(argv[1], "openblas") == 0;
  int sweep = argc > 2 && strcmp(argv[2], "sweep") == 0;
  int reps = getenv("BENCH_REPS") ? atoi(getenv("BENCH_REPS")) : 5;
  const char *only = getenv("BENCH_ONLY");
  const shape *s = sweep ? SWEEP : BASE;
  int count = sweep ? (int)(sizeof SWEEP / sizeof *SWEEP) : (int)(sizeof BASE / sizeof *BASE);
  BF16 = sweep && argc > 3 && strcmp(argv[3], "bf16") == 0;
  if (BF16) {
    if (blas) return 0;
    s = SWEEP_BF16;
    count = (int)(sizeof SWEEP_BF16 / sizeof *SWEEP_BF16);
  }
  K = nerve_kernels_best();
  for (int q = 0; q < count; q++) {
    if (only && strncmp(s[q].name, only, strlen(only)) != 0) continue;
    int m = s[q].m, n = s[q].n, k = s[q].k;
    float *a = buf((size_t)m * k), *b = buf((size_t)k * n),
          *c = buf((size_t)m * n);
    WS = buf(nerve_gemm_bsize(K, n, k) + nerve_gemm_asize(K));
    /* a repeat is at least 0.1 s and at least one call (4096^3 is over
    ** a second); repeat -1 warms up */
    for (int r = -1; r < reps; r++) {
      int it = 0;
      double t0 = now(), c0 = cpu(), t;
      do {
        call(blas, &s[q], a, b, c);
        it++;
        t = now() - t0;
      } while (t < 0.1);
      if (r >= 0)
        printf("%s,%s,1,GFLOP/s,%g,%.3f\n", s[q].name,
               blas ? "openblas" : "nerve", 2.0 * m * n * k * it / t * 1e-9,
               (cpu() - c0) / t);
    }
    free(a);
    free(b);
    free(c);
    free(WS);
  }
  return 0;
}
