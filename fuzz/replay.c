/*
** replay.c - runs a harness's LLVMFuzzerTestOneInput on files, without
** libFuzzer: the corpus as a regression test with any compiler.
** Usage: replay_NAME FILE|DIR ...
*/
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int runfile(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return 0;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *p = malloc(n > 0 ? (size_t)n : 1);
  size_t got = p ? fread(p, 1, (size_t)n, f) : 0;
  fclose(f);
  if (p) LLVMFuzzerTestOneInput(p, got);
  free(p);
  return 1;
}

int main(int argc, char **argv) {
  int count = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) continue;
    if (!S_ISDIR(st.st_mode)) {
      count += runfile(argv[i]);
      continue;
    }
    DIR *d = opendir(argv[i]);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
      if (e->d_name[0] == '.') continue;
      char path[4096];
      snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
      count += runfile(path);
    }
    if (d) closedir(d);
  }
  printf("%s: %d inputs replayed\n", argv[0], count);
  return 0;
}
