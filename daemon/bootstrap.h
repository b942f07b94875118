/*
 * bootstrap.h - a new replica's first state as a finished SQLite file.
 *
 * For each département, relaisd keeps in <data>/amorces/ a SQLite file of
 * its live rows (every replicated table, rows in id order) with the server
 * seq and clock they reflect. A new replica downloads it in pieces (each
 * request names the file's seq and an offset, so a cut download resumes at
 * the byte where it stopped), checks its CRC-32 and copies its tables into
 * its own; then it pulls from the file's seq as usual. The file holds the
 * model's own table definitions, so that the replica's copy of each table is
 * SQLite's transfer of records and index entries, not row-by-row inserts.
 * Pieces travel deflated to a client that accepts it (a rural link is slow,
 * a database file compresses about 4x). The file is rebuilt
 * when the département changed since, in more than BOOTSTRAP_STALE_ROWS rows
 * or at all for BOOTSTRAP_MAX_AGE_S.
 */
#ifndef RELAIS_DAEMON_BOOTSTRAP_H
#define RELAIS_DAEMON_BOOTSTRAP_H

#include <stddef.h>
#include <stdint.h>
#include "../common/relais.h"
#include "store.h"

#define BOOTSTRAP_MAX_AGE_S 600
#define BOOTSTRAP_STALE_ROWS 200
#define BOOTSTRAP_CHUNK (16u << 20)   /* most bytes of one answer */
/* Files up to this size are deflated for clients that accept it: a
 * département's file (10^4 rows, a few MiB) costs milliseconds to deflate.
 * Past it (a national store of 10^6 rows) deflating costs the server about
 * 10 ms per MiB, more than a wired link, the only kind that fetches such a
 * file in useful time, would save. */
#define BOOTSTRAP_DEFLATE_MAX (64u << 20)

struct bootstrap_info {
	uint64_t seq;       /* the server seq the file reflects */
	uint64_t size;
	uint32_t crc;       /* CRC-32 (zlib) of the whole file */
};

/*
 * The bootstrap file of dept: when seq is NULL, the current one, built now
 * if there is none or it is stale; else the one of *seq, RELAIS_ENOTFOUND
 * when it is gone (a newer one replaced it). Safe from any thread; builds
 * are serialised.
 */
int bootstrap_get(struct store *s, const char *dept, const uint64_t *seq,
		  struct bootstrap_info *out) RELAIS_WUR;

/* Replaces the n bytes at *data (malloc'd) by their zlib stream (HTTP's
 * "Content-Encoding: deflate"); on error *data is left as it was. */
int bootstrap_deflate(char **data, size_t *n) RELAIS_WUR;

/* Reads at most max bytes of the file described by info from offset into a
 * malloc'd *data (*len bytes; 0 at the end). */
int bootstrap_read(struct store *s, const char *dept, const struct bootstrap_info *info,
		   uint64_t offset, size_t max, char **data, size_t *len) RELAIS_WUR;

#endif
