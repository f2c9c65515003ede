/*
** blocks.c - the packed GEMM's block sizes, from this CPU's caches: a
** micro-panel of B (kc x nr) fills a quarter of L2, a block of packed A
** (mc x kc) half of L2, a block of B (kc x nc) half of this core's share
** of L3.
**
** The micro-panel is not held to L1: a step of p reads two vectors of B
** and mr floats of A for 2 mr fused multiply-adds, a few bytes a cycle,
** which L2 streams at ease. What costs is the tile of C, loaded and
** stored (and often missed) once per depth block, so kc is as deep as L2
** allows (AVX-512 on Zen 4, 1024^3: 89 GFLOP/s at kc = 128, the
** micro-panel half of L1; 105 at kc = 512).
** The caches are read from CPUID's deterministic cache leaves (4 on Intel,
** 0x8000001D on AMD); where there are none, common sizes are assumed.
*/
#include "kernels/sets.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

typedef struct caches {
  long l2, l3; /* bytes; l3 per core */
} caches;

#if defined(__x86_64__)
/* Reads the deterministic cache parameters of leaf (4 or 0x8000001D). */
static int read_leaf(unsigned leaf, caches *c) {
  int found = 0;
  for (unsigned i = 0; i < 16; i++) {
    unsigned a, b, cx, d;
    __cpuid_count(leaf, i, a, b, cx, d);
    unsigned type = a & 31, level = (a >> 5) & 7;
    if (type == 0) break;
    if (type == 2) continue; /* instructions */
    long size = (long)((b >> 22) + 1) * (((b >> 12) & 1023) + 1) *
                ((b & 4095) + 1) * ((long)cx + 1);
    long sharing = (long)((a >> 14) & 4095) + 1;
    if (level == 2) c->l2 = size;
    else if (level == 3) c->l3 = size / sharing;
    found = 1;
  }
  return found;
}

static void read_caches(caches *c) {
  unsigned a, b, cx, d;
  if (!__get_cpuid(0, &a, &b, &cx, &d)) return;
  int amd = b == 0x68747541; /* "Auth"enticAMD */
  if (!amd && a >= 4 && read_leaf(4, c)) return;
  if (__get_cpuid(0x80000000, &a, &b, &cx, &d) && a >= 0x8000001D &&
      __get_cpuid(0x80000001, &a, &b, &cx, &d) && (cx >> 22 & 1))
    read_leaf(0x8000001D, c); /* topology extensions */
}
#else
static void read_caches(caches *c) { (void)c; }
#endif

static int clamp_to(long v, long lo, long hi, int q) {
  v = v < lo ? lo : v > hi ? hi : v;
  return (int)(v / q * q);
}

void nerve_blocks(nerve_kernels *k) {
  if (!k->mr) return;
  caches c = {512 << 10, 4 << 20};
  read_caches(&c);
  /* a hypervisor may report nothing, or nonsense */
  if (c.l2 < (128 << 10) || c.l2 > (64 << 20)) c.l2 = 512 << 10;
  if (c.l3 < (512 << 10) || c.l3 > (512 << 20)) c.l3 = 4 << 20;
  long f = (long)sizeof(float);
  /* a multiple of 16: AMX packs depth in steps of 16 pairs */
  k->kc = clamp_to(c.l2 / (4 * f * k->nr), 64, 512, 16);
  k->mc = clamp_to(c.l2 / (2 * f * k->kc), k->mr, 4096, k->mr);
  k->nc = clamp_to(c.l3 / (2 * f * k->kc), k->nr, 8192, k->nr);
}
