/*
 * test-ui-annee.c - the coordinator's year in relais ui, through real
 * POSTs with the session's CSRF token against a real relaisd and a real
 * `relais ui`: the national directory's changes and the CAF's confirmation
 * of a publication (the one write a « caf » account makes, synced back to
 * the coordinator), a governance meeting's agenda, papers and invited
 * partners, the training needs and the year's plan, a person's data (the
 * same rows as « relais personne export »), the mid-year synthesis, the
 * contacts' list and the event types offered by their French words.
 */
#include <stdlib.h>
#include <string.h>
#include "../common/util.h"
#include "harness.h"
#include "test.h"

struct world {
	struct h_daemon d;
	const char *home;  /* the coordinator's replica */
	const char *s;     /* a structure */
	char tcaf[H_TOKEN];
};

static int world_start(struct world *w, const char *name)
{
	char token[H_TOKEN];
	memset(w, 0, sizeof(*w));
	if (h_daemon_init(&w->d, name) ||
	    h_daemon_user(&w->d, "coord", "65", "coordinateur", token) ||
	    h_daemon_user(&w->d, "referente@caf", "65", "caf", w->tcaf) || h_daemon_serve(&w->d))
		return -1;
	if (!(w->home = h_replica(&w->d, h_strf("%s-r", name), token)))
		return -1;
	w->s = h_relais_ok(w->home, "structure", "ajouter", "--nom", "Centre social de Bagnères",
			   "--commune", "Bagnères-de-Bigorre", (char *)NULL);
	return w->s ? 0 : -1;
}

static const char *person(struct world *w, const char *prenom, const char *statut)
{
	static int n;
	return h_relais_ok(w->home, "promeneur", "ajouter", "--prenom", prenom, "--nom", "Lasserre",
			   "--email", h_strf("annee%d@example.org", ++n), "--structure", w->s,
			   "--statut", statut, (char *)NULL);
}

static long long row_int(json_t *row, const char *col)
{
	return json_integer_value(json_object_get(row, col));
}

