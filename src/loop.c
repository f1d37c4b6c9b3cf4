/*
 * loop.c - epoll event loop with timers and signalfd (see loop.h).
 */
#include "loop.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#define LOOP_BATCH 256
#define LOOP_NSIG 65
/* LOOP_SPIN_AUTO: CPU pressure is read at most this often, and a share of
 * time with tasks waiting for a CPU above LOOP_CROWDED_PCT stops the spin. */
#define LOOP_PSI_WINDOW_US 5000
#define LOOP_CROWDED_PCT 10

struct watcher {
	loop_fd_fn fn;
	void *arg;
	uint32_t events;
	uint32_t gen; /* tells a stale epoll event from a new fd */
	bool active;
	/* Registered with epoll.  A quiet watcher (events 0) is not: epoll
	 * reports EPOLLHUP and EPOLLERR whatever the mask says, and a paused
	 * fd whose peer hung up would wake the loop forever. */
	bool in_epoll;
};

struct loop_timer {
	int64_t when;
	loop_timer_fn fn;
	void *arg;
	long heap_idx; /* -1 when not pending */
	uint64_t seq; /* when it was armed, see run_timers() */
	struct loop_timer *prev, *next; /* every timer, for loop_free */
};

struct loop {
	int epfd;
	int sigfd;
	sigset_t sigmask;
	struct {
		loop_signal_fn fn;
		void *arg;
	} sig[LOOP_NSIG];
	struct watcher *w;
	size_t nw;
	struct loop_timer **heap;
	size_t nheap, capheap;
	struct loop_timer *timers;
	uint64_t timer_seq; /* counts every arming of a timer */
	int64_t now;
	unsigned spin_us; /* poll this long after activity before sleeping */
	const char *psi_path; /* set: no spin while the CPUs are crowded */
	bool crowded;
	int psi_fd; /* psi_path open; -2 before the first look */
	int64_t psi_at_us, psi_total_us; /* the last reading */
	bool stop;
	bool calm; /* the running callback called loop_calm() */
	int status;
};

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t mono_ms(void)
{
	return mono_us() / 1000;
}

struct loop *loop_new(void)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return NULL;
	}
	l->sigfd = -1;
	sigemptyset(&l->sigmask);
	l->now = mono_ms();
	l->psi_fd = -2;
	loop_set_spin(l, LOOP_SPIN_AUTO);
	return l;
}

void loop_set_spin(struct loop *l, unsigned us)
{
	bool dflt = us == LOOP_SPIN_AUTO;

	l->spin_us = dflt ? LOOP_SPIN_DEFAULT_US : us;
	loop_set_pressure_file(l, dflt ? LOOP_PRESSURE_FILE : NULL);
}

void loop_set_pressure_file(struct loop *l, const char *path)
{
	if (l->psi_fd >= 0)
		close(l->psi_fd);
	l->psi_fd = -2;
	l->psi_path = path;
	l->psi_at_us = 0;
	l->crowded = false;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	while (l->timers) {
		struct loop_timer *t = l->timers;

		l->timers = t->next;
		free(t);
	}
	free(l->heap);
	free(l->w);
	if (l->sigfd >= 0) {
		close(l->sigfd);
		sigprocmask(SIG_UNBLOCK, &l->sigmask, NULL);
	}
	if (l->psi_fd >= 0)
		close(l->psi_fd);
	close(l->epfd);
	free(l);
}

static int grow_watchers(struct loop *l, int fd)
{
	size_t n = l->nw ? l->nw : 64;
	struct watcher *w;

	while (n <= (size_t)fd)
		n *= 2;
	if (n == l->nw)
		return 0;
	w = realloc(l->w, n * sizeof(*w));
	if (!w)
		return -ENOMEM;
	memset(w + l->nw, 0, (n - l->nw) * sizeof(*w));
	l->w = w;
	l->nw = n;
	return 0;
}

