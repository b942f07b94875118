/*
 * test-e2e-domain.c - one domain layer under every door.
 *
 * Each workflow rule is driven through every door that can reach it — the
 * command made for it, `set` on the column, the form of relais ui (a real
 * POST with its CSRF token), the import where it applies — and must give
 * the same rows, or the same refusal, once every replica has synced.
 */
#include <string.h>
#include <stdio.h>
#include "../common/util.h"
#include "harness.h"
#include "test.h"

struct world {
	struct h_daemon d;
	const char *cli, *ui;   /* one replica for the commands, one for the interface */
	const char *s;          /* a structure */
};

static int world_start(struct world *w, const char *name)
{
	char t1[H_TOKEN], t2[H_TOKEN];
	memset(w, 0, sizeof(*w));
	if (h_daemon_init(&w->d, name) || h_daemon_user(&w->d, "coord-cli", "65", "coordinateur", t1) ||
	    h_daemon_user(&w->d, "coord-ui", "65", "coordinateur", t2) || h_daemon_serve(&w->d))
		return -1;
	w->cli = h_replica(&w->d, h_strf("%s-cli", name), t1);
	w->ui = h_replica(&w->d, h_strf("%s-ui", name), t2);
	if (!w->cli || !w->ui)
		return -1;
	w->s = h_relais_ok(w->cli, "structure", "add", "--nom", "MJC de Lannemezan", "--commune",
			   "Lannemezan", (char *)NULL);
	return w->s ? 0 : -1;
}

static int sync_all(struct world *w)
{
	for (int round = 0; round < 2; round++)
		if (h_sync(w->cli, &w->d) || h_sync(w->ui, &w->d))
			return -1;
	return 0;
}

static const char *person(struct world *w, const char *prenom, const char *statut)
{
	return h_relais_ok(w->cli, "promeneur", "add", "--prenom", prenom, "--nom", "Durand",
			   "--email", h_strf("%s@example.org", prenom), "--structure", w->s,
			   "--statut", statut, (char *)NULL);
}

/* Directory changes of promeneur p, as "nature,nature…" (harness-owned). */
static const char *directory_of(json_t *exp, const char *p)
{
	json_t *rows = json_object_get(exp, "directory_change"), *r;
	const char *out = "";
	size_t i;
	json_array_foreach(rows, i, r) {
		const char *who = json_string_value(json_object_get(r, "promeneur"));
		if (who && !strcmp(who, p))
			out = h_strf("%s%s%s", out, *out ? "," : "", json_string_value(json_object_get(r, "nature")));
	}
	return out;
}

/* A form POST of relais ui on the replica ui, the interface then closed so
 * that the commands can use the replica again. Returns the status. */
static int ui_post(const char *home, const char *path, const char *form, const char **body)
{
	struct h_uip u;
	struct h_http r;
	int status = -1;
	if (h_uip_open(home, &u) == 0 && h_uip_post(&u, path, form, &r) == 0) {
		status = r.status;
		if (body)
			*body = r.body;
	}
	if (h_uip_close(&u))
		status = -1;
	return status;
}

TEST(e2e_domain_decision_at_every_door)
{
	struct world w;
	const char *p[3], *c[3];
	h_setup();
	CHECK(world_start(&w, "decision") == 0);
	for (int i = 0; i < 3; i++) {
		p[i] = person(&w, h_strf("candidat%d", i), "candidat");
		CHECK_IDX(p[i] != NULL, i);
		c[i] = h_relais_ok(w.cli, "candidature", "add", "--structure", w.s, "--promeneur", p[i],
				   (char *)NULL);
		CHECK_IDX(c[i] != NULL, i);
	}
	CHECK(sync_all(&w) == 0);

	/* The command, set on the column, the interface's form. */
	CHECK(h_relais_ok(w.cli, "candidature", "decider", c[0], "--decision", "acceptee",
			  "--comite", "2026-03-02", (char *)NULL) != NULL);
	const char *out = h_relais_ok(w.cli, "candidature", "set", c[1], "--decision", "acceptee",
				      "--date-comite", "2026-03-02", (char *)NULL);
	CHECK(out && strstr(out, "labellisé"));
	CHECK_INT(ui_post(w.ui, h_strf("/fiches/candidature/%s/modifier", c[2]),
			  "decision=acceptee&date_comite=2026-03-02", NULL), 303);
	CHECK(sync_all(&w) == 0);

	json_t *e = h_export(w.cli);
	CHECK(e != NULL);
	for (int i = 0; i < 3; i++) {
		json_t *cand = h_export_row(e, "candidature", c[i]), *prom = h_export_row(e, "promeneur", p[i]);
		CHECK_STR_IDX(h_row_str(cand, "decision"), "acceptee", i);
		CHECK_STR_IDX(h_row_str(cand, "date_comite"), "2026-03-02", i);
		CHECK_STR_IDX(h_row_str(prom, "statut"), "labellise", i);
		CHECK_IDX(h_row_str(prom, "date_labellisation") != NULL, i);
		CHECK_STR_IDX(directory_of(e, p[i]), "ajout", i);
	}
	/* The same refusal of a decision taken back, from the command line and
	 * from the form. */
	struct h_out *o = h_relais(w.cli, "candidature", "set", c[0], "--decision", "en_attente", (char *)NULL);
	CHECK_INT(o->status, 1);
	CHECK(strstr(o->err, "déjà acceptée") != NULL);
	const char *body = NULL;
	CHECK_INT(ui_post(w.ui, h_strf("/fiches/candidature/%s/modifier", c[2]), "decision=en_attente",
			  &body), 422);
	CHECK(body && strstr(body, "déjà acceptée"));
	CHECK_INT(h_daemon_stop(&w.d), 0);
}

