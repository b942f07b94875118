/*
 * file.h - the one atomic file replacement of the project (prefix file_).
 *
 * A file that others read (an export, a synthesis, a backup, a CA copy, the
 * port file) is written under a temporary name in the target's own folder
 * (a rename does not cross file systems), fsynced, renamed over the target,
 * and the folder is fsynced so that the rename itself survives a crash. A
 * reader, or the disk after a power cut, sees the old file or the new one,
 * never a half-written one.
 */
#ifndef RELAIS_FILE_H
#define RELAIS_FILE_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include "relais.h"

struct file_tmp {
	char *path;   /* the temporary file, "<target>.XXXXXX"; NULL when none */
	char *target;
	FILE *f;      /* open for writing on path ("wb") */
};

#define FILE_TMP_INIT { NULL, NULL, NULL }

/*
 * Creates the temporary file next to target (mkstemp: new, exclusive) with
 * the given mode (0600 for anything private), open as t->f. The caller
 * writes through t->f, or by name through t->path (a library that opens
 * files itself: SQLite, libxlsxwriter), then calls file_tmp_commit() or
 * file_tmp_abort(). Returns 0, RELAIS_ENOMEM, or RELAIS_EIO with errno set.
 */
int file_tmp_open(struct file_tmp *t, const char *target, mode_t mode) RELAIS_WUR;
/*
 * Flushes and closes t->f (when still open), fsyncs the temporary file,
 * renames it over the target and fsyncs the target's folder. Returns 0, or
 * RELAIS_EIO with errno set (the temporary file is then removed and the
 * target left as it was, unless only the folder's fsync failed). Either
 * way t is released.
 */
int file_tmp_commit(struct file_tmp *t) RELAIS_WUR;
/* Closes and removes the temporary file; t is released. Accepts a t that
 * FILE_TMP_INIT set and nothing opened, or one already released. */
void file_tmp_abort(struct file_tmp *t);

/* Replaces target with p[0..n), as above, in one call. Returns 0,
 * RELAIS_ENOMEM or RELAIS_EIO (errno set). */
int file_replace(const char *target, const void *p, size_t n, mode_t mode) RELAIS_WUR;

/* fsyncs the folder that holds path, so that a rename or a creation of
 * path survives a crash. Returns 0 or RELAIS_EIO (errno set). */
int file_sync_dir(const char *path) RELAIS_WUR;
/* fsyncs the file at path (written by someone else, by name).
 * Returns 0 or RELAIS_EIO (errno set). */
int file_sync(const char *path) RELAIS_WUR;

#endif
