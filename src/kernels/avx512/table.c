/*
** avx512/table.c - the "avx512" table: every slot this folder implements.
*/
#include "kernels/sets.h"
#include "kernels/simd.h"

void nerve_kernels_avx512(nerve_kernels *k) {
  k->name = "avx512";
  nerve_gemm_avx512(k);
  nerve_packed_avx512(k);
  nerve_act_avx512(k);
}
