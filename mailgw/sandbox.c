/*
 * sandbox.c - MIME parsing in a child process (see sandbox.h).
 *
 * Reply format, all integers 8 bytes little-endian:
 *   "RMIM" payload_length payload
 *   payload = status warnings return_path_empty date_ms x_autoreply
 *             delivery_report body_from_html tnef n_attachments
 *             12 strings (see STRINGS below), then per attachment:
 *             filename mime_type data
 *   string  = length bytes, or the length 2^64-1 for NULL
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "../common/buf.h"
#include "charset.h"
#include "sandbox.h"

#define MAGIC "RMIM"
#define HEAD_LEN 12
#define NULL_LEN UINT64_MAX
#define EXIT_NOMEM 3
#define EXIT_FAILED 4

/* The string fields in wire order. */
#define STRINGS(m) { &(m)->message_id, &(m)->from_addr, &(m)->from_name, &(m)->return_path, \
	&(m)->subject, &(m)->date, &(m)->in_reply_to, &(m)->references, &(m)->auto_submitted, \
	&(m)->precedence, &(m)->content_type, &(m)->body }
#define N_STRINGS 12

static int put_u64(struct buf *b, uint64_t v)
{
	unsigned char s[8];
	for (int i = 0; i < 8; i++)
		s[i] = (unsigned char)(v >> (8 * i));
	return buf_append(b, s, 8);
}

static int put_bytes(struct buf *b, const void *p, size_t n, int is_null)
{
	int rc = put_u64(b, is_null ? NULL_LEN : (uint64_t)n);
	if (!rc && !is_null)
		rc = buf_append(b, p, n);
	return rc;
}

int mailgw_sandbox_encode(const struct mailgw_mime_msg *m, unsigned char **out, size_t *len)
{
	struct buf b = BUF_INIT(SIZE_MAX / 2);
	char *const *strs[N_STRINGS] = STRINGS(m);
	int rc = buf_append(&b, MAGIC, 4);
	if (!rc)
		rc = put_u64(&b, 0); /* patched below */
	const int64_t ints[] = {
		m->status, m->warnings, m->return_path_empty, m->date_ms, m->x_autoreply,
		m->delivery_report, m->body_from_html, m->tnef, (int64_t)m->n_attachments,
	};
	for (size_t i = 0; !rc && i < sizeof(ints) / sizeof(ints[0]); i++)
		rc = put_u64(&b, (uint64_t)ints[i]);
	for (size_t i = 0; !rc && i < N_STRINGS; i++) {
		const char *s = *strs[i];
		rc = put_bytes(&b, s, s ? strlen(s) : 0, !s);
	}
	for (size_t i = 0; !rc && i < m->n_attachments; i++) {
		const struct mailgw_attachment *a = &m->attachments[i];
		rc = put_bytes(&b, a->filename, strlen(a->filename), 0);
		if (!rc)
			rc = put_bytes(&b, a->mime_type, strlen(a->mime_type), 0);
		if (!rc)
			rc = put_bytes(&b, a->data, a->len, 0);
	}
	if (rc) {
		buf_release(&b);
		return rc;
	}
	uint64_t payload = b.len - HEAD_LEN;
	for (int i = 0; i < 8; i++)
		b.data[4 + i] = (unsigned char)(payload >> (8 * i));
	*out = buf_detach(&b, len);
	return *out ? 0 : RELAIS_ENOMEM;
}

struct cursor {
	const unsigned char *p;
	size_t left;
};

static int get_u64(struct cursor *c, uint64_t *v)
{
	if (c->left < 8)
		return RELAIS_ECORRUPT;
	*v = 0;
	for (int i = 0; i < 8; i++)
		*v |= (uint64_t)c->p[i] << (8 * i);
	c->p += 8;
	c->left -= 8;
	return 0;
}

/* A string field: NUL-free valid UTF-8 of at most max bytes, or NULL when
 * may_null. Binary data (text == 0) is only length-checked. */
