#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <sqlite3.h>
#include <zlib.h>
#include "../common/buf.h"
#include "../sync/wire.h"
#include "test.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define BIG_CAP ((size_t)256 << 20)

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* Fills p with a deterministic mix of runs and noise, so that it both
 * compresses and exercises literals. */
static void fill_pattern(unsigned char *p, size_t n, unsigned seed)
{
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (i / 64) % 3 == 0 ? (unsigned char)(x >> 24) : (unsigned char)(i & 7);
	}
}

/* Writes an envelope by hand: any header, any zlib stream of in[0..n). */
static int hand_envelope(struct buf *out, int version, int kind, uint32_t declared,
			 uint32_t crc, const void *in, size_t n)
{
	unsigned char hdr[SYNC_WIRE_HEADER] = { 'R', 'L', 'S', 'Y' };
	hdr[4] = (unsigned char)version;
	hdr[5] = (unsigned char)kind;
	hdr[6] = 0;
	hdr[7] = 3;
	put_be32(hdr + 8, declared);
	put_be32(hdr + 12, crc);
	int rc = buf_append(out, hdr, sizeof(hdr));
	if (rc)
		return rc;
	uLongf zlen = compressBound(n);
	rc = buf_grow(out, zlen);
	if (rc)
		return rc;
	if (compress2(out->data + out->len, &zlen, in, n, 6) != Z_OK)
		return RELAIS_EINVAL;
	out->len += zlen;
	return 0;
}

/* ---- primitives ---- */

TEST(wire_uv_round_trip)
{
	static const struct {
		uint64_t v;
		size_t len;
	} cases[] = {
		{ 0, 1 }, { 1, 1 }, { 127, 1 }, { 128, 2 }, { 300, 2 }, { 16383, 2 },
		{ 16384, 3 }, { UINT32_MAX, 5 }, { UINT64_C(1) << 56, 9 },
		{ (UINT64_C(1) << 63) - 1, 9 }, { UINT64_C(1) << 63, 10 }, { UINT64_MAX, 10 },
	};
	for (size_t i = 0; i < N(cases); i++) {
		struct buf b = BUF_INIT(64);
		CHECK_OK(sync_put_uv(&b, cases[i].v));
		CHECK_INT_IDX(b.len, cases[i].len, i);
		struct sync_reader r;
		uint64_t v = 0;
		sync_reader_init(&r, b.data, b.len);
		CHECK_OK(sync_get_uv(&r, &v));
		CHECK_IDX(v == cases[i].v, i);
		CHECK_INT_IDX(r.off, b.len, i);
		/* every shorter prefix is refused and leaves the reader alone */
		for (size_t cut = 0; cut < b.len; cut++) {
			sync_reader_init(&r, b.data, cut);
			CHECK_INT_IDX(sync_get_uv(&r, &v), RELAIS_ECORRUPT, i);
			CHECK_INT_IDX(r.off, 0, i);
		}
		buf_release(&b);
	}
}

TEST(wire_uv_refuses_overlong_and_overflow)
{
	static const struct {
		unsigned char in[12];
		size_t len;
		int rc;
		uint64_t v;
	} cases[] = {
		/* 11 bytes: longer than any 64-bit value needs */
		{ { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00 }, 11, RELAIS_ECORRUPT, 0 },
		/* 10th byte with bits beyond 63 */
		{ { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02 }, 10, RELAIS_ECORRUPT, 0 },
		{ { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f }, 10, RELAIS_ECORRUPT, 0 },
		/* 10th byte still continuing */
		{ { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x81, 0x00 }, 11, RELAIS_ECORRUPT, 0 },
		/* padded (non-minimal) but within 10 bytes: accepted */
		{ { 0x85, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00 }, 10, 0, 5 },
		{ { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 }, 10, 0, UINT64_MAX },
		{ { 0x80, 0x00 }, 2, 0, 0 },
	};
	for (size_t i = 0; i < N(cases); i++) {
		struct sync_reader r;
		uint64_t v = 12345;
		sync_reader_init(&r, cases[i].in, cases[i].len);
		CHECK_INT_IDX(sync_get_uv(&r, &v), cases[i].rc, i);
		if (cases[i].rc == 0) {
			CHECK_IDX(v == cases[i].v, i);
		} else {
			CHECK_INT_IDX(r.off, 0, i);
			CHECK_IDX(v == 12345, i);
		}
	}
}

TEST(wire_bytes_and_u64_bounds)
{
	struct buf b = BUF_INIT(1024);
	static const unsigned char nul3[3] = { 0, 'x', 0 };
	CHECK_OK(sync_put_u64(&b, UINT64_C(0x0102030405060708)));
	CHECK_OK(sync_put_bytes(&b, nul3, 3));
	CHECK_OK(sync_put_bytes(&b, NULL, 0));
	CHECK_INT(b.data[0], 1);
	CHECK_INT(b.data[7], 8);

	struct sync_reader r;
	uint64_t v;
	const unsigned char *p;
	size_t n;
	sync_reader_init(&r, b.data, b.len);
	CHECK_OK(sync_get_u64(&r, &v));
	CHECK(v == UINT64_C(0x0102030405060708));
	CHECK_OK(sync_get_bytes(&r, &p, &n));
	CHECK_INT(n, 3);
	CHECK(memcmp(p, nul3, 3) == 0);
	CHECK(p == b.data + 9);
	CHECK_OK(sync_get_bytes(&r, &p, &n));
	CHECK_INT(n, 0);
	CHECK_INT(r.off, r.len);
	CHECK_INT(sync_get_u64(&r, &v), RELAIS_ECORRUPT);
	CHECK_INT(sync_get_bytes(&r, &p, &n), RELAIS_ECORRUPT);
	CHECK_INT(sync_get_uv(&r, &v), RELAIS_ECORRUPT);

	/* a u64 cut short */
	for (size_t cut = 0; cut < 8; cut++) {
		sync_reader_init(&r, b.data, cut);
		CHECK_INT_IDX(sync_get_u64(&r, &v), RELAIS_ECORRUPT, cut);
		CHECK_INT_IDX(r.off, 0, cut);
	}

	/* lengths past the end, up to the largest varint: refused, reader unchanged */
	static const uint64_t lens[] = { 4, 5, 1000, UINT32_MAX, UINT64_MAX / 2, UINT64_MAX };
	for (size_t i = 0; i < N(lens); i++) {
		struct buf h = BUF_INIT(64);
		CHECK_OK(sync_put_uv(&h, lens[i]));
		CHECK_OK(buf_append(&h, "abc", 3));
		sync_reader_init(&r, h.data, h.len);
		CHECK_INT_IDX(sync_get_bytes(&r, &p, &n), RELAIS_ECORRUPT, i);
		CHECK_INT_IDX(r.off, 0, i);
		buf_release(&h);
	}

	/* a put past the cap leaves the buffer unchanged */
	struct buf small = BUF_INIT(5);
	CHECK_INT(sync_put_bytes(&small, "abcdef", 6), RELAIS_ETOOBIG);
	CHECK_INT(small.len, 0);
	CHECK_INT(sync_put_u64(&small, 1), RELAIS_ETOOBIG);
	CHECK_INT(small.len, 0);
	buf_release(&small);
	buf_release(&b);
}

