/*
 * fuzz.h - helpers shared by the libFuzzer targets of fuzz/ (header-only:
 * each target is one program of its own).
 */
#ifndef RELAIS_FUZZ_H
#define RELAIS_FUZZ_H

#include <stddef.h>

/* Returns 1 when s (NUL-terminated) is well-formed UTF-8: no overlongs,
 * no surrogates, nothing past U+10FFFF. The import and the gateway only hand
 * valid UTF-8 to model_fold() and model_check_value(). */
static inline int fuzz_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned c = *p, n;
		unsigned long cp;
		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
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
		for (unsigned k = 1; k <= n; k++) {
			if ((p[k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[k] & 0x3f);
		}
		if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0;
		p += n + 1;
	}
	return 1;
}

#endif
