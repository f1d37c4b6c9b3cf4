/*
 * cmd_serve.c - `sockctl serve`: a TCP or Unix stream server for many
 * clients at once, in one of the modes of SPEC section 3 (echo, prefix,
 * timestamp, broker, chat, relay, discard, exec).  This file parses the
 * options, listens, prints the status lines and leaves the serving to
 * server.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "fmt.h"
#include "loop.h"
#include "net.h"
#include "parse.h"
#include "prompt.h"
#include "server.h"
#include "sockopt.h"

#define CMD "serve"

const char cmd_serve_help[] =
	"Usage: sockctl serve [options] --tcp PORT\n"
	"       sockctl serve [options] --unix PATH\n"
	"       sockctl serve [options] --udp PORT   (sockctl udp-listen "
	"[options] PORT)\n"
	"\n"
	"Serve many clients at once from one event loop.  Prints\n"
	"`listening on ADDR:PORT (tcp)` on stderr, then one line per client\n"
	"event.  SIGINT or SIGTERM stops it cleanly (exit 0).\n"
	"\n"
	"Where:\n"
	"      --tcp PORT         listen on this TCP port (0: any free port)\n"
	"      --unix PATH        listen on a Unix socket (@NAME: abstract)\n"
	"      --udp PORT         run `sockctl udp-listen PORT` with the "
	"other\n"
	"                         options (see `sockctl udp-listen --help`)\n"
	"  -b, --bind ADDR        address to listen on (default: every "
	"interface,\n"
	"                         IPv6 and IPv4 together)\n"
	"  -4, -6                 IPv4 / IPv6 only\n"
	"      --backlog N        listen backlog (default SOMAXCONN)\n"
	"  -o, --sockopt NAME=VALUE  set a socket option on the listening "
	"socket,\n"
	"                         which the connections inherit "
	"(repeatable)\n"
	"\n"
	"What each client gets (one mode):\n"
	"      --echo             every byte sent back (default)\n"
	"      --prefix STR       each line sent back with STR before it\n"
	"      --timestamp        each line sent back after the local time\n"
	"      --broker           what a client sends goes to every other "
	"client\n"
	"      --chat             a chat room: <HOST:PORT> line, /nick NAME, "
	"/who;\n"
	"                         lines typed on stdin come from <server>\n"
	"      --relay            clients' data to stdout, stdin to the "
	"clients\n"
	"                         (from a terminal: a readline prompt)\n"
	"      --discard          read and drop everything\n"
	"      --exec CMD         run /bin/sh -c CMD with the connection as "
	"its\n"
	"                         stdin and stdout\n"
	"\n"
	"Connections:\n"
	"      --banner STR       send STR to each client when it connects\n"
	"      --once             serve one client, exit when it leaves\n"
	"  -w, --accept-timeout SECS  exit 5 if no client connects within "
	"SECS\n"
	"  -m, --max-conns N      at most N clients at once; more are "
	"closed\n"
	"  -i, --idle-timeout SECS  close a client idle for SECS\n"
	"      --allow CIDR       accept only from these networks "
	"(repeatable)\n"
	"      --deny CIDR        never accept from these (repeatable; wins)\n"
	"      --allow-file FILE  --allow for each CIDR in FILE, one a line\n"
	"      --deny-file FILE   --deny for each CIDR in FILE, one a line\n"
	"  -N, --shutdown-on-eof  relay: half-close the clients when stdin "
	"ends\n" CLI_SPIN_HELP "\n"
	"Output:\n"
	"      --print            show what clients send as `HOST:PORT: text`"
	"\n"
	"                         on stdout (default when stdout is a "
	"terminal,\n"
	"                         except with --relay, --discard, --exec)\n"
	"      --no-print         do not\n"
	"      --no-splice        --relay: copy through a buffer instead of "
	"splice(2)\n"
	"      --log-format FMT   connection events as text or json lines\n"
	"      --trace FILE       record every chunk sent and received in "
	"FILE\n"
	"  -q, --quiet            no status lines but `listening on`\n"
	"  -v, --verbose          more status lines\n"
	"  -h, --help             show this help\n"
	"\n"
	"STR may contain \\n \\r \\t \\0 \\\\ \\xHH.\n"
	"Exit status: 0 stopped by a signal or --once done, 1 failure "
	"(address\n"
	"in use, ...), 2 usage error, 3 name did not resolve, 5 "
	"--accept-timeout.\n";

enum {
	OPT_TCP = 256,
	OPT_UNIX,
	OPT_BACKLOG,
	OPT_ECHO,
	OPT_PREFIX,
	OPT_TIMESTAMP,
	OPT_BROKER,
	OPT_CHAT,
	OPT_RELAY,
	OPT_DISCARD,
	OPT_EXEC,
	OPT_BANNER,
	OPT_ONCE,
	OPT_ALLOW,
	OPT_DENY,
	OPT_ALLOW_FILE,
	OPT_DENY_FILE,
	OPT_PRINT,
	OPT_NO_PRINT,
	OPT_NO_SPLICE,
	OPT_LOG_FORMAT,
	OPT_TRACE,
	OPT_SPIN,
};

static const struct option longopts[] = {
	{"tcp", required_argument, NULL, OPT_TCP},
	{"unix", required_argument, NULL, OPT_UNIX},
	{"bind", required_argument, NULL, 'b'},
	{"backlog", required_argument, NULL, OPT_BACKLOG},
	{"sockopt", required_argument, NULL, 'o'},
	{"echo", no_argument, NULL, OPT_ECHO},
	{"prefix", required_argument, NULL, OPT_PREFIX},
	{"timestamp", no_argument, NULL, OPT_TIMESTAMP},
	{"broker", no_argument, NULL, OPT_BROKER},
	{"chat", no_argument, NULL, OPT_CHAT},
	{"relay", no_argument, NULL, OPT_RELAY},
	{"discard", no_argument, NULL, OPT_DISCARD},
	{"exec", required_argument, NULL, OPT_EXEC},
	{"banner", required_argument, NULL, OPT_BANNER},
	{"once", no_argument, NULL, OPT_ONCE},
	{"accept-timeout", required_argument, NULL, 'w'},
	{"max-conns", required_argument, NULL, 'm'},
	{"idle-timeout", required_argument, NULL, 'i'},
	{"allow", required_argument, NULL, OPT_ALLOW},
	{"deny", required_argument, NULL, OPT_DENY},
	{"allow-file", required_argument, NULL, OPT_ALLOW_FILE},
	{"deny-file", required_argument, NULL, OPT_DENY_FILE},
	{"shutdown-on-eof", no_argument, NULL, 'N'},
	{"spin", required_argument, NULL, OPT_SPIN},
	{"print", no_argument, NULL, OPT_PRINT},
	{"no-print", no_argument, NULL, OPT_NO_PRINT},
	{"no-splice", no_argument, NULL, OPT_NO_SPLICE},
	{"log-format", required_argument, NULL, OPT_LOG_FORMAT},
	{"trace", required_argument, NULL, OPT_TRACE},
	{"quiet", no_argument, NULL, 'q'},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

struct cidrs {
	struct cidr *v;
	size_t n;
};

struct opts {
	struct server_opts so;
	const char *mode_flag; /* the mode option given, for messages */
	const char *tcp_port;
	const char *unix_path;
	const char *bind;
	const char *accept_timeout; /* as typed, for the message */
	int family;
	int backlog;
	int print; /* -1: by default */
	int verbosity; /* -1 quiet, 0, 1 verbose */
	unsigned spin_us; /* the loop's busy-poll window (loop_set_spin) */
	bool json;
	const char *trace_path;
	struct cidrs allow, deny;
	char *prefix, *banner;
	struct cli_sockopts sockopt_args; /* -o, parsed once --unix is known */
	struct sockopt_list sockopts;
	/* A terminal on stdin (--relay, --chat): the operator's prompt. */
	struct prompt *prompt;
	struct server *srv;
	size_t nclients;
	char prompt_text[32];
};

