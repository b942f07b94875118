/*
 * test-model.c - the table descriptions, value checks, generated schema and
 * migrations of model/.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../common/buf.h"
#include "../common/util.h"
#include "../model/model_int.h"
#include "test.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct model_column *column(const char *table, const char *col)
{
	return model_column_by_name(model_table_by_name(table), col);
}

static sqlite3 *open_memory(void)
{
	sqlite3 *db = NULL;
	if (sqlite3_open(":memory:", &db) != SQLITE_OK) {
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

static void close_db(void *db)
{
	sqlite3_close(db);
}

static sqlite3 *open_migrated(void)
{
	sqlite3 *db = open_memory();
	if (db && model_migrate(db)) {
		sqlite3_close(db);
		db = NULL;
	}
	if (db)
		test_defer(close_db, db);
	return db;
}

/* ---- descriptions ---- */

static int is_identifier(const char *s)
{
	if (!s || !*s || (*s >= '0' && *s <= '9'))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

TEST(model_descriptions_sane)
{
	CHECK_INT(model_ntables, 20);
	for (size_t i = 0; i < model_ntables; i++) {
		const struct model_table *t = &model_tables[i];
		CHECK_IDX(is_identifier(t->name), i);
		CHECK_STR_IDX(model_table_names[i], t->name, i);
		CHECK_IDX(t->command && t->label && t->plural && t->ncolumns > 0, i);
		CHECK_IDX(t->since >= 1 && t->since <= MODEL_SCHEMA_VERSION, i);
		CHECK_IDX(model_table_by_command(t->command) == t, i);
		int listed = 0;
		for (size_t k = 0; k < t->ncolumns; k++) {
			const struct model_column *c = &t->columns[k];
			int idx = (int)(i * 100 + k);
			CHECK_IDX(is_identifier(c->name), idx);
			CHECK_IDX(strcmp(c->name, "id") && strcmp(c->name, "dept"), idx);
			CHECK_IDX(model_column_by_name(t, c->name) == c, idx);
			CHECK_IDX(c->label && c->label[0], idx);
			CHECK_IDX(c->since >= 0 && c->since <= MODEL_SCHEMA_VERSION, idx); /* 0: with its table */
			/* A later column must be addable to rows that older peers create. */
			CHECK_IDX(c->since <= t->since || !(c->flags & MODEL_REQUIRED) || c->def, idx);
			CHECK_IDX(c->kind != MODEL_ENUM || (c->values && c->values[0]), idx);
			CHECK_IDX(c->kind != MODEL_REF || c->ref, idx);
			CHECK_IDX(c->kind != MODEL_INT || c->min <= c->max, idx);
			CHECK_IDX(!(c->flags & MODEL_POSTCODE) || c->kind == MODEL_TEXT, idx);
			for (size_t e = 0; c->kind == MODEL_ENUM && c->values[e]; e++) {
				CHECK_IDX(is_identifier(c->values[e]), idx);
				char f[64];
				model_fold(c->values[e], f, sizeof(f));
				/* Two values folding alike could not be told apart when typed. */
				for (size_t e2 = 0; e2 < e; e2++) {
					char f2[64];
					model_fold(c->values[e2], f2, sizeof(f2));
					CHECK_IDX(strcmp(f, f2) != 0, idx);
				}
			}
			listed += (c->flags & MODEL_LISTED) != 0;
		}
		CHECK_IDX(listed > 0, i);
		for (size_t j = 0; j < i; j++)
			CHECK_IDX(strcmp(model_tables[j].command, t->command), i);
	}
}

TEST(model_refs_exist)
{
	size_t refs = 0;
	for (size_t i = 0; i < model_ntables; i++) {
		const struct model_table *t = &model_tables[i];
		for (size_t k = 0; k < t->ncolumns; k++) {
			const struct model_column *c = &t->columns[k];
			if (c->kind != MODEL_REF)
				continue;
			const struct model_table *r = model_table_by_name(c->ref);
			CHECK_IDX(r != NULL, i * 100 + k);
			/* Dependency order: the referenced table comes first. */
			CHECK_IDX(r < t, i * 100 + k);
			refs++;
		}
	}
	CHECK(refs >= 9);
}

/* Columns that the client's and daemon's code name directly. */
TEST(model_kept_names)
{
	static const struct {
		const char *table, *col;
		enum model_kind kind;
		unsigned flags;
	} cases[] = {
		{ "structure", "nom", MODEL_TEXT, MODEL_REQUIRED | MODEL_LISTED },
		{ "structure", "commune", MODEL_TEXT, MODEL_REQUIRED | MODEL_LISTED },
		{ "structure", "type", MODEL_ENUM, 0 },
		{ "structure", "email", MODEL_EMAIL, 0 },
		{ "structure", "telephone", MODEL_PHONE, 0 },
		{ "structure", "code_postal", MODEL_TEXT, MODEL_POSTCODE },
		{ "promeneur", "prenom", MODEL_TEXT, MODEL_REQUIRED | MODEL_LISTED | MODEL_PERSONAL },
		{ "promeneur", "nom", MODEL_TEXT, MODEL_REQUIRED | MODEL_LISTED | MODEL_PERSONAL },
		{ "promeneur", "email", MODEL_EMAIL, MODEL_REQUIRED | MODEL_PERSONAL },
		{ "promeneur", "telephone", MODEL_PHONE, MODEL_PERSONAL },
		{ "promeneur", "structure", MODEL_REF, MODEL_REQUIRED | MODEL_LISTED },
		{ "promeneur", "statut", MODEL_ENUM, MODEL_LISTED },
		{ "attendance", "event", MODEL_REF, MODEL_REQUIRED },
		{ "resource", "nom", MODEL_TEXT, MODEL_REQUIRED | MODEL_PERSONAL },
	};
	for (size_t i = 0; i < N(cases); i++) {
		const struct model_column *c = column(cases[i].table, cases[i].col);
		CHECK_IDX(c != NULL, i);
		CHECK_INT_IDX(c->kind, cases[i].kind, i);
		CHECK_INT_IDX(c->flags & cases[i].flags, cases[i].flags, i);
	}
	CHECK_STR(column("promeneur", "statut")->def, "'candidat'");
	CHECK_STR(column("promeneur", "structure")->ref, "structure");
}

TEST(model_lookups)
{
	static const struct {
		const char *command, *table;
	} cmds[] = {
		{ "structure", "structure" }, { "promeneur", "promeneur" },
		{ "presence", "presence" }, { "candidature", "candidature" },
		{ "bilan", "bilan" }, { "evenement", "event" },
		{ "participation", "attendance" }, { "demande", "request" },
		{ "ressource", "resource" },
	};
	for (size_t i = 0; i < N(cmds); i++) {
		const struct model_table *t = model_table_by_command(cmds[i].command);
		CHECK_IDX(t != NULL, i);
		CHECK_STR_IDX(t->name, cmds[i].table, i);
	}
	CHECK(model_table_by_command("event") == NULL);
	CHECK(model_table_by_name("evenement") == NULL);
	CHECK(model_table_by_name(NULL) == NULL);

	const struct model_table *s = model_table_by_name("structure");
	CHECK(model_column_by_flag(s, "code-postal") == column("structure", "code_postal"));
	CHECK(model_column_by_flag(s, "code_postal") == column("structure", "code_postal"));
	CHECK(model_column_by_flag(s, "code-post") == NULL);
	CHECK(model_column_by_flag(s, "code-postal-x") == NULL);
	CHECK(model_column_by_name(s, "id") == NULL);
	char flag[64];
	CHECK_OK(model_column_flag(column("structure", "subvention_equipement"), flag, sizeof(flag)));
	CHECK_STR(flag, "subvention-equipement");
	CHECK_INT(model_column_flag(column("structure", "subvention_equipement"), flag, 5),
		  RELAIS_ETOOBIG);
}

/* ---- model_check_value ---- */

struct check_case {
	const char *table, *col, *in;
	int rc;
	const char *out; /* stored value, or for a failure a part of the message */
};

#define OK(t, c, in, out) { t, c, in, 0, out }
#define BAD(t, c, in, msg) { t, c, in, RELAIS_EINVAL, msg }

static const struct check_case check_cases[] = {
	/* text */
	OK("structure", "nom", "  Centre social de Brioude  ", "Centre social de Brioude"),
	OK("structure", "nom", "\xc2\xa0" "MJC\xe2\x80\xaf", "MJC"),
	OK("structure", "nom", "Caf\xc3\xa9\tdes jeunes", "Caf\xc3\xa9 des jeunes"),
	OK("structure", "adresse", "", ""),
	OK("structure", "adresse", "   ", ""),
	OK("candidature", "motivation", "ligne 1\r\nligne 2\rligne 3\n", "ligne 1\nligne 2\nligne 3"),
	BAD("structure", "nom", "", "Nom : ce champ est obligatoire."),
	BAD("structure", "nom", " \t ", "ce champ est obligatoire"),
	BAD("structure", "nom", "a\nb", "Nom : le texte doit tenir sur une seule ligne."),
	BAD("structure", "nom", "a\x01" "b", "caractère de contrôle"),
	BAD("structure", "nom", "a\xc2\x85" "b", "caractère de contrôle"),
	BAD("structure", "nom", "\xff", "UTF-8"),
	BAD("structure", "nom", "a\xc3\x28", "UTF-8"),
	BAD("structure", "nom", "\xc0\xaf", "UTF-8"),
	BAD("structure", "nom", "\xed\xa0\x80", "UTF-8"),
	BAD("structure", "nom", "\xe2\x82", "UTF-8"),
	/* postal codes */
	OK("structure", "code_postal", "43000", "43000"),
	OK("structure", "code_postal", " 43 000 ", "43000"),
	OK("structure", "code_postal", "01000", "01000"),
	BAD("structure", "code_postal", "4300", "Code postal : « 4300 » n'est pas un code postal valide"),
	BAD("structure", "code_postal", "430000", "code postal"),
	BAD("structure", "code_postal", "ABCDE", "code postal"),
	/* integers */
	OK("promeneur", "heures_hebdo", "3", "3"),
	OK("promeneur", "heures_hebdo", " 12 ", "12"),
	OK("promeneur", "heures_hebdo", "+5", "5"),
	OK("promeneur", "heures_hebdo", "0", "0"),
	OK("promeneur", "heures_hebdo", "40", "40"),
	OK("structure", "subvention_equipement", "1 500", "1500"),
	OK("structure", "subvention_equipement", "1\xc2\xa0" "500", "1500"),
	OK("bilan", "annee", "2025", "2025"),
	BAD("promeneur", "heures_hebdo", "41",
	    "Heures en ligne par semaine : « 41 » n'est pas un nombre entier entre 0 et 40."),
	BAD("promeneur", "heures_hebdo", "-1", "entre 0 et 40"),
	BAD("promeneur", "heures_hebdo", "3.5", "nombre entier"),
	BAD("promeneur", "heures_hebdo", "3h", "nombre entier"),
	BAD("promeneur", "heures_hebdo", "abc", "nombre entier"),
	BAD("promeneur", "heures_hebdo", "+", "nombre entier"),
	BAD("bilan", "annee", "1999", "entre 2000 et 2100"),
	BAD("bilan", "annee", "", "Année : ce champ est obligatoire."),
	BAD("candidature", "pertinence", "4", "entre 0 et 3"),
	BAD("bilan", "jeunes_connectes", "99999999999999999999", "nombre entier"),
	/* booleans */
	OK("promeneur", "formation_initiale", "oui", "1"),
	OK("promeneur", "formation_initiale", " Oui ", "1"),
	OK("promeneur", "formation_initiale", "Non", "0"),
	OK("promeneur", "formation_initiale", "VRAI", "1"),
	OK("promeneur", "formation_initiale", "faux", "0"),
	OK("promeneur", "formation_initiale", "1", "1"),
	OK("promeneur", "formation_initiale", "0", "0"),
	BAD("promeneur", "formation_initiale", "peut-\xc3\xaatre",
	    "Formation initiale suivie : « peut-\xc3\xaatre » n'est pas une réponse valide (oui ou non)."),
	BAD("promeneur", "formation_initiale", "2", "oui ou non"),
	BAD("promeneur", "formation_initiale", "ouii", "oui ou non"),
	/* dates */
	OK("event", "date", "2026-03-15", "2026-03-15"),
	OK("event", "date", "15/03/2026", "2026-03-15"),
	OK("event", "date", "5/3/2026", "2026-03-05"),
	OK("event", "date", "15.03.2026", "2026-03-15"),
	OK("event", "date", "15-03-2026", "2026-03-15"),
	OK("event", "date", "2024-02-29", "2024-02-29"),
	OK("event", "date", "29/02/2000", "2000-02-29"),
	OK("event", "date", "2026-12-31", "2026-12-31"),
	BAD("event", "date", "2026-02-30",
	    "Date : « 2026-02-30 » n'est pas une date valide (JJ/MM/AAAA ou AAAA-MM-JJ)."),
	BAD("event", "date", "30/02/2026", "date valide"),
	BAD("event", "date", "29/02/2100", "date valide"),
	BAD("event", "date", "2023-02-29", "date valide"),
	BAD("event", "date", "2026-04-31", "date valide"),
	BAD("event", "date", "2026-13-01", "date valide"),
	BAD("event", "date", "2026-00-10", "date valide"),
	BAD("event", "date", "32/01/2026", "date valide"),
	BAD("event", "date", "2026/03/15", "date valide"),
	BAD("event", "date", "15/03/26", "date valide"),
	BAD("event", "date", "15/03-2026", "date valide"),
	BAD("event", "date", "2026-03-15x", "date valide"),
	BAD("event", "date", "demain", "date valide"),
	BAD("event", "date", "", "Date : ce champ est obligatoire."),
	/* e-mail addresses */
	OK("promeneur", "email", " Marie.Dupont@Exemple.FR ", "marie.dupont@exemple.fr"),
	OK("promeneur", "email", "a+pdn@centre-social.fr", "a+pdn@centre-social.fr"),
	OK("promeneur", "email", "x@mail.xn--p1ai", "x@mail.xn--p1ai"),
	BAD("promeneur", "email", "abc", "Courriel : « abc » n'est pas une adresse valide."),
	BAD("promeneur", "email", "a@b", "adresse valide"),
	BAD("promeneur", "email", "a@@b.fr", "adresse valide"),
	BAD("promeneur", "email", "a@b@c.fr", "adresse valide"),
	BAD("promeneur", "email", ".a@b.fr", "adresse valide"),
	BAD("promeneur", "email", "a.@b.fr", "adresse valide"),
	BAD("promeneur", "email", "a..b@c.fr", "adresse valide"),
	BAD("promeneur", "email", "a@-b.fr", "adresse valide"),
	BAD("promeneur", "email", "a@b..fr", "adresse valide"),
	BAD("promeneur", "email", "a b@c.fr", "adresse valide"),
	BAD("promeneur", "email", "\xc3\xa9@b.fr", "adresse valide"),
	BAD("promeneur", "email", "a@b.f", "adresse valide"),
	BAD("promeneur", "email", "a@b.123", "adresse valide"),
	BAD("promeneur", "email", "@b.fr", "adresse valide"),
	/* phone numbers */
	OK("promeneur", "telephone", "06 12 34 56 78", "0612345678"),
	OK("promeneur", "telephone", "06.12.34.56.78", "0612345678"),
	OK("promeneur", "telephone", "06-12-34-56-78", "0612345678"),
	OK("promeneur", "telephone", "0612345678", "0612345678"),
	OK("promeneur", "telephone", "+33 6 12 34 56 78", "0612345678"),
	OK("promeneur", "telephone", "+33 (0)6 12 34 56 78", "0612345678"),
	OK("promeneur", "telephone", "+33612345678", "0612345678"),
	OK("promeneur", "telephone", "0033 6 12 34 56 78", "0612345678"),
	OK("promeneur", "telephone", "+262 692 12 34 56", "0692123456"),
	OK("promeneur", "telephone", "04\xc2\xa0" "71\xc2\xa0" "50\xc2\xa0" "00\xc2\xa0" "00", "0471500000"),
	BAD("promeneur", "telephone", "12345",
	    "Téléphone : « 12345 » n'est pas un numéro de téléphone valide (10 chiffres, "
	    "par exemple 06 12 34 56 78)."),
	BAD("promeneur", "telephone", "+44 20 7946 0958", "numéro de téléphone"),
	BAD("promeneur", "telephone", "06 12 34 56 7", "numéro de téléphone"),
	BAD("promeneur", "telephone", "06 12 34 56 78 9", "numéro de téléphone"),
	BAD("promeneur", "telephone", "1612345678", "numéro de téléphone"),
	BAD("promeneur", "telephone", "0012345678", "numéro de téléphone"),
	BAD("promeneur", "telephone", "+33 0 12 34 56 78", "numéro de téléphone"),
	BAD("promeneur", "telephone", "06 12 34 56 7a", "numéro de téléphone"),
	BAD("promeneur", "telephone", "06+12345678", "numéro de téléphone"),
	/* URLs */
	OK("presence", "url", "https://www.facebook.com/pdn43", "https://www.facebook.com/pdn43"),
	OK("presence", "url", "HTTP://Exemple.fr/a?b=c#d", "http://Exemple.fr/a?b=c#d"),
	OK("presence", "url", "www.instagram.com/pdn", "https://www.instagram.com/pdn"),
	OK("presence", "url", "https://exemple.fr:8443/", "https://exemple.fr:8443/"),
	BAD("presence", "url", "ftp://exemple.fr",
	    "Adresse du profil : « ftp://exemple.fr » n'est pas une adresse web valide "
	    "(http:// ou https://)."),
	BAD("presence", "url", "https://", "adresse web"),
	BAD("presence", "url", "https://exemple", "adresse web"),
	BAD("presence", "url", "https://a b.fr", "adresse web"),
	BAD("presence", "url", "https://user@evil.fr", "adresse web"),
	BAD("presence", "url", "javascript:alert(1)", "adresse web"),
	BAD("presence", "url", "https://.fr", "adresse web"),
	/* enumerations */
	OK("structure", "type", "Centre social", "centre_social"),
	OK("structure", "type", "centre-social", "centre_social"),
	OK("structure", "type", "CENTRE_SOCIAL", "centre_social"),
	OK("structure", "type", "MJC", "mjc"),
	OK("structure", "type", "\xc3\x89tablissement scolaire", "etablissement_scolaire"),
	OK("structure", "type", "Collectivit\xc3\xa9", "collectivite"),
	OK("promeneur", "statut", "Labellis\xc3\xa9", "labellise"),
	OK("promeneur", "statut", "labellis\xc3\xa9" "e", "labellise"),
	OK("promeneur", "statut", "D\xc3\xa9labellis\xc3\xa9" "e", "delabellise"),
	OK("promeneur", "statut", "suspendue", "suspendu"),
	OK("promeneur", "statut", "candidate", "candidat"),
	OK("promeneur", "public", "Parentalit\xc3\xa9", "parentalite"),
	OK("candidature", "decision", "Accept\xc3\xa9" "e", "acceptee"),
	OK("candidature", "decision", "refus\xc3\xa9", "refusee"),
	OK("candidature", "decision", "En attente", "en_attente"),
	OK("presence", "reseau", "TikTok", "tiktok"),
	OK("presence", "reseau", "Tik Tok", "tiktok"),
	OK("presence", "reseau", "Twitter", "x"),
	OK("presence", "reseau", "X", "x"),
	OK("bilan", "periode", "Semestre 1", "semestre1"),
	OK("request", "sujet", "Orientation / d\xc3\xa9tresse", "orientation_detresse"),
	OK("request", "statut", "Trait\xc3\xa9" "e", "traitee"),
	BAD("structure", "type", "centre",
	    "Type de structure : « centre » n'est pas une valeur possible (centre_social, mjc,"),
	BAD("presence", "reseau", "myspace", "valeur possible"),
	BAD("presence", "reseau", "", "Réseau social : ce champ est obligatoire."),
	BAD("promeneur", "statut", "labellisation", "valeur possible"),
	BAD("promeneur", "statut", "___", "valeur possible"),
	/* references */
	OK("promeneur", "structure", "0F8FAD5B-D9CB-469F-A165-70867728950E",
	   "0f8fad5b-d9cb-469f-a165-70867728950e"),
	OK("promeneur", "structure", " 0f8fad5b-d9cb-469f-a165-70867728950e ",
	   "0f8fad5b-d9cb-469f-a165-70867728950e"),
	BAD("promeneur", "structure", "abc",
	    "Structure : « abc » n'est pas un identifiant valide."),
	BAD("promeneur", "structure", "0f8fad5b-d9cb-469f-a165-70867728950", "identifiant"),
	BAD("promeneur", "structure", "0f8fad5b-d9cb-469f-a165-70867728950g", "identifiant"),
	BAD("promeneur", "structure", "0f8fad5bd-9cb-469f-a165-70867728950e", "identifiant"),
	BAD("promeneur", "structure", "", "Structure : ce champ est obligatoire."),
};

TEST(model_check_cases)
{
	for (size_t i = 0; i < N(check_cases); i++) {
		const struct check_case *k = &check_cases[i];
		const struct model_column *c = column(k->table, k->col);
		char out[MODEL_VALUE_MAX], err[512];
		CHECK_IDX(c != NULL, i);
		memcpy(out, "junk", 5);
		int rc = model_check_value(c, k->in, out, sizeof(out), err, sizeof(err));
		if (rc != k->rc)
			fprintf(stderr, "  case %zu: %s.%s « %s »: err « %s »\n", i, k->table,
				k->col, k->in, err);
		CHECK_INT_IDX(rc, k->rc, i);
		if (k->rc == 0) {
			CHECK_STR_IDX(out, k->out, i);
			CHECK_STR_IDX(err, "", i);
		} else {
			if (!strstr(err, k->out))
				fprintf(stderr, "  case %zu: message « %s »\n", i, err);
			CHECK_IDX(strstr(err, k->out) != NULL, i);
			/* Messages start with the label and end a sentence. */
			CHECK_IDX(!strncmp(err, c->label, strlen(c->label)), i);
			CHECK_IDX(err[strlen(err) - 1] == '.', i);
		}
	}
}

static char *repeat(const char *unit, size_t times)
{
	size_t n = strlen(unit);
	char *s = malloc(n * times + 1);
	if (!s)
		return NULL;
	for (size_t i = 0; i < times; i++)
		memcpy(s + i * n, unit, n);
	s[n * times] = 0;
	return s;
}

TEST(model_check_limits)
{
	const struct model_column *nom = column("structure", "nom");
	const struct model_column *motivation = column("candidature", "motivation");
	char out[MODEL_VALUE_MAX], err[256];

	/* 10,000 characters of two bytes each fit; one more does not. */
	char *s = repeat("\xc3\xa9", MODEL_TEXT_MAX);
	CHECK(s != NULL);
	test_defer(free, s);
	CHECK_OK(model_check_value(nom, s, out, sizeof(out), err, sizeof(err)));
	CHECK_INT(strlen(out), 2 * MODEL_TEXT_MAX);
	char *t = repeat("a", MODEL_TEXT_MAX + 1);
	CHECK(t != NULL);
	test_defer(free, t);
	CHECK_INT(model_check_value(motivation, t, out, sizeof(out), err, sizeof(err)),
		  RELAIS_EINVAL);
	CHECK_STR(err, "Motivation : le texte dépasse 10000 caractères.");
	/* Way past any cap: refused before being looked at. */
	char *u = repeat("a", 10 * MODEL_VALUE_MAX);
	CHECK(u != NULL);
	test_defer(free, u);
	CHECK_INT(model_check_value(motivation, u, out, sizeof(out), err, sizeof(err)),
		  RELAIS_EINVAL);

	/* A small out buffer is reported, never overrun. */
	char small[4] = "xyz";
	CHECK_INT(model_check_value(nom, "abcdef", small, sizeof(small), err, sizeof(err)),
		  RELAIS_ETOOBIG);
	CHECK_STR(err, "Nom : la valeur est trop longue.");
	CHECK_INT(model_check_value(column("structure", "email"), "a@exemple.fr", small,
				    sizeof(small), err, sizeof(err)), RELAIS_ETOOBIG);
	CHECK_OK(model_check_value(nom, "abc", small, sizeof(small), err, sizeof(err)));
	CHECK_STR(small, "abc");

	/* NULL is empty; a tiny err buffer is cut, not overrun. */
	CHECK_OK(model_check_value(column("structure", "adresse"), NULL, out, sizeof(out), err,
				   sizeof(err)));
	CHECK_STR(out, "");
	char tiny[8];
	CHECK_INT(model_check_value(nom, NULL, out, sizeof(out), tiny, sizeof(tiny)), RELAIS_EINVAL);
	CHECK_INT(strlen(tiny), sizeof(tiny) - 1);

	/* A long wrong value is quoted shortened, and on a character boundary. */
	char *v = repeat("\xc3\xa9", 300);
	CHECK(v != NULL);
	test_defer(free, v);
	CHECK_INT(model_check_value(column("promeneur", "email"), v, out, sizeof(out), err,
				    sizeof(err)), RELAIS_EINVAL);
	CHECK(strlen(err) < 200);
	CHECK(strstr(err, "\xc3\xa9\xe2\x80\xa6 »") != NULL);
}

TEST(model_fold_cases)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "Établissement scolaire", "etablissementscolaire" },
		{ "ŒUVRE d'Ève", "oeuvredeve" },
		{ "Ça, c'est l'été !", "cacestlete" },
		{ "semestre_1", "semestre1" },
		{ "ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝŸ", "aaaaaaceeeeiiiinoooooouuuuyy" },
		{ "Æß×÷", "aess" },
		{ "日本", "" },
	};
	for (size_t i = 0; i < N(cases); i++) {
		char f[128];
		CHECK_INT_IDX(model_fold(cases[i].in, f, sizeof(f)), strlen(cases[i].out), i);
		CHECK_STR_IDX(f, cases[i].out, i);
	}
	char f[4];
	CHECK_INT(model_fold("abcdef", f, sizeof(f)), 6);
	CHECK_STR(f, "abc");
}

