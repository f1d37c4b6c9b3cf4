/*
 * test_loop.c - the event loop with real fds: pipes and socketpairs,
 * changing and removing watchers from inside callbacks, timers (order,
 * re-arming, cancelling, ten thousand at once), signals through signalfd,
 * more than ten thousand watched fds with events delivered to each, and
 * the busy-poll window (loop_set_spin): it never delays a timer, an event
 * that comes during it is handled, and an idle loop does not spin.
 *
 * Every loop_run() has a guard timer that stops it with GUARD_STATUS, so a
 * missing event fails the test instead of hanging it.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"

#define GUARD_STATUS 99

static void on_guard(struct loop *l, struct loop_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	loop_stop(l, GUARD_STATUS);
}

static struct loop *new_loop(int64_t guard_ms)
{
	struct loop *l = loop_new();

	cr_assert_not_null(l);
	cr_assert_not_null(loop_timer_add(l, guard_ms, on_guard, NULL));
	return l;
}

static void nonblocking_pair(int sv[2])
{
	cr_assert_eq(socketpair(AF_UNIX,
				SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
				sv),
		     0);
}

struct reader {
	char buf[64];
	size_t len;
	int calls;
	size_t want;
};

static void on_read(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct reader *r = arg;
	ssize_t n;

	cr_assert(events & LOOP_IN, "events %#x", events);
	r->calls++;
	n = read(fd, r->buf + r->len, sizeof(r->buf) - 1 - r->len);
	cr_assert_gt(n, 0);
	r->len += (size_t)n;
	r->buf[r->len] = '\0';
	if (r->len >= r->want)
		loop_stop(l, 0);
}

Test(loop, pipe_readable)
{
	struct loop *l = new_loop(5000);
	struct reader r = {.want = 5};
	int p[2];

	cr_assert_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	cr_assert_eq(loop_watch(l, p[0], LOOP_IN, on_read, &r), 0);
	cr_assert_eq(loop_events(l, p[0]), LOOP_IN);
	cr_assert_eq(write(p[1], "hello", 5), 5);
	cr_assert_eq(loop_run(l), 0);
	cr_assert_str_eq(r.buf, "hello");
	cr_assert_eq(r.calls, 1);
	loop_free(l);
	close(p[0]);
	close(p[1]);
}

/* Ping-pong over a socketpair: each side answers what it reads. */
struct pingpong {
	int rounds;
	int max;
};

static void on_ping(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct pingpong *pp = arg;
	char c;

	(void)events;
	cr_assert_eq(read(fd, &c, 1), 1);
	if (++pp->rounds == pp->max) {
		loop_stop(l, 0);
		return;
	}
	c++;
	cr_assert_eq(write(fd, &c, 1), 1);
}

Test(loop, socketpair_ping_pong)
{
	struct loop *l = new_loop(10000);
	struct pingpong pp = {.max = 1000};
	int sv[2];
	char c = 0;

	nonblocking_pair(sv);
	cr_assert_eq(loop_watch(l, sv[0], LOOP_IN, on_ping, &pp), 0);
	cr_assert_eq(loop_watch(l, sv[1], LOOP_IN, on_ping, &pp), 0);
	cr_assert_eq(write(sv[0], &c, 1), 1);
	cr_assert_eq(loop_run(l), 0);
	cr_assert_eq(pp.rounds, 1000);
	loop_free(l);
	close(sv[0]);
	close(sv[1]);
}

struct modder {
	uint32_t seen[8];
	int n;
};

/* Writable first; then switch to readable and wait for the answer. */
static void on_mod(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct modder *m = arg;

	m->seen[m->n++] = events;
	if (events & LOOP_OUT) {
		cr_assert_eq(write(fd, "q", 1), 1);
		cr_assert_eq(loop_modify(l, fd, LOOP_IN), 0);
		cr_assert_eq(loop_events(l, fd), LOOP_IN);
		return;
	}
	loop_stop(l, 0);
}

static void on_echo(struct loop *l, int fd, uint32_t events, void *arg)
{
	char c;

	(void)l;
	(void)events;
	(void)arg;
	cr_assert_eq(read(fd, &c, 1), 1);
	cr_assert_eq(write(fd, &c, 1), 1);
}

Test(loop, modify)
{
	struct loop *l = new_loop(5000);
	struct modder m = {.n = 0};
	int sv[2];

	nonblocking_pair(sv);
	cr_assert_eq(loop_watch(l, sv[0], LOOP_OUT, on_mod, &m), 0);
	cr_assert_eq(loop_watch(l, sv[1], LOOP_IN, on_echo, NULL), 0);
	cr_assert_eq(loop_run(l), 0);
	cr_assert_eq(m.n, 2);
	cr_assert_eq(m.seen[0] & (LOOP_IN | LOOP_OUT), LOOP_OUT);
	cr_assert_eq(m.seen[1] & (LOOP_IN | LOOP_OUT), LOOP_IN);
	loop_free(l);
	close(sv[0]);
	close(sv[1]);
}

