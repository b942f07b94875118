/*
 * test-e2e-disk.c - damaged disks and files: a replica whose pages were
 * overwritten, a replica.db emptied by accident, a full disk under the
 * client and under relaisd; and the SQLite codes behind the messages.
 *
 * Damage is done on purpose to files of the test directory; full disks are
 * small tmpfs mounts (root only: elsewhere those two tests say so and only
 * check that they could not mount).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <sqlite3.h>
#include "../common/buf.h"
#include "../common/relais.h"
#include "../common/util.h"
#include "../model/model.h"
#include "../sync/sync.h"
#include "harness.h"
#include "test.h"

static const char *add_structure(const char *home, const char *nom)
{
	return h_relais_ok(home, "structure", "add", "--nom", nom, "--commune", "Tarbes", (char *)NULL);
}

static const char *db_of(const char *home)
{
	return h_strf("%s/replica.db", home);
}

/* SHA-256 of a whole file, or "" when absent. */
static const char *file_sha(const char *path)
{
	size_t n = 0;
	char *p = h_read_file(path, &n);
	char *hex = h_strf("%64s", "");
	if (!p)
		return "";
	util_sha256_hex(p, n, hex);
	return hex;
}

/* The path of the one entry of dir starting with prefix, or NULL (also when
 * there are several). */
static const char *find_entry(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	const char *found = NULL;
	int n = 0;
	while (d && (e = readdir(d)))
		if (!strncmp(e->d_name, prefix, strlen(prefix)) && n++ == 0)
			found = h_strf("%s/%s", dir, e->d_name);
	if (n > 1) {
		fprintf(stderr, "  %d entries %s* in %s\n", n, prefix, dir);
		found = NULL;
	}
	if (d)
		closedir(d);
	return found;
}

/*
 * Overwrites with garbage the root pages of the data tables (structure,
 * promeneur) and of their indexes: pages in the middle of the file, while
 * the sync tables (outbox, metadata) stay readable. Returns the number of
 * pages overwritten, -1 on error.
 */
static int damage_tables(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long pages[64], psize = 0;
	int n = 0;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT rootpage FROM sqlite_master WHERE tbl_name IN "
			       "('structure', 'promeneur') AND rootpage > 1", -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "  %s: %s\n", path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return -1;
	}
	while (sqlite3_step(st) == SQLITE_ROW && n < 64)
		pages[n++] = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		psize = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	/* The last connection checkpoints the WAL into the file and removes it. */
	sqlite3_close(db);
	if (psize <= 0 || n == 0)
		return -1;
	char *junk = malloc((size_t)psize);
	int fd = open(path, O_WRONLY);
	if (!junk || fd < 0) {
		free(junk);
		return -1;
	}
	memset(junk, 0xa5, (size_t)psize);
	for (int i = 0; i < n; i++)
		if (pwrite(fd, junk, (size_t)psize, (off_t)(pages[i] - 1) * psize) != psize)
			n = -1;
	free(junk);
	close(fd);
	return n;
}

static long long pending(const char *home)
{
	json_t *s = h_status(home);
	json_t *v = s ? json_object_get(s, "pending") : NULL;
	return json_is_integer(v) ? json_integer_value(v) : -1;
}

