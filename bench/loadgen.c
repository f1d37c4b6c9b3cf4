/*
 * loadgen.c - the benchmarks' load generator: round trips against an echo
 * server over TCP (N connections, one request in flight on each) or UDP (K
 * datagrams in flight), for a bounded time, verifying every echoed byte.
 *
 *   loadgen tcp HOST PORT CONNS SECS [SIZE]
 *   loadgen udp HOST PORT INFLIGHT SECS [SIZE]
 *
 * Prints one line:
 *   rate=R reqs=N secs=T conns=C failed_conns=F mismatches=M lost=L
 * and exits 1 if any byte came back wrong or any connection was not
 * served.  Everything is bounded: a run ends after SECS (plus at most
 * 10 s to connect), whatever the server does.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SIZE 4096
#define CONNECT_BUDGET_MS 10000

struct conn {
	int fd;
	uint32_t id;
	uint32_t seq;
	size_t sent, got;
	bool connected, dead;
	unsigned char out[MAX_SIZE];
};

static size_t size = 64;
static long long reqs, mismatches, lost, failed;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fill(unsigned char *buf, uint32_t id, uint32_t seq)
{
	for (size_t i = 0; i < size; i++)
		buf[i] = (unsigned char)((id * 31 + seq * 7 + i) & 0xff);
	buf[size - 1] = '\n';
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int resolve(const char *host, const char *port, int type,
		   struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints = {.ai_socktype = type,
				 .ai_flags = AI_NUMERICHOST},
			*ai;

	if (getaddrinfo(host, port, &hints, &ai))
		return -1;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static void conn_send(struct conn *c)
{
	while (c->sent < size) {
		ssize_t n = send(c->fd, c->out + c->sent, size - c->sent,
				 MSG_NOSIGNAL);

		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				c->dead = true;
			return;
		}
		c->sent += (size_t)n;
	}
}

static void conn_recv(struct conn *c)
{
	unsigned char buf[MAX_SIZE];

	for (;;) {
		ssize_t n = recv(c->fd, buf, size - c->got, 0);

		if (n <= 0) {
			if (n == 0 || (errno != EAGAIN && errno != EINTR))
				c->dead = true;
			return;
		}
		if (memcmp(buf, c->out + c->got, (size_t)n))
			mismatches++;
		c->got += (size_t)n;
		if (c->got == size) {
			reqs++;
			c->seq++;
			c->sent = c->got = 0;
			fill(c->out, c->id, c->seq);
			conn_send(c);
		}
	}
}

static int run_tcp(const char *host, const char *port, int nconns, int secs)
{
	struct sockaddr_storage ss;
	struct epoll_event ev[512];
	struct conn *c = calloc((size_t)nconns, sizeof(*c));
	socklen_t len;
	int ep = epoll_create1(0), alive = 0, one = 1;
	long long start, end, deadline;

	if (resolve(host, port, SOCK_STREAM, &ss, &len) < 0) {
		fprintf(stderr, "loadgen: cannot resolve %s\n", host);
		return 2;
	}
	/* Every connection at once: a burst, as clients arrive in practice. */
	for (int i = 0; i < nconns; i++) {
		struct epoll_event e = {.events = EPOLLIN | EPOLLOUT,
					.data.ptr = &c[i]};

		c[i].id = (uint32_t)i;
		c[i].fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (c[i].fd < 0) {
			perror("loadgen: socket");
			return 2;
		}
		setsockopt(c[i].fd, IPPROTO_TCP, TCP_NODELAY, &one,
			   sizeof(one));
		if (connect(c[i].fd, (struct sockaddr *)&ss, len) < 0 &&
		    errno != EINPROGRESS) {
			c[i].dead = true;
			continue;
		}
		epoll_ctl(ep, EPOLL_CTL_ADD, c[i].fd, &e);
		alive++;
	}
	/* Wait until every connection is established and echoed once. */
	deadline = now_ms() + CONNECT_BUDGET_MS;
	start = 0;
	for (int warm = 0; warm < alive && now_ms() < deadline;) {
		int n = epoll_wait(ep, ev, 512, 100);

		for (int i = 0; i < n; i++) {
			struct conn *k = ev[i].data.ptr;
			int err = 0;
			socklen_t el = sizeof(err);

			if (k->dead)
				continue;
			if (!k->connected && (ev[i].events & EPOLLOUT)) {
				getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err,
					   &el);
				if (err) {
					k->dead = true;
					continue;
				}
				k->connected = true;
				fill(k->out, k->id, 0);
				conn_send(k);
				struct epoll_event e = {.events = EPOLLIN,
							.data.ptr = k};
				epoll_ctl(ep, EPOLL_CTL_MOD, k->fd, &e);
			}
			if (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
				uint32_t before = k->seq;

				conn_recv(k);
				if (k->seq > before && before == 0)
					warm++;
			}
		}
	}
	reqs = 0;
	start = now_ms();
	end = start + (long long)secs * 1000;
	while (now_ms() < end) {
		int n = epoll_wait(ep, ev, 512, 100);

		for (int i = 0; i < n; i++) {
			struct conn *k = ev[i].data.ptr;

			if (!k->dead && k->connected)
				conn_recv(k);
		}
	}
	end = now_ms();
	/* Served means: connected, echoed at least once, never cut off. */
	for (int i = 0; i < nconns; i++)
		if (c[i].dead || !c[i].connected || c[i].seq == 0)
			failed++;
	printf("rate=%.0f reqs=%lld secs=%.3f conns=%d failed_conns=%lld "
	       "mismatches=%lld lost=0\n",
	       reqs * 1000.0 / (double)(end - start), reqs,
	       (end - start) / 1000.0, nconns, failed, mismatches);
	for (int i = 0; i < nconns; i++)
		if (c[i].fd >= 0)
			close(c[i].fd);
	free(c);
	close(ep);
	return failed || mismatches ? 1 : 0;
}