static int stop_after_ms_called;

static void on_stop(struct loop *l, struct loop_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	stop_after_ms_called++;
	loop_stop(l, 0);
}

static void on_count(struct loop *l, int fd, uint32_t events, void *arg)
{
	(void)l;
	(void)fd;
	(void)events;
	++*(int *)arg;
}

/*
 * Events 0 pauses a watcher completely - also when its peer has hung up,
 * which epoll reports whatever the mask - and new events revive it.
 */
Test(loop, modify_to_zero_is_quiet)
{
	struct loop *l = new_loop(5000);
	struct reader r = {.want = 3};
	int sv[2], calls = 0;

	nonblocking_pair(sv);
	cr_assert_eq(loop_watch(l, sv[0], LOOP_IN, on_count, &calls), 0);
	cr_assert_eq(loop_modify(l, sv[0], 0), 0);
	cr_assert_eq(loop_events(l, sv[0]), 0);
	cr_assert_eq(write(sv[1], "abc", 3), 3);
	close(sv[1]);
	cr_assert_not_null(loop_timer_add(l, 100, on_stop, NULL));
	cr_assert_eq(loop_run(l), 0);
	cr_assert_eq(stop_after_ms_called, 1);
	cr_assert_eq(calls, 0, "a quiet watcher was called %d times", calls);

	/* Given events again, the data that waited is delivered.  (A loop
	 * that was stopped stays stopped, hence a new one.) */
	loop_free(l);
	l = new_loop(5000);
	cr_assert_eq(loop_watch(l, sv[0], 0, on_read, &r), 0);
	cr_assert_eq(loop_events(l, sv[0]), 0);
	cr_assert_eq(loop_modify(l, sv[0], LOOP_IN | LOOP_RDHUP), 0);
	cr_assert_eq(loop_run(l), 0);
	cr_assert_str_eq(r.buf, "abc");
	loop_free(l);
	close(sv[0]);
}

/* Two fds ready in one batch: the first callback removes the second,
 * which must then not be called (its event is already in the batch). */
struct pair_ctx {
	int fds[2];
	int calls[2];
};

static void on_first(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct pair_ctx *c = arg;
	int i = fd == c->fds[0] ? 0 : 1;

	(void)events;
	c->calls[i]++;
	cr_assert_eq(loop_unwatch(l, c->fds[1 - i]), 0);
	cr_assert_eq(loop_unwatch(l, fd), 0);
	cr_assert_eq(loop_unwatch(l, fd), -ENOENT);
	/* The stop comes from the guard's sibling timer below. */
}

Test(loop, unwatch_inside_callback)
{
	struct loop *l = new_loop(5000);
	struct pair_ctx c;
	int p[2], q[2];

	cr_assert_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	cr_assert_eq(pipe2(q, O_NONBLOCK | O_CLOEXEC), 0);
	c.fds[0] = p[0];
	c.fds[1] = q[0];
	c.calls[0] = c.calls[1] = 0;
	cr_assert_eq(write(p[1], "x", 1), 1);
	cr_assert_eq(write(q[1], "y", 1), 1);
	cr_assert_eq(loop_watch(l, p[0], LOOP_IN, on_first, &c), 0);
	cr_assert_eq(loop_watch(l, q[0], LOOP_IN, on_first, &c), 0);
	cr_assert_not_null(loop_timer_add(l, 50, on_stop, NULL));
	cr_assert_eq(loop_run(l), 0);
	cr_assert_eq(c.calls[0] + c.calls[1], 1, "calls %d + %d", c.calls[0],
		     c.calls[1]);
	loop_free(l);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}

/*
 * A callback closes another watched fd and a new fd gets the same number:
 * the old fd's event, still in this batch, must not reach the new watcher.
 */
struct reuse_ctx {
	int fds[2]; /* both ready in the same batch */
	int closed; /* the index of the one the first callback closed */
	int old_calls, new_calls;
	int newfd[2]; /* a pipe whose read end took the closed number */
	struct reader r;
};

static void on_new(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct reuse_ctx *c = arg;

	c->new_calls++;
	on_read(l, fd, events, &c->r);
}

