/*
 * mime.c - a mail message to struct mailgw_mime_msg with libetpan's MIME
 * parser (see mime.h). libetpan gives the tree; the policy (which part is
 * the body, what is an attachment, charsets, caps) is ours.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <libetpan/libetpan.h>
#include "../common/buf.h"
#include "../common/utf8.h"
#include "../common/util.h"
#include "charset.h"
#include "html.h"
#include "office.h"
#include "mime.h"

#define FILENAME_MAX_LEN 1024 /* a longer decoded file name is cut */

/* Zero bytes after the copy of the message that libetpan parses. */
#define MIME_PAD 16

struct walk {
	const struct mailgw_mime_limits *lim;
	struct mailgw_mime_msg *m;
	const char *raw;
	size_t len;
	unsigned parts;
	size_t attach_total;
	size_t attach_alloc;
	size_t extracted;        /* bytes of text read from attachments and tables */
	int tables_only;         /* walking an HTML alternative for its tables only */
	struct buf body;
};

void mailgw_mime_limits_default(struct mailgw_mime_limits *l)
{
	memset(l, 0, sizeof(*l));
	l->max_message = 25u << 20;
	l->max_header = 64u << 10;
	l->max_depth = 20;
	l->max_parts = 200;
	l->max_attachments = 25u << 20;
	l->max_body = 1u << 20;
	l->child_memory = (size_t)512 << 20;
	l->child_cpu_s = 10;
	l->timeout_ms = 30000;
}

const char *mailgw_mime_status_str(int status)
{
	switch ((enum mailgw_mime_status)status) {
	case MAILGW_MIME_OK:
		return "message lu";
	case MAILGW_MIME_TOO_BIG:
		return "message trop volumineux";
	case MAILGW_MIME_HEADER_TOO_BIG:
		return "en-tête de message trop long";
	case MAILGW_MIME_TOO_DEEP:
		return "parties MIME imbriquées trop profondément";
	case MAILGW_MIME_TOO_MANY_PARTS:
		return "trop de parties MIME";
	case MAILGW_MIME_ATTACH_TOO_BIG:
		return "pièces jointes trop volumineuses";
	case MAILGW_MIME_MALFORMED:
		return "message mal formé";
	}
	return "état d'analyse inconnu";
}

int mailgw_mime_is_csv(const struct mailgw_attachment *a)
{
	size_t n = strlen(a->filename);
	if (n >= 4 && !strcasecmp(a->filename + n - 4, ".csv"))
		return 1;
	return !strcmp(a->mime_type, "text/csv") ||
	       !strcmp(a->mime_type, "text/comma-separated-values");
}

void mailgw_mime_free(struct mailgw_mime_msg *m)
{
	if (!m)
		return;
	free(m->message_id);
	free(m->from_addr);
	free(m->from_name);
	free(m->return_path);
	free(m->subject);
	free(m->date);
	free(m->in_reply_to);
	free(m->references);
	free(m->auto_submitted);
	free(m->precedence);
	free(m->content_type);
	free(m->body);
	free(m->body_tables);
	for (size_t i = 0; i < m->n_attachments; i++) {
		free(m->attachments[i].filename);
		free(m->attachments[i].mime_type);
		free(m->attachments[i].data);
		free(m->attachments[i].extracted);
	}
	free(m->attachments);
	free(m);
}

static void set_status(struct walk *w, int status)
{
	if (w->m->status == MAILGW_MIME_OK)
		w->m->status = status;
}

static void lower_ascii(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s + 32);
}

/* Header text, RFC 2047 decoded, into *dst unless already set (the first
 * occurrence of a header wins). */
static int set_decoded(struct walk *w, char **dst, const char *s)
{
	if (*dst || !s)
		return 0;
	return mailgw_rfc2047_decode(s, strlen(s), w->lim->max_header, dst);
}

/* Structured header text (ids, addresses): no encoded words, only made valid UTF-8. */
static int set_plain(struct walk *w, char **dst, const char *s)
{
	size_t n;
	if (*dst || !s)
		return 0;
	return mailgw_charset_to_utf8(NULL, s, strlen(s), w->lim->max_header, dst, &n, NULL);
}

/* Scans the top header block: a field (with its continuation lines) longer
 * than max_header is refused before libetpan sees it. */
static int header_too_big(const char *raw, size_t len, size_t max)
{
	size_t field_start = 0, i = 0;
	while (i < len) {
		const char *nl = memchr(raw + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - raw) + 1 : len;
		size_t line_len = end - i;
		if (line_len <= 2 && (raw[i] == '\n' || (raw[i] == '\r' && line_len == 2 && raw[i + 1] == '\n')))
			break; /* the blank line that ends the header */
		if (raw[i] != ' ' && raw[i] != '\t')
			field_start = i;
		if (end - field_start > max)
			return 1;
		i = end;
	}
	return 0;
}

