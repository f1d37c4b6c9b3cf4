/*
 * test_relay.c - the byte relay with socketpairs, pipes, regular files
 * and TCP on loopback: megabytes both ways at once on the splice and the
 * buffered path, bounded buffering against a peer that stops reading,
 * half-close, pacing, hooks and errors.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"
#include "net.h"
#include "relay.h"

#define MB (1024 * 1024)

/*
 * SIGPIPE is ignored as main.c does; a relay that hangs is killed by
 * SIGALRM, which Criterion reports as a crash (its own .timeout leaks in
 * its runner when two such tests overlap, which fails the ASan build).
 */
static void setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	alarm(60);
}

TestSuite(relay, .init = setup);

static char *pattern(size_t n, uint32_t seed)
{
	char *p = malloc(n);

	for (size_t i = 0; i < n; i++) {
		seed ^= seed << 13;
		seed ^= seed >> 17;
		seed ^= seed << 5;
		p[i] = (char)seed;
	}
	return p;
}

/* ---- peer threads: write a buffer then close, or read until EOF ---- */

struct feed {
	int fd;
	const char *data;
	size_t len;
	bool shut; /* shutdown(SHUT_WR) instead of close */
	pthread_t t;
};

static void *feed_main(void *arg)
{
	struct feed *f = arg;
	size_t off = 0;

	net_set_nonblock(f->fd, false);
	while (off < f->len) {
		ssize_t n = write(f->fd, f->data + off, f->len - off);

		if (n <= 0)
			break;
		off += (size_t)n;
	}
	if (f->shut)
		shutdown(f->fd, SHUT_WR);
	else
		close(f->fd);
	return NULL;
}

static void feed_start(struct feed *f, int fd, const char *data, size_t len,
		       bool shut)
{
	*f = (struct feed){.fd = fd, .data = data, .len = len, .shut = shut};
	pthread_create(&f->t, NULL, feed_main, f);
}

struct collect {
	int fd;
	char *buf;
	size_t len, cap;
	pthread_t t;
};

static void *collect_main(void *arg)
{
	struct collect *c = arg;

	net_set_nonblock(c->fd, false);
	for (;;) {
		ssize_t n;

		if (c->cap - c->len < 65536) {
			c->cap = c->cap ? c->cap * 2 : 1 << 20;
			c->buf = realloc(c->buf, c->cap);
		}
		n = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (n <= 0)
			break;
		c->len += (size_t)n;
	}
	return NULL;
}

static void collect_start(struct collect *c, int fd)
{
	*c = (struct collect){.fd = fd};
	pthread_create(&c->t, NULL, collect_main, c);
}

static void collect_join(struct collect *c)
{
	pthread_join(c->t, NULL);
}

/* A peer that reads until our EOF, then answers and closes. */
struct responder {
	struct collect c;
	const char *reply;
};

static void *responder_main(void *arg)
{
	struct responder *r = arg;

	collect_main(&r->c);
	if (write(r->c.fd, r->reply, strlen(r->reply)) < 0)
		return NULL;
	close(r->c.fd);
	return NULL;
}

static void responder_start(struct responder *r, int fd, const char *reply)
{
	*r = (struct responder){.c = {.fd = fd}, .reply = reply};
	pthread_create(&r->c.t, NULL, responder_main, r);
}

/* ---- the relay under test ---- */

struct session {
	struct loop *loop;
	struct relay *relay;
	int done;
	int err[2];
	enum relay_end where[2];
	bool finished[2];
	struct sbuf delivered;
	int stop_after; /* directions to finish before stopping */
};

static void on_done(void *arg, enum relay_dir dir, int err,
		    enum relay_end where)
{
	struct session *s = arg;

	cr_assert(!s->finished[dir], "direction %d reported twice", dir);
	s->finished[dir] = true;
	s->err[dir] = err;
	s->where[dir] = where;
	if (++s->done >= s->stop_after)
		loop_stop(s->loop, 0);
}

static void on_deliver(void *arg, const void *data, size_t len)
{
	struct session *s = arg;

	sbuf_add(&s->delivered, data, len);
}

static void on_deadline(struct loop *l, struct loop_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	loop_stop(l, -1);
}

static struct relay_hooks hooks = {.done = on_done};