TEST(ui_annee_annuaire_national_caf)
{
	struct world w;
	struct h_uip u;
	struct h_http r;
	h_setup();
	CHECK(world_start(&w, "national") == 0);
	const char *p = person(&w, "Jade", "labellise");
	CHECK(p != NULL);
	CHECK(h_relais_ok(w.home, "promeneur", "modifier", p, "--telephone", "0562000003",
			  (char *)NULL));
	json_t *e = h_export(w.home);
	json_t *ch = h_export_where(e, "directory_change", "nature", "modification", NULL);
	CHECK(ch != NULL);
	const char *cid = h_row_str(ch, "id");
	CHECK(cid != NULL);

	/* The coordinator sees it, not transmitted: nothing to confirm yet. */
	CHECK(h_uip_open(w.home, &u) == 0);
	CHECK(h_uip_get(&u, "/annuaire-national", &r) == 0);
	CHECK_INT(r.status, 200);
	CHECK(strstr(r.body, "modification") && strstr(r.body, "Téléphone") &&
	      strstr(r.body, "Jade Lasserre") && strstr(r.body, "à transmettre") &&
	      strstr(r.body, "href=\"/annuaire-national\" aria-current=\"page\""));
	CHECK(strstr(r.body, h_strf("/annuaire-national/%s/publier", cid)) == NULL);
	CHECK(h_uip_get(&u, "/", &r) == 0);
	CHECK(strstr(r.body, "1 changement à transmettre à la Caf") != NULL);
	/* Posted anyway, the domain refuses: transmitted first. */
	CHECK(h_uip_post(&u, h_strf("/annuaire-national/%s/publier", cid), "date=2026-06-02",
			 &r) == 0);
	CHECK_INT(r.status, 422);
	CHECK(strstr(r.body, "transmis") && strstr(r.body, "Retour à l&#39;annuaire national"));
	CHECK(h_uip_post(&u, "/annuaire-national/00000000-0000-4000-8000-000000000000/publier",
			 "date=2026-06-02", &r) == 0);
	CHECK_INT(r.status, 404);
	CHECK_INT(h_uip_close(&u), 0);

	CHECK(h_relais_ok(w.home, "changement", "modifier", cid, "--transmis", "oui",
			  "--date-transmission", "2026-06-01", (char *)NULL));
	CHECK(h_sync(w.home, &w.d) == 0);
	const char *caf = h_replica(&w.d, "national-caf", w.tcaf);
	CHECK(caf != NULL);

	/* The CAF: the list to publish, with its one form, from the home page. */
	CHECK(h_uip_open(caf, &u) == 0);
	CHECK(h_uip_get(&u, "/", &r) == 0);
	CHECK(strstr(r.body, "<a href=\"/annuaire-national?filtre=a_publier\">1 changement transmis "
		     "attend la confirmation de sa publication</a>") != NULL);
	CHECK(h_uip_get(&u, "/annuaire-national?filtre=a_publier", &r) == 0);
	CHECK_INT(r.status, 200);
	CHECK(strstr(r.body, "transmis le <time datetime=\"2026-06-01\">1er juin 2026</time>") &&
	      strstr(r.body, h_strf("action=\"/annuaire-national/%s/publier\"", cid)) &&
	      strstr(r.body, "Confirmer la publication"));
	/* Every other form stays refused. */
	CHECK(h_uip_get(&u, h_strf("/promeneurs/%s", p), &r) == 0);
	CHECK(strstr(r.body, "/signaler") == NULL && strstr(r.body, "/modifier\"") == NULL);
	CHECK(h_uip_post(&u, h_strf("/promeneurs/%s/suspendre", p), "motif=x&date=2026-06-02",
			 &r) == 0);
	CHECK_INT(r.status, 403);
	CHECK(h_uip_post(&u, "/formation/besoins", "theme=x", &r) == 0);
	CHECK_INT(r.status, 403);
	CHECK(h_uip_post(&u, h_strf("/annuaire-national/%s/publier", cid),
			 "date=2026-06-02&retour=" "%2Fannuaire-national%3Ffiltre%3Da_publier", &r) == 0);
	CHECK_INT(r.status, 303);
	CHECK_STR(h_http_header(&r, "Location"), "/annuaire-national?filtre=a_publier");
	CHECK(h_uip_get(&u, "/annuaire-national", &r) == 0);
	CHECK(strstr(r.body, "publié le <time datetime=\"2026-06-02\">2 juin 2026</time>") != NULL);
	CHECK(h_uip_get(&u, "/annuaire-national?filtre=a_publier", &r) == 0);
	CHECK(strstr(r.body, "Aucun changement transmis n&#39;attend sa publication.") != NULL);
	/* A second confirmation changes nothing. */
	CHECK(h_uip_post(&u, h_strf("/annuaire-national/%s/publier", cid), "date=2026-06-05",
			 &r) == 0);
	CHECK(r.status == 409 || r.status == 422);
	CHECK_INT(h_uip_close(&u), 0);

	/* One captured edit of the CAF's replica: it reaches the server and
	 * the coordinator. */
	json_t *st = h_status(caf);
	CHECK(st != NULL);
	CHECK_INT(json_integer_value(json_object_get(st, "pending")), 1);
	CHECK(h_sync(caf, &w.d) == 0);
	CHECK(h_sync(w.home, &w.d) == 0);
	e = h_export(w.home);
	ch = h_export_row(e, "directory_change", cid);
	CHECK_INT(row_int(ch, "publie"), 1);
	CHECK_STR(h_row_str(ch, "date_publication"), "2026-06-02");
	CHECK_INT(h_daemon_stop(&w.d), 0);
}

