/*
 * test_dgram.c - the datagram formats (text, raw, hex, JSON) for every
 * kind of sender address, receive batches with truncation, line splitting
 * of stdin, and the protocol limits.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "dgram.h"

static struct sockaddr_in v4(const char *a, uint16_t port)
{
	struct sockaddr_in s = {.sin_family = AF_INET, .sin_port = htons(port)};

	inet_pton(AF_INET, a, &s.sin_addr);
	return s;
}

static struct sockaddr_in6 v6(const char *a, uint16_t port)
{
	struct sockaddr_in6 s = {.sin6_family = AF_INET6,
				 .sin6_port = htons(port)};

	inet_pton(AF_INET6, a, &s.sin6_addr);
	return s;
}

/* Format one datagram and return the text (static buffer). */
static const char *fmt1(enum dgram_fmt f, const void *sa, socklen_t salen,
			const char *data, size_t len, size_t real_len,
			const struct dgram_rtt *rtt)
{
	static char out[1024];
	struct dgram_out o;
	struct dgram d = {
		.from = sa,
		.fromlen = salen,
		.data = data,
		.len = len,
		.real_len = real_len ? real_len : len,
	};

	dgram_out_init(&o, f);
	dgram_out_add(&o, &d, rtt);
	cr_assert_lt(o.buf.len, sizeof(out));
	memcpy(out, o.buf.data, o.buf.len);
	out[o.buf.len] = '\0';
	dgram_out_free(&o);
	return out;
}

Test(dgram_text, ipv4_ipv6_and_mapped_senders)
{
	struct sockaddr_in a = v4("127.0.0.1", 40001);
	struct sockaddr_in6 b = v6("::1", 80), m = v6("::ffff:10.1.2.3", 7);

	cr_assert_str_eq(fmt1(DGRAM_TEXT, &a, sizeof(a), "hello", 5, 0, NULL),
			 "127.0.0.1:40001: hello\n");
	cr_assert_str_eq(fmt1(DGRAM_TEXT, &b, sizeof(b), "x", 1, 0, NULL),
			 "[::1]:80: x\n");
	cr_assert_str_eq(fmt1(DGRAM_TEXT, &m, sizeof(m), "y", 1, 0, NULL),
			 "10.1.2.3:7: y\n");
}

Test(dgram_text, payload_is_escaped)
{
	struct sockaddr_in a = v4("127.0.0.1", 1);

	cr_assert_str_eq(
		fmt1(DGRAM_TEXT, &a, sizeof(a), "a\nb\t\\\x01\xff", 7, 0, NULL),
		"127.0.0.1:1: a\\nb\\t\\\\\\x01\\xff\n");
	cr_assert_str_eq(fmt1(DGRAM_TEXT, &a, sizeof(a), "", 0, 0, NULL),
			 "127.0.0.1:1: \n");
}

Test(dgram_text, unix_senders)
{
	struct sockaddr_un p = {.sun_family = AF_UNIX, .sun_path = "/tmp/c"};
	struct sockaddr_un ab = {.sun_family = AF_UNIX};
	socklen_t plen = offsetof(struct sockaddr_un, sun_path) + 7;
	socklen_t ablen = offsetof(struct sockaddr_un, sun_path) + 6;

	memcpy(ab.sun_path,
	       "\0"
	       "0a1b2",
	       6);
	cr_assert_str_eq(fmt1(DGRAM_TEXT, &p, plen, "hi", 2, 0, NULL),
			 "/tmp/c: hi\n");
	cr_assert_str_eq(fmt1(DGRAM_TEXT, &ab, ablen, "hi", 2, 0, NULL),
			 "@0a1b2: hi\n");
	/* An unbound sender: no address at all. */
	cr_assert_str_eq(fmt1(DGRAM_TEXT, &ab, 0, "hi", 2, 0, NULL),
			 "(unnamed): hi\n");
}

Test(dgram_text, truncation_and_round_trip_time)
{
	struct sockaddr_in a = v4("127.0.0.1", 9);
	struct dgram_rtt rtt = {.seq = 3, .ms = 0.1234};

	cr_assert_str_eq(fmt1(DGRAM_TEXT, &a, sizeof(a), "0123", 4, 100, NULL),
			 "127.0.0.1:9: 0123 (truncated, 100 bytes)\n");
	cr_assert_str_eq(fmt1(DGRAM_TEXT, &a, sizeof(a), "ping", 4, 0, &rtt),
			 "127.0.0.1:9: ping seq=3 time=0.123 ms\n");
}

Test(dgram_raw, payload_only)
{
	struct sockaddr_in a = v4("127.0.0.1", 9);
	struct dgram_rtt rtt = {.seq = 1, .ms = 1};

	cr_assert_str_eq(fmt1(DGRAM_RAW, &a, sizeof(a), "abc\n", 4, 0, &rtt),
			 "abc\n");
}

