/*
 * cli.c - diagnostics and usage errors shared by the commands.
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "net.h"
#include "parse.h"

__attribute__((format(printf, 2, 0))) static void verror(const char *cmd,
							 const char *fmt,
							 va_list ap)
{
	fflush(stdout);
	fputs("sockctl: ", stderr);
	if (cmd)
		fprintf(stderr, "%s: ", cmd);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void cli_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(cmd, fmt, ap);
	va_end(ap);
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(cmd, fmt, ap);
	va_end(ap);
	if (cmd)
		fprintf(stderr, "Try 'sockctl %s --help'.\n", cmd);
	else
		fprintf(stderr, "Try 'sockctl --help'.\n");
	return EXIT_USAGE;
}

int cli_fail(const char *cmd, const char *what, int err)
{
	cli_error(cmd, "%s: %s", what, net_strerror(err));
	return net_exit_status(err);
}

int cli_bad_option(const char *cmd, int c, char **argv)
{
	const char *arg = argv[optind - 1];

	if (c == ':') {
		/* For a long option optopt is its val (often >= 256), not a
		 * character: name it as it was typed. */
		if (optopt > 0 && optopt < 128 && isgraph(optopt) &&
		    strncmp(arg, "--", 2))
			return cli_usage(cmd, "option '-%c' needs a value",
					 optopt);
		return cli_usage(cmd, "option '%s' needs a value", arg);
	}
	if (optopt)
		return cli_usage(cmd, "unknown option '-%c'", optopt);
	return cli_usage(cmd, "unknown option '%s'", arg);
}

int cli_help(const char *cmd)
{
	for (size_t i = 0; i < cmd_count; i++) {
		if (strcmp(cmd_table[i].name, cmd))
			continue;
		fputs(cmd_table[i].help, stdout);
		return EXIT_OK;
	}
	return EXIT_USAGE;
}

int cli_duration_ms(const char *cmd, const char *flag, const char *arg,
		    int64_t *ret)
{
	const char *why;

	if (parse_duration_ms(arg, ret, &why) < 0)
		return cli_usage(cmd, "invalid %s '%s': %s", flag, arg, why);
	return 0;
}

int cli_uint(const char *cmd, const char *flag, const char *arg, uint64_t min,
	     uint64_t max, uint64_t *ret)
{
	const char *why;

	if (parse_uint(arg, min, max, ret, &why) < 0)
		return cli_usage(cmd, "invalid %s '%s': %s", flag, arg, why);
	return 0;
}

int cli_spin(const char *cmd, const char *arg, unsigned *ret)
{
	uint64_t us;
	int r = cli_uint(cmd, "--spin", arg, 0, 1000000, &us);

	if (r == 0)
		*ret = (unsigned)us;
	return r;
}

int cli_sockopt_arg(const char *cmd, struct cli_sockopts *a, const char *arg)
{
	const char **v = realloc(a->args, (a->n + 1) * sizeof(*v));

	if (!v)
		return cli_fail(cmd, "memory", -ENOMEM);
	v[a->n++] = arg;
	a->args = v;
	return 0;
}

int cli_sockopts_parse(const char *cmd, const struct cli_sockopts *a,
		       unsigned kinds, struct sockopt_list *out)
{
	char err[SOCKOPT_ERRLEN];

	for (size_t i = 0; i < a->n; i++)
		if (sockopt_list_add(out, a->args[i], kinds, err) < 0)
			return cli_usage(cmd, "%s", err);
	return 0;
}

void cli_sockopts_free(struct cli_sockopts *a)
{
	free(a->args);
	a->args = NULL;
	a->n = 0;
}

int cli_finish(int status)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		/* EPIPE: the reader went away, which is not our failure. */
		if (errno == EPIPE)
			return status;
		cli_error(NULL, "write error: %s", strerror(errno));
		return status ? status : EXIT_FAIL;
	}
	return status;
}
