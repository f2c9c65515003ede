/*
** act_more.h - the appended activation slots (elu, softplus, gelu and
** their error terms) for the SIMD sets, and the constants they share.
**
** expm1(x), x <= 0: for |x| < VEXPM1_CUT the Taylor polynomial of degree 7
** (truncation below 2e-8 relative), else e^x - 1 (no cancellation: the
** result is below -0.29).
** log1p(t), 0 <= t <= 1 (softplus's log(1 + e^-|x|)): with s = t / (2 + t)
** <= 1/3, log1p(t) = 2 atanh(s) = 2 s (1 + s^2/3 + ... + s^14/15), the
** series cut where the rest is below 2e-9 relative.
** erfc(z), z >= 0 (gelu): t = 1 / (1 + z/2), erfc(z) = t e^(-z^2 + P(t)),
** P of degree 11 fitted by Chebyshev on [0, 1] to log(erfc(z)/t) + z^2
** (max error of the fit 1.5e-8; 3e-7 with float rounding).
*/
#ifndef NERVE_ACT_MORE_H
#define NERVE_ACT_MORE_H

#include "kernels.h"

void nerve_act_more_avx2(nerve_kernels *k);
void nerve_act_more_avx512(nerve_kernels *k);

/* Their exp clamps x to [MEXP_LO, MEXP_HI], wider than simd.h's (which
** flushes results below FLT_MIN to 0 separately): e^-104 rounds to 0 and
** e^88.8 overflows to inf, so softplus and gelu saturate exactly. */
#define MEXP_LO -104.0f
#define MEXP_HI 88.8f
#define VEXPM1_CUT 0.35f

#define VERFC_P0 -1.265512119f
#define VERFC_P1 0.999998553f
#define VERFC_P2 0.3750744848f
#define VERFC_P3 0.08175679195f
#define VERFC_P4 -0.0681377039f
#define VERFC_P5 -0.2640958796f
#define VERFC_P6 0.4228596556f
#define VERFC_P7 -1.386666664f
#define VERFC_P8 2.590129191f
#define VERFC_P9 -2.346272392f
#define VERFC_P10 1.050233522f
#define VERFC_P11 -0.1893674557f

#define VSQRT1_2 0.7071067812f      /* 1 / sqrt 2 */
#define VINV_SQRT2PI 0.3989422804f  /* 1 / sqrt(2 pi) */

#endif
