/*
 * synthese.c - the annual synthesis of the bilans for
 * the comité de pilotage, as one self-contained HTML page or an XLSX
 * workbook with a native chart.
 *
 * The indicators are the model's: every integer column of bilan but the
 * year, labelled as the model labels them, so a new counter appears here
 * without code. A structure may send a yearly bilan or two half-year ones;
 * when both exist for the same structure, promeneur and year the yearly one
 * counts alone, so that nothing is counted twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xlsxwriter.h>
#include "../../common/buf.h"
#include "../../common/file.h"
#include "../../common/util.h"
#include "../../model/model.h"
#include "activite.h"
#include "replica.h"
#include "synthese.h"

#define IND_MAX 32          /* indicators of the bilan table */
#define SQL_MAX (16u << 10)
#define BAR_WIDTH 220       /* pixels of the longest bar of an SVG chart */

struct indicator {
	const struct model_column *col;
	long long tot[2];       /* [0] the previous year, [1] the year */
};

struct sstruct {
	char *id, *nom, *commune;
	long long nbilans[2];
	long long val[2][IND_MAX];
};

struct synthese {
	long long year;
	int mid;                /* the first half of the year only */
	struct activite *act;   /* the network's activity over the period */
	char *dept;
	struct indicator ind[IND_MAX];
	size_t nind;
	long long nbilans[2];
	long long nmid[2];      /* of those, mid-year bilans (no yearly one that year) */
	struct sstruct *s;
	size_t ns, alloc;
};

static void synth_clear(struct synthese *y)
{
	for (size_t i = 0; i < y->ns; i++) {
		free(y->s[i].id);
		free(y->s[i].nom);
		free(y->s[i].commune);
	}
	free(y->s);
	free(y->dept);
	activite_free(y->act);
	memset(y, 0, sizeof(*y));
}

static void load_indicators(struct synthese *y)
{
	const struct model_table *t = model_table_by_name("bilan");
	for (size_t i = 0; t && i < t->ncolumns && y->nind < IND_MAX; i++) {
		const struct model_column *c = &t->columns[i];
		if (c->kind == MODEL_INT && c->since <= MODEL_SCHEMA_VERSION && strcmp(c->name, "annee"))
			y->ind[y->nind++].col = c;
	}
}

static struct sstruct *add_struct(struct synthese *y, const char *id, const char *nom,
				  const char *commune)
{
	struct sstruct *grown = util_grow(y->s, &y->alloc, y->ns, sizeof(*y->s));
	if (!grown)
		return NULL;
	y->s = grown;
	struct sstruct *s = &y->s[y->ns];
	memset(s, 0, sizeof(*s));
	s->id = strdup(id);
	s->nom = strdup(nom ? nom : "(structure inconnue)");
	s->commune = strdup(commune ? commune : "");
	if (!s->id || !s->nom || !s->commune) {
		free(s->id);
		free(s->nom);
		free(s->commune);
		return NULL;
	}
	y->ns++;
	return s;
}

static int structure_row(sqlite3_stmt *st, void *y)
{
	return add_struct(y, (const char *)sqlite3_column_text(st, 0),
			  (const char *)sqlite3_column_text(st, 1),
			  (const char *)sqlite3_column_text(st, 2)) ? 0 : RELAIS_ENOMEM;
}

static int load_structures(sqlite3 *db, struct synthese *y)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, "SELECT id, nom, commune FROM structure "
			       "ORDER BY nom COLLATE NOCASE, id", -1, &st, NULL) != SQLITE_OK)
		return RELAIS_EDB;
	return replica_rows(st, structure_row, y);
}

static struct sstruct *find_struct(struct synthese *y, const char *id)
{
	for (size_t i = 0; i < y->ns; i++)
		if (!strcmp(y->s[i].id, id))
			return &y->s[i];
	/* A bilan of a structure no longer in the replica still counts. */
	return add_struct(y, id, NULL, NULL);
}

