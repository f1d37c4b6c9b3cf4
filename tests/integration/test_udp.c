/*
 * test_udp.c - `sockctl udp-listen` and `sockctl udp-send` against real
 * peers: Python UDP servers and clients in the tutorials' style
 * (socket/bind/recvfrom/sendto), socat and nc -u, Unix datagram sockets,
 * multicast on the loopback interface, and each other.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define T 10000

/*
 * A UDP server as the tutorials write it: bind, then recvfrom/sendto
 * forever.  argv: HOST MODE.  It prints `PORT n`, then `GOT len repr
 * port` per datagram.  Modes: echo, delayS (wait S seconds, then echo),
 * odd (answer only the 1st, 3rd, ...), once (answer the first only), len
 * (answer with the length), addr (answer with the sender's address), ttl
 * (answer with the TTL the datagram arrived with; Python lacks the
 * IP_RECVTTL name, so it is Linux's number 12), binary (answer with
 * bytes that are not UTF-8), broadcast (bound to every address).
 */
static const char SERVER[] =
	"import socket, sys, time\n"
	"host, mode = sys.argv[1], sys.argv[2]\n"
	"fam = socket.AF_INET6 if ':' in host else socket.AF_INET\n"
	"s = socket.socket(fam, socket.SOCK_DGRAM)\n"
	"if mode == 'ttl':\n"
	"    s.setsockopt(socket.IPPROTO_IP, 12, 1)  # IP_RECVTTL\n"
	"s.bind(('0.0.0.0' if mode == 'broadcast' else host, 0))\n"
	"print('PORT', s.getsockname()[1])\n"
	"n = 0\n"
	"while True:\n"
	"    d, anc, fl, a = s.recvmsg(70000, 64)\n"
	"    n += 1\n"
	"    print('GOT', len(d), repr(d[:40]), a[1])\n"
	"    if mode == 'echo' or mode == 'broadcast': s.sendto(d, a)\n"
	"    elif mode.startswith('delay'):\n"
	"        time.sleep(float(mode[5:])); s.sendto(d, a)\n"
	"    elif mode == 'odd':\n"
	"        if n % 2: s.sendto(d, a)\n"
	"    elif mode == 'once':\n"
	"        if n == 1: s.sendto(d, a)\n"
	"    elif mode == 'len': s.sendto(str(len(d)).encode(), a)\n"
	"    elif mode == 'addr': s.sendto(('%s %d' % a[:2]).encode(), a)\n"
	"    elif mode == 'binary': s.sendto(b'\\xff\\x00ab', a)\n"
	"    elif mode == 'ttl':\n"
	"        ttl = int.from_bytes(anc[0][2][:4], sys.byteorder)\n"
	"        s.sendto(('ttl=%d' % ttl).encode(), a)\n";

/*
 * A UDP client: argv HOST PORT TIMEOUT MESSAGE...  Prints `CLIENT port`,
 * then for each message sent `REPLY repr` or `NOREPLY`.
 */
static const char CLIENT[] =
	"import socket, sys\n"
	"host, port, tmo = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])\n"
	"fam = socket.AF_INET6 if ':' in host else socket.AF_INET\n"
	"s = socket.socket(fam, socket.SOCK_DGRAM)\n"
	"s.bind((host, 0))\n"
	"s.settimeout(tmo)\n"
	"print('CLIENT', s.getsockname()[1])\n"
	"for m in sys.argv[4:]:\n"
	"    s.sendto(m.encode('latin-1').decode('unicode_escape')"
	".encode('latin-1'), (host, port))\n"
	"    try:\n"
	"        d, a = s.recvfrom(70000)\n"
	"        print('REPLY', repr(d))\n"
	"    except socket.timeout:\n"
	"        print('NOREPLY')\n";

static struct proc *server_start(const char *host, const char *mode,
				 char port[16])
{
	struct proc *p = python_start(0, SERVER, host, mode, NULL);
	int n = proc_stdout_port(p, T);

	cr_assert(n > 0, "python server did not start: %s", p->ebuf);
	snprintf(port, 16, "%d", n);
	return p;
}

static struct proc *listen_start(char port[16], ...)
{
	const char *argv[32] = {sockctl_path(), "udp-listen"};
	int n = 2, pn;
	const char *a;
	va_list ap;
	struct proc *p;

	va_start(ap, port);
	while ((a = va_arg(ap, const char *)) && n < 30)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	p = proc_start(argv, PROC_STDIN_PIPE);
	pn = proc_listen_port(p, T);
	cr_assert(pn > 0, "udp-listen did not start: %s", p->ebuf);
	snprintf(port, 16, "%d", pn);
	return p;
}

/* Run a Python client to its end; its stdout is returned (free it). */
static char *client_run(const char *host, const char *port, const char *tmo,
			...)
{
	const char *argv[32] = {"python3", "-u", "-c", CLIENT, host, port, tmo};
	int n = 7;
	const char *a;
	va_list ap;
	struct proc *p;
	char *out;

	va_start(ap, tmo);
	while ((a = va_arg(ap, const char *)) && n < 30)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	p = proc_start(argv, 0);
	cr_assert_eq(proc_wait_exit(p, T), 0, "client failed: %s", p->ebuf);
	out = strdup(p->obuf ? p->obuf : "");
	proc_free(p);
	return out;
}

static int client_port(const char *out)
{
	const char *s = strstr(out, "CLIENT ");

	return s ? atoi(s + 7) : -1;
}

/* XDG_STATE_HOME for a prompt's history, private to this test run. */
static void state_dir(char env[64], char dir[48])
{
	snprintf(dir, 48, "/tmp/sockctl-udp-state-%d", getpid());
	snprintf(env, 64, "XDG_STATE_HOME=%s", dir);
}

