/*
** neon/gemm.c - the register tiles of the GEMM slots with aarch64 NEON
** (ASIMD, always present there: no runtime check); unpacked.h drives them
** and holds colsum.
**
** nn and tn share one register-tiled micro-kernel, avx2/gemm.c's design
** in 128-bit vectors: a tile of C of 8 rows by 3 vectors (12 columns), or
** of up to 4 rows by 6 vectors (enough independent sums for a batch of 1
** to 4), lives in 24 of the 32 registers while rows of B are loaded and
** elements of A broadcast (fmla by element); C is passed over in blocks
** of KC of k so that the rows of A stay in L1. nt is a dot-product
** kernel: 4 rows of A against 4 rows of B, reduced at the end. NEON has
** no masked loads: tails go through lane loads and stores (simd.h), so
** nothing past a row's end is touched. Every element of C is the same
** chain of FMAs wherever it falls in the tiling, so splitting C between
** threads changes no bit. NEON has no packed path yet (kernels.h's mr is
** 0): every GEMM runs here.
*/
#include "kernels/sets.h"
#include "kernels/simd.h"

#if defined(__aarch64__)
#include "kernels/neon/vec.h"

enum { MR = 8, NV = 3, MRW = 4, NVW = 6, KC = 256 };

/* Vector v of a row at p: whole, or the last one's lr lanes when masked. */
V_INL float32x4_t loadv(const float *p, int v, int last, size_t lr) {
  return last ? nerve_load4(p + 4 * v, lr, 0.0f) : vld1q_f32(p + 4 * v);
}

/* n <= 4 elements of A, s apart, into lanes 0 .. n-1 (tn's are adjacent:
** one load when all four are there). */
V_INL float32x4_t loada(const float *p, size_t s, const int n) {
  if (n == 4 && s == 1) return vld1q_f32(p);
  float32x4_t v = vld1q_dup_f32(p);
  if (n > 1) v = vld1q_lane_f32(p + s, v, 1);
  if (n > 2) v = vld1q_lane_f32(p + 2 * s, v, 2);
  if (n > 3) v = vld1q_lane_f32(p + 3 * s, v, 3);
  return v;
}

