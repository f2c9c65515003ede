/*
** kernels.h - the seam between the engine and the instruction sets.
**
** A table of function pointers is first filled with the scalar reference
** (ref.c), then the slots an instruction set implements are overridden, so
** a partial port stays correct. Kernels know nothing of layers: they see
** row-major float32 arrays, leading dimensions (row strides) in floats.
*/
#ifndef NERVE_KERNELS_H
#define NERVE_KERNELS_H

#include <stddef.h>

/* The packed GEMM's micro-kernel (gemm.c drives it): the tile C (r x nr,
** row stride ldc; r is the variant's row count, r <= mr) is init plus
** sum_{p < kc} ap[p mr + i] bp[p nr + j], one fused multiply-add after
** another in order of p. ap is a packed micro-panel of A (kc steps of mr
** floats, rows past r unread), bp one of B (kc steps of nr floats, 64-byte
** aligned). init: C itself when acc, else bias (nr floats) or zero. */
typedef void nerve_ukr(int kc, const float *ap, const float *bp, float *c,
                       size_t ldc, int acc, const float *bias);
#define NERVE_MR_MAX 16

/* Packs op(X) (rows x cols, op(X)(i, p) = x[i rs + p cs]) into micro-panels
** for the driver: pack_a lays rows in panels of w (the table's mr; a last
** partial panel keeps the stride w, its missing rows unwritten), pack_b
** lays columns in panels of w (nr; the last one zero-padded). Each value
** is rounded to bfloat16 first when bf16 (gemm.h's nerve_bf16), then
** multiplied by scale (1: a copy). See gemm.c for the layouts. */
typedef void nerve_pack(int rows, int cols, const float *x, size_t rs,
                        size_t cs, float *dst, int w, float scale, int bf16);

