/*
 * Unit tests (TAP) for the octet loops that go sixteen octets a step,
 * against plain loops: lib/text.c's text_find and text_drop over random
 * buffers of every length up to 300 and of every density of the octet
 * sought, and a lone one at each place of a line; lib/stream.c's
 * stream_put_crlf (copy_octets) over lines of every length up to 600, into
 * a buffer with room and into one without; lib/copy.h's copy_octets over
 * every length up to 600 at every alignment, and wbuf_putu.  Run by
 * t/14-text-scans.t.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "copy.h"
#include "stream.h"
#include "tap.h"
#include "text.h"

/*
 * Lines of every length 0..600, LF-ended, through stream_put_crlf into a
 * wbuf of size bytes over a file: whether the file holds them CRLF-ended.
 */
static int
crlf_ok(size_t size)
{
	static char in[700 * 601], want[702 * 601], got[702 * 601], mem[65536];
	char path[] = "/tmp/sluice-text.XXXXXX";
	size_t len, n = 0, m = 0, i;
	struct wbuf w;
	ssize_t r;
	int fd, ok_ = 0;

	for (len = 0; len <= 600; len++) {
		for (i = 0; i < len; i++)
			in[n + i] = want[m + i] = (char)('!' + (len + i) % 90);
		in[n + len] = '\n';
		memcpy(want + m + len, "\r\n", 2);
		n += len + 1;
		m += len + 2;
	}
	if ((fd = mkstemp(path)) < 0)
		return 0;
	unlink(path);
	wbuf_init_mem(&w, fd, mem, size);
	if (stream_put_crlf(&w, in, n) == 0 && wbuf_flush(&w) == 0 &&
	    (r = pread(fd, got, sizeof got, 0)) == (ssize_t)m && memcmp(got, want, m) == 0)
		ok_ = 1;
	close(fd);
	return ok_;
}

/*
 * copy_octets for every length 0..600, from and to every alignment 0..15:
 * the copy equals the source, and the octets around it are untouched.
 */
static int
copy_bad(void)
{
	static char src[640], dst[680], ref[680];
	size_t n, so, dof, i;
	int bad = 0;

	for (i = 0; i < sizeof src; i++)
		src[i] = (char)(rand() % 256);
	for (n = 0; n <= 600; n++)
		for (so = 0; so < 16; so++)
			for (dof = 0; dof < 16; dof++) {
				memset(dst, 0x5a, sizeof dst);
				memset(ref, 0x5a, sizeof ref);
				memcpy(ref + 32 + dof, src + so, n);
				copy_octets(dst + 32 + dof, src + so, n);
				bad += memcmp(dst, ref, sizeof dst) != 0;
			}
	return bad;
}

/* wbuf_putu of v into a buffer: whether it wrote want and nothing else. */
static int
putu_is(unsigned long long v, const char *want)
{
	char mem[64];
	struct wbuf w;

	wbuf_init_mem(&w, -1, mem, sizeof mem);
	return wbuf_putu(&w, v) == 0 && w.len == strlen(want) &&
	    memcmp(mem, want, w.len) == 0;
}

static const char *
find_ref(const char *s, size_t n, char c)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] == c)
			return s + i;
	return NULL;
}

/* stream_plain_run as it was, a line at a time: the reference. */
static size_t
plain_ref(const char *p, size_t n, size_t *lines)
{
	size_t off = 0, k = 0, lim;
	const char *nl;

	while (off < n && p[off] != '.') {
		lim = n - off < STREAM_TEXT_MAX - 1 ? n - off : STREAM_TEXT_MAX - 1;
		if ((nl = find_ref(p + off, lim, '\n')) == NULL ||
		    (nl > p + off && nl[-1] == '\r'))
			break;
		off = (size_t)(nl - p) + 1;
		k++;
	}
	*lines = k;
	return off;
}

/*
 * Blocks of lines of lengths around every boundary (0, 15-17, mail's
 * 70-80, 996-1000, 1500), some starting with a dot or ending in CR LF,
 * with NULs and bare CRs inside, cut at every length: stream_plain_run
 * agrees with the reference.
 */
