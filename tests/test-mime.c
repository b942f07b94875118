/*
 * Tests of the MIME parser, its charsets and HTML helpers, and the sandbox
 * that runs it in a child process. The corpus in tests/mail/ is made by
 * tests/mail/make-corpus.py with Python's email package.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <libetpan/charconv.h>
#include "../common/utf8.h"
#include "../mailgw/charset.h"
#include "../mailgw/html.h"
#include "../mailgw/mime.h"
#include "../mailgw/sandbox.h"
#include "harness.h"
#include "test.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static char *corpus_path(const char *name)
{
	const char *dir = getenv("RELAIS_MAIL_CORPUS");
	return h_strf("%s/%s", dir && *dir ? dir : "tests/mail", name);
}

/* Reads a corpus file; the harness owns the result (needs h_setup()). */
static char *corpus(const char *name, size_t *len)
{
	char *p = h_read_file(corpus_path(name), len);
	if (!p)
		fprintf(stderr, "  cannot read %s (run from the source tree)\n", corpus_path(name));
	return p;
}

static void free_msg(void *p)
{
	mailgw_mime_free(*(struct mailgw_mime_msg **)p);
	*(struct mailgw_mime_msg **)p = NULL;
}

static int str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* 1 when the two parses hold the same data. */
static int msg_equal(const struct mailgw_mime_msg *a, const struct mailgw_mime_msg *b)
{
	if (a->status != b->status || a->warnings != b->warnings ||
	    a->return_path_empty != b->return_path_empty || a->date_ms != b->date_ms ||
	    a->x_autoreply != b->x_autoreply || a->delivery_report != b->delivery_report ||
	    a->body_from_html != b->body_from_html || a->tnef != b->tnef ||
	    a->n_attachments != b->n_attachments || a->body_len != b->body_len)
		return 0;
	if (!str_eq(a->message_id, b->message_id) || !str_eq(a->from_addr, b->from_addr) ||
	    !str_eq(a->from_name, b->from_name) || !str_eq(a->return_path, b->return_path) ||
	    !str_eq(a->subject, b->subject) || !str_eq(a->date, b->date) ||
	    !str_eq(a->in_reply_to, b->in_reply_to) || !str_eq(a->references, b->references) ||
	    !str_eq(a->auto_submitted, b->auto_submitted) || !str_eq(a->precedence, b->precedence) ||
	    !str_eq(a->content_type, b->content_type) || !str_eq(a->body, b->body))
		return 0;
	for (size_t i = 0; i < a->n_attachments; i++) {
		const struct mailgw_attachment *x = &a->attachments[i], *y = &b->attachments[i];
		if (strcmp(x->filename, y->filename) || strcmp(x->mime_type, y->mime_type) ||
		    x->len != y->len || memcmp(x->data, y->data, x->len))
			return 0;
	}
	return 1;
}

/* Expected flags of a corpus message. */
#define F_TNEF   0x01
#define F_DSN    0x02
#define F_RP0    0x04 /* Return-Path: <> */
#define F_HTML   0x08
#define F_XAUTO  0x10

struct corpus_case {
	const char *file;
	int status;
	unsigned warnings;
	const char *subject;
	const char *body_part;     /* substring of the body */
	size_t attachments;
	unsigned flags;
	const char *auto_submitted;
	const char *precedence;
	const char *content_type;
};

static const struct corpus_case wellformed[] = {
	{ "plain-utf8.eml", 0, 0, "Candidature — Centre social Les Tilleuls",
	  "Nom du promeneur : Zoé Müller\nFonction : éducatrice spécialisée", 0, 0, NULL, NULL, "text/plain" },
	{ "latin1.eml", 0, 0, "Bilan annuel", "déjà reçu, à compléter", 0, 0, NULL, NULL, "text/plain" },
	{ "cp1252.eml", 0, 0, "Subvention", "Coût : 500 € — l’équipe", 0, 0, NULL, NULL, "text/plain" },
	{ "latin1-actually-utf8.eml", 0, MAILGW_MIME_W_CHARSET, "Faux latin-1",
	  "Déclaré latin-1 mais écrit en UTF-8.", 0, 0, NULL, NULL, "text/plain" },
	{ "utf8-actually-cp1252.eml", 0, MAILGW_MIME_W_CHARSET, "Faux UTF-8",
	  "Déclaré UTF-8 mais écrit en Windows-1252 : 20 €.", 0, 0, NULL, NULL, "text/plain" },
	{ "no-charset.eml", 0, 0, "Sans charset", "texte en UTF-8 : été.", 0, 0, NULL, NULL, "text/plain" },
	{ "qp.eml", 0, 0, "Quoted-printable", "ligne éééé", 0, 0, NULL, NULL, "text/plain" },
	{ "base64.eml", 0, 0, "Base64", "Texte encodé en base64 : ça marche.", 0, 0, NULL, NULL, "text/plain" },
	{ "subject-q.eml", 0, 0, "Candidature été 2025", "Corps.", 0, 0, NULL, NULL, "text/plain" },
	{ "subject-split.eml", 0, 0, "Bilan détaillé de l'année", "Corps.", 0, 0, NULL, NULL, "text/plain" },
	{ "subject-mixed.eml", 0, 0, "Réponse à la demande €", "Corps.", 0, 0, NULL, NULL, "text/plain" },
	{ "alternative.eml", 0, 0, "Alternative", "Version texte : préférée.", 0, 0, NULL, NULL,
	  "multipart/alternative" },
	{ "mixed-csv-pdf.eml", 0, 0, "Bilan et compte rendu", "le bilan en pièce jointe", 2, 0, NULL, NULL,
	  "multipart/mixed" },
	{ "nested.eml", 0, 0, "Imbriqué", "Texte imbriqué au fond.", 1, 0, NULL, NULL, "multipart/mixed" },
	/* Made by mutt (tests/mail/make-mutt.sh). */
	{ "mutt-candidature.eml", 0, 0, "Candidature Promeneurs du Net",
	  "Prénom * : Zoé\nNom * : Müller", 0, 0, NULL, NULL, "text/plain" },
	{ "mutt-latin1.eml", 0, 0, "Bilan annuel — Les Tilleuls", "très complet.\nÀ bientôt,\nZoé",
	  0, 0, NULL, NULL, "text/plain" },
	{ "mutt-bilan-csv.eml", 0, 0, "Bilan 2025", "Le bilan est en pièce jointe.", 1, 0, NULL, NULL,
	  "multipart/mixed" },
	{ "html-only.eml", 0, 0, "HTML seul", "Nom de la structure : MJC & Cie\nCoût : 30€ été\nLigne\nsuivante",
	  0, F_HTML, NULL, NULL, "text/html" },
	{ "forwarded.eml", 0, 0, "Tr: Candidature",
	  "Message transféré --------\nDe : paul@mjc.example\nObjet : Candidature\n\nNom de la structure : Centre social",
	  0, 0, NULL, NULL, "multipart/mixed" },
	{ "reply-quote.eml", 0, 0, "Re: Formulaire de candidature",
	  "relais a écrit :\n> Nom de la structure : Centre social Les Tilleuls\n> Commune", 0, 0, NULL, NULL,
	  "text/plain" },
	{ "winmail.eml", 0, 0, "Bilan (Outlook)", "Corps caché", 1, F_TNEF, NULL, NULL, "multipart/mixed" },
	{ "dsn.eml", 0, 0, "Undelivered Mail Returned to Sender", "could not\nbe delivered", 1,
	  F_DSN | F_RP0, "auto-replied", NULL, "multipart/report" },
	{ "auto-replied.eml", 0, 0, "Re: Formulaire", "en congés", 0, 0, "auto-replied", NULL, "text/plain" },
	{ "absence-fr.eml", 0, 0, "Absence du bureau", "absente jusqu'au", 0, F_XAUTO, NULL, NULL, "text/plain" },
	{ "reponse-auto-fr.eml", 0, 0, "Réponse automatique : Formulaire", "je suis absent", 0, F_XAUTO,
	  NULL, NULL, "text/plain" },
	{ "ooo-en.eml", 0, 0, "Out of Office: Formulaire", "out of the office", 0, 0, "auto-replied", NULL,
	  "text/plain" },
	{ "bulk.eml", 0, 0, "Lettre d'information", "nouvelles du réseau", 0, 0, NULL, "bulk", "text/plain" },
};