/* C (mr x 4 nv) = init + sum_p A(r, p) B(p, :) with A(r, p) = a[r * ars +
** p * acs] (nn: ars = lda, acs = 1; tn: ars = 1, acs = lda). init is C
** itself when acc, else the bias or zero. When masked, the last vector of
** a row has lr lanes. mr, nv and masked are constants once inlined. The
** tile's column of A sits in two registers, multiplied in by lane: 24
** sums, 6 rows of B and A's 2 fit in the 32 registers (8 broadcasts would
** not). Named variables rather than arrays: lanes must be constants. */
V_INL void tile(const int mr, const int nv, const int masked, int k,
              const float *a, size_t ars, size_t acs, const float *b,
              size_t ldb, float *c, size_t ldc, const float *bias, int acc,
              size_t lr) {
  float32x4_t z = vdupq_n_f32(0.0f);
#define ACC(r)                                                          \
  float32x4_t c##r##0 = z, c##r##1 = z, c##r##2 = z, c##r##3 = z,       \
              c##r##4 = z, c##r##5 = z;
  ACC(0) ACC(1) ACC(2) ACC(3) ACC(4) ACC(5) ACC(6) ACC(7)
#undef ACC
  /* vector v of the row at p (the last one masked when masked) or 0 */
#define LOADV(v, p) (nv > v ? loadv(p, v, masked && v == nv - 1, lr) : z)
#define INIT(r)                                                         \
  if (mr > r && (acc || bias)) {                                        \
    const float *s = acc ? c + r * ldc : bias;                          \
    c##r##0 = LOADV(0, s), c##r##1 = LOADV(1, s), c##r##2 = LOADV(2, s); \
    c##r##3 = LOADV(3, s), c##r##4 = LOADV(4, s), c##r##5 = LOADV(5, s); \
  }
  INIT(0) INIT(1) INIT(2) INIT(3) INIT(4) INIT(5) INIT(6) INIT(7)
#undef INIT
#define FMA(r, v, x, l)                                                 \
  if (nv > v) c##r##v = vfmaq_laneq_f32(c##r##v, b##v, x, l);
#define ROW(r, x, l)                                                    \
  if (mr > r) {                                                         \
    FMA(r, 0, x, l) FMA(r, 1, x, l) FMA(r, 2, x, l)                     \
    FMA(r, 3, x, l) FMA(r, 4, x, l) FMA(r, 5, x, l)                     \
  }
  for (int p = 0; p < k; p++) {
    const float *ap = a + p * acs, *bp = b + p * ldb;
    float32x4_t b0 = LOADV(0, bp), b1 = LOADV(1, bp), b2 = LOADV(2, bp),
                b3 = LOADV(3, bp), b4 = LOADV(4, bp), b5 = LOADV(5, bp);
    float32x4_t a0 = loada(ap, ars, mr < 4 ? mr : 4);
    float32x4_t a1 = mr > 4 ? loada(ap + 4 * ars, ars, mr - 4) : z;
    ROW(0, a0, 0) ROW(1, a0, 1) ROW(2, a0, 2) ROW(3, a0, 3)
    ROW(4, a1, 0) ROW(5, a1, 1) ROW(6, a1, 2) ROW(7, a1, 3)
  }
#undef ROW
#undef FMA
#undef LOADV
#define STOREV(r, v)                                                    \
  if (nv > v) {                                                         \
    if (masked && nv == v + 1)                                          \
      nerve_store4(c + r * ldc + 4 * v, c##r##v, lr);                   \
    else                                                                \
      vst1q_f32(c + r * ldc + 4 * v, c##r##v);                          \
  }
#define STORE(r)                                                        \
  if (mr > r) {                                                         \
    STOREV(r, 0) STOREV(r, 1) STOREV(r, 2)                              \
    STOREV(r, 3) STOREV(r, 4) STOREV(r, 5)                              \
  }
  STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5) STORE(6) STORE(7)
#undef STORE
#undef STOREV
}

/* One function per tile shape, so that no function grows huge. 6 vectors
** wide only up to 4 rows. */
typedef void tile_fn(int k, const float *a, size_t ars, size_t acs,
                     const float *b, size_t ldb, float *c, size_t ldc,
                     const float *bias, int acc, size_t lr);
#define TILE(r, v, t)                                                   \
  static __attribute__((noinline)) void tile##r##v##t(                  \
      int k, const float *a, size_t ars, size_t acs, const float *b,    \
      size_t ldb, float *c, size_t ldc, const float *bias, int acc,     \
      size_t lr) {                                                      \
    tile(r, v, t, k, a, ars, acs, b, ldb, c, ldc, bias, acc, lr);       \
  }
#define TILES3(r)                                                       \
  TILE(r, 1, 0) TILE(r, 1, 1) TILE(r, 2, 0) TILE(r, 2, 1) TILE(r, 3, 0) \
  TILE(r, 3, 1)
#define TILES6(r)                                                       \
  TILES3(r) TILE(r, 4, 0) TILE(r, 4, 1) TILE(r, 5, 0) TILE(r, 5, 1)     \
  TILE(r, 6, 0) TILE(r, 6, 1)