static void run(struct session *s, const struct relay_opts *o, int ms)
{
	struct relay_opts ro = *o;

	if (!ro.hooks)
		ro.hooks = &hooks;
	ro.arg = s;
	if (!s->stop_after)
		s->stop_after = 2;
	s->loop = loop_new();
	cr_assert(s->loop);
	cr_assert_eq(relay_new(s->loop, &ro, &s->relay), 0);
	loop_timer_add(s->loop, ms, on_deadline, NULL);
	cr_assert_eq(loop_run(s->loop), 0, "the relay did not finish in time");
}

static void finish(struct session *s)
{
	relay_free(s->relay);
	loop_free(s->loop);
	sbuf_free(&s->delivered);
}

static void nonblock_pipe(int p[2])
{
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
}

/* Megabytes both ways at once: in-pipe -> socket, socket -> out-pipe. */
static void both_ways(bool splice, size_t n)
{
	char *up = pattern(n, 1), *down = pattern(n + 12345, 2);
	int in[2], out[2], sp[2];
	struct feed fin, fpeer;
	struct collect cpeer, cout;
	struct session s = {0};

	nonblock_pipe(in);
	nonblock_pipe(out);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	net_set_nonblock(in[0], true);
	net_set_nonblock(out[1], true);
	net_set_nonblock(sp[0], true);
	feed_start(&fin, in[1], up, n, false);
	feed_start(&fpeer, sp[1], down, n + 12345, true);
	collect_start(&cpeer, sp[1]);
	collect_start(&cout, out[0]);
	run(&s,
	    &(struct relay_opts){.in_fd = in[0],
				 .out_fd = out[1],
				 .sock_fd = sp[0],
				 .splice = splice},
	    30000);
	cr_assert_eq(s.err[RELAY_SEND], 0);
	cr_assert_eq(s.err[RELAY_RECV], 0);
	close(out[1]);
	collect_join(&cout);
	collect_join(&cpeer);
	pthread_join(fin.t, NULL);
	pthread_join(fpeer.t, NULL);
	cr_assert_eq(cpeer.len, n);
	cr_assert(!memcmp(cpeer.buf, up, n), "sent bytes differ");
	cr_assert_eq(cout.len, n + 12345);
	cr_assert(!memcmp(cout.buf, down, n + 12345), "received bytes differ");
	cr_assert_eq(relay_count(s.relay, RELAY_SEND), n);
	cr_assert_eq(relay_count(s.relay, RELAY_RECV), n + 12345);
	/* A pipe is copied into the socket, never spliced (see is_pipe);
	 * with splicing allowed it is staged through the relay's pipe. */
	cr_assert(!relay_spliced(s.relay, RELAY_SEND));
	cr_assert_eq(relay_staged(s.relay, RELAY_SEND), splice);
	cr_assert(!relay_staged(s.relay, RELAY_RECV));
	cr_assert_eq(relay_spliced(s.relay, RELAY_RECV), splice);
	finish(&s);
	close(in[0]);
	close(out[0]);
	close(sp[0]);
	close(sp[1]);
	free(up);
	free(down);
	free(cpeer.buf);
	free(cout.buf);
}

Test(relay, megabytes_both_ways_spliced)
{
	both_ways(true, 8 * MB);
}

Test(relay, megabytes_both_ways_buffered)
{
	both_ways(false, 8 * MB);
}

/* 7-byte reads: a staged pipe (splice) moves parts of pages. */
static void odd_sizes(bool splice)
{
	char *up = pattern(300001, 3);
	int in[2], out[2], sp[2];
	struct feed fin, fpeer;
	struct collect cpeer, cout;
	struct session s = {0};

	nonblock_pipe(in);
	nonblock_pipe(out);
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp);
	net_set_nonblock(in[0], true);
	net_set_nonblock(out[1], true);
	net_set_nonblock(sp[0], true);
	feed_start(&fin, in[1], up, 300001, false);
	feed_start(&fpeer, sp[1], up, 300001, true);
	collect_start(&cpeer, sp[1]);
	collect_start(&cout, out[0]);
	run(&s,
	    &(struct relay_opts){.in_fd = in[0],
				 .out_fd = out[1],
				 .sock_fd = sp[0],
				 .bufsize = 7,
				 .splice = splice},
	    30000);
	close(out[1]);
	collect_join(&cout);
	collect_join(&cpeer);
	pthread_join(fin.t, NULL);
	pthread_join(fpeer.t, NULL);
	cr_assert_eq(cpeer.len, 300001);
	cr_assert_eq(cout.len, 300001);
	cr_assert(!memcmp(cpeer.buf, up, 300001));
	cr_assert(!memcmp(cout.buf, up, 300001));
	cr_assert_eq(relay_staged(s.relay, RELAY_SEND), splice);
	finish(&s);
	close(in[0]);
	close(out[0]);
	close(sp[0]);
	close(sp[1]);
	free(up);
	free(cpeer.buf);
	free(cout.buf);
}

