/*
 * test-ui-pages.c - the events, mail, conflicts and synthesis pages of
 * `relais ui`, in raw HTTP against a real `relais ui --sans-navigateur --port 0`
 * on a replica made with the harness.
 *
 * Each test reads pages as a browser would (the secret's cookie, the CSRF
 * token of the pages' forms), posts forms, and then checks what reached the
 * replica with the CLI, after stopping the interface: it holds the
 * replica's lock while it runs.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>
#include "../common/util.h"
#include "../model/model.h"
#include "../sync/sync.h"
#include "harness.h"
#include "test.h"


static void nap(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* The attendance id of the row of name on an event's page: the action of
 * its "Retirer NAME" button's form (harness-owned), or NULL. */
static const char *attendance_of(const char *page, const char *name)
{
	const char *b = strstr(page, h_strf("aria-label=\"Retirer %s\"", name));
	const char *end = b, *p = NULL;
	if (!b)
		return NULL;
	/* The form opens just before its button. */
	for (const char *q = page; (q = strstr(q, "/participants/")) && q < end; q++)
		p = q;
	if (!p)
		return NULL;
	p += strlen("/participants/");
	return h_strf("%.*s", (int)strcspn(p, "/\""), p);
}

static long long status_pending(const char *home)
{
	json_t *st = h_status(home);
	return st ? (long long)json_integer_value(json_object_get(st, "pending")) : -1;
}

/*
 * A daemon of 43 with two coordinators, a replica A with a structure and a
 * promeneur; with planted mail, the gateway's journal written into the
 * store before the daemon starts, as the gateway writes it.
 */
struct world {
	struct h_daemon d;
	char token[2][H_TOKEN];
	const char *A;
	const char *structure, *promeneur;
	char mail[3][UTIL_UUID_LEN + 1];
};

enum { MAIL_WAITING, MAIL_OLD, MAIL_RECORDED };

static const struct {
	const char *from, *name, *subject, *received, *result, *handling, *reason, *text;
} journal[3] = {
	{ "mjc.yssingeaux@example.org", "MJC d'Yssingeaux", "Question <b>formation</b>",
	  "2026-11-21T10:00:00Z", "quarantaine", "a_traiter",
	  "Le message n'est ni une candidature ni un bilan.",
	  "Bonjour,\r\nquand a lieu la prochaine formation ?\x1b[31m\r\nMerci" },
	{ "jade.roux@example.org", NULL, "Mon profil", "2026-11-20T09:00:00Z", "quarantaine",
	  NULL, "Expéditeur inconnu.", "Bonjour." },
	{ "cs.brioude@example.org", NULL, "Bilan 2025", "2026-11-22T08:00:00Z", "enregistre",
	  NULL, NULL, "Bilan joint." },
};

static int planted_mail(struct world *w)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	struct sync_tables *t = NULL;
	struct sync_local *l = NULL;
	int rc = -1;

	if (sqlite3_open_v2(h_strf("%s/relais.db", w->d.data), &db, SQLITE_OPEN_READWRITE,
			    NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(db, 5000) != SQLITE_OK ||
	    sync_tables_load(db, model_table_names, model_ntables, &t) ||
	    sync_local_begin(db, t, &l) ||
	    sqlite3_prepare_v2(db, "INSERT INTO inbound_mail (id, dept, message_id, expediteur, "
			       "nom_expediteur, sujet, recu_le, resultat, type, raison, texte, "
			       "reponse, traitement) VALUES (?,'43',?,?,?,?,?,?,'inconnu',?,?,"
			       "'aucune',?)", -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "  plant: %s\n", sqlite3_errmsg(db));
		goto out;
	}
	for (int i = 0; i < 3; i++) {
		if (util_uuid(w->mail[i]))
			goto out;
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, w->mail[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, h_strf("<%d@example.org>", i), -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 3, journal[i].from, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, journal[i].name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, journal[i].subject, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, journal[i].received, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, journal[i].result, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 8, journal[i].reason, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 9, journal[i].text, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 10, journal[i].handling, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			fprintf(stderr, "  plant: %s\n", sqlite3_errmsg(db));
			goto out;
		}
	}
	rc = sync_local_commit(l, "courrier") ? -1 : 0;
	l = NULL;
out:
	sqlite3_finalize(st);
	sync_local_abort(l);
	sync_tables_free(t);
	sqlite3_close(db);
	return rc;
}

