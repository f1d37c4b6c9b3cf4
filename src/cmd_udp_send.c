/*
 * cmd_udp_send.c - `sockctl udp-send`: a UDP (or Unix datagram) client.
 * Each MESSAGE, or each line of stdin, is one datagram; replies are printed
 * as they arrive, in udp-listen's formats, and for --wait seconds after
 * the last datagram, so a late reply is never lost (`ncat -u` and
 * `nc -u -q1` lose it).  With --count it works like ping: round-trip times
 * and a summary.
 *
 * The socket is connected to the peer (unless it is a broadcast or
 * multicast address), so the kernel reports an ICMP port unreachable as
 * ECONNREFUSED and a closed port is exit 4, not silence.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "dgram.h"
#include "err.h"
#include "fmt.h"
#include "loop.h"
#include "net.h"
#include "parse.h"
#include "prompt.h"
#include "sockopt.h"

#define CMD "udp-send"

#define BATCH 16
/* --count: how far back a reply looks for the probe it answers. */
#define MATCH_WINDOW 1024

const char cmd_udp_send_help[] =
	"Usage: sockctl udp-send [options] HOST PORT [MESSAGE...]\n"
	"       sockctl udp-send [options] HOST:PORT [MESSAGE...]\n"
	"       sockctl udp-send [options] --unix PATH [MESSAGE...]\n"
	"\n"
	"Send each MESSAGE as one datagram (escapes \\n \\r \\t \\0 \\\\ "
	"\\xHH\n"
	"interpreted) and print the replies, HOST:PORT: payload.  Without "
	"MESSAGE\n"
	"each line of stdin is one datagram (a prompt on a terminal).\n"
	"\n"
	"Sending:\n"
	"      --whole            all of stdin is one datagram\n"
	"  -c, --count N          send each datagram N times and show "
	"round-trip\n"
	"                         times and a summary, like ping\n"
	"      --interval SECS    wait SECS between datagrams (default 1 "
	"with\n"
	"                         --count, else 0)\n"
	"      --broadcast        allow sending to a broadcast address\n"
	"      --ttl N            IP TTL / hop limit, unicast and multicast\n"
	"  -s, --source ADDR      local address to send from\n"
	"  -p, --source-port PORT\n"
	"                         local port to send from\n"
	"  -4, -6                 IPv4 / IPv6 only\n"
	"      --unix PATH        a Unix datagram socket (@NAME: abstract)\n"
	"  -o, --sockopt NAME=VALUE  set a socket option (repeatable; see\n"
	"                         'sockctl opts list')\n" CLI_SPIN_HELP "\n"
	"Replies:\n"
	"  -w, --wait SECS        after the last datagram, wait SECS for "
	"replies\n"
	"                         (default 1; 0: do not wait)\n"
	"      --expect N         exit 5 unless at least N replies arrive\n"
	"      --raw              write only the payload bytes\n"
	"  -x, --hex              a hex dump of each reply\n"
	"      --json             one JSON object per reply\n"
	"\n"
	"Common options:\n"
	"  -v, --verbose          report the addresses and totals\n"
	"  -q, --quiet            no status lines\n"
	"  -h, --help             show this help\n"
	"\n"
	"Exit status: 0 sent, 1 failure, 2 usage error (a datagram too "
	"long),\n"
	"3 a name did not resolve, 4 port unreachable, 5 fewer replies than\n"
	"--expect.\n";

struct msg {
	char *data;
	size_t len;
};

struct opts {
	struct msg *msgs;
	size_t nmsgs;
	bool whole;
	uint64_t count; /* 0: once, no statistics */
	int64_t interval_ms; /* < 0: not given */
	int64_t wait_ms;
	uint64_t expect;
	bool expect_set;
	bool broadcast;
	int ttl; /* < 0: leave it */
	const char *src_host, *src_port;
	int family;
	const char *unix_path;
	enum dgram_fmt fmt;
	bool fmt_set;
	int verbose;
	unsigned spin_us; /* the loop's busy-poll window (loop_set_spin) */
	char host[PARSE_HOST_MAX];
	char port[PARSE_PORT_MAX];
	struct cli_sockopts sockopt_args; /* -o, parsed once --unix is known */
	struct sockopt_list sockopts;
};

