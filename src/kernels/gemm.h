/*
** gemm.h - the packed, cache-blocked GEMM behind every training shape
** (gemm.c), in the manner of GotoBLAS and BLIS.
**
** A job is C (m x n) = init + op(A) op(B), op(A) m x k and op(B) k x n,
** each given by a row and a column stride so that a matrix and its
** transpose are the same job: forward C = X W (+ bias), input gradient
** C = D W^T, weight gradient C (+)= X^T D. init is C itself (acc), else
** the bias row or zero.
**
** It runs in two steps so that threads share the packed op(B) (the
** weights, in two of the three shapes): nerve_gemm_pack over parts of
** B's panels, then, once every part is packed, nerve_gemm_rows over
** blocks of rows of C, each with its own buffer for blocks of packed A.
** Shapes where packing does not pay (a batch of a few rows) skip the
** first step and run the table's unpacked slots (nerve_gemm_packed).
**
** Every element of C is init followed by one fused multiply-add per p in
** order, on every path (the unpacked nn and tn slots, the packed
** micro-kernels, any blocking, any cut of the rows), so results never
** depend on the thread count. The unpacked nt slot sums in another order,
** and bf16 on pair kernels (kernels.h's ukr2) adds one instruction's pair
** of products per step; which path a job takes depends only on its shape
** and the table.
*/
#ifndef NERVE_GEMM_H
#define NERVE_GEMM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels/kernels.h"

/* Which of the three shapes a job is (its unpacked slot). */
typedef enum nerve_gemm_shape {
  NERVE_GEMM_NN,
  NERVE_GEMM_NT,
  NERVE_GEMM_TN
} nerve_gemm_shape;

typedef struct nerve_gemm {
  nerve_gemm_shape shape;
  int m, n, k;
  const float *a; /* op(A)(i, p) = a[i ars + p acs] */
  size_t ars, acs;
  const float *b; /* op(B)(p, j) = b[p brs + j bcs] */
  size_t brs, bcs;
  float *c;
  size_t ldc;
  const float *bias; /* the initial row of C when !acc, or NULL: zero */
  int acc;           /* C += op(A) op(B) */
  float scale; /* op(B) is taken times scale (1 but for the SGD step folded
               ** into the weight gradient: -lr); packed path only */
  float *bp;   /* the packed op(B) (nerve_gemm_bsize floats, 64-byte
               ** aligned), or NULL: the unpacked slots */
  int bf16;    /* both operands rounded to bfloat16 (nerve_bf16), the
               ** exact products summed in float32 */
} nerve_gemm;

/* x rounded to bfloat16, to nearest even, as a float (the low 16 bits
** zero): NaN stays NaN (quiet), infinities stay, a float past bf16's
** largest finite value becomes infinite. */
static inline float nerve_bf16(float x) {
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) u |= 0x00400000u;
  else u += 0x7fffu + ((u >> 16) & 1u);
  u &= 0xffff0000u;
  memcpy(&x, &u, sizeof x);
  return x;
}

/* C = A B + bias (A m x k, B k x n, row-major with leading dimensions). */
static inline nerve_gemm nerve_gemm_nn(int m, int n, int k, const float *a,
                                       int lda, const float *b, int ldb,
                                       float *c, int ldc, const float *bias) {
  nerve_gemm g = {NERVE_GEMM_NN, m, n, k, a, (size_t)lda, 1, b,
                  (size_t)ldb, 1, c, (size_t)ldc, bias, 0, 1.0f, NULL, 0};
  return g;
}

/* C = A B^T (B n x k). */
static inline nerve_gemm nerve_gemm_nt(int m, int n, int k, const float *a,
                                       int lda, const float *b, int ldb,
                                       float *c, int ldc) {
  nerve_gemm g = {NERVE_GEMM_NT, m, n, k, a, (size_t)lda, 1, b, 1,
                  (size_t)ldb, c, (size_t)ldc, NULL, 0, 1.0f, NULL, 0};
  return g;
}

/* C = A^T B onto C (acc) or onto zero (A k x m). */
static inline nerve_gemm nerve_gemm_tn(int m, int n, int k, const float *a,
                                       int lda, const float *b, int ldb,
                                       float *c, int ldc, int acc) {
  nerve_gemm g = {NERVE_GEMM_TN, m, n, k, a, 1, (size_t)lda, b,
                  (size_t)ldb, 1, c, (size_t)ldc, NULL, acc, 1.0f, NULL, 0};
  return g;
}

/* 1 when a job of this shape pays for packing on table t, or is bf16 and
** t can pack (its operands are rounded as they are packed): the engine
** then sizes the buffers and sets bp. A job whose bp is NULL runs on the
** unpacked slots (a bf16 one on the reference loops), whatever its
** shape. */
int nerve_gemm_packed(const nerve_kernels *t, nerve_gemm_shape shape, int m,
                      int n, int k, int bf16);
/* Rows of the micro-tile job g runs on (its cuts between threads are
** best made on multiples of it). */
int nerve_gemm_mr(const nerve_kernels *t, const nerve_gemm *g);
/* Floats of packed op(B) for n columns over depth k (0 without a packed
** path), and of one buffer for blocks of packed A. */
size_t nerve_gemm_bsize(const nerve_kernels *t, int n, int k);
size_t nerve_gemm_asize(const nerve_kernels *t);

/* Packs part p of parts of op(B)'s panels into g->bp. */
void nerve_gemm_pack(const nerve_kernels *t, const nerve_gemm *g, int part,
                     int parts);
/* Rows r0 .. r1-1 of C, once every part of op(B) is packed; ap is a
** buffer of nerve_gemm_asize floats for this call alone. */
void nerve_gemm_rows(const nerve_kernels *t, const nerve_gemm *g, int r0,
                     int r1, float *ap);
/* out[j] += sum_p op(B)(p, j) scale, read from the packed op(B) of a
** float32 job: the sums colsum gives on the scaled matrix, in the same
** order. */
void nerve_gemm_colsum(const nerve_kernels *t, const nerve_gemm *g,
                       float *out);
/* The whole job on the calling thread: packed into ws (bsize + asize
** floats, 64-byte aligned) when its shape pays, else unpacked (ws unused,
** may be NULL). */
void nerve_gemm_run(const nerve_kernels *t, nerve_gemm *g, float *ws);

/* The plain C packing routines (any table may keep them). */
void nerve_pack_a_c(int rows, int cols, const float *x, size_t rs, size_t cs,
                    float *dst, int w, float scale, int bf16);
void nerve_pack_b_c(int rows, int cols, const float *x, size_t rs, size_t cs,
                    float *dst, int w, float scale, int bf16);
/* The same panels in bf16 pairs (kernels.h's pack2_a, pack2_b): cols
** (for A) or rows (for B) of depth become ceil(depth / 2) words. */
void nerve_pack2_a_c(int rows, int cols, const float *x, size_t rs,
                     size_t cs, float *dst, int w, float scale, int bf16);
void nerve_pack2_b_c(int rows, int cols, const float *x, size_t rs,
                     size_t cs, float *dst, int w, float scale, int bf16);

#endif
