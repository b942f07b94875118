/*
 * client.c - the client half of the engine: metadata, capture of local edits
 * into the outbox, and application of pulled pages.
 *
 * Pulled rows are written with plain statements while no session is open,
 * so they are never captured and never pushed back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../common/util.h"
#include "sync.h"
#include "sync_int.h"

/* Largest number of columns a pulled record may carry (SQLite's default
 * SQLITE_MAX_COLUMN); a wider one is corrupt whatever the schema. */
#define PULL_MAX_COLS 2000

int sync_client_schema(sqlite3 *db)
{
	char *node = NULL;
	int rc;

	rc = sync_exec(db, "BEGIN IMMEDIATE");
	if (rc)
		return rc;
	rc = sync_exec(db,
		"CREATE TABLE IF NOT EXISTS sync_meta(key TEXT PRIMARY KEY, value TEXT);"
		"CREATE TABLE IF NOT EXISTS sync_outbox(seq INTEGER PRIMARY KEY AUTOINCREMENT, "
		"hlc INTEGER NOT NULL, changeset BLOB NOT NULL);"
		"CREATE TABLE IF NOT EXISTS sync_refused(seq INTEGER PRIMARY KEY, hlc INTEGER NOT NULL, "
		"changeset BLOB NOT NULL, reason TEXT NOT NULL, refused_at TEXT NOT NULL);");
	if (!rc)
		rc = sync_exec(db, sync_conflict_ddl);
	if (rc)
		goto out;
	rc = sync_meta_get(db, "node", &node);
	if (rc == RELAIS_ENOTFOUND) {
		uint64_t id;
		char hex[17];
		rc = util_random(&id, sizeof(id));
		if (rc)
			goto out;
		sync_node_format(id, hex);
		rc = sync_meta_set(db, "node", hex);
	}
	if (!rc)
		rc = sync_exec(db, "COMMIT");
out:
	free(node);
	if (rc)
		sync_rollback(db);
	return rc;
}

int sync_meta_get(sqlite3 *db, const char *key, char **val)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*val = NULL;
	rc = sync_prepare(db, "SELECT value FROM sync_meta WHERE key=?1", &st);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		*val = strdup((const char *)sqlite3_column_text(st, 0));
		rc = *val ? 0 : RELAIS_ENOMEM;
	} else {
		rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? RELAIS_ENOTFOUND : relais_sqlite_error(rc);
	}
	sqlite3_finalize(st);
	return rc;
}

int sync_meta_set(sqlite3 *db, const char *key, const char *val)
{
	sqlite3_stmt *st = NULL;
	int rc = sync_prepare(db, "INSERT OR REPLACE INTO sync_meta(key, value) VALUES(?1, ?2)", &st);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, val, -1, SQLITE_STATIC);
	rc = relais_sqlite_error(sqlite3_step(st));
	sqlite3_finalize(st);
	return rc;
}

