/*
** rng.c - xoshiro256** (Blackman and Vigna), seeded through splitmix64 so
** that any seed, 0 included, gives a well-mixed nonzero state.
*/
#include "internal.h"

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

void nerve_rng_seed(nerve_rng *r, uint64_t seed) {
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

uint64_t nerve_rng_next(nerve_rng *r) {
  uint64_t *s = r->s;
  uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return out;
}

double nerve_rng_uniform(nerve_rng *r) {
  return (double)(nerve_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Rejects the first 2^64 mod n values so every residue is equally likely. */
uint64_t nerve_rng_below(nerve_rng *r, uint64_t n) {
  if (n <= 1) return 0;
  uint64_t threshold = (0 - n) % n, x;
  do x = nerve_rng_next(r);
  while (x < threshold);
  return x % n;
}

void nerve_rng_shuffle(nerve_rng *r, int32_t *a, int n) {
  for (int i = n - 1; i > 0; i--) {
    int j = (int)nerve_rng_below(r, (uint64_t)i + 1);
    int32_t t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}
