/*
 * store.h - relaisd's authoritative SQLite store and its connections.
 *
 * The store is DIR/relais.db in WAL mode with synchronous=FULL. A running
 * daemon holds one write connection guarded by a mutex (every write of the
 * process goes through it, so SQLite never has to arbitrate between our own
 * writers) and a small pool of read-only connections, each lent to one
 * thread at a time. None of these may be used on the loop thread: callers
 * run in uv_queue_work work callbacks.
 */
#ifndef RELAIS_DAEMON_STORE_H
#define RELAIS_DAEMON_STORE_H

#include <stddef.h>
#include <sqlite3.h>
#include "../common/relais.h"
#include "../sync/sync.h"

#define STORE_FILE "relais.db"
/* Read connections: more than relaisd's threads that read at once (the
 * lane's, libuv's pool of 4, the mail gateway and the digest), so that no
 * request waits for a reader while a thread is free. */
#define STORE_READERS 16
#define STORE_BUSY_MS 10000
#define STORE_GROUP_MAX 128   /* pushes merged in one transaction at most */

struct store;

/* Returns 1 when DIR holds a store file, 0 otherwise. */
int store_exists(const char *dir);

/*
 * Creates DIR (mode 0700) if missing and brings DIR/relais.db to the current
 * schema: model tables, sync server tables, accounts. Safe on an existing
 * store (it migrates it). err receives a French message on failure.
 */
int store_init(const char *dir, char *err, size_t errlen) RELAIS_WUR;

/*
 * Opens an initialised store for serving: checks that it exists and is at
 * MODEL_SCHEMA_VERSION (RELAIS_ENOTFOUND, RELAIS_ESCHEMA with a French
 * message in err saying what to do), opens the writer and the readers and
 * loads the replicated tables. Free with store_close().
 */
int store_open(const char *dir, struct store **out, char *err, size_t errlen) RELAIS_WUR;
/*
 * How far ahead of the server's wall clock a pushed edit may be stamped
 * (sync_policy.max_skew_ms; store_open() sets SYNC_MAX_SKEW_MS), and brings
 * back a clock that a replica pushed past it before (sync_server_clock_repair,
 * *repaired as there). Also installs the model's checks of pushed values.
 */
int store_set_clock_skew(struct store *s, int64_t max_skew_ms, long long *repaired) RELAIS_WUR;
/* Closes every connection; no connection may be lent out. Accepts NULL. */
void store_close(struct store *s);

/*
 * Writes to relaisd's log (stderr), in French, a failure of the storage
 * under the store (rc one of RELAIS_EFULL, _EDISK, _EDAMAGED, _EACCESS):
 * what failed, the file's path and what the administrator should do. Does
 * nothing for any other rc. Any thread may call it.
 */
void store_log_failure(const struct store *s, const char *what, int rc);

/* The store's epoch (sync_server_epoch), read at open; immutable. */
const char *store_epoch(const struct store *s);

/* The data directory the store was opened from. */
const char *store_data_dir(const struct store *s);

/* The replicated tables; immutable, shared by every thread. */
const struct sync_tables *store_tables(const struct store *s);

/* Lends the write connection, blocking until it is free; give it back with
 * store_writer_release() on the same thread. */
sqlite3 *store_writer_acquire(struct store *s);
void store_writer_release(struct store *s);

/*
 * A push handed to group commit. The caller fills merge (who, push, err,
 * errlen, echo as for sync_merge_group) and the callbacks; the group fills
 * merge.rc and merge.res. Pushes that arrive while the writer is busy wait
 * together in a queue; the thread that finds no group running merges the
 * queue, group after group, each push in a savepoint of one transaction,
 * with one COMMIT and so one fsync per group. A push refused on its own is
 * rolled back alone. Once the group's COMMIT is durable (or failed: then
 * nothing of the group was written and every merge.rc says so), the thread
 * that merged it calls, for each push of the group:
 *  - committed(p, puller), while it still holds the writer: puller reads
 *    the store as committed, through the writer (whose pages no other
 *    connection's write has made stale); committed may be NULL;
 *  - done(p), once the writer is free again; from then on p is its
 *    caller's again.
 * Both run on whichever thread merged the group: the caller's own, or
 * another before or after store_push_async() returns. They must not take
 * the writer, and neither may the caller of store_push_async(), which may
 * merge.
 */
struct store_push_job {
	struct sync_merge_job merge;
	void (*committed)(struct store_push_job *p, struct sync_puller *puller);
	void (*done)(struct store_push_job *p);
	struct store_push_job *next;     /* the queue's */
};
void store_push_async(struct store *s, struct store_push_job *p);

/*
 * Merges a decoded push through group commit (sync_merge() semantics: same
 * return codes, French message in err) and returns once the COMMIT that
 * holds it is durable, or failed. Takes the writer like
 * store_writer_acquire(): never call it while holding the writer.
 */
int store_push(struct store *s, const struct sync_author *who, const struct sync_push *push,
	       struct sync_merge_result *res, char *err, size_t errlen) RELAIS_WUR;

/* What group commit did since store_open(). */
struct store_group_stats {
	unsigned long long groups;   /* transactions committed (or failed) by group commit */
	unsigned long long pushes;   /* pushes merged in them */
	size_t largest;              /* most pushes in one group */
};
/* Copies the counters; *queued (when not NULL) receives the number of pushes
 * waiting for a group right now. */
void store_group_stats(struct store *s, struct store_group_stats *out, size_t *queued);

/* A read-only connection and the statements kept prepared on it for the
 * answers relaisd gives most. */
struct store_reader {
	sqlite3 *db;
	struct sync_puller *puller;   /* pull pages (sync_puller_page) */
	sqlite3_stmt *accounts;       /* auth_lookup()'s statement */
};
/* Lends a reader, blocking while all are lent; its statements are reset
 * when it comes back. */
struct store_reader *store_reader_acquire(struct store *s);
void store_reader_release(struct store *s, struct store_reader *r);

/* Opens DIR/relais.db read-write with the store's pragmas, for a one-off
 * command (init, user add) in a process that does not serve. */
int store_open_single(const char *dir, sqlite3 **db, char *err, size_t errlen) RELAIS_WUR;


#endif