/* Decimal digits only, at most 2^64 - 1. */
static int parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (!s || !*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int meta_get_u64(sqlite3 *db, const char *key, uint64_t *out)
{
	char *s = NULL;
	int rc = sync_meta_get(db, key, &s);

	*out = 0;
	if (rc == RELAIS_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	/* The whole unsigned range: a clock that a server once handed on past
	 * 2^63 must still read back, so that the next sync can repair it. */
	rc = parse_u64(s, out) ? RELAIS_ECORRUPT : 0;
	free(s);
	return rc;
}

static int meta_set_u64(sqlite3 *db, const char *key, uint64_t v)
{
	char s[24];
	snprintf(s, sizeof(s), "%llu", (unsigned long long)v);
	return sync_meta_set(db, key, s);
}

int sync_meta_hlc_now(sqlite3 *db, sync_hlc_t *out)
{
	struct sync_hlc c;
	int64_t now = util_now_ms();
	int rc = meta_get_u64(db, "hlc", &c.last);
	if (rc)
		return rc;
	/* A wall clock far behind what this replica has seen would stamp
	 * every edit just after the last one it knows, however late it is
	 * made: it would lose against edits made before it elsewhere. */
	if (now < 0 || sync_hlc_ms(c.last) > (uint64_t)now + SYNC_CLOCK_BEHIND_MS)
		return RELAIS_ECLOCK;
	*out = sync_hlc_now(&c, now);
	return meta_set_u64(db, "hlc", c.last);
}

int sync_client_clock(sqlite3 *db, int64_t server_ms, int64_t local_ms, int64_t max_skew_ms,
		      int *fixed)
{
	char s[24];
	uint64_t last = 0;
	int rc;

	*fixed = 0;
	if (server_ms <= 0)
		return 0;
	if (max_skew_ms <= 0)
		max_skew_ms = SYNC_MAX_SKEW_MS;
	snprintf(s, sizeof(s), "%lld", (long long)(local_ms - server_ms));
	rc = sync_meta_set(db, "clock_offset", s);
	if (!rc)
		rc = meta_get_u64(db, "hlc", &last);
	if (rc)
		return rc;
	/* A clock that a server or this computer pushed past the server's
	 * time plus the skew comes back to the server's time: the server
	 * bounds every clock it hands on, so nothing honest is beyond. */
	if (sync_hlc_ms(last) > (uint64_t)server_ms + (uint64_t)max_skew_ms) {
		rc = meta_set_u64(db, "hlc", sync_hlc_make((uint64_t)server_ms, 0));
		*fixed = !rc;
	}
	return rc;
}

/* ---- capture ---- */

struct sync_capture {
	struct sync_txn x;
};

int sync_capture_begin(sqlite3 *db, const struct sync_tables *t, struct sync_capture **out)
{
	void *c;
	int rc = sync_txn_begin(db, t, sizeof(**out), &c);
	*out = c;
	return rc;
}

void sync_capture_abort(struct sync_capture *c)
{
	if (c)
		(void)sync_txn_end(&c->x, RELAIS_EINVAL);
}

int sync_capture_commit(struct sync_capture *c)
{
	sqlite3 *db = c->x.db;
	sqlite3_stmt *st = NULL;
	void *cs = NULL;
	sync_hlc_t h;
	int n = 0, rc;

	/* The session goes before our own writes below, which must not be captured. */
	rc = sync_txn_changeset(&c->x, &n, &cs);
	if (rc || n == 0)
		goto out;
	rc = sync_meta_hlc_now(db, &h);
	if (!rc)
		rc = sync_prepare(db, "INSERT INTO sync_outbox(hlc, changeset) VALUES(?1, ?2)", &st);
	if (!rc) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)h);
		sqlite3_bind_blob(st, 2, cs, n, SQLITE_STATIC);
		rc = relais_sqlite_error(sqlite3_step(st));
	}
out:
	sqlite3_finalize(st);
	sqlite3_free(cs);
	return sync_txn_end(&c->x, rc);
}

/* ---- outbox ---- */

void sync_outbox_free(struct sync_outbox *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->count; i++)
		free((void *)o->items[i].changeset);
	free(o->items);
	memset(o, 0, sizeof(*o));
}

int sync_outbox_load(sqlite3 *db, size_t max_items, size_t max_bytes, struct sync_outbox *out)
{
	sqlite3_stmt *st = NULL;
	char *node = NULL;
	size_t bytes = 0, cap = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = sync_meta_get(db, "node", &node);
	if (rc)
		return rc;
	rc = sync_node_parse(node, &out->node) ? RELAIS_ECORRUPT : 0;
	free(node);
	if (rc)
		return rc;
	rc = sync_prepare(db, "SELECT seq, hlc, changeset FROM sync_outbox ORDER BY seq LIMIT ?1", &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, max_items > (size_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)max_items);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct sync_push_item *it;
		size_t n = (size_t)sqlite3_column_bytes(st, 2);
		unsigned char *p;
		if (out->count > 0 && bytes + n > max_bytes)
			break;
		if (out->count == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			it = realloc(out->items, ncap * sizeof(*it));
			if (!it) {
				rc = RELAIS_ENOMEM;
				goto out;
			}
			out->items = it;
			cap = ncap;
		}
		p = malloc(n ? n : 1);
		if (!p) {
			rc = RELAIS_ENOMEM;
			goto out;
		}
		if (n)
			memcpy(p, sqlite3_column_blob(st, 2), n);
		it = &out->items[out->count++];
		it->seq = (uint64_t)sqlite3_column_int64(st, 0);
		it->hlc = (sync_hlc_t)sqlite3_column_int64(st, 1);
		it->changeset = p;
		it->len = n;
		bytes += n;
	}
	rc = rc == SQLITE_ROW ? 0 : relais_sqlite_error(rc);
out:
	sqlite3_finalize(st);
	if (rc)
		sync_outbox_free(out);
	return rc;
}

