/*
 * test-fuzz.c - the libFuzzer targets of fuzz/ in CI, and the crashes they
 * found as regression tests.
 *
 * fuzz_<target>: runs $RELAIS_FUZZDIR/fuzz-<target> (built by `make
 * fuzz-build`, which `make test` does first) over its seed corpus and its
 * regressions, then about 5 s of fuzzing, new inputs going to the test
 * directory (the committed corpus never grows by itself). A missing binary
 * or RELAIS_FUZZDIR is a failure, not a skip. The sources are found in
 * $RELAIS_FUZZSRC, else ./fuzz.
 *
 * fuzz_regress_*: each input that crashed or hung a target, given to the
 * library function directly (this file runs under ASan and UBSan).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "../common/buf.h"
#include "../common/relais.h"
#include "../mailgw/mime.h"
#include "../sync/wire.h"
#include "harness.h"
#include "test.h"

#define FUZZ_SECONDS "4"

static const char *fuzz_src(void)
{
	const char *s = getenv("RELAIS_FUZZSRC");
	return s && *s ? s : "fuzz";
}

/* Runs one target; returns 0 or prints why it failed and returns -1. */
static int fuzz_run(const char *target, const char *max_len)
{
	const char *bindir = getenv("RELAIS_FUZZDIR");
	const char *dir = h_setup();

	if (!bindir || !*bindir) {
		test_fail(__FILE__, __LINE__, "RELAIS_FUZZDIR is not set: run `make test` "
			  "(or `make fuzz-build` and set it to build-fuzz)");
		return -1;
	}
	char *bin = h_strf("%s/fuzz-%s", bindir, target);
	if (access(bin, X_OK)) {
		test_fail(__FILE__, __LINE__, "%s is missing: run `make fuzz-build`", bin);
		return -1;
	}
	char *work = h_path("new");
	if (mkdir(work, 0700)) {
		test_fail(__FILE__, __LINE__, "mkdir %s", work);
		return -1;
	}
	char *argv[] = {
		bin, h_strf("-max_total_time=%s", FUZZ_SECONDS), h_strf("-timeout=10"),
		h_strf("-rss_limit_mb=2048"), h_strf("-max_len=%s", max_len),
		h_strf("-artifact_prefix=%s/", dir), h_strf("-print_final_stats=1"), work,
		h_strf("%s/corpus/%s", fuzz_src(), target), h_strf("%s/regress/%s", fuzz_src(), target),
		NULL
	};
	struct h_out *o = h_runv(argv, 60000);
	if (o->status != 0 || !strstr(o->err, "INITED")) {
		size_t n = o->errlen > 4000 ? 4000 : o->errlen;
		fprintf(stderr, "%s\n...%s\n", o->cmd, o->err + o->errlen - n);
		test_fail(__FILE__, __LINE__, "fuzz-%s: status %d (see above; the input is in %s)",
			  target, o->status, dir);
		return -1;
	}
	return 0;
}

