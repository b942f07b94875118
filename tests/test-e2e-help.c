/*
 * test-e2e-help.c - every command the documentation names is in --help:
 * the commands of README.md and the docs/ pages (their code lines starting with
 * "relais " or "relaisd ") are listed by the program's --help, and a
 * sub-command by its parent's --help too, through the real binaries.
 */
#include <ctype.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "test.h"

#define MAX_CMDS 256

struct doc_cmd {
	char prog[8];        /* relais or relaisd */
	char w1[32], w2[32]; /* the command's words; w2 may be empty */
	char where[96];      /* file:line, for the failure message */
};

static int is_word(const char *s, size_t n)
{
	if (!n || n >= 32 || !islower((unsigned char)s[0]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '-')
			return 0;
	return 1;
}

/* Reads the command words of one code line ("relais --dossier D export
 * annuaire --format csv") into c; returns 1 when it names a command. */
static int parse_line(const char *line, struct doc_cmd *c)
{
	const char *p = line;
	size_t n;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!strncmp(p, "relaisd ", 8))
		snprintf(c->prog, sizeof(c->prog), "relaisd");
	else if (!strncmp(p, "relais ", 7))
		snprintf(c->prog, sizeof(c->prog), "relais");
	else
		return 0;
	p += strlen(c->prog);
	c->w1[0] = c->w2[0] = 0;
	for (int k = 0; k < 2;) {
		while (*p == ' ')
			p++;
		n = strcspn(p, " \n");
		if ((n == 6 && !strncmp(p, "--home", 6)) || (n == 9 && !strncmp(p, "--dossier", 9))) {
			p += n;
			while (*p == ' ')
				p++;
			p += strcspn(p, " \n");
			continue;
		}
		if (!is_word(p, n))
			break;
		snprintf(k ? c->w2 : c->w1, 32, "%.*s", (int)n, p);
		p += n;
		k++;
	}
	return c->w1[0] != 0;
}

/* The commands named in the code of README.md and the docs/ pages: fenced
 * blocks and lines indented by four spaces or a tab. */
static size_t doc_commands(struct doc_cmd *out, size_t max)
{
	glob_t g;
	size_t n = 0;
	if (glob("docs/*.md", 0, NULL, &g))
		return 0;
	for (size_t f = 0; f <= g.gl_pathc; f++) {
		const char *path = f < g.gl_pathc ? g.gl_pathv[f] : "README.md";
		FILE *fp = fopen(path, "r");
		char line[1024];
		int fence = 0, ln = 0;
		if (!fp)
			continue;
		while (fgets(line, sizeof(line), fp) && n < max) {
			ln++;
			if (!strncmp(line, "```", 3)) {
				fence = !fence;
				continue;
			}
			if (!fence && strncmp(line, "    ", 4) && line[0] != '\t')
				continue;
			if (parse_line(line, &out[n])) {
				snprintf(out[n].where, sizeof(out[n].where), "%s:%d", path, ln);
				n++;
			}
		}
		fclose(fp);
	}
	globfree(&g);
	return n;
}

/* "prog args… --help": its output, or NULL when it did not exit 0. */
static const char *help_of(const char *home, const char *prog, const char *w1, const char *w2)
{
	struct h_out *o;
	if (!strcmp(prog, "relais")) {
		o = w2 ? h_relais(home, w1, w2, "--help", (char *)NULL)
		       : w1 ? h_relais(home, w1, "--help", (char *)NULL)
			    : h_relais(home, "--help", (char *)NULL);
	} else {
		char *argv[] = { (char *)h_bin("relaisd"), (char *)(w1 ? w1 : "--help"),
				 (char *)(w1 ? (w2 ? w2 : "--help") : NULL),
				 (char *)(w1 && w2 ? "--help" : NULL), NULL };
		o = h_runv(argv, H_TIMEOUT_MS);
	}
	return o->status == 0 ? o->out : NULL;
}