static void state_dir_remove(const char *dir)
{
	char path[96];

	snprintf(path, sizeof(path), "%s/sockctl/history", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/sockctl", dir);
	rmdir(path);
	rmdir(dir);
}

/* ---- udp-listen ---- */

Test(udp_listen, status_line_and_echo_to_ipv4_and_ipv6)
{
	char port[16], want[128];
	struct proc *l = listen_start(port, "0", NULL);
	char *c4, *c6;

	cr_assert(strstr(l->ebuf, "listening on [::]:") ||
			  strstr(l->ebuf, "listening on 0.0.0.0:"),
		  "%s", l->ebuf);
	cr_assert(strstr(l->ebuf, " (udp)\n"));
	c4 = client_run("127.0.0.1", port, "5", "hello", NULL);
	cr_assert(strstr(c4, "REPLY b'hello'\n"), "%s", c4);
	c6 = client_run("::1", port, "5", "bin\\x01\\n", NULL);
	cr_assert(strstr(c6, "REPLY b'bin\\x01\\n'\n"), "%s", c6);
	snprintf(want, sizeof(want), "127.0.0.1:%d: hello\n", client_port(c4));
	cr_assert(proc_wait_out(l, want, T), "%s", l->obuf);
	snprintf(want, sizeof(want), "[::1]:%d: bin\\x01\\n\n",
		 client_port(c6));
	cr_assert(proc_wait_out(l, want, T), "%s", l->obuf);
	cr_assert_null(strstr(l->obuf, "listening"), "status on stdout");
	free(c4);
	free(c6);
	proc_free(l);
}

/* ncat -u -l locks onto its first peer; every sender must be served. */
Test(udp_listen, two_senders_are_both_answered)
{
	static const char two[] =
		"import socket, sys\n"
		"port = int(sys.argv[1])\n"
		"a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
		"b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
		"for s in (a, b): s.settimeout(5)\n"
		"for s, m in ((a, b'from-a-1'), (b, b'from-b-1'), "
		"(a, b'from-a-2'), (b, b'from-b-2')):\n"
		"    s.sendto(m, ('127.0.0.1', port))\n"
		"    print(s.recvfrom(100)[0].decode())\n";
	char port[16];
	struct proc *l = listen_start(port, "0", NULL);
	struct proc *c = python_start(0, two, port, NULL);

	cr_assert_eq(proc_wait_exit(c, T), 0, "%s", c->ebuf);
	cr_assert_str_eq(c->obuf, "from-a-1\nfrom-b-1\nfrom-a-2\nfrom-b-2\n");
	cr_assert(proc_wait_out(l, ": from-b-2\n", T));
	cr_assert_eq(count_lines(l->obuf), 4);
	proc_free(c);
	proc_free(l);
}

Test(udp_listen, no_echo_sends_nothing)
{
	char port[16];
	struct proc *l = listen_start(port, "--no-echo", "0", NULL);
	char *c = client_run("127.0.0.1", port, "0.3", "quiet", NULL);

	cr_assert(strstr(c, "NOREPLY"), "%s", c);
	cr_assert(proc_wait_out(l, ": quiet\n", T));
	free(c);
	proc_free(l);
}

Test(udp_listen, prefix_goes_before_every_line)
{
	char port[16];
	struct proc *l = listen_start(port, "--prefix", "OK\\t", "0", NULL);
	char *c =
		client_run("127.0.0.1", port, "5", "a\\nb\\n", "single", NULL);

	cr_assert(strstr(c, "REPLY b'OK\\ta\\nOK\\tb\\n'\n"), "%s", c);
	cr_assert(strstr(c, "REPLY b'OK\\tsingle'\n"), "%s", c);
	free(c);
	proc_free(l);
}

Test(udp_listen, timestamp_in_ctime_form)
{
	char port[16];
	struct proc *l = listen_start(port, "--timestamp", "0", NULL);
	char *c = client_run("127.0.0.1", port, "5", "hello", NULL);
	char day[4], mon[4], rest[64];
	int mday, h, m, s, year;

	/* REPLY b'Tue Sep 13 19:11:20 2016 hello' */
	cr_assert_eq(
		sscanf(c, "CLIENT %*d\nREPLY b'%3s %3s %d %d:%d:%d %d %63[^']",
		       day, mon, &mday, &h, &m, &s, &year, rest),
		8, "%s", c);
	cr_assert_str_eq(rest, "hello");
	cr_assert(year >= 2024, "%s", c);
	free(c);
	proc_free(l);
}

Test(udp_listen, reply_takes_one_stdin_line_per_datagram)
{
	char port[16];
	struct proc *l = listen_start(port, "--reply", "0", NULL);
	char *c;

	proc_puts(l, "first answer\nsecond\n");
	c = client_run("127.0.0.1", port, "5", "q1", "q2", NULL);
	cr_assert(strstr(c, "REPLY b'first answer'\nREPLY b'second'\n"), "%s",
		  c);
	free(c);
	proc_free(l);
}

/* The line may come after the datagram: it waits for it. */
Test(udp_listen, reply_waits_for_its_line)
{
	static const char ask[] =
		"import socket, sys\n"
		"s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
		"s.settimeout(5)\n"
		"s.sendto(b'question', ('127.0.0.1', int(sys.argv[1])))\n"
		"print('ANSWER', s.recvfrom(100)[0].decode())\n";
	char port[16];
	struct proc *l = listen_start(port, "--reply", "0", NULL);
	struct proc *c = python_start(0, ask, port, NULL);

	cr_assert(proc_wait_out(l, ": question\n", T));
	proc_puts(l, "late answer\n");
	cr_assert_eq(proc_wait_exit(c, T), 0);
	cr_assert_str_eq(c->obuf, "ANSWER late answer\n");
	proc_free(c);
	proc_free(l);
}

/* --reply on a terminal: a prompt names the sender the answer goes to. */
Test(udp_listen, reply_prompt_on_a_terminal)
{
	static const char ask[] =
		"import socket, sys\n"
		"s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
		"s.bind(('127.0.0.1', 0))\n"
		"s.settimeout(5)\n"
		"print('PORT', s.getsockname()[1])\n"
		"s.sendto(b'question', ('127.0.0.1', int(sys.argv[1])))\n"
		"print('ANSWER', s.recvfrom(100)[0].decode())\n";
	char state[64], dir[48], port[16], want[96];
	const char *argv[] = {"env",	    state,     sockctl_path(),
			      "udp-listen", "--reply", "0",
			      NULL};
	struct proc *l, *c;
	int pn;

	state_dir(state, dir);
	l = proc_start(argv, PROC_PTY);
	/* A terminal ends lines with \r\n. */
	cr_assert(proc_wait_out(l, "(udp)\r\n", T), "%s", l->obuf);
	pn = proc_listen_port(l, 0);
	cr_assert(pn > 0, "%s", l->obuf);
	snprintf(port, sizeof(port), "%d", pn);
	cr_assert(proc_wait_out(l, "reply> ", T), "%s", l->obuf);
	c = python_start(0, ask, port, NULL);
	snprintf(want, sizeof(want), "reply to 127.0.0.1:%d> ",
		 proc_stdout_port(c, T));
	cr_assert(proc_wait_out(l, want, T), "%s", l->obuf);
	cr_assert(strstr(l->obuf, ": question\r\n"), "%s", l->obuf);
	proc_puts(l, "the answer\r");
	cr_assert_eq(proc_wait_exit(c, T), 0, "%s", c->ebuf);
	cr_assert(strstr(c->obuf, "ANSWER the answer\n"), "%s", c->obuf);
	proc_signal(l, SIGINT);
	cr_assert_eq(proc_wait_exit(l, T), 0);
	proc_free(c);
	proc_free(l);
	state_dir_remove(dir);
}

Test(udp_listen, count_and_once_exit_after_that_many)
{
	char port[16];
	struct proc *l = listen_start(port, "-c", "2", "0", NULL);
	char *c = client_run("127.0.0.1", port, "5", "one", "two", NULL);

	cr_assert_eq(proc_wait_exit(l, T), 0);
	cr_assert(strstr(c, "REPLY b'one'\nREPLY b'two'\n"), "%s", c);
	cr_assert_eq(count_lines(l->obuf), 2);
	free(c);
	proc_free(l);

	l = listen_start(port, "--once", "0", NULL);
	c = client_run("127.0.0.1", port, "5", "only", NULL);
	cr_assert_eq(proc_wait_exit(l, T), 0);
	cr_assert(strstr(c, "REPLY b'only'\n"), "%s", c);
	free(c);
	proc_free(l);
}

Test(udp_listen, json_raw_and_hex_output)
{
	char port[16], want[160];
	struct proc *l = listen_start(port, "--json", "0", NULL);
	char *c =
		client_run("127.0.0.1", port, "5", "hello", "\\xff\\x00", NULL);
	int cp = client_port(c);

	snprintf(want, sizeof(want),
		 "{\"from\":\"127.0.0.1\",\"port\":%d,\"length\":5,"
		 "\"data\":\"hello\"}\n"
		 "{\"from\":\"127.0.0.1\",\"port\":%d,\"length\":2,"
		 "\"data_base64\":\"/wA=\"}\n",
		 cp, cp);
	cr_assert(proc_wait_out(l, want, T), "%s", l->obuf);
	free(c);
	proc_free(l);

	l = listen_start(port, "--raw", "0", NULL);
	c = client_run("127.0.0.1", port, "5", "ab", "cd\\n", NULL);
	cr_assert(proc_wait_out_len(l, 5, T));
	cr_assert_str_eq(l->obuf, "abcd\n");
	free(c);
	proc_free(l);

	l = listen_start(port, "-x", "0", NULL);
	c = client_run("127.0.0.1", port, "5", "hello", NULL);
	snprintf(want, sizeof(want),
		 "127.0.0.1:%d: 5 bytes\n"
		 "00000000  68 65 6c 6c 6f                                    "
		 "|hello|\n"
		 "00000005\n",
		 client_port(c));
	cr_assert(proc_wait_out(l, want, T), "%s", l->obuf);
	free(c);
	proc_free(l);
}

Test(udp_listen, max_size_reports_truncation)
{
	char port[16];
	struct proc *l = listen_start(port, "--max-size", "10", "0", NULL);
	char *c = client_run("127.0.0.1", port, "5", "0123456789abcdefghij",
			     NULL);

	cr_assert(strstr(c, "REPLY b'0123456789'\n"), "%s", c);
	cr_assert(proc_wait_out(l, ": 0123456789 (truncated, 20 bytes)\n", T),
		  "%s", l->obuf);
	free(c);
	proc_free(l);

	l = listen_start(port, "--json", "--max-size", "4", "0", NULL);
	c = client_run("127.0.0.1", port, "5", "abcdefgh", NULL);
	cr_assert(proc_wait_out(l,
				"\"length\":4,\"data\":\"abcd\","
				"\"truncated\":true,\"real_length\":8}\n",
				T),
		  "%s", l->obuf);
	free(c);
	proc_free(l);
}

Test(udp_listen, unix_datagram_socket)
{
	static const char unix_client[] =
		"import socket, sys, os\n"
		"me = sys.argv[2]\n"
		"s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
		"s.bind(me)\n"
		"s.settimeout(5)\n"
		"s.sendto(b'over unix', sys.argv[1])\n"
		"print('REPLY', s.recvfrom(100)[0].decode())\n"
		"os.unlink(me)\n";
	char path[64], me[64], want[128];
	const char *argv[] = {sockctl_path(), "udp-listen", "--unix", path,
			      NULL};
	struct proc *l, *c;

	snprintf(path, sizeof(path), "/tmp/sockctl-udp-%d.sock", getpid());
	snprintf(me, sizeof(me), "/tmp/sockctl-udpc-%d.sock", getpid());
	l = proc_start(argv, 0);
	snprintf(want, sizeof(want), "listening on %s (unix-dgram)\n", path);
	cr_assert(proc_wait_err(l, want, T), "%s", l->ebuf);
	c = python_start(0, unix_client, path, me, NULL);
	cr_assert_eq(proc_wait_exit(c, T), 0, "%s", c->ebuf);
	cr_assert_str_eq(c->obuf, "REPLY over unix\n");
	snprintf(want, sizeof(want), "%s: over unix\n", me);
	cr_assert(proc_wait_out(l, want, T), "%s", l->obuf);
	proc_signal(l, SIGTERM);
	cr_assert_eq(proc_wait_exit(l, T), 0);
	cr_assert_neq(access(path, F_OK), 0, "socket file left behind");
	proc_free(c);
	proc_free(l);
}

Test(udp_listen, sigint_stops_with_status_0_and_totals)
{
	char port[16];
	struct proc *l = listen_start(port, "-v", "0", NULL);
	char *c = client_run("127.0.0.1", port, "5", "x", "yz", NULL);

	cr_assert(proc_wait_out(l, ": yz\n", T));
	proc_signal(l, SIGINT);
	cr_assert_eq(proc_wait_exit(l, T), 0);
	cr_assert(strstr(l->ebuf, "received 2 datagrams (3 bytes), sent 2 "
				  "replies\n"),
		  "%s", l->ebuf);
	free(c);
	proc_free(l);
}

/* Multicast stays on lo: the group is joined there, the sender sends
 * through 127.0.0.1 with a TTL of 0 (never leaves the host). */
Test(udp_listen, ipv4_multicast_group_on_loopback)
{
	static const char mc[] =
		"import socket, sys\n"
		"s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
		"s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, "
		"socket.inet_aton('127.0.0.1'))\n"
		"s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 0)\n"
		"s.bind(('127.0.0.1', 0))\n"
		"s.settimeout(5)\n"
		"s.sendto(b'to the group', ('239.255.77.1', "
		"int(sys.argv[1])))\n"
		"print('REPLY', s.recvfrom(100)[0].decode())\n";
	char port[16];
	struct proc *l = listen_start(port, "-v", "--group", "239.255.77.1%lo",
				      "0", NULL);
	struct proc *c;

	cr_assert(strstr(l->ebuf, "joined group 239.255.77.1%lo\n"), "%s",
		  l->ebuf);
	cr_assert(strstr(l->ebuf, "listening on 0.0.0.0:"), "%s", l->ebuf);
	c = python_start(0, mc, port, NULL);
	cr_assert_eq(proc_wait_exit(c, T), 0, "%s", c->ebuf);
	cr_assert_str_eq(c->obuf, "REPLY to the group\n");
	cr_assert(proc_wait_out(l, ": to the group\n", T));
	proc_free(c);
	proc_free(l);
}

Test(udp_listen, ipv6_multicast_group_on_loopback)
{
	static const char mc6[] =
		"import socket, sys\n"
		"lo = socket.if_nametoindex('lo')\n"
		"s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\n"
		"s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, "
		"lo)\n"
		"s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, "
		"0)\n"
		"s.settimeout(5)\n"
		"try:\n"
		"    s.sendto(b'six', ('ff02::1:3', int(sys.argv[1]), 0, lo))\n"
		"except OSError as e:\n"
		"    print('CANNOT', e); sys.exit(0)\n"
		"print('REPLY', s.recvfrom(100)[0].decode())\n";
	char port[16];
	struct proc *l =
		listen_start(port, "-v", "--group", "ff02::1:3%lo", "0", NULL);
	struct proc *c;

	/* The join itself must work. */
	cr_assert(strstr(l->ebuf, "joined group ff02::1:3%lo\n"), "%s",
		  l->ebuf);
	cr_assert(strstr(l->ebuf, "listening on [::]:"), "%s", l->ebuf);
	c = python_start(0, mc6, port, NULL);
	cr_assert_eq(proc_wait_exit(c, T), 0, "%s", c->ebuf);
	if (strstr(c->obuf, "CANNOT")) {
		char why[200];

		snprintf(why, sizeof(why),
			 "this kernel cannot send IPv6 multicast on lo "
			 "(lo lacks IFF_MULTICAST): %s",
			 c->obuf);
		proc_free(c);
		proc_free(l);
		cr_skip_test("%s", why);
	}
	cr_assert_str_eq(c->obuf, "REPLY six\n");
	proc_free(c);
	proc_free(l);
}

Test(udp_listen, socat_and_nc_as_clients)
{
	char port[16], addr[64];
	struct proc *l = listen_start(port, "0", NULL);
	const char *socat[] = {"socat", "-t", "0.5", "-", addr, NULL};
	const char *nc[] = {"nc", "-u", "-w", "1", "127.0.0.1", port, NULL};
	struct run r;

	snprintf(addr, sizeof(addr), "UDP:127.0.0.1:%s", port);
	cr_assert_eq(run_argv(&r, "from socat\n", T, socat), 0, "%s", r.err);
	cr_assert_str_eq(r.out, "from socat\n");
	run_free(&r);
	cr_assert_eq(run_argv(&r, "from nc\n", T, nc), 0, "%s", r.err);
	cr_assert_str_eq(r.out, "from nc\n");
	run_free(&r);
	cr_assert(proc_wait_out(l, ": from socat\\n\n", T), "%s", l->obuf);
	cr_assert(proc_wait_out(l, ": from nc\\n\n", T), "%s", l->obuf);
	proc_free(l);
}

/* -o reaches the socket: the echo leaves with the TOS asked for. */
Test(udp_listen, sockopt_sets_the_tos_of_replies)
{
	static const char tos[] =
		"import socket, sys\n"
		"s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
		"s.setsockopt(socket.IPPROTO_IP, socket.IP_RECVTOS, 1)\n"
		"s.settimeout(5)\n"
		"s.sendto(b'tos?', ('127.0.0.1', int(sys.argv[1])))\n"
		"d, anc, fl, a = s.recvmsg(100, 64)\n"
		"print('REPLY', d.decode(), 'tos=%d' % anc[0][2][0])\n";
	char port[16];
	struct proc *l = listen_start(port, "-4", "-o", "ip_tos=32", "0", NULL);
	struct proc *c = python_start(0, tos, port, NULL);
	struct run r;

	cr_assert_eq(proc_wait_exit(c, T), 0, "%s", c->ebuf);
	cr_assert_str_eq(c->obuf, "REPLY tos? tos=32\n");
	proc_free(c);
	proc_free(l);
	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-listen", "-o", "nosuch=1",
				 "0", NULL),
		     2);
	cr_assert(strstr(r.err, "unknown socket option 'nosuch'"), "%s", r.err);
	run_free(&r);
	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-listen", "--unix",
				 "/tmp/never", "-o", "IP_TTL=5", NULL),
		     2);
	run_free(&r);
}

