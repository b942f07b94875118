/*
 * check.c - validation and normalisation of the values a person types, and
 * département codes.
 *
 * What model_check_value() stores must always pass the CHECK constraints
 * that schema.c generates; tests/test-model.c writes every accepted value of
 * its cases into a real table to hold the two together.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "../common/utf8.h"
#include "../common/util.h"
#include "model_int.h"

/* Input longer than this is refused before any work: 10,000 characters of
 * 4-byte UTF-8 plus room for surrounding blanks. */
#define INPUT_MAX (4 * MODEL_TEXT_MAX + 4096)
/* How much of a wrong value an error message quotes back. */
#define QUOTE_MAX 80

/* ---- UTF-8 ---- */

/*
 * Decodes the code point at s[*i] (s holds n bytes) and advances *i.
 * Returns -1 on an invalid, overlong or surrogate sequence.
 */
/* Decodes the code point at s[*i] and moves *i past it; -1 when invalid. */
static int utf8_next(const unsigned char *s, size_t n, size_t *i, uint32_t *cp)
{
	size_t k = utf8_decode(s + *i, n - *i, cp);
	if (!k)
		return -1;
	*i += k;
	return 0;
}

/* Blanks trimmed around a value: ASCII white space, no-break spaces. */
static size_t blank_len(const char *s, size_t n)
{
	unsigned char c = (unsigned char)s[0];
	if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f')
		return 1;
	if (n >= 2 && c == 0xc2 && (unsigned char)s[1] == 0xa0)
		return 2; /* U+00A0 */
	if (n >= 3 && c == 0xe2 && (unsigned char)s[1] == 0x80 && (unsigned char)s[2] == 0xaf)
		return 3; /* U+202F, the narrow one French typography puts before ':' */
	return 0;
}

/* Length of a blank ending at s[n-1], or 0. */
static size_t blank_len_back(const char *s, size_t n)
{
	if (n >= 1 && blank_len(s + n - 1, 1) == 1)
		return 1;
	if (n >= 2 && blank_len(s + n - 2, 2) == 2)
		return 2;
	if (n >= 3 && blank_len(s + n - 3, 3) == 3)
		return 3;
	return 0;
}

/* ---- folding ---- */

/* Latin-1 letters U+00C0..U+00FF without accents; '.' marks a non-letter,
 * '*' one of the letters spelt with two (Æ, Þ, ß). */
static const char latin1_fold[64 + 1] =
	"aaaaaa*ceeeeiiiidnooooo.ouuuuy**"
	"aaaaaa*ceeeeiiiidnooooo.ouuuuy*y";

static size_t fold_put(char *out, size_t outlen, size_t o, const char *s)
{
	for (; *s; s++, o++)
		if (o + 1 < outlen)
			out[o] = *s;
	return o;
}

