/*
 * digest.c - the weekly digest to the CAF referents and the bilan
 * reminders (docs/digest.md).
 *
 * Exactly once per period: the message is built, handed to SMTP, and only
 * once the server accepted it is digest_log written, in the same
 * transaction that marks the attached directory changes transmitted. A
 * crash between the two sends the digest a second time at the next start;
 * the reverse order could lose it, which is worse for a referent.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>
#include "../common/util.h"
#include "../mailgw/compose.h"
#include "../mailgw/smtp.h"
#include "../model/csv.h"
#include "../model/form.h"
#include "../model/model.h"
#include "digest.h"
#include "worker.h"

#define SECTION_CAP (2u << 20)

/* ---- clock and schedule ---- */

int64_t digest_clock_now(const struct digest_clock *clk)
{
	int64_t real = util_now_ms();
	if (!clk || !clk->base_ms)
		return real;
	return clk->base_ms + (real - clk->real_ms) * (clk->speed > 0 ? clk->speed : 1);
}

int digest_parse_time(const char *s, int64_t *ms)
{
	int y, mo, d, h, mi, se;
	char z;
	int n = 0;
	if (strlen(s) != 20 ||
	    sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c%n", &y, &mo, &d, &h, &mi, &se, &z, &n) != 7 ||
	    n != 20 || z != 'Z' || y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
	    h > 23 || mi > 59 || se > 60)
		return RELAIS_EINVAL;
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*ms = (int64_t)timegm(&tm) * 1000;
	return 0;
}

int digest_set_zone(const char *zone)
{
	if (setenv("TZ", zone, 1))
		return RELAIS_ENOMEM;
	tzset();
	return 0;
}

/* A local calendar day, normalised, at noon (noon is never skipped by a
 * daylight-saving change). */
static void local_day(struct tm *d)
{
	d->tm_hour = 12;
	d->tm_min = 0;
	d->tm_sec = 0;
	d->tm_isdst = -1;
	(void)mktime(d);
}

/* The instant of minutes after local midnight on day d. */
static int64_t local_instant(const struct tm *d, int minutes)
{
	struct tm t = *d;
	t.tm_hour = minutes / 60;
	t.tm_min = minutes % 60;
	t.tm_sec = 0;
	t.tm_isdst = -1;
	return (int64_t)mktime(&t) * 1000;
}

static void ymd(const struct tm *d, char out[11])
{
	if (!strftime(out, 11, "%Y-%m-%d", d))
		out[0] = 0;
}

void digest_period(const struct config_digest *cfg, int64_t now_ms, int64_t *due_ms,
		   char key[16], char start[11], char end[11])
{
	time_t now = (time_t)(now_ms / 1000);
	struct tm today, day;
	localtime_r(&now, &today);
	local_day(&today);
	day = today;
	for (int back = 0; back <= 7; back++) {
		day = today;
		day.tm_mday -= back;
		local_day(&day);
		if (day.tm_wday != cfg->jour)
			continue;
		if (local_instant(&day, cfg->heure) <= now_ms)
			break;
	}
	*due_ms = local_instant(&day, cfg->heure);
	ymd(&day, end);
	struct tm first = day;
	first.tm_mday -= 7;
	local_day(&first);
	ymd(&first, start);
	strftime(key, 16, "%G-W%V", &first);
}

/* ---- text helpers ---- */

static const char *domain_of(const char *addr)
{
	const char *at = strchr(addr, '@');
	return at ? at + 1 : "localhost";
}

static int put_common_headers(struct buf *m, const struct config_digest *cfg, const char *to,
			      const char *subject, int64_t now_ms, const char *idpart)
{
	char tag[192];
	snprintf(tag, sizeof(tag), "%s.%s", idpart, cfg->departement);
	int rc = compose_address_header(m, "From", cfg->nom, cfg->adresse);
	if (!rc) {
		/* The recipients are the configuration's, checked when it is read. */
		buf_printf(m, "To: %s\r\n", to);
		rc = compose_text_header(m, "Subject", subject);
	}
	if (!rc)
		rc = compose_date(m, now_ms, 1);
	if (!rc)
		rc = compose_message_id(m, tag, domain_of(cfg->adresse));
	if (!rc)
		rc = buf_puts(m, "Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n");
	return rc;
}

/* ---- content ---- */

/* The buffers keep their first error (common/buf.h): the digest is built
 * without a check per append and content_error() looks once at the end;
 * rc holds the errors of the queries. */
struct content {
	struct buf txt, html, csv;
	struct buf *ids;
	sqlite3 *db;
	const char *dept, *start, *end, *events_end, *last_year;
	int rc;
};

/* The first error of the content's buffers, or 0. */
static int content_error(const struct content *c)
{
	const struct buf *all[] = { &c->txt, &c->html, &c->csv, c->ids };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (all[i] && buf_error(all[i]))
			return buf_error(all[i]);
	return 0;
}

static void section(struct content *c, const char *title)
{
	buf_printf(&c->txt, "\r\n%s\r\n", title);
	for (size_t i = 0; i < strlen(title); i++)
		if (((unsigned char)title[i] & 0xC0) != 0x80)
			buf_putc(&c->txt, '-');
	buf_puts(&c->txt, "\r\n");
	buf_puts(&c->html, "<h2>");
	buf_puts_html(&c->html, title);
	buf_puts(&c->html, "</h2>\r\n<ul>\r\n");
}

static void section_end(struct content *c, int count, const char *none)
{
	if (!count) {
		buf_printf(&c->txt, "%s\r\n", none);
		buf_puts(&c->html, "<li><em>");
		buf_puts_html(&c->html, none);
		buf_puts(&c->html, "</em></li>\r\n");
	}
	buf_puts(&c->html, "</ul>\r\n");
}

static void item(struct content *c, const char *fmt, ...) RELAIS_PRINTF(2, 3);

