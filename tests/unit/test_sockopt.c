/*
 * test_sockopt.c - the socket-option table: name lookup (case, prefixes,
 * ambiguity per kind, close names), value parsing for every type, set and
 * get on real sockets, and the -o list with its family rule.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net.h"
#include "sockopt.h"

static const struct sockopt *find(const char *name, unsigned kinds)
{
	const struct sockopt *o = NULL;
	char err[SOCKOPT_ERRLEN] = "";
	int r = sockopt_find(name, kinds, &o, err);

	cr_assert_eq(r, 0, "find %s: %d %s", name, r, err);
	return o;
}

static int find_err(const char *name, unsigned kinds, char *err)
{
	const struct sockopt *o = NULL;

	return sockopt_find(name, kinds, &o, err);
}

static int new_socket(unsigned kind)
{
	int fd = -1;

	cr_assert_eq(sockopt_kind_socket(kind, &fd), 0);
	return fd;
}

Test(sockopt, table_covers_spec_and_is_sane)
{
	static const char *const spec[] = {
		"SO_REUSEADDR",
		"SO_REUSEPORT",
		"SO_KEEPALIVE",
		"SO_BROADCAST",
		"SO_LINGER",
		"SO_RCVBUF",
		"SO_SNDBUF",
		"SO_RCVLOWAT",
		"SO_SNDLOWAT",
		"SO_RCVTIMEO",
		"SO_SNDTIMEO",
		"SO_OOBINLINE",
		"SO_DONTROUTE",
		"SO_PRIORITY",
		"SO_MARK",
		"SO_BINDTODEVICE",
		"SO_TYPE",
		"SO_DOMAIN",
		"SO_PROTOCOL",
		"SO_ERROR",
		"SO_ACCEPTCONN",
		"SO_DEBUG",
		"TCP_NODELAY",
		"TCP_CORK",
		"TCP_MAXSEG",
		"TCP_KEEPIDLE",
		"TCP_KEEPINTVL",
		"TCP_KEEPCNT",
		"TCP_USER_TIMEOUT",
		"TCP_CONGESTION",
		"TCP_QUICKACK",
		"TCP_FASTOPEN",
		"TCP_DEFER_ACCEPT",
		"TCP_NOTSENT_LOWAT",
		"IP_TTL",
		"IP_TOS",
		"IP_MULTICAST_TTL",
		"IP_MULTICAST_LOOP",
		"IP_RECVERR",
		"IPV6_V6ONLY",
		"IPV6_UNICAST_HOPS",
		"IPV6_MULTICAST_HOPS",
		"UDP_CORK",
	};

	for (size_t i = 0; i < sizeof(spec) / sizeof(spec[0]); i++)
		cr_assert_str_eq(find(spec[i], 0)->name, spec[i]);
	for (size_t i = 0; i < sockopt_count; i++) {
		const struct sockopt *o = &sockopt_table[i];

		cr_assert(o->kinds && !(o->kinds & ~SOCKOPT_KINDS_ALL), "%s",
			  o->name);
		cr_assert(o->description && *o->description, "%s", o->name);
		cr_assert_str_neq(sockopt_level_name(o->level), "unknown");
		cr_assert_str_neq(sockopt_type_name(o->type), "unknown");
		for (size_t j = 0; j < i; j++)
			cr_assert_str_neq(o->name, sockopt_table[j].name);
	}
}

Test(sockopt, names_case_insensitive_and_prefix_optional)
{
	cr_assert_str_eq(find("tcp_nodelay", SOCKOPT_TCP)->name, "TCP_NODELAY");
	cr_assert_str_eq(find("NoDelay", SOCKOPT_TCP)->name, "TCP_NODELAY");
	cr_assert_str_eq(find("rcvbuf", 0)->name, "SO_RCVBUF");
	cr_assert_str_eq(find("user-timeout", SOCKOPT_TCP6)->name,
			 "TCP_USER_TIMEOUT");
	cr_assert_str_eq(find("v6only", SOCKOPT_TCP6)->name, "IPV6_V6ONLY");
	cr_assert_str_eq(find("ttl", SOCKOPT_UDP6)->name, "IP_TTL");
	cr_assert_eq(find("SO_RCVBUF", 0)->level, SOL_SOCKET);
	cr_assert_eq(find("SO_RCVBUF", 0)->optname, SO_RCVBUF);
}

Test(sockopt, cork_depends_on_kind)
{
	char err[SOCKOPT_ERRLEN];
	const struct sockopt *o;

	o = find("cork", SOCKOPT_TCP);
	cr_assert_eq(o->level, IPPROTO_TCP);
	cr_assert_eq(o->optname, TCP_CORK);
	o = find("cork", SOCKOPT_UDP6);
	cr_assert_eq(o->level, IPPROTO_UDP);
	cr_assert_eq(o->optname, UDP_CORK);
	cr_assert_eq(find_err("cork", 0, err), -EINVAL);
	cr_assert_str_eq(
		err, "ambiguous socket option 'cork': TCP_CORK or UDP_CORK");
	cr_assert_eq(find_err("recverr", SOCKOPT_TCP6, err), -EINVAL);
	cr_assert(strstr(err, "IP_RECVERR") && strstr(err, "IPV6_RECVERR"),
		  "%s", err);
	cr_assert_str_eq(find("recverr", SOCKOPT_TCP)->name, "IP_RECVERR");
}

Test(sockopt, unknown_lists_close_names)
{
	char err[SOCKOPT_ERRLEN];

	cr_assert_eq(find_err("nodelya", SOCKOPT_TCP, err), -ENOENT);
	cr_assert_str_eq(err, "unknown socket option 'nodelya' "
			      "(did you mean TCP_NODELAY?)");
	cr_assert_eq(find_err("keep", SOCKOPT_TCP, err), -ENOENT);
	cr_assert(strstr(err, "SO_KEEPALIVE") && strstr(err, "TCP_KEEPIDLE") &&
			  strstr(err, "TCP_KEEPCNT"),
		  "%s", err);
	cr_assert_eq(find_err("SO_RCVBUFF", 0, err), -ENOENT);
	cr_assert(strstr(err, "SO_RCVBUF?"), "%s", err);
	cr_assert_eq(find_err("zzzz", 0, err), -ENOENT);
	cr_assert_str_eq(err, "unknown socket option 'zzzz' "
			      "(see 'sockctl opts list')");
	cr_assert_eq(find_err("", 0, err), -ENOENT);
}

Test(sockopt, option_of_another_kind_is_refused)
{
	char err[SOCKOPT_ERRLEN];

	cr_assert_eq(find_err("nodelay", SOCKOPT_UDP, err), -ENOENT);
	cr_assert_str_eq(err, "TCP_NODELAY does not apply to udp sockets "
			      "(only to tcp, tcp6)");
	cr_assert_eq(find_err("IPV6_V6ONLY", SOCKOPT_TCP, err), -ENOENT);
	cr_assert(strstr(err, "only to tcp6, udp6"), "%s", err);
}

struct value_case {
	const char *arg;
	unsigned kinds;
	int ok;
	const char *want; /* formatted value, or a part of the error */
};

