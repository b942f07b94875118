/*
 * sandbox.h - MIME parsing in a separate process, so that a crash, a runaway
 * loop or a memory blow-up of libetpan on hostile mail (its issues #274 and
 * #219) ends as a quarantined message, never as a crash of relaisd.
 *
 * Workers. The parse runs in long-lived worker processes, each started by
 * posix_spawn() of /proc/self/exe: the running program itself, executed
 * afresh. A process that fork()s from one thread of a multi-threaded program
 * and then runs ordinary code (malloc, iconv, libetpan) can block forever on
 * a lock that another thread held at the moment of the fork; a fresh exec
 * holds no lock, and glibc's posix_spawn() runs only async-signal-safe calls
 * between its clone and the exec. Re-executing the program rather than a
 * helper binary means nothing more to build, install or find, and the worker
 * is always the very code of its parent, also while a package upgrade
 * replaces the files on disk (/proc/self/exe names the running inode).
 * The price: every program that calls mailgw_sandbox_parse() must call
 * mailgw_sandbox_main() first thing in main() (relaisd, the test runner,
 * bench-mail); mailgw_sandbox_parse() asserts that it did.
 *
 * The marker. A worker is recognised by argv[0] "relais-mime-sandbox" AND
 * argv[1] "--mailgw-sandbox-worker-v1" AND no other argument AND a socket as
 * descriptor 0. A shell sets argv[0] to the command as typed (relaisd, or its
 * path), so a user cannot run into it by accident; run by hand with exec -a,
 * it refuses a terminal or a pipe on its input with a French message and
 * exit status 2. The marker is never read from the environment, which
 * children would inherit.
 *
 * A worker talks with its parent over a socket pair (its descriptor 0)
 * rather than pipes: the parent sends with MSG_NOSIGNAL, so a worker that
 * dies mid-request never raises SIGPIPE in a caller that does not ignore it.
 *
 * Each worker, on start: puts every signal back to its default, closes every
 * descriptor but 0 to 2, sets RLIMIT_CORE to 0, then answers "RMIW". Per
 * message it then reads one request (the message and the caller's limits,
 * length-prefixed, capped by limits->max_message), sets RLIMIT_AS to its
 * current size plus limits->child_memory (relative, because a sanitizer
 * build reserves terabytes of shadow memory up front), RLIMIT_CPU to the CPU
 * time it has used plus limits->child_cpu_s, alarm() to the wall limit (in
 * case its parent is gone), runs mailgw_mime_parse() and answers in the
 * mailgw_sandbox_encode() format. Limits travel with each request, so a
 * caller that changes them between calls gets its own, and so does
 * limits->test_fault.
 *
 * The parent kills a worker with SIGKILL when a message passes
 * limits->timeout_ms (measured from the request; start-up has its own limit),
 * and starts a fresh one after a crash, a time-out, an undecodable answer,
 * or after MAILGW_SANDBOX_WORKER_MESSAGES messages. Killed and retired
 * workers are reaped at once. A worker ends by itself when its socket
 * reaches end of file: when the parent closes it, or dies (the kernel closes
 * its descriptors; the parent's ends are close-on-exec, and a fork() of the
 * parent closes its copies in the child). PR_SET_PDEATHSIG is not used: it
 * fires when the *thread* that started the worker ends, which would kill a
 * worker that other threads share.
 *
 * Threads: safe to call from any thread, and from several at once: up to
 * MAILGW_SANDBOX_WORKERS parses run side by side, further callers wait for a
 * free worker (each parse is bounded by its time limit). The caller must not
 * set SIGCHLD to SIG_IGN (the parent reaps its workers with waitpid), and
 * must not reap children it did not start (waitpid(-1, …)).
 *
 * Isolation is per worker, not per message: a message that corrupts a
 * worker without crashing it could spoil the parse of the next messages of
 * that worker, at most MAILGW_SANDBOX_WORKER_MESSAGES - 1; that bound is
 * why workers are retired.
 */
#ifndef RELAIS_MAILGW_SANDBOX_H
#define RELAIS_MAILGW_SANDBOX_H

#include <stddef.h>
#include "../common/relais.h"
#include "mime.h"

/* Parses that can run at the same time (one worker process each). Two cores
 * are the usual server; a few more let callers overlap their reads. */
#define MAILGW_SANDBOX_WORKERS 4
/* Messages a worker parses before it is replaced: bounds what one message
 * can leave behind for the next (a heap it damaged without crashing, memory
 * it fragmented), while a start stays a small share of the work: an exec of
 * relaisd, which loads some forty shared libraries, costs about 8 ms of CPU
 * (8 us a message; 80 us, more than the parse itself, at 100 messages). */
#define MAILGW_SANDBOX_WORKER_MESSAGES 1000
/* Longest wait, in ms, for a new worker to say it is ready. */
#define MAILGW_SANDBOX_START_MS 15000