Test(udp_listen, usage_errors)
{
	struct run r;

	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-listen", NULL), 2);
	cr_assert(strstr(r.err, "missing PORT"));
	run_free(&r);
	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-listen", "70000", NULL), 2);
	cr_assert(strstr(r.err, "between 0 and 65535"), "%s", r.err);
	run_free(&r);
	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-listen", "--echo",
				 "--no-echo", "0", NULL),
		     2);
	run_free(&r);
	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-listen", "--group",
				 "10.0.0.1", "0", NULL),
		     2);
	cr_assert(strstr(r.err, "not a multicast address"), "%s", r.err);
	run_free(&r);
	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-listen", "--prefix",
				 "bad\\q", "0", NULL),
		     2);
	run_free(&r);
	cr_assert_eq(
		run_sockctl(&r, NULL, T, "udp-listen", "-c", "0", "0", NULL),
		2);
	run_free(&r);
	cr_assert_eq(
		run_sockctl(&r, NULL, T, "udp-listen", "nosuchservice", NULL),
		3);
	run_free(&r);
}

Test(udp_listen, address_in_use_is_1)
{
	char port[16];
	struct proc *s = server_start("127.0.0.1", "echo", port);
	struct run r;

	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-listen", "-b", "127.0.0.1",
				 port, NULL),
		     1);
	cr_assert(strstr(r.err, "Address already in use"), "%s", r.err);
	run_free(&r);
	proc_free(s);
}