TEST(model_dept_valid_cases)
{
	static const struct {
		const char *code;
		int ok;
	} cases[] = {
		{ "01", 1 }, { "19", 1 }, { "21", 1 }, { "43", 1 }, { "95", 1 }, { "2A", 1 },
		{ "2B", 1 }, { "971", 1 }, { "974", 1 }, { "976", 1 }, { "99", 1 },
		{ "00", 0 }, { "20", 0 }, { "96", 0 }, { "98", 0 }, { "2a", 0 }, { "2C", 0 },
		{ "970", 0 }, { "977", 0 }, { "1", 0 }, { "430", 0 }, { "", 0 }, { " 43", 0 },
		{ "43 ", 0 }, { "9710", 0 },
	};
	for (size_t i = 0; i < N(cases); i++)
		CHECK_INT_IDX(model_dept_valid(cases[i].code), cases[i].ok, i);
	CHECK_INT(model_dept_valid(NULL), 0);
}

/* ---- generated schema ---- */

static const char *valid_value(const struct model_column *c)
{
	switch (c->kind) {
	case MODEL_TEXT:
		return c->flags & MODEL_POSTCODE ? "43000" : "Texte l\xc3\xa9gitime";
	case MODEL_INT:
		return c->min > 0 ? "2025" : "3";
	case MODEL_BOOL:
		return "1";
	case MODEL_DATE:
		return "2026-01-15";
	case MODEL_EMAIL:
		return "contact@exemple.fr";
	case MODEL_PHONE:
		return "0471000000";
	case MODEL_URL:
		return "https://exemple.fr/profil";
	case MODEL_ENUM:
		return c->values[0];
	case MODEL_REF:
		return "0f8fad5b-d9cb-469f-a165-70867728950e";
	}
	return NULL;
}

