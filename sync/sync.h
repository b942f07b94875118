/*
 * sync.h - the replication engine, shared by relaisd and relais.
 *
 * sync/ knows nothing of promeneurs: it replicates the tables it is given,
 * which must follow the schema rules of docs/sync.md (a text UUID primary key
 * "id" as first column, a "dept" column as second, no other unique key).
 *
 * Server side: sync_merge() merges the changesets a client pushed, per
 * column, in HLC order, keeping a conflict record (a replicated row of table
 * sync_conflict) for every concurrent edit it overwrote or refused;
 * sync_pull_build() answers pulls from a cursor with the latest state of each
 * changed row; sync_local_*() records the server's own writes.
 *
 * Client side: sync_capture_*() wraps a local transaction in a session and
 * queues its changeset in the outbox with its HLC; sync_outbox_*() feed the
 * push; sync_apply_pull() writes a pulled page and advances the cursor in
 * one transaction; sync_conflict_resolve() settles a conflict as a new edit.
 */
#ifndef RELAIS_SYNC_H
#define RELAIS_SYNC_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>
#include <jansson.h>
#include "../common/buf.h"
#include "../common/relais.h"
#include "hlc.h"
#include "wire.h"

/* The conflict table, replicated like a domain table. */
#define SYNC_CONFLICT_TABLE "sync_conflict"

/* ---- replicated tables ---- */

struct sync_tables; /* opaque: names and column names of the replicated tables */

/*
 * Reads the column lists of the named tables from db (PRAGMA table_info) and
 * checks the schema rules; sync_conflict is always added, so call this after
 * sync_server_schema() or sync_client_schema(). The caller frees the result
 * with sync_tables_free(). RELAIS_ESCHEMA when a table is missing or breaks a
 * rule (first column "id" TEXT PRIMARY KEY, second "dept" NOT NULL, no other
 * key column, no other UNIQUE index). The result is immutable: threads may
 * share it.
 */
int sync_tables_load(sqlite3 *db, const char *const *names, size_t n,
		     struct sync_tables **out) RELAIS_WUR;
void sync_tables_free(struct sync_tables *t);
size_t sync_tables_count(const struct sync_tables *t);
const char *sync_tables_name(const struct sync_tables *t, size_t i);
/* Number of columns of table i and name of its column j. */
int sync_tables_ncols(const struct sync_tables *t, size_t i);
const char *sync_tables_col(const struct sync_tables *t, size_t i, int j);
/* Index of a table by name, or -1. */
int sync_tables_find(const struct sync_tables *t, const char *name);

/* ---- server ---- */

/* Creates the server's sync tables (sync_row, sync_node, sync_state and
 * sync_conflict) if missing, and the server's node id and clock. */
int sync_server_schema(sqlite3 *db) RELAIS_WUR;

/*
 * The store's epoch: 16 hex digits, random, that change when the store is
 * replaced by a backup (relaisd restore). A replica records it and sends it
 * with every exchange, so that a server that went back in time is noticed
 * instead of silently skipping changes past the replica's cursor. Reads it
 * into out, creating it first when missing or when renew is 1 (one
 * statement each, in the caller's transaction if any).
 */
#define SYNC_EPOCH_LEN 16
int sync_server_epoch(sqlite3 *db, int renew, char out[SYNC_EPOCH_LEN + 1]) RELAIS_WUR;

struct sync_author {
	const char *login;  /* account name, shown in conflicts */
	const char *dept;   /* the only département this author may write */
	const char *role;   /* the account's role, handed to the policy as it is; NULL: none */
};

struct sync_merge_result {
	uint64_t acked;      /* highest outbox seq of this node now applied */
	size_t items;        /* items applied by this call (0 for a pure retry) */
	size_t changes;      /* row changes applied */
	size_t conflicts;    /* conflict records created */
	size_t restamped;    /* items whose clock was past the bound (see sync_policy) */
	sync_hlc_t server_hlc;
	/* An item refused for good: its seq (0 when none) and why
	 * (RELAIS_EPERM, _EINVAL, _ECONSTRAINT, _ECORRUPT, _ESCHEMA), the
	 * French reason in the job's err. The items before it are applied and
	 * acknowledged (acked), the ones after it are not looked at: the
	 * client sets the refused one aside and pushes the rest again. */
	uint64_t refused_seq;
	int refused_rc;
};

