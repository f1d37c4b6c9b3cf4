/*
 * test_rxbatch.c - rxbatch.c on real loopback TCP: a large read raises the
 * socket's SO_RCVLOWAT, a stalled queue lowers it again so that a tail
 * below the mark is still reported readable, small reads and sockets that
 * are not TCP or whose mark was already set are left alone.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop.h"
#include "rxbatch.h"

/* A hang (a tail never reported) is killed by SIGALRM, not waited out. */
#define HANG_GUARD_SECS 20
#define DEADLINE_MS 5000

/* A connected TCP pair on loopback: fds[0] receives, fds[1] sends. */
static void tcp_pair(int fds[2])
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_geq(lfd, 0);
	cr_assert_eq(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(lfd, 1), 0);
	cr_assert_eq(getsockname(lfd, (struct sockaddr *)&a, &len), 0);
	fds[1] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_eq(connect(fds[1], (struct sockaddr *)&a, sizeof(a)), 0);
	fds[0] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	cr_assert_geq(fds[0], 0, "accept: %s", strerror(errno));
	close(lfd);
}

static int mark_of(int fd)
{
	int mark = -1;
	socklen_t len = sizeof(mark);

	cr_assert_eq(getsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &mark, &len), 0);
	return mark;
}

static void send_all(int fd, size_t n)
{
	char *buf = calloc(1, n);

	cr_assert_not_null(buf);
	for (size_t off = 0; off < n;) {
		ssize_t w = send(fd, buf + off, n - off, 0);

		cr_assert_gt(w, 0, "send: %s", strerror(errno));
		off += (size_t)w;
	}
	free(buf);
}

/* Reads exactly n bytes from a non-blocking socket, within the deadline. */
static void read_exactly(int fd, size_t n)
{
	char buf[65536];

	while (n > 0) {
		ssize_t r = read(fd, buf, n < sizeof(buf) ? n : sizeof(buf));

		if (r < 0 && errno == EAGAIN) {
			struct pollfd p = {.fd = fd, .events = POLLIN};

			cr_assert_eq(poll(&p, 1, DEADLINE_MS), 1,
				     "%zu bytes never came", n);
			continue;
		}
		cr_assert_gt(r, 0, "read: %s", strerror(errno));
		n -= (size_t)r;
	}
}

/* A loop and a receiving socket with its rxbatch: fds[0] receives. */
struct fx {
	struct loop *l;
	struct rxbatch b;
	int fds[2];
};

/* family AF_INET: a TCP pair on loopback; AF_UNIX: a socketpair.  A
 * preset mark (> 0) is set before rxbatch sees the socket. */
static void fx_open(struct fx *f, int family, int preset)
{
	alarm(HANG_GUARD_SECS);
	f->l = loop_new();
	cr_assert_not_null(f->l);
	if (family == AF_INET)
		tcp_pair(f->fds);
	else
		cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, f->fds), 0);
	if (preset > 0)
		cr_assert_eq(setsockopt(f->fds[0], SOL_SOCKET, SO_RCVLOWAT,
					&preset, sizeof(preset)),
			     0);
	rxbatch_init(&f->b, f->l, f->fds[0]);
}

static void fx_close(struct fx *f)
{
	rxbatch_free(&f->b);
	loop_free(f->l);
	close(f->fds[0]);
	close(f->fds[1]);
}

/* RXBATCH_BULK bytes read in one go: the mark goes up. */
static void raise_it(struct fx *f)
{
	send_all(f->fds[1], RXBATCH_BULK);
	read_exactly(f->fds[0], RXBATCH_BULK);
	rxbatch_read(&f->b, RXBATCH_BULK);
	cr_assert(rxbatch_raised(&f->b));
	cr_assert_eq(mark_of(f->fds[0]), RXBATCH_LOWAT);
}

static void on_deadline(struct loop *l, struct loop_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	loop_stop(l, -ETIMEDOUT);
}

static void watch_lowered(struct loop *l, struct loop_timer *t, void *arg)
{
	if (!rxbatch_raised(arg))
		loop_stop(l, 0);
	else
		loop_timer_set(l, t, 1);
}

Test(rxbatch, a_bulk_read_raises_the_mark_and_a_stall_lowers_it)
{
	struct fx f;

	fx_open(&f, AF_INET, 0);
	raise_it(&f);
	/* Nothing more comes: the queue stays empty and the tick lowers the
	 * mark. */
	loop_timer_add(f.l, 1, watch_lowered, &f.b);
	loop_timer_add(f.l, DEADLINE_MS, on_deadline, NULL);
	cr_assert_eq(loop_run(f.l), 0, "the mark was never lowered");
	cr_assert_eq(mark_of(f.fds[0]), 1);
	fx_close(&f);
}

static void on_readable(struct loop *l, int fd, uint32_t events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	loop_stop(l, 0);
}

/* What waits below the raised mark is reported readable all the same,
 * with the sender still connected (no FIN to wake the reader). */
Test(rxbatch, a_tail_below_the_mark_is_reported_readable)
{
	struct fx f;

	fx_open(&f, AF_INET, 0);
	raise_it(&f);
	send_all(f.fds[1], 100);
	cr_assert_eq(loop_watch(f.l, f.fds[0], LOOP_IN, on_readable, NULL), 0);
	loop_timer_add(f.l, DEADLINE_MS, on_deadline, NULL);
	cr_assert_eq(loop_run(f.l), 0, "a 100-byte tail was never reported");
	read_exactly(f.fds[0], 100);
	cr_assert(!rxbatch_raised(&f.b));
	fx_close(&f);
}

/* Reads below RXBATCH_BULK, a mark set by someone else, a Unix socket:
 * however much is read, the mark stays where it was. */
static void never_raised(int family, int preset, size_t n)
{
	struct fx f;

	fx_open(&f, family, preset);
	for (int i = 0; i < 100; i++)
		rxbatch_read(&f.b, n);
	cr_assert(!rxbatch_raised(&f.b));
	cr_assert_eq(mark_of(f.fds[0]), preset > 0 ? preset : 1);
	fx_close(&f);
}

Test(rxbatch, small_reads_leave_the_mark_alone)
{
	never_raised(AF_INET, 0, RXBATCH_BULK - 1);
}

Test(rxbatch, a_mark_someone_set_is_kept)
{
	never_raised(AF_INET, 4096, RXBATCH_BULK * 4);
}

Test(rxbatch, a_unix_socket_is_left_alone)
{
	never_raised(AF_UNIX, 0, RXBATCH_BULK * 4);
}

/* Freed while raised: the tick is gone, and the loop runs on without it
 * (ASan would see a tick that touched the freed state). */
Test(rxbatch, freed_while_raised_leaves_no_tick)
{
	struct fx *f = malloc(sizeof(*f));
	struct loop *l;

	cr_assert_not_null(f);
	fx_open(f, AF_INET, 0);
	raise_it(f);
	l = f->l;
	rxbatch_free(&f->b);
	close(f->fds[0]);
	close(f->fds[1]);
	free(f);
	loop_timer_add(l, 20, on_deadline, NULL);
	cr_assert_eq(loop_run(l), -ETIMEDOUT);
	loop_free(l);
}
