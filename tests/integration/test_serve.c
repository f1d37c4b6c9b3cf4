/*
 * test_serve.c - `sockctl serve` against real clients: Python sockets in
 * the style of the socket tutorials (send without a newline, wait for the
 * answer; read the banner first), nc, socat and curl.  Every mode, the
 * limits, the ACLs, signals, a thousand clients at once, a client that
 * never reads, and running out of file descriptors.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "pypeer.h"

#define T 10000

/*
 * Every wait below has a deadline; the alarm only catches a bug that
 * blocks for ever (SIGALRM kills the test and Criterion reports it).
 * Criterion's own .timeout leaks under ASan when tests overlap.
 */
static void hang_guard(void)
{
	alarm(120);
}

TestSuite(serve, .init = hang_guard);

#define SERVE(flags, ...) sockctl_start((flags), "serve", __VA_ARGS__, NULL)

/* What every Python peer starts with: connect, read until, expect. */
#define PY PY_PEER(5)

/* A thread that reads from client r until got[0] (bytes or lines, as
 * COUNT of the chunk d says) reaches N. */
#define READER(COUNT)                   \
	"got = [0]\n"                   \
	"def reader():\n"               \
	"    r.settimeout(30)\n"        \
	"    while got[0] < N:\n"       \
	"        d = r.recv(1 << 20)\n" \
	"        if not d:\n"           \
	"            break\n"           \
	"        got[0] += " COUNT "\n" \
	"t = threading.Thread(target=reader)\n"

static int port_of(struct proc *p)
{
	int port = proc_listen_port(p, T);

	cr_assert(port > 0, "no listening line; stderr: %s",
		  p->ebuf ? p->ebuf : "");
	return port;
}

/* Run a Python peer to the end while the server's output is collected
 * (a full stderr pipe would stall the server); returns its stdout. */
static char *py_run_with(struct proc *srv, const char *script, const char *arg1,
			 const char *arg2)
{
	struct proc *py = python_start(0, script, arg1, arg2, NULL);
	struct timespec t0, t1;
	char *out;
	int st;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (proc_exited(py))
			break;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if ((t1.tv_sec - t0.tv_sec) * 1000 > 6 * T)
			break;
		proc_pump(py, 5);
		if (srv)
			proc_pump(srv, 0);
	}
	st = proc_wait_exit(py, T);
	if (srv)
		proc_pump(srv, 50);
	cr_assert_eq(st, 0, "python peer failed (%d):\n%s\nserver stderr:\n%s",
		     st, py->ebuf ? py->ebuf : "",
		     srv && srv->ebuf ? srv->ebuf : "");
	out = py->obuf ? strdup(py->obuf) : strdup("");
	proc_free(py);
	return out;
}

static char *py_port(struct proc *srv, const char *script, int port)
{
	char ps[16];

	snprintf(ps, sizeof(ps), "%d", port);
	return py_run_with(srv, script, ps, NULL);
}

static void stop_ok(struct proc *p, const char *served)
{
	proc_signal(p, SIGTERM);
	cr_assert_eq(proc_wait_exit(p, T), 0, "exit status; stderr:\n%s",
		     p->ebuf);
	if (served)
		cr_assert(strstr(p->ebuf, served), "want '%s' in:\n%s", served,
			  p->ebuf);
}

static int sh(struct run *r, const char *cmd)
{
	const char *argv[] = {"sh", "-c", cmd, NULL};

	return run_argv(r, NULL, T, argv);
}

/* ---- listening ---- */

Test(serve, listening_line_shows_the_real_port)
{
	struct proc *p = SERVE(0, "--tcp", "0", "-b", "127.0.0.1");
	int port = port_of(p);
	char want[64];

	snprintf(want, sizeof(want), "listening on 127.0.0.1:%d (tcp)\n", port);
	cr_assert(port > 0 && port < 65536);
	cr_assert(!strncmp(p->ebuf, want, strlen(want)), "%s", p->ebuf);
	cr_assert_eq(count_substr(p->ebuf, "listening on"), 1);
	stop_ok(p, "served 0 connections\n");
	cr_assert_eq(p->olen, 0, "stdout: %s", p->obuf);
	proc_free(p);
}

Test(serve, default_is_dual_stack)
{
	struct proc *p = SERVE(0, "--tcp", "0");
	int port = port_of(p);
	char *out;

	cr_assert(strstr(p->ebuf, "listening on [::]:"), "%s", p->ebuf);
	out = py_port(p,
		      PY "for h in ('127.0.0.1', '::1'):\n"
			 "    s = conn(h)\n"
			 "    s.sendall(h.encode())\n"
			 "    expect(recv_until(s, h.encode()), h.encode())\n"
			 "print('OK')\n",
		      port);
	cr_assert_str_eq(out, "OK\n");
	free(out);
	stop_ok(p, "served 2 connections");
	proc_free(p);
}

Test(serve, ipv6_only)
{
	struct proc *p = SERVE(0, "--tcp", "0", "-6");
	int port = port_of(p);
	char *out;

	out = py_port(p,
		      PY "s = conn('::1')\n"
			 "s.sendall(b'six')\n"
			 "expect(recv_until(s, b'six'), b'six')\n"
			 "try:\n"
			 "    conn('127.0.0.1')\n"
			 "    print('IPv4 accepted')\n"
			 "except ConnectionRefusedError:\n"
			 "    print('OK')\n",
		      port);
	cr_assert_str_eq(out, "OK\n");
	free(out);
	stop_ok(p, NULL);
	proc_free(p);
}

Test(serve, address_in_use_is_exit_1)
{
	struct proc *a = SERVE(0, "--tcp", "0", "-b", "127.0.0.1");
	char port[16];
	struct run r;

	snprintf(port, sizeof(port), "%d", port_of(a));
	cr_assert_eq(run_sockctl(&r, NULL, T, "serve", "--tcp", port, "-b",
				 "127.0.0.1", NULL),
		     1, "%s", r.err);
	cr_assert(strstr(r.err, "sockctl: serve: ") &&
			  strstr(r.err, "Address already in use"),
		  "%s", r.err);
	cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
	run_free(&r);
	stop_ok(a, NULL);
	proc_free(a);
}

/* ---- modes ---- */

Test(serve, echo_tutorial_client_with_banner)
{
	struct proc *p = SERVE(0, "--tcp", "0", "--banner",
			       "Welcome to the server\\r\\n");
	int port = port_of(p);
	char *out;

	/* The seed client: read the greeting, send, wait for the reply. */
	out = py_port(p,
		      PY
		      "s = conn()\n"
		      "expect(recv_until(s, b'\\r\\n'), "
		      "b'Welcome to the server\\r\\n')\n"
		      "s.sendall(b'hello')\n"
		      "expect(recv_until(s, b'hello'), b'hello')\n"
		      "s.sendall(b'\\x00\\xff binary\\n')\n"
		      "expect(recv_until(s, b'\\n'), b'\\x00\\xff binary\\n')\n"
		      "s.close()\n"
		      "print('OK')\n",
		      port);
	cr_assert_str_eq(out, "OK\n");
	free(out);
	cr_assert(proc_wait_err(p, "disconnected", T));
	cr_assert(strstr(p->ebuf, "connected by 127.0.0.1:"), "%s", p->ebuf);
	cr_assert(strstr(p->ebuf, "(received 15 B, sent 38 B, "), "%s",
		  p->ebuf);
	stop_ok(p, "served 1 connection\n");
	proc_free(p);
}

Test(serve, prefix_answers_partial_lines_at_once)
{
	struct proc *p = SERVE(0, "--tcp", "0", "--prefix", "OK...");
	int port = port_of(p);
	char *out;

	out = py_port(p,
		      PY
		      "s = conn()\n"
		      "s.sendall(b'hello')\n"
		      "expect(recv_until(s, b'hello'), b'OK...hello')\n"
		      "s.sendall(b' world\\n')\n"
		      "expect(recv_until(s, b'\\n'), b' world\\n')\n"
		      "s.sendall(b'a\\nb\\n')\n"
		      "expect(recv_until(s, b'b\\n'), b'OK...a\\nOK...b\\n')\n"
		      "print('OK')\n",
		      port);
	cr_assert_str_eq(out, "OK\n");
	free(out);
	stop_ok(p, NULL);
	proc_free(p);
}

