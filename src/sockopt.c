/*
 * sockopt.c - the socket-option table and everything done with it: name
 * lookup (case-insensitive, prefix optional when unambiguous for the
 * socket kind, close names on a typo), value parsing by type, setsockopt,
 * getsockopt and formatting, and the -o list that commands apply to each
 * socket they create.
 *
 * The table says which socket kinds an option means something for; the
 * kernel decides whether it accepts it, and its answer is passed up as is
 * (this matters here: the kernel may be gVisor, which lacks some options).
 */
#include "sockopt.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "fmt.h"
#include "parse.h"

#define ALL SOCKOPT_KINDS_ALL
#define INET SOCKOPT_KINDS_INET
#define TCP SOCKOPT_KINDS_TCP
#define UDP SOCKOPT_KINDS_UDP
#define V6 (SOCKOPT_TCP6 | SOCKOPT_UDP6)
#define STREAM (SOCKOPT_KINDS_TCP | SOCKOPT_UNIX)
#define UNIX SOCKOPT_KINDS_UNIX

#define B SOCKOPT_BOOL
#define I SOCKOPT_INT
#define BY SOCKOPT_BYTES
#define S SOCKOPT_SECONDS
#define L SOCKOPT_LINGER
#define STR SOCKOPT_STRING
#define RO SOCKOPT_READONLY

#define SO(n) #n, SOL_SOCKET, n
#define TC(n) #n, IPPROTO_TCP, n
#define UD(n) #n, IPPROTO_UDP, n
#define IP(n) #n, IPPROTO_IP, n
#define IP6(n) #n, IPPROTO_IPV6, n

