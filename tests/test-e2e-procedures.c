/*
 * test-e2e-procedures.c - the procedures of the livret, first step to last,
 * through the real relais and relaisd: a délabellisation (problem reported,
 * CAF referent told, support agreed and followed, decision taken with the
 * CAF, one withdrawal task per profile, done), a suspension and its end,
 * the successive decisions on a candidature, a refused candidate, and the
 * national directory's changes of what it shows. A second replica sees
 * every step after a sync.
 */
#include <string.h>
#include <sqlite3.h>
#include "../common/util.h"
#include "../mailgw/ingest.h"
#include "../model/model.h"
#include "../sync/sync.h"
#include "harness.h"
#include "test.h"

struct net {
	struct h_daemon d;
	const char *a, *b; /* two coordinators' replicas of 65 */
	const char *s;     /* a structure */
};

static int net_start(struct net *n, const char *name)
{
	char t1[H_TOKEN], t2[H_TOKEN];
	memset(n, 0, sizeof(*n));
	if (h_daemon_init(&n->d, name) || h_daemon_user(&n->d, "coord-a", "65", "coordinateur", t1) ||
	    h_daemon_user(&n->d, "coord-b", "65", "coordinateur", t2) || h_daemon_serve(&n->d))
		return -1;
	n->a = h_replica(&n->d, h_strf("%s-a", name), t1);
	n->b = h_replica(&n->d, h_strf("%s-b", name), t2);
	if (!n->a || !n->b)
		return -1;
	n->s = h_relais_ok(n->a, "structure", "add", "--nom", "Centre social de Bagnères", "--commune",
			   "Bagnères-de-Bigorre", (char *)NULL);
	return n->s ? 0 : -1;
}

static const char *labelled(struct net *n, const char *prenom, const char *email)
{
	return h_relais_ok(n->a, "promeneur", "add", "--prenom", prenom, "--nom", "Lasserre", "--email",
			   email, "--structure", n->s, "--statut", "labellise", (char *)NULL);
}

/* How many rows of table in an export have column col at val. */
static size_t rows_where(json_t *e, const char *table, const char *col, const char *val)
{
	size_t n = 0;
	h_export_where(e, table, col, val, &n);
	return n;
}

static json_t *row_where(json_t *e, const char *table, const char *col, const char *val)
{
	return h_export_where(e, table, col, val, NULL);
}