Test(serve, timestamp_mode)
{
	struct proc *p = SERVE(0, "--tcp", "0", "--timestamp");
	int port = port_of(p);
	char *out;

	out = py_port(p,
		      PY "s = conn()\n"
			 "s.sendall(b'hello\\n')\n"
			 "r = recv_until(s, b'hello\\n')\n"
			 "t = time.strptime(r[:24].decode(), "
			 "'%a %b %d %H:%M:%S %Y')\n"
			 "assert abs(time.mktime(t) - time.time()) < 120, r\n"
			 "expect(r[24:], b' hello\\n')\n"
			 "s.sendall(b'part')\n"
			 "r = recv_until(s, b'part')\n"
			 "expect(len(r), 24 + 1 + 4)\n"
			 "s.sendall(b'ial\\n')\n"
			 "expect(recv_until(s, b'\\n'), b'ial\\n')\n"
			 "print('OK')\n",
		      port);
	cr_assert_str_eq(out, "OK\n");
	free(out);
	stop_ok(p, NULL);
	proc_free(p);
}

Test(serve, nc_and_socat_clients)
{
	struct proc *p = SERVE(0, "--tcp", "0", "-b", "127.0.0.1");
	int port = port_of(p);
	char cmd[256];
	struct run r;

	snprintf(cmd, sizeof(cmd), "printf 'from nc\\n' | nc -N 127.0.0.1 %d",
		 port);
	cr_assert_eq(sh(&r, cmd), 0, "%s", r.err);
	cr_assert_str_eq(r.out, "from nc\n");
	run_free(&r);
	snprintf(cmd, sizeof(cmd),
		 "printf 'from socat' | socat -t 5 - TCP:127.0.0.1:%d", port);
	cr_assert_eq(sh(&r, cmd), 0, "%s", r.err);
	cr_assert_str_eq(r.out, "from socat");
	run_free(&r);
	stop_ok(p, "served 2 connections");
	proc_free(p);
}

Test(serve, echo_of_megabytes_is_exact)
{
	struct proc *p = SERVE(0, "--tcp", "0", "-b", "127.0.0.1");
	int port = port_of(p);
	char *out;

	/* Sending and reading at once drives the partial-write queue. */
	out = py_port(p,
		      PY
		      "data = os.urandom(8 << 20)\n"
		      "s = conn()\n"
		      "t = threading.Thread(target=s.sendall, args=(data,))\n"
		      "t.start()\n"
		      "got = bytearray()\n"
		      "while len(got) < len(data):\n"
		      "    d = s.recv(1 << 20)\n"
		      "    if not d:\n"
		      "        break\n"
		      "    got += d\n"
		      "t.join()\n"
		      "assert bytes(got) == data, len(got)\n"
		      "s.shutdown(socket.SHUT_WR)\n"
		      "expect(recv_eof(s), b'')\n"
		      "print('OK')\n",
		      port);
	cr_assert_str_eq(out, "OK\n");
	free(out);
	cr_assert(proc_wait_err(p, "received 8388608 B, sent 8388608 B", T),
		  "%s", p->ebuf);
	stop_ok(p, NULL);
	proc_free(p);
}

/* A thousand clients connected at once, each getting its own bytes. */
static const char many_clients[] =
	PY "N = int(A[1])\n"
	   "sel = selectors.DefaultSelector()\n"
	   "for i in range(N):\n"
	   "    s = socket.socket()\n"
	   "    s.setblocking(False)\n"
	   "    s.connect_ex(('127.0.0.1', PORT))\n"
	   "    msg = ('client %d of %d, all mine\\n' % (i, N)).encode()\n"
	   "    sel.register(s, selectors.EVENT_WRITE,\n"
	   "                 {'i': i, 'msg': msg, 'got': b''})\n"
	   "done = 0\n"
	   "end = time.time() + 60\n"
	   "while done < N and time.time() < end:\n"
	   "    for key, ev in sel.select(timeout=1):\n"
	   "        s, st = key.fileobj, key.data\n"
	   "        if ev & selectors.EVENT_WRITE:\n"
	   "            s.sendall(st['msg'])\n"
	   "            sel.modify(s, selectors.EVENT_READ, st)\n"
	   "            continue\n"
	   "        d = s.recv(4096)\n"
	   "        if not d:\n"
	   "            raise SystemExit('client %d closed early' % st['i'])\n"
	   "        st['got'] += d\n"
	   "        if len(st['got']) >= len(st['msg']):\n"
	   "            expect(st['got'], st['msg'])\n"
	   "            sel.unregister(s)\n"
	   "            done += 1\n"
	   "print('served', done)\n";

Test(serve, a_thousand_concurrent_clients)
{
	struct proc *p = SERVE(0, "--tcp", "0", "-b", "127.0.0.1");
	char ps[16];
	char *out;

	snprintf(ps, sizeof(ps), "%d", port_of(p));
	/* The clients stay connected until every one has its answer. */
	out = py_run_with(p, many_clients, ps, "1000");
	cr_assert_str_eq(out, "served 1000\n");
	free(out);
	cr_assert(proc_wait_err_count(p, "disconnected 127.0.0.1:", 1000, T),
		  "%zu disconnects", count_substr(p->ebuf, "disconnected"));
	cr_assert_eq(count_substr(p->ebuf, "connected by 127.0.0.1:"), 1000);
	stop_ok(p, "served 1000 connections\n");
	proc_free(p);
}

Test(serve, chat_among_three_clients)
{
	struct proc *p = SERVE(0, "--tcp", "0", "-b", "127.0.0.1", "--chat");
	int port = port_of(p);
	char *out;

	out = py_port(
		p,
		PY
		"a = conn(); b = conn(); c = conn()\n"
		"la, lb, lc = name(a), name(b), name(c)\n"
		"j = '* %s joined\\n'\n"
		"expect(recv_until(a, (j % lc).encode()),"
		" ((j % lb) + (j % lc)).encode())\n"
		"expect(recv_until(b, (j % lc).encode()), (j % lc).encode())\n"
		"a.sendall(b'hello \\x1b[2J all\\r\\n')\n"
		"want = ('<%s> hello \\\\x1b[2J all\\n' % la).encode()\n"
		"for x in (b, c):\n"
		"    expect(recv_until(x, b'all\\n'), want)\n"
		"b.sendall(b'/nick bob\\n')\n"
		"n = ('* %s is now bob\\n' % lb).encode()\n"
		"for x in (a, b, c):\n"
		"    expect(recv_until(x, b'bob\\n'), n)\n"
		"b.sendall(b'hi, I am bob\\n')\n"
		"for x in (a, c):\n"
		"    expect(recv_until(x, b'bob\\n'), b'<bob> hi, I am "
		"bob\\n')\n"
		"c.sendall(b'/nick bob\\n')\n"
		"expect(recv_until(c, b'\\n'), b'* that nick is taken\\n')\n"
		"c.sendall(b'/nick \\x1b]0;x\\n')\n"
		"assert recv_until(c, b'\\n').startswith(b'* a nick is'), 1\n"
		"c.sendall(b'/who\\n')\n"
		"expect(recv_until(c, b'\\n'), ('* 3 here: %s, bob, %s "
		"(you)\\n'"
		" % (la, lc)).encode())\n"
		"c.close()\n"
		"for x in (a, b):\n"
		"    expect(recv_until(x, b'left\\n'), ('* %s left\\n' % "
		"lc).encode())\n"
		"print('OK')\n",
		port);
	cr_assert_str_eq(out, "OK\n");
	free(out);
	stop_ok(p, "served 3 connections");
	proc_free(p);
}

Test(serve, chat_operator_lines_come_from_server)
{
	struct proc *p = SERVE(PROC_STDIN_PIPE, "--tcp", "0", "-b", "127.0.0.1",
			       "--chat", "--banner", "hi\\n");
	struct proc *py;
	char ps[16];

	snprintf(ps, sizeof(ps), "%d", port_of(p));
	py = python_start(0,
			  PY "s = conn()\n"
			     "expect(recv_until(s, b'hi\\n'), b'hi\\n')\n"
			     "print('READY')\n"
			     "expect(recv_until(s, b'all\\n'),"
			     " b'<server> hello all\\n')\n"
			     "print('OK')\n",
			  ps, NULL);
	cr_assert(proc_wait_out(py, "READY", T), "%s", py->ebuf);
	proc_puts(p, "hello all\n");
	cr_assert_eq(proc_wait_exit(py, T), 0, "%s", py->ebuf);
	cr_assert_str_eq(py->obuf, "READY\nOK\n");
	proc_free(py);
	stop_ok(p, NULL);
	proc_free(p);
}

