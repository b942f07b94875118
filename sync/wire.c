/*
 * wire.c - the sync wire format (see wire.h).
 *
 * Everything read here comes from the network: every length is checked
 * against what remains before it is used, and nothing is allocated from a
 * declared size before that size has been checked against a cap.
 */
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <zlib.h>
#include "wire.h"

static const unsigned char wire_magic[4] = { 'R', 'L', 'S', 'Y' };

/* zlib counts in uInt; larger inputs are fed in slices of this size. */
#define WIRE_ZCHUNK ((size_t)1 << 30)
/* Output slice of the deflater, and scratch size used to measure a stream
 * that overruns its declared length. */
#define WIRE_OUTCHUNK 65536

/* Pull header: u64 next_cursor, u64 server_hlc, uv more (one byte), uv count
 * written as a padded 10-byte varint so that it can be patched in place. */
#define PULL_OFF_CURSOR 0
#define PULL_OFF_HLC 8
#define PULL_OFF_MORE 16
#define PULL_OFF_COUNT 17
#define PULL_COUNT_LEN 10
#define PULL_HEADER (PULL_OFF_COUNT + PULL_COUNT_LEN)

/* Smallest encodings, used to refuse counts the payload cannot hold before
 * allocating anything for them. */
#define PUSH_MIN_ITEM 10  /* uv seq + u64 hlc + uv length */
#define PULL_MIN_RECORD 4 /* uv table len + uv id len + uv deleted + uv ncols */

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (unsigned char)v;
		v >>= 8;
	}
}

static uint64_t get_be64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* Restores a buffer to an earlier length after a failed append sequence. */
static void buf_truncate(struct buf *b, size_t len)
{
	b->len = len;
	if (b->data)
		b->data[len] = 0;
}

static uint32_t wire_crc(const void *p, size_t n)
{
	return (uint32_t)crc32_z(crc32_z(0, Z_NULL, 0), p, n);
}

/* ---- envelope ---- */

/*
 * The preset dictionary of wire version 2: what every small payload of the
 * format holds whatever the tables (a pull header with its padded count, a
 * changeset's runs of "not given" and NULL values, a record's type bytes),
 * so that a lone edit's envelope does not pay for them. It knows no table:
 * sync/ is table-agnostic. Changing it is a new wire version.
 */
static const unsigned char wire_dict[] = {
	/* changeset runs: undefined values, NULLs, an UPDATE of text */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
	'T', 0x12, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	SQLITE_UPDATE, 0, 3, 0x24,
	/* a pull header: cursor, clock, more, count padded to 10 bytes */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00,
	/* a sync answer's counters, then a record: live, its values */
	1, 1, 1, 0, 0, 0, 0x11, 3, 2, 3, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
};

