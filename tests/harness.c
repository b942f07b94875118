/*
 * harness.c - real processes on loopback for the end-to-end tests.
 *
 * Everything the harness hands out is recorded in one static registry (each
 * test runs in a child process of its own, so the registry starts empty)
 * and released by one deferred cleanup, which also runs when an assertion
 * ends the test early or the time limit hits.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>
#include "../common/util.h"
#include "../model/model.h"
#include "../sync/sync.h"
#include "../sync/wire.h"
#include "harness.h"
#include "test.h"

#define H_MAX_PIDS 256
#define H_MAX_ARGS 64
#define H_OUT_CAP (64u << 20)
#define H_HTTP_CAP (80u << 20)

static struct {
	int ready;
	int keep;
	char dir[H_PATH];
	void **ptrs;
	size_t nptrs, aptrs;
	json_t **jsons;
	size_t njsons, ajsons;
	pid_t pids[H_MAX_PIDS];
	int npids;
	unsigned spawned;
} H;

/* ---- ownership ---- */

static void *keep_ptr(void *p)
{
	if (!p)
		return NULL;
	if (H.nptrs == H.aptrs) {
		size_t n = H.aptrs ? 2 * H.aptrs : 256;
		void **q = realloc(H.ptrs, n * sizeof(*q));
		if (!q)
			return p; /* leaked until exit: the test is ending anyway */
		H.ptrs = q;
		H.aptrs = n;
	}
	H.ptrs[H.nptrs++] = p;
	return p;
}

static json_t *keep_json(json_t *j)
{
	if (!j)
		return NULL;
	if (H.njsons == H.ajsons) {
		size_t n = H.ajsons ? 2 * H.ajsons : 64;
		json_t **q = realloc(H.jsons, n * sizeof(*q));
		if (!q)
			return j;
		H.jsons = q;
		H.ajsons = n;
	}
	H.jsons[H.njsons++] = j;
	return j;
}

static void track_pid(pid_t pid)
{
	if (H.npids < H_MAX_PIDS)
		H.pids[H.npids++] = pid;
}

static void untrack_pid(pid_t pid)
{
	for (int i = 0; i < H.npids; i++)
		if (H.pids[i] == pid) {
			H.pids[i] = H.pids[--H.npids];
			return;
		}
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void cleanup(void *arg)
{
	(void)arg;
	for (int i = 0; i < H.npids; i++) {
		kill(H.pids[i], SIGKILL);
		while (waitpid(H.pids[i], NULL, 0) < 0 && errno == EINTR)
			;
	}
	H.npids = 0;
	for (size_t i = 0; i < H.njsons; i++)
		json_decref(H.jsons[i]);
	free(H.jsons);
	for (size_t i = 0; i < H.nptrs; i++)
		free(H.ptrs[i]);
	free(H.ptrs);
	if (H.keep)
		fprintf(stderr, "  (kept %s)\n", H.dir);
	else if (H.dir[0])
		nftw(H.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	memset(&H, 0, sizeof(H));
}

const char *h_setup(void)
{
	const char *tmp = getenv("TMPDIR");
	const char *keep = getenv("RELAIS_TEST_KEEP");
	if (H.ready) {
		fprintf(stderr, "h_setup called twice\n");
		abort();
	}
	if (!tmp || !*tmp)
		tmp = "/tmp";
	snprintf(H.dir, sizeof(H.dir), "%s/relais-e2e-XXXXXX", tmp);
	if (!mkdtemp(H.dir)) {
		perror("mkdtemp");
		abort();
	}
	H.keep = keep && !strcmp(keep, "1");
	H.ready = 1;
	signal(SIGPIPE, SIG_IGN);
	test_defer(cleanup, NULL);
	return H.dir;
}

char *h_strf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s)
		abort();
	return keep_ptr(s);
}

char *h_path(const char *name)
{
	return h_strf("%s/%s", H.dir, name);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

char *h_read_file(const char *path, size_t *len)
{
	struct buf b = BUF_INIT(H_OUT_CAP);
	char chunk[8192];
	char *s = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (buf_append(&b, chunk, (size_t)n))
			break;
	}
	close(fd);
	s = (char *)buf_detach(&b, len);
	return keep_ptr(s);
}

const char *h_bin(const char *name)
{
	const char *dir = getenv("RELAIS_BINDIR");
	if (!dir || !*dir)
		dir = "./build";
	return h_strf("%s/%s", dir, name);
}

/* ---- processes ---- */

static int decode_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -1;
}

/* Forks and execs argv with the given descriptors (stdin from /dev/null
 * when infd is -1), env's entries added to the environment and, when nofile
 * is not 0, both open-files limits at nofile; the child dies with us
 * (PR_SET_PDEATHSIG), so nothing outlives a crashed test runner. */
static pid_t spawn_full(char *const argv[], int infd, int outfd, int errfd,
			const char *const *env, unsigned long nofile)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return -1;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int in = infd >= 0 ? infd : open("/dev/null", O_RDONLY);
		if (in < 0 || dup2(in, 0) < 0 || dup2(outfd, 1) < 0 || dup2(errfd, 2) < 0)
			_exit(126);
		closefrom(3);
		struct rlimit rl = { nofile, nofile };
		if (nofile && setrlimit(RLIMIT_NOFILE, &rl))
			_exit(126);
		signal(SIGPIPE, SIG_DFL);
		/* Keep the programs away from the real home (~/.relais), and from a
		 * token the runner's environment may hold. */
		setenv("HOME", H.dir, 1);
		unsetenv("RELAIS_HOME");
		unsetenv("RELAIS_TOKEN");
		for (size_t i = 0; env && env[i]; i++)
			putenv((char *)env[i]);
		execv(argv[0], argv);
		_exit(127);
	}
	track_pid(pid);
	return pid;
}

static pid_t spawn(char *const argv[], int outfd, int errfd)
{
	return spawn_full(argv, -1, outfd, errfd, NULL, 0);
}

int h_wait(pid_t pid, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;
	int st;
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid) {
			untrack_pid(pid);
			return decode_status(st);
		}
		if (r < 0 && errno != EINTR) {
			untrack_pid(pid);
			return -1;
		}
		if (now_ms() >= end)
			return -1;
		sleep_ms(5);
	}
}

void h_kill(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	untrack_pid(pid);
}

static char *join_args(char *const argv[])
{
	struct buf b = BUF_INIT(1u << 20);
	for (int i = 0; argv[i]; i++)
		if (buf_printf(&b, "%s%s", i ? " " : "", argv[i]))
			break;
	return keep_ptr(buf_detach(&b, NULL));
}

/* Runs argv with input on its stdin (NULL: /dev/null) and env added to its
 * environment; see h_runv. */