Test(serve, broker_sends_to_every_other_client)
{
	struct proc *p = SERVE(0, "--tcp", "0", "-b", "127.0.0.1", "--broker",
			       "--banner", "hub\\n");
	int port = port_of(p);
	char *out;

	out = py_port(p,
		      PY "a = conn(); b = conn(); c = conn()\n"
			 "for x in (a, b, c):\n"
			 "    expect(recv_until(x, b'hub\\n'), b'hub\\n')\n"
			 "a.sendall(b'\\x00raw bytes, no newline')\n"
			 "for x in (b, c):\n"
			 "    expect(recv_until(x, b'newline'), "
			 "b'\\x00raw bytes, no newline')\n"
			 "expect(recv_until(a, b'x', 0.3), b'')\n"
			 "print('OK')\n",
		      port);
	cr_assert_str_eq(out, "OK\n");
	free(out);
	stop_ok(p, NULL);
	proc_free(p);
}

Test(serve, broker_drops_a_receiver_that_never_reads)
{
	struct proc *p = SERVE(0, "--tcp", "0", "-b", "127.0.0.1", "--broker",
			       "--banner", "hub\\n");
	int port = port_of(p);
	char *out;

	/* 64 MiB from w: r reads it all while slow reads nothing. */
	out = py_port(p,
		      PY "slow = conn(); r = conn(); w = conn()\n"
			 "for x in (slow, r, w):\n"
			 "    expect(recv_until(x, b'hub\\n'), b'hub\\n')\n"
			 "N = 64 << 20\n" READER(
				 "len(d)") "t.start()\n"
					   "w.settimeout(30)\n"
					   "w.sendall(b'y' * N)\n"
					   "t.join(30)\n"
					   "expect(got[0], N)\n"
					   "total = 0\n"
					   "try:\n"
					   "    slow.settimeout(10)\n"
					   "    while True:\n"
					   "        d = slow.recv(1 << 20)\n"
					   "        if not d:\n"
					   "            break\n"
					   "        total += len(d)\n"
					   "except ConnectionResetError:\n"
					   "    pass\n"
					   "assert total < N, total\n"
					   "print('OK')\n",
		      port);
	cr_assert_str_eq(out, "OK\n");
	free(out);
	cr_assert(proc_wait_err(p, "send queue full", T), "%s", p->ebuf);
	stop_ok(p, NULL);
	proc_free(p);
}

Test(serve, chat_drops_a_client_that_never_reads)
{
	struct proc *p = SERVE(0, "--tcp", "0", "-b", "127.0.0.1", "--chat",
			       "--banner", "hi\\n");
	char *out;

	out = py_port(
		p,
		PY
		"slow = conn(); r = conn(); w = conn()\n"
		"for x in (slow, r, w):\n"
		"    recv_until(x, b'hi\\n')\n"
		"line = b'z' * 1000 + b'\\n'\n"
		"N = 16 << 10\n" READER(
			"d.count(b'zzz\\n')") "t.start()\n"
					      "w.settimeout(30)\n"
					      "for i in range(N // 64):\n"
					      "    w.sendall(line * 64)\n"
					      /* The reading client keeps up (a
						 Python thread may lag behind
						 the writer), the slow one never
						 reads. */
					      "    end = time.monotonic() + "
					      "30\n"
					      "    while (i + 1) * 64 - got[0] "
					      "> 1024 and t.is_alive()"
					      " and time.monotonic() < end:\n"
					      "        time.sleep(0.001)\n"
					      "t.join(30)\n"
					      "expect(got[0], N)\n"
					      "print('OK')\n",
		port_of(p));
	cr_assert_str_eq(out, "OK\n");
	free(out);
	cr_assert(proc_wait_err(p, "send queue full", T), "%s", p->ebuf);
	cr_assert_eq(count_substr(p->ebuf, "send queue full"), 1, "%s",
		     p->ebuf);
	stop_ok(p, NULL);
	proc_free(p);
}

Test(serve, a_reset_ends_only_that_connection)
{
	struct proc *p = SERVE(0, "--tcp", "0", "-b", "127.0.0.1");
	char *out;

	out = py_port(p,
		      PY "import struct\n"
			 "other = conn()\n"
			 "bad = conn()\n"
			 "bad.sendall(b'x' * 100000)\n"
			 "bad.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,"
			 " struct.pack('ii', 1, 0))\n"
			 "bad.close()\n"
			 "other.sendall(b'fine')\n"
			 "expect(recv_until(other, b'fine'), b'fine')\n"
			 "print('OK')\n",
		      port_of(p));
	cr_assert_str_eq(out, "OK\n");
	free(out);
	cr_assert(proc_wait_err(p, "Connection reset by peer", T), "%s",
		  p->ebuf);
	stop_ok(p, "served 2 connections");
	proc_free(p);
}

Test(serve, relay_moves_both_ways)
{
	struct proc *p = SERVE(PROC_STDIN_PIPE, "--tcp", "0", "-b", "127.0.0.1",
			       "--relay");
	struct proc *py;
	char ps[16];

	snprintf(ps, sizeof(ps), "%d", port_of(p));
	py = python_start(0,
			  PY "s = conn()\n"
			     "s.sendall(b'from client\\n')\n"
			     "expect(recv_until(s, b'server\\n'),"
			     " b'from server\\n')\n"
			     "print('OK')\n",
			  ps, NULL);
	cr_assert(proc_wait_out(p, "from client\n", T), "%s", p->ebuf);
	cr_assert_str_eq(p->obuf, "from client\n");
	proc_puts(p, "from server\n");
	cr_assert_eq(proc_wait_exit(py, T), 0, "%s", py->ebuf);
	proc_free(py);
	/* The end of stdin closes nothing without -N. */
	proc_close_stdin(p);
	cr_assert(proc_wait_err(p, "disconnected", T));
	stop_ok(p, "served 1 connection\n");
	proc_free(p);
}

Test(serve, relay_prompt_on_a_terminal)
{
	struct proc *p = SERVE(PROC_PTY, "--tcp", "0", "-b", "127.0.0.1",
			       "--relay", "-N");
	struct proc *py;
	char ps[16];

	snprintf(ps, sizeof(ps), "%d", port_of(p));
	cr_assert(proc_wait_out(p, "no client> ", T), "%s", p->obuf);
	proc_puts(p, "anyone?\r");
	cr_assert(proc_wait_out(p, "not sent: no client connected", T), "%s",
		  p->obuf);
	py = python_start(0,
			  PY "s = conn()\n"
			     "s.sendall(b'hello operator\\n')\n"
			     "expect(recv_until(s, b'reply\\n'),"
			     " b'typed reply\\n')\n"
			     "expect(recv_eof(s), b'')\n"
			     "print('OK')\n",
			  ps, NULL);
	/* The client's line shows above the prompt, which counts it. */
	cr_assert(proc_wait_out(p, "hello operator", T), "%s", p->obuf);
	cr_assert(proc_wait_out(p, "1 client> ", T), "%s", p->obuf);
	proc_puts(p, "typed reply\r");
	/* Ctrl-D with -N: the client's connection is half-closed. */
	proc_puts(p, "\x04");
	cr_assert_eq(proc_wait_exit(py, T), 0, "%s\n%s", py->ebuf, p->obuf);
	proc_free(py);
	cr_assert(proc_wait_out(p, "disconnected", T), "%s", p->obuf);
	/* Ctrl-C stops the server cleanly. */
	proc_puts(p, "\x03");
	cr_assert_eq(proc_wait_exit(p, T), 0, "%s", p->obuf);
	cr_assert(strstr(p->obuf, "served 1 connection"), "%s", p->obuf);
	proc_free(p);
}

Test(serve, chat_prompt_on_a_terminal)
{
	struct proc *p = SERVE(PROC_PTY, "--tcp", "0", "-b", "127.0.0.1",
			       "--chat", "--banner", "hi\\n");
	struct proc *py;
	char ps[16];

	snprintf(ps, sizeof(ps), "%d", port_of(p));
	py = python_start(0,
			  PY "s = conn()\n"
			     "recv_until(s, b'hi\\n')\n"
			     "s.sendall(b'\\x1b[2Jhi all\\n')\n"
			     "expect(recv_until(s, b'there\\n'),"
			     " b'<server> hello there\\n')\n"
			     "print('OK')\n",
			  ps, NULL);
	/* --print is on by default on a terminal, escaped. */
	cr_assert(proc_wait_out(p, ": \\x1b[2Jhi all", T), "%s", p->obuf);
	cr_assert(proc_wait_out(p, "<server> ", T), "%s", p->obuf);
	proc_puts(p, "hello there\r");
	cr_assert_eq(proc_wait_exit(py, T), 0, "%s\n%s", py->ebuf, p->obuf);
	proc_free(py);
	cr_assert(!strstr(p->obuf, "\x1b[2J"), "raw escape on the terminal");
	proc_free(p);
}

