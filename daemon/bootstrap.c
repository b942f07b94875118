/*
 * bootstrap.c - the départements' bootstrap files (see bootstrap.h).
 *
 * A file is built by a connection of its own on a new database, with the
 * store ATTACHed: one transaction reads the server seq and copies each
 * replicated table's rows of the département (CREATE TABLE AS SELECT, in id
 * order, so that the replica's own inserts append to its key index), all
 * from one snapshot of the store. It is written under a temporary name and
 * renamed, so a reader never sees half a file.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include "../model/model.h"
#include "../sync/sync.h"
#include "bootstrap.h"

#define BOOTSTRAP_DIR "amorces"
#define BOOTSTRAP_KEEP 128  /* départements remembered */

struct entry {
	char dept[8];
	struct bootstrap_info info;
	time_t built;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct entry cache[BOOTSTRAP_KEEP];

static int file_path(struct store *s, const char *dept, uint64_t seq, const char *suffix,
		     char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s/" BOOTSTRAP_DIR "/%s-%" PRIu64 ".db%s", store_data_dir(s),
			 dept, seq, suffix);
	return n < 0 || (size_t)n >= outlen ? RELAIS_EINVAL : 0;
}

static struct entry *find(const char *dept)
{
	for (size_t i = 0; i < BOOTSTRAP_KEEP; i++)
		if (!strcmp(cache[i].dept, dept))
			return &cache[i];
	return NULL;
}

static int exec(sqlite3 *db, const char *sql)
{
	return relais_sqlite_error(sqlite3_exec(db, sql, NULL, NULL, NULL));
}

static int exec_fmt(sqlite3 *db, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *sql = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	if (!sql)
		return RELAIS_ENOMEM;
	int rc = exec(db, sql);
	sqlite3_free(sql);
	return rc;
}

static int state_u64(sqlite3 *db, const char *key, uint64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc = relais_sqlite_error(sqlite3_prepare_v2(
		db, "SELECT value FROM src.sync_state WHERE key=?1", -1, &st, NULL));
	*out = 0;
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		*out = (uint64_t)sqlite3_column_int64(st, 0);
	return relais_sqlite_error(sqlite3_finalize(st));
}

/* Copies dept's rows of the store into a new file at path; *seq gets the
 * server seq they reflect. */
static int build(struct store *s, const char *dept, const char *path, uint64_t *seq)
{
	const struct sync_tables *t = store_tables(s);
	char src[4200];
	sqlite3 *db = NULL;
	uint64_t hlc = 0;
	int rc;

	snprintf(src, sizeof(src), "%s/" STORE_FILE, store_data_dir(s));
	unlink(path);
	rc = relais_sqlite_error(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
						 SQLITE_OPEN_CREATE, NULL));
	if (!rc)
		rc = exec(db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; "
			      "PRAGMA page_size=4096");
	/* The replica's own tables, constraints and indexes: the replica then
	 * copies each table whole (SQLite's transfer of records and index
	 * entries as they are) instead of inserting its rows one by one. */
	if (!rc)
		rc = model_migrate(db);
	/* Every row was checked on its way into the store, under the same
	 * schema version. */
	if (!rc)
		rc = exec(db, "PRAGMA ignore_check_constraints=ON");
	if (!rc)
		rc = exec_fmt(db, "ATTACH %Q AS src", src);
	/* The rows are read in id order, each a lookup in the table: mapped
	 * pages cost no read system call nor copy (4.5 s against 1.8 s for a
	 * million rows on the 2-core VM). Address space only, on 64 bits. */
	if (!rc && sizeof(void *) >= 8)
		rc = exec(db, "PRAGMA src.mmap_size=4294967296");
	if (!rc)
		sqlite3_busy_timeout(db, 5000);
	if (!rc)
		rc = exec(db, "BEGIN");
	/* The first read of src starts the snapshot that every copy sees. */
	if (!rc)
		rc = state_u64(db, "seq", seq);
	if (!rc)
		rc = state_u64(db, "hlc", &hlc);
	for (size_t i = 0; !rc && i < sync_tables_count(t); i++) {
		/* A replicated table the model does not describe (the conflicts
		 * of sync/) is copied as its columns only. */
		const char *name = sync_tables_name(t, i);
		rc = exec_fmt(db, "CREATE TABLE IF NOT EXISTS main.\"%w\" AS SELECT * FROM src.\"%w\" "
			      "WHERE 0", name, name);
		if (!rc)
			rc = exec_fmt(db, "INSERT INTO main.\"%w\" SELECT * FROM src.\"%w\" "
				      "WHERE dept=%Q ORDER BY id", name, name, dept);
	}
	if (!rc)
		rc = exec_fmt(db, "CREATE TABLE main.amorce(key TEXT PRIMARY KEY, value); "
			      "INSERT INTO main.amorce VALUES('seq', %lld), ('hlc', %lld), "
			      "('schema', %d), ('dept', %Q)", (long long)*seq, (long long)hlc,
			      MODEL_SCHEMA_VERSION, dept);
	if (!rc)
		rc = exec(db, "COMMIT");
	else if (db)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	if (db) {
		sqlite3_exec(db, "DETACH src", NULL, NULL, NULL);
		if (sqlite3_close(db) != SQLITE_OK && !rc)
			rc = RELAIS_EDB;
	}
	if (rc)
		unlink(path);
	return rc;
}

