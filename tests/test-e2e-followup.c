/*
 * test-e2e-followup.c - the coordinator's follow-up work through the real
 * relais and relaisd: deciding a candidature labels and lists a directory
 * change, délabellising lists a removal, RGPD erasure reaches every replica,
 * the right of access exports a person's rows, "suivi" lists each kind of
 * item and "relance bilans" queues each reminder once.
 *
 * Two coordinators of 43 (replicas A and B) and a read-only CAF account.
 * Mail journal rows are planted in the stopped daemon's store through the
 * server write path, as the gateway writes them.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sqlite3.h>
#include "../common/util.h"
#include "../model/model.h"
#include "../sync/sync.h"
#include "harness.h"
#include "test.h"

struct fixture {
	struct h_daemon d;
	char ta[H_TOKEN], tb[H_TOKEN], tcaf[H_TOKEN];
	const char *A, *B;
};

static int fixture_start(struct fixture *f, const char *name)
{
	memset(f, 0, sizeof(*f));
	if (h_daemon_init(&f->d, name) ||
	    h_daemon_user(&f->d, "coord-a", "43", "coordinateur", f->ta) ||
	    h_daemon_user(&f->d, "coord-b", "43", "coordinateur", f->tb) ||
	    h_daemon_user(&f->d, "caf-43", "43", "caf", f->tcaf) ||
	    h_daemon_serve(&f->d))
		return -1;
	if (!(f->A = h_replica(&f->d, "a", f->ta)) || !(f->B = h_replica(&f->d, "b", f->tb)))
		return -1;
	return 0;
}

struct mail {
	const char *from, *name, *subject, *received, *result, *handling;
	char id[UTIL_UUID_LEN + 1];
};

/* Writes journal rows of 43 into the daemon's store while it is stopped,
 * then restarts it. */
static int plant_mail(struct fixture *f, struct mail *m, size_t n)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	struct sync_tables *t = NULL;
	struct sync_local *l = NULL;
	int rc = -1;
	char *path = h_strf("%s/relais.db", f->d.data);

	if (h_daemon_stop(&f->d) != 0)
		return -1;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(db, 5000) != SQLITE_OK ||
	    sync_tables_load(db, model_table_names, model_ntables, &t) ||
	    sync_local_begin(db, t, &l))
		goto fail;
	if (sqlite3_prepare_v2(db, "INSERT INTO inbound_mail (id, dept, message_id, expediteur, "
			       "nom_expediteur, sujet, recu_le, resultat, texte, traitement) "
			       "VALUES (?, '43', ?, ?, ?, ?, ?, ?, 'Bonjour, voici mon message.', ?)",
			       -1, &st, NULL) != SQLITE_OK)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		if (util_uuid(m[i].id))
			goto fail;
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, m[i].id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, h_strf("<%s@example.org>", m[i].id), -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 3, m[i].from, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, m[i].name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, m[i].subject, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, m[i].received, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, m[i].result, -1, SQLITE_STATIC);
		if (m[i].handling)
			sqlite3_bind_text(st, 8, m[i].handling, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 8);
		if (sqlite3_step(st) != SQLITE_DONE)
			goto fail;
	}
	sqlite3_finalize(st);
	st = NULL;
	int c = sync_local_commit(l, "courrier");
	l = NULL;
	if (c)
		goto fail;
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "  plant: %s\n", db ? sqlite3_errmsg(db) : "?");
out:
	sqlite3_finalize(st);
	if (l)
		sync_local_abort(l);
	sync_tables_free(t);
	sqlite3_close(db);
	if (h_daemon_serve(&f->d))
		rc = -1;
	return rc;
}

static const char *add_structure(const char *home, const char *nom, const char *email)
{
	if (email)
		return h_relais_ok(home, "structure", "add", "--nom", nom, "--commune", "Le Puy-en-Velay",
				   "--email", email, (char *)NULL);
	return h_relais_ok(home, "structure", "add", "--nom", nom, "--commune", "Le Puy-en-Velay",
			   (char *)NULL);
}

static const char *add_promeneur(const char *home, const char *prenom, const char *email,
				 const char *structure)
{
	return h_relais_ok(home, "promeneur", "add", "--prenom", prenom, "--nom", "Martin",
			   "--email", email, "--telephone", "06 12 34 56 78",
			   "--structure", structure, (char *)NULL);
}

/* A promeneur labelled on date, directly (not through a decision). */
static const char *add_labelled(const char *home, const char *prenom, const char *structure,
				const char *date)
{
	return h_relais_ok(home, "promeneur", "add", "--prenom", prenom, "--nom", "Durand",
			   "--email", h_strf("%s@example.org", prenom), "--structure", structure,
			   "--statut", "labellise", "--date-labellisation", date, (char *)NULL);
}

static long long pending_of(const char *home)
{
	json_t *st = h_status(home);
	return st ? (long long)json_integer_value(json_object_get(st, "pending")) : -1;
}

/* The rows of table in an export whose column col is val. */
static size_t count_where(json_t *exp, const char *table, const char *col, const char *val)
{
	size_t i, n = 0;
	json_t *row;
	json_array_foreach(json_object_get(exp, table), i, row) {
		const char *v = h_row_str(row, col);
		n += v && !strcmp(v, val);
	}
	return n;
}

