/*
 * test-e2e-onesync.c - an editor's sync in one request.
 *
 * `relais sync` with pending edits sends them to POST /v1/sync, whose answer
 * carries the pull page that follows the push, without the rows the push
 * wrote as the pusher holds them. These tests count the requests in the
 * daemon's log (one line per request) and check that the replicas end as a
 * fresh replica bootstrapped from the server (the server's state), with
 * the pusher getting back every row someone else touched meanwhile.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../common/util.h"
#include "../model/model.h"
#include "../sync/wire.h"
#include "harness.h"
#include "test.h"

/* Requests the daemon logged so far (lines naming a /v1/ path); the log's
 * text is harness-owned. */
static int requests(const struct h_daemon *d)
{
	size_t len = 0;
	char *log = h_read_file(d->log, &len);
	int n = 0;
	for (const char *p = log; p && (p = strstr(p, " /v1/")); p++)
		if (strncmp(p, " /v1/health", 11))
			n++;
	return n;
}

/* The number before « ligne » in sync's summary, or -1. */
static long rows_received(const char *out)
{
	const char *p = out ? strstr(out, "envoyée") : NULL;
	p = p ? strchr(p, ',') : NULL;
	return p ? strtol(p + 1, NULL, 10) : -1;
}

static void later(void)
{
	struct timespec ts = { 0, 20 * 1000000L };
	nanosleep(&ts, NULL);
}

/* Every replica's export equals a new replica's (the server's state). */
static int same_as_server(const struct h_daemon *d, const char *token, const char *name,
			  const char *const *homes, int n)
{
	const char *fresh = h_replica(d, name, token);
	const char *want = fresh ? h_export_text(fresh) : NULL;
	if (!want)
		return -1;
	for (int i = 0; i < n; i++) {
		const char *got = h_export_text(homes[i]);
		if (!got || strcmp(got, want)) {
			fprintf(stderr, "  replica %d differs from the server:\n  %.1500s\n  %.1500s\n",
				i, want, got ? got : "(failed)");
			return -1;
		}
	}
	return 0;
}

TEST(e2e_onesync_one_request_per_sync)
{
	struct h_daemon d;
	char ta[H_TOKEN], tb[H_TOKEN], tc[H_TOKEN];
	h_setup();
	CHECK(h_daemon_coords(&d, "one", ta, tb, tc) == 0);
	CHECK(h_daemon_serve(&d) == 0);
	const char *A = h_replica(&d, "A", ta), *B = h_replica(&d, "B", tb);
	CHECK(A && B);
	const char *s = h_relais_ok(A, "structure", "add", "--nom", "MJC de Tarbes", "--commune",
				    "Tarbes", (char *)NULL);
	CHECK(s != NULL);

	/* A's new row: one request, and nothing comes back to A. */
	int n0 = requests(&d);
	const char *o = h_relais_ok(A, "sync", (char *)NULL);
	CHECK(o != NULL);
	CHECK_INT(requests(&d) - n0, 1);
	CHECK_INT(rows_received(o), 0);

	/* B's pull-only sync: one request, the row arrives. */
	n0 = requests(&d);
	o = h_relais_ok(B, "sync", (char *)NULL);
	CHECK(o != NULL);
	CHECK_INT(requests(&d) - n0, 1);
	CHECK_INT(rows_received(o), 1);

	/* A one-column edit: one request, not sent back. */
	CHECK(h_relais_ok(A, "structure", "set", s, "--commune", "Lourdes", (char *)NULL) != NULL);
	n0 = requests(&d);
	o = h_relais_ok(A, "sync", (char *)NULL);
	CHECK(o != NULL);
	CHECK_INT(requests(&d) - n0, 1);
	CHECK_INT(rows_received(o), 0);
	CHECK(h_sync(B, &d) == 0);

	/* B edits another column meanwhile: A's sync brings the row back,
	 * since A does not hold B's value. */
	CHECK(h_relais_ok(B, "structure", "set", s, "--nom", "MJC de Lourdes", (char *)NULL) != NULL);
	CHECK(h_sync(B, &d) == 0);
	later();
	CHECK(h_relais_ok(A, "structure", "set", s, "--telephone", "0601020304", (char *)NULL) != NULL);
	n0 = requests(&d);
	o = h_relais_ok(A, "sync", (char *)NULL);
	CHECK(o != NULL);
	CHECK_INT(requests(&d) - n0, 1);
	CHECK_INT(rows_received(o), 1);
	CHECK(h_sync(B, &d) == 0);
	const char *homes[] = { A, B };
	CHECK(same_as_server(&d, tc, "C1", homes, 2) == 0);

	/* The same column raced: the later edit wins everywhere, the loser is
	 * a conflict on both replicas, and the loser's author gets the row. */
	CHECK(h_relais_ok(A, "structure", "set", s, "--commune", "Vic", (char *)NULL) != NULL);
	later();
	CHECK(h_relais_ok(B, "structure", "set", s, "--commune", "Ibos", (char *)NULL) != NULL);
	CHECK(h_sync(B, &d) == 0);
	o = h_relais_ok(A, "sync", (char *)NULL);
	CHECK(o != NULL);
	CHECK(rows_received(o) >= 2); /* the row and the conflict record */
	CHECK(h_sync(B, &d) == 0);
	json_t *ea = h_export(A);
	CHECK(ea != NULL);
	CHECK_STR(h_row_str(h_export_row(ea, "structure", s), "commune"), "Ibos");
	json_t *ca = h_conflicts(A, 0), *cb = h_conflicts(B, 0);
	CHECK(ca && cb);
	CHECK_INT(json_array_size(ca), 1);
	CHECK_INT(json_array_size(cb), 1);
	CHECK(same_as_server(&d, tc, "C2", homes, 2) == 0);

	/* A deletion is not sent back either, and the other replica loses the row. */
	CHECK(h_relais_ok(A, "structure", "rm", s, (char *)NULL) != NULL);
	o = h_relais_ok(A, "sync", (char *)NULL);
	CHECK(o != NULL);
	CHECK_INT(rows_received(o), 0);
	CHECK(h_sync(B, &d) == 0);
	CHECK(same_as_server(&d, tc, "C3", homes, 2) == 0);
	CHECK_INT(h_daemon_stop(&d), 0);
}