Test(relay, odd_sizes_and_tiny_buffers)
{
	odd_sizes(false);
}

Test(relay, odd_sizes_and_tiny_buffers_staged)
{
	odd_sizes(true);
}

static int tmpfile_with(const char *data, size_t n)
{
	char path[] = "/tmp/relay-test-XXXXXX";
	int fd = mkostemp(path, O_CLOEXEC);

	cr_assert(fd >= 0);
	unlink(path);
	cr_assert_eq(write(fd, data, n), (ssize_t)n);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

/* epoll refuses regular files: they must be driven as always ready. */
static void files(bool splice)
{
	size_t n = 3 * MB + 17;
	char *up = pattern(n, 4), *down = pattern(n, 5), *got;
	int in = tmpfile_with(up, n), out = tmpfile_with("", 0), sp[2];
	struct feed fpeer;
	struct collect cpeer;
	struct session s = {0};
	size_t len;

	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp);
	net_set_nonblock(sp[0], true);
	feed_start(&fpeer, sp[1], down, n, true);
	collect_start(&cpeer, sp[1]);
	run(&s,
	    &(struct relay_opts){.in_fd = in,
				 .out_fd = out,
				 .sock_fd = sp[0],
				 .splice = splice},
	    30000);
	collect_join(&cpeer);
	pthread_join(fpeer.t, NULL);
	cr_assert_eq(cpeer.len, n);
	cr_assert(!memcmp(cpeer.buf, up, n));
	/* A file goes into the socket straight from the page cache. */
	cr_assert_eq(relay_spliced(s.relay, RELAY_SEND), splice);
	cr_assert_eq(relay_spliced(s.relay, RELAY_RECV), splice);
	len = (size_t)lseek(out, 0, SEEK_END);
	cr_assert_eq(len, n);
	got = malloc(n);
	cr_assert_eq(pread(out, got, n, 0), (ssize_t)n);
	cr_assert(!memcmp(got, down, n));
	finish(&s);
	close(in);
	close(out);
	close(sp[0]);
	close(sp[1]);
	free(up);
	free(down);
	free(got);
	free(cpeer.buf);
}

Test(relay, regular_files_spliced)
{
	files(true);
}

Test(relay, regular_files_buffered)
{
	files(false);
}

/* stdin from /dev/null: the write side is shut down at once, and a peer
 * that answers only after our EOF is still heard in full. */
Test(relay, empty_input_half_closes_and_still_receives)
{
	int in = open("/dev/null", O_RDONLY | O_CLOEXEC), out[2], sp[2];
	struct collect cout;
	struct responder peer;
	struct session s = {0};

	nonblock_pipe(out);
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp);
	net_set_nonblock(sp[0], true);
	net_set_nonblock(out[1], true);
	collect_start(&cout, out[0]);
	responder_start(&peer, sp[1], "reply");
	run(&s,
	    &(struct relay_opts){.in_fd = in,
				 .out_fd = out[1],
				 .sock_fd = sp[0],
				 .splice = true},
	    10000);
	cr_assert_eq(s.err[RELAY_SEND], 0);
	cr_assert_eq(s.err[RELAY_RECV], 0);
	close(out[1]);
	collect_join(&cout);
	pthread_join(peer.c.t, NULL);
	cr_assert_eq(peer.c.len, 0);
	cr_assert_eq(cout.len, 5);
	cr_assert(!memcmp(cout.buf, "reply", 5));
	finish(&s);
	close(in);
	close(out[0]);
	close(sp[0]);
	free(cout.buf);
}

/*
 * A peer that stops reading: the relay must stop reading its input once
 * its buffer is full instead of buffering without bound; when the peer
 * reads again every byte arrives, in order.
 */