static int get_bytes(struct cursor *c, size_t max, int may_null, int text, unsigned char **out, size_t *len)
{
	uint64_t n;
	int rc = get_u64(c, &n);
	if (rc)
		return rc;
	*out = NULL;
	*len = 0;
	if (n == NULL_LEN)
		return may_null ? 0 : RELAIS_ECORRUPT;
	if (n > c->left || n > max)
		return RELAIS_ECORRUPT;
	if (text && (memchr(c->p, 0, n) || !mailgw_utf8_valid(c->p, n)))
		return RELAIS_ECORRUPT;
	unsigned char *s = malloc(n + 1);
	if (!s)
		return RELAIS_ENOMEM;
	memcpy(s, c->p, n);
	s[n] = 0;
	c->p += n;
	c->left -= n;
	*out = s;
	*len = n;
	return 0;
}

int mailgw_sandbox_decode(const unsigned char *p, size_t len, const struct mailgw_mime_limits *lim,
			  struct mailgw_mime_msg **out)
{
	struct mailgw_mime_limits defaults;
	struct cursor c = { p, len };
	struct mailgw_mime_msg *m;
	uint64_t v[9], payload;
	size_t n;
	int rc;

	if (!lim) {
		mailgw_mime_limits_default(&defaults);
		lim = &defaults;
	}
	if (len < HEAD_LEN || memcmp(p, MAGIC, 4))
		return RELAIS_ECORRUPT;
	c.p += 4;
	c.left -= 4;
	if ((rc = get_u64(&c, &payload)))
		return rc;
	if (payload != c.left)
		return RELAIS_ECORRUPT;
	for (size_t i = 0; i < 9; i++)
		if ((rc = get_u64(&c, &v[i])))
			return rc;
	if (v[0] > MAILGW_MIME_MALFORMED || v[1] > 0xFFFF || v[2] > 1 || v[4] > 1 || v[5] > 1 ||
	    v[6] > 1 || v[7] > 1 || v[8] > lim->max_parts)
		return RELAIS_ECORRUPT;
	m = calloc(1, sizeof(*m));
	if (!m)
		return RELAIS_ENOMEM;
	m->status = (int)v[0];
	m->warnings = (unsigned)v[1];
	m->return_path_empty = (int)v[2];
	m->date_ms = (int64_t)v[3];
	m->x_autoreply = (int)v[4];
	m->delivery_report = (int)v[5];
	m->body_from_html = (int)v[6];
	m->tnef = (int)v[7];
	char **strs[N_STRINGS] = STRINGS(m);
	for (size_t i = 0; i < N_STRINGS; i++) {
		int is_body = i == N_STRINGS - 1;
		rc = get_bytes(&c, is_body ? lim->max_body : lim->max_header, !is_body, 1,
			       (unsigned char **)strs[i], is_body ? &m->body_len : &n);
		if (rc)
			goto out;
	}
	if (v[8]) {
		m->attachments = calloc(v[8], sizeof(*m->attachments));
		if (!m->attachments) {
			rc = RELAIS_ENOMEM;
			goto out;
		}
	}
	size_t total = 0;
	for (size_t i = 0; i < v[8]; i++) {
		struct mailgw_attachment *a = &m->attachments[i];
		m->n_attachments = i + 1;
		rc = get_bytes(&c, 4096, 0, 1, (unsigned char **)&a->filename, &n);
		if (!rc)
			rc = get_bytes(&c, 256, 0, 1, (unsigned char **)&a->mime_type, &n);
		if (!rc)
			rc = get_bytes(&c, lim->max_attachments - total, 0, 0, &a->data, &a->len);
		if (rc)
			goto out;
		total += a->len;
	}
	if (c.left)
		rc = RELAIS_ECORRUPT;
out:
	if (rc) {
		mailgw_mime_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

/* ---- the child ---- */

static void write_all(int fd, const unsigned char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(EXIT_FAILED);
		p += w;
		n -= (size_t)w;
	}
}

/* Current address-space size, from /proc (no stdio in the child). */
static size_t vm_size(void)
{
	char s[64];
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, s, sizeof(s) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	s[n] = 0;
	unsigned long long pages = strtoull(s, NULL, 10);
	return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}

static void commit_fault(int fault, int fd)
{
	switch (fault) {
	case MAILGW_SANDBOX_FAULT_CRASH:
		raise(SIGSEGV);
		break;
	case MAILGW_SANDBOX_FAULT_SPIN:
		for (volatile unsigned long i = 0;; i++)
			;
	case MAILGW_SANDBOX_FAULT_SLEEP:
		for (;;)
			pause();
	case MAILGW_SANDBOX_FAULT_GARBAGE: {
		static const unsigned char junk[] = "RMIM\x10\0\0\0\0\0\0\0garbage garbage!";
		write_all(fd, junk, sizeof(junk) - 1);
		_exit(0);
	}
	case MAILGW_SANDBOX_FAULT_OOM:
		/* mmap rather than malloc: a sanitizer's allocator would abort
		 * with a page of diagnostics instead of returning NULL. */
		for (;;) {
			char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p == MAP_FAILED)
				_exit(EXIT_NOMEM);
			memset(p, 1, 1 << 20); /* touch it, so it is really used */
		}
	default:
		break;
	}
}

