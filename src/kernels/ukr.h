/*
** ukr.h - the packed GEMM's micro-kernel (kernels.h's nerve_ukr), written
** once for every x86 vector width: a file defines the macros below and
** includes this, which defines ukr1 .. ukrN (N = UKR_MR) and UKR_TABLE,
** the initialiser of their array.
**
**   UKR_MR      rows of the tile (at most 12), elements of A broadcast
**   UKR_VW      floats in a vector; a row of the tile is two vectors, so
**               nr = 2 UKR_VW
**   UKR_V       the vector type
**   UKR_ZERO()  UKR_LOAD(p) (aligned)  UKR_LOADU(p)  UKR_STOREU(p, v)
**   UKR_BCAST(p)  UKR_FMA(a, b, c) (a b + c, fused)
**   UKR_ATTR    the function attributes (the instruction set's target)
**   UKR_ZEROUPPER()  clears the upper halves before returning (simd.h)
**
** The tile lives in 2 UKR_MR registers. Each step of p loads a row of the
** B panel (two vectors) and broadcasts UKR_MR elements of A, so every sum
** is one fused multiply-add per p in order, as kernels.h requires.
*/

#if UKR_MR != 6 && UKR_MR != 12
#error "ukr.h: UKR_MR must be 6 or 12"
#endif

#define UKR_STEPS(X)                                                    \
  X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

static inline __attribute__((always_inline)) UKR_ATTR void
ukr_tile(const int mr, int kc, const float *ap, const float *bp, float *c,
         size_t ldc, int acc, const float *bias) {
  UKR_V z = UKR_ZERO();
#define DECL(r) UKR_V c##r##a = z, c##r##b = z;
  UKR_STEPS(DECL)
#undef DECL
#define INIT(r, src)                                                    \
  if (mr > r) {                                                         \
    c##r##a = UKR_LOADU(src);                                           \
    c##r##b = UKR_LOADU((src) + UKR_VW);                                \
  }
#define FROM_C(r) INIT(r, c + r * ldc)
#define FROM_BIAS(r) INIT(r, bias)
  if (acc) {
    UKR_STEPS(FROM_C)
  } else if (bias) {
    UKR_STEPS(FROM_BIAS)
  }
#undef FROM_BIAS
#undef FROM_C
#undef INIT
#define ROW(r)                                                          \
  if (mr > r) {                                                         \
    UKR_V x = UKR_BCAST(ap + r);                                        \
    c##r##a = UKR_FMA(x, b0, c##r##a);                                  \
    c##r##b = UKR_FMA(x, b1, c##r##b);                                  \
  }
#define STEP                                                            \
  {                                                                     \
    UKR_V b0 = UKR_LOAD(bp), b1 = UKR_LOAD(bp + UKR_VW);                \
    UKR_STEPS(ROW)                                                      \
    ap += UKR_MR;                                                       \
    bp += 2 * UKR_VW;                                                   \
  }
  /* one step per turn: unrolled, GCC hoists the next step's loads into
  ** registers the tile needs and spills a sum inside the loop */
  for (int p = 0; p < kc; p++) STEP
#undef STEP
#undef ROW
#define STORE(r)                                                        \
  if (mr > r) {                                                         \
    UKR_STOREU(c + r * ldc, c##r##a);                                   \
    UKR_STOREU(c + r * ldc + UKR_VW, c##r##b);                          \
  }
  UKR_STEPS(STORE)
#undef STORE
}

#define UKR_FN(r)                                                       \
  static UKR_ATTR void ukr##r(int kc, const float *ap, const float *bp, \
                              float *c, size_t ldc, int acc,            \
                              const float *bias) {                      \
    ukr_tile(r, kc, ap, bp, c, ldc, acc, bias);                         \
    UKR_ZEROUPPER();                                                    \
  }
UKR_FN(1) UKR_FN(2) UKR_FN(3) UKR_FN(4) UKR_FN(5) UKR_FN(6)
#if UKR_MR > 6
UKR_FN(7) UKR_FN(8) UKR_FN(9) UKR_FN(10) UKR_FN(11) UKR_FN(12)
#define UKR_TABLE                                                       \
  {ukr1, ukr2, ukr3, ukr4, ukr5, ukr6, ukr7, ukr8, ukr9, ukr10, ukr11,  \
   ukr12}
#else
#define UKR_TABLE {ukr1, ukr2, ukr3, ukr4, ukr5, ukr6}
#endif
#undef UKR_FN
#undef UKR_STEPS