static const struct corpus_case malformed[] = {
	{ "deep-100.eml", MAILGW_MIME_TOO_DEEP, 0, "Profond", "", 0, 0, NULL, NULL, "multipart/mixed" },
	{ "header-1mb.eml", MAILGW_MIME_HEADER_TOO_BIG, 0, NULL, "", 0, 0, NULL, NULL, NULL },
	{ "unknown-charset.eml", 0, MAILGW_MIME_W_CHARSET, "Charset inconnu", "texte en UTF-8 : ça.", 0, 0,
	  NULL, NULL, "text/plain" },
	{ "no-end-boundary.eml", 0, MAILGW_MIME_W_NO_END, "Sans fin", "Premier morceau.", 1, 0, NULL, NULL,
	  "multipart/mixed" },
	{ "truncated-base64.eml", 0, MAILGW_MIME_W_BAD_BASE64, "Base64 tronque", "Voir la piece jointe.", 1, 0,
	  NULL, NULL, "multipart/mixed" },
	{ "nul-bytes.eml", 0, MAILGW_MIME_W_NUL, "Octets nuls", "Avantle nulaprès.", 0, 0, NULL, NULL,
	  "text/plain" },
	{ "zip-zeros.eml", 0, 0, "Archive", "Archive jointe.", 1, 0, NULL, NULL, "multipart/mixed" },
};

/* Set by check_case() when it ran to its end: a failed CHECK returns early. */
static int case_ok;

/* Checks one parse against its case. */
static void check_case(const struct corpus_case *c, const struct mailgw_mime_msg *m, int i)
{
	case_ok = 0;
	CHECK_INT_IDX(m->status, c->status, i);
	CHECK_INT_IDX(m->warnings, c->warnings, i);
	if (c->subject)
		CHECK_STR_IDX(m->subject, c->subject, i);
	else
		CHECK_IDX(m->subject == NULL, i);
	CHECK_IDX(m->body != NULL && strlen(m->body) == m->body_len, i);
	CHECK_IDX(utf8_valid(m->body, m->body_len), i);
	if (!strstr(m->body, c->body_part)) {
		test_fail(__FILE__, __LINE__, "case %d (%s): body lacks \"%s\":\n%s", i, c->file,
			  c->body_part, m->body);
		return;
	}
	CHECK_INT_IDX(m->n_attachments, c->attachments, i);
	CHECK_INT_IDX(m->tnef, !!(c->flags & F_TNEF), i);
	CHECK_INT_IDX(m->delivery_report, !!(c->flags & F_DSN), i);
	CHECK_INT_IDX(m->return_path_empty, !!(c->flags & F_RP0), i);
	CHECK_INT_IDX(m->body_from_html, !!(c->flags & F_HTML), i);
	CHECK_INT_IDX(m->x_autoreply, !!(c->flags & F_XAUTO), i);
	CHECK_IDX(str_eq(m->auto_submitted, c->auto_submitted), i);
	CHECK_IDX(str_eq(m->precedence, c->precedence), i);
	CHECK_IDX(str_eq(m->content_type, c->content_type), i);
	case_ok = 1;
}

/* Parses each case directly and through the sandbox: both must match the
 * case and each other (the sandbox's encoding loses nothing). */
static void run_corpus(const struct corpus_case *cases, size_t n)
{
	static struct mailgw_mime_msg *direct, *boxed;
	h_setup();
	test_defer(free_msg, &direct);
	test_defer(free_msg, &boxed);
	for (size_t i = 0; i < n; i++) {
		struct mailgw_sandbox_outcome o;
		size_t len;
		const char *raw = corpus(cases[i].file, &len);
		CHECK_IDX(raw != NULL, i);
		CHECK_OK(mailgw_mime_parse(raw, len, NULL, &direct));
		check_case(&cases[i], direct, (int)i);
		if (!case_ok)
			return;
		CHECK_OK(mailgw_sandbox_parse(raw, len, NULL, &boxed, &o));
		CHECK_INT_IDX(o.verdict, MAILGW_SANDBOX_PARSED, i);
		CHECK_STR_IDX(o.reason, "", i);
		CHECK_IDX(msg_equal(direct, boxed), i);
		mailgw_mime_free(direct);
		mailgw_mime_free(boxed);
		direct = boxed = NULL;
	}
}

TEST(mime_corpus_wellformed)
{
	run_corpus(wellformed, N(wellformed));
}

TEST(mime_corpus_malformed)
{
	run_corpus(malformed, N(malformed));
}