struct client {
	struct opts *o;
	struct loop *loop;
	int fd;
	int family;
	bool connected;
	struct sockaddr_storage dest;
	socklen_t destlen;
	char peer[NET_ADDRSTRLEN];
	size_t limit; /* largest payload; 0: the kernel says */
	/* The datagram being sent and how often it has gone. */
	const char *cur;
	size_t cur_len;
	uint64_t cur_sent;
	bool have_cur;
	size_t next_msg;
	struct dgram_lines in;
	struct sbuf curbuf; /* a line of stdin being sent */
	struct prompt *prompt; /* stdin is a terminal */
	bool in_registered, in_file;
	bool blocked; /* the socket is full: waiting to write */
	bool pacing; /* --interval: waiting for the next send */
	bool all_sent;
	struct loop_timer *pace_timer, *wait_timer;
	struct dgram_rx rx;
	struct dgram_out out;
	/* --count: when each probe went (-1 once answered), and the tally */
	int64_t *probe_us;
	size_t nprobes, capprobes;
	uint64_t sent, received, dups;
	double rtt_min, rtt_max, rtt_sum;
	int status;
};

enum {
	OPT_WHOLE = 256,
	OPT_INTERVAL,
	OPT_BROADCAST,
	OPT_TTL,
	OPT_UNIX,
	OPT_EXPECT,
	OPT_RAW,
	OPT_JSON,
	OPT_SPIN,
};

static const struct option longopts[] = {
	{"whole", no_argument, NULL, OPT_WHOLE},
	{"count", required_argument, NULL, 'c'},
	{"interval", required_argument, NULL, OPT_INTERVAL},
	{"broadcast", no_argument, NULL, OPT_BROADCAST},
	{"ttl", required_argument, NULL, OPT_TTL},
	{"source", required_argument, NULL, 's'},
	{"source-port", required_argument, NULL, 'p'},
	{"unix", required_argument, NULL, OPT_UNIX},
	{"wait", required_argument, NULL, 'w'},
	{"expect", required_argument, NULL, OPT_EXPECT},
	{"raw", no_argument, NULL, OPT_RAW},
	{"hex", no_argument, NULL, 'x'},
	{"json", no_argument, NULL, OPT_JSON},
	{"spin", required_argument, NULL, OPT_SPIN},
	{"sockopt", required_argument, NULL, 'o'},
	{"verbose", no_argument, NULL, 'v'},
	{"quiet", no_argument, NULL, 'q'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* ---- options ---- */

static int set_fmt(struct opts *o, enum dgram_fmt f)
{
	if (o->fmt_set && o->fmt != f)
		return cli_usage(CMD, "only one of --raw, --hex and --json");
	o->fmt = f;
	o->fmt_set = true;
	return 0;
}

static int set_uint(const char *opt, const char *arg, uint64_t min,
		    uint64_t max, uint64_t *ret)
{
	const char *why;

	if (parse_uint(arg, min, max, ret, &why) < 0)
		return cli_usage(CMD, "invalid %s '%s': %s (%llu-%llu)", opt,
				 arg, why, (unsigned long long)min,
				 (unsigned long long)max);
	return 0;
}

static int set_source_port(struct opts *o, const char *arg)
{
	uint16_t port;
	const char *why;
	int r = parse_port(arg, "udp", &port, &why);

	if (r < 0 && err_is_eai(r)) {
		cli_error(CMD, "%s: %s", arg, why);
		return EXIT_NORESOLVE;
	}
	if (r < 0)
		return cli_usage(CMD, "invalid source port '%s': %s", arg, why);
	o->src_port = arg;
	return 0;
}

/* -o NAME=VALUE for the socket kind this command opens. */
static int parse_sockopts(struct opts *o)
{
	unsigned kinds =
		o->unix_path ? SOCKOPT_UNIX_DGRAM : SOCKOPT_UDP | SOCKOPT_UDP6;

	return cli_sockopts_parse(CMD, &o->sockopt_args, kinds, &o->sockopts);
}

static int parse_one(struct opts *o, int c, char **argv)
{
	uint64_t v;
	int r = 0;

	switch (c) {
	case OPT_WHOLE:
		o->whole = true;
		break;
	case 'c':
		r = set_uint("count", optarg, 1, UINT32_MAX, &o->count);
		break;
	case OPT_INTERVAL:
		r = cli_duration_ms(CMD, "--interval", optarg, &o->interval_ms);
		break;
	case OPT_BROADCAST:
		o->broadcast = true;
		break;
	case OPT_TTL:
		r = set_uint("--ttl", optarg, 0, 255, &v);
		o->ttl = (int)v;
		break;
	case 's':
		o->src_host = optarg;
		break;
	case 'p':
		r = set_source_port(o, optarg);
		break;
	case '4':
		o->family = AF_INET;
		break;
	case '6':
		o->family = AF_INET6;
		break;
	case OPT_UNIX:
		o->unix_path = optarg;
		break;
	case 'w':
		r = cli_duration_ms(CMD, "--wait", optarg, &o->wait_ms);
		break;
	case OPT_EXPECT:
		r = set_uint("--expect", optarg, 0, UINT32_MAX, &o->expect);
		o->expect_set = true;
		break;
	case OPT_RAW:
		return set_fmt(o, DGRAM_RAW);
	case 'x':
		return set_fmt(o, DGRAM_HEX);
	case OPT_JSON:
		return set_fmt(o, DGRAM_JSON);
	case 'o':
		r = cli_sockopt_arg(CMD, &o->sockopt_args, optarg);
		break;
	case OPT_SPIN:
		r = cli_spin(CMD, optarg, &o->spin_us);
		break;
	case 'v':
		o->verbose = 1;
		break;
	case 'q':
		o->verbose = -1;
		break;
	case 'h':
		cli_help(CMD);
		return -1;
	default:
		return cli_bad_option(CMD, c, argv);
	}
	return r;
}

/* Returns 0 to go on, -1 after --help, or an exit status > 0. */
static int parse_opts(int argc, char **argv, struct opts *o)
{
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, ":c:s:p:46w:xo:vqh", longopts,
				NULL)) != -1)
		if ((r = parse_one(o, c, argv)))
			return r;
	return 0;
}

