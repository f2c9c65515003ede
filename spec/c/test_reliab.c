/*
** test_reliab.c - the engine when the world misbehaves: a save that fails
** half way (file size limit) leaves the old model and no temporary file;
** hostile model files are refused before any allocation larger than the
** file, whatever sizes their header claims.
*/
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "nerve.h"

/* Counts live bytes and remembers the largest single request. */
typedef struct counter {
  size_t live, biggest;
} counter;

typedef union hdr {
  size_t n;
  max_align_t align;
} hdr;

static void *count_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  counter *c = ud;
  (void)osize;
  if (nsize == 0) {
    if (ptr) {
      hdr *h = (hdr *)ptr - 1;
      c->live -= h->n;
      free(h);
    }
    return NULL;
  }
  if (ptr) return NULL;
  if (nsize > c->biggest) c->biggest = nsize;
  hdr *h = malloc(sizeof *h + nsize);
  if (!h) return NULL;
  h->n = nsize;
  c->live += nsize;
  return h + 1;
}

static nerve_net *mlp(nerve_ctx *ctx, int a, int b, int c) {
  nerve_net *net = NULL;
  nerve_layer *l1 = NULL, *t = NULL, *l2 = NULL;
  CHECK(nerve_net_new(ctx, &net) == NERVE_OK);
  CHECK(nerve_linear_new(ctx, a, b, &l1) == NERVE_OK);
  CHECK(nerve_act_new(ctx, NERVE_TANH, 0, &t) == NERVE_OK);
  CHECK(nerve_linear_new(ctx, b, c, &l2) == NERVE_OK);
  CHECK(nerve_net_add(net, l1) == NERVE_OK);
  CHECK(nerve_net_add(net, t) == NERVE_OK);
  CHECK(nerve_net_add(net, l2) == NERVE_OK);
  nerve_layer_release(l1);
  nerve_layer_release(t);
  nerve_layer_release(l2);
  return net;
}

static int same_bytes(nerve_net *a, nerve_net *b) {
  void *p = NULL, *q = NULL;
  size_t n = 0, m = 0;
  int same = nerve_net_serialize(a, &p, &n) == NERVE_OK &&
             nerve_net_serialize(b, &q, &m) == NERVE_OK && n == m &&
             memcmp(p, q, n) == 0;
  nerve_free(nerve_net_ctx(a), p);
  nerve_free(nerve_net_ctx(b), q);
  return same;
}

/* Names in dir other than . and .. */
static int entries(const char *dir) {
  DIR *d = opendir(dir);
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
  if (d) closedir(d);
  return n;
}

/* ------------------------------------------------------- durability */

/* In a child limited to files of `limit` bytes (writes past it fail with
** EFBIG once SIGXFSZ is ignored), saves net over path. Exit status: 0 when
** the save failed with NERVE_EIO and errno EFBIG, 1 when it succeeded,
** 2 for any other outcome. */
static int save_limited(nerve_net *net, const char *path, rlim_t limit) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    struct rlimit r = {limit, limit};
    signal(SIGXFSZ, SIG_IGN);
    if (setrlimit(RLIMIT_FSIZE, &r) != 0) _exit(3);
    errno = 0;
    nerve_status s = nerve_net_save(net, path);
    _exit(s == NERVE_OK ? 1 : s == NERVE_EIO && errno == EFBIG ? 0 : 2);
  }
  int st = 0;
  if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) return -1;
  return WEXITSTATUS(st);
}

static void test_failed_save(void) {
  counter c = {0, 0};
  nerve_ctx *ctx = NULL;
  CHECK(nerve_ctx_new(&ctx, count_alloc, &c) == NERVE_OK);
  nerve_net *small = mlp(ctx, 2, 3, 1), *big = mlp(ctx, 40, 40, 10);
  char dir[] = "/tmp/nerve_save_XXXXXX", path[256];
  CHECK(mkdtemp(dir) != NULL);
  snprintf(path, sizeof path, "%s/model.nrv", dir);
  CHECK(nerve_net_save(small, path) == NERVE_OK);

  /* the new model (about 8 KiB) cannot be written whole under a 4 KiB
  ** limit: the save fails part way through the write */
  CHECK(save_limited(big, path, 4096) == 0);
  nerve_net *back = NULL;
  CHECK(nerve_net_load(ctx, path, &back) == NERVE_OK);
  CHECK(back && same_bytes(back, small)); /* the old model survived */
  nerve_net_free(back);
  CHECK(entries(dir) == 1); /* no temporary file remains */

  /* a limit below even the head: the failure comes at the first write */
  CHECK(save_limited(big, path, 8) == 0);
  back = NULL;
  CHECK(nerve_net_load(ctx, path, &back) == NERVE_OK);
  CHECK(back && same_bytes(back, small));
  nerve_net_free(back);
  CHECK(entries(dir) == 1);

  /* with room enough the same save succeeds, replacing the model */
  CHECK(save_limited(big, path, 1 << 20) == 1);
  back = NULL;
  CHECK(nerve_net_load(ctx, path, &back) == NERVE_OK);
  CHECK(back && same_bytes(back, big));
  nerve_net_free(back);
  CHECK(entries(dir) == 1);

  /* a save into a folder that does not exist fails and creates nothing */
  char bad[300];
  snprintf(bad, sizeof bad, "%s/missing/model.nrv", dir);
  CHECK(nerve_net_save(small, bad) == NERVE_EIO);
  CHECK(entries(dir) == 1);

  unlink(path);
  CHECK(rmdir(dir) == 0);
  nerve_net_free(small);
  nerve_net_free(big);
  nerve_ctx_free(ctx);
  CHECK(c.live == 0);
}