static struct h_out *run_with(char *const argv[], const char *input, const char *const *env,
			      int timeout_ms)
{
	struct h_out *o = keep_ptr(calloc(1, sizeof(*o)));
	struct buf out = BUF_INIT(H_OUT_CAP), err = BUF_INIT(H_OUT_CAP);
	int po[2] = { -1, -1 }, pe[2] = { -1, -1 }, pi[2] = { -1, -1 };
	int64_t end = now_ms() + timeout_ms;
	if (!o)
		abort();
	o->status = -1;
	o->cmd = join_args(argv);
	/* The input is written whole before the child runs: it must fit in
	 * the pipe, which holds 64 KiB. */
	if (input && strlen(input) > 32768) {
		fprintf(stderr, "  input too long for the pipe: %s\n", o->cmd);
		goto out;
	}
	if (pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC) || (input && pipe2(pi, O_CLOEXEC))) {
		perror("pipe");
		goto out;
	}
	if (input) {
		size_t left = strlen(input);
		const char *p = input;
		while (left > 0) {
			ssize_t w = write(pi[1], p, left);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				perror("write");
				goto out;
			}
			p += w;
			left -= (size_t)w;
		}
		close(pi[1]);
		pi[1] = -1;
	}
	pid_t pid = spawn_full(argv, pi[0], po[1], pe[1], env, 0);
	close(po[1]);
	close(pe[1]);
	po[1] = pe[1] = -1;
	if (pid < 0)
		goto out;
	int open_fds = 2, truncated = 0;
	while (open_fds > 0) {
		struct pollfd pf[2] = { { po[0], POLLIN, 0 }, { pe[0], POLLIN, 0 } };
		int left = (int)(end - now_ms());
		if (left <= 0)
			break;
		int n = poll(pf, 2, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (int i = 0; i < 2; i++) {
			if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			char chunk[16384];
			ssize_t r = read(pf[i].fd, chunk, sizeof(chunk));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				close(pf[i].fd);
				if (i == 0)
					po[0] = -1;
				else
					pe[0] = -1;
				open_fds--;
				continue;
			}
			/* Output past the cap is dropped, and said so. */
			if (buf_append(i == 0 ? &out : &err, chunk, (size_t)r) && !truncated) {
				truncated = 1;
				fprintf(stderr, "  output over %u bytes dropped: %s\n", H_OUT_CAP, o->cmd);
			}
		}
	}
	int left = (int)(end - now_ms());
	o->status = h_wait(pid, left > 0 ? left : 1);
	if (o->status == -1) {
		fprintf(stderr, "  time limit (%d ms) passed: %s\n", timeout_ms, o->cmd);
		h_kill(pid);
	}
out:
	for (int i = 0; i < 2; i++) {
		if (po[i] >= 0)
			close(po[i]);
		if (pe[i] >= 0)
			close(pe[i]);
		if (pi[i] >= 0)
			close(pi[i]);
	}
	o->out = keep_ptr(buf_detach(&out, &o->outlen));
	o->err = keep_ptr(buf_detach(&err, &o->errlen));
	if (!o->out || !o->err)
		abort();
	return o;
}

struct h_out *h_runv(char *const argv[], int timeout_ms)
{
	return run_with(argv, NULL, NULL, timeout_ms);
}

/* Builds "relais --dossier HOME args..." from a va_list. */
static int relais_argv(char *argv[H_MAX_ARGS], const char *home, va_list ap)
{
	int n = 0;
	argv[n++] = (char *)h_bin("relais");
	argv[n++] = (char *)"--dossier";
	argv[n++] = (char *)home;
	for (;;) {
		char *a = va_arg(ap, char *);
		if (!a)
			break;
		if (n == H_MAX_ARGS - 1) {
			fprintf(stderr, "too many arguments\n");
			abort();
		}
		argv[n++] = a;
	}
	argv[n] = NULL;
	return n;
}

struct h_out *h_relais(const char *home, ...)
{
	char *argv[H_MAX_ARGS];
	va_list ap;
	va_start(ap, home);
	relais_argv(argv, home, ap);
	va_end(ap);
	return h_runv(argv, H_TIMEOUT_MS);
}

struct h_out *h_relais_with(const char *home, const char *input, const char *const *env, ...)
{
	char *argv[H_MAX_ARGS];
	va_list ap;
	va_start(ap, env);
	relais_argv(argv, home, ap);
	va_end(ap);
	return run_with(argv, input, env, H_TIMEOUT_MS);
}

static void report(const struct h_out *o)
{
	fprintf(stderr, "  `%s` exited %d\n  stdout: %.2000s\n  stderr: %.2000s\n",
		o->cmd, o->status, o->out, o->err);
}

const char *h_relais_ok(const char *home, ...)
{
	char *argv[H_MAX_ARGS];
	va_list ap;
	va_start(ap, home);
	relais_argv(argv, home, ap);
	va_end(ap);
	struct h_out *o = h_runv(argv, H_TIMEOUT_MS);
	if (o->status != 0) {
		report(o);
		return NULL;
	}
	while (o->outlen > 0 && (o->out[o->outlen - 1] == '\n' || o->out[o->outlen - 1] == '\r'))
		o->out[--o->outlen] = 0;
	return o->out;
}

