/*
 * prompt.h - an interactive line prompt (GNU readline in callback mode)
 * that lives in the event loop next to sockets, so that data arriving
 * from the network is printed as soon as it comes, above the prompt,
 * while the line being typed stays intact.
 *
 * Used by `connect` in interactive mode, by `serve --relay` for the
 * operator, and by `udp-send`/`udp-listen --reply`:
 *
 *	struct prompt_opts po = {.prompt = "host:80> ", .history = path,
 *				 .on_line = got_line, .arg = ctx};
 *	prompt_new(loop, &po, &p);        // draws the prompt
 *	...
 *	prompt_write(p, 1, data, len);    // peer data, above the prompt
 *	prompt_printf(p, 2, "connection closed by %s\n", peer);
 *	prompt_set(p, "reply to 10.0.0.1:53> ");
 *	...
 *	prompt_free(p);                   // terminal restored, history saved
 *
 * on_line gets each entered line without its newline, and NULL when the
 * input ends (Ctrl-D on an empty line, or EOF when stdin is not a
 * terminal); after NULL no more lines come.  The prompt is drawn on
 * stderr, so stdout carries only data even in interactive mode.
 *
 * Readline keeps its state in globals, so there is at most one prompt at a
 * time; prompt_new fails with -EBUSY otherwise.
 */
#ifndef SOCKCTL_PROMPT_H
#define SOCKCTL_PROMPT_H

#include <stddef.h>

#include "loop.h"

struct prompt;

typedef void (*prompt_line_fn)(void *arg, const char *line);

struct prompt_opts {
	const char *prompt; /* shown before the line */
	const char *history; /* history file, read and appended; NULL none */
	prompt_line_fn on_line;
	void *arg;
};

int prompt_new(struct loop *l, const struct prompt_opts *o,
	       struct prompt **ret);
/*
 * Write data to fd (1 for data, 2 for status lines) above the prompt.
 * When fd is a terminal, an unfinished last line (no newline yet) is kept
 * on the prompt line, in front of the prompt, until the rest comes.
 */
void prompt_write(struct prompt *p, int fd, const void *data, size_t len);
void prompt_printf(struct prompt *p, int fd, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Change the prompt string (it is redrawn at once). */
void prompt_set(struct prompt *p, const char *prompt);
/* Stop reading lines and take the prompt off the screen; prompt_write
 * goes on working as a plain write.  Called by itself at end of input. */
void prompt_close(struct prompt *p);
/* Close, restore the terminal, trim the history file; NULL is fine. */
void prompt_free(struct prompt *p);

/*
 * The default history file, $XDG_STATE_HOME/sockctl/history or
 * ~/.local/state/sockctl/history, with its directory created.
 */
int prompt_history_path(char *buf, size_t size);

#endif
