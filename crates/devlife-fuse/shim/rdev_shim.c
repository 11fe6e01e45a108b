/*
 * devlife rdev shim: an LD_PRELOAD library that gives devlife's FUSE device
 * files the identity of character devices.
 *
 * A FUSE file is a regular file with st_rdev 0:0, but v4l-utils identify a
 * node by its device numbers (/sys/dev/char/M:m, media-ctl's and
 * v4l2-compliance's rdev checks). devlife-fuse puts the numbers of each node
 * in the extended attribute `user.devlife.rdev` ("M:m"). Every stat-family
 * call below calls the real one, and when the result is a regular file with
 * that attribute, reports S_IFCHR (permission bits kept) and that st_rdev.
 *
 * Only dynamically linked programs that reach these symbols through the PLT
 * are affected; see docs/fuse.md ("Node identity") for what this does not
 * cover.
 */
#define _GNU_SOURCE
/* x86_64's *64 variants take the same `struct stat`; hide glibc's
 * prototypes (declared with `struct stat64`) so that one definition serves
 * both names. */
#define stat64 devlife_hidden_stat64
#define lstat64 devlife_hidden_lstat64
#define fstat64 devlife_hidden_fstat64
#define fstatat64 devlife_hidden_fstatat64
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>
#undef stat64
#undef lstat64
#undef fstat64
#undef fstatat64

#define ATTR "user.devlife.rdev"

/* Parses "M:m"; returns 0 and sets *dev on success. */
static int parse_rdev(const char *buf, ssize_t n, dev_t *dev)
{
	char tmp[32];
	unsigned int ma, mi;
	char extra;

	if (n <= 0 || n >= (ssize_t)sizeof(tmp))
		return -1;
	memcpy(tmp, buf, (size_t)n);
	tmp[n] = 0;
	if (sscanf(tmp, "%u:%u%c", &ma, &mi, &extra) != 2)
		return -1;
	*dev = makedev(ma, mi);
	return 0;
}

/* Looks the attribute up: by fd when path is NULL, else by path. */
static int lookup_rdev(int fd, const char *path, int nofollow, dev_t *dev)
{
	char buf[32];
	ssize_t n;

	if (path == NULL)
		n = fgetxattr(fd, ATTR, buf, sizeof(buf));
	else if (nofollow)
		n = lgetxattr(path, ATTR, buf, sizeof(buf));
	else
		n = getxattr(path, ATTR, buf, sizeof(buf));
	return parse_rdev(buf, n, dev);
}

/* The attribute of `path` relative to `dirfd` (fstatat semantics). */
static int lookup_rdev_at(int dirfd, const char *path, int flags, dev_t *dev)
{
	char full[4096];

	if ((flags & AT_EMPTY_PATH) && path != NULL && path[0] == 0) {
		if (dirfd == AT_FDCWD)
			return lookup_rdev(0, ".", 0, dev);
		return lookup_rdev(dirfd, NULL, 0, dev);
	}
	if (path == NULL)
		return -1;
	if (path[0] == '/' || dirfd == AT_FDCWD)
		return lookup_rdev(0, path, flags & AT_SYMLINK_NOFOLLOW, dev);
	if (snprintf(full, sizeof(full), "/proc/self/fd/%d/%s", dirfd, path) >=
	    (int)sizeof(full))
		return -1;
	return lookup_rdev(0, full, flags & AT_SYMLINK_NOFOLLOW, dev);
}

static void fix(struct stat *st, dev_t dev)
{
	st->st_mode = (st->st_mode & 07777) | S_IFCHR;
	st->st_rdev = dev;
	st->st_size = 0;
}

