/*
** sets.h - what the files of an instruction-set folder export to its
** registration function (nerve_kernels_avx2 and its twins, kernels.h):
** each fills the slots its file implements.
*/
#ifndef NERVE_SETS_H
#define NERVE_SETS_H

#include "kernels/kernels.h"

/* The unpacked GEMM slots and colsum. */
void nerve_gemm_avx2(nerve_kernels *k);
void nerve_gemm_avx512(nerve_kernels *k);
void nerve_gemm_neon(nerve_kernels *k);
/* The packed GEMM: micro-kernel geometry, micro-kernels, packing. */
void nerve_packed_avx2(nerve_kernels *k);
void nerve_packed_avx512(nerve_kernels *k);
/* bf16 jobs on the pair kernels (ukr2, pack2_a, pack2_b), for a CPU with
** AVX512-BF16 (dispatch.c asks). */
void nerve_bf16_avx512(nerve_kernels *k);
/* Their packing routines, which AMX's packing builds on. */
void nerve_pack2_a_avx512(int rows, int cols, const float *x, size_t rs,
                          size_t cs, float *dst, int w, float scale,
                          int bf16);
void nerve_pack2_b_avx512(int rows, int cols, const float *x, size_t rs,
                          size_t cs, float *dst, int w, float scale,
                          int bf16);
/* bf16 jobs on AMX (amx_*), for a CPU and OS with AMX-BF16 (dispatch.c
** asks; the tiles are requested only when a bf16 job first runs). */
void nerve_amx_avx512(nerve_kernels *k);

/* The block sizes kc, mc, nc of a table with a packed path (blocks.c). */
void nerve_blocks(nerve_kernels *k);

#endif
