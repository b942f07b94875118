/*
 * options.c - the option parser described as data (options.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "options.h"
#include "util.h"

#define OPTIONS_MAX 256        /* options of one command; the widest table has ~40 */
#define HELP_COLUMN_MAX 34     /* a wider option is not aligned with the others */
#define NAME_MAX_LEN 128

static void vfail(const struct options_cmd *c, const char *fmt, va_list ap)
{
	const char *prog = c->prog ? c->prog->name : "relais";
	fprintf(stderr, "%s : ", prog);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, " (voir %s%s%s --help).\n", prog, c->cmd ? " " : "", c->cmd ? c->cmd : "");
}

void options_usage_error(const struct options_cmd *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail(c, fmt, ap);
	va_end(ap);
}

static int fail(const struct options_cmd *c, const char *fmt, ...) RELAIS_PRINTF(2, 3);
static int fail(const struct options_cmd *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail(c, fmt, ap);
	va_end(ap);
	return OPTIONS_ERROR;
}

void options_name(const struct option *o, char *out, size_t outlen)
{
	if (o->long_name)
		snprintf(out, outlen, "--%s", o->long_name);
	else
		snprintf(out, outlen, "-%c", o->short_name);
}

static int takes_value(const struct option *o)
{
	if (o->type == OPTION_FLAG)
		return 0;
	return !(o->type == OPTION_CALLBACK && (o->flags & OPTION_NOARG));
}

static int is_help(const char *a)
{
	return !strcmp(a, "--help") || !strcmp(a, "-h");
}

/* Finds the option of "--name" (nl bytes of name) or of "-c". */
static const struct option *find_long(const struct option *opts, const char *name, size_t nl)
{
	for (const struct option *o = opts; o && o->type != OPTION_END; o++)
		if (o->type != OPTION_GROUP && o->long_name && strlen(o->long_name) == nl &&
		    !strncmp(o->long_name, name, nl))
			return o;
	return NULL;
}

static const struct option *find_short(const struct option *opts, char c)
{
	for (const struct option *o = opts; o && o->type != OPTION_END; o++)
		if (o->type != OPTION_GROUP && o->short_name == c)
			return o;
	return NULL;
}

/* Stores value (NULL for an option without one) into o's target. */
static int store(const struct options_cmd *c, const struct option *o, const char *name,
		 const char *value)
{
	char err[512] = "";
	switch (o->type) {
	case OPTION_END:
	case OPTION_GROUP:
		break;
	case OPTION_FLAG:
		*(int *)o->value = 1;
		return 0;
	case OPTION_STRING:
	case OPTION_DATE:
		if (o->call && o->call(o, value, err, sizeof(err)))
			return fail(c, "%s", err);
		*(const char **)o->value = value;
		return 0;
	case OPTION_INTEGER: {
		long long n;
		if (util_parse_ll(value, o->min, o->max, &n))
			return fail(c, "l'option %s attend un nombre entier de %lld à %lld, pas « %s »",
				    name, o->min, o->max, value);
		*(long long *)o->value = n;
		return 0;
	}
	case OPTION_CALLBACK:
		if (o->call(o, value, err, sizeof(err)))
			return fail(c, "%s", err);
		return 0;
	}
	return 0;
}