static void item(struct content *c, const char *fmt, ...)
{
	struct buf line = BUF_INIT(8192);
	va_list ap;
	va_start(ap, fmt);
	/* A line past its cap fails the whole digest rather than being cut. */
	if (buf_vprintf(&line, fmt, ap))
		buf_fail(&c->txt, buf_error(&line));
	va_end(ap);
	buf_printf(&c->txt, "- %s\r\n", buf_str(&line));
	buf_puts(&c->html, "<li>");
	buf_puts_html(&c->html, buf_str(&line));
	buf_puts(&c->html, "</li>\r\n");
	buf_release(&line);
}

/* The columns of the attached CSV, in the order row_change() selects them:
 * what the national directory shows of the person (their public, their
 * profiles on the networks) and which fields a modification changed. */
#define DIGEST_CSV_NCOLS 12
static const char *const csv_heads[DIGEST_CSV_NCOLS] = {
	"id", "nature", "date", "prenom", "nom", "email", "telephone", "structure", "commune",
	"public", "profils", "champs",
};

static const char *col(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	return s ? (const char *)s : "";
}

/* How one row of a section reads; word is the section's (see struct part). */
typedef void row_fn(struct content *c, sqlite3_stmt *st, const char *word);

/* Runs sql with ?1 dept, ?2 start, ?3 end, ?4 events end, ?5 last year and
 * calls row() for each row; returns the count (or -1 on error, in c->rc). */
static int each(struct content *c, const char *sql, row_fn *row, const char *word)
{
	sqlite3_stmt *st = NULL;
	int n = 0, src;
	if (c->rc)
		return -1;
	src = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
	if (src != SQLITE_OK) {
		fprintf(stderr, "synthèse : requête refusée : %s\n", relais_sqlite_errmsg(c->db));
		c->rc = relais_sqlite_error(src);
		return -1;
	}
	const char *params[] = { c->dept, c->start, c->end, c->events_end, c->last_year };
	for (int i = 0; i < 5; i++)
		sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_STATIC);
	while (!c->rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
		row(c, st, word);
		n++;
	}
	if (!c->rc && src != SQLITE_DONE)
		c->rc = relais_sqlite_error(src);
	sqlite3_finalize(st);
	return c->rc ? -1 : n;
}

/* A person and their structure, with what happened to them on a day:
 * "Prénom Nom (structure), <word> le <date>". */
static void row_person(struct content *c, sqlite3_stmt *st, const char *word)
{
	char d[64];
	util_date_fr(col(st, 2), d, sizeof(d));
	item(c, "%s (%s), %s le %s", col(st, 0), col(st, 1), word, d);
}

static void row_decision(struct content *c, sqlite3_stmt *st, const char *word)
{
	char d[64];
	(void)word;
	util_date_fr(col(st, 3), d, sizeof(d));
	item(c, "%s (%s) : candidature %s au comité du %s", col(st, 0), col(st, 1),
	     model_value_label(col(st, 2)), d);
}

static void row_delabel(struct content *c, sqlite3_stmt *st, const char *word)
{
	char d[64];
	(void)word;
	util_date_fr(col(st, 2), d, sizeof(d));
	item(c, "%s (%s), délabellisé(e) le %s ; motif : %s", col(st, 0), col(st, 1), d,
	     *col(st, 3) ? col(st, 3) : "non précisé");
}

/* The profiles "reseau<TAB>nom" of a row, one a line, as people read them:
 * "Instagram : nom ; Discord : nom". */
static void profiles_shown(const char *raw, struct buf *out)
{
	for (const char *p = raw; *p;) {
		const char *nl = strchr(p, '\n'), *tab = strchr(p, '\t');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (tab && tab < p + n) {
			char net[32];
			snprintf(net, sizeof(net), "%.*s", (int)(tab - p), p);
			buf_printf(out, "%s%s : %.*s", out->len ? " ; " : "", model_value_label(net),
				   (int)(p + n - tab - 1), tab + 1);
		}
		p += n + (nl != NULL);
	}
}

static void row_change(struct content *c, sqlite3_stmt *st, const char *word)
{
	char d[64];
	struct buf prof = BUF_INIT(16384);
	(void)word;
	util_date_fr(col(st, 2), d, sizeof(d));
	if (*col(st, 11))
		item(c, "%s : %s %s (%s), le %s — %s", model_value_label(col(st, 1)), col(st, 3),
		     col(st, 4), col(st, 7), d, col(st, 11));
	else
		item(c, "%s : %s %s (%s), le %s", model_value_label(col(st, 1)), col(st, 3), col(st, 4),
		     col(st, 7), d);
	profiles_shown(col(st, 10), &prof);
	const char *cells[DIGEST_CSV_NCOLS];
	for (int i = 0; i < DIGEST_CSV_NCOLS; i++)
		cells[i] = col(st, i);
	cells[9] = *col(st, 9) ? model_value_label(col(st, 9)) : "";
	cells[10] = buf_error(&prof) ? "" : buf_str(&prof);
	csv_put_row(&c->csv, cells, DIGEST_CSV_NCOLS);
	buf_release(&prof);
	if (c->ids)
		buf_append(c->ids, col(st, 0), strlen(col(st, 0)) + 1);
}

/* A suspension: "Prénom Nom (structure), suspendu(e) du X au Y ; motif : M". */
static void row_suspension(struct content *c, sqlite3_stmt *st, const char *word)
{
	char from[64], to[64];
	(void)word;
	util_date_fr(col(st, 2), from, sizeof(from));
	util_date_fr(col(st, 3), to, sizeof(to));
	if (*col(st, 3))
		item(c, "%s (%s), suspendu(e) du %s au %s ; motif : %s", col(st, 0), col(st, 1), from,
		     to, col(st, 4));
	else
		item(c, "%s (%s), suspendu(e) depuis le %s ; motif : %s", col(st, 0), col(st, 1), from,
		     col(st, 4));
}

/* An open délabellisation procedure and where it stands, since its
 * decision is taken with the CAF. */