/* Sums the indicators of year (slot k: 0 previous, 1 the year). */
static int load_year(sqlite3 *db, struct synthese *y, int k)
{
	struct buf sql = BUF_INIT(SQL_MAX);
	sqlite3_stmt *st = NULL;
	int s, rc = buf_puts(&sql, "SELECT b.structure, count(*)");

	for (size_t i = 0; i < y->nind && !rc; i++)
		rc = buf_printf(&sql, ", coalesce(sum(b.\"%s\"), 0)", y->ind[i].col->name);
	if (!rc)
		rc = buf_puts(&sql, ", sum(coalesce(b.periode, 'annee') <> 'annee')");
	if (!rc && y->mid)
		rc = buf_puts(&sql, " FROM bilan b WHERE b.annee = ? AND b.structure IS NOT NULL AND "
			      "b.periode = 'semestre1' GROUP BY b.structure");
	else if (!rc)
		rc = buf_puts(&sql, " FROM bilan b WHERE b.annee = ? AND b.structure IS NOT NULL AND "
			      "(coalesce(b.periode, 'annee') = 'annee' OR NOT EXISTS (SELECT 1 FROM "
			      "bilan a WHERE a.structure = b.structure AND a.annee = b.annee AND "
			      "a.promeneur IS b.promeneur AND coalesce(a.periode, 'annee') = 'annee')) "
			      "GROUP BY b.structure");
	if (rc)
		goto out;
	if (sqlite3_prepare_v2(db, buf_str(&sql), -1, &st, NULL) != SQLITE_OK) {
		rc = RELAIS_EDB;
		goto out;
	}
	sqlite3_bind_int64(st, 1, y->year - 1 + k);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		struct sstruct *ss = find_struct(y, (const char *)sqlite3_column_text(st, 0));
		if (!ss) {
			rc = RELAIS_ENOMEM;
			goto out;
		}
		ss->nbilans[k] = sqlite3_column_int64(st, 1);
		y->nbilans[k] += ss->nbilans[k];
		for (size_t i = 0; i < y->nind; i++) {
			ss->val[k][i] = sqlite3_column_int64(st, 2 + (int)i);
			y->ind[i].tot[k] += ss->val[k][i];
		}
		y->nmid[k] += sqlite3_column_int64(st, 2 + (int)y->nind);
	}
	if (s != SQLITE_DONE)
		rc = RELAIS_EDB;
out:
	sqlite3_finalize(st);
	buf_release(&sql);
	return rc;
}

int synthese_load(sqlite3 *db, long long year, const char *dept, struct synthese **out)
{
	return synthese_load_period(db, year, 0, dept, out);
}

int synthese_load_period(sqlite3 *db, long long year, int mid, const char *dept,
			 struct synthese **out)
{
	struct synthese *y;
	char from[16], to[16];
	int rc;

	*out = NULL;
	if (year < SYNTHESE_YEAR_MIN || year > SYNTHESE_YEAR_MAX)
		return RELAIS_EINVAL;
	if (!(y = calloc(1, sizeof(*y))))
		return RELAIS_ENOMEM;
	y->year = year;
	y->mid = mid != 0;
	snprintf(from, sizeof(from), "%04lld-01-01", year);
	snprintf(to, sizeof(to), "%04lld-%s", year, mid ? "06-30" : "12-31");
	if (!(y->dept = strdup(dept ? dept : ""))) {
		rc = RELAIS_ENOMEM;
		goto out;
	}
	load_indicators(y);
	/* One read transaction: the three reads see the same replica. */
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		rc = RELAIS_EDB;
		goto out;
	}
	if ((rc = load_structures(db, y)) || (rc = load_year(db, y, 0)) ||
	    (rc = load_year(db, y, 1)) ||
	    (rc = activite_load(db, from, to, year, mid ? "semestre1" : "annee", &y->act))) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		goto out;
	}
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	*out = y;
	y = NULL;
out:
	synthese_free(y);
	return rc;
}

void synthese_free(struct synthese *y)
{
	if (!y)
		return;
	synth_clear(y);
	free(y);
}

long long synthese_nbilans(const struct synthese *y, int k)
{
	return y->nbilans[k ? 1 : 0];
}

/* ---- HTML ---- */

/* A number the French way: thousands grouped by a no-break space. */
static void fr_number(long long v, char *out, size_t outlen)
{
	char digits[32];
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
	int n = snprintf(digits, sizeof(digits), "%llu", u);
	size_t j = 0;
	if (v < 0 && j + 1 < outlen)
		out[j++] = '-';
	for (int i = 0; i < n && j + 3 < outlen; i++) {
		if (i && (n - i) % 3 == 0) {
			out[j++] = (char)0xc2;
			out[j++] = (char)0xa0;
		}
		out[j++] = digits[i];
	}
	out[j] = 0;
}