static void opts_free(struct opts *o)
{
	free(o->allow.v);
	free(o->deny.v);
	free(o->prefix);
	free(o->banner);
	cli_sockopts_free(&o->sockopt_args);
	sockopt_list_free(&o->sockopts);
}

/* -o NAME=VALUE for the kind of socket that listens. */
static int parse_sockopts(struct opts *o)
{
	unsigned kinds =
		o->unix_path ? SOCKOPT_UNIX : SOCKOPT_TCP | SOCKOPT_TCP6;

	return cli_sockopts_parse(CMD, &o->sockopt_args, kinds, &o->sockopts);
}

static int set_mode(struct opts *o, enum server_mode m, const char *flag)
{
	if (o->mode_flag && strcmp(o->mode_flag, flag))
		return cli_usage(CMD, "%s and %s exclude each other",
				 o->mode_flag, flag);
	o->mode_flag = flag;
	o->so.mode = m;
	return 0;
}

static int add_cidr(struct cidrs *list, const char *text, const char *where)
{
	const char *why = NULL;
	struct cidr c;

	if (parse_cidr(text, &c, &why) < 0)
		return cli_usage(CMD, "%s: invalid CIDR '%s': %s", where, text,
				 why);
	list->v = realloc(list->v, (list->n + 1) * sizeof(*list->v));
	if (!list->v)
		abort();
	list->v[list->n++] = c;
	return 0;
}

