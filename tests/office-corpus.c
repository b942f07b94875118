/*
 * office-corpus.c - the once-per-run office corpus (see office-corpus.h).
 *
 * Tests run in forked children, so the corpus lives on disk under a name
 * made of the runner's pid: the parent of every test.
 */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "harness.h"
#include "office-corpus.h"

static void corpus_dir(pid_t runner, char *out, size_t outlen)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(out, outlen, "%s/relais-office-%d", tmp && *tmp ? tmp : "/tmp", (int)runner);
}

const char *office_corpus(void)
{
	static char dir[512];
	corpus_dir(getppid(), dir, sizeof(dir));
	/* The last file the script writes says a run finished. */
	if (!access(h_strf("%s/office-big.eml", dir), R_OK))
		return dir;
	if (access("/usr/bin/soffice", X_OK)) {
		fprintf(stderr, "  soffice missing: sh tools/deps.sh test\n");
		return NULL;
	}
	char *argv[] = { (char *)"/usr/bin/env", (char *)"python3", (char *)"tests/mail/make-office.py",
			 dir, NULL };
	struct h_out *o = h_runv(argv, 280000);
	if (o->status) {
		fprintf(stderr, "  %s: status %d\n%s", o->cmd, o->status, o->err);
		return NULL;
	}
	return dir;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) ? 0 : 0;
}

void office_corpus_remove(void)
{
	char dir[512];
	corpus_dir(getpid(), dir, sizeof(dir));
	if (!access(dir, F_OK) && !getenv("RELAIS_TEST_KEEP"))
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
