/*
 * wire.h - the sync wire format.
 *
 * Every sync body (push request, pull response) is an envelope. Version 2
 * (SYNC_WIRE_VERSION, what is written):
 *
 *   offset size  field
 *   0      4     magic "RLSY"
 *   4      1     wire version: 2
 *   5      1     kind (enum sync_wire_kind)
 *   6      2     schema version of the replicated tables, big-endian
 *   8      1-4   length of the inflated payload, unsigned LEB128
 *   ..     4     CRC-32 of the inflated payload, big-endian
 *   ..     ...   the payload, one raw deflate stream (no zlib header nor
 *                Adler-32) made with the preset dictionary of wire.c
 *
 * Version 1 (still read, and written for clients that speak only it):
 * length as 4 bytes big-endian at offset 8, CRC at 12, a zlib stream at 16
 * with no dictionary. A lone edit's envelope is 9 to 12 bytes smaller in
 * version 2, and the dictionary saves what every payload repeats.
 *
 * The reader checks magic, version, declared length against its cap before
 * inflating, inflates at most the declared length (a zlib bomb stops there),
 * and checks that the stream ends exactly there and that the CRC matches.
 *
 * Payloads use unsigned LEB128 varints ("uv"), length-prefixed byte strings
 * ("bytes" = uv length + bytes) and fixed 8-byte big-endian integers ("u64").
 *
 * Push payload (client -> server):
 *   bytes node            the client's node id: 8 bytes big-endian (16 hex
 *                         digits from clients of wire version 1, still read)
 *   uv    count           number of items
 *   count x item:
 *     uv    seq           the client's outbox sequence number (strictly increasing)
 *     u64   hlc           when the edit was made
 *     bytes changeset     a SQLite session changeset (not a patchset)
 *
 * Pull payload (server -> client):
 *   u64   next_cursor     the cursor to ask from next time
 *   u64   server_hlc      the server's clock, for the client to observe
 *   uv    more            1 when more rows wait past next_cursor
 *   uv    count           number of records (the writer pads it to 10
 *                         bytes so it can patch it in place; readers
 *                         accept any varint of at most 10 bytes)
 *   count x record:
 *     bytes table
 *     bytes id
 *     uv    deleted       1: the row is deleted (no values follow)
 *     uv    ncols         number of values (all columns, in table order);
 *                         0 for a deleted row
 *     ncols x value:      uv type (SQLITE_INTEGER, _FLOAT, _TEXT, _BLOB, _NULL)
 *                         INTEGER: u64 (two's complement); FLOAT: u64 (IEEE bits);
 *                         TEXT/BLOB: bytes; NULL: nothing
 *
 * Sync answer payload (server -> client, POST /v1/sync: a push and the pull
 * page that follows it in one exchange):
 *   uv    acked           highest outbox seq of the node now applied
 *   uv    items           items applied by this request
 *   uv    changes         row changes applied
 *   uv    conflicts       conflict records created
 *   uv    restamped       items stamped again with the server clock
 *   ...                   a pull payload (above), to the end; it leaves out
 *                         the rows that the push wrote as the pusher holds
 *                         them (the cursor moves past them all the same)
 */
#ifndef RELAIS_SYNC_WIRE_H
#define RELAIS_SYNC_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include "../common/buf.h"
#include "../common/relais.h"
#include "hlc.h"

#define SYNC_WIRE_VERSION 2
#define SYNC_WIRE_HEADER 16             /* largest envelope header */
#define SYNC_WIRE_MAX_BODY (16u << 20)  /* largest compressed body accepted */
#define SYNC_WIRE_MAX_RAW (64u << 20)   /* largest inflated payload accepted */
/* Every answer of the sync API carries the server's wall clock (Unix time
 * in ms) in this header, so that a replica can tell when its own is off. */
#define SYNC_TIME_HEADER "X-Relais-Heure"