/* ---- udp-send ---- */

Test(udp_send, messages_and_their_replies)
{
	char port[16], want[128];
	struct proc *s = server_start("127.0.0.1", "echo", port);
	struct run r;

	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-send", "--expect", "2",
				 "127.0.0.1", port, "hello", "tab\\there",
				 NULL),
		     0, "%s", r.err);
	snprintf(want, sizeof(want),
		 "127.0.0.1:%s: hello\n127.0.0.1:%s: tab\\there\n", port, port);
	cr_assert_str_eq(r.out, want);
	cr_assert_str_empty(r.err);
	cr_assert(proc_wait_out(s, "GOT 8 b'tab\\there'", T), "%s", s->obuf);
	run_free(&r);
	proc_free(s);
}

Test(udp_send, host_colon_port_and_ipv6)
{
	char port[16], addr[64], want[128];
	struct proc *s = server_start("::1", "echo", port);
	struct run r;

	snprintf(addr, sizeof(addr), "[::1]:%s", port);
	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-send", "--expect", "1", addr,
				 "six", NULL),
		     0, "%s", r.err);
	snprintf(want, sizeof(want), "[::1]:%s: six\n", port);
	cr_assert_str_eq(r.out, want);
	run_free(&r);
	proc_free(s);
}

Test(udp_send, stdin_lines_are_datagrams)
{
	char port[16];
	struct proc *s = server_start("127.0.0.1", "len", port);
	struct run r;

	cr_assert_eq(run_sockctl(&r, "one\ntwo two\n\nlast", T, "udp-send",
				 "--expect", "4", "127.0.0.1", port, NULL),
		     0, "%s", r.err);
	cr_assert(proc_wait_out(s, "GOT 4 b'last'", T), "%s", s->obuf);
	cr_assert(strstr(s->obuf, "GOT 3 b'one' "), "%s", s->obuf);
	cr_assert(strstr(s->obuf, "GOT 7 b'two two' "), "%s", s->obuf);
	cr_assert(strstr(s->obuf, "GOT 0 b'' "), "%s", s->obuf);
	cr_assert_eq(count_lines(s->obuf), 5, "%s", s->obuf);
	cr_assert(strstr(r.out, ": 3\n"), "%s", r.out);
	run_free(&r);
	proc_free(s);
}

