/*
 * test_docs.c - every flag that a command's --help shows is documented in
 * man/sockctl.1 and offered by the bash, zsh and fish completions, each
 * inside that command's `cmd: NAME` section; and the man page renders
 * without warnings.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define T 10000
#define MAX_FLAGS 256

enum style { STYLE_MAN, STYLE_SHELL, STYLE_FISH };

struct flags {
	char *v[MAX_FLAGS];
	int n;
};

static bool flagch(char c)
{
	return isalnum((unsigned char)c) || c == '-';
}

/* The flags on the option lines of a --help text ("  -t, --type T  ..."). */
static void help_flags(const char *help, struct flags *f)
{
	f->n = 0;
	for (const char *line = help; line && *line;) {
		const char *end = strchr(line, '\n'), *p = line;

		if (!end)
			end = line + strlen(line);
		while (p < end && *p == ' ')
			p++;
		/* Option lines start indented with a dash; the flag part
		 * ends at the first run of two spaces. */
		while (p > line && p < end && *p == '-') {
			const char *q = p;

			while (q < end && flagch(*q))
				q++;
			if (q - p >= 2 && f->n < MAX_FLAGS)
				f->v[f->n++] = strndup(p, (size_t)(q - p));
			/* ", -x" and " ARG" may follow before the gap. */
			while (q < end && *q != '-' &&
			       !(q[0] == ' ' && q[1] == ' '))
				q++;
			if (q >= end || (q[0] == ' ' && q[1] == ' '))
				break;
			p = q;
		}
		line = *end ? end + 1 : end;
	}
}

static void flags_free(struct flags *f)
{
	for (int i = 0; i < f->n; i++)
		free(f->v[i]);
	f->n = 0;
}

/* The text between `cmd: NAME` and the next `cmd: ` marker. */
static char *section(const char *text, const char *name)
{
	char marker[64];
	const char *s, *e;

	snprintf(marker, sizeof(marker), "cmd: %s\n", name);
	s = strstr(text, marker);
	if (!s)
		return NULL;
	s += strlen(marker);
	e = strstr(s, "cmd: ");
	return strndup(s, e ? (size_t)(e - s) : strlen(s));
}

/* Is word present with no flag character on either side? */
static bool has_word(const char *text, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = text; (p = strstr(p, word)); p++) {
		if ((p == text || !flagch(p[-1])) && !flagch(p[n]))
			return true;
	}
	return false;
}

static bool documented(const char *text, const char *flag, enum style st)
{
	char want[128];
	bool isl = flag[1] == '-';
	const char *name = flag + (isl ? 2 : 1);

	switch (st) {
	case STYLE_MAN: {
		/* roff writes each '-' as '\-'. */
		char *w = want;

		for (const char *p = flag; *p && w < want + 120; p++) {
			if (*p == '-')
				*w++ = '\\';
			*w++ = *p;
		}
		*w = '\0';
		for (const char *p = text; (p = strstr(p, want)); p++)
			if (!flagch(p[strlen(want)]))
				return true;
		return false;
	}
	case STYLE_FISH:
		snprintf(want, sizeof(want), "%s %s", isl ? "-l" : "-s", name);
		return has_word(text, want);
	case STYLE_SHELL:
		return has_word(text, flag);
	}
	return false;
}

/* Flags of `help` missing from section `name` of text; returns count. */
static int missing(const char *text, const char *name, const struct flags *f,
		   enum style st, const char *file, bool quiet)
{
	char *sec = section(text, name);
	int miss = 0;

	if (!sec) {
		cr_log_error("%s: no 'cmd: %s' section", file, name);
		return f->n ? f->n : 1;
	}
	for (int i = 0; i < f->n; i++) {
		if (documented(sec, f->v[i], st))
			continue;
		if (!quiet)
			cr_log_error("%s: %s %s is not documented", file, name,
				     f->v[i]);
		miss++;
	}
	free(sec);
	return miss;
}

static const struct {
	const char *path;
	enum style style;
} docs[] = {
	{"man/sockctl.1", STYLE_MAN},
	{"completions/sockctl.bash", STYLE_SHELL},
	{"completions/_sockctl", STYLE_SHELL},
	{"completions/sockctl.fish", STYLE_FISH},
};

static void check_command(const char *name, const char *help)
{
	struct flags f;

	help_flags(help, &f);
	cr_assert(f.n >= 1, "%s --help shows no flags", name);
	for (size_t d = 0; d < sizeof(docs) / sizeof(docs[0]); d++) {
		char *path = source_path(docs[d].path);
		char *text = read_file(path, NULL);

		cr_expect_eq(
			missing(text, name, &f, docs[d].style, path, false), 0,
			"%s: flags of '%s' missing", path, name);
		free(text);
		free(path);
	}
	flags_free(&f);
}

Test(docs, every_flag_of_every_command_is_documented)
{
	struct run l;
	int n = 0;

	cr_assert_eq(run_sockctl(&l, NULL, T, "--list-commands", NULL), 0);
	for (char *s = strtok(l.out, "\n"); s; s = strtok(NULL, "\n")) {
		struct run r;

		cr_assert_eq(run_sockctl(&r, NULL, T, s, "--help", NULL), 0);
		check_command(s, r.out);
		run_free(&r);
		n++;
	}
	cr_assert(n >= 1);
	run_free(&l);
}

Test(docs, top_level_flags_are_documented)
{
	struct run r;

	cr_assert_eq(run_sockctl(&r, NULL, T, "--help", NULL), 0);
	check_command("sockctl", r.out);
	run_free(&r);
}

/* The checker itself: a man page with one flag taken out must fail. */
Test(docs, removing_a_flag_from_the_man_page_is_caught)
{
	char *path = source_path("man/sockctl.1");
	char *text = read_file(path, NULL), *p;
	struct run r;
	struct flags f;

	cr_assert_eq(run_sockctl(&r, NULL, T, "resolve", "--help", NULL), 0);
	help_flags(r.out, &f);
	cr_assert_eq(missing(text, "resolve", &f, STYLE_MAN, path, false), 0);
	/* Take every mention of --canonname out of the page. */
	while ((p = strstr(text, "\\-\\-canonname")))
		memcpy(p, "\\-\\-XXXXXXXXX", 13);
	cr_assert_eq(missing(text, "resolve", &f, STYLE_MAN, path, true), 1);
	flags_free(&f);
	run_free(&r);
	free(text);
	free(path);
}

Test(docs, help_flag_extraction)
{
	struct flags f;

	help_flags("Usage: x\n"
		   "  -4, -6                 IPv4 / IPv6\n"
		   "  -t, --type TYPE        stream\n"
		   "      --json             JSON - not -a flag\n"
		   "text -not a flag\n",
		   &f);
	cr_assert_eq(f.n, 5);
	cr_assert_str_eq(f.v[0], "-4");
	cr_assert_str_eq(f.v[1], "-6");
	cr_assert_str_eq(f.v[2], "-t");
	cr_assert_str_eq(f.v[3], "--type");
	cr_assert_str_eq(f.v[4], "--json");
	flags_free(&f);
}

Test(docs, man_page_renders_without_warnings)
{
	char *path = source_path("man/sockctl.1");
	const char *argv[] = {"groff", "-man", "-ww", "-z", path, NULL};
	struct run r;

	cr_assert_eq(run_argv(&r, NULL, T, argv), 0, "%s", r.err);
	cr_assert_str_empty(r.err);
	run_free(&r);
	free(path);
}
