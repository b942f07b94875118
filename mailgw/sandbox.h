/*
 * sandbox.h - MIME parsing in a child process, so that a crash, a runaway
 * loop or a memory blow-up of libetpan on hostile mail (its issues #274 and
 * #219) ends as a quarantined message, never as a crash of relaisd.
 *
 * The child is fork()ed from the calling thread, limits its own address
 * space (RLIMIT_AS: its current size plus limits->child_memory), CPU time
 * (RLIMIT_CPU) and wall time (alarm), runs mailgw_mime_parse() and streams
 * the struct back through a pipe in a length-prefixed encoding that the
 * parent reads with a cap derived from the limits. The parent kills it with
 * SIGKILL when limits->timeout_ms passes.
 *
 * Threads: safe to call from a worker thread of a multi-threaded process,
 * and from several threads at once. The child runs only the forking thread;
 * it uses malloc (glibc makes it usable after fork) and iconv. A lock that
 * another thread held at the moment of the fork (iconv's module loader, for
 * one) can block the child: the time limit then ends it and the message is
 * quarantined, so it is a delay, not a hang. The caller must not set
 * SIGCHLD to SIG_IGN (the parent reaps its child with waitpid), and must
 * not reap children it did not start (waitpid(-1, …)).
 */
#ifndef RELAIS_MAILGW_SANDBOX_H
#define RELAIS_MAILGW_SANDBOX_H

#include <stddef.h>
#include "../common/relais.h"
#include "mime.h"

/* Faults the child can be told to commit (limits->test_fault), for tests. */
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

/* Parses raw[0..len) in a child process under limits (NULL: defaults).
 * Returns 0 with outcome->verdict set: PARSED with *msg a new struct that
 * the caller frees with mailgw_mime_free(), or QUARANTINE with *msg NULL
 * and outcome->reason saying why. Returns RELAIS_EIO when no child could be
 * started (pipe or fork failed: try again later) or RELAIS_ENOMEM, with
 * *msg NULL. A message over limits->max_message is answered without a
 * child (status MAILGW_MIME_TOO_BIG). */
int mailgw_sandbox_parse(const void *raw, size_t len, const struct mailgw_mime_limits *limits,
			 struct mailgw_mime_msg **msg, struct mailgw_sandbox_outcome *outcome) RELAIS_WUR;

/* Encodes msg into the child's reply format; *out is freed with free().
 * Exposed for tests. Returns 0 or RELAIS_ENOMEM. */
int mailgw_sandbox_encode(const struct mailgw_mime_msg *msg, unsigned char **out, size_t *len) RELAIS_WUR;

/* Decodes a reply made by mailgw_sandbox_encode(); every length is checked
 * against p[0..len) and against limits. Returns 0 with *msg new, or
 * RELAIS_ECORRUPT (garbage or truncated), RELAIS_ENOMEM. */
int mailgw_sandbox_decode(const unsigned char *p, size_t len, const struct mailgw_mime_limits *limits,
			  struct mailgw_mime_msg **msg) RELAIS_WUR;

#endif
