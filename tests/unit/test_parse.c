/*
 * test_parse.c - the pure parsers of parse.c, table by table: ports,
 * HOST:PORT and the address operands, Unix paths, durations, sizes,
 * escapes, CIDRs and their matching, booleans.  Every failure row also
 * checks the reason (*why) a user would be shown.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "parse.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* A row either succeeds with a value or fails with an error and a reason
 * (a substring of *why). */
struct port_case {
	const char *in;
	const char *proto;
	int err; /* 0, -EINVAL, -ERANGE, or 1 for err_is_eai() */
	unsigned port;
	const char *why;
};

static const struct port_case port_cases[] = {
	{"0", NULL, 0, 0, NULL},
	{"1", NULL, 0, 1, NULL},
	{"80", "tcp", 0, 80, NULL},
	{"65535", NULL, 0, 65535, NULL},
	{"00080", NULL, 0, 80, NULL},
	{"http", "tcp", 0, 80, NULL},
	{"https", NULL, 0, 443, NULL},
	{"domain", "udp", 0, 53, NULL},
	{"ssh", "tcp", 0, 22, NULL},
	{"65536", NULL, -ERANGE, 0, "must be between 0 and 65535"},
	{"99999999999999999999999", NULL, -ERANGE, 0,
	 "must be between 0 and 65535"},
	{"-1", NULL, -ERANGE, 0, "must be between 0 and 65535"},
	{"-80", NULL, -ERANGE, 0, "must be between 0 and 65535"},
	{"", NULL, -EINVAL, 0, "empty port"},
	{"80x", NULL, -EINVAL, 0, "not a port number"},
	{"8 0", NULL, -EINVAL, 0, "not a port number"},
	{"ht tp", NULL, -EINVAL, 0, "not a port number or service name"},
	{"a;b", NULL, -EINVAL, 0, "not a port number or service name"},
	{"nosuchservice", NULL, 1, 0, "unknown service"},
	{"nosuchservice", "udp", 1, 0, "unknown service"},
};

Test(parse, ports)
{
	for (size_t i = 0; i < N(port_cases); i++) {
		const struct port_case *c = &port_cases[i];
		const char *why = NULL;
		uint16_t port = 12345;
		int r = parse_port(c->in, c->proto, &port, &why);

		if (c->err == 0) {
			cr_expect_eq(r, 0, "'%s': %d (%s)", c->in, r, why);
			cr_expect_eq(port, c->port, "'%s' -> %u", c->in, port);
			continue;
		}
		if (c->err == 1)
			cr_expect(err_is_eai(r) && err_to_eai(r) == EAI_SERVICE,
				  "'%s': %d is not EAI_SERVICE", c->in, r);
		else
			cr_expect_eq(r, c->err, "'%s': %d", c->in, r);
		cr_expect(why && strstr(why, c->why), "'%s': why '%s'", c->in,
			  why);
		cr_expect_eq(port, 12345, "'%s' wrote the port", c->in);
	}
}

Test(parse, port_null_is_empty)
{
	const char *why = NULL;
	uint16_t port;

	cr_assert_eq(parse_port(NULL, NULL, &port, &why), -EINVAL);
	cr_assert_str_eq(why, "empty port");
}

struct uint_case {
	const char *in;
	uint64_t min, max;
	int err;
	uint64_t v;
	const char *why;
};

static const struct uint_case uint_cases[] = {
	{"0", 0, 10, 0, 0, NULL},
	{"10", 0, 10, 0, 10, NULL},
	{"18446744073709551615", 0, UINT64_MAX, 0, UINT64_MAX, NULL},
	{"18446744073709551616", 0, UINT64_MAX, -ERANGE, 0, "too large"},
	{"11", 0, 10, -ERANGE, 0, "too large"},
	{"4", 5, 10, -ERANGE, 0, "too small"},
	{"", 0, 10, -EINVAL, 0, "empty number"},
	{"-1", 0, 10, -EINVAL, 0, "not a number"},
	{"+1", 0, 10, -EINVAL, 0, "not a number"},
	{"0x10", 0, 100, -EINVAL, 0, "not a number"},
	{"1 ", 0, 10, -EINVAL, 0, "not a number"},
};

