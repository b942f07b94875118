/*
 * refus.c - relais refus: lists, shows and drops the edits the server
 * refused for good (set aside in sync_refused, replica/refus.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../common/util.h"
#include "../../model/model.h"
#include "../../sync/sync.h"
#include "../replica/refus.h"
#include "../replica/replica.h"
#include "cli.h"

/* ---- relais refus ---- */

static const char *op_label(const char *op)
{
	return !strcmp(op, "insert") ? "création" : !strcmp(op, "delete") ? "suppression" : "modification";
}

static const char *table_label(const char *name)
{
	const struct model_table *t = model_table_by_name(name);
	if (t)
		return t->plural;
	return !strcmp(name, SYNC_CONFLICT_TABLE) ? "conflits" : name;
}

static const char *col_label(const char *table, const char *col)
{
	const struct model_table *t = model_table_by_name(table);
	const struct model_column *c = t ? model_column_by_name(t, col) : NULL;
	return c ? c->label : col;
}

/* "création dans promeneurs (3 valeurs), modification dans structures". */
static void print_summary(json_t *changes)
{
	size_t i;
	json_t *ch;
	json_array_foreach(changes, i, ch) {
		const char *op = json_string_value(json_object_get(ch, "op"));
		const char *tab = json_string_value(json_object_get(ch, "table"));
		printf("%s%s dans %s", i ? ", " : "", op_label(op ? op : ""), table_label(tab ? tab : "?"));
	}
}

static int list(struct replica *r, int json)
{
	sqlite3_stmt *st = NULL;
	json_t *arr = json_array();
	int rc = CLI_EXIT_FAIL, n = 0, s;

	if (!arr || sqlite3_prepare_v2(r->db, "SELECT seq, refused_at, reason, changeset FROM sync_refused "
				       "ORDER BY seq", -1, &st, NULL) != SQLITE_OK) {
		cli_error("lecture du réplica impossible : %s", replica_errmsg(r->db));
		goto out;
	}
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *changes = NULL;
		if (sync_changeset_json(r->tables, sqlite3_column_blob(st, 3),
					(size_t)sqlite3_column_bytes(st, 3), &changes))
			changes = json_array();
		const char *when = (const char *)sqlite3_column_text(st, 1);
		const char *why = (const char *)sqlite3_column_text(st, 2);
		if (json) {
			json_array_append_new(arr, json_pack("{s:I, s:s, s:s, s:o}", "numero",
				(json_int_t)sqlite3_column_int64(st, 0), "refusee_le", when ? when : "",
				"raison", why ? why : "", "changements", changes ? changes : json_array()));
			continue;
		}
		if (!n)
			printf("Modifications refusées par le serveur et mises de côté :\n");
		printf("  n° %lld, le %s : ", (long long)sqlite3_column_int64(st, 0), when ? when : "?");
		print_summary(changes);
		printf("\n    raison : %s\n", why ? why : "?");
		json_decref(changes);
		n++;
	}
	if (s != SQLITE_DONE) {
		cli_error("lecture du réplica impossible : %s", replica_errmsg(r->db));
		goto out;
	}
	if (json) {
		if (cli_print_json(arr))
			goto out;
		putchar('\n');
	} else if (!n) {
		printf("Aucune modification refusée par le serveur.\n");
	} else {
		printf("Détail : relais refus voir N ; oublier : relais refus abandonner N\n");
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	json_decref(arr);
	return rc;
}

static int parse_seq(const char *s, uint64_t *seq)
{
	long long v;
	if (!s || util_parse_ll(s, 1, INT64_MAX, &v)) {
		cli_error("numéro de modification attendu (voir relais refus liste).");
		return CLI_EXIT_USAGE;
	}
	*seq = (uint64_t)v;
	return 0;
}

