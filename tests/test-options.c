/*
 * test-options.c - the option parser (common/options.h): each form it
 * reads, each mistake it refuses with its French message, and the help it
 * prints from the same description.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../common/options.h"
#include "harness.h"
#include "test.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define MAXARGS 8

/* The targets of the test command's options. */
static struct {
	int json;
	const char *data, *when, *each;
	long long port;
	int calls;
} got;

static int check_date(const struct option *o, const char *value, char *err, size_t errlen)
{
	(void)o;
	if (strlen(value) != 10 || value[4] != '-' || value[7] != '-') {
		snprintf(err, errlen, "date « %s » invalide", value);
		return -1;
	}
	return 0;
}

static int count_call(const struct option *o, const char *value, char *err, size_t errlen)
{
	(void)o;
	if (value && !strcmp(value, "non")) {
		snprintf(err, errlen, "« non » refusé");
		return -1;
	}
	got.calls++;
	got.each = value;
	return 0;
}

/* A program's table: struct options_command first, then what it runs. */
static const struct test_command {
	struct options_command doc;
	int run;
} table[] = {
	{ { "essai", "la commande" }, 1 },
	{ { "essai sous", "sa sous-commande" }, 2 },
	{ { "essai sous-ensemble", "une autre, plus longue" }, 3 },
	{ { "nu", "sans rien" }, 4 },
};

static void list_subs(FILE *f, const char *cmd)
{
	options_list_commands(f, table, N(table), sizeof(table[0]), cmd);
}

static const struct options_prog prog = { "prog", list_subs };

static const struct option opts[] = {
	OPT_FLAG('j', "json", &got.json, "sortie JSON"),
	OPT_STRING_F('d', "data", &got.data, "DOSSIER", "dossier de données", OPTION_NONEMPTY),
	OPT_INTEGER(0, "port", &got.port, "PORT", "port d'écoute\nsur deux lignes", 1, 65535),
	OPT_DATE(0, "date", &got.when, "date du jour", check_date),
	OPT_CALLBACK(0, "each", NULL, "VAL", "répétable", OPTION_REPEAT, count_call),
	OPT_CALLBACK(0, "tick", NULL, NULL, "sans valeur", OPTION_NOARG | OPTION_REPEAT, count_call),
	OPT_STRING_F(0, "secret", &got.data, "X", "cachée", OPTION_HIDDEN),
	OPT_END(),
};

static const struct options_cmd cmd = {
	.prog = &prog, .cmd = "essai", .usage = "[OPTIONS] ID [ID]\nautre forme",
	.about = "Un essai du parseur.\n", .options = opts, .footer = "Fin de l'aide.\n",
	.min_args = 1, .max_args = 2, .arg_name = "identifiant",
};

/* What a call printed: stdout and stderr are redirected to files from
 * capture_begin() to capture_end(), which reads them back. */
static int saved_out = -1, saved_err = -1;

static int capture_begin(void)
{
	fflush(stdout);
	fflush(stderr);
	saved_out = dup(1);
	saved_err = dup(2);
	return freopen(h_path("stdout"), "w", stdout) && freopen(h_path("stderr"), "w", stderr)
		       ? 0 : -1;
}

static void capture_end(char **out, char **err)
{
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	*out = h_read_file(h_path("stdout"), NULL);
	*err = h_read_file(h_path("stderr"), NULL);
}

static int count(const char *const *argv)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	return argc;
}

/* Runs options_parse on the NULL-terminated argv with stderr and stdout
 * captured; returns its result, the text in *out and *err. */
static int parse(const struct options_cmd *c, const char *const *argv, const char **args,
		 int *nargs, char **out, char **err)
{
	memset(&got, 0, sizeof(got));
	if (capture_begin())
		return -99;
	int rc = options_parse(c, count(argv), (char **)argv, args, nargs);
	capture_end(out, err);
	return rc;
}

/* options_group on argv, captured like parse(). */
static int group(const struct options_cmd *c, const char *const *argv, char **out, char **err)
{
	if (capture_begin())
		return -99;
	int rc = options_group(c, count(argv), (char **)argv);
	capture_end(out, err);
	return rc;
}