static void row_procedure(struct content *c, sqlite3_stmt *st, const char *word)
{
	char d[64], caf[64];
	(void)word;
	util_date_fr(col(st, 2), d, sizeof(d));
	util_date_fr(col(st, 3), caf, sizeof(caf));
	if (*col(st, 3))
		item(c, "%s (%s) : problème signalé le %s (%s) ; référent Caf informé le %s ; étape : %s",
		     col(st, 0), col(st, 1), d, col(st, 4), caf, model_value_label(col(st, 5)));
	else
		item(c, "%s (%s) : problème signalé le %s (%s) ; référent Caf pas encore informé",
		     col(st, 0), col(st, 1), d, col(st, 4));
}

/* A change of the directory transmitted, and whether the site shows it. */
static void row_published(struct content *c, sqlite3_stmt *st, const char *word)
{
	char d[64], state[96];
	(void)word;
	util_date_fr(col(st, 3), d, sizeof(d));
	if (*col(st, 3))
		snprintf(state, sizeof(state), "publié le %s", d);
	else
		snprintf(state, sizeof(state), "transmis, publication pas encore confirmée");
	item(c, "%s : %s (%s), %s", model_value_label(col(st, 0)), col(st, 1), col(st, 2), state);
}

static const char *period_word(const char *p)
{
	if (!strcmp(p, "semestre1"))
		return "premier semestre";
	if (!strcmp(p, "semestre2"))
		return "second semestre";
	return "année";
}

static void row_bilan(struct content *c, sqlite3_stmt *st, const char *word)
{
	char d[64];
	(void)word;
	util_date_fr(col(st, 3), d, sizeof(d));
	item(c, "%s : bilan %s (%s), reçu le %s", col(st, 0), col(st, 1), period_word(col(st, 2)),
	     d);
}

static void row_missing(struct content *c, sqlite3_stmt *st, const char *word)
{
	(void)word;
	item(c, "%s (%s)", col(st, 0), col(st, 1));
}

static void row_event(struct content *c, sqlite3_stmt *st, const char *word)
{
	char d[64];
	(void)word;
	util_date_fr(col(st, 0), d, sizeof(d));
	if (*col(st, 2))
		item(c, "%s : %s, %s", d, col(st, 1), col(st, 2));
	else
		item(c, "%s : %s", d, col(st, 1));
}

static void row_count(struct content *c, sqlite3_stmt *st, const char *word)
{
	long long n = sqlite3_column_int64(st, 0);
	(void)word;
	if (n)
		item(c, "%lld conflit%s de synchronisation à trancher (relais conflits)", n,
		     n > 1 ? "s" : "");
}

static void row_quarantine(struct content *c, sqlite3_stmt *st, const char *word)
{
	char d[64];
	(void)word;
	util_date_fr(col(st, 0), d, sizeof(d));
	item(c, "courrier en quarantaine reçu le %s : « %s » (%s)", d,
	     *col(st, 1) ? col(st, 1) : "sans objet", *col(st, 2) ? col(st, 2) : "raison inconnue");
}

#define PERSON "COALESCE(NULLIF(trim(COALESCE(p.prenom, '') || ' ' || COALESCE(p.nom, '')), ''), " \
	"'promeneur non renseigné')"

/*
 * One section of the digest made of one query: its title (followed by the
 * last year when year_in_title), the query (parameters as for each()), how
 * a row reads with its word, and the line that stands for no row.
 */
