/*
 * sandbox.c - MIME parsing in worker processes (see sandbox.h).
 *
 * Reply format, all integers 8 bytes little-endian:
 *   "RMIM" payload_length payload
 *   payload = status warnings return_path_empty date_ms x_autoreply
 *             delivery_report body_from_html tnef n_attachments list_mail
 *             12 strings (see STRINGS below), body_tables, then per
 *             attachment: filename mime_type data extract extracted
 *   string  = length bytes, or the length 2^64-1 for NULL
 *
 * A worker talks on one socket (its descriptor 0): it first sends "RMIW",
 * then reads requests (see request_head()) and answers each with a reply
 * as above; any failure ends it, and its exit status tells the parent why.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "../common/buf.h"
#include "../common/utf8.h"
#include "charset.h"
#include "office.h"
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
		m->list_mail,
	};
	for (size_t i = 0; !rc && i < sizeof(ints) / sizeof(ints[0]); i++)
		rc = put_u64(&b, (uint64_t)ints[i]);
	for (size_t i = 0; !rc && i < N_STRINGS; i++) {
		const char *s = *strs[i];
		rc = put_bytes(&b, s, s ? strlen(s) : 0, !s);
	}
	if (!rc)
		rc = put_bytes(&b, m->body_tables, m->body_tables ? strlen(m->body_tables) : 0,
			       !m->body_tables);
	for (size_t i = 0; !rc && i < m->n_attachments; i++) {
		const struct mailgw_attachment *a = &m->attachments[i];
		rc = put_bytes(&b, a->filename, strlen(a->filename), 0);
		if (!rc)
			rc = put_bytes(&b, a->mime_type, strlen(a->mime_type), 0);
		if (!rc)
			rc = put_bytes(&b, a->data, a->len, 0);
		if (!rc)
			rc = put_u64(&b, (uint64_t)a->extract);
		if (!rc)
			rc = put_bytes(&b, a->extracted, a->extracted_len, !a->extracted);
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
	if (text && (memchr(c->p, 0, n) || !utf8_valid(c->p, n)))
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
	uint64_t v[10], payload, kind;
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
	for (size_t i = 0; i < 10; i++)
		if ((rc = get_u64(&c, &v[i])))
			return rc;
	if (v[0] > MAILGW_MIME_MALFORMED || v[1] > 0xFFFF || v[2] > 1 || v[4] > 1 || v[5] > 1 ||
	    v[6] > 1 || v[7] > 1 || v[8] > lim->max_parts || v[9] > 1)
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
	m->list_mail = (int)v[9];
	char **strs[N_STRINGS] = STRINGS(m);
	for (size_t i = 0; i < N_STRINGS; i++) {
		int is_body = i == N_STRINGS - 1;
		rc = get_bytes(&c, is_body ? lim->max_body : lim->max_header, !is_body, 1,
			       (unsigned char **)strs[i], is_body ? &m->body_len : &n);
		if (rc)
			goto out;
	}
	size_t extracted = 0;
	rc = get_bytes(&c, MAILGW_MIME_EXTRACTED_MAX, 1, 1, (unsigned char **)&m->body_tables,
		       &extracted);
	if (rc)
		goto out;
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
		if (!rc)
			rc = get_u64(&c, &kind);
		if (!rc && kind > MAILGW_OFFICE_REFUSED)
			rc = RELAIS_ECORRUPT;
		if (!rc)
			rc = get_bytes(&c, MAILGW_MIME_EXTRACTED_MAX - extracted, 1, 1,
				       (unsigned char **)&a->extracted, &a->extracted_len);
		if (!rc && (kind == MAILGW_OFFICE_NONE) != (a->extracted == NULL))
			rc = RELAIS_ECORRUPT;
		if (rc)
			goto out;
		a->extract = (int)kind;
		total += a->len;
		extracted += a->extracted_len;
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

/* ---- the request ---- */

