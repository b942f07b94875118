/*
 * Tests of the answers to senders: which messages may be answered, the
 * rejection rate limit, and built answers parsed back with the gateway's
 * own MIME parser.
 */
#include <stdlib.h>
#include <string.h>
#include "../mailgw/mime.h"
#include "../mailgw/reply.h"
#include "test.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char ordinary[] =
	"From: =?UTF-8?Q?H=C3=A9l=C3=A8ne_Dupr=C3=A9?= <helene@mjc-plateau.fr>\r\n"
	"To: relais@promeneurs43.fr\r\n"
	"Subject: Candidature\r\n"
	"Message-ID: <orig-1@mjc-plateau.fr>\r\n"
	"Date: Mon, 23 Nov 2026 10:00:00 +0100\r\n"
	"\r\n"
	"Bonjour, voici notre candidature.\r\n";

/* "To: <addr>" as the answer's header ends, in a static buffer. */
static const char *to_line(const char *addr)
{
	static char line[320];
	snprintf(line, sizeof(line), "<%s>\r\n", addr);
	return line;
}

TEST(reply_allowed_table)
{
	static const struct {
		const char *headers; /* put before the ordinary message */
		const char *subject; /* NULL: "Candidature" */
		const char *from;    /* NULL: helene@mjc-plateau.fr */
		int allowed;
	} cases[] = {
		{ "", NULL, NULL, 1 },
		{ "Auto-Submitted: no\r\n", NULL, NULL, 1 },
		{ "Auto-Submitted: auto-replied\r\n", NULL, NULL, 0 },
		{ "Auto-Submitted: Auto-Generated\r\n", NULL, NULL, 0 },
		{ "Precedence: bulk\r\n", NULL, NULL, 0 },
		{ "Precedence: List\r\n", NULL, NULL, 0 },
		{ "Precedence: junk\r\n", NULL, NULL, 0 },
		{ "Precedence: normal\r\n", NULL, NULL, 1 },
		{ "X-Autoreply: yes\r\n", NULL, NULL, 0 },
		{ "X-Autorespond: yes\r\n", NULL, NULL, 0 },
		{ "Return-Path: <>\r\n", NULL, NULL, 0 },
		{ "Return-Path: <helene@mjc-plateau.fr>\r\n", NULL, NULL, 1 },
		{ "", "Absence du bureau", NULL, 0 },
		{ "", "ABSENCE DU BUREAU : de retour lundi", NULL, 0 },
		{ "", "=?UTF-8?Q?R=C3=A9ponse_automatique=C2=A0:_Candidature?=", NULL, 0 },
		{ "", "Reponse automatique: Candidature", NULL, 0 },
		{ "", "=?ISO-8859-1?Q?R=C9PONSE_AUTOMATIQUE?=", NULL, 0 },
		{ "", "Absent", NULL, 0 },
		{ "", "Absente jusqu'au 3 janvier", NULL, 0 },
		{ "", "Auto: Candidature", NULL, 0 },
		{ "", "Automatic reply: Candidature", NULL, 0 },
		{ "", "Out of Office: Candidature", NULL, 0 },
		{ "", "[Out of office] back Monday", NULL, 0 },
		{ "", "AutoReply", NULL, 0 },
		{ "", "Re: Bilan 2025, absentéisme des jeunes", NULL, 1 },
		{ "", "Candidature Automates et robots", NULL, 1 },
		{ "", NULL, "MAILER-DAEMON@mx.example.org", 0 },
		{ "", NULL, "postmaster@example.org", 0 },
		{ "", NULL, "No-Reply@example.org", 0 },
		{ "", NULL, "noreply@example.org", 0 },
		{ "", NULL, "ne-pas-repondre@caf.fr", 0 },
		{ "", NULL, "NePasRepondre@caf.fr", 0 },
		{ "", NULL, "noreply+bounce@example.org", 0 },
		{ "", NULL, "noreplyer@example.org", 1 },
		{ "", NULL, "postmaster-adjoint@example.org", 1 },
		{ "", NULL, "", 0 },
	};
	size_t i;

	for (i = 0; i < N(cases); i++) {
		struct mailgw_mime_msg *m = NULL;
		char raw[2048], why[256];
		int len, ok;

		if (cases[i].from && !*cases[i].from)
			len = snprintf(raw, sizeof(raw), "%sTo: relais@promeneurs43.fr\r\n"
				       "Subject: Candidature\r\n\r\nBonjour\r\n", cases[i].headers);
		else
			len = snprintf(raw, sizeof(raw),
				       "%sFrom: Quelqu'un <%s>\r\nTo: relais@promeneurs43.fr\r\n"
				       "Subject: %s\r\nMessage-ID: <x%zu@example.org>\r\n\r\nBonjour\r\n",
				       cases[i].headers,
				       cases[i].from ? cases[i].from : "helene@mjc-plateau.fr",
				       cases[i].subject ? cases[i].subject : "Candidature", i);
		CHECK_IDX(len > 0 && (size_t)len < sizeof(raw), i);
		CHECK_INT_IDX(mailgw_mime_parse(raw, (size_t)len, NULL, &m), 0, i);
		why[0] = 'x';
		why[1] = '\0';
		ok = mailgw_reply_allowed(m, why, sizeof(why));
		mailgw_mime_free(m);
		CHECK_INT_IDX(ok, cases[i].allowed, i);
		/* A refusal always says why, in a sentence; an answer says nothing. */
		CHECK_INT_IDX(strlen(why) > 10, !cases[i].allowed, i);
	}
	CHECK_INT(mailgw_reply_allowed(NULL, NULL, 0), 0);
}

