/*
 * harness.c - child processes, pipes, ptys and deadlines for the
 * integration tests (see harness.h).
 */
#define _GNU_SOURCE
#include "harness.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS 64

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *sockctl_path(void)
{
	const char *p = getenv("SOCKCTL");

	if (!p)
		cr_assert_fail(
			"SOCKCTL is not set (run the tests through meson)");
	return p;
}

char *source_path(const char *rel)
{
	const char *root = getenv("SOURCE_ROOT");
	char *p;

	if (!root)
		cr_assert_fail(
			"SOURCE_ROOT is not set (run the tests through meson)");
	if (asprintf(&p, "%s/%s", root, rel) < 0)
		abort();
	return p;
}

char *read_file(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		cr_assert_fail("cannot open %s: %s", path, strerror(errno));
	do {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap + 1);
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	buf[len] = '\0';
	if (ret_len)
		*ret_len = len;
	return buf;
}

size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void child_setup(int flags, int in, int out, int err)
{
	int devnull = open("/dev/null", O_RDWR);

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGPIPE, SIG_DFL);
	if (!(flags & PROC_PTY)) {
		dup2(in >= 0 ? in : devnull, 0);
		dup2((flags & PROC_STDOUT_NULL) ? devnull : out, 1);
		dup2(err, 2);
	}
	/* Leave the child nothing but 0, 1 and 2. */
	closefrom(3);
}

struct proc *proc_start(const char *const argv[], int flags)
{
	struct proc *p = calloc(1, sizeof(*p));

	/* A child that exits before reading its stdin must not kill the
	 * test with SIGPIPE; proc_write sees EPIPE instead. */
	signal(SIGPIPE, SIG_IGN);
	int in[2] = {-1, -1}, out[2], err[2];

	p->in = p->err = -1;
	if (flags & PROC_PTY) {
		struct winsize ws = {.ws_row = 24, .ws_col = 80};
		int master;

		p->pid = forkpty(&master, NULL, NULL, &ws);
		if (p->pid < 0)
			cr_assert_fail("forkpty: %s", strerror(errno));
		if (p->pid == 0) {
			child_setup(flags, -1, -1, -1);
			execvp(argv[0], (char *const *)argv);
			_exit(127);
		}
		fcntl(master, F_SETFD, FD_CLOEXEC);
		fcntl(master, F_SETFL, O_NONBLOCK);
		p->in = dup(master);
		p->out = master;
		return p;
	}
	if ((flags & PROC_STDIN_PIPE) && pipe2(in, O_CLOEXEC) < 0)
		cr_assert_fail("pipe: %s", strerror(errno));
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
		cr_assert_fail("pipe: %s", strerror(errno));
	p->pid = fork();
	if (p->pid < 0)
		cr_assert_fail("fork: %s", strerror(errno));
	if (p->pid == 0) {
		child_setup(flags, in[0], out[1], err[1]);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (in[0] >= 0) {
		close(in[0]);
		p->in = in[1];
	}
	close(out[1]);
	close(err[1]);
	p->out = out[0];
	p->err = err[0];
	fcntl(p->out, F_SETFL, O_NONBLOCK);
	fcntl(p->err, F_SETFL, O_NONBLOCK);
	return p;
}

static struct proc *start_va(int flags, const char *first, const char *second,
			     va_list ap)
{
	const char *argv[MAX_ARGS];
	int n = 0;
	const char *a;

	argv[n++] = first;
	if (second)
		argv[n++] = second;
	while ((a = va_arg(ap, const char *)) && n < MAX_ARGS - 1)
		argv[n++] = a;
	argv[n] = NULL;
	return proc_start(argv, flags);
}

struct proc *sockctl_start(int flags, ...)
{
	struct proc *p;
	va_list ap;

	va_start(ap, flags);
	p = start_va(flags, sockctl_path(), NULL, ap);
	va_end(ap);
	return p;
}

struct proc *python_start(int flags, const char *script, ...)
{
	const char *argv[MAX_ARGS];
	const char *a;
	va_list ap;
	int n = 0;

