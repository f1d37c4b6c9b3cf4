/*
 * server.c - the multi-client stream server (see server.h).
 *
 * Data paths, fastest first:
 *  - echo and the line modes: read into the server's one buffer and write
 *    straight back.  Only what the kernel does not take is copied into the
 *    connection's queue, and while that queue is not empty the client is
 *    not read (it is paused), so a client that never reads costs at most
 *    one read's worth of memory.
 *  - broadcast (--broker, --chat, --relay's stdin): the data is written to
 *    each receiver whose queue is empty; what is left is queued as a slice
 *    of one shared, reference-counted chunk, so a thousand slow receivers
 *    do not make a thousand copies.  When a receiver's queue passes
 *    SERVER_QUEUE_MAX: in --chat it is dropped (IRC's "send queue
 *    exceeded"); in --broker, a byte hub that should lose nothing, no client
 *    is read until that receiver has taken most of it, and a receiver that
 *    takes nothing for SERVER_STALL_MS is dropped so that it cannot hold
 *    the hub for ever; relay reads stdin only while every queue is empty.
 *
 * A connection is freed only at the end of the loop callback that closed
 * it (finish()), so code that closes one (a broadcast dropping a slow
 * receiver, a failed write) never pulls a struct from under its caller.
 */
#define _GNU_SOURCE
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "net.h"
#include "rxbatch.h"

extern char **environ;

#define BUF_SIZE (128 * 1024) /* relay and discard read this much */
#define MID_SIZE (1024 * 1024) /* --relay splices this much at a time */
#define ECHO_READ (64 * 1024)
#define READS_PER_EVENT 4 /* then let the other clients have a turn */
#define ACCEPTS_PER_EVENT 64
#define ACCEPT_PAUSE_MS 100
#define IOV_BATCH 64
#define STALL_CHECK_MS 250

struct chunk {
	uint32_t refs;
	uint32_t len;
	char data[];
};

/* One piece of queued output: its own bytes, or a slice of a chunk. */
struct qent {
	struct qent *next;
	struct chunk *ch;
	uint32_t off, len; /* bytes [off, len) are still to be sent */
	char data[];
};

enum {
	C_DEAD = 1 << 0,
	C_RD_EOF = 1 << 1, /* the client has finished sending */
	C_WR_SHUT = 1 << 2, /* our sending side is shut down */
	C_SHUT_PENDING = 1 << 3, /* shut it down once the queue is empty */
	C_STOPPING = 1 << 4, /* server stop: flush, shut, drain, close */
	C_MID_LINE = 1 << 5, /* --prefix: inside a line */
	C_PRINT_MID = 1 << 6, /* --print: inside a line */
	C_WATCHED = 1 << 7,
	C_EXEC = 1 << 8,
	C_FULL = 1 << 9, /* --broker: its queue holds the hub */
};

struct conn {
	struct server *s;
	struct conn *prev, *next; /* every connection not yet freed */
	struct conn *doomed_next;
	int fd;
	uint32_t flags;
	struct qent *qhead, *qtail;
	size_t qbytes;
	uint64_t rx, tx;
	int64_t start_ms, last_ms;
	struct loop_timer *idle;
	struct rxbatch rxb; /* --relay, --discard: bulk reads wake us less */
	char *line; /* --chat: a partial line */
	size_t line_len;
	char *nick;
	pid_t child; /* --exec */
	pid_t peer_pid; /* a Unix peer */
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} addr;
	socklen_t addrlen;
};

struct server {
	struct loop *l;
	const struct server_opts *o;
	int lfd;
	bool accept_paused;
	bool pause_logged;
	struct loop_timer *accept_timer;
	struct loop_timer *deadline;
	struct loop_timer *stop_timer;
	struct conn *head, *tail; /* in the order they came */
	struct conn *doomed;
	size_t nconns;
	size_t npending; /* connections with queued output */
	size_t nfull; /* --broker: C_FULL connections */
	struct loop_timer *stall_timer;
	uint64_t served;
	bool admitted;
	bool stopping;
	char *buf;
	size_t rsize;
	int mid[2]; /* --relay's splice path: socket -> mid -> stdout */
	size_t mid_cap;
	bool splice; /* that path is in use */
	struct sbuf out; /* what a mode makes of one read */
	struct sbuf log; /* --print and --trace lines */
	/* stdin, for --relay and --chat */
	bool in_on, in_pollable, in_watching, in_armed, in_eof;
	struct loop_timer *in_timer;
	char *in_line;
	size_t in_line_len;
	time_t ts_sec;
	char ts[32];
	int err;
	const char *what;
};

static void conn_close(struct conn *c, int err, const char *why);
static void conn_settle(struct conn *c);
static void stdin_update(struct server *s);

static void *xmalloc(size_t n)
{
	void *p = malloc(n);

	if (!p)
		abort(); /* as fmt.h: losing data silently would be worse */
	return p;
}

static void emit(struct server *s, const struct server_event *ev)
{
	if (s->o->on_event)
		s->o->on_event(ev, s->o->arg);
}

static const char *conn_label(const struct conn *c, char buf[NET_ADDRSTRLEN])
{
	if (c->addr.sa.sa_family != AF_UNIX)
		return net_addr_str(&c->addr.sa, c->addrlen, buf);
	if (c->peer_pid > 0)
		snprintf(buf, NET_ADDRSTRLEN, "pid=%d", (int)c->peer_pid);
	else
		snprintf(buf, NET_ADDRSTRLEN, "unix");
	return buf;
}

/* In chat a client is known by its nickname once it has picked one. */
static const char *chat_name(const struct conn *c, char buf[NET_ADDRSTRLEN])
{
	return c->nick ? c->nick : conn_label(c, buf);
}

static void timer_arm(struct server *s, struct loop_timer **t, int64_t ms,
		      loop_timer_fn fn, void *arg)
{
	if (*t) {
		loop_timer_set(s->l, *t, ms);
		return;
	}
	*t = loop_timer_add(s->l, ms, fn, arg);
	if (!*t)
		abort();
}

/* ---- output: the data channels (stdout, trace) ---- */

static void server_fail(struct server *s, const char *what, int err);

static int write_full(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			int r = net_wait(fd, POLLOUT, -1);

			if (r < 0)
				return r;
			continue;
		}
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Data for stdout; blocking, so a slow reader of stdout slows the server
 * rather than making it buffer without bound. */
static void out_write(struct server *s, const void *data, size_t len)
{
	int r;

	if (s->err)
		return;
	if (s->o->write_out) {
		s->o->write_out(s->o->arg, data, len);
		return;
	}
	r = write_full(s->o->out_fd, data, len);
	if (r < 0)
		server_fail(s, "stdout", r);
}

/* --trace: the format connect uses, each line tagged with the client. */
static void trace(struct conn *c, const char *dir, const void *data, size_t len)
{
	struct server *s = c->s;
	char lab[NET_ADDRSTRLEN];
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	sbuf_reset(&s->log);
	fmt_trace_line(&s->log, s->o->trace_json, &ts, conn_label(c, lab), dir,
		       data, len);
	fwrite(s->log.data, 1, s->log.len, s->o->trace);
}