TEST(mime_headers)
{
	static struct mailgw_mime_msg *m;
	size_t len;
	h_setup();
	test_defer(free_msg, &m);

	const char *raw = corpus("plain-utf8.eml", &len);
	CHECK(raw != NULL);
	CHECK_OK(mailgw_mime_parse(raw, len, NULL, &m));
	CHECK_STR(m->message_id, "corpus-01@tilleuls.example");
	CHECK_STR(m->from_addr, "zoe@tilleuls.example");
	CHECK_STR(m->from_name, "Zoé Müller");
	CHECK(m->return_path == NULL);
	CHECK_INT(m->date_ms, 1736155800000LL);
	CHECK_STR(m->date, "2025-01-06T09:30:00Z");
	CHECK(m->in_reply_to == NULL);
	mailgw_mime_free(m);

	raw = corpus("reply-quote.eml", &len);
	CHECK_OK(mailgw_mime_parse(raw, len, NULL, &m));
	CHECK_STR(m->in_reply_to, "form-1@pdn43.example");
	CHECK_STR(m->references, "first@pdn43.example form-1@pdn43.example");
	mailgw_mime_free(m);

	raw = corpus("subject-mixed.eml", &len);
	CHECK_OK(mailgw_mime_parse(raw, len, NULL, &m));
	CHECK_STR(m->from_name, "André Lévêque");
	mailgw_mime_free(m);

	raw = corpus("dsn.eml", &len);
	CHECK_OK(mailgw_mime_parse(raw, len, NULL, &m));
	CHECK_STR(m->return_path, "");
	CHECK_STR(m->from_addr, "MAILER-DAEMON@mx.example");
	CHECK_STR(m->attachments[0].mime_type, "message/delivery-status");
	CHECK(strstr((const char *)m->attachments[0].data, "Status: 5.1.1") != NULL);
}

TEST(mime_attachments_decoded)
{
	static struct mailgw_mime_msg *m;
	size_t len;
	h_setup();
	test_defer(free_msg, &m);

	const char *raw = corpus("mixed-csv-pdf.eml", &len);
	CHECK(raw != NULL);
	CHECK_OK(mailgw_mime_parse(raw, len, NULL, &m));
	CHECK_INT(m->n_attachments, 2);
	CHECK_STR(m->attachments[0].filename, "bilan.csv");
	CHECK_STR(m->attachments[0].mime_type, "text/csv");
	CHECK_INT(m->attachments[0].len, 35);
	/* Attachments keep the bytes sent, CRLF included. */
	CHECK(!memcmp(m->attachments[0].data, "annee;jeunes;heures\r\n2024;120;310\r\n", 35));
	CHECK_STR(m->attachments[1].filename, "compte-rendu été.pdf"); /* RFC 2231 */
	CHECK_STR(m->attachments[1].mime_type, "application/pdf");
	CHECK_INT(m->attachments[1].len, 41); /* base64 undone */
	CHECK(!memcmp(m->attachments[1].data, "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", 15));
	mailgw_mime_free(m);

	raw = corpus("winmail.eml", &len);
	CHECK_OK(mailgw_mime_parse(raw, len, NULL, &m));
	CHECK_STR(m->attachments[0].filename, "winmail.dat");
	CHECK_INT(m->attachments[0].data[0], 0x78);
	mailgw_mime_free(m);

	raw = corpus("zip-zeros.eml", &len);
	CHECK_OK(mailgw_mime_parse(raw, len, NULL, &m));
	CHECK_STR(m->attachments[0].mime_type, "application/zip");
	CHECK(!memcmp(m->attachments[0].data, "PK\x03\x04", 4)); /* stored as sent, never inflated */
}

TEST(mime_limits_hold)
{
	static struct mailgw_mime_msg *m;
	struct mailgw_mime_limits lim;
	size_t len;
	h_setup();
	test_defer(free_msg, &m);
	const char *raw = corpus("mixed-csv-pdf.eml", &len);
	const char *nested = NULL;
	size_t nested_len;
	CHECK(raw != NULL);
	nested = corpus("nested.eml", &nested_len);
	CHECK(nested != NULL);

	mailgw_mime_limits_default(&lim);
	lim.max_parts = 2;
	CHECK_OK(mailgw_mime_parse(raw, len, &lim, &m));
	CHECK_INT(m->status, MAILGW_MIME_TOO_MANY_PARTS);
	CHECK_INT(m->n_attachments, 0);
	mailgw_mime_free(m);

	mailgw_mime_limits_default(&lim);
	lim.max_attachments = 40; /* the CSV (35) fits, the PDF (41) does not */
	CHECK_OK(mailgw_mime_parse(raw, len, &lim, &m));
	CHECK_INT(m->status, MAILGW_MIME_ATTACH_TOO_BIG);
	CHECK_INT(m->n_attachments, 1);
	CHECK_STR(m->attachments[0].filename, "bilan.csv");
	mailgw_mime_free(m);

	mailgw_mime_limits_default(&lim);
	lim.max_body = 12; /* "Veuillez tro" ; a cut never splits a character */
	CHECK_OK(mailgw_mime_parse(raw, len, &lim, &m));
	CHECK_INT(m->status, MAILGW_MIME_OK);
	CHECK(m->warnings & MAILGW_MIME_W_TRUNCATED);
	CHECK(m->body_len <= 12);
	CHECK(utf8_valid(m->body, m->body_len));
	mailgw_mime_free(m);

	mailgw_mime_limits_default(&lim);
	lim.max_depth = 1; /* mixed > alternative > plain is depth 2 */
	CHECK_OK(mailgw_mime_parse(nested, nested_len, &lim, &m));
	CHECK_INT(m->status, MAILGW_MIME_TOO_DEEP);
	mailgw_mime_free(m);

	mailgw_mime_limits_default(&lim);
	lim.max_message = len - 1;
	CHECK_OK(mailgw_mime_parse(raw, len, &lim, &m));
	CHECK_INT(m->status, MAILGW_MIME_TOO_BIG);
	CHECK(m->subject == NULL);
	CHECK_STR(m->body, "");
	CHECK_STR(mailgw_mime_status_str(m->status), "message trop volumineux");
}

