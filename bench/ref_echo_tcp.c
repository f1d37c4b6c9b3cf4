/*
 * ref_echo_tcp.c - the reference: a minimal single-threaded epoll TCP echo
 * server, the best a one-core event loop does.  `ref_echo_tcp PORT`;
 * prints `listening on 0.0.0.0:PORT (tcp)` on stderr.  Bench use only:
 * a write that would block drops the connection rather than buffer.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct epoll_event ev[256], e = {.events = EPOLLIN};
	struct rlimit rl;
	socklen_t len = sizeof(sin);
	char buf[16384];
	int one = 1, lfd, ep;

	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	sin.sin_port = htons((uint16_t)(argc > 1 ? atoi(argv[1]) : 0));
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(lfd, SOMAXCONN) < 0) {
		perror("ref_echo_tcp");
		return 1;
	}
	getsockname(lfd, (struct sockaddr *)&sin, &len);
	fprintf(stderr, "listening on 0.0.0.0:%u (tcp)\n", ntohs(sin.sin_port));
	ep = epoll_create1(0);
	e.data.fd = lfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &e);
	for (;;) {
		int n = epoll_wait(ep, ev, 256, -1);

		for (int i = 0; i < n; i++) {
			int fd = ev[i].data.fd;
			ssize_t r;

			if (fd == lfd) {
				int c;

				while ((c = accept4(lfd, NULL, NULL,
						    SOCK_NONBLOCK)) >= 0) {
					e.data.fd = c;
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &e);
				}
				continue;
			}
			r = read(fd, buf, sizeof(buf));
			if (r > 0 && write(fd, buf, (size_t)r) == r)
				continue;
			if (r < 0 && errno == EAGAIN)
				continue;
			close(fd);
		}
	}
}