TEST(ui_annee_gouvernance)
{
	struct world w;
	struct h_uip u;
	struct h_http r;
	h_setup();
	CHECK(world_start(&w, "gouvernance") == 0);
	const char *part = h_relais_ok(w.home, "partenaire", "ajouter", "--nom",
				       "Département des Hautes-Pyrénées", "--type", "departement",
				       (char *)NULL);
	CHECK(part != NULL);
	const char *k = h_relais_ok(w.home, "contact", "ajouter", "--prenom", "Claire", "--nom",
				    "Baylac", "--partenaire", part, (char *)NULL);
	CHECK(k != NULL);

	CHECK(h_uip_open(w.home, &u) == 0);
	/* The event form offers every type by its French words. */
	CHECK(h_uip_get(&u, "/evenements/nouveau", &r) == 0);
	CHECK_INT(r.status, 200);
	static const char *const types[] = {
		"<option value=\"comite_pilotage\">comité de pilotage</option>",
		"<option value=\"comite_technique\">comité technique</option>",
		"<option value=\"comite_financeurs\">comité des financeurs</option>",
		"<option value=\"journee_nationale\">journée nationale</option>",
		"<option value=\"reunion_regionale\">réunion régionale</option>",
		"<option value=\"reunion_interdepartementale\">réunion interdépartementale</option>",
		"<option value=\"reunion_caf\">réunion avec la Caf</option>",
		"<option value=\"colloque\">colloque</option>",
		"<option value=\"bilan_individuel\">bilan individuel</option>",
	};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		CHECK_IDX(strstr(r.body, types[i]) != NULL, (int)i);
	CHECK(strstr(r.body, "Ordre du jour") && strstr(r.body, "Compte rendu diffusé à"));
	/* The agenda is written before the minutes. */
	CHECK(strstr(r.body, "for=\"ordre_du_jour\"") && strstr(r.body, "for=\"compte_rendu\"") &&
	      strstr(r.body, "for=\"ordre_du_jour\"") < strstr(r.body, "for=\"compte_rendu\""));
	CHECK(h_uip_post(&u, "/evenements/nouveau",
			 h_strf("type=comite_pilotage&titre=%s&date=2026-12-01&ordre_du_jour=%s"
				"&compte_rendu=%s&diffusion=%s&date_diffusion=2026-12-08",
				h_form_enc("Comité de pilotage de fin d'année"),
				h_form_enc("1. Bilan de l'année\n2. Plan de formation"),
				h_form_enc("Le plan de formation est adopté."),
				h_form_enc("Membres du comité, structures")), &r) == 0);
	CHECK_INT(r.status, 303);
	const char *ev = h_location_id(&r, "/evenements/");
	CHECK(ev != NULL);
	/* A paper of the meeting, as the server writes it from a mail. */
	CHECK(h_replica_exec(w.home, h_strf("INSERT INTO document (id, dept, nom, taille, "
					    "rattache_table, rattache_id) VALUES "
					    "('d0c00000-0000-4000-8000-000000000001', '65', "
					    "'ordre-du-jour.pdf', 2048, 'event', '%s')", ev)) == 0);
	CHECK(h_uip_get(&u, h_strf("/evenements/%s", ev), &r) == 0);
	CHECK_INT(r.status, 200);
	CHECK(strstr(r.body, "comité de pilotage") && strstr(r.body, "1er décembre 2026") &&
	      strstr(r.body, "Ordre du jour et compte rendu") &&
	      strstr(r.body, "1. Bilan de l&#39;année") &&
	      strstr(r.body, "Le plan de formation est adopté.") &&
	      strstr(r.body, "diffusé à <span class=\"multiligne\">Membres du comité, structures"
		     "</span>, le 8 décembre 2026"));
	CHECK(strstr(r.body, "Documents de la réunion") &&
	      strstr(r.body, "href=\"/documents/d0c00000-0000-4000-8000-000000000001\"") &&
	      strstr(r.body, "ordre-du-jour.pdf"));
	CHECK(strstr(r.body, "Partenaires invités") && strstr(r.body, "Aucun partenaire invité.") &&
	      strstr(r.body, h_strf("<option value=\"%s\">Claire Baylac – Département", k)));
	/* Invite, once only; then present. */
	CHECK(h_uip_post(&u, h_strf("/evenements/%s/invites", ev), h_strf("contact=%s", k), &r) == 0);
	CHECK_INT(r.status, 303);
	CHECK(h_uip_post(&u, h_strf("/evenements/%s/invites", ev), h_strf("contact=%s", k), &r) == 0);
	CHECK_INT(r.status, 409);
	CHECK(h_uip_post(&u, h_strf("/evenements/%s/invites", ev), "contact=%3Cscript%3E", &r) == 0);
	CHECK_INT(r.status, 422);
	CHECK(strstr(r.body, "<script>") == NULL);
	json_t *e = h_export(w.home);
	json_t *g = h_export_where(e, "guest", "event", ev, NULL);
	CHECK(g != NULL);
	const char *gid = h_row_str(g, "id");
	CHECK_INT(row_int(g, "presence_effective"), 0);
	CHECK(h_uip_post(&u, h_strf("/evenements/%s/invites/%s", ev, gid), "presence=2", &r) == 0);
	CHECK_INT(r.status, 400);
	CHECK(h_uip_post(&u, h_strf("/evenements/%s/invites/%s", ev, gid), "presence=1", &r) == 0);
	CHECK_INT(r.status, 303);
	CHECK(h_uip_get(&u, h_strf("/evenements/%s", ev), &r) == 0);
	CHECK(strstr(r.body, h_strf("href=\"/fiches/contact/%s\">Claire Baylac</a>", k)) &&
	      strstr(r.body, "Marquer absent(e)"));
	CHECK_INT(h_uip_close(&u), 0);
	e = h_export(w.home);
	CHECK_INT(row_int(h_export_row(e, "guest", gid), "presence_effective"), 1);
	CHECK_STR(h_row_str(h_export_row(e, "event", ev), "date_diffusion"), "2026-12-08");
	CHECK_INT(h_daemon_stop(&w.d), 0);
}