/* Counts "boundary=" parameters: every multipart needs one, so more of them
 * than max_parts is refused before libetpan recurses into them. */
static size_t count_boundaries(const char *raw, size_t len)
{
	size_t count = 0;
	const char *p = raw, *end = raw + len;
	while (p < end) {
		const char *hit = memmem(p, (size_t)(end - p), "oundary", 7);
		if (!hit)
			break;
		if (hit > raw && (hit[-1] == 'b' || hit[-1] == 'B')) {
			const char *q = hit + 7;
			while (q < end && (*q == ' ' || *q == '\t'))
				q++;
			if (q < end && *q == '=')
				count++;
		}
		p = hit + 7;
	}
	return count;
}

static void type_string(struct mailmime_content *ct, char *out, size_t size)
{
	const char *type = "text", *sub = "plain";
	if (ct && ct->ct_type) {
		struct mailmime_type *t = ct->ct_type;
		if (t->tp_type == MAILMIME_TYPE_DISCRETE_TYPE && t->tp_data.tp_discrete_type) {
			static const char *const names[] = {
				"application", "text", "image", "audio", "video", "application",
			};
			int dt = t->tp_data.tp_discrete_type->dt_type;
			if (dt == MAILMIME_DISCRETE_TYPE_EXTENSION)
				type = t->tp_data.tp_discrete_type->dt_extension;
			else if (dt >= 0 && dt < (int)(sizeof(names) / sizeof(names[0])))
				type = names[dt];
		} else if (t->tp_type == MAILMIME_TYPE_COMPOSITE_TYPE && t->tp_data.tp_composite_type) {
			int ct_type = t->tp_data.tp_composite_type->ct_type;
			if (ct_type == MAILMIME_COMPOSITE_TYPE_MESSAGE)
				type = "message";
			else if (ct_type == MAILMIME_COMPOSITE_TYPE_MULTIPART)
				type = "multipart";
			else
				type = t->tp_data.tp_composite_type->ct_token;
		}
		sub = ct->ct_subtype;
	}
	snprintf(out, size, "%s/%s", type ? type : "application", sub ? sub : "octet-stream");
	lower_ascii(out);
}

/* ---- RFC 2231 parameters (name*=charset''%XX, name*0*=…) ---- */

struct param {
	const char *name;
	const char *value;
};