pid_t h_relais_spawn(const char *home, ...)
{
	char *argv[H_MAX_ARGS];
	va_list ap;
	va_start(ap, home);
	relais_argv(argv, home, ap);
	va_end(ap);
	unsigned k = H.spawned++;
	char *outp = h_strf("%s/spawn-%u.out", H.dir, k);
	char *errp = h_strf("%s/spawn-%u.err", H.dir, k);
	int fo = open(outp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int fe = open(errp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	pid_t pid = -1;
	if (fo >= 0 && fe >= 0)
		pid = spawn(argv, fo, fe);
	if (fo >= 0)
		close(fo);
	if (fe >= 0)
		close(fe);
	return pid;
}

int h_ui_start(const char *home, struct h_ui *u)
{
	static const char lead[] = "Relais est ouvert : http://127.0.0.1:";
	static const char key[] = "/?cle=";
	memset(u, 0, sizeof(*u));
	unsigned k = H.spawned;
	u->pid = h_relais_spawn(home, "ui", "--no-browser", "--port", "0", (char *)NULL);
	if (u->pid < 0)
		return -1;
	const char *out = h_strf("%s/spawn-%u.out", H.dir, k);
	const char *errp = h_strf("%s/spawn-%u.err", H.dir, k);
	if (strlen(errp) >= sizeof(u->err))
		return -1;
	memcpy(u->err, errp, strlen(errp) + 1);
	const char *text, *nl;
	int64_t end = now_ms() + H_TIMEOUT_MS;
	while (!(text = h_read_file(out, NULL)) || !(nl = strchr(text, '\n'))) {
		int st = h_wait(u->pid, 0);
		if (st != -1 || now_ms() > end) {
			const char *err = h_read_file(u->err, NULL);
			fprintf(stderr, "  relais ui did not print its address (status %d): %s\n", st,
				err ? err : "");
			return -1;
		}
		sleep_ms(20);
	}
	const char *url = text + strlen("Relais est ouvert : ");
	char *rest = NULL;
	long port = -1;
	if (!strncmp(text, lead, strlen(lead)) && !nl[1] && (size_t)(nl - url) < sizeof(u->url)) {
		errno = 0;
		port = strtol(text + strlen(lead), &rest, 10);
		if (errno)
			port = -1;
	}
	size_t keylen = rest && !strncmp(rest, key, strlen(key)) ?
			strcspn(rest + strlen(key), "\n") : 0;
	if (port <= 0 || port > 65535 || keylen < 22 || keylen >= sizeof(u->secret)) {
		fprintf(stderr, "  relais ui printed an unexpected line: %s\n", text);
		return -1;
	}
	memcpy(u->url, url, (size_t)(nl - url));
	memcpy(u->secret, rest + strlen(key), keylen);
	u->port = (int)port;
	return 0;
}

/* ---- the daemon ---- */

/* out = <test dir>/name suffix; -1 when it does not fit. */
static int dir_path(char out[H_PATH], const char *name, const char *suffix)
{
	int n = snprintf(out, H_PATH, "%s/%s%s", H.dir, name, suffix);
	if (n < 0 || n >= H_PATH) {
		fprintf(stderr, "  path too long: %s/%s%s\n", H.dir, name, suffix);
		return -1;
	}
	return 0;
}

static int relaisd_ok(char *const argv[], struct h_out **res)
{
	struct h_out *o = h_runv(argv, H_TIMEOUT_MS);
	if (res)
		*res = o;
	if (o->status != 0) {
		report(o);
		return -1;
	}
	return 0;
}

int h_daemon_init(struct h_daemon *d, const char *name)
{
	memset(d, 0, sizeof(*d));
	if (dir_path(d->data, name, "") || dir_path(d->portfile, name, ".port") ||
	    dir_path(d->log, name, ".log"))
		return -1;
	char *argv[] = { (char *)h_bin("relaisd"), (char *)"init", (char *)"--data", d->data, NULL };
	return relaisd_ok(argv, NULL);
}

int h_daemon_user(struct h_daemon *d, const char *login, const char *dept,
		  const char *role, char token[H_TOKEN])
{
	struct h_out *o;
	char *argv[] = { (char *)h_bin("relaisd"), (char *)"user", (char *)"add", (char *)"--data",
			 d->data, (char *)"--login", (char *)login, (char *)"--dept", (char *)dept,
			 (char *)"--role", (char *)role, NULL };
	if (relaisd_ok(argv, &o))
		return -1;
	/* The contract: the token alone on one line, nothing else on stdout. */
	size_t n = o->outlen;
	if (n < 2 || o->out[n - 1] != '\n' || memchr(o->out, '\n', n - 1) || n - 1 >= H_TOKEN) {
		fprintf(stderr, "  `%s`: stdout is not one token line: \"%s\"\n", o->cmd, o->out);
		return -1;
	}
	for (size_t i = 0; i + 1 < n; i++)
		if (o->out[i] <= ' ' || o->out[i] > '~') {
			fprintf(stderr, "  `%s`: token holds byte 0x%02x\n", o->cmd,
				(unsigned char)o->out[i]);
			return -1;
		}
	memcpy(token, o->out, n - 1);
	token[n - 1] = 0;
	return 0;
}

int h_daemon_coords(struct h_daemon *d, const char *name, char ta[H_TOKEN], char tb[H_TOKEN],
		    char tc[H_TOKEN])
{
	if (h_daemon_init(d, name) ||
	    h_daemon_user(d, "coord-a", "65", "coordinateur", ta) ||
	    h_daemon_user(d, "coord-b", "65", "coordinateur", tb) ||
	    h_daemon_user(d, "coord-c", "65", "coordinateur", tc))
		return -1;
	return 0;
}

int h_daemon_log_has(const struct h_daemon *d, const char *needle, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;
	for (;;) {
		const char *log = h_read_file(d->log, NULL);
		if (log && strstr(log, needle))
			return 1;
		if (now_ms() >= end)
			return 0;
		sleep_ms(50);
	}
}

void h_daemon_dump_log(const struct h_daemon *d)
{
	size_t len = 0;
	char *s = h_read_file(d->log, &len);
	if (!s)
		return;
	const char *from = len > 3000 ? s + len - 3000 : s;
	fprintf(stderr, "  --- relaisd log (%s) ---\n%s\n  ---\n", d->log, from);
}

static int read_port(const char *path, int *port)
{
	size_t len = 0;
	char *s = h_read_file(path, &len);
	long long v;
	if (!s || len < 2 || s[len - 1] != '\n')
		return -1;
	s[len - 1] = 0;
	if (util_parse_ll(s, 1, 65535, &v))
		return -1;
	*port = (int)v;
	return 0;
}

int h_daemon_serve(struct h_daemon *d)
{
	char *argv[] = { (char *)h_bin("relaisd"), (char *)"serve", (char *)"--data", d->data,
			 (char *)"--listen", (char *)"127.0.0.1:0", (char *)"--port-file",
			 d->portfile, NULL, NULL, NULL };
	if (d->config[0]) {
		argv[8] = (char *)"--config";
		argv[9] = d->config;
	}
	unlink(d->portfile);
	int fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		perror(d->log);
		return -1;
	}
	d->pid = spawn_full(argv, -1, fd, fd, NULL, d->nofile);
	close(fd);
	if (d->pid < 0) {
		d->pid = 0;
		return -1;
	}
	d->starts++;
	int64_t end = now_ms() + 20000;
	for (;;) {
		if (read_port(d->portfile, &d->port) == 0)
			break;
		int st;
		if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
			untrack_pid(d->pid);
			fprintf(stderr, "  relaisd serve exited %d before listening\n", decode_status(st));
			d->pid = 0;
			h_daemon_dump_log(d);
			return -1;
		}
		if (now_ms() > end) {
			fprintf(stderr, "  relaisd serve wrote no port file in 20 s\n");
			h_daemon_dump_log(d);
			return -1;
		}
		sleep_ms(10);
	}
	snprintf(d->url, sizeof(d->url), "http://127.0.0.1:%d", d->port);
	for (;;) {
		struct h_http r;
		if (h_http(d->port, "GET", "/v1/health", NULL, NULL, NULL, 0, &r) == 0 &&
		    r.status == 200)
			return 0;
		if (now_ms() > end) {
			fprintf(stderr, "  GET /v1/health did not answer 200 (last: %d)\n", r.status);
			h_daemon_dump_log(d);
			return -1;
		}
		sleep_ms(20);
	}
}

int h_daemon_stop(struct h_daemon *d)
{
	if (d->pid <= 0)
		return -1;
	kill(d->pid, SIGTERM);
	int st = h_wait(d->pid, 20000);
	if (st == -1) {
		fprintf(stderr, "  relaisd did not stop within 20 s of SIGTERM\n");
		h_kill(d->pid);
	}
	if (st != 0)
		h_daemon_dump_log(d);
	d->pid = 0;
	return st;
}

