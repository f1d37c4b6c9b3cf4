/*
 * loop.h - a small event loop in the manner of Redis' ae: epoll for fds,
 * a heap of timers, and signals delivered through signalfd.
 *
 * Per-event work is O(1) for fds (watchers live in an array indexed by fd)
 * and O(log n) for timers, so the loop holds tens of thousands of
 * connections.  Callbacks may add and remove watchers and timers freely,
 * including their own.
 */
#ifndef SOCKCTL_LOOP_H
#define SOCKCTL_LOOP_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

struct loop;
struct loop_timer;

enum {
	LOOP_IN = EPOLLIN,
	LOOP_OUT = EPOLLOUT,
	LOOP_RDHUP = EPOLLRDHUP,
	LOOP_HUP = EPOLLHUP,
	LOOP_ERR = EPOLLERR,
};

/* events: what happened (LOOP_* bits, as epoll reports them). */
typedef void (*loop_fd_fn)(struct loop *l, int fd, uint32_t events, void *arg);
typedef void (*loop_timer_fn)(struct loop *l, struct loop_timer *t, void *arg);
typedef void (*loop_signal_fn)(struct loop *l, int signo, void *arg);

struct loop *loop_new(void);

/*
 * How long loop_run polls after a busy pass before it sleeps (see
 * wait_events in loop.c); 0 never polls.  LOOP_SPIN_AUTO, a new loop's
 * setting, polls LOOP_SPIN_DEFAULT_US while no task waits for a CPU and
 * not at all while some do; any other value is polled as given.
 */
#define LOOP_SPIN_DEFAULT_US 100
#define LOOP_SPIN_AUTO UINT_MAX
void loop_set_spin(struct loop *l, unsigned us);
/* Where LOOP_SPIN_AUTO reads the CPU pressure (PSI's format; tests give a
 * file of their own); NULL counts as never crowded. */
#define LOOP_PRESSURE_FILE "/proc/pressure/cpu"
void loop_set_pressure_file(struct loop *l, const char *path);
/* Closes nothing but its own epoll and signal fds; frees pending timers. */
void loop_free(struct loop *l);

/* Watch fd for events (LOOP_IN / LOOP_OUT / LOOP_RDHUP). */
int loop_watch(struct loop *l, int fd, uint32_t events, loop_fd_fn fn,
	       void *arg);
/* Change what fd is watched for; 0 keeps it watched but quiet (not even a
 * hang-up or error is reported until it is given events again). */
int loop_modify(struct loop *l, int fd, uint32_t events);
uint32_t loop_events(struct loop *l, int fd);
int loop_unwatch(struct loop *l, int fd);

/* A one-shot timer in ms from now; re-arm it from its callback if needed. */
struct loop_timer *loop_timer_add(struct loop *l, int64_t ms, loop_timer_fn fn,
				  void *arg);
/* Move a pending timer (or re-arm a fired one) to ms from now. */
void loop_timer_set(struct loop *l, struct loop_timer *t, int64_t ms);
/* Cancel and free; safe on a timer whose callback is running. */
void loop_timer_del(struct loop *l, struct loop_timer *t);

/* Block signo and deliver it through the loop instead. */
int loop_signal(struct loop *l, int signo, loop_signal_fn fn, void *arg);

/* Run until loop_stop(); returns the status given to loop_stop. */
int loop_run(struct loop *l);
/*
 * From a callback: what it waits for next is far off (a bulk receive
 * waiting for its next megabyte), so its work is no reason to spin.  A
 * pass whose only event said so goes to sleep at once.
 */
void loop_calm(struct loop *l);
void loop_stop(struct loop *l, int status);
bool loop_stopping(struct loop *l);
/* The loop's cached monotonic time in ms, updated each iteration. */
int64_t loop_now(struct loop *l);

#endif