static void on_old(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct reuse_ctx *c = arg;
	int other = fd == c->fds[0] ? 1 : 0;

	(void)events;
	c->old_calls++;
	cr_assert_eq(loop_unwatch(l, c->fds[other]), 0);
	close(c->fds[other]);
	c->closed = other;
	cr_assert_eq(pipe2(c->newfd, O_NONBLOCK | O_CLOEXEC), 0);
	/* Usually the lowest free number is the one just closed anyway. */
	if (c->newfd[0] != c->fds[other]) {
		cr_assert_eq(dup3(c->newfd[0], c->fds[other], O_CLOEXEC),
			     c->fds[other]);
		close(c->newfd[0]);
	}
	c->newfd[0] = c->fds[other];
	cr_assert_eq(loop_watch(l, c->newfd[0], LOOP_IN, on_new, c), 0);
	cr_assert_eq(loop_unwatch(l, fd), 0);
}

Test(loop, stale_event_for_reused_fd)
{
	struct loop *l = new_loop(5000);
	struct reuse_ctx c = {.r = {.want = 3}};
	int p[2], q[2];

	cr_assert_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	cr_assert_eq(pipe2(q, O_NONBLOCK | O_CLOEXEC), 0);
	cr_assert_eq(write(p[1], "x", 1), 1);
	cr_assert_eq(write(q[1], "y", 1), 1);
	c.fds[0] = p[0];
	c.fds[1] = q[0];
	cr_assert_eq(loop_watch(l, p[0], LOOP_IN, on_old, &c), 0);
	cr_assert_eq(loop_watch(l, q[0], LOOP_IN, on_old, &c), 0);
	/* The new pipe is empty: nothing may reach on_new. */
	cr_assert_not_null(loop_timer_add(l, 30, on_stop, NULL));
	cr_assert_eq(loop_run(l), 0);
	cr_assert_eq(c.old_calls, 1);
	cr_assert_eq(c.new_calls, 0, "the old fd's event reached the new one");

	/* The new watcher works for its own data. */
	loop_free(l);
	l = new_loop(5000);
	cr_assert_eq(loop_watch(l, c.newfd[0], LOOP_IN, on_new, &c), 0);
	cr_assert_eq(write(c.newfd[1], "new", 3), 3);
	cr_assert_eq(loop_run(l), 0);
	cr_assert_eq(c.new_calls, 1);
	cr_assert_str_eq(c.r.buf, "new");
	loop_free(l);
	close(c.fds[1 - c.closed]);
	close(c.newfd[0]);
	close(c.newfd[1]);
	close(p[1]);
	close(q[1]);
}

Test(loop, peer_hangup_reported)
{
	struct loop *l = new_loop(5000);
	struct modder m = {.n = 0};
	int sv[2];

	nonblocking_pair(sv);
	cr_assert_eq(loop_watch(l, sv[0], LOOP_IN | LOOP_RDHUP, on_mod, &m), 0);
	close(sv[1]);
	cr_assert_eq(loop_run(l), 0);
	cr_assert_eq(m.n, 1);
	cr_assert(m.seen[0] & LOOP_RDHUP, "events %#x", m.seen[0]);
	loop_free(l);
	close(sv[0]);
}

Test(loop, watch_errors)
{
	struct loop *l = loop_new();
	int p[2];

	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	cr_assert_eq(loop_watch(l, -1, LOOP_IN, on_count, NULL), -EBADF);
	cr_assert_eq(loop_watch(l, p[0], LOOP_IN, on_count, NULL), 0);
	cr_assert_eq(loop_watch(l, p[0], LOOP_IN, on_count, NULL), -EEXIST);
	cr_assert_eq(loop_modify(l, p[1], LOOP_OUT), -ENOENT);
	cr_assert_eq(loop_unwatch(l, p[1]), -ENOENT);
	cr_assert_eq(loop_unwatch(l, 100000), -ENOENT);
	cr_assert_eq(loop_events(l, p[1]), 0);
	close(p[1]);
	/* A closed fd cannot be watched. */
	cr_assert_eq(loop_watch(l, p[1], LOOP_IN, on_count, NULL), -EBADF);
	cr_assert_eq(loop_unwatch(l, p[0]), 0);
	close(p[0]);
	loop_free(l);
}

/* Timers record the order they fire in. */
struct order {
	int seq[16];
	int n;
	int stop_at;
};

struct tag {
	struct order *o;
	int id;
};

static void on_tag(struct loop *l, struct loop_timer *t, void *arg)
{
	struct tag *tg = arg;

	(void)t;
	tg->o->seq[tg->o->n++] = tg->id;
	if (tg->o->n == tg->o->stop_at)
		loop_stop(l, 0);
}

