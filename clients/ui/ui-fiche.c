/*
 * ui-fiche.c - the fiches of relais ui: the structure and promeneur pages,
 * and one generic list, page and form for every other table with a screen
 * (presences, candidatures, bilans, requests, partners, contacts, resource
 * persons), described as data (struct fiche).
 *
 * Forms are written from the model's descriptions with the helpers of
 * ui-form.c and checked with the command line's rules; each message stands
 * next to its field and in a summary at the top. Writes are one captured
 * local edit each, queued for the next sync.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ui-html.h"
#include "ui.h"

#define MAX_SQL 16384

static int col_live(const struct model_column *c)
{
	return c->since <= MODEL_SCHEMA_VERSION;
}

/* ---- pages ---- */

struct related;

struct fiche {
	const char *table;     /* "structure", "promeneur", "presence"... */
	const char *prefix;    /* "/structures/": PREFIX ID is the row's page, PREFIX ID
				  "/modifier" its form */
	const char *nouveau;   /* "/structures/nouvelle" */
	const char *title_new; /* "Nouvelle structure" */
	int has_page;          /* 0: once saved, the row returns to its promeneur's or
				  structure's page */
	const char *add;       /* the link that creates one from another page */
	const char *list;      /* the title of its list at /fiches/TABLE, or NULL */
	const char *menu;      /* the menu entry its pages belong to */
	const struct related *rel; /* the rows shown on its page */
	size_t nrel;
	int (*extra)(struct ui_ctx *c, const char *id); /* sections of its own, or NULL */
};

static const struct fiche *sub_fiche(const char *table);

/*
 * The page a row of a sub-fiche belongs to: its promeneur's, else its
 * structure's, read from row id or, for a new row (id NULL), from the
 * query (?promeneur=ID). Writes "/annuaire" when there is none.
 */
static void parent_page(struct ui_ctx *c, const struct model_table *t, const char *id,
			char *out, size_t outlen)
{
	static const char *const parents[] = { "promeneur", "structure" };
	snprintf(out, outlen, "/annuaire");
	for (size_t k = 0; k < 2; k++) {
		if (!model_column_by_name(t, parents[k]))
			continue;
		char *v = NULL;
		if (id) {
			char sql[160];
			sqlite3_stmt *st = NULL;
			snprintf(sql, sizeof(sql), "SELECT \"%s\" FROM \"%s\" WHERE id = ?", parents[k],
				 t->name);
			if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) == SQLITE_OK) {
				sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
				if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
					v = strdup((const char *)sqlite3_column_text(st, 0));
				sqlite3_finalize(st);
			}
		} else if (ui_query(c, parents[k])) {
			v = strdup(ui_query(c, parents[k]));
		}
		int ok = v && util_is_uuid(v);
		if (ok)
			snprintf(out, outlen, "/%ss/%s", parents[k], v);
		free(v);
		if (ok)
			return;
	}
}

int ui_value_html(struct ui_ctx *c, const struct model_column *col, sqlite3_stmt *st, int i,
		  int plain)
{
	struct buf *b = c->out;
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return buf_puts(b, "<span class=\"vide\">non renseigné</span>");
	const char *v = ui_col_text(st, i);
	switch (col->kind) {
	case MODEL_BOOL:
		return buf_puts(b, sqlite3_column_int64(st, i) ? "oui" : "non");
	case MODEL_ENUM:
		return buf_puts_html(b, ui_value_label(v));
	case MODEL_DATE: {
		char d[UTIL_DATE_FR_LEN];
		if (plain)
			return buf_puts_html(b, util_date_fr(v, d, sizeof(d)));
		html_date_fr(v, d, sizeof(d));
		return buf_puts_html(b, d);
	}
	case MODEL_EMAIL:
		if (plain)
			break;
		buf_puts(b, "<a href=\"mailto:");
		buf_puts_html(b, v);
		buf_puts(b, "\">");
		buf_puts_html(b, v);
		buf_puts(b, "</a>");
		return buf_error(b);
	case MODEL_URL:
		if (plain)
			break;
		return !strncmp(v, "http://", 7) || !strncmp(v, "https://", 8) ? html_link(b, v, v)
									       : buf_puts_html(b, v);
	case MODEL_REF: {
		char *title = ui_row_title(c, col->ref, v);
		char href[128];
		if (plain) {
			buf_puts_html(b, title ? title : v);
		} else if (!strcmp(col->ref, "structure") || !strcmp(col->ref, "promeneur")) {
			snprintf(href, sizeof(href), "/%ss/%s", col->ref, v);
			html_link(b, href, title ? title : v);
		} else if (sub_fiche(col->ref) && util_is_uuid(v)) {
			snprintf(href, sizeof(href), "%s%s", sub_fiche(col->ref)->prefix, v);
			html_link(b, href, title ? title : v);
		} else {
			buf_puts_html(b, title ? title : v);
		}
		free(title);
		return buf_error(b);
	}
	case MODEL_PHONE:
		/* Stored as 10 digits; read as pairs, the French way. */
		if (strlen(v) == 10 && strspn(v, "0123456789") == 10)
			return buf_printf(b, "%.2s %.2s %.2s %.2s %.2s", v, v + 2, v + 4, v + 6, v + 8);
		break;
	case MODEL_TEXT:
	case MODEL_INT:
		break;
	}
	if (col->flags & MODEL_MULTILINE) {
		buf_puts(b, "<span class=\"multiligne\">");
		buf_puts_html(b, v);
		return buf_puts(b, "</span>");
	}
	return buf_puts_html(b, v);
}

