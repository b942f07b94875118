/*
 * ui-accueil.c - the home page of relais ui (what needs doing, the sync
 * state) and the sync button.
 *
 * The button posts to /synchroniser, which starts "relais sync" in a child
 * (ui_sync_start). With JavaScript, relais.js posts it in the background and
 * polls /synchronisation/etat (JSON), writing the progress into an
 * aria-live region; without, the post is answered by a redirect to
 * /synchronisation, a page that reloads itself until the sync is over.
 * Both of those work while the replica is closed for the sync.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../../sync/sync.h"
#include "../replica/followup.h"
#include "ui-html.h"
#include "../replica/refus.h"
#include "ui.h"

static const char *state_word(enum ui_sync_state s)
{
	switch (s) {
	case UI_SYNC_IDLE: return "aucune";
	case UI_SYNC_RUNNING: return "en_cours";
	case UI_SYNC_DONE: return "terminee";
	case UI_SYNC_FAILED: return "echec";
	}
	return "aucune";
}

/* The text of the sync's live region. */
static const char *state_text(struct ui *u)
{
	const char *msg;
	enum ui_sync_state s = ui_sync_state(u, &msg);
	if (s == UI_SYNC_RUNNING)
		return "Synchronisation en cours…";
	return msg;
}

/* The page of a row named by the first member of a suivi item. */
static const char *item_href(const char *key, const char *id, char *out, size_t outlen)
{
	static const struct {
		const char *key, *prefix, *suffix;
	} pages[] = {
		{ "structure", "/structures/", "" },
		{ "promeneur", "/promeneurs/", "" },
		{ "candidature", "/fiches/candidature/", "" },
		{ "courrier", "/courrier/", "" },
		{ "demande", "/fiches/request/", "" },
	};
	if (!strcmp(key, "conflit"))
		return "/conflits";
	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		if (strcmp(key, pages[i].key) || !util_is_uuid(id))
			continue;
		snprintf(out, outlen, "%s%s%s", pages[i].prefix, id, pages[i].suffix);
		return out;
	}
	return NULL;
}

static const struct {
	const char *key, *title;
} suivi_titles[] = {
	{ "bilans_manquants", "Structures sans bilan pour l'année précédente" },
	{ "formation", "Promeneurs sans formation initiale ou aux règles du profil non vérifiées" },
	{ "conventions", "Conventions Caf terminées ou se terminant dans les 60 jours" },
	{ "chartes", "Signatures de charte manquantes" },
	{ "candidatures", "Candidatures en attente de décision" },
	{ "procedures", "Procédures en cours" },
	{ "bilans_individuels", "Bilans individuels à faire (aucun depuis un an)" },
	{ "objectifs", "Objectifs de l'année non tenus" },
	{ "courriers", "Courriels en quarantaine à traiter" },
	{ "conflits", "Conflits de synchronisation à trancher" },
};

/* A line of « relais suivi » as the page says it: dates in French words,
 * without the command in parentheses that the terminal shows (the line's
 * link leads to the screen that does it). */
static void suivi_line(const char *raw, char *out, size_t outlen)
{
	char cut[1024];
	const char *cmd = strstr(raw, " (relais ");
	size_t n = cmd && strchr(cmd, ')') ? (size_t)(cmd - raw) : strlen(raw);
	snprintf(cut, sizeof(cut), "%.*s%s", (int)(n < sizeof(cut) ? n : sizeof(cut) - 1), raw,
		 cmd && strchr(cmd, ')') ? strchr(cmd, ')') + 1 : "");
	util_dates_fr(cut, out, outlen);
}