Test(parse, uints)
{
	for (size_t i = 0; i < N(uint_cases); i++) {
		const struct uint_case *c = &uint_cases[i];
		const char *why = NULL;
		uint64_t v = 7;
		int r = parse_uint(c->in, c->min, c->max, &v, &why);

		cr_expect_eq(r, c->err, "'%s': %d", c->in, r);
		if (c->err)
			cr_expect(why && strstr(why, c->why), "'%s': why '%s'",
				  c->in, why);
		else
			cr_expect_eq(v, c->v, "'%s' -> %llu", c->in,
				     (unsigned long long)v);
	}
}

struct hostport_case {
	const char *in;
	int err;
	const char *host, *port, *why;
};

static const struct hostport_case hostport_cases[] = {
	{"127.0.0.1:80", 0, "127.0.0.1", "80", NULL},
	{"localhost:http", 0, "localhost", "http", NULL},
	{"example.com:8080", 0, "example.com", "8080", NULL},
	{"[::1]:80", 0, "::1", "80", NULL},
	{"[fe80::1%lo]:22", 0, "fe80::1%lo", "22", NULL},
	{"[::ffff:127.0.0.1]:443", 0, "::ffff:127.0.0.1", "443", NULL},
	/* The port is only split off here; parse_port judges it. */
	{"h:99999", 0, "h", "99999", NULL},
	{"::1:80", -EINVAL, NULL, NULL, "an IPv6 address needs brackets"},
	{"fe80::1:22", -EINVAL, NULL, NULL, "needs brackets"},
	{"[::1]80", -EINVAL, NULL, NULL, "expected [IPV6]:PORT"},
	{"[::1]", -EINVAL, NULL, NULL, "expected [IPV6]:PORT"},
	{"[::1:80", -EINVAL, NULL, NULL, "missing ']'"},
	{"[]:80", -EINVAL, NULL, NULL, "empty host"},
	{":80", -EINVAL, NULL, NULL, "empty host"},
	{"host:", -EINVAL, NULL, NULL, "empty port"},
	{"[::1]:", -EINVAL, NULL, NULL, "empty port"},
	{"host", -EINVAL, NULL, NULL, "expected HOST:PORT"},
	{"", -EINVAL, NULL, NULL, "expected HOST:PORT"},
};

Test(parse, hostport)
{
	for (size_t i = 0; i < N(hostport_cases); i++) {
		const struct hostport_case *c = &hostport_cases[i];
		char host[PARSE_HOST_MAX] = "", port[PARSE_PORT_MAX] = "";
		const char *why = NULL;
		int r = parse_hostport(c->in, host, port, &why);

		cr_expect_eq(r, c->err, "'%s': %d (%s)", c->in, r, why);
		if (c->err) {
			cr_expect(why && strstr(why, c->why), "'%s': why '%s'",
				  c->in, why);
			continue;
		}
		cr_expect_str_eq(host, c->host, "'%s'", c->in);
		cr_expect_str_eq(port, c->port, "'%s'", c->in);
	}
}

Test(parse, hostport_too_long)
{
	char in[PARSE_HOST_MAX + 16], host[PARSE_HOST_MAX],
		port[PARSE_PORT_MAX];
	const char *why = NULL;

	memset(in, 'a', PARSE_HOST_MAX);
	strcpy(in + PARSE_HOST_MAX, ":80");
	cr_assert_eq(parse_hostport(in, host, port, &why), -ENAMETOOLONG);
	cr_assert_str_eq(why, "host name too long");

	/* The longest host that fits is accepted. */
	strcpy(in + PARSE_HOST_MAX - 1, ":80");
	cr_assert_eq(parse_hostport(in, host, port, &why), 0);
	cr_assert_eq(strlen(host), PARSE_HOST_MAX - 1);

	char lp[PARSE_PORT_MAX + 8] = "h:";
	memset(lp + 2, '9', PARSE_PORT_MAX);
	lp[PARSE_PORT_MAX + 2] = '\0';
	cr_assert_eq(parse_hostport(lp, host, port, &why), -ENAMETOOLONG);
	cr_assert_str_eq(why, "port too long");
}

