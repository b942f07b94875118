/*
 * ui-formation.c - training in relais ui (/formation): the needs noted
 * from exchanges with the promeneurs (table need), those still to plan with
 * a form that links each to a training event, a form that notes a new one,
 * and the year's training plan: the needs grouped by theme, with the
 * training planned for them and who attended it.
 *
 * The rules are the domain's: a need given its training is « planifié »,
 * its promeneur present at that training makes it « satisfait »
 * (model/domain.c). Each write is domain_write() as one captured local
 * edit; a need is also added and edited from its promeneur's page (the
 * generic form, ui-fiche.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ui-html.h"
#include "ui.h"

#define EVENTS_MAX 500  /* training events offered by a form */
#define NEEDS_MAX 2000  /* rows of a list */

/* The events a need may be planned on. */
#define TRAINING_TYPES "('formation_initiale', 'formation_thematique', 'echange_pratiques')"

static long long this_year(void)
{
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	return tm.tm_year + 1900LL;
}

/* The training events, nearest first, as options: « title, date ». */
static int training_options(struct ui_ctx *c, struct ui_options *o)
{
	sqlite3_stmt *st = NULL;
	int rc = 0, s = SQLITE_DONE;
	if (sqlite3_prepare_v2(c->db, "SELECT id, titre, date FROM event WHERE type IN "
			       TRAINING_TYPES " ORDER BY date DESC, titre, id LIMIT ?1", -1, &st,
			       NULL) != SQLITE_OK)
		return RELAIS_EDB;
	sqlite3_bind_int(st, 1, EVENTS_MAX);
	while (!rc && o->n < EVENTS_MAX && (s = sqlite3_step(st)) == SQLITE_ROW) {
		char d[UTIL_DATE_FR_LEN], *label = NULL;
		if (asprintf(&label, "%s, %s", ui_col_text(st, 1),
			     util_date_fr(ui_col_text(st, 2), d, sizeof(d))) < 0)
			rc = RELAIS_ENOMEM;
		else
			rc = ui_options_add(o, ui_col_text(st, 0), label);
		free(label);
	}
	if (!rc && s != SQLITE_DONE && s != SQLITE_ROW)
		rc = RELAIS_EDB;
	sqlite3_finalize(st);
	return rc;
}

/* The start of a need's row: "<tr>", its theme (column 1) linking to need
 * column 0, and the cell of its promeneur (columns 2 and 3) linking to them. */
static int need_head(struct ui_ctx *c, sqlite3_stmt *st)
{
	char href[64];
	snprintf(href, sizeof(href), "/fiches/need/%.40s", ui_col_text(st, 0));
	buf_puts(c->out, "<tr>");
	html_row_head(c->out, ui_col_text(st, 1), href);
	buf_puts(c->out, "<td>");
	if (sqlite3_column_type(st, 2) != SQLITE_NULL) {
		snprintf(href, sizeof(href), "/promeneurs/%.40s", ui_col_text(st, 2));
		html_link(c->out, href, ui_col_text(st, 3));
	}
	return buf_puts(c->out, "</td>");
}

/* The « Planifier » form of need id: the training events to choose from. */
static int plan_form(struct ui_ctx *c, const char *id, const struct ui_options *o)
{
	char fid[64];
	snprintf(fid, sizeof(fid), "planifier-%.8s", id);
	buf_puts(c->out, "<form method=\"post\" class=\"en-ligne\" novalidate action=\"/formation/besoins/");
	html_url(c->out, id);
	buf_puts(c->out, "/planifier\">");
	ui_csrf_input(c);
	struct html_field f = {
		.name = "event", .id = fid, .label = "Formation prévue", .type = HTML_SELECT,
		.required = 1, .options = (const char *const *)o->values,
		.option_labels = (const char *const *)o->labels, .noptions = o->n,
	};
	html_field(c->out, &f);
	return buf_puts(c->out, "<button type=\"submit\">Planifier</button></form>");
}

