/*
 * relay.c - the byte relay between a socket and stdin/stdout (see relay.h).
 *
 * Each direction is a small state machine: a source fd, a destination fd
 * (or a deliver hook), and between them either a private pipe (splice
 * path) or a buffer (a pipe source reaches the buffer through the private
 * pipe: read_staged).  pump() moves as much as it can without blocking
 * and then tells the loop which fds to wake it for.
 */
#define _GNU_SOURCE
#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net.h"
#include "rxbatch.h"

/* Rounds of read+write per wake-up before giving the loop a turn. */
#define PUMP_ROUNDS 16

struct rdir {
	int src, dst; /* -1 when absent */
	bool src_ready; /* never blocks (regular file): not polled */
	bool dst_ready;
	/* The last read / write said EAGAIN: not tried again until epoll
	 * reports the fd (a socket with nothing to read would otherwise be
	 * asked on every round of every pump). */
	bool src_dry;
	bool dst_full;
	struct sbuf q; /* queued bytes are q.data[off, q.len) */
	size_t off;
	int mid[2]; /* splice path: the private pipe */
	size_t in_mid; /* bytes in that pipe */
	size_t mid_cap;
	bool splice;
	bool stage; /* buffered path from a pipe: staged through mid */
	size_t staged; /* bytes in mid, not yet read into the buffer */
	bool was_staged; /* staging moved bytes at least once */
	bool spliced; /* splice moved bytes at least once */
	bool eof; /* the source has no more to give */
	bool closed; /* RELAY_SEND: the write side is shut down */
	int err; /* first error, 0 if none */
	enum relay_end where;
	bool reported;
};

struct relay {
	struct loop *loop;
	struct relay_opts o;
	struct relay_hooks h;
	size_t cap;
	struct rdir d[2];
	uint64_t count[2];
	char *scratch; /* reads that a hook looks at first */
	/* Pacing of the send direction (--rate, --delay). */
	double tokens;
	int64_t refill_ms;
	bool paused;
	struct loop_timer *pace;
	/* A wake-up for always-ready fds (no epoll event will come). */
	struct loop_timer *kick;
	bool kick_armed;
	bool pumping;
	struct rxbatch rxb; /* a bulk receive wakes us less */
};

static void pump(struct relay *r);

static size_t queued(const struct rdir *d)
{
	return d->in_mid + (d->q.len - d->off);
}

static void call_traffic(struct relay *r, enum relay_dir dir, const void *data,
			 size_t len)
{
	r->count[dir] += len;
	if (r->h.traffic)
		r->h.traffic(r->o.arg, dir, data, len);
}

static void fail(struct rdir *d, int err, enum relay_end where)
{
	if (d->err)
		return;
	d->err = err;
	d->where = where;
}

/* ---- pacing: a token bucket for --rate, a pause after each line ---- */

static double burst(const struct relay *r)
{
	double b = (double)r->o.rate / 10;

	return b < 1 ? 1 : b;
}

static void refill(struct relay *r)
{
	int64_t now = net_now_ms();

	r->tokens += (double)(now - r->refill_ms) * (double)r->o.rate / 1000;
	if (r->tokens > burst(r))
		r->tokens = burst(r);
	r->refill_ms = now;
}

static void on_pace(struct loop *l, struct loop_timer *t, void *arg)
{
	struct relay *r = arg;

	(void)l;
	(void)t;
	r->paused = false;
	pump(r);
}

static void pause_for(struct relay *r, int64_t ms)
{
	r->paused = true;
	if (!r->pace)
		r->pace = loop_timer_add(r->loop, ms, on_pace, r);
	else
		loop_timer_set(r->loop, r->pace, ms);
	if (!r->pace)
		abort(); /* out of memory for a timer */
}

