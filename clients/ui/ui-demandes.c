/*
 * ui-demandes.c - the requests as a working queue in relais ui: /demandes
 * lists the open ones, oldest first (?toutes=1: every request), each with
 * who asked (a promeneur, a structure or a partner's contact), its subject
 * and its date, and a form referring it to a resource person; the home
 * page shows the same queue, shorter.
 *
 * The referral is a plain write of request.ressource through the domain
 * layer (domain_write, which dates it), one captured local edit; the
 * request itself is created and answered with the generic form
 * (/fiches/request/...).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ui-html.h"
#include "ui.h"

#define FIELD_RESSOURCE "ressource"
#define HOME_MAX 20            /* requests shown on the home page */
#define RESOURCES_MAX 2000     /* resource persons offered by a form */

/* Columns: id, date_demande, sujet, question's start, the requester's page
 * and name and kind, the resource's id and title, date_orientation,
 * statut. */
#define QUEUE_SQL \
	"SELECT r.id, r.date_demande, r.sujet, replace(substr(r.question, 1, 120), char(10), ' '), " \
	"CASE WHEN p.id IS NOT NULL THEN '/promeneurs/' || p.id " \
	"WHEN s.id IS NOT NULL THEN '/structures/' || s.id " \
	"WHEN k.id IS NOT NULL THEN '/fiches/contact/' || k.id END, " \
	"coalesce(p.prenom || ' ' || p.nom, s.nom, coalesce(k.prenom || ' ', '') || k.nom || " \
	"coalesce(' (' || pa.nom || ')', '')), " \
	"CASE WHEN p.id IS NOT NULL THEN 'promeneur' WHEN s.id IS NOT NULL THEN 'structure' " \
	"WHEN k.id IS NOT NULL THEN 'partenaire' END, " \
	"x.id, x.nom || coalesce(' (' || x.organisme || ')', ''), r.date_orientation, " \
	"coalesce(r.statut, 'ouverte') " \
	"FROM request r LEFT JOIN promeneur p ON p.id = r.promeneur " \
	"LEFT JOIN structure s ON s.id = r.structure LEFT JOIN contact k ON k.id = r.contact " \
	"LEFT JOIN partenaire pa ON pa.id = k.partenaire LEFT JOIN resource x ON x.id = r.ressource "

enum { Q_ID, Q_DATE, Q_SUJET, Q_QUESTION, Q_WHO_HREF, Q_WHO, Q_KIND, Q_RES_ID, Q_RES, Q_ORIENT,
       Q_STATUT };

/* The requester: a link to their page, and what they are. */
static int requester(struct buf *b, sqlite3_stmt *st)
{
	if (sqlite3_column_type(st, Q_WHO_HREF) == SQLITE_NULL)
		return buf_puts(b, "<span class=\"vide\">non renseigné</span>");
	html_link(b, ui_col_text(st, Q_WHO_HREF), ui_col_text(st, Q_WHO));
	buf_puts(b, " <span class=\"nature\">(");
	buf_puts_html(b, ui_value_label(ui_col_text(st, Q_KIND)));
	return buf_puts(b, ")</span>");
}

/* The resource persons, once per page: ids and titles. */
/* The resource persons a request may be referred to, by name. */
static int resources_load(struct ui_ctx *c, struct ui_options *r)
{
	return ui_options_select(r, c->db, "SELECT id, nom || coalesce(' (' || organisme || ')', '') "
				 "AS t FROM resource ORDER BY t COLLATE NOCASE, id", NULL,
				 RESOURCES_MAX);
}

/* The « Orienter vers » form of request id; from its own page (fiche 1),
 * the answer comes back there. */