static json_t *first_where(json_t *exp, const char *table, const char *col, const char *val)
{
	size_t i;
	json_t *row;
	json_array_foreach(json_object_get(exp, table), i, row) {
		const char *v = h_row_str(row, col);
		if (v && !strcmp(v, val))
			return row;
	}
	return NULL;
}

/* Runs relais expecting a refusal: a non-zero exit with msg on stderr. */
static int refused(struct h_out *o, const char *msg)
{
	if (o->status == 0 || o->status < 0 || !strstr(o->err, msg)) {
		fprintf(stderr, "  %s: status %d, stderr: %s\n", o->cmd, o->status, o->err);
		return 0;
	}
	return 1;
}

TEST(e2e_follow_decide_labels_and_replicates)
{
	struct fixture f;
	h_setup();
	CHECK(fixture_start(&f, "decide") == 0);
	const char *s = add_structure(f.A, "MJC d'Yssingeaux", NULL);
	CHECK(s != NULL);
	const char *p = add_promeneur(f.A, "Léa", "lea.martin@example.org", s);
	CHECK(p != NULL);
	const char *c = h_relais_ok(f.A, "candidature", "add", "--structure", s, "--promeneur", p,
				    "--date-depot", "2026-02-01", (char *)NULL);
	const char *c2 = h_relais_ok(f.A, "candidature", "add", "--structure", s, (char *)NULL);
	CHECK(c && c2);
	CHECK(h_sync(f.A, &f.d) == 0);
	const char *before = h_export_text(f.A);
	CHECK(before != NULL);

	/* Bad input changes nothing. */
	static const char *const bad[][4] = {
		{ "--decision", "peut-etre", "--date", "2026-03-10" },
		{ "--decision", "acceptee", "--date", "2026-13-40" },
		{ "--decision", "en_attente", "--date", "2026-03-10" },
		{ "--decision", "acceptee", "--comite", "hier" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct h_out *o = h_relais(f.A, "candidature", "decider", c, bad[i][0], bad[i][1],
					   bad[i][2], bad[i][3], (char *)NULL);
		CHECK_IDX(o->status == 1, i);
		CHECK_IDX(o->errlen > 0, i);
	}
	CHECK(refused(h_relais(f.A, "candidature", "decider", c, (char *)NULL), "--decision"));
	CHECK(refused(h_relais(f.A, "candidature", "decider", "0c0ffee0-0000-4000-8000-000000000000",
			       "--decision", "acceptee", (char *)NULL), "introuvable"));
	/* Accepting needs a promeneur to label. */
	CHECK(refused(h_relais(f.A, "candidature", "decider", c2, "--decision", "acceptee",
			       (char *)NULL), "ne désigne aucun promeneur"));
	CHECK_STR(h_export_text(f.A), before);
	CHECK_INT(pending_of(f.A), 0);

	/* Accepted: decision, committee date, labelled, one directory change; one edit. */
	const char *out = h_relais_ok(f.A, "candidature", "decider", c, "--decision", "Acceptée",
				      "--date", "2026-03-10", "--comite", "05/03/2026", (char *)NULL);
	CHECK(out != NULL);
	CHECK(strstr(out, "labellisé le 10 mars 2026") != NULL);
	CHECK(strstr(out, "annuaire national") != NULL);
	CHECK_INT(pending_of(f.A), 1);
	json_t *e = h_export(f.A);
	CHECK(e != NULL);
	json_t *cand = h_export_row(e, "candidature", c), *prom = h_export_row(e, "promeneur", p);
	CHECK_STR(h_row_str(cand, "decision"), "acceptee");
	CHECK_STR(h_row_str(cand, "date_comite"), "2026-03-05");
	CHECK_STR(h_row_str(prom, "statut"), "labellise");
	CHECK_STR(h_row_str(prom, "date_labellisation"), "2026-03-10");
	CHECK_INT(h_export_count(e, "directory_change"), 1);
	json_t *ch = first_where(e, "directory_change", "promeneur", p);
	CHECK(ch != NULL);
	CHECK_STR(h_row_str(ch, "nature"), "ajout");
	CHECK_STR(h_row_str(ch, "date"), "2026-03-10");
	CHECK_INT(json_integer_value(json_object_get(ch, "transmis")), 0);

	/* Deciding an accepted candidature again is refused. */
	const char *after = h_export_text(f.A);
	CHECK(refused(h_relais(f.A, "candidature", "decider", c, "--decision", "refusee",
			       (char *)NULL), "déjà acceptée"));
	CHECK_STR(h_export_text(f.A), after);

	/* Refused: the decision only, no directory change; the committee date
	 * defaults to the decision's. */
	CHECK(h_relais_ok(f.A, "candidature", "decider", c2, "--decision", "refusee", "--date",
			  "2026-03-11", (char *)NULL) != NULL);

	/* A CAF account may not decide. */
	const char *caf = h_replica(&f.d, "caf", f.tcaf);
	CHECK(caf != NULL);
	CHECK(refused(h_relais(caf, "candidature", "decider", c2, "--decision", "acceptee",
			       (char *)NULL), "lecture seule"));

	/* Replicated to B as one whole. */
	CHECK(h_sync(f.A, &f.d) == 0);
	CHECK(h_sync(f.B, &f.d) == 0);
	json_t *eb = h_export(f.B);
	CHECK(eb != NULL);
	CHECK_STR(h_row_str(h_export_row(eb, "promeneur", p), "statut"), "labellise");
	CHECK_STR(h_row_str(h_export_row(eb, "candidature", c), "decision"), "acceptee");
	CHECK_STR(h_row_str(h_export_row(eb, "candidature", c2), "decision"), "refusee");
	CHECK_STR(h_row_str(h_export_row(eb, "candidature", c2), "date_comite"), "2026-03-11");
	CHECK_INT(h_export_count(eb, "directory_change"), 1);
	CHECK_INT(count_where(eb, "directory_change", "nature", "ajout"), 1);
	CHECK_STR(h_export_text(f.B), h_export_text(f.A));
}

TEST(e2e_follow_delabel_lists_removal)
{
	struct fixture f;
	h_setup();
	CHECK(fixture_start(&f, "delabel") == 0);
	const char *s = add_structure(f.A, "Centre social de Brioude", NULL);
	CHECK(s != NULL);
	const char *p = add_labelled(f.A, "hugo", s, "2025-01-10");
	const char *q = add_promeneur(f.A, "Inès", "ines@example.org", s);
	CHECK(p && q);
	const char *before = h_export_text(f.A);
	long long pend = pending_of(f.A);

	CHECK(refused(h_relais(f.A, "promeneur", "delabelliser", p, (char *)NULL), "--motif"));
	CHECK(refused(h_relais(f.A, "promeneur", "delabelliser", p, "--motif", "", (char *)NULL),
		      "Motif"));
	CHECK(refused(h_relais(f.A, "promeneur", "delabelliser", p, "--motif", "Départ",
			       "--date", "2024-12-31", (char *)NULL), "précède la labellisation"));
	CHECK(refused(h_relais(f.A, "promeneur", "delabelliser", q, "--motif", "Départ",
			       (char *)NULL), "n'est pas labellisé"));
	CHECK_STR(h_export_text(f.A), before);
	CHECK_INT(pending_of(f.A), pend);

	const char *out = h_relais_ok(f.A, "promeneur", "delabelliser", p, "--motif",
				      "Départ de la structure", "--date", "2026-06-01", (char *)NULL);
	CHECK(out != NULL);
	CHECK(strstr(out, "délabellisé le 1er juin 2026") != NULL);
	CHECK_INT(pending_of(f.A), pend + 1);
	CHECK(refused(h_relais(f.A, "promeneur", "delabelliser", p, "--motif", "Encore",
			       (char *)NULL), "déjà délabellisé"));

	CHECK(h_sync(f.A, &f.d) == 0);
	CHECK(h_sync(f.B, &f.d) == 0);
	json_t *eb = h_export(f.B);
	CHECK(eb != NULL);
	json_t *prom = h_export_row(eb, "promeneur", p);
	CHECK_STR(h_row_str(prom, "statut"), "delabellise");
	CHECK_STR(h_row_str(prom, "date_delabellisation"), "2026-06-01");
	CHECK_STR(h_row_str(prom, "motif_delabellisation"), "Départ de la structure");
	CHECK_STR(h_row_str(prom, "date_labellisation"), "2025-01-10");
	CHECK_INT(h_export_count(eb, "directory_change"), 1);
	json_t *ch = first_where(eb, "directory_change", "promeneur", p);
	CHECK(ch != NULL);
	CHECK_STR(h_row_str(ch, "nature"), "retrait");
	CHECK_STR(h_row_str(ch, "date"), "2026-06-01");
}

/* Sets up two délabellisés of 43 with presences, a bilan and mail; returns
 * their ids through p1 (erasable at 2026-01-15 with 0 days) and p2 (later). */
struct people {
	const char *s, *p1, *p2, *p3, *pres1, *pres3, *bilan;
	struct mail mail[3];
};

static int people_start(struct fixture *f, struct people *pp)
{
	memset(pp, 0, sizeof(*pp));
	if (!(pp->s = add_structure(f->A, "PIJ de Monistrol", NULL)) ||
	    !(pp->p1 = add_promeneur(f->A, "Chloé", "chloe.martin@example.org", pp->s)) ||
	    !(pp->p2 = add_promeneur(f->A, "Jules", "jules.martin@example.org", pp->s)) ||
	    !(pp->p3 = add_labelled(f->A, "nora", pp->s, "2025-02-01")))
		return -1;
	for (int i = 0; i < 2; i++) {
		const char *p = i ? pp->p2 : pp->p1;
		const char *c = h_relais_ok(f->A, "candidature", "add", "--structure", pp->s,
					    "--promeneur", p, (char *)NULL);
		if (!c || !h_relais_ok(f->A, "candidature", "decider", c, "--decision", "acceptee",
				       "--date", "2025-01-10", (char *)NULL))
			return -1;
	}
	if (!(pp->pres1 = h_relais_ok(f->A, "presence", "add", "--promeneur", pp->p1, "--reseau",
				      "instagram", "--nom-profil", "chloe.pdn43", "--url",
				      "https://instagram.com/chloe.pdn43", (char *)NULL)) ||
	    !(pp->pres3 = h_relais_ok(f->A, "presence", "add", "--promeneur", pp->p3, "--reseau",
				      "discord", "--nom-profil", "nora#43", (char *)NULL)) ||
	    !(pp->bilan = h_relais_ok(f->A, "bilan", "add", "--structure", pp->s, "--promeneur",
				      pp->p1, "--annee", "2025", "--jeunes-connectes", "42",
				      (char *)NULL)) ||
	    !h_relais_ok(f->A, "promeneur", "delabelliser", pp->p1, "--motif", "Fin de contrat",
			 "--date", "2026-01-05", (char *)NULL) ||
	    !h_relais_ok(f->A, "promeneur", "delabelliser", pp->p2, "--motif", "Mutation",
			 "--date", "2026-01-20", (char *)NULL) ||
	    h_sync(f->A, &f->d))
		return -1;
	struct mail m[3] = {
		{ "Chloe.Martin@example.org", "Chloé Martin", "Ma candidature", "2025-01-02T10:00:00Z",
		  "enregistre", NULL, "" },
		{ "jules.martin@example.org", "Jules Martin", "Question", "2025-01-03T10:00:00Z",
		  "quarantaine", "classe", "" },
		{ "mjc@example.org", "MJC", "Bilan", "2025-01-04T10:00:00Z", "enregistre", NULL, "" },
	};
	memcpy(pp->mail, m, sizeof(m));
	if (plant_mail(f, pp->mail, 3) || h_sync(f->A, &f->d))
		return -1;
	return 0;
}

TEST(e2e_follow_rgpd_erases_everywhere)
{
	struct fixture f;
	struct people pp;
	h_setup();
	CHECK(fixture_start(&f, "rgpd") == 0);
	CHECK(people_start(&f, &pp) == 0);
	const char *before = h_export_text(f.A);
	CHECK(before != NULL);

	/* Default retention (365 days): nothing is old enough yet. */
	const char *none = h_relais_ok(f.A, "rgpd", "effacer", "--date", "2026-01-15", (char *)NULL);
	CHECK(none != NULL);
	CHECK(strstr(none, "Aucune donnée personnelle à effacer") != NULL);
	CHECK(refused(h_relais(f.A, "rgpd", "effacer", "--retention-jours", "-3", (char *)NULL),
		      "--retention-jours"));
	CHECK(refused(h_relais(f.A, "rgpd", "effacer", "--date", "demain", (char *)NULL), "Date"));

	/* Dry run: says what would go, changes nothing. */
	const char *dry = h_relais_ok(f.A, "rgpd", "effacer", "--retention-jours", "0", "--dry-run",
				      "--date", "2026-01-15", (char *)NULL);
	CHECK(dry != NULL);
	CHECK(strstr(dry, "À effacer") && strstr(dry, pp.p1));
	CHECK(strstr(dry, pp.p2) == NULL);
	CHECK(strstr(dry, "1 présence(s) en ligne ; 1 courriel(s) reçu(s)") != NULL);
	CHECK(strstr(dry, "rien n'a été modifié") != NULL);
	CHECK_STR(h_export_text(f.A), before);
	CHECK_INT(pending_of(f.A), 0);

	/* A CAF account may look but not erase. */
	const char *caf = h_replica(&f.d, "caf", f.tcaf);
	CHECK(caf != NULL);
	CHECK(h_relais_ok(caf, "rgpd", "effacer", "--retention-jours", "0", "--dry-run",
			  "--date", "2026-01-15", (char *)NULL) != NULL);
	CHECK(refused(h_relais(caf, "rgpd", "effacer", "--retention-jours", "0", "--date",
			       "2026-01-15", (char *)NULL), "lecture seule"));

	const char *out = h_relais_ok(f.A, "rgpd", "effacer", "--retention-jours", "0", "--date",
				      "2026-01-15", (char *)NULL);
	CHECK(out != NULL);
	CHECK(strstr(out, "Effacé") && strstr(out, pp.p1));
	CHECK(strstr(out, pp.p2) == NULL);
	CHECK_INT(pending_of(f.A), 1);
	/* Erased once: a second run finds nothing. */
	const char *again = h_relais_ok(f.A, "rgpd", "effacer", "--retention-jours", "0", "--date",
					"2026-01-15", (char *)NULL);
	CHECK(again && strstr(again, "Aucune donnée personnelle à effacer"));
	CHECK_INT(pending_of(f.A), 1);

	/* After sync: erased on A, on B and on a replica bootstrapped from the server. */
	CHECK(h_sync(f.A, &f.d) == 0);
	CHECK(h_sync(f.B, &f.d) == 0);
	const char *fresh = h_replica(&f.d, "fresh", f.tb);
	CHECK(fresh != NULL);
	const char *homes[] = { f.A, f.B, fresh };
	for (int i = 0; i < 3; i++) {
		json_t *e = h_export(homes[i]);
		CHECK_IDX(e != NULL, i);
		json_t *p1 = h_export_row(e, "promeneur", pp.p1);
		CHECK_STR_IDX(h_row_str(p1, "prenom"), "(effacé)", i);
		CHECK_STR_IDX(h_row_str(p1, "nom"), "(effacé)", i);
		CHECK_STR_IDX(h_row_str(p1, "email"),
			      h_strf("efface-%.8s@anonyme.invalid", pp.p1), i);
		CHECK_IDX(h_row_str(p1, "telephone") == NULL, i);
		/* What the evaluation counts stays. */
		CHECK_STR_IDX(h_row_str(p1, "statut"), "delabellise", i);
		CHECK_STR_IDX(h_row_str(p1, "structure"), pp.s, i);
		CHECK_STR_IDX(h_row_str(p1, "date_labellisation"), "2025-01-10", i);
		CHECK_STR_IDX(h_row_str(p1, "date_delabellisation"), "2026-01-05", i);
		json_t *pres = h_export_row(e, "presence", pp.pres1);
		CHECK_STR_IDX(h_row_str(pres, "nom_profil"), "(effacé)", i);
		CHECK_IDX(h_row_str(pres, "url") == NULL, i);
		CHECK_STR_IDX(h_row_str(pres, "reseau"), "instagram", i);
		json_t *b = h_export_row(e, "bilan", pp.bilan);
		CHECK_INT_IDX(json_integer_value(json_object_get(b, "jeunes_connectes")), 42, i);
		CHECK_STR_IDX(h_row_str(b, "promeneur"), pp.p1, i);
		json_t *m = h_export_row(e, "inbound_mail", pp.mail[0].id);
		CHECK_IDX(h_row_str(m, "expediteur") == NULL, i);
		CHECK_IDX(h_row_str(m, "nom_expediteur") == NULL, i);
		CHECK_IDX(h_row_str(m, "texte") == NULL, i);
		CHECK_STR_IDX(h_row_str(m, "sujet"), "Ma candidature", i);
		/* The others keep theirs. */
		CHECK_STR_IDX(h_row_str(h_export_row(e, "promeneur", pp.p2), "prenom"), "Jules", i);
		CHECK_STR_IDX(h_row_str(h_export_row(e, "promeneur", pp.p3), "prenom"), "nora", i);
		CHECK_STR_IDX(h_row_str(h_export_row(e, "presence", pp.pres3), "nom_profil"),
			      "nora#43", i);
		CHECK_STR_IDX(h_row_str(h_export_row(e, "inbound_mail", pp.mail[1].id), "expediteur"),
			      "jules.martin@example.org", i);
		CHECK_STR_IDX(h_row_str(h_export_row(e, "inbound_mail", pp.mail[2].id), "expediteur"),
			      "mjc@example.org", i);
	}
	CHECK_STR(h_export_text(f.B), h_export_text(f.A));
}

TEST(e2e_follow_personne_export)
{
	struct fixture f;
	struct people pp;
	h_setup();
	CHECK(fixture_start(&f, "access") == 0);
	CHECK(people_start(&f, &pp) == 0);
	const char *ev = h_relais_ok(f.A, "evenement", "add", "--type", "formation_initiale",
				     "--titre", "Formation initiale", "--date", "2025-03-01", (char *)NULL);
	CHECK(ev != NULL);
	const char *att = h_relais_ok(f.A, "participation", "add", "--event", ev, "--promeneur",
				      pp.p1, (char *)NULL);
	const char *att3 = h_relais_ok(f.A, "participation", "add", "--event", ev, "--promeneur",
				       pp.p3, (char *)NULL);
	const char *req = h_relais_ok(f.A, "demande", "add", "--promeneur", pp.p1, "--sujet",
				      "posture", "--question", "Comment répondre la nuit ?", (char *)NULL);
	CHECK(att && att3 && req);

	const char *out = h_relais_ok(f.A, "personne", "export", pp.p1, (char *)NULL);
	CHECK(out != NULL);
	json_t *x = h_json(out, strlen(out));
	CHECK(json_is_object(x));
	json_t *prom = json_object_get(x, "promeneur");
	CHECK_STR(h_row_str(prom, "id"), pp.p1);
	CHECK_STR(h_row_str(prom, "email"), "chloe.martin@example.org");
	CHECK_STR(h_row_str(prom, "telephone"), "0612345678");
	static const struct { const char *table; size_t n; } expect[] = {
		{ "presence", 1 }, { "candidature", 1 }, { "bilan", 1 }, { "attendance", 1 },
		{ "request", 1 }, { "directory_change", 2 }, { "inbound_mail", 1 },
	};
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		json_t *arr = json_object_get(x, expect[i].table);
		CHECK_IDX(json_is_array(arr), i);
		CHECK_INT_IDX(json_array_size(arr), expect[i].n, i);
		size_t k;
		json_t *row;
		json_array_foreach(arr, k, row)
			CHECK_IDX(strcmp(expect[i].table, "inbound_mail") ?
				  !strcmp(h_row_str(row, "promeneur"), pp.p1) :
				  !strcmp(h_row_str(row, "id"), pp.mail[0].id), i);
	}
	CHECK_STR(h_row_str(json_array_get(json_object_get(x, "presence"), 0), "id"), pp.pres1);
	CHECK_STR(h_row_str(json_array_get(json_object_get(x, "attendance"), 0), "id"), att);
	CHECK_STR(h_row_str(json_array_get(json_object_get(x, "request"), 0), "id"), req);
	CHECK_STR(h_row_str(json_array_get(json_object_get(x, "bilan"), 0), "id"), pp.bilan);
	/* Nothing of anyone else. */
	CHECK(strstr(out, pp.p3) == NULL && strstr(out, pp.pres3) == NULL && strstr(out, att3) == NULL);
	CHECK(strstr(out, "jules") == NULL && strstr(out, "mjc@example.org") == NULL);

	CHECK(refused(h_relais(f.A, "personne", "export", "0c0ffee0-0000-4000-8000-000000000000",
			       (char *)NULL), "introuvable"));
	CHECK(refused(h_relais(f.A, "personne", "export", "pas-un-id", (char *)NULL),
		      "identifiant invalide"));
	struct h_out *help = h_relais(f.A, "personne", "export", "--help", (char *)NULL);
	CHECK_INT(help->status, 0);
	CHECK(strstr(help->out, "droit d'accès") != NULL);
}

