/*
 * ui-html.h - HTML building blocks of relais ui (prefix html_): escaping,
 * form fields with their error messages, accessible tables.
 *
 * Everything appends to a capped struct buf and returns 0 or the buffer's
 * sticky error (common/buf.h: RELAIS_ETOOBIG past the cap, RELAIS_ENOMEM),
 * so a page calls them without checking each and looks at buf_error() once. Text that comes from
 * the replica or from a request is always passed through buf_puts_html() (common/buf.h) (or an
 * html_* function that escapes); buf_printf() is for fixed markup only.
 */
#ifndef RELAIS_CLIENT_UI_HTML_H
#define RELAIS_CLIENT_UI_HTML_H

#include <stddef.h>
#include "../../common/buf.h"
#include "../../common/relais.h"

/* Appends s percent-encoded for a URL's path segment or query value. */
int html_url(struct buf *b, const char *s);
/* Appends "<tag>escaped text</tag>" (tag is fixed markup, e.g. "p"). */
int html_tag(struct buf *b, const char *tag, const char *text);
/* Appends <a href="href">text</a>, both escaped; the text alone when href
 * is NULL. */
int html_link(struct buf *b, const char *href, const char *text);

enum html_input {
	HTML_TEXT, HTML_EMAIL, HTML_TEL, HTML_DATE, HTML_NUMBER, HTML_URL,
	HTML_TEXTAREA, HTML_SELECT, HTML_CHECKBOX, HTML_SEARCH
};

/*
 * One labelled form field. The input's name is name, its id too unless id
 * is given; a hint and an
 * error are tied to it with aria-describedby, an error also sets
 * aria-invalid. A select offers options[] (NULL-terminated values) shown as
 * option_labels[] when not NULL, with an empty first choice unless
 * required. A checkbox is checked when value is "1".
 */
struct html_field {
	const char *name;
	const char *id;                 /* the control's id when not name (a page with
					   several forms), or NULL */
	const char *label;              /* French, escaped */
	enum html_input type;
	const char *value;              /* current value, NULL as "" */
	const char *error;              /* French message or NULL */
	const char *hint;               /* French help or NULL */
	int required;
	long long min, max;             /* HTML_NUMBER when min < max */
	const char *const *options;     /* HTML_SELECT */
	const char *const *option_labels;
	size_t noptions;                /* 0: options is NULL-terminated */
};

int html_field(struct buf *b, const struct html_field *f);

/*
 * Starts a table with a caption (escaped; may be NULL) and column headers
 * (escaped, NULL-terminated) as <th scope="col">, then opens <tbody>. Rows
 * are appended by the caller: "<tr>", html_row_head(), html_cell()...,
 * "</tr>".
 */
int html_table_begin(struct buf *b, const char *caption, const char *const *headers);
int html_table_end(struct buf *b);
/* A row's first cell as <th scope="row">, escaped; with href, a link. */
int html_row_head(struct buf *b, const char *text, const char *href);
/* A cell, escaped. */
int html_cell(struct buf *b, const char *text);

/* Writes in out (outlen bytes) the French date "12/03/2025" of an ISO
 * "2025-03-12" (any longer ISO time is cut); other text is copied. */
void html_date_fr(const char *iso, char *out, size_t outlen);
/* Appends <time datetime="iso">, the date in French words as util_date_fr()
 * writes them ("1er décembre 2026"), and </time>; both escaped. */
int html_date_words(struct buf *b, const char *iso);

#endif