/* "+30 (+25,0 %)", "−5 (−10,0 %)", "+3 (nouveau)", "=" */
static void change_text(long long prev, long long cur, char *out, size_t outlen)
{
	char n[48];
	long long d = cur - prev;
	if (!d) {
		snprintf(out, outlen, "=");
		return;
	}
	fr_number(d < 0 ? -d : d, n, sizeof(n));
	if (!prev) {
		snprintf(out, outlen, "%s%s", d > 0 ? "+" : "−", n);
		return;
	}
	double pct = 100.0 * (double)d / (double)prev;
	char p[32];
	snprintf(p, sizeof(p), "%.1f", pct < 0 ? -pct : pct);
	char *dot = strchr(p, '.');
	if (dot)
		*dot = ',';
	snprintf(out, outlen, "%s%s (%s%s\xc2\xa0%%)", d > 0 ? "+" : "−", n, d > 0 ? "+" : "−", p);
}

static int svg_chart(struct buf *b, const struct synthese *y, const struct indicator *in)
{
	long long max = in->tot[0] > in->tot[1] ? in->tot[0] : in->tot[1];
	buf_puts(b, "<figure><figcaption>");
	buf_puts_html(b, in->col->label);
	buf_printf(b, "</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" "
		   "width=\"340\" height=\"64\" viewBox=\"0 0 340 64\" role=\"img\" "
		   "aria-label=\"");
	buf_puts_html(b, in->col->label);
	buf_puts(b, "\">");
	for (int k = 0; k < 2; k++) {
		char n[48];
		long long w = max > 0 ? in->tot[k] * BAR_WIDTH / max : 0;
		if (in->tot[k] > 0 && w < 1)
			w = 1;
		fr_number(in->tot[k], n, sizeof(n));
		int top = 6 + k * 28;
		buf_printf(b, "<text x=\"0\" y=\"%d\" class=\"an\">%lld</text>"
			   "<rect x=\"44\" y=\"%d\" width=\"%lld\" height=\"20\" class=\"%s\"/>"
			   "<text x=\"%lld\" y=\"%d\" class=\"val\">%s</text>",
			   top + 15, y->year - 1 + k, top, w, k ? "cur" : "prev",
			   50 + w, top + 15, n);
	}
	buf_puts(b, "</svg></figure>\n");
	return buf_error(b);
}

/* The standalone document's page style; the UI has its own. */
static const char doc_css[] =
	"body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;"
	"margin:2em auto;max-width:1100px;color:#1d2733;padding:0 1em}"
	"h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:2em;"
	"border-bottom:2px solid #1f6feb;padding-bottom:.2em}.meta{color:#556}"
	"@media print{h2{break-after:avoid}figure{break-inside:avoid}}";

/* Scoped to the sections' wrapper, so that a page embedding them keeps its
 * own look elsewhere. */
const char synthese_css[] =
	".synthese .meta{color:#556}"
	".synthese table{border-collapse:collapse;width:100%;font-size:.92em}"
	".synthese th,.synthese td{border:1px solid #ccd3dc;padding:.3em .5em;text-align:left}"
	".synthese th{background:#eef2f7}.synthese tbody th{background:none;font-weight:normal}"
	".synthese td.n,.synthese th.n{text-align:right;white-space:nowrap}"
	".synthese tr.manque td,.synthese tr.manque th{color:#8a5a00;background:#fff8e6}"
	".synthese .defile{overflow-x:auto}"
	".synthese .up{color:#17703b}.synthese .down{color:#b42318}"
	".synthese .charts{display:flex;flex-wrap:wrap;gap:1em}"
	".synthese figure{margin:0;padding:.5em;border:1px solid #e1e6ec;border-radius:6px}"
	".synthese figcaption{font-size:.85em;margin-bottom:.3em}"
	".synthese svg text{font-size:12px;font-family:inherit}.synthese svg .an{fill:#556}"
	".synthese svg .val{fill:#1d2733}"
	".synthese svg .prev{fill:#9aa5b1}.synthese svg .cur{fill:#1f6feb}"
	".synthese .legend span{display:inline-block;width:1em;height:1em;vertical-align:middle;"
	"margin:0 .3em 0 1em}.synthese .legend .prev{background:#9aa5b1}"
	".synthese .legend .cur{background:#1f6feb}";