TEST(mime_rfc2047_cases)
{
	static const struct {
		const char *in;
		size_t max;
		const char *out;
	} cases[] = {
		{ "=?UTF-8?Q?Candidature_=C3=A9t=C3=A9?=", 100, "Candidature été" },
		{ "=?utf-8?b?w6k=?=", 100, "é" },
		/* é split between two words: joined before conversion */
		{ "=?UTF-8?B?QmlsYW4gZMOpdGFpbGzD?=\r\n =?UTF-8?B?qSBkZSBsJ2FubsOpZQ==?=", 100,
		  "Bilan détaillé de l'année" },
		{ "=?UTF-8?Q?a=C3?= =?UTF-8?Q?=A9b?=", 100, "aéb" },
		{ "=?ISO-8859-1?Q?R=E9ponse?= =?UTF-8?B?IMOgIGxh?= demande", 100, "Réponse à la demande" },
		{ "=?iso-8859-15?q?=A4?=", 100, "€" },
		{ "=?UTF-8*fr?Q?caf=C3=A9?=", 100, "café" },
		{ "Re: =?UTF-8?Q?caf=C3=A9?= ok", 100, "Re: café ok" },
		{ "pas =?encodé", 100, "pas =?encodé" },
		{ "=?x-inconnu?Q?=C3=A9t=C3=A9?=", 100, "été" },
		{ "=?x-inconnu?Q?=E9t=E9?=", 100, "été" },
		{ "R\xe9ponse brute", 100, "Réponse brute" },
		{ "Ligne\r\n pliée", 100, "Ligne pliée" },
		{ "=?UTF-8?Q?=C3=A9=C3=A9?=", 3, "é" },
		{ "  espaces  ", 100, "espaces" },
	};
	for (size_t i = 0; i < N(cases); i++) {
		char *out = NULL;
		CHECK_OK(mailgw_rfc2047_decode(cases[i].in, strlen(cases[i].in), cases[i].max, &out));
		int same = !strcmp(out, cases[i].out);
		if (!same)
			test_fail(__FILE__, __LINE__, "case %d: \"%s\" != \"%s\"", (int)i, out, cases[i].out);
		free(out);
		CHECK_IDX(same, i);
	}
}

TEST(mime_charset_cases)
{
	static const struct {
		const char *charset;
		const char *in;
		const char *out;
		unsigned how;
	} cases[] = {
		{ "utf-8", "été", "été", 0 },
		{ NULL, "été", "été", 0 },
		{ "ISO-8859-1", "\xe9t\xe9", "été", 0 },
		{ "\"iso-8859-1\"", "\x80 \x92", "€ ’", 0 },       /* Latin-1 label, Windows-1252 bytes */
		{ "windows-1252", "\x9c\x81", "œ\xc2\x81", 0 },      /* a hole maps to its C1 code point */
		{ "iso-8859-1", "d\xc3\xa9j\xc3\xa0", "déjà", MAILGW_CHARSET_FALLBACK },
		{ "utf-8", "\xe9t\xe9", "été", MAILGW_CHARSET_FALLBACK },
		{ "x-martien", "\xe9t\xe9", "été", MAILGW_CHARSET_FALLBACK },
		{ "iso-8859-15", "\xa4", "€", 0 },
		{ "koi8-r", "\xf0\xd2\xc9\xd7\xc5\xd4", "Привет", 0 },
		{ "utf-8", "\xc0\xaf", "À¯", MAILGW_CHARSET_FALLBACK }, /* overlong: not UTF-8 */
		{ "utf-8", "\xed\xa0\x80", "í\xc2\xa0€", MAILGW_CHARSET_FALLBACK }, /* surrogate */
	};
	for (size_t i = 0; i < N(cases); i++) {
		char *out = NULL;
		size_t len;
		unsigned how = 99;
		CHECK_OK(mailgw_charset_to_utf8(cases[i].charset, cases[i].in, strlen(cases[i].in), 100,
						&out, &len, &how));
		int same = !strcmp(out, cases[i].out) && len == strlen(out);
		if (!same)
			test_fail(__FILE__, __LINE__, "case %d: \"%s\" != \"%s\"", (int)i, out, cases[i].out);
		free(out);
		CHECK_IDX(same, i);
		CHECK_INT_IDX(how, cases[i].how, i);
	}

	/* NULs dropped, cap on a character boundary. */
	char *out = NULL;
	size_t len;
	unsigned how;
	CHECK_OK(mailgw_charset_to_utf8("utf-8", "a\0b\xc3\xa9", 5, 3, &out, &len, &how));
	CHECK_STR(out, "ab");
	CHECK_INT(how, MAILGW_CHARSET_NUL | MAILGW_CHARSET_TRUNCATED);
	free(out);
}

TEST(mime_html_cases)
{
	static const struct {
		const char *in;
		const char *out;
	} cases[] = {
		{ "<p>Un</p><p>Deux</p>", "Un\nDeux" },
		{ "a<br>b<br/>c<BR>", "a\nb\nc" },
		{ "<script>var x = '<p>';</script>texte<style>p{}</style>", "texte" },
		{ "<head><title>T</title></head><body>corps</body>", "corps" },
		{ "&eacute;t&eacute; &amp; &#233;&#xE9; &lt;b&gt; &euro;&nbsp;!", "été & éé <b> € !" },
		{ "&inconnu; &amp &#;", "&inconnu; &amp &#;" },
		{ "  beaucoup   \n d'espaces  ", "beaucoup d'espaces" },
		{ "<ul><li>un</li><li>deux</li></ul>", "- un\n- deux" },
		{ "<pre>a  b\n c</pre>", "a  b\n c" },
		{ "<!-- <p>commentaire</p> -->visible", "visible" },
		{ "a < b et c > d", "a < b et c > d" },
		{ "<a href=\"x>y\">lien</a>", "lien" },
		{ "<div>un</div><div>deux</div>", "un\ndeux" },
		{ "a<br><br><br><br>b", "a\n\nb" },
		{ "&#0;&#xD800;&#1114112;", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "<p>non fermé", "non fermé" },
		{ "<table><tr><td>a</td><td>b</td></tr></table>", "a b" },
	};
	for (size_t i = 0; i < N(cases); i++) {
		char *out = NULL;
		size_t len;
		CHECK_OK(mailgw_html_to_text(cases[i].in, strlen(cases[i].in), 1000, &out, &len));
		int same = !strcmp(out, cases[i].out) && len == strlen(out);
		if (!same)
			test_fail(__FILE__, __LINE__, "case %d: \"%s\" != \"%s\"", (int)i, out, cases[i].out);
		free(out);
		CHECK_IDX(same, i);
	}
	char *out = NULL;
	size_t len;
	CHECK_OK(mailgw_html_to_text("ééé", 6, 5, &out, &len));
	CHECK_STR(out, "éé");
	free(out);
}