static bool is_ipv6(const char *s)
{
	struct in6_addr a;

	return inet_pton(AF_INET6, s, &a) == 1;
}

/* HOST PORT or HOST:PORT; returns how many operands, or an exit status
 * as a negative number. */
static int parse_address(struct opts *o, int argc, char **argv)
{
	char h[PARSE_HOST_MAX], p[PARSE_PORT_MAX];
	const char *why;
	uint16_t port;
	int n, r;

	if (argc < 1)
		return -cli_usage(CMD, "missing HOST and PORT");
	/* One operand when it reads as HOST:PORT or [V6]:PORT; a lone
	 * operand with a colon, or a bracket left open, meant to. */
	n = parse_hostport(argv[0], h, p, &why) == 0 ? 1 : 2;
	if (n == 2 && (argv[0][0] == '[' ? !strchr(argv[0], ']')
					 : argc < 2 && strchr(argv[0], ':') &&
						   !is_ipv6(argv[0])))
		return -cli_usage(CMD, "invalid address '%s': %s", argv[0],
				  why);
	if (n == 2 && argc < 2)
		return -cli_usage(CMD, "missing PORT");
	r = parse_address_args(n, argv, o->host, o->port, &why);
	if (r < 0)
		return -cli_usage(CMD, "invalid address '%s': %s", argv[0],
				  why);
	r = parse_port(o->port, "udp", &port, &why);
	if (r < 0 && err_is_eai(r)) {
		cli_error(CMD, "%s: %s", o->port, why);
		return -EXIT_NORESOLVE;
	}
	if (r < 0)
		return -cli_usage(CMD, "invalid port '%s': %s", o->port, why);
	snprintf(o->port, sizeof(o->port), "%u", port);
	return n;
}

static int parse_messages(struct opts *o, int argc, char **argv)
{
	const char *why;

	o->msgs = calloc((size_t)argc + 1, sizeof(*o->msgs));
	if (!o->msgs)
		return cli_fail(CMD, "memory", -ENOMEM);
	for (int i = 0; i < argc; i++) {
		struct msg *m = &o->msgs[o->nmsgs];

		if (parse_escapes(argv[i], &m->data, &m->len, &why) < 0)
			return cli_usage(CMD, "invalid message '%s': %s",
					 argv[i], why);
		o->nmsgs++;
	}
	return 0;
}

static int check_operands(struct opts *o, int argc, char **argv)
{
	int n = 0;

	if (o->unix_path) {
		const char *why;

		if (parse_unix_path(o->unix_path, &(struct sockaddr_un){0},
				    &(socklen_t){0}, &why) < 0)
			return cli_usage(CMD, "invalid --unix '%s': %s",
					 o->unix_path, why);
		if (o->src_host || o->src_port || o->family || o->broadcast ||
		    o->ttl >= 0)
			return cli_usage(CMD, "--unix does not go with -s, -p, "
					      "-4, -6, --broadcast or --ttl");
	} else {
		n = parse_address(o, argc, argv);
		if (n < 0)
			return -n;
	}
	if (o->whole && argc > n)
		return cli_usage(CMD, "--whole reads stdin; it takes no "
				      "MESSAGE");
	if (o->interval_ms < 0)
		o->interval_ms = o->count ? 1000 : 0;
	return parse_messages(o, argc - n, argv + n);
}

/* ---- the socket ---- */

/* --ttl: IPv4 has no unicast TTL 0; for multicast it means "this host". */
static int set_ttl(int fd, int family, int ttl)
{
	int r = 0;

	if (ttl < 0)
		return 0;
	if (family == AF_INET) {
		if (ttl > 0)
			r = setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl,
				       sizeof(ttl));
		if (r == 0)
			r = setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl,
				       sizeof(ttl));
	} else if (family == AF_INET6) {
		r = setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl,
			       sizeof(ttl));
		if (r == 0)
			r = setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS,
				       &ttl, sizeof(ttl));
	}
	return r < 0 ? -errno : 0;
}