/* One CIDR a line; blank lines and # comments are skipped. */
static int read_cidr_file(struct cidrs *list, const char *path)
{
	FILE *f = fopen(path, "re");
	char line[512], where[PATH_MAX + 32];
	size_t lineno = 0;
	int r = 0;

	if (!f)
		return cli_fail(CMD, path, -errno);
	while (r == 0 && fgets(line, sizeof(line), f)) {
		char *p = line, *end;

		lineno++;
		end = strchr(p, '#');
		if (end)
			*end = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		end = p + strlen(p);
		while (end > p && (end[-1] == '\n' || end[-1] == '\r' ||
				   end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (!*p)
			continue;
		snprintf(where, sizeof(where), "%s:%zu", path, lineno);
		r = add_cidr(list, p, where);
	}
	if (r == 0 && ferror(f))
		r = cli_fail(CMD, path, -EIO);
	fclose(f);
	return r;
}

static int parse_str(const char *flag, const char *arg, char **ret,
		     size_t *ret_len)
{
	const char *why = NULL;

	free(*ret);
	*ret = NULL;
	if (parse_escapes(arg, ret, ret_len, &why) < 0)
		return cli_usage(CMD, "invalid %s '%s': %s", flag, arg, why);
	return 0;
}

static int parse_secs(const char *flag, const char *arg, bool zero_ok,
		      int64_t *ret)
{
	int r = cli_duration_ms(CMD, flag, arg, ret);

	if (r)
		return r;
	if (!zero_ok && *ret == 0)
		return cli_usage(CMD, "invalid %s '%s': must be more than 0",
				 flag, arg);
	return 0;
}

static int parse_option(struct opts *o, int c, char **argv)
{
	uint64_t n;
	int r = 0;

	switch (c) {
	case OPT_TCP:
		o->tcp_port = optarg;
		break;
	case OPT_UNIX:
		o->unix_path = optarg;
		break;
	case 'b':
		if (!*optarg)
			return cli_usage(CMD, "empty --bind address");
		o->bind = optarg;
		break;
	case '4':
		o->family = AF_INET;
		break;
	case '6':
		o->family = AF_INET6;
		break;
	case 'o':
		r = cli_sockopt_arg(CMD, &o->sockopt_args, optarg);
		break;
	case OPT_BACKLOG:
		r = cli_uint(CMD, "--backlog", optarg, 1, 1 << 30, &n);
		o->backlog = (int)n;
		break;
	case OPT_ECHO:
		r = set_mode(o, SERVER_ECHO, "--echo");
		break;
	case OPT_PREFIX:
		r = set_mode(o, SERVER_PREFIX, "--prefix");
		if (!r)
			r = parse_str("--prefix", optarg, &o->prefix,
				      &o->so.prefix_len);
		break;
	case OPT_TIMESTAMP:
		r = set_mode(o, SERVER_TIMESTAMP, "--timestamp");
		break;
	case OPT_BROKER:
		r = set_mode(o, SERVER_BROKER, "--broker");
		break;
	case OPT_CHAT:
		r = set_mode(o, SERVER_CHAT, "--chat");
		break;
	case OPT_RELAY:
		r = set_mode(o, SERVER_RELAY, "--relay");
		break;
	case OPT_DISCARD:
		r = set_mode(o, SERVER_DISCARD, "--discard");
		break;
	case OPT_EXEC:
		r = set_mode(o, SERVER_EXEC, "--exec");
		if (!r && !*optarg)
			r = cli_usage(CMD, "--exec needs a command");
		o->so.exec_cmd = optarg;
		break;
	case OPT_BANNER:
		r = parse_str("--banner", optarg, &o->banner,
			      &o->so.banner_len);
		break;
	case OPT_ONCE:
		o->so.once = true;
		break;
	case 'w':
		o->accept_timeout = optarg;
		r = parse_secs("--accept-timeout", optarg, true,
			       &o->so.accept_timeout_ms);
		break;
	case 'm':
		r = cli_uint(CMD, "--max-conns", optarg, 1, 1 << 30, &n);
		o->so.max_conns = (size_t)n;
		break;
	case 'i':
		r = parse_secs("--idle-timeout", optarg, false, &o->so.idle_ms);
		break;
	case OPT_ALLOW:
		r = add_cidr(&o->allow, optarg, "--allow");
		break;
	case OPT_DENY:
		r = add_cidr(&o->deny, optarg, "--deny");
		break;
	case OPT_ALLOW_FILE:
		r = read_cidr_file(&o->allow, optarg);
		break;
	case OPT_DENY_FILE:
		r = read_cidr_file(&o->deny, optarg);
		break;
	case 'N':
		o->so.shutdown_on_eof = true;
		break;
	case OPT_SPIN:
		r = cli_spin(CMD, optarg, &o->spin_us);
		break;
	case OPT_PRINT:
		o->print = 1;
		break;
	case OPT_NO_PRINT:
		o->print = 0;
		break;
	case OPT_NO_SPLICE:
		o->so.splice = false;
		break;
	case OPT_LOG_FORMAT:
		if (!strcmp(optarg, "json"))
			o->json = true;
		else if (!strcmp(optarg, "text"))
			o->json = false;
		else
			r = cli_usage(CMD,
				      "invalid --log-format '%s': "
				      "expected text or json",
				      optarg);
		break;
	case OPT_TRACE:
		o->trace_path = optarg;
		break;
	case 'q':
		o->verbosity = -1;
		break;
	case 'v':
		o->verbosity = 1;
		break;
	default:
		r = cli_bad_option(CMD, c, argv);
	}
	return r;
}

static void prompt_out(void *arg, const void *data, size_t len);

/* Combinations that would make a flag do nothing are usage errors. */
static int check_opts(struct opts *o, int argc, char **argv)
{
	enum server_mode m = o->so.mode;

	if (optind < argc)
		return cli_usage(CMD, "unexpected argument '%s'", argv[optind]);
	if (!o->tcp_port && !o->unix_path)
		return cli_usage(CMD, "missing --tcp PORT or --unix PATH");
	if (o->tcp_port && o->unix_path)
		return cli_usage(CMD, "--tcp and --unix exclude each other");
	if (o->unix_path && (o->bind || o->family))
		return cli_usage(CMD, "--bind, -4 and -6 are for --tcp");
	if (o->unix_path && (o->allow.n || o->deny.n))
		return cli_usage(CMD, "--allow and --deny are for --tcp");
	if (o->so.shutdown_on_eof && m != SERVER_RELAY)
		return cli_usage(CMD, "-N/--shutdown-on-eof needs --relay");
	if (o->print == 1 && (m == SERVER_RELAY || m == SERVER_EXEC))
		return cli_usage(CMD, "--print does not go with %s",
				 o->mode_flag);
	if (m == SERVER_EXEC && (o->trace_path || o->so.idle_ms > 0))
		return cli_usage(CMD, "--trace and --idle-timeout do not go "
				      "with --exec (the command owns the "
				      "connection)");
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	int c, r;

	o->so.accept_timeout_ms = -1;
	o->so.in_fd = -1;
	o->so.out_fd = STDOUT_FILENO;
	o->so.splice = true;
	o->print = -1;
	o->spin_us = LOOP_SPIN_AUTO;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":46b:o:w:m:i:Nqvh", longopts,
				NULL)) != -1) {
		if (c == 'h')
			return -1;
		r = parse_option(o, c, argv);
		if (r)
			return r;
	}
	r = check_opts(o, argc, argv);
	if (!r)
		r = parse_sockopts(o);
	if (r)
		return r;
	o->so.prefix = o->prefix;
	o->so.banner = o->banner;
	o->so.allow = o->allow.v;
	o->so.nallow = o->allow.n;
	o->so.deny = o->deny.v;
	o->so.ndeny = o->deny.n;
	if (o->print < 0)
		o->print = isatty(STDOUT_FILENO) &&
			   o->so.mode != SERVER_RELAY &&
			   o->so.mode != SERVER_DISCARD &&
			   o->so.mode != SERVER_EXEC;
	o->so.print = o->print;
	if (o->so.mode == SERVER_RELAY || o->so.mode == SERVER_CHAT)
		o->so.in_fd = STDIN_FILENO;
	/* From a terminal the operator types at a prompt instead. */
	if (o->so.in_fd >= 0 && isatty(STDIN_FILENO)) {
		o->so.in_fd = -1;
		o->so.write_out = prompt_out;
	}
	return 0;
}

