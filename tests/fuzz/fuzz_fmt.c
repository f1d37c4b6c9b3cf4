/*
 * fuzz_fmt.c - libFuzzer target for the writers: escaping for terminals,
 * JSON strings, base64 and hexdump.  Checks what each promises: escaped
 * text is printable ASCII only (no byte from a peer reaches a terminal
 * raw), JSON strings are valid UTF-8 with no raw control bytes, base64 and
 * hexdump have their exact lengths.
 */
#include <assert.h>
#include <string.h>

#include "fmt.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct sbuf b = SBUF_INIT;
	uint64_t off = 0;

	fmt_escape(&b, data, size);
	for (size_t i = 0; i < b.len; i++)
		assert(b.data[i] >= 0x20 && b.data[i] < 0x7f);
	sbuf_reset(&b);

	fmt_json_string(&b, data, size);
	assert(b.len >= 2 && b.data[0] == '"' && b.data[b.len - 1] == '"');
	assert(fmt_utf8_valid(b.data, b.len));
	for (size_t i = 0; i < b.len; i++)
		assert((unsigned char)b.data[i] >= 0x20);
	sbuf_reset(&b);

	fmt_base64(&b, data, size);
	assert(b.len == (size + 2) / 3 * 4);
	sbuf_reset(&b);

	fmt_hexdump(&b, &off, data, size);
	fmt_hexdump_end(&b, off);
	assert(off == size);
	{
		size_t lines = 0;

		for (size_t i = 0; i < b.len; i++)
			lines += b.data[i] == '\n';
		/* The closing offset line only after some bytes: for no
		 * input hexdump -C prints nothing. */
		assert(lines == (size + 15) / 16 + (size ? 1 : 0));
	}
	sbuf_free(&b);
	return 0;
}
