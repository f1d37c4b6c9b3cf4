/*
 * cmd_udp_listen.c - `sockctl udp-listen`: a UDP (or Unix datagram)
 * server.  Each datagram is printed (text line, raw, hex dump or JSON) and
 * answered (echo, prefix, timestamp, a line of stdin, or nothing) whoever
 * sent it: unlike `ncat -u -l` it never locks onto the first sender.
 *
 * One event loop.  Datagrams are taken in batches with recvmmsg() and the
 * replies of a batch go out with one sendmmsg(), so an echo under load
 * costs a fraction of a system call each; output is collected per batch
 * and written with one write() (or, into a file or /dev/null, once per
 * 64 KiB), which keeps printing cheap.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

#define CMD "udp-listen"

/* Datagrams per batch, and the most a batch's buffers may take. */
#define BATCH 32
#define BATCH_BYTES (4u << 20)
/* --reply: senders that wait for their line before reading pauses. */
#define WAIT_MAX 1024
/* Output that nobody watches live is written in blocks this big. */
#define OUT_BLOCK (64u << 10)
#define OUT_DELAY_MS 100
#define MAX_SIZE_LIMIT (16u << 20)

const char cmd_udp_listen_help[] =
	"Usage: sockctl udp-listen [options] PORT\n"
	"       sockctl udp-listen [options] --unix PATH\n"
	"\n"
	"Receive datagrams and print one line each on stdout, HOST:PORT: "
	"payload\n"
	"(non-printable bytes escaped); answer every sender.\n"
	"\n"
	"Replies (one of):\n"
	"      --echo             send each datagram back to its sender "
	"(default)\n"
	"      --no-echo          send nothing back\n"
	"      --prefix STR       send each line back with STR before it\n"
	"      --timestamp        send each line back after the local time\n"
	"      --reply            answer each datagram with a line of stdin\n"
	"                         (a prompt when stdin is a terminal)\n"
	"\n"
	"Output:\n"
	"      --raw              write only the payload bytes\n"
	"  -x, --hex              a hex dump of each datagram\n"
	"      --json             one JSON object per datagram\n"
	"\n"
	"Listening:\n"
	"  -b, --bind ADDR        address to listen on (default: every "
	"interface,\n"
	"                         IPv4 and IPv6)\n"
	"  -4, -6                 IPv4 / IPv6 only\n"
	"      --unix PATH        a Unix datagram socket (@NAME: abstract)\n"
	"      --group ADDR[%IF]  join multicast group ADDR (on interface "
	"IF)\n"
	"      --max-size SIZE    largest datagram accepted (default 65535); "
	"a\n"
	"                         longer one is reported as truncated\n"
	"  -c, --count N          exit after N datagrams\n"
	"      --once             exit after one datagram\n"
	"  -o, --sockopt NAME=VALUE  set a socket option (repeatable; see\n"
	"                         'sockctl opts list')\n" CLI_SPIN_HELP "\n"
	"Common options:\n"
	"  -v, --verbose          report joins and totals\n"
	"  -q, --quiet            no status lines but the listening line\n"
	"  -h, --help             show this help\n"
	"\n"
	"Exit status: 0 done or stopped by a signal, 1 failure, 2 usage "
	"error,\n"
	"3 a name did not resolve.\n";

enum reply_mode {
	REPLY_ECHO,
	REPLY_NONE,
	REPLY_PREFIX,
	REPLY_TIMESTAMP,
	REPLY_STDIN,
};

struct mgroup {
	struct sockaddr_storage ss;
	socklen_t len;
	unsigned ifindex;
	const char *text;
};

struct opts {
	enum reply_mode mode;
	bool mode_set;
	char *prefix;
	size_t prefix_len;
	enum dgram_fmt fmt;
	bool fmt_set;
	const char *bind;
	const char *unix_path;
	const char *group_arg;
	struct mgroup group;
	int family;
	uint64_t max_size;
	uint64_t count; /* 0: no limit */
	unsigned spin_us; /* the loop's busy-poll window (loop_set_spin) */
	int verbose; /* -1 quiet */
	char port[PARSE_PORT_MAX];
	struct cli_sockopts sockopt_args; /* -o, parsed once --unix is known */
	struct sockopt_list sockopts;
};