static int orient_form(struct ui_ctx *c, struct buf *b, const char *id, const struct ui_options *r,
		       const char *chosen, int fiche)
{
	char fid[64];
	snprintf(fid, sizeof(fid), "ressource-%.8s", id);
	buf_printf(b, "<form method=\"post\" class=\"en-ligne\" action=\"/demandes/%s/orienter\">\n",
		   id);
	struct buf *keep = c->out;
	c->out = b;
	ui_csrf_input(c);
	c->out = keep;
	if (fiche)
		buf_puts(b, "<input type=\"hidden\" name=\"retour\" value=\"fiche\">\n");
	struct html_field f = {
		.name = FIELD_RESSOURCE,
		.id = fid,
		.label = "Orienter vers",
		.type = HTML_SELECT,
		.value = chosen,
		.options = (const char *const *)r->values,
		.option_labels = (const char *const *)r->labels,
		.noptions = r->n,
	};
	html_field(b, &f);
	return buf_puts(b, "<button type=\"submit\">Orienter</button>\n</form>");
}

/* The queue; error (with status) names what a refused referral said. */
static int queue_page(struct ui_ctx *c, int status, const char *error)
{
	static const char *const heads[] = { "Demande", "Demandeur", "Sujet", "Date", "Orientation",
					     NULL };
	const char *all = ui_query(c, "toutes");
	int every = all && !strcmp(all, "1");
	struct ui_options res = { 0 };
	struct buf rows = BUF_INIT(UI_MAX_PAGE);
	sqlite3_stmt *st = NULL;
	size_t n = 0;
	int s, rc = resources_load(c, &res);
	if (rc)
		goto out;
	if (sqlite3_prepare_v2(c->db, every ? QUEUE_SQL "ORDER BY r.date_demande DESC, r.id"
			       : QUEUE_SQL "WHERE coalesce(r.statut, 'ouverte') = 'ouverte' "
				 "ORDER BY r.date_demande IS NULL, r.date_demande, r.id",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = RELAIS_EDB;
		goto out;
	}
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = ui_col_text(st, Q_ID);
		char href[96];
		n++;
		snprintf(href, sizeof(href), "/fiches/request/%s", id);
		buf_puts(&rows, "<tr>");
		html_row_head(&rows, *ui_col_text(st, Q_QUESTION) ? ui_col_text(st, Q_QUESTION) : "(sans texte)",
			      href);
		buf_puts(&rows, "<td>");
		requester(&rows, st);
		buf_puts(&rows, "</td>");
		html_cell(&rows, ui_value_label(ui_col_text(st, Q_SUJET)));
		buf_puts(&rows, "<td>");
		if (*ui_col_text(st, Q_DATE))
			html_date_words(&rows, ui_col_text(st, Q_DATE));
		else
			buf_puts(&rows, "<span class=\"vide\">sans date</span>");
		buf_puts(&rows, "</td><td>");
		if (sqlite3_column_type(st, Q_RES_ID) != SQLITE_NULL) {
			char rhref[96];
			snprintf(rhref, sizeof(rhref), "/fiches/resource/%s", ui_col_text(st, Q_RES_ID));
			buf_puts(&rows, "orientée vers ");
			html_link(&rows, rhref, ui_col_text(st, Q_RES));
			if (*ui_col_text(st, Q_ORIENT)) {
				buf_puts(&rows, " le ");
				html_date_words(&rows, ui_col_text(st, Q_ORIENT));
			}
		}
		if (!c->read_only && res.n && !strcmp(ui_col_text(st, Q_STATUT), "ouverte")) {
			if (sqlite3_column_type(st, Q_RES_ID) != SQLITE_NULL)
				buf_puts(&rows, "<br>");
			orient_form(c, &rows, id, &res, sqlite3_column_type(st, Q_RES_ID) == SQLITE_NULL
				    ? NULL : ui_col_text(st, Q_RES_ID), 0);
		} else if (sqlite3_column_type(st, Q_RES_ID) == SQLITE_NULL) {
			buf_puts(&rows, strcmp(ui_col_text(st, Q_STATUT), "ouverte") ? "traitée"
				 : "<span class=\"vide\">pas orientée</span>");
		}
		buf_puts(&rows, "</td></tr>\n");
	}
	sqlite3_finalize(st);
	if (s != SQLITE_DONE) {
		rc = RELAIS_EDB;
		goto out;
	}
	ui_page_begin(c, every ? "Toutes les demandes" : "Demandes ouvertes", "demandes");
	if (error) {
		buf_puts(c->out, "<div class=\"resume-erreurs\" role=\"alert\" tabindex=\"-1\" "
			 "id=\"resume-erreurs\">\n<h2>Rien n'a été enregistré</h2>\n<p>");
		buf_puts_html(c->out, error);
		buf_puts(c->out, "</p>\n</div>\n");
		ui_status(c, status);
	}
	buf_puts(c->out, "<p class=\"actions\">");
	if (!c->read_only)
		buf_puts(c->out, "<a class=\"bouton\" href=\"/fiches/request/nouvelle\">Nouvelle "
			 "demande</a> ");
	buf_puts(c->out, every ? "<a href=\"/demandes\">Les demandes ouvertes seulement</a>"
		 : "<a href=\"/demandes?toutes=1\">Toutes les demandes, traitées comprises</a>");
	buf_puts(c->out, "</p>\n");
	if (!c->read_only && !res.n)
		buf_puts(c->out, "<p>Aucune personne ressource n'est enregistrée : <a href=\""
			 "/fiches/resource/nouvelle\">ajoutez-en une</a> pour y orienter une "
			 "demande.</p>\n");
	buf_fail(c->out, buf_error(&rows));
	if (!n) {
		html_tag(c->out, "p", every ? "Aucune demande." : "Aucune demande ouverte.");
	} else {
		html_table_begin(c->out, every ? "Toutes les demandes, la plus récente d'abord"
				 : "Demandes ouvertes, la plus ancienne d'abord", heads);
		buf_append(c->out, rows.data, rows.len);
		html_table_end(c->out);
	}
	rc = ui_page_end(c);
out:
	buf_release(&rows);
	ui_options_release(&res);
	return rc;
}