TEST(ui_annee_formation)
{
	struct world w;
	struct h_uip u;
	struct h_http r;
	h_setup();
	CHECK(world_start(&w, "formation") == 0);
	const char *p = person(&w, "Inès", "labellise");
	CHECK(p != NULL);
	const char *ev = h_relais_ok(w.home, "evenement", "ajouter", "--type", "formation_thematique",
				     "--titre", "Harcèlement en ligne", "--date", "2026-10-06",
				     (char *)NULL);
	CHECK(ev != NULL);

	CHECK(h_uip_open(w.home, &u) == 0);
	CHECK(h_uip_get(&u, "/formation?annee=2026", &r) == 0);
	CHECK_INT(r.status, 200);
	CHECK(strstr(r.body, "Noter un besoin") && strstr(r.body, "Aucun besoin en attente") &&
	      strstr(r.body, "href=\"/formation\" aria-current=\"page\""));
	CHECK(h_uip_get(&u, "/formation?annee=deux", &r) == 0);
	CHECK_INT(r.status, 400);
	/* A need without its theme comes back with the reason. */
	CHECK(h_uip_post(&u, "/formation/besoins", h_strf("promeneur=%s&date=2026-03-02", p), &r) == 0);
	CHECK_INT(r.status, 422);
	CHECK(strstr(r.body, "Thème") && strstr(r.body, "aria-invalid"));
	CHECK(h_uip_post(&u, "/formation/besoins",
			 h_strf("promeneur=%s&theme=%s&origine=%s&date=2026-03-02", p,
				h_form_enc("Harcèlement en ligne"),
				h_form_enc("Échange de pratiques de mars")), &r) == 0);
	CHECK_INT(r.status, 303);
	json_t *e = h_export(w.home);
	json_t *need = h_export_where(e, "need", "promeneur", p, NULL);
	CHECK(need != NULL);
	const char *nid = h_row_str(need, "id");
	CHECK_STR(h_row_str(need, "statut"), "exprime");
	CHECK(h_uip_get(&u, "/formation?annee=2026", &r) == 0);
	CHECK(strstr(r.body, "Besoins à planifier") && strstr(r.body, "2 mars 2026") &&
	      strstr(r.body, h_strf("/formation/besoins/%s/planifier", nid)) &&
	      strstr(r.body, "Harcèlement en ligne, 6 octobre 2026"));
	/* The person's page lists it. */
	CHECK(h_uip_get(&u, h_strf("/promeneurs/%s", p), &r) == 0);
	CHECK(strstr(r.body, "Besoins de formation") && strstr(r.body, h_strf("/fiches/need/%s", nid)));
	/* Planned on the training: « planifié ». */
	CHECK(h_uip_post(&u, h_strf("/formation/besoins/%s/planifier", nid), "event=nimporte", &r) == 0);
	CHECK_INT(r.status, 422);
	CHECK(h_uip_post(&u, h_strf("/formation/besoins/%s/planifier", nid), h_strf("event=%s", ev),
			 &r) == 0);
	CHECK_INT(r.status, 303);
	e = h_export(w.home);
	CHECK_STR(h_row_str(h_export_row(e, "need", nid), "statut"), "planifie");
	/* Present at it: « satisfait », and the plan says who came. */
	CHECK(h_uip_post(&u, h_strf("/evenements/%s/participants", ev),
			 h_strf("promeneur=%s&presence_effective=1", p), &r) == 0);
	CHECK_INT(r.status, 303);
	e = h_export(w.home);
	CHECK_STR(h_row_str(h_export_row(e, "need", nid), "statut"), "satisfait");
	CHECK(h_uip_get(&u, "/formation?annee=2026", &r) == 0);
	CHECK(strstr(r.body, "Plan de formation 2026") && strstr(r.body, "<h3>Harcèlement en ligne</h3>") &&
	      strstr(r.body, "6 octobre 2026") && strstr(r.body, "satisfait") &&
	      strstr(r.body, h_strf("présents : <a href=\"/promeneurs/%s\">Inès Lasserre</a>", p)));
	CHECK(h_uip_get(&u, h_strf("/evenements/%s", ev), &r) == 0);
	CHECK(strstr(r.body, "Besoins de formation auxquels elle répond") &&
	      strstr(r.body, h_strf("<a href=\"/fiches/need/%s\">Harcèlement en ligne</a>", nid)));
	CHECK(h_uip_get(&u, "/formation?annee=2025", &r) == 0);
	CHECK(strstr(r.body, "Aucun besoin noté ni planifié en 2025.") != NULL);
	CHECK_INT(h_uip_close(&u), 0);
	CHECK_INT(h_daemon_stop(&w.d), 0);
}

