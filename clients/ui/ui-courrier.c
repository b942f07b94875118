/*
 * ui-courrier.c - the /courrier pages of relais ui: the gateway's journal
 * (messages waiting in quarantine first, other outcomes on demand), one
 * message's page, and the two decisions of "relais courrier": rattacher and
 * classer, taken through courrier_decide(), the CLI's code path.
 *
 * Everything shown comes from a mail someone sent: escaped, and control
 * characters replaced, before it reaches the page.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../replica/courrier.h"
#include "ui-html.h"
#include "ui.h"

#define ID_MAX 64            /* longer identifiers name nothing */
#define TARGETS_MAX 2000     /* rows offered per table by the attach form */
#define CIBLE "cible"        /* the attach form's field */

/* The journal filters: value of ?etat=, French label, SQL condition. */
static const struct {
	const char *value, *label, *where;
} filters[] = {
	{ "attente", "En attente d'une décision", COURRIER_WAITING_SQL },
	{ "quarantaine", "En quarantaine (traités ou non)", "resultat = 'quarantaine'" },
	{ "enregistre", "Enregistrés", "resultat = 'enregistre'" },
	{ "rejete", "Rejetés", "resultat = 'rejete'" },
	{ "ignore", "Ignorés", "resultat = 'ignore'" },
	{ "en_cours", "En cours de traitement", "resultat = 'en_cours'" },
	{ "tous", "Tout le journal", "1" },
};
#define NFILTERS (sizeof(filters) / sizeof(filters[0]))

/* Tables a message may be attached to from the page, with how a row reads. */
static const struct {
	const char *command, *group, *sql;
} targets[] = {
	{ "promeneur", "Promeneurs",
	  "SELECT id, prenom || ' ' || nom FROM promeneur ORDER BY nom, prenom, id" },
	{ "structure", "Structures", "SELECT id, nom || ' (' || commune || ')' FROM structure "
	  "ORDER BY nom, id" },
	{ "candidature", "Candidatures", "SELECT c.id, 'Candidature de ' || coalesce((SELECT "
	  "p.prenom || ' ' || p.nom FROM promeneur p WHERE p.id = c.promeneur), '?') FROM "
	  "candidature c ORDER BY 2, c.id" },
	{ "evenement", "Événements", "SELECT id, date || ' – ' || titre FROM event "
	  "ORDER BY date DESC, id" },
};