/*
 * Applied to the socket before it is bound or connected: --broadcast,
 * --ttl, then -o (so that -o has the last word), and for a Unix socket
 * an autobound abstract address, so that replies can come back.
 */
static int prepare(int fd, int family, void *arg)
{
	struct opts *o = arg;
	sa_family_t af = AF_UNIX;
	int one = 1, r;

	if (o->broadcast &&
	    setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) < 0)
		return -errno;
	if ((r = set_ttl(fd, family, o->ttl)) < 0 ||
	    (r = sockopt_list_apply(fd, family, &o->sockopts)) < 0)
		return r;
	if (family == AF_UNIX &&
	    bind(fd, (struct sockaddr *)&af, sizeof(af)) < 0)
		return -errno;
	return 0;
}

static bool is_multicast(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return IN_MULTICAST(ntohl(
			((const struct sockaddr_in *)sa)->sin_addr.s_addr));
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_MULTICAST(
			&((const struct sockaddr_in6 *)sa)->sin6_addr);
	return false;
}

static int bind_source(struct client *c, int family)
{
	struct opts *o = c->o;
	struct addrinfo *ai;
	int r;

	if (!o->src_host && !o->src_port)
		return 0;
	r = net_resolve(o->src_host, o->src_port ? o->src_port : "0", family,
			SOCK_DGRAM, AI_PASSIVE, &ai);
	if (r < 0)
		return r;
	r = bind(c->fd, ai->ai_addr, ai->ai_addrlen) < 0 ? -errno : 0;
	freeaddrinfo(ai);
	return r;
}

/* With -s, IPv4 multicast leaves through that address's interface. */
static int multicast_source(struct client *c, const struct addrinfo *a)
{
	struct sockaddr_in local;
	socklen_t len = sizeof(local);

	if (!c->o->src_host || a->ai_family != AF_INET ||
	    !is_multicast(a->ai_addr))
		return 0;
	if (getsockname(c->fd, (struct sockaddr *)&local, &len) < 0 ||
	    setsockopt(c->fd, IPPROTO_IP, IP_MULTICAST_IF, &local.sin_addr,
		       sizeof(local.sin_addr)) < 0)
		return -errno;
	return 0;
}

/* Broadcast and multicast replies come from other addresses than the
 * one sent to, so that socket stays unconnected and uses sendto(). */
static int open_unconnected(struct client *c, const struct addrinfo *a)
{
	int r;

	c->fd = socket(a->ai_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		       0);
	if (c->fd < 0)
		return -errno;
	if ((r = prepare(c->fd, a->ai_family, c->o)) < 0 ||
	    (r = bind_source(c, a->ai_family)) < 0 ||
	    (r = multicast_source(c, a)) < 0)
		return r;
	memcpy(&c->dest, a->ai_addr, a->ai_addrlen);
	c->destlen = a->ai_addrlen;
	return 0;
}

static int open_ip(struct client *c)
{
	struct opts *o = c->o;
	struct net_connect_opts co = {
		.family = o->family,
		.socktype = SOCK_DGRAM,
		.timeout_ms = -1,
		.src_host = o->src_host,
		.src_port = o->src_port,
		.prepare = prepare,
		.arg = o,
	};
	struct addrinfo *ai;
	int r;

	r = net_resolve(o->host, o->port, o->family, SOCK_DGRAM, 0, &ai);
	if (r < 0)
		return r;
	if (o->ttl == 0 && ai->ai_family == AF_INET &&
	    !is_multicast(ai->ai_addr)) {
		freeaddrinfo(ai);
		return -EDOM;
	}
	if (o->broadcast || is_multicast(ai->ai_addr)) {
		r = open_unconnected(c, ai);
		freeaddrinfo(ai);
		return r;
	}
	freeaddrinfo(ai);
	c->connected = true;
	return net_connect(o->host, o->port, &co, &c->fd);
}