Test(loop, timers_fire_in_deadline_order)
{
	struct loop *l = new_loop(5000);
	struct order o = {.stop_at = 5};
	int64_t ms[] = {40, 10, 30, 0, 20};
	struct tag tags[5];
	int64_t t0;

	for (int i = 0; i < 5; i++) {
		tags[i] = (struct tag){&o, (int)ms[i]};
		cr_assert_not_null(loop_timer_add(l, ms[i], on_tag, &tags[i]));
	}
	t0 = loop_now(l);
	cr_assert_eq(loop_run(l), 0);
	cr_assert_eq(o.seq[0], 0);
	cr_assert_eq(o.seq[1], 10);
	cr_assert_eq(o.seq[2], 20);
	cr_assert_eq(o.seq[3], 30);
	cr_assert_eq(o.seq[4], 40);
	/* Not early: the last one fired at least 40 ms after the start. */
	cr_assert_geq(loop_now(l) - t0, 40);
	loop_free(l);
}

Test(loop, timer_set_moves_a_pending_timer)
{
	struct loop *l = new_loop(5000);
	struct order o = {.stop_at = 3};
	struct tag a = {&o, 1}, b = {&o, 2}, c = {&o, 3};
	struct loop_timer *ta;

	ta = loop_timer_add(l, 10, on_tag, &a);
	cr_assert_not_null(loop_timer_add(l, 20, on_tag, &b));
	cr_assert_not_null(loop_timer_add(l, 30, on_tag, &c));
	loop_timer_set(l, ta, 60); /* later than both */
	cr_assert_eq(loop_run(l), 0);
	cr_assert_eq(o.seq[0], 2);
	cr_assert_eq(o.seq[1], 3);
	cr_assert_eq(o.seq[2], 1);
	loop_free(l);
}

struct rearm {
	int fired;
	int times;
	int64_t last;
};

static void on_rearm(struct loop *l, struct loop_timer *t, void *arg)
{
	struct rearm *r = arg;

	if (r->fired)
		cr_assert_geq(loop_now(l) - r->last, 5, "re-armed too early");
	r->last = loop_now(l);
	if (++r->fired == r->times) {
		loop_timer_del(l, t); /* deleting itself is allowed */
		loop_stop(l, 0);
		return;
	}
	loop_timer_set(l, t, 5);
}

Test(loop, timer_rearms_itself)
{
	struct loop *l = new_loop(5000);
	struct rearm r = {.times = 5};

	cr_assert_not_null(loop_timer_add(l, 5, on_rearm, &r));
	cr_assert_eq(loop_run(l), 0);
	cr_assert_eq(r.fired, 5);
	loop_free(l);
}

/* A timer re-armed at 0 ms runs once per iteration: fds are served in
 * between, rather than the timer spinning until the clock ticks. */
struct spin {
	int fired;
	int at_read;
	int wfd; /* written by the timer's first run */
};

static void on_spin(struct loop *l, struct loop_timer *t, void *arg)
{
	struct spin *s = arg;

	if (s->fired++ == 0)
		cr_assert_eq(write(s->wfd, "x", 1), 1);
	loop_timer_set(l, t, 0);
}

static void on_spin_read(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct spin *s = arg;
	char c;

	(void)events;
	cr_assert_eq(read(fd, &c, 1), 1);
	s->at_read = s->fired;
	loop_stop(l, 0);
}

Test(loop, zero_timer_does_not_starve_fds)
{
	struct loop *l = new_loop(5000);
	struct spin s = {0, -1, -1};
	int p[2];

	cr_assert_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	cr_assert_not_null(loop_timer_add(l, 0, on_spin, &s));
	cr_assert_eq(loop_watch(l, p[0], LOOP_IN, on_spin_read, &s), 0);
	s.wfd = p[1];
	cr_assert_eq(loop_run(l), 0);
	/* The fd became ready in the timer's first run, and is served
	 * before its second. */
	cr_assert_eq(s.at_read, 1, "the timer ran %d times first", s.at_read);
	loop_free(l);
	close(p[0]);
	close(p[1]);
}

static void on_never(struct loop *l, struct loop_timer *t, void *arg)
{
	(void)l;
	(void)t;
	cr_assert_fail("cancelled timer %d fired", *(int *)arg);
}

struct killer {
	struct loop_timer *victim;
};

static void on_kill(struct loop *l, struct loop_timer *t, void *arg)
{
	struct killer *k = arg;

	(void)t;
	loop_timer_del(l, k->victim);
}

