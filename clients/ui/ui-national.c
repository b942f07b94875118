/*
 * ui-national.c - the national directory's changes in relais ui
 * (/annuaire-national): every change the national site must show (an
 * addition, a modification naming its fields, a suspension, a reprise, a
 * withdrawal), whom it concerns, when it was transmitted to the CAF and
 * when the CAF saw it published; ?filtre=a_publier keeps those transmitted
 * and not published yet.
 *
 * The changes are queued by the domain layer (model/domain.c) whenever
 * what the directory shows changes; they are never typed here. The one
 * write of this screen is the CAF's confirmation of a publication
 * (domain_directory_published, the form of ui-procedures.c), the only form
 * a « caf » account is offered, as « relais changement publie » is the
 * only command it may run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ui-html.h"
#include "ui.h"

#define CHANGES_MAX 2000 /* rows shown; the oldest published ones go first */

enum { N_ID, N_NATURE, N_PID, N_WHO, N_CHAMPS, N_DATE, N_TRANSMIS, N_DATE_T, N_PUBLIE, N_DATE_P };

/* Those to publish first (transmitted, waiting for the CAF), then those
 * to transmit, then the published ones, newest first in each. */
#define CHANGES_SQL \
	"SELECT d.id, d.nature, d.promeneur, coalesce(p.prenom || ' ', '') || coalesce(p.nom, ''), " \
	"d.champs, d.date, coalesce(d.transmis, 0), d.date_transmission, coalesce(d.publie, 0), " \
	"d.date_publication FROM directory_change d LEFT JOIN promeneur p ON p.id = d.promeneur " \
	"WHERE ?1 = 0 OR (coalesce(d.transmis, 0) = 1 AND coalesce(d.publie, 0) = 0) " \
	"ORDER BY CASE WHEN coalesce(d.publie, 0) = 1 THEN 2 WHEN coalesce(d.transmis, 0) = 1 " \
	"THEN 0 ELSE 1 END, d.date DESC, d.id LIMIT ?2"

/* A change's row; arg points to 1 for the list of those to publish. */
static int change_row(struct ui_ctx *c, sqlite3_stmt *st, const void *arg)
{
	int todo = *(const int *)arg;
	struct buf *b = c->out;
	char href[64];
	snprintf(href, sizeof(href), "/promeneurs/%.40s", ui_col_text(st, N_PID));
	buf_puts(b, "<tr>");
	html_row_head(b, ui_value_label(ui_col_text(st, N_NATURE)), NULL);
	buf_puts(b, "<td>");
	html_link(b, href, ui_col_text(st, N_WHO)[0] ? ui_col_text(st, N_WHO) : "(promeneur inconnu)");
	buf_puts(b, "</td>");
	html_cell(b, ui_col_text(st, N_CHAMPS));
	buf_puts(b, "<td>");
	html_date_words(b, ui_col_text(st, N_DATE));
	buf_puts(b, "</td><td>");
	if (sqlite3_column_int(st, N_TRANSMIS)) {
		buf_puts(b, "transmis");
		if (sqlite3_column_type(st, N_DATE_T) != SQLITE_NULL) {
			buf_puts(b, " le ");
			html_date_words(b, ui_col_text(st, N_DATE_T));
		}
	} else {
		buf_puts(b, "<span class=\"vide\">à transmettre</span>");
	}
	buf_puts(b, "</td><td>");
	if (sqlite3_column_int(st, N_PUBLIE)) {
		buf_puts(b, "publié");
		if (sqlite3_column_type(st, N_DATE_P) != SQLITE_NULL) {
			buf_puts(b, " le ");
			html_date_words(b, ui_col_text(st, N_DATE_P));
		}
	} else if (sqlite3_column_int(st, N_TRANSMIS)) {
		/* The CAF confirms what the national site shows; a coordinator
		 * who saw it may note it too. */
		buf_puts(b, "<details class=\"etape\"><summary>Confirmer la publication</summary>\n");
		buf_fail(b, ui_directory_publish_form(c, ui_col_text(st, N_ID),
						      todo ? UI_DIRECTORY_TODO : NULL));
		buf_puts(b, "</details>");
	} else {
		buf_puts(b, "<span class=\"vide\">pas encore</span>");
	}
	return buf_puts(b, "</td></tr>\n");
}

static int page_national(struct ui_ctx *c)
{
	static const char *const heads[] = { "Nature", "Promeneur", "Champs modifiés", "Date",
					     "Transmission", "Publication", NULL };
	const char *filtre = ui_query(c, "filtre");
	int todo = filtre && !strcmp(filtre, "a_publier");
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(c->db, CHANGES_SQL, -1, &st, NULL) != SQLITE_OK)
		return RELAIS_EDB;
	sqlite3_bind_int(st, 1, todo);
	sqlite3_bind_int(st, 2, CHANGES_MAX);
	ui_page_begin(c, todo ? "Annuaire national : changements à publier"
		      : "Annuaire national : changements", "national");
	html_tag(c->out, "p", "Ce que le site national des Promeneurs du Net doit montrer : chaque "
		 "changement est transmis à la Caf, qui confirme sa publication.");
	buf_puts(c->out, "<p class=\"filtres\">");
	if (todo)
		buf_puts(c->out, "<a href=\"/annuaire-national\">Tous les changements</a> · "
			 "<strong>À publier</strong>");
	else
		buf_puts(c->out, "<strong>Tous les changements</strong> · <a href=\""
			 UI_DIRECTORY_TODO "\">À publier</a>");
	buf_puts(c->out, "</p>\n");
	const struct ui_table t = {
		todo ? "Changements transmis, à publier"
		: "Changements de l'annuaire national, ceux à publier d'abord", heads,
		todo ? "Aucun changement transmis n'attend sa publication."
		: "Aucun changement de l'annuaire national.", change_row, &todo,
	};
	int rc = ui_table_rows(c, st, &t);
	if (rc)
		return rc;
	return ui_page_end(c);
}

int ui_national_home(struct ui_ctx *c)
{
	sqlite3_stmt *st = NULL;
	long long todo = 0, pending = 0;
	if (sqlite3_prepare_v2(c->db, "SELECT coalesce(sum(coalesce(transmis, 0) = 1 AND "
			       "coalesce(publie, 0) = 0), 0), coalesce(sum(coalesce(transmis, 0) = 0), "
			       "0) FROM directory_change", -1, &st, NULL) != SQLITE_OK)
		return RELAIS_EDB;
	if (sqlite3_step(st) == SQLITE_ROW) {
		todo = sqlite3_column_int64(st, 0);
		pending = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	if (!todo && !pending)
		return 0;
	buf_puts(c->out, "<section class=\"rubrique\" aria-labelledby=\"titre-national\">\n"
		 "<h3 id=\"titre-national\">Annuaire national</h3>\n<ul>\n");
	if (todo)
		buf_printf(c->out, "<li><a href=\"" UI_DIRECTORY_TODO "\">%lld changement%s transmis "
			   "attend%s la confirmation de %s publication</a></li>\n", todo,
			   todo > 1 ? "s" : "", todo > 1 ? "ent" : "", todo > 1 ? "leur" : "sa");
	if (pending)
		buf_printf(c->out, "<li><a href=\"/annuaire-national\">%lld changement%s à transmettre "
			   "à la Caf</a></li>\n", pending, pending > 1 ? "s" : "");
	return buf_puts(c->out, "</ul>\n</section>\n");
}

void ui_national_routes(struct ui *u)
{
	ui_route(u, "GET", "/annuaire-national", page_national);
}
