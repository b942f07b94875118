/*
 * bench-load - many clients syncing at once against one relaisd.
 *
 * Starts relaisd (from $RELAIS_BINDIR, else ./build) on 127.0.0.1 with a
 * fresh store in a temporary directory, makes accounts with "relaisd user
 * add", then runs rounds in which every client syncs at the same moment, as
 * "relais sync" does on the wire: a push of one small real edit (captured by
 * the sync engine on the client's own scratch replica), then pulls from the
 * client's cursor until the server has no more. Each client has its own node
 * id and a connection of its own (a new one per sync, as a new relais process
 * would open). Every client runs in this one process on one libcurl multi
 * handle driven by a libuv loop (curl_multi_socket_action: each event costs
 * the client only the transfer it concerns), so what is measured is the
 * daemon, not process start nor the client's own bookkeeping.
 *
 * Prints latency percentiles of whole syncs and of each request, errors
 * (any transport error or non-2xx answer), throughput and the daemon's
 * resident memory (idle before the load, peak, idle after). The project's
 * targets are printed beside the figures; nothing is asserted but errors:
 * the exit status is 1 when any request failed or the daemon misbehaved.
 * The daemon is stopped and the temporary directory removed in every case.
 *
 * Usage: bench-load [--clients N] [--rounds N] [--accounts N]
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <jansson.h>
#include <uv.h>
#include "../common/buf.h"
#include "../common/util.h"
#include "../model/model.h"
#include "../sync/sync.h"
#include "../sync/wire.h"

#define DEF_CLIENTS 300
#define DEF_ROUNDS 5
#define DEF_ACCOUNTS 60
#define MAX_CLIENTS 5000
#define PULL_LIMIT 5000
#define REQUEST_TIMEOUT_S 60L
#define START_TIMEOUT_S 30
#define STOP_TIMEOUT_S 15
#define MAX_ERRORS_SHOWN 5

/* ---- what must be undone however we leave ---- */

static char g_tmp[256];
static pid_t g_daemon = -1;
static volatile sig_atomic_t g_interrupted;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* Stops the daemon (SIGTERM, then SIGKILL if it lingers); returns its wait
 * status, or -1 when there was none or it had to be killed. */
static int daemon_stop(void)
{
	int status = -1;
	if (g_daemon <= 0)
		return -1;
	kill(g_daemon, SIGTERM);
	for (int i = 0; i < STOP_TIMEOUT_S * 20; i++) {
		pid_t r = waitpid(g_daemon, &status, WNOHANG);
		if (r == g_daemon || (r < 0 && errno != EINTR)) {
			g_daemon = -1;
			return r == g_daemon || r > 0 ? status : -1;
		}
		usleep(50000);
	}
	kill(g_daemon, SIGKILL);
	waitpid(g_daemon, NULL, 0);
	g_daemon = -1;
	return -1;
}

static void cleanup(void)
{
	daemon_stop();
	if (g_tmp[0]) {
		nftw(g_tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		g_tmp[0] = 0;
	}
}

static void on_signal(int sig)
{
	(void)sig;
	g_interrupted = 1;
}

RELAIS_PRINTF(1, 2)
static void die(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "bench-load: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1); /* cleanup() runs from atexit */
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) && errno == EINTR && !g_interrupted)
		;
}

/* ---- running the daemon ---- */

/* Runs argv with stdout into out (NUL-terminated, cut at outlen - 1) and
 * stderr into log; returns the exit status (128 when killed). */
