/*
 * dgram.c - datagram batches and their output formats (see dgram.h).
 */
#define _GNU_SOURCE
#include "dgram.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <poll.h>
#include <unistd.h>

void dgram_out_init(struct dgram_out *o, enum dgram_fmt fmt)
{
	memset(o, 0, sizeof(*o));
	o->fmt = fmt;
}

void dgram_out_free(struct dgram_out *o)
{
	sbuf_free(&o->buf);
}

const char *dgram_out_addr(struct dgram_out *o, const struct sockaddr *sa,
			   socklen_t len)
{
	if (len > sizeof(o->last))
		len = sizeof(o->last);
	if (o->cached && len == o->lastlen && !memcmp(&o->last, sa, len))
		return o->addr;
	memcpy(&o->last, sa, len);
	o->lastlen = len;
	o->cached = true;
	/* A Unix sender that never bound an address has no name at all. */
	if (len < sizeof(sa_family_t) || sa->sa_family == AF_UNSPEC) {
		o->is_unix = true;
		o->port = 0;
		strcpy(o->host, "(unnamed)");
		strcpy(o->addr, o->host);
		return o->addr;
	}
	o->is_unix = sa->sa_family == AF_UNIX;
	net_addr_host(sa, len, o->host, &o->port);
	net_addr_str(sa, len, o->addr);
	return o->addr;
}

static void add_truncated(struct sbuf *b, const struct dgram *d)
{
	if (d->real_len > d->len)
		sbuf_addf(b, " (truncated, %zu bytes)", d->real_len);
}

static void add_rtt(struct sbuf *b, const struct dgram_rtt *rtt)
{
	if (rtt)
		sbuf_addf(b, " seq=%llu time=%.3f ms",
			  (unsigned long long)rtt->seq, rtt->ms);
}

static void add_text(struct dgram_out *o, const struct dgram *d,
		     const struct dgram_rtt *rtt)
{
	struct sbuf *b = &o->buf;

	sbuf_adds(b, o->addr);
	sbuf_add(b, ": ", 2);
	fmt_escape(b, d->data, d->len);
	add_truncated(b, d);
	add_rtt(b, rtt);
	sbuf_addc(b, '\n');
}

static void add_hex(struct dgram_out *o, const struct dgram *d,
		    const struct dgram_rtt *rtt)
{
	struct sbuf *b = &o->buf;
	uint64_t off = 0;

	sbuf_addf(b, "%s: %zu bytes", o->addr, d->len);
	add_truncated(b, d);
	add_rtt(b, rtt);
	sbuf_addc(b, '\n');
	fmt_hexdump(b, &off, d->data, d->len);
	fmt_hexdump_end(b, off);
}

static void add_json(struct dgram_out *o, const struct dgram *d,
		     const struct dgram_rtt *rtt)
{
	struct sbuf *b = &o->buf;

	sbuf_adds(b, "{\"from\":");
	fmt_json_string(b, o->host, strlen(o->host));
	if (o->is_unix)
		sbuf_adds(b, ",\"port\":null");
	else
		sbuf_addf(b, ",\"port\":%u", o->port);
	sbuf_addf(b, ",\"length\":%zu,", d->len);
	if (fmt_utf8_valid(d->data, d->len)) {
		sbuf_adds(b, "\"data\":");
		fmt_json_string(b, d->data, d->len);
	} else {
		sbuf_adds(b, "\"data_base64\":\"");
		fmt_base64(b, d->data, d->len);
		sbuf_addc(b, '"');
	}
	if (d->real_len > d->len)
		sbuf_addf(b, ",\"truncated\":true,\"real_length\":%zu",
			  d->real_len);
	if (rtt)
		sbuf_addf(b, ",\"seq\":%llu,\"time_ms\":%.3f",
			  (unsigned long long)rtt->seq, rtt->ms);
	sbuf_add(b, "}\n", 2);
}

void dgram_out_add(struct dgram_out *o, const struct dgram *d,
		   const struct dgram_rtt *rtt)
{
	if (o->fmt == DGRAM_RAW) {
		sbuf_add(&o->buf, d->data, d->len);
		return;
	}
	dgram_out_addr(o, d->from, d->fromlen);
	switch (o->fmt) {
	case DGRAM_TEXT:
		add_text(o, d, rtt);
		break;
	case DGRAM_HEX:
		add_hex(o, d, rtt);
		break;
	case DGRAM_JSON:
		add_json(o, d, rtt);
		break;
	case DGRAM_RAW:
		break;
	}
}

size_t dgram_max_payload(int family)
{
	switch (family) {
	case AF_INET:
		return DGRAM_MAX_UDP4;
	case AF_INET6:
		return DGRAM_MAX_UDP6;
	default:
		return 0;
	}
}

