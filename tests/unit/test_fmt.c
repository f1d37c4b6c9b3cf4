#include <criterion/criterion.h>
Test(x, y)
{
	cr_assert(1);
}

/* ---- fmt_trace_line (--trace) ---- */
#include <string.h>
#include "fmt.h"

Test(fmt_trace_line, text_and_json)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = 123456789};
	struct sbuf b = SBUF_INIT;
	const char *s;

	fmt_trace_line(&b, false, &ts, NULL, "send", "hi\n\x01", 4);
	s = sbuf_str(&b);
	/* Local time: only the shape of the date is fixed. */
	cr_assert_eq(s[4], '-');
	cr_assert_eq(s[10], 'T');
	cr_assert(strstr(s, ".123456 send 4 hi\\n\\x01\n"), "%s", s);
	sbuf_reset(&b);
	fmt_trace_line(&b, false, &ts, "127.0.0.1:5", "recv", "", 0);
	cr_assert(strstr(sbuf_str(&b), ".123456 127.0.0.1:5 recv 0 \n"), "%s",
		  sbuf_str(&b));
	sbuf_reset(&b);
	fmt_trace_line(&b, true, &ts, "[::1]:7", "recv", "ok\n", 3);
	s = sbuf_str(&b);
	cr_assert(!strncmp(s, "{\"time\":\"", 9), "%s", s);
	cr_assert(strstr(s, ".123456\",\"peer\":\"[::1]:7\",\"dir\":\"recv\","
			    "\"len\":3,\"data\":\"ok\\n\"}\n"),
		  "%s", s);
	sbuf_reset(&b);
	fmt_trace_line(&b, true, &ts, NULL, "send", "\xff\xfe", 2);
	cr_assert(
		strstr(sbuf_str(&b),
		       "\"dir\":\"send\",\"len\":2,\"data_base64\":\"//4=\"}"),
		"%s", sbuf_str(&b));
	sbuf_free(&b);
}