/* A sender waiting for its line of stdin (--reply). */
struct waiter {
	struct sockaddr_storage addr;
	socklen_t len;
};

struct server {
	struct opts *o;
	struct loop *loop;
	int fd;
	bool is_unix;
	struct dgram_rx rx;
	struct dgram_out out;
	/* Replies of the last batch; those from tx_pos on are not sent. */
	struct mmsghdr *tx;
	struct iovec *txiov;
	struct sbuf *txbuf;
	unsigned tx_pos, tx_n;
	bool out_each; /* write output after every batch */
	struct loop_timer *out_timer;
	bool out_timer_armed;
	/* --reply */
	struct waiter *wait;
	unsigned wait_head, wait_n;
	struct dgram_lines in;
	struct prompt *prompt; /* --reply with stdin a terminal */
	char prompt_text[NET_ADDRSTRLEN + 16];
	bool in_registered, in_watched, in_file;
	bool warned_unnamed;
	uint64_t received, bytes, replied, dropped;
	int status;
};

enum {
	OPT_ECHO = 256,
	OPT_NO_ECHO,
	OPT_PREFIX,
	OPT_TIMESTAMP,
	OPT_REPLY,
	OPT_RAW,
	OPT_JSON,
	OPT_UNIX,
	OPT_GROUP,
	OPT_MAX_SIZE,
	OPT_ONCE,
	OPT_SPIN,
};

static const struct option longopts[] = {
	{"echo", no_argument, NULL, OPT_ECHO},
	{"no-echo", no_argument, NULL, OPT_NO_ECHO},
	{"prefix", required_argument, NULL, OPT_PREFIX},
	{"timestamp", no_argument, NULL, OPT_TIMESTAMP},
	{"reply", no_argument, NULL, OPT_REPLY},
	{"raw", no_argument, NULL, OPT_RAW},
	{"hex", no_argument, NULL, 'x'},
	{"json", no_argument, NULL, OPT_JSON},
	{"bind", required_argument, NULL, 'b'},
	{"unix", required_argument, NULL, OPT_UNIX},
	{"group", required_argument, NULL, OPT_GROUP},
	{"max-size", required_argument, NULL, OPT_MAX_SIZE},
	{"count", required_argument, NULL, 'c'},
	{"once", no_argument, NULL, OPT_ONCE},
	{"spin", required_argument, NULL, OPT_SPIN},
	{"sockopt", required_argument, NULL, 'o'},
	{"verbose", no_argument, NULL, 'v'},
	{"quiet", no_argument, NULL, 'q'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* ---- options ---- */

static int set_mode(struct opts *o, enum reply_mode m)
{
	if (o->mode_set && o->mode != m)
		return cli_usage(CMD,
				 "only one of --echo, --no-echo, --prefix, "
				 "--timestamp and --reply");
	o->mode = m;
	o->mode_set = true;
	return 0;
}

static int set_fmt(struct opts *o, enum dgram_fmt f)
{
	if (o->fmt_set && o->fmt != f)
		return cli_usage(CMD, "only one of --raw, --hex and --json");
	o->fmt = f;
	o->fmt_set = true;
	return 0;
}

static int set_prefix(struct opts *o, const char *arg)
{
	const char *why;

	free(o->prefix);
	o->prefix = NULL;
	if (parse_escapes(arg, &o->prefix, &o->prefix_len, &why) < 0)
		return cli_usage(CMD, "invalid --prefix '%s': %s", arg, why);
	return set_mode(o, REPLY_PREFIX);
}

static int set_count(struct opts *o, const char *arg)
{
	const char *why;

	if (parse_uint(arg, 1, UINT64_MAX, &o->count, &why) < 0)
		return cli_usage(CMD, "invalid count '%s': %s (at least 1)",
				 arg, why);
	return 0;
}

static int set_max_size(struct opts *o, const char *arg)
{
	const char *why = "must be between 1 and 16m";

	if (parse_size(arg, &o->max_size, &why) < 0 || o->max_size < 1 ||
	    o->max_size > MAX_SIZE_LIMIT)
		return cli_usage(CMD, "invalid --max-size '%s': %s", arg,
				 o->max_size < 1 || o->max_size > MAX_SIZE_LIMIT
					 ? "must be between 1 and 16m"
					 : why);
	return 0;
}

static int parse_group(struct opts *o)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *pct = strrchr(o->group_arg, '%');
	size_t n = pct ? (size_t)(pct - o->group_arg) : strlen(o->group_arg);
	struct mgroup *g = &o->group;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&g->ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&g->ss;

	g->text = o->group_arg;
	if (n >= sizeof(addr))
		goto bad;
	memcpy(addr, o->group_arg, n);
	addr[n] = '\0';
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		g->len = sizeof(*s4);
		if (!IN_MULTICAST(ntohl(s4->sin_addr.s_addr)))
			goto not_mcast;
	} else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		g->len = sizeof(*s6);
		if (!IN6_IS_ADDR_MULTICAST(&s6->sin6_addr))
			goto not_mcast;
	} else {
		goto bad;
	}
	if (pct && !(g->ifindex = if_nametoindex(pct + 1)))
		return cli_usage(CMD,
				 "invalid --group '%s': no interface "
				 "'%s'",
				 o->group_arg, pct + 1);
	if (o->family && o->family != g->ss.ss_family)
		return cli_usage(CMD, "--group %s is not an %s address",
				 o->group_arg,
				 o->family == AF_INET ? "IPv4" : "IPv6");
	/* Listen in the group's family unless told otherwise. */
	if (!o->family && !o->bind)
		o->family = g->ss.ss_family;
	return 0;