struct args_case {
	int argc;
	const char *argv[2];
	int ret;
	const char *host, *port, *why;
};

static const struct args_case args_cases[] = {
	{2, {"127.0.0.1", "80"}, 2, "127.0.0.1", "80", NULL},
	/* Two operands: a bare IPv6 host needs no brackets ... */
	{2, {"::1", "80"}, 2, "::1", "80", NULL},
	/* ... and brackets around it are removed. */
	{2, {"[::1]", "http"}, 2, "::1", "http", NULL},
	{1, {"[::1]:80"}, 1, "::1", "80", NULL},
	{1, {"localhost:8080"}, 1, "localhost", "8080", NULL},
	{1, {"::1:80"}, -EINVAL, NULL, NULL, "needs brackets"},
	{1, {"::1"}, -EINVAL, NULL, NULL, "needs brackets"},
	{1, {"localhost"}, -EINVAL, NULL, NULL, "expected HOST:PORT"},
	{2, {"", "80"}, -EINVAL, NULL, NULL, "empty host"},
	{2, {"[]", "80"}, -EINVAL, NULL, NULL, "empty host"},
	{2, {"localhost", ""}, -EINVAL, NULL, NULL, "empty port"},
	{0, {NULL}, -EINVAL, NULL, NULL, "missing address"},
};

Test(parse, address_args)
{
	for (size_t i = 0; i < N(args_cases); i++) {
		const struct args_case *c = &args_cases[i];
		char host[PARSE_HOST_MAX] = "", port[PARSE_PORT_MAX] = "";
		const char *why = NULL;
		int r = parse_address_args(c->argc, (char *const *)c->argv,
					   host, port, &why);

		cr_expect_eq(r, c->ret, "row %zu: %d (%s)", i, r, why);
		if (c->ret < 0) {
			cr_expect(why && strstr(why, c->why),
				  "row %zu: why '%s'", i, why);
			continue;
		}
		cr_expect_str_eq(host, c->host, "row %zu", i);
		cr_expect_str_eq(port, c->port, "row %zu", i);
	}
}

Test(parse, address_args_consumes_only_two)
{
	char *argv[] = {"127.0.0.1", "80", "extra"};
	char host[PARSE_HOST_MAX], port[PARSE_PORT_MAX];
	const char *why;

	cr_assert_eq(parse_address_args(3, argv, host, port, &why), 2);
	cr_assert_str_eq(host, "127.0.0.1");
	cr_assert_str_eq(port, "80");
}

Test(parse, unix_path)
{
	struct sockaddr_un sun;
	socklen_t len = 0;
	const char *why = NULL;

	cr_assert_eq(parse_unix_path("/tmp/sock", &sun, &len, &why), 0);
	cr_assert_eq(sun.sun_family, AF_UNIX);
	cr_assert_str_eq(sun.sun_path, "/tmp/sock");
	cr_assert_eq(len, offsetof(struct sockaddr_un, sun_path) + 10);

	cr_assert_eq(parse_unix_path("relative", &sun, &len, &why), 0);
	cr_assert_str_eq(sun.sun_path, "relative");
}

