/*
 * prompt.c - readline's callback interface driven by the event loop (see
 * prompt.h).
 *
 * Printing above the prompt: the visible prompt line is cleared, the data
 * is written, and readline is told it is on a new line and redraws the
 * prompt with the typed text and the cursor where they were.  A peer line
 * without its newline yet is held on the prompt line (as a prefix of the
 * prompt) so that redrawing never wipes it.
 */
#define _GNU_SOURCE
#include "prompt.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "fmt.h"

/* Longest unfinished peer line kept on the prompt line. */
#define PROMPT_PARTIAL_MAX 512
#define PROMPT_HISTORY_MAX 1000

struct prompt {
	struct loop *loop;
	struct prompt_opts o;
	char *base; /* the prompt string */
	struct sbuf shown; /* partial line + base, what readline shows */
	struct sbuf partial; /* held back peer bytes for fd 1 */
	char *history;
	int in_fd;
	bool active; /* the prompt is on screen, lines are read */
	bool in_handler; /* readline is handing us a line */
	bool tty_out; /* fd 1 is a terminal */
};

/*
 * Readline calls the line handler without an argument, so the one prompt
 * that exists is found through this pointer.
 */
static struct prompt *current;

static void write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* a dead terminal: nothing better to do */
		p += n;
		len -= (size_t)n;
	}
}

static void update_prompt(struct prompt *p)
{
	sbuf_reset(&p->shown);
	sbuf_add(&p->shown, p->partial.data, p->partial.len);
	sbuf_adds(&p->shown, p->base);
	rl_set_prompt(sbuf_str(&p->shown));
}

static void hide(struct prompt *p)
{
	(void)p;
	rl_clear_visible_line();
	fflush(rl_outstream);
}

static void show(struct prompt *p)
{
	update_prompt(p);
	rl_on_new_line();
	rl_redisplay();
}

static void add_history_line(struct prompt *p, const char *line)
{
	HIST_ENTRY *last;

	if (!*line)
		return;
	/* Like ignoredups: pressing up shows each distinct line once. */
	last = history_length ? history_get(history_base + history_length - 1)
			      : NULL;
	if (last && !strcmp(last->line, line))
		return;
	add_history(line);
	if (p->history)
		append_history(1, p->history);
}

static void on_rl_line(char *line)
{
	struct prompt *p = current;

	if (!p)
		return;
	if (!line) {
		prompt_close(p);
		p->o.on_line(p->o.arg, NULL);
		return;
	}
	add_history_line(p, line);
	p->in_handler = true;
	p->o.on_line(p->o.arg, line);
	p->in_handler = false;
	free(line);
}

static void on_input(struct loop *l, int fd, uint32_t events, void *arg)
{
	(void)l;
	(void)fd;
	(void)events;
	(void)arg;
	if (current && current->active)
		rl_callback_read_char();
}

static void on_winch(struct loop *l, int signo, void *arg)
{
	(void)l;
	(void)signo;
	(void)arg;
	if (current && current->active)
		rl_resize_terminal();
}

/*
 * Ctrl-Z.  SIGTSTP comes through the loop, so we stop ourselves: the
 * prompt is wiped and the terminal given back as the shell expects it,
 * then the signal is raised with its default action; on `fg` the
 * terminal is taken again and the prompt drawn with what was typed.  In
 * an orphaned process group the kernel drops the stop and we go on.
 */
static void on_tstp(struct loop *l, int signo, void *arg)
{
	struct prompt *p = current;
	bool shown = p && p->active;
	sigset_t set;

	(void)l;
	(void)arg;
	if (shown) {
		hide(p);
		rl_cleanup_after_signal();
	}
	sigemptyset(&set);
	sigaddset(&set, signo);
	signal(signo, SIG_DFL);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(signo);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (shown) {
		rl_reset_after_signal();
		show(p);
	}
}

static void open_history(struct prompt *p, const char *path)
{
	int fd;

	p->history = strdup(path);
	if (!p->history)
		return;
	/* append_history() does not create the file. */
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	read_history(path);
}

