/*
 * ui-annuaire.c - the directory of relais ui: promeneurs and structures,
 * instant search on an FTS5 index, filters (structure, status, public).
 *
 * The index is a TEMP table of the UI's connection: it is local, never
 * replicated, and out of reach of the sync's sessions, which are attached to
 * the replicated tables of "main" only (sync/tables.c). It is rebuilt each
 * time the replica is opened (at start and after each sync, whose writes come
 * from another process) and TEMP triggers keep it in step with the writes of
 * this connection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ui-html.h"
#include "ui.h"

#define MAX_RESULTS 500
#define MAX_QUERY 200   /* bytes of a search kept */

/* The indexed text of a promeneur (p) with its structure (s), and of a
 * structure (s). */
#define PROMENEUR_TEXT                                                               \
	"coalesce(p.prenom, '') || ' ' || coalesce(p.nom, '') || ' ' || "             \
	"coalesce(p.email, '') || ' ' || coalesce(p.fonction, '') || ' ' || "          \
	"coalesce(s.nom, '') || ' ' || coalesce(s.commune, '')"
#define STRUCTURE_TEXT                                                               \
	"coalesce(s.nom, '') || ' ' || coalesce(s.commune, '') || ' ' || "            \
	"coalesce(s.type, '') || ' ' || coalesce(s.code_postal, '') || ' ' || "        \
	"coalesce(s.referent, '') || ' ' || coalesce(s.email, '')"

static const char index_sql[] =
	"DROP TABLE IF EXISTS temp.annuaire_fts;"
	"CREATE VIRTUAL TABLE temp.annuaire_fts USING fts5(kind UNINDEXED, id UNINDEXED, texte, "
	"tokenize = 'unicode61 remove_diacritics 2');"
	"INSERT INTO temp.annuaire_fts(kind, id, texte) SELECT 'promeneur', p.id, " PROMENEUR_TEXT
	" FROM main.promeneur p LEFT JOIN main.structure s ON s.id = p.structure;"
	"INSERT INTO temp.annuaire_fts(kind, id, texte) SELECT 'structure', s.id, " STRUCTURE_TEXT
	" FROM main.structure s;"
	/* A promeneur's text holds its structure's name: both move together. */
	"CREATE TEMP TRIGGER IF NOT EXISTS annuaire_p_ins AFTER INSERT ON main.promeneur BEGIN "
	" INSERT INTO annuaire_fts(kind, id, texte) SELECT 'promeneur', p.id, " PROMENEUR_TEXT
	" FROM main.promeneur p LEFT JOIN main.structure s ON s.id = p.structure WHERE p.id = new.id;"
	" END;"
	"CREATE TEMP TRIGGER IF NOT EXISTS annuaire_p_upd AFTER UPDATE ON main.promeneur BEGIN "
	" DELETE FROM annuaire_fts WHERE kind = 'promeneur' AND id IN (old.id, new.id);"
	" INSERT INTO annuaire_fts(kind, id, texte) SELECT 'promeneur', p.id, " PROMENEUR_TEXT
	" FROM main.promeneur p LEFT JOIN main.structure s ON s.id = p.structure WHERE p.id = new.id;"
	" END;"
	"CREATE TEMP TRIGGER IF NOT EXISTS annuaire_p_del AFTER DELETE ON main.promeneur BEGIN "
	" DELETE FROM annuaire_fts WHERE kind = 'promeneur' AND id = old.id; END;"
	"CREATE TEMP TRIGGER IF NOT EXISTS annuaire_s_ins AFTER INSERT ON main.structure BEGIN "
	" INSERT INTO annuaire_fts(kind, id, texte) SELECT 'structure', s.id, " STRUCTURE_TEXT
	" FROM main.structure s WHERE s.id = new.id; END;"
	"CREATE TEMP TRIGGER IF NOT EXISTS annuaire_s_upd AFTER UPDATE ON main.structure BEGIN "
	" DELETE FROM annuaire_fts WHERE kind = 'structure' AND id IN (old.id, new.id);"
	" INSERT INTO annuaire_fts(kind, id, texte) SELECT 'structure', s.id, " STRUCTURE_TEXT
	" FROM main.structure s WHERE s.id = new.id;"
	" DELETE FROM annuaire_fts WHERE kind = 'promeneur' AND id IN "
	"  (SELECT id FROM main.promeneur WHERE structure = new.id);"
	" INSERT INTO annuaire_fts(kind, id, texte) SELECT 'promeneur', p.id, " PROMENEUR_TEXT
	" FROM main.promeneur p LEFT JOIN main.structure s ON s.id = p.structure"
	" WHERE p.structure = new.id; END;"
	"CREATE TEMP TRIGGER IF NOT EXISTS annuaire_s_del AFTER DELETE ON main.structure BEGIN "
	" DELETE FROM annuaire_fts WHERE kind = 'structure' AND id = old.id; END;";

