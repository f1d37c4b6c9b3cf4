/*
 * test_fmt.c - the output formatters of fmt.c: the growable buffer,
 * escaping for terminals, JSON strings, UTF-8 validation, base64 (RFC 4648
 * vectors) and the hex dump, which is compared byte for byte with what the
 * real `hexdump -C` (bsdextrautils) prints for the same bytes.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fmt.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* A byte string with its length, so that NULs can be part of it. */
struct bytes {
	const char *p;
	size_t n;
};
#define B(s)                     \
	{                        \
		s, sizeof(s) - 1 \
	}

Test(fmt, sbuf_empty_is_a_string)
{
	struct sbuf b = SBUF_INIT;

	cr_assert_str_eq(sbuf_str(&b), "");
	cr_assert_eq(b.len, 0);
	sbuf_add(&b, "", 0);
	cr_assert_str_eq(sbuf_str(&b), "");
	sbuf_free(&b);
	cr_assert_null(b.data);
	cr_assert_eq(b.cap, 0);
}

Test(fmt, sbuf_add_keeps_nuls)
{
	struct sbuf b = SBUF_INIT;

	sbuf_add(&b, "a\0b", 3);
	sbuf_addc(&b, '\0');
	sbuf_adds(&b, "cd");
	cr_assert_eq(b.len, 6);
	cr_assert(!memcmp(b.data, "a\0b\0cd", 7));
	sbuf_reset(&b);
	cr_assert_eq(b.len, 0);
	cr_assert_str_eq(sbuf_str(&b), "");
	sbuf_free(&b);
}

Test(fmt, sbuf_addf_grows)
{
	struct sbuf b = SBUF_INIT;
	char *want = malloc(200000);
	size_t wlen = 0;

	/* Many small appends cross every power-of-two boundary. */
	for (int i = 0; i < 20000; i++) {
		sbuf_addf(&b, "%d,", i);
		wlen += (size_t)sprintf(want + wlen, "%d,", i);
		cr_assert_eq(b.len, wlen);
		cr_assert_geq(b.cap, b.len + 1);
		cr_assert_eq(b.data[b.len], '\0');
	}
	cr_assert_str_eq(b.data, want);

	/* One append far larger than the buffer so far. */
	sbuf_reset(&b);
	memset(want, 'x', 150000);
	want[150000] = '\0';
	sbuf_addf(&b, "<%s>", want);
	cr_assert_eq(b.len, 150002);
	cr_assert_eq(b.data[0], '<');
	cr_assert_eq(b.data[150001], '>');
	cr_assert_eq(b.data[150002], '\0');
	cr_assert_eq(strspn(b.data + 1, "x"), 150000);
	free(want);
	sbuf_free(&b);
}

/* Reads go straight into sbuf data and io_alloc blocks: they start on
 * an IO_ALIGN boundary, and an sbuf stays on one as it grows. */
Test(fmt, io_buffers_are_aligned)
{
	struct sbuf b = SBUF_INIT;
	size_t sizes[] = {1, 63, 64, 65, 4096, 128 * 1024, 1024 * 1024 + 3};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *p = io_alloc(sizes[i]);

		cr_assert(p);
		cr_assert_eq((uintptr_t)p % IO_ALIGN, 0, "%zu bytes at %p",
			     sizes[i], (void *)p);
		memset(p, 'x', sizes[i]);
		free(p);
	}
	for (int i = 0; i < 300000; i++) {
		size_t cap = b.cap;

		sbuf_addc(&b, (char)('a' + i % 26));
		if (b.cap != cap)
			cr_assert_eq((uintptr_t)b.data % IO_ALIGN, 0, "cap %zu",
				     b.cap);
	}
	cr_assert_eq(b.len, 300000);
	for (int i = 0; i < 300000; i++)
		cr_assert_eq(b.data[i], (char)('a' + i % 26), "byte %d", i);
	sbuf_free(&b);
}

Test(fmt, sbuf_addf_formats)
{
	struct sbuf b = SBUF_INIT;

	sbuf_adds(&b, "x=");
	sbuf_addf(&b, "%d %s %05.1f %c%%", -42, "str", 3.14159, 'z');
	cr_assert_str_eq(sbuf_str(&b), "x=-42 str 003.1 z%");
	sbuf_addf(&b, "%s", "");
	cr_assert_eq(b.len, 18);
	sbuf_free(&b);
}