Test(loop, timer_del_pending)
{
	struct loop *l = new_loop(5000);
	struct killer k;
	struct loop_timer *t[20];
	int ids[20];

	for (int i = 0; i < 20; i++) {
		ids[i] = i;
		t[i] = loop_timer_add(l, 10 + i, on_never, &ids[i]);
		cr_assert_not_null(t[i]);
	}
	/* Cancelled before the loop runs, from anywhere in the heap. */
	for (int i = 19; i >= 0; i -= 2)
		loop_timer_del(l, t[i]);
	for (int i = 0; i < 20; i += 4)
		loop_timer_del(l, t[i]);
	/* Cancelled by another timer's callback, just before its turn. */
	k.victim = t[2];
	cr_assert_not_null(loop_timer_add(l, 5, on_kill, &k));
	for (int i = 6; i < 20; i += 4)
		loop_timer_del(l, t[i]);
	cr_assert_not_null(loop_timer_add(l, 60, on_stop, NULL));
	cr_assert_eq(loop_run(l), 0);
	loop_timer_del(l, NULL); /* a no-op */
	loop_free(l);
}

/* loop_free frees timers still pending (ASan would report a leak). */
Test(loop, free_with_pending_timers)
{
	struct loop *l = loop_new();

	for (int i = 0; i < 100; i++)
		cr_assert_not_null(loop_timer_add(l, 1000 + i, on_stop, NULL));
	loop_free(l);
}

/*
 * Ten thousand timers with scattered deadlines fire exactly once each, in
 * deadline order.  A deadline is known exactly when the clock did not tick
 * while its timer was added; otherwise it is one of two values.
 */
#define MANY 10000

struct many {
	int64_t lo, hi; /* the deadline's bounds */
	int fired;
};

struct many_run {
	struct many *t;
	int order[MANY];
	int n, want;
};

static struct many_run *mr;

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_many(struct loop *l, struct loop_timer *t, void *arg)
{
	struct many *m = arg;

	(void)t;
	cr_assert_geq(loop_now(l), m->lo, "fired before its deadline");
	m->fired++;
	mr->order[mr->n++] = (int)(m - mr->t);
	if (mr->n == mr->want)
		loop_stop(l, 0);
}

Test(loop, ten_thousand_timers_in_order)
{
	struct loop *l = new_loop(20000);
	struct loop_timer **tt = calloc(MANY, sizeof(*tt));
	unsigned x = 7;

	mr = calloc(1, sizeof(*mr));
	mr->t = calloc(MANY, sizeof(*mr->t));
	for (int i = 0; i < MANY; i++) {
		int64_t ms, before, after;

		x = x * 1103515245 + 12345;
		ms = (x >> 16) % 300;
		before = mono_ms();
		tt[i] = loop_timer_add(l, ms, on_many, &mr->t[i]);
		after = mono_ms();
		cr_assert_not_null(tt[i]);
		mr->t[i].lo = before + ms;
		mr->t[i].hi = after + ms;
	}
	/* Cancel every third: the heap loses entries from everywhere. */
	for (int i = 0; i < MANY; i += 3)
		loop_timer_del(l, tt[i]);
	mr->want = MANY - (MANY + 2) / 3;
	cr_assert_eq(loop_run(l), 0);
	cr_assert_eq(mr->n, mr->want);
	for (int i = 0; i < MANY; i++)
		cr_assert_eq(mr->t[i].fired, i % 3 ? 1 : 0, "timer %d", i);
	for (int k = 1; k < mr->n; k++) {
		struct many *a = &mr->t[mr->order[k - 1]];
		struct many *b = &mr->t[mr->order[k]];

		cr_assert_leq(a->lo, b->hi,
			      "timer %d (%lld) fired after %d "
			      "(%lld)",
			      mr->order[k - 1], (long long)a->lo, mr->order[k],
			      (long long)b->hi);
	}
	loop_free(l);
	free(mr->t);
	free(mr);
	free(tt);
}

struct sigs {
	int got[3];
	int n;
	int want;
};

static void on_signal(struct loop *l, int signo, void *arg)
{
	struct sigs *s = arg;

	s->got[s->n++] = signo;
	if (s->n == s->want)
		loop_stop(l, 0);
}

