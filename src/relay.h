/*
 * relay.h - a full-duplex byte relay between a socket and an input/output
 * pair (stdin/stdout), driven by the event loop, following the relay rules
 * of OpenBSD nc:
 *
 *   - each direction has a bounded buffer, and an input whose buffer is
 *     full is not read until the buffer drains (memory stays bounded when
 *     one side is slow);
 *   - an output is only watched for writability while something is queued;
 *   - reading goes on after a hang-up until read() says EOF, so nothing the
 *     peer sent before closing is lost;
 *   - when the input is done and its last byte sent, the socket's write
 *     side is shut down (SHUT_WR) and the other direction keeps going;
 *   - EAGAIN and EINTR are not errors.
 *
 * Where the kernel allows it a direction moves data with splice(2) through
 * a private pipe, without copying it into user space; when splice is
 * refused (EINVAL: a terminal, or a kernel without it) that direction
 * falls back to read/write with a large buffer, without losing bytes.
 * Regular files (which epoll refuses) are treated as always ready.
 *
 * The relay decides nothing about when a session ends: it reports when
 * each direction is finished and the caller decides.
 */
#ifndef SOCKCTL_RELAY_H
#define SOCKCTL_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fmt.h"
#include "loop.h"

/* Bytes buffered per direction by default: one read takes all a widened
 * stdin pipe holds (RELAY_PIPE_SIZE).  From `head -c 1G /dev/zero |`,
 * 1 MiB moves 1.24 GiB/s here, 256 KiB 1.05; nc's small buffers are what
 * keeps it far from loopback speed. */
#define RELAY_BUFSIZE (1024 * 1024)
/* How wide relay_stdio_fd makes a pipe on stdin. */
#define RELAY_PIPE_SIZE (1024 * 1024)

enum relay_dir {
	RELAY_SEND, /* input -> socket */
	RELAY_RECV, /* socket -> output */
};

/* Where an error happened. */
enum relay_end {
	RELAY_END_INPUT,
	RELAY_END_OUTPUT,
	RELAY_END_SOCKET,
};

struct relay;

struct relay_hooks {
	/*
	 * Bytes that went over the socket: RELAY_SEND as written to it,
	 * RELAY_RECV as read from it.  data is NULL when the bytes were
	 * spliced and never seen (the hook then only counts).
	 */
	void (*traffic)(void *arg, enum relay_dir dir, const void *data,
			size_t len);
	/*
	 * Rewrite the bytes of a direction before they are queued (line
	 * endings, a hex dump): append what is to be written to out.  Called
	 * once more with data NULL at the end of the input, to append a
	 * trailer.  Setting it turns splicing off for that direction.
	 */
	void (*transform[2])(void *arg, struct sbuf *out, const void *data,
			     size_t len);
	/*
	 * Received data goes here instead of to out_fd (an interactive
	 * prompt prints it itself).  It must consume everything.
	 */
	void (*deliver)(void *arg, const void *data, size_t len);
	/*
	 * A direction is finished: RELAY_SEND when the input ended and all
	 * of it was sent and the write side shut down (err 0), or sending
	 * failed; RELAY_RECV when the peer closed and everything it sent was
	 * written out (err 0), or reading the socket or writing the output
	 * failed.  err is a negative errno and where says which fd failed.
	 * Called once per direction.  Do not free the relay from here.
	 */
	void (*done)(void *arg, enum relay_dir dir, int err,
		     enum relay_end where);
};

struct relay_opts {
	int in_fd; /* read and sent; -1: none (see relay_send) */
	int out_fd; /* received data written here; -1 with deliver */
	int sock_fd; /* a connected stream socket, non-blocking */
	size_t bufsize; /* per direction; 0 means RELAY_BUFSIZE */
	bool splice; /* try the zero-copy path */
	bool no_shutdown; /* keep the write side open at input EOF */
	bool discard; /* read and count received data, drop it */
	uint64_t rate; /* bytes per second sent; 0: no limit */
	int64_t line_delay_ms; /* pause after each line sent; 0: none */
	const struct relay_hooks *hooks;
	void *arg; /* passed to every hook */
};

/* The fds must be non-blocking (see relay_stdio_fd); none is closed. */
int relay_new(struct loop *l, const struct relay_opts *o, struct relay **ret);
/* Stop watching every fd and free; the fds stay open. */
void relay_free(struct relay *r);

/* Queue bytes to send (with in_fd -1: typed lines, --send).  Sending
 * starts from the loop, so no hook runs inside these two calls. */
void relay_send(struct relay *r, const void *data, size_t len);
/* No more input: once everything queued is sent, shut down (Ctrl-D). */
void relay_close_input(struct relay *r);

/* Bytes written to / read from the socket so far. */
uint64_t relay_count(const struct relay *r, enum relay_dir dir);
/* Whether a direction moved its data with splice(2). */
bool relay_spliced(const struct relay *r, enum relay_dir dir);
/* Whether a direction's pipe source was spliced into the relay's own pipe
 * and copied from there (see read_staged in relay.c). */
bool relay_staged(const struct relay *r, enum relay_dir dir);

/*
 * A non-blocking fd for stdin (output false) or stdout (output true).
 * Pipes and terminals are opened again through /proc/self/fd, so that
 * O_NONBLOCK does not leak into the file description the shell and other
 * processes share; regular files are dup'ed as they are (they never
 * block, and their offset must stay shared).  A pipe on stdin is widened
 * to RELAY_PIPE_SIZE when the system allows.  Returns a new fd to close,
 * or a negative errno.
 */
int relay_stdio_fd(int fd, bool output);

/*
 * Close a socket without throwing away what the peer sent: shut down the
 * write side, read and drop what is already queued, then close.  Closing
 * with unread data would make the kernel send a reset, and the peer could
 * lose the last bytes we sent.
 */
void relay_close_socket(int fd);

#endif
