/*
 * ref_bulk.c - the bulk reference: the simplest fast way to move stdin
 * over loopback TCP, with no event loop and no options.  It tells what
 * this machine allows, so that sockctl's bulk figures can be read against
 * it as well as against iperf3 (which sends from memory, not from stdin).
 *
 *   ref_bulk recv PORT   one client, its bytes to stdout (splice through a
 *                        pipe when stdout takes it); prints
 *                        `listening on 127.0.0.1:PORT (tcp)` on stderr
 *   ref_bulk send PORT   stdin to 127.0.0.1:PORT: sendfile(2) when stdin
 *                        is a regular file, else blocking 256 KiB
 *                        read/write
 *   ref_bulk drain       stdin to /dev/null, no network: spliced through
 *                        a 1 MiB pipe when stdin is a pipe, else read.
 *                        `head -c N /dev/zero | ref_bulk drain` is as
 *                        fast as that pipe's writer can go, the ceiling
 *                        of every tool's "bulk pipe" figure; prints the
 *                        byte count on stdout
 *
 * Bench use only: every failure is a message and exit 1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (256 * 1024)

static char buf[CHUNK];

static int die(const char *what)
{
	perror(what);
	return 1;
}

static int write_all(int fd, const char *p, ssize_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, (size_t)n);

		if (w <= 0)
			return -1;
		p += w;
		n -= w;
	}
	return 0;
}

static int copy(int from, int to)
{
	ssize_t n;

	while ((n = read(from, buf, sizeof(buf))) > 0)
		if (write_all(to, buf, n) < 0)
			return die("write");
	return n < 0 ? die("read") : 0;
}

static int recv_side(struct sockaddr_in *sin)
{
	socklen_t len = sizeof(*sin);
	int one = 1, lfd, c, p[2];
	ssize_t n;

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)sin, sizeof(*sin)) < 0 ||
	    listen(lfd, 1) < 0)
		return die("listen");
	getsockname(lfd, (struct sockaddr *)sin, &len);
	fprintf(stderr, "listening on 127.0.0.1:%u (tcp)\n",
		ntohs(sin->sin_port));
	c = accept(lfd, NULL, NULL);
	if (c < 0)
		return die("accept");
	if (pipe(p) < 0)
		return die("pipe");
	fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
	while ((n = splice(c, NULL, p[1], NULL, 1 << 20, SPLICE_F_MOVE)) > 0) {
		while (n > 0) {
			ssize_t w = splice(p[0], NULL, 1, NULL, (size_t)n,
					   SPLICE_F_MOVE);

			if (w <= 0)
				return die("splice to stdout");
			n -= w;
		}
	}
	if (n < 0)
		return copy(c, 1); /* a socket that does not splice */
	return 0;
}

static int send_side(struct sockaddr_in *sin)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct stat st;

	if (connect(s, (struct sockaddr *)sin, sizeof(*sin)) < 0)
		return die("connect");
	if (fstat(0, &st) == 0 && S_ISREG(st.st_mode)) {
		ssize_t n;

		while ((n = sendfile(s, 0, NULL, 1 << 30)) > 0)
			;
		if (n < 0)
			return die("sendfile");
	} else if (copy(0, s)) {
		return 1;
	}
	return close(s) < 0 ? die("close") : 0;
}

static int drain(void)
{
	int null = open("/dev/null", O_WRONLY);
	long long total = 0;
	ssize_t n;

	if (null < 0)
		return die("/dev/null");
	if (fcntl(0, F_GETPIPE_SZ) >= 0) {
		fcntl(0, F_SETPIPE_SZ, 1 << 20);
		while ((n = splice(0, NULL, null, NULL, 1 << 20, 0)) > 0)
			total += n;
	} else {
		while ((n = read(0, buf, sizeof(buf))) > 0)
			total += n;
	}
	if (n < 0)
		return die("drain");
	printf("%lld\n", total);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};

	if (argc == 2 && !strcmp(argv[1], "drain"))
		return drain();
	if (argc != 3 || (strcmp(argv[1], "recv") && strcmp(argv[1], "send"))) {
		fprintf(stderr, "usage: ref_bulk recv|send PORT | drain\n");
		return 2;
	}
	sin.sin_port = htons((uint16_t)atoi(argv[2]));
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	return !strcmp(argv[1], "recv") ? recv_side(&sin) : send_side(&sin);
}
