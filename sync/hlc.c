/*
 * hlc.c - hybrid logical clock (see hlc.h).
 *
 * Because a timestamp is (ms << 16 | counter), "the next timestamp after t"
 * is simply t + 1: the counter goes up and, when it wraps, the carry moves
 * the timestamp to the next millisecond, which is exactly what the clock
 * must do when more than 65,536 events share one millisecond.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "hlc.h"

/* The largest millisecond value that fits in the 48 high bits. */
#define HLC_MAX_MS ((UINT64_C(1) << 48) - 1)

static uint64_t wall_to_ms(int64_t wall_ms)
{
	/* A clock set before 1970 or absurdly far ahead must not wrap the
	 * packed value; it is clamped, and the counter keeps the order. */
	if (wall_ms < 0)
		return 0;
	if ((uint64_t)wall_ms > HLC_MAX_MS)
		return HLC_MAX_MS;
	return (uint64_t)wall_ms;
}

sync_hlc_t sync_hlc_now(struct sync_hlc *c, int64_t wall_ms)
{
	sync_hlc_t wall = sync_hlc_make(wall_to_ms(wall_ms), 0);
	if (wall > c->last) {
		c->last = wall;
	} else if (c->last != UINT64_MAX) {
		/* The wall clock is behind (or equal to) what we issued or
		 * saw: keep the last ms and bump the counter. */
		c->last++;
	}
	/* else: the clock is saturated at the end of the 48-bit range (year
	 * 10889, or a peer that sent a bogus timestamp); nothing greater
	 * exists, so the last value is repeated and node ids break ties. */
	return c->last;
}

void sync_hlc_observe(struct sync_hlc *c, sync_hlc_t remote, int64_t wall_ms)
{
	/* The wall clock needs no handling here: sync_hlc_now() moves to it
	 * when it is ahead of everything seen. */
	(void)wall_ms;
	if (remote > c->last)
		c->last = remote;
}

int sync_hlc_cmp(sync_hlc_t a, uint64_t node_a, sync_hlc_t b, uint64_t node_b)
{
	if (a != b)
		return a < b ? -1 : 1;
	if (node_a != node_b)
		return node_a < node_b ? -1 : 1;
	return 0;
}

void sync_hlc_format(sync_hlc_t t, char *out, size_t outlen)
{
	if (!out || outlen == 0)
		return;
	uint64_t ms = sync_hlc_ms(t);
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	if (!gmtime_r(&secs, &tm)) {
		snprintf(out, outlen, "?#%u", sync_hlc_counter(t));
		return;
	}
	snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ#%u",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		 tm.tm_sec, (unsigned)(ms % 1000), sync_hlc_counter(t));
}

void sync_node_format(uint64_t node, char out[17])
{
	static const char hex[] = "0123456789abcdef";
	for (int i = 15; i >= 0; i--) {
		out[i] = hex[node & 15];
		node >>= 4;
	}
	out[16] = 0;
}

int sync_node_parse(const char *s, uint64_t *node)
{
	uint64_t v = 0;
	if (!s)
		return RELAIS_EINVAL;
	for (int i = 0; i < 16; i++) {
		char ch = s[i];
		unsigned d;
		if (ch >= '0' && ch <= '9')
			d = (unsigned)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			d = (unsigned)(ch - 'a' + 10);
		else
			return RELAIS_EINVAL; /* also the NUL of a short string */
		v = v << 4 | d;
	}
	if (s[16] != 0)
		return RELAIS_EINVAL;
	*node = v;
	return 0;
}
