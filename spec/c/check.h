/*
** check.h - the few macros the C tests share: count checks, report
** failures with file and line, and end with a "N passed, N failed" line.
*/
#ifndef NERVE_CHECK_H
#define NERVE_CHECK_H

#include <math.h>
#include <stdio.h>

static int check_passed, check_failed;

#define CHECK(cond)                                                     \
  do {                                                                  \
    if (cond) check_passed++;                                           \
    else {                                                              \
      check_failed++;                                                   \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,  \
              #cond);                                                   \
    }                                                                   \
  } while (0)

/* |got - want| <= tol * max(1, |want|) */
#define CHECK_NEAR(got, want, tol)                                      \
  do {                                                                  \
    double g_ = (got), w_ = (want), t_ = (tol);                         \
    double s_ = fabs(w_) > 1 ? fabs(w_) : 1;                            \
    if (fabs(g_ - w_) <= t_ * s_) check_passed++;                       \
    else {                                                              \
      check_failed++;                                                   \
      fprintf(stderr, "%s:%d: %s = %.9g, want %.9g (tol %g)\n",         \
              __FILE__, __LINE__, #got, g_, w_, t_);                     \
    }                                                                   \
  } while (0)

/* Prints the closing line and gives main's exit status. */
static inline int check_report(const char *name) {
  printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
  return check_failed ? 1 : 0;
}

#endif