Test(loop, signals)
{
	struct loop *l = new_loop(5000);
	struct sigs s = {.want = 2};
	sigset_t cur;

	cr_assert_eq(loop_signal(l, SIGUSR1, on_signal, &s), 0);
	cr_assert_eq(loop_signal(l, SIGUSR2, on_signal, &s), 0);
	/* Blocked: raise() only marks them pending for the signalfd. */
	cr_assert_eq(raise(SIGUSR1), 0);
	cr_assert_eq(raise(SIGUSR2), 0);
	cr_assert_eq(loop_run(l), 0);
	cr_assert_eq(s.n, 2);
	cr_assert((s.got[0] == SIGUSR1 && s.got[1] == SIGUSR2) ||
		  (s.got[0] == SIGUSR2 && s.got[1] == SIGUSR1));
	cr_assert_eq(loop_signal(l, 0, on_signal, &s), -EINVAL);
	cr_assert_eq(loop_signal(l, 65, on_signal, &s), -EINVAL);
	loop_free(l);
	/* The loop gave the signals back. */
	cr_assert_eq(sigprocmask(SIG_BLOCK, NULL, &cur), 0);
	cr_assert(!sigismember(&cur, SIGUSR1));
	cr_assert(!sigismember(&cur, SIGUSR2));
}

/* A signal that arrives while the loop waits, from another process. */
Test(loop, signal_from_outside)
{
	struct loop *l = new_loop(5000);
	struct sigs s = {.want = 1};
	pid_t me = getpid(), child;

	cr_assert_eq(loop_signal(l, SIGUSR1, on_signal, &s), 0);
	child = fork();
	cr_assert_geq(child, 0);
	if (child == 0) {
		kill(me, SIGUSR1);
		_exit(0);
	}
	cr_assert_eq(loop_run(l), 0);
	cr_assert_eq(s.got[0], SIGUSR1);
	loop_free(l);
}

static void on_stop_status(struct loop *l, struct loop_timer *t, void *arg)
{
	(void)t;
	cr_assert(!loop_stopping(l));
	loop_stop(l, *(int *)arg);
	cr_assert(loop_stopping(l));
}

Test(loop, stop_status)
{
	struct loop *l = loop_new();
	int status = 42;

	cr_assert_not_null(loop_timer_add(l, 0, on_stop_status, &status));
	cr_assert_eq(loop_run(l), 42);
	loop_free(l);
}

/*
 * More than ten thousand watched fds (both ends of socketpairs), a byte
 * written into each, and every one of them delivered exactly once.
 */
struct big {
	int *calls;
	int done, want;
};

static void on_big(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct big *b = arg;
	char c;

	cr_assert(events & LOOP_IN);
	cr_assert_eq(read(fd, &c, 1), 1);
	cr_assert_eq(c, 'z');
	b->calls[fd]++;
	/* Level-triggered: read dry, it must not be reported again. */
	cr_assert_eq(read(fd, &c, 1), -1);
	if (++b->done == b->want)
		loop_stop(l, 0);
}

Test(loop, ten_thousand_fds)
{
	struct rlimit rl;
	struct loop *l;
	struct big b = {0};
	int npairs = 6000, (*sv)[2], maxfd = 0;

	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	rl.rlim_cur = rl.rlim_max;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < (rlim_t)npairs * 2 + 64)
		cr_skip_test("RLIMIT_NOFILE hard limit %llu is below %d",
			     (unsigned long long)rl.rlim_max, npairs * 2 + 64);
	l = new_loop(60000);
	sv = calloc((size_t)npairs, sizeof(*sv));
	for (int i = 0; i < npairs; i++) {
		nonblocking_pair(sv[i]);
		maxfd = sv[i][1] > maxfd ? sv[i][1] : maxfd;
	}
	b.calls = calloc((size_t)maxfd + 1, sizeof(int));
	b.want = npairs * 2;
	for (int i = 0; i < npairs; i++)
		for (int j = 0; j < 2; j++)
			cr_assert_eq(
				loop_watch(l, sv[i][j], LOOP_IN, on_big, &b),
				0);
	for (int i = 0; i < npairs; i++)
		for (int j = 0; j < 2; j++)
			cr_assert_eq(write(sv[i][j], "z", 1), 1);
	cr_assert_eq(loop_run(l), 0, "only %d of %d fds delivered", b.done,
		     b.want);
	for (int i = 0; i < npairs; i++)
		for (int j = 0; j < 2; j++)
			cr_assert_eq(b.calls[sv[i][j]], 1, "fd %d: %d calls",
				     sv[i][j], b.calls[sv[i][j]]);
	loop_free(l);
	for (int i = 0; i < npairs; i++) {
		close(sv[i][0]);
		close(sv[i][1]);
	}
	free(sv);
	free(b.calls);
}

/* ---- the busy-poll window ---- */

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct fired {
	int64_t at_us;
};

static void on_fire(struct loop *l, struct loop_timer *t, void *arg)
{
	struct fired *f = arg;

	(void)t;
	f->at_us = now_us();
	loop_stop(l, 0);
}