/* From headers as senders' software writes them: the answer goes to one
 * well-formed address, the first, or to nobody (with a reason). */
TEST(reply_from_one_address_or_none)
{
	static const struct {
		const char *from;     /* the From value */
		const char *rcpt;     /* the address answered; NULL: none */
		const char *why;      /* a word of the reason when none */
		unsigned warnings;    /* MAILGW_MIME_W_FROM_* the parse sets */
	} cases[] = {
		{ "helene@mjc-plateau.fr", "helene@mjc-plateau.fr", NULL, 0 },
		{ "<helene@mjc-plateau.fr>", "helene@mjc-plateau.fr", NULL, 0 },
		{ "=?UTF-8?Q?H=C3=A9l=C3=A8ne?= <helene@mjc-plateau.fr>", "helene@mjc-plateau.fr", NULL, 0 },
		{ "helene@mjc-plateau.fr (Hélène)", "helene@mjc-plateau.fr", NULL, 0 },
		{ "H <helene@mjc-plateau.fr>, J <jules@mjc-plateau.fr>", "helene@mjc-plateau.fr", NULL,
		  MAILGW_MIME_W_FROM_MANY },
		{ "helene@mjc-plateau.fr,jules@mjc-plateau.fr", "helene@mjc-plateau.fr", NULL,
		  MAILGW_MIME_W_FROM_MANY },
		/* No comma: libetpan glues the two into "helene@mjc-plateau.frjules@…". */
		{ "helene@mjc-plateau.fr jules@mjc-plateau.fr", NULL, "ambiguïté",
		  MAILGW_MIME_W_FROM_UNSURE },
		{ "helene@mjc-plateau.fr jules.example", NULL, "ambiguïté", MAILGW_MIME_W_FROM_UNSURE },
		/* libetpan drops the space of a quoted local part. */
		{ "\"h b\"@mjc-plateau.fr", NULL, "ambiguïté", MAILGW_MIME_W_FROM_UNSURE },
		{ "\"hb\"@mjc-plateau.fr", NULL, "valide", 0 },
		{ "andré@mjc-plateau.fr", NULL, "SMTPUTF8", 0 },
		{ "André <andré@mjc-plateau.fr>", NULL, "SMTPUTF8", 0 },
		{ "helene@mjc-pläteau.fr", NULL, "SMTPUTF8", 0 },
		{ "helene", NULL, "valide", 0 },
		{ "helene@[192.0.2.1]", NULL, "valide", 0 },
		{ "helene.@mjc-plateau.fr", NULL, "valide", 0 },
		{ "helene@-mjc.fr", NULL, "valide", 0 },
	};
	for (size_t i = 0; i < N(cases); i++) {
		struct mailgw_mime_msg *m = NULL;
		struct mailgw_result r = { .outcome = MAILGW_QUARANTINE, .kind = FORM_UNKNOWN };
		struct buf out = BUF_INIT(1u << 20);
		char raw[1024], why[256] = "";
		int len = snprintf(raw, sizeof(raw), "From: %s\r\nTo: relais@promeneurs43.fr\r\n"
				   "Subject: Question\r\nMessage-ID: <f%zu@example.org>\r\n\r\n"
				   "Bonjour\r\n", cases[i].from, i);
		CHECK_IDX(len > 0 && (size_t)len < sizeof(raw), i);
		CHECK_INT_IDX(mailgw_mime_parse(raw, (size_t)len, NULL, &m), 0, i);
		unsigned w = m->warnings & (MAILGW_MIME_W_FROM_MANY | MAILGW_MIME_W_FROM_UNSURE);
		int ok = mailgw_reply_allowed(m, why, sizeof(why));
		int built = mailgw_reply_build(m, &r, "relais@promeneurs43.fr", NULL, 1795000000000LL,
					       &out);
		int to_ok = !built && strstr(buf_str(&out), cases[i].rcpt ?
					     to_line(cases[i].rcpt) : "\n") != NULL;
		const char *addr = m->from_addr ? m->from_addr : "(null)";
		int addr_ok = !cases[i].rcpt || !strcmp(addr, cases[i].rcpt);
		mailgw_mime_free(m);
		buf_release(&out);
		CHECK_INT_IDX(w, cases[i].warnings, i);
		CHECK_INT_IDX(ok, cases[i].rcpt != NULL, i);
		CHECK_IDX(addr_ok, i);
		if (cases[i].rcpt) {
			CHECK_INT_IDX(built, 0, i);
			CHECK_IDX(to_ok, i);
		} else {
			CHECK_INT_IDX(built, RELAIS_EINVAL, i);
			CHECK_IDX(strstr(why, cases[i].why) != NULL, i);
		}
	}
	CHECK_INT(mailgw_reply_address_ok(NULL, NULL, 0), 0);
	CHECK_INT(mailgw_reply_address_ok("a@b", NULL, 0), 1);
}

