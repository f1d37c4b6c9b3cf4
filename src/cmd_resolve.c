/*
 * cmd_resolve.c - `sockctl resolve`: the resolver functions of the socket
 * tutorials as one command.  getaddrinfo and getnameinfo with every flag,
 * the services and protocols databases, the host name, and the address and
 * byte-order conversions.  Results are printed in the C library's order,
 * untouched, so they equal what `getent ahosts` and Python's socket module
 * show for the same query.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "fmt.h"
#include "net.h"
#include "parse.h"

#define CMD "resolve"

const char cmd_resolve_help[] =
	"Usage: sockctl resolve [options] NAME [SERVICE]     getaddrinfo\n"
	"       sockctl resolve -r [options] ADDR [PORT]     getnameinfo\n"
	"       sockctl resolve --service NAME|PORT[/tcp|/udp]\n"
	"       sockctl resolve --protocol NAME|NUMBER\n"
	"       sockctl resolve --hostname | --fqdn\n"
	"       sockctl resolve --pton ADDR | --ntop HEX\n"
	"       sockctl resolve --byteorder N\n"
	"\n"
	"Forward lookups print FAMILY ADDRESS PORT SOCKTYPE PROTOCOL per "
	"result.\n"
	"\n"
	"Forward options (getaddrinfo):\n"
	"  -4, -6                 IPv4 / IPv6 results only\n"
	"  -t, --type TYPE        stream, dgram or raw\n"
	"      --passive          AI_PASSIVE: addresses to bind to\n"
	"      --canonname        AI_CANONNAME: print the canonical name "
	"first\n"
	"      --numeric-host     AI_NUMERICHOST / NI_NUMERICHOST\n"
	"      --numeric-serv     AI_NUMERICSERV / NI_NUMERICSERV\n"
	"      --v4mapped         AI_V4MAPPED\n"
	"      --all              AI_ALL\n"
	"      --addrconfig       AI_ADDRCONFIG\n"
	"\n"
	"Reverse options (getnameinfo):\n"
	"  -r, --reverse          look up the name of ADDR (and PORT)\n"
	"      --namereqd         NI_NAMEREQD: fail when there is no name\n"
	"      --nofqdn           NI_NOFQDN\n"
	"      --dgram            NI_DGRAM: the port is a UDP service\n"
	"\n"
	"Other lookups:\n"
	"      --service S        a service by name or PORT[/tcp|/udp]\n"
	"      --protocol P       a protocol by name or number\n"
	"      --hostname         this host's name (gethostname)\n"
	"      --fqdn             this host's fully qualified name\n"
	"      --pton ADDR        an address as hex, network order "
	"(inet_pton)\n"
	"      --ntop HEX         8 or 32 hex digits as an address "
	"(inet_ntop)\n"
	"      --byteorder N      N, htons(N) and htonl(N)\n"
	"\n"
	"Common options:\n"
	"      --json             one JSON document\n"
	"  -h, --help             show this help\n"
	"\n"
	"Exit status: 0 resolved, 2 usage error, 3 did not resolve.\n";

enum mode {
	MODE_FORWARD,
	MODE_REVERSE,
	MODE_SERVICE,
	MODE_PROTOCOL,
	MODE_HOSTNAME,
	MODE_FQDN,
	MODE_PTON,
	MODE_NTOP,
	MODE_BYTEORDER,
};

struct opts {
	enum mode mode;
	const char *arg; /* the argument of --service, --pton, ... */
	int family;
	int socktype;
	int ai_flags;
	int ni_flags;
	bool json;
	/* The first option seen of each kind, to refuse the ones that do
	 * not apply to the lookup asked for (rather than ignore them). */
	const char *fwd_opt; /* getaddrinfo only */
	const char *rev_opt; /* getnameinfo only */
	const char *addr_opt; /* either of them */
};

enum {
	OPT_PASSIVE = 256,
	OPT_CANONNAME,
	OPT_NUMERIC_HOST,
	OPT_NUMERIC_SERV,
	OPT_V4MAPPED,
	OPT_ALL,
	OPT_ADDRCONFIG,
	OPT_NAMEREQD,
	OPT_NOFQDN,
	OPT_DGRAM,
	OPT_SERVICE,
	OPT_PROTOCOL,
	OPT_HOSTNAME,
	OPT_FQDN,
	OPT_PTON,
	OPT_NTOP,
	OPT_BYTEORDER,
	OPT_JSON,
};