int options_parse(const struct options_cmd *c, int argc, char **argv, const char **args,
		  int *nargs)
{
	unsigned char seen[OPTIONS_MAX] = { 0 };
	const struct option *opts = c->options;
	int n = 0, dashdash = 0;

	for (int i = 0; i < argc && strcmp(argv[i], "--"); i++)
		if (is_help(argv[i])) {
			options_help(stdout, c);
			return OPTIONS_HELP;
		}
	if (nargs)
		*nargs = 0;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *value = NULL, *inline_value = NULL;
		const struct option *o;
		char name[NAME_MAX_LEN];
		if (!dashdash && !strcmp(a, "--")) {
			dashdash = 1;
			continue;
		}
		if (dashdash || a[0] != '-' || !a[1]) {
			if (c->max_args >= 0 && n >= c->max_args) {
				if (c->max_args == 0)
					return fail(c, "argument inattendu : « %s »", a);
				return fail(c, "argument en trop : « %s »", a);
			}
			args[n++] = a;
			continue;
		}
		if (a[1] == '-') {
			const char *eq = strchr(a + 2, '=');
			size_t nl = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
			if (!(o = find_long(opts, a + 2, nl)))
				return fail(c, "option inconnue : « %.*s »", (int)(nl + 2), a);
			if (eq)
				inline_value = eq + 1;
		} else {
			if (!(o = find_short(opts, a[1])))
				return fail(c, "option inconnue : « -%c »", a[1]);
			if (a[2])
				inline_value = a + 2;
		}
		options_name(o, name, sizeof(name));
		size_t k = (size_t)(o - opts);
		if (k >= OPTIONS_MAX)
			return fail(c, "trop d'options");
		if (seen[k] && !(o->flags & OPTION_REPEAT))
			return fail(c, "l'option %s est donnée deux fois", name);
		seen[k] = 1;
		if (!takes_value(o)) {
			if (inline_value)
				return fail(c, "l'option %s ne prend pas de valeur", name);
		} else if (inline_value) {
			value = inline_value;
		} else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2)) {
			value = argv[++i];
		} else if (o->argh) {
			return fail(c, "l'option %s attend une valeur (%s)", name, o->argh);
		} else {
			return fail(c, "l'option %s attend une valeur", name);
		}
		if (value && !*value && (o->flags & OPTION_NONEMPTY))
			return fail(c, "l'option %s attend une valeur non vide", name);
		if (store(c, o, name, value))
			return OPTIONS_ERROR;
	}
	for (const struct option *o = opts; o && o->type != OPTION_END; o++) {
		if ((o->flags & OPTION_REQUIRED) && !seen[o - opts]) {
			char name[NAME_MAX_LEN];
			options_name(o, name, sizeof(name));
			return fail(c, "l'option %s est obligatoire", name);
		}
	}
	if (n < c->min_args)
		return fail(c, "%s manquant", c->arg_name ? c->arg_name : "argument");
	if (nargs)
		*nargs = n;
	return OPTIONS_OK;
}

int options_parse_cmd(const struct options_cmd *c, int argc, char **argv, const char **args,
		      int *nargs)
{
	int rc = options_parse(c, argc, argv, args, nargs);
	return rc == OPTIONS_HELP ? -1 : rc == OPTIONS_ERROR ? OPTIONS_EXIT_USAGE : 0;
}

int options_group(const struct options_cmd *c, int argc, char **argv)
{
	if (argc > 0 && is_help(argv[0])) {
		options_help(stdout, c);
		return 0;
	}
	if (argc > 0)
		options_usage_error(c, "sous-commande inconnue « %s »", argv[0]);
	else
		options_usage_error(c, "indiquez une sous-commande");
	return OPTIONS_EXIT_USAGE;
}

/* "-d, --data DOSSIER" into out. */
static void option_lhs(const struct option *o, char *out, size_t outlen)
{
	size_t len = 0;
	if (o->short_name)
		len = (size_t)snprintf(out, outlen, "-%c%s", o->short_name, o->long_name ? ", " : "");
	if (len < outlen && o->long_name)
		len += (size_t)snprintf(out + len, outlen - len, "--%s", o->long_name);
	if (len < outlen && takes_value(o) && o->argh)
		snprintf(out + len, outlen - len, " %s", o->argh);
}

static int visible(const struct option *o)
{
	return o->type != OPTION_GROUP && !(o->flags & OPTION_HIDDEN);
}

/* Prints text with each continuation line indented by indent spaces, and
 * " (obligatoire)" after it when required. */
static void print_indented(FILE *f, const char *text, size_t indent, int required)
{
	for (const char *p = text; *p; p++) {
		fputc(*p, f);
		if (*p == '\n' && p[1])
			fprintf(f, "%*s", (int)indent, "");
	}
	fprintf(f, "%s\n", required ? " (obligatoire)" : "");
}

/* The column where the help of the options from o to the next group
 * starts: each group is aligned on its own. */
static size_t help_column(const struct option *o)
{
	char lhs[NAME_MAX_LEN + 64];
	size_t col = 0;
	for (; o->type != OPTION_END && o->type != OPTION_GROUP; o++) {
		if (!visible(o))
			continue;
		option_lhs(o, lhs, sizeof(lhs));
		size_t w = util_utf8_width(lhs);
		if (w <= HELP_COLUMN_MAX && w > col)
			col = w;
	}
	return col;
}

static void print_options(FILE *f, const struct option *opts)
{
	char lhs[NAME_MAX_LEN + 64];
	size_t col = 0;
	int any = 0;
	for (const struct option *o = opts; o && o->type != OPTION_END; o++)
		any |= visible(o);
	if (!any)
		return;
	if (opts->type != OPTION_GROUP) {
		fprintf(f, "\nOptions :\n");
		col = help_column(opts);
	}
	for (const struct option *o = opts; o->type != OPTION_END; o++) {
		if (o->type == OPTION_GROUP) {
			fprintf(f, "\n%s\n", o->help);
			col = help_column(o + 1);
			continue;
		}
		if (!visible(o))
			continue;
		option_lhs(o, lhs, sizeof(lhs));
		size_t w = util_utf8_width(lhs);
		fprintf(f, "  %s%*s   ", lhs, (int)(w < col ? col - w : 0), "");
		print_indented(f, o->help ? o->help : "", col + 5, (o->flags & OPTION_REQUIRED) != 0);
	}
}