TEST(ui_annee_donnees_personnelles)
{
	struct world w;
	struct h_uip u;
	struct h_http r;
	h_setup();
	CHECK(world_start(&w, "personne") == 0);
	const char *p = person(&w, "Inès", "labellise"), *other = person(&w, "Noé", "labellise");
	CHECK(p && other);
	const char *pres = h_relais_ok(w.home, "presence", "ajouter", "--promeneur", p, "--reseau",
				       "instagram", "--nom-profil", "ines.pdn", (char *)NULL);
	const char *q = h_relais_ok(w.home, "demande", "ajouter", "--promeneur", p, "--sujet",
				    "juridique", "--question", "Droit à l'image ?", "--date-demande",
				    "2026-03-01", (char *)NULL);
	CHECK(pres && q);
	CHECK(h_relais_ok(w.home, "presence", "ajouter", "--promeneur", other, "--reseau", "discord",
			  "--nom-profil", "noe.pdn", (char *)NULL));
	const char *cli = h_relais_ok(w.home, "personne", "export", p, (char *)NULL);
	CHECK(cli != NULL);

	CHECK(h_uip_open(w.home, &u) == 0);
	CHECK(h_uip_get(&u, h_strf("/promeneurs/%s", p), &r) == 0);
	CHECK(strstr(r.body, h_strf("href=\"/promeneurs/%s/donnees\"", p)) != NULL);
	CHECK(h_uip_get(&u, h_strf("/promeneurs/%s/donnees", p), &r) == 0);
	CHECK_INT(r.status, 200);
	CHECK(strstr(r.body, "Données personnelles : Inès Lasserre") &&
	      strstr(r.body, "Présences en ligne") && strstr(r.body, "ines.pdn") &&
	      strstr(r.body, h_strf("href=\"/fiches/presence/%s/modifier\"", pres)) &&
	      strstr(r.body, h_strf("href=\"/fiches/request/%s/modifier\"", q)) &&
	      strstr(r.body, h_strf("href=\"/promeneurs/%s/modifier\"", p)) &&
	      strstr(r.body, "1er mars 2026") && strstr(r.body, "Changements d&#39;annuaire"));
	CHECK(strstr(r.body, "noe.pdn") == NULL);
	/* The JSON: the rows of « relais personne export », as a file. */
	CHECK(h_uip_get(&u, h_strf("/promeneurs/%s/donnees/export", p), &r) == 0);
	CHECK_INT(r.status, 200);
	CHECK(strstr(h_http_header(&r, "Content-Disposition"), "attachment") != NULL);
	json_t *a = h_json(r.body, r.bodylen), *b = h_json(cli, strlen(cli));
	CHECK(a && b);
	CHECK(json_equal(a, b));
	CHECK(h_uip_get(&u, "/promeneurs/00000000-0000-4000-8000-000000000000/donnees", &r) == 0);
	CHECK_INT(r.status, 404);
	CHECK(h_uip_get(&u, "/promeneurs/..%2F..%2Fetc/donnees/export", &r) == 0);
	CHECK_INT(r.status, 404);
	CHECK_INT(h_uip_close(&u), 0);
	CHECK_INT(h_daemon_stop(&w.d), 0);
}

