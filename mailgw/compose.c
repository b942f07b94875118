/*
 * compose.c - the headers and encodings of every message Relais sends.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../common/util.h"
#include "compose.h"


int compose_is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

/*
 * Copies s into a new string for a header: CR, LF and the other control
 * characters become spaces (header injection), runs of spaces one space,
 * ends trimmed, cut after max bytes at a UTF-8 character boundary.
 */
char *compose_clean(const char *s, size_t max)
{
	size_t n = strlen(s), o = 0, i;
	char *out = malloc(n + 1);

	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			c = ' ';
		if (c == ' ' && (o == 0 || out[o - 1] == ' '))
			continue;
		out[o++] = (char)c;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	if (o > max) {
		o = max;
		while (o > 0 && ((unsigned char)out[o] & 0xc0) == 0x80)
			o--;
	}
	out[o] = '\0';
	return out;
}

/* Length of the longest prefix of s[0..n) of at most max bytes that ends
 * on a UTF-8 character boundary (at least one character when possible). */
static size_t utf8_cut(const char *s, size_t n, size_t max)
{
	size_t k;

	if (n <= max)
		return n;
	k = max;
	while (k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80)
		k--;
	if (k == 0) { /* a character longer than max: take it whole */
		k = 1;
		while (k < n && ((unsigned char)s[k] & 0xc0) == 0x80)
			k++;
	}
	return k;
}

static int put_base64(struct buf *out, const unsigned char *p, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char q[4];
	size_t i;

	for (i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		q[0] = tab[(v >> 18) & 63];
		q[1] = tab[(v >> 12) & 63];
		q[2] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		q[3] = i + 2 < n ? tab[v & 63] : '=';
		buf_append(out, q, 4);
	}
	return buf_error(out);
}

/*
 * Appends s as RFC 2047 B-encoded UTF-8 words, each preceded by a space or,
 * when it would pass COMPOSE_LINE_MAX, by a fold (CRLF SP); *col is the
 * current column. 39 bytes make 52 base64 characters, a 64-character word
 * that fits after any header name used here.
 */
static int put_encoded_words(struct buf *out, size_t *col, const char *s)
{
	size_t n = strlen(s), off = 0;

	while (off < n) {
		size_t k = utf8_cut(s + off, n - off, 39);
		size_t wlen = 12 + (k + 2) / 3 * 4;
		if (*col + 1 + wlen > COMPOSE_LINE_MAX) {
			buf_puts(out, "\r\n ");
			*col = 1;
		} else {
			buf_putc(out, ' ');
			*col += 1;
		}
		buf_puts(out, "=?UTF-8?B?");
		put_base64(out, (const unsigned char *)s + off, k);
		buf_puts(out, "?=");
		*col += wlen;
		off += k;
	}
	return buf_error(out);
}

/* Appends ASCII text word by word, folding before a word that would pass
 * COMPOSE_LINE_MAX (a single longer word stays whole, as RFC 5322 allows). */
static int put_folded_ascii(struct buf *out, size_t *col, const char *s)
{
	while (*s) {
		size_t w;
		while (*s == ' ')
			s++;
		w = strcspn(s, " ");
		if (!w)
			break;
		if (*col + 1 + w > COMPOSE_LINE_MAX) {
			buf_puts(out, "\r\n ");
			*col = 1;
		} else {
			buf_putc(out, ' ');
			*col += 1;
		}
		buf_append(out, s, w);
		*col += w;
		s += w;
	}
	return buf_error(out);
}

/* Appends "Name: value" for an unstructured value, cleaned here. */
int compose_text_header(struct buf *out, const char *name, const char *value)
{
	size_t col = strlen(name) + 1;
	char *v = compose_clean(value, COMPOSE_TEXT_MAX);

	if (!v)
		return RELAIS_ENOMEM;
	buf_printf(out, "%s:", name);
	/* "=?" in plain text would be read back as an encoded word. */
	if (compose_is_ascii(v) && !strstr(v, "=?"))
		put_folded_ascii(out, &col, v);
	else
		put_encoded_words(out, &col, v);
	free(v);
	return buf_puts(out, "\r\n");
}

/* Appends "Name: display <addr>"; name and addr are cleaned here. */
int compose_address_header(struct buf *out, const char *hname, const char *display,
			      const char *addr)
{
	char *d = NULL, *a = NULL;
	size_t col = strlen(hname) + 1;
	int rc;

	a = compose_clean(addr, 320);
	d = compose_clean(display ? display : "", 200);
	if (!a || !d) {
		rc = RELAIS_ENOMEM;
		goto out;
	}
	/* An address with spaces or brackets left in it would change meaning. */
	if (!*a || strpbrk(a, " <>\"()")) {
		rc = RELAIS_EINVAL;
		goto out;
	}
	buf_printf(out, "%s:", hname);
	if (*d && compose_is_ascii(d) && !strstr(d, "=?")) {
		const char *p;
		buf_puts(out, " \"");
		for (p = d; *p; p++) {
			if (*p == '"' || *p == '\\')
				buf_putc(out, '\\');
			buf_putc(out, *p);
		}
		buf_putc(out, '"');
		col += strlen(d) + 3;
	} else if (*d) {
		put_encoded_words(out, &col, d);
	}
	if (*d && col + 3 + strlen(a) > COMPOSE_LINE_MAX)
		buf_printf(out, "\r\n <%s>\r\n", a);
	else
		buf_printf(out, " <%s>\r\n", a);
	rc = buf_error(out);
out:
	free(d);
	free(a);
	return rc;
}

int compose_date(struct buf *out, int64_t now_ms, int local)
{
	/* Day and month names in English, as RFC 5322 wants, whatever the locale. */
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = (time_t)(now_ms / 1000);
	struct tm tm;

	if (now_ms < 0 || !(local ? localtime_r(&t, &tm) : gmtime_r(&t, &tm)))
		return RELAIS_EINVAL;
	long off = local ? tm.tm_gmtoff / 60 : 0;
	return buf_printf(out, "Date: %s, %02d %s %04d %02d:%02d:%02d %c%02ld%02ld\r\n",
			  days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
			  (tm.tm_year + 1900) % 10000, tm.tm_hour, tm.tm_min, tm.tm_sec,
			  off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
}

int compose_message_id(struct buf *out, const char *tag, const char *domain)
{
	unsigned char rnd[12];
	char hex[2 * sizeof(rnd) + 1];
	int rc;

	if ((rc = util_random(rnd, sizeof(rnd))))
		return rc;
	util_hex(rnd, sizeof(rnd), hex);
	return buf_printf(out, "Message-ID: <relais.%s.%s@%s>\r\n", tag, hex, domain);
}

/* Base64 in lines of 76 characters, CRLF after each (a MIME part's body). */
int compose_base64_lines(struct buf *out, const void *data, size_t n)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < n; i += 57) {
		put_base64(out, p + i, n - i < 57 ? n - i : 57);
		buf_puts(out, "\r\n");
	}
	return buf_error(out);
}
