/*
 * test_resolve.c - `sockctl resolve` against the C library as other tools
 * show it: Python's socket module (getaddrinfo, getnameinfo,
 * getservbyname/port, getprotobyname, inet_pton/ntop, htons/htonl) and
 * getent (ahosts, services, protocols), for text and --json output (the
 * JSON is read back with json.loads).
 *
 * No query may reach a real DNS server.  Forward lookups use only
 * `localhost` (in /etc/hosts) and numeric addresses.  Everything that could
 * fall through to DNS - names that do not resolve, reverse lookups, the
 * host's own name - runs in a private mount namespace whose resolv.conf
 * names 127.0.0.1 (where nothing answers) and whose nsswitch.conf says
 * "files dns"; when such a namespace cannot be made, those tests are
 * skipped, never run unprotected.  Other tests use the namespace too when
 * it is there.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define T 10000
#define MAXV 48

/*
 * The checker, python3 -c PY.  On stdin, a batch of records, each
 * MODE ARGS... FORMAT (separated by \x1f), \x1e, sockctl's output, \x1d.
 * For each it asks the socket module (and getent) the same question; it
 * prints how many records it read, and both answers of each that differ
 * (exit 1).  With arguments `error gai|gni ARGS...` it prints the
 * resolver's message for a query that must fail.  One python per test:
 * starting it is the slow part.
 */
static const char PY[] =
	"import sys, json, subprocess, socket as S\n"
	"FAM = {S.AF_INET: 'inet', S.AF_INET6: 'inet6'}\n"
	"TYP = {S.SOCK_STREAM: 'stream', S.SOCK_DGRAM: 'dgram', S.SOCK_RAW: "
	"'raw'}\n"
	"class Diff(Exception):\n"
	"    pass\n"
	"def check(want, got):\n"
	"    if want != got:\n"
	"        raise Diff('python %r, sockctl %r' % (want, got))\n"
	"def flags(s):\n"
	"    f = 0\n"
	"    for n in s.split('|'):\n"
	"        f |= getattr(S, n) if n != '0' else 0\n"
	"    return f\n"
	"def opt(s):\n"
	"    return None if s == '-' else s\n"
	"def popt(s):\n"
	"    return () if s == '-' else (s,)\n"
	"def getent(*a):\n"
	"    r = subprocess.run(['getent'] + list(a), capture_output=True,\n"
	"                       text=True)\n"
	"    return r.stdout.splitlines()\n"
	"def gai(name, serv, fam, typ, fl):\n"
	"    typ = 0 if typ == '0' else getattr(S, typ)\n"
	"    return S.getaddrinfo(opt(name), opt(serv), getattr(S, fam), typ, "
	"0,\n"
	"                         flags(fl))\n"
	"def text_rows(lines):\n"
	"    rows = []\n"
	"    for l in lines:\n"
	"        f, a, p, t, pr = l.split()\n"
	"        rows.append((f, a, int(p), t, S.getprotobyname(pr)))\n"
	"    return rows\n"
	"def one(mode, args, fmt, data):\n"
	"    if mode == 'gai':\n"
	"        res = gai(*args)\n"
	"        want = [(FAM[f], sa[0], sa[1], TYP[t], p)\n"
	"                for f, t, p, c, sa in res]\n"
	"        canon = res[0][3] if flags(args[4]) & S.AI_CANONNAME else "
	"None\n"
	"        if fmt == 'json':\n"
	"            objs = json.loads(data)\n"
	"            check([canon] * len(objs), [o['canonname'] for o in "
	"objs])\n"
	"            got = [(o['family'], o['address'], o['port'], "
	"o['socktype'],\n"
	"                    S.getprotobyname(o['protocol'])) for o in objs]\n"
	"        else:\n"
	"            lines = data.splitlines()\n"
	"            if canon is not None:\n"
	"                check('canonical ' + canon, lines.pop(0))\n"
	"            got = text_rows(lines)\n"
	"        check(want, got)\n"
	"    elif mode == 'getent':\n"
	"        lines = getent(*args)\n"
	"        check(True, len(lines) > 0)\n"
	"        want = [(l.split()[0], l.split()[1].lower()) for l in lines]\n"
	"        got = data.splitlines()\n"
	"        if got and got[0].startswith('canonical '):\n"
	"            check('canonical ' + lines[0].split()[2], got.pop(0))\n"
	"        check(want, [(r[1], r[3]) for r in text_rows(got)])\n"
	"    elif mode == 'gni':\n"
	"        addr, port, fl = args\n"
	"        host, serv = S.getnameinfo((addr, int(opt(port) or 0)), "
	"flags(fl))\n"
	"        if port == '-':\n"
	"            serv = None\n"
	"        if fmt == 'json':\n"
	"            check({'host': host, 'service': serv}, json.loads(data))\n"
	"        else:\n"
	"            tail = '' if serv is None else ' ' + serv\n"
	"            check(host + tail + '\\n', data)\n"
	"    elif mode == 'serv':\n"
	"        q, proto = args\n"
	"        if fmt == 'json':\n"
	"            o = json.loads(data)\n"
	"            words = [o['name'], '%d/%s' % (o['port'], "
	"o['protocol'])]\n"
	"            words += o['aliases']\n"
	"        else:\n"
	"            words = data.split()\n"
	"            check(1, data.count('\\n'))\n"
	"        port, pr = words[1].split('/')\n"
	"        port = int(port)\n"
	"        if q.isdigit():\n"
	"            check(int(q), port)\n"
	"            check(S.getservbyport(port, *popt(proto)), words[0])\n"
	"        else:\n"
	"            check(S.getservbyname(q, *popt(proto)), port)\n"
	"        check(S.getservbyport(port, pr), words[0])\n"
	"        if opt(proto):\n"
	"            check(proto, pr)\n"
	"        key = q if proto == '-' else q + '/' + proto\n"
	"        check(getent('services', key)[0].split(), words)\n"
	"    elif mode == 'proto':\n"
	"        q = args[0]\n"
	"        ent = getent('protocols', q)[0].split()\n"
	"        if fmt == 'json':\n"
	"            o = json.loads(data)\n"
	"            name, num = o['name'], o['number']\n"
	"            check(ent[2:], o['aliases'])\n"
	"        else:\n"
	"            name, num = data.split()\n"
	"            num = int(num)\n"
	"        check(int(q) if q.isdigit() else S.getprotobyname(q), num)\n"
	"        check(num, S.getprotobyname(name))\n"
	"        check(ent[:2], [name, str(num)])\n"
	"    elif mode == 'pton':\n"
	"        a = args[0]\n"
	"        fam = S.AF_INET6 if ':' in a else S.AF_INET\n"
	"        hx = S.inet_pton(fam, a).hex()\n"
	"        if fmt == 'json':\n"
	"            check({'family': FAM[fam], 'hex': hx}, json.loads(data))\n"
	"        else:\n"
	"            check('%s %s\\n' % (FAM[fam], hx), data)\n"
	"    elif mode == 'ntop':\n"
	"        h = args[0]\n"
	"        fam = S.AF_INET if len(h) == 8 else S.AF_INET6\n"
	"        a = S.inet_ntop(fam, bytes.fromhex(h))\n"
	"        if fmt == 'json':\n"
	"            check({'family': FAM[fam], 'address': a}, "
	"json.loads(data))\n"
	"        else:\n"
	"            check(a + '\\n', data)\n"
	"    elif mode == 'byteorder':\n"
	"        n = int(args[0])\n"
	"        hs = S.htons(n) if n < 65536 else None\n"
	"        hl = S.htonl(n)\n"
	"        if fmt == 'json':\n"
	"            check({'value': n, 'htons': hs, 'htonl': hl}, "
	"json.loads(data))\n"
	"        else:\n"
	"            want = 'value %d %#x\\n' % (n, n)\n"
	"            if hs is not None:\n"
	"                want += 'htons %d %#x\\n' % (hs, hs)\n"
	"            want += 'htonl %d %#x\\n' % (hl, hl)\n"
	"            check(want, data)\n"
	"    elif mode == 'hostname':\n"
	"        if fmt == 'json':\n"
	"            check({'hostname': S.gethostname()}, json.loads(data))\n"
	"        else:\n"
	"            check('hostname %s\\n' % S.gethostname(), data)\n"
	"    else:\n"
	"        raise Diff('unknown mode ' + mode)\n"
	"if sys.argv[1:2] == ['error']:\n"
	"    mode, a = sys.argv[2], sys.argv[3:]\n"
	"    try:\n"
	"        if mode == 'gai':\n"
	"            gai(*a)\n"
	"        else:\n"
	"            S.getnameinfo((a[0], int(a[1])), flags(a[2]))\n"
	"    except S.gaierror as e:\n"
	"        print(e.strerror)\n"
	"        sys.exit(0)\n"
	"    sys.exit('resolved: ' + ' '.join(a))\n"
	"bad = 0\n"
	"recs = sys.stdin.buffer.read().decode().split('\\x1d')[:-1]\n"
	"for rec in recs:\n"
	"    head, data = rec.split('\\x1e', 1)\n"
	"    f = head.split('\\x1f')\n"
	"    try:\n"
	"        one(f[0], f[1:-1], f[-1], data)\n"
	"    except Exception as e:\n"
	"        bad += 1\n"
	"        what = ' '.join(f)\n"
	"        sys.stderr.write('%s: %s: %s\\n' % (what, type(e).__name__, "
	"e))\n"
	"print(len(recs))\n"
	"sys.exit(1 if bad else 0)\n";

