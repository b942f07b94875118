/*
 * csv.c - the capped CSV reader of csv.h.
 *
 * Decoding happens first and once: the whole input becomes UTF-8, then one
 * pass splits it into records and fields. Quoting follows RFC 4180 and is
 * forgiving where spreadsheets are sloppy (text after a closing quote is kept).
 */
#include <errno.h>
#include <iconv.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../common/buf.h"
#include "../common/utf8.h"
#include "csv.h"

struct reader {
	const char *p;   /* UTF-8 text */
	size_t n, i;
	size_t line;     /* physical line of p[i], from 1 */
	struct csv_limits lim;
	struct csv *out;
	char *err;
	size_t errlen;
};

static int failf(struct reader *r, int rc, const char *fmt, ...) RELAIS_PRINTF(3, 4);

static int failf(struct reader *r, int rc, const char *fmt, ...)
{
	if (r->err && r->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(r->err, r->errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* ---- decoding ---- */

/* Converts n bytes from charset `from` into a malloc'd UTF-8 string. */
static int convert(struct reader *r, const char *from, const char *in, size_t n,
		   char **res, size_t *reslen)
{
	int rc = 0;
	size_t cap = 3 * n + 4; /* Windows-1252 and UTF-16 grow at most threefold */
	char *buf = malloc(cap), *o = buf;
	iconv_t cd = iconv_open("UTF-8", from);
	if (!buf || cd == (iconv_t)-1) {
		rc = buf ? failf(r, RELAIS_ECORRUPT, "conversion depuis %s indisponible.", from)
			 : RELAIS_ENOMEM;
		goto out;
	}
	char *ip = (char *)in;
	size_t il = n, ol = cap - 1;
	if (iconv(cd, &ip, &il, &o, &ol) == (size_t)-1) {
		rc = failf(r, RELAIS_ECORRUPT,
			   "le fichier n'est ni en UTF-8 ni en Windows-1252 (octet %zu).",
			   (size_t)(ip - in) + 1);
		goto out;
	}
	*o = 0;
	*reslen = (size_t)(o - buf);
	*res = buf;
	buf = NULL;
out:
	if (cd != (iconv_t)-1)
		iconv_close(cd);
	free(buf);
	return rc;
}

/* Makes r->p the input as UTF-8; *owned receives what must be freed. */
static int decode(struct reader *r, const unsigned char *d, size_t n, char **owned)
{
	size_t len = 0;
	int rc = 0;
	*owned = NULL;
	if (n >= 3 && d[0] == 0xef && d[1] == 0xbb && d[2] == 0xbf) {
		d += 3;
		n -= 3;
	}
	if (n >= 2 && d[0] == 0xff && d[1] == 0xfe) {
		/* What a spreadsheet saves as "Unicode text". */
		rc = convert(r, "UTF-16LE", (const char *)d + 2, n - 2, owned, &len);
	} else if (utf8_valid(d, n)) {
		r->p = (const char *)d;
		r->n = n;
	} else {
		r->out->from_cp1252 = 1;
		rc = convert(r, "WINDOWS-1252", (const char *)d, n, owned, &len);
	}
	if (rc)
		return rc;
	if (*owned) {
		r->p = *owned;
		r->n = len;
	}
	if (memchr(r->p, 0, r->n))
		return failf(r, RELAIS_ECORRUPT, "le fichier contient un octet nul : ce n'est pas du texte.");
	return 0;
}

/* ---- splitting ---- */

/* Counts candidate separators outside quotes in the first record that has
 * any; on a tie the semicolon wins, since French exports use it while their
 * decimal commas would otherwise look like separators. */
static char detect_sep(const char *p, size_t n)
{
	static const char cands[] = { ';', ',', '\t' };
	size_t count[3] = { 0, 0, 0 };
	int quoted = 0;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c == '"') {
			quoted = !quoted;
		} else if (!quoted && (c == '\n' || c == '\r')) {
			if (count[0] || count[1] || count[2])
				break;
		} else if (!quoted) {
			for (int k = 0; k < 3; k++)
				if (c == cands[k])
					count[k]++;
		}
	}
	int best = 0;
	for (int k = 1; k < 3; k++)
		if (count[k] > count[best])
			best = k;
	return count[best] ? cands[best] : ',';
}

static int add_field(struct reader *r, struct csv_row *row, struct buf *f)
{
	if (row->n >= r->lim.cols_max)
		return failf(r, RELAIS_ETOOBIG, "trop de colonnes à la ligne %zu (plus de %zu).",
			     r->line, r->lim.cols_max);
	char **nf = realloc(row->fields, (row->n + 1) * sizeof(*nf));
	if (!nf)
		return RELAIS_ENOMEM;
	row->fields = nf;
	char *s = (char *)buf_detach(f, NULL);
	if (!s)
		return RELAIS_ENOMEM;
	row->fields[row->n++] = s;
	return 0;
}

static void row_free(struct csv_row *row)
{
	for (size_t i = 0; i < row->n; i++)
		free(row->fields[i]);
	free(row->fields);
	row->fields = NULL;
	row->n = 0;
}

static int add_row(struct reader *r, struct csv_row *row)
{
	struct csv *c = r->out;
	if (row->n == 1 && !row->fields[0][0]) {
		row_free(row); /* an empty line */
		return 0;
	}
	if (c->nrows >= r->lim.rows_max)
		return failf(r, RELAIS_ETOOBIG, "trop de lignes (plus de %zu).", r->lim.rows_max);
	struct csv_row *nr = realloc(c->rows, (c->nrows + 1) * sizeof(*nr));
	if (!nr)
		return RELAIS_ENOMEM;
	c->rows = nr;
	c->rows[c->nrows++] = *row;
	row->fields = NULL;
	row->n = 0;
	return 0;
}

static int put_char(struct reader *r, struct buf *f, size_t *reclen, char c)
{
	if (++*reclen > r->lim.record_max)
		return failf(r, RELAIS_ETOOBIG, "ligne %zu trop longue (plus de %zu octets).",
			     r->line, r->lim.record_max);
	int rc = buf_putc(f, c);
	if (rc == RELAIS_ETOOBIG)
		return failf(r, rc, "champ trop long à la ligne %zu (plus de %zu octets).",
			     r->line, r->lim.field_max);
	return rc;
}

/* Length of the line end at p[i] (CRLF, LF or a lone CR), or 0. */
static size_t eol_len(const char *p, size_t n, size_t i)
{
	if (p[i] == '\n')
		return 1;
	if (p[i] == '\r')
		return i + 1 < n && p[i + 1] == '\n' ? 2 : 1;
	return 0;
}

static int split(struct reader *r)
{
	struct buf f = BUF_INIT(r->lim.field_max);
	struct csv_row row = { NULL, 0 };
	const char *p = r->p;
	size_t n = r->n, i = 0, reclen = 0, qline = 0;
	int quoted = 0, rc = 0;
	char sep = r->out->sep;

	r->line = 1;
	while (i < n) {
		char c = p[i];
		size_t e;
		if (quoted) {
			if (c == '"' && i + 1 < n && p[i + 1] == '"') {
				rc = put_char(r, &f, &reclen, '"');
				i += 2;
			} else if (c == '"') {
				quoted = 0;
				i++;
			} else if ((e = eol_len(p, n, i))) {
				/* Line breaks inside a field are stored as '\n' only. */
				rc = put_char(r, &f, &reclen, '\n');
				r->line++;
				i += e;
			} else {
				rc = put_char(r, &f, &reclen, c);
				i++;
			}
		} else if (c == '"' && !f.len) {
			quoted = 1;
			qline = r->line;
			i++;
		} else if (c == sep) {
			rc = add_field(r, &row, &f);
			i++;
		} else if ((e = eol_len(p, n, i))) {
			rc = add_field(r, &row, &f);
			if (!rc)
				rc = add_row(r, &row);
			reclen = 0;
			r->line++;
			i += e;
		} else {
			rc = put_char(r, &f, &reclen, c);
			i++;
		}
		if (rc)
			goto out;
	}
	if (quoted) {
		rc = failf(r, RELAIS_ECORRUPT, "guillemet non fermé (champ commencé à la ligne %zu).",
			   qline);
		goto out;
	}
	if (f.len || row.n) {
		rc = add_field(r, &row, &f);
		if (!rc)
			rc = add_row(r, &row);
	}
out:
	buf_release(&f);
	row_free(&row);
	return rc;
}

int csv_parse(const void *data, size_t len, const struct csv_limits *lim,
	      struct csv *out, char *err, size_t errlen)
{
	struct reader r;
	char *owned = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	if (err && errlen)
		err[0] = 0;
	r.out = out;
	r.err = err;
	r.errlen = errlen;
	if (lim)
		r.lim = *lim;
	if (!r.lim.input_max)
		r.lim.input_max = CSV_INPUT_MAX;
	if (!r.lim.field_max)
		r.lim.field_max = CSV_FIELD_MAX;
	if (!r.lim.record_max)
		r.lim.record_max = CSV_RECORD_MAX;
	if (!r.lim.rows_max)
		r.lim.rows_max = CSV_ROWS_MAX;
	if (!r.lim.cols_max)
		r.lim.cols_max = CSV_COLS_MAX;
	if (len > r.lim.input_max)
		return failf(&r, RELAIS_ETOOBIG, "fichier trop gros (plus de %zu octets).",
			     r.lim.input_max);
	rc = decode(&r, data ? data : "", data ? len : 0, &owned);
	if (rc)
		goto out;
	out->sep = r.lim.sep ? r.lim.sep : detect_sep(r.p, r.n);
	rc = split(&r);
out:
	free(owned);
	return rc;
}

void csv_free(struct csv *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nrows; i++)
		row_free(&c->rows[i]);
	free(c->rows);
	memset(c, 0, sizeof(*c));
}

