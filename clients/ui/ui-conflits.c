/*
 * ui-conflits.c - the /conflits page of relais ui: each open conflict shown
 * side by side, mine and theirs, with who and when, and a choice that
 * settles it through conflicts_resolve(), the code path of "relais
 * conflits trancher ID --garder mien|leur".
 *
 * Values come from sync_conflict as JSON texts (docs/sync.md): one value for
 * a column conflict, the row as an object for a deletion conflict. They are
 * shown as the model describes their column: oui/non for booleans, the
 * referenced row's name for references.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include "../replica/conflicts.h"
#include "ui-html.h"
#include "ui.h"

#define ID_MAX 64  /* longer identifiers name nothing */

/* The page of a row, for the tables that have one; NULL otherwise. */
static const char *row_page(const char *table)
{
	static const struct {
		const char *table, *prefix;
	} pages[] = {
		{ "structure", "/structures/" },
		{ "promeneur", "/promeneurs/" },
		{ "event", "/evenements/" },
		{ "inbound_mail", "/courrier/" },
	};
	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
		if (!strcmp(pages[i].table, table))
			return pages[i].prefix;
	return NULL;
}

/*
 * Where a row is shown: its own page, or for a row without one (a
 * presence, a bilan, a participation...) the page of the first row it
 * references that has one (its promeneur, structure or event). Writes the
 * path into href; returns 0 with href "" when there is none.
 */
static int row_href(struct ui_ctx *c, const char *table, const char *id, struct buf *href)
{
	const struct model_table *t = model_table_by_name(table);
	const char *page = row_page(table);
	if (page) {
		buf_puts(href, page);
		return html_url(href, id);
	}
	for (size_t i = 0; t && i < t->ncolumns; i++) {
		const struct model_column *col = &t->columns[i];
		char sql[256];
		sqlite3_stmt *st = NULL;
		if (col->kind != MODEL_REF || col->since > MODEL_SCHEMA_VERSION ||
		    !(page = row_page(col->ref)))
			continue;
		snprintf(sql, sizeof(sql), "SELECT \"%s\" FROM \"%s\" WHERE id = ? AND \"%s\" IN "
			 "(SELECT id FROM \"%s\")", col->name, t->name, col->name, col->ref);
		if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
			return RELAIS_EDB;
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			buf_puts(href, page);
			html_url(href, (const char *)sqlite3_column_text(st, 0));
			sqlite3_finalize(st);
			return buf_error(href);
		}
		sqlite3_finalize(st);
	}
	return 0;
}

/* "23/11/2026 à 10:45:25" in local time, with a machine-readable datetime. */
static int when_html(struct buf *b, const struct conflict_side *s)
{
	char iso[21], local[64];
	struct tm tm;
	time_t t;

	if (!s->ms)
		return buf_puts(b, s->when[0] ? s->when : "date inconnue");
	t = (time_t)(s->ms / 1000);
	if (!localtime_r(&t, &tm) || !strftime(local, sizeof(local), "%d/%m/%Y à %H:%M:%S", &tm))
		return buf_puts_html(b, s->when);
	util_iso8601(s->ms, iso);
	return buf_printf(b, "<time datetime=\"%s\">%s</time>", iso, local);
}

