/*
 * test_completions.c - the bash, zsh and fish completions, each run by
 * its real shell: bash and zsh interactive on a pseudo-terminal, a line
 * typed, TAB pressed, and then a key bound to print the edited line, so
 * the test sees what the user would (the line after TAB, and the list of
 * candidates the shell drew above it); fish through `complete -C`, its own
 * way of asking what TAB offers.  The freshly built sockctl comes first on
 * PATH, since the completions ask it for the socket option names.  A
 * shell that is missing fails the test: the project's set-up installs
 * all three.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "harness.h"

#define T 20000

/* Marks the edited line that the bound key prints. */
#define BUF_OPEN "BUF<"
#define BUF_CLOSE ">BUF"

/* A private HOME and XDG dirs, so no shell reads or writes the user's. */
static char *home;

static void env_init(void)
{
	char *bin = strdup(sockctl_path()), *path;
	const char *old = getenv("PATH");

	if (asprintf(&path, "%s:%s", dirname(bin),
		     old ? old : "/usr/bin:/bin") < 0)
		abort();
	setenv("PATH", path, 1);
	free(path);
	free(bin);
	home = temp_dir();
	setenv("HOME", home, 1);
	setenv("XDG_CONFIG_HOME", home, 1);
	setenv("XDG_DATA_HOME", home, 1);
	setenv("XDG_CACHE_HOME", home, 1);
	setenv("XDG_STATE_HOME", home, 1);
	setenv("TERM", "xterm", 1);
	setenv("INPUTRC", "/dev/null", 1);
	unsetenv("HISTFILE");
}

static void env_fini(void)
{
	const char *argv[] = {"rm", "-rf", home, NULL};
	struct run r;

	run_argv(&r, NULL, T, argv);
	run_free(&r);
	free(home);
}

TestSuite(completions, .init = env_init, .fini = env_fini);

/* ---- interactive shells on a pseudo-terminal ---- */

/* Wait until needle shows up in stdout after offset from; its offset. */
static long wait_after(struct proc *p, size_t from, const char *needle,
		       int timeout_ms)
{
	double deadline = harness_now() + timeout_ms / 1000.0;

	for (;;) {
		const char *s =
			p->olen > from ? strstr(p->obuf + from, needle) : NULL;

		if (s)
			return s - p->obuf;
		if (harness_now() > deadline || p->out < 0)
			return -1;
		proc_pump(p, 100);
	}
}

/*
 * Start `shell` interactive with the completion loaded, a wide and tall
 * window (so lists are drawn whole, without paging), and Ctrl-X Ctrl-D
 * bound to print the line being edited as BUF<line>BUF.  zsh shows it as
 * a message under the line: printing it instead would hand the terminal
 * back to its cooked mode for a moment, where the next keys typed would
 * be taken as line-editing characters by the terminal itself.
 */
static struct proc *shell_start(const char *shell)
{
	char *src = source_path("completions"), *setup;
	struct winsize ws = {.ws_row = 200, .ws_col = 250};
	struct proc *p;
	long ready;

	if (!strcmp(shell, "bash")) {
		const char *argv[] = {"bash", "--norc", "--noprofile", "-i",
				      NULL};

		if (asprintf(&setup,
			     "PS1='PROMPT> '; . '%s/sockctl.bash'; "
			     "bind 'set completion-query-items 0'; "
			     "bind 'set page-completions off'; "
			     "bind 'set show-all-if-ambiguous on'; "
			     "bind -x '\"\\C-x\\C-d\": "
			     "printf \"" BUF_OPEN "%%s" BUF_CLOSE
			     "\\n\" \"$READLINE_LINE\"'; "
			     "echo RE\"\"ADY\n",
			     src) < 0)
			abort();
		p = proc_start(argv, PROC_PTY);
	} else {
		const char *argv[] = {"zsh", "-f", "-i", NULL};

		/* compinit reads every function file on fpath: only the
		 * directories of the completion system itself are kept, so
		 * that it starts in about a second rather than many. */
		if (asprintf(&setup,
			     "bindkey -e; PS1='PROMPT> '; "
			     "fpath=('%s' "
			     "${(M)fpath:#*/Completion(|/Base|/Zsh|/Unix)}); "
			     "autoload -Uz compinit; compinit -u -D; "
			     "unsetopt list_ambiguous; LISTMAX=10000; "
			     "buf() { zle -M \"" BUF_OPEN "$BUFFER" BUF_CLOSE
			     "\" }; "
			     "zle -N buf; bindkey '^X^D' buf; "
			     "echo RE\"\"ADY\n",
			     src) < 0)
			abort();
		p = proc_start(argv, PROC_PTY);
	}
	ioctl(p->out, TIOCSWINSZ, &ws);
	proc_puts(p, setup);
	/* Keys typed before the prompt would meet the terminal in its
	 * cooked mode, not the line editor. */
	if ((ready = wait_after(p, 0, "READY", T)) < 0 ||
	    wait_after(p, (size_t)ready, "PROMPT> ", T) < 0) {
		proc_pump(p, 100);
		cr_assert(!proc_exited(p) || p->status != 127,
			  "%s is not installed", shell);
		cr_assert_fail("%s did not start: %s", shell,
			       p->obuf ? p->obuf : "");
	}
	free(setup);
	free(src);
	return p;
}

