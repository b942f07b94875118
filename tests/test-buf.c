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
