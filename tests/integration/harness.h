/*
 * harness.h - run the built sockctl (and real peers) as child processes,
 * talk to them through pipes or a pseudo-terminal, and wait for what they
 * print with a deadline.  Nothing here sleeps to synchronise: every wait is
 * a poll() on the child's output until a string shows up or time runs out.
 * Children die with the test (PR_SET_PDEATHSIG) and are killed by
 * proc_free().
 */
#ifndef SOCKCTL_HARNESS_H
#define SOCKCTL_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum {
	PROC_STDIN_NULL = 0, /* stdin from /dev/null */
	PROC_STDIN_PIPE = 1, /* stdin a pipe: proc_write/proc_close_stdin */
	PROC_PTY = 2, /* stdin/stdout/stderr a pseudo-terminal */
	PROC_STDOUT_NULL = 4, /* stdout to /dev/null (bulk tests) */
};

struct proc {
	pid_t pid;
	int in; /* -1 once closed */
	int out; /* stdout (the pty master with PROC_PTY) */
	int err; /* stderr (-1 with PROC_PTY) */
	char *obuf, *ebuf;
	size_t olen, elen, ocap, ecap;
	bool exited;
	int status; /* exit status, or 128 + signal */
};

/* Start argv (NULL-terminated). */
struct proc *proc_start(const char *const argv[], int flags);
/* Start $SOCKCTL with the arguments that follow, NULL-terminated. */
struct proc *sockctl_start(int flags, ...);

/* Read what is available from stdout/stderr, waiting up to timeout_ms. */
void proc_pump(struct proc *p, int timeout_ms);
/* Wait until needle appears in stdout / stderr (anywhere from offset 0). */
bool proc_wait_out(struct proc *p, const char *needle, int timeout_ms);
bool proc_wait_err(struct proc *p, const char *needle, int timeout_ms);
/* Wait until stdout holds at least n bytes. */
bool proc_wait_out_len(struct proc *p, size_t n, int timeout_ms);
/* The port of the `listening on ADDR:PORT (...)` line on stderr, or -1. */
int proc_listen_port(struct proc *p, int timeout_ms);
/* The port a Python peer printed as `PORT n` on stdout, or -1. */
int proc_stdout_port(struct proc *p, int timeout_ms);

void proc_write(struct proc *p, const void *data, size_t len);
void proc_puts(struct proc *p, const char *s);
void proc_close_stdin(struct proc *p);
void proc_signal(struct proc *p, int sig);
/* Wait for exit; returns the status, or -1 after killing it on timeout. */
int proc_wait_exit(struct proc *p, int timeout_ms);
void proc_free(struct proc *p);

/* Run to completion with stdin_data (NULL: /dev/null); returns status. */
struct run {
	int status;
	char *out, *err;
	size_t olen, elen;
};
int run_argv(struct run *r, const char *stdin_data, int timeout_ms,
	     const char *const argv[]);
int run_sockctl(struct run *r, const char *stdin_data, int timeout_ms, ...);
void run_free(struct run *r);

/* Path of the binary under test, and of a file under the source tree. */
const char *sockctl_path(void);
char *source_path(const char *rel);
/* A whole file, NUL-terminated; aborts the test if missing. */
char *read_file(const char *path, size_t *ret_len);
/* Count the lines of s. */
size_t count_lines(const char *s);

/* Python peers: `python3 -c SCRIPT args...`, NULL-terminated. */
struct proc *python_start(int flags, const char *script, ...);

/* ---- added for the serve tests ---- */

/* Resident memory of a process in KiB (VmRSS), or -1. */
long proc_rss_kb(pid_t pid);
/* CPU time a process has used so far, in clock ticks, or -1. */
long proc_cpu_ticks(pid_t pid);
/* How often needle occurs in s (NULL counts as empty). */
size_t count_substr(const char *s, const char *needle);
/* Wait until stderr holds needle at least n times. */
bool proc_wait_err_count(struct proc *p, const char *needle, size_t n,
			 int timeout_ms);
/* Has the process exited?  Reaps it without waiting. */
bool proc_exited(struct proc *p);
/* A fresh private directory under /tmp (caller frees; rmdir is theirs). */
char *temp_dir(void);
/*
 * The port at the end of the line where marker appears on stderr (stdout
 * on a pty) - for peers that say it their own way: socat's
 * `listening on AF=2 127.0.0.1:PORT`, nc's `Listening on HOST PORT`.
 * Waits for the whole line; -1 on timeout.
 */
int proc_port_after(struct proc *p, const char *marker, int timeout_ms);
/* Seconds on the monotonic clock, for lower bounds on pacing. */
double harness_now(void);

/* ---- added for the reliability tests ---- */

/*
 * For a child that prints megabytes: wait until a whole stdout line holds
 * needle.  Lines before it are dropped from p->obuf as they are read (each
 * byte is looked at once, so waiting costs no more than the output), and
 * counted in *dropped when it is not NULL.  Returns the line that matched,
 * without its newline (caller frees; it is dropped too), or NULL when time
 * ran out.
 */
char *proc_wait_out_line(struct proc *p, const char *needle, size_t *dropped,
			 int timeout_ms);

#endif