Test(sockopt, parse_values)
{
	static const struct value_case cases[] = {
		{"SO_KEEPALIVE=on", SOCKOPT_TCP, 1, "1"},
		{"keepalive=No", SOCKOPT_TCP, 1, "0"},
		{"keepalive=TRUE", SOCKOPT_TCP, 1, "1"},
		{"keepalive=2", SOCKOPT_TCP, 0,
		 "invalid value '2' for SO_KEEPALIVE: expected on, off, yes, "
		 "no, true, false, 1 or 0"},
		{"rcvbuf=65536", SOCKOPT_TCP, 1, "65536"},
		{"rcvbuf=64k", SOCKOPT_TCP, 1, "65536"},
		{"rcvbuf=1m", SOCKOPT_TCP, 1, "1048576"},
		{"rcvbuf=big", SOCKOPT_TCP, 0, "expected a size in bytes"},
		{"rcvbuf=-1", SOCKOPT_TCP, 0, "expected a size in bytes"},
		{"rcvbuf=4g", SOCKOPT_TCP, 0, "expected a size in bytes"},
		{"ttl=64", SOCKOPT_TCP, 1, "64"},
		{"tos=0x10", SOCKOPT_TCP, 1, "16"},
		{"unicast_hops=-1", SOCKOPT_TCP6, 1, "-1"},
		{"ttl=6x", SOCKOPT_TCP, 0, "expected an integer"},
		{"ttl=", SOCKOPT_TCP, 0, "expected an integer"},
		{"ttl=99999999999", SOCKOPT_TCP, 0, "expected an integer"},
		{"rcvtimeo=1.5", SOCKOPT_TCP, 1, "1.500"},
		{"rcvtimeo=0", SOCKOPT_TCP, 1, "0.000"},
		{"rcvtimeo=0.000004", SOCKOPT_TCP, 1, "0.000004"},
		{"rcvtimeo=soon", SOCKOPT_TCP, 0, "expected seconds"},
		{"rcvtimeo=-1", SOCKOPT_TCP, 0, "expected seconds"},
		{"keepidle=30", SOCKOPT_TCP, 1, "30.000"},
		{"keepidle=0.5", SOCKOPT_TCP, 0, "expected whole seconds"},
		{"user_timeout=2.5", SOCKOPT_TCP, 1, "2.500"},
		{"linger=off", SOCKOPT_TCP, 1, "off"},
		{"linger=on:5", SOCKOPT_TCP, 1, "on:5"},
		{"linger=ON:0", SOCKOPT_UNIX, 1, "on:0"},
		{"linger=on", SOCKOPT_TCP, 0, "expected off or on:SECS"},
		{"linger=on:-1", SOCKOPT_TCP, 0, "expected off or on:SECS"},
		{"linger=5", SOCKOPT_TCP, 0, "expected off or on:SECS"},
		{"congestion=cubic", SOCKOPT_TCP, 1, "cubic"},
		{"bindtodevice=", SOCKOPT_UDP, 1, ""},
		{"type=1", SOCKOPT_TCP, 0, "SO_TYPE is read-only"},
		{"rcvbuf", SOCKOPT_TCP, 0, "expected NAME=VALUE, not 'rcvbuf'"},
		{"=5", SOCKOPT_TCP, 0, "expected NAME=VALUE"},
		{"nosuch=5", SOCKOPT_TCP, 0, "unknown socket option 'nosuch'"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct value_case *c = &cases[i];
		struct sockopt_setting s;
		char err[SOCKOPT_ERRLEN] = "", buf[128];
		int r = sockopt_parse(c->arg, c->kinds, &s, err);

		if (!c->ok) {
			cr_assert_lt(r, 0, "%s parsed", c->arg);
			cr_assert(strstr(err, c->want), "%s: %s", c->arg, err);
			continue;
		}
		cr_assert_eq(r, 0, "%s: %s", c->arg, err);
		sockopt_format(&s, false, buf, sizeof(buf));
		cr_assert_str_eq(buf, c->want, "%s", c->arg);
	}
}

Test(sockopt, json_format)
{
	struct sockopt_setting s;
	char err[SOCKOPT_ERRLEN], buf[128];

	cr_assert_eq(sockopt_parse("linger=on:7", SOCKOPT_TCP, &s, err), 0);
	sockopt_format(&s, true, buf, sizeof(buf));
	cr_assert_str_eq(buf, "{\"on\":true,\"seconds\":7}");
	cr_assert_eq(sockopt_parse("congestion=re\"no", SOCKOPT_TCP, &s, err),
		     0);
	sockopt_format(&s, true, buf, sizeof(buf));
	cr_assert_str_eq(buf, "\"re\\\"no\"");
	cr_assert_eq(sockopt_parse("rcvbuf=1k", SOCKOPT_TCP, &s, err), 0);
	sockopt_format(&s, true, buf, sizeof(buf));
	cr_assert_str_eq(buf, "1024");
}

/* Set through the table, read back with plain getsockopt.  Times are
 * ones every common HZ represents exactly (the kernel keeps jiffies). */
Test(sockopt, set_and_get_on_real_sockets)
{
	int fd = new_socket(SOCKOPT_TCP), v = -1;
	socklen_t len = sizeof(v);
	struct sockopt_setting s;
	char err[SOCKOPT_ERRLEN], buf[64];
	struct linger lg;
	struct timeval tv;

	cr_assert_eq(sockopt_parse("nodelay=yes", SOCKOPT_TCP, &s, err), 0);
	cr_assert_eq(sockopt_set(fd, &s), 0);
	cr_assert_eq(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len), 0);
	cr_assert_neq(v, 0);
	cr_assert_eq(sockopt_get_text(fd, s.opt, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "1");

	cr_assert_eq(sockopt_parse("linger=on:5", SOCKOPT_TCP, &s, err), 0);
	cr_assert_eq(sockopt_set(fd, &s), 0);
	len = sizeof(lg);
	cr_assert_eq(getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, &len), 0);
	cr_assert(lg.l_onoff && lg.l_linger == 5);
	cr_assert_eq(sockopt_get_text(fd, s.opt, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "on:5");

	cr_assert_eq(sockopt_parse("sndtimeo=1.5", SOCKOPT_TCP, &s, err), 0);
	cr_assert_eq(sockopt_set(fd, &s), 0);
	len = sizeof(tv);
	cr_assert_eq(getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &len), 0);
	cr_assert(tv.tv_sec == 1 && tv.tv_usec == 500000);
	cr_assert_eq(sockopt_get_text(fd, s.opt, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "1.500");

	cr_assert_eq(sockopt_parse("user_timeout=1.5", SOCKOPT_TCP, &s, err),
		     0);
	cr_assert_eq(sockopt_set(fd, &s), 0);
	len = sizeof(v);
	cr_assert_eq(getsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, &len),
		     0);
	cr_assert_eq(v, 1500);

	cr_assert_eq(sockopt_parse("keepidle=42", SOCKOPT_TCP, &s, err), 0);
	cr_assert_eq(sockopt_set(fd, &s), 0);
	cr_assert_eq(getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &v, &len), 0);
	cr_assert_eq(v, 42);
	cr_assert_eq(sockopt_get_text(fd, s.opt, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "42.000");
	close(fd);
}

