/*
 * cmd_connect.c - `sockctl connect`: the TCP (or Unix stream) client.
 *
 * Interactive mode puts a readline prompt and the socket in one event
 * loop; pipe mode is a lossless full-duplex relay (relay.c) that ends when
 * the peer closes, even while stdin is still open.  -z checks ports
 * instead.  This file parses the options, connects (with retries), wires
 * the relay, the prompt and the timers together, and decides how the
 * session ends and with which exit status.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "fmt.h"
#include "loop.h"
#include "net.h"
#include "parse.h"
#include "prompt.h"
#include "relay.h"
#include "sockopt.h"

#define CMD "connect"

/* A scan port that neither accepts nor refuses is given up after this. */
#define SCAN_TIMEOUT_MS 2000

const char cmd_connect_help[] =
	"Usage: sockctl connect [options] HOST PORT\n"
	"       sockctl connect [options] HOST:PORT\n"
	"       sockctl connect [options] --unix PATH\n"
	"       sockctl connect -z [options] HOST PORTS   (22,80,8000-8010)\n"
	"\n"
	"A TCP (or Unix stream) client.  With a terminal on stdin it is a\n"
	"readline prompt: each line typed is sent, what the peer sends is\n"
	"printed above the prompt.  Otherwise it relays stdin to the peer and\n"
	"the peer to stdout, and exits 0 when the peer closes.\n"
	"\n"
	"Modes:\n"
	"  -I, --interactive      a prompt even when stdin is not a terminal\n"
	"      --pipe             a byte relay even when stdin is a terminal\n"
	"  -z, --scan             only check which of PORTS accept a "
	"connection\n"
	"\n"
	"Connecting:\n"
	"  -4, -6                 IPv4 / IPv6 only\n"
	"      --unix PATH        a Unix stream socket (@NAME: abstract)\n"
	"  -s, --source ADDR      local address to bind\n"
	"  -p, --source-port PORT  local port to bind\n"
	"  -w, --connect-timeout SECS  give up connecting after SECS\n"
	"      --retry N          if connecting fails, try N more times\n"
	"      --retry-delay SECS  wait between tries (default 1)\n"
	"\n"
	"Interactive mode:\n"
	"      --prompt STR       the prompt (default 'HOST:PORT> ')\n"
	"      --eol EOL          line ending sent: lf, crlf or none "
	"(default lf)\n"
	"  -C, --crlf             the same as --eol crlf\n"
	"      --history FILE     history file (default "
	"$XDG_STATE_HOME/sockctl/history)\n"
	"      --no-history       keep no history\n"
	"      --linger SECS      after Ctrl-D wait SECS for the peer "
	"(default 1)\n"
	"\n"
	"Data:\n"
	"      --send STR         send STR (escapes: \\n \\r \\t \\0 \\\\ "
	"\\xHH), shut down the\n"
	"                         write side, print the reply; stdin is not "
	"read\n"
	"      --send-only        drop what the peer sends; its EOF does not "
	"end the session\n"
	"      --recv-only        never read stdin; shut the write side down "
	"at once\n"
	"      --no-shutdown      do not shut down the write side at stdin "
	"EOF\n"
	"      --quit-after SECS  after stdin EOF, wait at most SECS for the "
	"peer\n"
	"  -i, --idle-timeout SECS  give up after SECS without traffic\n"
	"      --delay SECS       wait SECS after each line sent\n"
	"      --rate SIZE        send at most SIZE bytes a second (k, m)\n"
	"  -x, --hex              show received data as a hex dump\n"
	"      --progress[=always]  a live byte count on stderr (a terminal, "
	"or always)\n"
	"      --trace FILE       record every chunk sent and received in "
	"FILE\n"
	"      --no-splice        copy through a buffer instead of "
	"splice(2)\n" CLI_SPIN_HELP "\n"
	"Common options:\n"
	"  -o, --sockopt NAME=VALUE  set a socket option (sockctl opts list)\n"
	"      --json             --trace and -z write JSON lines\n"
	"  -v, --verbose          connection details, failed addresses, "
	"byte counts\n"
	"  -q, --quiet            no status lines\n"
	"  -h, --help             show this help\n"
	"\n"
	"SIGUSR1 prints the byte counts so far.  Exit status: 0 done, 1 "
	"failure,\n"
	"2 usage error, 3 name did not resolve, 4 refused (-z: none open),\n"
	"5 timed out.\n";

enum eol { EOL_LF, EOL_CRLF, EOL_NONE };

struct opts {
	bool interactive, pipe, scan;
	int family;
	const char *unix_path;
	const char *src_host, *src_port;
	int64_t connect_ms; /* -1: as long as the kernel tries */
	uint64_t retries;
	int64_t retry_delay_ms;
	struct cli_sockopts
		sockopt_args; /* -o, parsed once the kind is known */
	struct sockopt_list sockopts;
	const char *prompt;
	enum eol eol;
	bool eol_given;
	const char *history;
	bool no_history;
	int64_t after_eof_ms; /* --linger / --quit-after; -2: not given */
	char *send;
	size_t send_len;
	bool has_send;
	bool send_only, recv_only, no_shutdown;
	int64_t idle_ms;
	int64_t delay_ms;
	uint64_t rate;
	bool hex;
	int progress; /* 0 off, 1 on a terminal, 2 always */
	const char *trace;
	bool no_splice;
	unsigned spin_us; /* the loop's busy-poll window (loop_set_spin) */
	bool json, verbose, quiet;
	const char *data_opt; /* a data option, for -z's complaint */
	/* The address as given. */
	char host[PARSE_HOST_MAX], port[PARSE_PORT_MAX];
	const char *ports; /* -z */
};