int sync_outbox_ack(sqlite3 *db, uint64_t upto)
{
	sqlite3_stmt *st = NULL;
	int rc = sync_prepare(db, "DELETE FROM sync_outbox WHERE seq <= ?1", &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, upto > (uint64_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)upto);
	rc = relais_sqlite_error(sqlite3_step(st));
	sqlite3_finalize(st);
	return rc;
}

int sync_outbox_pending(sqlite3 *db, uint64_t *count)
{
	*count = 0;
	return sync_query_u64(db, "SELECT count(*) FROM sync_outbox", count);
}

/* ---- pull ---- */

static int bind_wire_value(sqlite3_stmt *st, int idx, const struct sync_value *v)
{
	int rc;

	switch (v->type) {
	case SQLITE_INTEGER:
		rc = sqlite3_bind_int64(st, idx, v->i);
		break;
	case SQLITE_FLOAT:
		rc = sqlite3_bind_double(st, idx, v->r);
		break;
	case SQLITE_TEXT:
		/* A NULL pointer would bind NULL, not an empty string. */
		rc = sqlite3_bind_text(st, idx, v->n ? (const char *)v->p : "", (int)v->n, SQLITE_STATIC);
		break;
	case SQLITE_BLOB:
		rc = v->n ? sqlite3_bind_blob(st, idx, v->p, (int)v->n, SQLITE_STATIC)
			  : sqlite3_bind_zeroblob(st, idx, 0);
		break;
	case SQLITE_NULL:
		rc = sqlite3_bind_null(st, idx);
		break;
	default:
		return RELAIS_ECORRUPT;
	}
	return relais_sqlite_error(rc);
}

struct apply_stmts {
	sqlite3_stmt *put, *del;
};