TEST(reply_allowed_report_and_struct_flags)
{
	static const char report[] =
		"From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\n"
		"To: relais@promeneurs43.fr\r\nSubject: Undelivered Mail\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n"
		"\r\n--b\r\nContent-Type: text/plain\r\n\r\nlost\r\n"
		"--b\r\nContent-Type: message/delivery-status\r\n\r\nAction: failed\r\n--b--\r\n";
	struct mailgw_mime_msg *m = NULL;
	char why[256];

	CHECK_OK(mailgw_mime_parse(report, sizeof(report) - 1, NULL, &m));
	CHECK_INT(m->delivery_report, 1);
	/* A report from an ordinary-looking sender is still not answered. */
	free(m->from_addr);
	m->from_addr = strdup("alice@example.org");
	CHECK(m->from_addr);
	CHECK_INT(mailgw_reply_allowed(m, why, sizeof(why)), 0);
	CHECK(strstr(why, "multipart/report") != NULL);
	m->delivery_report = 0;
	free(m->subject);
	m->subject = strdup("Candidature");
	CHECK(m->subject);
	CHECK_INT(mailgw_reply_allowed(m, why, sizeof(why)), 1);
	/* why is cut, never overrun. */
	m->x_autoreply = 1;
	CHECK_INT(mailgw_reply_allowed(m, why, 5), 0);
	CHECK_INT(strlen(why), 4);
	mailgw_mime_free(m);
}

TEST(reply_rate_limit)
{
	static const struct {
		long long last, now;
		int ok;
	} cases[] = {
		{ 0, 1000, 1 },
		{ -1, 1000, 1 },
		{ 1000, 1000, 0 },
		{ 1000, 1000 + 3600000, 0 },
		{ 1000, 1000 + MAILGW_REPLY_RATE_MS - 1, 0 },
		{ 1000, 1000 + MAILGW_REPLY_RATE_MS, 1 },
		{ 1000, 1000 + 3 * MAILGW_REPLY_RATE_MS, 1 },
		{ 5000000, 1000, 0 }, /* clock went back: wait */
	};
	size_t i;

	for (i = 0; i < N(cases); i++)
		CHECK_INT_IDX(mailgw_reply_rate_ok(cases[i].last, cases[i].now), cases[i].ok, i);
}