Test(udp_send, whole_stdin_is_one_datagram)
{
	char port[16];
	struct proc *s = server_start("127.0.0.1", "len", port);
	struct run r;

	cr_assert_eq(run_sockctl(&r, "a\nb\nc\n", T, "udp-send", "--whole",
				 "--expect", "1", "127.0.0.1", port, NULL),
		     0, "%s", r.err);
	cr_assert(proc_wait_out(s, "GOT 6 b'a\\nb\\nc\\n'", T), "%s", s->obuf);
	cr_assert(strstr(r.out, ": 6\n"), "%s", r.out);
	run_free(&r);
	proc_free(s);
}

/* The reply comes after stdin has ended; within --wait it is not lost. */
Test(udp_send, late_reply_within_wait_is_not_lost)
{
	char port[16], want[64];
	struct proc *s = server_start("127.0.0.1", "delay0.3", port);
	struct run r;

	/* The default --wait, 1 s, from the last datagram sent. */
	cr_assert_eq(run_sockctl(&r, "late\n", T, "udp-send", "127.0.0.1", port,
				 NULL),
		     0, "%s", r.err);
	snprintf(want, sizeof(want), "127.0.0.1:%s: late\n", port);
	cr_assert_str_eq(r.out, want);
	run_free(&r);
	proc_free(s);
}