/* --------------------------------------------------- hostile files */

static void put32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t crc32(const unsigned char *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
  }
  return c ^ 0xFFFFFFFFu;
}

/* Writes n bytes of p to path, then extends the file to size bytes (a
** sparse tail of zeros, so a large file costs no disk). */
static void write_file(const char *path, const void *p, size_t n,
                       size_t size) {
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL);
  if (!f) return;
  CHECK(fwrite(p, 1, n, f) == n);
  fclose(f);
  if (size > n) CHECK(truncate(path, (off_t)size) == 0);
}

/* Loads path with a fresh counting context: the status, and in *biggest
** the largest single allocation. Checks that nothing is left. */
static nerve_status load_counted(const char *path, size_t *biggest) {
  counter c = {0, 0};
  nerve_ctx *ctx = NULL;
  CHECK(nerve_ctx_new(&ctx, count_alloc, &c) == NERVE_OK);
  nerve_net *net = NULL;
  nerve_status s = nerve_net_load(ctx, path, &net);
  nerve_net_free(net);
  nerve_ctx_free(ctx);
  CHECK(c.live == 0);
  *biggest = c.biggest;
  return s;
}

static void test_hostile_files(void) {
  char dir[] = "/tmp/nerve_hostile_XXXXXX", path[256];
  CHECK(mkdtemp(dir) != NULL);
  snprintf(path, sizeof path, "%s/m.nrv", dir);
  size_t big = 0;
  const size_t MiB = (size_t)1 << 20;

  /* foreign bytes, large: refused from the head, never read whole */
  write_file(path, "GIF89a", 6, 64 * MiB);
  CHECK(load_counted(path, &big) == NERVE_EFORMAT);
  CHECK(big < 4096);
  write_file(path, "", 0, 64 * MiB);
  CHECK(load_counted(path, &big) == NERVE_EFORMAT);
  CHECK(big < 4096);

  /* a later format version, large */
  unsigned char h[64];
  memset(h, 0, sizeof h);
  memcpy(h, "NERVEMDL", 8);
  put32(h + 8, 2);
  write_file(path, h, 20, 64 * MiB);
  CHECK(load_counted(path, &big) == NERVE_EVERSION);
  CHECK(big < 4096);

  /* a sealed file whose records claim 2^24 x 2^24 weights: ELIMIT, with
  ** no allocation beyond the file itself */
  size_t len = 20 + 16 + 4;
  put32(h + 8, 1);
  put32(h + 12, 1);
  put32(h + 16, (uint32_t)len);
  put32(h + 20, 0); /* linear */
  put32(h + 24, 1u << 24);
  put32(h + 28, 1u << 24);
  put32(h + 32, 0);
  put32(h + 36, crc32(h, len - 4));
  write_file(path, h, len, len);
  CHECK(load_counted(path, &big) == NERVE_ELIMIT);
  CHECK(big < 4096);

  /* the biggest sizes a record may hold, with a length field to match,
  ** but the file is short: truncated, and still no large allocation */
  put32(h + 24, 1u << 14);
  put32(h + 28, 1u << 14);
  put32(h + 16, (uint32_t)(20 + 16 + 4 * ((1u << 28) + (1u << 14)) + 4));
  write_file(path, h, len, len);
  CHECK(load_counted(path, &big) == NERVE_ETRUNC);
  CHECK(big < 4096);

  /* a layer count of 2^31 */
  put32(h + 12, 0x80000000u);
  put32(h + 16, (uint32_t)len);
  put32(h + 36, crc32(h, len - 4));
  write_file(path, h, len, len);
  CHECK(load_counted(path, &big) == NERVE_ELIMIT);
  CHECK(big < 4096);

  /* an alpha on a layer that has none (found by fuzz_model_sealed: it
  ** loaded, and saved back as different bytes) */
  len = 20 + 2 * 16 + 4;
  memcpy(h, "NERVEMDL", 8);
  put32(h + 8, 1);
  put32(h + 12, 2);
  put32(h + 16, (uint32_t)len);
  static const uint32_t kinds[] = {1, 2, 3, 5, 6}; /* all but leaky_relu */
  memset(h + 20, 0, 32);
  put32(h + 36, 6); /* identity, alpha 0 */
  for (int i = 0; i < 5; i++) {
    put32(h + 20, kinds[i]);
    put32(h + 32, 0x20000000u); /* alpha about 1e-19 */
    put32(h + 52, crc32(h, len - 4));
    write_file(path, h, len, len);
    CHECK(load_counted(path, &big) == NERVE_EFORMAT);
  }
  put32(h + 32, 0);
  put32(h + 48, 0x80000000u); /* identity with alpha -0.0: still not 0 */
  put32(h + 52, crc32(h, len - 4));
  write_file(path, h, len, len);
  CHECK(load_counted(path, &big) == NERVE_EFORMAT);
  put32(h + 20, 5); /* softmax */
  put32(h + 32, 0);
  put32(h + 36, 4); /* leaky_relu: its alpha may be -0.0 */
  put32(h + 52, crc32(h, len - 4));
  write_file(path, h, len, len);
  CHECK(load_counted(path, &big) == NERVE_OK);

  /* a file larger than any model can be */
  memcpy(h, "NERVEMDL", 8);
  write_file(path, h, 20, ((size_t)1 << 31) + 64);
  CHECK(load_counted(path, &big) == NERVE_ELIMIT);
  CHECK(big < 4096);

  unlink(path);
  CHECK(rmdir(dir) == 0);
}

int main(void) {
  test_failed_save();
  test_hostile_files();
  return check_report("test_reliab");
}
