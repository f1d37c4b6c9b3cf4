/*
 * test_connect.c - `sockctl connect` against real peers on loopback:
 * Python socket servers of several temperaments, socat, nc and Python's
 * http.server; pipe mode, interactive mode through a pseudo-terminal,
 * port checks, every option of SPEC section 2 and the exit statuses.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define T 10000

/*
 * One Python peer, several temperaments: python3 -c PEER MODE [FAMILY
 * [PATH]].  It prints `PORT n` once it listens (0 for Unix sockets).
 */
static const char PEER[] =
	"import socket, sys, threading, time\n"
	"mode = sys.argv[1]\n"
	"fam = sys.argv[2] if len(sys.argv) > 2 else '4'\n"
	"if fam == '4':\n"
	"    s = socket.socket(); s.bind(('127.0.0.1', 0))\n"
	"elif fam == '6':\n"
	"    s = socket.socket(socket.AF_INET6); s.bind(('::1', 0))\n"
	"else:\n"
	"    path = sys.argv[3]\n"
	"    s = socket.socket(socket.AF_UNIX)\n"
	"    s.bind('\\0' + path[1:] if path[0] == '@' else path)\n"
	"port = s.getsockname()[1] if fam != 'unix' else 0\n"
	"if mode in ('refuse', 'late'):\n"
	"    print('PORT', port, flush=True)\n"
	"    sys.stdin.readline()\n"
	"    if mode == 'refuse': sys.exit()\n"
	"s.listen(16)\n"
	"if mode != 'late': print('PORT', port, flush=True)\n"
	"clients = []\n"
	"def readall(c):\n"
	"    n = 0\n"
	"    while True:\n"
	"        d = c.recv(65536)\n"
	"        if not d: return n\n"
	"        n += len(d)\n"
	"def serve(c, a):\n"
	"    if mode in ('echo', 'trigger', 'late', 'record', 'peer'):\n"
	"        if mode == 'peer': print('PEER', a[0], a[1], flush=True)\n"
	"        if mode == 'late': c.sendall(b'hi\\n')\n"
	"        while True:\n"
	"            d = c.recv(65536)\n"
	"            if not d: break\n"
	"            if mode == 'record': print('GOT', repr(d), flush=True)\n"
	"            c.sendall(d)\n"
	"    elif mode == 'after_eof':\n"
	"        n = readall(c)\n"
	"        c.sendall(b'got %d bytes\\n' % n)\n"
	"    elif mode == 'close_now':\n"
	"        c.sendall(b'bye\\n')\n"
	"    elif mode == 'half':\n"
	"        c.sendall(b'ignored\\n'); c.shutdown(socket.SHUT_WR)\n"
	"        print('COUNT', readall(c), flush=True)\n"
	"    elif mode == 'send_wait_eof':\n"
	"        c.sendall(b'data\\n')\n"
	"        print('EOF', readall(c), flush=True)\n"
	"    elif mode == 'never_close':\n"
	"        print('EOF', readall(c), flush=True)\n"
	"        time.sleep(60)\n"
	"    c.close()\n"
	"def typed():\n"
	"    for line in sys.stdin:\n"
	"        for c in clients: c.sendall(line.encode())\n"
	"if mode == 'trigger': threading.Thread(target=typed, "
	"daemon=True).start()\n"
	"while True:\n"
	"    c, a = s.accept(); clients.append(c)\n"
	"    if mode == 'trigger': print('ACCEPTED', flush=True)\n"
	"    threading.Thread(target=serve, args=(c, a), "
	"daemon=True).start()\n";

static struct proc *peer(const char *mode, int *port)
{
	struct proc *p = python_start(PROC_STDIN_PIPE, PEER, mode, NULL);

	*port = proc_stdout_port(p, T);
	cr_assert_gt(*port, 0, "peer did not start: %s", p->ebuf);
	return p;
}

static char *num(int n)
{
	char *s;

	cr_assert(asprintf(&s, "%d", n) > 0);
	return s;
}

/* ---- pipe mode ---- */

Test(connect, pipe_echo_roundtrip)
{
	int port;
	struct proc *srv = peer("echo", &port);
	char *ps = num(port);
	struct run r;

	cr_assert_eq(run_sockctl(&r, "hello\nworld\n", T, "connect",
				 "127.0.0.1", ps, NULL),
		     0, "%s", r.err);
	cr_assert_str_eq(r.out, "hello\nworld\n");
	cr_assert_str_empty(r.err);
	run_free(&r);
	/* HOST:PORT works the same. */
	char *hp;
	cr_assert(asprintf(&hp, "127.0.0.1:%d", port) > 0);
	cr_assert_eq(run_sockctl(&r, "x", T, "connect", hp, NULL), 0);
	cr_assert_str_eq(r.out, "x");
	run_free(&r);
	free(hp);
	free(ps);
	proc_free(srv);
}

/* A pipe on stdin is widened (1 MiB, when pipe-max-size allows) so that
 * the writer runs ahead; bytes still arrive intact. */
Test(connect, stdin_pipe_is_widened)
{
	int port;
	struct proc *srv = peer("echo", &port);
	char *ps = num(port),
	     *max = read_file("/proc/sys/fs/pipe-max-size", NULL);
	struct proc *c = sockctl_start(PROC_STDIN_PIPE, "connect", "-v",
				       "127.0.0.1", ps, NULL);
	int want = max && atoi(max) < (1 << 20) ? atoi(max) : 1 << 20;

	cr_assert(proc_wait_err(c, "connected to", T), "%s", c->ebuf);
	proc_puts(c, "still one pipe\n");
	cr_assert(proc_wait_out(c, "still one pipe\n", T), "%s", c->ebuf);
	cr_assert_geq(fcntl(c->in, F_GETPIPE_SZ), want);
	proc_close_stdin(c);
	cr_assert_eq(proc_wait_exit(c, T), 0, "%s", c->ebuf);
	free(max);
	free(ps);
	proc_free(c);
	proc_free(srv);
}