not_mcast:
	return cli_usage(CMD, "invalid --group '%s': not a multicast address",
			 o->group_arg);
bad:
	return cli_usage(CMD,
			 "invalid --group '%s': expected an IPv4 or "
			 "IPv6 multicast address, optionally %%INTERFACE",
			 o->group_arg);
}

/* -o NAME=VALUE for the socket kind this command opens. */
static int parse_sockopts(struct opts *o)
{
	unsigned kinds =
		o->unix_path ? SOCKOPT_UNIX_DGRAM : SOCKOPT_UDP | SOCKOPT_UDP6;

	return cli_sockopts_parse(CMD, &o->sockopt_args, kinds, &o->sockopts);
}

/* Returns 0 to go on, -1 after --help, or an exit status > 0. */
static int parse_opts(int argc, char **argv, struct opts *o)
{
	int c, r = 0;

	optind = 0;
	while ((c = getopt_long(argc, argv, ":b:46c:xo:vqh", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case OPT_ECHO:
			r = set_mode(o, REPLY_ECHO);
			break;
		case OPT_NO_ECHO:
			r = set_mode(o, REPLY_NONE);
			break;
		case OPT_PREFIX:
			r = set_prefix(o, optarg);
			break;
		case OPT_TIMESTAMP:
			r = set_mode(o, REPLY_TIMESTAMP);
			break;
		case OPT_REPLY:
			r = set_mode(o, REPLY_STDIN);
			break;
		case OPT_RAW:
			r = set_fmt(o, DGRAM_RAW);
			break;
		case 'x':
			r = set_fmt(o, DGRAM_HEX);
			break;
		case OPT_JSON:
			r = set_fmt(o, DGRAM_JSON);
			break;
		case 'b':
			o->bind = optarg;
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
		case OPT_GROUP:
			o->group_arg = optarg;
			break;
		case OPT_MAX_SIZE:
			r = set_max_size(o, optarg);
			break;
		case 'c':
			r = set_count(o, optarg);
			break;
		case OPT_ONCE:
			o->count = 1;
			break;
		case OPT_SPIN:
			r = cli_spin(CMD, optarg, &o->spin_us);
			break;
		case 'o':
			r = cli_sockopt_arg(CMD, &o->sockopt_args, optarg);
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
		if (r)
			return r;
	}
	return 0;
}

static int check_operands(struct opts *o, int argc, char **argv)
{
	const char *why;
	uint16_t port;
	int r;

	if (o->unix_path) {
		if (argc > 0)
			return cli_usage(CMD, "--unix takes no PORT");
		if (o->bind || o->family || o->group_arg)
			return cli_usage(CMD, "--unix does not go with -b, -4, "
					      "-6 or --group");
		if (parse_unix_path(o->unix_path, &(struct sockaddr_un){0},
				    &(socklen_t){0}, &why) < 0)
			return cli_usage(CMD, "invalid --unix '%s': %s",
					 o->unix_path, why);
		return 0;
	}
	if (argc < 1)
		return cli_usage(CMD, "missing PORT");
	if (argc > 1)
		return cli_usage(CMD, "too many arguments");
	r = parse_port(argv[0], "udp", &port, &why);
	if (r < 0) {
		if (err_is_eai(r)) {
			cli_error(CMD, "%s: %s", argv[0], why);
			return EXIT_NORESOLVE;
		}
		return cli_usage(CMD, "invalid port '%s': %s", argv[0], why);
	}
	snprintf(o->port, sizeof(o->port), "%u", port);
	if (o->bind && !*o->bind)
		return cli_usage(CMD, "empty --bind address");
	return o->group_arg ? parse_group(o) : 0;
}

/* ---- output ---- */

/* A diagnostic line that must not garble the --reply prompt. */
static void __attribute__((format(printf, 2, 3)))
diag(struct server *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s->prompt)
		prompt_printf(s->prompt, STDERR_FILENO,
			      "sockctl: " CMD ": %s\n", msg);
	else
		cli_error(CMD, "%s", msg);
}

/* Someone reads a terminal, pipe or socket live; a file can wait. */
static bool stdout_is_live(void)
{
	struct stat st;

	if (fstat(STDOUT_FILENO, &st) < 0)
		return true;
	if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))
		return false;
	return !S_ISCHR(st.st_mode) || isatty(STDOUT_FILENO);
}

