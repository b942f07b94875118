/*
 * test-e2e-trust.c - what a replica sends is not trusted: crafted pushes
 * from real coordinators' replicas (their own database edited as its owner
 * could, then pushed by the real relais) against the real relaisd.
 *
 * Clocks: an edit stamped 2^64-1, 2^63-3 or a year ahead, from the same
 * département and from another one; afterwards every replica edits and
 * syncs, and a later honest edit wins. Server-only data: forged conflicts,
 * forged mail journal rows, forged authors of a settlement, two people
 * settling one conflict differently. Values: invalid UTF-8 and NUL bytes,
 * rows of another département; a refused edit is set aside and ten good
 * edits after it all arrive.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sqlite3.h>
#include "../common/util.h"
#include "../model/model.h"
#include "../sync/sync.h"
#include "harness.h"
#include "test.h"

/* ---- the replica's owner at work on its database ---- */

static sqlite3 *replica_db(const char *home)
{
	sqlite3 *db = NULL;
	if (sqlite3_open(h_strf("%s/replica.db", home), &db) != SQLITE_OK) {
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 5000);
	return db;
}

/* Runs sql on the replica's database, outside any capture. */
static int replica_sql(const char *home, const char *sql)
{
	sqlite3 *db = replica_db(home);
	char *msg = NULL;
	int rc = db ? sqlite3_exec(db, sql, NULL, NULL, &msg) : SQLITE_CANTOPEN;
	if (rc != SQLITE_OK)
		fprintf(stderr, "  %s: %s\n", sql, msg ? msg : "?");
	sqlite3_free(msg);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

/* Runs sql as a captured local edit: its changeset joins the outbox, as if
 * relais had written it. */
static int replica_capture(const char *home, const char *sql)
{
	sqlite3 *db = replica_db(home);
	struct sync_tables *t = NULL;
	struct sync_capture *cap = NULL;
	char *msg = NULL;
	int rc = -1;
	if (!db || sync_tables_load(db, (const char *const *)model_table_names, model_ntables, &t) ||
	    sync_capture_begin(db, t, &cap))
		goto out;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "  %s: %s\n", sql, msg ? msg : "?");
		sync_capture_abort(cap);
		goto out;
	}
	rc = sync_capture_commit(cap) ? -1 : 0;
out:
	sqlite3_free(msg);
	sync_tables_free(t);
	sqlite3_close(db);
	return rc;
}