size_t model_fold(const char *s, char *out, size_t outlen)
{
	size_t n = strlen(s), i = 0, o = 0;
	while (i < n) {
		uint32_t cp;
		if (utf8_next((const unsigned char *)s, n, &i, &cp))
			break;
		char one[2] = { 0, 0 };
		const char *add = one;
		if (cp < 0x80 && ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9')))
			one[0] = (char)cp;
		else if (cp >= 'A' && cp <= 'Z')
			one[0] = (char)(cp - 'A' + 'a');
		else if (cp >= 0xc0 && cp <= 0xff) {
			char f = latin1_fold[cp - 0xc0];
			if (f == '*')
				add = cp == 0xc6 || cp == 0xe6 ? "ae" : cp == 0xdf ? "ss" : "th";
			else if (f != '.')
				one[0] = f;
		} else if (cp == 0x152 || cp == 0x153)
			add = "oe";
		else if (cp == 0x178)
			one[0] = 'y';
		o = fold_put(out, outlen, o, add);
	}
	if (outlen)
		out[o < outlen ? o : outlen - 1] = 0;
	return o;
}

/* ---- messages ---- */

/* Writes "Label : " and the formatted rest into err; returns RELAIS_EINVAL. */
static int fail(const struct model_column *c, char *err, size_t errlen, const char *fmt, ...)
	RELAIS_PRINTF(4, 5);

static int fail(const struct model_column *c, char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return RELAIS_EINVAL;
	int k = snprintf(err, errlen, "%s : ", c->label);
	if (k < 0 || (size_t)k >= errlen)
		return RELAIS_EINVAL;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
	va_end(ap);
	return RELAIS_EINVAL;
}

/*
 * Copies the value (valid UTF-8) for quoting in a message: at most
 * QUOTE_MAX bytes cut on a character boundary, line breaks and other
 * controls shown as spaces, "…" when cut.
 */
static void quote_value(const char *v, size_t n, char q[QUOTE_MAX + 4])
{
	size_t i = 0, o = 0;
	while (i < n) {
		size_t start = i;
		uint32_t cp;
		if (utf8_next((const unsigned char *)v, n, &i, &cp))
			break;
		size_t len = i - start;
		if (o + len > QUOTE_MAX) {
			memcpy(q + o, "\xe2\x80\xa6", 3);
			o += 3;
			break;
		}
		if (cp < 0x20 || cp == 0x7f)
			q[o++] = ' ';
		else {
			memcpy(q + o, v + start, len);
			o += len;
		}
	}
	q[o] = 0;
}

/* "Label : « value » " followed by the formatted reason. */
static int fail_value(const struct model_column *c, const char *v, size_t n,
		      char *err, size_t errlen, const char *reason)
{
	char q[QUOTE_MAX + 4];
	quote_value(v, n, q);
	return fail(c, err, errlen, "« %s » %s", q, reason);
}

static int toobig(const struct model_column *c, char *err, size_t errlen)
{
	if (err && errlen)
		snprintf(err, errlen, "%s : la valeur est trop longue.", c->label);
	return RELAIS_ETOOBIG;
}

/* Copies n bytes and a NUL into out. */
static int put(const struct model_column *c, char *out, size_t outlen,
	       const char *s, size_t n, char *err, size_t errlen)
{
	if (n >= outlen)
		return toobig(c, err, errlen);
	memcpy(out, s, n);
	out[n] = 0;
	return 0;
}

/* ---- kinds ---- */

static int is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static char lower(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

/* Copies v without the blanks that people put between digit groups. */
static size_t strip_blanks(const char *v, size_t n, char *dst, size_t dstlen)
{
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		size_t b = blank_len(v + i, n - i);
		if (b) {
			i += b;
			continue;
		}
		if (o + 1 < dstlen)
			dst[o++] = v[i];
		else
			return (size_t)-1;
		i++;
	}
	dst[o] = 0;
	return o;
}

static int check_text(const struct model_column *c, const char *v, size_t n,
		      char *out, size_t outlen, char *err, size_t errlen)
{
	int multi = (c->flags & MODEL_MULTILINE) != 0;
	size_t i = 0, o = 0, chars = 0;
	while (i < n) {
		size_t start = i;
		uint32_t cp;
		if (utf8_next((const unsigned char *)v, n, &i, &cp))
			return fail(c, err, errlen, "le texte n'est pas en UTF-8 valide.");
		char repl = 0;
		if (cp == '\r' || cp == '\n') {
			if (!multi)
				return fail(c, err, errlen, "le texte doit tenir sur une seule ligne.");
			/* Stored with '\n' only, whatever the mail or terminal sent. */
			if (cp == '\r' && i < n && v[i] == '\n')
				i++;
			repl = '\n';
		} else if (cp == '\t') {
			repl = multi ? '\t' : ' ';
		} else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f)) {
			return fail(c, err, errlen, "le texte contient un caractère de contrôle.");
		}
		if (++chars > MODEL_TEXT_MAX)
			return fail(c, err, errlen, "le texte dépasse %d caractères.", MODEL_TEXT_MAX);
		size_t len = repl ? 1 : i - start;
		if (o + len >= outlen)
			return toobig(c, err, errlen);
		if (repl)
			out[o] = repl;
		else
			memcpy(out + o, v + start, len);
		o += len;
	}
	out[o] = 0;
	return 0;
}

