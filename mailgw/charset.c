/*
 * charset.c - mail text to UTF-8 (see charset.h for the rules).
 */
#include <errno.h>
#include <iconv.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <libetpan/charconv.h>
#include "../common/buf.h"
#include "../common/utf8.h"
#include "../common/util.h"
#include "charset.h"

/* Windows-1252 0x80..0x9F; the five holes map to the C1 code points, as
 * WHATWG's decoder does, so that every byte decodes. */
static const uint16_t cp1252_high[32] = {
	0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
	0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
};

static int has_8bit(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] & 0x80)
			return 1;
	return 0;
}

static size_t utf8_put(uint32_t cp, unsigned char out[4])
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xC0 | (cp >> 6));
		out[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xE0 | (cp >> 12));
		out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (unsigned char)(0xF0 | (cp >> 18));
	out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Appends valid UTF-8 p[0..n) to b, dropping NULs and stopping on a
 * character boundary at the cap of b. */
static int put_utf8(struct buf *b, const unsigned char *p, size_t n, unsigned *how)
{
	size_t i = 0;
	while (i < n) {
		size_t k = utf8_decode(p + i, n - i, NULL);
		if (!k)
			k = 1; /* cannot happen on checked input; skip rather than loop */
		if (p[i] == 0) {
			*how |= MAILGW_CHARSET_NUL;
			i++;
			continue;
		}
		int rc = buf_append(b, p + i, k);
		if (rc == RELAIS_ETOOBIG) {
			*how |= MAILGW_CHARSET_TRUNCATED;
			return 0;
		}
		if (rc)
			return rc;
		i += k;
	}
	return 0;
}

static int put_cp1252(struct buf *b, const unsigned char *p, size_t n, unsigned *how)
{
	unsigned char u[4];
	for (size_t i = 0; i < n; i++) {
		uint32_t cp = p[i];
		if (cp >= 0x80 && cp < 0xA0)
			cp = cp1252_high[cp - 0x80];
		size_t k = utf8_put(cp, u);
		int rc = put_utf8(b, u, k, how);
		if (rc)
			return rc;
		if (*how & MAILGW_CHARSET_TRUNCATED)
			return 0;
	}
	return 0;
}

/* Lower-cases and unquotes a declared charset name into out. */
static void charset_norm(const char *cs, char *out, size_t size)
{
	size_t j = 0;
	if (!cs)
		cs = "";
	for (size_t i = 0; cs[i] && j + 1 < size; i++) {
		unsigned char c = (unsigned char)cs[i];
		if (c == '"' || c == '\'' || c == ' ' || c == '\t')
			continue;
		out[j++] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
	}
	out[j] = 0;
}

static int is_utf8_name(const char *cs)
{
	return !strcmp(cs, "utf-8") || !strcmp(cs, "utf8");
}

/* Charsets that Windows-1252 decodes as well as iconv would, or better:
 * mail that says Latin-1 or ASCII with 0x80..0x9F bytes is Windows-1252. */
static int is_cp1252_name(const char *cs)
{
	static const char *const names[] = {
		"us-ascii", "ascii", "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1",
		"l1", "windows-1252", "cp1252", "x-cp1252", "ansi_x3.4-1968",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(cs, names[i]))
			return 1;
	return 0;
}

static int is_single_byte_name(const char *cs)
{
	static const char *const prefixes[] = {
		"iso-8859", "iso8859", "iso_8859", "windows-125", "cp125", "latin", "koi8",
	};
	if (is_cp1252_name(cs))
		return 1;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(cs, prefixes[i], strlen(prefixes[i])))
			return 1;
	return 0;
}

/*
 * libetpan converts every word of a MIME header it parses (charconv()),
 * opening and closing an iconv descriptor each time: a tenth of a parse.
 * Its extended_charconv hook gets each conversion first. This one does the
 * ones to UTF-8 whose result is a copy or a byte-to-character map, exactly
 * as iconv would: UTF-8 or ASCII text that is valid as declared, and
 * ISO-8859-1. Anything else it hands back to iconv, as before.
 */