TEST(ui_annee_accueil_contacts)
{
	struct world w;
	struct h_uip u;
	struct h_http r;
	h_setup();
	CHECK(world_start(&w, "synthese") == 0);
	const char *part = h_relais_ok(w.home, "partenaire", "ajouter", "--nom", "SDJES 65",
				       (char *)NULL);
	CHECK(part && h_relais_ok(w.home, "contact", "ajouter", "--prenom", "Claire", "--nom",
				  "Baylac", "--partenaire", part, (char *)NULL));
	const char *p = person(&w, "Inès", "labellise");
	CHECK(p && h_relais_ok(w.home, "promeneur", "signaler", p, "--motif", "Absence de bilan",
			       "--date", "2026-02-02", (char *)NULL));
	CHECK(h_uip_open(w.home, &u) == 0);
	/* The home page says the follow-up in French, without the commands. */
	CHECK(h_uip_get(&u, "/", &r) == 0);
	CHECK(strstr(r.body, "Procédures en cours") && strstr(r.body, "Bilans individuels à faire") &&
	      strstr(r.body, h_strf("<a href=\"/promeneurs/%s\">Inès Lasserre : problème signalé le "
				    "2 février 2026, référent Caf à informer</a>", p)));
	CHECK(strstr(r.body, "(relais ") == NULL);
	/* The contacts, from the partners' list and on their own. */
	CHECK(h_uip_get(&u, "/fiches/partenaire", &r) == 0);
	CHECK(strstr(r.body, "href=\"/fiches/contact\"") != NULL);
	CHECK(h_uip_get(&u, "/fiches/contact", &r) == 0);
	CHECK_INT(r.status, 200);
	CHECK(strstr(r.body, "Claire Baylac") && strstr(r.body, "SDJES 65"));
	CHECK_INT(h_uip_close(&u), 0);
	CHECK_INT(h_daemon_stop(&w.d), 0);
}

/* The synthesis of the year or of its first half, for the mid-year
 * comité. */
TEST(ui_annee_synthese_mi_annee)
{
	struct world w;
	struct h_uip u;
	struct h_http r;
	h_setup();
	CHECK(world_start(&w, "mi-annee") == 0);
	CHECK(h_uip_open(w.home, &u) == 0);
	CHECK(h_uip_get(&u, "/synthese?annee=2026&periode=mi-annee", &r) == 0);
	CHECK_INT(r.status, 200);
	CHECK(strstr(r.body, "Synthèse de mi-année 2026 (1er semestre)") &&
	      strstr(r.body, "<option value=\"mi-annee\" selected>mi-année (1er semestre)</option>") &&
	      strstr(r.body, "/synthese/page?annee=2026&amp;periode=mi-annee"));
	CHECK(h_uip_get(&u, "/synthese?annee=2026", &r) == 0);
	CHECK_INT(r.status, 200);
	CHECK(strstr(r.body, "Synthèse des bilans 2026") &&
	      strstr(r.body, "<option value=\"annee\" selected>année</option>"));
	CHECK(h_uip_get(&u, "/synthese/page?annee=2026&periode=mi-annee", &r) == 0);
	CHECK_INT(r.status, 200);
	CHECK_INT(h_uip_close(&u), 0);
	CHECK_INT(h_daemon_stop(&w.d), 0);
}