static void flush_out(struct server *s)
{
	int r;

	if (s->out.buf.len == 0)
		return;
	if (s->prompt) {
		/* Above the answer being typed, which stays intact. */
		prompt_write(s->prompt, STDOUT_FILENO, s->out.buf.data,
			     s->out.buf.len);
		sbuf_reset(&s->out.buf);
		return;
	}
	r = dgram_out_flush(&s->out, STDOUT_FILENO);
	if (r == -EPIPE) {
		/* The reader went away: like any filter, stop quietly. */
		loop_stop(s->loop, EXIT_OK);
	} else if (r < 0) {
		diag(s, "write to stdout: %s", net_strerror(r));
		s->status = net_exit_status(r);
		loop_stop(s->loop, s->status);
	}
}

static void on_out_timer(struct loop *l, struct loop_timer *t, void *arg)
{
	struct server *s = arg;

	(void)l;
	(void)t;
	s->out_timer_armed = false;
	flush_out(s);
}

/* Output nobody watches live still goes out within OUT_DELAY_MS. */
static void output_done(struct server *s)
{
	if (s->out_each || s->out.buf.len >= OUT_BLOCK) {
		flush_out(s);
	} else if (s->out.buf.len && !s->out_timer_armed) {
		loop_timer_set(s->loop, s->out_timer, OUT_DELAY_MS);
		s->out_timer_armed = true;
	}
}

/* ---- replies ---- */

/* STR before the first byte of every line of data. */
static void add_lines(struct sbuf *b, const char *pfx, size_t plen,
		      const char *data, size_t len)
{
	size_t i = 0;

	sbuf_add(b, pfx, plen);
	while (i < len) {
		const char *nl = memchr(data + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (data + i)) + 1 : len - i;

		sbuf_add(b, data + i, n);
		i += n;
		if (nl && i < len)
			sbuf_add(b, pfx, plen);
	}
}

static bool can_reply(struct server *s, const struct dgram *d)
{
	if (d->fromlen > sizeof(sa_family_t) && d->from->sa_family != AF_UNSPEC)
		return true;
	if (!s->warned_unnamed && s->o->verbose >= 0)
		diag(s, "a sender without an address cannot be answered "
			"(bind the client socket)");
	s->warned_unnamed = true;
	return false;
}

