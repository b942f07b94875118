/*
 * platform.c - the Linux side of platform.h (common/win32/platform.c is the
 * Windows one). Random numbers and hashing come from GnuTLS, already in the
 * tree through libcurl and libetpan.
 */
#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include "platform.h"

extern char **environ;

int platform_init(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int platform_random(void *p, size_t n)
{
	return gnutls_rnd(GNUTLS_RND_RANDOM, p, n) == 0 ? 0 : RELAIS_EIO;
}

void platform_sha256(const void *p, size_t n, unsigned char out[32])
{
	gnutls_hash_fast(GNUTLS_DIG_SHA256, p, n, out);
}

char *platform_default_home(void)
{
	const char *home = getenv("HOME");
	if (!home || !*home)
		return NULL;
	size_t n = strlen(home) + sizeof("/.relais");
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/.relais", home);
	return p;
}

int platform_try_lock(int fd)
{
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	return errno == EWOULDBLOCK || errno == EINTR ? RELAIS_EBUSY : RELAIS_EIO;
}

void platform_unlock(int fd)
{
	flock(fd, LOCK_UN);
}

/*
 * xdg-open may wait for the browser: a shell puts it in the background and
 * exits at once, so relais reaps the shell and never leaves a zombie.
 */
int platform_open_url(const char *url)
{
	char *args[] = { (char *)"sh", (char *)"-c",
			 (char *)"command -v xdg-open >/dev/null || exit 127; "
				 "xdg-open \"$1\" </dev/null >/dev/null 2>&1 &",
			 (char *)"sh", (char *)url, NULL };
	pid_t pid;
	int status;
	if (posix_spawn(&pid, "/bin/sh", NULL, NULL, args, environ))
		return RELAIS_EIO;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return RELAIS_EIO;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : RELAIS_EIO;
}

int platform_read_hidden_line(int fd, const char *prompt, char *out, size_t outlen)
{
	struct termios old, quiet;
	size_t n = 0;
	int rc = 0;
	if (outlen == 0 || tcgetattr(fd, &old))
		return RELAIS_EIO;
	quiet = old;
	/* ECHONL keeps the newline the person types, so the next output
	 * starts on a line of its own. */
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ECHONL;
	/* TCSAFLUSH drops what was typed before the prompt: it was echoed. */
	if (tcsetattr(fd, TCSAFLUSH, &quiet))
		return RELAIS_EIO;
	fputs(prompt, stderr);
	fflush(stderr);
	for (;;) {
		char c;
		ssize_t r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = RELAIS_EIO;
			break;
		}
		if (r == 0 || c == '\n')
			break;
		if (n + 1 < outlen)
			out[n++] = c;
	}
	out[n] = 0;
	tcsetattr(fd, TCSAFLUSH, &old);
	if (rc)
		explicit_bzero(out, outlen);
	return rc;
}

int platform_raise_nofile(unsigned long *soft, unsigned long *hard)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl))
		return RELAIS_EIO;
	if (rl.rlim_cur != rl.rlim_max) {
		struct rlimit want = { rl.rlim_max, rl.rlim_max };
		if (!setrlimit(RLIMIT_NOFILE, &want))
			rl = want;
	}
	*soft = rl.rlim_cur == RLIM_INFINITY ? ULONG_MAX : (unsigned long)rl.rlim_cur;
	*hard = rl.rlim_max == RLIM_INFINITY ? ULONG_MAX : (unsigned long)rl.rlim_max;
	return 0;
}
