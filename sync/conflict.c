/*
 * conflict.c - settling a conflict from a replica.
 *
 * A resolution is an ordinary captured edit: the chosen value is written
 * again with a new HLC, later than both sides, so it wins on the server and
 * everywhere after the next syncs; the conflict row records who settled it.
 */
#include <stdlib.h>
#include <string.h>
#include "sync.h"
#include "sync_int.h"

struct conflict_row {
	char *tbl, *row_id, *col, *kind, *lost;
	int resolved;
};

static void conflict_row_clear(struct conflict_row *c)
{
	free(c->tbl);
	free(c->row_id);
	free(c->col);
	free(c->kind);
	free(c->lost);
}

static char *column_dup(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);
	return s ? strdup(s) : NULL;
}

static int conflict_read(sqlite3 *db, const char *id, struct conflict_row *c)
{
	sqlite3_stmt *st = NULL;
	int rc;

	memset(c, 0, sizeof(*c));
	rc = sync_prepare(db, "SELECT tbl, row_id, col, kind, lost, resolution IS NOT NULL "
			  "FROM sync_conflict WHERE id=?1", &st);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rc = rc == SQLITE_DONE ? RELAIS_ENOTFOUND : relais_sqlite_error(rc);
		goto out;
	}
	c->tbl = column_dup(st, 0);
	c->row_id = column_dup(st, 1);
	c->col = column_dup(st, 2);
	c->kind = column_dup(st, 3);
	c->lost = column_dup(st, 4);
	c->resolved = sqlite3_column_int(st, 5);
	rc = c->tbl && c->row_id && c->kind ? 0 : RELAIS_ECORRUPT;
out:
	sqlite3_finalize(st);
	return rc;
}

/* Prepares sql (from sqlite3_mprintf or a sync_sql_* builder: NULL means it
 * could not be made) and frees it. */
static int prepare_made(sqlite3 *db, char *sql, sqlite3_stmt **st)
{
	int rc;

	*st = NULL;
	if (!sql)
		return RELAIS_ENOMEM;
	rc = sync_prepare(db, sql, st);
	sqlite3_free(sql);
	return rc;
}

/* Writes the losing value of one column back. */
static int restore_value(sqlite3 *db, const struct sync_table *tb, const struct conflict_row *c,
			 const json_t *lost)
{
	sqlite3_stmt *st;
	int j, rc;

	for (j = 2; j < tb->ncols; j++)
		if (c->col && !strcmp(tb->cols[j], c->col))
			break;
	if (j == tb->ncols)
		return RELAIS_ESCHEMA;
	rc = prepare_made(db, sqlite3_mprintf("UPDATE \"%w\" SET \"%w\"=?1 WHERE id=?2", tb->name,
					      tb->cols[j]), &st);
	if (rc)
		return rc;
	rc = sync_bind_json(st, 1, lost);
	if (!rc) {
		sqlite3_bind_text(st, 2, c->row_id, -1, SQLITE_STATIC);
		rc = relais_sqlite_error(sqlite3_step(st));
	}
	sqlite3_finalize(st);
	return rc;
}

/* Puts a deleted row back with the edits that the deletion overrode; the
 * server takes an INSERT of a deleted id as a restore. */
static int restore_row(sqlite3 *db, const struct sync_table *tb, const struct conflict_row *c,
		       const json_t *lost)
{
	sqlite3_stmt *st;
	int rc;

	if (!json_is_object(lost))
		return RELAIS_ECORRUPT;
	rc = prepare_made(db, sync_sql_insert(tb, 1), &st);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, c->row_id, -1, SQLITE_STATIC);
	for (int j = 1; !rc && j < tb->ncols; j++) {
		const json_t *v = json_object_get(lost, tb->cols[j]);
		rc = v ? sync_bind_json(st, j + 1, v) : relais_sqlite_error(sqlite3_bind_null(st, j + 1));
	}
	if (!rc)
		rc = relais_sqlite_error(sqlite3_step(st));
	sqlite3_finalize(st);
	return rc;
}

static int mark_resolved(sqlite3 *db, const char *id, int keep_lost, const char *login)
{
	sqlite3_stmt *st = NULL;
	sync_hlc_t h;
	int rc = sync_meta_hlc_now(db, &h);

	if (rc)
		return rc;
	rc = sync_prepare(db, "UPDATE sync_conflict SET resolution=?2, resolved_by=?3, resolved_hlc=?4 "
			  "WHERE id=?1", &st);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, keep_lost ? "perdant" : "gagnant", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, login, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)h);
	rc = relais_sqlite_error(sqlite3_step(st));
	sqlite3_finalize(st);
	return rc;
}

int sync_conflict_resolve(sqlite3 *db, const struct sync_tables *t, const char *id,
			  int keep_lost, const char *login)
{
	struct sync_capture *cap = NULL;
	struct conflict_row c;
	json_t *lost = NULL;
	int rc, ti;

	rc = sync_capture_begin(db, t, &cap);
	if (rc)
		return rc;
	rc = conflict_read(db, id, &c);
	if (rc)
		goto out;
	if (c.resolved) {
		rc = RELAIS_EEXIST;
		goto out;
	}
	if (keep_lost) {
		ti = sync_tables_find(t, c.tbl);
		lost = c.lost ? json_loads(c.lost, JSON_DECODE_ANY, NULL) : NULL;
		if (ti < 0)
			rc = RELAIS_ESCHEMA;
		else if (!lost)
			rc = RELAIS_ECORRUPT;
		else if (!strcmp(c.kind, "suppression"))
			rc = restore_row(db, &t->v[ti], &c, lost);
		else
			rc = restore_value(db, &t->v[ti], &c, lost);
		if (rc)
			goto out;
	}
	rc = mark_resolved(db, id, keep_lost, login);
	if (rc)
		goto out;
	rc = sync_capture_commit(cap);
	cap = NULL;
out:
	sync_capture_abort(cap);
	json_decref(lost);
	conflict_row_clear(&c);
	return rc;
}