/* ---- envelope ---- */

TEST(wire_envelope_round_trip)
{
	static const struct {
		size_t len;
		int kind;
		unsigned schema;
		int pattern; /* 0: zeros, 1: mixed, 2: text */
	} cases[] = {
		{ 0, SYNC_WIRE_PUSH, 1, 0 },
		{ 1, SYNC_WIRE_PULL, 0, 1 },
		{ 17, SYNC_WIRE_PUSH, 65535, 2 },
		{ 4096, SYNC_WIRE_PULL, 7, 1 },
		{ 1 << 20, SYNC_WIRE_PUSH, 300, 0 },
		{ 3 << 20, SYNC_WIRE_PULL, 2, 1 },
	};
	for (size_t i = 0; i < N(cases); i++) {
		unsigned char *in = malloc(cases[i].len + 1);
		CHECK_IDX(in != NULL, i);
		if (cases[i].pattern == 0)
			memset(in, 0, cases[i].len);
		else if (cases[i].pattern == 1)
			fill_pattern(in, cases[i].len, (unsigned)i);
		else
			memcpy(in, "héhé\0promeneurs\0", cases[i].len);
		struct buf env = BUF_INIT(SYNC_WIRE_MAX_BODY), raw = BUF_INIT(SYNC_WIRE_MAX_RAW);
		CHECK_OK(sync_wire_seal(cases[i].kind, cases[i].schema, in, cases[i].len, &env));
		CHECK_IDX(memcmp(env.data, "RLSY", 4) == 0, i);
		CHECK_INT_IDX(env.data[4], SYNC_WIRE_VERSION, i);
		CHECK_INT_IDX(env.data[5], cases[i].kind, i);
		enum sync_wire_kind kind = 0;
		unsigned schema = 99999;
		CHECK_OK(sync_wire_open(env.data, env.len, SYNC_WIRE_MAX_RAW, &kind, &schema, &raw));
		CHECK_INT_IDX(kind, cases[i].kind, i);
		CHECK_INT_IDX(schema, cases[i].schema, i);
		CHECK_INT_IDX(raw.len, cases[i].len, i);
		CHECK_IDX(cases[i].len == 0 || memcmp(raw.data, in, cases[i].len) == 0, i);
		/* the payload is appended after what raw held */
		struct buf pre = BUF_INIT(SYNC_WIRE_MAX_RAW);
		CHECK_OK(buf_append(&pre, "xy", 2));
		CHECK_OK(sync_wire_open(env.data, env.len, cases[i].len, &kind, &schema, &pre));
		CHECK_INT_IDX(pre.len, cases[i].len + 2, i);
		CHECK_IDX(memcmp(pre.data, "xy", 2) == 0, i);
		CHECK_IDX(cases[i].len == 0 || memcmp(pre.data + 2, in, cases[i].len) == 0, i);
		/* a cap of one byte less than the payload is refused up front */
		if (cases[i].len > 0) {
			buf_reset(&raw);
			CHECK_INT_IDX(sync_wire_open(env.data, env.len, cases[i].len - 1,
						     &kind, &schema, &raw), RELAIS_ETOOBIG, i);
			CHECK_INT_IDX(raw.len, 0, i);
		}
		buf_release(&pre);
		buf_release(&env);
		buf_release(&raw);
		free(in);
	}
}

TEST(wire_seal_refuses_bad_arguments)
{
	struct buf env = BUF_INIT(SYNC_WIRE_MAX_BODY);
	CHECK_INT(sync_wire_seal(0, 1, "a", 1, &env), RELAIS_EINVAL);
	CHECK_INT(sync_wire_seal(4, 1, "a", 1, &env), RELAIS_EINVAL);
	CHECK_INT(sync_wire_seal(SYNC_WIRE_PUSH, 65536, "a", 1, &env), RELAIS_EINVAL);
	CHECK_INT(sync_wire_seal(SYNC_WIRE_PUSH, 1, "a", (size_t)SYNC_WIRE_MAX_RAW + 1, &env),
		  RELAIS_ETOOBIG);
	CHECK_INT(env.len, 0);
	/* out's own cap: a failed seal leaves out as it was */
	struct buf small = BUF_INIT(20);
	CHECK_OK(buf_append(&small, "ab", 2));
	unsigned char noise[512];
	fill_pattern(noise, sizeof(noise), 9);
	CHECK_INT(sync_wire_seal(SYNC_WIRE_PUSH, 1, noise, sizeof(noise), &small), RELAIS_ETOOBIG);
	CHECK_INT(small.len, 2);
	CHECK_STR(buf_str(&small), "ab");
	buf_release(&small);
	buf_release(&env);
}

/* Every prefix of a valid envelope fails, cleanly, and leaves raw alone. */
TEST(wire_open_every_truncation_fails)
{
	unsigned char in[3000];
	fill_pattern(in, sizeof(in), 3);
	struct buf env = BUF_INIT(SYNC_WIRE_MAX_BODY), raw = BUF_INIT(SYNC_WIRE_MAX_RAW);
	CHECK_OK(sync_wire_seal(SYNC_WIRE_PUSH, 4, in, sizeof(in), &env));
	for (size_t cut = 0; cut < env.len; cut++) {
		enum sync_wire_kind kind;
		unsigned schema;
		/* a copy of exactly cut bytes, so ASan sees any read past it */
		unsigned char *copy = malloc(cut ? cut : 1);
		CHECK_IDX(copy != NULL, cut);
		memcpy(copy, env.data, cut);
		int rc = sync_wire_open(copy, cut, SYNC_WIRE_MAX_RAW, &kind, &schema, &raw);
		free(copy);
		CHECK_INT_IDX(rc, RELAIS_ECORRUPT, cut);
		CHECK_INT_IDX(raw.len, 0, cut);
	}
	buf_release(&env);
	buf_release(&raw);
}

/* Changing any byte of the length, CRC or compressed stream is caught.
 * The only flips that pass are at the end of the deflate stream (padding
 * bits zlib ignores, or a match distance that copies the same bytes of this
 * periodic input): the payload then comes back intact, CRC included. */
