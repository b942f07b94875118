/*
 * test-e2e-faults.c - cut connections, killed clients, killed daemon.
 *
 * The cutting proxy sits between one replica and relaisd and acts on the
 * first "POST /v1/sync" of a sync (push and pull in one exchange): it cuts the request after n
 * bytes, or lets it through and cuts (or holds) the answer, so the server
 * may have applied a push that the client never saw acknowledged.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../common/util.h"
#include "harness.h"
#include "test.h"

static void pause_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static const char *add_structure(const char *home, const char *nom)
{
	return h_relais_ok(home, "structure", "add", "--nom", nom, "--commune", "Tarbes",
			   "--commentaire", "Structure créée pendant un test de coupure réseau ; "
			   "le texte allonge le changeset pour que les coupures tombent dans le corps.",
			   (char *)NULL);
}

static const char *phone_of(const char *home, const char *id)
{
	json_t *e = h_export(home);
	return h_row_str(h_export_row(e, "promeneur", id), "telephone");
}

static long long pending(const char *home)
{
	json_t *s = h_status(home);
	json_t *v = s ? json_object_get(s, "pending") : NULL;
	return json_is_integer(v) ? json_integer_value(v) : -1;
}

static int no_conflicts(const char *home)
{
	json_t *all = h_conflicts(home, 1);
	if (!all)
		return 0;
	if (json_array_size(all)) {
		char *s = json_dumps(all, 0);
		fprintf(stderr, "  unexpected conflicts on %s: %.1000s\n", home, s ? s : "?");
		free(s);
		return 0;
	}
	return 1;
}

/* One round of offline edits on A: a phone number and two new structures. */
static int edits(const char *A, const char *p, int round, const char *ids[], size_t *nids)
{
	char phone[16];
	snprintf(phone, sizeof(phone), "06%08d", 10000000 + round);
	if (!h_relais_ok(A, "promeneur", "set", p, "--telephone", phone, (char *)NULL))
		return -1;
	for (int i = 0; i < 2; i++) {
		const char *id = add_structure(A, h_strf("Coupure %d-%d", round, i));
		if (!id)
			return -1;
		ids[(*nids)++] = id;
	}
	return 0;
}

