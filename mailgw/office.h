/*
 * office.h - tables and text read out of office attachments (prefix
 * mailgw_office_): XLSX and ODS sheets become CSV text, DOCX and ODT
 * documents plain text, so that the form readers of model/ see them as they
 * see a CSV attachment or a message body.
 *
 * Every byte is hostile: this runs in the MIME worker process (sandbox.h),
 * under its memory and CPU limits, and adds caps of its own on what a zip
 * archive may inflate to (a zip bomb stops at MAILGW_OFFICE_INFLATE_MAX),
 * on the number of archive members and sheets, and on the text produced.
 * XML is read with libxml2's streaming reader with no network, no DTD
 * loading and no entity substitution; a member that declares a DOCTYPE (what
 * entity tricks need, and what neither OOXML nor ODF ever writes) is refused
 * before libxml2 sees it. Zip archives are read from memory with libzip.
 * Old binary formats (.xls, .doc: OLE2 compound files) are recognised and
 * refused with a sentence saying what to send instead.
 */
#ifndef RELAIS_MAILGW_OFFICE_H
#define RELAIS_MAILGW_OFFICE_H

#include <stddef.h>
#include "../common/relais.h"

/* Inflated bytes of all the XML members read from one archive. */
#define MAILGW_OFFICE_INFLATE_MAX (64u << 20)
/* Members an archive may list; a spreadsheet has a few dozen. */
#define MAILGW_OFFICE_ENTRIES_MAX 2000u
/* Sheets read from one workbook; later ones are not read at all. */
#define MAILGW_OFFICE_SHEETS_MAX 16u
/* Columns and rows kept per sheet; cells past them are ignored, and the
 * document is read no further once a sheet reaches the row cap. */
#define MAILGW_OFFICE_COLS_MAX 200u
#define MAILGW_OFFICE_ROWS_MAX 20000u
/* Default cap on the text produced for one attachment. */
#define MAILGW_OFFICE_OUT_MAX (1u << 20)

enum mailgw_office_kind {
	MAILGW_OFFICE_NONE = 0,   /* not an office file: nothing read */
	MAILGW_OFFICE_TABLE,      /* CSV text (';' separated, UTF-8); sheets separated by "\f\n" */
	MAILGW_OFFICE_TEXT,       /* plain UTF-8 text, one paragraph per line */
	MAILGW_OFFICE_REFUSED,    /* an office file that was not read: the text says why (French) */
};

/*
 * Reads the attachment data[0..len) named filename (may be "") of type
 * mime_type (lower case, may be "") when it is an office file, recognised
 * by its content first (zip members, OLE2 magic), its name or type second.
 * On return *kind says what *out holds: NONE with *out NULL, or a new
 * NUL-terminated UTF-8 string of at most max_out bytes (0: the default)
 * that the caller frees with free(); its length goes to *outlen. A hostile
 * or damaged file is REFUSED, never an error. Returns 0 or RELAIS_ENOMEM
 * (*out NULL).
 */
int mailgw_office_extract(const char *filename, const char *mime_type, const unsigned char *data,
			  size_t len, size_t max_out, int *kind, char **out, size_t *outlen) RELAIS_WUR;

#endif