Test(dgram_hex, header_and_dump)
{
	struct sockaddr_in a = v4("127.0.0.1", 40001);

	cr_assert_str_eq(
		fmt1(DGRAM_HEX, &a, sizeof(a), "hello", 5, 0, NULL),
		"127.0.0.1:40001: 5 bytes\n"
		"00000000  68 65 6c 6c 6f                                    "
		"|hello|\n"
		"00000005\n");
	/* As hexdump -C shows an empty input: nothing. */
	cr_assert_str_eq(fmt1(DGRAM_HEX, &a, sizeof(a), "", 0, 0, NULL),
			 "127.0.0.1:40001: 0 bytes\n");
}

Test(dgram_json, text_binary_and_extras)
{
	struct sockaddr_in a = v4("127.0.0.1", 40001);
	struct sockaddr_un p = {.sun_family = AF_UNIX, .sun_path = "/s"};
	struct dgram_rtt rtt = {.seq = 2, .ms = 1.5};

	cr_assert_str_eq(fmt1(DGRAM_JSON, &a, sizeof(a), "hello", 5, 0, NULL),
			 "{\"from\":\"127.0.0.1\",\"port\":40001,\"length\":5,"
			 "\"data\":\"hello\"}\n");
	cr_assert_str_eq(
		fmt1(DGRAM_JSON, &a, sizeof(a), "\xff\x00", 2, 0, NULL),
		"{\"from\":\"127.0.0.1\",\"port\":40001,\"length\":2,"
		"\"data_base64\":\"/wA=\"}\n");
	cr_assert_str_eq(fmt1(DGRAM_JSON, &a, sizeof(a), "\"q\"\n", 4, 9, &rtt),
			 "{\"from\":\"127.0.0.1\",\"port\":40001,\"length\":4,"
			 "\"data\":\"\\\"q\\\"\\n\",\"truncated\":true,"
			 "\"real_length\":9,\"seq\":2,\"time_ms\":1.500}\n");
	cr_assert_str_eq(fmt1(DGRAM_JSON, &p,
			      offsetof(struct sockaddr_un, sun_path) + 3, "u",
			      1, 0, NULL),
			 "{\"from\":\"/s\",\"port\":null,\"length\":1,"
			 "\"data\":\"u\"}\n");
	/* UTF-8 stays text. */
	cr_assert_str_eq(
		fmt1(DGRAM_JSON, &a, sizeof(a), "h\xc3\xa9", 3, 0, NULL),
		"{\"from\":\"127.0.0.1\",\"port\":40001,\"length\":3,"
		"\"data\":\"h\xc3\xa9\"}\n");
}

Test(dgram_out, address_text_follows_the_sender)
{
	struct sockaddr_in a = v4("127.0.0.1", 1), b = v4("10.0.0.1", 2);
	struct dgram_out o;
	struct dgram d = {.data = "x", .len = 1, .real_len = 1};

	dgram_out_init(&o, DGRAM_TEXT);
	d.from = (struct sockaddr *)&a;
	d.fromlen = sizeof(a);
	dgram_out_add(&o, &d, NULL);
	dgram_out_add(&o, &d, NULL);
	d.from = (struct sockaddr *)&b;
	dgram_out_add(&o, &d, NULL);
	d.from = (struct sockaddr *)&a;
	dgram_out_add(&o, &d, NULL);
	cr_assert_str_eq(sbuf_str(&o.buf), "127.0.0.1:1: x\n127.0.0.1:1: x\n"
					   "10.0.0.1:2: x\n127.0.0.1:1: x\n");
	dgram_out_free(&o);
}

Test(dgram_out, flush_writes_everything_and_empties)
{
	struct dgram_out o;
	int p[2];
	char buf[64];

	signal(SIGPIPE, SIG_IGN); /* as main.c does */
	cr_assert_eq(pipe(p), 0);
	dgram_out_init(&o, DGRAM_RAW);
	sbuf_adds(&o.buf, "some output\n");
	cr_assert_eq(dgram_out_flush(&o, p[1]), 0);
	cr_assert_eq(o.buf.len, 0);
	cr_assert_eq(read(p[0], buf, sizeof(buf)), 12);
	cr_assert_eq(memcmp(buf, "some output\n", 12), 0);
	close(p[0]);
	sbuf_adds(&o.buf, "x");
	cr_assert_eq(dgram_out_flush(&o, p[1]), -EPIPE);
	close(p[1]);
	dgram_out_free(&o);
}

Test(dgram, protocol_limits)
{
	cr_assert_eq(dgram_max_payload(AF_INET), 65507);
	cr_assert_eq(dgram_max_payload(AF_INET6), 65527);
	cr_assert_eq(dgram_max_payload(AF_UNIX), 0);
}