static int pct_decode(struct buf *b, const char *s)
{
	for (size_t i = 0; s[i]; i++) {
		int rc, hi, lo;
		if (s[i] == '%' && (hi = util_hex_digit((unsigned char)s[i + 1])) >= 0 &&
		    (lo = util_hex_digit((unsigned char)s[i + 2])) >= 0) {
			rc = buf_putc(b, hi * 16 + lo);
			i += 2;
		} else {
			rc = buf_putc(b, s[i]);
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* Reads parameter `name` from params, RFC 2231 forms first, into *out
 * (UTF-8) or leaves *out NULL when absent. */
static int param_get(const struct param *ps, size_t np, const char *name, size_t max, char **out)
{
	struct buf raw = BUF_INIT(max * 4 + 64);
	char charset[64] = "";
	size_t nl = strlen(name);
	int found = 0, ext = 0, rc = 0;

	for (unsigned seq = 0; seq < 100; seq++) {
		int hit = 0;
		for (size_t i = 0; i < np && !hit; i++) {
			const char *pn = ps[i].name, *v = ps[i].value;
			if (!pn || !v || strncasecmp(pn, name, nl) || pn[nl] != '*')
				continue;
			const char *rest = pn + nl + 1;
			int enc;
			if (*rest == 0) { /* name*=charset'lang'value */
				if (seq != 0)
					continue;
				enc = 1;
			} else {
				char *end;
				long k = strtol(rest, &end, 10);
				if (end == rest || k != (long)seq || (*end && strcmp(end, "*")))
					continue;
				enc = *end == '*';
			}
			hit = 1;
			if (enc && seq == 0) {
				const char *q1 = strchr(v, '\''), *q2 = q1 ? strchr(q1 + 1, '\'') : NULL;
				if (q1 && q2) {
					size_t cl = (size_t)(q1 - v) < sizeof(charset) - 1 ? (size_t)(q1 - v) : sizeof(charset) - 1;
					memcpy(charset, v, cl);
					charset[cl] = 0;
					v = q2 + 1;
				}
			}
			ext |= enc;
			rc = enc ? pct_decode(&raw, v) : buf_puts(&raw, v);
			if (rc && rc != RELAIS_ETOOBIG)
				goto out;
			rc = 0;
			if (*rest == 0)
				seq = 100; /* single extended value: no continuations */
		}
		if (!hit)
			break;
		found = 1;
	}
	if (found) {
		size_t n;
		rc = ext ? mailgw_charset_to_utf8(charset, raw.data, raw.len, max, out, &n, NULL)
			 : mailgw_rfc2047_decode((const char *)raw.data, raw.len, max, out);
		goto out;
	}
	for (size_t i = 0; i < np; i++) {
		if (ps[i].name && ps[i].value && !strcasecmp(ps[i].name, name)) {
			/* Outlook and others put RFC 2047 words in plain parameters. */
			rc = mailgw_rfc2047_decode(ps[i].value, strlen(ps[i].value), max, out);
			goto out;
		}
	}
out:
	buf_release(&raw);
	return rc;
}

/* Gathers the parameters of Content-Type and Content-Disposition. */
static size_t collect_params(struct mailmime *mm, struct param *ps, size_t cap, int *attachment)
{
	size_t n = 0;
	*attachment = 0;
	if (mm->mm_content_type && mm->mm_content_type->ct_parameters) {
		for (clistiter *it = clist_begin(mm->mm_content_type->ct_parameters); it && n < cap;
		     it = clist_next(it)) {
			struct mailmime_parameter *p = clist_content(it);
			ps[n].name = p->pa_name;
			ps[n].value = p->pa_value;
			n++;
		}
	}
	if (!mm->mm_mime_fields || !mm->mm_mime_fields->fld_list)
		return n;
	for (clistiter *it = clist_begin(mm->mm_mime_fields->fld_list); it; it = clist_next(it)) {
		struct mailmime_field *f = clist_content(it);
		if (f->fld_type != MAILMIME_FIELD_DISPOSITION || !f->fld_data.fld_disposition)
			continue;
		struct mailmime_disposition *d = f->fld_data.fld_disposition;
		if (d->dsp_type && d->dsp_type->dsp_type == MAILMIME_DISPOSITION_TYPE_ATTACHMENT)
			*attachment = 1;
		if (!d->dsp_parms)
			continue;
		for (clistiter *pi = clist_begin(d->dsp_parms); pi && n < cap; pi = clist_next(pi)) {
			struct mailmime_disposition_parm *dp = clist_content(pi);
			if (dp->pa_type == MAILMIME_DISPOSITION_PARM_FILENAME) {
				ps[n].name = "filename";
				ps[n].value = dp->pa_data.pa_filename;
				n++;
			} else if (dp->pa_type == MAILMIME_DISPOSITION_PARM_PARAMETER && dp->pa_data.pa_parameter) {
				ps[n].name = dp->pa_data.pa_parameter->pa_name;
				ps[n].value = dp->pa_data.pa_parameter->pa_value;
				n++;
			}
		}
	}
	return n;
}

/* ---- body text ---- */

/* Appends UTF-8 text to the body, a blank line between parts, cut on a
 * character boundary at max_body. */
static int body_append(struct walk *w, const char *s, size_t n)
{
	int rc;
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		n--;
	if (!n)
		return 0;
	if (w->body.len) {
		rc = buf_puts(&w->body, "\n\n");
		if (rc == RELAIS_ETOOBIG) {
			w->m->warnings |= MAILGW_MIME_W_TRUNCATED;
			return 0;
		}
		if (rc)
			return rc;
	}
	size_t room = w->body.max - w->body.len;
	if (n > room) {
		w->m->warnings |= MAILGW_MIME_W_TRUNCATED;
		n = room;
		while (n && !utf8_valid(s, n))
			n--;
	}
	return buf_append(&w->body, s, n);
}

/* Mail text travels with CRLF; the body is read with LF. */
static void unix_newlines(char *s, size_t *n)
{
	size_t j = 0;
	for (size_t i = 0; i < *n; i++) {
		if (s[i] == '\r') {
			s[j++] = '\n';
			if (i + 1 < *n && s[i + 1] == '\n')
				i++;
		} else {
			s[j++] = s[i];
		}
	}
	s[j] = 0;
	*n = j;
}

/* The tables of the first HTML body, for bilans pasted from a spreadsheet. */
static int html_tables(struct walk *w, const char *html, size_t n)
{
	char *t = NULL;
	size_t tlen = 0;
	int rc = mailgw_html_tables(html, n, MAILGW_MIME_EXTRACTED_MAX - w->extracted, &t, &tlen);
	if (rc)
		return rc;
	if (!tlen) {
		free(t);
		return 0;
	}
	w->m->body_tables = t;
	w->extracted += tlen;
	return 0;
}

/* The tables of an HTML alternative that was not taken as the body: its
 * plain-text twin shows a table pasted from a spreadsheet as loose cells. */
static int html_alternative_tables(struct walk *w, const char *charset, const char *data, size_t n)
{
	size_t cap = w->lim->max_body * 4;
	char *u = NULL;
	size_t ulen;
	unsigned how = 0;
	int rc = mailgw_charset_to_utf8(charset, data, n > cap ? cap : n, cap, &u, &ulen, &how);
	if (!rc)
		rc = html_tables(w, u, ulen);
	free(u);
	return rc;
}

static int body_text(struct walk *w, const char *charset, const char *data, size_t n, int html)
{
	size_t cap = html ? w->lim->max_body * 4 : w->lim->max_body;
	char *u = NULL, *t = NULL;
	size_t ulen, tlen;
	unsigned how = 0;
	int rc;

	if (n > cap) {
		n = cap;
		w->m->warnings |= MAILGW_MIME_W_TRUNCATED;
	}
	rc = mailgw_charset_to_utf8(charset, data, n, cap, &u, &ulen, &how);
	if (rc)
		goto out;
	if (how & MAILGW_CHARSET_FALLBACK)
		w->m->warnings |= MAILGW_MIME_W_CHARSET;
	if (how & MAILGW_CHARSET_TRUNCATED)
		w->m->warnings |= MAILGW_MIME_W_TRUNCATED;
	unix_newlines(u, &ulen);
	if (html) {
		rc = mailgw_html_to_text(u, ulen, w->lim->max_body, &t, &tlen);
		if (rc)
			goto out;
		w->m->body_from_html = 1;
		rc = body_append(w, t, tlen);
		if (!rc && !w->m->body_tables)
			rc = html_tables(w, u, ulen);
	} else {
		rc = body_append(w, u, ulen);
	}
out:
	free(u);
	free(t);
	return rc;
}

/* ---- parts ---- */

/* 1 for the characters of the base64 alphabet, 2 for its pad '='. */
static const unsigned char b64_class[256] = {
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1,
	['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,
	['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
	['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
	['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1,
	['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1,
	['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1,
	['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['+'] = 1, ['/'] = 1,
	['='] = 2,
};

/* Whether base64 text ends inside a 4-character group. Read by a table
 * rather than isalnum(): the locale's classes are not base64's, and the
 * scan is over every byte of every encoded part. */
static int base64_truncated(const char *s, size_t n)
{
	size_t count = 0, pad = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned k = b64_class[(unsigned char)s[i]];
		pad += k >> 1;
		count += (k & 1) && !pad;
	}
	return (count + pad) % 4 != 0;
}

static int add_attachment(struct walk *w, const char *type, char *filename,
			  const char *data, size_t n)
{
	struct mailgw_mime_msg *m = w->m;
	int rc = 0;
	if (n > w->lim->max_attachments - w->attach_total) {
		set_status(w, MAILGW_MIME_ATTACH_TOO_BIG);
		goto out;
	}
	struct mailgw_attachment *v = util_grow(m->attachments, &w->attach_alloc,
						m->n_attachments, sizeof(*v));
	if (!v) {
		rc = RELAIS_ENOMEM;
		goto out;
	}
	m->attachments = v;
	struct mailgw_attachment *a = &m->attachments[m->n_attachments];
	a->mime_type = strdup(type);
	a->data = malloc(n ? n : 1);
	if (!filename)
		filename = strdup("");
	if (!a->mime_type || !a->data || !filename) {
		free(a->mime_type);
		free(a->data);
		rc = RELAIS_ENOMEM;
		goto out;
	}
	if (n)
		memcpy(a->data, data, n);
	a->len = n;
	a->extract = MAILGW_OFFICE_NONE;
	a->extracted = NULL;
	a->extracted_len = 0;
	a->filename = filename;
	filename = NULL;
	m->n_attachments++;
	w->attach_total += n;
out:
	free(filename);
	return rc;
}

static int single(struct walk *w, struct mailmime *mm)
{
	struct mailmime_single_fields sf;
	struct param ps[32];
	char type[128], *filename = NULL, *decoded = NULL;
	size_t dlen = 0, idx = 0;
	int attachment, rc = 0;

	mailmime_single_fields_init(&sf, mm->mm_mime_fields, mm->mm_content_type);
	type_string(mm->mm_content_type, type, sizeof(type));
	size_t np = collect_params(mm, ps, sizeof(ps) / sizeof(ps[0]), &attachment);
	rc = param_get(ps, np, "filename", FILENAME_MAX_LEN, &filename);
	if (!rc && !filename)
		rc = param_get(ps, np, "name", FILENAME_MAX_LEN, &filename);
	if (rc)
		goto out;

	struct mailmime_data *d = mm->mm_data.mm_single;
	const char *src = "";
	size_t slen = 0;
	int enc = sf.fld_encoding ? sf.fld_encoding->enc_type : MAILMIME_MECHANISM_8BIT;
	if (d && d->dt_type == MAILMIME_DATA_TEXT && d->dt_data.dt_text.dt_data) {
		src = d->dt_data.dt_text.dt_data;
		slen = d->dt_data.dt_text.dt_length;
	}
	if (enc == MAILMIME_MECHANISM_BASE64 && base64_truncated(src, slen))
		w->m->warnings |= MAILGW_MIME_W_BAD_BASE64;
	if (slen) {
		int prc = mailmime_part_parse(src, slen, &idx, enc, &decoded, &dlen);
		if (prc == MAILIMF_ERROR_MEMORY) {
			rc = RELAIS_ENOMEM;
			goto out;
		}
		if (prc != MAILIMF_NO_ERROR) {
			decoded = NULL;
			dlen = 0;
			set_status(w, MAILGW_MIME_MALFORMED);
		}
	}

	if ((filename && !strcasecmp(filename, "winmail.dat")) || !strcmp(type, "application/ms-tnef"))
		w->m->tnef = 1;
	int text_body = !attachment && (!filename || !filename[0]) &&
			(!strcmp(type, "text/plain") || !strcmp(type, "text/html"));
	if (w->tables_only) {
		if (text_body && !strcmp(type, "text/html"))
			rc = html_alternative_tables(w, sf.fld_content_charset, decoded ? decoded : "",
						     dlen);
	} else if (text_body) {
		rc = body_text(w, sf.fld_content_charset, decoded ? decoded : "", dlen,
			       !strcmp(type, "text/html"));
	} else {
		rc = add_attachment(w, type, filename, decoded ? decoded : "", dlen);
		filename = NULL;
	}
out:
	if (decoded)
		mailmime_decoded_part_free(decoded);
	free(filename);
	return rc;
}

static int walk(struct walk *w, struct mailmime *mm, unsigned depth);

static int is_plain_text(struct mailmime *mm)
{
	char type[128];
	int attachment;
	struct param ps[32];
	if (mm->mm_type != MAILMIME_SINGLE)
		return 0;
	type_string(mm->mm_content_type, type, sizeof(type));
	collect_params(mm, ps, sizeof(ps) / sizeof(ps[0]), &attachment);
	return !attachment && !strcmp(type, "text/plain");
}

static void check_end_boundary(struct walk *w, struct mailmime *mm)
{
	char *b = mailmime_extract_boundary(mm->mm_content_type);
	if (!b)
		return;
	size_t bl = strlen(b);
	char *delim = malloc(bl + 5);
	if (delim) {
		memcpy(delim, "--", 2);
		memcpy(delim + 2, b, bl);
		memcpy(delim + 2 + bl, "--", 3);
		if (!memmem(w->raw, w->len, delim, bl + 4))
			w->m->warnings |= MAILGW_MIME_W_NO_END;
		free(delim);
	}
	free(b);
}

static int multiple(struct walk *w, struct mailmime *mm, unsigned depth)
{
	clist *list = mm->mm_data.mm_multipart.mm_mp_list;
	char type[128];
	int rc = 0;

	check_end_boundary(w, mm);
	if (!list)
		return 0;
	type_string(mm->mm_content_type, type, sizeof(type));
	if (!strcmp(type, "multipart/alternative")) {
		/* One part only: text/plain when offered, else the richest (last). */
		struct mailmime *pick = NULL;
		for (clistiter *it = clist_begin(list); it; it = clist_next(it)) {
			pick = clist_content(it);
			if (is_plain_text(pick))
				break;
		}
		if (!pick || (rc = walk(w, pick, depth + 1)) || w->m->body_tables)
			return rc;
		/* The HTML twin of a plain-text body may hold its tables. */
		for (clistiter *it = clist_begin(list); it && !rc; it = clist_next(it)) {
			if (clist_content(it) == pick)
				continue;
			w->tables_only = 1;
			rc = walk(w, clist_content(it), depth + 1);
			w->tables_only = 0;
		}
		return rc;
	}
	for (clistiter *it = clist_begin(list); it && !rc; it = clist_next(it))
		rc = walk(w, clist_content(it), depth + 1);
	return rc;
}

static int64_t date_ms(const struct mailimf_date_time *d)
{
	struct tm tm = { 0 };
	if (d->dt_year < 1970 || d->dt_year > 9999 || d->dt_month < 1 || d->dt_month > 12 ||
	    d->dt_day < 1 || d->dt_day > 31 || d->dt_hour < 0 || d->dt_hour > 23 ||
	    d->dt_min < 0 || d->dt_min > 59 || d->dt_sec < 0 || d->dt_sec > 60 ||
	    d->dt_zone < -9959 || d->dt_zone > 9959)
		return 0;
	tm.tm_year = d->dt_year - 1900;
	tm.tm_mon = d->dt_month - 1;
	tm.tm_mday = d->dt_day;
	tm.tm_hour = d->dt_hour;
	tm.tm_min = d->dt_min;
	tm.tm_sec = d->dt_sec;
	int zone = d->dt_zone < 0 ? -d->dt_zone : d->dt_zone;
	int64_t offset = (int64_t)((zone / 100) * 60 + zone % 100) * 60;
	if (d->dt_zone < 0)
		offset = -offset;
	time_t t = timegm(&tm);
	return ((int64_t)t - offset) * 1000;
}

static int join_ids(struct walk *w, char **dst, clist *ids, int first_only)
{
	struct buf b = BUF_INIT(w->lim->max_header);
	int rc = 0;
	if (*dst || !ids)
		return 0;
	for (clistiter *it = clist_begin(ids); it; it = clist_next(it)) {
		const char *id = clist_content(it);
		if (b.len)
			rc = buf_putc(&b, ' ');
		if (!rc)
			rc = buf_puts(&b, id);
		if (rc == RELAIS_ETOOBIG) {
			rc = 0;
			break;
		}
		if (rc || first_only)
			break;
	}
	if (!rc)
		rc = set_plain(w, dst, buf_str(&b));
	buf_release(&b);
	return rc;
}

static int optional_field(struct walk *w, struct mailimf_optional_field *f)
{
	struct mailgw_mime_msg *m = w->m;
	char **dst = NULL;
	int rc;
	if (!f->fld_name || !f->fld_value)
		return 0;
	if (!strcasecmp(f->fld_name, "X-Autoreply") || !strcasecmp(f->fld_name, "X-Autorespond")) {
		m->x_autoreply = 1;
		return 0;
	}
	if (!strcasecmp(f->fld_name, "List-Unsubscribe") || !strcasecmp(f->fld_name, "List-Id")) {
		m->list_mail = 1;
		return 0;
	}
	if (!strcasecmp(f->fld_name, "Auto-Submitted"))
		dst = &m->auto_submitted;
	else if (!strcasecmp(f->fld_name, "Precedence"))
		dst = &m->precedence;
	else if (!strcasecmp(f->fld_name, "Return-Path") && !m->return_path) {
		/* libetpan leaves an unparsable path here; "<>" is the one that matters. */
		char *v = NULL;
		rc = set_decoded(w, &v, f->fld_value);
		if (rc)
			return rc;
		if (!strcmp(v, "<>")) {
			m->return_path_empty = 1;
			v[0] = 0;
		}
		m->return_path = v;
		return 0;
	}
	if (!dst)
		return 0;
	rc = set_decoded(w, dst, f->fld_value);
	if (!rc && *dst)
		lower_ascii(*dst);
	return rc;
}

/*
 * 1 when the first From field of the top header block, unfolded, holds addr
 * exactly as written. libetpan rebuilds an addr-spec from its words: it
 * joins words that only a space separates ("a@b.example c@d.example" reads
 * as "a@b.examplec@d.example") and drops the spaces of a quoted local part
 * ("\"a b\"@x" as "\"ab\"@x"), giving an address nobody wrote.
 */
static int from_as_written(const struct walk *w, const char *addr)
{
	const char *p = w->raw, *end = w->raw + w->len;
	struct buf v = BUF_INIT(w->lim->max_header);
	int found = 0, in_from = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		size_t n = (size_t)(eol - p);
		if (n && p[n - 1] == '\r')
			n--;
		if (n == 0)
			break; /* the end of the header */
		if (in_from && (p[0] == ' ' || p[0] == '\t')) {
			if (buf_append(&v, p, n))
				break;
		} else if (in_from) {
			break;
		} else if (n >= 5 && !strncasecmp(p, "from:", 5)) {
			in_from = 1;
			if (buf_append(&v, p + 5, n - 5))
				break;
		}
		p = nl ? nl + 1 : end;
	}
	found = in_from && memmem(buf_str(&v), v.len, addr, strlen(addr)) != NULL;
	buf_release(&v);
	return found;
}

static int header_fields(struct walk *w, struct mailimf_fields *fields)
{
	struct mailgw_mime_msg *m = w->m;
	int rc = 0;
	if (!fields || !fields->fld_list)
		return 0;
	for (clistiter *it = clist_begin(fields->fld_list); it && !rc; it = clist_next(it)) {
		struct mailimf_field *f = clist_content(it);
		switch (f->fld_type) {
		case MAILIMF_FIELD_RETURN_PATH:
			if (m->return_path)
				break;
			if (f->fld_data.fld_return_path && f->fld_data.fld_return_path->ret_path &&
			    f->fld_data.fld_return_path->ret_path->pt_addr_spec) {
				rc = set_plain(w, &m->return_path,
					       f->fld_data.fld_return_path->ret_path->pt_addr_spec);
			} else {
				m->return_path = strdup("");
				m->return_path_empty = 1;
				rc = m->return_path ? 0 : RELAIS_ENOMEM;
			}
			break;
		case MAILIMF_FIELD_FROM: {
			struct mailimf_from *fr = f->fld_data.fld_from;
			if (m->from_addr || !fr || !fr->frm_mb_list || !fr->frm_mb_list->mb_list)
				break;
			clistiter *mi = clist_begin(fr->frm_mb_list->mb_list);
			if (!mi)
				break;
			struct mailimf_mailbox *mb = clist_content(mi);
			rc = set_plain(w, &m->from_addr, mb->mb_addr_spec);
			if (!rc)
				rc = set_decoded(w, &m->from_name, mb->mb_display_name);
			if (clist_next(mi))
				m->warnings |= MAILGW_MIME_W_FROM_MANY;
			if (!rc && m->from_addr && !from_as_written(w, mb->mb_addr_spec))
				m->warnings |= MAILGW_MIME_W_FROM_UNSURE;
			break;
		}
		case MAILIMF_FIELD_SUBJECT:
			if (f->fld_data.fld_subject)
				rc = set_decoded(w, &m->subject, f->fld_data.fld_subject->sbj_value);
			break;
		case MAILIMF_FIELD_MESSAGE_ID:
			if (f->fld_data.fld_message_id)
				rc = set_plain(w, &m->message_id, f->fld_data.fld_message_id->mid_value);
			break;
		case MAILIMF_FIELD_IN_REPLY_TO:
			if (f->fld_data.fld_in_reply_to)
				rc = join_ids(w, &m->in_reply_to, f->fld_data.fld_in_reply_to->mid_list, 1);
			break;
		case MAILIMF_FIELD_REFERENCES:
			if (f->fld_data.fld_references)
				rc = join_ids(w, &m->references, f->fld_data.fld_references->mid_list, 0);
			break;
		case MAILIMF_FIELD_ORIG_DATE:
			if (!m->date && f->fld_data.fld_orig_date && f->fld_data.fld_orig_date->dt_date_time) {
				int64_t ms = date_ms(f->fld_data.fld_orig_date->dt_date_time);
				if (ms > 0) {
					char iso[21];
					util_iso8601(ms, iso);
					m->date_ms = ms;
					m->date = strdup(iso);
					rc = m->date ? 0 : RELAIS_ENOMEM;
				}
			}
			break;
		case MAILIMF_FIELD_OPTIONAL_FIELD:
			rc = optional_field(w, f->fld_data.fld_optional_field);
			break;
		default:
			break;
		}
	}
	return rc;
}

/* A forwarded message (message/rfc822): its text joins the body under a
 * line that says so, its attachments join the list. */
static int forwarded(struct walk *w, struct mailmime *mm, unsigned depth)
{
	struct mailimf_fields *fields = mm->mm_data.mm_message.mm_fields;
	struct buf intro = BUF_INIT(2 * w->lim->max_header + 128);
	char *from = NULL, *subject = NULL;
	int rc = 0;

	if (fields && fields->fld_list) {
		for (clistiter *it = clist_begin(fields->fld_list); it && !rc; it = clist_next(it)) {
			struct mailimf_field *f = clist_content(it);
			if (f->fld_type == MAILIMF_FIELD_SUBJECT && f->fld_data.fld_subject)
				rc = set_decoded(w, &subject, f->fld_data.fld_subject->sbj_value);
			else if (f->fld_type == MAILIMF_FIELD_FROM && f->fld_data.fld_from &&
				 f->fld_data.fld_from->frm_mb_list &&
				 clist_begin(f->fld_data.fld_from->frm_mb_list->mb_list)) {
				struct mailimf_mailbox *mb =
					clist_content(clist_begin(f->fld_data.fld_from->frm_mb_list->mb_list));
				rc = set_plain(w, &from, mb->mb_addr_spec);
			}
		}
	}
	if (rc)
		goto out;
	rc = buf_printf(&intro, "-------- Message transféré --------\nDe : %s\nObjet : %s\n",
			from ? from : "", subject ? subject : "");
	if (!rc)
		rc = body_append(w, buf_str(&intro), intro.len);
	if (!rc && mm->mm_data.mm_message.mm_msg_mime)
		rc = walk(w, mm->mm_data.mm_message.mm_msg_mime, depth + 1);
out:
	free(from);
	free(subject);
	buf_release(&intro);
	return rc;
}

static int walk(struct walk *w, struct mailmime *mm, unsigned depth)
{
	if (depth > w->lim->max_depth) {
		set_status(w, MAILGW_MIME_TOO_DEEP);
		return 0;
	}
	if (w->parts >= w->lim->max_parts) {
		set_status(w, MAILGW_MIME_TOO_MANY_PARTS);
		return 0;
	}
	w->parts++;
	switch (mm->mm_type) {
	case MAILMIME_SINGLE:
		return single(w, mm);
	case MAILMIME_MULTIPLE:
		return multiple(w, mm, depth);
	case MAILMIME_MESSAGE:
		return w->tables_only ? 0 : forwarded(w, mm, depth);
	default:
		return 0;
	}
}

static int parse_tree(struct walk *w)
{
	struct mailmime *top = NULL;
	size_t idx = 0;
	int rc = 0;
	int prc = mailmime_parse(w->raw, w->len, &idx, &top);
	if (prc == MAILIMF_ERROR_MEMORY)
		return RELAIS_ENOMEM;
	if (prc != MAILIMF_NO_ERROR || !top) {
		set_status(w, MAILGW_MIME_MALFORMED);
		return 0;
	}
	struct mailmime *body = top;
	if (top->mm_type == MAILMIME_MESSAGE) {
		rc = header_fields(w, top->mm_data.mm_message.mm_fields);
		if (rc)
			goto out;
		body = top->mm_data.mm_message.mm_msg_mime;
	}
	if (body) {
		char type[128];
		type_string(body->mm_content_type, type, sizeof(type));
		w->m->content_type = strdup(type);
		if (!w->m->content_type) {
			rc = RELAIS_ENOMEM;
			goto out;
		}
		w->m->delivery_report = !strcmp(type, "multipart/report");
		rc = walk(w, body, 0);
	}
out:
	mailmime_free(top);
	return rc;
}

/* Reads the office attachments, while the message's budget of text lasts. */
static int extract_attachments(struct walk *w)
{
	for (size_t i = 0; i < w->m->n_attachments; i++) {
		struct mailgw_attachment *a = &w->m->attachments[i];
		size_t left = MAILGW_MIME_EXTRACTED_MAX - w->extracted;
		size_t cap = left < MAILGW_OFFICE_OUT_MAX ? left : MAILGW_OFFICE_OUT_MAX;
		int rc;
		if (cap < 1024)
			break;
		rc = mailgw_office_extract(a->filename, a->mime_type, a->data, a->len, cap,
					   &a->extract, &a->extracted, &a->extracted_len);
		if (rc)
			return rc;
		w->extracted += a->extracted_len;
	}
	return 0;
}

int mailgw_mime_parse(const void *raw, size_t len, const struct mailgw_mime_limits *limits,
		      struct mailgw_mime_msg **out)
{
	struct mailgw_mime_limits defaults;
	struct walk w = { 0 };
	char *padded = NULL;
	int rc = 0;

	mailgw_charset_hook_libetpan();
	if (!limits) {
		mailgw_mime_limits_default(&defaults);
		limits = &defaults;
	}
	w.lim = limits;
	w.raw = raw;
	w.len = len;
	buf_init(&w.body, limits->max_body);
	w.m = calloc(1, sizeof(*w.m));
	if (!w.m)
		return RELAIS_ENOMEM;

	if (len > limits->max_message)
		set_status(&w, MAILGW_MIME_TOO_BIG);
	else if (header_too_big(raw, len, limits->max_header))
		set_status(&w, MAILGW_MIME_HEADER_TOO_BIG);
	else if (count_boundaries(raw, len) > limits->max_parts)
		set_status(&w, MAILGW_MIME_TOO_MANY_PARTS);
	else {
		if (memchr(raw, 0, len))
			w.m->warnings |= MAILGW_MIME_W_NUL;
		/* libetpan's decoders read past the end of a part that ends in a
		 * quoted-printable '=' (found by fuzz/fuzz-mime.c): it parses a
		 * copy followed by zero bytes, so those reads stay in bounds. */
		padded = malloc(len + MIME_PAD);
		if (!padded) {
			rc = RELAIS_ENOMEM;
			goto out;
		}
		if (len)
			memcpy(padded, raw, len);
		memset(padded + len, 0, MIME_PAD);
		w.raw = padded;
		rc = parse_tree(&w);
		if (rc)
			goto out;
	}
	w.m->body = (char *)buf_detach(&w.body, &w.m->body_len);
	if (!w.m->body)
		rc = RELAIS_ENOMEM;
	if (!rc)
		rc = extract_attachments(&w);
out:
	free(padded);
	buf_release(&w.body);
	if (rc) {
		mailgw_mime_free(w.m);
		return rc;
	}
	*out = w.m;
	return 0;
}
