/*
 * fmt.h - output formatting: a growable byte buffer, escaping of
 * non-printable bytes, JSON strings, base64 and the `hexdump -C` layout.
 *
 * Everything appends to a struct sbuf; the caller decides where it goes.
 * Allocation failure aborts: a formatter that silently drops output would
 * be worse than no program.
 */
#ifndef SOCKCTL_FMT_H
#define SOCKCTL_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct sbuf {
	char *data;
	size_t len;
	size_t cap;
};

#define SBUF_INIT          \
	{                  \
		NULL, 0, 0 \
	}

/*
 * Memory for I/O: n bytes on an IO_ALIGN boundary, NULL when there is
 * none; free() it.  The kernel copies into and out of user buffers with
 * `rep movsb`, which on this AMD EPYC runs at less than half speed when
 * the buffer starts 16 bytes past a cache line, as malloc's large blocks
 * do: reading a pipe, 0.95 GiB/s against 2.3 at offset 0 or 64.
 */
#define IO_ALIGN 64
void *io_alloc(size_t n);

/* sbuf data comes from io_alloc, so reads straight into it are fast. */
void sbuf_reserve(struct sbuf *b, size_t extra);
void sbuf_add(struct sbuf *b, const void *data, size_t len);
void sbuf_addc(struct sbuf *b, char c);
void sbuf_adds(struct sbuf *b, const char *s);
void sbuf_addf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The text so far, NUL-terminated (never NULL). */
const char *sbuf_str(struct sbuf *b);
void sbuf_reset(struct sbuf *b);
void sbuf_free(struct sbuf *b);

/*
 * Printable ASCII as is, backslash as \\, newline \n, CR \r, tab \t,
 * everything else (control bytes, ESC, bytes >= 0x7f) as \xHH.  The result
 * is safe to put on a terminal.
 */
void fmt_escape(struct sbuf *b, const void *data, size_t len);

/* A JSON string literal, quotes included; invalid UTF-8 becomes U+FFFD. */
void fmt_json_string(struct sbuf *b, const void *data, size_t len);
bool fmt_utf8_valid(const void *data, size_t len);
void fmt_base64(struct sbuf *b, const void *data, size_t len);

/*
 * `hexdump -C` lines for data that starts at stream offset *offset, which
 * is advanced.  Call fmt_hexdump_end() once at the end of the stream for
 * the closing offset line (none for an empty stream, as hexdump prints
 * nothing then).  Repeated lines are not squeezed into '*' (as
 * with hexdump -v): a stream cannot know what comes next.
 */
void fmt_hexdump(struct sbuf *b, uint64_t *offset, const void *data,
		 size_t len);
void fmt_hexdump_end(struct sbuf *b, uint64_t offset);

/*
 * One line of a --trace file for a chunk of data: the local time with
 * microseconds, the peer (NULL to leave it out), the direction word
 * ("send" or "recv"), the length and the bytes escaped as fmt_escape does:
 *   2026-11-21T10:02:03.123456 send 6 hello\n
 * or, with json, an object with the keys time, peer (when given), dir,
 * len and data (a JSON string when the bytes are UTF-8, else data_base64).
 */
void fmt_trace_line(struct sbuf *b, bool json, const struct timespec *when,
		    const char *peer, const char *dir, const void *data,
		    size_t len);

#endif
