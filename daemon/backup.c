/*
 * backup.c - online backup and restore of the store.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>
#include "../common/util.h"
#include "../common/file.h"
#include "../model/model.h"
#include "auth.h"
#include "../sync/sync.h"
#include "backup.h"
#include "datadir.h"
#include "store.h"

#define PATH_BYTES 4096
/* A busy source (a checkpoint, WAL recovery) is waited for this long. */
#define BUSY_RETRY_MS 10
#define BUSY_RETRIES 3000

static int join(char *out, size_t outlen, const char *a, const char *b)
{
	int n = snprintf(out, outlen, "%s%s", a, b);
	return n < 0 || (size_t)n >= outlen ? RELAIS_EINVAL : 0;
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static int query_ll(sqlite3 *db, const char *sql, long long *out)
{
	sqlite3_stmt *st = NULL;
	int rc = relais_sqlite_error(sqlite3_prepare_v2(db, sql, -1, &st, NULL));
	if (!rc) {
		int s = sqlite3_step(st);
		if (s == SQLITE_ROW)
			*out = sqlite3_column_int64(st, 0);
		else
			rc = s == SQLITE_DONE ? RELAIS_ESCHEMA : relais_sqlite_error(s);
	}
	sqlite3_finalize(st);
	return rc;
}

/* Runs PRAGMA integrity_check: 0 when it answers the single row "ok". */
static int integrity(sqlite3 *db, char *detail, size_t len)
{
	sqlite3_stmt *st = NULL;
	int rc = relais_sqlite_error(sqlite3_prepare_v2(db, "PRAGMA integrity_check(20)", -1, &st,
							NULL));
	detail[0] = 0;
	if (rc)
		return rc;
	int s = sqlite3_step(st), rows = 0;
	for (; s == SQLITE_ROW; s = sqlite3_step(st), rows++) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		if (!t || strcmp((const char *)t, "ok")) {
			if (!detail[0])
				snprintf(detail, len, "%s", t ? (const char *)t : "?");
			rc = RELAIS_ECORRUPT;
		}
	}
	if (s != SQLITE_DONE)
		rc = relais_sqlite_error(s);
	else if (!rc && rows != 1)
		rc = RELAIS_ECORRUPT;
	sqlite3_finalize(st);
	return rc;
}

/* Checks an open store and fills *sum (bytes left to the caller). */
static int check_db(sqlite3 *db, const char *name, struct backup_summary *sum,
		    char *err, size_t errlen)
{
	char detail[256];
	long long v = 0;
	int rc = integrity(db, detail, sizeof(detail));
	if (rc == RELAIS_ECORRUPT || rc == RELAIS_EDAMAGED || rc == RELAIS_EDB) {
		snprintf(err, errlen, "« %s » est endommagé (integrity_check : %s).", name,
			 detail[0] ? detail : relais_strerror(rc));
		return RELAIS_ECORRUPT;
	}
	if (rc) {
		snprintf(err, errlen, "« %s » n'est pas une base SQLite lisible : %s.", name,
			 relais_strerror(rc));
		return rc == RELAIS_ENOMEM ? rc : RELAIS_ECORRUPT;
	}
	rc = query_ll(db, "PRAGMA user_version", &v);
	if (!rc && (v < 1 || v > MODEL_SCHEMA_VERSION)) {
		snprintf(err, errlen, "« %s » est au schéma %lld, ce relaisd connaît les schémas 1 à "
			 "%d : %s.", name, v, MODEL_SCHEMA_VERSION,
			 v > MODEL_SCHEMA_VERSION ? "mettez relaisd à jour" : "ce n'est pas une "
			 "sauvegarde de relaisd");
		return RELAIS_ESCHEMA;
	}
	sum->schema = (int)v;
	if (!rc)
		rc = auth_check(db);
	if (!rc)
		rc = query_ll(db, "SELECT count(*) FROM account", &sum->accounts);
	if (!rc)
		rc = query_ll(db, "SELECT count(*) FROM sync_row WHERE deleted = 0", &sum->rows);
	if (!rc)
		rc = query_ll(db, "SELECT value FROM sync_state WHERE key = 'seq'", &sum->seq);
	if (rc) {
		snprintf(err, errlen, "« %s » n'est pas une base de relaisd (tables des comptes ou de "
			 "synchronisation absentes).", name);
		return rc == RELAIS_ENOMEM ? rc : RELAIS_ESCHEMA;
	}
	return 0;
}

static long long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) ? -1 : (long long)st.st_size;
}

/* Copies the whole source database into dst in one step: one read
 * transaction, hence one consistent snapshot. Incremental steps would
 * restart whenever the serving daemon commits. */