/* Appends s escaped, with control characters but line breaks and tabs as '?'. */
static int esc_clean(struct buf *b, const char *s)
{
	char *t = strdup(s ? s : "");
	if (!t)
		return RELAIS_ENOMEM;
	for (char *p = t; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if ((ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f)
			*p = ch == '\r' ? ' ' : '?';
	}
	buf_puts_html(b, t);
	free(t);
	return buf_error(b);
}

/* recu_le (ISO 8601 UTC, "2026-11-21T10:00:00Z") in local time for people. */
static int date_html(struct buf *b, const char *iso)
{
	struct tm tm;
	char local[64];
	memset(&tm, 0, sizeof(tm));
	const char *end = iso ? strptime(iso, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	if (!end) {
		html_date_fr(iso ? iso : "", local, sizeof(local));
		return buf_puts_html(b, local);
	}
	time_t t = timegm(&tm);
	if (!localtime_r(&t, &tm) || !strftime(local, sizeof(local), "%d/%m/%Y à %H:%M", &tm))
		return buf_puts_html(b, iso);
	buf_puts(b, "<time datetime=\"");
	buf_puts_html(b, iso);
	buf_printf(b, "\">%s</time>", local);
	return buf_error(b);
}

static int filter_index(const char *v)
{
	for (size_t i = 0; v && i < NFILTERS; i++)
		if (!strcmp(filters[i].value, v))
			return (int)i;
	return 0;
}

static int filter_form(struct ui_ctx *c, int fi)
{
	const char *values[NFILTERS + 1], *labels[NFILTERS + 1];
	for (size_t i = 0; i < NFILTERS; i++) {
		values[i] = filters[i].value;
		labels[i] = filters[i].label;
	}
	values[NFILTERS] = labels[NFILTERS] = NULL;
	struct html_field f = {
		.name = "etat", .label = "Afficher", .type = HTML_SELECT,
		.value = filters[fi].value, .required = 1, .options = values,
		.option_labels = labels,
	};
	buf_puts(c->out, "<form method=\"get\" action=\"/courrier\" class=\"filtres\">");
	html_field(c->out, &f);
	buf_puts(c->out, "<button type=\"submit\">Filtrer</button></form>\n");
	return buf_error(c->out);
}

static int page_list(struct ui_ctx *c)
{
	static const char *const heads[] = { "Objet", "Date", "Expéditeur", "Résultat",
					     "Suite donnée", NULL };
	int fi = filter_index(ui_query(c, "etat"));
	struct buf sql = BUF_INIT(1024);
	sqlite3_stmt *st = NULL;
	int rc = 0, s, n = 0;

	ui_page_begin(c, "Courrier reçu", "courrier");
	buf_puts(c->out, "<p>Le journal des courriels reçus par la boîte du réseau, "
		 "tenu par le serveur. Un message que la passerelle n'a pas su traiter "
		 "reste en quarantaine jusqu'à ce que vous décidiez de sa suite.</p>\n");
	filter_form(c, fi);
	buf_printf(&sql, "SELECT id, sujet, recu_le, expediteur, resultat, traitement "
		   "FROM " COURRIER_TABLE " WHERE %s ORDER BY recu_le DESC, id",
		   filters[fi].where);
	if ((rc = buf_error(&sql)))
		goto out;
	if (sqlite3_prepare_v2(c->db, buf_str(&sql), -1, &st, NULL) != SQLITE_OK) {
		rc = RELAIS_EDB;
		goto out;
	}
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if (!n++)
			html_table_begin(c->out, filters[fi].label, heads);
		struct buf href = BUF_INIT(256);
		const char *subject = ui_col_text(st, 1);
		const char *handling = sqlite3_column_type(st, 5) == SQLITE_NULL ? ""
				       : courrier_shown_value(ui_col_text(st, 5));
		buf_puts(&href, "/courrier/");
		html_url(&href, ui_col_text(st, 0));
		/* A link that does not fit fails the page rather than being cut. */
		buf_fail(c->out, buf_error(&href));
		buf_puts(c->out, "<tr><th scope=\"row\"><a href=\"");
		buf_puts_html(c->out, buf_str(&href));
		buf_puts(c->out, "\">");
		esc_clean(c->out, subject[0] ? subject : "(sans objet)");
		buf_puts(c->out, "</a></th><td>");
		date_html(c->out, ui_col_text(st, 2));
		buf_puts(c->out, "</td><td>");
		esc_clean(c->out, ui_col_text(st, 3));
		buf_puts(c->out, "</td>");
		html_cell(c->out, courrier_shown_value(ui_col_text(st, 4)));
		html_cell(c->out, handling);
		buf_puts(c->out, "</tr>\n");
		buf_release(&href);
	}
	if (s != SQLITE_DONE) {
		rc = RELAIS_EDB;
		goto out;
	}
	if (n)
		html_table_end(c->out);
	else
		buf_printf(c->out, "<p class=\"vide\">%s</p>\n", fi == 0
			   ? "Aucun courrier en attente : rien à décider."
			   : "Aucun courrier dans cette catégorie.");
	ui_page_end(c);
out:
	sqlite3_finalize(st);
	buf_release(&sql);
	return rc;
}

/* The attach form's select, grouped by table; value "command:id". */
static int target_select(struct ui_ctx *c, const char *chosen, const char *error)
{
	struct buf *b = c->out;
	buf_printf(b, "<div class=\"champ\"><label for=\"" CIBLE "\">Rattacher à</label>"
		   "<select id=\"" CIBLE "\" name=\"" CIBLE "\" required%s>"
		   "<option value=\"\">— choisir —</option>",
		   error ? " aria-invalid=\"true\" aria-describedby=\"" CIBLE "-erreur\"" : "");
	for (size_t k = 0; k < sizeof(targets) / sizeof(targets[0]); k++) {
		sqlite3_stmt *st = NULL;
		int s, n = 0;
		if (sqlite3_prepare_v2(c->db, targets[k].sql, -1, &st, NULL) != SQLITE_OK)
			return RELAIS_EDB;
		buf_puts(b, "<optgroup label=\"");
		buf_puts_html(b, targets[k].group);
		buf_puts(b, "\">");
		while (n < TARGETS_MAX && (s = sqlite3_step(st)) == SQLITE_ROW) {
			char value[ID_MAX * 2];
			snprintf(value, sizeof(value), "%s:%s", targets[k].command, ui_col_text(st, 0));
			buf_puts(b, "<option value=\"");
			buf_puts_html(b, value);
			if (chosen && !strcmp(chosen, value))
				buf_puts(b, "\" selected=\"selected");
			buf_puts(b, "\">");
			buf_puts_html(b, ui_col_text(st, 1));
			buf_puts(b, "</option>");
			n++;
		}
		sqlite3_finalize(st);
		buf_puts(b, "</optgroup>");
	}
	buf_puts(b, "</select>");
	if (error) {
		buf_puts(b, "<p class=\"erreur\" id=\"" CIBLE "-erreur\">");
		buf_puts_html(b, error);
		buf_puts(b, "</p>");
	}
	buf_puts(b, "</div>");
	return buf_error(b);
}

/* The two decisions, for a message still waiting. */
static int decision_forms(struct ui_ctx *c, const char *id, const char *chosen,
			  const char *error)
{
	struct buf *b = c->out;
	buf_puts(b, "<h2>Décider de la suite</h2>\n<form method=\"post\" action=\"/courrier/");
	html_url(b, id);
	buf_puts(b, "/rattacher\" class=\"decision\" novalidate>");
	ui_csrf_input(c);
	buf_puts(b, "<p>Le message concerne une fiche du réplica : rattachez-le.</p>");
	target_select(c, chosen, error);
	buf_puts(b, "<button type=\"submit\">Rattacher</button></form>\n"
		 "<form method=\"post\" action=\"/courrier/");
	html_url(b, id);
	buf_puts(b, "/classer\" class=\"decision\">");
	ui_csrf_input(c);
	buf_puts(b, "<p>Le message n'appelle aucune suite : classez-le.</p>"
		 "<button type=\"submit\">Classer sans suite</button></form>\n");
	return buf_error(b);
}

/* One "label : value" line of the message's description list. */
static int fact(struct buf *b, const char *label, const char *value, int pre)
{
	html_tag(b, "dt", label);
	buf_puts(b, pre ? "<dd class=\"multiligne\">" : "<dd>");
	esc_clean(b, value && value[0] ? value : "—");
	buf_puts(b, "</dd>\n");
	return buf_error(b);
}

enum { M_ID, M_FROM, M_NAME, M_SUBJECT, M_DATE, M_RESULT, M_TYPE, M_RECORDS, M_PROBLEMS,
       M_REASON, M_TEXT, M_REPLY, M_REPLY_WHY, M_HANDLING, M_ATTACHED };

/*
 * The message's page. status is the HTTP status (422 or 409 when a
 * decision was refused, with error tied to the form); chosen is the target
 * to show selected again.
 */
static int message_page(struct ui_ctx *c, const char *id, int status, const char *chosen,
			const char *error)
{
	sqlite3_stmt *st = NULL;
	struct buf *b = c->out;
	char *attached = NULL;
	int rc = 0;

	if (sqlite3_prepare_v2(c->db, "SELECT id, expediteur, nom_expediteur, sujet, recu_le, "
			       "resultat, type, enregistrements, problemes, raison, texte, reponse, "
			       "reponse_motif, traitement, rattache_a, " COURRIER_WAITING_SQL " FROM "
			       COURRIER_TABLE " WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
		return RELAIS_EDB;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	if (s != SQLITE_ROW) {
		rc = s == SQLITE_DONE ? RELAIS_ENOTFOUND : RELAIS_EDB;
		goto out;
	}
	int waiting = sqlite3_column_int(st, M_ATTACHED + 1);
	const char *subject = ui_col_text(st, M_SUBJECT);
	ui_page_begin(c, subject[0] ? subject : "(sans objet)", "courrier");
	if (status)
		ui_status(c, status);
	buf_puts(b, "<p><a href=\"/courrier\">Retour au courrier</a></p>\n<dl class=\"fiche\">\n");
	{
		struct buf from = BUF_INIT(4096);
		const char *name = ui_col_text(st, M_NAME), *addr = ui_col_text(st, M_FROM);
		if (name[0])
			buf_printf(&from, "%s <%s>", name, addr);
		else
			buf_puts(&from, addr);
		buf_fail(b, buf_error(&from));
		fact(b, "Expéditeur", buf_str(&from), 0);
		buf_release(&from);
	}
	fact(b, "Objet", subject, 0);
	buf_puts(b, "<dt>Reçu le</dt><dd>");
	date_html(b, ui_col_text(st, M_DATE));
	buf_puts(b, "</dd>\n");
	fact(b, "Résultat", courrier_shown_value(ui_col_text(st, M_RESULT)), 0);
	fact(b, "Type", courrier_shown_value(ui_col_text(st, M_TYPE)), 0);
	fact(b, "Raison", ui_col_text(st, M_REASON), 0);
	if (sqlite3_column_type(st, M_PROBLEMS) != SQLITE_NULL)
		fact(b, "Problèmes", ui_col_text(st, M_PROBLEMS), 1);
	if (sqlite3_column_type(st, M_RECORDS) != SQLITE_NULL)
		fact(b, "Enregistrements", ui_col_text(st, M_RECORDS), 1);
	fact(b, "Réponse", courrier_shown_value(ui_col_text(st, M_REPLY)), 0);
	/* Why no answer went: a rule, or the SMTP server's refusal. */
	if (sqlite3_column_type(st, M_REPLY_WHY) != SQLITE_NULL)
		fact(b, "Motif de l'absence de réponse", ui_col_text(st, M_REPLY_WHY), 0);
	fact(b, "Suite donnée", sqlite3_column_type(st, M_HANDLING) == SQLITE_NULL
	     ? "aucune pour l'instant" : courrier_shown_value(ui_col_text(st, M_HANDLING)), 0);
	if (sqlite3_column_type(st, M_ATTACHED) != SQLITE_NULL) {
		if (!(attached = courrier_attached_display(c->db, ui_col_text(st, M_ATTACHED)))) {
			rc = RELAIS_ENOMEM;
			goto out;
		}
		fact(b, "Rattaché à", attached, 0);
	}
	buf_puts(b, "</dl>\n<h2>Texte du message</h2>\n<pre class=\"courriel\">");
	esc_clean(b, sqlite3_column_type(st, M_TEXT) == SQLITE_NULL ? "(vide)"
		  : ui_col_text(st, M_TEXT));
	buf_puts(b, "</pre>\n");
	if (waiting && !c->read_only)
		decision_forms(c, ui_col_text(st, M_ID), chosen, error);
	else if (error) {
		buf_puts(b, "<p class=\"erreur\" role=\"alert\">");
		buf_puts_html(b, error);
		buf_puts(b, "</p>\n");
	}
	rc = ui_documents_of_mail(c, id);
	ui_page_end(c);
out:
	free(attached);
	sqlite3_finalize(st);
	return rc;
}

static int page_message(struct ui_ctx *c)
{
	const char *id = ui_param(c, "id");
	if (!id || strlen(id) > ID_MAX)
		return RELAIS_ENOTFOUND;
	return message_page(c, id, 0, NULL, NULL);
}

static int message_exists(sqlite3 *db, const char *id, int *found)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM " COURRIER_TABLE " WHERE id = ?", -1, &st,
			       NULL) != SQLITE_OK)
		return RELAIS_EDB;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	sqlite3_finalize(st);
	*found = s == SQLITE_ROW;
	return s == SQLITE_ROW || s == SQLITE_DONE ? 0 : RELAIS_EDB;
}

