/*
 * conflicts.c - "relais conflicts": list the conflicts the server recorded
 * (replicated rows of sync_conflict) and settle one of them.
 *
 * What "mine" means is said in conflicts.h; the reading and the settling
 * are shared with the /conflits page of relais ui.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../common/buf.h"
#include "../../common/util.h"
#include "../../model/domain.h"
#include "../../model/model.h"
#include "../../sync/sync.h"
#include "../cmd/cli.h"
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

int conflicts_each(sqlite3 *db, const char *node, int all, const char *id,
		   conflicts_fn fn, void *arg)
{
	sqlite3_stmt *st = NULL;
	struct conflict c;
	int rc = 0, s;
	/* Grouped by table and field, oldest first in each. */
	const char *sql = id ? SELECT_CONFLICTS " WHERE id = ?"
		: all ? SELECT_CONFLICTS " ORDER BY tbl, coalesce(col, ''), created_hlc, id"
		: SELECT_CONFLICTS " WHERE resolution IS NULL ORDER BY tbl, coalesce(col, ''), "
			"created_hlc, id";

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return RELAIS_EDB;
	if (id)
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
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
		if ((rc = fn(&c, arg)))
			goto out;
	}
	if (s != SQLITE_DONE)
		rc = RELAIS_EDB;
out:
	sqlite3_finalize(st);
	return rc;
}

static json_t *value_json(const char *s)
{
	if (!s)
		return json_null();
	json_t *v = json_loads(s, JSON_DECODE_ANY, NULL);
	return v ? v : json_string(s);
}

static json_t *text_json(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *side_json(const struct conflict_side *s)
{
	return json_pack("{s:o, s:o, s:o, s:s}", "value", value_json(s->value),
			 "login", text_json(s->login), "node", text_json(s->node), "time", s->when);
}

static json_t *conflict_json(const struct conflict *c)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:o}",
			 "id", text_json(c->id), "table", text_json(c->table),
			 "row", text_json(c->row), "column", text_json(c->column),
			 "kind", text_json(c->kind),
			 "kept", side_json(&c->kept), "lost", side_json(&c->lost),
			 "mine", c->mine_lost ? "lost" : "kept", "resolution",
			 text_json(c->resolution));
}

/* A conflict's value (JSON text) as people read it: a text without its
 * quotes, "(vide)" for none; malloc'd. */
static char *shown_value(const char *json)
{
	json_t *v = json ? json_loads(json, JSON_DECODE_ANY, NULL) : NULL;
	char *out = NULL;
	if (!v || json_is_null(v))
		out = strdup("(vide)");
	else if (json_is_string(v))
		out = strdup(json_string_value(v));
	else
		out = json_dumps(v, JSON_ENCODE_ANY);
	json_decref(v);
	return out;
}