/* The first-column ids of section key of a "suivi --json", sorted, joined by spaces. */
static const char *section_ids(json_t *s, const char *key, const char *idcol)
{
	json_t *arr = json_object_get(s, key);
	const char *ids[64];
	size_t n = 0, i;
	json_t *row;
	if (!json_is_array(arr))
		return NULL;
	json_array_foreach(arr, i, row)
		if (n < 64)
			ids[n++] = h_row_str(row, idcol);
	for (size_t a = 1; a < n; a++)
		for (size_t b = a; b > 0 && strcmp(ids[b - 1], ids[b]) > 0; b--) {
			const char *t = ids[b];
			ids[b] = ids[b - 1];
			ids[b - 1] = t;
		}
	char *out = h_strf("%s", "");
	for (i = 0; i < n; i++)
		out = h_strf("%s%s%s", out, i ? " " : "", ids[i]);
	return out;
}

static const char *sorted(const char *a, const char *b)
{
	if (!b)
		return a;
	return strcmp(a, b) < 0 ? h_strf("%s %s", a, b) : h_strf("%s %s", b, a);
}

TEST(e2e_follow_suivi_sections)
{
	struct fixture f;
	h_setup();
	CHECK(fixture_start(&f, "suivi") == 0);
	const char *A = f.A;
	/* s1: labelled promeneur in 2024, no bilan 2025, no charter, untrained. */
	const char *s1 = add_structure(A, "MJC Sans Bilan", NULL);
	/* s2: all in order, but its convention ends within 60 days. */
	const char *s2 = add_structure(A, "Centre social à jour", NULL);
	/* s3: convention ended; a candidature waits for a decision. */
	const char *s3 = add_structure(A, "PIJ Convention Terminée", NULL);
	/* s4: convention ended but already marked expired; nothing else. */
	const char *s4 = add_structure(A, "FJT Expirée", NULL);
	/* s5: only the first half-year bilan; s6 both halves. */
	const char *s5 = add_structure(A, "MDA Semestre", NULL);
	const char *s6 = add_structure(A, "IME Deux Semestres", NULL);
	CHECK(s1 && s2 && s3 && s4 && s5 && s6);
	const char *p1 = add_labelled(A, "ana", s1, "2024-05-01");
	const char *p2 = add_labelled(A, "bob", s2, "2023-05-01");
	const char *p5 = add_labelled(A, "eve", s5, "2025-02-01");
	const char *p6 = add_labelled(A, "max", s6, "2025-02-01");
	CHECK(p1 && p2 && p5 && p6);
	CHECK(h_relais_ok(A, "promeneur", "set", p1, "--regles-profil", "oui", (char *)NULL) != NULL);
	const char *sets[] = { p2, p5, p6 };
	for (int i = 0; i < 3; i++)
		CHECK_IDX(h_relais_ok(A, "promeneur", "set", sets[i], "--formation-initiale", "oui",
				      "--regles-profil", "oui", (char *)NULL) != NULL, i);
	const char *signed_[] = { s2, s5, s6 };
	for (int i = 0; i < 3; i++)
		CHECK_IDX(h_relais_ok(A, "structure", "set", signed_[i], "--charte-nationale",
				      "2023-01-01", "--charte-departementale", "2023-01-02",
				      (char *)NULL) != NULL, i);
	CHECK(h_relais_ok(A, "structure", "set", s2, "--convention-fin", "2026-12-10",
			  "--convention-statut", "signee", (char *)NULL) != NULL);
	CHECK(h_relais_ok(A, "structure", "set", s3, "--convention-fin", "2026-10-01",
			  "--convention-statut", "signee", (char *)NULL) != NULL);
	CHECK(h_relais_ok(A, "structure", "set", s4, "--convention-fin", "2026-10-01",
			  "--convention-statut", "expiree", (char *)NULL) != NULL);
	CHECK(h_relais_ok(A, "bilan", "add", "--structure", s2, "--annee", "2025", (char *)NULL));
	CHECK(h_relais_ok(A, "bilan", "add", "--structure", s1, "--annee", "2024", (char *)NULL));
	CHECK(h_relais_ok(A, "bilan", "add", "--structure", s5, "--annee", "2025", "--periode",
			  "semestre1", (char *)NULL));
	CHECK(h_relais_ok(A, "bilan", "add", "--structure", s6, "--annee", "2025", "--periode",
			  "semestre1", (char *)NULL));
	CHECK(h_relais_ok(A, "bilan", "add", "--structure", s6, "--annee", "2025", "--periode",
			  "semestre2", (char *)NULL));
	const char *cwait = h_relais_ok(A, "candidature", "add", "--structure", s3, "--date-depot",
					"2026-11-02", (char *)NULL);
	const char *cdone = h_relais_ok(A, "candidature", "add", "--structure", s2, (char *)NULL);
	CHECK(cwait && cdone);
	CHECK(h_relais_ok(A, "candidature", "decider", cdone, "--decision", "ajournee",
			  (char *)NULL) != NULL);
	CHECK(h_sync(A, &f.d) == 0);
	struct mail m[3] = {
		{ "inconnu@example.org", "X", "Question urgente", "2026-11-20T09:00:00Z",
		  "quarantaine", "a_traiter", "" },
		{ "spam@example.net", "Y", "Promo", "2026-11-19T09:00:00Z", "quarantaine", "classe", "" },
		{ "mjc@example.org", "Z", "Bilan", "2026-11-18T09:00:00Z", "enregistre", NULL, "" },
	};
	CHECK(plant_mail(&f, m, 3) == 0);
	/* A conflict: A and B edit the same column. */
	CHECK(h_sync(A, &f.d) == 0 && h_sync(f.B, &f.d) == 0);
	CHECK(h_relais_ok(A, "structure", "set", s4, "--commune", "Retournac", (char *)NULL));
	struct timespec ts = { 0, 20 * 1000000L };
	nanosleep(&ts, NULL);
	CHECK(h_relais_ok(f.B, "structure", "set", s4, "--commune", "Bas-en-Basset", (char *)NULL));
	CHECK(h_sync(f.B, &f.d) == 0 && h_sync(A, &f.d) == 0);
	json_t *cs = h_conflicts(A, 0);
	CHECK(cs != NULL);
	CHECK_INT(json_array_size(cs), 1);
	const char *conflict = json_string_value(json_object_get(json_array_get(cs, 0), "id"));
	CHECK(conflict != NULL);

	const char *js = h_relais_ok(A, "suivi", "--json", "--date", "2026-11-23", (char *)NULL);
	CHECK(js != NULL);
	json_t *s = h_json(js, strlen(js));
	CHECK(json_is_object(s));
	CHECK_STR(json_string_value(json_object_get(s, "date")), "2026-11-23");
	CHECK_INT(json_integer_value(json_object_get(s, "annee_bilans")), 2025);
	static const struct { const char *key, *idcol; } keys[] = {
		{ "bilans_manquants", "structure" }, { "formation", "promeneur" },
		{ "conventions", "structure" }, { "chartes", "structure" },
		{ "candidatures", "candidature" }, { "courriers", "courrier" },
		{ "conflits", "conflit" },
	};
	const char *want[] = {
		sorted(s1, s5), p1, sorted(s2, s3), sorted(s1, s3), cwait, m[0].id, conflict,
	};
	for (size_t i = 0; i < 7; i++) {
		CHECK_IDX(want[i] != NULL, i);
		CHECK_STR_IDX(section_ids(s, keys[i].key, keys[i].idcol), want[i], i);
	}
	json_t *conv = json_object_get(s, "conventions");
	for (size_t i = 0; i < 2; i++) {
		json_t *row = json_array_get(conv, i);
		CHECK_STR_IDX(h_row_str(row, "etat"),
			      !strcmp(h_row_str(row, "structure"), s3) ? "terminee" : "bientot", i);
	}
	json_t *tr = json_array_get(json_object_get(s, "formation"), 0);
	CHECK_INT(json_integer_value(json_object_get(tr, "formation_initiale")), 0);
	CHECK_INT(json_integer_value(json_object_get(tr, "regles_profil")), 1);

	/* The human form: each section under its French heading. */
	const char *h = h_relais_ok(A, "suivi", "--date", "2026-11-23", (char *)NULL);
	CHECK(h != NULL);
	const char *heads[] = {
		"Structures sans bilan pour 2025 (2)",
		"Promeneurs labellisés sans formation initiale", "Conventions Caf terminées",
		"Signatures de charte manquantes (2)", "Candidatures en attente de décision (1)",
		"Courriels en quarantaine à traiter (1)", "Conflits de synchronisation à trancher (1)",
	};
	const char *prev = h;
	for (size_t i = 0; i < 7; i++) {
		const char *at = strstr(prev, heads[i]);
		CHECK_IDX(at != NULL, i);
		const char *next = i + 1 < 7 ? strstr(at, heads[i + 1]) : at + strlen(at);
		CHECK_IDX(next != NULL, i);
		/* The first id of the section appears before the next heading. */
		char first[UTIL_UUID_LEN + 1];
		snprintf(first, sizeof(first), "%s", want[i]);
		const char *id = strstr(at, first);
		CHECK_IDX(id != NULL && id < next, i);
		prev = at;
	}
	CHECK(strstr(h, "formation initiale non suivie") != NULL);
	/* s5's mid-year bilan is shown; it still owes the year's. */
	CHECK(strstr(h, "MDA Semestre") && strstr(h, "bilan intermédiaire (1er semestre) reçu"));
	CHECK(strstr(h, "terminée le 1er octobre 2026") && strstr(h, "se termine le 10 décembre 2026"));
	CHECK(strstr(h, "chartes nationale et départementale non signées") != NULL);
	CHECK(strstr(h, "Question urgente") != NULL && strstr(h, "Promo") == NULL);

	/* A resolved conflict and a decided candidature leave the list. */
	CHECK(h_relais_ok(A, "conflicts", "resolve", conflict, "--keep", "mine", (char *)NULL));
	CHECK(h_relais_ok(A, "candidature", "decider", cwait, "--decision", "refusee", (char *)NULL));
	js = h_relais_ok(A, "suivi", "--json", "--date", "2026-11-23", (char *)NULL);
	s = js ? h_json(js, strlen(js)) : NULL;
	CHECK(s != NULL);
	CHECK_INT(json_array_size(json_object_get(s, "conflits")), 0);
	CHECK_INT(json_array_size(json_object_get(s, "candidatures")), 0);
	/* s3 no longer has a candidature waiting: its charter leaves the list. */
	CHECK_STR(section_ids(s, "chartes", "structure"), s1);
	/* Without a date, "today" is the machine's: the option is only for tests. */
	CHECK(h_relais_ok(A, "suivi", (char *)NULL) != NULL);
	CHECK(refused(h_relais(A, "suivi", "--date", "2026-02-30", (char *)NULL), "Date"));
	CHECK(refused(h_relais(A, "suivi", "--tout", (char *)NULL), "option inconnue"));
}