Test(parse, unix_abstract)
{
	struct sockaddr_un sun;
	socklen_t len = 0;
	const char *why = NULL;

	cr_assert_eq(parse_unix_path("@sockctl-test", &sun, &len, &why), 0);
	cr_assert_eq(sun.sun_path[0], '\0');
	cr_assert(!memcmp(sun.sun_path + 1, "sockctl-test", 12));
	/* No terminating NUL: the length says where the name ends. */
	cr_assert_eq(len, offsetof(struct sockaddr_un, sun_path) + 13);
}

Test(parse, unix_lengths)
{
	struct sockaddr_un sun;
	char path[200];
	socklen_t len;
	const char *why = NULL;

	/* 107 bytes plus the NUL fill sun_path; 108 do not fit. */
	memset(path, 'p', 107);
	path[107] = '\0';
	cr_assert_eq(parse_unix_path(path, &sun, &len, &why), 0);
	cr_assert_eq(len, sizeof(struct sockaddr_un));
	memset(path, 'p', 108);
	path[108] = '\0';
	cr_assert_eq(parse_unix_path(path, &sun, &len, &why), -ENAMETOOLONG);
	cr_assert(strstr(why, "path too long"), "%s", why);

	/* An abstract name has no NUL, but its leading NUL takes a byte. */
	path[0] = '@';
	memset(path + 1, 'a', 107);
	path[108] = '\0';
	cr_assert_eq(parse_unix_path(path, &sun, &len, &why), 0);
	cr_assert_eq(len, sizeof(struct sockaddr_un));
	path[108] = 'a';
	path[109] = '\0';
	cr_assert_eq(parse_unix_path(path, &sun, &len, &why), -ENAMETOOLONG);
	cr_assert(strstr(why, "abstract name too long"), "%s", why);

	why = NULL;
	cr_assert_eq(parse_unix_path("", &sun, &len, &why), -EINVAL);
	cr_assert_str_eq(why, "empty path");
	why = NULL;
	cr_assert_eq(parse_unix_path("@", &sun, &len, &why), -EINVAL);
	cr_assert(why && strstr(why, "empty abstract name"), "%s", why);
}

struct dur_case {
	const char *in;
	int err;
	double secs;
	const char *why;
};

static const struct dur_case dur_cases[] = {
	{"0", 0, 0, NULL},
	{"5", 0, 5, NULL},
	{"0.25", 0, 0.25, NULL},
	{".5", 0, 0.5, NULL},
	{"2.", 0, 2, NULL},
	{"1000000000", 0, 1e9, NULL},
	{"1000000001", -ERANGE, 0, "too large"},
	{"-1", -ERANGE, 0, "must not be negative"},
	{"-0.5", -ERANGE, 0, "must not be negative"},
	{"", -EINVAL, 0, "empty duration"},
	{".", -EINVAL, 0, "expected seconds"},
	{"inf", -EINVAL, 0, "expected seconds"},
	{"nan", -EINVAL, 0, "expected seconds"},
	{"1e3", -EINVAL, 0, "expected seconds"},
	{"0x10", -EINVAL, 0, "expected seconds"},
	{"1.2.3", -EINVAL, 0, "expected seconds"},
	{"5s", -EINVAL, 0, "expected seconds"},
	{" 5", -EINVAL, 0, "expected seconds"},
};

Test(parse, durations)
{
	for (size_t i = 0; i < N(dur_cases); i++) {
		const struct dur_case *c = &dur_cases[i];
		const char *why = NULL;
		double secs = -7;
		int r = parse_duration(c->in, &secs, &why);

		cr_expect_eq(r, c->err, "'%s': %d (%s)", c->in, r, why);
		if (c->err)
			cr_expect(why && strstr(why, c->why), "'%s': why '%s'",
				  c->in, why);
		else
			cr_expect_eq(secs, c->secs, "'%s' -> %g", c->in, secs);
	}
}

struct ms_case {
	const char *in;
	int64_t ms;
};

static const struct ms_case ms_cases[] = {
	{"0", 0},
	{"5", 5000},
	{"0.25", 250},
	{"0.001", 1},
	{"0.0001", 1},
	{"1.0005", 1001},
	{"0.1", 100},
	{"0.3", 300},
	{"1.001", 1001},
	{"2.675", 2675},
	{"1000000000", 1000000000000},
};

