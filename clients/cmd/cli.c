#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

void cli_error(const char *fmt, ...)
{
	va_list ap;
	fputs("relais : ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

size_t cli_utf8_width(const char *s, size_t n)
{
	size_t w = 0;
	for (size_t i = 0; i < n && s[i]; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			w++;
	return w;
}

size_t cli_utf8_prefix(const char *s, size_t max)
{
	size_t i = 0, w = 0;
	while (s[i]) {
		if (((unsigned char)s[i] & 0xc0) != 0x80) {
			if (w == max)
				break;
			w++;
		}
		i++;
	}
	return i;
}

char *cli_cell_fit(char *s)
{
	if (!s)
		return NULL;
	size_t keep = cli_utf8_prefix(s, CLI_CELL_MAX);
	if (!s[keep])
		return s;
	size_t cut = cli_utf8_prefix(s, CLI_CELL_MAX - 1);
	char *t = malloc(cut + sizeof("…"));
	if (t) {
		memcpy(t, s, cut);
		memcpy(t + cut, "…", sizeof("…"));
	}
	free(s);
	return t;
}

void cli_print_padded(const char *s, size_t width, int last)
{
	fputs(s, stdout);
	if (last)
		return;
	for (size_t w = cli_utf8_width(s, strlen(s)); w < width + 2; w++)
		putchar(' ');
}

int cli_is_help(const char *arg)
{
	return !strcmp(arg, "--help") || !strcmp(arg, "-h");
}

void cli_print_field(const char *label, const char *value)
{
	printf("%s :%s", label, *value ? " " : "");
	for (const char *p = value; *p; p++) {
		putchar(*p);
		if (*p == '\n' && p[1])
			fputs("    ", stdout);
	}
	putchar('\n');
}