static int run(const char *const argv[], char *out, size_t outlen, const char *log)
{
	int fd[2];
	if (pipe(fd))
		die("pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		int lfd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (lfd >= 0)
			dup2(lfd, 2);
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fd[1]);
	size_t len = 0;
	char tmp[1024];
	ssize_t n;
	while ((n = read(fd[0], tmp, sizeof(tmp))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		size_t take = (size_t)n;
		if (out && len + take >= outlen)
			take = outlen - 1 - len;
		if (out) {
			memcpy(out + len, tmp, take);
			len += take;
		}
	}
	close(fd[0]);
	if (out)
		out[len] = 0;
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void daemon_start(const char *relaisd, const char *data, const char *portfile,
			 const char *log)
{
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		int lfd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		int nfd = open("/dev/null", O_RDWR);
		if (lfd >= 0)
			dup2(lfd, 2);
		if (nfd >= 0) {
			dup2(nfd, 0);
			dup2(nfd, 1);
		}
		execl(relaisd, relaisd, "serve", "--data", data, "--listen", "127.0.0.1:0",
		      "--port-file", portfile, (char *)NULL);
		_exit(127);
	}
	g_daemon = pid;
}

/* Returns 1 while the daemon runs; reaps it when it has exited. */
static int daemon_alive(void)
{
	int status;
	if (g_daemon <= 0)
		return 0;
	if (waitpid(g_daemon, &status, WNOHANG) == g_daemon) {
		fprintf(stderr, "bench-load: relaisd exited (status %d)\n", status);
		g_daemon = -1;
		return 0;
	}
	return 1;
}

static int daemon_wait_port(const char *portfile)
{
	for (int i = 0; i < START_TIMEOUT_S * 20 && !g_interrupted && daemon_alive(); i++) {
		FILE *f = fopen(portfile, "r");
		char line[32] = "";
		if (f) {
			if (!fgets(line, sizeof(line), f))
				line[0] = 0;
			fclose(f);
			line[strcspn(line, "\n")] = 0;
			long long port;
			if (!util_parse_ll(line, 1, 65535, &port))
				return (int)port;
		}
		sleep_ms(50);
	}
	return 0;
}

/* Reads a "Vm...:" figure of /proc/PID/status, in KiB; -1 when unreadable. */
static long proc_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	long v = -1;
	size_t flen = strlen(field);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, field, flen) && line[flen] == ':') {
			char *end;
			errno = 0;
			long n = strtol(line + flen + 1, &end, 10);
			if (!errno && end != line + flen + 1)
				v = n;
			break;
		}
	}
	fclose(f);
	return v;
}

