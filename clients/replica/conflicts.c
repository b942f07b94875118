/*
 * conflicts.c - the conflicts the server recorded (replicated rows of
 * sync_conflict): read, named and settled, one by one or in bulk, for
 * "relais conflits" and the /conflits page of relais ui. What "mine"
 * means is said in conflicts.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../common/buf.h"
#include "../../common/util.h"
#include "../../model/domain.h"
#include "../../model/model.h"
#include "../../sync/sync.h"
#include "conflicts.h"
#include "replica.h"

enum {
	C_ID, C_TBL, C_ROW, C_COL, C_KIND,
	C_KEPT, C_KEPT_LOGIN, C_KEPT_NODE, C_KEPT_HLC,
	C_LOST, C_LOST_LOGIN, C_LOST_NODE, C_LOST_HLC,
	C_RESOLUTION
};

#define SELECT_CONFLICTS \
	"SELECT id, tbl, row_id, col, kind, kept, kept_login, kept_node, kept_hlc, " \
	"lost, lost_login, lost_node, lost_hlc, resolution FROM " SYNC_CONFLICT_TABLE

static const char *text_at(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);
	return s ? s : "";
}

/* An HLC column may hold the packed integer or its decimal text. */
static void side_time(sqlite3_stmt *st, int i, struct conflict_side *s)
{
	long long v;
	int type = sqlite3_column_type(st, i);
	s->when[0] = 0;
	s->ms = 0;
	if (type == SQLITE_INTEGER) {
		v = sqlite3_column_int64(st, i);
	} else if (type == SQLITE_NULL) {
		return;
	} else if (util_parse_ll(text_at(st, i), 0, INT64_MAX, &v)) {
		snprintf(s->when, sizeof(s->when), "%s", text_at(st, i));
		return;
	}
	sync_hlc_format((sync_hlc_t)v, s->when, sizeof(s->when));
	s->ms = (int64_t)sync_hlc_ms((sync_hlc_t)v);
}

/* A nullable text column: NULL for SQL NULL. */
static const char *opt_at(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? NULL : text_at(st, i);
}

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

static void side_of(sqlite3_stmt *st, int value, int login, int node, int hlc,
		    struct conflict_side *s)
{
	s->value = opt_at(st, value);
	s->login = opt_at(st, login);
	s->node = opt_at(st, node);
	side_time(st, hlc, s);
}

struct each_state {
	const char *node;
	conflicts_fn fn;
	void *arg;
};

/* Hands the conflict of the current row to the caller's function. */
static int each_row(sqlite3_stmt *st, void *arg)
{
	const struct each_state *es = arg;
	const char *node = es->node;
	struct conflict c;

	memset(&c, 0, sizeof(c));
	c.id = text_at(st, C_ID);
	c.table = text_at(st, C_TBL);
	c.row = text_at(st, C_ROW);
	c.column = opt_at(st, C_COL);
	c.kind = text_at(st, C_KIND);
	c.resolution = opt_at(st, C_RESOLUTION);
	side_of(st, C_KEPT, C_KEPT_LOGIN, C_KEPT_NODE, C_KEPT_HLC, &c.kept);
	side_of(st, C_LOST, C_LOST_LOGIN, C_LOST_NODE, C_LOST_HLC, &c.lost);
	c.mine_lost = node && strcmp(or_empty(c.kept.node), node) &&
		      !strcmp(or_empty(c.lost.node), node);
	c.authored = node && (!strcmp(or_empty(c.kept.node), node) ||
			      !strcmp(or_empty(c.lost.node), node));
	return es->fn(&c, es->arg);
}

int conflicts_each(sqlite3 *db, const char *node, int all, const char *id,
		   conflicts_fn fn, void *arg)
{
	struct each_state es = { node, fn, arg };
	sqlite3_stmt *st = NULL;
	/* Grouped by table and field, oldest first in each. */
	const char *sql = id ? SELECT_CONFLICTS " WHERE id = ?"
		: all ? SELECT_CONFLICTS " ORDER BY tbl, coalesce(col, ''), created_hlc, id"
		: SELECT_CONFLICTS " WHERE resolution IS NULL ORDER BY tbl, coalesce(col, ''), "
			"created_hlc, id";

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return RELAIS_EDB;
	if (id)
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	return replica_rows(st, each_row, &es);
}

