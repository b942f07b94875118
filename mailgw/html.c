/*
 * html.c - HTML to readable text (see html.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "../common/buf.h"
#include "../common/util.h"
#include "html.h"

/* Bytes of one table cell; the rest of a longer cell is dropped. */
#define CELL_MAX (32u << 10)

struct html_out {
	struct buf b;  /* the text; in table mode, the current cell's text */
	int space;    /* white space seen since the last character */
	int pre;      /* inside <pre>: white space kept */
	int full;     /* the cap was reached: stop */
	/* Table mode (mailgw_html_tables). */
	int tables;
	struct buf csv;      /* the rows written so far */
	struct buf row;      /* the current row */
	unsigned depth;      /* tables open */
	int in_cell, row_cells, row_value, table_rows, ntables;
};

static void put(struct html_out *o, const void *p, size_t n)
{
	if (o->full)
		return;
	if (buf_append(&o->b, p, n) && !o->tables)
		o->full = 1; /* ETOOBIG or ENOMEM: the text stops here either way */
}

static void csv_put(struct html_out *o, struct buf *b, const void *p, size_t n)
{
	if (!o->full && buf_append(b, p, n))
		o->full = 1;
}

/* Moves the cell's text to the row, quoted when it must be. */
static void cell_end(struct html_out *o)
{
	size_t b = 0, n = o->b.len;
	const char *s = (const char *)o->b.data;
	if (!o->in_cell)
		return;
	o->in_cell = 0;
	while (b < n && (s[b] == ' ' || s[b] == '\n'))
		b++;
	while (n > b && (s[n - 1] == ' ' || s[n - 1] == '\n'))
		n--;
	if (o->row_cells++)
		csv_put(o, &o->row, ";", 1);
	if (n > b)
		o->row_value = 1;
	int quote = n > b && (memchr(s + b, ';', n - b) || memchr(s + b, '"', n - b) ||
			      memchr(s + b, '\n', n - b));
	if (quote)
		csv_put(o, &o->row, "\"", 1);
	for (size_t i = b; i < n; i++) {
		if (s[i] == '"')
			csv_put(o, &o->row, "\"", 1);
		csv_put(o, &o->row, s + i, 1);
	}
	if (quote)
		csv_put(o, &o->row, "\"", 1);
	buf_reset(&o->b);
	o->space = 0;
}

static void row_end(struct html_out *o)
{
	cell_end(o);
	if (o->row_value) {
		if (!o->table_rows++ && o->ntables++)
			csv_put(o, &o->csv, "\f\n", 2);
		csv_put(o, &o->csv, o->row.data, o->row.len);
		csv_put(o, &o->csv, "\n", 1);
	}
	buf_reset(&o->row);
	o->row_cells = 0;
	o->row_value = 0;
}

/* A tag seen in table mode; other tags only break lines inside a cell. */
static void table_tag(struct html_out *o, const char *name, int closing)
{
	if (!strcmp(name, "table")) {
		row_end(o);
		if (!closing && o->depth++ == 0)
			o->table_rows = 0;
		else if (closing && o->depth)
			o->depth--;
	} else if (!o->depth) {
		return;
	} else if (!strcmp(name, "tr")) {
		row_end(o);
	} else if (!strcmp(name, "td") || !strcmp(name, "th")) {
		cell_end(o);
		if (!closing) {
			buf_reset(&o->b);
			o->space = 0;
			o->in_cell = 1;
		}
	}
}

static int at_line_start(const struct html_out *o)
{
	return o->b.len == 0 || o->b.data[o->b.len - 1] == '\n';
}

static void trim_spaces(struct html_out *o)
{
	while (o->b.len && o->b.data[o->b.len - 1] == ' ')
		o->b.len--;
	if (o->b.data)
		o->b.data[o->b.len] = 0;
}

/* A line break; at most two in a row, none at the very start. */
static void newline(struct html_out *o, int force)
{
	trim_spaces(o);
	o->space = 0;
	if (o->b.len == 0)
		return;
	if (!force && at_line_start(o))
		return;
	if (o->b.len >= 2 && o->b.data[o->b.len - 1] == '\n' && o->b.data[o->b.len - 2] == '\n')
		return;
	put(o, "\n", 1);
}

static void text(struct html_out *o, const char *p, size_t n)
{
	if (o->pre) {
		if (n == 1 && *p == '\r')
			return;
		put(o, p, n);
		return;
	}
	if (n == 1 && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' || *p == '\f')) {
		o->space = 1;
		return;
	}
	if (o->space && !at_line_start(o))
		put(o, " ", 1);
	o->space = 0;
	put(o, p, n);
}