static int exec_bind(sqlite3 *db, const char *sql, const char *const *args, size_t n)
{
	sqlite3_stmt *st = NULL;
	int src = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	for (size_t i = 0; src == SQLITE_OK && i < n; i++)
		src = args[i] ? sqlite3_bind_text(st, (int)i + 1, args[i], -1, SQLITE_TRANSIENT)
			      : sqlite3_bind_null(st, (int)i + 1);
	if (src == SQLITE_OK)
		src = sqlite3_step(st);
	sqlite3_finalize(st);
	return src == SQLITE_DONE ? SQLITE_OK : src;
}

/* Inserts a row of t holding a valid value in every column. */
static int insert_valid(sqlite3 *db, const struct model_table *t, const char *id, const char *dept)
{
	char sql[4096];
	const char *args[64];
	size_t o = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO %s(id, dept", t->name);
	args[0] = id;
	args[1] = dept;
	for (size_t k = 0; k < t->ncolumns; k++) {
		o += (size_t)snprintf(sql + o, sizeof(sql) - o, ", %s", t->columns[k].name);
		args[k + 2] = valid_value(&t->columns[k]);
	}
	o += (size_t)snprintf(sql + o, sizeof(sql) - o, ") VALUES(?, ?");
	for (size_t k = 0; k < t->ncolumns; k++)
		o += (size_t)snprintf(sql + o, sizeof(sql) - o, ", ?");
	snprintf(sql + o, sizeof(sql) - o, ")");
	return exec_bind(db, sql, args, t->ncolumns + 2);
}

static int update_col(sqlite3 *db, const char *table, const char *col, const char *value,
		      const char *id)
{
	char sql[256];
	const char *args[2] = { value, id };
	snprintf(sql, sizeof(sql), "UPDATE %s SET %s = ? WHERE id = ?", table, col);
	return exec_bind(db, sql, args, 2);
}

#define ROW_ID "3b241101-e2bb-4255-8caf-4136c566a962"

TEST(model_schema_accepts_valid_row)
{
	sqlite3 *db = open_migrated();
	CHECK(db != NULL);
	for (size_t i = 0; i < model_ntables; i++) {
		const struct model_table *t = &model_tables[i];
		CHECK_INT_IDX(insert_valid(db, t, ROW_ID, "43"), SQLITE_OK, i);
		/* Defaults fill the columns left out. */
		char sql[256];
		snprintf(sql, sizeof(sql), "INSERT INTO %s(id, dept) VALUES(?, ?)", t->name);
		const char *args[2] = { "0f8fad5b-d9cb-469f-a165-70867728950e", "2A" };
		int required = 0;
		for (size_t k = 0; k < t->ncolumns; k++)
			required |= (t->columns[k].flags & MODEL_REQUIRED) && !t->columns[k].def;
		int src = exec_bind(db, sql, args, 2);
		CHECK_INT_IDX(src & 0xff, required ? SQLITE_CONSTRAINT : SQLITE_OK, i);
	}
	sqlite3_stmt *st = NULL;
	CHECK_INT(sqlite3_prepare_v2(db, "SELECT statut, formation_initiale FROM promeneur",
				     -1, &st, NULL), SQLITE_OK);
	CHECK_INT(sqlite3_step(st), SQLITE_ROW);
	CHECK_STR((const char *)sqlite3_column_text(st, 0), "candidat");
	CHECK_INT(sqlite3_column_type(st, 1), SQLITE_INTEGER);
	sqlite3_finalize(st);
}

/* Values that must break the CHECK (or NOT NULL) of a column of each kind. */
static size_t bad_values(const struct model_column *c, const char **v, char *buf)
{
	size_t n = 0;
	if (c->flags & MODEL_REQUIRED)
		v[n++] = NULL;
	switch (c->kind) {
	case MODEL_TEXT:
		if (c->flags & MODEL_REQUIRED) {
			v[n++] = "";
			v[n++] = "   ";
		}
		if (!(c->flags & MODEL_MULTILINE)) {
			v[n++] = "a\nb";
			v[n++] = "a\rb";
		}
		if (c->flags & MODEL_POSTCODE) {
			v[n++] = "4300";
			v[n++] = "4300A";
			v[n++] = "430000";
		}
		v[n++] = buf; /* MODEL_TEXT_MAX + 1 characters */
		break;
	case MODEL_INT:
		snprintf(buf, 32, "%lld", c->min - 1);
		snprintf(buf + 32, 32, "%lld", c->max + 1);
		v[n++] = buf;
		v[n++] = buf + 32;
		v[n++] = "abc";
		v[n++] = "1.5";
		v[n++] = "";
		break;
	case MODEL_BOOL:
		v[n++] = "2";
		v[n++] = "-1";
		v[n++] = "oui";
		v[n++] = "";
		break;
	case MODEL_DATE:
		v[n++] = "2026-02-30";
		v[n++] = "2023-02-29";
		v[n++] = "2026-13-01";
		v[n++] = "2026-00-10";
		v[n++] = "15/01/2026";
		v[n++] = "2026-1-05";
		v[n++] = "2026-01-15 ";
		v[n++] = "";
		break;
	case MODEL_EMAIL:
		v[n++] = "abc";
		v[n++] = "a@b";
		v[n++] = "a b@c.fr";
		v[n++] = "a@b@c.fr";
		v[n++] = "\xc3\xa9@b.fr";
		v[n++] = "";
		break;
	case MODEL_PHONE:
		v[n++] = "06 12 34 56 78";
		v[n++] = "1234567890";
		v[n++] = "061234567";
		v[n++] = "0012345678";
		v[n++] = "+3361234567";
		v[n++] = "";
		break;
	case MODEL_URL:
		v[n++] = "ftp://exemple.fr";
		v[n++] = "exemple.fr";
		v[n++] = "https://a b.fr";
		v[n++] = "https://a\tb.fr";
		v[n++] = "http://";
		v[n++] = "";
		break;
	case MODEL_ENUM:
		snprintf(buf, 64, "%s", c->values[0]);
		buf[0] = (char)(buf[0] - 'a' + 'A');
		v[n++] = buf;
		v[n++] = "nope";
		v[n++] = "";
		break;
	case MODEL_REF:
		v[n++] = "abc";
		v[n++] = "0F8FAD5B-D9CB-469F-A165-70867728950E";
		v[n++] = "0f8fad5b-d9cb-469f-a165-70867728950";
		v[n++] = "";
		break;
	}
	return n;
}

TEST(model_schema_checks_refuse)
{
	sqlite3 *db = open_migrated();
	CHECK(db != NULL);
	char *longtext = repeat("a", MODEL_TEXT_MAX + 1);
	CHECK(longtext != NULL);
	test_defer(free, longtext);
	static const char *const bad_ids[] = {
		"abc", "0F8FAD5B-D9CB-469F-A165-70867728950E", "0f8fad5b-d9cb-469f-a165-70867728950",
		"0f8fad5b-d9cb-469f-a165-70867728950e0", "0f8fad5bxd9cb-469f-a165-70867728950e", "",
	};
	static const char *const bad_depts[] = {
		"00", "20", "96", "98", "2a", "977", "970", "1", "", "430", NULL,
	};
	static const char *const good_depts[] = { "01", "2A", "2B", "95", "971", "976", "99" };
	int cases = 0;
	for (size_t i = 0; i < model_ntables; i++) {
		const struct model_table *t = &model_tables[i];
		CHECK_INT_IDX(insert_valid(db, t, ROW_ID, "43"), SQLITE_OK, i);
		for (size_t k = 0; k < N(bad_ids); k++)
			CHECK_INT_IDX(update_col(db, t->name, "id", bad_ids[k], ROW_ID) & 0xff,
				      SQLITE_CONSTRAINT, i * 100 + k);
		for (size_t k = 0; k < N(bad_depts); k++)
			CHECK_INT_IDX(update_col(db, t->name, "dept", bad_depts[k], ROW_ID) & 0xff,
				      SQLITE_CONSTRAINT, i * 100 + k);
		for (size_t k = 0; k < N(good_depts); k++)
			CHECK_INT_IDX(update_col(db, t->name, "dept", good_depts[k], ROW_ID),
				      SQLITE_OK, i * 100 + k);
		for (size_t k = 0; k < t->ncolumns; k++) {
			const struct model_column *c = &t->columns[k];
			char buf[128];
			const char *v[32];
			size_t n = bad_values(c, v, c->kind == MODEL_TEXT ? longtext : buf);
			for (size_t b = 0; b < n; b++) {
				int src = update_col(db, t->name, c->name, v[b], ROW_ID);
				if ((src & 0xff) != SQLITE_CONSTRAINT)
					fprintf(stderr, "  %s.%s accepted « %.40s »\n", t->name,
						c->name, v[b] ? v[b] : "NULL");
				CHECK_INT_IDX(src & 0xff, SQLITE_CONSTRAINT, (int)(i * 10000 + k * 100 + b));
				cases++;
			}
			/* An optional column may always be emptied. */
			if (!(c->flags & MODEL_REQUIRED))
				CHECK_INT_IDX(update_col(db, t->name, c->name, NULL, ROW_ID),
					      SQLITE_OK, i * 100 + k);
		}
	}
	CHECK(cases > 300);
}

/* Whatever model_check_value() stores, the schema accepts. */
TEST(model_check_output_passes_schema)
{
	sqlite3 *db = open_migrated();
	CHECK(db != NULL);
	for (size_t i = 0; i < model_ntables; i++)
		CHECK_INT_IDX(insert_valid(db, &model_tables[i], ROW_ID, "43"), SQLITE_OK, i);
	int written = 0;
	for (size_t i = 0; i < N(check_cases); i++) {
		const struct check_case *k = &check_cases[i];
		char out[MODEL_VALUE_MAX], err[512];
		if (k->rc || !k->out[0])
			continue;
		CHECK_OK(model_check_value(column(k->table, k->col), k->in, out, sizeof(out), err,
					   sizeof(err)));
		CHECK_INT_IDX(update_col(db, k->table, k->col, out, ROW_ID), SQLITE_OK, i);
		written++;
	}
	CHECK(written > 50);
}

TEST(model_first_columns_id_dept)
{
	sqlite3 *db = open_migrated();
	CHECK(db != NULL);
	for (size_t i = 0; i < model_ntables; i++) {
		const struct model_table *t = &model_tables[i];
		char sql[128];
		sqlite3_stmt *st = NULL;
		snprintf(sql, sizeof(sql), "SELECT name, type, \"notnull\", pk FROM pragma_table_info('%s')",
			 t->name);
		CHECK_INT_IDX(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, i);
		int n = 0;
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *name = (const char *)sqlite3_column_text(st, 0);
			const char *type = (const char *)sqlite3_column_text(st, 1);
			int notnull = sqlite3_column_int(st, 2), pk = sqlite3_column_int(st, 3);
			int idx = (int)(i * 100 + (size_t)n);
			if (n == 0) {
				CHECK_STR_IDX(name, "id", idx);
				CHECK_INT_IDX(pk, 1, idx);
			} else if (n == 1) {
				CHECK_STR_IDX(name, "dept", idx);
			} else {
				CHECK_IDX((size_t)n - 2 < t->ncolumns, idx);
				const struct model_column *c = &t->columns[n - 2];
				CHECK_STR_IDX(name, c->name, idx);
				int integer = c->kind == MODEL_INT || c->kind == MODEL_BOOL;
				CHECK_STR_IDX(type, integer ? "INTEGER" : "TEXT", idx);
				CHECK_INT_IDX(notnull, (c->flags & MODEL_REQUIRED) != 0, idx);
				CHECK_INT_IDX(pk, 0, idx);
			}
			if (n < 2) {
				CHECK_STR_IDX(type, "TEXT", idx);
				CHECK_INT_IDX(notnull, 1, idx);
			}
			n++;
		}
		sqlite3_finalize(st);
		CHECK_INT_IDX(n, t->ncolumns + 2, i);
		/* Schema rules of docs/sync.md: no foreign key, no unique index. */
		char *create = model_create_sql(t, MODEL_SCHEMA_VERSION);
		CHECK_IDX(create != NULL, i);
		int clean = !strstr(create, "REFERENCES") && !strstr(create, "UNIQUE") &&
			    !strstr(create, "FOREIGN");
		CHECK_IDX(!strncmp(create, "CREATE TABLE ", 13), i);
		CHECK_IDX(strstr(create, "id TEXT PRIMARY KEY NOT NULL CHECK(") != NULL, i);
		free(create);
		CHECK_IDX(clean, i);
	}
}

