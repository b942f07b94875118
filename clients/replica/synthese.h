/*
 * synthese.h - the annual synthesis of the bilans for the comité de pilotage
 * (prefix synthese_).
 *
 * Totals of each bilan indicator (every integer column of the model's bilan
 * table but the year) for a year and the one before, with the change, and
 * the same indicators per structure. HTML is one self-contained file (inline
 * CSS, SVG bar charts, no external resource); XLSX holds the same tables and
 * a native chart. docs/annuaire.md describes both. "relais synthese" and
 * the /synthese page of "relais ui" share everything below.
 */
#ifndef RELAIS_CLIENT_SYNTHESE_H
#define RELAIS_CLIENT_SYNTHESE_H

#include <sqlite3.h>
#include "../../common/buf.h"
#include "../../common/relais.h"

/* The years a synthesis may be asked for. */
#define SYNTHESE_YEAR_MIN 2001
#define SYNTHESE_YEAR_MAX 2100

struct synthese; /* opaque: the totals of one year and the year before */

/*
 * Reads the bilans of year and year - 1 from db in one read transaction
 * (db must not be inside one). dept is the département shown in titles.
 * *out is freed with synthese_free(). RELAIS_EINVAL for a year outside
 * [SYNTHESE_YEAR_MIN, SYNTHESE_YEAR_MAX], RELAIS_EDB, RELAIS_ENOMEM.
 */
int synthese_load(sqlite3 *db, long long year, const char *dept,
		  struct synthese **out) RELAIS_WUR;
/* The same for the mid-year comité when mid: the first half-year's bilans
 * (semestre1) of year and year - 1, and the activity of January to June.
 * Both syntheses end with the network's activity (activite.h). */
int synthese_load_period(sqlite3 *db, long long year, int mid, const char *dept,
			 struct synthese **out) RELAIS_WUR;
/* Accepts NULL. */
void synthese_free(struct synthese *y);

/* Number of bilans counted for the year (k = 1) or the year before (k = 0). */
long long synthese_nbilans(const struct synthese *y, int k);

/* The style sheet the markup of synthese_html_sections() needs; every rule
 * is scoped to its wrapper (class synthese), so it may join any page. */
extern const char synthese_css[];

/*
 * Appends the sections of the synthesis in a <div class="synthese">, each
 * under an <h2>: the indicators table, the legend and one inline SVG bar
 * chart per indicator, and the table per structure. No style attribute, so
 * the markup may join a page whose Content-Security-Policy forbids them.
 * Returns 0 or b's sticky error (common/buf.h), so a page that holds the
 * sections may check its buffer once instead.
 */
int synthese_html_sections(const struct synthese *y, struct buf *b);

/* Appends the whole self-contained HTML document ("relais synthese
 * --format html"); today is the date shown, "23/11/2026". */
int synthese_html(const struct synthese *y, const char *today, struct buf *b) RELAIS_WUR;

/*
 * Writes the XLSX workbook to tmp (created or replaced, not atomically:
 * give a temporary name and rename it when that matters); messages name
 * path, the file people asked for (tmp itself will do). Returns 0, or
 * RELAIS_EIO / RELAIS_ENOMEM with a French sentence in err.
 */
int synthese_xlsx(const struct synthese *y, const char *today, const char *tmp,
		  const char *path, char *err, size_t errlen) RELAIS_WUR;

#endif
