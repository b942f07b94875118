/*
 * ui-synthese.c - the /synthese page of relais ui: the annual synthesis of
 * the bilans (clients/replica/synthese.c) with its SVG charts inline, a year
 * selector, the choice of the whole year or its first half (the mid-year
 * comité: ?periode=mi-annee), and the standalone page of "relais synthese --format html" to
 * print or save.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "../replica/synthese.h"
#include "ui-html.h"
#include "ui.h"

#define YEARS_MAX 100   /* years offered by the selector */

static long long this_year(void)
{
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	return tm.tm_year + 1900LL;
}

static void today_fr(char out[11])
{
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(out, 11, "%d/%m/%Y", &tm);
}

/*
 * The years to offer, newest first: those of the bilans in the replica, the
 * current one and the one before (a comité de pilotage looks back). Also
 * gives the default: the newest year before the current one with bilans,
 * else the year before.
 */
static int years(sqlite3 *db, long long *ys, size_t *n, long long *def)
{
	sqlite3_stmt *st = NULL;
	long long now = this_year();
	int s;

	*n = 0;
	ys[(*n)++] = now;
	ys[(*n)++] = now - 1;
	*def = now - 1;
	if (sqlite3_prepare_v2(db, "SELECT DISTINCT annee FROM bilan WHERE annee BETWEEN ? AND ? "
			       "ORDER BY annee DESC", -1, &st, NULL) != SQLITE_OK)
		return RELAIS_EDB;
	sqlite3_bind_int64(st, 1, SYNTHESE_YEAR_MIN);
	sqlite3_bind_int64(st, 2, SYNTHESE_YEAR_MAX);
	int found = 0;
	while ((s = sqlite3_step(st)) == SQLITE_ROW && *n < YEARS_MAX) {
		long long y = sqlite3_column_int64(st, 0);
		if (!found && y < now) {
			*def = y;
			found = 1;
		}
		if (y != now && y != now - 1)
			ys[(*n)++] = y;
	}
	sqlite3_finalize(st);
	if (s != SQLITE_DONE && s != SQLITE_ROW)
		return RELAIS_EDB;
	/* Newest first: a few entries, insertion sort. */
	for (size_t i = 1; i < *n; i++)
		for (size_t j = i; j > 0 && ys[j] > ys[j - 1]; j--) {
			long long t = ys[j];
			ys[j] = ys[j - 1];
			ys[j - 1] = t;
		}
	return 0;
}

static const char *const periods[] = { "annee", "mi-annee", NULL };
static const char *const period_labels[] = { "année", "mi-année (1er semestre)", NULL };

/* 1 when ?periode= asks for the mid-year synthesis; anything else is the
 * year's. */
static int asked_mid(struct ui_ctx *c)
{
	const char *q = ui_query(c, "periode");
	return q && !strcmp(q, "mi-annee");
}

static int year_form(struct ui_ctx *c, const long long *ys, size_t n, long long year,
		     const char *error)
{
	char texts[YEARS_MAX][8], cur[24];
	const char *opts[YEARS_MAX + 1];
	for (size_t i = 0; i < n; i++) {
		snprintf(texts[i], sizeof(texts[i]), "%lld", ys[i]);
		opts[i] = texts[i];
	}
	opts[n] = NULL;
	snprintf(cur, sizeof(cur), "%lld", year);
	struct html_field f = {
		.name = "annee", .label = "Année des bilans", .type = HTML_SELECT,
		.value = cur, .error = error, .required = 1, .options = opts, .noptions = n,
		.hint = "La synthèse compare l'année choisie à la précédente.",
	};
	buf_puts(c->out, "<form method=\"get\" action=\"/synthese\" class=\"filtres\">");
	html_field(c->out, &f);
	struct html_field p = {
		.name = "periode", .label = "Période", .type = HTML_SELECT,
		.value = asked_mid(c) ? "mi-annee" : "annee", .required = 1, .options = periods,
		.option_labels = period_labels, .noptions = 2,
		.hint = "La mi-année : les bilans du 1er semestre et l'activité de janvier à juin, "
			"pour le comité de mi-année.",
	};
	html_field(c->out, &p);
	buf_puts(c->out, "<button type=\"submit\">Afficher</button></form>\n");
	return buf_error(c->out);
}

/* The year asked in ?annee=, the default when absent. 0 when invalid. */
static long long asked_year(struct ui_ctx *c, long long def)
{
	const char *q = ui_query(c, "annee");
	long long y;
	if (!q || !q[0])
		return def;
	if (util_parse_ll(q, SYNTHESE_YEAR_MIN, SYNTHESE_YEAR_MAX, &y))
		return 0;
	return y;
}

