/*
 * harness.h - the end-to-end test harness (prefix h_).
 *
 * Runs the real programs: relaisd on 127.0.0.1 in a temporary directory,
 * relais replicas in sub-directories of it, a cutting TCP proxy and a raw
 * HTTP client for hostile input. The binaries come from $RELAIS_BINDIR
 * (set by `make test`), else ./build.
 *
 * Every test starts with h_setup(). From then on the harness owns what it
 * starts and allocates: one cleanup registered with test_defer() kills every
 * process still running (SIGKILL), frees every string and JSON value handed
 * out by h_* functions and removes the directory (kept when
 * RELAIS_TEST_KEEP=1, for debugging). Callers never free h_* results.
 *
 * Functions returning int return 0 or -1; on -1 they have already printed
 * why on stderr (command, exit status, the program's stderr).
 */
#ifndef RELAIS_TEST_HARNESS_H
#define RELAIS_TEST_HARNESS_H

#include <stddef.h>
#include <sys/types.h>
#include <jansson.h>
#include "../common/buf.h"

#define H_PATH 512
#define H_TOKEN 256

/* Default time limit of one program run, generous for sanitizer builds. */
#define H_TIMEOUT_MS 30000

/* Makes the per-test directory and registers the cleanup. Returns its path
 * (static; valid until the test ends). Calling it twice is a programming error. */
const char *h_setup(void);
/* A string owned by the harness: printf-formatted, freed at cleanup. */
char *h_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* h_strf("%s/%s", test directory, name). */
char *h_path(const char *name);
/* Reads a whole file into a harness-owned NUL-terminated string, NULL when absent. */
char *h_read_file(const char *path, size_t *len);

/* ---- processes ---- */

/* The outcome of a finished run. status: the exit code; 128+N when killed
 * by signal N; -1 when it could not start or passed its time limit. */
struct h_out {
	int status;
	char *out;      /* stdout, NUL-terminated, harness-owned */
	size_t outlen;
	char *err;      /* stderr, likewise */
	size_t errlen;
	char *cmd;      /* the command line, for messages */
};

/* Runs argv (argv[0] a path) with stdin from /dev/null, stdout and stderr
 * captured, within timeout_ms. Never NULL; harness-owned. */
struct h_out *h_runv(char *const argv[], int timeout_ms);
/* Runs `relais --dossier HOME args...` (NULL-terminated). */
struct h_out *h_relais(const char *home, ...) __attribute__((sentinel));
/* Like h_relais, with input written to its stdin (NULL: /dev/null, as for
 * every other run) and env, NULL-terminated "NAME=value" strings (or NULL),
 * added to its environment. RELAIS_TOKEN is never inherited from the runner. */
struct h_out *h_relais_with(const char *home, const char *input, const char *const *env, ...)
	__attribute__((sentinel));
/* Like h_relais but expects exit 0: returns stdout without its trailing
 * newline, or NULL (after printing the command and its stderr). */
const char *h_relais_ok(const char *home, ...) __attribute__((sentinel));
/* Starts `relais --home HOME args...` in the background, stdout and stderr
 * to files in the test directory. Returns the pid, or -1. */
pid_t h_relais_spawn(const char *home, ...) __attribute__((sentinel));
/* A running `relais ui`. */
struct h_ui {
	pid_t pid;
	int port;
	char url[256];          /* http://127.0.0.1:PORT/?cle=SECRET */
	char secret[128];
	char err[H_PATH];       /* its stderr file */
};
/* Starts `relais --home HOME ui --no-browser --port 0` and waits (within
 * H_TIMEOUT_MS) for the one line it prints, "Relais est ouvert :
 * http://127.0.0.1:PORT/?cle=SECRET", into u. -1 when it ends, prints
 * anything else or more than that line, or says nothing in time. */
int h_ui_start(const char *home, struct h_ui *u);

/* Waits for a process the harness started: its status as in h_out, -1 on
 * timeout (the process is left running; cleanup kills it). */
int h_wait(pid_t pid, int timeout_ms);
/* SIGKILLs a process the harness started and reaps it. */
void h_kill(pid_t pid);

/* The path of a program: $RELAIS_BINDIR/name or ./build/name. Harness-owned. */
const char *h_bin(const char *name);

/* ---- the daemon ---- */

struct h_daemon {
	char data[H_PATH];      /* the store directory */
	char portfile[H_PATH];
	char log[H_PATH];       /* stdout and stderr of serve */
	pid_t pid;              /* 0 when not running */
	int port;
	char url[64];           /* http://127.0.0.1:PORT */
	int starts;
	char config[H_PATH];    /* when not empty, serve gets --config FILE (set it
				   after h_daemon_init, which clears d) */
	unsigned long nofile;   /* when not 0, serve runs with both open-files
				   limits (soft and hard) at this value; likewise */
};