/* One JSON value of column col (NULL when unknown) as people read it. */
static int value_html(struct ui_ctx *c, const struct model_column *col, json_t *v)
{
	char num[32];
	struct buf *b = c->out;

	if (!v || json_is_null(v))
		return buf_puts(b, "<em>(vide)</em>");
	if (json_is_integer(v)) {
		if (col && col->kind == MODEL_BOOL)
			return buf_puts(b, json_integer_value(v) ? "oui" : "non");
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		return buf_puts(b, num);
	}
	if (json_is_real(v)) {
		snprintf(num, sizeof(num), "%g", json_real_value(v));
		return buf_puts(b, num);
	}
	if (!json_is_string(v))
		return buf_puts(b, "<em>(valeur illisible)</em>");
	const char *s = json_string_value(v);
	if (col && col->kind == MODEL_ENUM)
		return buf_puts_html(b, ui_value_label(s));
	if (col && col->kind == MODEL_REF) {
		struct buf h = BUF_INIT(256);
		char *title = ui_row_title(c, col->ref, s);
		int rc = title ? row_href(c, col->ref, s, &h) : 0;
		if (!rc)
			rc = h.len ? html_link(b, buf_str(&h), title) : buf_puts_html(b, title ? title : s);
		free(title);
		buf_release(&h);
		return rc;
	}
	if (col && (col->flags & MODEL_MULTILINE)) {
		buf_puts(b, "<span class=\"multiligne\">");
		buf_puts_html(b, s);
		return buf_puts(b, "</span>");
	}
	return buf_puts_html(b, s);
}

/* A side's value: text is the JSON text of sync_conflict (NULL for SQL NULL). */
static int side_value_html(struct ui_ctx *c, const struct conflict *k, const struct model_table *t,
			   const struct conflict_side *s)
{
	struct buf *b = c->out;
	json_t *v = s->value ? json_loads(s->value, JSON_DECODE_ANY, NULL) : NULL;
	int rc = 0;

	if (strcmp(k->kind, "suppression")) {
		const struct model_column *col = t && k->column ? model_column_by_name(t, k->column)
					       : NULL;
		if (s->value && !v)
			buf_puts_html(b, s->value);   /* not JSON: shown as stored */
		else
			value_html(c, col, v);
		json_decref(v);
		return rc;
	}
	if (!v || json_is_null(v)) {
		buf_puts(b, "<strong>ligne supprimée</strong>");
	} else if (json_is_object(v)) {
		const char *key;
		json_t *val;
		buf_puts(b, "<strong>ligne modifiée :</strong><dl class=\"ligne\">");
		json_object_foreach(v, key, val) {
			const struct model_column *col = t ? model_column_by_name(t, key) : NULL;
			/* id, dept, unknown and empty columns say nothing to people. */
			if (!col || json_is_null(val))
				continue;
			html_tag(b, "dt", col->label);
			buf_puts(b, "<dd>");
			value_html(c, col, val);
			buf_puts(b, "</dd>");
		}
		buf_puts(b, "</dl>");
	} else {
		buf_puts_html(b, s->value);
	}
	json_decref(v);
	return rc;
}

static int who_html(struct buf *b, const struct conflict_side *s)
{
	buf_puts_html(b, s->login && s->login[0] ? s->login : "compte inconnu");
	if (s->node && s->node[0]) {
		buf_puts(b, " <span class=\"discret\">(poste ");
		buf_puts_html(b, s->node);
		buf_puts(b, ")</span>");
	}
	return buf_error(b);
}

/*
 * How a deleted row is named: from its image in the lost side ("prenom
 * nom", else "nom", else "titre"), malloc'd; NULL when it has none.
 */
static char *deleted_title(const struct conflict *k)
{
	json_t *v = k->lost.value ? json_loads(k->lost.value, 0, NULL) : NULL;
	const char *prenom = json_string_value(json_object_get(v, "prenom"));
	const char *nom = json_string_value(json_object_get(v, "nom"));
	const char *titre = json_string_value(json_object_get(v, "titre"));
	char *out = NULL;
	if (prenom && nom) {
		size_t n = strlen(prenom) + strlen(nom) + 2;
		if ((out = malloc(n)))
			snprintf(out, n, "%s %s", prenom, nom);
	} else if (nom || titre) {
		out = strdup(nom ? nom : titre);
	}
	json_decref(v);
	return out;
}

/* The heading of a conflict: the row's table, its name linked to where it
 * is shown while it exists, and the column. */
