/*
 * test-e2e-sync.c - convergence and conflicts across real replicas.
 *
 * Each test runs its own relaisd on 127.0.0.1 and several relais homes;
 * every replica belongs to département 65 under its own login, so that
 * conflicts name who lost.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../common/util.h"
#include "harness.h"
#include "test.h"

#define NREP 3

struct world {
	struct h_daemon d;
	const char *home[NREP];
	char token[NREP][H_TOKEN];
};

static const char *const logins[NREP] = { "coord-a", "coord-b", "coord-c" };

/* A daemon named name and n replicas "name-A", "name-B"… of département 65. */
static int world_start(struct world *w, const char *name, int n)
{
	memset(w, 0, sizeof(*w));
	if (h_daemon_init(&w->d, name))
		return -1;
	for (int i = 0; i < n; i++)
		if (h_daemon_user(&w->d, logins[i], "65", "coordinateur", w->token[i]))
			return -1;
	if (h_daemon_serve(&w->d))
		return -1;
	for (int i = 0; i < n; i++) {
		w->home[i] = h_replica(&w->d, h_strf("%s-%c", name, 'A' + i), w->token[i]);
		if (!w->home[i])
			return -1;
	}
	return 0;
}

/* Syncs the replicas named by letters, in order ("ABBA"). */
static int sync_order(struct world *w, const char *order)
{
	for (const char *p = order; *p; p++)
		if (h_sync(w->home[*p - 'A'], &w->d)) {
			fprintf(stderr, "  sync of %c failed in order \"%s\"\n", *p, order);
			return -1;
		}
	return 0;
}

/* A clock tick between two edits meant to be ordered, so that their HLCs
 * differ by wall time and not only by node id. */
static void later(void)
{
	struct timespec ts = { 0, 20 * 1000000L };
	nanosleep(&ts, NULL);
}

static const char *add_structure(const char *home, const char *nom, const char *commune)
{
	return h_relais_ok(home, "structure", "add", "--nom", nom, "--commune", commune, (char *)NULL);
}

static const char *add_promeneur(const char *home, const char *prenom, const char *email,
				 const char *structure)
{
	return h_relais_ok(home, "promeneur", "add", "--prenom", prenom, "--nom", "Martin",
			   "--email", email, "--structure", structure, (char *)NULL);
}

/* Checks that all n replicas export the same bytes; returns the text. */
static const char *same_exports(struct world *w, int n)
{
	const char *first = h_export_text(w->home[0]);
	if (!first)
		return NULL;
	for (int i = 1; i < n; i++) {
		const char *e = h_export_text(w->home[i]);
		if (!e || strcmp(e, first)) {
			fprintf(stderr, "  export of %c differs from A:\n  A: %.1500s\n  %c: %.1500s\n",
				'A' + i, first, 'A' + i, e ? e : "(failed)");
			return NULL;
		}
	}
	return first;
}

static long long status_int(const char *home, const char *key)
{
	json_t *s = h_status(home);
	json_t *v = s ? json_object_get(s, key) : NULL;
	return json_is_integer(v) ? json_integer_value(v) : -1;
}

