/*
 * lane.c - a few threads for the requests that come by the hundred.
 */
#include <assert.h>
#include <stdlib.h>
#include "lane.h"

/* Jobs a lane thread finishes before it wakes the loop for them, while more
 * jobs wait: the loop then answers them in one turn instead of waking, and
 * going back to sleep, for each. */
#define LANE_BATCH 16

/* What a lane thread finished and has not yet handed to the loop. */
struct batch {
	struct lane *lane;
	struct lane_job *head, **tail;
	unsigned n;
};
/* The calling lane thread's batch; NULL on any other thread. */
static _Thread_local struct batch *own_batch;

struct lane {
	uv_mutex_t lock;
	uv_cond_t work;                  /* a job is queued, or stop */
	struct lane_job *head, **tail;   /* queued; under lock */
	unsigned idle;                   /* threads waiting on work; under lock */
	int stop;                        /* under lock */
	struct lane_job *finished, **ftail; /* back to the loop, in order; under lock */
	uv_async_t back;                 /* finished is not empty */
	unsigned out;                    /* loop thread: submitted, not yet done */
	unsigned nthreads;
	uv_thread_t threads[LANE_MAX_THREADS];
};

/* Hands the jobs from head to *tail (n of them, in b; b may be NULL) to
 * the loop and wakes it. */
static void hand_back(struct lane *l, struct lane_job *head, struct lane_job **tail,
		      struct batch *b)
{
	uv_mutex_lock(&l->lock);
	*l->ftail = head;
	l->ftail = tail;
	uv_mutex_unlock(&l->lock);
	if (b) {
		b->head = NULL;
		b->tail = &b->head;
		b->n = 0;
	}
	uv_async_send(&l->back);
}

static void run(void *arg)
{
	struct lane *l = arg;
	struct batch b = { l, NULL, &b.head, 0 };
	own_batch = &b;
	uv_mutex_lock(&l->lock);
	for (;;) {
		if (b.n && !l->head) {
			uv_mutex_unlock(&l->lock);
			hand_back(l, b.head, b.tail, &b);
			uv_mutex_lock(&l->lock);
			continue;
		}
		while (!l->head && !l->stop) {
			l->idle++;
			uv_cond_wait(&l->work, &l->lock);
			l->idle--;
		}
		if (l->stop)
			break;
		struct lane_job *j = l->head;
		l->head = j->next;
		if (!l->head)
			l->tail = &l->head;
		uv_mutex_unlock(&l->lock);
		j->work(j);
		uv_mutex_lock(&l->lock);
	}
	uv_mutex_unlock(&l->lock);
}

/* Runs the done callbacks of the jobs handed back. Loop thread. */
static void on_back(uv_async_t *h)
{
	struct lane *l = h->data;
	uv_mutex_lock(&l->lock);
	struct lane_job *j = l->finished, *next;
	l->finished = NULL;
	l->ftail = &l->finished;
	uv_mutex_unlock(&l->lock);
	for (; j; j = next) {
		next = j->next;
		assert(l->out > 0);
		if (--l->out == 0)
			uv_unref((uv_handle_t *)&l->back);
		j->done(j);
	}
}

static void stop_threads(struct lane *l)
{
	uv_mutex_lock(&l->lock);
	l->stop = 1;
	uv_cond_broadcast(&l->work);
	uv_mutex_unlock(&l->lock);
	for (unsigned i = 0; i < l->nthreads; i++)
		uv_thread_join(&l->threads[i]);
}

static void release(struct lane *l)
{
	uv_cond_destroy(&l->work);
	uv_mutex_destroy(&l->lock);
	free(l);
}

static void free_closed(uv_handle_t *h)
{
	release(h->data);
}

int lane_new(uv_loop_t *loop, unsigned threads, struct lane **out)
{
	*out = NULL;
	if (threads < 1 || threads > LANE_MAX_THREADS)
		return RELAIS_EINVAL;
	struct lane *l = calloc(1, sizeof(*l));
	if (!l)
		return RELAIS_ENOMEM;
	l->tail = &l->head;
	l->ftail = &l->finished;
	if (uv_mutex_init(&l->lock))
		goto failed_mutex;
	if (uv_cond_init(&l->work))
		goto failed_cond;
	if (uv_async_init(loop, &l->back, on_back))
		goto failed_async;
	l->back.data = l;
	/* Only jobs out keep the loop alive. */
	uv_unref((uv_handle_t *)&l->back);
	for (; l->nthreads < threads; l->nthreads++)
		if (uv_thread_create(&l->threads[l->nthreads], run, l))
			break;
	if (l->nthreads == threads) {
		*out = l;
		return 0;
	}
	/* Freed once the loop, run dry by its owner, has closed the handle. */
	stop_threads(l);
	uv_close((uv_handle_t *)&l->back, free_closed);
	return RELAIS_ENOMEM;
failed_async:
	uv_cond_destroy(&l->work);
failed_cond:
	uv_mutex_destroy(&l->lock);
failed_mutex:
	free(l);
	return RELAIS_ENOMEM;
}

void lane_submit(struct lane *l, struct lane_job *j)
{
	if (l->out++ == 0)
		uv_ref((uv_handle_t *)&l->back);
	j->next = NULL;
	uv_mutex_lock(&l->lock);
	*l->tail = j;
	l->tail = &j->next;
	if (l->idle)
		uv_cond_signal(&l->work);
	uv_mutex_unlock(&l->lock);
}

void lane_finish(struct lane *l, struct lane_job *j)
{
	struct batch *b = own_batch;
	j->next = NULL;
	if (!b || b->lane != l) {
		hand_back(l, j, &j->next, NULL);
		return;
	}
	/* Handed on by run() when no job waits, or here once the batch is
	 * full: a thread merging groups for long finishes many. */
	*b->tail = j;
	b->tail = &j->next;
	if (++b->n >= LANE_BATCH)
		hand_back(l, b->head, b->tail, b);
}

void lane_free(struct lane *l)
{
	if (!l)
		return;
	assert(!l->out && uv_is_closing((uv_handle_t *)&l->back));
	stop_threads(l);
	release(l);
}