/* ---- the output queue ---- */

static const char *qent_data(const struct qent *q)
{
	return q->ch ? q->ch->data : q->data;
}

static void chunk_unref(struct chunk *ch)
{
	if (ch && --ch->refs == 0)
		free(ch);
}

static void hub_changed(struct server *s);

/* --broker: keep C_FULL and the hub's pause in step with the queue, with
 * room between the marks so that pausing does not flap. */
static void queue_mark(struct conn *c)
{
	struct server *s = c->s;

	if (s->o->mode != SERVER_BROKER)
		return;
	if (!(c->flags & C_FULL) && c->qbytes > SERVER_QUEUE_MAX) {
		c->flags |= C_FULL;
		if (s->nfull++ == 0)
			hub_changed(s);
	} else if ((c->flags & C_FULL) &&
		   (c->qbytes <= SERVER_QUEUE_MAX / 4 || (c->flags & C_DEAD))) {
		c->flags &= ~C_FULL;
		if (--s->nfull == 0)
			hub_changed(s);
	}
}

static void queue_push(struct conn *c, struct qent *q)
{
	q->next = NULL;
	if (c->qtail)
		c->qtail->next = q;
	else
		c->qhead = q;
	c->qtail = q;
	if (c->qbytes == 0)
		c->s->npending++;
	c->qbytes += q->len - q->off;
	queue_mark(c);
}

static void queue_copy(struct conn *c, const void *data, size_t len)
{
	struct qent *q = xmalloc(sizeof(*q) + len);

	q->ch = NULL;
	q->off = 0;
	q->len = (uint32_t)len;
	memcpy(q->data, data, len);
	queue_push(c, q);
}

static void queue_ref(struct conn *c, struct chunk *ch, size_t off)
{
	struct qent *q = xmalloc(sizeof(*q));

	q->ch = ch;
	ch->refs++;
	q->off = (uint32_t)off;
	q->len = ch->len;
	queue_push(c, q);
}

/* Drop n sent bytes from the front of the queue. */
static void queue_consume(struct conn *c, size_t n)
{
	while (n > 0) {
		struct qent *q = c->qhead;
		size_t k = q->len - q->off;

		if (k > n)
			k = n;
		q->off += (uint32_t)k;
		n -= k;
		c->qbytes -= k;
		if (q->off < q->len)
			break;
		c->qhead = q->next;
		if (!c->qhead)
			c->qtail = NULL;
		chunk_unref(q->ch);
		free(q);
	}
	if (c->qbytes == 0)
		c->s->npending--;
	queue_mark(c);
}

static void queue_clear(struct conn *c)
{
	if (c->qbytes)
		c->s->npending--;
	while (c->qhead) {
		struct qent *q = c->qhead;

		c->qhead = q->next;
		chunk_unref(q->ch);
		free(q);
	}
	c->qtail = NULL;
	c->qbytes = 0;
	queue_mark(c);
}

/* ---- one connection ---- */

static bool line_mode(const struct server *s)
{
	return s->o->mode == SERVER_ECHO || s->o->mode == SERVER_PREFIX ||
	       s->o->mode == SERVER_TIMESTAMP;
}

static bool conn_reading(const struct conn *c)
{
	if (c->flags & (C_DEAD | C_RD_EOF | C_EXEC))
		return false;
	/* A stopping server reads only to see the client's end. */
	if (c->flags & C_STOPPING)
		return (c->flags & C_WR_SHUT) != 0;
	/* Replies to a client wait until it has read the previous ones. */
	if (line_mode(c->s))
		return c->qhead == NULL;
	/* A full receiver holds every sender of the hub. */
	if (c->s->o->mode == SERVER_BROKER)
		return c->s->nfull == 0;
	return true;
}

static void conn_update(struct conn *c)
{
	uint32_t ev = 0;

	if (c->flags & C_DEAD)
		return;
	if (conn_reading(c))
		ev |= LOOP_IN;
	if (c->qhead)
		ev |= LOOP_OUT;
	loop_modify(c->s->l, c->fd, ev);
}

/* write() what the kernel takes: bytes written, or a negative errno. */
static ssize_t conn_write(struct conn *c, const void *data, size_t len)
{
	ssize_t n;

	do
		n = write(c->fd, data, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	if (n > 0) {
		c->tx += (uint64_t)n;
		c->last_ms = loop_now(c->s->l);
		if (c->s->o->trace)
			trace(c, "send", data, (size_t)n);
	}
	return n;
}

static bool conn_can_send(const struct conn *c)
{
	return !(c->flags & (C_DEAD | C_WR_SHUT | C_SHUT_PENDING | C_EXEC));
}

/* Queue limits for the modes that do not pause the client's input. */
static void conn_check_queue(struct conn *c)
{
	/* Line modes pause the client instead, relay pauses stdin and the
	 * broker pauses the hub. */
	if (c->s->o->mode == SERVER_CHAT && c->qbytes > SERVER_QUEUE_MAX)
		conn_close(c, 0, "send queue full");
	else
		conn_update(c);
}

static void conn_send(struct conn *c, const void *data, size_t len)
{
	const char *p = data;

	if (!conn_can_send(c) || len == 0)
		return;
	if (!c->qhead) {
		ssize_t n = conn_write(c, p, len);

		if (n < 0) {
			conn_close(c, (int)n, NULL);
			return;
		}
		p += n;
		len -= (size_t)n;
		if (len == 0)
			return;
	}
	queue_copy(c, p, len);
	conn_check_queue(c);
}

static void conn_flush(struct conn *c)
{
	while (c->qhead) {
		struct iovec iov[IOV_BATCH];
		size_t total = 0;
		ssize_t n;
		int k = 0;

		for (struct qent *q = c->qhead; q && k < IOV_BATCH;
		     q = q->next, k++) {
			iov[k].iov_base = (char *)qent_data(q) + q->off;
			iov[k].iov_len = q->len - q->off;
			total += iov[k].iov_len;
		}
		do
			n = writev(c->fd, iov, k);
		while (n < 0 && errno == EINTR);
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0) {
			conn_close(c, -errno, NULL);
			return;
		}
		c->tx += (uint64_t)n;
		c->last_ms = loop_now(c->s->l);
		if (c->s->o->trace) {
			size_t left = (size_t)n;

			for (int i = 0; i < k && left; i++) {
				size_t m = iov[i].iov_len < left
						   ? iov[i].iov_len
						   : left;

				trace(c, "send", iov[i].iov_base, m);
				left -= m;
			}
		}
		queue_consume(c, (size_t)n);
		if ((size_t)n < total)
			break;
	}
	conn_settle(c);
	stdin_update(c->s);
}

/* With -N a relay client that finished sending still gets the rest of
 * stdin; its connection ends when both sides are done. */
