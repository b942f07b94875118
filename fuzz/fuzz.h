/*
 * fuzz.h - helpers shared by the libFuzzer targets of fuzz/ (header-only:
 * each target is one program of its own).
 */
#ifndef RELAIS_FUZZ_H
#define RELAIS_FUZZ_H

#include <stddef.h>
#include <string.h>
#include "../mailgw/charset.h"

/* Returns 1 when s (NUL-terminated) is well-formed UTF-8: no overlongs,
 * no surrogates, nothing past U+10FFFF. The import and the gateway only hand
 * valid UTF-8 to model_fold() and model_check_value(). */
static inline int fuzz_utf8_valid(const char *s)
{
	return mailgw_utf8_valid(s, strlen(s));
}

#endif
