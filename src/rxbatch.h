/*
 * rxbatch.h - fewer wake-ups for a bulk TCP receive.
 *
 * Loopback hands a receiving socket 64 KiB at a time, and a reader asleep
 * in epoll is woken for each piece: at a gigabyte a second that is 16,000
 * wake-ups, each a context switch on both sides, and on a two-CPU machine
 * the time they take is time the sender and the process filling it do not
 * get.  While reads come back large, rxbatch raises the socket's
 * SO_RCVLOWAT so that epoll reports it readable once RXBATCH_LOWAT bytes
 * wait.  A tick every millisecond watches the receive queue; when no read
 * happened and the queue stopped growing below the mark, the mark drops
 * back to 1 and what waits is read at once, so a tail that does not fill
 * the mark is at most about 2 ms late.  The kernel still reports the
 * socket readable at once on FIN, on an error, under memory pressure and
 * when the receive window is nearly closed.
 *
 * A socket whose SO_RCVLOWAT someone already set (-o SO_RCVLOWAT=N) is
 * left alone, and so is anything that refuses the option.
 */
#ifndef SOCKCTL_RXBATCH_H
#define SOCKCTL_RXBATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "loop.h"

/* A read of at least this much means the data comes faster than it is
 * read: the mark goes up. */
#define RXBATCH_BULK (64 * 1024)
/* The mark while it is up. */
#define RXBATCH_LOWAT (1024 * 1024)
/* How often a raised mark looks at the queue, in ms. */
#define RXBATCH_TICK_MS 1

struct rxbatch {
	struct loop *l;
	struct loop_timer *tick;
	int fd;
	bool checked; /* usable is known */
	bool usable; /* the socket is TCP and its mark was ours to move */
	bool raised;
	bool read; /* a read since the last tick */
	int queued; /* bytes waiting at the last tick */
};

/* fd is a connected socket; anything but TCP with the default mark is
 * never touched. */
void rxbatch_init(struct rxbatch *b, struct loop *l, int fd);
/* After each read that took n bytes from the socket. */
void rxbatch_read(struct rxbatch *b, size_t n);
/* Whether the mark is up now: the next read is far off. */
bool rxbatch_raised(const struct rxbatch *b);
/* Stops the tick; the socket is not touched (it may be closed already). */
void rxbatch_free(struct rxbatch *b);

#endif