#define FUZZ_TEST(name, max_len)                                \
	TEST(fuzz_##name)                                       \
	{                                                       \
		CHECK_INT(fuzz_run(#name, max_len), 0);         \
	}

FUZZ_TEST(wire, "65536")
FUZZ_TEST(http, "32768")
FUZZ_TEST(mime, "131072")
FUZZ_TEST(csv, "65536")
FUZZ_TEST(office, "65536")

/* ---- regressions ---- */

/*
 * fuzz-mime: libetpan's quoted-printable decoder read two bytes past the end
 * of the message when it ended in '=' and one more character (heap
 * overflow). The input sits in a buffer of exactly its size so that ASan
 * sees any read past it.
 */
TEST(fuzz_regress_mime)
{
	static const struct {
		const char *raw;
		const char *body; /* expected prefix of the body */
	} cases[] = {
		{ "Content-Transfer-Encoding: quoted-printable\r\n\r\na=C", "a" },
		{ "Content-Transfer-Encoding: quoted-printable\r\n\r\na=", "a" },
		{ "Content-Transfer-Encoding: quoted-printable\r\n\r\n=", "" },
		{ "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
		  "Content-Transfer-Encoding: quoted-printable\r\n\r\nx=4", "x" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].raw);
		char *raw = malloc(len);
		struct mailgw_mime_msg *m = NULL;
		CHECK_IDX(raw != NULL, i);
		memcpy(raw, cases[i].raw, len);
		int rc = mailgw_mime_parse(raw, len, NULL, &m);
		free(raw);
		CHECK_INT_IDX(rc, 0, i);
		CHECK_IDX(m->body != NULL, i);
		CHECK_IDX(!strncmp(m->body, cases[i].body, strlen(cases[i].body)), i);
		mailgw_mime_free(m);
	}
}

/* fuzz-wire: the push payload of fuzz/regress/wire/changeset-name-unterminated.raw,
 * whose changeset's table header has no NUL after the name (SQLite 3.40's
 * sqlite3changeset_next() never returned on it). */
static const unsigned char name_unterminated[] =
	"\x10" "182f81aa5c87c3ad" "\x01\x06\x01\xa2\x08\x9a\xe4\x5b\x00\x00\x7a"
	"T\x2c\x01\x00\x00\x00\x00\x00presence\x00\x09\x00\x03"
	"$44444444-4444-4444-8444-444444444444\x03\x02" "43"
	"\x03$33333333-3333-4333-8333-333333333333"
	"\x03\x09instagram\x03\x09lea.pdn43\x05";

/*
 * Changesets that sync_push_decode() must refuse before SQLite's iterator
 * sees them, and well-formed ones it must accept (the format is described
 * above changeset_check() in sync/wire.c).
 */
TEST(fuzz_regress_wire)
{
	static const struct {
		const char *cs;
		size_t len;
		int rc;
	} cases[] = {
#define CS(s, rc) { s, sizeof(s) - 1, rc }
		/* an INSERT into t(a, b): text "a", NULL */
		CS("T\x02\x01\x00t\x00\x12\x00\x03\x01" "a\x05", 0),
		/* an UPDATE: old a="a" b=undefined, new a=undefined b=7 */
		CS("T\x02\x01\x00t\x00\x17\x00\x03\x01" "a\x00\x00\x01\0\0\0\0\0\0\0\x07", 0),
		/* a DELETE with a blob and a float */
		CS("T\x02\x01\x00t\x00\x09\x01\x04\x02xy\x02\0\0\0\0\0\0\xf0\x3f", 0),
		CS("", 0),
		CS("T\x02\x01\x00t", RELAIS_ECORRUPT),            /* name not terminated */
		CS("T\x02\x01\x00\x00\x12\x00\x05\x05", RELAIS_ECORRUPT), /* empty name */
		CS("T\x00t\x00", RELAIS_ECORRUPT),                /* no column */
		CS("T\x02\x01", RELAIS_ECORRUPT),                 /* flags cut */
		CS("P\x02\x01\x00t\x00\x12\x00\x05\x05", RELAIS_ECORRUPT), /* a patchset */
		CS("\x12\x00\x05\x05", RELAIS_ECORRUPT),          /* change before any table */
		CS("T\x02\x01\x00t\x00\x12\x00\x00\x05", RELAIS_ECORRUPT), /* undefined in an INSERT */
		CS("T\x02\x01\x00t\x00\x12\x02\x05\x05", RELAIS_ECORRUPT), /* indirect flag 2 */
		CS("T\x02\x01\x00t\x00\x13\x00\x05\x05", RELAIS_ECORRUPT), /* unknown op */
		CS("T\x02\x01\x00t\x00\x12\x00\x05", RELAIS_ECORRUPT),     /* a value missing */
		CS("T\x02\x01\x00t\x00\x12\x00\x03\x05" "ab\x05", RELAIS_ECORRUPT), /* text cut */
		CS("T\x02\x01\x00t\x00\x12\x00\x01\0\0\0\x05", RELAIS_ECORRUPT),   /* integer cut */
		CS("T\x02\x01\x00t\x00\x12\x00\x06\x05", RELAIS_ECORRUPT), /* unknown type */
		CS("T\x02\x01\x00t\x00\x12\x00\x03\xff\xff\xff\xff\xff\xff\xff\xff\xff" "a\x05",
		   RELAIS_ECORRUPT),                              /* length past the end */
#undef CS
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf raw = BUF_INIT(1 << 20);
		struct sync_push_item item = { 1, 1, (const unsigned char *)cases[i].cs, cases[i].len };
		struct sync_push p;
		CHECK_OK(sync_push_encode(0x182f81aa5c87c3adull, &item, 1, &raw));
		int rc = sync_push_decode(raw.data, raw.len, 10, &p);
		CHECK_INT_IDX(rc, cases[i].rc, i);
		if (!rc) {
			CHECK_INT_IDX(p.count, 1, i);
			CHECK_INT_IDX(p.items[0].len, cases[i].len, i);
		}
		sync_push_free(&p);
		buf_release(&raw);
	}

	struct sync_push p;
	CHECK_INT(sync_push_decode(name_unterminated, sizeof(name_unterminated) - 1, 10, &p),
		  RELAIS_ECORRUPT);
	CHECK_INT(p.count, 0);
}
