/*
** test_format.c - the model format: its bytes, a round trip through memory
** and files, its rejections (truncation, every flipped bit, sealed but
** inconsistent or huge headers), and the toolkit's file helpers.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"

/* ----------------------------------------------------------- model format */

static uint32_t test_crc(const unsigned char *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
  }
  return ~c;
}

static void put32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

static void reseal(unsigned char *p, size_t len) {
  put32(p + len - 4, test_crc(p, len - 4));
}

static nerve_net *format_net(nerve_ctx *ctx) {
  nerve_net *net;
  CHECK(nerve_net_new(ctx, &net) == NERVE_OK);
  nerve_layer *l1 = lin(ctx, 3, 4), *l2 = lin(ctx, 4, 2);
  fill_rand(nerve_layer_bias(l1), nerve_ctx_rng(ctx), 1);
  fill_rand(nerve_layer_bias(l2), nerve_ctx_rng(ctx), 1);
  add(net, l1);
  add(net, act(ctx, NERVE_TANH, 0));
  add(net, l2);
  add(net, act(ctx, NERVE_LEAKY_RELU, 0.2f));
  add(net, act(ctx, NERVE_SOFTMAX, 0));
  return net;
}

static int same_net(nerve_net *a, nerve_net *b) {
  if (nerve_net_count(a) != nerve_net_count(b)) return 0;
  for (int i = 0; i < nerve_net_count(a); i++) {
    nerve_layer *la = nerve_net_layer(a, i), *lb = nerve_net_layer(b, i);
    if (nerve_layer_kind(la) != nerve_layer_kind(lb) ||
        nerve_layer_alpha(la) != nerve_layer_alpha(lb) ||
        nerve_layer_n_in(la) != nerve_layer_n_in(lb) ||
        nerve_layer_n_out(la) != nerve_layer_n_out(lb))
      return 0;
  }
  for (int i = 0; i < nerve_net_param_count(a); i++) {
    nerve_mat pa = nerve_net_param(a, i), pb = nerve_net_param(b, i);
    if (pa.rows != pb.rows || pa.cols != pb.cols ||
        memcmp(pa.data, pb.data, (size_t)pa.rows * pa.cols * sizeof(float)))
      return 0;
  }
  float x[6] = {0.1f, -0.2f, 0.3f, 0.7f, 0.5f, -0.9f}, ya[4];
  nerve_mat xm = nerve_mat_view(x, 2, 3), oa, ob;
  if (nerve_net_forward(a, &xm, &oa) || nerve_net_forward(b, &xm, &ob))
    return 0;
  memcpy(ya, oa.data, sizeof ya);
  return memcmp(ya, ob.data, sizeof ya) == 0;
}

static nerve_status deser(nerve_ctx *ctx, const void *p, size_t n) {
  nerve_net *net = NULL;
  nerve_status s = nerve_net_deserialize(ctx, p, n, &net);
  nerve_net_free(net);
  return s;
}

static void test_format_rejects(nerve_ctx *ctx, counter *c,
                                const unsigned char *good, size_t len) {
  unsigned char *b = malloc(len + 64);
  CHECK(deser(ctx, NULL, 0) == NERVE_ETRUNC);
  CHECK(deser(ctx, good, 0) == NERVE_ETRUNC);
  int all_trunc = 1;
  for (size_t n = 0; n < len; n++)
    all_trunc &= deser(ctx, good, n) == NERVE_ETRUNC;
  CHECK(all_trunc);
  /* one extra byte */
  memcpy(b, good, len);
  b[len] = 0;
  CHECK(deser(ctx, b, len + 1) == NERVE_EFORMAT);
  /* a flipped bit anywhere */
  int flips_ok = 1;
  for (size_t i = 0; i < len; i++)
    for (int bit = 0; bit < 8; bit += 7) {
      memcpy(b, good, len);
      b[i] ^= (unsigned char)(1u << bit);
      nerve_status s = deser(ctx, b, len);
      nerve_status want = i < 8    ? NERVE_EFORMAT
                          : i < 12 ? NERVE_EVERSION
                                   : NERVE_ECHECKSUM;
      /* the length field: a longer claim reads as truncation */
      if (i >= 16 && i < 20 && s != NERVE_OK) continue;
      if (s != want) {
        fprintf(stderr, "flip at %zu bit %d: %s\n", i, bit, nerve_strerror(s));
        flips_ok = 0;
      }
    }
  CHECK(flips_ok);
  memcpy(b, "NERVEMDX", 8);
  CHECK(deser(ctx, b, len) == NERVE_EFORMAT);
  CHECK(deser(ctx, "GIF89a", 6) == NERVE_EFORMAT);
  /* a later version, properly sealed */
  memcpy(b, good, len);
  put32(b + 8, 2);
  reseal(b, len);
  CHECK(deser(ctx, b, len) == NERVE_EVERSION);
  /* sealed but inconsistent: bad kind, n_in not the running width, NaN */
  memcpy(b, good, len);
  put32(b + 20 + 16, 99);
  reseal(b, len);
  CHECK(deser(ctx, b, len) == NERVE_EFORMAT);
  memcpy(b, good, len);
  put32(b + 20 + 2 * 16 + 4, 5); /* second linear's n_in: 5, not 4 */
  reseal(b, len);
  CHECK(deser(ctx, b, len) == NERVE_EFORMAT);
  memcpy(b, good, len);
  put32(b + len - 8, 0x7fc00000u); /* last parameter: NaN */
  reseal(b, len);
  CHECK(deser(ctx, b, len) == NERVE_EFORMAT);
  /* huge sizes, sealed: refused before any allocation */
  size_t calls = c->calls;
  memcpy(b, good, len);
  put32(b + 20 + 4, 1u << 24); /* 2^24 x 4 is fine alone ... */
  put32(b + 20 + 8, 1u << 24); /* ... 2^24 x 2^24 is not */
  reseal(b, len);
  CHECK(deser(ctx, b, len) == NERVE_ELIMIT);
  put32(b + 20 + 4, 0xFFFFFFFFu);
  reseal(b, len);
  CHECK(deser(ctx, b, len) == NERVE_ELIMIT);
  memcpy(b, good, len);
  put32(b + 12, 0x7FFFFFFFu); /* layer count */
  reseal(b, len);
  CHECK(deser(ctx, b, len) == NERVE_ELIMIT);
  CHECK(c->calls == calls);
  free(b);
}