/* The worker's marker (sandbox.h): both must match, and nothing else given. */
#define WORKER_ARGV0 "relais-mime-sandbox"
#define WORKER_ARGV1 "--mailgw-sandbox-worker-v1"
/* What a new worker says once it is ready for requests. */
#define HELLO "RMIW"
#define REQ_MAGIC "RMIQ"
#define REQ_FIELDS 11
#define REQ_LEN (4 + REQ_FIELDS * 8)
/* The worker refuses sizes past this: only a broken parent sends them. */
#define REQ_MAX_SIZE ((uint64_t)1 << 40)
#define EXIT_BADREQ 5

static void put_le(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* A request: "RMIQ", the limits and the message's length (8 bytes
 * little-endian each, in the order below), then the message. */
static void request_head(unsigned char *h, const struct mailgw_mime_limits *l, size_t len)
{
	const uint64_t v[REQ_FIELDS] = {
		l->max_message, l->max_header, l->max_depth, l->max_parts, l->max_attachments,
		l->max_body, l->child_memory, l->child_cpu_s, l->timeout_ms,
		(uint64_t)(unsigned)l->test_fault, len,
	};
	memcpy(h, REQ_MAGIC, 4);
	for (int i = 0; i < REQ_FIELDS; i++)
		put_le(h + 4 + 8 * i, v[i]);
}

/* Returns 0, or -1 for a head that request_head() does not make. */
static int request_parse(const unsigned char *h, struct mailgw_mime_limits *l, size_t *len)
{
	uint64_t v[REQ_FIELDS];
	if (memcmp(h, REQ_MAGIC, 4))
		return -1;
	for (int i = 0; i < REQ_FIELDS; i++)
		v[i] = get_le(h + 4 + 8 * i);
	if (v[0] > REQ_MAX_SIZE || v[1] > REQ_MAX_SIZE || v[2] > UINT_MAX || v[3] > UINT_MAX ||
	    v[4] > REQ_MAX_SIZE || v[5] > REQ_MAX_SIZE || v[6] > REQ_MAX_SIZE || v[7] > UINT_MAX ||
	    v[8] > UINT_MAX || v[9] > INT_MAX || v[10] > v[0])
		return -1;
	memset(l, 0, sizeof(*l));
	l->max_message = (size_t)v[0];
	l->max_header = (size_t)v[1];
	l->max_depth = (unsigned)v[2];
	l->max_parts = (unsigned)v[3];
	l->max_attachments = (size_t)v[4];
	l->max_body = (size_t)v[5];
	l->child_memory = (size_t)v[6];
	l->child_cpu_s = (unsigned)v[7];
	l->timeout_ms = (unsigned)v[8];
	l->test_fault = (int)v[9];
	*len = (size_t)v[10];
	return 0;
}

/* ---- the worker ---- */

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

/* Reads exactly n bytes. Returns 0, 1 at end of file before the first byte,
 * or -1 (an error, or end of file part way). */
static int read_exact(int fd, unsigned char *p, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return got ? -1 : 1;
		got += (size_t)r;
	}
	return 0;
}

/* What the worker reads again for each message, opened once. */
static struct {
	int statm;                  /* /proc/self/statm, or -1 */
	struct rlimit as, cpu;      /* the limits at start: their hard parts bound ours */
} self = { -1, { 0, 0 }, { 0, 0 } };

/* Current address-space size, from /proc (0 when unknown). */
static size_t vm_size(void)
{
	char s[64];
	ssize_t n = self.statm < 0 ? -1 : pread(self.statm, s, sizeof(s) - 1, 0);
	if (n <= 0)
		return 0;
	s[n] = 0;
	unsigned long long pages = strtoull(s, NULL, 10);
	return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}

/* Only the soft limit moves: an unprivileged process cannot raise a hard
 * limit again, and the next message may need more. */
static void set_soft_limit(int resource, const struct rlimit *start, rlim_t want)
{
	struct rlimit rl = *start;
	rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max ? rl.rlim_max : want;
	setrlimit(resource, &rl);
}