static void print_side(const struct conflict_side *s, const char *what, int is_mine)
{
	char *v = shown_value(s->value);
	printf("  %s : %s\n      par %s, %s%s\n", what, v ? v : "?", or_empty(s->login),
	       s->when, is_mine ? " (la vôtre)" : "");
	free(v);
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

/* What a conflict is about, for people: "la structure « MJC de Tarbes »,
 * Téléphone". */
static void print_about(sqlite3 *db, const struct conflict *k)
{
	const struct model_table *t = model_table_by_name(k->table);
	const struct model_column *c = t && k->column ? model_column_by_name(t, k->column) : NULL;
	char *title = conflicts_row_title(db, k->table, k->row);
	printf("%s « %s »", t ? t->label : k->table, title ? title : k->row);
	free(title);
	if (!strcmp(k->kind, "suppression"))
		printf(", modification d'une fiche supprimée");
	else
		printf(", %s", c ? c->label : or_empty(k->column));
}

static void print_conflict(sqlite3 *db, const struct conflict *k)
{
	printf("Conflit %s : ", k->id);
	print_about(db, k);
	if (k->resolution)
		printf(" [résolu : valeur %s]\n", !strcmp(k->resolution, "gagnant") ? "gardée"
		       : "perdue rétablie");
	else
		printf(" [ouvert]\n");
	print_side(&k->kept, "gardée", k->authored && !k->mine_lost);
	print_side(&k->lost, "perdue", k->authored && k->mine_lost);
}

struct list_state {
	json_t *arr;     /* --json: the array being filled */
	sqlite3 *db;
	int n, nopen;
	char group[256]; /* table and column of the last one printed */
};

static int list_one(const struct conflict *c, void *arg)
{
	struct list_state *ls = arg;
	if (ls->arr) {
		json_t *o = conflict_json(c);
		char *title = conflicts_row_title(ls->db, c->table, c->row);
		if (o && title)
			json_object_set_new(o, "title", json_string(title));
		free(title);
		if (!o || json_array_append_new(ls->arr, o))
			return RELAIS_ENOMEM;
	} else {
		/* Grouped by what they are about: a heading per table and field. */
		char group[256];
		const struct model_table *t = model_table_by_name(c->table);
		const struct model_column *col = t && c->column ? model_column_by_name(t, c->column) : NULL;
		snprintf(group, sizeof(group), "%s — %s", t ? t->plural : c->table,
			 col ? col->label : c->column ? c->column : "fiches supprimées");
		if (strcmp(group, ls->group)) {
			printf("%s== %s ==\n", ls->n ? "\n" : "", group);
			memcpy(ls->group, group, sizeof(group));
		} else {
			putchar('\n');
		}
		print_conflict(ls->db, c);
	}
	ls->n++;
	if (!c->resolution)
		ls->nopen++;
	return 0;
}

static int list_conflicts(struct replica *r, int json, int all)
{
	struct list_state ls = { NULL, r->db, 0, 0, "" };
	char *node = NULL;
	int rc = CLI_EXIT_FAIL, e;

	if (replica_meta(r, "node", &node)) {
		cli_error("lecture des conflits impossible : %s", replica_errmsg(r->db));
		goto out;
	}
	if (json && !(ls.arr = json_array()))
		goto nomem;
	e = conflicts_each(r->db, node, all, NULL, list_one, &ls);
	if (e == RELAIS_ENOMEM)
		goto nomem;
	if (e) {
		cli_error("lecture des conflits impossible : %s", replica_errmsg(r->db));
		goto out;
	}
	if (json) {
		if (replica_print_json(ls.arr))
			goto nomem;
		putchar('\n');
	} else if (!ls.n) {
		printf("%s\n", all ? "Aucun conflit." : "Aucun conflit ouvert.");
	} else if (ls.nopen) {
		printf("\nPour trancher : relais conflicts resolve ID --keep mine|theirs\n"
		       "En bloc : relais conflicts resolve --champ CHAMP (ou --table, --auteur, "
		       "--tous) --keep mine|theirs\n");
	}
	rc = 0;
	goto out;
nomem:
	cli_error("%s", relais_strerror(RELAIS_ENOMEM));
out:
	free(node);
	json_decref(ls.arr);
	return rc;
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

struct preview {
	sqlite3 *db;
	int keep_mine;
	size_t shown;
};

/* What will be done to one conflict, shown before it is. */
static int preview_one(const struct conflict *c, void *arg)
{
	struct preview *p = arg;
	if (p->shown++ >= 20)
		return 0;
	int keep_lost = p->keep_mine ? c->mine_lost : !c->mine_lost;
	char *v = shown_value(keep_lost ? c->lost.value : c->kept.value);
	printf("  - ");
	print_about(p->db, c);
	printf(" : garder « %s »%s\n", v ? v : "?", keep_lost ? " (la valeur perdue)" : "");
	free(v);
	return 0;
}

static int resolve_bulk(struct replica *r, const char *keep, int all, const char *table,
			const char *champ, const char *author, int yes)
{
	struct conflicts_filter f;
	struct preview p = { r->db, !strcmp(keep, "mine"), 0 };
	char err[CLI_ERRLEN];
	size_t matched = 0, done = 0;

	if (conflicts_filter_set(&f, all, table, champ, author, err, sizeof(err))) {
		cli_error("%s (voir relais conflicts resolve --help)", err);
		return CLI_EXIT_USAGE;
	}
	if (replica_read_only(r))
		return CLI_EXIT_FAIL;
	printf("Conflits à trancher (%s) :\n", p.keep_mine ? "garder votre valeur, ou celle en place"
							   : "garder l'autre valeur");
	/* The preview first, always; then, asked for, the same conflicts. */
	if (conflicts_bulk(r, &f, p.keep_mine, 0, preview_one, &p, &matched, &done, err, sizeof(err))) {
		cli_error("%s", err);
		return CLI_EXIT_FAIL;
	}
	if (!matched) {
		printf("  aucun ne correspond.\n");
		return 0;
	}
	if (matched > 20)
		printf("  … et %zu autre%s.\n", matched - 20, matched - 20 > 1 ? "s" : "");
	if (!yes) {
		printf("%zu conflit%s correspond%s ; rien n'est modifié : relancez avec --oui pour "
		       "les trancher.\n", matched, matched > 1 ? "s" : "", matched > 1 ? "ent" : "");
		return 0;
	}
	int e = conflicts_bulk(r, &f, p.keep_mine, 1, NULL, NULL, &matched, &done, err, sizeof(err));
	if (e) {
		cli_error("%s ; %zu conflit%s tranché%s avant l'erreur.", err, done, done > 1 ? "s" : "",
			  done > 1 ? "s" : "");
		return CLI_EXIT_FAIL;
	}
	printf("%zu conflit%s tranché%s ; les décisions seront envoyées à la prochaine "
	       "synchronisation.\n", done, done > 1 ? "s" : "", done > 1 ? "s" : "");
	return 0;
}

static int resolve(struct replica *r, const char *id, const char *keep)
{
	char err[CLI_ERRLEN];
	int restored = 0;

	if (replica_read_only(r))
		return CLI_EXIT_FAIL;
	int e = conflicts_resolve(r, id, !strcmp(keep, "mine"), &restored, err, sizeof(err));
	if (e == RELAIS_ENOTFOUND) {
		cli_error("conflit « %s » introuvable (voir relais conflicts --all).", id);
		return CLI_EXIT_FAIL;
	}
	if (e) {
		cli_error("%s", err);
		return CLI_EXIT_FAIL;
	}
	printf("Conflit résolu : %s. La décision sera envoyée à la prochaine "
	       "synchronisation.\n", restored ? "la valeur perdue est rétablie"
					      : "la valeur en place est gardée");
	return 0;
}

int cmd_conflicts(const char *home, int argc, char **argv)
{
	struct replica r;
	char err[CLI_ERRLEN];
	int json = 0, all = 0, rc, n = 0;
	const char *id = NULL, *keep = NULL;
	int resolving = argc > 1 && !strcmp(argv[1], "resolve");
	const struct option list_opts[] = {
		OPT_FLAG(0, "json", &json, "sortie JSON"),
		OPT_FLAG(0, "all", &all, "inclut les conflits résolus"),
		OPT_END(),
	};
	int tous = 0, oui = 0;
	const char *table = NULL, *champ = NULL, *auteur = NULL;
	const struct option resolve_opts[] = {
		OPT_STRING_F(0, "keep", &keep, "mine|theirs",
			     "mine : garde votre valeur (ou la valeur en place si vous n'êtes\n"
			     "l'auteur d'aucune des deux) ; theirs : garde l'autre valeur",
			     OPTION_REQUIRED),
		OPT_GROUP("En bloc, sans ID (ce qui sera fait est affiché d'abord) :"),
		OPT_FLAG(0, "tous", &tous, "tous les conflits ouverts"),
		OPT_STRING(0, "table", &table, "TABLE", "ceux d'une table (structure, promeneur…)"),
		OPT_STRING(0, "champ", &champ, "CHAMP", "ceux d'un champ (telephone, « Téléphone »…)"),
		OPT_STRING(0, "auteur", &auteur, "IDENTIFIANT", "ceux où ce compte est l'un des auteurs"),
		OPT_FLAG(0, "oui", &oui, "trancher vraiment (sinon : aperçu seulement)"),
		OPT_END(),
	};
	static const char about[] =
		"Un conflit naît quand deux personnes ont modifié la même valeur : la plus récente\n"
		"est gardée, l'autre est conservée ici pour que vous choisissiez.\n";
	const struct options_cmd list_cmd = {
		&cli_prog, "conflicts", "[--json] [--all]\nresolve ID --keep mine|theirs",
		"Liste les conflits ouverts (--all : aussi ceux déjà résolus), ou en tranche un.\n",
		list_opts, about, 0, 0, NULL,
	};
	const struct options_cmd resolve_cmd = {
		&cli_prog, "conflicts resolve",
		"ID --keep mine|theirs\n--keep mine|theirs --tous|--table T|--champ C|--auteur L [--oui]",
		"Tranche le conflit ID (tel qu'affiché par « relais conflicts »), ou en bloc ceux\n"
		"qui correspondent aux filtres : la liste de ce qui sera fait s'affiche, et rien\n"
		"n'est modifié sans --oui.\n", resolve_opts, about, 0, 1, "identifiant du conflit",
	};

	if (resolving)
		rc = options_parse_cmd(&resolve_cmd, argc - 2, argv + 2, &id, &n);
	else
		rc = options_parse_cmd(&list_cmd, argc - 1, argv + 1, NULL, NULL);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (resolving && strcmp(keep, "mine") && strcmp(keep, "theirs")) {
		cli_error("--keep attend « mine » (votre valeur) ou « theirs » (l'autre), "
			  "pas « %s ».", keep);
		return CLI_EXIT_FAIL;
	}
	if (replica_open(&r, home, 0, err, sizeof(err))) {
		cli_error("%s", err);
		return CLI_EXIT_FAIL;
	}
	if (resolving && !id)
		rc = resolve_bulk(&r, keep, tous, table, champ, auteur, oui);
	else if (resolving && (tous || table || champ || auteur || oui))
		rc = (cli_error("un ID ou des filtres, pas les deux (voir relais conflicts resolve "
				"--help)."), CLI_EXIT_USAGE);
	else
		rc = resolving ? resolve(&r, id, keep) : list_conflicts(&r, json, all);
	replica_close(&r);
	return rc;
}
