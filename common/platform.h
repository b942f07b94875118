/*
 * platform.h - what differs between the systems the client runs on.
 *
 * The rest of the tree is written once, against POSIX and these functions.
 * common/platform.c implements them on Linux; common/win32/platform.c on
 * Windows, where common/win32/posix.h (included first in every file of the
 * Windows build) also turns the POSIX calls that take a path (open, fopen,
 * stat, mkdir, rename, unlink, getenv...) into their wide, UTF-8 versions.
 */
#ifndef RELAIS_PLATFORM_H
#define RELAIS_PLATFORM_H

#include <stddef.h>
#include "relais.h"

/*
 * Prepares the process: on Windows, replaces *argv by the command line in
 * UTF-8 (from its wide form, so that accents survive) and sets the console
 * to UTF-8. Does nothing on Linux. Call first in main(); the new argv lives
 * until the process ends. Returns 0 or RELAIS_ENOMEM.
 */
int platform_init(int *argc, char ***argv) RELAIS_WUR;

/* Fills p with n bytes from the system's random generator: 0 or RELAIS_EIO. */
int platform_random(void *p, size_t n) RELAIS_WUR;

/* SHA-256 of the n bytes at p into out. */
void platform_sha256(const void *p, size_t n, unsigned char out[32]);

/*
 * The replica's default directory: $HOME/.relais on Linux, %APPDATA%\Relais
 * on Windows. Returns a malloc'd UTF-8 path the caller frees, or NULL when
 * the system does not say where the person's files go.
 */
char *platform_default_home(void);

/*
 * Tries to take the exclusive lock of the open file fd without waiting.
 * Returns 0 when taken, RELAIS_EBUSY when another process holds it, or
 * RELAIS_EIO (errno set). Closing fd releases it.
 */
int platform_try_lock(int fd) RELAIS_WUR;
/* Releases the lock platform_try_lock() took on fd, fd staying open. */
void platform_unlock(int fd);

/* Opens url in the person's default browser without waiting for it: 0, or
 * RELAIS_EIO when no browser could be started. */
int platform_open_url(const char *url) RELAIS_WUR;

/*
 * Reads one line from the terminal fd without echoing it, after writing
 * prompt on stderr. Returns 0 with out NUL-terminated (truncated to
 * outlen - 1 bytes), or RELAIS_EIO (out wiped) when fd is not a terminal.
 */
int platform_read_hidden_line(int fd, const char *prompt, char *out, size_t outlen) RELAIS_WUR;

/*
 * Raises the soft limit of open files to the hard one where the system has
 * such limits; *soft and *hard receive the limits now in force (ULONG_MAX:
 * none). Returns 0 or RELAIS_EIO.
 */
int platform_raise_nofile(unsigned long *soft, unsigned long *hard) RELAIS_WUR;

#endif