static bool keep_half_open(const struct conn *c)
{
	const struct server_opts *o = c->s->o;

	return o->mode == SERVER_RELAY && o->shutdown_on_eof &&
	       !(c->flags & (C_WR_SHUT | C_STOPPING));
}

/* After any change: shut down, close or re-arm as the state says. */
static void conn_settle(struct conn *c)
{
	if (c->flags & C_DEAD)
		return;
	if (!c->qhead) {
		if ((c->flags & C_SHUT_PENDING) && !(c->flags & C_WR_SHUT)) {
			shutdown(c->fd, SHUT_WR);
			c->flags |= C_WR_SHUT;
		}
		if ((c->flags & C_RD_EOF) && !keep_half_open(c)) {
			conn_close(c, 0, NULL);
			return;
		}
	}
	conn_update(c);
}

/* ---- broadcast (--broker, --chat, --relay's stdin) ---- */

static void finish(struct server *s);

static void on_stall(struct loop *l, struct loop_timer *t, void *arg)
{
	struct server *s = arg;
	int64_t now = loop_now(l);

	(void)t;
	for (struct conn *c = s->head; c; c = c->next)
		if ((c->flags & C_FULL) && !(c->flags & C_DEAD) &&
		    now - c->last_ms >= SERVER_STALL_MS)
			conn_close(c, 0, "not reading (send queue full)");
	if (s->nfull)
		loop_timer_set(l, s->stall_timer, STALL_CHECK_MS);
	finish(s);
}

/* The hub went from flowing to held or back: re-arm every client. */
static void hub_changed(struct server *s)
{
	for (struct conn *c = s->head; c; c = c->next)
		conn_update(c);
	if (s->nfull)
		timer_arm(s, &s->stall_timer, STALL_CHECK_MS, on_stall, s);
}

static void broadcast(struct server *s, const struct conn *from,
		      const void *data, size_t len)
{
	struct chunk *ch = NULL;

	if (len == 0)
		return;
	for (struct conn *r = s->head; r; r = r->next) {
		size_t off = 0;

		if (r == from || !conn_can_send(r))
			continue;
		if (!r->qhead) {
			ssize_t n = conn_write(r, data, len);

			if (n < 0) {
				conn_close(r, (int)n, NULL);
				continue;
			}
			if ((size_t)n == len)
				continue;
			off = (size_t)n;
		}
		if (!ch) {
			ch = xmalloc(sizeof(*ch) + len);
			ch->refs = 1;
			ch->len = (uint32_t)len;
			memcpy(ch->data, data, len);
		}
		queue_ref(r, ch, off);
		conn_check_queue(r);
	}
	chunk_unref(ch);
}

/* ---- modes ---- */

void server_frame_prefix(struct sbuf *out, const char *prefix, size_t plen,
			 const void *data, size_t len, bool *mid)
{
	const char *p = data, *end = p + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl ? nl + 1 : end;

		if (!*mid)
			sbuf_add(out, prefix, plen);
		sbuf_add(out, p, (size_t)(stop - p));
		*mid = !nl;
		p = stop;
	}
}

static void emit_line(const char *line, size_t len, bool strip_cr,
		      void (*fn)(const char *, size_t, void *), void *arg)
{
	if (strip_cr && len && line[len - 1] == '\r')
		len--;
	fn(line, len, arg);
}

size_t server_lines(char **buf, size_t *buf_len, size_t max, const void *data,
		    size_t len,
		    void (*fn)(const char *line, size_t len, void *arg),
		    void *arg)
{
	const char *p = data, *end = p + len;
	size_t lines = 0;

	if (max == 0)
		max = 1;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t seg = (size_t)((nl ? nl : end) - p);
		size_t room = max - *buf_len;

		if (seg > room) {
			/* Too long: pass on max bytes as a line of its own. */
			if (*buf_len == 0) {
				emit_line(p, max, false, fn, arg);
			} else {
				memcpy(*buf + *buf_len, p, room);
				emit_line(*buf, max, false, fn, arg);
				*buf_len = 0;
			}
			p += room;
			lines++;
			continue;
		}
		if (!nl) {
			if (!*buf)
				*buf = xmalloc(max);
			memcpy(*buf + *buf_len, p, seg);
			*buf_len += seg;
			break;
		}
		if (*buf_len == 0) {
			emit_line(p, seg, true, fn, arg);
		} else {
			memcpy(*buf + *buf_len, p, seg);
			emit_line(*buf, *buf_len + seg, true, fn, arg);
			*buf_len = 0;
		}
		lines++;
		p = nl + 1;
	}
	if (*buf_len == 0) {
		free(*buf);
		*buf = NULL;
	}
	return lines;
}

bool server_nick_valid(const char *nick, size_t len)
{
	if (len == 0 || len > SERVER_NICK_MAX)
		return false;
	if (len == 6 && !strncasecmp(nick, "server", 6))
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = nick[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' ||
		      ch == '.'))
			return false;
	}
	return true;
}

void server_format_print(struct sbuf *out, const char *peer, const void *data,
			 size_t len, bool *mid)
{
	const char *p = data, *end = p + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl ? nl : end;

		/* The newline that ends a line already shown is no line. */
		if (!(*mid && nl == p)) {
			sbuf_adds(out, peer);
			sbuf_add(out, ": ", 2);
			fmt_escape(out, p, (size_t)(stop - p));
			sbuf_addc(out, '\n');
		}
		*mid = !nl;
		p = nl ? nl + 1 : end;
	}
}

static void print_input(struct conn *c, const void *data, size_t len)
{
	struct server *s = c->s;
	char lab[NET_ADDRSTRLEN];
	bool mid = c->flags & C_PRINT_MID;

	sbuf_reset(&s->log);
	server_format_print(&s->log, conn_label(c, lab), data, len, &mid);
	c->flags = mid ? c->flags | C_PRINT_MID : c->flags & ~C_PRINT_MID;
	out_write(s, s->log.data, s->log.len);
}

static const char *timestamp(struct server *s, size_t *ret_len)
{
	time_t now = time(NULL);

	if (now != s->ts_sec || !s->ts[0]) {
		char *nl;

		ctime_r(&now, s->ts);
		nl = strchr(s->ts, '\n');
		if (nl)
			*nl = ' '; /* "Tue Sep 13 19:11:20 2016 " */
		s->ts_sec = now;
	}
	*ret_len = strlen(s->ts);
	return s->ts;
}

static void frame_input(struct conn *c, const void *data, size_t len)
{
	struct server *s = c->s;
	bool mid = c->flags & C_MID_LINE;
	const char *pfx = s->o->prefix;
	size_t plen = s->o->prefix_len;

	if (s->o->mode == SERVER_TIMESTAMP)
		pfx = timestamp(s, &plen);
	sbuf_reset(&s->out);
	server_frame_prefix(&s->out, pfx, plen, data, len, &mid);
	c->flags = mid ? c->flags | C_MID_LINE : c->flags & ~C_MID_LINE;
	conn_send(c, s->out.data, s->out.len);
}

static void chat_flush(struct server *s, const struct conn *from)
{
	broadcast(s, from, s->out.data, s->out.len);
	sbuf_reset(&s->out);
}