#define REAL(name, type) \
	static type real_##name; \
	if (!real_##name) \
		real_##name = (type)dlsym(RTLD_NEXT, #name); \
	if (!real_##name) \
		return -1;

typedef int (*stat_fn)(const char *, struct stat *);
typedef int (*fstat_fn)(int, struct stat *);
typedef int (*fstatat_fn)(int, const char *, struct stat *, int);
typedef int (*xstat_fn)(int, const char *, struct stat *);
typedef int (*fxstat_fn)(int, int, struct stat *);
typedef int (*fxstatat_fn)(int, int, const char *, struct stat *, int);
typedef int (*statx_fn)(int, const char *, int, unsigned int, struct statx *);

#define PATH_STAT(name, nofollow) \
	int name(const char *path, struct stat *st) \
	{ \
		dev_t dev; \
		REAL(name, stat_fn); \
		int r = real_##name(path, st); \
		if (r == 0 && S_ISREG(st->st_mode) && \
		    lookup_rdev(0, path, nofollow, &dev) == 0) \
			fix(st, dev); \
		return r; \
	}

PATH_STAT(stat, 0)
PATH_STAT(stat64, 0)
PATH_STAT(lstat, 1)
PATH_STAT(lstat64, 1)

#define FD_STAT(name) \
	int name(int fd, struct stat *st) \
	{ \
		dev_t dev; \
		REAL(name, fstat_fn); \
		int r = real_##name(fd, st); \
		if (r == 0 && S_ISREG(st->st_mode) && \
		    lookup_rdev(fd, NULL, 0, &dev) == 0) \
			fix(st, dev); \
		return r; \
	}

FD_STAT(fstat)
FD_STAT(fstat64)

#define AT_STAT(name) \
	int name(int dirfd, const char *path, struct stat *st, int flags) \
	{ \
		dev_t dev; \
		REAL(name, fstatat_fn); \
		int r = real_##name(dirfd, path, st, flags); \
		if (r == 0 && S_ISREG(st->st_mode) && \
		    lookup_rdev_at(dirfd, path, flags, &dev) == 0) \
			fix(st, dev); \
		return r; \
	}

AT_STAT(fstatat)
AT_STAT(fstatat64)

/* The versioned entry points of glibc < 2.33 (still used by older binaries). */
#define XSTAT(name, nofollow) \
	int name(int ver, const char *path, struct stat *st) \
	{ \
		dev_t dev; \
		REAL(name, xstat_fn); \
		int r = real_##name(ver, path, st); \
		if (r == 0 && S_ISREG(st->st_mode) && \
		    lookup_rdev(0, path, nofollow, &dev) == 0) \
			fix(st, dev); \
		return r; \
	}

XSTAT(__xstat, 0)
XSTAT(__xstat64, 0)
XSTAT(__lxstat, 1)
XSTAT(__lxstat64, 1)

#define FXSTAT(name) \
	int name(int ver, int fd, struct stat *st) \
	{ \
		dev_t dev; \
		REAL(name, fxstat_fn); \
		int r = real_##name(ver, fd, st); \
		if (r == 0 && S_ISREG(st->st_mode) && \
		    lookup_rdev(fd, NULL, 0, &dev) == 0) \
			fix(st, dev); \
		return r; \
	}

FXSTAT(__fxstat)
FXSTAT(__fxstat64)

#define FXSTATAT(name) \
	int name(int ver, int dirfd, const char *path, struct stat *st, int flags) \
	{ \
		dev_t dev; \
		REAL(name, fxstatat_fn); \
		int r = real_##name(ver, dirfd, path, st, flags); \
		if (r == 0 && S_ISREG(st->st_mode) && \
		    lookup_rdev_at(dirfd, path, flags, &dev) == 0) \
			fix(st, dev); \
		return r; \
	}

FXSTATAT(__fxstatat)
FXSTATAT(__fxstatat64)

int statx(int dirfd, const char *path, int flags, unsigned int mask,
	  struct statx *stx)
{
	dev_t dev;
	REAL(statx, statx_fn);
	int r = real_statx(dirfd, path, flags, mask, stx);
	if (r == 0 && (stx->stx_mask & STATX_TYPE) && S_ISREG(stx->stx_mode) &&
	    lookup_rdev_at(dirfd, path, flags, &dev) == 0) {
		stx->stx_mode = (stx->stx_mode & 07777) | S_IFCHR;
		stx->stx_rdev_major = major(dev);
		stx->stx_rdev_minor = minor(dev);
		stx->stx_size = 0;
	}
	return r;
}
