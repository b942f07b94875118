/*
 * office.c - XLSX, ODS, DOCX and ODT attachments read as text (see office.h).
 *
 * Each archive member is inflated as libxml2 reads it (xmlReaderForIO over
 * zip_fread), so a 50 MB sheet never sits in memory whole, and the reads are
 * counted against MAILGW_OFFICE_INFLATE_MAX whatever the archive declares.
 * The walkers below only follow start and end tags and text: they keep no
 * tree, and what they produce goes to one capped buffer whose first failure
 * sticks (the rest of the document is then skipped).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <libxml/xmlreader.h>
#include <zip.h>
#include "../common/buf.h"
#include "../common/utf8.h"
#include "charset.h"
#include "office.h"

/* Shared strings of one workbook, and the bytes they may hold in all. */
#define SST_MAX 200000u
#define SST_BYTES_MAX (16u << 20)
/* Cell styles of one workbook whose number format is looked at. */
#define STYLES_MAX 4096u
/* Bytes of one cell, and repeats of one non-empty ODS row. */
#define CELL_MAX (32u << 10)
#define ROW_REPEAT_MAX 100u
/* Bytes of the window that looks for a DOCTYPE across reads. */
#define SCAN_KEEP 16

enum fmt { F_NONE, F_XLSX, F_ODS, F_DOCX, F_ODT, F_OLE2 };

struct office {
	zip_t *za;
	size_t inflated;          /* bytes of members read so far */
	const char *refused;      /* static French reason; the first one sticks */
	struct buf out;           /* what is produced */
	int full;                 /* out reached its cap */
	int done;                 /* nothing more is wanted from this member */
	/* The current row of a sheet. */
	struct buf row;
	unsigned ncols;           /* cells written to row */
	int row_has_value;
	unsigned rows;            /* rows written for the current sheet */
	unsigned sheets;          /* sheets that produced rows */
	/* XLSX. */
	char **sst;
	size_t nsst, sst_bytes;
	unsigned char date_style[STYLES_MAX];
};

static void refuse(struct office *o, const char *why)
{
	if (!o->refused)
		o->refused = why;
}

static void emit(struct office *o, const void *p, size_t n)
{
	if (o->full)
		return;
	if (buf_append(&o->out, p, n))
		o->full = 1;
}

/* ---- one archive member as a libxml2 input ---- */

struct member {
	struct office *o;
	zip_file_t *zf;
	char tail[SCAN_KEEP];     /* last bytes of the previous read */
	size_t ntail;
	int first;
};

/* Whether s[0..n) holds "<!DOCTYPE" or "<!ENTITY" (any case). */
static int has_dtd(const char *s, size_t n)
{
	for (size_t i = 0; i + 2 < n; i++)
		if (s[i] == '<' && s[i + 1] == '!' &&
		    ((n - i >= 9 && !strncasecmp(s + i + 2, "DOCTYPE", 7)) ||
		     (n - i >= 8 && !strncasecmp(s + i + 2, "ENTITY", 6))))
			return 1;
	return 0;
}

static int member_read(void *ctx, char *buffer, int len)
{
	struct member *m = ctx;
	struct office *o = m->o;
	char scan[SCAN_KEEP + 4096];
	zip_int64_t got;

	if (o->refused || o->full)
		return -1;
	if (len > 4096)
		len = 4096;
	if (o->inflated >= MAILGW_OFFICE_INFLATE_MAX) {
		refuse(o, "le document décompressé dépasse 64 Mio (archive piégée ?)");
		return -1;
	}
	if ((size_t)len > MAILGW_OFFICE_INFLATE_MAX - o->inflated)
		len = (int)(MAILGW_OFFICE_INFLATE_MAX - o->inflated);
	got = zip_fread(m->zf, buffer, (zip_uint64_t)len);
	if (got < 0) {
		refuse(o, "archive zip endommagée");
		return -1;
	}
	o->inflated += (size_t)got;
	/* Only UTF-8 (or ASCII-compatible) XML: a UTF-16 member could hide a
	 * DOCTYPE from the scan below. */
	if (m->first && got >= 2 && ((unsigned char)buffer[0] == 0xfe || (unsigned char)buffer[0] == 0xff ||
				     !buffer[0] || !buffer[1])) {
		refuse(o, "document XML dans un codage non pris en charge");
		return -1;
	}
	m->first = 0;
	memcpy(scan, m->tail, m->ntail);
	memcpy(scan + m->ntail, buffer, (size_t)got);
	if (has_dtd(scan, m->ntail + (size_t)got)) {
		refuse(o, "document XML avec une DTD ou des entités (refusé par sécurité)");
		return -1;
	}
	size_t total = m->ntail + (size_t)got;
	m->ntail = total < SCAN_KEEP ? total : SCAN_KEEP;
	memcpy(m->tail, scan + total - m->ntail, m->ntail);
	return (int)got;
}

