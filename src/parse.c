/*
 * parse.c - pure parsers for what users type.  No I/O except the services
 * database lookup for named ports.
 */
#include "parse.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"

static int fail(const char **why, const char *msg, int err)
{
	if (why)
		*why = msg;
	return err;
}

int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret,
	       const char **why)
{
	const char *p = s;
	uint64_t v = 0;

	if (!s || !*s)
		return fail(why, "empty number", -EINVAL);
	for (; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return fail(why, "not a number", -EINVAL);
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return fail(why, "too large", -ERANGE);
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v < min)
		return fail(why, "too small", -ERANGE);
	if (v > max)
		return fail(why, "too large", -ERANGE);
	*ret = v;
	return 0;
}

int parse_bool(const char *s, bool *ret, const char **why)
{
	static const char *const yes[] = {"1", "on", "yes", "true"};
	static const char *const no[] = {"0", "off", "no", "false"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(s, yes[i])) {
			*ret = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*ret = false;
			return 0;
		}
	}
	return fail(why, "expected on/off, yes/no, true/false or 1/0", -EINVAL);
}

int parse_port(const char *s, const char *proto, uint16_t *ret,
	       const char **why)
{
	struct servent *se;
	uint64_t v;
	int r;

	if (!s || !*s)
		return fail(why, "empty port", -EINVAL);
	if (isdigit((unsigned char)s[0])) {
		r = parse_uint(s, 0, 65535, &v, why);
		if (r == -ERANGE)
			return fail(why, "must be between 0 and 65535", r);
		if (r < 0)
			return fail(why, "not a port number", r);
		*ret = (uint16_t)v;
		return 0;
	}
	if (s[0] == '-')
		return fail(why, "must be between 0 and 65535", -ERANGE);
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-_.+/", *p))
			return fail(why, "not a port number or service name",
				    -EINVAL);
	se = getservbyname(s, proto ? proto : "tcp");
	if (!se && !proto)
		se = getservbyname(s, "udp");
	endservent();
	if (!se)
		return fail(why, "unknown service", err_from_eai(EAI_SERVICE));
	*ret = ntohs((uint16_t)se->s_port);
	return 0;
}

int parse_duration(const char *s, double *ret_secs, const char **why)
{
	const char *p = s;
	bool digits = false, dot = false;
	double v;

	if (!s || !*s)
		return fail(why, "empty duration", -EINVAL);
	if (*p == '-')
		return fail(why, "must not be negative", -ERANGE);
	/* Only plain decimals: strtod would also take "inf", "1e9", "0x10". */
	for (; *p; p++) {
		if (isdigit((unsigned char)*p))
			digits = true;
		else if (*p == '.' && !dot)
			dot = true;
		else
			return fail(why, "expected seconds, e.g. 5 or 0.25",
				    -EINVAL);
	}
	if (!digits)
		return fail(why, "expected seconds, e.g. 5 or 0.25", -EINVAL);
	v = strtod(s, NULL);
	if (!isfinite(v) || v > 1e9)
		return fail(why, "too large", -ERANGE);
	*ret_secs = v;
	return 0;
}

int parse_duration_ms(const char *s, int64_t *ret_ms, const char **why)
{
	const char *p = s;
	int64_t ms = 0, scale = 100;
	bool rest = false;
	double secs;
	int r = parse_duration(s, &secs, why);

	if (r < 0)
		return r;
	/*
	 * Decimal arithmetic on the text parse_duration() checked: 2.007 has
	 * no exact binary form, and ceil(2.007 * 1000) is 2008.
	 */
	for (; *p && *p != '.'; p++)
		ms = ms * 10 + (*p - '0');
	ms *= 1000;
	for (p += *p == '.'; *p; p++) {
		if (scale) {
			ms += (*p - '0') * scale;
			scale /= 10;
		} else if (*p != '0') {
			rest = true;
		}
	}
	/* Round up, so that 0.0001 is not 0 (which often means "never"). */
	*ret_ms = ms + rest;
	return 0;
}

