/*
 * server.c - the server half of the engine: sync tables, the per-column
 * merge of pushed changesets and the server's own writes. Pull pages are
 * pull.c's.
 *
 * One engine (struct engine) serves the merge, the conflicts' resolutions
 * and the server's own writes: its row bookkeeping must be the same for all
 * three, which is why they share this file past 800 lines.
 *
 * The merge reads each changeset with sqlite3changeset_start/next and writes
 * with its own cached statements rather than sqlite3changeset_apply, which
 * cannot order edits of one column by HLC. The bookkeeping of a changed row
 * (new seq, per-column clocks, tombstone) is row_log(), used by both the
 * merge and sync_local_commit().
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../common/util.h"
#include "sync.h"
#include "sync_int.h"

/* ---- schema ---- */

int sync_server_schema(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sync_exec(db, "BEGIN IMMEDIATE");
	if (rc)
		return rc;
	rc = sync_exec(db,
		"CREATE TABLE IF NOT EXISTS sync_row(tbl TEXT, id TEXT, dept TEXT NOT NULL, "
		"seq INTEGER NOT NULL, deleted INTEGER NOT NULL DEFAULT 0, clocks BLOB NOT NULL, "
		"image TEXT, PRIMARY KEY(tbl, id)) WITHOUT ROWID;"
		"CREATE INDEX IF NOT EXISTS sync_row_dept_seq ON sync_row(dept, seq);"
		"CREATE TABLE IF NOT EXISTS sync_node(node TEXT PRIMARY KEY, login TEXT NOT NULL, "
		"acked INTEGER NOT NULL DEFAULT 0);"
		"CREATE TABLE IF NOT EXISTS sync_state(key TEXT PRIMARY KEY, value);"
		"INSERT OR IGNORE INTO sync_state VALUES('seq', 0), ('hlc', 0);");
	if (rc)
		goto out;
	rc = sync_exec(db, sync_conflict_ddl);
	if (rc)
		goto out;
	rc = sync_prepare(db, "SELECT 1 FROM sync_state WHERE key='node'", &st);
	if (rc)
		goto out;
	if (sqlite3_step(st) != SQLITE_ROW) {
		uint64_t node;
		char hex[17];
		rc = util_random(&node, sizeof(node));
		if (rc)
			goto out;
		sync_node_format(node, hex);
		/* The server's node: its id, and its row among the nodes. */
		static const char *const inserts[] = {
			"INSERT INTO sync_state VALUES('node', ?1)",
			"INSERT INTO sync_node(node, login) VALUES(?1, 'serveur')",
		};
		for (size_t i = 0; i < 2 && !rc; i++) {
			sqlite3_finalize(st);
			st = NULL;
			rc = sync_prepare(db, inserts[i], &st);
			if (!rc) {
				sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
				rc = relais_sqlite_error(sqlite3_step(st));
			}
		}
		if (rc)
			goto out;
	}
	char epoch[SYNC_EPOCH_LEN + 1];
	rc = sync_server_epoch(db, 0, epoch);
	if (rc)
		goto out;
	rc = sync_exec(db, "COMMIT");
out:
	sqlite3_finalize(st);
	if (rc)
		sync_rollback(db);
	return rc;
}

int sync_server_epoch(sqlite3 *db, int renew, char out[SYNC_EPOCH_LEN + 1])
{
	sqlite3_stmt *st = NULL;
	int rc = 0;
	out[0] = 0;
	if (!renew) {
		rc = sync_prepare(db, "SELECT value FROM sync_state WHERE key='epoch'", &st);
		if (rc)
			return rc;
		if (sqlite3_step(st) == SQLITE_ROW) {
			const char *v = (const char *)sqlite3_column_text(st, 0);
			if (v && strlen(v) == SYNC_EPOCH_LEN)
				memcpy(out, v, SYNC_EPOCH_LEN + 1);
		}
		sqlite3_finalize(st);
		st = NULL;
		if (out[0])
			return 0;
	}
	uint64_t r;
	rc = util_random(&r, sizeof(r));
	if (rc)
		return rc;
	sync_node_format(r, out);
	rc = sync_prepare(db, "INSERT OR REPLACE INTO sync_state VALUES('epoch', ?1)", &st);
	if (rc)
		goto out;
	sqlite3_bind_text(st, 1, out, -1, SQLITE_STATIC);
	rc = relais_sqlite_error(sqlite3_step(st));
out:
	sqlite3_finalize(st);
	if (rc)
		out[0] = 0;
	return rc;
}

int sync_state_read(sqlite3_stmt *st, uint64_t *seq, sync_hlc_t *hlc, uint64_t *node)
{
	int rc, seen = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(st, 0);
		if (!k)
			continue;
		if (!strcmp(k, "seq")) {
			*seq = (uint64_t)sqlite3_column_int64(st, 1);
			seen |= 1;
		} else if (!strcmp(k, "hlc")) {
			*hlc = (sync_hlc_t)sqlite3_column_int64(st, 1);
			seen |= 2;
		} else if (!strcmp(k, "node") && node) {
			const char *v = (const char *)sqlite3_column_text(st, 1);
			if (!v || sync_node_parse(v, node)) {
				rc = RELAIS_ECORRUPT;
				goto out;
			}
			seen |= 4;
		}
	}
	rc = relais_sqlite_error(rc);
	if (!rc && seen != (node ? 7 : 3))
		rc = RELAIS_ESCHEMA; /* sync_server_schema() never ran on this store */
out:
	sqlite3_reset(st);
	return rc;
}

/* Reads the server's seq, clock and node from sync_state. */
static int state_load(sqlite3 *db, uint64_t *seq, sync_hlc_t *hlc, uint64_t *node)
{
	sqlite3_stmt *st = NULL;
	int rc = sync_prepare(db, SYNC_STATE_SQL, &st);
	if (!rc)
		rc = sync_state_read(st, seq, hlc, node);
	sqlite3_finalize(st);
	return rc;
}

/* ---- the engine shared by merge and local writes ---- */

struct table_stmts {
	sqlite3_stmt *sel, *ins, *del;
	sqlite3_stmt **upd;    /* one "UPDATE t SET c=?" per column, made on first use */
};

struct pending_conflict {
	int ti;
	char *row_id, *dept, *kept, *lost;
	const char *col;       /* a column name of t, NULL for a suppression */
	const char *kind;
	struct sync_stamp kst, lst;
};

/* A replica's settlement of a conflict, applied once the whole item is
 * merged (its data write may come after it in the changeset). */
struct resolution {
	char *id;
	int keep_lost;
};

/* The transaction control run for every push, kept prepared. */
enum engine_ctl {
	CTL_BEGIN, CTL_COMMIT, CTL_ITEM, CTL_ITEM_UNDO, CTL_ITEM_DONE,
	CTL_JOB, CTL_JOB_UNDO, CTL_JOB_DONE, CTL_N
};

static const char *const engine_ctl_sql[CTL_N] = {
	"BEGIN IMMEDIATE", "COMMIT",
	"SAVEPOINT sync_item", "ROLLBACK TO sync_item", "RELEASE sync_item",
	"SAVEPOINT sync_merge_job", "ROLLBACK TO sync_merge_job", "RELEASE sync_merge_job",
};

struct engine {
	sqlite3 *db;
	const struct sync_tables *t;
	const struct sync_author *who; /* NULL for the server's own writes */
	struct sync_hlc clock;
	uint64_t seq;
	uint64_t node;
	int conflict_ti;
	struct table_stmts *ts;
	sqlite3_stmt *row_get, *row_put, *row_new, *login_get, *conf_ins;
	sqlite3_stmt *node_get, *node_new, *node_upd, *state_upd;  /* made on first use */
	sqlite3_stmt *state_get, *ctl[CTL_N];                       /* likewise */
	struct sync_stamp *clk;        /* clocks of the row being merged */
	int *wr;                       /* columns to write */
	unsigned char *clkbuf;
	struct pending_conflict *pend;
	size_t npend, apend;
	struct resolution *res;        /* conflicts settled by the item being merged */
	size_t nres, ares;
	size_t changes, conflicts, restamped;
	struct sync_policy pol;
	char *err;
	size_t errlen;
	struct sync_echo *echo;        /* the job's, NULL when not asked */
	uint64_t echo_lo;              /* first seq the job may write */
};

struct rowinfo {
	int found, deleted;
	uint64_t seq;
	char *dept, *image;
};

static void rowinfo_clear(struct rowinfo *ri)
{
	free(ri->dept);
	free(ri->image);
	memset(ri, 0, sizeof(*ri));
}

void sync_echo_release(struct sync_echo *e)
{
	if (!e)
		return;
	free(e->seqs);
	e->seqs = NULL;
	e->n = e->alloc = 0;
}