TEST(wire_open_flipped_bytes_fail)
{
	unsigned char in[2000];
	fill_pattern(in, sizeof(in), 5);
	struct buf env = BUF_INIT(SYNC_WIRE_MAX_BODY), raw = BUF_INIT(SYNC_WIRE_MAX_RAW);
	CHECK_OK(sync_wire_seal(SYNC_WIRE_PULL, 4, in, sizeof(in), &env));
	static const unsigned char masks[] = { 0x01, 0x80, 0xff };
	int harmless = 0;
	for (size_t pos = 8; pos < env.len; pos++) {
		for (size_t m = 0; m < N(masks); m++) {
			enum sync_wire_kind kind;
			unsigned schema;
			int idx = (int)(pos * 10 + m);
			env.data[pos] ^= masks[m];
			int rc = sync_wire_open(env.data, env.len, SYNC_WIRE_MAX_RAW, &kind, &schema, &raw);
			env.data[pos] ^= masks[m];
			if (rc == 0) {
				CHECK_IDX(pos >= env.len - 2, idx);
				CHECK_INT_IDX(raw.len, sizeof(in), idx);
				CHECK_IDX(memcmp(raw.data, in, sizeof(in)) == 0, idx);
				buf_reset(&raw);
				harmless++;
				continue;
			}
			/* a larger declared length may be refused by the cap first */
			CHECK_IDX(rc == RELAIS_ECORRUPT || (pos < 11 && rc == RELAIS_ETOOBIG), idx);
			CHECK_INT_IDX(raw.len, 0, idx);
		}
	}
	CHECK(harmless <= 2);
	/* the schema bytes are not checksummed: they come back as sent */
	enum sync_wire_kind kind;
	unsigned schema;
	env.data[7] ^= 0x10;
	CHECK_OK(sync_wire_open(env.data, env.len, SYNC_WIRE_MAX_RAW, &kind, &schema, &raw));
	CHECK_INT(schema, 4 ^ 0x10);
	buf_release(&env);
	buf_release(&raw);
}

TEST(wire_open_header_cases)
{
	unsigned char in[100];
	fill_pattern(in, sizeof(in), 1);
	uint32_t crc = (uint32_t)crc32(0, in, sizeof(in));
	static const struct {
		const char *magic;
		int version, kind;
		uint32_t declared;
		size_t max_raw;
		int rc;
	} cases[] = {
		{ "RLSY", 1, 1, 100, 1000, 0 },
		{ "RLSY", 1, 2, 100, 100, 0 },
		{ "RLSX", 1, 1, 100, 1000, RELAIS_ECORRUPT },
		{ "rlsy", 1, 1, 100, 1000, RELAIS_ECORRUPT },
		{ "\0\0\0\0", 1, 1, 100, 1000, RELAIS_ECORRUPT },
		{ "RLSY", 0, 1, 100, 1000, RELAIS_EVERSION },
		{ "RLSY", 3, 1, 100, 1000, RELAIS_EVERSION },
		{ "RLSY", 255, 1, 100, 1000, RELAIS_EVERSION },
		{ "RLSY", 3, 9, 100, 1000, RELAIS_EVERSION }, /* a newer version may have new kinds */
		{ "RLSY", 1, 0, 100, 1000, RELAIS_ECORRUPT },
		{ "RLSY", 1, 3, 100, 1000, 0 },               /* a sync answer */
		{ "RLSY", 1, 4, 100, 1000, RELAIS_ECORRUPT },
		{ "RLSY", 1, 255, 100, 1000, RELAIS_ECORRUPT },
		{ "RLSY", 1, 1, 100, 99, RELAIS_ETOOBIG },
		{ "RLSY", 1, 1, UINT32_MAX, SYNC_WIRE_MAX_RAW, RELAIS_ETOOBIG },
		{ "RLSY", 1, 1, 99, 1000, RELAIS_ECORRUPT },  /* stream longer than declared */
		{ "RLSY", 1, 1, 101, 1000, RELAIS_ECORRUPT }, /* stream ends early */
		{ "RLSY", 1, 1, 0, 1000, RELAIS_ECORRUPT },
	};
	for (size_t i = 0; i < N(cases); i++) {
		struct buf env = BUF_INIT(SYNC_WIRE_MAX_BODY), raw = BUF_INIT(SYNC_WIRE_MAX_RAW);
		CHECK_OK(hand_envelope(&env, cases[i].version, cases[i].kind, cases[i].declared,
				       crc, in, sizeof(in)));
		memcpy(env.data, cases[i].magic, 4);
		enum sync_wire_kind kind = 0;
		unsigned schema = 0;
		CHECK_INT_IDX(sync_wire_open(env.data, env.len, cases[i].max_raw, &kind, &schema, &raw),
			      cases[i].rc, i);
		if (cases[i].rc == 0) {
			CHECK_INT_IDX(kind, cases[i].kind, i);
			CHECK_INT_IDX(schema, 3, i);
			CHECK_INT_IDX(raw.len, sizeof(in), i);
		} else {
			CHECK_INT_IDX(raw.len, 0, i);
		}
		buf_release(&env);
		buf_release(&raw);
	}
}

/* Both versions carry the same payload: relaisd answers a client of
 * version 1 in it; version 2 is smaller, and its length field is a varint of
 * at most 4 bytes. */
TEST(wire_versions)
{
	static const size_t sizes[] = { 0, 1, 127, 128, 300, 20000 };
	for (size_t i = 0; i < N(sizes); i++) {
		unsigned char *in = malloc(sizes[i] + 1);
		CHECK_IDX(in != NULL, i);
		fill_pattern(in, sizes[i], (uint32_t)i);
		size_t len[3] = { 0 };
		for (unsigned v = 1; v <= 2; v++) {
			struct buf env = BUF_INIT(SYNC_WIRE_MAX_BODY), raw = BUF_INIT(SYNC_WIRE_MAX_RAW);
			enum sync_wire_kind kind;
			unsigned schema;
			CHECK_OK(sync_wire_seal_version(SYNC_WIRE_PULL, v, 7, in, sizes[i], &env));
			CHECK_INT_IDX(env.data[4], v, i);
			CHECK_OK(sync_wire_open(env.data, env.len, SYNC_WIRE_MAX_RAW, &kind, &schema,
						&raw));
			CHECK_INT_IDX(kind, SYNC_WIRE_PULL, i);
			CHECK_INT_IDX(schema, 7, i);
			CHECK_INT_IDX(raw.len, sizes[i], i);
			CHECK_IDX(sizes[i] == 0 || memcmp(raw.data, in, sizes[i]) == 0, i);
			len[v] = env.len;
			buf_release(&env);
			buf_release(&raw);
		}
		CHECK_IDX(len[2] < len[1], i);
		free(in);
	}
	struct buf env = BUF_INIT(4096), raw = BUF_INIT(4096);
	CHECK_INT(sync_wire_seal_version(SYNC_WIRE_PULL, 0, 1, "x", 1, &env), RELAIS_EINVAL);
	CHECK_INT(sync_wire_seal_version(SYNC_WIRE_PULL, 3, 1, "x", 1, &env), RELAIS_EINVAL);
	/* a length of five varint bytes, or cut before its end */
	static const unsigned char longlen[] = { 'R', 'L', 'S', 'Y', 2, 1, 0, 1, 0x80, 0x80,
						 0x80, 0x80, 0x01, 0, 0, 0, 0, 3, 0 };
	enum sync_wire_kind kind;
	unsigned schema;
	CHECK_INT(sync_wire_open(longlen, sizeof(longlen), 1000, &kind, &schema, &raw),
		  RELAIS_ECORRUPT);
	CHECK_INT(sync_wire_open(longlen, 10, 1000, &kind, &schema, &raw), RELAIS_ECORRUPT);
	CHECK_INT(raw.len, 0);
	buf_release(&env);
	buf_release(&raw);
}