int parse_size(const char *s, uint64_t *ret, const char **why)
{
	char num[32];
	size_t n;
	uint64_t v, mult = 1;
	int r;

	if (!s || !*s)
		return fail(why, "empty size", -EINVAL);
	n = strlen(s);
	switch (tolower((unsigned char)s[n - 1])) {
	case 'k':
		mult = 1024;
		break;
	case 'm':
		mult = 1024 * 1024;
		break;
	case 'g':
		mult = 1024ULL * 1024 * 1024;
		break;
	}
	if (mult != 1)
		n--;
	if (n >= sizeof(num) && strspn(s, "0123456789") >= n)
		return fail(why, "too large", -ERANGE);
	if (n == 0 || n >= sizeof(num))
		return fail(why, "expected a size, e.g. 512, 64k or 1m",
			    -EINVAL);
	memcpy(num, s, n);
	num[n] = '\0';
	r = parse_uint(num, 0, UINT64_MAX / mult, &v, why);
	if (r == -EINVAL)
		return fail(why, "expected a size, e.g. 512, 64k or 1m", r);
	if (r < 0)
		return r;
	*ret = v * mult;
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int parse_escapes(const char *s, char **ret_buf, size_t *ret_len,
		  const char **why)
{
	size_t n = strlen(s), len = 0;
	char *out = malloc(n + 1);
	int hi, lo;

	if (!out)
		return fail(why, "out of memory", -ENOMEM);
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\\') {
			out[len++] = s[i];
			continue;
		}
		switch (s[++i]) {
		case 'n':
			out[len++] = '\n';
			break;
		case 'r':
			out[len++] = '\r';
			break;
		case 't':
			out[len++] = '\t';
			break;
		case '0':
			out[len++] = '\0';
			break;
		case '\\':
			out[len++] = '\\';
			break;
		case 'x':
			hi = i + 1 < n ? hexval((unsigned char)s[i + 1]) : -1;
			lo = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
			if (hi < 0 || lo < 0) {
				free(out);
				return fail(why, "\\x needs two hex digits",
					    -EINVAL);
			}
			out[len++] = (char)(hi << 4 | lo);
			i += 2;
			break;
		case '\0':
			free(out);
			return fail(why, "trailing backslash", -EINVAL);
		default:
			free(out);
			return fail(why,
				    "unknown escape (use \\n \\r \\t \\0 "
				    "\\\\ or \\xHH)",
				    -EINVAL);
		}
	}
	out[len] = '\0';
	*ret_buf = out;
	*ret_len = len;
	return 0;
}

static int copy_part(char *dst, size_t size, const char *src, size_t n)
{
	if (n >= size)
		return -ENAMETOOLONG;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

int parse_hostport(const char *s, char host[PARSE_HOST_MAX],
		   char port[PARSE_PORT_MAX], const char **why)
{
	const char *colon, *hstart = s;
	size_t hlen;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close)
			return fail(why, "missing ']' after IPv6 address",
				    -EINVAL);
		if (close[1] != ':')
			return fail(why, "expected [IPV6]:PORT", -EINVAL);
		hstart = s + 1;
		hlen = (size_t)(close - hstart);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return fail(why, "expected HOST:PORT", -EINVAL);
		if (memchr(s, ':', (size_t)(colon - s)))
			return fail(why,
				    "an IPv6 address needs brackets: "
				    "[ADDR]:PORT",
				    -EINVAL);
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0)
		return fail(why, "empty host", -EINVAL);
	if (colon[1] == '\0')
		return fail(why, "empty port", -EINVAL);
	if (copy_part(host, PARSE_HOST_MAX, hstart, hlen) < 0)
		return fail(why, "host name too long", -ENAMETOOLONG);
	if (copy_part(port, PARSE_PORT_MAX, colon + 1, strlen(colon + 1)) < 0)
		return fail(why, "port too long", -ENAMETOOLONG);
	return 0;
}

int parse_address_args(int argc, char *const argv[], char host[PARSE_HOST_MAX],
		       char port[PARSE_PORT_MAX], const char **why)
{
	const char *h;
	size_t hlen;
	int r;

	if (argc < 1)
		return fail(why, "missing address", -EINVAL);
	if (argc == 1) {
		r = parse_hostport(argv[0], host, port, why);
		return r < 0 ? r : 1;
	}
	h = argv[0];
	hlen = strlen(h);
	if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	if (hlen == 0)
		return fail(why, "empty host", -EINVAL);
	if (argv[1][0] == '\0')
		return fail(why, "empty port", -EINVAL);
	if (copy_part(host, PARSE_HOST_MAX, h, hlen) < 0)
		return fail(why, "host name too long", -ENAMETOOLONG);
	if (copy_part(port, PARSE_PORT_MAX, argv[1], strlen(argv[1])) < 0)
		return fail(why, "port too long", -ENAMETOOLONG);
	return 2;
}