/* A parent that survives each fault and can still parse afterwards. */
TEST(mime_sandbox_faults_quarantine)
{
	static const struct {
		int fault;
		const char *reason_part;
	} cases[] = {
		{ MAILGW_SANDBOX_FAULT_CRASH, "planté (signal SIGSEGV)" },
		{ MAILGW_SANDBOX_FAULT_SPIN, "temps de calcul" },
		{ MAILGW_SANDBOX_FAULT_SLEEP, "temps imparti" },
		{ MAILGW_SANDBOX_FAULT_GARBAGE, "illisible" },
		{ MAILGW_SANDBOX_FAULT_OOM, "manqué de mémoire (limite de 64 Mio)" },
	};
	static struct mailgw_mime_msg *m;
	struct mailgw_mime_limits lim;
	size_t len;
	h_setup();
	test_defer(free_msg, &m);
	const char *raw = corpus("plain-utf8.eml", &len);
	CHECK(raw != NULL);
	for (size_t i = 0; i < N(cases); i++) {
		struct mailgw_sandbox_outcome o;
		mailgw_mime_limits_default(&lim);
		lim.test_fault = cases[i].fault;
		lim.child_cpu_s = 1;
		/* Generous except where the wall limit is what is tested: a loaded
		 * machine must not turn a crash into a time-out. */
		lim.timeout_ms = cases[i].fault == MAILGW_SANDBOX_FAULT_SLEEP ? 700 : 20000;
		lim.child_memory = 64u << 20;
		m = (struct mailgw_mime_msg *)&o; /* must be reset to NULL */
		CHECK_OK(mailgw_sandbox_parse(raw, len, &lim, &m, &o));
		CHECK_IDX(m == NULL, i);
		CHECK_INT_IDX(o.verdict, MAILGW_SANDBOX_QUARANTINE, i);
		if (!strstr(o.reason, cases[i].reason_part)) {
			test_fail(__FILE__, __LINE__, "case %d: reason \"%s\" lacks \"%s\"", (int)i, o.reason,
				  cases[i].reason_part);
			return;
		}
		/* The faulty worker is gone; a new one parses the next message. */
		struct mailgw_sandbox_stats before, after;
		mailgw_sandbox_stats(&before);
		CHECK_INT_IDX(before.running, 0, i);
		CHECK_OK(mailgw_sandbox_parse(raw, len, NULL, &m, &o));
		CHECK_INT_IDX(o.verdict, MAILGW_SANDBOX_PARSED, i);
		CHECK_STR_IDX(m->subject, "Candidature — Centre social Les Tilleuls", i);
		mailgw_mime_free(m);
		m = NULL;
		mailgw_sandbox_stats(&after);
		CHECK_INT_IDX(after.started, before.started + 1, i);
	}
}

/* A stop that is always asked. */
static int always(void *arg)
{
	(void)arg;
	return 1;
}

/* Jobs of the corpus parsed side by side give, each, what the parse in
 * process gives; a fault that every worker of a batch commits quarantines
 * each job, and the next batch is parsed again by fresh workers. */
TEST(mime_sandbox_many_equals_one_by_one)
{
	static const char *const names[] = {
		"plain-utf8.eml", "alternative.eml", "absence-fr.eml", "mutt-bilan-csv.eml",
		"mutt-latin1.eml", "forwarded.eml", "dsn.eml",
	};
	enum { JOBS = 40 };
	static struct mailgw_sandbox_job jobs[JOBS];
	struct mailgw_mime_limits lim;
	size_t len[N(names)];
	const char *raw[N(names)];
	h_setup();
	for (size_t i = 0; i < N(names); i++) {
		raw[i] = corpus(names[i], &len[i]);
		CHECK(raw[i] != NULL);
	}
	for (size_t i = 0; i < JOBS; i++) {
		jobs[i].raw = raw[i % N(names)];
		jobs[i].len = len[i % N(names)];
	}
	/* An empty message too: its request is a head alone. */
	jobs[JOBS - 1].raw = "";
	jobs[JOBS - 1].len = 0;
	mailgw_sandbox_parse_many(jobs, JOBS, NULL, NULL, NULL);
	int same = 1;
	for (size_t i = 0; i < JOBS; i++) {
		struct mailgw_mime_msg *m = NULL;
		CHECK_OK(mailgw_mime_parse(jobs[i].raw, jobs[i].len, NULL, &m));
		int ok = !jobs[i].rc && jobs[i].outcome.verdict == MAILGW_SANDBOX_PARSED &&
			 jobs[i].msg && msg_equal(jobs[i].msg, m);
		if (!ok)
			fprintf(stderr, "  job %zu (%s) differs\n", i,
				jobs[i].len ? names[i % N(names)] : "empty");
		same &= ok;
		mailgw_mime_free(m);
		mailgw_mime_free(jobs[i].msg);
		jobs[i].msg = NULL;
	}
	CHECK(same);

	mailgw_mime_limits_default(&lim);
	lim.test_fault = MAILGW_SANDBOX_FAULT_CRASH;
	lim.timeout_ms = 20000;
	mailgw_sandbox_parse_many(jobs, 4, &lim, NULL, NULL);
	for (size_t i = 0; i < 4; i++) {
		CHECK_INT_IDX(jobs[i].rc, 0, (int)i);
		CHECK_IDX(jobs[i].msg == NULL, (int)i);
		CHECK_INT_IDX(jobs[i].outcome.verdict, MAILGW_SANDBOX_QUARANTINE, (int)i);
		CHECK_IDX(strstr(jobs[i].outcome.reason, "planté") != NULL, (int)i);
	}
	mailgw_sandbox_parse_many(jobs, 4, NULL, NULL, NULL);
	for (size_t i = 0; i < 4; i++) {
		CHECK_INT_IDX(jobs[i].outcome.verdict, MAILGW_SANDBOX_PARSED, (int)i);
		mailgw_mime_free(jobs[i].msg);
		jobs[i].msg = NULL;
	}
	/* Asked to stop: no job starts, each is left for later. */
	mailgw_sandbox_parse_many(jobs, 4, NULL, always, NULL);
	for (size_t i = 0; i < 4; i++) {
		CHECK_INT_IDX(jobs[i].rc, RELAIS_ELATER, (int)i);
		CHECK_IDX(jobs[i].msg == NULL, (int)i);
	}
}

/* libetpan's conversion of header words through our hook gives what its
 * own iconv path gives, for what the hook converts (UTF-8, ASCII and
 * Latin-1 to UTF-8) and for what it hands back to iconv. */