/* Drop terminal escape sequences; control characters become spaces. */
static char *screen_text(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == 0x1b && i + 1 < n && s[i + 1] == '[') {
			for (i += 2; i < n && !(s[i] >= 0x40 && s[i] <= 0x7e);
			     i++)
				;
		} else if (c == 0x1b) {
			i++;
		} else {
			*o++ = c < 0x20 ? ' ' : (char)c;
		}
	}
	*o = '\0';
	return out;
}

struct tab {
	char *line; /* the line after TAB */
	char *screen; /* what was drawn meanwhile (the list of candidates,
		       * and the line drawn again under it), escapes dropped */
};

/*
 * Type line, press TAB, print the edited line, then clear it for the next
 * one.  Readline and zle handle keys in order, so the line printed is the
 * one TAB left.
 */
static struct tab press_tab(struct proc *sh, const char *line)
{
	size_t from = sh->olen;
	const char *echo;
	long open, close;
	struct tab t;

	proc_puts(sh, line);
	proc_puts(sh, "\t\x18\x04");
	open = wait_after(sh, from, BUF_OPEN, T);
	cr_assert(open >= 0, "no line printed after TAB on '%s': %s", line,
		  sh->obuf + from);
	close = wait_after(sh, (size_t)open, BUF_CLOSE, T);
	cr_assert(close >= 0);
	t.line = strndup(sh->obuf + open + strlen(BUF_OPEN),
			 (size_t)(close - open) - strlen(BUF_OPEN));
	/* The screen from the end of the typed line's echo on: what came
	 * before it is the previous line going away. */
	echo = memmem(sh->obuf + from, (size_t)open - from, line, strlen(line));
	if (echo)
		from = (size_t)(echo - sh->obuf) + strlen(line);
	t.screen = screen_text(sh->obuf + from, (size_t)open - from);
	proc_puts(sh, "\x15"); /* Ctrl-U: an empty line again */
	return t;
}

static void tab_free(struct tab *t)
{
	free(t->line);
	free(t->screen);
}

/* Does word appear on the screen as a whole word? */
static bool shown(const char *screen, const char *word)
{
	size_t n = strlen(word);

	for (const char *s = screen; (s = strstr(s, word)); s++)
		if ((s == screen || s[-1] == ' ') && (!s[n] || s[n] == ' '))
			return true;
	return false;
}

/* Is line one of the lines of text? */
static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *s = text; (s = strstr(s, line)); s++)
		if ((s == text || s[-1] == '\n') && s[n] == '\n')
			return true;
	return false;
}

/* TAB after typed gives the line want. */
static void expect_line(struct proc *sh, const char *typed, const char *want)
{
	struct tab t = press_tab(sh, typed);

	cr_expect_str_eq(t.line, want, "TAB after '%s' gave '%s', not '%s'",
			 typed, t.line, want);
	tab_free(&t);
}

/* TAB after typed gives a line that starts with want (/etc/hosts may hold
 * more names that start with localhost). */
static void expect_line_start(struct proc *sh, const char *typed,
			      const char *want)
{
	struct tab t = press_tab(sh, typed);

	cr_expect(!strncmp(t.line, want, strlen(want)),
		  "TAB after '%s' gave '%s', not '%s...'", typed, t.line, want);
	tab_free(&t);
}

/* TAB after typed lists every word of yes and none of no (NULL-terminated
 * lists, or NULL). */