TEST(e2e_procedures_delabellisation_step_by_step)
{
	struct net n;
	h_setup();
	CHECK(net_start(&n, "delab") == 0);
	const char *p = labelled(&n, "Inès", "ines@example.org");
	CHECK(p != NULL);
	CHECK(h_relais_ok(n.a, "presence", "add", "--promeneur", p, "--reseau", "instagram",
			  "--nom-profil", "ines.pdn65", (char *)NULL) != NULL);
	CHECK(h_relais_ok(n.a, "presence", "add", "--promeneur", p, "--reseau", "discord",
			  "--nom-profil", "ines_pdn", (char *)NULL) != NULL);

	/* The problem reported opens the procedure; a second one is refused. */
	const char *out = h_relais_ok(n.a, "promeneur", "signaler", p, "--motif",
				      "Publications sans lien avec la mission", "--date", "2026-02-02",
				      (char *)NULL);
	CHECK(out && strstr(out, "informer le référent Caf"));
	struct h_out *o = h_relais(n.a, "promeneur", "signaler", p, "--motif", "Encore", (char *)NULL);
	CHECK(o->status != 0 && strstr(o->err, "déjà ouverte"));
	json_t *e = h_export(n.a);
	json_t *proc = row_where(e, "procedure", "promeneur", p);
	CHECK(proc != NULL);
	const char *id = h_row_str(proc, "id");
	CHECK_STR(h_row_str(proc, "etape"), "signalement");

	/* No decision before the CAF referent is told. */
	o = h_relais(n.a, "procedure", "decider", id, "--decision", "delabellisation", (char *)NULL);
	CHECK(o->status != 0 && strstr(o->err, "relais procedure caf"));
	/* The steps are workflow columns: set is refused with the command. */
	o = h_relais(n.a, "procedure", "set", id, "--etape", "terminee", (char *)NULL);
	CHECK(o->status != 0 && strstr(o->err, "relais procedure"));
	CHECK(h_relais_ok(n.a, "procedure", "caf", id, "--date", "2026-02-03", (char *)NULL) != NULL);
	CHECK(h_relais_ok(n.a, "procedure", "mesures", id, "--mesures",
			  "Relecture des publications avec la référente de structure", "--date",
			  "2026-02-10", (char *)NULL) != NULL);
	CHECK(h_relais_ok(n.a, "procedure", "suivre", id, "--suivi", "Pas d'amélioration",
			  "--date", "2026-03-10", (char *)NULL) != NULL);
	CHECK(h_sync(n.a, &n.d) == 0 && h_sync(n.b, &n.d) == 0);

	/* The decision taken with the CAF, from the other replica. */
	out = h_relais_ok(n.b, "procedure", "decider", id, "--decision", "delabellisation", "--date",
			  "2026-03-20", (char *)NULL);
	CHECK(out && strstr(out, "délabellisé") && strstr(out, "2 tâches"));
	CHECK(h_sync(n.b, &n.d) == 0 && h_sync(n.a, &n.d) == 0);
	e = h_export(n.a);
	proc = h_export_row(e, "procedure", id);
	CHECK_STR(h_row_str(proc, "etape"), "retrait");
	CHECK_STR(h_row_str(proc, "decision"), "delabellisation");
	CHECK_STR(h_row_str(proc, "date_information_caf"), "2026-02-03");
	CHECK_STR(h_row_str(proc, "date_decision"), "2026-03-20");
	CHECK_STR(h_row_str(proc, "mesures"),
		  "10/02/2026 : Relecture des publications avec la référente de structure");
	CHECK_STR(h_row_str(proc, "suivi_mesures"), "10/03/2026 : Pas d'amélioration");
	json_t *prom = h_export_row(e, "promeneur", p);
	CHECK_STR(h_row_str(prom, "statut"), "delabellise");
	CHECK_STR(h_row_str(prom, "date_delabellisation"), "2026-03-20");
	CHECK_INT(rows_where(e, "directory_change", "nature", "retrait"), 1);
	CHECK_INT(rows_where(e, "task", "procedure", id), 2);

	/* One task per profile; the last one done ends the procedure. */
	json_t *tasks = json_object_get(e, "task"), *t;
	size_t i, done = 0;
	json_array_foreach(tasks, i, t) {
		const char *lib = h_row_str(t, "libelle");
		CHECK_IDX(lib && strstr(lib, "Promeneurs du Net"), (int)i);
		out = h_relais_ok(n.a, "tache", "faite", h_row_str(t, "id"), "--date", "2026-04-01",
				  (char *)NULL);
		CHECK_IDX(out != NULL, (int)i);
		done++;
		if (done == 2)
			CHECK(strstr(out, "procédure terminée") != NULL);
	}
	CHECK_INT(done, 2);
	CHECK(h_sync(n.a, &n.d) == 0 && h_sync(n.b, &n.d) == 0);
	e = h_export(n.b);
	proc = h_export_row(e, "procedure", id);
	CHECK_STR(h_row_str(proc, "etape"), "terminee");
	CHECK_STR(h_row_str(proc, "date_retrait"), "2026-04-01");
	const char *ea = h_export_text(n.a), *eb = h_export_text(n.b);
	CHECK(ea && eb && !strcmp(ea, eb));
	CHECK_INT(h_daemon_stop(&n.d), 0);
}