char *conflicts_row_title(sqlite3 *db, const char *table, const char *row)
{
	const struct model_table *t = model_table_by_name(table);
	struct buf sql = BUF_INIT(4096);
	sqlite3_stmt *st = NULL;
	char *title = NULL;
	if (t && !buf_puts(&sql, "SELECT ") && !domain_title_sql(t, &sql) &&
	    !buf_printf(&sql, " FROM \"%s\" r WHERE r.id = ?1", t->name) &&
	    sqlite3_prepare_v2(db, buf_str(&sql), -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, row, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
			title = strdup((const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	buf_release(&sql);
	return title;
}

struct resolve_state {
	int found, open, mine_lost;
};

static int resolve_one(const struct conflict *c, void *arg)
{
	struct resolve_state *rs = arg;
	rs->found = 1;
	rs->open = !c->resolution;
	rs->mine_lost = c->mine_lost;
	return 0;
}

int conflicts_resolve(struct replica *r, const char *id, int keep_mine, int *restored,
		      char *err, size_t errlen)
{
	struct resolve_state rs = { 0, 0, 0 };
	char *node = NULL, *login = NULL, *role = NULL;
	int rc;

	if ((rc = replica_meta(r, "role", &role)))
		goto read_error;
	if (role && !strcmp(role, "caf")) {
		snprintf(err, errlen, "ce compte (rôle caf) est en lecture seule : modification refusée.");
		rc = RELAIS_EPERM;
		goto out;
	}
	if ((rc = replica_meta(r, "node", &node)) || (rc = replica_meta(r, "login", &login)) ||
	    (rc = conflicts_each(r->db, node, 1, id, resolve_one, &rs)))
		goto read_error;
	if (!rs.found) {
		snprintf(err, errlen, "conflit « %s » introuvable.", id);
		rc = RELAIS_ENOTFOUND;
		goto out;
	}
	if (!rs.open) {
		snprintf(err, errlen, "le conflit « %s » est déjà résolu.", id);
		rc = RELAIS_EEXIST;
		goto out;
	}
	int keep_lost = keep_mine ? rs.mine_lost : !rs.mine_lost;
	rc = sync_conflict_resolve(r->db, r->tables, id, keep_lost, login ? login : "");
	if (rc == RELAIS_ENOTFOUND)
		snprintf(err, errlen, "conflit « %s » introuvable.", id);
	else if (rc == RELAIS_EEXIST)
		snprintf(err, errlen, "le conflit « %s » est déjà résolu.", id);
	else if (rc)
		snprintf(err, errlen, "résolution impossible : %s ; rien n'a été modifié.",
			 relais_strerror(rc));
	else if (restored)
		*restored = keep_lost;
	goto out;
read_error:
	snprintf(err, errlen, "lecture des conflits impossible : %s", replica_errmsg(r->db));
out:
	free(role);
	free(node);
	free(login);
	return rc;
}

/* ---- settling in bulk ---- */

/* Finds the column a person named (its option's spelling, its SQL name or
 * its label, accents and case forgiven) in the tables that have it. */
static const char *column_named(const char *table, const char *name)
{
	char want[256], got[256];
	model_fold(name, want, sizeof(want));
	for (size_t i = 0; i < model_ntables; i++) {
		const struct model_table *t = &model_tables[i];
		if (table && strcmp(t->name, table))
			continue;
		for (size_t j = 0; j < t->ncolumns; j++) {
			const struct model_column *c = &t->columns[j];
			model_fold(c->name, got, sizeof(got));
			if (!strcmp(got, want))
				return c->name;
			model_fold(c->label, got, sizeof(got));
			if (!strcmp(got, want))
				return c->name;
		}
	}
	return NULL;
}

int conflicts_filter_set(struct conflicts_filter *f, int all, const char *table, const char *champ,
			 const char *author, char *err, size_t errlen)
{
	memset(f, 0, sizeof(*f));
	f->author = author && *author ? author : NULL;
	if (!all && !(table && *table) && !(champ && *champ) && !f->author) {
		snprintf(err, errlen, "trancher en bloc demande un filtre : table, champ, auteur, ou "
			 "tous les conflits.");
		return RELAIS_EINVAL;
	}
	if (table && *table) {
		const struct model_table *t = model_table_by_command(table);
		if (!t)
			t = model_table_by_name(table);
		if (!t) {
			snprintf(err, errlen, "« %s » n'est pas une table (structure, promeneur…).", table);
			return RELAIS_EINVAL;
		}
		f->table = t->name;
	}
	if (champ && *champ && !(f->column = column_named(f->table, champ))) {
		snprintf(err, errlen, "aucun champ « %s »%s%s.", champ, f->table ? " dans " : "",
			 f->table ? f->table : "");
		return RELAIS_EINVAL;
	}
	return 0;
}

struct bulk {
	const struct conflicts_filter *f;
	conflicts_fn each;
	void *arg;
	char **ids;
	size_t n, cap;
};

static int bulk_one(const struct conflict *c, void *arg)
{
	struct bulk *b = arg;
	const struct conflicts_filter *f = b->f;
	if (c->resolution || (f->table && strcmp(f->table, c->table)) ||
	    (f->column && (!c->column || strcmp(f->column, c->column))) ||
	    (f->author && strcmp(or_empty(c->kept.login), f->author) &&
	     strcmp(or_empty(c->lost.login), f->author)))
		return 0;
	if (b->n == b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 64;
		char **v = realloc(b->ids, nc * sizeof(*v));
		if (!v)
			return RELAIS_ENOMEM;
		b->ids = v;
		b->cap = nc;
	}
	if (!(b->ids[b->n] = strdup(c->id)))
		return RELAIS_ENOMEM;
	b->n++;
	return b->each ? b->each(c, b->arg) : 0;
}

int conflicts_bulk(struct replica *r, const struct conflicts_filter *f, int keep_mine, int apply,
		   conflicts_fn each, void *arg, size_t *matched, size_t *done, char *err,
		   size_t errlen)
{
	struct bulk b = { f, each, arg, NULL, 0, 0 };
	char *node = NULL;
	int rc;

	*matched = *done = 0;
	if ((rc = replica_meta(r, "node", &node))) {
		snprintf(err, errlen, "lecture des conflits impossible : %s", replica_errmsg(r->db));
		return rc;
	}
	rc = conflicts_each(r->db, node, 0, NULL, bulk_one, &b);
	if (rc)
		snprintf(err, errlen, "lecture des conflits impossible : %s", relais_strerror(rc));
	*matched = b.n;
	for (size_t i = 0; !rc && apply && i < b.n; i++) {
		rc = conflicts_resolve(r, b.ids[i], keep_mine, NULL, err, errlen);
		if (rc == RELAIS_EEXIST)
			rc = 0; /* settled meanwhile */
		else if (!rc)
			(*done)++;
	}
	for (size_t i = 0; i < b.n; i++)
		free(b.ids[i]);
	free(b.ids);
	free(node);
	return rc;
}