static int page_synthese(struct ui_ctx *c)
{
	long long ys[YEARS_MAX], def, year;
	size_t n = 0;
	struct synthese *y = NULL;
	char title[96];
	int rc = years(c->db, ys, &n, &def), mid = asked_mid(c);
	const char *q = mid ? "&amp;periode=mi-annee" : "";

	if (rc)
		return rc;
	year = asked_year(c, def);
	if (!year)
		snprintf(title, sizeof(title), "Synthèse des bilans");
	else if (mid)
		snprintf(title, sizeof(title), "Synthèse de mi-année %lld (1er semestre)", year);
	else
		snprintf(title, sizeof(title), "Synthèse des bilans %lld", year);
	ui_page_begin(c, title, "synthese");
	if (!year) {
		ui_status(c, 400);
		year_form(c, ys, n, def, "L'année doit être un nombre entre 2001 et 2100.");
		ui_page_end(c);
		return 0;
	}
	year_form(c, ys, n, year, NULL);
	rc = synthese_load_period(c->db, year, mid, c->dept, &y);
	if (rc) {
		synthese_free(y);
		return rc;
	}
	buf_printf(c->out, "<p>Pour le comité %s : le total de chaque indicateur "
		   "des bilans %sde %lld, comparé à %lld, puis le détail par structure. "
		   "Bilans reçus : <strong>%lld</strong> (%lld en %lld).</p>\n"
		   "<p><a href=\"/synthese/page?annee=%lld%s\">Page autonome à imprimer "
		   "ou à enregistrer</a> · <a href=\"/synthese/classeur?annee=%lld%s\">"
		   "Classeur XLSX avec graphiques</a></p>\n<style>%s</style>\n",
		   mid ? "de mi-année" : "de pilotage", mid ? "du 1er semestre " : "", year,
		   year - 1, synthese_nbilans(y, 1), synthese_nbilans(y, 0), year - 1,
		   year, q, year, q, synthese_css);
	synthese_html_sections(y, c->out);
	ui_page_end(c);
	synthese_free(y);
	return 0;
}

/* The year a document is asked for (?annee=, else the default one): *year
 * is 0 after answering 400 for a bad one. */
static int document_year(struct ui_ctx *c, long long *year)
{
	long long ys[YEARS_MAX], def;
	size_t n = 0;
	int rc = years(c->db, ys, &n, &def);
	*year = 0;
	if (rc)
		return rc;
	if (!(*year = asked_year(c, def)))
		return ui_error_page(c, 400, "L'année doit être un nombre entre 2001 et 2100.");
	return 0;
}

/* The self-contained document of "relais synthese --format html". */
static int page_standalone(struct ui_ctx *c)
{
	struct synthese *y = NULL;
	char today[11];
	long long year;
	int rc = document_year(c, &year);

	if (rc || !year)
		return rc;
	today_fr(today);
	rc = synthese_load_period(c->db, year, asked_mid(c), c->dept, &y);
	if (!rc)
		rc = synthese_html(y, today, c->out);
	synthese_free(y);
	return rc;
}

/* Reads the whole file at path into out. */
static int slurp(const char *path, struct buf *out)
{
	unsigned char chunk[16384];
	FILE *f = fopen(path, "rb");
	int rc = 0;
	size_t n;
	if (!f)
		return RELAIS_EIO;
	while (!rc && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		rc = buf_append(out, chunk, n);
	if (!rc && ferror(f))
		rc = RELAIS_EIO;
	fclose(f);
	return rc;
}

/* The workbook of "relais synthese --format xlsx", as a download.
 * libxlsxwriter writes files only: a private temporary one in the home. */
static int page_workbook(struct ui_ctx *c)
{
	struct synthese *y = NULL;
	char today[11], err[256], name[40];
	long long year;
	int rc = document_year(c, &year);

	if (rc || !year)
		return rc;
	char *path = NULL;
	if (asprintf(&path, "%s/.synthese-XXXXXX", c->home) < 0)
		return RELAIS_ENOMEM;
	int fd = mkstemp(path);
	if (fd < 0) {
		free(path);
		return RELAIS_EIO;
	}
	close(fd);
	today_fr(today);
	rc = synthese_load_period(c->db, year, asked_mid(c), c->dept, &y);
	if (!rc)
		rc = synthese_xlsx(y, today, path, path, err, sizeof(err));
	if (!rc)
		rc = slurp(path, c->out);
	unlink(path);
	free(path);
	synthese_free(y);
	if (rc == RELAIS_EIO)
		return ui_error_page(c, 500, "Le classeur n'a pas pu être écrit sur ce poste.");
	snprintf(name, sizeof(name), asked_mid(c) ? "synthese-%lld-mi-annee.xlsx"
		 : "synthese-%lld.xlsx", year);
	if (!rc)
		rc = ui_download(c, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
				 name);
	return rc;
}

void ui_synthese_routes(struct ui *u)
{
	ui_route(u, "GET", "/synthese", page_synthese);
	ui_route(u, "GET", "/synthese/page", page_standalone);
	ui_route(u, "GET", "/synthese/classeur", page_workbook);
}
