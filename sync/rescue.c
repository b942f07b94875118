/*
 * rescue.c - what a client needs when its replica file is damaged: read what
 * is left of the outbox, check the client's sync tables, and put pending
 * edits back into a replica rebuilt from the server.
 *
 * The server skips every item of a node whose seq is not above what it
 * acknowledged (docs/sync.md). A rebuilt replica therefore keeps the old
 * node id, the items' own seqs, and an outbox sequence past every seq the
 * node ever used: a new edit numbered like an acknowledged one would be
 * dropped silently by the server.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../common/util.h"
#include "sync.h"
#include "sync_int.h"

static int push_item(struct sync_outbox *o, size_t *cap, sqlite3_stmt *st)
{
	size_t n = (size_t)sqlite3_column_bytes(st, 2);
	if (o->count == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct sync_push_item *it = realloc(o->items, ncap * sizeof(*it));
		if (!it)
			return RELAIS_ENOMEM;
		o->items = it;
		*cap = ncap;
	}
	unsigned char *p = malloc(n ? n : 1);
	if (!p)
		return RELAIS_ENOMEM;
	if (n)
		memcpy(p, sqlite3_column_blob(st, 2), n);
	struct sync_push_item *it = &o->items[o->count++];
	it->seq = (uint64_t)sqlite3_column_int64(st, 0);
	it->hlc = (sync_hlc_t)sqlite3_column_int64(st, 1);
	it->changeset = p;
	it->len = n;
	return 0;
}

int sync_outbox_salvage(sqlite3 *db, struct sync_outbox *out, int *node_ok, uint64_t *last_seq)
{
	sqlite3_stmt *st = NULL;
	char *node = NULL;
	size_t cap = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	*node_ok = 0;
	*last_seq = 0;
	if (sync_meta_get(db, "node", &node) == 0 && sync_node_parse(node, &out->node) == 0)
		*node_ok = 1;
	free(node);
	/* Unreadable: the items' own seqs are then the best floor there is. */
	if (sync_query_u64(db, "SELECT seq FROM sqlite_sequence WHERE name = 'sync_outbox'", last_seq))
		*last_seq = 0;
	/* Items set aside left the outbox but kept their numbers. */
	uint64_t refused = 0;
	if (sync_query_u64(db, "SELECT max(seq) FROM sync_refused", &refused) == 0 && refused > *last_seq)
		*last_seq = refused;
	rc = sync_prepare(db, "SELECT seq, hlc, changeset FROM sync_outbox ORDER BY seq", &st);
	if (rc)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((rc = push_item(out, &cap, st)))
			break;
	if (rc == SQLITE_DONE)
		rc = 0;
	else if (rc > 0)
		rc = relais_sqlite_error(rc);
	sqlite3_finalize(st);
	for (size_t i = 0; i < out->count; i++)
		if (out->items[i].seq > *last_seq)
			*last_seq = out->items[i].seq;
	return rc;
}

/* Reads a changeset to its end; 0 when every change names a table of t (any
 * table when t is NULL) with its column count. */
static int changeset_readable(const struct sync_push_item *it, const struct sync_tables *t)
{
	sqlite3_changeset_iter *iter = NULL;
	int rc;

	/* A damaged file may hold any bytes here. */
	if (it->len == 0 || it->len > (size_t)INT32_MAX || sync_changeset_check(it->changeset, it->len) ||
	    sqlite3changeset_start(&iter, (int)it->len, (void *)it->changeset) != SQLITE_OK)
		return RELAIS_ECORRUPT;
	while ((rc = sqlite3changeset_next(iter)) == SQLITE_ROW) {
		const char *tab;
		int ncol, op, indirect, ti;
		if (sqlite3changeset_op(iter, &tab, &ncol, &op, &indirect) != SQLITE_OK) {
			rc = SQLITE_CORRUPT;
			break;
		}
		if (t && ((ti = sync_tables_find(t, tab)) < 0 || sync_tables_ncols(t, (size_t)ti) != ncol)) {
			sqlite3changeset_finalize(iter);
			return RELAIS_ESCHEMA;
		}
	}
	if (sqlite3changeset_finalize(iter) != SQLITE_OK || rc != SQLITE_DONE)
		return RELAIS_ECORRUPT;
	return 0;
}

static void reportf(void (*report)(void *, const char *), void *arg, int *problems,
		    const char *fmt, ...) RELAIS_PRINTF(4, 5);

static void reportf(void (*report)(void *, const char *), void *arg, int *problems,
		    const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(*problems)++;
	if (report)
		report(arg, msg);
}

static void check_meta_number(sqlite3 *db, const char *key, const char *label,
			      void (*report)(void *, const char *), void *arg, int *problems)
{
	char *v = NULL;
	long long n;
	int rc = sync_meta_get(db, key, &v);
	if (rc == RELAIS_ENOTFOUND)
		return;
	if (rc)
		reportf(report, arg, problems, "%s illisible : %s.", label, relais_strerror(rc));
	else if (util_parse_ll(v, 0, INT64_MAX, &n))
		reportf(report, arg, problems, "%s invalide : « %.40s ».", label, v);
	free(v);
}