int synthese_html_sections(const struct synthese *y, struct buf *b)
{
	char n[48], ch[96];
	buf_printf(b, "<div class=\"synthese\">\n<h2>Indicateurs%s</h2>\n<table class=\"totaux\"><thead><tr>"
		   "<th scope=\"col\">Indicateur</th><th scope=\"col\" class=\"n\">%lld</th>"
		   "<th scope=\"col\" class=\"n\">%lld</th>"
		   "<th scope=\"col\" class=\"n\">Évolution</th></tr></thead><tbody>\n",
		   y->mid ? " des bilans du 1er semestre" : "", y->year - 1, y->year);
	for (size_t i = 0; i < y->nind; i++) {
		const struct indicator *in = &y->ind[i];
		buf_puts(b, "<tr><th scope=\"row\">");
		buf_puts_html(b, in->col->label);
		fr_number(in->tot[0], n, sizeof(n));
		buf_printf(b, "</th><td class=\"n\">%s</td>", n);
		fr_number(in->tot[1], n, sizeof(n));
		change_text(in->tot[0], in->tot[1], ch, sizeof(ch));
		buf_printf(b, "<td class=\"n\">%s</td><td class=\"n %s\">%s</td></tr>\n", n,
			   in->tot[1] > in->tot[0] ? "up" : in->tot[1] < in->tot[0] ?
			   "down" : "", ch);
	}
	buf_printf(b, "</tbody></table>\n<h2>Graphiques</h2>\n<p class=\"legend\">"
		   "<span class=\"prev\"></span>%lld"
		   "<span class=\"cur\"></span>%lld</p>\n"
		   "<div class=\"charts\">\n", y->year - 1, y->year);
	for (size_t i = 0; i < y->nind; i++)
		svg_chart(b, y, &y->ind[i]);
	buf_printf(b, "</div>\n<h2>Par structure (%lld)</h2>\n<div class=\"defile\" tabindex=\"0\" role=\"region\" "
		   "aria-label=\"Tableau par structure (défilant)\"><table class=\"structures\">"
		   "<thead><tr><th scope=\"col\">Structure</th><th scope=\"col\">Commune</th>"
		   "<th scope=\"col\" class=\"n\">Bilans</th>", y->year);
	for (size_t i = 0; i < y->nind; i++) {
		buf_puts(b, "<th scope=\"col\" class=\"n\">");
		buf_puts_html(b, y->ind[i].col->label);
		buf_puts(b, "</th>");
	}
	buf_puts(b, "</tr></thead><tbody>\n");
	for (size_t j = 0; j < y->ns; j++) {
		const struct sstruct *s = &y->s[j];
		buf_printf(b, "<tr%s><th scope=\"row\">", s->nbilans[1] ? "" : " class=\"manque\"");
		buf_puts_html(b, s->nom);
		buf_puts(b, "</th><td>");
		buf_puts_html(b, s->commune);
		if (!s->nbilans[1]) {
			buf_printf(b, "</td><td class=\"n\">0</td><td colspan=\"%zu\">aucun bilan "
				   "reçu pour %lld</td></tr>\n", y->nind, y->year);
		} else {
			buf_printf(b, "</td><td class=\"n\">%lld</td>", s->nbilans[1]);
			for (size_t i = 0; i < y->nind; i++) {
				fr_number(s->val[1][i], n, sizeof(n));
				buf_printf(b, "<td class=\"n\">%s</td>", n);
			}
			buf_puts(b, "</tr>\n");
		}
	}
	buf_printf(b, "</tbody><tfoot><tr><th scope=\"row\" colspan=\"2\">Total</th>"
		   "<th class=\"n\">%lld</th>", y->nbilans[1]);
	for (size_t i = 0; i < y->nind; i++) {
		fr_number(y->ind[i].tot[1], n, sizeof(n));
		buf_printf(b, "<th class=\"n\">%s</th>", n);
	}
	buf_puts(b, "</tr></tfoot></table></div>\n<p class=\"meta\">Établi par relais à partir des "
		 "bilans enregistrés dans le réplica ; un bilan annuel remplace les "
		 "bilans semestriels de la même structure.</p>\n</div>\n");
	if (y->act)
		activite_html(y->act, b);
	return buf_error(b);
}