static int check_postcode(const struct model_column *c, const char *v, size_t n,
			  char *out, size_t outlen, char *err, size_t errlen)
{
	char d[16];
	size_t k = strip_blanks(v, n, d, sizeof(d));
	if (k != 5 || !is_digit(d[0]) || !is_digit(d[1]) || !is_digit(d[2]) ||
	    !is_digit(d[3]) || !is_digit(d[4]))
		return fail_value(c, v, n, err, errlen,
				  "n'est pas un code postal valide (5 chiffres).");
	return put(c, out, outlen, d, 5, err, errlen);
}

static int check_int(const struct model_column *c, const char *v, size_t n,
		     char *out, size_t outlen, char *err, size_t errlen)
{
	char d[32];
	size_t k = strip_blanks(v, n, d, sizeof(d));
	const char *p = d;
	long long x;
	if (k != (size_t)-1 && *p == '+' && is_digit(p[1]))
		p++;
	if (k == (size_t)-1 || util_parse_ll(p, c->min, c->max, &x)) {
		char reason[128];
		snprintf(reason, sizeof(reason), "n'est pas un nombre entier entre %lld et %lld.",
			 c->min, c->max);
		return fail_value(c, v, n, err, errlen, reason);
	}
	char s[32];
	int len = snprintf(s, sizeof(s), "%lld", x);
	return put(c, out, outlen, s, (size_t)len, err, errlen);
}

static int check_bool(const struct model_column *c, const char *v, size_t n,
		      char *out, size_t outlen, char *err, size_t errlen)
{
	static const char *const yes[] = { "oui", "o", "vrai", "1", "yes", "y", "true", NULL };
	static const char *const no[] = { "non", "n", "faux", "0", "no", "false", NULL };
	char f[16], s[16];
	if (n >= sizeof(s))
		goto bad;
	memcpy(s, v, n);
	s[n] = 0;
	if (model_fold(s, f, sizeof(f)) >= sizeof(f))
		goto bad;
	for (size_t i = 0; yes[i]; i++)
		if (!strcmp(f, yes[i]))
			return put(c, out, outlen, "1", 1, err, errlen);
	for (size_t i = 0; no[i]; i++)
		if (!strcmp(f, no[i]))
			return put(c, out, outlen, "0", 1, err, errlen);
bad:
	return fail_value(c, v, n, err, errlen, "n'est pas une réponse valide (oui ou non).");
}

/* Reads 1 to max digits at v[*i]; returns -1 when there are none. */
static int read_num(const char *v, size_t n, size_t *i, int max, int *x)
{
	int k = 0;
	*x = 0;
	while (*i < n && is_digit(v[*i]) && k < max) {
		*x = *x * 10 + (v[*i] - '0');
		(*i)++;
		k++;
	}
	return k ? k : -1;
}

static int leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int check_date(const struct model_column *c, const char *v, size_t n,
		      char *out, size_t outlen, char *err, size_t errlen)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int a, b, y, m, d, ka, kb, ky;
	size_t i = 0;
	char sep;
	ka = read_num(v, n, &i, 4, &a);
	if (ka < 0 || i >= n)
		goto bad;
	sep = v[i++];
	if (sep != '-' && sep != '/' && sep != '.')
		goto bad;
	kb = read_num(v, n, &i, 2, &b);
	if (kb < 0 || i >= n || v[i++] != sep)
		goto bad;
	if (ka == 4 && sep == '-') { /* ISO: YYYY-MM-DD */
		y = a;
		m = b;
		if (read_num(v, n, &i, 2, &d) < 0)
			goto bad;
	} else if (ka <= 2) { /* French: DD/MM/YYYY */
		d = a;
		m = b;
		ky = read_num(v, n, &i, 4, &y);
		if (ky != 4)
			goto bad;
	} else {
		goto bad;
	}
	if (i != n || y < 1900 || y > 2100 || m < 1 || m > 12 || d < 1)
		goto bad;
	if (d > mdays[m - 1] + (m == 2 && leap(y)))
		goto bad;
	char s[32];
	snprintf(s, sizeof(s), "%04d-%02d-%02d", y, m, d);
	return put(c, out, outlen, s, 10, err, errlen);