/* Size and CRC-32 of the file at path. */
static int measure(const char *path, struct bootstrap_info *info)
{
	static const size_t chunk = 1u << 20;
	unsigned char *b = malloc(chunk);
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;
	uLong crc = crc32(0, NULL, 0);
	ssize_t n;
	info->size = 0;
	if (!b || fd < 0) {
		rc = b ? RELAIS_EIO : RELAIS_ENOMEM;
		goto out;
	}
	while ((n = read(fd, b, chunk)) > 0) {
		crc = crc32(crc, b, (uInt)n);
		info->size += (uint64_t)n;
	}
	if (n < 0)
		rc = RELAIS_EIO;
	info->crc = (uint32_t)crc;
out:
	if (fd >= 0)
		close(fd);
	free(b);
	return rc;
}

/* Builds a new file for dept, replacing the one e describes (when any). */
static int rebuild(struct store *s, const char *dept, struct entry *e)
{
	char tmp[4300], path[4300], dir[4200];
	struct bootstrap_info info = { 0, 0, 0 };
	int rc;

	snprintf(dir, sizeof(dir), "%s/" BOOTSTRAP_DIR, store_data_dir(s));
	if (mkdir(dir, 0700) && errno != EEXIST)
		return RELAIS_EIO;
	if ((rc = file_path(s, dept, 0, ".tmp", tmp, sizeof(tmp))) ||
	    (rc = build(s, dept, tmp, &info.seq)) || (rc = measure(tmp, &info)) ||
	    (rc = file_path(s, dept, info.seq, "", path, sizeof(path))))
		goto out;
	if (rename(tmp, path)) {
		rc = RELAIS_EIO;
		goto out;
	}
	if (e->dept[0] && e->info.seq != info.seq &&
	    !file_path(s, dept, e->info.seq, "", tmp, sizeof(tmp)))
		unlink(tmp);
	snprintf(e->dept, sizeof(e->dept), "%s", dept);
	e->info = info;
	e->built = time(NULL);
out:
	if (rc)
		unlink(tmp);
	return rc;
}

/* The highest seq of dept's rows: a file of that seq or later is current. */
static int dept_seq(struct store *s, const char *dept, uint64_t *seq)
{
	struct store_reader *rd = store_reader_acquire(s);
	sqlite3 *db = rd->db;
	sync_hlc_t hlc;
	int rc = sync_server_state(db, dept, &hlc, seq);
	store_reader_release(s, rd);
	return rc;
}

/* Whether dept changed in more than BOOTSTRAP_STALE_ROWS rows after seq
 * (read by the (dept, seq) index, at most that many rows looked at). */
