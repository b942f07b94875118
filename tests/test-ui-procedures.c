/*
 * test-ui-procedures.c - the procedures of the livret through relais ui,
 * first step to last, as a coordinator's browser posts them (the session's
 * cookie, the CSRF token of the pages' forms), against a real relaisd and
 * a real `relais ui --sans-navigateur --port 0`.
 *
 * Each walk is made twice on the same replica: by the commands (relais
 * promeneur signaler, relais procedure …, relais tache faite, relais
 * candidature decider) for one person, and by the interface's forms for
 * another, with the same dates and texts. The export must then hold the
 * same rows for both: one domain layer under both doors. The refusals
 * (a missing field, a date that is none, an unknown row, a step out of
 * turn) come back as the form with a French reason, and change nothing.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../common/util.h"
#include "harness.h"
#include "test.h"

struct world {
	struct h_daemon d;
	const char *home;  /* the coordinator's replica */
	const char *s;     /* a structure */
};

static int world_start(struct world *w, const char *name)
{
	char token[H_TOKEN];
	memset(w, 0, sizeof(*w));
	if (h_daemon_init(&w->d, name) ||
	    h_daemon_user(&w->d, "coord", "65", "coordinateur", token) || h_daemon_serve(&w->d))
		return -1;
	if (!(w->home = h_replica(&w->d, h_strf("%s-r", name), token)))
		return -1;
	w->s = h_relais_ok(w->home, "structure", "add", "--nom", "Centre social de Bagnères",
			   "--commune", "Bagnères-de-Bigorre", (char *)NULL);
	return w->s ? 0 : -1;
}

static const char *person(struct world *w, const char *prenom, const char *statut)
{
	static int n;
	return h_relais_ok(w->home, "promeneur", "add", "--prenom", prenom, "--nom", "Lasserre",
			   "--email", h_strf("personne%d@example.org", ++n), "--structure", w->s,
			   "--statut", statut, (char *)NULL);
}

/* The id in the first "PREFIX<id>SUFFIX" of a page (harness-owned), or NULL. */
static const char *id_in(const char *page, const char *prefix, const char *suffix)
{
	for (const char *p = page; p && (p = strstr(p, prefix)); p++) {
		const char *id = p + strlen(prefix);
		if (strlen(id) >= UTIL_UUID_LEN && !strncmp(id + UTIL_UUID_LEN, suffix, strlen(suffix)))
			return h_strf("%.*s", UTIL_UUID_LEN, id);
	}
	return NULL;
}

/* How many rows of table in an export have col equal to val. */
static size_t rows_where(json_t *e, const char *table, const char *col, const char *val)
{
	size_t n;
	h_export_where(e, table, col, val, &n);
	return n;
}

/* Columns a and b of two rows agree (both absent counts as agreeing). */
static int same(json_t *a, json_t *b, const char *col)
{
	const char *x = h_row_str(a, col), *y = h_row_str(b, col);
	if ((!x && !y) || (x && y && !strcmp(x, y)))
		return 1;
	fprintf(stderr, "  %s: « %s » (commandes) ≠ « %s » (interface)\n", col, x ? x : "(null)",
		y ? y : "(null)");
	return 0;
}