static int heading_html(struct ui_ctx *c, const struct conflict *k, const struct model_table *t,
			int n)
{
	struct buf *b = c->out;
	const struct model_column *col = t && k->column ? model_column_by_name(t, k->column) : NULL;
	struct buf href = BUF_INIT(512);
	char *title = ui_row_title(c, k->table, k->row);
	char what[160];
	int rc = title ? row_href(c, k->table, k->row, &href) : 0;

	if (rc)
		goto out;
	buf_printf(b, "<h2 id=\"c-%d\">", n);
	if (!title && !strcmp(k->kind, "suppression"))
		title = deleted_title(k);
	snprintf(what, sizeof(what), "%s ", t ? t->label : k->table);
	/* "l'événement " reads as a sentence start: capitalise the article. */
	if (what[0] >= 'a' && what[0] <= 'z')
		what[0] = (char)(what[0] - 'a' + 'A');
	buf_puts_html(b, what);
	/* A row that is gone has no page to link to. */
	if (href.len)
		html_link(b, buf_str(&href), title);
	else
		buf_puts_html(b, title ? title : k->row);
	if (!strcmp(k->kind, "suppression")) {
		buf_puts(b, " : modifiée d'un côté, supprimée de l'autre");
	} else {
		buf_puts(b, " : ");
		buf_puts_html(b, col ? col->label : k->column ? k->column : "?");
	}
	buf_puts(b, "</h2>\n");
	rc = buf_error(b);
out:
	free(title);
	buf_release(&href);
	return rc;
}

struct page_state {
	struct ui_ctx *c;
	int n;
};

static int conflict_html(const struct conflict *k, void *arg)
{
	struct page_state *ps = arg;
	struct ui_ctx *c = ps->c;
	struct buf *b = c->out;
	const struct model_table *t = model_table_by_name(k->table);
	/* Mine on the left, theirs on the right, as the choice reads. */
	const struct conflict_side *mine = k->mine_lost ? &k->lost : &k->kept;
	const struct conflict_side *theirs = k->mine_lost ? &k->kept : &k->lost;
	const char *hmine = k->authored ? "Votre valeur" : "Valeur en place";
	const char *htheirs = k->authored ? "L'autre valeur" : "Valeur écartée";
	int rc;

	ps->n++;
	buf_printf(b, "<section class=\"conflit\" aria-labelledby=\"c-%d\" id=\"conflit-", ps->n);
	buf_puts_html(b, k->id);
	buf_puts(b, "\">");
	if ((rc = heading_html(c, k, t, ps->n)))
		return rc;
	buf_puts(b, "<table class=\"cote-a-cote\"><caption>Les deux valeurs en "
		 "conflit</caption><thead><tr><td></td><th scope=\"col\">");
	buf_puts_html(b, hmine);
	buf_puts(b, "</th><th scope=\"col\">");
	buf_puts_html(b, htheirs);
	buf_puts(b, "</th></tr></thead><tbody>\n<tr><th scope=\"row\">Valeur</th><td>");
	if ((rc = side_value_html(c, k, t, mine)))
		return rc;
	buf_puts(b, "</td><td>");
	if ((rc = side_value_html(c, k, t, theirs)))
		return rc;
	buf_puts(b, "</td></tr>\n<tr><th scope=\"row\">Par</th><td>");
	who_html(b, mine);
	buf_puts(b, "</td><td>");
	who_html(b, theirs);
	buf_puts(b, "</td></tr>\n<tr><th scope=\"row\">Quand</th><td>");
	when_html(b, mine);
	buf_puts(b, "</td><td>");
	when_html(b, theirs);
	buf_printf(b, "</td></tr>\n<tr><th scope=\"row\">État</th><td>%s</td><td>%s</td>"
		   "</tr>\n</tbody></table>\n",
		   k->mine_lost ? "écartée" : "en place",
		   k->mine_lost ? "en place" : "écartée");
	if (k->resolution)
		return buf_printf(b, "<p class=\"resolu\">Résolu : %s.</p></section>\n",
				  !strcmp(k->resolution, "gagnant") ? "la valeur en place a été gardée"
				  : "la valeur écartée a été rétablie");
	if (c->read_only)
		return buf_puts(b, "<p>Ce compte est en lecture seule : il ne peut pas trancher.</p>"
				"</section>\n");
	buf_puts(b, "<form method=\"post\" action=\"/conflits/");
	html_url(b, k->id);
	buf_puts(b, "\" class=\"choix\">");
	ui_csrf_input(c);
	/* The callback's answer stops the walk at the first failed append. */
	return buf_printf(b, "<fieldset><legend>Quelle valeur garder ?</legend>"
			  "<button type=\"submit\" name=\"garder\" value=\"mine\">Garder %s</button> "
			  "<button type=\"submit\" name=\"garder\" value=\"theirs\">Garder %s</button>"
			  "</fieldset></form></section>\n",
			  k->authored ? "ma valeur" : "la valeur en place",
			  k->authored ? "l'autre valeur" : "la valeur écartée");
}