static const struct part {
	const char *title;
	int year_in_title;
	const char *sql;
	row_fn *row;
	const char *word, *none;
} parts[] = {
	{ "Nouvelles candidatures", 0,
	  "SELECT " PERSON ", s.nom, c.date_depot FROM candidature c "
	  "JOIN structure s ON s.id = c.structure LEFT JOIN promeneur p ON p.id = c.promeneur "
	  "WHERE c.dept = ?1 AND c.date_depot >= ?2 AND c.date_depot < ?3 "
	  "ORDER BY c.date_depot, s.nom",
	  row_person, "déposée", "Aucune nouvelle candidature." },
	{ "Décisions sur les candidatures", 0,
	  "SELECT " PERSON ", s.nom, c.decision, c.date_comite FROM candidature c "
	  "JOIN structure s ON s.id = c.structure LEFT JOIN promeneur p ON p.id = c.promeneur "
	  "WHERE c.dept = ?1 AND c.decision <> 'en_attente' AND c.date_comite >= ?2 "
	  "AND c.date_comite < ?3 ORDER BY c.date_comite, s.nom",
	  row_decision, NULL, "Aucune décision." },
	{ "Labellisations", 0,
	  "SELECT " PERSON ", s.nom, p.date_labellisation FROM promeneur p "
	  "JOIN structure s ON s.id = p.structure WHERE p.dept = ?1 "
	  "AND p.date_labellisation >= ?2 AND p.date_labellisation < ?3 "
	  "ORDER BY p.date_labellisation, p.nom",
	  row_person, "labellisé(e)", "Aucune labellisation." },
	{ "Délabellisations", 0,
	  "SELECT " PERSON ", s.nom, p.date_delabellisation, "
	  "COALESCE(p.motif_delabellisation, '') FROM promeneur p "
	  "JOIN structure s ON s.id = p.structure WHERE p.dept = ?1 "
	  "AND p.date_delabellisation >= ?2 AND p.date_delabellisation < ?3 "
	  "ORDER BY p.date_delabellisation, p.nom",
	  row_delabel, NULL, "Aucune délabellisation." },
	{ "Suspensions", 0,
	  "SELECT " PERSON ", s.nom, r.date_debut, COALESCE(r.date_fin, ''), r.motif "
	  "FROM procedure r JOIN promeneur p ON p.id = r.promeneur "
	  "LEFT JOIN structure s ON s.id = p.structure WHERE r.dept = ?1 "
	  "AND r.nature = 'suspension' AND r.date_debut >= ?2 AND r.date_debut < ?3 "
	  "ORDER BY r.date_debut, p.nom",
	  row_suspension, NULL, "Aucune suspension." },
	{ "Procédures de délabellisation en cours (décision à prendre avec la Caf)", 0,
	  "SELECT " PERSON ", s.nom, r.date_signalement, COALESCE(r.date_information_caf, ''), "
	  "r.motif, COALESCE(r.etape, 'signalement') FROM procedure r "
	  "JOIN promeneur p ON p.id = r.promeneur LEFT JOIN structure s ON s.id = p.structure "
	  "WHERE r.dept = ?1 AND r.nature = 'delabellisation' "
	  "AND COALESCE(r.etape, 'signalement') IN ('signalement', 'accompagnement') "
	  "ORDER BY r.date_signalement, p.nom",
	  row_procedure, NULL, "Aucune procédure en cours." },
	{ "Changements à transmettre à l'annuaire national (fichier CSV joint)", 0,
	  "SELECT d.id, d.nature, d.date, p.prenom, p.nom, p.email, p.telephone, s.nom, "
	  "s.commune, COALESCE(p.public, ''), (SELECT group_concat(x.reseau || char(9) || "
	  "x.nom_profil, char(10)) FROM (SELECT reseau, nom_profil FROM presence "
	  "WHERE promeneur = p.id ORDER BY reseau, nom_profil) x), COALESCE(d.champs, '') "
	  "FROM directory_change d JOIN promeneur p ON p.id = d.promeneur "
	  "LEFT JOIN structure s ON s.id = p.structure "
	  "WHERE d.dept = ?1 AND COALESCE(d.transmis, 0) = 0 ORDER BY d.date, d.id",
	  row_change, NULL, "Aucun changement à transmettre." },
	{ "Changements transmis : publication dans l'annuaire national", 0,
	  "SELECT d.nature, " PERSON ", COALESCE(s.nom, ''), COALESCE(d.date_publication, '') "
	  "FROM directory_change d JOIN promeneur p ON p.id = d.promeneur "
	  "LEFT JOIN structure s ON s.id = p.structure WHERE d.dept = ?1 "
	  "AND COALESCE(d.transmis, 0) = 1 AND (COALESCE(d.publie, 0) = 0 OR "
	  "(d.date_publication >= ?2 AND d.date_publication < ?3)) "
	  "ORDER BY d.publie, d.date_transmission, d.id",
	  row_published, NULL, "Aucun changement en attente de publication." },
	{ "Bilans reçus", 0,
	  "SELECT s.nom, b.annee, b.periode, b.date_reception FROM bilan b "
	  "JOIN structure s ON s.id = b.structure WHERE b.dept = ?1 "
	  "AND b.date_reception >= ?2 AND b.date_reception < ?3 "
	  "ORDER BY b.date_reception, s.nom",
	  row_bilan, NULL, "Aucun bilan reçu." },
	/* The follow-up's rule (docs/suivi.md): a structure that had a
	 * labelled promeneur during the year owes an annual bilan or both
	 * semester ones. */
	{ "Structures sans bilan pour ", 1,
	  "SELECT s.nom, s.commune FROM structure s WHERE s.dept = ?1 AND EXISTS ("
	  "SELECT 1 FROM promeneur p WHERE p.structure = s.id AND p.date_labellisation IS NOT NULL "
	  "AND p.date_labellisation <= ?5 || '-12-31' AND (p.date_delabellisation IS NULL "
	  "OR p.date_delabellisation >= ?5 || '-01-01')) "
	  "AND NOT EXISTS (SELECT 1 FROM bilan b WHERE b.structure = s.id "
	  "AND b.annee = CAST(?5 AS INTEGER) AND b.periode = 'annee') "
	  "AND NOT (EXISTS (SELECT 1 FROM bilan b WHERE b.structure = s.id "
	  "AND b.annee = CAST(?5 AS INTEGER) AND b.periode = 'semestre1') "
	  "AND EXISTS (SELECT 1 FROM bilan b WHERE b.structure = s.id "
	  "AND b.annee = CAST(?5 AS INTEGER) AND b.periode = 'semestre2')) ORDER BY s.nom",
	  row_missing, NULL, "Toutes les structures concernées ont envoyé leur bilan." },
	{ "Événements des quatre prochaines semaines", 0,
	  "SELECT e.date, e.titre, COALESCE(e.lieu, '') FROM event e WHERE e.dept = ?1 "
	  "AND e.date >= ?3 AND e.date < ?4 ORDER BY e.date, e.titre",
	  row_event, NULL, "Aucun événement prévu." },
};

static void part_write(struct content *c, const struct part *p)
{
	char title[128];
	snprintf(title, sizeof(title), "%s%s", p->title, p->year_in_title ? c->last_year : "");
	section(c, title);
	section_end(c, each(c, p->sql, p->row, p->word), p->none);
}

static int gather(struct content *c)
{
	/* The project's one CSV writer (model/csv.h): the same format and the
	 * same formula guard as relais export annuaire. Only row_change()
	 * writes rows after these. */
	csv_put_bom(&c->csv);
	csv_put_row(&c->csv, csv_heads, DIGEST_CSV_NCOLS);
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		part_write(c, &parts[i]);

	/* Two queries, one section: the conflicts' count is a line only when
	 * there are some. */
	section(c, "En attente du coordinateur");
	size_t len0 = c->txt.len;
	(void)each(c, "SELECT count(*) FROM sync_conflict WHERE dept = ?1 AND resolution IS NULL",
		   row_count, NULL);
	int k = c->txt.len != len0;
	int n = each(c, "SELECT recu_le, COALESCE(sujet, ''), COALESCE(raison, '') FROM inbound_mail "
		     "WHERE dept = ?1 AND resultat = 'quarantaine' "
		     "AND COALESCE(traitement, 'a_traiter') = 'a_traiter' ORDER BY recu_le",
		     row_quarantine, NULL);
	section_end(c, n > 0 || k, "Rien en attente.");
	return c->rc;
}