TEST(wire_open_bad_crc_and_bad_zlib)
{
	unsigned char in[100];
	fill_pattern(in, sizeof(in), 2);
	uint32_t crc = (uint32_t)crc32(0, in, sizeof(in));
	struct buf env = BUF_INIT(4096), raw = BUF_INIT(4096);
	enum sync_wire_kind kind;
	unsigned schema;
	CHECK_OK(hand_envelope(&env, 1, 1, 100, crc ^ 1, in, sizeof(in)));
	CHECK_INT(sync_wire_open(env.data, env.len, 1000, &kind, &schema, &raw), RELAIS_ECORRUPT);
	/* a raw deflate stream (no zlib header) and plain garbage */
	buf_reset(&env);
	CHECK_OK(hand_envelope(&env, 1, 1, 100, crc, in, 0));
	env.len = SYNC_WIRE_HEADER;
	CHECK_OK(buf_append(&env, "not zlib at all, just bytes", 27));
	CHECK_INT(sync_wire_open(env.data, env.len, 1000, &kind, &schema, &raw), RELAIS_ECORRUPT);
	/* a header with no stream at all */
	CHECK_INT(sync_wire_open(env.data, SYNC_WIRE_HEADER, 1000, &kind, &schema, &raw),
		  RELAIS_ECORRUPT);
	CHECK_INT(raw.len, 0);
	buf_release(&env);
	buf_release(&raw);
}

TEST(wire_open_refuses_trailing_bytes)
{
	unsigned char in[500];
	fill_pattern(in, sizeof(in), 4);
	static const struct {
		const char *tail;
		size_t len;
	} cases[] = {
		{ "\0", 1 }, { "x", 1 }, { "garbage after the stream", 24 },
	};
	for (size_t i = 0; i < N(cases); i++) {
		struct buf env = BUF_INIT(SYNC_WIRE_MAX_BODY), raw = BUF_INIT(SYNC_WIRE_MAX_RAW);
		enum sync_wire_kind kind;
		unsigned schema;
		CHECK_OK(sync_wire_seal(SYNC_WIRE_PUSH, 1, in, sizeof(in), &env));
		CHECK_OK(buf_append(&env, cases[i].tail, cases[i].len));
		CHECK_INT_IDX(sync_wire_open(env.data, env.len, SYNC_WIRE_MAX_RAW, &kind, &schema, &raw),
			      RELAIS_ECORRUPT, i);
		CHECK_INT_IDX(raw.len, 0, i);
		buf_release(&env);
		buf_release(&raw);
	}
	/* a second complete zlib stream after the first one */
	struct buf env = BUF_INIT(SYNC_WIRE_MAX_BODY), raw = BUF_INIT(SYNC_WIRE_MAX_RAW);
	struct buf second = BUF_INIT(SYNC_WIRE_MAX_BODY);
	enum sync_wire_kind kind;
	unsigned schema;
	CHECK_OK(sync_wire_seal(SYNC_WIRE_PUSH, 1, in, sizeof(in), &env));
	CHECK_OK(sync_wire_seal(SYNC_WIRE_PUSH, 1, in, sizeof(in), &second));
	CHECK_OK(buf_append(&env, second.data + SYNC_WIRE_HEADER, second.len - SYNC_WIRE_HEADER));
	CHECK_INT(sync_wire_open(env.data, env.len, SYNC_WIRE_MAX_RAW, &kind, &schema, &raw),
		  RELAIS_ECORRUPT);
	buf_release(&second);
	buf_release(&env);
	buf_release(&raw);
}

/* Compresses n zero bytes into a zlib stream without holding them. */
static int deflate_zeros(size_t n, struct buf *out)
{
	static unsigned char zeros[1 << 16];
	unsigned char chunk[1 << 16];
	z_stream zs;
	int rc = 0, zrc;
	memset(&zs, 0, sizeof(zs));
	if (deflateInit(&zs, 6) != Z_OK)
		return RELAIS_ENOMEM;
	do {
		if (zs.avail_in == 0 && n > 0) {
			size_t k = n < sizeof(zeros) ? n : sizeof(zeros);
			zs.next_in = zeros;
			zs.avail_in = (uInt)k;
			n -= k;
		}
		zs.next_out = chunk;
		zs.avail_out = sizeof(chunk);
		zrc = deflate(&zs, n == 0 ? Z_FINISH : Z_NO_FLUSH);
		rc = buf_append(out, chunk, sizeof(chunk) - zs.avail_out);
	} while (!rc && zrc != Z_STREAM_END);
	deflateEnd(&zs);
	return rc;
}

/* 200 MB of zeros compress to ~200 KB: whatever the header declares, the
 * reader never holds more than the declared length (under the cap). */
TEST(wire_open_zlib_bomb)
{
	const size_t bomb = (size_t)200 << 20;
	struct buf stream = BUF_INIT(SYNC_WIRE_MAX_BODY);
	CHECK_OK(deflate_zeros(bomb, &stream));
	CHECK(stream.len < (1u << 20));
	uLong zcrc = crc32(0, NULL, 0);
	static const struct {
		uint32_t declared;
		size_t max_raw;
		int rc;
	} cases[] = {
		/* true length, over the cap: refused before inflating */
		{ 200u << 20, SYNC_WIRE_MAX_RAW, RELAIS_ETOOBIG },
		/* a lie under the cap: stops at the cap, nothing kept */
		{ 1000, SYNC_WIRE_MAX_RAW, RELAIS_ETOOBIG },
		{ SYNC_WIRE_MAX_RAW, SYNC_WIRE_MAX_RAW, RELAIS_ETOOBIG },
		/* a lie under a cap that the whole stream fits in: a length mismatch */
		{ 1000, BIG_CAP, RELAIS_ECORRUPT },
	};
	for (size_t i = 0; i < N(cases); i++) {
		struct buf env = BUF_INIT(SYNC_WIRE_MAX_BODY), raw = BUF_INIT(BIG_CAP);
		unsigned char hdr[SYNC_WIRE_HEADER] = { 'R', 'L', 'S', 'Y', 1, 1, 0, 1 };
		put_be32(hdr + 8, cases[i].declared);
		put_be32(hdr + 12, (uint32_t)zcrc);
		CHECK_OK(buf_append(&env, hdr, sizeof(hdr)));
		CHECK_OK(buf_append(&env, stream.data, stream.len));
		enum sync_wire_kind kind;
		unsigned schema;
		CHECK_INT_IDX(sync_wire_open(env.data, env.len, cases[i].max_raw, &kind, &schema, &raw),
			      cases[i].rc, i);
		CHECK_INT_IDX(raw.len, 0, i);
		/* memory stayed bounded by the declared length */
		CHECK_IDX(raw.alloc <= 2 * (size_t)cases[i].declared + 4096, i);
		if (cases[i].declared > cases[i].max_raw)
			CHECK_INT_IDX(raw.alloc, 0, i);
		buf_release(&env);
		buf_release(&raw);
	}
	buf_release(&stream);
}