struct conv_case {
	struct bytes in;
	const char *out;
};

static const struct conv_case escape_cases[] = {
	{B(""), ""},
	{B("plain text ~!"), "plain text ~!"},
	{B("a\\b"), "a\\\\b"},
	{B("line\r\n\tx"), "line\\r\\n\\tx"},
	{B("\0"), "\\x00"},
	{B("\x01\x1b[31m"), "\\x01\\x1b[31m"},
	{B("\x7f\x80\xff"), "\\x7f\\x80\\xff"},
	{B("caf\xc3\xa9"), "caf\\xc3\\xa9"},
	{B("\"'"), "\"'"},
};

Test(fmt, escape)
{
	for (size_t i = 0; i < N(escape_cases); i++) {
		struct sbuf b = SBUF_INIT;

		fmt_escape(&b, escape_cases[i].in.p, escape_cases[i].in.n);
		cr_expect_str_eq(sbuf_str(&b), escape_cases[i].out, "row %zu",
				 i);
		sbuf_free(&b);
	}
}

/* What a terminal receives is always printable ASCII. */
Test(fmt, escape_every_byte_is_printable)
{
	struct sbuf b = SBUF_INIT;
	unsigned char all[256];

	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	fmt_escape(&b, all, sizeof(all));
	for (size_t i = 0; i < b.len; i++)
		cr_assert(b.data[i] >= 0x20 && b.data[i] < 0x7f, "byte %zu", i);
	/* 95 printable (backslash doubled) + \t \n \r + 158 \xHH. */
	cr_assert_eq(b.len, 94 + 2 + 3 * 2 + 158 * 4);
	sbuf_free(&b);
}