int prompt_new(struct loop *l, const struct prompt_opts *o, struct prompt **ret)
{
	struct prompt *p;
	int r;

	if (current)
		return -EBUSY;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->loop = l;
	p->o = *o;
	p->base = strdup(o->prompt ? o->prompt : "> ");
	p->in_fd = fileno(stdin);
	p->tty_out = isatty(1);
	current = p;
	rl_readline_name = "sockctl";
	rl_instream = stdin;
	/* The prompt is not data: keep it off stdout. */
	rl_outstream = stderr;
	/* Signals come through the loop; readline must not take them. */
	rl_catch_signals = 0;
	rl_catch_sigwinch = 0;
	/* A tab is data to send, not a request to complete file names. */
	rl_bind_key('\t', rl_insert);
	using_history();
	stifle_history(PROMPT_HISTORY_MAX);
	if (o->history)
		open_history(p, o->history);
	r = loop_watch(l, p->in_fd, LOOP_IN, on_input, p);
	if (r < 0) {
		current = NULL;
		free(p->history);
		free(p->base);
		free(p);
		return r;
	}
	loop_signal(l, SIGWINCH, on_winch, NULL);
	loop_signal(l, SIGTSTP, on_tstp, NULL);
	p->active = true;
	update_prompt(p);
	rl_callback_handler_install(sbuf_str(&p->shown), on_rl_line);
	*ret = p;
	return 0;
}

/* Emit the held back partial line for real. */
static void flush_partial(struct prompt *p)
{
	write_all(1, p->partial.data, p->partial.len);
	sbuf_reset(&p->partial);
}

static void write_data(struct prompt *p, const char *data, size_t len)
{
	const char *nl = memrchr(data, '\n', len);
	size_t head = nl ? (size_t)(nl - data) + 1 : 0;

	if (head) {
		flush_partial(p);
		write_all(1, data, head);
	}
	sbuf_add(&p->partial, data + head, len - head);
	if (p->partial.len > PROMPT_PARTIAL_MAX) {
		/* Not a prompt-like line: show it, on a line of its own. */
		flush_partial(p);
		write_all(2, "\n", 1);
	}
}

void prompt_write(struct prompt *p, int fd, const void *data, size_t len)
{
	if (!p || !p->active || (fd == 1 && !p->tty_out)) {
		write_all(fd, data, len);
		return;
	}
	if (p->in_handler) {
		/*
		 * Readline has moved past the entered line and draws the
		 * prompt when the handler returns: the cursor is on an empty
		 * line, and clearing or redrawing now would garble it.
		 */
		if (fd == 1)
			write_data(p, data, len);
		else
			write_all(fd, data, len);
		update_prompt(p);
		return;
	}
	hide(p);
	if (fd == 1) {
		write_data(p, data, len);
	} else {
		if (p->partial.len) {
			/* Peer text first, then the status line under it. */
			flush_partial(p);
			write_all(2, "\n", 1);
		}
		write_all(fd, data, len);
	}
	show(p);
}

void prompt_printf(struct prompt *p, int fd, const char *fmt, ...)
{
	struct sbuf b = SBUF_INIT;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	sbuf_reserve(&b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b.data, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b.len = (size_t)n;
	prompt_write(p, fd, b.data, b.len);
	sbuf_free(&b);
}

void prompt_set(struct prompt *p, const char *prompt)
{
	char *s = strdup(prompt);

	if (!s)
		return;
	free(p->base);
	p->base = s;
	if (!p->active)
		return;
	/* While readline hands over a line it draws the prompt itself once
	 * the handler returns; redrawing here would repeat the old line. */
	if (p->in_handler) {
		update_prompt(p);
		return;
	}
	hide(p);
	show(p);
}

void prompt_close(struct prompt *p)
{
	if (!p || !p->active)
		return;
	p->active = false;
	hide(p);
	rl_callback_handler_remove();
	loop_unwatch(p->loop, p->in_fd);
	/* The unfinished line stays on screen; what follows continues it. */
	flush_partial(p);
}

void prompt_free(struct prompt *p)
{
	if (!p)
		return;
	prompt_close(p);
	if (p->history)
		history_truncate_file(p->history, PROMPT_HISTORY_MAX);
	clear_history();
	current = NULL;
	free(p->history);
	free(p->base);
	sbuf_free(&p->shown);
	sbuf_free(&p->partial);
	free(p);
}

static int mkdirs(char *path)
{
	for (char *s = path + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST) {
			int err = -errno;

			*s = '/';
			return err;
		}
		*s = '/';
	}
	return 0;
}

int prompt_history_path(char *buf, size_t size)
{
	const char *state = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	int n;

	/* The XDG spec says a relative path is to be ignored. */
	if (state && state[0] == '/')
		n = snprintf(buf, size, "%s/sockctl/history", state);
	else if (home && home[0])
		n = snprintf(buf, size, "%s/.local/state/sockctl/history",
			     home);
	else
		return -ENOENT;
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return mkdirs(buf);
}
