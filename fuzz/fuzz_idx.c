/*
** fuzz_idx.c - the IDX loader (nerve_data_idx) on arbitrary files; see
** data_check.h for what must hold.
*/
#include "data_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_data(DATA_IDX, data, size);
  return 0;
}
