/*
 * test_net.c - net.c on real loopback sockets: dual-stack listening on
 * port 0, connecting (refused, timed out, with a source address), Unix
 * servers (stale, live and non-socket paths, abstract names), addresses as
 * text, and the one mapping from an error to its text and exit status.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "net.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/*
 * A test that could hang on a bug (a connect that never returns) arms an
 * alarm: SIGALRM kills it and Criterion reports the crash.  (Criterion's
 * own .timeout leaks memory in its runner when two such tests overlap,
 * which fails the sanitizer build.)
 */
#define HANG_GUARD_SECS 20

static const struct net_listen_opts tcp_any = {.family = AF_UNSPEC,
					       .socktype = SOCK_STREAM};

static int port_of(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	cr_assert_eq(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

static void check_cloexec_nonblock(int fd)
{
	cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC, "fd %d lacks CLOEXEC", fd);
	cr_assert(fcntl(fd, F_GETFL) & O_NONBLOCK, "fd %d is blocking", fd);
}

/* Accept one connection within a deadline. */
static int accept_one(int lfd)
{
	int fd;

	cr_assert_gt(net_wait(lfd, POLLIN, 5000), 0, "nothing to accept");
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_geq(fd, 0, "accept: %s", strerror(errno));
	return fd;
}

static int connect_to(const char *host, const char *port, int64_t timeout)
{
	struct net_connect_opts o = {.socktype = SOCK_STREAM,
				     .timeout_ms = timeout};
	int fd = -1, r = net_connect(host, port, &o, &fd);

	cr_assert_eq(r, 0, "connect %s %s: %s", host, port, net_strerror(r));
	check_cloexec_nonblock(fd);
	return fd;
}

/* [::] with IPV6_V6ONLY off takes IPv4 and IPv6 clients on one socket. */
Test(net, listen_dual_stack)
{
	char buf[NET_ADDRSTRLEN], want[NET_ADDRSTRLEN], port[16];
	int lfd = -1, v6only = -1;
	socklen_t olen = sizeof(v6only);
	const char *clients[] = {"127.0.0.1", "::1"};
	const char *peers[] = {"127.0.0.1:", "[::1]:"};

	cr_assert_eq(net_listen(NULL, "0", &tcp_any, &lfd), 0);
	check_cloexec_nonblock(lfd);
	snprintf(port, sizeof(port), "%d", port_of(lfd));
	cr_assert_neq(port_of(lfd), 0);
	snprintf(want, sizeof(want), "[::]:%s", port);
	cr_assert_str_eq(net_sock_str(lfd, buf), want);
	cr_assert_eq(getsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &olen),
		     0);
	cr_assert_eq(v6only, 0);

	for (size_t i = 0; i < N(clients); i++) {
		int c = connect_to(clients[i], port, 5000);
		int s = accept_one(lfd);
		char cbuf[NET_ADDRSTRLEN];

		/* What the server sees is the client's own address; an
		 * IPv4 client arrives v4-mapped and is shown as IPv4. */
		cr_assert_str_eq(net_peer_str(s, buf), net_sock_str(c, cbuf));
		cr_assert(!strncmp(buf, peers[i], strlen(peers[i])), "%s", buf);
		snprintf(want, sizeof(want), "%s%s", peers[i], port);
		cr_assert_str_eq(net_peer_str(c, buf), want);
		cr_assert_eq(write(c, "hi", 2), 2);
		cr_assert_gt(net_wait(s, POLLIN, 5000), 0);
		cr_assert_eq(read(s, buf, sizeof(buf)), 2);
		close(c);
		close(s);
	}
	close(lfd);
}

Test(net, listen_ipv4_only)
{
	struct net_listen_opts o = {.family = AF_INET, .socktype = SOCK_STREAM};
	char buf[NET_ADDRSTRLEN], want[NET_ADDRSTRLEN];
	int lfd = -1;

	cr_assert_eq(net_listen(NULL, "0", &o, &lfd), 0);
	snprintf(want, sizeof(want), "0.0.0.0:%d", port_of(lfd));
	cr_assert_str_eq(net_sock_str(lfd, buf), want);
	close(lfd);
}