/* "* NAME joined", "* NAME left": to everyone but the one it is about. */
static void chat_announce(struct server *s, const struct conn *c,
			  const char *what)
{
	char lab[NET_ADDRSTRLEN];
	struct sbuf b = SBUF_INIT;

	sbuf_addf(&b, "* %s %s\n", chat_name(c, lab), what);
	broadcast(s, c, b.data, b.len);
	sbuf_free(&b);
}

static void chat_reply(struct conn *c, const char *text)
{
	conn_send(c, text, strlen(text));
}

static void chat_nick(struct conn *c, const char *name, size_t len)
{
	struct server *s = c->s;
	struct sbuf b = SBUF_INIT;
	char lab[NET_ADDRSTRLEN];
	struct server_event ev = {.kind = SERVER_EV_NICK};

	while (len && *name == ' ')
		name++, len--;
	while (len && name[len - 1] == ' ')
		len--;
	if (!server_nick_valid(name, len)) {
		chat_reply(c, "* a nick is 1 to 32 letters, digits, '_', '-' "
			      "or '.'\n");
		return;
	}
	for (struct conn *o = s->head; o; o = o->next) {
		if (o == c || (o->flags & C_DEAD) || !o->nick ||
		    strlen(o->nick) != len || strncasecmp(o->nick, name, len))
			continue;
		chat_reply(c, "* that nick is taken\n");
		return;
	}
	sbuf_addf(&b, "* %s is now %.*s\n", chat_name(c, lab), (int)len, name);
	free(c->nick);
	c->nick = strndup(name, len);
	if (!c->nick)
		abort();
	ev.peer = conn_label(c, lab);
	ev.why = c->nick;
	emit(s, &ev);
	broadcast(s, NULL, b.data, b.len);
	sbuf_free(&b);
}

static void chat_who(struct conn *c)
{
	struct server *s = c->s;
	struct sbuf b = SBUF_INIT;
	char lab[NET_ADDRSTRLEN];
	const char *sep = "";

	sbuf_addf(&b, "* %zu here:", s->nconns);
	for (struct conn *o = s->head; o; o = o->next) {
		if (o->flags & C_DEAD)
			continue;
		sbuf_addf(&b, "%s %s%s", sep, chat_name(o, lab),
			  o == c ? " (you)" : "");
		sep = ",";
	}
	sbuf_addc(&b, '\n');
	conn_send(c, b.data, b.len);
	sbuf_free(&b);
}

static void chat_line(const char *line, size_t len, void *arg)
{
	struct conn *c = arg;
	struct server *s = c->s;
	char lab[NET_ADDRSTRLEN];

	if (c->flags & C_DEAD)
		return;
	if (len >= 6 && !memcmp(line, "/nick ", 6)) {
		chat_flush(s, c);
		chat_nick(c, line + 6, len - 6);
		return;
	}
	if (len == 4 && !memcmp(line, "/who", 4)) {
		chat_flush(s, c);
		chat_who(c);
		return;
	}
	sbuf_addc(&s->out, '<');
	sbuf_adds(&s->out, chat_name(c, lab));
	sbuf_add(&s->out, "> ", 2);
	/* Control bytes from one client must not reach another's terminal. */
	fmt_escape(&s->out, line, len);
	sbuf_addc(&s->out, '\n');
}

static void chat_input(struct conn *c, const void *data, size_t len)
{
	sbuf_reset(&c->s->out);
	server_lines(&c->line, &c->line_len, SERVER_LINE_MAX, data, len,
		     chat_line, c);
	chat_flush(c->s, c);
}

static void chat_eof(struct conn *c)
{
	if (!c->line_len)
		return;
	sbuf_reset(&c->s->out);
	chat_line(c->line, c->line_len, c);
	chat_flush(c->s, c);
	free(c->line);
	c->line = NULL;
	c->line_len = 0;
}

static void conn_input(struct conn *c, const char *data, size_t len)
{
	struct server *s = c->s;

	if (s->o->trace)
		trace(c, "recv", data, len);
	if (s->o->print) {
		print_input(c, data, len);
		if (c->flags & C_DEAD)
			return;
	}
	switch (s->o->mode) {
	case SERVER_ECHO:
		conn_send(c, data, len);
		break;
	case SERVER_PREFIX:
	case SERVER_TIMESTAMP:
		frame_input(c, data, len);
		break;
	case SERVER_BROKER:
		broadcast(s, c, data, len);
		break;
	case SERVER_CHAT:
		chat_input(c, data, len);
		break;
	case SERVER_RELAY:
		out_write(s, data, len);
		break;
	case SERVER_DISCARD:
	case SERVER_EXEC:
		break;
	}
}

static void conn_eof(struct conn *c)
{
	c->flags |= C_RD_EOF;
	if (c->s->o->mode == SERVER_CHAT && !(c->flags & C_STOPPING))
		chat_eof(c);
	conn_settle(c);
}

/* ---- --relay's splice path ---- */

/*
 * With nobody looking at the bytes (no --print, no --trace) and stdout
 * something splice(2) writes to (a file, a pipe, /dev/null), a client's
 * data goes socket -> pipe -> stdout inside the kernel: a relay that
 * moves gigabytes never copies them through user space.
 */
static void splice_setup(struct server *s)
{
	s->mid[0] = s->mid[1] = -1;
	if (s->o->mode != SERVER_RELAY || s->o->print || s->o->trace ||
	    s->o->write_out || s->o->out_fd < 0 || !s->o->splice)
		return;
	s->splice = net_splice_pipe(s->mid, MID_SIZE, &s->mid_cap) == 0;
}

/* Empties the pipe into stdout.  Stdout cannot take splice (a terminal, a
 * file opened O_APPEND): what is in the pipe goes the copying way, and
 * so does everything after it. */
static void splice_drain(struct server *s, size_t n)
{
	while (n > 0 && !s->err) {
		ssize_t w = splice(s->mid[0], NULL, s->o->out_fd, NULL, n,
				   SPLICE_F_MOVE);

		if (w > 0) {
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			int r = net_wait(s->o->out_fd, POLLOUT, -1);

			if (r < 0)
				server_fail(s, "stdout", r);
			continue;
		}
		if (w < 0 && net_splice_refused(errno)) {
			s->splice = false;
			while (n > 0) {
				ssize_t r = read(s->mid[0], s->buf,
						 n < BUF_SIZE ? n : BUF_SIZE);

				if (r <= 0)
					break;
				out_write(s, s->buf, (size_t)r);
				n -= (size_t)r;
			}
			return;
		}
		server_fail(s, "stdout", w < 0 ? -errno : -EIO);
	}
}

/*
 * A read of --relay or --discard: large ones raise the receive mark
 * (rxbatch), and while it is up the next read is a megabyte away, no
 * reason to spin: a receiver spinning in its own session takes a CPU
 * from the sender and from what feeds it (+10 % paired from `head |
 * connect`, 16 rounds; +7 % from a file).
 */
