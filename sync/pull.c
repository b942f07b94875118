/*
 * pull.c - pull pages: the current state of a département's rows changed
 * after a cursor, in server seq order (the pull payload of wire.h).
 *
 * A puller belongs to one connection and keeps prepared the statements a
 * page needs. relaisd answers thousands of pulls a second on a few read
 * connections: preparing the same statements again for each page cost more
 * than reading its rows.
 */
#include <stdlib.h>
#include <string.h>
#include "../common/util.h"
#include "sync.h"
#include "sync_int.h"
#include "wire.h"

/* The check of one table's rows against one hiding condition. */
struct hidden_check {
	char *cond;
	sqlite3_stmt *st;
	struct hidden_check *next;
};

struct sync_puller {
	sqlite3 *db;
	const struct sync_tables *t;
	sqlite3_stmt *begin, *commit, *rollback;
	sqlite3_stmt *state;          /* the server's state (SYNC_STATE_SQL) */
	sqlite3_stmt *rows;           /* the log of changed rows from a cursor */
	sqlite3_stmt **sel;           /* per table: a row's columns, made on first use */
	struct hidden_check **hid;    /* per table: the conditions met so far */
};

int sync_puller_new(sqlite3 *db, const struct sync_tables *t, struct sync_puller **out)
{
	struct sync_puller *p = calloc(1, sizeof(*p));
	int rc = RELAIS_ENOMEM;
	*out = NULL;
	if (!p)
		return rc;
	p->db = db;
	p->t = t;
	p->sel = calloc(t->n ? t->n : 1, sizeof(*p->sel));
	p->hid = calloc(t->n ? t->n : 1, sizeof(*p->hid));
	if (!p->sel || !p->hid)
		goto out;
	if ((rc = sync_prepare_kept(db, "BEGIN", &p->begin)) ||
	    (rc = sync_prepare_kept(db, "COMMIT", &p->commit)) ||
	    (rc = sync_prepare_kept(db, "ROLLBACK", &p->rollback)) ||
	    (rc = sync_prepare_kept(db, SYNC_STATE_SQL, &p->state)))
		goto out;
	rc = sync_prepare_kept(db, "SELECT tbl, id, deleted, seq FROM sync_row WHERE dept = ?1 "
			       "AND seq > ?2 ORDER BY seq LIMIT ?3", &p->rows);
out:
	if (rc)
		sync_puller_free(p);
	else
		*out = p;
	return rc;
}

void sync_puller_free(struct sync_puller *p)
{
	if (!p)
		return;
	for (size_t i = 0; p->sel && p->hid && i < p->t->n; i++) {
		sqlite3_finalize(p->sel[i]);
		for (struct hidden_check *h = p->hid[i], *next; h; h = next) {
			next = h->next;
			sqlite3_finalize(h->st);
			free(h->cond);
			free(h);
		}
	}
	free(p->sel);
	free(p->hid);
	sqlite3_finalize(p->begin);
	sqlite3_finalize(p->commit);
	sqlite3_finalize(p->rollback);
	sqlite3_finalize(p->state);
	sqlite3_finalize(p->rows);
	free(p);
}

/* The check of table ti's rows against cond, prepared on first use. */
static int hidden_check(struct sync_puller *p, size_t ti, const char *cond, sqlite3_stmt **out)
{
	struct hidden_check *h;
	for (h = p->hid[ti]; h; h = h->next)
		if (!strcmp(h->cond, cond)) {
			*out = h->st;
			return 0;
		}
	h = calloc(1, sizeof(*h));
	char *sql = sqlite3_mprintf("SELECT 1 FROM \"%w\" WHERE id = ?1 AND (%s)",
				    p->t->v[ti].name, cond);
	int rc = h && sql && (h->cond = strdup(cond)) ? sync_prepare_kept(p->db, sql, &h->st)
						       : RELAIS_ENOMEM;
	sqlite3_free(sql);
	if (rc) {
		if (h)
			free(h->cond);
		free(h);
		return rc;
	}
	h->next = p->hid[ti];
	p->hid[ti] = h;
	*out = h->st;
	return 0;
}

/* Whether row id of table ti is one hide keeps from the reader. */
static int row_hidden(struct sync_puller *p, size_t ti, const char *id,
		      const struct sync_hide *hide, int *hidden)
{
	sqlite3_stmt *st;
	*hidden = 0;
	const char *cond = hide && hide->where ? hide->where(hide->ctx, p->t->v[ti].name) : NULL;
	if (!cond)
		return 0;
	int rc = hidden_check(p, ti, cond, &st);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	*hidden = rc == SQLITE_ROW;
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : relais_sqlite_error(rc);
	sqlite3_reset(st);
	return rc;
}

