/*
 * net.c - sockets and addresses (see net.h).
 */
#define _GNU_SOURCE
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "parse.h"

const char *net_strerror(int err)
{
	if (err_is_eai(err))
		return gai_strerror(err_to_eai(err));
	if (err == ERR_NO_LISTENER_PATH)
		return strerror(ENOENT);
	return strerror(-err);
}

int net_exit_status(int err)
{
	if (err >= 0)
		return EXIT_OK;
	if (err_is_eai(err)) {
		switch (err_to_eai(err)) {
		case EAI_SYSTEM:
		case EAI_MEMORY:
			return EXIT_FAIL;
		default:
			return EXIT_NORESOLVE;
		}
	}
	if (err == ERR_NO_LISTENER_PATH)
		return EXIT_REFUSED;
	switch (-err) {
	case ECONNREFUSED:
		return EXIT_REFUSED;
	case ETIMEDOUT:
		return EXIT_TIMEOUT;
	default:
		return EXIT_FAIL;
	}
}

int64_t net_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int net_set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -errno;
	fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	if (fcntl(fd, F_SETFL, fl) < 0)
		return -errno;
	return 0;
}

int net_wait(int fd, short events, int64_t timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? -1 : net_now_ms() + timeout_ms;
	struct pollfd p = {.fd = fd, .events = events};

	for (;;) {
		int left = -1, r;

		if (deadline >= 0) {
			int64_t d = deadline - net_now_ms();

			left = d < 0 ? 0 : (int)(d > 1 << 30 ? 1 << 30 : d);
		}
		r = poll(&p, 1, left);
		if (r > 0)
			return p.revents;
		if (r == 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

int net_resolve(const char *host, const char *port, int family, int socktype,
		int flags, struct addrinfo **ret)
{
	struct addrinfo hints = {
		.ai_family = family,
		.ai_socktype = socktype,
		.ai_flags = flags,
	};
	int r = getaddrinfo(host, port, &hints, ret);

	if (r == EAI_SYSTEM)
		return errno ? -errno : err_from_eai(r);
	return r ? err_from_eai(r) : 0;
}

static int socket_for(int family, int socktype)
{
	int fd = socket(family, socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	return fd < 0 ? -errno : fd;
}

static int bind_source(int fd, int family, int socktype,
		       const struct net_connect_opts *o)
{
	struct addrinfo *ai, *a;
	int r;

	if (!o->src_host && !o->src_port)
		return 0;
	r = net_resolve(o->src_host, o->src_port ? o->src_port : "0", family,
			socktype, AI_PASSIVE, &ai);
	if (r < 0)
		return r;
	r = -EAFNOSUPPORT;
	for (a = ai; a; a = a->ai_next) {
		if (a->ai_family != family)
			continue;
		r = bind(fd, a->ai_addr, a->ai_addrlen) < 0 ? -errno : 0;
		break;
	}
	freeaddrinfo(ai);
	return r;
}

/* Connect a non-blocking socket, waiting at most timeout_ms. */
static int connect_wait(int fd, const struct sockaddr *sa, socklen_t len,
			int64_t timeout_ms)
{
	int err = 0, r;
	socklen_t elen = sizeof(err);

	if (connect(fd, sa, len) == 0)
		return 0;
	if (errno != EINPROGRESS && errno != EINTR)
		return -errno;
	r = net_wait(fd, POLLOUT, timeout_ms);
	if (r < 0)
		return r;
	if (r == 0)
		return -ETIMEDOUT;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
		return -errno;
	return -err;
}

/*
 * A Unix stream server whose backlog is full makes a non-blocking connect
 * fail with EAGAIN, and such a connect cannot be polled for.  A blocking
 * connect waits for room for up to SO_SNDTIMEO, so use that for the wait.
 */
static int connect_unix_wait(int fd, const struct sockaddr *sa, socklen_t len,
			     int64_t timeout_ms)
{
	struct timeval old, tv = {0, 0}; /* 0: wait as long as it takes */
	socklen_t olen = sizeof(old);
	int r;

	if (connect(fd, sa, len) == 0)
		return 0;
	if (errno != EAGAIN)
		return -errno;
	if (timeout_ms == 0)
		return -ETIMEDOUT;
	if (timeout_ms > 0) {
		tv.tv_sec = timeout_ms / 1000;
		tv.tv_usec = (timeout_ms % 1000) * 1000;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &old, &olen) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    net_set_nonblock(fd, false) < 0)
		return -errno;
	r = connect(fd, sa, len) == 0 ? 0 : -errno;
	if (r == -EAGAIN)
		r = -ETIMEDOUT;
	net_set_nonblock(fd, true);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &old, sizeof(old));
	return r;
}

static int connect_one(const struct sockaddr *sa, socklen_t len, int family,
		       const struct net_connect_opts *o, int *ret_fd)
{
	int fd, r;

	fd = socket_for(family, o->socktype);
	if (fd < 0)
		return fd;
	if (o->prepare && (r = o->prepare(fd, family, o->arg)) < 0)
		goto out_close;
	if (family != AF_UNIX && (r = bind_source(fd, family, o->socktype, o)))
		goto out_close;
	if (family == AF_UNIX && o->socktype == SOCK_STREAM)
		r = connect_unix_wait(fd, sa, len, o->timeout_ms);
	else
		r = connect_wait(fd, sa, len, o->timeout_ms);
	if (r < 0)
		goto out_close;
	*ret_fd = fd;
	return 0;
out_close:
	close(fd);
	return r;
}

int net_connect(const char *host, const char *port,
		const struct net_connect_opts *o, int *ret_fd)
{
	struct addrinfo *ai, *a;
	int r;

	r = net_resolve(host, port, o->family, o->socktype, AI_ADDRCONFIG, &ai);
	if (r < 0)
		/* Without AI_ADDRCONFIG loopback-only hosts still resolve ::1.
		 */
		r = net_resolve(host, port, o->family, o->socktype, 0, &ai);
	if (r < 0)
		return r;
	r = -EADDRNOTAVAIL;
	for (a = ai; a; a = a->ai_next) {
		r = connect_one(a->ai_addr, a->ai_addrlen, a->ai_family, o,
				ret_fd);
		if (r == 0)
			break;
		if (o->on_fail)
			o->on_fail(a->ai_addr, a->ai_addrlen, r, o->arg);
	}
	freeaddrinfo(ai);
	return r;
}

int net_connect_unix(const char *path, const struct net_connect_opts *o,
		     int *ret_fd)
{
	struct sockaddr_un sun;
	socklen_t len;
	int r;

	r = parse_unix_path(path, &sun, &len, NULL);
	if (r < 0)
		return r;
	r = connect_one((struct sockaddr *)&sun, len, AF_UNIX, o, ret_fd);
	/* An abstract name nobody listens on is refused; a path is ENOENT. */
	return r == -ENOENT ? ERR_NO_LISTENER_PATH : r;
}

static int listen_on(const struct sockaddr *sa, socklen_t len, int family,
		     const struct net_listen_opts *o, int v6only, int *ret_fd)
{
	int fd, r, one = 1;

	fd = socket_for(family, o->socktype);
	if (fd < 0)
		return fd;
	if (family != AF_UNIX &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto out_errno;
	if (family == AF_INET6 && v6only >= 0 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) <
		    0)
		goto out_errno;
	if (o->prepare && (r = o->prepare(fd, family, o->arg)) < 0)
		goto out_close;
	if (bind(fd, sa, len) < 0)
		goto out_errno;
	if (o->socktype == SOCK_STREAM &&
	    listen(fd, o->backlog > 0 ? o->backlog : SOMAXCONN) < 0)
		goto out_errno;
	*ret_fd = fd;
	return 0;
out_errno:
	r = -errno;
out_close:
	close(fd);
	return r;
}

static int listen_any(const char *port, const struct net_listen_opts *o,
		      int *ret_fd)
{
	struct addrinfo *ai;
	int r, family = o->family;

	/* [::] with V6ONLY off takes IPv4 too; fall back where IPv6 is off. */
	if (family == AF_UNSPEC || family == AF_INET6) {
		r = net_resolve("::", port, AF_INET6, o->socktype,
				AI_PASSIVE | AI_NUMERICHOST, &ai);
		if (r < 0)
			return r;
		r = listen_on(ai->ai_addr, ai->ai_addrlen, AF_INET6, o,
			      family == AF_INET6, ret_fd);
		freeaddrinfo(ai);
		if (r == 0 || family == AF_INET6 ||
		    (r != -EAFNOSUPPORT && r != -EADDRNOTAVAIL))
			return r;
	}
	r = net_resolve("0.0.0.0", port, AF_INET, o->socktype,
			AI_PASSIVE | AI_NUMERICHOST, &ai);
	if (r < 0)
		return r;
	r = listen_on(ai->ai_addr, ai->ai_addrlen, AF_INET, o, -1, ret_fd);
	freeaddrinfo(ai);
	return r;
}

int net_listen(const char *bind_host, const char *port,
	       const struct net_listen_opts *o, int *ret_fd)
{
	struct addrinfo *ai, *a;
	int r;

	if (!bind_host)
		return listen_any(port, o, ret_fd);
	r = net_resolve(bind_host, port, o->family, o->socktype, AI_PASSIVE,
			&ai);
	if (r < 0)
		return r;
	r = -EADDRNOTAVAIL;
	for (a = ai; a; a = a->ai_next) {
		/* An explicit IPv6 address means that address only. */
		r = listen_on(a->ai_addr, a->ai_addrlen, a->ai_family, o, 1,
			      ret_fd);
		if (r == 0)
			break;
	}
	freeaddrinfo(ai);
	return r;
}

/*
 * Is something accepting on the Unix socket at sun?  Non-blocking: a live
 * server whose backlog is full answers EAGAIN at once, where a blocking
 * connect would wait until it accepts.
 */
static bool unix_alive(const struct sockaddr_un *sun, socklen_t len,
		       int socktype)
{
	int fd = socket(AF_UNIX, socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	bool alive;

	if (fd < 0)
		return true;
	alive = connect(fd, (const struct sockaddr *)sun, len) == 0 ||
		errno != ECONNREFUSED;
	close(fd);
	return alive;
}

int net_listen_unix(const char *path, const struct net_listen_opts *o,
		    int *ret_fd)
{
	struct sockaddr_un sun;
	struct stat st;
	socklen_t len;
	int r;

	r = parse_unix_path(path, &sun, &len, NULL);
	if (r < 0)
		return r;
	r = listen_on((struct sockaddr *)&sun, len, AF_UNIX, o, -1, ret_fd);
	if (r != -EADDRINUSE || path[0] == '@')
		return r;
	if (lstat(path, &st) < 0)
		return -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	if (unix_alive(&sun, len, o->socktype))
		return -EADDRINUSE;
	if (unlink(path) < 0)
		return -errno;
	return listen_on((struct sockaddr *)&sun, len, AF_UNIX, o, -1, ret_fd);
}

/* Append "%IFNAME" (or "%INDEX" for an interface that is gone). */
static void add_scope(char buf[NET_ADDRSTRLEN], uint32_t scope)
{
	char ifname[IF_NAMESIZE];
	size_t n = strlen(buf);

	if (if_indextoname(scope, ifname))
		snprintf(buf + n, NET_ADDRSTRLEN - n, "%%%s", ifname);
	else
		snprintf(buf + n, NET_ADDRSTRLEN - n, "%%%u", scope);
}

const char *net_addr_host(const struct sockaddr *sa, socklen_t len,
			  char buf[NET_ADDRSTRLEN], uint16_t *ret_port)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
	const struct sockaddr_un *su = (const struct sockaddr_un *)sa;
	size_t plen;

	*ret_port = 0;
	buf[0] = '\0';
	switch (sa->sa_family) {
	case AF_INET:
		inet_ntop(AF_INET, &s4->sin_addr, buf, NET_ADDRSTRLEN);
		*ret_port = ntohs(s4->sin_port);
		break;
	case AF_INET6:
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], buf,
				  NET_ADDRSTRLEN);
		else
			inet_ntop(AF_INET6, &s6->sin6_addr, buf,
				  NET_ADDRSTRLEN);
		/* fe80::1 names a different host on every link. */
		if (s6->sin6_scope_id)
			add_scope(buf, s6->sin6_scope_id);
		*ret_port = ntohs(s6->sin6_port);
		break;
	case AF_UNIX:
		if (len <= offsetof(struct sockaddr_un, sun_path)) {
			snprintf(buf, NET_ADDRSTRLEN, "(unnamed)");
			break;
		}
		plen = len - offsetof(struct sockaddr_un, sun_path);
		if (su->sun_path[0] == '\0')
			snprintf(buf, NET_ADDRSTRLEN, "@%.*s", (int)plen - 1,
				 su->sun_path + 1);
		else
			snprintf(buf, NET_ADDRSTRLEN, "%.*s", (int)plen,
				 su->sun_path);
		break;
	default:
		snprintf(buf, NET_ADDRSTRLEN, "(family %d)", sa->sa_family);
	}
	return buf;
}