TEST(options_parse_forms)
{
	h_setup();
	static const struct {
		const char *argv[8];
		int json;
		const char *data, *when;
		long long port;
		int calls, nargs;
		const char *arg0, *arg1;
	} cases[] = {
		{ { "ID" }, 0, NULL, NULL, 0, 0, 1, "ID", NULL },
		{ { "--json", "A", "B" }, 1, NULL, NULL, 0, 0, 2, "A", "B" },
		{ { "-j", "A" }, 1, NULL, NULL, 0, 0, 1, "A", NULL },
		{ { "--data", "/d", "A" }, 0, "/d", NULL, 0, 0, 1, "A", NULL },
		{ { "--data=/d", "A" }, 0, "/d", NULL, 0, 0, 1, "A", NULL },
		{ { "-d", "/d", "A" }, 0, "/d", NULL, 0, 0, 1, "A", NULL },
		{ { "-d/d", "A" }, 0, "/d", NULL, 0, 0, 1, "A", NULL },
		{ { "A", "--port", "8080" }, 0, NULL, NULL, 8080, 0, 1, "A", NULL },
		{ { "--port=1", "A" }, 0, NULL, NULL, 1, 0, 1, "A", NULL },
		{ { "--date", "2025-01-31", "A" }, 0, NULL, "2025-01-31", 0, 0, 1, "A", NULL },
		{ { "--each", "x", "--each=y", "A" }, 0, NULL, NULL, 0, 2, 1, "A", NULL },
		{ { "--tick", "--tick", "A" }, 0, NULL, NULL, 0, 2, 1, "A", NULL },
		{ { "--", "--json" }, 0, NULL, NULL, 0, 0, 1, "--json", NULL },
		{ { "-", "--data=" }, 0, "", NULL, 0, 0, 1, "-", NULL } /* "" refused below */,
		{ { "--secret", "s", "A" }, 0, "s", NULL, 0, 0, 1, "A", NULL },
	};
	for (size_t i = 0; i < N(cases); i++) {
		const char *args[MAXARGS] = { 0 };
		char *out, *err;
		int nargs = -1;
		int rc = parse(&cmd, cases[i].argv, args, &nargs, &out, &err);
		if (i == 13) {
			/* --data is OPTION_NONEMPTY */
			CHECK_INT_IDX(rc, OPTIONS_ERROR, i);
			CHECK_IDX(strstr(err, "l'option --data attend une valeur non vide") != NULL, i);
			continue;
		}
		CHECK_INT_IDX(rc, OPTIONS_OK, i);
		CHECK_STR_IDX(err, "", i);
		CHECK_INT_IDX(got.json, cases[i].json, i);
		CHECK_IDX(cases[i].data ? got.data && !strcmp(got.data, cases[i].data) : !got.data, i);
		CHECK_IDX(cases[i].when ? got.when && !strcmp(got.when, cases[i].when) : !got.when, i);
		CHECK_INT_IDX(got.port, cases[i].port, i);
		CHECK_INT_IDX(got.calls, cases[i].calls, i);
		CHECK_INT_IDX(nargs, cases[i].nargs, i);
		CHECK_STR_IDX(args[0], cases[i].arg0, i);
		CHECK_IDX(cases[i].arg1 ? args[1] && !strcmp(args[1], cases[i].arg1) : !args[1], i);
	}
}

