/*
 * export.c - "relais export --json" and "relais etat".
 *
 * The export holds only the model's tables, rows sorted by id, columns in
 * table order, compact JSON: two replicas holding the same data print the
 * same bytes, which is how convergence is checked.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../common/util.h"
#include "../../model/model.h"
#include "../../sync/sync.h"
#include "cli.h"
#include "../replica/refus.h"
#include "../replica/replica.h"

static int export_table(struct replica *r, const struct model_table *t)
{
	char sql[256];
	sqlite3_stmt *st = NULL;
	int rc = 0, s, first = 1;

	snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\" ORDER BY id", t->name);
	if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK)
		return RELAIS_EDB;
	printf("\"%s\":[", t->name);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *row = replica_row_json(st);
		if (!first)
			putchar(',');
		first = 0;
		rc = row ? cli_print_json(row) : RELAIS_ENOMEM;
		json_decref(row);
		if (rc)
			goto out;
	}
	if (s != SQLITE_DONE)
		rc = RELAIS_EDB;
	putchar(']');
out:
	sqlite3_finalize(st);
	return rc;
}

int cmd_export(const char *home, int argc, char **argv)
{
	struct replica r;
	int rc = 0, first = 1, json = 0;
	const struct option opts[] = {
		OPT_FLAG(0, "json", &json, "la seule forme de sortie (gardée pour les scripts)"),
		OPT_END(),
	};
	const struct options_cmd c = {
		&cli_prog, "export", "--json",
		"Écrit tout le réplica en JSON : {\"table\":[lignes triées par identifiant]} pour "
		"chaque table,\nsans métadonnées de synchronisation ni conflits. Contient des "
		"données personnelles.\n", opts, NULL, 0, 0, NULL,
	};

	if ((rc = options_parse_cmd(&c, argc - 1, argv + 1, NULL, NULL)))
		return rc < 0 ? 0 : rc;
	if (cli_open(&r, home))
		return CLI_EXIT_FAIL;
	/* One read transaction, so that the export is a consistent snapshot. */
	if (sqlite3_exec(r.db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		rc = RELAIS_EDB;
		goto out;
	}
	putchar('{');
	for (size_t i = 0; i < model_ntables && !rc; i++) {
		if (model_tables[i].since > MODEL_SCHEMA_VERSION)
			continue;
		if (!first)
			putchar(',');
		first = 0;
		rc = export_table(&r, &model_tables[i]);
	}
	printf("}\n");
	sqlite3_exec(r.db, "COMMIT", NULL, NULL, NULL);
out:
	if (rc)
		cli_error("export impossible : %s", rc == RELAIS_EDB ? replica_errmsg(r.db)
				: relais_strerror(rc));
	replica_close(&r);
	return rc ? CLI_EXIT_FAIL : 0;
}

static const char *or_unknown(const char *s)
{
	return s ? s : "(inconnu)";
}

static json_t *meta_json(struct replica *r, const char *key)
{
	char *v = NULL;
	if (replica_meta(r, key, &v) || !v)
		return json_null();
	json_t *j = json_string(v);
	free(v);
	return j ? j : json_null();
}

int cmd_status(const char *home, int argc, char **argv)
{
	struct replica r;
	sqlite3_stmt *st = NULL;
	json_t *obj = NULL;
	uint64_t pending = 0;
	long long conflicts = 0;
	int json = 0, rc = CLI_EXIT_FAIL;
	const struct option opts[] = {
		OPT_FLAG(0, "json", &json, "un objet JSON"),
		OPT_END(),
	};
	const struct options_cmd c = {
		&cli_prog, "status", "[--json]",
		"Affiche l'état du réplica : modifications en attente, dernière synchronisation,\n"
		"conflits ouverts, serveur et compte.\n", opts, NULL, 0, 0, NULL,
	};

	if ((rc = options_parse_cmd(&c, argc - 1, argv + 1, NULL, NULL)))
		return rc < 0 ? 0 : rc;
	rc = CLI_EXIT_FAIL;
	if (cli_open(&r, home))
		return CLI_EXIT_FAIL;
	if (sync_outbox_pending(r.db, &pending) ||
	    sqlite3_prepare_v2(r.db, "SELECT count(*) FROM " SYNC_CONFLICT_TABLE
			       " WHERE resolution IS NULL", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		cli_error("lecture du réplica impossible : %s", replica_errmsg(r.db));
		goto out;
	}
	conflicts = sqlite3_column_int64(st, 0);
	char warn[512];
	int clock_off = refus_clock_warning(&r, warn, sizeof(warn));
	uint64_t refused = refus_count(&r);
	obj = json_pack("{s:I, s:o, s:I, s:o, s:o, s:o, s:o, s:I, s:o}",
			"pending", (json_int_t)pending, "last_sync", meta_json(&r, "last_sync"),
			"conflicts", (json_int_t)conflicts, "server", meta_json(&r, "server"),
			"login", meta_json(&r, "login"), "dept", meta_json(&r, "dept"),
			"role", meta_json(&r, "role"), "refused", (json_int_t)refused,
			"clock_warning", clock_off ? json_string(warn) : json_null());
	if (!obj) {
		cli_error("%s", relais_strerror(RELAIS_ENOMEM));
		goto out;
	}
	if (json) {
		if (cli_print_json(obj)) {
			cli_error("%s", relais_strerror(RELAIS_EIO));
			goto out;
		}
		putchar('\n');
	} else {
		const char *last = json_string_value(json_object_get(obj, "last_sync"));
		printf("Réplica : %s\n", home);
		printf("Serveur : %s\n", or_unknown(json_string_value(json_object_get(obj, "server"))));
		printf("Compte : %s (rôle %s, département %s)\n",
		       or_unknown(json_string_value(json_object_get(obj, "login"))),
		       or_unknown(json_string_value(json_object_get(obj, "role"))),
		       or_unknown(json_string_value(json_object_get(obj, "dept"))));
		printf("Modifications en attente : %" PRIu64 "\n", pending);
		char when[64];
		printf("Dernière synchronisation : %s\n",
		       last ? util_local_time_fr(last, when, sizeof(when)) : "jamais");
		printf("Conflits ouverts : %lld\n", conflicts);
		printf("Modifications refusées par le serveur : %" PRIu64 "%s\n", refused,
		       refused ? " (voir relais refus)" : "");
		if (clock_off)
			printf("Horloge : %s\n", warn);
	}
	rc = 0;
out:
	json_decref(obj);
	sqlite3_finalize(st);
	replica_close(&r);
	return rc;
}