/* Every line ends in CRLF, none passes max characters (CRLF not counted). */
static int lines_ok(const char *s, size_t len, size_t max, size_t from)
{
	size_t i, col = 0;

	for (i = from; i < len; i++) {
		if (s[i] == '\n')
			return 0; /* an LF is consumed below, after its CR */
		if (s[i] == '\r') {
			if (i + 1 >= len || s[i + 1] != '\n')
				return 0;
			i++;
			col = 0;
			continue;
		}
		if (++col > max)
			return 0;
	}
	return col == 0;
}

static struct mailgw_mime_msg *parse_text(const char *s, size_t len)
{
	struct mailgw_mime_msg *m = NULL;

	if (mailgw_mime_parse(s, len, NULL, &m))
		return NULL;
	return m;
}

static void free_msg(void *m)
{
	mailgw_mime_free(m);
}

static void free_buf(void *b)
{
	buf_release(b);
}

static struct mailgw_mime_msg *original(const char *raw)
{
	struct mailgw_mime_msg *m = parse_text(raw, strlen(raw));

	if (m)
		test_defer(free_msg, m);
	return m;
}

TEST(reply_build_recorded)
{
	static const char raw[] =
		"From: =?UTF-8?Q?H=C3=A9l=C3=A8ne_Dupr=C3=A9?= <helene@mjc-plateau.fr>\r\n"
		"To: relais@promeneurs43.fr\r\n"
		"Subject: =?UTF-8?Q?Candidature_=C3=A9t=C3=A9_=E2=80=94_MJC_du_Plateau,_Yssingeaux?=\r\n"
		"Message-ID: <orig-2@mjc-plateau.fr>\r\n"
		"In-Reply-To: <r2@promeneurs43.fr>\r\n"
		"References: <r1@promeneurs43.fr> <r2@promeneurs43.fr>\r\n"
		"\r\nBonjour\r\n";
	static struct buf out = BUF_INIT(1 << 20);
	char *recs[] = {
		(char *)"Structure « MJC du Plateau » (Yssingeaux) créée.",
		(char *)"Promeneur « Hélène Dupré » créé, avec un texte bien plus long que "
			"soixante-seize caractères pour vérifier le découpage des lignes en "
			"quoted-printable = et les signes égal.",
	};
	struct mailgw_result r;
	struct mailgw_mime_msg *orig = original(raw), *back;
	size_t i;

	test_defer(free_buf, &out);
	CHECK(orig);
	memset(&r, 0, sizeof(r));
	r.outcome = MAILGW_RECORDED;
	r.kind = FORM_CANDIDATURE;
	r.records = recs;
	r.nrecords = N(recs);
	CHECK_OK(mailgw_reply_build(orig, &r, "relais@promeneurs43.fr",
				    "Réseau des Promeneurs du Net de Haute-Loire",
				    1795521600000LL, &out));
	/* Headers under 78, body lines (quoted-printable) under 76, CRLF only. */
	{
		const char *hend = strstr(buf_str(&out), "\r\n\r\n");
		CHECK(hend);
		CHECK(lines_ok(buf_str(&out), (size_t)(hend - buf_str(&out)) + 2, 78, 0));
		CHECK(lines_ok(buf_str(&out), out.len, 76, (size_t)(hend - buf_str(&out)) + 4));
	}
	CHECK(strstr(buf_str(&out), "\r\nDate: Tue, 24 Nov 2026 12:00:00 +0000\r\n") != NULL);
	CHECK(strstr(buf_str(&out), "\r\nMessage-ID: <") != NULL);
	CHECK(strstr(buf_str(&out), "@promeneurs43.fr>\r\n") != NULL);
	CHECK(strstr(buf_str(&out), "Content-Transfer-Encoding: quoted-printable\r\n") != NULL);
	CHECK(strstr(buf_str(&out), "Content-Type: text/plain; charset=UTF-8\r\n") != NULL);

	back = parse_text(buf_str(&out), out.len);
	CHECK(back);
	test_defer(free_msg, back);
	CHECK_INT(back->status, MAILGW_MIME_OK);
	CHECK_STR(back->from_addr, "relais@promeneurs43.fr");
	CHECK_STR(back->from_name, "Réseau des Promeneurs du Net de Haute-Loire");
	CHECK_STR(back->subject, "Re: Candidature été — MJC du Plateau, Yssingeaux");
	CHECK_STR(back->in_reply_to, "orig-2@mjc-plateau.fr");
	CHECK_STR(back->references, "r1@promeneurs43.fr r2@promeneurs43.fr orig-2@mjc-plateau.fr");
	CHECK_STR(back->auto_submitted, "auto-replied");
	CHECK(back->message_id && strstr(back->message_id, "@promeneurs43.fr"));
	CHECK(strcmp(back->message_id, orig->message_id));
	CHECK(back->date_ms == 1795521600000LL);
	for (i = 0; i < N(recs); i++)
		CHECK_IDX(strstr(back->body, recs[i]) != NULL, i);
	CHECK(strstr(back->body, "enregistré") != NULL);
	/* The To header names the original sender, accents and all. */
	CHECK(strstr(buf_str(&out), "<helene@mjc-plateau.fr>\r\n") != NULL);
	CHECK(strstr(buf_str(&out), "\r\nTo: =?UTF-8?B?") != NULL);
}

