/*
 * test-e2e-rural.c - a replica behind an emulated rural link.
 *
 * netem does not exist in this kernel: the fault proxy delays each chunk,
 * limits the rate in each direction and drops every connection at a fixed
 * period (fp_set_link). A new replica bootstraps across the cuts by running
 * `relais init` again until it succeeds, downloading the département's file
 * about once (each run resumes where the last one stopped); then a day's
 * edits sync across the cuts. Both end as the server's state, with no
 * conflict. Nothing here is timed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "harness.h"
#include "soak/faultproxy.h"
#include "test.h"

#define LINK_DELAY_MS 50
#define LINK_RATE 32000        /* bytes per second each way */
#define LINK_CUT_MS 1500
#define ATTEMPTS 40

/* Runs `relais --home home args` until it exits 0; the number of runs, or
 * -1 after ATTEMPTS. */
static int until_done(const char *home, const char *a1, const char *a2, const char *a3,
		      const char *a4, const char *a5)
{
	struct h_out *o = NULL;
	for (int i = 1; i <= ATTEMPTS; i++) {
		o = h_relais(home, a1, a2, a3, a4, a5, (char *)NULL);
		if (o->status == 0)
			return i;
		if (getenv("RURAL_DEBUG")) {
			struct stat st;
			long l = stat(h_strf("%s/amorce.part", home), &st) ? -1 : (long)st.st_size;
			struct h_out *m = h_relais(home, "status", "--json", (char *)NULL);
			fprintf(stderr, "  run %d: part %ld bytes: %s  status: %.300s\n", i, l, o->err, m->out);
		}
	}
	fprintf(stderr, "  %s: still failing after %d runs: %s\n", a1, ATTEMPTS, o ? o->err : "");
	return -1;
}

static int write_annuaire(const char *path, int n)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "Nom;Prénom;Structure;Commune;Courriel;Téléphone;Réseaux;Noms de profil\n");
	for (int i = 0; i < n; i++)
		fprintf(f, "Martin%d;Léa;Centre social n°%d;Tarbes;lea%d@example.org;06%08d;"
			"Instagram;lea_%d\n", i, i % 40, i, i, i);
	return fclose(f) ? -1 : 0;
}

TEST(e2e_rural_bootstrap_and_edits_across_cuts)
{
	struct h_daemon d;
	struct fp_proxy px;
	char ta[H_TOKEN], tb[H_TOKEN], tc[H_TOKEN], url[64];
	h_setup();
	CHECK(h_daemon_coords(&d, "rural", ta, tb, tc) == 0);
	CHECK(h_daemon_serve(&d) == 0);
	const char *A = h_replica(&d, "A", ta);
	CHECK(A != NULL);
	const char *csv = h_path("annuaire.csv");
	CHECK(write_annuaire(csv, 400) == 0);
	CHECK(h_relais_ok(A, "import", "annuaire", csv, (char *)NULL) != NULL);
	CHECK(h_sync(A, &d) == 0);

	CHECK(fp_start(&px, 11) == 0);
	fp_set_target(&px, d.port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", px.port);

	/* The same link without cuts: what one bootstrap downloads. */
	fp_set_link(&px, LINK_DELAY_MS, LINK_RATE, 0);
	long b0 = fp_bytes(&px, 1);
	const char *C = h_path("C");
	CHECK(h_relais_ok(C, "init", "--server", url, "--token", tc, (char *)NULL) != NULL);
	long once = fp_bytes(&px, 1) - b0;
	/* longer than a period between cuts, even at the link's full rate
	 * (the file's pieces travel deflated) */
	CHECK(once > LINK_RATE / 1000 * LINK_CUT_MS);

	/* With the cuts: init again and again until it is done. */
	fp_set_link(&px, LINK_DELAY_MS, LINK_RATE, LINK_CUT_MS);
	b0 = fp_bytes(&px, 1);
	const char *B = h_path("B");
	int runs = until_done(B, "init", "--server", url, "--token", tb);
	fprintf(stderr, "  bootstrap of %ld bytes over the link: %d runs, %ld cuts\n", once, runs,
		fp_link_cuts(&px));
	CHECK(runs > 1);
	long cut_bytes = fp_bytes(&px, 1) - b0;
	/* What arrived was not downloaded again: on top of one whole download,
	 * per run its headers and whoami, what the cut lost in flight on the
	 * line, and the resumed rest deflated afresh. */
	CHECK(cut_bytes < once + runs * 4096);
	CHECK(fp_link_cuts(&px) > 0);

	/* A day's edits, each synced over the link until it goes through. */
	json_t *eb = h_export(B);
	CHECK(eb != NULL);
	json_t *rows = json_object_get(eb, "structure");
	CHECK(json_array_size(rows) >= 10);
	for (size_t i = 0; i < 10; i++) {
		const char *id = h_row_str(json_array_get(rows, i), "id");
		CHECK_IDX(id != NULL, i);
		CHECK_IDX(h_relais_ok(B, "structure", "set", id, "--telephone",
				      h_strf("05%08zu", i), (char *)NULL) != NULL, i);
		CHECK_IDX(until_done(B, "sync", "--server", url, NULL, NULL) > 0, i);
	}
	fp_stop(&px);

	CHECK(h_sync(A, &d) == 0);
	CHECK(h_sync(B, &d) == 0);
	CHECK(h_sync(C, &d) == 0);
	const char *ea = h_export_text(A), *eb2 = h_export_text(B), *ec = h_export_text(C);
	CHECK(ea && eb2 && ec);
	CHECK(!strcmp(ea, eb2));
	CHECK(!strcmp(ea, ec));
	json_t *conf = h_conflicts(A, 1);
	CHECK(conf && json_array_size(conf) == 0);
	CHECK_INT(h_daemon_stop(&d), 0);
}