TEST(options_parse_errors)
{
	h_setup();
	static const struct {
		const char *argv[8];
		const char *err;
	} cases[] = {
		{ { "--bizarre", "A" }, "prog : option inconnue : « --bizarre » (voir prog essai --help).\n" },
		{ { "--bizarre=1", "A" }, "prog : option inconnue : « --bizarre » (voir prog essai --help).\n" },
		{ { "-z", "A" }, "prog : option inconnue : « -z » (voir prog essai --help).\n" },
		{ { "A", "--data" }, "prog : l'option --data attend une valeur (DOSSIER) (voir prog essai --help).\n" },
		{ { "--data", "--json", "A" }, "l'option --data attend une valeur (DOSSIER)" },
		{ { "--json=oui", "A" }, "l'option --json ne prend pas de valeur" },
		{ { "--tick=1", "A" }, "l'option --tick ne prend pas de valeur" },
		{ { "--json", "-j", "A" }, "l'option --json est donnée deux fois" },
		{ { "--data", "a", "--data=b", "A" }, "l'option --data est donnée deux fois" },
		{ { "A", "B", "C" }, "argument en trop : « C »" },
		{ { "--json" }, "prog : identifiant manquant (voir prog essai --help).\n" },
		{ { NULL }, "identifiant manquant" },
		{ { "--port", "0", "A" }, "l'option --port attend un nombre entier de 1 à 65535, pas « 0 »" },
		{ { "--port", "8o", "A" }, "pas « 8o »" },
		{ { "--date", "31/01", "A" }, "prog : date « 31/01 » invalide (voir prog essai --help).\n" },
		{ { "--each", "non", "A" }, "« non » refusé" },
		{ { "--data=", "A" }, "attend une valeur non vide" },
	};
	for (size_t i = 0; i < N(cases); i++) {
		const char *args[MAXARGS] = { 0 };
		char *out, *err;
		int nargs = 0;
		int rc = parse(&cmd, cases[i].argv, args, &nargs, &out, &err);
		CHECK_INT_IDX(rc, OPTIONS_ERROR, i);
		CHECK_STR_IDX(out, "", i);
		if (!strstr(err, cases[i].err))
			test_fail(__FILE__, __LINE__, "case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].err);
		CHECK_IDX(strstr(err, cases[i].err) != NULL, i);
	}

	/* A command without positional arguments, one with any number, one
	 * with a required option. */
	static const struct option req[] = {
		OPT_STRING_F(0, "to", &got.data, "FICHIER", "cible", OPTION_REQUIRED),
		OPT_END(),
	};
	const struct options_cmd none = { .prog = &prog, .cmd = "rien", .options = req };
	char *out, *err;
	CHECK_INT(parse(&none, (const char *[]){ "-h", NULL }, NULL, NULL, &out, &err), OPTIONS_HELP);
	CHECK_STR(out, "Usage : prog rien\n\nOptions :\n  --to FICHIER   cible (obligatoire)\n");
	const struct options_cmd any = { .prog = &prog, .cmd = "tout", .max_args = -1 };
	const char *args[MAXARGS];
	int nargs;
	CHECK_INT(parse(&none, (const char *[]){ "x", NULL }, NULL, NULL, &out, &err), OPTIONS_ERROR);
	CHECK_STR(err, "prog : argument inattendu : « x » (voir prog rien --help).\n");
	CHECK_INT(parse(&none, (const char *[]){ NULL }, NULL, NULL, &out, &err), OPTIONS_ERROR);
	CHECK_STR(err, "prog : l'option --to est obligatoire (voir prog rien --help).\n");
	CHECK_INT(parse(&none, (const char *[]){ "--to", "f", NULL }, NULL, NULL, &out, &err), OPTIONS_OK);
	CHECK_STR(got.data, "f");
	CHECK_INT(parse(&any, (const char *[]){ "a", "b", "c", "--bizarre", NULL }, args, &nargs, &out, &err),
		  OPTIONS_ERROR);
	CHECK(strstr(err, "option inconnue : « --bizarre »") != NULL);
	CHECK_INT(parse(&any, (const char *[]){ "a", "b", "c", NULL }, args, &nargs, &out, &err), OPTIONS_OK);
	CHECK_INT(nargs, 3);
	CHECK_STR(args[2], "c");
}

TEST(options_help_text)
{
	h_setup();
	const char *args[MAXARGS];
	char *out, *err;
	int nargs;
	/* --help wins over any mistake, wherever it stands, but not after "--". */
	static const char *const forms[][5] = {
		{ "--help" }, { "-h" }, { "--bizarre", "--help" }, { "A", "B", "C", "-h" },
	};
	for (size_t i = 0; i < N(forms); i++) {
		CHECK_INT_IDX(parse(&cmd, forms[i], args, &nargs, &out, &err), OPTIONS_HELP, i);
		CHECK_STR_IDX(err, "", i);
	}
	CHECK_INT(parse(&cmd, (const char *[]){ "--", "--help", NULL }, args, &nargs, &out, &err),
		  OPTIONS_OK);
	CHECK_STR(args[0], "--help");

	CHECK_INT(parse(&cmd, (const char *[]){ "--help", NULL }, args, &nargs, &out, &err), OPTIONS_HELP);
	CHECK_STR(out,
		  "Usage : prog essai [OPTIONS] ID [ID]\n"
		  "   ou : prog essai autre forme\n"
		  "\n"
		  "Un essai du parseur.\n"
		  "\n"
		  "Options :\n"
		  "  -j, --json           sortie JSON\n"
		  "  -d, --data DOSSIER   dossier de données\n"
		  "  --port PORT          port d'écoute\n"
		  "                       sur deux lignes\n"
		  "  --date AAAA-MM-JJ    date du jour\n"
		  "  --each VAL           répétable\n"
		  "  --tick               sans valeur\n"
		  "\n"
		  "Sous-commandes :\n"
		  "  sous            sa sous-commande\n"
		  "  sous-ensemble   une autre, plus longue\n"
		  "\n"
		  "Fin de l'aide.\n");

	/* Groups head their options; a command without options has no list. */
	static const struct option grouped[] = {
		OPT_GROUP("Options d'essai :"),
		OPT_FLAG(0, "vite", &got.json, "plus vite"),
		OPT_END(),
	};
	static const struct options_prog quiet = { "prog", NULL };
	const struct options_cmd g = { .prog = &quiet, .usage = "[--vite]", .options = grouped };
	CHECK_INT(parse(&g, (const char *[]){ "-h", NULL }, NULL, NULL, &out, &err), OPTIONS_HELP);
	CHECK_STR(out, "Usage : prog [--vite]\n\nOptions d'essai :\n  --vite   plus vite\n");
	const struct options_cmd bare = { .prog = &prog, .cmd = "nu" };
	CHECK_INT(parse(&bare, (const char *[]){ "-h", NULL }, NULL, NULL, &out, &err), OPTIONS_HELP);
	CHECK_STR(out, "Usage : prog nu\n");
	const struct options_cmd top = { .prog = &prog, .usage = "COMMANDE" };
	CHECK_INT(parse(&top, (const char *[]){ "-h", NULL }, NULL, NULL, &out, &err), OPTIONS_HELP);
	CHECK_STR(out, "Usage : prog COMMANDE\n\nCommandes :\n"
		  "  essai                 la commande\n"
		  "  essai sous            sa sous-commande\n"
		  "  essai sous-ensemble   une autre, plus longue\n"
		  "  nu                    sans rien\n");
}

TEST(options_group_words)
{
	static const struct {
		const char *argv[3];
		int rc;
		const char *out, *err;
	} cases[] = {
		{ { "--help" }, 0, "Usage : prog essai SOUS-COMMANDE\n", "" },
		{ { "-h" }, 0, "Usage : prog essai SOUS-COMMANDE\n", "" },
		{ { "frob" }, OPTIONS_EXIT_USAGE, "",
		  "prog : sous-commande inconnue « frob » (voir prog essai --help).\n" },
		{ { NULL }, OPTIONS_EXIT_USAGE, "",
		  "prog : indiquez une sous-commande (voir prog essai --help).\n" },
	};
	static const struct options_prog quiet = { "prog", NULL };
	const struct options_cmd c = { .prog = &quiet, .cmd = "essai", .usage = "SOUS-COMMANDE" };
	h_setup();
	for (size_t i = 0; i < N(cases); i++) {
		char *out, *err;
		CHECK_INT_IDX(group(&c, cases[i].argv, &out, &err), cases[i].rc, i);
		CHECK_STR_IDX(out, cases[i].out, i);
		CHECK_STR_IDX(err, cases[i].err, i);
	}
}

TEST(options_command_lookup)
{
	static const struct {
		const char *argv[4];
		int run, words;
	} cases[] = {
		{ { "essai" }, 1, 1 },
		{ { "essai", "sous", "x" }, 2, 2 },
		{ { "essai", "sous-ensemble" }, 3, 2 },
		{ { "essai", "sou" }, 1, 1 },
		{ { "essais" }, 0, 0 },
		{ { "sous" }, 0, 0 },
		{ { NULL }, 0, 0 },
	};
	h_setup();
	for (size_t i = 0; i < N(cases); i++) {
		int argc = 0, words = -1;
		while (cases[i].argv[argc])
			argc++;
		const struct test_command *t = options_find_command(
			table, N(table), sizeof(table[0]), argc, (char **)cases[i].argv, &words);
		CHECK_INT_IDX(t ? t->run : 0, cases[i].run, i);
		CHECK_INT_IDX(words, cases[i].words, i);
	}
}
