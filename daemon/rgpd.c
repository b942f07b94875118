/*
 * rgpd.c - what the server keeps of a person whose data a replica erased
 * (rgpd.h).
 *
 * `relais rgpd effacer` erases the personal columns of rows on a replica,
 * and the sync brings the erasure here. Two copies stay out of its reach:
 * the values a conflict kept of those columns (sync_conflict, written by the
 * server only) and the raw message in the gateway's archive. A row counts as
 * erased when a required personal column holds the value the erasure writes,
 * or, for a table without one (the mail journal), when all its personal
 * columns are empty.
 */
#include <stdio.h>
#include <string.h>
#include "../common/buf.h"
#include "../model/model.h"
#include "../sync/sync.h"
#include "rgpd.h"

#define SQL_MAX (16u << 10)
/* The erased values (model.h), as buf_printf() formats. */
#define ERASED_EMAIL_LIKE MODEL_ERASED_EMAIL_PREFIX "%%" MODEL_ERASED_EMAIL_DOMAIN

/* The condition, over table t's columns, of a row whose personal data is
 * erased; RELAIS_ENOTFOUND when t holds none. */
static int erased_where(const struct model_table *t, struct buf *w)
{
	int required = 0, n = 0, rc = 0;
	for (size_t i = 0; i < t->ncolumns && !rc; i++) {
		const struct model_column *c = &t->columns[i];
		if (!(c->flags & MODEL_PERSONAL) || !(c->flags & MODEL_REQUIRED))
			continue;
		rc = c->kind == MODEL_EMAIL
			     ? buf_printf(w, "%s\"%s\" LIKE '" ERASED_EMAIL_LIKE "'", required ? " OR " : "",
					  c->name)
			     : buf_printf(w, "%s\"%s\" = '" MODEL_ERASED_TEXT "'", required ? " OR " : "", c->name);
		required++;
	}
	for (size_t i = 0; i < t->ncolumns && !rc && !required; i++) {
		const struct model_column *c = &t->columns[i];
		if (c->flags & MODEL_PERSONAL)
			rc = buf_printf(w, "%s\"%s\" IS NULL", n++ ? " AND " : "", c->name);
	}
	if (!rc && !required && !n)
		return RELAIS_ENOTFOUND;
	return rc;
}

/* Empties the conflicts' values of the personal columns (and the whole-row
 * values of deletion conflicts) of t's erased rows. */
static int scrub_conflicts(sqlite3 *db, const struct model_table *t, long long *n)
{
	struct buf w = BUF_INIT(SQL_MAX), sql = BUF_INIT(SQL_MAX);
	int rc = erased_where(t, &w);
	if (rc)
		goto out;
	rc = buf_printf(&sql, "UPDATE sync_conflict SET kept = NULL, lost = NULL WHERE tbl = '%s' "
			"AND (kept IS NOT NULL OR lost IS NOT NULL) AND (col IS NULL", t->name);
	for (size_t i = 0; i < t->ncolumns && !rc; i++)
		if (t->columns[i].flags & MODEL_PERSONAL)
			rc = buf_printf(&sql, " OR col = '%s'", t->columns[i].name);
	if (!rc)
		rc = buf_printf(&sql, ") AND row_id IN (SELECT id FROM \"%s\" WHERE %s)", t->name,
				buf_str(&w));
	if (!rc)
		rc = relais_sqlite_error(sqlite3_exec(db, buf_str(&sql), NULL, NULL, NULL));
	if (!rc)
		*n += sqlite3_changes(db);
out:
	buf_release(&w);
	buf_release(&sql);
	return rc == RELAIS_ENOTFOUND ? 0 : rc;
}

static int archive_exists(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int yes = sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
				     "name = 'mail_archive'", -1, &st, NULL) == SQLITE_OK &&
		  sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return yes;
}

int rgpd_scrub(sqlite3 *db, const struct sync_tables *tables, struct rgpd_counts *out)
{
	struct sync_local *l = NULL;
	int rc = sync_local_begin(db, tables, &l);
	memset(out, 0, sizeof(*out));
	if (rc)
		return rc;
	for (size_t i = 0; i < model_ntables && !rc; i++)
		if (model_tables[i].since <= MODEL_SCHEMA_VERSION)
			rc = scrub_conflicts(db, &model_tables[i], &out->conflicts);
	/* The raw message of a journal row whose sender was erased. The archive
	 * is the server's own table (no replica holds it), made when the
	 * gateway first runs. */
	if (!rc && archive_exists(db)) {
		struct buf w = BUF_INIT(SQL_MAX), sql = BUF_INIT(SQL_MAX);
		rc = erased_where(model_table_by_name("inbound_mail"), &w);
		if (!rc)
			rc = buf_printf(&sql, "DELETE FROM mail_archive WHERE id IN (SELECT id FROM "
					"inbound_mail WHERE resultat <> 'en_cours' AND %s)", buf_str(&w));
		if (!rc)
			rc = relais_sqlite_error(sqlite3_exec(db, buf_str(&sql), NULL, NULL, NULL));
		if (!rc)
			out->archives = sqlite3_changes(db);
		buf_release(&w);
		buf_release(&sql);
	}
	if (rc) {
		sync_local_abort(l);
		return rc;
	}
	return sync_local_commit(l, "relaisd-rgpd");
}
