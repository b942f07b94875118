/*
 * replica.h - the client's home directory: a lock and the local replica.
 *
 * A home (mode 0700) holds replica.db (0600) and "lock". Every command holds
 * an exclusive flock on the lock for its whole run, so that a sync and an
 * edit never interleave. The database runs in WAL with synchronous=FULL: an
 * edit the coordinator saw saved survives a power cut.
 *
 * Metadata lives in sync_meta (sync_meta_get/set). Keys written by the
 * client: "server", "token", "login", "dept", "role", "last_sync" and
 * "init_done" ("1" once the bootstrap of init finished).
 *
 * The home may also hold "ca.pem" (REPLICA_CA_FILE): the certificate
 * authority the server's https certificate must chain to, copied there at
 * init from $RELAIS_CA (docs/tls.md). The home and replica.db hold the token
 * and personal data: replica_open refuses them when group or others may
 * enter or read them.
 */
#ifndef RELAIS_CLIENT_REPLICA_H
#define RELAIS_CLIENT_REPLICA_H

#include <stddef.h>
#include <jansson.h>
#include <sqlite3.h>
#include "../../common/relais.h"
#include "../../sync/sync.h"

struct replica {
	char *home;
	int lockfd;                  /* -1 when closed */
	sqlite3 *db;
	struct sync_tables *tables;  /* the model's tables, for capture and pull */
};

/* Size of the buffers that receive the French messages of the replica core
 * and of its callers (commands, pages). */
#define REPLICA_ERRLEN 1024

#define REPLICA_CREATE 0x1u /* init: create the home and the database if missing */
#define REPLICA_CA_FILE "ca.pem"
/* The lock file of the home, and who holds it (named in the wait message). */
#define REPLICA_LOCK_FILE "lock"
#define REPLICA_LOCK_WHO "lock.who"
/* The département's bootstrap file while it downloads (relais init). */
#define REPLICA_AMORCE_PART "amorce.part"

/*
 * Resolves the home directory: opt (from --dossier) when not NULL, else
 * $RELAIS_HOME, else $HOME/.relais. Returns a malloc'd string, or NULL when
 * none can be found (message in err) or on ENOMEM.
 */
char *replica_home(const char *opt, char *err, size_t errlen);

/*
 * Opens the replica of home into r: takes the lock (waiting a little while
 * another command holds it), opens and migrates the database, loads the
 * replicated tables. Without REPLICA_CREATE, a home whose init did not finish
 * is refused (RELAIS_ENOTFOUND), and so is a replica.db emptied or without
 * the client's tables (RELAIS_ENOTFOUND, err points at relais secours); a
 * damaged one gives RELAIS_EDAMAGED. A home or replica.db open to group or others
 * is refused (RELAIS_EPERM, the chmod to run in err). With REPLICA_CREATE and
 * net_ca() set, that CA file is copied into the home; whenever the home holds
 * one, it becomes the process's stored CA (net_set_stored_ca). On failure, r
 * is left closed and err holds a French explanation. Close with
 * replica_close().
 */
int replica_open(struct replica *r, const char *home, unsigned flags,
		 char *err, size_t errlen) RELAIS_WUR;
/*
 * Takes the lock of an existing home (and its stored CA) without opening its
 * database, for the commands that must work on a replica.db that
 * replica_open() refuses (verifier, secours). r->db stays NULL; release
 * with replica_close(). err holds a French message on failure.
 */
int replica_lock(struct replica *r, const char *home, char *err, size_t errlen) RELAIS_WUR;

/*
 * Releases everything and the lock. Accepts a closed or zeroed replica.
 * When SQLite met a failure of the storage since the replica was opened
 * (disk full, I/O error, damaged file, permissions, file busy), prints once
 * on stderr, in French and naming the file, what the person should do: the
 * command has already said what failed. replica_open() puts that advice in
 * err itself.
 */
void replica_close(struct replica *r);

/*
 * A long-lived user of the replica (relais ui) holds its lock only while it
 * works, so that the commands typed meanwhile run: release lets it go,
 * relock takes it again (waiting like replica_open for a command that
 * holds it; RELAIS_EBUSY with a French message naming the holder).
 * replica_set_holder() says who this process is ("relais ui"), written in
 * the lock file for a command left waiting.
 */
void replica_release(struct replica *r);
int replica_relock(struct replica *r, char *err, size_t errlen) RELAIS_WUR;
void replica_set_holder(const char *what);

/*
 * The French message for the last error of db (relais_sqlite_errmsg), to
 * print where a command reports a failed statement; also notes a failure of
 * the storage for replica_close(). Valid until the next call on db.
 */
const char *replica_errmsg(sqlite3 *db);

/* Reads a metadata value; *val is malloc'd (caller frees), or NULL when the
 * key is unset. */
int replica_meta(struct replica *r, const char *key, char **val) RELAIS_WUR;

/* Returns 1 when the account of this replica may only read (role caf). */
int replica_read_only(struct replica *r);

/*
 * Builds a JSON object of the current row of st: one member per result
 * column, in order; integers as numbers, NULL as null, text as strings.
 * Returns a new reference, or NULL on ENOMEM or text that is not UTF-8.
 */
json_t *replica_row_json(sqlite3_stmt *st);

/*
 * Steps st to its end, handing each row to fn(st, arg), and finalizes it.
 * Returns 0, the first non-zero value of fn (the walk stops there), or
 * RELAIS_EDB when a step fails.
 */
int replica_rows(sqlite3_stmt *st, int (*fn)(sqlite3_stmt *st, void *arg), void *arg) RELAIS_WUR;

/* Length of a date "YYYY-MM-DD". */
#define REPLICA_DATE_LEN 10

/* Writes today's local date as YYYY-MM-DD into out ("1970-01-01" when the
 * clock cannot be read). */
void replica_today(char out[REPLICA_DATE_LEN + 1]);

/*
 * Prepares sql on db into *st and binds its parameters from the variadic
 * list: for each character of types, 't' a const char * (NULL binds NULL)
 * or 'i' a long long; values past the statement's last parameter are
 * ignored, so statements sharing one parameter list may use only its first
 * ones. Returns 0 (the caller finalizes *st) or a RELAIS_E* code (*st NULL).
 */
int replica_prepare(sqlite3 *db, sqlite3_stmt **st, const char *sql, const char *types, ...)
	RELAIS_WUR;

/* Runs one write as replica_prepare() binds it; *changes (when not NULL)
 * receives the rows it changed. Returns 0 or a RELAIS_E* code. */
int replica_run(sqlite3 *db, int *changes, const char *sql, const char *types, ...) RELAIS_WUR;

#endif