/* Grouped by level in the order `opts list` prints them. */
const struct sockopt sockopt_table[] = {
	{SO(SO_ACCEPTCONN), RO, ALL, "1 if the socket is listening"},
	{SO(SO_BINDTODEVICE), STR, INET,
	 "use only this network interface (empty: any)"},
	{SO(SO_BROADCAST), B, SOCKOPT_UDP,
	 "allow sending to broadcast addresses"},
	{SO(SO_BUSY_POLL), I, INET,
	 "microseconds to busy-poll the device when receiving"},
	{SO(SO_DEBUG), B, ALL,
	 "socket debugging (setting needs CAP_NET_ADMIN)"},
	{SO(SO_DOMAIN), RO, ALL, "address family (1 unix, 2 inet, 10 inet6)"},
	{SO(SO_DONTROUTE), B, INET, "send only to directly connected hosts"},
	{SO(SO_ERROR), RO, ALL, "pending socket error (reading clears it)"},
	{SO(SO_INCOMING_CPU), I, INET,
	 "CPU that handles the socket's packets (-1: any)"},
	{SO(SO_KEEPALIVE), B, TCP,
	 "probe an idle connection to see it is alive"},
	{SO(SO_LINGER), L, STREAM,
	 "on:SECS: close waits for unsent data (on:0 resets)"},
	{SO(SO_MARK), I, INET,
	 "firewall mark of outgoing packets (needs CAP_NET_ADMIN)"},
	{SO(SO_OOBINLINE), B, TCP, "receive urgent data inline"},
	{SO(SO_PASSCRED), B, UNIX,
	 "receive the sender's credentials (SCM_CREDENTIALS)"},
	{SO(SO_PASSSEC), B, UNIX,
	 "receive the sender's security context (SCM_SECURITY)"},
	{SO(SO_PEEK_OFF), I, ALL, "offset of MSG_PEEK reads (-1: off)"},
	{SO(SO_PRIORITY), I, ALL,
	 "queueing priority of outgoing packets (over 6 needs CAP_NET_ADMIN)"},
	{SO(SO_PROTOCOL), RO, ALL, "protocol number (6 tcp, 17 udp)"},
	{SO(SO_RCVBUF), BY, ALL, "receive buffer size (the kernel doubles it)"},
	{SO(SO_RCVLOWAT), BY, ALL, "bytes a read waits for"},
	{SO(SO_RCVTIMEO), S, ALL, "receive timeout (0: none)",
	 SOCKOPT_F_TIMEVAL},
	{SO(SO_REUSEADDR), B, INET,
	 "bind to an address still in TIME_WAIT; listen side of restarts"},
	{SO(SO_REUSEPORT), B, INET,
	 "several sockets share one address and port"},
	{SO(SO_RXQ_OVFL), B, UDP,
	 "receive the count of dropped datagrams (SO_RXQ_OVFL)"},
	{SO(SO_SNDBUF), BY, ALL, "send buffer size (the kernel doubles it)"},
	{SO(SO_SNDLOWAT), BY, ALL, "send low-water mark (fixed at 1 on Linux)"},
	{SO(SO_SNDTIMEO), S, ALL, "send timeout (0: none)", SOCKOPT_F_TIMEVAL},
	{SO(SO_TIMESTAMP), B, ALL, "receive timestamps (SCM_TIMESTAMP)"},
	{SO(SO_TIMESTAMPNS), B, ALL,
	 "receive nanosecond timestamps (SCM_TIMESTAMPNS)"},
	{SO(SO_TYPE), RO, ALL, "socket type (1 stream, 2 dgram)"},
	{SO(SO_ZEROCOPY), B, INET, "allow MSG_ZEROCOPY sends"},

	{TC(TCP_CONGESTION), STR, TCP, "congestion control algorithm"},
	{TC(TCP_CORK), B, TCP, "send only full segments until uncorked"},
	{TC(TCP_DEFER_ACCEPT), S, TCP,
	 "accept only once data has arrived, waiting up to SECS"},
	{TC(TCP_FASTOPEN), I, TCP,
	 "TCP Fast Open queue length of a listening socket"},
	{TC(TCP_FASTOPEN_CONNECT), B, TCP, "use TCP Fast Open when connecting"},
	{TC(TCP_INQ), B, TCP, "report unread bytes with each recvmsg"},
	{TC(TCP_KEEPCNT), I, TCP, "keep-alive probes before dropping"},
	{TC(TCP_KEEPIDLE), S, TCP, "idle time before keep-alive probes"},
	{TC(TCP_KEEPINTVL), S, TCP, "time between keep-alive probes"},
	{TC(TCP_LINGER2), S, TCP, "lifetime of orphaned FIN_WAIT2 sockets"},
	{TC(TCP_MAXSEG), BY, TCP, "maximum segment size"},
	{TC(TCP_NODELAY), B, TCP, "send at once: no Nagle algorithm"},
	{TC(TCP_NOTSENT_LOWAT), BY, TCP,
	 "unsent bytes below which the socket is writable"},
	{TC(TCP_QUICKACK), B, TCP,
	 "acknowledge at once (the kernel may turn it off again)"},
	{TC(TCP_SYNCNT), I, TCP, "SYN retransmits before connect gives up"},
	{TC(TCP_USER_TIMEOUT), S, TCP,
	 "how long sent data may stay unacknowledged (0: default)",
	 SOCKOPT_F_MSEC},
	{TC(TCP_WINDOW_CLAMP), BY, TCP, "bound on the advertised window"},

	{UD(UDP_CORK), B, UDP,
	 "collect sends into one datagram until uncorked"},
	{UD(UDP_GRO), B, UDP, "receive coalesced datagrams (GRO)"},
	{UD(UDP_SEGMENT), BY, UDP, "segment size of large sends (GSO; 0: off)"},

	{IP(IP_BIND_ADDRESS_NO_PORT), B, INET,
	 "bind leaves the port to connect"},
	{IP(IP_FREEBIND), B, INET, "bind to an address not (yet) on this host"},
	{IP(IP_MTU_DISCOVER), I, INET,
	 "path MTU discovery (0 dont, 1 want, 2 do, 3 probe)"},
	{IP(IP_MTU), RO, INET, "path MTU (of a connected socket only)"},
	{IP(IP_MULTICAST_ALL), B, UDP,
	 "receive the multicast of every group joined on the host"},
	{IP(IP_MULTICAST_LOOP), B, UDP,
	 "multicast sent comes back to this host"},
	{IP(IP_MULTICAST_TTL), I, UDP, "TTL of outgoing multicast"},
	{IP(IP_PKTINFO), B, UDP, "receive IP_PKTINFO with each datagram"},
	{IP(IP_RECVERR), B, INET, "queue ICMP errors for MSG_ERRQUEUE"},
	{IP(IP_RECVTOS), B, INET, "receive the TOS of incoming packets"},
	{IP(IP_RECVTTL), B, UDP, "receive the TTL of incoming packets"},
	{IP(IP_TOS), I, INET, "type of service (DSCP/ECN) of outgoing packets"},
	{IP(IP_TRANSPARENT), B, INET,
	 "transparent proxying (needs CAP_NET_ADMIN)"},
	{IP(IP_TTL), I, INET, "time to live of outgoing packets"},

	{IP6(IPV6_MTU), RO, V6, "path MTU (of a connected socket only)"},
	{IP6(IPV6_MTU_DISCOVER), I, V6,
	 "path MTU discovery (0 dont, 1 want, 2 do, 3 probe)"},
	{IP6(IPV6_MULTICAST_HOPS), I, SOCKOPT_UDP6,
	 "hop limit of outgoing multicast"},
	{IP6(IPV6_MULTICAST_LOOP), B, SOCKOPT_UDP6,
	 "multicast sent comes back to this host"},
	{IP6(IPV6_RECVERR), B, V6, "queue ICMPv6 errors for MSG_ERRQUEUE"},
	{IP6(IPV6_RECVHOPLIMIT), B, SOCKOPT_UDP6,
	 "receive the hop limit of incoming packets"},
	{IP6(IPV6_RECVPKTINFO), B, SOCKOPT_UDP6,
	 "receive IPV6_PKTINFO with each datagram"},
	{IP6(IPV6_RECVTCLASS), B, V6,
	 "receive the traffic class of incoming packets"},
	{IP6(IPV6_TCLASS), I, V6, "traffic class of outgoing packets"},
	{IP6(IPV6_UNICAST_HOPS), I, V6,
	 "hop limit of outgoing packets (-1: the route's)"},
	{IP6(IPV6_V6ONLY), B, V6, "IPv6 only: no IPv4-mapped traffic"},
};
const size_t sockopt_count = sizeof(sockopt_table) / sizeof(sockopt_table[0]);

