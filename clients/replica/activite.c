/*
 * activite.c - the network's activity over a period (activite.h).
 *
 * The headcount at the end of the period counts who was labelled then, not
 * who is now: labelled on or before the end, and not délabellised by then.
 * Event types and request subjects are the model's lists, so a type added
 * to the model appears here without code.
 */
#include <stdlib.h>
#include <string.h>
#include "../../common/buf.h"
#include "../../common/util.h"
#include "../../model/model.h"
#include "activite.h"
#include "replica.h"

#define LIST_MAX 32

struct count {
	const char *value;      /* a value of the model's list (static) */
	long long n;            /* events, or requests */
	long long inscrits, presents;   /* events: registered, present */
	long long traitees;     /* requests handled */
};

struct quote {
	char *structure, *periode, *articulation, *commentaire;
};

struct activite {
	char from[11], to[11];
	long long entrees, sorties, suspensions, structures;
	long long publics[3];   /* jeunesse, parentalité, not said */
	struct count events[LIST_MAX];
	size_t nevents;
	struct count sujets[LIST_MAX];
	size_t nsujets;
	struct quote *quotes;
	size_t nquotes;
};

/* One integer from sql with ?1 from, ?2 to. */
static int count_of(sqlite3 *db, const char *sql, const struct activite *a, long long *out)
{
	sqlite3_stmt *st = NULL;
	int e = replica_prepare(db, &st, sql, "tt", a->from, a->to);
	if (!e)
		e = sqlite3_step(st) == SQLITE_ROW ? 0 : RELAIS_EDB;
	if (!e)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return e;
}

/* Who is labelled at ?2 (the end of the period), over promeneur p. */
#define LABELLED_AT_END \
	"(p.date_labellisation IS NULL OR p.date_labellisation <= ?2) AND " \
	"(p.statut IN ('labellise', 'suspendu') OR (p.statut = 'delabellise' AND " \
	"p.date_delabellisation > ?2))"

static int load_people(sqlite3 *db, struct activite *a)
{
	static const char *const publics[] = { "'jeunesse'", "'parentalite'", "NULL" };
	int e = count_of(db, "SELECT count(*) FROM promeneur WHERE date_labellisation BETWEEN ?1 AND ?2",
			 a, &a->entrees);
	if (!e)
		e = count_of(db, "SELECT count(*) FROM promeneur WHERE statut = 'delabellise' AND "
			     "date_delabellisation BETWEEN ?1 AND ?2", a, &a->sorties);
	if (!e)
		e = count_of(db, "SELECT count(*) FROM procedure WHERE nature = 'suspension' AND "
			     "date_debut BETWEEN ?1 AND ?2", a, &a->suspensions);
	if (!e)
		e = count_of(db, "SELECT count(DISTINCT p.structure) FROM promeneur p WHERE "
			     LABELLED_AT_END, a, &a->structures);
	for (int i = 0; i < 3 && !e; i++) {
		char sql[512];
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM promeneur p WHERE " LABELLED_AT_END
			 " AND p.public IS %s", publics[i]);
		e = count_of(db, sql, a, &a->publics[i]);
	}
	return e;
}

/* The values of the model's list table.col, into c[] (at most LIST_MAX). */
static size_t list_values(const char *table, const char *col, struct count *c)
{
	const struct model_column *mc = model_column_by_name(model_table_by_name(table), col);
	size_t n = 0;
	for (size_t i = 0; mc && mc->values && mc->values[i] && n < LIST_MAX; i++)
		c[n++].value = mc->values[i];
	return n;
}

