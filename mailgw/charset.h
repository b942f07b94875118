/*
 * charset.h - text from mail to valid UTF-8: declared charsets through
 * glibc's iconv, with the fallbacks that real mail needs, and RFC 2047
 * encoded words in headers.
 *
 * Mail lies about its charset (mojibake comes from trusting it), so the
 * declared charset is a hint: bytes that are valid UTF-8 are read as UTF-8
 * when the declaration is missing, unknown, or a single-byte Latin charset
 * (valid multi-byte UTF-8 is almost never real Latin-1 text); bytes that are
 * not valid UTF-8 and cannot be converted from the declared charset are read
 * as Windows-1252, which accepts every byte. The output is always valid UTF-8
 * with no NUL byte (NULs are dropped).
 */
#ifndef RELAIS_MAILGW_CHARSET_H
#define RELAIS_MAILGW_CHARSET_H

#include <stddef.h>
#include "../common/relais.h"

/* Bits of the *how argument below: what the conversion had to do. */
#define MAILGW_CHARSET_FALLBACK  0x1u /* declared charset unknown or wrong */
#define MAILGW_CHARSET_TRUNCATED 0x2u /* output cut at max bytes */
#define MAILGW_CHARSET_NUL       0x4u /* NUL bytes dropped */

/* Validating UTF-8 is common/utf8.h's utf8_valid(). */

/* Converts p[0..n), declared in charset (NULL or "" when none), to UTF-8.
 * At most max bytes are written (cut on a character boundary). On success
 * *out is a NUL-terminated string the caller frees with free(), *outlen its
 * length, and *how (may be NULL) gets MAILGW_CHARSET_* bits.
 * Returns 0 or RELAIS_ENOMEM. */
int mailgw_charset_to_utf8(const char *charset, const void *p, size_t n, size_t max,
			   char **out, size_t *outlen, unsigned *how) RELAIS_WUR;

/* Decodes an unstructured header value or display name: unfolds it, decodes
 * RFC 2047 encoded words (Q and B, any charset; adjacent words in the same
 * charset are joined before conversion, so a character split between them
 * survives; whitespace between encoded words is dropped), and converts raw
 * 8-bit bytes as mailgw_charset_to_utf8() does without a declaration.
 * Leading and trailing whitespace is trimmed. *out is NUL-terminated, at
 * most max bytes, freed by the caller with free().
 * Returns 0 or RELAIS_ENOMEM. */
int mailgw_rfc2047_decode(const char *in, size_t n, size_t max, char **out) RELAIS_WUR;

/* Decodes base64 (whitespace and junk characters ignored, stops at '=').
 * Writes at most (n / 4 + 1) * 3 bytes into out, returns the count; sets
 * *partial (may be NULL) when the input ends inside a 4-character group. */
size_t mailgw_base64_decode(const char *in, size_t n, unsigned char *out, int *partial);

/* Installs the conversions of libetpan_charconv (charset.c) into libetpan:
 * the header words it converts to UTF-8 from UTF-8, ASCII or Latin-1 no
 * longer go through an iconv descriptor each. Any thread may call it, as
 * often as it likes; mailgw_mime_parse() does. */
void mailgw_charset_hook_libetpan(void);

#endif