/* ", dont N intermédiaire(s)" when mid-year bilans stand for a year, else "". */
static const char *mid_note(const struct synthese *y, char *out, size_t outlen)
{
	if (!y->nmid[1])
		return "";
	snprintf(out, outlen, ", dont %lld intermédiaire%s (semestre)", y->nmid[1],
		 y->nmid[1] > 1 ? "s" : "");
	return out;
}

int synthese_html(const struct synthese *y, const char *today, struct buf *b)
{
	char mid[64];
	buf_printf(b, "<!DOCTYPE html>\n<html lang=\"fr\" xmlns=\"http://www.w3.org/1999/xhtml\">"
		   "<head><meta charset=\"utf-8\"/><title>Synthèse des bilans %lld – "
		   "Promeneurs du Net (", y->year);
	buf_puts_html(b, y->dept);
	buf_printf(b, ")</title><style>%s%s</style></head>\n<body>\n"
		   "<h1>Promeneurs du Net : synthèse %s %lld</h1>\n"
		   "<p class=\"meta\">Département ", doc_css, synthese_css,
		   y->mid ? "de mi-année (1er semestre)" : "des bilans", y->year);
	buf_puts_html(b, y->dept);
	buf_printf(b, " · %s · établie le %s · bilans reçus : %lld "
		   "(%lld en %lld)%s</p>\n", y->mid ? "comité de mi-année" : "comité de pilotage",
		   today, y->nbilans[1], y->nbilans[0], y->year - 1,
		   mid_note(y, mid, sizeof(mid)));
	synthese_html_sections(y, b);
	buf_puts(b, "</body>\n</html>\n");
	return buf_error(b);
}

/* ---- XLSX ---- */