struct stalled {
	struct session s;
	int in_w, sock_peer;
	size_t written;
	char *data;
	size_t len;
	bool blocked, reading;
	struct collect peer;
	struct loop_timer *t;
};

static void feed_tick(struct loop *l, struct loop_timer *t, void *arg)
{
	struct stalled *st = arg;

	for (;;) {
		ssize_t n = write(st->in_w, st->data + st->written,
				  st->len - st->written);

		if (n <= 0)
			break;
		st->written += (size_t)n;
	}
	st->blocked = st->written < st->len;
	if (st->written == st->len) {
		close(st->in_w);
		return;
	}
	loop_timer_set(l, t, 5);
}

static void check_and_read(struct loop *l, struct loop_timer *t, void *arg)
{
	struct stalled *st = arg;
	size_t bound;
	int sz;
	socklen_t sl = sizeof(sz);

	(void)l;
	(void)t;
	/* What left the pipe is at most the relay's buffer plus what the
	 * socket pair holds. */
	getsockopt(st->sock_peer, SOL_SOCKET, SO_SNDBUF, &sz, &sl);
	bound = RELAY_BUFSIZE * 4 + (size_t)sz * 4 + 4 * MB;
	cr_assert(st->blocked, "the writer was never held back");
	cr_assert_lt(st->written, bound, "%zu bytes taken in", st->written);
	cr_assert_lt(relay_count(st->s.relay, RELAY_SEND), bound);
	/* Now the peer reads, and everything must arrive. */
	collect_start(&st->peer, st->sock_peer);
}

Test(relay, peer_that_stops_reading_is_not_buffered_without_bound)
{
	struct stalled st = {.len = 32 * MB};
	int in[2], out[2], sp[2];

	st.data = pattern(st.len, 6);
	nonblock_pipe(in);
	nonblock_pipe(out);
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp);
	net_set_nonblock(in[0], true);
	net_set_nonblock(in[1], true);
	net_set_nonblock(sp[0], true);
	st.in_w = in[1];
	st.sock_peer = sp[1];
	st.s.loop = loop_new();
	st.s.stop_after = 1;
	cr_assert_eq(relay_new(st.s.loop,
			       &(struct relay_opts){.in_fd = in[0],
						    .out_fd = out[1],
						    .sock_fd = sp[0],
						    .splice = true,
						    .hooks = &hooks,
						    .arg = &st.s},
			       &st.s.relay),
		     0);
	st.t = loop_timer_add(st.s.loop, 0, feed_tick, &st);
	loop_timer_add(st.s.loop, 300, check_and_read, &st);
	loop_timer_add(st.s.loop, 30000, on_deadline, NULL);
	cr_assert_eq(loop_run(st.s.loop), 0);
	cr_assert_eq(st.s.err[RELAY_SEND], 0);
	collect_join(&st.peer);
	cr_assert_eq(st.peer.len, st.len);
	cr_assert(!memcmp(st.peer.buf, st.data, st.len));
	finish(&st.s);
	close(in[0]);
	close(out[0]);
	close(out[1]);
	close(sp[0]);
	close(sp[1]);
	free(st.data);
	free(st.peer.buf);
}

/* Lines queued by the caller (an interactive prompt), data delivered to a
 * hook instead of an fd. */
Test(relay, queued_input_and_delivered_output)
{
	int sp[2];
	struct session s = {0};
	struct relay_hooks h = {.done = on_done, .deliver = on_deliver};
	struct responder peer;

	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp);
	net_set_nonblock(sp[0], true);
	responder_start(&peer, sp[1], "welcome\n");
	s.loop = loop_new();
	s.stop_after = 2;
	cr_assert_eq(relay_new(s.loop,
			       &(struct relay_opts){.in_fd = -1,
						    .out_fd = -1,
						    .sock_fd = sp[0],
						    .hooks = &h,
						    .arg = &s},
			       &s.relay),
		     0);
	relay_send(s.relay, "hello\n", 6);
	relay_send(s.relay, "world\n", 6);
	relay_close_input(s.relay);
	loop_timer_add(s.loop, 10000, on_deadline, NULL);
	cr_assert_eq(loop_run(s.loop), 0);
	pthread_join(peer.c.t, NULL);
	cr_assert_eq(peer.c.len, 12);
	cr_assert(!memcmp(peer.c.buf, "hello\nworld\n", 12));
	cr_assert_str_eq(sbuf_str(&s.delivered), "welcome\n");
	cr_assert_eq(relay_count(s.relay, RELAY_SEND), 12);
	cr_assert_eq(relay_count(s.relay, RELAY_RECV), 8);
	finish(&s);
	close(sp[0]);
	free(peer.c.buf);
}