/* ---- status lines ---- */

static void json_time(struct sbuf *b)
{
	struct timeval tv;
	struct tm tm;
	char when[32];

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	sbuf_addf(b, "{\"time\":\"%s.%03ld\",", when, (long)tv.tv_usec / 1000);
}

static void json_str(struct sbuf *b, const char *key, const char *val)
{
	sbuf_addf(b, ",\"%s\":", key);
	if (val)
		fmt_json_string(b, val, strlen(val));
	else
		sbuf_adds(b, "null");
}

/* One status line on stderr, above the operator's prompt if there is one. */
static void status_line(const struct opts *o, struct sbuf *b)
{
	sbuf_addc(b, '\n');
	if (o->prompt) {
		prompt_write(o->prompt, 2, b->data, b->len);
	} else {
		fflush(stdout);
		fwrite(b->data, 1, b->len, stderr);
	}
	sbuf_free(b);
}

static void exit_text(struct sbuf *b, int st)
{
	if (WIFEXITED(st))
		sbuf_addf(b, "exited with status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		sbuf_addf(b, "killed by signal %d (%s)", WTERMSIG(st),
			  strsignal(WTERMSIG(st)));
	else
		sbuf_addf(b, "ended (wait status %d)", st);
}

static const char *const event_names[] = {
	[SERVER_EV_CONNECTED] = "connected",
	[SERVER_EV_DISCONNECTED] = "disconnected",
	[SERVER_EV_REFUSED] = "refused",
	[SERVER_EV_ACCEPT_PAUSED] = "accept-paused",
	[SERVER_EV_ACCEPT_RESUMED] = "accept-resumed",
	[SERVER_EV_EXITED] = "exited",
	[SERVER_EV_NICK] = "nick",
	[SERVER_EV_STDIN_EOF] = "stdin-eof",
	[SERVER_EV_STOPPING] = "stopping",
};

