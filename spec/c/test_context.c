/*
** test_context.c - contexts and the generator: ISA and thread settings,
** aligned allocation, error strings, xoshiro256** and its shuffles, the
** NERVE_ISA variable.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

/* -------------------------------------------------------- context and rng */

static void test_context(void) {
  counter c;
  nerve_ctx *ctx = new_ctx(&c);
  CHECK(nerve_isa_supported("scalar"));
  CHECK(!nerve_isa_supported("mmx"));
  CHECK(nerve_ctx_set_isa(ctx, "mmx") == NERVE_EARG);
  CHECK(nerve_ctx_set_isa(ctx, "scalar") == NERVE_OK);
  CHECK(strcmp(nerve_ctx_isa(ctx), "scalar") == 0);
  CHECK(nerve_ctx_threads(ctx) == 1);
  CHECK(nerve_ctx_set_threads(ctx, 0) == NERVE_EARG);
  CHECK(nerve_ctx_set_threads(ctx, 4) == NERVE_OK &&
        nerve_ctx_threads(ctx) == 4);
  void *a = nerve_malloc(ctx, 0), *b = nerve_malloc(ctx, 0),
       *d = nerve_malloc(ctx, 1000);
  CHECK(a && b && a != b && d);
  CHECK((uintptr_t)a % 64 == 0 && (uintptr_t)d % 64 == 0);
  nerve_free(ctx, a);
  nerve_free(ctx, b);
  nerve_free(ctx, d);
  nerve_free(ctx, NULL);
  CHECK(nerve_malloc(ctx, SIZE_MAX - 8) == NULL);
  for (int s = 0; s <= NERVE_EIO; s++)
    CHECK(strlen(nerve_strerror((nerve_status)s)) > 0);
  nerve_rng r1, r2;
  nerve_rng_seed(&r1, 5);
  nerve_rng_seed(&r2, 5);
  int same = 1, inrange = 1, hit[3] = {0};
  for (int i = 0; i < 100; i++)
    same &= nerve_rng_next(&r1) == nerve_rng_next(&r2);
  for (int i = 0; i < 3000; i++) {
    double u = nerve_rng_uniform(&r1);
    inrange &= u >= 0 && u < 1;
    uint64_t k = nerve_rng_below(&r1, 3);
    inrange &= k < 3;
    hit[k < 3 ? k : 0]++;
  }
  CHECK(same && inrange);
  CHECK(hit[0] > 900 && hit[1] > 900 && hit[2] > 900);
  CHECK(nerve_rng_below(&r1, 1) == 0);
  /* a shuffle is a permutation, and each position sees every value */
  int first_seen[5] = {0};
  for (int t = 0; t < 500; t++) {
    int32_t v[5] = {0, 1, 2, 3, 4}, seen[5] = {0};
    nerve_rng_shuffle(&r1, v, 5);
    int perm = 1;
    for (int i = 0; i < 5; i++) perm &= v[i] >= 0 && v[i] < 5 && !seen[v[i]]++;
    CHECK(perm);
    first_seen[v[0]]++;
  }
  for (int i = 0; i < 5; i++) CHECK(first_seen[i] > 60);
  nerve_rng_shuffle(&r1, NULL, 0); /* nothing to do */
  /* xoshiro256** reference: state {1, 2, 3, 4} gives 11520, 0, 1509978240 */
  nerve_rng x = {{1, 2, 3, 4}};
  CHECK(nerve_rng_next(&x) == 11520u);
  CHECK(nerve_rng_next(&x) == 0u);
  CHECK(nerve_rng_next(&x) == 1509978240u);
  end_ctx(ctx, &c);
  /* NERVE_ISA picks a path; an unknown one is ignored */
  setenv("NERVE_ISA", "scalar", 1);
  ctx = new_ctx(&c);
  CHECK(strcmp(nerve_ctx_isa(ctx), "scalar") == 0);
  end_ctx(ctx, &c);
  setenv("NERVE_ISA", "bogus", 1);
  ctx = new_ctx(&c);
  CHECK(ctx && nerve_ctx_isa(ctx) != NULL);
  end_ctx(ctx, &c);
  unsetenv("NERVE_ISA");
}

int main(void) {
  test_context();
  return check_report("test_context");
}