struct session {
	struct opts *o;
	struct loop *loop;
	struct relay *relay;
	struct prompt *prompt;
	int sock, in_fd, out_fd;
	char peer[NET_ADDRSTRLEN];
	bool interactive;
	bool input_done, peer_done, user_eof;
	int send_err;
	int status;
	int64_t start_ms, last_traffic_ms;
	struct relay_hooks hooks;
	struct loop_timer *idle_t, *after_eof_t, *progress_t;
	FILE *trace;
	struct sbuf line; /* scratch for trace lines */
	uint64_t hex_off;
	bool held_cr; /* --eol none: a CR that may precede LF */
	bool last_cr; /* --eol crlf: the last byte sent was CR */
	uint64_t prog_bytes;
	int64_t prog_ms;
	bool prog_tty, prog_shown;
	int signo; /* SIGINT/SIGTERM that ended the session */
};

enum {
	OPT_PIPE = 256,
	OPT_UNIX,
	OPT_RETRY,
	OPT_RETRY_DELAY,
	OPT_PROMPT,
	OPT_EOL,
	OPT_HISTORY,
	OPT_NO_HISTORY,
	OPT_LINGER,
	OPT_SEND,
	OPT_SEND_ONLY,
	OPT_RECV_ONLY,
	OPT_NO_SHUTDOWN,
	OPT_QUIT_AFTER,
	OPT_DELAY,
	OPT_RATE,
	OPT_PROGRESS,
	OPT_TRACE,
	OPT_NO_SPLICE,
	OPT_SPIN,
	OPT_JSON,
};

