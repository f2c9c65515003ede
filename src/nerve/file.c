/*
** file.c - model files: an atomic save (temporary file in the same folder,
** synced, renamed over the target) and a bounded load.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* The largest file a valid model can be. */
#define MAX_FILE \
  (20 + 16 * (size_t)NERVE_MAX_LAYERS + 4 * NERVE_MAX_PARAMS + 4)

static int write_all(int fd, const unsigned char *p, size_t n) {
  while (n) {
    ssize_t k = write(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return -1;
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

/* Makes the rename itself durable; a failure here loses nothing. */
static void sync_dir(const char *path) {
  const char *slash = strrchr(path, '/');
  char dir[4096] = ".";
  if (slash == path) strcpy(dir, "/");
  else if (slash) {
    size_t n = (size_t)(slash - path);
    if (n >= sizeof dir) return;
    memcpy(dir, path, n);
    dir[n] = '\0';
  }
  int fd = open(dir, O_RDONLY);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

static nerve_status write_file(char *tmp, const char *path,
                               const unsigned char *p, size_t n) {
  int fd = mkstemp(tmp);
  if (fd < 0) return NERVE_EIO;
  /* mkstemp makes 0600; a model file is an ordinary readable file (some
  ** file systems refuse modes: that is no reason to fail the save) */
  (void)fchmod(fd, 0644);
  int bad = write_all(fd, p, n) != 0 || fsync(fd) != 0;
  int err = errno;
  if (close(fd) != 0 && !bad) {
    bad = 1;
    err = errno;
  }
  if (!bad && rename(tmp, path) != 0) {
    bad = 1;
    err = errno;
  }
  if (bad) {
    unlink(tmp);
    errno = err;
    return NERVE_EIO;
  }
  sync_dir(path);
  return NERVE_OK;
}

nerve_status nerve_file_write(nerve_ctx *ctx, const char *path,
                              const void *bytes, size_t len) {
  if (!ctx || !path || !*path || (!bytes && len)) return NERVE_EARG;
  size_t plen = strlen(path);
  char *tmp = nerve_malloc(ctx, plen + sizeof ".tmpXXXXXX");
  if (!tmp) return NERVE_ENOMEM;
  memcpy(tmp, path, plen);
  memcpy(tmp + plen, ".tmpXXXXXX", sizeof ".tmpXXXXXX");
  nerve_status s = write_file(tmp, path, bytes, len);
  int err = errno;
  nerve_free(ctx, tmp);
  errno = err;
  return s;
}

nerve_status nerve_net_save(const nerve_net *net, const char *path) {
  if (!net || !path || !*path) return NERVE_EARG;
  void *bytes;
  size_t len;
  nerve_status s = nerve_net_serialize(net, &bytes, &len);
  if (s) return s;
  s = nerve_file_write(net->ctx, path, bytes, len);
  int err = errno;
  nerve_free(net->ctx, bytes);
  errno = err;
  return s;
}

static nerve_status read_file(nerve_ctx *ctx, FILE *f, unsigned char **out,
                              size_t *len) {
  struct stat st;
  if (fstat(fileno(f), &st) != 0) return NERVE_EIO;
  if (S_ISDIR(st.st_mode)) {
    errno = EISDIR;
    return NERVE_EIO;
  }
  if (st.st_size < 0 || (unsigned long long)st.st_size > MAX_FILE)
    return NERVE_ELIMIT;
  size_t n = (size_t)st.st_size;
  /* The head first: a foreign file or another format version is refused
  ** before its size is allocated. */
  unsigned char head[20];
  size_t got = fread(head, 1, sizeof head < n ? sizeof head : n, f);
  nerve_net *none = NULL;
  nerve_status s = nerve_net_deserialize(ctx, head, got, &none);
  nerve_net_free(none); /* only a 0-layer model fits in a head: none */
  if (s == NERVE_EFORMAT || s == NERVE_EVERSION) return s;
  unsigned char *p = nerve_malloc(ctx, n);
  if (!p) return NERVE_ENOMEM;
  memcpy(p, head, got);
  if (got == sizeof head && n > got) got += fread(p + got, 1, n - got, f);
  /* a file that grew meanwhile is read as it was when measured; one that
  ** shrank is simply shorter (the format then says ETRUNC) */
  if (got < n && ferror(f)) {
    int err = errno;
    nerve_free(ctx, p);
    errno = err ? err : EIO;
    return NERVE_EIO;
  }
  *out = p;
  *len = got;
  return NERVE_OK;
}

nerve_status nerve_net_load(nerve_ctx *ctx, const char *path,
                            nerve_net **out) {
  if (!ctx || !path || !out) return NERVE_EARG;
  FILE *f = fopen(path, "rb");
  if (!f) return NERVE_EIO;
  unsigned char *p;
  size_t len;
  nerve_status s = read_file(ctx, f, &p, &len);
  int err = errno;
  fclose(f);
  errno = err;
  if (s) return s;
  s = nerve_net_deserialize(ctx, p, len, out);
  nerve_free(ctx, p);
  return s;
}