/* ---- push ---- */

TEST(wire_push_round_trip)
{
	/* Well-formed changesets of a table t(a): sync_push_decode() refuses
	 * anything else (an INSERT, a DELETE, an INSERT of text). */
	static const unsigned char cs1[] = { 'T', 1, 1, 't', 0, 0x12, 0, 5 };
	static const unsigned char cs2[] = { 'T', 1, 1, 't', 0, 0x09, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7 };
	static const unsigned char cs3[] = { 'T', 1, 1, 't', 0, 0x12, 0, 3, 4, 't', 'e', 'x', 't' };
	const struct sync_push_item all[] = {
		{ 1, sync_hlc_make(1000, 0), cs1, sizeof(cs1) },
		{ 2, sync_hlc_make(1000, 1), NULL, 0 },
		{ 7, UINT64_MAX, cs2, sizeof(cs2) },
		{ UINT64_MAX, 0, cs3, sizeof(cs3) },
	};
	static const struct {
		uint64_t node;
		size_t first, n;
	} cases[] = {
		{ 0, 0, 0 },
		{ UINT64_C(0x0123456789abcdef), 0, 1 },
		{ UINT64_MAX, 1, 1 },
		{ 42, 0, 4 },
		{ 1, 2, 2 },
	};
	for (size_t i = 0; i < N(cases); i++) {
		struct buf raw = BUF_INIT(SYNC_WIRE_MAX_RAW), env = BUF_INIT(SYNC_WIRE_MAX_BODY);
		struct buf back = BUF_INIT(SYNC_WIRE_MAX_RAW);
		const struct sync_push_item *items = all + cases[i].first;
		CHECK_OK(sync_push_encode(cases[i].node, items, cases[i].n, &raw));
		CHECK_OK(sync_wire_seal(SYNC_WIRE_PUSH, 1, raw.data, raw.len, &env));
		enum sync_wire_kind kind;
		unsigned schema;
		CHECK_OK(sync_wire_open(env.data, env.len, SYNC_WIRE_MAX_RAW, &kind, &schema, &back));
		CHECK_INT_IDX(kind, SYNC_WIRE_PUSH, i);
		struct sync_push p;
		CHECK_OK(sync_push_decode(back.data, back.len, 100000, &p));
		CHECK_IDX(p.node == cases[i].node, i);
		CHECK_INT_IDX(p.count, cases[i].n, i);
		for (size_t k = 0; k < p.count; k++) {
			CHECK_IDX(p.items[k].seq == items[k].seq, i);
			CHECK_IDX(p.items[k].hlc == items[k].hlc, i);
			CHECK_INT_IDX(p.items[k].len, items[k].len, i);
			CHECK_IDX(items[k].len == 0 ||
				  memcmp(p.items[k].changeset, items[k].changeset, items[k].len) == 0, i);
			/* changesets point into the payload */
			CHECK_IDX(p.items[k].changeset >= back.data &&
				  p.items[k].changeset + p.items[k].len <= back.data + back.len, i);
		}
		sync_push_free(&p);
		CHECK_IDX(p.items == NULL && p.count == 0, i);
		sync_push_free(&p);
		buf_release(&raw);
		buf_release(&env);
		buf_release(&back);
	}
	sync_push_free(NULL);
}

TEST(wire_push_max_items_and_order)
{
	static const unsigned char cs[] = { 'T', 1, 1, 't', 0, 0x12, 0, 5 };
	static const struct {
		uint64_t seq[4];
		size_t n, max_items;
		int rc;
	} cases[] = {
		{ { 1, 2, 3 }, 3, 3, 0 },
		{ { 1, 2, 3 }, 3, 2, RELAIS_ETOOBIG },
		{ { 1 }, 1, 0, RELAIS_ETOOBIG },
		{ { 0 }, 0, 0, 0 },
		{ { 5, 4 }, 2, 10, RELAIS_ECORRUPT },       /* decreasing */
		{ { 5, 5 }, 2, 10, RELAIS_ECORRUPT },       /* equal */
		{ { 1, 9, 3, 10 }, 4, 10, RELAIS_ECORRUPT },
		{ { UINT64_MAX, 0 }, 2, 10, RELAIS_ECORRUPT },
	};
	for (size_t i = 0; i < N(cases); i++) {
		/* written by hand: the encoder refuses a bad order itself */
		struct buf raw = BUF_INIT(4096);
		CHECK_OK(sync_put_bytes(&raw, "00000000000000aa", 16));
		CHECK_OK(sync_put_uv(&raw, cases[i].n));
		for (size_t k = 0; k < cases[i].n; k++) {
			CHECK_OK(sync_put_uv(&raw, cases[i].seq[k]));
			CHECK_OK(sync_put_u64(&raw, 1));
			CHECK_OK(sync_put_bytes(&raw, cs, sizeof(cs)));
		}
		struct sync_push p;
		CHECK_INT_IDX(sync_push_decode(raw.data, raw.len, cases[i].max_items, &p), cases[i].rc, i);
		if (cases[i].rc == 0) {
			CHECK_INT_IDX(p.count, cases[i].n, i);
			CHECK_IDX(p.node == 0xaa, i);
		} else {
			CHECK_IDX(p.items == NULL && p.count == 0, i);
		}
		sync_push_free(&p);

		/* the encoder refuses what the decoder refuses for order */
		struct sync_push_item items[4];
		for (size_t k = 0; k < cases[i].n; k++) {
			items[k].seq = cases[i].seq[k];
			items[k].hlc = 1;
			items[k].changeset = cs;
			items[k].len = sizeof(cs);
		}
		struct buf enc = BUF_INIT(4096);
		int rc = sync_push_encode(1, items, cases[i].n, &enc);
		CHECK_INT_IDX(rc, cases[i].rc == RELAIS_ECORRUPT ? RELAIS_EINVAL : 0, i);
		if (rc)
			CHECK_INT_IDX(enc.len, 0, i);
		buf_release(&enc);
		buf_release(&raw);
	}
}