TEST(e2e_disk_damaged_replica_rescued)
{
	struct h_daemon d;
	char ta[H_TOKEN], tb[H_TOKEN], tc[H_TOKEN];

	h_setup();
	CHECK(h_daemon_coords(&d, "srv", ta, tb, tc) == 0);
	CHECK(h_daemon_serve(&d) == 0);
	const char *A = h_replica(&d, "A", ta), *B = h_replica(&d, "B", tb);
	const char *C = h_replica(&d, "C", tc);
	CHECK(A && B && C);

	/* Synced rows on every side, then two edits of A that never left. */
	const char *s1 = add_structure(A, "MJC de Tarbes");
	CHECK(s1 != NULL);
	const char *p1 = h_relais_ok(A, "promeneur", "add", "--prenom", "Léa", "--nom", "Martin",
				     "--email", "lea@example.org", "--structure", s1, (char *)NULL);
	CHECK(p1 != NULL);
	const char *sb = add_structure(B, "Centre social du Lavedan");
	CHECK(sb != NULL);
	CHECK(add_structure(C, "PIJ de Lourdes") && add_structure(C, "MJC de Lourdes"));
	CHECK(h_sync(A, &d) == 0 && h_sync(B, &d) == 0 && h_sync(C, &d) == 0 && h_sync(A, &d) == 0);
	const char *s2 = add_structure(A, "Maison des jeunes de Vic");
	CHECK(s2 != NULL);
	CHECK(h_relais_ok(A, "promeneur", "set", p1, "--telephone", "0601020304", (char *)NULL) != NULL);
	CHECK_INT(pending(A), 2);

	CHECK(damage_tables(db_of(A)) > 0);
	CHECK(damage_tables(db_of(C)) > 0);
	const char *damaged = file_sha(db_of(A));

	/* Commands say in French that the file is damaged and what to run. */
	struct h_out *o = h_relais(A, "promeneur", "list", (char *)NULL);
	CHECK_INT(o->status, 1);
	CHECK(strstr(o->err, "endommagé") && strstr(o->err, "secours") && strstr(o->err, "verifier"));
	CHECK(strstr(o->err, "malformed") == NULL);
	o = h_relais(A, "verifier", (char *)NULL);
	CHECK_INT(o->status, 1);
	CHECK(strstr(o->out, "Le réplica est endommagé") && strstr(o->out, "secours"));
	CHECK(strstr(o->out, "table structure illisible") || strstr(o->out, "table promeneur illisible"));

	/* Without the server, the rescue changes nothing. */
	o = h_relais(A, "secours", "--server", "http://127.0.0.1:9", (char *)NULL);
	CHECK_INT(o->status, 1);
	CHECK(strstr(o->err, "Rien n'a été modifié") && strstr(o->err, "2 modifications en attente"));
	CHECK_STR(file_sha(db_of(A)), damaged);
	CHECK(find_entry(A, "replica.db.endommage-") == NULL);
	CHECK(find_entry(A, "secours") == NULL);

	/* With it: the stored address and token, the server's rows, the two
	 * pending edits applied and queued again, the damaged file aside. */
	o = h_relais(A, "secours", (char *)NULL);
	if (o->status != 0)
		fprintf(stderr, "  %s\n  %s", o->cmd, o->err);
	CHECK_INT(o->status, 0);
	CHECK(strstr(o->out, "remises dans la file : 2"));
	const char *aside = find_entry(A, "replica.db.endommage-");
	CHECK(aside != NULL);
	CHECK_STR(file_sha(aside), damaged);
	const char *saved = find_entry(A, "secours-");
	CHECK(saved != NULL);
	json_t *rescue = h_json(h_read_file(saved, NULL), strlen(h_read_file(saved, NULL)));
	CHECK(rescue != NULL);
	CHECK_INT(json_array_size(json_object_get(rescue, "modifications_en_attente")), 2);
	CHECK(json_object_get(rescue, "jeton") == NULL);
	CHECK(strstr(h_read_file(saved, NULL), ta) == NULL);

	o = h_relais(A, "verifier", (char *)NULL);
	CHECK_INT(o->status, 0);
	CHECK(strstr(o->out, "intact (2 modifications en attente)"));
	CHECK_INT(pending(A), 2);
	json_t *e = h_export(A);
	CHECK(h_export_row(e, "structure", sb) != NULL);      /* from the server */
	CHECK(h_export_row(e, "structure", s2) != NULL);      /* pending insert */
	CHECK_STR(h_row_str(h_export_row(e, "promeneur", p1), "telephone"), "0601020304");

	/* The edits reach the server and another replica. */
	CHECK(h_sync(A, &d) == 0);
	CHECK_INT(pending(A), 0);
	CHECK(h_sync(B, &d) == 0);
	e = h_export(B);
	CHECK(h_export_row(e, "structure", s2) != NULL);
	CHECK_STR(h_row_str(h_export_row(e, "promeneur", p1), "telephone"), "0601020304");

	/* C had nothing pending: its next edit must still be numbered after
	 * the ones the server acknowledged, or the server would skip it. */
	o = h_relais(C, "secours", (char *)NULL);
	CHECK_INT(o->status, 0);
	CHECK(strstr(o->out, "remises dans la file : 0"));
	const char *s3 = add_structure(C, "Espace jeunes de Lourdes");
	CHECK(s3 != NULL);
	const char *s4 = add_structure(A, "Point jeunes de Vic");
	CHECK(s4 != NULL);
	CHECK(h_sync(C, &d) == 0 && h_sync(A, &d) == 0 && h_sync(B, &d) == 0 && h_sync(C, &d) == 0);
	e = h_export(B);
	CHECK(h_export_row(e, "structure", s3) != NULL);
	CHECK(h_export_row(e, "structure", s4) != NULL);
	CHECK_STR(h_export_text(A), h_export_text(B));
	CHECK_STR(h_export_text(C), h_export_text(B));
}

