/*
 * test-soak.c - the short fault soak (docs/soak.md) as a test: runs the
 * relais-soak program ($RELAIS_SOAK, set by `make test`; else
 * $RELAIS_BINDIR/relais-soak) against the binaries under test, and checks
 * its verdict and that it really exercised something: edits, syncs, proxy
 * faults and daemon kills, all counted on its "compteurs:" line.
 *
 * 10 replicas and 12 s of faults rather than the 20 replicas of `make
 * soak`: under ASan on a loaded 2-core machine each relais command costs one
 * to three seconds of wall time, setting up and settling 20 replicas alone
 * would take a minute, and the whole test must stay within 80 s. The soak
 * itself goes on past its 12 s until it has seen a fault and a kill. The
 * settling may wait up to 30 s for the mail gateway (see docs/soak.md).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"
#include "test.h"

#define SOAK_TIMEOUT_MS 150000

/* The value of "key=" on the counters line, -1 when absent. */
static long counter(const char *line, const char *key)
{
	size_t kl = strlen(key);
	for (const char *p = line; (p = strstr(p, key)) != NULL; p += kl) {
		if ((p == line || p[-1] == ' ') && p[kl] == '=') {
			char *end;
			long v = strtol(p + kl + 1, &end, 10);
			return end == p + kl + 1 ? -1 : v;
		}
	}
	return -1;
}

static const char *soak_binary(void)
{
	const char *env = getenv("RELAIS_SOAK");
	if (env && *env)
		return env;
	return h_bin("relais-soak");
}

TEST(soak_court)
{
	static const char *const keys[] = { "edits", "syncs_ok", "fautes", "kills", "messages" };
	h_setup();
	const char *bin = soak_binary();
	if (access(bin, X_OK)) {
		test_fail(__FILE__, __LINE__, "%s introuvable : `make SANITIZE=1 build-san/relais-soak` "
			  "(or set RELAIS_SOAK)", bin);
		return;
	}
	char *argv[] = { (char *)bin, (char *)"--secondes", (char *)"12", (char *)"--replicas",
			 (char *)"10", (char *)"--parallele", (char *)"4", NULL };
	struct h_out *o = h_runv(argv, SOAK_TIMEOUT_MS);
	const char *line = strstr(o->out, "\ncompteurs: ");
	if (o->status != 0 || !line) {
		fprintf(stderr, "  `%s` exited %d\n  --- stdout ---\n%s\n  --- stderr (end) ---\n%s\n",
			o->cmd, o->status, o->out,
			o->errlen > 4000 ? o->err + o->errlen - 4000 : o->err);
	}
	CHECK_INT(o->status, 0);
	CHECK(line != NULL);
	line++;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		CHECK_IDX(counter(line, keys[i]) > 0, i);
	CHECK_INT(counter(line, "pertes"), 0);
	CHECK_INT(counter(line, "problemes"), 0);
	CHECK(strstr(o->out, "soak: OK") != NULL);
}