Test(udp_send, expect_ends_early_and_fails_with_5)
{
	char port[16];
	struct proc *s = server_start("127.0.0.1", "once", port);
	struct run r;

	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-send", "--expect", "2", "-w",
				 "0.3", "127.0.0.1", port, "a", "b", NULL),
		     5);
	cr_assert(strstr(r.err, "timed out: 1 of 2 expected replies"), "%s",
		  r.err);
	cr_assert_eq(count_lines(r.out), 1);
	run_free(&r);
	proc_free(s);
}

Test(udp_send, closed_port_is_port_unreachable_4)
{
	char port[16];
	struct proc *s = server_start("127.0.0.1", "echo", port);
	struct run r;

	/* A port that was just free: bind one, close it, send there. */
	proc_free(s);
	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-send", "127.0.0.1", port,
				 "anyone?", NULL),
		     4);
	cr_assert(strstr(r.err, "sockctl: udp-send: 127.0.0.1:"), "%s", r.err);
	cr_assert(strstr(r.err, ": port unreachable\n"), "%s", r.err);
	cr_assert_str_empty(r.out);
	run_free(&r);
	cr_assert_eq(run_sockctl(&r, "x\n", T, "udp-send", "::1", port, NULL),
		     4);
	cr_assert(strstr(r.err, "port unreachable"), "%s", r.err);
	run_free(&r);
}

Test(udp_send, oversize_datagram_is_usage_error_naming_limit)
{
	char port[16];
	struct proc *s = server_start("127.0.0.1", "len", port);
	char *big = calloc(1, 65529);
	struct run r;

	memset(big, 'a', 65508);
	big[65508] = '\0';
	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-send", "127.0.0.1", port,
				 big, NULL),
		     2);
	cr_assert(strstr(r.err, "65508 bytes is too long: at most 65507"), "%s",
		  r.err);
	run_free(&r);
	/* Exactly the limit goes through. */
	big[65507] = '\0';
	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-send", "--expect", "1",
				 "127.0.0.1", port, big, NULL),
		     0, "%s", r.err);
	cr_assert(strstr(r.out, ": 65507\n"), "%s", r.out);
	run_free(&r);
	/* From stdin, over IPv6, whose limit is 20 bytes higher. */
	memset(big, 'b', 65528);
	cr_assert_eq(run_sockctl(&r, big, T, "udp-send", "--whole", "::1", port,
				 NULL),
		     2);
	cr_assert(strstr(r.err, "at most 65527"), "%s", r.err);
	run_free(&r);
	free(big);
	proc_free(s);
}

Test(udp_send, count_prints_times_and_summary)
{
	char port[16];
	struct proc *s = server_start("127.0.0.1", "echo", port);
	struct run r;

	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-send", "-c", "3",
				 "--interval", "0.05", "127.0.0.1", port,
				 "ping", NULL),
		     0, "%s", r.err);
	cr_assert_eq(count_lines(r.out), 6, "%s", r.out);
	for (int i = 1; i <= 3; i++) {
		char want[64];

		snprintf(want, sizeof(want), ": ping seq=%d time=", i);
		cr_assert(strstr(r.out, want), "%s", r.out);
	}
	cr_assert(strstr(r.out, " ms\n--- 127.0.0.1:"), "%s", r.out);
	cr_assert(strstr(r.out, "3 sent, 3 received, 0% loss\n"
				"rtt min/avg/max = "),
		  "%s", r.out);
	run_free(&r);
	proc_free(s);
}

Test(udp_send, count_reports_loss)
{
	char port[16];
	struct proc *s = server_start("127.0.0.1", "odd", port);
	struct run r;

	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-send", "-c", "4",
				 "--interval", "0.02", "-w", "0.3", "--json",
				 "127.0.0.1", port, "p", NULL),
		     0, "%s", r.err);
	cr_assert(strstr(r.out, "\"seq\":1,\"time_ms\":"), "%s", r.out);
	cr_assert(strstr(r.out, "\"seq\":3,\"time_ms\":"), "%s", r.out);
	cr_assert_null(strstr(r.out, "\"seq\":2,"), "%s", r.out);
	cr_assert(strstr(r.out, "\"sent\":4,\"received\":2,\"duplicates\":0,"
				"\"loss_percent\":50.0,\"min_ms\":"),
		  "%s", r.out);
	run_free(&r);
	proc_free(s);
}

Test(udp_send, raw_hex_and_json_replies)
{
	char port[16], want[200];
	struct proc *s = server_start("127.0.0.1", "binary", port);
	struct run r;

	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-send", "--raw", "--expect",
				 "1", "127.0.0.1", port, "x", NULL),
		     0);
	cr_assert_eq(r.olen, 4);
	cr_assert_eq(memcmp(r.out, "\xff\0ab", 4), 0);
	run_free(&r);
	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-send", "--json", "--expect",
				 "1", "127.0.0.1", port, "x", NULL),
		     0);
	snprintf(want, sizeof(want),
		 "{\"from\":\"127.0.0.1\",\"port\":%s,\"length\":4,"
		 "\"data_base64\":\"/wBhYg==\"}\n",
		 port);
	cr_assert_str_eq(r.out, want);
	run_free(&r);
	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-send", "-x", "--expect", "1",
				 "127.0.0.1", port, "x", NULL),
		     0);
	snprintf(want, sizeof(want),
		 "127.0.0.1:%s: 4 bytes\n"
		 "00000000  ff 00 61 62                                       "
		 "|..ab|\n"
		 "00000004\n",
		 port);
	cr_assert_str_eq(r.out, want);
	run_free(&r);
	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-send", "--expect", "1",
				 "127.0.0.1", port, "x", NULL),
		     0);
	snprintf(want, sizeof(want), "127.0.0.1:%s: \\xff\\x00ab\n", port);
	cr_assert_str_eq(r.out, want);
	run_free(&r);
	proc_free(s);
}