int sync_echo_has(const struct sync_echo *e, uint64_t seq)
{
	size_t lo = 0, hi = e ? e->n : 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (e->seqs[mid] == seq)
			return 1;
		if (e->seqs[mid] < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* Notes that the row just logged under e->seq is as the pusher has it.
 * Seqs only grow within a job, so the array stays sorted. */
static int echo_note(struct engine *e)
{
	struct sync_echo *x = e->echo;
	if (!x)
		return 0;
	if (x->n == x->alloc) {
		size_t na = x->alloc ? x->alloc * 2 : 16;
		uint64_t *p = realloc(x->seqs, na * sizeof(*p));
		if (!p)
			return RELAIS_ENOMEM;
		x->seqs = p;
		x->alloc = na;
	}
	x->seqs[x->n++] = e->seq;
	return 0;
}

/* Forgets the seqs past seq (an item or a job rolled back). */
static void echo_trim(struct engine *e, uint64_t seq)
{
	while (e->echo && e->echo->n && e->echo->seqs[e->echo->n - 1] > seq)
		e->echo->n--;
}

/* Whether the pusher holds the row as it was before this change: it pulled
 * it (seq at most its cursor), or this push wrote it as the pusher has it. */
static int echo_prev_held(const struct engine *e, const struct rowinfo *ri)
{
	return e->echo && (ri->seq <= e->echo->since ||
			   (ri->seq >= e->echo_lo && sync_echo_has(e->echo, ri->seq)));
}

RELAIS_PRINTF(3, 4)
static int fail(struct engine *e, int code, const char *fmt, ...)
{
	va_list ap;
	if (e->err && e->errlen) {
		va_start(ap, fmt);
		vsnprintf(e->err, e->errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* Converts the result of a write step, keeping SQLite's words for a
 * constraint so that the person sees which rule the change broke. */
static int step_write(struct engine *e, sqlite3_stmt *st, int ti)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return 0;
	rc = relais_sqlite_error(rc);
	if (rc == RELAIS_ECONSTRAINT)
		return fail(e, rc, "Changement refusé par le schéma (table %s) : %s.",
			    e->t->v[ti].name, sqlite3_errmsg(e->db));
	return fail(e, rc, "Erreur de la base : %s.", relais_sqlite_errmsg(e->db));
}

static void pending_free(struct pending_conflict *p)
{
	free(p->row_id);
	free(p->dept);
	free(p->kept);
	free(p->lost);
}

static void engine_free(struct engine *e)
{
	if (e->ts) {
		for (size_t i = 0; i < e->t->n; i++) {
			struct table_stmts *s = &e->ts[i];
			sqlite3_finalize(s->sel);
			sqlite3_finalize(s->ins);
			sqlite3_finalize(s->del);
			if (s->upd)
				for (int j = 0; j < e->t->v[i].ncols; j++)
					sqlite3_finalize(s->upd[j]);
			free(s->upd);
		}
	}
	free(e->ts);
	sqlite3_finalize(e->row_get);
	sqlite3_finalize(e->row_put);
	sqlite3_finalize(e->row_new);
	sqlite3_finalize(e->login_get);
	sqlite3_finalize(e->conf_ins);
	sqlite3_finalize(e->node_get);
	sqlite3_finalize(e->node_new);
	sqlite3_finalize(e->node_upd);
	sqlite3_finalize(e->state_upd);
	sqlite3_finalize(e->state_get);
	for (int i = 0; i < CTL_N; i++)
		sqlite3_finalize(e->ctl[i]);
	for (size_t i = 0; i < e->npend; i++)
		pending_free(&e->pend[i]);
	free(e->pend);
	for (size_t i = 0; i < e->nres; i++)
		free(e->res[i].id);
	free(e->res);
	free(e->clk);
	free(e->wr);
	free(e->clkbuf);
}

static int64_t skew_of(const struct sync_policy *p)
{
	return p->max_skew_ms > 0 ? p->max_skew_ms : SYNC_MAX_SKEW_MS;
}

/* The largest HLC an edit may carry when the server's wall clock reads now. */
static sync_hlc_t clock_bound(int64_t now, int64_t skew)
{
	int64_t ms = now > 0 ? now : 0;
	return sync_hlc_make((uint64_t)ms + (uint64_t)skew, 0xffffu);
}

/* Allocates the engine and prepares its fixed statements; no state read. */
static int engine_prepare(struct engine *e, sqlite3 *db, const struct sync_tables *t,
			  char *err, size_t errlen)
{
	int rc;
	int n = t->max_cols > 2 ? t->max_cols : 2;

	memset(e, 0, sizeof(*e));
	e->db = db;
	e->t = t;
	e->err = err;
	e->errlen = errlen;
	e->conflict_ti = sync_tables_find(t, SYNC_CONFLICT_TABLE);
	e->ts = calloc(t->n, sizeof(*e->ts));
	e->clk = calloc((size_t)n, sizeof(*e->clk));
	e->wr = calloc((size_t)n, sizeof(*e->wr));
	e->clkbuf = malloc(SYNC_CLOCKS_MAX(n));
	if (!e->ts || !e->clk || !e->wr || !e->clkbuf)
		return RELAIS_ENOMEM;
	if (e->conflict_ti < 0)
		return RELAIS_ESCHEMA;
	rc = sync_prepare(db, "SELECT dept, deleted, clocks, image, seq FROM sync_row WHERE tbl=?1 AND id=?2",
			  &e->row_get);
	if (!rc)
		rc = sync_prepare(db, "INSERT OR REPLACE INTO sync_row(tbl, id, dept, seq, deleted, clocks, image) "
				  "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)", &e->row_put);
	if (!rc)
		rc = sync_prepare(db, "INSERT INTO sync_row(tbl, id, dept, seq, deleted, clocks) "
				  "VALUES(?1, ?2, ?3, ?4, 0, ?5) ON CONFLICT(tbl, id) DO NOTHING", &e->row_new);
	if (!rc)
		rc = sync_prepare(db, "SELECT login FROM sync_node WHERE node=?1", &e->login_get);
	if (!rc)
		rc = sync_prepare(db, "INSERT INTO sync_conflict(id, dept, tbl, row_id, col, kind, kept, lost, "
				  "kept_login, kept_node, kept_hlc, lost_login, lost_node, lost_hlc, created_hlc) "
				  "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
				  &e->conf_ins);
	return rc;
}

/* Prepares *slot on first use; later calls find it ready (and reset). */
static int cached(struct engine *e, sqlite3_stmt **slot, const char *sql)
{
	return *slot ? 0 : sync_prepare_kept(e->db, sql, slot);
}

/* Reads the server's seq, clock and node: at the start of each transaction,
 * since other writers (the server's own writes) move them in between. */
static int engine_begin(struct engine *e)
{
	e->changes = 0;
	e->conflicts = 0;
	e->restamped = 0;
	int rc = cached(e, &e->state_get, SYNC_STATE_SQL);
	if (!rc)
		rc = sync_state_read(e->state_get, &e->seq, &e->clock.last, &e->node);
	/* A clock pushed far ahead by a replica before pushes were bounded
	 * must not be handed on; sync_server_clock_repair() fixes the stamps. */
	int64_t now = util_now_ms();
	if (!rc && e->clock.last > clock_bound(now, skew_of(&e->pol)))
		e->clock.last = sync_hlc_make((uint64_t)now, 0);
	return rc;
}

/* Prepares the engine inside a transaction the caller opened. */
static int engine_init(struct engine *e, sqlite3 *db, const struct sync_tables *t,
		       char *err, size_t errlen)
{
	int rc = engine_prepare(e, db, t, err, errlen);
	return rc ? rc : engine_begin(e);
}

/* Runs the control statement c (prepared on first use). */
static int engine_ctl(struct engine *e, enum engine_ctl c)
{
	int rc = cached(e, &e->ctl[c], engine_ctl_sql[c]);
	return rc ? rc : sync_run_kept(e->ctl[c]);
}

/* Resets every statement the engine holds, so that none keeps a read
 * transaction open once the engine's transaction ended. */
static void engine_reset(struct engine *e)
{
	sqlite3_stmt *fixed[] = { e->row_get, e->row_put, e->row_new, e->login_get, e->conf_ins,
				  e->node_get, e->node_new, e->node_upd, e->state_upd };
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		sqlite3_reset(fixed[i]);
	for (size_t i = 0; e->ts && i < e->t->n; i++) {
		struct table_stmts *ts = &e->ts[i];
		sqlite3_reset(ts->sel);
		sqlite3_reset(ts->ins);
		sqlite3_reset(ts->del);
		for (int j = 0; ts->upd && j < e->t->v[i].ncols; j++)
			sqlite3_reset(ts->upd[j]);
	}
}

static int engine_save_state(struct engine *e)
{
	int rc = cached(e, &e->state_upd, "UPDATE sync_state SET value=?2 WHERE key=?1");
	sqlite3_stmt *st = e->state_upd;
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, "seq", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)e->seq);
	rc = relais_sqlite_error(sqlite3_step(st));
	sqlite3_reset(st);
	if (!rc) {
		sqlite3_bind_text(st, 1, "hlc", -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)e->clock.last);
		rc = relais_sqlite_error(sqlite3_step(st));
	}
	sqlite3_reset(st);
	return rc;
}

enum stmt_kind { STMT_SEL, STMT_INS, STMT_DEL };

static int table_stmt(struct engine *e, int ti, enum stmt_kind k, sqlite3_stmt **out)
{
	struct table_stmts *s = &e->ts[ti];
	sqlite3_stmt **slot = k == STMT_SEL ? &s->sel : k == STMT_INS ? &s->ins : &s->del;
	char *sql;
	int rc;

	if (!*slot) {
		const struct sync_table *tb = &e->t->v[ti];
		sql = k == STMT_SEL ? sync_sql_select(tb) : k == STMT_INS ? sync_sql_insert(tb, 0)
									: sync_sql_delete(tb);
		if (!sql)
			return RELAIS_ENOMEM;
		rc = sync_prepare(e->db, sql, slot);
		sqlite3_free(sql);
		if (rc)
			return rc;
	}
	*out = *slot;
	return 0;
}

static int update_stmt(struct engine *e, int ti, int j, sqlite3_stmt **out)
{
	struct table_stmts *s = &e->ts[ti];
	const struct sync_table *tb = &e->t->v[ti];
	char *sql;
	int rc;

	if (!s->upd) {
		s->upd = calloc((size_t)tb->ncols, sizeof(*s->upd));
		if (!s->upd)
			return RELAIS_ENOMEM;
	}
	if (!s->upd[j]) {
		sql = sqlite3_mprintf("UPDATE \"%w\" SET \"%w\"=?1 WHERE id=?2", tb->name, tb->cols[j]);
		if (!sql)
			return RELAIS_ENOMEM;
		rc = sync_prepare(e->db, sql, &s->upd[j]);
		sqlite3_free(sql);
		if (rc)
			return rc;
	}
	*out = s->upd[j];
	return 0;
}

/* Reads the sync_row entry of (ti, id); on found, e->clk holds its clocks. */
static int row_get(struct engine *e, int ti, const char *id, struct rowinfo *ri)
{
	sqlite3_stmt *st = e->row_get;
	const struct sync_table *tb = &e->t->v[ti];
	int rc;

	memset(ri, 0, sizeof(*ri));
	sqlite3_bind_text(st, 1, tb->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		rc = 0;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		rc = relais_sqlite_error(rc);
		goto out;
	}
	ri->found = 1;
	ri->deleted = sqlite3_column_int(st, 1);
	ri->seq = (uint64_t)sqlite3_column_int64(st, 4);
	ri->dept = strdup((const char *)sqlite3_column_text(st, 0));
	if (!ri->dept) {
		rc = RELAIS_ENOMEM;
		goto out;
	}
	if (ri->deleted && sqlite3_column_type(st, 3) == SQLITE_TEXT) {
		ri->image = strdup((const char *)sqlite3_column_text(st, 3));
		if (!ri->image) {
			rc = RELAIS_ENOMEM;
			goto out;
		}
	}
	rc = sync_clocks_decode(sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2),
				tb->ncols, e->clk);
out:
	sqlite3_reset(st);
	if (rc)
		rowinfo_clear(ri);
	return rc;
}

