#include <string.h>
#include "utf8.h"

size_t utf8_decode(const void *p, size_t n, uint32_t *cp)
{
	const unsigned char *s = p;
	size_t len;
	uint32_t v;
	if (!n)
		return 0;
	if (s[0] < 0x80) {
		if (cp)
			*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		v = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		v = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		v = s[0] & 0x07;
	} else {
		return 0; /* continuation byte, C0/C1 overlong lead, or past U+10FFFF */
	}
	if (n < len)
		return 0;
	for (size_t k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[k] & 0x3f);
	}
	if ((len == 3 && v < 0x800) || (len == 4 && (v < 0x10000 || v > 0x10ffff)) ||
	    (v >= 0xd800 && v <= 0xdfff))
		return 0;
	if (cp)
		*cp = v;
	return len;
}

int utf8_valid(const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t i = 0;
	while (i < n) {
		size_t k = utf8_decode(s + i, n - i, NULL);
		if (!k)
			return 0;
		i += k;
	}
	return 1;
}

int utf8_valid_str(const char *s)
{
	return s && utf8_valid(s, strlen(s));
}