void h_daemon_kill(struct h_daemon *d)
{
	h_kill(d->pid);
	d->pid = 0;
}

int h_daemon_healthy(const struct h_daemon *d)
{
	struct h_http r;
	int st;
	if (d->pid <= 0)
		return 0;
	if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
		untrack_pid(d->pid);
		fprintf(stderr, "  relaisd exited %d\n", decode_status(st));
		h_daemon_dump_log(d);
		return 0;
	}
	if (h_http(d->port, "GET", "/v1/health", NULL, NULL, NULL, 0, &r) || r.status != 200) {
		fprintf(stderr, "  GET /v1/health answered %d\n", r.status);
		return 0;
	}
	return 1;
}

int h_daemon_start(struct h_daemon *d, const char *name)
{
	if (h_daemon_init(d, name))
		return -1;
	return h_daemon_serve(d);
}

/* Appends every row of table, in id order, with a type tag per value. */
static int dump_table(sqlite3 *db, const char *table, struct buf *b)
{
	sqlite3_stmt *st = NULL;
	char *sql = sqlite3_mprintf("SELECT * FROM \"%w\" ORDER BY id", table);
	int rc = -1;
	if (!sql || sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "  fingerprint: %s: %s\n", table, sqlite3_errmsg(db));
		goto out;
	}
	if (buf_printf(b, "[%s]", table))
		goto out;
	int s;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; i < sqlite3_column_count(st); i++) {
			int type = sqlite3_column_type(st, i);
			const unsigned char *v = sqlite3_column_text(st, i);
			int n = sqlite3_column_bytes(st, i);
			if (buf_printf(b, "%d:%d:", type, n) || (v && buf_append(b, v, (size_t)n)))
				goto out;
		}
		if (buf_putc(b, '\n'))
			goto out;
	}
	if (s != SQLITE_DONE) {
		fprintf(stderr, "  fingerprint: %s: %s\n", table, sqlite3_errmsg(db));
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	sqlite3_free(sql);
	return rc;
}

const char *h_store_fingerprint(const struct h_daemon *d, const char *const *depts, size_t n)
{
	sqlite3 *db = NULL;
	struct buf b = BUF_INIT(256u << 20);
	char hex[UTIL_SHA256_HEX + 1];
	const char *res = NULL;
	char *path = h_strf("%s/relais.db", d->data);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		fprintf(stderr, "  fingerprint: cannot open %s\n", path);
		goto out;
	}
	sqlite3_busy_timeout(db, 10000);
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		goto out;
	for (size_t i = 0; i < model_ntables; i++)
		if (dump_table(db, model_table_names[i], &b))
			goto out;
	if (dump_table(db, SYNC_CONFLICT_TABLE, &b))
		goto out;
	util_sha256_hex(b.data ? (const void *)b.data : "", b.len, hex);
	buf_reset(&b);
	if (buf_puts(&b, hex))
		goto out;
	for (size_t i = 0; i < n; i++) {
		sync_hlc_t hlc;
		uint64_t seq;
		int rc = sync_server_state(db, depts[i], &hlc, &seq);
		if (rc) {
			fprintf(stderr, "  fingerprint: sync_server_state(%s) = %d\n", depts[i], rc);
			goto out;
		}
		if (buf_printf(&b, " %s:%llu", depts[i], (unsigned long long)seq))
			goto out;
	}
	res = h_strf("%s", buf_str(&b));
out:
	if (db) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_close(db);
	}
	buf_release(&b);
	return res;
}

/* ---- replicas ---- */

const char *h_replica(const struct h_daemon *d, const char *name, const char *token)
{
	char *home = h_path(name);
	if (!h_relais_ok(home, "init", "--server", d->url, "--token", token, (char *)NULL))
		return NULL;
	return home;
}

int h_sync(const char *home, const struct h_daemon *d)
{
	if (!h_relais_ok(home, "sync", "--server", d->url, (char *)NULL))
		return -1;
	return 0;
}

json_t *h_json(const char *text, size_t len)
{
	json_error_t e;
	json_t *j = json_loadb(text, len, 0, &e);
	if (!j)
		fprintf(stderr, "  invalid JSON (%s at %d): %.500s\n", e.text, e.position, text);
	return keep_json(j);
}

const char *h_export_text(const char *home)
{
	return h_relais_ok(home, "export", "--json", (char *)NULL);
}

json_t *h_export(const char *home)
{
	const char *s = h_export_text(home);
	if (!s)
		return NULL;
	json_t *j = h_json(s, strlen(s));
	if (j && !json_is_object(j)) {
		fprintf(stderr, "  export --json is not an object\n");
		return NULL;
	}
	return j;
}

size_t h_export_count(json_t *exp, const char *table)
{
	json_t *a = exp ? json_object_get(exp, table) : NULL;
	return json_is_array(a) ? json_array_size(a) : 0;
}

json_t *h_export_where(json_t *exp, const char *table, const char *col, const char *val,
		       size_t *count)
{
	json_t *a = exp ? json_object_get(exp, table) : NULL, *first = NULL, *row;
	size_t i, n = 0;
	if (json_is_array(a))
		json_array_foreach(a, i, row) {
			const char *v = json_string_value(json_object_get(row, col));
			if (v && !strcmp(v, val) && !n++)
				first = row;
		}
	if (count)
		*count = n;
	return first;
}

json_t *h_export_row(json_t *exp, const char *table, const char *id)
{
	return h_export_where(exp, table, "id", id, NULL);
}

const char *h_row_str(json_t *row, const char *col)
{
	return row ? json_string_value(json_object_get(row, col)) : NULL;
}

json_t *h_conflicts(const char *home, int all)
{
	const char *s = all ? h_relais_ok(home, "conflicts", "--json", "--all", (char *)NULL)
			    : h_relais_ok(home, "conflicts", "--json", (char *)NULL);
	if (!s)
		return NULL;
	json_t *j = h_json(s, strlen(s));
	if (j && !json_is_array(j)) {
		fprintf(stderr, "  conflicts --json is not an array: %.300s\n", s);
		return NULL;
	}
	return j;
}

json_t *h_status(const char *home)
{
	const char *s = h_relais_ok(home, "status", "--json", (char *)NULL);
	if (!s)
		return NULL;
	json_t *j = h_json(s, strlen(s));
	if (j && !json_is_object(j))
		return NULL;
	return j;
}

/* ---- raw HTTP ---- */

static int connect_loopback(int port, int timeout_ms)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	if (errno != EINPROGRESS)
		goto fail;
	struct pollfd pf = { fd, POLLOUT, 0 };
	if (poll(&pf, 1, timeout_ms) != 1)
		goto fail;
	int err = 0;
	socklen_t el = sizeof(err);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) || err)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

