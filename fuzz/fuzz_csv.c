/*
** fuzz_csv.c - the CSV loader (nerve_data_csv) on arbitrary files; see
** data_check.h for what must hold.
*/
#include "data_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_data(DATA_CSV, data, size);
  return 0;
}