TEST(wire_push_refuses_garbage)
{
	/* an INSERT, nothing, a table header alone */
	static const unsigned char cs[] = { 'T', 1, 1, 't', 0, 0x12, 0, 5 };
	const struct sync_push_item items[] = {
		{ 1, 10, cs, sizeof(cs) }, { 2, 11, cs, 0 }, { 3, 12, cs, 5 },
	};
	struct buf raw = BUF_INIT(4096);
	CHECK_OK(sync_push_encode(UINT64_C(0xdeadbeef), items, N(items), &raw));

	/* every truncation of a valid payload */
	for (size_t cut = 0; cut < raw.len; cut++) {
		unsigned char *copy = malloc(cut ? cut : 1);
		CHECK_IDX(copy != NULL, cut);
		memcpy(copy, raw.data, cut);
		struct sync_push p;
		int rc = sync_push_decode(copy, cut, 100, &p);
		free(copy);
		CHECK_INT_IDX(rc, RELAIS_ECORRUPT, cut);
		CHECK_IDX(p.items == NULL, cut);
	}
	/* a trailing byte */
	struct sync_push p;
	CHECK_OK(buf_putc(&raw, 0));
	CHECK_INT(sync_push_decode(raw.data, raw.len, 100, &p), RELAIS_ECORRUPT);
	raw.len--;
	CHECK_OK(sync_push_decode(raw.data, raw.len, 100, &p));
	CHECK_INT(p.count, 3);
	CHECK(p.node == UINT64_C(0xdeadbeef));
	sync_push_free(&p);

	/* the node as 16 hex digits, as clients of wire version 1 send it */
	{
		struct buf b = BUF_INIT(4096);
		CHECK_OK(sync_put_bytes(&b, "00000000deadbeef", 16));
		CHECK_OK(sync_put_uv(&b, 0));
		CHECK_OK(sync_push_decode(b.data, b.len, 100, &p));
		CHECK(p.node == UINT64_C(0xdeadbeef));
		sync_push_free(&p);
		buf_release(&b);
	}
	/* bad node ids */
	static const struct {
		const char *node;
		size_t len;
	} nodes[] = {
		{ "00000000000000AA", 16 }, { "0000000000000aa", 15 }, { "00000000000000aa0", 17 },
		{ "00000000000000a\0", 16 }, { "", 0 }, { "zzzzzzzzzzzzzzzz", 16 },
		{ "\0\0\0\0\0\0\0", 7 }, { "\0\0\0\0\0\0\0\0\0", 9 },
	};
	for (size_t i = 0; i < N(nodes); i++) {
		struct buf b = BUF_INIT(4096);
		CHECK_OK(sync_put_bytes(&b, nodes[i].node, nodes[i].len));
		CHECK_OK(sync_put_uv(&b, 0));
		CHECK_INT_IDX(sync_push_decode(b.data, b.len, 100, &p), RELAIS_ECORRUPT, i);
		buf_release(&b);
	}

	/* a count the payload cannot hold is refused before allocating */
	static const uint64_t counts[] = { 1, 2, 1000000, UINT64_MAX / 8, UINT64_MAX };
	for (size_t i = 0; i < N(counts); i++) {
		struct buf b = BUF_INIT(4096);
		CHECK_OK(sync_put_bytes(&b, "0000000000000001", 16));
		CHECK_OK(sync_put_uv(&b, counts[i]));
		CHECK_OK(sync_put_uv(&b, 1));
		CHECK_INT_IDX(sync_push_decode(b.data, b.len, SIZE_MAX, &p), RELAIS_ECORRUPT, i);
		buf_release(&b);
	}
	CHECK_INT(sync_push_decode(NULL, 0, 100, &p), RELAIS_ECORRUPT);
	buf_release(&raw);
}

/* ---- pull ---- */

struct val {
	int type;
	int64_t i;
	double r;
	const char *p;
	size_t n;
};

#define VI(x) { SQLITE_INTEGER, (x), 0, NULL, 0 }
#define VR(x) { SQLITE_FLOAT, 0, (x), NULL, 0 }
#define VT(s) { SQLITE_TEXT, 0, 0, (s), sizeof(s) - 1 }
#define VB(s) { SQLITE_BLOB, 0, 0, (s), sizeof(s) - 1 }
#define VN { SQLITE_NULL, 0, 0, NULL, 0 }
#define NCOLS 6

static const struct {
	const char *id;
	int deleted;
	struct val v[NCOLS];
} pull_rows[] = {
	{ "a1", 0, { VT("a1"), VT("43"), VI(0), VR(0.0), VT(""), VB("") } },
	{ "a2", 0, { VT("a2"), VT("43"), VI(-1), VR(-2.0), VT("Élodie, animatrice"), VB("\0\0\xff\0") } },
	{ "a3", 0, { VT("a3"), VN, VI(INT64_MIN), VR(1e308), VN, VB("\0") } },
	{ "a4", 0, { VT("a4"), VT("32"), VI(INT64_MAX), VR(-2.5e-308), VT("tab\tnewline\n"), VN } },
	{ "a5", 1, { VN } },
	{ "a6", 0, { VN, VN, VN, VN, VN, VN } },
	{ "a7", 0, { VT("a7"), VT("43"), VI(-4242424242LL), VR(0.1), VT("x"), VB("a\0b") } },
};

static int bind_val(sqlite3_stmt *st, int col, const struct val *v)
{
	switch (v->type) {
	case SQLITE_INTEGER: return sqlite3_bind_int64(st, col, v->i);
	case SQLITE_FLOAT: return sqlite3_bind_double(st, col, v->r);
	case SQLITE_TEXT: return sqlite3_bind_text(st, col, v->p, (int)v->n, SQLITE_STATIC);
	case SQLITE_BLOB: return sqlite3_bind_blob(st, col, v->n ? v->p : "", (int)v->n, SQLITE_STATIC);
	default: return sqlite3_bind_null(st, col);
	}
}

static int same_val(const struct sync_value *got, const struct val *want)
{
	if (got->type != want->type)
		return 0;
	switch (want->type) {
	case SQLITE_INTEGER: return got->i == want->i;
	case SQLITE_FLOAT: return memcmp(&got->r, &want->r, sizeof(double)) == 0;
	case SQLITE_TEXT:
	case SQLITE_BLOB: return got->n == want->n && (want->n == 0 || memcmp(got->p, want->p, want->n) == 0);
	default: return 1;
	}
}

static void close_db(void *db)
{
	sqlite3_close(db);
}