static const struct option longopts[] = {
	{"interactive", no_argument, NULL, 'I'},
	{"pipe", no_argument, NULL, OPT_PIPE},
	{"scan", no_argument, NULL, 'z'},
	{"unix", required_argument, NULL, OPT_UNIX},
	{"source", required_argument, NULL, 's'},
	{"source-port", required_argument, NULL, 'p'},
	{"connect-timeout", required_argument, NULL, 'w'},
	{"retry", required_argument, NULL, OPT_RETRY},
	{"retry-delay", required_argument, NULL, OPT_RETRY_DELAY},
	{"prompt", required_argument, NULL, OPT_PROMPT},
	{"eol", required_argument, NULL, OPT_EOL},
	{"crlf", no_argument, NULL, 'C'},
	{"history", required_argument, NULL, OPT_HISTORY},
	{"no-history", no_argument, NULL, OPT_NO_HISTORY},
	{"linger", required_argument, NULL, OPT_LINGER},
	{"send", required_argument, NULL, OPT_SEND},
	{"send-only", no_argument, NULL, OPT_SEND_ONLY},
	{"recv-only", no_argument, NULL, OPT_RECV_ONLY},
	{"no-shutdown", no_argument, NULL, OPT_NO_SHUTDOWN},
	{"quit-after", required_argument, NULL, OPT_QUIT_AFTER},
	{"idle-timeout", required_argument, NULL, 'i'},
	{"delay", required_argument, NULL, OPT_DELAY},
	{"rate", required_argument, NULL, OPT_RATE},
	{"hex", no_argument, NULL, 'x'},
	{"progress", optional_argument, NULL, OPT_PROGRESS},
	{"trace", required_argument, NULL, OPT_TRACE},
	{"no-splice", no_argument, NULL, OPT_NO_SPLICE},
	{"spin", required_argument, NULL, OPT_SPIN},
	{"sockopt", required_argument, NULL, 'o'},
	{"json", no_argument, NULL, OPT_JSON},
	{"verbose", no_argument, NULL, 'v'},
	{"quiet", no_argument, NULL, 'q'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* ---- option parsing ---- */

static int parse_eol(const char *s, enum eol *ret)
{
	if (!strcmp(s, "lf"))
		*ret = EOL_LF;
	else if (!strcmp(s, "crlf"))
		*ret = EOL_CRLF;
	else if (!strcmp(s, "none"))
		*ret = EOL_NONE;
	else
		return cli_usage(CMD,
				 "invalid --eol '%s': expected lf, crlf "
				 "or none",
				 s);
	return 0;
}

static int parse_progress(const char *s, int *ret)
{
	if (!s)
		*ret = 1;
	else if (!strcmp(s, "always"))
		*ret = 2;
	else
		return cli_usage(CMD,
				 "invalid --progress '%s': expected "
				 "always",
				 s);
	return 0;
}

static int parse_send(struct opts *o, const char *s)
{
	const char *why;

	free(o->send);
	if (parse_escapes(s, &o->send, &o->send_len, &why) < 0)
		return cli_usage(CMD, "invalid --send '%s': %s", s, why);
	o->has_send = true;
	return 0;
}

static int parse_rate(struct opts *o, const char *s)
{
	const char *why;

	if (parse_size(s, &o->rate, &why) < 0)
		return cli_usage(CMD, "invalid --rate '%s': %s", s, why);
	if (o->rate == 0)
		return cli_usage(CMD,
				 "invalid --rate '%s': must be more "
				 "than 0",
				 s);
	return 0;
}

/* Options that only make sense with a connection; -z refuses them. */
static bool data_option(int c)
{
	switch (c) {
	case 'I':
	case OPT_PIPE:
	case OPT_PROMPT:
	case OPT_EOL:
	case 'C':
	case OPT_HISTORY:
	case OPT_NO_HISTORY:
	case OPT_LINGER:
	case OPT_SEND:
	case OPT_SEND_ONLY:
	case OPT_RECV_ONLY:
	case OPT_NO_SHUTDOWN:
	case OPT_QUIT_AFTER:
	case 'i':
	case OPT_DELAY:
	case OPT_RATE:
	case 'x':
	case OPT_PROGRESS:
	case OPT_TRACE:
	case OPT_NO_SPLICE:
	case OPT_SPIN:
		return true;
	default:
		return false;
	}
}

static int parse_one(struct opts *o, int c, char **argv)
{
	switch (c) {
	case 'I':
		o->interactive = true;
		return 0;
	case OPT_PIPE:
		o->pipe = true;
		return 0;
	case 'z':
		o->scan = true;
		return 0;
	case '4':
		o->family = AF_INET;
		return 0;
	case '6':
		o->family = AF_INET6;
		return 0;
	case OPT_UNIX:
		o->unix_path = optarg;
		return 0;
	case 's':
		o->src_host = optarg;
		return 0;
	case 'p':
		o->src_port = optarg;
		return 0;
	case 'w':
		return cli_duration_ms(CMD, "--connect-timeout", optarg,
				       &o->connect_ms);
	case OPT_RETRY:
		return cli_uint(CMD, "--retry", optarg, 0, 1000000,
				&o->retries);
	case OPT_RETRY_DELAY:
		return cli_duration_ms(CMD, "--retry-delay", optarg,
				       &o->retry_delay_ms);
	case OPT_PROMPT:
		o->prompt = optarg;
		return 0;
	case OPT_EOL:
		o->eol_given = true;
		return parse_eol(optarg, &o->eol);
	case 'C':
		o->eol_given = true;
		o->eol = EOL_CRLF;
		return 0;
	case OPT_HISTORY:
		o->history = optarg;
		return 0;
	case OPT_NO_HISTORY:
		o->no_history = true;
		return 0;
	case OPT_LINGER:
		return cli_duration_ms(CMD, "--linger", optarg,
				       &o->after_eof_ms);
	case OPT_QUIT_AFTER:
		return cli_duration_ms(CMD, "--quit-after", optarg,
				       &o->after_eof_ms);
	case OPT_SEND:
		return parse_send(o, optarg);
	case OPT_SEND_ONLY:
		o->send_only = true;
		return 0;
	case OPT_RECV_ONLY:
		o->recv_only = true;
		return 0;
	case OPT_NO_SHUTDOWN:
		o->no_shutdown = true;
		return 0;
	case 'i':
		return cli_duration_ms(CMD, "--idle-timeout", optarg,
				       &o->idle_ms);
	case OPT_DELAY:
		return cli_duration_ms(CMD, "--delay", optarg, &o->delay_ms);
	case OPT_RATE:
		return parse_rate(o, optarg);
	case 'x':
		o->hex = true;
		return 0;
	case OPT_PROGRESS:
		return parse_progress(optarg, &o->progress);
	case OPT_TRACE:
		o->trace = optarg;
		return 0;
	case OPT_NO_SPLICE:
		o->no_splice = true;
		return 0;
	case OPT_SPIN:
		return cli_spin(CMD, optarg, &o->spin_us);
	case 'o':
		return cli_sockopt_arg(CMD, &o->sockopt_args, optarg);
	case OPT_JSON:
		o->json = true;
		return 0;
	case 'v':
		o->verbose = true;
		return 0;
	case 'q':
		o->quiet = true;
		return 0;
	default:
		return cli_bad_option(CMD, c, argv);
	}
}

/* The kinds of socket -o options may name: TCP of either family, or
 * Unix stream. */
static unsigned sockopt_kinds(const struct opts *o)
{
	if (o->unix_path)
		return SOCKOPT_UNIX;
	if (o->family == AF_INET)
		return SOCKOPT_TCP;
	if (o->family == AF_INET6)
		return SOCKOPT_TCP6;
	return SOCKOPT_TCP | SOCKOPT_TCP6;
}

/* Returns 0 to go on, -1 after --help, or an exit status > 0. */
static int parse_opts(int argc, char **argv, struct opts *o)
{
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, ":IzC46s:p:w:i:xo:vqh", longopts,
				NULL)) != -1) {
		if (c == 'h') {
			cli_help(CMD);
			return -1;
		}
		/* The flag as typed: a value in its own word follows it. */
		if (data_option(c) && !o->data_opt)
			o->data_opt = optarg && optarg == argv[optind - 1]
					      ? argv[optind - 2]
					      : argv[optind - 1];
		if ((r = parse_one(o, c, argv)))
			return r;
	}
	return cli_sockopts_parse(CMD, &o->sockopt_args, sockopt_kinds(o),
				  &o->sockopts);
}