Test(parse, duration_ms)
{
	const char *why = NULL;
	int64_t ms;

	for (size_t i = 0; i < N(ms_cases); i++) {
		ms = -1;
		cr_expect_eq(parse_duration_ms(ms_cases[i].in, &ms, &why), 0);
		cr_expect_eq(ms, ms_cases[i].ms, "'%s' -> %lld ms",
			     ms_cases[i].in, (long long)ms);
	}
	cr_assert_eq(parse_duration_ms("-1", &ms, &why), -ERANGE);
	cr_assert_str_eq(why, "must not be negative");
	cr_assert_eq(parse_duration_ms("inf", &ms, &why), -EINVAL);
}

/* Every whole number of milliseconds written with three decimals comes
 * back exactly, never one more from binary rounding. */
Test(parse, duration_ms_exact_for_every_millisecond)
{
	for (int64_t want = 0; want <= 100000; want++) {
		char s[32];
		int64_t ms = -1;

		snprintf(s, sizeof(s), "%lld.%03lld", (long long)(want / 1000),
			 (long long)(want % 1000));
		cr_assert_eq(parse_duration_ms(s, &ms, NULL), 0);
		if (ms != want)
			cr_assert_fail("'%s' -> %lld ms", s, (long long)ms);
	}
}

struct size_case {
	const char *in;
	int err;
	uint64_t v;
	const char *why;
};

static const struct size_case size_cases[] = {
	{"0", 0, 0, NULL},
	{"512", 0, 512, NULL},
	{"64k", 0, 65536, NULL},
	{"64K", 0, 65536, NULL},
	{"1m", 0, 1048576, NULL},
	{"1M", 0, 1048576, NULL},
	{"1g", 0, 1073741824, NULL},
	{"3G", 0, 3221225472ULL, NULL},
	{"18446744073709551615", 0, UINT64_MAX, NULL},
	{"17179869183g", 0, 17179869183ULL << 30, NULL},
	{"17179869184g", -ERANGE, 0, "too large"},
	{"18014398509481984k", -ERANGE, 0, "too large"},
	{"18446744073709551616", -ERANGE, 0, "too large"},
	{"99999999999999999999999999999999999999", -ERANGE, 0, "too large"},
	{"", -EINVAL, 0, "empty size"},
	{"k", -EINVAL, 0, "expected a size"},
	{"1x", -EINVAL, 0, "expected a size"},
	{"1kb", -EINVAL, 0, "expected a size"},
	{"1t", -EINVAL, 0, "expected a size"},
	{"-1", -EINVAL, 0, "expected a size"},
	{"1.5k", -EINVAL, 0, "expected a size"},
	{"k1", -EINVAL, 0, "expected a size"},
};

Test(parse, sizes)
{
	for (size_t i = 0; i < N(size_cases); i++) {
		const struct size_case *c = &size_cases[i];
		const char *why = NULL;
		uint64_t v = 7;
		int r = parse_size(c->in, &v, &why);

		cr_expect_eq(r, c->err, "'%s': %d (%s)", c->in, r, why);
		if (c->err)
			cr_expect(why && strstr(why, c->why), "'%s': why '%s'",
				  c->in, why);
		else
			cr_expect_eq(v, c->v, "'%s' -> %llu", c->in,
				     (unsigned long long)v);
	}
}

struct esc_case {
	const char *in;
	const char *out; /* NULL for an error */
	size_t len;
	const char *why;
};

