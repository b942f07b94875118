/*
 * jeton.c - reading an account's token from the command line, a file, the
 * environment or standard input.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "../../common/util.h"
#include "jeton.h"

/* Far more than a token: enough to hold one with a stray line or spaces. */
#define JETON_READ_MAX 4096

/* Reads fd to its end into buf (cap bytes, NUL-terminated). RELAIS_ETOOBIG
 * past the cap. */
static int read_all(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return RELAIS_EIO;
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == cap - 1) {
			char extra;
			ssize_t more;
			while ((more = read(fd, &extra, 1)) < 0 && errno == EINTR)
				;
			if (more > 0)
				return RELAIS_ETOOBIG;
			break;
		}
	}
	buf[n] = 0;
	return 0;
}

static int from_file(const char *path, char *buf, size_t cap, char *err, size_t errlen)
{
	struct stat st;
	int rc = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "fichier du jeton « %s » illisible : %s.", path, util_errno_fr(errno));
		return RELAIS_EIO;
	}
	/* Checked on the open file, not the name. A pipe (« <(…) ») is fine. */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077)) {
		snprintf(err, errlen, "le fichier du jeton « %s » est accessible à d'autres "
			 "utilisateurs (droits %03o) : protégez-le avec « chmod 600 %s ».", path,
			 (unsigned)(st.st_mode & 0777), path);
		rc = RELAIS_EPERM;
	} else if ((rc = read_all(fd, buf, cap))) {
		snprintf(err, errlen, "fichier du jeton « %s » %s.", path,
			 rc == RELAIS_ETOOBIG ? "trop long pour contenir un jeton" : "illisible");
	}
	close(fd);
	return rc;
}

static int from_stdin(char *buf, size_t cap, char *err, size_t errlen)
{
	int rc;
	if (isatty(STDIN_FILENO)) {
		rc = util_read_hidden_line(STDIN_FILENO, "Jeton du compte (la saisie ne s'affiche "
					   "pas) : ", buf, cap);
	} else {
		rc = read_all(STDIN_FILENO, buf, cap);
	}
	if (rc)
		snprintf(err, errlen, "lecture du jeton sur l'entrée standard impossible%s.",
			 rc == RELAIS_ETOOBIG ? " : trop de données" : "");
	return rc;
}

/* Moves the text of buf between its leading and trailing white space to
 * the start of buf. */
static void trim(char *buf)
{
	size_t start = strspn(buf, " \t\r\n"), n = strlen(buf + start);
	while (n && strchr(" \t\r\n", buf[start + n - 1]))
		n--;
	memmove(buf, buf + start, n);
	buf[n] = 0;
}

int jeton_read(const struct jeton_source *src, char out[TOKEN_LEN + 1], char *err, size_t errlen)
{
	char buf[JETON_READ_MAX];
	const char *env = getenv(JETON_ENV);
	int rc = 0;

	buf[0] = 0;
	if (src->given && src->file) {
		snprintf(err, errlen, "donnez le jeton d'une seule façon : --jeton ou --fichier-jeton.");
		rc = RELAIS_EINVAL;
	} else if (src->given) {
		snprintf(buf, sizeof(buf), "%s", src->given);
	} else if (src->file) {
		rc = from_file(src->file, buf, sizeof(buf), err, errlen);
	} else if (env && *env) {
		snprintf(buf, sizeof(buf), "%s", env);
	} else {
		rc = from_stdin(buf, sizeof(buf), err, errlen);
	}
	if (rc)
		goto out;
	trim(buf);
	if (!buf[0]) {
		snprintf(err, errlen, "aucun jeton : donnez-le sur l'entrée standard, dans un fichier "
			 "(--fichier-jeton FICHIER) ou dans la variable %s (voir --help).", JETON_ENV);
		rc = RELAIS_EINVAL;
		goto out;
	}
	if ((rc = token_check(buf, err, errlen))) {
		size_t used = strlen(err);
		snprintf(err + used, errlen - used, " Rien n'a été envoyé au serveur.");
		goto out;
	}
	memcpy(out, buf, TOKEN_LEN + 1);
out:
	explicit_bzero(buf, sizeof(buf));
	if (rc)
		explicit_bzero(out, TOKEN_LEN + 1);
	return rc;
}
