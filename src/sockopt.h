/*
 * sockopt.h - the one table of socket options that serves `sockctl opts`
 * and every `-o NAME=VALUE`.
 *
 * Names are case-insensitive ('-' may stand for '_') and may drop their
 * SO_/TCP_/UDP_/IP_/IPV6_ prefix when that leaves one candidate for the
 * socket kind.  Functions return 0 or a negative errno and never print;
 * parse failures also fill a message buffer saying what was expected or
 * which names are close.
 *
 * IP_* options apply to IPv6 sockets too (Linux accepts them there; they
 * govern the IPv4-mapped traffic of a dual-stack socket); IPV6_* options
 * apply to IPv6 sockets only.
 */
#ifndef SOCKCTL_SOCKOPT_H
#define SOCKCTL_SOCKOPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Socket kinds, as `opts get --tcp|--udp|...` names them; a bit each. */
enum sockopt_kind {
	SOCKOPT_TCP = 1 << 0,
	SOCKOPT_UDP = 1 << 1,
	SOCKOPT_TCP6 = 1 << 2,
	SOCKOPT_UDP6 = 1 << 3,
	SOCKOPT_UNIX = 1 << 4,
	SOCKOPT_UNIX_DGRAM = 1 << 5,
};

#define SOCKOPT_KINDS_TCP (SOCKOPT_TCP | SOCKOPT_TCP6)
#define SOCKOPT_KINDS_UDP (SOCKOPT_UDP | SOCKOPT_UDP6)
#define SOCKOPT_KINDS_INET (SOCKOPT_KINDS_TCP | SOCKOPT_KINDS_UDP)
#define SOCKOPT_KINDS_UNIX (SOCKOPT_UNIX | SOCKOPT_UNIX_DGRAM)
#define SOCKOPT_KINDS_ALL (SOCKOPT_KINDS_INET | SOCKOPT_KINDS_UNIX)

enum sockopt_type {
	SOCKOPT_BOOL,
	SOCKOPT_INT,
	SOCKOPT_BYTES, /* an int counting bytes (buffer sizes) */
	SOCKOPT_SECONDS, /* struct timeval, or an int of seconds */
	SOCKOPT_LINGER, /* struct linger: on:SECS / off */
	SOCKOPT_STRING, /* TCP_CONGESTION, SO_BINDTODEVICE */
	SOCKOPT_READONLY, /* SO_TYPE, SO_ERROR, ... (get only) */
};

/* How a SOCKOPT_SECONDS value is stored (struct sockopt.flags). */
enum {
	SOCKOPT_F_TIMEVAL = 1 << 0, /* struct timeval */
	SOCKOPT_F_MSEC = 1 << 1, /* an int of milliseconds */
	/* neither: an int of whole seconds */
};

struct sockopt {
	const char *name; /* "SO_REUSEADDR" */
	int level; /* SOL_SOCKET, IPPROTO_TCP, ... */
	int optname;
	enum sockopt_type type;
	unsigned kinds; /* SOCKOPT_* kinds it applies to */
	const char *description;
	unsigned flags; /* SOCKOPT_F_* */
};

#define SOCKOPT_ERRLEN 256

/* A parsed NAME=VALUE, ready to apply. */
struct sockopt_setting {
	const struct sockopt *opt;
	char text[128]; /* the value as given */
	union {
		int i;
		double secs;
		struct {
			int on;
			int secs;
		} linger;
		char str[64];
	} v;
};

struct sockopt_list {
	struct sockopt_setting *v;
	size_t n;
	const struct sockopt_setting *failed; /* set by a failed apply */
};

extern const struct sockopt sockopt_table[];
extern const size_t sockopt_count;

/* The level word of `opts list`: socket, ip, ipv6, tcp, udp. */
const char *sockopt_level_name(int level);
/* "bool", "int", "bytes", "seconds", "linger", "string", "read-only". */
const char *sockopt_type_name(enum sockopt_type type);

/*
 * Find an option by name for the given kinds (0: any kind).  -ENOENT
 * (unknown; err lists close names) or -EINVAL (ambiguous; err lists the
 * candidates).
 */
int sockopt_find(const char *name, unsigned kinds, const struct sockopt **ret,
		 char err[SOCKOPT_ERRLEN]);
/* Parse "NAME=VALUE" for the kinds; err says what was wrong. */
int sockopt_parse(const char *arg, unsigned kinds, struct sockopt_setting *ret,
		  char err[SOCKOPT_ERRLEN]);
/* setsockopt() the setting on fd. */
int sockopt_set(int fd, const struct sockopt_setting *s);
/* getsockopt() and format the value as `opts get` prints it. */
int sockopt_get_text(int fd, const struct sockopt *o, char *buf, size_t size);

/* "tcp", "udp", "tcp6", "udp6", "unix", "unix-dgram" for one kind bit. */
const char *sockopt_kind_name(unsigned kind);
/* The level of a `--level` word; -EINVAL if it is none of them. */
int sockopt_level_parse(const char *word, int *ret_level);
/* A fresh socket of one kind (SOCK_CLOEXEC, blocking). */
int sockopt_kind_socket(unsigned kind, int *ret_fd);

/*
 * getsockopt() into ret->v (ret->opt = o, ret->text = the value as `opts
 * get` prints it).  The kernel's error is returned as is.
 */
int sockopt_get(int fd, const struct sockopt *o, struct sockopt_setting *ret);
/*
 * The value of s->v as text (`0`, `on:5`, `off`, `1.500`, `cubic`) or as
 * JSON (numbers as numbers, strings quoted, linger as
 * {"on":true,"seconds":5}).
 */
void sockopt_format(const struct sockopt_setting *s, bool json, char *buf,
		    size_t size);

/*
 * The -o rule for socket families: a setting is skipped on a socket of
 * one IP family when the option applies only to the other (IPV6_* on an
 * AF_INET socket; SO_BROADCAST, an IPv4 idea, on an AF_INET6 socket).  A
 * command that tries every address of a name, or listens on both
 * families, cannot know in advance which family it gets, and the option
 * means nothing on the other.  Nothing else is skipped: any other
 * mismatch is refused by the kernel and reported.
 */
bool sockopt_skips(const struct sockopt *o, int family);

/* Collect -o options; apply them all to a socket. */
int sockopt_list_add(struct sockopt_list *l, const char *arg, unsigned kinds,
		     char err[SOCKOPT_ERRLEN]);
/*
 * A net_prepare_fn: applies every setting of the list (arg) that fits the
 * socket's family (see sockopt_skips) to fd, in the order given.  On
 * failure returns -errno; the caller names the failing option with
 * sockopt_list_failed().
 */
int sockopt_list_apply(int fd, int family, void *list);
const char *sockopt_list_failed(const struct sockopt_list *l);
void sockopt_list_free(struct sockopt_list *l);

#endif
