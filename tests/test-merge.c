/*
 * test-merge.c - the server half of the engine: per-column merge by HLC,
 * conflicts, deletions, restores, retries, scope and constraint refusals,
 * pull pages and the server's own writes.
 *
 * Everything runs in-process on real SQLite files in a temporary directory:
 * one server database and up to three client replicas of a toy table t,
 * with every push and pull going through the real wire functions.
 *
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

#include "sync-fixture.h"

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
	struct sync_author who = { "alice", FX_DEPT, NULL };
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
	const char *edit;    /* captured, before a valid insert in the same push */
	const char *dept;    /* the pusher's account */
	int rc;
	const char *err_has;
	const char *err_hasnt; /* the département of a row the pusher may not see */
};

/* A refused item is refused alone, with nothing of it written: the push
 * stops there (the valid item after it is not looked at), the outbox stays,
 * the server's log does not move and the refusal names the item; once the
 * client sets it aside, the valid item goes through. No message names the
 * département of a row the pusher may not touch. */
TEST(merge_refusals_change_nothing)
{
	static const struct refusal_case cases[] = {
		{ NULL, "INSERT INTO t VALUES('00000000-0000-4000-8000-0000000000a1', '65', 'x', NULL, 0)",
		  FX_DEPT, RELAIS_EPERM, "département", NULL },
		{ NULL, "UPDATE t SET dept='65' WHERE id='00000000-0000-4000-8000-0000000000b1'",
		  FX_DEPT, RELAIS_EPERM, "département", NULL },
		{ "INSERT INTO t VALUES('00000000-0000-4000-8000-0000000000c1', '65', 'other', NULL, 0)",
		  "UPDATE t SET a='mine' WHERE id='00000000-0000-4000-8000-0000000000c1'",
		  FX_DEPT, RELAIS_EPERM, "n'existe pas dans votre département", "65" },
		{ "INSERT INTO t VALUES('00000000-0000-4000-8000-0000000000c1', '65', 'other', NULL, 0)",
		  "DELETE FROM t WHERE id='00000000-0000-4000-8000-0000000000c1'",
		  FX_DEPT, RELAIS_EPERM, "n'existe pas dans votre département", "65" },
		{ NULL, "UPDATE t SET a='x' WHERE id='00000000-0000-4000-8000-0000000000b1'",
		  "65", RELAIS_EPERM, "n'existe pas dans votre département", "43" },
		{ NULL, "UPDATE t SET n=-5 WHERE id='00000000-0000-4000-8000-0000000000b1'",
		  FX_DEPT, RELAIS_ECONSTRAINT, "CHECK", NULL },
		{ NULL, "INSERT INTO u VALUES('00000000-0000-4000-8000-0000000000d1', '43')",
		  FX_DEPT, RELAIS_ESCHEMA, "« u »", NULL },
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
		{
			const char *names[] = { "t", "u" };
			struct sync_tables *tu;
			CHECK_OK(sync_tables_load(fx_db(0), names, 2, &tu));
			fx_replace_tables(0, tu);
		}
		CHECK_OK(fx_edit(FX_SERVER, "INSERT INTO t VALUES('00000000-0000-4000-8000-0000000000b1', '43', "
				 "'srv', NULL, 3); INSERT INTO t VALUES('00000000-0000-4000-8000-0000000000c1', '65', "
				 "'other', NULL, 0)"));
		CHECK_OK(fx_pull(0, 100));
		if (c->plant)
			CHECK_OK(fx_plant(0, c->plant));
		CHECK_OK(fx_edit(0, c->edit));
		CHECK_OK(fx_edit(0, "INSERT INTO t VALUES('00000000-0000-4000-8000-0000000000e1', '43', 'ok', NULL, 1)"));
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
		CHECK_INT_IDX(res.refused_seq, fx_int(0, "SELECT min(seq) FROM sync_outbox"), i);
		CHECK_IDX(!c->err_hasnt || !strstr(err, c->err_hasnt), i);
		CHECK_OK(sync_outbox_set_aside(fx_db(0), res.refused_seq, err));
		CHECK_INT_IDX(fx_int(0, "SELECT count(*) FROM sync_refused"), 1, i);
		if (strcmp(c->dept, FX_DEPT))
			continue; /* the valid item is of another département than this pusher's */
		CHECK_OK(fx_push(0, c->dept, 100, &res, err, sizeof(err)));
		CHECK_INT_IDX(fx_int(FX_SERVER, "SELECT count(*) FROM t WHERE id='00000000-0000-4000-8000-0000000000e1'"),
			      1, i);
		CHECK_INT_IDX(fx_int(0, "SELECT count(*) FROM sync_outbox"), 0, i);
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
		struct sync_author who = { "mallory", FX_DEPT, NULL };
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
	sync_hlc_t hlc;
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
	CHECK_OK(sync_server_state(fx_db(FX_SERVER), FX_DEPT, &hlc, &last));
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
	CHECK_INT(fx_int(1, "SELECT count(*) FROM t WHERE dept <> '43'"), 0);
	buf_release(&raw);
}

/* Rows with n of 20 or more are kept from the reader of these tests. */
static const char *hide_high(void *ctx, const char *table)
{
	(void)ctx;
	return strcmp(table, "t") ? NULL : "n >= 20";
}

/* Page of a puller kept from one call to the next, and of a fresh build,
 * from the same cursor: byte for byte the same. */
static int same_page(struct sync_puller *p, uint64_t since, size_t limit,
		     const struct sync_hide *hide)
{
	struct buf kept = BUF_INIT(SYNC_WIRE_MAX_RAW), fresh = BUF_INIT(SYNC_WIRE_MAX_RAW);
	int rc = sync_puller_page(p, FX_DEPT, since, limit, 0, NULL, hide, &kept);
	if (!rc)
		rc = sync_pull_build_hidden(fx_db(FX_SERVER), fx_tables(FX_SERVER), FX_DEPT, since,
					    limit, 0, NULL, hide, &fresh);
	int same = !rc && kept.len == fresh.len && !memcmp(kept.data, fresh.data, kept.len);
	if (!same)
		fprintf(stderr, "  page from %llu, limit %zu: rc %d, %zu bytes kept, %zu fresh\n",
			(unsigned long long)since, limit, rc, kept.len, fresh.len);
	buf_release(&kept);
	buf_release(&fresh);
	return same;
}

/* A puller keeps its statements prepared: its pages, with and without rows
 * kept from the reader, equal fresh builds, and on a connection of its own
 * it sees the writes made between two pages (no page leaves its read
 * transaction open, nor blocks the writer). */
TEST(merge_puller_kept_equals_fresh_pages)
{
	struct sync_hide hide = { hide_high, NULL };
	struct sync_puller *p = NULL;
	struct buf raw = BUF_INIT(SYNC_WIRE_MAX_RAW);
	struct sync_pull_reader pr;
	sqlite3 *reader = NULL;

	CHECK_OK(fx_setup(1, NULL, NULL, NULL));
	CHECK_INT(sqlite3_open_v2(sqlite3_db_filename(fx_db(FX_SERVER), "main"), &reader,
				  SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	CHECK_OK(sync_puller_new(reader, fx_tables(FX_SERVER), &p));
	for (int i = 0; i < 30; i++) {
		char sql[200];
		snprintf(sql, sizeof(sql), "INSERT INTO t VALUES('00000000-0000-4000-8000-%012d', "
			 "'43', 'r%d', NULL, %d)", i, i, i);
		CHECK_OK(fx_edit(FX_SERVER, sql));
		if (i % 7 == 0) {
			CHECK(same_page(p, 0, 1000, NULL));
			CHECK(same_page(p, 0, 1000, &hide));
			CHECK(same_page(p, (uint64_t)i / 2, 4, &hide));
		}
	}
	/* All 30 rows, 10 of them sent as deleted to the reader kept from them. */
	CHECK_OK(sync_puller_page(p, FX_DEPT, 0, 1000, 0, NULL, &hide, &raw));
	CHECK_OK(sync_pull_open(&pr, raw.data, raw.len));
	CHECK_INT(pr.count, 30);
	buf_reset(&raw);
	CHECK_OK(sync_puller_page(p, FX_DEPT, 0, 1000, 1, NULL, &hide, &raw));
	CHECK_OK(sync_pull_open(&pr, raw.data, raw.len));
	CHECK_INT(pr.count, 20);
	CHECK_OK(fx_edit(FX_SERVER, "DELETE FROM t WHERE n < 3"));
	CHECK(same_page(p, 0, 1000, NULL));
	buf_reset(&raw);
	CHECK_OK(sync_puller_page(p, FX_DEPT, 0, 1000, 1, NULL, NULL, &raw));
	CHECK_OK(sync_pull_open(&pr, raw.data, raw.len));
	CHECK_INT(pr.count, 27);
	sync_puller_free(p);
	CHECK_INT(sqlite3_close(reader), SQLITE_OK);
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
	CHECK_OK(seed_row(1));
	CHECK_OK(fx_push(0, FX_DEPT, 100, &res, err, sizeof(err)));
	CHECK_INT(fx_int(FX_SERVER, "SELECT length(clocks) FROM sync_row"), 16);
	CHECK_OK(edit_col(0, "b", "y"));
	CHECK_OK(fx_push(0, FX_DEPT, 100, &res, err, sizeof(err)));
	CHECK_INT(fx_int(FX_SERVER, "SELECT length(clocks) FROM sync_row"), 16 + 17);
}