Test(udp_send, source_address_and_port)
{
	static const char freeport[] =
		"import socket\n"
		"s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
		"s.bind(('127.0.0.1', 0))\n"
		"print('PORT', s.getsockname()[1])\n";
	char port[16], src[16], want[64];
	struct proc *s = server_start("127.0.0.1", "addr", port);
	struct proc *f = python_start(0, freeport, NULL);
	struct run r;

	snprintf(src, sizeof(src), "%d", proc_stdout_port(f, T));
	proc_wait_exit(f, T);
	proc_free(f);
	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-send", "-s", "127.0.0.1",
				 "-p", src, "--expect", "1", "127.0.0.1", port,
				 "who", NULL),
		     0, "%s", r.err);
	snprintf(want, sizeof(want), ": 127.0.0.1 %s\n", src);
	cr_assert(strstr(r.out, want), "%s", r.out);
	run_free(&r);
	proc_free(s);
}

Test(udp_send, ttl_is_what_the_datagram_carries)
{
	char port[16];
	struct proc *s = server_start("127.0.0.1", "ttl", port);
	struct run r;

	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-send", "--ttl", "7",
				 "--expect", "1", "127.0.0.1", port, "t", NULL),
		     0, "%s", r.err);
	cr_assert(strstr(r.out, ": ttl=7\n"), "%s", r.out);
	run_free(&r);
	proc_free(s);
}

Test(udp_send, sockopt_has_the_last_word)
{
	char port[16];
	struct proc *s = server_start("127.0.0.1", "ttl", port);
	struct run r;

	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-send", "--ttl", "7", "-o",
				 "IP_TTL=9", "--expect", "1", "127.0.0.1", port,
				 "t", NULL),
		     0, "%s", r.err);
	cr_assert(strstr(r.out, ": ttl=9\n"), "%s", r.out);
	run_free(&r);
	/* A value the kernel refuses is 1, naming the option. */
	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-send", "-o",
				 "SO_BINDTODEVICE=nosuchdev0", "127.0.0.1",
				 port, "t", NULL),
		     1);
	cr_assert(strstr(r.err, "sockctl: udp-send: SO_BINDTODEVICE: "), "%s",
		  r.err);
	run_free(&r);
	proc_free(s);
}

Test(udp_send, broadcast_on_loopback)
{
	char port[16];
	struct proc *s = server_start("127.0.0.1", "broadcast", port);
	struct run r;

	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-send", "127.255.255.255",
				 port, "all", NULL),
		     1);
	cr_assert(strstr(r.err, "needs --broadcast"), "%s", r.err);
	run_free(&r);
	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-send", "--broadcast",
				 "--expect", "1", "127.255.255.255", port,
				 "all", NULL),
		     0, "%s", r.err);
	/* The answer comes from the host's own address, not the broadcast
	 * one: the socket is not connected, so it still gets through. */
	cr_assert(strstr(r.out, "127.0.0.1:"), "%s", r.out);
	cr_assert(strstr(r.out, ": all\n"), "%s", r.out);
	run_free(&r);
	proc_free(s);
}

Test(udp_send, to_a_multicast_group_on_loopback)
{
	char port[16];
	struct proc *l =
		listen_start(port, "--group", "239.255.77.2%lo", "0", NULL);
	struct run r;

	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-send", "-s", "127.0.0.1",
				 "--ttl", "0", "--expect", "1", "239.255.77.2",
				 port, "mc", NULL),
		     0, "%s", r.err);
	cr_assert(strstr(r.out, ": mc\n"), "%s", r.out);
	cr_assert(proc_wait_out(l, ": mc\n", T));
	run_free(&r);
	proc_free(l);
}

Test(udp_send, unix_datagram_gets_replies_at_its_own_address)
{
	static const char unix_server[] =
		"import socket, sys\n"
		"s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
		"s.bind(sys.argv[1])\n"
		"print('PORT 1')\n"
		"while True:\n"
		"    d, a = s.recvfrom(100)\n"
		"    print('FROM', repr(a))\n"
		"    s.sendto(d.upper(), a)\n";
	char path[64], want[96];
	struct proc *s;
	struct run r;

	snprintf(path, sizeof(path), "/tmp/sockctl-us-%d.sock", getpid());
	unlink(path);
	s = python_start(0, unix_server, path, NULL);
	cr_assert(proc_stdout_port(s, T) == 1, "%s", s->ebuf);
	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-send", "--expect", "1",
				 "--unix", path, "shout", NULL),
		     0, "%s", r.err);
	snprintf(want, sizeof(want), "%s: SHOUT\n", path);
	cr_assert_str_eq(r.out, want);
	/* The client autobound an abstract address (a NUL, then 5 hex). */
	cr_assert(proc_wait_out(s, "FROM b'\\x00", T), "%s", s->obuf);
	run_free(&r);
	proc_free(s);
	unlink(path);

	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-send", "--unix", path,
				 "nobody", NULL),
		     4);
	run_free(&r);
}