static int by_text(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The directory changes of promeneur p, as "date:nature,…" in date order
 * (harness-owned). */
static const char *directory_of(json_t *e, const char *p)
{
	json_t *rows = json_object_get(e, "directory_change"), *r;
	const char *items[64];
	const char *out = "";
	size_t i, n = 0;
	json_array_foreach(rows, i, r) {
		const char *who = h_row_str(r, "promeneur");
		if (who && !strcmp(who, p) && n < 64)
			items[n++] = h_strf("%s:%s", h_row_str(r, "date"), h_row_str(r, "nature"));
	}
	qsort(items, n, sizeof(items[0]), by_text);
	for (i = 0; i < n; i++)
		out = h_strf("%s%s%s", out, i ? "," : "", items[i]);
	return out;
}

static const char *const procedure_cols[] = {
	"nature", "etape", "motif", "date_signalement", "date_information_caf", "mesures",
	"suivi_mesures", "date_decision", "decision", "date_debut", "date_fin", "date_retrait",
};

/* The procedure of nature of promeneur p in an export, or NULL. */
static json_t *procedure_of(json_t *e, const char *p, const char *nature)
{
	json_t *rows = json_object_get(e, "procedure"), *r;
	size_t i;
	json_array_foreach(rows, i, r) {
		const char *who = h_row_str(r, "promeneur"), *n = h_row_str(r, "nature");
		if (who && n && !strcmp(who, p) && !strcmp(n, nature))
			return r;
	}
	return NULL;
}

static int same_procedure(json_t *e, const char *a, const char *b, const char *nature)
{
	json_t *pa = procedure_of(e, a, nature), *pb = procedure_of(e, b, nature);
	int ok = pa && pb;
	if (!ok)
		fprintf(stderr, "  no %s procedure for one of them\n", nature);
	for (size_t i = 0; ok && i < sizeof(procedure_cols) / sizeof(procedure_cols[0]); i++)
		ok = same(pa, pb, procedure_cols[i]);
	return ok;
}

TEST(ui_procedures_delabellisation)
{
	struct world w;
	struct h_uip u;
	struct h_http r;
	h_setup();
	CHECK(world_start(&w, "delab") == 0);
	const char *a = person(&w, "Inès", "labellise"), *b = person(&w, "Noé", "labellise");
	CHECK(a && b);
	const char *who[2] = { a, b };
	for (int i = 0; i < 2; i++) {
		CHECK_IDX(h_relais_ok(w.home, "presence", "add", "--promeneur", who[i], "--reseau",
				      "instagram", "--nom-profil", "pdn65", (char *)NULL) != NULL, i);
		CHECK_IDX(h_relais_ok(w.home, "presence", "add", "--promeneur", who[i], "--reseau",
				      "discord", "--nom-profil", "pdn_65", (char *)NULL) != NULL, i);
	}

	/* The commands, for the first person. */
	CHECK(h_relais_ok(w.home, "promeneur", "signaler", a, "--motif",
			  "Publications sans lien avec la mission", "--date", "2026-02-02",
			  (char *)NULL) != NULL);
	json_t *e = h_export(w.home);
	const char *pa = h_row_str(h_export_where(e, "procedure", "promeneur", a, NULL), "id");
	CHECK(pa != NULL);
	CHECK(h_relais_ok(w.home, "procedure", "caf", pa, "--date", "2026-02-03", (char *)NULL));
	CHECK(h_relais_ok(w.home, "procedure", "mesures", pa, "--mesures",
			  "Relecture des publications avec la référente", "--date", "2026-02-10",
			  (char *)NULL));
	CHECK(h_relais_ok(w.home, "procedure", "suivre", pa, "--suivi", "Pas d'amélioration",
			  "--date", "2026-03-10", (char *)NULL));
	CHECK(h_relais_ok(w.home, "procedure", "decider", pa, "--decision", "delabellisation",
			  "--date", "2026-03-20", (char *)NULL));
	e = h_export(w.home);
	json_t *tasks = json_object_get(e, "task"), *t;
	size_t i;
	json_array_foreach(tasks, i, t)
		CHECK_IDX(h_relais_ok(w.home, "tache", "faite", h_row_str(t, "id"), "--date",
				      "2026-04-01", (char *)NULL) != NULL, (int)i);

	/* The interface, for the second. */
	CHECK(h_uip_open(w.home, &u) == 0);
	CHECK(h_uip_get(&u, h_strf("/promeneurs/%s", b), &r) == 0);
	CHECK_INT(r.status, 200);
	CHECK(strstr(r.body, "Aucune procédure") && strstr(r.body, "Signaler un problème") &&
	      strstr(r.body, "Suspendre"));
	CHECK(h_uip_post(&u, h_strf("/promeneurs/%s/signaler", b),
			 h_strf("motif=%s&date=2026-02-02",
				h_form_enc("Publications sans lien avec la mission")), &r) == 0);
	CHECK_INT(r.status, 303);
	CHECK_STR(h_http_header(&r, "Location"), h_strf("/promeneurs/%s", b));
	CHECK(h_uip_get(&u, h_strf("/promeneurs/%s", b), &r) == 0);
	CHECK(strstr(r.body, "Procédure ouverte pour") != NULL); /* the flash */
	CHECK(strstr(r.body, h_strf("/promeneurs/%s/signaler", b)) == NULL);
	/* A second report while one is open: refused, the reason shown. */
	CHECK(h_uip_post(&u, h_strf("/promeneurs/%s/signaler", b), "motif=Encore&date=2026-02-03",
			 &r) == 0);
	CHECK_INT(r.status, 409);
	CHECK(strstr(r.body, "déjà ouverte") != NULL);
	CHECK(h_uip_get(&u, h_strf("/promeneurs/%s", b), &r) == 0);
	CHECK(strstr(r.body, "Problème signalé le") && strstr(r.body, "2 février 2026"));
	const char *pb = id_in(r.body, "/procedures/", "/caf");
	CHECK(pb != NULL);
	/* The next step only: no decision form before the CAF is told, and a
	 * decision posted anyway is refused by the domain. */
	CHECK(strstr(r.body, h_strf("/procedures/%s/decider", pb)) == NULL);
	CHECK(h_uip_post(&u, h_strf("/procedures/%s/decider", pb),
			 "decision=delabellisation&date=2026-03-20", &r) == 0);
	CHECK_INT(r.status, 422);
	CHECK(strstr(r.body, "se prend avec la Caf") != NULL);
	CHECK(h_uip_post(&u, h_strf("/procedures/%s/caf", pb), "date=2026-02-03", &r) == 0);
	CHECK_INT(r.status, 303);
	CHECK(h_uip_get(&u, h_strf("/promeneurs/%s", b), &r) == 0);
	CHECK(strstr(r.body, "3 février 2026") != NULL);
	CHECK(strstr(r.body, h_strf("/procedures/%s/mesures", pb)) &&
	      strstr(r.body, h_strf("/procedures/%s/decider", pb)));
	CHECK(h_uip_post(&u, h_strf("/procedures/%s/mesures", pb),
			 h_strf("mesures=%s&date=10%%2F02%%2F2026",
				h_form_enc("Relecture des publications avec la référente")), &r) == 0);
	CHECK_INT(r.status, 303);
	CHECK(h_uip_post(&u, h_strf("/procedures/%s/suivi", pb),
			 h_strf("suivi=%s&date=2026-03-10", h_form_enc("Pas d'amélioration")), &r) == 0);
	CHECK_INT(r.status, 303);
	CHECK(h_uip_post(&u, h_strf("/procedures/%s/decider", pb),
			 "decision=delabellisation&date=2026-03-20&jusqu_au=", &r) == 0);
	CHECK_INT(r.status, 303);
	CHECK(h_uip_get(&u, h_strf("/promeneurs/%s", b), &r) == 0);
	CHECK(strstr(r.body, "délabellisé") && strstr(r.body, "2 tâches"));
	CHECK(strstr(r.body, "étape : retrait") != NULL);
	/* Once decided, no form of a step is offered any more. */
	CHECK(strstr(r.body, h_strf("/procedures/%s/", pb)) == NULL);
	/* The withdrawal's tasks, each with its « Faite » button. */
	for (int k = 0; k < 2; k++) {
		CHECK(h_uip_get(&u, h_strf("/promeneurs/%s", b), &r) == 0);
		const char *task = id_in(r.body, "/taches/", "/faite");
		CHECK_IDX(task != NULL, k);
		CHECK(h_uip_post(&u, h_strf("/taches/%s/faite", task), "date=2026-04-01", &r) == 0);
		CHECK_INT_IDX(r.status, 303, k);
		/* Done twice: refused. */
		CHECK(h_uip_post(&u, h_strf("/taches/%s/faite", task), "date=2026-04-01", &r) == 0);
		CHECK_INT_IDX(r.status, 409, k);
		CHECK_IDX(strstr(r.body, "déjà faite") != NULL, k);
	}
	CHECK(h_uip_get(&u, h_strf("/promeneurs/%s", b), &r) == 0);
	CHECK(strstr(r.body, "étape : terminée") && strstr(r.body, "1er avril 2026"));
	CHECK(id_in(r.body, "/taches/", "/faite") == NULL);
	CHECK_INT(h_uip_close(&u), 0);

	/* The same rows from both doors. */
	e = h_export(w.home);
	CHECK(same_procedure(e, a, b, "delabellisation"));
	json_t *ra = h_export_row(e, "promeneur", a), *rb = h_export_row(e, "promeneur", b);
	CHECK_STR(h_row_str(rb, "statut"), "delabellise");
	CHECK(same(ra, rb, "statut") && same(ra, rb, "date_delabellisation") &&
	      same(ra, rb, "motif_delabellisation"));
	CHECK_STR(h_row_str(procedure_of(e, b, "delabellisation"), "mesures"),
		  "10/02/2026 : Relecture des publications avec la référente");
	CHECK(strstr(directory_of(e, b), "2026-03-20:retrait") != NULL);
	CHECK_STR(directory_of(e, a), directory_of(e, b));
	CHECK_INT(rows_where(e, "task", "promeneur", a), 2);
	CHECK_INT(rows_where(e, "task", "promeneur", b), 2);
	json_array_foreach(json_object_get(e, "task"), i, t) {
		CHECK_STR_IDX(h_row_str(t, "date_faite"), "2026-04-01", (int)i);
		CHECK_INT_IDX(json_integer_value(json_object_get(t, "faite")), 1, (int)i);
	}
	/* And the server holds them after a sync. */
	CHECK(h_sync(w.home, &w.d) == 0);
	CHECK_INT(h_daemon_stop(&w.d), 0);
}

TEST(ui_procedures_maintien_et_suspension)
{
	struct world w;
	struct h_uip u;
	struct h_http r;
	h_setup();
	CHECK(world_start(&w, "maintien") == 0);
	const char *a = person(&w, "Jade", "labellise"), *b = person(&w, "Tom", "labellise");
	CHECK(a && b);
	/* A procedure ended by a suspension decided with the CAF. */
	CHECK(h_relais_ok(w.home, "promeneur", "signaler", a, "--motif", "Absence de bilan",
			  "--date", "2026-02-02", (char *)NULL));
	const char *pa = h_row_str(h_export_where(h_export(w.home), "procedure", "promeneur", a,
						  NULL), "id");
	CHECK(pa != NULL);
	CHECK(h_relais_ok(w.home, "procedure", "caf", pa, "--date", "2026-02-05", (char *)NULL));
	CHECK(h_relais_ok(w.home, "procedure", "decider", pa, "--decision", "suspension", "--date",
			  "2026-02-20", "--jusqu-au", "2026-06-30", (char *)NULL));
	CHECK(h_relais_ok(w.home, "promeneur", "retablir", a, "--date", "2026-05-01", (char *)NULL));

	CHECK(h_uip_open(w.home, &u) == 0);
	CHECK(h_uip_post(&u, h_strf("/promeneurs/%s/signaler", b),
			 "motif=Absence+de+bilan&date=2026-02-02", &r) == 0);
	CHECK_INT(r.status, 303);
	CHECK(h_uip_get(&u, h_strf("/promeneurs/%s", b), &r) == 0);
	const char *pb = id_in(r.body, "/procedures/", "/caf");
	CHECK(pb != NULL);
	CHECK(h_uip_post(&u, h_strf("/procedures/%s/caf", pb), "date=05/02/2026", &r) == 0);
	CHECK_INT(r.status, 303);
	/* A suspension that ends before it starts: the domain's reason. */
	CHECK(h_uip_post(&u, h_strf("/procedures/%s/decider", pb),
			 "decision=suspension&date=2026-02-20&jusqu_au=2026-01-01", &r) == 0);
	CHECK_INT(r.status, 422);
	CHECK(strstr(r.body, "précède") != NULL);
	CHECK(h_uip_post(&u, h_strf("/procedures/%s/decider", pb),
			 "decision=suspension&date=2026-02-20&jusqu_au=2026-06-30", &r) == 0);
	CHECK_INT(r.status, 303);
	CHECK(h_uip_get(&u, h_strf("/promeneurs/%s", b), &r) == 0);
	CHECK(strstr(r.body, "Rétablir") && strstr(r.body, "30 juin 2026"));
	CHECK(strstr(r.body, h_strf("/promeneurs/%s/suspendre", b)) == NULL);
	CHECK(h_uip_post(&u, h_strf("/promeneurs/%s/retablir", b), "date=2026-05-01", &r) == 0);
	CHECK_INT(r.status, 303);
	/* Reinstated twice: refused. */
	CHECK(h_uip_post(&u, h_strf("/promeneurs/%s/retablir", b), "date=2026-05-02", &r) == 0);
	CHECK_INT(r.status, 422);
	CHECK(strstr(r.body, "seul un promeneur suspendu") != NULL);
	CHECK_INT(h_uip_close(&u), 0);

	json_t *e = h_export(w.home);
	CHECK(same_procedure(e, a, b, "delabellisation"));
	CHECK(same_procedure(e, a, b, "suspension"));
	json_t *sb = procedure_of(e, b, "suspension");
	CHECK_STR(h_row_str(procedure_of(e, b, "delabellisation"), "decision"), "suspension");
	CHECK_STR(h_row_str(sb, "date_fin"), "2026-05-01");
	CHECK_STR(h_row_str(h_export_row(e, "promeneur", b), "statut"), "labellise");
	CHECK_STR(directory_of(e, b), "2026-02-20:suspension,2026-05-01:reprise");
	CHECK_STR(directory_of(e, a), directory_of(e, b));
	CHECK_INT(h_daemon_stop(&w.d), 0);
}

TEST(ui_procedures_suspendre_retablir)
{
	struct world w;
	struct h_uip u;
	struct h_http r;
	h_setup();
	CHECK(world_start(&w, "suspension") == 0);
	const char *a = person(&w, "Léa", "labellise"), *b = person(&w, "Max", "labellise");
	CHECK(a && b);
	CHECK(h_relais_ok(w.home, "promeneur", "suspendre", a, "--motif", "Congé parental", "--date",
			  "2026-05-01", "--jusqu-au", "2026-09-01", (char *)NULL));
	CHECK(h_relais_ok(w.home, "promeneur", "retablir", a, "--date", "2026-08-15", (char *)NULL));

	CHECK(h_uip_open(w.home, &u) == 0);
	/* Without a motif: the form again, the message by its field. */
	CHECK(h_uip_post(&u, h_strf("/promeneurs/%s/suspendre", b), "motif=&date=2026-05-01", &r) == 0);
	CHECK_INT(r.status, 422);
	CHECK(strstr(r.body, "Motif de la suspension : ce champ est obligatoire.") &&
	      strstr(r.body, "aria-invalid=\"true\""));
	CHECK(h_uip_post(&u, h_strf("/promeneurs/%s/suspendre", b),
			 h_strf("motif=%s&date=2026-05-01&jusqu_au=2026-09-01",
				h_form_enc("Congé parental")), &r) == 0);
	CHECK_INT(r.status, 303);
	CHECK(h_uip_get(&u, h_strf("/promeneurs/%s", b), &r) == 0);
	CHECK(strstr(r.body, "suspendu du 1er mai 2026 au 1er septembre 2026") != NULL); /* the flash */
	CHECK(strstr(r.body, "Suspension") && strstr(r.body, "1er mai 2026") &&
	      strstr(r.body, "1er septembre 2026"));
	CHECK(h_uip_post(&u, h_strf("/promeneurs/%s/retablir", b), "date=2026-08-15", &r) == 0);
	CHECK_INT(r.status, 303);
	CHECK_INT(h_uip_close(&u), 0);

	json_t *e = h_export(w.home);
	CHECK(same_procedure(e, a, b, "suspension"));
	CHECK_STR(h_row_str(procedure_of(e, b, "suspension"), "etape"), "terminee");
	CHECK_STR(h_row_str(procedure_of(e, b, "suspension"), "date_fin"), "2026-08-15");
	CHECK_STR(h_row_str(h_export_row(e, "promeneur", b), "statut"), "labellise");
	CHECK_STR(directory_of(e, b), "2026-05-01:suspension,2026-08-15:reprise");
	CHECK_STR(directory_of(e, a), directory_of(e, b));
	CHECK_INT(h_daemon_stop(&w.d), 0);
}

TEST(ui_procedures_candidature_decisions)
{
	struct world w;
	struct h_uip u;
	struct h_http r;
	h_setup();
	CHECK(world_start(&w, "decisions") == 0);
	const char *p[4], *c[4];
	for (int i = 0; i < 4; i++) {
		p[i] = person(&w, h_strf("candidat%d", i), "candidat");
		CHECK_IDX(p[i] != NULL, i);
		c[i] = h_relais_ok(w.home, "candidature", "add", "--structure", w.s, "--promeneur", p[i],
				   "--date-depot", "2025-12-01", (char *)NULL);
		CHECK_IDX(c[i] != NULL, i);
	}
	/* The commands: 0 adjourned then accepted, 2 refused. */
	CHECK(h_relais_ok(w.home, "candidature", "decider", c[0], "--decision", "ajournee", "--date",
			  "2026-01-15", "--comite", "2026-01-15", (char *)NULL));
	CHECK(h_relais_ok(w.home, "candidature", "decider", c[0], "--decision", "acceptee", "--date",
			  "2026-03-12", "--comite", "2026-03-12", (char *)NULL));
	CHECK(h_relais_ok(w.home, "candidature", "decider", c[2], "--decision", "refusee", "--date",
			  "2026-03-12", "--comite", "2026-03-12", (char *)NULL));

	/* The interface: 1 and 3 alike. */
	CHECK(h_uip_open(w.home, &u) == 0);
	CHECK(h_uip_get(&u, h_strf("/promeneurs/%s", p[1]), &r) == 0);
	CHECK(strstr(r.body, h_strf("href=\"/fiches/candidature/%s\"", c[1])) != NULL);
	CHECK(h_uip_get(&u, h_strf("/fiches/candidature/%s", c[1]), &r) == 0);
	CHECK_INT(r.status, 200);
	CHECK(strstr(r.body, "Décisions du comité") && strstr(r.body, "attend le comité") &&
	      strstr(r.body, h_strf("action=\"/fiches/candidature/%s/decider\"", c[1])));
	/* en_attente is no decision; nor is a made-up word. */
	CHECK(h_uip_post(&u, h_strf("/fiches/candidature/%s/decider", c[1]),
			 "decision=en_attente&date_comite=2026-01-15", &r) == 0);
	CHECK_INT(r.status, 422);
	CHECK(strstr(r.body, "choisissez l&#39;un des choix proposés") != NULL);
	CHECK(h_uip_post(&u, h_strf("/fiches/candidature/%s/decider", c[1]),
			 "decision=%3Cscript%3E&date_comite=2026-01-15", &r) == 0);
	CHECK_INT(r.status, 422);
	CHECK(strstr(r.body, "<script>") == NULL);
	CHECK(h_uip_post(&u, h_strf("/fiches/candidature/%s/decider", c[1]),
			 h_strf("decision=ajournee&date_comite=2026-01-15&avis=%s",
				h_form_enc("Dossier incomplet : contrat à joindre")), &r) == 0);
	CHECK_INT(r.status, 303);
	CHECK_STR(h_http_header(&r, "Location"), h_strf("/fiches/candidature/%s", c[1]));
	CHECK(h_uip_post(&u, h_strf("/fiches/candidature/%s/decider", c[1]),
			 "decision=acceptee&date_comite=2026-03-12", &r) == 0);
	CHECK_INT(r.status, 303);
	CHECK(h_uip_get(&u, h_strf("/fiches/candidature/%s", c[1]), &r) == 0);
	CHECK(strstr(r.body, "ajournée") && strstr(r.body, "15 janvier 2026") &&
	      strstr(r.body, "Dossier incomplet") && strstr(r.body, "acceptée") &&
	      strstr(r.body, "12 mars 2026"));
	CHECK(strstr(strstr(r.body, "ajournée"), "12 mars 2026") != NULL); /* in order */
	/* Accepted for good: no form any more, a decision posted is refused. */
	CHECK(strstr(r.body, "/decider\"") == NULL);
	CHECK(h_uip_post(&u, h_strf("/fiches/candidature/%s/decider", c[1]),
			 "decision=refusee&date_comite=2026-04-01", &r) == 0);
	CHECK_INT(r.status, 422);
	CHECK(strstr(r.body, "déjà acceptée") != NULL);
	CHECK(h_uip_post(&u, h_strf("/fiches/candidature/%s/decider", c[3]),
			 "decision=refus%C3%A9e&date_comite=2026-03-12", &r) == 0);
	CHECK_INT(r.status, 303);
	CHECK(h_uip_get(&u, h_strf("/promeneurs/%s", p[3]), &r) == 0);
	CHECK(strstr(r.body, "non retenu") != NULL);
	CHECK_INT(h_uip_close(&u), 0);

	json_t *e = h_export(w.home);
	CHECK_INT(rows_where(e, "decision", "candidature", c[1]), 2);
	for (int k = 0; k < 2; k++) {
		json_t *ca = h_export_row(e, "candidature", c[2 * k]);
		json_t *cb = h_export_row(e, "candidature", c[2 * k + 1]);
		json_t *pa = h_export_row(e, "promeneur", p[2 * k]);
		json_t *pb = h_export_row(e, "promeneur", p[2 * k + 1]);
		CHECK_IDX(same(ca, cb, "decision") && same(ca, cb, "date_comite"), k);
		CHECK_IDX(same(pa, pb, "statut") && same(pa, pb, "date_labellisation"), k);
		CHECK_INT_IDX(rows_where(e, "decision", "candidature", c[2 * k]),
			      rows_where(e, "decision", "candidature", c[2 * k + 1]), k);
		CHECK_STR_IDX(directory_of(e, p[2 * k]), directory_of(e, p[2 * k + 1]), k);
	}
	CHECK_STR(h_row_str(h_export_row(e, "promeneur", p[1]), "statut"), "labellise");
	CHECK_STR(h_row_str(h_export_row(e, "promeneur", p[3]), "statut"), "non_retenu");
	CHECK_STR(h_row_str(h_export_where(e, "decision", "decision", "ajournee", NULL),
			    "date_comite"),
		  "2026-01-15");
	CHECK_INT(h_daemon_stop(&w.d), 0);
}

TEST(ui_procedures_hostile_forms)
{
	struct world w;
	struct h_uip u;
	struct h_http r;
	h_setup();
	CHECK(world_start(&w, "hostile") == 0);
	const char *a = person(&w, "Zoé", "labellise"), *cand = person(&w, "Lou", "candidat");
	CHECK(a && cand);
	const char *before = h_export_text(w.home);
	CHECK(before != NULL);
	char big[12000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;

	CHECK(h_uip_open(w.home, &u) == 0);
	static const struct {
		const char *path, *form, *needle;
		int status;
	} cases[] = {
		{ "/promeneurs/%s/signaler", "date=2026-02-02", "obligatoire", 422 },
		{ "/promeneurs/%s/signaler", "motif=x&date=2026-13-45", "Signalé le", 422 },
		{ "/promeneurs/%s/signaler", "motif=x&date=demain", "Signalé le", 422 },
		{ "/promeneurs/%s/suspendre", "motif=x&date=2026-02-02&jusqu_au=2026-02-30", "Jusqu", 422 },
		{ "/promeneurs/%s/retablir", "date=2026-02-02", "seul un promeneur suspendu", 422 },
		{ "/promeneurs/00000000-0000-4000-8000-000000000000/signaler", "motif=x", NULL, 404 },
		{ "/promeneurs/..%%2F..%%2Fetc/signaler", "motif=x", NULL, 404 },
		{ "/procedures/%s/caf", "date=2026-02-02", NULL, 404 },
		{ "/taches/%s/faite", "date=2026-02-02", NULL, 404 },
		{ "/fiches/candidature/%s/decider", "decision=acceptee", NULL, 404 },
		{ "/demandes/%s/orienter", "ressource=x", NULL, 404 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_IDX(h_uip_post(&u, h_strf(cases[i].path, a), cases[i].form, &r) == 0, (int)i);
		CHECK_INT_IDX(r.status, cases[i].status, (int)i);
		if (cases[i].needle)
			CHECK_IDX(strstr(r.body, cases[i].needle) != NULL, (int)i);
	}
	/* A candidate is not suspended nor reported; a text past the cap is
	 * refused, not cut. */
	CHECK(h_uip_post(&u, h_strf("/promeneurs/%s/suspendre", cand), "motif=x&date=2026-02-02",
			 &r) == 0);
	CHECK_INT(r.status, 422);
	CHECK(strstr(r.body, "seul un promeneur labellisé") != NULL);
	CHECK(h_uip_post(&u, h_strf("/promeneurs/%s/signaler", cand), "motif=x&date=2026-02-02",
			 &r) == 0);
	CHECK_INT(r.status, 422);
	CHECK(h_uip_post(&u, h_strf("/promeneurs/%s/signaler", a),
			 h_strf("motif=%s&date=2026-02-02", big), &r) == 0);
	CHECK_INT(r.status, 422);
	/* The CSRF token is checked before any of these. */
	CHECK(h_uip_send(&u, "POST", h_strf("/promeneurs/%s/signaler", a), NULL, &r) == 0);
	CHECK(r.status == 403 || r.status == 415 || r.status == 400);
	CHECK_INT(h_uip_close(&u), 0);
	/* Nothing was written. */
	CHECK_STR(h_export_text(w.home), before);
	CHECK_INT(h_daemon_stop(&w.d), 0);
}

TEST(ui_procedures_demandes_et_partenaires)
{
	struct world w;
	struct h_uip u;
	struct h_http r;
	h_setup();
	CHECK(world_start(&w, "demandes") == 0);
	const char *p = person(&w, "Inès", "labellise");
	const char *res = h_relais_ok(w.home, "ressource", "add", "--nom", "Maître Durand",
				      "--organisme", "Barreau de Tarbes", "--domaine", "droit",
				      (char *)NULL);
	CHECK(p && res);
	const char *q = h_relais_ok(w.home, "demande", "add", "--promeneur", p, "--sujet",
				    "juridique", "--question", "Droit à l'image d'un mineur ?",
				    "--date-demande", "2026-03-01", (char *)NULL);
	CHECK(q != NULL);
	const char *task = h_relais_ok(w.home, "tache", "add", "--libelle", "Appeler la MJC",
				       "--promeneur", p, "--echeance", "2026-01-05", (char *)NULL);
	const char *task2 = h_relais_ok(w.home, "tache", "add", "--libelle", "Relire la charte",
					"--promeneur", p, (char *)NULL);
	CHECK(task && task2);

	CHECK(h_uip_open(w.home, &u) == 0);
	/* A partner and its contact, through the generic forms. */
	CHECK(h_uip_post(&u, "/fiches/partenaire/nouvelle",
			 h_strf("nom=%s&type=sdjes&relation=partenaire",
				h_form_enc("SDJES des Hautes-Pyrénées")), &r) == 0);
	CHECK_INT(r.status, 303);
	const char *part = h_location_id(&r, "/fiches/partenaire/");
	CHECK(part != NULL);
	CHECK(h_uip_get(&u, h_strf("/fiches/partenaire/%s", part), &r) == 0);
	CHECK_INT(r.status, 200);
	CHECK(strstr(r.body, "<h1>SDJES des Hautes-Pyrénées</h1>") &&
	      strstr(r.body, h_strf("/fiches/contact/nouvelle?partenaire=%s", part)));
	/* The contact's form offers the partner by its name. */
	CHECK(h_uip_get(&u, h_strf("/fiches/contact/nouvelle?partenaire=%s", part), &r) == 0);
	CHECK_INT(r.status, 200);
	CHECK(strstr(r.body, h_strf("<option value=\"%s\" selected>SDJES des Hautes-Pyrénées</option>",
				    part)) != NULL);
	CHECK(h_uip_post(&u, "/fiches/contact/nouvelle",
			 h_strf("prenom=Claire&nom=Baylac&fonction=%s&partenaire=%s",
				h_form_enc("Conseillère jeunesse"), part), &r) == 0);
	CHECK_INT(r.status, 303);
	const char *contact = h_location_id(&r, "/fiches/contact/");
	CHECK(contact != NULL);
	CHECK(h_uip_get(&u, h_strf("/fiches/contact/%s", contact), &r) == 0);
	CHECK(strstr(r.body, "<h1>Claire Baylac (SDJES des Hautes-Pyrénées)</h1>") != NULL);
	CHECK(h_uip_get(&u, "/fiches/partenaire", &r) == 0);
	CHECK_INT(r.status, 200);
	CHECK(strstr(r.body, "Partenaires et prospects") && strstr(r.body, "SDJES") &&
	      strstr(r.body, "aria-current=\"page\""));
	CHECK(h_uip_get(&u, "/fiches/resource", &r) == 0);
	CHECK_INT(r.status, 200);
	CHECK(strstr(r.body, "Maître Durand") && strstr(r.body, "Barreau de Tarbes"));
	CHECK(h_uip_get(&u, "/fiches/inconnue", &r) == 0);
	CHECK_INT(r.status, 404);
	/* A request from the partner's contact, through the generic form. */
	CHECK(h_uip_post(&u, "/fiches/request/nouvelle",
			 h_strf("sujet=technique&question=%s&date_demande=2026-03-05&contact=%s",
				h_form_enc("Quel outil de visio ?"), contact), &r) == 0);
	CHECK_INT(r.status, 303);

	/* The queue: both requests, oldest first, with who asked. */
	CHECK(h_uip_get(&u, "/demandes", &r) == 0);
	CHECK_INT(r.status, 200);
	const char *q1 = strstr(r.body, "Droit à l&#39;image"), *q2 = strstr(r.body, "Quel outil");
	CHECK(q1 && q2 && q1 < q2);
	CHECK(strstr(r.body, "Inès Lasserre") && strstr(r.body, "Claire Baylac (SDJES") &&
	      strstr(r.body, "juridique") && strstr(r.body, "1er mars 2026") &&
	      strstr(r.body, h_strf("/demandes/%s/orienter", q)));
	/* Referral: to nothing, to a row that is no resource, then right. */
	CHECK(h_uip_post(&u, h_strf("/demandes/%s/orienter", q), "ressource=", &r) == 0);
	CHECK_INT(r.status, 422);
	CHECK(strstr(r.body, "choisissez") != NULL);
	CHECK(h_uip_post(&u, h_strf("/demandes/%s/orienter", q), h_strf("ressource=%s", p), &r) == 0);
	CHECK_INT(r.status, 422);
	CHECK(strstr(r.body, "introuvable") != NULL);
	/* From the request's own page, the answer comes back to it. */
	CHECK(h_uip_get(&u, h_strf("/fiches/request/%s", q), &r) == 0);
	CHECK_INT(r.status, 200);
	CHECK(strstr(r.body, "Orientation") && strstr(r.body, "name=\"retour\" value=\"fiche\""));
	CHECK(h_uip_post(&u, h_strf("/demandes/%s/orienter", q),
			 h_strf("ressource=%s&retour=fiche", res), &r) == 0);
	CHECK_INT(r.status, 303);
	CHECK_STR(h_http_header(&r, "Location"), h_strf("/fiches/request/%s", q));
	CHECK(h_uip_post(&u, h_strf("/demandes/%s/orienter", q), h_strf("ressource=%s", res),
			 &r) == 0);
	CHECK_INT(r.status, 303);
	CHECK_STR(h_http_header(&r, "Location"), "/demandes");
	CHECK(h_uip_get(&u, "/demandes", &r) == 0);
	CHECK(strstr(r.body, "orientée vers") && strstr(r.body, "Maître Durand"));
	CHECK(h_uip_get(&u, h_strf("/fiches/resource/%s", res), &r) == 0);
	CHECK(strstr(r.body, "Demandes orientées vers cette personne") &&
	      strstr(r.body, "Droit à l&#39;image"));
	/* The home page: the open requests and the tasks not done. */
	CHECK(h_uip_get(&u, "/", &r) == 0);
	CHECK(strstr(r.body, "Demandes ouvertes") && strstr(r.body, "Tâches à faire") &&
	      strstr(r.body, "1er mars 2026") && strstr(r.body, "href=\"/demandes\""));
	CHECK(strstr(r.body, "Appeler la MJC") && strstr(r.body, "5 janvier 2026") &&
	      strstr(r.body, "en retard") && strstr(r.body, h_strf("/taches/%s/faite", task)));
	/* Its « Faite » button comes back home. */
	CHECK(h_uip_post(&u, h_strf("/taches/%s/faite", task), "retour=%2F", &r) == 0);
	CHECK_INT(r.status, 303);
	CHECK_STR(h_http_header(&r, "Location"), "/");
	CHECK(h_uip_get(&u, "/", &r) == 0);
	CHECK(strstr(r.body, "Tâche faite le") && strstr(r.body, "Relire la charte") &&
	      strstr(r.body, "sans échéance") &&
	      !strstr(r.body, h_strf("/taches/%s/faite", task)));
	/* Anywhere else is not a place to come back to: the person's page. */
	CHECK(h_uip_post(&u, h_strf("/taches/%s/faite", task2), "retour=https%3A%2F%2Fexample.org",
			 &r) == 0);
	CHECK_INT(r.status, 303);
	CHECK_STR(h_http_header(&r, "Location"), h_strf("/promeneurs/%s", p));
	CHECK(h_uip_get(&u, "/", &r) == 0);
	CHECK(strstr(r.body, "Aucune tâche en attente.") != NULL);
	CHECK_INT(h_uip_close(&u), 0);

	json_t *e = h_export(w.home);
	json_t *rq = h_export_row(e, "request", q);
	char today[16];
	time_t now = time(NULL);
	strftime(today, sizeof(today), "%Y-%m-%d", localtime(&now));
	CHECK_STR(h_row_str(rq, "ressource"), res);
	CHECK_STR(h_row_str(rq, "date_orientation"), today);
	CHECK_STR(h_row_str(h_export_row(e, "task", task), "date_faite"), today);
	json_t *rc = h_export_where(e, "request", "contact", contact, NULL);
	CHECK(rc != NULL);
	CHECK_STR(h_row_str(rc, "sujet"), "technique");
	CHECK_STR(h_row_str(h_export_row(e, "contact", contact), "partenaire"), part);
	CHECK_INT(h_daemon_stop(&w.d), 0);
}

/* A CAF account reads the procedures but is offered no form, and its posts
 * are refused: nothing reaches its replica. */
TEST(ui_procedures_caf_consultation)
{
	struct world w;
	struct h_uip u;
	struct h_http r;
	char token[H_TOKEN];
	h_setup();
	CHECK(world_start(&w, "caf") == 0);
	CHECK(h_daemon_user(&w.d, "referente@caf", "65", "caf", token) == 0);
	const char *p = person(&w, "Inès", "labellise");
	CHECK(p != NULL);
	CHECK(h_relais_ok(w.home, "promeneur", "signaler", p, "--motif", "Absence de bilan",
			  "--date", "2026-02-02", (char *)NULL));
	CHECK(h_relais_ok(w.home, "tache", "add", "--libelle", "Appeler la structure", "--promeneur",
			  p, "--echeance", "2026-02-10", (char *)NULL));
	CHECK(h_sync(w.home, &w.d) == 0);
	const char *caf = h_replica(&w.d, "lecture-caf", token);
	CHECK(caf != NULL);
	const char *before = h_export_text(caf);
	CHECK(before && strstr(before, "Absence de bilan"));

	CHECK(h_uip_open(caf, &u) == 0);
	CHECK(h_uip_get(&u, h_strf("/promeneurs/%s", p), &r) == 0);
	CHECK_INT(r.status, 200);
	CHECK(strstr(r.body, "Problème signalé le") && strstr(r.body, "2 février 2026") &&
	      strstr(r.body, "Appeler la structure"));
	CHECK(strstr(r.body, "/procedures/") == NULL);
	CHECK(strstr(r.body, "/taches/") == NULL && strstr(r.body, "/signaler") == NULL &&
	      strstr(r.body, "/suspendre") == NULL);
	json_t *e = h_export(w.home);
	const char *proc = h_row_str(procedure_of(e, p, "delabellisation"), "id");
	CHECK(proc != NULL);
	CHECK(h_uip_post(&u, h_strf("/procedures/%s/caf", proc), "date=2026-02-03", &r) == 0);
	CHECK_INT(r.status, 403);
	CHECK(h_uip_post(&u, h_strf("/promeneurs/%s/suspendre", p), "motif=x&date=2026-02-03", &r) == 0);
	CHECK_INT(r.status, 403);
	CHECK_INT(h_uip_close(&u), 0);
	CHECK_STR(h_export_text(caf), before);
	CHECK_INT(h_daemon_stop(&w.d), 0);
}