/* `relaisd init --data <test dir>/name`. */
int h_daemon_init(struct h_daemon *d, const char *name);
/* `relaisd user add`: writes the printed token into token (H_TOKEN bytes)
 * and checks it is alone on one line. */
int h_daemon_user(struct h_daemon *d, const char *login, const char *dept,
		  const char *role, char token[H_TOKEN]);
/* h_daemon_init(), then three coordinators of département 65, coord-a,
 * coord-b and coord-c, whose tokens go to ta, tb and tc. */
int h_daemon_coords(struct h_daemon *d, const char *name, char ta[H_TOKEN], char tb[H_TOKEN],
		    char tc[H_TOKEN]);
/* `relaisd serve --listen 127.0.0.1:0 --port-file F [--config C]`, then waits for F and
 * for GET /v1/health to answer 200. Works again after a stop or a kill
 * (same store, a new port). */
int h_daemon_serve(struct h_daemon *d);
/* SIGTERM and wait: returns the exit status as in h_out (-1 on timeout). */
int h_daemon_stop(struct h_daemon *d);
/* SIGKILL and reap. */
void h_daemon_kill(struct h_daemon *d);
/* 1 when the daemon is still running and GET /v1/health answers 200. */
int h_daemon_healthy(const struct h_daemon *d);
/* init + serve. */
int h_daemon_start(struct h_daemon *d, const char *name);
/* Prints the tail of the daemon's log on stderr (for failure messages). */
void h_daemon_dump_log(const struct h_daemon *d);
/* Waits up to timeout_ms for needle to appear in the daemon's log: 1 when
 * it did, else 0. */
int h_daemon_log_has(const struct h_daemon *d, const char *needle, int timeout_ms);

/*
 * A fingerprint of the authoritative store, read directly from the database
 * file: the SHA-256 of every row of every model table and of sync_conflict,
 * in id order, and the server's seq for each of the listed départements.
 * Two equal fingerprints mean no replicated data changed. Harness-owned.
 */
const char *h_store_fingerprint(const struct h_daemon *d, const char *const *depts, size_t n);

/* ---- replicas ---- */

/* `relais --home <test dir>/name init --server URL --token T`; returns the home path. */
const char *h_replica(const struct h_daemon *d, const char *name, const char *token);
/* `relais --home HOME sync --server <d's url>` expecting exit 0. */
int h_sync(const char *home, const struct h_daemon *d);
/* `export --json`: the raw text (harness-owned) or NULL. */
const char *h_export_text(const char *home);
/* `export --json` parsed; NULL on failure. */
json_t *h_export(const char *home);
/* Rows of table in an export (0 when absent). */
size_t h_export_count(json_t *exp, const char *table);
/* The row of table with this id in an export, or NULL. */
/* The first row of table in exp whose text column col is val (NULL when
 * none); *count (may be NULL) gets how many rows are. */
json_t *h_export_where(json_t *exp, const char *table, const char *col, const char *val,
		       size_t *count);
json_t *h_export_row(json_t *exp, const char *table, const char *id);
/* A string column of a row, or NULL (also for JSON null). */
const char *h_row_str(json_t *row, const char *col);
/* `conflicts --json [--all]` parsed (an array) or NULL. */
json_t *h_conflicts(const char *home, int all);
/* `status --json` parsed or NULL. */
json_t *h_status(const char *home);
/* Parses JSON text into a harness-owned value; NULL (with a message) when invalid. */
json_t *h_json(const char *text, size_t len);

/* ---- raw HTTP ---- */

struct h_http {
	int status;       /* 0 when no status line came back */
	char *head;       /* status line and headers, harness-owned */
	char *body;       /* harness-owned, NUL-terminated */
	size_t bodylen;
};

/* Sends len bytes to 127.0.0.1:port and reads one response (until the
 * connection closes or Content-Length is reached). Sending stops early when
 * the server answers first. Returns 0 when a status line was read. */
int h_http_raw(int port, const void *req, size_t len, struct h_http *r, int timeout_ms);
/* Builds a request with Host, Connection: close, Content-Length (for a
 * body), "Authorization: Bearer token" when token is not NULL and the extra
 * header lines (each ending in \r\n) when not NULL, then h_http_raw. */
int h_http(int port, const char *method, const char *path, const char *token,
	   const char *extra, const void *body, size_t bodylen, struct h_http *r);
/* Checks a JSON error answer {"error": code, "message": non-empty}; code
 * NULL accepts any. Returns 0 or -1 with a message. */