static void event_json(const struct opts *o, const struct server_event *ev)
{
	struct sbuf b = SBUF_INIT;
	const char *err = ev->err ? net_strerror(ev->err) : NULL;

	json_time(&b);
	sbuf_addf(&b, "\"event\":\"%s\"", event_names[ev->kind]);
	if (ev->peer)
		json_str(&b, "peer", ev->peer);
	switch (ev->kind) {
	case SERVER_EV_DISCONNECTED:
		if (ev->counted)
			sbuf_addf(&b, ",\"received\":%llu,\"sent\":%llu",
				  (unsigned long long)ev->received,
				  (unsigned long long)ev->sent);
		sbuf_addf(&b, ",\"seconds\":%.3f", ev->ms / 1000.0);
		json_str(&b, "reason", ev->why);
		json_str(&b, "error", err);
		break;
	case SERVER_EV_REFUSED:
		json_str(&b, "reason", ev->why);
		break;
	case SERVER_EV_ACCEPT_PAUSED:
		json_str(&b, "error", err);
		break;
	case SERVER_EV_EXITED:
		if (WIFEXITED(ev->status))
			sbuf_addf(&b, ",\"status\":%d",
				  WEXITSTATUS(ev->status));
		else if (WIFSIGNALED(ev->status))
			sbuf_addf(&b, ",\"signal\":%d", WTERMSIG(ev->status));
		break;
	case SERVER_EV_NICK:
		json_str(&b, "nick", ev->why);
		break;
	case SERVER_EV_STOPPING:
		sbuf_addf(&b, ",\"signal\":%d", ev->status);
		break;
	default:
		break;
	}
	sbuf_addc(&b, '}');
	status_line(o, &b);
}

/* Events that are news only with -v. */
static bool verbose_only(const struct server_event *ev)
{
	switch (ev->kind) {
	case SERVER_EV_EXITED:
		return WIFEXITED(ev->status) && WEXITSTATUS(ev->status) == 0;
	case SERVER_EV_NICK:
	case SERVER_EV_STDIN_EOF:
	case SERVER_EV_STOPPING:
		return true;
	default:
		return false;
	}
}

