/*
 * conflicts.c - "relais conflicts": list the conflicts the server recorded
 * (replicated rows of sync_conflict) and settle one of them.
 *
 * "mine" is the side whose node is this replica's node; when this replica
 * authored neither side, "mine" is the kept value, so that "--keep mine"
 * never changes data the coordinator did not touch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../common/util.h"
#include "../model/model.h"
#include "../sync/sync.h"
#include "cli.h"
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
static void time_at(sqlite3_stmt *st, int i, char *out, size_t outlen)
{
	long long v;
	int type = sqlite3_column_type(st, i);
	if (type == SQLITE_INTEGER) {
		sync_hlc_format((sync_hlc_t)sqlite3_column_int64(st, i), out, outlen);
	} else if (type == SQLITE_NULL) {
		out[0] = 0;
	} else if (util_parse_ll(text_at(st, i), 0, INT64_MAX, &v) == 0) {
		sync_hlc_format((sync_hlc_t)v, out, outlen);
	} else {
		snprintf(out, outlen, "%s", text_at(st, i));
	}
}

/* Returns "kept" or "lost": which side is this replica's. */
static const char *mine_of(sqlite3_stmt *st, const char *node)
{
	if (node && !strcmp(text_at(st, C_KEPT_NODE), node))
		return "kept";
	if (node && !strcmp(text_at(st, C_LOST_NODE), node))
		return "lost";
	return "kept";
}

static json_t *value_json(sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return json_null();
	const char *s = text_at(st, i);
	json_t *v = json_loads(s, JSON_DECODE_ANY, NULL);
	return v ? v : json_string(s);
}

static json_t *text_json(sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return json_null();
	return json_string(text_at(st, i));
}

static json_t *side_json(sqlite3_stmt *st, int value, int login, int node, int hlc)
{
	char when[64];
	time_at(st, hlc, when, sizeof(when));
	return json_pack("{s:o, s:o, s:o, s:s}", "value", value_json(st, value),
			 "login", text_json(st, login), "node", text_json(st, node), "time", when);
}

static json_t *conflict_json(sqlite3_stmt *st, const char *node)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:o}",
			 "id", text_json(st, C_ID), "table", text_json(st, C_TBL),
			 "row", text_json(st, C_ROW), "column", text_json(st, C_COL),
			 "kind", text_json(st, C_KIND),
			 "kept", side_json(st, C_KEPT, C_KEPT_LOGIN, C_KEPT_NODE, C_KEPT_HLC),
			 "lost", side_json(st, C_LOST, C_LOST_LOGIN, C_LOST_NODE, C_LOST_HLC),
			 "mine", mine_of(st, node), "resolution", text_json(st, C_RESOLUTION));
}

static void print_side(sqlite3_stmt *st, const char *what, int value, int login, int hlc,
		       int is_mine)
{
	char when[64];
	time_at(st, hlc, when, sizeof(when));
	const char *v = sqlite3_column_type(st, value) == SQLITE_NULL ? "(vide)" : text_at(st, value);
	printf("  %s : %s\n      par %s, %s%s\n", what, v, text_at(st, login), when,
	       is_mine ? " (la vôtre)" : "");
}

static void print_conflict(sqlite3_stmt *st, const char *node)
{
	const struct model_table *t = model_table_by_name(text_at(st, C_TBL));
	const struct model_column *c = t ? model_column_by_name(t, text_at(st, C_COL)) : NULL;
	const char *res = sqlite3_column_type(st, C_RESOLUTION) == SQLITE_NULL ? NULL
			  : text_at(st, C_RESOLUTION);
	const char *mine = mine_of(st, node);
	int authored = node && (!strcmp(text_at(st, C_KEPT_NODE), node) ||
				!strcmp(text_at(st, C_LOST_NODE), node));

	printf("Conflit %s : %s %s", text_at(st, C_ID), t ? t->command : text_at(st, C_TBL),
	       text_at(st, C_ROW));
	if (!strcmp(text_at(st, C_KIND), "suppression"))
		printf(", modification d'une ligne supprimée");
	else
		printf(", %s", c ? c->label : text_at(st, C_COL));
	if (res)
		printf(" [résolu : valeur %s]\n", !strcmp(res, "gagnant") ? "gardée" : "perdue rétablie");
	else
		printf(" [ouvert]\n");
	print_side(st, "gardée", C_KEPT, C_KEPT_LOGIN, C_KEPT_HLC, authored && !strcmp(mine, "kept"));
	print_side(st, "perdue", C_LOST, C_LOST_LOGIN, C_LOST_HLC, authored && !strcmp(mine, "lost"));
}

static void help_conflicts(void)
{
	printf("Usage : relais [--home DIR] conflicts [--json] [--all]\n"
	       "       relais [--home DIR] conflicts resolve ID --keep mine|theirs\n"
	       "Liste les conflits ouverts (--all : aussi ceux déjà résolus), ou en tranche un.\n"
	       "Un conflit naît quand deux personnes ont modifié la même valeur : la plus récente\n"
	       "est gardée, l'autre est conservée ici pour que vous choisissiez.\n\n"
	       "Options :\n"
	       "  --json              sortie JSON\n"
	       "  --all               inclut les conflits résolus\n"
	       "  --keep mine         garde votre valeur (ou la valeur en place si vous n'êtes\n"
	       "                      l'auteur d'aucune des deux)\n"
	       "  --keep theirs       garde l'autre valeur\n");
}

