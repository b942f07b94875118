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
#include "../common/util.h"
#include "../model/model.h"
#include "../sync/sync.h"
#include "cli.h"
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
	const char *sql = id ? SELECT_CONFLICTS " WHERE id = ?"
		: all ? SELECT_CONFLICTS " ORDER BY created_hlc, id"
		: SELECT_CONFLICTS " WHERE resolution IS NULL ORDER BY created_hlc, id";

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

static void print_side(const struct conflict_side *s, const char *what, int is_mine)
{
	printf("  %s : %s\n      par %s, %s%s\n", what, s->value ? s->value : "(vide)", or_empty(s->login),
	       s->when, is_mine ? " (la vôtre)" : "");
}

static void print_conflict(const struct conflict *k)
{
	const struct model_table *t = model_table_by_name(k->table);
	const struct model_column *c = t && k->column ? model_column_by_name(t, k->column) : NULL;

	printf("Conflit %s : %s %s", k->id, t ? t->command : k->table, k->row);
	if (!strcmp(k->kind, "suppression"))
		printf(", modification d'une ligne supprimée");
	else
		printf(", %s", c ? c->label : or_empty(k->column));
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
	int n, nopen;
};

static int list_one(const struct conflict *c, void *arg)
{
	struct list_state *ls = arg;
	if (ls->arr) {
		if (json_array_append_new(ls->arr, conflict_json(c)))
			return RELAIS_ENOMEM;
	} else {
		if (ls->n)
			putchar('\n');
		print_conflict(c);
	}
	ls->n++;
	if (!c->resolution)
		ls->nopen++;
	return 0;
}

static int list_conflicts(struct replica *r, int json, int all)
{
	struct list_state ls = { NULL, 0, 0 };
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
		printf("\nPour trancher : relais conflicts resolve ID --keep mine|theirs\n");
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
	const struct option resolve_opts[] = {
		OPT_STRING_F(0, "keep", &keep, "mine|theirs",
			     "mine : garde votre valeur (ou la valeur en place si vous n'êtes\n"
			     "l'auteur d'aucune des deux) ; theirs : garde l'autre valeur",
			     OPTION_REQUIRED),
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
		&cli_prog, "conflicts resolve", "ID --keep mine|theirs",
		"Tranche le conflit ID (tel qu'affiché par « relais conflicts »).\n", resolve_opts,
		about, 1, 1, "identifiant du conflit",
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
	rc = resolving ? resolve(&r, id, keep) : list_conflicts(&r, json, all);
	replica_close(&r);
	return rc;
}
