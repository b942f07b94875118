/*
 * limit.c - failed-authentication counters per address, in a fixed table.
 *
 * A linear scan of LIMIT_SLOTS short strings costs a few microseconds and
 * runs only for requests that carry credentials: simpler than a hash table
 * and just as bounded.
 */
#include <string.h>
#include "limit.h"

void limit_init(struct limit *l, unsigned max_failures)
{
	memset(l, 0, sizeof(*l));
	l->max_failures = max_failures ? max_failures : LIMIT_DEFAULT_FAILURES;
}

/* Longer strings are not addresses: cut, they stay bounded and still group
 * the same peer. */
static size_t key_len(const char *addr)
{
	return strnlen(addr, LIMIT_ADDR_MAX - 1);
}

static struct limit_slot *find(struct limit *l, const char *addr)
{
	size_t n = key_len(addr);
	for (size_t i = 0; i < l->used; i++)
		if (!strncmp(l->slot[i].addr, addr, n) && !l->slot[i].addr[n])
			return &l->slot[i];
	return NULL;
}

/* A slot for a new address: a free one, else the one seen longest ago,
 * preferring unblocked ones so that a flood of new addresses cannot free
 * a blocked attacker. */
static struct limit_slot *take(struct limit *l, int64_t now)
{
	struct limit_slot *old = NULL, *old_blocked = NULL;
	if (l->used < LIMIT_SLOTS)
		return &l->slot[l->used++];
	for (size_t i = 0; i < LIMIT_SLOTS; i++) {
		struct limit_slot *s = &l->slot[i];
		if (s->blocked_until > now) {
			if (!old_blocked || s->last_seen < old_blocked->last_seen)
				old_blocked = s;
		} else if (!old || s->last_seen < old->last_seen) {
			old = s;
		}
	}
	return old ? old : old_blocked;
}

unsigned limit_check(struct limit *l, const char *addr, int64_t now_ms)
{
	struct limit_slot *s = find(l, addr);
	if (!s || s->blocked_until <= now_ms)
		return 0;
	int64_t wait = (s->blocked_until - now_ms + 999) / 1000;
	return wait < 1 ? 1 : (unsigned)wait;
}

int limit_fail(struct limit *l, const char *addr, int64_t now_ms)
{
	struct limit_slot *s = find(l, addr);
	if (!s) {
		s = take(l, now_ms);
		memset(s, 0, sizeof(*s));
		size_t n = key_len(addr);
		memcpy(s->addr, addr, n);
		s->addr[n] = 0;
	}
	s->last_seen = now_ms;
	if (s->blocked_until > now_ms)
		return 0;
	if (s->failures == 0 || now_ms - s->window_start >= LIMIT_WINDOW_MS) {
		s->window_start = now_ms;
		s->failures = 0;
		s->blocked_until = 0;
	}
	if (++s->failures < l->max_failures)
		return 0;
	s->blocked_until = now_ms + LIMIT_BLOCK_MS;
	s->failures = 0;
	return 1;
}