TEST(e2e_sync_three_replicas_converge)
{
	/* Sync orders after each phase of offline edits; the final round has
	 * everyone sync twice with no new edits. */
	static const struct {
		const char *s0, *s1, *s2;
	} cases[] = {
		{ "ABC", "ABC", "ABC" },
		{ "CBA", "BCAAB", "CACBBA" },
		{ "BBAC", "ACCAB", "BAABCC" },
	};
	h_setup();
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct world w;
		CHECK_IDX(world_start(&w, h_strf("conv%zu", k), 3) == 0, k);
		const char *A = w.home[0], *B = w.home[1], *C = w.home[2];

		/* Phase 0: each replica creates rows offline. */
		const char *s1 = add_structure(A, "MJC de Tarbes", "Tarbes");
		CHECK_IDX(s1 && util_is_uuid(s1), k);
		const char *p1 = add_promeneur(A, "Léa", "lea@example.org", s1);
		CHECK_IDX(p1 && util_is_uuid(p1), k);
		const char *s2 = add_structure(B, "Centre social du Lavedan", "Argelès-Gazost");
		CHECK_IDX(s2 && util_is_uuid(s2), k);
		const char *s3 = add_structure(C, "PIJ de Lourdes", "Lourdes");
		CHECK_IDX(s3 != NULL, k);
		const char *p3 = add_promeneur(C, "Hugo", "hugo@example.org", s3);
		CHECK_IDX(p3 != NULL, k);
		CHECK_IDX(sync_order(&w, cases[k].s0) == 0, k);

		/* Phase 1: edits and a delete of each one's own rows. */
		CHECK_IDX(h_relais_ok(A, "promeneur", "set", p1, "--telephone", "0601020304", (char *)NULL) != NULL, k);
		CHECK_IDX(h_relais_ok(A, "structure", "set", s1, "--commune", "Bagnères-de-Bigorre", (char *)NULL) != NULL, k);
		CHECK_IDX(h_relais_ok(B, "structure", "set", s2, "--nom", "Centre social Lavedan", (char *)NULL) != NULL, k);
		const char *p2 = add_promeneur(B, "Inès", "ines@example.org", s2);
		CHECK_IDX(p2 != NULL, k);
		CHECK_IDX(h_relais_ok(C, "promeneur", "rm", p3, (char *)NULL) != NULL, k);
		CHECK_IDX(h_relais_ok(C, "structure", "set", s3, "--commune", "Lourdes Centre", (char *)NULL) != NULL, k);
		CHECK_IDX(sync_order(&w, cases[k].s1) == 0, k);

		/* Phase 2: everyone sees everything, then edits each other's rows,
		 * A and B racing on one column (B later). */
		CHECK_IDX(sync_order(&w, "ABCABC") == 0, k);
		CHECK_IDX(h_relais_ok(A, "structure", "set", s2, "--nom", "Nom choisi par A", (char *)NULL) != NULL, k);
		CHECK_IDX(h_relais_ok(C, "promeneur", "set", p2, "--telephone", "0562000001", (char *)NULL) != NULL, k);
		later();
		CHECK_IDX(h_relais_ok(B, "structure", "set", s2, "--nom", "Nom choisi par B", (char *)NULL) != NULL, k);
		CHECK_IDX(h_relais_ok(B, "promeneur", "set", p1, "--email", "lea.martin@example.org", (char *)NULL) != NULL, k);
		CHECK_IDX(h_relais_ok(C, "structure", "rm", s3, (char *)NULL) != NULL, k);
		CHECK_IDX(sync_order(&w, cases[k].s2) == 0, k);

		/* Everyone twice, no new edits: byte-identical exports. */
		CHECK_IDX(sync_order(&w, "ABCABC") == 0, k);
		const char *text = same_exports(&w, 3);
		CHECK_IDX(text != NULL, k);
		for (int i = 0; i < 3; i++)
			CHECK_IDX(status_int(w.home[i], "pending") == 0, k);

		/* And the content is what the edits say. */
		json_t *e = h_json(text, strlen(text));
		CHECK_IDX(e != NULL, k);
		CHECK_INT_IDX(h_export_count(e, "structure"), 2, k);
		CHECK_INT_IDX(h_export_count(e, "promeneur"), 2, k);
		CHECK_IDX(h_export_row(e, "promeneur", p3) == NULL, k);
		CHECK_IDX(h_export_row(e, "structure", s3) == NULL, k);
		CHECK_STR_IDX(h_row_str(h_export_row(e, "structure", s1), "commune"), "Bagnères-de-Bigorre", k);
		CHECK_STR_IDX(h_row_str(h_export_row(e, "structure", s2), "nom"), "Nom choisi par B", k);
		CHECK_STR_IDX(h_row_str(h_export_row(e, "promeneur", p1), "telephone"), "0601020304", k);
		CHECK_STR_IDX(h_row_str(h_export_row(e, "promeneur", p1), "email"), "lea.martin@example.org", k);
		CHECK_STR_IDX(h_row_str(h_export_row(e, "promeneur", p2), "telephone"), "0562000001", k);
		CHECK_STR_IDX(h_row_str(h_export_row(e, "promeneur", p1), "dept"), "65", k);

		/* A replica made now bootstraps to the same bytes. */
		const char *D = h_replica(&w.d, h_strf("conv%zu-D", k), w.token[0]);
		CHECK_IDX(D != NULL, k);
		CHECK_IDX(h_sync(D, &w.d) == 0, k);
		const char *ed = h_export_text(D);
		CHECK_IDX(ed && !strcmp(ed, text), k);
		CHECK_INT_IDX(h_daemon_stop(&w.d), 0, k);
	}
}

/* Finds the open conflict on column col of row id; NULL when absent. */
static json_t *find_conflict(json_t *arr, const char *row, const char *col)
{
	size_t i;
	json_t *c;
	json_array_foreach(arr, i, c) {
		const char *r = json_string_value(json_object_get(c, "row"));
		const char *k = json_string_value(json_object_get(c, "column"));
		if (r && !strcmp(r, row) && (!col || (k && !strcmp(k, col))))
			return c;
	}
	return NULL;
}