static int member_close(void *ctx)
{
	(void)ctx;
	return 0;
}

static void xml_quiet(void *arg, const char *msg, xmlParserSeverities severity,
		      xmlTextReaderLocatorPtr locator)
{
	(void)arg;
	(void)msg;
	(void)severity;
	(void)locator;
}

typedef void (*walk_fn)(struct office *o, xmlTextReaderPtr r, void *state);

/*
 * Streams member name through fn, called on each node. Returns 1 when the
 * member was read to its end, 0 when it is absent, -1 when it was refused
 * (o->refused says why) or unreadable.
 */
static int read_member(struct office *o, const char *name, walk_fn fn, void *state)
{
	struct member m = { o, NULL, { 0 }, 0, 1 };
	xmlTextReaderPtr r;
	zip_int64_t idx = zip_name_locate(o->za, name, 0);
	int rc = 1;

	if (idx < 0)
		return 0;
	/* What the archive declares is checked first (a lie is still caught
	 * by the count in member_read). */
	zip_stat_t zs;
	zip_stat_init(&zs);
	if (!zip_stat_index(o->za, (zip_uint64_t)idx, 0, &zs) && (zs.valid & ZIP_STAT_SIZE) &&
	    zs.size > MAILGW_OFFICE_INFLATE_MAX - o->inflated) {
		refuse(o, "le document décompressé dépasse 64 Mio (archive piégée ?)");
		return -1;
	}
	m.zf = zip_fopen_index(o->za, (zip_uint64_t)idx, 0);
	if (!m.zf) {
		refuse(o, "membre d'archive illisible (chiffré ou compression inconnue)");
		return -1;
	}
	/* No XML_PARSE_NOENT, DTDLOAD, DTDATTR, XINCLUDE or HUGE: entities are
	 * never substituted, nothing is fetched, libxml2's own caps hold. */
	r = xmlReaderForIO(member_read, member_close, &m, name, NULL,
			   XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
				   XML_PARSE_NOCDATA);
	if (!r) {
		zip_fclose(m.zf);
		refuse(o, "document XML illisible");
		return -1;
	}
	xmlTextReaderSetErrorHandler(r, xml_quiet, NULL);
	o->done = 0;
	while (!o->refused && !o->full && !o->done && (rc = xmlTextReaderRead(r)) == 1)
		fn(o, r, state);
	xmlFreeTextReader(r);
	zip_fclose(m.zf);
	if (rc < 0 && !o->full) {
		refuse(o, "document XML mal formé");
		return -1;
	}
	return o->refused ? -1 : 1;
}

/* ---- shared helpers of the walkers ---- */

static int is_start(xmlTextReaderPtr r, const char *local)
{
	const xmlChar *n = xmlTextReaderConstLocalName(r);
	return xmlTextReaderNodeType(r) == XML_READER_TYPE_ELEMENT && n &&
	       !strcmp((const char *)n, local);
}

static int is_end(xmlTextReaderPtr r, const char *local)
{
	const xmlChar *n = xmlTextReaderConstLocalName(r);
	int t = xmlTextReaderNodeType(r);
	return n && !strcmp((const char *)n, local) &&
	       (t == XML_READER_TYPE_END_ELEMENT ||
		(t == XML_READER_TYPE_ELEMENT && xmlTextReaderIsEmptyElement(r)));
}

static int is_text(xmlTextReaderPtr r)
{
	int t = xmlTextReaderNodeType(r);
	return t == XML_READER_TYPE_TEXT || t == XML_READER_TYPE_CDATA ||
	       t == XML_READER_TYPE_SIGNIFICANT_WHITESPACE || t == XML_READER_TYPE_WHITESPACE;
}