static struct watcher *watcher_of(struct loop *l, int fd)
{
	if (fd < 0 || (size_t)fd >= l->nw || !l->w[fd].active)
		return NULL;
	return &l->w[fd];
}

static int ctl(struct loop *l, int op, int fd, struct watcher *w)
{
	struct epoll_event ev = {
		.events = w->events,
		.data.u64 = (uint64_t)w->gen << 32 | (uint32_t)fd,
	};

	return epoll_ctl(l->epfd, op, fd, &ev) < 0 ? -errno : 0;
}

int loop_watch(struct loop *l, int fd, uint32_t events, loop_fd_fn fn,
	       void *arg)
{
	struct watcher *w;
	int r;

	if (fd < 0)
		return -EBADF;
	if ((r = grow_watchers(l, fd)) < 0)
		return r;
	w = &l->w[fd];
	if (w->active)
		return -EEXIST;
	w->fn = fn;
	w->arg = arg;
	w->events = events;
	w->gen++;
	if (events) {
		r = ctl(l, EPOLL_CTL_ADD, fd, w);
		if (r < 0)
			return r;
	}
	w->in_epoll = events != 0;
	w->active = true;
	return 0;
}

int loop_modify(struct loop *l, int fd, uint32_t events)
{
	struct watcher *w = watcher_of(l, fd);
	int r;

	if (!w)
		return -ENOENT;
	if (w->events == events)
		return 0;
	w->events = events;
	if (!events) {
		w->in_epoll = false;
		if (epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL) < 0)
			return -errno;
		return 0;
	}
	if (w->in_epoll)
		return ctl(l, EPOLL_CTL_MOD, fd, w);
	/* Events of the old registration may still be in this batch. */
	w->gen++;
	r = ctl(l, EPOLL_CTL_ADD, fd, w);
	if (r == 0)
		w->in_epoll = true;
	return r;
}

uint32_t loop_events(struct loop *l, int fd)
{
	struct watcher *w = watcher_of(l, fd);

	return w ? w->events : 0;
}

int loop_unwatch(struct loop *l, int fd)
{
	struct watcher *w = watcher_of(l, fd);

	if (!w)
		return -ENOENT;
	w->active = false;
	if (!w->in_epoll)
		return 0;
	w->in_epoll = false;
	if (epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 && errno != EBADF)
		return -errno;
	return 0;
}

/* Binary min-heap on when; each timer knows its index for O(log n) moves. */
static void heap_swap(struct loop *l, size_t a, size_t b)
{
	struct loop_timer *t = l->heap[a];

	l->heap[a] = l->heap[b];
	l->heap[b] = t;
	l->heap[a]->heap_idx = (long)a;
	l->heap[b]->heap_idx = (long)b;
}

static void heap_up(struct loop *l, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (l->heap[p]->when <= l->heap[i]->when)
			break;
		heap_swap(l, p, i);
		i = p;
	}
}

static void heap_down(struct loop *l, size_t i)
{
	for (;;) {
		size_t c = 2 * i + 1, m = i;

		if (c < l->nheap && l->heap[c]->when < l->heap[m]->when)
			m = c;
		if (c + 1 < l->nheap && l->heap[c + 1]->when < l->heap[m]->when)
			m = c + 1;
		if (m == i)
			return;
		heap_swap(l, i, m);
		i = m;
	}
}

static void heap_remove(struct loop *l, struct loop_timer *t)
{
	size_t i = (size_t)t->heap_idx, last = l->nheap - 1;

	if (t->heap_idx < 0)
		return;
	if (i != last) {
		heap_swap(l, i, last);
		l->nheap--;
		heap_down(l, i);
		heap_up(l, i);
	} else {
		l->nheap--;
	}
	t->heap_idx = -1;
}