/* ---- in bulk ---- */

/* The filters of a bulk settlement, as fields of a form. */
static int filter_fields(struct ui_ctx *c, const char *table, const char *champ, const char *auteur,
			 const char *keep, int hidden)
{
	struct buf *b = c->out;
	const char *v[] = { table, champ, auteur };
	const char *names[] = { "table", "champ", "auteur" };
	const char *labels[] = { "Table (structure, promeneur…)", "Champ (telephone, « Téléphone »…)",
				 "Auteur (identifiant)" };
	int rc = 0;
	for (int i = 0; i < 3 && !rc; i++) {
		if (hidden) {
			rc = buf_printf(b, "<input type=\"hidden\" name=\"%s\" value=\"", names[i]);
		} else {
			rc = buf_printf(b, "<p class=\"champ\"><label for=\"bloc-%s\">", names[i]);
			if (!rc)
				rc = buf_puts_html(b, labels[i]);
			if (!rc)
				rc = buf_printf(b, "</label> <input id=\"bloc-%s\" name=\"%s\" value=\"",
						names[i], names[i]);
		}
		if (!rc)
			rc = buf_puts_html(b, v[i] ? v[i] : "");
		if (!rc)
			rc = buf_puts(b, hidden ? "\">\n" : "\"></p>\n");
	}
	if (!rc && hidden)
		rc = buf_printf(b, "<input type=\"hidden\" name=\"garder\" value=\"%s\">\n",
				keep && !strcmp(keep, "theirs") ? "theirs" : "mine");
	else if (!rc)
		rc = buf_printf(b, "<p class=\"champ\"><label for=\"bloc-garder\">Garder</label> "
				"<select id=\"bloc-garder\" name=\"garder\"><option value=\"mine\">votre "
				"valeur (ou celle en place)</option><option value=\"theirs\"%s>l'autre valeur"
				"</option></select></p>\n", keep && !strcmp(keep, "theirs") ? " selected" : "");
	return rc;
}

static int bulk_form(struct ui_ctx *c)
{
	int rc = buf_puts(c->out, "<details class=\"bloc\"><summary>Trancher en bloc</summary>\n"
			  "<form method=\"get\" action=\"/conflits/bloc\">\n");
	if (!rc)
		rc = filter_fields(c, NULL, NULL, NULL, NULL, 0);
	if (!rc)
		rc = buf_puts(c->out, "<button type=\"submit\">Voir ce qui sera fait</button>\n"
			      "</form>\n</details>\n");
	return rc;
}

struct bulk_page {
	struct ui_ctx *c;
	int keep_mine;
	size_t n;
	int rc;
};