/* Keeps *inside saying whether the reader is within a local element with
 * content: set at its start tag, cleared at its end (an empty one is never
 * entered). */
static void track(xmlTextReaderPtr r, const char *local, int *inside)
{
	if (is_start(r, local))
		*inside = !xmlTextReaderIsEmptyElement(r);
	else if (is_end(r, local))
		*inside = 0;
}

/* An attribute's value by qualified name, malloc'd by libxml2 (xmlFree), or NULL. */
static char *attr(xmlTextReaderPtr r, const char *qname)
{
	return (char *)xmlTextReaderGetAttribute(r, (const xmlChar *)qname);
}

static unsigned long attr_ulong(xmlTextReaderPtr r, const char *qname, unsigned long dflt,
				unsigned long max)
{
	char *v = attr(r, qname), *end;
	unsigned long n = dflt;
	if (v) {
		n = strtoul(v, &end, 10);
		if (end == v || *end)
			n = dflt;
		xmlFree(v);
	}
	return n > max ? max : n;
}

/* Appends text to a capped cell buffer; control characters but tab and
 * newline become spaces, so that no '\f' or NUL reaches the output. */
static void cell_put(struct buf *cell, const char *s)
{
	for (; *s; s++) {
		char c = *s;
		if ((unsigned char)c < 0x20 && c != '\n' && c != '\t')
			c = ' ';
		if (buf_putc(cell, c))
			return; /* a cell past CELL_MAX is cut */
	}
}

/* ---- rows of CSV ---- */

static void row_start(struct office *o)
{
	buf_reset(&o->row);
	o->ncols = 0;
	o->row_has_value = 0;
}

/* Adds a cell at column col (0-based; earlier missing columns are empty). */
static void row_cell(struct office *o, unsigned col, const char *v)
{
	int quote = strpbrk(v, ";\"\n\r") != NULL;
	int rc = 0;
	if (col >= MAILGW_OFFICE_COLS_MAX)
		return;
	while (o->ncols < col && !rc) {
		rc = buf_putc(&o->row, ';');
		o->ncols++;
	}
	if (o->ncols)
		rc = rc ? rc : buf_putc(&o->row, ';');
	o->ncols++;
	if (*v)
		o->row_has_value = 1;
	if (quote)
		rc = rc ? rc : buf_putc(&o->row, '"');
	for (const char *p = v; *p && !rc; p++) {
		if (*p == '"')
			rc = buf_putc(&o->row, '"');
		if (!rc)
			rc = buf_putc(&o->row, *p);
	}
	if (quote && !rc)
		rc = buf_putc(&o->row, '"');
	if (rc)
		o->full = 1;
}

/* Writes the row times times when it holds a value; an empty row is left out. */
static void row_end(struct office *o, unsigned long times)
{
	if (!o->row_has_value)
		return;
	if (!o->rows && o->sheets)
		emit(o, "\f\n", 2);
	if (!o->rows)
		o->sheets++;
	for (unsigned long i = 0; i < times && o->rows < MAILGW_OFFICE_ROWS_MAX; i++) {
		emit(o, o->row.data, o->row.len);
		emit(o, "\n", 1);
		o->rows++;
	}
	/* Rows past the cap would be ignored: the rest of the sheet is not read. */
	if (o->rows >= MAILGW_OFFICE_ROWS_MAX)
		o->done = 1;
}

/* ---- XLSX ---- */

struct sst_walk {
	struct buf s;
	int in_si, in_t, in_rph;
};

static void sst_add(struct office *o, struct sst_walk *w)
{
	char *s, **grown;
	if (o->nsst >= SST_MAX || o->sst_bytes + w->s.len > SST_BYTES_MAX) {
		refuse(o, "classeur avec trop de textes partagés");
		return;
	}
	grown = realloc(o->sst, (o->nsst + 1) * sizeof(*grown));
	s = strdup(buf_str(&w->s));
	if (grown)
		o->sst = grown;
	if (!grown || !s) {
		free(s);
		o->full = 1;
		return;
	}
	o->sst[o->nsst++] = s;
	o->sst_bytes += w->s.len;
}