/*
 * Megabytes echoed back raise the receive mark of connect's socket
 * (rxbatch); a line sent after they are all back, far below the mark, must
 * still come out while the connection stays open (no FIN to wake anyone).
 */
static void echo_tail(bool copied)
{
	int port;
	struct proc *srv = peer("echo", &port);
	char *ps = num(port);
	struct proc *c =
		copied ? sockctl_start(PROC_STDIN_PIPE, "connect", "-q",
				       "--no-splice", "127.0.0.1", ps, NULL)
		       : sockctl_start(PROC_STDIN_PIPE, "connect", "-q",
				       "127.0.0.1", ps, NULL);
	size_t n = 4 * 1024 * 1024;
	char *data = calloc(1, n + 12);

	cr_assert_not_null(data);
	memcpy(data + n, "then a line\n", 12);
	proc_write(c, data, n);
	cr_assert(proc_wait_out_len(c, n, T), "%zu bytes", c->olen);
	proc_write(c, data + n, 12);
	cr_assert(proc_wait_out_len(c, n + 12, T), "%zu bytes", c->olen);
	cr_assert_eq(c->olen, n + 12);
	cr_assert(memcmp(c->obuf, data, n + 12) == 0, "the bytes differ");
	proc_close_stdin(c);
	cr_assert_eq(proc_wait_exit(c, T), 0, "%s", c->ebuf);
	free(data);
	free(ps);
	proc_free(c);
	proc_free(srv);
}

Test(connect, a_line_after_megabytes_comes_out_at_once)
{
	echo_tail(true);
}

Test(connect, a_line_after_megabytes_comes_out_at_once_spliced)
{
	echo_tail(false);
}

Test(connect, reply_after_client_eof_is_not_lost)
{
	int port;
	struct proc *srv = peer("after_eof", &port);
	char *ps = num(port);
	struct run r;

	cr_assert_eq(
		run_sockctl(&r, "12345", T, "connect", "127.0.0.1", ps, NULL),
		0, "%s", r.err);
	cr_assert_str_eq(r.out, "got 5 bytes\n");
	run_free(&r);
	free(ps);
	proc_free(srv);
}

/* nc and ncat hang here: the peer is gone but stdin is still open. */
Test(connect, exits_when_peer_closes_while_stdin_stays_open)
{
	int port;
	struct proc *srv = peer("close_now", &port);
	char *ps = num(port);
	struct proc *c = sockctl_start(PROC_STDIN_PIPE, "connect", "127.0.0.1",
				       ps, NULL);

	cr_assert_eq(proc_wait_exit(c, T), 0, "%s", c->ebuf);
	cr_assert_str_eq(c->obuf, "bye\n");
	cr_assert_geq(c->in, 0, "stdin was still open");
	proc_free(c);
	free(ps);
	proc_free(srv);
}

static char *big_payload(size_t n)
{
	char *p = malloc(n + 1);
	uint32_t x = 2463534242u;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (char)(x | 1); /* no NUL: proc_write takes a length */
	}
	p[n] = '\0';
	return p;
}

static char *sha256(const char *data, size_t n)
{
	char path[] = "/tmp/sockctl-sha-XXXXXX";
	int fd = mkstemp(path);
	const char *argv[] = {"sha256sum", path, NULL};
	struct run r;
	char *sum;

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, data, n), (ssize_t)n);
	close(fd);
	cr_assert_eq(run_argv(&r, NULL, T, argv), 0);
	unlink(path);
	sum = strndup(r.out, 64);
	run_free(&r);
	return sum;
}

/* Megabytes of random bytes through an echo peer, both ways at once. */
static void payload_through_echo(const char *extra)
{
	size_t n = 6 * 1024 * 1024 + 7;
	char *data = big_payload(n), *want = sha256(data, n), *got;
	int port;
	struct proc *srv = peer("echo", &port);
	char *ps = num(port);
	struct proc *c = sockctl_start(PROC_STDIN_PIPE, "connect", extra,
				       "127.0.0.1", ps, NULL);

	proc_write(c, data, n);
	proc_close_stdin(c);
	cr_assert_eq(proc_wait_exit(c, 30000), 0, "%s", c->ebuf);
	cr_assert_eq(c->olen, n);
	got = sha256(c->obuf, c->olen);
	cr_assert_str_eq(got, want);
	free(got);
	free(want);
	free(data);
	proc_free(c);
	free(ps);
	proc_free(srv);
}

Test(connect, megabytes_through_echo_spliced)
{
	payload_through_echo("--pipe");
}

Test(connect, megabytes_through_echo_buffered)
{
	payload_through_echo("--no-splice");
}

/* stdin a regular file (epoll refuses those), far more than any pipe or
 * socket buffer holds, into a peer that only counts: nothing comes back
 * to wake the loop while the socket is full, and every byte must arrive. */
static void file_into_counter(const char *extra)
{
	size_t n = 24 * 1024 * 1024 + 3;
	char *data = big_payload(n), want[64];
	char path[] = "/tmp/sockctl-file-XXXXXX";
	int fd = mkstemp(path), port;
	struct proc *srv = peer("after_eof", &port);
	char *ps = num(port);
	const char *argv[] = {"sh",
			      "-c",
			      "exec \"$0\" connect $1 127.0.0.1 $2 < $3",
			      sockctl_path(),
			      extra,
			      ps,
			      path,
			      NULL};
	struct run r;

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, data, n), (ssize_t)n);
	close(fd);
	cr_assert_eq(run_argv(&r, NULL, 60000, argv), 0, "%s", r.err);
	unlink(path);
	snprintf(want, sizeof(want), "got %zu bytes\n", n);
	cr_assert_str_eq(r.out, want);
	free(data);
	run_free(&r);
	free(ps);
	proc_free(srv);
}

Test(connect, file_on_stdin_spliced)
{
	file_into_counter("--pipe");
}

Test(connect, file_on_stdin_buffered)
{
	file_into_counter("--no-splice");
}