/* -6: [::] but IPv6 only. */
Test(net, listen_ipv6_only)
{
	struct net_listen_opts o = {.family = AF_INET6,
				    .socktype = SOCK_STREAM};
	int lfd = -1, v6only = 0;
	socklen_t olen = sizeof(v6only);

	cr_assert_eq(net_listen(NULL, "0", &o, &lfd), 0);
	cr_assert_eq(getsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &olen),
		     0);
	cr_assert_eq(v6only, 1);
	close(lfd);
}

Test(net, listen_on_a_given_address)
{
	char buf[NET_ADDRSTRLEN], want[NET_ADDRSTRLEN];
	int lfd = -1;

	cr_assert_eq(net_listen("127.0.0.1", "0", &tcp_any, &lfd), 0);
	snprintf(want, sizeof(want), "127.0.0.1:%d", port_of(lfd));
	cr_assert_str_eq(net_sock_str(lfd, buf), want);
	close(lfd);
	cr_assert_eq(net_listen("::1", "0", &tcp_any, &lfd), 0);
	snprintf(want, sizeof(want), "[::1]:%d", port_of(lfd));
	cr_assert_str_eq(net_sock_str(lfd, buf), want);
	close(lfd);
}

Test(net, listen_udp)
{
	struct net_listen_opts o = {.socktype = SOCK_DGRAM};
	struct net_connect_opts co = {.socktype = SOCK_DGRAM,
				      .timeout_ms = 1000};
	char port[16], buf[16];
	int lfd = -1, c = -1;

	cr_assert_eq(net_listen("127.0.0.1", "0", &o, &lfd), 0);
	snprintf(port, sizeof(port), "%d", port_of(lfd));
	cr_assert_eq(net_connect("127.0.0.1", port, &co, &c), 0);
	cr_assert_eq(send(c, "ping", 4, 0), 4);
	cr_assert_gt(net_wait(lfd, POLLIN, 5000), 0);
	cr_assert_eq(recv(lfd, buf, sizeof(buf), 0), 4);
	close(c);
	close(lfd);
}

Test(net, listen_port_in_use)
{
	struct net_listen_opts o = {.family = AF_INET, .socktype = SOCK_STREAM};
	char port[16];
	int a = -1, b = -1, r;

	cr_assert_eq(net_listen("127.0.0.1", "0", &o, &a), 0);
	snprintf(port, sizeof(port), "%d", port_of(a));
	r = net_listen("127.0.0.1", port, &o, &b);
	cr_assert_eq(r, -EADDRINUSE, "%s", net_strerror(r));
	cr_assert_eq(net_exit_status(r), 1);
	close(a);
}

static int prepared_family;

static int prepare_ok(int fd, int family, void *arg)
{
	int one = 1;

	(void)arg;
	prepared_family = family;
	return setsockopt(fd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one,
			  sizeof(one)) < 0
		       ? -errno
		       : 0;
}

static int prepare_fail(int fd, int family, void *arg)
{
	(void)fd;
	(void)family;
	(void)arg;
	return -EPERM;
}

/* The -o hook sees each socket before bind; its error stops the listen. */
Test(net, listen_prepare_hook)
{
	struct net_listen_opts o = {.family = AF_INET,
				    .socktype = SOCK_STREAM,
				    .prepare = prepare_ok};
	int lfd = -1, nodelay = 0;
	socklen_t len = sizeof(nodelay);

	cr_assert_eq(net_listen("127.0.0.1", "0", &o, &lfd), 0);
	cr_assert_eq(prepared_family, AF_INET);
	cr_assert_eq(getsockopt(lfd, IPPROTO_TCP, 1, &nodelay, &len), 0);
	cr_assert_neq(nodelay, 0);
	close(lfd);
	o.prepare = prepare_fail;
	lfd = -1;
	cr_assert_eq(net_listen("127.0.0.1", "0", &o, &lfd), -EPERM);
	cr_assert_eq(lfd, -1);
}

