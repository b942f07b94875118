/*
 * utf8.h - the one UTF-8 validator and decoder of the project (prefix utf8_).
 *
 * Strict, as RFC 3629 and Unicode's table 3-7 want it: no overlong forms, no
 * surrogates (U+D800..U+DFFF), nothing past U+10FFFF, no truncated sequence.
 * A NUL byte is a valid code point (U+0000); callers that refuse it say so.
 */
#ifndef RELAIS_UTF8_H
#define RELAIS_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length (1 to 4) of the well-formed sequence that starts p[0..n), or 0
 * when it is invalid or n is 0. When cp is not NULL and the sequence is
 * valid, *cp receives its code point. */
size_t utf8_decode(const void *p, size_t n, uint32_t *cp);
/* Returns 1 when p[0..n) is well-formed UTF-8, 0 otherwise. */
int utf8_valid(const void *p, size_t n);
/* utf8_valid() of a NUL-terminated string; NULL is not valid. */
int utf8_valid_str(const char *s);

#endif