Test(dgram_rx, batches_and_truncation)
{
	struct dgram_rx rx;
	struct dgram d;
	int sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	cr_assert_eq(dgram_rx_init(&rx, 4, 8), 0);
	cr_assert_eq(dgram_rx_recv(&rx, sv[0], 4), 0, "nothing yet");
	cr_assert_eq(send(sv[1], "short", 5, 0), 5);
	cr_assert_eq(send(sv[1], "0123456789abcdef", 16, 0), 16);
	cr_assert_eq(send(sv[1], "", 0, 0), 0);
	cr_assert_eq(send(sv[1], "later", 5, 0), 5);
	/* At most max, even with more waiting. */
	cr_assert_eq(dgram_rx_recv(&rx, sv[0], 3), 3);
	dgram_rx_get(&rx, 0, &d);
	cr_assert_eq(d.len, 5);
	cr_assert_eq(memcmp(d.data, "short", 5), 0);
	dgram_rx_get(&rx, 1, &d);
	cr_assert_eq(d.len, 8);
	cr_assert_eq(d.real_len, 16);
	cr_assert_eq(memcmp(d.data, "01234567", 8), 0);
	dgram_rx_get(&rx, 2, &d);
	cr_assert_eq(d.len, 0);
	cr_assert_eq(d.real_len, 0);
	cr_assert_eq(dgram_rx_recv(&rx, sv[0], 99), 1);
	dgram_rx_get(&rx, 0, &d);
	cr_assert_eq(memcmp(d.data, "later", 5), 0);
	cr_assert_eq(dgram_rx_recv(&rx, sv[0], 4), 0);
	close(sv[1]);
	close(sv[0]);
	cr_assert_eq(dgram_rx_recv(&rx, sv[0], 4), -EBADF);
	dgram_rx_free(&rx);
	cr_assert_eq(dgram_rx_init(&rx, 0, 8), -EINVAL);
}

/* Every slot starts on an IO_ALIGN boundary, whatever the slot size. */
Test(dgram_rx, slots_are_aligned)
{
	size_t sizes[] = {1, 8, 100, 65507};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct dgram_rx rx;

		cr_assert_eq(dgram_rx_init(&rx, 5, sizes[i]), 0);
		for (unsigned k = 0; k < rx.n; k++) {
			cr_assert_eq((uintptr_t)rx.iov[k].iov_base % IO_ALIGN,
				     0, "slot %u of %zu bytes", k, sizes[i]);
			cr_assert_eq(rx.iov[k].iov_len, sizes[i]);
		}
		dgram_rx_free(&rx);
	}
}

/* Feed text through a pipe and take lines as the commands do. */
static int lines_of(const char *input, bool whole, char out[][32], int max)
{
	struct dgram_lines l = {0};
	const char *line;
	size_t len;
	int p[2], n = 0;

	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(write(p[1], input, strlen(input)), (ssize_t)strlen(input));
	close(p[1]);
	for (;;) {
		while (n < max && dgram_lines_next(&l, whole, &line, &len)) {
			cr_assert_lt(len, 32);
			memcpy(out[n], line, len);
			out[n++][len] = '\0';
		}
		/* At the end, the last call above has used the stream up. */
		if (l.done)
			break;
		cr_assert_geq(dgram_lines_read(&l, p[0]), 0);
	}
	close(p[0]);
	dgram_lines_free(&l);
	return n;
}

Test(dgram_lines, one_line_each_and_the_unterminated_last)
{
	char out[8][32];

	cr_assert_eq(lines_of("one\ntwo two\n\nlast", false, out, 8), 4);
	cr_assert_str_eq(out[0], "one");
	cr_assert_str_eq(out[1], "two two");
	cr_assert_str_eq(out[2], "");
	cr_assert_str_eq(out[3], "last");
	cr_assert_eq(lines_of("a\nb\n", false, out, 8), 2);
	cr_assert_eq(lines_of("", false, out, 8), 0);
}

Test(dgram_lines, whole_is_everything_once)
{
	char out[8][32];

	cr_assert_eq(lines_of("a\nb\n", true, out, 8), 1);
	cr_assert_str_eq(out[0], "a\nb\n");
	/* Even an empty stdin is one (empty) datagram. */
	cr_assert_eq(lines_of("", true, out, 8), 1);
	cr_assert_str_eq(out[0], "");
}

Test(dgram_lines, lines_added_from_a_prompt)
{
	struct dgram_lines l = {0};
	const char *line;
	size_t len;

	dgram_lines_add(&l, "typed");
	dgram_lines_add(&l, "");
	cr_assert(dgram_lines_next(&l, false, &line, &len));
	cr_assert_eq(len, 5);
	cr_assert_eq(memcmp(line, "typed", 5), 0);
	dgram_lines_add(&l, "more");
	cr_assert(dgram_lines_next(&l, false, &line, &len));
	cr_assert_eq(len, 0);
	cr_assert(dgram_lines_next(&l, false, &line, &len));
	cr_assert_eq(memcmp(line, "more", 4), 0);
	cr_assert_not(dgram_lines_next(&l, false, &line, &len));
	cr_assert_not(l.done);
	dgram_lines_end(&l);
	cr_assert_not(dgram_lines_next(&l, false, &line, &len));
	cr_assert(l.done);
	dgram_lines_free(&l);
}