/*
 * Debian's own python3 when it is there: a python3 earlier in PATH may be
 * a wrapper (pyenv's shim) that takes ten times as long to start.  Either
 * asks the same C library.
 */
static const char *python(void)
{
	return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3"
						     : "python3";
}

/* The private namespace: resolv.conf -> 127.0.0.1, hosts from files and
 * DNS only (no nss-resolve or nscd that would ask outside it). */
static const char NS_SCRIPT[] =
	"mount --bind \"$1\" /etc/resolv.conf && "
	"mount --bind \"$2\" /etc/nsswitch.conf && "
	"if [ -d /run/nscd ]; then mount -t tmpfs none /run/nscd; fi && "
	"shift 2 && exec \"$@\"";

static char *write_tmp(const char *text)
{
	char *path = strdup("/tmp/sockctl-resolve-XXXXXX");
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

/* argv run in the private namespace. */
static int ns_run(struct run *r, const char *stdin_data,
		  const char *const argv[])
{
	char *resolv = write_tmp("nameserver 127.0.0.1\n");
	char *nss = write_tmp("hosts: files dns\nservices: files\n"
			      "protocols: files\nnetworks: files\n");
	const char *v[MAXV + 8] = {"unshare", "-m", "sh",   "-c",
				   NS_SCRIPT, "sh", resolv, nss};
	int n = 8, status;

	for (int i = 0; argv[i]; i++) {
		cr_assert_lt(n, MAXV + 7);
		v[n++] = argv[i];
	}
	v[n] = NULL;
	status = run_argv(r, stdin_data, T, v);
	unlink(resolv);
	unlink(nss);
	free(resolv);
	free(nss);
	return status;
}

/* Can this test process make the namespace?  (Asked once.) */
static bool have_ns(void)
{
	static int state;
	const char *const cat[] = {"cat", "/etc/resolv.conf", NULL};
	struct run r;

	if (!state) {
		ns_run(&r, NULL, cat);
		state = r.status == 0 &&
					!strcmp(r.out, "nameserver 127.0.0.1\n")
				? 1
				: -1;
		run_free(&r);
	}
	return state > 0;
}

static void need_ns(void)
{
	if (!have_ns())
		cr_skip_test("cannot make a private mount namespace "
			     "(unshare -m needs CAP_SYS_ADMIN); skipped rather "
			     "than risk a real DNS query");
}

/* Run argv in the namespace when there is one, else as it is. */
static int hrun(struct run *r, const char *stdin_data, const char *const argv[])
{
	if (have_ns())
		return ns_run(r, stdin_data, argv);
	return run_argv(r, stdin_data, T, argv);
}

/* Collect a NULL-terminated list of strings after a first few fixed ones. */
static void collect(const char **v, int n, va_list ap)
{
	const char *a;

	while ((a = va_arg(ap, const char *))) {
		cr_assert_lt(n, MAXV - 1);
		v[n++] = a;
	}
	v[n] = NULL;
}

/* sockctl resolve ARGS... */
static int resolve(struct run *r, ...)
{
	const char *v[MAXV] = {sockctl_path(), "resolve"};
	va_list ap;

	va_start(ap, r);
	collect(v, 2, ap);
	va_end(ap);
	return hrun(r, NULL, v);
}

/* Checks gathered for one run of the checker. */
struct checks {
	char *buf;
	size_t len, cap;
	int n;
};

static void add(struct checks *c, const char *s, size_t n)
{
	if (c->len + n + 1 > c->cap) {
		c->cap = (c->len + n + 1) * 2;
		c->buf = realloc(c->buf, c->cap);
		cr_assert_not_null(c->buf);
	}
	memcpy(c->buf + c->len, s, n);
	c->len += n;
}

/* Check sockctl's output OUT against the query MODE ARGS... FORMAT. */
static void check(struct checks *c, const char *out, ...)
{
	const char *a;
	va_list ap;
	bool first = true;

	va_start(ap, out);
	while ((a = va_arg(ap, const char *))) {
		if (!first)
			add(c, "\x1f", 1);
		add(c, a, strlen(a));
		first = false;
	}
	va_end(ap);
	add(c, "\x1e", 1);
	add(c, out, strlen(out));
	add(c, "\x1d", 1);
	c->n++;
}

static void check_all(struct checks *c)
{
	const char *v[] = {python(), "-c", PY, NULL};
	struct run p;

	cr_assert_gt(c->n, 0);
	add(c, "", 1); /* run_argv wants a string */
	hrun(&p, c->buf, v);
	cr_expect_eq(p.status, 0, "sockctl differs from the C library:\n%s",
		     p.err);
	cr_expect_eq(atoi(p.out), c->n, "python checked %s of %d", p.out, c->n);
	run_free(&p);
	free(c->buf);
	memset(c, 0, sizeof(*c));
}

/* The resolver's message for a query that fails (gai or gni ARGS...). */
static char *py_error(const char *mode, ...)
{
	const char *v[MAXV] = {python(), "-c", PY, "error", mode};
	struct run p;
	char *msg;
	va_list ap;

	va_start(ap, mode);
	collect(v, 5, ap);
	va_end(ap);
	hrun(&p, NULL, v);
	cr_assert_eq(p.status, 0, "python: %s", p.err);
	p.out[strcspn(p.out, "\n")] = '\0';
	msg = strdup(p.out);
	run_free(&p);
	return msg;
}

/*
 * Forward lookups: sockctl's flags and the same query for Python
 * (NAME SERVICE FAMILY TYPE FLAGS), each in text and in JSON.
 */
struct gai_case {
	const char *args[8];
	const char *q[5];
};

static const struct gai_case gai_cases[] = {
	{{"localhost"}, {"localhost", "-", "AF_UNSPEC", "0", "0"}},
	{{"localhost", "http"}, {"localhost", "http", "AF_UNSPEC", "0", "0"}},
	{{"localhost", "80"}, {"localhost", "80", "AF_UNSPEC", "0", "0"}},
	{{"localhost", "domain"},
	 {"localhost", "domain", "AF_UNSPEC", "0", "0"}},
	{{"127.0.0.1", "http"}, {"127.0.0.1", "http", "AF_UNSPEC", "0", "0"}},
	{{"127.0.0.1", "53"}, {"127.0.0.1", "53", "AF_UNSPEC", "0", "0"}},
	{{"::1"}, {"::1", "-", "AF_UNSPEC", "0", "0"}},
	{{"::1", "80"}, {"::1", "80", "AF_UNSPEC", "0", "0"}},
	{{"::1", "domain"}, {"::1", "domain", "AF_UNSPEC", "0", "0"}},
	{{"-t", "stream", "::1", "http"},
	 {"::1", "http", "AF_UNSPEC", "SOCK_STREAM", "0"}},
	{{"-t", "dgram", "localhost", "domain"},
	 {"localhost", "domain", "AF_UNSPEC", "SOCK_DGRAM", "0"}},
	{{"-t", "raw", "127.0.0.1"},
	 {"127.0.0.1", "-", "AF_UNSPEC", "SOCK_RAW", "0"}},
	{{"-4", "localhost", "domain"},
	 {"localhost", "domain", "AF_INET", "0", "0"}},
	{{"-6", "::1", "80"}, {"::1", "80", "AF_INET6", "0", "0"}},
	{{"-6", "--v4mapped", "localhost", "http"},
	 {"localhost", "http", "AF_INET6", "0", "AI_V4MAPPED"}},
	{{"-6", "--v4mapped", "--all", "localhost", "80"},
	 {"localhost", "80", "AF_INET6", "0", "AI_V4MAPPED|AI_ALL"}},
	{{"-6", "--v4mapped", "127.0.0.1", "domain"},
	 {"127.0.0.1", "domain", "AF_INET6", "0", "AI_V4MAPPED"}},
	{{"--canonname", "localhost", "http"},
	 {"localhost", "http", "AF_UNSPEC", "0", "AI_CANONNAME"}},
	{{"--canonname", "-t", "dgram", "::1", "53"},
	 {"::1", "53", "AF_UNSPEC", "SOCK_DGRAM", "AI_CANONNAME"}},
	{{"--numeric-host", "127.0.0.1", "80"},
	 {"127.0.0.1", "80", "AF_UNSPEC", "0", "AI_NUMERICHOST"}},
	{{"--numeric-host", "--numeric-serv", "::1", "8080"},
	 {"::1", "8080", "AF_UNSPEC", "0", "AI_NUMERICHOST|AI_NUMERICSERV"}},
	{{"--passive", "::", "80"},
	 {"::", "80", "AF_UNSPEC", "0", "AI_PASSIVE"}},
	{{"--passive", "-t", "stream", "0.0.0.0", "http"},
	 {"0.0.0.0", "http", "AF_UNSPEC", "SOCK_STREAM", "AI_PASSIVE"}},
	{{"--addrconfig", "localhost", "http"},
	 {"localhost", "http", "AF_UNSPEC", "0", "AI_ADDRCONFIG"}},
	{{"--v4mapped", "--addrconfig", "--canonname", "localhost"},
	 {"localhost", "-", "AF_UNSPEC", "0",
	  "AI_V4MAPPED|AI_ADDRCONFIG|AI_CANONNAME"}},
};

Test(resolve, forward_equals_python_getaddrinfo)
{
	struct checks ck = {0};

	for (size_t i = 0; i < sizeof(gai_cases) / sizeof(gai_cases[0]); i++) {
		const struct gai_case *c = &gai_cases[i];
		const char *v[MAXV] = {sockctl_path(), "resolve"};
		int n = 2;
		struct run r;

		for (int j = 0; c->args[j]; j++)
			v[n++] = c->args[j];
		for (int json = 0; json < 2; json++) {
			if (json)
				v[n++] = "--json";
			v[n] = NULL;
			cr_assert_eq(hrun(&r, NULL, v), 0, "%s %s: %s",
				     c->args[0], c->args[1], r.err);
			cr_expect_str_empty(r.err);
			cr_expect_neq(r.olen, 0, "no output");
			check(&ck, r.out, "gai", c->q[0], c->q[1], c->q[2],
			      c->q[3], c->q[4], json ? "json" : "text", NULL);
			run_free(&r);
		}
	}
	check_all(&ck);
}

/* The examples of SPEC section 6, word for word. */
Test(resolve, spec_examples)
{
	struct run r;

	cr_assert_eq(resolve(&r, "localhost", "http", NULL), 0);
	cr_assert_str_eq(r.out, "inet 127.0.0.1 80 stream tcp\n");
	run_free(&r);
	cr_assert_eq(
		resolve(&r, "--json", "-t", "stream", "localhost", "80", NULL),
		0);
	cr_assert_str_eq(r.out, "[{\"family\":\"inet\",\"address\":"
				"\"127.0.0.1\",\"port\":80,\"socktype\":"
				"\"stream\",\"protocol\":\"tcp\","
				"\"canonname\":null}]\n");
	run_free(&r);
	cr_assert_eq(resolve(&r, "::1", NULL), 0);
	cr_assert_str_eq(r.out, "inet6 ::1 0 stream tcp\n"
				"inet6 ::1 0 dgram udp\n"
				"inet6 ::1 0 raw ip\n");
	run_free(&r);
	cr_assert_eq(resolve(&r, "--service", "http", NULL), 0);
	cr_assert(!strncmp(r.out, "http 80/tcp", 11), "%s", r.out);
	run_free(&r);
	cr_assert_eq(resolve(&r, "--service", "53/udp", NULL), 0);
	cr_assert_str_eq(r.out, "domain 53/udp\n");
	run_free(&r);
	cr_assert_eq(resolve(&r, "--protocol", "icmp", NULL), 0);
	cr_assert_str_eq(r.out, "icmp 1\n");
	run_free(&r);
	cr_assert_eq(resolve(&r, "--protocol", "6", NULL), 0);
	cr_assert_str_eq(r.out, "tcp 6\n");
	run_free(&r);
	cr_assert_eq(resolve(&r, "--pton", "192.168.1.1", NULL), 0);
	cr_assert_str_eq(r.out, "inet c0a80101\n");
	run_free(&r);
	cr_assert_eq(resolve(&r, "--pton", "::1", NULL), 0);
	cr_assert_str_eq(r.out, "inet6 00000000000000000000000000000001\n");
	run_free(&r);
	cr_assert_eq(resolve(&r, "--ntop", "c0a80101", NULL), 0);
	cr_assert_str_eq(r.out, "192.168.1.1\n");
	run_free(&r);
	/* SPEC's decimal for htonl (3093430272) is a typo: 0xb8220000 is
	 * 3089235968, and the hex is what matters. */
	cr_assert_eq(resolve(&r, "--byteorder", "8888", NULL), 0);
	cr_assert_str_eq(r.out, "value 8888 0x22b8\n"
				"htons 47138 0xb822\n"
				"htonl 3089235968 0xb8220000\n");
	cr_assert_str_empty(r.err);
	run_free(&r);
}

Test(resolve, spec_reverse_example)
{
	struct run r;

	need_ns();
	cr_assert_eq(resolve(&r, "-r", "127.0.0.1", "80", NULL), 0);
	cr_assert_str_eq(r.out, "localhost http\n");
	run_free(&r);
}

/* Same addresses in the same order as getent's, with getent's flags
 * (AI_V4MAPPED | AI_ADDRCONFIG | AI_CANONNAME), and also with none. */
Test(resolve, forward_equals_getent_ahosts)
{
	struct checks ck = {0};
	static const char *const cases[][6] = {
		{"ahosts", "localhost", "--v4mapped", "--addrconfig",
		 "--canonname", NULL},
		{"ahosts", "localhost", NULL},
		{"ahostsv4", "localhost", "-4", "--v4mapped", "--addrconfig",
		 "--canonname"},
		{"ahostsv6", "localhost", "-6", "--v4mapped", "--addrconfig",
		 "--canonname"},
		{"ahosts", "127.0.0.1", "--canonname", NULL},
		{"ahosts", "::1", "--canonname", NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *v[MAXV] = {sockctl_path(), "resolve"};
		int n = 2;
		struct run r;

		for (int j = 2; j < 6 && cases[i][j]; j++)
			v[n++] = cases[i][j];
		v[n++] = cases[i][1];
		v[n] = NULL;
		cr_assert_eq(hrun(&r, NULL, v), 0, "%s", r.err);
		check(&ck, r.out, "getent", cases[i][0], cases[i][1], "text",
		      NULL);
		run_free(&r);
	}
	check_all(&ck);
}

/*
 * Reverse lookups: ADDR PORT FLAGS for Python, and sockctl's own flags.
 * In the namespace, since what is not in /etc/hosts is asked of DNS:
 * there, of 127.0.0.1, where nothing answers.  Rows marked `must` have
 * their answer in /etc/hosts or need none (numeric); the others may fail,
 * and then sockctl must fail as the C library does, with its message.
 */
struct gni_case {
	const char *addr, *port;
	const char *opts[4];
	const char *flags;
	bool must;
};

static const struct gni_case gni_cases[] = {
	{"127.0.0.1", "80", {NULL}, "0", true},
	{"127.0.0.1", "53", {"--dgram"}, "NI_DGRAM", true},
	{"127.0.0.1", "53", {NULL}, "0", true},
	{"127.0.0.1", "80", {"--numeric-host"}, "NI_NUMERICHOST", true},
	{"127.0.0.1", "80", {"--numeric-serv"}, "NI_NUMERICSERV", true},
	{"127.0.0.1", "22", {"--nofqdn"}, "NI_NOFQDN", true},
	{"127.0.0.1", "443", {"--namereqd"}, "NI_NAMEREQD", true},
	{"127.0.0.1", "12345", {NULL}, "0", true},
	{"127.0.0.1", "0", {NULL}, "0", true},
	{"127.0.0.1", "-", {NULL}, "0", true},
	{"127.0.0.1", "-", {"-4", "--namereqd"}, "NI_NAMEREQD", true},
	{"::1", "80", {"--numeric-host"}, "NI_NUMERICHOST", true},
	{"::1",
	 "53",
	 {"--numeric-host", "--dgram"},
	 "NI_NUMERICHOST|NI_DGRAM",
	 true},
	{"::1",
	 "8",
	 {"-6", "--numeric-host", "--numeric-serv"},
	 "NI_NUMERICHOST|NI_NUMERICSERV",
	 true},
	{"::1", "-", {"--numeric-host"}, "NI_NUMERICHOST", true},
	{"::ffff:127.0.0.1", "80", {"--numeric-host"}, "NI_NUMERICHOST", true},
	{"::1", "80", {NULL}, "0", false},
	{"::1", "-", {"--nofqdn"}, "NI_NOFQDN", false},
	{"::ffff:127.0.0.1", "80", {NULL}, "0", false},
	{"::1", "80", {"--namereqd"}, "NI_NAMEREQD", false},
};

static void gni_compare(struct checks *ck, const struct gni_case *c, bool json)
{
	const char *v[MAXV] = {sockctl_path(), "resolve", "-r"};
	int n = 3;
	struct run r;

	for (int j = 0; j < 4 && c->opts[j]; j++)
		v[n++] = c->opts[j];
	v[n++] = c->addr;
	if (strcmp(c->port, "-"))
		v[n++] = c->port;
	if (json)
		v[n++] = "--json";
	v[n] = NULL;
	hrun(&r, NULL, v);
	if (c->must)
		cr_assert_eq(r.status, 0, "-r %s %s: %s", c->addr, c->port,
			     r.err);
	if (r.status == 0) {
		check(ck, r.out, "gni", c->addr, c->port, c->flags,
		      json ? "json" : "text", NULL);
	} else {
		const char *port = strcmp(c->port, "-") ? c->port : "0";
		char *msg = py_error("gni", c->addr, port, c->flags, NULL);
		char want[256];

		cr_assert_eq(r.status, 3, "-r %s %s: %s", c->addr, c->port,
			     r.err);
		snprintf(want, sizeof(want), "sockctl: resolve: %s: %s\n",
			 c->addr, msg);
		cr_assert_str_eq(r.err, want);
		cr_assert_str_empty(r.out);
		free(msg);
	}
	run_free(&r);
}

Test(resolve, reverse_equals_python_getnameinfo)
{
	struct checks ck = {0};
	need_ns();
	for (size_t i = 0; i < sizeof(gni_cases) / sizeof(gni_cases[0]); i++) {
		gni_compare(&ck, &gni_cases[i], false);
		gni_compare(&ck, &gni_cases[i], true);
	}
	check_all(&ck);
}

/* A PORT may be a service name; an unknown one does not resolve (3). */
Test(resolve, reverse_port_by_name)
{
	struct run r;

	need_ns();
	cr_assert_eq(
		resolve(&r, "-r", "--numeric-host", "127.0.0.1", "http", NULL),
		0);
	cr_assert_str_eq(r.out, "127.0.0.1 http\n");
	run_free(&r);
	cr_assert_eq(resolve(&r, "-r", "--numeric-host", "--numeric-serv",
			     "::1", "domain", NULL),
		     0);
	cr_assert_str_eq(r.out, "::1 53\n");
	run_free(&r);
	cr_assert_eq(resolve(&r, "-r", "127.0.0.1", "nosuchservice", NULL), 3);
	cr_assert_str_eq(r.err,
			 "sockctl: resolve: nosuchservice: unknown service\n");
	cr_assert_str_empty(r.out);
	run_free(&r);
	cr_assert_eq(resolve(&r, "-r", "127.0.0.1", "65536", NULL), 2);
	cr_assert(strstr(r.err, "invalid port '65536'"), "%s", r.err);
	run_free(&r);
}

/* ::1 has no name here; --namereqd makes that an error for certain. */
Test(resolve, reverse_namereqd_without_name)
{
	struct run r;

	need_ns();
	cr_assert_eq(resolve(&r, "-r", "--namereqd", "::1", "80", NULL), 3,
		     "%s", r.err);
	cr_assert_str_empty(r.out);
	cr_assert(!strncmp(r.err, "sockctl: resolve: ::1: ", 23), "%s", r.err);
	cr_assert_eq(count_lines(r.err), 1);
	run_free(&r);
}

/* A name that does not resolve: the resolver's message, exit 3. */
Test(resolve, name_does_not_resolve)
{
	const char *forms[][3] = {
		{"nosuch.invalid", NULL},
		{"--json", "nosuch.invalid", NULL},
		{"-4", "nosuch.invalid", NULL},
	};
	char *msg, want[256];
	struct run r;

	need_ns();
	msg = py_error("gai", "nosuch.invalid", "-", "AF_UNSPEC", "0", "0",
		       NULL);
	snprintf(want, sizeof(want), "sockctl: resolve: nosuch.invalid: %s\n",
		 msg);
	cr_assert(!strcmp(msg, "Name or service not known") ||
			  !strcmp(msg, "Temporary failure in name resolution"),
		  "%s", msg);
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		cr_assert_eq(resolve(&r, forms[i][0], forms[i][1], NULL), 3,
			     "%s", r.err);
		cr_assert_str_eq(r.err, want);
		cr_assert_str_empty(r.out);
		run_free(&r);
	}
	free(msg);
}

/* Failures that need no DNS at all, with the C library's own words. */
Test(resolve, lookup_errors_equal_python)
{
	struct {
		const char *args[4];
		const char *q[5];
	} cases[] = {
		{{"--numeric-host", "localhost"},
		 {"localhost", "-", "AF_UNSPEC", "0", "AI_NUMERICHOST"}},
		{{"localhost", "nosuchservice"},
		 {"localhost", "nosuchservice", "AF_UNSPEC", "0", "0"}},
		{{"--numeric-serv", "localhost", "http"},
		 {"localhost", "http", "AF_UNSPEC", "0", "AI_NUMERICSERV"}},
		{{"-t", "raw", "localhost", "http"},
		 {"localhost", "http", "AF_UNSPEC", "SOCK_RAW", "0"}},
		{{"-4", "::1"}, {"::1", "-", "AF_INET", "0", "0"}},
	};
	struct run r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *v[MAXV] = {sockctl_path(), "resolve"};
		int n = 2;
		char *msg, want[256];

		for (int j = 0; j < 4 && cases[i].args[j]; j++)
			v[n++] = cases[i].args[j];
		v[n] = NULL;
		msg = py_error("gai", cases[i].q[0], cases[i].q[1],
			       cases[i].q[2], cases[i].q[3], cases[i].q[4],
			       NULL);
		cr_assert_eq(hrun(&r, NULL, v), 3, "%s", r.err);
		snprintf(want, sizeof(want), "sockctl: resolve: %s: %s\n",
			 cases[i].q[0], msg);
		cr_expect_str_eq(r.err, want);
		cr_expect_str_empty(r.out);
		run_free(&r);
		free(msg);
	}
}