	argv[n++] = "python3";
	argv[n++] = "-u";
	argv[n++] = "-c";
	argv[n++] = script;
	va_start(ap, script);
	while ((a = va_arg(ap, const char *)) && n < MAX_ARGS - 1)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	return proc_start(argv, flags);
}

static void append(char **buf, size_t *len, size_t *cap, const char *d,
		   size_t n)
{
	if (*len + n + 1 > *cap) {
		while (*len + n + 1 > *cap)
			*cap = *cap ? *cap * 2 : 4096;
		*buf = realloc(*buf, *cap);
	}
	memcpy(*buf + *len, d, n);
	*len += n;
	(*buf)[*len] = '\0';
}

/* Drain fd into the buffer; returns false at EOF or error. */
static bool drain(int *fd, char **buf, size_t *len, size_t *cap)
{
	char tmp[65536];

	for (;;) {
		ssize_t n = read(*fd, tmp, sizeof(tmp));

		if (n > 0) {
			append(buf, len, cap, tmp, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return true;
		close(*fd);
		*fd = -1;
		return false;
	}
}

void proc_pump(struct proc *p, int timeout_ms)
{
	struct pollfd pf[2];
	int n = 0;

	if (p->out >= 0)
		pf[n++] = (struct pollfd){.fd = p->out, .events = POLLIN};
	if (p->err >= 0)
		pf[n++] = (struct pollfd){.fd = p->err, .events = POLLIN};
	if (n == 0) {
		if (timeout_ms > 0)
			poll(NULL, 0, timeout_ms > 50 ? 50 : timeout_ms);
		return;
	}
	if (poll(pf, (nfds_t)n, timeout_ms) <= 0)
		return;
	if (p->out >= 0)
		drain(&p->out, &p->obuf, &p->olen, &p->ocap);
	if (p->err >= 0)
		drain(&p->err, &p->ebuf, &p->elen, &p->ecap);
}

static bool wait_for(struct proc *p, bool (*done)(struct proc *, const void *),
		     const void *arg, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;

	for (;;) {
		long long left;

		if (done(p, arg))
			return true;
		left = deadline - now_ms();
		if (left <= 0)
			return false;
		if (p->out < 0 && p->err < 0)
			return done(p, arg);
		proc_pump(p, (int)(left > 100 ? 100 : left));
	}
}

static bool out_has(struct proc *p, const void *needle)
{
	return p->obuf && strstr(p->obuf, needle);
}

static bool err_has(struct proc *p, const void *needle)
{
	return p->ebuf && strstr(p->ebuf, needle);
}

static bool out_len_at_least(struct proc *p, const void *n)
{
	return p->olen >= *(const size_t *)n;
}

bool proc_wait_out(struct proc *p, const char *needle, int timeout_ms)
{
	return wait_for(p, out_has, needle, timeout_ms);
}

bool proc_wait_err(struct proc *p, const char *needle, int timeout_ms)
{
	/* On a pty stdout and stderr are one stream. */
	if (p->err < 0 && !p->ebuf)
		return wait_for(p, out_has, needle, timeout_ms);
	return wait_for(p, err_has, needle, timeout_ms);
}

bool proc_wait_out_len(struct proc *p, size_t n, int timeout_ms)
{
	return wait_for(p, out_len_at_least, &n, timeout_ms);
}

static int port_after(const char *buf, const char *marker)
{
	const char *s = buf ? strstr(buf, marker) : NULL;
	const char *end, *colon;

	if (!s)
		return -1;
	s += strlen(marker);
	end = strpbrk(s, " \n");
	if (!end)
		return -1;
	for (colon = end; colon > s && *colon != ':'; colon--)
		;
	if (*colon != ':')
		return -1;
	return atoi(colon + 1);
}

int proc_listen_port(struct proc *p, int timeout_ms)
{
	const char *marker = "listening on ";

	if (!proc_wait_err(p, ")\n", timeout_ms) &&
	    !proc_wait_err(p, marker, 0))
		return -1;
	return port_after(p->err < 0 && !p->ebuf ? p->obuf : p->ebuf, marker);
}

int proc_stdout_port(struct proc *p, int timeout_ms)
{
	const char *s;

	if (!proc_wait_out(p, "PORT ", timeout_ms) ||
	    !proc_wait_out(p, "\n", timeout_ms))
		return -1;
	s = strstr(p->obuf, "PORT ");
	return atoi(s + 5);
}

void proc_write(struct proc *p, const void *data, size_t len)
{
	const char *d = data;

	while (len > 0 && p->in >= 0) {
		ssize_t n = write(p->in, d, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			proc_pump(p, 10);
			continue;
		}
		if (n < 0 && errno == EPIPE) {
			/* The child exited without reading it all: what it
			 * did is for the test to judge. */
			proc_close_stdin(p);
			return;
		}
		if (n < 0)
			cr_assert_fail("write to child: %s", strerror(errno));
		d += n;
		len -= (size_t)n;
	}
}

void proc_puts(struct proc *p, const char *s)
{
	proc_write(p, s, strlen(s));
}

void proc_close_stdin(struct proc *p)
{
	if (p->in >= 0)
		close(p->in);
	p->in = -1;
}

void proc_signal(struct proc *p, int sig)
{
	if (!p->exited)
		kill(p->pid, sig);
}

static bool reap(struct proc *p, int flags)
{
	int st;
	pid_t r;

	if (p->exited)
		return true;
	r = waitpid(p->pid, &st, flags);
	if (r != p->pid)
		return false;
	p->exited = true;
	p->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return true;
}

int proc_wait_exit(struct proc *p, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;

	while (!reap(p, WNOHANG)) {
		long long left = deadline - now_ms();

		if (left <= 0) {
			kill(p->pid, SIGKILL);
			reap(p, 0);
			return -1;
		}
		proc_pump(p, (int)(left > 20 ? 20 : left));
	}
	/* Collect what is still in the pipes (a grandchild may hold them
	 * open, so only for a bounded time). */
	deadline = now_ms() + 2000;
	while ((p->out >= 0 || p->err >= 0) && now_ms() < deadline)
		proc_pump(p, 50);
	return p->status;
}

void proc_free(struct proc *p)
{
	if (!p)
		return;
	if (!reap(p, WNOHANG)) {
		kill(p->pid, SIGKILL);
		reap(p, 0);
	}
	if (p->in >= 0)
		close(p->in);
	if (p->out >= 0)
		close(p->out);
	if (p->err >= 0)
		close(p->err);
	free(p->obuf);
	free(p->ebuf);
	free(p);
}

int run_argv(struct run *r, const char *stdin_data, int timeout_ms,
	     const char *const argv[])
{
	struct proc *p = proc_start(argv, stdin_data ? PROC_STDIN_PIPE : 0);

	if (stdin_data) {
		proc_puts(p, stdin_data);
		proc_close_stdin(p);
	}
	r->status = proc_wait_exit(p, timeout_ms);
	r->out = p->obuf ? p->obuf : strdup("");
	r->err = p->ebuf ? p->ebuf : strdup("");
	r->olen = p->olen;
	r->elen = p->elen;
	p->obuf = p->ebuf = NULL;
	proc_free(p);
	return r->status;
}

int run_sockctl(struct run *r, const char *stdin_data, int timeout_ms, ...)
{
	const char *argv[MAX_ARGS];
	const char *a;
	va_list ap;
	int n = 0;

	argv[n++] = sockctl_path();
	va_start(ap, timeout_ms);
	while ((a = va_arg(ap, const char *)) && n < MAX_ARGS - 1)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	return run_argv(r, stdin_data, timeout_ms, argv);
}

void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

/* ---- added for the serve tests ---- */

long proc_rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

long proc_cpu_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces; fields go on after its ')'. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2,
			 "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
			 "%lu %lu",
			 &ut, &st) != 2)
		return -1;
	return (long)(ut + st);
}

