#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "file.h"

/* fsyncs what path names, opened with flags; errno kept for the caller. */
static int sync_path(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return RELAIS_EIO;
	int rc = fsync(fd) ? RELAIS_EIO : 0;
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

/* Windows flushes a file only through a handle open for writing. */
#ifdef _WIN32
#define FLUSH_OPEN O_WRONLY
#else
#define FLUSH_OPEN O_RDONLY
#endif

int file_sync(const char *path)
{
	return sync_path(path, FLUSH_OPEN);
}

int file_sync_dir(const char *path)
{
#ifndef O_DIRECTORY
	/* Windows: no folder handle to flush; its rename (MoveFileEx with
	 * MOVEFILE_WRITE_THROUGH) returns once the rename is on disk. */
	(void)path;
	return 0;
#else
	char *copy = strdup(path);
	if (!copy)
		return RELAIS_ENOMEM;
	int rc = sync_path(dirname(copy), O_RDONLY | O_DIRECTORY);
	int e = errno;
	free(copy);
	errno = e;
	return rc;
#endif
}

static void release(struct file_tmp *t)
{
	free(t->path);
	free(t->target);
	t->path = NULL;
	t->target = NULL;
	t->f = NULL;
}

int file_tmp_open(struct file_tmp *t, const char *target, mode_t mode)
{
	size_t n = strlen(target) + sizeof(".XXXXXX");
	int fd;
	t->f = NULL;
	t->path = malloc(n);
	t->target = strdup(target);
	if (!t->path || !t->target) {
		release(t);
		return RELAIS_ENOMEM;
	}
	snprintf(t->path, n, "%s.XXXXXX", target);
	if ((fd = mkostemp(t->path, O_CLOEXEC)) < 0) {
		int e = errno;
		release(t);
		errno = e;
		return RELAIS_EIO;
	}
	if (fchmod(fd, mode) || !(t->f = fdopen(fd, "wb"))) {
		int e = errno;
		close(fd);
		unlink(t->path);
		release(t);
		errno = e;
		return RELAIS_EIO;
	}
	return 0;
}

int file_tmp_commit(struct file_tmp *t)
{
	int bad = 0, e = 0;
	if (t->f) {
		bad = fflush(t->f) != 0 || ferror(t->f);
		bad |= fclose(t->f) != 0;
		t->f = NULL;
		if (bad)
			e = errno ? errno : EIO;
	}
	/* By path: a library may have rewritten the file under its name. */
	if (!bad && (file_sync(t->path) || rename(t->path, t->target))) {
		bad = 1;
		e = errno;
	}
	if (bad) {
		unlink(t->path);
		release(t);
		errno = e;
		return RELAIS_EIO;
	}
	int rc = file_sync_dir(t->target);
	e = errno;
	release(t);
	errno = e;
	return rc;
}

void file_tmp_abort(struct file_tmp *t)
{
	if (!t)
		return;
	if (t->f)
		fclose(t->f);
	if (t->path)
		unlink(t->path);
	release(t);
}

int file_replace(const char *target, const void *p, size_t n, mode_t mode)
{
	struct file_tmp t = FILE_TMP_INIT;
	int rc = file_tmp_open(&t, target, mode);
	if (rc)
		return rc;
	if (n && fwrite(p, 1, n, t.f) != n) {
		int e = errno;
		file_tmp_abort(&t);
		errno = e;
		return RELAIS_EIO;
	}
	return file_tmp_commit(&t);
}
