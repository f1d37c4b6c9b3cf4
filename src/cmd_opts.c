/*
 * cmd_opts.c - `sockctl opts`: the socket-option table as a command.
 * `list` prints what sockctl knows, `get` what the kernel reports on a
 * fresh socket of a kind, `set` what the kernel makes of a value (it may
 * double, round or refuse it).  Values are what getsockopt returns, never
 * a guess: an option the kernel does not support is shown as such.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "fmt.h"
#include "net.h"
#include "sockopt.h"

#define CMD "opts"

const char cmd_opts_help[] =
	"Usage: sockctl opts [list] [--level LEVEL] [KIND] [--json]\n"
	"       sockctl opts get [KIND] [NAME...] [--json]\n"
	"       sockctl opts set [KIND] NAME=VALUE... [--json]\n"
	"\n"
	"list  every socket option sockctl knows: NAME LEVEL TYPE DESCRIPTION\n"
	"get   the options of a fresh socket of KIND, as NAME = VALUE\n"
	"      (every one that applies when no NAME is given); one the\n"
	"      kernel will not read shows as NAME = unavailable (REASON)\n"
	"set   set each option on a fresh socket of KIND and print what the\n"
	"      kernel then reports: NAME = VALUE (asked VALUE)\n"
	"\n"
	"Names are case-insensitive; the SO_/TCP_/UDP_/IP_/IPV6_ prefix\n"
	"may be dropped when that leaves one option for the KIND.  Values:\n"
	"integers, on/off/yes/no/true/false/1/0, sizes (64k), seconds\n"
	"(0.25), off or on:SECS (SO_LINGER), text (TCP_CONGESTION,\n"
	"SO_BINDTODEVICE).\n"
	"\n"
	"Socket kind (for list: show only the options of that kind):\n"
	"      --tcp              TCP over IPv4 (the default of get and set)\n"
	"      --udp              UDP over IPv4\n"
	"      --tcp6             TCP over IPv6\n"
	"      --udp6             UDP over IPv6\n"
	"      --unix             Unix stream socket\n"
	"      --unix-dgram       Unix datagram socket\n"
	"\n"
	"Options:\n"
	"  -l, --level LEVEL      only options of LEVEL (socket, ip, ipv6,\n"
	"                         tcp, udp): list, and get without NAMEs\n"
	"      --json             one JSON document\n"
	"  -h, --help             show this help\n"
	"\n"
	"Exit status: 0 done, 1 the kernel refused, 2 usage error (unknown\n"
	"name, bad value).\n";

enum mode { MODE_LIST, MODE_GET, MODE_SET };

struct opts {
	enum mode mode;
	unsigned kind; /* one SOCKOPT_* bit, or 0: not given */
	int level; /* -1: every level */
	bool json;
};

enum {
	OPT_TCP = 256,
	OPT_UDP,
	OPT_TCP6,
	OPT_UDP6,
	OPT_UNIX,
	OPT_UNIX_DGRAM,
	OPT_JSON,
};