/* Returns the end of the header block (after the blank line) or NULL. */
static const char *head_end(const struct buf *b)
{
	if (!b->data)
		return NULL;
	const char *p = memmem(b->data, b->len, "\r\n\r\n", 4);
	return p ? p + 4 : NULL;
}

static long long content_length(const char *head, size_t headlen)
{
	char *h = strndup(head, headlen);
	long long v = -1;
	const char *p = h ? strcasestr(h, "\r\ncontent-length:") : NULL;
	if (p) {
		p += strlen("\r\ncontent-length:");
		while (*p == ' ' || *p == '\t')
			p++;
		char *e;
		errno = 0;
		long long x = strtoll(p, &e, 10);
		if (!errno && e != p && x >= 0)
			v = x;
	}
	free(h);
	return v;
}

static int is_chunked(const char *head, size_t headlen)
{
	char *h = strndup(head, headlen);
	int c = h && strcasestr(h, "\r\ntransfer-encoding: chunked") != NULL;
	free(h);
	return c;
}

/* Decodes a chunked body in place; returns its new length. */
static size_t dechunk(char *p, size_t n)
{
	size_t in = 0, out = 0;
	while (in < n) {
		char *e;
		unsigned long sz = strtoul(p + in, &e, 16);
		char *crlf = memmem(p + in, n - in, "\r\n", 2);
		if (!crlf || e > crlf)
			break;
		in = (size_t)(crlf - p) + 2;
		if (sz == 0 || sz > n - in)
			break;
		memmove(p + out, p + in, sz);
		out += sz;
		in += sz + 2;
	}
	return out;
}