static int world_start(struct world *w, int planted)
{
	memset(w, 0, sizeof(*w));
	if (h_daemon_init(&w->d, "srv") ||
	    h_daemon_user(&w->d, "coord-a", "43", "coordinateur", w->token[0]) ||
	    h_daemon_user(&w->d, "coord-b", "43", "coordinateur", w->token[1]))
		return -1;
	if (planted && planted_mail(w))
		return -1;
	if (h_daemon_serve(&w->d) || !(w->A = h_replica(&w->d, "A", w->token[0])))
		return -1;
	w->structure = h_relais_ok(w->A, "structure", "add", "--nom", "MJC <du> Puy & Cie",
				   "--commune", "Le Puy-en-Velay", (char *)NULL);
	if (!w->structure)
		return -1;
	w->promeneur = h_relais_ok(w->A, "promeneur", "add", "--prenom", "Jade", "--nom", "Roux",
				   "--email", "jade.roux@example.org", "--structure", w->structure,
				   (char *)NULL);
	return w->promeneur ? 0 : -1;
}

/* ---- events and synthesis ---- */

TEST(ui_pages_evenements)
{
	struct world w;
	struct h_uip u;
	struct h_http r;
	h_setup();
	CHECK(world_start(&w, 0) == 0);
	const char *other = h_relais_ok(w.A, "promeneur", "add", "--prenom", "Léo", "--nom", "Abel",
					"--email", "leo.abel@example.org", "--structure", w.structure,
					(char *)NULL);
	CHECK(other != NULL);
	long long pending0 = status_pending(w.A);
	CHECK(pending0 > 0);
	CHECK(h_uip_open(w.A, &u) == 0);

	CHECK(h_uip_get(&u, "/evenements", &r) == 0);
	CHECK_INT(r.status, 200);
	CHECK(strstr(r.body, "Aucun événement à venir.") != NULL);
	CHECK(strstr(r.body, "href=\"/evenements/nouveau\"") != NULL);

	/* The model's checks, each next to its field; nothing is written. */
	CHECK(h_uip_get(&u, "/evenements/nouveau", &r) == 0);
	CHECK_INT(r.status, 200);
	CHECK(strstr(r.body, "<label for=\"titre\"") != NULL);
	CHECK(strstr(r.body, "<label for=\"date\"") != NULL);
	CHECK(h_uip_post(&u, "/evenements/nouveau", "type=regroupement&titre=&date=31%2F02%2F2027&lieu=",
		   &r) == 0);
	CHECK_INT(r.status, 422);
	CHECK(strstr(r.body, "id=\"date-erreur\"") != NULL);
	CHECK(strstr(r.body, "id=\"titre-erreur\"") != NULL);
	CHECK(strstr(r.body, "aria-describedby=\"date-erreur") != NULL);
	CHECK(strstr(r.body, "id=\"type-erreur\"") == NULL);

	/* Created, then shown; the date in French. */
	CHECK(h_uip_post(&u, "/evenements/nouveau", h_strf("type=regroupement&titre=%s&date=2099-03-12"
		   "&lieu=%s&compte_rendu=", h_form_enc("Regroupement de printemps"), h_form_enc("Yssingeaux")),
		   &r) == 0);
	CHECK_INT(r.status, 303);
	const char *ev = h_location_id(&r, "/evenements/");
	CHECK(ev != NULL && util_is_uuid(ev));
	CHECK(h_uip_get(&u, h_strf("/evenements/%s", ev), &r) == 0);
	CHECK_INT(r.status, 200);
	CHECK(strstr(r.body, "<h1>Regroupement de printemps</h1>") != NULL);
	CHECK(strstr(r.body, "12 mars 2099") != NULL);
	CHECK(strstr(r.body, "Événement créé.") != NULL);
	CHECK(strstr(r.body, "<strong>0</strong> inscrit ") != NULL);

	/* A past event comes after the coming one. */
	CHECK(h_uip_post(&u, "/evenements/nouveau", "type=comite_pilotage&titre=Copil&date=2001-01-15",
		   &r) == 0);
	CHECK_INT(r.status, 303);
	CHECK(h_uip_get(&u, "/evenements", &r) == 0);
	const char *coming = strstr(r.body, "Regroupement de printemps");
	const char *past = strstr(r.body, "Copil");
	CHECK(coming && past && coming < past);
	CHECK(strstr(r.body, "<th scope=\"col\">") != NULL);

	/* Edit: a bad date is refused next to the field, a good one saved. */
	CHECK(h_uip_post(&u, h_strf("/evenements/%s/modifier", ev), "type=regroupement&titre=Regroupement"
		   "&date=demain", &r) == 0);
	CHECK_INT(r.status, 422);
	CHECK(strstr(r.body, "id=\"date-erreur\"") != NULL);
	CHECK(h_uip_post(&u, h_strf("/evenements/%s/modifier", ev), h_strf("type=regroupement&titre=%s"
		   "&date=2099-03-13&lieu=Brioude", h_form_enc("Regroupement d'été")), &r) == 0);
	CHECK_INT(r.status, 303);
	CHECK(h_uip_post(&u, "/evenements/00000000-0000-4000-8000-000000000000/modifier",
		   "type=regroupement&titre=X&date=2099-03-13", &r) == 0);
	CHECK_INT(r.status, 404);

	/* Attendance: two registered, one present, a second registration
	 * refused, one removed. */
	CHECK(h_uip_post(&u, h_strf("/evenements/%s/participants", ev),
		   h_strf("promeneur=%s&presence_effective=1&presence_effective=0", w.promeneur),
		   &r) == 0);
	CHECK_INT(r.status, 303);
	CHECK(h_uip_post(&u, h_strf("/evenements/%s/participants", ev),
		   h_strf("promeneur=%s&presence_effective=0", other), &r) == 0);
	CHECK_INT(r.status, 303);
	CHECK(h_uip_post(&u, h_strf("/evenements/%s/participants", ev),
		   h_strf("promeneur=%s&presence_effective=0", other), &r) == 0);
	CHECK_INT(r.status, 409);
	CHECK(strstr(r.body, "déjà inscrit") != NULL);
	CHECK(h_uip_post(&u, h_strf("/evenements/%s/participants", ev), "promeneur=", &r) == 0);
	CHECK_INT(r.status, 422);
	CHECK(strstr(r.body, "aria-describedby=\"promeneur-erreur\"") != NULL);
	CHECK(h_uip_get(&u, h_strf("/evenements/%s", ev), &r) == 0);
	CHECK(strstr(r.body, "<strong>2</strong> inscrits · <strong>1</strong> présent") != NULL);
	CHECK(strstr(r.body, "Jade Roux") && strstr(r.body, "Léo Abel"));
	CHECK(strstr(r.body, "MJC &lt;du&gt; Puy &amp; Cie") != NULL);
	CHECK(strstr(r.body, "<h1>Regroupement d&#39;été</h1>") ||
	      strstr(r.body, "<h1>Regroupement d&#x27;été</h1>"));

	/* Presence noted, one removed; a form without the token is refused
	 * before any handler. */
	const char *leo = attendance_of(r.body, "Léo Abel");
	const char *jade = attendance_of(r.body, "Jade Roux");
	CHECK(leo && jade && strcmp(leo, jade));
	CHECK(h_uip_post(&u, h_strf("/evenements/%s/participants/%s", ev, leo), "presence=1", &r) == 0);
	CHECK_INT(r.status, 303);
	CHECK(h_uip_post(&u, h_strf("/evenements/%s/participants/%s/retirer", ev, jade), "", &r) == 0);
	CHECK_INT(r.status, 303);
	CHECK(h_uip_post(&u, h_strf("/evenements/%s/participants/%s/retirer", ev, jade), "", &r) == 0);
	CHECK_INT(r.status, 404);
	CHECK(h_uip_get(&u, h_strf("/evenements/%s", ev), &r) == 0);
	CHECK(strstr(r.body, "<strong>1</strong> inscrit · <strong>1</strong> présent") != NULL);
	const char *req = h_strf("POST /evenements/%s/participants/%s/retirer HTTP/1.1\r\n"
				 "Host: 127.0.0.1:%d\r\nConnection: close\r\nCookie: %s\r\n"
				 "Content-Type: application/x-www-form-urlencoded\r\n"
				 "Content-Length: 0\r\n\r\n", ev, leo, u.port, u.cookie);
	CHECK(h_http_raw(u.port, req, strlen(req), &r, H_TIMEOUT_MS) == 0);
	CHECK_INT(r.status, 403);
	CHECK(h_uip_close(&u) == 0);

	/* The replica holds what the pages showed, each write one captured
	 * edit: three of events, two registrations, a presence, a removal. */
	json_t *e = h_export(w.A);
	CHECK(e != NULL);
	CHECK_INT(h_export_count(e, "event"), 2);
	json_t *row = h_export_row(e, "event", ev);
	CHECK(row != NULL);
	CHECK_STR(h_row_str(row, "date"), "2099-03-13");
	CHECK_STR(h_row_str(row, "lieu"), "Brioude");
	CHECK_INT(h_export_count(e, "attendance"), 1);
	json_t *a = h_export_row(e, "attendance", leo);
	CHECK(a != NULL);
	CHECK_STR(h_row_str(a, "event"), ev);
	CHECK_STR(h_row_str(a, "promeneur"), other);
	CHECK_INT(json_integer_value(json_object_get(a, "presence_effective")), 1);
	CHECK_INT(status_pending(w.A), pending0 + 7);
	CHECK(h_sync(w.A, &w.d) == 0);
	CHECK_INT(status_pending(w.A), 0);
}

