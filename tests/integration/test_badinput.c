/*
 * test_badinput.c - every command given malformed values: ports out of
 * range, negative or non-numeric durations, unknown escapes, bad CIDRs,
 * empty hosts, missing arguments, conflicting modes.  Each must exit 2
 * with exactly the error line and the `Try` line on stderr, nothing on
 * stdout, promptly, without a crash (the ASan build runs this too).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

#define T 10000
#define MAXARGS 12

struct bad {
	const char *argv[MAXARGS];
};

static const struct bad table[] = {
	/* resolve */
	{{"resolve", NULL}},
	{{"resolve", "", NULL}},
	{{"resolve", "-t", "bogus", "localhost", NULL}},
	{{"resolve", "a", "b", "c", NULL}},
	{{"resolve", "--pton", "300.1.1.1", NULL}},
	{{"resolve", "--ntop", "c0a801", NULL}},
	{{"resolve", "--ntop", "zz000000", NULL}},
	{{"resolve", "-r", "not-an-address", NULL}},
	{{"resolve", "-r", "127.0.0.1", "70000", NULL}},
	{{"resolve", "--byteorder", "-1", NULL}},
	{{"resolve", "--byteorder", "4294967296", NULL}},
	{{"resolve", "--service", "http", "--protocol", "tcp", NULL}},
	{{"resolve", "--service", "80/sctpx", NULL}},
	{{"resolve", "--protocol", "256", NULL}},
	{{"resolve", "--type", NULL}},
	/* opts */
	{{"opts", "get", "nosuchoption", NULL}},
	{{"opts", "set", "SO_RCVBUF", NULL}},
	{{"opts", "set", "SO_RCVBUF=lots", NULL}},
	{{"opts", "set", "SO_KEEPALIVE=maybe", NULL}},
	{{"opts", "set", "SO_LINGER=on:x", NULL}},
	{{"opts", "set", "SO_RCVTIMEO=-1", NULL}},
	{{"opts", "set", "SO_TYPE=1", NULL}},
	{{"opts", "set", "--udp", "nodelay=1", NULL}},
	{{"opts", "list", "--level", "bogus", NULL}},
	{{"opts", "frobnicate", NULL}},
	/* connect */
	{{"connect", NULL}},
	{{"connect", "127.0.0.1", NULL}},
	{{"connect", "127.0.0.1", "70000", NULL}},
	{{"connect", "127.0.0.1", "-5", NULL}},
	{{"connect", "127.0.0.1:", NULL}},
	{{"connect", ":80", NULL}},
	{{"connect", "", "80", NULL}},
	{{"connect", "::1:80", NULL}},
	{{"connect", "[::1:80", NULL}},
	{{"connect", "-w", "-1", "127.0.0.1", "80", NULL}},
	{{"connect", "-w", "soon", "127.0.0.1", "80", NULL}},
	{{"connect", "-i", "inf", "127.0.0.1", "80", NULL}},
	{{"connect", "--send", "\\q", "127.0.0.1", "80", NULL}},
	{{"connect", "--send", "\\x4", "127.0.0.1", "80", NULL}},
	{{"connect", "--rate", "fast", "127.0.0.1", "80", NULL}},
	{{"connect", "--retry", "-3", "127.0.0.1", "80", NULL}},
	{{"connect", "--eol", "cr", "127.0.0.1", "80", NULL}},
	{{"connect", "-z", "127.0.0.1", "80-70000", NULL}},
	{{"connect", "-z", "127.0.0.1", "90-80", NULL}},
	{{"connect", "--send-only", "--recv-only", "127.0.0.1", "80", NULL}},
	{{"connect", "-o", "nosuch=1", "127.0.0.1", "80", NULL}},
	{{"connect", "-o", "SO_RCVBUF", "127.0.0.1", "80", NULL}},
	{{"connect", "--unix", "", NULL}},
	{{"connect", "--unix", "/tmp/x", "127.0.0.1", "80", NULL}},
	{{"connect", "-p", "65536", "127.0.0.1", "80", NULL}},
	{{"connect", "--spin", "-1", "127.0.0.1", "80", NULL}},
	{{"connect", "--spin", "abc", "127.0.0.1", "80", NULL}},
	{{"connect", "--spin", "2000000", "127.0.0.1", "80", NULL}},
	{{"connect", "-z", "--spin", "5", "127.0.0.1", "80", NULL}},
	/* udp-send */
	{{"udp-send", NULL}},
	{{"udp-send", "127.0.0.1", NULL}},
	{{"udp-send", "127.0.0.1", "70000", "x", NULL}},
	{{"udp-send", "", "9", "x", NULL}},
	{{"udp-send", "127.0.0.1:", NULL}},
	{{"udp-send", "-w", "-1", "127.0.0.1", "9", "x", NULL}},
	{{"udp-send", "-w", "later", "127.0.0.1", "9", "x", NULL}},
	{{"udp-send", "--expect", "many", "127.0.0.1", "9", "x", NULL}},
	{{"udp-send", "-c", "-2", "127.0.0.1", "9", "x", NULL}},
	{{"udp-send", "--interval", "-0.5", "127.0.0.1", "9", "x", NULL}},
	{{"udp-send", "--ttl", "256", "127.0.0.1", "9", "x", NULL}},
	{{"udp-send", "127.0.0.1", "9", "bad\\q", NULL}},
	{{"udp-send", "127.0.0.1", "9", "\\xZZ", NULL}},
	{{"udp-send", "-o", "nodelay=1", "127.0.0.1", "9", "x", NULL}},
	{{"udp-send", "--unix", "", "x", NULL}},
	{{"udp-send", "--spin", "-1", "127.0.0.1", "9", "x", NULL}},
	{{"udp-send", "--spin", "2000000", "127.0.0.1", "9", "x", NULL}},
	/* udp-listen */
	{{"udp-listen", NULL}},
	{{"udp-listen", "70000", NULL}},
	{{"udp-listen", "-1", NULL}},
	{{"udp-listen", "0", "1", NULL}},
	{{"udp-listen", "--max-size", "0", "0", NULL}},
	{{"udp-listen", "--group", "10.0.0.1", "0", NULL}},
	{{"udp-listen", "--group", "nonsense", "0", NULL}},
	{{"udp-listen", "--prefix", "\\q", "0", NULL}},
	{{"udp-listen", "-c", "x", "0", NULL}},
	{{"udp-listen", "--echo", "--no-echo", "0", NULL}},
	{{"udp-listen", "--prefix", "a", "--timestamp", "0", NULL}},
	{{"udp-listen", "-b", "", "0", NULL}},
	{{"udp-listen", "-o", "SO_LINGER=maybe", "0", NULL}},
	{{"udp-listen", "--spin", "abc", "0", NULL}},
	{{"udp-listen", "--spin", "2000000", "0", NULL}},
	/* serve */
	{{"serve", NULL}},
	{{"serve", "--tcp", "70000", NULL}},
	{{"serve", "--tcp", "-1", NULL}},
	{{"serve", "--tcp", "", NULL}},
	{{"serve", "--tcp", "0", "--unix", "/tmp/sockctl-never", NULL}},
	{{"serve", "--tcp", "0", "extra", NULL}},
	{{"serve", "--tcp", "0", "--banner", "\\q", NULL}},
	{{"serve", "--tcp", "0", "--prefix", "\\x1", NULL}},
	{{"serve", "--tcp", "0", "--allow", "10.0.0.0/33", NULL}},
	{{"serve", "--tcp", "0", "--deny", "nonsense", NULL}},
	{{"serve", "--tcp", "0", "--allow", "", NULL}},
	{{"serve", "--tcp", "0", "-m", "-1", NULL}},
	{{"serve", "--tcp", "0", "-i", "-1", NULL}},
	{{"serve", "--tcp", "0", "-w", "soon", NULL}},
	{{"serve", "--tcp", "0", "--backlog", "x", NULL}},
	{{"serve", "--tcp", "0", "--echo", "--chat", NULL}},
	{{"serve", "--tcp", "0", "--log-format", "xml", NULL}},
	{{"serve", "--tcp", "0", "-b", "", NULL}},
	{{"serve", "--tcp", "0", "-o", "nosuch=1", NULL}},
	{{"serve", "--tcp", "0", "-N", NULL}},
	{{"serve", "--tcp", NULL}},
	{{"serve", "--tcp", "0", "--spin", "-1", NULL}},
	{{"serve", "--tcp", "0", "--spin", "abc", NULL}},
	{{"serve", "--tcp", "0", "--spin", "2000000", NULL}},
	{{"serve", "--tcp", "0", "--spin", NULL}},
};

