/*
 * test-e2e-amorce.c - a new replica bootstraps from the département's file.
 *
 * relais init downloads the file in pieces (GET /v1/amorce) and installs
 * it, then pulls what changed since. A proxy cuts the download's answer
 * after a chosen byte; the same command run again resumes and the replica
 * ends as one made by pages from the same server (the state before).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "harness.h"
#include "soak/faultproxy.h"
#include "test.h"

static long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) ? -1 : (long)st.st_size;
}

TEST(e2e_amorce_cut_at_any_byte_resumes)
{
	struct h_daemon d;
	struct fp_proxy px;
	char ta[H_TOKEN], tb[H_TOKEN];
	h_setup();
	CHECK(h_daemon_init(&d, "amorce") == 0);
	CHECK(h_daemon_user(&d, "coord-a", "65", "coordinateur", ta) == 0);
	CHECK(h_daemon_user(&d, "coord-b", "65", "coordinateur", tb) == 0);
	CHECK(h_daemon_serve(&d) == 0);
	const char *A = h_replica(&d, "A", ta);
	CHECK(A != NULL);
	for (int i = 0; i < 30; i++) {
		const char *s = h_relais_ok(A, "structure", "add", "--nom", h_strf("Structure %d", i),
					    "--commune", "Tarbes", (char *)NULL);
		CHECK_IDX(s != NULL, i);
		CHECK_IDX(h_relais_ok(A, "promeneur", "add", "--prenom", "Lou", "--nom",
				      h_strf("Durand %d", i), "--email", h_strf("lou%d@example.org", i),
				      "--structure", s, (char *)NULL) != NULL, i);
	}
	CHECK(h_sync(A, &d) == 0);
	const char *want = h_export_text(A);
	CHECK(want != NULL);

	CHECK(fp_start(&px, 7) == 0);
	fp_set_target(&px, d.port);
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", px.port);
	/* An init that nothing cuts: how many bytes its answers take. */
	long b0 = fp_bytes(&px, 1);
	const char *B = h_path("B");
	CHECK(h_relais_ok(B, "init", "--server", url, "--token", tb, (char *)NULL) != NULL);
	long total = fp_bytes(&px, 1) - b0;
	CHECK(total > 5000); /* the file's pieces travel deflated */
	const char *got = h_export_text(B);
	CHECK(got && !strcmp(got, want));

	/* Cut the answers (whoami's, then the file's, then the pull's, all on
	 * one connection) at bytes spread over them; the same command again
	 * resumes the file where it stopped and ends with the same replica. */
	int resumed = 0;
	for (int k = 0; k < 7; k++) {
		long cut = k == 0 ? 5 : total * k / 7;
		const char *home = h_path(h_strf("C%d", k));
		fp_cut_next(&px, cut);
		struct h_out *o = h_relais(home, "init", "--server", url, "--token", tb, (char *)NULL);
		CHECK_IDX(o->status != 0, k);
		long part = file_size(h_strf("%s/amorce.part", home));
		if (part > 0)
			resumed++;
		CHECK_IDX(h_relais_ok(home, "init", "--server", url, "--token", tb, (char *)NULL) != NULL, k);
		got = h_export_text(home);
		CHECK_IDX(got && !strcmp(got, want), k);
		CHECK_INT_IDX(file_size(h_strf("%s/amorce.part", home)), -1, k);
	}
	CHECK(resumed >= 2);
	fp_stop(&px);

	/* Edits after the file was made arrive by the pull that follows it. */
	CHECK(h_relais_ok(A, "structure", "add", "--nom", "Après", "--commune", "Lourdes",
			  (char *)NULL) != NULL);
	CHECK(h_sync(A, &d) == 0);
	const char *D = h_replica(&d, "D", tb);
	CHECK(D != NULL);
	want = h_export_text(A);
	got = h_export_text(D);
	CHECK(want && got && !strcmp(got, want));
	CHECK_INT(h_daemon_stop(&d), 0);
}