static void bulk_read(struct conn *c, size_t n)
{
	rxbatch_read(&c->rxb, n);
	if (rxbatch_raised(&c->rxb))
		loop_calm(c->s->l);
}

/*
 * One read of conn_read's: the bytes taken (spliced to stdout, or handed
 * to the mode), 0 at end of file, or -errno.  *cap is how much it asked
 * for: less means the socket is drained.
 */
static ssize_t conn_take(struct conn *c, size_t *cap)
{
	struct server *s = c->s;
	/* A stopping server only drains what is still coming. */
	bool keep = !(c->flags & C_STOPPING);
	ssize_t n;

	if (s->splice && keep) {
		n = splice(c->fd, NULL, s->mid[1], NULL, s->mid_cap,
			   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		if (n < 0 && net_splice_refused(errno)) {
			s->splice = false;
		} else {
			*cap = s->mid_cap;
			if (n <= 0)
				return n < 0 ? -errno : 0;
			c->rx += (uint64_t)n;
			c->last_ms = loop_now(s->l);
			bulk_read(c, (size_t)n);
			splice_drain(s, (size_t)n);
			return n;
		}
	}
	*cap = s->rsize;
	n = read(c->fd, s->buf, s->rsize);
	if (n <= 0)
		return n < 0 ? -errno : 0;
	c->rx += (uint64_t)n;
	c->last_ms = loop_now(s->l);
	/* Modes that answer what they read wait for no more than comes. */
	if (s->o->mode == SERVER_RELAY || s->o->mode == SERVER_DISCARD)
		bulk_read(c, (size_t)n);
	if (keep)
		conn_input(c, s->buf, (size_t)n);
	return n;
}

static void conn_read(struct conn *c)
{
	for (int i = 0; i < READS_PER_EVENT; i++) {
		size_t cap;
		ssize_t n = conn_take(c, &cap);

		if (n == -EINTR)
			continue;
		if (n < 0) {
			if (n != -EAGAIN)
				conn_close(c, (int)n, NULL);
			return;
		}
		if (n == 0) {
			conn_eof(c);
			return;
		}
		if (!conn_reading(c) || (size_t)n < cap)
			return;
	}
}

static int sock_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -errno;
	return -err;
}

/* ---- connection life: admit, close, free ---- */

/* TCP states as tcpi_state gives them (the kernel's numbering). */
enum {
	ST_FIN_WAIT2 = 5,
	ST_TIME_WAIT = 6,
	ST_CLOSE_WAIT = 8,
	ST_LAST_ACK = 9,
	ST_CLOSING = 11,
};

static bool fin_received(int st)
{
	return st == ST_CLOSE_WAIT || st == ST_LAST_ACK || st == ST_CLOSING ||
	       st == ST_TIME_WAIT;
}

static bool fin_acked(int st)
{
	return st == ST_FIN_WAIT2 || st == ST_TIME_WAIT;
}

static void exec_counts(struct conn *c, struct server_event *ev)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	/* The child owned the socket; the kernel kept count for us. */
	ev->counted = false;
	if (c->addr.sa.sa_family == AF_UNIX ||
	    getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 ||
	    len < offsetof(struct tcp_info, tcpi_bytes_received) +
			    sizeof(ti.tcpi_bytes_received))
		return;
	/* The kernel counts sequence space, where each FIN takes one. */
	ev->received = ti.tcpi_bytes_received;
	if (ev->received && fin_received(ti.tcpi_state))
		ev->received--;
	ev->sent = ti.tcpi_bytes_acked;
	if (ev->sent && fin_acked(ti.tcpi_state))
		ev->sent--;
	ev->counted = true;
}

static void accept_resume(struct server *s)
{
	if (!s->accept_paused || s->lfd < 0)
		return;
	s->accept_paused = false;
	loop_modify(s->l, s->lfd, LOOP_IN);
}

static void conn_close(struct conn *c, int err, const char *why)
{
	struct server *s = c->s;
	struct server_event ev = {
		.kind = SERVER_EV_DISCONNECTED,
		.err = err,
		.why = why,
		.received = c->rx,
		.sent = c->tx,
		.counted = true,
	};
	char lab[NET_ADDRSTRLEN];

	if (c->flags & C_DEAD)
		return;
	c->flags |= C_DEAD;
	if (c->flags & C_EXEC)
		exec_counts(c, &ev);
	if (c->flags & C_WATCHED)
		loop_unwatch(s->l, c->fd);
	close(c->fd);
	queue_clear(c);
	free(c->line);
	c->line = NULL;
	c->line_len = 0;
	loop_timer_del(s->l, c->idle);
	c->idle = NULL;
	rxbatch_free(&c->rxb);
	s->nconns--;
	ev.peer = conn_label(c, lab);
	ev.ms = loop_now(s->l) - c->start_ms;
	emit(s, &ev);
	c->doomed_next = s->doomed;
	s->doomed = c;
	/* A freed fd is what a paused accept is waiting for. */
	accept_resume(s);
	stdin_update(s);
}

static void on_idle(struct loop *l, struct loop_timer *t, void *arg);
static void on_conn(struct loop *l, int fd, uint32_t events, void *arg);

static bool acl_allows(const struct server_opts *o, const struct sockaddr *sa)
{
	struct sockaddr_in6 mapped;

	if (sa->sa_family == AF_INET) {
		/* Match IPv4 peers in their v4-mapped form, so that IPv4
		 * and ::ffff:a.b.c.d CIDRs both apply. */
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		memset(&mapped, 0, sizeof(mapped));
		mapped.sin6_family = AF_INET6;
		mapped.sin6_addr.s6_addr[10] = 0xff;
		mapped.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&mapped.sin6_addr.s6_addr[12], &in->sin_addr, 4);
		sa = (const struct sockaddr *)&mapped;
	} else if (sa->sa_family != AF_INET6) {
		return true;
	}
	for (size_t i = 0; i < o->ndeny; i++)
		if (cidr_match(&o->deny[i], sa))
			return false;
	if (o->nallow == 0)
		return true;
	for (size_t i = 0; i < o->nallow; i++)
		if (cidr_match(&o->allow[i], sa))
			return true;
	return false;
}

static void stop_listening(struct server *s)
{
	if (s->lfd < 0)
		return;
	loop_unwatch(s->l, s->lfd);
	close(s->lfd);
	s->lfd = -1;
	s->accept_paused = false;
}

/* The environment of an --exec child: ours plus the peer's address. */
static char **child_env(const struct conn *c, char *addr, size_t asize,
			char *port, size_t psize)
{
	char host[NET_ADDRSTRLEN];
	uint16_t pnum = 0;
	size_t n = 0, k = 0;
	char **env;

	host[0] = '\0';
	if (c->addr.sa.sa_family != AF_UNIX)
		net_addr_host(&c->addr.sa, c->addrlen, host, &pnum);
	snprintf(addr, asize, "SOCKCTL_PEER_ADDR=%s", host);
	if (c->addr.sa.sa_family != AF_UNIX)
		snprintf(port, psize, "SOCKCTL_PEER_PORT=%u", pnum);
	else
		snprintf(port, psize, "SOCKCTL_PEER_PORT=");
	while (environ && environ[n])
		n++;
	env = xmalloc((n + 3) * sizeof(*env));
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "SOCKCTL_PEER_ADDR=", 18) &&
		    strncmp(environ[i], "SOCKCTL_PEER_PORT=", 18))
			env[k++] = environ[i];
	env[k++] = addr;
	env[k++] = port;
	env[k] = NULL;
	return env;
}