/* Builds the pull payload of pull_rows through a real SQLite statement. */
static int build_pull(sqlite3 *db, struct buf *raw, uint64_t cursor, sync_hlc_t hlc, int more)
{
	sqlite3_stmt *ins = NULL, *sel = NULL;
	int rc = RELAIS_EDB;
	if (sqlite3_exec(db, "CREATE TABLE t(id TEXT PRIMARY KEY, dept TEXT, i INTEGER, r REAL, "
			 "s TEXT, b BLOB)", NULL, NULL, NULL) != SQLITE_OK)
		goto out;
	/* rowid order, so that the payload follows pull_rows */
	if (sqlite3_prepare_v2(db, "INSERT INTO t VALUES (?,?,?,?,?,?)", -1, &ins, NULL) ||
	    sqlite3_prepare_v2(db, "SELECT * FROM t WHERE rowid = ?", -1, &sel, NULL))
		goto out;
	rc = sync_pull_begin(raw);
	if (rc)
		goto out;
	for (size_t i = 0; i < N(pull_rows); i++) {
		if (pull_rows[i].deleted) {
			rc = sync_pull_add_deleted(raw, "t", pull_rows[i].id);
			if (rc)
				goto out;
			continue;
		}
		rc = RELAIS_EDB;
		sqlite3_reset(ins);
		for (int c = 0; c < NCOLS; c++)
			if (bind_val(ins, c + 1, &pull_rows[i].v[c]) != SQLITE_OK)
				goto out;
		if (sqlite3_step(ins) != SQLITE_DONE)
			goto out;
		sqlite3_reset(sel);
		sqlite3_bind_int64(sel, 1, sqlite3_last_insert_rowid(db));
		if (sqlite3_step(sel) != SQLITE_ROW)
			goto out;
		rc = sync_pull_add_row(raw, "t", pull_rows[i].id, sel, NCOLS);
		if (rc)
			goto out;
	}
	rc = sync_pull_finish(raw, cursor, hlc, more);
out:
	sqlite3_finalize(ins);
	sqlite3_finalize(sel);
	return rc;
}

/* Reads a whole pull payload; returns the number of records or <0. */
static long read_all(const void *raw, size_t len, size_t max_cols)
{
	struct sync_pull_reader pr;
	struct sync_pull_record rec;
	struct sync_value vals[NCOLS + 2];
	long n = 0;
	int rc = sync_pull_open(&pr, raw, len);
	if (rc)
		return rc;
	while ((rc = sync_pull_next(&pr, &rec, vals, max_cols)) == 1)
		n++;
	return rc < 0 ? rc : n;
}

TEST(wire_pull_round_trip_all_types)
{
	sqlite3 *db = NULL;
	CHECK_INT(sqlite3_open(":memory:", &db), SQLITE_OK);
	test_defer(close_db, db);
	struct buf raw = BUF_INIT(SYNC_WIRE_MAX_RAW), env = BUF_INIT(SYNC_WIRE_MAX_BODY);
	struct buf back = BUF_INIT(SYNC_WIRE_MAX_RAW);
	CHECK_OK(build_pull(db, &raw, UINT64_C(0x1122334455667788), sync_hlc_make(1795430725123, 9), 1));
	CHECK_OK(sync_wire_seal(SYNC_WIRE_PULL, 2, raw.data, raw.len, &env));
	enum sync_wire_kind kind;
	unsigned schema;
	CHECK_OK(sync_wire_open(env.data, env.len, SYNC_WIRE_MAX_RAW, &kind, &schema, &back));
	CHECK_INT(kind, SYNC_WIRE_PULL);
	CHECK_INT(schema, 2);

	struct sync_pull_reader pr;
	CHECK_OK(sync_pull_open(&pr, back.data, back.len));
	CHECK(pr.next_cursor == UINT64_C(0x1122334455667788));
	CHECK(pr.server_hlc == sync_hlc_make(1795430725123, 9));
	CHECK_INT(pr.more, 1);
	CHECK_INT(pr.count, N(pull_rows));
	for (size_t i = 0; i < N(pull_rows); i++) {
		struct sync_pull_record rec;
		struct sync_value vals[NCOLS];
		CHECK_INT_IDX(sync_pull_next(&pr, &rec, vals, NCOLS), 1, i);
		CHECK_IDX(rec.table_len == 1 && rec.table[0] == 't', i);
		CHECK_IDX(rec.id_len == strlen(pull_rows[i].id) &&
			  memcmp(rec.id, pull_rows[i].id, rec.id_len) == 0, i);
		CHECK_INT_IDX(rec.deleted, pull_rows[i].deleted, i);
		CHECK_INT_IDX(rec.ncols, pull_rows[i].deleted ? 0 : NCOLS, i);
		CHECK_IDX(rec.values == vals, i);
		for (size_t c = 0; c < rec.ncols; c++) {
			CHECK_INT_IDX(vals[c].type, pull_rows[i].v[c].type, (int)(i * 10 + c));
			CHECK_IDX(same_val(&vals[c], &pull_rows[i].v[c]), (int)(i * 10 + c));
		}
	}
	struct sync_pull_record rec;
	struct sync_value vals[NCOLS];
	CHECK_INT(sync_pull_next(&pr, &rec, vals, NCOLS), 0);
	CHECK_INT(sync_pull_next(&pr, &rec, vals, NCOLS), 0);

	/* a reader that allows fewer columns refuses the first live record */
	CHECK_INT(read_all(back.data, back.len, NCOLS - 1), RELAIS_ECORRUPT);
	CHECK_INT(read_all(back.data, back.len, NCOLS), N(pull_rows));

	/* every truncation of the payload fails cleanly */
	for (size_t cut = 0; cut < back.len; cut++) {
		unsigned char *copy = malloc(cut ? cut : 1);
		CHECK_IDX(copy != NULL, cut);
		memcpy(copy, back.data, cut);
		long n = read_all(copy, cut, NCOLS);
		free(copy);
		CHECK_INT_IDX(n, RELAIS_ECORRUPT, cut);
	}
	/* trailing garbage after the last record */
	CHECK_OK(buf_putc(&back, 0));
	CHECK_INT(read_all(back.data, back.len, NCOLS), RELAIS_ECORRUPT);

	buf_release(&raw);
	buf_release(&env);
	buf_release(&back);
}

TEST(wire_pull_writer_contract)
{
	struct buf raw = BUF_INIT(1 << 20);
	/* add and finish need begin; begin needs an empty buffer */
	CHECK_INT(sync_pull_add_deleted(&raw, "t", "x"), RELAIS_EINVAL);
	CHECK_INT(sync_pull_finish(&raw, 1, 1, 0), RELAIS_EINVAL);
	CHECK_OK(buf_putc(&raw, 'z'));
	CHECK_INT(sync_pull_begin(&raw), RELAIS_EINVAL);
	buf_reset(&raw);

	/* an empty page */
	CHECK_OK(sync_pull_begin(&raw));
	CHECK_OK(sync_pull_finish(&raw, 0, 0, 0));
	struct sync_pull_reader pr;
	CHECK_OK(sync_pull_open(&pr, raw.data, raw.len));
	CHECK_INT(pr.count, 0);
	CHECK_INT(pr.more, 0);
	CHECK_INT(read_all(raw.data, raw.len, 0), 0);

	/* more than one byte's worth of records: the patched count holds */
	buf_reset(&raw);
	CHECK_OK(sync_pull_begin(&raw));
	for (int i = 0; i < 20000; i++) {
		char id[16];
		snprintf(id, sizeof(id), "r%d", i);
		CHECK_OK(sync_pull_add_deleted(&raw, "promeneur", id));
	}
	CHECK_OK(sync_pull_finish(&raw, 20000, 5, 7)); /* any non-zero more is 1 */
	CHECK_OK(sync_pull_open(&pr, raw.data, raw.len));
	CHECK_INT(pr.count, 20000);
	CHECK_INT(pr.more, 1);
	CHECK(pr.next_cursor == 20000);
	CHECK_INT(read_all(raw.data, raw.len, 0), 20000);

	/* a record that does not fit the cap leaves the page as it was */
	struct buf small = BUF_INIT(40);
	CHECK_OK(sync_pull_begin(&small));
	CHECK_OK(sync_pull_add_deleted(&small, "t", "1"));
	size_t before = small.len;
	CHECK_INT(sync_pull_add_deleted(&small, "a-rather-long-table-name", "1"), RELAIS_ETOOBIG);
	CHECK_INT(small.len, before);
	CHECK_OK(sync_pull_finish(&small, 1, 1, 0));
	CHECK_INT(read_all(small.data, small.len, 0), 1);
	buf_release(&small);
	buf_release(&raw);
}

