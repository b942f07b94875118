/*
 * test-e2e-conflicts.c - conflicts as a coordinator reads them after a long
 * offline period: named by what they are about, grouped, and settled in
 * bulk by filter, with what will be done shown first.
 */
#include <string.h>
#include "harness.h"
#include "test.h"

#define N 500

static long long open_conflicts(const char *home)
{
	json_t *s = h_status(home);
	json_t *v = s ? json_object_get(s, "conflicts") : NULL;
	return json_is_integer(v) ? json_integer_value(v) : -1;
}

TEST(e2e_conflicts_named_grouped_and_settled_in_bulk)
{
	struct h_daemon d;
	char ta[H_TOKEN], tb[H_TOKEN];
	h_setup();
	CHECK(h_daemon_init(&d, "conflits") == 0);
	CHECK(h_daemon_user(&d, "coord-a", "65", "coordinateur", ta) == 0);
	CHECK(h_daemon_user(&d, "coord-b", "65", "coordinateur", tb) == 0);
	CHECK(h_daemon_serve(&d) == 0);
	const char *a = h_replica(&d, "A", ta), *b = h_replica(&d, "B", tb);
	CHECK(a && b);
	/* 500 structures, made at once on A. */
	CHECK(h_replica_capture(a, h_strf(
		"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d) "
		"INSERT INTO structure(id, dept, nom, commune) SELECT "
		"printf('%%08x-0000-4000-8000-%%012x', i, i), '65', 'Structure ' || i, 'Tarbes' "
		"FROM n", N)) == 0);
	CHECK(h_sync(a, &d) == 0 && h_sync(b, &d) == 0);
	/* Both edit every telephone offline; B later. */
	CHECK(h_replica_capture(a, "UPDATE structure SET telephone = '0611111111'") == 0);
	CHECK(h_replica_capture(b, "UPDATE structure SET telephone = '0622222222'") == 0);
	/* And 20 courriels, settled in the interface. */
	CHECK(h_replica_capture(a, "UPDATE structure SET email = 'a@example.org' WHERE "
			       "CAST(substr(nom, 11) AS INTEGER) <= 20") == 0);
	CHECK(h_replica_capture(b, "UPDATE structure SET email = 'b@example.org' WHERE "
			       "CAST(substr(nom, 11) AS INTEGER) <= 20") == 0);
	CHECK(h_sync(a, &d) == 0 && h_sync(b, &d) == 0 && h_sync(a, &d) == 0);
	CHECK_INT(open_conflicts(a), N + 20);

	/* Named by what they are about, under one heading. */
	const char *list = h_relais_ok(a, "conflicts", (char *)NULL);
	CHECK(list != NULL);
	CHECK(strstr(list, "== structures — Téléphone ==") != NULL);
	CHECK(strstr(list, "la structure « Structure 17 », Téléphone") != NULL);

	/* The preview changes nothing. */
	const char *preview = h_relais_ok(a, "conflicts", "resolve", "--champ", "Téléphone", "--keep",
					  "mine", (char *)NULL);
	CHECK(preview != NULL);
	if (!strstr(preview, "garder « 0611111111 » (la valeur perdue)"))
		fprintf(stderr, "%.600s\n", preview);
	CHECK(strstr(preview, "garder « 0611111111 » (la valeur perdue)") != NULL);
	CHECK(strstr(preview, "500 conflits correspondent ; rien n'est modifié") != NULL);
	CHECK_INT(open_conflicts(a), N + 20);
	/* A filter that matches nothing, a filter that does not exist. */
	const char *none = h_relais_ok(a, "conflicts", "resolve", "--table", "promeneur", "--keep",
				       "mine", "--oui", (char *)NULL);
	CHECK(none && strstr(none, "aucun ne correspond"));
	struct h_out *o = h_relais(a, "conflicts", "resolve", "--champ", "couleur", "--keep", "mine",
				   (char *)NULL);
	CHECK_INT(o->status, 2);
	CHECK(strstr(o->err, "aucun champ « couleur »") != NULL);
	/* Settled in bulk: A keeps its own values everywhere. */
	const char *done = h_relais_ok(a, "conflicts", "resolve", "--champ", "telephone", "--auteur",
				       "coord-a", "--keep", "mine", "--oui", (char *)NULL);
	CHECK(done && strstr(done, "500 conflits tranchés"));
	CHECK_INT(open_conflicts(a), 20);
	/* The same in the interface: what will be done, then done. */
	struct h_uip u;
	struct h_http pv, ap;
	CHECK(h_uip_open(a, &u) == 0);
	CHECK(h_uip_get(&u, "/conflits/bloc?table=&champ=Courriel&auteur=&garder=theirs", &pv) == 0);
	CHECK(h_uip_post(&u, "/conflits/bloc", "table=&champ=Courriel&auteur=&garder=theirs", &ap) == 0);
	CHECK_INT(h_uip_close(&u), 0);
	CHECK_INT(pv.status, 200);
	CHECK(strstr(pv.body, "20 conflits seront tranchés") && strstr(pv.body, "b@example.org"));
	CHECK_INT(ap.status, 303);
	CHECK_INT(open_conflicts(a), 0);
	CHECK(h_sync(a, &d) == 0 && h_sync(b, &d) == 0);
	CHECK_INT(open_conflicts(b), 0);
	json_t *e = h_export(b);
	CHECK(e != NULL);
	json_t *rows = json_object_get(e, "structure"), *r;
	size_t i;
	json_array_foreach(rows, i, r) {
		CHECK_STR_IDX(h_row_str(r, "telephone"), "0611111111", (int)i);
		if (h_row_str(r, "email"))
			CHECK_STR_IDX(h_row_str(r, "email"), "b@example.org", (int)i);
	}
	CHECK_INT(h_daemon_stop(&d), 0);
}