Test(connect, socat_as_server)
{
	const char *argv[] = {"socat",
			      "-d",
			      "-d",
			      "TCP-LISTEN:0,bind=127.0.0.1",
			      "SYSTEM:tr a-z A-Z",
			      NULL};
	struct proc *srv = proc_start(argv, PROC_STDIN_NULL);
	int port = proc_port_after(srv, "listening on ", T);
	char *ps = num(port);
	struct run r;

	cr_assert_gt(port, 0, "%s", srv->ebuf);
	cr_assert_eq(
		run_sockctl(&r, "shout\n", T, "connect", "127.0.0.1", ps, NULL),
		0, "%s", r.err);
	cr_assert_str_eq(r.out, "SHOUT\n");
	run_free(&r);
	free(ps);
	proc_free(srv);
}

Test(connect, nc_as_server)
{
	const char *argv[] = {"nc", "-N", "-lv", "127.0.0.1", "0", NULL};
	struct proc *srv = proc_start(argv, PROC_STDIN_PIPE);
	int port = proc_port_after(srv, "Listening on ", T);
	char *ps = num(port);
	struct proc *c;

	cr_assert_gt(port, 0, "%s", srv->ebuf);
	c = sockctl_start(PROC_STDIN_PIPE, "connect", "127.0.0.1", ps, NULL);
	proc_puts(c, "to nc\n");
	cr_assert(proc_wait_out(srv, "to nc\n", T));
	proc_puts(srv, "from nc\n");
	cr_assert(proc_wait_out(c, "from nc\n", T));
	/* nc -N shuts down at its stdin EOF; we exit 0 at that, though our
	 * own stdin is still open. */
	proc_close_stdin(srv);
	cr_assert_eq(proc_wait_exit(c, T), 0, "%s", c->ebuf);
	proc_free(c);
	free(ps);
	proc_free(srv);
}

Test(connect, send_to_http_server)
{
	char dir[] = "/tmp/sockctl-http-XXXXXX", *file, *ps;
	const char *argv[] = {"python3", "-u",	   "-m",	"http.server",
			      "0",	 "--bind", "127.0.0.1", "--directory",
			      dir,	 NULL};
	struct proc *srv;
	struct run r;
	FILE *f;
	int port;

	cr_assert(mkdtemp(dir));
	cr_assert(asprintf(&file, "%s/hello.txt", dir) > 0);
	f = fopen(file, "w");
	fputs("hello over http\n", f);
	fclose(f);
	srv = proc_start(argv, PROC_STDIN_NULL);
	cr_assert(proc_wait_out(srv, "port ", T), "%s", srv->ebuf);
	port = atoi(strstr(srv->obuf, "port ") + 5);
	ps = num(port);
	cr_assert_eq(run_sockctl(&r, NULL, T, "connect", "--send",
				 "GET /hello.txt HTTP/1.0\\r\\n\\r\\n",
				 "127.0.0.1", ps, NULL),
		     0, "%s", r.err);
	cr_assert(!strncmp(r.out, "HTTP/1.0 200 OK\r\n", 17), "%s", r.out);
	cr_assert(strstr(r.out, "\r\n\r\nhello over http\n"), "%s", r.out);
	run_free(&r);
	proc_free(srv);
	unlink(file);
	rmdir(dir);
	free(file);
	free(ps);
}

/* ---- failures and their exit statuses ---- */

Test(connect, refused_is_4)
{
	int port;
	struct proc *srv = peer("refuse", &port);
	char *ps = num(port), want[128];
	struct run r;

	cr_assert_eq(run_sockctl(&r, NULL, T, "connect", "127.0.0.1", ps, NULL),
		     4);
	snprintf(want, sizeof(want),
		 "sockctl: connect: 127.0.0.1:%d: Connection refused\n", port);
	cr_assert_str_eq(r.err, want);
	cr_assert_str_empty(r.out);
	run_free(&r);
	free(ps);
	proc_free(srv);
}

/* A listener whose accept queue is full drops SYNs: connecting hangs. */
static const char FULL_BACKLOG[] =
	"import socket, time\n"
	"s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(0)\n"
	"f = []\n"
	"for i in range(3):\n"
	"    c = socket.socket(); c.setblocking(False)\n"
	"    try: c.connect(s.getsockname())\n"
	"    except BlockingIOError: pass\n"
	"    f.append(c)\n"
	"print('PORT', s.getsockname()[1], flush=True)\n"
	"time.sleep(60)\n";

Test(connect, connect_timeout_is_5)
{
	struct proc *srv = python_start(PROC_STDIN_NULL, FULL_BACKLOG, NULL);
	int port = proc_stdout_port(srv, T);
	char *ps = num(port);
	struct run r;

	cr_assert_eq(run_sockctl(&r, NULL, T, "connect", "-w", "0.3",
				 "127.0.0.1", ps, NULL),
		     5, "%s", r.err);
	cr_assert(strstr(r.err, "timed out"), "%s", r.err);
	run_free(&r);
	free(ps);
	proc_free(srv);
}

Test(connect, idle_timeout_is_5)
{
	int port;
	struct proc *srv = peer("echo", &port);
	char *ps = num(port);
	struct proc *c = sockctl_start(PROC_STDIN_PIPE, "connect", "-i", "0.3",
				       "127.0.0.1", ps, NULL);

	proc_puts(c, "ping\n");
	cr_assert(proc_wait_out(c, "ping\n", T));
	cr_assert_eq(proc_wait_exit(c, T), 5);
	cr_assert(strstr(c->ebuf, "timed out: no traffic for 0.3 s"), "%s",
		  c->ebuf);
	proc_free(c);
	free(ps);
	proc_free(srv);
}

/* Never let a real DNS query out: a private resolv.conf points at
 * loopback, where nothing answers. */
Test(connect, unresolvable_name_is_3)
{
	char conf[] = "/tmp/sockctl-resolv-XXXXXX", *script;
	int fd = mkstemp(conf);
	struct run r;

	cr_assert(fd >= 0);
	cr_assert(write(fd, "nameserver 127.0.0.1\n", 21) == 21);
	close(fd);
	cr_assert(asprintf(&script,
			   "mount --bind %s /etc/resolv.conf && "
			   "exec %s connect nosuch.invalid 80",
			   conf, sockctl_path()) > 0);
	const char *argv[] = {"unshare", "-m", "sh", "-c", script, NULL};
	cr_assert_eq(run_argv(&r, NULL, T, argv), 3, "%s", r.err);
	cr_assert(!strncmp(r.err, "sockctl: connect: nosuch.invalid:80: ", 37),
		  "%s", r.err);
	run_free(&r);
	unlink(conf);
	free(script);
}