static int open_socket(struct client *c)
{
	struct opts *o = c->o;
	struct net_connect_opts co = {
		.socktype = SOCK_DGRAM,
		.timeout_ms = -1,
		.prepare = prepare,
		.arg = o,
	};
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char local[NET_ADDRSTRLEN];
	int r;

	if (o->unix_path) {
		c->connected = true;
		r = net_connect_unix(o->unix_path, &co, &c->fd);
	} else {
		r = open_ip(c);
	}
	if (r == -EDOM)
		return cli_usage(CMD, "--ttl 0 is for multicast only; IPv4 "
				      "unicast needs 1-255");
	if (r < 0 && sockopt_list_failed(&o->sockopts))
		return cli_fail(CMD, sockopt_list_failed(&o->sockopts), r);
	if (r == -EACCES && !o->broadcast && !o->unix_path) {
		cli_error(CMD, "%s: %s (a broadcast address needs --broadcast)",
			  o->host, net_strerror(r));
		return EXIT_FAIL;
	}
	if (r < 0)
		return cli_fail(CMD, o->unix_path ? o->unix_path : o->host, r);
	getsockname(c->fd, (struct sockaddr *)&ss, &len);
	c->family = ss.ss_family;
	c->limit = dgram_max_payload(c->family);
	if (c->connected)
		net_peer_str(c->fd, c->peer);
	else
		net_addr_str((struct sockaddr *)&c->dest, c->destlen, c->peer);
	if (o->verbose > 0)
		fprintf(stderr, "sending to %s from %s\n", c->peer,
			net_sock_str(c->fd, local));
	return 0;
}

/* ---- ending ---- */

static bool expect_met(struct client *c)
{
	return c->o->expect_set && c->received >= c->o->expect;
}

/* After the last datagram: done early when every reply that was asked
 * for is in, else at the end of --wait. */
static void maybe_done(struct client *c)
{
	if (!c->all_sent)
		return;
	if (expect_met(c) ||
	    (c->o->count && !c->o->expect_set && c->received >= c->sent))
		loop_stop(c->loop, EXIT_OK);
}

static void on_wait_timer(struct loop *l, struct loop_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	loop_stop(l, EXIT_OK);
}

static void all_sent(struct client *c)
{
	c->all_sent = true;
	if (c->o->wait_ms == 0) {
		loop_stop(c->loop, EXIT_OK);
		return;
	}
	c->wait_timer =
		loop_timer_add(c->loop, c->o->wait_ms, on_wait_timer, c);
	maybe_done(c);
}

static void flush_out(struct client *c);

/* Take the prompt off the screen before a diagnostic is printed. */
static void end_prompt(struct client *c)
{
	if (c->prompt) {
		flush_out(c);
		prompt_close(c->prompt);
	}
}

static void fail(struct client *c, int status)
{
	end_prompt(c);
	c->status = status;
	loop_stop(c->loop, status);
}

static void port_unreachable(struct client *c)
{
	end_prompt(c);
	if (c->o->unix_path)
		cli_error(CMD, "%s: %s", c->peer, net_strerror(-ECONNREFUSED));
	else
		cli_error(CMD, "%s: port unreachable", c->peer);
	fail(c, EXIT_REFUSED);
}

/* ---- replies ---- */

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * Which probe a reply answers.  A reply carries no sequence number, so it
 * is taken as the answer to the newest probe not yet answered: a lost
 * probe then costs only itself, not the times of all that follow.
 */
static bool match_probe(struct client *c, int64_t t, struct dgram_rtt *rtt)
{
	size_t floor =
		c->nprobes > MATCH_WINDOW ? c->nprobes - MATCH_WINDOW : 0;

	for (size_t i = c->nprobes; i-- > floor;) {
		if (c->probe_us[i] < 0)
			continue;
		rtt->seq = i + 1;
		rtt->ms = (double)(t - c->probe_us[i]) / 1000.0;
		c->probe_us[i] = -1;
		return true;
	}
	return false;
}

static void tally(struct client *c, const struct dgram_rtt *rtt)
{
	if (c->received == 0 || rtt->ms < c->rtt_min)
		c->rtt_min = rtt->ms;
	if (c->received == 0 || rtt->ms > c->rtt_max)
		c->rtt_max = rtt->ms;
	c->rtt_sum += rtt->ms;
}

static void on_reply(struct client *c, const struct dgram *d, int64_t t)
{
	struct dgram_rtt rtt;

	if (!c->o->count) {
		c->received++;
		dgram_out_add(&c->out, d, NULL);
		return;
	}
	if (!match_probe(c, t, &rtt)) {
		c->dups++;
		dgram_out_add(&c->out, d, NULL);
		return;
	}
	tally(c, &rtt);
	c->received++;
	dgram_out_add(&c->out, d, &rtt);
}

static void flush_out(struct client *c)
{
	int r;

	if (c->prompt) {
		/* Above the line being typed, which stays intact. */
		prompt_write(c->prompt, STDOUT_FILENO, c->out.buf.data,
			     c->out.buf.len);
		sbuf_reset(&c->out.buf);
		return;
	}
	r = dgram_out_flush(&c->out, STDOUT_FILENO);

	if (r < 0 && r != -EPIPE)
		fail(c, cli_fail(CMD, "write to stdout", r));
	else if (r == -EPIPE)
		loop_stop(c->loop, c->status);
}