TEST(reply_build_rejected_with_blank_form)
{
	static const enum form_kind kinds[] = { FORM_CANDIDATURE, FORM_BILAN };
	char *probs[] = {
		(char *)"Champ obligatoire manquant : Courriel (promeneur).",
		(char *)"Téléphone (structure) : « 12 » n'est pas un numéro de téléphone valide.",
	};
	struct mailgw_mime_msg *orig = original(ordinary);
	size_t k, i;

	CHECK(orig);
	for (k = 0; k < N(kinds); k++) {
		struct buf out = BUF_INIT(1 << 20), blank = BUF_INIT(1 << 20);
		struct mailgw_mime_msg *back;
		struct mailgw_result r;
		const char *line;
		int ok = 1;

		memset(&r, 0, sizeof(r));
		r.outcome = MAILGW_REJECTED;
		r.kind = kinds[k];
		r.problems = probs;
		r.nproblems = N(probs);
		if (mailgw_reply_build(orig, &r, "relais@promeneurs43.fr", "Relais", 1000, &out) ||
		    form_blank(kinds[k], &blank))
			ok = 0;
		back = ok ? parse_text(buf_str(&out), out.len) : NULL;
		CHECK_IDX(back, k);
		CHECK_INT_IDX(lines_ok(buf_str(&out), out.len, 998, 0), 1, k);
		CHECK_IDX(strstr(buf_str(&out), "\r\n\r\n") != NULL, k);
		CHECK_IDX(lines_ok(buf_str(&out), out.len, 76,
				   (size_t)(strstr(buf_str(&out), "\r\n\r\n") - buf_str(&out)) + 4), k);
		CHECK_STR_IDX(back->subject, "Re: Candidature", k);
		CHECK_STR_IDX(back->from_name, "Relais", k);
		for (i = 0; i < N(probs); i++)
			CHECK_IDX(strstr(back->body, probs[i]) != NULL, k * 10 + i);
		/* Every line of the blank form comes back, labels included. */
		line = buf_str(&blank);
		for (i = 0; *line; i++) {
			size_t n = strcspn(line, "\n");
			char piece[512];
			snprintf(piece, sizeof(piece), "%.*s", (int)(n < 500 ? n : 500), line);
			/* Trailing spaces may be QP-encoded then decoded: compare trimmed. */
			while (*piece && piece[strlen(piece) - 1] == ' ')
				piece[strlen(piece) - 1] = '\0';
			if (*piece && !strstr(back->body, piece)) {
				fprintf(stderr, "  missing form line: %s\n", piece);
				ok = 0;
			}
			line += n + (line[n] == '\n');
		}
		CHECK_IDX(i > 5, k);
		CHECK_INT_IDX(ok, 1, k);
		CHECK_IDX(form_detect(back->body) == kinds[k], k);
		mailgw_mime_free(back);
		buf_release(&out);
		buf_release(&blank);
	}
}

