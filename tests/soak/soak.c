/*
 * soak.c - relais-soak: replicas, a daemon and a mail server under faults
 * (docs/soak.md says what it proves and how).
 *
 *   relais-soak [--secondes N] [--replicas N] [--graine N] [--parallele N] [--bavard]
 *
 * Everything runs on 127.0.0.1 in a temporary directory: relaisd (killed
 * with SIGKILL and restarted at random) with its mail gateway reading a
 * private Dovecot (restarted at random while messages arrive), N relais
 * replicas making random edits and syncing through the fault-injecting
 * proxy (faultproxy.h). Then, faults off, every replica syncs until quiet
 * and the checks run: convergence, no lost edit, one journal outcome per
 * message, backups that restore and hold what was acknowledged.
 *
 * Exit status: 0 when every check passed, 1 on a loss or a divergence,
 * 2 on a bad command line, 3 when the world could not be set up.
 * Binaries come from $RELAIS_BINDIR (else ./build), as in the tests.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <sqlite3.h>
#include "../../common/util.h"
#include "../../model/model.h"
#include "../../sync/hlc.h"
#include "../harness.h"
#include "../mailserver.h"
#include "../test.h"
#include "faultproxy.h"

#define DEPT_A "43"
#define DEPT_B "15"
#define MAX_REPLICAS 64
#define MAX_DEFERRED 32
#define OP_TIMEOUT_MS 25000
#define TICK_MS 10
#define CHAOS_GRACE_MS 30000
#define MAIL_SETTLE_MS 90000
#define MAX_QUIET_ROUNDS 8
#define SYNC_RETRIES 4
#define MAX_LOSS_SHOWN 20

/* ---- the runner's side of tests/test.h (harness.c and mailserver.c
 * register their cleanups with test_defer) ---- */

static struct {
	void (*fn)(void *);
	void *arg;
} deferred[MAX_DEFERRED];
static int ndeferred;

void test_defer(void (*fn)(void *), void *arg)
{
	if (ndeferred == MAX_DEFERRED) {
		fprintf(stderr, "soak: too many deferred cleanups\n");
		abort();
	}
	deferred[ndeferred].fn = fn;
	deferred[ndeferred].arg = arg;
	ndeferred++;
}

static void run_deferred(void)
{
	while (ndeferred > 0) {
		ndeferred--;
		deferred[ndeferred].fn(deferred[ndeferred].arg);
	}
}

static void on_signal(int sig)
{
	static const char msg[] = "soak: interrompu, nettoyage (interrupted, cleaning up)\n";
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	run_deferred();
	_exit(128 + sig);
}

/* ---- randomness (one seeded stream for every decision of this process) ---- */

static uint64_t rng_state;

static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static long rnd(long n)
{
	return n > 0 ? (long)(rng_next() % (uint64_t)n) : 0;
}

