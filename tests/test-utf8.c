#include <stdint.h>
#include "../common/utf8.h"
#include "test.h"

/* Valid and invalid sequences, after Markus Kuhn's UTF-8 stress test. */
TEST(utf8_valid_cases)
{
	static const struct {
		const char *s;
		size_t n;
		int valid;
	} cases[] = {
		{ "", 0, 1 },
		{ "ascii", 5, 1 },
		{ "\0", 1, 1 },                            /* U+0000 is a code point */
		{ "\xc3\xa9", 2, 1 },                      /* é */
		{ "\xe2\x80\xaf", 3, 1 },                  /* U+202F */
		{ "\xef\xbf\xbf", 3, 1 },                  /* U+FFFF */
		{ "\xf0\x9f\x98\x80", 4, 1 },              /* U+1F600 */
		{ "\xf4\x8f\xbf\xbf", 4, 1 },              /* U+10FFFF */
		{ "\xed\x9f\xbf", 3, 1 },                  /* U+D7FF */
		{ "\xee\x80\x80", 3, 1 },                  /* U+E000 */
		{ "\x80", 1, 0 },                          /* lone continuation */
		{ "\xbf", 1, 0 },
		{ "\xc3", 1, 0 },                          /* truncated */
		{ "\xe2\x80", 2, 0 },
		{ "\xf0\x9f\x98", 3, 0 },
		{ "\xc3\x28", 2, 0 },                      /* bad continuation */
		{ "\xe2\x28\xa1", 3, 0 },
		{ "\xc0\xaf", 2, 0 },                      /* overlong '/' */
		{ "\xc1\xbf", 2, 0 },
		{ "\xe0\x80\xaf", 3, 0 },
		{ "\xe0\x9f\xbf", 3, 0 },                  /* overlong U+07FF */
		{ "\xf0\x80\x80\xaf", 4, 0 },
		{ "\xf0\x8f\xbf\xbf", 4, 0 },              /* overlong U+FFFF */
		{ "\xed\xa0\x80", 3, 0 },                  /* U+D800 */
		{ "\xed\xbf\xbf", 3, 0 },                  /* U+DFFF */
		{ "\xed\xa0\x80\xed\xb0\x80", 6, 0 },      /* CESU-8 pair */
		{ "\xf4\x90\x80\x80", 4, 0 },              /* U+110000 */
		{ "\xf5\x80\x80\x80", 4, 0 },
		{ "\xf8\x88\x80\x80\x80", 5, 0 },          /* 5-byte form */
		{ "\xfe", 1, 0 },
		{ "\xff", 1, 0 },
		{ "ok\xc3\xa9\x80", 5, 0 },                /* bad byte at the end */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_INT_IDX(utf8_valid(cases[i].s, cases[i].n), cases[i].valid, i);
	CHECK(utf8_valid_str("Élodie"));
	CHECK(!utf8_valid_str("\xc3"));
	CHECK(!utf8_valid_str(NULL));
}

TEST(utf8_decode_code_points)
{
	static const struct {
		const char *s;
		size_t n, len;
		uint32_t cp;
	} cases[] = {
		{ "A", 1, 1, 0x41 },
		{ "\xc2\xa0x", 3, 2, 0xa0 },
		{ "\xe2\x82\xac", 3, 3, 0x20ac },
		{ "\xf4\x8f\xbf\xbf", 4, 4, 0x10ffff },
		{ "\xe2\x82\xac", 2, 0, 0 },
		{ "", 0, 0, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t cp = 0;
		CHECK_INT_IDX(utf8_decode(cases[i].s, cases[i].n, &cp), cases[i].len, i);
		if (cases[i].len)
			CHECK_INT_IDX(cp, cases[i].cp, i);
	}
	CHECK_INT(utf8_decode("\xc3\xa9", 2, NULL), 2);
}