static const char *const prefixes[] = {"SO_", "TCP_", "UDP_", "IPV6_", "IP_"};

static const struct {
	unsigned kind;
	const char *name;
	int family, type;
} kinds[] = {
	{SOCKOPT_TCP, "tcp", AF_INET, SOCK_STREAM},
	{SOCKOPT_UDP, "udp", AF_INET, SOCK_DGRAM},
	{SOCKOPT_TCP6, "tcp6", AF_INET6, SOCK_STREAM},
	{SOCKOPT_UDP6, "udp6", AF_INET6, SOCK_DGRAM},
	{SOCKOPT_UNIX, "unix", AF_UNIX, SOCK_STREAM},
	{SOCKOPT_UNIX_DGRAM, "unix-dgram", AF_UNIX, SOCK_DGRAM},
};

static const struct {
	int level;
	const char *name;
} levels[] = {
	{SOL_SOCKET, "socket"}, {IPPROTO_IP, "ip"},   {IPPROTO_IPV6, "ipv6"},
	{IPPROTO_TCP, "tcp"},	{IPPROTO_UDP, "udp"},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

const char *sockopt_level_name(int level)
{
	for (size_t i = 0; i < N(levels); i++)
		if (levels[i].level == level)
			return levels[i].name;
	return "unknown";
}

int sockopt_level_parse(const char *word, int *ret_level)
{
	for (size_t i = 0; i < N(levels); i++) {
		if (!strcasecmp(levels[i].name, word)) {
			*ret_level = levels[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

const char *sockopt_type_name(enum sockopt_type type)
{
	static const char *const names[] = {
		[SOCKOPT_BOOL] = "bool",	  [SOCKOPT_INT] = "int",
		[SOCKOPT_BYTES] = "bytes",	  [SOCKOPT_SECONDS] = "seconds",
		[SOCKOPT_LINGER] = "linger",	  [SOCKOPT_STRING] = "string",
		[SOCKOPT_READONLY] = "read-only",
	};

	if ((unsigned)type < N(names))
		return names[type];
	return "unknown";
}

const char *sockopt_kind_name(unsigned kind)
{
	for (size_t i = 0; i < N(kinds); i++)
		if (kinds[i].kind == kind)
			return kinds[i].name;
	return "unknown";
}

int sockopt_kind_socket(unsigned kind, int *ret_fd)
{
	for (size_t i = 0; i < N(kinds); i++) {
		int fd;

		if (kinds[i].kind != kind)
			continue;
		fd = socket(kinds[i].family, kinds[i].type | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		*ret_fd = fd;
		return 0;
	}
	return -EINVAL;
}

/* ---- names ---- */

/* "tcp_nodelay" and "tcp-nodelay" -> "TCP_NODELAY"; false if too long. */
static bool normalize(const char *s, char *out, size_t size)
{
	size_t i;

	for (i = 0; s[i]; i++) {
		if (i + 1 >= size)
			return false;
		out[i] = s[i] == '-' ? '_' : (char)toupper((unsigned char)s[i]);
	}
	out[i] = '\0';
	return true;
}

/* The name without its SO_/TCP_/UDP_/IP_/IPV6_ prefix. */
static const char *short_name(const char *name)
{
	for (size_t i = 0; i < N(prefixes); i++) {
		size_t n = strlen(prefixes[i]);

		if (!strncmp(name, prefixes[i], n))
			return name + n;
	}
	return name;
}

/* "tcp, tcp6" for a set of kinds. */
static void kinds_text(unsigned k, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < N(kinds) && len < size; i++)
		if (k & kinds[i].kind)
			len += (size_t)snprintf(buf + len, size - len, "%s%s",
						len ? ", " : "", kinds[i].name);
}

/* Levenshtein distance, capped: names are short. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[48], cur[48];

	if (la >= 47 || lb >= 47)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			size_t m = sub < del ? sub : del;

			cur[j] = m < ins ? m : ins;
		}
		memcpy(prev, cur, (lb + 1) * sizeof(prev[0]));
	}
	return prev[lb];
}

/* A typo (a couple of edits) or a part of the name. */
static bool is_close(const char *given, const char *name)
{
	size_t len = strlen(given), max = len < 5 ? 1 : 2;

	if (distance(given, name) <= max ||
	    distance(given, short_name(name)) <= max)
		return true;
	return len >= 3 && strstr(name, given);
}

static void append(char *err, size_t *len, const char *s)
{
	if (*len < SOCKOPT_ERRLEN)
		*len += (size_t)snprintf(err + *len, SOCKOPT_ERRLEN - *len,
					 "%s", s);
}

static int unknown(const char *name, const char *norm, unsigned k,
		   char err[SOCKOPT_ERRLEN])
{
	size_t len = 0, found = 0;

	len = (size_t)snprintf(err, SOCKOPT_ERRLEN,
			       "unknown socket option '%s'", name);
	for (size_t i = 0; i < sockopt_count; i++) {
		const struct sockopt *o = &sockopt_table[i];

		if ((k && !(o->kinds & k)) || !is_close(norm, o->name))
			continue;
		append(err, &len, found++ ? ", " : " (did you mean ");
		append(err, &len, o->name);
	}
	append(err, &len, found ? "?)" : " (see 'sockctl opts list')");
	return -ENOENT;
}

static int not_for_kind(const struct sockopt *o, unsigned k,
			char err[SOCKOPT_ERRLEN])
{
	char want[64], has[64];

	kinds_text(k, want, sizeof(want));
	kinds_text(o->kinds, has, sizeof(has));
	snprintf(err, SOCKOPT_ERRLEN,
		 "%s does not apply to %s sockets (only to %s)", o->name, want,
		 has);
	return -ENOENT;
}

static int ambiguous(const char *name, const char *norm, unsigned k,
		     char err[SOCKOPT_ERRLEN])
{
	size_t len, n = 0;

	len = (size_t)snprintf(err, SOCKOPT_ERRLEN,
			       "ambiguous socket option '%s': ", name);
	for (size_t i = 0; i < sockopt_count; i++) {
		const struct sockopt *o = &sockopt_table[i];

		if ((k && !(o->kinds & k)) || strcmp(short_name(o->name), norm))
			continue;
		append(err, &len, n++ ? " or " : "");
		append(err, &len, o->name);
	}
	return -EINVAL;
}

int sockopt_find(const char *name, unsigned k, const struct sockopt **ret,
		 char err[SOCKOPT_ERRLEN])
{
	const struct sockopt *hit = NULL, *other = NULL;
	char norm[48];
	size_t n = 0;

	if (!*name || !normalize(name, norm, sizeof(norm)))
		return unknown(name, "", k, err);
	for (size_t i = 0; i < sockopt_count; i++) {
		const struct sockopt *o = &sockopt_table[i];

		if (!strcmp(o->name, norm) ||
		    !strcmp(short_name(o->name), norm)) {
			if (k && !(o->kinds & k)) {
				other = o;
				continue;
			}
			/* The full name wins over another's short name. */
			if (!strcmp(o->name, norm)) {
				*ret = o;
				return 0;
			}
			hit = o;
			n++;
		}
	}
	if (n == 1) {
		*ret = hit;
		return 0;
	}
	if (n > 1)
		return ambiguous(name, norm, k, err);
	if (other)
		return not_for_kind(other, k, err);
	return unknown(name, norm, k, err);
}

/* ---- values ---- */

static int bad_value(const struct sockopt_setting *s, const char *expected,
		     char err[SOCKOPT_ERRLEN])
{
	snprintf(err, SOCKOPT_ERRLEN, "invalid value '%s' for %s: expected %s",
		 s->text, s->opt->name, expected);
	return -EINVAL;
}

/* A decimal or 0x hex int, with a sign. */
static bool parse_int(const char *s, int *ret)
{
	const char *p = s + (*s == '-' || *s == '+');
	int base = 10;
	char *end;
	long v;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		base = 16;
	if (!isxdigit((unsigned char)p[base == 16 ? 2 : 0]))
		return false;
	errno = 0;
	v = strtol(s, &end, base);
	if (errno || *end || v < INT_MIN || v > INT_MAX)
		return false;
	*ret = (int)v;
	return true;
}

static int parse_seconds(struct sockopt_setting *s, char err[SOCKOPT_ERRLEN])
{
	const struct sockopt *o = s->opt;
	double v;

	if (parse_duration(s->text, &v, NULL) < 0 || v > INT_MAX / 1000)
		return bad_value(s, "seconds, e.g. 5 or 0.25", err);
	if (!(o->flags & (SOCKOPT_F_TIMEVAL | SOCKOPT_F_MSEC)) && v != floor(v))
		return bad_value(s, "whole seconds", err);
	if ((o->flags & SOCKOPT_F_MSEC) && v > 0 && v < 0.001)
		return bad_value(s, "seconds of at least 0.001", err);
	s->v.secs = v;
	return 0;
}

static int parse_linger(struct sockopt_setting *s, char err[SOCKOPT_ERRLEN])
{
	const char *t = s->text;

	if (!strcasecmp(t, "off")) {
		s->v.linger.on = 0;
		s->v.linger.secs = 0;
		return 0;
	}
	if (strncasecmp(t, "on:", 3) || !isdigit((unsigned char)t[3]) ||
	    !parse_int(t + 3, &s->v.linger.secs))
		return bad_value(s, "off or on:SECS (whole seconds)", err);
	s->v.linger.on = 1;
	return 0;
}

static int parse_value(struct sockopt_setting *s, char err[SOCKOPT_ERRLEN])
{
	const struct sockopt *o = s->opt;
	uint64_t size;
	bool b;

	switch (o->type) {
	case SOCKOPT_BOOL:
		if (parse_bool(s->text, &b, NULL) < 0)
			return bad_value(s,
					 "on, off, yes, no, true, false, 1 "
					 "or 0",
					 err);
		s->v.i = b;
		return 0;
	case SOCKOPT_INT:
		if (!parse_int(s->text, &s->v.i))
			return bad_value(s, "an integer", err);
		return 0;
	case SOCKOPT_BYTES:
		if (parse_size(s->text, &size, NULL) < 0 || size > INT_MAX)
			return bad_value(s,
					 "a size in bytes, e.g. 65536 or "
					 "64k",
					 err);
		s->v.i = (int)size;
		return 0;
	case SOCKOPT_SECONDS:
		return parse_seconds(s, err);
	case SOCKOPT_LINGER:
		return parse_linger(s, err);
	case SOCKOPT_STRING:
		if (strlen(s->text) >= sizeof(s->v.str))
			return bad_value(s, "text of at most 63 bytes", err);
		strcpy(s->v.str, s->text);
		return 0;
	case SOCKOPT_READONLY:
		snprintf(err, SOCKOPT_ERRLEN, "%s is read-only", o->name);
		return -EINVAL;
	}
	return -EINVAL;
}

int sockopt_parse(const char *arg, unsigned k, struct sockopt_setting *ret,
		  char err[SOCKOPT_ERRLEN])
{
	const char *eq = strchr(arg, '=');
	char name[64];
	int r;

	memset(ret, 0, sizeof(*ret));
	if (!eq || eq == arg) {
		snprintf(err, SOCKOPT_ERRLEN, "expected NAME=VALUE, not '%s'",
			 arg);
		return -EINVAL;
	}
	if ((size_t)(eq - arg) >= sizeof(name))
		return unknown(arg, "", k, err);
	memcpy(name, arg, (size_t)(eq - arg));
	name[eq - arg] = '\0';
	r = sockopt_find(name, k, &ret->opt, err);
	if (r < 0)
		return r;
	if (strlen(eq + 1) >= sizeof(ret->text)) {
		snprintf(err, SOCKOPT_ERRLEN, "value for %s too long",
			 ret->opt->name);
		return -EINVAL;
	}
	strcpy(ret->text, eq + 1);
	return parse_value(ret, err);
}

/* ---- the kernel ---- */

static int set_seconds(int fd, const struct sockopt *o, double secs)
{
	if (o->flags & SOCKOPT_F_TIMEVAL) {
		long long us = llround(secs * 1e6);
		struct timeval tv = {.tv_sec = (time_t)(us / 1000000),
				     .tv_usec = (suseconds_t)(us % 1000000)};

		return setsockopt(fd, o->level, o->optname, &tv, sizeof(tv));
	} else {
		int v = (int)llround(o->flags & SOCKOPT_F_MSEC ? secs * 1000
							       : secs);

		return setsockopt(fd, o->level, o->optname, &v, sizeof(v));
	}
}

int sockopt_set(int fd, const struct sockopt_setting *s)
{
	const struct sockopt *o = s->opt;
	struct linger lg;
	int r;

	switch (o->type) {
	case SOCKOPT_BOOL:
	case SOCKOPT_INT:
	case SOCKOPT_BYTES:
		r = setsockopt(fd, o->level, o->optname, &s->v.i,
			       sizeof(s->v.i));
		break;
	case SOCKOPT_SECONDS:
		r = set_seconds(fd, o, s->v.secs);
		break;
	case SOCKOPT_LINGER:
		lg.l_onoff = s->v.linger.on;
		lg.l_linger = s->v.linger.secs;
		r = setsockopt(fd, o->level, o->optname, &lg, sizeof(lg));
		break;
	case SOCKOPT_STRING:
		r = setsockopt(fd, o->level, o->optname, s->v.str,
			       (socklen_t)strlen(s->v.str));
		break;
	default:
		return -EINVAL;
	}
	return r < 0 ? -errno : 0;
}

static int get_seconds(int fd, const struct sockopt *o, double *ret)
{
	struct timeval tv;
	socklen_t len = sizeof(tv);
	int v;

	if (o->flags & SOCKOPT_F_TIMEVAL) {
		if (getsockopt(fd, o->level, o->optname, &tv, &len) < 0)
			return -errno;
		*ret = (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
		return 0;
	}
	len = sizeof(v);
	if (getsockopt(fd, o->level, o->optname, &v, &len) < 0)
		return -errno;
	*ret = o->flags & SOCKOPT_F_MSEC ? v / 1000.0 : v;
	return 0;
}

static int get_value(int fd, const struct sockopt *o, struct sockopt_setting *s)
{
	struct linger lg = {0};
	socklen_t len;
	int r;

	switch (o->type) {
	case SOCKOPT_SECONDS:
		return get_seconds(fd, o, &s->v.secs);
	case SOCKOPT_LINGER:
		len = sizeof(lg);
		r = getsockopt(fd, o->level, o->optname, &lg, &len);
		s->v.linger.on = lg.l_onoff;
		s->v.linger.secs = lg.l_linger;
		break;
	case SOCKOPT_STRING:
		len = sizeof(s->v.str) - 1;
		r = getsockopt(fd, o->level, o->optname, s->v.str, &len);
		/* Not always NUL-terminated (TCP_CONGESTION pads with NULs,
		 * SO_BINDTODEVICE gives a length). */
		s->v.str[r < 0 ? 0 : len] = '\0';
		break;
	default:
		len = sizeof(s->v.i);
		r = getsockopt(fd, o->level, o->optname, &s->v.i, &len);
		break;
	}
	return r < 0 ? -errno : 0;
}

int sockopt_get(int fd, const struct sockopt *o, struct sockopt_setting *ret)
{
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->opt = o;
	r = get_value(fd, o, ret);
	if (r < 0)
		return r;
	sockopt_format(ret, false, ret->text, sizeof(ret->text));
	return 0;
}

int sockopt_get_text(int fd, const struct sockopt *o, char *buf, size_t size)
{
	struct sockopt_setting s;
	int r = sockopt_get(fd, o, &s);

	if (r < 0)
		return r;
	snprintf(buf, size, "%s", s.text);
	return 0;
}

/* Milliseconds shown as 0.000; a finer timeval as 0.000004. */
static void format_seconds(double secs, char *buf, size_t size)
{
	long long us = llround(secs * 1e6);

	snprintf(buf, size, us % 1000 ? "%.6f" : "%.3f", secs);
}

void sockopt_format(const struct sockopt_setting *s, bool json, char *buf,
		    size_t size)
{
	struct sbuf b = SBUF_INIT;

	switch (s->opt->type) {
	case SOCKOPT_SECONDS:
		format_seconds(s->v.secs, buf, size);
		return;
	case SOCKOPT_LINGER:
		if (json)
			snprintf(buf, size, "{\"on\":%s,\"seconds\":%d}",
				 s->v.linger.on ? "true" : "false",
				 s->v.linger.secs);
		else if (s->v.linger.on)
			snprintf(buf, size, "on:%d", s->v.linger.secs);
		else
			snprintf(buf, size, "off");
		return;
	case SOCKOPT_STRING:
		if (!json) {
			snprintf(buf, size, "%s", s->v.str);
			return;
		}
		fmt_json_string(&b, s->v.str, strlen(s->v.str));
		snprintf(buf, size, "%s", sbuf_str(&b));
		sbuf_free(&b);
		return;
	default:
		snprintf(buf, size, "%d", s->v.i);
		return;
	}
}

/* ---- -o lists ---- */

bool sockopt_skips(const struct sockopt *o, int family)
{
	const unsigned v4 = SOCKOPT_TCP | SOCKOPT_UDP;

	if (family == AF_INET)
		return !(o->kinds & v4) && (o->kinds & V6);
	if (family == AF_INET6)
		return !(o->kinds & V6) && (o->kinds & v4);
	return false;
}

int sockopt_list_add(struct sockopt_list *l, const char *arg, unsigned k,
		     char err[SOCKOPT_ERRLEN])
{
	struct sockopt_setting s, *v;
	int r = sockopt_parse(arg, k, &s, err);

	if (r < 0)
		return r;
	v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (!v) {
		snprintf(err, SOCKOPT_ERRLEN, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	l->v = v;
	l->v[l->n++] = s;
	return 0;
}

int sockopt_list_apply(int fd, int family, void *list)
{
	struct sockopt_list *l = list;

	l->failed = NULL;
	for (size_t i = 0; i < l->n; i++) {
		int r;

		if (sockopt_skips(l->v[i].opt, family))
			continue;
		r = sockopt_set(fd, &l->v[i]);
		if (r < 0) {
			l->failed = &l->v[i];
			return r;
		}
	}
	return 0;
}

const char *sockopt_list_failed(const struct sockopt_list *l)
{
	return l->failed ? l->failed->opt->name : NULL;
}

void sockopt_list_free(struct sockopt_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
	l->failed = NULL;
}