Test(serve, relay_one_shot_http_responder)
{
	struct proc *p = SERVE(PROC_STDIN_PIPE, "--tcp", "0", "-b", "127.0.0.1",
			       "--relay", "--once", "-N");
	char url[64];
	const char *curl[] = {"curl", "-s", "-i", url, NULL};
	struct run r;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/path", port_of(p));
	proc_puts(p, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n"
		     "hello from sockctl\n");
	proc_close_stdin(p);
	cr_assert_eq(run_argv(&r, NULL, T, curl), 0, "%s", r.err);
	cr_assert(strstr(r.out, "200 OK") &&
			  strstr(r.out, "\r\n\r\nhello from sockctl\n"),
		  "%s", r.out);
	run_free(&r);
	cr_assert_eq(proc_wait_exit(p, T), 0, "%s", p->ebuf);
	cr_assert(strstr(p->obuf, "GET /path HTTP/1.1\r\n"), "%s", p->obuf);
	cr_assert(strstr(p->ebuf, "served 1 connection\n"), "%s", p->ebuf);
	proc_free(p);
}

Test(serve, relay_N_answers_a_client_that_finished_sending)
{
	struct proc *p = SERVE(PROC_STDIN_PIPE, "--tcp", "0", "-b", "127.0.0.1",
			       "--relay", "-N");
	struct proc *py;
	char ps[16];

	snprintf(ps, sizeof(ps), "%d", port_of(p));
	/* The request ends with the client's half-close; the answer comes
	 * from stdin after that, and its end ends the connection. */
	py = python_start(0,
			  PY "s = conn()\n"
			     "s.sendall(b'request')\n"
			     "s.shutdown(socket.SHUT_WR)\n"
			     "expect(recv_eof(s, 8), b'answer')\n"
			     "print('OK')\n",
			  ps, NULL);
	cr_assert(proc_wait_out(p, "request", T), "%s", p->ebuf);
	proc_puts(p, "answer");
	proc_close_stdin(p);
	cr_assert_eq(proc_wait_exit(py, T), 0, "%s", py->ebuf);
	proc_free(py);
	cr_assert(proc_wait_err(p, "(received 7 B, sent 6 B, ", T), "%s",
		  p->ebuf);
	stop_ok(p, NULL);
	proc_free(p);
}

Test(serve, relay_keeps_stdin_until_a_client_comes)
{
	struct proc *p = SERVE(PROC_STDIN_PIPE, "--tcp", "0", "-b", "127.0.0.1",
			       "--relay");
	char ps[16], *out;

	snprintf(ps, sizeof(ps), "%d", port_of(p));
	proc_puts(p, "written before anyone came\n");
	out = py_run_with(p,
			  PY
			  "s = conn()\n"
			  "print(recv_until(s, b'came\\n').decode(), end='')\n",
			  ps, NULL);
	cr_assert_str_eq(out, "written before anyone came\n");
	free(out);
	stop_ok(p, NULL);
	proc_free(p);
}

/*
 * Megabytes of random bytes from `sockctl connect < FILE` into
 * `serve --relay --once`, whose stdout is DEST: a pipe (the harness's),
 * a file (`>`) or a file opened O_APPEND (`>>`, which splice(2) refuses,
 * so serve falls back to copying).  Every byte must come out, in order.
 */
static void relay_megabytes(const char *extra, const char *dest)
{
	size_t n = 12 * 1024 * 1024 + 5, got_len = 0;
	char *dir = temp_dir(), in[512], out[512], cmd[2048];
	char *data = malloc(n), *got;
	const char *argv_sh[] = {"sh", "-c", cmd, NULL};
	unsigned x = 2463534242u;
	struct proc *p, *c;
	FILE *f;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		data[i] = (char)x;
	}
	snprintf(in, sizeof(in), "%s/in", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	f = fopen(in, "wb");
	cr_assert(f && fwrite(data, 1, n, f) == n && fclose(f) == 0);
	if (dest) {
		const char *argv[] = {"sh",  "-c", cmd, sockctl_path(),
				      extra, out,  NULL};

		snprintf(cmd, sizeof(cmd),
			 "exec \"$0\" serve --tcp 0 -b 127.0.0.1 --relay "
			 "--once $1 %s \"$2\"",
			 dest);
		p = proc_start(argv, 0);
	} else {
		p = SERVE(0, "--tcp", "0", "-b", "127.0.0.1", "--relay",
			  "--once", extra);
	}
	snprintf(cmd, sizeof(cmd), "exec '%s' connect -q 127.0.0.1 %d < '%s'",
		 sockctl_path(), port_of(p), in);
	/* Both run at once: the server's stdout may be our pipe. */
	c = proc_start(argv_sh, 0);
	if (!dest)
		cr_assert(proc_wait_out_len(p, n, 3 * T), "%zu bytes", p->olen);
	cr_assert_eq(proc_wait_exit(p, 3 * T), 0, "%s", p->ebuf);
	cr_assert_eq(proc_wait_exit(c, T), 0, "%s", c->ebuf);
	proc_free(c);
	got = dest ? read_file(out, &got_len) : p->obuf;
	if (!dest)
		got_len = p->olen;
	cr_assert_eq(got_len, n);
	cr_assert(memcmp(got, data, n) == 0, "the bytes differ");
	if (dest)
		free(got);
	unlink(in);
	unlink(out);
	rmdir(dir);
	free(dir);
	free(data);
	proc_free(p);
}

Test(serve, relay_megabytes_to_a_pipe)
{
	relay_megabytes("--no-print", NULL);
}

Test(serve, relay_megabytes_to_a_pipe_copied)
{
	relay_megabytes("--no-splice", NULL);
}

Test(serve, relay_megabytes_to_a_file)
{
	relay_megabytes("--no-print", ">");
}

Test(serve, relay_megabytes_to_a_file_copied)
{
	relay_megabytes("--no-splice", ">");
}

Test(serve, relay_megabytes_to_an_append_only_file)
{
	relay_megabytes("--no-print", ">>");
}

/*
 * A client sends megabytes and, once they are out on stdout, a short line,
 * and waits for an answer without closing.  The megabytes raise the
 * socket's receive mark (rxbatch); the line, far below it, must still come
 * out on stdout, or the answer it waits for is never typed.
 */
static void relay_tail(const char *extra)
{
	struct proc *p = SERVE(PROC_STDIN_PIPE, "--tcp", "0", "-b", "127.0.0.1",
			       "--relay", extra);
	size_t n = 4 * 1024 * 1024;
	struct proc *py;
	char ps[16];

	snprintf(ps, sizeof(ps), "%d", port_of(p));
	py = python_start(0,
			  PY "s = conn()\n"
			     "s.sendall(b'x' * 4194304)\n"
			     "expect(recv_until(s, b'go\\n'), b'go\\n')\n"
			     "s.sendall(b'then a line\\n')\n"
			     "expect(recv_until(s, b'answer\\n'),"
			     " b'answer\\n')\n"
			     "print('OK')\n",
			  ps, NULL);
	cr_assert(proc_wait_out_len(p, n, T), "%zu bytes", p->olen);
	proc_puts(p, "go\n");
	cr_assert(proc_wait_out_len(p, n + 12, T), "%zu bytes", p->olen);
	cr_assert_eq(p->olen, n + 12);
	cr_assert(memcmp(p->obuf + n, "then a line\n", 12) == 0);
	proc_puts(p, "answer\n");
	cr_assert_eq(proc_wait_exit(py, T), 0, "%s", py->ebuf);
	cr_assert_str_eq(py->obuf, "OK\n");
	proc_free(py);
	stop_ok(p, "served 1 connection\n");
	proc_free(p);
}

Test(serve, relay_a_line_after_megabytes_comes_out_at_once)
{
	relay_tail("--no-print");
}

Test(serve, relay_a_line_after_megabytes_comes_out_at_once_copied)
{
	relay_tail("--no-splice");
}

Test(serve, discard_counts_bytes)
{
	struct proc *p = SERVE(0, "--tcp", "0", "-b", "127.0.0.1", "--discard");
	int port = port_of(p);
	char *out;

	out = py_port(p,
		      PY "s = conn()\n"
			 "s.sendall(b'z' * 100000)\n"
			 "s.shutdown(socket.SHUT_WR)\n"
			 "expect(recv_eof(s), b'')\n"
			 "print('OK')\n",
		      port);
	cr_assert_str_eq(out, "OK\n");
	free(out);
	cr_assert(proc_wait_err(p, "(received 100000 B, sent 0 B, ", T), "%s",
		  p->ebuf);
	cr_assert_eq(p->olen, 0);
	stop_ok(p, NULL);
	proc_free(p);
}

/* ---- --exec ---- */

