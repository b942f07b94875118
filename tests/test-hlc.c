#include <stdint.h>
#include "../sync/hlc.h"
#include "test.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
/* sync_hlc_make() as a constant expression, for static tables. */
#define H(ms, c) (((uint64_t)(ms) << 16) | (uint64_t)(c))

/* A wall clock that stalls, goes backwards, jumps ahead and goes negative:
 * every issued timestamp must be strictly greater than the previous one. */
TEST(hlc_now_monotonic_when_clock_goes_back)
{
	static const struct {
		int64_t wall;
		uint64_t ms;
		unsigned counter;
	} cases[] = {
		{ 1000, 1000, 0 },  /* first event */
		{ 1000, 1000, 1 },  /* equal wall time: counter */
		{ 1000, 1000, 2 },
		{ 999, 1000, 3 },   /* clock went back 1 ms */
		{ 10, 1000, 4 },    /* ... and far back */
		{ 1001, 1001, 0 },  /* clock caught up: counter restarts */
		{ 5000, 5000, 0 },  /* jump ahead */
		{ -7, 5000, 1 },    /* a clock before 1970 */
		{ 5000, 5000, 2 },
		{ 5001, 5001, 0 },
	};
	struct sync_hlc c = { 0 };
	sync_hlc_t prev = 0;
	for (size_t i = 0; i < N(cases); i++) {
		sync_hlc_t t = sync_hlc_now(&c, cases[i].wall);
		CHECK_INT_IDX(sync_hlc_ms(t), cases[i].ms, i);
		CHECK_INT_IDX(sync_hlc_counter(t), cases[i].counter, i);
		CHECK_IDX(t > prev, i);
		CHECK_IDX(c.last == t, i);
		prev = t;
	}
}

TEST(hlc_counter_overflow_moves_to_next_ms)
{
	struct sync_hlc c = { sync_hlc_make(5000, 0xfffe) };
	sync_hlc_t t = sync_hlc_now(&c, 4000);
	CHECK_INT(sync_hlc_ms(t), 5000);
	CHECK_INT(sync_hlc_counter(t), 0xffff);
	t = sync_hlc_now(&c, 4000);
	CHECK_INT(sync_hlc_ms(t), 5001);
	CHECK_INT(sync_hlc_counter(t), 0);
	t = sync_hlc_now(&c, 5001);
	CHECK_INT(sync_hlc_ms(t), 5001);
	CHECK_INT(sync_hlc_counter(t), 1);

	/* 70,000 events within one wall millisecond stay strictly ordered. */
	struct sync_hlc d = { 0 };
	sync_hlc_t prev = sync_hlc_now(&d, 42);
	for (int i = 0; i < 70000; i++) {
		sync_hlc_t n = sync_hlc_now(&d, 42);
		CHECK_IDX(n > prev, i);
		prev = n;
	}
	CHECK_INT(sync_hlc_ms(prev), 43);
	CHECK_INT(sync_hlc_counter(prev), 70000 - 65536);
}

TEST(hlc_now_clamps_and_saturates)
{
	/* A wall clock past the 48-bit range is clamped, never wrapped. */
	struct sync_hlc c = { 0 };
	sync_hlc_t t = sync_hlc_now(&c, INT64_MAX);
	CHECK(sync_hlc_ms(t) == (UINT64_C(1) << 48) - 1);
	CHECK_INT(sync_hlc_counter(t), 0);
	/* At the very end of the range the clock repeats rather than wrap to 0. */
	c.last = UINT64_MAX;
	CHECK(sync_hlc_now(&c, 1000) == UINT64_MAX);
	CHECK(c.last == UINT64_MAX);
}

TEST(hlc_observe_remote_ahead_and_behind)
{
	static const struct {
		sync_hlc_t last, remote;
		int64_t wall;
		sync_hlc_t want_last, want_next;
	} cases[] = {
		/* remote ahead of us and of the wall clock: next is after it */
		{ H(1000, 0), H(9000, 7), 2000,
		  H(9000, 7), H(9000, 8) },
		/* remote behind: nothing changes, the wall clock leads */
		{ H(1000, 5), H(500, 9), 2000,
		  H(1000, 5), H(2000, 0) },
		/* remote behind us, wall behind us too: counter */
		{ H(3000, 5), H(2500, 0), 2000,
		  H(3000, 5), H(3000, 6) },
		/* remote equal to last: the next is still greater */
		{ H(3000, 5), H(3000, 5), 100,
		  H(3000, 5), H(3000, 6) },
		/* remote ahead but wall further ahead: wall wins */
		{ H(1000, 0), H(1500, 3), 8000,
		  H(1500, 3), H(8000, 0) },
		/* remote at the end of a millisecond */
		{ 0, H(700, 0xffff), 1,
		  H(700, 0xffff), H(701, 0) },
	};
	for (size_t i = 0; i < N(cases); i++) {
		struct sync_hlc c = { cases[i].last };
		sync_hlc_observe(&c, cases[i].remote, cases[i].wall);
		CHECK_IDX(c.last == cases[i].want_last, i);
		sync_hlc_t t = sync_hlc_now(&c, cases[i].wall);
		CHECK_IDX(t == cases[i].want_next, i);
		CHECK_IDX(t > cases[i].remote, i);
	}
}