/* The needs without a training yet, oldest first, each with its form. */
static int to_plan_html(struct ui_ctx *c)
{
	static const char *const heads[] = { "Thème", "Promeneur", "Noté le", "Noté lors de", NULL,
					     NULL };
	static const char *const heads_rw[] = { "Thème", "Promeneur", "Noté le", "Noté lors de",
						"Formation", NULL };
	struct ui_options events = { 0 };
	sqlite3_stmt *st = NULL;
	int n = 0, s, rc = 0;

	buf_puts(c->out, "<section aria-labelledby=\"titre-a-planifier\">\n"
		 "<h2 id=\"titre-a-planifier\">Besoins à planifier</h2>\n");
	if (!c->read_only && (rc = training_options(c, &events)))
		goto out;
	if (sqlite3_prepare_v2(c->db, "SELECT n.id, n.theme, n.promeneur, coalesce(p.prenom || ' ', "
			       "'') || coalesce(p.nom, ''), n.date, n.origine FROM need n LEFT JOIN "
			       "promeneur p ON p.id = n.promeneur WHERE n.event IS NULL AND "
			       "coalesce(n.statut, 'exprime') = 'exprime' ORDER BY n.date IS NULL, "
			       "n.date, n.theme, n.id LIMIT ?1", -1, &st, NULL) != SQLITE_OK) {
		rc = RELAIS_EDB;
		goto out;
	}
	sqlite3_bind_int(st, 1, NEEDS_MAX);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if (!n++)
			html_table_begin(c->out, "Besoins de formation exprimés, sans formation prévue",
					 c->read_only ? heads : heads_rw);
		need_head(c, st);
		buf_puts(c->out, "<td>");
		html_date_words(c->out, ui_col_text(st, 4));
		buf_puts(c->out, "</td>");
		html_cell(c->out, ui_col_text(st, 5));
		if (!c->read_only) {
			buf_puts(c->out, "<td>");
			if (events.n)
				plan_form(c, ui_col_text(st, 0), &events);
			else
				buf_puts(c->out, "<a href=\"/evenements/nouveau\">Créer la formation</a>");
			buf_puts(c->out, "</td>");
		}
		buf_puts(c->out, "</tr>\n");
	}
	if (s != SQLITE_DONE)
		rc = RELAIS_EDB;
	if (!rc && n)
		html_table_end(c->out);
	else if (!rc)
		html_tag(c->out, "p", "Aucun besoin en attente d'une formation.");
	buf_puts(c->out, "</section>\n");
out:
	sqlite3_finalize(st);
	ui_options_release(&events);
	return rc ? rc : buf_error(c->out);
}

/* The form that notes a need; fv holds what was sent back with errors. */
static int need_form(struct ui_ctx *c, const struct ui_form_values *fv)
{
	static const char *const cols[] = { "promeneur", "theme", "origine", "date" };
	const struct model_table *t = model_table_by_name("need");
	char today[DOMAIN_DATE_LEN + 1];
	int rc = 0;
	domain_today(today);
	buf_puts(c->out, "<section aria-labelledby=\"titre-noter\">\n"
		 "<h2 id=\"titre-noter\">Noter un besoin</h2>\n");
	if (fv && fv->nerrors)
		buf_printf(c->out, "<p class=\"erreur\" role=\"alert\" id=\"resume-erreurs\">%zu "
			   "valeur%s à corriger : voir le message sous chaque champ concerné.</p>\n",
			   fv->nerrors, fv->nerrors > 1 ? "s" : "");
	buf_puts(c->out, "<form method=\"post\" class=\"fiche-form\" novalidate "
		 "action=\"/formation/besoins\">\n");
	ui_csrf_input(c);
	for (size_t k = 0; k < sizeof(cols) / sizeof(cols[0]) && !rc; k++) {
		const struct model_column *col = model_column_by_name(t, cols[k]);
		size_t i = (size_t)(col - t->columns);
		const char *v = fv ? fv->raw[i] : !strcmp(cols[k], "date") ? today : NULL;
		rc = ui_model_field(c, t, col, v, fv ? fv->errors[i] : NULL);
	}
	buf_puts(c->out, "<p><button type=\"submit\" class=\"principal\">Noter le besoin</button>"
		 "</p>\n</form>\n</section>\n");
	return rc ? rc : buf_error(c->out);
}

/* The present at event ev, as « A, B » (or « personne »). */
static int attended(struct ui_ctx *c, const char *ev)
{
	sqlite3_stmt *st = NULL;
	int n = 0, s;
	if (sqlite3_prepare_v2(c->db, "SELECT p.id, coalesce(p.prenom || ' ', '') || coalesce(p.nom, "
			       "'') FROM attendance a JOIN promeneur p ON p.id = a.promeneur WHERE "
			       "a.event = ?1 AND a.presence_effective = 1 ORDER BY p.nom, p.prenom, "
			       "p.id", -1, &st, NULL) != SQLITE_OK)
		return RELAIS_EDB;
	sqlite3_bind_text(st, 1, ev, -1, SQLITE_TRANSIENT);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		char href[64];
		snprintf(href, sizeof(href), "/promeneurs/%.40s", ui_col_text(st, 0));
		if (n++)
			buf_puts(c->out, ", ");
		html_link(c->out, href, ui_col_text(st, 1));
	}
	sqlite3_finalize(st);
	if (!n)
		buf_puts(c->out, "personne pour l'instant");
	return s == SQLITE_DONE ? buf_error(c->out) : RELAIS_EDB;
}