static int copy_online(sqlite3 *src, sqlite3 *dst)
{
	sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
	if (!b)
		return relais_sqlite_error(sqlite3_errcode(dst));
	int s, tries = 0;
	while ((s = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || s == SQLITE_LOCKED ||
	       s == SQLITE_OK) {
		if (++tries > BUSY_RETRIES)
			break;
		nap_ms(BUSY_RETRY_MS);
	}
	int f = sqlite3_backup_finish(b);
	if (s != SQLITE_DONE)
		return s == SQLITE_BUSY || s == SQLITE_LOCKED ? RELAIS_EBUSY : relais_sqlite_error(s);
	return relais_sqlite_error(f);
}

/* A copy stands alone: rollback journal, not WAL, so that the file is the
 * whole backup. */
static int make_standalone(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int rc = relais_sqlite_error(sqlite3_prepare_v2(db, "PRAGMA journal_mode=DELETE", -1, &st,
							NULL));
	if (!rc) {
		const unsigned char *m = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_text(st, 0)
									 : NULL;
		if (!m || strcmp((const char *)m, "delete"))
			rc = RELAIS_EDB;
	}
	sqlite3_finalize(st);
	return rc;
}

int backup_run(const char *dir, const char *to, struct backup_summary *sum,
	       char *err, size_t errlen)
{
	struct file_tmp t = FILE_TMP_INIT;
	sqlite3 *src = NULL, *dst = NULL;
	int rc;

	memset(sum, 0, sizeof(*sum));
	rc = store_open_single(dir, &src, err, errlen);
	if (rc)
		goto out;
	/* Missing folders of the target first (/sauvegardes/relais/…). */
	if ((rc = util_mkdirs_for(to, 0700, err, errlen))) {
		if (err && errlen && err[0] >= 'a' && err[0] <= 'z')
			err[0] = (char)(err[0] - 'a' + 'A');
		goto out;
	}
	/* Created empty and private (0600) before SQLite writes a byte in it. */
	if (file_tmp_open(&t, to, 0600)) {
		snprintf(err, errlen, "Impossible de créer une copie à côté de « %s » : %s.", to,
			 util_errno_fr(errno));
		rc = RELAIS_EIO;
		goto out;
	}
	fclose(t.f);
	t.f = NULL;
	rc = relais_sqlite_error(sqlite3_open_v2(t.path, &dst, SQLITE_OPEN_READWRITE, NULL));
	if (!rc)
		rc = copy_online(src, dst);
	if (rc) {
		snprintf(err, errlen, "Copie de la base de « %s » impossible : %s.", dir,
			 relais_strerror(rc));
		goto out;
	}
	rc = make_standalone(dst);
	if (rc) {
		snprintf(err, errlen, "Impossible de finaliser la copie « %s » : %s.", t.path,
			 relais_strerror(rc));
		goto out;
	}
	rc = check_db(dst, t.path, sum, err, errlen);
	if (rc)
		goto out;
	sqlite3_close(dst);
	dst = NULL;
	if (file_tmp_commit(&t)) {
		snprintf(err, errlen, "Impossible d'écrire « %s » : %s.", to, util_errno_fr(errno));
		rc = RELAIS_EIO;
		goto out;
	}
	sum->bytes = file_size(to);
out:
	sqlite3_close(dst);
	sqlite3_close(src);
	file_tmp_abort(&t);
	return rc;
}

int backup_verify(const char *file, struct backup_summary *sum, char *err, size_t errlen)
{
	char uri[PATH_BYTES + 32];
	sqlite3 *db = NULL;
	struct stat st;
	int rc;

	memset(sum, 0, sizeof(*sum));
	if (stat(file, &st)) {
		snprintf(err, errlen, "Impossible de lire la sauvegarde « %s » : %s.", file,
			 util_errno_fr(errno));
		return RELAIS_EIO;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "La sauvegarde « %s » n'est pas un fichier ordinaire.", file);
		return RELAIS_EIO;
	}
	/* immutable: read the file as it is, without locks, -shm or a -wal
	 * that may lie beside it; percent-escape what a URI would misread. */
	size_t o = 0;
	o += (size_t)snprintf(uri, sizeof(uri), "file:");
	for (const char *p = file; *p && o + 4 < sizeof(uri); p++) {
		if (*p == '%' || *p == '?' || *p == '#')
			o += (size_t)snprintf(uri + o, sizeof(uri) - o, "%%%02X", (unsigned char)*p);
		else
			uri[o++] = *p;
	}
	uri[o] = 0;
	if (o + sizeof("?immutable=1") > sizeof(uri)) {
		snprintf(err, errlen, "Chemin « %s » trop long.", file);
		return RELAIS_EINVAL;
	}
	snprintf(uri + o, sizeof(uri) - o, "?immutable=1");
	rc = relais_sqlite_error(sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI,
						 NULL));
	if (rc) {
		snprintf(err, errlen, "Impossible d'ouvrir la sauvegarde « %s » : %s.", file,
			 relais_strerror(rc));
		goto out;
	}
	rc = check_db(db, file, sum, err, errlen);
	sum->bytes = (long long)st.st_size;
out:
	sqlite3_close(db);
	return rc;
}