TEST(e2e_faults_push_cut_then_retry)
{
	struct h_daemon d;
	struct h_proxy px;
	char ta[H_TOKEN], tb[H_TOKEN], tc[H_TOKEN];
	const char *ids[64];
	size_t nids = 0;
	long L = 0;
	h_setup();
	CHECK(h_daemon_coords(&d, "cut", ta, tb, tc) == 0);
	CHECK(h_daemon_serve(&d) == 0);
	const char *A = h_replica(&d, "A", ta), *B = h_replica(&d, "B", tb);
	CHECK(A && B);
	const char *s = add_structure(A, "Structure de départ");
	CHECK(s != NULL);
	ids[nids++] = s;
	const char *p = h_relais_ok(A, "promeneur", "add", "--prenom", "Lou", "--nom", "Durand",
				    "--email", "lou@example.org", "--structure", s, (char *)NULL);
	CHECK(p != NULL);
	CHECK(h_sync(A, &d) == 0);
	CHECK(h_sync(B, &d) == 0);

	/* Measure a push of one round through a proxy that cuts nothing. */
	CHECK(edits(A, p, 0, ids, &nids) == 0);
	CHECK(h_proxy_start(&px, d.port, "POST /v1/sync", H_PROXY_PASS, 0) == 0);
	CHECK(h_relais_ok(A, "sync", "--server", px.url, (char *)NULL) != NULL);
	CHECK(h_proxy_event(&px, &L, 5000) == 0);
	h_proxy_stop(&px);
	CHECK(L > 200);

	const struct {
		enum h_proxy_mode mode;
		long n;
	} cases[] = {
		{ H_PROXY_CUT, 20 },          /* in the request line */
		{ H_PROXY_CUT, 120 },         /* in the headers */
		{ H_PROXY_CUT, L / 2 },       /* in the body */
		{ H_PROXY_CUT, L - 40 },      /* near the end of the body */
		{ H_PROXY_CUT_REPLY, 0 },     /* applied, but the answer is lost */
		{ H_PROXY_CUT_REPLY, 0 },
	};
	char before[16] = "0610000000";
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		int round = (int)k + 1;
		size_t first = nids;
		char mine[16], theirs[16];
		snprintf(mine, sizeof(mine), "06%08d", 10000000 + round);
		snprintf(theirs, sizeof(theirs), "07%08d", 10000000 + round);
		CHECK_IDX(edits(A, p, round, ids, &nids) == 0, k);
		CHECK_IDX(h_proxy_start(&px, d.port, "POST /v1/sync", cases[k].mode, cases[k].n) == 0, k);
		struct h_out *o = h_relais(A, "sync", "--server", px.url, (char *)NULL);
		CHECK_IDX(h_proxy_event(&px, NULL, 5000) == 0, k);
		h_proxy_stop(&px);
		if (o->status == 0)
			fprintf(stderr, "  case %zu: sync through a cut reported success: %s\n", k, o->out);
		CHECK_IDX(o->status != 0, k);
		CHECK_IDX(o->errlen > 0, k);
		CHECK_IDX(pending(A) > 0, k);
		CHECK_IDX(h_daemon_healthy(&d), k);

		/* What did the server keep of the cut push? B tells. */
		CHECK_IDX(h_sync(B, &d) == 0, k);
		json_t *eb = h_export(B);
		CHECK_IDX(eb != NULL, k);
		const char *seen = h_row_str(h_export_row(eb, "promeneur", p), "telephone");
		if (cases[k].mode == H_PROXY_CUT) {
			/* A partial request applies nothing. */
			CHECK_STR_IDX(seen, before, k);
			for (size_t i = first; i < nids; i++)
				CHECK_IDX(h_export_row(eb, "structure", ids[i]) == NULL, k);
			CHECK_IDX(h_sync(A, &d) == 0, k);
			CHECK_IDX(h_sync(B, &d) == 0, k);
			CHECK_IDX(h_relais_ok(B, "promeneur", "set", p, "--telephone", theirs, (char *)NULL) != NULL, k);
			CHECK_IDX(h_sync(B, &d) == 0, k);
			CHECK_IDX(h_sync(A, &d) == 0, k);
		} else {
			/* Applied before the answer was lost; B then edits on top,
			 * so a second application of A's retry would show up as a
			 * conflict (A's older value losing to B's). */
			CHECK_STR_IDX(seen, mine, k);
			for (size_t i = first; i < nids; i++)
				CHECK_IDX(h_export_row(eb, "structure", ids[i]) != NULL, k);
			CHECK_IDX(h_relais_ok(B, "promeneur", "set", p, "--telephone", theirs, (char *)NULL) != NULL, k);
			CHECK_IDX(h_sync(B, &d) == 0, k);
			CHECK_IDX(h_sync(A, &d) == 0, k);
			CHECK_IDX(h_sync(B, &d) == 0, k);
		}
		CHECK_INT_IDX(pending(A), 0, k);
		CHECK_STR_IDX(phone_of(A, p), theirs, k);
		CHECK_IDX(no_conflicts(A), k);
		CHECK_IDX(no_conflicts(B), k);
		snprintf(before, sizeof(before), "%s", theirs);
	}

	/* A fresh replica: every structure once, nothing doubled, no conflict. */
	const char *C = h_replica(&d, "C", tc);
	CHECK(C != NULL);
	CHECK(h_sync(C, &d) == 0);
	CHECK(h_sync(A, &d) == 0);
	CHECK(h_sync(B, &d) == 0);
	json_t *ec = h_export(C);
	CHECK(ec != NULL);
	CHECK_INT(h_export_count(ec, "structure"), nids);
	for (size_t i = 0; i < nids; i++)
		CHECK_IDX(h_export_row(ec, "structure", ids[i]) != NULL, i);
	CHECK_INT(h_export_count(ec, "promeneur"), 1);
	CHECK(no_conflicts(C));
	const char *ta_ = h_export_text(A), *tb_ = h_export_text(B), *tc_ = h_export_text(C);
	CHECK(ta_ && tb_ && tc_);
	CHECK(!strcmp(ta_, tc_));
	CHECK(!strcmp(tb_, tc_));
	CHECK_INT(h_daemon_stop(&d), 0);
}

TEST(e2e_faults_client_killed_mid_sync)
{
	struct h_daemon d;
	struct h_proxy px;
	char ta[H_TOKEN], tb[H_TOKEN];
	const char *ids[64];
	size_t nids = 0;
	h_setup();
	CHECK(h_daemon_init(&d, "kill") == 0);
	CHECK(h_daemon_user(&d, "coord-a", "65", "coordinateur", ta) == 0);
	CHECK(h_daemon_user(&d, "coord-b", "65", "coordinateur", tb) == 0);
	CHECK(h_daemon_serve(&d) == 0);
	const char *A = h_replica(&d, "A", ta), *B = h_replica(&d, "B", tb);
	CHECK(A && B);
	const char *s = add_structure(A, "Structure de départ");
	CHECK(s != NULL);
	ids[nids++] = s;
	const char *p = h_relais_ok(A, "promeneur", "add", "--prenom", "Lou", "--nom", "Durand",
				    "--email", "lou@example.org", "--structure", s, (char *)NULL);
	CHECK(p != NULL);
	CHECK(h_sync(A, &d) == 0);
	CHECK(h_sync(B, &d) == 0);

	/* The proxy holds the connection at a chosen point; then SIGKILL. */
	static const struct {
		const char *match;
		enum h_proxy_mode mode;
		long n;
	} cases[] = {
		{ "POST /v1/sync", H_PROXY_STALL, 60 },      /* mid-headers */
		{ "POST /v1/sync", H_PROXY_STALL, 350 },     /* mid-body */
		{ "POST /v1/sync", H_PROXY_STALL_REPLY, 0 }, /* applied, answer held */
		{ "POST /v1/sync", H_PROXY_STALL, 30 },       /* mid-request line */
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		char phone[16];
		snprintf(phone, sizeof(phone), "06%08d", 10000000 + 20 + (int)k);
		CHECK_IDX(edits(A, p, 20 + (int)k, ids, &nids) == 0, k);
		CHECK_IDX(h_proxy_start(&px, d.port, cases[k].match, cases[k].mode, cases[k].n) == 0, k);
		pid_t pid = h_relais_spawn(A, "sync", "--server", px.url, (char *)NULL);
		CHECK_IDX(pid > 0, k);
		CHECK_IDX(h_proxy_event(&px, NULL, 10000) == 0, k);
		pause_ms(50);
		h_kill(pid);
		h_proxy_stop(&px);

		CHECK_IDX(h_sync(A, &d) == 0, k);
		CHECK_INT_IDX(pending(A), 0, k);
		CHECK_IDX(h_sync(B, &d) == 0, k);
		CHECK_STR_IDX(phone_of(B, p), phone, k);
		CHECK_IDX(no_conflicts(A), k);
		CHECK_IDX(no_conflicts(B), k);
	}
	CHECK(h_sync(A, &d) == 0);
	const char *ea = h_export_text(A), *eb = h_export_text(B);
	CHECK(ea && eb && !strcmp(ea, eb));
	json_t *e = h_json(ea, strlen(ea));
	CHECK_INT(h_export_count(e, "structure"), nids);
	CHECK_INT(h_daemon_stop(&d), 0);
}