TEST(e2e_disk_emptied_replica)
{
	struct h_daemon d;
	char ta[H_TOKEN];

	h_setup();
	CHECK(h_daemon_init(&d, "srv") == 0);
	CHECK(h_daemon_user(&d, "coord-a", "65", "coordinateur", ta) == 0);
	CHECK(h_daemon_serve(&d) == 0);
	const char *A = h_replica(&d, "A", ta);
	CHECK(A != NULL);
	const char *s1 = add_structure(A, "MJC de Tarbes");
	CHECK(s1 && h_sync(A, &d) == 0);

	/* Case 0: emptied to 0 bytes; case 1: replaced by another database. */
	for (int k = 0; k < 2; k++) {
		const char *path = db_of(A);
		if (k == 0) {
			CHECK_IDX(truncate(path, 0) == 0, k);
		} else {
			sqlite3 *db = NULL;
			CHECK_IDX(unlink(path) == 0, k);
			CHECK_IDX(sqlite3_open(path, &db) == SQLITE_OK, k);
			CHECK_IDX(sqlite3_exec(db, "CREATE TABLE notes(t TEXT)", NULL, NULL, NULL) == 0, k);
			sqlite3_close(db);
			CHECK_IDX(chmod(path, 0600) == 0, k);
		}
		const char *before = file_sha(path);
		struct h_out *o = h_relais(A, "status", (char *)NULL);
		CHECK_INT_IDX(o->status, 1, k);
		CHECK_IDX(strstr(o->err, k == 0 ? "est vide (0 octet)" : "ne contient plus les tables"), k);
		CHECK_IDX(strstr(o->err, "secours --serveur URL --jeton JETON") != NULL, k);
		CHECK_IDX(strstr(o->err, "n'est pas terminée") == NULL, k);
		CHECK_STR_IDX(file_sha(path), before, k);
		o = h_relais(A, "structure", "add", "--nom", "X", "--commune", "Y", (char *)NULL);
		CHECK_INT_IDX(o->status, 1, k);
		CHECK_IDX(strstr(o->err, "secours") != NULL, k);
		CHECK_STR_IDX(file_sha(path), before, k);
		o = h_relais(A, "verifier", (char *)NULL);
		CHECK_INT_IDX(o->status, 1, k);

		/* The token went with the content: secours asks for it. */
		o = h_relais(A, "secours", (char *)NULL);
		CHECK_INT_IDX(o->status, 1, k);
		CHECK_IDX(strstr(o->err, "--serveur URL --jeton JETON") != NULL, k);
		CHECK_STR_IDX(file_sha(path), before, k);
		o = h_relais(A, "secours", "--server", d.url, "--token", ta, (char *)NULL);
		CHECK_INT_IDX(o->status, 0, k);
		CHECK_IDX(strstr(o->out, "perdues") != NULL, k);
		const char *aside = find_entry(A, "replica.db.endommage-");
		CHECK_IDX(aside != NULL, k);
		CHECK_STR_IDX(file_sha(aside), before, k);
		CHECK_IDX(unlink(aside) == 0, k);
		CHECK_IDX(h_export_row(h_export(A), "structure", s1) != NULL, k);
		CHECK_IDX(h_sync(A, &d) == 0, k);
	}
}