/* --exec: /bin/sh -c CMD with the socket as stdin and stdout. */
static int exec_spawn(struct server *s, struct conn *c)
{
	char addr[NET_ADDRSTRLEN + 32], port[48];
	char *argv[] = {"sh", "-c", (char *)s->o->exec_cmd, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dfl;
	char **env;
	int r;

	/* The child expects an ordinary blocking socket; our copy is only
	 * kept for the byte counts, never read or written. */
	r = net_set_nonblock(c->fd, false);
	if (r < 0)
		return r;
	if (s->o->banner_len) {
		r = write_full(c->fd, s->o->banner, s->o->banner_len);
		if (r < 0)
			return r;
		c->tx += s->o->banner_len;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, c->fd, 0);
	posix_spawn_file_actions_adddup2(&fa, c->fd, 1);
	/* Ours are all close-on-exec, but whatever we inherited without
	 * that flag must not reach the command either. */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_init(&at);
	/* Undo what the loop did to us: blocked SIGINT/SIGTERM/SIGCHLD and
	 * an ignored SIGPIPE (both would survive exec). */
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &dfl);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK |
					      POSIX_SPAWN_SETSIGDEF);
	env = child_env(c, addr, sizeof(addr), port, sizeof(port));
	r = posix_spawn(&c->child, "/bin/sh", &fa, &at, argv, env);
	free(env);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return -r;
}

static struct conn *conn_new(struct server *s, int fd,
			     const struct sockaddr_storage *ss, socklen_t len)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		abort();
	c->s = s;
	c->fd = fd;
	c->addrlen = len < sizeof(c->addr) ? len : sizeof(c->addr);
	memcpy(&c->addr, ss, c->addrlen);
	c->addr.sa.sa_family = ss->ss_family;
	if (ss->ss_family == AF_UNIX) {
		struct ucred cred;
		socklen_t clen = sizeof(cred);

		/* Unix clients rarely bind a name: call them by process. */
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0)
			c->peer_pid = cred.pid;
	}
	c->start_ms = c->last_ms = loop_now(s->l);
	return c;
}

/* Why a new client may not stay, or NULL. */
static const char *refusal(struct server *s, const struct sockaddr *sa,
			   char why[64])
{
	if (!acl_allows(s->o, sa))
		return "not allowed";
	if (s->o->max_conns && s->nconns >= s->o->max_conns) {
		snprintf(why, 64, "too many connections (max %zu)",
			 s->o->max_conns);
		return why;
	}
	return NULL;
}

static void conn_link(struct server *s, struct conn *c)
{
	c->prev = s->tail;
	if (s->tail)
		s->tail->next = c;
	else
		s->head = c;
	s->tail = c;
	s->nconns++;
	s->served++;
	if (!s->admitted) {
		s->admitted = true;
		loop_timer_del(s->l, s->deadline);
		s->deadline = NULL;
	}
	if (s->o->once)
		stop_listening(s);
}

/* The first moves of a served connection: watch, banner, announce. */
static void conn_start(struct server *s, struct conn *c)
{
	const struct server_opts *o = s->o;
	int r;

	if (o->mode == SERVER_EXEC) {
		c->flags |= C_EXEC;
		r = exec_spawn(s, c);
		if (r < 0)
			conn_close(c, r, "cannot run the command");
		return;
	}
	r = loop_watch(s->l, c->fd, LOOP_IN, on_conn, c);
	if (r < 0) {
		conn_close(c, r, NULL);
		return;
	}
	c->flags |= C_WATCHED;
	rxbatch_init(&c->rxb, s->l, c->fd);
	if (o->idle_ms > 0) {
		c->idle = loop_timer_add(s->l, o->idle_ms, on_idle, c);
		if (!c->idle)
			abort();
	}
	conn_send(c, o->banner, o->banner_len);
	if (o->mode == SERVER_CHAT)
		chat_announce(s, c, "joined");
	if (o->mode == SERVER_RELAY && s->in_eof && o->shutdown_on_eof)
		c->flags |= C_SHUT_PENDING;
	conn_settle(c);
	stdin_update(s);
}

static void admit(struct server *s, int fd, const struct sockaddr_storage *ss,
		  socklen_t len)
{
	struct conn *c = conn_new(s, fd, ss, len);
	struct server_event ev = {.kind = SERVER_EV_CONNECTED};
	char lab[NET_ADDRSTRLEN], why[64];

	ev.peer = conn_label(c, lab);
	ev.why = refusal(s, (const struct sockaddr *)ss, why);
	if (ev.why) {
		/* Accepted and closed at once: it is told, not left waiting
		 * in the backlog. */
		ev.kind = SERVER_EV_REFUSED;
		close(fd);
		free(c);
		emit(s, &ev);
		return;
	}
	conn_link(s, c);
	emit(s, &ev);
	conn_start(s, c);
}

static void unlink_conn(struct server *s, struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		s->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		s->tail = c->prev;
}

/* The end of every loop callback: free what was closed, stop when done. */
static void finish(struct server *s)
{
	while (s->doomed) {
		struct conn *c = s->doomed;

		s->doomed = c->doomed_next;
		if (s->o->mode == SERVER_CHAT && !s->stopping)
			chat_announce(s, c, "left");
		unlink_conn(s, c);
		free(c->nick);
		free(c);
	}
	if (s->o->trace)
		fflush(s->o->trace);
	if (!loop_stopping(s->l) && s->nconns == 0 &&
	    (s->stopping || (s->o->once && s->admitted)))
		loop_stop(s->l, 0);
}

static void close_all(struct server *s, int err, const char *why)
{
	for (struct conn *c = s->head; c; c = c->next) {
		if (c->flags & C_DEAD)
			continue;
		if (c->flags & C_EXEC) {
			kill(c->child, SIGKILL);
			waitpid(c->child, NULL, 0);
		}
		conn_close(c, err, why);
	}
}

static void server_fail(struct server *s, const char *what, int err)
{
	if (s->err)
		return;
	s->err = err;
	s->what = what;
	stop_listening(s);
	close_all(s, 0, NULL);
	loop_stop(s->l, err);
}

/* ---- loop callbacks ---- */

static void on_conn(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct conn *c = arg;
	struct server *s = c->s;

	(void)l;
	if (events & LOOP_OUT)
		conn_flush(c);
	if (!(c->flags & C_DEAD) &&
	    (events & (LOOP_IN | LOOP_HUP | LOOP_ERR)) && conn_reading(c))
		conn_read(c);
	/* Nothing can be sent any more: the connection is over. */
	if (!(c->flags & C_DEAD) && (events & (LOOP_HUP | LOOP_ERR)))
		conn_close(c, sock_error(fd), NULL);
	finish(s);
}