static void put_cp(struct html_out *o, uint32_t cp)
{
	unsigned char u[4];
	size_t k;
	if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		cp = 0xFFFD;
	if (cp == 0xA0)
		cp = ' '; /* a form parser wants plain spaces */
	if (cp < 0x80) {
		char c = (char)cp;
		text(o, &c, 1);
		return;
	}
	if (cp < 0x800) {
		u[0] = (unsigned char)(0xC0 | (cp >> 6));
		u[1] = (unsigned char)(0x80 | (cp & 0x3F));
		k = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xE0 | (cp >> 12));
		u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (unsigned char)(0x80 | (cp & 0x3F));
		k = 3;
	} else {
		u[0] = (unsigned char)(0xF0 | (cp >> 18));
		u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (unsigned char)(0x80 | (cp & 0x3F));
		k = 4;
	}
	text(o, (const char *)u, k);
}

static const struct {
	const char *name;
	uint32_t cp;
} entities[] = {
	{ "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' }, { "apos", '\'' },
	{ "nbsp", 0xA0 }, { "eacute", 0xE9 }, { "egrave", 0xE8 }, { "ecirc", 0xEA },
	{ "euml", 0xEB }, { "agrave", 0xE0 }, { "acirc", 0xE2 }, { "auml", 0xE4 },
	{ "ccedil", 0xE7 }, { "icirc", 0xEE }, { "iuml", 0xEF }, { "ocirc", 0xF4 },
	{ "ouml", 0xF6 }, { "ugrave", 0xF9 }, { "ucirc", 0xFB }, { "uuml", 0xFC },
	{ "yuml", 0xFF }, { "oelig", 0x153 }, { "aelig", 0xE6 }, { "Eacute", 0xC9 },
	{ "Egrave", 0xC8 }, { "Ecirc", 0xCA }, { "Agrave", 0xC0 }, { "Acirc", 0xC2 },
	{ "Ccedil", 0xC7 }, { "Icirc", 0xCE }, { "Ocirc", 0xD4 }, { "Ucirc", 0xDB },
	{ "OElig", 0x152 }, { "laquo", 0xAB }, { "raquo", 0xBB }, { "euro", 0x20AC },
	{ "hellip", 0x2026 }, { "rsquo", 0x2019 }, { "lsquo", 0x2018 }, { "ldquo", 0x201C },
	{ "rdquo", 0x201D }, { "ndash", 0x2013 }, { "mdash", 0x2014 }, { "copy", 0xA9 },
	{ "reg", 0xAE }, { "deg", 0xB0 }, { "middot", 0xB7 }, { "bull", 0x2022 },
	{ "times", 0xD7 }, { "shy", 0xAD },
};

/* Decodes the entity at s[0..n) (s[0] == '&'); returns its length, or 0
 * when it is not one (the '&' is then text). */
static size_t entity(struct html_out *o, const char *s, size_t n)
{
	size_t i = 1;
	uint32_t cp = 0;
	if (i < n && s[i] == '#') {
		int hex = 0, digits = 0;
		i++;
		if (i < n && (s[i] == 'x' || s[i] == 'X')) {
			hex = 1;
			i++;
		}
		for (; i < n && digits < 8; i++, digits++) {
			int v = util_hex_digit((unsigned char)s[i]);
			if (v < 0 || (!hex && v > 9))
				break;
			cp = cp * (hex ? 16 : 10) + (uint32_t)v;
		}
		if (!digits || i >= n || s[i] != ';')
			return 0;
		put_cp(o, cp);
		return i + 1;
	}
	size_t start = i;
	while (i < n && i - start < 10 &&
	       ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
		i++;
	if (i >= n || s[i] != ';' || i == start)
		return 0;
	for (size_t k = 0; k < sizeof(entities) / sizeof(entities[0]); k++) {
		if (strlen(entities[k].name) == i - start &&
		    !memcmp(entities[k].name, s + start, i - start)) {
			if (entities[k].cp != 0xAD)
				put_cp(o, entities[k].cp);
			return i + 1;
		}
	}
	return 0;
}

static int name_in(const char *name, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(name, *list))
			return 1;
	return 0;
}

/* Finds "</name" (any case) from s[0..n); returns its offset or n. */
static size_t find_close(const char *s, size_t n, const char *name)
{
	size_t nl = strlen(name);
	for (size_t i = 0; i + 2 + nl <= n; i++)
		if (s[i] == '<' && s[i + 1] == '/' && !strncasecmp(s + i + 2, name, nl))
			return i;
	return n;
}

/* Handles the tag at s[0..n) (s[0] == '<'); returns its length or 0 when
 * the '<' is text. */
static size_t tag(struct html_out *o, const char *s, size_t n)
{
	static const char *const blocks[] = {
		"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "table", "tr", "ul", "ol",
		"blockquote", "pre", "section", "article", "header", "footer", "dl", "dt",
		"dd", "form", "hr", "address", "center", "fieldset", "nav", "aside", "main",
		"caption", "tbody", "thead", "tfoot", "html", "body", NULL,
	};
	static const char *const dropped[] = { "script", "style", "head", "title", NULL };
	size_t i = 1;
	int closing = 0;
	char name[16];
	size_t nl = 0;

	if (n >= 4 && !strncmp(s, "<!--", 4)) {
		const char *end = memmem(s + 4, n - 4, "-->", 3);
		return end ? (size_t)(end - s) + 3 : n;
	}
	if (i < n && (s[i] == '!' || s[i] == '?')) {
		const char *end = memchr(s, '>', n);
		return end ? (size_t)(end - s) + 1 : n;
	}
	if (i < n && s[i] == '/') {
		closing = 1;
		i++;
	}
	if (i >= n || !((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
		return 0;
	while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
			 (s[i] >= '0' && s[i] <= '9'))) {
		if (nl + 1 < sizeof(name))
			name[nl++] = (char)(s[i] | 0x20);
		i++;
	}
	name[nl] = 0;
	char quote = 0;
	for (; i < n; i++) {
		if (quote) {
			if (s[i] == quote)
				quote = 0;
		} else if (s[i] == '"' || s[i] == '\'') {
			quote = s[i];
		} else if (s[i] == '>') {
			break;
		}
	}
	size_t len = i < n ? i + 1 : n;

	if (!closing && name_in(name, dropped)) {
		size_t c = find_close(s + len, n - len, name);
		size_t end = len + c;
		const char *gt = end < n ? memchr(s + end, '>', n - end) : NULL;
		return gt ? (size_t)(gt - s) + 1 : n;
	}
	if (o->tables)
		table_tag(o, name, closing);
	if (!strcmp(name, "br")) {
		newline(o, 1);
	} else if (!strcmp(name, "li")) {
		newline(o, 0);
		if (!closing)
			text(o, "- ", 2);
	} else if (!strcmp(name, "td") || !strcmp(name, "th")) {
		o->space = 1;
	} else if (name_in(name, blocks)) {
		newline(o, 0);
		if (!strcmp(name, "pre"))
			o->pre = !closing;
	}
	return len;
}

/* The one pass of both functions: text into o->b, or tables into o->csv. */
static void convert(struct html_out *o, const char *html, size_t n)
{
	size_t i = 0;

	while (i < n && !o->full) {
		unsigned char c = (unsigned char)html[i];
		size_t k = 0;
		if (c == '<')
			k = tag(o, html + i, n - i);
		else if (c == '&')
			k = entity(o, html + i, n - i);
		if (k) {
			i += k;
			continue;
		}
		/* One whole UTF-8 character, so a cut never splits one. */
		k = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
		if (k > n - i)
			k = n - i;
		if (c != 0)
			text(o, html + i, k);
		i += k;
	}
}

int mailgw_html_to_text(const char *html, size_t n, size_t max, char **out, size_t *outlen)
{
	struct html_out o = { BUF_INIT(max), 0, 0, 0, 0, BUF_INIT(0), BUF_INIT(0), 0, 0, 0, 0, 0, 0 };
	int rc = 0;

	convert(&o, html, n);
	while (o.b.len && (o.b.data[o.b.len - 1] == ' ' || o.b.data[o.b.len - 1] == '\n'))
		o.b.len--;
	if (o.b.data)
		o.b.data[o.b.len] = 0;
	size_t len;
	unsigned char *d = buf_detach(&o.b, &len);
	if (!d) {
		rc = RELAIS_ENOMEM;
		goto out;
	}
	*out = (char *)d;
	*outlen = len;
out:
	buf_release(&o.b);
	return rc;
}

int mailgw_html_tables(const char *html, size_t n, size_t max, char **out, size_t *outlen)
{
	struct html_out o = { BUF_INIT(CELL_MAX), 0, 0, 0, 1, BUF_INIT(max), BUF_INIT(max),
			      0, 0, 0, 0, 0, 0 };
	int rc = 0;

	convert(&o, html, n);
	if (!o.full)
		row_end(&o);
	*out = (char *)buf_detach(&o.csv, outlen);
	if (!*out)
		rc = RELAIS_ENOMEM;
	buf_release(&o.b);
	buf_release(&o.row);
	buf_release(&o.csv);
	return rc;
}