/* ---- writing ---- */

int csv_formula_lead(const char *s)
{
	return s && s[0] && strchr("=+-@\t\r", s[0]) != NULL;
}

/* 1 when s is a formula lead after any number of apostrophes: what the
 * writer guards (one more apostrophe) and the reader unguards (one less). */
static int guarded_lead(const char *s)
{
	while (*s == '\'')
		s++;
	return csv_formula_lead(s);
}

const char *csv_formula_unguard(const char *s)
{
	return s[0] == '\'' && guarded_lead(s) ? s + 1 : s;
}

int csv_put_bom(struct buf *b)
{
	return buf_puts(b, CSV_BOM);
}

int csv_put_cell(struct buf *b, const char *s)
{
	if (!s)
		s = "";
	size_t n = strlen(s);
	/* A cell that already looks guarded is guarded once more, so that
	 * csv_formula_unguard gives it back as it was. */
	int guard = guarded_lead(s);
	int quote = guard || s[0] == ' ' || (n && s[n - 1] == ' ') || strpbrk(s, ";\"\r\n");
	if (!quote)
		return buf_append(b, s, n);
	buf_puts(b, guard ? "\"'" : "\"");
	for (const char *p = s; *p && !buf_error(b);) {
		size_t run = strcspn(p, "\"");
		buf_append(b, p, run);
		p += run;
		if (*p == '"') {
			buf_puts(b, "\"\"");
			p++;
		}
	}
	return buf_putc(b, '"');
}

int csv_put_row(struct buf *b, const char *const *cells, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		if (k)
			buf_putc(b, CSV_SEP);
		csv_put_cell(b, cells[k]);
	}
	return buf_puts(b, "\r\n");
}
