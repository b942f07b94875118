/*
 * test-e2e-input.c - hostile input against a running relaisd.
 *
 * Every hostile request must get a 4xx with a JSON {"error","message"},
 * change nothing in the store, and leave the daemon answering; SIGTERM at
 * the end must still exit 0.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "../common/util.h"
#include "../model/model.h"
#include "../sync/wire.h"
#include "harness.h"
#include "test.h"

#define SCHEMA_HEADER "X-Relais-Schema: 3\r\n"

_Static_assert(MODEL_SCHEMA_VERSION == 3, "update SCHEMA_HEADER");

static const char *const depts[] = { "65" };

static void put_be16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/*
 * An envelope whose payload is `zeros` zero bytes, declared as `declared`
 * bytes with the CRC of the real payload: a few tens of KiB on the wire.
 */
static int zlib_bomb(size_t zeros, uint32_t declared, struct buf *env)
{
	static unsigned char chunk[1u << 20];
	unsigned char head[SYNC_WIRE_HEADER] = { 'R', 'L', 'S', 'Y', 1, SYNC_WIRE_PUSH };
	unsigned char out[1u << 16];
	z_stream z;
	uLong crc = crc32(0L, Z_NULL, 0);
	int rc = -1;
	memset(&z, 0, sizeof(z));
	if (deflateInit(&z, 9) != Z_OK)
		return -1;
	for (size_t left = zeros; left > 0;) {
		size_t n = left < sizeof(chunk) ? left : sizeof(chunk);
		crc = crc32(crc, chunk, (uInt)n);
		left -= n;
	}
	put_be16(head + 6, MODEL_SCHEMA_VERSION);
	put_be32(head + 8, declared);
	put_be32(head + 12, (uint32_t)crc);
	if (buf_append(env, head, sizeof(head)))
		goto out;
	for (size_t left = zeros;;) {
		size_t n = left < sizeof(chunk) ? left : sizeof(chunk);
		left -= n;
		z.next_in = chunk;
		z.avail_in = (uInt)n;
		int flush = left ? Z_NO_FLUSH : Z_FINISH;
		int zr;
		do {
			z.next_out = out;
			z.avail_out = sizeof(out);
			zr = deflate(&z, flush);
			if (zr == Z_STREAM_ERROR)
				goto out;
			if (buf_append(env, out, sizeof(out) - z.avail_out))
				goto out;
		} while (z.avail_out == 0);
		if (!left) {
			if (zr != Z_STREAM_END)
				goto out;
			break;
		}
	}
	rc = 0;
out:
	deflateEnd(&z);
	return rc;
}

/* A push payload of one item whose changeset is cs[0..n). */
static int push_with_changeset(const void *cs, size_t n, struct buf *env)
{
	struct buf raw = BUF_INIT(1u << 20);
	struct sync_push_item it = { 1, sync_hlc_make((uint64_t)util_now_ms(), 0), cs, n };
	uint64_t node;
	int rc = -1;
	if (util_random(&node, sizeof(node)) || sync_push_encode(node, &it, 1, &raw) ||
	    h_seal(&raw, MODEL_SCHEMA_VERSION, env))
		goto out;
	rc = 0;
out:
	buf_release(&raw);
	return rc;
}

struct hostile {
	const char *name;
	struct buf body;
	const char *extra;   /* headers; SCHEMA_HEADER when NULL */
	int status;          /* expected; 0: any 4xx */
	const char *error;   /* expected "error", NULL: any */
};