TEST(e2e_faults_daemon_kill9_keeps_acknowledged)
{
	/* kill -9 of the daemon at these iterations, this long after the sync
	 * started (in percent of a measured sync, so that sanitizer builds too
	 * get kills mid-sync and just after it returned). */
	static const struct {
		int at;
		int percent;
	} kills[] = { { 3, 0 }, { 7, 20 }, { 11, 45 }, { 15, 70 }, { 19, 95 }, { 23, 140 } };
	enum { N = 26 };
	struct h_daemon d;
	char ta[H_TOKEN];
	const char *ids[N];
	int confirmed = 0, failures = 0;
	long long sync_ms = 0;
	size_t nk = 0;
	h_setup();
	CHECK(h_daemon_init(&d, "k9") == 0);
	CHECK(h_daemon_user(&d, "coord-a", "65", "coordinateur", ta) == 0);
	CHECK(h_daemon_serve(&d) == 0);
	const char *A = h_replica(&d, "A", ta);
	CHECK(A != NULL);

	for (int i = 0; i < N; i++) {
		ids[i] = add_structure(A, h_strf("Structure %d", i));
		CHECK_IDX(ids[i] != NULL, i);
		if (nk < sizeof(kills) / sizeof(kills[0]) && kills[nk].at == i) {
			pid_t pid = h_relais_spawn(A, "sync", "--server", d.url, (char *)NULL);
			CHECK_IDX(pid > 0, i);
			pause_ms((int)(sync_ms * kills[nk].percent / 100));
			h_daemon_kill(&d);
			int st = h_wait(pid, H_TIMEOUT_MS);
			CHECK_IDX(st >= 0, i);
			if (st == 0)
				confirmed = i + 1;
			else
				failures++;
			CHECK_IDX(h_daemon_serve(&d) == 0, i);
			nk++;
		} else {
			struct timespec t0, t1;
			clock_gettime(CLOCK_MONOTONIC, &t0);
			CHECK_IDX(h_sync(A, &d) == 0, i);
			clock_gettime(CLOCK_MONOTONIC, &t1);
			long long ms = (t1.tv_sec - t0.tv_sec) * 1000LL + (t1.tv_nsec - t0.tv_nsec) / 1000000;
			if (ms > sync_ms)
				sync_ms = ms;
			confirmed = i + 1;
		}
	}
	/* The hardest case last: kill -9 right after a sync said "done". */
	h_daemon_kill(&d);
	CHECK(h_daemon_serve(&d) == 0);

	const char *R = h_replica(&d, "R", ta);
	CHECK(R != NULL);
	CHECK(h_sync(R, &d) == 0);
	json_t *e = h_export(R);
	CHECK(e != NULL);
	for (int i = 0; i < confirmed; i++)
		CHECK_IDX(h_export_row(e, "structure", ids[i]) != NULL, i);

	/* And what was not confirmed is still pending on A: one more sync
	 * brings everything, each row once. */
	CHECK(h_sync(A, &d) == 0);
	CHECK_INT(pending(A), 0);
	const char *R2 = h_replica(&d, "R2", ta);
	CHECK(R2 != NULL);
	CHECK(h_sync(R2, &d) == 0);
	json_t *e2 = h_export(R2);
	CHECK(e2 != NULL);
	CHECK_INT(h_export_count(e2, "structure"), N);
	for (int i = 0; i < N; i++)
		CHECK_IDX(h_export_row(e2, "structure", ids[i]) != NULL, i);
	CHECK(no_conflicts(R2));
	fprintf(stderr, "  (%d of %zu killed syncs failed; a sync takes %lld ms)\n", failures, nk, sync_ms);
	CHECK_INT(h_daemon_stop(&d), 0);
}
