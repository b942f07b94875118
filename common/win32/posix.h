/*
 * posix.h - the POSIX calls of the tree, on Windows (see ../platform.h).
 *
 * The Windows build includes this file first in every source file
 * (-include). The calls that take a path or read the environment are
 * redirected to wrappers of common/win32/platform.c that convert UTF-8 to
 * the wide Windows APIs, so that "C:\Users\Hélène" works; the narrow C
 * runtime would go through the ANSI code page and lose the accents. Files
 * are opened in binary mode, as on POSIX.
 */
#ifndef RELAIS_WIN32_POSIX_H
#define RELAIS_WIN32_POSIX_H

/* localtime_r and gmtime_r from mingw-w64's <time.h>. */
#define _POSIX_THREAD_SAFE_FUNCTIONS 200112L

#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#ifndef O_CLOEXEC
#define O_CLOEXEC _O_NOINHERIT
#endif

int win32_open(const char *path, int flags, ...);
FILE *win32_fopen(const char *path, const char *mode);
int win32_stat(const char *path, struct stat *st);
int win32_mkdir(const char *path, int mode);
int win32_access(const char *path, int mode);
int win32_rename(const char *from, const char *to);
int win32_unlink(const char *path);
char *win32_getenv(const char *name);
int win32_setenv(const char *name, const char *value, int overwrite);
int win32_mkstemp(char *tmpl);
int win32_fsync(int fd);
long long win32_pwrite(int fd, const void *p, size_t n, long long off);
void explicit_bzero(void *p, size_t n);
char *strndup(const char *s, size_t n);
/* strptime knows %Y %m %d %H %M %S and literal characters. */
char *strptime(const char *s, const char *fmt, struct tm *tm);
time_t timegm(struct tm *tm);
void *memmem(const void *hay, size_t haylen, const void *needle, size_t nlen);

#define open(...) win32_open(__VA_ARGS__)
#define fopen(path, mode) win32_fopen(path, mode)
#define stat(path, st) win32_stat(path, st)
#define mkdir(path, mode) win32_mkdir(path, mode)
#define access(path, mode) win32_access(path, mode)
#define rename(from, to) win32_rename(from, to)
#define unlink(path) win32_unlink(path)
#define remove(path) win32_unlink(path)
#define getenv(name) win32_getenv(name)
#define setenv(name, value, overwrite) win32_setenv(name, value, overwrite)
#define mkstemp(tmpl) win32_mkstemp(tmpl)
#define fsync(fd) win32_fsync(fd)
#define pwrite(fd, p, n, off) win32_pwrite(fd, p, n, (long long)(off))
#define mkostemp(tmpl, flags) ((void)(flags), win32_mkstemp(tmpl))
/* No mode bits beyond read-only: a file is as private as its folder's ACL. */
#define fchmod(fd, mode) ((void)(fd), (void)(mode), 0)

#endif
