/*
 * server.h - the multi-client stream server behind `sockctl serve`.
 *
 * One epoll loop (loop.h) serves every client: non-blocking sockets, no
 * thread or process per client (except the child of --exec).  A
 * connection costs a small struct while idle; output is queued only while
 * the kernel will not take it, and a client that does not read what it is
 * sent is paused (its input is not read) or, when the data comes from
 * other clients, holds the hub (--broker) or is dropped (--chat), so
 * memory stays bounded.
 *
 * The server moves data between sockets and the fds it is given (stdin for
 * --relay and --chat, stdout for --relay data and --print lines, a trace
 * file).  Connection events (connected, disconnected, refused, ...) are
 * handed to a callback; the command decides how they look.  Like every
 * module below the command layer it returns 0 or a negative errno.
 */
#ifndef SOCKCTL_SERVER_H
#define SOCKCTL_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "fmt.h"
#include "loop.h"
#include "parse.h"

/* What each connection gets (SPEC section 3). */
enum server_mode {
	SERVER_ECHO,
	SERVER_PREFIX,
	SERVER_TIMESTAMP,
	SERVER_BROKER,
	SERVER_CHAT,
	SERVER_RELAY,
	SERVER_DISCARD,
	SERVER_EXEC,
};

/* Longest chat line passed on whole (longer ones are cut) and nickname. */
#define SERVER_LINE_MAX 4096
#define SERVER_NICK_MAX 32
/* A client whose output queue grows past this is paused or dropped. */
#define SERVER_QUEUE_MAX (256 * 1024)
/* --broker: a receiver that takes nothing for this long while the hub
 * waits on it is dropped. */
#define SERVER_STALL_MS 3000
/* How long a stop waits for pending output and for clients to close. */
#define SERVER_STOP_GRACE_MS 2000

enum server_event_kind {
	SERVER_EV_CONNECTED,
	SERVER_EV_DISCONNECTED,
	SERVER_EV_REFUSED, /* ACL or --max-conns; why says which */
	SERVER_EV_ACCEPT_PAUSED, /* out of fds (err); logged once */
	SERVER_EV_ACCEPT_RESUMED,
	SERVER_EV_EXITED, /* an --exec child ended (status) */
	SERVER_EV_NICK, /* chat: peer is now called why */
	SERVER_EV_STDIN_EOF,
	SERVER_EV_STOPPING, /* a signal asked the server to stop */
};

struct server_event {
	enum server_event_kind kind;
	const char *peer; /* HOST:PORT, a Unix peer's path or pid=N */
	uint64_t received; /* DISCONNECTED: bytes each way ... */
	uint64_t sent;
	bool counted; /* ... when known (not for --exec on Unix) */
	int64_t ms; /* DISCONNECTED: how long it was connected */
	int err; /* a negative errno, or 0 */
	const char *why; /* a reason in words, or NULL */
	int status; /* EXITED: the wait status; STOPPING: signo */
};

struct server;

struct server_opts {
	enum server_mode mode;
	const char *prefix; /* --prefix (escapes already interpreted) */
	size_t prefix_len;
	const char *banner;
	size_t banner_len;
	const char *exec_cmd; /* --exec: run as /bin/sh -c CMD */
	bool once;
	int64_t accept_timeout_ms; /* < 0: wait for ever */
	int64_t idle_ms; /* <= 0: no idle timeout */
	size_t max_conns; /* 0: only the open-files limit */
	const struct cidr *allow;
	size_t nallow;
	const struct cidr *deny;
	size_t ndeny;
	bool print; /* `HOST:PORT: text` lines on out_fd */
	int in_fd; /* stdin for --relay and --chat, or -1 */
	int out_fd; /* stdout: --relay data, --print lines */
	bool shutdown_on_eof; /* --relay -N */
	bool splice; /* --relay: splice(2) clients' data to out_fd if it can */
	/* Instead of out_fd, when set (a prompt prints above the line). */
	void (*write_out)(void *arg, const void *data, size_t len);
	FILE *trace; /* --trace, or NULL */
	bool trace_json;
	void (*on_event)(const struct server_event *ev, void *arg);
	void *arg;
};

struct server_result {
	uint64_t served; /* connections admitted */
	int err; /* 0, -ETIMEDOUT (--accept-timeout), -errno */
	const char *what; /* what failed: "accept", "stdout", ... */
};

/*
 * A server for the listening socket lfd (non-blocking; owned by the server
 * from now on, even when this fails).  Installs its SIGINT, SIGTERM and
 * (for --exec) SIGCHLD handlers on l and starts watching.  o must outlive
 * the server.
 */
int server_new(struct loop *l, int lfd, const struct server_opts *o,
	       struct server **ret);
/*
 * Serve until SIGINT/SIGTERM, --once's client leaving, --accept-timeout or
 * a fatal error.  Returns 0 or a negative errno; *ret says how many were
 * served and what failed (-ETIMEDOUT with what "accept" for
 * --accept-timeout).
 */
int server_run(struct server *s, struct server_result *ret);
void server_free(struct server *s);

/*
 * Operator input that comes from elsewhere than in_fd (a prompt): for
 * --relay the bytes go to every client, for --chat the lines go out as
 * `<server> line`.  Returns how many clients it went to.
 * server_input_end() is the end of that input, as EOF on in_fd.
 */
size_t server_input(struct server *s, const void *data, size_t len);
void server_input_end(struct server *s);

/* Raise RLIMIT_NOFILE to its hard maximum; *ret_limit is the new limit. */
int server_raise_nofile(uint64_t *ret_limit);

/*
 * The framing of --prefix and --timestamp: append data to out with prefix
 * before the first byte of every line.  *mid says whether the stream is in
 * the middle of a line (no prefix for its rest) and is updated.
 */
void server_frame_prefix(struct sbuf *out, const char *prefix, size_t plen,
			 const void *data, size_t len, bool *mid);

/*
 * Line assembly for --chat: feed data; fn gets every complete line (without
 * its newline and a CR before it).  A partial line is kept in *buf /
 * *buf_len (malloc'ed, freed when empty); a line longer than max is passed
 * on in pieces of max bytes.  Returns the number of lines passed on.
 */
size_t server_lines(char **buf, size_t *buf_len, size_t max, const void *data,
		    size_t len,
		    void (*fn)(const char *line, size_t len, void *arg),
		    void *arg);

/* A chat nickname: 1 to SERVER_NICK_MAX of A-Z a-z 0-9 _ - . and not
 * "server". */
bool server_nick_valid(const char *nick, size_t len);

/* The `HOST:PORT: text` lines of --print for one chunk a client sent;
 * *mid is the same state as for server_frame_prefix. */
void server_format_print(struct sbuf *out, const char *peer, const void *data,
			 size_t len, bool *mid);

#endif