Test(serve, exec_tr_upper_cases)
{
	struct proc *p = SERVE(0, "--tcp", "0", "-b", "127.0.0.1", "--exec",
			       "tr a-z A-Z");
	char cmd[128];
	struct run r;

	snprintf(cmd, sizeof(cmd),
		 "printf 'hello world\\n' | nc -N "
		 "127.0.0.1 %d",
		 port_of(p));
	cr_assert_eq(sh(&r, cmd), 0, "%s", r.err);
	cr_assert_str_eq(r.out, "HELLO WORLD\n");
	run_free(&r);
	cr_assert(proc_wait_err(p, "disconnected 127.0.0.1:", T));
	cr_assert(strstr(p->ebuf, "(received 12 B, sent 12 B, "), "%s",
		  p->ebuf);
	stop_ok(p, "served 1 connection\n");
	proc_free(p);
}

Test(serve, sockopts_reach_every_connection)
{
	/* The --exec child looks at its own socket: the accepted one. */
	struct proc *p = SERVE(
		0, "--tcp", "0", "-b", "127.0.0.1", "-o", "nodelay=1", "-o",
		"SO_KEEPALIVE=on", "--exec",
		"python3 -c 'import socket; s = socket.socket(fileno=0); "
		"print(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY), "
		"s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)); "
		"s.detach()'");
	char *out;

	out = py_port(p, PY "print(recv_eof(conn()).decode(), end='')\n",
		      port_of(p));
	cr_assert_str_eq(out, "1 1\n");
	free(out);
	stop_ok(p, NULL);
	proc_free(p);
}

Test(serve, bad_sockopts)
{
	struct run r;

	cr_assert_eq(run_sockctl(&r, NULL, T, "serve", "--tcp", "0", "-o",
				 "nosuch=1", NULL),
		     2, "%s", r.err);
	cr_assert(strstr(r.err, "nosuch"), "%s", r.err);
	run_free(&r);
	cr_assert_eq(run_sockctl(&r, NULL, T, "serve", "--tcp", "0", "-b",
				 "127.0.0.1", "-o",
				 "SO_BINDTODEVICE=nosuchdev0", NULL),
		     1, "%s", r.err);
	cr_assert(strstr(r.err, "sockctl: serve: SO_BINDTODEVICE: "), "%s",
		  r.err);
	run_free(&r);
}

/* Children of pid that are still there (zombies included). */
static int children_of(pid_t pid)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	cr_assert(d);
	while ((e = readdir(d))) {
		char path[300], buf[512], *s;
		FILE *f;
		int ppid;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		buf[fread(buf, 1, sizeof(buf) - 1, f)] = '\0';
		fclose(f);
		s = strrchr(buf, ')');
		if (s && sscanf(s + 2, "%*c %d", &ppid) == 1 && ppid == pid)
			n++;
	}
	closedir(d);
	return n;
}

Test(serve, exec_environment_fds_and_reaping)
{
	struct proc *p = SERVE(0, "--tcp", "0", "-b", "127.0.0.1", "--banner",
			       "B\\n", "--exec",
			       "echo \"$SOCKCTL_PEER_ADDR "
			       "$SOCKCTL_PEER_PORT\"; ls /proc/$$/fd");
	int port = port_of(p);
	char *out;

	out = py_port(p,
		      PY "for i in range(3):\n"
			 "    s = conn()\n"
			 "    h, p = s.getsockname()[:2]\n"
			 "    expect(recv_eof(s), ('B\\n%s %d\\n0\\n1\\n2\\n' %"
			 " (h, p)).encode())\n"
			 "print('OK')\n",
		      port);
	cr_assert_str_eq(out, "OK\n");
	free(out);
	cr_assert(proc_wait_err_count(p, "disconnected", 3, T), "%s", p->ebuf);
	cr_assert_eq(children_of(p->pid), 0, "children left behind");
	stop_ok(p, "served 3 connections");
	proc_free(p);
}

Test(serve, exec_failing_command_is_reported)
{
	struct proc *p =
		SERVE(0, "--tcp", "0", "-b", "127.0.0.1", "--exec", "exit 3");
	int port = port_of(p);
	char *out;

	out = py_port(p, PY "expect(recv_eof(conn()), b'')\nprint('OK')\n",
		      port);
	free(out);
	cr_assert(proc_wait_err(p, "exited with status 3", T), "%s", p->ebuf);
	stop_ok(p, NULL);
	proc_free(p);
}

/* ---- limits ---- */

Test(serve, max_conns_refuses_the_extra_client)
{
	struct proc *p = SERVE(0, "--tcp", "0", "-b", "127.0.0.1", "-m", "2",
			       "--banner", "in\\n");
	int port = port_of(p);
	char *out;

	out = py_port(p,
		      PY "a = conn(); b = conn()\n"
			 "for x in (a, b):\n"
			 "    expect(recv_until(x, b'in\\n'), b'in\\n')\n"
			 "c = conn()\n"
			 "assert closed_by_peer(c), 'third client served'\n"
			 "a.sendall(b'still here')\n"
			 "expect(recv_until(a, b'here'), b'still here')\n"
			 "a.close()\n"
			 "for i in range(50):\n"
			 "    d = conn()\n"
			 "    if recv_until(d, b'in\\n', 1) == b'in\\n':\n"
			 "        break\n"
			 "else:\n"
			 "    raise SystemExit('no room after a client left')\n"
			 "print('OK')\n",
		      port);
	cr_assert_str_eq(out, "OK\n");
	free(out);
	cr_assert(strstr(p->ebuf, ": too many connections (max 2)\n"), "%s",
		  p->ebuf);
	cr_assert(strstr(p->ebuf, "refused 127.0.0.1:"), "%s", p->ebuf);
	stop_ok(p, NULL);
	proc_free(p);
}

Test(serve, idle_timeout_closes_only_the_idle_client)
{
	struct proc *p = SERVE(0, "--tcp", "0", "-b", "127.0.0.1", "-i", "0.5");
	int port = port_of(p);
	char *out;

	out = py_port(p,
		      PY "idle = conn(); busy = conn()\n"
			 "t0 = time.time()\n"
			 "while time.time() - t0 < 1.5:\n"
			 "    busy.sendall(b'tick')\n"
			 "    expect(recv_until(busy, b'tick'), b'tick')\n"
			 "    time.sleep(0.1)\n"
			 "assert closed_by_peer(idle, 0.1), 'idle one open'\n"
			 "busy.sendall(b'end')\n"
			 "expect(recv_until(busy, b'end'), b'end')\n"
			 "print('OK')\n",
		      port);
	cr_assert_str_eq(out, "OK\n");
	free(out);
	cr_assert_eq(count_substr(p->ebuf, ": idle timeout"), 1, "%s", p->ebuf);
	stop_ok(p, NULL);
	proc_free(p);
}

Test(serve, once_serves_one_client_then_exits)
{
	struct proc *p = SERVE(0, "--tcp", "0", "-b", "127.0.0.1", "--once",
			       "--banner", "hi\\n");
	int port = port_of(p);
	char *out;

	out = py_port(p,
		      PY "a = conn()\n"
			 "expect(recv_until(a, b'hi\\n'), b'hi\\n')\n"
			 "try:\n"
			 "    conn()\n"
			 "    raise SystemExit('a second client got in')\n"
			 "except ConnectionRefusedError:\n"
			 "    pass\n"
			 "a.sendall(b'bye')\n"
			 "expect(recv_until(a, b'bye'), b'bye')\n"
			 "a.close()\n"
			 "print('OK')\n",
		      port);
	cr_assert_str_eq(out, "OK\n");
	free(out);
	cr_assert_eq(proc_wait_exit(p, T), 0, "%s", p->ebuf);
	cr_assert(strstr(p->ebuf, "served 1 connection\n"), "%s", p->ebuf);
	proc_free(p);
}

Test(serve, accept_timeout_is_exit_5)
{
	struct run r;

	cr_assert_eq(run_sockctl(&r, NULL, T, "serve", "--tcp", "0", "-b",
				 "127.0.0.1", "-w", "0.2", NULL),
		     5, "%s", r.err);
	cr_assert(strstr(r.err,
			 "sockctl: serve: no client connected within 0.2 s: "
			 "timed out\n"),
		  "%s", r.err);
	run_free(&r);
}