/* SELECT of every live column of t (after id, dept) for row id. */
static int select_row(struct ui_ctx *c, const struct model_table *t, const char *id,
		      sqlite3_stmt **st)
{
	struct buf sql = BUF_INIT(MAX_SQL);
	buf_puts(&sql, "SELECT id, dept");
	for (size_t i = 0; i < t->ncolumns; i++)
		if (col_live(&t->columns[i]))
			buf_printf(&sql, ", \"%s\"", t->columns[i].name);
	buf_printf(&sql, " FROM \"%s\" WHERE id = ?", t->name);
	int rc = buf_error(&sql);
	if (!rc && sqlite3_prepare_v2(c->db, buf_str(&sql), -1, st, NULL) != SQLITE_OK)
		rc = RELAIS_EDB;
	if (!rc) {
		sqlite3_bind_text(*st, 1, id, -1, SQLITE_TRANSIENT);
		int s = sqlite3_step(*st);
		if (s != SQLITE_ROW) {
			rc = s == SQLITE_DONE ? RELAIS_ENOTFOUND : RELAIS_EDB;
			sqlite3_finalize(*st);
			*st = NULL;
		}
	}
	buf_release(&sql);
	return rc;
}

/* A list of related rows: the SQL's first column is the link of the row
 * head (NULL for none), the second the row head, then one column per
 * remaining header; kinds[k] tells how column k+2 is shown: 't' text, 'e'
 * enumeration, 'd' date, 'b' boolean. */
struct related {
	const char *sub;      /* the table of the rows, for the "Ajouter" link, or NULL */
	const char *title;
	const char *empty;
	const char *sql;      /* ?1 is the row's id */
	const char *const *heads;
	const char *kinds;
	int head_label;       /* the row head is an enumeration's value: its label */
};

static int related_table(struct ui_ctx *c, const struct related *r, const char *parent,
			 const char *id, int n)
{
	sqlite3_stmt *st = NULL;
	struct buf rows = BUF_INIT(UI_MAX_PAGE);
	size_t count = 0;
	int s;
	if (sqlite3_prepare_v2(c->db, r->sql, -1, &st, NULL) != SQLITE_OK)
		return RELAIS_EDB;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		count++;
		buf_puts(&rows, "<tr>");
		html_row_head(&rows, r->head_label ? ui_value_label(ui_col_text(st, 1)) : ui_col_text(st, 1),
			      sqlite3_column_type(st, 0) == SQLITE_NULL ? NULL : ui_col_text(st, 0));
		for (int k = 0; r->kinds[k]; k++) {
			const char *v = ui_col_text(st, k + 2);
			char d[32];
			if (sqlite3_column_type(st, k + 2) == SQLITE_NULL) {
				html_cell(&rows, "");
				continue;
			}
			switch (r->kinds[k]) {
			case 'e':
				html_cell(&rows, ui_value_label(v));
				break;
			case 'd':
				html_date_fr(v, d, sizeof(d));
				html_cell(&rows, d);
				break;
			case 'b':
				html_cell(&rows, sqlite3_column_int64(st, k + 2) ? "oui" : "non");
				break;
			default:
				html_cell(&rows, v);
				break;
			}
		}
		buf_puts(&rows, "</tr>\n");
	}
	sqlite3_finalize(st);
	/* The rows' buffer has its own cap: its error is the page's. */
	buf_fail(c->out, buf_error(&rows));
	buf_printf(c->out, "<section aria-labelledby=\"rel-%d\">\n<h2 id=\"rel-%d\">", n, n);
	buf_puts_html(c->out, r->title);
	buf_printf(c->out, " <span class=\"compte\">(%zu)</span></h2>\n", count);
	if (!count) {
		html_tag(c->out, "p", r->empty);
	} else {
		html_table_begin(c->out, r->title, r->heads);
		buf_append(c->out, rows.data, rows.len);
		html_table_end(c->out);
	}
	if (r->sub && !c->read_only)
		buf_printf(c->out, "<p><a href=\"/fiches/%s/nouvelle?%s=%s\">%s</a></p>\n",
			   r->sub, parent, id, sub_fiche(r->sub)->add);
	buf_puts(c->out, "</section>\n");
	buf_release(&rows);
	return buf_error(c->out);
}