/* A port that is bound but not listening: nothing there, and it stays
 * so while the socket lives. */
static int refusing_port(int *ret_fd)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	*ret_fd = fd;
	return port_of(fd);
}

static int fails;
static char failed_addr[NET_ADDRSTRLEN];
static int failed_err;

static void on_fail(const struct sockaddr *sa, socklen_t len, int err,
		    void *arg)
{
	(void)arg;
	fails++;
	failed_err = err;
	net_addr_str(sa, len, failed_addr);
}

Test(net, connect_refused)
{
	struct net_connect_opts o = {.socktype = SOCK_STREAM,
				     .timeout_ms = 5000,
				     .on_fail = on_fail};
	char port[16], want[NET_ADDRSTRLEN];
	int hold, fd = -1, r;

	snprintf(port, sizeof(port), "%d", refusing_port(&hold));
	r = net_connect("127.0.0.1", port, &o, &fd);
	cr_assert_eq(r, -ECONNREFUSED, "%d %s", r, net_strerror(r));
	cr_assert_str_eq(net_strerror(r), "Connection refused");
	cr_assert_eq(net_exit_status(r), 4);
	cr_assert_eq(fd, -1);
	cr_assert_eq(fails, 1);
	cr_assert_eq(failed_err, -ECONNREFUSED);
	snprintf(want, sizeof(want), "127.0.0.1:%s", port);
	cr_assert_str_eq(failed_addr, want);
	close(hold);
}

/*
 * A listener with backlog 0 whose one queued connection is never accepted:
 * Linux drops further SYNs, so the next connect can only time out.  It may
 * take a connection or two to fill the queue, hence a bounded loop.
 */
Test(net, connect_timeout)
{
	struct net_listen_opts lo = {.family = AF_INET,
				     .socktype = SOCK_STREAM};
	struct net_connect_opts o = {.socktype = SOCK_STREAM,
				     .timeout_ms = 200};
	int lfd = -1, fds[8], n = 0, r = 0;
	char port[16];
	int64_t t0;

	alarm(HANG_GUARD_SECS);
	cr_assert_eq(net_listen("127.0.0.1", "0", &lo, &lfd), 0);
	cr_assert_eq(listen(lfd, 0), 0);
	snprintf(port, sizeof(port), "%d", port_of(lfd));
	for (n = 0; n < (int)N(fds); n++) {
		t0 = net_now_ms();
		r = net_connect("127.0.0.1", port, &o, &fds[n]);
		if (r < 0)
			break;
	}
	cr_assert_eq(r, -ETIMEDOUT, "after %d connections: %s", n,
		     net_strerror(r));
	cr_assert_geq(net_now_ms() - t0, 200, "gave up before the timeout");
	cr_assert_str_eq(net_strerror(r), "Connection timed out");
	cr_assert_eq(net_exit_status(r), 5);
	while (n-- > 0)
		close(fds[n]);
	close(lfd);
}

Test(net, connect_with_source_address)
{
	struct net_listen_opts lo = {.family = AF_INET,
				     .socktype = SOCK_STREAM};
	struct net_connect_opts o = {.socktype = SOCK_STREAM,
				     .timeout_ms = 5000,
				     .src_host = "127.0.0.1",
				     .src_port = "0"};
	char port[16], buf[NET_ADDRSTRLEN];
	int lfd = -1, fd = -1, s;

	cr_assert_eq(net_listen("127.0.0.1", "0", &lo, &lfd), 0);
	snprintf(port, sizeof(port), "%d", port_of(lfd));
	cr_assert_eq(net_connect("127.0.0.1", port, &o, &fd), 0);
	s = accept_one(lfd);
	cr_assert_str_eq(net_peer_str(s, buf),
			 net_sock_str(fd, (char[NET_ADDRSTRLEN]){0}));
	cr_assert(!strncmp(buf, "127.0.0.1:", 10), "%s", buf);
	close(s);
	close(fd);

	/* A source of the wrong family cannot be bound. */
	o.src_host = "::1";
	fd = -1;
	cr_assert_lt(net_connect("127.0.0.1", port, &o, &fd), 0);
	cr_assert_eq(fd, -1);
	close(lfd);
}

