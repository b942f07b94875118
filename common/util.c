#include <ctype.h>
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

int util_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void *util_grow(void *v, size_t *alloc, size_t n, size_t size)
{
	if (n < *alloc)
		return v;
	size_t na = *alloc ? *alloc * 2 : 8;
	if (na < *alloc || na > SIZE_MAX / size)
		return NULL;
	void *nv = realloc(v, na * size);
	if (nv)
		*alloc = na;
	return nv;
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
		snprintf(err, errlen, "%s: %s", path, util_errno_fr(errno));
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
		snprintf(err, errlen, "%s : mot de passe vide ou trop long", path);
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

size_t util_utf8_width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

int util_mkdirs(const char *dir, unsigned mode, char *err, size_t errlen)
{
	char path[4096];
	size_t n = strlen(dir);
	struct stat st;

	if (!n || n >= sizeof(path)) {
		snprintf(err, errlen, "chemin de dossier vide ou trop long.");
		return RELAIS_EINVAL;
	}
	memcpy(path, dir, n + 1);
	while (n > 1 && path[n - 1] == '/')
		path[--n] = 0;
	/* Each missing folder from the first one down: "a/b/c" makes a, a/b,
	 * then a/b/c, all with mode. */
	for (size_t i = 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != 0)
			continue;
		char c = path[i];
		path[i] = 0;
		if (stat(path, &st) == 0) {
			if (!S_ISDIR(st.st_mode)) {
				snprintf(err, errlen, "« %s » existe mais n'est pas un dossier.", path);
				return RELAIS_EIO;
			}
		} else if (errno != ENOENT || mkdir(path, (mode_t)mode) != 0) {
			if (errno != EEXIST) {
				snprintf(err, errlen, "impossible de créer le dossier « %s » : %s.", path,
					 errno == EACCES ? "permission refusée (vérifiez les droits du "
							   "dossier parent)" : util_errno_fr(errno));
				return RELAIS_EIO;
			}
		}
		path[i] = c;
	}
	return 0;
}

int util_mkdirs_for(const char *file, unsigned mode, char *err, size_t errlen)
{
	const char *slash = strrchr(file, '/');
	char dir[4096];
	if (!slash || slash == file)
		return 0;
	size_t n = (size_t)(slash - file);
	if (n >= sizeof(dir)) {
		snprintf(err, errlen, "chemin trop long.");
		return RELAIS_EINVAL;
	}
	memcpy(dir, file, n);
	dir[n] = 0;
	return util_mkdirs(dir, mode, err, errlen);
}

const char *util_errno_fr(int err)
{
	switch (err) {
	case 0: return "succès";
	case ENOENT: return "fichier ou dossier introuvable";
	case EACCES: return "permission refusée";
	case EPERM: return "opération non permise";
	case EEXIST: return "existe déjà";
	case ENOTDIR: return "un élément du chemin n'est pas un dossier";
	case EISDIR: return "c'est un dossier";
	case ENOSPC: return "plus de place sur le disque";
#ifdef EDQUOT
	case EDQUOT: return "quota de disque dépassé";
#endif
	case EROFS: return "système de fichiers en lecture seule";
	case EIO: return "erreur d'entrée-sortie du disque";
	case ENAMETOOLONG: return "nom trop long";
	case EMFILE: case ENFILE: return "trop de fichiers ouverts";
	case ENOMEM: return "mémoire insuffisante";
	case EBUSY: return "ressource occupée";
	case EINVAL: return "argument invalide";
	case EAGAIN: return "ressource temporairement indisponible";
	case EINTR: return "interrompu";
	case ENOTEMPTY: return "dossier non vide";
	case EXDEV: return "déplacement entre deux disques impossible";
#ifdef ELOOP
	case ELOOP: return "trop de liens symboliques";
#endif
#ifdef ECONNREFUSED
	case ECONNREFUSED: return "connexion refusée";
#endif
#ifdef ETIMEDOUT
	case ETIMEDOUT: return "délai dépassé";
#endif
#ifdef EPIPE
	case EPIPE: return "connexion fermée par l'autre côté";
#endif
#ifdef ECONNRESET
	case ECONNRESET: return "connexion coupée";
#endif
#ifdef EADDRINUSE
	case EADDRINUSE: return "adresse déjà utilisée";
#endif
#ifdef ENOEXEC
	case ENOEXEC: return "programme non exécutable";
#endif
#ifdef ECHILD
	case ECHILD: return "aucun processus enfant";
#endif
	default: return "erreur du système";
	}
}