Test(serve, accept_timeout_does_not_fire_once_a_client_came)
{
	struct proc *p = SERVE(0, "--tcp", "0", "-b", "127.0.0.1", "-w", "0.3",
			       "--once");
	struct sockaddr_in sin = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char buf[8];

	/* Connect from here at once (a Python peer may take longer to start
	 * than the timeout), then outlast the timeout. */
	sin.sin_port = htons((uint16_t)port_of(p));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert(proc_wait_err(p, "connected by", T), "%s", p->ebuf);
	cr_assert(!proc_wait_err(p, "timed out", 600), "%s", p->ebuf);
	cr_assert_eq(write(fd, "late", 4), 4);
	cr_assert_eq(recv(fd, buf, 4, MSG_WAITALL), 4);
	close(fd);
	cr_assert_eq(proc_wait_exit(p, T), 0, "%s", p->ebuf);
	proc_free(p);
}

/* ---- ACLs ---- */

static const char refused_check[] =
	PY "s = conn(A[1])\n"
	   "print('refused' if closed_by_peer(s) else 'served')\n";
static const char served_check[] =
	PY "s = conn(A[1])\n"
	   "s.sendall(b'ping')\n"
	   "expect(recv_until(s, b'ping'), b'ping')\n"
	   "print('served')\n";

static void acl_case(const char *host, bool refused, const char *const *args)
{
	const char *argv[32] = {sockctl_path(), "serve", "--tcp", "0"};
	struct proc *p;
	char ps[16], *out;
	int n = 4;

	while (*args)
		argv[n++] = *args++;
	argv[n] = NULL;
	p = proc_start(argv, 0);
	snprintf(ps, sizeof(ps), "%d", port_of(p));
	out = py_run_with(p, refused ? refused_check : served_check, ps, host);
	cr_assert_str_eq(out, refused ? "refused\n" : "served\n", "%s %s", host,
			 p->ebuf);
	free(out);
	if (refused)
		cr_assert(proc_wait_err(p, ": not allowed\n", T), "%s",
			  p->ebuf);
	stop_ok(p, NULL);
	proc_free(p);
}

Test(serve, acl_deny_and_allow_ipv4)
{
	acl_case("127.0.0.1", true,
		 (const char *[]){"-b", "127.0.0.1", "--deny", "127.0.0.1",
				  NULL});
	acl_case("127.0.0.1", true,
		 (const char *[]){"-b", "127.0.0.1", "--allow", "10.0.0.0/8",
				  NULL});
	acl_case("127.0.0.1", false,
		 (const char *[]){"-b", "127.0.0.1", "--allow", "10.0.0.0/8",
				  "--allow", "127.0.0.0/8", NULL});
	/* --deny wins over --allow. */
	acl_case("127.0.0.1", true,
		 (const char *[]){"-b", "127.0.0.1", "--allow", "127.0.0.0/8",
				  "--deny", "127.0.0.1/32", NULL});
}

Test(serve, acl_ipv6_and_v4_mapped)
{
	acl_case("::1", true,
		 (const char *[]){"-b", "::1", "--deny", "::1/128", NULL});
	acl_case("::1", false,
		 (const char *[]){"-b", "::1", "--allow", "::1", NULL});
	/* On the dual-stack socket 127.0.0.1 arrives as ::ffff:127.0.0.1. */
	acl_case("127.0.0.1", true,
		 (const char *[]){"--deny", "127.0.0.0/8", NULL});
	acl_case("127.0.0.1", false, (const char *[]){"--deny", "::1", NULL});
	/* ... and a v4-mapped CIDR applies to a plain IPv4 socket too. */
	acl_case("127.0.0.1", true,
		 (const char *[]){"-4", "--deny", "::ffff:127.0.0.1", NULL});
}

Test(serve, acl_files)
{
	char *dir = temp_dir(), allow[256], deny[256];
	FILE *f;

	snprintf(allow, sizeof(allow), "%s/allow", dir);
	snprintf(deny, sizeof(deny), "%s/deny", dir);
	f = fopen(allow, "w");
	fputs("# who may come\n\n10.0.0.0/8\n  127.0.0.1/32   # me\n", f);
	fclose(f);
	f = fopen(deny, "w");
	fputs("::1\n127.0.0.0/8\n", f);
	fclose(f);
	acl_case("127.0.0.1", false,
		 (const char *[]){"-b", "127.0.0.1", "--allow-file", allow,
				  NULL});
	acl_case(
		"127.0.0.1", true,
		(const char *[]){"-b", "127.0.0.1", "--deny-file", deny, NULL});
	unlink(allow);
	unlink(deny);
	rmdir(dir);
	free(dir);
}

/* ---- signals and memory ---- */

Test(serve, sigterm_flushes_then_exits_0)
{
	struct proc *p = SERVE(0, "--tcp", "0", "-b", "127.0.0.1");
	struct proc *py;
	char ps[16];

	snprintf(ps, sizeof(ps), "%d", port_of(p));
	/* The client fills the pipe both ways without reading, so the
	 * server holds queued output when it is told to stop. */
	py = python_start(PROC_STDIN_PIPE,
			  PY
			  "s = conn()\n"
			  "idle = conn()\n"
			  "s.setblocking(False)\n"
			  "sent = bytearray()\n"
			  "chunk = bytes(range(256)) * 256\n"
			  "while True:\n"
			  "    try:\n"
			  "        n = s.send(chunk)\n"
			  "        sent += chunk[:n]\n"
			  "    except BlockingIOError:\n"
			  "        if not select.select([], [s], [], 0.3)[1]:\n"
			  "            break\n"
			  "print('BLOCKED', flush=True)\n"
			  "sys.stdin.readline()\n"
			  "s.setblocking(True)\n"
			  "got = recv_eof(s, 10)\n"
			  "assert len(got) > 0 and got == sent[:len(got)]\n"
			  "expect(recv_eof(idle), b'')\n"
			  "print('GOT', len(got))\n",
			  ps, NULL);
	cr_assert(proc_wait_out(py, "BLOCKED", 2 * T), "%s", py->ebuf);
	proc_signal(p, SIGTERM);
	proc_puts(py, "go\n");
	cr_assert_eq(proc_wait_exit(py, 2 * T), 0, "%s", py->ebuf);
	cr_assert(strstr(py->obuf, "GOT "), "%s", py->obuf);
	proc_free(py);
	cr_assert_eq(proc_wait_exit(p, T), 0, "%s", p->ebuf);
	cr_assert(strstr(p->ebuf, "served 2 connections\n"), "%s", p->ebuf);
	proc_free(p);
}

Test(serve, sigint_stops_too_and_quiet_keeps_only_listening)
{
	struct proc *p = SERVE(0, "--tcp", "0", "-b", "127.0.0.1", "-q");
	char *out;

	out = py_port(p,
		      PY "s = conn()\n"
			 "s.sendall(b'q')\n"
			 "expect(recv_until(s, b'q'), b'q')\n"
			 "s.close()\n",
		      port_of(p));
	free(out);
	proc_signal(p, SIGINT);
	cr_assert_eq(proc_wait_exit(p, T), 0);
	cr_assert_eq(count_lines(p->ebuf), 1, "-q printed: %s", p->ebuf);
	cr_assert(!strncmp(p->ebuf, "listening on 127.0.0.1:", 23), "%s",
		  p->ebuf);
	proc_free(p);
}

Test(serve, a_client_that_never_reads_cannot_grow_memory)
{
	struct proc *p = SERVE(0, "--tcp", "0", "-b", "127.0.0.1");
	struct proc *hog;
	char ps[16], *out;
	long base, rss;

	snprintf(ps, sizeof(ps), "%d", port_of(p));
	base = proc_rss_kb(p->pid);
	cr_assert(base > 0);
	hog = python_start(
		PROC_STDIN_PIPE,
		PY "s = conn()\n"
		   "s.setblocking(False)\n"
		   "total = 0\n"
		   "chunk = b'x' * 65536\n"
		   "end = time.time() + 20\n"
		   "while time.time() < end:\n"
		   "    try:\n"
		   "        total += s.send(chunk)\n"
		   "    except BlockingIOError:\n"
		   "        if not select.select([], [s], [], 0.5)[1]:\n"
		   "            break\n"
		   "print('STUCK', total, flush=True)\n"
		   "sys.stdin.readline()\n",
		ps, NULL);
	cr_assert(proc_wait_out(hog, "STUCK", 3 * T), "%s", hog->ebuf);
	/* Others are served meanwhile. */
	out = py_port(p,
		      PY "s = conn()\n"
			 "s.sendall(b'x' * 100000)\n"
			 "expect(len(recv_until(s, b'never', 1)), 100000)\n"
			 "print('OK')\n",
		      atoi(ps));
	cr_assert_str_eq(out, "OK\n");
	free(out);
	rss = proc_rss_kb(p->pid);
	cr_assert(rss - base < 4096,
		  "server grew from %ld to %ld KiB while the hog sent %s", base,
		  rss, hog->obuf);
	cr_assert(atol(hog->obuf + 6) > 1 << 20, "%s", hog->obuf);
	proc_puts(hog, "\n");
	cr_assert_eq(proc_wait_exit(hog, T), 0);
	proc_free(hog);
	stop_ok(p, NULL);
	proc_free(p);
}