/* ---- checking what was asked ---- */

static int check_conflicts(const struct opts *o, bool interactive)
{
	if (o->interactive && o->pipe)
		return cli_usage(CMD, "-I and --pipe exclude each other");
	if (o->scan && o->data_opt)
		return cli_usage(CMD,
				 "-z only checks ports; '%s' does not "
				 "apply",
				 o->data_opt);
	if (o->scan && o->unix_path)
		return cli_usage(CMD, "-z checks TCP ports, not --unix");
	if (o->unix_path && (o->family || o->src_host || o->src_port))
		return cli_usage(CMD, "--unix cannot be combined with -4, -6, "
				      "-s or -p");
	if (o->send_only && o->recv_only)
		return cli_usage(CMD, "--send-only and --recv-only exclude "
				      "each other");
	if (o->has_send && (o->interactive || o->send_only || o->recv_only))
		return cli_usage(CMD, "--send cannot be combined with -I, "
				      "--send-only or --recv-only");
	if (o->interactive && o->recv_only)
		return cli_usage(CMD, "-I and --recv-only exclude each other");
	if (interactive && o->progress)
		return cli_usage(CMD, "--progress is for pipe mode (stdin is "
				      "a terminal: add --pipe)");
	if (!interactive && (o->prompt || o->history || o->no_history))
		return cli_usage(CMD, "--prompt, --history and --no-history "
				      "are for interactive mode (add -I)");
	if (o->history && o->no_history)
		return cli_usage(CMD, "--history and --no-history exclude "
				      "each other");
	return 0;
}

static int check_port(const char *port)
{
	const char *why;
	uint16_t p;
	int r = parse_port(port, "tcp", &p, &why);

	if (r == 0)
		return 0;
	if (err_is_eai(r)) {
		cli_error(CMD, "%s: %s", port, why);
		return EXIT_NORESOLVE;
	}
	return cli_usage(CMD, "invalid port '%s': %s", port, why);
}

/* HOST PORT, HOST:PORT or [V6]:PORT; or -z's HOST PORTS. */
static int operands(struct opts *o, int argc, char **argv)
{
	const char *why;
	int n;

	if (o->unix_path) {
		struct sockaddr_un sun;
		socklen_t len;

		if (argc > 0)
			return cli_usage(CMD, "--unix takes no HOST or PORT");
		if (parse_unix_path(o->unix_path, &sun, &len, &why) < 0)
			return cli_usage(CMD, "invalid --unix path '%s': %s",
					 o->unix_path, why);
		return 0;
	}
	if (o->src_port && (n = check_port(o->src_port)))
		return n;
	if (argc == 0)
		return cli_usage(CMD, o->scan ? "missing HOST and PORTS"
					      : "missing HOST and PORT");
	if (o->scan && argc == 2) {
		char *host_only[] = {argv[0], "0"};

		if (parse_address_args(2, host_only, o->host, o->port, &why) <
		    0)
			return cli_usage(CMD, "invalid host '%s': %s", argv[0],
					 why);
		o->ports = argv[1];
		return 0;
	}
	n = parse_address_args(argc, argv, o->host, o->port, &why);
	if (n < 0)
		return cli_usage(CMD, "invalid address '%s': %s", argv[0], why);
	if (n < argc)
		return cli_usage(CMD, "too many arguments");
	if (o->scan) {
		o->ports = argv[0] + strlen(argv[0]) - strlen(o->port);
		return 0;
	}
	return check_port(o->port);
}

/* "host:port" or "[v6]:port" as the user wrote it, for messages. */
static const char *target(const struct opts *o, char buf[NET_ADDRSTRLEN])
{
	if (o->unix_path)
		snprintf(buf, NET_ADDRSTRLEN, "%s", o->unix_path);
	else if (strchr(o->host, ':'))
		snprintf(buf, NET_ADDRSTRLEN, "[%s]:%s", o->host, o->port);
	else
		snprintf(buf, NET_ADDRSTRLEN, "%s:%s", o->host, o->port);
	return buf;
}

/* ---- connecting ---- */

struct attempt {
	const struct opts *o;
	bool opt_failed; /* a -o option was refused, not the peer */
};

static int apply_sockopts(int fd, int family, void *arg)
{
	struct attempt *a = arg;
	int r = sockopt_list_apply(fd, family, (void *)&a->o->sockopts);

	a->opt_failed = r < 0;
	return r;
}