int digest_build(sqlite3 *db, const struct config_digest *cfg, int64_t now_ms, struct buf *msg,
		 struct buf *ids)
{
	struct content c;
	char key[16], start[11], end[11], evend[11], lastyear[24], fstart[64], subject[160];
	char hex[17], csvname[96], flast[64], lastday[11];
	unsigned char rnd[8];
	int64_t due;
	struct tm ev;
	int rc;

	memset(&c, 0, sizeof(c));
	buf_init(&c.txt, SECTION_CAP);
	buf_init(&c.html, SECTION_CAP);
	buf_init(&c.csv, SECTION_CAP);
	digest_period(cfg, now_ms, &due, key, start, end);
	memset(&ev, 0, sizeof(ev));
	sscanf(end, "%4d-%2d-%2d", &ev.tm_year, &ev.tm_mon, &ev.tm_mday);
	ev.tm_year -= 1900;
	ev.tm_mon -= 1;
	ev.tm_mday += DIGEST_EVENT_DAYS;
	local_day(&ev);
	ymd(&ev, evend);
	snprintf(lastyear, sizeof(lastyear), "%.4s", end);
	long long y;
	if (util_parse_ll(lastyear, 1970, 9999, &y) == 0)
		snprintf(lastyear, sizeof(lastyear), "%lld", y - 1);
	c.db = db;
	c.ids = ids;
	c.dept = cfg->departement;
	c.start = start;
	c.end = end;
	c.events_end = evend;
	c.last_year = lastyear;
	util_date_fr(start, fstart, sizeof(fstart));
	memset(&ev, 0, sizeof(ev));
	sscanf(end, "%4d-%2d-%2d", &ev.tm_year, &ev.tm_mon, &ev.tm_mday);
	ev.tm_year -= 1900;
	ev.tm_mon -= 1;
	ev.tm_mday -= 1;
	local_day(&ev);
	ymd(&ev, lastday);
	util_date_fr(lastday, flast, sizeof(flast));
	snprintf(subject, sizeof(subject), "Promeneurs du Net — synthèse de la semaine du %s",
		 fstart);

	buf_printf(&c.txt, "Bonjour,\r\n\r\nVoici la synthèse de la semaine du %s au %s "
		   "pour le réseau Promeneurs du Net du département %s.\r\n", fstart, flast,
		   cfg->departement);
	buf_puts(&c.html, "<!DOCTYPE html>\r\n<html lang=\"fr\"><head><meta charset=\"utf-8\">"
		 "<title>");
	buf_puts_html(&c.html, subject);
	buf_printf(&c.html, "</title></head>\r\n<body>\r\n<h1>Promeneurs du Net — "
		   "département %s</h1>\r\n<p>Synthèse de la semaine du %s.</p>\r\n",
		   cfg->departement, fstart);
	rc = gather(&c);
	buf_puts(&c.txt, "\r\n-- \r\nMessage envoyé automatiquement par relaisd ; "
		 "merci de ne pas y répondre.\r\n");
	buf_puts(&c.html, "<p><small>Message envoyé automatiquement par relaisd ; merci "
		 "de ne pas y répondre.</small></p>\r\n</body></html>\r\n");
	if (!rc)
		rc = content_error(&c);
	if (!rc)
		rc = util_random(rnd, sizeof(rnd));
	if (rc)
		goto out;
	util_hex(rnd, sizeof(rnd), hex);
	snprintf(csvname, sizeof(csvname), "changements-annuaire-%s-%s.csv", cfg->departement, key);

	rc = put_common_headers(msg, cfg, cfg->destinataires, subject, now_ms, key);
	buf_printf(msg, "Content-Type: multipart/mixed; boundary=\"=_mixed_%s\"\r\n\r\n"
		   "This is a MIME message.\r\n\r\n--=_mixed_%s\r\n"
		   "Content-Type: multipart/alternative; boundary=\"=_alt_%s\"\r\n\r\n"
		   "--=_alt_%s\r\nContent-Type: text/plain; charset=UTF-8\r\n"
		   "Content-Transfer-Encoding: base64\r\n\r\n", hex, hex, hex, hex);
	compose_base64_lines(msg, c.txt.data, c.txt.len);
	buf_printf(msg, "\r\n--=_alt_%s\r\nContent-Type: text/html; charset=UTF-8\r\n"
		   "Content-Transfer-Encoding: base64\r\n\r\n", hex);
	compose_base64_lines(msg, c.html.data, c.html.len);
	buf_printf(msg, "\r\n--=_alt_%s--\r\n\r\n--=_mixed_%s\r\n"
		   "Content-Type: text/csv; charset=UTF-8; name=\"%s\"\r\n"
		   "Content-Disposition: attachment; filename=\"%s\"\r\n"
		   "Content-Transfer-Encoding: base64\r\n\r\n", hex, hex, csvname, csvname);
	compose_base64_lines(msg, c.csv.data, c.csv.len);
	buf_printf(msg, "\r\n--=_mixed_%s--\r\n", hex);
	if (!rc)
		rc = buf_error(msg);
out:
	buf_release(&c.txt);
	buf_release(&c.html);
	buf_release(&c.csv);
	return rc;
}

/* ---- schema ---- */

int digest_schema(sqlite3 *db)
{
	return relais_sqlite_error(sqlite3_exec(db,
		"CREATE TABLE IF NOT EXISTS digest_log("
		"dept TEXT NOT NULL, period TEXT NOT NULL, sent_ms INTEGER NOT NULL, "
		"message_id TEXT, PRIMARY KEY(dept, period))", NULL, NULL, NULL));
}

/* ---- the thread ---- */

struct digest {
	struct store *st;
	const struct sync_tables *t;
	const struct config_digest *cfg;
	struct digest_clock clk;
	struct mailgw_smtp_config smtp;
	const char **rcpt;
	size_t nrcpt;
	char *rcpt_buf;
	struct worker w;
};