static int libetpan_charconv(const char *tocode, const char *fromcode, const char *str,
			     size_t length, char *result, size_t *result_len)
{
	char to[16], from[64];
	const unsigned char *p = (const unsigned char *)str;
	size_t o = 0;
	charset_norm(tocode, to, sizeof(to));
	charset_norm(fromcode, from, sizeof(from));
	if (!is_utf8_name(to))
		return MAIL_CHARCONV_ERROR_UNKNOWN_CHARSET;
	int latin1 = !strcmp(from, "iso-8859-1") || !strcmp(from, "iso8859-1") ||
		     !strcmp(from, "iso_8859-1") || !strcmp(from, "latin1");
	int ascii = !strcmp(from, "us-ascii") || !strcmp(from, "ascii");
	if (!latin1 && !((is_utf8_name(from) && utf8_valid(p, length)) ||
			 (ascii && !has_8bit(p, length))))
		return MAIL_CHARCONV_ERROR_UNKNOWN_CHARSET;
	if (length > *result_len / 2)
		return MAIL_CHARCONV_ERROR_MEMORY; /* libetpan gives 6 bytes per byte */
	for (size_t i = 0; i < length; i++) {
		if (latin1 && p[i] >= 0x80) {
			result[o++] = (char)(0xc0 | (p[i] >> 6));
			result[o++] = (char)(0x80 | (p[i] & 0x3f));
		} else {
			result[o++] = (char)p[i];
		}
	}
	*result_len = o;
	return MAIL_CHARCONV_NO_ERROR;
}

static void hook_install(void)
{
	extended_charconv = libetpan_charconv;
}

void mailgw_charset_hook_libetpan(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, hook_install);
}

/* Converts with iconv into tmp (uncapped but bounded by 4 bytes per input
 * byte). Returns 1 on a clean conversion, 0 when the charset is unknown or
 * the input is not valid in it, or RELAIS_ENOMEM. */
static int try_iconv(const char *cs, const unsigned char *p, size_t n, struct buf *tmp)
{
	iconv_t cd = iconv_open("UTF-8", cs);
	int rc = 1;
	if (cd == (iconv_t)-1)
		return 0;
	char *in = (char *)(uintptr_t)p; /* iconv's prototype lacks const */
	size_t inleft = n;
	size_t bound = n > (SIZE_MAX - 4096) / 4 ? SIZE_MAX - 4096 : n * 4 + 4096;
	for (;;) {
		/* No charset yields more than 4 UTF-8 bytes per input byte. */
		if (tmp->len > bound) {
			rc = 0;
			goto out;
		}
		int grc = buf_grow(tmp, 4096);
		if (grc) {
			rc = grc == RELAIS_ETOOBIG ? 0 : grc;
			goto out;
		}
		char *o = (char *)tmp->data + tmp->len;
		size_t oleft = tmp->alloc - tmp->len - 1;
		size_t before = oleft;
		size_t r = inleft ? iconv(cd, &in, &inleft, &o, &oleft) : iconv(cd, NULL, NULL, &o, &oleft);
		tmp->len += before - oleft;
		tmp->data[tmp->len] = 0;
		if (r != (size_t)-1) {
			if (inleft == 0) {
				/* Flush the shift state of stateful charsets. */
				o = (char *)tmp->data + tmp->len;
				oleft = tmp->alloc - tmp->len - 1;
				before = oleft;
				if (iconv(cd, NULL, NULL, &o, &oleft) == (size_t)-1 && errno == E2BIG)
					continue;
				tmp->len += before - oleft;
				tmp->data[tmp->len] = 0;
				break;
			}
			continue;
		}
		if (errno != E2BIG) {
			rc = 0;
			goto out;
		}
	}
out:
	iconv_close(cd);
	return rc;
}

