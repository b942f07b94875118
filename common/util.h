/*
 * util.h - small helpers shared by every module: randomness, identifiers,
 * hashing, time and number parsing, hex digits, growing arrays. Randomness
 * and hashing come from GnuTLS.
 */
#ifndef RELAIS_UTIL_H
#define RELAIS_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include "relais.h"

#define UTIL_UUID_LEN 36     /* without the NUL */
#define UTIL_SHA256_HEX 64   /* without the NUL */

/* Fills p with n cryptographically random bytes. */
int util_random(void *p, size_t n) RELAIS_WUR;
/* Writes a random (version 4) UUID, lower-case, NUL-terminated, into out. */
int util_uuid(char out[UTIL_UUID_LEN + 1]) RELAIS_WUR;
/* Returns 1 when s is a lower-case canonical UUID (8-4-4-4-12 hex digits). */
int util_is_uuid(const char *s);
/* Writes the lower-case hex SHA-256 of p[0..n) into out (NUL-terminated). */
void util_sha256_hex(const void *p, size_t n, char out[UTIL_SHA256_HEX + 1]);
/* Writes n bytes as lower-case hex into out, which holds 2n+1 bytes. */
void util_hex(const void *p, size_t n, char *out);
/* The value (0 to 15) of the hex digit c, either case; -1 when c is none. */
int util_hex_digit(int c);

/* Wall-clock time in milliseconds since the Unix epoch. */
int64_t util_now_ms(void);
/* A date "2026-12-01" as people write it, "1er décembre 2026", into out
 * (32 bytes always suffice); other text is copied. Returns out. */
#define UTIL_DATE_FR_LEN 32
const char *util_date_fr(const char *iso, char *out, size_t outlen);
/* Text read by people, in out with each date standing alone in it
 * ("le 2026-03-01") as util_date_fr() writes it ("le 1er mars 2026"); cut
 * to outlen bytes at a character's edge. Returns out. */
const char *util_dates_fr(const char *in, char *out, size_t outlen);
/* "YYYY-MM-DDTHH:MM:SSZ" as a person reads it here, "04/12/2026 à 23:40"
 * (local time) in out; iso itself when it is not such a time. */
const char *util_local_time_fr(const char *iso, char *out, size_t outlen);
/* Formats ms since the epoch as "YYYY-MM-DDTHH:MM:SSZ" (UTC) into out[21]. */
void util_iso8601(int64_t ms, char out[21]);

/*
 * Returns 1 when a[0..n) and b[0..n) are equal, 0 otherwise, in a time that
 * depends on n only (never on where they differ): for secrets and their
 * hashes. Uses GnuTLS's gnutls_memcmp.
 */
int util_ct_equal(const void *a, const void *b, size_t n);

/*
 * Reads a secret (a password) from the first line of the file at path into
 * out (outlen bytes, NUL-terminated, line end dropped). RELAIS_EIO when the
 * file cannot be read, RELAIS_EPERM when it is not a regular file or group
 * or others may read or write it (a secret that others can read is no
 * longer one), RELAIS_EINVAL when the line is empty or does not fit;
 * err receives an English detail for the log (never the secret), and out is
 * wiped on failure.
 */
int util_read_secret(const char *path, char *out, size_t outlen, char *err, size_t errlen) RELAIS_WUR;

/*
 * Reads one line from the terminal on descriptor fd with its echo turned
 * off (the console part of the portable layer: a secret typed there is not
 * shown), into out (outlen bytes, NUL-terminated, line end dropped; a longer
 * line is cut). prompt goes to stderr once the echo is off, so that nothing
 * typed after it is shown. Returns 0, or RELAIS_EIO when fd is not a
 * terminal or cannot be read. The echo is restored before returning.
 */
int util_read_hidden_line(int fd, const char *prompt, char *out, size_t outlen) RELAIS_WUR;

/*
 * Raises the soft limit of open files (RLIMIT_NOFILE) to the hard limit.
 * Writes both as they stand afterwards into *soft and *hard (an unlimited
 * one as ULONG_MAX). Returns 0, RELAIS_EIO when the limits cannot be read;
 * a refused raise leaves the soft limit as it was and still returns 0.
 */
int util_raise_nofile(unsigned long *soft, unsigned long *hard) RELAIS_WUR;

/* Number of code points of the UTF-8 string s (the columns it takes on a
 * terminal, for the accented text of help and tables). */
size_t util_utf8_width(const char *s);

/*
 * Creates dir and every missing folder above it, each with mode (e.g.
 * 0700), as `mkdir -p` does; folders that exist are left as they are.
 * util_mkdirs_for() does it for the folder that will hold file. Returns 0,
 * or RELAIS_EIO / RELAIS_EINVAL with the French reason (naming the folder
 * that could not be made) in err.
 */
int util_mkdirs(const char *dir, unsigned mode, char *err, size_t errlen) RELAIS_WUR;
int util_mkdirs_for(const char *file, unsigned mode, char *err, size_t errlen) RELAIS_WUR;

/* French number agreement: "s" for 2 and more (0 and 1 take the singular in
 * French), "" otherwise: "%lld ligne%s reçue%s". */
static inline const char *util_pluriel(long long n)
{
	return n > 1 ? "s" : "";
}

/* "d'" before a word that starts with a vowel or a mute h, else "de ": the
 * elision of « de » before a name (« d'Inès », « de Paul »). */
const char *util_de(const char *word);

/* The French words for an errno value, for messages people read (libc's
 * strerror() speaks English). Static strings; never NULL. */
const char *util_errno_fr(int err);

/*
 * Room for element n of the array v, which holds *alloc elements of size
 * bytes: v itself while n < *alloc, else v grown (doubled; 8 elements at
 * first) with *alloc updated. NULL when memory or size_t runs out; v is
 * then unchanged and still the caller's to free.
 */
void *util_grow(void *v, size_t *alloc, size_t n, size_t size) RELAIS_WUR;

/* Parses a whole decimal integer in [min, max]; no sign games, no trailing junk. */
int util_parse_ll(const char *s, long long min, long long max, long long *out) RELAIS_WUR;

#endif