/* Both decisions: target NULL files the message. */
static int decide(struct ui_ctx *c, const char *target)
{
	const char *id = ui_param(c, "id");
	char attached[128], err[512];
	if (!id || strlen(id) > ID_MAX)
		return RELAIS_ENOTFOUND;
	if (c->read_only)
		return RELAIS_EPERM;
	int found = 0, e = message_exists(c->db, id, &found);
	if (e)
		return e;
	if (!found)
		return RELAIS_ENOTFOUND;
	e = courrier_decide(c->replica, id, target, attached, sizeof(attached), err,
				sizeof(err));
	if (!e) {
		char url[ID_MAX + 16];
		snprintf(url, sizeof(url), "/courrier/%s", id);
		return ui_redirect(c, url, target ? "Courrier rattaché ; la décision sera envoyée au "
				   "serveur à la prochaine synchronisation."
				   : "Courrier classé ; la décision sera envoyée au serveur à la "
				   "prochaine synchronisation.");
	}
	if (e == RELAIS_ENOMEM || e == RELAIS_EDB)
		return e;
	/* The message exists: a refusal is about its state (already handled,
	 * not in quarantine: 409) or about the chosen row (422). */
	return message_page(c, id, e == RELAIS_EPERM || e == RELAIS_EEXIST ? 409 : 422, target,
			    err);
}

static int page_attach(struct ui_ctx *c)
{
	const char *target = ui_form(c, CIBLE);
	if (!target || !target[0]) {
		const char *id = ui_param(c, "id");
		if (!id || strlen(id) > ID_MAX)
			return RELAIS_ENOTFOUND;
		return message_page(c, id, 422, NULL, "Choisissez la fiche à laquelle rattacher "
				    "le message.");
	}
	return decide(c, target);
}

static int page_file(struct ui_ctx *c)
{
	return decide(c, NULL);
}

void ui_courrier_routes(struct ui *u)
{
	ui_route(u, "GET", "/courrier", page_list);
	ui_route(u, "GET", "/courrier/{id}", page_message);
	ui_route(u, "POST", "/courrier/{id}/rattacher", page_attach);
	ui_route(u, "POST", "/courrier/{id}/classer", page_file);
}