static const char *side_str(json_t *c, const char *side, const char *key)
{
	return json_string_value(json_object_get(json_object_get(c, side), key));
}

TEST(e2e_sync_later_edit_wins_and_resolves)
{
	struct world w;
	h_setup();
	CHECK(world_start(&w, "lww", 2) == 0);
	const char *A = w.home[0], *B = w.home[1];
	const char *s = add_structure(A, "MJC de Vic", "Vic-en-Bigorre");
	CHECK(s != NULL);
	const char *p = add_promeneur(A, "Nina", "nina@example.org", s);
	CHECK(p != NULL);
	CHECK(sync_order(&w, "AB") == 0);

	/* A edits first, B edits the same column later; B syncs first. */
	CHECK(h_relais_ok(A, "promeneur", "set", p, "--telephone", "0611111111", (char *)NULL) != NULL);
	later();
	CHECK(h_relais_ok(B, "promeneur", "set", p, "--telephone", "0622222222", (char *)NULL) != NULL);
	CHECK(sync_order(&w, "BAB") == 0);

	for (int i = 0; i < 2; i++) {
		json_t *e = h_export(w.home[i]);
		CHECK_IDX(e != NULL, i);
		CHECK_STR_IDX(h_row_str(h_export_row(e, "promeneur", p), "telephone"), "0622222222", i);
		json_t *cs = h_conflicts(w.home[i], 0);
		CHECK_IDX(cs != NULL, i);
		CHECK_INT_IDX(json_array_size(cs), 1, i);
		json_t *c = find_conflict(cs, p, "telephone");
		CHECK_IDX(c != NULL, i);
		CHECK_STR_IDX(json_string_value(json_object_get(c, "table")), "promeneur", i);
		CHECK_STR_IDX(json_string_value(json_object_get(c, "kind")), "valeur", i);
		CHECK_STR_IDX(side_str(c, "kept", "value"), "0622222222", i);
		CHECK_STR_IDX(side_str(c, "lost", "value"), "0611111111", i);
		CHECK_STR_IDX(side_str(c, "kept", "login"), "coord-b", i);
		CHECK_STR_IDX(side_str(c, "lost", "login"), "coord-a", i);
		CHECK_STR_IDX(json_string_value(json_object_get(c, "mine")), i == 0 ? "lost" : "kept", i);
		CHECK_IDX(json_is_null(json_object_get(c, "resolution")), i);
		CHECK_INT_IDX(status_int(w.home[i], "conflicts"), 1, i);
	}

	/* A keeps its own value: it wins everywhere after syncs. */
	json_t *cs = h_conflicts(A, 0);
	CHECK(cs != NULL);
	const char *id = json_string_value(json_object_get(json_array_get(cs, 0), "id"));
	CHECK(id != NULL);
	CHECK(h_relais_ok(A, "conflicts", "resolve", id, "--keep", "mine", (char *)NULL) != NULL);
	CHECK(sync_order(&w, "ABAB") == 0);
	const char *text = same_exports(&w, 2);
	CHECK(text != NULL);
	json_t *e = h_json(text, strlen(text));
	CHECK_STR(h_row_str(h_export_row(e, "promeneur", p), "telephone"), "0611111111");
	for (int i = 0; i < 2; i++) {
		json_t *open = h_conflicts(w.home[i], 0);
		CHECK_IDX(open != NULL, i);
		CHECK_INT_IDX(json_array_size(open), 0, i);
		CHECK_INT_IDX(status_int(w.home[i], "conflicts"), 0, i);
		json_t *all = h_conflicts(w.home[i], 1);
		CHECK_IDX(all != NULL, i);
		CHECK_INT_IDX(json_array_size(all), 1, i);
		CHECK_STR_IDX(json_string_value(json_object_get(json_array_get(all, 0), "resolution")),
			      "perdant", i);
	}
	/* Resolving an already resolved conflict is refused. */
	struct h_out *again = h_relais(A, "conflicts", "resolve", id, "--keep", "theirs", (char *)NULL);
	CHECK_INT(again->status, 1);
	CHECK(again->errlen > 0);
	CHECK_INT(h_daemon_stop(&w.d), 0);
}