void options_help(FILE *f, const struct options_cmd *c)
{
	const char *prog = c->prog ? c->prog->name : "relais";
	const char *cmd = c->cmd ? c->cmd : "";
	const char *sep = c->cmd ? " " : "";
	const char *u = c->usage ? c->usage : "";
	fprintf(f, "Usage : %s%s%s", prog, sep, cmd);
	/* Each further form of the usage goes on its own line, aligned. */
	for (int first = 1; first || *u; first = 0) {
		const char *nl = strchr(u, '\n');
		size_t len = nl ? (size_t)(nl - u) : strlen(u);
		if (!first)
			fprintf(f, "\n   ou : %s%s%s", prog, sep, cmd);
		if (len)
			fprintf(f, " %.*s", (int)len, u);
		u += len + (nl != NULL);
	}
	fputc('\n', f);
	if (c->about)
		fprintf(f, "\n%s", c->about);
	print_options(f, c->options);
	if (c->prog && c->prog->list_commands)
		c->prog->list_commands(f, c->cmd);
	if (c->footer)
		fprintf(f, "\n%s", c->footer);
}

void options_print_command(FILE *f, const char *name, const char *summary, size_t w)
{
	size_t have = util_utf8_width(name);
	fprintf(f, "  %s%*s   %s\n", name, (int)(have < w ? w - have : 0), "", summary);
}

static const struct options_command *entry(const void *table, size_t size, size_t i)
{
	return (const struct options_command *)(const void *)((const char *)table + i * size);
}

/* The number of words of name when argv starts with them, else 0. */
static int words_match(const char *name, int argc, char **argv)
{
	int k = 0;
	for (const char *p = name; *p; k++) {
		size_t len = strcspn(p, " ");
		if (k >= argc || strlen(argv[k]) != len || strncmp(argv[k], p, len))
			return 0;
		p += len;
		p += *p == ' ';
	}
	return k;
}

const void *options_find_command(const void *table, size_t n, size_t size, int argc,
				 char **argv, int *words)
{
	const struct options_command *best = NULL;
	*words = 0;
	for (size_t i = 0; i < n; i++) {
		int k = words_match(entry(table, size, i)->name, argc, argv);
		if (k > *words) {
			*words = k;
			best = entry(table, size, i);
		}
	}
	return best;
}

/* The part of name listed under cmd: all of it, or what follows "cmd ". */
static const char *listed_name(const char *name, const char *cmd)
{
	if (!cmd)
		return name;
	size_t len = strlen(cmd);
	if (strncmp(name, cmd, len) || name[len] != ' ')
		return NULL;
	return name + len + 1;
}

size_t options_list_commands(FILE *f, const void *table, size_t n, size_t size,
			     const char *cmd)
{
	size_t w = 0, count = 0;
	for (size_t i = 0; i < n; i++) {
		const char *name = listed_name(entry(table, size, i)->name, cmd);
		if (name && util_utf8_width(name) > w)
			w = util_utf8_width(name);
		count += name != NULL;
	}
	if (!count)
		return 0;
	fprintf(f, "\n%s\n", cmd ? "Sous-commandes :" : "Commandes :");
	for (size_t i = 0; i < n; i++) {
		const struct options_command *e = entry(table, size, i);
		const char *name = listed_name(e->name, cmd);
		if (name)
			options_print_command(f, name, e->summary, w);
	}
	return count;
}

void options_translate(int argc, char **argv, const struct options_alias *aliases, size_t n)
{
	for (int i = 0; i < argc && strcmp(argv[i], "--"); i++) {
		int pos = i < 2 && argv[i][0] != '-' ? i : -1;
		for (size_t k = 0; k < n; k++) {
			const struct options_alias *a = &aliases[k];
			size_t len = strlen(a->old);
			if (a->pos != pos || (a->after && (!i || strcmp(argv[i - 1], a->after))))
				continue;
			if (!strcmp(argv[i], a->old)) {
				argv[i] = (char *)a->word;
				break;
			}
			if (a->old[0] == '-' && !strncmp(argv[i], a->old, len) && argv[i][len] == '=') {
				/* Kept until the process ends: argv lives that long. */
				size_t m = strlen(a->word) + strlen(argv[i] + len) + 1;
				char *w = malloc(m);
				if (w) {
					snprintf(w, m, "%s%s", a->word, argv[i] + len);
					argv[i] = w;
				}
				break;
			}
		}
	}
}
