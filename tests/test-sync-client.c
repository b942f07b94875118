/*
 * test-sync-client.c - the client half of the engine: metadata, capture
 * into the outbox, applying pulled pages, the table rules, and convergence
 * of three replicas after random interleavings of edits and syncs.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>
#include "../common/buf.h"
#include "../common/util.h"
#include "../sync/sync.h"
#include "test.h"

#include "sync-fixture.h"

TEST(syncc_meta_and_node)
{
	char *v = NULL;

	CHECK_OK(fx_setup(1, NULL, NULL, NULL));
	CHECK_INT(sync_meta_get(fx_db(0), "absent", &v), RELAIS_ENOTFOUND);
	CHECK(v == NULL);
	CHECK_OK(sync_meta_set(fx_db(0), "server", "http://127.0.0.1:1"));
	CHECK_OK(sync_meta_get(fx_db(0), "server", &v));
	CHECK_STR(v, "http://127.0.0.1:1");
	free(v);
	CHECK_OK(sync_meta_get(fx_db(0), "node", &v));
	{
		uint64_t node;
		CHECK_OK(sync_node_parse(v, &node));
	}
	/* Running the schema again keeps the replica's identity. */
	CHECK_OK(sync_client_schema(fx_db(0)));
	{
		char *again = NULL;
		CHECK_OK(sync_meta_get(fx_db(0), "node", &again));
		CHECK_STR(again, v);
		free(again);
	}
	free(v);
}

TEST(syncc_capture_queues_one_item_per_edit)
{
	struct sync_capture *c;
	struct sync_outbox ob;
	uint64_t pending;

	CHECK_OK(fx_setup(1, NULL, NULL, NULL));
	CHECK_OK(fx_edit(0, "INSERT INTO t VALUES('00000000-0000-4000-8000-000000000001', '43', 'x', NULL, 0)"));
	/* A statement that changes nothing queues nothing. */
	CHECK_OK(fx_edit(0, "UPDATE t SET a=a"));
	/* An aborted edit leaves neither the row nor an item. */
	CHECK_OK(sync_capture_begin(fx_db(0), fx_tables(0), &c));
	CHECK_OK(fx_plant(0, "INSERT INTO t VALUES('00000000-0000-4000-8000-000000000002', '43', 'y', NULL, 0)"));
	sync_capture_abort(c);
	CHECK_INT(fx_int(0, "SELECT count(*) FROM t"), 1);
	CHECK_OK(sync_outbox_pending(fx_db(0), &pending));
	CHECK_INT(pending, 1);
	for (int i = 0; i < 4; i++)
		CHECK_OK(fx_edit(0, "UPDATE t SET n = n + 1"));
	CHECK_INT(fx_int(0, "SELECT count(*) FROM sync_outbox"), 5);
	/* HLCs strictly increase with the seq, and meta "hlc" holds the last. */
	CHECK_INT(fx_int(0, "SELECT count(*) FROM sync_outbox a JOIN sync_outbox b ON b.seq > a.seq "
			 "WHERE b.hlc <= a.hlc"), 0);
	CHECK_INT(fx_int(0, "SELECT max(hlc) = (SELECT CAST(value AS INTEGER) FROM sync_meta WHERE key='hlc') "
			 "FROM sync_outbox"), 1);
	/* Limits: by count, then by bytes (but always at least one item). */
	CHECK_OK(sync_outbox_load(fx_db(0), 3, 1u << 20, &ob));
	CHECK_INT(ob.count, 3);
	CHECK(ob.items[0].seq < ob.items[1].seq && ob.items[1].seq < ob.items[2].seq);
	CHECK(ob.items[0].len > 0);
	sync_outbox_free(&ob);
	CHECK_OK(sync_outbox_load(fx_db(0), 100, 1, &ob));
	CHECK_INT(ob.count, 1);
	{
		uint64_t first = ob.items[0].seq;
		sync_outbox_free(&ob);
		CHECK_OK(sync_outbox_ack(fx_db(0), first + 1));
	}
	CHECK_OK(sync_outbox_pending(fx_db(0), &pending));
	CHECK_INT(pending, 3);
	sync_outbox_free(NULL);
}