static void walk_sst(struct office *o, xmlTextReaderPtr r, void *state)
{
	struct sst_walk *w = state;
	if (is_start(r, "si")) {
		w->in_si = 1;
		buf_reset(&w->s);
	}
	track(r, "rPh", &w->in_rph);
	track(r, "t", &w->in_t);
	if (w->in_si && w->in_t && !w->in_rph && is_text(r))
		cell_put(&w->s, (const char *)xmlTextReaderConstValue(r));
	if (is_end(r, "si")) {
		sst_add(o, w);
		w->in_si = 0;
	}
}

/* Whether a custom number format code shows a date: a d, m or y outside
 * quotes, brackets and escapes ("[Red]0.00" and "0\ \d" are no dates). */
static int code_is_date(const char *code)
{
	int quoted = 0, bracket = 0;
	for (const char *p = code; *p; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			continue;
		}
		if (*p == '"')
			quoted = !quoted;
		else if (!quoted && *p == '[')
			bracket = 1;
		else if (!quoted && *p == ']')
			bracket = 0;
		else if (!quoted && !bracket && strchr("dmyDMY", *p))
			return 1;
	}
	return 0;
}

struct styles_walk {
	unsigned char custom_date[512]; /* by numFmtId, for ids under 512 */
	int in_xfs;
	unsigned nxf;
};

static void walk_styles(struct office *o, xmlTextReaderPtr r, void *state)
{
	struct styles_walk *w = state;
	if (is_start(r, "numFmt")) {
		unsigned long id = attr_ulong(r, "numFmtId", 0, 100000);
		char *code = attr(r, "formatCode");
		if (id < sizeof(w->custom_date) && code)
			w->custom_date[id] = (unsigned char)code_is_date(code);
		xmlFree(code);
	} else if (is_start(r, "cellXfs")) {
		w->in_xfs = !xmlTextReaderIsEmptyElement(r);
	} else if (is_end(r, "cellXfs")) {
		w->in_xfs = 0;
	} else if (w->in_xfs && is_start(r, "xf")) {
		unsigned long id = attr_ulong(r, "numFmtId", 0, 100000);
		/* Excel's built-in date formats are 14 to 22 and 45 to 47. */
		int date = (id >= 14 && id <= 22) || (id >= 45 && id <= 47) ||
			   (id < sizeof(w->custom_date) && w->custom_date[id]);
		if (w->nxf < STYLES_MAX)
			o->date_style[w->nxf] = (unsigned char)date;
		w->nxf++;
	}
}

/* Excel's serial day (1900 system: day 60 is the phantom 1900-02-29) as
 * YYYY-MM-DD; "" when out of range. */
static void serial_date(const char *v, char out[16])
{
	char *end;
	double d = strtod(v, &end);
	out[0] = 0;
	if (end == v || d < 61 || d > 2958465)
		return;
	long days = (long)d - 25569; /* days since 1970-01-01 */
	/* Civil from days (Howard Hinnant's algorithm). */
	long z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
	long doe = z - era * 146097;
	long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	long mp = (5 * doy + 2) / 153, dd = doy - (153 * mp + 2) / 5 + 1;
	long mm = mp < 10 ? mp + 3 : mp - 9;
	snprintf(out, 16, "%04d-%02d-%02d", (int)(y + (mm <= 2)) % 10000, (int)mm % 100, (int)dd % 100);
}

/* "C12" -> 2; -1 when not a reference. */
static long col_of_ref(const char *ref)
{
	long col = 0;
	int letters = 0;
	for (; *ref >= 'A' && *ref <= 'Z' && letters < 4; ref++, letters++)
		col = col * 26 + (*ref - 'A' + 1);
	return letters ? col - 1 : -1;
}

struct sheet_walk {
	struct buf cell;
	char type[16];
	unsigned long style;
	long col, next_col;
	int in_v, in_is_t, in_c;
};