const char *util_de(const char *word)
{
	const unsigned char *w = (const unsigned char *)(word ? word : "");
	char c = (char)(*w >= 'A' && *w <= 'Z' ? *w - 'A' + 'a' : *w);
	/* Accented capitals and small letters of Latin-1 start with 0xc3. */
	if (strchr("aeiouyh", c) && c)
		return "d'";
	if (w[0] == 0xc3 && ((w[1] >= 0x80 && w[1] <= 0x8f) || (w[1] >= 0x92 && w[1] <= 0x9c) ||
			     (w[1] >= 0xa0 && w[1] <= 0xaf) || (w[1] >= 0xb2 && w[1] <= 0xbc)))
		return "d'";
	return "de ";
}

const char *util_date_fr(const char *iso, char *out, size_t outlen)
{
	static const char *const months[] = {
		"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
		"septembre", "octobre", "novembre", "décembre",
	};
	int y, m, d, n = 0;
	if (!outlen)
		return iso ? iso : "";
	if (!iso || strlen(iso) < 10 || sscanf(iso, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 ||
	    m < 1 || m > 12 || d < 1 || d > 31) {
		snprintf(out, outlen, "%s", iso ? iso : "");
		return out;
	}
	snprintf(out, outlen, "%d%s %s %d", d, d == 1 ? "er" : "", months[m - 1], y);
	return out;
}

/* Whether s[0..10) is a date AAAA-MM-JJ standing alone in text from start:
 * no letter, digit or dash touching it (never a piece of an identifier). */
static int date_at(const char *start, const char *s)
{
	static const char shape[] = "dddd-dd-dd";
	for (int i = 0; i < 10; i++)
		if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != '-')
			return 0;
	int before = s > start && (isalnum((unsigned char)s[-1]) || s[-1] == '-');
	int after = isalnum((unsigned char)s[10]) || s[10] == '-';
	return !before && !after;
}

const char *util_dates_fr(const char *in, char *out, size_t outlen)
{
	const char *p = in ? in : "";
	size_t n = 0;
	int cut = 0;
	if (!outlen)
		return out;
	while (*p && !cut) {
		char fr[UTIL_DATE_FR_LEN] = "";
		const char *piece = p;
		size_t len = 1;
		if (date_at(in, p)) {
			char iso[11];
			memcpy(iso, p, 10);
			iso[10] = 0;
			piece = util_date_fr(iso, fr, sizeof(fr));
			len = strlen(piece);
		}
		if (n + len >= outlen) {
			cut = 1;
			break;
		}
		memcpy(out + n, piece, len);
		n += len;
		p += piece == fr ? 10 : 1;
	}
	/* A cut never leaves half a UTF-8 character. */
	if (cut) {
		while (n > 0 && ((unsigned char)out[n - 1] & 0xc0) == 0x80)
			n--;
		if (n > 0 && ((unsigned char)out[n - 1] & 0xc0) == 0xc0)
			n--;
	}
	out[n] = 0;
	return out;
}

const char *util_local_time_fr(const char *iso, char *out, size_t outlen)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *end = strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
	time_t t = end && !*end ? timegm(&tm) : (time_t)-1;
	if (t == (time_t)-1 || !localtime_r(&t, &tm) ||
	    !strftime(out, outlen, "%d/%m/%Y à %H:%M", &tm))
		return iso;
	return out;
}