static void expect_list(struct proc *sh, const char *typed,
			const char *const yes[], const char *const no[])
{
	struct tab t = press_tab(sh, typed);

	for (size_t i = 0; yes && yes[i]; i++)
		cr_expect(shown(t.screen, yes[i]),
			  "TAB after '%s' does not offer %s: %s", typed, yes[i],
			  t.screen);
	for (size_t i = 0; no && no[i]; i++)
		cr_expect(!shown(t.screen, no[i]),
			  "TAB after '%s' offers %s: %s", typed, no[i],
			  t.screen);
	tab_free(&t);
}

#define WORDS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ---- the same behaviour in each shell ---- */

static void sockopt_names(struct proc *sh)
{
	/* Lower case and without prefix once typed so, upper case as
	 * listed, and always with the `=` that the value follows. */
	expect_line(sh, "sockctl connect -o nod",
		    "sockctl connect -o nodelay=");
	expect_line(sh, "sockctl connect -o SO_RCVB",
		    "sockctl connect -o SO_RCVBUF=");
	expect_line(sh, "sockctl serve --tcp 0 --sockopt so_keepa",
		    "sockctl serve --tcp 0 --sockopt so_keepalive=");
	expect_list(sh, "sockctl connect -o tcp_no",
		    WORDS("tcp_nodelay=", "tcp_notsent_lowat="), NULL);
}

static void sockopt_kinds(struct proc *sh)
{
	/* What opts list --udp shows, and no TCP option. */
	expect_list(sh, "sockctl opts get --udp ",
		    WORDS("UDP_CORK", "SO_RCVBUF", "IP_TTL"),
		    WORDS("TCP_NODELAY", "TCP_CORK"));
	/* -o of a UDP command: options of UDP sockets that can be set. */
	expect_list(sh, "sockctl udp-send -o ",
		    WORDS("UDP_CORK=", "SO_RCVBUF=", "IPV6_UNICAST_HOPS="),
		    WORDS("TCP_NODELAY=", "SO_ERROR=", "SO_TYPE="));
	expect_list(sh, "sockctl serve --udp 0 -o UDP_",
		    WORDS("UDP_CORK=", "UDP_GRO=", "UDP_SEGMENT="), NULL);
	/* connect -4 opens an IPv4 TCP socket: no IPV6_ options. */
	expect_list(sh, "sockctl connect -4 -o IP", WORDS("IP_TOS=", "IP_TTL="),
		    WORDS("IPV6_TCLASS="));
}

static void serve_udp(struct proc *sh)
{
	expect_line(sh, "sockctl serve --udp 0 --no-e",
		    "sockctl serve --udp 0 --no-echo ");
	expect_line(sh, "sockctl serve --udp 0 --max-s",
		    "sockctl serve --udp 0 --max-size ");
	/* serve's own TCP modes are not udp-listen's. */
	expect_line(sh, "sockctl serve --udp 0 --bro",
		    "sockctl serve --udp 0 --bro");
	expect_line(sh, "sockctl serve --bro", "sockctl serve --broker ");
}

static void udp_send_host_port(struct proc *sh)
{
	expect_line_start(sh, "sockctl udp-send loc",
			  "sockctl udp-send localhost");
	expect_line(sh, "sockctl udp-send -w 1 localhost domain-",
		    "sockctl udp-send -w 1 localhost domain-s ");
}

/* ---- bash ---- */

Test(completions, bash_sockopt_names)
{
	struct proc *sh = shell_start("bash");

	sockopt_names(sh);
	expect_line(sh, "sockctl connect --sockopt=so_rcvb",
		    "sockctl connect --sockopt=so_rcvbuf=");
	/* Nothing to offer for the value. */
	expect_line(sh, "sockctl connect -o SO_RCVBUF=",
		    "sockctl connect -o SO_RCVBUF=");
	proc_free(sh);
}

Test(completions, bash_sockopt_names_fit_the_socket_kind)
{
	struct proc *sh = shell_start("bash");

	sockopt_kinds(sh);
	proc_free(sh);
}

Test(completions, bash_serve_udp_offers_udp_listen_flags)
{
	struct proc *sh = shell_start("bash");

	serve_udp(sh);
	proc_free(sh);
}

Test(completions, bash_udp_send_host_then_port)
{
	struct proc *sh = shell_start("bash");

	udp_send_host_port(sh);
	proc_free(sh);
}

Test(completions, bash_connect_port_after_host)
{
	struct proc *sh = shell_start("bash");

	expect_line(sh, "sockctl connect -w 3 localhost http-a",
		    "sockctl connect -w 3 localhost http-alt ");
	expect_list(sh, "sockctl connect localhost 44", WORDS("443", "445"),
		    NULL);
	/* A third word is no port. */
	expect_line(sh, "sockctl connect localhost 80 ht",
		    "sockctl connect localhost 80 ht");
	proc_free(sh);
}