Test(net, resolve_errors_are_eai)
{
	struct addrinfo *ai;
	int r;

	cr_assert_eq(
		net_resolve("127.0.0.1", "80", AF_UNSPEC, SOCK_STREAM, 0, &ai),
		0);
	cr_assert_eq(ai->ai_family, AF_INET);
	freeaddrinfo(ai);
	/* Numeric only, so nothing is asked of any DNS server. */
	r = net_resolve("localhost", NULL, AF_UNSPEC, SOCK_STREAM,
			AI_NUMERICHOST, &ai);
	cr_assert(err_is_eai(r));
	cr_assert_eq(err_to_eai(r), EAI_NONAME);
	cr_assert_str_eq(net_strerror(r), "Name or service not known");
	cr_assert_eq(net_exit_status(r), 3);
	r = net_resolve("127.0.0.1", "nosuchservice", AF_UNSPEC, SOCK_STREAM, 0,
			&ai);
	cr_assert(err_is_eai(r));
	cr_assert_eq(err_to_eai(r), EAI_SERVICE);
	cr_assert_eq(net_exit_status(r), 3);
}

/* A fresh directory for Unix socket files, removed by the caller. */
static char *tmpdir(void)
{
	char *d = strdup("/tmp/sockctl-net-XXXXXX");

	cr_assert_not_null(mkdtemp(d));
	return d;
}

static const struct net_listen_opts unix_stream = {.socktype = SOCK_STREAM};

Test(net, unix_listen_and_connect)
{
	struct net_connect_opts o = {.socktype = SOCK_STREAM,
				     .timeout_ms = 5000};
	char *dir = tmpdir(), path[128], buf[NET_ADDRSTRLEN];
	int lfd = -1, c = -1, s;

	snprintf(path, sizeof(path), "%s/s", dir);
	cr_assert_eq(net_listen_unix(path, &unix_stream, &lfd), 0);
	check_cloexec_nonblock(lfd);
	cr_assert_str_eq(net_sock_str(lfd, buf), path);
	cr_assert_eq(net_connect_unix(path, &o, &c), 0);
	check_cloexec_nonblock(c);
	cr_assert_str_eq(net_peer_str(c, buf), path);
	s = accept_one(lfd);
	/* The client socket is unnamed. */
	cr_assert_str_eq(net_peer_str(s, buf), "(unnamed)");
	close(s);
	close(c);
	close(lfd);
	unlink(path);
	rmdir(dir);
	free(dir);
}

/* A socket file left behind by a dead server is replaced. */
Test(net, unix_stale_socket_replaced)
{
	char *dir = tmpdir(), path[128];
	int lfd = -1, again = -1;

	snprintf(path, sizeof(path), "%s/s", dir);
	cr_assert_eq(net_listen_unix(path, &unix_stream, &lfd), 0);
	close(lfd);
	cr_assert_eq(access(path, F_OK), 0, "the socket file is gone");
	cr_assert_eq(net_listen_unix(path, &unix_stream, &again), 0);
	cr_assert_geq(again, 0);
	close(again);
	unlink(path);
	rmdir(dir);
	free(dir);
}