Test(serve, out_of_fds_pauses_accepting_and_recovers)
{
	const char *argv[] = {"sh",
			      "-c",
			      "ulimit -n 24 && exec \"$0\" \"$@\"",
			      sockctl_path(),
			      "serve",
			      "--tcp",
			      "0",
			      "-b",
			      "127.0.0.1",
			      NULL};
	struct proc *p = proc_start(argv, 0);
	char ps[16], pid[16], *out;

	snprintf(ps, sizeof(ps), "%d", port_of(p));
	snprintf(pid, sizeof(pid), "%d", (int)p->pid);
	/* 40 clients for about 18 free fds: the rest wait in the backlog
	 * while the server neither spins nor dies, and get served once
	 * the first ones leave. */
	out = py_run_with(
		p,
		PY "N = 40\n"
		   "tck = os.sysconf('SC_CLK_TCK')\n"
		   "def ticks():\n"
		   "    f = open('/proc/%s/stat' % A[1]).read()\n"
		   "    v = f[f.rindex(')') + 2:].split()\n"
		   "    return int(v[11]) + int(v[12])\n"
		   "cs = [conn() for i in range(N)]\n"
		   "for i, c in enumerate(cs):\n"
		   "    c.sendall(b'%d;' % i)\n"
		   "t0 = ticks()\n"
		   "done = set()\n"
		   "end = time.time() + 1\n"
		   "while time.time() < end:\n"
		   "    for i, c in enumerate(cs):\n"
		   "        if i not in done and select.select([c], [], [], "
		   "0)[0]:\n"
		   "            expect(c.recv(100), b'%d;' % i)\n"
		   "            done.add(i)\n"
		   "    time.sleep(0.01)\n"
		   "spent = ticks() - t0\n"
		   "assert 0 < len(done) < N, len(done)\n"
		   "assert spent < tck // 4, 'server used %d ticks' % spent\n"
		   "for i in list(done):\n"
		   "    cs[i].close()\n"
		   "end = time.time() + 20\n"
		   "while len(done) < N and time.time() < end:\n"
		   "    for i, c in enumerate(cs):\n"
		   "        if i not in done and select.select([c], [], [], "
		   "0)[0]:\n"
		   "            expect(c.recv(100), b'%d;' % i)\n"
		   "            done.add(i)\n"
		   "            c.close()\n"
		   "    time.sleep(0.01)\n"
		   "expect(len(done), N)\n"
		   "print('OK')\n",
		ps, pid);
	cr_assert_str_eq(out, "OK\n");
	free(out);
	cr_assert(strstr(p->ebuf, "accept: Too many open files: not "
				  "accepting for a moment\n"),
		  "%s", p->ebuf);
	cr_assert_eq(count_substr(p->ebuf, "Too many open files"), 1, "%s",
		     p->ebuf);
	cr_assert(strstr(p->ebuf, "accepting again\n"), "%s", p->ebuf);
	stop_ok(p, "served 40 connections");
	proc_free(p);
}

/* ---- output ---- */

Test(serve, print_shows_escaped_lines_on_stdout)
{
	struct proc *p = SERVE(0, "--tcp", "0", "-b", "127.0.0.1", "--print");
	int port = port_of(p);
	char *out, want[128];

	out = py_port(p,
		      PY "s = conn()\n"
			 "s.sendall(b'hello \\x1b[31mred\\n')\n"
			 "recv_until(s, b'red\\n')\n"
			 "s.sendall(b'part')\n"
			 "recv_until(s, b'part')\n"
			 "s.sendall(b'\\n')\n"
			 "recv_until(s, b'\\n')\n"
			 "print(name(s))\n",
		      port);
	out[strlen(out) - 1] = '\0';
	snprintf(want, sizeof(want), "%s: hello \\x1b[31mred\n%s: part\n", out,
		 out);
	cr_assert(proc_wait_out(p, "part\n", T));
	cr_assert_str_eq(p->obuf, want);
	free(out);
	stop_ok(p, NULL);
	proc_free(p);
}

Test(serve, print_is_default_on_a_terminal_only)
{
	struct proc *p = SERVE(PROC_PTY, "--tcp", "0", "-b", "127.0.0.1");
	int port = port_of(p);
	char *out;

	out = py_port(p,
		      PY "s = conn()\n"
			 "s.sendall(b'on the tty\\n')\n"
			 "recv_until(s, b'tty\\n')\n"
			 "print('OK')\n",
		      port);
	free(out);
	cr_assert(proc_wait_out(p, ": on the tty", T), "%s", p->obuf);
	proc_free(p);
	/* The same with stdout a pipe prints nothing there. */
	p = SERVE(0, "--tcp", "0", "-b", "127.0.0.1");
	out = py_port(p,
		      PY "s = conn()\n"
			 "s.sendall(b'piped\\n')\n"
			 "recv_until(s, b'piped\\n')\n"
			 "s.close()\n",
		      port_of(p));
	free(out);
	cr_assert(proc_wait_err(p, "disconnected", T));
	stop_ok(p, NULL);
	cr_assert_eq(p->olen, 0, "%s", p->obuf);
	proc_free(p);
}

Test(serve, json_log_format)
{
	struct proc *p = SERVE(0, "--tcp", "0", "-b", "127.0.0.1",
			       "--log-format", "json");
	char *out, *port;

	cr_assert(proc_wait_err(p, "\"port\":", T), "%s", p->ebuf);
	port = strstr(p->ebuf, "\"port\":") + 7;
	out = py_port(p,
		      PY "s = conn()\n"
			 "s.sendall(b'12345')\n"
			 "recv_until(s, b'12345')\n"
			 "s.close()\n",
		      atoi(port));
	free(out);
	cr_assert(proc_wait_err(p, "\"disconnected\"", T), "%s", p->ebuf);
	stop_ok(p, NULL);
	out = py_run_with(
		NULL,
		PY "ev = [json.loads(l) for l in A[0].splitlines()]\n"
		   "expect([e['event'] for e in ev], ['listening', 'connected',"
		   " 'disconnected', 'served'])\n"
		   "expect(ev[0]['proto'], 'tcp')\n"
		   "expect(ev[2]['received'], 5)\n"
		   "expect(ev[2]['sent'], 5)\n"
		   "expect(ev[2]['peer'], ev[1]['peer'])\n"
		   "expect(ev[3]['connections'], 1)\n"
		   "print('OK')\n",
		p->ebuf, NULL);
	cr_assert_str_eq(out, "OK\n");
	free(out);
	proc_free(p);
}

Test(serve, trace_records_each_chunk)
{
	char *dir = temp_dir(), path[256], *text, *out;
	struct proc *p;

	snprintf(path, sizeof(path), "%s/trace", dir);
	p = SERVE(0, "--tcp", "0", "-b", "127.0.0.1", "--trace", path);
	out = py_port(p,
		      PY "s = conn()\n"
			 "s.sendall(b'ping\\x01\\n')\n"
			 "recv_until(s, b'\\n')\n"
			 "print(name(s))\n",
		      port_of(p));
	stop_ok(p, NULL);
	out[strlen(out) - 1] = '\0';
	text = read_file(path, NULL);
	cr_assert_eq(count_lines(text), 2, "%s", text);
	{
		char recv[128], sent[128];

		snprintf(recv, sizeof(recv), " %s recv 6 ping\\x01\\n\n", out);
		snprintf(sent, sizeof(sent), " %s send 6 ping\\x01\\n\n", out);
		cr_assert(strstr(text, recv) && strstr(text, sent), "%s", text);
	}
	free(text);
	free(out);
	unlink(path);
	rmdir(dir);
	free(dir);
	proc_free(p);
}

Test(serve, trace_as_json_lines)
{
	char *dir = temp_dir(), path[256], *text, *out;
	struct proc *p;

	snprintf(path, sizeof(path), "%s/trace", dir);
	p = SERVE(0, "--tcp", "0", "-b", "127.0.0.1", "--trace", path,
		  "--log-format", "json");
	cr_assert(proc_wait_err(p, "\"port\":", T), "%s", p->ebuf);
	out = py_port(p,
		      PY "s = conn()\n"
			 "s.sendall(b'\\xff\\x00')\n"
			 "recv_until(s, b'\\x00')\n"
			 "print(name(s))\n",
		      atoi(strstr(p->ebuf, "\"port\":") + 7));
	stop_ok(p, NULL);
	free(out);
	text = read_file(path, NULL);
	out = py_run_with(NULL,
			  PY
			  "import base64\n"
			  "ev = [json.loads(l) for l in A[0].splitlines()]\n"
			  "expect([e['dir'] for e in ev], ['recv', 'send'])\n"
			  "for e in ev:\n"
			  "    expect(e['len'], 2)\n"
			  "    expect(base64.b64decode(e['data_base64']), "
			  "b'\\xff\\x00')\n"
			  "    assert e['peer'].startswith('127.0.0.1:'), e\n"
			  "print('OK')\n",
			  text, NULL);
	cr_assert_str_eq(out, "OK\n");
	free(out);
	free(text);
	unlink(path);
	rmdir(dir);
	free(dir);
	proc_free(p);
}

