/*
 * fmt.c - output formatting helpers (see fmt.h).
 */
#include "fmt.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *io_alloc(size_t n)
{
	/* aligned_alloc wants a multiple of the alignment. */
	return aligned_alloc(IO_ALIGN,
			     (n + IO_ALIGN - 1) & ~(size_t)(IO_ALIGN - 1));
}

void sbuf_reserve(struct sbuf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	size_t cap = b->cap ? b->cap : 64;
	char *p;

	if (need <= b->cap)
		return;
	while (cap < need)
		cap *= 2;
	/* Not realloc: it would not keep the alignment. */
	p = io_alloc(cap);
	if (!p)
		abort();
	if (b->data)
		memcpy(p, b->data, b->len);
	free(b->data);
	/* A fresh buffer must read as "" at once (sbuf_str promises it). */
	p[b->len] = '\0';
	b->data = p;
	b->cap = cap;
}

void sbuf_add(struct sbuf *b, const void *data, size_t len)
{
	sbuf_reserve(b, len);
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void sbuf_addc(struct sbuf *b, char c)
{
	sbuf_add(b, &c, 1);
}

void sbuf_adds(struct sbuf *b, const char *s)
{
	sbuf_add(b, s, strlen(s));
}

void sbuf_addf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	sbuf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

const char *sbuf_str(struct sbuf *b)
{
	sbuf_reserve(b, 0);
	return b->data;
}

void sbuf_reset(struct sbuf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void sbuf_free(struct sbuf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

static const char hexdig[] = "0123456789abcdef";

void fmt_escape(struct sbuf *b, const void *data, size_t len)
{
	const unsigned char *p = data, *end = p + len;
	char *o;

	/* At most 4 bytes out per byte in: write straight into the buffer,
	 * printable runs in one copy (this runs once per datagram or read). */
	sbuf_reserve(b, 4 * len);
	o = b->data + b->len;
	while (p < end) {
		const unsigned char *run = p;
		unsigned char c;

		while (p < end && *p >= 0x20 && *p < 0x7f && *p != '\\')
			p++;
		memcpy(o, run, (size_t)(p - run));
		o += p - run;
		if (p == end)
			break;
		c = *p++;
		*o++ = '\\';
		switch (c) {
		case '\\':
			*o++ = '\\';
			break;
		case '\n':
			*o++ = 'n';
			break;
		case '\r':
			*o++ = 'r';
			break;
		case '\t':
			*o++ = 't';
			break;
		default:
			*o++ = 'x';
			*o++ = hexdig[c >> 4];
			*o++ = hexdig[c & 15];
		}
	}
	b->len = (size_t)(o - b->data);
	b->data[b->len] = '\0';
}

/* Length of the valid UTF-8 sequence at p, or 0 if it is not one. */
static size_t utf8_seq(const unsigned char *p, size_t avail)
{
	uint32_t cp;
	size_t n;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (avail < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF. */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

bool fmt_utf8_valid(const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq(p + i, len - i);

		if (!n)
			return false;
		i += n;
	}
	return true;
}

void fmt_json_string(struct sbuf *b, const void *data, size_t len)
{
	const unsigned char *p = data;

	sbuf_reserve(b, len + 2);
	sbuf_addc(b, '"');
	for (size_t i = 0; i < len;) {
		unsigned char c = p[i];
		size_t n;

		if (c == '"' || c == '\\') {
			sbuf_addc(b, '\\');
			sbuf_addc(b, (char)c);
			i++;
			continue;
		}
		if (c < 0x20 || c == 0x7f) {
			switch (c) {
			case '\n':
				sbuf_add(b, "\\n", 2);
				break;
			case '\r':
				sbuf_add(b, "\\r", 2);
				break;
			case '\t':
				sbuf_add(b, "\\t", 2);
				break;
			default:
				sbuf_addf(b, "\\u%04x", c);
			}
			i++;
			continue;
		}
		n = utf8_seq(p + i, len - i);
		if (!n) {
			sbuf_add(b, "\\ufffd", 6);
			i++;
			continue;
		}
		sbuf_add(b, p + i, n);
		i += n;
	}
	sbuf_addc(b, '"');
}

void fmt_base64(struct sbuf *b, const void *data, size_t len)
{
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = data;
	size_t i;

	sbuf_reserve(b, (len + 2) / 3 * 4);
	for (i = 0; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 |
			     p[i + 2];
		char out[4] = {tbl[v >> 18], tbl[(v >> 12) & 63],
			       tbl[(v >> 6) & 63], tbl[v & 63]};
		sbuf_add(b, out, 4);
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		char out[4] = {tbl[v >> 18], tbl[(v >> 12) & 63], '=', '='};
		sbuf_add(b, out, 4);
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		char out[4] = {tbl[v >> 18], tbl[(v >> 12) & 63],
			       tbl[(v >> 6) & 63], '='};
		sbuf_add(b, out, 4);
	}
}

static void hexdump_line(struct sbuf *b, uint64_t offset,
			 const unsigned char *p, size_t n)
{
	sbuf_addf(b, "%08llx ", (unsigned long long)offset);
	for (size_t i = 0; i < 16; i++) {
		if (i == 8)
			sbuf_addc(b, ' ');
		if (i < n) {
			char hx[3] = {' ', hexdig[p[i] >> 4],
				      hexdig[p[i] & 15]};
			sbuf_add(b, hx, 3);
		} else {
			sbuf_add(b, "   ", 3);
		}
	}
	sbuf_add(b, "  |", 3);
	for (size_t i = 0; i < n; i++)
		sbuf_addc(b, p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '.');
	sbuf_add(b, "|\n", 2);
}

void fmt_hexdump(struct sbuf *b, uint64_t *offset, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i += 16) {
		size_t n = len - i < 16 ? len - i : 16;

		hexdump_line(b, *offset, p + i, n);
		*offset += n;
	}
}

void fmt_hexdump_end(struct sbuf *b, uint64_t offset)
{
	/* hexdump -C prints nothing at all for empty input. */
	if (offset == 0)
		return;
	sbuf_addf(b, "%08llx\n", (unsigned long long)offset);
}

void fmt_trace_line(struct sbuf *b, bool json, const struct timespec *when,
		    const char *peer, const char *dir, const void *data,
		    size_t len)
{
	char stamp[64];
	struct tm tm;
	time_t secs = when->tv_sec;

	localtime_r(&secs, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	if (!json) {
		sbuf_addf(b, "%s.%06ld ", stamp, when->tv_nsec / 1000);
		if (peer)
			sbuf_addf(b, "%s ", peer);
		sbuf_addf(b, "%s %zu ", dir, len);
		fmt_escape(b, data, len);
		sbuf_addc(b, '\n');
		return;
	}
	sbuf_addf(b, "{\"time\":\"%s.%06ld\",", stamp, when->tv_nsec / 1000);
	if (peer) {
		sbuf_adds(b, "\"peer\":");
		fmt_json_string(b, peer, strlen(peer));
		sbuf_addc(b, ',');
	}
	sbuf_addf(b, "\"dir\":\"%s\",\"len\":%zu,", dir, len);
	if (fmt_utf8_valid(data, len)) {
		sbuf_adds(b, "\"data\":");
		fmt_json_string(b, data, len);
	} else {
		sbuf_adds(b, "\"data_base64\":\"");
		fmt_base64(b, data, len);
		sbuf_addc(b, '"');
	}
	sbuf_adds(b, "}\n");
}