static void test_format(void) {
  counter c;
  nerve_ctx *ctx = new_ctx(&c);
  nerve_net *net = format_net(ctx), *back = NULL;
  void *bytes;
  size_t len;
  CHECK(nerve_net_serialize(net, &bytes, &len) == NERVE_OK);
  CHECK(len == 20 + 5 * 16 + 4 * (16 + 10) + 4);
  const unsigned char *p = bytes;
  CHECK(memcmp(p, "NERVEMDL", 8) == 0 && get32(p + 8) == 1 &&
        get32(p + 12) == 5 && get32(p + 16) == len);
  CHECK(get32(p + len - 4) == test_crc(p, len - 4));
  CHECK(nerve_net_deserialize(ctx, bytes, len, &back) == NERVE_OK);
  CHECK(same_net(net, back));
  nerve_net_free(back);
  test_format_rejects(ctx, &c, bytes, len);

  /* files */
  char dir[] = "/tmp/nerve_test_XXXXXX", path[256];
  CHECK(mkdtemp(dir) != NULL);
  snprintf(path, sizeof path, "%s/model.nrv", dir);
  CHECK(nerve_net_save(net, path) == NERVE_OK);
  CHECK(nerve_net_save(net, path) == NERVE_OK); /* over an old file */
  back = NULL;
  CHECK(nerve_net_load(ctx, path, &back) == NERVE_OK);
  CHECK(back && same_net(net, back));
  nerve_net_free(back);
  FILE *f = fopen(path, "rb");
  unsigned char *disk = malloc(len + 1);
  CHECK(f && fread(disk, 1, len + 1, f) == len &&
        memcmp(disk, bytes, len) == 0);
  if (f) fclose(f);
  free(disk);
  /* a truncated file */
  f = fopen(path, "wb");
  CHECK(f && fwrite(bytes, 1, len / 2, f) == len / 2);
  if (f) fclose(f);
  CHECK(nerve_net_load(ctx, path, &back) == NERVE_ETRUNC);
  unlink(path);
  errno = 0;
  CHECK(nerve_net_load(ctx, path, &back) == NERVE_EIO && errno == ENOENT);
  CHECK(nerve_net_load(ctx, dir, &back) == NERVE_EIO);
  char bad[300];
  snprintf(bad, sizeof bad, "%s/no/such/dir/m.nrv", dir);
  errno = 0;
  CHECK(nerve_net_save(net, bad) == NERVE_EIO && errno == ENOENT);
  CHECK(rmdir(dir) == 0); /* no temporary file was left behind */
  nerve_free(ctx, bytes);
  nerve_net_free(net);
  end_ctx(ctx, &c);
}

/* ------------------------------------------- the training toolkit's files */

static void test_toolkit_files(void) {
  counter c;
  nerve_ctx *ctx = new_ctx(&c);
  CHECK(nerve_crc32("123456789", 9) == 0xCBF43926u); /* the check value */
  char path[] = "/tmp/nerve_ckXXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  if (fd >= 0) close(fd);
  CHECK(nerve_file_write(ctx, path, "abc", 3) == NERVE_OK);
  FILE *f = fopen(path, "rb");
  char got[8] = {0};
  CHECK(f && fread(got, 1, 8, f) == 3 && memcmp(got, "abc", 3) == 0);
  if (f) fclose(f);
  unlink(path);
  errno = 0;
  CHECK(nerve_file_write(ctx, "/nonexistent/dir/x", "abc", 3) == NERVE_EIO);
  CHECK(errno == ENOENT);
  CHECK(nerve_file_write(ctx, "", "abc", 3) == NERVE_EARG);
  end_ctx(ctx, &c);
}

/* ------------------------------------------------- what a save replaces */

