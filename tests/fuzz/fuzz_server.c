/*
 * fuzz_server.c - libFuzzer target for the line framing that clients'
 * bytes go through: --prefix/--timestamp framing, --chat line assembly
 * (including /nick), and --print's escaped lines.  The input is cut into
 * chunks at arbitrary points, as TCP may deliver it.  Checks: framing
 * loses and adds no byte of data, every line gets exactly one prefix,
 * chat lines stay within their bound and carry no newline, and --print
 * output is printable ASCII lines only.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "server.h"

#define LINE_MAX_TEST 64

struct lines {
	size_t count, bytes;
};

static void on_line(const char *line, size_t len, void *arg)
{
	struct lines *l = arg;

	assert(len <= LINE_MAX_TEST);
	assert(!memchr(line, '\n', len));
	l->count++;
	l->bytes += len;
	if (len > 6 && !memcmp(line, "/nick ", 6))
		(void)server_nick_valid(line + 6, len - 6);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct sbuf framed = SBUF_INIT, printed = SBUF_INIT;
	struct lines l = {0, 0};
	char *buf = NULL;
	size_t buf_len = 0, newlines = 0, step;
	bool mid = false, pmid = false;

	if (size < 1)
		return 0;
	/* The first byte picks the chunk size. */
	step = (size_t)data[0] % 17 + 1;
	data++;
	size--;
	for (size_t off = 0; off < size; off += step) {
		size_t n = size - off < step ? size - off : step;

		server_frame_prefix(&framed, ">>", 2, data + off, n, &mid);
		server_lines(&buf, &buf_len, LINE_MAX_TEST, data + off, n,
			     on_line, &l);
		server_format_print(&printed, "127.0.0.1:1", data + off, n,
				    &pmid);
	}
	for (size_t i = 0; i < size; i++)
		newlines += data[i] == '\n';
	/* One prefix for each line begun: the data plus 2 bytes a line. */
	{
		size_t begun = newlines + (size && data[size - 1] != '\n');

		assert(framed.len == size + 2 * begun);
	}
	assert(buf_len <= LINE_MAX_TEST);
	for (size_t i = 0; i < printed.len; i++)
		assert(printed.data[i] == '\n' ||
		       (printed.data[i] >= 0x20 && printed.data[i] < 0x7f));
	free(buf);
	sbuf_free(&framed);
	sbuf_free(&printed);
	return 0;
}