Test(completions, bash_unix_path_completes_as_a_directory)
{
	struct proc *sh = shell_start("bash");
	char *dir = temp_dir(), *sub, *typed, *want;

	if (asprintf(&sub, "%s/sockets", dir) < 0)
		abort();
	cr_assert_eq(mkdir(sub, 0700), 0);
	/* A directory gets its slash and no space, so the path goes on. */
	if (asprintf(&typed, "sockctl connect --unix %s/so", dir) < 0 ||
	    asprintf(&want, "sockctl connect --unix %s/sockets/", dir) < 0)
		abort();
	expect_line(sh, typed, want);
	free(typed);
	free(want);
	if (asprintf(&typed, "sockctl udp-listen --unix=%s/so", dir) < 0 ||
	    asprintf(&want, "sockctl udp-listen --unix=%s/sockets/", dir) < 0)
		abort();
	expect_line(sh, typed, want);
	free(typed);
	free(want);
	proc_free(sh);
	rmdir(sub);
	rmdir(dir);
	free(sub);
	free(dir);
}

Test(completions, bash_flag_values_after_equals)
{
	struct proc *sh = shell_start("bash");

	expect_line(sh, "sockctl connect --progress=",
		    "sockctl connect --progress=always ");
	expect_line(sh, "sockctl connect --eol=cr",
		    "sockctl connect --eol=crlf ");
	/* --progress takes its value only after `=`. */
	expect_line_start(sh, "sockctl connect --progress loc",
			  "sockctl connect --progress localhost");
	proc_free(sh);
}

/* ---- zsh ---- */

Test(completions, zsh_opts_get_and_set_names)
{
	struct proc *sh = shell_start("zsh");

	expect_line(sh, "sockctl opts get nod", "sockctl opts get nodelay ");
	expect_line(sh, "sockctl opts get SO_KEEPA",
		    "sockctl opts get SO_KEEPALIVE ");
	expect_line(sh, "sockctl opts set SO_RCVB",
		    "sockctl opts set SO_RCVBUF=");
	expect_line(sh, "sockctl opts set nod", "sockctl opts set nodelay=");
	expect_line(sh, "sockctl opts --udp set cor",
		    "sockctl opts --udp set cork=");
	proc_free(sh);
}

Test(completions, zsh_sockopt_names)
{
	struct proc *sh = shell_start("zsh");

	sockopt_names(sh);
	proc_free(sh);
}

Test(completions, zsh_sockopt_names_fit_the_socket_kind)
{
	struct proc *sh = shell_start("zsh");

	sockopt_kinds(sh);
	proc_free(sh);
}

Test(completions, zsh_serve_udp_offers_udp_listen_flags)
{
	struct proc *sh = shell_start("zsh");

	serve_udp(sh);
	proc_free(sh);
}

Test(completions, zsh_udp_send_host_then_port)
{
	struct proc *sh = shell_start("zsh");

	udp_send_host_port(sh);
	proc_free(sh);
}

/* Where meson installs _sockctl is a directory on zsh's own fpath. */
Test(completions, zsh_completion_is_installed_where_zsh_looks)
{
	char *bin = strdup(sockctl_path()), *json, *path, *dest, *dir;
	const char *key = "completions/_sockctl\": \"", *s, *e;
	const char *argv[] = {"zsh", "-f", "-c", "print -rl -- $fpath", NULL};
	struct run r;

	if (asprintf(&path, "%s/meson-info/intro-installed.json",
		     dirname(bin)) < 0)
		abort();
	json = read_file(path, NULL);
	s = strstr(json, key);
	cr_assert(s, "%s does not install completions/_sockctl", path);
	s += strlen(key);
	e = strchr(s, '"');
	cr_assert(e);
	dest = strndup(s, (size_t)(e - s));
	dir = dirname(dest);
	cr_assert_eq(run_argv(&r, NULL, T, argv), 0,
		     "zsh failed (is it installed?): %s", r.err);
	cr_expect(has_line(r.out, dir), "%s is not on zsh's fpath:\n%s", dir,
		  r.out);
	run_free(&r);
	free(dest);
	free(json);
	free(path);
	free(bin);
}

/* ---- fish ---- */