/*
 * What the server lets a replica write, beyond the rules sync/ enforces
 * itself (département of every row, no change of it, schema of each change,
 * and sync_conflict: created by the server only, a replica may only settle
 * one). Set on a merger with sync_merger_set_policy(); a zeroed policy
 * checks no value, lets every table be written and bounds clocks by
 * SYNC_MAX_SKEW_MS.
 */
#define SYNC_MAX_SKEW_MS (5 * 60 * 1000)
struct sync_policy {
	/* How far past the server's wall clock an edit's HLC may be; an item
	 * stamped later is stamped again with the server clock on arrival, so
	 * that no replica can move the clock that every other one observes
	 * further than this. 0: SYNC_MAX_SKEW_MS. */
	int64_t max_skew_ms;
	/* Whether a replica of an account of role (the author's, NULL for
	 * none) may make this write: op SQLITE_INSERT or SQLITE_DELETE of a row
	 * (col NULL), or SQLITE_UPDATE of column col. 1 allows. NULL allows
	 * everything. */
	int (*may_write)(void *ctx, const char *role, const char *table, int op, const char *col);
	/* Checks a value a replica writes into column col (never "id" or
	 * "dept", which sync/ checks) of table: 0, or RELAIS_EINVAL with a
	 * French reason in err. NULL accepts every value. */
	int (*check_value)(void *ctx, const char *table, const char *col, sqlite3_value *v,
			   char *err, size_t errlen);
	void *ctx;
};

/*
 * Merges a decoded push in one IMMEDIATE transaction. Items whose seq is not
 * above the node's acknowledged seq are skipped (a retry applies nothing
 * twice). The whole push is refused and nothing is written when a change:
 * names a table that is not replicated or a column count that differs
 * (RELAIS_ESCHEMA), touches a row of another département or moves a row to
 * another one (RELAIS_EPERM), breaks a constraint (RELAIS_ECONSTRAINT), or
 * cannot be read (RELAIS_ECORRUPT). err receives a French explanation.
 * The node must belong to who->login (RELAIS_EPERM otherwise).
 */
int sync_merge(sqlite3 *db, const struct sync_tables *t, const struct sync_author *who,
	       const struct sync_push *push, struct sync_merge_result *res,
	       char *err, size_t errlen) RELAIS_WUR;

/*
 * The rows of a push whose merged state the pusher's replica holds already:
 * written by this push alone (no conflict, no column lost, no other change
 * since the pusher's pull cursor), or deleted by it. The answer to a sync
 * leaves them out of the pull page that follows the push, so an edit does
 * not come back to its author. The caller sets since (the pusher's cursor);
 * the merge fills seqs (ascending server seqs of those rows, malloc'd).
 * Free with sync_echo_release(); seqs of a push that failed are dropped.
 */
struct sync_echo {
	uint64_t since;
	uint64_t *seqs;
	size_t n, alloc;
};
void sync_echo_release(struct sync_echo *e);
/* 1 when seq is one of e's (e may be NULL: 0). */
int sync_echo_has(const struct sync_echo *e, uint64_t seq);

/* One push of a group merged by sync_merge_group(): the caller fills the
 * first four fields (and echo when it wants it, else NULL); the group fills
 * rc (what sync_merge() would return), res (valid when rc is 0) and err (a
 * French message when rc is not 0). */
struct sync_merge_job {
	const struct sync_author *who;
	const struct sync_push *push;
	char *err;
	size_t errlen;
	int rc;
	struct sync_merge_result res;
	struct sync_echo *echo;
};

/*
 * Group commit: merges n pushes in one IMMEDIATE transaction and one COMMIT,
 * so that concurrent pushes share one fsync. Each job runs in a SAVEPOINT of
 * its own and is refused alone, nothing of it written, for any reason that
 * sync_merge() refuses a push; the others go on. Returns 0 when the COMMIT
 * is durable: then every job with rc 0 is applied and acknowledged. On an
 * error of the group itself (the transaction could not begin, was lost or
 * could not commit) nothing at all is written, every job gets rc != 0 and
 * that error is returned. sync_merge() is a group of one.
 */
int sync_merge_group(sqlite3 *db, const struct sync_tables *t, struct sync_merge_job *const *jobs,
		     size_t n) RELAIS_WUR;

/*
 * A merger keeps the merge's prepared statements on one connection from one
 * group to the next (a daemon makes one for its writer): run is
 * sync_merge_group() without preparing them again. The merger must be used
 * by one thread at a time, and freed before db is closed. t must outlive it.
 * free accepts NULL.
 */