int sync_client_check(sqlite3 *db, const struct sync_tables *t,
		      void (*report)(void *arg, const char *msg), void *arg)
{
	struct sync_outbox ob;
	uint64_t node, last_seq, prev = 0;
	char *v = NULL;
	int problems = 0, node_ok;

	int rc = sync_meta_get(db, "node", &v);
	if (rc)
		reportf(report, arg, &problems, "identifiant du réplica (node) %s.",
			rc == RELAIS_ENOTFOUND ? "absent" : relais_strerror(rc));
	else if (sync_node_parse(v, &node))
		reportf(report, arg, &problems, "identifiant du réplica (node) invalide : « %.40s ».", v);
	free(v);
	check_meta_number(db, "hlc", "horloge du réplica (hlc)", report, arg, &problems);
	check_meta_number(db, "cursor", "curseur de synchronisation (cursor)", report, arg, &problems);

	rc = sync_outbox_salvage(db, &ob, &node_ok, &last_seq);
	if (rc)
		reportf(report, arg, &problems, "modifications en attente (sync_outbox) illisibles "
			"après la n° %zu : %s.", ob.count, relais_strerror(rc));
	for (size_t i = 0; i < ob.count; i++) {
		const struct sync_push_item *it = &ob.items[i];
		int e = changeset_readable(it, t);
		if (it->seq <= prev || it->hlc == 0)
			reportf(report, arg, &problems, "modification en attente n° %llu : numéro ou "
				"horloge invalide.", (unsigned long long)it->seq);
		else if (e == RELAIS_ESCHEMA)
			reportf(report, arg, &problems, "modification en attente n° %llu : table ou "
				"colonnes inconnues de ce réplica.", (unsigned long long)it->seq);
		else if (e)
			reportf(report, arg, &problems, "modification en attente n° %llu : contenu "
				"illisible.", (unsigned long long)it->seq);
		prev = it->seq;
	}
	sync_outbox_free(&ob);
	return problems;
}

/* A pending edit is newer than anything the server sent (the server has not
 * seen it yet): it goes over what the snapshot holds. A change whose row is
 * gone or that breaks a rule is left out here; the server decides about it
 * when the edit is pushed (a deleted row becomes a conflict). */
static int on_conflict(void *ctx, int kind, sqlite3_changeset_iter *it)
{
	(void)ctx;
	(void)it;
	return kind == SQLITE_CHANGESET_DATA || kind == SQLITE_CHANGESET_CONFLICT
		       ? SQLITE_CHANGESET_REPLACE
		       : SQLITE_CHANGESET_OMIT;
}

static int queue_item(sqlite3 *db, const struct sync_push_item *it)
{
	sqlite3_stmt *st = NULL;
	int rc = sync_prepare(db, "INSERT INTO sync_outbox(seq, hlc, changeset) VALUES(?1, ?2, ?3)", &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)it->seq);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)it->hlc);
	sqlite3_bind_blob(st, 3, it->changeset, (int)it->len, SQLITE_STATIC);
	rc = relais_sqlite_error(sqlite3_step(st));
	sqlite3_finalize(st);
	return rc;
}

/* Moves the AUTOINCREMENT sequence of the outbox to at least floor. */
static int raise_sequence(sqlite3 *db, uint64_t floor)
{
	sqlite3_stmt *st = NULL;
	int rc = sync_prepare(db, "UPDATE sqlite_sequence SET seq = max(seq, ?1) "
			      "WHERE name = 'sync_outbox'", &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)floor);
	rc = relais_sqlite_error(sqlite3_step(st));
	sqlite3_finalize(st);
	if (rc || sqlite3_changes(db) > 0)
		return rc;
	rc = sync_prepare(db, "INSERT INTO sqlite_sequence(name, seq) VALUES('sync_outbox', ?1)", &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)floor);
	rc = relais_sqlite_error(sqlite3_step(st));
	sqlite3_finalize(st);
	return rc;
}

