/*
 * test-csv.c - the capped CSV reader and the writer of model/csv.h.
 */
#include <string.h>
#include "../model/csv.h"
#include "test.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct csv_case {
	const char *name;
	const char *bytes;
	size_t len;              /* 0: strlen(bytes) */
	char sep;                /* expected separator */
	int cp1252;
	size_t nrows;
	const char *cells[4][4]; /* expected rows (NULL ends a row) */
};

static void free_csv(void *c)
{
	csv_free(c);
}

TEST(csv_variants)
{
	static const struct csv_case cases[] = {
		{ "comma, LF", "a,b,c\n1,2,3\n", 0, ',', 0, 2, { { "a", "b", "c" }, { "1", "2", "3" } } },
		{ "semicolon with decimal commas, CRLF", "Heures;Jeunes\r\n12,5;3\r\n", 0, ';', 0, 2,
		  { { "Heures", "Jeunes" }, { "12,5", "3" } } },
		{ "semicolon wins a tie", "Heures en ligne;12,5\n", 0, ';', 0, 1,
		  { { "Heures en ligne", "12,5" } } },
		{ "tab", "a\tb\n", 0, '\t', 0, 1, { { "a", "b" } } },
		{ "UTF-8 BOM", "\xef\xbb\xbf" "Année;Période\n", 0, ';', 0, 1, { { "Année", "Période" } } },
		{ "Windows-1252", "Ann\xe9" "e;P\xe9riode;\x80\n", 0, ';', 1, 1,
		  { { "Année", "Période", "€" } } },
		{ "UTF-16LE with BOM", "\xff\xfe" "a\0;\0\xe9\0\n\0", 10, ';', 0, 1, { { "a", "é" } } },
		{ "quotes: separators, doubled quotes, line breaks",
		  "\"a;b\";\"dit \"\"oui\"\"\";\"ligne1\r\nligne2\"\nx;\"\";z\n", 0, ';', 0, 2,
		  { { "a;b", "dit \"oui\"", "ligne1\nligne2" }, { "x", "", "z" } } },
		{ "separator detected outside quotes only", "\"a,b;c\",d\n", 0, ',', 0, 1,
		  { { "a,b;c", "d" } } },
		{ "empty lines skipped, lone CR, no final newline", "\n\na;b\r\rc;d", 0, ';', 0, 2,
		  { { "a", "b" }, { "c", "d" } } },
		{ "text after a closing quote is kept", "\"a\"b;c\n", 0, ';', 0, 1, { { "ab", "c" } } },
		{ "empty input", "", 0, ',', 0, 0, { { NULL } } },
	};
	for (size_t i = 0; i < N(cases); i++) {
		const struct csv_case *c = &cases[i];
		static struct csv t;
		char err[256];
		test_defer(free_csv, &t);
		CHECK_OK(csv_parse(c->bytes, c->len ? c->len : strlen(c->bytes), NULL, &t, err, sizeof(err)));
		CHECK_INT_IDX(t.sep, c->sep, i);
		CHECK_INT_IDX(t.from_cp1252, c->cp1252, i);
		CHECK_INT_IDX(t.nrows, c->nrows, i);
		for (size_t r = 0; r < t.nrows; r++) {
			size_t ncells = 0;
			while (ncells < 4 && c->cells[r][ncells])
				ncells++;
			CHECK_INT_IDX(t.rows[r].n, ncells, i * 10 + r);
			for (size_t k = 0; k < ncells; k++)
				CHECK_STR_IDX(t.rows[r].fields[k], c->cells[r][k], i * 10 + r);
		}
		csv_free(&t);
	}
}

TEST(csv_refusals)
{
	static const struct {
		const char *bytes;
		size_t len;
		struct csv_limits lim;
		int rc;
		const char *err;
	} cases[] = {
		{ "a;b\n0123456789abcdefg;x\n", 0, { .field_max = 16 }, RELAIS_ETOOBIG,
		  "champ trop long à la ligne 2 (plus de 16 octets)." },
		{ "a;\"0123456789\n0123456789\"\n", 0, { .field_max = 16 }, RELAIS_ETOOBIG,
		  "champ trop long à la ligne 2 (plus de 16 octets)." },
		{ "aaaa;bbbb;cccc\n", 0, { .record_max = 10 }, RELAIS_ETOOBIG,
		  "ligne 1 trop longue (plus de 10 octets)." },
		{ "a\nb\nc\n", 0, { .rows_max = 2 }, RELAIS_ETOOBIG, "trop de lignes (plus de 2)." },
		{ "a;b;c\n", 0, { .cols_max = 2 }, RELAIS_ETOOBIG,
		  "trop de colonnes à la ligne 1 (plus de 2)." },
		{ "0123456789", 0, { .input_max = 5 }, RELAIS_ETOOBIG,
		  "fichier trop gros (plus de 5 octets)." },
		{ "a;\"b\nc;d\n", 0, { 0 }, RELAIS_ECORRUPT,
		  "guillemet non fermé (champ commencé à la ligne 1)." },
		{ "a;b\0c\n", 6, { 0 }, RELAIS_ECORRUPT,
		  "le fichier contient un octet nul : ce n'est pas du texte." },
		/* 0x81 has no character in Windows-1252 and is no UTF-8 either. */
		{ "ab;\x81\n", 0, { 0 }, RELAIS_ECORRUPT,
		  "le fichier n'est ni en UTF-8 ni en Windows-1252 (octet 4)." },
	};
	for (size_t i = 0; i < N(cases); i++) {
		struct csv t;
		char err[256];
		int rc = csv_parse(cases[i].bytes, cases[i].len ? cases[i].len : strlen(cases[i].bytes),
				   &cases[i].lim, &t, err, sizeof(err));
		csv_free(&t);
		CHECK_INT_IDX(rc, cases[i].rc, i);
		CHECK_STR_IDX(err, cases[i].err, i);
	}
	/* An imposed separator is used as given. */
	struct csv t;
	struct csv_limits lim = { .sep = ',' };
	char err[256];
	test_defer(free_csv, &t);
	CHECK_OK(csv_parse("a;b,c\n", 6, &lim, &t, err, sizeof(err)));
	CHECK_INT(t.nrows, 1);
	CHECK_INT(t.rows[0].n, 2);
	CHECK_STR(t.rows[0].fields[0], "a;b");
	csv_free(&t);
	csv_free(NULL);
}

