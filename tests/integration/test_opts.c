/*
 * test_opts.c - `sockctl opts`: what `get` prints for each socket kind is
 * what Python's getsockopt reads on a fresh socket of the same kind on
 * this same kernel (option numbers taken from Python, not from sockctl);
 * `set` reports what Python reads back after the same setsockopt; names,
 * values and kernel refusals give the exit statuses of SPEC section 7.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define T 10000

/*
 * Reads `sockctl opts list` lines on stdin and prints, for a fresh socket
 * of the kind in argv[1], what `opts get` should print.  Python's own
 * constants name the options; the few it lacks are the Linux uapi
 * numbers.
 */
static const char py_get[] =
	"import socket, struct, sys, os\n"
	"S = socket\n"
	"kinds = {'tcp': (S.AF_INET, S.SOCK_STREAM),\n"
	"         'udp': (S.AF_INET, S.SOCK_DGRAM),\n"
	"         'tcp6': (S.AF_INET6, S.SOCK_STREAM),\n"
	"         'udp6': (S.AF_INET6, S.SOCK_DGRAM),\n"
	"         'unix': (S.AF_UNIX, S.SOCK_STREAM),\n"
	"         'unix-dgram': (S.AF_UNIX, S.SOCK_DGRAM)}\n"
	"levels = {'socket': S.SOL_SOCKET, 'ip': S.IPPROTO_IP,\n"
	"          'ipv6': S.IPPROTO_IPV6, 'tcp': S.IPPROTO_TCP,\n"
	"          'udp': S.IPPROTO_UDP}\n"
	"uapi = {'SO_BUSY_POLL': 46, 'SO_PEEK_OFF': 42, 'SO_RXQ_OVFL': 40,\n"
	"        'SO_TIMESTAMP': 29, 'SO_TIMESTAMPNS': 35, 'SO_ZEROCOPY': 60,\n"
	"        'SO_PASSSEC': 34, 'TCP_FASTOPEN_CONNECT': 30, 'TCP_INQ': 36,\n"
	"        'UDP_CORK': 1, 'UDP_GRO': 104, 'UDP_SEGMENT': 103,\n"
	"        'IP_FREEBIND': 15, 'IP_MTU_DISCOVER': 10, 'IP_MTU': 14,\n"
	"        'IP_MULTICAST_ALL': 49, 'IP_PKTINFO': 8, 'IP_RECVERR': 11,\n"
	"        'IP_RECVTTL': 12, 'IPV6_MTU': 24, 'IPV6_MTU_DISCOVER': 23,\n"
	"        'IPV6_RECVERR': 25}\n"
	"timeval = ('SO_RCVTIMEO', 'SO_SNDTIMEO')\n"
	"msec = ('TCP_USER_TIMEOUT',)\n"
	"def secs(us):\n"
	"    return ('%.6f' if us % 1000 else '%.3f') % (us / 1e6)\n"
	"def value(s, name, level, typ):\n"
	"    opt = getattr(S, name, None)\n"
	"    if opt is None:\n"
	"        opt = uapi[name]\n"
	"    if typ == 'linger':\n"
	"        on, t = struct.unpack('ii', s.getsockopt(level, opt, 8))\n"
	"        return 'on:%d' % t if on else 'off'\n"
	"    if typ == 'string':\n"
	"        return s.getsockopt(level, opt, "
	"63).split(b'\\0')[0].decode()\n"
	"    if typ == 'seconds' and name in timeval:\n"
	"        sec, us = struct.unpack('ll', s.getsockopt(level, opt, 16))\n"
	"        return secs(sec * 1000000 + us)\n"
	"    v = s.getsockopt(level, opt)\n"
	"    if typ == 'seconds':\n"
	"        return secs(v * (1000 if name in msec else 1000000))\n"
	"    return str(v)\n"
	"s = S.socket(*kinds[sys.argv[1]])\n"
	"for line in sys.stdin:\n"
	"    name, level, typ = line.split()[:3]\n"
	"    try:\n"
	"        v = value(s, name, levels[level], typ)\n"
	"    except OSError as e:\n"
	"        v = 'unavailable (%s)' % os.strerror(e.errno)\n"
	"    print('%s = %s' % (name, v))\n";