static int
plain_bad(void)
{
	static const size_t lens[] = { 0, 1, 15, 16, 17, 31, 72, 77, 500, 996, 997,
	    998, 999, 1000, 1500 };
	static char buf[8192];
	size_t n, i, len, cut, got, want, gl, wl;
	int round, bad = 0;

	for (round = 0; round < 400; round++) {
		n = 0;
		while (n < sizeof buf - 1600) {
			len = rand() % 3 ? (size_t)(rand() % 90) :
			    lens[rand() % (sizeof lens / sizeof *lens)];
			for (i = 0; i < len; i++)
				buf[n + i] = rand() % 50 == 0 ? '\0' : rand() % 50 == 0 ?
				    '\r' : (char)('a' + rand() % 26);
			if (len > 0 && rand() % 40 == 0)
				buf[n] = '.';
			if (len > 0 && rand() % 40 == 0)
				buf[n + len - 1] = '\r';
			buf[n + len] = '\n';
			n += len + 1;
		}
		for (cut = 0; cut <= n; cut += 1 + (size_t)(rand() % 7)) {
			got = stream_plain_run(buf, cut, &gl);
			want = plain_ref(buf, cut, &wl);
			bad += got != want || gl != wl;
		}
	}
	return bad;
}

static size_t
drop_ref(const char *s, size_t n, char c, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++)
		if (s[i] != c)
			out[o++] = s[i];
	return o;
}

int
main(void)
{
	char buf[400], ref[400], work[400];
	size_t n, k, got, want;
	int round, density, bad_drop = 0, bad_find = 0, pos;

	srand(9);
	for (round = 0; round < 500; round++)
		for (n = 0; n <= 300; n++) {
			density = rand() % 6;	/* 0: none; 5: nearly all */
			for (k = 0; k < n; k++)
				buf[k] = rand() % 10 < density * 2 ? '\r' : (char)('a' + rand() % 26);
			memcpy(work, buf, n);
			want = drop_ref(buf, n, '\r', ref);
			got = text_drop(work, n, '\r');
			if (got != want || memcmp(work, ref, want) != 0)
				bad_drop++;
			if (text_find(buf, n, '\r') != find_ref(buf, n, '\r'))
				bad_find++;
		}
	ok(bad_drop == 0, "text_drop leaves out every CR and keeps the rest, in order");
	ok(bad_find == 0, "text_find finds the first CR, or none");
	/* CRLF lines of 77 octets, as sluice-smtp's spool holds them. */
	for (k = 0, n = 0; k < 5; k++) {
		memset(buf + n, 'a' + (int)k, 77);
		memcpy(buf + n + 77, "\r\n", 2);
		n += 79;
	}
	memcpy(work, buf, n);
	want = drop_ref(buf, n, '\r', ref);
	ok(text_drop(work, n, '\r') == want && memcmp(work, ref, want) == 0,
	    "CRLF lines become LF lines");
	bad_drop = 0;
	for (pos = 0; pos < 77; pos++) {
		memset(buf, 'x', 77);
		buf[pos] = '\r';
		memcpy(work, buf, 77);
		if (text_drop(work, 77, '\r') != 76 || memchr(work, '\r', 76) != NULL)
			bad_drop++;
	}
	ok(bad_drop == 0, "a lone CR anywhere in a 77-octet line goes");
	memset(work, '\r', 64);
	ok(text_drop(work, 64, '\r') == 0, "a buffer of CRs only becomes empty");
	ok(crlf_ok(65536), "stream_put_crlf: lines of 0 to 600 octets, CRLF-ended, into room");
	ok(crlf_ok(64), "stream_put_crlf: the same through a buffer of 64 octets");
	ok(plain_bad() == 0, "stream_plain_run: the line-by-line reference's lines, cut anywhere");
	ok(copy_bad() == 0, "copy_octets: 0 to 600 octets, every alignment, exact and in bounds");
	ok(putu_is(0, "0") && putu_is(7, "7") && putu_is(10, "10") &&
	    putu_is(5200, "5200") && putu_is(18446744073709551615ULL,
	    "18446744073709551615"), "wbuf_putu: 0, one digit, 10, 5200, the largest");
	return tap_done();
}
