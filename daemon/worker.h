/*
 * worker.h - a background thread of relaisd that sleeps between rounds and
 * stops when asked (prefix worker_): the mail gateway's and the digest's.
 *
 * The struct lives inside its owner's; the thread looks at worker_stopping()
 * between two steps and sleeps with worker_nap(), which a stop request cuts
 * short.
 */
#ifndef RELAIS_DAEMON_WORKER_H
#define RELAIS_DAEMON_WORKER_H

#include <uv.h>
#include "../common/relais.h"

struct worker {
	uv_thread_t thread;
	uv_mutex_t lock;
	uv_cond_t wake;
	int stop;
};

/* Starts run(arg) on a new thread of w. Returns 0, or RELAIS_ENOMEM with
 * nothing left to undo. */
int worker_start(struct worker *w, void (*run)(void *arg), void *arg) RELAIS_WUR;

/* 1 once a stop was asked. */
int worker_stopping(struct worker *w);

/* Sleeps ms unless a stop is asked meanwhile; returns worker_stopping(). */
int worker_nap(struct worker *w, int ms);

/* Asks the thread to stop; returns at once. Safe from any thread. */
void worker_request_stop(struct worker *w);

/* Asks the thread to stop, waits for it and releases what worker_start()
 * took; w may then be freed. */
void worker_join(struct worker *w);

#endif