/* How much of the queue may be written now; 0 means a pause was set. */
static size_t allowed(struct relay *r, struct rdir *d)
{
	size_t n = queued(d);

	if (r->o.line_delay_ms > 0 && n > 0 && !d->in_mid) {
		const char *p = d->q.data + d->off;
		const char *nl = memchr(p, '\n', n);

		if (nl)
			n = (size_t)(nl - p) + 1;
	}
	if (r->o.rate) {
		/* Wait for a sizeable slice, not for every single byte. */
		double want = (double)r->o.rate / 50;

		refill(r);
		if (want > (double)n)
			want = (double)n;
		if (want < 1)
			want = 1;
		if (r->tokens < want) {
			double ms =
				(want - r->tokens) * 1000 / (double)r->o.rate;

			pause_for(r, (int64_t)ms + 1);
			return 0;
		}
		if ((double)n > r->tokens)
			n = (size_t)r->tokens;
	}
	return n;
}

static void spent(struct relay *r, size_t n, bool line_end)
{
	if (r->o.rate)
		r->tokens -= (double)n;
	if (r->o.line_delay_ms > 0 && line_end)
		pause_for(r, r->o.line_delay_ms);
}

/* ---- the splice path ---- */

/*
 * splice was refused: move what is in the private pipe into the buffer
 * and go on with read/write.  Nothing is lost: pipe bytes are plain data.
 */
static void leave_splice(struct rdir *d)
{
	while (d->in_mid > 0) {
		ssize_t n;

		sbuf_reserve(&d->q, d->in_mid);
		n = read(d->mid[0], d->q.data + d->q.len, d->in_mid);
		if (n <= 0)
			break;
		d->q.len += (size_t)n;
		d->in_mid -= (size_t)n;
	}
	d->splice = false;
}

/* ---- reading ---- */

/*
 * The buffer is refilled only once it is empty, as a blocking
 * read-then-write loop would: every read is one large read to the start
 * of the (aligned) buffer, with no sliding of leftovers, and while the
 * socket is full the source fills up behind us instead of being nibbled
 * at.  From `head -c 1G /dev/zero |` that is +5% over refilling whenever
 * there is room.
 */
static bool want_read(const struct rdir *d)
{
	if (d->src < 0 || d->eof || d->err)
		return false;
	if (d->splice)
		return d->in_mid < d->mid_cap;
	return queued(d) == 0;
}

static void got_eof(struct relay *r, struct rdir *d, enum relay_dir dir)
{
	d->eof = true;
	if (r->h.transform[dir])
		r->h.transform[dir](r->o.arg, &d->q, NULL, 0);
}

/* Bytes read from the source are queued, transformed or handed out. */
static void take(struct relay *r, struct rdir *d, enum relay_dir dir,
		 const char *data, size_t n)
{
	if (dir == RELAY_RECV)
		call_traffic(r, dir, data, n);
	if (dir == RELAY_RECV && r->o.discard)
		return;
	if (r->h.transform[dir])
		r->h.transform[dir](r->o.arg, &d->q, data, n);
	else if (data != d->q.data + d->q.len)
		sbuf_add(&d->q, data, n);
	else
		d->q.len += n;
}

static ssize_t read_some(int fd, char *to, size_t cap)
{
	ssize_t n;

	do
		n = read(fd, to, cap);
	while (n < 0 && errno == EINTR);
	return n;
}

/*
 * A pipe source is spliced into the private pipe and read from there.
 * Splicing only moves page references, so the writer's pipe is locked
 * for a moment rather than for the whole copy, and freeing the pages
 * happens under our pipe's lock, not under the writer's: the writer
 * (`head -c 1G /dev/zero |`) no longer spins waiting for us.
 */