TEST(e2e_disk_truncated_replica)
{
	struct h_daemon d;
	char ta[H_TOKEN];

	h_setup();
	CHECK(h_daemon_init(&d, "srv") == 0);
	CHECK(h_daemon_user(&d, "coord-a", "65", "coordinateur", ta) == 0);
	CHECK(h_daemon_serve(&d) == 0);
	const char *A = h_replica(&d, "A", ta);
	CHECK(A != NULL);
	const char *s1 = add_structure(A, "MJC de Tarbes");
	CHECK(s1 && h_sync(A, &d) == 0);
	CHECK(add_structure(A, "Centre social") != NULL);

	/* Only the first page is left: nothing of the replica can be read. */
	CHECK(truncate(db_of(A), 4096) == 0);
	const char *cut = file_sha(db_of(A));
	struct h_out *o = h_relais(A, "status", (char *)NULL);
	CHECK_INT(o->status, 1);
	CHECK(strstr(o->err, "endommagé") && strstr(o->err, "secours"));
	o = h_relais(A, "verifier", (char *)NULL);
	CHECK_INT(o->status, 1);

	/* The token and the pending edit are gone with the pages: secours says
	 * what it needs and leaves everything as it was. */
	o = h_relais(A, "secours", (char *)NULL);
	CHECK_INT(o->status, 1);
	CHECK(strstr(o->err, "--serveur URL --jeton JETON") && strstr(o->err, "--forcer"));
	CHECK(strstr(o->err, "Rien n'a été modifié") != NULL);
	o = h_relais(A, "secours", "--server", d.url, "--token", ta, (char *)NULL);
	CHECK_INT(o->status, 1);
	CHECK(strstr(o->err, "--forcer") && !strstr(o->err, "--jeton JETON"));
	CHECK_STR(file_sha(db_of(A)), cut);
	o = h_relais(A, "secours", "--server", d.url, "--token", ta, "--forcer", (char *)NULL);
	CHECK_INT(o->status, 0);
	const char *aside = find_entry(A, "replica.db.endommage-");
	CHECK(aside != NULL);
	CHECK_STR(file_sha(aside), cut);
	json_t *rescue = h_json(h_read_file(find_entry(A, "secours-"), NULL),
				strlen(h_read_file(find_entry(A, "secours-"), NULL)));
	CHECK(rescue && json_is_false(json_object_get(rescue, "modifications_toutes_lues")));
	CHECK(h_export_row(h_export(A), "structure", s1) != NULL);
	CHECK_INT(pending(A), 0);
	CHECK(h_sync(A, &d) == 0);

	/* A rescue stopped between its two renames: the next one finishes it. */
	const char *tmp = h_strf("%s/secours.tmp", A);
	CHECK(mkdir(tmp, 0700) == 0);
	CHECK(rename(db_of(A), h_strf("%s/replica.db", tmp)) == 0);
	o = h_relais(A, "secours", (char *)NULL);
	CHECK_INT(o->status, 0);
	CHECK(strstr(o->out, "interrompue") != NULL);
	CHECK(access(tmp, F_OK) != 0);
	CHECK(h_export_row(h_export(A), "structure", s1) != NULL);
}

/* A server restored from a backup since the replica last synced may have
 * lost edits it had acknowledged: the rescue does not queue pending edits
 * for it without being told to. */