TILES6(1) TILES6(2) TILES6(3) TILES6(4)
TILES3(5) TILES3(6) TILES3(7) TILES3(8)
#undef TILES6
#undef TILES3
#undef TILE
#define ROW3(r)                                                         \
  {{tile##r##10, tile##r##11}, {tile##r##20, tile##r##21},              \
   {tile##r##30, tile##r##31}}
#define ROW6(r)                                                         \
  {{tile##r##10, tile##r##11}, {tile##r##20, tile##r##21},              \
   {tile##r##30, tile##r##31}, {tile##r##40, tile##r##41},              \
   {tile##r##50, tile##r##51}, {tile##r##60, tile##r##61}}
static tile_fn *const tile_fns[MR][NVW][2] = {
    ROW6(1), ROW6(2), ROW6(3), ROW6(4), ROW3(5), ROW3(6), ROW3(7), ROW3(8)};
#undef ROW6
#undef ROW3

/* One pass of C (m x n) over kc of k: the bias (nn) or C itself (tn, and
** every pass after the first) plus that part of A B. Tiles of 8 x 12, the
** last rows 4 x 24 or less. */
static void pass(int m, int n, int kc, const float *a, size_t ars,
                 size_t acs, const float *b, size_t ldb, float *c,
                 size_t ldc, const float *bias, int acc) {
  for (int i = 0; i < m; i += MR) {
    int mr = m - i < MR ? m - i : MR;
    int nrmax = mr <= MRW ? 4 * NVW : 4 * NV;
    const float *ai = a + i * ars;
    float *ci = c + i * ldc;
    for (int j = 0; j < n; j += nrmax) {
      int nr = n - j < nrmax ? n - j : nrmax, nv = (nr + 3) / 4;
      int masked = nr % 4 != 0;
      tile_fns[mr - 1][nv - 1][masked](kc, ai, ars, acs, b + j, ldb, ci + j,
                                       ldc, bias ? bias + j : NULL, acc,
                                       (size_t)(nr - 4 * (nv - 1)));
    }
  }
}

/* The loops over a tile's rows and columns unrolled whole (GCC at -O2
** would not), so that its arrays live in registers. */
#define UNROLL _Pragma("GCC unroll 4")

/* C (mr <= 4 x nr <= 4) = A B^T: dot products of rows of A and rows of B
** over k, 4 at a time, the last chunk lane-loaded (zeros past k). Each
** sum is reduced the same way whatever the tile's shape. */
V_INL void dots(const int mr, const int nr, int k, const float *a, size_t lda,
              const float *b, size_t ldb, float *c, size_t ldc) {
  float32x4_t v[4][4], x[4], y;
  UNROLL
  for (int r = 0; r < 4; r++)
    UNROLL
    for (int j = 0; j < 4; j++) v[r][j] = vdupq_n_f32(0.0f);
  int p = 0;
  for (; p + 4 <= k; p += 4) {
    UNROLL
    for (int r = 0; r < mr; r++) x[r] = vld1q_f32(a + r * lda + p);
    UNROLL
    for (int j = 0; j < nr; j++) {
      y = vld1q_f32(b + j * ldb + p);
      UNROLL
      for (int r = 0; r < mr; r++) v[r][j] = vfmaq_f32(v[r][j], x[r], y);
    }
  }
  if (p < k) {
    size_t t = (size_t)(k - p);
    UNROLL
    for (int r = 0; r < mr; r++) x[r] = nerve_load4(a + r * lda + p, t, 0.0f);
    UNROLL
    for (int j = 0; j < nr; j++) {
      y = nerve_load4(b + j * ldb + p, t, 0.0f);
      UNROLL
      for (int r = 0; r < mr; r++) v[r][j] = vfmaq_f32(v[r][j], x[r], y);
    }
  }
  UNROLL
  for (int r = 0; r < mr; r++) {
    /* lane j: the sum of v[r][j], pairwise */
    float32x4_t s = vpaddq_f32(vpaddq_f32(v[r][0], v[r][1]),
                               vpaddq_f32(v[r][2], v[r][3]));
    if (nr == 4) vst1q_f32(c + r * ldc, s);
    else nerve_store4(c + r * ldc, s, (size_t)nr);
  }
}

#define GU_DR 4
#define GU_NARROW 0
#define GU_SETTER nerve_gemm_neon
#include "kernels/unpacked.h"

#else

void nerve_gemm_neon(nerve_kernels *k) { (void)k; }

#endif