TEST(hlc_cmp_orders_by_time_then_node)
{
	static const struct {
		sync_hlc_t a;
		uint64_t na;
		sync_hlc_t b;
		uint64_t nb;
		int want;
	} cases[] = {
		{ 1, 9, 2, 1, -1 },                  /* time first, node ignored */
		{ 2, 1, 1, 9, 1 },
		{ 5, 1, 5, 2, -1 },                  /* tie: node decides */
		{ 5, 2, 5, 1, 1 },
		{ 5, 3, 5, 3, 0 },
		{ 5, UINT64_MAX, 5, 0, 1 },          /* unsigned node order */
		{ UINT64_MAX, 0, 0, UINT64_MAX, 1 }, /* unsigned time order */
		{ H(10, 0xffff), 7, H(11, 0), 1, -1 },
	};
	for (size_t i = 0; i < N(cases); i++) {
		int got = sync_hlc_cmp(cases[i].a, cases[i].na, cases[i].b, cases[i].nb);
		int sign = (got > 0) - (got < 0);
		CHECK_INT_IDX(sign, cases[i].want, i);
		int back = sync_hlc_cmp(cases[i].b, cases[i].nb, cases[i].a, cases[i].na);
		CHECK_INT_IDX((back > 0) - (back < 0), -cases[i].want, i);
	}
}

TEST(hlc_format_cases)
{
	static const struct {
		sync_hlc_t t;
		const char *want;
	} cases[] = {
		{ H(UINT64_C(1795430725123), 3), "2026-11-23T10:45:25.123Z#3" },
		{ 0, "1970-01-01T00:00:00.000Z#0" },
		{ H(1, 0xffff), "1970-01-01T00:00:00.001Z#65535" },
		{ H(UINT64_C(951782400000), 0), "2000-02-29T00:00:00.000Z#0" },
	};
	for (size_t i = 0; i < N(cases); i++) {
		char out[32];
		sync_hlc_format(cases[i].t, out, sizeof(out));
		CHECK_STR_IDX(out, cases[i].want, i);
	}
	/* A short buffer is truncated, still terminated. */
	char small[8];
	sync_hlc_format(0, small, sizeof(small));
	CHECK_STR(small, "1970-01");
	/* The largest timestamp still fits the documented 32 bytes. */
	char big[32];
	sync_hlc_format(UINT64_MAX, big, sizeof(big));
	CHECK_STR(big, "10889-08-02T05:31:50.655Z#65535");
}

TEST(hlc_node_format_parse_round_trip)
{
	static const uint64_t nodes[] = {
		0, 1, 0xabcdef, UINT64_C(0x0123456789abcdef), UINT64_C(0xfedcba9876543210), UINT64_MAX,
	};
	static const char *const want[] = {
		"0000000000000000", "0000000000000001", "0000000000abcdef",
		"0123456789abcdef", "fedcba9876543210", "ffffffffffffffff",
	};
	for (size_t i = 0; i < N(nodes); i++) {
		char out[17];
		uint64_t back = 1;
		sync_node_format(nodes[i], out);
		CHECK_STR_IDX(out, want[i], i);
		CHECK_OK(sync_node_parse(out, &back));
		CHECK_IDX(back == nodes[i], i);
	}
}

TEST(hlc_node_parse_refuses_bad_input)
{
	static const char *const bad[] = {
		"",
		"0123456789abcde",    /* 15 digits */
		"0123456789abcdef0",  /* 17 digits */
		"0123456789ABCDEF",   /* upper case */
		"0123456789abcdeg",
		" 123456789abcdef",
		"0123456789abcde ",
		"+123456789abcdef",
		"0x23456789abcdef",
		"-123456789abcdef",
		"0123456789abcdef\n",
	};
	for (size_t i = 0; i < N(bad); i++) {
		uint64_t node = 77;
		CHECK_INT_IDX(sync_node_parse(bad[i], &node), RELAIS_EINVAL, i);
		CHECK_IDX(node == 77, i); /* left untouched on error */
	}
	uint64_t node;
	CHECK_INT(sync_node_parse(NULL, &node), RELAIS_EINVAL);
	/* An embedded NUL ends the string early: refused. */
	static const char nul[] = "01234567\0" "9abcdef";
	CHECK_INT(sync_node_parse(nul, &node), RELAIS_EINVAL);
}