static void add_reply(struct server *s, const struct dgram *d,
		      const char *stamp)
{
	struct opts *o = s->o;
	unsigned k = s->tx_n;
	struct sbuf *b = &s->txbuf[k];

	s->txiov[k].iov_base = (void *)d->data;
	s->txiov[k].iov_len = d->len;
	if (o->mode == REPLY_PREFIX || o->mode == REPLY_TIMESTAMP) {
		sbuf_reset(b);
		if (o->mode == REPLY_PREFIX)
			add_lines(b, o->prefix, o->prefix_len, d->data, d->len);
		else
			add_lines(b, stamp, strlen(stamp), d->data, d->len);
		s->txiov[k].iov_base = b->data;
		s->txiov[k].iov_len = b->len;
	}
	s->tx[k].msg_hdr = (struct msghdr){
		.msg_name = (void *)d->from,
		.msg_namelen = d->fromlen,
		.msg_iov = &s->txiov[k],
		.msg_iovlen = 1,
	};
	s->tx_n++;
}

static void reply_failed(struct server *s, const struct msghdr *h, int err)
{
	char addr[NET_ADDRSTRLEN];

	s->dropped++;
	if (s->o->verbose < 0)
		return;
	net_addr_str(h->msg_name, h->msg_namelen, addr);
	diag(s, "reply to %s: %s", addr, net_strerror(err));
}

/*
 * sendmmsg() for several replies; one alone goes with sendmsg(), which
 * spares the kernel's per-message reschedule point of sendmmsg (measured:
 * a single echo in flight is noticeably faster this way).
 */
static int send_some(struct server *s)
{
	unsigned n = s->tx_n - s->tx_pos;

	if (n > 1)
		return sendmmsg(s->fd, s->tx + s->tx_pos, n, MSG_DONTWAIT);
	return sendmsg(s->fd, &s->tx[s->tx_pos].msg_hdr, MSG_DONTWAIT) < 0 ? -1
									   : 1;
}

/* Send what is left of the batch's replies; false while the socket is
 * full (the rest goes when it is writable). */
static bool send_pending(struct server *s)
{
	while (s->tx_pos < s->tx_n) {
		int r = send_some(s);

		if (r > 0) {
			s->tx_pos += (unsigned)r;
			s->replied += (unsigned)r;
			continue;
		}
		if (errno == EINTR)
			continue;
		/* A full UDP send buffer drains by itself; a Unix peer whose
		 * queue is full may never read, so its reply is dropped. */
		if ((errno == EAGAIN || errno == EWOULDBLOCK) && !s->is_unix)
			return false;
		reply_failed(s, &s->tx[s->tx_pos].msg_hdr, -errno);
		s->tx_pos++;
	}
	s->tx_pos = s->tx_n = 0;
	return true;
}

/* ---- --reply: one line of stdin per datagram ---- */

static struct waiter *waiter_at(struct server *s, unsigned i)
{
	return &s->wait[(s->wait_head + i) % WAIT_MAX];
}

static void add_waiter(struct server *s, const struct dgram *d)
{
	struct waiter *w = waiter_at(s, s->wait_n);

	memcpy(&w->addr, d->from, d->fromlen);
	w->len = d->fromlen;
	s->wait_n++;
}

static void send_line(struct server *s, const char *line, size_t len)
{
	struct waiter *w = waiter_at(s, 0);
	ssize_t r;

	do
		r = sendto(s->fd, line, len, MSG_DONTWAIT,
			   (struct sockaddr *)&w->addr, w->len);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		struct msghdr h = {.msg_name = &w->addr, .msg_namelen = w->len};

		reply_failed(s, &h, -errno);
	} else {
		s->replied++;
	}
	s->wait_head = (s->wait_head + 1) % WAIT_MAX;
	s->wait_n--;
}

static void update_events(struct server *s);
static void check_done(struct server *s);
static void on_stdin(struct loop *l, int fd, uint32_t events, void *arg);

static void watch_stdin(struct server *s, bool on)
{
	/* The prompt reads the terminal by itself. */
	if (s->prompt || s->in_file || on == s->in_watched)
		return;
	if (!s->in_registered) {
		int r = loop_watch(s->loop, STDIN_FILENO, LOOP_IN, on_stdin, s);

		/* epoll refuses regular files and /dev/null; they never
		 * block, so they are simply read when a line is needed. */
		if (r == -EPERM) {
			s->in_file = true;
			return;
		}
		if (r < 0) {
			cli_error(CMD, "stdin: %s", net_strerror(r));
			s->in.eof = true;
			return;
		}
		s->in_registered = true;
	} else {
		loop_modify(s->loop, STDIN_FILENO, on ? LOOP_IN : 0);
	}
	s->in_watched = on;
}

