/*
 * ref_echo_udp.c - the reference: a minimal recvfrom/sendto UDP echo
 * server.  `ref_echo_udp PORT`; prints `listening on 0.0.0.0:PORT (udp)`.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

int main(int argc, char **argv)
{
	struct sockaddr_in sin = {.sin_family = AF_INET}, peer;
	socklen_t len = sizeof(sin);
	char buf[65536];
	int fd;

	sin.sin_port = htons((uint16_t)(argc > 1 ? atoi(argv[1]) : 0));
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		perror("ref_echo_udp");
		return 1;
	}
	getsockname(fd, (struct sockaddr *)&sin, &len);
	fprintf(stderr, "listening on 0.0.0.0:%u (udp)\n", ntohs(sin.sin_port));
	for (;;) {
		socklen_t plen = sizeof(peer);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0,
				     (struct sockaddr *)&peer, &plen);

		if (n >= 0)
			sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&peer,
			       plen);
	}
}