TEST(e2e_input_hostile_push_bodies)
{
	struct h_daemon d;
	char tok[H_TOKEN];
	struct buf raw = BUF_INIT(1u << 20), good = BUF_INIT(1u << 20), cs = BUF_INIT(1u << 20);
	char id[37];
	enum { NH = 13 };
	static struct hostile hs[NH];
	h_setup();
	CHECK(h_daemon_init(&d, "input") == 0);
	CHECK(h_daemon_user(&d, "coord-hautes-pyrenees", "65", "coordinateur", tok) == 0);
	CHECK(h_daemon_serve(&d) == 0);
	CHECK(h_craft_push("good", "structure", "65", id, &raw, &cs) == 0);
	CHECK(h_seal(&raw, MODEL_SCHEMA_VERSION, &good) == 0);
	CHECK(good.len > SYNC_WIRE_HEADER + 8);

	for (int i = 0; i < NH; i++)
		buf_init(&hs[i].body, 20u << 20);
	int n = 0;
	unsigned char junk[4096];
	CHECK(util_random(junk, sizeof(junk)) == 0);

	hs[n] = (struct hostile){ "garbage", hs[n].body, NULL, 400, "bad_request" };
	CHECK(buf_append(&hs[n++].body, junk, sizeof(junk)) == 0);

	hs[n] = (struct hostile){ "truncated envelope", hs[n].body, NULL, 400, "bad_request" };
	CHECK(buf_append(&hs[n++].body, good.data, good.len - 5) == 0);

	hs[n] = (struct hostile){ "truncated header", hs[n].body, NULL, 400, "bad_request" };
	CHECK(buf_append(&hs[n++].body, good.data, 10) == 0);

	hs[n] = (struct hostile){ "bad CRC", hs[n].body, NULL, 400, "bad_request" };
	CHECK(buf_append(&hs[n].body, good.data, good.len) == 0);
	hs[n++].body.data[13] ^= 0x5a;

	hs[n] = (struct hostile){ "wrong wire version", hs[n].body, NULL, 400, "version" };
	CHECK(buf_append(&hs[n].body, good.data, good.len) == 0);
	hs[n++].body.data[4] = SYNC_WIRE_VERSION + 7;

	hs[n] = (struct hostile){ "wrong schema version", hs[n].body,
				  "X-Relais-Schema: 3\r\n", 409, "schema" };
	CHECK(h_seal(&raw, MODEL_SCHEMA_VERSION + 1, &hs[n++].body) == 0);

	hs[n] = (struct hostile){ "pull envelope pushed", hs[n].body, NULL, 400, "bad_request" };
	CHECK(buf_append(&hs[n].body, good.data, good.len) == 0);
	hs[n++].body.data[5] = SYNC_WIRE_PULL;

	hs[n] = (struct hostile){ "17 MiB body", hs[n].body, NULL, 413, "too_big" };
	CHECK(buf_grow(&hs[n].body, 17u << 20) == 0);
	memset(hs[n].body.data, 'x', 17u << 20);
	hs[n++].body.len = 17u << 20;

	hs[n] = (struct hostile){ "zlib bomb, declared", hs[n].body, NULL, 413, "too_big" };
	CHECK(zlib_bomb(SYNC_WIRE_MAX_RAW + (1u << 20), SYNC_WIRE_MAX_RAW + (1u << 20), &hs[n++].body) == 0);

	/* A stream inflating far past its declared length: refused either as
	 * corrupt or as too big, never inflated whole. */
	hs[n] = (struct hostile){ "zlib bomb, lying", hs[n].body, NULL, 0, NULL };
	CHECK(zlib_bomb(SYNC_WIRE_MAX_RAW + (1u << 20), 1000, &hs[n++].body) == 0);

	hs[n] = (struct hostile){ "corrupt changeset", hs[n].body, NULL, 400, "bad_request" };
	CHECK(push_with_changeset(junk, 300, &hs[n++].body) == 0);

	hs[n] = (struct hostile){ "truncated changeset", hs[n].body, NULL, 400, "bad_request" };
	CHECK(push_with_changeset(cs.data, cs.len / 2, &hs[n++].body) == 0);

	hs[n] = (struct hostile){ "empty body", hs[n].body, NULL, 400, "bad_request" };
	CHECK(buf_append(&hs[n++].body, "", 0) == 0);
	CHECK_INT(n, NH);

	const char *fp0 = h_store_fingerprint(&d, depts, 1);
	CHECK(fp0 != NULL);
	for (int i = 0; i < n; i++) {
		struct h_http r;
		int rc = h_http(d.port, "POST", "/v1/push", tok, hs[i].extra ? hs[i].extra : SCHEMA_HEADER,
				hs[i].body.data ? (const void *)hs[i].body.data : "", hs[i].body.len, &r);
		if (rc || (hs[i].status ? r.status != hs[i].status : (r.status < 400 || r.status > 499)))
			fprintf(stderr, "  case %d (%s): status %d, body %.300s\n", i, hs[i].name,
				r.status, r.body);
		CHECK_IDX(rc == 0, i);
		if (hs[i].status)
			CHECK_INT_IDX(r.status, hs[i].status, i);
		else
			CHECK_IDX(r.status >= 400 && r.status <= 499, i);
		CHECK_IDX(h_http_error_json(&r, hs[i].error) == 0, i);
		CHECK_IDX(h_daemon_healthy(&d), i);
		CHECK_STR_IDX(h_store_fingerprint(&d, depts, 1), fp0, i);
	}
	for (int i = 0; i < NH; i++)
		buf_release(&hs[i].body);

	/* The good envelope still goes through. */
	struct h_http r;
	CHECK(h_http(d.port, "POST", "/v1/push", tok, SCHEMA_HEADER, good.data, good.len, &r) == 0);
	CHECK_INT(r.status, 200);
	const char *fp1 = h_store_fingerprint(&d, depts, 1);
	CHECK(fp1 && strcmp(fp1, fp0));
	buf_release(&raw);
	buf_release(&good);
	buf_release(&cs);
	CHECK_INT(h_daemon_stop(&d), 0);
}