static const char *const h_prom[] = { "Nom", "Statut", "Public", "Fonction", NULL };
static const char *const h_cand[] = { "Candidature", "Promeneur", "Décision", "Comité", NULL };
static const char *const h_bilan[] = { "Bilan", "Période", "Reçu le", "Jeunes connectés", NULL };
static const char *const h_pres[] = { "Réseau", "Nom de profil", "Adresse", NULL };
static const char *const h_event[] = { "Événement", "Date", "Type", "Présence effective", NULL };
static const char *const h_req[] = { "Demande", "Sujet", "Statut", "Réponse le", NULL };
static const char *const h_need[] = { "Thème", "Noté le", "Statut", "Formation prévue", NULL };

static const struct related structure_related[] = {
	{ NULL, "Promeneurs", "Aucun promeneur dans cette structure.",
	  "SELECT '/promeneurs/' || id, coalesce(prenom || ' ', '') || nom, statut, public, fonction "
	  "FROM promeneur WHERE structure = ?1 ORDER BY nom COLLATE NOCASE, prenom, id",
	  h_prom, "eet", 0 },
	{ "candidature", "Candidatures", "Aucune candidature.",
	  "SELECT '/fiches/candidature/' || c.id, "
	  "'Déposée le ' || coalesce(strftime('%d/%m/%Y', c.date_depot), '?'), "
	  "coalesce(p.prenom || ' ' || p.nom, ''), c.decision, c.date_comite FROM candidature c "
	  "LEFT JOIN promeneur p ON p.id = c.promeneur WHERE c.structure = ?1 "
	  "ORDER BY c.date_depot DESC, c.id", h_cand, "ted", 0 },
	{ "bilan", "Bilans", "Aucun bilan reçu.",
	  "SELECT '/fiches/bilan/' || b.id || '/modifier', 'Bilan ' || b.annee || coalesce(' — ' || p.prenom || ' ' || p.nom, ''), "
	  "b.periode, b.date_reception, b.jeunes_connectes FROM bilan b "
	  "LEFT JOIN promeneur p ON p.id = b.promeneur WHERE b.structure = ?1 "
	  "ORDER BY b.annee DESC, b.periode, b.id", h_bilan, "edt", 0 },
};

static const struct related promeneur_related[] = {
	{ "presence", "Présences en ligne", "Aucune présence en ligne enregistrée.",
	  "SELECT '/fiches/presence/' || id || '/modifier', reseau, nom_profil, url FROM presence WHERE promeneur = ?1 "
	  "ORDER BY reseau, nom_profil, id", h_pres, "tt", 1 },
	{ "candidature", "Candidatures", "Aucune candidature.",
	  "SELECT '/fiches/candidature/' || c.id, "
	  "'Déposée le ' || coalesce(strftime('%d/%m/%Y', c.date_depot), '?'), "
	  "coalesce(s.nom, ''), c.decision, c.date_comite FROM candidature c "
	  "LEFT JOIN structure s ON s.id = c.structure WHERE c.promeneur = ?1 "
	  "ORDER BY c.date_depot DESC, c.id", h_cand, "ted", 0 },
	{ "bilan", "Bilans", "Aucun bilan.",
	  "SELECT '/fiches/bilan/' || id || '/modifier', 'Bilan ' || annee, periode, date_reception, jeunes_connectes FROM bilan "
	  "WHERE promeneur = ?1 ORDER BY annee DESC, periode, id", h_bilan, "edt", 0 },
	{ NULL, "Événements suivis", "Aucun événement.",
	  "SELECT '/evenements/' || e.id, e.titre, e.date, e.type, a.presence_effective "
	  "FROM attendance a JOIN event e ON e.id = a.event WHERE a.promeneur = ?1 "
	  "ORDER BY e.date DESC, e.id", h_event, "deb", 0 },
	{ "request", "Demandes", "Aucune demande.",
	  "SELECT '/fiches/request/' || id, coalesce(strftime('%d/%m/%Y', date_demande), 'sans date') || ' : ' || "
	  "substr(question, 1, 80), sujet, statut, date_reponse FROM request "
	  "WHERE promeneur = ?1 ORDER BY date_demande DESC, id", h_req, "eed", 0 },
	{ "need", "Besoins de formation", "Aucun besoin de formation noté.",
	  "SELECT '/fiches/need/' || n.id, n.theme, n.date, n.statut, e.titre FROM need n "
	  "LEFT JOIN event e ON e.id = n.event WHERE n.promeneur = ?1 ORDER BY n.date DESC, n.id",
	  h_need, "det", 0 },
};