static char *joined(const char *const *argv)
{
	static char buf[512];
	size_t n = 0;

	buf[0] = '\0';
	for (; *argv && n < sizeof(buf) - 64; argv++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "'%s' ", *argv);
	return buf;
}

/* Skip rows whose command is not built (the table grows with them). */
static bool have_command(const char *name)
{
	struct run r;
	bool ok;

	run_sockctl(&r, NULL, T, "--list-commands", NULL);
	ok = false;
	for (char *s = strtok(r.out, "\n"); s; s = strtok(NULL, "\n"))
		ok |= !strcmp(s, name);
	run_free(&r);
	return ok;
}

Test(badinput, every_malformed_value_is_a_usage_error)
{
	size_t n = sizeof(table) / sizeof(table[0]), checked = 0;

	for (size_t i = 0; i < n; i++) {
		const char *argv[MAXARGS + 1] = {sockctl_path()};
		const char *cmd = table[i].argv[0];
		char want[128];
		struct run r;
		size_t k;

		if (!have_command(cmd))
			continue;
		for (k = 0; table[i].argv[k]; k++)
			argv[k + 1] = table[i].argv[k];
		argv[k + 1] = NULL;
		run_argv(&r, NULL, T, argv);
		cr_expect_eq(r.status, 2, "%s: exit %d, stderr: %s",
			     joined(table[i].argv), r.status, r.err);
		cr_expect_str_empty(r.out, "%s: stdout: %s",
				    joined(table[i].argv), r.out);
		snprintf(want, sizeof(want), "sockctl: %s: ", cmd);
		cr_expect(!strncmp(r.err, want, strlen(want)), "%s: stderr: %s",
			  joined(table[i].argv), r.err);
		snprintf(want, sizeof(want), "\nTry 'sockctl %s --help'.\n",
			 cmd);
		cr_expect(strstr(r.err, want) &&
				  strlen(strstr(r.err, want)) == strlen(want) &&
				  count_lines(r.err) == 2,
			  "%s: stderr is not one error line plus Try: %s",
			  joined(table[i].argv), r.err);
		run_free(&r);
		checked++;
	}
	cr_assert(checked >= 40, "only %zu rows ran", checked);
}
