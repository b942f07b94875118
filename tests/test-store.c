/*
 * test-store.c - relaisd's store: group commit of concurrent pushes.
 *
 * store_push() merges the pushes that wait for the writer together, each in
 * a savepoint of one transaction with one COMMIT. These tests hold the writer
 * so that pushes pile up deterministically, then check that they went in one
 * group, that a refused push is rolled back alone, that a retry applies
 * nothing twice, and that conflict counts and the server's seq stay right
 * when a job between two others is rolled back. store_push_async() gives
 * its caller's thread back at once and calls each push's callbacks once its
 * group is committed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>
#include "../common/buf.h"
#include "../common/util.h"
#include "../daemon/store.h"
#include "../model/model.h"
#include "../sync/sync.h"
#include "../sync/wire.h"
#include "harness.h"
#include "sync-fixture.h"
#include "test.h"

#define DEPT "65"
#define WAIT_MS 10000

struct pusher {
	pthread_t th;
	struct store *s;
	struct sync_author who;
	struct buf raw;              /* the payload the decoded push points into */
	struct sync_push push;
	struct sync_merge_result res;
	char err[512];
	int rc;
	int started;
};

static void *pusher_run(void *arg)
{
	struct pusher *p = arg;
	p->rc = store_push(p->s, &p->who, &p->push, &p->res, p->err, sizeof(p->err));
	return NULL;
}

/* A push of one new structure of dept made on replica name, decoded. */
static int pusher_craft(struct pusher *p, struct store *s, const char *name, const char *dept,
			const char *author_dept)
{
	char id[37];
	memset(p, 0, sizeof(*p));
	p->s = s;
	p->who.login = "coord";
	p->who.dept = author_dept;
	buf_init(&p->raw, SYNC_WIRE_MAX_RAW);
	if (h_craft_push(name, "structure", dept, id, &p->raw, NULL))
		return -1;
	return sync_push_decode(p->raw.data, p->raw.len, 1000, &p->push);
}

static void pusher_release(struct pusher *p)
{
	sync_push_free(&p->push);
	buf_release(&p->raw);
}

static struct store *g_store;
static int g_writer_held;

/* Runs when the test ends, failed or not: nothing may stay blocked. */
static void store_teardown(void *arg)
{
	(void)arg;
	if (g_writer_held)
		store_writer_release(g_store);
	g_writer_held = 0;
	store_close(g_store);
	g_store = NULL;
}

static int open_store(void)
{
	char err[512];
	const char *dir = h_path("data");
	int rc = store_init(dir, err, sizeof(err));
	if (!rc)
		rc = store_open(dir, &g_store, err, sizeof(err));
	if (rc)
		fprintf(stderr, "  store: %s\n", err);
	else
		test_defer(store_teardown, NULL);
	return rc;
}

/* Waits until n pushes are queued behind the held writer. */
static int wait_queued(size_t n)
{
	struct store_group_stats st;
	size_t q = 0;
	for (int i = 0; i < WAIT_MS / 5; i++) {
		store_group_stats(g_store, &st, &q);
		if (q == n)
			return 0;
		usleep(5000);
	}
	fprintf(stderr, "  %zu pushes queued, %zu expected\n", q, n);
	return -1;
}