bad:
	return fail_value(c, v, n, err, errlen,
			  "n'est pas une date valide (JJ/MM/AAAA ou AAAA-MM-JJ).");
}

static int email_local_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || is_digit(ch) || strchr("!#$%&'*+/=?^_`{|}~.-", ch);
}

/* Domain of lower-case labels [a-z0-9-], at least two, a top level in letters
 * (or an IDN "xn--" one). */
static int email_domain_ok(const char *d, size_t n)
{
	size_t start = 0, labels = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && d[i] != '.') {
			char ch = d[i];
			if (!((ch >= 'a' && ch <= 'z') || is_digit(ch) || ch == '-'))
				return 0;
			continue;
		}
		size_t len = i - start;
		if (len == 0 || len > 63 || d[start] == '-' || d[i - 1] == '-')
			return 0;
		labels++;
		if (i == n) {
			int alpha = len >= 2;
			for (size_t k = start; k < i; k++)
				if (d[k] < 'a' || d[k] > 'z')
					alpha = 0;
			if (!alpha && !(len > 4 && !strncmp(d + start, "xn--", 4)))
				return 0;
		}
		start = i + 1;
	}
	return labels >= 2;
}

static int check_email(const struct model_column *c, const char *v, size_t n,
		       char *out, size_t outlen, char *err, size_t errlen)
{
	char s[256];
	size_t at = 0, ats = 0;
	if (n > 254)
		goto bad;
	for (size_t i = 0; i < n; i++) {
		s[i] = lower(v[i]);
		if (s[i] == '@') {
			at = i;
			ats++;
		}
	}
	s[n] = 0;
	if (ats != 1 || at == 0 || at > 64 || s[0] == '.' || s[at - 1] == '.')
		goto bad;
	for (size_t i = 0; i < at; i++)
		if (!email_local_char(s[i]) || (s[i] == '.' && s[i + 1] == '.'))
			goto bad;
	if (!email_domain_ok(s + at + 1, n - at - 1))
		goto bad;
	return put(c, out, outlen, s, n, err, errlen);
bad:
	return fail_value(c, v, n, err, errlen, "n'est pas une adresse valide.");
}

static int check_phone(const struct model_column *c, const char *v, size_t n,
		       char *out, size_t outlen, char *err, size_t errlen)
{
	/* Country codes whose numbers have a 10-digit national form "0" + 9 digits:
	 * metropolitan France and the overseas départements. */
	static const char *const codes[] = { "33", "262", "590", "594", "596", NULL };
	char d[32], res[11];
	size_t k = 0;
	int plus = 0;
	for (size_t i = 0; i < n; i++) {
		char ch = v[i];
		size_t b = blank_len(v + i, n - i);
		if (b) {
			i += b - 1;
		} else if (ch == '+' && k == 0 && !plus) {
			plus = 1;
		} else if (ch == '(' && i + 2 < n && v[i + 1] == '0' && v[i + 2] == ')' &&
			   (plus || k >= 2)) {
			i += 2; /* "+33 (0)6 …": the trunk zero written for national use */
		} else if (ch == '.' || ch == '-' || ch == '/' || ch == '(' || ch == ')') {
			continue;
		} else if (is_digit(ch) && k + 1 < sizeof(d)) {
			d[k++] = ch;
		} else {
			goto bad;
		}
	}
	d[k] = 0;
	const char *p = d;
	if (!plus && k > 2 && d[0] == '0' && d[1] == '0') {
		plus = 1;
		p += 2;
	}
	if (plus) {
		const char *rest = NULL;
		for (size_t i = 0; codes[i] && !rest; i++) {
			size_t cl = strlen(codes[i]);
			if (!strncmp(p, codes[i], cl))
				rest = p + cl;
		}
		if (!rest)
			goto bad;
		if (strlen(rest) == 10 && rest[0] == '0')
			rest++;
		if (strlen(rest) != 9)
			goto bad;
		res[0] = '0';
		memcpy(res + 1, rest, 9);
	} else {
		if (k != 10 || d[0] != '0')
			goto bad;
		memcpy(res, d, 10);
	}
	res[10] = 0;
	if (res[1] == '0')
		goto bad;
	return put(c, out, outlen, res, 10, err, errlen);
bad:
	return fail_value(c, v, n, err, errlen,
			  "n'est pas un numéro de téléphone valide (10 chiffres, "
			  "par exemple 06 12 34 56 78).");
}