static const struct option longopts[] = {
	{"type", required_argument, NULL, 't'},
	{"passive", no_argument, NULL, OPT_PASSIVE},
	{"canonname", no_argument, NULL, OPT_CANONNAME},
	{"numeric-host", no_argument, NULL, OPT_NUMERIC_HOST},
	{"numeric-serv", no_argument, NULL, OPT_NUMERIC_SERV},
	{"v4mapped", no_argument, NULL, OPT_V4MAPPED},
	{"all", no_argument, NULL, OPT_ALL},
	{"addrconfig", no_argument, NULL, OPT_ADDRCONFIG},
	{"reverse", no_argument, NULL, 'r'},
	{"namereqd", no_argument, NULL, OPT_NAMEREQD},
	{"nofqdn", no_argument, NULL, OPT_NOFQDN},
	{"dgram", no_argument, NULL, OPT_DGRAM},
	{"service", required_argument, NULL, OPT_SERVICE},
	{"protocol", required_argument, NULL, OPT_PROTOCOL},
	{"hostname", no_argument, NULL, OPT_HOSTNAME},
	{"fqdn", no_argument, NULL, OPT_FQDN},
	{"pton", required_argument, NULL, OPT_PTON},
	{"ntop", required_argument, NULL, OPT_NTOP},
	{"byteorder", required_argument, NULL, OPT_BYTEORDER},
	{"json", no_argument, NULL, OPT_JSON},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static const char *const mode_name[] = {
	[MODE_FORWARD] = "a forward lookup",
	[MODE_REVERSE] = "-r",
	[MODE_SERVICE] = "--service",
	[MODE_PROTOCOL] = "--protocol",
	[MODE_HOSTNAME] = "--hostname",
	[MODE_FQDN] = "--fqdn",
	[MODE_PTON] = "--pton",
	[MODE_NTOP] = "--ntop",
	[MODE_BYTEORDER] = "--byteorder",
};

static void seen(const char **first, const char *opt)
{
	if (!*first)
		*first = opt;
}

static int set_mode(struct opts *o, enum mode m, const char *arg)
{
	if (o->mode != MODE_FORWARD && o->mode != m)
		return cli_usage(CMD, "only one kind of lookup at a time");
	o->mode = m;
	o->arg = arg;
	return 0;
}

static int parse_type(const char *s, int *ret)
{
	if (!strcmp(s, "stream"))
		*ret = SOCK_STREAM;
	else if (!strcmp(s, "dgram"))
		*ret = SOCK_DGRAM;
	else if (!strcmp(s, "raw"))
		*ret = SOCK_RAW;
	else
		return cli_usage(CMD,
				 "invalid type '%s': expected stream, "
				 "dgram or raw",
				 s);
	return 0;
}

/* Returns 0 to go on, -1 after --help, or an exit status > 0. */
static int parse_opts(int argc, char **argv, struct opts *o)
{
	int c, r = 0;

	optind = 0;
	while ((c = getopt_long(argc, argv, ":46t:rh", longopts, NULL)) != -1) {
		switch (c) {
		case '4':
			o->family = AF_INET;
			seen(&o->addr_opt, "-4");
			break;
		case '6':
			o->family = AF_INET6;
			seen(&o->addr_opt, "-6");
			break;
		case 't':
			r = parse_type(optarg, &o->socktype);
			seen(&o->fwd_opt, "--type");
			break;
		case OPT_PASSIVE:
			o->ai_flags |= AI_PASSIVE;
			seen(&o->fwd_opt, "--passive");
			break;
		case OPT_CANONNAME:
			o->ai_flags |= AI_CANONNAME;
			seen(&o->fwd_opt, "--canonname");
			break;
		case OPT_NUMERIC_HOST:
			o->ai_flags |= AI_NUMERICHOST;
			o->ni_flags |= NI_NUMERICHOST;
			seen(&o->addr_opt, "--numeric-host");
			break;
		case OPT_NUMERIC_SERV:
			o->ai_flags |= AI_NUMERICSERV;
			o->ni_flags |= NI_NUMERICSERV;
			seen(&o->addr_opt, "--numeric-serv");
			break;
		case OPT_V4MAPPED:
			o->ai_flags |= AI_V4MAPPED;
			seen(&o->fwd_opt, "--v4mapped");
			break;
		case OPT_ALL:
			o->ai_flags |= AI_ALL;
			seen(&o->fwd_opt, "--all");
			break;
		case OPT_ADDRCONFIG:
			o->ai_flags |= AI_ADDRCONFIG;
			seen(&o->fwd_opt, "--addrconfig");
			break;
		case OPT_NAMEREQD:
			o->ni_flags |= NI_NAMEREQD;
			seen(&o->rev_opt, "--namereqd");
			break;
		case OPT_NOFQDN:
			o->ni_flags |= NI_NOFQDN;
			seen(&o->rev_opt, "--nofqdn");
			break;
		case OPT_DGRAM:
			o->ni_flags |= NI_DGRAM;
			seen(&o->rev_opt, "--dgram");
			break;
		case 'r':
			r = set_mode(o, MODE_REVERSE, NULL);
			break;
		case OPT_SERVICE:
			r = set_mode(o, MODE_SERVICE, optarg);
			break;
		case OPT_PROTOCOL:
			r = set_mode(o, MODE_PROTOCOL, optarg);
			break;
		case OPT_HOSTNAME:
			r = set_mode(o, MODE_HOSTNAME, NULL);
			break;
		case OPT_FQDN:
			r = set_mode(o, MODE_FQDN, NULL);
			break;
		case OPT_PTON:
			r = set_mode(o, MODE_PTON, optarg);
			break;
		case OPT_NTOP:
			r = set_mode(o, MODE_NTOP, optarg);
			break;
		case OPT_BYTEORDER:
			r = set_mode(o, MODE_BYTEORDER, optarg);
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

/* An option that the chosen lookup would not use is a usage error. */
static int check_flags(const struct opts *o)
{
	const char *bad = NULL;

	if (o->mode == MODE_FORWARD)
		bad = o->rev_opt;
	else if (o->mode == MODE_REVERSE)
		bad = o->fwd_opt;
	else if (!(bad = o->fwd_opt) && !(bad = o->rev_opt))
		bad = o->addr_opt;
	if (bad)
		return cli_usage(CMD, "option '%s' does not apply to %s", bad,
				 mode_name[o->mode]);
	return 0;
}

static const char *family_name(int family)
{
	switch (family) {
	case AF_INET:
		return "inet";
	case AF_INET6:
		return "inet6";
	case AF_UNIX:
		return "unix";
	default:
		return "unknown";
	}
}

static const char *socktype_name(int t)
{
	switch (t) {
	case SOCK_STREAM:
		return "stream";
	case SOCK_DGRAM:
		return "dgram";
	case SOCK_RAW:
		return "raw";
	case SOCK_SEQPACKET:
		return "seqpacket";
	default:
		return "unknown";
	}
}

/* The protocols database's name for a number, or the number itself. */
static const char *protocol_name(int proto, char buf[16])
{
	struct protoent *pe = getprotobynumber(proto);

	if (pe)
		return pe->p_name;
	snprintf(buf, 16, "%d", proto);
	return buf;
}

static void json_str_or_null(struct sbuf *b, const char *s)
{
	if (s)
		fmt_json_string(b, s, strlen(s));
	else
		sbuf_adds(b, "null");
}

static void print_sbuf(struct sbuf *b)
{
	fwrite(b->data, 1, b->len, stdout);
	sbuf_free(b);
}

static int forward(const struct opts *o, int argc, char **argv)
{
	const char *name = argv[0], *service = argc > 1 ? argv[1] : NULL;
	const char *canon = NULL;
	struct sbuf b = SBUF_INIT;
	struct addrinfo *ai, *a;
	int r;

	r = net_resolve(name, service, o->family, o->socktype, o->ai_flags,
			&ai);
	if (r < 0)
		return cli_fail(CMD, name, r);
	if (o->ai_flags & AI_CANONNAME)
		canon = ai->ai_canonname ? ai->ai_canonname : name;
	if (o->json)
		sbuf_addc(&b, '[');
	else if (canon)
		sbuf_addf(&b, "canonical %s\n", canon);
	for (a = ai; a; a = a->ai_next) {
		char host[NET_ADDRSTRLEN], pbuf[16];
		const char *proto = protocol_name(a->ai_protocol, pbuf);
		uint16_t port;

		/* For the port; the text is the C library's own, so that a
		 * v4-mapped address stays ::ffff:127.0.0.1 and a scope stays.
		 */
		net_addr_host(a->ai_addr, a->ai_addrlen, host, &port);
		getnameinfo(a->ai_addr, a->ai_addrlen, host, sizeof(host), NULL,
			    0, NI_NUMERICHOST);
		if (!o->json) {
			sbuf_addf(&b, "%s %s %u %s %s\n",
				  family_name(a->ai_family), host, port,
				  socktype_name(a->ai_socktype), proto);
			continue;
		}
		sbuf_addf(&b, "%s{\"family\":\"%s\",\"address\":",
			  a == ai ? "" : ",", family_name(a->ai_family));
		fmt_json_string(&b, host, strlen(host));
		sbuf_addf(&b, ",\"port\":%u,\"socktype\":\"%s\",\"protocol\":",
			  port, socktype_name(a->ai_socktype));
		fmt_json_string(&b, proto, strlen(proto));
		sbuf_adds(&b, ",\"canonname\":");
		json_str_or_null(&b, canon);
		sbuf_addc(&b, '}');
	}
	if (o->json)
		sbuf_adds(&b, "]\n");
	freeaddrinfo(ai);
	print_sbuf(&b);
	return EXIT_OK;
}

static int reverse(const struct opts *o, int argc, char **argv)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];
	const char *addr = argv[0], *port = argc > 1 ? argv[1] : NULL;
	const char *why;
	struct addrinfo *ai;
	uint16_t pnum = 0;
	struct sbuf b = SBUF_INIT;
	int r;

	if (port && (r = parse_port(port, NULL, &pnum, &why)) < 0) {
		if (!err_is_eai(r))
			return cli_usage(CMD, "invalid port '%s': %s", port,
					 why);
		cli_error(CMD, "%s: %s", port, why);
		return EXIT_NORESOLVE;
	}
	/* Numeric only: a reverse lookup takes an address, never a name. */
	r = net_resolve(addr, NULL, o->family, SOCK_STREAM, AI_NUMERICHOST,
			&ai);
	if (r < 0)
		return cli_usage(CMD, "invalid address '%s': not an %s address",
				 addr,
				 o->family == AF_INET	 ? "IPv4"
				 : o->family == AF_INET6 ? "IPv6"
							 : "IPv4 or IPv6");
	if (ai->ai_family == AF_INET)
		((struct sockaddr_in *)ai->ai_addr)->sin_port = htons(pnum);
	else
		((struct sockaddr_in6 *)ai->ai_addr)->sin6_port = htons(pnum);
	r = getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof(host),
			port ? serv : NULL, port ? sizeof(serv) : 0,
			o->ni_flags);
	freeaddrinfo(ai);
	if (r)
		return cli_fail(CMD, addr,
				r == EAI_SYSTEM ? -errno : err_from_eai(r));
	if (o->json) {
		sbuf_adds(&b, "{\"host\":");
		fmt_json_string(&b, host, strlen(host));
		sbuf_adds(&b, ",\"service\":");
		json_str_or_null(&b, port ? serv : NULL);
		sbuf_adds(&b, "}\n");
	} else if (port) {
		sbuf_addf(&b, "%s %s\n", host, serv);
	} else {
		sbuf_addf(&b, "%s\n", host);
	}
	print_sbuf(&b);
	return EXIT_OK;
}

static void json_aliases(struct sbuf *b, char **aliases)
{
	sbuf_adds(b, ",\"aliases\":[");
	for (char **a = aliases; *a; a++) {
		if (a != aliases)
			sbuf_addc(b, ',');
		fmt_json_string(b, *a, strlen(*a));
	}
	sbuf_addc(b, ']');
}

static int service(const struct opts *o)
{
	char name[64], *slash;
	const char *proto = NULL, *why;
	struct servent *se;
	struct sbuf b = SBUF_INIT;
	uint16_t port;

	if (strlen(o->arg) >= sizeof(name) || !*o->arg)
		return cli_usage(CMD, "invalid service '%s'", o->arg);
	strcpy(name, o->arg);
	slash = strchr(name, '/');
	if (slash) {
		*slash = '\0';
		proto = slash + 1;
		if (strcmp(proto, "tcp") && strcmp(proto, "udp"))
			return cli_usage(CMD,
					 "invalid protocol '%s': expected "
					 "tcp or udp",
					 proto);
	}
	if (isdigit((unsigned char)name[0])) {
		if (parse_port(name, proto, &port, &why) < 0)
			return cli_usage(CMD, "invalid port '%s': %s", name,
					 why);
		se = getservbyport(htons(port), proto);
	} else {
		se = getservbyname(name, proto);
	}
	if (!se) {
		cli_error(CMD, "%s: unknown service", o->arg);
		return EXIT_NORESOLVE;
	}
	port = ntohs((uint16_t)se->s_port);
	if (o->json) {
		sbuf_adds(&b, "{\"name\":");
		fmt_json_string(&b, se->s_name, strlen(se->s_name));
		sbuf_addf(&b, ",\"port\":%u,\"protocol\":\"%s\"", port,
			  se->s_proto);
		json_aliases(&b, se->s_aliases);
		sbuf_adds(&b, "}\n");
	} else {
		sbuf_addf(&b, "%s %u/%s", se->s_name, port, se->s_proto);
		for (char **a = se->s_aliases; *a; a++)
			sbuf_addf(&b, " %s", *a);
		sbuf_addc(&b, '\n');
	}
	endservent();
	print_sbuf(&b);
	return EXIT_OK;
}

static int protocol(const struct opts *o)
{
	struct protoent *pe;
	struct sbuf b = SBUF_INIT;
	uint64_t num;

	if (!*o->arg)
		return cli_usage(CMD, "invalid protocol: empty");
	if (isdigit((unsigned char)o->arg[0])) {
		if (parse_uint(o->arg, 0, 255, &num, NULL) < 0)
			return cli_usage(CMD,
					 "invalid protocol number '%s': "
					 "must be between 0 and 255",
					 o->arg);
		pe = getprotobynumber((int)num);
	} else {
		pe = getprotobyname(o->arg);
	}
	if (!pe) {
		cli_error(CMD, "%s: unknown protocol", o->arg);
		return EXIT_NORESOLVE;
	}
	if (o->json) {
		sbuf_adds(&b, "{\"name\":");
		fmt_json_string(&b, pe->p_name, strlen(pe->p_name));
		sbuf_addf(&b, ",\"number\":%d", pe->p_proto);
		json_aliases(&b, pe->p_aliases);
		sbuf_adds(&b, "}\n");
	} else {
		sbuf_addf(&b, "%s %d\n", pe->p_name, pe->p_proto);
	}
	endprotoent();
	print_sbuf(&b);
	return EXIT_OK;
}

static void print_word(const struct opts *o, const char *key, const char *val)
{
	struct sbuf b = SBUF_INIT;

	if (o->json) {
		sbuf_addf(&b, "{\"%s\":", key);
		fmt_json_string(&b, val, strlen(val));
		sbuf_adds(&b, "}\n");
	} else {
		sbuf_addf(&b, "%s %s\n", key, val);
	}
	print_sbuf(&b);
}

static int hostname(const struct opts *o)
{
	char name[256];
	struct addrinfo *ai;

	if (gethostname(name, sizeof(name)) < 0)
		return cli_fail(CMD, "gethostname", -errno);
	name[sizeof(name) - 1] = '\0';
	if (o->mode == MODE_HOSTNAME) {
		print_word(o, "hostname", name);
		return EXIT_OK;
	}
	/* As `hostname --fqdn`: the canonical name, else the plain name. */
	if (net_resolve(name, NULL, AF_UNSPEC, SOCK_STREAM, AI_CANONNAME,
			&ai) == 0) {
		print_word(o, "fqdn",
			   ai->ai_canonname ? ai->ai_canonname : name);
		freeaddrinfo(ai);
	} else {
		print_word(o, "fqdn", name);
	}
	return EXIT_OK;
}

static int pton(const struct opts *o)
{
	unsigned char buf[16];
	struct sbuf hex = SBUF_INIT, b = SBUF_INIT;
	int family = AF_INET;
	size_t n = 4;

	if (inet_pton(AF_INET, o->arg, buf) != 1) {
		family = AF_INET6;
		n = 16;
		if (inet_pton(AF_INET6, o->arg, buf) != 1)
			return cli_usage(CMD,
					 "invalid address '%s': not an "
					 "IPv4 or IPv6 address",
					 o->arg);
	}
	for (size_t i = 0; i < n; i++)
		sbuf_addf(&hex, "%02x", buf[i]);
	if (o->json)
		sbuf_addf(&b, "{\"family\":\"%s\",\"hex\":\"%s\"}\n",
			  family_name(family), sbuf_str(&hex));
	else
		sbuf_addf(&b, "%s %s\n", family_name(family), sbuf_str(&hex));
	sbuf_free(&hex);
	print_sbuf(&b);
	return EXIT_OK;
}

static int ntop(const struct opts *o)
{
	unsigned char buf[16];
	char text[INET6_ADDRSTRLEN];
	size_t n = strlen(o->arg);
	int family = n == 8 ? AF_INET : AF_INET6;
	struct sbuf b = SBUF_INIT;

	if (n != 8 && n != 32)
		return cli_usage(CMD,
				 "invalid hex '%s': expected 8 (IPv4) or "
				 "32 (IPv6) hex digits",
				 o->arg);
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)o->arg[i]))
			return cli_usage(CMD,
					 "invalid hex '%s': not a hex "
					 "digit '%c'",
					 o->arg, o->arg[i]);
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;

		sscanf(o->arg + 2 * i, "%2x", &v);
		buf[i] = (unsigned char)v;
	}
	inet_ntop(family, buf, text, sizeof(text));
	if (o->json)
		sbuf_addf(&b, "{\"family\":\"%s\",\"address\":\"%s\"}\n",
			  family_name(family), text);
	else
		sbuf_addf(&b, "%s\n", text);
	print_sbuf(&b);
	return EXIT_OK;
}