static long long q_int(const char *sql)
{
	struct store_reader *rd = store_reader_acquire(g_store);
	sqlite3 *db = rd->db;
	sqlite3_stmt *st = NULL;
	long long v = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else
		fprintf(stderr, "  %s: %s\n", sql, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	store_reader_release(g_store, rd);
	return v;
}

/* Starts every pusher while the writer is held, waits until all queued,
 * then lets them go and joins them. */
static int run_held(struct pusher *p, size_t n)
{
	int rc = 0;
	store_writer_acquire(g_store);
	g_writer_held = 1;
	for (size_t i = 0; i < n; i++) {
		if (pthread_create(&p[i].th, NULL, pusher_run, &p[i]))
			break;
		p[i].started = 1;
	}
	for (size_t i = 0; i < n; i++)
		if (!p[i].started)
			rc = -1;
	if (!rc)
		rc = wait_queued(n);
	g_writer_held = 0;
	store_writer_release(g_store);
	for (size_t i = 0; i < n; i++)
		if (p[i].started)
			pthread_join(p[i].th, NULL);
	return rc;
}

/* Eight pushes that arrive while the writer is busy go in one transaction,
 * and each is applied and acknowledged as if it had been alone. */
TEST(store_group_commit_merges_waiting_pushes)
{
	enum { N = 8 };
	struct pusher p[N];
	struct store_group_stats st;
	int made = 0;

	h_setup();
	CHECK_OK(open_store());
	for (int i = 0; i < N; i++, made++)
		CHECK_INT_IDX(pusher_craft(&p[i], g_store, h_strf("r%d", i), DEPT, DEPT), 0, i);
	int rc = run_held(p, N);
	for (int i = 0; i < N; i++) {
		CHECK_INT_IDX(p[i].rc, 0, i);
		CHECK_INT_IDX(p[i].res.acked, 1, i);
		CHECK_INT_IDX(p[i].res.items, 1, i);
		CHECK_INT_IDX(p[i].res.changes, 1, i);
		CHECK_IDX(p[i].res.server_hlc > 0, i);
	}
	CHECK_INT(rc, 0);
	store_group_stats(g_store, &st, NULL);
	CHECK_INT(st.groups, 1);
	CHECK_INT(st.pushes, N);
	CHECK_INT(st.largest, N);
	CHECK_INT(q_int("SELECT count(*) FROM structure"), N);
	CHECK_INT(q_int("SELECT count(DISTINCT seq) FROM sync_row WHERE tbl='structure'"), N);
	CHECK_INT(q_int("SELECT value FROM sync_state WHERE key='seq'"), N);
	CHECK_INT(q_int("SELECT count(*) FROM sync_node WHERE acked=1"), N);
	for (int i = 0; i < made; i++)
		pusher_release(&p[i]);
}

/* In one group: two good pushes, one for another département, one whose
 * second item is garbage, and a retry of the first good one. A refused item
 * leaves no trace (the valid item before it is applied), the others go on;
 * the retry applies nothing twice. */
TEST(store_group_commit_refuses_one_push_alone)
{
	enum { GOOD_A, GOOD_B, OTHER_DEPT, GARBAGE, RETRY_A, N };
	struct pusher p[N];
	struct store_group_stats st;
	static const unsigned char junk[] = "not a changeset at all";

	h_setup();
	CHECK_OK(open_store());
	CHECK_OK(pusher_craft(&p[GOOD_A], g_store, "a", DEPT, DEPT));
	CHECK_OK(pusher_craft(&p[GOOD_B], g_store, "b", DEPT, DEPT));
	CHECK_OK(pusher_craft(&p[OTHER_DEPT], g_store, "c", "64", DEPT));
	CHECK_OK(pusher_craft(&p[GARBAGE], g_store, "d", DEPT, DEPT));
	/* A valid insert, then garbage: the insert must be undone with its seq. */
	struct sync_push_item two[2], *own = p[GARBAGE].push.items;
	two[0] = own[0];
	two[1] = (struct sync_push_item){ own[0].seq + 1, own[0].hlc + 1, junk, sizeof(junk) };
	p[GARBAGE].push.items = two;
	p[GARBAGE].push.count = 2;
	/* The same payload again, as a client whose answer was cut would send. */
	memset(&p[RETRY_A], 0, sizeof(p[RETRY_A]));
	p[RETRY_A].s = g_store;
	p[RETRY_A].who = p[GOOD_A].who;
	buf_init(&p[RETRY_A].raw, SYNC_WIRE_MAX_RAW);
	CHECK_OK(buf_append(&p[RETRY_A].raw, p[GOOD_A].raw.data, p[GOOD_A].raw.len));
	CHECK_OK(sync_push_decode(p[RETRY_A].raw.data, p[RETRY_A].raw.len, 1000, &p[RETRY_A].push));

	CHECK_INT(run_held(p, N), 0);
	store_group_stats(g_store, &st, NULL);
	CHECK_INT(st.groups, 1);
	CHECK_INT(p[GOOD_B].rc, 0);
	CHECK_INT(p[GOOD_B].res.items, 1);
	CHECK_INT(p[OTHER_DEPT].rc, 0);
	CHECK_INT(p[OTHER_DEPT].res.refused_rc, RELAIS_EPERM);
	CHECK_INT(p[OTHER_DEPT].res.refused_seq, 1);
	CHECK_INT(p[OTHER_DEPT].res.items, 0);
	CHECK(strstr(p[OTHER_DEPT].err, "partement") != NULL);
	CHECK_INT(p[GARBAGE].rc, 0);
	CHECK_INT(p[GARBAGE].res.refused_rc, RELAIS_ECORRUPT);
	CHECK_INT(p[GARBAGE].res.refused_seq, own[0].seq + 1);
	CHECK_INT(p[GARBAGE].res.items, 1);
	CHECK_INT(p[GARBAGE].res.acked, own[0].seq);
	CHECK(p[GARBAGE].err[0] != 0);
	/* The push and its retry raced: whichever ran first applied it. */
	CHECK_INT(p[GOOD_A].rc, 0);
	CHECK_INT(p[RETRY_A].rc, 0);
	CHECK_INT(p[GOOD_A].res.acked, 1);
	CHECK_INT(p[RETRY_A].res.acked, 1);
	CHECK_INT(p[GOOD_A].res.items + p[RETRY_A].res.items, 1);

	CHECK_INT(q_int("SELECT count(*) FROM structure"), 3);
	CHECK_INT(q_int("SELECT count(*) FROM structure WHERE dept<>'" DEPT "'"), 0);
	CHECK_INT(q_int("SELECT count(*) FROM sync_row"), 3);
	/* No seq was lost to the rolled-back items. */
	CHECK_INT(q_int("SELECT value FROM sync_state WHERE key='seq'"), 3);
	CHECK_INT(q_int("SELECT max(seq) FROM sync_row"), 3);
	/* Every pushing node is registered, the refused ones too. */
	CHECK_INT(q_int("SELECT count(*) FROM sync_node WHERE login='coord'"), 4);
	p[GARBAGE].push.items = own;
	p[GARBAGE].push.count = 1;
	for (int i = 0; i < N; i++)
		pusher_release(&p[i]);
}

/* A lone push goes in a group of its own at once. */
TEST(store_group_commit_lone_push)
{
	struct pusher p;
	struct store_group_stats st;

	h_setup();
	CHECK_OK(open_store());
	CHECK_OK(pusher_craft(&p, g_store, "solo", DEPT, DEPT));
	CHECK_OK(store_push(g_store, &p.who, &p.push, &p.res, p.err, sizeof(p.err)));
	CHECK_INT(p.res.items, 1);
	CHECK_OK(store_push(g_store, &p.who, &p.push, &p.res, p.err, sizeof(p.err)));
	CHECK_INT(p.res.items, 0);
	CHECK_INT(p.res.acked, 1);
	store_group_stats(g_store, &st, NULL);
	CHECK_INT(st.groups, 2);
	CHECK_INT(st.largest, 1);
	CHECK_INT(q_int("SELECT count(*) FROM structure"), 1);
	pusher_release(&p);
}

/* ---- sync_merge_group() on the engine fixture ---- */

static const char row_id[] = "0a1b2c3d-0000-4000-8000-0000000000aa";

/* Client i's pending outbox as a decoded push; bufs keep what it points into. */
static int outbox_push(int i, struct buf *raw, struct sync_outbox *ob, struct sync_push *push)
{
	int rc = sync_outbox_load(fx_db(i), 100, 1u << 20, ob);
	if (!rc)
		rc = sync_push_encode(ob->node, ob->items, ob->count, raw);
	if (!rc)
		rc = sync_push_decode(raw->data, raw->len, 100, push);
	return rc;
}

/* Two clients edit the same column; a third's push, refused for its
 * département, is merged between them. The conflict is counted on the push
 * that met it, the refused push's rollback does not undo the first one's
 * work, and the server's seq matches its log. */
TEST(store_group_conflict_counts_survive_a_rollback)
{
	enum { N = 3 };
	struct buf raw[N];
	struct sync_outbox ob[N];
	struct sync_push push[N];
	struct sync_author who[N];
	struct sync_merge_job job[N], *jobs[N];
	char err[N][256];
	char *sql;

	memset(ob, 0, sizeof(ob));
	memset(push, 0, sizeof(push));
	for (int i = 0; i < N; i++)
		buf_init(&raw[i], SYNC_WIRE_MAX_RAW);
	CHECK_OK(fx_setup(3, NULL, NULL, NULL));
	sql = sqlite3_mprintf("INSERT INTO t VALUES('%q', '" FX_DEPT "', 'base', 'b', 1)", row_id);
	CHECK_OK(fx_edit(0, sql));
	sqlite3_free(sql);
	for (int i = 0; i < N; i++)
		CHECK_INT_IDX(fx_sync(i), 0, i);
	static const char *const edits[N] = { "from-alice", "from-bruno", "from-chloe" };
	for (int i = 0; i < N; i++) {
		sql = sqlite3_mprintf("UPDATE t SET a='%q' WHERE id='%q'", edits[i], row_id);
		CHECK_INT_IDX(fx_edit(i, sql), 0, i);
		sqlite3_free(sql);
		usleep(3000); /* later edits carry later HLCs */
	}
	/* Order in the group: alice, chloe (refused: wrong dept), bruno. */
	static const int order[N] = { 0, 2, 1 };
	for (int k = 0; k < N; k++) {
		int i = order[k];
		CHECK_INT_IDX(outbox_push(i, &raw[k], &ob[k], &push[k]), 0, k);
		who[k].login = fx_login(i);
		who[k].dept = i == 2 ? "44" : FX_DEPT;
		job[k] = (struct sync_merge_job){ &who[k], &push[k], err[k], sizeof(err[k]), 0, { 0 }, NULL };
		jobs[k] = &job[k];
	}
	CHECK_OK(sync_merge_group(fx_db(FX_SERVER), fx_tables(FX_SERVER), jobs, N));
	CHECK_INT(job[0].rc, 0);
	CHECK_INT(job[0].res.conflicts, 0);
	CHECK_INT(job[0].res.changes, 1);
	CHECK_INT(job[1].rc, 0);
	CHECK_INT(job[1].res.refused_rc, RELAIS_EPERM);
	CHECK_INT(job[1].res.items, 0);
	CHECK_INT(job[2].rc, 0);
	CHECK_INT(job[2].res.conflicts, 1);
	CHECK_INT(job[0].res.server_hlc, job[2].res.server_hlc);
	char *a = fx_text(FX_SERVER, "SELECT a FROM t");
	CHECK_STR(a, "from-bruno");
	free(a);
	CHECK_INT(fx_int(FX_SERVER, "SELECT count(*) FROM sync_conflict"), 1);
	CHECK_INT(fx_int(FX_SERVER, "SELECT count(*) FROM sync_conflict WHERE lost LIKE '%from-chloe%' "
			 "OR kept LIKE '%from-chloe%'"), 0);
	CHECK_INT(fx_int(FX_SERVER, "SELECT value FROM sync_state WHERE key='seq'"),
		  fx_int(FX_SERVER, "SELECT max(seq) FROM sync_row"));
	CHECK_INT(fx_int(FX_SERVER, "SELECT count(*) FROM sync_node WHERE login='chloe'"), 1);
	for (int k = 0; k < N; k++) {
		sync_push_free(&push[k]);
		sync_outbox_free(&ob[k]);
		buf_release(&raw[k]);
	}
}

/* The writer's merger keeps its statements from one group to the next, but
 * must read the server's seq and clock again each time: the server's own
 * writes move them in between. */
TEST(store_group_commit_after_a_local_write)
{
	struct pusher a, b;
	struct sync_local *l = NULL;
	char id[UTIL_UUID_LEN + 1];

	h_setup();
	CHECK_OK(open_store());
	CHECK_OK(pusher_craft(&a, g_store, "a", DEPT, DEPT));
	CHECK_OK(pusher_craft(&b, g_store, "b", DEPT, DEPT));
	CHECK_OK(store_push(g_store, &a.who, &a.push, &a.res, a.err, sizeof(a.err)));

	sqlite3 *db = store_writer_acquire(g_store);
	g_writer_held = 1;
	CHECK_OK(util_uuid(id));
	CHECK_OK(sync_local_begin(db, store_tables(g_store), &l));
	char *sql = sqlite3_mprintf("INSERT INTO structure(id, dept, nom, commune) "
				    "VALUES('%q', '" DEPT "', 'Locale', 'Aurillac')", id);
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_free(sql);
	if (rc != SQLITE_OK)
		sync_local_abort(l);
	CHECK_INT(rc, SQLITE_OK);
	CHECK_OK(sync_local_commit(l, "passerelle"));
	g_writer_held = 0;
	store_writer_release(g_store);

	CHECK_OK(store_push(g_store, &b.who, &b.push, &b.res, b.err, sizeof(b.err)));
	CHECK(b.res.server_hlc > a.res.server_hlc);
	CHECK_INT(q_int("SELECT count(DISTINCT seq) FROM sync_row"), 3);
	CHECK_INT(q_int("SELECT value FROM sync_state WHERE key='seq'"), 3);
	CHECK_INT(q_int("SELECT count(*) FROM structure"), 3);
	pusher_release(&a);
	pusher_release(&b);
}

/* store_push_async(): a push handed on, with what its callbacks saw. */
struct async_push {
	struct store_push_job job;   /* first: the callbacks get it */
	struct pusher p;
	int committed, done;         /* calls of each callback */
	int done_before_committed;
	int page_rc;
	uint64_t page_rows;          /* rows of the page read in committed() */
};

static void async_committed(struct store_push_job *job, struct sync_puller *puller)
{
	struct async_push *a = (struct async_push *)job;
	struct buf raw = BUF_INIT(SYNC_WIRE_MAX_RAW);
	struct sync_pull_reader pr;
	a->committed++;
	a->page_rc = sync_puller_page(puller, DEPT, 0, 1000, 0, NULL, NULL, &raw);
	if (!a->page_rc)
		a->page_rc = sync_pull_open(&pr, raw.data, raw.len);
	if (!a->page_rc)
		a->page_rows = pr.count;
	buf_release(&raw);
}

static void async_done(struct store_push_job *job)
{
	struct async_push *a = (struct async_push *)job;
	if (!a->committed)
		a->done_before_committed = 1;
	a->done++;
}

static void async_submit(struct async_push *a)
{
	a->job.merge = (struct sync_merge_job){ .who = &a->p.who, .push = &a->p.push,
						.err = a->p.err, .errlen = sizeof(a->p.err) };
	a->job.committed = async_committed;
	a->job.done = async_done;
	store_push_async(g_store, &a->job);
}

static void *async_run(void *arg)
{
	async_submit(arg);
	return NULL;
}

/* Pushes handed on while the writer is busy: the first one's thread merges
 * them, and every later caller gets its thread back at once, before its
 * push is merged. All go in one group; each push's committed() reads the
 * whole group as committed, through the writer; done() follows, once. */
TEST(store_push_async_returns_at_once_and_merges_in_one_group)
{
	enum { N = 6 };
	struct async_push a[N];
	struct store_group_stats st;
	pthread_t first;
	int made = 0;

	h_setup();
	CHECK_OK(open_store());
	memset(a, 0, sizeof(a));
	for (int i = 0; i < N; i++, made++)
		CHECK_INT_IDX(pusher_craft(&a[i].p, g_store, h_strf("r%d", i), DEPT, DEPT), 0, i);
	store_writer_acquire(g_store);
	g_writer_held = 1;
	CHECK_INT(pthread_create(&first, NULL, async_run, &a[0]), 0);
	CHECK_OK(wait_queued(1)); /* the first leads, waiting for the writer */
	for (int i = 1; i < N; i++)
		async_submit(&a[i]); /* queued behind the held writer: returns */
	size_t queued = 0;
	store_group_stats(g_store, &st, &queued);
	int none_done = 1;
	for (int i = 0; i < N; i++)
		none_done &= !a[i].done;
	g_writer_held = 0;
	store_writer_release(g_store);
	pthread_join(first, NULL);

	CHECK(none_done);
	CHECK_INT(queued, N);
	store_group_stats(g_store, &st, NULL);
	CHECK_INT(st.pushes, N);
	for (int i = 0; i < N; i++) {
		CHECK_INT_IDX(a[i].job.merge.rc, 0, i);
		CHECK_INT_IDX(a[i].job.merge.res.items, 1, i);
		CHECK_INT_IDX(a[i].committed, 1, i);
		CHECK_INT_IDX(a[i].done, 1, i);
		CHECK_INT_IDX(a[i].done_before_committed, 0, i);
		CHECK_INT_IDX(a[i].page_rc, 0, i);
	}
	CHECK_INT(st.groups, 1);
	for (int i = 0; i < N; i++)
		CHECK_INT_IDX(a[i].page_rows, N, i);
	for (int i = 0; i < made; i++)
		pusher_release(&a[i].p);
}