Test(net, unix_stale_dgram_socket_replaced)
{
	struct net_listen_opts o = {.socktype = SOCK_DGRAM};
	char *dir = tmpdir(), path[128];
	int fd = -1, again = -1;

	snprintf(path, sizeof(path), "%s/d", dir);
	cr_assert_eq(net_listen_unix(path, &o, &fd), 0);
	close(fd);
	cr_assert_eq(net_listen_unix(path, &o, &again), 0);
	cr_assert_eq(net_listen_unix(path, &o, &fd), -EADDRINUSE);
	close(again);
	unlink(path);
	rmdir(dir);
	free(dir);
}

/* A live server is never taken over; it goes on accepting. */
Test(net, unix_live_socket_in_use)
{
	struct net_connect_opts o = {.socktype = SOCK_STREAM,
				     .timeout_ms = 5000};
	char *dir = tmpdir(), path[128];
	int lfd = -1, other = -1, c = -1, r;

	snprintf(path, sizeof(path), "%s/s", dir);
	cr_assert_eq(net_listen_unix(path, &unix_stream, &lfd), 0);
	r = net_listen_unix(path, &unix_stream, &other);
	cr_assert_eq(r, -EADDRINUSE, "%s", net_strerror(r));
	cr_assert_eq(net_exit_status(r), 1);
	cr_assert_eq(other, -1);
	cr_assert_eq(net_connect_unix(path, &o, &c), 0);
	close(accept_one(lfd));
	close(c);
	close(lfd);
	unlink(path);
	rmdir(dir);
	free(dir);
}

/* Even when its backlog is full: the check must not wait for it. */
Test(net, unix_live_socket_with_full_backlog)
{
	struct net_listen_opts lo = {.socktype = SOCK_STREAM, .backlog = 1};
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char *dir = tmpdir();
	int lfd = -1, other = -1, fds[16], n;

	alarm(HANG_GUARD_SECS);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/s", dir);
	cr_assert_eq(net_listen_unix(sun.sun_path, &lo, &lfd), 0);
	for (n = 0; n < (int)N(fds); n++) {
		fds[n] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (connect(fds[n], (struct sockaddr *)&sun, sizeof(sun)) < 0)
			break;
	}
	cr_assert_lt(n, (int)N(fds), "the backlog never filled");
	cr_assert_eq(errno, EAGAIN, "%s", strerror(errno));
	cr_assert_eq(net_listen_unix(sun.sun_path, &lo, &other), -EADDRINUSE);
	while (n >= 0)
		close(fds[n--]);
	close(lfd);
	unlink(sun.sun_path);
	rmdir(dir);
	free(dir);
}

/* Connecting with a timeout to a Unix server whose backlog is full. */
Test(net, unix_connect_timeout_on_full_backlog)
{
	struct net_listen_opts lo = {.socktype = SOCK_STREAM, .backlog = 1};
	struct net_connect_opts o = {.socktype = SOCK_STREAM,
				     .timeout_ms = 200};
	char *dir = tmpdir(), path[128];
	int lfd = -1, fds[16], n, r = 0;
	int64_t t0 = 0;

	alarm(HANG_GUARD_SECS);
	snprintf(path, sizeof(path), "%s/s", dir);
	cr_assert_eq(net_listen_unix(path, &lo, &lfd), 0);
	for (n = 0; n < (int)N(fds); n++) {
		t0 = net_now_ms();
		r = net_connect_unix(path, &o, &fds[n]);
		if (r < 0)
			break;
		/* The socket is handed back non-blocking as always. */
		check_cloexec_nonblock(fds[n]);
	}
	cr_assert_eq(r, -ETIMEDOUT, "after %d: %s", n, net_strerror(r));
	cr_assert_geq(net_now_ms() - t0, 200);
	cr_assert_eq(net_exit_status(r), 5);
	while (n-- > 0)
		close(fds[n]);
	close(lfd);
	unlink(path);
	rmdir(dir);
	free(dir);
}

