/*
 * sync_int.h - internals shared by the files of sync/ (not for other modules).
 *
 * tables.c: the table set, SQL helpers, per-column clocks, value comparison
 * and the JSON form of values used by conflicts and tombstone images.
 */
#ifndef RELAIS_SYNC_INT_H
#define RELAIS_SYNC_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>
#include <jansson.h>
#include "../common/relais.h"
#include "hlc.h"

struct sync_table {
	char *name;
	int ncols;
	char **cols;           /* column names in table order; cols[0] = "id", cols[1] = "dept" */
};

struct sync_tables {
	size_t n;
	int max_cols;          /* largest ncols of the set */
	struct sync_table *v;
};

/* The conflict table, identical on server and clients (it is replicated). */
extern const char sync_conflict_ddl[];

/* The (HLC, node) of one write. */
struct sync_stamp {
	uint64_t hlc;
	uint64_t node;
};

static inline int sync_stamp_cmp(struct sync_stamp a, struct sync_stamp b)
{
	return sync_hlc_cmp(a.hlc, a.node, b.hlc, b.node);
}

/*
 * Clocks blob of sync_row: a row stamp (u64 hlc, u64 node, big-endian) that
 * applies to every column, then only the columns whose stamp differs, each as
 * a varint column index, u64 hlc and u64 node. The row stamp is column 0's
 * (the id is written once, at insert or restore), so a row never edited after
 * its insert costs 16 bytes.
 */
#define SYNC_CLOCKS_MAX(ncols) (16u + (size_t)(ncols) * 26u)
/* Encodes st[0..ncols) into out (SYNC_CLOCKS_MAX(ncols) bytes); returns the length. */
size_t sync_clocks_encode(const struct sync_stamp *st, int ncols, unsigned char *out);
/* Decodes a clocks blob into st[0..ncols). RELAIS_ECORRUPT on garbage. */
int sync_clocks_decode(const void *p, size_t n, int ncols, struct sync_stamp *st) RELAIS_WUR;

/* Runs SQL without results; RELAIS_E* on failure. */
int sync_exec(sqlite3 *db, const char *sql) RELAIS_WUR;
int sync_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st) RELAIS_WUR;
/* sync_prepare() for a statement kept from one use to the next (the merge's,
 * a puller's): SQLite is told so (SQLITE_PREPARE_PERSISTENT). */
int sync_prepare_kept(sqlite3 *db, const char *sql, sqlite3_stmt **st) RELAIS_WUR;
/* Runs a kept statement that answers no row (BEGIN, SAVEPOINT, COMMIT...)
 * and leaves it ready again. */
int sync_run_kept(sqlite3_stmt *st) RELAIS_WUR;

/* The server's state (server.c): seq, clock and node, read by a statement
 * of SYNC_STATE_SQL, reset after; node NULL when not wanted. RELAIS_ESCHEMA
 * when one is missing (sync_server_schema() never ran). */
#define SYNC_STATE_SQL "SELECT key, value FROM sync_state"
int sync_state_read(sqlite3_stmt *st, uint64_t *seq, sync_hlc_t *hlc, uint64_t *node) RELAIS_WUR;
/* Reads the one integer that sql answers (a negative one as 0);
 * RELAIS_ENOTFOUND when it answers no row. */
int sync_query_u64(sqlite3 *db, const char *sql, uint64_t *out) RELAIS_WUR;
/* Rolls back the open transaction, if any (error paths). */
void sync_rollback(sqlite3 *db);
/* Opens an IMMEDIATE transaction with a session attached to every table of t
 * (local edits on a client, the server's own writes). On failure nothing is
 * left open: no transaction, *s NULL. */
int sync_session_begin(sqlite3 *db, const struct sync_tables *t, sqlite3_session **s) RELAIS_WUR;

/*
 * A local transaction with its session: a client's captured edit
 * (struct sync_capture) and the server's own writes (struct sync_local) both
 * start with one. sync_txn_begin() allocates size bytes (at least a struct
 * sync_txn, zeroed) and opens the transaction and the session; on failure
 * *out is NULL and nothing is left open.
 */
struct sync_txn {
	sqlite3 *db;
	sqlite3_session *s;
};
int sync_txn_begin(sqlite3 *db, const struct sync_tables *t, size_t size,
		   void **out) RELAIS_WUR;
/* Takes the changeset of the session (sqlite3_free() *cs) and deletes the
 * session, so that the writes that follow are not captured. */
int sync_txn_changeset(struct sync_txn *x, int *n, void **cs) RELAIS_WUR;
/* Ends the transaction: COMMIT when rc is 0 (its failure is returned), else
 * rolls back; frees x (the whole struct that sync_txn_begin allocated). */
int sync_txn_end(struct sync_txn *x, int rc);

/* Table index by a name of n bytes (not NUL-terminated), or -1. */
int sync_tables_find_n(const struct sync_tables *t, const void *name, size_t n);

/* Builds "INSERT INTO t VALUES(?,…)" etc.; sqlite3_free() the result. NULL on ENOMEM. */
char *sync_sql_insert(const struct sync_table *tb, int or_replace);
char *sync_sql_select(const struct sync_table *tb);
char *sync_sql_delete(const struct sync_table *tb);

/* Same type and same bytes. Values are never NULL pointers here. */
int sync_value_equal(sqlite3_value *a, sqlite3_value *b);
/* JSON form of a value: integers and reals as numbers, text as a string,
 * blobs (and text that is not UTF-8) as a base64 string, NULL as null.
 * New reference, NULL on ENOMEM. */
json_t *sync_value_json(sqlite3_value *v);
/* Compact JSON text of j (any type); malloc'd, caller frees; NULL on ENOMEM. */
char *sync_json_text(const json_t *j);
/* Binds a JSON value to parameter idx, reversing sync_value_json (a base64
 * blob comes back as text). */
int sync_bind_json(sqlite3_stmt *st, int idx, const json_t *j) RELAIS_WUR;

#endif
