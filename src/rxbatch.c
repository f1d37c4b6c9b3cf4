/*
 * rxbatch.c - fewer wake-ups for a bulk TCP receive (see rxbatch.h).
 */
#include "rxbatch.h"

#include <linux/sockios.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static bool set_mark(struct rxbatch *b, int mark)
{
	if (setsockopt(b->fd, SOL_SOCKET, SO_RCVLOWAT, &mark, sizeof(mark)) <
	    0) {
		b->usable = false;
		return false;
	}
	return true;
}

static void stop(struct rxbatch *b)
{
	loop_timer_del(b->l, b->tick);
	b->tick = NULL;
	b->raised = false;
}

static void lower(struct rxbatch *b)
{
	stop(b);
	/* The kernel checks the queue against the new mark at once, so what
	 * waits below the old one is reported readable now. */
	set_mark(b, 1);
}

static void on_tick(struct loop *l, struct loop_timer *t, void *arg)
{
	struct rxbatch *b = arg;
	int queued = 0;

	if (ioctl(b->fd, SIOCINQ, &queued) < 0 ||
	    (!b->read && queued <= b->queued)) {
		lower(b);
		return;
	}
	b->read = false;
	b->queued = queued;
	loop_timer_set(l, t, RXBATCH_TICK_MS);
}

void rxbatch_init(struct rxbatch *b, struct loop *l, int fd)
{
	memset(b, 0, sizeof(*b));
	b->l = l;
	b->fd = fd;
}

/* Asked once, at the first large read: a socket that never sees one costs
 * no system call. */
static void check(struct rxbatch *b)
{
	int type = 0, mark = 0;
	socklen_t len = sizeof(type);
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);

	b->checked = true;
	if (getsockopt(b->fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
	    type != SOCK_STREAM ||
	    getsockname(b->fd, (struct sockaddr *)&ss, &sslen) < 0 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
		return;
	len = sizeof(mark);
	if (getsockopt(b->fd, SOL_SOCKET, SO_RCVLOWAT, &mark, &len) < 0 ||
	    mark != 1)
		return;
	b->usable = true;
}

void rxbatch_read(struct rxbatch *b, size_t n)
{
	if (b->raised) {
		b->read = true;
		return;
	}
	if (n < RXBATCH_BULK)
		return;
	if (!b->checked)
		check(b);
	if (!b->usable)
		return;
	b->tick = loop_timer_add(b->l, RXBATCH_TICK_MS, on_tick, b);
	if (!b->tick)
		return;
	if (!set_mark(b, RXBATCH_LOWAT)) {
		stop(b);
		return;
	}
	b->raised = true;
	b->read = false;
	b->queued = 0;
}

bool rxbatch_raised(const struct rxbatch *b)
{
	return b->raised;
}

void rxbatch_free(struct rxbatch *b)
{
	stop(b);
}