/*
 * The bookkeeping of one changed row, for merges and local writes alike:
 * a new server seq (so that pulls after the old one see it), its clocks, and
 * for a deleted row the tombstone with its last image.
 */
static int row_log(struct engine *e, int ti, const char *id, const char *dept, int deleted,
		   const struct sync_stamp *clk, const char *image)
{
	sqlite3_stmt *st = e->row_put;
	const struct sync_table *tb = &e->t->v[ti];
	size_t n = sync_clocks_encode(clk, deleted ? 1 : tb->ncols, e->clkbuf);

	e->seq++;
	sqlite3_bind_text(st, 1, tb->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, dept, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)e->seq);
	sqlite3_bind_int(st, 5, deleted ? 1 : 0);
	sqlite3_bind_blob(st, 6, e->clkbuf, (int)n, SQLITE_STATIC);
	if (image)
		sqlite3_bind_text(st, 7, image, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 7);
	return step_write(e, st, ti);
}

/*
 * row_log() for a row that should be new, without looking it up first (most
 * pushed INSERTs create rows): *claimed = 0 and nothing written when (ti, id)
 * already has an entry.
 */
static int row_claim(struct engine *e, int ti, const char *id, const char *dept,
		     struct sync_stamp st, int *claimed)
{
	sqlite3_stmt *q = e->row_new;
	size_t n = sync_clocks_encode(&st, 1, e->clkbuf);
	int rc;

	sqlite3_bind_text(q, 1, e->t->v[ti].name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, dept, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, (sqlite3_int64)(e->seq + 1));
	sqlite3_bind_blob(q, 5, e->clkbuf, (int)n, SQLITE_STATIC);
	rc = step_write(e, q, ti);
	*claimed = !rc && sqlite3_changes(e->db) > 0;
	if (*claimed)
		e->seq++;
	return rc;
}

static void clocks_fill(struct engine *e, int ncols, struct sync_stamp st)
{
	for (int j = 0; j < ncols; j++)
		e->clk[j] = st;
}

/* Queues a conflict; kept and lost are borrowed and dumped now, since they
 * may describe values that the next statement step invalidates. */
static int conflict_add(struct engine *e, int ti, const char *row_id, const char *dept,
			const char *col, const char *kind, const json_t *kept, struct sync_stamp kst,
			const json_t *lost, struct sync_stamp lst)
{
	struct pending_conflict *p;

	if (!kept || !lost)
		return RELAIS_ENOMEM;
	if (e->npend == e->apend) {
		size_t na = e->apend ? e->apend * 2 : 8;
		p = realloc(e->pend, na * sizeof(*p));
		if (!p)
			return RELAIS_ENOMEM;
		e->pend = p;
		e->apend = na;
	}
	p = &e->pend[e->npend];
	memset(p, 0, sizeof(*p));
	e->npend++;
	p->ti = ti;
	p->col = col;
	p->kind = kind;
	p->kst = kst;
	p->lst = lst;
	p->row_id = strdup(row_id);
	p->dept = strdup(dept);
	p->kept = sync_json_text(kept);
	p->lost = sync_json_text(lost);
	if (!p->row_id || !p->dept || !p->kept || !p->lost)
		return RELAIS_ENOMEM;
	return 0;
}