int h_http_raw(int port, const void *req, size_t len, struct h_http *r, int timeout_ms)
{
	struct buf b = BUF_INIT(H_HTTP_CAP);
	const unsigned char *q = req;
	size_t sent = 0;
	int64_t end = now_ms() + timeout_ms;
	int rc = -1;
	memset(r, 0, sizeof(*r));
	int fd = connect_loopback(port, timeout_ms);
	if (fd < 0)
		goto out;
	for (;;) {
		int sending = sent < len && b.len == 0;
		struct pollfd pf = { fd, (short)(POLLIN | (sending ? POLLOUT : 0)), 0 };
		int left = (int)(end - now_ms());
		if (left <= 0)
			break;
		int n = poll(&pf, 1, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (pf.revents & (POLLIN | POLLHUP | POLLERR)) {
			if (buf_grow(&b, 65536))
				break;
			ssize_t got = recv(fd, b.data + b.len, b.alloc - b.len - 1, 0);
			if (got < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (got <= 0)
				break; /* closed or reset: what arrived is the answer */
			b.len += (size_t)got;
			b.data[b.len] = 0;
			const char *he = head_end(&b);
			if (he) {
				size_t hl = (size_t)(he - (const char *)b.data);
				long long cl = content_length((const char *)b.data, hl);
				if (cl >= 0 && b.len - hl >= (unsigned long long)cl)
					break;
			}
			continue;
		}
		if (sending && (pf.revents & POLLOUT)) {
			size_t chunk = len - sent > 65536 ? 65536 : len - sent;
			ssize_t w = send(fd, q + sent, chunk, MSG_NOSIGNAL);
			if (w < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (w < 0) {
				sent = len; /* the server hung up: read what it said */
				continue;
			}
			sent += (size_t)w;
		}
	}
	close(fd);
	if (!b.data || b.len < 12 || memcmp(b.data, "HTTP/1.", 7))
		goto out;
	const char *he = head_end(&b);
	char code[4] = { (char)b.data[9], (char)b.data[10], (char)b.data[11], 0 };
	long long st;
	if (util_parse_ll(code, 100, 599, &st))
		goto out;
	r->status = (int)st;
	size_t hl = he ? (size_t)(he - (const char *)b.data) : b.len;
	r->head = keep_ptr(strndup((const char *)b.data, hl));
	r->bodylen = b.len - hl;
	r->body = keep_ptr(malloc(r->bodylen + 1));
	if (!r->head || !r->body)
		abort();
	memcpy(r->body, b.data + hl, r->bodylen);
	r->body[r->bodylen] = 0;
	long long cl = content_length(r->head, hl);
	if (cl >= 0 && (size_t)cl < r->bodylen)
		r->bodylen = (size_t)cl;
	else if (cl < 0 && is_chunked(r->head, hl))
		r->bodylen = dechunk(r->body, r->bodylen);
	r->body[r->bodylen] = 0;
	rc = 0;
out:
	if (rc == 0 && r->status == 0)
		rc = -1;
	if (!r->body) {
		r->body = keep_ptr(calloc(1, 1));
		r->head = keep_ptr(calloc(1, 1));
	}
	buf_release(&b);
	return rc;
}

int h_http(int port, const char *method, const char *path, const char *token,
	   const char *extra, const void *body, size_t bodylen, struct h_http *r)
{
	struct buf req = BUF_INIT((size_t)H_HTTP_CAP);
	int rc = -1;
	if (buf_printf(&req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n",
		       method, path, port))
		goto out;
	if (token && buf_printf(&req, "Authorization: Bearer %s\r\n", token))
		goto out;
	if (body && buf_printf(&req, "Content-Type: application/octet-stream\r\n"
			       "Content-Length: %zu\r\n", bodylen))
		goto out;
	if (extra && buf_puts(&req, extra))
		goto out;
	if (buf_puts(&req, "\r\n") || (body && bodylen && buf_append(&req, body, bodylen)))
		goto out;
	rc = h_http_raw(port, req.data, req.len, r, H_TIMEOUT_MS);
out:
	if (rc && !r->body) {
		memset(r, 0, sizeof(*r));
		r->body = keep_ptr(calloc(1, 1));
		r->head = keep_ptr(calloc(1, 1));
	}
	buf_release(&req);
	return rc;
}

int h_http_error_json(const struct h_http *r, const char *code)
{
	json_error_t e;
	json_t *j = keep_json(json_loadb(r->body, r->bodylen, 0, &e));
	const char *err = j ? json_string_value(json_object_get(j, "error")) : NULL;
	const char *msg = j ? json_string_value(json_object_get(j, "message")) : NULL;
	if (!json_is_object(j) || !err || !msg || !*msg) {
		fprintf(stderr, "  status %d: body is not {\"error\",\"message\"}: %.300s\n",
			r->status, r->body);
		return -1;
	}
	if (code && strcmp(err, code)) {
		fprintf(stderr, "  status %d: error \"%s\", expected \"%s\" (message: %s)\n",
			r->status, err, code, msg);
		return -1;
	}
	return 0;
}

/* ---- the cutting proxy ---- */

#define P_MAX_CONN 32

struct pconn {
	int c, s;            /* client side, server side; -1 when closed */
	long long up;        /* bytes forwarded upstream on this connection */
	long long mstart;    /* stream offset where the matched request starts; -1 */
	int held;            /* stalled: nothing moves any more */
	char tail[64];
	size_t taillen;
};

struct proxy {
	enum h_proxy_mode mode;
	long n;
	const char *match;
	size_t mlen;
	int target;
	int matched;         /* the matched request was seen (only the first counts) */
	int acted;
	int down;            /* after a cut, refuse every connection */
	int reopen;          /* H_PROXY_REOPEN: never down */
	const char *stats;
	struct pconn conn[P_MAX_CONN];
};

static void p_stats(struct proxy *p, long reqlen)
{
	char tmp[H_PATH + 8], line[64];
	snprintf(tmp, sizeof(tmp), "%s.tmp", p->stats);
	int len = snprintf(line, sizeof(line), "%d %ld\n", p->acted, reqlen);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return;
	/* A short write leaves no stats: h_proxy_event() then times out. */
	int ok = write(fd, line, (size_t)len) == len;
	close(fd);
	if (ok)
		rename(tmp, p->stats);
}

static void p_close(struct pconn *c)
{
	if (c->c >= 0)
		close(c->c);
	if (c->s >= 0)
		close(c->s);
	c->c = c->s = -1;
	c->held = 0;
}

static int p_send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Finds the match in tail+chunk; sets c->mstart (a stream offset). */
static void p_look(struct proxy *p, struct pconn *c, const char *chunk, size_t n)
{
	char win[64 + 65536];
	size_t wl = c->taillen + n;
	memcpy(win, c->tail, c->taillen);
	memcpy(win + c->taillen, chunk, n);
	const char *m = memmem(win, wl, p->match, p->mlen);
	if (m) {
		c->mstart = c->up - (long long)c->taillen + (m - win);
		p->matched = 1;
	}
	size_t keep = p->mlen - 1 < wl ? p->mlen - 1 : wl;
	memcpy(c->tail, win + wl - keep, keep);
	c->taillen = keep;
}

static void p_upstream(struct proxy *p, struct pconn *c)
{
	char chunk[65536];
	ssize_t n = read(c->c, chunk, sizeof(chunk));
	if (n <= 0) {
		p_close(c);
		return;
	}
	if (!p->matched)
		p_look(p, c, chunk, (size_t)n);
	size_t fwd = (size_t)n;
	int act = 0;
	if (c->mstart >= 0 && !p->acted && (p->mode == H_PROXY_CUT || p->mode == H_PROXY_STALL)) {
		long long limit = c->mstart + p->n;
		if (c->up + n >= limit) {
			fwd = limit > c->up ? (size_t)(limit - c->up) : 0;
			act = 1;
		}
	}
	if (fwd && p_send_all(c->s, chunk, fwd)) {
		p_close(c);
		return;
	}
	c->up += (long long)fwd;
	if (!act)
		return;
	p->acted = 1;
	if (p->mode == H_PROXY_CUT) {
		p_close(c);
		p->down = !p->reopen;
	} else {
		c->held = 1;
	}
	p_stats(p, (long)(c->up - c->mstart));
}

static void p_downstream(struct proxy *p, struct pconn *c)
{
	char chunk[65536];
	ssize_t n = read(c->s, chunk, sizeof(chunk));
	if (n <= 0) {
		p_close(c);
		return;
	}
	/* The first answer after the matched request started is its answer,
	 * unless it is an interim "100 Continue" that lets the body come. */
	if (c->mstart >= 0 && !p->acted && !(n >= 12 && !memcmp(chunk + 9, "100", 3))) {
		p->acted = 1;
		long reqlen = (long)(c->up - c->mstart);
		if (p->mode == H_PROXY_CUT_REPLY) {
			p_close(c);
			p->down = !p->reopen;
			p_stats(p, reqlen);
			return;
		}
		if (p->mode == H_PROXY_STALL_REPLY) {
			c->held = 1;
			p_stats(p, reqlen);
			return;
		}
		p_stats(p, reqlen);
	}
	if (p_send_all(c->c, chunk, (size_t)n))
		p_close(c);
}

static void p_accept(struct proxy *p, int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (p->down) {
		close(fd);
		return;
	}
	for (int i = 0; i < P_MAX_CONN; i++) {
		struct pconn *c = &p->conn[i];
		if (c->c >= 0)
			continue;
		int s = connect_loopback(p->target, 5000);
		if (s < 0)
			break;
		int fl = fcntl(s, F_GETFL);
		fcntl(s, F_SETFL, fl & ~O_NONBLOCK);
		memset(c, 0, sizeof(*c));
		c->c = fd;
		c->s = s;
		c->mstart = -1;
		return;
	}
	close(fd);
}

static void proxy_main(int lfd, struct proxy *p)
{
	for (int i = 0; i < P_MAX_CONN; i++)
		p->conn[i].c = p->conn[i].s = -1;
	for (;;) {
		struct pollfd pf[1 + 2 * P_MAX_CONN];
		int map[1 + 2 * P_MAX_CONN];
		int n = 0;
		pf[n].fd = lfd;
		pf[n].events = POLLIN;
		map[n++] = -1;
		for (int i = 0; i < P_MAX_CONN; i++) {
			struct pconn *c = &p->conn[i];
			if (c->c < 0 || c->held)
				continue;
			pf[n].fd = c->c;
			pf[n].events = POLLIN;
			map[n++] = 2 * i;
			pf[n].fd = c->s;
			pf[n].events = POLLIN;
			map[n++] = 2 * i + 1;
		}
		if (poll(pf, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		for (int k = 0; k < n; k++) {
			if (!pf[k].revents)
				continue;
			if (map[k] < 0) {
				p_accept(p, lfd);
				continue;
			}
			struct pconn *c = &p->conn[map[k] / 2];
			if (c->c < 0 || c->held)
				continue;
			if (map[k] % 2 == 0)
				p_upstream(p, c);
			else
				p_downstream(p, c);
		}
	}
}

int h_proxy_start(struct h_proxy *hp, int target_port, const char *match,
		  enum h_proxy_mode mode, long n)
{
	return h_proxy_start_flags(hp, target_port, match, mode, n, 0);
}

int h_proxy_start_flags(struct h_proxy *hp, int target_port, const char *match,
			enum h_proxy_mode mode, long n, int flags)
{
	static unsigned count;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	memset(hp, 0, sizeof(*hp));
	if (strlen(match) >= 64) {
		fprintf(stderr, "proxy match too long\n");
		abort();
	}
	if (dir_path(hp->stats, h_strf("proxy-%u", count++), ".stats"))
		return -1;
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 16) ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl)) {
		perror("proxy");
		close(lfd);
		return -1;
	}
	hp->port = ntohs(sa.sin_port);
	snprintf(hp->url, sizeof(hp->url), "http://127.0.0.1:%d", hp->port);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(lfd);
		return -1;
	}
	if (pid == 0) {
		static struct proxy p;
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		signal(SIGALRM, SIG_DFL);
		alarm(0);
		p.mode = mode;
		p.n = n;
		p.match = match;
		p.mlen = strlen(match);
		p.target = target_port;
		p.stats = hp->stats;
		p.reopen = !!(flags & H_PROXY_REOPEN);
		proxy_main(lfd, &p);
		_exit(0);
	}
	close(lfd);
	track_pid(pid);
	hp->pid = pid;
	return 0;
}

int h_proxy_event(struct h_proxy *p, long *reqlen, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;
	for (;;) {
		size_t len;
		char *s = h_read_file(p->stats, &len);
		int acted;
		long rl;
		if (s && sscanf(s, "%d %ld", &acted, &rl) == 2 && acted) {
			if (reqlen)
				*reqlen = rl;
			return 0;
		}
		if (now_ms() > end)
			return -1;
		sleep_ms(5);
	}
}

void h_proxy_stop(struct h_proxy *p)
{
	h_kill(p->pid);
	p->pid = 0;
}

/* ---- crafted pushes ---- */

static int bind_valid(sqlite3_stmt *st, int idx, const struct model_column *c)
{
	char id[UTIL_UUID_LEN + 1];
	switch (c->kind) {
	case MODEL_TEXT:
		return sqlite3_bind_text(st, idx, (c->flags & MODEL_POSTCODE) ? "65000" : "Essai",
					 -1, SQLITE_TRANSIENT);
	case MODEL_INT:
		return sqlite3_bind_int64(st, idx, c->min);
	case MODEL_BOOL:
		return sqlite3_bind_int(st, idx, 0);
	case MODEL_DATE:
		return sqlite3_bind_text(st, idx, "2024-01-15", -1, SQLITE_STATIC);
	case MODEL_EMAIL:
		return sqlite3_bind_text(st, idx, "essai@example.org", -1, SQLITE_STATIC);
	case MODEL_PHONE:
		return sqlite3_bind_text(st, idx, "0562000000", -1, SQLITE_STATIC);
	case MODEL_URL:
		return sqlite3_bind_text(st, idx, "https://example.org", -1, SQLITE_STATIC);
	case MODEL_ENUM:
		return sqlite3_bind_text(st, idx, c->values[0], -1, SQLITE_STATIC);
	case MODEL_REF:
		if (util_uuid(id))
			return SQLITE_ERROR;
		return sqlite3_bind_text(st, idx, id, -1, SQLITE_TRANSIENT);
	}
	return SQLITE_ERROR;
}

static int insert_row(sqlite3 *db, const struct model_table *t, const char *id, const char *dept)
{
	struct buf sql = BUF_INIT(1u << 16);
	sqlite3_stmt *st = NULL;
	int rc = -1, k = 2;
	if (buf_printf(&sql, "INSERT INTO \"%s\"(id, dept", t->name))
		goto out;
	for (size_t i = 0; i < t->ncolumns; i++)
		if ((t->columns[i].flags & MODEL_REQUIRED) &&
		    buf_printf(&sql, ", \"%s\"", t->columns[i].name))
			goto out;
	if (buf_puts(&sql, ") VALUES(?, ?"))
		goto out;
	for (size_t i = 0; i < t->ncolumns; i++)
		if ((t->columns[i].flags & MODEL_REQUIRED) && buf_puts(&sql, ", ?"))
			goto out;
	if (buf_puts(&sql, ")") || sqlite3_prepare_v2(db, buf_str(&sql), -1, &st, NULL))
		goto out;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, dept, -1, SQLITE_STATIC);
	for (size_t i = 0; i < t->ncolumns; i++)
		if ((t->columns[i].flags & MODEL_REQUIRED) && bind_valid(st, ++k, &t->columns[i]))
			goto out;
	if (sqlite3_step(st) != SQLITE_DONE)
		goto out;
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "  crafted insert into %s failed: %s\n", t->name, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	buf_release(&sql);
	return rc;
}

