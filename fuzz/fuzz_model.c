/*
** fuzz_model.c - the model loader (nerve_net_deserialize) on arbitrary
** bytes; see model_check.h for what must hold.
*/
#include "model_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_model(data, size);
  return 0;
}