/* Faults the worker can be told to commit (limits->test_fault), for tests. */
enum mailgw_sandbox_fault {
	MAILGW_SANDBOX_FAULT_NONE = 0,
	MAILGW_SANDBOX_FAULT_CRASH,    /* dies of SIGSEGV before parsing */
	MAILGW_SANDBOX_FAULT_SPIN,     /* burns CPU forever */
	MAILGW_SANDBOX_FAULT_SLEEP,    /* sleeps forever (only the wall limit stops it) */
	MAILGW_SANDBOX_FAULT_GARBAGE,  /* writes an undecodable reply and exits 0 */
	MAILGW_SANDBOX_FAULT_OOM,      /* allocates until memory runs out */
};

enum mailgw_sandbox_verdict {
	MAILGW_SANDBOX_PARSED = 0,     /* *msg holds the parse (see its status) */
	MAILGW_SANDBOX_QUARANTINE,     /* the parser failed; keep the message for a person */
};

struct mailgw_sandbox_outcome {
	int verdict;                   /* enum mailgw_sandbox_verdict */
	char reason[160];              /* French, for the coordinator; "" when parsed */
};

/* The worker's entry point. Call it first thing in main(), before any other
 * work, in every program that calls mailgw_sandbox_parse(). When argv is the
 * worker's marker (see above) it runs the worker and never returns; otherwise
 * it returns at once and the program goes on. */
void mailgw_sandbox_main(int argc, char **argv);

/* Parses raw[0..len) in a worker process under limits (NULL: defaults).
 * Returns 0 with outcome->verdict set: PARSED with *msg a new struct that
 * the caller frees with mailgw_mime_free(), or QUARANTINE with *msg NULL
 * and outcome->reason saying why. Returns RELAIS_EIO when no worker could be
 * started (socket, spawn, or no answer within MAILGW_SANDBOX_START_MS: try
 * again later) or RELAIS_ENOMEM, with *msg NULL. A message over
 * limits->max_message is answered without a worker (status
 * MAILGW_MIME_TOO_BIG). */
int mailgw_sandbox_parse(const void *raw, size_t len, const struct mailgw_mime_limits *limits,
			 struct mailgw_mime_msg **msg, struct mailgw_sandbox_outcome *outcome) RELAIS_WUR;

/* Messages a caller hands mailgw_sandbox_parse_many() at once, at most: a
 * batch ends when its slowest parse does and costs a thread start, so it
 * must be long (with 16 the workers idled a sixth of the time). */
#define MAILGW_SANDBOX_BATCH 64

/* One message of mailgw_sandbox_parse_many(): raw and len in, the rest out
 * as mailgw_sandbox_parse() gives them. */
struct mailgw_sandbox_job {
	const void *raw;
	size_t len;
	int rc;
	struct mailgw_mime_msg *msg;
	struct mailgw_sandbox_outcome outcome;
};

/* Parses each of jobs[0..n) as mailgw_sandbox_parse() does, several side by
 * side: one worker each, as many as the machine has processors (at most
 * MAILGW_SANDBOX_WORKERS), the calling thread being one of them. Each job
 * gets its own rc, msg and outcome; the caller frees each msg. stop (may be
 * NULL) is asked before each job starts: once it answers non-zero, the jobs
 * not started get rc RELAIS_ELATER (a program that stops does not wait for
 * the whole batch). */
void mailgw_sandbox_parse_many(struct mailgw_sandbox_job *jobs, size_t n,
			       const struct mailgw_mime_limits *limits,
			       int (*stop)(void *arg), void *arg);

/* Stops every worker and reaps it, after waiting for the parses under way.
 * Later calls of mailgw_sandbox_parse() start new workers. relaisd calls it
 * when the mail gateway stops; a program may also just exit (its workers
 * then see end of file and end). */
void mailgw_sandbox_shutdown(void);

/* What the pool has done since the program started, for tests and logs. */
struct mailgw_sandbox_stats {
	unsigned long started;   /* worker processes started */
	unsigned long stopped;   /* worker processes ended and reaped */
	unsigned running;        /* worker processes alive now */
};

void mailgw_sandbox_stats(struct mailgw_sandbox_stats *st);

/* Encodes msg into the worker's reply format; *out is freed with free().
 * Exposed for tests. Returns 0 or RELAIS_ENOMEM. */
int mailgw_sandbox_encode(const struct mailgw_mime_msg *msg, unsigned char **out, size_t *len) RELAIS_WUR;

/* Decodes a reply made by mailgw_sandbox_encode(); every length is checked
 * against p[0..len) and against limits. Returns 0 with *msg new, or
 * RELAIS_ECORRUPT (garbage or truncated), RELAIS_ENOMEM. */
int mailgw_sandbox_decode(const unsigned char *p, size_t len, const struct mailgw_mime_limits *limits,
			  struct mailgw_mime_msg **msg) RELAIS_WUR;

#endif