int ui_annuaire_index(sqlite3 *db)
{
	return relais_sqlite_error(sqlite3_exec(db, index_sql, NULL, NULL, NULL));
}

/*
 * Turns what a person typed into an FTS5 query: each word becomes a quoted
 * prefix term ("dup"*), so that no character of the input is FTS5 syntax.
 * Returns 0 with an empty out when there is no word.
 */
static int fts_query(const char *in, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)in;
	while (*p) {
		/* Words: letters, digits and any non-ASCII byte (accented letters). */
		while (*p && !(*p >= 0x80 || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
			       (*p >= 'A' && *p <= 'Z')))
			p++;
		const unsigned char *w = p;
		while (*p >= 0x80 || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		       (*p >= 'A' && *p <= 'Z'))
			p++;
		if (p > w) {
			if (out->len)
				buf_putc(out, ' ');
			buf_putc(out, '"');
			buf_append(out, w, (size_t)(p - w));
			buf_puts(out, "\"*");
		}
	}
	return buf_error(out);
}

struct filtres {
	const char *q;          /* the search as typed, or NULL */
	const char *type;       /* "tous", "promeneurs", "structures" */
	const char *structure;  /* a structure's id, or NULL */
	const char *statut;
	const char *public_;
	struct buf match;       /* the FTS5 query, empty for none */
};

static const char *nonempty(const char *s)
{
	return s && *s ? s : NULL;
}

static int enum_ok(const char *table, const char *col, const char *v)
{
	const struct model_column *c = model_column_by_name(model_table_by_name(table), col);
	for (size_t i = 0; v && c && c->values && c->values[i]; i++)
		if (!strcmp(c->values[i], v))
			return 1;
	return 0;
}

static int read_filtres(struct ui_ctx *c, struct filtres *f)
{
	memset(f, 0, sizeof(*f));
	buf_init(&f->match, 4 * MAX_QUERY);
	f->q = nonempty(ui_query(c, "q"));
	f->type = nonempty(ui_query(c, "type"));
	if (!f->type || (strcmp(f->type, "promeneurs") && strcmp(f->type, "structures")))
		f->type = "tous";
	f->structure = nonempty(ui_query(c, "structure"));
	if (f->structure && !util_is_uuid(f->structure))
		f->structure = NULL;
	f->statut = nonempty(ui_query(c, "statut"));
	if (!enum_ok("promeneur", "statut", f->statut))
		f->statut = NULL;
	f->public_ = nonempty(ui_query(c, "public"));
	if (!enum_ok("promeneur", "public", f->public_))
		f->public_ = NULL;
	if (f->q && strlen(f->q) > MAX_QUERY)
		return RELAIS_EINVAL;
	return f->q ? fts_query(f->q, &f->match) : 0;
}