Test(sockopt, string_options)
{
	int fd = new_socket(SOCKOPT_TCP);
	struct sockopt_setting s;
	char err[SOCKOPT_ERRLEN], buf[64], raw[32] = "";
	socklen_t len = sizeof(raw) - 1;

	cr_assert_eq(sockopt_get(fd, find("TCP_CONGESTION", 0), &s), 0);
	cr_assert_eq(getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, raw, &len), 0);
	cr_assert_str_eq(s.text, raw);
	cr_assert(*s.text);
	/* The kernel's own default is always available to set again. */
	snprintf(buf, sizeof(buf), "congestion=%s", raw);
	cr_assert_eq(sockopt_parse(buf, SOCKOPT_TCP, &s, err), 0);
	cr_assert_eq(sockopt_set(fd, &s), 0);
	cr_assert_eq(
		sockopt_parse("congestion=no-such-algo", SOCKOPT_TCP, &s, err),
		0);
	cr_assert_lt(sockopt_set(fd, &s), 0);
	cr_assert_eq(sockopt_get(fd, find("SO_BINDTODEVICE", 0), &s), 0);
	cr_assert_str_eq(s.text, "");
	close(fd);
}

Test(sockopt, read_only_values)
{
	int fd = new_socket(SOCKOPT_UDP6);
	struct sockopt_setting s;

	cr_assert_eq(sockopt_get(fd, find("SO_TYPE", 0), &s), 0);
	cr_assert_str_eq(s.text, "2");
	cr_assert_eq(sockopt_get(fd, find("SO_DOMAIN", 0), &s), 0);
	cr_assert_eq(s.v.i, AF_INET6);
	close(fd);
	fd = new_socket(SOCKOPT_UNIX_DGRAM);
	cr_assert_eq(sockopt_get(fd, find("SO_DOMAIN", 0), &s), 0);
	cr_assert_eq(s.v.i, AF_UNIX);
	close(fd);
}

