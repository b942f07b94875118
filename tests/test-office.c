/*
 * test-office.c - office attachments read as tables and text
 * (mailgw/office.h), on files made by LibreOffice and on hostile ones
 * (tests/mail/make-office.py), then through the MIME worker and the
 * pipeline.
 */
#include <stdlib.h>
#include <string.h>
#include "../mailgw/mime.h"
#include "../mailgw/office.h"
#include "../mailgw/sandbox.h"
#include "harness.h"
#include "office-corpus.h"
#include "test.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct office_case {
	const char *file;
	int kind;
	const char *has[4];     /* substrings the text must hold */
	const char *lacks;      /* one it must not */
};

static void run_office_cases(const char *dir, const struct office_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct office_case *c = &cases[i];
		size_t len = 0;
		const char *data = h_read_file(h_strf("%s/%s", dir, c->file), &len);
		int kind = -1;
		char *out = NULL;
		size_t outlen = 0;
		CHECK_IDX(data != NULL, (int)i);
		CHECK_INT_IDX(mailgw_office_extract(c->file, "", (const unsigned char *)data, len, 0,
						    &kind, &out, &outlen),
			      0, (int)i);
		if (kind != c->kind)
			fprintf(stderr, "  %s: kind %d, text:\n%s\n", c->file, kind, out ? out : "");
		CHECK_INT_IDX(kind, c->kind, (int)i);
		CHECK_IDX(out != NULL && strlen(out) == outlen, (int)i);
		CHECK_IDX(outlen <= MAILGW_OFFICE_OUT_MAX, (int)i);
		for (size_t k = 0; k < N(c->has) && c->has[k]; k++) {
			if (!strstr(out, c->has[k]))
				fprintf(stderr, "  %s: no « %s » in:\n%s\n", c->file, c->has[k], out);
			CHECK_IDX(strstr(out, c->has[k]) != NULL, (int)i);
		}
		if (c->lacks)
			CHECK_IDX(strstr(out, c->lacks) == NULL, (int)i);
		free(out);
	}
}

TEST(office_real_files)
{
	static const struct office_case cases[] = {
		{ "bilans-2025-s1.xlsx", MAILGW_OFFICE_TABLE,
		  { "Structure;Année;Période;Jeunes connectés;Heures en ligne;Date d'envoi\n",
		    "CS du Lac;2025;1er semestre;120;12.5;2025-06-30\n",
		    "MJC du Plateau;2025;1er semestre;45;4;2025-07-01\n", NULL },
		  NULL },
		{ "bilans-2025-s1.ods", MAILGW_OFFICE_TABLE,
		  { "Structure;Année;Période;Jeunes connectés;Heures en ligne;Date d'envoi\n",
		    "CS du Lac;2025;1er semestre;120;12.5;2025-06-30\n",
		    "MJC du Plateau;2025;1er semestre;45;4;2025-07-01\n", NULL },
		  NULL },
		{ "candidature-sucs.docx", MAILGW_OFFICE_TEXT,
		  { "Nom de la structure : Foyer des Sucs 1\n", "Commune : Yssingeaux\n",
		    "Courriel : ines1@sucs.example\n", "Motivation : Être présente" },
		  "<" },
		{ "candidature-sucs2.odt", MAILGW_OFFICE_TEXT,
		  { "Nom de la structure : Foyer des Sucs 2\n", "Commune : Yssingeaux\n",
		    "Courriel : ines2@sucs.example\n", "Motivation : Être présente" },
		  "<" },
		{ "bilans-2025-s1.xls", MAILGW_OFFICE_REFUSED, { ".xlsx", NULL }, NULL },
		{ "bilan-excel.csv", MAILGW_OFFICE_NONE, { NULL }, NULL },
	};
	h_setup();
	const char *dir = office_corpus();
	CHECK(dir != NULL);
	for (size_t i = 0; i < N(cases); i++) {
		if (cases[i].kind != MAILGW_OFFICE_NONE)
			continue;
		/* Not an office file: nothing read, nothing returned. */
		size_t len = 0;
		const char *data = h_read_file(h_strf("%s/%s", dir, cases[i].file), &len);
		int kind = -1;
		char *out = (char *)"x";
		size_t outlen = 1;
		CHECK(data != NULL);
		CHECK_OK(mailgw_office_extract(cases[i].file, "application/vnd.ms-excel",
					       (const unsigned char *)data, len, 0, &kind, &out,
					       &outlen));
		CHECK_INT(kind, MAILGW_OFFICE_NONE);
		CHECK(out == NULL && outlen == 0);
	}
	run_office_cases(dir, cases, N(cases) - 1);
}