static long rnd_between(long lo, long hi)
{
	return lo + rnd(hi - lo + 1);
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- the world ---- */

enum op_kind { OP_NONE, OP_INIT, OP_SYNC, OP_ADD, OP_SET, OP_RM, OP_EXPORT };

struct rep {
	int idx;
	const char *dept;
	char login[16];
	char token[H_TOKEN];
	const char *home;
	const char *outp, *errp;   /* stdout and stderr of the last command */
	pid_t pid;                 /* the command running, 0 when idle */
	enum op_kind op;
	int64_t started;
	int64_t kill_at;           /* when the soak kills it on purpose; 0: never */
	const char *add_table;     /* OP_ADD: the table of the new row */
	int row;                   /* OP_SET, OP_RM: the row; -1 otherwise */
	int status;                /* exit status of the last command */
	int ready;                 /* initialised */
	int owner;                 /* the replica whose account it shares (itself: it made it) */
	long long outbox_seen;     /* highest outbox seq read into the ledger */
	uint64_t node;
	long pulled_tick;          /* tick when its last successful sync began */
	long sync_tick;            /* tick when the running sync (or init) began */
};

/* A row made by the soak, as far as the scheduler knows it. */
struct row {
	const char *table;
	char id[UTIL_UUID_LEN + 1];
	const char *dept;
	int creator;
	long acked_tick;  /* tick when a sync of its creator acknowledged it; 0: not yet */
	int deleted;      /* a saved rm */
	int hot;          /* edited by everyone: conflicting edits */
};

/* One change of one outbox item of one replica: what a command saved. */
struct change {
	int rep;
	long long seq;
	sync_hlc_t hlc;
	uint64_t node;
	const char *table;  /* interned: TABLES[i] for the two tables checked */
	char id[UTIL_UUID_LEN + 1];
	int op;             /* SQLITE_INSERT, _UPDATE, _DELETE */
	int saved;          /* its command exited 0 */
	int acked;          /* a later sync of its replica exited 0 */
	json_t *old;        /* column -> value (UPDATE: key and changed columns) */
	json_t *new;        /* column -> value (UPDATE: changed columns) */
};

struct backup {
	char file[H_PATH];
	long *noted;        /* ledger indexes acknowledged before it began */
	size_t nnoted;
};

struct message {
	char msgid[96];
	int garbage;
};

static struct {
	int seconds, nrep, parallel, verbose;
	uint64_t seed;
	const char *dir;
	struct h_daemon d;
	int daemon_up;      /* listening, the proxy forwards to it */
	pid_t dpid;         /* relaisd serve, 0 when not running */
	int64_t dstarted;
	pid_t backup_pid;   /* relaisd backup running, 0 when none */
	struct backup pending_backup;
	struct fp_proxy px;
	struct ms_server ms;
	int dovecot_up;
	char proxy_url[64];
	struct rep reps[MAX_REPLICAS];
	struct row *rows;
	size_t nrows, arows;
	struct change *ledger;
	size_t nledger, aledger;
	struct message *msgs;
	size_t nmsgs, amsgs;
	struct backup *backups;
	size_t nbackups, abackups;
	json_t *gen;        /* values the soak generated (unique): dumped JSON -> true */
	json_t *columns;    /* table -> array of column names */
	long tick;
	long value_counter;
	int backup_supported;
	/* counts */
	long edits_ok, edits_refused, edits_interrupted, saved_on_failure;
	long syncs_ok, syncs_failed, syncs_interrupted;
	long kills, imap_restarts, mails_forms, mails_garbage, mails_failed;
	long backups_failed, backups_restored;
	long losses, problems;
	int mail_watch;             /* settling: mail not yet all journaled */
	int64_t mail_next_check;
	long op_n[OP_EXPORT + 1];
	int64_t op_ms[OP_EXPORT + 1];
} S;

static const char *const TABLES[] = { "structure", "promeneur" };

/* ---- reporting ---- */

/* A failed check: one French/English line on stderr, counted. */
static void problem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void problem(const char *fmt, ...)
{
	va_list ap;
	fputs("soak: ÉCHEC (FAILURE): ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	S.problems++;
}

static void loss(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void loss(const char *fmt, ...)
{
	va_list ap;
	S.losses++;
	if (S.losses > MAX_LOSS_SHOWN)
		return;
	fputs("soak: PERTE (LOSS): ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void *grow(void *p, size_t *alloc, size_t n, size_t size)
{
	if (n < *alloc)
		return p;
	size_t a = *alloc ? 2 * *alloc : 64;
	void *q = realloc(p, a * size);
	if (!q) {
		fprintf(stderr, "soak: mémoire insuffisante (out of memory)\n");
		exit(3);
	}
	*alloc = a;
	return q;
}

/* ---- values ---- */

static char *json_key(const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!s) {
		fprintf(stderr, "soak: mémoire insuffisante (out of memory)\n");
		exit(3);
	}
	return s;
}

static void gen_note(json_t *v)
{
	char *k = json_key(v);
	json_object_set_new(S.gen, k, json_true());
	free(k);
	json_decref(v);
}

static int gen_has(const json_t *v)
{
	char *k = json_key(v);
	int r = json_object_get(S.gen, k) != NULL;
	free(k);
	return r;
}

/* A value written by the soak is unique (a counter is in it), so that an
 * old value seen in a later edit names the edit it came from. Values are
 * given in the form the model stores them, so they come back unchanged. */
static const char *gen_text(const char *fmt)
{
	long n = ++S.value_counter;
	const char *s = h_strf(fmt, n);
	gen_note(json_string(s));
	return s;
}

static const char *gen_phone(void)
{
	long n = ++S.value_counter;
	const char *s = h_strf("06%08ld", 10000000L + n % 89999999L);
	gen_note(json_string(s));
	return s;
}

static const char *gen_email(void)
{
	long n = ++S.value_counter;
	const char *s = h_strf("courriel%ld@soak.example", n);
	gen_note(json_string(s));
	return s;
}

static const char *gen_int(void)
{
	long n = ++S.value_counter % 1000000L;
	gen_note(json_integer(n));
	return h_strf("%ld", n);
}

/* JSON of a SQLite value, the way the export and the conflicts write it. */
static json_t *value_json(sqlite3_value *v)
{
	switch (sqlite3_value_type(v)) {
	case SQLITE_INTEGER:
		return json_integer(sqlite3_value_int64(v));
	case SQLITE_FLOAT:
		return json_real(sqlite3_value_double(v));
	case SQLITE_TEXT:
		return json_stringn((const char *)sqlite3_value_text(v), (size_t)sqlite3_value_bytes(v));
	case SQLITE_BLOB:
		return json_string("(blob)");
	default:
		return json_null();
	}
}

static json_t *column_json(sqlite3_stmt *st, int i)
{
	return value_json(sqlite3_column_value(st, i));
}

/* ---- processes ---- */

/* Forks argv with stdout and stderr to files (appended to when append);
 * the child dies with us. */
static pid_t spawn_files(char *const argv[], const char *outp, const char *errp, int append)
{
	int mode = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC);
	int fo = open(outp, mode, 0600);
	int fe = open(errp, mode, 0600);
	pid_t pid = -1;
	if (fo < 0 || fe < 0) {
		perror(outp);
		goto out;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		goto out;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int in = open("/dev/null", O_RDONLY);
		if (in < 0 || dup2(in, 0) < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
			_exit(126);
		closefrom(3);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		setenv("HOME", S.dir, 1);
		unsetenv("RELAIS_HOME");
		execv(argv[0], argv);
		_exit(127);
	}
out:
	if (fo >= 0)
		close(fo);
	if (fe >= 0)
		close(fe);
	return pid;
}

static pid_t spawn_to(char *const argv[], const char *outp, const char *errp)
{
	return spawn_files(argv, outp, errp, 0);
}

static int decode_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -1;
}

/* Starts `relais --home HOME args...` for r (idle). Returns 0 or -1. */
static int rep_start(struct rep *r, enum op_kind op, const char *const *args)
{
	char *argv[40];
	int n = 0;
	argv[n++] = (char *)h_bin("relais");
	argv[n++] = (char *)"--home";
	argv[n++] = (char *)r->home;
	for (int i = 0; args[i] && n < 39; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	r->pid = spawn_to(argv, r->outp, r->errp);
	if (r->pid <= 0) {
		r->pid = 0;
		return -1;
	}
	r->op = op;
	r->started = mono_ms();
	r->kill_at = 0;
	if (op == OP_SYNC || op == OP_INIT)
		r->sync_tick = ++S.tick;
	return 0;
}

/* Reaps r's command when it ended (or kills it past its time limit).
 * Returns 1 when it ended (r->status set), 0 while it runs. */
static int rep_poll(struct rep *r)
{
	int st;
	if (!r->pid)
		return 0;
	pid_t w = waitpid(r->pid, &st, WNOHANG);
	int64_t now = mono_ms();
	if (w == 0 && ((r->kill_at && now >= r->kill_at) || now - r->started > OP_TIMEOUT_MS)) {
		kill(r->pid, SIGKILL);
		while ((w = waitpid(r->pid, &st, 0)) < 0 && errno == EINTR)
			;
		r->status = -1;
		r->pid = 0;
		return 1;
	}
	if (w == 0 || (w < 0 && errno == EINTR))
		return 0;
	r->status = w == r->pid ? decode_status(st) : -1;
	r->pid = 0;
	return 1;
}

/* The first line of a file (trailing blanks dropped), harness-owned, or "". */
static const char *first_line(const char *path)
{
	size_t len = 0;
	char *s = h_read_file(path, &len);
	if (!s)
		return "";
	char *e = strchr(s, '\n');
	if (e)
		*e = 0;
	for (size_t n = strlen(s); n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\r'); n--)
		s[n - 1] = 0;
	return s;
}

/* ---- the ledger: every change a replica saved, read from its outbox ---- */

/* Column names of a table (cached from the first replica that has it). */
static json_t *table_columns(sqlite3 *db, const char *table)
{
	json_t *cols = json_object_get(S.columns, table);
	sqlite3_stmt *st = NULL;
	if (cols)
		return cols;
	cols = json_array();
	if (sqlite3_prepare_v2(db, "SELECT name FROM pragma_table_info(?1) ORDER BY cid", -1, &st,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW)
			json_array_append_new(cols, json_string((const char *)sqlite3_column_text(st, 0)));
	}
	sqlite3_finalize(st);
	json_object_set_new(S.columns, table, cols);
	return cols;
}

static const char *intern_table(const char *t)
{
	for (size_t i = 0; i < sizeof(TABLES) / sizeof(TABLES[0]); i++)
		if (!strcmp(TABLES[i], t))
			return TABLES[i];
	return h_strf("%s", t);
}

/* Adds the changes of one outbox item to the ledger. */
static int ledger_item(sqlite3 *db, struct rep *r, long long seq, sync_hlc_t hlc,
		       const void *cs, int n, int saved)
{
	sqlite3_changeset_iter *it = NULL;
	int rc = -1;
	if (sqlite3changeset_start(&it, n, (void *)cs) != SQLITE_OK)
		goto out;
	while (sqlite3changeset_next(it) == SQLITE_ROW) {
		const char *tab;
		int ncol, op, indirect;
		if (sqlite3changeset_op(it, &tab, &ncol, &op, &indirect) != SQLITE_OK)
			goto out;
		json_t *cols = table_columns(db, tab);
		S.ledger = grow(S.ledger, &S.aledger, S.nledger, sizeof(*S.ledger));
		struct change *c = &S.ledger[S.nledger++];
		memset(c, 0, sizeof(*c));
		c->rep = r->idx;
		c->seq = seq;
		c->hlc = hlc;
		c->node = r->node;
		c->table = intern_table(tab);
		c->op = op;
		c->saved = saved;
		c->old = json_object();
		c->new = json_object();
		for (int i = 0; i < ncol && i < (int)json_array_size(cols); i++) {
			const char *name = json_string_value(json_array_get(cols, (size_t)i));
			sqlite3_value *v = NULL;
			if (op != SQLITE_INSERT && sqlite3changeset_old(it, i, &v) == SQLITE_OK && v)
				json_object_set_new(c->old, name, value_json(v));
			v = NULL;
			if (op != SQLITE_DELETE && sqlite3changeset_new(it, i, &v) == SQLITE_OK && v)
				json_object_set_new(c->new, name, value_json(v));
		}
		json_t *id = json_object_get(op == SQLITE_INSERT ? c->new : c->old, "id");
		snprintf(c->id, sizeof(c->id), "%s", json_string_value(id) ? json_string_value(id) : "");
	}
	rc = 0;
out:
	sqlite3changeset_finalize(it);
	return rc;
}

static sqlite3 *open_db(const char *path, int flags)
{
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
		fprintf(stderr, "soak: %s : %s\n", path, db ? sqlite3_errmsg(db) : "?");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 10000);
	return db;
}

/* Reads the outbox items of r newer than those already read (r is idle).
 * saved: whether the command that made them exited 0. */
static int ledger_read(struct rep *r, int saved)
{
	sqlite3 *db = open_db(h_strf("%s/replica.db", r->home), SQLITE_OPEN_READWRITE);
	sqlite3_stmt *st = NULL;
	int rc = -1, n = 0;
	if (!db)
		return -1;
	if (!r->node) {
		if (sqlite3_prepare_v2(db, "SELECT value FROM sync_meta WHERE key='node'", -1, &st,
				       NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW ||
		    sync_node_parse((const char *)sqlite3_column_text(st, 0), &r->node)) {
			fprintf(stderr, "soak: %s : pas de nœud (no node)\n", r->home);
			goto out;
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	if (sqlite3_prepare_v2(db, "SELECT seq, hlc, changeset FROM sync_outbox WHERE seq > ?1 "
			       "ORDER BY seq", -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, r->outbox_seen);
	while (sqlite3_step(st) == SQLITE_ROW) {
		long long seq = sqlite3_column_int64(st, 0);
		if (ledger_item(db, r, seq, (sync_hlc_t)sqlite3_column_int64(st, 1),
				sqlite3_column_blob(st, 2), sqlite3_column_bytes(st, 2), saved))
			goto out;
		r->outbox_seen = seq;
		n++;
	}
	rc = n;
out:
	if (rc < 0)
		fprintf(stderr, "soak: %s : outbox illisible (unreadable outbox): %s\n", r->home,
			sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

/* Number of items waiting in r's outbox, -1 on error. */
static long outbox_pending(struct rep *r)
{
	sqlite3 *db = open_db(h_strf("%s/replica.db", r->home), SQLITE_OPEN_READWRITE);
	sqlite3_stmt *st = NULL;
	long n = -1;
	if (!db)
		return -1;
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sync_outbox", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* ---- rows known to the scheduler ---- */

static int row_add(const char *table, const char *id, const char *dept, int creator, int hot)
{
	if (!util_is_uuid(id)) {
		fprintf(stderr, "soak: identifiant inattendu (unexpected id) « %s »\n", id);
		return -1;
	}
	S.rows = grow(S.rows, &S.arows, S.nrows, sizeof(*S.rows));
	struct row *w = &S.rows[S.nrows++];
	memset(w, 0, sizeof(*w));
	w->table = intern_table(table);
	snprintf(w->id, sizeof(w->id), "%s", id);
	w->dept = dept;
	w->creator = creator;
	w->hot = hot;
	return 0;
}

/* Whether r has most likely received row w: its own, or acknowledged
 * before r's last successful sync began. A wrong guess only makes a
 * command fail with "introuvable", counted as refused. */
static int row_known(const struct rep *r, const struct row *w)
{
	if (strcmp(w->dept, r->dept))
		return 0;
	return w->creator == r->idx || (w->acked_tick && w->acked_tick < r->pulled_tick);
}

/* A random row of table known to r; hot: only hot rows, else any; -1 when none. */
static int pick_row(const struct rep *r, const char *table, int hot, int allow_deleted)
{
	for (int tries = 0; tries < 24 && S.nrows; tries++) {
		int i = (int)rnd((long)S.nrows);
		const struct row *w = &S.rows[i];
		if ((table && strcmp(w->table, table)) || (hot && !w->hot) || !row_known(r, w))
			continue;
		if (w->deleted && !allow_deleted)
			continue;
		return i;
	}
	return -1;
}

/* ---- operations ---- */

/* Starts a random domain edit or a sync on r. */
static int start_random_op(struct rep *r)
{
	long roll = rnd(100);
	const char *a[24];
	int n = 0;
	if (roll < 38) {
		a[n++] = "sync";
		a[n] = NULL;
		return rep_start(r, OP_SYNC, a);
	}
	if (roll < 56) {
		int s = pick_row(r, "structure", 0, 0);
		r->row = -1;
		if (rnd(100) < 55 || s < 0) {
			r->add_table = "structure";
			a[n++] = "structure";
			a[n++] = "add";
			a[n++] = "--nom";
			a[n++] = gen_text("Structure du soak n°%ld");
			a[n++] = "--commune";
			a[n++] = gen_text("Commune %ld-sur-Loire");
			if (rnd(2)) {
				a[n++] = "--referent";
				a[n++] = gen_text("Référente %ld");
			}
			if (rnd(2)) {
				a[n++] = "--subvention-equipement";
				a[n++] = gen_int();
			}
		} else {
			r->add_table = "promeneur";
			a[n++] = "promeneur";
			a[n++] = "add";
			a[n++] = "--prenom";
			a[n++] = gen_text("Prénom%ld");
			a[n++] = "--nom";
			a[n++] = gen_text("Nom%ld");
			a[n++] = "--email";
			a[n++] = gen_email();
			a[n++] = "--structure";
			a[n++] = S.rows[s].id;
			if (rnd(2)) {
				a[n++] = "--telephone";
				a[n++] = gen_phone();
			}
		}
		a[n] = NULL;
		return rep_start(r, OP_ADD, a);
	}
	if (roll < 95) {
		int hot = rnd(100) < 45;
		const char *table = rnd(100) < 60 ? "structure" : "promeneur";
		int i = pick_row(r, table, hot, rnd(100) < 5);
		if (i < 0)
			i = pick_row(r, NULL, 0, 0);
		if (i < 0) {
			a[n++] = "sync";
			a[n] = NULL;
			return rep_start(r, OP_SYNC, a);
		}
		const struct row *w = &S.rows[i];
		long c = w->hot ? rnd(2) : rnd(4);
		r->row = i;
		a[n++] = w->table;
		a[n++] = "set";
		a[n++] = w->id;
		if (!strcmp(w->table, "structure")) {
			static const char *const opt[] = { "--referent", "--commentaire", "--adresse",
							   "--subvention-equipement" };
			a[n++] = opt[c];
			a[n++] = c == 0 ? gen_text("Référent·e n°%ld")
				 : c == 1 ? gen_text("Commentaire %ld :\nsur deux lignes")
				 : c == 2 ? gen_text("%ld, rue des Promeneurs") : gen_int();
		} else {
			static const char *const opt[] = { "--fonction", "--telephone",
							   "--motif-delabellisation", "--email" };
			a[n++] = opt[c];
			a[n++] = c == 0 ? gen_text("Animatrice n°%ld")
				 : c == 1 ? gen_phone()
				 : c == 2 ? gen_text("Motif %ld") : gen_email();
		}
		a[n] = NULL;
		return rep_start(r, OP_SET, a);
	}
	int i = pick_row(r, rnd(2) ? "promeneur" : "structure", 0, 0);
	if (i < 0 || S.rows[i].hot) {
		a[n++] = "sync";
		a[n] = NULL;
		return rep_start(r, OP_SYNC, a);
	}
	r->row = i;
	a[n++] = S.rows[i].table;
	a[n++] = "rm";
	a[n++] = S.rows[i].id;
	a[n] = NULL;
	return rep_start(r, OP_RM, a);
}

/* Handles the end of r's command: ledger, rows, counts. Returns -1 when the
 * soak cannot go on (the replica cannot be read). */
static int op_done(struct rep *r)
{
	int ok = r->status == 0;
	int edit = r->op == OP_ADD || r->op == OP_SET || r->op == OP_RM;
	S.op_n[r->op]++;
	S.op_ms[r->op] += mono_ms() - r->started;
	int n = ledger_read(r, edit && ok);
	if (n < 0)
		return -1;
	if (edit && !ok && n > 0) {
		/* A command that failed (or was killed) but left a change: it will
		 * sync like any other; it is in the ledger but not counted saved. */
		S.saved_on_failure++;
	}
	if (S.verbose && !ok && r->op != OP_SYNC)
		fprintf(stderr, "soak: %s (op %d) : %d : %s\n", r->login, r->op, r->status,
			first_line(r->errp));
	switch (r->op) {
	case OP_SYNC:
		if (ok) {
			S.syncs_ok++;
			for (size_t i = 0; i < S.nledger; i++)
				if (S.ledger[i].rep == r->idx && S.ledger[i].saved)
					S.ledger[i].acked = 1;
			long done = ++S.tick;
			for (size_t i = 0; i < S.nrows; i++)
				if (S.rows[i].creator == r->idx && !S.rows[i].acked_tick)
					S.rows[i].acked_tick = done;
			r->pulled_tick = r->sync_tick;
		} else if (r->status < 0) {
			S.syncs_interrupted++;
		} else {
			S.syncs_failed++;
		}
		break;
	case OP_ADD:
	case OP_SET:
	case OP_RM:
		if (ok)
			S.edits_ok++;
		else if (r->status < 0)
			S.edits_interrupted++;
		else
			S.edits_refused++;
		if (ok && r->op == OP_ADD && row_add(r->add_table, first_line(r->outp), r->dept, r->idx, 0))
			return -1;
		if (ok && r->op == OP_RM)
			S.rows[r->row].deleted = 1;
		break;
	default:
		break;
	}
	r->op = OP_NONE;
	return 0;
}

/* ---- the daemon ---- */

/*
 * relaisd is started without waiting for it (the soak goes on scheduling
 * while it starts, as clients would keep trying): daemon_poll() notices
 * its port file, then the proxy forwards to it.
 */
static int daemon_spawn(void)
{
	char *argv[] = { (char *)h_bin("relaisd"), (char *)"serve", (char *)"--data", S.d.data,
			 (char *)"--listen", (char *)"127.0.0.1:0", (char *)"--port-file",
			 S.d.portfile, (char *)"--config", S.d.config, NULL };
	unlink(S.d.portfile);
	S.dpid = spawn_files(argv, S.d.log, S.d.log, 1);
	if (S.dpid <= 0) {
		S.dpid = 0;
		problem("relaisd ne démarre pas (relaisd does not start)");
		return -1;
	}
	S.dstarted = mono_ms();
	S.daemon_up = 0;
	return 0;
}

static int read_port(const char *path)
{
	size_t len = 0;
	char *s = h_read_file(path, &len);
	long long v;
	if (!s || len < 2 || s[len - 1] != '\n')
		return -1;
	s[len - 1] = 0;
	return util_parse_ll(s, 1, 65535, &v) ? -1 : (int)v;
}

/* Notices a start or an unexpected end. Returns -1 when relaisd died by
 * itself or never listened. */
static int daemon_poll(void)
{
	int st;
	if (!S.dpid)
		return 0;
	pid_t w = waitpid(S.dpid, &st, WNOHANG);
	if (w == S.dpid) {
		S.dpid = 0;
		S.daemon_up = 0;
		fp_set_target(&S.px, 0);
		problem("relaisd s'est arrêté seul (relaisd exited by itself): statut %d ; journal : %s",
			decode_status(st), S.d.log);
		return -1;
	}
	if (S.daemon_up)
		return 0;
	int port = read_port(S.d.portfile);
	if (port > 0) {
		S.d.port = port;
		S.daemon_up = 1;
		fp_set_target(&S.px, port);
		return 0;
	}
	if (mono_ms() - S.dstarted > 60000) {
		problem("relaisd n'écoute pas après 60 s (relaisd does not listen) ; journal : %s",
			S.d.log);
		return -1;
	}
	return 0;
}

/* Waits until relaisd listens (setup and final phase). */
static int daemon_wait_up(void)
{
	if (!S.dpid && daemon_spawn())
		return -1;
	while (!S.daemon_up) {
		if (daemon_poll())
			return -1;
		sleep_ms(TICK_MS);
	}
	return 0;
}

static void daemon_kill(void)
{
	fp_set_target(&S.px, 0);
	if (S.dpid > 0) {
		kill(S.dpid, SIGKILL);
		while (waitpid(S.dpid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	S.dpid = 0;
	S.daemon_up = 0;
}

/* SIGTERM and wait: the exit status, -1 past 30 s. */
static int daemon_stop(void)
{
	int st;
	int64_t end = mono_ms() + 30000;
	fp_set_target(&S.px, 0);
	S.daemon_up = 0;
	if (S.dpid <= 0)
		return -1;
	kill(S.dpid, SIGTERM);
	while (mono_ms() < end) {
		pid_t w = waitpid(S.dpid, &st, WNOHANG);
		if (w == S.dpid) {
			S.dpid = 0;
			return decode_status(st);
		}
		sleep_ms(20);
	}
	daemon_kill();
	return -1;
}

static const char *server_db_path(void)
{
	return h_strf("%s/relais.db", S.d.data);
}

/* ---- mail ---- */

static const char *rfc5322_date(void)
{
	char d[64];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(d, sizeof(d), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	return h_strf("%s", d);
}

/* LF to CRLF, as mail travels. */
static const char *crlf(const char *s)
{
	struct buf b = BUF_INIT(1u << 20);
	for (const char *p = s; *p; p++)
		if ((*p == '\n' && buf_putc(&b, '\r')) || buf_putc(&b, *p))
			break;
	char *out = (char *)buf_detach(&b, NULL);
	const char *r = h_strf("%s", out ? out : "");
	free(out);
	return r;
}

static const char *candidature_body(long n)
{
	return h_strf("== Structure ==\n"
		      "Nom * : MJC du soak %ld\n"
		      "Commune * : Yssingeaux\n"
		      "Type de structure : mjc\n"
		      "Courriel :\n"
		      "Téléphone : 04 71 59 00 00\n"
		      "\n"
		      "== Promeneur (la personne candidate) ==\n"
		      "Prénom * : Léa\n"
		      "Nom * : Martin%ld\n"
		      "Courriel * : lea%ld@plateau.example\n"
		      "Téléphone : 06 12 34 56 78\n"
		      "Fonction : animatrice jeunesse\n"
		      "Public (jeunesse, parentalite) : jeunesse\n"
		      "Heures en ligne par semaine : 6\n"
		      "\n"
		      "== Présence en ligne (nom de profil sur chaque réseau utilisé) ==\n"
		      "Instagram : lea.pdn%ld\n"
		      "\n"
		      "== Candidature (critères du dossier notés de 0 à 3, facultatifs) ==\n"
		      "Pertinence de la démarche (0 à 3) : 2\n"
		      "Motivation * : Aller à la rencontre des jeunes là où ils sont,\n"
		      "sur les réseaux qu'ils utilisent tous les jours.\n",
		      n, n, n, n);
}

/* Random printable and 8-bit bytes, no NUL, lines of at most 70. */
static const char *garbage_bytes(long len)
{
	char *s = h_strf("%*s", (int)len, "");
	for (long i = 0; i < len; i++) {
		long c = rnd(100);
		s[i] = (i % 70 == 69) ? '\n' : c < 80 ? (char)rnd_between(32, 126) : (char)rnd_between(128, 255);
	}
	return s;
}

/* One message into the network's mailbox, written into the maildir as a
 * delivery agent would (it works while Dovecot is down, and never blocks
 * the soak on SMTP): a candidature form, or garbage. */
static void deliver_one(void)
{
	long n = (long)S.nmsgs + 1;
	int kind = (int)rnd(10);
	const char *msgid = h_strf("soak-%ld-%llx@soak.example", n, (unsigned long long)S.seed);
	const char *from = h_strf("structure%ld@plateau.example", n % 7);
	const char *head = h_strf("From: MJC <%s>\nTo: <" MS_ADDRESS ">\nDate: %s\n"
				  "Message-ID: <%s>\n", from, rfc5322_date(), msgid);
	const char *msg;
	int rc;
	if (kind < 6) {
		msg = crlf(h_strf("%sSubject: Candidature Promeneurs du Net\nMIME-Version: 1.0\n"
				  "Content-Type: text/plain; charset=utf-8\n"
				  "Content-Transfer-Encoding: 8bit\n\n%s", head, candidature_body(n)));
		rc = ms_put(&S.ms, msg, strlen(msg));
	} else {
		static const char *const ctype[] = {
			"text/plain; charset=x-inconnu",
			"multipart/mixed; boundary=\"jamais-fermee\"",
			"text/html; charset=iso-8859-1",
			"application/octet-stream",
		};
		const char *body = garbage_bytes(rnd_between(0, 3000));
		if (kind == 7)
			body = h_strf("--jamais-fermee\nContent-Type: text/plain\n\n%s", body);
		msg = crlf(h_strf("%sSubject: %s\nMIME-Version: 1.0\nContent-Type: %s\n\n%s", head,
				  garbage_bytes(rnd_between(0, 60)), ctype[kind - 6], body));
		rc = ms_put(&S.ms, msg, strlen(msg));
	}
	if (rc) {
		S.mails_failed++;
		return;
	}
	S.msgs = grow(S.msgs, &S.amsgs, S.nmsgs, sizeof(*S.msgs));
	snprintf(S.msgs[S.nmsgs].msgid, sizeof(S.msgs[S.nmsgs].msgid), "%s", msgid);
	S.msgs[S.nmsgs].garbage = kind >= 6;
	S.nmsgs++;
	if (kind >= 6)
		S.mails_garbage++;
	else
		S.mails_forms++;
}

/* Whether every delivered message has a final journal row and the inbox is
 * empty. *pending receives how many are not there yet. */
static int mail_settled(long *pending)
{
	sqlite3 *db = open_db(server_db_path(), SQLITE_OPEN_READONLY);
	sqlite3_stmt *st = NULL;
	long missing = 0;
	if (!db)
		return 0;
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM inbound_mail WHERE message_id = ?1 "
			       "AND resultat <> 'en_cours'", -1, &st, NULL) != SQLITE_OK) {
		missing = (long)S.nmsgs;
		goto out;
	}
	for (size_t i = 0; i < S.nmsgs; i++) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, S.msgs[i].msgid, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int64(st, 0) < 1)
			missing++;
	}
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	*pending = missing;
	return missing == 0 && ms_count(&S.ms, "INBOX") == 0;
}

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	int ok = fputs(text, f) >= 0;
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* ---- backups ---- */

/* Starts `relaisd backup` while relaisd serves, after noting what the
 * server had acknowledged (docs/soak.md). */
static void backup_start(void)
{
	struct backup *b = &S.pending_backup;
	memset(b, 0, sizeof(*b));
	snprintf(b->file, sizeof(b->file), "%s/sauvegarde-%zu.db", S.dir, S.nbackups + 1);
	b->noted = calloc(S.nledger + 1, sizeof(*b->noted));
	if (!b->noted)
		exit(3);
	for (size_t i = 0; i < S.nledger; i++)
		if (S.ledger[i].acked)
			b->noted[b->nnoted++] = (long)i;
	char *argv[] = { (char *)h_bin("relaisd"), (char *)"backup", (char *)"--data", S.d.data,
			 (char *)"--to", b->file, NULL };
	S.backup_pid = spawn_to(argv, h_path("sauvegarde.out"), h_path("sauvegarde.err"));
	if (S.backup_pid <= 0) {
		S.backup_pid = 0;
		free(b->noted);
		b->noted = NULL;
		problem("relaisd backup ne démarre pas (backup does not start)");
	}
}

/* Collects the backup when it ended (wait: until it ends). */
static void backup_poll(int wait)
{
	int st;
	pid_t w;
	if (!S.backup_pid)
		return;
	while ((w = waitpid(S.backup_pid, &st, wait ? 0 : WNOHANG)) < 0 && errno == EINTR)
		;
	if (w == 0)
		return;
	S.backup_pid = 0;
	if (w < 0 || decode_status(st) != 0) {
		problem("la sauvegarde a échoué (backup failed): statut %d : %s",
			w < 0 ? -1 : decode_status(st), first_line(h_path("sauvegarde.err")));
		S.backups_failed++;
		free(S.pending_backup.noted);
		S.pending_backup.noted = NULL;
		return;
	}
	S.backups = grow(S.backups, &S.abackups, S.nbackups, sizeof(*S.backups));
	S.backups[S.nbackups++] = S.pending_backup;
	memset(&S.pending_backup, 0, sizeof(S.pending_backup));
}

/* ---- setup ---- */

/* `relaisd user add` for every replica's account, a few at a time (the
 * store takes them one after the other; a refused one is tried again alone). */
static int setup_users(void)
{
	int next = 0;
	while (next < S.nrep) {
		int first = next;
		for (; next < S.nrep && next - first < S.parallel; next++) {
			struct rep *r = &S.reps[next];
			if (r->owner != r->idx)
				continue;
			char *argv[] = { (char *)h_bin("relaisd"), (char *)"user", (char *)"add",
					 (char *)"--data", S.d.data, (char *)"--login", r->login,
					 (char *)"--dept", (char *)r->dept, (char *)"--role",
					 (char *)"coordinateur", NULL };
			r->pid = spawn_to(argv, r->outp, r->errp);
			if (r->pid <= 0)
				return -1;
		}
		for (int i = first; i < next; i++) {
			struct rep *r = &S.reps[i];
			int st;
			if (r->owner != r->idx)
				continue;
			while (waitpid(r->pid, &st, 0) < 0 && errno == EINTR)
				;
			r->pid = 0;
			const char *tok = first_line(r->outp);
			if (decode_status(st) == 0 && *tok && strlen(tok) < sizeof(r->token)) {
				snprintf(r->token, sizeof(r->token), "%s", tok);
				continue;
			}
			if (h_daemon_user(&S.d, r->login, r->dept, "coordinateur", r->token))
				return -1;
		}
	}
	for (int i = 0; i < S.nrep; i++)
		memcpy(S.reps[i].token, S.reps[S.reps[i].owner].token, sizeof(S.reps[i].token));
	return 0;
}

static int setup_world(void)
{
	S.dir = h_setup();
	if (fp_start(&S.px, S.seed))
		return -1;
	snprintf(S.proxy_url, sizeof(S.proxy_url), "http://127.0.0.1:%d", S.px.port);
	if (ms_start(&S.ms, MS_SINK))
		return -1;
	S.dovecot_up = 1;
	char *help[] = { (char *)h_bin("relaisd"), (char *)"backup", (char *)"--help", NULL };
	S.backup_supported = h_runv(help, H_TIMEOUT_MS)->status == 0;
	if (h_daemon_init(&S.d, "serveur"))
		return -1;
	int nb = S.nrep >= 6 ? 2 : S.nrep >= 3 ? 1 : 0;
	for (int i = 0; i < S.nrep; i++) {
		struct rep *r = &S.reps[i];
		r->idx = i;
		r->dept = i >= S.nrep - nb ? DEPT_B : DEPT_A;
		r->row = -1;
		snprintf(r->login, sizeof(r->login), "coord%02d", i % 100);
		/* Up to four replicas of one département share an account, as one
		 * coordinator's laptop and office computer would. */
		int owner = i;
		while (owner > 0 && owner % 4 && !strcmp(S.reps[owner - 1].dept, r->dept))
			owner--;
		r->owner = owner;
		r->home = h_path(r->login);
		r->outp = h_strf("%s.out", r->home);
		r->errp = h_strf("%s.err", r->home);
	}
	if (setup_users())
		return -1;
	if (S.verbose)
		printf("soak: comptes créés (accounts made)\n");
	const char *conf = h_path("relaisd.conf");
	if (write_text(conf, h_strf("# written by relais-soak\n"
				    "[courrier]\n"
				    "departement = " DEPT_A "\n"
				    "adresse = " MS_ADDRESS "\n"
				    "nom = Promeneurs du Net de la Haute-Loire\n"
				    "imap_hote = 127.0.0.1\n"
				    "imap_port = %d\n"
				    "imap_tls = aucun\n"
				    "imap_utilisateur = " MS_USER "\n"
				    "imap_mot_de_passe_fichier = %s\n"
				    "intervalle = 1\n"
				    "smtp_url = %s\n"
				    "smtp_tls = aucun\n",
				    S.ms.imap_port, S.ms.passfile, S.ms.smtp_url)) ||
	    snprintf(S.d.config, sizeof(S.d.config), "%s", conf) >= (int)sizeof(S.d.config))
		return -1;
	return daemon_wait_up();
}

/*
 * Step n of a replica's setup: starts it, or returns 1 when there is none.
 * Every replica runs `init` (a bootstrap through the proxy, faults off);
 * the first of each département then makes the hot rows that everyone
 * will edit (two structures, one promeneur) and syncs them. The others
 * learn them at their first sync of the chaos.
 */
static int setup_step(struct rep *r, int n, int first)
{
	const char *sid = NULL;
	if (n == 0) {
		const char *a[] = { "init", "--server", S.proxy_url, "--token", r->token, NULL };
		return rep_start(r, OP_INIT, a);
	}
	if (!first || n > 4)
		return 1;
	if (n <= 2) {
		const char *a[] = { "structure", "add", "--nom", gen_text("Structure commune n°%ld"),
				    "--commune", gen_text("Commune %ld"), "--referent",
				    gen_text("Référent %ld"), NULL };
		r->add_table = "structure";
		return rep_start(r, OP_ADD, a);
	}
	if (n == 3) {
		for (size_t i = 0; i < S.nrows; i++)
			if (S.rows[i].creator == r->idx && S.rows[i].table == TABLES[0])
				sid = S.rows[i].id;
		const char *a[] = { "promeneur", "add", "--prenom", gen_text("Camille%ld"), "--nom",
				    gen_text("Commun%ld"), "--email", gen_email(), "--structure", sid,
				    "--fonction", gen_text("Fonction %ld"), NULL };
		r->add_table = "promeneur";
		return sid ? rep_start(r, OP_ADD, a) : -1;
	}
	const char *a[] = { "sync", NULL };
	return rep_start(r, OP_SYNC, a);
}

static int setup_replicas(void)
{
	int step[MAX_REPLICAS] = { 0 }, first[MAX_REPLICAS] = { 0 }, done[MAX_REPLICAS] = { 0 };
	int left = S.nrep;
	for (int i = 0; i < S.nrep; i++)
		first[i] = i == 0 || strcmp(S.reps[i - 1].dept, S.reps[i].dept);
	while (left) {
		int running = 0;
		for (int i = 0; i < S.nrep; i++) {
			struct rep *r = &S.reps[i];
			if (rep_poll(r)) {
				enum op_kind op = r->op;
				if (op_done(r))
					return -1;
				if (r->status != 0) {
					problem("mise en place du réplica %s impossible (replica setup "
						"failed): %s", r->login, first_line(r->errp));
					return -1;
				}
				if (op == OP_INIT) {
					r->ready = 1;
					r->pulled_tick = r->sync_tick;
				}
				if (op == OP_ADD && first[i])
					S.rows[S.nrows - 1].hot = 1;
				step[i]++;
			}
			running += r->pid != 0;
		}
		/* The first replicas go first: theirs is the longest chain. */
		for (int pass = 0; pass < 2; pass++)
			for (int i = 0; i < S.nrep && running < S.parallel; i++) {
				struct rep *r = &S.reps[i];
				if (done[i] || r->pid || first[i] != !pass)
					continue;
				int rc = setup_step(r, step[i], first[i]);
				if (rc < 0)
					return -1;
				if (rc > 0) {
					done[i] = 1;
					left--;
					continue;
				}
				running++;
			}
		sleep_ms(TICK_MS);
	}
	return 0;
}

/* ---- the chaos ---- */

static void progress(int64_t t0)
{
	printf("soak: [%3lds] modifications %ld, sync ok %ld / échouées %ld, pannes %ld, "
	       "kill -9 %ld, IMAP %ld, courriers %zu, sauvegardes %zu\n",
	       (long)((mono_ms() - t0) / 1000), S.edits_ok, S.syncs_ok,
	       S.syncs_failed + S.syncs_interrupted, fp_faults(&S.px), S.kills, S.imap_restarts,
	       S.nmsgs, S.nbackups);
	fflush(stdout);
}

static int chaos(void)
{
	int64_t t0 = mono_ms(), end = t0 + (int64_t)S.seconds * 1000;
	int64_t next_kill = t0 + rnd_between(2000, 7000), restart_at = 0;
	int64_t next_imap = t0 + rnd_between(3000, 10000), imap_back_at = 0;
	int64_t next_mail = t0 + rnd_between(200, 1500);
	int64_t next_backup = t0 + rnd_between(3000, 9000);
	int64_t next_progress = t0 + 10000;
	fp_set_faults(&S.px, 1);
	/* A short soak on a slow machine goes on (a bounded while) until it has
	 * seen at least one proxy fault and one kill, or it would prove little. */
	while (mono_ms() < end ||
	       ((!S.kills || !fp_faults(&S.px)) && mono_ms() < end + CHAOS_GRACE_MS)) {
		int64_t now = mono_ms();
		int running = 0;
		for (int i = 0; i < S.nrep; i++) {
			struct rep *r = &S.reps[i];
			if (rep_poll(r) && op_done(r))
				return -1;
			running += r->pid != 0;
		}
		for (int tries = 0; running < S.parallel && tries < 4; tries++) {
			struct rep *r = &S.reps[rnd(S.nrep)];
			if (r->pid)
				continue;
			if (start_random_op(r))
				return -1;
			/* Now and then a client is killed mid-command, as a closed
			 * laptop lid would: a sync must be safe to interrupt at any
			 * byte, an edit either saved whole or not at all. */
			if (rnd(100) < 4)
				r->kill_at = r->started + rnd_between(20, 1500);
			running++;
		}
		if (daemon_poll())
			return -1;
		if (S.daemon_up && now >= next_kill) {
			daemon_kill();
			S.kills++;
			restart_at = now + rnd_between(50, 1500);
		}
		if (!S.dpid && now >= restart_at) {
			if (daemon_spawn())
				return -1;
			next_kill = mono_ms() + rnd_between(2500, 8000);
		}
		if (S.dovecot_up && now >= next_imap) {
			ms_dovecot_stop(&S.ms);
			S.dovecot_up = 0;
			S.imap_restarts++;
			imap_back_at = mono_ms() + rnd_between(100, 2500);
		}
		if (!S.dovecot_up && now >= imap_back_at) {
			if (ms_dovecot_start(&S.ms)) {
				problem("Dovecot ne redémarre pas (Dovecot does not start again)");
				return -1;
			}
			S.dovecot_up = 1;
			next_imap = mono_ms() + rnd_between(4000, 12000);
		}
		if (now >= next_mail) {
			deliver_one();
			next_mail = mono_ms() + rnd_between(400, 2600);
		}
		backup_poll(0);
		if (S.backup_supported && S.daemon_up && !S.backup_pid && now >= next_backup) {
			backup_start();
			next_backup = mono_ms() + rnd_between(4000, 12000);
		}
		if (now >= next_progress) {
			progress(t0);
			next_progress += 10000;
		}
		sleep_ms(TICK_MS);
	}
	fp_set_faults(&S.px, 0);
	progress(t0);
	return 0;
}

/* ---- the end: faults off, sync until quiet ---- */

static int wait_all(void)
{
	for (;;) {
		int running = 0;
		for (int i = 0; i < S.nrep; i++) {
			struct rep *r = &S.reps[i];
			if (rep_poll(r) && op_done(r))
				return -1;
			running += r->pid != 0;
		}
		if (!running)
			return 0;
		sleep_ms(TICK_MS);
	}
}

/* One round: every replica syncs (a few at a time), retried a few times;
 * pending_only: only those with edits waiting. */
static int sync_round(int pending_only)
{
	int tries[MAX_REPLICAS] = { 0 }, done[MAX_REPLICAS] = { 0 };
	int left = S.nrep;
	/* A replica with nothing to push only needs the last round's pull. */
	for (int i = 0; pending_only && i < S.nrep; i++)
		if (outbox_pending(&S.reps[i]) == 0) {
			done[i] = 1;
			left--;
		}
	while (left) {
		int running = 0;
		for (int i = 0; i < S.nrep; i++) {
			struct rep *r = &S.reps[i];
			if (rep_poll(r)) {
				if (op_done(r))
					return -1;
				if (r->status == 0) {
					done[i] = 1;
					left--;
				} else if (tries[i] >= SYNC_RETRIES) {
					problem("%s ne se synchronise plus, fautes coupées (cannot sync "
						"with faults off): %s", r->login, first_line(r->errp));
					return -1;
				}
			}
			running += r->pid != 0;
		}
		for (int i = 0; i < S.nrep && running < S.parallel; i++) {
			struct rep *r = &S.reps[i];
			if (done[i] || r->pid)
				continue;
			const char *a[] = { "sync", NULL };
			tries[i]++;
			if (rep_start(r, OP_SYNC, a))
				return -1;
			running++;
		}
		/* The gateway works meanwhile: watch it here too. */
		if (S.mail_watch && mono_ms() >= S.mail_next_check) {
			long pending;
			S.mail_watch = !mail_settled(&pending);
			S.mail_next_check = mono_ms() + 500;
		}
		sleep_ms(TICK_MS);
	}
	return 0;
}

static long long server_seq(void)
{
	sqlite3 *db = open_db(server_db_path(), SQLITE_OPEN_READONLY);
	sqlite3_stmt *st = NULL;
	long long seq = -1;
	if (!db)
		return -1;
	if (sqlite3_prepare_v2(db, "SELECT value FROM sync_state WHERE key='seq'", -1, &st, NULL) ==
		    SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		seq = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return seq;
}

static int settle(void)
{
	int64_t t0 = mono_ms();
	long pending = 0;
	backup_poll(1);
	if (daemon_wait_up())
		return -1;
	if (!S.dovecot_up) {
		if (ms_dovecot_start(&S.ms)) {
			problem("Dovecot ne redémarre pas (Dovecot does not start again)");
			return -1;
		}
		S.dovecot_up = 1;
	}
	S.mail_watch = 1;
	if (wait_all() || sync_round(1))
		return -1;
	if (S.verbose)
		printf("soak: premier tour de synchronisation fini (first round done), %.1f s\n",
		       (double)(mono_ms() - t0) / 1000.0);
	while (S.mail_watch && !mail_settled(&pending)) {
		if (mono_ms() - t0 > MAIL_SETTLE_MS) {
			problem("%ld courrier(s) sans résultat final après %d s (messages without a "
				"final outcome)", pending, MAIL_SETTLE_MS / 1000);
			break;
		}
		sleep_ms(200);
	}
	if (S.verbose)
		printf("soak: courriers traités (mail settled), %.1f s\n",
		       (double)(mono_ms() - t0) / 1000.0);
	for (int round = 0; round < MAX_QUIET_ROUNDS; round++) {
		long long before = server_seq();
		if (sync_round(0))
			return -1;
		if (before >= 0 && server_seq() == before) {
			for (int i = 0; i < S.nrep; i++)
				if (outbox_pending(&S.reps[i]) != 0) {
					problem("%s garde des modifications en attente (pending edits left)",
						S.reps[i].login);
					return -1;
				}
			printf("soak: calme après %d tour(s) de synchronisation (quiet after %d rounds), "
			       "%.1f s\n", round + 2, round + 2, (double)(mono_ms() - t0) / 1000.0);
			return 0;
		}
	}
	problem("le serveur change encore après %d tours (server still changing)", MAX_QUIET_ROUNDS);
	return -1;
}

/* ---- checks ---- */

/* Rows of a table in the server's store (dept NULL: all): id -> row object. */
static json_t *load_rows(sqlite3 *db, const char *table, const char *dept)
{
	json_t *rows = json_object();
	sqlite3_stmt *st = NULL;
	char *sql = sqlite3_mprintf("SELECT * FROM \"%w\"%s ORDER BY id", table,
				    dept ? " WHERE dept = ?1" : "");
	if (!sql || sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		problem("table %s illisible (unreadable): %s", table, sqlite3_errmsg(db));
		goto out;
	}
	if (dept)
		sqlite3_bind_text(st, 1, dept, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *row = json_object();
		for (int i = 0; i < sqlite3_column_count(st); i++)
			json_object_set_new(row, sqlite3_column_name(st, i), column_json(st, i));
		json_object_set_new(rows, (const char *)sqlite3_column_text(st, 0), row);
	}
out:
	sqlite3_finalize(st);
	sqlite3_free(sql);
	return rows;
}

/* The replicated rows of a store for one département: table -> (id -> row),
 * for every model table and the conflicts. */
static json_t *load_store(sqlite3 *db, const char *dept)
{
	json_t *all = json_object();
	for (size_t i = 0; i <= model_ntables; i++) {
		const char *t = i < model_ntables ? model_table_names[i] : "sync_conflict";
		json_object_set_new(all, t, load_rows(db, t, dept));
	}
	return all;
}

/* Each replica's database holds exactly the server's rows of its
 * département (read directly: cheaper than an export per replica). */
static int check_replica_stores(sqlite3 *db)
{
	json_t *srv[2] = { load_store(db, DEPT_A), load_store(db, DEPT_B) };
	int rc = 0;
	for (int i = 0; i < S.nrep && !rc; i++) {
		struct rep *r = &S.reps[i];
		json_t *want = srv[strcmp(r->dept, DEPT_A) ? 1 : 0];
		sqlite3 *rdb = open_db(h_strf("%s/replica.db", r->home), SQLITE_OPEN_READONLY);
		if (!rdb) {
			rc = -1;
			break;
		}
		json_t *have = load_store(rdb, r->dept);
		sqlite3_close(rdb);
		if (!json_equal(have, want)) {
			const char *t;
			json_t *rows;
			rc = -1;
			json_object_foreach(want, t, rows) {
				json_t *hr = json_object_get(have, t);
				if (json_equal(hr, rows))
					continue;
				problem("divergence : la table %s de %s (%zu lignes) diffère du serveur "
					"(%zu lignes) (replica and server differ)", t, r->login,
					json_object_size(hr), json_object_size(rows));
				break;
			}
		}
		json_decref(have);
	}
	json_decref(srv[0]);
	json_decref(srv[1]);
	if (!rc)
		printf("soak: les %d réplicas ont les lignes du serveur (every replica holds the "
		       "server's rows)\n", S.nrep);
	return rc;
}

/* The first two replicas of each département give byte-identical
 * `export --json`, equal to the server's rows. */
static int check_exports(sqlite3 *db)
{
	const char *depts[2] = { DEPT_A, DEPT_B };
	const char *a[] = { "export", "--json", NULL };
	int chosen[MAX_REPLICAS] = { 0 }, per[2] = { 0, 0 };
	int next = 0, running = 0;
	for (int i = 0; i < S.nrep; i++) {
		int k = strcmp(S.reps[i].dept, DEPT_A) ? 1 : 0;
		if (per[k] < 2) {
			chosen[i] = 1;
			per[k]++;
		}
	}
	while (next < S.nrep || running) {
		for (int i = 0; i < S.nrep; i++) {
			struct rep *r = &S.reps[i];
			if (!rep_poll(r))
				continue;
			running--;
			if (op_done(r) || r->status != 0) {
				problem("export --json a échoué pour %s : %s", r->login, first_line(r->errp));
				return -1;
			}
		}
		for (; next < S.nrep && running < S.parallel; next++) {
			if (!chosen[next])
				continue;
			if (rep_start(&S.reps[next], OP_EXPORT, a))
				return -1;
			running++;
		}
		sleep_ms(TICK_MS);
	}
	for (int k = 0; k < 2; k++) {
		const char *ref = NULL, *ref_login = NULL;
		for (int i = 0; i < S.nrep; i++) {
			struct rep *r = &S.reps[i];
			if (!chosen[i] || strcmp(r->dept, depts[k]))
				continue;
			size_t len = 0;
			const char *text = h_read_file(r->outp, &len);
			if (!text) {
				problem("export de %s illisible (unreadable export)", r->login);
				return -1;
			}
			if (!ref) {
				ref = text;
				ref_login = r->login;
			} else if (strcmp(ref, text)) {
				problem("divergence : les exports de %s et %s diffèrent (replicas diverge)",
					ref_login, r->login);
				return -1;
			}
		}
		if (!ref)
			continue;
		json_error_t e;
		json_t *exp = json_loads(ref, 0, &e);
		const char *table;
		json_t *arr;
		if (!json_is_object(exp)) {
			problem("export de %s : JSON invalide (%s)", ref_login, e.text);
			json_decref(exp);
			return -1;
		}
		json_object_foreach(exp, table, arr) {
			json_t *srv = load_rows(db, table, depts[k]);
			size_t i;
			json_t *row;
			int bad = json_array_size(arr) != json_object_size(srv);
			json_array_foreach(arr, i, row) {
				const char *id = json_string_value(json_object_get(row, "id"));
				if (!id || !json_equal(row, json_object_get(srv, id)))
					bad = 1;
			}
			json_decref(srv);
			if (bad) {
				problem("export : la table %s du département %s diffère du serveur "
					"(export and server differ)", table, depts[k]);
				json_decref(exp);
				return -1;
			}
		}
		json_decref(exp);
		printf("soak: département %s : exports identiques entre eux et au serveur (exports "
		       "converge)\n", depts[k]);
	}
	return 0;
}

/* Conflicts of the store: "tbl|row|col" -> array of lost values (valeur),
 * "tbl|row|" -> array of lost rows (suppression). */
static json_t *load_conflicts(sqlite3 *db, long *count)
{
	json_t *idx = json_object();
	sqlite3_stmt *st = NULL;
	*count = 0;
	if (sqlite3_prepare_v2(db, "SELECT tbl, row_id, col, kind, lost FROM sync_conflict", -1, &st,
			       NULL) != SQLITE_OK) {
		problem("sync_conflict illisible (unreadable): %s", sqlite3_errmsg(db));
		goto out;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *tbl = (const char *)sqlite3_column_text(st, 0);
		const char *rid = (const char *)sqlite3_column_text(st, 1);
		const char *col = (const char *)sqlite3_column_text(st, 2);
		const char *kind = (const char *)sqlite3_column_text(st, 3);
		const char *lost = (const char *)sqlite3_column_text(st, 4);
		int supp = kind && !strcmp(kind, "suppression");
		char *key = NULL;
		if (asprintf(&key, "%s|%s|%s", tbl ? tbl : "", rid ? rid : "",
			     supp ? "" : col ? col : "") < 0)
			exit(3);
		json_t *arr = json_object_get(idx, key);
		if (!arr) {
			arr = json_array();
			json_object_set_new(idx, key, arr);
		}
		json_t *v = lost ? json_loads(lost, JSON_DECODE_ANY, NULL) : NULL;
		json_array_append_new(arr, v ? v : json_null());
		free(key);
		(*count)++;
	}
out:
	sqlite3_finalize(st);
	return idx;
}

static char *col_key(const char *table, const char *id, const char *col, const json_t *v)
{
	char *vk = json_key(v), *key = NULL;
	if (asprintf(&key, "%s|%s|%s|%s", table, id, col, vk) < 0)
		exit(3);
	free(vk);
	return key;
}

/* Old values that edits replaced knowingly: "tbl|id|col|value" for each
 * column an UPDATE changed and each column of a deleted row. */
static json_t *load_superseded(void)
{
	json_t *idx = json_object();
	for (size_t i = 0; i < S.nledger; i++) {
		const struct change *c = &S.ledger[i];
		const char *col;
		json_t *v;
		if (c->op == SQLITE_INSERT)
			continue;
		json_object_foreach(c->old, col, v) {
			if (!strcmp(col, "id"))
				continue;
			if (c->op == SQLITE_UPDATE && !json_object_get(c->new, col))
				continue;
			char *key = col_key(c->table, c->id, col, v);
			json_object_set_new(idx, key, json_integer((json_int_t)i));
			free(key);
		}
	}
	return idx;
}

/* Whether row_id has a sync_row entry; *deleted receives its flag. */
static int sync_row_state(sqlite3 *db, const char *table, const char *id, int *deleted,
			  const void **clocks, int *nclocks, sqlite3_stmt **keep)
{
	sqlite3_stmt *st = *keep;
	if (!st && sqlite3_prepare_v2(db, "SELECT deleted, clocks FROM sync_row WHERE tbl=?1 AND id=?2",
				      -1, &st, NULL) != SQLITE_OK)
		return 0;
	*keep = st;
	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, table, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_ROW)
		return 0;
	*deleted = sqlite3_column_int(st, 0);
	if (clocks) {
		*clocks = sqlite3_column_blob(st, 1);
		*nclocks = sqlite3_column_bytes(st, 1);
	}
	return 1;
}

/*
 * Every saved change is accounted for (docs/soak.md): a generated value is
 * in the final row, or is a conflict's losing value, or was replaced by an
 * edit whose author had it (that edit's old value); a saved deletion left
 * no live row; a saved creation left a row or a tombstone.
 */
static void check_edits(sqlite3 *db, long *nconflicts)
{
	json_t *live[2] = { load_rows(db, TABLES[0], NULL), load_rows(db, TABLES[1], NULL) };
	json_t *conf = load_conflicts(db, nconflicts);
	json_t *sup = load_superseded();
	sqlite3_stmt *keep = NULL;
	long checked = 0, in_final = 0, as_conflict = 0, superseded = 0;
	for (size_t i = 0; i < S.nledger; i++) {
		const struct change *c = &S.ledger[i];
		json_t *rows = live[c->table == TABLES[0] ? 0 : 1];
		json_t *row = json_object_get(rows, c->id);
		int deleted = 0;
		if (!c->saved || (c->table != TABLES[0] && c->table != TABLES[1]))
			continue;
		if (c->op == SQLITE_DELETE) {
			checked++;
			if (row)
				loss("suppression perdue (lost deletion): %s %s, %s", c->table, c->id,
				     S.reps[c->rep].login);
			continue;
		}
		/* A created row is live, or was deleted (a tombstone). */
		if (c->op == SQLITE_INSERT && !row &&
		    !(sync_row_state(db, c->table, c->id, &deleted, NULL, NULL, &keep) && deleted)) {
			loss("ligne créée perdue (lost row): %s %s, %s", c->table, c->id,
			     S.reps[c->rep].login);
			continue;
		}
		const char *col;
		json_t *v;
		json_object_foreach(c->new, col, v) {
			if (!gen_has(v))
				continue;
			checked++;
			if (row && json_equal(json_object_get(row, col), v)) {
				in_final++;
				continue;
			}
			char *key = col_key(c->table, c->id, col, v);
			int ok = json_object_get(sup, key) != NULL;
			free(key);
			if (ok) {
				superseded++;
				continue;
			}
			char *ck = NULL;
			if (asprintf(&ck, "%s|%s|%s", c->table, c->id, col) < 0)
				exit(3);
			json_t *arr = json_object_get(conf, ck);
			size_t k;
			json_t *lost;
			json_array_foreach(arr, k, lost)
				if (json_equal(lost, v))
					ok = 1;
			free(ck);
			if (asprintf(&ck, "%s|%s|", c->table, c->id) < 0)
				exit(3);
			arr = json_object_get(conf, ck);
			json_array_foreach(arr, k, lost)
				if (json_equal(json_object_get(lost, col), v))
					ok = 1;
			free(ck);
			if (ok) {
				as_conflict++;
				continue;
			}
			char *vs = json_key(v);
			char *fs = json_key(row ? json_object_get(row, col) : json_null());
			loss("modification perdue (lost edit): %s %s.%s = %s (%s, hlc %llu), valeur finale "
			     "%s%s", c->table, c->id, col, vs, S.reps[c->rep].login,
			     (unsigned long long)c->hlc, fs, row ? "" : " (ligne supprimée)");
			free(vs);
			free(fs);
		}
	}
	printf("soak: %ld valeurs vérifiées (values checked): %ld dans l'état final, %ld perdantes "
	       "de conflits, %ld remplacées en connaissance de cause\n",
	       checked, in_final, as_conflict, superseded);
	sqlite3_finalize(keep);
	json_decref(live[0]);
	json_decref(live[1]);
	json_decref(conf);
	json_decref(sup);
}

/* Every delivered message has exactly one journal row, with a final outcome. */
static void check_mail(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	long bad = 0;
	json_t *outcomes = json_object();
	if (sqlite3_prepare_v2(db, "SELECT count(*), min(resultat), max(resultat) FROM inbound_mail "
			       "WHERE message_id = ?1", -1, &st, NULL) != SQLITE_OK) {
		problem("inbound_mail illisible (unreadable): %s", sqlite3_errmsg(db));
		json_decref(outcomes);
		return;
	}
	for (size_t i = 0; i < S.nmsgs; i++) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, S.msgs[i].msgid, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_ROW)
			continue;
		long n = sqlite3_column_int64(st, 0);
		const char *res = (const char *)sqlite3_column_text(st, 1);
		if (n != 1 || !res || !strcmp(res, "en_cours")) {
			if (bad++ < MAX_LOSS_SHOWN)
				fprintf(stderr, "soak: courrier <%s> : %ld ligne(s) au journal, résultat %s\n",
					S.msgs[i].msgid, n, res ? res : "aucun");
			continue;
		}
		json_t *cnt = json_object_get(outcomes, res);
		json_object_set_new(outcomes, res, json_integer(cnt ? json_integer_value(cnt) + 1 : 1));
	}
	sqlite3_finalize(st);
	if (bad) {
		S.losses += bad;
		problem("%ld courrier(s) sans exactement un résultat au journal (messages without "
			"exactly one outcome)", bad);
	}
	printf("soak: courriers livrés %zu (formulaires %ld, déchets %ld) ; résultats :", S.nmsgs,
	       S.mails_forms, S.mails_garbage);
	const char *k;
	json_t *v;
	json_object_foreach(outcomes, k, v)
		printf(" %s %lld", k, (long long)json_integer_value(v));
	printf("\n");
	json_decref(outcomes);
}

static uint64_t get_u64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

/* The stamp of column col in a clocks blob (docs/sync.md: a row stamp, then
 * varint column index, u64 hlc, u64 node for each column that differs). */
static int clocks_stamp(const unsigned char *p, size_t n, int col, uint64_t *hlc, uint64_t *node)
{
	size_t o = 16;
	if (!p || n < 16)
		return -1;
	*hlc = get_u64(p);
	*node = get_u64(p + 8);
	while (o < n) {
		uint64_t j = 0;
		for (int shift = 0;; shift += 7) {
			if (o >= n || shift > 28)
				return -1;
			j |= (uint64_t)(p[o] & 0x7f) << shift;
			if (!(p[o++] & 0x80))
				break;
		}
		if (n - o < 16)
			return -1;
		if (j == (uint64_t)col) {
			*hlc = get_u64(p + o);
			*node = get_u64(p + o + 8);
		}
		o += 16;
	}
	return 0;
}

static int column_index(sqlite3 *db, const char *table, const char *col)
{
	sqlite3_stmt *st = NULL;
	int cid = -1;
	if (sqlite3_prepare_v2(db, "SELECT cid FROM pragma_table_info(?1) WHERE name = ?2", -1, &st,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, col, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			cid = sqlite3_column_int(st, 0);
	}
	sqlite3_finalize(st);
	return cid;
}

/* Restores one backup into a fresh directory and checks it holds every
 * change acknowledged before it began (or a later version of its column). */
static void check_backup(const struct backup *b, int k)
{
	const char *dir = h_path(h_strf("restauration-%d", k));
	char *argv[] = { (char *)h_bin("relaisd"), (char *)"restore", (char *)"--from",
			 (char *)b->file, (char *)"--data", (char *)dir, NULL };
	struct h_out *o = h_runv(argv, H_TIMEOUT_MS);
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL, *keep = NULL;
	long missing = 0;
	json_t *live[2] = { NULL, NULL };
	if (o->status != 0) {
		problem("restauration impossible (restore failed): `%s` : %d : %.300s", o->cmd, o->status,
			o->err);
		return;
	}
	db = open_db(h_strf("%s/relais.db", dir), SQLITE_OPEN_READONLY);
	if (!db) {
		problem("sauvegarde %s : base restaurée illisible (restored store unreadable)", b->file);
		return;
	}
	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(st, 0), "ok")) {
		problem("sauvegarde %s : integrity_check n'est pas « ok » (%s)", b->file,
			st ? (const char *)sqlite3_column_text(st, 0) : sqlite3_errmsg(db));
		goto out;
	}
	live[0] = load_rows(db, TABLES[0], NULL);
	live[1] = load_rows(db, TABLES[1], NULL);
	for (size_t i = 0; i < b->nnoted; i++) {
		const struct change *c = &S.ledger[b->noted[i]];
		if (c->table != TABLES[0] && c->table != TABLES[1])
			continue;
		json_t *row = json_object_get(live[c->table == TABLES[0] ? 0 : 1], c->id);
		const void *clk = NULL;
		int nclk = 0, deleted = 0;
		int known = sync_row_state(db, c->table, c->id, &deleted, &clk, &nclk, &keep);
		if (c->op == SQLITE_DELETE) {
			if (row) {
				loss("sauvegarde %d : suppression acquittée absente (acknowledged deletion "
				     "missing): %s %s", k, c->table, c->id);
				missing++;
			}
			continue;
		}
		if (!known) {
			loss("sauvegarde %d : ligne acquittée absente (acknowledged row missing): %s %s", k,
			     c->table, c->id);
			missing++;
			continue;
		}
		if (deleted)
			continue;
		if (!row) {
			loss("sauvegarde %d : ligne acquittée absente (acknowledged row missing): %s %s", k,
			     c->table, c->id);
			missing++;
			continue;
		}
		const char *col;
		json_t *v;
		json_object_foreach(c->new, col, v) {
			uint64_t hlc = 0, node = 0;
			int cid = column_index(db, c->table, col);
			if (row && json_equal(json_object_get(row, col), v))
				continue;
			if (cid >= 0 && clocks_stamp(clk, (size_t)nclk, cid, &hlc, &node) == 0 &&
			    sync_hlc_cmp(hlc, node, c->hlc, c->node) > 0)
				continue;
			loss("sauvegarde %d : modification acquittée absente (acknowledged edit missing): "
			     "%s %s.%s (%s)", k, c->table, c->id, col, S.reps[c->rep].login);
			missing++;
		}
	}
	if (!missing) {
		S.backups_restored++;
		printf("soak: sauvegarde %d restaurée : intègre, %zu modifications acquittées présentes\n",
		       k, b->nnoted);
	}
out:
	json_decref(live[0]);
	json_decref(live[1]);
	sqlite3_finalize(keep);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static int usage(FILE *f, int rc)
{
	fprintf(f, "usage : relais-soak [--secondes N] [--replicas N] [--graine N] "
		"[--parallele N] [--bavard]\n"
		"Le soak met relaisd, la passerelle courrier et N réplicas à l'épreuve des pannes "
		"(voir docs/soak.md).\n");
	return rc;
}

/* Fills S from the command line: 0, 2 (after the usage) when it is wrong,
 * -1 for --help. */
static int parse_args(int argc, char **argv)
{
	S.seconds = 300;
	S.nrep = 20;
	S.parallel = 3;
	S.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
	for (int i = 1; i < argc; i++) {
		long long v;
		const char *a = argv[i];
		if (!strcmp(a, "--bavard")) {
			S.verbose = 1;
			continue;
		}
		if (!strcmp(a, "--help") || !strcmp(a, "-h"))
			return -1;
		if (i + 1 >= argc)
			return usage(stderr, 2);
		const char *val = argv[++i];
		if (!strcmp(a, "--secondes") && !util_parse_ll(val, 1, 86400, &v))
			S.seconds = (int)v;
		else if (!strcmp(a, "--replicas") && !util_parse_ll(val, 2, MAX_REPLICAS, &v))
			S.nrep = (int)v;
		else if (!strcmp(a, "--parallele") && !util_parse_ll(val, 1, 16, &v))
			S.parallel = (int)v;
		else if (!strcmp(a, "--graine") && !util_parse_ll(val, 0, 0x7fffffffffffffffLL, &v))
			S.seed = (uint64_t)v;
		else
			return usage(stderr, 2);
	}
	S.seed &= 0x7fffffffffffffffull;
	return 0;
}

int main(int argc, char **argv)
{
	int64_t t0 = mono_ms();
	int rc = parse_args(argc, argv);
	long nconflicts = 0;
	sqlite3 *db = NULL;
	if (rc < 0)
		return usage(stdout, 0);
	if (rc)
		return rc;
	setvbuf(stdout, NULL, _IOLBF, 0);
	rng_state = S.seed;
	S.gen = json_object();
	S.columns = json_object();
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("soak: graine %llu (rejouer / replay: --graine %llu), %d réplicas, %d s\n",
	       (unsigned long long)S.seed, (unsigned long long)S.seed, S.nrep, S.seconds);
	if (setup_world() || setup_replicas()) {
		fprintf(stderr, "soak: mise en place impossible (setup failed)\n");
		rc = 3;
		goto out;
	}
	if (!S.backup_supported)
		printf("soak: `relaisd backup` absent de ce build : pas de sauvegardes "
		       "(no backup command in this build)\n");
	printf("soak: en place en %.1f s ; pannes activées (faults on)\n",
	       (double)(mono_ms() - t0) / 1000.0);
	if (chaos() || settle()) {
		rc = 1;
		goto report;
	}
	if (daemon_stop() != 0)
		problem("relaisd ne s'arrête pas proprement sur SIGTERM (no clean stop)");
	db = open_db(server_db_path(), SQLITE_OPEN_READONLY);
	if (!db) {
		rc = 1;
		goto report;
	}
	/* Every check runs even when an earlier one failed: each says something. */
	check_replica_stores(db);
	check_exports(db);
	check_edits(db, &nconflicts);
	check_mail(db);
	for (size_t i = S.nbackups > 2 ? S.nbackups - 2 : 0; i < S.nbackups; i++)
		check_backup(&S.backups[i], (int)i + 1);
report:
	printf("soak: bilan après %.1f s (summary)\n", (double)(mono_ms() - t0) / 1000.0);
	printf("  modifications enregistrées (edits saved) %ld, refusées %ld, interrompues %ld, "
	       "gardées malgré un échec %ld\n", S.edits_ok, S.edits_refused, S.edits_interrupted,
	       S.saved_on_failure);
	printf("  synchronisations (syncs) ok %ld, échouées %ld, interrompues %ld\n", S.syncs_ok,
	       S.syncs_failed, S.syncs_interrupted);
	printf("  proxy : connexions %ld, intactes %ld, retardées %ld, coupées %ld, requêtes "
	       "tronquées %ld, réponses tronquées %ld, serveur absent %ld\n",
	       fp_count(&S.px, FP_CONN), fp_count(&S.px, FP_PASS), fp_count(&S.px, FP_DELAY),
	       fp_count(&S.px, FP_DROP), fp_count(&S.px, FP_TRUNC_UP), fp_count(&S.px, FP_TRUNC_DOWN),
	       fp_count(&S.px, FP_DOWN));
	printf("  relaisd kill -9 %ld, redémarrages IMAP %ld, conflits %ld, courriers %zu, "
	       "sauvegardes %zu (restaurées et vérifiées %ld)\n", S.kills, S.imap_restarts,
	       nconflicts, S.nmsgs, S.nbackups, S.backups_restored);
	printf("compteurs: edits=%ld syncs_ok=%ld syncs_echouees=%ld fautes=%ld kills=%ld imap=%ld "
	       "conflits=%ld messages=%zu sauvegardes=%zu pertes=%ld problemes=%ld\n",
	       S.edits_ok, S.syncs_ok, S.syncs_failed + S.syncs_interrupted, fp_faults(&S.px),
	       S.kills, S.imap_restarts, nconflicts, S.nmsgs, S.nbackups, S.losses, S.problems);
	if (S.verbose) {
		static const char *const names[] = { "-", "init", "sync", "add", "set", "rm", "export" };
		printf("  durée moyenne des commandes (mean command time):");
		for (int k = OP_INIT; k <= OP_EXPORT; k++)
			if (S.op_n[k])
				printf(" %s %ld ms (%ld)", names[k], (long)(S.op_ms[k] / S.op_n[k]), S.op_n[k]);
		printf("\n");
	}
	if (S.losses || S.problems) {
		if (S.losses > MAX_LOSS_SHOWN)
			fprintf(stderr, "soak: (%ld pertes, les %d premières montrées)\n", S.losses,
				MAX_LOSS_SHOWN);
		printf("soak: ÉCHEC — %ld perte(s), %ld problème(s) ; rejouer avec --graine %llu "
		       "(FAILURE: loss or divergence)\n", S.losses, S.problems,
		       (unsigned long long)S.seed);
		h_daemon_dump_log(&S.d);
		rc = 1;
	} else if (rc == 0) {
		printf("soak: OK — aucune perte, réplicas convergents (no loss, replicas converge)\n");
	}
out:
	sqlite3_close(db);
	for (int i = 0; i < S.nrep; i++)
		if (S.reps[i].pid > 0) {
			kill(S.reps[i].pid, SIGKILL);
			while (waitpid(S.reps[i].pid, NULL, 0) < 0 && errno == EINTR)
				;
		}
	daemon_kill();
	backup_poll(1);
	free(S.pending_backup.noted);
	fp_stop(&S.px);
	run_deferred();
	for (size_t i = 0; i < S.nledger; i++) {
		json_decref(S.ledger[i].old);
		json_decref(S.ledger[i].new);
	}
	for (size_t i = 0; i < S.nbackups; i++)
		free(S.backups[i].noted);
	free(S.ledger);
	free(S.rows);
	free(S.msgs);
	free(S.backups);
	json_decref(S.gen);
	json_decref(S.columns);
	return rc;
}