static void xlsx_cell_end(struct office *o, struct sheet_walk *w)
{
	const char *v = buf_str(&w->cell);
	char date[16];
	if (!strcmp(w->type, "s")) {
		char *e;
		unsigned long i = strtoul(v, &e, 10);
		v = (e != v && !*e && i < o->nsst) ? o->sst[i] : "";
	} else if (!strcmp(w->type, "b")) {
		v = !strcmp(v, "1") ? "VRAI" : "FAUX";
	} else if ((!w->type[0] || !strcmp(w->type, "n")) && w->style < STYLES_MAX &&
		   o->date_style[w->style] && *v) {
		serial_date(v, date);
		if (date[0])
			v = date;
	}
	if (w->col >= 0)
		row_cell(o, (unsigned)w->col, v);
	w->next_col = w->col + 1;
	w->in_c = 0;
}

static void walk_sheet(struct office *o, xmlTextReaderPtr r, void *state)
{
	struct sheet_walk *w = state;
	if (is_start(r, "row")) {
		row_start(o);
		w->next_col = 0;
	}
	if (is_start(r, "c")) {
		char *ref = attr(r, "r"), *t = attr(r, "t");
		w->col = ref ? col_of_ref(ref) : w->next_col;
		snprintf(w->type, sizeof(w->type), "%s", t ? t : "");
		w->style = attr_ulong(r, "s", 0, STYLES_MAX);
		xmlFree(ref);
		xmlFree(t);
		buf_reset(&w->cell);
		w->in_c = 1;
		if (xmlTextReaderIsEmptyElement(r))
			xlsx_cell_end(o, w);
		return;
	}
	track(r, "v", &w->in_v);
	track(r, "t", &w->in_is_t);
	if (w->in_c && (w->in_v || w->in_is_t) && is_text(r))
		cell_put(&w->cell, (const char *)xmlTextReaderConstValue(r));
	if (w->in_c && is_end(r, "c"))
		xlsx_cell_end(o, w);
	if (is_end(r, "row"))
		row_end(o, 1);
}

static void read_xlsx(struct office *o)
{
	struct sst_walk sw = { BUF_INIT(CELL_MAX), 0, 0, 0 };
	struct styles_walk stw;
	struct sheet_walk shw = { BUF_INIT(CELL_MAX), "", 0, 0, 0, 0, 0, 0 };
	char name[64];

	memset(&stw, 0, sizeof(stw));
	read_member(o, "xl/sharedStrings.xml", walk_sst, &sw);
	if (!o->refused)
		read_member(o, "xl/styles.xml", walk_styles, &stw);
	for (unsigned i = 1; i <= MAILGW_OFFICE_SHEETS_MAX && !o->refused && !o->full; i++) {
		snprintf(name, sizeof(name), "xl/worksheets/sheet%u.xml", i);
		o->rows = 0;
		if (read_member(o, name, walk_sheet, &shw) == 0)
			break;
	}
	buf_release(&sw.s);
	buf_release(&shw.cell);
}

/* ---- ODS ---- */

struct ods_walk {
	struct buf cell;
	unsigned long col_repeat, row_repeat;
	unsigned col;
	unsigned pending_empty;   /* empty cells not written yet */
	char *value;              /* office:value or date-value, xmlFree */
	int in_cell, in_table, paragraphs;
	unsigned tables;          /* sheets met so far */
};

static void ods_cell_end(struct office *o, struct ods_walk *w)
{
	const char *v = w->value ? w->value : buf_str(&w->cell);
	if (!*v) {
		w->pending_empty += (unsigned)w->col_repeat;
	} else {
		w->col += w->pending_empty;
		w->pending_empty = 0;
		for (unsigned long k = 0; k < w->col_repeat && w->col < MAILGW_OFFICE_COLS_MAX; k++)
			row_cell(o, w->col++, v);
	}
	xmlFree(w->value);
	w->value = NULL;
	w->in_cell = 0;
	if (w->pending_empty > MAILGW_OFFICE_COLS_MAX)
		w->pending_empty = MAILGW_OFFICE_COLS_MAX;
}