Test(resolve, services_equal_python_and_getent)
{
	struct checks ck = {0};
	static const char *const cases[][2] = {
		{"http", "-"},	   {"http", "tcp"},   {"www", "-"},
		{"domain", "udp"}, {"domain", "tcp"}, {"ssh", "-"},
		{"ntp", "udp"},	   {"80", "-"},	      {"53", "udp"},
		{"22", "tcp"},	   {"443", "-"},      {"25", "tcp"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char q[64];
		struct run r;

		snprintf(q, sizeof(q), "%s%s%s", cases[i][0],
			 strcmp(cases[i][1], "-") ? "/" : "",
			 strcmp(cases[i][1], "-") ? cases[i][1] : "");
		for (int json = 0; json < 2; json++) {
			cr_assert_eq(resolve(&r, "--service", q,
					     json ? "--json" : NULL, NULL),
				     0, "%s: %s", q, r.err);
			check(&ck, r.out, "serv", cases[i][0], cases[i][1],
			      json ? "json" : "text", NULL);
			run_free(&r);
		}
	}
	check_all(&ck);
}

Test(resolve, protocols_equal_python_and_getent)
{
	struct checks ck = {0};
	static const char *const cases[] = {"icmp", "tcp", "udp", "ipv6-icmp",
					    "ip",   "6",   "17",  "58",
					    "0",    "TCP"};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run r;

		for (int json = 0; json < 2; json++) {
			cr_assert_eq(resolve(&r, "--protocol", cases[i],
					     json ? "--json" : NULL, NULL),
				     0, "%s: %s", cases[i], r.err);
			check(&ck, r.out, "proto", cases[i],
			      json ? "json" : "text", NULL);
			run_free(&r);
		}
	}
	check_all(&ck);
}