static int heap_push(struct loop *l, struct loop_timer *t)
{
	if (l->nheap == l->capheap) {
		size_t cap = l->capheap ? l->capheap * 2 : 16;
		struct loop_timer **h = realloc(l->heap, cap * sizeof(*h));

		if (!h)
			return -ENOMEM;
		l->heap = h;
		l->capheap = cap;
	}
	t->heap_idx = (long)l->nheap;
	l->heap[l->nheap++] = t;
	heap_up(l, (size_t)t->heap_idx);
	return 0;
}

struct loop_timer *loop_timer_add(struct loop *l, int64_t ms, loop_timer_fn fn,
				  void *arg)
{
	struct loop_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->fn = fn;
	t->arg = arg;
	t->heap_idx = -1;
	t->when = mono_ms() + (ms < 0 ? 0 : ms);
	t->seq = ++l->timer_seq;
	if (heap_push(l, t) < 0) {
		free(t);
		return NULL;
	}
	t->next = l->timers;
	if (l->timers)
		l->timers->prev = t;
	l->timers = t;
	return t;
}

void loop_timer_set(struct loop *l, struct loop_timer *t, int64_t ms)
{
	t->when = mono_ms() + (ms < 0 ? 0 : ms);
	t->seq = ++l->timer_seq;
	if (t->heap_idx >= 0) {
		heap_down(l, (size_t)t->heap_idx);
		heap_up(l, (size_t)t->heap_idx);
	} else if (heap_push(l, t) < 0) {
		abort(); /* cannot happen: the heap had room for it before */
	}
}

void loop_timer_del(struct loop *l, struct loop_timer *t)
{
	if (!t)
		return;
	heap_remove(l, t);
	if (t->prev)
		t->prev->next = t->next;
	else
		l->timers = t->next;
	if (t->next)
		t->next->prev = t->prev;
	free(t);
}

static void on_signalfd(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;

	(void)events;
	(void)arg;
	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo < LOOP_NSIG && l->sig[si.ssi_signo].fn)
			l->sig[si.ssi_signo].fn(l, (int)si.ssi_signo,
						l->sig[si.ssi_signo].arg);
	}
}

