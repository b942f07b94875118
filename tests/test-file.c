/*
 * Tests of common/file.c: the target holds the old content or the new one,
 * never a mix; the file and then its folder are fsynced; a failure leaves
 * the target as it was and no temporary file behind.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "../common/file.h"
#include "test.h"

/* fsync, seen from here: every call of the test binary comes through, the
 * file tests record which descriptor it was (a folder or a file, which one)
 * and whether the target existed then. */
static struct {
	int on, n;
	struct {
		int dir;
		ino_t ino;
		int target_there;
	} call[8];
	const char *target;
} seen;

int fsync(int fd)
{
	static int (*real)(int);
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "fsync");
	if (seen.on && seen.n < 8) {
		struct stat st;
		if (fstat(fd, &st) == 0) {
			seen.call[seen.n].dir = S_ISDIR(st.st_mode);
			seen.call[seen.n].ino = st.st_ino;
			seen.call[seen.n].target_there = access(seen.target, F_OK) == 0;
			seen.n++;
		}
	}
	return real(fd);
}

static char *tmp_dir(void)
{
	char *d = strdup("/tmp/relais-test-file-XXXXXX");
	return d && mkdtemp(d) ? d : NULL;
}

static void rm_dir(void *arg)
{
	char *d = arg, path[4200];
	DIR *dir = opendir(d);
	struct dirent *e;
	while (dir && (e = readdir(dir)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(path, sizeof(path), "%s/%s", d, e->d_name);
			if (unlink(path))
				rmdir(path);
		}
	if (dir)
		closedir(dir);
	rmdir(d);
	free(d);
}

static int entries(const char *d)
{
	DIR *dir = opendir(d);
	struct dirent *e;
	int n = 0;
	while (dir && (e = readdir(dir)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	if (dir)
		closedir(dir);
	return n;
}

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *p = f ? malloc(1 << 20) : NULL;
	*n = p ? fread(p, 1, 1 << 20, f) : 0;
	if (f)
		fclose(f);
	return p;
}

TEST(file_replace_syncs_file_then_folder)
{
	char *d = tmp_dir(), target[4200];
	struct stat st, dst;
	size_t n;
	CHECK(d);
	test_defer(rm_dir, d);
	snprintf(target, sizeof(target), "%s/port", d);
	CHECK_OK(file_replace(target, "old\n", 4, 0644));
	seen.target = target;
	seen.n = 0;
	seen.on = 1;
	int rc = file_replace(target, "8700\n", 5, 0640);
	seen.on = 0;
	CHECK_OK(rc);
	char *p = slurp(target, &n);
	CHECK(p);
	CHECK_INT(n, 5);
	CHECK(!memcmp(p, "8700\n", 5));
	free(p);
	CHECK_OK(stat(target, &st));
	CHECK_INT(st.st_mode & 0777, 0640);
	CHECK_OK(stat(d, &dst));
	/* The new file is fsynced before the rename, the folder after it. */
	CHECK_INT(seen.n, 2);
	CHECK_INT(seen.call[0].dir, 0);
	CHECK_INT(seen.call[0].ino, st.st_ino);
	CHECK_INT(seen.call[1].dir, 1);
	CHECK_INT(seen.call[1].ino, dst.st_ino);
	CHECK_INT(seen.call[1].target_there, 1);
	CHECK_INT(entries(d), 1);
}

/* A writer replaces the file over and over with two contents of different
 * sizes; a reader never sees anything else. */
TEST(file_replace_old_or_new)
{
	char *d = tmp_dir(), target[4200];
	static char a[200000], b[3000];
	CHECK(d);
	test_defer(rm_dir, d);
	memset(a, 'a', sizeof(a));
	memset(b, 'b', sizeof(b));
	snprintf(target, sizeof(target), "%s/export.csv", d);
	CHECK_OK(file_replace(target, a, sizeof(a), 0600));
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		for (int i = 0;; i++)
			if (file_replace(target, i % 2 ? a : b, i % 2 ? sizeof(a) : sizeof(b), 0600))
				_exit(1);
	}
	int bad = -1;
	for (int i = 0; i < 300 && bad < 0; i++) {
		size_t n;
		char *p = slurp(target, &n);
		if (!p || !((n == sizeof(a) && !memcmp(p, a, n)) || (n == sizeof(b) && !memcmp(p, b, n))))
			bad = i;
		free(p);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	CHECK_INT(bad, -1);
}

TEST(file_tmp_abort_and_failure_keep_the_old_file)
{
	char *d = tmp_dir(), target[4200], sub[4200];
	struct file_tmp t = FILE_TMP_INIT;
	size_t n;
	CHECK(d);
	test_defer(rm_dir, d);
	snprintf(target, sizeof(target), "%s/synthese.html", d);
	CHECK_OK(file_replace(target, "old", 3, 0600));
	/* Given up halfway: nothing changes, nothing is left. */
	CHECK_OK(file_tmp_open(&t, target, 0600));
	CHECK(t.path && !strncmp(t.path, target, strlen(target)));
	fputs("half", t.f);
	file_tmp_abort(&t);
	CHECK(!t.path);
	file_tmp_abort(&t);
	char *p = slurp(target, &n);
	CHECK(p && n == 3 && !memcmp(p, "old", 3));
	free(p);
	CHECK_INT(entries(d), 1);
	/* A rename that fails (the target is a non-empty folder): the same. */
	snprintf(sub, sizeof(sub), "%s/dossier", d);
	CHECK_OK(mkdir(sub, 0700));
	snprintf(target, sizeof(target), "%s/dossier/x", d);
	CHECK_OK(file_replace(target, "x", 1, 0600));
	CHECK_INT(file_replace(sub, "new", 3, 0600), RELAIS_EIO);
	CHECK_INT(entries(d), 2);
	CHECK_INT(entries(sub), 1);
	/* No folder: the temporary file cannot be made. */
	snprintf(target, sizeof(target), "%s/absent/f", d);
	CHECK_INT(file_replace(target, "new", 3, 0600), RELAIS_EIO);
	CHECK_INT(errno, ENOENT);
	unlink(target);
	snprintf(target, sizeof(target), "%s/dossier/x", d);
	unlink(target);
}
