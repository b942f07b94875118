#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include "platform.h"
#include "util.h"

int util_random(void *p, size_t n)
{
	return platform_random(p, n);
}

int util_uuid(char out[UTIL_UUID_LEN + 1])
{
	unsigned char r[16];
	int rc = util_random(r, sizeof(r));
	if (rc)
		return rc;
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (size_t i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[r[i] >> 4];
		out[o++] = hex[r[i] & 15];
	}
	out[o] = 0;
	return 0;
}

int util_is_uuid(const char *s)
{
	if (!s || strlen(s) != UTIL_UUID_LEN)
		return 0;
	for (size_t i = 0; i < UTIL_UUID_LEN; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !strchr("0123456789abcdef", s[i]) || !s[i])
			return 0;
	}
	return 1;
}

void util_hex(const void *p, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[2 * n] = 0;
}

void util_sha256_hex(const void *p, size_t n, char out[UTIL_SHA256_HEX + 1])
{
	unsigned char digest[32];
	platform_sha256(p, n, digest);
	util_hex(digest, sizeof(digest), out);
}

int64_t util_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void util_iso8601(int64_t ms, char out[21])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int util_parse_ll(const char *s, long long min, long long max, long long *out)
{
	if (!s || !*s || (*s != '-' && (*s < '0' || *s > '9')))
		return RELAIS_EINVAL;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return RELAIS_EINVAL;
	*out = v;
	return 0;
}

int util_ct_equal(const void *a, const void *b, size_t n)
{
	/* Every byte is read whatever differs: the time says nothing. */
	const volatile unsigned char *x = a, *y = b;
	unsigned char d = 0;
	for (size_t i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

int util_read_secret(const char *path, char *out, size_t outlen, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	struct stat st;
	size_t n;
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return RELAIS_EIO;
	}
	/* Checked on the open file, not the name: no window for a swap. */
	memset(&st, 0, sizeof(st));
	if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode) || (st.st_mode & 077)) {
		snprintf(err, errlen, "%s: not a private regular file (mode %03o): run chmod 600 %s",
			 path, (unsigned)(st.st_mode & 0777), path);
		fclose(f);
		explicit_bzero(out, outlen);
		return RELAIS_EPERM;
	}
	n = fread(out, 1, outlen - 1, f);
	fclose(f);
	out[n] = 0;
	n = strcspn(out, "\r\n");
	out[n] = 0;
	if (n == 0 || n == outlen - 1) {
		snprintf(err, errlen, "%s: empty or too long password", path);
		explicit_bzero(out, outlen);
		return RELAIS_EINVAL;
	}
	return 0;
}

int util_read_hidden_line(int fd, const char *prompt, char *out, size_t outlen)
{
	return platform_read_hidden_line(fd, prompt, out, outlen);
}

int util_raise_nofile(unsigned long *soft, unsigned long *hard)
{
	return platform_raise_nofile(soft, hard);
}
