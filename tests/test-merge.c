/*
 * test-merge.c - the server half of the engine: per-column merge by HLC,
 * conflicts, deletions, restores, retries, scope and constraint refusals,
 * pull pages and the server's own writes.
 *
 * Everything runs in-process on real SQLite files in a temporary directory:
 * one server database and up to three client replicas of a toy table t,
 * with every push and pull going through the real wire functions.
 *
 * The fixture (fx_*) is shared with test-sync-client.c, which declares the
 * same prototypes.
 */
#include <ftw.h>
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

/* ---- fixture ---- */

#define FX_CLIENTS 3
#define FX_SERVER (-1)
#define FX_DEPT "43"

/* Client i's login; the account of every client is in département 43. */
const char *fx_login(int i);
/* Makes a fresh temporary directory with a server store and nclients
 * replicas of table t (replacing any previous fixture). client_ddl, when not
 * NULL, replaces the CREATE TABLE of the last client (schema drift tests);
 * extra is run on every database (more replicated tables, by name in
 * extra_tables). Registers the cleanup. Returns 0 or a RELAIS_E* code. */
int fx_setup(int nclients, const char *client_ddl, const char *extra, const char *extra_tables);
sqlite3 *fx_db(int who);
const struct sync_tables *fx_tables(int who);
/* Runs sql as one local edit: captured on client who, or through
 * sync_local_* as login "passerelle" on the server. */
int fx_edit(int who, const char *sql);
/* Runs sql on client who without capture (to plant rows a test needs). */
int fx_plant(int who, const char *sql);
/* Pushes the whole outbox of client i in batches of batch items, as login
 * fx_login(i) of dept; the last merge result and error text come back. */
int fx_push(int i, const char *dept, size_t batch, struct sync_merge_result *res,
	    char *err, size_t errlen);
/* Pulls pages of at most limit rows until no more. */
int fx_pull(int i, size_t limit);
/* Push then pull. */
int fx_sync(int i);
/* One integer from a query on who's database, -1 on error. */
long long fx_int(int who, const char *sql);
/* One text from a query (malloc'd, caller frees), NULL on error or NULL. */
char *fx_text(int who, const char *sql);
/* Whole table (rows by id, each value with its type) as malloc'd text. */
char *fx_dump(int who, const char *table);

static const char t_ddl[] =
	"CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, dept TEXT NOT NULL, a TEXT, b TEXT, "
	"n INTEGER CHECK(n >= 0))";

static struct {
	char dir[64];
	int n;
	sqlite3 *db[FX_CLIENTS + 1];               /* [0] is the server */
	struct sync_tables *t[FX_CLIENTS + 1];
	int deferred;
} fx;