static const struct esc_case esc_cases[] = {
	{"plain", "plain", 5, NULL},
	{"", "", 0, NULL},
	{"a\\nb", "a\nb", 3, NULL},
	{"\\r\\n", "\r\n", 2, NULL},
	{"\\t", "\t", 1, NULL},
	{"x\\0y", "x\0y", 3, NULL},
	{"\\\\", "\\", 1, NULL},
	{"\\\\n", "\\n", 2, NULL},
	{"\\x41\\x7a", "Az", 2, NULL},
	{"\\xff\\x00\\xAb", "\xff\0\xab", 3, NULL},
	{"\\x414", "A4", 2, NULL},
	{"GET / HTTP/1.0\\r\\n\\r\\n", "GET / HTTP/1.0\r\n\r\n", 18, NULL},
	{"\\q", NULL, 0, "unknown escape"},
	{"\\a", NULL, 0, "unknown escape"},
	{"\\N", NULL, 0, "unknown escape"},
	{"\\\"", NULL, 0, "unknown escape"},
	{"abc\\", NULL, 0, "trailing backslash"},
	{"\\", NULL, 0, "trailing backslash"},
	{"\\x", NULL, 0, "\\x needs two hex digits"},
	{"\\x4", NULL, 0, "\\x needs two hex digits"},
	{"\\x4g", NULL, 0, "\\x needs two hex digits"},
	{"\\xg4", NULL, 0, "\\x needs two hex digits"},
};

Test(parse, escapes)
{
	for (size_t i = 0; i < N(esc_cases); i++) {
		const struct esc_case *c = &esc_cases[i];
		const char *why = NULL;
		char *buf = NULL;
		size_t len = 99;
		int r = parse_escapes(c->in, &buf, &len, &why);

		if (!c->out) {
			cr_expect_eq(r, -EINVAL, "'%s': %d", c->in, r);
			cr_expect(why && strstr(why, c->why), "'%s': why '%s'",
				  c->in, why);
			cr_expect_null(buf, "'%s' returned a buffer", c->in);
			continue;
		}
		cr_expect_eq(r, 0, "'%s': %d (%s)", c->in, r, why);
		cr_expect_eq(len, c->len, "'%s': length %zu", c->in, len);
		if (buf && len == c->len)
			cr_expect(!memcmp(buf, c->out, len) && buf[len] == '\0',
				  "'%s': wrong bytes", c->in);
		free(buf);
	}
}

struct cidr_case {
	const char *in;
	int err;
	int family;
	const char *net; /* the address with host bits cleared */
	unsigned prefix;
	const char *why;
};

static const struct cidr_case cidr_cases[] = {
	{"10.0.0.0/8", 0, AF_INET, "10.0.0.0", 8, NULL},
	{"10.1.2.3/8", 0, AF_INET, "10.0.0.0", 8, NULL},
	{"192.168.1.77/26", 0, AF_INET, "192.168.1.64", 26, NULL},
	{"127.0.0.1", 0, AF_INET, "127.0.0.1", 32, NULL},
	{"1.2.3.4/0", 0, AF_INET, "0.0.0.0", 0, NULL},
	{"1.2.3.4/32", 0, AF_INET, "1.2.3.4", 32, NULL},
	{"::1", 0, AF_INET6, "::1", 128, NULL},
	{"::1/128", 0, AF_INET6, "::1", 128, NULL},
	{"2001:db8:ffff::1/32", 0, AF_INET6, "2001:db8::", 32, NULL},
	{"fe80::abcd/10", 0, AF_INET6, "fe80::", 10, NULL},
	{"2001:db8::ff/121", 0, AF_INET6, "2001:db8::80", 121, NULL},
	{"::/0", 0, AF_INET6, "::", 0, NULL},
	{"10.0.0.0/33", -ERANGE, 0, NULL, 0, "between 0 and 32"},
	{"10.0.0.0/-1", -ERANGE, 0, NULL, 0, "between 0 and 32"},
	{"10.0.0.0/", -ERANGE, 0, NULL, 0, "between 0 and 32"},
	{"10.0.0.0/8x", -ERANGE, 0, NULL, 0, "between 0 and 32"},
	{"::/129", -ERANGE, 0, NULL, 0, "between 0 and 128"},
	{"/8", -EINVAL, 0, NULL, 0, "empty address"},
	{"", -EINVAL, 0, NULL, 0, "empty address"},
	{"10.0.0/8", -EINVAL, 0, NULL, 0, "not an IP address"},
	{"256.0.0.0/8", -EINVAL, 0, NULL, 0, "not an IP address"},
	{"localhost/8", -EINVAL, 0, NULL, 0, "not an IP address"},
	{"::g/64", -EINVAL, 0, NULL, 0, "not an IP address"},
	{"1111:2222:3333:4444:5555:6666:7777:8888:9999/64", -EINVAL, 0, NULL, 0,
	 "not an IP address"},
};