/* The raw format has no room for it in the data itself. */
static void report_truncated(struct client *c, const struct dgram *d)
{
	flush_out(c);
	if (c->prompt)
		prompt_printf(c->prompt, STDERR_FILENO,
			      "sockctl: " CMD ": %s: reply truncated to %zu "
			      "of %zu bytes\n",
			      c->peer, d->len, d->real_len);
	else
		cli_error(CMD, "%s: reply truncated to %zu of %zu bytes",
			  c->peer, d->len, d->real_len);
}

static void receive(struct client *c)
{
	int n = dgram_rx_recv(&c->rx, c->fd, c->rx.n);
	int64_t t = now_us();

	if (n == -ECONNREFUSED) {
		port_unreachable(c);
		return;
	}
	if (n < 0) {
		end_prompt(c);
		fail(c, cli_fail(CMD, "receive", n));
		return;
	}
	for (int i = 0; i < n; i++) {
		struct dgram d;

		dgram_rx_get(&c->rx, (unsigned)i, &d);
		on_reply(c, &d, t);
		if (d.real_len > d.len && c->o->fmt == DGRAM_RAW &&
		    c->o->verbose >= 0)
			report_truncated(c, &d);
	}
	flush_out(c);
	maybe_done(c);
}

/* ---- sending ---- */

static void pump(struct client *c);
static void on_stdin(struct loop *l, int fd, uint32_t events, void *arg);

static void on_socket(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct client *c = arg;

	(void)l;
	(void)fd;
	if (events & (LOOP_IN | LOOP_ERR | LOOP_HUP))
		receive(c);
	if ((events & LOOP_OUT) && c->blocked && !loop_stopping(c->loop)) {
		c->blocked = false;
		loop_modify(c->loop, c->fd, LOOP_IN);
		pump(c);
	}
}

static void on_pace(struct loop *l, struct loop_timer *t, void *arg)
{
	struct client *c = arg;

	(void)l;
	(void)t;
	c->pacing = false;
	pump(c);
}

/* Ask for stdin to be read; false when it must be read right here
 * (epoll refuses regular files and /dev/null, which never block). */
static bool want_stdin(struct client *c, bool on)
{
	int r;

	if (c->in_file)
		return !on;
	if (!c->in_registered) {
		if (!on)
			return true;
		r = loop_watch(c->loop, STDIN_FILENO, LOOP_IN, on_stdin, c);
		if (r == -EPERM) {
			c->in_file = true;
			return false;
		}
		if (r < 0) {
			fail(c, cli_fail(CMD, "stdin", r));
			return true;
		}
		c->in_registered = true;
		return true;
	}
	loop_modify(c->loop, STDIN_FILENO, on ? LOOP_IN : 0);
	return true;
}

static bool read_stdin(struct client *c)
{
	ssize_t n = dgram_lines_read(&c->in, STDIN_FILENO);

	if (n == -EAGAIN)
		return false;
	if (n < 0) {
		fail(c, cli_fail(CMD, "read stdin", (int)n));
		return false;
	}
	return true;
}

/* The next datagram to send into c->cur; false when there is none yet
 * (stdin is being waited for) or any more (all_sent is then set). */
static bool next_datagram(struct client *c)
{
	struct opts *o = c->o;

	if (o->nmsgs) {
		if (c->next_msg == o->nmsgs)
			return false;
		c->cur = o->msgs[c->next_msg].data;
		c->cur_len = o->msgs[c->next_msg].len;
		c->next_msg++;
		c->have_cur = true;
		return true;
	}
	for (;;) {
		const char *line;
		size_t len;

		if (dgram_lines_next(&c->in, o->whole, &line, &len)) {
			want_stdin(c, false);
			/* A copy: more input may move the line buffer while
			 * this datagram waits for --interval or the socket. */
			sbuf_reset(&c->curbuf);
			sbuf_add(&c->curbuf, line, len);
			c->cur = c->curbuf.data ? c->curbuf.data : "";
			c->cur_len = len;
			c->have_cur = true;
			return true;
		}
		if (c->in.eof || c->prompt)
			return false;
		if (want_stdin(c, true) || !read_stdin(c))
			return false;
	}
}

static bool more_to_send(struct client *c)
{
	if (c->have_cur)
		return true;
	if (c->o->nmsgs)
		return c->next_msg < c->o->nmsgs;
	return !c->in.done;
}

static int check_size(struct client *c)
{
	if (!c->limit || c->cur_len <= c->limit)
		return 0;
	end_prompt(c);
	return cli_usage(CMD,
			 "a datagram of %zu bytes is too long: at most "
			 "%zu fit in %s UDP",
			 c->cur_len, c->limit,
			 c->family == AF_INET ? "IPv4" : "IPv6");
}