static bool read_stdin(struct server *s)
{
	ssize_t n = dgram_lines_read(&s->in, STDIN_FILENO);

	if (n == -EAGAIN)
		return false;
	if (n < 0) {
		cli_error(CMD, "read stdin: %s", net_strerror((int)n));
		s->in.eof = true;
	}
	if (s->in.eof && s->o->verbose > 0)
		fprintf(stderr, "stdin ended: no more replies\n");
	return true;
}

/* The prompt names the sender the next line answers. */
static void update_prompt(struct server *s)
{
	char text[sizeof(s->prompt_text)];

	if (!s->prompt)
		return;
	if (s->wait_n) {
		struct waiter *w = waiter_at(s, 0);
		char addr[NET_ADDRSTRLEN];

		net_addr_str((struct sockaddr *)&w->addr, w->len, addr);
		snprintf(text, sizeof(text), "reply to %s> ", addr);
	} else {
		snprintf(text, sizeof(text), "reply> ");
	}
	if (strcmp(text, s->prompt_text)) {
		strcpy(s->prompt_text, text);
		prompt_set(s->prompt, text);
	}
}

/* Pair waiting senders with lines of stdin, reading more as needed. */
static void serve_waiting(struct server *s)
{
	const char *line;
	size_t len;

	while (s->wait_n > 0) {
		if (dgram_lines_next(&s->in, false, &line, &len)) {
			send_line(s, line, len);
			continue;
		}
		if (s->in.eof) {
			/* Nothing more to answer with. */
			s->dropped += s->wait_n;
			s->wait_n = 0;
			break;
		}
		watch_stdin(s, true);
		if (!s->in_file || !read_stdin(s))
			goto out;
	}
	watch_stdin(s, false);
	update_events(s);
	check_done(s);
out:
	update_prompt(s);
}

static void on_stdin(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct server *s = arg;

	(void)l;
	(void)fd;
	(void)events;
	if (read_stdin(s))
		serve_waiting(s);
}

static void on_prompt_line(void *arg, const char *line)
{
	struct server *s = arg;

	if (line) {
		dgram_lines_add(&s->in, line);
	} else {
		dgram_lines_end(&s->in);
		if (s->o->verbose > 0)
			fprintf(stderr, "stdin ended: no more replies\n");
	}
	serve_waiting(s);
}

/* --reply on a terminal: a prompt asks for each answer. */
static int start_prompt(struct server *s)
{
	char history[4096];
	struct prompt_opts po = {
		.prompt = "reply> ",
		.history = prompt_history_path(history, sizeof(history)) < 0
				   ? NULL
				   : history,
		.on_line = on_prompt_line,
		.arg = s,
	};
	int r;

	r = prompt_new(s->loop, &po, &s->prompt);
	if (r < 0)
		return cli_fail(CMD, "prompt", r);
	strcpy(s->prompt_text, "reply> ");
	return 0;
}

/* ---- the socket ---- */

static bool count_reached(struct server *s)
{
	return s->o->count && s->received >= s->o->count;
}

static void check_done(struct server *s)
{
	if (count_reached(s) && s->tx_n == 0 && s->wait_n == 0)
		loop_stop(s->loop, EXIT_OK);
}

static void update_events(struct server *s)
{
	uint32_t ev = 0;

	if (s->tx_n)
		ev = LOOP_OUT;
	else if (!count_reached(s) && s->wait_n < WAIT_MAX - BATCH)
		ev = LOOP_IN;
	loop_modify(s->loop, s->fd, ev);
}

static void report_truncated(struct server *s, const struct dgram *d)
{
	if (s->o->verbose < 0 || s->o->fmt != DGRAM_RAW)
		return;
	/* The raw format has no room for it in the data itself. */
	flush_out(s);
	diag(s, "%s: datagram truncated to %zu of %zu bytes",
	     dgram_out_addr(&s->out, d->from, d->fromlen), d->len, d->real_len);
}