int h_craft_push(const char *name, const char *table, const char *dept,
		 char id[37], struct buf *raw, struct buf *cs)
{
	sqlite3 *db = NULL;
	struct sync_tables *tabs = NULL;
	struct sync_capture *cap = NULL;
	struct sync_outbox ob;
	int rc = -1, obloaded = 0;
	const struct model_table *t = model_table_by_name(table);
	char *path = h_strf("%s/%s.db", H.dir, name);
	memset(&ob, 0, sizeof(ob));
	if (!t) {
		fprintf(stderr, "  no model table %s\n", table);
		goto out;
	}
	if (sqlite3_open(path, &db) != SQLITE_OK)
		goto out;
	int r;
	if ((r = model_migrate(db)) || (r = sync_client_schema(db)) ||
	    (r = sync_tables_load(db, (const char *const *)model_table_names, model_ntables, &tabs)) ||
	    (r = util_uuid(id)) || (r = sync_capture_begin(db, tabs, &cap))) {
		fprintf(stderr, "  crafting a push: setup returned %d\n", r);
		goto out;
	}
	if (insert_row(db, t, id, dept)) {
		sync_capture_abort(cap);
		goto out;
	}
	if ((r = sync_capture_commit(cap)) || (r = sync_outbox_load(db, 100, 1u << 20, &ob))) {
		fprintf(stderr, "  crafting a push: capture returned %d\n", r);
		goto out;
	}
	obloaded = 1;
	if (ob.count != 1) {
		fprintf(stderr, "  crafting a push: %zu outbox items\n", ob.count);
		goto out;
	}
	if ((r = sync_push_encode(ob.node, ob.items, ob.count, raw)) ||
	    (cs && (r = buf_append(cs, ob.items[0].changeset, ob.items[0].len)))) {
		fprintf(stderr, "  crafting a push: encode returned %d\n", r);
		goto out;
	}
	rc = 0;
out:
	if (obloaded)
		sync_outbox_free(&ob);
	sync_tables_free(tabs);
	sqlite3_close(db);
	return rc;
}

int h_seal(const struct buf *raw, unsigned schema, struct buf *env)
{
	int r = sync_wire_seal(SYNC_WIRE_PUSH, schema, raw->data ? (const void *)raw->data : "",
			       raw->len, env);
	if (r)
		fprintf(stderr, "  sync_wire_seal returned %d\n", r);
	return r ? -1 : 0;
}

/* ---- a session of relais ui ---- */

/* A request with our Host and cookie; form (already urlencoded, the CSRF
 * field added here) makes it a POST. */
int h_uip_send(struct h_uip *u, const char *method, const char *path, const char *form,
		struct h_http *r)
{
	const char *req;
	if (form) {
		const char *body = h_strf("csrf=%s%s%s", u->csrf, form[0] ? "&" : "", form);
		req = h_strf("%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n"
			     "Cookie: %s\r\nOrigin: http://127.0.0.1:%d\r\n"
			     "Content-Type: application/x-www-form-urlencoded\r\n"
			     "Content-Length: %zu\r\n\r\n%s", method, path, u->port, u->cookie,
			     u->port, strlen(body), body);
	} else {
		req = h_strf("%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n"
			     "Cookie: %s\r\n\r\n", method, path, u->port, u->cookie);
	}
	if (h_http_raw(u->port, req, strlen(req), r, H_TIMEOUT_MS)) {
		fprintf(stderr, "  %s %s: no answer\n", method, path);
		return -1;
	}
	return 0;
}

