/*
 * html.h - HTML mail bodies to readable plain text, for senders whose mail
 * client sends HTML only. Not a browser: enough for a person or the form
 * parser to read what was written.
 */
#ifndef RELAIS_MAILGW_HTML_H
#define RELAIS_MAILGW_HTML_H

#include <stddef.h>
#include "../common/relais.h"

/* Turns UTF-8 HTML html[0..n) into text: tags removed, block tags (p, div,
 * br, li, tr, headings…) become line breaks, character entities (named
 * ones used in French text, decimal and hexadecimal) decoded, the contents
 * of script, style and head dropped, white space collapsed outside pre, at
 * most two line breaks in a row. *out is NUL-terminated valid UTF-8 of at
 * most max bytes (cut on a character boundary), freed by the caller with
 * free(); *outlen is its length. Returns 0 or RELAIS_ENOMEM. */
int mailgw_html_to_text(const char *html, size_t n, size_t max, char **out, size_t *outlen) RELAIS_WUR;

/* The tables of UTF-8 HTML html[0..n) as CSV text: one line per <tr>, its
 * <td> and <th> cells separated by ';' (quoted when they hold ';', '"' or a
 * line break), tables separated by "\f\n"; text outside tables is left
 * out, what a cell holds is read as mailgw_html_to_text() reads it. What
 * Excel or LibreOffice put on the clipboard, pasted into a message. *out
 * (at most max bytes, freed with free()) is "" when there is no table.
 * Returns 0 or RELAIS_ENOMEM. */
int mailgw_html_tables(const char *html, size_t n, size_t max, char **out, size_t *outlen) RELAIS_WUR;

#endif