/* A file that is not a socket is never removed. */
Test(net, unix_path_not_a_socket)
{
	char *dir = tmpdir(), path[128], buf[8] = "";
	int fd, lfd = -1, r;

	snprintf(path, sizeof(path), "%s/file", dir);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	cr_assert_eq(write(fd, "data", 4), 4);
	close(fd);
	r = net_listen_unix(path, &unix_stream, &lfd);
	cr_assert_eq(r, -EEXIST, "%s", net_strerror(r));
	cr_assert_eq(lfd, -1);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "the file was removed");
	cr_assert_eq(read(fd, buf, sizeof(buf)), 4);
	cr_assert_str_eq(buf, "data");
	close(fd);
	unlink(path);
	rmdir(dir);
	free(dir);
}

Test(net, unix_connect_nothing_there)
{
	struct net_connect_opts o = {.socktype = SOCK_STREAM,
				     .timeout_ms = 1000};
	char *dir = tmpdir(), path[128];
	int fd = -1, lfd = -1, r;

	snprintf(path, sizeof(path), "%s/none", dir);
	r = net_connect_unix(path, &o, &fd);
	cr_assert_eq(r, ERR_NO_LISTENER_PATH, "%s", net_strerror(r));
	cr_assert_str_eq(net_strerror(r), "No such file or directory");
	cr_assert_eq(net_exit_status(r), 4);
	/* A stale socket file: refused, also "nothing listens there". */
	cr_assert_eq(net_listen_unix(path, &unix_stream, &lfd), 0);
	close(lfd);
	r = net_connect_unix(path, &o, &fd);
	cr_assert_eq(r, -ECONNREFUSED, "%s", net_strerror(r));
	cr_assert_eq(net_exit_status(r), 4);
	unlink(path);
	rmdir(dir);
	free(dir);
}

Test(net, unix_abstract)
{
	struct net_connect_opts o = {.socktype = SOCK_STREAM,
				     .timeout_ms = 1000};
	char name[64], buf[NET_ADDRSTRLEN];
	int lfd = -1, other = -1, c = -1, r;

	snprintf(name, sizeof(name), "@sockctl-test-%d", (int)getpid());
	cr_assert_eq(net_listen_unix(name, &unix_stream, &lfd), 0);
	cr_assert_str_eq(net_sock_str(lfd, buf), name);
	cr_assert_eq(net_listen_unix(name, &unix_stream, &other), -EADDRINUSE);
	cr_assert_eq(net_connect_unix(name, &o, &c), 0);
	cr_assert_str_eq(net_peer_str(c, buf), name);
	close(c);
	close(lfd);
	/* Gone with its socket: nothing listens there. */
	r = net_connect_unix(name, &o, &c);
	cr_assert_eq(r, -ECONNREFUSED, "%s", net_strerror(r));
	cr_assert_eq(net_exit_status(r), 4);
}

Test(net, unix_path_too_long)
{
	char path[200];
	int fd = -1;

	memset(path, 'x', 150);
	path[150] = '\0';
	cr_assert_eq(net_listen_unix(path, &unix_stream, &fd), -ENAMETOOLONG);
}

static socklen_t sa_in(struct sockaddr_storage *ss, const char *addr,
		       unsigned port, unsigned scope)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		s6->sin6_scope_id = scope;
		cr_assert_eq(inet_pton(AF_INET6, addr, &s6->sin6_addr), 1);
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	cr_assert_eq(inet_pton(AF_INET, addr, &s4->sin_addr), 1);
	return sizeof(*s4);
}

struct str_case {
	const char *addr;
	unsigned port, scope;
	const char *str, *host;
};

