/*
 * test_server.c - the pure parts of the server: the line framing of
 * --prefix/--timestamp, chat line assembly, nicknames and the --print
 * format.  Table-driven where the input is a table.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

/* Feed chunks one after another, as reads would deliver them. */
static char *frame(const char *prefix, const char *const chunks[])
{
	struct sbuf out = SBUF_INIT;
	bool mid = false;
	char *got;

	for (int i = 0; chunks[i]; i++)
		server_frame_prefix(&out, prefix, strlen(prefix), chunks[i],
				    strlen(chunks[i]), &mid);
	got = strndup(out.data ? out.data : "", out.len);
	sbuf_free(&out);
	return got;
}

Test(server, prefix_framing)
{
	static const struct {
		const char *chunks[4];
		const char *want;
	} cases[] = {
		{{"hello\n", NULL}, "OK...hello\n"},
		{{"hello", NULL}, "OK...hello"},
		{{"hel", "lo\n", NULL}, "OK...hello\n"},
		{{"a\nb\n", NULL}, "OK...a\nOK...b\n"},
		{{"a\n", "\n", "b", NULL}, "OK...a\nOK...\nOK...b"},
		{{"x", "\n", "y\n", NULL}, "OK...x\nOK...y\n"},
		{{"\n\n", NULL}, "OK...\nOK...\n"},
		{{"", NULL}, ""},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = frame("OK...", cases[i].chunks);

		cr_expect_str_eq(got, cases[i].want, "case %zu", i);
		free(got);
	}
}

Test(server, prefix_framing_keeps_binary_bytes)
{
	struct sbuf out = SBUF_INIT;
	bool mid = false;
	const char data[] = {'a', '\0', '\n', 'b'};

	server_frame_prefix(&out, "> ", 2, data, sizeof(data), &mid);
	cr_assert_eq(out.len, 2 + 3 + 2 + 1);
	cr_assert_eq(memcmp(out.data, "> a\0\n> b", out.len), 0);
	cr_assert(mid);
	sbuf_free(&out);
}

struct lines {
	char got[1024];
	size_t n;
};

static void collect(const char *line, size_t len, void *arg)
{
	struct lines *l = arg;

	strncat(l->got, "[", sizeof(l->got) - strlen(l->got) - 1);
	strncat(l->got, line,
		len < sizeof(l->got) - strlen(l->got) - 1
			? len
			: sizeof(l->got) - strlen(l->got) - 1);
	strncat(l->got, "]", sizeof(l->got) - strlen(l->got) - 1);
	l->n++;
}

Test(server, chat_lines)
{
	static const struct {
		const char *chunks[4];
		size_t max;
		const char *want;
		const char *rest;
	} cases[] = {
		{{"hi\n", NULL}, 16, "[hi]", ""},
		{{"hi\r\n", NULL}, 16, "[hi]", ""},
		{{"h", "i\n", NULL}, 16, "[hi]", ""},
		{{"a\nb\nc", NULL}, 16, "[a][b]", "c"},
		{{"\n", NULL}, 16, "[]", ""},
		{{"abcdefgh", NULL}, 4, "[abcd]", "efgh"},
		{{"abcdefghij\n", NULL}, 4, "[abcd][efgh][ij]", ""},
		{{"ab", "cdef\n", NULL}, 4, "[abcd][ef]", ""},
		{{"abcd\n", NULL}, 4, "[abcd]", ""},
		{{"x\r", "\n", NULL}, 16, "[x]", ""},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lines l = {0};
		char *buf = NULL;
		size_t blen = 0;

		for (int k = 0; cases[i].chunks[k]; k++)
			server_lines(&buf, &blen, cases[i].max,
				     cases[i].chunks[k],
				     strlen(cases[i].chunks[k]), collect, &l);
		cr_expect_str_eq(l.got, cases[i].want, "case %zu", i);
		cr_expect_eq(blen, strlen(cases[i].rest), "case %zu", i);
		if (blen)
			cr_expect_eq(memcmp(buf, cases[i].rest, blen), 0,
				     "case %zu", i);
		else
			cr_expect_null(buf, "case %zu: buffer kept", i);
		free(buf);
	}
}

Test(server, chat_lines_never_exceed_max)
{
	char big[10000];
	struct lines l = {0};
	char *buf = NULL;
	size_t blen = 0, n;

	memset(big, 'x', sizeof(big));
	n = server_lines(&buf, &blen, SERVER_LINE_MAX, big, sizeof(big),
			 collect, &l);
	cr_assert_eq(n, sizeof(big) / SERVER_LINE_MAX);
	cr_assert_eq(blen, sizeof(big) % SERVER_LINE_MAX);
	free(buf);
}

Test(server, nicknames)
{
	static const struct {
		const char *nick;
		bool ok;
	} cases[] = {
		{"bob", true},
		{"Bob_2.0-x", true},
		{"", false},
		{"server", false},
		{"SERVER", false},
		{"servers", true},
		{"two words", false},
		{"\x1b[31m", false},
		{"<bob>", false},
		{"a:b", false},
		{"01234567890123456789012345678901", true},
		{"012345678901234567890123456789012", false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_eq(
			server_nick_valid(cases[i].nick, strlen(cases[i].nick)),
			cases[i].ok, "'%s'", cases[i].nick);
}

Test(server, print_format)
{
	static const struct {
		const char *chunks[4];
		const char *want;
	} cases[] = {
		{{"hello\n", NULL}, "P: hello\n"},
		{{"a\nb\n", NULL}, "P: a\nP: b\n"},
		{{"part", "\n", NULL}, "P: part\n"},
		{{"part", "rest\n", NULL}, "P: part\nP: rest\n"},
		{{"\n", NULL}, "P: \n"},
		{{"\x1b[2J\t\\\r\n", NULL}, "P: \\x1b[2J\\t\\\\\\r\n"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sbuf out = SBUF_INIT;
		bool mid = false;

		for (int k = 0; cases[i].chunks[k]; k++)
			server_format_print(&out, "P", cases[i].chunks[k],
					    strlen(cases[i].chunks[k]), &mid);
		cr_expect_str_eq(sbuf_str(&out), cases[i].want, "case %zu", i);
		sbuf_free(&out);
	}
}

Test(server, raise_nofile)
{
	uint64_t limit = 0;

	cr_assert_eq(server_raise_nofile(&limit), 0);
	cr_assert(limit >= 64);
}