static int check_url(const struct model_column *c, const char *v, size_t n,
		     char *out, size_t outlen, char *err, size_t errlen)
{
	static const char *const schemes[] = { "http://", "https://", NULL };
	char s[MODEL_URL_MAX + 1];
	size_t skip = 0, o = 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] <= 0x20 || v[i] == 0x7f)
			goto bad;
	for (size_t i = 0; schemes[i]; i++) {
		size_t sl = strlen(schemes[i]);
		if (n >= sl && !strncasecmp(v, schemes[i], sl)) {
			/* The scheme is case-insensitive: store it the way the schema checks it. */
			memcpy(s, schemes[i], sl);
			o = skip = sl;
		}
	}
	if (!skip) {
		if (memmem(v, n, "://", 3))
			goto bad;
		memcpy(s, "https://", 8); /* "www.exemple.fr" as people write it */
		o = 8;
	}
	if (o + n - skip > MODEL_URL_MAX)
		goto bad;
	memcpy(s + o, v + skip, n - skip);
	size_t host_start = o, len = o + n - skip;
	s[len] = 0;
	size_t host_end = host_start;
	int dot = 0;
	while (host_end < len && !strchr("/?#", s[host_end])) {
		if (s[host_end] == '.')
			dot = 1;
		if (s[host_end] == '@')
			goto bad; /* user names in a URL mostly disguise the real host */
		host_end++;
	}
	if (host_end == host_start || !dot || s[host_start] == '.')
		goto bad;
	return put(c, out, outlen, s, len, err, errlen);
bad:
	return fail_value(c, v, n, err, errlen,
			  "n'est pas une adresse web valide (http:// ou https://).");
}

/* Compares folded a and b, also when one of them lacks a final 'e'
 * (a feminine "labellisée" for "labellise", "refusé" for "refusee"). */
static int enum_near(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la == lb + 1 && a[la - 1] == 'e' && !strncmp(a, b, lb))
		return 1;
	if (lb == la + 1 && b[lb - 1] == 'e' && !strncmp(a, b, la))
		return 1;
	return 0;
}

static int check_enum(const struct model_column *c, const char *v, size_t n,
		      char *out, size_t outlen, char *err, size_t errlen)
{
	/* Former names people still use. */
	static const struct { const char *alias, *value; } aliases[] = {
		{ "twitter", "x" },
	};
	char s[128], f[128], fv[128];
	const char *found = NULL;
	int near = 0;
	if (n >= sizeof(s))
		goto bad;
	memcpy(s, v, n);
	s[n] = 0;
	if (model_fold(s, f, sizeof(f)) >= sizeof(f) || !f[0])
		goto bad;
	for (size_t i = 0; c->values[i] && !found; i++) {
		model_fold(c->values[i], fv, sizeof(fv));
		if (!strcmp(f, fv))
			found = c->values[i];
	}
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]) && !found; i++)
		if (!strcmp(f, aliases[i].alias))
			for (size_t k = 0; c->values[k]; k++)
				if (!strcmp(c->values[k], aliases[i].value))
					found = c->values[k];
	for (size_t i = 0; c->values[i] && !found; i++) {
		model_fold(c->values[i], fv, sizeof(fv));
		if (enum_near(f, fv)) {
			if (near++)
				goto bad; /* ambiguous */
			found = c->values[i];
		}
	}
	if (found)
		return put(c, out, outlen, found, strlen(found), err, errlen);
