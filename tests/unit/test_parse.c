#include <criterion/criterion.h>
Test(x, y)
{
	cr_assert(1);
}

/* ---- parse_port_list (connect -z) ---- */
#include <stdlib.h>
#include "parse.h"

Test(parse_port_list, lists_ranges_and_names)
{
	static const struct {
		const char *in;
		size_t n;
		uint16_t first, last;
	} ok[] = {
		{"22", 1, 22, 22},
		{"22,80,8000-8010", 13, 22, 8010},
		{"8000-8000", 1, 8000, 8000},
		{"http,443", 2, 80, 443},
		{"0-65535", 65536, 0, 65535},
	};
	static const char *const bad[] = {
		"",	",",	   "22,", ",22", "22,,80",
		"10-5", "1-70000", "x y", "-5",	 "0-65535,1",
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		uint16_t *v;
		size_t n;

		cr_assert_eq(parse_port_list(ok[i].in, &v, &n, NULL), 0, "%s",
			     ok[i].in);
		cr_expect_eq(n, ok[i].n, "%s", ok[i].in);
		cr_expect_eq(v[0], ok[i].first, "%s", ok[i].in);
		cr_expect_eq(v[n - 1], ok[i].last, "%s", ok[i].in);
		free(v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = NULL;
		uint16_t *v = NULL;
		size_t n;

		cr_expect_lt(parse_port_list(bad[i], &v, &n, &why), 0, "%s",
			     bad[i]);
		cr_expect(why, "%s: no reason", bad[i]);
	}
}