TEST(e2e_input_bad_queries_and_requests)
{
	struct h_daemon d;
	char tok[H_TOKEN];
	h_setup();
	CHECK(h_daemon_init(&d, "query") == 0);
	CHECK(h_daemon_user(&d, "coord-hautes-pyrenees", "65", "coordinateur", tok) == 0);
	CHECK(h_daemon_serve(&d) == 0);
	const char *fp0 = h_store_fingerprint(&d, depts, 1);
	CHECK(fp0 != NULL);

	static const struct {
		const char *method, *path;
		int status;
		const char *error;
	} cases[] = {
		{ "GET", "/v1/pull?since=abc&limit=10", 400, "bad_request" },
		{ "GET", "/v1/pull?since=-1&limit=10", 400, "bad_request" },
		{ "GET", "/v1/pull?since=1x&limit=10", 400, "bad_request" },
		{ "GET", "/v1/pull?since=0&limit=ten", 400, "bad_request" },
		{ "GET", "/v1/pull?since=0&limit=-5", 400, "bad_request" },
		{ "GET", "/v1/pull?since=99999999999999999999999999&limit=10", 400, "bad_request" },
		{ "GET", "/v1/pull?since=%00&limit=10", 400, "bad_request" },
		{ "GET", "/v1/snapshot?since=zz", 400, "bad_request" },
		{ "GET", "/v1/nowhere", 404, "not_found" },
		{ "GET", "/v1/push", 405, "method" },
		{ "DELETE", "/v1/pull?since=0", 405, "method" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct h_http r;
		int rc = h_http(d.port, cases[i].method, cases[i].path, tok, SCHEMA_HEADER, NULL, 0, &r);
		if (rc || r.status != cases[i].status)
			fprintf(stderr, "  case %zu (%s %s): status %d, body %.300s\n", i,
				cases[i].method, cases[i].path, r.status, r.body);
		CHECK_IDX(rc == 0, i);
		CHECK_INT_IDX(r.status, cases[i].status, i);
		CHECK_IDX(h_http_error_json(&r, cases[i].error) == 0, i);
	}

	/* Malformed HTTP: a 4xx (or a closed connection for what is not HTTP
	 * at all), and the daemon goes on. */
	struct buf big = BUF_INIT(1u << 20);
	CHECK(buf_puts(&big, "GET /v1/health HTTP/1.1\r\nHost: x\r\n") == 0);
	for (int i = 0; i < 400; i++)
		CHECK(buf_printf(&big, "X-Filler-%03d: %060d\r\n", i, i) == 0);
	CHECK(buf_puts(&big, "\r\n") == 0);
	const struct {
		const char *name;
		const void *req;
		size_t len;
	} raw[] = {
#define RAW(name, text) { name, text, sizeof(text) - 1 }
		RAW("not HTTP", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n"),
		RAW("bad request line", "GET\r\n\r\n"),
		RAW("header without colon", "GET /v1/health HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n"),
		RAW("negative length", "POST /v1/push HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"),
		RAW("huge length", "POST /v1/push HTTP/1.1\r\nHost: x\r\n"
		    "Content-Length: 99999999999999999999\r\n\r\n"),
#undef RAW
		{ "headers over 16 KiB", big.data, big.len },
	};
	for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
		struct h_http r;
		int rc = h_http_raw(d.port, raw[i].req, raw[i].len, &r, 10000);
		if (rc == 0 && (r.status < 400 || r.status > 499))
			fprintf(stderr, "  raw case %zu (%s): status %d\n", i, raw[i].name, r.status);
		if (rc == 0)
			CHECK_IDX(r.status >= 400 && r.status <= 499, i);
		else
			CHECK_IDX(i == 0, i); /* only what is not HTTP may get no answer */
		CHECK_IDX(h_daemon_healthy(&d), i);
	}
	buf_release(&big);
	CHECK_STR(h_store_fingerprint(&d, depts, 1), fp0);
	CHECK_INT(h_daemon_stop(&d), 0);
}
