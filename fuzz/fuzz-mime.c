/*
 * fuzz-mime.c - libFuzzer target: what the gateway's sandbox worker and
 * then the pipeline do with one raw message.
 *
 * mailgw_mime_parse() (libetpan underneath) runs in-process here, under the
 * default caps, so a crash shows up as one instead of as a dead worker. Its
 * contract is checked: every string it returns is valid UTF-8 and body_len
 * is the body's length. Then, as mailgw/pipeline.c reads a form: the body
 * goes through form_detect() and form_parse() (both kinds, so the parser is
 * exercised even when detection says neither), and every CSV attachment
 * through form_parse_bilan_csv().
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "../common/relais.h"
#include "../common/utf8.h"
#include "../mailgw/charset.h"
#include "../mailgw/mime.h"
#include "../model/form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str(const char *s)
{
	if (s && !utf8_valid_str(s))
		abort(); /* mime.h: every string is valid UTF-8 */
}

static void parse_form(enum form_kind kind, const char *text)
{
	struct form_values v = { 0 };
	struct form_problems p = { 0 };

	if (form_parse(kind, text, &v, &p) == 0)
		for (size_t i = 0; i < v.n; i++)
			if (!v.items[i].value || !v.items[i].value[0])
				abort(); /* form.h: values are never empty */
	form_values_free(&v);
	form_problems_free(&p);
}

static int is_csv(const struct mailgw_attachment *a)
{
	size_t n = strlen(a->filename);
	if (n >= 4 && !strcasecmp(a->filename + n - 4, ".csv"))
		return 1;
	return !strcmp(a->mime_type, "text/csv") ||
	       !strcmp(a->mime_type, "text/comma-separated-values");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mailgw_mime_msg *m = NULL;

	if (mailgw_mime_parse(data, size, NULL, &m))
		return 0;
	check_str(m->message_id);
	check_str(m->from_addr);
	check_str(m->from_name);
	check_str(m->return_path);
	check_str(m->subject);
	check_str(m->date);
	check_str(m->in_reply_to);
	check_str(m->references);
	check_str(m->auto_submitted);
	check_str(m->precedence);
	check_str(m->content_type);
	if (!m->body || m->body[m->body_len] || strlen(m->body) != m->body_len ||
	    !utf8_valid(m->body, m->body_len))
		abort();
	(void)form_detect(m->body);
	parse_form(FORM_CANDIDATURE, m->body);
	parse_form(FORM_BILAN, m->body);
	for (size_t i = 0; i < m->n_attachments; i++) {
		struct mailgw_attachment *a = &m->attachments[i];
		struct form_values v = { 0 };
		struct form_problems p = { 0 };
		if (!a->filename || !a->mime_type || (a->len && !a->data))
			abort();
		check_str(a->filename);
		check_str(a->mime_type);
		if (is_csv(a) && form_parse_bilan_csv(a->data, a->len, &v, &p) == RELAIS_ENOMEM)
			abort();
		form_values_free(&v);
		form_problems_free(&p);
	}
	mailgw_mime_free(m);
	return 0;
}
