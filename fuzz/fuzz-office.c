/*
 * fuzz-office.c - libFuzzer target: one office attachment as the MIME
 * worker reads it (mailgw/office.h: libzip and libxml2 underneath), then as
 * the pipeline reads what came out: a sheet's CSV through
 * form_parse_bilan_table(), a document's text through form_detect() and
 * form_parse().
 *
 * The input is the attachment's bytes; the format is recognised from them
 * (a zip's members, the OLE2 magic), the name only decides whether an
 * unreadable file is reported. What mailgw_office_extract() returns must be
 * NUL-terminated valid UTF-8 of at most its cap, with no NUL or form feed
 * inside a table cell (sheets are separated by "\f\n" only).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../mailgw/office.h"
#include "../model/form.h"
#include "../common/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_tables(const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *ff = memchr(p, '\f', (size_t)(end - p));
		size_t n = ff ? (size_t)(ff - p) : (size_t)(end - p);
		struct form_values *v = NULL;
		struct form_problems pb;
		size_t nv = 0;
		if (form_parse_bilan_table(p, n, &v, &nv, &pb) == 0)
			for (size_t i = 0; i < nv; i++)
				for (size_t k = 0; k < v[i].n; k++)
					if (!v[i].items[k].value[0] || !utf8_valid_str(v[i].items[k].value))
						abort(); /* form.h: normalised, never empty */
		form_values_array_free(v, nv);
		form_problems_free(&pb);
		p = ff ? ff + 2 : end;
	}
}

static void read_text(const char *text)
{
	enum form_kind kind = form_detect(text);
	struct form_values v;
	struct form_problems p;
	if (kind == FORM_UNKNOWN)
		kind = FORM_CANDIDATURE;
	if (form_parse(kind, text, &v, &p) == 0)
		for (size_t k = 0; k < v.n; k++)
			if (!v.items[k].value[0] || !utf8_valid_str(v.items[k].value))
				abort();
	form_values_free(&v);
	form_problems_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int kind;
	char *out = NULL;
	size_t len = 0;

	if (mailgw_office_extract("piece-jointe.xlsx", "", data, size, 64 * 1024, &kind, &out, &len))
		return 0; /* out of memory only */
	if (kind == MAILGW_OFFICE_NONE) {
		if (out)
			abort();
		return 0;
	}
	if (!out || strlen(out) != len || len > 64 * 1024 || !utf8_valid_str(out))
		abort(); /* office.h: a NUL-terminated UTF-8 string within the cap */
	if (kind == MAILGW_OFFICE_TABLE)
		read_tables(out, len);
	else if (kind == MAILGW_OFFICE_TEXT)
		read_text(out);
	free(out);
	return 0;
}