enum sync_wire_kind {
	SYNC_WIRE_PUSH = 1,
	SYNC_WIRE_PULL = 2,
	SYNC_WIRE_SYNC = 3     /* the answer of POST /v1/sync */
};

/* Compresses raw[0..rawlen) into an envelope of SYNC_WIRE_VERSION appended
 * to out (deflate level 6). RELAIS_EINVAL for an unknown kind or a schema
 * over 65535, RELAIS_ETOOBIG when rawlen is over SYNC_WIRE_MAX_RAW or out's
 * cap would be passed. On error out is left as it was. */
int sync_wire_seal(enum sync_wire_kind kind, unsigned schema,
		   const void *raw, size_t rawlen, struct buf *out) RELAIS_WUR;
/* The same in an envelope of the given version (1 or 2): relaisd answers a
 * client in the version it speaks (docs/protocol.md). The payload is the
 * same in both. */
int sync_wire_seal_version(enum sync_wire_kind kind, unsigned version, unsigned schema,
			   const void *raw, size_t rawlen, struct buf *out) RELAIS_WUR;

/*
 * Checks and inflates an envelope. On success the payload is appended to raw
 * (whose own cap also applies) and *kind, *schema are set.
 * Errors: RELAIS_ECORRUPT (bad magic, truncated, bad zlib, bad CRC, length
 * mismatch), RELAIS_EVERSION (unknown wire version), RELAIS_ETOOBIG (declared
 * or actual length over max_raw).
 * A stream that inflates past its declared length is ECORRUPT, or ETOOBIG
 * once its output passes max_raw (it is measured into a small scratch
 * buffer, never stored). Bytes after the end of the zlib stream: ECORRUPT.
 * On error raw is left as it was.
 * Note: the schema is returned, not checked; the caller compares it.
 */
int sync_wire_open(const void *body, size_t len, size_t max_raw,
		   enum sync_wire_kind *kind, unsigned *schema,
		   struct buf *raw) RELAIS_WUR;

/* ---- primitive codecs ---- */

/* Each put appends to b, or fails (RELAIS_ETOOBIG past b's cap, ENOMEM)
 * leaving b unchanged. */
int sync_put_uv(struct buf *b, uint64_t v) RELAIS_WUR;
int sync_put_u64(struct buf *b, uint64_t v) RELAIS_WUR;
int sync_put_bytes(struct buf *b, const void *p, size_t n) RELAIS_WUR;

/* A bounds-checked reader over a payload; every get fails with
 * RELAIS_ECORRUPT past the end and leaves the reader unchanged. */
struct sync_reader {
	const unsigned char *p;
	size_t len;
	size_t off;
};

static inline void sync_reader_init(struct sync_reader *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
}
/* Varints longer than 10 bytes or over 64 bits are RELAIS_ECORRUPT. */
int sync_get_uv(struct sync_reader *r, uint64_t *v) RELAIS_WUR;
int sync_get_u64(struct sync_reader *r, uint64_t *v) RELAIS_WUR;
/* *p points into the reader's memory. */
int sync_get_bytes(struct sync_reader *r, const unsigned char **p, size_t *n) RELAIS_WUR;

/* ---- push ---- */

struct sync_push_item {
	uint64_t seq;
	sync_hlc_t hlc;
	const unsigned char *changeset; /* points into the caller's (or the payload's) memory */
	size_t len;
};

/* Appends a push payload to raw. RELAIS_EINVAL when the seqs are not
 * strictly increasing. On error raw is left as it was. */
int sync_push_encode(uint64_t node, const struct sync_push_item *items, size_t n,
		     struct buf *raw) RELAIS_WUR;

struct sync_push {
	uint64_t node;
	size_t count;
	struct sync_push_item *items; /* malloc'd array; changesets point into the payload */
};