Test(sockopt, kernel_refusal_is_its_errno)
{
	int fd = new_socket(SOCKOPT_TCP);
	struct sockopt_setting s;
	char err[SOCKOPT_ERRLEN];

	cr_assert_eq(sockopt_parse("ttl=0", SOCKOPT_TCP, &s, err), 0);
	cr_assert_eq(sockopt_set(fd, &s), -EINVAL);
	close(fd);
}

Test(sockopt, kinds_and_levels)
{
	int level = -1;

	cr_assert_str_eq(sockopt_kind_name(SOCKOPT_UNIX_DGRAM), "unix-dgram");
	cr_assert_str_eq(sockopt_kind_name(SOCKOPT_TCP6), "tcp6");
	cr_assert_eq(sockopt_level_parse("IPV6", &level), 0);
	cr_assert_eq(level, IPPROTO_IPV6);
	cr_assert_eq(sockopt_level_parse("socket", &level), 0);
	cr_assert_eq(level, SOL_SOCKET);
	cr_assert_eq(sockopt_level_parse("sctp", &level), -EINVAL);
	cr_assert_str_eq(sockopt_level_name(IPPROTO_UDP), "udp");
	cr_assert_str_eq(sockopt_type_name(SOCKOPT_READONLY), "read-only");
}

Test(sockopt, family_rule)
{
	cr_assert(sockopt_skips(find("IPV6_V6ONLY", 0), AF_INET));
	cr_assert(!sockopt_skips(find("IPV6_V6ONLY", 0), AF_INET6));
	cr_assert(sockopt_skips(find("SO_BROADCAST", 0), AF_INET6));
	cr_assert(!sockopt_skips(find("IP_TTL", 0), AF_INET6));
	cr_assert(!sockopt_skips(find("TCP_NODELAY", 0), AF_INET));
	cr_assert(!sockopt_skips(find("TCP_NODELAY", 0), AF_UNIX));
	cr_assert(!sockopt_skips(find("SO_RCVBUF", 0), AF_UNIX));
}

