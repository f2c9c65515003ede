/*
** fann_compare.c - FANN's side of `make bench-fann`: trains a network with
** FANN 2.2 (Debian's libfann-dev, float build) on a FANN training file and
** reports its test MSE and training time, for bench/fann_compare.lua to
** print beside nerve's.
**
**   fann_compare TRAIN TEST EPOCHS SEED HIDDEN...
**
** The network is fully connected TRAIN's inputs - HIDDEN... - outputs,
** sigmoid (0..1) in every layer, weights uniform in [-0.1, 0.1] (FANN's
** default) drawn after srand(SEED), trained with FANN's default algorithm,
** iRPROP- with its default constants, one fann_train_epoch per epoch.
** Prints one line:
**   epochs=E seconds=S mse=M best_mse=B best_epoch=K bit_fail=F
** where mse is FANN's test MSE after the last epoch, best_mse the lowest
** test MSE seen after any epoch (FANN's published protocol), seconds the
** wall time of the training epochs only, bit_fail the test outputs off by
** at least 0.35 at the end.
*/
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <floatfann.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: fann_compare TRAIN TEST EPOCHS SEED HIDDEN...\n");
    return 2;
  }
  int epochs = atoi(argv[3]);
  unsigned seed = (unsigned)strtoul(argv[4], NULL, 10);
  int nh = argc - 5;
  if (epochs < 1 || nh > 16) {
    fprintf(stderr, "fann_compare: bad epochs or too many layers\n");
    return 2;
  }
  struct fann_train_data *train = fann_read_train_from_file(argv[1]);
  struct fann_train_data *test = fann_read_train_from_file(argv[2]);
  if (!train || !test) {
    fprintf(stderr, "fann_compare: cannot read %s or %s\n", argv[1], argv[2]);
    return 1;
  }
  unsigned layers[18];
  layers[0] = fann_num_input_train_data(train);
  for (int i = 0; i < nh; i++) layers[i + 1] = (unsigned)atoi(argv[5 + i]);
  layers[nh + 1] = fann_num_output_train_data(train);
  struct fann *ann = fann_create_standard_array((unsigned)nh + 2, layers);
  if (!ann) return 1;
  fann_set_activation_function_hidden(ann, FANN_SIGMOID);
  fann_set_activation_function_output(ann, FANN_SIGMOID);
  fann_set_training_algorithm(ann, FANN_TRAIN_RPROP);
  srand(seed);
  fann_randomize_weights(ann, -0.1f, 0.1f);

  double seconds = 0, best = 1e30;
  int best_epoch = 0;
  for (int e = 1; e <= epochs; e++) {
    double t0 = now();
    fann_train_epoch(ann, train);
    seconds += now() - t0;
    double m = fann_test_data(ann, test);
    if (m < best) {
      best = m;
      best_epoch = e;
    }
  }
  double mse = fann_test_data(ann, test);
  unsigned fails = fann_get_bit_fail(ann);
  printf("epochs=%d seconds=%.4f mse=%.6f best_mse=%.6f best_epoch=%d "
         "bit_fail=%u\n", epochs, seconds, mse, best, best_epoch, fails);
  fann_destroy(ann);
  fann_destroy_train(train);
  fann_destroy_train(test);
  return 0;
}