Test(udp_send, to_udp_listen_and_back)
{
	char port[16], want[64];
	struct proc *l = listen_start(port, "--prefix", "re: ", "0", NULL);
	struct run r;

	cr_assert_eq(run_sockctl(&r, "a\nb\n", T, "udp-send", "--expect", "2",
				 "localhost", port, NULL),
		     0, "%s", r.err);
	snprintf(want, sizeof(want),
		 "127.0.0.1:%s: re: a\n127.0.0.1:%s: re: b\n", port, port);
	cr_assert_str_eq(r.out, want);
	run_free(&r);
	proc_free(l);
}

Test(udp_send, socat_as_server)
{
	static const char freeport[] =
		"import socket\n"
		"s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
		"s.bind(('127.0.0.1', 0))\n"
		"print('PORT', s.getsockname()[1])\n";
	struct proc *f = python_start(0, freeport, NULL);
	char port[16], addr[64], want[64];
	const char *socat[] = {"socat", "-d", "-d", addr, "EXEC:rev", NULL};
	struct proc *s;
	struct run r;

	snprintf(port, sizeof(port), "%d", proc_stdout_port(f, T));
	proc_wait_exit(f, T);
	proc_free(f);
	/* socat answers each datagram with the output of rev. */
	snprintf(addr, sizeof(addr), "UDP-RECVFROM:%s,bind=127.0.0.1,fork",
		 port);
	s = proc_start(socat, 0);
	cr_assert(proc_wait_err(s, "receiving on", T), "%s", s->ebuf);
	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-send", "--expect", "1",
				 "127.0.0.1", port, "abc\\n", NULL),
		     0, "%s", r.err);
	snprintf(want, sizeof(want), "127.0.0.1:%s: cba\\n\n", port);
	cr_assert_str_eq(r.out, want);
	run_free(&r);
	proc_free(s);
}

/* On a terminal: a readline prompt; a reply that comes while a line is
 * being typed is printed above it and the typed text stays. */
Test(udp_send, interactive_prompt_on_a_terminal)
{
	char state[64], dir[48], port[16], want[96], want2[96];
	struct proc *s = server_start("127.0.0.1", "delay0.2", port);
	const char *argv[] = {"env",	   state, sockctl_path(),
			      "udp-send",  "-w",  "0.5",
			      "127.0.0.1", port,  NULL};
	struct proc *p;
	const char *reply;

	state_dir(state, dir);
	p = proc_start(argv, PROC_PTY);
	snprintf(want, sizeof(want), "127.0.0.1:%s> ", port);
	cr_assert(proc_wait_out(p, want, T), "%s", p->obuf);
	proc_puts(p, "first line\r");
	cr_assert(proc_wait_out(s, "GOT 10 b'first line'", T), "%s", s->obuf);
	/* ...and the rest of that line, so that lines count right below. */
	for (int i = 0; i < 100 && !strchr(strstr(s->obuf, "GOT 10"), '\n');
	     i++)
		proc_pump(s, 100);
	proc_puts(p, "half typed");
	snprintf(want, sizeof(want), "127.0.0.1:%s: first line\r\n", port);
	cr_assert(proc_wait_out(p, want, T), "%s", p->obuf);
	/* After the reply, the prompt is drawn again with the typed text. */
	snprintf(want2, sizeof(want2), "127.0.0.1:%s> half typed", port);
	for (int i = 0; i < 100; i++) {
		reply = strstr(p->obuf, want);
		if (strstr(reply, want2))
			break;
		proc_pump(p, 100);
	}
	cr_assert_not_null(strstr(reply, want2), "typed text lost: %s",
			   p->obuf);
	/* Ctrl-U drops the half line, Ctrl-D ends: exit 0 after --wait. */
	proc_puts(p, "\x15\x04");
	cr_assert_eq(proc_wait_exit(p, T), 0, "%s", p->obuf);
	/* A second datagram (the dropped half line) would have come by now:
	 * the client has waited out its --wait of 0.5 s. */
	proc_pump(s, 200);
	cr_assert_eq(count_lines(s->obuf), 2, "only one datagram: %s", s->obuf);
	proc_free(p);
	proc_free(s);
	state_dir_remove(dir);
}

Test(udp_send, usage_errors)
{
	struct run r;

	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-send", NULL), 2);
	cr_assert(strstr(r.err, "missing HOST and PORT"), "%s", r.err);
	run_free(&r);
	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-send", "127.0.0.1", NULL),
		     2);
	cr_assert(strstr(r.err, "missing PORT"), "%s", r.err);
	run_free(&r);
	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-send", "127.0.0.1:", NULL),
		     2);
	cr_assert(strstr(r.err, "invalid address '127.0.0.1:': empty port"),
		  "%s", r.err);
	run_free(&r);
	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-send", "[::1:9", "x", NULL),
		     2);
	cr_assert(strstr(r.err, "missing ']'"), "%s", r.err);
	run_free(&r);
	cr_assert_eq(
		run_sockctl(&r, NULL, T, "udp-send", "--unix", "", "x", NULL),
		2);
	run_free(&r);
	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-send", "127.0.0.1", "99999",
				 "x", NULL),
		     2);
	run_free(&r);
	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-send", "127.0.0.1", "9",
				 "bad\\q", NULL),
		     2);
	cr_assert(strstr(r.err, "invalid message"), "%s", r.err);
	run_free(&r);
	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-send", "--ttl", "256",
				 "127.0.0.1", "9", "x", NULL),
		     2);
	run_free(&r);
	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-send", "--whole",
				 "127.0.0.1", "9", "x", NULL),
		     2);
	run_free(&r);
	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-send", "--unix", "/x", "-s",
				 "127.0.0.1", "x", NULL),
		     2);
	run_free(&r);
	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-send", "-w", "soon",
				 "127.0.0.1", "9", "x", NULL),
		     2);
	run_free(&r);
	cr_assert_eq(run_sockctl(&r, NULL, T, "udp-send", "127.0.0.1",
				 "nosuchservice", "x", NULL),
		     3);
	run_free(&r);
}