/* The limits of one message of len bytes, counted from what the worker
 * already uses: a sanitizer build reserves terabytes of shadow memory up
 * front, and the CPU limit of a long-lived process counts its whole life.
 * Set before the message is read, so that reading it is within them. */
static void limit_message(const struct mailgw_mime_limits *lim, size_t len)
{
	struct rusage ru;
	size_t vm = vm_size();
	set_soft_limit(RLIMIT_AS, &self.as, vm ? (rlim_t)vm + len + lim->child_memory
					       : RLIM_INFINITY);
	if (!getrusage(RUSAGE_SELF, &ru)) {
		int64_t us = ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
			     ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
		rlim_t used = (rlim_t)(us / 1000000) + 1; /* rounded up */
		set_soft_limit(RLIMIT_CPU, &self.cpu,
			       used + (lim->child_cpu_s ? lim->child_cpu_s : 1));
	}
	/* The parent kills on time; this ends a parse whose parent is gone. */
	alarm(lim->timeout_ms / 1000 + 2);
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

/* Answers requests on fd until end of file. Any trouble ends the process:
 * the parent learns why from its exit status and starts another. */
__attribute__((noreturn)) static void worker_serve(int fd)
{
	unsigned char head[REQ_LEN];
	for (;;) {
		struct mailgw_mime_limits lim;
		struct mailgw_mime_msg *m = NULL;
		unsigned char *raw, *reply = NULL;
		size_t len, reply_len;

		int r = read_exact(fd, head, REQ_LEN);
		if (r == 1)
			_exit(0); /* the parent closed its end, or died */
		if (r || request_parse(head, &lim, &len))
			_exit(EXIT_BADREQ);
		limit_message(&lim, len);
		raw = malloc(len ? len : 1);
		if (!raw)
			_exit(EXIT_NOMEM);
		if (read_exact(fd, raw, len))
			_exit(EXIT_BADREQ);
		commit_fault(lim.test_fault, fd);
		int rc = mailgw_mime_parse(raw, len, &lim, &m);
		if (!rc)
			rc = mailgw_sandbox_encode(m, &reply, &reply_len);
		if (rc)
			_exit(rc == RELAIS_ENOMEM ? EXIT_NOMEM : EXIT_FAILED);
		write_all(fd, reply, reply_len);
		alarm(0);
		free(reply);
		mailgw_mime_free(m);
		free(raw);
	}
}

/* Set by mailgw_sandbox_main(), so that a program that forgot to call it
 * fails its first parse loudly instead of running its own main() as a
 * worker. */
static int main_called;

void mailgw_sandbox_main(int argc, char **argv)
{
	struct stat st;
	sigset_t none;

	main_called = 1;
	if (argc != 2 || strcmp(argv[0], WORKER_ARGV0) || strcmp(argv[1], WORKER_ARGV1))
		return;
	if (fstat(0, &st) || !S_ISSOCK(st.st_mode)) {
		static const char msg[] = "relais-mime-sandbox : processus interne de la passerelle "
					  "courrier, il ne se lance pas à la main.\n";
		if (write(2, msg, sizeof(msg) - 1) < 0)
			_exit(2);
		_exit(2);
	}
	/* Nothing the program set up before main() may act here: a handler
	 * (a sanitizer's SIGSEGV report) would hide how the parse ended. */
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	close_range(3, ~0u, 0);
	struct rlimit rl = { 0, 0 };
	setrlimit(RLIMIT_CORE, &rl);
	self.statm = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	if (getrlimit(RLIMIT_AS, &self.as))
		self.as.rlim_max = RLIM_INFINITY;
	if (getrlimit(RLIMIT_CPU, &self.cpu))
		self.cpu.rlim_max = RLIM_INFINITY;
	/* Keep freed memory for the next message instead of giving it back
	 * to the system and faulting it in again (RLIMIT_AS still bounds it). */
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	write_all(0, (const unsigned char *)HELLO, 4);
	worker_serve(0);
}

/* ---- the parent ---- */

struct worker {
	pid_t pid;        /* 0: no process in this slot */
	int fd;           /* our end of its socket, non-blocking */
	unsigned served;  /* messages it answered */
	int busy;         /* a caller holds the slot */
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t freed;     /* a slot stopped being busy */
	struct worker slot[MAILGW_SANDBOX_WORKERS];
	unsigned long started, stopped;
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER, .freed = PTHREAD_COND_INITIALIZER };
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

static void atfork_prepare(void)
{
	pthread_mutex_lock(&pool.lock);
}

static void atfork_parent(void)
{
	pthread_mutex_unlock(&pool.lock);
}

/* A fork()ed child has its parent's worker sockets but not the threads
 * that use them: it closes its copies (so that a worker still meets end of
 * file when the parent ends) and starts workers of its own if it parses. */
static void atfork_child(void)
{
	for (int i = 0; i < MAILGW_SANDBOX_WORKERS; i++) {
		if (pool.slot[i].pid)
			close(pool.slot[i].fd);
		memset(&pool.slot[i], 0, sizeof(pool.slot[i]));
	}
	pool.started = pool.stopped = 0;
	pool.freed = (pthread_cond_t)PTHREAD_COND_INITIALIZER;
	pthread_mutex_unlock(&pool.lock);
}

static void pool_init(void)
{
	if (pthread_atfork(atfork_prepare, atfork_parent, atfork_child))
		abort(); /* ENOMEM at the first parse: nothing sensible is left */
}

/* A free slot, with a running worker when one is idle; waits while all are busy. */
static struct worker *pool_take(void)
{
	struct worker *w = NULL;
	pthread_mutex_lock(&pool.lock);
	for (;;) {
		for (int i = 0; !w && i < MAILGW_SANDBOX_WORKERS; i++)
			if (!pool.slot[i].busy && pool.slot[i].pid)
				w = &pool.slot[i];
		for (int i = 0; !w && i < MAILGW_SANDBOX_WORKERS; i++)
			if (!pool.slot[i].busy)
				w = &pool.slot[i];
		if (w)
			break;
		pthread_cond_wait(&pool.freed, &pool.lock);
	}
	w->busy = 1;
	pthread_mutex_unlock(&pool.lock);
	return w;
}

static void pool_release(struct worker *w)
{
	pthread_mutex_lock(&pool.lock);
	w->busy = 0;
	pthread_cond_broadcast(&pool.freed);
	pthread_mutex_unlock(&pool.lock);
}

static void pool_count(unsigned long *counter)
{
	pthread_mutex_lock(&pool.lock);
	(*counter)++;
	pthread_mutex_unlock(&pool.lock);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum { IO_OK, IO_EOF, IO_TIMEOUT, IO_ERROR };

/* Waits until fd is ready for events or deadline passes. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return IO_TIMEOUT;
		struct pollfd pfd = { fd, events, 0 };
		int r = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return IO_ERROR;
		if (r > 0)
			return IO_OK;
	}
}

static int read_full(int fd, unsigned char *p, size_t n, int64_t deadline)
{
	while (n) {
		ssize_t got = read(fd, p, n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 && errno == EAGAIN) {
			int r = wait_fd(fd, POLLIN, deadline);
			if (r != IO_OK)
				return r;
			continue;
		}
		if (got < 0)
			return errno == ECONNRESET ? IO_EOF : IO_ERROR;
		if (got == 0)
			return IO_EOF;
		p += got;
		n -= (size_t)got;
	}
	return IO_OK;
}

/* Sends the request's head and message with one call when the socket takes
 * them. MSG_NOSIGNAL: a worker that died mid-request must not raise SIGPIPE
 * in a caller that does not ignore it. */
static int send_request(int fd, const unsigned char *head, size_t hlen, const void *raw,
			size_t len, int64_t deadline)
{
	struct iovec iov[2] = { { (void *)head, hlen }, { (void *)raw, len } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	while (iov[0].iov_len || iov[1].iov_len) {
		ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			int r = wait_fd(fd, POLLOUT, deadline);
			if (r != IO_OK)
				return r;
			continue;
		}
		if (w < 0)
			return errno == EPIPE || errno == ECONNRESET ? IO_EOF : IO_ERROR;
		/* Skip what went: the head first, then the message. */
		for (size_t k = 0, sent = (size_t)w; k < 2 && sent; k++) {
			size_t n = sent < iov[k].iov_len ? sent : iov[k].iov_len;
			iov[k].iov_base = (char *)iov[k].iov_base + n;
			iov[k].iov_len -= n;
			sent -= n;
		}
		if (!iov[0].iov_len) {
			mh.msg_iov = &iov[1];
			mh.msg_iovlen = 1;
		}
	}
	return IO_OK;
}

/* Waits for the worker to end until deadline, then kills it. Returns 1
 * when it had to be killed. */
static int reap(pid_t pid, int64_t deadline, int *status)
{
	int killed = 0;
	long nap_ns = 50 * 1000; /* a worker usually exits right after its end of file: start short */
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

/* Empties the slot of a worker that has been reaped. */
static void worker_forget(struct worker *w)
{
	close(w->fd);
	w->pid = 0;
	w->fd = -1;
	w->served = 0;
	pool_count(&pool.stopped);
}

static void worker_stop(struct worker *w)
{
	int status;
	reap(w->pid, 0, &status);
	worker_forget(w);
}

/* Starts a worker in the empty slot w and waits for its hello. Returns 0
 * or RELAIS_EIO. */
static int worker_start(struct worker *w)
{
	static char *const argv[] = { (char *)WORKER_ARGV0, (char *)WORKER_ARGV1, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t defaults, none;
	unsigned char hello[4];
	int sv[2], rc = RELAIS_EIO, status;
	pid_t pid = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return RELAIS_EIO;
	if (posix_spawn_file_actions_init(&fa))
		goto failed_actions;
	if (posix_spawnattr_init(&at))
		goto failed_attr;
	sigfillset(&defaults);
	sigdelset(&defaults, SIGKILL);
	sigdelset(&defaults, SIGSTOP);
	sigemptyset(&none);
	/* Its own process group: a Ctrl-C meant for relaisd, which stops
	 * between two messages, must not kill a parse under way. */
	if (posix_spawn_file_actions_adddup2(&fa, sv[1], 0) ||
	    posix_spawn_file_actions_addclosefrom_np(&fa, 3) ||
	    posix_spawnattr_setsigdefault(&at, &defaults) || posix_spawnattr_setsigmask(&at, &none) ||
	    posix_spawnattr_setpgroup(&at, 0) ||
	    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK |
					      POSIX_SPAWN_SETPGROUP))
		goto out;
	if (posix_spawn(&pid, "/proc/self/exe", &fa, &at, argv, environ)) {
		pid = 0;
		goto out;
	}
	close(sv[1]);
	sv[1] = -1;
	pool_count(&pool.started);
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0)
		goto out;
	if (read_full(sv[0], hello, sizeof(hello), now_ms() + MAILGW_SANDBOX_START_MS) != IO_OK ||
	    memcmp(hello, HELLO, 4))
		goto out;
	w->pid = pid;
	w->fd = sv[0];
	w->served = 0;
	rc = 0;
out:
	posix_spawnattr_destroy(&at);
failed_attr:
	posix_spawn_file_actions_destroy(&fa);
failed_actions:
	if (sv[1] >= 0)
		close(sv[1]);
	if (rc) {
		if (pid) {
			reap(pid, 0, &status);
			pool_count(&pool.stopped);
		}
		close(sv[0]);
	}
	return rc;
}

/* The most a well-behaved worker can send under lim. */
static size_t reply_cap(const struct mailgw_mime_limits *lim)
{
	return HEAD_LEN + 10 * 8 + (N_STRINGS + 1) * 8 + (N_STRINGS - 1) * lim->max_header +
	       lim->max_body + lim->max_attachments + 2 * MAILGW_MIME_EXTRACTED_MAX +
	       (size_t)lim->max_parts * (5 * 8 + 4096 + 256);
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

/* Says why a worker ended without a usable answer. */
static void explain(struct mailgw_sandbox_outcome *o, const struct mailgw_mime_limits *limits, int status,
		    int timed_out, int killed, int garbage)
{
	if (timed_out || (killed && !garbage)) {
		quarantine(o, "l'analyse MIME a dépassé le temps imparti (%u ms)", limits->timeout_ms);
	} else if (WIFSIGNALED(status) && !garbage) {
		int sig = WTERMSIG(status);
		if (sig == SIGALRM)
			quarantine(o, "l'analyse MIME a dépassé le temps imparti (%u ms)", limits->timeout_ms);
		else if (sig == SIGXCPU || sig == SIGKILL)
			quarantine(o, "l'analyse MIME a dépassé le temps de calcul imparti (%u s)",
				   limits->child_cpu_s);
		else
			quarantine(o, "l'analyse MIME a planté (signal SIG%s)",
				   sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_NOMEM) {
		quarantine(o, "l'analyse MIME a manqué de mémoire (limite de %zu Mio)", limits->child_memory >> 20);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) != 0 && !garbage) {
		quarantine(o, "l'analyse MIME a échoué (code de sortie %d)", WEXITSTATUS(status));
	} else {
		quarantine(o, "l'analyseur MIME a renvoyé une réponse illisible");
	}
}

#define AGAIN 1

/* One request to w and its answer. Returns 0 with *msg or a quarantine in
 * o, RELAIS_ENOMEM, or AGAIN when w had already served and was gone before
 * it read the request (killed from outside while idle: the message is not
 * to blame). Any answer but a good one ends the worker and empties w. */
static int exchange(struct worker *w, const void *raw, size_t len, const struct mailgw_mime_limits *lim,
		    struct mailgw_mime_msg **msg, struct mailgw_sandbox_outcome *o)
{
	unsigned char req[REQ_LEN], head[HEAD_LEN], *reply = NULL;
	int rc = 0, status, killed, timed_out = 0, garbage = 0;
	size_t total = 0;

	request_head(req, lim, len);
	int64_t deadline = now_ms() + lim->timeout_ms;
	int r = send_request(w->fd, req, REQ_LEN, raw, len, deadline);
	if (r == IO_EOF && w->served) {
		worker_stop(w);
		return AGAIN;
	}
	/* The answer takes a parse to come: wait for it before the first
	 * read rather than after a read that would find nothing. */
	if (r == IO_OK)
		r = wait_fd(w->fd, POLLIN, deadline);
	if (r == IO_OK)
		r = read_full(w->fd, head, HEAD_LEN, deadline);
	if (r == IO_OK) {
		uint64_t payload = get_le(head + 4);
		if (memcmp(head, MAGIC, 4) || payload > reply_cap(lim) - HEAD_LEN) {
			garbage = 1;
		} else {
			total = HEAD_LEN + (size_t)payload;
			reply = malloc(total);
			if (!reply) {
				rc = RELAIS_ENOMEM;
			} else {
				memcpy(reply, head, HEAD_LEN);
				r = read_full(w->fd, reply + HEAD_LEN, (size_t)payload, deadline);
			}
		}
	}
	if (r == IO_OK && !garbage && !rc) {
		int drc = mailgw_sandbox_decode(reply, total, lim, msg);
		if (!drc || drc == RELAIS_ENOMEM) {
			/* A whole, valid answer: the worker is fine. */
			if (++w->served >= MAILGW_SANDBOX_WORKER_MESSAGES)
				worker_stop(w);
			rc = drc;
			goto out;
		}
		garbage = 1;
	}
	timed_out = r == IO_TIMEOUT;
	/* After end of file the worker is ending: give it a moment to, and
	 * learn why from its status. Otherwise it has nothing more to say. */
	killed = reap(w->pid, r == IO_EOF ? deadline + 1000 : 0, &status);
	worker_forget(w);
	if (!rc)
		explain(o, lim, status, timed_out, killed && r == IO_EOF, garbage || r == IO_ERROR);
out:
	free(reply);
	return rc;
}

int mailgw_sandbox_parse(const void *raw, size_t len, const struct mailgw_mime_limits *limits,
			 struct mailgw_mime_msg **msg, struct mailgw_sandbox_outcome *outcome)
{
	struct mailgw_mime_limits defaults;
	int rc = 0;

	assert(main_called && "main() must call mailgw_sandbox_main() first");
	*msg = NULL;
	memset(outcome, 0, sizeof(*outcome));
	outcome->verdict = MAILGW_SANDBOX_PARSED;
	if (!limits) {
		mailgw_mime_limits_default(&defaults);
		limits = &defaults;
	}
	if (len > limits->max_message)
		return mailgw_mime_parse(raw, len, limits, msg); /* refused unread */

	pthread_once(&pool_once, pool_init);
	struct worker *w = pool_take();
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!w->pid && (rc = worker_start(w)))
			break;
		rc = exchange(w, raw, len, limits, msg, outcome);
		if (rc != AGAIN)
			break;
	}
	pool_release(w);
	return rc == AGAIN ? RELAIS_EIO : rc;
}

/* The jobs of one mailgw_sandbox_parse_many() call, shared by its threads. */
struct batch {
	struct mailgw_sandbox_job *jobs;
	size_t n;
	atomic_size_t next;         /* the next job no thread took yet */
	const struct mailgw_mime_limits *limits;
	int (*stop)(void *arg);
	void *arg;
};

/* Takes the batch's jobs one by one until none is left. */
static void *batch_run(void *arg)
{
	struct batch *b = arg;
	for (size_t i; (i = atomic_fetch_add(&b->next, 1)) < b->n;) {
		struct mailgw_sandbox_job *j = &b->jobs[i];
		if (b->stop && b->stop(b->arg)) {
			j->msg = NULL;
			j->rc = RELAIS_ELATER;
			continue;
		}
		j->rc = mailgw_sandbox_parse(j->raw, j->len, b->limits, &j->msg, &j->outcome);
	}
	return NULL;
}

void mailgw_sandbox_parse_many(struct mailgw_sandbox_job *jobs, size_t n,
			       const struct mailgw_mime_limits *limits,
			       int (*stop)(void *arg), void *arg)
{
	pthread_t helper[MAILGW_SANDBOX_WORKERS];
	struct batch b = { jobs, n, 0, limits, stop, arg };
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t want = cpus > 0 ? (size_t)cpus : 1, started = 0;
	if (want > MAILGW_SANDBOX_WORKERS)
		want = MAILGW_SANDBOX_WORKERS;
	if (want > n)
		want = n;
	/* The calling thread is one of them; a helper that cannot start
	 * leaves its share to the others. */
	while (started + 1 < want && !pthread_create(&helper[started], NULL, batch_run, &b))
		started++;
	batch_run(&b);
	for (size_t i = 0; i < started; i++)
		pthread_join(helper[i], NULL);
}

void mailgw_sandbox_shutdown(void)
{
	pthread_mutex_lock(&pool.lock);
	for (int i = 0; i < MAILGW_SANDBOX_WORKERS; i++)
		while (pool.slot[i].busy)
			pthread_cond_wait(&pool.freed, &pool.lock);
	for (int i = 0; i < MAILGW_SANDBOX_WORKERS; i++) {
		struct worker *w = &pool.slot[i];
		if (w->pid) {
			int status;
			reap(w->pid, 0, &status);
			close(w->fd);
			w->pid = 0;
			w->fd = -1;
			w->served = 0;
			pool.stopped++; /* the lock is held: not pool_count() */
		}
	}
	pthread_mutex_unlock(&pool.lock);
}

void mailgw_sandbox_stats(struct mailgw_sandbox_stats *st)
{
	pthread_mutex_lock(&pool.lock);
	st->started = pool.started;
	st->stopped = pool.stopped;
	pthread_mutex_unlock(&pool.lock);
	/* Not from the slots: their owners change them without the lock. */
	st->running = (unsigned)(st->started - st->stopped);
}
