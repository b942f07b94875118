/*
 * test-fr.c - a review of the French of every message the programs can
 * print: the string literals of clients/, daemon/, mailgw/, model/, sync/,
 * net/ and common/ (SQL, comments and protocol words left out) are read
 * from the sources and checked for
 *   - a number followed by a plural word with no agreement ("%d lignes":
 *     « 1 lignes »), unless the number is a constant of two or more;
 *   - English words a library would print (strerror, "failed", "bytes"…);
 *   - « de » before a name that elision needs (util_de), and the helpers
 *     themselves.
 */
#include <dirent.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../common/util.h"
#include "harness.h"
#include "test.h"

/* Format strings whose number is a constant of two or more, or a sum that
 * never is one: their plural is right. "file:text" prefixes. */
static const char *const plural_ok[] = {
	"plus de %d profils",            /* PRESENCE_MAX */
	"dépasse %u octets",             /* the import's file cap */
	"plus de %zu octets",            /* a buffer's cap */
	"%\" PRIu64 \" jours",           /* durations shown in days only from 2 days */
	"de 1 à %d caractères",          /* a range */
	"au plus %d adresses",           /* CONFIG_MAX_PROXIES */
	"de 1 à %d destinataires",       /* a range */
	"(plus de %u octets)",           /* CONFIG_MAX_FILE */
	"(%zu octets, limite %u)",       /* over the limit: never one */
	"(%u ms)",                       /* a unit symbol */
	"au-delà de %zu octets",         /* a cap */
	"de %zu octets, au-delà",        /* over the cap: never one */
	"-%lld days",                    /* SQLite's date modifier, not French */
	"dépasse %d caractères",         /* MODEL_TEXT_MAX */
	"plus de %d bilans",             /* the table reader's cap */
	"(%d caractères au plus)",       /* TEXT_APPEND_MAX */
	"Voir les %zu demandes ouvertes", /* more than HOME_MAX */
};

/* Protocol words, not messages: HTTP reason phrases, JSON keys, mail
 * headers, the phrases of automatic mail the classifier looks for. */
static const char *const english_ok[] = {
	"Not Found", "Expectation Failed", "Internal Server Error", "Unknown",
	"X-Auto-Response-Suppress", "auto response", "auto-response", "error",
};

static int listed(const char *const *list, size_t n, const char *text)
{
	for (size_t i = 0; i < n; i++)
		if (strstr(text, list[i]))
			return 1;
	return 0;
}

struct review {
	regex_t plural, english, sql;
	int problems;
	size_t literals;
};

static void review_literal(struct review *rv, const char *file, int line, const char *t)
{
	rv->literals++;
	if (!regexec(&rv->sql, t, 0, NULL, 0))
		return;
	if (!regexec(&rv->plural, t, 0, NULL, 0) &&
	    !listed(plural_ok, sizeof(plural_ok) / sizeof(plural_ok[0]), t)) {
		fprintf(stderr, "  %s:%d: a number and a plural word without agreement: \"%s\"\n",
			file, line, t);
		rv->problems++;
	}
	if (!regexec(&rv->english, t, 0, NULL, 0) &&
	    !listed(english_ok, sizeof(english_ok) / sizeof(english_ok[0]), t)) {
		fprintf(stderr, "  %s:%d: English words: \"%s\"\n", file, line, t);
		rv->problems++;
	}
}

/* Reads the string literals of one C file, line by line (comments out). */
static void review_file(struct review *rv, const char *path)
{
	size_t len = 0;
	char *text = h_read_file(path, &len);
	int line = 1, in_comment = 0;
	if (!text)
		return;
	for (char *p = text; *p; p++) {
		if (*p == '\n') {
			line++;
			continue;
		}
		if (in_comment) {
			if (p[0] == '*' && p[1] == '/')
				in_comment = 0, p++;
			continue;
		}
		if (p[0] == '/' && p[1] == '*') {
			in_comment = 1;
			p++;
			continue;
		}
		if (p[0] == '/' && p[1] == '/') {
			while (p[1] && p[1] != '\n')
				p++;
			continue;
		}
		if (*p == '\'') { /* a character constant, not a string */
			p++;
			if (*p == '\\')
				p++;
			if (*p)
				p++;
			while (*p && *p != '\'' && *p != '\n')
				p++;
			if (!*p)
				break;
			continue;
		}
		if (*p != '"')
			continue;
		char *q = p + 1;
		while (*q && *q != '"' && *q != '\n')
			q += *q == '\\' && q[1] ? 2 : 1;
		char *lit = h_strf("%.*s", (int)(q - p - 1), p + 1);
		if (strncmp(lit, "../", 3)) /* #include paths */
			review_literal(rv, path, line, lit);
		p = *q == '"' ? q : q - 1;
	}
}