static void on_idle(struct loop *l, struct loop_timer *t, void *arg)
{
	struct conn *c = arg;
	struct server *s = c->s;
	int64_t quiet = loop_now(l) - c->last_ms;

	/* Traffic moves last_ms without touching the timer: re-arm lazily.
	 * A client we stopped reading (the hub is held) is not idle. */
	if (s->nfull && !(c->flags & C_FULL))
		quiet = 0;
	if (quiet >= s->o->idle_ms)
		conn_close(c, 0, "idle timeout");
	else
		loop_timer_set(l, t, s->o->idle_ms - quiet);
	finish(s);
}

static void on_accept_timer(struct loop *l, struct loop_timer *t, void *arg)
{
	(void)l;
	(void)t;
	accept_resume(arg);
}

/* Out of fds (or memory): stop accepting for a moment instead of
 * spinning on a listening socket that stays readable. */
static void accept_pause(struct server *s, int err)
{
	if (!s->pause_logged) {
		struct server_event ev = {.kind = SERVER_EV_ACCEPT_PAUSED,
					  .err = err};

		emit(s, &ev);
		s->pause_logged = true;
	}
	s->accept_paused = true;
	loop_modify(s->l, s->lfd, 0);
	timer_arm(s, &s->accept_timer, ACCEPT_PAUSE_MS, on_accept_timer, s);
}

static void accept_caught_up(struct server *s)
{
	struct server_event ev = {.kind = SERVER_EV_ACCEPT_RESUMED};

	if (!s->pause_logged)
		return;
	s->pause_logged = false;
	emit(s, &ev);
}

static bool accept_transient(int err)
{
	switch (err) {
	case EINTR:
	case ECONNABORTED:
	case EPROTO:
	case EPERM:
	case ENETDOWN:
	case ENOPROTOOPT:
	case EHOSTDOWN:
	case ENONET:
	case EHOSTUNREACH:
	case EOPNOTSUPP:
	case ENETUNREACH:
		return true; /* accept(2): errors of that one connection */
	default:
		return false;
	}
}

static void on_accept(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct server *s = arg;

	(void)l;
	(void)fd;
	(void)events;
	for (int i = 0; i < ACCEPTS_PER_EVENT && s->lfd >= 0; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int cfd = accept4(s->lfd, (struct sockaddr *)&ss, &len,
				  SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0) {
			int e = errno;

			if (e == EAGAIN) {
				/* Every waiting client is in: the shortage,
				 * if there was one, is over. */
				accept_caught_up(s);
				break;
			}
			if (e == EMFILE || e == ENFILE || e == ENOBUFS ||
			    e == ENOMEM) {
				accept_pause(s, -e);
				break;
			}
			if (accept_transient(e))
				continue;
			server_fail(s, "accept", -e);
			break;
		}
		admit(s, cfd, &ss, len);
	}
	finish(s);
}

static void on_stop_timer(struct loop *l, struct loop_timer *t, void *arg)
{
	struct server *s = arg;

	(void)l;
	(void)t;
	close_all(s, 0, "server stopped");
	finish(s);
}

static void begin_stop(struct server *s)
{
	s->stopping = true;
	stop_listening(s);
	loop_timer_del(s->l, s->deadline);
	s->deadline = NULL;
	stdin_update(s);
	for (struct conn *c = s->head; c; c = c->next) {
		if (c->flags & C_DEAD)
			continue;
		if (c->flags & C_EXEC) {
			kill(c->child, SIGTERM);
			continue;
		}
		/* Flush, shut down our side, wait for the client's end. */
		c->flags |= C_STOPPING | C_SHUT_PENDING;
		conn_settle(c);
	}
	timer_arm(s, &s->stop_timer, SERVER_STOP_GRACE_MS, on_stop_timer, s);
}

static void on_signal(struct loop *l, int signo, void *arg)
{
	struct server *s = arg;
	struct server_event ev = {.kind = SERVER_EV_STOPPING, .status = signo};

	(void)l;
	if (s->stopping) {
		/* Asked twice: do not wait for anyone. */
		close_all(s, 0, "server stopped");
	} else {
		emit(s, &ev);
		begin_stop(s);
	}
	finish(s);
}

static void on_sigchld(struct loop *l, int signo, void *arg)
{
	struct server *s = arg;
	int st;
	pid_t pid;

	(void)l;
	(void)signo;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (struct conn *c = s->head; c; c = c->next) {
			struct server_event ev = {.kind = SERVER_EV_EXITED,
						  .status = st};
			char lab[NET_ADDRSTRLEN];

			if (c->child != pid || (c->flags & C_DEAD))
				continue;
			ev.peer = conn_label(c, lab);
			emit(s, &ev);
			conn_close(c, 0, NULL);
			break;
		}
	}
	finish(s);
}

static void on_deadline(struct loop *l, struct loop_timer *t, void *arg)
{
	struct server *s = arg;

	(void)t;
	loop_timer_del(l, s->deadline);
	s->deadline = NULL;
	if (s->admitted)
		return;
	s->err = -ETIMEDOUT;
	s->what = "accept";
	loop_stop(l, s->err);
}

/* ---- stdin (--relay, --chat) ---- */

static bool stdin_wanted(const struct server *s)
{
	if (!s->in_on || s->in_eof || s->stopping || s->err)
		return false;
	if (s->o->mode == SERVER_CHAT)
		return true;
	/* Relay: read only what a client can take now; nothing is lost
	 * before the first client comes, and a full client pauses stdin. */
	return s->nconns > 0 && s->npending == 0;
}

static void on_stdin_timer(struct loop *l, struct loop_timer *t, void *arg);

static void stdin_update(struct server *s)
{
	bool want;

	if (!s->in_on || s->in_eof)
		return;
	want = stdin_wanted(s);
	if (s->in_pollable) {
		if (want != s->in_watching)
			loop_modify(s->l, s->o->in_fd, want ? LOOP_IN : 0);
		s->in_watching = want;
	} else if (want && !s->in_armed) {
		/* A regular file (or /dev/null) cannot be polled: it is always
		 * readable, so read it from a timer that fires at once. */
		s->in_armed = true;
		timer_arm(s, &s->in_timer, 0, on_stdin_timer, s);
	}
}

static void operator_line(const char *line, size_t len, void *arg)
{
	struct server *s = arg;

	sbuf_add(&s->out, "<server> ", 9);
	sbuf_add(&s->out, line, len);
	sbuf_addc(&s->out, '\n');
}