static const struct conv_case json_cases[] = {
	{B(""), "\"\""},
	{B("hello"), "\"hello\""},
	{B("say \"hi\""), "\"say \\\"hi\\\"\""},
	{B("C:\\dir"), "\"C:\\\\dir\""},
	{B("a/b"), "\"a/b\""},
	{B("\n\r\t"), "\"\\n\\r\\t\""},
	{B("\0"), "\"\\u0000\""},
	{B("\x01\x08\x0c\x1f"), "\"\\u0001\\u0008\\u000c\\u001f\""},
	{B("\x7f"), "\"\\u007f\""},
	{B("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
	 "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""},
	{B("\xc2\x80"), "\"\xc2\x80\""},
	{B("a\xff"
	   "b"),
	 "\"a\\ufffdb\""},
	{B("\xc3"), "\"\\ufffd\""},
	{B("\xc0\x80"), "\"\\ufffd\\ufffd\""},
	{B("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\""},
	{B("\xf4\x90\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\""},
	{B("\x80x"), "\"\\ufffdx\""},
};

Test(fmt, json_string)
{
	for (size_t i = 0; i < N(json_cases); i++) {
		struct sbuf b = SBUF_INIT;

		fmt_json_string(&b, json_cases[i].in.p, json_cases[i].in.n);
		cr_expect_str_eq(sbuf_str(&b), json_cases[i].out, "row %zu", i);
		sbuf_free(&b);
	}
}

Test(fmt, json_string_appends)
{
	struct sbuf b = SBUF_INIT;

	sbuf_adds(&b, "{\"k\":");
	fmt_json_string(&b, "v", 1);
	sbuf_addc(&b, '}');
	cr_assert_str_eq(sbuf_str(&b), "{\"k\":\"v\"}");
	sbuf_free(&b);
}

/* Whatever goes in, the result is valid UTF-8 (so a JSON parser takes it). */
Test(fmt, json_string_always_valid_utf8)
{
	unsigned char junk[4096];
	unsigned x = 12345;

	for (size_t i = 0; i < sizeof(junk); i++) {
		x = x * 1103515245 + 12345;
		junk[i] = (unsigned char)(x >> 16);
	}
	struct sbuf b = SBUF_INIT;

	fmt_json_string(&b, junk, sizeof(junk));
	cr_assert(fmt_utf8_valid(b.data, b.len));
	for (size_t i = 0; i < b.len; i++)
		cr_assert((unsigned char)b.data[i] >= 0x20, "byte %zu", i);
	sbuf_free(&b);
}

struct utf8_case {
	struct bytes in;
	bool valid;
	const char *what;
};

static const struct utf8_case utf8_cases[] = {
	{B(""), true, "empty"},
	{B("ascii"), true, "ASCII"},
	{B("a\0b"), true, "NUL is a character"},
	{B("\xc3\xa9"), true, "U+00E9"},
	{B("\xdf\xbf"), true, "U+07FF"},
	{B("\xe0\xa0\x80"), true, "U+0800"},
	{B("\xe2\x82\xac"), true, "U+20AC"},
	{B("\xed\x9f\xbf"), true, "U+D7FF, below the surrogates"},
	{B("\xee\x80\x80"), true, "U+E000, above the surrogates"},
	{B("\xef\xbf\xbf"), true, "U+FFFF"},
	{B("\xf0\x90\x80\x80"), true, "U+10000"},
	{B("\xf4\x8f\xbf\xbf"), true, "U+10FFFF"},
	{B("\xc0\x80"), false, "overlong NUL"},
	{B("\xc1\xbf"), false, "overlong 2-byte"},
	{B("\xe0\x80\x80"), false, "overlong 3-byte NUL"},
	{B("\xe0\x9f\xbf"), false, "overlong U+07FF"},
	{B("\xf0\x80\x80\x80"), false, "overlong 4-byte NUL"},
	{B("\xf0\x8f\xbf\xbf"), false, "overlong U+FFFF"},
	{B("\xed\xa0\x80"), false, "surrogate U+D800"},
	{B("\xed\xbf\xbf"), false, "surrogate U+DFFF"},
	{B("\xf4\x90\x80\x80"), false, "U+110000"},
	{B("\xf5\x80\x80\x80"), false, "lead byte F5"},
	{B("\xff"), false, "byte FF"},
	{B("\x80"), false, "lone continuation"},
	{B("\xc3"), false, "truncated 2-byte"},
	{B("\xe2\x82"), false, "truncated 3-byte"},
	{B("\xf0\x9f\x98"), false, "truncated 4-byte"},
	{B("\xc3x"), false, "non-continuation"},
	{B("ok\xe2\x82\xac\xc3"), false, "valid then truncated"},
};

Test(fmt, utf8_valid)
{
	for (size_t i = 0; i < N(utf8_cases); i++) {
		const struct utf8_case *c = &utf8_cases[i];

		cr_expect_eq(fmt_utf8_valid(c->in.p, c->in.n), c->valid,
			     "%s: expected %s", c->what,
			     c->valid ? "valid" : "invalid");
	}
}

static const struct conv_case b64_cases[] = {
	/* RFC 4648, section 10. */
	{B(""), ""},
	{B("f"), "Zg=="},
	{B("fo"), "Zm8="},
	{B("foo"), "Zm9v"},
	{B("foob"), "Zm9vYg=="},
	{B("fooba"), "Zm9vYmE="},
	{B("foobar"), "Zm9vYmFy"},
	/* The two characters past the letters and digits. */
	{B("\xfb\xff"), "+/8="},
	{B("\xff\xff\xff"), "////"},
	{B("\0\0\0"), "AAAA"},
	{B("\0"), "AA=="},
};

Test(fmt, base64)
{
	for (size_t i = 0; i < N(b64_cases); i++) {
		struct sbuf b = SBUF_INIT;

		fmt_base64(&b, b64_cases[i].in.p, b64_cases[i].in.n);
		cr_expect_str_eq(sbuf_str(&b), b64_cases[i].out, "row %zu", i);
		sbuf_free(&b);
	}
}

/* What `hexdump -C [-v]` prints for these bytes. */
static char *real_hexdump(const void *data, size_t len, bool verbose)
{
	char path[] = "/tmp/sockctl-hexdump-XXXXXX", cmd[128];
	int fd = mkstemp(path);
	struct sbuf out = SBUF_INIT;
	char buf[4096], *s;
	size_t n;
	FILE *f;

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
	snprintf(cmd, sizeof(cmd), "hexdump -C %s'%s'", verbose ? "-v " : "",
		 path);
	f = popen(cmd, "r");
	cr_assert_not_null(f);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		sbuf_add(&out, buf, n);
	cr_assert_eq(pclose(f), 0,
		     "hexdump -C failed (is bsdextrautils "
		     "installed?)");
	unlink(path);
	s = strdup(sbuf_str(&out));
	sbuf_free(&out);
	return s;
}

static char *our_hexdump(const void *data, size_t len, size_t chunk)
{
	struct sbuf b = SBUF_INIT;
	const char *p = data;
	uint64_t off = 0;
	char *s;

	for (size_t i = 0; i < len; i += chunk)
		fmt_hexdump(&b, &off, p + i, len - i < chunk ? len - i : chunk);
	cr_assert_eq(off, len);
	fmt_hexdump_end(&b, off);
	s = strdup(sbuf_str(&b));
	sbuf_free(&b);
	return s;
}

static void check_hexdump(const void *data, size_t len, bool verbose)
{
	char *want = real_hexdump(data, len, verbose);
	/* Whole, and in 16-byte-aligned chunks: the same lines. */
	size_t chunks[] = {len ? len : 1, 16, 48};

	for (size_t i = 0; i < N(chunks); i++) {
		char *got = our_hexdump(data, len, chunks[i]);

		cr_expect_str_eq(got, want, "%zu bytes in chunks of %zu", len,
				 chunks[i]);
		free(got);
	}
	free(want);
}

Test(fmt, hexdump_matches_hexdump_C)
{
	unsigned char all[256], rnd[1000];
	unsigned x = 1;

	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	for (size_t i = 0; i < sizeof(rnd); i++) {
		x = x * 1103515245 + 12345;
		rnd[i] = (unsigned char)(x >> 16);
	}
	check_hexdump("hello\n", 6, false);
	check_hexdump("A", 1, false);
	check_hexdump("01234567", 8, false);
	check_hexdump("012345678", 9, false);
	check_hexdump("0123456789abcdef", 16, false);
	check_hexdump("0123456789abcdefg", 17, false);
	check_hexdump("GET / HTTP/1.0\r\n\r\n", 18, false);
	check_hexdump(all, sizeof(all), false);
	check_hexdump(rnd, sizeof(rnd), false);
}

/* Repeated lines: sockctl never squeezes them into '*', like hexdump -v. */
Test(fmt, hexdump_matches_hexdump_Cv_on_repeats)
{
	char same[100];

	memset(same, 'A', sizeof(same));
	check_hexdump(same, sizeof(same), true);
	memset(same, 0, sizeof(same));
	check_hexdump(same, sizeof(same), true);
}

/* No bytes: hexdump -C prints nothing at all, not even an offset. */
Test(fmt, hexdump_empty)
{
	char *want = real_hexdump("", 0, false);
	struct sbuf b = SBUF_INIT;
	uint64_t off = 0;

	fmt_hexdump(&b, &off, "", 0);
	fmt_hexdump_end(&b, off);
	cr_assert_str_eq(sbuf_str(&b), want);
	cr_assert_str_eq(want, "");
	free(want);
	sbuf_free(&b);
}

/* One hexdump -C line: offset, the hex column padded to its full width
 * (16 bytes, one extra space in the middle), and the text column. */
static void line(struct sbuf *b, const char *off, const char *hex,
		 const char *text)
{
	sbuf_addf(b, "%s  %-49s |%s|\n", off, hex, text);
}

/* A chunk that starts mid-line is dumped from its own stream offset. */
Test(fmt, hexdump_unaligned_chunks_keep_offsets)
{
	struct sbuf b = SBUF_INIT, want = SBUF_INIT;
	uint64_t off = 0;

	fmt_hexdump(&b, &off, "abc", 3);
	fmt_hexdump(&b, &off, "0123456789abcdefXY", 18);
	fmt_hexdump_end(&b, off);
	line(&want, "00000000", "61 62 63", "abc");
	line(&want, "00000003",
	     "30 31 32 33 34 35 36 37  38 39 61 62 63 64 65 66",
	     "0123456789abcdef");
	line(&want, "00000013", "58 59", "XY");
	sbuf_adds(&want, "00000015\n");
	cr_assert_str_eq(sbuf_str(&b), sbuf_str(&want));
	sbuf_free(&b);
	sbuf_free(&want);
}

/* Offsets past 4 GiB widen as hexdump's do (checked against
 * `hexdump -C -s 0x123456780` of a sparse file). */
Test(fmt, hexdump_large_offset)
{
	struct sbuf b = SBUF_INIT, want = SBUF_INIT;
	uint64_t off = 0x123456780ULL;

	fmt_hexdump(&b, &off, "z", 1);
	fmt_hexdump_end(&b, off);
	line(&want, "123456780", "7a", "z");
	sbuf_adds(&want, "123456781\n");
	cr_assert_str_eq(sbuf_str(&b), sbuf_str(&want));
	sbuf_free(&b);
	sbuf_free(&want);
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