static void event_text(const struct opts *o, const struct server_event *ev)
{
	struct sbuf b = SBUF_INIT;

	switch (ev->kind) {
	case SERVER_EV_CONNECTED:
		sbuf_addf(&b, "connected by %s", ev->peer);
		break;
	case SERVER_EV_DISCONNECTED:
		sbuf_addf(&b, "disconnected %s (", ev->peer);
		if (ev->counted)
			sbuf_addf(&b, "received %llu B, sent %llu B, ",
				  (unsigned long long)ev->received,
				  (unsigned long long)ev->sent);
		sbuf_addf(&b, "%.3f s)", ev->ms / 1000.0);
		if (ev->why)
			sbuf_addf(&b, ": %s", ev->why);
		if (ev->err)
			sbuf_addf(&b, ": %s", net_strerror(ev->err));
		break;
	case SERVER_EV_REFUSED:
		sbuf_addf(&b, "refused %s: %s", ev->peer, ev->why);
		break;
	case SERVER_EV_ACCEPT_PAUSED:
		sbuf_addf(&b, "accept: %s: not accepting for a moment",
			  net_strerror(ev->err));
		break;
	case SERVER_EV_ACCEPT_RESUMED:
		sbuf_adds(&b, "accepting again");
		break;
	case SERVER_EV_EXITED:
		sbuf_addf(&b, "command for %s ", ev->peer);
		exit_text(&b, ev->status);
		break;
	case SERVER_EV_NICK:
		sbuf_addf(&b, "%s is now %s", ev->peer, ev->why);
		break;
	case SERVER_EV_STDIN_EOF:
		sbuf_adds(&b, "end of stdin");
		if (ev->err)
			sbuf_addf(&b, ": %s", net_strerror(ev->err));
		break;
	case SERVER_EV_STOPPING:
		sbuf_addf(&b, "stopping (%s)", sigabbrev_np(ev->status));
		break;
	}
	status_line(o, &b);
}

static void update_prompt(struct opts *o);

static void on_event(const struct server_event *ev, void *arg)
{
	struct opts *o = arg;

	if (ev->kind == SERVER_EV_CONNECTED)
		o->nclients++;
	else if (ev->kind == SERVER_EV_DISCONNECTED && o->nclients)
		o->nclients--;
	if (o->verbosity >= 0 && (o->verbosity > 0 || !verbose_only(ev))) {
		if (o->json)
			event_json(o, ev);
		else
			event_text(o, ev);
	}
	if (ev->kind == SERVER_EV_CONNECTED ||
	    ev->kind == SERVER_EV_DISCONNECTED)
		update_prompt(o);
}

/* ---- the operator's prompt ---- */

/* --relay: who a typed line goes to; --chat: the name it goes out under. */
static void update_prompt(struct opts *o)
{
	char text[sizeof(o->prompt_text)];

	if (o->so.mode == SERVER_CHAT)
		snprintf(text, sizeof(text), "<server> ");
	else if (o->nclients == 0)
		snprintf(text, sizeof(text), "no client> ");
	else
		snprintf(text, sizeof(text), "%zu client%s> ", o->nclients,
			 o->nclients == 1 ? "" : "s");
	if (!strcmp(text, o->prompt_text))
		return;
	memcpy(o->prompt_text, text, sizeof(text));
	if (o->prompt)
		prompt_set(o->prompt, text);
}

static void on_line(void *arg, const char *line)
{
	struct opts *o = arg;
	struct sbuf b = SBUF_INIT;

	if (!line) {
		server_input_end(o->srv);
		return;
	}
	sbuf_adds(&b, line);
	sbuf_addc(&b, '\n');
	if (server_input(o->srv, b.data, b.len) == 0 &&
	    o->so.mode == SERVER_RELAY)
		prompt_write(o->prompt, 2, "not sent: no client connected\n",
			     30);
	sbuf_free(&b);
}

static void prompt_out(void *arg, const void *data, size_t len)
{
	struct opts *o = arg;

	prompt_write(o->prompt, 1, data, len);
}

static int start_prompt(struct opts *o, struct loop *l)
{
	struct prompt_opts po = {.on_line = on_line, .arg = o};
	char hist[4096];
	int r;

	update_prompt(o);
	po.prompt = o->prompt_text;
	if (prompt_history_path(hist, sizeof(hist)) == 0)
		po.history = hist;
	r = prompt_new(l, &po, &o->prompt);
	return r < 0 ? cli_fail(CMD, "prompt", r) : 0;
}

/* A status line; `listening on` is printed even with -q (SPEC 1: servers
 * always say where they listen, and scripts read the port from it). */
