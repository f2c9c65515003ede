/*
** neon/table.c - the "neon" table: every slot this folder implements
** (aarch64 only; elsewhere only its name, and dispatch never uses it).
*/
#include "kernels/sets.h"
#include "kernels/simd.h"

void nerve_kernels_neon(nerve_kernels *k) {
  k->name = "neon";
  nerve_gemm_neon(k);
  nerve_act_neon(k);
}
