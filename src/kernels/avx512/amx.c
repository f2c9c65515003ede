/*
** avx512/amx.c - bf16 jobs on AMX (tdpbf16ps): the packed GEMM's AMX
** micro-kernel, its packing, and the tile permission asked of Linux.
**
** The tile of C is 32 x 32 floats, four 16 x 16 accumulator tiles; each
** step of 16 words of depth (32 bf16 values) loads two A tiles (16 rows of
** 16 words) and two B tiles (16 words of depth by 16 columns, straight
** from the pair panel that pack2_b lays out, 128 bytes a row) and runs
** four tdpbf16ps. A packed depth block is rounded up to 16 words, the
** rounding zero in both operands; an A micro-panel holds, for each 16
** words of depth, its 32 rows of 16 words.
**
** C goes through a tile on the stack (rows past r, and the bias, need it
** anyway), and each call configures the tiles and releases them: a thread
** of the pool never holds AMX state between jobs, so nothing has to be
** configured per thread and a host thread's signal frames grow only
** while a bf16 GEMM runs.
**
** Linux hands out the tile data state only on request (arch_prctl
** ARCH_REQ_XCOMP_PERM for XFEATURE_XTILEDATA), which enlarges every
** signal frame of the process from then on: it is asked once, when a
** bf16 job first runs, never by a process that does not use bf16. A
** refusal leaves bf16 on the vdpbf16ps kernels (bf16.c).
*/
#define _DEFAULT_SOURCE /* syscall */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "kernels/gemm.h"
#include "kernels/sets.h"

#if defined(__x86_64__) && defined(__linux__)
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#define TARGET __attribute__((target("avx512f,avx512bw,amx-tile,amx-bf16")))

enum { MR = 32, NR = 32, KQ = 16 };

/* ldtilecfg's 64 bytes: palette 1, eight tiles of 16 rows of 64 bytes. */
typedef struct tilecfg {
  uint8_t palette, start_row, reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
} tilecfg;

static TARGET void configure(void) {
  tilecfg cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.palette = 1;
  for (int i = 0; i < 8; i++) cfg.colsb[i] = 64, cfg.rows[i] = 16;
  _tile_loadconfig(&cfg);
}

/* The first r rows of the 32 x 32 tile t from C, the bias or zero. */
static TARGET void tile_in(float *t, int r, const float *c, size_t ldc,
                           int acc, const float *bias) {
  for (int i = 0; i < MR; i++) {
    const float *src = i >= r ? NULL : acc ? c + (size_t)i * ldc : bias;
    __m512 lo = src ? _mm512_loadu_ps(src) : _mm512_setzero_ps();
    __m512 hi = src ? _mm512_loadu_ps(src + 16) : _mm512_setzero_ps();
    _mm512_store_ps(t + i * NR, lo);
    _mm512_store_ps(t + i * NR + 16, hi);
  }
}

static TARGET void amx_ukr(int kw, const float *ap, const float *bp,
                           float *c, size_t ldc, int acc, const float *bias,
                           int r) {
  _Alignas(64) float t[MR * NR];
  tile_in(t, r, c, ldc, acc, bias);
  configure();
  _tile_loadd(0, t, NR * 4);
  _tile_loadd(1, t + 16, NR * 4);
  _tile_loadd(2, t + 16 * NR, NR * 4);
  _tile_loadd(3, t + 16 * NR + 16, NR * 4);
  for (int q = 0; q < kw; q += KQ) {
    const float *a = ap + (size_t)q * MR, *b = bp + (size_t)q * NR;
    _tile_loadd(4, a, KQ * 4);
    _tile_loadd(5, a + 16 * KQ, KQ * 4);
    _tile_loadd(6, b, NR * 4);
    _tile_loadd(7, b + 16, NR * 4);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
  }
  _tile_stored(0, t, NR * 4);
  _tile_stored(1, t + 16, NR * 4);
  _tile_stored(2, t + 16 * NR, NR * 4);
  _tile_stored(3, t + 16 * NR + 16, NR * 4);
  _tile_release();
  for (int i = 0; i < r; i++)
    memcpy(c + (size_t)i * ldc, t + i * NR, NR * sizeof(float));
  _mm256_zeroupper();
}