TEST(e2e_disk_rescue_after_server_restore)
{
	struct h_daemon d;
	char ta[H_TOKEN];

	h_setup();
	CHECK(h_daemon_init(&d, "srv") == 0);
	CHECK(h_daemon_user(&d, "coord-a", "65", "coordinateur", ta) == 0);
	CHECK(h_daemon_serve(&d) == 0);
	const char *A = h_replica(&d, "A", ta);
	CHECK(A != NULL);
	CHECK(add_structure(A, "MJC de Tarbes") && h_sync(A, &d) == 0);
	const char *backup = h_path("srv.backup");
	char *bk[] = { (char *)h_bin("relaisd"), (char *)"backup", (char *)"--data", d.data,
		       (char *)"--to", (char *)backup, NULL };
	CHECK_INT(h_runv(bk, H_TIMEOUT_MS)->status, 0);
	CHECK(add_structure(A, "Centre social") && h_sync(A, &d) == 0);
	CHECK(add_structure(A, "PIJ de Lourdes") != NULL);
	CHECK_INT(h_daemon_stop(&d), 0);
	char *rs[] = { (char *)h_bin("relaisd"), (char *)"restore", (char *)"--from", (char *)backup,
		       (char *)"--data", d.data, (char *)"--force", NULL };
	CHECK_INT(h_runv(rs, H_TIMEOUT_MS)->status, 0);
	CHECK(h_daemon_serve(&d) == 0);
	CHECK(damage_tables(db_of(A)) > 0);
	const char *damaged = file_sha(db_of(A));

	struct h_out *o = h_relais(A, "secours", "--server", d.url, (char *)NULL);
	CHECK_INT(o->status, 1);
	CHECK(strstr(o->err, "restauré") && strstr(o->err, "--forcer"));
	CHECK(strstr(o->err, "Rien n'a été modifié") != NULL);
	CHECK_STR(file_sha(db_of(A)), damaged);
	o = h_relais(A, "secours", "--server", d.url, "--forcer", (char *)NULL);
	CHECK_INT(o->status, 0);
	CHECK_INT(pending(A), 1);
}

/* ---- full disks ---- */

static void unmount(void *dir)
{
	umount2(dir, MNT_DETACH);
}

/* Mounts a tmpfs of size bytes on a new directory of the test; NULL when
 * this process may not mount (not root), after saying so. */
static const char *small_disk(const char *name, long size)
{
	char *dir = h_path(name);
	if (mkdir(dir, 0700))
		return NULL;
	if (mount("tmpfs", dir, "tmpfs", 0, h_strf("size=%ld,mode=0700", size))) {
		fprintf(stderr, "  no tmpfs (%s): full-disk case not run\n", strerror(errno));
		return NULL;
	}
	test_defer(unmount, dir);
	return dir;
}

/* Fills the file system of dir but for keep bytes: a reserve file of keep
 * bytes is written first, then a filler until the disk is full, then the
 * reserve is removed. Returns the filler's path. */