TEST(e2e_procedures_suspension_and_reprise)
{
	struct net n;
	h_setup();
	CHECK(net_start(&n, "suspension") == 0);
	const char *p = labelled(&n, "Noé", "noe@example.org");
	CHECK(p != NULL);
	struct h_out *o = h_relais(n.a, "promeneur", "set", p, "--statut", "suspendu", (char *)NULL);
	CHECK(o->status != 0 && strstr(o->err, "relais promeneur suspendre"));
	o = h_relais(n.a, "promeneur", "suspendre", p, "--date", "2026-05-01", (char *)NULL);
	CHECK(o->status != 0 && strstr(o->err, "--motif"));
	const char *out = h_relais_ok(n.a, "promeneur", "suspendre", p, "--motif", "Congé parental",
				      "--date", "2026-05-01", "--jusqu-au", "2026-09-01", (char *)NULL);
	CHECK(out && strstr(out, "suspendu du 1er mai 2026 au 1er septembre 2026"));
	json_t *e = h_export(n.a);
	json_t *proc = row_where(e, "procedure", "promeneur", p);
	CHECK(proc != NULL);
	CHECK_STR(h_row_str(proc, "nature"), "suspension");
	CHECK_STR(h_row_str(proc, "motif"), "Congé parental");
	CHECK_STR(h_row_str(proc, "date_debut"), "2026-05-01");
	CHECK_STR(h_row_str(proc, "date_fin"), "2026-09-01");
	CHECK_INT(rows_where(e, "directory_change", "nature", "suspension"), 1);

	/* The reprise, through set on the status (the same workflow). */
	out = h_relais_ok(n.a, "promeneur", "set", p, "--statut", "labellise", (char *)NULL);
	CHECK(out && strstr(out, "rétabli"));
	CHECK(h_sync(n.a, &n.d) == 0 && h_sync(n.b, &n.d) == 0);
	e = h_export(n.b);
	proc = row_where(e, "procedure", "promeneur", p);
	CHECK_STR(h_row_str(proc, "etape"), "terminee");
	CHECK_STR(h_row_str(h_export_row(e, "promeneur", p), "statut"), "labellise");
	CHECK_INT(rows_where(e, "directory_change", "nature", "reprise"), 1);
	CHECK_INT(h_daemon_stop(&n.d), 0);
}

TEST(e2e_procedures_candidature_history_and_refusal)
{
	struct net n;
	h_setup();
	CHECK(net_start(&n, "historique") == 0);
	const char *p = h_relais_ok(n.a, "promeneur", "add", "--prenom", "Léa", "--nom", "Arrieu",
				    "--email", "lea@example.org", "--structure", n.s, (char *)NULL);
	const char *q = h_relais_ok(n.a, "promeneur", "add", "--prenom", "Tom", "--nom", "Bordes",
				    "--email", "tom@example.org", "--structure", n.s, (char *)NULL);
	CHECK(p && q);
	const char *c = h_relais_ok(n.a, "candidature", "add", "--structure", n.s, "--promeneur", p,
				    (char *)NULL);
	const char *d = h_relais_ok(n.a, "candidature", "add", "--structure", n.s, "--promeneur", q,
				    (char *)NULL);
	CHECK(c && d);
	CHECK(h_relais_ok(n.a, "candidature", "decider", c, "--decision", "ajournee", "--comite",
			  "2026-01-15", (char *)NULL) != NULL);
	CHECK(h_relais_ok(n.a, "candidature", "decider", c, "--decision", "acceptee", "--comite",
			  "2026-03-12", (char *)NULL) != NULL);
	const char *out = h_relais_ok(n.a, "candidature", "decider", d, "--decision", "refusee",
				      "--comite", "2026-03-12", (char *)NULL);
	CHECK(out && strstr(out, "non retenu"));
	/* The history is written by decisions only. */
	struct h_out *o = h_relais(n.a, "decision", "add", "--candidature", c, "--decision", "acceptee",
				   (char *)NULL);
	CHECK(o->status != 0 && strstr(o->err, "relais candidature decider"));
	CHECK(h_sync(n.a, &n.d) == 0 && h_sync(n.b, &n.d) == 0);
	json_t *e = h_export(n.b);
	CHECK_INT(rows_where(e, "decision", "candidature", c), 2);
	CHECK_INT(rows_where(e, "decision", "decision", "ajournee"), 1);
	CHECK_STR(h_row_str(h_export_row(e, "promeneur", p), "statut"), "labellise");
	CHECK_STR(h_row_str(h_export_row(e, "promeneur", q), "statut"), "non_retenu");
	/* Shown in French by the list. */
	out = h_relais_ok(n.b, "promeneur", "list", (char *)NULL);
	CHECK(out && strstr(out, "non retenu"));
	CHECK_INT(h_daemon_stop(&n.d), 0);
}

