/*
 * test-e2e-upgrade.c - upgrades lose nothing.
 *
 * A store and two replicas at schema 1 (the previous release's: the mail
 * journal without reponse_motif, user_version 1), the replica A holding
 * offline edits captured at schema 1 and not yet synced, among them the
 * coordinator's handling of a journal row. The administrator upgrades the
 * store (relaisd init), the coordinators their relais; every edit reaches
 * the server and the other replica, and the new column exists everywhere.
 */
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "../common/util.h"
#include "../model/model.h"
#include "../sync/sync.h"
#include "harness.h"
#include "test.h"

static int exec_on(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	char *msg = NULL;
	int rc = sqlite3_open(path, &db);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(db, 5000);
		rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	}
	if (rc != SQLITE_OK)
		fprintf(stderr, "  %s on %s: %s\n", sql, path, msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

/*
 * The database as the release of schema v made it: the tables born after v
 * dropped, every other table made again as v described it (its columns then,
 * its CHECKs then) with its rows copied.
 */
static int back_to_schema(const char *path, int v)
{
	int rc = 0;
	for (size_t i = 0; i < model_ntables && !rc; i++) {
		const struct model_table *t = &model_tables[i];
		if (t->since > v) {
			rc = exec_on(path, h_strf("DROP TABLE IF EXISTS %s", t->name));
			continue;
		}
		char *create = model_create_sql(t, v);
		const char *cols = "id, dept";
		for (size_t k = 0; k < t->ncolumns; k++) {
			const struct model_column *c = &t->columns[k];
			if ((c->since > t->since ? c->since : t->since) <= v)
				cols = h_strf("%s, %s", cols, c->name);
		}
		rc = !create ? -1 : exec_on(path, h_strf("ALTER TABLE %s RENAME TO old_%s; %s; "
							 "INSERT INTO %s(%s) SELECT %s FROM old_%s; "
							 "DROP TABLE old_%s;", t->name, t->name, create,
							 t->name, cols, cols, t->name, t->name));
		free(create);
	}
	return rc ? rc : exec_on(path, h_strf("PRAGMA user_version = %d;", v));
}

static int column_exists(const char *path, const char *table, const char *col)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int found = 0;
	if (sqlite3_open(path, &db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2", -1, &st,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, col, -1, SQLITE_STATIC);
		found = sqlite3_step(st) == SQLITE_ROW;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return found;
}

/* A journal row written by the server's gateway. */
static int journal_row(const char *store, char id[UTIL_UUID_LEN + 1])
{
	return util_uuid(id) ? -1
			     : h_store_write(store, h_strf("INSERT INTO inbound_mail(id, dept, expediteur, "
							   "sujet, resultat, reponse) VALUES('%s', '65', "
							   "'mjc@example.org', 'Question', 'quarantaine', "
							   "'aucune')", id));
}

/*
 * A network made at the current schema, its store and replicas taken back to
 * schema from, offline edits captured on A at that schema (a new row, edited
 * rows of tables whose later schemas add columns or widen a list, and the
 * handling of a journal row), then relaisd init and the new relais upgrade
 * everything and the edits reach B.
 */
static void upgrade_from(int from)
{
	struct h_daemon d;
	char ta[H_TOKEN], tb[H_TOKEN], tc[H_TOKEN], mail[UTIL_UUID_LEN + 1];
	h_setup();
	CHECK(h_daemon_coords(&d, "mise-a-jour", ta, tb, tc) == 0);
	const char *store = h_strf("%s/relais.db", d.data);
	CHECK(journal_row(store, mail) == 0);
	CHECK(h_daemon_serve(&d) == 0);
	const char *a = h_replica(&d, "maj-A", ta), *b = h_replica(&d, "maj-B", tb);
	CHECK(a && b);
	const char *s = h_relais_ok(a, "structure", "add", "--nom", "MJC de Tarbes", "--commune",
				    "Tarbes", (char *)NULL);
	CHECK(s != NULL);
	const char *p = h_relais_ok(a, "promeneur", "add", "--prenom", "Inès", "--nom", "Laborde",
				    "--email", "ines@example.org", "--structure", s, (char *)NULL);
	const char *ev = h_relais_ok(a, "evenement", "add", "--type", "regroupement", "--titre",
				     "Regroupement de printemps", "--date", "2026-04-02", (char *)NULL);
	CHECK(p && ev);
	CHECK(h_sync(a, &d) == 0 && h_sync(b, &d) == 0);
	CHECK_INT(h_daemon_stop(&d), 0);

	/* Everything as the previous release left it. */
	CHECK(back_to_schema(store, from) == 0);
	CHECK(back_to_schema(h_strf("%s/replica.db", a), from) == 0);
	CHECK(back_to_schema(h_strf("%s/replica.db", b), from) == 0);
	CHECK(!column_exists(store, "event", "ordre_du_jour"));
	CHECK_INT(column_exists(store, "inbound_mail", "reponse_motif"), from >= 2);
	char id[UTIL_UUID_LEN + 1];
	CHECK(util_uuid(id) == 0);
	CHECK(h_replica_capture(a, h_strf("INSERT INTO structure(id, dept, nom, commune) VALUES"
					 "('%s', '65', 'Centre social de Séméac', 'Séméac')", id)) == 0);
	CHECK(h_replica_capture(a, h_strf("UPDATE structure SET commune = 'Aureilhan' WHERE id = '%s'",
					 s)) == 0);
	CHECK(h_replica_capture(a, h_strf("UPDATE inbound_mail SET traitement = 'classe' WHERE id = '%s'",
					 mail)) == 0);
	CHECK(h_replica_capture(a, h_strf("UPDATE promeneur SET telephone = '0562000001' WHERE id = '%s'",
					 p)) == 0);
	CHECK(h_replica_capture(a, h_strf("UPDATE event SET lieu = 'Lannemezan' WHERE id = '%s'", ev)) == 0);

	/* The administrator upgrades; the old store is refused until then. */
	CHECK(h_daemon_serve(&d) != 0);
	char init[] = "init", data[] = "--data";
	char *argv[] = { (char *)h_bin("relaisd"), init, data, d.data, NULL };
	struct h_out *o = h_runv(argv, H_TIMEOUT_MS);
	CHECK_INT(o->status, 0);
	CHECK(column_exists(store, "inbound_mail", "reponse_motif"));
	CHECK(column_exists(store, "event", "ordre_du_jour"));
	CHECK(h_daemon_serve(&d) == 0);

	/* The coordinators' new relais opens, upgrades and syncs each replica. */
	json_t *st = h_status(a);
	CHECK(st != NULL);
	CHECK_INT(json_integer_value(json_object_get(st, "pending")), 5);
	CHECK(column_exists(h_strf("%s/replica.db", a), "inbound_mail", "reponse_motif"));
	CHECK(column_exists(h_strf("%s/replica.db", a), "procedure", "etape"));
	o = h_relais(a, "sync", "--server", d.url, (char *)NULL);
	CHECK_INT(o->status, 0);
	CHECK(strstr(o->out, "5 modifications envoyées") != NULL);
	CHECK(strstr(o->out, "refusée") == NULL);
	CHECK(h_sync(b, &d) == 0);
	json_t *e = h_export(b);
	CHECK(e != NULL);
	CHECK_STR(h_row_str(h_export_row(e, "structure", id), "nom"), "Centre social de Séméac");
	CHECK_STR(h_row_str(h_export_row(e, "structure", s), "commune"), "Aureilhan");
	CHECK_STR(h_row_str(h_export_row(e, "inbound_mail", mail), "traitement"), "classe");
	CHECK(json_object_get(h_export_row(e, "inbound_mail", mail), "reponse_motif") != NULL);
	CHECK_STR(h_row_str(h_export_row(e, "promeneur", p), "telephone"), "0562000001");
	CHECK_STR(h_row_str(h_export_row(e, "event", ev), "lieu"), "Lannemezan");

	/* What the new schema allows travels: a type of event it added. */
	CHECK(h_relais_ok(b, "evenement", "set", ev, "--type", "colloque", (char *)NULL) != NULL);
	CHECK(h_sync(b, &d) == 0 && h_sync(a, &d) == 0);
	const char *ea = h_export_text(a), *eb = h_export_text(b);
	CHECK(ea && eb && !strcmp(ea, eb));
	CHECK(strstr(ea, "colloque") != NULL);
	/* A new replica bootstraps from the upgraded store's file and holds
	 * the same rows. */
	const char *c = h_replica(&d, "maj-C", tc);
	CHECK(c != NULL);
	const char *ec = c ? h_export_text(c) : NULL;
	CHECK(ec && !strcmp(ea, ec));
	CHECK_INT(h_daemon_stop(&d), 0);
}

TEST(e2e_upgrade_schema_1_keeps_offline_edits)
{
	upgrade_from(1);
}

TEST(e2e_upgrade_schema_2_keeps_offline_edits)
{
	upgrade_from(2);
}
