/*
** file.c - model files: an atomic save (temporary file in the same folder,
** synced, renamed over the target) and a bounded load.
**
** A save through a symbolic link replaces the file the link points to
** (the link stays), and a path that names anything but a regular file
** (a directory, device, FIFO or socket) is refused: renaming over it
** would turn a device into a regular file. The temporary file is
** <target>.tmpXXXXXX, locked (flock) while it is written; a save removes
** the unlocked ones a killed save of the same target left behind.
*/
#define _DEFAULT_SOURCE /* flock, readlink, lstat */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* The largest file a valid model can be. */
#define MAX_FILE \
  (20 + 16 * (size_t)NERVE_MAX_LAYERS + 4 * NERVE_MAX_PARAMS + 4)

enum { PATHMAX = 4096, HOPS = 40 };
static const char TMP[] = ".tmpXXXXXX";

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

/* The folder of path into dir (PATHMAX bytes): "." when it has none. */
static void folder(const char *path, char *dir) {
  const char *slash = strrchr(path, '/');
  if (!slash) strcpy(dir, ".");
  else if (slash == path) strcpy(dir, "/");
  else {
    size_t n = (size_t)(slash - path);
    memcpy(dir, path, n);
    dir[n] = '\0';
  }
}

/* Makes the rename itself durable; a failure here loses nothing. */
static void sync_dir(const char *path) {
  char dir[PATHMAX];
  folder(path, dir);
  int fd = open(dir, O_RDONLY);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

/* Where the chain of symbolic links from path ends, into out (PATHMAX
** bytes): the file a save writes. -1 with errno: ELOOP, ENAMETOOLONG,
** EISDIR for a directory, EINVAL for a device, FIFO or socket. */
static int target_of(const char *path, char *out) {
  if (strlen(path) >= PATHMAX) return errno = ENAMETOOLONG, -1;
  strcpy(out, path);
  for (int hop = 0;; hop++) {
    struct stat st;
    if (lstat(out, &st) != 0) return errno == ENOENT ? 0 : -1;
    if (S_ISREG(st.st_mode)) return 0;
    if (!S_ISLNK(st.st_mode))
      return errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL, -1;
    if (hop == HOPS) return errno = ELOOP, -1;
    char link[PATHMAX], dir[PATHMAX];
    ssize_t k = readlink(out, link, sizeof link - 1);
    if (k < 0) return -1;
    link[k] = '\0';
    if (link[0] == '/') {
      strcpy(out, link);
      continue;
    }
    folder(out, dir);
    size_t n = strlen(dir);
    if (n + 1 + (size_t)k >= PATHMAX) return errno = ENAMETOOLONG, -1;
    memcpy(out, dir, n);
    out[n] = '/';
    memcpy(out + n + 1, link, (size_t)k + 1);
  }
}

/* 1 when name is base followed by TMP's pattern. */
static int is_leftover(const char *name, const char *base) {
  size_t n = strlen(base), t = sizeof TMP - 1;
  return strncmp(name, base, n) == 0 && strlen(name) == n + t &&
         strncmp(name + n, TMP, 4) == 0;
}

/* Removes the temporary files of target that no save holds locked: a save
** killed while writing leaves one, and nothing else would remove it. The
** file removed is the one locked (same inode), never a newer one. */
static void remove_leftovers(const char *target) {
  char dir[PATHMAX], path[PATHMAX];
  folder(target, dir);
  const char *slash = strrchr(target, '/');
  const char *base = slash ? slash + 1 : target;
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (!is_leftover(e->d_name, base)) continue;
    int w = snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (w < 0 || (size_t)w >= sizeof path) continue;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) continue;
    struct stat a, b;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &a) == 0 &&
        S_ISREG(a.st_mode) && lstat(path, &b) == 0 && a.st_ino == b.st_ino &&
        a.st_dev == b.st_dev)
      unlink(path);
    close(fd);
  }
  closedir(d);
}

/* A new temporary file for target, locked; its name in tmp. A remover
** that took the lock first may have unlinked it: then another one. */
static int open_tmp(char *tmp, const char *target) {
  for (int tries = 0; tries < 8; tries++) {
    size_t n = strlen(target); /* < PATHMAX (target_of) */
    memcpy(tmp, target, n);
    memcpy(tmp + n, TMP, sizeof TMP);
    int fd = mkstemp(tmp);
    if (fd < 0) return -1;
    struct stat a, b;
    if (flock(fd, LOCK_EX) == 0 && fstat(fd, &a) == 0 &&
        stat(tmp, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
      return fd;
    close(fd);
  }
  errno = EAGAIN;
  return -1;
}

static nerve_status write_file(char *tmp, const char *target,
                               const unsigned char *p, size_t n) {
  remove_leftovers(target);
  int fd = open_tmp(tmp, target);
  if (fd < 0) return NERVE_EIO;
  /* mkstemp makes 0600; a model file is an ordinary readable file (some
  ** file systems refuse modes: that is no reason to fail the save) */
  (void)fchmod(fd, 0644);
  int bad = write_all(fd, p, n) != 0 || fsync(fd) != 0;
  int err = errno;
  if (!bad && rename(tmp, target) != 0) {
    bad = 1;
    err = errno;
  }
  if (bad) unlink(tmp);
  /* closed last: the lock keeps removers off until the rename */
  if (close(fd) != 0 && !bad) {
    bad = 1;
    err = errno;
  }
  if (bad) {
    errno = err;
    return NERVE_EIO;
  }
  sync_dir(target);
  return NERVE_OK;
}

nerve_status nerve_file_write(nerve_ctx *ctx, const char *path,
                              const void *bytes, size_t len) {
  if (!ctx || !path || !*path || (!bytes && len)) return NERVE_EARG;
  char *target = nerve_malloc(ctx, 2 * PATHMAX + sizeof TMP);
  if (!target) return NERVE_ENOMEM;
  char *tmp = target + PATHMAX;
  nerve_status s = target_of(path, target) != 0
                       ? NERVE_EIO
                       : write_file(tmp, target, bytes, len);
  int err = errno;
  nerve_free(ctx, target);
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