const char *net_addr_str(const struct sockaddr *sa, socklen_t len,
			 char buf[NET_ADDRSTRLEN])
{
	char host[NET_ADDRSTRLEN];
	uint16_t port;
	int n;

	/* Unix paths fit whole; IP text is far shorter than the buffer, so
	 * the truncation snprintf could do never happens. */
	net_addr_host(sa, len, host, &port);
	if (sa->sa_family == AF_INET6 && strchr(host, ':'))
		n = snprintf(buf, NET_ADDRSTRLEN, "[%s]:%u", host, port);
	else if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)
		n = snprintf(buf, NET_ADDRSTRLEN, "%s:%u", host, port);
	else
		n = snprintf(buf, NET_ADDRSTRLEN, "%s", host);
	(void)n;
	return buf;
}

const char *net_sock_str(int fd, char buf[NET_ADDRSTRLEN])
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		snprintf(buf, NET_ADDRSTRLEN, "?");
		return buf;
	}
	return net_addr_str((struct sockaddr *)&ss, len, buf);
}

const char *net_peer_str(int fd, char buf[NET_ADDRSTRLEN])
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0) {
		snprintf(buf, NET_ADDRSTRLEN, "?");
		return buf;
	}
	return net_addr_str((struct sockaddr *)&ss, len, buf);
}

int net_splice_pipe(int fds[2], size_t want, size_t *ret_cap)
{
	int sz;

	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	/* Keep the default width when the system's pipe-max-size forbids
	 * this one. */
	fcntl(fds[1], F_SETPIPE_SZ, (int)want);
	sz = fcntl(fds[1], F_GETPIPE_SZ);
	*ret_cap = sz > 0 ? (size_t)sz : 65536;
	return 0;
}

bool net_splice_refused(int err)
{
	return err == EINVAL || err == ENOSYS || err == EOPNOTSUPP ||
	       err == EBADF;
}
