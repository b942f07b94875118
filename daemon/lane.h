/*
 * lane.h - a few threads of relaisd for the requests that come by the
 * hundred (prefix lane_): a sync, a pull, a token check.
 *
 * libuv's pool wakes one of its threads for every item queued. A burst of
 * syncs then costs a wake-up per request, and its threads, many more than
 * the processors, preempt the loop thread that feeds them. A lane has one
 * thread per processor: under load they find the next job queued without
 * sleeping. Long work (a bootstrap file, a document) stays on libuv's pool,
 * where it cannot hold the lane.
 *
 * A job's work runs on a lane thread and ends with lane_finish(), from that
 * thread or later from another one (a push finished by its group); its
 * done callback then runs on the loop thread. While jobs are out, the lane
 * keeps the loop alive.
 */
#ifndef RELAIS_DAEMON_LANE_H
#define RELAIS_DAEMON_LANE_H

#include <uv.h>
#include "../common/relais.h"

#define LANE_MAX_THREADS 8

struct lane_job {
	void (*work)(struct lane_job *j);   /* a lane thread; must lead to lane_finish */
	void (*done)(struct lane_job *j);   /* the loop thread, after lane_finish */
	struct lane_job *next;              /* the lane's */
};

struct lane;

/* Starts threads (1 to LANE_MAX_THREADS, else RELAIS_EINVAL) serving jobs
 * for loop. Returns 0, or RELAIS_ENOMEM; after a failure, the loop must run
 * dry, which frees what was made. */
int lane_new(uv_loop_t *loop, unsigned threads, struct lane **out) RELAIS_WUR;

/* Queues j. Loop thread. */
void lane_submit(struct lane *l, struct lane_job *j);

/* Hands j back to the loop, where its done runs. Any thread, once per job. */
void lane_finish(struct lane *l, struct lane_job *j);

/* Stops and joins the threads and frees l; no job may be out, and the loop
 * must have closed its handles (uv_walk) and run dry. Accepts NULL. */
void lane_free(struct lane *l);

#endif
