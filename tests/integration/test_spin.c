/*
 * test_spin.c - `--spin USEC`, the event loop's busy-poll window, on the
 * four commands that run the loop (serve, connect, udp-listen, udp-send):
 * what the flag accepts, and what it does to the process.
 *
 * What a process does is read from /proc/PID/stat.  A loop that spins
 * never sleeps: sampled every 10 ms it is always runnable ('R'), loaded
 * machine or not.  Its CPU time is no measure of that: every poll yields,
 * and the scheduler hands a yielding task next to no CPU while anything
 * else wants it.  A loop that sleeps in epoll_wait is 'S' and uses no CPU
 * at all.  The test itself is the peer (a plain socket on loopback), so a
 * window starts the moment the reply is in.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define T 10000
/* How long a window samples, and what share of samples may disagree. */
#define WINDOW_MS 300
#define SAMPLE_MS 10

/* Every wait has a deadline; the alarm only catches a bug that hangs. */
static void hang_guard(void)
{
	alarm(60);
}

TestSuite(spin, .init = hang_guard);

static int port_of(struct proc *p)
{
	int port = proc_listen_port(p, T);

	cr_assert(port > 0, "no listening line; stderr: %s",
		  p->ebuf ? p->ebuf : "");
	return port;
}

static struct sockaddr_in loopback(int port)
{
	return (struct sockaddr_in){.sin_family = AF_INET,
				    .sin_port = htons((uint16_t)port),
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
}

/* A socket of type to 127.0.0.1:port, connected. */
static int dial(int type, int port)
{
	struct sockaddr_in sin = loopback(port);
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0,
		     "connect to port %d: %m", port);
	return fd;
}

/* Wait up to ms for fd to be readable. */
static bool readable(int fd, int ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	return poll(&pfd, 1, ms) == 1;
}

/* Send msg and read until it has come back whole (an echo). */
static void round_trip(int fd, const char *msg)
{
	size_t want = strlen(msg), got = 0;
	double end = harness_now() + T / 1000.0;
	char buf[256];

	cr_assert_eq(send(fd, msg, want, MSG_NOSIGNAL), (ssize_t)want);
	while (got < want && harness_now() < end) {
		ssize_t n;

		if (!readable(fd, 100))
			continue;
		n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		cr_assert_gt(n, 0, "the echo ended early");
		got += (size_t)n;
	}
	buf[got] = '\0';
	cr_assert_str_eq(buf, msg);
}

/* Wait until the monotonic clock reaches t (seconds). */
static void wait_until(double t)
{
	double left;

	while ((left = t - harness_now()) > 0)
		poll(NULL, 0, (int)(left * 1000) + 1);
}

/* The state letter of /proc/PID/stat: R runnable, S asleep, ... */
static char state_of(pid_t pid)
{
	char path[64], buf[512], *p;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	cr_assert_not_null(f, "pid %d is gone", (int)pid);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	cr_assert(p && p[1] == ' ' && p[2], "%s: %s", path, buf);
	return p[2];
}

