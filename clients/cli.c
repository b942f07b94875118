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

int cli_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned c = *p;
		size_t n;
		unsigned cp;
		if (c < 0x80) {
			p++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		for (size_t i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		p += n + 1;
	}
	return 1;
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
