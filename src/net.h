/*
 * net.h - sockets and addresses: resolve, connect with a timeout, listen
 * dual-stack, Unix sockets, address to text, and the one mapping from a
 * failure to its text and its exit status.
 *
 * Functions return 0 or a negative errno / err_from_eai() code (err.h).
 * Every fd is created with SOCK_CLOEXEC; sockets handed back are
 * non-blocking.
 */
#ifndef SOCKCTL_NET_H
#define SOCKCTL_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <netdb.h>
#include <sys/socket.h>

#include "err.h"

/* Big enough for "[v6%scope]:port" and any Unix path. */
#define NET_ADDRSTRLEN 128

/* Text for any error this project returns (errno or resolver). */
const char *net_strerror(int err);
/* SPEC section 1: 3 name, 4 nothing listens, 5 timed out, else 1. */
int net_exit_status(int err);

/* A hook that sees each socket before bind/connect (for -o options). */
typedef int (*net_prepare_fn)(int fd, int family, void *arg);

int net_resolve(const char *host, const char *port, int family, int socktype,
		int flags, struct addrinfo **ret);

struct net_connect_opts {
	int family; /* AF_UNSPEC, AF_INET or AF_INET6 */
	int socktype; /* SOCK_STREAM or SOCK_DGRAM */
	int64_t timeout_ms; /* per address; < 0 waits as long as the kernel */
	const char *src_host; /* local address to bind, or NULL */
	const char *src_port; /* local port to bind, or NULL */
	net_prepare_fn prepare;
	/* Told about each address that failed before the next is tried. */
	void (*on_fail)(const struct sockaddr *sa, socklen_t len, int err,
			void *arg);
	void *arg;
};

/*
 * Resolve host/port and try each address in order until one connects.
 * For SOCK_DGRAM "connect" only fixes the peer.  The error of the last
 * attempt is returned when none succeeds.
 */
int net_connect(const char *host, const char *port,
		const struct net_connect_opts *o, int *ret_fd);
/* Connect to a Unix socket path ("@name" is abstract). */
int net_connect_unix(const char *path, const struct net_connect_opts *o,
		     int *ret_fd);

struct net_listen_opts {
	int family; /* AF_UNSPEC: IPv6+IPv4 on [::] when possible */
	int socktype;
	int backlog; /* stream only; <= 0 means SOMAXCONN */
	net_prepare_fn prepare;
	void *arg;
};

/* bind_host NULL means every interface. */
int net_listen(const char *bind_host, const char *port,
	       const struct net_listen_opts *o, int *ret_fd);
/*
 * A Unix socket server.  A stale socket file (nothing accepts on it) is
 * replaced; a live one is -EADDRINUSE; a path that is not a socket is
 * never removed (-EEXIST).
 */
int net_listen_unix(const char *path, const struct net_listen_opts *o,
		    int *ret_fd);

/* "127.0.0.1:80", "[::1]:80", a Unix path, "@abstract"; v4-mapped IPv6
 * addresses are shown as plain IPv4. */
const char *net_addr_str(const struct sockaddr *sa, socklen_t len,
			 char buf[NET_ADDRSTRLEN]);
/* The host part alone and the port (0 for Unix sockets). */
const char *net_addr_host(const struct sockaddr *sa, socklen_t len,
			  char buf[NET_ADDRSTRLEN], uint16_t *ret_port);
/* The local / remote address of fd as text. */
const char *net_sock_str(int fd, char buf[NET_ADDRSTRLEN]);
const char *net_peer_str(int fd, char buf[NET_ADDRSTRLEN]);

int net_set_nonblock(int fd, bool on);
/* poll() one fd for events with a timeout (< 0 forever); EINTR-safe.
 * Returns the revents, 0 on timeout, or -errno. */
int net_wait(int fd, short events, int64_t timeout_ms);
/* Monotonic clock in milliseconds. */
int64_t net_now_ms(void);

/* A non-blocking pipe for splice(2), as wide as want when pipe-max-size
 * allows; *ret_cap is the width it got.  Returns 0, or -errno with fds
 * untouched. */
int net_splice_pipe(int fds[2], size_t want, size_t *ret_cap);
/* Is err splice(2) saying these fds cannot splice (copy instead)? */
bool net_splice_refused(int err);

#endif
