/*
 * fuzz-wire.c - libFuzzer target: a sync body as relaisd's push handler
 * (daemon/api.c do_push) and the client's pull reader take it.
 *
 * An input that starts with the magic "RLSY" is an envelope, opened with
 * sync_wire_open() as received. Any other input is taken as a payload that
 * this target seals first (sync_wire_seal, push kind, current schema): the
 * CRC and the zlib stream would otherwise stop nearly every mutation at
 * the envelope, and the payload and changeset decoders behind it would go
 * unexercised. The seal/open round trip must give the payload back.
 *
 * Past the envelope, as do_push: the kind and schema are checked, the
 * payload is decoded with sync_push_decode() and merged with sync_merge()
 * into an in-memory server database with the real model tables, which
 * iterates each changeset (sqlite3changeset_*) and writes it per column.
 * The database is put back to its pristine image after every merge that
 * committed, so each input meets the same state. A pull envelope goes
 * through sync_pull_open()/sync_pull_next() as the client reads it.
 * An error code that do_push would answer with a 500 aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "../common/buf.h"
#include "../common/relais.h"
#include "../model/model.h"
#include "../sync/sync.h"
#include "../sync/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PUSH_ITEMS 100000 /* API_MAX_PUSH_ITEMS */
#define MAX_COLS 64

static sqlite3 *db;
static struct sync_tables *tables;
static unsigned char *image;   /* the pristine database */
static sqlite3_int64 image_len;

static void die(const char *what, int rc)
{
	fprintf(stderr, "fuzz-wire: %s: %d\n", what, rc);
	abort();
}

static void setup(void)
{
	int rc;

	if (sqlite3_open(":memory:", &db) != SQLITE_OK)
		die("sqlite3_open", 0);
	if ((rc = model_migrate(db)) || (rc = sync_server_schema(db)) ||
	    (rc = sync_tables_load(db, model_table_names, model_ntables, &tables)))
		die("schema", rc);
	image = sqlite3_serialize(db, "main", &image_len, 0);
	if (!image)
		die("sqlite3_serialize", 0);
}

static void restore(void)
{
	unsigned char *copy = sqlite3_malloc64((sqlite3_uint64)image_len);
	if (!copy)
		die("sqlite3_malloc64", 0);
	memcpy(copy, image, (size_t)image_len);
	if (sqlite3_deserialize(db, "main", copy, image_len, image_len,
				SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_RESIZEABLE) != SQLITE_OK)
		die("sqlite3_deserialize", 0);
}

static void push(const unsigned char *raw, size_t len)
{
	static const struct sync_author who = { "fuzz", "43", NULL };
	struct sync_push p = { 0 };
	struct sync_merge_result res;
	char err[512];

	int rc = sync_push_decode(raw, len, MAX_PUSH_ITEMS, &p);
	if (rc == RELAIS_ENOMEM)
		die("sync_push_decode", rc);
	if (rc) {
		if (p.items || p.count)
			die("sync_push_decode left items after failing", rc);
		return;
	}
	for (size_t i = 1; i < p.count; i++)
		if (p.items[i].seq <= p.items[i - 1].seq)
			die("seqs not increasing", 0);
	rc = sync_merge(db, tables, &who, &p, &res, err, sizeof(err));
	switch (rc) {
	case 0:
		/* Even a push of old seqs registers its node. */
		restore();
		break;
	case RELAIS_EPERM:
	case RELAIS_ESCHEMA:
	case RELAIS_ECONSTRAINT:
	case RELAIS_ECORRUPT:
	case RELAIS_EINVAL:
		if (!err[0])
			die("sync_merge failed without a message", rc);
		break;
	default:
		fprintf(stderr, "fuzz-wire: %s\n", err);
		die("sync_merge (relaisd would answer 500)", rc);
	}
	sync_push_free(&p);
}

static void pull(const unsigned char *raw, size_t len)
{
	struct sync_pull_reader pr;
	struct sync_pull_record rec;
	struct sync_value values[MAX_COLS];
	int rc;

	if (sync_pull_open(&pr, raw, len))
		return;
	while ((rc = sync_pull_next(&pr, &rec, values, MAX_COLS)) == 1) {
		if (rec.ncols > MAX_COLS || (rec.deleted && rec.ncols))
			die("sync_pull_next record", (int)rec.ncols);
		for (size_t i = 0; i < rec.ncols; i++)
			if ((values[i].type == SQLITE_TEXT || values[i].type == SQLITE_BLOB) &&
			    values[i].n && (values[i].p < (const unsigned char *)raw ||
					    values[i].p + values[i].n > (const unsigned char *)raw + len))
				die("sync_pull_next value outside the payload", 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf body = BUF_INIT(SYNC_WIRE_MAX_BODY + SYNC_WIRE_HEADER);
	struct buf raw = BUF_INIT(SYNC_WIRE_MAX_RAW);
	enum sync_wire_kind kind;
	unsigned schema;
	int rc;

	if (!db)
		setup();
	if (size >= 4 && !memcmp(data, "RLSY", 4)) {
		rc = sync_wire_open(data, size, SYNC_WIRE_MAX_RAW, &kind, &schema, &raw);
	} else {
		rc = sync_wire_seal(SYNC_WIRE_PUSH, MODEL_SCHEMA_VERSION, data, size, &body);
		if (rc)
			die("sync_wire_seal", rc);
		rc = sync_wire_open(body.data, body.len, SYNC_WIRE_MAX_RAW, &kind, &schema, &raw);
		if (rc || kind != SYNC_WIRE_PUSH || schema != MODEL_SCHEMA_VERSION ||
		    raw.len != size || (size && memcmp(raw.data, data, size)))
			die("seal/open round trip", rc);
	}
	if (rc == RELAIS_ENOMEM)
		die("sync_wire_open", rc);
	if (rc) {
		if (raw.len)
			die("sync_wire_open left bytes after failing", rc);
		goto out;
	}
	if (schema != MODEL_SCHEMA_VERSION)
		goto out;
	if (kind == SYNC_WIRE_PUSH)
		push(raw.data ? raw.data : (const unsigned char *)"", raw.len);
	else if (kind == SYNC_WIRE_PULL)
		pull(raw.data ? raw.data : (const unsigned char *)"", raw.len);
out:
	buf_release(&body);
	buf_release(&raw);
	return 0;
}