/* Appends the live row id of table ti to raw. */
static int row_add(struct sync_puller *p, size_t ti, const char *tbl, const char *id,
		   struct buf *raw)
{
	if (!p->sel[ti]) {
		char *sql = sync_sql_select(&p->t->v[ti]);
		if (!sql)
			return RELAIS_ENOMEM;
		int rc = sync_prepare_kept(p->db, sql, &p->sel[ti]);
		sqlite3_free(sql);
		if (rc)
			return rc;
	}
	sqlite3_stmt *sel = p->sel[ti];
	sqlite3_bind_text(sel, 1, id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(sel);
	if (rc == SQLITE_ROW)
		rc = sync_pull_add_row(raw, tbl, id, sel, p->t->v[ti].ncols);
	else
		rc = rc == SQLITE_DONE ? RELAIS_ECORRUPT : relais_sqlite_error(rc);
	sqlite3_reset(sel);
	return rc;
}

/* The rows of the page, read by p->rows, appended to raw. */
static int page_rows(struct sync_puller *p, size_t limit, int live_only,
		     const struct sync_echo *echo, const struct sync_hide *hide, struct buf *raw,
		     uint64_t *cursor, int *more)
{
	sqlite3_stmt *q = p->rows;
	size_t n = 0;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *tbl = (const char *)sqlite3_column_text(q, 0);
		const char *id = (const char *)sqlite3_column_text(q, 1);
		int deleted = sqlite3_column_int(q, 2), hidden = 0, ti;
		uint64_t rseq = (uint64_t)sqlite3_column_int64(q, 3);
		if (sync_echo_has(echo, rseq)) {
			*cursor = rseq;
			continue;
		}
		if (n == limit) {
			*more = 1;
			return 0;
		}
		n++;
		*cursor = rseq;
		if (!tbl || !id || (ti = sync_tables_find(p->t, tbl)) < 0)
			return RELAIS_ESCHEMA;
		if (!deleted && (rc = row_hidden(p, (size_t)ti, id, hide, &hidden)))
			return rc;
		if (deleted || hidden)
			rc = live_only ? 0 : sync_pull_add_deleted(raw, tbl, id);
		else
			rc = row_add(p, (size_t)ti, tbl, id, raw);
		if (rc)
			return rc;
	}
	return relais_sqlite_error(rc == SQLITE_ROW ? SQLITE_OK : rc);
}

int sync_puller_page(struct sync_puller *p, const char *dept, uint64_t since, size_t limit,
		     int live_only, const struct sync_echo *echo, const struct sync_hide *hide,
		     struct buf *raw)
{
	uint64_t cursor = since, seq;
	sync_hlc_t hlc = 0;
	int rc, more = 0, began = 0;

	if (sqlite3_get_autocommit(p->db)) {
		rc = sync_run_kept(p->begin);
		if (rc)
			return rc;
		began = 1;
	}
	rc = sync_state_read(p->state, &seq, &hlc, NULL);
	if (rc)
		goto out;
	sqlite3_stmt *q = p->rows;
	sqlite3_bind_text(q, 1, dept, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, since > (uint64_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)since);
	/* One row more than asked tells whether another page waits; the rows
	 * echo leaves out do not count (a large push is not sent back, nor
	 * paged through). */
	size_t scan = limit;
	if (echo && scan < (size_t)INT64_MAX - echo->n)
		scan += echo->n;
	sqlite3_bind_int64(q, 3, scan >= (size_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)scan + 1);
	rc = sync_pull_begin(raw);
	if (!rc)
		rc = page_rows(p, limit, live_only, echo, hide, raw, &cursor, &more);
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	if (!rc)
		rc = sync_pull_finish(raw, cursor, hlc, more);
out:
	if (began) {
		int end = sync_run_kept(rc ? p->rollback : p->commit);
		if (!rc)
			rc = end;
	}
	return rc;
}

int sync_pull_build(sqlite3 *db, const struct sync_tables *t, const char *dept,
		    uint64_t since, size_t limit, int live_only, struct buf *raw)
{
	return sync_pull_build_echo(db, t, dept, since, limit, live_only, NULL, raw);
}

int sync_pull_build_echo(sqlite3 *db, const struct sync_tables *t, const char *dept,
			 uint64_t since, size_t limit, int live_only,
			 const struct sync_echo *echo, struct buf *raw)
{
	return sync_pull_build_hidden(db, t, dept, since, limit, live_only, echo, NULL, raw);
}

int sync_pull_build_hidden(sqlite3 *db, const struct sync_tables *t, const char *dept,
			   uint64_t since, size_t limit, int live_only, const struct sync_echo *echo,
			   const struct sync_hide *hide, struct buf *raw)
{
	struct sync_puller *p;
	int rc = sync_puller_new(db, t, &p);
	if (rc)
		return rc;
	rc = sync_puller_page(p, dept, since, limit, live_only, echo, hide, raw);
	sync_puller_free(p);
	return rc;
}