static int apply_record(sqlite3 *db, const struct sync_tables *t, struct apply_stmts *cache,
			const struct sync_pull_record *rec)
{
	sqlite3_stmt **slot, *st;
	char *sql;
	int ti, rc;

	ti = sync_tables_find_n(t, rec->table, rec->table_len);
	if (ti < 0 || (!rec->deleted && rec->ncols != (size_t)t->v[ti].ncols))
		return RELAIS_ESCHEMA;
	if (rec->id_len > INT32_MAX || rec->ncols > INT32_MAX)
		return RELAIS_ECORRUPT;
	slot = rec->deleted ? &cache[ti].del : &cache[ti].put;
	if (!*slot) {
		sql = rec->deleted ? sync_sql_delete(&t->v[ti]) : sync_sql_insert(&t->v[ti], 1);
		if (!sql)
			return RELAIS_ENOMEM;
		rc = sync_prepare(db, sql, slot);
		sqlite3_free(sql);
		if (rc)
			return rc;
	}
	st = *slot;
	if (rec->deleted) {
		rc = relais_sqlite_error(sqlite3_bind_text(st, 1, rec->id_len ? (const char *)rec->id : "",
						   (int)rec->id_len, SQLITE_STATIC));
	} else {
		rc = 0;
		for (size_t j = 0; !rc && j < rec->ncols; j++)
			rc = bind_wire_value(st, (int)j + 1, &rec->values[j]);
	}
	if (!rc)
		rc = relais_sqlite_error(sqlite3_step(st));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

int sync_apply_pull(sqlite3 *db, const struct sync_tables *t, const void *raw, size_t len,
		    struct sync_apply_result *res)
{
	struct sync_pull_reader pr;
	struct sync_pull_record rec;
	struct sync_value *values = NULL;
	struct apply_stmts *cache = NULL;
	struct sync_hlc c;
	uint64_t pending, rows = 0;
	int rc;

	memset(res, 0, sizeof(*res));
	rc = sync_pull_open(&pr, raw, len);
	if (rc)
		return rc;
	values = calloc(PULL_MAX_COLS, sizeof(*values));
	cache = calloc(t->n, sizeof(*cache));
	if (!values || !cache) {
		rc = RELAIS_ENOMEM;
		goto out;
	}
	rc = sync_exec(db, "BEGIN IMMEDIATE");
	if (rc)
		goto out;
	/* Checked under the write lock: a pulled row would overwrite an edit
	 * still waiting in the outbox. */
	rc = sync_outbox_pending(db, &pending);
	if (!rc && pending)
		rc = RELAIS_EBUSY;
	while (!rc && (rc = sync_pull_next(&pr, &rec, values, PULL_MAX_COLS)) == 1) {
		rc = apply_record(db, t, cache, &rec);
		rows++;
	}
	if (rc)
		goto out;
	rc = meta_set_u64(db, "cursor", pr.next_cursor);
	if (!rc)
		rc = meta_get_u64(db, "hlc", &c.last);
	if (rc)
		goto out;
	sync_hlc_observe(&c, pr.server_hlc, util_now_ms());
	rc = meta_set_u64(db, "hlc", c.last);
	if (!rc)
		rc = sync_exec(db, "COMMIT");
	if (rc)
		goto out;
	res->rows = rows;
	res->cursor = pr.next_cursor;
	res->more = pr.more;
out:
	if (cache) {
		for (size_t i = 0; i < t->n; i++) {
			sqlite3_finalize(cache[i].put);
			sqlite3_finalize(cache[i].del);
		}
	}
	free(cache);
	free(values);
	if (rc)
		sync_rollback(db);
	return rc;
}

/* ---- edits the server refused ---- */

/* Undoing a refused edit must not fail on what happened to its rows since:
 * the server's state comes back with the next pull anyway. */
static int undo_conflict(void *ctx, int kind, sqlite3_changeset_iter *it)
{
	(void)ctx;
	(void)it;
	return kind == SQLITE_CHANGESET_DATA || kind == SQLITE_CHANGESET_CONFLICT
		       ? SQLITE_CHANGESET_REPLACE : SQLITE_CHANGESET_OMIT;
}

int sync_outbox_set_aside(sqlite3 *db, uint64_t seq, const char *reason)
{
	sqlite3_stmt *st = NULL;
	void *inv = NULL;
	int ninv = 0, rc;
	char when[21];

	util_iso8601(util_now_ms(), when);
	rc = sync_exec(db, "BEGIN IMMEDIATE");
	if (rc)
		return rc;
	rc = sync_prepare(db, "INSERT INTO sync_refused(seq, hlc, changeset, reason, refused_at) "
			  "SELECT seq, hlc, changeset, ?2, ?3 FROM sync_outbox WHERE seq=?1", &st);
	if (rc)
		goto out;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
	sqlite3_bind_text(st, 2, reason && *reason ? reason : "refusé par le serveur", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, when, -1, SQLITE_STATIC);
	rc = relais_sqlite_error(sqlite3_step(st));
	if (!rc && sqlite3_changes(db) == 0)
		rc = RELAIS_ENOTFOUND;
	sqlite3_finalize(st);
	st = NULL;
	if (rc)
		goto out;
	rc = sync_prepare(db, "SELECT changeset FROM sync_refused WHERE seq=?1", &st);
	if (rc)
		goto out;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
	rc = sqlite3_step(st) == SQLITE_ROW ? 0 : RELAIS_EDB;
	if (!rc)
		rc = relais_sqlite_error(sqlite3changeset_invert(sqlite3_column_bytes(st, 0),
								 sqlite3_column_blob(st, 0), &ninv, &inv));
	sqlite3_finalize(st);
	st = NULL;
	/* The replica goes back to what it held before the edit (no session
	 * is open: nothing of this is captured). */
	if (!rc && ninv)
		rc = relais_sqlite_error(sqlite3changeset_apply(db, ninv, inv, NULL, undo_conflict, NULL));
	if (!rc)
		rc = sync_prepare(db, "DELETE FROM sync_outbox WHERE seq=?1", &st);
	if (!rc) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
		rc = relais_sqlite_error(sqlite3_step(st));
	}
	if (!rc)
		rc = sync_exec(db, "COMMIT");
out:
	sqlite3_finalize(st);
	sqlite3_free(inv);
	if (rc)
		sync_rollback(db);
	return rc;
}

int sync_refused_count(sqlite3 *db, uint64_t *count)
{
	*count = 0;
	return sync_query_u64(db, "SELECT count(*) FROM sync_refused", count);
}

int sync_refused_drop(sqlite3 *db, uint64_t seq)
{
	sqlite3_stmt *st = NULL;
	int rc = sync_prepare(db, seq ? "DELETE FROM sync_refused WHERE seq=?1"
				      : "DELETE FROM sync_refused", &st);
	if (rc)
		return rc;
	if (seq)
		sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
	rc = relais_sqlite_error(sqlite3_step(st));
	if (!rc && seq && sqlite3_changes(db) == 0)
		rc = RELAIS_ENOTFOUND;
	sqlite3_finalize(st);
	return rc;
}

static const char *op_name(int op)
{
	return op == SQLITE_INSERT ? "insert" : op == SQLITE_DELETE ? "delete" : "update";
}