static void bind_opt(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

static const char promeneurs_sql[] =
	"SELECT p.id, p.prenom, p.nom, s.id, s.nom, p.statut, p.public, p.email "
	"FROM promeneur p LEFT JOIN structure s ON s.id = p.structure "
	"WHERE (?1 IS NULL OR p.id IN (SELECT id FROM temp.annuaire_fts "
	" WHERE annuaire_fts MATCH ?1 AND kind = 'promeneur')) "
	"AND (?2 IS NULL OR p.structure = ?2) AND (?3 IS NULL OR p.statut = ?3) "
	"AND (?4 IS NULL OR p.public = ?4) "
	"ORDER BY p.nom COLLATE NOCASE, p.prenom COLLATE NOCASE, p.id LIMIT ?5";

static const char structures_sql[] =
	"SELECT s.id, s.nom, s.commune, s.type, "
	"(SELECT count(*) FROM promeneur p WHERE p.structure = s.id AND p.statut = 'labellise') "
	"FROM structure s "
	"WHERE (?1 IS NULL OR s.id IN (SELECT id FROM temp.annuaire_fts "
	" WHERE annuaire_fts MATCH ?1 AND kind = 'structure')) "
	"AND (?2 IS NULL OR s.id = ?2) "
	"AND ((?3 IS NULL AND ?4 IS NULL) OR EXISTS (SELECT 1 FROM promeneur p "
	" WHERE p.structure = s.id AND (?3 IS NULL OR p.statut = ?3) "
	" AND (?4 IS NULL OR p.public = ?4))) "
	"ORDER BY s.nom COLLATE NOCASE, s.id LIMIT ?5";

static int prepare_list(struct ui_ctx *c, const char *sql, const struct filtres *f,
			sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(c->db, sql, -1, st, NULL) != SQLITE_OK)
		return RELAIS_EDB;
	bind_opt(*st, 1, f->match.len ? buf_str(&f->match) : NULL);
	bind_opt(*st, 2, f->structure);
	bind_opt(*st, 3, f->statut);
	bind_opt(*st, 4, f->public_);
	sqlite3_bind_int(*st, 5, MAX_RESULTS + 1);
	return 0;
}

static int count_line(struct buf *b, size_t n, const char *one, const char *many,
		      const char *none)
{
	if (n > MAX_RESULTS)
		return buf_printf(b, "<p class=\"compte\">Plus de %d %s : précisez la recherche.</p>\n",
				  MAX_RESULTS, many);
	if (n == 0)
		return buf_printf(b, "<p class=\"compte\">%s</p>\n", none);
	return buf_printf(b, "<p class=\"compte\">%zu %s.</p>\n", n, n > 1 ? many : one);
}


/* The words of one result section of the directory. */
struct section {
	const char *id;       /* the heading's id */
	const char *title;
	const char *one, *many, *none; /* for count_line() */
	const char *caption;  /* the table's */
};

/* A result section: heading, count, and the table of rows when any. */
static int results_section(struct ui_ctx *c, const struct section *sec,
			   const char *const *heads, const struct buf *rows, size_t n)
{
	buf_printf(c->out, "<section aria-labelledby=\"%s\">\n<h2 id=\"%s\">%s</h2>\n",
		   sec->id, sec->id, sec->title);
	count_line(c->out, n, sec->one, sec->many, sec->none);
	if (n) {
		html_table_begin(c->out, sec->caption, heads);
		buf_append(c->out, rows->data, rows->len);
		html_table_end(c->out);
	}
	buf_puts(c->out, "</section>\n");
	return buf_error(c->out);
}

/* Ends a results query: finalizes st, then shows the section unless
 * the query failed (last is a RELAIS_E* code or the last sqlite3_step
 * result) or the rows did not fit their buffer; releases rows. */
static int results_end(struct ui_ctx *c, const struct section *sec, const char *const *heads,
		       struct buf *rows, size_t n, sqlite3_stmt *st, int last)
{
	int rc = last < 0 ? last
		: last != SQLITE_ROW && last != SQLITE_DONE ? relais_sqlite_error(last) : 0;
	sqlite3_finalize(st);
	if (!rc)
		rc = buf_error(rows);
	if (!rc)
		rc = results_section(c, sec, heads, rows, n);
	buf_release(rows);
	return rc;
}