static void record_probe(struct client *c, int64_t t)
{
	if (!c->o->count)
		return;
	if (c->nprobes == c->capprobes) {
		size_t cap = c->capprobes ? c->capprobes * 2 : 64;
		int64_t *p = realloc(c->probe_us, cap * sizeof(*p));

		if (!p)
			abort();
		c->probe_us = p;
		c->capprobes = cap;
	}
	c->probe_us[c->nprobes++] = t;
}

static int send_cur(struct client *c)
{
	ssize_t r;

	do {
		if (c->connected)
			r = send(c->fd, c->cur, c->cur_len, MSG_DONTWAIT);
		else
			r = sendto(c->fd, c->cur, c->cur_len, MSG_DONTWAIT,
				   (struct sockaddr *)&c->dest, c->destlen);
	} while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

static void send_failed(struct client *c, int err)
{
	end_prompt(c);
	if (err == -ECONNREFUSED) {
		port_unreachable(c);
	} else if (err == -EMSGSIZE) {
		fail(c, cli_usage(CMD,
				  "a datagram of %zu bytes is too long "
				  "for this socket",
				  c->cur_len));
	} else if (err == -EACCES && !c->o->broadcast) {
		cli_error(CMD,
			  "%s: %s (a broadcast address needs "
			  "--broadcast)",
			  c->peer, net_strerror(err));
		fail(c, EXIT_FAIL);
	} else {
		fail(c, cli_fail(CMD, c->peer, err));
	}
}

/* Send one datagram; false when sending has to pause. */
static bool send_one(struct client *c)
{
	int64_t t = now_us(); /* like ping: the clock starts before send */
	int r;

	if ((r = check_size(c))) {
		fail(c, r);
		return false;
	}
	r = send_cur(c);
	if (r == -EAGAIN || r == -ENOBUFS) {
		c->blocked = true;
		loop_modify(c->loop, c->fd, LOOP_IN | LOOP_OUT);
		return false;
	}
	if (r < 0) {
		send_failed(c, r);
		return false;
	}
	record_probe(c, t);
	c->sent++;
	if (++c->cur_sent >= (c->o->count ? c->o->count : 1)) {
		c->have_cur = false;
		c->cur_sent = 0;
	}
	return true;
}

/* Send what there is to send, as far as the socket and --interval let. */
static void pump(struct client *c)
{
	while (!c->blocked && !c->pacing && !loop_stopping(c->loop)) {
		if (!c->have_cur && !next_datagram(c))
			break;
		if (!send_one(c))
			return;
		if (c->o->interval_ms > 0 && more_to_send(c)) {
			c->pacing = true;
			loop_timer_set(c->loop, c->pace_timer,
				       c->o->interval_ms);
			return;
		}
	}
	if (!c->all_sent && !c->have_cur && !more_to_send(c) &&
	    !loop_stopping(c->loop))
		all_sent(c);
}

static void on_stdin(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct client *c = arg;

	(void)l;
	(void)fd;
	(void)events;
	if (read_stdin(c))
		pump(c);
}

/* ---- statistics ---- */

static void summary(struct client *c)
{
	struct sbuf *b = &c->out.buf;
	double loss = c->sent ? 100.0 * (double)(c->sent - c->received) /
					(double)c->sent
			      : 0.0;
	double avg = c->received ? c->rtt_sum / (double)c->received : 0.0;

	if (c->o->fmt == DGRAM_JSON) {
		sbuf_adds(b, "{\"peer\":");
		fmt_json_string(b, c->peer, strlen(c->peer));
		sbuf_addf(b,
			  ",\"sent\":%llu,\"received\":%llu,"
			  "\"duplicates\":%llu,\"loss_percent\":%.1f",
			  (unsigned long long)c->sent,
			  (unsigned long long)c->received,
			  (unsigned long long)c->dups, loss);
		if (c->received)
			sbuf_addf(b,
				  ",\"min_ms\":%.3f,\"avg_ms\":%.3f,"
				  "\"max_ms\":%.3f}\n",
				  c->rtt_min, avg, c->rtt_max);
		else
			sbuf_adds(b, ",\"min_ms\":null,\"avg_ms\":null,"
				     "\"max_ms\":null}\n");
		return;
	}
	sbuf_addf(b, "--- %s udp-send statistics ---\n", c->peer);
	sbuf_addf(b, "%llu sent, %llu received, ", (unsigned long long)c->sent,
		  (unsigned long long)c->received);
	if (c->dups)
		sbuf_addf(b, "+%llu duplicates, ", (unsigned long long)c->dups);
	sbuf_addf(b, "%.*f%% loss\n", loss == (int)loss ? 0 : 1, loss);
	if (c->received)
		sbuf_addf(b, "rtt min/avg/max = %.3f/%.3f/%.3f ms\n",
			  c->rtt_min, avg, c->rtt_max);
}

/* ---- running ---- */

static void on_signal(struct loop *l, int signo, void *arg)
{
	(void)signo;
	(void)arg;
	loop_stop(l, EXIT_OK);
}

static int setup(struct client *c)
{
	int r;

	dgram_out_init(&c->out, c->o->fmt);
	if ((r = dgram_rx_init(&c->rx, BATCH, DGRAM_MAX_SIZE)) < 0)
		return cli_fail(CMD, "memory", r);
	c->loop = loop_new();
	if (!c->loop)
		return cli_fail(CMD, "memory", -ENOMEM);
	loop_set_spin(c->loop, c->o->spin_us);
	/* Parked far away; --interval moves it. */
	c->pace_timer = loop_timer_add(c->loop, 1 << 30, on_pace, c);
	if (!c->pace_timer)
		return cli_fail(CMD, "memory", -ENOMEM);
	if ((r = loop_watch(c->loop, c->fd, LOOP_IN, on_socket, c)) < 0 ||
	    (r = loop_signal(c->loop, SIGINT, on_signal, c)) < 0 ||
	    (r = loop_signal(c->loop, SIGTERM, on_signal, c)) < 0)
		return cli_fail(CMD, "event loop", r);
	return 0;
}

static void on_prompt_line(void *arg, const char *line)
{
	struct client *c = arg;

	if (line)
		dgram_lines_add(&c->in, line);
	else
		dgram_lines_end(&c->in);
	pump(c);
}

/* stdin is a terminal: each line entered is a datagram, with line
 * editing and the history that `connect` keeps too. */
static int start_prompt(struct client *c)
{
	char text[NET_ADDRSTRLEN + 4], history[4096];
	struct prompt_opts po = {
		.prompt = text,
		.history = prompt_history_path(history, sizeof(history)) < 0
				   ? NULL
				   : history,
		.on_line = on_prompt_line,
		.arg = c,
	};
	int r;

	snprintf(text, sizeof(text), "%s> ", c->peer);
	r = prompt_new(c->loop, &po, &c->prompt);
	if (r < 0)
		return cli_fail(CMD, "prompt", r);
	return 0;
}

static int check_sizes(struct client *c)
{
	for (size_t i = 0; i < c->o->nmsgs; i++) {
		c->cur_len = c->o->msgs[i].len;
		if (check_size(c))
			return EXIT_USAGE;
	}
	return 0;
}

static int finish(struct client *c)
{
	struct opts *o = c->o;
	int status = c->status;

	end_prompt(c);
	if (o->count && status != EXIT_USAGE)
		summary(c);
	flush_out(c);
	if (o->verbose > 0)
		fprintf(stderr, "sent %llu datagram%s, received %llu repl%s\n",
			(unsigned long long)c->sent, c->sent == 1 ? "" : "s",
			(unsigned long long)c->received,
			c->received == 1 ? "y" : "ies");
	if (status == EXIT_OK && o->expect_set && !expect_met(c)) {
		cli_error(CMD, "%s: timed out: %llu of %llu expected replies",
			  c->peer, (unsigned long long)c->received,
			  (unsigned long long)o->expect);
		status = EXIT_TIMEOUT;
	}
	return c->status ? c->status : status;
}

static int run(struct opts *o)
{
	struct client c = {.o = o, .fd = -1};
	int r;

	if ((r = open_socket(&c)) || (r = check_sizes(&c)) || (r = setup(&c)))
		goto out;
	if (!o->nmsgs && !o->whole && isatty(STDIN_FILENO) &&
	    (r = start_prompt(&c)))
		goto out;
	pump(&c);
	if (!loop_stopping(c.loop))
		loop_run(c.loop);
	r = finish(&c);
out:
	if (c.loop)
		loop_free(c.loop);
	if (c.fd >= 0)
		close(c.fd);
	dgram_rx_free(&c.rx);
	dgram_out_free(&c.out);
	prompt_free(c.prompt);
	dgram_lines_free(&c.in);
	sbuf_free(&c.curbuf);
	free(c.probe_us);
	return r;
}

int cmd_udp_send(int argc, char **argv)
{
	struct opts o = {
		.interval_ms = -1,
		.wait_ms = 1000,
		.ttl = -1,
		.spin_us = LOOP_SPIN_AUTO,
	};
	int r = parse_opts(argc, argv, &o);

	if (r == 0)
		r = check_operands(&o, argc - optind, argv + optind);
	if (r == 0)
		r = parse_sockopts(&o);
	if (r == 0)
		r = run(&o);
	sockopt_list_free(&o.sockopts);
	cli_sockopts_free(&o.sockopt_args);
	for (size_t i = 0; i < o.nmsgs; i++)
		free(o.msgs[i].data);
	free(o.msgs);
	return r < 0 ? EXIT_OK : r;
}