TEST(ui_pages_synthese)
{
	struct world w;
	struct h_uip u;
	struct h_http r;
	h_setup();
	CHECK(world_start(&w, 0) == 0);
	CHECK(h_relais_ok(w.A, "bilan", "add", "--structure", w.structure, "--annee", "2025",
			  "--jeunes-connectes", "1600", "--heures-en-ligne", "322", (char *)NULL));
	CHECK(h_relais_ok(w.A, "bilan", "add", "--structure", w.structure, "--annee", "2024",
			  "--jeunes-connectes", "1090", "--heures-en-ligne", "345", (char *)NULL));
	/* The indicators: every integer column of bilan but the year. */
	const struct model_table *t = model_table_by_name("bilan");
	size_t nind = 0;
	for (size_t i = 0; i < t->ncolumns; i++)
		if (t->columns[i].kind == MODEL_INT && strcmp(t->columns[i].name, "annee"))
			nind++;
	CHECK(nind > 2);
	CHECK(h_uip_open(w.A, &u) == 0);

	CHECK(h_uip_get(&u, "/synthese?annee=2025", &r) == 0);
	CHECK_INT(r.status, 200);
	CHECK(strstr(r.body, "<h1>Synthèse des bilans 2025</h1>") != NULL);
	CHECK_INT(count(r.body, "<svg"), nind);
	CHECK_INT(count(r.body, "<rect"), 2 * nind);
	CHECK(strstr(r.body, "<option value=\"2025\" selected>") != NULL);
	CHECK(strstr(r.body, "<option value=\"2024\"") != NULL);
	CHECK(strstr(r.body, "<label for=\"annee\"") != NULL);
	CHECK(strstr(r.body, "1\xc2\xa0" "600") && strstr(r.body, "+510 (+46,8\xc2\xa0%)"));
	CHECK(strstr(r.body, "MJC &lt;du&gt; Puy &amp; Cie") != NULL);
	CHECK(strstr(r.body, "<th scope=\"row\">Jeunes connectés</th>") != NULL);
	CHECK(strstr(r.body, "<div class=\"synthese\">") != NULL);
	/* The page carries no style attribute: only classes. */
	CHECK(strstr(r.body, " style=\"") == NULL);
	CHECK(strstr(r.body, "href=\"/synthese/page?annee=2025\"") != NULL);

	/* Another year from the selector; a bad one is said next to it. */
	CHECK(h_uip_get(&u, "/synthese?annee=2024", &r) == 0);
	CHECK_INT(r.status, 200);
	CHECK(strstr(r.body, "1\xc2\xa0" "090") != NULL);
	CHECK(h_uip_get(&u, "/synthese?annee=deux-mille", &r) == 0);
	CHECK_INT(r.status, 400);
	CHECK(strstr(r.body, "id=\"annee-erreur\"") != NULL);
	CHECK_INT(count(r.body, "<svg"), 0);
	CHECK(h_uip_get(&u, "/synthese?annee=1999", &r) == 0);
	CHECK_INT(r.status, 400);

	/* The standalone page is the CLI's document. */
	CHECK(h_uip_get(&u, "/synthese/page?annee=2025", &r) == 0);
	CHECK_INT(r.status, 200);
	CHECK(!strncmp(r.body, "<!DOCTYPE html>", 15));
	CHECK_INT(count(r.body, "<svg"), nind);
	CHECK(strstr(r.body, "synthèse des bilans 2025") != NULL);

	/* The workbook, as a download; its temporary file does not stay. */
	CHECK(h_uip_get(&u, "/synthese/classeur?annee=2025", &r) == 0);
	CHECK_INT(r.status, 200);
	const char *disp = h_http_header(&r, "Content-Disposition");
	CHECK(disp && strstr(disp, "filename=\"synthese-2025.xlsx\""));
	CHECK(r.bodylen > 1000 && !memcmp(r.body, "PK\x03\x04", 4));
	CHECK(memmem(r.body, r.bodylen, "xl/charts/chart1.xml", 20) != NULL);
	CHECK(h_uip_get(&u, "/synthese/classeur?annee=1999", &r) == 0);
	CHECK_INT(r.status, 400);
	CHECK(h_uip_close(&u) == 0);
	DIR *home = opendir(w.A);
	CHECK(home != NULL);
	int leftovers = 0;
	for (struct dirent *e; (e = readdir(home));)
		leftovers += !strncmp(e->d_name, ".synthese-", 10);
	closedir(home);
	CHECK_INT(leftovers, 0);
	const char *cli = h_relais_ok(w.A, "synthese", "--annee", "2025", "--format", "html",
				      (char *)NULL);
	CHECK(cli != NULL);
	CHECK_INT(count(cli, "<svg"), nind);
	CHECK(strstr(cli, "+510 (+46,8\xc2\xa0%)") != NULL);
}