static int page_queue(struct ui_ctx *c)
{
	return queue_page(c, 200, NULL);
}

static int page_orient(struct ui_ctx *c)
{
	const struct model_table *t = model_table_by_name("request");
	const struct model_column *col = model_column_by_name(t, "ressource");
	const char *raw_id = ui_param(c, "id"), *raw = ui_form(c, FIELD_RESSOURCE);
	char id[UTIL_UUID_LEN + 1], val[128], err[DOMAIN_MSG_MAX] = "";
	struct domain_result res;
	int rc;

	if (c->read_only)
		return RELAIS_EPERM;
	if (!raw_id || strlen(raw_id) != UTIL_UUID_LEN)
		return RELAIS_ENOTFOUND;
	for (size_t k = 0; k <= UTIL_UUID_LEN; k++)
		id[k] = (char)tolower((unsigned char)raw_id[k]);
	char *title = util_is_uuid(id) ? ui_row_title(c, "request", id) : NULL;
	if (!title)
		return RELAIS_ENOTFOUND;
	free(title);
	if (!raw || !*raw)
		return queue_page(c, 422, "Orienter vers : choisissez la personne ressource.");
	rc = domain_check_value(c->db, col, raw, val, sizeof(val), err, sizeof(err));
	if (rc == RELAIS_EINVAL || rc == RELAIS_ETOOBIG)
		return queue_page(c, 422, err[0] ? err : "Orienter vers : valeur refusée.");
	if (rc)
		return rc;
	struct domain_value v[] = { { col, val } };
	rc = ui_domain_write(c, t, id, v, 1, &res, err, sizeof(err));
	if (rc == RELAIS_EINVAL || rc == RELAIS_ENOTFOUND)
		return queue_page(c, 422, err[0] ? err : "Orientation refusée.");
	if (rc)
		return rc;
	char *who = ui_row_title(c, "resource", val);
	char flash[2 * DOMAIN_MSG_MAX], back[64];
	const char *retour = ui_form(c, "retour");
	snprintf(flash, sizeof(flash), "%s%sDemande orientée vers %.200s ; l'orientation sera "
		 "envoyée au serveur à la prochaine synchronisation.", res.note,
		 res.note[0] ? " " : "", who ? who : val);
	free(who);
	snprintf(back, sizeof(back), "/fiches/request/%s", id);
	return ui_redirect(c, retour && !strcmp(retour, "fiche") ? back : "/demandes", flash);
}