static void compare_get_with_python(const char *kind)
{
	char flag[32];
	struct run list, get, py;
	const char *pyargv[] = {"python3", "-c", py_get, kind, NULL};

	snprintf(flag, sizeof(flag), "--%s", kind);
	cr_assert_eq(run_sockctl(&list, NULL, T, "opts", "list", flag, NULL),
		     0);
	cr_assert_gt(count_lines(list.out), 10, "%s", list.out);
	cr_assert_eq(run_sockctl(&get, NULL, T, "opts", "get", flag, NULL), 0,
		     "%s", get.err);
	cr_assert_eq(run_argv(&py, list.out, T, pyargv), 0, "%s", py.err);
	cr_assert_eq(count_lines(get.out), count_lines(list.out));
	cr_assert_str_eq(get.out, py.out, "opts get %s differs from Python",
			 flag);
	cr_assert_str_empty(get.err);
	run_free(&list);
	run_free(&get);
	run_free(&py);
}

Test(opts, get_tcp_matches_python)
{
	compare_get_with_python("tcp");
}

Test(opts, get_udp_matches_python)
{
	compare_get_with_python("udp");
}

Test(opts, get_tcp6_matches_python)
{
	compare_get_with_python("tcp6");
}

Test(opts, get_udp6_matches_python)
{
	compare_get_with_python("udp6");
}

Test(opts, get_unix_matches_python)
{
	compare_get_with_python("unix");
}

Test(opts, get_unix_dgram_matches_python)
{
	compare_get_with_python("unix-dgram");
}

Test(opts, get_defaults_to_tcp_and_shows_spec_format)
{
	struct run a, b;

	cr_assert_eq(run_sockctl(&a, NULL, T, "opts", "get", NULL), 0);
	cr_assert_eq(run_sockctl(&b, NULL, T, "opts", "get", "--tcp", NULL), 0);
	cr_assert_str_eq(a.out, b.out);
	cr_assert(strstr(a.out, "\nSO_TYPE = 1\n"), "%s", a.out);
	cr_assert(strstr(a.out, "\nSO_LINGER = off\n"));
	cr_assert(strstr(a.out, "\nSO_RCVTIMEO = 0.000\n"));
	cr_assert(strstr(a.out, "\nSO_KEEPALIVE = 0\n"));
	cr_assert_null(strstr(a.out, "UDP_CORK"));
	cr_assert_null(strstr(a.out, "IPV6_"));
	run_free(&a);
	run_free(&b);
}

Test(opts, get_names_in_order_any_case_and_prefix)
{
	struct run r;

	cr_assert_eq(run_sockctl(&r, NULL, T, "opts", "get", "--udp", "Type",
				 "so_domain", "CORK", "so-Protocol", NULL),
		     0);
	cr_assert_str_eq(r.out, "SO_TYPE = 2\nSO_DOMAIN = 2\nUDP_CORK = 0\n"
				"SO_PROTOCOL = 17\n");
	run_free(&r);
	cr_assert_eq(run_sockctl(&r, NULL, T, "opts", "get", "cork", NULL), 0);
	cr_assert_str_eq(r.out, "TCP_CORK = 0\n");
	run_free(&r);
}

/* What Python reads back after setsockopt(SO_RCVBUF, 65536). */
static const char py_rcvbuf[] =
	"import socket, sys\n"
	"f = {'tcp': socket.AF_INET, 'unix': socket.AF_UNIX}[sys.argv[1]]\n"
	"s = socket.socket(f, socket.SOCK_STREAM)\n"
	"s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)\n"
	"print('SO_RCVBUF = %d (asked 65536)' %\n"
	"      s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))\n";

static void compare_rcvbuf(const char *kind)
{
	char flag[32];
	struct run r, py;
	const char *pyargv[] = {"python3", "-c", py_rcvbuf, kind, NULL};

	snprintf(flag, sizeof(flag), "--%s", kind);
	cr_assert_eq(run_sockctl(&r, NULL, T, "opts", "set", flag,
				 "SO_RCVBUF=65536", NULL),
		     0, "%s", r.err);
	cr_assert_eq(run_argv(&py, NULL, T, pyargv), 0, "%s", py.err);
	cr_assert_str_eq(r.out, py.out);
	run_free(&r);
	run_free(&py);
}