static void on_attempt_failed(const struct sockaddr *sa, socklen_t len, int err,
			      void *arg)
{
	struct attempt *a = arg;
	char buf[NET_ADDRSTRLEN];

	if (a->opt_failed)
		return;
	if (a->o->verbose && !a->o->quiet)
		fprintf(stderr, "connect to %s failed: %s\n",
			net_addr_str(sa, len, buf), net_strerror(err));
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = {.tv_sec = ms / 1000,
			      .tv_nsec = (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int connect_once(const struct opts *o, const char *port,
			struct attempt *a, int64_t timeout_ms, int *fd)
{
	struct net_connect_opts co = {
		.family = o->family,
		.socktype = SOCK_STREAM,
		.timeout_ms = timeout_ms,
		.src_host = o->src_host,
		.src_port = o->src_port,
		.prepare = o->sockopts.n ? apply_sockopts : NULL,
		.on_fail = on_attempt_failed,
		.arg = a,
	};

	if (o->unix_path)
		return net_connect_unix(o->unix_path, &co, fd);
	return net_connect(o->host, port, &co, fd);
}

/* The kernel refused a -o option: say which, exit 1 (or as errno says). */
static int sockopt_failed(const struct opts *o, int err)
{
	const struct sockopt_setting *st = o->sockopts.failed;

	if (!st)
		return cli_fail(CMD, "-o", err);
	cli_error(CMD, "%s=%s: %s", st->opt->name, st->text, net_strerror(err));
	return EXIT_FAIL;
}

static int connect_retrying(const struct opts *o, int *fd)
{
	struct attempt a = {.o = o};
	char what[NET_ADDRSTRLEN];
	int r;

	for (uint64_t i = 0;; i++) {
		r = connect_once(o, o->port, &a, o->connect_ms, fd);
		if (r == 0)
			return 0;
		if (a.opt_failed)
			return sockopt_failed(o, r);
		if (i >= o->retries)
			break;
		if (o->verbose && !o->quiet)
			fprintf(stderr, "%s: %s; trying again in %.3g s\n",
				target(o, what), net_strerror(r),
				(double)o->retry_delay_ms / 1000);
		sleep_ms(o->retry_delay_ms);
	}
	return cli_fail(CMD, target(o, what), r);
}

/* ---- -z: which ports accept ---- */

static void scan_line(const struct opts *o, uint16_t port, bool open)
{
	struct sbuf b = SBUF_INIT;

	if (o->json) {
		sbuf_adds(&b, "{\"host\":");
		fmt_json_string(&b, o->host, strlen(o->host));
		sbuf_addf(&b, ",\"port\":%u,\"open\":%s}\n", port,
			  open ? "true" : "false");
	} else {
		sbuf_addf(&b, "%s %u %s\n", o->host, port,
			  open ? "open" : "closed");
	}
	fwrite(b.data, 1, b.len, stdout);
	fflush(stdout);
	sbuf_free(&b);
}

static int scan(const struct opts *o)
{
	struct attempt a = {.o = o};
	int64_t timeout = o->connect_ms >= 0 ? o->connect_ms : SCAN_TIMEOUT_MS;
	char what[NET_ADDRSTRLEN], pbuf[8];
	const char *why;
	uint16_t *ports;
	size_t n;
	bool any = false;
	int r, fd;

	r = parse_port_list(o->ports, &ports, &n, &why);
	if (r < 0 && err_is_eai(r)) {
		cli_error(CMD, "%s: %s", o->ports, why);
		return EXIT_NORESOLVE;
	}
	if (r < 0)
		return cli_usage(CMD, "invalid port list '%s': %s", o->ports,
				 why);
	for (size_t i = 0; i < n; i++) {
		snprintf(pbuf, sizeof(pbuf), "%u", ports[i]);
		r = connect_once(o, pbuf, &a, timeout, &fd);
		if (a.opt_failed) {
			free(ports);
			return sockopt_failed(o, r);
		}
		if (r < 0 && err_is_eai(r)) {
			free(ports);
			snprintf(what, sizeof(what), "%s", o->host);
			return cli_fail(CMD, what, r);
		}
		if (r == 0)
			close(fd);
		else if (o->verbose && !o->quiet)
			fprintf(stderr, "%s %u: %s\n", o->host, ports[i],
				net_strerror(r));
		any |= r == 0;
		scan_line(o, ports[i], r == 0);
	}
	free(ports);
	return any ? EXIT_OK : EXIT_REFUSED;
}

/* ---- the session: status lines ---- */

static void status(struct session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void status(struct session *s, const char *fmt, ...)
{
	struct sbuf b = SBUF_INIT;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	sbuf_reserve(&b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b.data, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b.len = (size_t)n;
	if (s->prog_shown && s->prog_tty) {
		/* Move the live progress line out of the way. */
		fputs("\r\033[K", stderr);
	}
	if (s->prompt) {
		prompt_write(s->prompt, 2, b.data, b.len);
	} else {
		fwrite(b.data, 1, b.len, stderr);
		fflush(stderr);
	}
	sbuf_free(&b);
}

static void report_error(struct session *s, const char *what, int err)
{
	status(s, "sockctl: " CMD ": %s: %s\n", what, net_strerror(err));
}

static double elapsed_s(struct session *s)
{
	return (double)(net_now_ms() - s->start_ms) / 1000;
}

static void counters(struct session *s)
{
	status(s, "sent %llu bytes, received %llu bytes in %.3f s\n",
	       (unsigned long long)relay_count(s->relay, RELAY_SEND),
	       (unsigned long long)relay_count(s->relay, RELAY_RECV),
	       elapsed_s(s));
}

static void end(struct session *s, int st)
{
	s->status = st;
	loop_stop(s->loop, st);
}

/* ---- the session: hooks of the relay ---- */

static void trace(struct session *s, enum relay_dir dir, const void *data,
		  size_t len)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	sbuf_reset(&s->line);
	fmt_trace_line(&s->line, s->o->json, &ts, NULL,
		       dir == RELAY_SEND ? "send" : "recv", data, len);
	fwrite(s->line.data, 1, s->line.len, s->trace);
	fflush(s->trace);
}

static void on_traffic(void *arg, enum relay_dir dir, const void *data,
		       size_t len)
{
	struct session *s = arg;

	s->last_traffic_ms = loop_now(s->loop);
	if (s->trace && data)
		trace(s, dir, data, len);
}

static void hexdump(void *arg, struct sbuf *out, const void *data, size_t len)
{
	struct session *s = arg;

	if (data)
		fmt_hexdump(out, &s->hex_off, data, len);
	else if (s->hex_off)
		fmt_hexdump_end(out, s->hex_off);
}

/* Pipe mode --eol: rewrite each line end of stdin. */
static void eol(void *arg, struct sbuf *out, const void *data, size_t len)
{
	struct session *s = arg;
	const char *p = data;

	if (!data) {
		if (s->held_cr)
			sbuf_addc(out, '\r');
		s->held_cr = false;
		return;
	}
	for (size_t i = 0; i < len; i++) {
		if (s->o->eol == EOL_CRLF) {
			if (p[i] == '\n' && !s->last_cr)
				sbuf_addc(out, '\r');
			sbuf_addc(out, p[i]);
			s->last_cr = p[i] == '\r';
			continue;
		}
		/* EOL_NONE: drop LF and a CR right before it. */
		if (s->held_cr && p[i] != '\n')
			sbuf_addc(out, '\r');
		s->held_cr = p[i] == '\r';
		if (p[i] != '\n' && p[i] != '\r')
			sbuf_addc(out, p[i]);
	}
}

static void deliver(void *arg, const void *data, size_t len)
{
	struct session *s = arg;

	prompt_write(s->prompt, 1, data, len);
}

static void on_after_eof(struct loop *l, struct loop_timer *t, void *arg)
{
	(void)l;
	(void)t;
	end(arg, EXIT_OK);
}

static void input_finished(struct session *s)
{
	int64_t ms = s->o->after_eof_ms;

	s->input_done = true;
	if (s->peer_done) {
		end(s, s->send_err ? EXIT_FAIL : EXIT_OK);
		return;
	}
	if (ms == -2)
		ms = s->interactive ? 1000 : -1;
	if (ms == 0)
		end(s, EXIT_OK);
	else if (ms > 0)
		s->after_eof_t = loop_timer_add(s->loop, ms, on_after_eof, s);
}

static void send_done(struct session *s, int err, enum relay_end where)
{
	if (err && where == RELAY_END_INPUT) {
		report_error(s, "stdin", err);
		end(s, EXIT_FAIL);
		return;
	}
	if (err) {
		/*
		 * The peer is gone for writing.  Unless sending was the
		 * point (--send-only), its close is still what ends the
		 * session, once what it sent has been read.
		 */
		s->send_err = s->o->send_only ? err : 0;
		if (s->send_err)
			report_error(s, s->peer, err);
	}
	input_finished(s);
}

static void recv_done(struct session *s, int err, enum relay_end where)
{
	if (err && where == RELAY_END_OUTPUT) {
		/* Whoever read our stdout went away: not our failure. */
		if (err != -EPIPE)
			report_error(s, "stdout", err);
		end(s, err == -EPIPE ? EXIT_OK : EXIT_FAIL);
		return;
	}
	if (err) {
		report_error(s, s->peer, err);
		end(s, net_exit_status(err));
		return;
	}
	s->peer_done = true;
	if (s->interactive && !s->user_eof && !s->o->quiet)
		status(s, "connection closed by %s\n", s->peer);
	if (s->o->send_only && !s->input_done)
		return;
	end(s, s->send_err ? EXIT_FAIL : EXIT_OK);
}

static void on_done(void *arg, enum relay_dir dir, int err,
		    enum relay_end where)
{
	if (dir == RELAY_SEND)
		send_done(arg, err, where);
	else
		recv_done(arg, err, where);
}

/* ---- the session: the prompt ---- */

static void on_line(void *arg, const char *line)
{
	struct session *s = arg;
	static const char *const ends[] = {"\n", "\r\n", ""};
	struct sbuf b = SBUF_INIT;

	if (!line) {
		s->user_eof = true;
		relay_close_input(s->relay);
		return;
	}
	/* One chunk, so that the line and its end leave in one segment. */
	sbuf_adds(&b, line);
	sbuf_adds(&b, ends[s->o->eol]);
	relay_send(s->relay, b.data, b.len);
	sbuf_free(&b);
}

static int start_prompt(struct session *s)
{
	char hist[4096], tgt[NET_ADDRSTRLEN];
	struct sbuf p = SBUF_INIT;
	struct prompt_opts po = {.on_line = on_line, .arg = s};
	int r;

	if (s->o->prompt) {
		sbuf_adds(&p, s->o->prompt);
	} else {
		sbuf_adds(&p, target(s->o, tgt));
		sbuf_adds(&p, "> ");
	}
	po.prompt = sbuf_str(&p);
	if (s->o->history) {
		po.history = s->o->history;
	} else if (!s->o->no_history) {
		r = prompt_history_path(hist, sizeof(hist));
		if (r == 0)
			po.history = hist;
		else if (r != -ENOENT)
			report_error(s, "history", r);
	}
	r = prompt_new(s->loop, &po, &s->prompt);
	sbuf_free(&p);
	if (r < 0)
		return cli_fail(CMD, "prompt", r);
	return 0;
}

/* ---- the session: timers and signals ---- */

static void on_idle(struct loop *l, struct loop_timer *t, void *arg)
{
	struct session *s = arg;
	int64_t quiet_for = loop_now(l) - s->last_traffic_ms;

	if (quiet_for < s->o->idle_ms) {
		loop_timer_set(l, t, s->o->idle_ms - quiet_for);
		return;
	}
	status(s, "sockctl: " CMD ": %s: timed out: no traffic for %.3g s\n",
	       s->peer, (double)s->o->idle_ms / 1000);
	end(s, EXIT_TIMEOUT);
}

static void human(char *buf, size_t size, double v)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static void progress_line(struct session *s, bool final)
{
	uint64_t sent = relay_count(s->relay, RELAY_SEND);
	uint64_t recv = relay_count(s->relay, RELAY_RECV);
	int64_t now = net_now_ms();
	double secs = (double)(now - s->prog_ms) / 1000;
	char a[32], b[32], c[32];

	if (final)
		secs = elapsed_s(s);
	human(a, sizeof(a), (double)sent);
	human(b, sizeof(b), (double)recv);
	human(c, sizeof(c),
	      secs > 0 ? (double)(sent + recv - (final ? 0 : s->prog_bytes)) /
				 secs
		       : 0);
	fprintf(stderr, "%ssent %s, received %s, %s/s%s",
		s->prog_tty ? "\r" : "", a, b, c,
		s->prog_tty ? (final ? "\033[K\n" : "\033[K") : "\n");
	fflush(stderr);
	s->prog_bytes = sent + recv;
	s->prog_ms = now;
	s->prog_shown = !final;
}

static void on_progress(struct loop *l, struct loop_timer *t, void *arg)
{
	struct session *s = arg;

	progress_line(s, false);
	loop_timer_set(l, t, s->prog_tty ? 250 : 1000);
}

static void on_usr1(struct loop *l, int signo, void *arg)
{
	(void)l;
	(void)signo;
	counters(arg);
}

static void on_stop_signal(struct loop *l, int signo, void *arg)
{
	struct session *s = arg;

	s->signo = signo;
	loop_stop(l, 128 + signo);
}

static int start_timers(struct session *s)
{
	s->start_ms = s->last_traffic_ms = s->prog_ms = net_now_ms();
	if (s->o->idle_ms >= 0 &&
	    !(s->idle_t = loop_timer_add(s->loop, s->o->idle_ms, on_idle, s)))
		return cli_fail(CMD, "timer", -ENOMEM);
	s->prog_tty = isatty(2);
	if ((s->o->progress == 2 || (s->o->progress == 1 && s->prog_tty)) &&
	    !(s->progress_t = loop_timer_add(s->loop, s->prog_tty ? 250 : 1000,
					     on_progress, s)))
		return cli_fail(CMD, "timer", -ENOMEM);
	if (s->interactive) {
		/* The terminal must be given back before we go. */
		loop_signal(s->loop, SIGINT, on_stop_signal, s);
		loop_signal(s->loop, SIGTERM, on_stop_signal, s);
		loop_signal(s->loop, SIGHUP, on_stop_signal, s);
	}
	return 0;
}

/* ---- the session ---- */

static int open_stdio(struct session *s)
{
	const struct opts *o = s->o;
	int r;

	s->in_fd = s->out_fd = -1;
	if (!s->interactive && !o->has_send && !o->recv_only) {
		r = relay_stdio_fd(0, false);
		if (r < 0 && r != -EBADF)
			return cli_fail(CMD, "stdin", r);
		s->in_fd = r;
	}
	if (!s->interactive) {
		r = relay_stdio_fd(1, true);
		if (r < 0)
			return cli_fail(CMD, "stdout", r);
		s->out_fd = r;
	}
	return 0;
}

static int start_relay(struct session *s)
{
	struct relay_hooks *h = &s->hooks;
	const struct opts *o = s->o;
	struct relay_opts ro = {
		.in_fd = s->in_fd,
		.out_fd = s->out_fd,
		.sock_fd = s->sock,
		/* Splice never shows the bytes, and the trace needs them. */
		.splice = !o->trace && !o->no_splice,
		.no_shutdown = o->no_shutdown,
		.discard = o->send_only,
		.rate = o->rate,
		.line_delay_ms = o->delay_ms,
		.hooks = h,
		.arg = s,
	};
	int r;

	*h = (struct relay_hooks){.traffic = on_traffic, .done = on_done};
	if (o->hex)
		h->transform[RELAY_RECV] = hexdump;
	if (!s->interactive && o->eol != EOL_LF)
		h->transform[RELAY_SEND] = eol;
	if (s->interactive)
		h->deliver = deliver;
	r = relay_new(s->loop, &ro, &s->relay);
	if (r < 0)
		return cli_fail(CMD, "relay", r);
	if (o->has_send)
		relay_send(s->relay, o->send, o->send_len);
	if (!s->interactive && s->in_fd < 0)
		relay_close_input(s->relay);
	return 0;
}

static void announce(struct session *s)
{
	char local[NET_ADDRSTRLEN];

	net_peer_str(s->sock, s->peer);
	if (s->o->unix_path && !strcmp(s->peer, "(unnamed)"))
		snprintf(s->peer, sizeof(s->peer), "%s", s->o->unix_path);
	if (s->o->quiet || !(s->interactive || s->o->verbose))
		return;
	if (s->o->unix_path)
		fprintf(stderr, "connected to %s\n", s->peer);
	else
		fprintf(stderr, "connected to %s from %s\n", s->peer,
			net_sock_str(s->sock, local));
}

static int open_trace(struct session *s)
{
	if (!s->o->trace)
		return 0;
	s->trace = fopen(s->o->trace, "we");
	if (!s->trace)
		return cli_fail(CMD, s->o->trace, -errno);
	return 0;
}

static void teardown(struct session *s)
{
	if (s->progress_t)
		progress_line(s, true);
	if (s->o->verbose && !s->o->quiet && s->relay)
		counters(s);
	prompt_free(s->prompt);
	s->prompt = NULL;
	relay_free(s->relay);
	relay_close_socket(s->sock);
	if (s->in_fd >= 0)
		close(s->in_fd);
	if (s->out_fd >= 0)
		close(s->out_fd);
	if (s->trace)
		fclose(s->trace);
	sbuf_free(&s->line);
	loop_free(s->loop);
}

/* Returns 0, or the exit status of what failed (already reported). */
static int setup(struct session *s)
{
	int r;

	if ((r = open_trace(s)) || (r = open_stdio(s)) || (r = start_relay(s)))
		return r;
	if (s->interactive && (r = start_prompt(s)))
		return r;
	return start_timers(s);
}

static int run_session(struct opts *o, int sock, bool interactive)
{
	struct session s = {.o = o,
			    .sock = sock,
			    .interactive = interactive,
			    .in_fd = -1,
			    .out_fd = -1};
	int r;

	s.loop = loop_new();
	if (!s.loop) {
		close(sock);
		return cli_fail(CMD, "event loop", -ENOMEM);
	}
	loop_set_spin(s.loop, o->spin_us);
	/*
	 * SIGUSR1 is taken over before anything is printed: a script that
	 * signals once it sees `connected to` must never kill us with it.
	 * (It is only handled from loop_run, once the relay exists.)
	 */
	loop_signal(s.loop, SIGUSR1, on_usr1, &s);
	announce(&s);
	r = setup(&s);
	if (r) {
		teardown(&s);
		return r;
	}
	r = loop_run(s.loop);
	if (r < 0 && !s.signo)
		report_error(&s, "event loop", r);
	teardown(&s);
	if (s.signo) {
		/* Die of the signal, as the shell expects, terminal restored.
		 */
		signal(s.signo, SIG_DFL);
		raise(s.signo);
		return 128 + s.signo;
	}
	return r < 0 ? EXIT_FAIL : s.status;
}

int cmd_connect(int argc, char **argv)
{
	struct opts o = {.connect_ms = -1,
			 .retry_delay_ms = 1000,
			 .after_eof_ms = -2,
			 .idle_ms = -1,
			 .spin_us = LOOP_SPIN_AUTO};
	bool interactive;
	int r, sock;

	r = parse_opts(argc, argv, &o);
	if (r)
		goto out;
	if ((r = operands(&o, argc - optind, argv + optind)))
		goto out;
	interactive = !o.scan && (o.interactive || (!o.pipe && !o.has_send &&
						    !o.recv_only && isatty(0)));
	if ((r = check_conflicts(&o, interactive)))
		goto out;
	if (o.scan) {
		r = scan(&o);
		goto out;
	}
	if ((r = connect_retrying(&o, &sock)))
		goto out;
	r = run_session(&o, sock, interactive);
out:
	free(o.send);
	sockopt_list_free(&o.sockopts);
	cli_sockopts_free(&o.sockopt_args);
	return r < 0 ? EXIT_OK : r;
}