int sync_changeset_json(const struct sync_tables *t, const void *cs, size_t len, json_t **out)
{
	sqlite3_changeset_iter *it = NULL;
	json_t *arr = json_array();
	int rc;

	*out = NULL;
	if (!arr)
		return RELAIS_ENOMEM;
	if (len > (size_t)INT32_MAX || sqlite3changeset_start(&it, (int)len, (void *)cs) != SQLITE_OK) {
		json_decref(arr);
		return RELAIS_ECORRUPT;
	}
	while ((rc = sqlite3changeset_next(it)) == SQLITE_ROW) {
		const char *tab;
		int ncol, op, ind;
		sqlite3_value *idv = NULL;
		if (sqlite3changeset_op(it, &tab, &ncol, &op, &ind) != SQLITE_OK) {
			rc = RELAIS_ECORRUPT;
			break;
		}
		int ti = sync_tables_find(t, tab);
		json_t *vals = json_object(), *ch = json_object();
		if (op == SQLITE_INSERT)
			sqlite3changeset_new(it, 0, &idv);
		else
			sqlite3changeset_old(it, 0, &idv);
		json_object_set_new(ch, "table", json_string(tab));
		json_object_set_new(ch, "op", json_string(op_name(op)));
		json_object_set_new(ch, "id", idv ? sync_value_json(idv) : json_null());
		for (int j = 2; op != SQLITE_DELETE && ti >= 0 && j < ncol && j < t->v[ti].ncols; j++) {
			sqlite3_value *v = NULL;
			if (sqlite3changeset_new(it, j, &v) == SQLITE_OK && v)
				json_object_set_new(vals, t->v[ti].cols[j], sync_value_json(v));
		}
		json_object_set_new(ch, "values", vals);
		if (json_array_append_new(arr, ch)) {
			rc = RELAIS_ENOMEM;
			break;
		}
	}
	if (rc == SQLITE_DONE)
		rc = 0;
	else if (rc > 0)
		rc = RELAIS_ECORRUPT;
	if (sqlite3changeset_finalize(it) != SQLITE_OK && !rc)
		rc = RELAIS_ECORRUPT;
	if (rc)
		json_decref(arr);
	else
		*out = arr;
	return rc;
}

/* Reads key of the bootstrap file's amorce table as an integer or text. */
static int amorce_value(sqlite3 *db, const char *key, sqlite3_int64 *num, char *text, size_t tlen)
{
	sqlite3_stmt *st = NULL;
	int rc = sync_prepare(db, "SELECT value FROM amorce.amorce WHERE key=?1", &st);
	if (rc)
		return RELAIS_ECORRUPT;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = RELAIS_ECORRUPT;
	} else {
		if (num)
			*num = sqlite3_column_int64(st, 0);
		if (text)
			snprintf(text, tlen, "%s", sqlite3_column_text(st, 0) ?
				 (const char *)sqlite3_column_text(st, 0) : "");
	}
	sqlite3_finalize(st);
	return rc;
}

