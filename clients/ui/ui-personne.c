/*
 * ui-personne.c - a person's data in relais ui, for the rights of access
 * and rectification the leaflet promises: /promeneurs/{id}/donnees lists
 * everything the replica holds on a promeneur — their fiche, every row of
 * every table that names them, and the messages of the mail journal sent
 * from their address, the rows of « relais personne export » — each with
 * the page where it is corrected; /promeneurs/{id}/donnees/export gives the
 * same as a JSON file to hand over.
 *
 * The rows are those of « relais personne export », walked by
 * clients/replica/personne.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../replica/personne.h"
#include "ui-html.h"
#include "ui.h"

/* Where row id of table is corrected (or its workflow followed). */
static void edit_href(sqlite3_stmt *st, const char *table, const char *id, const char *person,
		      char *out, size_t len)
{
	static const char *const generic[] = { "presence", "candidature", "bilan", "request", "need" };
	out[0] = 0;
	if (!strcmp(table, "promeneur")) {
		snprintf(out, len, "/promeneurs/%s/modifier", id);
		return;
	}
	for (size_t k = 0; k < sizeof(generic) / sizeof(generic[0]); k++)
		if (!strcmp(table, generic[k])) {
			snprintf(out, len, "/fiches/%s/%s/modifier", table, id);
			return;
		}
	if (!strcmp(table, "attendance")) {
		for (int i = 0; i < sqlite3_column_count(st); i++)
			if (!strcmp(sqlite3_column_name(st, i), "event") &&
			    util_is_uuid(ui_col_text(st, i)))
				snprintf(out, len, "/evenements/%s", ui_col_text(st, i));
	} else if (!strcmp(table, "directory_change")) {
		snprintf(out, len, "/annuaire-national");
	} else if (!strcmp(table, "inbound_mail")) {
		snprintf(out, len, "/courrier/%s", id);
	} else if (!strcmp(table, "procedure") || !strcmp(table, "task")) {
		snprintf(out, len, "/promeneurs/%s", person);
	}
}

/* One row: its title, every column with a value, and where to correct it. */
static int row_html(struct ui_ctx *c, const struct model_table *t, sqlite3_stmt *st,
		    const char *person)
{
	struct buf *b = c->out;
	const char *id = "";
	char href[128];
	for (int i = 0; i < sqlite3_column_count(st); i++)
		if (!strcmp(sqlite3_column_name(st, i), "id"))
			id = ui_col_text(st, i);
	char *title = ui_row_title(c, t->name, id);
	buf_puts(b, "<article class=\"donnee\">\n<h3>");
	buf_puts_html(b, title ? title : id);
	buf_puts(b, "</h3>\n<dl class=\"fiche\">\n");
	for (int i = 0; i < sqlite3_column_count(st); i++) {
		const struct model_column *col = model_column_by_name(t, sqlite3_column_name(st, i));
		if (!col || sqlite3_column_type(st, i) == SQLITE_NULL)
			continue;
		buf_puts(b, "<dt>");
		buf_puts_html(b, col->label);
		buf_puts(b, "</dt><dd>");
		ui_value_html(c, col, st, i, 1);
		buf_puts(b, "</dd>\n");
	}
	buf_puts(b, "</dl>\n");
	edit_href(st, t->name, id, person, href, sizeof(href));
	if (href[0] && (!c->read_only || strncmp(href, "/fiches/", 8))) {
		/* Each link says which row it opens: a list of links read
		 * alone stays clear. */
		size_t hl = strlen(href);
		const char *verb = !c->read_only && hl > 9 && !strcmp(href + hl - 9, "/modifier")
			? "Corriger" : "Voir";
		buf_puts(b, "<p><a href=\"");
		buf_puts_html(b, href);
		buf_printf(b, "\" aria-label=\"%s : ", verb);
		buf_puts_html(b, title ? title : id);
		buf_printf(b, "\">%s</a></p>\n", verb);
	}
	free(title);
	return buf_puts(b, "</article>\n");
}

/* Appends s with its first letter upper-case: "événements" as
 * "Événements" (ASCII, and the accented letters of U+00E0..U+00FE). */
static int capitalised(struct buf *b, const char *s)
{
	char first[3] = "";
	const unsigned char *u = (const unsigned char *)s;
	size_t n = 0;
	if (u[0] >= 'a' && u[0] <= 'z') {
		first[0] = (char)(u[0] - 'a' + 'A');
		n = 1;
	} else if (u[0] == 0xC3 && u[1] >= 0xA0 && u[1] <= 0xBE && u[1] != 0xB7) {
		first[0] = (char)u[0];
		first[1] = (char)(u[1] - 0x20);
		n = 2;
	}
	first[n] = 0;
	buf_puts(b, first);
	return buf_puts_html(b, s + n);
}