static const struct option longopts[] = {
	{"tcp", no_argument, NULL, OPT_TCP},
	{"udp", no_argument, NULL, OPT_UDP},
	{"tcp6", no_argument, NULL, OPT_TCP6},
	{"udp6", no_argument, NULL, OPT_UDP6},
	{"unix", no_argument, NULL, OPT_UNIX},
	{"unix-dgram", no_argument, NULL, OPT_UNIX_DGRAM},
	{"level", required_argument, NULL, 'l'},
	{"json", no_argument, NULL, OPT_JSON},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static const unsigned kind_of_opt[] = {
	[OPT_TCP - OPT_TCP] = SOCKOPT_TCP,
	[OPT_UDP - OPT_TCP] = SOCKOPT_UDP,
	[OPT_TCP6 - OPT_TCP] = SOCKOPT_TCP6,
	[OPT_UDP6 - OPT_TCP] = SOCKOPT_UDP6,
	[OPT_UNIX - OPT_TCP] = SOCKOPT_UNIX,
	[OPT_UNIX_DGRAM - OPT_TCP] = SOCKOPT_UNIX_DGRAM,
};

static int set_kind(struct opts *o, unsigned kind)
{
	if (o->kind && o->kind != kind)
		return cli_usage(CMD, "only one socket kind at a time");
	o->kind = kind;
	return 0;
}

/* Returns 0 to go on, -1 after --help, or an exit status > 0. */
static int parse_opts(int argc, char **argv, struct opts *o)
{
	int c, r = 0;

	optind = 0;
	while ((c = getopt_long(argc, argv, ":l:h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_TCP:
		case OPT_UDP:
		case OPT_TCP6:
		case OPT_UDP6:
		case OPT_UNIX:
		case OPT_UNIX_DGRAM:
			r = set_kind(o, kind_of_opt[c - OPT_TCP]);
			break;
		case 'l':
			if (sockopt_level_parse(optarg, &o->level) < 0)
				return cli_usage(CMD,
						 "invalid level '%s': expected "
						 "socket, ip, ipv6, tcp or udp",
						 optarg);
			break;
		case OPT_JSON:
			o->json = true;
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

static void print_sbuf(struct sbuf *b)
{
	/* Nothing to print has no buffer at all, and fwrite wants one. */
	if (b->len)
		fwrite(b->data, 1, b->len, stdout);
	sbuf_free(b);
}

static void json_kinds(struct sbuf *b, unsigned kinds)
{
	bool first = true;

	sbuf_addc(b, '[');
	for (unsigned k = 1; k & SOCKOPT_KINDS_ALL; k <<= 1) {
		if (!(kinds & k))
			continue;
		sbuf_addf(b, "%s\"%s\"", first ? "" : ",",
			  sockopt_kind_name(k));
		first = false;
	}
	sbuf_addc(b, ']');
}

static bool listed(const struct opts *o, const struct sockopt *opt)
{
	return (o->level < 0 || opt->level == o->level) &&
	       (!o->kind || (opt->kinds & o->kind));
}

static int list(const struct opts *o)
{
	struct sbuf b = SBUF_INIT;
	bool first = true;

	if (o->json)
		sbuf_addc(&b, '[');
	for (size_t i = 0; i < sockopt_count; i++) {
		const struct sockopt *opt = &sockopt_table[i];
		const char *level = sockopt_level_name(opt->level);
		const char *type = sockopt_type_name(opt->type);

		if (!listed(o, opt))
			continue;
		if (!o->json) {
			sbuf_addf(&b, "%-24s %-6s %-9s %s\n", opt->name, level,
				  type, opt->description);
			continue;
		}
		sbuf_addf(&b,
			  "%s{\"name\":\"%s\",\"level\":\"%s\","
			  "\"type\":\"%s\",\"kinds\":",
			  first ? "" : ",", opt->name, level, type);
		json_kinds(&b, opt->kinds);
		sbuf_adds(&b, ",\"description\":");
		fmt_json_string(&b, opt->description, strlen(opt->description));
		sbuf_addc(&b, '}');
		first = false;
	}
	if (o->json)
		sbuf_adds(&b, "]\n");
	print_sbuf(&b);
	return EXIT_OK;
}

/* Resolve the NAMEs of `get`; a usage error ends it all. */
static int find_names(const struct opts *o, int n, char **names,
		      const struct sockopt **ret)
{
	char err[SOCKOPT_ERRLEN];

	for (int i = 0; i < n; i++)
		if (sockopt_find(names[i], o->kind, &ret[i], err) < 0)
			return cli_usage(CMD, "%s", err);
	return 0;
}

static int open_socket(const struct opts *o, int *ret_fd)
{
	int r = sockopt_kind_socket(o->kind, ret_fd);

	if (r < 0) {
		cli_error(CMD, "%s socket: %s", sockopt_kind_name(o->kind),
			  net_strerror(r));
		return EXIT_FAIL;
	}
	return 0;
}

/* What get and set print: text lines, or the JSON object's members. */
struct report {
	struct sbuf out; /* lines, or the "options" members */
	struct sbuf bad; /* JSON: the "unavailable" members */
	bool json;
};

static void report_value(struct report *r, const struct sockopt_setting *s,
			 const struct sockopt_setting *asked)
{
	char val[512], ask[512];

	sockopt_format(s, r->json, val, sizeof(val));
	if (asked)
		sockopt_format(asked, r->json, ask, sizeof(ask));
	if (!r->json) {
		sbuf_addf(&r->out, "%s = %s", s->opt->name, val);
		if (asked)
			sbuf_addf(&r->out, " (asked %s)", ask);
		sbuf_addc(&r->out, '\n');
		return;
	}
	sbuf_addf(&r->out, "%s\"%s\":", r->out.len ? "," : "", s->opt->name);
	if (asked)
		sbuf_addf(&r->out, "{\"asked\":%s,\"value\":%s}", ask, val);
	else
		sbuf_adds(&r->out, val);
}

static void report_unavailable(struct report *r, const struct sockopt *opt,
			       int err)
{
	const char *why = net_strerror(err);

	if (!r->json) {
		sbuf_addf(&r->out, "%s = unavailable (%s)\n", opt->name, why);
		return;
	}
	sbuf_addf(&r->bad, "%s\"%s\":", r->bad.len ? "," : "", opt->name);
	fmt_json_string(&r->bad, why, strlen(why));
}

static void report_print(struct report *r, const struct opts *o)
{
	struct sbuf b = SBUF_INIT;

	if (!r->json) {
		print_sbuf(&r->out);
		return;
	}
	sbuf_addf(&b, "{\"kind\":\"%s\",\"options\":{%s}",
		  sockopt_kind_name(o->kind), sbuf_str(&r->out));
	if (o->mode == MODE_GET)
		sbuf_addf(&b, ",\"unavailable\":{%s}", sbuf_str(&r->bad));
	sbuf_adds(&b, "}\n");
	print_sbuf(&b);
	sbuf_free(&r->out);
	sbuf_free(&r->bad);
}

/*
 * Every option asked for, or every one that applies: an option the kernel
 * will not read is reported as unavailable, and is a failure only when it
 * was asked for by name.
 */
static int get(const struct opts *o, int n, char **names)
{
	const struct sockopt **want = calloc((size_t)n + 1, sizeof(*want));
	struct report rep = {SBUF_INIT, SBUF_INIT, o->json};
	int fd, status;

	if (!want)
		return cli_fail(CMD, "get", -ENOMEM);
	status = find_names(o, n, names, want);
	if (!status)
		status = open_socket(o, &fd);
	if (status) {
		free(want);
		return status;
	}
	for (size_t i = 0; n ? i < (size_t)n : i < sockopt_count; i++) {
		const struct sockopt *opt = n ? want[i] : &sockopt_table[i];
		struct sockopt_setting s;
		int r;

		if (!n && !listed(o, opt))
			continue;
		r = sockopt_get(fd, opt, &s);
		if (r == 0) {
			report_value(&rep, &s, NULL);
			continue;
		}
		report_unavailable(&rep, opt, r);
		if (n) {
			cli_error(CMD, "%s: %s", opt->name, net_strerror(r));
			status = EXIT_FAIL;
		}
	}
	close(fd);
	free(want);
	report_print(&rep, o);
	return status;
}

/* The value as typed, escaped: it goes to a terminal. */
static void fail_set(const struct sockopt_setting *s, const char *what, int err)
{
	struct sbuf text = SBUF_INIT;

	fmt_escape(&text, s->text, strlen(s->text));
	/* Exit 1 whatever the errno (ENOENT is not "nothing listens" here,
	 * but an unknown TCP_CONGESTION). */
	cli_error(CMD, "%s=%s: %s%s", s->opt->name, sbuf_str(&text), what,
		  net_strerror(err));
	sbuf_free(&text);
}

static int set(const struct opts *o, int n, char **args)
{
	struct sockopt_setting *v = calloc((size_t)n, sizeof(*v));
	struct report rep = {SBUF_INIT, SBUF_INIT, o->json};
	char err[SOCKOPT_ERRLEN];
	int fd, status = 0;

	if (!v)
		return cli_fail(CMD, "set", -ENOMEM);
	for (int i = 0; i < n && !status; i++)
		if (sockopt_parse(args[i], o->kind, &v[i], err) < 0)
			status = cli_usage(CMD, "%s", err);
	if (!status)
		status = open_socket(o, &fd);
	if (status) {
		free(v);
		return status;
	}
	for (int i = 0; i < n; i++) {
		struct sockopt_setting now;
		const char *what = "";
		int r = sockopt_set(fd, &v[i]);

		if (r == 0) {
			what = "reading it back: ";
			r = sockopt_get(fd, v[i].opt, &now);
		}
		if (r < 0) {
			fail_set(&v[i], what, r);
			status = EXIT_FAIL;
			break;
		}
		report_value(&rep, &now, &v[i]);
	}
	close(fd);
	free(v);
	report_print(&rep, o);
	return status;
}

static int check_operands(struct opts *o, int *argc, char ***argv)
{
	const char *word = *argc ? (*argv)[0] : "list";

	if (!strcmp(word, "list"))
		o->mode = MODE_LIST;
	else if (!strcmp(word, "get"))
		o->mode = MODE_GET;
	else if (!strcmp(word, "set"))
		o->mode = MODE_SET;
	else
		return cli_usage(CMD,
				 "unknown subcommand '%s': expected "
				 "list, get or set",
				 word);
	if (*argc) {
		(*argc)--;
		(*argv)++;
	}
	if (o->mode == MODE_LIST && *argc)
		return cli_usage(CMD, "too many arguments");
	if (o->mode == MODE_SET && !*argc)
		return cli_usage(CMD, "missing NAME=VALUE");
	if (o->mode == MODE_SET && o->level >= 0)
		return cli_usage(CMD, "--level does not apply to 'set'");
	if (o->mode == MODE_GET && o->level >= 0 && *argc)
		return cli_usage(CMD, "--level applies only without NAMEs");
	if (o->mode != MODE_LIST && !o->kind)
		o->kind = SOCKOPT_TCP;
	return 0;
}

int cmd_opts(int argc, char **argv)
{
	struct opts o = {.level = -1};
	int r = parse_opts(argc, argv, &o);

	if (r)
		return r < 0 ? EXIT_OK : r;
	argc -= optind;
	argv += optind;
	if ((r = check_operands(&o, &argc, &argv)))
		return r;
	switch (o.mode) {
	case MODE_LIST:
		return list(&o);
	case MODE_GET:
		return get(&o, argc, argv);
	case MODE_SET:
		return set(&o, argc, argv);
	}
	return EXIT_FAIL;
}