/* CPU time (user + system) used so far by process pid, in ms; -1 when unreadable. */
static double proc_cpu_ms(pid_t pid)
{
	char path[64], line[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	char *ok = fgets(line, sizeof(line), f);
	fclose(f);
	/* Fields after the command name, which may hold spaces: skip past ")". */
	char *p = ok ? strrchr(line, ')') : NULL;
	unsigned long long ut = 0, st = 0;
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- samples ---- */

struct samples {
	double *v;
	size_t n, alloc;
};

static void samples_add(struct samples *s, double x)
{
	if (s->n == s->alloc) {
		size_t na = s->alloc ? s->alloc * 2 : 1024;
		double *nv = realloc(s->v, na * sizeof(*nv));
		if (!nv)
			die("out of memory");
		s->v = nv;
		s->alloc = na;
	}
	s->v[s->n++] = x;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted samples. */
static double pct(const struct samples *s, double p)
{
	if (!s->n)
		return 0;
	size_t k = (size_t)(p * (double)s->n + 0.999999);
	if (k < 1)
		k = 1;
	if (k > s->n)
		k = s->n;
	return s->v[k - 1];
}

static void samples_print(const char *what, struct samples *s)
{
	qsort(s->v, s->n, sizeof(*s->v), cmp_double);
	printf("  %-14s %7zu  p50 %7.1f  p90 %7.1f  p99 %7.1f  max %7.1f ms\n", what, s->n,
	       pct(s, 0.50), pct(s, 0.90), pct(s, 0.99), s->n ? s->v[s->n - 1] : 0.0);
}

/* ---- clients ---- */

struct account {
	char login[32];
	char dept[8];
	char auth[128];       /* "Authorization: Bearer TOKEN" */
};

enum phase { PH_IDLE, PH_PUSH, PH_PULL, PH_DONE };

struct client {
	int idx;
	sqlite3 *db;
	const struct account *acct;
	char row_id[UTIL_UUID_LEN + 1];
	int has_row;
	uint64_t cursor;
	uint64_t acked;        /* from the last answered push, acknowledged after the round */
	CURL *easy;
	struct curl_slist *hpush, *hpull;
	struct buf env;        /* this round's push envelope */
	struct buf resp;       /* the answer being received */
	enum phase phase;
	double t_sync, t_req;
	int failed;
};

struct bench {
	CURLM *multi;
	uv_loop_t loop;
	uv_timer_t timer;      /* curl's timeout */
	uv_timer_t tick;       /* notices an interruption */
	const struct sync_tables *tabs;
	char base[64];
	struct client *c;
	size_t nclients;
	size_t remaining;      /* clients of this round not done yet */
	int measuring;
	struct samples sync, push, pull;
	size_t requests, errors;
	size_t pages_more;
	double cpu_daemon, cpu_self;  /* CPU ms spent during the measured rounds */
	struct buf raw;        /* scratch for inflating pull pages */
};

static void note_error(struct bench *b, struct client *c, const char *what, const char *detail)
{
	if (b->errors < MAX_ERRORS_SHOWN)
		fprintf(stderr, "bench-load: client %d: %s: %s\n", c->idx, what, detail);
	b->errors++;
	c->failed = 1;
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct client *c = arg;
	if (buf_append(&c->resp, p, size * n))
		return 0; /* over the cap: curl stops with CURLE_WRITE_ERROR */
	return size * n;
}

static int exec_sql(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		fprintf(stderr, "bench-load: %s: %s\n", sql, msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	return rc == SQLITE_OK ? 0 : RELAIS_EDB;
}

static int slist_add(struct curl_slist **l, const char *line)
{
	struct curl_slist *t = curl_slist_append(*l, line);
	if (!t)
		return RELAIS_ENOMEM;
	*l = t;
	return 0;
}

static void client_open(struct bench *b, struct client *c, const char *dir)
{
	char path[512], schema[64];
	int rc;
	snprintf(path, sizeof(path), "%s/client-%04d.db", dir, c->idx);
	if (sqlite3_open(path, &c->db) != SQLITE_OK)
		die("%s: %s", path, sqlite3_errmsg(c->db));
	/* The replicas only feed the wire: their own durability is not measured. */
	if (exec_sql(c->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF"))
		die("replica pragmas");
	if ((rc = model_migrate(c->db)) || (rc = sync_client_schema(c->db)))
		die("replica schema: %s", relais_strerror(rc));
	c->easy = curl_easy_init();
	if (!c->easy)
		die("curl_easy_init");
	/* The headers relais sends: the compact one (and so envelopes of wire
	 * version 2), no Expect, Accept nor Content-Type. */
	snprintf(schema, sizeof(schema), "X-Relais: %d - -", MODEL_SCHEMA_VERSION);
	if (slist_add(&c->hpush, c->acct->auth) || slist_add(&c->hpush, schema) ||
	    slist_add(&c->hpush, "Expect:") || slist_add(&c->hpush, "Accept:") ||
	    slist_add(&c->hpush, "Content-Type:") ||
	    slist_add(&c->hpull, c->acct->auth) || slist_add(&c->hpull, schema) ||
	    slist_add(&c->hpull, "Accept:"))
		die("out of memory");
	buf_init(&c->env, SYNC_WIRE_MAX_BODY);
	buf_init(&c->resp, SYNC_WIRE_MAX_BODY);
	curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c);
	curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(c->easy, CURLOPT_TIMEOUT, REQUEST_TIMEOUT_S);
	curl_easy_setopt(c->easy, CURLOPT_USERAGENT, "relais/" RELAIS_VERSION " bench-load");
	(void)b;
}

/* Captures this round's edit on the replica and seals the push envelope:
 * a new structure the first time, then a one-column edit of it. */
static void client_prepare(struct bench *b, struct client *c, int round)
{
	struct sync_capture *cap = NULL;
	struct sync_outbox ob;
	struct buf raw = BUF_INIT(SYNC_WIRE_MAX_RAW);
	sqlite3_stmt *st = NULL;
	char text[96];
	int rc;

	if ((rc = sync_capture_begin(c->db, b->tabs, &cap)))
		die("sync_capture_begin: %s", relais_strerror(rc));
	if (!c->has_row) {
		if ((rc = util_uuid(c->row_id)))
			die("uuid: %s", relais_strerror(rc));
		rc = sqlite3_prepare_v2(c->db, "INSERT INTO structure(id, dept, nom, commune, type) "
					"VALUES(?1, ?2, ?3, 'Le Puy-en-Velay', 'centre_social')",
					-1, &st, NULL);
		snprintf(text, sizeof(text), "Centre social n° %d", c->idx);
		if (rc == SQLITE_OK) {
			sqlite3_bind_text(st, 1, c->row_id, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, c->acct->dept, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
		}
	} else {
		rc = sqlite3_prepare_v2(c->db, "UPDATE structure SET commentaire=?2 WHERE id=?1",
					-1, &st, NULL);
		snprintf(text, sizeof(text), "Point d'étape n° %d : permanence en ligne le mercredi.",
			 round);
		if (rc == SQLITE_OK) {
			sqlite3_bind_text(st, 1, c->row_id, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
		}
	}
	if (rc != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE || sqlite3_changes(c->db) != 1)
		die("edit on replica %d: %s", c->idx, sqlite3_errmsg(c->db));
	sqlite3_finalize(st);
	if ((rc = sync_capture_commit(cap)))
		die("sync_capture_commit: %s", relais_strerror(rc));
	c->has_row = 1;

	/* Like relais: everything pending goes, including an earlier failed push. */
	memset(&ob, 0, sizeof(ob));
	if ((rc = sync_outbox_load(c->db, 1000, 1u << 20, &ob)) || !ob.count)
		die("sync_outbox_load: %s", rc ? relais_strerror(rc) : "empty");
	buf_reset(&c->env);
	if ((rc = sync_push_encode(ob.node, ob.items, ob.count, &raw)) ||
	    (rc = sync_wire_seal(SYNC_WIRE_PUSH, MODEL_SCHEMA_VERSION, raw.data, raw.len, &c->env)))
		die("push encoding: %s", relais_strerror(rc));
	sync_outbox_free(&ob);
	buf_release(&raw);
}

static void client_send(struct bench *b, struct client *c, int push)
{
	char url[160];
	buf_reset(&c->resp);
	if (push) {
		/* As relais sync does: the push and the pull page that follows it
		 * in one request (POST /v1/sync). */
		snprintf(url, sizeof(url), "%s/v1/sync?since=%" PRIu64, b->base, c->cursor);
		curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->hpush);
		curl_easy_setopt(c->easy, CURLOPT_POST, 1L);
		curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, (const char *)c->env.data);
		curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->env.len);
		/* A new connection per sync, as a fresh relais process would open,
		 * closed after it (a page that says "more" is pulled on another). */
		curl_easy_setopt(c->easy, CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(c->easy, CURLOPT_FORBID_REUSE, 1L);
		c->resp.max = SYNC_WIRE_MAX_BODY;
		c->phase = PH_PUSH;
	} else {
		snprintf(url, sizeof(url), "%s/v1/pull?since=%" PRIu64 "&limit=%d", b->base,
			 c->cursor, PULL_LIMIT);
		curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->hpull);
		curl_easy_setopt(c->easy, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(c->easy, CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(c->easy, CURLOPT_FORBID_REUSE, 1L);
		c->resp.max = SYNC_WIRE_MAX_BODY;
		c->phase = PH_PULL;
	}
	curl_easy_setopt(c->easy, CURLOPT_URL, url);
	c->t_req = now_ms();
	if (curl_multi_add_handle(b->multi, c->easy) != CURLM_OK)
		die("curl_multi_add_handle");
}

static void client_finish(struct bench *b, struct client *c)
{
	c->phase = PH_DONE;
	b->remaining--;
	if (b->measuring && !c->failed)
		samples_add(&b->sync, now_ms() - c->t_sync);
}

/* Reads a sync answer: the push's acked seq, then its pull page (moves
 * the cursor); returns 1 when more pages wait. */
static int sync_answer(struct bench *b, struct client *c, char *why, size_t whylen)
{
	enum sync_wire_kind kind;
	unsigned schema;
	struct sync_answer a;
	struct sync_pull_reader pr;
	size_t off = 0;
	buf_reset(&b->raw);
	int rc = sync_wire_open(c->resp.data, c->resp.len, SYNC_WIRE_MAX_RAW, &kind, &schema, &b->raw);
	if (!rc && (kind != SYNC_WIRE_SYNC || schema != MODEL_SCHEMA_VERSION))
		rc = RELAIS_EPROTO;
	if (!rc)
		rc = sync_answer_decode(b->raw.data, b->raw.len, &a, &off);
	if (!rc)
		rc = sync_pull_open(&pr, b->raw.data + off, b->raw.len - off);
	if (rc) {
		snprintf(why, whylen, "unreadable sync answer: %s", relais_strerror(rc));
		return rc;
	}
	c->acked = a.acked;
	c->cursor = pr.next_cursor;
	return pr.more;
}

/* Reads a pull page: moves the cursor; returns 1 when more pages wait. */
static int pull_answer(struct bench *b, struct client *c, char *why, size_t whylen)
{
	enum sync_wire_kind kind;
	unsigned schema;
	struct sync_pull_reader pr;
	buf_reset(&b->raw);
	int rc = sync_wire_open(c->resp.data, c->resp.len, SYNC_WIRE_MAX_RAW, &kind, &schema, &b->raw);
	if (!rc && (kind != SYNC_WIRE_PULL || schema != MODEL_SCHEMA_VERSION))
		rc = RELAIS_EPROTO;
	if (!rc)
		rc = sync_pull_open(&pr, b->raw.data, b->raw.len);
	if (rc) {
		snprintf(why, whylen, "unreadable pull page: %s", relais_strerror(rc));
		return rc;
	}
	if (pr.more && pr.next_cursor <= c->cursor) {
		snprintf(why, whylen, "more announced without moving the cursor");
		return RELAIS_EPROTO;
	}
	c->cursor = pr.next_cursor;
	return pr.more;
}

static void on_done(struct bench *b, CURL *easy, CURLcode cc)
{
	struct client *c = NULL;
	long status = 0;
	char why[256];
	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&c);
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	curl_multi_remove_handle(b->multi, easy);
	double dt = now_ms() - c->t_req;
	int push = c->phase == PH_PUSH;
	b->requests++;
	if (cc != CURLE_OK) {
		snprintf(why, sizeof(why), "%s", curl_easy_strerror(cc));
		note_error(b, c, push ? "push" : "pull", why);
		client_finish(b, c);
		return;
	}
	if (status < 200 || status > 299) {
		snprintf(why, sizeof(why), "HTTP %ld: %.160s", status, buf_str(&c->resp));
		note_error(b, c, push ? "push" : "pull", why);
		client_finish(b, c);
		return;
	}
	if (b->measuring)
		samples_add(push ? &b->push : &b->pull, dt);
	if (push) {
		int more = sync_answer(b, c, why, sizeof(why));
		if (more < 0) {
			note_error(b, c, "sync", why);
			client_finish(b, c);
		} else if (more) {
			b->pages_more++;
			client_send(b, c, 0);
		} else {
			client_finish(b, c);
		}
		return;
	}
	int more = pull_answer(b, c, why, sizeof(why));
	if (more < 0) {
		note_error(b, c, "pull", why);
		client_finish(b, c);
	} else if (more) {
		b->pages_more++;
		client_send(b, c, 0);
	} else {
		client_finish(b, c);
	}
}

/* ---- curl on the libuv loop ---- */

struct sock {
	uv_poll_t poll;
	curl_socket_t fd;
	struct bench *b;
};

static void collect(struct bench *b)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(b->multi, &left)))
		if (m->msg == CURLMSG_DONE)
			on_done(b, m->easy_handle, m->data.result);
	if (!b->remaining)
		uv_stop(&b->loop);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct sock *k = h->data;
	int flags = 0, running;
	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(k->b->multi, k->fd, flags, &running);
	collect(k->b);
}

static void sock_free(uv_handle_t *h)
{
	free(h->data);
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct bench *b = userp;
	struct sock *k = socketp;
	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (k) {
			curl_multi_assign(b->multi, fd, NULL);
			uv_close((uv_handle_t *)&k->poll, sock_free);
		}
		return 0;
	}
	if (!k) {
		k = calloc(1, sizeof(*k));
		if (!k || uv_poll_init_socket(&b->loop, &k->poll, fd)) {
			free(k);
			return -1;
		}
		k->fd = fd;
		k->b = b;
		k->poll.data = k;
		curl_multi_assign(b->multi, fd, k);
	}
	int ev = (what & CURL_POLL_IN ? UV_READABLE : 0) | (what & CURL_POLL_OUT ? UV_WRITABLE : 0);
	return uv_poll_start(&k->poll, ev, on_poll) ? -1 : 0;
}

static void on_timeout(uv_timer_t *t)
{
	struct bench *b = t->data;
	int running;
	curl_multi_socket_action(b->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	collect(b);
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct bench *b = userp;
	(void)multi;
	if (timeout_ms < 0)
		return uv_timer_stop(&b->timer) ? -1 : 0;
	return uv_timer_start(&b->timer, on_timeout, (uint64_t)timeout_ms, 0) ? -1 : 0;
}

static void on_tick(uv_timer_t *t)
{
	struct bench *b = t->data;
	if (g_interrupted)
		uv_stop(&b->loop);
}

/* One round: every client prepares its edit, then all sync at once.
 * Returns the round's wall time in ms. */
static double round_run(struct bench *b, int round)
{
	int rc;
	for (size_t i = 0; i < b->nclients; i++) {
		b->c[i].failed = 0;
		b->c[i].acked = 0;
		client_prepare(b, &b->c[i], round);
	}
	b->remaining = b->nclients;
	double cd0 = proc_cpu_ms(g_daemon), cs0 = self_cpu_ms();
	double t0 = now_ms();
	for (size_t i = 0; i < b->nclients; i++) {
		b->c[i].t_sync = t0;
		client_send(b, &b->c[i], 1);
	}
	uv_timer_start(&b->tick, on_tick, 100, 100);
	while (b->remaining && !g_interrupted)
		uv_run(&b->loop, UV_RUN_DEFAULT);
	uv_timer_stop(&b->tick);
	double dt = now_ms() - t0;
	if (b->measuring) {
		b->cpu_daemon += proc_cpu_ms(g_daemon) - cd0;
		b->cpu_self += self_cpu_ms() - cs0;
	}
	if (g_interrupted)
		die("interrupted");
	/* Only now, outside the timed part: what the server acknowledged leaves
	 * the outbox; a failed push stays and goes again next round. */
	for (size_t i = 0; i < b->nclients; i++)
		if (b->c[i].acked && (rc = sync_outbox_ack(b->c[i].db, b->c[i].acked)))
			die("sync_outbox_ack: %s", relais_strerror(rc));
	return dt;
}

/* ---- setup ---- */

static void parse_count(const char *opt, const char *v, long long max, long long *out)
{
	if (!v || util_parse_ll(v, 1, max, out))
		die("%s expects a number from 1 to %lld", opt, max);
}

/* The n-th valid two-digit département code (01..95 without 20). */
static void dept_code(int n, char out[8])
{
	int d = 1 + n % 94;
	if (d >= 20)
		d++;
	snprintf(out, 8, "%02d", d);
}

static void make_accounts(const char *relaisd, const char *data, const char *log,
			  struct account *acc, int n)
{
	for (int i = 0; i < n && !g_interrupted; i++) {
		char token[256];
		snprintf(acc[i].login, sizeof(acc[i].login), "coord%03d", i);
		dept_code(i, acc[i].dept);
		const char *add[] = { relaisd, "user", "add", "--data", data, "--login", acc[i].login,
				      "--dept", acc[i].dept, "--role", "coordinateur", NULL };
		if (run(add, token, sizeof(token), log))
			die("relaisd user add %s failed (see above)", acc[i].login);
		token[strcspn(token, "\r\n")] = 0;
		int len = snprintf(acc[i].auth, sizeof(acc[i].auth), "Authorization: Bearer %s", token);
		if (!token[0] || len < 0 || (size_t)len >= sizeof(acc[i].auth))
			die("relaisd user add %s gave no usable token", acc[i].login);
	}
}

static void show_log(const char *log)
{
	char line[512];
	int n = 0;
	FILE *f = fopen(log, "r");
	if (!f)
		return;
	fprintf(stderr, "bench-load: relaisd's messages (first lines):\n");
	while (fgets(line, sizeof(line), f) && n++ < 20)
		fprintf(stderr, "  %s", line);
	fclose(f);
}

int main(int argc, char **argv)
{
	long long nclients = DEF_CLIENTS, rounds = DEF_ROUNDS, naccounts = DEF_ACCOUNTS;
	char relaisd[512], data[300], portfile[320], log[320], cdir[320];
	struct bench b;
	struct account *acc = NULL;
	int rc, failed = 0;

	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(argv[i], "--clients"))
			parse_count(argv[i], v, MAX_CLIENTS, &nclients);
		else if (!strcmp(argv[i], "--rounds"))
			parse_count(argv[i], v, 1000, &rounds);
		else if (!strcmp(argv[i], "--accounts"))
			parse_count(argv[i], v, 94, &naccounts);
		else
			die("usage: bench-load [--clients N] [--rounds N] [--accounts N]");
		i++;
	}
	if (naccounts > nclients)
		naccounts = nclients;

	const char *bindir = getenv("RELAIS_BINDIR");
	if (!bindir || !*bindir)
		bindir = "./build";
	snprintf(relaisd, sizeof(relaisd), "%s/relaisd", bindir);
	if (access(relaisd, X_OK))
		die("%s not found: run \"make\" or set RELAIS_BINDIR", relaisd);

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	atexit(cleanup);

	const char *tmpdir = getenv("TMPDIR");
	snprintf(g_tmp, sizeof(g_tmp), "%s/relais-bench-load-XXXXXX",
		 tmpdir && *tmpdir ? tmpdir : "/tmp");
	if (!mkdtemp(g_tmp)) {
		g_tmp[0] = 0;
		die("mkdtemp: %s", strerror(errno));
	}
	snprintf(data, sizeof(data), "%s/data", g_tmp);
	snprintf(portfile, sizeof(portfile), "%s/port", g_tmp);
	snprintf(log, sizeof(log), "%s/relaisd.log", g_tmp);
	snprintf(cdir, sizeof(cdir), "%s/clients", g_tmp);
	if (mkdir(cdir, 0700))
		die("mkdir %s: %s", cdir, strerror(errno));

	const char *init[] = { relaisd, "init", "--data", data, NULL };
	if (run(init, NULL, 0, log)) {
		show_log(log);
		die("relaisd init failed");
	}
	/* Every client connects from 127.0.0.1: lift relaisd's cap of
	 * simultaneous connections per address above their number. */
	char conf[340];
	snprintf(conf, sizeof(conf), "%s/relaisd.conf", data);
	FILE *cf = fopen(conf, "w");
	if (!cf || fprintf(cf, "[securite]\nconnexions_par_adresse = %lld\n", 2 * nclients) < 0 ||
	    fclose(cf) || chmod(conf, 0600))
		die("cannot write %s", conf);
	acc = calloc((size_t)naccounts, sizeof(*acc));
	memset(&b, 0, sizeof(b));
	b.nclients = (size_t)nclients;
	b.c = calloc(b.nclients, sizeof(*b.c));
	if (!acc || !b.c)
		die("out of memory");
	double t = now_ms();
	make_accounts(relaisd, data, log, acc, (int)naccounts);

	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		die("curl_global_init");
	b.multi = curl_multi_init();
	if (!b.multi)
		die("curl_multi_init");
	/* Room for every client's connection in the pool between push and pull. */
	curl_multi_setopt(b.multi, CURLMOPT_MAXCONNECTS, (long)nclients * 2);
	if (uv_loop_init(&b.loop) || uv_timer_init(&b.loop, &b.timer) || uv_timer_init(&b.loop, &b.tick))
		die("uv_loop_init");
	b.timer.data = &b;
	b.tick.data = &b;
	curl_multi_setopt(b.multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(b.multi, CURLMOPT_SOCKETDATA, &b);
	curl_multi_setopt(b.multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(b.multi, CURLMOPT_TIMERDATA, &b);
	buf_init(&b.raw, SYNC_WIRE_MAX_RAW);
	for (size_t i = 0; i < b.nclients; i++) {
		b.c[i].idx = (int)i;
		b.c[i].acct = &acc[i % (size_t)naccounts];
		client_open(&b, &b.c[i], cdir);
	}
	struct sync_tables *tabs = NULL;
	if ((rc = sync_tables_load(b.c[0].db, model_table_names, model_ntables, &tabs)))
		die("sync_tables_load: %s", relais_strerror(rc));
	b.tabs = tabs;
	printf("bench-load: %lld clients (%lld accounts, one node each), %lld rounds + warm-up; "
	       "setup %.1f s\n", nclients, naccounts, rounds, (now_ms() - t) / 1e3);

	daemon_start(relaisd, data, portfile, log);
	int port = daemon_wait_port(portfile);
	if (!port) {
		show_log(log);
		die("relaisd did not start");
	}
	snprintf(b.base, sizeof(b.base), "http://127.0.0.1:%d", port);
	sleep_ms(300);
	long rss_idle0 = proc_kib(g_daemon, "VmRSS");

	/* Warm-up: first connections, first pages, page cache; not measured. */
	double wt = round_run(&b, 0);
	size_t warm_errors = b.errors;
	printf("warm-up round: %.0f ms, %zu errors\n", wt, warm_errors);

	b.measuring = 1;
	double total = 0;
	for (int r = 1; r <= rounds; r++) {
		size_t e0 = b.errors;
		double dt = round_run(&b, r);
		total += dt;
		printf("round %d: %zu syncs at once in %.0f ms, %zu errors\n", r, b.nclients, dt,
		       b.errors - e0);
		if (!daemon_alive())
			break;
	}
	long hwm = daemon_alive() ? proc_kib(g_daemon, "VmHWM") : -1;
	long rss_busy = daemon_alive() ? proc_kib(g_daemon, "VmRSS") : -1;
	sleep_ms(2000);
	long rss_idle1 = daemon_alive() ? proc_kib(g_daemon, "VmRSS") : -1;

	printf("latency (ms), %lld measured rounds of %lld simultaneous syncs:\n", rounds, nclients);
	samples_print("sync (whole)", &b.sync);
	samples_print("sync (push and its pull page)", &b.push);
	samples_print("pull (further pages)", &b.pull);
	printf("  pull pages beyond the first: %zu\n", b.pages_more);
	printf("errors: %zu of %zu requests (warm-up included)\n", b.errors, b.requests);
	if (total > 0)
		printf("throughput: %.0f syncs/s, %.0f requests/s (measured rounds)\n",
		       (double)b.sync.n / (total / 1e3),
		       (double)(b.push.n + b.pull.n) / (total / 1e3));
	if (b.sync.n) {
		long cores = sysconf(_SC_NPROCESSORS_ONLN);
		printf("CPU during the measured rounds: relaisd %.0f ms (%.3f ms per sync), "
		       "this load generator apart %.0f ms (%.3f ms per sync); %.0f ms of wall time\n",
		       b.cpu_daemon, b.cpu_daemon / (double)b.sync.n, b.cpu_self,
		       b.cpu_self / (double)b.sync.n, total);
		/* All syncs of a round start together: the last ones cannot end
		 * before both processes' CPU of the round, spread on the cores. */
		if (cores > 0)
			printf("  a round's CPU (relaisd and generator) over %ld cores: at least %.0f ms of "
			       "wall time for its last sync\n", cores,
			       (b.cpu_daemon + b.cpu_self) / (double)rounds / (double)cores);
	}
	printf("relaisd memory: idle after start %.1f MiB, peak (VmHWM) %.1f MiB, "
	       "after the load %.1f MiB, idle 2 s later %.1f MiB\n",
	       rss_idle0 / 1024.0, hwm / 1024.0, rss_busy / 1024.0, rss_idle1 / 1024.0);
	printf("targets: 0 errors; sync p99 under 50 ms (issue 15; before: 86-105 ms); peak RSS "
	       "under 64 MiB\n");

	if (!daemon_alive()) {
		show_log(log);
		failed = 1;
	} else {
		int st = daemon_stop();
		if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr, "bench-load: relaisd did not stop cleanly on SIGTERM\n");
			failed = 1;
		}
	}
	if (b.errors)
		failed = 1;

	for (size_t i = 0; i < b.nclients; i++) {
		struct client *c = &b.c[i];
		curl_easy_cleanup(c->easy);
		curl_slist_free_all(c->hpush);
		curl_slist_free_all(c->hpull);
		buf_release(&c->env);
		buf_release(&c->resp);
		sqlite3_close(c->db);
	}
	curl_multi_cleanup(b.multi);
	curl_global_cleanup();
	uv_close((uv_handle_t *)&b.timer, NULL);
	uv_close((uv_handle_t *)&b.tick, NULL);
	uv_run(&b.loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&b.loop))
		fprintf(stderr, "bench-load: handles left open on the loop\n");
	sync_tables_free(tabs);
	buf_release(&b.raw);
	free(b.sync.v);
	free(b.push.v);
	free(b.pull.v);
	free(b.c);
	free(acc);
	return failed;
}