static const struct str_case str_cases[] = {
	{"127.0.0.1", 80, 0, "127.0.0.1:80", "127.0.0.1"},
	{"0.0.0.0", 0, 0, "0.0.0.0:0", "0.0.0.0"},
	{"255.255.255.255", 65535, 0, "255.255.255.255:65535",
	 "255.255.255.255"},
	{"::1", 80, 0, "[::1]:80", "::1"},
	{"::", 8888, 0, "[::]:8888", "::"},
	{"2001:db8::1", 443, 0, "[2001:db8::1]:443", "2001:db8::1"},
	{"::ffff:127.0.0.1", 8080, 0, "127.0.0.1:8080", "127.0.0.1"},
	{"::ffff:10.1.2.3", 1, 0, "10.1.2.3:1", "10.1.2.3"},
	/* Only the v4-mapped form is IPv4; v4-compatible is not. */
	{"::127.0.0.1", 5, 0, "[::127.0.0.1]:5", "::127.0.0.1"},
	{"fe80::1", 22, 1, "[fe80::1%lo]:22", "fe80::1%lo"},
};

Test(net, addr_str_ip)
{
	for (size_t i = 0; i < N(str_cases); i++) {
		const struct str_case *c = &str_cases[i];
		struct sockaddr_storage ss;
		socklen_t len = sa_in(&ss, c->addr, c->port, c->scope);
		char buf[NET_ADDRSTRLEN];
		uint16_t port = 1;

		if (c->scope) {
			char ifname[IF_NAMESIZE];

			/* Index 1 is the loopback interface on Linux. */
			cr_assert_not_null(if_indextoname(1, ifname));
			cr_assert_str_eq(ifname, "lo");
		}
		cr_expect_str_eq(net_addr_str((struct sockaddr *)&ss, len, buf),
				 c->str);
		cr_expect_str_eq(
			net_addr_host((struct sockaddr *)&ss, len, buf, &port),
			c->host);
		cr_expect_eq(port, c->port, "%s", c->str);
	}
}

Test(net, addr_str_unix)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char buf[NET_ADDRSTRLEN];
	uint16_t port = 1;
	socklen_t len;

	strcpy(sun.sun_path, "/run/x.sock");
	len = offsetof(struct sockaddr_un, sun_path) + 12;
	cr_assert_str_eq(net_addr_str((struct sockaddr *)&sun, len, buf),
			 "/run/x.sock");
	cr_assert_str_eq(
		net_addr_host((struct sockaddr *)&sun, len, buf, &port),
		"/run/x.sock");
	cr_assert_eq(port, 0);
	/* A length without the NUL (as some peers hand it back). */
	len = offsetof(struct sockaddr_un, sun_path) + 11;
	cr_assert_str_eq(net_addr_str((struct sockaddr *)&sun, len, buf),
			 "/run/x.sock");

	/* The longest path there is. */
	memset(sun.sun_path, 'p', sizeof(sun.sun_path));
	len = sizeof(sun);
	cr_assert_eq(strlen(net_addr_str((struct sockaddr *)&sun, len, buf)),
		     sizeof(sun.sun_path));

	memset(sun.sun_path, 0, sizeof(sun.sun_path));
	memcpy(sun.sun_path + 1, "abstract", 8);
	len = offsetof(struct sockaddr_un, sun_path) + 9;
	cr_assert_str_eq(net_addr_str((struct sockaddr *)&sun, len, buf),
			 "@abstract");
	len = offsetof(struct sockaddr_un, sun_path);
	cr_assert_str_eq(net_addr_str((struct sockaddr *)&sun, len, buf),
			 "(unnamed)");
}

struct err_case {
	int err;
	int status;
	const char *text;
};

static struct err_case err_cases[] = {
	{0, 0, NULL},
	{5, 0, NULL},
	{-ECONNREFUSED, 4, "Connection refused"},
	/* A missing file of our own is a failure; only a Unix socket path
	 * nobody listens on is "nothing listens there". */
	{-ENOENT, 1, "No such file or directory"},
	{ERR_NO_LISTENER_PATH, 4, "No such file or directory"},
	{-ETIMEDOUT, 5, "Connection timed out"},
	{-EADDRINUSE, 1, "Address already in use"},
	{-EACCES, 1, "Permission denied"},
	{-ECONNRESET, 1, "Connection reset by peer"},
	{-EPIPE, 1, "Broken pipe"},
	{-EHOSTUNREACH, 1, "No route to host"},
	{-EEXIST, 1, "File exists"},
};

