/*
 * test.h - the project's test framework: one runner (tests/main.c), each
 * test a function registered with TEST(). Each test runs in a child process
 * with a time limit, so a crash or a hang fails that test only.
 *
 * Assertions print both values, the expression and, for table-driven tests,
 * the failing case's index; they are never compiled out. A failed assertion
 * ends the test (it returns from the test function), so cleanup that must
 * always run (stopping servers) belongs in a function registered with
 * test_defer().
 */
#ifndef RELAIS_TEST_H
#define RELAIS_TEST_H

#include <stdio.h>
#include <string.h>

void test_register(const char *name, void (*fn)(void));
/* Marks the running test failed and prints where and why. */
void test_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Runs fn(arg) when the test ends, passed or failed (last registered first). */
void test_defer(void (*fn)(void *), void *arg);
/* Number of assertions checked so far in this test; a test that checks none fails. */
extern unsigned long test_checks;

#define TEST(name)                                                              \
	static void name(void);                                                 \
	__attribute__((constructor)) static void name##_register(void)          \
	{                                                                       \
		test_register(#name, name);                                     \
	}                                                                       \
	static void name(void)

#define CHECK_IDX(cond, idx)                                                    \
	do {                                                                    \
		test_checks++;                                                  \
		if (!(cond)) {                                                  \
			test_fail(__FILE__, __LINE__, "case %d: %s", (int)(idx), #cond); \
			return;                                                 \
		}                                                               \
	} while (0)

#define CHECK(cond) CHECK_IDX(cond, -1)

#define CHECK_INT_IDX(a, b, idx)                                                \
	do {                                                                    \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b); \
		test_checks++;                                                  \
		if (check_a_ != check_b_) {                                     \
			test_fail(__FILE__, __LINE__, "case %d: %s == %s: %lld != %lld", \
				  (int)(idx), #a, #b, check_a_, check_b_);      \
			return;                                                 \
		}                                                               \
	} while (0)

#define CHECK_INT(a, b) CHECK_INT_IDX(a, b, -1)

#define CHECK_STR_IDX(a, b, idx)                                                \
	do {                                                                    \
		const char *check_a_ = (a), *check_b_ = (b);                    \
		test_checks++;                                                  \
		if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_)) {     \
			test_fail(__FILE__, __LINE__, "case %d: %s == %s: \"%s\" != \"%s\"", \
				  (int)(idx), #a, #b, check_a_ ? check_a_ : "(null)", \
				  check_b_ ? check_b_ : "(null)");              \
			return;                                                 \
		}                                                               \
	} while (0)

#define CHECK_STR(a, b) CHECK_STR_IDX(a, b, -1)

/* Checks a call returning 0 / RELAIS_E*; prints the code and its message. */
#define CHECK_OK(expr)                                                          \
	do {                                                                    \
		int check_rc_ = (expr);                                         \
		test_checks++;                                                  \
		if (check_rc_ != 0) {                                           \
			test_fail(__FILE__, __LINE__, "%s returned %d", #expr, check_rc_); \
			return;                                                 \
		}                                                               \
	} while (0)

#endif