/* Columns of the plan's rows. */
enum { PL_THEME, PL_ID, PL_PID, PL_WHO, PL_DATE, PL_STATUT, PL_EV, PL_EV_TITRE, PL_EV_DATE };

/* The needs of year (noted in it, or planned on a training in it), by
 * theme; under each theme, its trainings and who attended them. */
static int plan_html(struct ui_ctx *c, long long year)
{
	static const char *const heads[] = { "Promeneur", "Noté le", "Statut", "Formation prévue",
					     NULL };
	sqlite3_stmt *st = NULL;
	char theme[512] = "", y[8];
	int n = 0, s, open = 0;
	snprintf(y, sizeof(y), "%lld", year);
	buf_printf(c->out, "<section aria-labelledby=\"titre-plan\">\n<h2 id=\"titre-plan\">Plan de "
		   "formation %lld</h2>\n", year);
	if (sqlite3_prepare_v2(c->db, "SELECT n.theme, n.id, n.promeneur, coalesce(p.prenom || ' ', "
			       "'') || coalesce(p.nom, ''), n.date, coalesce(n.statut, 'exprime'), "
			       "e.id, e.titre, e.date FROM need n LEFT JOIN promeneur p ON p.id = "
			       "n.promeneur LEFT JOIN event e ON e.id = n.event WHERE "
			       "strftime('%Y', coalesce(e.date, n.date)) = ?1 ORDER BY n.theme COLLATE "
			       "NOCASE, n.theme, e.date, n.date, n.id LIMIT ?2", -1, &st,
			       NULL) != SQLITE_OK)
		return RELAIS_EDB;
	sqlite3_bind_text(st, 1, y, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, NEEDS_MAX);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		char href[64];
		if (!n++ || strcmp(theme, ui_col_text(st, PL_THEME))) {
			if (open)
				html_table_end(c->out);
			snprintf(theme, sizeof(theme), "%s", ui_col_text(st, PL_THEME));
			buf_puts(c->out, "<h3>");
			buf_puts_html(c->out, theme);
			buf_puts(c->out, "</h3>\n");
			html_table_begin(c->out, "Besoins notés sur ce thème", heads);
			open = 1;
		}
		buf_puts(c->out, "<tr>");
		snprintf(href, sizeof(href), "/promeneurs/%.40s", ui_col_text(st, PL_PID));
		html_row_head(c->out, ui_col_text(st, PL_WHO)[0] ? ui_col_text(st, PL_WHO) : "(réseau)",
			      sqlite3_column_type(st, PL_PID) == SQLITE_NULL ? NULL : href);
		buf_puts(c->out, "<td>");
		html_date_words(c->out, ui_col_text(st, PL_DATE));
		buf_puts(c->out, "</td>");
		html_cell(c->out, ui_value_label(ui_col_text(st, PL_STATUT)));
		buf_puts(c->out, "<td>");
		if (sqlite3_column_type(st, PL_EV) != SQLITE_NULL) {
			snprintf(href, sizeof(href), "/evenements/%.40s", ui_col_text(st, PL_EV));
			html_link(c->out, href, ui_col_text(st, PL_EV_TITRE));
			buf_puts(c->out, ", le ");
			html_date_words(c->out, ui_col_text(st, PL_EV_DATE));
			buf_puts(c->out, " ; présents : ");
			int rc = attended(c, ui_col_text(st, PL_EV));
			if (rc) {
				sqlite3_finalize(st);
				return rc;
			}
		} else {
			buf_puts(c->out, "<span class=\"vide\">à planifier</span>");
		}
		buf_puts(c->out, "</td></tr>\n");
	}
	sqlite3_finalize(st);
	if (s != SQLITE_DONE)
		return RELAIS_EDB;
	if (open)
		html_table_end(c->out);
	else
		buf_printf(c->out, "<p>Aucun besoin noté ni planifié en %lld.</p>\n", year);
	return buf_puts(c->out, "</section>\n");
}

static int formation_page(struct ui_ctx *c, long long year, const struct ui_form_values *fv)
{
	char title[64];
	snprintf(title, sizeof(title), "Formation %lld", year);
	ui_page_begin(c, title, "formation");
	char y[8];
	snprintf(y, sizeof(y), "%lld", year);
	struct html_field f = {
		.name = "annee", .label = "Année du plan", .type = HTML_NUMBER, .value = y,
		.min = 2001, .max = 2100,
	};
	buf_puts(c->out, "<form method=\"get\" action=\"/formation\" class=\"filtres\">");
	html_field(c->out, &f);
	buf_puts(c->out, "<button type=\"submit\">Afficher</button></form>\n");
	html_tag(c->out, "p", "Les besoins de formation notés lors des échanges avec les promeneurs, "
		 "la formation prévue pour chacun et qui l'a suivie.");
	int rc = to_plan_html(c);
	if (!rc && !c->read_only)
		rc = need_form(c, fv);
	if (!rc)
		rc = plan_html(c, year);
	if (!rc)
		rc = ui_page_end(c);
	return rc;
}