static void stdin_eof(struct server *s, int err)
{
	struct server_event ev = {.kind = SERVER_EV_STDIN_EOF, .err = err};

	s->in_eof = true;
	if (s->in_pollable)
		loop_unwatch(s->l, s->o->in_fd);
	s->in_watching = false;
	emit(s, &ev);
	if (s->o->mode == SERVER_CHAT && s->in_line_len) {
		sbuf_reset(&s->out);
		operator_line(s->in_line, s->in_line_len, s);
		broadcast(s, NULL, s->out.data, s->out.len);
		free(s->in_line);
		s->in_line = NULL;
		s->in_line_len = 0;
	}
	if (s->o->mode != SERVER_RELAY || !s->o->shutdown_on_eof)
		return;
	for (struct conn *c = s->head; c; c = c->next) {
		if (c->flags & C_DEAD)
			continue;
		c->flags |= C_SHUT_PENDING;
		conn_settle(c);
	}
}

static void stdin_read(struct server *s)
{
	ssize_t n;

	if (!stdin_wanted(s))
		return;
	do
		n = read(s->o->in_fd, s->buf, BUF_SIZE);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		/* EIO: the terminal went away, which ends stdin too. */
		stdin_eof(s, n < 0 && errno != EIO ? -errno : 0);
		return;
	}
	if (s->o->mode == SERVER_RELAY) {
		broadcast(s, NULL, s->buf, (size_t)n);
	} else {
		sbuf_reset(&s->out);
		server_lines(&s->in_line, &s->in_line_len, SERVER_LINE_MAX,
			     s->buf, (size_t)n, operator_line, s);
		broadcast(s, NULL, s->out.data, s->out.len);
	}
	stdin_update(s);
}

static void on_stdin(struct loop *l, int fd, uint32_t events, void *arg)
{
	(void)l;
	(void)fd;
	(void)events;
	stdin_read(arg);
	finish(arg);
}

static void on_stdin_timer(struct loop *l, struct loop_timer *t, void *arg)
{
	struct server *s = arg;

	(void)l;
	(void)t;
	s->in_armed = false;
	stdin_read(s);
	stdin_update(s);
	finish(s);
}

static int stdin_setup(struct server *s)
{
	int r;

	if (s->o->in_fd < 0 ||
	    (s->o->mode != SERVER_RELAY && s->o->mode != SERVER_CHAT))
		return 0;
	s->in_on = true;
	r = loop_watch(s->l, s->o->in_fd, 0, on_stdin, s);
	if (r == -EPERM)
		return 0; /* not pollable: the timer path */
	if (r < 0)
		return r;
	s->in_pollable = true;
	return 0;
}

/* ---- the whole run ---- */

static size_t read_size(const struct server_opts *o)
{
	size_t plen;

	switch (o->mode) {
	case SERVER_RELAY:
	case SERVER_DISCARD:
		return BUF_SIZE;
	case SERVER_PREFIX:
	case SERVER_TIMESTAMP:
		/* Bound what one read can grow into: a prefix per byte. */
		plen = o->mode == SERVER_PREFIX ? o->prefix_len : 25;
		return ECHO_READ / (plen + 1) > 512 ? ECHO_READ / (plen + 1)
						    : 512;
	default:
		return ECHO_READ;
	}
}

static int server_setup(struct server *s)
{
	int r;

	r = loop_watch(s->l, s->lfd, LOOP_IN, on_accept, s);
	if (r < 0)
		return r;
	if ((r = loop_signal(s->l, SIGINT, on_signal, s)) < 0 ||
	    (r = loop_signal(s->l, SIGTERM, on_signal, s)) < 0)
		return r;
	if (s->o->mode == SERVER_EXEC &&
	    (r = loop_signal(s->l, SIGCHLD, on_sigchld, s)) < 0)
		return r;
	r = stdin_setup(s);
	if (r < 0)
		return r;
	if (s->o->accept_timeout_ms >= 0)
		timer_arm(s, &s->deadline, s->o->accept_timeout_ms, on_deadline,
			  s);
	return 0;
}

int server_new(struct loop *l, int lfd, const struct server_opts *o,
	       struct server **ret)
{
	struct server *s = calloc(1, sizeof(*s));
	int r;

	if (!s) {
		close(lfd);
		return -ENOMEM;
	}
	s->l = l;
	s->o = o;
	s->lfd = lfd;
	s->buf = io_alloc(BUF_SIZE); /* every read lands here */
	if (!s->buf)
		abort(); /* as xmalloc */
	s->rsize = read_size(o);
	splice_setup(s);
	r = server_setup(s);
	if (r < 0) {
		server_free(s);
		return r;
	}
	*ret = s;
	return 0;
}

int server_run(struct server *s, struct server_result *ret)
{
	int r = loop_run(s->l);

	if (r < 0 && !s->err) {
		s->err = r;
		s->what = "event loop";
	}
	/* Whatever ended the loop, nobody is left connected. */
	stop_listening(s);
	close_all(s, 0, NULL);
	finish(s);
	ret->served = s->served;
	ret->err = s->err;
	ret->what = s->what;
	return s->err;
}

void server_free(struct server *s)
{
	if (!s)
		return;
	stop_listening(s);
	close_all(s, 0, NULL);
	s->stopping = true; /* no leave announcements now */
	finish(s);
	if (s->in_pollable && !s->in_eof)
		loop_unwatch(s->l, s->o->in_fd);
	loop_timer_del(s->l, s->accept_timer);
	loop_timer_del(s->l, s->deadline);
	loop_timer_del(s->l, s->stop_timer);
	loop_timer_del(s->l, s->in_timer);
	loop_timer_del(s->l, s->stall_timer);
	if (s->mid[0] >= 0) {
		close(s->mid[0]);
		close(s->mid[1]);
	}
	free(s->in_line);
	free(s->buf);
	sbuf_free(&s->out);
	sbuf_free(&s->log);
	free(s);
}

size_t server_input(struct server *s, const void *data, size_t len)
{
	size_t n = 0;

	if (s->in_eof || s->stopping || s->err)
		return 0;
	for (struct conn *c = s->head; c; c = c->next)
		n += conn_can_send(c);
	if (s->o->mode == SERVER_RELAY) {
		broadcast(s, NULL, data, len);
	} else if (s->o->mode == SERVER_CHAT) {
		sbuf_reset(&s->out);
		server_lines(&s->in_line, &s->in_line_len, SERVER_LINE_MAX,
			     data, len, operator_line, s);
		broadcast(s, NULL, s->out.data, s->out.len);
	}
	finish(s);
	return n;
}

void server_input_end(struct server *s)
{
	if (!s->in_eof)
		stdin_eof(s, 0);
	finish(s);
}

int server_raise_nofile(uint64_t *ret_limit)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t want = rl.rlim_max;

		/* RLIM_INFINITY is refused for files; nr_open is the cap. */
		if (want == RLIM_INFINITY) {
			FILE *f = fopen("/proc/sys/fs/nr_open", "re");
			unsigned long n = 1048576;

			if (f) {
				if (fscanf(f, "%lu", &n) != 1)
					n = 1048576;
				fclose(f);
			}
			want = n;
		}
		rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			return -errno;
	}
	*ret_limit = rl.rlim_cur;
	return 0;
}