static int suivi_section(struct ui_ctx *c, const char *title, json_t *arr)
{
	struct buf *b = c->out;
	size_t i;
	json_t *row;
	buf_puts(b, "<section class=\"rubrique\">\n<h3>");
	buf_puts_html(b, title);
	buf_printf(b, " <span class=\"compte\">(%zu)</span></h3>\n<ul>\n",
		   json_array_size(arr));
	json_array_foreach(arr, i, row) {
		/* The first member names the row the item is about. */
		void *it = json_object_iter(row);
		const char *key = it ? json_object_iter_key(it) : NULL;
		const char *id = key ? json_string_value(json_object_iter_value(it)) : NULL;
		const char *raw = json_string_value(json_object_get(row, "libelle"));
		const char *who = json_string_value(json_object_get(row, "promeneur"));
		char href[128], line[1024];
		const char *h = key && id ? item_href(key, id, href, sizeof(href)) : NULL;
		if (!h && who)
			h = item_href("promeneur", who, href, sizeof(href));
		suivi_line(raw ? raw : "?", line, sizeof(line));
		buf_puts(b, "<li>");
		html_link(b, h, line);
		buf_puts(b, "</li>\n");
	}
	buf_puts(b, "</ul>\n</section>\n");
	return buf_error(b);
}

static int suivi_block(struct ui_ctx *c)
{
	json_t *s = NULL;
	size_t total = 0;
	int rc = 0;
	buf_puts(c->out, "<section aria-labelledby=\"titre-suivi\">\n"
		     "<h2 id=\"titre-suivi\">À faire</h2>\n");
	if ((rc = followup_suivi(c->db, NULL, &s)))
		return rc;
	/* The working queues first: requests and tasks, with their own pages. */
	rc = ui_demandes_home(c);
	if (!rc)
		rc = ui_tasks_home(c);
	if (!rc)
		rc = ui_national_home(c);
	if (rc) {
		json_decref(s);
		return rc;
	}
	for (size_t k = 0; k < sizeof(suivi_titles) / sizeof(suivi_titles[0]); k++)
		total += json_array_size(json_object_get(s, suivi_titles[k].key));
	if (!total)
		html_tag(c->out, "p", "Rien d'autre à signaler : le reste est à jour.");
	for (size_t k = 0; k < sizeof(suivi_titles) / sizeof(suivi_titles[0]); k++) {
		json_t *arr = json_object_get(s, suivi_titles[k].key);
		if (json_array_size(arr))
			suivi_section(c, suivi_titles[k].title, arr);
	}
	buf_puts(c->out, "</section>\n");
	json_decref(s);
	return rc;
}

/* "2026-11-23T13:36:23Z" as "23/11/2026 à 14:36" in local time; the text
 * itself when it is not such a time. */
static int sync_block(struct ui_ctx *c)
{
	uint64_t pending = 0;
	char *last = NULL, *server = NULL;
	struct buf *b = c->out;
	const char *msg;
	char when[64];
	enum ui_sync_state st = ui_sync_state(c->ui, &msg);
	int rc = sync_outbox_pending(c->db, &pending);
	if (!rc)
		rc = replica_meta(c->replica, "last_sync", &last);
	if (!rc)
		rc = replica_meta(c->replica, "server", &server);
	if (rc)
		goto out;
	buf_puts(b, "<section aria-labelledby=\"titre-sync\" class=\"sync\">\n"
		 "<h2 id=\"titre-sync\">Synchronisation</h2>\n<dl class=\"etat\">\n"
		 "<dt>Modifications en attente d'envoi</dt><dd id=\"attente\">");
	buf_printf(b, "%llu</dd>\n<dt>Dernière synchronisation</dt><dd>",
		   (unsigned long long)pending);
	if (last) {
		buf_printf(b, "<time datetime=\"");
		buf_puts_html(b, last);
		buf_puts(b, "\">");
		buf_puts_html(b, util_local_time_fr(last, when, sizeof(when)));
		buf_puts(b, "</time>");
	} else {
		buf_puts(b, "jamais depuis ce poste");
	}
	buf_puts(b, "</dd>\n<dt>Serveur</dt><dd>");
	buf_puts_html(b, server ? server : "inconnu");
	buf_puts(b, "</dd>\n</dl>\n");
	if (!c->read_only && pending)
		html_tag(b, "p", "Les modifications faites ici restent sur ce poste jusqu'à la "
			 "prochaine synchronisation.");
	uint64_t refused = refus_count(c->replica);
	if (refused)
		buf_printf(b, "<p class=\"alerte\" id=\"refus\">%llu modification%s refusée%s par "
			   "le serveur et mise%s de côté, avec la raison du refus : voir « relais "
			   "refus » dans un terminal.</p>\n", (unsigned long long)refused,
			   refused > 1 ? "s" : "", refused > 1 ? "s" : "", refused > 1 ? "s" : "");
	char warn[512];
	if (refus_clock_warning(c->replica, warn, sizeof(warn))) {
		buf_puts(b, "<p class=\"alerte\" id=\"horloge\">");
		buf_puts_html(b, warn);
		buf_puts(b, "</p>\n");
	}
	buf_puts(b, "<form method=\"post\" action=\"/synchroniser\" id=\"form-sync\">\n");
	ui_csrf_input(c);
	buf_puts(b, "<button type=\"submit\" class=\"principal\">Synchroniser</button>\n"
		 "</form>\n");
	buf_printf(b, "<p id=\"etat-sync\" class=\"etat-sync %s\" role=\"status\" "
		   "aria-live=\"polite\">", state_word(st));
	buf_puts_html(b, state_text(c->ui));
	buf_puts(b, "</p>\n</section>\n");
out:
	free(last);
	free(server);
	return rc;
}