int loop_signal(struct loop *l, int signo, loop_signal_fn fn, void *arg)
{
	int fd;

	if (signo <= 0 || signo >= LOOP_NSIG)
		return -EINVAL;
	sigaddset(&l->sigmask, signo);
	if (sigprocmask(SIG_BLOCK, &l->sigmask, NULL) < 0)
		return -errno;
	fd = signalfd(l->sigfd, &l->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (l->sigfd < 0) {
		int r = loop_watch(l, fd, LOOP_IN, on_signalfd, NULL);

		if (r < 0) {
			close(fd);
			return r;
		}
	}
	l->sigfd = fd;
	l->sig[signo].fn = fn;
	l->sig[signo].arg = arg;
	return 0;
}

static int next_timeout(struct loop *l)
{
	int64_t d;

	if (l->nheap == 0)
		return -1;
	d = l->heap[0]->when - mono_ms();
	if (d <= 0)
		return 0;
	return d > 1 << 30 ? 1 << 30 : (int)d;
}

/*
 * Timers armed by the callbacks of this pass wait for the next iteration:
 * a timer that re-arms itself at 0 ms would otherwise run again and again
 * until the clock ticks, and no fd would be served meanwhile.
 */
static void run_timers(struct loop *l)
{
	uint64_t last = l->timer_seq;

	l->now = mono_ms();
	while (!l->stop && l->nheap && l->heap[0]->when <= l->now &&
	       l->heap[0]->seq <= last) {
		struct loop_timer *t = l->heap[0];

		heap_remove(l, t);
		t->fn(l, t, t->arg);
	}
}

/*
 * Whether tasks are waiting for a CPU: the share of the time since the
 * last reading (at least LOOP_PSI_WINDOW_US ago) during which some task
 * was runnable but not running, from the "some" line of
 * /proc/pressure/cpu.  A kernel without PSI always answers no.
 */
static bool crowded(struct loop *l, int64_t now)
{
	char buf[160];
	const char *p;
	int64_t total;
	ssize_t n;

	if (now - l->psi_at_us < LOOP_PSI_WINDOW_US)
		return l->crowded;
	if (l->psi_fd == -2)
		l->psi_fd = open(l->psi_path, O_RDONLY | O_CLOEXEC);
	n = l->psi_fd >= 0 ? pread(l->psi_fd, buf, sizeof(buf) - 1, 0) : -1;
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strstr(buf, "total=");
	if (!p)
		return false;
	total = strtoll(p + 6, NULL, 10);
	l->crowded = l->psi_at_us > 0 &&
		     (total - l->psi_total_us) * 100 >
			     (now - l->psi_at_us) * LOOP_CROWDED_PCT;
	l->psi_at_us = now;
	l->psi_total_us = total;
	return l->crowded;
}

/*
 * Wait for events.  After a pass that had work, poll without sleeping for
 * up to spin_us first: waking a sleeping CPU costs far more than a round
 * trip on loopback (about 200 us on a VM whose guest halt-polling is off),
 * and a request/reply peer usually sends again within a few tens of us.
 * An idle loop sleeps: the spin is spent once per burst, never while
 * nothing happens, and never past the next timer.  Each poll first yields
 * the CPU, so the spin never keeps a runnable task of our own session (the
 * process filling our stdin) off this CPU.  Yielding does not reach the
 * tasks of other sessions (the scheduler's autogroups), so LOOP_SPIN_AUTO
 * does not spin while tasks wait for a CPU: `head -c 1G /dev/zero |
 * connect` into a `serve --relay` of its own session is 20% faster, and
 * the spin is kept where a CPU would sit idle anyway.
 */
static int wait_events(struct loop *l, struct epoll_event *ev, bool busy)
{
	int timeout = next_timeout(l);
	int n;

	if (!busy || l->spin_us == 0 || timeout == 0)
		return epoll_wait(l->epfd, ev, LOOP_BATCH, timeout);
	n = epoll_wait(l->epfd, ev, LOOP_BATCH, 0);
	if (n == 0) {
		int64_t now = mono_us(), end = now + l->spin_us;

		if (timeout > 0 && end > l->heap[0]->when * 1000)
			end = l->heap[0]->when * 1000;
		if (l->psi_path && crowded(l, now))
			end = now;
		while (n == 0 && now < end) {
			sched_yield();
			n = epoll_wait(l->epfd, ev, LOOP_BATCH, 0);
			now = mono_us();
		}
		if (n == 0)
			n = epoll_wait(l->epfd, ev, LOOP_BATCH,
				       next_timeout(l));
	}
	return n;
}

int loop_run(struct loop *l)
{
	struct epoll_event ev[LOOP_BATCH];
	bool busy = false;

	while (!l->stop) {
		int n = wait_events(l, ev, busy);

		if (n < 0 && errno != EINTR)
			return -errno;
		busy = false;
		l->now = mono_ms();
		for (int i = 0; i < n && !l->stop; i++) {
			int fd = (int)(uint32_t)ev[i].data.u64;
			uint32_t gen = (uint32_t)(ev[i].data.u64 >> 32);
			struct watcher *w = watcher_of(l, fd);

			busy = true;
			/* Gone, replaced, or made quiet earlier in this batch.
			 */
			if (!w || w->gen != gen || !w->events)
				continue;
			l->calm = false;
			w->fn(l, fd, ev[i].events, w->arg);
			if (l->calm && n == 1)
				busy = false;
		}
		run_timers(l);
	}
	return l->status;
}

void loop_calm(struct loop *l)
{
	l->calm = true;
}

void loop_stop(struct loop *l, int status)
{
	l->stop = true;
	l->status = status;
}

bool loop_stopping(struct loop *l)
{
	return l->stop;
}

int64_t loop_now(struct loop *l)
{
	return l->now;
}
