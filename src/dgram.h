/*
 * dgram.h - what udp-listen and udp-send share: receiving datagrams in
 * batches (recvmmsg) with their real length when they were truncated, the
 * output formats of a received datagram (text line, raw payload, hex dump,
 * JSON line), and the largest payload each protocol can carry.
 *
 * Nothing here prints: formatted output is appended to a struct sbuf and
 * the command decides when to write it.
 */
#ifndef SOCKCTL_DGRAM_H
#define SOCKCTL_DGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "fmt.h"
#include "net.h"

/* The IPv4 and IPv6 limits: 65535 minus the IP and UDP headers. */
#define DGRAM_MAX_UDP4 65507
#define DGRAM_MAX_UDP6 65527
/* The most a UDP datagram can carry in its 16-bit length, for buffers. */
#define DGRAM_MAX_SIZE 65535

/* One received datagram. */
struct dgram {
	const struct sockaddr *from;
	socklen_t fromlen;
	const void *data;
	size_t len; /* bytes in data */
	size_t real_len; /* its length on the wire; > len if truncated */
};

enum dgram_fmt {
	DGRAM_TEXT, /* HOST:PORT: payload, escaped, one line */
	DGRAM_RAW, /* the payload bytes alone */
	DGRAM_HEX, /* a header line and a `hexdump -C` dump */
	DGRAM_JSON, /* one JSON object a line */
};

/* A reply's sequence number and round-trip time (udp-send --count). */
struct dgram_rtt {
	uint64_t seq; /* 1, 2, ... */
	double ms;
};

/*
 * A formatter: the output buffer and the text of the last sender's
 * address, reused while the same sender keeps sending (a busy server
 * would otherwise convert the same address for every datagram).
 */
struct dgram_out {
	enum dgram_fmt fmt;
	struct sbuf buf;
	struct sockaddr_storage last;
	socklen_t lastlen;
	char host[NET_ADDRSTRLEN]; /* "127.0.0.1", "::1", a Unix path */
	char addr[NET_ADDRSTRLEN]; /* "127.0.0.1:80", "[::1]:80", path */
	uint16_t port;
	bool is_unix;
	bool cached;
};

void dgram_out_init(struct dgram_out *o, enum dgram_fmt fmt);
void dgram_out_free(struct dgram_out *o);
/* Append d in o's format; rtt may be NULL. */
void dgram_out_add(struct dgram_out *o, const struct dgram *d,
		   const struct dgram_rtt *rtt);
/* The sender's address text as the text format shows it. */
const char *dgram_out_addr(struct dgram_out *o, const struct sockaddr *sa,
			   socklen_t len);

/*
 * Write the buffered output to fd (all of it, waiting if fd is
 * non-blocking) and empty the buffer.  0 or -errno.
 */
int dgram_out_flush(struct dgram_out *o, int fd);

/*
 * The largest payload one datagram of this family carries: 65507 for
 * IPv4, 65527 for IPv6; 0 for Unix sockets, whose limit is the socket's
 * send buffer (the kernel says EMSGSIZE).
 */
size_t dgram_max_payload(int family);

/*
 * A receive batch: n slots of size bytes each, filled by one recvmmsg().
 * A slot holds at most size bytes; a longer datagram is cut there and its
 * real length is still known (MSG_TRUNC).
 */
struct dgram_rx {
	unsigned n;
	size_t size;
	size_t stride; /* slot i is at bufs + i * stride */
	char *bufs;
	struct mmsghdr *msgs;
	struct iovec *iov;
	struct sockaddr_storage *addrs;
};

int dgram_rx_init(struct dgram_rx *rx, unsigned n, size_t size);
void dgram_rx_free(struct dgram_rx *rx);
/*
 * Receive up to max (at most rx->n) datagrams without blocking.  Returns
 * how many, 0 when none is waiting, or -errno (-ECONNREFUSED on a
 * connected socket whose peer answered with ICMP port unreachable).
 */
int dgram_rx_recv(struct dgram_rx *rx, int fd, unsigned max);
/* Slot i of the last dgram_rx_recv(). */
void dgram_rx_get(const struct dgram_rx *rx, unsigned i, struct dgram *d);

/*
 * Lines of an input stream (stdin): what was read and not yet taken.
 * Each line is handed out without its newline; at the end of the stream
 * what is left is one last line.
 */
struct dgram_lines {
	struct sbuf buf;
	size_t pos; /* start of what is not yet taken */
	bool eof; /* the stream has ended */
	bool done; /* ... and its last line was taken */
};

/* Read once from fd: bytes read, 0 at the end (eof set), or -errno. */
ssize_t dgram_lines_read(struct dgram_lines *l, int fd);
/*
 * The next complete line (or, at eof, the rest).  *ret points into the
 * buffer and stays valid until the next dgram_lines_read().  With whole,
 * only the end of the stream completes one line holding everything.
 * Once it returns false with done set, the stream is used up.
 */
bool dgram_lines_next(struct dgram_lines *l, bool whole, const char **ret,
		      size_t *ret_len);
/* Lines that come another way (an interactive prompt): add one line
 * (its newline is added), or mark the end of the input. */
void dgram_lines_add(struct dgram_lines *l, const char *line);
void dgram_lines_end(struct dgram_lines *l);
void dgram_lines_free(struct dgram_lines *l);

#endif
