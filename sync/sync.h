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
};

struct sync_merge_result {
	uint64_t acked;      /* highest outbox seq of this node now applied */
	size_t items;        /* items applied by this call (0 for a pure retry) */
	size_t changes;      /* row changes applied */
	size_t conflicts;    /* conflict records created */
	sync_hlc_t server_hlc;
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

/* One push of a group merged by sync_merge_group(): the caller fills the
 * first four fields; the group fills rc (what sync_merge() would return),
 * res (valid when rc is 0) and err (a French message when rc is not 0). */
struct sync_merge_job {
	const struct sync_author *who;
	const struct sync_push *push;
	char *err;
	size_t errlen;
	int rc;
	struct sync_merge_result res;
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

/*
 * Appends to raw a pull payload (see wire.h) holding, in server seq order,
 * the current state of at most limit rows of dept changed after since.
 * live_only (bootstrap snapshot) leaves deleted rows out.
 * Runs in one read transaction of its own.
 */
int sync_pull_build(sqlite3 *db, const struct sync_tables *t, const char *dept,
		    uint64_t since, size_t limit, int live_only, struct buf *raw) RELAIS_WUR;

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
 * RELAIS_ENOTFOUND when unset. Keys used by sync/: "node", "cursor", "hlc". */
int sync_meta_get(sqlite3 *db, const char *key, char **val) RELAIS_WUR;
int sync_meta_set(sqlite3 *db, const char *key, const char *val) RELAIS_WUR;

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
 * replica ever gave (from SQLite's sequence, else the items'). Returns 0 when
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

#endif
