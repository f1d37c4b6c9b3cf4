/*
 * fuzz_parse.c - libFuzzer target for every parser that takes outside
 * input: ports, HOST:PORT and [V6]:PORT, address operands, Unix paths,
 * durations, sizes, escapes, CIDRs and booleans.  Besides "no crash, no
 * sanitizer report" it checks the parsers' promises: a failure always says
 * why, escapes never grow the text, a CIDR has no host bits set.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "parse.h"

static void check_cidr(const char *s)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
	const char *why = NULL;
	struct cidr c;

	if (parse_cidr(s, &c, &why) < 0) {
		assert(why);
		return;
	}
	assert(c.family == AF_INET || c.family == AF_INET6);
	assert(c.prefix <= (c.family == AF_INET ? 32u : 128u));
	for (unsigned bit = c.prefix; bit < 128; bit++)
		assert(!(c.addr[bit / 8] & (0x80u >> (bit % 8))));
	/* The network address itself always matches its own CIDR. */
	if (c.family == AF_INET) {
		memcpy(&sin.sin_addr, c.addr, 4);
		assert(cidr_match(&c, (struct sockaddr *)&sin));
		/* ...and so does its IPv4-mapped IPv6 form. */
		sin6.sin6_addr.s6_addr[10] = 0xff;
		sin6.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&sin6.sin6_addr.s6_addr[12], c.addr, 4);
	} else {
		memcpy(&sin6.sin6_addr, c.addr, 16);
	}
	assert(cidr_match(&c, (struct sockaddr *)&sin6));
}

static void check_strings(const char *s, const char *t)
{
	char host[PARSE_HOST_MAX], port[PARSE_PORT_MAX];
	char *const args[2] = {(char *)s, (char *)t};
	struct sockaddr_un sun;
	const char *why = NULL;
	socklen_t len;
	uint64_t u;
	int64_t ms;
	double secs;
	uint16_t p;
	bool b;
	char *buf;
	size_t n;
	int r;

	if (parse_hostport(s, host, port, &why) == 0)
		assert(host[0] && port[0]);
	r = parse_address_args(2, args, host, port, &why);
	assert(r == 2 || (r < 0 && why));
	if (parse_port(s, "tcp", &p, &why) < 0)
		assert(why);
	if (parse_duration(s, &secs, &why) == 0)
		assert(secs >= 0 && secs <= 1e9);
	if (parse_duration_ms(s, &ms, &why) == 0)
		assert(ms >= 0);
	if (parse_size(s, &u, &why) < 0)
		assert(why);
	if (parse_uint(s, 1, 1000, &u, &why) == 0)
		assert(u >= 1 && u <= 1000);
	if (parse_bool(s, &b, &why) < 0)
		assert(why);
	if (parse_unix_path(s, &sun, &len, &why) == 0)
		assert(len <= sizeof(sun));
	why = NULL;
	if (parse_escapes(s, &buf, &n, &why) == 0) {
		assert(n <= strlen(s));
		free(buf);
	} else {
		assert(why);
	}
	check_cidr(s);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char *s = malloc(size + 1), *t;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	/* A NUL in the input splits it into the two address operands. */
	t = s + strlen(s);
	t = t < s + size ? t + 1 : t;
	check_strings(s, t);
	free(s);
	return 0;
}
