/* FANN's side of `make bench` (Debian libfann-dev, -lfloatfann): the
** 784-256-128-10 network trained incrementally (FANN's default, one sample
** per step) and XOR 2-4-1 trained in a C loop. CSV as bench/nerve.lua. */
#include <fann.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double cpu(void) { return (double)clock() / CLOCKS_PER_SEC; }

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

int main(void) {
  int reps = getenv("BENCH_REPS") ? atoi(getenv("BENCH_REPS")) : 5;
  enum { N = 256 };
  static float x[N][784], y[N][10];
  srand(1);
  for (int i = 0; i < N; i++) {
    for (int j = 0; j < 784; j++) x[i][j] = (float)((double)rand() / RAND_MAX);
    for (int j = 0; j < 10; j++) y[i][j] = j == i % 10;
  }
  struct fann *net = fann_create_standard(4, 784, 256, 128, 10);
  fann_set_activation_function_hidden(net, FANN_SIGMOID_SYMMETRIC);
  fann_set_activation_function_output(net, FANN_LINEAR);
  fann_set_learning_rate(net, 0.01f);
  for (int r = 0; r < reps; r++) {
    double t0 = now(), c0 = cpu();
    for (int i = 0; i < N; i++) fann_train(net, x[i], y[i]);
    double t = now() - t0;
    printf("train_b1,fann,1,samples/s,%g,%.3f\n", N / t, (cpu() - c0) / t);
    t0 = now(), c0 = cpu();
    for (int i = 0; i < 4 * N; i++) fann_run(net, x[i % N]);
    t = now() - t0;
    printf("infer_b1,fann,1,samples/s,%g,%.3f\n", 4 * N / t, (cpu() - c0) / t);
  }
  /* FANN has no mini-batch of 32; its samples/s at batch 32 is the
  ** incremental rate, so goal 1's "10x FANN at batch 32" compares to it */
  fann_destroy(net);
  float xx[4][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}}, yy[4][1] = {{0}, {1}, {1}, {0}};
  struct fann *xor = fann_create_standard(3, 2, 4, 1);
  fann_set_activation_function_hidden(xor, FANN_SIGMOID);
  fann_set_activation_function_output(xor, FANN_SIGMOID);
  for (int r = 0; r < reps; r++) {
    long n = 2000000;
    double t0 = now(), c0 = cpu();
    for (long i = 0; i < n; i++) fann_train(xor, xx[i & 3], yy[i & 3]);
    double t = now() - t0;
    printf("xor_fit,fann,1,samples/s,%g,%.3f\n", n / t, (cpu() - c0) / t);
  }
  fann_destroy(xor);
  return 0;
}