int parse_unix_path(const char *s, struct sockaddr_un *ret, socklen_t *ret_len,
		    const char **why)
{
	size_t n = strlen(s);

	memset(ret, 0, sizeof(*ret));
	ret->sun_family = AF_UNIX;
	if (n == 0)
		return fail(why, "empty path", -EINVAL);
	if (s[0] == '@') {
		/* "@" alone would bind a name of zero bytes, not autobind. */
		if (n == 1)
			return fail(why, "empty abstract name", -EINVAL);
		if (n - 1 > sizeof(ret->sun_path) - 1)
			return fail(why, "abstract name too long",
				    -ENAMETOOLONG);
		/* Abstract names start with a NUL and are not terminated. */
		memcpy(ret->sun_path + 1, s + 1, n - 1);
		*ret_len =
			(socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
		return 0;
	}
	if (n >= sizeof(ret->sun_path))
		return fail(why, "path too long (at most 107 bytes)",
			    -ENAMETOOLONG);
	memcpy(ret->sun_path, s, n);
	*ret_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 0;
}

int parse_cidr(const char *s, struct cidr *ret, const char **why)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned maxbits;
	uint64_t prefix;

	memset(ret, 0, sizeof(*ret));
	if (alen == 0)
		return fail(why, "empty address", -EINVAL);
	if (alen >= sizeof(addr))
		return fail(why, "not an IP address", -EINVAL);
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, ret->addr) == 1) {
		ret->family = AF_INET;
		maxbits = 32;
	} else if (inet_pton(AF_INET6, addr, ret->addr) == 1) {
		ret->family = AF_INET6;
		maxbits = 128;
	} else {
		return fail(why, "not an IP address", -EINVAL);
	}
	prefix = maxbits;
	if (slash && parse_uint(slash + 1, 0, maxbits, &prefix, NULL) < 0)
		return fail(why,
			    maxbits == 32 ? "prefix must be between 0 and 32"
					  : "prefix must be between 0 and 128",
			    -ERANGE);
	ret->prefix = (unsigned)prefix;
	for (unsigned bit = ret->prefix; bit < maxbits; bit++)
		ret->addr[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
	return 0;
}

static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, full))
		return false;
	if (!rest)
		return true;
	return ((a[full] ^ b[full]) & (uint8_t)(0xff00u >> rest)) == 0;
}

bool cidr_match(const struct cidr *c, const struct sockaddr *sa)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0,    0,
					   0, 0, 0, 0, 0xff, 0xff};
	const uint8_t *a;

	if (sa->sa_family == AF_INET) {
		a = (const uint8_t *)&((const struct sockaddr_in *)sa)
			    ->sin_addr;
		return c->family == AF_INET &&
		       prefix_equal(a, c->addr, c->prefix);
	}
	if (sa->sa_family != AF_INET6)
		return false;
	a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
	if (c->family == AF_INET6)
		return prefix_equal(a, c->addr, c->prefix);
	return !memcmp(a, mapped, 12) &&
	       prefix_equal(a + 12, c->addr, c->prefix);
}

static int port_list_item(const char *item, uint16_t *lo, uint16_t *hi,
			  const char **why)
{
	char a[PARSE_PORT_MAX];
	const char *dash = strchr(item, '-');
	size_t n = dash ? (size_t)(dash - item) : strlen(item);
	int r;

	/* A leading digit means a number or a range; names may hold '-'. */
	if (!dash || !isdigit((unsigned char)item[0])) {
		r = parse_port(item, "tcp", lo, why);
		if (r == 0)
			*hi = *lo;
		return r;
	}
	if (n >= sizeof(a))
		return fail(why, "not a port number", -EINVAL);
	memcpy(a, item, n);
	a[n] = '\0';
	if ((r = parse_port(a, "tcp", lo, why)) < 0 ||
	    (r = parse_port(dash + 1, "tcp", hi, why)) < 0)
		return r;
	if (*hi < *lo)
		return fail(why, "a range must go upwards", -EINVAL);
	return 0;
}

int parse_port_list(const char *s, uint16_t **ret, size_t *ret_n,
		    const char **why)
{
	char *copy, *save = NULL, *item;
	uint16_t *v = NULL;
	size_t n = 0;
	int r = 0;

	if (!s || !*s)
		return fail(why, "empty port list", -EINVAL);
	copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	for (item = strtok_r(copy, ",", &save); item && r == 0;
	     item = strtok_r(NULL, ",", &save)) {
		uint16_t lo, hi;

		if ((r = port_list_item(item, &lo, &hi, why)) < 0)
			break;
		if (n + (size_t)(hi - lo) + 1 > 65536) {
			r = fail(why, "more than 65536 ports", -E2BIG);
			break;
		}
		v = realloc(v, (n + (size_t)(hi - lo) + 1) * sizeof(*v));
		if (!v)
			abort();
		for (uint32_t p = lo; p <= hi; p++)
			v[n++] = (uint16_t)p;
	}
	/* strtok_r skips empty items; an empty list or ",," is an error. */
	if (r == 0 && (n == 0 || strstr(s, ",,") || s[0] == ',' ||
		       s[strlen(s) - 1] == ','))
		r = fail(why, "empty item in the port list", -EINVAL);
	free(copy);
	if (r < 0) {
		free(v);
		return r;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}