static int list_conflicts(struct replica *r, int json, int all)
{
	sqlite3_stmt *st = NULL;
	json_t *arr = NULL;
	char *node = NULL;
	int rc = CLI_EXIT_FAIL, s, n = 0, nopen = 0;
	const char *sql = all ? SELECT_CONFLICTS " ORDER BY created_hlc, id"
			      : SELECT_CONFLICTS " WHERE resolution IS NULL ORDER BY created_hlc, id";

	if (replica_meta(r, "node", &node) ||
	    sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK) {
		cli_error("lecture des conflits impossible : %s", sqlite3_errmsg(r->db));
		goto out;
	}
	if (json && !(arr = json_array()))
		goto nomem;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if (json) {
			if (json_array_append_new(arr, conflict_json(st, node)))
				goto nomem;
		} else {
			if (n)
				putchar('\n');
			print_conflict(st, node);
		}
		n++;
		if (sqlite3_column_type(st, C_RESOLUTION) == SQLITE_NULL)
			nopen++;
	}
	if (s != SQLITE_DONE) {
		cli_error("lecture des conflits impossible : %s", sqlite3_errmsg(r->db));
		goto out;
	}
	if (json) {
		if (replica_print_json(arr))
			goto nomem;
		putchar('\n');
	} else if (!n) {
		printf("%s\n", all ? "Aucun conflit." : "Aucun conflit ouvert.");
	} else if (nopen) {
		printf("\nPour trancher : relais conflicts resolve ID --keep mine|theirs\n");
	}
	rc = 0;
	goto out;
nomem:
	cli_error("%s", relais_strerror(RELAIS_ENOMEM));
out:
	free(node);
	json_decref(arr);
	sqlite3_finalize(st);
	return rc;
}

static int resolve(struct replica *r, const char *id, const char *keep)
{
	sqlite3_stmt *st = NULL;
	char *node = NULL, *login = NULL;
	int rc = CLI_EXIT_FAIL;

	if (replica_read_only(r))
		return CLI_EXIT_FAIL;
	if (replica_meta(r, "node", &node) || replica_meta(r, "login", &login) ||
	    sqlite3_prepare_v2(r->db, SELECT_CONFLICTS " WHERE id = ?", -1, &st, NULL) != SQLITE_OK) {
		cli_error("lecture des conflits impossible : %s", sqlite3_errmsg(r->db));
		goto out;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	if (s != SQLITE_ROW) {
		if (s == SQLITE_DONE)
			cli_error("conflit « %s » introuvable (voir relais conflicts --all).", id);
		else
			cli_error("lecture des conflits impossible : %s", sqlite3_errmsg(r->db));
		goto out;
	}
	if (sqlite3_column_type(st, C_RESOLUTION) != SQLITE_NULL) {
		cli_error("le conflit « %s » est déjà résolu.", id);
		goto out;
	}
	int mine_lost = !strcmp(mine_of(st, node), "lost");
	int keep_lost = !strcmp(keep, "mine") ? mine_lost : !mine_lost;
	sqlite3_finalize(st);
	st = NULL;

	int e = sync_conflict_resolve(r->db, r->tables, id, keep_lost, login ? login : "");
	if (e == RELAIS_ENOTFOUND) {
		cli_error("conflit « %s » introuvable.", id);
		goto out;
	} else if (e == RELAIS_EEXIST) {
		cli_error("le conflit « %s » est déjà résolu.", id);
		goto out;
	} else if (e) {
		cli_error("résolution impossible : %s ; rien n'a été modifié.", relais_strerror(e));
		goto out;
	}
	printf("Conflit résolu : %s. La décision sera envoyée à la prochaine "
	       "synchronisation.\n", keep_lost ? "la valeur perdue est rétablie"
						: "la valeur en place est gardée");
	rc = 0;
out:
	sqlite3_finalize(st);
	free(node);
	free(login);
	return rc;
}

int cmd_conflicts(const char *home, int argc, char **argv)
{
	struct replica r;
	char err[CLI_ERRLEN];
	int json = 0, all = 0, rc;
	const char *id = NULL, *keep = NULL;
	int resolving = argc > 1 && !strcmp(argv[1], "resolve");

	for (int i = 1; i < argc; i++)
		if (cli_is_help(argv[i])) {
			help_conflicts();
			return 0;
		}
	for (int i = resolving ? 2 : 1; i < argc; i++) {
		const char *a = argv[i];
		if (!resolving && !strcmp(a, "--json")) {
			json = 1;
		} else if (!resolving && !strcmp(a, "--all")) {
			all = 1;
		} else if (resolving && !strncmp(a, "--keep", 6) && (!a[6] || a[6] == '=')) {
			if (a[6] == '=') {
				keep = a + 7;
			} else if (i + 1 < argc) {
				keep = argv[++i];
			} else {
				cli_error("l'option --keep attend mine ou theirs.");
				return CLI_EXIT_USAGE;
			}
		} else if (resolving && !id && strncmp(a, "--", 2)) {
			id = a;
		} else {
			cli_error("argument inconnu : « %s » (voir relais conflicts --help).", a);
			return CLI_EXIT_USAGE;
		}
	}
	if (resolving && (!id || !keep)) {
		cli_error("usage : relais conflicts resolve ID --keep mine|theirs");
		return CLI_EXIT_USAGE;
	}
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