/* Decodes a push payload. Items must have strictly increasing seq
 * (RELAIS_ECORRUPT otherwise); more than max_items is RELAIS_ETOOBIG; a bad
 * node id, truncation or trailing bytes are RELAIS_ECORRUPT, and so is a
 * changeset that does not follow SQLite's changeset format (a patchset
 * included): SQLite 3.40 can loop forever on some malformed ones.
 * The caller calls sync_push_free(); items go stale when raw is freed.
 * On error *out is zeroed and holds nothing to free. */
int sync_push_decode(const void *raw, size_t len, size_t max_items,
		     struct sync_push *out) RELAIS_WUR;
void sync_push_free(struct sync_push *p);

/* The check sync_push_decode() applies to each changeset, for changesets
 * read from elsewhere (a damaged replica's outbox): 0 when p[0..n) follows
 * SQLite's changeset format exactly, else RELAIS_ECORRUPT. */
int sync_changeset_check(const void *p, size_t n) RELAIS_WUR;

/* ---- pull ---- */

struct sync_value {
	int type;               /* SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_TEXT, SQLITE_BLOB, SQLITE_NULL */
	int64_t i;
	double r;
	const unsigned char *p; /* TEXT/BLOB; not NUL-terminated; points into the payload */
	size_t n;
};

/* Writer: begin, add records, finish (which patches the header fields).
 * The payload starts at offset 0 of raw: begin refuses a non-empty raw
 * (RELAIS_EINVAL); add and finish refuse a raw that begin did not start.
 * A failed add leaves raw as it was (the record is not counted). */
int sync_pull_begin(struct buf *raw) RELAIS_WUR;
/* Adds a live row; values are read from columns 0..ncols-1 of stmt (the
 * table's columns in order, as from "SELECT * FROM t WHERE id=?"). */
int sync_pull_add_row(struct buf *raw, const char *table, const char *id,
		      void *stmt /* sqlite3_stmt * */, int ncols) RELAIS_WUR;
int sync_pull_add_deleted(struct buf *raw, const char *table, const char *id) RELAIS_WUR;
int sync_pull_finish(struct buf *raw, uint64_t next_cursor, sync_hlc_t server_hlc,
		     int more) RELAIS_WUR;

struct sync_pull_reader {
	struct sync_reader r;
	uint64_t next_cursor;
	sync_hlc_t server_hlc;
	int more;
	uint64_t count, done;
};

struct sync_pull_record {
	const unsigned char *table; size_t table_len;
	const unsigned char *id; size_t id_len;
	int deleted;
	size_t ncols;
	struct sync_value *values; /* owned by the reader's caller: see sync_pull_next */
};

/* Reads the header of a pull payload (RELAIS_ECORRUPT when truncated, when
 * more is not 0 or 1, or when count cannot fit in what remains). */
int sync_pull_open(struct sync_pull_reader *pr, const void *raw, size_t len) RELAIS_WUR;
/* Reads the next record into rec. values must hold max_cols entries; a
 * record with more columns fails with RELAIS_ECORRUPT. Returns 1 when a record
 * was read, 0 at the end, <0 on error (bytes after the last record are
 * RELAIS_ECORRUPT). rec's pointers point into the payload. */
int sync_pull_next(struct sync_pull_reader *pr, struct sync_pull_record *rec,
		   struct sync_value *values, size_t max_cols) RELAIS_WUR;

/* ---- sync answer ---- */

struct sync_answer {
	uint64_t acked, items, changes, conflicts, restamped;
};

/* Appends to raw the answer's fields followed by pull[0..pull_len) (a pull
 * payload). On error raw is left as it was. */
int sync_answer_encode(const struct sync_answer *a, const void *pull, size_t pull_len,
		       struct buf *raw) RELAIS_WUR;
/* Reads the answer's fields; *pull_off is where its pull payload starts
 * (read it with sync_pull_open or sync_apply_pull). RELAIS_ECORRUPT when
 * truncated. */
int sync_answer_decode(const void *raw, size_t len, struct sync_answer *a,
		       size_t *pull_off) RELAIS_WUR;

#endif