static void walk_ods(struct office *o, xmlTextReaderPtr r, void *state)
{
	struct ods_walk *w = state;
	if (is_start(r, "table") && !xmlTextReaderIsEmptyElement(r)) {
		/* Sheets past the cap are not read at all. */
		if (++w->tables > MAILGW_OFFICE_SHEETS_MAX) {
			o->done = 1;
			return;
		}
		w->in_table = 1;
		o->rows = 0;
		return;
	}
	if (!w->in_table)
		return;
	if (is_end(r, "table")) {
		w->in_table = 0;
		return;
	}
	if (is_start(r, "table-row")) {
		row_start(o);
		w->col = 0;
		w->pending_empty = 0;
		w->row_repeat = attr_ulong(r, "table:number-rows-repeated", 1, ROW_REPEAT_MAX);
		if (xmlTextReaderIsEmptyElement(r))
			row_end(o, w->row_repeat);
		return;
	}
	if (is_start(r, "table-cell") || is_start(r, "covered-table-cell")) {
		char *type = attr(r, "office:value-type");
		w->col_repeat = attr_ulong(r, "table:number-columns-repeated", 1, MAILGW_OFFICE_COLS_MAX);
		if (type && !strcmp(type, "date")) {
			w->value = attr(r, "office:date-value");
			if (w->value && strlen(w->value) > 10)
				w->value[10] = 0;
		} else if (type && (!strcmp(type, "float") || !strcmp(type, "percentage") ||
				    !strcmp(type, "currency"))) {
			w->value = attr(r, "office:value");
		}
		xmlFree(type);
		buf_reset(&w->cell);
		w->paragraphs = 0;
		w->in_cell = 1;
		if (xmlTextReaderIsEmptyElement(r))
			ods_cell_end(o, w);
		return;
	}
	if (w->in_cell && is_start(r, "p") && w->paragraphs++)
		cell_put(&w->cell, "\n");
	if (w->in_cell && is_start(r, "s")) {
		unsigned long n = attr_ulong(r, "text:c", 1, 64);
		while (n--)
			cell_put(&w->cell, " ");
	}
	if (w->in_cell && is_start(r, "tab"))
		cell_put(&w->cell, "\t");
	if (w->in_cell && is_start(r, "line-break"))
		cell_put(&w->cell, "\n");
	if (w->in_cell && is_text(r))
		cell_put(&w->cell, (const char *)xmlTextReaderConstValue(r));
	if (w->in_cell && (is_end(r, "table-cell") || is_end(r, "covered-table-cell")))
		ods_cell_end(o, w);
	if (is_end(r, "table-row"))
		row_end(o, w->row_repeat);
}

/* ---- DOCX and ODT ---- */

/* Element names of one document format. */
struct doc_names {
	const char *para, *para2;   /* end a line */
	const char *text;           /* holds text (NULL: any text counts) */
	const char *tab, *brk, *spaces;
	const char *cell, *row;
};

static const struct doc_names docx_names = { "p", NULL, "t", "tab", "br", NULL, "tc", "tr" };
static const struct doc_names odt_names = { "p", "h", NULL, "tab", "line-break", "s",
					    "table-cell", "table-row" };

struct doc_walk {
	const struct doc_names *n;
	struct buf cell;          /* the text of the current table cell */
	struct buf line;          /* the cells of the current table row */
	int in_text, cell_depth, cells, cut;
};

static void doc_put(struct office *o, struct doc_walk *w, const char *s)
{
	if (w->cell_depth)
		cell_put(&w->cell, s);
	else
		emit(o, s, strlen(s));
}

/* A table row of a filled-in form: "Label | value" becomes "Label : value",
 * the way the text form is written. */
static void doc_cell_end(struct doc_walk *w)
{
	size_t n = w->cell.len;
	while (n && (w->cell.data[n - 1] == ' ' || w->cell.data[n - 1] == '\n'))
		n--;
	if (w->cells++) {
		size_t l = w->line.len;
		while (l && w->line.data[l - 1] == ' ')
			l--;
		int colon = l && w->line.data[l - 1] == ':';
		if (buf_puts(&w->line, colon ? " " : " : "))
			w->cut = 1;
	}
	if (n && buf_append(&w->line, w->cell.data, n))
		w->cut = 1; /* a row past its cap loses its last cells */
	buf_reset(&w->cell);
}