Test(opts, set_rcvbuf_matches_python)
{
	compare_rcvbuf("tcp");
	compare_rcvbuf("unix");
}

/* Several types at once, as Python sets and reads them back. */
static const char py_set_many[] =
	"import socket, struct\n"
	"S = socket\n"
	"s = S.socket(S.AF_INET6, S.SOCK_STREAM)\n"
	"s.setsockopt(S.SOL_SOCKET, S.SO_SNDBUF, 10000)\n"
	"print('SO_SNDBUF = %d (asked 10000)' %\n"
	"      s.getsockopt(S.SOL_SOCKET, S.SO_SNDBUF))\n"
	"s.setsockopt(S.SOL_SOCKET, S.SO_LINGER, struct.pack('ii', 1, 7))\n"
	"on, t = struct.unpack('ii', s.getsockopt(S.SOL_SOCKET, S.SO_LINGER, "
	"8))\n"
	"print('SO_LINGER = %s (asked on:7)' % ('on:%d' % t if on else "
	"'off'))\n"
	"s.setsockopt(S.SOL_SOCKET, S.SO_SNDTIMEO, struct.pack('ll', 2, "
	"250000))\n"
	"sec, us = struct.unpack('ll', s.getsockopt(S.SOL_SOCKET, "
	"S.SO_SNDTIMEO, 16))\n"
	"print('SO_SNDTIMEO = %.3f (asked 2.250)' % (sec + us / 1e6))\n"
	"s.setsockopt(S.IPPROTO_TCP, S.TCP_KEEPIDLE, 30)\n"
	"print('TCP_KEEPIDLE = %.3f (asked 30.000)' %\n"
	"      s.getsockopt(S.IPPROTO_TCP, S.TCP_KEEPIDLE))\n"
	"s.setsockopt(S.IPPROTO_IPV6, S.IPV6_V6ONLY, 1)\n"
	"print('IPV6_V6ONLY = %d (asked 1)' %\n"
	"      s.getsockopt(S.IPPROTO_IPV6, S.IPV6_V6ONLY))\n"
	"s.setsockopt(S.IPPROTO_TCP, S.TCP_CONGESTION, b'reno')\n"
	"c = s.getsockopt(S.IPPROTO_TCP, S.TCP_CONGESTION, 16)\n"
	"print('TCP_CONGESTION = %s (asked reno)' % "
	"c.split(b'\\0')[0].decode())\n";

Test(opts, set_several_types_matches_python)
{
	struct run r, py;
	const char *pyargv[] = {"python3", "-c", py_set_many, NULL};

	cr_assert_eq(run_sockctl(&r, NULL, T, "opts", "set", "--tcp6",
				 "sndbuf=10000", "linger=on:7",
				 "SO_SNDTIMEO=2.25", "keepidle=30",
				 "v6only=yes", "congestion=reno", NULL),
		     0, "%s", r.err);
	cr_assert_eq(run_argv(&py, NULL, T, pyargv), 0, "%s", py.err);
	cr_assert_str_eq(r.out, py.out);
	cr_assert_str_empty(r.err);
	run_free(&r);
	run_free(&py);
}

/* Checks the JSON of `opts get --udp --json` against getsockopt. */
static const char py_json[] =
	"import json, socket, sys\n"
	"S = socket\n"
	"d = json.load(sys.stdin)\n"
	"s = S.socket(S.AF_INET, S.SOCK_DGRAM)\n"
	"o = d['options']\n"
	"assert d['kind'] == 'udp', d\n"
	"assert o['SO_RCVBUF'] == s.getsockopt(S.SOL_SOCKET, S.SO_RCVBUF)\n"
	"assert o['SO_TYPE'] == S.SOCK_DGRAM\n"
	"assert o['IP_TTL'] == s.getsockopt(S.IPPROTO_IP, S.IP_TTL)\n"
	"assert o['SO_RCVTIMEO'] == 0 and type(o['SO_RCVTIMEO']) is float\n"
	"assert o['SO_BINDTODEVICE'] == ''\n"
	"assert all(type(v) in (int, float, str) for v in o.values())\n"
	"assert 'unavailable' in d\n"
	"print(len(o) + len(d['unavailable']))\n";