Test(resolve, pton_ntop_equal_python)
{
	struct checks ck = {0};
	static const char *const addrs[] = {"192.168.1.1",
					    "127.0.0.1",
					    "0.0.0.0",
					    "255.255.255.255",
					    "::1",
					    "::",
					    "::ffff:1.2.3.4",
					    "2001:db8::1",
					    "fe80::abcd:1:2:3",
					    "2001:DB8:0:0:1::",
					    "1:2:3:4:5:6:7:8"};
	static const char *const hexes[] = {"c0a80101",
					    "7F000001",
					    "00000000",
					    "ffffffff",
					    "00000000000000000000000000000001",
					    "20010db8000000000000000000000001",
					    "00000000000000000000ffff01020304",
					    "fe800000000000000000000000000001",
					    "0001000200030004000500060007000a"};
	struct run r;

	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++)
		for (int json = 0; json < 2; json++) {
			cr_assert_eq(resolve(&r, "--pton", addrs[i],
					     json ? "--json" : NULL, NULL),
				     0, "%s: %s", addrs[i], r.err);
			check(&ck, r.out, "pton", addrs[i],
			      json ? "json" : "text", NULL);
			run_free(&r);
		}
	for (size_t i = 0; i < sizeof(hexes) / sizeof(hexes[0]); i++)
		for (int json = 0; json < 2; json++) {
			cr_assert_eq(resolve(&r, "--ntop", hexes[i],
					     json ? "--json" : NULL, NULL),
				     0, "%s: %s", hexes[i], r.err);
			check(&ck, r.out, "ntop", hexes[i],
			      json ? "json" : "text", NULL);
			run_free(&r);
		}
	check_all(&ck);
}