TEST(e2e_procedures_directory_follows_what_it_shows)
{
	struct net n;
	h_setup();
	CHECK(net_start(&n, "annuaire") == 0);
	const char *p = labelled(&n, "Jade", "jade@example.org");
	const char *cand = h_relais_ok(n.a, "promeneur", "add", "--prenom", "Max", "--nom", "Py",
				       "--email", "max@example.org", "--structure", n.s, (char *)NULL);
	CHECK(p && cand);
	/* A candidate is not in the directory: nothing to send. */
	CHECK(h_relais_ok(n.a, "promeneur", "set", cand, "--telephone", "0562000002", (char *)NULL));
	/* Phone, then a profile: one modification naming both. */
	CHECK(h_relais_ok(n.a, "promeneur", "set", p, "--telephone", "0562000003", (char *)NULL));
	CHECK(h_relais_ok(n.a, "presence", "add", "--promeneur", p, "--reseau", "tiktok",
			  "--nom-profil", "jade.pdn", (char *)NULL) != NULL);
	/* An edit that changes nothing shown queues nothing more. */
	CHECK(h_relais_ok(n.a, "promeneur", "set", p, "--heures-hebdo", "3", (char *)NULL));
	json_t *e = h_export(n.a);
	CHECK_INT(rows_where(e, "directory_change", "promeneur", cand), 0);
	CHECK_INT(rows_where(e, "directory_change", "promeneur", p), 1);
	json_t *ch = row_where(e, "directory_change", "promeneur", p);
	CHECK_STR(h_row_str(ch, "nature"), "modification");
	CHECK_STR(h_row_str(ch, "champs"), "Téléphone, Présences en ligne");

	/* Published only once transmitted. */
	const char *cid = h_row_str(ch, "id");
	struct h_out *o = h_relais(n.a, "changement", "publie", cid, (char *)NULL);
	CHECK(o->status != 0 && strstr(o->err, "transmis"));
	CHECK(h_relais_ok(n.a, "changement", "set", cid, "--transmis", "oui", (char *)NULL));
	CHECK(h_relais_ok(n.a, "changement", "publie", cid, "--date", "2026-06-02", (char *)NULL));
	/* A structure renamed: its labelled promeneur's entry changes too. */
	CHECK(h_relais_ok(n.a, "structure", "set", n.s, "--nom", "Centre social du Haut-Adour",
			  (char *)NULL));
	CHECK(h_sync(n.a, &n.d) == 0 && h_sync(n.b, &n.d) == 0);
	e = h_export(n.b);
	ch = h_export_row(e, "directory_change", cid);
	CHECK_STR(h_row_str(ch, "date_publication"), "2026-06-02");
	CHECK_INT(rows_where(e, "directory_change", "champs", "Structure"), 1);
	CHECK_INT(h_daemon_stop(&n.d), 0);
}

/* The items of section key of a "relais suivi --json", their "libelle"
 * joined by " | ". */
static const char *section_lines(json_t *s, const char *key)
{
	json_t *arr = json_object_get(s, key), *row;
	const char *out = "";
	size_t i;
	json_array_foreach(arr, i, row)
		out = h_strf("%s%s%s", out, *out ? " | " : "", h_row_str(row, "libelle"));
	return out;
}