struct eai_case {
	int eai;
	int status;
	const char *text;
};

static const struct eai_case eai_cases[] = {
	{EAI_NONAME, 3, "Name or service not known"},
	{EAI_AGAIN, 3, "Temporary failure in name resolution"},
	{EAI_FAIL, 3, "Non-recoverable failure in name resolution"},
	{EAI_SERVICE, 3, "Servname not supported for ai_socktype"},
	{EAI_NODATA, 3, "No address associated with hostname"},
	{EAI_ADDRFAMILY, 3, "Address family for hostname not supported"},
	{EAI_FAMILY, 3, "ai_family not supported"},
	{EAI_MEMORY, 1, "Memory allocation failure"},
	{EAI_SYSTEM, 1, "System error"},
};

Test(net, error_text_and_exit_status)
{
	for (size_t i = 0; i < N(err_cases); i++) {
		const struct err_case *c = &err_cases[i];

		cr_expect_eq(net_exit_status(c->err), c->status, "%d", c->err);
		if (c->text)
			cr_expect_str_eq(net_strerror(c->err), c->text);
		cr_expect(!err_is_eai(c->err), "%d", c->err);
	}
	for (size_t i = 0; i < N(eai_cases); i++) {
		const struct eai_case *c = &eai_cases[i];
		int err = err_from_eai(c->eai);

		cr_expect(err_is_eai(err), "%d", c->eai);
		cr_expect_eq(err_to_eai(err), c->eai);
		cr_expect_lt(err, -4095, "EAI %d collides with errno", c->eai);
		cr_expect_eq(net_exit_status(err), c->status, "%s", c->text);
		cr_expect_str_eq(net_strerror(err), c->text);
	}
}

Test(net, wait_and_clock)
{
	int p[2];
	int64_t t0 = net_now_ms();

	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	cr_assert_eq(net_wait(p[0], POLLIN, 0), 0);
	cr_assert_eq(net_wait(p[0], POLLIN, 20), 0);
	cr_assert_geq(net_now_ms() - t0, 20);
	cr_assert_eq(write(p[1], "x", 1), 1);
	cr_assert_eq(net_wait(p[0], POLLIN, -1), POLLIN);
	cr_assert_eq(net_set_nonblock(p[0], true), 0);
	cr_assert(fcntl(p[0], F_GETFL) & O_NONBLOCK);
	cr_assert_eq(net_set_nonblock(p[0], false), 0);
	cr_assert(!(fcntl(p[0], F_GETFL) & O_NONBLOCK));
	close(p[0]);
	close(p[1]);
	cr_assert_eq(net_set_nonblock(p[0], true), -EBADF);
}

Test(net, splice_pipe_is_wide_nonblocking_and_cloexec)
{
	int fds[2];
	size_t cap = 0;
	char c;

	cr_assert_eq(net_splice_pipe(fds, 256 * 1024, &cap), 0);
	/* pipe-max-size is 1 MiB unless someone lowered it. */
	cr_assert_eq(cap, (size_t)fcntl(fds[1], F_GETPIPE_SZ));
	cr_assert_geq(cap, 65536);
	cr_assert_eq(read(fds[0], &c, 1), -1);
	cr_assert_eq(errno, EAGAIN);
	cr_assert(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
	cr_assert(fcntl(fds[1], F_GETFL) & O_NONBLOCK);
	close(fds[0]);
	close(fds[1]);
}

Test(net, splice_refused_only_for_fds_that_cannot_splice)
{
	cr_assert(net_splice_refused(EINVAL));
	cr_assert(net_splice_refused(EBADF));
	cr_assert_not(net_splice_refused(EAGAIN));
	cr_assert_not(net_splice_refused(EPIPE));
}
