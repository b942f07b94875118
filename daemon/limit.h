/*
 * limit.h - rate limit of failed authentications per peer address (prefix
 * limit_).
 *
 * A peer that fails authentication max_failures times within
 * LIMIT_WINDOW_MS is refused for LIMIT_BLOCK_MS (relaisd answers 429 with
 * Retry-After). Memory is bounded: a fixed table of LIMIT_SLOTS addresses;
 * when it is full the entry seen longest ago is evicted, a blocked one only
 * when every entry is blocked. Not thread-safe by design: relaisd uses it on
 * its loop thread only.
 */
#ifndef RELAIS_DAEMON_LIMIT_H
#define RELAIS_DAEMON_LIMIT_H

#include <stddef.h>
#include <stdint.h>
#include "../common/relais.h"

#define LIMIT_SLOTS 1024
#define LIMIT_ADDR_MAX 46          /* INET6_ADDRSTRLEN, with the NUL */
#define LIMIT_WINDOW_MS 60000
#define LIMIT_BLOCK_MS 60000
#define LIMIT_DEFAULT_FAILURES 20

struct limit_slot {
	char addr[LIMIT_ADDR_MAX];     /* "" when free */
	int64_t window_start;          /* ms; first failure of the window */
	int64_t last_seen;             /* ms; for eviction */
	int64_t blocked_until;         /* ms; 0 when not blocked */
	unsigned failures;             /* within the window */
};

struct limit {
	unsigned max_failures;
	size_t used;
	struct limit_slot slot[LIMIT_SLOTS];
};

/* Prepares l (about 100 KiB: embed it or allocate it) with max_failures
 * (0: LIMIT_DEFAULT_FAILURES). */
void limit_init(struct limit *l, unsigned max_failures);

/* Returns 0 when addr may try to authenticate at now_ms, else the seconds
 * to wait (at least 1), for Retry-After. */
unsigned limit_check(struct limit *l, const char *addr, int64_t now_ms);

/* Records a failed authentication of addr at now_ms. Returns 1 when this
 * failure starts a block, 0 otherwise. */
int limit_fail(struct limit *l, const char *addr, int64_t now_ms);

#endif