TEST(reply_build_quarantine_and_tnef)
{
	struct mailgw_mime_msg *orig = original(ordinary);
	struct buf out = BUF_INIT(1 << 20);
	struct mailgw_mime_msg *back;
	struct mailgw_result r;
	int t;

	CHECK(orig);
	test_defer(free_buf, &out);
	for (t = 0; t < 2; t++) {
		memset(&r, 0, sizeof(r));
		r.outcome = MAILGW_QUARANTINE;
		snprintf(r.reason, sizeof(r.reason), "Aucun formulaire reconnu.");
		orig->tnef = t;
		buf_reset(&out);
		CHECK_OK(mailgw_reply_build(orig, &r, "relais@promeneurs43.fr", NULL, 1000, &out));
		back = parse_text(buf_str(&out), out.len);
		CHECK_IDX(back, t);
		CHECK_IDX(strstr(back->body, "coordinat") != NULL, t);
		CHECK_IDX(strstr(back->body, "Aucun formulaire reconnu.") != NULL, t);
		CHECK_INT_IDX(strstr(back->body, "winmail.dat") != NULL, t, t);
		CHECK_INT_IDX(strstr(back->body, "Texte brut") != NULL, t, t);
		CHECK_STR_IDX(back->from_addr, "relais@promeneurs43.fr", t);
		mailgw_mime_free(back);
	}
}

TEST(reply_build_nothing_to_send)
{
	static const struct {
		int outcome;
		const char *addr;
		int rc;
	} cases[] = {
		{ MAILGW_IGNORED, "relais@promeneurs43.fr", RELAIS_EINVAL },
		{ MAILGW_DUPLICATE, "relais@promeneurs43.fr", RELAIS_EINVAL },
		{ MAILGW_RECORDED, "relais", RELAIS_EINVAL },
		{ MAILGW_RECORDED, "relais@", RELAIS_EINVAL },
		{ MAILGW_RECORDED, "relais@promeneurs43.fr", 0 },
	};
	struct mailgw_mime_msg *orig = original(ordinary);
	size_t i;

	CHECK(orig);
	for (i = 0; i < N(cases); i++) {
		struct buf out = BUF_INIT(1 << 20);
		struct mailgw_result r;
		int rc;

		memset(&r, 0, sizeof(r));
		r.outcome = (enum mailgw_outcome)cases[i].outcome;
		rc = mailgw_reply_build(orig, &r, cases[i].addr, "Relais", 1000, &out);
		buf_release(&out);
		CHECK_INT_IDX(rc, cases[i].rc, i);
	}
	/* Without a From address there is no one to answer. */
	free(orig->from_addr);
	orig->from_addr = NULL;
	{
		struct buf out = BUF_INIT(1 << 20);
		struct mailgw_result r;
		int rc;
		memset(&r, 0, sizeof(r));
		r.outcome = MAILGW_RECORDED;
		rc = mailgw_reply_build(orig, &r, "relais@promeneurs43.fr", "Relais", 1000, &out);
		buf_release(&out);
		CHECK_INT(rc, RELAIS_EINVAL);
	}
	/* The cap on out is honoured. */
	{
		struct buf out = BUF_INIT(100);
		struct mailgw_result r;
		int rc;
		orig->from_addr = strdup("helene@mjc-plateau.fr");
		CHECK(orig->from_addr);
		memset(&r, 0, sizeof(r));
		r.outcome = MAILGW_RECORDED;
		rc = mailgw_reply_build(orig, &r, "relais@promeneurs43.fr", "Relais", 1000, &out);
		buf_release(&out);
		CHECK_INT(rc, RELAIS_ETOOBIG);
	}
}