static const char *const h_contact[] = { "Contact", "Fonction", "Courriel", "Téléphone", NULL };
static const char *const h_req_who[] = { "Demande", "Demandeur", "Sujet", "Statut", NULL };

/* The requests' lines: when, then the question's start. */
#define REQUEST_HEAD \
	"coalesce(strftime('%d/%m/%Y', r.date_demande), 'sans date') || ' : ' || " \
	"substr(r.question, 1, 80)"

static const struct related structure_more[] = {
	{ "contact", "Contacts", "Aucun contact dans cette structure.",
	  "SELECT '/fiches/contact/' || id, coalesce(prenom || ' ', '') || nom, fonction, email, "
	  "telephone FROM contact WHERE structure = ?1 ORDER BY nom COLLATE NOCASE, prenom, id",
	  h_contact, "ttt", 0 },
	{ NULL, "Demandes de la structure", "Aucune demande de la structure.",
	  "SELECT '/fiches/request/' || r.id, " REQUEST_HEAD ", r.sujet, r.statut, r.date_reponse "
	  "FROM request r WHERE r.structure = ?1 ORDER BY r.date_demande DESC, r.id", h_req, "eed", 0 },
};

static const struct related partenaire_related[] = {
	{ "contact", "Contacts", "Aucun contact pour ce partenaire.",
	  "SELECT '/fiches/contact/' || id, coalesce(prenom || ' ', '') || nom, fonction, email, "
	  "telephone FROM contact WHERE partenaire = ?1 ORDER BY nom COLLATE NOCASE, prenom, id",
	  h_contact, "ttt", 0 },
	{ NULL, "Demandes de ses contacts", "Aucune demande.",
	  "SELECT '/fiches/request/' || r.id, " REQUEST_HEAD ", coalesce(k.prenom || ' ', '') || "
	  "k.nom, r.sujet, r.statut FROM request r JOIN contact k ON k.id = r.contact "
	  "WHERE k.partenaire = ?1 ORDER BY r.date_demande DESC, r.id", h_req_who, "tee", 0 },
};

static const struct related contact_related[] = {
	{ NULL, "Demandes", "Aucune demande de ce contact.",
	  "SELECT '/fiches/request/' || r.id, " REQUEST_HEAD ", r.sujet, r.statut, r.date_reponse "
	  "FROM request r WHERE r.contact = ?1 ORDER BY r.date_demande DESC, r.id", h_req, "eed", 0 },
};

static const struct related resource_related[] = {
	{ NULL, "Demandes orientées vers cette personne", "Aucune demande orientée vers elle.",
	  "SELECT '/fiches/request/' || r.id, " REQUEST_HEAD ", coalesce(p.prenom || ' ' || p.nom, "
	  "s.nom, k.prenom || ' ' || k.nom, k.nom, ''), r.sujet, r.statut FROM request r "
	  "LEFT JOIN promeneur p ON p.id = r.promeneur LEFT JOIN structure s ON s.id = r.structure "
	  "LEFT JOIN contact k ON k.id = r.contact WHERE r.ressource = ?1 "
	  "ORDER BY r.date_demande DESC, r.id", h_req_who, "tee", 0 },
};

static int promeneur_extra(struct ui_ctx *c, const char *id)
{
	buf_printf(c->out, "<p><a href=\"/promeneurs/%s/donnees\">Données personnelles</a> : tout "
		   "ce que ce poste conserve sur cette personne, à consulter, corriger ou "
		   "télécharger.</p>\n", id);
	int rc = ui_procedures_section(c, id);
	return rc ? rc : ui_tasks_section(c, id);
}

static int structure_extra(struct ui_ctx *c, const char *id);

#define REL(a) (a), sizeof(a) / sizeof((a)[0])

static const struct fiche fiche_structure = {
	"structure", "/structures/", "/structures/nouvelle", "Nouvelle structure", 1, NULL, NULL,
	"annuaire", REL(structure_related), structure_extra
};
static const struct fiche fiche_promeneur = {
	"promeneur", "/promeneurs/", "/promeneurs/nouveau", "Nouveau promeneur", 1, NULL, NULL,
	"annuaire", REL(promeneur_related), promeneur_extra
};
/*
 * The other tables with screens, at /fiches/TABLE/...: the rows listed on
 * a promeneur's or a structure's page (which they return to once saved),
 * and those with a list of their own (partners, their contacts, resource
 * persons). One generic page, list and form serve them all.
 */