Test(parse, cidrs)
{
	for (size_t i = 0; i < N(cidr_cases); i++) {
		const struct cidr_case *c = &cidr_cases[i];
		const char *why = NULL;
		struct cidr cidr;
		char text[INET6_ADDRSTRLEN];
		int r = parse_cidr(c->in, &cidr, &why);

		cr_expect_eq(r, c->err, "'%s': %d (%s)", c->in, r, why);
		if (c->err) {
			cr_expect(why && strstr(why, c->why), "'%s': why '%s'",
				  c->in, why);
			continue;
		}
		cr_expect_eq(cidr.family, c->family, "'%s'", c->in);
		cr_expect_eq(cidr.prefix, c->prefix, "'%s'", c->in);
		inet_ntop(cidr.family, cidr.addr, text, sizeof(text));
		cr_expect_str_eq(text, c->net, "'%s'", c->in);
	}
}

static struct sockaddr_storage sa_of(const char *addr)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		cr_assert_eq(inet_pton(AF_INET6, addr, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		cr_assert_eq(inet_pton(AF_INET, addr, &s4->sin_addr), 1);
	}
	return ss;
}

struct match_case {
	const char *cidr, *addr;
	bool match;
};

static const struct match_case match_cases[] = {
	{"10.0.0.0/8", "10.255.1.2", true},
	{"10.0.0.0/8", "11.0.0.1", false},
	{"10.0.0.0/8", "9.255.255.255", false},
	{"192.168.1.64/26", "192.168.1.127", true},
	{"192.168.1.64/26", "192.168.1.128", false},
	{"192.168.1.64/26", "192.168.1.63", false},
	{"127.0.0.1", "127.0.0.1", true},
	{"127.0.0.1", "127.0.0.2", false},
	{"0.0.0.0/0", "203.0.113.9", true},
	/* An IPv4 rule covers the v4-mapped form a dual-stack socket sees. */
	{"127.0.0.0/8", "::ffff:127.0.0.1", true},
	{"10.0.0.0/8", "::ffff:10.9.8.7", true},
	{"10.0.0.0/8", "::ffff:11.0.0.1", false},
	{"0.0.0.0/0", "::ffff:1.2.3.4", true},
	/* ... but not other IPv6 addresses that merely end the same way. */
	{"0.0.0.0/0", "::1", false},
	{"0.0.0.0/0", "::10.0.0.1", false},
	{"10.0.0.0/8", "64:ff9b::a00:1", false},
	{"::1", "::1", true},
	{"::1", "::2", false},
	{"::1", "127.0.0.1", false},
	{"::/0", "127.0.0.1", false},
	{"::/0", "2001:db8::1", true},
	{"2001:db8::/32", "2001:db8:ffff::1", true},
	{"2001:db8::/32", "2001:db9::1", false},
	{"fe80::/10", "febf::1", true},
	{"fe80::/10", "fec0::1", false},
	{"2001:db8::80/121", "2001:db8::ff", true},
	{"2001:db8::80/121", "2001:db8::7f", false},
};

