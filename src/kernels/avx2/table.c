/*
** avx2/table.c - the "avx2" table: every slot this folder implements.
*/
#include "kernels/sets.h"
#include "kernels/simd.h"

void nerve_kernels_avx2(nerve_kernels *k) {
  k->name = "avx2";
  nerve_gemm_avx2(k);
  nerve_packed_avx2(k);
  nerve_act_avx2(k);
}