/* Copies from into the descriptor out, the file named to in messages. */
static int copy_file(const char *from, int out, const char *to, char *err, size_t errlen)
{
	char chunk[1 << 16];
	int in = open(from, O_RDONLY | O_CLOEXEC), rc = 0;
	ssize_t n;
	if (in < 0) {
		snprintf(err, errlen, "Impossible de lire la sauvegarde « %s » : %s.", from,
			 util_errno_fr(errno));
		return RELAIS_EIO;
	}
	while ((n = read(in, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		ssize_t w = 0;
		for (ssize_t done = 0; n > 0 && done < n; done += w) {
			w = write(out, chunk + done, (size_t)(n - done));
			if (w < 0 && errno == EINTR)
				w = 0;
			else if (w < 0)
				break;
		}
		if (n < 0 || w < 0) {
			snprintf(err, errlen, "Copie de « %s » vers « %s » impossible : %s.", from, to,
				 util_errno_fr(errno));
			rc = RELAIS_EIO;
			break;
		}
	}
	close(in);
	return rc;
}

/*
 * Gives the copy a new epoch: replicas that synced with the store as it was
 * after the backup carry the old one and are told the server went back in
 * time (sync_server_epoch), instead of skipping changes past their cursor.
 */
static int renew_epoch(const char *file, char *err, size_t errlen)
{
	char epoch[SYNC_EPOCH_LEN + 1];
	sqlite3 *db = NULL;
	int rc = relais_sqlite_error(sqlite3_open_v2(file, &db, SQLITE_OPEN_READWRITE, NULL));
	if (!rc)
		rc = sync_server_epoch(db, 1, epoch);
	if (sqlite3_close(db) != SQLITE_OK && !rc)
		rc = RELAIS_EIO;
	if (rc)
		snprintf(err, errlen, "Impossible de marquer la base restaurée « %s » : %s.", file,
			 relais_strerror(rc));
	return rc;
}

int backup_restore(const char *from, const char *dir, int force, struct backup_summary *sum,
		   char *err, size_t errlen)
{
	char db[PATH_BYTES], side[PATH_BYTES];
	struct file_tmp t = FILE_TMP_INIT;
	int lock = -1, rc;

	memset(sum, 0, sizeof(*sum));
	if (snprintf(db, sizeof(db), "%s/%s", dir, STORE_FILE) >= (int)sizeof(db) ||
	    join(side, sizeof(side), db, "-journal")) {
		snprintf(err, errlen, "Chemin du dossier de données trop long.");
		return RELAIS_EINVAL;
	}
	/* The source is checked before anything in dir changes. */
	rc = backup_verify(from, sum, err, errlen);
	if (rc)
		return rc;
	if ((rc = util_mkdirs(dir, 0700, err, errlen))) {
		if (err && errlen && err[0] >= 'a' && err[0] <= 'z')
			err[0] = (char)(err[0] - 'a' + 'A');
		return rc;
	}
	rc = datadir_check(dir, err, errlen);
	if (!rc)
		rc = datadir_lock(dir, &lock, err, errlen);
	if (rc == RELAIS_EBUSY)
		snprintf(err, errlen, "Un relaisd sert le dossier « %s » : arrêtez-le avant de "
			 "restaurer une sauvegarde.", dir);
	if (rc)
		goto out;
	if (store_exists(dir) && !force) {
		snprintf(err, errlen, "« %s » contient déjà une base : ajoutez --force pour la "
			 "remplacer par la sauvegarde (son contenu actuel sera perdu).", dir);
		rc = RELAIS_EEXIST;
		goto out;
	}
	if (file_tmp_open(&t, db, 0600)) {
		snprintf(err, errlen, "Impossible de créer une copie à côté de « %s » : %s.", db,
			 util_errno_fr(errno));
		rc = RELAIS_EIO;
		goto out;
	}
	rc = copy_file(from, fileno(t.f), t.path, err, errlen);
	fclose(t.f);
	t.f = NULL;
	if (rc)
		goto out;
	/* The copy is what gets installed: check it, not only the source. */
	rc = backup_verify(t.path, sum, err, errlen);
	if (rc)
		goto out;
	rc = renew_epoch(t.path, err, errlen);
	if (rc)
		goto out;
	/* A -wal left by the old store would be replayed into the new one. */
	static const char *const stale[] = { "-wal", "-shm", "-journal" };
	for (size_t i = 0; i < sizeof(stale) / sizeof(stale[0]); i++) {
		if (join(side, sizeof(side), db, stale[i]))
			continue;
		if (unlink(side) && errno != ENOENT) {
			snprintf(err, errlen, "Impossible de supprimer « %s » : %s.", side,
				 util_errno_fr(errno));
			rc = RELAIS_EIO;
			goto out;
		}
	}
	if (file_tmp_commit(&t)) {
		snprintf(err, errlen, "Impossible d'installer « %s » : %s.", db, util_errno_fr(errno));
		rc = RELAIS_EIO;
		goto out;
	}
out:
	file_tmp_abort(&t);
	datadir_unlock(lock);
	return rc;
}