Test(parse, cidr_match)
{
	for (size_t i = 0; i < N(match_cases); i++) {
		const struct match_case *c = &match_cases[i];
		struct sockaddr_storage ss = sa_of(c->addr);
		struct cidr cidr;

		cr_assert_eq(parse_cidr(c->cidr, &cidr, NULL), 0, "%s",
			     c->cidr);
		cr_expect_eq(cidr_match(&cidr, (struct sockaddr *)&ss),
			     c->match, "%s in %s: expected %s", c->addr,
			     c->cidr, c->match ? "match" : "no match");
	}
}

Test(parse, cidr_match_other_family)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct cidr cidr;

	cr_assert_eq(parse_cidr("0.0.0.0/0", &cidr, NULL), 0);
	cr_assert(!cidr_match(&cidr, (struct sockaddr *)&sun));
}

struct bool_case {
	const char *in;
	int err;
	bool v;
};

static const struct bool_case bool_cases[] = {
	{"1", 0, true},		 {"on", 0, true},
	{"yes", 0, true},	 {"true", 0, true},
	{"ON", 0, true},	 {"True", 0, true},
	{"0", 0, false},	 {"off", 0, false},
	{"no", 0, false},	 {"false", 0, false},
	{"NO", 0, false},	 {"", -EINVAL, false},
	{"2", -EINVAL, false},	 {"y", -EINVAL, false},
	{"onn", -EINVAL, false}, {"enable", -EINVAL, false},
};

Test(parse, bools)
{
	for (size_t i = 0; i < N(bool_cases); i++) {
		const struct bool_case *c = &bool_cases[i];
		const char *why = NULL;
		bool v = !c->v;
		int r = parse_bool(c->in, &v, &why);

		cr_expect_eq(r, c->err, "'%s': %d", c->in, r);
		if (c->err)
			cr_expect(why && strstr(why, "expected on/off"),
				  "'%s': why '%s'", c->in, why);
		else
			cr_expect_eq(v, c->v, "'%s'", c->in);
	}
}

/* why may be NULL: callers that only want the error need not pass one. */
Test(parse, why_is_optional)
{
	uint16_t port;
	uint64_t v;
	double d;
	struct cidr c;
	char *buf;
	size_t len;

	cr_assert_lt(parse_port("70000", NULL, &port, NULL), 0);
	cr_assert_lt(parse_size("1q", &v, NULL), 0);
	cr_assert_lt(parse_duration("x", &d, NULL), 0);
	cr_assert_lt(parse_cidr("x/1", &c, NULL), 0);
	cr_assert_lt(parse_escapes("\\q", &buf, &len, NULL), 0);
}

/* ---- parse_port_list (connect -z) ---- */
#include <stdlib.h>
#include "parse.h"

Test(parse_port_list, lists_ranges_and_names)
{
	static const struct {
		const char *in;
		size_t n;
		uint16_t first, last;
	} ok[] = {
		{"22", 1, 22, 22},
		{"22,80,8000-8010", 13, 22, 8010},
		{"8000-8000", 1, 8000, 8000},
		{"http,443", 2, 80, 443},
		{"0-65535", 65536, 0, 65535},
	};
	static const char *const bad[] = {
		"",	",",	   "22,", ",22", "22,,80",
		"10-5", "1-70000", "x y", "-5",	 "0-65535,1",
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		uint16_t *v;
		size_t n;

		cr_assert_eq(parse_port_list(ok[i].in, &v, &n, NULL), 0, "%s",
			     ok[i].in);
		cr_expect_eq(n, ok[i].n, "%s", ok[i].in);
		cr_expect_eq(v[0], ok[i].first, "%s", ok[i].in);
		cr_expect_eq(v[n - 1], ok[i].last, "%s", ok[i].in);
		free(v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = NULL;
		uint16_t *v = NULL;
		size_t n;

		cr_expect_lt(parse_port_list(bad[i], &v, &n, &why), 0, "%s",
			     bad[i]);
		cr_expect(why, "%s: no reason", bad[i]);
	}
}