TEST(e2e_sync_different_columns_merge)
{
	struct world w;
	h_setup();
	CHECK(world_start(&w, "cols", 2) == 0);
	const char *A = w.home[0], *B = w.home[1];
	const char *s = add_structure(A, "Mission locale", "Tarbes");
	CHECK(s != NULL);
	const char *p = add_promeneur(A, "Noé", "noe@example.org", s);
	CHECK(p != NULL);
	CHECK(sync_order(&w, "AB") == 0);

	CHECK(h_relais_ok(A, "promeneur", "set", p, "--telephone", "0633333333", (char *)NULL) != NULL);
	CHECK(h_relais_ok(B, "promeneur", "set", p, "--email", "noe.martin@example.org", (char *)NULL) != NULL);
	CHECK(h_relais_ok(B, "structure", "set", s, "--commune", "Séméac", (char *)NULL) != NULL);
	CHECK(h_relais_ok(A, "structure", "set", s, "--nom", "Mission locale des Hautes-Pyrénées", (char *)NULL) != NULL);
	CHECK(sync_order(&w, "ABAB") == 0);

	const char *text = same_exports(&w, 2);
	CHECK(text != NULL);
	json_t *e = h_json(text, strlen(text));
	json_t *rp = h_export_row(e, "promeneur", p), *rs = h_export_row(e, "structure", s);
	CHECK_STR(h_row_str(rp, "telephone"), "0633333333");
	CHECK_STR(h_row_str(rp, "email"), "noe.martin@example.org");
	CHECK_STR(h_row_str(rs, "commune"), "Séméac");
	CHECK_STR(h_row_str(rs, "nom"), "Mission locale des Hautes-Pyrénées");
	for (int i = 0; i < 2; i++) {
		json_t *all = h_conflicts(w.home[i], 1);
		CHECK_IDX(all != NULL, i);
		CHECK_INT_IDX(json_array_size(all), 0, i);
	}
	CHECK_INT(h_daemon_stop(&w.d), 0);
}

TEST(e2e_sync_delete_versus_edit)
{
	/* Who deletes, and the order of the syncs after the race. */
	static const struct {
		int deleter;
		const char *order;
	} cases[] = {
		{ 0, "ABCABC" },  /* the delete reaches the server first */
		{ 0, "BACBAC" },  /* the edit reaches it first */
		{ 1, "ABCABC" },  /* the edit first, the delete made later */
		{ 1, "BACBAC" },
	};
	h_setup();
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct world w;
		CHECK_IDX(world_start(&w, h_strf("del%zu", k), 3) == 0, k);
		const char *A = w.home[0];
		const char *s = add_structure(A, "FJT", "Tarbes");
		CHECK_IDX(s != NULL, k);
		const char *p = add_promeneur(A, "Sam", "sam@example.org", s);
		CHECK_IDX(p != NULL, k);
		CHECK_IDX(sync_order(&w, "ABC") == 0, k);

		const char *del = w.home[cases[k].deleter], *ed = w.home[1 - cases[k].deleter];
		if (cases[k].deleter == 0) {
			CHECK_IDX(h_relais_ok(del, "promeneur", "rm", p, (char *)NULL) != NULL, k);
			later();
			CHECK_IDX(h_relais_ok(ed, "promeneur", "set", p, "--telephone", "0644444444", (char *)NULL) != NULL, k);
		} else {
			CHECK_IDX(h_relais_ok(ed, "promeneur", "set", p, "--telephone", "0644444444", (char *)NULL) != NULL, k);
			later();
			CHECK_IDX(h_relais_ok(del, "promeneur", "rm", p, (char *)NULL) != NULL, k);
		}
		CHECK_IDX(sync_order(&w, cases[k].order) == 0, k);
		CHECK_IDX(sync_order(&w, "ABCABC") == 0, k);

		const char *text = same_exports(&w, 3);
		CHECK_IDX(text != NULL, k);
		json_t *e = h_json(text, strlen(text));
		/* The delete wins over the edit, whatever the order. */
		CHECK_IDX(h_export_row(e, "promeneur", p) == NULL, k);
		CHECK_IDX(h_export_row(e, "structure", s) != NULL, k);
		for (int i = 0; i < 3; i++) {
			json_t *cs = h_conflicts(w.home[i], 0);
			CHECK_IDX(cs != NULL, 10 * (int)k + i);
			json_t *c = find_conflict(cs, p, NULL);
			CHECK_IDX(c != NULL, 10 * (int)k + i);
			CHECK_STR_IDX(json_string_value(json_object_get(c, "kind")), "suppression", 10 * (int)k + i);
			CHECK_STR_IDX(json_string_value(json_object_get(c, "table")), "promeneur", 10 * (int)k + i);
		}
		CHECK_INT_IDX(h_daemon_stop(&w.d), 0, k);
	}
}