/* A pull never hides a pending edit, and pulled rows are never captured. */
TEST(syncc_pull_refused_while_outbox_pending)
{
	uint64_t pending;
	char *before, *after, *cur = NULL;

	CHECK_OK(fx_setup(2, NULL, NULL, NULL));
	CHECK_OK(fx_edit(0, "INSERT INTO t VALUES('00000000-0000-4000-8000-000000000001', '43', 'x', NULL, 0)"));
	CHECK_OK(fx_sync(0));
	CHECK_OK(fx_edit(1, "INSERT INTO t VALUES('00000000-0000-4000-8000-000000000002', '43', 'y', NULL, 0)"));
	before = fx_dump(1, "t");
	CHECK_INT(fx_pull(1, 100), RELAIS_EBUSY);
	after = fx_dump(1, "t");
	CHECK(before && after && !strcmp(before, after));
	free(before);
	free(after);
	CHECK_INT(sync_meta_get(fx_db(1), "cursor", &cur), RELAIS_ENOTFOUND);
	CHECK_OK(fx_sync(1));
	CHECK_INT(fx_int(1, "SELECT count(*) FROM t"), 2);
	CHECK_OK(sync_outbox_pending(fx_db(1), &pending));
	CHECK_INT(pending, 0);
	/* The pull observed the server clock: the next edit is later than it. */
	{
		sync_hlc_t server_hlc;
		uint64_t seq;
		CHECK_OK(sync_server_state(fx_db(FX_SERVER), FX_DEPT, &server_hlc, &seq));
		CHECK_OK(fx_edit(1, "UPDATE t SET a='z'"));
		CHECK(fx_int(1, "SELECT hlc FROM sync_outbox") > (long long)server_hlc);
	}
}

/* A page the replica's schema cannot take is refused whole. */
TEST(syncc_apply_refuses_schema_mismatch)
{
	struct buf raw = BUF_INIT(SYNC_WIRE_MAX_RAW);
	struct sync_apply_result ar;
	static const char *const only_t[] = { "t" };
	struct sync_tables *tt = NULL;

	/* Client 1 has one more column than the server. */
	CHECK_OK(fx_setup(2, "CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, dept TEXT NOT NULL, a TEXT, b TEXT, "
			  "n INTEGER, extra TEXT)", "CREATE TABLE u(id TEXT PRIMARY KEY NOT NULL, dept TEXT NOT NULL)",
			  "u"));
	CHECK_OK(fx_edit(FX_SERVER, "INSERT INTO t VALUES('00000000-0000-4000-8000-000000000001', '43', 'x', NULL, 0)"));
	CHECK_OK(sync_pull_build(fx_db(FX_SERVER), fx_tables(FX_SERVER), FX_DEPT, 0, 100, 0, &raw));
	CHECK_INT(sync_apply_pull(fx_db(1), fx_tables(1), raw.data, raw.len, &ar), RELAIS_ESCHEMA);
	CHECK_INT(fx_int(1, "SELECT count(*) FROM t"), 0);
	CHECK_INT(fx_int(1, "SELECT count(*) FROM sync_meta WHERE key='cursor'"), 0);
	CHECK_OK(sync_apply_pull(fx_db(0), fx_tables(0), raw.data, raw.len, &ar));
	CHECK_INT(ar.rows, 1);

	/* A row of a table the replica does not replicate. */
	CHECK_OK(fx_edit(FX_SERVER, "INSERT INTO u VALUES('00000000-0000-4000-8000-000000000002', '43')"));
	buf_reset(&raw);
	CHECK_OK(sync_pull_build(fx_db(FX_SERVER), fx_tables(FX_SERVER), FX_DEPT, ar.cursor, 100, 0, &raw));
	CHECK_OK(sync_tables_load(fx_db(0), only_t, 1, &tt));
	CHECK_INT(sync_apply_pull(fx_db(0), tt, raw.data, raw.len, &ar), RELAIS_ESCHEMA);
	CHECK_OK(sync_apply_pull(fx_db(0), fx_tables(0), raw.data, raw.len, &ar));
	CHECK_INT(fx_int(0, "SELECT count(*) FROM u"), 1);
	/* Garbage is refused too. */
	CHECK(sync_apply_pull(fx_db(0), fx_tables(0), "xyz", 3, &ar) < 0);
	sync_tables_free(tt);
	buf_release(&raw);
}