static int promeneurs_table(struct ui_ctx *c, const struct filtres *f, size_t *count)
{
	static const char *const heads[] = { "Nom", "Structure", "Statut", "Public", "Courriel", NULL };
	struct buf rows = BUF_INIT(UI_MAX_PAGE);
	sqlite3_stmt *st = NULL;
	size_t n = 0;
	int s = SQLITE_DONE, rc = prepare_list(c, promeneurs_sql, f, &st);
	while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
		if (++n > MAX_RESULTS)
			break;
		char name[512], href[64], shref[64];
		snprintf(name, sizeof(name), "%s %s", ui_col_text(st, 2), ui_col_text(st, 1));
		snprintf(href, sizeof(href), "/promeneurs/%s", ui_col_text(st, 0));
		snprintf(shref, sizeof(shref), "/structures/%s", ui_col_text(st, 3));
		buf_puts(&rows, "<tr>");
		html_row_head(&rows, name, href);
		buf_puts(&rows, "<td>");
		if (sqlite3_column_type(st, 3) != SQLITE_NULL)
			html_link(&rows, shref, ui_col_text(st, 4));
		buf_puts(&rows, "</td>");
		html_cell(&rows, ui_value_label(ui_col_text(st, 5)));
		html_cell(&rows, ui_value_label(ui_col_text(st, 6)));
		html_cell(&rows, ui_col_text(st, 7));
		buf_puts(&rows, "</tr>\n");
	}
	static const struct section sec = { "titre-promeneurs", "Promeneurs", "promeneur", "promeneurs",
					     "Aucun promeneur ne correspond.", "Promeneurs trouvés" };
	*count = n;
	return results_end(c, &sec, heads, &rows, n, st, rc ? rc : s);
}

static int structures_table(struct ui_ctx *c, const struct filtres *f, size_t *count)
{
	static const char *const heads[] = { "Nom", "Commune", "Type", "Promeneurs labellisés", NULL };
	struct buf rows = BUF_INIT(UI_MAX_PAGE);
	sqlite3_stmt *st = NULL;
	size_t n = 0;
	int s = SQLITE_DONE, rc = prepare_list(c, structures_sql, f, &st);
	while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
		if (++n > MAX_RESULTS)
			break;
		char href[64], num[24];
		snprintf(href, sizeof(href), "/structures/%s", ui_col_text(st, 0));
		snprintf(num, sizeof(num), "%lld", (long long)sqlite3_column_int64(st, 4));
		buf_puts(&rows, "<tr>");
		html_row_head(&rows, ui_col_text(st, 1), href);
		html_cell(&rows, ui_col_text(st, 2));
		html_cell(&rows, ui_value_label(ui_col_text(st, 3)));
		html_cell(&rows, num);
		buf_puts(&rows, "</tr>\n");
	}
	static const struct section sec = { "titre-structures", "Structures", "structure", "structures",
					     "Aucune structure ne correspond.", "Structures trouvées" };
	*count = n;
	return results_end(c, &sec, heads, &rows, n, st, rc ? rc : s);
}

static int results(struct ui_ctx *c, const struct filtres *f)
{
	size_t np = 0, ns = 0;
	int rc = 0;
	if (strcmp(f->type, "structures"))
		rc = promeneurs_table(c, f, &np);
	if (!rc && strcmp(f->type, "promeneurs"))
		rc = structures_table(c, f, &ns);
	return rc;
}

/* The structures as options of the filter. */
static int structure_options(struct ui_ctx *c, const char *selected)
{
	sqlite3_stmt *st = NULL;
	int s;
	if (sqlite3_prepare_v2(c->db, "SELECT id, nom, commune FROM structure "
			       "ORDER BY nom COLLATE NOCASE, id", -1, &st, NULL) != SQLITE_OK)
		return RELAIS_EDB;
	buf_puts(c->out, "<div class=\"champ\"><label for=\"structure\">Structure</label>\n"
		 "<select id=\"structure\" name=\"structure\">\n<option value=\"\">Toutes</option>\n");
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = ui_col_text(st, 0);
		buf_printf(c->out, "<option value=\"%s\"%s>", util_is_uuid(id) ? id : "",
			   selected && !strcmp(selected, id) ? " selected" : "");
		buf_puts_html(c->out, ui_col_text(st, 1));
		if (*ui_col_text(st, 2)) {
			buf_puts(c->out, " (");
			buf_puts_html(c->out, ui_col_text(st, 2));
			buf_putc(c->out, ')');
		}
		buf_puts(c->out, "</option>\n");
	}
	sqlite3_finalize(st);
	buf_puts(c->out, "</select></div>\n");
	return buf_error(c->out);
}