/* ---- quarantined mail ---- */

TEST(ui_pages_courrier)
{
	struct world w;
	struct h_uip u;
	struct h_http r;
	h_setup();
	CHECK(world_start(&w, 1) == 0);
	CHECK(h_sync(w.A, &w.d) == 0);
	long long pending0 = status_pending(w.A);
	CHECK(h_uip_open(w.A, &u) == 0);

	/* Waiting first, newest first; the recorded one only on demand. */
	CHECK(h_uip_get(&u, "/courrier", &r) == 0);
	CHECK_INT(r.status, 200);
	const char *pnew = strstr(r.body, w.mail[MAIL_WAITING]);
	const char *pold = strstr(r.body, w.mail[MAIL_OLD]);
	CHECK(pnew && pold && pnew < pold);
	CHECK(strstr(r.body, w.mail[MAIL_RECORDED]) == NULL);
	CHECK(strstr(r.body, "Question &lt;b&gt;formation&lt;/b&gt;") != NULL);
	CHECK(strstr(r.body, "<b>formation") == NULL);
	CHECK(strstr(r.body, "<label for=\"etat\"") != NULL);
	CHECK(h_uip_get(&u, "/courrier?etat=enregistre", &r) == 0);
	CHECK_INT(r.status, 200);
	CHECK(strstr(r.body, w.mail[MAIL_RECORDED]) != NULL);
	CHECK(strstr(r.body, w.mail[MAIL_WAITING]) == NULL);
	CHECK(h_uip_get(&u, "/courrier?etat=tous", &r) == 0);
	CHECK_INT(count(r.body, "href=\"/courrier/"), 3);

	/* A message's page: sender, subject, reason, date, text without its
	 * control characters, and the two decisions. */
	CHECK(h_uip_get(&u, h_strf("/courrier/%s", w.mail[MAIL_WAITING]), &r) == 0);
	CHECK_INT(r.status, 200);
	CHECK(strstr(r.body, "MJC d&#39;Yssingeaux &lt;mjc.yssingeaux@example.org&gt;") != NULL);
	CHECK(strstr(r.body, "Le message n&#39;est ni une candidature ni un bilan.") != NULL);
	CHECK(strstr(r.body, "<time datetime=\"2026-11-21T10:00:00Z\">") != NULL);
	CHECK(strstr(r.body, "quand a lieu la prochaine formation ??[31m") != NULL);
	CHECK(strchr(r.body, '\x1b') == NULL);
	CHECK(strstr(r.body, "/rattacher\"") && strstr(r.body, "/classer\""));
	CHECK(strstr(r.body, "<label for=\"cible\"") != NULL);
	CHECK(strstr(r.body, h_strf("value=\"promeneur:%s\"", w.promeneur)) != NULL);
	CHECK(h_uip_get(&u, "/courrier/00000000-0000-4000-8000-000000000000", &r) == 0);
	CHECK_INT(r.status, 404);

	/* Attach: no choice, or a row that does not exist, is said on the form. */
	const char *attach = h_strf("/courrier/%s/rattacher", w.mail[MAIL_WAITING]);
	CHECK(h_uip_post(&u, attach, "cible=", &r) == 0);
	CHECK_INT(r.status, 422);
	CHECK(strstr(r.body, "aria-describedby=\"cible-erreur\"") != NULL);
	CHECK(h_uip_post(&u, attach, "cible=promeneur%3A00000000-0000-4000-8000-000000000000", &r) == 0);
	CHECK_INT(r.status, 422);
	CHECK(strstr(r.body, "introuvable") != NULL);
	CHECK(h_uip_post(&u, attach, h_strf("cible=promeneur%%3A%s", w.promeneur), &r) == 0);
	CHECK_INT(r.status, 303);
	CHECK_STR(h_http_header(&r, "Location"), h_strf("/courrier/%s", w.mail[MAIL_WAITING]));
	CHECK(h_uip_get(&u, h_strf("/courrier/%s", w.mail[MAIL_WAITING]), &r) == 0);
	CHECK(strstr(r.body, "Courrier rattaché") != NULL);
	CHECK(strstr(r.body, "le promeneur Jade Roux") != NULL);
	CHECK(strstr(r.body, "/classer\"") == NULL);
	/* Decided once: the second decision is refused, nothing changes. */
	CHECK(h_uip_post(&u, h_strf("/courrier/%s/classer", w.mail[MAIL_WAITING]), "", &r) == 0);
	CHECK_INT(r.status, 409);
	CHECK(strstr(r.body, "déjà été traité") != NULL);
	CHECK(h_uip_post(&u, h_strf("/courrier/%s/classer", w.mail[MAIL_RECORDED]), "", &r) == 0);
	CHECK_INT(r.status, 409);
	CHECK(strstr(r.body, "pas en quarantaine") != NULL);
	CHECK(h_uip_post(&u, h_strf("/courrier/%s/classer", w.mail[MAIL_OLD]), "", &r) == 0);
	CHECK_INT(r.status, 303);
	CHECK(h_uip_get(&u, "/courrier", &r) == 0);
	CHECK(strstr(r.body, "Aucun courrier en attente") != NULL);
	CHECK(h_uip_close(&u) == 0);

	/* The CLI reads the same decisions, queued as two edits that the
	 * server takes. */
	CHECK_INT(status_pending(w.A), pending0 + 2);
	const char *waiting = h_relais_ok(w.A, "courrier", "list", "--json", (char *)NULL);
	CHECK_STR(waiting, "[]");
	json_t *e = h_export(w.A);
	CHECK(e != NULL);
	json_t *m = h_export_row(e, "inbound_mail", w.mail[MAIL_WAITING]);
	CHECK_STR(h_row_str(m, "traitement"), "rattache");
	CHECK_STR(h_row_str(m, "rattache_a"), h_strf("promeneur:%s", w.promeneur));
	m = h_export_row(e, "inbound_mail", w.mail[MAIL_OLD]);
	CHECK_STR(h_row_str(m, "traitement"), "classe");
	CHECK(h_row_str(m, "rattache_a") == NULL);
	m = h_export_row(e, "inbound_mail", w.mail[MAIL_RECORDED]);
	CHECK(h_row_str(m, "traitement") == NULL);
	CHECK(h_sync(w.A, &w.d) == 0);
	CHECK_INT(status_pending(w.A), 0);
}