static const char *fill(const char *dir, long keep)
{
	const char *reserve = h_strf("%s/reserve", dir), *filler = h_strf("%s/filler", dir);
	static char block[4096];
	int fd = open(reserve, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	for (long w = 0; fd >= 0 && w < keep; w += (long)sizeof(block))
		if (write(fd, block, sizeof(block)) != (ssize_t)sizeof(block))
			break;
	if (fd >= 0)
		close(fd);
	fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return NULL;
	while (write(fd, block, sizeof(block)) > 0)
		;
	close(fd);
	unlink(reserve);
	return filler;
}

TEST(e2e_disk_full_client)
{
	struct h_daemon d;
	char ta[H_TOKEN];

	h_setup();
	CHECK(h_daemon_init(&d, "srv") == 0);
	CHECK(h_daemon_user(&d, "coord-a", "65", "coordinateur", ta) == 0);
	CHECK(h_daemon_serve(&d) == 0);
	const char *disk = small_disk("clientfs", 4L << 20);
	if (!disk) {
		CHECK(geteuid() != 0);
		return;
	}
	const char *A = h_strf("%s/A", disk);
	CHECK(h_relais_ok(A, "init", "--server", d.url, "--token", ta, (char *)NULL) != NULL);
	const char *s1 = add_structure(A, "MJC de Tarbes");
	CHECK(s1 != NULL);
	/* Room for SQLite's shared-memory index (32 KiB) and a few pages. */
	const char *filler = fill(disk, 48L << 10);
	CHECK(filler != NULL);

	struct h_out *o = h_relais(A, "structure", "add", "--nom", "Centre social", "--commune",
				   "Lourdes", "--commentaire", h_strf("%0512d", 0), (char *)NULL);
	if (!strstr(o->err, "df -h"))
		fprintf(stderr, "  %s\n  %s", o->cmd, o->err);
	CHECK_INT(o->status, 1);
	CHECK(strstr(o->err, "disque plein") && strstr(o->err, "libérez de la place"));
	CHECK(strstr(o->err, h_strf("df -h %s", A)) != NULL);
	CHECK(strstr(o->err, "database or disk is full") == NULL);

	/* Space again: nothing was half written. */
	CHECK(unlink(filler) == 0);
	o = h_relais(A, "verifier", (char *)NULL);
	CHECK_INT(o->status, 0);
	CHECK(strstr(o->out, "intact (1 modification en attente)"));
	CHECK_INT(pending(A), 1);
	CHECK(add_structure(A, "Centre social") != NULL);
	CHECK(h_sync(A, &d) == 0);
}

TEST(e2e_disk_full_server)
{
	struct h_daemon d;
	char ta[H_TOKEN];

	h_setup();
	const char *disk = small_disk("serverfs", 8L << 20);
	if (!disk) {
		CHECK(geteuid() != 0);
		return;
	}
	/* The store lives on the small disk. */
	CHECK(h_daemon_init(&d, "serverfs/data") == 0);
	CHECK(h_daemon_user(&d, "coord-a", "65", "coordinateur", ta) == 0);
	CHECK(h_daemon_serve(&d) == 0);
	const char *A = h_replica(&d, "A", ta);
	CHECK(A != NULL);
	CHECK(add_structure(A, "MJC de Tarbes") && h_sync(A, &d) == 0);
	const char *s2 = add_structure(A, "Centre social du Lavedan");
	CHECK(s2 != NULL);
	const char *filler = fill(disk, 0);
	CHECK(filler != NULL);

	struct h_out *o = h_relais(A, "sync", "--server", d.url, (char *)NULL);
	CHECK_INT(o->status, 1);
	CHECK(strstr(o->err, "disque du serveur est plein") != NULL);
	CHECK(strstr(o->err, "1 modification reste en attente") != NULL);
	CHECK(h_daemon_log_has(&d, h_strf("base « %s/relais.db » : disque plein", d.data), 5000));
	CHECK(h_daemon_healthy(&d));

	CHECK(unlink(filler) == 0);
	CHECK(h_sync(A, &d) == 0);
	CHECK_INT(pending(A), 0);
}

/* The mapping behind the messages, on real SQLite failures. */
TEST(disk_sqlite_codes)
{
	const char *dir = h_setup();
	const char *path = h_strf("%s/codes.db", dir);
	sqlite3 *db = NULL;

	/* Every storage code has its own French message. */
	const int codes[] = { RELAIS_EFULL, RELAIS_EDISK, RELAIS_EDAMAGED, RELAIS_EACCESS };
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		CHECK_IDX(relais_storage_error(codes[i]), i);
		CHECK_IDX(strcmp(relais_strerror(codes[i]), "erreur inconnue") != 0, i);
		for (size_t j = 0; j < i; j++)
			CHECK_IDX(strcmp(relais_strerror(codes[i]), relais_strerror(codes[j])) != 0, i);
	}
	static const struct {
		int sqlite_rc, code;
	} map[] = {
		{ SQLITE_FULL, RELAIS_EFULL },         { SQLITE_IOERR_WRITE, RELAIS_EDISK },
		{ SQLITE_IOERR_FSYNC, RELAIS_EDISK },  { SQLITE_CORRUPT, RELAIS_EDAMAGED },
		{ SQLITE_NOTADB, RELAIS_EDAMAGED },    { SQLITE_READONLY, RELAIS_EACCESS },
		{ SQLITE_CANTOPEN, RELAIS_EACCESS },   { SQLITE_BUSY, RELAIS_EBUSY },
		{ SQLITE_IOERR_NOMEM, RELAIS_ENOMEM }, { SQLITE_CONSTRAINT, RELAIS_ECONSTRAINT },
		{ SQLITE_DONE, 0 },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		CHECK_INT_IDX(relais_sqlite_error(map[i].sqlite_rc), map[i].code, i);

	/* A database capped by max_page_count fails as a full disk would. */
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "CREATE TABLE t(b BLOB); PRAGMA max_page_count = 3;", NULL, NULL,
			   NULL) == SQLITE_OK);
	int src = sqlite3_exec(db, "INSERT INTO t VALUES(zeroblob(100000))", NULL, NULL, NULL);
	CHECK_INT(src, SQLITE_FULL);
	CHECK_INT(relais_sqlite_error(sqlite3_extended_errcode(db)), RELAIS_EFULL);
	CHECK(strstr(relais_sqlite_errmsg(db), "disque plein") != NULL);
	/* Other errors keep SQLite's own words (a constraint's name). */
	CHECK(sqlite3_exec(db, "CREATE TABLE u(x NOT NULL)", NULL, NULL, NULL) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "INSERT INTO u VALUES(NULL)", NULL, NULL, NULL) != SQLITE_OK);
	CHECK(strstr(relais_sqlite_errmsg(db), "NOT NULL") != NULL);
	sqlite3_close(db);

	/* Not a database at all. */
	const char *junk = h_strf("%s/junk.db", dir);
	FILE *f = fopen(junk, "w");
	CHECK(f != NULL);
	for (int i = 0; i < 512; i++)
		fputs("pas une base ", f);
	fclose(f);
	CHECK(sqlite3_open(junk, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "SELECT * FROM sqlite_master", NULL, NULL, NULL) != SQLITE_OK);
	CHECK_INT(relais_sqlite_error(sqlite3_extended_errcode(db)), RELAIS_EDAMAGED);
	CHECK(strstr(relais_sqlite_errmsg(db), "endommagé") != NULL);
	sqlite3_close(db);
	CHECK(strstr(relais_sqlite_errmsg(NULL), "mémoire") != NULL);
}