/* The local time in ctime form without its newline, and one space. */
static void timestamp(char buf[32])
{
	time_t now = time(NULL);
	char *nl;

	ctime_r(&now, buf);
	nl = strchr(buf, '\n');
	if (nl)
		strcpy(nl, " ");
}

static void handle(struct server *s, unsigned n)
{
	char stamp[32] = "";

	if (s->o->mode == REPLY_TIMESTAMP)
		timestamp(stamp);
	for (unsigned i = 0; i < n; i++) {
		struct dgram d;

		dgram_rx_get(&s->rx, i, &d);
		s->received++;
		s->bytes += d.real_len;
		dgram_out_add(&s->out, &d, NULL);
		if (d.real_len > d.len)
			report_truncated(s, &d);
		if (s->o->mode == REPLY_NONE || !can_reply(s, &d))
			continue;
		if (s->o->mode == REPLY_STDIN)
			add_waiter(s, &d);
		else
			add_reply(s, &d, stamp);
	}
}

static int receive(struct server *s)
{
	unsigned max = s->rx.n;
	int n;

	if (s->o->count && s->o->count - s->received < max)
		max = (unsigned)(s->o->count - s->received);
	n = dgram_rx_recv(&s->rx, s->fd, max);
	if (n < 0) {
		/* ICMP errors of earlier replies (IP_RECVERR) concern those
		 * peers only. */
		if (n == -ECONNREFUSED || n == -EHOSTUNREACH ||
		    n == -ENETUNREACH || n == -EHOSTDOWN)
			return 0;
		diag(s, "receive: %s", net_strerror(n));
		s->status = net_exit_status(n);
		loop_stop(s->loop, s->status);
		return n;
	}
	handle(s, (unsigned)n);
	return n;
}

static void on_socket(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct server *s = arg;

	(void)l;
	(void)fd;
	if (s->tx_n && !send_pending(s))
		return;
	if ((events & (LOOP_IN | LOOP_ERR)) && !count_reached(s) &&
	    receive(s) > 0) {
		send_pending(s);
		output_done(s);
		if (s->wait_n)
			serve_waiting(s);
	}
	update_events(s);
	check_done(s);
}

static void on_signal(struct loop *l, int signo, void *arg)
{
	(void)signo;
	(void)arg;
	loop_stop(l, EXIT_OK);
}

/* ---- set-up ---- */

static int join_group(struct server *s)
{
	const struct mgroup *g = &s->o->group;
	struct group_req gr = {.gr_interface = g->ifindex};
	int level = g->ss.ss_family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;

	memcpy(&gr.gr_group, &g->ss, g->len);
	if (setsockopt(s->fd, level, MCAST_JOIN_GROUP, &gr, sizeof(gr)) < 0)
		return cli_fail(CMD, g->text, -errno);
	if (s->o->verbose > 0)
		fprintf(stderr, "joined group %s\n", g->text);
	return 0;
}

static int open_socket(struct server *s)
{
	struct opts *o = s->o;
	struct net_listen_opts lo = {
		.family = o->family,
		.socktype = SOCK_DGRAM,
		.prepare = sockopt_list_apply,
		.arg = &o->sockopts,
	};
	char addr[NET_ADDRSTRLEN];
	int r;

	if (o->unix_path)
		r = net_listen_unix(o->unix_path, &lo, &s->fd);
	else
		r = net_listen(o->bind, o->port, &lo, &s->fd);
	if (r < 0 && sockopt_list_failed(&o->sockopts))
		return cli_fail(CMD, sockopt_list_failed(&o->sockopts), r);
	if (r < 0)
		return cli_fail(CMD,
				o->unix_path ? o->unix_path
					     : (o->bind ? o->bind : o->port),
				r);
	s->is_unix = o->unix_path != NULL;
	if (o->group_arg && (r = join_group(s)))
		return r;
	/* Printed even with -q: with PORT 0 it is the only way to learn the
	 * port, and scripts wait for it. */
	fprintf(stderr, "listening on %s (%s)\n",
		s->is_unix ? o->unix_path : net_sock_str(s->fd, addr),
		s->is_unix ? "unix-dgram" : "udp");
	return 0;
}