/* ---- conflicts ---- */

TEST(ui_pages_conflits)
{
	struct world w;
	struct h_uip u;
	struct h_http r;
	h_setup();
	CHECK(world_start(&w, 0) == 0);
	CHECK(h_sync(w.A, &w.d) == 0);
	const char *B = h_replica(&w.d, "B", w.token[1]);
	CHECK(B != NULL);
	/* A edits first, B later: B's value wins, A's is kept in a conflict. */
	CHECK(h_relais_ok(w.A, "promeneur", "set", w.promeneur, "--telephone", "0611111111",
			  (char *)NULL));
	nap(20);
	CHECK(h_relais_ok(B, "promeneur", "set", w.promeneur, "--telephone", "0622222222",
			  (char *)NULL));
	CHECK(h_sync(B, &w.d) == 0);
	CHECK(h_sync(w.A, &w.d) == 0);
	json_t *cs = h_conflicts(w.A, 0);
	CHECK(cs != NULL);
	CHECK_INT(json_array_size(cs), 1);
	const char *id = json_string_value(json_object_get(json_array_get(cs, 0), "id"));
	CHECK(id != NULL);
	CHECK(h_uip_open(w.A, &u) == 0);

	/* Mine (A's, the lost one) on the left, theirs on the right, with
	 * who and when, under the row's name linked to its page. */
	CHECK(h_uip_get(&u, "/conflits", &r) == 0);
	CHECK_INT(r.status, 200);
	CHECK(strstr(r.body, h_strf("href=\"/promeneurs/%s\">Jade Roux</a>", w.promeneur)) != NULL);
	CHECK(strstr(r.body, "Téléphone") != NULL);
	const char *mine = strstr(r.body, "0611111111"), *theirs = strstr(r.body, "0622222222");
	CHECK(mine && theirs && mine < theirs);
	const char *hm = strstr(r.body, "Votre valeur"), *ht = strstr(r.body, "L&#39;autre valeur");
	CHECK(hm && ht && hm < ht);
	const char *la = strstr(r.body, "coord-a"), *lb = strstr(r.body, "coord-b");
	CHECK(la && lb && la < lb);
	CHECK_INT(count(r.body, "<time datetime=\""), 2);
	CHECK(strstr(r.body, "<th scope=\"row\">Quand</th>") != NULL);
	CHECK(strstr(r.body, h_strf("action=\"/conflits/%s\"", id)) != NULL);
	CHECK(strstr(r.body, "name=\"garder\" value=\"mine\"") != NULL);

	/* A bad choice changes nothing; keeping mine is the CLI's --garder mien. */
	CHECK(h_uip_post(&u, h_strf("/conflits/%s", id), "garder=les-deux", &r) == 0);
	CHECK_INT(r.status, 400);
	CHECK(h_uip_post(&u, "/conflits/inconnu", "garder=mine", &r) == 0);
	CHECK_INT(r.status, 404);
	CHECK(h_uip_post(&u, h_strf("/conflits/%s", id), "garder=mine", &r) == 0);
	CHECK_INT(r.status, 303);
	CHECK(h_uip_get(&u, "/conflits", &r) == 0);
	CHECK(strstr(r.body, "la valeur écartée est rétablie") != NULL);
	CHECK(strstr(r.body, "Aucun conflit ouvert") != NULL);
	CHECK(h_uip_post(&u, h_strf("/conflits/%s", id), "garder=theirs", &r) == 0);
	CHECK_INT(r.status, 303);
	CHECK(h_uip_get(&u, "/conflits?tous=1", &r) == 0);
	CHECK(strstr(r.body, "déjà résolu") != NULL);
	CHECK(strstr(r.body, "la valeur écartée a été rétablie") != NULL);
	CHECK(h_uip_close(&u) == 0);

	json_t *all = h_conflicts(w.A, 1);
	CHECK(all != NULL);
	CHECK_STR(json_string_value(json_object_get(json_array_get(all, 0), "resolution")),
		  "perdant");
	json_t *e = h_export(w.A);
	CHECK_STR(h_row_str(h_export_row(e, "promeneur", w.promeneur), "telephone"), "0611111111");
	/* The decision syncs like any edit: B ends with A's value. */
	CHECK(h_sync(w.A, &w.d) == 0);
	CHECK(h_sync(B, &w.d) == 0);
	e = h_export(B);
	CHECK_STR(h_row_str(h_export_row(e, "promeneur", w.promeneur), "telephone"), "0611111111");
}