TEST(e2e_domain_status_at_every_door)
{
	struct world w;
	const char *q[3];
	h_setup();
	CHECK(world_start(&w, "statut") == 0);
	for (int i = 0; i < 3; i++) {
		q[i] = person(&w, h_strf("label%d", i), "labellise");
		CHECK_IDX(q[i] != NULL, i);
	}
	const char *cand = person(&w, "candidate", "candidat");
	CHECK(cand != NULL);
	CHECK(sync_all(&w) == 0);

	/* Délabellising without a motif: the same refusal everywhere. */
	struct h_out *o = h_relais(w.cli, "promeneur", "set", q[1], "--statut", "delabellise", (char *)NULL);
	CHECK_INT(o->status, 1);
	CHECK(strstr(o->err, "Motif de délabellisation : obligatoire") != NULL);
	const char *body = NULL;
	CHECK_INT(ui_post(w.ui, h_strf("/promeneurs/%s/modifier", q[2]), "statut=delabellise", &body), 422);
	CHECK(body && strstr(body, "Motif de délabellisation : obligatoire"));
	/* With it: the command, set on the column, the form. */
	CHECK(h_relais_ok(w.cli, "promeneur", "delabelliser", q[0], "--motif", "Départ de la structure",
			  (char *)NULL) != NULL);
	CHECK(h_relais_ok(w.cli, "promeneur", "set", q[1], "--statut", "delabellise",
			  "--motif-delabellisation", "Départ de la structure", (char *)NULL) != NULL);
	CHECK_INT(ui_post(w.ui, h_strf("/promeneurs/%s/modifier", q[2]),
			  h_strf("statut=delabellise&motif_delabellisation=%s",
				 h_form_enc("Départ de la structure")), NULL), 303);
	/* Labelling without a decision: refused alike. */
	o = h_relais(w.cli, "promeneur", "set", cand, "--statut", "labellise", (char *)NULL);
	CHECK_INT(o->status, 1);
	CHECK(strstr(o->err, "la labellisation suit l'acceptation") != NULL);
	CHECK_INT(ui_post(w.ui, h_strf("/promeneurs/%s/modifier", cand), "statut=labellise", &body), 422);
	CHECK(body && strstr(body, "la labellisation suit l&#39;acceptation"));
	CHECK(sync_all(&w) == 0);

	json_t *e = h_export(w.ui);
	CHECK(e != NULL);
	for (int i = 0; i < 3; i++) {
		json_t *r = h_export_row(e, "promeneur", q[i]);
		CHECK_STR_IDX(h_row_str(r, "statut"), "delabellise", i);
		CHECK_STR_IDX(h_row_str(r, "motif_delabellisation"), "Départ de la structure", i);
		CHECK_IDX(h_row_str(r, "date_delabellisation") != NULL, i);
		CHECK_STR_IDX(directory_of(e, q[i]), "retrait", i);
	}
	CHECK_STR(h_row_str(h_export_row(e, "promeneur", cand), "statut"), "candidat");
	CHECK_STR(directory_of(e, cand), "");
	CHECK_INT(h_daemon_stop(&w.d), 0);
}

