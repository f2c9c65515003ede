/*
** fuzz_fann.c - the FANN loader (nerve_data_fann) on arbitrary files; see
** data_check.h for what must hold.
*/
#include "data_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_data(DATA_FANN, data, size);
  return 0;
}