/* 1 when db's main database is in WAL mode. */
static int journal_is_wal(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int wal = 0;
	if (!sync_prepare(db, "PRAGMA main.journal_mode", &st) && sqlite3_step(st) == SQLITE_ROW)
		wal = !sqlite3_stricmp((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	return wal;
}

int sync_bootstrap_install(sqlite3 *db, const struct sync_tables *t, const char *path,
			   int schema, const char *dept, uint64_t *rows)
{
	sqlite3_int64 seq = 0, hlc = 0, fschema = -1;
	char fdept[16] = "", *sql = NULL;
	uint64_t pending = 0, cursor = 0;
	struct sync_hlc c;
	int rc, attached = 0, began = 0, wal = 0;

	*rows = 0;
	sql = sqlite3_mprintf("ATTACH %Q AS amorce", path);
	if (!sql)
		return RELAIS_ENOMEM;
	rc = sync_exec(db, sql);
	sqlite3_free(sql);
	if (rc)
		return RELAIS_ECORRUPT;
	attached = 1;
	/* The file is read once, page after page: mapped, without a copy. */
	if (sizeof(void *) >= 8)
		sqlite3_exec(db, "PRAGMA amorce.mmap_size=4294967296", NULL, NULL, NULL);
	if ((rc = amorce_value(db, "seq", &seq, NULL, 0)) ||
	    (rc = amorce_value(db, "hlc", &hlc, NULL, 0)) ||
	    (rc = amorce_value(db, "schema", &fschema, NULL, 0)) ||
	    (rc = amorce_value(db, "dept", NULL, fdept, sizeof(fdept))))
		goto out;
	if (fschema != schema) {
		rc = RELAIS_ESCHEMA;
		goto out;
	}
	if (strcmp(fdept, dept) || seq < 0) {
		rc = RELAIS_ECORRUPT;
		goto out;
	}
	/* In WAL mode every page of the copy would be written twice (the log,
	 * then the checkpoint); a rollback journal holds only the few pages the
	 * empty replica had, and is as safe. Best effort: another connection
	 * on the replica keeps WAL, and the copy is merely slower. */
	wal = journal_is_wal(db);
	if (wal && sync_exec(db, "PRAGMA main.journal_mode=DELETE"))
		wal = 0;
	if ((rc = sync_exec(db, "BEGIN IMMEDIATE")))
		goto out;
	began = 1;
	/* Only into a replica that holds nothing yet. */
	if ((rc = sync_outbox_pending(db, &pending)) || (rc = meta_get_u64(db, "cursor", &cursor)))
		goto out;
	char *mark = NULL;
	if ((rc = sync_meta_get(db, "amorce", &mark)) == RELAIS_ENOTFOUND)
		rc = 0;
	int installed = mark && !strcmp(mark, SYNC_BOOTSTRAP_DONE);
	free(mark);
	if (rc)
		goto out;
	if (pending || cursor || installed) {
		rc = RELAIS_EBUSY;
		goto out;
	}
	for (size_t i = 0; i < t->n; i++) {
		const struct sync_table *tb = &t->v[i];
		sqlite3_stmt *st = NULL;
		/* Same columns, in the same order, or the file is not for us... */
		sql = sqlite3_mprintf("SELECT (SELECT count(*) FROM pragma_table_info(%Q, 'amorce') a "
				      "JOIN pragma_table_info(%Q, 'main') m USING (cid) WHERE a.name = m.name), "
				      "(SELECT count(*) FROM pragma_table_info(%Q, 'amorce'))",
				      tb->name, tb->name, tb->name);
		rc = sql ? sync_prepare(db, sql, &st) : RELAIS_ENOMEM;
		sqlite3_free(sql);
		if (!rc && (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int(st, 0) != tb->ncols ||
			    sqlite3_column_int(st, 1) != tb->ncols))
			rc = RELAIS_ESCHEMA;
		sqlite3_finalize(st);
		st = NULL;
		if (rc)
			goto out;
		/* ... and no row of another département. */
		sql = sqlite3_mprintf("SELECT EXISTS (SELECT 1 FROM amorce.\"%w\" WHERE dept IS NOT %Q)",
				      tb->name, dept);
		rc = sql ? sync_prepare(db, sql, &st) : RELAIS_ENOMEM;
		sqlite3_free(sql);
		if (!rc && (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int(st, 0)))
			rc = RELAIS_ECORRUPT;
		sqlite3_finalize(st);
		if (rc)
			goto out;
		/* "SELECT *" with no clause: when the file's table is defined as
		 * the replica's (relaisd builds it so), SQLite copies its records
		 * and index entries as they are, without decoding a row nor
		 * running a CHECK (its transfer optimisation). */
		sql = sqlite3_mprintf("INSERT INTO main.\"%w\" SELECT * FROM amorce.\"%w\"",
				      tb->name, tb->name);
		if (!sql) {
			rc = RELAIS_ENOMEM;
			goto out;
		}
		rc = sync_exec(db, sql);
		sqlite3_free(sql);
		if (rc)
			goto out;
		*rows += (uint64_t)sqlite3_changes64(db);
	}
	rc = meta_set_u64(db, "cursor", (uint64_t)seq);
	/* The mark that a file is in (its seq may be 0, as the cursor then). */
	if (!rc)
		rc = sync_meta_set(db, "amorce", SYNC_BOOTSTRAP_DONE);
	if (!rc)
		rc = meta_get_u64(db, "hlc", &c.last);
	if (rc)
		goto out;
	sync_hlc_observe(&c, (sync_hlc_t)hlc, util_now_ms());
	rc = meta_set_u64(db, "hlc", c.last);
	if (!rc)
		rc = sync_exec(db, "COMMIT");
	if (!rc)
		began = 0;
out:
	if (began)
		sync_rollback(db);
	if (attached)
		sqlite3_exec(db, "DETACH amorce", NULL, NULL, NULL);
	if (wal && sync_exec(db, "PRAGMA main.journal_mode=WAL") && !rc)
		rc = RELAIS_EDB;
	if (rc)
		*rows = 0;
	return rc;
}