static void upper(void *arg, struct sbuf *out, const void *data, size_t len)
{
	(void)arg;
	if (!data) {
		sbuf_adds(out, "<end>");
		return;
	}
	for (size_t i = 0; i < len; i++) {
		char c = ((const char *)data)[i];

		sbuf_addc(out, c >= 'a' && c <= 'z' ? (char)(c - 32) : c);
	}
}

struct traffic_log {
	struct session s;
	struct sbuf sent, recv;
};

static void on_traffic(void *arg, enum relay_dir dir, const void *data,
		       size_t len)
{
	struct traffic_log *t = arg;

	cr_assert(data, "buffered path must show the bytes");
	sbuf_add(dir == RELAY_SEND ? &t->sent : &t->recv, data, len);
}

static void on_done_t(void *arg, enum relay_dir dir, int err,
		      enum relay_end where)
{
	on_done(&((struct traffic_log *)arg)->s, dir, err, where);
}

Test(relay, transform_and_traffic_hooks)
{
	int in[2], out[2], sp[2];
	struct traffic_log t = {0};
	struct relay_hooks h = {.done = on_done_t,
				.traffic = on_traffic,
				.transform = {NULL, upper}};
	char buf[64];
	ssize_t n;

	nonblock_pipe(in);
	nonblock_pipe(out);
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp);
	net_set_nonblock(in[0], true);
	net_set_nonblock(sp[0], true);
	net_set_nonblock(out[1], true);
	cr_assert_eq(write(in[1], "ping\n", 5), 5);
	close(in[1]);
	cr_assert_eq(write(sp[1], "pong\n", 5), 5);
	shutdown(sp[1], SHUT_WR);
	t.s.stop_after = 2;
	t.s.loop = loop_new();
	cr_assert_eq(relay_new(t.s.loop,
			       &(struct relay_opts){.in_fd = in[0],
						    .out_fd = out[1],
						    .sock_fd = sp[0],
						    .hooks = &h,
						    .arg = &t},
			       &t.s.relay),
		     0);
	cr_assert_eq(loop_run(t.s.loop), 0);
	n = read(out[0], buf, sizeof(buf));
	cr_assert_eq(n, 10);
	cr_assert(!memcmp(buf, "PONG\n<end>", 10));
	cr_assert_str_eq(sbuf_str(&t.recv), "pong\n");
	cr_assert_str_eq(sbuf_str(&t.sent), "ping\n");
	cr_assert(!relay_spliced(t.s.relay, RELAY_RECV));
	finish(&t.s);
	sbuf_free(&t.sent);
	sbuf_free(&t.recv);
	close(in[0]);
	close(out[0]);
	close(out[1]);
	close(sp[0]);
	close(sp[1]);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Send what is queued with the given pacing; returns seconds taken. */
static double paced(const char *data, size_t len, uint64_t rate,
		    int64_t delay_ms, struct collect *c)
{
	int sp[2];
	struct session s = {0};
	struct relay_hooks h = {.done = on_done};
	double t0;

	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp);
	net_set_nonblock(sp[0], true);
	collect_start(c, sp[1]);
	s.loop = loop_new();
	s.stop_after = 1;
	t0 = now_s();
	cr_assert_eq(relay_new(s.loop,
			       &(struct relay_opts){.in_fd = -1,
						    .out_fd = -1,
						    .sock_fd = sp[0],
						    .rate = rate,
						    .line_delay_ms = delay_ms,
						    .hooks = &h,
						    .arg = &s},
			       &s.relay),
		     0);
	relay_send(s.relay, data, len);
	relay_close_input(s.relay);
	cr_assert_eq(loop_run(s.loop), 0);
	t0 = now_s() - t0;
	collect_join(c);
	finish(&s);
	close(sp[0]);
	close(sp[1]);
	return t0;
}

