/*
 * The batch out of the tunnel message's body: 7bit and 8bit bodies line
 * by line, base64 strictly.  The batch is written with CRLF after every
 * line, as RFC 2442 has it and as the MAC covers it; an octet a batch may
 * not hold (NUL, a CR outside CRLF) is a refusal, wherever it appears.
 */
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "b64.h"
#include "buf.h"
#include "decode.h"
#include "log.h"
#include "stream.h"

struct out {
	struct wbuf w;
	struct sha256_hmac mac;
	int macing;
	int cr;			/* the last octet written was a CR */
	unsigned long long bytes;
};

static void
put(struct decode *d, struct out *o, const void *p, size_t n)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++) {
		if (c[i] == '\0')
			refuse_input(d, "NUL octet in the batch");
		if (o->cr && c[i] != '\n')
			refuse_input(d, "bare CR in the batch");
		o->cr = c[i] == '\r';
	}
	if (o->macing)
		sha256_hmac_update(&o->mac, p, n);
	if (wbuf_put(&o->w, p, n) < 0)
		die_sys("unable to write a temporary file");
	o->bytes += n;
}

/* A 7bit or 8bit body, or a plain batch: each line with CRLF. */
static void
unwrap_lines(struct decode *d, struct rbuf *r, struct out *o)
{
	const char *l;
	size_t n;
	unsigned long blank = 0, line = d->h.lines;
	int rc;

	while ((rc = rbuf_getline(r, &l, &n, STREAM_CMD_MAX + 1)) == 1) {
		line++;
		if (l[n - 1] != '\n')
			refuse_input(d, "the batch ends inside a line (no line end)");
		n -= n >= 2 && l[n - 2] == '\r' ? 2 : 1;
		if (memchr(l, '\r', n) != NULL || memchr(l, '\0', n) != NULL)
			refuse_input(d, "NUL or bare CR in line %lu", line);
		if (n == 0) {
			/* Blank lines at the very end are the transport's padding. */
			blank++;
			continue;
		}
		for (; blank > 0; blank--)
			put(d, o, "\r\n", 2);
		put(d, o, l, n);
		put(d, o, "\r\n", 2);
	}
	if (rc == -2)
		refuse_input(d, "line %lu is longer than %d octets", line + 1,
		    STREAM_CMD_MAX - 2);
	if (rc < 0)
		die_sys("unable to read a temporary file");
}

static void
unwrap_base64(struct decode *d, struct rbuf *r, struct out *o)
{
	struct b64_dec b;
	unsigned char buf[HEAD_LINE_MAX + 4];
	const char *l;
	size_t n, k;
	unsigned long line = d->h.lines;
	int rc;

	b64_dec_init(&b);
	while ((rc = rbuf_getline(r, &l, &n, HEAD_LINE_MAX + 2)) == 1) {
		line++;
		if (l[n - 1] == '\n')
			n -= n >= 2 && l[n - 2] == '\r' ? 2 : 1;
		if (b64_dec_line(&b, l, n, buf, &k) < 0)
			refuse_input(d, "line %lu is not base64", line);
		put(d, o, buf, k);
	}
	if (rc == -2)
		refuse_input(d, "line %lu is longer than %d octets", line + 1,
		    HEAD_LINE_MAX);
	if (rc < 0)
		die_sys("unable to read a temporary file");
	if (b64_dec_end(&b) < 0)
		refuse_input(d, "the base64 body is cut short");
	if (o->bytes == 0)
		refuse_input(d, "empty batch");
	if (o->cr)
		refuse_input(d, "bare CR at the end of the batch");
}

/* Constant-time comparison of the MAC fields, hex in any case. */
static int
mac_equal(const char *a, const char *b)
{
	size_t n = strlen(a), i;
	unsigned diff = 0;

	if (strlen(b) != n)
		return 0;
	for (i = 0; i < n; i++)
		diff |= (unsigned)((a[i] | 0x20) ^ (b[i] | 0x20));
	return diff == 0;
}

void
unwrap_body(struct decode *d, unsigned long long off)
{
	struct rbuf r;
	struct out o;
	const char *cte = d->h.cte;
	char mac[100];
	int b64 = 0;

	if (!d->plain) {
		if (strcmp(cte, "base64") == 0)
			b64 = 1;
		else if (*cte && strcmp(cte, "7bit") && strcmp(cte, "8bit"))
			refuse_input(d, "unsupported Content-Transfer-Encoding: %s", cte);
	}
	memset(&o, 0, sizeof o);
	if (lseek(d->raw_fd, (off_t)off, SEEK_SET) < 0 ||
	    rbuf_init(&r, d->raw_fd, BUF_SIZE) < 0 ||
	    wbuf_init(&o.w, d->batch_fd, BUF_SIZE) < 0)
		die_sys("unable to read a temporary file");
	if (d->secret[0]) {
		bsmtp_mac_init(&o.mac, d->secret, d->h.id);
		o.macing = 1;
	}
	if (b64)
		unwrap_base64(d, &r, &o);
	else
		unwrap_lines(d, &r, &o);
	if (wbuf_flush(&o.w) < 0)
		die_sys("unable to write a temporary file");
	rbuf_free(&r);
	wbuf_free(&o.w);
	if (!o.macing)
		return;
	bsmtp_mac_final(&o.mac, mac, sizeof mac);
	if (d->h.mac[0] == '\0')
		refuse_input(d, "5.7.1 no %s field, and sender %s has a secret",
		    BSMTP_MAC_FIELD, d->h.from);
	if (!mac_equal(mac, d->h.mac))
		refuse_input(d, "5.7.1 the MAC does not match: forged or altered "
		    "on the way");
}
