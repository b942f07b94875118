/*
 * worker.c - a background thread that sleeps between rounds and stops when
 * asked.
 */
#include "worker.h"

int worker_start(struct worker *w, void (*run)(void *arg), void *arg)
{
	w->stop = 0;
	if (uv_mutex_init(&w->lock))
		goto failed_mutex;
	if (uv_cond_init(&w->wake))
		goto failed_cond;
	if (uv_thread_create(&w->thread, run, arg))
		goto failed_thread;
	return 0;
failed_thread:
	uv_cond_destroy(&w->wake);
failed_cond:
	uv_mutex_destroy(&w->lock);
failed_mutex:
	return RELAIS_ENOMEM;
}

int worker_stopping(struct worker *w)
{
	uv_mutex_lock(&w->lock);
	int s = w->stop;
	uv_mutex_unlock(&w->lock);
	return s;
}

int worker_nap(struct worker *w, int ms)
{
	uv_mutex_lock(&w->lock);
	if (!w->stop)
		(void)uv_cond_timedwait(&w->wake, &w->lock, (uint64_t)ms * 1000000u);
	int s = w->stop;
	uv_mutex_unlock(&w->lock);
	return s;
}

void worker_request_stop(struct worker *w)
{
	uv_mutex_lock(&w->lock);
	w->stop = 1;
	uv_cond_signal(&w->wake);
	uv_mutex_unlock(&w->lock);
}

void worker_join(struct worker *w)
{
	worker_request_stop(w);
	uv_thread_join(&w->thread);
	uv_cond_destroy(&w->wake);
	uv_mutex_destroy(&w->lock);
}