struct sync_merger;
int sync_merger_new(sqlite3 *db, const struct sync_tables *t, struct sync_merger **out) RELAIS_WUR;
int sync_merger_run(struct sync_merger *m, struct sync_merge_job *const *jobs, size_t n) RELAIS_WUR;
void sync_merger_free(struct sync_merger *m);
/* Sets the policy of the merges run by m (copied). */
void sync_merger_set_policy(struct sync_merger *m, const struct sync_policy *p);

/*
 * Brings back a server clock that a replica pushed past now + max_skew_ms
 * before such edits were stamped again (a store made by an older release):
 * the server clock and every column stamp past the bound become now, so
 * that the next honest edit wins again. Cheap when the clock is sane (one
 * read); otherwise one pass over sync_row in one transaction. *repaired
 * (may be NULL) gets the number of rows whose stamps changed, or -1 when
 * the clock was sane.
 */
int sync_server_clock_repair(sqlite3 *db, int64_t max_skew_ms, long long *repaired) RELAIS_WUR;

/*
 * Appends to raw a pull payload (see wire.h) holding, in server seq order,
 * the current state of at most limit rows of dept changed after since.
 * live_only (bootstrap snapshot) leaves deleted rows out.
 * Runs in one read transaction of its own.
 */
int sync_pull_build(sqlite3 *db, const struct sync_tables *t, const char *dept,
		    uint64_t since, size_t limit, int live_only, struct buf *raw) RELAIS_WUR;
/* The same, leaving out the rows whose seq echo holds (the pusher's own,
 * see struct sync_echo); the cursor still moves past them. echo may be NULL. */
int sync_pull_build_echo(sqlite3 *db, const struct sync_tables *t, const char *dept,
			 uint64_t since, size_t limit, int live_only,
			 const struct sync_echo *echo, struct buf *raw) RELAIS_WUR;

/*
 * Rows a reader never receives, whatever their département holds: where()
 * gives, for a table, an SQL condition over its columns (NULL: none); a row
 * that meets it is sent as deleted (left out with live_only), so that a
 * replica that held it before drops it. sync/ does not read the condition.
 */
struct sync_hide {
	const char *(*where)(void *ctx, const char *table);
	void *ctx;
};
/* sync_pull_build_echo() for a reader who must not receive what hide says
 * (hide may be NULL). */
int sync_pull_build_hidden(sqlite3 *db, const struct sync_tables *t, const char *dept,
			   uint64_t since, size_t limit, int live_only, const struct sync_echo *echo,
			   const struct sync_hide *hide, struct buf *raw) RELAIS_WUR;

/*
 * The same pages from a puller: one connection's pull statements, kept
 * prepared from one page to the next (a server answering many pulls keeps
 * one per read connection). Use it on that connection's thread only, and
 * free it before closing the connection.
 */
struct sync_puller;
int sync_puller_new(sqlite3 *db, const struct sync_tables *t, struct sync_puller **out) RELAIS_WUR;
int sync_puller_page(struct sync_puller *p, const char *dept, uint64_t since, size_t limit,
		     int live_only, const struct sync_echo *echo, const struct sync_hide *hide,
		     struct buf *raw) RELAIS_WUR;
/* Accepts NULL. */
void sync_puller_free(struct sync_puller *p);

/* Current server clock and highest seq of dept (for health and tests). */
int sync_server_state(sqlite3 *db, const char *dept, sync_hlc_t *hlc, uint64_t *seq) RELAIS_WUR;

/*
 * Server-side writes (demo data, admin commands, the mail gateway): begin
 * opens an IMMEDIATE transaction with a session on the replicated tables;
 * the caller writes with plain SQL on db; commit stamps every changed row
 * with the server clock and a new seq, as if login had pushed it, and
 * commits. abort rolls back. Both free l.
 */
struct sync_local;
int sync_local_begin(sqlite3 *db, const struct sync_tables *t, struct sync_local **l) RELAIS_WUR;
int sync_local_commit(struct sync_local *l, const char *login) RELAIS_WUR;
void sync_local_abort(struct sync_local *l);

/* ---- client ---- */

/* Creates the client's sync tables (sync_meta, sync_outbox, sync_conflict)
 * if missing and gives the replica a node id. */
int sync_client_schema(sqlite3 *db) RELAIS_WUR;

/* Client metadata, a key-value table. get: *val is malloc'd, caller frees;
 * RELAIS_ENOTFOUND when unset. Keys used by sync/: "node", "cursor", "hlc",
 * "clock_offset". */
int sync_meta_get(sqlite3 *db, const char *key, char **val) RELAIS_WUR;
int sync_meta_set(sqlite3 *db, const char *key, const char *val) RELAIS_WUR;