static void say(const struct opts *o, const char *event, const char *text,
		const char *json_fields, bool always)
{
	struct sbuf b = SBUF_INIT;

	if (o->verbosity < 0 && !always)
		return;
	if (o->json) {
		json_time(&b);
		sbuf_addf(&b, "\"event\":\"%s\"%s}", event, json_fields);
	} else {
		sbuf_adds(&b, text);
	}
	status_line(o, &b);
}

static void say_listening(const struct opts *o, int fd)
{
	char addr[NET_ADDRSTRLEN], text[NET_ADDRSTRLEN + 32];
	struct sbuf f = SBUF_INIT;
	const char *proto = o->unix_path ? "unix" : "tcp";
	const char *colon;

	if (o->unix_path)
		snprintf(addr, sizeof(addr), "%s", o->unix_path);
	else
		net_sock_str(fd, addr);
	snprintf(text, sizeof(text), "listening on %s (%s)", addr, proto);
	json_str(&f, "address", addr);
	colon = strrchr(addr, ':');
	if (!o->unix_path && colon)
		sbuf_addf(&f, ",\"port\":%s", colon + 1);
	sbuf_addf(&f, ",\"proto\":\"%s\"", proto);
	say(o, "listening", text, f.data, true);
	sbuf_free(&f);
}

static void say_served(const struct opts *o, uint64_t n)
{
	char text[64], fields[64];

	snprintf(text, sizeof(text), "served %llu connection%s",
		 (unsigned long long)n, n == 1 ? "" : "s");
	snprintf(fields, sizeof(fields), ",\"connections\":%llu",
		 (unsigned long long)n);
	say(o, "served", text, fields, false);
}

/* ---- --udp ---- */

/* Is arg --udp, --udp=PORT or an abbreviation getopt would take for it? */
static bool is_udp_flag(const char *arg, const char **ret_port)
{
	const char *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);

	/* "--u" alone is ambiguous with --unix; getopt says so. */
	if (len < 4 || strncmp(arg, "--udp", len))
		return false;
	*ret_port = eq ? eq + 1 : NULL;
	return true;
}

/*
 * `serve --udp PORT [options]` is `udp-listen [options] PORT` (SPEC 3), so
 * --udp is found before getopt meets udp-listen's own options.  Returns
 * -1 when there is no --udp, else udp-listen's exit status.
 */
static int run_udp(int argc, char **argv)
{
	const char *port = NULL;
	int at = -1, skip = 1, n = 0, r;
	char **args;

	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!is_udp_flag(argv[i], &port))
			continue;
		at = i;
		if (!port && i + 1 < argc) {
			port = argv[i + 1];
			skip = 2;
		}
		break;
	}
	if (at < 0)
		return -1;
	if (!port)
		return cli_usage(CMD, "option '--udp' needs a value");
	args = calloc((size_t)argc + 2, sizeof(*args));
	if (!args)
		abort();
	args[n++] = "udp-listen";
	for (int i = 1; i < argc; i++)
		if (i < at || i >= at + skip)
			args[n++] = argv[i];
	args[n++] = (char *)port;
	args[n] = NULL;
	r = cmd_udp_listen(n, args);
	free(args);
	return r;
}

/* ---- running ---- */

/* An --exec child must find 0, 1 and 2 taken, so that the socket never
 * lands there by accident; the same keeps stdout writes meaningful. */
static void ensure_std_fds(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) < 0)
			return;
}

static int open_listener(const struct opts *o, int *ret_fd)
{
	struct net_listen_opts lo = {
		.family = o->family,
		.socktype = SOCK_STREAM,
		.backlog = o->backlog,
		.prepare = sockopt_list_apply,
		.arg = (void *)&o->sockopts,
	};
	char what[PARSE_HOST_MAX + PARSE_PORT_MAX + 16];
	const char *why = NULL;
	uint16_t port;
	int r;

	if (o->unix_path) {
		r = parse_unix_path(o->unix_path, &(struct sockaddr_un){0},
				    &(socklen_t){0}, &why);
		if (r < 0)
			return cli_usage(CMD, "invalid --unix '%s': %s",
					 o->unix_path, why);
		r = net_listen_unix(o->unix_path, &lo, ret_fd);
		if (r < 0 && sockopt_list_failed(&o->sockopts))
			return cli_fail(CMD, sockopt_list_failed(&o->sockopts),
					r);
		if (r == -EEXIST) {
			/* Whatever it is, it is not ours to remove. */
			cli_error(CMD, "%s: exists and is not a socket",
				  o->unix_path);
			return EXIT_FAIL;
		}
		return r < 0 ? cli_fail(CMD, o->unix_path, r) : 0;
	}
	r = parse_port(o->tcp_port, "tcp", &port, &why);
	if (r < 0 && err_is_eai(r))
		return cli_fail(CMD, o->tcp_port, r);
	if (r < 0)
		return cli_usage(CMD, "invalid --tcp '%s': %s", o->tcp_port,
				 why);
	r = net_listen(o->bind, o->tcp_port, &lo, ret_fd);
	if (r < 0 && sockopt_list_failed(&o->sockopts))
		return cli_fail(CMD, sockopt_list_failed(&o->sockopts), r);
	if (r < 0) {
		snprintf(what, sizeof(what), "listen on %s%s%s",
			 o->bind ? o->bind : "port ", o->bind ? ":" : "",
			 o->tcp_port);
		return cli_fail(CMD, what, r);
	}
	return 0;
}