static const struct fiche sub_fiches[] = {
	{ "presence", "/fiches/presence/", "/fiches/presence/nouvelle", "Nouvelle présence en ligne", 0,
	  "Ajouter une présence en ligne", NULL, "annuaire", NULL, 0, NULL },
	{ "candidature", "/fiches/candidature/", "/fiches/candidature/nouvelle", "Nouvelle candidature", 0,
	  "Ajouter une candidature", NULL, "annuaire", NULL, 0, ui_decisions_section },
	{ "bilan", "/fiches/bilan/", "/fiches/bilan/nouvelle", "Nouveau bilan", 0,
	  "Ajouter un bilan", NULL, "annuaire", NULL, 0, NULL },
	{ "request", "/fiches/request/", "/fiches/request/nouvelle", "Nouvelle demande", 0,
	  "Ajouter une demande", NULL, "demandes", NULL, 0, ui_demande_section },
	{ "partenaire", "/fiches/partenaire/", "/fiches/partenaire/nouvelle", "Nouveau partenaire", 1,
	  "Ajouter un partenaire", "Partenaires et prospects", "partenaires", REL(partenaire_related),
	  NULL },
	{ "contact", "/fiches/contact/", "/fiches/contact/nouvelle", "Nouveau contact", 1,
	  "Ajouter un contact", "Contacts des partenaires et des structures", "partenaires",
	  REL(contact_related), NULL },
	{ "resource", "/fiches/resource/", "/fiches/resource/nouvelle", "Nouvelle personne ressource", 1,
	  "Ajouter une personne ressource", "Personnes ressources", "ressources",
	  REL(resource_related), NULL },
	{ "need", "/fiches/need/", "/fiches/need/nouvelle", "Nouveau besoin de formation", 0,
	  "Noter un besoin de formation", NULL, "formation", NULL, 0, NULL },
};

static const struct fiche *sub_fiche(const char *table)
{
	for (size_t i = 0; table && i < sizeof(sub_fiches) / sizeof(sub_fiches[0]); i++)
		if (!strcmp(sub_fiches[i].table, table))
			return &sub_fiches[i];
	return NULL;
}

static int structure_extra(struct ui_ctx *c, const char *id)
{
	int rc = 0;
	for (size_t i = 0; i < sizeof(structure_more) / sizeof(structure_more[0]) && !rc; i++)
		rc = related_table(c, &structure_more[i], "structure", id, 10 + (int)i);
	return rc;
}

/* A table's label without its article: "la candidature" as "candidature". */
static const char *bare_label(const struct model_table *t)
{
	const char *l = t->label;
	if (!strncmp(l, "le ", 3) || !strncmp(l, "la ", 3))
		return l + 3;
	if (!strncmp(l, "l'", 2))
		return l + 2;
	return l;
}

/* The trail above a page: the directory for its people and structures,
 * else the list of its table, else the page it belongs to. */
static int trail(struct ui_ctx *c, const struct fiche *f, const struct model_table *t,
		 const char *id)
{
	char parent[128];
	buf_puts(c->out, "<p class=\"fil\">");
	if (f->list) {
		buf_printf(c->out, "<a href=\"/fiches/%s\">", f->table);
		buf_puts_html(c->out, f->list);
		buf_puts(c->out, "</a>");
	} else if (f->has_page) {
		buf_puts(c->out, "<a href=\"/annuaire\">Annuaire</a>");
	} else {
		parent_page(c, t, id, parent, sizeof(parent));
		int person = !strncmp(parent, "/promeneurs/", 12);
		char *name = person || !strncmp(parent, "/structures/", 12)
			? ui_row_title(c, person ? "promeneur" : "structure", parent + 12) : NULL;
		if (name)
			html_link(c->out, parent, name);
		else if (!strcmp(f->table, "request"))
			buf_puts(c->out, "<a href=\"/demandes\">Demandes</a>");
		else
			buf_puts(c->out, "<a href=\"/annuaire\">Annuaire</a>");
		free(name);
	}
	buf_puts(c->out, " › ");
	buf_puts_html(c->out, bare_label(t));
	return buf_puts(c->out, "</p>\n");
}