static int bind_author(struct engine *e, int idx, struct sync_stamp s)
{
	sqlite3_stmt *lg = e->login_get;
	char hex[17];
	int rc;

	sync_node_format(s.node, hex);
	sqlite3_bind_text(lg, 1, hex, -1, SQLITE_STATIC);
	rc = sqlite3_step(lg);
	if (rc == SQLITE_ROW)
		sqlite3_bind_text(e->conf_ins, idx, (const char *)sqlite3_column_text(lg, 0), -1,
				  SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(e->conf_ins, idx);
	sqlite3_reset(lg);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return relais_sqlite_error(rc);
	sqlite3_bind_text(e->conf_ins, idx + 1, hex, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(e->conf_ins, idx + 2, (sqlite3_int64)s.hlc);
	return 0;
}

/* Writes the queued conflicts as rows of sync_conflict, each logged like any
 * replicated row so that every replica of the département pulls it. */
static int conflicts_flush(struct engine *e)
{
	sqlite3_stmt *st = e->conf_ins;
	int rc = 0;

	for (size_t i = 0; i < e->npend; i++) {
		struct pending_conflict *p = &e->pend[i];
		char uuid[UTIL_UUID_LEN + 1];
		struct sync_stamp cs;

		cs.hlc = sync_hlc_now(&e->clock, util_now_ms());
		cs.node = e->node;
		rc = util_uuid(uuid);
		if (rc)
			goto out;
		sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, p->dept, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, e->t->v[p->ti].name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, p->row_id, -1, SQLITE_STATIC);
		if (p->col)
			sqlite3_bind_text(st, 5, p->col, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 5);
		sqlite3_bind_text(st, 6, p->kind, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, p->kept, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 8, p->lost, -1, SQLITE_STATIC);
		rc = bind_author(e, 9, p->kst);
		if (!rc)
			rc = bind_author(e, 12, p->lst);
		if (rc)
			goto out;
		sqlite3_bind_int64(st, 15, (sqlite3_int64)cs.hlc);
		rc = step_write(e, st, e->conflict_ti);
		if (rc)
			goto out;
		clocks_fill(e, e->t->v[e->conflict_ti].ncols, cs);
		rc = row_log(e, e->conflict_ti, uuid, p->dept, 0, e->clk, NULL);
		if (rc)
			goto out;
		e->conflicts++;
	}
out:
	for (size_t i = 0; i < e->npend; i++)
		pending_free(&e->pend[i]);
	e->npend = 0;
	return rc;
}

/* ---- merge ---- */

/* A changeset value that must be non-NULL text (the id and dept columns). */
static int cs_text(struct engine *e, sqlite3_changeset_iter *it, int newside, int j, const char **out)
{
	sqlite3_value *v = NULL;
	int rc = newside ? sqlite3changeset_new(it, j, &v) : sqlite3changeset_old(it, j, &v);
	if (rc != SQLITE_OK || !v || sqlite3_value_type(v) != SQLITE_TEXT)
		return fail(e, RELAIS_ECORRUPT, "Changement illisible : %s manquant.", j ? "département" : "identifiant");
	*out = (const char *)sqlite3_value_text(v);
	return *out ? 0 : RELAIS_ENOMEM;
}

static sqlite3_value *cs_value(sqlite3_changeset_iter *it, int newside, int j)
{
	sqlite3_value *v = NULL;
	int rc = newside ? sqlite3changeset_new(it, j, &v) : sqlite3changeset_old(it, j, &v);
	return rc == SQLITE_OK ? v : NULL;
}

/* One answer for a row of another département and for a row that does not
 * exist, so that a push can never tell which département owns an id. */
static int no_such_row(struct engine *e, const char *id)
{
	return fail(e, RELAIS_EPERM, "Modification refusée : la ligne %s n'existe pas dans votre "
		    "département.", id);
}

static int check_scope(struct engine *e, const char *id, const struct rowinfo *ri)
{
	return strcmp(ri->dept, e->who->dept) ? no_such_row(e, id) : 0;
}

/*
 * Merges the columns carried by an UPDATE (or by an INSERT of an id that is
 * live already: is_insert, every value then counts as unseen) into the live
 * row id, column by column in HLC order.
 */
static int merge_columns(struct engine *e, int ti, sqlite3_changeset_iter *it, const char *id,
			 const struct rowinfo *ri, struct sync_stamp st, int is_insert)
{
	const struct sync_table *tb = &e->t->v[ti];
	int record = ti != e->conflict_ti; /* settling a conflict never makes another */
	sqlite3_stmt *sel, *upd;
	size_t npend0 = e->npend;
	int rc, nw = 0;
	/* The pusher holds the merged row when it held the row before and
	 * none of its values lost or overwrote an unseen one. */
	int held = record && !is_insert && echo_prev_held(e, ri);

	rc = table_stmt(e, ti, STMT_SEL, &sel);
	if (rc)
		return rc;
	sqlite3_bind_text(sel, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(sel);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(sel);
		if (rc == SQLITE_DONE)
			return fail(e, RELAIS_ECORRUPT, "La ligne %s manque dans la table %s.", id, tb->name);
		return relais_sqlite_error(rc);
	}
	rc = 0;
	for (int j = 2; j < tb->ncols; j++) {
		sqlite3_value *nv = cs_value(it, 1, j), *ov, *cur;
		if (!nv)
			continue;
		ov = is_insert ? NULL : cs_value(it, 0, j);
		cur = sqlite3_column_value(sel, j);
		if (sync_stamp_cmp(st, e->clk[j]) > 0) {
			if (record && (is_insert ? !sync_value_equal(cur, nv) : ov && !sync_value_equal(cur, ov))) {
				json_t *k = sync_value_json(nv), *l = sync_value_json(cur);
				rc = conflict_add(e, ti, id, ri->dept, tb->cols[j], "valeur", k, st, l, e->clk[j]);
				json_decref(k);
				json_decref(l);
			}
			e->wr[nw++] = j;
			e->clk[j] = st;
		} else if (record && !sync_value_equal(cur, nv)) {
			json_t *k = sync_value_json(cur), *l = sync_value_json(nv);
			rc = conflict_add(e, ti, id, ri->dept, tb->cols[j], "valeur", k, e->clk[j], l, st);
			json_decref(k);
			json_decref(l);
		}
		if (rc)
			break;
	}
	sqlite3_reset(sel);
	if (rc)
		return rc;
	for (int k = 0; k < nw; k++) {
		rc = update_stmt(e, ti, e->wr[k], &upd);
		if (rc)
			return rc;
		sqlite3_bind_value(upd, 1, cs_value(it, 1, e->wr[k]));
		sqlite3_bind_text(upd, 2, id, -1, SQLITE_STATIC);
		rc = step_write(e, upd, ti);
		if (rc)
			return rc;
	}
	/* Logged even when every column lost: the row then goes back to the
	 * pusher, whose replica holds the losing values. */
	rc = row_log(e, ti, id, ri->dept, 0, e->clk, NULL);
	if (!rc && held && e->npend == npend0)
		rc = echo_note(e);
	if (rc)
		return rc;
	return conflicts_flush(e);
}

static int insert_row(struct engine *e, int ti, sqlite3_changeset_iter *it)
{
	const struct sync_table *tb = &e->t->v[ti];
	sqlite3_stmt *ins;
	int rc = table_stmt(e, ti, STMT_INS, &ins);
	if (rc)
		return rc;
	for (int j = 0; j < tb->ncols; j++) {
		sqlite3_value *v = cs_value(it, 1, j);
		if (v)
			sqlite3_bind_value(ins, j + 1, v);
		else
			sqlite3_bind_null(ins, j + 1);
	}
	return step_write(e, ins, ti);
}

static int merge_insert(struct engine *e, int ti, sqlite3_changeset_iter *it, struct sync_stamp st)
{
	const struct sync_table *tb = &e->t->v[ti];
	struct rowinfo ri;
	const char *id, *dept;
	int rc, claimed;

	if ((rc = cs_text(e, it, 1, 0, &id)) || (rc = cs_text(e, it, 1, 1, &dept)))
		return rc;
	if (strcmp(dept, e->who->dept))
		return fail(e, RELAIS_EPERM, "Création refusée : la ligne %s serait d'un autre "
			    "département que le vôtre (%s).", id, e->who->dept);
	if (!util_is_uuid(id))
		return fail(e, RELAIS_EINVAL, "Création refusée : « %.40s » n'est pas un identifiant "
			    "valide (UUID en minuscules).", id);
	rc = row_claim(e, ti, id, dept, st, &claimed);
	if (!rc && claimed)
		rc = echo_note(e);
	if (rc || claimed)
		return rc ? rc : insert_row(e, ti, it);
	rc = row_get(e, ti, id, &ri);
	if (rc)
		return rc;
	if (ri.found && (rc = check_scope(e, id, &ri)))
		goto out;
	if (ri.found && !ri.deleted) {
		rc = merge_columns(e, ti, it, id, &ri, st, 1);
		goto out;
	}
	/* The restore of a deleted row, which a person chose when settling a
	 * suppression conflict. */
	rc = insert_row(e, ti, it);
	if (rc)
		goto out;
	clocks_fill(e, tb->ncols, st);
	rc = row_log(e, ti, id, dept, 0, e->clk, NULL);
out:
	rowinfo_clear(&ri);
	return rc;
}

/* ---- settling conflicts ---- */

static int col_index(const struct sync_table *tb, const char *name)
{
	for (int j = 0; name && j < tb->ncols; j++)
		if (!strcmp(tb->cols[j], name))
			return j;
	return -1;
}

/* Records that the item settles conflict id; sync_conflict rows are the
 * server's, so of a replica's UPDATE only the choice counts: who settled it
 * and when are the server's to write. */
static int resolution_defer(struct engine *e, sqlite3_changeset_iter *it, const char *id)
{
	const struct sync_table *tb = &e->t->v[e->conflict_ti];
	sqlite3_value *v = cs_value(it, 1, col_index(tb, "resolution"));
	const char *r;

	if (!v)
		return 0;
	r = sqlite3_value_type(v) == SQLITE_TEXT ? (const char *)sqlite3_value_text(v) : NULL;
	if (!r || (strcmp(r, "gagnant") && strcmp(r, "perdant")))
		return fail(e, RELAIS_EINVAL, "Règlement de conflit invalide : « gagnant » ou « perdant » "
			    "attendu.");
	if (e->nres == e->ares) {
		size_t na = e->ares ? e->ares * 2 : 4;
		struct resolution *p = realloc(e->res, na * sizeof(*p));
		if (!p)
			return RELAIS_ENOMEM;
		e->res = p;
		e->ares = na;
	}
	e->res[e->nres].id = strdup(id);
	if (!e->res[e->nres].id)
		return RELAIS_ENOMEM;
	e->res[e->nres++].keep_lost = !strcmp(r, "perdant");
	return 0;
}

static void resolutions_clear(struct engine *e)
{
	for (size_t i = 0; i < e->nres; i++)
		free(e->res[i].id);
	e->nres = 0;
}

/* The text of column j of the row sel stands on, or NULL; malloc'd. */
static char *col_dup(sqlite3_stmt *sel, int j)
{
	const unsigned char *t = j >= 0 ? sqlite3_column_text(sel, j) : NULL;
	return t ? strdup((const char *)t) : NULL;
}

struct conflict_fields {
	char *tbl, *row_id, *col, *kind, *kept, *lost, *resolution;
};

static void conflict_fields_free(struct conflict_fields *c)
{
	free(c->tbl);
	free(c->row_id);
	free(c->col);
	free(c->kind);
	free(c->kept);
	free(c->lost);
	free(c->resolution);
}

static int conflict_fields_read(struct engine *e, const char *id, struct conflict_fields *c)
{
	const struct sync_table *tb = &e->t->v[e->conflict_ti];
	sqlite3_stmt *sel;
	int rc = table_stmt(e, e->conflict_ti, STMT_SEL, &sel);

	memset(c, 0, sizeof(*c));
	if (rc)
		return rc;
	sqlite3_bind_text(sel, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(sel);
	if (rc == SQLITE_ROW) {
		c->tbl = col_dup(sel, col_index(tb, "tbl"));
		c->row_id = col_dup(sel, col_index(tb, "row_id"));
		c->col = col_dup(sel, col_index(tb, "col"));
		c->kind = col_dup(sel, col_index(tb, "kind"));
		c->kept = col_dup(sel, col_index(tb, "kept"));
		c->lost = col_dup(sel, col_index(tb, "lost"));
		c->resolution = col_dup(sel, col_index(tb, "resolution"));
		rc = c->tbl && c->row_id && c->kind ? 0 : RELAIS_ECORRUPT;
	} else {
		rc = rc == SQLITE_DONE ? RELAIS_ECORRUPT : relais_sqlite_error(rc);
	}
	sqlite3_reset(sel);
	if (rc)
		conflict_fields_free(c);
	return rc;
}

/*
 * What the data says of conflict c now: 1 when it holds the value that lost
 * (or, for a deletion, the row is live again), 0 when it holds the value
 * kept (the row is deleted), -1 when neither (edited since). For a valeur
 * conflict, *cur gets the current value as JSON text (malloc'd) and *cst its
 * stamp.
 */
static int conflict_effect(struct engine *e, const struct conflict_fields *c, char **cur,
			   struct sync_stamp *cst, int *effect)
{
	struct rowinfo ri;
	sqlite3_stmt *sel;
	int ti = sync_tables_find(e->t, c->tbl), j, rc;

	*cur = NULL;
	*effect = -1;
	if (ti < 0 || ti == e->conflict_ti)
		return 0;
	rc = row_get(e, ti, c->row_id, &ri);
	if (rc)
		return rc;
	if (!strcmp(c->kind, "suppression")) {
		*effect = ri.found && !ri.deleted;
		goto out;
	}
	j = col_index(&e->t->v[ti], c->col);
	if (j < 2 || !ri.found || ri.deleted)
		goto out;
	*cst = e->clk[j];
	rc = table_stmt(e, ti, STMT_SEL, &sel);
	if (rc)
		goto out;
	sqlite3_bind_text(sel, 1, c->row_id, -1, SQLITE_STATIC);
	if (sqlite3_step(sel) == SQLITE_ROW) {
		json_t *v = sync_value_json(sqlite3_column_value(sel, j));
		*cur = v ? sync_json_text(v) : NULL;
		json_decref(v);
		if (!*cur)
			rc = RELAIS_ENOMEM;
	}
	sqlite3_reset(sel);
	if (*cur && c->lost && !strcmp(*cur, c->lost))
		*effect = 1;
	else if (*cur && c->kept && !strcmp(*cur, c->kept))
		*effect = 0;
out:
	rowinfo_clear(&ri);
	return rc;
}

/* Writes who settled conflict id, how and when (the server's own values). */
static int resolution_write(struct engine *e, const char *id, const char *dept, int keep_lost,
			    struct sync_stamp st)
{
	const struct sync_table *tb = &e->t->v[e->conflict_ti];
	const char *names[] = { "resolution", "resolved_by", "resolved_hlc" };
	struct rowinfo ri;
	sqlite3_stmt *upd;
	int rc = row_get(e, e->conflict_ti, id, &ri);

	for (size_t k = 0; !rc && k < 3; k++) {
		int j = col_index(tb, names[k]);
		if (j < 0) {
			rc = RELAIS_ESCHEMA;
			break;
		}
		rc = update_stmt(e, e->conflict_ti, j, &upd);
		if (rc)
			break;
		if (k == 0)
			sqlite3_bind_text(upd, 1, keep_lost ? "perdant" : "gagnant", -1, SQLITE_STATIC);
		else if (k == 1)
			sqlite3_bind_text(upd, 1, e->who->login, -1, SQLITE_STATIC);
		else
			sqlite3_bind_int64(upd, 1, (sqlite3_int64)st.hlc);
		sqlite3_bind_text(upd, 2, id, -1, SQLITE_STATIC);
		rc = step_write(e, upd, e->conflict_ti);
		e->clk[j] = st;
	}
	if (!rc)
		rc = row_log(e, e->conflict_ti, id, dept, 0, e->clk, NULL);
	rowinfo_clear(&ri);
	return rc;
}

/* Logs conflict id again unchanged, so that the pusher gets the server's
 * record back in place of its own. */
static int conflict_relog(struct engine *e, const char *id)
{
	struct rowinfo ri;
	int rc = row_get(e, e->conflict_ti, id, &ri);
	if (!rc)
		rc = ri.found ? row_log(e, e->conflict_ti, id, ri.dept, 0, e->clk, NULL) : RELAIS_ECORRUPT;
	rowinfo_clear(&ri);
	return rc;
}

/*
 * Settles one conflict as a replica asked. The first settlement is written
 * as it comes. When two people settle the same conflict differently, the
 * record says what the data holds (the settlement whose data write won),
 * and the other person's choice becomes a new conflict on the same value,
 * so that nobody's decision is silently lost.
 */
static int resolution_apply(struct engine *e, const struct resolution *r, struct sync_stamp st)
{
	const struct sync_table *rt = &e->t->v[e->conflict_ti];
	struct conflict_fields c;
	struct rowinfo ri;
	struct sync_stamp prev, cst = { 0, 0 };
	char *cur = NULL;
	int rc, effect, ti, j;

	rc = row_get(e, e->conflict_ti, r->id, &ri);
	if (rc)
		return rc;
	prev = e->clk[col_index(rt, "resolution")];
	rc = conflict_fields_read(e, r->id, &c);
	if (rc)
		goto out;
	if (!c.resolution) {
		rc = resolution_write(e, r->id, ri.dept, r->keep_lost, st);
		goto out;
	}
	int had_lost = !strcmp(c.resolution, "perdant");
	if (had_lost == r->keep_lost) {
		/* The same choice: the first one stays; the row goes back to
		 * this replica, which wrote its own name on it. */
		rc = conflict_relog(e, r->id);
		goto out;
	}
	rc = conflict_effect(e, &c, &cur, &cst, &effect);
	if (rc)
		goto out;
	if (effect == r->keep_lost)
		rc = resolution_write(e, r->id, ri.dept, r->keep_lost, st);
	else
		rc = conflict_relog(e, r->id);
	if (rc || !cur || strcmp(c.kind, "valeur"))
		goto out;
	/* The value the other side wanted, kept apart for a person. */
	ti = sync_tables_find(e->t, c.tbl);
	j = ti >= 0 ? col_index(&e->t->v[ti], c.col) : -1;
	if (j < 2)
		goto out;
	const char *wanted = (effect == r->keep_lost ? had_lost : r->keep_lost) ? c.lost : c.kept;
	struct sync_stamp wst = effect == r->keep_lost ? prev : st;
	json_t *k = json_loads(cur, JSON_DECODE_ANY, NULL);
	json_t *l = wanted ? json_loads(wanted, JSON_DECODE_ANY, NULL) : NULL;
	if (k && l && strcmp(cur, wanted))
		rc = conflict_add(e, ti, c.row_id, ri.dept, e->t->v[ti].cols[j], "valeur", k, cst, l, wst);
	json_decref(k);
	json_decref(l);
	if (!rc)
		rc = conflicts_flush(e);
out:
	free(cur);
	conflict_fields_free(&c);
	rowinfo_clear(&ri);
	return rc;
}

static int resolutions_apply(struct engine *e, struct sync_stamp st)
{
	int rc = 0;
	for (size_t i = 0; !rc && i < e->nres; i++)
		rc = resolution_apply(e, &e->res[i], st);
	resolutions_clear(e);
	return rc;
}

/* An UPDATE for a row deleted meanwhile: the deletion stays, the edits are
 * kept in a suppression conflict on the row's last image. */
static int merge_update_deleted(struct engine *e, int ti, sqlite3_changeset_iter *it,
				const char *id, const struct rowinfo *ri, struct sync_stamp st)
{
	const struct sync_table *tb = &e->t->v[ti];
	json_t *img = NULL, *null = json_null();
	int rc = 0;

	if (ti == e->conflict_ti)
		return 0;
	img = ri->image ? json_loads(ri->image, 0, NULL) : json_object();
	if (!img || !json_is_object(img)) {
		rc = RELAIS_ECORRUPT;
		goto out;
	}
	for (int j = 1; j < tb->ncols; j++) {
		sqlite3_value *nv = cs_value(it, 1, j);
		if (nv && json_object_set_new(img, tb->cols[j], sync_value_json(nv))) {
			rc = RELAIS_ENOMEM;
			goto out;
		}
	}
	/* e->clk[0] is the stamp of the deletion (a tombstone has no other). */
	rc = conflict_add(e, ti, id, ri->dept, NULL, "suppression", null, e->clk[0], img, st);
	if (!rc)
		rc = conflicts_flush(e);
out:
	json_decref(img);
	json_decref(null);
	return rc;
}

/* The row an UPDATE or DELETE of table ti names, into *ri (which the caller
 * clears, whatever the return): refused when it does not exist or is out of
 * the author's reach. */
static int changed_row(struct engine *e, int ti, sqlite3_changeset_iter *it, const char **id,
		       struct rowinfo *ri)
{
	memset(ri, 0, sizeof(*ri));
	int rc = cs_text(e, it, 0, 0, id);
	if (!rc)
		rc = row_get(e, ti, *id, ri);
	if (!rc && !ri->found)
		rc = no_such_row(e, *id);
	if (!rc)
		rc = check_scope(e, *id, ri);
	return rc;
}

static int merge_update(struct engine *e, int ti, sqlite3_changeset_iter *it, struct sync_stamp st)
{
	struct rowinfo ri;
	sqlite3_value *nd;
	const char *id;
	int rc;

	if ((rc = changed_row(e, ti, it, &id, &ri)))
		goto out;
	nd = cs_value(it, 1, 1);
	if (nd && (sqlite3_value_type(nd) != SQLITE_TEXT ||
		   strcmp((const char *)sqlite3_value_text(nd), ri.dept))) {
		rc = fail(e, RELAIS_EPERM, "Modification refusée : la ligne %s ne peut pas changer de département.", id);
		goto out;
	}
	if (ti == e->conflict_ti)
		rc = ri.deleted ? 0 : resolution_defer(e, it, id);
	else if (ri.deleted)
		rc = merge_update_deleted(e, ti, it, id, &ri, st);
	else
		rc = merge_columns(e, ti, it, id, &ri, st, 0);
out:
	rowinfo_clear(&ri);
	return rc;
}

/*
 * A DELETE always wins. Values of the row that the deleting replica had not
 * seen (its old values differ from the current ones) are kept in a
 * suppression conflict, so an edit made meanwhile is never silently lost.
 */
static int merge_delete(struct engine *e, int ti, sqlite3_changeset_iter *it, struct sync_stamp st)
{
	const struct sync_table *tb = &e->t->v[ti];
	struct rowinfo ri;
	sqlite3_stmt *sel = NULL, *del;
	json_t *img = NULL, *null = NULL;
	struct sync_stamp lst = { 0, 0 };
	char *image = NULL;
	const char *id;
	int rc, unseen = 0;

	if ((rc = changed_row(e, ti, it, &id, &ri)) || ri.deleted)
		goto out;
	rc = table_stmt(e, ti, STMT_SEL, &sel);
	if (rc)
		goto out;
	sqlite3_bind_text(sel, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(sel);
	if (rc != SQLITE_ROW) {
		rc = rc == SQLITE_DONE ? RELAIS_ECORRUPT : relais_sqlite_error(rc);
		goto out;
	}
	img = json_object();
	null = json_null();
	if (!img) {
		rc = RELAIS_ENOMEM;
		goto out;
	}
	for (int j = 0; j < tb->ncols; j++) {
		sqlite3_value *cur = sqlite3_column_value(sel, j), *ov = cs_value(it, 0, j);
		if (json_object_set_new(img, tb->cols[j], sync_value_json(cur))) {
			rc = RELAIS_ENOMEM;
			goto out;
		}
		if (j > 0 && ov && !sync_value_equal(cur, ov)) {
			unseen = 1;
			if (sync_stamp_cmp(e->clk[j], lst) > 0)
				lst = e->clk[j];
		}
	}
	sqlite3_reset(sel);
	image = sync_json_text(img);
	if (!image) {
		rc = RELAIS_ENOMEM;
		goto out;
	}
	if (unseen && ti != e->conflict_ti) {
		rc = conflict_add(e, ti, id, ri.dept, NULL, "suppression", null, st, img, lst);
		if (rc)
			goto out;
	}
	rc = table_stmt(e, ti, STMT_DEL, &del);
	if (rc)
		goto out;
	sqlite3_bind_text(del, 1, id, -1, SQLITE_STATIC);
	rc = step_write(e, del, ti);
	if (rc)
		goto out;
	clocks_fill(e, 1, st);
	rc = row_log(e, ti, id, ri.dept, 1, e->clk, image);
	if (!rc) /* the pusher deleted it too */
		rc = echo_note(e);
	if (!rc)
		rc = conflicts_flush(e);
out:
	if (sel)
		sqlite3_reset(sel);
	json_decref(img);
	json_decref(null);
	free(image);
	rowinfo_clear(&ri);
	return rc;
}

/* Finds the replicated table of the current change and checks its shape. */
static int change_table(struct engine *e, sqlite3_changeset_iter *it, int *ti, int *op)
{
	const char *tab;
	int ncol, indirect;

	if (sqlite3changeset_op(it, &tab, &ncol, op, &indirect) != SQLITE_OK)
		return fail(e, RELAIS_ECORRUPT, "Changement illisible dans l'envoi.");
	*ti = sync_tables_find(e->t, tab);
	if (*ti < 0)
		return fail(e, RELAIS_ESCHEMA, "La table « %s » n'est pas synchronisée : mettez Relais à jour.", tab);
	/* A change captured before an upgrade of the replica's schema lacks the
	 * columns added since (always at the end): they keep their values. */
	if (ncol > e->t->v[*ti].ncols || ncol < 2)
		return fail(e, RELAIS_ESCHEMA,
			    "La table « %s » n'a pas le même nombre de colonnes ici (%d) que chez l'expéditeur (%d) : "
			    "mettez Relais à jour.", tab, e->t->v[*ti].ncols, ncol);
	return 0;
}

/*
 * What a replica may write. sync_conflict rows are the server's: a replica
 * may only settle one (its resolution; who and when are written by the
 * server). The policy says which other tables and columns are the server's,
 * and checks every value against the model.
 */
static int check_write(struct engine *e, int ti, sqlite3_changeset_iter *it, int op)
{
	const struct sync_table *tb = &e->t->v[ti];
	const struct sync_policy *p = &e->pol;
	int rc;

	if (ti == e->conflict_ti) {
		if (op != SQLITE_UPDATE)
			return fail(e, RELAIS_EPERM, "Les conflits sont enregistrés par le serveur "
				    "seulement : un réplica peut seulement les régler.");
		for (int j = 2; j < tb->ncols; j++)
			if (cs_value(it, 1, j) && strcmp(tb->cols[j], "resolution") &&
			    strcmp(tb->cols[j], "resolved_by") && strcmp(tb->cols[j], "resolved_hlc"))
				return fail(e, RELAIS_EPERM, "Un conflit ne peut pas être modifié, seulement "
					    "réglé (colonne %s).", tb->cols[j]);
		return 0;
	}
	const char *role = e->who ? e->who->role : NULL;
	if (p->may_write && op != SQLITE_UPDATE && !p->may_write(p->ctx, role, tb->name, op, NULL))
		return fail(e, RELAIS_EPERM, "La table %s est tenue par le serveur : un réplica ne peut "
			    "pas y %s de ligne.", tb->name, op == SQLITE_INSERT ? "créer" : "supprimer");
	if (op == SQLITE_DELETE)
		return 0;
	for (int j = 2; j < tb->ncols; j++) {
		sqlite3_value *v = cs_value(it, 1, j);
		if (!v)
			continue;
		if (op == SQLITE_UPDATE && p->may_write &&
		    !p->may_write(p->ctx, role, tb->name, SQLITE_UPDATE, tb->cols[j]))
			return fail(e, RELAIS_EPERM, "La colonne %s de la table %s est tenue par le "
				    "serveur : un réplica ne peut pas la modifier.", tb->cols[j], tb->name);
		if (p->check_value) {
			char why[384] = "";
			rc = p->check_value(p->ctx, tb->name, tb->cols[j], v, why, sizeof(why));
			if (rc)
				return fail(e, RELAIS_EINVAL, "Valeur refusée (table %s) : %s", tb->name,
					    why[0] ? why : relais_strerror(rc));
		}
	}
	return 0;
}

static int merge_changeset(struct engine *e, const struct sync_push_item *item, struct sync_stamp st)
{
	sqlite3_changeset_iter *it = NULL;
	int rc, ti, op;

	if (item->len > (size_t)INT32_MAX ||
	    sqlite3changeset_start(&it, (int)item->len, (void *)item->changeset) != SQLITE_OK)
		return fail(e, RELAIS_ECORRUPT, "Changement illisible dans l'envoi.");
	while ((rc = sqlite3changeset_next(it)) == SQLITE_ROW) {
		rc = change_table(e, it, &ti, &op);
		if (!rc && e->who)
			rc = check_write(e, ti, it, op);
		if (rc)
			goto out;
		switch (op) {
		case SQLITE_INSERT:
			rc = merge_insert(e, ti, it, st);
			break;
		case SQLITE_UPDATE:
			rc = merge_update(e, ti, it, st);
			break;
		case SQLITE_DELETE:
			rc = merge_delete(e, ti, it, st);
			break;
		default:
			rc = fail(e, RELAIS_ECORRUPT, "Changement illisible dans l'envoi.");
		}
		if (rc)
			goto out;
		e->changes++;
	}
	rc = rc == SQLITE_DONE ? 0 : fail(e, RELAIS_ECORRUPT, "Changement illisible dans l'envoi.");
out:
	if (sqlite3changeset_finalize(it) != SQLITE_OK && !rc)
		rc = fail(e, RELAIS_ECORRUPT, "Changement illisible dans l'envoi.");
	if (!rc)
		rc = resolutions_apply(e, st);
	resolutions_clear(e);
	return rc;
}

/* Registers node for login (or checks it belongs to login) and reads its acked seq. */
static int node_claim(struct engine *e, uint64_t node, const char *login, uint64_t *acked)
{
	sqlite3_stmt *st;
	char hex[17];
	int rc;

	sync_node_format(node, hex);
	rc = cached(e, &e->node_get, "SELECT login, acked FROM sync_node WHERE node=?1");
	if (rc)
		return rc;
	st = e->node_get;
	sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *owner = (const char *)sqlite3_column_text(st, 0);
		*acked = (uint64_t)sqlite3_column_int64(st, 1);
		rc = owner && !strcmp(owner, login) ? 0
			: fail(e, RELAIS_EPERM, "Ce poste (%s) est enregistré pour un autre compte.", hex);
		goto out;
	}
	if (rc != SQLITE_DONE) {
		rc = relais_sqlite_error(rc);
		goto out;
	}
	sqlite3_reset(st);
	rc = cached(e, &e->node_new, "INSERT INTO sync_node(node, login, acked) VALUES(?1, ?2, 0)");
	if (rc)
		return rc;
	st = e->node_new;
	sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, login, -1, SQLITE_STATIC);
	rc = relais_sqlite_error(sqlite3_step(st));
	*acked = 0;
out:
	sqlite3_reset(st);
	return rc;
}

static int node_ack(struct engine *e, uint64_t node, uint64_t acked)
{
	char hex[17];
	int rc;

	sync_node_format(node, hex);
	rc = cached(e, &e->node_upd, "UPDATE sync_node SET acked=?2 WHERE node=?1");
	if (rc)
		return rc;
	sqlite3_bind_text(e->node_upd, 1, hex, -1, SQLITE_STATIC);
	sqlite3_bind_int64(e->node_upd, 2, (sqlite3_int64)acked);
	rc = relais_sqlite_error(sqlite3_step(e->node_upd));
	sqlite3_reset(e->node_upd);
	return rc;
}

/* Errors that come from the item itself, not from the store: the item is
 * refused for good and set aside by the replica. */
static int item_refusable(int rc)
{
	return rc == RELAIS_EPERM || rc == RELAIS_EINVAL || rc == RELAIS_ECONSTRAINT ||
	       rc == RELAIS_ECORRUPT || rc == RELAIS_ESCHEMA;
}

/*
 * The stamp of an item: its own HLC while it is no further ahead of the
 * server's wall clock than the skew allows (observed into the server
 * clock), else a new stamp of the server clock, as if the edit had been
 * made when it arrived: a replica with a wrong date, or a crafted push,
 * never moves the clock that every replica observes past the bound.
 */
static struct sync_stamp item_stamp(struct engine *e, const struct sync_push_item *item,
				    uint64_t node)
{
	struct sync_stamp st = { item->hlc, node };
	int64_t now = util_now_ms();
	if (item->hlc > clock_bound(now, skew_of(&e->pol))) {
		st.hlc = sync_hlc_now(&e->clock, now);
		e->restamped++;
	} else {
		sync_hlc_observe(&e->clock, item->hlc, now);
	}
	return st;
}

/* What a savepoint rolled back must take back of the engine's state. */
struct engine_mark {
	uint64_t seq;
	struct sync_hlc clock;
	size_t changes, conflicts, restamped;
};

static struct engine_mark engine_mark(const struct engine *e)
{
	struct engine_mark m = { e->seq, e->clock, e->changes, e->conflicts, e->restamped };
	return m;
}

/* Puts the engine back as it was at m, after a ROLLBACK TO the savepoint
 * taken then: the conflicts waiting to be written and the echo go too. */
static void engine_rewind(struct engine *e, const struct engine_mark *m)
{
	for (size_t k = 0; k < e->npend; k++)
		pending_free(&e->pend[k]);
	e->npend = 0;
	e->seq = m->seq;
	echo_trim(e, m->seq);
	e->clock = m->clock;
	e->changes = m->changes;
	e->conflicts = m->conflicts;
	e->restamped = m->restamped;
}

/*
 * Merges the items of one push above the node's acked seq, each in a
 * savepoint: an item refused for good is rolled back alone, the items
 * before it stay applied, and the merge stops there (*refused = its seq).
 */
static int merge_push(struct engine *e, const struct sync_push *push, uint64_t *acked,
		      size_t *items, uint64_t *refused, int *refused_rc)
{
	int rc = node_claim(e, push->node, e->who->login, acked);
	if (rc)
		return rc;
	for (size_t i = 0; i < push->count; i++) {
		const struct sync_push_item *item = &push->items[i];
		if (item->seq <= *acked)
			continue;
		struct engine_mark m = engine_mark(e);
		rc = engine_ctl(e, CTL_ITEM);
		if (rc)
			return rc;
		rc = merge_changeset(e, item, item_stamp(e, item, push->node));
		if (rc && item_refusable(rc) && !sqlite3_get_autocommit(e->db) &&
		    !engine_ctl(e, CTL_ITEM_UNDO)) {
			engine_rewind(e, &m);
			*refused = item->seq;
			*refused_rc = rc;
			rc = engine_ctl(e, CTL_ITEM_DONE);
			break;
		}
		if (rc)
			return rc;
		rc = engine_ctl(e, CTL_ITEM_DONE);
		if (rc)
			return rc;
		*acked = item->seq;
		(*items)++;
	}
	if (rc)
		return rc;
	return *items ? node_ack(e, push->node, *acked) : 0;
}

/*
 * Merges one job of a group inside a savepoint of the group's transaction.
 * A job that fails is rolled back alone, with the engine's counters put back
 * as they were, and 0 is returned so that the group goes on; the return is
 * an error only when the group's transaction itself is lost.
 */
static int merge_job(struct engine *e, struct sync_merge_job *job, int *wrote)
{
	struct engine_mark m = engine_mark(e);
	uint64_t acked = 0, refused = 0;
	size_t items = 0;
	int rc, refused_rc = 0;

	e->who = job->who;
	e->err = job->err;
	e->errlen = job->errlen;
	e->echo = job->echo;
	e->echo_lo = m.seq + 1;
	if (e->echo)
		e->echo->n = 0;
	rc = engine_ctl(e, CTL_JOB);
	if (rc)
		return rc;
	job->rc = merge_push(e, job->push, &acked, &items, &refused, &refused_rc);
	if (job->rc) {
		engine_rewind(e, &m);
		if (job->err && job->errlen && !job->err[0])
			snprintf(job->err, job->errlen, "%s", relais_strerror(job->rc));
		/* Some errors (I/O, disk full) make SQLite roll back the whole
		 * transaction: the jobs merged before this one are gone too. */
		if (sqlite3_get_autocommit(e->db))
			return job->rc;
		rc = engine_ctl(e, CTL_JOB_UNDO);
	}
	if (!rc)
		rc = engine_ctl(e, CTL_JOB_DONE);
	if (rc || job->rc)
		return rc;
	job->res.acked = acked;
	job->res.items = items;
	job->res.changes = e->changes - m.changes;
	job->res.conflicts = e->conflicts - m.conflicts;
	job->res.restamped = e->restamped - m.restamped;
	job->res.refused_seq = refused;
	job->res.refused_rc = refused_rc;
	if (items)
		*wrote = 1;
	return 0;
}

struct sync_merger {
	struct engine e;
};

int sync_merger_new(sqlite3 *db, const struct sync_tables *t, struct sync_merger **out)
{
	struct sync_merger *m = calloc(1, sizeof(*m));
	int rc;

	*out = NULL;
	if (!m)
		return RELAIS_ENOMEM;
	rc = engine_prepare(&m->e, db, t, NULL, 0);
	if (rc) {
		engine_free(&m->e);
		free(m);
		return rc;
	}
	*out = m;
	return 0;
}

void sync_merger_set_policy(struct sync_merger *m, const struct sync_policy *p)
{
	m->e.pol = *p;
}

void sync_merger_free(struct sync_merger *m)
{
	if (!m)
		return;
	engine_free(&m->e);
	free(m);
}

int sync_merger_run(struct sync_merger *m, struct sync_merge_job *const *jobs, size_t n)
{
	struct engine *e = &m->e;
	sqlite3 *db = e->db;
	int rc, wrote = 0;

	for (size_t i = 0; i < n; i++) {
		memset(&jobs[i]->res, 0, sizeof(jobs[i]->res));
		jobs[i]->rc = 0;
		if (jobs[i]->err && jobs[i]->errlen)
			jobs[i]->err[0] = 0;
	}
	rc = engine_ctl(e, CTL_BEGIN);
	if (rc)
		goto out;
	rc = engine_begin(e);
	for (size_t i = 0; !rc && i < n; i++)
		rc = merge_job(e, jobs[i], &wrote);
	if (!rc && wrote)
		rc = engine_save_state(e);
	engine_reset(e);
	if (!rc)
		rc = engine_ctl(e, CTL_COMMIT);
out:
	if (rc)
		sync_rollback(db);
	for (size_t i = 0; i < e->npend; i++)
		pending_free(&e->pend[i]);
	e->npend = 0;
	e->who = NULL;
	e->err = NULL;
	e->errlen = 0;
	e->echo = NULL;
	for (size_t i = 0; i < n; i++) {
		struct sync_merge_job *job = jobs[i];
		if (job->echo && (rc || job->rc))
			job->echo->n = 0;
		if (!rc) {
			if (!job->rc)
				job->res.server_hlc = e->clock.last;
			continue;
		}
		/* Nothing of the group was written: every job fails, and a job
		 * refused on its own keeps its own reason. */
		memset(&job->res, 0, sizeof(job->res));
		if (!job->rc) {
			job->rc = rc;
			if (job->err && job->errlen)
				snprintf(job->err, job->errlen, "%s", relais_strerror(rc));
		}
	}
	return rc;
}

int sync_merge_group(sqlite3 *db, const struct sync_tables *t, struct sync_merge_job *const *jobs,
		     size_t n)
{
	struct sync_merger *m = NULL;
	int rc = sync_merger_new(db, t, &m);

	if (rc) {
		for (size_t i = 0; i < n; i++) {
			memset(&jobs[i]->res, 0, sizeof(jobs[i]->res));
			jobs[i]->rc = rc;
			if (jobs[i]->err && jobs[i]->errlen)
				snprintf(jobs[i]->err, jobs[i]->errlen, "%s", relais_strerror(rc));
		}
		return rc;
	}
	rc = sync_merger_run(m, jobs, n);
	sync_merger_free(m);
	return rc;
}

int sync_merge(sqlite3 *db, const struct sync_tables *t, const struct sync_author *who,
	       const struct sync_push *push, struct sync_merge_result *res,
	       char *err, size_t errlen)
{
	struct sync_merge_job job = { who, push, err, errlen, 0, { 0 }, NULL };
	struct sync_merge_job *one = &job;

	int rc = sync_merge_group(db, t, &one, 1);
	*res = job.res;
	return job.rc ? job.rc : rc; /* a failed group has set job.rc already */
}

/* ---- the server's own writes ---- */

struct sync_local {
	struct sync_txn x;
	const struct sync_tables *t;
};

int sync_local_begin(sqlite3 *db, const struct sync_tables *t, struct sync_local **out)
{
	void *l;
	int rc = sync_txn_begin(db, t, sizeof(**out), &l);
	*out = l;
	if (l)
		(*out)->t = t;
	return rc;
}

void sync_local_abort(struct sync_local *l)
{
	if (l)
		(void)sync_txn_end(&l->x, RELAIS_EINVAL);
}

/* Each login writing on the server gets a node of its own, derived from the
 * login, so that conflicts name the right author. */
static int local_node(struct engine *e, const char *login, uint64_t *node)
{
	char hex[UTIL_SHA256_HEX + 1];
	uint64_t acked;
	struct buf b = BUF_INIT(4096);
	int rc;

	if (!login) {
		*node = e->node;
		return 0;
	}
	rc = buf_printf(&b, "relais-local:%s", login);
	if (rc)
		goto out;
	util_sha256_hex(b.data, b.len, hex);
	hex[16] = 0;
	rc = sync_node_parse(hex, node);
	if (!rc)
		rc = node_claim(e, *node, login, &acked);
out:
	buf_release(&b);
	return rc;
}

/* The dept of a row written before the table was replicated (no sync_row). */
static int table_dept(struct engine *e, int ti, const char *id, char **dept)
{
	sqlite3_stmt *sel;
	int rc = table_stmt(e, ti, STMT_SEL, &sel);
	if (rc)
		return rc;
	sqlite3_bind_text(sel, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(sel);
	if (rc == SQLITE_ROW) {
		const char *d = (const char *)sqlite3_column_text(sel, 1);
		*dept = d ? strdup(d) : NULL;
		rc = *dept ? 0 : RELAIS_ECORRUPT;
	} else {
		rc = rc == SQLITE_DONE ? RELAIS_ECORRUPT : relais_sqlite_error(rc);
	}
	sqlite3_reset(sel);
	return rc;
}

static int local_change(struct engine *e, sqlite3_changeset_iter *it, struct sync_stamp st)
{
	const struct sync_table *tb;
	struct rowinfo ri = { 0 };
	json_t *img = NULL;
	char *image = NULL;
	const char *id, *dept;
	int rc, ti, op;

	rc = change_table(e, it, &ti, &op);
	if (rc)
		return rc;
	tb = &e->t->v[ti];
	if (op == SQLITE_INSERT) {
		if ((rc = cs_text(e, it, 1, 0, &id)) || (rc = cs_text(e, it, 1, 1, &dept)))
			return rc;
		clocks_fill(e, tb->ncols, st);
		return row_log(e, ti, id, dept, 0, e->clk, NULL);
	}
	if ((rc = cs_text(e, it, 0, 0, &id)))
		return rc;
	if (op == SQLITE_DELETE) {
		if ((rc = cs_text(e, it, 0, 1, &dept)))
			return rc;
		img = json_object();
		for (int j = 0; img && j < tb->ncols; j++) {
			sqlite3_value *ov = cs_value(it, 0, j);
			if (ov && json_object_set_new(img, tb->cols[j], sync_value_json(ov))) {
				rc = RELAIS_ENOMEM;
				goto out;
			}
		}
		image = img ? sync_json_text(img) : NULL;
		if (!image) {
			rc = RELAIS_ENOMEM;
			goto out;
		}
		clocks_fill(e, 1, st);
		rc = row_log(e, ti, id, dept, 1, e->clk, image);
		goto out;
	}
	/* UPDATE: the old side holds the dept only when it changed. */
	rc = row_get(e, ti, id, &ri);
	if (rc)
		goto out;
	if (!ri.found || ri.deleted)
		clocks_fill(e, tb->ncols, st);
	for (int j = 1; j < tb->ncols; j++)
		if (cs_value(it, 1, j))
			e->clk[j] = st;
	if (cs_value(it, 1, 1))
		rc = cs_text(e, it, 1, 1, &dept);
	else if (ri.found)
		dept = ri.dept;
	else if (!(rc = table_dept(e, ti, id, &ri.dept)))
		dept = ri.dept;
	if (!rc)
		rc = row_log(e, ti, id, dept, 0, e->clk, NULL);
out:
	json_decref(img);
	free(image);
	rowinfo_clear(&ri);
	return rc;
}

int sync_local_commit(struct sync_local *l, const char *login)
{
	struct engine e;
	sqlite3_changeset_iter *it = NULL;
	void *cs = NULL;
	int n = 0, rc;
	struct sync_stamp st;

	memset(&e, 0, sizeof(e));
	rc = sync_txn_changeset(&l->x, &n, &cs);
	if (!rc)
		rc = engine_init(&e, l->x.db, l->t, NULL, 0);
	if (rc || n == 0)
		goto out;
	rc = local_node(&e, login, &st.node);
	if (rc)
		goto out;
	st.hlc = sync_hlc_now(&e.clock, util_now_ms());
	if (sqlite3changeset_start(&it, n, cs) != SQLITE_OK) {
		rc = RELAIS_ECORRUPT;
		goto out;
	}
	while ((rc = sqlite3changeset_next(it)) == SQLITE_ROW) {
		rc = local_change(&e, it, st);
		if (rc)
			goto out;
	}
	rc = rc == SQLITE_DONE ? 0 : RELAIS_ECORRUPT;
	if (!rc)
		rc = engine_save_state(&e);
out:
	sqlite3changeset_finalize(it);
	sqlite3_free(cs);
	engine_free(&e);
	return sync_txn_end(&l->x, rc);
}

int sync_server_state(sqlite3 *db, const char *dept, sync_hlc_t *hlc, uint64_t *seq)
{
	sqlite3_stmt *st = NULL;
	uint64_t last = 0;
	int rc;

	*hlc = 0;
	*seq = 0;
	rc = state_load(db, &last, hlc, NULL);
	if (rc)
		return rc;
	rc = sync_prepare(db, "SELECT coalesce(max(seq), 0) FROM sync_row WHERE dept=?1", &st);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, dept, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*seq = (uint64_t)sqlite3_column_int64(st, 0);
		rc = 0;
	} else {
		rc = relais_sqlite_error(rc);
	}
	sqlite3_finalize(st);
	return rc;
}

/* Brings the stamps of one clocks blob back under bound; 1 when any moved. */
static int clocks_clamp(struct sync_stamp *st, int n, sync_hlc_t bound, sync_hlc_t now)
{
	int moved = 0;
	for (int j = 0; j < n; j++)
		if (st[j].hlc > bound) {
			st[j].hlc = now;
			moved = 1;
		}
	return moved;
}

int sync_server_clock_repair(sqlite3 *db, int64_t max_skew_ms, long long *repaired)
{
	sqlite3_stmt *sel = NULL, *upd = NULL;
	struct sync_stamp *st = NULL;
	unsigned char *buf = NULL;
	uint64_t seq = 0;
	sync_hlc_t hlc = 0;
	int64_t now = util_now_ms();
	sync_hlc_t bound = clock_bound(now, max_skew_ms > 0 ? max_skew_ms : SYNC_MAX_SKEW_MS);
	sync_hlc_t stamp = sync_hlc_make((uint64_t)(now > 0 ? now : 0), 0);
	long long n = 0;
	int rc;

	if (repaired)
		*repaired = -1;
	rc = state_load(db, &seq, &hlc, NULL);
	if (rc || hlc <= bound)
		return rc;
	rc = sync_exec(db, "BEGIN IMMEDIATE");
	if (rc)
		return rc;
	/* The widest row: SQLite caps columns at 32767. */
	st = calloc(32768, sizeof(*st));
	buf = malloc(SYNC_CLOCKS_MAX(32768));
	if (!st || !buf) {
		rc = RELAIS_ENOMEM;
		goto out;
	}
	rc = sync_prepare(db, "SELECT tbl, id, clocks, deleted FROM sync_row", &sel);
	if (!rc)
		rc = sync_prepare(db, "UPDATE sync_row SET clocks=?3 WHERE tbl=?1 AND id=?2", &upd);
	while (!rc && (rc = sqlite3_step(sel)) == SQLITE_ROW) {
		const void *p = sqlite3_column_blob(sel, 2);
		size_t len = (size_t)sqlite3_column_bytes(sel, 2);
		/* The blob holds a row stamp then (index, stamp) entries: decode
		 * with the largest index it names, found by decoding wide. */
		int ncols = 1;
		for (int w = 1; w <= 32767; w *= 2) {
			if (!sync_clocks_decode(p, len, w, st)) {
				ncols = w;
				break;
			}
		}
		rc = 0;
		if (!clocks_clamp(st, ncols, bound, stamp))
			continue;
		size_t m = sync_clocks_encode(st, ncols, buf);
		sqlite3_bind_text(upd, 1, (const char *)sqlite3_column_text(sel, 0), -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(upd, 2, (const char *)sqlite3_column_text(sel, 1), -1, SQLITE_TRANSIENT);
		sqlite3_bind_blob(upd, 3, buf, (int)m, SQLITE_STATIC);
		rc = relais_sqlite_error(sqlite3_step(upd));
		sqlite3_reset(upd);
		n++;
	}
	if (rc == SQLITE_DONE)
		rc = 0;
	else if (rc > 0)
		rc = relais_sqlite_error(rc);
	sqlite3_finalize(sel);
	sel = NULL;
	if (!rc) {
		sqlite3_finalize(upd);
		upd = NULL;
		rc = sync_prepare(db, "UPDATE sync_state SET value=?1 WHERE key='hlc'", &upd);
		if (!rc) {
			sqlite3_bind_int64(upd, 1, (sqlite3_int64)stamp);
			rc = relais_sqlite_error(sqlite3_step(upd));
		}
	}
	if (!rc)
		rc = sync_exec(db, "COMMIT");
out:
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	free(st);
	free(buf);
	if (rc)
		sync_rollback(db);
	else if (repaired)
		*repaired = n;
	return rc;
}
