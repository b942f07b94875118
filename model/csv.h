/*
 * csv.h - a small, capped CSV reader (prefix csv_).
 *
 * Reads what people and spreadsheets produce: RFC 4180 quoting (separators,
 * quotes and line breaks inside quoted fields), comma, semicolon or tab
 * separators detected from the data, CRLF, LF or CR line ends, UTF-8 with or
 * without a byte-order mark, UTF-16LE with its mark, and Windows-1252 (what a
 * French spreadsheet exports) converted to UTF-8 with iconv. Every field,
 * record and the whole table are capped, since the bytes usually come from a
 * mail attachment. Used by the bilan forms and, later, directory imports.
 */
#ifndef RELAIS_CSV_H
#define RELAIS_CSV_H

#include <stddef.h>
#include "../common/buf.h"
#include "../common/relais.h"

/* Defaults used for a zero member of struct csv_limits. */
#define CSV_INPUT_MAX  (8u * 1024 * 1024) /* bytes of input, before conversion */
#define CSV_FIELD_MAX  (64u * 1024)       /* bytes of one field, after conversion */
#define CSV_RECORD_MAX (256u * 1024)      /* bytes of one record */
#define CSV_ROWS_MAX   100000u
#define CSV_COLS_MAX   1000u

struct csv_limits {
	size_t input_max, field_max, record_max, rows_max, cols_max; /* 0: the default */
	char sep; /* ',', ';' or '\t' to impose one; 0 to detect it */
};

struct csv_row {
	char **fields; /* n NUL-terminated UTF-8 strings */
	size_t n;
};

struct csv {
	struct csv_row *rows; /* completely empty lines are left out */
	size_t nrows;
	char sep;             /* the separator used */
	int from_cp1252;      /* 1 when the input was converted from Windows-1252 */
};

/*
 * Parses len bytes of data into out (which the caller later frees with
 * csv_free(), also after a failure). lim may be NULL for the defaults.
 * Returns 0; RELAIS_ETOOBIG when a cap is passed; RELAIS_ECORRUPT for an
 * unterminated quote, a NUL byte or bytes that are neither UTF-8 nor
 * Windows-1252; RELAIS_ENOMEM. On failure err (errlen bytes) receives a French
 * sentence naming the line, e.g. "champ trop long à la ligne 3 (plus de
 * 65536 octets).".
 */
int csv_parse(const void *data, size_t len, const struct csv_limits *lim,
	      struct csv *out, char *err, size_t errlen) RELAIS_WUR;

/* Frees everything csv_parse() stored and zeroes c. Accepts NULL. */
void csv_free(struct csv *c);

/*
 * The writer: every CSV the project hands out (relais export annuaire, the
 * digest's attachment) is written by these, as a French spreadsheet opens
 * it: UTF-8 with a byte-order mark (csv_put_bom), ';' between cells, CRLF
 * after each row. A cell is quoted ("…", a '"' doubled) when it holds ';',
 * '"', CR or LF, or starts or ends with a space. A cell that a spreadsheet
 * would run as a formula (csv_formula_lead) is defused: written quoted with
 * a leading apostrophe ("'=1+1"), which the spreadsheet shows as text and
 * csv_formula_unguard takes off again (a cell that already starts with
 * apostrophes before a formula lead gets one more, so it comes back as it
 * was). Values may come from mailed forms:
 * this is what keeps "=HYPERLINK(…)" from running on a referent's computer.
 * Each function appends to b (whose cap applies: RELAIS_ETOOBIG) and
 * returns 0 or b's sticky error (common/buf.h: RELAIS_ENOMEM or
 * RELAIS_ETOOBIG), so a file of many rows is checked once with
 * buf_error(); on failure b may hold part of the row.
 */
#define CSV_BOM "\xEF\xBB\xBF"
#define CSV_SEP ';'

/* 1 when a spreadsheet would read s as a formula: it starts with '=', '+',
 * '-', '@', a tab or a CR. */
int csv_formula_lead(const char *s);
/* s without the apostrophe that the writer put before a formula lead; s
 * itself otherwise. */
const char *csv_formula_unguard(const char *s);

int csv_put_bom(struct buf *b);
/* One cell; NULL is written as an empty cell. No separator. */
int csv_put_cell(struct buf *b, const char *s);
/* n cells separated by ';' and CRLF; NULL cells are empty. */
int csv_put_row(struct buf *b, const char *const *cells, size_t n);

#endif