static int show(struct replica *r, uint64_t seq)
{
	sqlite3_stmt *st = NULL;
	json_t *changes = NULL;
	int rc = CLI_EXIT_FAIL;

	if (sqlite3_prepare_v2(r->db, "SELECT refused_at, reason, changeset, hlc FROM sync_refused "
			       "WHERE seq=?", -1, &st, NULL) != SQLITE_OK) {
		cli_error("lecture du réplica impossible : %s", replica_errmsg(r->db));
		goto out;
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
	if (sqlite3_step(st) != SQLITE_ROW) {
		cli_error("aucune modification refusée n° %" PRIu64 " (voir relais refus liste).", seq);
		goto out;
	}
	if (sync_changeset_json(r->tables, sqlite3_column_blob(st, 2),
				(size_t)sqlite3_column_bytes(st, 2), &changes)) {
		cli_error("la modification n° %" PRIu64 " est illisible.", seq);
		goto out;
	}
	char made[40];
	sync_hlc_format((sync_hlc_t)sqlite3_column_int64(st, 3), made, sizeof(made));
	printf("Modification n° %" PRIu64 "\n", seq);
	cli_print_field("Faite le", made);
	cli_print_field("Refusée le", (const char *)sqlite3_column_text(st, 0));
	cli_print_field("Raison", (const char *)sqlite3_column_text(st, 1));
	size_t i;
	json_t *ch;
	json_array_foreach(changes, i, ch) {
		const char *tab = json_string_value(json_object_get(ch, "table"));
		const char *op = json_string_value(json_object_get(ch, "op"));
		const char *id = json_string_value(json_object_get(ch, "id"));
		const char *k;
		json_t *v;
		printf("- %s dans %s, ligne %s\n", op_label(op ? op : ""), table_label(tab ? tab : "?"),
		       id ? id : "?");
		json_object_foreach(json_object_get(ch, "values"), k, v) {
			char *text = json_is_string(v) ? strdup(json_string_value(v))
						       : json_dumps(v, JSON_ENCODE_ANY);
			printf("    %s : %s\n", col_label(tab ? tab : "", k), text ? text : "?");
			free(text);
		}
	}
	rc = 0;
out:
	json_decref(changes);
	sqlite3_finalize(st);
	return rc;
}

static int drop(struct replica *r, uint64_t seq)
{
	int e = sync_refused_drop(r->db, seq);
	if (e == RELAIS_ENOTFOUND) {
		cli_error("aucune modification refusée n° %" PRIu64 " (voir relais refus liste).", seq);
		return CLI_EXIT_FAIL;
	}
	if (e) {
		cli_error("écriture dans le réplica impossible : %s", relais_strerror(e));
		return CLI_EXIT_FAIL;
	}
	if (seq)
		printf("Modification refusée n° %" PRIu64 " oubliée.\n", seq);
	else
		printf("Modifications refusées oubliées.\n");
	return 0;
}

int cmd_refus(const char *home, int argc, char **argv)
{
	struct replica r;
	const char *sub = argc > 1 && argv[1][0] != '-' ? argv[1] : "liste", *num = NULL;
	int words = sub == argv[1] ? 2 : 1, n = 0;
	uint64_t seq = 0;
	int json = 0, all = 0, rc;
	const struct option list_opts[] = {
		OPT_FLAG(0, "json", &json, "sortie JSON"),
		OPT_END(),
	};
	const struct option drop_opts[] = {
		OPT_FLAG(0, "tous", &all, "oublie toutes les modifications refusées"),
		OPT_END(),
	};
	struct options_cmd c = {
		&cli_prog, "refus", "[liste] [--json]\nvoir N\nabandonner N | --tous",
		"Modifications que le serveur a refusées pour de bon (une valeur hors des règles,\n"
		"une ligne d'un autre département, une donnée que seul le serveur écrit…). Elles\n"
		"sont mises de côté à la synchronisation, avec la raison du refus, pour que les\n"
		"modifications suivantes partent quand même ; leur effet est retiré du réplica.\n",
		list_opts,
		"Pour refaire une modification refusée, corrigez-la et saisissez-la de nouveau\n"
		"(relais … set, ou l'interface), puis synchronisez.\n", 0, 0, NULL,
	};

	if (!strcmp(sub, "voir") || !strcmp(sub, "abandonner")) {
		int drop = !strcmp(sub, "abandonner");
		c.cmd = drop ? "refus abandonner" : "refus voir";
		c.usage = drop ? "N | --tous" : "N";
		c.about = drop ? "Oublie définitivement la modification refusée N.\n"
			       : "Le détail de la modification refusée N : tables, lignes et valeurs.\n";
		c.options = drop ? drop_opts : NULL;
		c.footer = NULL;
		c.min_args = drop ? 0 : 1;
		c.max_args = 1;
		c.arg_name = "numéro de modification";
	} else if (strcmp(sub, "liste")) {
		options_usage_error(&c, "sous-commande inconnue : « %s » (liste, voir, abandonner)", sub);
		return CLI_EXIT_USAGE;
	} else if (words == 2) {
		c.cmd = "refus liste";
		c.usage = "[--json]";
		c.about = "Les modifications mises de côté, avec la raison du refus.\n";
	}
	if ((rc = options_parse_cmd(&c, argc - words, argv + words, &num, &n)))
		return rc < 0 ? 0 : rc;
	if (all == (num != NULL) && c.options == drop_opts) {
		options_usage_error(&c, "un numéro ou --tous est attendu, pas les deux");
		return CLI_EXIT_USAGE;
	}
	if (num && (rc = parse_seq(num, &seq)))
		return rc;
	if (cli_open(&r, home))
		return CLI_EXIT_FAIL;
	if (!strcmp(sub, "voir"))
		rc = show(&r, seq);
	else if (!strcmp(sub, "abandonner"))
		rc = drop(&r, seq);
	else
		rc = list(&r, json);
	replica_close(&r);
	return rc;
}