TEST(charset_libetpan_hook_equals_iconv)
{
	static const struct {
		const char *from, *text;
	} cases[] = {
		{ "utf-8", "Promeneurs du Net — été" },
		{ "UTF-8", "caf\xc3\xa9" },
		{ "utf-8", "invalide \xe9t\xe9" },
		{ "us-ascii", "Candidature" },
		{ "us-ascii", "caf\xe9" },
		{ "iso-8859-1", "\xe9t\xe9 \xe0 l'\xeele" },
		{ "ISO-8859-1", "\x80\x9f\xff" },
		{ "latin1", "No\xebl" },
		{ "iso-8859-15", "\xa4 100" },
		{ "windows-1252", "\x93guillemets\x94" },
		{ "utf-8", "" },
	};
	mailgw_charset_hook_libetpan();
	int (*hook)(const char *, const char *, const char *, size_t, char *, size_t *) =
		extended_charconv;
	CHECK(hook != NULL);
	for (size_t i = 0; i < N(cases); i++) {
		char *via_hook = NULL, *via_iconv = NULL;
		size_t n = strlen(cases[i].text);
		int r1 = charconv("utf-8", cases[i].from, cases[i].text, n, &via_hook);
		extended_charconv = NULL;
		int r2 = charconv("utf-8", cases[i].from, cases[i].text, n, &via_iconv);
		extended_charconv = hook;
		CHECK_INT_IDX(r1, r2, (int)i);
		CHECK_IDX((via_hook == NULL) == (via_iconv == NULL), (int)i);
		if (via_hook && via_iconv && strcmp(via_hook, via_iconv))
			test_fail(__FILE__, __LINE__, "case %zu: \"%s\" by the hook, \"%s\" by iconv", i,
				  via_hook, via_iconv);
		free(via_hook);
		free(via_iconv);
	}
}

TEST(mime_sandbox_decode_rejects_garbage)
{
	static struct mailgw_mime_msg *m, *back;
	static unsigned char *enc;
	size_t len, enc_len;
	h_setup();
	test_defer(free_msg, &m);
	test_defer(free_msg, &back);
	const char *raw = corpus("mixed-csv-pdf.eml", &len);
	CHECK(raw != NULL);
	CHECK_OK(mailgw_mime_parse(raw, len, NULL, &m));
	CHECK_OK(mailgw_sandbox_encode(m, &enc, &enc_len));
	test_defer(free, enc);
	CHECK_OK(mailgw_sandbox_decode(enc, enc_len, NULL, &back));
	CHECK(msg_equal(m, back));
	mailgw_mime_free(back);
	back = NULL;
	/* Every truncation is refused; no flipped byte crashes the decoder. */
	for (size_t cut = 0; cut < enc_len; cut++) {
		int rc = mailgw_sandbox_decode(enc, cut, NULL, &back);
		CHECK_INT_IDX(rc, RELAIS_ECORRUPT, cut);
	}
	for (size_t i = 0; i < enc_len; i++) {
		enc[i] ^= 0xFF;
		int rc = mailgw_sandbox_decode(enc, enc_len, NULL, &back);
		enc[i] ^= 0xFF;
		CHECK_IDX(rc == 0 || rc == RELAIS_ECORRUPT, i);
		mailgw_mime_free(back);
		back = NULL;
	}
	/* A count of attachments past the cap is refused before any allocation. */
	struct mailgw_mime_limits lim;
	mailgw_mime_limits_default(&lim);
	lim.max_parts = 1;
	CHECK_INT(mailgw_sandbox_decode(enc, enc_len, &lim, &back), RELAIS_ECORRUPT);
}

static long max_rss_kib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* A 30 MB message: refused unread with the default limits; parsed in the
 * child under raised ones. Either way the parent's memory hardly grows:
 * it never holds more than the capped reply. */
TEST(mime_sandbox_big_message_bounded)
{
	static struct mailgw_mime_msg *m;
	struct mailgw_sandbox_outcome o;
	struct mailgw_mime_limits lim;
	h_setup();
	test_defer(free_msg, &m);

	const char *path = h_path("big.eml");
	FILE *f = fopen(path, "wb");
	CHECK(f != NULL);
	fputs("From: Zoe <zoe@tilleuls.example>\r\nTo: relais@pdn43.example\r\nSubject: Gros\r\n"
	      "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"g\"\r\n\r\n"
	      "--g\r\nContent-Type: text/plain\r\n\r\nVoir la pièce jointe.\r\n"
	      "--g\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
	      "Content-Disposition: attachment; filename=\"gros.bin\"\r\n\r\n", f);
	for (int i = 0; i < 30 * 1024 * 1024 / 78; i++)
		fputs("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n", f);
	fputs("--g--\r\n", f);
	CHECK_INT(fclose(f), 0);

	size_t len;
	const char *raw = h_read_file(path, &len);
	CHECK(raw != NULL);
	CHECK(len > 30u * 1000 * 1000);

	long before = max_rss_kib();
	CHECK_OK(mailgw_sandbox_parse(raw, len, NULL, &m, &o));
	CHECK_INT(o.verdict, MAILGW_SANDBOX_PARSED);
	CHECK_INT(m->status, MAILGW_MIME_TOO_BIG);
	CHECK_INT(m->n_attachments, 0);
	mailgw_mime_free(m);
	m = NULL;
	CHECK(max_rss_kib() - before < 8 * 1024);

	mailgw_mime_limits_default(&lim);
	lim.max_message = 64u << 20;
	lim.max_attachments = 4u << 20;
	lim.timeout_ms = 60000;
	lim.child_cpu_s = 60;
	before = max_rss_kib();
	CHECK_OK(mailgw_sandbox_parse(raw, len, &lim, &m, &o));
	if (o.verdict != MAILGW_SANDBOX_PARSED)
		fprintf(stderr, "  quarantine: %s\n", o.reason);
	CHECK_INT(o.verdict, MAILGW_SANDBOX_PARSED);
	CHECK_INT(m->status, MAILGW_MIME_ATTACH_TOO_BIG);
	CHECK_INT(m->n_attachments, 0);
	CHECK_STR(m->body, "Voir la pièce jointe.");
	CHECK(max_rss_kib() - before < 16 * 1024);
}

struct thread_job {
	const char *raw;
	size_t len;
	int ok;
};

static void *parse_thread(void *arg)
{
	struct thread_job *j = arg;
	j->ok = 1;
	for (int k = 0; k < 5; k++) {
		struct mailgw_mime_msg *m = NULL;
		struct mailgw_sandbox_outcome o;
		if (mailgw_sandbox_parse(j->raw, j->len, NULL, &m, &o) || o.verdict != MAILGW_SANDBOX_PARSED ||
		    strcmp(m->subject, "Bilan et compte rendu") || m->n_attachments != 2)
			j->ok = 0;
		mailgw_mime_free(m);
	}
	return NULL;
}

