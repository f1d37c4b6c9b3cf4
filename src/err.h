/*
 * err.h - the one error currency below the command layer.
 *
 * Every function below main.c and cmd_*.c returns 0 (or a count) on success
 * and a negative errno on failure.  getaddrinfo()/getnameinfo() errors are
 * folded into the same int by moving them into a reserved negative range far
 * below any errno, so a single value travels up to the command, which turns
 * it into text with net_strerror() and into an exit status with
 * net_exit_status().
 */
#ifndef SOCKCTL_ERR_H
#define SOCKCTL_ERR_H

#include <stdbool.h>

#define ERR_EAI_BASE 20000

/* EAI_* codes are small negative numbers; -20000 + eai keeps them apart. */
static inline int err_from_eai(int eai)
{
	return -ERR_EAI_BASE + eai;
}

static inline bool err_is_eai(int err)
{
	return err <= -ERR_EAI_BASE && err > -ERR_EAI_BASE - 1000;
}

static inline int err_to_eai(int err)
{
	return err + ERR_EAI_BASE;
}

/*
 * connect() to a Unix socket path that does not exist.  It reads as ENOENT
 * but means "nothing listens there" (exit 4), while ENOENT anywhere else -
 * a file of our own, an unknown TCP_CONGESTION - is an ordinary failure.
 */
#define ERR_NO_LISTENER_PATH (-ERR_EAI_BASE + 1000)

/* Exit statuses of SPEC section 1. */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
	EXIT_NORESOLVE = 3,
	EXIT_REFUSED = 4,
	EXIT_TIMEOUT = 5,
};

#endif