/* The writer, cell by cell, and read back by the reader: each cell comes
 * back as it was (the formula guard taken off with csv_formula_unguard). */
TEST(csv_writer_cells_and_roundtrip)
{
	static const struct {
		const char *cell;
		const char *written;
	} cases[] = {
		{ "", "" },
		{ "MJC du Plateau", "MJC du Plateau" },
		{ "Léa", "Léa" },
		{ "a;b", "\"a;b\"" },
		{ "dit \"oui\"", "\"dit \"\"oui\"\"\"" },
		{ "deux\nlignes", "\"deux\nlignes\"" },
		{ "fin\r", "\"fin\r\"" },
		{ " devant", "\" devant\"" },
		{ "derrière ", "\"derrière \"" },
		/* What a spreadsheet would run: defused with an apostrophe. */
		{ "=1+1", "\"'=1+1\"" },
		{ "+33 6 12 34 56 78", "\"'+33 6 12 34 56 78\"" },
		{ "-2", "\"'-2\"" },
		{ "@SUM(A1:A2)", "\"'@SUM(A1:A2)\"" },
		{ "\t=1", "\"'\t=1\"" },
		{ "\r=1", "\"'\r=1\"" },
		{ "=HYPERLINK(\"http://x.example\";\"y\")",
		  "\"'=HYPERLINK(\"\"http://x.example\"\";\"\"y\"\")\"" },
		/* Not at the start: left alone. */
		{ "a=b", "a=b" },
		{ "'=1", "\"''=1\"" },
		{ "'a", "'a" },
	};
	struct buf b = BUF_INIT(1u << 16);
	for (size_t i = 0; i < N(cases); i++) {
		buf_reset(&b);
		CHECK_OK(csv_put_cell(&b, cases[i].cell));
		CHECK_STR_IDX(buf_str(&b), cases[i].written, i);
		CHECK_INT_IDX(csv_formula_lead(cases[i].cell),
			      cases[i].cell[0] && strchr("=+-@\t\r", cases[i].cell[0]), i);
	}
	/* A table of all the cases, read back. */
	const char *row[2];
	buf_reset(&b);
	CHECK_OK(csv_put_bom(&b));
	for (size_t i = 0; i < N(cases); i++) {
		row[0] = "x";
		row[1] = cases[i].cell;
		CHECK_OK(csv_put_row(&b, row, 2));
	}
	static const char start[] = CSV_BOM "x;\r\nx;MJC du Plateau\r\n";
	CHECK(b.len > sizeof(start) && !memcmp(b.data, start, sizeof(start) - 1));
	struct csv t;
	char err[256];
	int rc = csv_parse(b.data, b.len, NULL, &t, err, sizeof(err));
	buf_release(&b);
	test_defer(free_csv, &t);
	CHECK_OK(rc);
	CHECK_INT(t.sep, ';');
	CHECK_INT(t.nrows, N(cases));
	for (size_t i = 0; i < N(cases); i++) {
		CHECK_INT_IDX(t.rows[i].n, 2, i);
		const char *back = csv_formula_unguard(t.rows[i].fields[1]);
		/* The reader turns a CR inside a quoted cell into a line end
		 * of its own; the rest comes back byte for byte. */
		if (!strchr(cases[i].cell, '\r'))
			CHECK_STR_IDX(back, cases[i].cell, i);
	}
	/* NULL cells are empty; a full buffer says so. */
	struct buf small = BUF_INIT(4);
	const char *nul[2] = { NULL, "abcdef" };
	CHECK_INT(csv_put_row(&small, nul, 2), RELAIS_ETOOBIG);
	buf_release(&small);
}