TEST(e2e_procedures_year_in_the_followup)
{
	struct net n;
	h_setup();
	CHECK(net_start(&n, "suivi") == 0);
	const char *p = h_relais_ok(n.a, "promeneur", "add", "--prenom", "Inès", "--nom", "Carrère",
				    "--email", "ines.c@example.org", "--structure", n.s, "--statut",
				    "labellise", "--date-labellisation", "2024-01-10", "--heures-hebdo",
				    "1", (char *)NULL);
	const char *q = h_relais_ok(n.a, "promeneur", "add", "--prenom", "Marc", "--nom", "Abadie",
				    "--email", "marc@example.org", "--structure", n.s, "--statut",
				    "labellise", "--date-labellisation", "2024-02-01", (char *)NULL);
	CHECK(p && q);
	CHECK(h_relais_ok(n.a, "presence", "add", "--promeneur", q, "--reseau", "snapchat",
			  "--nom-profil", "marc.pdn", (char *)NULL) != NULL);
	/* Marc had his individual review this year; Inès never did. */
	const char *ev = h_relais_ok(n.a, "evenement", "add", "--type", "bilan_individuel", "--titre",
				     "Bilan individuel de Marc", "--date", "2026-06-15", (char *)NULL);
	CHECK(ev && h_relais_ok(n.a, "participation", "add", "--event", ev, "--promeneur", q,
				"--presence-effective", "oui", (char *)NULL));
	/* One regroupement and one departmental meeting this year, an
	 * inter-structure meeting in the 2nd quarter only. */
	CHECK(h_relais_ok(n.a, "evenement", "add", "--type", "regroupement", "--titre", "Regroupement",
			  "--date", "2026-03-03", (char *)NULL));
	CHECK(h_relais_ok(n.a, "evenement", "add", "--type", "reunion_departementale", "--titre",
			  "Réunion départementale", "--date", "2026-02-03", (char *)NULL));
	CHECK(h_relais_ok(n.a, "evenement", "add", "--type", "reunion_inter_structures", "--titre",
			  "Inter-structures", "--date", "2026-05-12", (char *)NULL));
	/* A partner's request about distress, a procedure, a withdrawal's task. */
	const char *pa = h_relais_ok(n.a, "partenaire", "add", "--nom", "Collège Desaix", "--type",
				     "education_nationale", (char *)NULL);
	const char *ct = pa ? h_relais_ok(n.a, "contact", "add", "--nom", "Pujo", "--prenom", "Anne",
					  "--partenaire", pa, (char *)NULL) : NULL;
	CHECK(ct != NULL);
	CHECK(h_relais_ok(n.a, "demande", "add", "--contact", ct, "--sujet", "orientation_detresse",
			  "--question", "Un élève inquiète l'équipe", "--date-demande", "2026-11-02",
			  (char *)NULL));
	CHECK(h_relais_ok(n.a, "promeneur", "signaler", p, "--motif", "Absence de publications",
			  "--date", "2026-11-03", (char *)NULL));
	CHECK(h_relais_ok(n.a, "promeneur", "delabelliser", q, "--motif", "Départ de la structure",
			  "--date", "2026-11-04", (char *)NULL));

	const char *js = h_relais_ok(n.a, "suivi", "--json", "--date", "2026-11-23", (char *)NULL);
	json_t *s = js ? h_json(js, strlen(js)) : NULL;
	CHECK(s != NULL);
	const char *l = section_lines(s, "demandes");
	CHECK(strstr(l, "Anne Pujo (Collège Desaix)") && strstr(l, "[orientation (détresse)]") &&
	      strstr(l, "2 novembre 2026"));
	l = section_lines(s, "taches");
	CHECK(strstr(l, "pour le 4 décembre 2026") && strstr(l, "marc.pdn") && strstr(l, "Marc Abadie"));
	l = section_lines(s, "procedures");
	CHECK(strstr(l, "Inès Carrère : problème signalé le 3 novembre 2026, référent Caf à informer"));
	CHECK(strstr(l, "Marc Abadie : délabellisé le 4 novembre 2026, retrait en cours"));
	l = section_lines(s, "bilans_individuels");
	CHECK(strstr(l, "Inès Carrère") && strstr(l, "aucun bilan individuel") && !strstr(l, "Marc"));
	l = section_lines(s, "objectifs");
	CHECK(strstr(l, "Réunions départementales : 1 ") && strstr(l, "regroupement : 1 "));
	CHECK(strstr(l, "au 1er trimestre") && strstr(l, "au 3e trimestre") &&
	      !strstr(l, "au 2e trimestre") && !strstr(l, "au 4e trimestre"));
	CHECK(strstr(l, "Inès Carrère : 1 h en ligne par semaine"));
	/* And in words on the command line, each under its heading. */
	const char *h = h_relais_ok(n.a, "suivi", "--date", "2026-11-23", (char *)NULL);
	CHECK(h && strstr(h, "Procédures en cours (2)") && strstr(h, "Tâches à faire (1)") &&
	      strstr(h, "Objectifs de l'année non tenus"));
	CHECK_INT(h_daemon_stop(&n.d), 0);
}