/* The replica's clock, in ms (the high bits of its HLC). */
static uint64_t replica_clock_ms(const char *home)
{
	sqlite3 *db = replica_db(home);
	sqlite3_stmt *st = NULL;
	uint64_t v = 0;
	if (db && sqlite3_prepare_v2(db, "SELECT value FROM sync_meta WHERE key='hlc'", -1, &st,
				     NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = strtoull((const char *)sqlite3_column_text(st, 0), NULL, 10);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return sync_hlc_ms(v);
}

/* The first column of the first row of sql on the replica, or NULL. */
static const char *replica_text(const char *home, const char *sql)
{
	sqlite3 *db = replica_db(home);
	sqlite3_stmt *st = NULL;
	const char *v = NULL;
	if (db && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		v = h_strf("%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static json_t *json_of(const char *text)
{
	return text ? h_json(text, strlen(text)) : NULL;
}

static struct h_out *sync_out(const char *home, const struct h_daemon *d)
{
	return h_relais(home, "sync", "--server", d->url, (char *)NULL);
}

static const char *col_of(const char *home, const char *table, const char *id, const char *col)
{
	json_t *e = h_export(home);
	return e ? h_row_str(h_export_row(e, table, id), col) : NULL;
}

static void later(void)
{
	struct timespec ts = { 0, 20 * 1000000L };
	nanosleep(&ts, NULL);
}

/* A clock no honest replica and no bounded server can reach: now plus 10 min. */
static int clock_sane(const char *home)
{
	uint64_t ms = replica_clock_ms(home);
	int ok = ms <= (uint64_t)util_now_ms() + 10 * 60 * 1000;
	if (!ok)
		fprintf(stderr, "  clock of %s: %" PRIu64 " ms\n", home, ms);
	return ok;
}

enum { A, B, C, NREP };

struct world {
	struct h_daemon d;
	const char *home[NREP];
	const char *s65, *s15;  /* a structure of each département */
};

/* A and B coordinate département 65, C département 15. */
static int world_start(struct world *w, const char *name)
{
	static const char *const logins[NREP] = { "coord-a", "coord-b", "coord-c" };
	static const char *const depts[NREP] = { "65", "65", "15" };
	char tok[NREP][H_TOKEN];
	memset(w, 0, sizeof(*w));
	if (h_daemon_init(&w->d, name))
		return -1;
	for (int i = 0; i < NREP; i++)
		if (h_daemon_user(&w->d, logins[i], depts[i], "coordinateur", tok[i]))
			return -1;
	if (h_daemon_serve(&w->d))
		return -1;
	for (int i = 0; i < NREP; i++)
		if (!(w->home[i] = h_replica(&w->d, h_strf("%s-%c", name, 'A' + i), tok[i])))
			return -1;
	w->s65 = h_relais_ok(w->home[A], "structure", "add", "--nom", "MJC de Lourdes", "--commune",
			     "Lourdes", (char *)NULL);
	w->s15 = h_relais_ok(w->home[C], "structure", "add", "--nom", "Centre social d'Aurillac",
			     "--commune", "Aurillac", (char *)NULL);
	if (!w->s65 || !w->s15 || h_sync(w->home[A], &w->d) || h_sync(w->home[B], &w->d) ||
	    h_sync(w->home[C], &w->d))
		return -1;
	return 0;
}

TEST(e2e_trust_crafted_clocks)
{
	const sync_hlc_t year = sync_hlc_make((uint64_t)util_now_ms() + 365ull * 86400 * 1000, 0);
	const struct {
		sync_hlc_t hlc;
		int crafter;
	} cases[] = {
		{ UINT64_MAX, A }, { (UINT64_C(1) << 63) - 3, A }, { year, A },
		{ UINT64_MAX, C }, { (UINT64_C(1) << 63) - 3, C }, { year, C },
	};
	struct world w;
	h_setup();
	CHECK(world_start(&w, "horloge") == 0);
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		int cr = cases[k].crafter;
		const char *home = w.home[cr], *row = cr == C ? w.s15 : w.s65;
		const char *crafted = h_strf("Forgée %zu", k), *honest = h_strf("Honnête %zu", k);

		/* The crafter's edit, its stamp then rewritten in the outbox. */
		CHECK_IDX(h_relais_ok(home, "structure", "set", row, "--commune", crafted,
				      (char *)NULL) != NULL, k);
		CHECK_IDX(replica_sql(home, h_strf("UPDATE sync_outbox SET hlc = %lld",
						   (long long)cases[k].hlc)) == 0, k);
		struct h_out *o = sync_out(home, &w.d);
		CHECK_INT_IDX(o->status, 0, k);
		CHECK_IDX(strstr(o->out, "datée par le serveur") != NULL, k);

		/* Every replica, of either département, edits and syncs. */
		for (int i = 0; i < NREP; i++) {
			const char *own = i == C ? w.s15 : w.s65;
			CHECK_IDX(h_relais_ok(w.home[i], "structure", "set", own, "--adresse",
					      h_strf("%zu rue du Pont", k + 1), (char *)NULL) != NULL, k);
			CHECK_IDX(h_sync(w.home[i], &w.d) == 0, k);
			CHECK_IDX(clock_sane(w.home[i]), k);
		}
		/* A later honest edit of the crafted value wins everywhere. */
		later();
		const char *editor = cr == C ? w.home[C] : w.home[B];
		CHECK_IDX(h_relais_ok(editor, "structure", "set", row, "--commune", honest,
				      (char *)NULL) != NULL, k);
		for (int round = 0; round < 2; round++)
			for (int i = 0; i < NREP; i++)
				CHECK_IDX(h_sync(w.home[i], &w.d) == 0, k);
		for (int i = 0; i < NREP; i++) {
			if ((i == C) != (cr == C))
				continue;
			CHECK_STR_IDX(col_of(w.home[i], "structure", row, "commune"), honest, k);
		}
	}
	CHECK_INT(h_daemon_stop(&w.d), 0);
}

TEST(e2e_trust_poisoned_clocks_recover)
{
	struct world w;
	h_setup();
	CHECK(world_start(&w, "poison") == 0);
	const char *a = w.home[A], *b = w.home[B];

	/* A replica holding the clock an older server handed on: it refuses to
	 * stamp, in French, until its next sync brings it back. */
	CHECK(replica_sql(a, "UPDATE sync_meta SET value='18446744073709551615' WHERE key='hlc'") == 0);
	struct h_out *o = h_relais(a, "structure", "set", w.s65, "--commune", "Tarbes", (char *)NULL);
	CHECK_INT(o->status, 1);
	CHECK(strstr(o->err, "horloge") != NULL);
	o = sync_out(a, &w.d);
	CHECK_INT(o->status, 0);
	CHECK(strstr(o->out, "remise à l'heure") != NULL);
	CHECK(clock_sane(a));
	CHECK(h_relais_ok(a, "structure", "set", w.s65, "--commune", "Tarbes", (char *)NULL) != NULL);
	CHECK(h_sync(a, &w.d) == 0);
	CHECK(h_sync(b, &w.d) == 0);
	CHECK_STR(col_of(b, "structure", w.s65, "commune"), "Tarbes");

	/* A store whose clock and one row's stamp a replica pushed to the end of
	 * time before pushes were bounded: repaired at start. */
	CHECK_INT(h_daemon_stop(&w.d), 0);
	sqlite3 *db = NULL;
	CHECK(sqlite3_open(h_strf("%s/relais.db", w.d.data), &db) == SQLITE_OK);
	char *sql = sqlite3_mprintf("UPDATE sync_state SET value=-1 WHERE key='hlc';"
				    "UPDATE sync_row SET clocks = x'ffffffffffffffff' || substr(clocks, 9) "
				    "WHERE id=%Q", w.s65);
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_free(sql);
	sqlite3_close(db);
	CHECK_INT(rc, SQLITE_OK);
	CHECK(h_daemon_serve(&w.d) == 0);
	CHECK(h_daemon_log_has(&w.d, "remise à l'heure", 10000));
	CHECK(h_relais_ok(b, "structure", "set", w.s65, "--commune", "Bagnères-de-Bigorre",
			  (char *)NULL) != NULL);
	CHECK(h_sync(b, &w.d) == 0);
	CHECK(h_sync(a, &w.d) == 0);
	CHECK(clock_sane(a) && clock_sane(b));
	CHECK_STR(col_of(a, "structure", w.s65, "commune"), "Bagnères-de-Bigorre");
	CHECK_INT(h_daemon_stop(&w.d), 0);
}

TEST(e2e_trust_clock_offset_is_shown)
{
	struct world w;
	h_setup();
	CHECK(world_start(&w, "decalage") == 0);
	const char *a = w.home[A];
	/* What the replica records when the server's clock reads a year
	 * earlier than its own: this computer is a year ahead. */
	sqlite3 *db = replica_db(a);
	int fixed = -1;
	CHECK(db != NULL);
	int64_t now = util_now_ms();
	CHECK_INT(sync_client_clock(db, now - 365ll * 86400 * 1000, now, 0, &fixed), 0);
	sqlite3_close(db);
	/* Its clock, a year ahead of the server's, comes back to it. */
	CHECK_INT(fixed, 1);
	const char *st = h_relais_ok(a, "status", (char *)NULL);
	CHECK(st != NULL);
	CHECK(strstr(st, "avance de 365 jours") != NULL);
	json_t *js = h_status(a);
	CHECK(js && json_is_string(json_object_get(js, "clock_warning")));
	/* A sync with the real server clock clears it. */
	CHECK(h_sync(a, &w.d) == 0);
	st = h_relais_ok(a, "status", (char *)NULL);
	CHECK(st != NULL);
	CHECK(strstr(st, "Horloge") == NULL);
	CHECK_INT(h_daemon_stop(&w.d), 0);
}

static json_t *conflict_on(json_t *all, const char *row, const char *col, int open)
{
	size_t i;
	json_t *c;
	json_array_foreach(all, i, c) {
		const char *r = json_string_value(json_object_get(c, "row"));
		const char *k = json_string_value(json_object_get(c, "column"));
		int is_open = json_is_null(json_object_get(c, "resolution"));
		if (r && k && !strcmp(r, row) && !strcmp(k, col) && is_open == open)
			return c;
	}
	return NULL;
}

TEST(e2e_trust_server_only_data)
{
	struct world w;
	char uuid[UTIL_UUID_LEN + 1];
	h_setup();
	CHECK(world_start(&w, "serveur") == 0);
	const char *a = w.home[A], *b = w.home[B];

	/* A forged conflict and a forged mail journal row: refused, set aside,
	 * undone on the forger's replica, never seen by the others. */
	CHECK(util_uuid(uuid) == 0);
	CHECK(replica_capture(a, h_strf("INSERT INTO sync_conflict(id, dept, tbl, row_id, col, kind, "
					"kept, lost, kept_login, lost_login, created_hlc) VALUES('%s', "
					"'65', 'structure', '%s', 'nom', 'valeur', '\"A\"', '\"B\"', "
					"'coord-b', 'admin', 1)", uuid, w.s65)) == 0);
	CHECK(util_uuid(uuid) == 0);
	CHECK(replica_capture(a, h_strf("INSERT INTO inbound_mail(id, dept, expediteur, resultat) "
					"VALUES('%s', '65', 'x@example.org', 'enregistre')", uuid)) == 0);
	struct h_out *o = sync_out(a, &w.d);
	CHECK_INT(o->status, 0);
	CHECK(strstr(o->out, "2 modifications refusées") != NULL);
	json_t *refus = json_of(h_relais_ok(a, "refus", "--json", (char *)NULL));
	CHECK(refus && json_array_size(refus) == 2);
	CHECK(strstr(json_string_value(json_object_get(json_array_get(refus, 0), "raison")),
		     "conflits") != NULL);
	CHECK(strstr(json_string_value(json_object_get(json_array_get(refus, 1), "raison")),
		     "tenue par le serveur") != NULL);
	json_t *all = h_conflicts(a, 1);
	CHECK(all && json_array_size(all) == 0);
	CHECK(h_export_count(h_export(a), "inbound_mail") == 0);
	CHECK(h_sync(b, &w.d) == 0);
	all = h_conflicts(b, 1);
	CHECK(all && json_array_size(all) == 0);

	/* A real conflict, settled with a forged author and time: the server
	 * writes who settled it and when. */
	CHECK(h_relais_ok(a, "structure", "set", w.s65, "--telephone", "0611111111", (char *)NULL) != NULL);
	later();
	CHECK(h_relais_ok(b, "structure", "set", w.s65, "--telephone", "0622222222", (char *)NULL) != NULL);
	CHECK(h_sync(a, &w.d) == 0 && h_sync(b, &w.d) == 0 && h_sync(a, &w.d) == 0);
	json_t *c = conflict_on(h_conflicts(b, 0), w.s65, "telephone", 1);
	CHECK(c != NULL);
	const char *cid = json_string_value(json_object_get(c, "id"));
	CHECK(replica_capture(b, h_strf("UPDATE sync_conflict SET resolution='gagnant', resolved_by='admin', "
					"resolved_hlc=1 WHERE id='%s'", cid)) == 0);
	CHECK(h_sync(b, &w.d) == 0 && h_sync(a, &w.d) == 0);
	for (int i = A; i <= B; i++)
		CHECK_STR_IDX(replica_text(w.home[i], h_strf("SELECT resolved_by || '@' || "
				"(resolved_hlc > 1) FROM sync_conflict WHERE id='%s'", cid)), "coord-b@1", i);

	/* Two people settle one conflict differently: the record says what
	 * the data holds, and the other choice becomes a new conflict. */
	CHECK(h_relais_ok(a, "structure", "set", w.s65, "--commune", "Argelès", (char *)NULL) != NULL);
	later();
	CHECK(h_relais_ok(b, "structure", "set", w.s65, "--commune", "Cauterets", (char *)NULL) != NULL);
	CHECK(h_sync(a, &w.d) == 0 && h_sync(b, &w.d) == 0 && h_sync(a, &w.d) == 0);
	c = conflict_on(h_conflicts(a, 0), w.s65, "commune", 1);
	CHECK(c != NULL);
	cid = h_strf("%s", json_string_value(json_object_get(c, "id")));
	CHECK(h_relais_ok(a, "conflicts", "resolve", cid, "--keep", "mine", (char *)NULL) != NULL);
	CHECK(h_relais_ok(b, "conflicts", "resolve", cid, "--keep", "mine", (char *)NULL) != NULL);
	for (int round = 0; round < 2; round++)
		CHECK(h_sync(a, &w.d) == 0 && h_sync(b, &w.d) == 0);
	const char *ea = h_export_text(a), *eb = h_export_text(b);
	CHECK(ea && eb && !strcmp(ea, eb));
	const char *commune = col_of(a, "structure", w.s65, "commune");
	CHECK(commune != NULL);
	all = h_conflicts(a, 1);
	CHECK(all != NULL);
	size_t i;
	json_array_foreach(all, i, c) {
		if (strcmp(json_string_value(json_object_get(c, "id")), cid))
			continue;
		const char *res = json_string_value(json_object_get(c, "resolution"));
		json_t *side = json_object_get(c, !strcmp(res, "perdant") ? "lost" : "kept");
		CHECK_STR(json_string_value(json_object_get(side, "value")), commune);
	}
	c = conflict_on(all, w.s65, "commune", 1);
	CHECK(c != NULL);
	CHECK(strcmp(json_string_value(json_object_get(json_object_get(c, "kept"), "value")),
		     json_string_value(json_object_get(json_object_get(c, "lost"), "value"))) != 0);
	CHECK_INT(h_daemon_stop(&w.d), 0);
}

TEST(e2e_trust_refused_edit_never_blocks)
{
	struct world w;
	char ghost[UTIL_UUID_LEN + 1];
	h_setup();
	CHECK(world_start(&w, "refus") == 0);
	const char *a = w.home[A], *b = w.home[B];

	/* Values no export could print: invalid UTF-8, a NUL byte. */
	CHECK(replica_capture(a, h_strf("UPDATE structure SET nom = CAST(x'4d4a43ff' AS TEXT) "
					"WHERE id='%s'", w.s65)) == 0);
	CHECK(replica_capture(a, h_strf("UPDATE structure SET commune = CAST(x'4175636800682d' AS TEXT) "
					"WHERE id='%s'", w.s65)) == 0);
	/* Rows of another département, and a row that exists nowhere: one
	 * answer, which names no département. */
	CHECK(util_uuid(ghost) == 0);
	CHECK(replica_sql(a, h_strf("INSERT INTO structure(id, dept, nom, commune) VALUES"
				    "('%s', '65', 'Fantôme', 'Nulle part'), ('%s', '65', 'Autre', 'Ailleurs')",
				    ghost, w.s15)) == 0);
	CHECK(replica_capture(a, h_strf("UPDATE structure SET commune='Lourdes' WHERE id='%s'", w.s15)) == 0);
	CHECK(replica_capture(a, h_strf("UPDATE structure SET commune='Lourdes' WHERE id='%s'", ghost)) == 0);
	/* Ten good edits after them. */
	const char *ids[10];
	for (int k = 0; k < 10; k++) {
		ids[k] = h_relais_ok(a, "structure", "add", "--nom", h_strf("Structure %d", k),
				     "--commune", "Tarbes", (char *)NULL);
		CHECK_IDX(ids[k] != NULL, k);
	}
	struct h_out *o = sync_out(a, &w.d);
	CHECK_INT(o->status, 0);
	CHECK(strstr(o->out, "4 modifications refusées") != NULL);
	CHECK(h_sync(b, &w.d) == 0);
	json_t *eb = h_export(b);
	CHECK(eb != NULL);
	for (int k = 0; k < 10; k++)
		CHECK_STR_IDX(h_row_str(h_export_row(eb, "structure", ids[k]), "nom"),
			      h_strf("Structure %d", k), k);
	CHECK_STR(h_row_str(h_export_row(eb, "structure", w.s65), "nom"), "MJC de Lourdes");
	CHECK(h_relais_ok(b, "structure", "list", "--json", (char *)NULL) != NULL);
	/* The forger's replica is back to the server's values. */
	CHECK_STR(col_of(a, "structure", w.s65, "nom"), "MJC de Lourdes");
	CHECK_STR(col_of(a, "structure", w.s65, "commune"), "Lourdes");

	json_t *refus = json_of(h_relais_ok(a, "refus", "--json", (char *)NULL));
	CHECK(refus && json_array_size(refus) == 4);
	const char *r_foreign = json_string_value(json_object_get(json_array_get(refus, 2), "raison"));
	const char *r_ghost = json_string_value(json_object_get(json_array_get(refus, 3), "raison"));
	CHECK(r_foreign && r_ghost && strstr(r_foreign, w.s15) && strstr(r_ghost, ghost));
	char *same = strdup(r_foreign);
	CHECK(same != NULL);
	memcpy(strstr(same, w.s15), ghost, UTIL_UUID_LEN);
	int equal = !strcmp(same, r_ghost);
	free(same);
	CHECK(equal);
	CHECK(strstr(json_string_value(json_object_get(json_array_get(refus, 0), "raison")),
		     "UTF-8") != NULL);
	CHECK(strstr(json_string_value(json_object_get(json_array_get(refus, 1), "raison")),
		     "nul") != NULL);

	/* Shown, inspected and dropped. */
	const char *st = h_relais_ok(a, "status", (char *)NULL);
	CHECK(st && strstr(st, "Modifications refusées par le serveur : 4"));
	long long n1 = json_integer_value(json_object_get(json_array_get(refus, 0), "numero"));
	const char *show = h_relais_ok(a, "refus", "voir", h_strf("%lld", n1), (char *)NULL);
	CHECK(show && strstr(show, "Raison") && strstr(show, "modification dans structures"));
	CHECK(h_relais_ok(a, "refus", "abandonner", h_strf("%lld", n1), (char *)NULL) != NULL);
	CHECK(h_relais_ok(a, "refus", "abandonner", "--tous", (char *)NULL) != NULL);
	refus = json_of(h_relais_ok(a, "refus", "--json", (char *)NULL));
	CHECK(refus && json_array_size(refus) == 0);
	CHECK_INT(h_daemon_stop(&w.d), 0);
}