Test(opts, get_json_numbers_are_numbers)
{
	struct run r, py, l;
	const char *pyargv[] = {"python3", "-c", py_json, NULL};
	char want[32];

	cr_assert_eq(run_sockctl(&r, NULL, T, "opts", "get", "--udp", "--json",
				 NULL),
		     0);
	cr_assert_eq(count_lines(r.out), 1);
	cr_assert_eq(run_argv(&py, r.out, T, pyargv), 0, "%s\n%s", py.err,
		     r.out);
	cr_assert_eq(run_sockctl(&l, NULL, T, "opts", "list", "--udp", NULL),
		     0);
	snprintf(want, sizeof(want), "%zu\n", count_lines(l.out));
	cr_assert_str_eq(py.out, want);
	run_free(&r);
	run_free(&py);
	run_free(&l);
}

static const char py_json_set[] =
	"import json, sys\n"
	"d = json.load(sys.stdin)['options']\n"
	"assert d['SO_RCVBUF']['asked'] == 65536, d\n"
	"assert type(d['SO_RCVBUF']['value']) is int\n"
	"assert d['SO_LINGER'] == {'asked': {'on': True, 'seconds': 3},\n"
	"                          'value': {'on': True, 'seconds': 3}}, d\n"
	"assert d['TCP_CONGESTION']['value'] == 'cubic', d\n"
	"print('ok')\n";

Test(opts, set_json)
{
	struct run r, py;
	const char *pyargv[] = {"python3", "-c", py_json_set, NULL};

	cr_assert_eq(run_sockctl(&r, NULL, T, "opts", "set", "--json",
				 "rcvbuf=64k", "linger=on:3",
				 "congestion=cubic", NULL),
		     0, "%s", r.err);
	cr_assert_eq(run_argv(&py, r.out, T, pyargv), 0, "%s\n%s", py.err,
		     r.out);
	cr_assert_str_eq(py.out, "ok\n");
	run_free(&r);
	run_free(&py);
}

Test(opts, list_covers_spec_with_levels_and_types)
{
	static const char *const spec[] = {
		"SO_REUSEADDR socket bool",
		"SO_LINGER socket linger",
		"SO_RCVBUF socket bytes",
		"SO_RCVTIMEO socket seconds",
		"SO_BINDTODEVICE socket string",
		"SO_ERROR socket read-only",
		"TCP_NODELAY tcp bool",
		"TCP_CONGESTION tcp string",
		"TCP_USER_TIMEOUT tcp seconds",
		"UDP_CORK udp bool",
		"IP_TTL ip int",
		"IP_MULTICAST_LOOP ip bool",
		"IPV6_V6ONLY ipv6 bool",
		"IPV6_MULTICAST_HOPS ipv6 int",
	};
	struct run r, lv, j;
	const char *pyargv[] = {
		"python3", "-c",
		"import json,sys; print(len(json.load(sys.stdin)))", NULL};
	struct run py;
	char want[32];

	cr_assert_eq(run_sockctl(&r, NULL, T, "opts", NULL), 0);
	for (size_t i = 0; i < sizeof(spec) / sizeof(spec[0]); i++) {
		char name[32], level[16], type[16], line[96];

		sscanf(spec[i], "%31s %15s %15s", name, level, type);
		snprintf(line, sizeof(line), "\n%-24s %-6s %-9s ", name, level,
			 type);
		cr_assert(strstr(r.out, line), "no '%s' in list", spec[i]);
	}
	cr_assert_eq(run_sockctl(&lv, NULL, T, "opts", "list", "--level",
				 "ipv6", NULL),
		     0);
	for (char *s = strtok(lv.out, "\n"); s; s = strtok(NULL, "\n"))
		cr_assert(!strncmp(s, "IPV6_", 5), "%s", s);
	cr_assert_eq(run_sockctl(&j, NULL, T, "opts", "list", "--json", NULL),
		     0);
	cr_assert_eq(run_argv(&py, j.out, T, pyargv), 0);
	snprintf(want, sizeof(want), "%zu\n", count_lines(r.out));
	cr_assert_str_eq(py.out, want);
	run_free(&r);
	run_free(&lv);
	run_free(&j);
	run_free(&py);
}