const char *fx_login(int i)
{
	static const char *const logins[FX_CLIENTS] = { "alice", "bruno", "chloe" };
	return i >= 0 && i < FX_CLIENTS ? logins[i] : "passerelle";
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void fx_teardown(void *arg)
{
	(void)arg;
	for (int i = 0; i <= FX_CLIENTS; i++) {
		sync_tables_free(fx.t[i]);
		fx.t[i] = NULL;
		sqlite3_close(fx.db[i]);
		fx.db[i] = NULL;
	}
	if (fx.dir[0] && !getenv("RELAIS_TEST_KEEP"))
		nftw(fx.dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	fx.dir[0] = 0;
}

static int fx_open(int slot, const char *name, const char *ddl, const char *extra,
		   const char *extra_tables)
{
	char path[128];
	const char *names[2] = { "t", extra_tables };
	int rc;

	snprintf(path, sizeof(path), "%s/%s.db", fx.dir, name);
	if (sqlite3_open(path, &fx.db[slot]) != SQLITE_OK)
		return RELAIS_EDB;
	if (sqlite3_exec(fx.db[slot], "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;", NULL, NULL, NULL) ||
	    sqlite3_exec(fx.db[slot], ddl, NULL, NULL, NULL) ||
	    (extra && sqlite3_exec(fx.db[slot], extra, NULL, NULL, NULL)))
		return RELAIS_EDB;
	rc = slot == 0 ? sync_server_schema(fx.db[slot]) : sync_client_schema(fx.db[slot]);
	if (rc)
		return rc;
	return sync_tables_load(fx.db[slot], names, extra_tables ? 2 : 1, &fx.t[slot]);
}

int fx_setup(int nclients, const char *client_ddl, const char *extra, const char *extra_tables)
{
	int rc;

	fx_teardown(NULL);
	if (!fx.deferred) {
		test_defer(fx_teardown, NULL);
		fx.deferred = 1;
	}
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/relais-sync-XXXXXX");
	if (!mkdtemp(fx.dir))
		return RELAIS_EIO;
	fx.n = nclients;
	rc = fx_open(0, "server", t_ddl, extra, extra_tables);
	for (int i = 0; !rc && i < nclients; i++) {
		char name[16];
		snprintf(name, sizeof(name), "client%d", i);
		rc = fx_open(i + 1, name, client_ddl && i == nclients - 1 ? client_ddl : t_ddl,
			     extra, extra_tables);
	}
	return rc;
}

sqlite3 *fx_db(int who)
{
	return fx.db[who + 1];
}

const struct sync_tables *fx_tables(int who)
{
	return fx.t[who + 1];
}

int fx_edit(int who, const char *sql)
{
	int rc;

	if (who == FX_SERVER) {
		struct sync_local *l;
		rc = sync_local_begin(fx_db(who), fx_tables(who), &l);
		if (rc)
			return rc;
		if (sqlite3_exec(fx_db(who), sql, NULL, NULL, NULL)) {
			sync_local_abort(l);
			return RELAIS_EDB;
		}
		return sync_local_commit(l, fx_login(who));
	}
	struct sync_capture *c;
	rc = sync_capture_begin(fx_db(who), fx_tables(who), &c);
	if (rc)
		return rc;
	if (sqlite3_exec(fx_db(who), sql, NULL, NULL, NULL)) {
		sync_capture_abort(c);
		return RELAIS_EDB;
	}
	return sync_capture_commit(c);
}

int fx_plant(int who, const char *sql)
{
	return sqlite3_exec(fx_db(who), sql, NULL, NULL, NULL) ? RELAIS_EDB : 0;
}

int fx_push(int i, const char *dept, size_t batch, struct sync_merge_result *res,
	    char *err, size_t errlen)
{
	struct sync_author who = { fx_login(i), dept };
	int rc = 0;

	memset(res, 0, sizeof(*res));
	for (;;) {
		struct sync_outbox ob;
		struct sync_push push;
		struct buf raw = BUF_INIT(SYNC_WIRE_MAX_RAW), env = BUF_INIT(SYNC_WIRE_MAX_BODY);
		struct buf in = BUF_INIT(SYNC_WIRE_MAX_RAW);
		enum sync_wire_kind kind;
		unsigned schema;

		memset(&push, 0, sizeof(push));
		rc = sync_outbox_load(fx_db(i), batch, 4u << 20, &ob);
		if (rc || ob.count == 0) {
			sync_outbox_free(&ob);
			return rc;
		}
		rc = sync_push_encode(ob.node, ob.items, ob.count, &raw);
		if (!rc)
			rc = sync_wire_seal(SYNC_WIRE_PUSH, 1, raw.data, raw.len, &env);
		if (!rc)
			rc = sync_wire_open(env.data, env.len, SYNC_WIRE_MAX_RAW, &kind, &schema, &in);
		if (!rc)
			rc = sync_push_decode(in.data, in.len, 100000, &push);
		if (!rc)
			rc = sync_merge(fx_db(FX_SERVER), fx_tables(FX_SERVER), &who, &push, res, err, errlen);
		if (!rc)
			rc = sync_outbox_ack(fx_db(i), res->acked);
		sync_push_free(&push);
		sync_outbox_free(&ob);
		buf_release(&raw);
		buf_release(&env);
		buf_release(&in);
		if (rc)
			return rc;
	}
}

int fx_pull(int i, size_t limit)
{
	struct sync_apply_result ar;
	int rc;

	do {
		struct buf raw = BUF_INIT(SYNC_WIRE_MAX_RAW), env = BUF_INIT(SYNC_WIRE_MAX_BODY);
		struct buf in = BUF_INIT(SYNC_WIRE_MAX_RAW);
		enum sync_wire_kind kind;
		unsigned schema;
		char *cur = NULL;
		long long since = 0;

		rc = sync_meta_get(fx_db(i), "cursor", &cur);
		if (rc == RELAIS_ENOTFOUND)
			rc = 0;
		else if (!rc)
			rc = util_parse_ll(cur, 0, INT64_MAX, &since);
		free(cur);
		if (!rc)
			rc = sync_pull_build(fx_db(FX_SERVER), fx_tables(FX_SERVER), FX_DEPT, (uint64_t)since,
					     limit, 0, &raw);
		if (!rc)
			rc = sync_wire_seal(SYNC_WIRE_PULL, 1, raw.data, raw.len, &env);
		if (!rc)
			rc = sync_wire_open(env.data, env.len, SYNC_WIRE_MAX_RAW, &kind, &schema, &in);
		if (!rc)
			rc = sync_apply_pull(fx_db(i), fx_tables(i), in.data, in.len, &ar);
		buf_release(&raw);
		buf_release(&env);
		buf_release(&in);
	} while (!rc && ar.more);
	return rc;
}

int fx_sync(int i)
{
	struct sync_merge_result res;
	char err[256];
	int rc = fx_push(i, FX_DEPT, 1000, &res, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "  push of %s: %d %s\n", fx_login(i), rc, err);
		return rc;
	}
	return fx_pull(i, 5000);
}

long long fx_int(int who, const char *sql)
{
	sqlite3_stmt *st;
	long long v = -1;

	if (sqlite3_prepare_v2(fx_db(who), sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

char *fx_text(int who, const char *sql)
{
	sqlite3_stmt *st;
	char *v = NULL;

	if (sqlite3_prepare_v2(fx_db(who), sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		v = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

char *fx_dump(int who, const char *table)
{
	struct buf b = BUF_INIT(64u << 20);
	sqlite3_stmt *st;
	char *sql = sqlite3_mprintf("SELECT * FROM \"%w\" ORDER BY id", table);
	int rc = 0;

	if (!sql || sqlite3_prepare_v2(fx_db(who), sql, -1, &st, NULL) != SQLITE_OK) {
		sqlite3_free(sql);
		return NULL;
	}
	sqlite3_free(sql);
	while (!rc && sqlite3_step(st) == SQLITE_ROW) {
		for (int j = 0; !rc && j < sqlite3_column_count(st); j++) {
			int type = sqlite3_column_type(st, j);
			rc = buf_printf(&b, "%s%d:", j ? "|" : "", type);
			if (!rc && type != SQLITE_NULL)
				rc = buf_append(&b, sqlite3_column_blob(st, j), (size_t)sqlite3_column_bytes(st, j));
		}
		if (!rc)
			rc = buf_putc(&b, '\n');
	}
	sqlite3_finalize(st);
	if (rc) {
		buf_release(&b);
		return NULL;
	}
	return (char *)buf_detach(&b, NULL);
}

/* ---- helpers of these tests ---- */

static const char row_id[] = "0a1b2c3d-0000-4000-8000-000000000001";

static char *q(const char *fmt, const char *arg)
{
	return sqlite3_mprintf(fmt, arg);
}

/* Client 0 creates the row and every client pulls it. */
static int seed_row(int nclients)
{
	char *sql = q("INSERT INTO t VALUES('%q', '" FX_DEPT "', 'base-a', 'base-b', 1)", row_id);
	int rc = fx_edit(0, sql);
	sqlite3_free(sql);
	for (int i = 0; !rc && i < nclients; i++)
		rc = fx_sync(i);
	return rc;
}

static int edit_col(int who, const char *col, const char *value)
{
	char *sql = sqlite3_mprintf("UPDATE t SET \"%w\"='%q' WHERE id='%q'", col, value, row_id);
	int rc = fx_edit(who, sql);
	sqlite3_free(sql);
	/* Later edits must carry later HLCs even on another replica's clock. */
	usleep(3000);
	return rc;
}

static int dumps_equal(int a, int b, const char *table)
{
	char *x = fx_dump(a, table), *y = fx_dump(b, table);
	int eq = x && y && !strcmp(x, y);
	if (!eq)
		fprintf(stderr, "  %s differs:\n--- %d\n%s--- %d\n%s", table, a, x ? x : "(null)", b,
			y ? y : "(null)");
	free(x);
	free(y);
	return eq;
}

/* ---- tests ---- */

/* A edits column a, then B edits it later; whoever pushes first, B's value
 * wins everywhere and one conflict names both values and authors. */
TEST(merge_later_hlc_wins_whatever_push_order)
{
	for (int order = 0; order < 2; order++) {
		struct sync_merge_result res;
		char err[256];
		char *s;

		CHECK_OK(fx_setup(2, NULL, NULL, NULL));
		CHECK_OK(seed_row(2));
		CHECK_OK(edit_col(0, "a", "from-alice"));
		CHECK_OK(edit_col(1, "a", "from-bruno"));
		CHECK_OK(fx_push(order ? 1 : 0, FX_DEPT, 100, &res, err, sizeof(err)));
		CHECK_INT_IDX(res.conflicts, 0, order);
		CHECK_OK(fx_push(order ? 0 : 1, FX_DEPT, 100, &res, err, sizeof(err)));
		CHECK_INT_IDX(res.conflicts, 1, order);
		CHECK_OK(fx_pull(0, 5000));
		CHECK_OK(fx_pull(1, 5000));
		for (int who = FX_SERVER; who < 2; who++) {
			s = fx_text(who, "SELECT a FROM t");
			CHECK_STR_IDX(s, "from-bruno", order * 10 + who);
			free(s);
			CHECK_INT_IDX(fx_int(who, "SELECT count(*) FROM sync_conflict"), 1, order * 10 + who);
			s = fx_text(who, "SELECT kind||' '||tbl||' '||col||' '||kept||' '||kept_login||' '||lost||' '||lost_login "
				    "FROM sync_conflict");
			CHECK_STR_IDX(s, "valeur t a \"from-bruno\" bruno \"from-alice\" alice", order * 10 + who);
			free(s);
		}
		CHECK_IDX(dumps_equal(0, 1, "t"), order);
		CHECK_IDX(dumps_equal(0, FX_SERVER, "t"), order);
		CHECK_IDX(dumps_equal(0, 1, "sync_conflict"), order);
		/* The conflict's stamps are the edits' own. */
		CHECK_IDX(fx_int(FX_SERVER, "SELECT kept_hlc > lost_hlc AND created_hlc > kept_hlc FROM sync_conflict") == 1,
			  order);
	}
}

TEST(merge_edits_of_two_columns_both_survive)
{
	char *s;

	CHECK_OK(fx_setup(2, NULL, NULL, NULL));
	CHECK_OK(seed_row(2));
	CHECK_OK(edit_col(0, "a", "alice-a"));
	CHECK_OK(edit_col(1, "b", "bruno-b"));
	CHECK_OK(fx_sync(1));
	CHECK_OK(fx_sync(0));
	CHECK_OK(fx_sync(1));
	for (int who = FX_SERVER; who < 2; who++) {
		s = fx_text(who, "SELECT a||','||b||','||n FROM t");
		CHECK_STR_IDX(s, "alice-a,bruno-b,1", who);
		free(s);
		CHECK_INT_IDX(fx_int(who, "SELECT count(*) FROM sync_conflict"), 0, who);
	}
}

/* A deletes the row while B edits it: in both push orders the row ends
 * deleted everywhere and a suppression conflict holds B's edit. */
TEST(merge_delete_versus_edit_both_orders)
{
	for (int order = 0; order < 2; order++) {
		struct sync_merge_result res;
		char err[256], *s, *sql;

		CHECK_OK(fx_setup(2, NULL, NULL, NULL));
		CHECK_OK(seed_row(2));
		sql = q("DELETE FROM t WHERE id='%q'", row_id);
		CHECK_OK(fx_edit(0, sql));
		sqlite3_free(sql);
		usleep(3000);
		CHECK_OK(edit_col(1, "b", "bruno-b"));
		CHECK_OK(fx_push(order ? 1 : 0, FX_DEPT, 100, &res, err, sizeof(err)));
		CHECK_OK(fx_push(order ? 0 : 1, FX_DEPT, 100, &res, err, sizeof(err)));
		CHECK_OK(fx_pull(0, 5000));
		CHECK_OK(fx_pull(1, 5000));
		for (int who = FX_SERVER; who < 2; who++) {
			int idx = order * 10 + who;
			CHECK_INT_IDX(fx_int(who, "SELECT count(*) FROM t"), 0, idx);
			CHECK_INT_IDX(fx_int(who, "SELECT count(*) FROM sync_conflict"), 1, idx);
			s = fx_text(who, "SELECT kind||' '||kept||' '||kept_login||' '||lost_login||' '||(col IS NULL) "
				    "FROM sync_conflict");
			CHECK_STR_IDX(s, "suppression null alice bruno 1", idx);
			free(s);
			s = fx_text(who, "SELECT json_extract(lost, '$.b')||','||json_extract(lost, '$.a')||','||"
				    "json_extract(lost, '$.n') FROM sync_conflict");
			CHECK_STR_IDX(s, "bruno-b,base-a,1", idx);
			free(s);
		}
		CHECK_IDX(dumps_equal(0, 1, "sync_conflict"), order);
		CHECK_INT_IDX(fx_int(FX_SERVER, "SELECT deleted FROM sync_row WHERE tbl='t'"), 1, order);
	}
}

/* Resolving keeps a chosen side everywhere: a deleted row comes back with
 * the lost edit, a losing value wins back; resolving twice is refused. */
TEST(merge_resolve_restores_and_settles)
{
	char *s, *sql, *cid;

	CHECK_OK(fx_setup(2, NULL, NULL, NULL));
	CHECK_OK(seed_row(2));
	sql = q("DELETE FROM t WHERE id='%q'", row_id);
	CHECK_OK(fx_edit(0, sql));
	sqlite3_free(sql);
	CHECK_OK(edit_col(1, "b", "bruno-b"));
	CHECK_OK(fx_sync(0));
	CHECK_OK(fx_sync(1));
	CHECK_OK(fx_sync(0));
	cid = fx_text(1, "SELECT id FROM sync_conflict");
	CHECK(cid != NULL);
	CHECK_INT(sync_conflict_resolve(fx_db(1), fx_tables(1), "no-such-id", 1, "bruno"), RELAIS_ENOTFOUND);
	CHECK_OK(sync_conflict_resolve(fx_db(1), fx_tables(1), cid, 1, "bruno"));
	CHECK_INT(sync_conflict_resolve(fx_db(1), fx_tables(1), cid, 0, "bruno"), RELAIS_EEXIST);
	free(cid);
	CHECK_OK(fx_sync(1));
	CHECK_OK(fx_sync(0));
	for (int who = FX_SERVER; who < 2; who++) {
		s = fx_text(who, "SELECT a||','||b||','||n FROM t");
		CHECK_STR_IDX(s, "base-a,bruno-b,1", who);
		free(s);
		s = fx_text(who, "SELECT resolution||' '||resolved_by FROM sync_conflict");
		CHECK_STR_IDX(s, "perdant bruno", who);
		free(s);
	}
	CHECK(dumps_equal(0, 1, "t"));
	CHECK(dumps_equal(0, 1, "sync_conflict"));

	/* A value conflict settled for the losing side: it wins everywhere. */
	CHECK_OK(edit_col(0, "a", "alice-a"));
	CHECK_OK(edit_col(1, "a", "bruno-a"));
	CHECK_OK(fx_sync(1));
	CHECK_OK(fx_sync(0));
	CHECK_OK(fx_sync(1));
	cid = fx_text(0, "SELECT id FROM sync_conflict WHERE resolution IS NULL");
	CHECK(cid != NULL);
	CHECK_OK(sync_conflict_resolve(fx_db(0), fx_tables(0), cid, 1, "alice"));
	free(cid);
	CHECK_OK(fx_sync(0));
	CHECK_OK(fx_sync(1));
	for (int who = FX_SERVER; who < 2; who++) {
		s = fx_text(who, "SELECT a FROM t");
		CHECK_STR_IDX(s, "alice-a", who);
		free(s);
		/* Settling made no new conflict. */
		CHECK_INT_IDX(fx_int(who, "SELECT count(*) FROM sync_conflict"), 2, who);
		CHECK_INT_IDX(fx_int(who, "SELECT count(*) FROM sync_conflict WHERE resolution IS NULL"), 0, who);
	}
	CHECK(dumps_equal(0, 1, "t"));
}

/* A push retried after a cut connection (the answer was lost) applies
 * nothing twice; a batch overlapping the acknowledged part applies the rest. */
TEST(merge_retry_applies_nothing_twice)
{
	struct sync_author who = { "alice", FX_DEPT };
	struct sync_merge_result res;
	struct sync_outbox ob;
	struct sync_push push;
	struct buf raw = BUF_INIT(SYNC_WIRE_MAX_RAW);
	sync_hlc_t hlc;
	uint64_t seq1, seq2;
	char err[256];

	CHECK_OK(fx_setup(1, NULL, NULL, NULL));
	CHECK_OK(fx_edit(0, "INSERT INTO t VALUES('00000000-0000-4000-8000-000000000001', '43', 'x', NULL, 0)"));
	CHECK_OK(fx_edit(0, "UPDATE t SET n = n + 1"));
	CHECK_OK(fx_edit(0, "UPDATE t SET n = n + 1"));
	CHECK_OK(sync_outbox_load(fx_db(0), 2, 1u << 20, &ob));
	CHECK_INT(ob.count, 2);
	CHECK_OK(sync_push_encode(ob.node, ob.items, ob.count, &raw));
	CHECK_OK(sync_push_decode(raw.data, raw.len, 100, &push));
	CHECK_OK(sync_merge(fx_db(FX_SERVER), fx_tables(FX_SERVER), &who, &push, &res, err, sizeof(err)));
	CHECK_INT(res.items, 2);
	CHECK_INT(res.acked, ob.items[1].seq);
	CHECK_OK(sync_server_state(fx_db(FX_SERVER), FX_DEPT, &hlc, &seq1));
	CHECK(hlc >= ob.items[1].hlc);
	CHECK_OK(sync_merge(fx_db(FX_SERVER), fx_tables(FX_SERVER), &who, &push, &res, err, sizeof(err)));
	CHECK_INT(res.items, 0);
	CHECK_INT(res.changes, 0);
	CHECK_INT(res.acked, ob.items[1].seq);
	CHECK_OK(sync_server_state(fx_db(FX_SERVER), FX_DEPT, &hlc, &seq2));
	CHECK_INT(seq2, seq1);
	CHECK_INT(fx_int(FX_SERVER, "SELECT n FROM t"), 1);
	sync_push_free(&push);
	sync_outbox_free(&ob);
	buf_release(&raw);

	/* Nothing was acknowledged on the client: the next push resends all three. */
	CHECK_OK(fx_push(0, FX_DEPT, 100, &res, err, sizeof(err)));
	CHECK_INT(res.items, 1);
	CHECK_INT(fx_int(FX_SERVER, "SELECT n FROM t"), 2);
	CHECK_INT(fx_int(0, "SELECT count(*) FROM sync_outbox"), 0);
	CHECK_INT(fx_int(FX_SERVER, "SELECT count(*) FROM sync_conflict"), 0);
}

struct refusal_case {
	const char *plant;   /* run on the client without capture */
	const char *edit;    /* captured, after a valid insert in the same push */
	const char *dept;    /* the pusher's account */
	int rc;
	const char *err_has;
};

/* Every refusal refuses the whole push: the valid first item is not applied
 * either, the outbox stays, and the server's log does not move. */
TEST(merge_refusals_change_nothing)
{
	static const struct refusal_case cases[] = {
		{ NULL, "INSERT INTO t VALUES('00000000-0000-4000-8000-0000000000a1', '65', 'x', NULL, 0)",
		  FX_DEPT, RELAIS_EPERM, "département" },
		{ NULL, "UPDATE t SET dept='65' WHERE id='00000000-0000-4000-8000-0000000000b1'",
		  FX_DEPT, RELAIS_EPERM, "département" },
		{ "INSERT INTO t VALUES('00000000-0000-4000-8000-0000000000c1', '65', 'other', NULL, 0)",
		  "UPDATE t SET a='mine' WHERE id='00000000-0000-4000-8000-0000000000c1'",
		  FX_DEPT, RELAIS_EPERM, "65" },
		{ "INSERT INTO t VALUES('00000000-0000-4000-8000-0000000000c1', '65', 'other', NULL, 0)",
		  "DELETE FROM t WHERE id='00000000-0000-4000-8000-0000000000c1'",
		  FX_DEPT, RELAIS_EPERM, "65" },
		{ NULL, "UPDATE t SET a='x' WHERE id='00000000-0000-4000-8000-0000000000b1'",
		  "65", RELAIS_EPERM, "65" },
		{ NULL, "UPDATE t SET n=-5 WHERE id='00000000-0000-4000-8000-0000000000b1'",
		  FX_DEPT, RELAIS_ECONSTRAINT, "CHECK" },
		{ NULL, "INSERT INTO u VALUES('00000000-0000-4000-8000-0000000000d1', '43')",
		  FX_DEPT, RELAIS_ESCHEMA, "« u »" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct refusal_case *c = &cases[i];
		struct sync_merge_result res;
		sync_hlc_t hlc;
		uint64_t seq0, seq1;
		char err[256] = "", *before, *after;

		/* The client lacks the CHECK and has a table u the server does not replicate. */
		CHECK_OK(fx_setup(1, "CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, dept TEXT NOT NULL, "
				  "a TEXT, b TEXT, n INTEGER); CREATE TABLE u(id TEXT PRIMARY KEY NOT NULL, "
				  "dept TEXT NOT NULL)", NULL, NULL));
		sync_tables_free(fx.t[1]);
		fx.t[1] = NULL;
		{
			const char *names[] = { "t", "u" };
			CHECK_OK(sync_tables_load(fx_db(0), names, 2, &fx.t[1]));
		}
		CHECK_OK(fx_edit(FX_SERVER, "INSERT INTO t VALUES('00000000-0000-4000-8000-0000000000b1', '43', "
				 "'srv', NULL, 3); INSERT INTO t VALUES('00000000-0000-4000-8000-0000000000c1', '65', "
				 "'other', NULL, 0)"));
		CHECK_OK(fx_pull(0, 100));
		if (c->plant)
			CHECK_OK(fx_plant(0, c->plant));
		CHECK_OK(fx_edit(0, "INSERT INTO t VALUES('00000000-0000-4000-8000-0000000000e1', '43', 'ok', NULL, 1)"));
		CHECK_OK(fx_edit(0, c->edit));
		before = fx_dump(FX_SERVER, "t");
		CHECK_OK(sync_server_state(fx_db(FX_SERVER), FX_DEPT, &hlc, &seq0));
		CHECK_INT_IDX(fx_push(0, c->dept, 100, &res, err, sizeof(err)), c->rc, i);
		CHECK_IDX(strstr(err, c->err_has) != NULL, i);
		after = fx_dump(FX_SERVER, "t");
		CHECK_IDX(before && after && !strcmp(before, after), i);
		free(before);
		free(after);
		CHECK_OK(sync_server_state(fx_db(FX_SERVER), FX_DEPT, &hlc, &seq1));
		CHECK_INT_IDX(seq1, seq0, i);
		CHECK_INT_IDX(fx_int(0, "SELECT count(*) FROM sync_outbox"), 2, i);
		CHECK_INT_IDX(fx_int(FX_SERVER, "SELECT count(*) FROM sync_node WHERE login='alice'"), 0, i);
	}
}

TEST(merge_node_of_another_login_refused)
{
	struct sync_merge_result res;
	char err[256];

	CHECK_OK(fx_setup(1, NULL, NULL, NULL));
	CHECK_OK(fx_edit(0, "INSERT INTO t VALUES('00000000-0000-4000-8000-000000000001', '43', 'x', NULL, 0)"));
	CHECK_OK(fx_push(0, FX_DEPT, 100, &res, err, sizeof(err)));
	CHECK_OK(fx_edit(0, "UPDATE t SET a='y'"));
	/* The same replica presented by another account. */
	{
		struct sync_author who = { "mallory", FX_DEPT };
		struct sync_outbox ob;
		struct sync_push push = { 0, 0, NULL };
		CHECK_OK(sync_outbox_load(fx_db(0), 10, 1u << 20, &ob));
		push.node = ob.node;
		push.count = ob.count;
		push.items = ob.items;
		CHECK_INT(sync_merge(fx_db(FX_SERVER), fx_tables(FX_SERVER), &who, &push, &res, err, sizeof(err)),
			  RELAIS_EPERM);
		sync_outbox_free(&ob);
	}
	CHECK_INT(fx_int(FX_SERVER, "SELECT a = 'x' FROM t"), 1);
}

/* Pages follow the server seq: limit rows each, "more" until the last,
 * and the snapshot leaves deleted rows out but still moves the cursor. */
TEST(merge_pull_pages_and_snapshot)
{
	struct buf raw = BUF_INIT(SYNC_WIRE_MAX_RAW);
	struct sync_pull_reader pr;
	struct sync_pull_record rec;
	struct sync_value vals[8];
	struct sync_apply_result ar;
	struct sync_merge_result res;
	uint64_t cursor = 0, last = 0;
	char err[256];
	int pages = 0, rows = 0, rc;

	CHECK_OK(fx_setup(2, NULL, NULL, NULL));
	for (int i = 0; i < 25; i++) {
		char sql[200];
		snprintf(sql, sizeof(sql), "INSERT INTO t VALUES('00000000-0000-4000-8000-%012d', '43', 'r%d', NULL, %d)",
			 i, i, i);
		CHECK_OK(fx_edit(0, sql));
	}
	CHECK_OK(fx_edit(0, "DELETE FROM t WHERE n < 5"));
	CHECK_OK(fx_push(0, FX_DEPT, 7, &res, err, sizeof(err)));
	/* Rows of another département never show. */
	CHECK_OK(fx_edit(FX_SERVER, "INSERT INTO t VALUES('00000000-0000-4000-8000-0000000000ff', '65', 'x', NULL, 0)"));
	for (;;) {
		int more;
		buf_reset(&raw);
		CHECK_OK(sync_pull_build(fx_db(FX_SERVER), fx_tables(FX_SERVER), FX_DEPT, cursor, 10, 0, &raw));
		CHECK_OK(sync_pull_open(&pr, raw.data, raw.len));
		CHECK(pr.next_cursor > cursor || pr.count == 0);
		CHECK_INT_IDX(pr.count, pages < 2 ? 10 : 5, pages);
		while ((rc = sync_pull_next(&pr, &rec, vals, 8)) == 1)
			rows++;
		CHECK_INT(rc, 0);
		more = pr.more;
		cursor = pr.next_cursor;
		pages++;
		if (!more)
			break;
	}
	CHECK_INT(pages, 3);
	CHECK_INT(rows, 25);
	CHECK_OK(sync_server_state(fx_db(FX_SERVER), FX_DEPT, NULL == NULL ? &(sync_hlc_t){ 0 } : NULL, &last));
	CHECK_INT(cursor, last);
	/* Snapshot: 20 live rows, same final cursor. */
	buf_reset(&raw);
	CHECK_OK(sync_pull_build(fx_db(FX_SERVER), fx_tables(FX_SERVER), FX_DEPT, 0, 1000, 1, &raw));
	CHECK_OK(sync_pull_open(&pr, raw.data, raw.len));
	CHECK_INT(pr.count, 20);
	CHECK_INT(pr.more, 0);
	CHECK_INT(pr.next_cursor, last);
	CHECK_OK(sync_apply_pull(fx_db(1), fx_tables(1), raw.data, raw.len, &ar));
	CHECK_INT(ar.rows, 20);
	CHECK_INT(ar.cursor, last);
	CHECK(dumps_equal(0, 1, "t"));
	CHECK(dumps_equal(1, FX_SERVER, "t") == 0); /* the server also holds the 65 row */
	CHECK_INT(fx_int(1, "SELECT count(*) FROM t WHERE dept <> '43'"), 0);
	buf_release(&raw);
}

/* The server's own writes get seqs and stamps like pushed ones, reach the
 * clients, and take part in per-column merging under their login. */
TEST(merge_local_writes_are_logged_and_merged)
{
	struct sync_merge_result res;
	char err[256], *s;

	CHECK_OK(fx_setup(1, NULL, NULL, NULL));
	CHECK_OK(fx_edit(FX_SERVER, "INSERT INTO t VALUES('" "0a1b2c3d-0000-4000-8000-000000000001" "', '43', 'srv-a', 'srv-b', 2)"));
	CHECK_OK(fx_pull(0, 100));
	CHECK(dumps_equal(0, FX_SERVER, "t"));
	/* The client edits a offline; the server edits a and b later. */
	CHECK_OK(edit_col(0, "a", "alice-a"));
	CHECK_OK(fx_edit(FX_SERVER, "UPDATE t SET a='srv-a2', b='srv-b2'"));
	CHECK_OK(fx_push(0, FX_DEPT, 100, &res, err, sizeof(err)));
	CHECK_INT(res.conflicts, 1);
	CHECK_OK(fx_pull(0, 100));
	s = fx_text(0, "SELECT a||','||b FROM t");
	CHECK_STR(s, "srv-a2,srv-b2");
	free(s);
	s = fx_text(0, "SELECT kept_login||' '||lost_login||' '||lost FROM sync_conflict");
	CHECK_STR(s, "passerelle alice \"alice-a\"");
	free(s);
	/* A server-side delete leaves a tombstone that the client applies. */
	CHECK_OK(fx_edit(FX_SERVER, "DELETE FROM t"));
	CHECK_OK(fx_pull(0, 100));
	CHECK_INT(fx_int(0, "SELECT count(*) FROM t"), 0);
	CHECK_INT(fx_int(FX_SERVER, "SELECT count(*) FROM sync_row WHERE deleted AND image LIKE '%srv-a2%'"), 1);
	CHECK(dumps_equal(0, FX_SERVER, "sync_conflict"));
}

/* A clocks blob stays small for rows that are only inserted. */
TEST(merge_clocks_compact)
{
	struct sync_merge_result res;
	char err[256];

	CHECK_OK(fx_setup(1, NULL, NULL, NULL));
	CHECK_OK(fx_edit(0, "INSERT INTO t VALUES('00000000-0000-4000-8000-000000000001', '43', 'x', NULL, 0)"));
	CHECK_OK(fx_push(0, FX_DEPT, 100, &res, err, sizeof(err)));
	CHECK_INT(fx_int(FX_SERVER, "SELECT length(clocks) FROM sync_row"), 16);
	CHECK_OK(edit_col(0, "b", "y"));
	CHECK_OK(fx_push(0, FX_DEPT, 100, &res, err, sizeof(err)));
	CHECK_INT(fx_int(FX_SERVER, "SELECT length(clocks) FROM sync_row"), 16 + 17);
}
