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

#endif
