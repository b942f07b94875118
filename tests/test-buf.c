#include "../common/buf.h"
#include "../common/util.h"
#include "test.h"

TEST(buf_cap_refuses_growth)
{
	struct buf b = BUF_INIT(8);
	CHECK_OK(buf_append(&b, "12345678", 8));
	CHECK_INT(buf_putc(&b, 'x'), RELAIS_ETOOBIG);
	CHECK_INT(b.len, 8);
	CHECK_STR(buf_str(&b), "12345678");
	buf_release(&b);
}

TEST(util_parse_ll_cases)
{
	static const struct {
		const char *in;
		int rc;
		long long v;
	} cases[] = {
		{ "42", 0, 42 }, { "-3", 0, -3 }, { "", RELAIS_EINVAL, 0 },
		{ "12x", RELAIS_EINVAL, 0 }, { " 1", RELAIS_EINVAL, 0 },
		{ "101", RELAIS_EINVAL, 0 }, { "99999999999999999999", RELAIS_EINVAL, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long long v = 0;
		CHECK_INT_IDX(util_parse_ll(cases[i].in, -100, 100, &v), cases[i].rc, i);
		if (cases[i].rc == 0)
			CHECK_INT_IDX(v, cases[i].v, i);
	}
}

TEST(util_uuid_shape)
{
	char a[UTIL_UUID_LEN + 1], b[UTIL_UUID_LEN + 1];
	CHECK_OK(util_uuid(a));
	CHECK_OK(util_uuid(b));
	CHECK(util_is_uuid(a));
	CHECK(strcmp(a, b) != 0);
	CHECK_INT(a[14], '4');
	CHECK(!util_is_uuid("not-a-uuid"));
}

/* The first error sticks: later appends, even ones that would fit, do
 * nothing and return it; the content is what it was before the failure. */
TEST(buf_sticky_error)
{
	struct buf b = BUF_INIT(8);
	CHECK_INT(buf_error(&b), 0);
	CHECK_OK(buf_puts(&b, "abc"));
	CHECK_INT(buf_puts(&b, "defghi"), RELAIS_ETOOBIG);
	CHECK_INT(buf_error(&b), RELAIS_ETOOBIG);
	CHECK_INT(buf_putc(&b, 'x'), RELAIS_ETOOBIG);
	CHECK_INT(buf_printf(&b, "%d", 1), RELAIS_ETOOBIG);
	CHECK_INT(buf_append(&b, "", 0), RELAIS_ETOOBIG);
	CHECK_INT(buf_puts_html(&b, "<"), RELAIS_ETOOBIG);
	CHECK_INT(buf_grow(&b, 1), RELAIS_ETOOBIG);
	CHECK_INT(b.len, 3);
	CHECK_STR(buf_str(&b), "abc");
	/* buf_fail keeps the first error too. */
	CHECK_INT(buf_fail(&b, RELAIS_EDB), RELAIS_ETOOBIG);
	/* A reset forgets it: the buffer is as new. */
	buf_reset(&b);
	CHECK_INT(buf_error(&b), 0);
	CHECK_OK(buf_puts(&b, "12345678"));
	buf_release(&b);
	CHECK_INT(buf_error(&b), 0);
}

/* Twenty appends and one check: the way pages and messages are built. */
TEST(buf_sticky_one_check)
{
	static const struct {
		size_t cap;
		int err;
		const char *out;
	} cases[] = {
		{ 64, 0, "<p>l&#39;Oise &amp; 60 &lt;b&gt;</p>\n" },
		{ 10, RELAIS_ETOOBIG, "<p>l&#39;" },
		{ 3, RELAIS_ETOOBIG, "<p>" },
		{ 2, RELAIS_ETOOBIG, "" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b = BUF_INIT(cases[i].cap);
		buf_puts(&b, "<p>");
		buf_puts_html(&b, "l'Oise & ");
		buf_printf(&b, "%d ", 60);
		buf_puts_html(&b, "<b>");
		buf_puts(&b, "</p>");
		buf_putc(&b, '\n');
		CHECK_INT_IDX(buf_error(&b), cases[i].err, i);
		CHECK_STR_IDX(buf_str(&b), cases[i].out, i);
		buf_release(&b);
	}
}

TEST(buf_sticky_fail_stops_output)
{
	struct buf b = BUF_INIT(64);
	buf_puts(&b, "a");
	CHECK_INT(buf_fail(&b, RELAIS_EDB), RELAIS_EDB);
	CHECK_INT(buf_puts(&b, "b"), RELAIS_EDB);
	CHECK_STR(buf_str(&b), "a");
	CHECK_INT(buf_error(&b), RELAIS_EDB);
	buf_release(&b);
}

TEST(buf_html_escape_cases)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "", "" },
		{ NULL, "" },
		{ "plain text", "plain text" },
		{ "a&b", "a&amp;b" },
		{ "<script>", "&lt;script&gt;" },
		{ "\"q\" 'a'", "&quot;q&quot; &#39;a&#39;" },
		{ "&amp;", "&amp;amp;" },
		{ "Élodie « ici »", "Élodie « ici »" },
		{ "l1\nl2\tt\r", "l1\nl2\tt\r" },
		{ "a\x01" "b\x1f" "c\x7f", "a b c\x7f" },
		{ "&&", "&amp;&amp;" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b = BUF_INIT(256);
		CHECK_INT_IDX(buf_puts_html(&b, cases[i].in), 0, i);
		CHECK_STR_IDX(buf_str(&b), cases[i].out, i);
		buf_release(&b);
	}
}