int h_uip_get(struct h_uip *u, const char *path, struct h_http *r)
{
	return h_uip_send(u, "GET", path, NULL, r);
}

int h_uip_post(struct h_uip *u, const char *path, const char *form, struct h_http *r)
{
	return h_uip_send(u, "POST", path, form, r);
}

/* The value of header name in an answer's head, or NULL (harness-owned). */
const char *h_http_header(const struct h_http *r, const char *name)
{
	const char *p = r->head;
	size_t n = strlen(name);
	while ((p = strstr(p, "\r\n"))) {
		p += 2;
		if (!strncasecmp(p, name, n) && p[n] == ':') {
			p += n + 1;
			p += strspn(p, " ");
			return h_strf("%.*s", (int)strcspn(p, "\r\n"), p);
		}
	}
	return NULL;
}

/* Percent-encodes s for a form body (harness-owned). */
const char *h_form_enc(const char *s)
{
	char *out = h_strf("%*s", (int)(3 * strlen(s) + 1), "");
	size_t j = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~')
			out[j++] = (char)*p;
		else
			j += (size_t)snprintf(out + j, 4, "%%%02X", *p);
	}
	out[j] = 0;
	return out;
}


/* Starts the interface on home and reads its address and CSRF token. */
int h_uip_open(const char *home, struct h_uip *u)
{
	struct h_ui hu;
	struct h_http r;
	memset(u, 0, sizeof(*u));
	int rc = h_ui_start(home, &hu);
	u->pid = hu.pid;
	memcpy(u->err, hu.err, sizeof(u->err));
	if (rc)
		return -1;
	u->port = hu.port;
	memcpy(u->secret, hu.secret, sizeof(u->secret));
	/* The secret buys the cookie, as the browser's first visit. */
	const char *login = h_strf("GET /?cle=%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
				   "Connection: close\r\n\r\n", u->secret, u->port);
	if (h_http_raw(u->port, login, strlen(login), &r, H_TIMEOUT_MS))
		return -1;
	const char *cookie = h_http_header(&r, "Set-Cookie");
	if (!cookie) {
		fprintf(stderr, "  relais ui set no cookie\n");
		return -1;
	}
	snprintf(u->cookie, sizeof(u->cookie), "%.*s", (int)strcspn(cookie, ";"), cookie);
	/* Every page carries the token in <meta name="csrf">. */
	if (h_uip_get(u, "/evenements", &r) || r.status != 200)
		return -1;
	const char *m = strstr(r.body, "<meta name=\"csrf\" content=\"");
	if (!m) {
		fprintf(stderr, "  no CSRF token on /evenements\n");
		return -1;
	}
	m += strlen("<meta name=\"csrf\" content=\"");
	snprintf(u->csrf, sizeof(u->csrf), "%.*s", (int)strcspn(m, "\""), m);
	return 0;
}

/* SIGTERM; 0 when it ended cleanly, with no sanitizer report. */
int h_uip_close(struct h_uip *u)
{
	kill(u->pid, SIGTERM);
	int st = h_wait(u->pid, 15000);
	const char *err = h_read_file(u->err, NULL);
	if (st != 0 || (err && (strstr(err, "Sanitizer") || strstr(err, "runtime error:")))) {
		fprintf(stderr, "  relais ui ended with status %d: %s\n", st, err ? err : "");
		return -1;
	}
	return 0;
}

/* The id at the end of a Location "/prefix/ID" (harness-owned), or NULL. */
const char *h_location_id(const struct h_http *r, const char *prefix)
{
	const char *loc = h_http_header(r, "Location");
	if (!loc || strncmp(loc, prefix, strlen(prefix)))
		return NULL;
	return loc + strlen(prefix);
}

/* ---- a replica's database edited by its owner ---- */

/* The replica's database, opened as its owner could (no lock taken). */
static sqlite3 *replica_open_db(const char *home)
{
	sqlite3 *db = NULL;
	if (sqlite3_open(h_strf("%s/replica.db", home), &db) != SQLITE_OK) {
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 5000);
	return db;
}

/* Runs sql on the replica's database, outside any capture. */
int h_replica_exec(const char *home, const char *sql)
{
	sqlite3 *db = replica_open_db(home);
	char *msg = NULL;
	int rc = db ? sqlite3_exec(db, sql, NULL, NULL, &msg) : SQLITE_CANTOPEN;
	if (rc != SQLITE_OK)
		fprintf(stderr, "  %s: %s\n", sql, msg ? msg : "?");
	sqlite3_free(msg);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

/* Runs sql as a captured local edit: its changeset joins the outbox, as if
 * relais had written it. */
int h_replica_capture(const char *home, const char *sql)
{
	sqlite3 *db = replica_open_db(home);
	struct sync_tables *t = NULL;
	struct sync_capture *cap = NULL;
	char *msg = NULL;
	int rc = -1;
	/* The tables this database has: a replica of an older schema lacks
	 * the ones added since. */
	const char *names[64];
	size_t n = 0;
	for (size_t i = 0; db && i < model_ntables && n < 64; i++) {
		sqlite3_stmt *q = NULL;
		if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?1",
				       -1, &q, NULL) == SQLITE_OK) {
			sqlite3_bind_text(q, 1, model_table_names[i], -1, SQLITE_STATIC);
			if (sqlite3_step(q) == SQLITE_ROW)
				names[n++] = model_table_names[i];
		}
		sqlite3_finalize(q);
	}
	if (!db || sync_tables_load(db, names, n, &t) ||
	    sync_capture_begin(db, t, &cap))
		goto out;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "  %s: %s\n", sql, msg ? msg : "?");
		sync_capture_abort(cap);
		goto out;
	}
	rc = sync_capture_commit(cap) ? -1 : 0;
out:
	sqlite3_free(msg);
	sync_tables_free(t);
	sqlite3_close(db);
	return rc;
}

int h_store_write(const char *store, const char *sql)
{
	sqlite3 *db = NULL;
	struct sync_tables *t = NULL;
	struct sync_local *l = NULL;
	char *msg = NULL;
	int rc = -1;
	if (sqlite3_open(store, &db) != SQLITE_OK ||
	    sync_tables_load(db, (const char *const *)model_table_names, model_ntables, &t) ||
	    sync_local_begin(db, t, &l))
		goto out;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "  %s: %s\n", sql, msg ? msg : "?");
		sync_local_abort(l);
		goto out;
	}
	rc = sync_local_commit(l, "relaisd") ? -1 : 0;
out:
	sqlite3_free(msg);
	sync_tables_free(t);
	sqlite3_close(db);
	return rc;
}