static int stopping(struct digest *d)
{
	return worker_stopping(&d->w);
}

/* 1 when the period key was already sent, 0 when not, or an error. */
static int already_sent(struct digest *d, const char *key)
{
	sqlite3_stmt *st = NULL;
	struct store_reader *rd = store_reader_acquire(d->st);
	sqlite3 *db = rd->db;
	int rc = relais_sqlite_error(sqlite3_prepare_v2(db, "SELECT 1 FROM digest_log WHERE dept = ? "
							"AND period = ?", -1, &st, NULL));
	if (!rc) {
		sqlite3_bind_text(st, 1, d->cfg->departement, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
		int src = sqlite3_step(st);
		rc = src == SQLITE_ROW ? 1 : src == SQLITE_DONE ? 0 : relais_sqlite_error(src);
	}
	sqlite3_finalize(st);
	store_reader_release(d->st, rd);
	return rc;
}

static const char *message_id(const struct buf *msg, char *out, size_t outlen)
{
	const char *s = strstr(buf_str(msg), "\r\nMessage-ID: ");
	out[0] = 0;
	if (s) {
		s += 14;
		size_t n = strcspn(s, "\r");
		snprintf(out, outlen, "%.*s", (int)n, s);
	}
	return out;
}

/* Runs an UPDATE with ?1 value and ?2 id, and resets it for the next id. */
static int stamp(sqlite3_stmt *st, const char *value, const char *id)
{
	sqlite3_bind_text(st, 1, value, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	int src = sqlite3_step(st);
	sqlite3_reset(st);
	return src == SQLITE_DONE ? 0 : relais_sqlite_error(src);
}

/* Ends l (NULL when it did not begin): committed as the digest's writes
 * when rc is 0, else rolled back. Returns rc, or the commit's error. */
static int local_end(struct sync_local *l, int rc)
{
	if (rc) {
		sync_local_abort(l);
		return rc;
	}
	return sync_local_commit(l, DIGEST_LOGIN);
}

/* Builds, sends and records the digest of key. */
static int send_digest(struct digest *d, const char *key, int64_t now_ms)
{
	struct buf msg = BUF_INIT(DIGEST_MAX_MESSAGE), ids = BUF_INIT(SECTION_CAP);
	struct sync_local *l = NULL;
	sqlite3_stmt *st = NULL;
	char err[512], mid[256], today[11];
	time_t now = (time_t)(now_ms / 1000);
	struct tm lt;
	int rc;

	struct store_reader *rd = store_reader_acquire(d->st);
	sqlite3 *db = rd->db;
	rc = digest_build(db, d->cfg, now_ms, &msg, &ids);
	store_reader_release(d->st, rd);
	if (rc) {
		fprintf(stderr, "synthèse : message non construit : %s\n", relais_strerror(rc));
		goto out;
	}
	rc = mailgw_smtp_send(&d->smtp, d->cfg->adresse, d->rcpt, d->nrcpt, msg.data, msg.len, err,
			      sizeof(err));
	if (rc) {
		fprintf(stderr, "synthèse %s non envoyée : %s (%s)\n", key, relais_strerror(rc), err);
		goto out;
	}
	localtime_r(&now, &lt);
	ymd(&lt, today);
	message_id(&msg, mid, sizeof(mid));
	db = store_writer_acquire(d->st);
	rc = sync_local_begin(db, d->t, &l);
	if (!rc)
		rc = relais_sqlite_error(sqlite3_prepare_v2(db, "UPDATE directory_change SET transmis = 1, "
						"date_transmission = ?1 WHERE id = ?2 AND "
						"COALESCE(transmis, 0) = 0", -1, &st, NULL));
	for (size_t i = 0; !rc && i < ids.len; i += strlen((const char *)ids.data + i) + 1)
		rc = stamp(st, today, (const char *)ids.data + i);
	sqlite3_finalize(st);
	st = NULL;
	if (!rc)
		rc = relais_sqlite_error(sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO digest_log(dept, "
						"period, sent_ms, message_id) VALUES (?, ?, ?, ?)",
						-1, &st, NULL));
	if (!rc) {
		sqlite3_bind_text(st, 1, d->cfg->departement, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, now_ms);
		sqlite3_bind_text(st, 4, mid, -1, SQLITE_STATIC);
		int src = sqlite3_step(st);
		rc = src == SQLITE_DONE ? 0 : relais_sqlite_error(src);
	}
	sqlite3_finalize(st);
	rc = local_end(l, rc);
	store_writer_release(d->st);
	if (rc)
		fprintf(stderr, "synthèse %s envoyée mais non notée : %s\n", key, relais_strerror(rc));
	else
		fprintf(stderr, "synthèse %s envoyée (département %s, %zu destinataire%s, %s)\n", key,
			d->cfg->departement, d->nrcpt, d->nrcpt > 1 ? "s" : "", mid);
out:
	buf_release(&msg);
	buf_release(&ids);
	return rc;
}

/* ---- reminders ---- */

struct reminder {
	char id[40], structure[40], email[256], name[256];
	char already[40];   /* envoyee_le of a row of the same reminder already sent, or "" */
	long long annee;
};

static int reminders_pending(struct digest *d, struct reminder **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	struct reminder *v = NULL;
	size_t cap = 0;
	int src;
	*out = NULL;
	*n = 0;
	struct store_reader *rd = store_reader_acquire(d->st);
	sqlite3 *db = rd->db;
	int rc = relais_sqlite_error(sqlite3_prepare_v2(db,
		"SELECT r.id, r.structure, r.email, COALESCE(s.nom, ''), r.annee, "
		"(SELECT max(COALESCE(o.envoyee_le, '?')) FROM reminder o WHERE o.dept = r.dept "
		"AND o.structure = r.structure AND o.annee = r.annee AND o.objet = r.objet "
		"AND o.statut = 'envoyee') FROM reminder r "
		"LEFT JOIN structure s ON s.id = r.structure WHERE r.dept = ? AND "
		"r.statut = 'a_envoyer' ORDER BY r.structure, r.annee, r.objet, r.id LIMIT 1000",
		-1, &st, NULL));
	if (!rc)
		sqlite3_bind_text(st, 1, d->cfg->departement, -1, SQLITE_STATIC);
	while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
		struct reminder *nv = util_grow(v, &cap, *n, sizeof(*v));
		if (!nv) {
			rc = RELAIS_ENOMEM;
			break;
		}
		v = nv;
		struct reminder *r = &v[(*n)++];
		snprintf(r->id, sizeof(r->id), "%s", col(st, 0));
		snprintf(r->structure, sizeof(r->structure), "%s", col(st, 1));
		snprintf(r->email, sizeof(r->email), "%s", col(st, 2));
		snprintf(r->name, sizeof(r->name), "%s", col(st, 3));
		r->annee = sqlite3_column_int64(st, 4);
		snprintf(r->already, sizeof(r->already), "%s", col(st, 5));
	}
	if (!rc && src != SQLITE_DONE)
		rc = relais_sqlite_error(src);
	sqlite3_finalize(st);
	store_reader_release(d->st, rd);
	if (rc) {
		free(v);
		*n = 0;
		return rc;
	}
	*out = v;
	return 0;
}

static int reminder_message(struct digest *d, const struct reminder *r, int64_t now_ms,
			    struct buf *m)
{
	struct buf body = BUF_INIT(1u << 20);
	char subject[400], idpart[64];
	snprintf(subject, sizeof(subject), "Promeneurs du Net — relance : bilan %lld %s%s", r->annee,
		 util_de(r->name), r->name);
	snprintf(idpart, sizeof(idpart), "relance.%lld", r->annee);
	buf_printf(&body, "Bonjour,\r\n\r\nLe réseau Promeneurs du Net n'a pas encore reçu "
		   "le bilan %lld de la structure « %s ».\r\nMerci de remplir le formulaire "
		   "ci-dessous et de le renvoyer en réponse à ce courriel.\r\n\r\n", r->annee,
		   r->name);
	int rc = form_blank(FORM_BILAN, &body);
	buf_puts(&body, "\r\n");
	if (!rc)
		rc = put_common_headers(m, d->cfg, r->email, subject, now_ms, idpart);
	buf_puts(m, "Content-Type: text/plain; charset=UTF-8\r\n"
		 "Content-Transfer-Encoding: base64\r\n\r\n");
	/* form_blank writes LF line ends; mail wants CRLF. */
	struct buf crlf = BUF_INIT(2u << 20);
	for (size_t i = 0; i < body.len && !buf_error(&crlf); i++) {
		if (body.data[i] == '\n' && (i == 0 || body.data[i - 1] != '\r'))
			buf_putc(&crlf, '\r');
		buf_putc(&crlf, body.data[i]);
	}
	compose_base64_lines(m, crlf.data, crlf.len);
	if (!rc)
		rc = buf_error(&body) ? buf_error(&body) : buf_error(&crlf);
	if (!rc)
		rc = buf_error(m);
	buf_release(&crlf);
	buf_release(&body);
	return rc;
}

/* Sends one message per (structure, year) and marks every row of the
 * group sent. A reminder whose address the SMTP server refuses (4xx or
 * 5xx) stays queued without holding back the others; the refusal is
 * returned after them, so that the caller waits before trying it again.
 * Returns RELAIS_ENET when the server is unreachable. */
static int send_reminders(struct digest *d, int64_t now_ms)
{
	struct reminder *v = NULL;
	size_t n = 0;
	char err[512], when[21];
	int refused = 0;
	int rc = reminders_pending(d, &v, &n);
	util_iso8601(now_ms, when);
	for (size_t i = 0; !rc && i < n && !stopping(d);) {
		size_t j = i + 1;
		while (j < n && !strcmp(v[j].structure, v[i].structure) && v[j].annee == v[i].annee)
			j++;
		/* A row queued offline by a second coordinator after the first
		 * one's went out: the same reminder, noted as sent with it. */
		const char *sent_at = v[i].already[0] ? v[i].already : when;
		struct buf m = BUF_INIT(4u << 20);
		const char *rcpt[1] = { v[i].email };
		err[0] = 0;
		if (!v[i].already[0])
			rc = reminder_message(d, &v[i], now_ms, &m);
		if (!rc && !v[i].already[0])
			rc = mailgw_smtp_send(&d->smtp, d->cfg->adresse, rcpt, 1, m.data, m.len, err,
					      sizeof(err));
		buf_release(&m);
		if (rc == RELAIS_EREFUSED || rc == RELAIS_ELATER) {
			fprintf(stderr, "relance %s refusée par le serveur d'envoi : %s\n", v[i].id, err);
			refused = rc;
			rc = 0;
			i = j;
			continue;
		}
		if (rc) {
			fprintf(stderr, "relance %s non envoyée : %s (%s)\n", v[i].id,
				relais_strerror(rc), err);
			break;
		}
		struct sync_local *l = NULL;
		sqlite3_stmt *st = NULL;
		sqlite3 *db = store_writer_acquire(d->st);
		rc = sync_local_begin(db, d->t, &l);
		if (!rc)
			rc = relais_sqlite_error(sqlite3_prepare_v2(db, "UPDATE reminder SET statut = "
							"'envoyee', envoyee_le = ?1 WHERE id = ?2 "
							"AND statut = 'a_envoyer'", -1, &st, NULL));
		for (size_t k = i; !rc && k < j; k++)
			rc = stamp(st, sent_at, v[k].id);
		sqlite3_finalize(st);
		rc = local_end(l, rc);
		store_writer_release(d->st);
		if (rc)
			fprintf(stderr, "relance %s envoyée mais non notée : %s\n", v[i].id,
				relais_strerror(rc));
		else if (v[i].already[0])
			fprintf(stderr, "relance %s déjà envoyée le %s : notée sans nouvel envoi\n",
				v[i].id, sent_at);
		else
			fprintf(stderr, "relance envoyée à %s (bilan %lld, %zu ligne%s)\n", v[i].email,
				v[i].annee, j - i, j - i > 1 ? "s" : "");
		i = j;
	}
	free(v);
	return rc ? rc : refused;
}

/*
 * The first start with a [digest] section notes the period already due as
 * done without sending it: a gateway configured on a Wednesday must not
 * mail the past week at once. From then on a due period that is not in
 * digest_log is sent (downtime over the scheduled time sends it at start).
 */
static int baseline(struct digest *d, int64_t now_ms)
{
	char key[16], start[11], end[11];
	int64_t due;
	sqlite3_stmt *st = NULL;
	digest_period(d->cfg, now_ms, &due, key, start, end);
	sqlite3 *db = store_writer_acquire(d->st);
	int rc = relais_sqlite_error(sqlite3_prepare_v2(db,
		"INSERT INTO digest_log(dept, period, sent_ms, message_id) SELECT ?1, ?2, 0, NULL "
		"WHERE NOT EXISTS (SELECT 1 FROM digest_log WHERE dept = ?1)", -1, &st, NULL));
	if (!rc) {
		sqlite3_bind_text(st, 1, d->cfg->departement, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
		int src = sqlite3_step(st);
		rc = src == SQLITE_DONE ? 0 : relais_sqlite_error(src);
		if (!rc && sqlite3_changes(db))
			fprintf(stderr, "synthèse : premier démarrage, la période %s n'est pas envoyée ; "
				"la suivante le sera.\n", key);
	}
	sqlite3_finalize(st);
	store_writer_release(d->st);
	return rc;
}

static int next_backoff(int b)
{
	return b >= DIGEST_BACKOFF_MAX_MS / 2 ? DIGEST_BACKOFF_MAX_MS : b * 2;
}

static void run(void *arg)
{
	struct digest *d = arg;
	int dback = DIGEST_BACKOFF_MIN_MS, rback = DIGEST_BACKOFF_MIN_MS;
	int64_t dretry = 0, rretry = 0;
	char key[16], start[11], end[11], last_key[16] = "";
	int64_t due;

	if (baseline(d, digest_clock_now(&d->clk)))
		fprintf(stderr, "synthèse : journal digest_log illisible.\n");
	while (!stopping(d)) {
		int64_t real = util_now_ms(), now = digest_clock_now(&d->clk);
		if (real >= rretry) {
			int rc = send_reminders(d, now);
			if (rc) {
				rretry = real + rback;
				rback = next_backoff(rback);
			} else {
				rback = DIGEST_BACKOFF_MIN_MS;
			}
		}
		digest_period(d->cfg, now, &due, key, start, end);
		if (strcmp(key, last_key) && real >= dretry) {
			int sent = already_sent(d, key);
			int rc = sent;
			if (sent == 0)
				rc = send_digest(d, key, now);
			if (sent == 1 || rc == 0) {
				snprintf(last_key, sizeof(last_key), "%s", key);
				dback = DIGEST_BACKOFF_MIN_MS;
				dretry = 0;
			} else {
				fprintf(stderr, "synthèse %s : nouvel essai dans %d s\n", key, dback / 1000);
				dretry = real + dback;
				dback = next_backoff(dback);
			}
		}
		if (worker_nap(&d->w, DIGEST_POLL_MS))
			break;
	}
}

int digest_start(struct store *st, const struct config_digest *cfg,
		 const struct digest_clock *clk, struct digest **out, char *err, size_t errlen)
{
	struct digest *d;
	int rc;

	*out = NULL;
	if (errlen)
		err[0] = 0;
	d = calloc(1, sizeof(*d));
	if (!d || !(d->rcpt_buf = strdup(cfg->destinataires)) ||
	    !(d->rcpt = calloc(MAILGW_SMTP_MAX_RCPT, sizeof(*d->rcpt)))) {
		rc = RELAIS_ENOMEM;
		snprintf(err, errlen, "Mémoire insuffisante.");
		goto fail;
	}
	/* The configuration checked the list: split it in place. */
	for (char *s = d->rcpt_buf; *s && d->nrcpt < MAILGW_SMTP_MAX_RCPT;) {
		while (*s == ' ' || *s == '\t' || *s == ',')
			s++;
		if (!*s)
			break;
		char *e = s + strcspn(s, ",");
		char *next = *e ? e + 1 : e;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		*e = 0;
		d->rcpt[d->nrcpt++] = s;
		s = next;
	}
	sqlite3 *db = store_writer_acquire(st);
	rc = digest_schema(db);
	store_writer_release(st);
	if (rc) {
		snprintf(err, errlen, "Impossible de préparer la table digest_log : %s.",
			 relais_strerror(rc));
		goto fail;
	}
	d->st = st;
	d->t = store_tables(st);
	d->cfg = cfg;
	if (clk)
		d->clk = *clk;
	config_smtp_use(&cfg->smtp, &d->smtp);
	rc = worker_start(&d->w, run, d);
	if (rc)
		goto fail;
	*out = d;
	return 0;
fail:
	if (rc == RELAIS_ENOMEM && errlen && err[0] == 0)
		snprintf(err, errlen, "Impossible de démarrer le fil de la synthèse.");
	if (d) {
		free(d->rcpt);
		free(d->rcpt_buf);
		free(d);
	}
	return rc;
}

void digest_request_stop(struct digest *d)
{
	if (d)
		worker_request_stop(&d->w);
}

void digest_stop(struct digest *d)
{
	if (!d)
		return;
	worker_join(&d->w);
	free(d->rcpt);
	free(d->rcpt_buf);
	free(d);
}