/*
 * A byte waits on a pipe, so the first pass has work and a spin follows
 * it; a 50 ms timer must still fire at 50 ms, not when a spin of `spin`
 * microseconds would end.  (A spin of 1 s that ignored the timer would
 * make it fire after 1000 ms.)
 */
static void timer_on_time(unsigned spin, bool set)
{
	struct loop *l = new_loop(5000);
	struct reader r = {.want = 100}; /* never reached: the timer stops */
	struct fired f = {0};
	int64_t t0, late;
	int p[2];

	if (set)
		loop_set_spin(l, spin);
	cr_assert_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	cr_assert_eq(loop_watch(l, p[0], LOOP_IN, on_read, &r), 0);
	cr_assert_eq(write(p[1], "x", 1), 1);
	t0 = now_us();
	cr_assert_not_null(loop_timer_add(l, 50, on_fire, &f));
	cr_assert_eq(loop_run(l), 0, "the guard stopped the loop");
	cr_assert_eq(r.calls, 1, "the byte was not read first");
	late = f.at_us - t0;
	cr_assert_geq(late, 49000, "fired early: %lld us", (long long)late);
	cr_assert_lt(late, 500000, "spin %u us delayed the timer to %lld us",
		     spin, (long long)late);
	close(p[0]);
	close(p[1]);
	loop_free(l);
}

Test(loop, spin_zero_timer_on_time)
{
	timer_on_time(0, true);
}

Test(loop, spin_default_timer_on_time)
{
	timer_on_time(LOOP_SPIN_DEFAULT_US, false);
}

Test(loop, long_spin_stops_at_the_next_timer)
{
	timer_on_time(1000000, true);
}

struct relay_ctl {
	struct reader r;
	int kick; /* tells the child to write its byte */
	int64_t done_us;
};

static void on_read_kick(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct relay_ctl *c = arg;

	on_read(l, fd, events, &c->r);
	if (c->r.calls == 1)
		cr_assert_eq(write(c->kick, "k", 1), 1);
	if (c->r.len >= c->r.want)
		c->done_us = now_us();
}

/*
 * With a 1 s spin, the first byte's pass starts a spin; only then does a
 * child process (woken by that pass) write the second byte.  It must be
 * read during the spin, well before the spin would run out and the loop
 * would go to sleep in epoll_wait.
 */
Test(loop, event_during_spin_is_handled)
{
	struct loop *l = new_loop(5000);
	struct relay_ctl c = {.r = {.want = 2}};
	int data[2], ctl[2];
	int64_t t0, took;
	pid_t pid;
	int st;

	loop_set_spin(l, 1000000);
	cr_assert_eq(pipe2(data, O_NONBLOCK | O_CLOEXEC), 0);
	cr_assert_eq(pipe2(ctl, O_CLOEXEC), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char k;

		close(ctl[1]);
		_exit(read(ctl[0], &k, 1) == 1 && write(data[1], "b", 1) == 1
			      ? 0
			      : 1);
	}
	close(ctl[0]);
	c.kick = ctl[1];
	cr_assert_eq(loop_watch(l, data[0], LOOP_IN, on_read_kick, &c), 0);
	cr_assert_eq(write(data[1], "a", 1), 1);
	t0 = now_us();
	cr_assert_eq(loop_run(l), 0, "the second byte never arrived");
	took = c.done_us - t0;
	cr_assert_str_eq(c.r.buf, "ab");
	cr_assert_eq(c.r.calls, 2);
	cr_assert_lt(took, 900000,
		     "the byte written during the spin waited %lld us",
		     (long long)took);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(data[0]);
	close(data[1]);
	close(ctl[1]);
	loop_free(l);
}

/*
 * A loop that never handles an event never spins, whatever the window:
 * waiting 200 ms for a timer with a 1 s spin costs next to no CPU.
 */
Test(loop, idle_loop_does_not_spin)
{
	struct loop *l = new_loop(5000);
	struct fired f = {0};
	int64_t cpu0, used;

	loop_set_spin(l, 1000000);
	cr_assert_not_null(loop_timer_add(l, 200, on_fire, &f));
	cpu0 = cpu_us();
	cr_assert_eq(loop_run(l), 0);
	used = cpu_us() - cpu0;
	cr_assert_lt(used, 50000, "an idle loop used %lld us of CPU in 200 ms",
		     (long long)used);
	loop_free(l);
}

static void on_read_calm(struct loop *l, int fd, uint32_t events, void *arg)
{
	on_read(l, fd, events, arg);
	loop_calm(l);
}

/*
 * A pass whose only event called loop_calm() sleeps at once, even with a
 * 1 s spin: waiting 200 ms for a timer after it costs next to no CPU
 * (without loop_calm the spin runs until the timer, 200 ms of CPU).
 */