TEST(e2e_domain_labelled_at_creation_at_every_door)
{
	struct world w;
	h_setup();
	CHECK(world_start(&w, "creation") == 0);
	/* A network's existing directory: typed in, entered in the form,
	 * imported. Each promeneur is labelled, nothing to transmit. */
	const char *a = person(&w, "saisie", "labellise");
	CHECK(a != NULL);
	CHECK(sync_all(&w) == 0);
	struct h_uip u;
	struct h_http r;
	CHECK(h_uip_open(w.ui, &u) == 0);
	CHECK(h_uip_post(&u, "/promeneurs/nouveau",
			 h_strf("prenom=formulaire&nom=Durand&email=formulaire%%40example.org&structure=%s"
				"&statut=labellise", w.s), &r) == 0);
	CHECK_INT(r.status, 303);
	const char *b = h_location_id(&r, "/promeneurs/");
	CHECK(b != NULL);
	/* A suspended newcomer is refused, in the form as on the command line. */
	CHECK(h_uip_post(&u, "/promeneurs/nouveau",
			 h_strf("prenom=suspendu&nom=Durand&email=suspendu%%40example.org&structure=%s"
				"&statut=suspendu", w.s), &r) == 0);
	CHECK_INT(r.status, 422);
	CHECK(strstr(r.body, "un nouveau promeneur est candidat ou labellisé") != NULL);
	CHECK_INT(h_uip_close(&u), 0);
	struct h_out *o = h_relais(w.cli, "promeneur", "add", "--prenom", "suspendu", "--nom", "Durand",
				   "--email", "suspendu@example.org", "--structure", w.s, "--statut",
				   "suspendu", (char *)NULL);
	CHECK_INT(o->status, 1);
	CHECK(strstr(o->err, "un nouveau promeneur est candidat ou labellisé") != NULL);
	const char *csv = h_path("annuaire.csv");
	FILE *f = fopen(csv, "w");
	CHECK(f != NULL);
	fputs("Nom;Prénom;Structure;Courriel;Commune\nDurand;importé;MJC de Lannemezan;"
	      "importe@example.org;Lannemezan\n", f);
	fclose(f);
	CHECK(h_relais_ok(w.cli, "import", "annuaire", csv, (char *)NULL) != NULL);
	CHECK(sync_all(&w) == 0);

	json_t *e = h_export(w.cli);
	CHECK(e != NULL);
	json_t *rows = json_object_get(e, "promeneur"), *row;
	size_t i, n = 0;
	json_array_foreach(rows, i, row) {
		const char *id = json_string_value(json_object_get(row, "id"));
		CHECK_STR_IDX(h_row_str(row, "statut"), "labellise", (int)i);
		CHECK_STR_IDX(directory_of(e, id), "", (int)i);
		n++;
	}
	CHECK_INT(n, 3);
	CHECK(h_export_row(e, "promeneur", a) && h_export_row(e, "promeneur", b));
	CHECK_INT(h_daemon_stop(&w.d), 0);
}

TEST(e2e_domain_attendance_at_every_door)
{
	struct world w;
	h_setup();
	CHECK(world_start(&w, "presence") == 0);
	const char *p1 = person(&w, "stagiaire1", "labellise"), *p2 = person(&w, "stagiaire2", "labellise");
	CHECK(p1 && p2);
	const char *ev = h_relais_ok(w.cli, "evenement", "add", "--type", "formation_initiale", "--titre",
				     "Formation initiale de mars", "--date", "2026-03-10", (char *)NULL);
	CHECK(ev != NULL);
	CHECK(sync_all(&w) == 0);

	/* Present at an initial training: the command line, the event's page. */
	const char *out = h_relais_ok(w.cli, "participation", "add", "--event", ev, "--promeneur", p1,
				      "--presence-effective", "oui", (char *)NULL);
	CHECK(out != NULL);
	CHECK_INT(ui_post(w.ui, h_strf("/evenements/%s/participants", ev),
			  h_strf("promeneur=%s&presence_effective=1", p2), NULL), 303);
	/* Registered twice: the same refusal at both doors. */
	struct h_out *o = h_relais(w.cli, "participation", "add", "--event", ev, "--promeneur", p1,
				   (char *)NULL);
	CHECK_INT(o->status, 1);
	CHECK(strstr(o->err, "déjà inscrit") != NULL);
	const char *body = NULL;
	CHECK_INT(ui_post(w.ui, h_strf("/evenements/%s/participants", ev),
			  h_strf("promeneur=%s", p2), &body), 409);
	CHECK(body && strstr(body, "déjà inscrit"));
	CHECK(sync_all(&w) == 0);

	json_t *e = h_export(w.cli);
	CHECK(e != NULL);
	const char *p[] = { p1, p2 };
	for (int i = 0; i < 2; i++) {
		json_t *r = h_export_row(e, "promeneur", p[i]);
		CHECK_IDX(json_integer_value(json_object_get(r, "formation_initiale")) == 1, i);
	}
	CHECK_INT(h_export_count(e, "attendance"), 2);
	CHECK_INT(h_daemon_stop(&w.d), 0);
}