static int page_fiche(struct ui_ctx *c, const struct fiche *f)
{
	const struct model_table *t = model_table_by_name(f->table);
	const char *id = ui_param(c, "id");
	sqlite3_stmt *st = NULL;
	char *title = NULL;
	int rc;
	if (!id || !util_is_uuid(id))
		return RELAIS_ENOTFOUND;
	if ((rc = select_row(c, t, id, &st)))
		return rc;
	title = ui_row_title(c, t->name, id);
	ui_page_begin(c, title ? title : id, f->menu);
	trail(c, f, t, id);
	if (!c->read_only)
		buf_printf(c->out, "<p class=\"actions\"><a class=\"bouton\" href=\"%s%s/modifier\">"
			   "Modifier</a>%s%s%s</p>\n", f->prefix, id,
			   !strcmp(f->table, "structure") ? " <a class=\"bouton\" href=\"/promeneurs/nouveau?structure=" : "",
			   !strcmp(f->table, "structure") ? id : "",
			   !strcmp(f->table, "structure") ? "\">Ajouter un promeneur</a>" : "");
	buf_puts(c->out, "<section aria-labelledby=\"titre-fiche\">\n"
		 "<h2 id=\"titre-fiche\">Fiche</h2>\n<dl class=\"fiche\">\n");
	int k = 2;
	for (size_t i = 0; i < t->ncolumns; i++) {
		const struct model_column *col = &t->columns[i];
		if (!col_live(col))
			continue;
		buf_puts(c->out, "<dt>");
		buf_puts_html(c->out, col->label);
		buf_puts(c->out, "</dt><dd>");
		ui_value_html(c, col, st, k, 0);
		buf_puts(c->out, "</dd>\n");
		k++;
	}
	sqlite3_finalize(st);
	buf_puts(c->out, "</dl>\n</section>\n");
	if (f->extra)
		rc = f->extra(c, id);
	for (size_t i = 0; i < f->nrel && !rc; i++)
		rc = related_table(c, &f->rel[i], f->table, id, (int)i);
	if (!rc)
		rc = ui_documents_section(c, f->table, id);
	ui_page_end(c);
	free(title);
	return rc;
}

static int page_structure(struct ui_ctx *c)
{
	return page_fiche(c, &fiche_structure);
}

static int page_promeneur(struct ui_ctx *c)
{
	return page_fiche(c, &fiche_promeneur);
}

static int page_sub(struct ui_ctx *c)
{
	const struct fiche *f = sub_fiche(ui_param(c, "table"));
	return f ? page_fiche(c, f) : RELAIS_ENOTFOUND;
}

/* The list of a table that has one: a row per line, its listed columns. */
static int page_list(struct ui_ctx *c)
{
	const struct fiche *f = sub_fiche(ui_param(c, "table"));
	const struct model_table *t = f && f->list ? model_table_by_name(f->table) : NULL;
	const char *heads[32];
	struct buf sql = BUF_INIT(MAX_SQL);
	sqlite3_stmt *st = NULL;
	size_t nh = 0, count = 0;
	int s, rc = 0;
	if (!t)
		return RELAIS_ENOTFOUND;
	heads[nh++] = "Nom";
	buf_printf(&sql, "SELECT id, %s AS titre", ui_title_sql(t->name));
	for (size_t i = 0; i < t->ncolumns && nh < 31; i++) {
		const struct model_column *col = &t->columns[i];
		if (!col_live(col) || !(col->flags & MODEL_LISTED) || !strcmp(col->name, "nom") ||
		    !strcmp(col->name, "prenom"))
			continue;
		heads[nh++] = col->label;
		buf_printf(&sql, ", \"%s\"", col->name);
	}
	heads[nh] = NULL;
	buf_printf(&sql, " FROM \"%s\" ORDER BY titre COLLATE NOCASE, id", t->name);
	if ((rc = buf_error(&sql)))
		goto out;
	if (sqlite3_prepare_v2(c->db, buf_str(&sql), -1, &st, NULL) != SQLITE_OK) {
		rc = RELAIS_EDB;
		goto out;
	}
	ui_page_begin(c, f->list, f->menu);
	if (!c->read_only)
		buf_printf(c->out, "<p class=\"actions\"><a class=\"bouton\" href=\"%s\">%s</a></p>\n",
			   f->nouveau, f->add);
	/* The partners and all their contacts, one link apart. */
	if (!strcmp(f->table, "partenaire"))
		buf_puts(c->out, "<p><a href=\"/fiches/contact\">Tous les contacts</a> (des "
			 "partenaires et des structures)</p>\n");
	else if (!strcmp(f->table, "contact"))
		buf_puts(c->out, "<p><a href=\"/fiches/partenaire\">Les partenaires et les "
			 "prospects</a></p>\n");
	struct buf rows = BUF_INIT(UI_MAX_PAGE);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		char href[128];
		count++;
		snprintf(href, sizeof(href), "%s%s", f->prefix, ui_col_text(st, 0));
		buf_puts(&rows, "<tr>");
		html_row_head(&rows, ui_col_text(st, 1), href);
		int k = 2;
		for (size_t i = 0; i < t->ncolumns; i++) {
			const struct model_column *col = &t->columns[i];
			if (!col_live(col) || !(col->flags & MODEL_LISTED) || !strcmp(col->name, "nom") ||
			    !strcmp(col->name, "prenom"))
				continue;
			struct buf *keep = c->out;
			c->out = &rows;
			buf_puts(&rows, "<td>");
			ui_value_html(c, col, st, k++, 0);
			buf_puts(&rows, "</td>");
			c->out = keep;
		}
		buf_puts(&rows, "</tr>\n");
	}
	sqlite3_finalize(st);
	buf_fail(c->out, buf_error(&rows));
	if (s != SQLITE_DONE)
		rc = RELAIS_EDB;
	if (!count) {
		html_tag(c->out, "p", "Aucune fiche pour l'instant.");
	} else {
		html_table_begin(c->out, f->list, heads);
		buf_append(c->out, rows.data, rows.len);
		html_table_end(c->out);
	}
	buf_release(&rows);
	if (!rc)
		rc = ui_page_end(c);