Test(sockopt, list_applies_in_order_and_skips_other_family)
{
	struct sockopt_list l = {0};
	char err[SOCKOPT_ERRLEN];
	int fd4 = new_socket(SOCKOPT_TCP), fd6 = new_socket(SOCKOPT_TCP6);
	net_prepare_fn prepare = sockopt_list_apply;
	int v = -1;
	socklen_t len = sizeof(v);

	cr_assert_eq(sockopt_list_add(&l, "v6only=1", SOCKOPT_KINDS_TCP, err),
		     0);
	cr_assert_eq(
		sockopt_list_add(&l, "SO_KEEPALIVE=on", SOCKOPT_KINDS_TCP, err),
		0);
	cr_assert_eq(sockopt_list_add(&l, "ttl=9", SOCKOPT_KINDS_TCP, err), 0);
	cr_assert_eq(l.n, 3);
	/* It is a net_prepare_fn: net_connect/net_listen call it. */
	cr_assert_eq(prepare(fd4, AF_INET, &l), 0);
	cr_assert_null(sockopt_list_failed(&l));
	cr_assert_eq(getsockopt(fd4, SOL_SOCKET, SO_KEEPALIVE, &v, &len), 0);
	cr_assert_neq(v, 0);
	cr_assert_eq(getsockopt(fd4, IPPROTO_IP, IP_TTL, &v, &len), 0);
	cr_assert_eq(v, 9);
	cr_assert_eq(sockopt_list_apply(fd6, AF_INET6, &l), 0);
	cr_assert_eq(getsockopt(fd6, IPPROTO_IPV6, IPV6_V6ONLY, &v, &len), 0);
	cr_assert_eq(v, 1);
	close(fd4);
	close(fd6);
	sockopt_list_free(&l);
	cr_assert_eq(l.n, 0);
	cr_assert_null(l.v);
}

Test(sockopt, list_reports_failing_option)
{
	struct sockopt_list l = {0};
	char err[SOCKOPT_ERRLEN];
	int fd = new_socket(SOCKOPT_UDP), v = -1;
	socklen_t len = sizeof(v);

	cr_assert_eq(sockopt_list_add(&l, "rcvbuf=64k", SOCKOPT_KINDS_UDP, err),
		     0);
	cr_assert_eq(sockopt_list_add(&l, "IP_TTL=0", SOCKOPT_KINDS_UDP, err),
		     0);
	cr_assert_eq(
		sockopt_list_add(&l, "broadcast=1", SOCKOPT_KINDS_UDP, err), 0);
	cr_assert_eq(sockopt_list_apply(fd, AF_INET, &l), -EINVAL);
	cr_assert_str_eq(sockopt_list_failed(&l), "IP_TTL");
	/* Applied in order: the one after the failure was not. */
	cr_assert_eq(getsockopt(fd, SOL_SOCKET, SO_BROADCAST, &v, &len), 0);
	cr_assert_eq(v, 0);
	close(fd);
	sockopt_list_free(&l);
}

Test(sockopt, list_add_refuses_bad_arguments)
{
	struct sockopt_list l = {0};
	char err[SOCKOPT_ERRLEN];

	cr_assert_eq(sockopt_list_add(&l, "nodelay=1", SOCKOPT_KINDS_UDP, err),
		     -ENOENT);
	cr_assert(strstr(err, "does not apply to udp, udp6 sockets"), "%s",
		  err);
	cr_assert_eq(sockopt_list_add(&l, "cork=maybe", SOCKOPT_KINDS_UDP, err),
		     -EINVAL);
	cr_assert(strstr(err, "for UDP_CORK"), "%s", err);
	cr_assert_eq(l.n, 0);
	sockopt_list_free(&l);
}
