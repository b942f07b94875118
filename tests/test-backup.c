/*
 * test-backup.c - `relaisd backup` and `relaisd restore` with real
 * processes: a backup taken while clients sync in a loop holds every row
 * acknowledged before it began, restores into a fresh directory that passes
 * integrity_check and serves it; restore refuses a live directory, an
 * existing store without --force and a file that is not a store.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>
#include "harness.h"
#include "test.h"

#define CLIENTS 2
#define MAX_ACKED 4096

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static pid_t kids[CLIENTS];

static void kill_kids(void *arg)
{
	(void)arg;
	for (int i = 0; i < CLIENTS; i++)
		if (kids[i] > 0) {
			kill(kids[i], SIGKILL);
			waitpid(kids[i], NULL, 0);
			kids[i] = 0;
		}
}

/*
 * One client's loop, in a child process: create a structure, sync; after
 * each sync that exits 0, append "ID MS" to acklog for every row created
 * since the last good sync (MS: when sync returned, so the server had
 * committed them before). Stops when stopfile exists.
 */
static void client_loop(const char *home, const char *acklog, const char *stopfile, int who)
{
	const char *pending[64];
	size_t np = 0;
	int fd = open(acklog, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		_exit(2);
	for (int n = 0; access(stopfile, F_OK) != 0; n++) {
		if (np < sizeof(pending) / sizeof(pending[0])) {
			const char *id = h_relais_ok(home, "structure", "add", "--nom",
						     h_strf("Structure %d-%d", who, n), "--commune",
						     "Le Puy-en-Velay", (char *)NULL);
			if (!id)
				_exit(3);
			pending[np++] = id;
		}
		struct h_out *o = h_relais(home, "sync", (char *)NULL);
		if (o->status != 0)
			continue;
		int64_t t = now_ms();
		for (size_t i = 0; i < np; i++) {
			const char *line = h_strf("%s %lld\n", pending[i], (long long)t);
			if (write(fd, line, strlen(line)) != (ssize_t)strlen(line))
				_exit(4);
		}
		np = 0;
	}
	close(fd);
	_exit(0);
}

static int count_lines(const char *path)
{
	const char *s = h_read_file(path, NULL);
	int n = 0;
	for (; s && *s; s++)
		n += *s == '\n';
	return n;
}

static int integrity_ok(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int ok = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
		 sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
		 sqlite3_step(st) == SQLITE_ROW &&
		 !strcmp((const char *)sqlite3_column_text(st, 0), "ok") &&
		 sqlite3_step(st) == SQLITE_DONE;
	sqlite3_finalize(st);
	sqlite3_close(db);
	return ok;
}

static struct h_out *relaisd(const char *a1, const char *a2, const char *a3, const char *a4,
			     const char *a5, const char *a6)
{
	char *argv[] = { (char *)h_bin("relaisd"), (char *)a1, (char *)a2, (char *)a3, (char *)a4,
			 (char *)a5, (char *)a6, NULL };
	return h_runv(argv, H_TIMEOUT_MS);
}

TEST(backup_under_load_restores_every_acked_row)
{
	struct h_daemon d, r;
	char token[H_TOKEN];
	const char *homes[CLIENTS];
	h_setup();
	CHECK_INT(h_daemon_init(&d, "srv"), 0);
	CHECK_INT(h_daemon_user(&d, "coord", "43", "coordinateur", token), 0);
	CHECK_INT(h_daemon_serve(&d), 0);
	for (int i = 0; i < CLIENTS; i++)
		CHECK_IDX((homes[i] = h_replica(&d, h_strf("c%d", i), token)) != NULL, i);

	const char *acklog = h_path("acked.log"), *stop = h_path("stop");
	test_defer(kill_kids, NULL);
	for (int i = 0; i < CLIENTS; i++) {
		fflush(NULL);
		pid_t pid = fork();
		CHECK_IDX(pid >= 0, i);
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			client_loop(homes[i], acklog, stop, i);
		}
		kids[i] = pid;
	}
	/* Let acknowledged rows pile up, then back up in the middle of it. */
	for (int waited = 0; count_lines(acklog) < 2 * CLIENTS && waited < 20000; waited += 50)
		sleep_ms(50);
	int64_t t0 = now_ms();
	const char *file = h_path("sauvegarde.db");
	struct h_out *b = relaisd("backup", "--data", d.data, "--to", file, NULL);
	CHECK_INT(b->status, 0);
	CHECK(strstr(b->out, "intégrité vérifiée") != NULL);
	/* Clients go on after the backup: those rows need not be in it. */
	int after = count_lines(acklog);
	for (int waited = 0; count_lines(acklog) <= after && waited < 10000; waited += 50)
		sleep_ms(50);
	int fd = open(stop, O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0);
	close(fd);
	for (int i = 0; i < CLIENTS; i++) {
		int st = -1;
		for (int waited = 0; waited < 30000; waited += 20) {
			if (waitpid(kids[i], &st, WNOHANG) == kids[i])
				break;
			st = -1;
			sleep_ms(20);
		}
		CHECK_IDX(WIFEXITED(st) && WEXITSTATUS(st) == 0, i);
		kids[i] = 0;
	}
	struct stat sb;
	CHECK(stat(file, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	CHECK(access(h_strf("%s-wal", file), F_OK) != 0);
	CHECK(integrity_ok(file));

	/* Restore into a fresh directory and serve it. */
	memset(&r, 0, sizeof(r));
	snprintf(r.data, sizeof(r.data), "%s", h_path("restored"));
	snprintf(r.portfile, sizeof(r.portfile), "%s", h_path("restored.port"));
	snprintf(r.log, sizeof(r.log), "%s", h_path("restored.log"));
	struct h_out *o = relaisd("restore", "--from", file, "--data", r.data, NULL);
	CHECK_INT(o->status, 0);
	CHECK(strstr(o->out, "installée") != NULL);
	const char *rdb = h_strf("%s/relais.db", r.data);
	CHECK(stat(r.data, &sb) == 0 && (sb.st_mode & 0777) == 0700);
	CHECK(stat(rdb, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	CHECK(integrity_ok(rdb));
	CHECK_INT(h_daemon_serve(&r), 0);

	/* Every row acknowledged before the backup began is served again,
	 * with the same account (its token restored too). */
	const char *check = h_replica(&r, "check", token);
	CHECK(check != NULL);
	json_t *exp = h_export(check);
	CHECK(exp != NULL);
	char *log = h_read_file(acklog, NULL);
	CHECK(log != NULL);
	int before = 0, total = 0;
	for (char *p = log; *p;) {
		char *nl = strchr(p, '\n');
		CHECK(nl != NULL);
		*nl = 0;
		char id[64];
		long long t;
		CHECK(sscanf(p, "%63s %lld", id, &t) == 2);
		total++;
		if (t < t0) {
			before++;
			CHECK_IDX(h_export_row(exp, "structure", id) != NULL, total);
		}
		p = nl + 1;
	}
	CHECK(before >= CLIENTS);
	CHECK(total > before);
	fprintf(stderr, "  %d rows acknowledged, %d before the backup, all restored\n", total,
		before);

	/* A replica that synced after the backup has a cursor past what the
	 * restored store holds: it is refused, not left to skip changes, and
	 * keeps its data; the replica made after the restore syncs. */
	struct h_out *old = h_relais(homes[0], "sync", "--server", r.url, (char *)NULL);
	CHECK(old->status != 0);
	CHECK(strstr(old->err, "restauré depuis une sauvegarde") != NULL);
	CHECK(h_export(homes[0]) != NULL);
	CHECK_INT(h_sync(check, &r), 0);

	/* Restore refuses: a served directory (even with --force), an existing
	 * store without --force, a file that is not a store. */
	o = relaisd("restore", "--from", file, "--data", r.data, "--force");
	CHECK_INT(o->status, 1);
	CHECK(strstr(o->err, "arrêtez-le") != NULL);
	CHECK_INT(h_daemon_stop(&r), 0);
	o = relaisd("restore", "--from", file, "--data", r.data, NULL);
	CHECK_INT(o->status, 1);
	CHECK(strstr(o->err, "--force") != NULL);
	o = relaisd("restore", "--from", file, "--data", r.data, "--force");
	CHECK_INT(o->status, 0);
	CHECK_INT(h_daemon_stop(&d), 0);
}

TEST(backup_refusals_and_help)
{
	struct h_daemon d;
	h_setup();
	CHECK_INT(h_daemon_init(&d, "srv"), 0);
	static const char *const cmds[] = { "backup", "restore" };
	for (size_t i = 0; i < 2; i++) {
		struct h_out *o = relaisd(cmds[i], "--help", NULL, NULL, NULL, NULL);
		CHECK_INT_IDX(o->status, 0, i);
		/* The French names, read from the words of earlier releases too. */
		static const char *const french[] = { "sauvegarde", "restauration" };
		CHECK_IDX(strstr(o->out, h_strf("Usage : relaisd %s", french[i])) != NULL, i);
		o = relaisd(cmds[i], NULL, NULL, NULL, NULL, NULL);
		CHECK_INT_IDX(o->status, 2, i);
	}
	const char *junk = h_path("junk.db");
	FILE *f = fopen(junk, "w");
	CHECK(f != NULL);
	fputs("SQLite format 3\nnot really\n", f);
	fclose(f);
	const char *other = h_path("other.db");
	sqlite3 *db = NULL;
	CHECK(sqlite3_open(other, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "PRAGMA user_version=1; CREATE TABLE t(x);", NULL, NULL, NULL) ==
	      SQLITE_OK);
	sqlite3_close(db);
	static const struct {
		const char *from, *want;
	} bad[] = {
		{ "junk.db", "endommagé" },
		{ "other.db", "pas une base de relaisd" },
		{ "absent.db", "Impossible de lire" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *dir = h_path(h_strf("new%zu", i));
		struct h_out *o = relaisd("restore", "--from", h_path(bad[i].from), "--data", dir,
					  NULL);
		CHECK_INT_IDX(o->status, 1, i);
		CHECK_IDX(strstr(o->err, bad[i].want) != NULL, i);
		/* Nothing was installed. */
		CHECK_IDX(access(h_strf("%s/relais.db", dir), F_OK) != 0, i);
	}
	/* A backup of a directory without a store, or to a folder that cannot
	 * be made (a file stands in its place), leaves nothing behind. */
	struct h_out *o = relaisd("backup", "--data", h_path("none"), "--to", h_path("x.db"), NULL);
	CHECK_INT(o->status, 1);
	FILE *blk = fopen(h_path("fichier"), "w");
	CHECK(blk != NULL);
	fclose(blk);
	o = relaisd("backup", "--data", d.data, "--to", h_path("fichier/dir/x.db"), NULL);
	CHECK_INT(o->status, 1);
	CHECK(strstr(o->err, "n'est pas un dossier") != NULL);
	CHECK(access(h_path("x.db"), F_OK) != 0);
}