static void usage_error(const char *want, const char *a, const char *b,
			const char *c)
{
	struct run r;

	cr_assert_eq(run_sockctl(&r, NULL, T, "opts", a, b, c, NULL), 2,
		     "opts %s %s %s: %s", a, b ? b : "", c ? c : "", r.err);
	cr_assert(strstr(r.err, want), "want '%s' in:\n%s", want, r.err);
	cr_assert(strstr(r.err, "Try 'sockctl opts --help'."));
	cr_assert_str_empty(r.out);
	run_free(&r);
}

Test(opts, bad_names_are_usage_errors_listing_names)
{
	usage_error("sockctl: opts: unknown socket option 'nodelya' (did you "
		    "mean TCP_NODELAY?)\n",
		    "get", "nodelya", NULL);
	usage_error("unknown socket option 'rcvbuff' (did you mean SO_RCVBUF?)",
		    "set", "rcvbuff=1", NULL);
	usage_error("ambiguous socket option 'recverr': IP_RECVERR or "
		    "IPV6_RECVERR",
		    "get", "--tcp6", "recverr");
	usage_error("TCP_NODELAY does not apply to udp sockets", "set", "--udp",
		    "nodelay=1");
	usage_error("(see 'sockctl opts list')", "get", "qqqq", NULL);
}

Test(opts, bad_values_say_what_was_expected)
{
	usage_error("invalid value 'abc' for IP_TTL: expected an integer",
		    "set", "ttl=abc", NULL);
	usage_error("invalid value 'maybe' for TCP_NODELAY: expected on, off",
		    "set", "nodelay=maybe", NULL);
	usage_error("for SO_LINGER: expected off or on:SECS", "set", "linger=5",
		    NULL);
	usage_error("for SO_RCVTIMEO: expected seconds", "set",
		    "rcvtimeo=later", NULL);
	usage_error("for SO_SNDBUF: expected a size in bytes", "set",
		    "sndbuf=lots", NULL);
	usage_error("SO_TYPE is read-only", "set", "SO_TYPE=2", NULL);
	usage_error("expected NAME=VALUE, not 'nodelay'", "set", "nodelay",
		    NULL);
	/* Nothing is set when any argument is wrong. */
	usage_error("expected an integer", "set", "nodelay=1", "ttl=x");
}

Test(opts, bad_usage)
{
	usage_error("unknown subcommand 'show'", "show", NULL, NULL);
	usage_error("invalid level 'sctp'", "list", "--level", "sctp");
	usage_error("only one socket kind", "get", "--tcp", "--udp");
	usage_error("missing NAME=VALUE", "set", NULL, NULL);
	usage_error("too many arguments", "list", "x", NULL);
	usage_error("unknown option '--nosuch'", "--nosuch", NULL, NULL);
}

Test(opts, kernel_refusal_is_exit_1_with_its_reason)
{
	struct run r;

	cr_assert_eq(run_sockctl(&r, NULL, T, "opts", "set", "rcvbuf=8k",
				 "ttl=0", "nodelay=1", NULL),
		     1);
	cr_assert_str_eq(r.err, "sockctl: opts: IP_TTL=0: Invalid argument\n");
	/* What was set before the refusal is reported; nothing after. */
	cr_assert(!strncmp(r.out, "SO_RCVBUF = ", 12), "%s", r.out);
	cr_assert_eq(count_lines(r.out), 1);
	run_free(&r);
	/* ENOENT here is the kernel's "no such algorithm": still 1. */
	cr_assert_eq(run_sockctl(&r, NULL, T, "opts", "set",
				 "congestion=no-such-algorithm", NULL),
		     1);
	cr_assert_str_eq(r.err, "sockctl: opts: "
				"TCP_CONGESTION=no-such-algorithm: No such "
				"file or directory\n");
	run_free(&r);
}

Test(opts, unavailable_by_name_is_exit_1)
{
	struct run r;

	/* IP_MTU exists only on a connected socket. */
	cr_assert_eq(
		run_sockctl(&r, NULL, T, "opts", "get", "type", "ip_mtu", NULL),
		1);
	cr_assert_str_eq(r.out, "SO_TYPE = 1\nIP_MTU = unavailable "
				"(Transport endpoint is not connected)\n");
	cr_assert_str_eq(r.err, "sockctl: opts: IP_MTU: Transport endpoint is "
				"not connected\n");
	run_free(&r);
}
