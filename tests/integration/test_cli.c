/*
 * test_cli.c - the top level: --help, --version, help CMD, unknown
 * commands with suggestions, bad flags, exit statuses of SPEC section 1.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

#define T 10000

Test(cli, help_lists_every_command)
{
	struct run r, l;

	cr_assert_eq(run_sockctl(&r, NULL, T, "--help", NULL), 0);
	cr_assert_eq(run_sockctl(&l, NULL, T, "--list-commands", NULL), 0);
	cr_assert(count_lines(l.out) >= 1);
	for (char *s = strtok(l.out, "\n"); s; s = strtok(NULL, "\n")) {
		char want[64];

		snprintf(want, sizeof(want), "\n  %s ", s);
		cr_assert(strstr(r.out, want), "--help lacks '%s':\n%s", s,
			  r.out);
	}
	cr_assert(strstr(r.out, "Usage: sockctl"));
	cr_assert_str_empty(r.err);
	run_free(&r);
	run_free(&l);
}

Test(cli, version)
{
	struct run r;

	cr_assert_eq(run_sockctl(&r, NULL, T, "--version", NULL), 0);
	cr_assert(!strncmp(r.out, "sockctl ", 8), "%s", r.out);
	cr_assert_eq(count_lines(r.out), 1);
	run_free(&r);
	cr_assert_eq(run_sockctl(&r, NULL, T, "-V", NULL), 0);
	cr_assert(!strncmp(r.out, "sockctl ", 8));
	run_free(&r);
}

Test(cli, help_command_equals_dash_dash_help)
{
	struct run a, b;

	cr_assert_eq(run_sockctl(&a, NULL, T, "help", "resolve", NULL), 0);
	cr_assert_eq(run_sockctl(&b, NULL, T, "resolve", "--help", NULL), 0);
	cr_assert_str_eq(a.out, b.out);
	cr_assert(strstr(a.out, "Usage: sockctl resolve"));
	run_free(&a);
	run_free(&b);
}

Test(cli, help_unknown_command_is_usage_error)
{
	struct run r;

	cr_assert_eq(run_sockctl(&r, NULL, T, "help", "nosuch", NULL), 2);
	cr_assert(strstr(r.err, "'nosuch' is not a sockctl command"));
	cr_assert_str_empty(r.out);
	run_free(&r);
}

Test(cli, unknown_command_suggests_closest)
{
	struct run r;

	cr_assert_eq(run_sockctl(&r, NULL, T, "resolv", NULL), 2);
	cr_assert(strstr(r.err, "sockctl: 'resolv' is not a sockctl command\n"
				"did you mean 'resolve'?\n"),
		  "%s", r.err);
	cr_assert_str_empty(r.out);
	run_free(&r);
}

Test(cli, unknown_command_without_close_match)
{
	struct run r;

	cr_assert_eq(run_sockctl(&r, NULL, T, "xyzzyplugh", NULL), 2);
	cr_assert(strstr(r.err, "'xyzzyplugh' is not a sockctl command"));
	cr_assert_null(strstr(r.err, "did you mean"));
	run_free(&r);
}

Test(cli, no_command)
{
	struct run r;

	cr_assert_eq(run_sockctl(&r, NULL, T, NULL), 2);
	cr_assert(strstr(r.err, "Try 'sockctl --help'."));
	run_free(&r);
}

Test(cli, bad_flag_of_every_command)
{
	struct run l;

	cr_assert_eq(run_sockctl(&l, NULL, T, "--list-commands", NULL), 0);
	for (char *s = strtok(l.out, "\n"); s; s = strtok(NULL, "\n")) {
		struct run r;
		char want[128];

		cr_assert_eq(
			run_sockctl(&r, NULL, T, s, "--no-such-flag", NULL), 2,
			"%s --no-such-flag", s);
		snprintf(want, sizeof(want),
			 "sockctl: %s: unknown option '--no-such-flag'\n"
			 "Try 'sockctl %s --help'.\n",
			 s, s);
		cr_assert_str_eq(r.err, want);
		cr_assert_str_empty(r.out);
		run_free(&r);
		cr_assert_eq(run_sockctl(&r, NULL, T, s, "--help", NULL), 0);
		cr_assert(strstr(r.out, "Usage: sockctl "), "%s", s);
		run_free(&r);
	}
	run_free(&l);
}

Test(cli, unknown_top_level_flag)
{
	struct run r;

	cr_assert_eq(run_sockctl(&r, NULL, T, "--bogus", NULL), 2);
	cr_assert(strstr(r.err, "sockctl: unknown option '--bogus'\n"
				"Try 'sockctl --help'.\n"));
	run_free(&r);
}

Test(cli, write_error_on_stdout_is_exit_1)
{
	const char *argv[] = {"sh", "-c", "exec \"$0\" --help > /dev/full",
			      sockctl_path(), NULL};
	struct run r;

	cr_assert_eq(run_argv(&r, NULL, T, argv), 1);
	cr_assert(strstr(r.err, "sockctl: write error: No space left"), "%s",
		  r.err);
	run_free(&r);
}