static int byteorder(const struct opts *o)
{
	struct sbuf b = SBUF_INIT;
	const char *why;
	uint64_t v;
	uint32_t l;

	if (parse_uint(o->arg, 0, UINT32_MAX, &v, &why) < 0)
		return cli_usage(CMD, "invalid number '%s': %s (0-4294967295)",
				 o->arg, why);
	l = htonl((uint32_t)v);
	if (o->json) {
		sbuf_addf(&b,
			  "{\"value\":%llu,\"htons\":", (unsigned long long)v);
		if (v <= UINT16_MAX)
			sbuf_addf(&b, "%u", htons((uint16_t)v));
		else
			sbuf_adds(&b, "null");
		sbuf_addf(&b, ",\"htonl\":%u}\n", l);
	} else {
		sbuf_addf(&b, "value %llu 0x%llx\n", (unsigned long long)v,
			  (unsigned long long)v);
		/* htons of a value wider than 16 bits would be a lie. */
		if (v <= UINT16_MAX)
			sbuf_addf(&b, "htons %u 0x%x\n", htons((uint16_t)v),
				  htons((uint16_t)v));
		sbuf_addf(&b, "htonl %u 0x%x\n", l, l);
	}
	print_sbuf(&b);
	return EXIT_OK;
}

static int check_operands(const struct opts *o, int n)
{
	int min = 0, max = 0;

	if (o->mode == MODE_FORWARD || o->mode == MODE_REVERSE) {
		min = 1;
		max = 2;
	}
	if (n < min)
		return cli_usage(CMD, o->mode == MODE_FORWARD ? "missing NAME"
							      : "missing ADDR");
	if (n > max)
		return cli_usage(CMD, "too many arguments");
	return 0;
}

int cmd_resolve(int argc, char **argv)
{
	struct opts o = {.mode = MODE_FORWARD};
	int r = parse_opts(argc, argv, &o);

	if (r)
		return r < 0 ? EXIT_OK : r;
	argc -= optind;
	argv += optind;
	if ((r = check_operands(&o, argc)) || (r = check_flags(&o)))
		return r;
	switch (o.mode) {
	case MODE_FORWARD:
		if (!*argv[0])
			return cli_usage(CMD, "empty name");
		return forward(&o, argc, argv);
	case MODE_REVERSE:
		return reverse(&o, argc, argv);
	case MODE_SERVICE:
		return service(&o);
	case MODE_PROTOCOL:
		return protocol(&o);
	case MODE_HOSTNAME:
	case MODE_FQDN:
		return hostname(&o);
	case MODE_PTON:
		return pton(&o);
	case MODE_NTOP:
		return ntop(&o);
	case MODE_BYTEORDER:
		return byteorder(&o);
	}
	return EXIT_FAIL;
}