TEST(e2e_procedures_rgpd_reaches_every_person)
{
	struct net n;
	h_setup();
	CHECK(net_start(&n, "rgpd") == 0);
	const char *p = h_relais_ok(n.a, "promeneur", "add", "--prenom", "Zoé", "--nom", "Refusée",
				    "--email", "zoe@example.org", "--structure", n.s, (char *)NULL);
	const char *c = p ? h_relais_ok(n.a, "candidature", "add", "--structure", n.s, "--promeneur", p,
					(char *)NULL) : NULL;
	CHECK(c != NULL);
	CHECK(h_relais_ok(n.a, "candidature", "decider", c, "--decision", "refusee", "--comite",
			  "2025-03-01", (char *)NULL));
	const char *pa = h_relais_ok(n.a, "partenaire", "add", "--nom", "Mairie", "--type",
				     "collectivite", (char *)NULL);
	const char *gone = pa ? h_relais_ok(n.a, "contact", "add", "--prenom", "Léo", "--nom", "Parti",
					    "--email", "leo@example.org", "--partenaire", pa,
					    "--date-fin", "2025-02-01", (char *)NULL) : NULL;
	const char *stays = pa ? h_relais_ok(n.a, "contact", "add", "--prenom", "Ana", "--nom", "Là",
					     "--email", "ana@example.org", "--partenaire", pa,
					     (char *)NULL) : NULL;
	const char *res = h_relais_ok(n.a, "ressource", "add", "--nom", "Dr Ancienne", "--email",
				      "dr@example.org", "--date-fin", "2025-01-10", (char *)NULL);
	CHECK(gone && stays && res);

	const char *out = h_relais_ok(n.a, "rgpd", "effacer", "--date", "2026-06-01", (char *)NULL);
	CHECK(out && strstr(out, "Zoé Refusée") && strstr(out, "non retenu le 1er mars 2025"));
	CHECK(out && strstr(out, "Léo Parti") && strstr(out, "Dr Ancienne") && !strstr(out, "Ana"));
	CHECK(strstr(out, "3 personne(s) effacée(s)") != NULL);
	CHECK(h_sync(n.a, &n.d) == 0 && h_sync(n.b, &n.d) == 0);
	json_t *e = h_export(n.b);
	CHECK_STR(h_row_str(h_export_row(e, "promeneur", p), "prenom"), "(effacé)");
	CHECK_STR(h_row_str(h_export_row(e, "promeneur", p), "statut"), "non_retenu");
	CHECK_STR(h_row_str(h_export_row(e, "contact", gone), "nom"), "(effacé)");
	CHECK(h_row_str(h_export_row(e, "contact", gone), "email") == NULL);
	CHECK_STR(h_row_str(h_export_row(e, "contact", stays), "email"), "ana@example.org");
	CHECK_STR(h_row_str(h_export_row(e, "resource", res), "nom"), "(effacé)");
	CHECK_INT(h_daemon_stop(&n.d), 0);
}

TEST(e2e_procedures_synthesis_tells_the_network_activity)
{
	struct net n;
	h_setup();
	CHECK(net_start(&n, "synthese") == 0);
	const char *p1 = h_relais_ok(n.a, "promeneur", "add", "--prenom", "Ana", "--nom", "Un", "--email",
				     "ana@example.org", "--structure", n.s, "--statut", "labellise",
				     "--date-labellisation", "2026-02-01", "--public", "jeunesse",
				     (char *)NULL);
	const char *p2 = h_relais_ok(n.a, "promeneur", "add", "--prenom", "Bo", "--nom", "Deux", "--email",
				     "bo@example.org", "--structure", n.s, "--statut", "labellise",
				     "--date-labellisation", "2025-02-01", "--public", "parentalite",
				     (char *)NULL);
	CHECK(p1 && p2);
	CHECK(h_relais_ok(n.a, "promeneur", "delabelliser", p2, "--motif", "Départ", "--date",
			  "2026-09-10", (char *)NULL));
	const char *ev = h_relais_ok(n.a, "evenement", "add", "--type", "regroupement", "--titre",
				     "Regroupement de mars", "--date", "2026-03-05", (char *)NULL);
	CHECK(ev != NULL);
	CHECK(h_relais_ok(n.a, "participation", "add", "--event", ev, "--promeneur", p1,
			  "--presence-effective", "oui", (char *)NULL));
	CHECK(h_relais_ok(n.a, "participation", "add", "--event", ev, "--promeneur", p2,
			  "--presence-effective", "non", (char *)NULL));
	CHECK(h_relais_ok(n.a, "demande", "add", "--promeneur", p1, "--sujet", "juridique", "--question",
			  "Droit à l'image", "--date-demande", "2026-04-02", "--statut", "traitee",
			  (char *)NULL));
	CHECK(h_relais_ok(n.a, "bilan", "add", "--structure", n.s, "--annee", "2026", "--periode",
			  "semestre1", "--jeunes-connectes", "40", "--articulation",
			  "Les ateliers du mercredi prolongent les échanges en ligne", (char *)NULL));

	const char *html = h_relais_ok(n.a, "synthese", "--annee", "2026", "--format", "html", (char *)NULL);
	CHECK(html != NULL);
	CHECK(strstr(html, "Activité du réseau du 1er janvier 2026 au 31 décembre 2026"));
	CHECK(strstr(html, "Promeneurs labellisés (entrées)</th><td class=\"n\">1<"));
	CHECK(strstr(html, "Promeneurs délabellisés (sorties)</th><td class=\"n\">1<"));
	CHECK(strstr(html, "Effectif au 31 décembre 2026 : 1 promeneur dans 1 structure"));
	CHECK(strstr(html, "regroupement</th><td class=\"n\">1</td><td class=\"n\">2</td>"
			   "<td class=\"n\">1</td><td class=\"n\">50 %</td>"));
	CHECK(strstr(html, "juridique</th><td class=\"n\">1</td><td class=\"n\">1</td>"));
	CHECK(strstr(html, "Les ateliers du mercredi prolongent les échanges en ligne"));
	/* Mid-year: Bo was still labelled on 30 June, the first half's bilan counts. */
	html = h_relais_ok(n.a, "synthese", "--annee", "2026", "--mi-annee", "--format", "html",
			   (char *)NULL);
	CHECK(html && strstr(html, "synthèse de mi-année (1er semestre) 2026"));
	CHECK(strstr(html, "Effectif au 30 juin 2026 : 2 promeneurs dans 1 structure"));
	CHECK(strstr(html, "Indicateurs des bilans du 1er semestre"));
	CHECK(strstr(html, "Promeneurs délabellisés (sorties)</th><td class=\"n\">0<"));
	struct h_out *o = h_relais(n.a, "synthese", "--annee", "1990", "--format", "html", (char *)NULL);
	CHECK(o->status != 0);
	CHECK_INT(h_daemon_stop(&n.d), 0);
}