TEST(office_hostile_files)
{
	static const struct office_case cases[] = {
		{ "bombe.xlsx", MAILGW_OFFICE_REFUSED, { "64 Mio", NULL }, NULL },
		{ "rires.docx", MAILGW_OFFICE_REFUSED, { "DTD", NULL }, "lol" },
		/* 12,000 sheets of 50 MB: the first 16 only, a capped text. */
		{ "enorme.ods", MAILGW_OFFICE_TABLE, { "ligne de remplissage;", NULL }, NULL },
	};
	static const struct {
		const char *name, *type;
		const char *data;
		size_t len;
		const char *why;
	} made[] = {
		{ "bilan.xlsx", "", "PK\3\4garbage that is no zip at all", 34, "zip" },
		{ "bilan.docx", "", "plain text named like a document", 32, "bureautique" },
		{ "", "application/vnd.oasis.opendocument.text", "%PDF-1.4", 8, "bureautique" },
	};
	h_setup();
	const char *dir = office_corpus();
	CHECK(dir != NULL);
	run_office_cases(dir, cases, N(cases));
	for (size_t i = 0; i < N(made); i++) {
		int kind = -1;
		char *out = NULL;
		size_t outlen = 0;
		CHECK_OK(mailgw_office_extract(made[i].name, made[i].type,
					       (const unsigned char *)made[i].data, made[i].len, 0,
					       &kind, &out, &outlen));
		CHECK_INT_IDX(kind, MAILGW_OFFICE_REFUSED, (int)i);
		CHECK_IDX(out && strstr(out, made[i].why), (int)i);
		free(out);
	}
	/* A smaller cap is kept, and cut on a character boundary. */
	size_t len = 0;
	const char *data = h_read_file(h_strf("%s/enorme.ods", dir), &len);
	int kind;
	char *out;
	size_t outlen;
	CHECK(data != NULL);
	CHECK_OK(mailgw_office_extract("enorme.ods", "", (const unsigned char *)data, len, 1001,
				       &kind, &out, &outlen));
	CHECK_INT(kind, MAILGW_OFFICE_TABLE);
	/* Whole rows only: five of them. */
	CHECK(outlen <= 1001 && outlen > 800);
	free(out);
}

/* The worker reads the attachments; its answer carries what it read. */
TEST(office_through_the_worker)
{
	static const struct {
		const char *eml;
		int kind;
		const char *has;
	} cases[] = {
		{ "office-xlsx.eml", MAILGW_OFFICE_TABLE, "CS du Lac;2025;1er semestre;120" },
		{ "office-docx.eml", MAILGW_OFFICE_TEXT, "Commune : Yssingeaux" },
		{ "office-laughs.eml", MAILGW_OFFICE_REFUSED, "DTD" },
		{ "office-bomb.eml", MAILGW_OFFICE_REFUSED, "64 Mio" },
		{ "office-big.eml", MAILGW_OFFICE_TABLE, "ligne de remplissage" },
	};
	h_setup();
	const char *dir = office_corpus();
	CHECK(dir != NULL);
	for (size_t i = 0; i < N(cases); i++) {
		size_t len = 0;
		const char *raw = h_read_file(h_strf("%s/%s", dir, cases[i].eml), &len);
		struct mailgw_mime_msg *m = NULL;
		struct mailgw_sandbox_outcome o;
		CHECK_IDX(raw != NULL, (int)i);
		CHECK_OK(mailgw_sandbox_parse(raw, len, NULL, &m, &o));
		CHECK_INT_IDX(o.verdict, MAILGW_SANDBOX_PARSED, (int)i);
		CHECK_IDX(m && m->n_attachments == 1, (int)i);
		CHECK_INT_IDX(m->attachments[0].extract, cases[i].kind, (int)i);
		CHECK_IDX(strstr(m->attachments[0].extracted, cases[i].has) != NULL, (int)i);
		mailgw_mime_free(m);
	}
	/* An HTML body's table. */
	size_t len = 0;
	const char *raw = h_read_file(h_strf("%s/office-html.eml", dir), &len);
	struct mailgw_mime_msg *m = NULL;
	struct mailgw_sandbox_outcome o;
	CHECK(raw != NULL);
	CHECK_OK(mailgw_sandbox_parse(raw, len, NULL, &m, &o));
	CHECK(m != NULL);
	CHECK_STR(m->body_tables, "Structure;Année;Période;Jeunes connectés\n"
				  "MJC du Plateau;2024;2e semestre;1 050\n");
	mailgw_mime_free(m);
	mailgw_sandbox_shutdown();
}
