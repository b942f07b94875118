/*
 * options.h - the one option parser of relais and relaisd, described as
 * data (git's parse-options): each command declares an array of struct
 * option ended by OPT_END(), and a struct options_cmd naming the command,
 * its usage line, its texts and how many positional arguments it takes.
 * options_parse() reads argv from that description and prints --help from
 * it; no command walks argv by hand.
 *
 * Forms read: "--name value", "--name=value", "-n value", "-nvalue" for an
 * option with a value; "--name" or "-n" for a flag; "--" ends the options.
 * A value given apart from its option may not itself start with "--" (a
 * forgotten value must not swallow the next option): "--name=--x" says it.
 * "-" alone is a positional argument (the standard input).
 *
 * Messages are French, on stderr, prefixed with the program's name, and end
 * with the --help to read.
 */
#ifndef RELAIS_OPTIONS_H
#define RELAIS_OPTIONS_H

#include <stddef.h>
#include <stdio.h>
#include "relais.h"

enum option_type {
	OPTION_END = 0,
	OPTION_GROUP,     /* a heading of the option list in --help: help is the heading */
	OPTION_FLAG,      /* int *value set to 1; takes no value */
	OPTION_STRING,    /* const char **value: the value as typed (a pointer into argv) */
	OPTION_INTEGER,   /* long long *value: a decimal integer in [min, max] */
	OPTION_DATE,      /* const char **value, checked by check (dates have model spellings) */
	OPTION_CALLBACK,  /* call(opt, value or NULL for a flag-like one) stores it */
};

/* Option flags. */
#define OPTION_REPEAT   0x01u /* may be given more than once (the last one counts, or call runs again) */
#define OPTION_REQUIRED 0x02u /* must be given */
#define OPTION_NONEMPTY 0x04u /* "" is refused */
#define OPTION_NOARG    0x08u /* OPTION_CALLBACK: takes no value (call gets NULL) */
#define OPTION_HIDDEN   0x10u /* read, but not shown in --help */

struct option;
/*
 * Checks or stores value for o. Returns 0, or writes a French message
 * (without the program's prefix) into err and returns -1: the parse stops
 * with a usage error showing it.
 */
typedef int (*option_fn)(const struct option *o, const char *value, char *err, size_t errlen);

struct option {
	enum option_type type;
	char short_name;          /* 'h' for -h, or 0 */
	const char *long_name;    /* without "--" */
	void *value;              /* where the value goes (see the types); ctx of a callback */
	const char *argh;         /* the value's placeholder in --help: "DOSSIER" */
	const char *help;         /* French; "\n" starts a continuation line */
	unsigned flags;           /* OPTION_* */
	long long min, max;       /* OPTION_INTEGER */
	option_fn call;           /* OPTION_CALLBACK: stores; OPTION_STRING/DATE: checks (may be NULL) */
};

#define OPT_END() { OPTION_END, 0, NULL, NULL, NULL, NULL, 0, 0, 0, NULL }
#define OPT_GROUP(h) { OPTION_GROUP, 0, NULL, NULL, NULL, (h), 0, 0, 0, NULL }
#define OPT_FLAG(s, l, v, h) { OPTION_FLAG, (s), (l), (v), NULL, (h), 0, 0, 0, NULL }
#define OPT_STRING(s, l, v, a, h) { OPTION_STRING, (s), (l), (v), (a), (h), 0, 0, 0, NULL }
#define OPT_STRING_F(s, l, v, a, h, f) { OPTION_STRING, (s), (l), (v), (a), (h), (f), 0, 0, NULL }
#define OPT_INTEGER(s, l, v, a, h, lo, hi) \
	{ OPTION_INTEGER, (s), (l), (v), (a), (h), 0, (lo), (hi), NULL }
#define OPT_DATE(s, l, v, h, check) \
	{ OPTION_DATE, (s), (l), (v), "AAAA-MM-JJ", (h), 0, 0, 0, (check) }
#define OPT_CALLBACK(s, l, ctx, a, h, f, fn) \
	{ OPTION_CALLBACK, (s), (l), (ctx), (a), (h), (f), 0, 0, (fn) }

/* A program: its name (the prefix of messages and of usage lines) and, for
 * the help of a command, who lists that command's sub-commands. */
struct options_prog {
	const char *name;   /* "relais" */
	/* Prints the sub-commands of cmd ("export" lists "export annuaire"),
	 * or every command when cmd is NULL, each on a line, under a heading
	 * when there are any (options_list_commands); may be NULL. */
	void (*list_commands)(FILE *f, const char *cmd);
};