int sync_outbox_restore(sqlite3 *db, const struct sync_tables *t, uint64_t node,
			const struct sync_push_item *items, size_t n, uint64_t last_seq)
{
	uint64_t pending = 0, hlc = 0;
	char hex[17], *v = NULL;
	int rc;

	for (size_t i = 0; i < n; i++)
		if (items[i].seq == 0 || items[i].seq > (uint64_t)INT64_MAX ||
		    items[i].hlc > (uint64_t)INT64_MAX || items[i].len > (size_t)INT32_MAX ||
		    (i && items[i].seq <= items[i - 1].seq))
			return RELAIS_EINVAL;
	/* sqlite3changeset_apply() would skip a table it does not know without
	 * a word, and the edit would then be queued but missing here. */
	for (size_t i = 0; i < n; i++)
		if ((rc = changeset_readable(&items[i], t)))
			return rc;
	if (last_seq > (uint64_t)INT64_MAX)
		return RELAIS_EINVAL;
	rc = sync_exec(db, "BEGIN IMMEDIATE");
	if (rc)
		return rc;
	rc = sync_outbox_pending(db, &pending);
	if (!rc && pending)
		rc = RELAIS_EBUSY;
	if (rc)
		goto out;
	sync_node_format(node, hex);
	if ((rc = sync_meta_set(db, "node", hex)))
		goto out;
	for (size_t i = 0; i < n && !rc; i++) {
		/* No session is open: applying captures nothing. */
		int src = sqlite3changeset_apply(db, (int)items[i].len, (void *)items[i].changeset,
						 NULL, on_conflict, NULL);
		rc = src == SQLITE_OK ? queue_item(db, &items[i])
				      : src == SQLITE_CORRUPT || src == SQLITE_MISUSE
						? RELAIS_ECORRUPT : relais_sqlite_error(src);
		if (items[i].hlc > hlc)
			hlc = items[i].hlc;
		if (items[i].seq > last_seq)
			last_seq = items[i].seq;
	}
	if (!rc)
		rc = raise_sequence(db, last_seq);
	/* The replica's clock goes past every pending edit, so that an edit made
	 * after the rescue orders after them. */
	if (!rc && (rc = sync_meta_get(db, "hlc", &v)) == RELAIS_ENOTFOUND)
		rc = 0;
	if (!rc) {
		long long cur = 0;
		if (v && util_parse_ll(v, 0, INT64_MAX, &cur))
			cur = 0;
		if ((uint64_t)cur < hlc) {
			char s[24];
			snprintf(s, sizeof(s), "%llu", (unsigned long long)hlc);
			rc = sync_meta_set(db, "hlc", s);
		}
	}
	if (!rc)
		rc = sync_exec(db, "COMMIT");
out:
	free(v);
	if (rc)
		sync_rollback(db);
	return rc;
}

/* ---- edits set aside ---- */

void sync_refused_set_free(struct sync_refused_set *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->count; i++) {
		free((void *)r->v[i].item.changeset);
		free(r->v[i].reason);
		free(r->v[i].refused_at);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}

static char *column_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return strdup(t ? (const char *)t : "");
}

int sync_refused_salvage(sqlite3 *db, struct sync_refused_set *out)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = sync_prepare(db, "SELECT seq, hlc, changeset, reason, refused_at FROM sync_refused "
			  "ORDER BY seq", &st);
	if (rc)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (out->count == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			struct sync_refused_item *v = realloc(out->v, ncap * sizeof(*v));
			if (!v) {
				rc = RELAIS_ENOMEM;
				break;
			}
			out->v = v;
			cap = ncap;
		}
		struct sync_refused_item *it = &out->v[out->count];
		size_t n = (size_t)sqlite3_column_bytes(st, 2);
		unsigned char *p = malloc(n ? n : 1);
		char *reason = column_dup(st, 3), *at = column_dup(st, 4);
		if (!p || !reason || !at) {
			free(p);
			free(reason);
			free(at);
			rc = RELAIS_ENOMEM;
			break;
		}
		if (n)
			memcpy(p, sqlite3_column_blob(st, 2), n);
		it->item.seq = (uint64_t)sqlite3_column_int64(st, 0);
		it->item.hlc = (sync_hlc_t)sqlite3_column_int64(st, 1);
		it->item.changeset = p;
		it->item.len = n;
		it->reason = reason;
		it->refused_at = at;
		out->count++;
	}
	if (rc == SQLITE_DONE)
		rc = 0;
	else if (rc > 0)
		rc = relais_sqlite_error(rc);
	sqlite3_finalize(st);
	return rc;
}

int sync_refused_restore(sqlite3 *db, const struct sync_refused_set *r)
{
	sqlite3_stmt *st = NULL;
	int rc = sync_exec(db, "BEGIN IMMEDIATE");
	if (rc)
		return rc;
	rc = sync_prepare(db, "INSERT OR IGNORE INTO sync_refused(seq, hlc, changeset, reason, "
			  "refused_at) VALUES(?1, ?2, ?3, ?4, ?5)", &st);
	for (size_t i = 0; !rc && i < r->count; i++) {
		const struct sync_refused_item *it = &r->v[i];
		if (it->item.len > (size_t)INT32_MAX) {
			rc = RELAIS_EINVAL;
			break;
		}
		sqlite3_bind_int64(st, 1, (sqlite3_int64)it->item.seq);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)it->item.hlc);
		sqlite3_bind_blob(st, 3, it->item.changeset, (int)it->item.len, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, it->reason, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, it->refused_at, -1, SQLITE_STATIC);
		rc = relais_sqlite_error(sqlite3_step(st));
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	if (!rc)
		rc = sync_exec(db, "COMMIT");
	if (rc)
		sync_rollback(db);
	return rc;
}