static int bulk_item(const struct conflict *k, void *arg)
{
	struct bulk_page *bp = arg;
	struct buf *b = bp->c->out;
	if (bp->n++ >= 50)
		return 0;
	int keep_lost = bp->keep_mine ? k->mine_lost : !k->mine_lost;
	const struct model_table *t = model_table_by_name(k->table);
	const struct model_column *col = t && k->column ? model_column_by_name(t, k->column) : NULL;
	char *title = conflicts_row_title(bp->c->db, k->table, k->row);
	json_t *v = NULL;
	const char *val = keep_lost ? k->lost.value : k->kept.value;
	int rc = buf_puts(b, "<li>");
	if (!rc)
		rc = buf_puts_html(b, t ? t->label : k->table);
	if (!rc)
		rc = buf_puts(b, " « ");
	if (!rc)
		rc = buf_puts_html(b, title ? title : k->row);
	if (!rc)
		rc = buf_puts(b, " », ");
	if (!rc)
		rc = buf_puts_html(b, col ? col->label : k->column ? k->column : "fiche supprimée");
	if (!rc)
		rc = buf_puts(b, " : garder ");
	v = val ? json_loads(val, JSON_DECODE_ANY, NULL) : NULL;
	if (!rc)
		rc = value_html(bp->c, col, v ? v : json_null());
	if (!rc)
		rc = buf_puts(b, keep_lost ? " (la valeur écartée)</li>\n" : "</li>\n");
	json_decref(v);
	free(title);
	bp->rc = rc;
	return rc;
}

/* What a bulk settlement will do, with the button that does it. */
static int page_bulk_preview(struct ui_ctx *c)
{
	const char *table = ui_query(c, "table"), *champ = ui_query(c, "champ");
	const char *auteur = ui_query(c, "auteur"), *keep = ui_query(c, "garder");
	struct conflicts_filter f;
	struct bulk_page bp = { c, !(keep && !strcmp(keep, "theirs")), 0, 0 };
	char err[512];
	size_t matched = 0, done = 0;

	if (c->read_only)
		return RELAIS_EPERM;
	if (conflicts_filter_set(&f, 0, table, champ, auteur, err, sizeof(err)))
		return ui_error_page(c, 422, err);
	int rc = ui_page_begin(c, "Trancher en bloc", "conflits");
	if (!rc)
		rc = buf_puts(c->out, "<p><a href=\"/conflits\">Retour aux conflits</a></p>\n<ul>\n");
	if (!rc && conflicts_bulk(c->replica, &f, bp.keep_mine, 0, bulk_item, &bp, &matched, &done, err,
				  sizeof(err)))
		rc = bp.rc ? bp.rc : RELAIS_EDB;
	if (!rc)
		rc = buf_puts(c->out, "</ul>\n");
	if (!rc && matched > 50)
		rc = buf_printf(c->out, "<p>… et %zu autre%s.</p>\n", matched - 50,
				util_pluriel((long long)(matched - 50)));
	if (!rc && !matched)
		rc = buf_puts(c->out, "<p class=\"vide\">Aucun conflit ouvert ne correspond.</p>\n");
	if (!rc && matched) {
		rc = buf_printf(c->out, "<p>%zu conflit%s %s tranché%s ainsi ; rien n'est modifié "
				"avant de confirmer.</p>\n<form method=\"post\" action=\"/conflits/bloc\">\n",
				matched, matched > 1 ? "s" : "", matched > 1 ? "seront" : "sera",
				matched > 1 ? "s" : "");
		if (!rc)
			rc = ui_csrf_input(c);
		if (!rc)
			rc = filter_fields(c, table, champ, auteur, keep, 1);
		if (!rc)
			rc = buf_puts(c->out, "<button type=\"submit\" class=\"principal\">Trancher ces "
				      "conflits</button>\n</form>\n");
	}
	if (!rc)
		rc = ui_page_end(c);
	return rc;
}