static int setup(struct server *s)
{
	size_t size = s->o->max_size;
	unsigned n = BATCH;
	int r;

	if (size * n > BATCH_BYTES)
		n = (unsigned)(BATCH_BYTES / size)
			    ? (unsigned)(BATCH_BYTES / size)
			    : 1;
	if ((r = dgram_rx_init(&s->rx, n, size)) < 0)
		return cli_fail(CMD, "memory", r);
	s->tx = calloc(n, sizeof(*s->tx));
	s->txiov = calloc(n, sizeof(*s->txiov));
	s->txbuf = calloc(n, sizeof(*s->txbuf));
	s->wait = s->o->mode == REPLY_STDIN ? calloc(WAIT_MAX, sizeof(*s->wait))
					    : NULL;
	s->loop = loop_new();
	if (!s->tx || !s->txiov || !s->txbuf || !s->loop ||
	    (s->o->mode == REPLY_STDIN && !s->wait))
		return cli_fail(CMD, "memory", -ENOMEM);
	loop_set_spin(s->loop, s->o->spin_us);
	dgram_out_init(&s->out, s->o->fmt);
	s->out_each = stdout_is_live();
	s->out_timer = loop_timer_add(s->loop, 1 << 30, on_out_timer, s);
	if (!s->out_timer ||
	    (r = loop_watch(s->loop, s->fd, LOOP_IN, on_socket, s)) < 0 ||
	    (r = loop_signal(s->loop, SIGINT, on_signal, s)) < 0 ||
	    (r = loop_signal(s->loop, SIGTERM, on_signal, s)) < 0)
		return cli_fail(CMD, "event loop", r ? r : -ENOMEM);
	return 0;
}

static void teardown(struct server *s)
{
	for (unsigned i = 0; s->txbuf && i < s->rx.n; i++)
		sbuf_free(&s->txbuf[i]);
	dgram_rx_free(&s->rx);
	dgram_out_free(&s->out);
	prompt_free(s->prompt);
	dgram_lines_free(&s->in);
	free(s->tx);
	free(s->txiov);
	free(s->txbuf);
	free(s->wait);
	loop_free(s->loop);
	if (s->fd >= 0) {
		close(s->fd);
		/* The socket file is ours; leave no stale one behind. */
		if (s->o->unix_path && s->o->unix_path[0] != '@')
			unlink(s->o->unix_path);
	}
}

/* Replies of the last batch go out before the end (for a second at most,
 * should the socket stay full). */
static void finish_replies(struct server *s)
{
	int64_t deadline = net_now_ms() + 1000;

	while (s->tx_n && !send_pending(s)) {
		int64_t left = deadline - net_now_ms();

		if (left <= 0 || net_wait(s->fd, POLLOUT, left) <= 0)
			break;
	}
}

static int serve(struct opts *o)
{
	struct server s = {.o = o, .fd = -1};
	int r;

	if ((r = open_socket(&s)) || (r = setup(&s)) ||
	    (o->mode == REPLY_STDIN && isatty(STDIN_FILENO) &&
	     (r = start_prompt(&s)))) {
		teardown(&s);
		return r;
	}
	r = loop_run(s.loop);
	if (r < 0)
		s.status = cli_fail(CMD, "event loop", r);
	finish_replies(&s);
	flush_out(&s);
	prompt_free(s.prompt);
	s.prompt = NULL;
	if (o->verbose > 0)
		fprintf(stderr,
			"received %llu datagram%s (%llu bytes), sent "
			"%llu repl%s\n",
			(unsigned long long)s.received,
			s.received == 1 ? "" : "s", (unsigned long long)s.bytes,
			(unsigned long long)s.replied,
			s.replied == 1 ? "y" : "ies");
	r = s.status;
	teardown(&s);
	return r;
}

int cmd_udp_listen(int argc, char **argv)
{
	struct opts o = {.max_size = DGRAM_MAX_SIZE,
			 .spin_us = LOOP_SPIN_AUTO};
	int r = parse_opts(argc, argv, &o);

	if (r == 0)
		r = check_operands(&o, argc - optind, argv + optind);
	if (r == 0)
		r = parse_sockopts(&o);
	if (r == 0)
		r = serve(&o);
	sockopt_list_free(&o.sockopts);
	cli_sockopts_free(&o.sockopt_args);
	free(o.prefix);
	return r < 0 ? EXIT_OK : r;
}