/* ---- Unix sockets ---- */

Test(serve, unix_socket_serves_and_cleans_up)
{
	char *dir = temp_dir(), path[256], want[300], *out;
	struct proc *p;
	struct stat st;

	snprintf(path, sizeof(path), "%s/s.sock", dir);
	p = SERVE(0, "--unix", path, "--prefix", "> ");
	snprintf(want, sizeof(want), "listening on %s (unix)\n", path);
	cr_assert(proc_wait_err(p, want, T), "%s", p->ebuf);
	out = py_run_with(p,
			  PY
			  "s = uconn(A[0])\n"
			  "s.sendall(b'over unix\\n')\n"
			  "expect(recv_until(s, b'\\n'), b'> over unix\\n')\n"
			  "print(os.getpid())\n",
			  path, NULL);
	snprintf(want, sizeof(want), "connected by pid=%d\n", atoi(out));
	cr_assert(strstr(p->ebuf, want), "%s", p->ebuf);
	free(out);
	stop_ok(p, "served 1 connection");
	cr_assert(stat(path, &st) < 0 && errno == ENOENT,
		  "socket file left behind");
	proc_free(p);
	rmdir(dir);
	free(dir);
}

Test(serve, unix_stale_live_and_non_socket_paths)
{
	char *dir = temp_dir(), path[256], file[256], *out;
	struct proc *p;
	struct run r;
	FILE *f;

	/* A stale socket file (its server died) is replaced. */
	snprintf(path, sizeof(path), "%s/s.sock", dir);
	out = py_run_with(NULL,
			  PY "s = socket.socket(socket.AF_UNIX)\n"
			     "s.bind(A[0])\n"
			     "s.listen()\n"
			     "s.close()\n",
			  path, NULL);
	free(out);
	p = SERVE(0, "--unix", path);
	cr_assert(proc_wait_err(p, "(unix)", T), "%s", p->ebuf);
	/* A live one is in use. */
	cr_assert_eq(run_sockctl(&r, NULL, T, "serve", "--unix", path, NULL), 1,
		     "%s", r.err);
	cr_assert(strstr(r.err, "Address already in use"), "%s", r.err);
	run_free(&r);
	stop_ok(p, NULL);
	proc_free(p);
	/* Anything else is never removed. */
	snprintf(file, sizeof(file), "%s/notes.txt", dir);
	f = fopen(file, "w");
	fputs("keep me\n", f);
	fclose(f);
	cr_assert_eq(run_sockctl(&r, NULL, T, "serve", "--unix", file, NULL), 1,
		     "%s", r.err);
	cr_assert(strstr(r.err, "exists and is not a socket"), "%s", r.err);
	run_free(&r);
	out = read_file(file, NULL);
	cr_assert_str_eq(out, "keep me\n");
	free(out);
	unlink(file);
	rmdir(dir);
	free(dir);
}

/* ---- --udp ---- */

Test(serve, udp_runs_udp_listen_with_its_options)
{
	struct proc *p =
		SERVE(0, "--udp", "0", "-b", "127.0.0.1", "--prefix", "OK ");
	int port = port_of(p);
	char *out;

	cr_assert(strstr(p->ebuf, "listening on 127.0.0.1:"), "%s", p->ebuf);
	cr_assert(strstr(p->ebuf, " (udp)\n"), "%s", p->ebuf);
	out = py_port(p,
		      PY
		      "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
		      "s.settimeout(5)\n"
		      "s.sendto(b'hi\\n', ('127.0.0.1', PORT))\n"
		      "expect(s.recv(100), b'OK hi\\n')\n"
		      "print(s.getsockname()[1])\n",
		      port);
	{
		char want[64];

		/* udp-listen's line per datagram, on stdout. */
		snprintf(want, sizeof(want), "127.0.0.1:%d: hi\\n\n",
			 atoi(out));
		cr_assert(proc_wait_out(p, want, T), "%s", p->obuf);
	}
	free(out);
	proc_signal(p, SIGTERM);
	cr_assert_eq(proc_wait_exit(p, T), 0, "%s", p->ebuf);
	proc_free(p);
}

Test(serve, udp_usage_errors)
{
	struct run r;

	cr_assert_eq(run_sockctl(&r, NULL, T, "serve", "--udp", NULL), 2);
	cr_assert(strstr(r.err, "option '--udp' needs a value"), "%s", r.err);
	run_free(&r);
	/* A serve-only mode is not an option of udp-listen. */
	cr_assert_eq(
		run_sockctl(&r, NULL, T, "serve", "--udp", "0", "--chat", NULL),
		2);
	cr_assert(strstr(r.err, "sockctl: udp-listen: unknown option "
				"'--chat'"),
		  "%s", r.err);
	run_free(&r);
}

/* ---- usage errors ---- */

Test(serve, usage_errors_exit_2)
{
	static const char *const cases[][8] = {
		{NULL},
		{"--tcp", "0", "--unix", "/tmp/x", NULL},
		{"--tcp", "0", "--echo", "--chat", NULL},
		{"--tcp", "0", "-N", NULL},
		{"--tcp", "0", "--banner", "bad \\q", NULL},
		{"--tcp", "0", "--prefix", "\\x4", NULL},
		{"--tcp", "70000", NULL},
		{"--tcp", "0", "--allow", "10.0.0.0/33", NULL},
		{"--tcp", "0", "--print", "--relay", NULL},
		{"--tcp", "0", "-m", "0", NULL},
		{"--tcp", "0", "-i", "-1", NULL},
		{"--tcp", "0", "-w", "soon", NULL},
		{"--tcp", "0", "--log-format", "xml", NULL},
		{"--tcp", "0", "--exec", "cat", "-i", "5", NULL},
		{"--unix", "/tmp/x", "-b", "127.0.0.1", NULL},
		{"--tcp", "0", "--no-such-flag", NULL},
		{"--tcp", "0", "extra", NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *argv[12] = {sockctl_path(), "serve"};
		struct run r;
		int n = 2;

		for (int k = 0; cases[i][k]; k++)
			argv[n++] = cases[i][k];
		argv[n] = NULL;
		cr_expect_eq(run_argv(&r, NULL, T, argv), 2, "case %zu: %s", i,
			     r.err);
		cr_expect(strstr(r.err, "sockctl: serve: ") &&
				  strstr(r.err, "Try 'sockctl serve --help'."),
			  "case %zu: %s", i, r.err);
		cr_expect_eq(count_lines(r.err), 2, "case %zu: %s", i, r.err);
		cr_expect_eq(r.olen, 0, "case %zu", i);
		run_free(&r);
	}
}

Test(serve, a_missing_value_is_named_as_typed)
{
	struct run r;

	cr_assert_eq(run_sockctl(&r, NULL, T, "serve", "--tcp", "0", "--banner",
				 NULL),
		     2);
	cr_assert(strstr(r.err, "option '--banner' needs a value\n"), "%s",
		  r.err);
	run_free(&r);
}

Test(serve, missing_files_are_exit_1)
{
	static const char *const cases[][5] = {
		{"--tcp", "0", "--allow-file", "/nonexistent/allow", NULL},
		{"--tcp", "0", "--trace", "/nonexistent/dir/trace", NULL},
		{"--unix", "/nonexistent/dir/s.sock", NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *argv[8] = {sockctl_path(), "serve"};
		struct run r;
		int n = 2;

		for (int k = 0; cases[i][k]; k++)
			argv[n++] = cases[i][k];
		argv[n] = NULL;
		cr_expect_eq(run_argv(&r, NULL, T, argv), 1, "case %zu: %s", i,
			     r.err);
		cr_expect(strstr(r.err, "No such file or directory"), "%s",
			  r.err);
		run_free(&r);
	}
}

Test(serve, unknown_service_is_exit_3)
{
	struct run r;

	cr_assert_eq(
		run_sockctl(&r, NULL, T, "serve", "--tcp", "nosuchsvc", NULL),
		3, "%s", r.err);
	run_free(&r);
}