/* The candidates `complete -C line` gives, one a line, without the
 * descriptions. */
static char *fish_complete(const char *line)
{
	static const char script[] =
		"source $argv[1]; and complete -C $argv[2]";
	char *file = source_path("completions/sockctl.fish");
	const char *argv[] = {
		"fish", "--no-config", "-c", script, file, line, NULL,
	};
	struct run r;
	char *out;

	cr_assert_eq(run_argv(&r, NULL, T, argv), 0,
		     "fish failed (is it installed?): %s", r.err);
	cr_assert_str_empty(r.err, "fish: %s", r.err);
	out = strdup(r.out ? r.out : "");
	/* Keep "candidate\n" of each "candidate\tdescription\n". */
	for (char *s = out, *o = out;; s++) {
		if (*s == '\t') {
			while (*s && *s != '\n')
				s++;
		}
		*o++ = *s;
		if (!*s)
			break;
	}
	run_free(&r);
	free(file);
	return out;
}

static void fish_expect(const char *typed, const char *const yes[],
			const char *const no[])
{
	char *c = fish_complete(typed);

	for (size_t i = 0; yes && yes[i]; i++)
		cr_expect(has_line(c, yes[i]),
			  "fish: '%s' does not offer %s:\n%s", typed, yes[i],
			  c);
	for (size_t i = 0; no && no[i]; i++)
		cr_expect(!has_line(c, no[i]), "fish: '%s' offers %s:\n%s",
			  typed, no[i], c);
	free(c);
}

Test(completions, fish_connect_host_then_port)
{
	fish_expect("sockctl connect loc", WORDS("localhost"), NULL);
	fish_expect("sockctl connect -w 3 localhost http-a", WORDS("http-alt"),
		    WORDS("localhost"));
	fish_expect("sockctl connect localhost 44", WORDS("443"), NULL);
	/* --unix PATH replaces HOST PORT. */
	fish_expect("sockctl connect --unix /tmp/x loc", NULL,
		    WORDS("localhost"));
}

Test(completions, fish_progress_always)
{
	fish_expect("sockctl connect --progress=", WORDS("--progress=always"),
		    NULL);
	fish_expect("sockctl connect --progr",
		    WORDS("--progress", "--progress="), NULL);
}

Test(completions, fish_sockopt_names)
{
	fish_expect("sockctl connect -o nod", WORDS("nodelay="),
		    WORDS("TCP_NODELAY"));
	fish_expect("sockctl connect -o SO_RCVB", WORDS("SO_RCVBUF="), NULL);
	fish_expect("sockctl connect -o tcp_no",
		    WORDS("tcp_nodelay=", "tcp_notsent_lowat="), NULL);
	fish_expect("sockctl opts get nod", WORDS("nodelay"), NULL);
	fish_expect("sockctl opts set nod", WORDS("nodelay="), NULL);
}

Test(completions, fish_sockopt_names_fit_the_socket_kind)
{
	fish_expect("sockctl opts get --udp ",
		    WORDS("UDP_CORK", "SO_RCVBUF", "IP_TTL"),
		    WORDS("TCP_NODELAY", "TCP_CORK"));
	fish_expect("sockctl udp-send -o ",
		    WORDS("UDP_CORK=", "SO_RCVBUF=", "IPV6_UNICAST_HOPS="),
		    WORDS("TCP_NODELAY=", "SO_ERROR=", "SO_TYPE="));
	fish_expect("sockctl serve --udp 0 -o UDP_",
		    WORDS("UDP_CORK=", "UDP_GRO=", "UDP_SEGMENT="), NULL);
	fish_expect("sockctl connect -4 -o IP", WORDS("IP_TOS=", "IP_TTL="),
		    WORDS("IPV6_TCLASS="));
}

Test(completions, fish_serve_udp_offers_udp_listen_flags)
{
	fish_expect("sockctl serve --udp 0 --no-e", WORDS("--no-echo"), NULL);
	fish_expect("sockctl serve --udp 0 --max-s", WORDS("--max-size"), NULL);
	fish_expect("sockctl serve --udp 0 --bro", NULL, WORDS("--broker"));
	fish_expect("sockctl serve --bro", WORDS("--broker"), NULL);
}

Test(completions, fish_udp_send_host_then_port)
{
	fish_expect("sockctl udp-send loc", WORDS("localhost"), NULL);
	fish_expect("sockctl udp-send -w 1 localhost domain-",
		    WORDS("domain-s"), WORDS("localhost"));
}