int mailgw_charset_to_utf8(const char *charset, const void *p, size_t n, size_t max,
			   char **out, size_t *outlen, unsigned *how)
{
	const unsigned char *s = p;
	struct buf b = BUF_INIT(max), tmp = BUF_INIT(SIZE_MAX / 2);
	unsigned flags = 0;
	char cs[64];
	int rc = 0;

	charset_norm(charset, cs, sizeof(cs));
	int valid = utf8_valid(s, n);
	if (!cs[0] || is_utf8_name(cs)) {
		if (valid) {
			rc = put_utf8(&b, s, n, &flags);
		} else {
			flags |= MAILGW_CHARSET_FALLBACK;
			rc = put_cp1252(&b, s, n, &flags);
		}
	} else if (is_single_byte_name(cs) && valid && has_8bit(s, n)) {
		flags |= MAILGW_CHARSET_FALLBACK;
		rc = put_utf8(&b, s, n, &flags);
	} else if (is_cp1252_name(cs)) {
		rc = put_cp1252(&b, s, n, &flags);
	} else {
		rc = try_iconv(cs, s, n, &tmp);
		if (rc < 0)
			goto out;
		if (rc == 1 && utf8_valid(tmp.data, tmp.len)) {
			rc = put_utf8(&b, tmp.data, tmp.len, &flags);
		} else {
			flags |= MAILGW_CHARSET_FALLBACK;
			rc = valid ? put_utf8(&b, s, n, &flags) : put_cp1252(&b, s, n, &flags);
		}
	}
	if (rc)
		goto out;
	size_t len;
	unsigned char *d = buf_detach(&b, &len);
	if (!d) {
		rc = RELAIS_ENOMEM;
		goto out;
	}
	*out = (char *)d;
	*outlen = len;
	if (how)
		*how = flags;
out:
	buf_release(&b);
	buf_release(&tmp);
	return rc;
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

size_t mailgw_base64_decode(const char *in, size_t n, unsigned char *out, int *partial)
{
	uint32_t acc = 0;
	int bits = 0, group = 0;
	size_t o = 0;
	for (size_t i = 0; i < n && in[i] != '='; i++) {
		int v = b64_value((unsigned char)in[i]);
		if (v < 0)
			continue;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		group = (group + 1) % 4;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (partial)
		*partial = group == 1; /* 2 or 3 characters end a padded group validly */
	return o;
}

/* Text waiting for conversion: consecutive encoded words in one charset,
 * or raw header bytes (charset ""). */
struct pending {
	char charset[64];
	struct buf bytes;
};

static int flush(struct pending *pd, struct buf *out)
{
	if (pd->bytes.len == 0)
		return 0;
	char *u;
	size_t ulen;
	int rc = mailgw_charset_to_utf8(pd->charset, pd->bytes.data, pd->bytes.len,
					out->max, &u, &ulen, NULL);
	if (rc)
		return rc;
	rc = buf_append(out, u, ulen > out->max - out->len ? out->max - out->len : ulen);
	free(u);
	buf_reset(&pd->bytes);
	return rc;
}

static int switch_to(struct pending *pd, struct buf *out, const char *cs, size_t cslen)
{
	char norm[64];
	if (cslen >= sizeof(norm))
		cslen = sizeof(norm) - 1;
	memcpy(norm, cs, cslen);
	norm[cslen] = 0;
	if (strcasecmp(norm, pd->charset) == 0)
		return 0;
	int rc = flush(pd, out);
	memcpy(pd->charset, norm, cslen + 1);
	return rc;
}

/* Parses "=?charset?E?text?=" at s[0..n); returns its length or 0. */
static size_t encoded_word(const char *s, size_t n, size_t *cs_len, char *enc,
			   const char **text, size_t *text_len)
{
	if (n < 8 || s[0] != '=' || s[1] != '?')
		return 0;
	size_t i = 2;
	while (i < n && s[i] != '?' && s[i] != ' ' && s[i] != '\r' && s[i] != '\n')
		i++;
	if (i >= n || s[i] != '?' || i == 2 || i + 3 >= n || s[i + 2] != '?')
		return 0;
	size_t cs_end = i;
	/* RFC 2231 adds "*language" to the charset; it is only a hint. */
	const char *star = memchr(s + 2, '*', cs_end - 2);
	*cs_len = (star ? (size_t)(star - s) : cs_end) - 2;
	char e = s[i + 1];
	if (e != 'Q' && e != 'q' && e != 'B' && e != 'b')
		return 0;
	size_t t = i + 3, j = t;
	while (j + 1 < n && !(s[j] == '?' && s[j + 1] == '=')) {
		if (s[j] == '\r' || s[j] == '\n')
			return 0;
		j++;
	}
	if (j + 1 >= n)
		return 0;
	*enc = (char)(e | 0x20);
	*text = s + t;
	*text_len = j - t;
	return j + 2;
}

static int decode_word(struct buf *dst, char enc, const char *t, size_t tl)
{
	if (enc == 'b') {
		int rc = buf_grow(dst, (tl / 4 + 1) * 3);
		if (rc)
			return rc;
		dst->len += mailgw_base64_decode(t, tl, dst->data + dst->len, NULL);
		dst->data[dst->len] = 0;
		return 0;
	}
	for (size_t i = 0; i < tl; i++) {
		unsigned char c = (unsigned char)t[i];
		int hi, lo, rc;
		if (c == '_')
			c = ' ';
		else if (c == '=' && i + 2 < tl &&
			 (hi = util_hex_digit((unsigned char)t[i + 1])) >= 0 &&
			 (lo = util_hex_digit((unsigned char)t[i + 2])) >= 0) {
			c = (unsigned char)(hi * 16 + lo);
			i += 2;
		}
		rc = buf_putc(dst, c);
		if (rc)
			return rc;
	}
	return 0;
}

int mailgw_rfc2047_decode(const char *in, size_t n, size_t max, char **out)
{
	struct buf res = BUF_INIT(max);
	struct pending pd = { "", BUF_INIT(max * 4 + 64) };
	size_t held = 0, held_at = 0; /* whitespace after an encoded word */
	int after_word = 0, rc = 0;

	for (size_t i = 0; i < n;) {
		size_t cs_len, tl;
		char enc;
		const char *t;
		size_t wl = encoded_word(in + i, n - i, &cs_len, &enc, &t, &tl);
		if (wl) {
			rc = switch_to(&pd, &res, in + i + 2, cs_len);
			if (!rc)
				rc = decode_word(&pd.bytes, enc, t, tl);
			if (rc == RELAIS_ETOOBIG)
				rc = 0;
			if (rc)
				goto out;
			held = 0;
			after_word = 1;
			i += wl;
			continue;
		}
		char c = in[i];
		if (c == '\r' || c == '\n') {
			i++;
			continue; /* unfolding */
		}
		if (after_word && (c == ' ' || c == '\t')) {
			if (!held)
				held_at = i;
			held++;
			i++;
			continue;
		}
		rc = switch_to(&pd, &res, "", 0);
		if (rc)
			goto out;
		if (held) {
			/* Whitespace before literal text is kept (CR/LF skipped). */
			for (size_t k = held_at; k < i; k++)
				if (in[k] == ' ' || in[k] == '\t')
					if ((rc = buf_putc(&pd.bytes, ' ')) && rc != RELAIS_ETOOBIG)
						goto out;
			held = 0;
		}
		after_word = 0;
		rc = buf_putc(&pd.bytes, c == '\t' ? ' ' : c);
		if (rc && rc != RELAIS_ETOOBIG)
			goto out;
		rc = 0;
		i++;
	}
	rc = flush(&pd, &res);
	if (rc == RELAIS_ETOOBIG)
		rc = 0;
	if (rc)
		goto out;
	/* Trim, keeping the result valid UTF-8 (a cut may have split a character). */
	size_t a = 0, z = res.len;
	while (a < z && (res.data[a] == ' ' || res.data[a] == '\t'))
		a++;
	while (z > a && (res.data[z - 1] == ' ' || res.data[z - 1] == '\t'))
		z--;
	while (z > a && !utf8_valid(res.data + a, z - a))
		z--;
	char *s = malloc(z - a + 1);
	if (!s) {
		rc = RELAIS_ENOMEM;
		goto out;
	}
	if (z > a)
		memcpy(s, res.data + a, z - a);
	s[z - a] = 0;
	*out = s;
out:
	buf_release(&res);
	buf_release(&pd.bytes);
	return rc;
}