/* Hostile posts to the year's screens: unknown rows, rows of another
 * event, values that are none; nothing is written. */
TEST(ui_annee_hostile)
{
	struct world w;
	struct h_uip u;
	struct h_http r;
	h_setup();
	CHECK(world_start(&w, "hostile") == 0);
	const char *ev = h_relais_ok(w.home, "evenement", "ajouter", "--type", "comite_technique",
				     "--titre", "Comité technique", "--date", "2026-04-02", (char *)NULL);
	const char *ev2 = h_relais_ok(w.home, "evenement", "ajouter", "--type", "colloque",
				      "--titre", "Colloque", "--date", "2026-05-02", (char *)NULL);
	const char *part = h_relais_ok(w.home, "partenaire", "ajouter", "--nom", "Caf des "
				       "Hautes-Pyrénées", "--type", "caf", (char *)NULL);
	CHECK(ev && ev2 && part);
	const char *k = h_relais_ok(w.home, "contact", "ajouter", "--nom", "Abadie", "--partenaire",
				    part, (char *)NULL);
	CHECK(k != NULL);
	const char *g = h_relais_ok(w.home, "invite", "ajouter", "--event", ev2, "--contact", k,
				    (char *)NULL);
	CHECK(g != NULL);
	const char *before = h_export_text(w.home);
	CHECK(before != NULL);
	static const char *const unknown = "00000000-0000-4000-8000-000000000000";
	const struct {
		const char *path, *form;
		int status;
	} cases[] = {
		{ h_strf("/evenements/%s/invites", unknown), h_strf("contact=%s", k), 404 },
		{ "/evenements/..%2F..%2Fetc/invites", h_strf("contact=%s", k), 404 },
		{ h_strf("/evenements/%s/invites", ev), "contact=", 422 },
		{ h_strf("/evenements/%s/invites", ev), h_strf("contact=%s", unknown), 422 },
		{ h_strf("/evenements/%s/invites/%s", ev, g), "presence=1", 404 },
		{ h_strf("/evenements/%s/invites/%s/retirer", ev, g), "", 404 },
		{ h_strf("/formation/besoins/%s/planifier", unknown), h_strf("event=%s", ev), 404 },
		{ "/formation/besoins", "theme=&date=2026-02-30", 422 },
		{ h_strf("/annuaire-national/%s/publier", ev), "date=2026-06-02", 404 },
	};
	CHECK(h_uip_open(w.home, &u) == 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_IDX(h_uip_post(&u, cases[i].path, cases[i].form, &r) == 0, (int)i);
		CHECK_INT_IDX(r.status, cases[i].status, (int)i);
		CHECK_IDX(strstr(r.body, "<script") == NULL || strstr(r.body, "<script src=") != NULL,
			  (int)i);
	}
	CHECK(h_uip_get(&u, "/annuaire-national?filtre=%3Cscript%3E", &r) == 0);
	CHECK_INT(r.status, 200);
	CHECK(strstr(r.body, "<script>") == NULL);
	CHECK(h_uip_get(&u, "/formation?annee=1999", &r) == 0);
	CHECK_INT(r.status, 400);
	/* The CSRF token is checked before any of these. */
	CHECK(h_uip_send(&u, "POST", h_strf("/evenements/%s/invites", ev), NULL, &r) == 0);
	CHECK(r.status == 403 || r.status == 415 || r.status == 400);
	CHECK_INT(h_uip_close(&u), 0);
	CHECK_STR(h_export_text(w.home), before);
	CHECK_INT(h_daemon_stop(&w.d), 0);
}