/* Worker threads of one process may run sandboxes at the same time. */
TEST(mime_sandbox_threads)
{
	struct thread_job jobs[4];
	pthread_t th[4];
	size_t len;
	h_setup();
	const char *raw = corpus("mixed-csv-pdf.eml", &len);
	CHECK(raw != NULL);
	for (int i = 0; i < 4; i++) {
		jobs[i].raw = raw;
		jobs[i].len = len;
		CHECK_INT(pthread_create(&th[i], NULL, parse_thread, &jobs[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 4; i++)
		CHECK_INT_IDX(jobs[i].ok, 1, i);
}

/* A message whose parse calls iconv (ISO-8859-15 is not one of the
 * charsets the parser converts by itself). */
static const char latin9_msg[] =
	"From: Zoe <zoe@tilleuls.example>\r\nTo: relais@pdn43.example\r\n"
	"Subject: =?iso-8859-15?q?Re=E7u_=A4?=\r\nMessage-ID: <latin9@tilleuls.example>\r\n"
	"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-15\r\n"
	"Content-Transfer-Encoding: 8bit\r\n\r\nCo\xfbt : 500 \xa4\r\n";

static atomic_int hammer_stop;

/* What the other threads of relaisd do while a parse starts: take glibc's
 * locks (iconv's module loader, malloc's arenas) over and over. A child
 * fork()ed while one of them was held used to block on it. */
static void *hammer_thread(void *arg)
{
	static const char *const charsets[] = { "ISO-8859-15", "ISO-8859-2", "KOI8-R", "UTF-16",
						"CP1251", "SHIFT_JIS", "x-inconnu" };
	unsigned long *rounds = arg;
	for (unsigned i = 0; !atomic_load(&hammer_stop); i++) {
		iconv_t cd = iconv_open("UTF-8", charsets[i % N(charsets)]);
		if (cd != (iconv_t)-1) {
			char in[] = "caf\xe9", out[64], *ip = in, *op = out;
			size_t il = 4, ol = sizeof(out);
			iconv(cd, &ip, &il, &op, &ol);
			iconv_close(cd);
		}
		free(malloc(1 + (i * 7919u) % 65536));
		(*rounds)++;
	}
	return NULL;
}

struct latin9_job {
	const struct mailgw_mime_msg *expected;
	int parsed, wrong;
};

static void *latin9_thread(void *arg)
{
	struct latin9_job *j = arg;
	for (int k = 0; k < 25; k++) {
		struct mailgw_mime_msg *m = NULL;
		struct mailgw_sandbox_outcome o;
		int rc = mailgw_sandbox_parse(latin9_msg, sizeof(latin9_msg) - 1, NULL, &m, &o);
		if (!rc && o.verdict == MAILGW_SANDBOX_PARSED && msg_equal(m, j->expected))
			j->parsed++;
		else
			fprintf(stderr, "  parse %d: rc %d, %s\n", k, rc, o.reason), j->wrong++;
		mailgw_mime_free(m);
	}
	return NULL;
}

/* Pids of this process's children (of all its threads), from /proc; at
 * most max. Returns how many, or -1 when /proc cannot tell. */
static int children(pid_t *pids, int max)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[300];
		snprintf(path, sizeof(path), "/proc/self/task/%s/children", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f) {
			n = -1;
			break;
		}
		long pid;
		while (fscanf(f, "%ld", &pid) == 1)
			if (n < max)
				pids[n++] = (pid_t)pid;
		fclose(f);
	}
	closedir(d);
	return n;
}

/* 1 once pid has ended (a zombie or gone), waiting up to 10 s. */
static int wait_ended(pid_t pid)
{
	for (int i = 0; i < 1000; i++) {
		char path[64], state = 0;
		snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
		FILE *f = fopen(path, "r");
		if (!f)
			return 1;
		int got = fscanf(f, "%*d (%*[^)]) %c", &state);
		fclose(f);
		if (got == 1 && (state == 'Z' || state == 'X'))
			return 1;
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return 0;
}

static void stop_hammers(void *arg)
{
	(void)arg;
	atomic_store(&hammer_stop, 1);
}

/* The situation that used to leave a forked child blocked until its time
 * limit: threads parse through the sandbox while other threads hold
 * iconv's and malloc's locks again and again. Every parse must succeed,
 * and nothing is left running once the sandbox is shut down. */
TEST(mime_sandbox_threads_beside_iconv)
{
	static struct mailgw_mime_msg *expected;
	struct latin9_job jobs[3];
	unsigned long rounds[3] = { 0 };
	pthread_t parsers[3], hammers[3];
	pid_t pids[16];
	int status;
	h_setup();
	test_defer(free_msg, &expected);
	CHECK_OK(mailgw_mime_parse(latin9_msg, sizeof(latin9_msg) - 1, NULL, &expected));
	CHECK_STR(expected->subject, "Reçu €");
	CHECK_STR(expected->body, "Coût : 500 €");

	for (int i = 0; i < 3; i++)
		CHECK_INT_IDX(pthread_create(&hammers[i], NULL, hammer_thread, &rounds[i]), 0, i);
	test_defer(stop_hammers, NULL); /* also when a check below fails */
	for (int i = 0; i < 3; i++) {
		jobs[i] = (struct latin9_job){ expected, 0, 0 };
		CHECK_INT_IDX(pthread_create(&parsers[i], NULL, latin9_thread, &jobs[i]), 0, i);
	}
	for (int i = 0; i < 3; i++)
		pthread_join(parsers[i], NULL);
	atomic_store(&hammer_stop, 1);
	for (int i = 0; i < 3; i++)
		pthread_join(hammers[i], NULL);
	for (int i = 0; i < 3; i++) {
		CHECK_INT_IDX(jobs[i].wrong, 0, i);
		CHECK_INT_IDX(jobs[i].parsed, 25, i);
		CHECK_IDX(rounds[i] > 0, i);
	}

	mailgw_sandbox_shutdown();
	struct mailgw_sandbox_stats st;
	mailgw_sandbox_stats(&st);
	CHECK_INT(st.running, 0);
	CHECK(st.started >= 1);
	CHECK_INT(st.stopped, st.started);
	CHECK_INT(children(pids, 16), 0);
	CHECK_INT(waitpid(-1, &status, WNOHANG), -1);
	CHECK_INT(errno, ECHILD);
}

static int parse_ok(const char *raw, size_t len, const struct mailgw_mime_limits *lim,
		    struct mailgw_mime_msg **m)
{
	struct mailgw_sandbox_outcome o;
	mailgw_mime_free(*m);
	*m = NULL;
	int rc = mailgw_sandbox_parse(raw, len, lim, m, &o);
	if (!rc && o.verdict != MAILGW_SANDBOX_PARSED)
		fprintf(stderr, "  quarantine: %s\n", o.reason);
	return !rc && o.verdict == MAILGW_SANDBOX_PARSED;
}

/* One worker serves MAILGW_SANDBOX_WORKER_MESSAGES messages, then a new
 * one takes over; so after a crash, and after a worker killed from outside
 * while idle. Limits changed between calls are honoured. Shut down, the
 * sandbox leaves no process behind, not even a zombie. */
TEST(mime_sandbox_worker_restarts)
{
	static struct mailgw_mime_msg *m;
	struct mailgw_sandbox_stats st0, st;
	struct mailgw_sandbox_outcome o;
	struct mailgw_mime_limits lim;
	pid_t pids[16];
	int status;
	size_t len;
	h_setup();
	test_defer(free_msg, &m);
	const char *raw = corpus("plain-utf8.eml", &len);
	CHECK(raw != NULL);
	mailgw_sandbox_stats(&st0);

	CHECK(parse_ok(raw, len, NULL, &m));
	CHECK_STR(m->subject, "Candidature — Centre social Les Tilleuls");
	mailgw_sandbox_stats(&st);
	CHECK_INT(st.started, st0.started + 1);
	CHECK_INT(st.running, 1);
	CHECK_INT(children(pids, 16), 1);
	pid_t first = pids[0];

	for (int i = 1; i < MAILGW_SANDBOX_WORKER_MESSAGES; i++)
		CHECK_IDX(parse_ok(raw, len, NULL, &m), i);
	mailgw_sandbox_stats(&st);
	CHECK_INT(st.started, st0.started + 1);
	CHECK_INT(st.stopped, st0.stopped + 1);
	CHECK_INT(st.running, 0);
	CHECK_INT(children(pids, 16), 0);
	CHECK(parse_ok(raw, len, NULL, &m));
	mailgw_sandbox_stats(&st);
	CHECK_INT(st.started, st0.started + 2);
	CHECK_INT(children(pids, 16), 1);
	CHECK(pids[0] != first);

	/* The same worker applies each request's own limits. */
	mailgw_mime_limits_default(&lim);
	lim.max_body = 10;
	CHECK(parse_ok(raw, len, &lim, &m));
	CHECK(m->warnings & MAILGW_MIME_W_TRUNCATED);
	CHECK(m->body_len <= 10);
	CHECK(parse_ok(raw, len, NULL, &m));
	CHECK(!(m->warnings & MAILGW_MIME_W_TRUNCATED));
	CHECK(m->body_len > 10);
	mailgw_sandbox_stats(&st);
	CHECK_INT(st.started, st0.started + 2);

	/* A crash ends the worker; the next message gets a new one. */
	mailgw_mime_limits_default(&lim);
	lim.test_fault = MAILGW_SANDBOX_FAULT_CRASH;
	mailgw_mime_free(m);
	m = NULL;
	CHECK_OK(mailgw_sandbox_parse(raw, len, &lim, &m, &o));
	CHECK_INT(o.verdict, MAILGW_SANDBOX_QUARANTINE);
	CHECK(strstr(o.reason, "planté") != NULL);
	mailgw_sandbox_stats(&st);
	CHECK_INT(st.running, 0);
	CHECK_INT(children(pids, 16), 0);
	CHECK(parse_ok(raw, len, NULL, &m));
	mailgw_sandbox_stats(&st);
	CHECK_INT(st.started, st0.started + 3);

	/* Killed while idle (an administrator, the OOM killer): the next
	 * message is not blamed, a new worker parses it. */
	CHECK_INT(children(pids, 16), 1);
	CHECK_INT(kill(pids[0], SIGKILL), 0);
	CHECK(wait_ended(pids[0]));
	CHECK(parse_ok(raw, len, NULL, &m));
	mailgw_sandbox_stats(&st);
	CHECK_INT(st.started, st0.started + 4);

	mailgw_sandbox_shutdown();
	mailgw_sandbox_stats(&st);
	CHECK_INT(st.running, 0);
	CHECK_INT(st.stopped - st0.stopped, st.started - st0.started);
	CHECK_INT(children(pids, 16), 0);
	CHECK_INT(waitpid(-1, &status, WNOHANG), -1);
	CHECK_INT(errno, ECHILD);
}

/* No worker can start (no descriptor left for its socket): RELAIS_EIO, so
 * that the gateway tries again later; parsing works again afterwards. */
TEST(mime_sandbox_no_worker_is_eio)
{
	static struct mailgw_mime_msg *m;
	struct mailgw_sandbox_outcome o;
	struct rlimit rl, low;
	size_t len;
	h_setup();
	test_defer(free_msg, &m);
	const char *raw = corpus("plain-utf8.eml", &len);
	CHECK(raw != NULL);
	mailgw_sandbox_shutdown();
	int lowest = dup(0);
	CHECK(lowest >= 0);
	close(lowest);
	CHECK_INT(getrlimit(RLIMIT_NOFILE, &rl), 0);
	low = rl;
	low.rlim_cur = (rlim_t)lowest;
	CHECK_INT(setrlimit(RLIMIT_NOFILE, &low), 0);
	m = (struct mailgw_mime_msg *)&o; /* must be reset to NULL */
	int rc = mailgw_sandbox_parse(raw, len, NULL, &m, &o);
	CHECK_INT(setrlimit(RLIMIT_NOFILE, &rl), 0);
	CHECK_INT(rc, RELAIS_EIO);
	CHECK(m == NULL);
	CHECK(parse_ok(raw, len, NULL, &m));
}

/* The worker's marker is not reachable by accident: the right argv with a
 * terminal or a file as input is refused with a French message. */
TEST(mime_sandbox_marker_needs_socket)
{
	static char *const argv[] = { (char *)"relais-mime-sandbox", (char *)"--mailgw-sandbox-worker-v1",
				      NULL };
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int status;
	h_setup();
	CHECK_INT(posix_spawn_file_actions_init(&fa), 0);
	CHECK_INT(posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0), 0);
	CHECK_INT(posix_spawn_file_actions_addopen(&fa, 2, h_path("stderr.txt"), O_WRONLY | O_CREAT, 0600), 0);
	int rc = posix_spawn(&pid, "/proc/self/exe", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	CHECK_INT(rc, 0);
	CHECK_INT(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status));
	CHECK_INT(WEXITSTATUS(status), 2);
	size_t len;
	const char *err = h_read_file(h_path("stderr.txt"), &len);
	CHECK(err != NULL);
	CHECK(strstr(err, "ne se lance pas à la main") != NULL);
}