int ui_demande_section(struct ui_ctx *c, const char *id)
{
	struct ui_options res = { 0 };
	sqlite3_stmt *st = NULL;
	char chosen[UTIL_UUID_LEN + 1] = "";
	int open = 0, rc;
	if (c->read_only)
		return 0;
	if (sqlite3_prepare_v2(c->db, "SELECT coalesce(statut, 'ouverte') = 'ouverte', ressource "
			       "FROM request WHERE id = ?1", -1, &st, NULL) != SQLITE_OK)
		return RELAIS_EDB;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW) {
		open = sqlite3_column_int(st, 0);
		snprintf(chosen, sizeof(chosen), "%s", ui_col_text(st, 1));
	}
	sqlite3_finalize(st);
	if (!open)
		return 0;
	if ((rc = resources_load(c, &res)))
		goto out;
	buf_puts(c->out, "<section aria-labelledby=\"titre-orientation\">\n"
		 "<h2 id=\"titre-orientation\">Orientation</h2>\n");
	if (res.n)
		orient_form(c, c->out, id, &res, chosen[0] ? chosen : NULL, 1);
	else
		buf_puts(c->out, "<p>Aucune personne ressource n'est enregistrée : <a href=\""
			 "/fiches/resource/nouvelle\">ajoutez-en une</a>.</p>\n");
	buf_puts(c->out, "</section>\n");
	rc = buf_error(c->out);
out:
	ui_options_release(&res);
	return rc;
}

int ui_demandes_home(struct ui_ctx *c)
{
	struct buf *b = c->out;
	sqlite3_stmt *st = NULL;
	size_t n = 0;
	int s;
	if (sqlite3_prepare_v2(c->db, QUEUE_SQL "WHERE coalesce(r.statut, 'ouverte') = 'ouverte' "
			       "ORDER BY r.date_demande IS NULL, r.date_demande, r.id", -1, &st,
			       NULL) != SQLITE_OK)
		return RELAIS_EDB;
	buf_puts(b, "<section class=\"rubrique\" aria-labelledby=\"titre-demandes\">\n"
		 "<h3 id=\"titre-demandes\">Demandes ouvertes</h3>\n");
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		char href[96];
		if (++n > HOME_MAX)
			continue;
		snprintf(href, sizeof(href), "/fiches/request/%s", ui_col_text(st, Q_ID));
		buf_puts(b, n == 1 ? "<ul>\n<li>" : "<li>");
		if (*ui_col_text(st, Q_DATE)) {
			html_date_words(b, ui_col_text(st, Q_DATE));
			buf_puts(b, " — ");
		}
		if (sqlite3_column_type(st, Q_WHO_HREF) != SQLITE_NULL) {
			buf_puts_html(b, ui_col_text(st, Q_WHO));
			buf_puts(b, " — ");
		}
		buf_puts_html(b, ui_value_label(ui_col_text(st, Q_SUJET)));
		buf_puts(b, " : ");
		html_link(b, href, *ui_col_text(st, Q_QUESTION) ? ui_col_text(st, Q_QUESTION) : "(sans texte)");
		if (sqlite3_column_type(st, Q_RES_ID) != SQLITE_NULL) {
			buf_puts(b, " (orientée vers ");
			buf_puts_html(b, ui_col_text(st, Q_RES));
			buf_puts(b, ")");
		}
		buf_puts(b, "</li>\n");
	}
	sqlite3_finalize(st);
	if (s != SQLITE_DONE)
		return RELAIS_EDB;
	if (n)
		buf_puts(b, "</ul>\n");
	else
		html_tag(b, "p", "Aucune demande ouverte.");
	if (n > HOME_MAX)
		buf_printf(b, "<p><a href=\"/demandes\">Voir les %zu demandes ouvertes</a></p>\n", n);
	else
		buf_puts(b, "<p><a href=\"/demandes\">La file des demandes</a></p>\n");
	buf_puts(b, "</section>\n");
	return buf_error(b);
}

void ui_demandes_routes(struct ui *u)
{
	ui_route(u, "GET", "/demandes", page_queue);
	ui_route(u, "POST", "/demandes/{id}/orienter", page_orient);
}