/* Whether the help text lists name as a command: a line "  name   …". */
static int lists(const char *help, const char *name)
{
	const char *line = help;
	size_t n = strlen(name);
	while (line) {
		if (!strncmp(line, "  ", 2) && !strncmp(line + 2, name, n) &&
		    (line[2 + n] == ' ' || line[2 + n] == '\n'))
			return 1;
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
	return 0;
}

TEST(help_lists_every_documented_command)
{
	static struct doc_cmd cmds[MAX_CMDS];
	h_setup();
	const char *home = h_path("home");
	size_t n = doc_commands(cmds, MAX_CMDS);
	CHECK(n > 30);
	const char *top[2] = { help_of(home, "relais", NULL, NULL),
			       help_of(home, "relaisd", NULL, NULL) };
	CHECK(top[0] && top[1]);
	const char *data = strstr(top[0], "Données (ajouter, modifier, supprimer, liste, voir)");
	CHECK(data != NULL);
	for (size_t i = 0; i < n; i++) {
		const struct doc_cmd *c = &cmds[i];
		const char *main_help = top[strcmp(c->prog, "relais") != 0];
		int ok = lists(main_help, c->w1);
		if (ok && c->w2[0]) {
			char both[80], usage[96];
			snprintf(both, sizeof(both), "%s %s", c->w1, c->w2);
			snprintf(usage, sizeof(usage), "Usage : %s %s", c->prog, both);
			const char *sub = help_of(home, c->prog, c->w1, c->w2);
			const char *parent = help_of(home, c->prog, c->w1, NULL);
			/* A sub-command (its help is its own): listed by the program
			 * and by its parent, unless it is a verb of a data table. */
			int is_sub = sub && !strncmp(sub, usage, strlen(usage));
			int table_verb = lists(data, c->w1) && strstr("ajouter modifier supprimer liste voir", c->w2);
			if (is_sub && !table_verb)
				ok = lists(main_help, both) && parent && lists(parent, c->w2);
			else
				ok = parent && strstr(parent, c->w2) != NULL;
		}
		if (!ok)
			test_fail(__FILE__, __LINE__, "%s: « %s %s %s » is not in --help", c->where,
				  c->prog, c->w1, c->w2);
		CHECK_IDX(ok, i);
	}
	/* Issue 16's example: export annuaire, in both helps. */
	const char *exp = help_of(home, "relais", "export", NULL);
	CHECK(exp && lists(exp, "annuaire"));
	CHECK(lists(top[0], "export annuaire"));
}

/* The replica's directory is --dossier, before or after the command word,
 * with its value apart or after "="; --home, the word of earlier releases,
 * is understood the same way. An option without its directory is refused. */
TEST(help_dossier_and_its_english_word)
{
	h_setup();
	const char *dir = h_path("sans-replica");
	const char *forms[][4] = {
		{ "--dossier", dir, "etat", NULL },
		{ "etat", "--dossier", dir, NULL },
		{ h_strf("--dossier=%s", dir), "etat", NULL, NULL },
		{ "--home", dir, "etat", NULL },
		{ h_strf("--home=%s", dir), "etat", NULL, NULL },
	};
	const char *first = NULL;
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		char *argv[6] = { (char *)h_bin("relais") };
		for (size_t k = 0; k < 4 && forms[i][k]; k++)
			argv[k + 1] = (char *)forms[i][k];
		struct h_out *o = h_runv(argv, 10000);
		CHECK_INT_IDX(o->status, 1, (int)i);
		CHECK_IDX(strstr(o->err, h_strf("aucun réplica dans « %s »", dir)) != NULL, (int)i);
		if (!first)
			first = o->err;
		CHECK_STR_IDX(o->err, first, (int)i);
	}
	char *argv[] = { (char *)h_bin("relais"), (char *)"etat", (char *)"--dossier", NULL };
	struct h_out *o = h_runv(argv, 10000);
	CHECK(o->status != 0);
	CHECK(strstr(o->err, "l'option --dossier attend un répertoire") != NULL);
}