TEST(e2e_disk_read_only_replica)
{
	struct h_daemon d;
	char ta[H_TOKEN];

	h_setup();
	CHECK(h_daemon_init(&d, "srv") == 0);
	CHECK(h_daemon_user(&d, "coord-a", "65", "coordinateur", ta) == 0);
	CHECK(h_daemon_serve(&d) == 0);
	const char *disk = small_disk("rofs", 4L << 20);
	if (!disk) {
		CHECK(geteuid() != 0);
		return;
	}
	const char *A = h_strf("%s/A", disk);
	CHECK(h_relais_ok(A, "init", "--server", d.url, "--token", ta, (char *)NULL) != NULL);
	CHECK(mount(NULL, disk, NULL, MS_REMOUNT | MS_RDONLY, NULL) == 0);
	struct h_out *o = h_relais(A, "structure", "add", "--nom", "MJC", "--commune", "Tarbes",
				   (char *)NULL);
	CHECK_INT(o->status, 1);
	CHECK(strstr(o->err, "lecture seule") && strstr(o->err, h_strf("ls -la %s", A)));
	CHECK(strstr(o->err, "Read-only") == NULL);
	CHECK(mount(NULL, disk, NULL, MS_REMOUNT, NULL) == 0);
	CHECK(add_structure(A, "MJC") != NULL);
}

/* ---- the engine's half of the rescue ---- */

struct restore_fixture {
	sqlite3 *db;
	struct sync_tables *t;
};

static void restore_cleanup(void *arg)
{
	struct restore_fixture *f = arg;
	sync_tables_free(f->t);
	sqlite3_close(f->db);
}