/*
 * The replica's clock. sync_meta_hlc_now() issues the stamp of a local edit
 * (in the caller's transaction); it refuses with RELAIS_ECLOCK when the wall
 * clock is more than SYNC_CLOCK_BEHIND_MS behind the last HLC the replica
 * issued or observed, since edits would then be stamped as if made at that
 * last moment. sync_client_clock() takes the server's wall clock read at an
 * exchange (server_ms, 0 when unknown) and this computer's (local_ms):
 * records local - server as "clock_offset" (ms), and brings back an HLC that
 * is past server_ms + max_skew_ms (0: SYNC_MAX_SKEW_MS) to server_ms, with
 * *fixed = 1: a replica holding a clock pushed far ahead recovers at its
 * next sync.
 */
#define SYNC_CLOCK_BEHIND_MS (60 * 60 * 1000)
int sync_meta_hlc_now(sqlite3 *db, sync_hlc_t *out) RELAIS_WUR;
int sync_client_clock(sqlite3 *db, int64_t server_ms, int64_t local_ms, int64_t max_skew_ms,
		      int *fixed) RELAIS_WUR;

/*
 * Local edits. begin opens an IMMEDIATE transaction with a session attached
 * to every replicated table; the caller writes with plain SQL; commit takes
 * the changeset, stamps it with a new HLC from the replica's clock, queues it
 * in sync_outbox and commits, all or nothing. An empty changeset queues
 * nothing. Both commit and abort free c.
 */
struct sync_capture;
int sync_capture_begin(sqlite3 *db, const struct sync_tables *t, struct sync_capture **c) RELAIS_WUR;
int sync_capture_commit(struct sync_capture *c) RELAIS_WUR;
void sync_capture_abort(struct sync_capture *c);

/* Pending outbox items, oldest first. */
struct sync_outbox {
	uint64_t node;
	size_t count;
	struct sync_push_item *items; /* changesets owned by the outbox */
};
/* Loads at most max_items items and about max_bytes of changesets (always at
 * least one item when any is pending). Free with sync_outbox_free(). */
int sync_outbox_load(sqlite3 *db, size_t max_items, size_t max_bytes,
		     struct sync_outbox *out) RELAIS_WUR;
void sync_outbox_free(struct sync_outbox *o);
/* Drops items with seq <= upto (the server acknowledged them). */
int sync_outbox_ack(sqlite3 *db, uint64_t upto) RELAIS_WUR;
int sync_outbox_pending(sqlite3 *db, uint64_t *count) RELAIS_WUR;

/*
 * An item the server refused for good (a 403 or 422 naming its seq): moved
 * from the outbox to sync_refused(seq, hlc, changeset, reason, refused_at)
 * with the server's reason, and its effect on the replica undone (the
 * inverse changeset, applied without capture; rows edited since are put
 * back as the edit found them, and the next pull brings the server's
 * state), all in one transaction, so that later edits are pushed and pulls
 * go on. RELAIS_ENOTFOUND when seq is not in the outbox.
 */
int sync_outbox_set_aside(sqlite3 *db, uint64_t seq, const char *reason) RELAIS_WUR;
int sync_refused_count(sqlite3 *db, uint64_t *count) RELAIS_WUR;
/* Forgets refused item seq (0: all of them); RELAIS_ENOTFOUND for an unknown seq. */
int sync_refused_drop(sqlite3 *db, uint64_t seq) RELAIS_WUR;
/* Describes a changeset as a JSON array of {"table", "op" ("insert",
 * "update", "delete"), "id", "values": {column: new value}}; *out is a new
 * reference. RELAIS_ECORRUPT for an unreadable changeset. */
int sync_changeset_json(const struct sync_tables *t, const void *cs, size_t len,
			json_t **out) RELAIS_WUR;

struct sync_apply_result {
	uint64_t rows;       /* records applied */
	uint64_t cursor;     /* the new cursor */
	int more;            /* the server holds more past cursor */
};

/*
 * Applies a pulled page (the inflated payload) in one transaction that also
 * stores the new cursor and observes the server clock: an interrupted sync
 * leaves either the whole page or none of it. Refuses (RELAIS_EBUSY) while
 * the outbox holds pending edits, since a pulled row would hide them.
 */
int sync_apply_pull(sqlite3 *db, const struct sync_tables *t, const void *raw, size_t len,
		    struct sync_apply_result *res) RELAIS_WUR;