Test(resolve, byteorder_equals_python)
{
	struct checks ck = {0};
	static const char *const cases[] = {
		"8888", "0", "1", "65535", "65536", "4294967295", "305419896"};
	struct run r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		for (int json = 0; json < 2; json++) {
			cr_assert_eq(resolve(&r, "--byteorder", cases[i],
					     json ? "--json" : NULL, NULL),
				     0, "%s: %s", cases[i], r.err);
			check(&ck, r.out, "byteorder", cases[i],
			      json ? "json" : "text", NULL);
			run_free(&r);
		}
	check_all(&ck);
}

Test(resolve, hostname_and_fqdn)
{
	struct checks ck = {0};
	const char *const fqdn[] = {"hostname", "--fqdn", NULL};
	struct run r, h;
	char want[512];

	need_ns();
	for (int json = 0; json < 2; json++) {
		cr_assert_eq(
			resolve(&r, "--hostname", json ? "--json" : NULL, NULL),
			0);
		check(&ck, r.out, "hostname", json ? "json" : "text", NULL);
		run_free(&r);
	}
	/* --fqdn is what `hostname --fqdn` prints (getaddrinfo's canonical
	 * name of the host name), or the plain name when that fails. */
	cr_assert_eq(resolve(&r, "--fqdn", NULL), 0);
	hrun(&h, NULL, fqdn);
	if (h.status == 0) {
		snprintf(want, sizeof(want), "fqdn %s", h.out);
		cr_assert_str_eq(r.out, want);
	} else {
		cr_assert(!strncmp(r.out, "fqdn ", 5), "%s", r.out);
	}
	run_free(&h);
	run_free(&r);
	cr_assert_eq(resolve(&r, "--fqdn", "--json", NULL), 0);
	cr_assert(!strncmp(r.out, "{\"fqdn\":\"", 9), "%s", r.out);
	run_free(&r);
	check_all(&ck);
}