/* A bootstrap file as relaisd makes it: the replica's own definition of t
 * (SQLite then copies it whole), or another one, and rows. */
static int write_amorce(const char *path, const char *ddl, const char *rows)
{
	sqlite3 *db = NULL;
	char *sql = sqlite3_mprintf("%s; %s; CREATE TABLE amorce(key TEXT PRIMARY KEY, value); "
				    "INSERT INTO amorce VALUES('seq', 7), ('hlc', 1000), ('schema', 3), "
				    "('dept', '" FX_DEPT "')", ddl, rows);
	int rc = sql && sqlite3_open(path, &db) == SQLITE_OK &&
		 sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
	sqlite3_free(sql);
	sqlite3_close(db);
	return rc;
}

TEST(syncc_bootstrap_install_cases)
{
	static const char same[] =
		"CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, dept TEXT NOT NULL, a TEXT, b TEXT, "
		"n INTEGER CHECK(n >= 0))";
	static const char two[] =
		"INSERT INTO t VALUES('00000000-0000-4000-8000-000000000001', '" FX_DEPT "', 'x', NULL, 1),"
		"('00000000-0000-4000-8000-000000000002', '" FX_DEPT "', 'y', 'z', 2)";
	static const struct {
		const char *ddl, *rows;
		int rc;
		long long rows_after;
	} cases[] = {
		/* the replica's definition: copied whole */
		{ same, two, 0, 2 },
		/* no constraint, as relaisd made files before: row by row, same rows */
		{ "CREATE TABLE t(id, dept, a, b, n)", two, 0, 2 },
		/* a row of another département: the file is not for this replica */
		{ same, "INSERT INTO t VALUES('00000000-0000-4000-8000-000000000003', '65', 'x', NULL, 1)",
		  RELAIS_ECORRUPT, 0 },
		/* as many columns, one of another name, or in another order */
		{ "CREATE TABLE t(id TEXT PRIMARY KEY, dept TEXT, a TEXT, c TEXT, n INTEGER)", two,
		  RELAIS_ESCHEMA, 0 },
		{ "CREATE TABLE t(id TEXT PRIMARY KEY, dept TEXT, b TEXT, a TEXT, n INTEGER)", two,
		  RELAIS_ESCHEMA, 0 },
		/* one column less, or no table t at all */
		{ "CREATE TABLE t(id TEXT PRIMARY KEY, dept TEXT, a TEXT, b TEXT)", "SELECT 1",
		  RELAIS_ESCHEMA, 0 },
		{ "CREATE TABLE other(x)", "SELECT 1", RELAIS_ESCHEMA, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[] = "/tmp/relais-amorce-XXXXXX";
		uint64_t rows = 99;
		int fd = mkstemp(path);
		CHECK_IDX(fd >= 0, i);
		close(fd);
		unlink(path);
		CHECK_OK(fx_setup(1, NULL, NULL, NULL));
		/* The conflicts are replicated too: the file has them, as the replica. */
		char *conf = fx_text(0, "SELECT sql FROM sqlite_master WHERE name='sync_conflict'");
		CHECK_IDX(conf != NULL, i);
		char *ddl = sqlite3_mprintf("%s; %s", conf, cases[i].ddl);
		free(conf);
		CHECK_INT_IDX(write_amorce(path, ddl, cases[i].rows), 0, i);
		sqlite3_free(ddl);
		CHECK_INT_IDX(sync_bootstrap_install(fx_db(0), fx_tables(0), path, 3, FX_DEPT, &rows),
			      cases[i].rc, i);
		CHECK_INT_IDX(fx_int(0, "SELECT count(*) FROM t"), cases[i].rows_after, i);
		CHECK_INT_IDX(rows, (uint64_t)cases[i].rows_after, i);
		CHECK_INT_IDX(fx_int(0, "SELECT count(*) FROM sync_meta WHERE key='cursor' AND value='7'"),
			      cases[i].rc ? 0 : 1, i);
		/* WAL again, whatever happened */
		char *mode = fx_text(0, "PRAGMA journal_mode");
		CHECK_IDX(mode && !strcmp(mode, "wal"), i);
		free(mode);
		unlink(path);
	}
}

struct rule_case {
	const char *ddl;
	int rc;
};

TEST(syncc_tables_load_checks_rules)
{
	static const struct rule_case cases[] = {
		{ "CREATE TABLE x(id TEXT PRIMARY KEY NOT NULL, dept TEXT NOT NULL, v TEXT)", 0 },
		{ "CREATE TABLE x(dept TEXT NOT NULL, id TEXT PRIMARY KEY NOT NULL)", RELAIS_ESCHEMA },
		{ "CREATE TABLE x(id TEXT NOT NULL, dept TEXT NOT NULL)", RELAIS_ESCHEMA },
		{ "CREATE TABLE x(id INTEGER PRIMARY KEY, dept TEXT NOT NULL)", RELAIS_ESCHEMA },
		{ "CREATE TABLE x(id TEXT PRIMARY KEY NOT NULL, dept TEXT)", RELAIS_ESCHEMA },
		{ "CREATE TABLE x(id TEXT PRIMARY KEY NOT NULL, dept TEXT NOT NULL, v TEXT UNIQUE)", RELAIS_ESCHEMA },
		{ "CREATE TABLE x(id TEXT NOT NULL, dept TEXT NOT NULL, PRIMARY KEY(id, dept))", RELAIS_ESCHEMA },
		{ "CREATE TABLE y(id TEXT PRIMARY KEY NOT NULL, dept TEXT NOT NULL)", RELAIS_ESCHEMA },
	};
	static const char *const names[] = { "x" };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sync_tables *t = NULL;
		CHECK_OK(fx_setup(1, NULL, cases[i].ddl, NULL));
		CHECK_INT_IDX(sync_tables_load(fx_db(0), names, 1, &t), cases[i].rc, i);
		if (cases[i].rc == 0) {
			CHECK_INT_IDX(sync_tables_count(t), 2, i);
			CHECK_STR_IDX(sync_tables_name(t, 1), SYNC_CONFLICT_TABLE, i);
			CHECK_INT_IDX(sync_tables_ncols(t, 0), 3, i);
			CHECK_STR_IDX(sync_tables_col(t, 0, 2), "v", i);
			CHECK_INT_IDX(sync_tables_find(t, "x"), 0, i);
			CHECK_INT_IDX(sync_tables_find(t, "nope"), -1, i);
			CHECK_INT_IDX(sync_tables_ncols(t, 1), 18, i);
		} else {
			CHECK_IDX(t == NULL, i);
		}
		sync_tables_free(t);
	}
}