Test(relay, rate_limits_bytes_per_second)
{
	char *data = pattern(300000, 7);
	struct collect c;
	/* 300000 bytes at 1 MB/s, after a burst of a tenth of a second. */
	double t = paced(data, 300000, 1000000, 0, &c);

	cr_assert_eq(c.len, 300000);
	cr_assert(!memcmp(c.buf, data, 300000));
	cr_assert_geq(t, 0.15, "took %.3f s", t);
	free(data);
	free(c.buf);
}

Test(relay, delay_pauses_between_lines)
{
	const char *text = "one\ntwo\nthree\nfour";
	struct collect c;
	double t = paced(text, strlen(text), 0, 100, &c);

	cr_assert_eq(c.len, strlen(text));
	cr_assert(!memcmp(c.buf, text, c.len));
	/* Three pauses follow the three line ends. */
	cr_assert_geq(t, 0.29, "took %.3f s", t);
	free(c.buf);
}

Test(relay, output_that_goes_away_is_an_output_error)
{
	int in = open("/dev/null", O_RDONLY | O_CLOEXEC), out[2], sp[2];
	struct session s = {0};

	nonblock_pipe(out);
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp);
	net_set_nonblock(sp[0], true);
	net_set_nonblock(out[1], true);
	close(out[0]);
	cr_assert_eq(write(sp[1], "data", 4), 4);
	run(&s,
	    &(struct relay_opts){
		    .in_fd = in, .out_fd = out[1], .sock_fd = sp[0]},
	    10000);
	cr_assert_eq(s.err[RELAY_RECV], -EPIPE);
	cr_assert_eq(s.where[RELAY_RECV], RELAY_END_OUTPUT);
	finish(&s);
	close(in);
	close(out[1]);
	close(sp[0]);
	close(sp[1]);
}

/* TCP on loopback: a peer that resets (SO_LINGER 0) is a socket error,
 * reported after what it sent before was written out. */
Test(relay, reset_by_peer_is_a_socket_error)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), cfd, pfd;
	int in[2], out[2];
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	struct session s = {0};
	char buf[16];

	cr_assert_eq(bind(lfd, (struct sockaddr *)&a, al), 0);
	listen(lfd, 1);
	getsockname(lfd, (struct sockaddr *)&a, &al);
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_eq(connect(cfd, (struct sockaddr *)&a, al), 0);
	pfd = accept(lfd, NULL, NULL);
	net_set_nonblock(cfd, true);
	nonblock_pipe(in);
	nonblock_pipe(out);
	net_set_nonblock(in[0], true);
	net_set_nonblock(out[1], true);
	cr_assert_eq(write(pfd, "last words", 10), 10);
	setsockopt(pfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(pfd);
	s.stop_after = 1;
	run(&s,
	    &(struct relay_opts){.in_fd = in[0],
				 .out_fd = out[1],
				 .sock_fd = cfd,
				 .splice = true},
	    10000);
	cr_assert(s.finished[RELAY_RECV]);
	cr_assert_eq(s.err[RELAY_RECV], -ECONNRESET);
	cr_assert_eq(s.where[RELAY_RECV], RELAY_END_SOCKET);
	/* The RST may discard what was unread; whatever arrived is intact. */
	ssize_t n = read(out[0], buf, sizeof(buf));
	cr_assert(n <= 0 || !memcmp(buf, "last words", (size_t)n));
	finish(&s);
	close(in[0]);
	close(in[1]);
	close(out[0]);
	close(out[1]);
	close(cfd);
	close(lfd);
}

/* stdin and stdout as the relay opens them: private, non-blocking fds. */
Test(relay, stdio_fd_does_not_touch_the_shared_description)
{
	int p[2], fd, fl;

	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	fd = relay_stdio_fd(p[0], false);
	cr_assert_geq(fd, 0);
	cr_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
	fl = fcntl(p[0], F_GETFL);
	cr_assert_eq(fl & O_NONBLOCK, 0, "the shared pipe became non-blocking");
	cr_assert_eq(write(p[1], "x", 1), 1);
	char c;
	cr_assert_eq(read(fd, &c, 1), 1);
	cr_assert_eq(c, 'x');
	close(fd);
	fd = relay_stdio_fd(p[1], true);
	cr_assert_geq(fd, 0);
	cr_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
	cr_assert_eq(fcntl(p[1], F_GETFL) & O_NONBLOCK, 0);
	close(fd);
	close(p[0]);
	close(p[1]);
}
