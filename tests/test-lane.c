/*
 * test-lane.c - relaisd's lane: every job's work runs on a lane thread,
 * its done on the loop thread, once; a job finished later from another
 * thread keeps the loop alive until it comes back.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>
#include "../daemon/lane.h"
#include "test.h"

#define JOBS 2000
#define HELD 50   /* jobs finished later by another thread */

struct lane_test;

struct tjob {
	struct lane_job lj;   /* first: the callbacks get it */
	struct lane_test *t;
	int idx;
	uv_thread_t worker;   /* the thread that ran its work */
	int works, dones;
	int done_off_loop;    /* done ran on another thread than the loop's */
};

struct lane_test {
	struct lane *lane;
	uv_thread_t loop_thread;
	pthread_mutex_t lock;
	struct tjob *held[HELD];   /* under lock */
	int nheld;
	int dones;                 /* loop thread */
};

static void tjob_work(struct lane_job *lj)
{
	struct tjob *j = (struct tjob *)lj;
	j->worker = uv_thread_self();
	j->works++;
	if (j->idx % (JOBS / HELD) == 0) {
		/* Kept back: another thread finishes it, as a group would. */
		pthread_mutex_lock(&j->t->lock);
		j->t->held[j->t->nheld++] = j;
		pthread_mutex_unlock(&j->t->lock);
		return;
	}
	lane_finish(j->t->lane, lj);
}

static void tjob_done(struct lane_job *lj)
{
	struct tjob *j = (struct tjob *)lj;
	uv_thread_t self = uv_thread_self();
	j->done_off_loop = !uv_thread_equal(&self, &j->t->loop_thread);
	j->dones++;
	j->t->dones++;
}

/* Finishes the held jobs once all of them are held, from its own thread. */
static void *finisher(void *arg)
{
	struct lane_test *t = arg;
	for (int tries = 0; tries < 20000; tries++) {
		pthread_mutex_lock(&t->lock);
		int n = t->nheld;
		pthread_mutex_unlock(&t->lock);
		if (n == HELD)
			break;
		usleep(1000);
	}
	pthread_mutex_lock(&t->lock);
	for (int i = 0; i < t->nheld; i++)
		lane_finish(t->lane, &t->held[i]->lj);
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

static void close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

TEST(lane_runs_every_job_once_and_answers_on_the_loop)
{
	uv_loop_t loop;
	struct lane_test t;
	struct tjob *jobs = calloc(JOBS, sizeof(*jobs));
	pthread_t fin;

	CHECK(jobs != NULL);
	memset(&t, 0, sizeof(t));
	pthread_mutex_init(&t.lock, NULL);
	t.loop_thread = uv_thread_self();
	CHECK_INT(uv_loop_init(&loop), 0);
	CHECK_OK(lane_new(&loop, 2, &t.lane));
	for (int i = 0; i < JOBS; i++) {
		jobs[i] = (struct tjob){ { tjob_work, tjob_done, NULL }, &t, i, 0, 0, 0, 0 };
		lane_submit(t.lane, &jobs[i].lj);
	}
	CHECK_INT(pthread_create(&fin, NULL, finisher, &t), 0);
	/* Returns only once no job is out: the held ones come back too. */
	uv_run(&loop, UV_RUN_DEFAULT);
	pthread_join(fin, NULL);

	CHECK_INT(t.nheld, HELD);
	CHECK_INT(t.dones, JOBS);
	uv_thread_t self = uv_thread_self();
	for (int i = 0; i < JOBS; i++) {
		CHECK_INT_IDX(jobs[i].works, 1, i);
		CHECK_INT_IDX(jobs[i].dones, 1, i);
		CHECK_INT_IDX(jobs[i].done_off_loop, 0, i);
		CHECK_IDX(!uv_thread_equal(&jobs[i].worker, &self), i);
	}
	uv_walk(&loop, close_walk, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK_INT(uv_loop_close(&loop), 0);
	lane_free(t.lane);
	pthread_mutex_destroy(&t.lock);
	free(jobs);
}

TEST(lane_refuses_a_count_of_threads_out_of_range)
{
	uv_loop_t loop;
	struct lane *l = (struct lane *)&loop;
	CHECK_INT(uv_loop_init(&loop), 0);
	CHECK_INT(lane_new(&loop, 0, &l), RELAIS_EINVAL);
	CHECK(l == NULL);
	CHECK_INT(lane_new(&loop, LANE_MAX_THREADS + 1, &l), RELAIS_EINVAL);
	CHECK(l == NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK_INT(uv_loop_close(&loop), 0);
}