/* UDP: INFLIGHT datagrams outstanding on one socket; each carries its
 * slot and sequence, so a reply is matched and checked byte for byte.
 * A slot whose reply has not come back within 200 ms counts as lost and
 * is sent again, so loss cannot stall the run. */
static int run_udp(const char *host, const char *port, int inflight, int secs)
{
	struct sockaddr_storage ss;
	socklen_t len;
	uint32_t *seq = calloc((size_t)inflight, sizeof(*seq));
	long long *sent_at = calloc((size_t)inflight, sizeof(*sent_at));
	unsigned char out[MAX_SIZE], in[MAX_SIZE];
	long long start, end;
	int fd;

	if (size < 8)
		size = 8;
	if (resolve(host, port, SOCK_DGRAM, &ss, &len) < 0)
		return 2;
	fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len) < 0) {
		perror("loadgen: udp socket");
		return 2;
	}
	struct timeval tv = {.tv_usec = 50000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	start = now_ms();
	end = start + (long long)secs * 1000;
	for (int s = 0; s < inflight; s++) {
		uint32_t hdr[2] = {(uint32_t)s, 0};

		fill(out, (uint32_t)s, 0);
		memcpy(out, hdr, 8);
		send(fd, out, size, 0);
		sent_at[s] = start;
	}
	while (now_ms() < end) {
		ssize_t n = recv(fd, in, sizeof(in), 0);
		long long t = now_ms();
		uint32_t hdr[2];

		if (n == (ssize_t)size) {
			memcpy(hdr, in, 8);
			if (hdr[0] < (uint32_t)inflight &&
			    hdr[1] == seq[hdr[0]]) {
				uint32_t s = hdr[0];

				fill(out, s, seq[s]);
				memcpy(out, hdr, 8);
				if (memcmp(in, out, size))
					mismatches++;
				reqs++;
				seq[s]++;
				hdr[1] = seq[s];
				fill(out, s, seq[s]);
				memcpy(out, hdr, 8);
				send(fd, out, size, 0);
				sent_at[s] = t;
			}
		} else if (n > 0) {
			mismatches++;
		}
		for (int s = 0; s < inflight; s++) {
			uint32_t h[2] = {(uint32_t)s, 0};

			if (t - sent_at[s] < 200)
				continue;
			lost++;
			seq[s]++;
			h[1] = seq[s];
			fill(out, (uint32_t)s, seq[s]);
			memcpy(out, h, 8);
			send(fd, out, size, 0);
			sent_at[s] = t;
		}
	}
	end = now_ms();
	printf("rate=%.0f reqs=%lld secs=%.3f conns=%d failed_conns=0 "
	       "mismatches=%lld lost=%lld\n",
	       reqs * 1000.0 / (double)(end - start), reqs,
	       (end - start) / 1000.0, inflight, mismatches, lost);
	close(fd);
	free(seq);
	free(sent_at);
	return mismatches ? 1 : 0;
}

int main(int argc, char **argv)
{
	int n, secs;

	if (argc < 6) {
		fprintf(stderr, "usage: loadgen tcp|udp HOST PORT N SECS "
				"[SIZE]\n");
		return 2;
	}
	n = atoi(argv[4]);
	secs = atoi(argv[5]);
	if (argc > 6)
		size = (size_t)atoi(argv[6]);
	if (n < 1 || secs < 1 || secs > 600 || size < 1 || size > MAX_SIZE) {
		fprintf(stderr, "loadgen: bad N, SECS or SIZE\n");
		return 2;
	}
	raise_nofile();
	if (!strcmp(argv[1], "tcp"))
		return run_tcp(argv[2], argv[3], n, secs);
	if (!strcmp(argv[1], "udp"))
		return run_udp(argv[2], argv[3], n, secs);
	fprintf(stderr, "loadgen: unknown mode '%s'\n", argv[1]);
	return 2;
}