static int deflate_into(unsigned version, const void *raw, size_t rawlen, struct buf *out)
{
	unsigned char chunk[WIRE_OUTCHUNK];
	z_stream zs;
	int rc = 0, zrc;
	memset(&zs, 0, sizeof(zs));
	/* A window and hash no larger than the input: most payloads are a few
	 * hundred bytes, and the default state (~256 KiB, cleared at every
	 * init) would cost more than compressing them. Any inflater reads a
	 * stream made with a smaller window. */
	int wbits = 9, mem = 8;
	while (wbits < 15 && ((size_t)1 << wbits) < rawlen + sizeof(wire_dict))
		wbits++;
	if (wbits < 14)
		mem = wbits - 6;
	/* Version 2 writes raw deflate: its own header has the length and the
	 * CRC, zlib's header and Adler-32 would be 6 more bytes. */
	if (deflateInit2(&zs, 6, Z_DEFLATED, version >= 2 ? -wbits : wbits, mem,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return RELAIS_ENOMEM;
	if (version >= 2 && deflateSetDictionary(&zs, wire_dict, sizeof(wire_dict)) != Z_OK) {
		rc = RELAIS_ENOMEM;
		goto out;
	}
	const unsigned char *in = raw;
	size_t left = rawlen;
	do {
		if (zs.avail_in == 0 && left > 0) {
			size_t n = left < WIRE_ZCHUNK ? left : WIRE_ZCHUNK;
			zs.next_in = (unsigned char *)in;
			zs.avail_in = (uInt)n;
			in += n;
			left -= n;
		}
		zs.next_out = chunk;
		zs.avail_out = sizeof(chunk);
		zrc = deflate(&zs, left == 0 ? Z_FINISH : Z_NO_FLUSH);
		if (zrc == Z_STREAM_ERROR) {
			rc = RELAIS_EINVAL;
			goto out;
		}
		rc = buf_append(out, chunk, sizeof(chunk) - zs.avail_out);
		if (rc)
			goto out;
	} while (zrc != Z_STREAM_END);
out:
	deflateEnd(&zs);
	return rc;
}

int sync_wire_seal(enum sync_wire_kind kind, unsigned schema,
		   const void *raw, size_t rawlen, struct buf *out)
{
	return sync_wire_seal_version(kind, SYNC_WIRE_VERSION, schema, raw, rawlen, out);
}

int sync_wire_seal_version(enum sync_wire_kind kind, unsigned version, unsigned schema,
			   const void *raw, size_t rawlen, struct buf *out)
{
	unsigned char hdr[SYNC_WIRE_HEADER];
	size_t start = out->len, n;
	int rc;
	if (kind != SYNC_WIRE_PUSH && kind != SYNC_WIRE_PULL && kind != SYNC_WIRE_SYNC)
		return RELAIS_EINVAL;
	if (schema > 0xffff || version < 1 || version > SYNC_WIRE_VERSION)
		return RELAIS_EINVAL;
	/* No peer accepts more; failing here gives the sender a clear error. */
	if (rawlen > SYNC_WIRE_MAX_RAW)
		return RELAIS_ETOOBIG;
	memcpy(hdr, wire_magic, 4);
	hdr[4] = (unsigned char)version;
	hdr[5] = (unsigned char)kind;
	hdr[6] = (unsigned char)(schema >> 8);
	hdr[7] = (unsigned char)schema;
	if (version == 1) {
		put_be32(hdr + 8, (uint32_t)rawlen);
		n = 12;
	} else {
		n = 8;
		size_t v = rawlen;
		do {
			hdr[n++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
			v >>= 7;
		} while (v);
	}
	put_be32(hdr + n, wire_crc(raw, rawlen));
	rc = buf_append(out, hdr, n + 4);
	if (rc)
		goto out;
	rc = deflate_into(version, raw, rawlen, out);
out:
	if (rc)
		buf_truncate(out, start);
	return rc;
}

/* An inflater whose input may exceed what one uInt can describe. */
struct wire_inflater {
	z_stream zs;
	const unsigned char *in; /* input not yet handed to zlib */
	size_t left;
};

static int wire_inflate(struct wire_inflater *w)
{
	if (w->zs.avail_in == 0 && w->left > 0) {
		size_t n = w->left < WIRE_ZCHUNK ? w->left : WIRE_ZCHUNK;
		w->zs.next_in = (unsigned char *)w->in;
		w->zs.avail_in = (uInt)n;
		w->in += n;
		w->left -= n;
	}
	return inflate(&w->zs, Z_NO_FLUSH);
}

/*
 * The stream produced more than its declared length. Keep inflating into a
 * scratch buffer (memory stays bounded) to tell a stream that merely lies
 * about its length (ECORRUPT) from one that would inflate past max_raw
 * (ETOOBIG, a zlib bomb); work stops as soon as max_raw is passed.
 */
static int measure_overrun(struct wire_inflater *w, size_t declared, size_t max_raw)
{
	unsigned char scratch[WIRE_OUTCHUNK];
	uint64_t total = declared;
	for (;;) {
		w->zs.next_out = scratch;
		w->zs.avail_out = sizeof(scratch);
		int zrc = wire_inflate(w);
		total += sizeof(scratch) - w->zs.avail_out;
		if (total > max_raw)
			return RELAIS_ETOOBIG;
		if (zrc == Z_MEM_ERROR)
			return RELAIS_ENOMEM;
		if (zrc != Z_OK)
			return RELAIS_ECORRUPT;
	}
}

/* Inflates the zlib stream in[0..inlen) into exactly declared bytes at dst. */
static int inflate_exact(unsigned version, const unsigned char *in, size_t inlen,
			 unsigned char *dst, size_t declared, size_t max_raw)
{
	struct wire_inflater w;
	int rc = 0, zrc;
	memset(&w, 0, sizeof(w));
	if ((version >= 2 ? inflateInit2(&w.zs, -15) : inflateInit(&w.zs)) != Z_OK)
		return RELAIS_ENOMEM;
	if (version >= 2 && inflateSetDictionary(&w.zs, wire_dict, sizeof(wire_dict)) != Z_OK) {
		rc = RELAIS_ENOMEM;
		goto out;
	}
	w.in = in;
	w.left = inlen;
	w.zs.next_out = dst;
	w.zs.avail_out = (uInt)declared;
	for (;;) {
		zrc = wire_inflate(&w);
		if (zrc == Z_STREAM_END)
			break;
		if (zrc == Z_MEM_ERROR) {
			rc = RELAIS_ENOMEM;
			goto out;
		}
		if (zrc == Z_OK)
			continue;
		if (zrc == Z_BUF_ERROR && w.zs.avail_out == 0) {
			/* No room left and the stream is not over: it has
			 * more to give than declared, or it is truncated. */
			rc = measure_overrun(&w, declared, max_raw);
			goto out;
		}
		/* Z_BUF_ERROR with all input used: truncated stream;
		 * Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR: garbage. */
		rc = RELAIS_ECORRUPT;
		goto out;
	}
	if (w.zs.avail_out != 0 || w.zs.avail_in != 0 || w.left != 0)
		rc = RELAIS_ECORRUPT; /* ended early, or bytes after the stream */
out:
	inflateEnd(&w.zs);
	return rc;
}

int sync_wire_open(const void *body, size_t len, size_t max_raw,
		   enum sync_wire_kind *kind, unsigned *schema,
		   struct buf *raw)
{
	const unsigned char *b = body;
	size_t start = raw->len, off, declared = 0;
	int rc;
	if (len < 8 || memcmp(b, wire_magic, 4) != 0)
		return RELAIS_ECORRUPT;
	unsigned version = b[4];
	if (version < 1 || version > SYNC_WIRE_VERSION)
		return RELAIS_EVERSION;
	if (b[5] != SYNC_WIRE_PUSH && b[5] != SYNC_WIRE_PULL && b[5] != SYNC_WIRE_SYNC)
		return RELAIS_ECORRUPT;
	if (version == 1) {
		if (len < SYNC_WIRE_HEADER)
			return RELAIS_ECORRUPT;
		declared = get_be32(b + 8);
		off = 12;
	} else {
		/* At most 4 bytes: no payload reaches 2^28 (SYNC_WIRE_MAX_RAW). */
		for (off = 8;; off++) {
			if (off >= len || off == 12)
				return RELAIS_ECORRUPT;
			declared |= (size_t)(b[off] & 0x7f) << (7 * (off - 8));
			if (!(b[off] & 0x80))
				break;
		}
		off++;
		if (len - off < 4)
			return RELAIS_ECORRUPT;
	}
	uint32_t crc = get_be32(b + off);
	off += 4;
	if (declared > max_raw)
		return RELAIS_ETOOBIG;
	rc = buf_grow(raw, declared);
	if (rc)
		return rc;
	rc = inflate_exact(version, b + off, len - off, raw->data + start, declared, max_raw);
	if (rc)
		goto out;
	if (wire_crc(raw->data + start, declared) != crc) {
		rc = RELAIS_ECORRUPT;
		goto out;
	}
	raw->len = start + declared;
	raw->data[raw->len] = 0;
	*kind = (enum sync_wire_kind)b[5];
	*schema = (unsigned)b[6] << 8 | b[7];
out:
	if (rc)
		buf_truncate(raw, start);
	return rc;
}

/* ---- primitives ---- */

int sync_put_uv(struct buf *b, uint64_t v)
{
	unsigned char tmp[10];
	size_t n = 0;
	do {
		unsigned char byte = v & 0x7f;
		v >>= 7;
		tmp[n++] = v ? (unsigned char)(byte | 0x80) : byte;
	} while (v);
	return buf_append(b, tmp, n);
}

int sync_put_u64(struct buf *b, uint64_t v)
{
	unsigned char tmp[8];
	put_be64(tmp, v);
	return buf_append(b, tmp, sizeof(tmp));
}

int sync_put_bytes(struct buf *b, const void *p, size_t n)
{
	size_t start = b->len;
	int rc = sync_put_uv(b, n);
	if (!rc)
		rc = buf_append(b, p, n);
	if (rc)
		buf_truncate(b, start);
	return rc;
}

int sync_get_uv(struct sync_reader *r, uint64_t *v)
{
	uint64_t acc = 0;
	size_t off = r->off;
	for (unsigned i = 0; i < 10; i++) {
		if (off >= r->len)
			return RELAIS_ECORRUPT;
		unsigned char byte = r->p[off++];
		/* The tenth byte holds bit 63 only: anything more overflows. */
		if (i == 9 && byte > 1)
			return RELAIS_ECORRUPT;
		acc |= (uint64_t)(byte & 0x7f) << (7 * i);
		if (!(byte & 0x80)) {
			r->off = off;
			*v = acc;
			return 0;
		}
	}
	return RELAIS_ECORRUPT;
}

int sync_get_u64(struct sync_reader *r, uint64_t *v)
{
	if (r->len - r->off < 8)
		return RELAIS_ECORRUPT;
	*v = get_be64(r->p + r->off);
	r->off += 8;
	return 0;
}

int sync_get_bytes(struct sync_reader *r, const unsigned char **p, size_t *n)
{
	size_t save = r->off;
	uint64_t len;
	int rc = sync_get_uv(r, &len);
	if (rc)
		return rc;
	if (len > r->len - r->off) {
		r->off = save;
		return RELAIS_ECORRUPT;
	}
	*p = r->p + r->off;
	*n = (size_t)len;
	r->off += (size_t)len;
	return 0;
}

/* ---- push ---- */

int sync_push_encode(uint64_t node, const struct sync_push_item *items, size_t n,
		     struct buf *raw)
{
	unsigned char bin[8];
	size_t start = raw->len;
	int rc;
	for (size_t i = 1; i < n; i++)
		if (items[i].seq <= items[i - 1].seq)
			return RELAIS_EINVAL;
	put_be64(bin, node);
	rc = sync_put_bytes(raw, bin, sizeof(bin));
	if (rc)
		goto out;
	rc = sync_put_uv(raw, n);
	if (rc)
		goto out;
	for (size_t i = 0; i < n; i++) {
		rc = sync_put_uv(raw, items[i].seq);
		if (!rc)
			rc = sync_put_u64(raw, items[i].hlc);
		if (!rc)
			rc = sync_put_bytes(raw, items[i].changeset, items[i].len);
		if (rc)
			goto out;
	}
out:
	if (rc)
		buf_truncate(raw, start);
	return rc;
}

/*
 * SQLite's changeset iterator trusts its input: Debian 12's SQLite (3.40)
 * loops forever in sqlite3changeset_next() on a table header whose name has
 * no terminating NUL (found by fuzz/fuzz-wire.c), and a patchset would be
 * read without the old values the merge compares. So the server never hands
 * it bytes that do not follow the changeset format exactly (sqlite3session.h
 * and the comment above sessionChangesetNext in sqlite3session.c):
 *
 *   table header: 'T', varint ncol, ncol primary-key flag bytes, the table
 *                 name, NUL-terminated;
 *   change:       op (SQLITE_INSERT, SQLITE_DELETE, SQLITE_UPDATE), an
 *                 indirect flag (0 or 1), then ncol values (new ones for an
 *                 INSERT, old ones for a DELETE) or 2 x ncol (old then new)
 *                 for an UPDATE;
 *   value:        a type byte: 1 integer and 2 float (8 bytes), 3 text and
 *                 4 blob (varint length, bytes), 5 NULL, 0 "not given" (only
 *                 in an UPDATE).
 *
 * SQLite varints are big-endian groups of 7 bits, a set high bit meaning
 * more, the ninth byte giving 8 bits.
 */
#define CS_MAX_COLUMNS 2000 /* SQLITE_MAX_COLUMN's default */

static int cs_varint(const unsigned char *p, size_t n, size_t *off, uint64_t *v)
{
	uint64_t x = 0;

	for (int i = 0; i < 9; i++) {
		if (*off >= n)
			return RELAIS_ECORRUPT;
		unsigned char c = p[(*off)++];
		if (i == 8) {
			x = x << 8 | c;
			break;
		}
		x = x << 7 | (c & 0x7f);
		if (!(c & 0x80))
			break;
	}
	*v = x;
	return 0;
}

static int cs_value(const unsigned char *p, size_t n, size_t *off, int undefined_ok)
{
	uint64_t len;

	if (*off >= n)
		return RELAIS_ECORRUPT;
	switch (p[(*off)++]) {
	case 0:
		return undefined_ok ? 0 : RELAIS_ECORRUPT;
	case SQLITE_INTEGER:
	case SQLITE_FLOAT:
		len = 8;
		break;
	case SQLITE_TEXT:
	case SQLITE_BLOB:
		if (cs_varint(p, n, off, &len))
			return RELAIS_ECORRUPT;
		break;
	case SQLITE_NULL:
		return 0;
	default:
		return RELAIS_ECORRUPT;
	}
	if (len > n - *off)
		return RELAIS_ECORRUPT;
	*off += (size_t)len;
	return 0;
}

/* Returns 0 when p[0..n) is a well-formed changeset, else RELAIS_ECORRUPT. */
static int changeset_check(const unsigned char *p, size_t n)
{
	size_t off = 0;
	uint64_t ncol = 0;

	while (off < n) {
		unsigned char op = p[off++];
		if (op == 'T') {
			if (cs_varint(p, n, &off, &ncol) || ncol == 0 || ncol > CS_MAX_COLUMNS ||
			    ncol > n - off)
				return RELAIS_ECORRUPT;
			off += (size_t)ncol;
			const unsigned char *end = off < n ? memchr(p + off, 0, n - off) : NULL;
			if (!end || end == p + off)
				return RELAIS_ECORRUPT;
			off = (size_t)(end - p) + 1;
			continue;
		}
		if (!ncol || (op != SQLITE_INSERT && op != SQLITE_DELETE && op != SQLITE_UPDATE) ||
		    off >= n || p[off] > 1)
			return RELAIS_ECORRUPT;
		off++;
		uint64_t nval = op == SQLITE_UPDATE ? 2 * ncol : ncol;
		for (uint64_t i = 0; i < nval; i++)
			if (cs_value(p, n, &off, op == SQLITE_UPDATE))
				return RELAIS_ECORRUPT;
	}
	return 0;
}

int sync_changeset_check(const void *p, size_t n)
{
	return changeset_check(p, n);
}

int sync_push_decode(const void *raw, size_t len, size_t max_items,
		     struct sync_push *out)
{
	struct sync_reader r;
	struct sync_push_item *items = NULL;
	const unsigned char *p;
	size_t n;
	uint64_t count;
	char hex[17];
	int rc;
	memset(out, 0, sizeof(*out));
	sync_reader_init(&r, raw, len);
	rc = sync_get_bytes(&r, &p, &n);
	if (rc)
		goto out;
	/* The node: 8 bytes (wire 2), or 16 hex digits (wire 1, older clients). */
	if (n == 8) {
		out->node = get_be64(p);
	} else if (n == 16) {
		memcpy(hex, p, 16);
		hex[16] = 0;
		rc = sync_node_parse(hex, &out->node) ? RELAIS_ECORRUPT : 0;
	} else {
		rc = RELAIS_ECORRUPT;
	}
	if (rc)
		goto out;
	rc = sync_get_uv(&r, &count);
	if (rc)
		goto out;
	if (count > max_items) {
		rc = RELAIS_ETOOBIG;
		goto out;
	}
	if (count > (r.len - r.off) / PUSH_MIN_ITEM) {
		rc = RELAIS_ECORRUPT;
		goto out;
	}
	if (count) {
		items = calloc((size_t)count, sizeof(*items));
		if (!items) {
			rc = RELAIS_ENOMEM;
			goto out;
		}
	}
	for (size_t i = 0; i < count; i++) {
		struct sync_push_item *it = &items[i];
		rc = sync_get_uv(&r, &it->seq);
		if (!rc)
			rc = sync_get_u64(&r, &it->hlc);
		if (!rc)
			rc = sync_get_bytes(&r, &it->changeset, &it->len);
		if (!rc)
			rc = changeset_check(it->changeset, it->len);
		if (rc)
			goto out;
		/* A retry skips items by seq, so their order must be reliable. */
		if (i > 0 && it->seq <= items[i - 1].seq) {
			rc = RELAIS_ECORRUPT;
			goto out;
		}
	}
	if (r.off != r.len) {
		rc = RELAIS_ECORRUPT;
		goto out;
	}
	out->count = (size_t)count;
	out->items = items;
	items = NULL;
out:
	free(items);
	if (rc)
		memset(out, 0, sizeof(*out));
	return rc;
}

void sync_push_free(struct sync_push *p)
{
	if (!p)
		return;
	free(p->items);
	p->items = NULL;
	p->count = 0;
}

/* ---- pull writer ---- */

static void put_padded_uv(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < PULL_COUNT_LEN - 1; i++) {
		p[i] = (unsigned char)((v & 0x7f) | 0x80);
		v >>= 7;
	}
	p[PULL_COUNT_LEN - 1] = (unsigned char)(v & 1);
}

static uint64_t get_padded_uv(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < PULL_COUNT_LEN; i++)
		v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
	return v;
}

int sync_pull_begin(struct buf *raw)
{
	unsigned char hdr[PULL_HEADER];
	if (raw->len != 0)
		return RELAIS_EINVAL;
	memset(hdr, 0, sizeof(hdr));
	put_padded_uv(hdr + PULL_OFF_COUNT, 0);
	return buf_append(raw, hdr, sizeof(hdr));
}

/* Counts one more record in the header written by sync_pull_begin(). */
static void pull_count_one(struct buf *raw)
{
	unsigned char *p = raw->data + PULL_OFF_COUNT;
	put_padded_uv(p, get_padded_uv(p) + 1);
}

static int pull_put_value(struct buf *raw, sqlite3_stmt *st, int col)
{
	int type = sqlite3_column_type(st, col);
	int rc = sync_put_uv(raw, (uint64_t)type);
	if (rc)
		return rc;
	switch (type) {
	case SQLITE_INTEGER:
		return sync_put_u64(raw, (uint64_t)sqlite3_column_int64(st, col));
	case SQLITE_FLOAT: {
		double d = sqlite3_column_double(st, col);
		uint64_t bits;
		memcpy(&bits, &d, sizeof(bits));
		return sync_put_u64(raw, bits);
	}
	case SQLITE_TEXT: {
		/* text first, then bytes: the documented order that keeps
		 * the pointer valid. */
		const unsigned char *p = sqlite3_column_text(st, col);
		int n = sqlite3_column_bytes(st, col);
		if (!p || n < 0)
			return RELAIS_ENOMEM;
		return sync_put_bytes(raw, p, (size_t)n);
	}
	case SQLITE_BLOB: {
		const void *p = sqlite3_column_blob(st, col);
		int n = sqlite3_column_bytes(st, col);
		if (n < 0 || (!p && n > 0))
			return RELAIS_ENOMEM;
		return sync_put_bytes(raw, p, (size_t)n);
	}
	case SQLITE_NULL:
		return 0;
	default:
		return RELAIS_EDB;
	}
}

int sync_pull_add_row(struct buf *raw, const char *table, const char *id,
		      void *stmt, int ncols)
{
	sqlite3_stmt *st = stmt;
	size_t start = raw->len;
	int rc;
	if (raw->len < PULL_HEADER || ncols < 0 || ncols > sqlite3_column_count(st))
		return RELAIS_EINVAL;
	rc = sync_put_bytes(raw, table, strlen(table));
	if (!rc)
		rc = sync_put_bytes(raw, id, strlen(id));
	if (!rc)
		rc = sync_put_uv(raw, 0);
	if (!rc)
		rc = sync_put_uv(raw, (uint64_t)ncols);
	for (int i = 0; !rc && i < ncols; i++)
		rc = pull_put_value(raw, st, i);
	if (rc) {
		buf_truncate(raw, start);
		return rc;
	}
	pull_count_one(raw);
	return 0;
}

int sync_pull_add_deleted(struct buf *raw, const char *table, const char *id)
{
	size_t start = raw->len;
	int rc;
	if (raw->len < PULL_HEADER)
		return RELAIS_EINVAL;
	rc = sync_put_bytes(raw, table, strlen(table));
	if (!rc)
		rc = sync_put_bytes(raw, id, strlen(id));
	if (!rc)
		rc = sync_put_uv(raw, 1);
	if (!rc)
		rc = sync_put_uv(raw, 0);
	if (rc) {
		buf_truncate(raw, start);
		return rc;
	}
	pull_count_one(raw);
	return 0;
}

int sync_pull_finish(struct buf *raw, uint64_t next_cursor, sync_hlc_t server_hlc,
		     int more)
{
	if (raw->len < PULL_HEADER)
		return RELAIS_EINVAL;
	put_be64(raw->data + PULL_OFF_CURSOR, next_cursor);
	put_be64(raw->data + PULL_OFF_HLC, server_hlc);
	raw->data[PULL_OFF_MORE] = more ? 1 : 0;
	return 0;
}

/* ---- pull reader ---- */

int sync_pull_open(struct sync_pull_reader *pr, const void *raw, size_t len)
{
	uint64_t more;
	int rc;
	memset(pr, 0, sizeof(*pr));
	sync_reader_init(&pr->r, raw, len);
	rc = sync_get_u64(&pr->r, &pr->next_cursor);
	if (!rc)
		rc = sync_get_u64(&pr->r, &pr->server_hlc);
	if (!rc)
		rc = sync_get_uv(&pr->r, &more);
	if (!rc)
		rc = sync_get_uv(&pr->r, &pr->count);
	if (rc)
		return rc;
	if (more > 1 || pr->count > (pr->r.len - pr->r.off) / PULL_MIN_RECORD)
		return RELAIS_ECORRUPT;
	pr->more = (int)more;
	return 0;
}

static int64_t u64_to_i64(uint64_t u)
{
	int64_t i;
	memcpy(&i, &u, sizeof(i)); /* two's complement, without implementation-defined casts */
	return i;
}

static int pull_get_value(struct sync_reader *r, struct sync_value *v)
{
	uint64_t type, u = 0;
	int rc = sync_get_uv(r, &type);
	if (rc)
		return rc;
	memset(v, 0, sizeof(*v));
	switch (type) {
	case SQLITE_INTEGER:
		rc = sync_get_u64(r, &u);
		v->i = u64_to_i64(u);
		break;
	case SQLITE_FLOAT:
		rc = sync_get_u64(r, &u);
		memcpy(&v->r, &u, sizeof(v->r));
		break;
	case SQLITE_TEXT:
	case SQLITE_BLOB:
		rc = sync_get_bytes(r, &v->p, &v->n);
		break;
	case SQLITE_NULL:
		break;
	default:
		return RELAIS_ECORRUPT;
	}
	v->type = (int)type;
	return rc;
}

int sync_pull_next(struct sync_pull_reader *pr, struct sync_pull_record *rec,
		   struct sync_value *values, size_t max_cols)
{
	struct sync_reader *r = &pr->r;
	size_t save = r->off;
	uint64_t deleted, ncols;
	int rc;
	if (pr->done == pr->count)
		return r->off == r->len ? 0 : RELAIS_ECORRUPT;
	memset(rec, 0, sizeof(*rec));
	rc = sync_get_bytes(r, &rec->table, &rec->table_len);
	if (!rc)
		rc = sync_get_bytes(r, &rec->id, &rec->id_len);
	if (!rc)
		rc = sync_get_uv(r, &deleted);
	if (!rc)
		rc = sync_get_uv(r, &ncols);
	if (rc)
		goto out;
	if (deleted > 1 || (deleted && ncols != 0) || ncols > max_cols) {
		rc = RELAIS_ECORRUPT;
		goto out;
	}
	for (size_t i = 0; i < ncols; i++) {
		rc = pull_get_value(r, &values[i]);
		if (rc)
			goto out;
	}
	rec->deleted = (int)deleted;
	rec->ncols = (size_t)ncols;
	rec->values = values;
	pr->done++;
out:
	if (rc) {
		r->off = save;
		return rc;
	}
	return 1;
}

/* ---- sync answer ---- */

int sync_answer_encode(const struct sync_answer *a, const void *pull, size_t pull_len,
		       struct buf *raw)
{
	size_t start = raw->len;
	int rc = sync_put_uv(raw, a->acked);
	if (!rc)
		rc = sync_put_uv(raw, a->items);
	if (!rc)
		rc = sync_put_uv(raw, a->changes);
	if (!rc)
		rc = sync_put_uv(raw, a->conflicts);
	if (!rc)
		rc = sync_put_uv(raw, a->restamped);
	if (!rc)
		rc = buf_append(raw, pull, pull_len);
	if (rc)
		buf_truncate(raw, start);
	return rc;
}

int sync_answer_decode(const void *raw, size_t len, struct sync_answer *a, size_t *pull_off)
{
	struct sync_reader r;
	int rc;
	memset(a, 0, sizeof(*a));
	sync_reader_init(&r, raw, len);
	rc = sync_get_uv(&r, &a->acked);
	if (!rc)
		rc = sync_get_uv(&r, &a->items);
	if (!rc)
		rc = sync_get_uv(&r, &a->changes);
	if (!rc)
		rc = sync_get_uv(&r, &a->conflicts);
	if (!rc)
		rc = sync_get_uv(&r, &a->restamped);
	if (rc) {
		memset(a, 0, sizeof(*a));
		return rc;
	}
	*pull_off = r.off;
	return 0;
}