static void walk_doc(struct office *o, xmlTextReaderPtr r, void *state)
{
	struct doc_walk *w = state;
	const struct doc_names *n = w->n;

	if (is_start(r, n->cell) && !xmlTextReaderIsEmptyElement(r)) {
		w->cell_depth++;
		return;
	}
	if (w->cell_depth && is_end(r, n->cell)) {
		w->cell_depth--;
		if (!w->cell_depth)
			doc_cell_end(w);
		return;
	}
	if (!w->cell_depth && is_end(r, n->row)) {
		emit(o, w->line.data, w->line.len);
		emit(o, "\n", 1);
		buf_reset(&w->line);
		w->cells = 0;
		return;
	}
	if (n->text)
		track(r, n->text, &w->in_text);
	if (is_start(r, n->tab))
		doc_put(o, w, "\t");
	else if (is_start(r, n->brk))
		doc_put(o, w, "\n");
	else if (n->spaces && is_start(r, n->spaces)) {
		unsigned long k = attr_ulong(r, "text:c", 1, 64);
		while (k--)
			doc_put(o, w, " ");
	}
	if ((!n->text || w->in_text) && is_text(r)) {
		const char *s = (const char *)xmlTextReaderConstValue(r);
		if (w->cell_depth) {
			cell_put(&w->cell, s);
		} else {
			/* Control characters but tab and newline become spaces. */
			for (; *s; s++) {
				char c = ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t') ? ' ' : *s;
				emit(o, &c, 1);
			}
		}
	}
	if (is_end(r, n->para) || (n->para2 && is_end(r, n->para2)))
		doc_put(o, w, w->cell_depth ? " " : "\n");
}

static void read_doc(struct office *o, const char *member, const struct doc_names *names)
{
	struct doc_walk w = { names, BUF_INIT(CELL_MAX), BUF_INIT(8 * CELL_MAX), 0, 0, 0, 0 };
	if (read_member(o, member, walk_doc, &w) == 0)
		refuse(o, "document sans contenu");
	buf_release(&w.cell);
	buf_release(&w.line);
}

/* ---- recognising the format ---- */

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && !strcasecmp(s + n - k, suffix);
}

/* The ODF mimetype member's content, into out. */
static void odf_mimetype(zip_t *za, char *out, size_t outlen)
{
	zip_int64_t idx = zip_name_locate(za, "mimetype", 0);
	zip_file_t *zf;
	zip_int64_t got;
	out[0] = 0;
	if (idx < 0 || !(zf = zip_fopen_index(za, (zip_uint64_t)idx, 0)))
		return;
	got = zip_fread(zf, out, outlen - 1);
	out[got > 0 ? got : 0] = 0;
	zip_fclose(zf);
}

static enum fmt zip_format(zip_t *za)
{
	char mt[128];
	if (zip_name_locate(za, "xl/workbook.xml", 0) >= 0)
		return F_XLSX;
	if (zip_name_locate(za, "word/document.xml", 0) >= 0)
		return F_DOCX;
	odf_mimetype(za, mt, sizeof(mt));
	if (!strncmp(mt, "application/vnd.oasis.opendocument.spreadsheet", 46))
		return F_ODS;
	if (!strncmp(mt, "application/vnd.oasis.opendocument.text", 39))
		return F_ODT;
	return F_NONE;
}

/* Whether the name or type says office file, for a file whose content
 * turned out unreadable. */
static int named_office(const char *filename, const char *mime_type)
{
	static const char *const exts[] = { ".xlsx", ".xlsm", ".ods", ".docx", ".odt", ".xls", ".doc",
					    NULL };
	/* Windows sends a CSV file as application/vnd.ms-excel. */
	if (ends_with(filename, ".csv") || ends_with(filename, ".txt"))
		return 0;
	for (size_t i = 0; exts[i]; i++)
		if (ends_with(filename, exts[i]))
			return 1;
	return !strncmp(mime_type, "application/vnd.openxmlformats-officedocument", 45) ||
	       !strncmp(mime_type, "application/vnd.oasis.opendocument", 34) ||
	       !strcmp(mime_type, "application/vnd.ms-excel") || !strcmp(mime_type, "application/msword");
}