out:
	buf_release(&sql);
	return rc;
}

/* The form of t: for a new row (id NULL) or row id; fv holds what was sent
 * back with errors, else current values come from the row (or defaults). */
static int form_page(struct ui_ctx *c, const struct fiche *f, const char *id,
		     const struct ui_form_values *fv)
{
	const struct model_table *t = model_table_by_name(f->table);
	sqlite3_stmt *st = NULL;
	char *title = NULL;
	char heading[512];
	int rc = 0;

	if (id && (rc = select_row(c, t, id, &st)))
		return rc;
	if (id) {
		title = ui_row_title(c, t->name, id);
		snprintf(heading, sizeof(heading), "Modifier : %s", title ? title : id);
	} else {
		snprintf(heading, sizeof(heading), "%s", f->title_new);
	}
	ui_page_begin(c, heading, "annuaire");
	if (fv && fv->nerrors) {
		buf_printf(c->out, "<div class=\"resume-erreurs\" role=\"alert\" tabindex=\"-1\" "
			   "id=\"resume-erreurs\">\n<h2>%zu erreur%s à corriger</h2>\n<ul>\n",
			   fv->nerrors, fv->nerrors > 1 ? "s" : "");
		for (size_t i = 0; i < t->ncolumns; i++) {
			if (!fv->errors[i])
				continue;
			buf_printf(c->out, "<li><a href=\"#%s\">", t->columns[i].name);
			buf_puts_html(c->out, fv->errors[i]);
			buf_puts(c->out, "</a></li>\n");
		}
		buf_puts(c->out, "</ul>\n</div>\n");
	}
	html_tag(c->out, "p", "Les champs marqués « obligatoire » doivent être remplis.");
	buf_puts(c->out, "<form method=\"post\" novalidate class=\"fiche-form\" action=\"");
	if (id)
		buf_printf(c->out, "%s%s/modifier", f->prefix, id);
	else
		buf_puts(c->out, f->nouveau);
	buf_puts(c->out, "\">\n");
	ui_csrf_input(c);
	int k = 2;
	for (size_t i = 0; i < t->ncolumns && !rc; i++) {
		const struct model_column *col = &t->columns[i];
		if (!col_live(col))
			continue;
		const char *value = NULL;
		if (fv && (fv->given[i] || fv->errors[i]))
			value = fv->raw[i];
		else if (st && sqlite3_column_type(st, k) != SQLITE_NULL)
			value = ui_col_text(st, k);
		else if (!st && col->kind == MODEL_REF)
			value = ui_query(c, col->name);
		rc = ui_model_field(c, t, col, value, fv ? fv->errors[i] : NULL);
		k++;
	}
	char cancel[128];
	if (f->has_page && id)
		snprintf(cancel, sizeof(cancel), "%s%s", f->prefix, id);
	else if (f->has_page)
		snprintf(cancel, sizeof(cancel), "/annuaire");
	else
		parent_page(c, t, id, cancel, sizeof(cancel));
	buf_printf(c->out, "<p><button type=\"submit\" class=\"principal\">Enregistrer</button> "
		   "<a href=\"%s\">Annuler</a></p>\n</form>\n", cancel);
	ui_page_end(c);
	sqlite3_finalize(st);
	free(title);
	return rc;
}

static int form_get(struct ui_ctx *c, const struct fiche *f, int creating)
{
	const char *id = creating ? NULL : ui_param(c, "id");
	if (c->read_only)
		return RELAIS_EPERM;
	if (!creating && (!id || !util_is_uuid(id)))
		return RELAIS_ENOTFOUND;
	return form_page(c, f, id, NULL);
}

