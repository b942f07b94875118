/*
 * rgpd.h - the server's part of an erasure (prefix rgpd_): once a replica's
 * `relais rgpd effacer` has reached the store, the values that conflicts
 * kept of the erased columns and the raw messages of the erased senders go
 * too.
 */
#ifndef RELAIS_DAEMON_RGPD_H
#define RELAIS_DAEMON_RGPD_H

#include <sqlite3.h>
#include "../common/relais.h"
#include "../sync/sync.h"

struct rgpd_counts {
	long long conflicts;  /* conflict records emptied */
	long long archives;   /* raw messages deleted */
};

/*
 * Empties, on the store db (the writer, outside a transaction), the values
 * of conflicts about erased personal columns (a server write, replicated
 * like any other) and deletes the archived raw messages whose journal row
 * was erased, in one transaction. Running it again finds nothing. Returns 0
 * with *out filled, or a RELAIS_E* code (nothing changed).
 */
int rgpd_scrub(sqlite3 *db, const struct sync_tables *tables, struct rgpd_counts *out) RELAIS_WUR;

#endif