static void child_main(int fd, const void *raw, size_t len, const struct mailgw_mime_limits *lim)
{
	struct mailgw_mime_msg *m = NULL;
	unsigned char *reply = NULL;
	size_t reply_len;
	sigset_t none;

	/* Nothing inherited may run here: the caller's handlers (a test runner's
	 * SIGALRM cleanup, for one) belong to the parent. */
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* Keep no other descriptor: a copy of another sandbox's pipe held here
	 * would delay that parse's end of file. */
	if (fd > 3)
		close_range(3, (unsigned)fd - 1, 0);
	close_range((unsigned)fd + 1, ~0u, 0);

	struct rlimit rl = { 0, 0 };
	setrlimit(RLIMIT_CORE, &rl);
	rl.rlim_cur = lim->child_cpu_s ? lim->child_cpu_s : 1;
	rl.rlim_max = rl.rlim_cur + 1; /* SIGXCPU first, SIGKILL a second later */
	setrlimit(RLIMIT_CPU, &rl);
	size_t vm = vm_size();
	if (vm) {
		/* Relative to what the process already maps: a sanitizer build
		 * reserves terabytes of shadow memory up front. */
		rl.rlim_cur = rl.rlim_max = vm + lim->child_memory;
		setrlimit(RLIMIT_AS, &rl);
	}
	alarm(lim->timeout_ms / 1000 + 1);

	commit_fault(lim->test_fault, fd);
	int rc = mailgw_mime_parse(raw, len, lim, &m);
	if (!rc)
		rc = mailgw_sandbox_encode(m, &reply, &reply_len);
	if (rc)
		_exit(rc == RELAIS_ENOMEM ? EXIT_NOMEM : EXIT_FAILED);
	write_all(fd, reply, reply_len);
	_exit(0);
}

/* ---- the parent ---- */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum { READ_OK, READ_EOF, READ_TIMEOUT, READ_ERROR };

static int read_full(int fd, unsigned char *p, size_t n, int64_t deadline)
{
	while (n) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return READ_TIMEOUT;
		struct pollfd pfd = { fd, POLLIN, 0 };
		int r = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return READ_ERROR;
		if (r == 0)
			return READ_TIMEOUT;
		ssize_t got = read(fd, p, n);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got < 0)
			return READ_ERROR;
		if (got == 0)
			return READ_EOF;
		p += got;
		n -= (size_t)got;
	}
	return READ_OK;
}

/* Waits for the child until deadline, then kills it. Returns 1 when it had
 * to be killed. */
static int reap(pid_t pid, int64_t deadline, int *status)
{
	int killed = 0;
	long nap_ns = 50 * 1000; /* the child usually exits right after its reply: start short */
	*status = 0;
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return killed;
		if (r < 0 && errno != EINTR) {
			*status = 0; /* reaped by someone else: nothing more to learn */
			return killed;
		}
		if (r == 0 && now_ms() >= deadline) {
			kill(pid, SIGKILL);
			killed = 1;
			while (waitpid(pid, status, 0) < 0 && errno == EINTR)
				;
			return killed;
		}
		struct timespec ts = { 0, nap_ns };
		nanosleep(&ts, NULL);
		if (nap_ns < 5 * 1000 * 1000)
			nap_ns *= 2;
	}
}

/* The most a well-behaved child can send under lim. */
static size_t reply_cap(const struct mailgw_mime_limits *lim)
{
	return HEAD_LEN + 9 * 8 + N_STRINGS * 8 + (N_STRINGS - 1) * lim->max_header +
	       lim->max_body + lim->max_attachments + (size_t)lim->max_parts * (3 * 8 + 4096 + 256);
}