typedef struct nerve_kernels {
  const char *name; /* "scalar", "avx2", "avx512", "neon" */

  /* The packed, blocked GEMM: micro-tile rows mr (elements of A
  ** broadcast) and columns nr (a whole number of vectors of B), block
  ** sizes (depth kc, rows of A mc, columns of B nc), ukr[r - 1] for
  ** tiles of r <= mr rows, and the packing routines. mr = 0: the table
  ** has no packed path and every GEMM runs on the slots below. */
  int mr, nr, kc, mc, nc;
  nerve_ukr *ukr[NERVE_MR_MAX];
  nerve_pack *pack_a, *pack_b;
  /* 1 when a float32 job of this shape (gemm.h's nerve_gemm_shape), m x n
  ** over depth k, runs faster packed than on the unpacked slots: measured
  ** per instruction set. */
  int (*pays)(int shape, int m, int n, int k);

  /* bf16 jobs in hardware: how they run ("avx512_bf16", or "emulated":
  ** the float32 micro-kernels on rounded operands), and where the CPU has
  ** a dot product of bf16 pairs, micro-kernels of the same mr x nr whose
  ** kc counts pairs of depth. Their packing (pack2_a, pack2_b: the same
  ** panels, each element a 32-bit word holding the bf16 of depths 2q (low
  ** half) and 2q + 1 (high half), an odd depth's last high half zero,
  ** each rounded as nerve_bf16 after a denormal is flushed to a zero of
  ** its sign) takes scale 1 only. The pair c + a0 b0 + a1 b1 is summed as the
  ** instruction sums it (vdpbf16ps: the odd product first, denormal
  ** inputs and results flushed to zero). NULL: no such kernels. */
  const char *bf16;
  nerve_ukr *ukr2[NERVE_MR_MAX];
  nerve_pack *pack2_a, *pack2_b;

  /* bf16 on AMX (avx512/amx.c), ahead of the pair kernels where present
  ** (amx_ukr not NULL) and granted: amx_ukr[r - 1] for tiles of r <=
  ** amx_mr rows by nr, on the pair layout with each packed depth block
  ** rounded up to 16 words; amx_ready(1) asks the OS for the tiles once
  ** per process and says whether they were granted, amx_ready(0) says 0
  ** only after a refusal (it asks nothing). */
  int amx_mr;
  nerve_ukr *const *amx_ukr;
  nerve_pack *amx_pack_a, *amx_pack_b;
  int (*amx_ready)(int asking);

  /* The three GEMM shapes of training, unpacked: for shapes where packing
  ** does not pay (gemm.c decides), and the whole GEMM where mr = 0. */
  /* forward: C (m x n) = A (m x k) B (k x n) + bias (1 x n, NULL: none) */
  void (*gemm_nn)(int m, int n, int k, const float *a, int lda,
                  const float *b, int ldb, float *c, int ldc,
                  const float *bias);
  /* input gradient: C (m x n) = A (m x k) B^T, B is n x k */
  void (*gemm_nt)(int m, int n, int k, const float *a, int lda,
                  const float *b, int ldb, float *c, int ldc);
  /* weight gradient: C (m x n) += A^T B, A is k x m, B is k x n */
  void (*gemm_tn)(int m, int n, int k, const float *a, int lda,
                  const float *b, int ldb, float *c, int ldc);
  /* bias gradient: out[j] += sum_i a[i * lda + j], i < m, j < n */
  void (*colsum)(int m, int n, const float *a, int lda, float *out);

  /* Activations over n contiguous floats: y = g(x). y may equal x. */
  void (*sigmoid)(size_t n, const float *x, float *y);
  void (*tanh)(size_t n, const float *x, float *y);
  void (*relu)(size_t n, const float *x, float *y);
  void (*leaky_relu)(size_t n, const float *x, float *y, float alpha);
  /* Softmax of each of m rows of n contiguous floats (max-shifted). */
  void (*softmax)(int m, int n, const float *x, float *y);

  /* Error terms: dx = dy * g'(a), from the output y = g(a) where that is
  ** enough, or from a. dx may equal dy. */
  void (*sigmoid_bwd)(size_t n, const float *y, const float *dy, float *dx);
  void (*tanh_bwd)(size_t n, const float *y, const float *dy, float *dx);
  void (*relu_bwd)(size_t n, const float *a, const float *dy, float *dx);
  void (*leaky_relu_bwd)(size_t n, const float *a, const float *dy, float *dx,
                         float alpha);
  /* dx_i = y_i (dy_i - sum_j dy_j y_j) for each of m rows of n floats */
  void (*softmax_bwd)(int m, int n, const float *y, const float *dy,
                      float *dx);

  /* More activations, as above (y may equal x, dx may equal dy).
  ** elu: x > 0 ? x : alpha (e^x - 1); softplus: log(1 + e^x);
  ** gelu: x Phi(x) = x erfc(-x / sqrt 2) / 2 (exact, not the tanh form). */
  void (*elu)(size_t n, const float *x, float *y, float alpha);
  void (*softplus)(size_t n, const float *x, float *y);
  void (*gelu)(size_t n, const float *x, float *y);
  /* elu'(a) = a > 0 ? 1 : y + alpha; softplus'(a) = sigmoid(a);
  ** gelu'(a) = Phi(a) + a phi(a) */
  void (*elu_bwd)(size_t n, const float *a, const float *y, const float *dy,
                  float *dx, float alpha);
  void (*softplus_bwd)(size_t n, const float *a, const float *dy, float *dx);
  void (*gelu_bwd)(size_t n, const float *a, const float *dy, float *dx);

  /* The weight gradient into a C that holds nothing yet,
  ** C (m x n) = A^T B; bitwise gemm_tn onto a zeroed C, without reading
  ** or clearing C first. */
  void (*gemm_tn_set)(int m, int n, int k, const float *a, int lda,
                      const float *b, int ldb, float *c, int ldc);
  /* Plain SGD over n parameters: p[i] -= lr * g[i], a product then a
  ** difference (no fused multiply-add), so every table gives the same
  ** floats. */
  void (*sgd)(size_t n, float lr, float *p, const float *g);
} nerve_kernels;

/* The scalar reference; always compiled, always selectable. */
void nerve_kernels_ref(nerve_kernels *k);
/* Override the slots each instruction set implements. */
void nerve_kernels_avx2(nerve_kernels *k);
void nerve_kernels_avx512(nerve_kernels *k);
/* aarch64 only (NEON is part of every such CPU); elsewhere it only names. */
void nerve_kernels_neon(nerve_kernels *k);

/* The filled table for name ("scalar", "avx2", "avx512", "neon"), or NULL
** when the name is unknown or this CPU cannot run it. Thread-safe; tables
** are built once per process and never change. */
const nerve_kernels *nerve_kernels_get(const char *name);
/* The best table this CPU runs. */
const nerve_kernels *nerve_kernels_best(void);

#endif
