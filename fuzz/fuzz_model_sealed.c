/*
** fuzz_model_sealed.c - the model loader past its checksum: the input's
** length field and CRC-32 are set to match before loading, so mutations
** reach the layer records and parameters instead of stopping at
** ECHECKSUM. Checks as fuzz_model.c (model_check.h).
*/
#include "model_check.h"

static uint32_t crc32(const uint8_t *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
  }
  return c ^ 0xFFFFFFFFu;
}

static void put32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 24 || size > ((size_t)1 << 20)) {
    check_model(data, size);
    return 0;
  }
  uint8_t *p = malloc(size);
  FZ_ASSERT(p != NULL);
  memcpy(p, data, size);
  put32(p + 16, (uint32_t)size);
  put32(p + size - 4, crc32(p, size - 4));
  check_model(p, size);
  free(p);
  return 0;
}