int h_http_error_json(const struct h_http *r, const char *code);

/* ---- the cutting proxy ---- */

enum h_proxy_mode {
	H_PROXY_PASS,        /* forward everything; measure the matched request */
	H_PROXY_CUT,         /* forward n bytes of the matched request, then close both sides */
	H_PROXY_CUT_REPLY,   /* forward the matched request, close before its answer */
	H_PROXY_STALL,       /* forward n bytes of the matched request, then hold the connection */
	H_PROXY_STALL_REPLY  /* forward the matched request, hold its answer */
};

struct h_proxy {
	pid_t pid;
	int port;
	char url[64];
	char stats[H_PATH];
};

/*
 * Starts a proxy (a forked child) on 127.0.0.1 forwarding to target_port.
 * The matched request is the first one whose bytes start with match (e.g.
 * "POST /v1/push"). After a cut the proxy refuses every new connection, as
 * a network that went down. h_proxy_event() reports what happened.
 */
int h_proxy_start(struct h_proxy *p, int target_port, const char *match,
		  enum h_proxy_mode mode, long n);
/* Flags of h_proxy_start_flags(). */
enum {
	/* After a cut, later connections are forwarded again (nothing more is
	 * cut): a connection dropped once, as when a server kicks its clients,
	 * for a client that reconnects to the same port. */
	H_PROXY_REOPEN = 1
};
/* h_proxy_start with flags (0 is h_proxy_start). */
int h_proxy_start_flags(struct h_proxy *p, int target_port, const char *match,
			enum h_proxy_mode mode, long n, int flags);
/* Waits until the proxy has acted (cut, stalled, or for PASS: seen the
 * answer start) or timeout_ms passes. *reqlen: bytes of the matched request
 * forwarded before its answer started (PASS), else what was forwarded.
 * Returns 0 when the event happened. */
int h_proxy_event(struct h_proxy *p, long *reqlen, int timeout_ms);
void h_proxy_stop(struct h_proxy *p);

/* ---- a session of relais ui, as a browser holds it ---- */

struct h_uip {
	pid_t pid;
	int port;
	char secret[128];
	char cookie[256];   /* "NAME=VALUE", as the login set it */
	char csrf[128];
	char err[H_PATH];   /* its stderr */
};

/* Starts relais ui on home, logs in with its secret (the cookie) and reads
 * the CSRF token of its pages. */
int h_uip_open(const char *home, struct h_uip *u);
/* A request with the session's Host and cookie; form (urlencoded, the CSRF
 * field added here) makes it a POST. */
int h_uip_send(struct h_uip *u, const char *method, const char *path, const char *form,
	       struct h_http *r);
int h_uip_get(struct h_uip *u, const char *path, struct h_http *r);
int h_uip_post(struct h_uip *u, const char *path, const char *form, struct h_http *r);
/* SIGTERM; 0 when it ended cleanly, with no sanitizer report. */
int h_uip_close(struct h_uip *u);
/* The value of header name in an answer's head, or NULL (harness-owned). */
const char *h_http_header(const struct h_http *r, const char *name);
/* Percent-encodes s for a form body (harness-owned). */
const char *h_form_enc(const char *s);
/* The id at the end of a Location "/prefix/ID" (harness-owned), or NULL. */
const char *h_location_id(const struct h_http *r, const char *prefix);

/* ---- crafted pushes (in-process, through the library) ---- */

/*
 * Makes a replica database at <test dir>/name.db (model schema and client
 * sync tables), inserts one row of table with département dept, filling
 * each required column with a valid value from the model, and captures it.
 * Writes the row id (37 bytes) and appends to raw the push payload of the
 * outbox (before sealing), and to cs the bare changeset when cs is not NULL.
 */
int h_craft_push(const char *name, const char *table, const char *dept,
		 char id[37], struct buf *raw, struct buf *cs);
/* Runs sql on the replica database of home, outside any capture, as the
 * owner of the laptop could. 0 or -1 (with SQLite's message). */
int h_replica_exec(const char *home, const char *sql);
/* Runs sql on the replica database of home as one captured local edit: its
 * changeset joins the outbox as if relais had written it (a crafted edit,
 * or one made by an older release). 0 or -1. */
int h_replica_capture(const char *home, const char *sql);
/* Runs sql on the store at path (relaisd stopped) as relaisd's own write:
 * logged for the replicas' pulls. 0, or -1 with SQLite's words on stderr. */
int h_store_write(const char *store, const char *sql);
/* Seals a payload as a push envelope of schema version schema. */
int h_seal(const struct buf *raw, unsigned schema, struct buf *env);

#endif