Test(connect, unknown_service_is_3)
{
	struct run r;

	cr_assert_eq(run_sockctl(&r, NULL, T, "connect", "localhost",
				 "nosuchservice", NULL),
		     3);
	cr_assert(strstr(r.err, "nosuchservice: unknown service"), "%s", r.err);
	run_free(&r);
}

Test(connect, usage_errors_are_2)
{
	static const char *const cases[][4] = {
		{"127.0.0.1", "70000", NULL},
		{"127.0.0.1", NULL},
		{"-I", "--pipe", "127.0.0.1:80", NULL},
		{"--eol", "cr", "127.0.0.1:80", NULL},
		{"--nosuch", "127.0.0.1:80", NULL},
		{"-z", "--send", "x", "127.0.0.1"},
		{"--send", "\\q", "127.0.0.1:80", NULL},
		{"--unix", "/x", "-4", NULL},
		{"-w", "soon", "127.0.0.1:80", NULL},
		{"--rate", "0", "127.0.0.1:80", NULL},
		{":80", NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run r;

		run_sockctl(&r, NULL, T, "connect", cases[i][0], cases[i][1],
			    cases[i][2], cases[i][3], NULL);
		cr_expect_eq(r.status, 2, "case %zu: %s", i, r.err);
		cr_expect(strstr(r.err, "Try 'sockctl connect --help'."),
			  "case %zu: %s", i, r.err);
		run_free(&r);
	}
}

/* ---- options ---- */

Test(connect, verbose_lines)
{
	int port;
	struct proc *srv = peer("echo", &port);
	char *ps = num(port), want[128];
	struct run r;

	cr_assert_eq(run_sockctl(&r, "hello\n", T, "connect", "-v", "127.0.0.1",
				 ps, NULL),
		     0);
	snprintf(want, sizeof(want),
		 "connected to 127.0.0.1:%d from 127.0.0.1:", port);
	cr_assert(!strncmp(r.err, want, strlen(want)), "%s", r.err);
	cr_assert(strstr(r.err, "\nsent 6 bytes, received 6 bytes in "), "%s",
		  r.err);
	run_free(&r);
	proc_free(srv);
	/* Each address that fails is reported. */
	srv = peer("refuse", &port);
	free(ps);
	ps = num(port);
	cr_assert_eq(run_sockctl(&r, NULL, T, "connect", "-v", "localhost", ps,
				 NULL),
		     4);
	snprintf(want, sizeof(want),
		 "connect to 127.0.0.1:%d failed: Connection refused\n", port);
	cr_assert(strstr(r.err, want), "%s", r.err);
	run_free(&r);
	free(ps);
	proc_free(srv);
}

Test(connect, quiet_prints_no_status)
{
	int port;
	struct proc *srv = peer("echo", &port);
	char *ps = num(port);
	struct run r;

	cr_assert_eq(run_sockctl(&r, "x", T, "connect", "-v", "-q", "127.0.0.1",
				 ps, NULL),
		     0);
	cr_assert_str_empty(r.err);
	cr_assert_str_eq(r.out, "x");
	run_free(&r);
	free(ps);
	proc_free(srv);
}

Test(connect, sigusr1_prints_counters_and_goes_on)
{
	int port;
	struct proc *srv = peer("echo", &port);
	char *ps = num(port);
	struct proc *c = sockctl_start(PROC_STDIN_PIPE, "connect", "127.0.0.1",
				       ps, NULL);

	proc_puts(c, "abc\n");
	cr_assert(proc_wait_out(c, "abc\n", T));
	proc_signal(c, SIGUSR1);
	cr_assert(proc_wait_err(c, "sent 4 bytes, received 4 bytes in ", T),
		  "%s", c->ebuf);
	proc_puts(c, "more\n");
	cr_assert(proc_wait_out(c, "abc\nmore\n", T));
	proc_close_stdin(c);
	cr_assert_eq(proc_wait_exit(c, T), 0);
	proc_free(c);
	free(ps);
	proc_free(srv);
}

Test(connect, hex_dump_of_received_data)
{
	int port;
	struct proc *srv = peer("echo", &port);
	char *ps = num(port);
	struct run r;

	cr_assert_eq(run_sockctl(&r, "hello, world\n\x01\xff", T, "connect",
				 "-x", "127.0.0.1", ps, NULL),
		     0);
	cr_assert_str_eq(r.out,
			 "00000000  68 65 6c 6c 6f 2c 20 77  6f 72 6c 64 0a 01 "
			 "ff     |hello, world...|\n"
			 "0000000f\n");
	run_free(&r);
	free(ps);
	proc_free(srv);
}

Test(connect, crlf_in_pipe_mode)
{
	int port;
	struct proc *srv = peer("echo", &port);
	char *ps = num(port);
	struct run r;

	cr_assert_eq(run_sockctl(&r, "a\nb\r\nc", T, "connect", "-C",
				 "127.0.0.1", ps, NULL),
		     0);
	cr_assert_str_eq(r.out, "a\r\nb\r\nc");
	run_free(&r);
	cr_assert_eq(run_sockctl(&r, "a\nb\r\nc\r", T, "connect", "--eol",
				 "none", "127.0.0.1", ps, NULL),
		     0);
	cr_assert_str_eq(r.out, "abc\r");
	run_free(&r);
	free(ps);
	proc_free(srv);
}

static void check_trace(const char *path, bool json)
{
	char *t = read_file(path, NULL);

	if (json) {
		cr_assert(strstr(t, "\"dir\":\"send\",\"len\":6,"
				    "\"data\":\"hello\\n\"}\n"),
			  "%s", t);
		cr_assert(strstr(t, "\"dir\":\"recv\",\"len\":6,"
				    "\"data\":\"hello\\n\"}\n"),
			  "%s", t);
		cr_assert(!strncmp(t, "{\"time\":\"", 9), "%s", t);
	} else {
		cr_assert(strstr(t, " send 6 hello\\n\n"), "%s", t);
		cr_assert(strstr(t, " recv 6 hello\\n\n"), "%s", t);
		cr_assert_eq(t[4], '-', "%s", t); /* 2026-... */
		cr_assert_eq(t[10], 'T', "%s", t);
	}
	cr_assert_eq(count_lines(t), 2, "%s", t);
	free(t);
}

Test(connect, trace_text_and_json)
{
	int port;
	struct proc *srv = peer("echo", &port);
	char *ps = num(port), path[] = "/tmp/sockctl-trace-XXXXXX";
	int fd = mkstemp(path);
	struct run r;

	close(fd);
	cr_assert_eq(run_sockctl(&r, "hello\n", T, "connect", "--trace", path,
				 "127.0.0.1", ps, NULL),
		     0);
	cr_assert_str_eq(r.out, "hello\n");
	run_free(&r);
	check_trace(path, false);
	cr_assert_eq(run_sockctl(&r, "hello\n", T, "connect", "--json",
				 "--trace", path, "127.0.0.1", ps, NULL),
		     0);
	run_free(&r);
	check_trace(path, true);
	unlink(path);
	free(ps);
	proc_free(srv);
}

Test(connect, progress_forced)
{
	int port;
	struct proc *srv = peer("echo", &port);
	char *ps = num(port);
	struct run r;

	cr_assert_eq(run_sockctl(&r, "hello", T, "connect", "--progress=always",
				 "127.0.0.1", ps, NULL),
		     0);
	cr_assert(strstr(r.err, "sent 5 B, received 5 B, "), "%s", r.err);
	cr_assert(strstr(r.err, "/s\n"), "%s", r.err);
	run_free(&r);
	/* Without "always", stderr not being a terminal means no line. */
	cr_assert_eq(run_sockctl(&r, "hello", T, "connect", "--progress",
				 "127.0.0.1", ps, NULL),
		     0);
	cr_assert_str_empty(r.err);
	run_free(&r);
	free(ps);
	proc_free(srv);
}

Test(connect, delay_between_lines)
{
	int port;
	struct proc *srv = peer("record", &port);
	char *ps = num(port);
	struct run r;
	double t0 = harness_now();

	cr_assert_eq(run_sockctl(&r, "1\n2\n3\n", T, "connect", "--delay",
				 "0.2", "127.0.0.1", ps, NULL),
		     0);
	cr_assert_geq(harness_now() - t0, 0.4);
	cr_assert_str_eq(r.out, "1\n2\n3\n");
	/* Each line arrived on its own. */
	cr_assert(proc_wait_out(srv, "GOT b'3\\n'", T), "%s", srv->obuf);
	cr_assert(strstr(srv->obuf, "GOT b'1\\n'\nGOT b'2\\n'\n"), "%s",
		  srv->obuf);
	run_free(&r);
	free(ps);
	proc_free(srv);
}

Test(connect, rate_limit)
{
	int port;
	struct proc *srv = peer("echo", &port);
	char *ps = num(port), *data = big_payload(120000);
	struct run r;
	double t0 = harness_now();

	cr_assert_eq(run_sockctl(&r, data, T, "connect", "--rate", "200k",
				 "127.0.0.1", ps, NULL),
		     0);
	/* 120000 bytes at 204800 a second, after a 0.1 s burst. */
	cr_assert_geq(harness_now() - t0, 0.4);
	cr_assert_eq(r.olen, 120000);
	cr_assert(!memcmp(r.out, data, 120000));
	run_free(&r);
	free(data);
	free(ps);
	proc_free(srv);
}

Test(connect, send_only_serves_a_half_closed_peer)
{
	int port;
	struct proc *srv = peer("half", &port);
	char *ps = num(port), *data = big_payload(300000);
	struct run r;

	cr_assert_eq(run_sockctl(&r, data, T, "connect", "--send-only",
				 "127.0.0.1", ps, NULL),
		     0, "%s", r.err);
	cr_assert_str_empty(r.out);
	cr_assert(proc_wait_out(srv, "COUNT 300000\n", T), "%s", srv->obuf);
	run_free(&r);
	free(data);
	free(ps);
	proc_free(srv);
}

Test(connect, recv_only_shuts_down_at_once)
{
	int port;
	struct proc *srv = peer("send_wait_eof", &port);
	char *ps = num(port);
	struct proc *c = sockctl_start(PROC_STDIN_PIPE, "connect",
				       "--recv-only", "127.0.0.1", ps, NULL);

	/* stdin stays open and unread; the peer still sees our EOF. */
	proc_puts(c, "never sent\n");
	cr_assert_eq(proc_wait_exit(c, T), 0, "%s", c->ebuf);
	cr_assert_str_eq(c->obuf, "data\n");
	cr_assert(proc_wait_out(srv, "EOF 0\n", T), "%s", srv->obuf);
	proc_free(c);
	free(ps);
	proc_free(srv);
}

Test(connect, no_shutdown_and_quit_after)
{
	int port;
	struct proc *srv = peer("after_eof", &port);
	char *ps = num(port);
	struct run r;

	/* Without the shutdown the peer never answers; --quit-after ends
	 * the wait, which is a normal end. */
	cr_assert_eq(run_sockctl(&r, "abc", T, "connect", "--no-shutdown",
				 "--quit-after", "0.3", "127.0.0.1", ps, NULL),
		     0, "%s", r.err);
	cr_assert_str_empty(r.out);
	run_free(&r);
	free(ps);
	proc_free(srv);
	/* A peer that never closes: --quit-after after stdin EOF. */
	srv = peer("never_close", &port);
	ps = num(port);
	cr_assert_eq(run_sockctl(&r, "abc", T, "connect", "--quit-after", "0.2",
				 "127.0.0.1", ps, NULL),
		     0, "%s", r.err);
	cr_assert(proc_wait_out(srv, "EOF 3\n", T));
	run_free(&r);
	free(ps);
	proc_free(srv);
}

Test(connect, retry_until_the_server_listens)
{
	int port;
	struct proc *srv = peer("late", &port);
	char *ps = num(port);
	struct proc *c = sockctl_start(PROC_STDIN_PIPE, "connect", "-v",
				       "--retry", "100", "--retry-delay",
				       "0.05", "127.0.0.1", ps, NULL);

	cr_assert(proc_wait_err(c,
				"Connection refused; trying again in "
				"0.05 s\n",
				T),
		  "%s", c->ebuf);
	proc_puts(srv, "listen now\n");
	cr_assert(proc_wait_out(c, "hi\n", T), "%s", c->ebuf);
	proc_close_stdin(c);
	cr_assert_eq(proc_wait_exit(c, T), 0);
	proc_free(c);
	free(ps);
	proc_free(srv);
	/* Without --retry one refusal is the end. */
	srv = peer("refuse", &port);
	ps = num(port);
	struct run r;
	cr_assert_eq(run_sockctl(&r, NULL, T, "connect", "--retry", "2",
				 "--retry-delay", "0.01", "127.0.0.1", ps,
				 NULL),
		     4);
	cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
	run_free(&r);
	free(ps);
	proc_free(srv);
}

Test(connect, source_address_and_port)
{
	int port, sport;
	struct proc *srv = peer("peer", &port), *free_port;
	char *ps = num(port), *sps, want[64];
	struct run r;

	/* A port that was free a moment ago. */
	free_port = peer("refuse", &sport);
	proc_free(free_port);
	sps = num(sport);
	cr_assert_eq(run_sockctl(&r, "x", T, "connect", "-s", "127.0.0.1", "-p",
				 sps, "127.0.0.1", ps, NULL),
		     0, "%s", r.err);
	snprintf(want, sizeof(want), "PEER 127.0.0.1 %d\n", sport);
	cr_assert(proc_wait_out(srv, want, T), "%s", srv->obuf);
	run_free(&r);
	free(sps);
	free(ps);
	proc_free(srv);
}

Test(connect, ipv6_and_family_flags)
{
	struct proc *srv =
		python_start(PROC_STDIN_PIPE, PEER, "echo", "6", NULL);
	int port = proc_stdout_port(srv, T);
	char *ps = num(port), *hp;
	struct run r;

	cr_assert_gt(port, 0);
	cr_assert_eq(
		run_sockctl(&r, "six", T, "connect", "-6", "::1", ps, NULL), 0,
		"%s", r.err);
	cr_assert_str_eq(r.out, "six");
	run_free(&r);
	cr_assert(asprintf(&hp, "[::1]:%d", port) > 0);
	cr_assert_eq(run_sockctl(&r, "6", T, "connect", hp, NULL), 0);
	cr_assert_str_eq(r.out, "6");
	run_free(&r);
	/* ::1 is no IPv4 address. */
	cr_assert_eq(run_sockctl(&r, NULL, T, "connect", "-4", "::1", ps, NULL),
		     3, "%s", r.err);
	run_free(&r);
	free(hp);
	free(ps);
	proc_free(srv);
}

Test(connect, unix_path_and_abstract)
{
	char dir[] = "/tmp/sockctl-unix-XXXXXX", *path;
	struct proc *srv;
	struct run r;

	cr_assert(mkdtemp(dir));
	cr_assert(asprintf(&path, "%s/s", dir) > 0);
	srv = python_start(PROC_STDIN_PIPE, PEER, "echo", "unix", path, NULL);
	cr_assert_eq(proc_stdout_port(srv, T), 0);
	cr_assert_eq(
		run_sockctl(&r, "via path", T, "connect", "--unix", path, NULL),
		0, "%s", r.err);
	cr_assert_str_eq(r.out, "via path");
	run_free(&r);
	proc_free(srv);
	unlink(path);
	/* Nothing there: 4. */
	cr_assert_eq(run_sockctl(&r, NULL, T, "connect", "--unix", path, NULL),
		     4);
	cr_assert(strstr(r.err, ": No such file or directory"), "%s", r.err);
	run_free(&r);
	rmdir(dir);
	free(path);
	/* The abstract namespace. */
	cr_assert(asprintf(&path, "@sockctl-test-%d", getpid()) > 0);
	srv = python_start(PROC_STDIN_PIPE, PEER, "echo", "unix", path, NULL);
	cr_assert_eq(proc_stdout_port(srv, T), 0);
	cr_assert_eq(run_sockctl(&r, "abstract", T, "connect", "-v", "--unix",
				 path, NULL),
		     0, "%s", r.err);
	cr_assert_str_eq(r.out, "abstract");
	cr_assert(strstr(r.err, "connected to @sockctl-test-"), "%s", r.err);
	run_free(&r);
	proc_free(srv);
	cr_assert_eq(run_sockctl(&r, NULL, T, "connect", "--unix", path, NULL),
		     4);
	run_free(&r);
	free(path);
}

/* ---- -z ---- */

Test(connect, scan_ports)
{
	int open1, closed1;
	struct proc *o = peer("echo", &open1), *c = peer("refuse", &closed1);
	char list[64], want[128];
	struct run r;

	snprintf(list, sizeof(list), "%d,%d-%d", closed1, open1, open1);
	cr_assert_eq(run_sockctl(&r, NULL, T, "connect", "-z", "127.0.0.1",
				 list, NULL),
		     0, "%s", r.err);
	snprintf(want, sizeof(want), "127.0.0.1 %d closed\n127.0.0.1 %d open\n",
		 closed1, open1);
	cr_assert_str_eq(r.out, want);
	run_free(&r);
	snprintf(list, sizeof(list), "127.0.0.1:%d", closed1);
	cr_assert_eq(
		run_sockctl(&r, NULL, T, "connect", "-z", "--json", list, NULL),
		4);
	snprintf(want, sizeof(want),
		 "{\"host\":\"127.0.0.1\",\"port\":%d,\"open\":false}\n",
		 closed1);
	cr_assert_str_eq(r.out, want);
	run_free(&r);
	cr_assert_eq(run_sockctl(&r, NULL, T, "connect", "-z", "127.0.0.1",
				 "10-5", NULL),
		     2);
	run_free(&r);
	proc_free(o);
	proc_free(c);
}

/* ---- interactive mode, through a pseudo-terminal ---- */

static size_t occurrences(const char *buf, const char *needle)
{
	size_t n = 0;

	for (const char *p = buf; p && (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* Wait until needle shows n times on the terminal. */
static bool wait_n(struct proc *p, const char *needle, size_t n)
{
	for (int i = 0; i < 100; i++) {
		if (occurrences(p->obuf, needle) >= n)
			return true;
		proc_pump(p, 100);
	}
	return false;
}

/*
 * After marker the prompt is drawn again with the half-typed "hal" on it;
 * finishing the line sends what was typed before and after, and the echo
 * peer sends it back.
 */
static void finish_hal_after(struct proc *c, const char *marker)
{
	char *after = strstr(c->obuf, marker);

	cr_assert(after, "%s", c->obuf);
	for (int i = 0; i < 50 && !strstr(after, "> hal"); i++) {
		proc_pump(c, 100);
		after = strstr(c->obuf, marker);
	}
	cr_assert(strstr(after, "> hal"), "%s", c->obuf);
	proc_puts(c, "f\r");
	cr_assert(wait_n(c, "half\r\n", 2), "%s", c->obuf);
}

static struct proc *interactive(const char *mode, int *port, char **ps,
				struct proc **srv, const char *extra)
{
	struct proc *c;

	*srv = peer(mode, port);
	*ps = num(*port);
	c = sockctl_start(PROC_PTY, "connect", "--no-history",
			  extra ? extra : "-I", "127.0.0.1", *ps, NULL);
	cr_assert(proc_wait_out(c, "> ", T), "no prompt: %s", c->obuf);
	return c;
}

Test(connect, interactive_line_echo_and_ctrl_d)
{
	int port;
	char *ps, want[64];
	struct proc *srv, *c = interactive("echo", &port, &ps, &srv, NULL);

	snprintf(want, sizeof(want), "127.0.0.1:%d> ", port);
	cr_assert(strstr(c->obuf, want), "%s", c->obuf);
	cr_assert(strstr(c->obuf, "connected to 127.0.0.1:"), "%s", c->obuf);
	proc_puts(c, "hello there\r");
	/* What was typed, then the echo on a line of its own. */
	cr_assert(wait_n(c, "hello there\r\n", 2), "%s", c->obuf);
	proc_puts(c, "\x04");
	cr_assert_eq(proc_wait_exit(c, T), 0, "%s", c->obuf);
	proc_free(c);
	free(ps);
	proc_free(srv);
}

Test(connect, interactive_async_message_keeps_typed_line)
{
	int port;
	char *ps;
	struct proc *srv, *c = interactive("trigger", &port, &ps, &srv, NULL);

	proc_puts(c, "hal");
	cr_assert(proc_wait_out(c, "hal", T));
	/* The client can be connected before the peer's accept() returns. */
	cr_assert(proc_wait_out(srv, "ACCEPTED\n", T));
	proc_puts(srv, "async message\n");
	cr_assert(proc_wait_out(c, "async message\r\n", T), "%s", c->obuf);
	/* The prompt and the half-typed line are drawn again under it. */
	cr_assert(proc_wait_out(c, "async message\r\n127.0.0.1:", T));
	finish_hal_after(c, "async message\r\n");
	proc_puts(c, "\x04");
	cr_assert_eq(proc_wait_exit(c, T), 0);
	proc_free(c);
	free(ps);
	proc_free(srv);
}

/*
 * Ctrl-Z gives the terminal back to the shell as it was; `fg` draws the
 * prompt again with the half-typed line.  bash runs connect as a job of
 * its own (set -m): in the pty's own process group the stop would be
 * dropped (an orphaned group).
 */
Test(connect, interactive_ctrl_z_stops_and_fg_draws_the_prompt_again)
{
	int port;
	struct proc *srv = peer("trigger", &port), *c;
	char *ps = num(port);
	const char *argv[] = {
		"bash",
		"-c",
		"set -m; \"$0\" connect --no-history 127.0.0.1 \"$1\"; "
		"echo \"[stopped $?]\"; "
		"stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e echo; "
		"echo '[fg]'; fg >/dev/null; echo \"[done $?]\"",
		sockctl_path(),
		ps,
		NULL};

	c = proc_start(argv, PROC_PTY);
	cr_assert(proc_wait_out(c, "> ", T), "no prompt: %s", c->obuf);
	cr_assert(proc_wait_out(srv, "ACCEPTED\n", T));
	proc_puts(c, "hal");
	cr_assert(proc_wait_out(c, "hal", T));
	proc_puts(c, "\x1a");
	cr_assert(proc_wait_out(c, "[stopped 148]", T), "%s", c->obuf);
	/* The shell's terminal is line-edited and echoing again. */
	cr_assert(proc_wait_out(c, "icanon\r\necho\r\n[fg]\r\n", T), "%s",
		  c->obuf);
	finish_hal_after(c, "[fg]\r\n");
	proc_puts(c, "\x04");
	cr_assert(proc_wait_out(c, "[done 0]", T), "%s", c->obuf);
	cr_assert_eq(proc_wait_exit(c, T), 0);
	proc_free(c);
	free(ps);
	proc_free(srv);
}

Test(connect, interactive_peer_closes_first)
{
	int port;
	char *ps, want[64];
	struct proc *srv, *c;

	srv = peer("trigger", &port);
	ps = num(port);
	c = sockctl_start(PROC_PTY, "connect", "--no-history", "127.0.0.1", ps,
			  NULL);
	cr_assert(proc_wait_out(c, "> ", T), "%s", c->obuf);
	/* Killed before its accept() the peer would reset, not close. */
	cr_assert(proc_wait_out(srv, "ACCEPTED\n", T));
	proc_free(srv); /* the peer dies: the kernel closes its socket */
	snprintf(want, sizeof(want), "connection closed by 127.0.0.1:%d", port);
	cr_assert(proc_wait_out(c, want, T), "%s", c->obuf);
	cr_assert_eq(proc_wait_exit(c, T), 0);
	proc_free(c);
	free(ps);
}

Test(connect, interactive_crlf_and_empty_line)
{
	int port;
	char *ps;
	struct proc *srv, *c = interactive("record", &port, &ps, &srv, "-C");

	proc_puts(c, "GET\r");
	cr_assert(proc_wait_out(srv, "GOT b'GET\\r\\n'\n", T), "%s", srv->obuf);
	proc_puts(c, "\r");
	cr_assert(proc_wait_out(srv, "GOT b'\\r\\n'\n", T), "%s", srv->obuf);
	proc_puts(c, "\x04");
	cr_assert_eq(proc_wait_exit(c, T), 0);
	proc_free(c);
	free(ps);
	proc_free(srv);
}

Test(connect, interactive_history_file)
{
	int port;
	struct proc *srv = peer("echo", &port), *c;
	char *ps = num(port), dir[] = "/tmp/sockctl-state-XXXXXX", *hist, *h;

	cr_assert(mkdtemp(dir));
	setenv("XDG_STATE_HOME", dir, 1);
	c = sockctl_start(PROC_PTY, "connect", "127.0.0.1", ps, NULL);
	cr_assert(proc_wait_out(c, "> ", T));
	proc_puts(c, "first line\r");
	cr_assert(wait_n(c, "first line\r\n", 2), "%s", c->obuf);
	proc_puts(c, "\x04");
	cr_assert_eq(proc_wait_exit(c, T), 0);
	proc_free(c);
	cr_assert(asprintf(&hist, "%s/sockctl/history", dir) > 0);
	h = read_file(hist, NULL);
	cr_assert_str_eq(h, "first line\n");
	free(h);
	/* The next run offers it: up arrow, enter. */
	c = sockctl_start(PROC_PTY, "connect", "127.0.0.1", ps, NULL);
	cr_assert(proc_wait_out(c, "> ", T));
	proc_puts(c, "\033[A\r");
	cr_assert(wait_n(c, "first line\r\n", 2), "%s", c->obuf);
	proc_puts(c, "\x04");
	cr_assert_eq(proc_wait_exit(c, T), 0);
	proc_free(c);
	unlink(hist);
	free(hist);
	cr_assert(asprintf(&hist, "%s/sockctl", dir) > 0);
	rmdir(hist);
	rmdir(dir);
	free(hist);
	free(ps);
	proc_free(srv);
}

Test(connect, interactive_hex_dump)
{
	int port;
	char *ps;
	struct proc *srv, *c = interactive("echo", &port, &ps, &srv, "-x");

	proc_puts(c, "AB\r");
	cr_assert(proc_wait_out(c, "00000000  41 42 0a ", T), "%s", c->obuf);
	cr_assert(proc_wait_out(c, "|AB.|", T), "%s", c->obuf);
	proc_puts(c, "\x04");
	cr_assert_eq(proc_wait_exit(c, T), 0);
	proc_free(c);
	free(ps);
	proc_free(srv);
}

/* ---- -o ---- */

Test(connect, sockopt_applied_and_refusal_named)
{
	int port;
	struct proc *srv = peer("echo", &port);
	char *ps = num(port);
	struct run r;

	cr_assert_eq(run_sockctl(&r, "x", T, "connect", "-o", "nodelay=1", "-o",
				 "SO_RCVBUF=65536", "127.0.0.1", ps, NULL),
		     0, "%s", r.err);
	cr_assert_str_eq(r.out, "x");
	run_free(&r);
	/* The kernel refuses it: exit 1, naming the option. */
	cr_assert_eq(run_sockctl(&r, "x", T, "connect", "-o",
				 "congestion=nosuchalgo", "127.0.0.1", ps,
				 NULL),
		     1);
	cr_assert(
		strstr(r.err, "sockctl: connect: TCP_CONGESTION=nosuchalgo: "),
		"%s", r.err);
	run_free(&r);
	/* An unknown name, or one for another kind of socket: usage. */
	cr_assert_eq(run_sockctl(&r, NULL, T, "connect", "-o", "nosuch=1",
				 "127.0.0.1", ps, NULL),
		     2);
	run_free(&r);
	cr_assert_eq(run_sockctl(&r, NULL, T, "connect", "--unix", "/x", "-o",
				 "nodelay=1", NULL),
		     2);
	run_free(&r);
	free(ps);
	proc_free(srv);
}

/* Ctrl-C: the terminal is given back and sockctl dies of SIGINT. */
Test(connect, interactive_ctrl_c)
{
	int port;
	char *ps;
	struct proc *srv, *c = interactive("echo", &port, &ps, &srv, NULL);

	proc_puts(c, "half a line");
	cr_assert(proc_wait_out(c, "half a line", T));
	proc_puts(c, "\x03");
	cr_assert_eq(proc_wait_exit(c, T), 128 + SIGINT, "%s", c->obuf);
	proc_free(c);
	free(ps);
	proc_free(srv);
}

/*
 * --pipe with a terminal on both ends: splice(2) refuses terminals, so
 * this is the relay falling back to read/write at run time.
 */
Test(connect, pipe_mode_on_a_terminal)
{
	int port;
	struct proc *srv = peer("echo", &port);
	char *ps = num(port);
	struct proc *c = sockctl_start(PROC_PTY, "connect", "--pipe",
				       "127.0.0.1", ps, NULL);

	proc_puts(c, "over the tty\n");
	/* The terminal echoes the typed line, then the peer's echo. */
	cr_assert(wait_n(c, "over the tty\r\n", 2), "%s", c->obuf);
	proc_puts(c, "\x04");
	cr_assert_eq(proc_wait_exit(c, T), 0, "%s", c->obuf);
	cr_assert(!strstr(c->obuf, "sockctl:"), "%s", c->obuf);
	proc_free(c);
	free(ps);
	proc_free(srv);
}