int synthese_xlsx(const struct synthese *y, const char *today, const char *tmp,
		  const char *path, char *err, size_t errlen)
{
	static const char sheet[] = "Synthèse";
	lxw_workbook *wb = workbook_new(tmp);
	lxw_worksheet *ws, *wt;
	lxw_format *bold, *title, *pct;
	lxw_chart *chart;
	lxw_error e = LXW_NO_ERROR;
	char buf[256], y0[24], y1[24], mid[64];

	if (!wb) {
		snprintf(err, errlen, "impossible de créer le classeur « %s ».", path);
		return RELAIS_EIO;
	}
	if (!(ws = workbook_add_worksheet(wb, sheet)) ||
	    !(wt = workbook_add_worksheet(wb, "Structures")) ||
	    !(bold = workbook_add_format(wb)) || !(title = workbook_add_format(wb)) ||
	    !(pct = workbook_add_format(wb)) ||
	    !(chart = workbook_add_chart(wb, LXW_CHART_BAR))) {
		workbook_close(wb);
		snprintf(err, errlen, "%s", relais_strerror(RELAIS_ENOMEM));
		return RELAIS_ENOMEM;
	}
	format_set_bold(bold);
	format_set_bold(title);
	format_set_font_size(title, 14);
	format_set_num_format(pct, "0.0%");
	snprintf(y0, sizeof(y0), "%lld", y->year - 1);
	snprintf(y1, sizeof(y1), "%lld", y->year);

	snprintf(buf, sizeof(buf), "Promeneurs du Net (%s) : synthèse des bilans %lld", y->dept,
		 y->year);
	e = worksheet_write_string(ws, 0, 0, buf, title);
	snprintf(buf, sizeof(buf), "Établie le %s ; bilans reçus : %lld (%lld en %lld)%s", today,
		 y->nbilans[1], y->nbilans[0], y->year - 1, mid_note(y, mid, sizeof(mid)));
	if (!e)
		e = worksheet_write_string(ws, 1, 0, buf, NULL);
	const char *heads[] = { "Indicateur", y0, y1, "Évolution", "Évolution (%)" };
	for (int k = 0; k < 5 && !e; k++)
		e = worksheet_write_string(ws, 3, (lxw_col_t)k, heads[k], bold);
	for (size_t i = 0; i < y->nind && !e; i++) {
		const struct indicator *in = &y->ind[i];
		lxw_row_t r = (lxw_row_t)(4 + i);
		e = worksheet_write_string(ws, r, 0, in->col->label, NULL);
		if (!e)
			e = worksheet_write_number(ws, r, 1, (double)in->tot[0], NULL);
		if (!e)
			e = worksheet_write_number(ws, r, 2, (double)in->tot[1], NULL);
		if (!e)
			e = worksheet_write_number(ws, r, 3, (double)(in->tot[1] - in->tot[0]), NULL);
		if (!e && in->tot[0])
			e = worksheet_write_number(ws, r, 4, (double)(in->tot[1] - in->tot[0]) /
						   (double)in->tot[0], pct);
	}
	if (!e)
		e = worksheet_set_column(ws, 0, 0, 44, NULL);
	if (!e)
		e = worksheet_set_column(ws, 1, 4, 14, NULL);
	if (!e && y->nind) {
		lxw_row_t last = (lxw_row_t)(4 + y->nind - 1);
		for (int k = 0; k < 2; k++) {
			lxw_chart_series *s = chart_add_series(chart, NULL, NULL);
			if (!s) {
				e = LXW_ERROR_MEMORY_MALLOC_FAILED;
				break;
			}
			chart_series_set_categories(s, sheet, 4, 0, last, 0);
			chart_series_set_values(s, sheet, 4, (lxw_col_t)(1 + k), last, (lxw_col_t)(1 + k));
			chart_series_set_name_range(s, sheet, 3, (lxw_col_t)(1 + k));
		}
		snprintf(buf, sizeof(buf), "Indicateurs %lld et %lld", y->year - 1, y->year);
		chart_title_set_name(chart, buf);
		chart_legend_set_position(chart, LXW_CHART_LEGEND_BOTTOM);
		lxw_chart_options opt = { .x_scale = 1.6, .y_scale = 1.8 };
		if (!e)
			e = worksheet_insert_chart_opt(ws, (lxw_row_t)(4 + y->nind + 2), 0, chart, &opt);
	}

	/* Per structure. */
	const char *sheads[] = { "Structure", "Commune", "Bilans" };
	for (int k = 0; k < 3 && !e; k++)
		e = worksheet_write_string(wt, 0, (lxw_col_t)k, sheads[k], bold);
	for (size_t i = 0; i < y->nind && !e; i++)
		e = worksheet_write_string(wt, 0, (lxw_col_t)(3 + i), y->ind[i].col->label, bold);
	for (size_t j = 0; j < y->ns && !e; j++) {
		const struct sstruct *s = &y->s[j];
		lxw_row_t r = (lxw_row_t)(1 + j);
		e = worksheet_write_string(wt, r, 0, s->nom, NULL);
		if (!e && s->commune[0])
			e = worksheet_write_string(wt, r, 1, s->commune, NULL);
		if (!e)
			e = worksheet_write_number(wt, r, 2, (double)s->nbilans[1], NULL);
		for (size_t i = 0; i < y->nind && !e && s->nbilans[1]; i++)
			e = worksheet_write_number(wt, r, (lxw_col_t)(3 + i), (double)s->val[1][i], NULL);
	}
	if (!e)
		e = worksheet_write_string(wt, (lxw_row_t)(1 + y->ns), 0, "Total", bold);
	if (!e)
		e = worksheet_write_number(wt, (lxw_row_t)(1 + y->ns), 2, (double)y->nbilans[1], bold);
	for (size_t i = 0; i < y->nind && !e; i++)
		e = worksheet_write_number(wt, (lxw_row_t)(1 + y->ns), (lxw_col_t)(3 + i),
					   (double)y->ind[i].tot[1], bold);
	if (!e)
		e = worksheet_set_column(wt, 0, 1, 30, NULL);
	if (!e)
		e = worksheet_set_column(wt, 2, (lxw_col_t)(2 + y->nind), 16, NULL);
	if (!e)
		worksheet_freeze_panes(wt, 1, 1);
	lxw_error ce = workbook_close(wb);
	if (e || ce) {
		snprintf(err, errlen, "écriture du classeur « %s » impossible : %s.", path,
			 lxw_strerror(e ? e : ce));
		return RELAIS_EIO;
	}
	return 0;
}