/* What the sections of the page share while the person's data is walked:
 * the rank of the next section, and the parts with no row, listed once at
 * the end of the page. */
struct sections {
	struct ui_ctx *c;
	const char *person;
	int n;
	struct buf empty;
};

/*
 * A section of the rows of part p under its heading (the plural of its
 * table for the tables that name the person); a table with no row only
 * adds its name to sec->empty.
 */
static int section_html(const struct personne_part *p, sqlite3_stmt *st, void *arg)
{
	struct sections *sec = arg;
	struct ui_ctx *c = sec->c;
	struct buf *b = c->out;
	const char *heading = p->kind == PERSONNE_FICHE ? "Fiche"
			      : p->kind == PERSONNE_MAIL ? "Courriels reçus de son adresse" : NULL;
	int count = 0, s, n = sec->n++;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if (!count++) {
			buf_printf(b, "<section aria-labelledby=\"donnees-%d\">\n<h2 id=\"donnees-%d\">",
				   n, n);
			if (heading)
				buf_puts_html(b, heading);
			else
				capitalised(b, p->t->plural);
			buf_puts(b, "</h2>\n");
		}
		row_html(c, p->t, st, sec->person);
	}
	if (s != SQLITE_DONE)
		return RELAIS_EDB;
	if (count)
		return buf_puts(b, "</section>\n");
	if (sec->empty.len)
		buf_puts(&sec->empty, ", ");
	buf_puts_html(&sec->empty, heading ? heading : p->t->plural);
	return buf_error(&sec->empty);
}

static int person_id(struct ui_ctx *c, const char **id)
{
	char *name;
	*id = ui_param(c, "id");
	if (!*id || !util_is_uuid(*id) || !(name = ui_row_title(c, "promeneur", *id)))
		return RELAIS_ENOTFOUND;
	free(name);
	return 0;
}

static int page_donnees(struct ui_ctx *c)
{
	const char *id;
	char *name = NULL, title[512];
	int rc = person_id(c, &id);
	if (rc)
		return rc;
	name = ui_row_title(c, "promeneur", id);
	snprintf(title, sizeof(title), "Données personnelles : %s", name ? name : id);
	free(name);
	ui_page_begin(c, title, "annuaire");
	buf_printf(c->out, "<p class=\"fil\"><a href=\"/promeneurs/%s\">Retour à la fiche</a></p>\n",
		   id);
	html_tag(c->out, "p", "Tout ce que ce poste conserve sur cette personne (droit d'accès) : "
		 "sa fiche, chaque ligne qui la désigne et les courriels reçus de son adresse. "
		 "Chaque ligne se corrige depuis la page indiquée (droit de rectification).");
	buf_printf(c->out, "<p><a class=\"bouton\" href=\"/promeneurs/%s/donnees/export\">"
		   "Télécharger en JSON</a></p>\n", id);
	/* The fiche itself, then every table that names them. */
	struct sections sec = { c, id, 0, BUF_INIT(4096) };
	rc = personne_walk(c->db, id, section_html, &sec);
	if (!rc && sec.empty.len) {
		/* Already escaped, item by item. */
		buf_puts(c->out, "<section aria-labelledby=\"donnees-rien\">\n<h2 id=\"donnees-rien\">"
			 "Rien d'enregistré</h2>\n<p>");
		buf_append(c->out, sec.empty.data, sec.empty.len);
		buf_puts(c->out, ".</p>\n</section>\n");
	}
	buf_release(&sec.empty);
	if (!rc)
		rc = ui_documents_section(c, "promeneur", id);
	return rc ? rc : ui_page_end(c);
}

/* The JSON of « relais personne export », as a file. */
static int page_export(struct ui_ctx *c)
{
	const char *id;
	json_t *obj = NULL;
	char *text = NULL, name[64];
	int rc = person_id(c, &id);
	if (!rc)
		rc = personne_export(c->db, id, &obj);
	if (rc)
		return rc;
	if (!(text = json_dumps(obj, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENSURE_ASCII))) {
		rc = RELAIS_ENOMEM;
		goto out;
	}
	buf_puts(c->out, text);
	buf_putc(c->out, '\n');
	snprintf(name, sizeof(name), "donnees-%.8s.json", id);
	rc = buf_error(c->out);
	if (!rc)
		rc = ui_download(c, "application/json", name);
out:
	free(text);
	json_decref(obj);
	return rc;
}

void ui_personne_routes(struct ui *u)
{
	ui_route(u, "GET", "/promeneurs/{id}/donnees", page_donnees);
	ui_route(u, "GET", "/promeneurs/{id}/donnees/export", page_export);
}
