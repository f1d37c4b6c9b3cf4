/*
 * main.c - the command table, top-level flags and dispatch.
 *
 * `sockctl COMMAND ARGS...` runs cmd_COMMAND(argc, argv) with argv[0] the
 * command's name; its return value is the exit status (SPEC section 1).
 * A command is in the table only once it works.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "err.h"

const struct cmd cmd_table[] = {
	{"serve", cmd_serve, "serve many TCP or Unix-socket clients at once",
	 cmd_serve_help},
	{"connect", cmd_connect, "TCP or Unix stream client: prompt or relay",
	 cmd_connect_help},
	{"udp-send", cmd_udp_send, "UDP (or Unix datagram) client",
	 cmd_udp_send_help},
	{"udp-listen", cmd_udp_listen, "UDP (or Unix datagram) server",
	 cmd_udp_listen_help},
	{"resolve", cmd_resolve,
	 "look up names, addresses, services, protocols", cmd_resolve_help},
	{"opts", cmd_opts, "list, get and set socket options", cmd_opts_help},
};
const size_t cmd_count = sizeof(cmd_table) / sizeof(cmd_table[0]);

static const struct cmd *find_cmd(const char *name)
{
	for (size_t i = 0; i < cmd_count; i++)
		if (!strcmp(cmd_table[i].name, name))
			return &cmd_table[i];
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: sockctl [-h|--help] [-V|--version] COMMAND [ARGS...]\n"
		"       sockctl help [COMMAND]\n"
		"       sockctl COMMAND --help\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < cmd_count; i++)
		fprintf(f, "  %-12s %s\n", cmd_table[i].name,
			cmd_table[i].summary);
	fprintf(f, "\n"
		   "Options:\n"
		   "  -h, --help     show this help\n"
		   "  -V, --version  show the version\n"
		   "\n"
		   "Exit status: 0 done, 1 failure, 2 usage error, 3 name did "
		   "not resolve,\n"
		   "4 nothing listens there, 5 timed out.  See sockctl(1).\n");
}

/* Edit distance, to suggest a command for a typo. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[64], cur[64];

	if (la >= 63 || lb >= 63)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? (sub < ins ? sub : ins)
					   : (del < ins ? del : ins);
		}
		memcpy(prev, cur, (lb + 1) * sizeof(prev[0]));
	}
	return prev[lb];
}

static int unknown_command(const char *name)
{
	const struct cmd *best = NULL;
	size_t bestd = 3; /* suggest only within two edits, or a prefix */

	for (size_t i = 0; i < cmd_count; i++) {
		size_t d = distance(name, cmd_table[i].name);

		if (*name && !strncmp(cmd_table[i].name, name, strlen(name)))
			d = 1;
		if (d < bestd) {
			bestd = d;
			best = &cmd_table[i];
		}
	}
	fprintf(stderr, "sockctl: '%s' is not a sockctl command\n", name);
	if (best)
		fprintf(stderr, "did you mean '%s'?\n", best->name);
	fprintf(stderr, "Try 'sockctl --help'.\n");
	return EXIT_USAGE;
}

static int help_command(int argc, char **argv)
{
	if (argc < 2) {
		usage(stdout);
		return EXIT_OK;
	}
	if (argc > 2)
		return cli_usage("help", "too many arguments");
	if (!find_cmd(argv[1]))
		return unknown_command(argv[1]);
	return cli_help(argv[1]);
}

int main(int argc, char **argv)
{
	const struct cmd *cmd;
	const char *arg;

	/* A write to a closed peer is an error of that write, not a death. */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		return cli_usage(NULL, "missing command");
	arg = argv[1];
	if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
		usage(stdout);
		return cli_finish(EXIT_OK);
	}
	if (!strcmp(arg, "-V") || !strcmp(arg, "--version")) {
		puts("sockctl " SOCKCTL_VERSION);
		return cli_finish(EXIT_OK);
	}
	if (!strcmp(arg, "--list-commands")) {
		for (size_t i = 0; i < cmd_count; i++)
			puts(cmd_table[i].name);
		return cli_finish(EXIT_OK);
	}
	if (!strcmp(arg, "help"))
		return cli_finish(help_command(argc - 1, argv + 1));
	if (arg[0] == '-')
		return cli_usage(NULL, "unknown option '%s'", arg);
	cmd = find_cmd(arg);
	if (!cmd)
		return unknown_command(arg);
	return cli_finish(cmd->run(argc - 1, argv + 1));
}