TEST(e2e_follow_relance_once)
{
	struct fixture f;
	h_setup();
	CHECK(fixture_start(&f, "relance") == 0);
	const char *A = f.A;
	const char *s1 = add_structure(A, "MJC Relancée", "mjc.relance@example.org");
	const char *s2 = add_structure(A, "Centre sans courriel", NULL);
	const char *s3 = add_structure(A, "PIJ à jour", "pij@example.org");
	CHECK(s1 && s2 && s3);
	CHECK(add_labelled(A, "zoe", s1, "2024-01-15") && add_labelled(A, "tom", s2, "2025-01-15") &&
	      add_labelled(A, "ali", s3, "2025-01-15"));
	CHECK(h_relais_ok(A, "bilan", "add", "--structure", s3, "--annee", "2025", (char *)NULL));
	const char *before = h_export_text(A);
	long long pend = pending_of(A);
	CHECK(refused(h_relais(A, "relance", "bilans", (char *)NULL), "--annee"));
	CHECK(refused(h_relais(A, "relance", "bilans", "--annee", "deux mille", (char *)NULL),
		      "--annee"));
	CHECK(refused(h_relais(A, "relance", "add", (char *)NULL), "commande inconnue"));
	CHECK_STR(h_export_text(A), before);
	CHECK_INT(pending_of(A), pend);

	const char *out = h_relais_ok(A, "relance", "bilans", "--annee", "2025", "--date",
				      "2026-02-01", (char *)NULL);
	CHECK(out != NULL);
	CHECK(strstr(out, "Relance mise en file : MJC Relancée") != NULL);
	CHECK(strstr(out, h_strf("Sans courriel, relance impossible : Centre sans courriel "
				 "(Le Puy-en-Velay) [%s]", s2)) != NULL);
	CHECK(strstr(out, s3) == NULL);
	CHECK_INT(pending_of(A), pend + 1);
	json_t *e = h_export(A);
	CHECK(e != NULL);
	CHECK_INT(h_export_count(e, "reminder"), 1);
	json_t *r = first_where(e, "reminder", "structure", s1);
	CHECK(r != NULL);
	CHECK_INT(json_integer_value(json_object_get(r, "annee")), 2025);
	CHECK_STR(h_row_str(r, "email"), "mjc.relance@example.org");
	CHECK_STR(h_row_str(r, "statut"), "a_envoyer");
	CHECK_STR(h_row_str(r, "objet"), "bilan");
	CHECK_STR(h_row_str(r, "cree_le"), "2026-02-01");

	/* Never twice: not again here, nor from another replica after sync. */
	const char *again = h_relais_ok(A, "relance", "bilans", "--annee", "2025", (char *)NULL);
	CHECK(again && strstr(again, "Déjà en file ou envoyée : MJC Relancée"));
	CHECK_INT(pending_of(A), pend + 1);
	CHECK(h_sync(A, &f.d) == 0);
	CHECK(h_sync(f.B, &f.d) == 0);
	const char *fromb = h_relais_ok(f.B, "relance", "bilans", "--annee", "2025", (char *)NULL);
	CHECK(fromb && strstr(fromb, "0 relance(s) mise(s) en file"));
	json_t *eb = h_export(f.B);
	CHECK(eb != NULL);
	CHECK_INT(h_export_count(eb, "reminder"), 1);
	CHECK_INT(pending_of(f.B), 0);

	/* Another year is another reminder: s1 only had a labelled promeneur in 2024. */
	const char *y24 = h_relais_ok(f.B, "relance", "bilans", "--annee", "2024", (char *)NULL);
	CHECK(y24 && strstr(y24, "1 relance(s) mise(s) en file"));
	eb = h_export(f.B);
	CHECK_INT(count_where(eb, "reminder", "structure", s1), 2);
	CHECK_INT(h_export_count(eb, "reminder"), 2);
	const char *list = h_relais_ok(f.B, "relance", "list", (char *)NULL);
	CHECK(list && strstr(list, "mjc.relance@example.org"));
}