static int load_counts(sqlite3 *db, struct activite *a)
{
	sqlite3_stmt *st = NULL;
	int e = 0;
	a->nevents = list_values("event", "type", a->events);
	a->nsujets = list_values("request", "sujet", a->sujets);
	/* Registered and present: promeneurs and partners' contacts alike. */
	e = replica_prepare(db, &st, "SELECT type, count(*), sum(inscrits), sum(presents) FROM "
			    "(SELECT e.type, (SELECT count(*) FROM attendance WHERE event = e.id) + "
			    "(SELECT count(*) FROM guest WHERE event = e.id) AS inscrits, "
			    "(SELECT count(*) FROM attendance WHERE event = e.id AND presence_effective = 1) + "
			    "(SELECT count(*) FROM guest WHERE event = e.id AND presence_effective = 1) "
			    "AS presents FROM event e WHERE e.date BETWEEN ?1 AND ?2) GROUP BY type",
			    "tt", a->from, a->to);
	while (!e && sqlite3_step(st) == SQLITE_ROW) {
		const char *type = (const char *)sqlite3_column_text(st, 0);
		for (size_t i = 0; i < a->nevents; i++)
			if (type && !strcmp(a->events[i].value, type)) {
				a->events[i].n = sqlite3_column_int64(st, 1);
				a->events[i].inscrits = sqlite3_column_int64(st, 2);
				a->events[i].presents = sqlite3_column_int64(st, 3);
			}
	}
	sqlite3_finalize(st);
	st = NULL;
	if (!e)
		e = replica_prepare(db, &st, "SELECT sujet, count(*), sum(statut = 'traitee') FROM request "
				    "WHERE date_demande BETWEEN ?1 AND ?2 GROUP BY sujet", "tt", a->from,
				    a->to);
	while (!e && sqlite3_step(st) == SQLITE_ROW) {
		const char *sujet = (const char *)sqlite3_column_text(st, 0);
		for (size_t i = 0; i < a->nsujets; i++)
			if (sujet && !strcmp(a->sujets[i].value, sujet)) {
				a->sujets[i].n = sqlite3_column_int64(st, 1);
				a->sujets[i].traitees = sqlite3_column_int64(st, 2);
			}
	}
	sqlite3_finalize(st);
	return e;
}

static char *dup_col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? strdup((const char *)t) : NULL;
}

static int load_quotes(sqlite3 *db, struct activite *a, long long year, const char *periode)
{
	sqlite3_stmt *st = NULL;
	size_t alloc = 0;
	int e = replica_prepare(db, &st, "SELECT coalesce(s.nom, '?'), coalesce(b.periode, 'annee'), "
				"b.articulation, b.commentaire FROM bilan b LEFT JOIN structure s ON "
				"s.id = b.structure WHERE b.annee = ?1 AND (?2 = 'annee' OR "
				"b.periode = ?2) AND (coalesce(b.articulation, '') <> '' OR "
				"coalesce(b.commentaire, '') <> '') ORDER BY s.nom, b.periode, b.id",
				"it", year, periode);
	while (!e && sqlite3_step(st) == SQLITE_ROW) {
		struct quote *grown = util_grow(a->quotes, &alloc, a->nquotes, sizeof(*a->quotes));
		if (!grown) {
			e = RELAIS_ENOMEM;
			break;
		}
		a->quotes = grown;
		struct quote *q = &a->quotes[a->nquotes++];
		q->structure = dup_col(st, 0);
		q->periode = dup_col(st, 1);
		q->articulation = dup_col(st, 2);
		q->commentaire = dup_col(st, 3);
		if (!q->structure || !q->periode)
			e = RELAIS_ENOMEM;
	}
	sqlite3_finalize(st);
	return e;
}

int activite_load(sqlite3 *db, const char *from, const char *to, long long year,
		  const char *periode, struct activite **out)
{
	struct activite *a = calloc(1, sizeof(*a));
	int e;
	*out = NULL;
	if (!a)
		return RELAIS_ENOMEM;
	snprintf(a->from, sizeof(a->from), "%s", from);
	snprintf(a->to, sizeof(a->to), "%s", to);
	e = load_people(db, a);
	if (!e)
		e = load_counts(db, a);
	if (!e)
		e = load_quotes(db, a, year, periode);
	if (e) {
		activite_free(a);
		return e;
	}
	*out = a;
	return 0;
}

void activite_free(struct activite *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->nquotes; i++) {
		free(a->quotes[i].structure);
		free(a->quotes[i].periode);
		free(a->quotes[i].articulation);
		free(a->quotes[i].commentaire);
	}
	free(a->quotes);
	free(a);
}

/* ---- HTML ---- */

/* "87 %" of part over whole, "—" without a whole. */
static void rate(long long part, long long whole, char *out, size_t outlen)
{
	if (whole <= 0)
		snprintf(out, outlen, "—");
	else
		snprintf(out, outlen, "%lld %%", (part * 100 + whole / 2) / whole);
}

static void row2(struct buf *b, const char *label, long long v)
{
	buf_puts(b, "<tr><th scope=\"row\">");
	buf_puts_html(b, label);
	buf_printf(b, "</th><td class=\"n\">%lld</td></tr>\n", v);
}

