/*
 * cli.h - what every command shares at the user-facing layer: the command
 * table entry, diagnostics in the `sockctl: COMMAND: WHAT: WHY` form, usage
 * errors with their `Try` line, getopt error reporting, and the final
 * check of stdout.  Only main.c and cmd_*.c use this; it prints and the
 * layers below never do.
 */
#ifndef SOCKCTL_CLI_H
#define SOCKCTL_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sockopt.h"

struct cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
	const char *help; /* full usage text, printed by --help */
};

extern const struct cmd cmd_table[];
extern const size_t cmd_count;

/* The commands (one file each). */
int cmd_serve(int argc, char **argv);
extern const char cmd_serve_help[];
int cmd_connect(int argc, char **argv);
extern const char cmd_connect_help[];
int cmd_udp_send(int argc, char **argv);
extern const char cmd_udp_send_help[];
int cmd_udp_listen(int argc, char **argv);
extern const char cmd_udp_listen_help[];
int cmd_resolve(int argc, char **argv);
extern const char cmd_resolve_help[];
int cmd_opts(int argc, char **argv);
extern const char cmd_opts_help[];

/* `sockctl: CMD: message` on stderr. */
void cli_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The same plus `Try 'sockctl CMD --help'.`; returns EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* `sockctl: CMD: WHAT: strerror`; returns the exit status for err. */
int cli_fail(const char *cmd, const char *what, int err);
/*
 * Report a getopt_long() failure ('?' or ':' with an optstring that starts
 * with ':'); returns EXIT_USAGE.
 */
int cli_bad_option(const char *cmd, int c, char **argv);
/* Print a command's --help text to stdout; returns 0. */
int cli_help(const char *cmd);
/*
 * A flag's value as a duration in ms / an unsigned number in [min, max];
 * a bad one is a usage error: `invalid FLAG 'ARG': WHY`.
 */
int cli_duration_ms(const char *cmd, const char *flag, const char *arg,
		    int64_t *ret);
int cli_uint(const char *cmd, const char *flag, const char *arg, uint64_t min,
	     uint64_t max, uint64_t *ret);

/* --spin USEC, the event loop's busy-poll window (loop_set_spin), in the
 * four commands that run the loop: its --help lines and its value. */
#define CLI_SPIN_HELP                                                     \
	"      --spin USEC        after traffic, poll USEC microseconds " \
	"before sleeping\n"                                               \
	"                         (default 100, none while other tasks "  \
	"wait for a CPU;\n"                                               \
	"                         0: sleep at once)\n"
int cli_spin(const char *cmd, const char *arg, unsigned *ret);

/*
 * -o NAME=VALUE arguments as typed: which socket kind they name is known
 * only once every flag (--unix, -4, -6) has been read.
 */
struct cli_sockopts {
	const char **args;
	size_t n;
};

int cli_sockopt_arg(const char *cmd, struct cli_sockopts *a, const char *arg);
/* Parse them all for kinds into out; a bad one is a usage error. */
int cli_sockopts_parse(const char *cmd, const struct cli_sockopts *a,
		       unsigned kinds, struct sockopt_list *out);
void cli_sockopts_free(struct cli_sockopts *a);

/* Flush stdout; a write error there (full disk, closed pipe) is exit 1. */
int cli_finish(int status);

#endif