TEST(wire_pull_reader_refuses_garbage)
{
	/* each case: header fields, then one hand-written record */
	static const struct {
		uint64_t more, count;
		uint64_t deleted, ncols, type;
		int rc;
	} cases[] = {
		{ 0, 1, 0, 1, SQLITE_NULL, 1 },
		{ 2, 1, 0, 1, SQLITE_NULL, RELAIS_ECORRUPT },   /* more not 0/1 */
		{ 0, 1, 2, 0, SQLITE_NULL, RELAIS_ECORRUPT },   /* deleted not 0/1 */
		{ 0, 1, 1, 1, SQLITE_NULL, RELAIS_ECORRUPT },   /* deleted with values */
		{ 0, 1, 0, 1, 0, RELAIS_ECORRUPT },             /* unknown types */
		{ 0, 1, 0, 1, 6, RELAIS_ECORRUPT },
		{ 0, 1, 0, 1, 1 + (UINT64_C(1) << 32), RELAIS_ECORRUPT },
		{ 0, 1, 0, 3, SQLITE_NULL, RELAIS_ECORRUPT },   /* more columns than max */
		{ 0, 2, 0, 1, SQLITE_NULL, RELAIS_ECORRUPT },   /* count larger than records */
		{ 0, 0, 0, 1, SQLITE_NULL, RELAIS_ECORRUPT },   /* a record past count */
		{ 0, UINT64_MAX, 0, 1, SQLITE_NULL, RELAIS_ECORRUPT },
	};
	for (size_t i = 0; i < N(cases); i++) {
		struct buf b = BUF_INIT(4096);
		CHECK_OK(sync_put_u64(&b, 1));
		CHECK_OK(sync_put_u64(&b, 2));
		CHECK_OK(sync_put_uv(&b, cases[i].more));
		CHECK_OK(sync_put_uv(&b, cases[i].count));
		CHECK_OK(sync_put_bytes(&b, "t", 1));
		CHECK_OK(sync_put_bytes(&b, "id", 2));
		CHECK_OK(sync_put_uv(&b, cases[i].deleted));
		CHECK_OK(sync_put_uv(&b, cases[i].ncols));
		for (uint64_t c = 0; c < cases[i].ncols; c++)
			CHECK_OK(sync_put_uv(&b, cases[i].type));
		long n = read_all(b.data, b.len, 2);
		CHECK_INT_IDX(n, cases[i].rc, i);
		buf_release(&b);
	}
	/* a failed next leaves the reader where it was */
	struct buf b = BUF_INIT(4096);
	CHECK_OK(sync_put_u64(&b, 1));
	CHECK_OK(sync_put_u64(&b, 2));
	CHECK_OK(sync_put_uv(&b, 0));
	CHECK_OK(sync_put_uv(&b, 1));
	CHECK_OK(sync_put_bytes(&b, "t", 1));
	CHECK_OK(sync_put_bytes(&b, "id", 2));
	CHECK_OK(sync_put_uv(&b, 0));
	CHECK_OK(sync_put_uv(&b, 2));
	CHECK_OK(sync_put_uv(&b, SQLITE_INTEGER));
	CHECK_OK(sync_put_u64(&b, (uint64_t)-5));
	CHECK_OK(sync_put_uv(&b, SQLITE_FLOAT));
	double d = -1.5;
	uint64_t bits;
	memcpy(&bits, &d, sizeof(bits));
	CHECK_OK(sync_put_u64(&b, bits));
	struct sync_pull_reader pr;
	struct sync_pull_record rec;
	struct sync_value vals[2];
	CHECK_OK(sync_pull_open(&pr, b.data, b.len));
	size_t off = pr.r.off;
	CHECK_INT(sync_pull_next(&pr, &rec, vals, 1), RELAIS_ECORRUPT);
	CHECK_INT(pr.r.off, off);
	CHECK_INT(pr.done, 0);
	CHECK_INT(sync_pull_next(&pr, &rec, vals, 2), 1);
	CHECK_INT(vals[0].type, SQLITE_INTEGER);
	CHECK_INT(vals[0].i, -5);
	CHECK_INT(vals[1].type, SQLITE_FLOAT);
	CHECK(vals[1].r == -1.5);
	CHECK_INT(sync_pull_next(&pr, &rec, vals, 2), 0);
	buf_release(&b);
	CHECK_INT(sync_pull_open(&pr, NULL, 0), RELAIS_ECORRUPT);
}

TEST(wire_sync_answer_round_trip)
{
	/* The answer's fields, then a pull payload read back from pull_off;
	 * every truncation of the fields is ECORRUPT. */
	static const struct sync_answer cases[] = {
		{ 0, 0, 0, 0, 0 },
		{ 7, 1, 1, 0, 0 },
		{ UINT64_MAX, 100000, 1u << 20, 3, 2 },
	};
	for (size_t i = 0; i < N(cases); i++) {
		struct buf page = BUF_INIT(1 << 20), raw = BUF_INIT(1 << 20);
		CHECK_OK(sync_pull_begin(&page));
		CHECK_OK(sync_pull_add_deleted(&page, "structure", "x"));
		CHECK_OK(sync_pull_finish(&page, 42, 9, 1));
		CHECK_OK(sync_answer_encode(&cases[i], page.data, page.len, &raw));
		struct sync_answer a;
		size_t off = 0;
		CHECK_OK(sync_answer_decode(raw.data, raw.len, &a, &off));
		CHECK_IDX(!memcmp(&a, &cases[i], sizeof(a)), i);
		CHECK_INT_IDX(raw.len - off, page.len, i);
		struct sync_pull_reader pr;
		CHECK_OK(sync_pull_open(&pr, raw.data + off, raw.len - off));
		CHECK_INT_IDX(pr.next_cursor, 42, i);
		CHECK_INT_IDX(pr.more, 1, i);
		for (size_t cut = 0; cut < off; cut++)
			CHECK_INT_IDX(sync_answer_decode(raw.data, cut, &a, &off), RELAIS_ECORRUPT, i);
		buf_release(&page);
		buf_release(&raw);
	}
}