/* Asleep in epoll_wait: the loop waits for an event. */
static bool in_epoll_wait(pid_t pid)
{
	char path[64], wchan[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/wchan", (int)pid);
	f = fopen(path, "re");
	if (f) {
		if (!fgets(wchan, sizeof(wchan), f))
			wchan[0] = '\0';
		fclose(f);
	}
	return state_of(pid) == 'S' && strstr(wchan, "epoll_wait");
}

/* Wait until pid's loop sleeps (its start-up work is done). */
static void wait_asleep(pid_t pid)
{
	double end = harness_now() + T / 1000.0;

	while (!in_epoll_wait(pid) && harness_now() < end)
		poll(NULL, 0, 5);
	cr_assert(in_epoll_wait(pid), "pid %d never slept in epoll_wait",
		  (int)pid);
}

struct samples {
	int runnable, total;
	long cpu_ms;
};

/*
 * Sample pid's state every SAMPLE_MS for WINDOW_MS, stopping at the
 * monotonic time until (a window must not outlast the spin it looks at).
 */
static struct samples sample(pid_t pid, double until)
{
	double end = harness_now() + WINDOW_MS / 1000.0;
	long hz = sysconf(_SC_CLK_TCK), t0 = proc_cpu_ticks(pid);
	struct samples s = {0};

	if (end > until)
		end = until;
	while (harness_now() < end) {
		s.runnable += state_of(pid) == 'R';
		s.total++;
		wait_until(harness_now() + SAMPLE_MS / 1000.0);
	}
	s.cpu_ms = (proc_cpu_ticks(pid) - t0) * 1000 / hz;
	return s;
}

/* Right after traffic, with a 1 s window: never asleep. */
static void expect_spinning(pid_t pid, double since, const char *what)
{
	struct samples s = sample(pid, since + 0.9);

	cr_assert_geq(s.total, 5, "%s: the test itself was not scheduled",
		      what);
	cr_expect_geq(s.runnable * 10, s.total * 9,
		      "%s: runnable in %d of %d samples (%ld ms of CPU): "
		      "not spinning",
		      what, s.runnable, s.total, s.cpu_ms);
}

static void expect_sleeping(pid_t pid, const char *what)
{
	struct samples s = sample(pid, harness_now() + 10);

	cr_expect_leq(s.runnable * 10, s.total,
		      "%s: runnable in %d of %d samples (%ld ms of CPU)", what,
		      s.runnable, s.total, s.cpu_ms);
}

/* ---- serve ---- */

/*
 * The default window: one echo, the client leaves, then a second of
 * nothing costs next to no CPU (an idle process uses none, loaded machine
 * or not).
 */
Test(spin, idle_server_does_not_spin)
{
	struct proc *srv = sockctl_start(0, "serve", "--tcp", "0", "-b",
					 "127.0.0.1", NULL);
	int fd = dial(SOCK_STREAM, port_of(srv));
	long hz = sysconf(_SC_CLK_TCK), t0, used;

	round_trip(fd, "ping\n");
	close(fd);
	/* The close is handled (a busy pass, so a spin), then idle. */
	cr_assert(proc_wait_err(srv, "disconnected", T), "stderr: %s",
		  srv->ebuf);
	t0 = proc_cpu_ticks(srv->pid);
	wait_until(harness_now() + 1.0);
	used = (proc_cpu_ticks(srv->pid) - t0) * 1000 / hz;
	cr_expect_lt(used, 100, "an idle server used %ld ms of CPU in 1 s",
		     used);
	expect_sleeping(srv->pid, "idle serve, default --spin");
	proc_free(srv);
}

Test(spin, spin_zero_sleeps_at_once)
{
	struct proc *srv = sockctl_start(0, "serve", "--tcp", "0", "-b",
					 "127.0.0.1", "--spin", "0", NULL);
	int fd = dial(SOCK_STREAM, port_of(srv));

	round_trip(fd, "ping\n");
	expect_sleeping(srv->pid, "serve --spin 0 right after an echo");
	round_trip(fd, "pong\n");
	close(fd);
	proc_free(srv);
}

/* A 1 s window: spinning right after the echo, asleep once it has
 * passed while the client is still connected, and still answering. */
Test(spin, long_spin_after_traffic_then_sleep)
{
	struct proc *srv =
		sockctl_start(0, "serve", "--tcp", "0", "-b", "127.0.0.1",
			      "--spin", "1000000", NULL);
	int fd = dial(SOCK_STREAM, port_of(srv));
	double replied;

	round_trip(fd, "ping\n");
	replied = harness_now();
	expect_spinning(srv->pid, replied, "serve --spin 1000000");
	/* The spin began before the reply reached us: it is over by now. */
	wait_until(replied + 1.2);
	expect_sleeping(srv->pid, "serve --spin 1000000, 1.2 s later");
	round_trip(fd, "pong\n");
	close(fd);
	proc_free(srv);
}

/* `serve --udp` hands --spin to udp-listen with the other options. */
Test(spin, udp_listen_through_serve_udp)
{
	struct proc *srv =
		sockctl_start(0, "serve", "--udp", "0", "-b", "127.0.0.1",
			      "--spin", "1000000", NULL);
	int fd = dial(SOCK_DGRAM, port_of(srv));

	round_trip(fd, "ping");
	expect_spinning(srv->pid, harness_now(),
			"serve --udp 0 --spin 1000000");
	close(fd);
	proc_free(srv);
}

Test(spin, udp_listen_spin_zero)
{
	struct proc *srv = sockctl_start(0, "udp-listen", "-b", "127.0.0.1",
					 "--spin", "0", "0", NULL);
	int fd = dial(SOCK_DGRAM, port_of(srv));

	round_trip(fd, "ping");
	expect_sleeping(srv->pid, "udp-listen --spin 0 right after an echo");
	close(fd);
	proc_free(srv);
}

/* ---- the clients ---- */

/*
 * connect to a listener of the test's own, accepted.  Its relay's first
 * pass runs from a timer (no fd event, so no spin after it), and while
 * bytes keep moving it goes on pumping; the test speaks only once connect
 * sleeps, so that what it says comes as an event, as in a conversation.
 */
static struct proc *connect_to_us(const char *spin, int *ret_fd)
{
	struct sockaddr_in sin = loopback(0);
	socklen_t len = sizeof(sin);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char port[16];
	struct proc *c;

	cr_assert_geq(lfd, 0);
	cr_assert_eq(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(listen(lfd, 1), 0);
	cr_assert_eq(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	snprintf(port, sizeof(port), "%d", ntohs(sin.sin_port));
	c = sockctl_start(PROC_STDIN_PIPE, "connect", "-q", "--spin", spin,
			  "127.0.0.1", port, NULL);
	cr_assert(readable(lfd, T), "connect never connected: %s", c->ebuf);
	*ret_fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_geq(*ret_fd, 0);
	close(lfd);
	wait_asleep(c->pid);
	return c;
}

/* Our line comes out on connect's stdout, its answer back to us. */
static double converse(struct proc *c, int fd)
{
	char buf[16] = "";
	double at;

	cr_assert_eq(send(fd, "hello\n", 6, MSG_NOSIGNAL), 6);
	cr_assert(proc_wait_out(c, "hello\n", T), "stdout: %s, stderr: %s",
		  c->obuf, c->ebuf);
	proc_puts(c, "hi\n");
	cr_assert(readable(fd, T));
	cr_assert_eq(recv(fd, buf, sizeof(buf) - 1, 0), 3);
	at = harness_now();
	cr_assert_str_eq(buf, "hi\n");
	return at;
}

static void connect_done(struct proc *c, int fd)
{
	close(fd);
	cr_expect_eq(proc_wait_exit(c, T), 0, "stderr: %s", c->ebuf);
	proc_free(c);
}

Test(spin, connect_spins_after_traffic)
{
	int fd;
	struct proc *c = connect_to_us("1000000", &fd);

	expect_spinning(c->pid, converse(c, fd), "connect --spin 1000000");
	connect_done(c, fd);
}

Test(spin, connect_spin_zero)
{
	int fd;
	struct proc *c = connect_to_us("0", &fd);

	converse(c, fd);
	expect_sleeping(c->pid, "connect --spin 0 right after traffic");
	connect_done(c, fd);
}

Test(spin, udp_send_spins_after_reply)
{
	struct proc *srv = sockctl_start(0, "udp-listen", "-b", "127.0.0.1",
					 "--spin", "0", "0", NULL);
	char port[16];
	struct proc *c;

	snprintf(port, sizeof(port), "%d", port_of(srv));
	/* -w 3: still waiting for replies, its timer well beyond the
	 * window, when the window ends. */
	c = sockctl_start(0, "udp-send", "--spin", "1000000", "-w", "3",
			  "127.0.0.1", port, "ping", NULL);
	cr_assert(proc_wait_out(c, ": ping", T), "stdout: %s, stderr: %s",
		  c->obuf, c->ebuf);
	expect_spinning(c->pid, harness_now(), "udp-send --spin 1000000");
	proc_free(c);
	proc_free(srv);
}

/* ---- the flag itself ---- */

static void usage_error(const char *want_cmd, const char *want,
			const char *const *args)
{
	const char *argv[16] = {sockctl_path()};
	char err[256];
	struct run r;
	size_t k;

	for (k = 0; args[k]; k++)
		argv[k + 1] = args[k];
	argv[k + 1] = NULL;
	run_argv(&r, NULL, T, argv);
	snprintf(err, sizeof(err),
		 "sockctl: %s: %s\nTry 'sockctl %s --help'.\n", want_cmd, want,
		 want_cmd);
	cr_expect_eq(r.status, 2, "%s: exit %d", want, r.status);
	cr_expect_str_eq(r.err, err);
	cr_expect_str_empty(r.out);
	run_free(&r);
}

Test(spin, bad_values_are_usage_errors)
{
	static const struct {
		const char *val, *why;
	} bad[] = {
		{"-1", "not a number"},	  {"abc", "not a number"},
		{"2000000", "too large"}, {"1000001", "too large"},
		{"", "empty number"},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[128];

		snprintf(want, sizeof(want), "invalid --spin '%s': %s",
			 bad[i].val, bad[i].why);
		usage_error("serve", want,
			    (const char *[]){"serve", "--tcp", "0", "--spin",
					     bad[i].val, NULL});
		usage_error("connect", want,
			    (const char *[]){"connect", "--spin", bad[i].val,
					     "127.0.0.1", "9", NULL});
		usage_error("udp-listen", want,
			    (const char *[]){"udp-listen", "--spin", bad[i].val,
					     "0", NULL});
		usage_error("udp-listen", want,
			    (const char *[]){"serve", "--udp", "0", "--spin",
					     bad[i].val, NULL});
		usage_error("udp-send", want,
			    (const char *[]){"udp-send", "--spin", bad[i].val,
					     "127.0.0.1", "9", "x", NULL});
	}
}

/* -z runs no event loop, so --spin would do nothing there. */
Test(spin, not_with_scan)
{
	usage_error("connect", "-z only checks ports; '--spin' does not apply",
		    (const char *[]){"connect", "-z", "--spin", "5",
				     "127.0.0.1", "9", NULL});
}

Test(spin, in_every_loop_command_help)
{
	static const char *const cmds[] = {"serve", "connect", "udp-listen",
					   "udp-send"};

	for (size_t i = 0; i < 4; i++) {
		struct run r;

		run_sockctl(&r, NULL, T, cmds[i], "--help", NULL);
		cr_expect_eq(r.status, 0);
		cr_expect(strstr(r.out, "\n      --spin USEC        after "
					"traffic, poll USEC microseconds"),
			  "%s --help: %s", cmds[i], r.out);
		run_free(&r);
	}
}
