/*
 * personne.c - everything the replica holds on one promeneur, part by part
 * (personne.h).
 */
#include <string.h>
#include "../../common/buf.h"
#include "personne.h"
#include "replica.h"

#define SQL_MAX (16u << 10)

/* The messages of the journal sent from the person's address. */
#define MAIL_SQL \
	"SELECT * FROM inbound_mail WHERE lower(expediteur) = lower(" \
	"(SELECT email FROM promeneur WHERE id = ?1)) ORDER BY recu_le, id"

/* SELECT * of the rows of t that name promeneur ?1; *st stays NULL when t
 * has no reference to promeneur. */
static int rows_sql(sqlite3 *db, const struct model_table *t, const char *id, sqlite3_stmt **st)
{
	struct buf sql = BUF_INIT(SQL_MAX);
	int refs = 0, rc;
	*st = NULL;
	buf_printf(&sql, "SELECT * FROM \"%s\" WHERE ", t->name);
	for (size_t k = 0; k < t->ncolumns; k++) {
		const struct model_column *c = &t->columns[k];
		if (c->kind != MODEL_REF || strcmp(c->ref, "promeneur") ||
		    c->since > MODEL_SCHEMA_VERSION)
			continue;
		buf_printf(&sql, "%s\"%s\" = ?1", refs++ ? " OR " : "", c->name);
	}
	buf_puts(&sql, " ORDER BY id");
	rc = buf_error(&sql);
	if (!rc && refs)
		rc = replica_prepare(db, st, buf_str(&sql), "t", id);
	buf_release(&sql);
	return rc;
}

/* Hands st, when there is one, to fn as part p; finalizes it. */
static int part(const struct personne_part *p, sqlite3_stmt *st,
		int (*fn)(const struct personne_part *p, sqlite3_stmt *st, void *arg), void *arg)
{
	int rc = st ? fn(p, st, arg) : 0;
	sqlite3_finalize(st);
	return rc;
}

int personne_walk(sqlite3 *db, const char *id,
		  int (*fn)(const struct personne_part *p, sqlite3_stmt *st, void *arg), void *arg)
{
	struct personne_part p = { PERSONNE_FICHE, model_table_by_name("promeneur") };
	sqlite3_stmt *st = NULL;
	int rc = replica_prepare(db, &st, "SELECT * FROM promeneur WHERE id = ?1", "t", id);
	if (!rc)
		rc = part(&p, st, fn, arg);
	p.kind = PERSONNE_ROWS;
	for (size_t i = 0; i < model_ntables && !rc; i++) {
		p.t = &model_tables[i];
		if (p.t->since > MODEL_SCHEMA_VERSION)
			continue;
		if (!(rc = rows_sql(db, p.t, id, &st)))
			rc = part(&p, st, fn, arg);
	}
	p.kind = PERSONNE_MAIL;
	p.t = model_table_by_name("inbound_mail");
	if (!rc && !(rc = replica_prepare(db, &st, MAIL_SQL, "t", id)))
		rc = part(&p, st, fn, arg);
	return rc;
}

/* Adds part p to the export obj: the fiche as an object, any other part as
 * an array of its rows. */
static int export_part(const struct personne_part *p, sqlite3_stmt *st, void *arg)
{
	json_t *obj = arg, *arr;
	int s;
	if (p->kind == PERSONNE_FICHE) {
		if ((s = sqlite3_step(st)) != SQLITE_ROW)
			return s == SQLITE_DONE ? RELAIS_ENOTFOUND : RELAIS_EDB;
		return json_object_set_new(obj, "promeneur", replica_row_json(st)) ? RELAIS_ENOMEM : 0;
	}
	if (!(arr = json_array()) || json_object_set_new(obj, p->t->name, arr))
		return RELAIS_ENOMEM;
	while ((s = sqlite3_step(st)) == SQLITE_ROW)
		if (json_array_append_new(arr, replica_row_json(st)))
			return RELAIS_ENOMEM;
	return s == SQLITE_DONE ? 0 : RELAIS_EDB;
}

int personne_export(sqlite3 *db, const char *id, json_t **out)
{
	json_t *obj = json_object();
	int rc = obj ? personne_walk(db, id, export_part, obj) : RELAIS_ENOMEM;
	if (rc) {
		json_decref(obj);
		obj = NULL;
	}
	*out = obj;
	return rc;
}