static int page_formation(struct ui_ctx *c)
{
	const char *q = ui_query(c, "annee");
	long long year = this_year();
	if (q && q[0] && util_parse_ll(q, 2001, 2100, &year))
		return ui_error_page(c, 400, "L'année doit être un nombre entre 2001 et 2100.");
	return formation_page(c, year, NULL);
}

static int post_need(struct ui_ctx *c)
{
	const struct model_table *t = model_table_by_name("need");
	struct ui_form_values fv;
	char newid[UTIL_UUID_LEN + 1];
	int rc;

	if (c->read_only)
		return RELAIS_EPERM;
	rc = ui_form_values_read(c, t, 1, &fv);
	if (!rc && !fv.nerrors)
		rc = ui_form_values_save(c, &fv, NULL, newid);
	if ((!rc && fv.nerrors) || (rc == RELAIS_EINVAL && fv.nerrors)) {
		rc = formation_page(c, this_year(), &fv);
		ui_status(c, 422);
	} else if (!rc) {
		rc = ui_redirect(c, "/formation", fv.note[0] ? fv.note : "Besoin noté ; il sera "
				 "envoyé au serveur à la prochaine synchronisation.");
	} else if (rc == RELAIS_ECONSTRAINT) {
		rc = ui_error_page(c, 422, "Valeur refusée par le schéma ; rien n'a été enregistré.");
	}
	ui_form_values_release(&fv);
	return rc;
}

static int post_plan(struct ui_ctx *c)
{
	const struct model_table *t = model_table_by_name("need");
	const struct model_column *ecol = model_column_by_name(t, "event");
	const char *id = ui_param(c, "id"), *raw = ui_form(c, "event");
	char ev[128], err[DOMAIN_MSG_MAX] = "";
	struct domain_result res;
	char *title;
	int rc;

	if (c->read_only)
		return RELAIS_EPERM;
	if (!id || !util_is_uuid(id) || !(title = ui_row_title(c, "need", id)))
		return RELAIS_ENOTFOUND;
	free(title);
	if (!raw || !raw[0])
		return ui_error_page(c, 422, "Formation prévue : choisissez une formation.");
	if (domain_check_value(c->db, ecol, raw, ev, sizeof(ev), err, sizeof(err)) || !ev[0])
		return ui_error_page(c, 422, err[0] ? err : "Formation prévue : introuvable.");
	struct domain_value v[] = { { ecol, ev } };
	rc = ui_domain_write(c, t, id, v, 1, &res, err, sizeof(err));
	if (rc)
		return rc == RELAIS_EINVAL ? ui_error_page(c, 422, err) : rc;
	return ui_redirect(c, "/formation", res.note[0] ? res.note : "Formation prévue notée.");
}

int ui_event_needs(struct ui_ctx *c, const char *id)
{
	static const char *const heads[] = { "Thème", "Promeneur", "Statut", NULL };
	sqlite3_stmt *st = NULL;
	int n = 0, s;
	if (sqlite3_prepare_v2(c->db, "SELECT n.id, n.theme, n.promeneur, coalesce(p.prenom || ' ', "
			       "'') || coalesce(p.nom, ''), coalesce(n.statut, 'exprime') FROM need n "
			       "LEFT JOIN promeneur p ON p.id = n.promeneur WHERE n.event = ?1 "
			       "ORDER BY n.theme COLLATE NOCASE, p.nom, n.id LIMIT ?2", -1, &st,
			       NULL) != SQLITE_OK)
		return RELAIS_EDB;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, NEEDS_MAX);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if (!n++) {
			buf_puts(c->out, "<section aria-labelledby=\"titre-besoins-formation\">\n"
				 "<h2 id=\"titre-besoins-formation\">Besoins de formation auxquels "
				 "elle répond</h2>\n");
			html_table_begin(c->out, "Besoins planifiés sur cette formation", heads);
		}
		need_head(c, st);
		html_cell(c->out, ui_value_label(ui_col_text(st, 4)));
		buf_puts(c->out, "</tr>\n");
	}
	sqlite3_finalize(st);
	if (s != SQLITE_DONE)
		return RELAIS_EDB;
	if (n) {
		html_table_end(c->out);
		buf_puts(c->out, "</section>\n");
	}
	return buf_error(c->out);
}

void ui_formation_routes(struct ui *u)
{
	ui_route(u, "GET", "/formation", page_formation);
	ui_route(u, "POST", "/formation/besoins", post_need);
	ui_route(u, "POST", "/formation/besoins/{id}/planifier", post_plan);
}