static int form_post(struct ui_ctx *c, const struct fiche *f, int creating)
{
	const struct model_table *t = model_table_by_name(f->table);
	const char *id = creating ? NULL : ui_param(c, "id");
	struct ui_form_values fv;
	char newid[UTIL_UUID_LEN + 1], loc[128];
	int rc;

	if (c->read_only)
		return RELAIS_EPERM;
	if (!creating && (!id || !util_is_uuid(id)))
		return RELAIS_ENOTFOUND;
	rc = ui_form_values_read(c, t, creating, &fv);
	if (!rc && fv.nerrors) {
		rc = form_page(c, f, id, &fv);
		ui_status(c, 422);
		goto out;
	}
	if (!rc)
		rc = ui_form_values_save(c, &fv, id, newid);
	if (rc == RELAIS_EINVAL && fv.nerrors) {
		rc = form_page(c, f, id, &fv);
		ui_status(c, 422);
		goto out;
	}
	if (rc == RELAIS_ECONSTRAINT) {
		rc = ui_error_page(c, 422, "Valeur refusée par le schéma ; rien n'a été modifié.");
		goto out;
	}
	if (!rc) {
		if (f->has_page)
			snprintf(loc, sizeof(loc), "%s%s", f->prefix, creating ? newid : id);
		else
			parent_page(c, t, creating ? newid : id, loc, sizeof(loc));
		rc = ui_redirect(c, loc, fv.note[0] ? fv.note : creating ? "Fiche créée. Elle sera "
				 "envoyée au serveur à la prochaine synchronisation."
				 : "Modification enregistrée.");
	}
out:
	ui_form_values_release(&fv);
	return rc;
}

static int sub_get(struct ui_ctx *c, int creating)
{
	const struct fiche *f = sub_fiche(ui_param(c, "table"));
	return f ? form_get(c, f, creating) : RELAIS_ENOTFOUND;
}

static int sub_post(struct ui_ctx *c, int creating)
{
	const struct fiche *f = sub_fiche(ui_param(c, "table"));
	return f ? form_post(c, f, creating) : RELAIS_ENOTFOUND;
}

static int sub_new_get(struct ui_ctx *c) { return sub_get(c, 1); }
static int sub_new_post(struct ui_ctx *c) { return sub_post(c, 1); }
static int sub_edit_get(struct ui_ctx *c) { return sub_get(c, 0); }
static int sub_edit_post(struct ui_ctx *c) { return sub_post(c, 0); }

static int structure_new_get(struct ui_ctx *c) { return form_get(c, &fiche_structure, 1); }
static int structure_new_post(struct ui_ctx *c) { return form_post(c, &fiche_structure, 1); }
static int structure_edit_get(struct ui_ctx *c) { return form_get(c, &fiche_structure, 0); }
static int structure_edit_post(struct ui_ctx *c) { return form_post(c, &fiche_structure, 0); }
static int promeneur_new_get(struct ui_ctx *c) { return form_get(c, &fiche_promeneur, 1); }
static int promeneur_new_post(struct ui_ctx *c) { return form_post(c, &fiche_promeneur, 1); }
static int promeneur_edit_get(struct ui_ctx *c) { return form_get(c, &fiche_promeneur, 0); }
static int promeneur_edit_post(struct ui_ctx *c) { return form_post(c, &fiche_promeneur, 0); }

void ui_fiche_routes(struct ui *u)
{
	/* The fixed words go before "{id}", which would take them. */
	ui_route(u, "GET", "/structures/nouvelle", structure_new_get);
	ui_route(u, "POST", "/structures/nouvelle", structure_new_post);
	ui_route(u, "GET", "/structures/{id}", page_structure);
	ui_route(u, "GET", "/structures/{id}/modifier", structure_edit_get);
	ui_route(u, "POST", "/structures/{id}/modifier", structure_edit_post);
	ui_route(u, "GET", "/fiches/{table}/nouvelle", sub_new_get);
	ui_route(u, "POST", "/fiches/{table}/nouvelle", sub_new_post);
	ui_route(u, "GET", "/fiches/{table}", page_list);
	ui_route(u, "GET", "/fiches/{table}/{id}", page_sub);
	ui_route(u, "GET", "/fiches/{table}/{id}/modifier", sub_edit_get);
	ui_route(u, "POST", "/fiches/{table}/{id}/modifier", sub_edit_post);
	ui_route(u, "GET", "/promeneurs/nouveau", promeneur_new_get);
	ui_route(u, "POST", "/promeneurs/nouveau", promeneur_new_post);
	ui_route(u, "GET", "/promeneurs/{id}", page_promeneur);
	ui_route(u, "GET", "/promeneurs/{id}/modifier", promeneur_edit_get);
	ui_route(u, "POST", "/promeneurs/{id}/modifier", promeneur_edit_post);
}