/* JSON forms that the checker does not cover, field by field. */
Test(resolve, json_objects)
{
	struct run r;

	cr_assert_eq(resolve(&r, "--json", "--service", "53/udp", NULL), 0);
	cr_assert_str_eq(r.out, "{\"name\":\"domain\",\"port\":53,"
				"\"protocol\":\"udp\",\"aliases\":[]}\n");
	run_free(&r);
	cr_assert_eq(resolve(&r, "--json", "--protocol", "icmp", NULL), 0);
	cr_assert_str_eq(r.out, "{\"name\":\"icmp\",\"number\":1,"
				"\"aliases\":[\"ICMP\"]}\n");
	run_free(&r);
	cr_assert_eq(resolve(&r, "--json", "--byteorder", "70000", NULL), 0);
	cr_assert_str_eq(r.out, "{\"value\":70000,\"htons\":null,"
				"\"htonl\":1880162560}\n");
	run_free(&r);
}

/* Usage errors: exit 2, the reason, and the Try line. */
struct usage_case {
	const char *args[6];
	const char *why;
};

static const struct usage_case usage_cases[] = {
	{{"--pton", "1.2.3"}, "invalid address '1.2.3'"},
	{{"--pton", "1.2.3.256"}, "invalid address"},
	{{"--pton", "127.1"}, "invalid address"},
	{{"--pton", "::g"}, "invalid address"},
	{{"--pton", ""}, "invalid address"},
	{{"--pton", "localhost"}, "invalid address"},
	{{"--ntop", "c0a801"}, "expected 8 (IPv4) or 32 (IPv6) hex digits"},
	{{"--ntop", "c0a8010101"}, "expected 8"},
	{{"--ntop", "zz000000"}, "not a hex digit 'z'"},
	{{"--ntop", "0xc0a801"}, "not a hex digit 'x'"},
	{{"--ntop", ""}, "expected 8"},
	{{"-r", "localhost"}, "invalid address 'localhost'"},
	{{"-r", "1.2.3.4.5", "80"}, "invalid address"},
	{{"-r", "::1::2"}, "invalid address"},
	{{"-r", "-4", "::1"}, "not an IPv4 address"},
	{{"-r", "-6", "127.0.0.1"}, "not an IPv6 address"},
	{{"-r", "127.0.0.1", "99999"}, "invalid port '99999'"},
	{{"-r", "127.0.0.1", "-1"}, "unknown option '-1'"},
	{{"-r"}, "missing ADDR"},
	{{"-r", "127.0.0.1", "80", "x"}, "too many arguments"},
	{{NULL}, "missing NAME"},
	{{""}, "empty name"},
	{{"localhost", "http", "x"}, "too many arguments"},
	{{"-t", "seqpacket", "localhost"}, "invalid type 'seqpacket'"},
	{{"--byteorder", "4294967296"}, "invalid number '4294967296'"},
	{{"--byteorder", "-1"}, "invalid number"},
	{{"--byteorder", "0x10"}, "invalid number"},
	{{"--service", "http/sctp"}, "invalid protocol 'sctp'"},
	{{"--service", "70000"}, "invalid port '70000'"},
	{{"--service", ""}, "invalid service"},
	{{"--protocol", "256"}, "between 0 and 255"},
	{{"--protocol", ""}, "invalid protocol"},
	{{"--service", "http", "localhost"}, "too many arguments"},
	{{"--service", "http", "--protocol", "tcp"}, "only one kind of lookup"},
	{{"-r", "--pton", "::1"}, "only one kind of lookup"},
	{{"--namereqd", "localhost"},
	 "option '--namereqd' does not apply to a forward lookup"},
	{{"--dgram", "localhost", "53"}, "'--dgram' does not apply"},
	{{"-r", "--canonname", "127.0.0.1"},
	 "option '--canonname' does not apply to -r"},
	{{"-r", "-t", "stream", "127.0.0.1"}, "'--type' does not apply to -r"},
	{{"-4", "--service", "http"},
	 "option '-4' does not apply to --service"},
	{{"--numeric-host", "--pton", "::1"}, "does not apply to --pton"},
	{{"--passive", "--hostname"}, "does not apply to --hostname"},
	{{"--bogus", "localhost"}, "unknown option '--bogus'"},
	{{"-t"}, "needs a value"},
};