/* The bytes of the file at path, as a string (up to 63 bytes). */
static const char *contents(const char *path) {
  static char buf[64];
  memset(buf, 0, sizeof buf);
  FILE *f = fopen(path, "rb");
  if (!f) return "";
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static int is_kind(const char *path, mode_t kind) {
  struct stat st;
  return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == kind;
}

/* Through a symbolic link (also a dangling one, and a chain) the link's
** target is written and the link stays; a directory or a FIFO is refused
** and stays what it was; nothing is left in the folder. */
static void test_save_targets(nerve_ctx *ctx) {
  char dir[] = "/tmp/nerve_targetsXXXXXX", a[128], b[128], l[128], l2[128];
  CHECK(mkdtemp(dir) != NULL);
  snprintf(a, sizeof a, "%s/a", dir);
  snprintf(b, sizeof b, "%s/b", dir);
  snprintf(l, sizeof l, "%s/link", dir);
  snprintf(l2, sizeof l2, "%s/link2", dir);
  CHECK(nerve_file_write(ctx, a, "old", 3) == NERVE_OK);
  CHECK(symlink("a", l) == 0 && symlink("link", l2) == 0);
  CHECK(nerve_file_write(ctx, l2, "new", 3) == NERVE_OK);
  CHECK(is_kind(l, S_IFLNK) && is_kind(l2, S_IFLNK) && is_kind(a, S_IFREG));
  CHECK(strcmp(contents(a), "new") == 0);
  /* dangling: the target is made */
  CHECK(unlink(l) == 0 && symlink("b", l) == 0);
  CHECK(nerve_file_write(ctx, l, "made", 4) == NERVE_OK);
  CHECK(is_kind(l, S_IFLNK) && strcmp(contents(b), "made") == 0);
  /* a directory, a FIFO, a loop */
  char sub[128], fifo[128];
  snprintf(sub, sizeof sub, "%s/sub", dir);
  snprintf(fifo, sizeof fifo, "%s/fifo", dir);
  CHECK(mkdir(sub, 0700) == 0 && mkfifo(fifo, 0600) == 0);
  errno = 0;
  CHECK(nerve_file_write(ctx, sub, "x", 1) == NERVE_EIO && errno == EISDIR);
  errno = 0;
  CHECK(nerve_file_write(ctx, fifo, "x", 1) == NERVE_EIO && errno == EINVAL);
  CHECK(is_kind(sub, S_IFDIR) && is_kind(fifo, S_IFIFO));
  CHECK(unlink(l) == 0 && symlink("link", l) == 0);
  errno = 0;
  CHECK(nerve_file_write(ctx, l, "x", 1) == NERVE_EIO && errno == ELOOP);
  CHECK(unlink(a) == 0 && unlink(b) == 0 && unlink(l) == 0 &&
        unlink(l2) == 0 && unlink(fifo) == 0 && rmdir(sub) == 0);
  CHECK(rmdir(dir) == 0); /* nothing else was left */
}

/* A killed save leaves target.tmpXXXXXX: the next save of target removes
** it, but not one a live save holds locked, nor other files. */
static void test_save_leftovers(nerve_ctx *ctx) {
  char dir[] = "/tmp/nerve_leftXXXXXX", t[128], old[128], live[128],
                      other[128], near[128];
  CHECK(mkdtemp(dir) != NULL);
  snprintf(t, sizeof t, "%s/model.bin", dir);
  snprintf(old, sizeof old, "%s/model.bin.tmpAbC123", dir);
  snprintf(live, sizeof live, "%s/model.bin.tmpLiVe99", dir);
  snprintf(other, sizeof other, "%s/other.bin.tmpAbC123", dir);
  snprintf(near, sizeof near, "%s/model.bin.tmpAbC1234", dir);
  CHECK(nerve_file_write(ctx, old, "killed", 6) == NERVE_OK);
  CHECK(nerve_file_write(ctx, live, "writing", 7) == NERVE_OK);
  CHECK(nerve_file_write(ctx, other, "other", 5) == NERVE_OK);
  CHECK(nerve_file_write(ctx, near, "near", 4) == NERVE_OK);
  int fd = open(live, O_RDONLY);
  CHECK(fd >= 0 && flock(fd, LOCK_EX) == 0);
  CHECK(nerve_file_write(ctx, t, "model", 5) == NERVE_OK);
  CHECK(access(old, F_OK) != 0);  /* removed */
  CHECK(access(live, F_OK) == 0); /* locked: a live writer's */
  CHECK(access(other, F_OK) == 0 && access(near, F_OK) == 0);
  CHECK(strcmp(contents(t), "model") == 0);
  if (fd >= 0) close(fd);
  CHECK(unlink(t) == 0 && unlink(live) == 0 && unlink(other) == 0 &&
        unlink(near) == 0 && rmdir(dir) == 0);
}

static void test_save_files(void) {
  counter c;
  nerve_ctx *ctx = new_ctx(&c);
  test_save_targets(ctx);
  test_save_leftovers(ctx);
  end_ctx(ctx, &c);
}

int main(void) {
  test_format();
  test_toolkit_files();
  test_save_files();
  return check_report("test_format");
}