TEST(reply_header_injection)
{
	static const char raw[] =
		"From: Eve <eve@example.org>\r\nTo: relais@promeneurs43.fr\r\n"
		"Subject: Candidature\r\nMessage-ID: <id-3@example.org>\r\n\r\nBonjour\r\n";
	struct mailgw_mime_msg *orig = original(raw), *back;
	struct buf out = BUF_INIT(1 << 20);
	struct mailgw_result r;
	const char *hend;
	size_t i;

	CHECK(orig);
	test_defer(free_buf, &out);
	/* Values as a hostile parse might leave them: CR/LF inside. */
	free(orig->subject);
	orig->subject = strdup("Candidature\r\nBcc: victime@example.org\r\nX-Evil: 1");
	free(orig->from_name);
	orig->from_name = strdup("Eve\r\nCc: autre@example.org");
	free(orig->message_id);
	orig->message_id = strdup("id-3@example.org>\r\nX-Evil2: <x");
	free(orig->references);
	orig->references = strdup("a@b\r\nX-Evil3: 1");
	CHECK(orig->subject && orig->from_name && orig->message_id && orig->references);
	memset(&r, 0, sizeof(r));
	r.outcome = MAILGW_QUARANTINE;
	CHECK_OK(mailgw_reply_build(orig, &r, "relais@promeneurs43.fr", "Relais\r\nBcc: x@y",
				    1000, &out));
	hend = strstr(buf_str(&out), "\r\n\r\n");
	CHECK(hend);
	/* No header line starts with an injected name. */
	for (i = 0; i < (size_t)(hend - buf_str(&out)); i++) {
		const char *p = buf_str(&out) + i;
		if (i == 0 || (p[-1] == '\n')) {
			CHECK_IDX(strncasecmp(p, "Bcc:", 4), (int)i);
			CHECK_IDX(strncasecmp(p, "Cc:", 3), (int)i);
			CHECK_IDX(strncasecmp(p, "X-Evil", 6), (int)i);
		}
	}
	back = parse_text(buf_str(&out), out.len);
	CHECK(back);
	test_defer(free_msg, back);
	CHECK_STR(back->subject, "Re: Candidature Bcc: victime@example.org X-Evil: 1");
	CHECK_STR(back->from_addr, "relais@promeneurs43.fr");
	CHECK(lines_ok(buf_str(&out), (size_t)(hend - buf_str(&out)) + 2, 78, 0));
}

TEST(reply_long_subject_folded)
{
	static const struct {
		const char *subject;
	} cases[] = {
		{ "Candidature de la Maison des jeunes et de la culture du Plateau, "
		  "Yssingeaux, pour deux promeneurs, rédigée après la réunion de novembre "
		  "avec l'équipe départementale et les partenaires éducatifs du territoire" },
		{ "Candidature de la Maison des jeunes et de la culture du Plateau, "
		  "Yssingeaux, pour deux promeneurs, redigee apres la reunion de novembre "
		  "avec l'equipe departementale et les partenaires educatifs du territoire" },
		{ "Re: RE: re:  Bilan =?x? 2025" },
		{ "€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€" },
	};
	static const char *const want[] = {
		NULL, NULL, "Re: RE: re: Bilan =?x? 2025", NULL,
	};
	size_t i;

	for (i = 0; i < N(cases); i++) {
		struct mailgw_mime_msg *orig = original(ordinary), *back;
		struct buf out = BUF_INIT(1 << 20);
		struct mailgw_result r;
		char expect[1024];
		const char *hend;
		int rc;

		CHECK_IDX(orig, i);
		free(orig->subject);
		orig->subject = strdup(cases[i].subject);
		CHECK_IDX(orig->subject, i);
		memset(&r, 0, sizeof(r));
		r.outcome = MAILGW_RECORDED;
		rc = mailgw_reply_build(orig, &r, "relais@promeneurs43.fr", "Relais", 1000, &out);
		back = rc ? NULL : parse_text(buf_str(&out), out.len);
		hend = strstr(buf_str(&out), "\r\n\r\n");
		snprintf(expect, sizeof(expect), "Re: %s", cases[i].subject);
		if (!back || !hend || !lines_ok(buf_str(&out), (size_t)(hend - buf_str(&out)) + 2, 78, 0) ||
		    strcmp(back->subject, want[i] ? want[i] : expect)) {
			fprintf(stderr, "  got subject: %s\n%s\n", back ? back->subject : "(none)",
				buf_str(&out));
			rc = -100;
		}
		mailgw_mime_free(back);
		buf_release(&out);
		CHECK_INT_IDX(rc, 0, i);
	}
}