static int enum_select(struct ui_ctx *c, const char *name, const char *label, const char *col,
		       const char *selected)
{
	const struct model_column *mc = model_column_by_name(model_table_by_name("promeneur"), col);
	buf_printf(c->out, "<div class=\"champ\"><label for=\"%s\">%s</label>\n"
		   "<select id=\"%s\" name=\"%s\">\n<option value=\"\">Tous</option>\n",
		   name, label, name, name);
	for (size_t i = 0; mc && mc->values && mc->values[i]; i++) {
		buf_printf(c->out, "<option value=\"%s\"%s>", mc->values[i],
			   selected && !strcmp(selected, mc->values[i]) ? " selected" : "");
		buf_puts_html(c->out, ui_value_label(mc->values[i]));
		buf_puts(c->out, "</option>\n");
	}
	buf_puts(c->out, "</select></div>\n");
	return buf_error(c->out);
}

static int page_annuaire(struct ui_ctx *c)
{
	struct filtres f;
	int rc = read_filtres(c, &f);
	if (rc == RELAIS_EINVAL) {
		buf_release(&f.match);
		return ui_error_page(c, 400, "Recherche trop longue.");
	}
	if (rc)
		goto out;
	/* The instant search asks for the results alone. */
	if (ui_query(c, "partiel")) {
		rc = results(c, &f);
		goto out;
	}
	ui_page_begin(c, "Annuaire", "annuaire");
	if (!c->read_only)
		buf_puts(c->out, "<p class=\"actions\"><a class=\"bouton\" href=\"/structures/nouvelle\">"
			 "Nouvelle structure</a> <a class=\"bouton\" href=\"/promeneurs/nouveau\">"
			 "Nouveau promeneur</a></p>\n");
	buf_puts(c->out, "<form method=\"get\" action=\"/annuaire\" role=\"search\" "
		 "class=\"recherche\" id=\"form-annuaire\">\n"
		 "<div class=\"champ\"><label for=\"q\">Rechercher</label>\n"
		 "<p class=\"aide\" id=\"q-aide\">Nom, prénom, courriel, structure, commune… "
		 "Les résultats s'affichent pendant la saisie.</p>\n"
		 "<input type=\"search\" id=\"q\" name=\"q\" aria-describedby=\"q-aide\" "
		 "aria-controls=\"resultats\" autocomplete=\"off\" value=\"");
	buf_puts_html(c->out, f.q);
	buf_printf(c->out, "\"></div>\n<div class=\"champ\"><label for=\"type\">Afficher</label>\n"
		   "<select id=\"type\" name=\"type\">\n"
		   "<option value=\"tous\"%s>Promeneurs et structures</option>\n"
		   "<option value=\"promeneurs\"%s>Promeneurs</option>\n"
		   "<option value=\"structures\"%s>Structures</option>\n</select></div>\n",
		   !strcmp(f.type, "tous") ? " selected" : "",
		   !strcmp(f.type, "promeneurs") ? " selected" : "",
		   !strcmp(f.type, "structures") ? " selected" : "");
	rc = structure_options(c, f.structure);
	if (rc)
		goto out;
	enum_select(c, "statut", "Statut", "statut", f.statut);
	enum_select(c, "public", "Public", "public", f.public_);
	buf_puts(c->out, "<p><button type=\"submit\">Filtrer</button> "
		 "<a href=\"/annuaire\">Tout effacer</a></p>\n</form>\n"
		 "<div id=\"resultats\" aria-live=\"polite\">\n");
	rc = results(c, &f);
	buf_puts(c->out, "</div>\n");
	ui_page_end(c);
out:
	buf_release(&f.match);
	return rc;
}

void ui_annuaire_routes(struct ui *u)
{
	ui_route(u, "GET", "/annuaire", page_annuaire);
}