Test(loop, calm_pass_does_not_spin)
{
	struct loop *l = new_loop(5000);
	struct reader r = {.want = 100}; /* never reached: the timer stops */
	struct fired f = {0};
	int64_t cpu0, used;
	int p[2];

	loop_set_spin(l, 1000000);
	cr_assert_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	cr_assert_eq(loop_watch(l, p[0], LOOP_IN, on_read_calm, &r), 0);
	cr_assert_eq(write(p[1], "x", 1), 1);
	cr_assert_not_null(loop_timer_add(l, 200, on_fire, &f));
	cpu0 = cpu_us();
	cr_assert_eq(loop_run(l), 0, "the guard stopped the loop");
	used = cpu_us() - cpu0;
	cr_assert_eq(r.calls, 1);
	cr_assert_lt(used, 50000, "a calm pass spun: %lld us of CPU in 200 ms",
		     (long long)used);
	close(p[0]);
	close(p[1]);
	loop_free(l);
}

/* ---- LOOP_SPIN_AUTO: no spin while tasks wait for a CPU ---- */

static long sleeps(void)
{
	struct rusage ru;

	cr_assert_eq(getrusage(RUSAGE_THREAD, &ru), 0);
	return ru.ru_nvcsw; /* a spin never blocks; epoll_wait does */
}

static void set_pressure(const char *path, long long total_us)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fprintf(f,
		"some avg10=0.00 avg60=0.00 avg300=0.00 total=%lld\n"
		"full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
		total_us);
	cr_assert_eq(fclose(f), 0);
}

struct phases {
	const char *path;
	int pipe_w;
	int n;
	long start[4], end[4]; /* sleeps so far as phase n starts, ends */
};

/* Each timer ends a phase and starts the next: it sets the pressure
 * (writing the file may block: not counted) and writes a byte, whose pass
 * is followed by a spin or by a sleep until the next timer. */
static void on_phase(struct loop *l, struct loop_timer *t, void *arg)
{
	struct phases *p = arg;

	(void)t;
	p->end[++p->n] = sleeps();
	if (p->n == 3) {
		loop_stop(l, 0);
		return;
	}
	/* Phase 2 reads tasks waiting all of the time since the last
	 * reading; phase 3 reads no more waiting than that. */
	if (p->n == 1)
		set_pressure(p->path, 1000000000000LL);
	p->start[p->n + 1] = sleeps();
	cr_assert_eq(write(p->pipe_w, "x", 1), 1);
}

/*
 * The default spin reads the pressure file at most every 5 ms: the first
 * reading only sets a baseline (spin), a reading with tasks waiting
 * stops the spin (the loop sleeps until its timer), and one without
 * brings it back.  An explicit --spin ignores the pressure.
 */
static void pressure_phases(bool auto_spin, long want_phase2)
{
	char path[] = "/dev/shm/sockctl-psi-XXXXXX";
	struct loop *l = new_loop(5000);
	struct reader r = {.want = 100};
	struct phases ph = {.path = path};
	int fd = mkstemp(path), p[2];

	cr_assert_geq(fd, 0);
	close(fd);
	set_pressure(path, 1000);
	loop_set_spin(l, 40000);
	if (auto_spin)
		loop_set_pressure_file(l, path);
	cr_assert_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	ph.pipe_w = p[1];
	cr_assert_eq(loop_watch(l, p[0], LOOP_IN, on_read, &r), 0);
	for (int i = 1; i <= 3; i++)
		cr_assert_not_null(loop_timer_add(l, 30 * i, on_phase, &ph));
	cr_assert_eq(write(p[1], "x", 1), 1);
	ph.start[1] = sleeps();
	cr_assert_eq(loop_run(l), 0, "the guard stopped the loop");
	cr_assert_eq(r.calls, 3);
	cr_assert_eq(ph.end[1] - ph.start[1], 0,
		     "slept after the first pass instead of spinning");
	if (want_phase2)
		cr_assert_geq(ph.end[2] - ph.start[2], 1,
			      "spun while tasks waited for a CPU");
	else
		cr_assert_eq(ph.end[2] - ph.start[2], 0,
			     "an explicit spin gave way to the pressure");
	cr_assert_eq(ph.end[3] - ph.start[3], 0,
		     "did not spin again once the CPUs were free");
	close(p[0]);
	close(p[1]);
	unlink(path);
	loop_free(l);
}

Test(loop, auto_spin_stops_while_tasks_wait_for_a_cpu)
{
	pressure_phases(true, 1);
}

Test(loop, explicit_spin_ignores_the_pressure)
{
	pressure_phases(false, 0);
}