static void quarantine(struct mailgw_sandbox_outcome *o, const char *fmt, ...) RELAIS_PRINTF(2, 3);
static void quarantine(struct mailgw_sandbox_outcome *o, const char *fmt, ...)
{
	va_list ap;
	o->verdict = MAILGW_SANDBOX_QUARANTINE;
	va_start(ap, fmt);
	vsnprintf(o->reason, sizeof(o->reason), fmt, ap);
	va_end(ap);
}

int mailgw_sandbox_parse(const void *raw, size_t len, const struct mailgw_mime_limits *limits,
			 struct mailgw_mime_msg **msg, struct mailgw_sandbox_outcome *outcome)
{
	struct mailgw_mime_limits defaults;
	unsigned char head[HEAD_LEN], *reply = NULL;
	int fds[2], rc = 0, status, timed_out = 0, garbage = 0, no_reply = 0;

	*msg = NULL;
	memset(outcome, 0, sizeof(*outcome));
	outcome->verdict = MAILGW_SANDBOX_PARSED;
	if (!limits) {
		mailgw_mime_limits_default(&defaults);
		limits = &defaults;
	}
	if (len > limits->max_message)
		return mailgw_mime_parse(raw, len, limits, msg); /* refused unread */

	if (pipe2(fds, O_CLOEXEC) < 0)
		return RELAIS_EIO;
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return RELAIS_EIO;
	}
	if (pid == 0) {
		close(fds[0]);
		child_main(fds[1], raw, len, limits);
		_exit(EXIT_FAILED);
	}
	close(fds[1]);

	int64_t deadline = now_ms() + limits->timeout_ms;
	uint64_t payload = 0;
	size_t total = 0;
	int r = read_full(fds[0], head, HEAD_LEN, deadline);
	if (r == READ_OK) {
		for (int i = 0; i < 8; i++)
			payload |= (uint64_t)head[4 + i] << (8 * i);
		if (memcmp(head, MAGIC, 4) || payload > reply_cap(limits) - HEAD_LEN) {
			garbage = 1;
		} else {
			total = HEAD_LEN + (size_t)payload;
			reply = malloc(total);
			if (!reply) {
				rc = RELAIS_ENOMEM;
				kill(pid, SIGKILL);
			} else {
				memcpy(reply, head, HEAD_LEN);
				r = read_full(fds[0], reply + HEAD_LEN, (size_t)payload, deadline);
			}
		}
	}
	if (r == READ_TIMEOUT)
		timed_out = 1;
	else if (r != READ_OK)
		no_reply = 1; /* its exit status tells why */
	close(fds[0]);
	if (garbage || timed_out)
		kill(pid, SIGKILL); /* it has nothing more to say */
	int killed = reap(pid, timed_out ? 0 : deadline + 1000, &status);
	if (rc)
		goto out;

	if (timed_out || (killed && !garbage)) {
		quarantine(outcome, "l'analyse MIME a dépassé le temps imparti (%u ms)", limits->timeout_ms);
	} else if (WIFSIGNALED(status) && !garbage) {
		int sig = WTERMSIG(status);
		if (sig == SIGALRM)
			quarantine(outcome, "l'analyse MIME a dépassé le temps imparti (%u ms)",
				   limits->timeout_ms);
		else if (sig == SIGXCPU || sig == SIGKILL)
			quarantine(outcome, "l'analyse MIME a dépassé le temps de calcul imparti (%u s)",
				   limits->child_cpu_s);
		else
			quarantine(outcome, "l'analyse MIME a planté (signal SIG%s)",
				   sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_NOMEM) {
		quarantine(outcome, "l'analyse MIME a manqué de mémoire (limite de %zu Mio)",
			   limits->child_memory >> 20);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) != 0 && !garbage) {
		quarantine(outcome, "l'analyse MIME a échoué (code de sortie %d)", WEXITSTATUS(status));
	} else if (garbage || no_reply) {
		quarantine(outcome, "l'analyseur MIME a renvoyé une réponse illisible");
	} else {
		int drc = mailgw_sandbox_decode(reply, total, limits, msg);
		if (drc == RELAIS_ENOMEM)
			rc = drc;
		else if (drc)
			quarantine(outcome, "l'analyseur MIME a renvoyé une réponse illisible");
	}
out:
	free(reply);
	return rc;
}