TEST(e2e_onesync_compact_header)
{
	/* "X-Relais: SCHEMA EPOCH DEPT" is checked as the three long headers
	 * are, and a long one sent too wins. Its sender reads envelopes of wire
	 * version 2; a client that sends only the long ones gets version 1. */
	struct h_daemon d;
	char t[H_TOKEN];
	struct h_http r;
	h_setup();
	CHECK(h_daemon_init(&d, "compact") == 0);
	CHECK(h_daemon_user(&d, "coord-a", "65", "coordinateur", t) == 0);
	CHECK(h_daemon_serve(&d) == 0);
	const struct {
		const char *extra;
		int status;
		const char *code;
		int wire;
	} cases[] = {
		{ h_strf("X-Relais: %d - 65\r\n", MODEL_SCHEMA_VERSION), 200, NULL, 2 },
		{ h_strf("X-Relais: %d - -\r\n", MODEL_SCHEMA_VERSION), 200, NULL, 2 },
		{ h_strf("X-Relais-Schema: %d\r\n", MODEL_SCHEMA_VERSION), 200, NULL, 1 },
		{ "X-Relais: 999 - 65\r\n", 409, "schema", 0 },
		{ "X-Relais: - - 65\r\n", 400, "bad_request", 0 },
		{ "X-Relais: abc\r\n", 400, "bad_request", 0 },
		{ h_strf("X-Relais: %d 0123456789abcdef 65\r\n", MODEL_SCHEMA_VERSION), 409, "restored", 0 },
		{ h_strf("X-Relais: %d - 43\r\n", MODEL_SCHEMA_VERSION), 409, "departement", 0 },
		{ h_strf("X-Relais-Schema: 999\r\nX-Relais: %d - 65\r\n", MODEL_SCHEMA_VERSION), 409, "schema", 0 },
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		CHECK_INT_IDX(h_http(d.port, "GET", "/v1/pull?since=0", t, cases[k].extra, NULL, 0, &r), 0, k);
		CHECK_INT_IDX(r.status, cases[k].status, k);
		if (cases[k].code)
			CHECK_IDX(h_http_error_json(&r, cases[k].code) == 0, k);
		if (cases[k].wire) {
			struct buf raw = BUF_INIT(SYNC_WIRE_MAX_RAW);
			enum sync_wire_kind kind;
			unsigned schema;
			CHECK_IDX(r.bodylen > 8 && (unsigned char)r.body[4] == cases[k].wire, k);
			CHECK_INT_IDX(sync_wire_open(r.body, r.bodylen, SYNC_WIRE_MAX_RAW, &kind, &schema,
						     &raw), 0, k);
			CHECK_INT_IDX(kind, SYNC_WIRE_PULL, k);
			buf_release(&raw);
		}
	}
	CHECK_INT(h_daemon_stop(&d), 0);
}

/* A replica far behind that syncs an edit still gets, in the same one
 * request, the whole page its limit allows: the server reads the first
 * rows in the push's group and the rest once the group is done. */
TEST(e2e_onesync_far_behind_whole_page_in_one_request)
{
	enum { ROWS = 400 };
	struct h_daemon d;
	char ta[H_TOKEN], tb[H_TOKEN], tc[H_TOKEN];
	h_setup();
	CHECK(h_daemon_coords(&d, "loin", ta, tb, tc) == 0);
	CHECK(h_daemon_serve(&d) == 0);
	const char *A = h_replica(&d, "A", ta), *B = h_replica(&d, "B", tb);
	CHECK(A && B);

	const char *csv = h_path("annuaire.csv");
	FILE *f = fopen(csv, "w");
	CHECK(f != NULL);
	fprintf(f, "Nom;Prénom;Structure;Commune;Courriel;Téléphone;Réseaux;Noms de profil\n");
	for (int i = 0; i < ROWS; i++)
		fprintf(f, "Martin%d;Léa;Centre social n°%d;Tarbes;lea%d@exemple.fr;06%08d;"
			"Instagram;lea_%d\n", i, i % 40, i, i, i);
	CHECK_INT(fclose(f), 0);
	CHECK(h_relais_ok(A, "import", "annuaire", csv, (char *)NULL) != NULL);
	CHECK(h_sync(A, &d) == 0);

	CHECK(h_relais_ok(B, "structure", "add", "--nom", "MJC de Tarbes", "--commune", "Tarbes",
			  (char *)NULL) != NULL);
	int n0 = requests(&d);
	const char *o = h_relais_ok(B, "sync", (char *)NULL);
	CHECK(o != NULL);
	CHECK_INT(requests(&d) - n0, 1);
	CHECK(rows_received(o) > 2 * ROWS);
	CHECK(h_sync(A, &d) == 0);
	const char *homes[] = { A, B };
	CHECK(same_as_server(&d, tc, "C", homes, 2) == 0);
	CHECK_INT(h_daemon_stop(&d), 0);
}