static int changed_much(struct store *s, const char *dept, uint64_t seq, int *much)
{
	struct store_reader *rd = store_reader_acquire(s);
	sqlite3 *db = rd->db;
	sqlite3_stmt *st = NULL;
	int rc = relais_sqlite_error(sqlite3_prepare_v2(
		db, "SELECT count(*) FROM (SELECT 1 FROM sync_row WHERE dept=?1 AND seq>?2 LIMIT ?3)",
		-1, &st, NULL));
	*much = 1;
	if (!rc) {
		sqlite3_bind_text(st, 1, dept, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
		sqlite3_bind_int(st, 3, BOOTSTRAP_STALE_ROWS + 1);
		if (sqlite3_step(st) == SQLITE_ROW)
			*much = sqlite3_column_int(st, 0) > BOOTSTRAP_STALE_ROWS;
		rc = relais_sqlite_error(sqlite3_finalize(st));
	}
	store_reader_release(s, rd);
	return rc;
}

int bootstrap_get(struct store *s, const char *dept, const uint64_t *seq,
		  struct bootstrap_info *out)
{
	uint64_t now_seq = 0;
	int rc = 0;

	if (!model_dept_valid(dept))
		return RELAIS_EINVAL;
	if (!seq && (rc = dept_seq(s, dept, &now_seq)))
		return rc;
	pthread_mutex_lock(&lock);
	struct entry *e = find(dept);
	if (seq) {
		if (e && e->info.seq == *seq)
			*out = e->info;
		else
			rc = RELAIS_ENOTFOUND;
		goto out;
	}
	int much = 1;
	if (e && e->info.seq < now_seq && time(NULL) - e->built < BOOTSTRAP_MAX_AGE_S &&
	    (rc = changed_much(s, dept, e->info.seq, &much)))
		goto out;
	if (e && (e->info.seq >= now_seq || !much)) {
		/* What changed since, the replica pulls after the file. */
		*out = e->info;
		goto out;
	}
	if (!e)
		e = find("");
	if (!e) {
		rc = RELAIS_ETOOBIG; /* more départements than one store holds */
		goto out;
	}
	rc = rebuild(s, dept, e);
	if (!rc)
		*out = e->info;
out:
	pthread_mutex_unlock(&lock);
	return rc;
}

int bootstrap_deflate(char **data, size_t *n)
{
	uLongf zlen = compressBound((uLong)*n);
	char *z = malloc(zlen ? zlen : 1);
	if (!z)
		return RELAIS_ENOMEM;
	/* Level 1, the fastest: about 100 MB/s on the 2-core VM, and a
	 * database file still deflates about 4x (gzip -1: 223 MB to 57 MB). */
	if (compress2((Bytef *)z, &zlen, (const Bytef *)*data, (uLong)*n, 1) != Z_OK) {
		free(z);
		return RELAIS_ENOMEM;
	}
	free(*data);
	*data = z;
	*n = zlen;
	return 0;
}

int bootstrap_read(struct store *s, const char *dept, const struct bootstrap_info *info,
		   uint64_t offset, size_t max, char **data, size_t *len)
{
	char path[4300];
	int rc = file_path(s, dept, info->seq, "", path, sizeof(path)), fd = -1;
	size_t want = offset >= info->size ? 0 : (size_t)(info->size - offset);
	*data = NULL;
	*len = 0;
	if (rc)
		return rc;
	if (want > max)
		want = max;
	if (!(*data = malloc(want ? want : 1)))
		return RELAIS_ENOMEM;
	if (!want)
		return 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		rc = errno == ENOENT ? RELAIS_ENOTFOUND : RELAIS_EIO;
		goto out;
	}
	while (*len < want) {
		ssize_t n = pread(fd, *data + *len, want - *len, (off_t)(offset + *len));
		if (n <= 0) {
			rc = RELAIS_EIO;
			goto out;
		}
		*len += (size_t)n;
	}
out:
	if (fd >= 0)
		close(fd);
	if (rc) {
		free(*data);
		*data = NULL;
		*len = 0;
	}
	return rc;
}