TEST(fr_every_message_reviewed)
{
	static const char *const dirs[] = { "clients/cmd", "clients/replica", "clients/ui", "daemon",
					    "mailgw", "model", "sync", "net", "common" };
	struct review rv;
	memset(&rv, 0, sizeof(rv));
	h_setup();
	CHECK(regcomp(&rv.plural, "(%[-0-9.]*(l{0,2}[du]|zu)|\" *PRI[du]64 *\") +"
		      "[a-zàâçéèêëîïôûùüÿ]+s([ .,;:)]|$)", REG_EXTENDED) == 0);
	CHECK(regcomp(&rv.english, "(^|[^A-Za-z])(failed|cannot|denied|bytes|error|unknown|missing|"
		      "not found|too long|No such|Permission denied|Invalid argument|Success)([^A-Za-z]|$)",
		      REG_EXTENDED | REG_ICASE) == 0);
	CHECK(regcomp(&rv.sql, "(^|[^A-Za-z])(SELECT|INSERT|UPDATE|CREATE|DELETE|PRAGMA|WHERE)"
		      "([^A-Za-z]|$)", REG_EXTENDED) == 0);
	for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
		DIR *dir = opendir(dirs[d]);
		CHECK_IDX(dir != NULL, (int)d);
		struct dirent *e;
		while ((e = readdir(dir))) {
			size_t n = strlen(e->d_name);
			if (n > 2 && !strcmp(e->d_name + n - 2, ".c"))
				review_file(&rv, h_strf("%s/%s", dirs[d], e->d_name));
		}
		closedir(dir);
	}
	regfree(&rv.plural);
	regfree(&rv.english);
	regfree(&rv.sql);
	CHECK(rv.literals > 1000);
	CHECK_INT(rv.problems, 0);
	/* The helpers every count and name goes through. */
	CHECK_STR(util_pluriel(0), "");
	CHECK_STR(util_pluriel(1), "");
	CHECK_STR(util_pluriel(2), "s");
	CHECK_STR(util_de("Inès"), "d'");
	CHECK_STR(util_de("Élodie"), "d'");
	CHECK_STR(util_de("Hélène"), "d'");
	CHECK_STR(util_de("Paul"), "de ");
	CHECK_STR(util_errno_fr(2), "fichier ou dossier introuvable");
}

TEST(fr_util_date_fr_cases)
{
	static const struct {
		const char *iso, *want;
	} cases[] = {
		{ "2026-12-01", "1er décembre 2026" },
		{ "2026-02-14", "14 février 2026" },
		{ "2026-08-31", "31 août 2026" },
		{ "2026-03-02T10:00:00Z", "2 mars 2026" },
		{ "2026-13-01", "2026-13-01" },
		{ "pas une date", "pas une date" },
		{ "", "" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[UTIL_DATE_FR_LEN];
		CHECK_STR_IDX(util_date_fr(cases[i].iso, out, sizeof(out)), cases[i].want, (int)i);
	}
}

TEST(fr_util_dates_fr_in_text)
{
	static const struct {
		const char *in, *want;
		size_t outlen;
	} cases[] = {
		{ "labellisé le 2026-03-20.", "labellisé le 20 mars 2026.", 64 },
		{ "du 2026-05-01 au 2026-09-01", "du 1er mai 2026 au 1er septembre 2026", 64 },
		{ "id 0123abcd-2026-03-01-aa", "id 0123abcd-2026-03-01-aa", 64 },
		{ "2026-03-01x", "2026-03-01x", 64 },
		{ "(2026-12-25)", "(25 décembre 2026)", 64 },
		{ "été 2026-08-01", "été ", 12 },
		{ "ab été", "ab ", 5 },
		{ "", "", 8 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[64];
		CHECK_STR_IDX(util_dates_fr(cases[i].in, out, cases[i].outlen), cases[i].want, (int)i);
	}
}
