/*
 * wire-seeds.c - writes the seed corpus of fuzz-wire into a directory:
 * push payloads and envelopes made by the real engine (edits captured on a
 * client replica of the model's tables), and a pull envelope the server
 * builds after merging them.
 *
 *   build-fuzz/wire-seeds fuzz/corpus/wire
 */
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

#define S1 "'11111111-1111-4111-8111-111111111111'"
#define S2 "'22222222-2222-4222-8222-222222222222'"
#define P1 "'33333333-3333-4333-8333-333333333333'"
#define R1 "'44444444-4444-4444-8444-444444444444'"

/* One captured local edit per entry. */
static const char *const edits[] = {
	"INSERT INTO structure(id, dept, nom, commune, type, code_postal, email) VALUES("
	S1 ", '43', 'MJC du Puy', 'Le Puy-en-Velay', 'mjc', '43000', 'mjc@example.org')",
	"INSERT INTO promeneur(id, dept, prenom, nom, email, structure, statut, heures_hebdo) "
	"VALUES(" P1 ", '43', 'Léa', 'Martin', 'lea@example.org', " S1 ", 'candidat', 3)",
	"INSERT INTO presence(id, dept, promeneur, reseau, nom_profil) VALUES("
	R1 ", '43', " P1 ", 'instagram', 'lea.pdn43')",
	"UPDATE promeneur SET statut='labellise', date_labellisation='2025-01-15', "
	"telephone='0471000000' WHERE id=" P1,
	("INSERT INTO structure(id, dept, nom, commune) VALUES(" S2 ", '43', 'PIJ', 'Yssingeaux');"
	 "UPDATE structure SET commentaire='ligne 1\nligne 2', subvention_equipement=500 WHERE id=" S1),
	"DELETE FROM presence WHERE id=" R1,
};

static int write_file(const char *dir, const char *name, const void *p, size_t n)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
		perror(path);
		return 1;
	}
	return 0;
}

static int open_db(int server, sqlite3 **db, struct sync_tables **t)
{
	if (sqlite3_open(":memory:", db) != SQLITE_OK || model_migrate(*db) ||
	    (server ? sync_server_schema(*db) : sync_client_schema(*db)) ||
	    sync_tables_load(*db, model_table_names, model_ntables, t)) {
		fprintf(stderr, "wire-seeds: schema: %s\n", sqlite3_errmsg(*db));
		return 1;
	}
	return 0;
}

/* Writes the payload of items [from, to) as NAME.raw and as a sealed NAME.rlsy. */
static int write_push(const char *dir, const char *name, const struct sync_outbox *o,
		      size_t from, size_t to)
{
	struct buf raw = BUF_INIT(SYNC_WIRE_MAX_RAW), env = BUF_INIT(SYNC_WIRE_MAX_BODY);
	char fn[256];
	int rc = sync_push_encode(o->node, o->items + from, to - from, &raw);
	if (!rc)
		rc = sync_wire_seal(SYNC_WIRE_PUSH, MODEL_SCHEMA_VERSION, raw.data, raw.len, &env);
	if (!rc) {
		snprintf(fn, sizeof(fn), "%s.raw", name);
		rc = write_file(dir, fn, raw.data, raw.len);
	}
	if (!rc) {
		snprintf(fn, sizeof(fn), "%s.rlsy", name);
		rc = write_file(dir, fn, env.data, env.len);
	}
	buf_release(&raw);
	buf_release(&env);
	return rc;
}

int main(int argc, char **argv)
{
	sqlite3 *cdb = NULL, *sdb = NULL;
	struct sync_tables *ct = NULL, *st = NULL;
	struct sync_outbox o = { 0 };
	struct sync_push p = { 0 };
	struct sync_merge_result res;
	struct buf pull = BUF_INIT(SYNC_WIRE_MAX_RAW), env = BUF_INIT(SYNC_WIRE_MAX_BODY);
	char err[512] = "";
	int rc = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: wire-seeds DIR\n");
		return 2;
	}
	if (open_db(0, &cdb, &ct) || open_db(1, &sdb, &st))
		goto out;
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		struct sync_capture *c;
		if (sync_capture_begin(cdb, ct, &c))
			goto out;
		if (sqlite3_exec(cdb, edits[i], NULL, NULL, NULL) != SQLITE_OK) {
			fprintf(stderr, "wire-seeds: %s\n", sqlite3_errmsg(cdb));
			sync_capture_abort(c);
			goto out;
		}
		if (sync_capture_commit(c))
			goto out;
	}
	if (sync_outbox_load(cdb, 1000, 1u << 20, &o) || o.count < 4)
		goto out;
	if (write_push(argv[1], "push-all", &o, 0, o.count) ||
	    write_push(argv[1], "push-insert", &o, 0, 1) ||
	    write_push(argv[1], "push-update", &o, 3, 4) ||
	    write_push(argv[1], "push-delete", &o, o.count - 1, o.count))
		goto out;
	/* The server merges everything and answers a pull from 0. */
	p.node = o.node;
	p.count = o.count;
	p.items = o.items;
	struct sync_author who = { "fuzz", "43", NULL };
	if (sync_merge(sdb, st, &who, &p, &res, err, sizeof(err))) {
		fprintf(stderr, "wire-seeds: merge: %s\n", err);
		goto out;
	}
	if (sync_pull_build(sdb, st, "43", 0, 100, 0, &pull) ||
	    sync_wire_seal(SYNC_WIRE_PULL, MODEL_SCHEMA_VERSION, pull.data, pull.len, &env) ||
	    write_file(argv[1], "pull.rlsy", env.data, env.len))
		goto out;
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "wire-seeds: failed\n");
	sync_outbox_free(&o);
	buf_release(&pull);
	buf_release(&env);
	sync_tables_free(ct);
	sync_tables_free(st);
	sqlite3_close(cdb);
	sqlite3_close(sdb);
	return rc;
}