static int count_rows(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int n = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* The whole schema as text, to compare before and after. */
static char *schema_text(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	size_t len = 0;
	char *s = calloc(1, 1);
	if (!s || sqlite3_prepare_v2(db, "SELECT sql FROM sqlite_schema ORDER BY name", -1, &st,
				     NULL) != SQLITE_OK)
		goto out;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *row = (const char *)sqlite3_column_text(st, 0);
		size_t n = row ? strlen(row) : 0;
		char *t = realloc(s, len + n + 2);
		if (!t)
			break;
		s = t;
		memcpy(s + len, row ? row : "", n);
		s[len + n] = '\n';
		len += n + 1;
		s[len] = 0;
	}
out:
	sqlite3_finalize(st);
	return s;
}

TEST(model_migrate_twice)
{
	sqlite3 *db = open_migrated();
	CHECK(db != NULL);
	CHECK_INT(count_rows(db, "PRAGMA user_version"), MODEL_SCHEMA_VERSION);
	CHECK_INT(count_rows(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'"),
		  (int)model_ntables);
	CHECK_INT(insert_valid(db, model_table_by_name("structure"), ROW_ID, "43"), SQLITE_OK);
	char *before = schema_text(db);
	CHECK(before != NULL);
	test_defer(free, before);
	CHECK_OK(model_migrate(db));
	CHECK_OK(model_migrate(db));
	char *after = schema_text(db);
	CHECK(after != NULL);
	test_defer(free, after);
	CHECK_STR(after, before);
	CHECK_INT(count_rows(db, "PRAGMA user_version"), MODEL_SCHEMA_VERSION);
	CHECK_INT(count_rows(db, "SELECT count(*) FROM structure"), 1);
	CHECK(sqlite3_get_autocommit(db));
}

TEST(model_migrate_newer_refused)
{
	sqlite3 *db = open_memory();
	CHECK(db != NULL);
	test_defer(close_db, db);
	char sql[64];
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", MODEL_SCHEMA_VERSION + 1);
	CHECK_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	CHECK_INT(model_migrate(db), RELAIS_ESCHEMA);
	CHECK_INT(count_rows(db, "SELECT count(*) FROM sqlite_schema"), 0);
	CHECK_INT(count_rows(db, "PRAGMA user_version"), MODEL_SCHEMA_VERSION + 1);
	CHECK(sqlite3_get_autocommit(db));
}

TEST(model_migrate_inside_transaction_refused)
{
	sqlite3 *db = open_memory();
	CHECK(db != NULL);
	test_defer(close_db, db);
	CHECK_INT(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	CHECK(model_migrate(db) != 0);
	CHECK_INT(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	CHECK_OK(model_migrate(db));
}

/* A pretend version 2: a column added to an old table, and a new table. */
static const char *const fake_values[] = { "un", "deux", NULL };
static const struct model_column fake_old_cols[] = {
	{ .name = "a", .kind = MODEL_TEXT, .label = "A", .flags = MODEL_REQUIRED, .since = 1 },
	{ .name = "b", .kind = MODEL_INT, .label = "B", .min = 0, .max = 9,
	  .flags = MODEL_REQUIRED, .def = "3", .since = 2 },
	{ .name = "c", .kind = MODEL_ENUM, .label = "C", .values = fake_values, .since = 1 },
	{ .name = "d", .kind = MODEL_DATE, .label = "D", .since = 2 },
};
static const struct model_column fake_new_cols[] = {
	{ .name = "x", .kind = MODEL_REF, .label = "X", .ref = "fake_old", .since = 1 },
};
static const struct model_table fake_tables[] = {
	{ "fake_old", "ancien", "l'ancien", "anciens", fake_old_cols, N(fake_old_cols), 1, 0 },
	{ "fake_new", "nouveau", "le nouveau", "nouveaux", fake_new_cols, N(fake_new_cols), 2, 0 },
};

static char *column_list(sqlite3 *db, const char *table)
{
	char sql[128];
	snprintf(sql, sizeof(sql), "SELECT group_concat(name, ',') FROM "
		 "(SELECT name FROM pragma_table_info('%s') ORDER BY cid)", table);
	sqlite3_stmt *st = NULL;
	char *s = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		s = strdup(sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : "");
	sqlite3_finalize(st);
	return s;
}

TEST(model_migrate_later_version)
{
	sqlite3 *db = open_memory(), *fresh = open_memory();
	CHECK(db && fresh);
	test_defer(close_db, db);
	test_defer(close_db, fresh);

	/* No table at version 1 yet for fake_new, and no column b or d. */
	CHECK(model_create_sql(&fake_tables[1], 1) == NULL);
	char *v1 = model_create_sql(&fake_tables[0], 1);
	CHECK(v1 != NULL);
	int v1_ok = strstr(v1, "\ta ") && strstr(v1, "\tc ") && !strstr(v1, "\tb ") &&
		    !strstr(v1, "\td ");
	free(v1);
	CHECK(v1_ok);

	CHECK_OK(model_migrate_tables(db, fake_tables, N(fake_tables), 1));
	CHECK_INT(count_rows(db, "PRAGMA user_version"), 1);
	CHECK_INT(count_rows(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'fake_new'"), 0);
	const char *args[3] = { ROW_ID, "43", "valeur" };
	CHECK_INT(exec_bind(db, "INSERT INTO fake_old(id, dept, a) VALUES(?, ?, ?)", args, 3),
		  SQLITE_OK);

	CHECK_OK(model_migrate_tables(db, fake_tables, N(fake_tables), 2));
	CHECK_OK(model_migrate_tables(db, fake_tables, N(fake_tables), 2));
	CHECK_INT(count_rows(db, "PRAGMA user_version"), 2);
	CHECK_INT(count_rows(db, "SELECT b FROM fake_old"), 3);
	CHECK_INT(count_rows(db, "SELECT count(*) FROM fake_new"), 0);
	/* The added columns keep their CHECK constraints. */
	CHECK_INT(sqlite3_exec(db, "UPDATE fake_old SET b = 10", NULL, NULL, NULL), SQLITE_CONSTRAINT);
	CHECK_INT(sqlite3_exec(db, "UPDATE fake_old SET d = '2026-02-30'", NULL, NULL, NULL),
		  SQLITE_CONSTRAINT);
	CHECK_INT(sqlite3_exec(db, "UPDATE fake_old SET b = NULL", NULL, NULL, NULL),
		  SQLITE_CONSTRAINT);

	/* A database created at version 2 has the same columns in the same order. */
	CHECK_OK(model_migrate_tables(fresh, fake_tables, N(fake_tables), 2));
	for (size_t i = 0; i < N(fake_tables); i++) {
		char *a = column_list(db, fake_tables[i].name);
		char *b = column_list(fresh, fake_tables[i].name);
		int same = a && b && !strcmp(a, b);
		if (i == 0 && a)
			same = same && !strcmp(a, "id,dept,a,c,b,d");
		free(a);
		free(b);
		CHECK_IDX(same, i);
	}
	/* And an older program refuses it. */
	CHECK_INT(model_migrate_tables(db, fake_tables, N(fake_tables), 1), RELAIS_ESCHEMA);
}

/* Random typing into every column: each value is either refused with a
 * message or stored in a form that the schema accepts. */
TEST(model_check_random_input)
{
	static const char *const pieces[] = {
		"0", "1", "2", "3", "6", "9", "+", "+33", "00", " ", ".", "-", "/", "@", "a", "Z",
		"e", "x", "\xc3\xa9", "\xc3\x89", "\xc2\xa0", "\n", "\t", "http", "https://", "://",
		"www.", ".fr", "fr", "(0)", "oui", "non", "2026", "02", "29", "30", "_", "centre",
		"social", "labellis", "\xe2\x80\xaf", "\xff", "\x01", "'",
	};
	sqlite3 *db = open_migrated();
	CHECK(db != NULL);
	for (size_t i = 0; i < model_ntables; i++)
		CHECK_INT_IDX(insert_valid(db, &model_tables[i], ROW_ID, "43"), SQLITE_OK, i);
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	int accepted = 0, refused = 0;
	for (int round = 0; round < 20000; round++) {
		const struct model_table *t = &model_tables[(size_t)round % model_ntables];
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		const struct model_column *c = &t->columns[seed % t->ncolumns];
		char in[256], out[MODEL_VALUE_MAX], err[512];
		size_t o = 0, parts = (seed >> 8) % 8;
		for (size_t p = 0; p < parts; p++) {
			const char *s = pieces[(seed >> (12 + 4 * p)) % N(pieces)];
			size_t n = strlen(s);
			if (o + n >= sizeof(in))
				break;
			memcpy(in + o, s, n);
			o += n;
		}
		in[o] = 0;
		int rc = model_check_value(c, in, out, sizeof(out), err, sizeof(err));
		if (rc) {
			CHECK_INT_IDX(rc, RELAIS_EINVAL, round);
			CHECK_IDX(err[0] != 0, round);
			refused++;
			continue;
		}
		int src = update_col(db, t->name, c->name, out[0] ? out : NULL, ROW_ID);
		if (src != SQLITE_OK)
			fprintf(stderr, "  %s.%s: « %s » stored as « %s » refused by the schema\n",
				t->name, c->name, in, out);
		CHECK_INT_IDX(src, SQLITE_OK, round);
		accepted++;
	}
	CHECK(accepted > 1000 && refused > 1000);
}

/* docs/model.md's tables are the descriptions' (make docs rewrites them). */
TEST(model_doc_up_to_date)
{
	struct buf want = BUF_INIT(1u << 20), have = BUF_INIT(1u << 20);
	char line[4096];
	int in = 0;
	FILE *f = fopen("docs/model.md", "r");
	CHECK(f != NULL);
	while (fgets(line, sizeof(line), f)) {
		in = in || !strcmp(line, "## Tables\n");
		if (in && buf_puts(&have, line))
			break;
	}
	fclose(f);
	CHECK_OK(model_doc_tables(&want));
	if (strcmp(buf_str(&want), buf_str(&have)))
		fprintf(stderr, "  docs/model.md is out of date: run \"make docs\"\n");
	CHECK_STR(buf_str(&have), buf_str(&want));
	buf_release(&want);
	buf_release(&have);
}

TEST(model_role_policy_cases)
{
	static const struct {
		const char *role, *table, *col;
		int op, may;
	} cases[] = {
		{ "caf", "directory_change", "publie", SQLITE_UPDATE, 1 },
		{ "caf", "directory_change", "date_publication", SQLITE_UPDATE, 1 },
		{ "caf", "directory_change", "transmis", SQLITE_UPDATE, 0 },
		{ "caf", "directory_change", NULL, SQLITE_INSERT, 0 },
		{ "caf", "promeneur", "nom", SQLITE_UPDATE, 0 },
		{ "caf", "structure", NULL, SQLITE_DELETE, 0 },
		{ "coordinateur", "promeneur", "nom", SQLITE_UPDATE, 1 },
		{ "coordinateur", "inbound_mail", NULL, SQLITE_INSERT, 0 },
		{ "coordinateur", "directory_change", "publie", SQLITE_UPDATE, 1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_INT_IDX(model_role_may_write(cases[i].role, cases[i].table, cases[i].op,
						   cases[i].col), cases[i].may, (int)i);
	CHECK(model_role_hidden("caf", "request") != NULL);
	CHECK(model_role_hidden("caf", "promeneur") == NULL);
	CHECK(model_role_hidden("coordinateur", "request") == NULL);
}