/* A text of a bilan, its line breaks kept as <br>. */
static void put_text(struct buf *b, const char *s)
{
	for (const char *p = s; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char *line = strndup(p, n);
		if (!line) {
			buf_fail(b, RELAIS_ENOMEM);
			return;
		}
		buf_puts_html(b, line);
		free(line);
		if (nl)
			buf_puts(b, "<br>");
		p += n + (nl != NULL);
	}
}

int activite_html(const struct activite *a, struct buf *b)
{
	char from[UTIL_DATE_FR_LEN], to[UTIL_DATE_FR_LEN], r[16];
	long long total = a->publics[0] + a->publics[1] + a->publics[2];
	util_date_fr(a->from, from, sizeof(from));
	util_date_fr(a->to, to, sizeof(to));
	buf_printf(b, "<div class=\"synthese\">\n<h2>Activité du réseau du %s au %s</h2>\n"
		   "<table class=\"totaux\"><tbody>\n", from, to);
	row2(b, "Promeneurs labellisés (entrées)", a->entrees);
	row2(b, "Promeneurs délabellisés (sorties)", a->sorties);
	row2(b, "Suspensions", a->suspensions);
	buf_printf(b, "</tbody></table>\n<h3>Effectif au %s : %lld promeneur%s dans %lld "
		   "structure%s</h3>\n<table class=\"totaux\"><tbody>\n", to, total,
		   util_pluriel(total), a->structures, util_pluriel(a->structures));
	row2(b, "Public jeunesse", a->publics[0]);
	row2(b, "Public parentalité", a->publics[1]);
	row2(b, "Public non renseigné", a->publics[2]);
	buf_puts(b, "</tbody></table>\n<h3>Événements et participation</h3>\n<table class=\"totaux\">"
		 "<thead><tr><th scope=\"col\">Type</th><th scope=\"col\" class=\"n\">Événements</th>"
		 "<th scope=\"col\" class=\"n\">Inscrits</th><th scope=\"col\" class=\"n\">Présents</th>"
		 "<th scope=\"col\" class=\"n\">Taux de participation</th></tr></thead><tbody>\n");
	for (size_t i = 0; i < a->nevents; i++) {
		const struct count *c = &a->events[i];
		if (!c->n)
			continue;
		rate(c->presents, c->inscrits, r, sizeof(r));
		buf_puts(b, "<tr><th scope=\"row\">");
		buf_puts_html(b, model_value_label(c->value));
		buf_printf(b, "</th><td class=\"n\">%lld</td><td class=\"n\">%lld</td><td class=\"n\">"
			   "%lld</td><td class=\"n\">%s</td></tr>\n", c->n, c->inscrits, c->presents, r);
	}
	buf_puts(b, "</tbody></table>\n<h3>Demandes reçues par sujet</h3>\n<table class=\"totaux\">"
		 "<thead><tr><th scope=\"col\">Sujet</th><th scope=\"col\" class=\"n\">Demandes</th>"
		 "<th scope=\"col\" class=\"n\">Traitées</th></tr></thead><tbody>\n");
	for (size_t i = 0; i < a->nsujets; i++) {
		const struct count *c = &a->sujets[i];
		if (!c->n)
			continue;
		buf_puts(b, "<tr><th scope=\"row\">");
		buf_puts_html(b, model_value_label(c->value));
		buf_printf(b, "</th><td class=\"n\">%lld</td><td class=\"n\">%lld</td></tr>\n", c->n,
			   c->traitees);
	}
	buf_puts(b, "</tbody></table>\n<h2>Ce que disent les bilans</h2>\n");
	if (!a->nquotes)
		buf_puts(b, "<p>Aucun bilan de la période ne comporte de commentaire.</p>\n");
	for (size_t i = 0; i < a->nquotes; i++) {
		const struct quote *q = &a->quotes[i];
		buf_puts(b, "<h3>");
		buf_puts_html(b, q->structure);
		buf_puts(b, " (");
		buf_puts_html(b, model_value_label(q->periode));
		buf_puts(b, ")</h3>\n");
		if (q->articulation && *q->articulation) {
			buf_puts(b, "<p><strong>Articulation entre la vie de la structure et le travail "
				 "du promeneur :</strong> ");
			put_text(b, q->articulation);
			buf_puts(b, "</p>\n");
		}
		if (q->commentaire && *q->commentaire) {
			buf_puts(b, "<p><strong>Commentaire :</strong> ");
			put_text(b, q->commentaire);
			buf_puts(b, "</p>\n");
		}
	}
	buf_puts(b, "</div>\n");
	return buf_error(b);
}