/* ---- convergence ---- */

static uint64_t rng;

static unsigned rnd(unsigned n)
{
	rng = rng * 6364136223846793005ull + 1442695040888963407ull;
	return (unsigned)((rng >> 33) % n);
}

/* Picks a random row id of replica who's table (malloc'd), NULL when empty. */
static char *random_row(int who, const char *table, const char *where)
{
	char sql[256];
	long long n;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE %s", table, where);
	n = fx_int(who, sql);
	if (n <= 0)
		return NULL;
	snprintf(sql, sizeof(sql), "SELECT id FROM %s WHERE %s ORDER BY id LIMIT 1 OFFSET %u", table, where,
		 rnd((unsigned)n));
	return fx_text(who, sql);
}

static int random_step(int nrow)
{
	static const char *const cols[] = { "a", "b", "n" };
	int who = (int)rnd(3), op = (int)rnd(100), rc = 0;
	char *id = NULL, *sql = NULL;

	if (op < 22) {
		sql = sqlite3_mprintf("INSERT INTO t VALUES('00000000-0000-4000-8000-%012d', '43', 'a%u', 'b%u', %u)",
				      nrow, rnd(10), rnd(10), rnd(10));
		rc = fx_edit(who, sql);
	} else if (op < 55) {
		id = random_row(who, "t", "1");
		if (id) {
			const char *c = cols[rnd(3)];
			sql = !strcmp(c, "n") ? sqlite3_mprintf("UPDATE t SET n=%u WHERE id='%q'", rnd(10), id)
				: sqlite3_mprintf("UPDATE t SET %s='%s%u' WHERE id='%q'", c, fx_login(who), rnd(100), id);
			rc = fx_edit(who, sql);
		}
	} else if (op < 63) {
		id = random_row(who, "t", "1");
		if (id) {
			sql = sqlite3_mprintf("DELETE FROM t WHERE id='%q'", id);
			rc = fx_edit(who, sql);
		}
	} else if (op < 70) {
		id = random_row(who, "sync_conflict", "resolution IS NULL");
		if (id)
			rc = sync_conflict_resolve(fx_db(who), fx_tables(who), id, (int)rnd(2), fx_login(who));
	} else if (op < 73) {
		id = random_row(FX_SERVER, "t", "1");
		if (id) {
			sql = sqlite3_mprintf("UPDATE t SET b='srv%u' WHERE id='%q'", rnd(100), id);
			rc = fx_edit(FX_SERVER, sql);
		}
	} else {
		rc = fx_sync(who);
	}
	if (rc)
		fprintf(stderr, "  step op %d by %d failed: %d\n", op, who, rc);
	sqlite3_free(sql);
	free(id);
	return rc;
}