/* A command: what options_parse() reads and what --help shows. */
struct options_cmd {
	const struct options_prog *prog;
	const char *cmd;       /* the command's words, "candidature decider"; NULL for the program */
	const char *usage;     /* after "Usage : prog cmd ": "ID --decision DÉCISION"; "\n" for another form */
	const char *about;     /* paragraphs after the usage line, or NULL */
	const struct option *options;  /* ended by OPT_END(); may be NULL */
	const char *footer;    /* printed after the options and sub-commands, or NULL */
	int min_args, max_args;        /* positional arguments; max_args < 0: any number */
	const char *arg_name;  /* what a positional argument is, for "… manquant" ("identifiant") */
};

/* What options_parse() returns. */
#define OPTIONS_OK 0
#define OPTIONS_HELP 1    /* --help (or -h) was asked and printed on stdout */
#define OPTIONS_ERROR (-1) /* the command line is wrong; the message was printed */

/*
 * Parses argv[0..argc) (what follows the command's words) against c. The
 * targets of the options given are set; the positional arguments, in order,
 * go to args (room for max_args of them, or argc when max_args < 0) and
 * their count to *nargs (args and nargs may be NULL when max_args is 0).
 * --help anywhere wins over every mistake. Returns OPTIONS_OK, OPTIONS_HELP
 * or OPTIONS_ERROR. Does not modify argv.
 */
int options_parse(const struct options_cmd *c, int argc, char **argv, const char **args,
		  int *nargs) RELAIS_WUR;

/* The exit status of a malformed command line, in both programs. */
#define OPTIONS_EXIT_USAGE 2

/* options_parse() for a command's entry point: returns 0 to go on, -1
 * after --help (the command then exits 0), or OPTIONS_EXIT_USAGE. */
int options_parse_cmd(const struct options_cmd *c, int argc, char **argv, const char **args,
		      int *nargs) RELAIS_WUR;

/* For a word that only groups sub-commands ("relaisd user"): argv[0..argc)
 * follows it. Prints c's help on stdout for --help and returns 0; else says
 * which sub-command is unknown or that one is missing, and returns
 * OPTIONS_EXIT_USAGE. */
int options_group(const struct options_cmd *c, int argc, char **argv);

/*
 * The words of an earlier release, still understood: old is read as word
 * where it stands at position pos of the command line (0 the command, 1 its
 * sub-command; -1 anywhere, for options and values) and, when after is not
 * NULL, only right after that word (an option's value). "--old=value" is
 * read as "--word=value" too when old is an option.
 */
struct options_alias {
	int pos;
	const char *after;
	const char *old, *word;
};
/* Rewrites argv[0..argc) (up to a "--") in place by the aliases; the
 * strings it puts there are the aliases' own (static) or made once and
 * kept for the life of the process. */
void options_translate(int argc, char **argv, const struct options_alias *aliases, size_t n);

/* Prints the help of c: usage, about, options, sub-commands, footer. */
void options_help(FILE *f, const struct options_cmd *c);

/* Prints "prog : ", the message, " (voir prog cmd --help)." on stderr, for
 * a mistake the command finds after parsing (a missing identifier, two
 * options that exclude each other). fmt ends without a full stop. */
void options_usage_error(const struct options_cmd *c, const char *fmt, ...) RELAIS_PRINTF(2, 3);

/* Prints one line of a command list, "  name   summary", name padded to
 * width columns (code points). */
void options_print_command(FILE *f, const char *name, const char *summary, size_t width);

/*
 * A program's command table: an array whose entries each start with a
 * struct options_command (the program adds what it runs after it), as
 * qsort's and bsearch's arrays are described by their size.
 */
struct options_command {
	const char *name;      /* the words: "user add" */
	const char *summary;   /* French, one line */
};

/* The entry of table (n entries of size bytes) whose words start argv and
 * are the most of them, or NULL; *words receives how many. */
const void *options_find_command(const void *table, size_t n, size_t size, int argc,
				 char **argv, int *words);

/* Lists the commands of table under "Commandes :" when cmd is NULL (full
 * names), or the sub-commands of cmd under "Sous-commandes :" (the words
 * after cmd's); prints nothing when there are none. Returns how many. */
size_t options_list_commands(FILE *f, const void *table, size_t n, size_t size,
			     const char *cmd);

/* The long form ("--data") or else the short one ("-h") of o, into out. */
void options_name(const struct option *o, char *out, size_t outlen);

#endif