bad:;
	char list[512];
	size_t o = 0;
	list[0] = 0;
	for (size_t i = 0; c->values[i] && o < sizeof(list); i++) {
		int k = snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "", c->values[i]);
		if (k < 0)
			break;
		o += (size_t)k;
	}
	char reason[600];
	snprintf(reason, sizeof(reason), "n'est pas une valeur possible (%s).", list);
	return fail_value(c, v, n, err, errlen, reason);
}

static int check_ref(const struct model_column *c, const char *v, size_t n,
		     char *out, size_t outlen, char *err, size_t errlen)
{
	char s[UTIL_UUID_LEN + 1];
	if (n != UTIL_UUID_LEN)
		goto bad;
	for (size_t i = 0; i < n; i++)
		s[i] = lower(v[i]);
	s[n] = 0;
	if (!util_is_uuid(s))
		goto bad;
	return put(c, out, outlen, s, n, err, errlen);
bad:
	return fail_value(c, v, n, err, errlen, "n'est pas un identifiant valide.");
}

int model_check_value(const struct model_column *c, const char *in,
		      char *out, size_t outlen, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = 0;
	if (!outlen)
		return toobig(c, err, errlen);
	out[0] = 0;
	if (!in)
		in = "";
	size_t n = strnlen(in, INPUT_MAX + 1);
	if (n > INPUT_MAX)
		return fail(c, err, errlen, "le texte dépasse %d caractères.", MODEL_TEXT_MAX);
	if (!utf8_valid(in, n))
		return fail(c, err, errlen, "le texte n'est pas en UTF-8 valide.");
	const char *v = in;
	size_t b;
	while (n && (b = blank_len(v, n))) {
		v += b;
		n -= b;
	}
	while (n && (b = blank_len_back(v, n)))
		n -= b;
	if (!n) {
		if (c->flags & MODEL_REQUIRED)
			return fail(c, err, errlen, "ce champ est obligatoire.");
		return 0;
	}
	switch (c->kind) {
	case MODEL_TEXT:
		if (c->flags & MODEL_POSTCODE)
			return check_postcode(c, v, n, out, outlen, err, errlen);
		return check_text(c, v, n, out, outlen, err, errlen);
	case MODEL_INT:
		return check_int(c, v, n, out, outlen, err, errlen);
	case MODEL_BOOL:
		return check_bool(c, v, n, out, outlen, err, errlen);
	case MODEL_DATE:
		return check_date(c, v, n, out, outlen, err, errlen);
	case MODEL_EMAIL:
		return check_email(c, v, n, out, outlen, err, errlen);
	case MODEL_PHONE:
		return check_phone(c, v, n, out, outlen, err, errlen);
	case MODEL_URL:
		return check_url(c, v, n, out, outlen, err, errlen);
	case MODEL_ENUM:
		return check_enum(c, v, n, out, outlen, err, errlen);
	case MODEL_REF:
		return check_ref(c, v, n, out, outlen, err, errlen);
	}
	return fail(c, err, errlen, "type de colonne inconnu.");
}

int model_dept_valid(const char *code)
{
	static const char *const others[] = {
		"2A", "2B", "99", "971", "972", "973", "974", "975", "976", NULL
	};
	if (!code)
		return 0;
	if (is_digit(code[0]) && is_digit(code[1]) && !code[2]) {
		int n = (code[0] - '0') * 10 + (code[1] - '0');
		if (n >= 1 && n <= 95 && n != 20)
			return 1;
	}
	for (size_t i = 0; others[i]; i++)
		if (!strcmp(code, others[i]))
			return 1;
	return 0;
}