static int page_accueil(struct ui_ctx *c)
{
	int rc = 0;
	ui_page_begin(c, "Accueil", "accueil");
	if (c->login[0]) {
		buf_puts(c->out, "<p class=\"compte\">Compte ");
		buf_puts_html(c->out, c->login);
		buf_puts(c->out, ", département ");
		buf_puts_html(c->out, c->dept);
		buf_puts(c->out, c->read_only ? " (consultation seulement).</p>\n" : ".</p>\n");
	}
	rc = sync_block(c);
	if (rc)
		return rc;
	rc = suivi_block(c);
	if (rc)
		return rc;
	ui_page_end(c);
	return rc;
}

static int page_synchroniser(struct ui_ctx *c)
{
	int rc = ui_sync_start(c->ui);
	int js = ui_form(c, "js") != NULL;
	if (rc && rc != RELAIS_EBUSY)
		return rc;
	if (js) {
		json_t *v = json_pack("{s:s, s:s}", "etat", state_word(ui_sync_state(c->ui, NULL)),
				      "message", state_text(c->ui));
		return ui_json(c, rc == RELAIS_EBUSY ? 409 : 202, v);
	}
	return ui_redirect(c, "/synchronisation", NULL);
}

static int page_etat(struct ui_ctx *c)
{
	json_t *v = json_pack("{s:s, s:s}", "etat", state_word(ui_sync_state(c->ui, NULL)),
			      "message", state_text(c->ui));
	return ui_json(c, 200, v);
}

/* The page without JavaScript: it reloads itself while the sync runs. */
static int page_synchronisation(struct ui_ctx *c)
{
	enum ui_sync_state st = ui_sync_state(c->ui, NULL);
	if (st == UI_SYNC_RUNNING)
		ui_refresh(c, 2);
	ui_page_begin(c, "Synchronisation", "accueil");
	if (st == UI_SYNC_RUNNING)
		buf_puts(c->out, "<noscript><p>Cette page se recharge toute seule.</p></noscript>\n"
			 "<p><a href=\"/synchronisation\">Actualiser</a></p>\n");
	buf_printf(c->out, "<p id=\"etat-sync\" class=\"etat-sync %s\" role=\"status\" "
		   "aria-live=\"polite\" data-suivre=\"%d\">", state_word(st),
		   st == UI_SYNC_RUNNING);
	buf_puts_html(c->out, st == UI_SYNC_IDLE ? "Aucune synchronisation depuis l'ouverture."
		 : state_text(c->ui));
	buf_puts(c->out, "</p>\n<p><a href=\"/\">Retour à l'accueil</a></p>\n");
	ui_page_end(c);
	return buf_error(c->out);
}

void ui_accueil_routes(struct ui *u)
{
	ui_route(u, "GET", "/", page_accueil);
	ui_route_nodb(u, "POST", "/synchroniser", page_synchroniser);
	ui_route_nodb(u, "GET", "/synchronisation/etat", page_etat);
	ui_route_nodb(u, "GET", "/synchronisation", page_synchronisation);
}