/* One integer from sql on the database at path; -1 on failure. */
static long long db_count(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long long n = -1;
	if (sqlite3_open(path, &db) == SQLITE_OK && sqlite3_prepare_v2(db, sql, -1, &st, NULL) ==
	    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* A message the gateway journaled from sender, with its raw bytes archived,
 * written on the store as relaisd's gateway does. */
static int archived_mail(const char *store, const char *sender, char id[UTIL_UUID_LEN + 1])
{
	sqlite3 *db = NULL;
	int made = sqlite3_open(store, &db) == SQLITE_OK && !mailgw_ingest_schema(db);
	sqlite3_close(db);
	if (!made || util_uuid(id))
		return -1;
	return h_store_write(store, h_strf("INSERT INTO inbound_mail(id, dept, expediteur, sujet, "
					   "resultat, reponse, texte) VALUES('%s', '65', '%s', 'Bilan', "
					   "'enregistre', 'envoyee', 'Bonjour'); INSERT INTO mail_archive(id, "
					   "sha256, size, received_ms, raw) VALUES('%s', 'aa', 5, 0, x'6869')",
					   id, sender, id));
}

TEST(e2e_procedures_rgpd_reaches_conflicts_and_archive)
{
	struct net n;
	char mail[UTIL_UUID_LEN + 1];
	h_setup();
	CHECK(net_start(&n, "purge") == 0);
	const char *store = h_strf("%s/relais.db", n.d.data);
	const char *p = labelled(&n, "Sacha", "sacha@example.org");
	CHECK(p != NULL);
	CHECK(h_sync(n.a, &n.d) == 0 && h_sync(n.b, &n.d) == 0);
	/* The same phone changed on both replicas: a conflict keeps both. */
	CHECK(h_relais_ok(n.a, "promeneur", "set", p, "--telephone", "0562000011", (char *)NULL));
	CHECK(h_relais_ok(n.b, "promeneur", "set", p, "--telephone", "0562000022", (char *)NULL));
	CHECK(h_sync(n.a, &n.d) == 0 && h_sync(n.b, &n.d) == 0 && h_sync(n.a, &n.d) == 0);
	const char *q = h_strf("SELECT count(*) FROM sync_conflict WHERE row_id = '%s' AND "
			       "(kept IS NOT NULL OR lost IS NOT NULL)", p);
	CHECK(db_count(store, q) >= 1);
	CHECK_INT(h_daemon_stop(&n.d), 0);
	CHECK(archived_mail(store, "sacha@example.org", mail) == 0);
	CHECK(h_daemon_serve(&n.d) == 0);
	CHECK(h_sync(n.a, &n.d) == 0);

	CHECK(h_relais_ok(n.a, "promeneur", "delabelliser", p, "--motif", "Départ", "--date",
			  "2025-01-05", (char *)NULL));
	const char *out = h_relais_ok(n.a, "rgpd", "effacer", "--date", "2026-06-01", (char *)NULL);
	CHECK(out && strstr(out, "1 courriel(s) reçu(s)"));
	CHECK(h_sync(n.a, &n.d) == 0);
	/* relaisd finishes the erasure when it starts. */
	CHECK_INT(h_daemon_stop(&n.d), 0);
	CHECK(h_daemon_serve(&n.d) == 0);
	CHECK(h_daemon_log_has(&n.d, "RGPD :", 5000) == 1);
	CHECK_INT(db_count(store, q), 0);
	CHECK_INT(db_count(store, h_strf("SELECT count(*) FROM mail_archive WHERE id = '%s'", mail)), 0);
	CHECK(h_sync(n.b, &n.d) == 0);
	CHECK_INT(db_count(h_strf("%s/replica.db", n.b), q), 0);
	/* The conflict itself stays, to be settled: only its values went. */
	CHECK(db_count(h_strf("%s/replica.db", n.b), h_strf("SELECT count(*) FROM sync_conflict "
							     "WHERE row_id = '%s'", p)) >= 1);
	CHECK_INT(h_daemon_stop(&n.d), 0);
}

TEST(e2e_procedures_caf_publishes_and_never_reads_distress)
{
	struct net n;
	char tc[H_TOKEN];
	h_setup();
	CHECK(net_start(&n, "caf") == 0);
	CHECK(h_daemon_user(&n.d, "referente-caf", "65", "caf", tc) == 0);
	const char *p = h_relais_ok(n.a, "promeneur", "ajouter", "--prenom", "Lou", "--nom", "Bielle",
				    "--email", "lou@example.org", "--structure", n.s, (char *)NULL);
	const char *c = p ? h_relais_ok(n.a, "candidature", "ajouter", "--structure", n.s,
					"--promeneur", p, (char *)NULL) : NULL;
	CHECK(c && h_relais_ok(n.a, "candidature", "decider", c, "--decision", "acceptee",
			       (char *)NULL));
	const char *dist = h_relais_ok(n.a, "demande", "ajouter", "--promeneur", p, "--sujet",
				       "orientation_detresse", "--question", "Un jeune en danger",
				       (char *)NULL);
	const char *law = h_relais_ok(n.a, "demande", "ajouter", "--promeneur", p, "--sujet",
				      "juridique", "--question", "Droit à l'image", (char *)NULL);
	CHECK(dist && law);
	json_t *e = h_export(n.a);
	json_t *ch = json_array_get(json_object_get(e, "directory_change"), 0);
	const char *cid = ch ? h_row_str(ch, "id") : NULL;
	CHECK(cid && h_relais_ok(n.a, "changement", "modifier", cid, "--transmis", "oui", (char *)NULL));
	CHECK(h_sync(n.a, &n.d) == 0);

	/* The CAF's replica: every row but the request about distress. */
	const char *C = h_replica(&n.d, "caf-C", tc);
	CHECK(C != NULL);
	e = h_export(C);
	CHECK(h_export_row(e, "request", law) != NULL);
	CHECK(h_export_row(e, "request", dist) == NULL);
	CHECK(h_export_row(e, "promeneur", p) != NULL);
	/* Its one write: the publication. Anything else is refused. */
	struct h_out *o = h_relais(C, "structure", "ajouter", "--nom", "X", "--commune", "Y", (char *)NULL);
	CHECK(o->status != 0 && strstr(o->err, "lecture seule"));
	CHECK(h_relais_ok(C, "changement", "publie", cid, "--date", "2026-12-01", (char *)NULL));
	CHECK(h_sync(C, &n.d) == 0);
	CHECK(h_sync(n.a, &n.d) == 0);
	e = h_export(n.a);
	CHECK_STR(h_row_str(h_export_row(e, "directory_change", cid), "date_publication"), "2026-12-01");

	/* A request that becomes one about distress leaves the CAF's replica. */
	CHECK(h_relais_ok(n.a, "demande", "modifier", law, "--sujet", "orientation_detresse",
			  (char *)NULL));
	CHECK(h_sync(n.a, &n.d) == 0 && h_sync(C, &n.d) == 0);
	e = h_export(C);
	CHECK(h_export_row(e, "request", law) == NULL);
	CHECK(h_export_row(e, "request", dist) == NULL);
	/* The coordinators still hold both. */
	CHECK(h_sync(n.b, &n.d) == 0);
	e = h_export(n.b);
	CHECK(h_export_row(e, "request", law) && h_export_row(e, "request", dist));
	CHECK_INT(h_daemon_stop(&n.d), 0);
}