int model_replica_may_write(const char *table, int op, const char *col)
{
	const struct model_table *t = model_table_by_name(table);
	const struct model_column *c;

	if (!t)
		return 1;
	if (op != SQLITE_UPDATE)
		return !(t->flags & MODEL_TABLE_SERVER_ROWS);
	c = col ? model_column_by_name(t, col) : NULL;
	return !c || !(c->flags & MODEL_SERVER);
}

/* The one write of a « caf » account: confirming that the national site
 * publishes a change (model/domain.h, domain_directory_published). */
static int caf_may_write(const char *table, int op, const char *col)
{
	return op == SQLITE_UPDATE && !strcmp(table, "directory_change") && col &&
	       (!strcmp(col, "publie") || !strcmp(col, "date_publication"));
}

int model_role_may_write(const char *role, const char *table, int op, const char *col)
{
	if (role && !strcmp(role, "caf"))
		return caf_may_write(table, op, col);
	return model_replica_may_write(table, op, col);
}

const char *model_role_hidden(const char *role, const char *table)
{
	if (role && !strcmp(role, "caf") && table && !strcmp(table, "request"))
		return "sujet = 'orientation_detresse'";
	return NULL;
}

int model_check_stored(const char *table, const char *col, sqlite3_value *v,
		       char *err, size_t errlen)
{
	const struct model_table *t = model_table_by_name(table);
	const struct model_column *c = t ? model_column_by_name(t, col) : NULL;
	char *out = NULL;
	const char *text;
	int type = sqlite3_value_type(v), rc;
	size_t n;

	if (err && errlen)
		err[0] = 0;
	if (!t)
		return 0;
	if (!c) {
		snprintf(err, errlen, "la colonne « %s » n'existe pas dans le modèle.", col);
		return RELAIS_EINVAL;
	}
	if (type == SQLITE_NULL)
		return c->flags & MODEL_REQUIRED ? fail(c, err, errlen, "ce champ est obligatoire.") : 0;
	if (c->kind == MODEL_INT || c->kind == MODEL_BOOL) {
		sqlite3_int64 i = sqlite3_value_int64(v);
		if (type != SQLITE_INTEGER)
			return fail(c, err, errlen, "un nombre entier est attendu.");
		if (i < c->min || i > c->max)
			return fail(c, err, errlen, "%lld n'est pas entre %lld et %lld.", (long long)i,
				    c->min, c->max);
		return 0;
	}
	if (type != SQLITE_TEXT)
		return fail(c, err, errlen, "un texte est attendu.");
	text = (const char *)sqlite3_value_text(v);
	n = (size_t)sqlite3_value_bytes(v);
	if (!text)
		return RELAIS_ENOMEM;
	if (strlen(text) != n)
		return fail(c, err, errlen, "le texte contient un caractère nul.");
	if (!utf8_valid(text, n))
		return fail(c, err, errlen, "le texte n'est pas en UTF-8 valide.");
	out = malloc(MODEL_VALUE_MAX);
	if (!out)
		return RELAIS_ENOMEM;
	rc = model_check_value(c, text, out, MODEL_VALUE_MAX, err, errlen);
	/* Free text may differ from its stored form by blanks at its ends;
	 * every other kind is compared by its exact spelling elsewhere. */
	if (!rc && c->kind != MODEL_TEXT && strcmp(out, text)) {
		char q1[QUOTE_MAX + 4], q2[QUOTE_MAX + 4];
		quote_value(text, n, q1);
		quote_value(out, strlen(out), q2);
		rc = fail(c, err, errlen, "« %s » n'est pas écrit sous sa forme enregistrée (« %s »).",
			  q1, q2);
	}
	free(out);
	return rc;
}