/* Remove the socket file at exit, if it is still the one we made. */
static void unlink_ours(const char *path, const struct stat *made)
{
	struct stat st;

	if (path[0] == '@' || made->st_ino == 0)
		return;
	if (lstat(path, &st) == 0 && st.st_ino == made->st_ino &&
	    st.st_dev == made->st_dev && S_ISSOCK(st.st_mode))
		unlink(path);
}

static int report(const struct opts *o, const struct server_result *res)
{
	if (res->err == -ETIMEDOUT && res->what &&
	    !strcmp(res->what, "accept")) {
		cli_error(CMD, "no client connected within %s s: timed out",
			  o->accept_timeout);
		return EXIT_TIMEOUT;
	}
	if (res->err < 0)
		return cli_fail(CMD, res->what ? res->what : "serve", res->err);
	say_served(o, res->served);
	return EXIT_OK;
}

static int run(struct opts *o, int lfd)
{
	struct server_result res = {0};
	struct loop *l = loop_new();
	int r;

	if (!l) {
		close(lfd);
		return cli_fail(CMD, "event loop", -errno);
	}
	loop_set_spin(l, o->spin_us);
	o->so.on_event = on_event;
	o->so.arg = o;
	r = server_new(l, lfd, &o->so, &o->srv);
	if (r < 0) {
		loop_free(l);
		return cli_fail(CMD, "event loop", r);
	}
	/* write_out is set when stdin is the operator's terminal. */
	r = o->so.write_out ? start_prompt(o, l) : 0;
	if (r == 0) {
		server_run(o->srv, &res);
		/* The prompt goes first, so "served" lands on a clean line. */
		prompt_free(o->prompt);
		o->prompt = NULL;
		r = report(o, &res);
	}
	server_free(o->srv);
	loop_free(l);
	return r;
}

int cmd_serve(int argc, char **argv)
{
	struct opts o = {0};
	struct stat made = {0};
	uint64_t limit = 0;
	sigset_t stop;
	int r, lfd;

	r = run_udp(argc, argv);
	if (r >= 0)
		return r;
	r = parse_opts(argc, argv, &o);
	if (r) {
		opts_free(&o);
		return r < 0 ? cli_help(CMD) : r;
	}
	ensure_std_fds();
	if (o.trace_path) {
		o.so.trace = fopen(o.trace_path, "we");
		if (!o.so.trace) {
			r = cli_fail(CMD, o.trace_path, -errno);
			goto out;
		}
		o.so.trace_json = o.json;
	}
	/* Thousands of clients need thousands of fds. */
	r = server_raise_nofile(&limit);
	if (r < 0 && o.verbosity > 0)
		cli_error(CMD, "cannot raise the open-files limit: %s",
			  net_strerror(r));
	/* A SIGTERM right after the listening line must find the server's
	 * handler: hold the signals until the loop takes them. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	r = open_listener(&o, &lfd);
	if (r)
		goto out;
	if (o.unix_path && o.unix_path[0] != '@')
		stat(o.unix_path, &made);
	say_listening(&o, lfd);
	if (o.verbosity > 0 && !o.json && limit)
		fprintf(stderr, "open-files limit %llu\n",
			(unsigned long long)limit);
	r = run(&o, lfd);
	if (o.unix_path)
		unlink_ours(o.unix_path, &made);
out:
	if (o.so.trace && fclose(o.so.trace) != 0 && r == 0)
		r = cli_fail(CMD, o.trace_path, -errno);
	opts_free(&o);
	return r;
}