static ssize_t read_staged(struct rdir *d, char *to, size_t cap)
{
	ssize_t n;

	if (d->staged == 0) {
		do
			n = splice(d->src, NULL, d->mid[1], NULL,
				   cap < d->mid_cap ? cap : d->mid_cap,
				   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		while (n < 0 && errno == EINTR);
		if (n < 0 && net_splice_refused(errno)) {
			d->stage = false;
			return read_some(d->src, to, cap);
		}
		if (n <= 0)
			return n;
		d->staged = (size_t)n;
		d->was_staged = true;
	}
	n = read_some(d->mid[0], to, d->staged < cap ? d->staged : cap);
	if (n > 0)
		d->staged -= (size_t)n;
	return n;
}

static ssize_t read_buffered(struct relay *r, struct rdir *d,
			     enum relay_dir dir)
{
	bool direct =
		!r->h.transform[dir] && !(dir == RELAY_RECV && r->o.discard);
	char *to;
	ssize_t n;

	/* want_read: the queue is empty, so direct reads land at its start. */
	if (direct) {
		sbuf_reserve(&d->q, r->cap);
		to = d->q.data + d->q.len;
	} else {
		to = r->scratch;
	}
	n = d->stage ? read_staged(d, to, r->cap)
		     : read_some(d->src, to, r->cap);
	if (n > 0)
		take(r, d, dir, to, (size_t)n);
	return n;
}

static ssize_t read_spliced(struct rdir *d)
{
	ssize_t n;

	do
		n = splice(d->src, NULL, d->mid[1], NULL,
			   d->mid_cap - d->in_mid,
			   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		d->in_mid += (size_t)n;
	return n;
}

/* Returns bytes read, 0 if none could be (EOF, EAGAIN, error). */
static size_t dir_read(struct relay *r, struct rdir *d, enum relay_dir dir)
{
	ssize_t n;

	if (d->splice) {
		n = read_spliced(d);
		if (n < 0 && net_splice_refused(errno)) {
			leave_splice(d);
			n = read_buffered(r, d, dir);
		} else if (n > 0 && dir == RELAY_RECV) {
			call_traffic(r, dir, NULL, (size_t)n);
			d->spliced = true;
		}
	} else {
		n = read_buffered(r, d, dir);
	}
	if (n > 0) {
		if (dir == RELAY_RECV)
			rxbatch_read(&r->rxb, (size_t)n);
		return (size_t)n;
	}
	if (n == 0)
		got_eof(r, d, dir);
	else if (errno == EAGAIN)
		d->src_dry = !d->src_ready; /* no epoll event would clear it */
	else
		fail(d, -errno,
		     dir == RELAY_SEND ? RELAY_END_INPUT : RELAY_END_SOCKET);
	return 0;
}

/* ---- writing ---- */

/* After a read error what was read before is still written out; after a
 * write error nothing more can be. */
static bool want_write(const struct relay *r, const struct rdir *d,
		       enum relay_dir dir)
{
	if (queued(d) == 0)
		return false;
	if (dir == RELAY_SEND)
		return !r->paused && !(d->err && d->where == RELAY_END_SOCKET);
	if (d->err && d->where == RELAY_END_OUTPUT)
		return false;
	return d->dst >= 0 || r->h.deliver;
}

static ssize_t write_spliced(struct rdir *d, size_t n)
{
	ssize_t w;

	do
		w = splice(d->mid[0], NULL, d->dst, NULL, n,
			   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
	while (w < 0 && errno == EINTR);
	if (w > 0)
		d->in_mid -= (size_t)w;
	return w;
}

static ssize_t write_buffered(struct rdir *d, size_t n)
{
	ssize_t w;

	do
		w = write(d->dst, d->q.data + d->off, n);
	while (w < 0 && errno == EINTR);
	if (w > 0) {
		d->off += (size_t)w;
		if (d->off == d->q.len)
			d->off = d->q.len = 0;
	}
	return w;
}

static size_t deliver(struct relay *r, struct rdir *d)
{
	size_t n = d->q.len - d->off;

	r->h.deliver(r->o.arg, d->q.data + d->off, n);
	d->off = d->q.len = 0;
	return n;
}

/* Returns bytes written, 0 if none could be. */
static size_t dir_write(struct relay *r, struct rdir *d, enum relay_dir dir)
{
	size_t n = dir == RELAY_SEND ? allowed(r, d) : queued(d);
	const char *p = NULL;
	ssize_t w;

	if (n == 0)
		return 0;
	if (dir == RELAY_RECV && d->dst < 0)
		return deliver(r, d);
	if (d->in_mid) {
		w = write_spliced(d, n < d->in_mid ? n : d->in_mid);
		if (w < 0 && net_splice_refused(errno)) {
			leave_splice(d);
			w = write_buffered(d, d->q.len - d->off < n
						      ? d->q.len - d->off
						      : n);
		} else if (w > 0) {
			d->spliced = true;
		}
	} else {
		p = d->q.data + d->off;
		w = write_buffered(d, n);
	}
	if (w < 0) {
		if (errno == EAGAIN)
			d->dst_full = !d->dst_ready;
		else
			fail(d, -errno,
			     dir == RELAY_SEND ? RELAY_END_SOCKET
					       : RELAY_END_OUTPUT);
		return 0;
	}
	if (dir == RELAY_SEND) {
		call_traffic(r, dir, p, (size_t)w);
		spent(r, (size_t)w, p && w > 0 && p[w - 1] == '\n');
	}
	return (size_t)w;
}

/* ---- finishing and the loop ---- */

static void report(struct relay *r, enum relay_dir dir)
{
	struct rdir *d = &r->d[dir];

	if (d->reported)
		return;
	d->reported = true;
	if (r->h.done)
		r->h.done(r->o.arg, dir, d->err, d->where);
}

static void check_send_done(struct relay *r)
{
	struct rdir *d = &r->d[RELAY_SEND];

	if (d->reported)
		return;
	/* A socket that cannot take data ends the direction at once. */
	if (d->err && d->where == RELAY_END_SOCKET) {
		report(r, RELAY_SEND);
		return;
	}
	if ((!d->eof && !d->err) || queued(d) > 0)
		return;
	if (!r->o.no_shutdown && !d->closed &&
	    shutdown(r->o.sock_fd, SHUT_WR) < 0 && errno != ENOTCONN)
		fail(d, -errno, RELAY_END_SOCKET);
	d->closed = true;
	report(r, RELAY_SEND);
}

static void check_recv_done(struct relay *r)
{
	struct rdir *d = &r->d[RELAY_RECV];

	if (d->reported)
		return;
	if (d->err && d->where == RELAY_END_OUTPUT) {
		report(r, RELAY_RECV);
		return;
	}
	if ((d->eof || d->err) && queued(d) == 0)
		report(r, RELAY_RECV);
}

static void on_fd(struct loop *l, int fd, uint32_t events, void *arg);

/* Register fd for exactly events (0: not at all, so a hang-up that epoll
 * always reports cannot spin the loop while we do not want to read). */
static void watch(struct relay *r, int fd, uint32_t events)
{
	uint32_t cur;

	if (fd < 0)
		return;
	cur = loop_events(r->loop, fd);
	if (cur == events)
		return;
	if (events == 0)
		loop_unwatch(r->loop, fd);
	else if (cur == 0 && loop_watch(r->loop, fd, events, on_fd, r) == 0)
		return;
	else
		loop_modify(r->loop, fd, events);
}

static void on_kick(struct loop *l, struct loop_timer *t, void *arg)
{
	struct relay *r = arg;

	(void)l;
	(void)t;
	r->kick_armed = false;
	pump(r);
}

static void kick(struct relay *r)
{
	if (r->kick_armed)
		return;
	if (!r->kick)
		r->kick = loop_timer_add(r->loop, 0, on_kick, r);
	else
		loop_timer_set(r->loop, r->kick, 0);
	if (!r->kick)
		abort();
	r->kick_armed = true;
}

static void update_watches(struct relay *r)
{
	struct rdir *s = &r->d[RELAY_SEND], *v = &r->d[RELAY_RECV];
	bool sr = want_read(s), sw = want_write(r, s, RELAY_SEND);
	bool vr = want_read(v), vw = want_write(r, v, RELAY_RECV);
	uint32_t sock = 0;

	if (!s->src_ready)
		watch(r, s->src, sr ? LOOP_IN : 0);
	if (!v->dst_ready)
		watch(r, v->dst, vw && v->dst >= 0 ? LOOP_OUT : 0);
	if (vr)
		sock |= LOOP_IN;
	if (sw)
		sock |= LOOP_OUT;
	watch(r, r->o.sock_fd, sock);
	if ((sr && s->src_ready) || (vw && v->dst_ready))
		kick(r);
}

static bool pump_dir(struct relay *r, enum relay_dir dir)
{
	struct rdir *d = &r->d[dir];
	size_t rd = 0, wr = 0;

	if (want_read(d) && !d->src_dry)
		rd = dir_read(r, d, dir);
	if (want_write(r, d, dir) && !d->dst_full)
		wr = dir_write(r, d, dir);
	return rd > 0 || wr > 0;
}

static void pump(struct relay *r)
{
	if (r->pumping)
		return;
	r->pumping = true;
	for (int i = 0; i < PUMP_ROUNDS; i++) {
		bool a = pump_dir(r, RELAY_SEND);
		bool b = pump_dir(r, RELAY_RECV);

		if (!a && !b)
			break;
	}
	r->pumping = false;
	update_watches(r);
	check_send_done(r);
	check_recv_done(r);
}

static void on_fd(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct relay *r = arg;

	(void)l;
	for (int i = 0; r && i < 2; i++) {
		if (r->d[i].src == fd && (events & ~LOOP_OUT))
			r->d[i].src_dry = false;
		if (r->d[i].dst == fd && (events & ~LOOP_IN))
			r->d[i].dst_full = false;
	}
	pump(r);
}

/* epoll refuses regular files (and /dev/null); they never block.  The
 * probe asks for an event: a quiet watcher never reaches epoll at all. */
static bool pollable(struct loop *l, int fd)
{
	int r = loop_watch(l, fd, LOOP_IN, on_fd, NULL);

	if (r == -EPERM)
		return false;
	if (r == 0)
		loop_unwatch(l, fd);
	return true;
}

/*
 * A pipe is copied into the socket, not spliced: from `head -c 1G
 * /dev/zero |` copying moves 1.24 GiB/s here and splicing 0.9.  Likely
 * (not measured): spliced, each 4 KiB page the writer filled stays a
 * fragment of its own all the way to the receiver, where a copy packs the
 * bytes into the socket's 32 KiB page fragments.  Files (the page cache)
 * and sockets still splice.  The copy is made from our own pipe, not from
 * the writer's (read_staged).
 */
static bool is_pipe(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
}

static void init_dir(struct relay *r, struct rdir *d, enum relay_dir dir)
{
	bool pipe_src = d->src >= 0 && is_pipe(d->src);

	d->mid[0] = d->mid[1] = -1;
	if (d->src >= 0)
		d->src_ready = !pollable(r->loop, d->src);
	if (d->dst >= 0)
		d->dst_ready = !pollable(r->loop, d->dst);
	/* Splicing needs both ends as fds and nobody looking at the data. */
	d->splice = r->o.splice && d->src >= 0 && d->dst >= 0 &&
		    !r->h.transform[dir] &&
		    !(dir == RELAY_RECV && r->o.discard) &&
		    !(dir == RELAY_SEND && r->o.line_delay_ms > 0) &&
		    !(dir == RELAY_SEND && pipe_src);
	/* A pipe that is copied is still staged through our own pipe. */
	d->stage = r->o.splice && pipe_src && !d->splice;
	/* The pipe as large as the buffer we would otherwise use. */
	if ((d->splice || d->stage) &&
	    net_splice_pipe(d->mid, r->cap, &d->mid_cap) < 0)
		d->splice = d->stage = false;
}

int relay_new(struct loop *l, const struct relay_opts *o, struct relay **ret)
{
	struct relay *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->loop = l;
	r->o = *o;
	if (o->hooks)
		r->h = *o->hooks;
	r->cap = o->bufsize ? o->bufsize : RELAY_BUFSIZE;
	r->scratch = io_alloc(r->cap);
	if (!r->scratch) {
		free(r);
		return -ENOMEM;
	}
	r->refill_ms = net_now_ms();
	r->tokens = burst(r);
	r->d[RELAY_SEND].src = o->in_fd;
	r->d[RELAY_SEND].dst = o->sock_fd;
	r->d[RELAY_RECV].src = o->sock_fd;
	r->d[RELAY_RECV].dst = o->out_fd;
	init_dir(r, &r->d[RELAY_SEND], RELAY_SEND);
	init_dir(r, &r->d[RELAY_RECV], RELAY_RECV);
	/* The socket is never "always ready", whatever pollable() said. */
	r->d[RELAY_SEND].dst_ready = r->d[RELAY_RECV].src_ready = false;
	rxbatch_init(&r->rxb, l, o->sock_fd);
	*ret = r;
	/* The first pump runs from the loop, so that no hook is called
	 * before the caller has its pointer. */
	kick(r);
	return 0;
}

void relay_free(struct relay *r)
{
	if (!r)
		return;
	for (int i = 0; i < 2; i++) {
		struct rdir *d = &r->d[i];

		if (d->src >= 0 && loop_events(r->loop, d->src))
			loop_unwatch(r->loop, d->src);
		if (d->dst >= 0 && loop_events(r->loop, d->dst))
			loop_unwatch(r->loop, d->dst);
		if (d->mid[0] >= 0) {
			close(d->mid[0]);
			close(d->mid[1]);
		}
		sbuf_free(&d->q);
	}
	loop_timer_del(r->loop, r->pace);
	loop_timer_del(r->loop, r->kick);
	rxbatch_free(&r->rxb);
	free(r->scratch);
	free(r);
}

void relay_send(struct relay *r, const void *data, size_t len)
{
	struct rdir *d = &r->d[RELAY_SEND];

	if (d->eof || d->err)
		return;
	if (r->h.transform[RELAY_SEND])
		r->h.transform[RELAY_SEND](r->o.arg, &d->q, data, len);
	else
		sbuf_add(&d->q, data, len);
	/* From the loop: the caller is often a hook, and hooks must not be
	 * called from inside hooks. */
	kick(r);
}

void relay_close_input(struct relay *r)
{
	struct rdir *d = &r->d[RELAY_SEND];

	if (!d->eof && !d->err)
		got_eof(r, d, RELAY_SEND);
	if (d->src >= 0 && loop_events(r->loop, d->src))
		loop_unwatch(r->loop, d->src);
	d->src = -1;
	kick(r);
}

uint64_t relay_count(const struct relay *r, enum relay_dir dir)
{
	return r->count[dir];
}

bool relay_spliced(const struct relay *r, enum relay_dir dir)
{
	return r->d[dir].spliced;
}

bool relay_staged(const struct relay *r, enum relay_dir dir)
{
	return r->d[dir].was_staged;
}

int relay_stdio_fd(int fd, bool output)
{
	struct stat st;
	char path[64];
	int nfd;

	if (fstat(fd, &st) < 0)
		return -errno;
	/* A pipe we read is widened so that its writer can run ahead of us:
	 * fewer wake-ups on both sides and larger sends (about +15% from
	 * `head -c 1G /dev/zero |` here).  pipe-max-size may refuse it;
	 * a pipe already as wide is left alone. */
	if (S_ISFIFO(st.st_mode) && !output &&
	    fcntl(fd, F_GETPIPE_SZ) < RELAY_PIPE_SIZE)
		fcntl(fd, F_SETPIPE_SZ, RELAY_PIPE_SIZE);
	if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		nfd = open(path, (output ? O_WRONLY : O_RDONLY) | O_NONBLOCK |
					 O_NOCTTY | O_CLOEXEC);
		if (nfd >= 0)
			return nfd;
	}
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (nfd < 0)
		return -errno;
	/* A socket (or a pipe /proc would not reopen): the flag is shared,
	 * which only matters to whoever else uses it at the same time. */
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		net_set_nonblock(nfd, true);
	return nfd;
}

void relay_close_socket(int fd)
{
	char buf[65536];
	int rounds = 256;

	if (fd < 0)
		return;
	shutdown(fd, SHUT_WR);
	/* Only what is already here: the peer may never stop sending. */
	while (rounds-- > 0) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n > 0 || (n < 0 && errno == EINTR))
			continue;
		break;
	}
	close(fd);
}