/*
 * Installs a bootstrap file (a SQLite file made by the server: each
 * replicated table's rows of dept, and an "amorce" table with the seq,
 * clock, schema and département they reflect) into a replica that holds
 * nothing yet: copies every table in one transaction, sets the cursor to
 * the file's seq and observes its clock. *rows gets the rows copied.
 * RELAIS_ESCHEMA when the file's schema or a table's columns differ,
 * RELAIS_ECORRUPT when it is not such a file or is of another département,
 * RELAIS_EBUSY when the replica already holds a cursor or pending edits.
 * In the same transaction, meta "amorce" becomes SYNC_BOOTSTRAP_DONE: a
 * replica so marked pulls on from its cursor and never installs again.
 */
#define SYNC_BOOTSTRAP_DONE "installee"
int sync_bootstrap_install(sqlite3 *db, const struct sync_tables *t, const char *path,
			   int schema, const char *dept, uint64_t *rows) RELAIS_WUR;

/*
 * Settles conflict id: keep_lost = 0 keeps the value in place, 1 writes
 * back the value that lost (for a deletion conflict: restores the row with
 * the lost edits). Both record the resolution on the conflict row; all of it
 * is one captured local edit, synced like any other.
 * RELAIS_ENOTFOUND for an unknown id, RELAIS_EEXIST when already resolved.
 */
int sync_conflict_resolve(sqlite3 *db, const struct sync_tables *t, const char *id,
			  int keep_lost, const char *login) RELAIS_WUR;

/* ---- client: damaged replicas (relais verifier, relais secours) ---- */

/*
 * Reads what can still be read of the outbox of a replica that may be
 * damaged: the node id into out->node (*node_ok is 1 when it was read), the
 * pending items in seq order, and into *last_seq the highest outbox seq the
 * replica ever gave (from SQLite's sequence, the items' and those set aside
 * in sync_refused). Returns 0 when
 * every pending item was read, else the error that stopped the reading; out
 * then holds the items read before it. Free out with sync_outbox_free() in
 * both cases.
 */
int sync_outbox_salvage(sqlite3 *db, struct sync_outbox *out, int *node_ok,
			uint64_t *last_seq) RELAIS_WUR;

/*
 * Quick checks of the client's sync tables: a node id of 16 hex digits, the
 * clock and the cursor as numbers, every outbox item with an HLC and a
 * changeset that reads to its end and names tables of t with their column
 * count (any table when t is NULL). Calls report (when not NULL) with one
 * French sentence per problem; returns the number of problems.
 */
int sync_client_check(sqlite3 *db, const struct sync_tables *t,
		      void (*report)(void *arg, const char *msg), void *arg);

/*
 * Puts pending edits saved from a damaged copy of this replica into a
 * replica rebuilt from the server, in one transaction: the replica takes
 * node as its node id; each item's changeset is applied to the local tables
 * (nothing captured; a pending edit goes over the snapshot's values, a
 * change whose row is gone is left to the server's merge) and queued in
 * sync_outbox with its own seq and hlc, so that the server's idempotence by
 * (node, seq) still holds; the outbox sequence moves past last_seq and the
 * items' seqs, and the replica clock past their HLCs. items must be in
 * increasing seq order. RELAIS_EBUSY when the outbox is not empty,
 * RELAIS_ESCHEMA / RELAIS_ECORRUPT for a changeset naming another table or
 * that cannot be read; nothing is written then.
 */
int sync_outbox_restore(sqlite3 *db, const struct sync_tables *t, uint64_t node,
			const struct sync_push_item *items, size_t n,
			uint64_t last_seq) RELAIS_WUR;

/* Edits set aside (sync_refused) read from a damaged replica, to carry them
 * into the rebuilt one: the person still has to read or drop them. */
struct sync_refused_item {
	struct sync_push_item item;  /* the changeset is owned */
	char *reason, *refused_at;
};
struct sync_refused_set {
	size_t count;
	struct sync_refused_item *v;
};
/* Reads sync_refused in seq order; on error, out holds the rows read before
 * it. Free with sync_refused_set_free() (accepts a zeroed set) in both
 * cases. */
int sync_refused_salvage(sqlite3 *db, struct sync_refused_set *out) RELAIS_WUR;
void sync_refused_set_free(struct sync_refused_set *r);
/* Writes the rows of r into sync_refused in one transaction (a seq already
 * there is kept as it is). Nothing is applied to the tables: their effect
 * was undone when they were set aside. */
int sync_refused_restore(sqlite3 *db, const struct sync_refused_set *r) RELAIS_WUR;

#endif