Test(resolve, usage_errors)
{
	for (size_t i = 0; i < sizeof(usage_cases) / sizeof(usage_cases[0]);
	     i++) {
		const struct usage_case *c = &usage_cases[i];
		const char *v[MAXV] = {sockctl_path(), "resolve"};
		int n = 2;
		struct run r;

		for (int j = 0; j < 6 && c->args[j]; j++)
			v[n++] = c->args[j];
		v[n] = NULL;
		cr_expect_eq(run_argv(&r, NULL, T, v), 2, "row %zu: %s", i,
			     r.err);
		cr_expect(strstr(r.err, c->why), "row %zu: %s", i, r.err);
		cr_expect(!strncmp(r.err, "sockctl: resolve: ", 18),
			  "row %zu: %s", i, r.err);
		cr_expect(strstr(r.err, "\nTry 'sockctl resolve --help'.\n"),
			  "row %zu: %s", i, r.err);
		cr_expect_eq(count_lines(r.err), 2, "row %zu: %s", i, r.err);
		cr_expect_str_empty(r.out, "row %zu", i);
		run_free(&r);
	}
}

/* Unknown services and protocols do not resolve: exit 3, one line. */
Test(resolve, unknown_service_and_protocol)
{
	static const char *const cases[][3] = {
		{"--service", "nosuchservice",
		 "sockctl: resolve: nosuchservice: unknown service\n"},
		{"--service", "nosuchservice/udp",
		 "sockctl: resolve: nosuchservice/udp: unknown service\n"},
		{"--service", "9999/tcp",
		 "sockctl: resolve: 9999/tcp: unknown service\n"},
		{"--protocol", "nosuchproto",
		 "sockctl: resolve: nosuchproto: unknown protocol\n"},
		{"--protocol", "254",
		 "sockctl: resolve: 254: unknown protocol\n"},
	};
	struct run r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_expect_eq(resolve(&r, cases[i][0], cases[i][1], NULL), 3,
			     "%s %s", cases[i][0], cases[i][1]);
		cr_expect_str_eq(r.err, cases[i][2]);
		cr_expect_str_empty(r.out);
		run_free(&r);
	}
}

/* stdout carries only data: a full disk is an error, not silence. */
Test(resolve, write_error_is_reported)
{
	const char *const v[] = {"sh", "-c",
				 "exec \"$0\" resolve localhost "
				 "> /dev/full",
				 sockctl_path(), NULL};
	struct run r;

	cr_assert_eq(run_argv(&r, NULL, T, v), 1, "%s", r.err);
	cr_assert(strstr(r.err, "write error"), "%s", r.err);
	run_free(&r);
}