static long long query_ll(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long v = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

TEST(disk_outbox_salvage_and_restore)
{
	static struct restore_fixture f;
	static unsigned char cs[1 << 16];
	struct buf raw = BUF_INIT(1 << 20), one = BUF_INIT(1 << 16);
	struct sync_outbox ob;
	char id[37];
	size_t cslen = 0;
	int node_ok = 0;
	uint64_t last = 0;

	h_setup();
	test_defer(restore_cleanup, &f);
	int crafted = h_craft_push("r", "structure", "65", id, &raw, &one);
	if (!crafted && one.len <= sizeof(cs)) {
		memcpy(cs, one.data, one.len);
		cslen = one.len;
	}
	buf_release(&raw);
	buf_release(&one);
	CHECK(crafted == 0 && cslen > 0);
	CHECK(sqlite3_open(h_path("r.db"), &f.db) == SQLITE_OK);
	CHECK_OK(sync_tables_load(f.db, (const char *const *)model_table_names, model_ntables, &f.t));

	CHECK_OK(sync_outbox_salvage(f.db, &ob, &node_ok, &last));
	CHECK_INT(ob.count, 1);
	sync_outbox_free(&ob);
	CHECK_INT(node_ok, 1);
	CHECK_INT(last, 1);
	struct sync_push_item item = { 1, 0x1234567890ull, cs, cslen };
	uint64_t node = 0x0123456789abcdefull;

	/* Pending edits are never mixed with others. */
	CHECK_INT(sync_outbox_restore(f.db, f.t, node, &item, 1, 7), RELAIS_EBUSY);
	CHECK_OK(sync_outbox_ack(f.db, 1));
	CHECK(sqlite3_exec(f.db, "DELETE FROM structure", NULL, NULL, NULL) == SQLITE_OK);

	/* A changeset that cannot be read: nothing written. */
	static const unsigned char junk[] = "T\x02\x01\x00structure";
	struct sync_push_item bad[2] = { item, { 2, 0x1234567891ull, junk, sizeof(junk) - 1 } };
	CHECK_INT(sync_outbox_restore(f.db, f.t, node, bad, 2, 7), RELAIS_ECORRUPT);
	CHECK_INT(query_ll(f.db, "SELECT count(*) FROM structure"), 0);
	CHECK_INT(query_ll(f.db, "SELECT count(*) FROM sync_outbox"), 0);

	/* The edit is applied, queued under its seq and the given node; the
	 * next capture is numbered past the highest seq ever used. */
	CHECK_OK(sync_outbox_restore(f.db, f.t, node, &item, 1, 7));
	CHECK_INT(query_ll(f.db, "SELECT count(*) FROM structure"), 1);
	CHECK_INT(query_ll(f.db, "SELECT seq FROM sync_outbox"), 1);
	char *v = NULL;
	CHECK_OK(sync_meta_get(f.db, "node", &v));
	int same = v && !strcmp(v, "0123456789abcdef");
	free(v);
	CHECK(same);
	CHECK(query_ll(f.db, "SELECT value FROM sync_meta WHERE key = 'hlc'") >= 0x1234567890ll);
	struct sync_capture *c = NULL;
	CHECK_OK(sync_capture_begin(f.db, f.t, &c));
	CHECK(sqlite3_exec(f.db, "UPDATE structure SET nom = 'Autre nom'", NULL, NULL, NULL) == SQLITE_OK);
	CHECK_OK(sync_capture_commit(c));
	CHECK_INT(query_ll(f.db, "SELECT max(seq) FROM sync_outbox"), 8);
	CHECK(query_ll(f.db, "SELECT hlc FROM sync_outbox WHERE seq = 8") > 0x1234567890ll);
	CHECK_INT(sync_client_check(f.db, f.t, NULL, NULL), 0);

	/* An edit set aside keeps its number: it counts for the next rescue's
	 * floor, and is carried over as it is. */
	CHECK(sqlite3_exec(f.db, "INSERT INTO sync_refused VALUES(9, 1, x'54', 'refusée', "
			   "'2026-12-04T20:00:00Z')", NULL, NULL, NULL) == SQLITE_OK);
	CHECK_OK(sync_outbox_salvage(f.db, &ob, &node_ok, &last));
	sync_outbox_free(&ob);
	CHECK_INT(last, 9);
	struct sync_refused_set rs;
	CHECK_OK(sync_refused_salvage(f.db, &rs));
	int got = rs.count == 1 && rs.v[0].item.seq == 9 && !strcmp(rs.v[0].reason, "refusée");
	CHECK(sqlite3_exec(f.db, "DELETE FROM sync_refused", NULL, NULL, NULL) == SQLITE_OK);
	int put = sync_refused_restore(f.db, &rs);
	sync_refused_set_free(&rs);
	CHECK(got);
	CHECK_OK(put);
	CHECK_INT(query_ll(f.db, "SELECT count(*) FROM sync_refused WHERE seq = 9 AND "
			   "refused_at = '2026-12-04T20:00:00Z'"), 1);
}
