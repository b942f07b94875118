/*
 * test-e2e-guide.c - docs/annee-coordination.md names only what exists.
 *
 * Every command the guide writes as `relais WORDS …` runs with --help and
 * succeeds (the command words are those before the first option, argument
 * in capitals or identifier), and every screen it writes as `/path` answers
 * 200 in a real relais ui over a replica.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "test.h"

#define GUIDE "docs/annee-coordination.md"
#define MAX_SPANS 256

/* The `…` spans of text, malloc'd, into spans; returns how many. */
static size_t code_spans(const char *text, char **spans, size_t max)
{
	size_t n = 0;
	for (const char *p = strchr(text, '`'); p && n < max;) {
		const char *end = strchr(p + 1, '`');
		if (!end)
			break;
		spans[n++] = h_strf("%.*s", (int)(end - p - 1), p + 1);
		p = strchr(end + 1, '`');
	}
	return n;
}

/* The command words of "relais w1 w2 --opt X": "w1 w2". */
static const char *command_words(const char *span)
{
	const char *out = "";
	char *copy = h_strf("%s", span + strlen("relais "));
	for (char *w = strtok(copy, " "); w; w = strtok(NULL, " ")) {
		if (w[0] == '-' || isupper((unsigned char)w[0]) || !islower((unsigned char)w[0]))
			break;
		out = h_strf("%s%s%s", out, *out ? " " : "", w);
	}
	return out;
}

TEST(e2e_guide_names_real_commands_and_screens)
{
	size_t len = 0;
	char *text = h_read_file(GUIDE, &len);
	CHECK(text != NULL);
	if (!text)
		return;
	char *spans[MAX_SPANS];
	size_t n = code_spans(text, spans, MAX_SPANS);
	size_t commands = 0, screens = 0;
	const char *seen = "\n";

	struct h_daemon d;
	char token[H_TOKEN];
	h_setup();
	CHECK(h_daemon_init(&d, "guide") == 0);
	CHECK(h_daemon_user(&d, "coord", "65", "coordinateur", token) == 0);
	CHECK(h_daemon_serve(&d) == 0);
	const char *home = h_replica(&d, "guide", token);
	CHECK(home != NULL);

	for (size_t i = 0; i < n; i++) {
		if (strncmp(spans[i], "relais ", 7))
			continue;
		const char *words = command_words(spans[i]);
		if (!*words || strstr(seen, h_strf("\n%s\n", words)))
			continue;
		seen = h_strf("%s%s\n", seen, words);
		char *argv[8] = { 0 };
		int argc = 0;
		argv[argc++] = (char *)h_bin("relais");
		argv[argc++] = (char *)"--home";
		argv[argc++] = (char *)home;
		char *copy = h_strf("%s", words);
		for (char *w = strtok(copy, " "); w && argc < 6; w = strtok(NULL, " "))
			argv[argc++] = w;
		argv[argc++] = (char *)"--help";
		struct h_out *o = h_runv(argv, H_TIMEOUT_MS);
		if (o->status != 0)
			fprintf(stderr, "  « relais %s --help » : %s\n", words, o->err);
		CHECK_INT_IDX(o->status, 0, (int)i);
		commands++;
	}

	struct h_uip u;
	CHECK(h_uip_open(home, &u) == 0);
	for (size_t i = 0; i < n; i++) {
		if (spans[i][0] != '/')
			continue;
		struct h_http r;
		CHECK_IDX(h_uip_get(&u, spans[i], &r) == 0, (int)i);
		if (r.status != 200)
			fprintf(stderr, "  écran %s : %d\n", spans[i], r.status);
		CHECK_INT_IDX(r.status, 200, (int)i);
		screens++;
	}
	CHECK(h_uip_close(&u) == 0);
	/* The guide walks the year: many commands, the main screens. */
	CHECK(commands >= 30);
	CHECK(screens >= 10);
	CHECK_INT(h_daemon_stop(&d), 0);
}
