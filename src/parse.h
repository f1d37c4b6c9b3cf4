/*
 * parse.h - pure parsers for what users type: ports, addresses, durations,
 * sizes, escapes, CIDRs, booleans.
 *
 * Each returns 0 on success or a negative errno, and on failure points
 * *why at a static string saying which part was wrong ("must be between 0
 * and 65535").  None of them prints.  A port given as a service name that
 * is not known fails with err_from_eai(EAI_SERVICE), so that it maps to the
 * "did not resolve" exit status.
 */
#ifndef SOCKCTL_PARSE_H
#define SOCKCTL_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#define PARSE_HOST_MAX 256
#define PARSE_PORT_MAX 64

int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret,
	       const char **why);
int parse_bool(const char *s, bool *ret, const char **why);

/* A port number 0-65535 or a service name known for proto ("tcp"/"udp"). */
int parse_port(const char *s, const char *proto, uint16_t *ret,
	       const char **why);

/* Non-negative seconds with an optional fraction: "5", "0.25". */
int parse_duration(const char *s, double *ret_secs, const char **why);
/* Same, as milliseconds (rounded up, so 0.0001 is not 0). */
int parse_duration_ms(const char *s, int64_t *ret_ms, const char **why);

/* Bytes with an optional k, m or g suffix (powers of 1024). */
int parse_size(const char *s, uint64_t *ret, const char **why);

/*
 * Interpret \n \r \t \0 \\ \xHH.  *ret_buf is malloc'ed (NUL-terminated
 * for convenience, though the data may contain NULs); *ret_len is its
 * length.  Any other backslash sequence is an error.
 */
int parse_escapes(const char *s, char **ret_buf, size_t *ret_len,
		  const char **why);

/*
 * Split "HOST:PORT" or "[IPV6]:PORT" into host and port text.  The port is
 * not checked here (see parse_port); an empty host or port is an error.
 */
int parse_hostport(const char *s, char host[PARSE_HOST_MAX],
		   char port[PARSE_PORT_MAX], const char **why);

/*
 * The address operands of a command: either two ("HOST" "PORT") or one
 * ("HOST:PORT", "[V6]:PORT").  Consumes 1 or 2 of argv; returns how many,
 * or a negative errno.  Brackets around a lone IPv6 host are removed.
 */
int parse_address_args(int argc, char *const argv[], char host[PARSE_HOST_MAX],
		       char port[PARSE_PORT_MAX], const char **why);

/* A Unix socket path; a leading '@' names the abstract namespace. */
int parse_unix_path(const char *s, struct sockaddr_un *ret, socklen_t *ret_len,
		    const char **why);

struct cidr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network order, host bits cleared */
	unsigned prefix; /* 0-32 or 0-128 */
};

/* "10.0.0.0/8", "::1/128", a bare address (a host route). */
int parse_cidr(const char *s, struct cidr *ret, const char **why);
/* An IPv4 CIDR also matches the IPv4-mapped IPv6 form of its addresses. */
bool cidr_match(const struct cidr *c, const struct sockaddr *sa);

/*
 * A list of ports and ranges, "22,80,8000-8010" (services by name too),
 * as malloc'ed numbers in the order given.  At most 65536 entries.
 */
int parse_port_list(const char *s, uint16_t **ret, size_t *ret_n,
		    const char **why);

#endif
