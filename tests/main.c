/*
 * The test runner: runs every registered test (or those whose name contains
 * one of the arguments) in a child process with a time limit, and ends with
 * the line "N passed, N failed".
 */
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "../mailgw/sandbox.h"
#include "test.h"
#include "office-corpus.h"

#define MAX_TESTS 512
#define MAX_DEFERRED 64
#define TEST_TIMEOUT_S 300

struct test_case {
	const char *name;
	void (*fn)(void);
};

static struct test_case tests[MAX_TESTS];
static int ntests;
static int failed;
unsigned long test_checks;

static struct {
	void (*fn)(void *);
	void *arg;
} deferred[MAX_DEFERRED];
static int ndeferred;

void test_register(const char *name, void (*fn)(void))
{
	if (ntests == MAX_TESTS) {
		fprintf(stderr, "too many tests\n");
		abort();
	}
	tests[ntests].name = name;
	tests[ntests].fn = fn;
	ntests++;
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "  %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	failed = 1;
}

void test_defer(void (*fn)(void *), void *arg)
{
	if (ndeferred == MAX_DEFERRED) {
		fprintf(stderr, "too many deferred cleanups\n");
		abort();
	}
	deferred[ndeferred].fn = fn;
	deferred[ndeferred].arg = arg;
	ndeferred++;
}

static void run_deferred(void)
{
	while (ndeferred > 0) {
		ndeferred--;
		deferred[ndeferred].fn(deferred[ndeferred].arg);
	}
}

static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "  time limit reached\n";
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	run_deferred();
	_exit(2);
}

static int selected(const char *name, int argc, char **argv)
{
	if (argc < 2)
		return 1;
	for (int i = 1; i < argc; i++)
		if (strstr(name, argv[i]))
			return 1;
	return 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run_one(const struct test_case *t)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		signal(SIGALRM, on_alarm);
		alarm(TEST_TIMEOUT_S);
		t->fn();
		if (!failed && test_checks == 0)
			test_fail(__FILE__, __LINE__, "the test checked nothing");
		run_deferred();
		/* exit, not _exit: LeakSanitizer checks at exit. */
		exit(failed ? 1 : 0);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		;
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "  killed by signal %d\n", WTERMSIG(status));
		return 1;
	}
	return WEXITSTATUS(status) != 0;
}

int main(int argc, char **argv)
{
	int passed = 0, nfailed = 0;
	/* The sandbox tests re-execute this program as their MIME worker. */
	mailgw_sandbox_main(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 0; i < ntests; i++) {
		if (!selected(tests[i].name, argc, argv))
			continue;
		double t0 = now_s();
		int bad = run_one(&tests[i]);
		printf("%s %s (%.2f s)\n", bad ? "FAIL" : "ok  ", tests[i].name, now_s() - t0);
		if (bad)
			nfailed++;
		else
			passed++;
	}
	office_corpus_remove();
	printf("%d passed, %d failed\n", passed, nfailed);
	return nfailed ? 1 : 0;
}