static int page_bulk_apply(struct ui_ctx *c)
{
	const char *keep = ui_form(c, "garder");
	struct conflicts_filter f;
	char err[512], flash[256];
	size_t matched = 0, done = 0;

	if (c->read_only)
		return RELAIS_EPERM;
	if (!keep || (strcmp(keep, "mine") && strcmp(keep, "theirs")))
		return ui_error_page(c, 400, "Choix attendu : garder votre valeur ou l'autre.");
	if (conflicts_filter_set(&f, 0, ui_form(c, "table"), ui_form(c, "champ"), ui_form(c, "auteur"),
				 err, sizeof(err)))
		return ui_error_page(c, 422, err);
	if (conflicts_bulk(c->replica, &f, !strcmp(keep, "mine"), 1, NULL, NULL, &matched, &done, err,
			   sizeof(err)))
		return ui_error_page(c, 500, err);
	snprintf(flash, sizeof(flash), "%zu conflit%s tranché%s ; les décisions seront envoyées à la "
		 "prochaine synchronisation.", done, done > 1 ? "s" : "", done > 1 ? "s" : "");
	return ui_redirect(c, "/conflits", flash);
}

static int page_list(struct ui_ctx *c)
{
	const char *q = ui_query(c, "tous");
	int all = q && !strcmp(q, "1");
	struct page_state ps = { c, 0 };
	char *node = NULL;
	int rc;

	ui_page_begin(c, "Conflits", "conflits");
	buf_puts(c->out, "<p>Un conflit naît quand deux personnes ont modifié la même "
		 "valeur sans se voir : la modification la plus récente est gardée, "
		 "l'autre est conservée ici pour que vous choisissiez. Votre choix est "
		 "envoyé au serveur à la prochaine synchronisation.</p>\n");
	buf_puts(c->out, all ? "<p><a href=\"/conflits\">Voir seulement les conflits "
		 "ouverts</a></p>\n" : "<p><a href=\"/conflits?tous=1\">Voir aussi les "
		 "conflits déjà résolus</a></p>\n");
	rc = !all && !c->read_only ? bulk_form(c) : 0;
	if (!rc)
		rc = replica_meta(c->replica, "node", &node);
	if (!rc)
		rc = conflicts_each(c->db, node, all, NULL, conflict_html, &ps);
	if (!rc && !ps.n)
		buf_printf(c->out, "<p class=\"vide\">%s</p>\n",
			   all ? "Aucun conflit." : "Aucun conflit ouvert : rien à trancher.");
	ui_page_end(c);
	free(node);
	return rc;
}

static int page_resolve(struct ui_ctx *c)
{
	const char *id = ui_param(c, "id");
	const char *keep = ui_form(c, "garder");
	char err[512], flash[256];
	int restored = 0;

	if (!id || strlen(id) > ID_MAX)
		return RELAIS_ENOTFOUND;
	if (!keep || (strcmp(keep, "mine") && strcmp(keep, "theirs")))
		return ui_error_page(c, 400, "Choix attendu : garder votre valeur ou l'autre.");
	if (c->read_only)
		return RELAIS_EPERM;
	int e = conflicts_resolve(c->replica, id, !strcmp(keep, "mine"), &restored, err,
				  sizeof(err));
	if (e == RELAIS_ENOTFOUND)
		return RELAIS_ENOTFOUND;
	if (e == RELAIS_EEXIST)
		return ui_redirect(c, "/conflits", "Ce conflit était déjà résolu : rien n'a été modifié.");
	if (e == RELAIS_EPERM)
		return RELAIS_EPERM;
	if (e)
		return ui_error_page(c, 500, err);
	snprintf(flash, sizeof(flash), "Conflit résolu : %s. La décision sera envoyée à la "
		 "prochaine synchronisation.", restored ? "la valeur écartée est rétablie"
		 : "la valeur en place est gardée");
	return ui_redirect(c, "/conflits", flash);
}

void ui_conflits_routes(struct ui *u)
{
	ui_route(u, "GET", "/conflits", page_list);
	ui_route(u, "GET", "/conflits/bloc", page_bulk_preview);
	ui_route(u, "POST", "/conflits/bloc", page_bulk_apply);
	ui_route(u, "POST", "/conflits/{id}", page_resolve);
}