size_t count_substr(const char *s, const char *needle)
{
	size_t n = 0, len = strlen(needle);

	if (!s || !len)
		return 0;
	for (const char *p = s; (p = strstr(p, needle)); p += len)
		n++;
	return n;
}

struct count_arg {
	const char *needle;
	size_t n;
};

static bool err_has_n(struct proc *p, const void *arg)
{
	const struct count_arg *a = arg;

	return count_substr(p->ebuf, a->needle) >= a->n;
}

bool proc_wait_err_count(struct proc *p, const char *needle, size_t n,
			 int timeout_ms)
{
	struct count_arg a = {needle, n};

	return wait_for(p, err_has_n, &a, timeout_ms);
}

char *temp_dir(void)
{
	char *d = strdup("/tmp/sockctl-test-XXXXXX");

	if (!d || !mkdtemp(d))
		cr_assert_fail("mkdtemp: %s", strerror(errno));
	return d;
}

bool proc_exited(struct proc *p)
{
	return reap(p, WNOHANG);
}

static bool line_done(struct proc *p, const void *marker)
{
	const char *buf = p->err < 0 && !p->ebuf ? p->obuf : p->ebuf;
	const char *s = buf ? strstr(buf, marker) : NULL;

	return s && strchr(s, '\n');
}

int proc_port_after(struct proc *p, const char *marker, int timeout_ms)
{
	const char *buf, *s, *nl;

	if (!wait_for(p, line_done, marker, timeout_ms))
		return -1;
	buf = p->err < 0 && !p->ebuf ? p->obuf : p->ebuf;
	s = strstr(buf, marker);
	nl = strchr(s, '\n');
	while (nl > s && (nl[-1] == '\r' || nl[-1] == ' '))
		nl--;
	while (nl > s && nl[-1] >= '0' && nl[-1] <= '9')
		nl--;
	return atoi(nl);
}

double harness_now(void)
{
	return (double)now_ms() / 1000;
}

/* ---- added for the reliability tests ---- */

/* Take the complete lines off the front of p->obuf, looking for needle. */
static char *take_lines(struct proc *p, const char *needle, size_t *dropped)
{
	size_t nlen = strlen(needle), off = 0;
	char *found = NULL;

	if (!p->obuf)
		return NULL;
	while (off < p->olen) {
		char *line = p->obuf + off;
		char *nl = memchr(line, '\n', p->olen - off);

		if (!nl)
			break;
		off = (size_t)(nl - p->obuf) + 1;
		if (memmem(line, (size_t)(nl - line), needle, nlen)) {
			found = strndup(line, (size_t)(nl - line));
			break;
		}
		if (dropped)
			(*dropped)++;
	}
	memmove(p->obuf, p->obuf + off, p->olen - off);
	p->olen -= off;
	if (p->obuf)
		p->obuf[p->olen] = '\0';
	return found;
}

char *proc_wait_out_line(struct proc *p, const char *needle, size_t *dropped,
			 int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;

	for (;;) {
		char *line = take_lines(p, needle, dropped);
		long long left = deadline - now_ms();

		if (line)
			return line;
		if (left <= 0 || (p->out < 0 && p->err < 0))
			return NULL;
		proc_pump(p, (int)(left > 100 ? 100 : left));
	}
}