static int same_everywhere(const char *table)
{
	char *ref = fx_dump(FX_SERVER, table);
	int ok = ref != NULL;

	for (int i = 0; ok && i < 3; i++) {
		char *d = fx_dump(i, table);
		if (!d || strcmp(d, ref)) {
			fprintf(stderr, "  %s of replica %d differs from the server's:\n%s---\n%s", table, i,
				d ? d : "(null)", ref);
			ok = 0;
		}
		free(d);
	}
	free(ref);
	return ok;
}

/* Three replicas edit, delete, settle conflicts and sync in a seeded random
 * order; after everyone syncs twice, every replica equals the server. */
TEST(syncc_three_replicas_converge)
{
	static const uint64_t seeds[] = { 1, 42, 20261123 };

	for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
		rng = seeds[s];
		CHECK_OK(fx_setup(3, NULL, NULL, NULL));
		for (int step = 0; step < 150; step++)
			CHECK_OK(random_step(step));
		for (int round = 0; round < 2; round++)
			for (int i = 0; i < 3; i++)
				CHECK_OK(fx_sync(i));
		CHECK_IDX(fx_int(FX_SERVER, "SELECT count(*) FROM t") > 0, s);
		CHECK_IDX(same_everywhere("t"), s);
		CHECK_IDX(same_everywhere(SYNC_CONFLICT_TABLE), s);
		for (int i = 0; i < 3; i++)
			CHECK_INT_IDX(fx_int(i, "SELECT count(*) FROM sync_outbox"), 0, (int)s * 10 + i);
		fprintf(stderr, "  seed %llu: %lld rows, %lld conflicts\n", (unsigned long long)seeds[s],
			fx_int(FX_SERVER, "SELECT count(*) FROM t"),
			fx_int(FX_SERVER, "SELECT count(*) FROM sync_conflict"));
	}
}
