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
#define STORE_READERS 4
#define STORE_BUSY_MS 10000

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
/* Closes every connection; no connection may be lent out. Accepts NULL. */
void store_close(struct store *s);

/* The replicated tables; immutable, shared by every thread. */
const struct sync_tables *store_tables(const struct store *s);

/* Lends the write connection, blocking until it is free; give it back with
 * store_writer_release() on the same thread. */
sqlite3 *store_writer_acquire(struct store *s);
void store_writer_release(struct store *s);

/* Lends a read-only connection, blocking while all are lent. */
sqlite3 *store_reader_acquire(struct store *s);
void store_reader_release(struct store *s, sqlite3 *db);

/* Opens DIR/relais.db read-write with the store's pragmas, for a one-off
 * command (init, user add) in a process that does not serve. */
int store_open_single(const char *dir, sqlite3 **db, char *err, size_t errlen) RELAIS_WUR;


#endif