/* Keeps the valid UTF-8 sequences of b, in place. */
static void utf8_repair(struct buf *b)
{
	size_t i = 0, o = 0;
	while (i < b->len) {
		size_t k = 1;
		unsigned char c = b->data[i];
		if (c >= 0xc2 && c <= 0xf4)
			k = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
		if (c >= 0x80 && (k == 1 || i + k > b->len || !utf8_valid(b->data + i, k))) {
			i++;
			continue;
		}
		memmove(b->data + o, b->data + i, k);
		o += k;
		i += k;
	}
	b->len = o;
}

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_init(void)
{
	xmlInitParser();
}

static void office_release(struct office *o)
{
	for (size_t i = 0; i < o->nsst; i++)
		free(o->sst[i]);
	free(o->sst);
	buf_release(&o->row);
	buf_release(&o->out);
	if (o->za)
		zip_discard(o->za);
}

int mailgw_office_extract(const char *filename, const char *mime_type, const unsigned char *data,
			  size_t len, size_t max_out, int *kind, char **out, size_t *outlen)
{
	static const unsigned char ole2[8] = { 0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1 };
	struct office *o = calloc(1, sizeof(*o));
	zip_source_t *src = NULL;
	zip_error_t zerr;
	enum fmt f = F_NONE;
	int rc = 0;

	*kind = MAILGW_OFFICE_NONE;
	*out = NULL;
	*outlen = 0;
	if (!o)
		return RELAIS_ENOMEM;
	buf_init(&o->out, max_out ? max_out : MAILGW_OFFICE_OUT_MAX);
	buf_init(&o->row, 8 * CELL_MAX);
	filename = filename ? filename : "";
	mime_type = mime_type ? mime_type : "";
	pthread_once(&xml_once, xml_init);

	if (len >= 8 && !memcmp(data, ole2, 8)) {
		f = F_OLE2;
		refuse(o, "ancien format binaire d'Office (.xls ou .doc) non lu : enregistrez le "
			  "fichier au format .xlsx, .ods, .docx ou .odt");
	} else if (len >= 4 && !memcmp(data, "PK\3\4", 4)) {
		zip_error_init(&zerr);
		src = zip_source_buffer_create(data, len, 0, &zerr);
		if (src && !(o->za = zip_open_from_source(src, ZIP_RDONLY, &zerr)))
			zip_source_free(src);
		zip_error_fini(&zerr);
		if (!o->za) {
			if (named_office(filename, mime_type))
				refuse(o, "archive zip endommagée");
		} else if (zip_get_num_entries(o->za, 0) > MAILGW_OFFICE_ENTRIES_MAX) {
			f = zip_format(o->za);
			refuse(o, "archive avec trop de fichiers (plus de 2000)");
		} else {
			f = zip_format(o->za);
		}
	} else if (named_office(filename, mime_type)) {
		refuse(o, "le contenu ne correspond pas à un document bureautique");
	}

	if (!o->refused) {
		if (f == F_XLSX) {
			read_xlsx(o);
		} else if (f == F_ODS) {
			struct ods_walk w = { BUF_INIT(CELL_MAX), 1, 1, 0, 0, NULL, 0, 0, 0, 0 };
			if (read_member(o, "content.xml", walk_ods, &w) == 0)
				refuse(o, "classeur sans contenu");
			xmlFree(w.value);
			buf_release(&w.cell);
		} else if (f == F_DOCX) {
			read_doc(o, "word/document.xml", &docx_names);
		} else if (f == F_ODT) {
			read_doc(o, "content.xml", &odt_names);
		}
	}
	if (o->refused) {
		*kind = MAILGW_OFFICE_REFUSED;
		buf_reset(&o->out);
		o->full = 0;
		emit(o, o->refused, strlen(o->refused));
	} else if (f == F_XLSX || f == F_ODS) {
		*kind = MAILGW_OFFICE_TABLE;
	} else if (f == F_DOCX || f == F_ODT) {
		*kind = MAILGW_OFFICE_TEXT;
	} else {
		goto out;
	}
	/* Cuts at a cap may split a character: drop what is not UTF-8. */
	utf8_repair(&o->out);
	if (o->out.data)
		o->out.data[o->out.len] = 0;
	*out = (char *)buf_detach(&o->out, outlen);
	if (!*out) {
		*kind = MAILGW_OFFICE_NONE;
		rc = RELAIS_ENOMEM;
	}
out:
	office_release(o);
	free(o);
	return rc;
}