#define UKR(r)                                                          \
  static void ukr##r(int kw, const float *ap, const float *bp, float *c, \
                     size_t ldc, int acc, const float *bias) {          \
    amx_ukr(kw, ap, bp, c, ldc, acc, bias, r);                          \
  }
UKR(1) UKR(2) UKR(3) UKR(4) UKR(5) UKR(6) UKR(7) UKR(8) UKR(9)
UKR(10) UKR(11) UKR(12) UKR(13) UKR(14) UKR(15) UKR(16) UKR(17) UKR(18)
UKR(19) UKR(20) UKR(21) UKR(22) UKR(23) UKR(24) UKR(25) UKR(26) UKR(27)
UKR(28) UKR(29) UKR(30) UKR(31) UKR(32)
#undef UKR
static nerve_ukr *const ukrs[MR] = {
    ukr1,  ukr2,  ukr3,  ukr4,  ukr5,  ukr6,  ukr7,  ukr8,
    ukr9,  ukr10, ukr11, ukr12, ukr13, ukr14, ukr15, ukr16,
    ukr17, ukr18, ukr19, ukr20, ukr21, ukr22, ukr23, ukr24,
    ukr25, ukr26, ukr27, ukr28, ukr29, ukr30, ukr31, ukr32};

/* ------------------------------------------------------------ packing */

static size_t padded(int depth) {
  return ((size_t)(depth + 1) / 2 + KQ - 1) / KQ * KQ;
}

/* A's panels of 32 rows: for each 16 words of depth, 32 rows of 16
** words (rows past the matrix and depth past its end zero). */
static void pack_a(int rows, int cols, const float *x, size_t rs, size_t cs,
                   float *dst, int w, float scale, int bf16) {
  (void)w, (void)scale, (void)bf16;
  _Alignas(64) float words[MR * KQ];
  size_t q = padded(cols);
  for (int i = 0; i < rows; i += MR, dst += q * MR) {
    int h = rows - i < MR ? rows - i : MR;
    for (size_t s = 0; s < q; s += KQ) {
      int d = cols - 2 * (int)s < 2 * KQ ? cols - 2 * (int)s : 2 * KQ;
      /* the pair layout of 16 words for the h rows, then its transpose */
      memset(words, 0, sizeof words);
      if (d > 0)
        nerve_pack2_a_avx512(h, d, x + (size_t)i * rs + 2 * s * cs, rs, cs,
                             words, MR, 1.0f, 1);
      uint32_t *out = (uint32_t *)(dst + s * MR);
      const uint32_t *in = (const uint32_t *)words;
      for (int r = 0; r < MR; r++)
        for (int k = 0; k < KQ; k++)
          out[r * KQ + k] = r < h && 2 * k < d ? in[k * MR + r] : 0;
    }
  }
}

/* B's panels: the pair layout, each panel's depth padded with zero words
** to a whole number of 16. */
static void pack_b(int rows, int cols, const float *x, size_t rs, size_t cs,
                   float *dst, int w, float scale, int bf16) {
  size_t q = padded(rows), have = (size_t)(rows + 1) / 2;
  for (int j = 0; j < cols; j += w, dst += q * w) {
    int h = cols - j < w ? cols - j : w;
    nerve_pack2_b_avx512(rows, h, x + (size_t)j * cs, rs, cs, dst, w, scale,
                         bf16);
    memset(dst + have * w, 0, (q - have) * w * sizeof(float));
  }
}

/* --------------------------------------------------------- permission */

enum { ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18 };

static pthread_once_t once = PTHREAD_ONCE_INIT;
static atomic_int state; /* 0: not asked, 1: granted, -1: refused */

static void ask(void) {
  long r = syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA);
  atomic_store(&state, r == 0 ? 1 : -1);
}

/* asking: requests the tiles (once per process), 1 when granted; else 1
** unless a request was refused. */
static int ready(int asking) {
  if (asking) pthread_once(&once, ask);
  return asking ? atomic_load(&state) == 1 : atomic_load(&state) >= 0;
}

void nerve_amx_avx512(nerve_kernels *k) {
  k->amx_mr = MR;
  k->amx_ukr = ukrs;
  k->amx_pack_a = pack_a;
  k->amx_pack_b = pack_b;
  k->amx_ready = ready;
}

#else

void nerve_amx_avx512(nerve_kernels *k) { (void)k; }

#endif
