/*
 * conflicts.c - "relais conflits": lists the conflicts the server recorded
 * (replicated rows of sync_conflict) and settles them, one by one or in
 * bulk, through the replica core (replica/conflicts.h says what "mine"
 * means).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../common/buf.h"
#include "../../common/util.h"
#include "../../model/model.h"
#include "../../sync/sync.h"
#include "../replica/conflicts.h"
#include "../replica/replica.h"
#include "cli.h"

static const char *or_empty(const char *s)
{
	return s ? s : "";
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
		e = RELAIS_ENOMEM;
	else
		e = conflicts_each(r->db, node, all, NULL, list_one, &ls);
	if (e == RELAIS_ENOMEM) {
		cli_error("%s", relais_strerror(e));
		goto out;
	} else if (e) {
		cli_error("lecture des conflits impossible : %s", replica_errmsg(r->db));
		goto out;
	}
	if (json) {
		rc = cli_print_json_line(ls.arr);
		goto out;
	}
	if (!ls.n)
		printf("%s\n", all ? "Aucun conflit." : "Aucun conflit ouvert.");
	else if (ls.nopen)
		printf("\nPour trancher : relais conflits trancher ID --garder mien|leur\n"
		       "En bloc : relais conflits trancher --champ CHAMP (ou --table, --auteur, "
		       "--tous) --garder mien|leur\n");
	rc = 0;
out:
	free(node);
	json_decref(ls.arr);
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
	struct preview p = { r->db, !strcmp(keep, "mien"), 0 };
	char err[CLI_ERRLEN];
	size_t matched = 0, done = 0;

	if (conflicts_filter_set(&f, all, table, champ, author, err, sizeof(err))) {
		cli_error("%s (voir relais conflits trancher --help)", err);
		return CLI_EXIT_USAGE;
	}
	if (cli_read_only(r))
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

	if (cli_read_only(r))
		return CLI_EXIT_FAIL;
	int e = conflicts_resolve(r, id, !strcmp(keep, "mien"), &restored, err, sizeof(err));
	if (e == RELAIS_ENOTFOUND) {
		cli_error("conflit « %s » introuvable (voir relais conflits --toutes).", id);
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
	int json = 0, all = 0, rc, n = 0;
	const char *id = NULL, *keep = NULL;
	int resolving = argc > 1 && !strcmp(argv[1], "trancher");
	const struct option list_opts[] = {
		OPT_FLAG(0, "json", &json, "sortie JSON"),
		OPT_FLAG(0, "toutes", &all, "inclut les conflits résolus"),
		OPT_END(),
	};
	int tous = 0, oui = 0;
	const char *table = NULL, *champ = NULL, *auteur = NULL;
	const struct option resolve_opts[] = {
		OPT_STRING_F(0, "garder", &keep, "mien|leur",
			     "mien : garde votre valeur (ou la valeur en place si vous n'êtes\n"
			     "l'auteur d'aucune des deux) ; leur : garde l'autre valeur",
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
		&cli_prog, "conflits", "[--json] [--toutes]\ntrancher ID --garder mien|leur",
		"Liste les conflits ouverts (--toutes : aussi ceux déjà résolus), ou en tranche un.\n",
		list_opts, about, 0, 0, NULL,
	};
	const struct options_cmd resolve_cmd = {
		&cli_prog, "conflits trancher",
		"ID --garder mien|leur\n--garder mien|leur --tous|--table T|--champ C|--auteur L [--oui]",
		"Tranche le conflit ID (tel qu'affiché par « relais conflits »), ou en bloc ceux\n"
		"qui correspondent aux filtres : la liste de ce qui sera fait s'affiche, et rien\n"
		"n'est modifié sans --oui.\n", resolve_opts, about, 0, 1, "identifiant du conflit",
	};

	if (resolving)
		rc = options_parse_cmd(&resolve_cmd, argc - 2, argv + 2, &id, &n);
	else
		rc = options_parse_cmd(&list_cmd, argc - 1, argv + 1, NULL, NULL);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (resolving && strcmp(keep, "mien") && strcmp(keep, "leur")) {
		cli_error("--garder attend « mien » (votre valeur) ou « leur » (l'autre), "
			  "pas « %s ».", keep);
		return CLI_EXIT_FAIL;
	}
	if (cli_open(&r, home))
		return CLI_EXIT_FAIL;
	if (resolving && !id)
		rc = resolve_bulk(&r, keep, tous, table, champ, auteur, oui);
	else if (resolving && (tous || table || champ || auteur || oui))
		rc = (cli_error("un ID ou des filtres, pas les deux (voir relais conflits trancher "
				"--help)."), CLI_EXIT_USAGE);
	else
		rc = resolving ? resolve(&r, id, keep) : list_conflicts(&r, json, all);
	replica_close(&r);
	return rc;
}
