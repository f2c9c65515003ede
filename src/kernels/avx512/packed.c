/*
** avx512/packed.c - the packed GEMM's micro-kernels with AVX-512F.
*/
#include "kernels/gemm.h"
#include "kernels/sets.h"

void nerve_packed_avx512(nerve_kernels *k) { (void)k; }