int dgram_rx_init(struct dgram_rx *rx, unsigned n, size_t size)
{
	memset(rx, 0, sizeof(*rx));
	if (n == 0 || size == 0)
		return -EINVAL;
	rx->n = n;
	rx->size = size;
	/* Every slot on an IO_ALIGN boundary (see io_alloc). */
	rx->stride = (size + IO_ALIGN - 1) & ~(size_t)(IO_ALIGN - 1);
	rx->bufs = io_alloc(n * rx->stride);
	rx->msgs = calloc(n, sizeof(*rx->msgs));
	rx->iov = calloc(n, sizeof(*rx->iov));
	rx->addrs = calloc(n, sizeof(*rx->addrs));
	if (!rx->bufs || !rx->msgs || !rx->iov || !rx->addrs) {
		dgram_rx_free(rx);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		rx->iov[i].iov_base = rx->bufs + i * rx->stride;
		rx->iov[i].iov_len = size;
		rx->msgs[i].msg_hdr.msg_iov = &rx->iov[i];
		rx->msgs[i].msg_hdr.msg_iovlen = 1;
		rx->msgs[i].msg_hdr.msg_name = &rx->addrs[i];
	}
	return 0;
}

void dgram_rx_free(struct dgram_rx *rx)
{
	free(rx->bufs);
	free(rx->msgs);
	free(rx->iov);
	free(rx->addrs);
	memset(rx, 0, sizeof(*rx));
}

int dgram_rx_recv(struct dgram_rx *rx, int fd, unsigned max)
{
	int r;

	if (max > rx->n)
		max = rx->n;
	for (unsigned i = 0; i < max; i++) {
		rx->msgs[i].msg_hdr.msg_namelen = sizeof(rx->addrs[i]);
		rx->msgs[i].msg_hdr.msg_flags = 0;
		rx->addrs[i].ss_family = AF_UNSPEC;
	}
	/* MSG_TRUNC makes msg_len the datagram's real length. */
	do
		r = recvmmsg(fd, rx->msgs, max, MSG_DONTWAIT | MSG_TRUNC, NULL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	return r;
}

void dgram_rx_get(const struct dgram_rx *rx, unsigned i, struct dgram *d)
{
	const struct msghdr *h = &rx->msgs[i].msg_hdr;

	d->from = (const struct sockaddr *)&rx->addrs[i];
	d->fromlen = h->msg_namelen;
	d->data = rx->iov[i].iov_base;
	d->real_len = rx->msgs[i].msg_len;
	d->len = d->real_len < rx->size ? d->real_len : rx->size;
}

int dgram_out_flush(struct dgram_out *o, int fd)
{
	const char *p = o->buf.data;
	size_t left = o->buf.len;
	int r = 0;

	while (left > 0) {
		ssize_t n = write(fd, p, left);

		if (n >= 0) {
			p += n;
			left -= (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		/* A descriptor someone else made non-blocking: wait. */
		if (errno == EAGAIN && (r = net_wait(fd, POLLOUT, -1)) >= 0)
			continue;
		r = r < 0 ? r : -errno;
		break;
	}
	sbuf_reset(&o->buf);
	return r < 0 ? r : 0;
}

/* Drop what was taken before growing, so the buffer stays small. */
static void lines_compact(struct dgram_lines *l)
{
	if (l->pos > 0) {
		memmove(l->buf.data, l->buf.data + l->pos, l->buf.len - l->pos);
		l->buf.len -= l->pos;
		l->pos = 0;
	}
}

ssize_t dgram_lines_read(struct dgram_lines *l, int fd)
{
	ssize_t n;

	lines_compact(l);
	sbuf_reserve(&l->buf, 65536);
	do
		n = read(fd, l->buf.data + l->buf.len, 65536);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		l->eof = true;
	l->buf.len += (size_t)n;
	return n;
}

bool dgram_lines_next(struct dgram_lines *l, bool whole, const char **ret,
		      size_t *ret_len)
{
	const char *start = l->buf.data + l->pos, *nl = NULL;
	size_t avail = l->buf.len - l->pos;

	if (l->done)
		return false;
	if (!whole && avail > 0)
		nl = memchr(start, '\n', avail);
	if (nl) {
		*ret = start;
		*ret_len = (size_t)(nl - start);
		l->pos += *ret_len + 1;
		return true;
	}
	if (!l->eof)
		return false;
	/* The last line may lack its newline.  An empty rest is no line,
	 * except that --whole makes even an empty stdin one datagram. */
	l->done = true;
	if (avail == 0 && !whole)
		return false;
	*ret = avail ? start : "";
	*ret_len = avail;
	l->pos = l->buf.len;
	return true;
}

void dgram_lines_add(struct dgram_lines *l, const char *line)
{
	lines_compact(l);
	sbuf_adds(&l->buf, line);
	sbuf_addc(&l->buf, '\n');
}

void dgram_lines_end(struct dgram_lines *l)
{
	l->eof = true;
}

void dgram_lines_free(struct dgram_lines *l)
{
	sbuf_free(&l->buf);
	memset(l, 0, sizeof(*l));
}
