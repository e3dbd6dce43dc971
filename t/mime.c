/*
 * Unit tests (TAP) for the MIME walker lib/mime.c and its decoders and
 * header readers (lib/mimedec.c, lib/mimehdr.c); run by
 * t/13-mime-walker.t.  Hand-made messages, and the malformed ones an
 * attacker would send: prefix boundaries, missing final boundaries,
 * 10,000 nested multiparts, 1 MB header lines, base64 with garbage, a
 * part-count bomb, random octets.  Every walk also checks that the raw
 * lines put back together are the input.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime.h"
#include "mimehdr.h"
#include "tap.h"

#define NPART 64

struct rec {
	char trace[8192];	/* "path type enc name size flags|" per end() */
	size_t tl;
	struct { char path[64]; char d[8192]; size_t n; } part[NPART];
	size_t np;
	char *raw;		/* the raw lines again, each with LF */
	size_t rl, ra;
	size_t begins, ends, maxdepth;
	int order_ok;		/* no data before begin, nothing after end */
	const char *skip;	/* begin() of this path says MIME_SKIP */
	char kinds[64];		/* the raw kinds of the first lines, as digits */
};

static int
r_begin(void *ctx, const struct mime_part *p)
{
	struct rec *r = ctx;

	r->begins++;
	if (p->depth > r->maxdepth)
		r->maxdepth = p->depth;
	if (r->np < NPART) {
		snprintf(r->part[r->np].path, sizeof r->part[0].path, "%s", p->path);
		r->part[r->np++].n = 0;
	}
	return r->skip && strcmp(p->path, r->skip) == 0 ? MIME_SKIP : MIME_DECODE;
}

static void
r_raw(void *ctx, const struct mime_part *p, enum mime_raw kind, const char *s,
    size_t n, int eol)
{
	struct rec *r = ctx;
	size_t k = strlen(r->kinds);

	(void)p;
	if (k + 1 < sizeof r->kinds)
		r->kinds[k] = (char)('0' + kind);
	if (r->rl + n + 1 >= r->ra) {
		r->ra = (r->rl + n + 1) * 2;
		if ((r->raw = realloc(r->raw, r->ra)) == NULL)
			abort();
	}
	memcpy(r->raw + r->rl, s, n);
	r->rl += n;
	if (eol)
		r->raw[r->rl++] = '\n';
}

static void
r_data(void *ctx, const struct mime_part *p, const unsigned char *d, size_t n)
{
	struct rec *r = ctx;
	size_t i;

	for (i = r->np; i-- > 0; )
		if (strcmp(r->part[i].path, p->path) == 0)
			break;
	if (i == (size_t)-1) {
		/* Data of a part never begun (past NPART, only its path is unknown). */
		if (r->np < NPART)
			r->order_ok = 0;
		return;
	}
	if (r->part[i].n + n < sizeof r->part[i].d) {
		memcpy(r->part[i].d + r->part[i].n, d, n);
		r->part[i].n += n;
	}
}

static const char *const encs[] = { "7bit", "8bit", "binary", "base64", "qp",
	"uu", "other" };

static void
r_end(void *ctx, const struct mime_part *p)
{
	struct rec *r = ctx;
	int k;

	r->ends++;
	if (r->tl + 600 >= sizeof r->trace)
		return;
	k = snprintf(r->trace + r->tl, sizeof r->trace - r->tl, "%s %s %s %s%s%zu %x|",
	    *p->path ? p->path : "-", p->type, encs[p->enc], p->filename,
	    *p->filename ? " " : "", (size_t)p->size, p->flags);
	if (k > 0)
		r->tl += (size_t)k;
}

static const struct mime_ops ops = { r_begin, r_raw, r_data, r_end };

static unsigned walk_flags;

/* Walk msg (fed in chunks of chunk octets, 0: whole) and record it. */
static struct rec *
walk(const char *msg, size_t len, size_t chunk, const struct mime_limits *lim)
{
	struct rec *r = calloc(1, sizeof *r);
	struct mime *m;
	size_t i;

	r->order_ok = 1;
	if ((m = mime_new(&ops, r, lim)) == NULL)
		abort();
	if (chunk == 0)
		chunk = len ? len : 1;
	for (i = 0; i < len; i += chunk)
		mime_feed(m, msg + i, len - i < chunk ? len - i : chunk);
	mime_end(m);
	walk_flags = mime_flags(m);
	mime_free(m);
	return r;
}

static struct rec *
walks(const char *msg)
{
	return walk(msg, strlen(msg), 0, NULL);
}

static void
rec_free(struct rec *r)
{
	free(r->raw);
	free(r);
}

/* The decoded content of path, NUL-terminated in place. */
static const char *
data(struct rec *r, const char *path)
{
	size_t i;

	for (i = 0; i < r->np; i++)
		if (strcmp(r->part[i].path, path) == 0) {
			r->part[i].d[r->part[i].n] = '\0';
			return r->part[i].d;
		}
	return "(no such part)";
}

static int
lossless(const struct rec *r, const char *msg, size_t len)
{
	return r->rl == len && memcmp(r->raw, msg, len) == 0 &&
	    r->begins == r->ends && r->order_ok;
}

static int
has(const struct rec *r, const char *s)
{
	return strstr(r->trace, s) != NULL;
}

static void
is_trace(const struct rec *r, const char *exp, const char *name)
{
	ok(strcmp(r->trace, exp) == 0, name);
	if (strcmp(r->trace, exp) != 0)
		printf("#      got: %s\n# expected: %s\n", r->trace, exp);
}

static void
cases_simple(void)
{
	static const char m1[] = "From: a@b\nSubject: hi\n\nhello\nworld\n";
	static const char m2[] = "MIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=\"XX\"\n\npreamble\n--XX\n"
	    "Content-Type: text/plain; charset=us-ascii\n\nbody text\n--XX\n"
	    "Content-Type: application/octet-stream; name=\"a.bin\"\n"
	    "Content-Transfer-Encoding: base64\n"
	    "Content-Disposition: attachment; filename=\"file.bin\"\n\n"
	    "aGVsbG8gd29ybGQ=\n--XX--\nepilogue\n";
	struct rec *r, *r2;
	struct mime_limits lim = { 1, 1, 10 };
	struct mime *m;

	r = walks(m1);
	is_trace(r, "- text/plain 7bit 14 0|", "a message without MIME is one text/plain entity");
	ok(strcmp(data(r, ""), "hello\r\nworld\r\n") == 0, "its content has CRLF line ends");
	ok(strcmp(r->kinds, "00011") == 0, "header lines, the empty line, then body lines");
	ok(lossless(r, m1, strlen(m1)), "the raw lines are the input");
	rec_free(r);

	r = walks(m2);
	is_trace(r, "1 text/plain 7bit 9 0|2 application/octet-stream base64 file.bin 11 0|"
	    "- multipart/mixed 7bit 0 0|", "multipart: a text part and a base64 attachment");
	ok(strcmp(data(r, "1"), "body text") == 0,
	    "the line end before a boundary belongs to the boundary");
	ok(strcmp(data(r, "2"), "hello world") == 0, "base64 is decoded");
	ok(strcmp(r->kinds, "0002300130000134") == 0,
	    "raw kinds: header, preamble, boundary, body, epilogue");
	ok(lossless(r, m2, strlen(m2)) && walk_flags == 0, "lossless, and nothing malformed");
	rec_free(r);

	r = walk(m2, strlen(m2), 1, NULL);
	r2 = walks(m2);
	ok(strcmp(r->trace, r2->trace) == 0 && lossless(r, m2, strlen(m2)),
	    "fed one octet at a time, the walk is the same");
	rec_free(r);
	rec_free(r2);

	r = walks("Subject: x\r\nContent-Type: text/plain\r\n\r\na\r\nb\r\n");
	ok(strcmp(r->trace, "- text/plain 7bit 6 0|") == 0 && strcmp(data(r, ""), "a\r\nb\r\n") == 0,
	    "CRLF input walks as LF input");
	rec_free(r);

	r = walks("");
	ok(strcmp(r->trace, "- text/plain 7bit 0 0|") == 0 && r->begins == 1,
	    "an empty message is one empty entity");
	rec_free(r);

	r = walks("Subject: x\nFrom: y");
	ok(strcmp(r->trace, "- text/plain 7bit 0 0|") == 0 &&
	    lossless(r, "Subject: x\nFrom: y", 18), "a header without body or final LF");
	rec_free(r);

	r = calloc(1, sizeof *r);
	r->order_ok = 1;
	r->skip = "1";
	m = mime_new(&ops, r, NULL);
	mime_feed(m, m2, strlen(m2));
	mime_end(m);
	ok(strcmp(data(r, "1"), "") == 0 && strcmp(data(r, "2"), "hello world") == 0 &&
	    lossless(r, m2, strlen(m2)), "MIME_SKIP: no data for that part, raw lines still");
	mime_reset(m);
	memset(r->part, 0, sizeof r->part);
	r->np = 0;
	r->skip = NULL;
	mime_feed(m, m1, strlen(m1));
	mime_end(m);
	ok(strcmp(data(r, ""), "hello\r\nworld\r\n") == 0, "a reset walker walks the next message");
	mime_reset(m);
	memset(r->part, 0, sizeof r->part);
	r->np = 0;
	r->skip = "";
	mime_line(m, "", 0);
	mime_line(m, "begin 644 cat.txt", 17);
	mime_line(m, "#8V%T", 5);
	mime_line(m, "end", 3);
	mime_end(m);
	ok(strcmp(data(r, ""), "") == 0 && strcmp(data(r, "1"), "cat") == 0,
	    "a skipped text part still reports the files inside it");
	mime_free(m);
	rec_free(r);

	m = mime_new(NULL, NULL, &lim);
	mime_feed(m, m2, strlen(m2));
	mime_end(m);
	ok((mime_flags(m) & (MIME_F_DEPTH | MIME_F_PARTS)) == (MIME_F_DEPTH | MIME_F_PARTS) ||
	    (mime_flags(m) & MIME_F_PARTS), "no callbacks and tiny limits: no crash");
	mime_free(m);
}

static void
cases_encodings(void)
{
	struct rec *r;

	r = walks("Content-Transfer-Encoding: quoted-printable\n\ncaf=C3=A9 =\nau lait   \nbad =ZZ end\n");
	ok(strcmp(data(r, ""), "caf\xc3\xa9 au lait\r\nbad =ZZ end\r\n") == 0,
	    "quoted-printable: =XX, soft breaks, trailing white space");
	ok(walk_flags == MIME_F_ENCODING, "a bad = escape is kept and flagged");
	rec_free(r);

	r = walks("Content-Transfer-Encoding: base64\n\naGVs!!bG8*\ngd29y\nbGQ=\n");
	ok(strcmp(data(r, ""), "hello world") == 0 && walk_flags == MIME_F_ENCODING,
	    "base64 with garbage: the garbage is skipped and flagged");
	rec_free(r);

	r = walks("Content-Transfer-Encoding: BASE64\n\naGk=aGk=\n");
	ok(strcmp(data(r, ""), "hihi") == 0 && walk_flags == MIME_F_ENCODING,
	    "base64 after its padding is decoded and flagged");
	rec_free(r);

	r = walks("Content-Transfer-Encoding: base64\n\n!!!!@@@@\n====\n");
	ok(strcmp(r->trace, "- text/plain base64 0 20|") == 0, "base64 of nothing but garbage");
	rec_free(r);

	r = walks("Content-Transfer-Encoding: base64\n\naGVsbG8g\nd29ybGQ\n");
	ok(strcmp(data(r, ""), "hello world") == 0 && walk_flags == 0,
	    "base64 without its padding still gives its whole octets");
	rec_free(r);

	r = walks("Content-Transfer-Encoding: x-uuencode\nContent-Type: application/octet-stream\n\n"
	    "begin 644 cat.txt\n#8V%T\n`\nend\n");
	is_trace(r, "- application/octet-stream uu cat.txt 3 0|", "x-uuencode: name and content");
	ok(strcmp(data(r, ""), "cat") == 0, "x-uuencode is decoded");
	rec_free(r);

	r = walks("Content-Transfer-Encoding: x-gzip64\n\nabc\n");
	ok(strcmp(r->trace, "- text/plain other 5 0|") == 0, "an unknown encoding passes as it is");
	rec_free(r);
}

static void
cases_structure(void)
{
	static const char nest[] = "Content-Type: multipart/mixed; boundary=outer\n\n"
	    "--outer\nContent-Type: multipart/alternative; boundary=inner\n\n"
	    "--inner\nContent-Type: text/plain\n\nplain\n--inner\nContent-Type: text/html\n\n"
	    "<p>html</p>\n--inner--\n--outer\nContent-Type: text/plain\n\nsecond\n--outer--\n";
	static const char pre1[] = "Content-Type: multipart/mixed; boundary=abc\n\n"
	    "--abc\nContent-Type: multipart/mixed; boundary=abcd\n\n--abcd\n\ninner one\n"
	    "--abcdef is text\n--abcd--\n--abc  \n\nouter two\n--abc--\t\n";
	static const char pre2[] = "Content-Type: multipart/mixed; boundary=abcd\n\n"
	    "--abcd\nContent-Type: multipart/mixed; boundary=abc\n\n--abc\n\ninner one\n"
	    "--abc--\n--abcd\n\nouter two\n--abcd--\n";
	struct rec *r;

	r = walks(nest);
	is_trace(r, "1.1 text/plain 7bit 5 0|1.2 text/html 7bit 11 0|"
	    "1 multipart/alternative 7bit 0 0|2 text/plain 7bit 6 0|"
	    "- multipart/mixed 7bit 0 0|", "nested multiparts, paths 1.1, 1.2, 2");
	ok(lossless(r, nest, sizeof nest - 1), "nested: lossless");
	rec_free(r);

	r = walks(pre1);
	ok(strcmp(data(r, "1.1"), "inner one\r\n--abcdef is text") == 0 &&
	    strcmp(data(r, "2"), "outer two") == 0 && walk_flags == 0,
	    "outer boundary a prefix of the inner one: each matches its own lines");
	rec_free(r);
	r = walks(pre2);
	ok(strcmp(data(r, "1.1"), "inner one") == 0 && strcmp(data(r, "2"), "outer two") == 0 &&
	    walk_flags == 0, "inner boundary a prefix of the outer one: the same");
	rec_free(r);

	r = walks("Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\n\ntwo\n");
	is_trace(r, "1 text/plain 7bit 3 0|2 text/plain 7bit 5 0|- multipart/mixed 7bit 0 40|",
	    "a missing final boundary: every part ends, the multipart is flagged");
	rec_free(r);

	r = walks("Content-Type: multipart/mixed; boundary=o\n\n--o\n"
	    "Content-Type: multipart/mixed; boundary=i\n\n--i\n\nin\n--o\n\nnext\n--o--\n");
	is_trace(r, "1.1 text/plain 7bit 2 0|1 multipart/mixed 7bit 0 40|2 text/plain 7bit 4 0|"
	    "- multipart/mixed 7bit 0 0|", "an outer delimiter closes an unclosed inner multipart");
	rec_free(r);

	r = walks("Content-Type: multipart/mixed\n\n--x\n\nhi\n");
	is_trace(r, "- multipart/mixed 7bit 11 10|", "a multipart without boundary is a leaf, flagged");
	rec_free(r);

	r = walks("Content-Type: multipart/mixed; boundary=b\n\n--b\njust text\n--b--\n");
	is_trace(r, "1 text/plain 7bit 9 10|- multipart/mixed 7bit 0 0|",
	    "a part header without its empty line: the body starts at the first non-field");
	rec_free(r);

	r = walks(" orphan\n\tsecond\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
	    "Content-Type: application/octet-stream; name=x.exe\n"
	    "Content-Transfer-Encoding: base64\n\nTVo=\n--b--\n");
	is_trace(r, "1 application/octet-stream base64 x.exe 2 0|- multipart/mixed 7bit 0 0|",
	    "white-space lines at the top of a header are passed over, the fields after them read");
	rec_free(r);
	r = walks("Content-Type: multipart/mixed; boundary=b\n\n--b\n orphan\n"
	    "Content-Type: text/html\n\n<p>x</p>\n--b--\n");
	is_trace(r, "1 text/html 7bit 8 0|- multipart/mixed 7bit 0 0|",
	    "the same in a part's header");
	rec_free(r);

	r = walks("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/rfc822\n\n"
	    "Subject: inner\nContent-Type: multipart/mixed; boundary=c\n\n--c\n"
	    "Content-Type: application/octet-stream; name=x.exe\nContent-Transfer-Encoding: base64\n\n"
	    "TVo=\n--c--\n--b--\n");
	is_trace(r, "1.1.1 application/octet-stream base64 x.exe 2 0|1.1 multipart/mixed 7bit 0 0|"
	    "1 message/rfc822 7bit 0 0|- multipart/mixed 7bit 0 0|",
	    "message/rfc822 is a container: the inner message is walked");
	ok(strcmp(data(r, "1.1.1"), "MZ") == 0, "an attachment inside a forwarded message");
	rec_free(r);

	r = walks("Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nU3ViamVjdDogeAo=\n");
	is_trace(r, "- message/rfc822 base64 11 10|", "a base64 message/rfc822 is a leaf, flagged");
	rec_free(r);

	r = walks("Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: one\n\nbody1\n--d--\n");
	is_trace(r, "1.1 text/plain 7bit 5 0|1 message/rfc822 7bit 0 0|- multipart/digest 7bit 0 0|",
	    "multipart/digest parts are message/rfc822 by default");
	rec_free(r);

	r = walks("Content-Type: text/plain\nContent-Type: application/x-msdownload\n\nMZ\n");
	is_trace(r, "- text/plain 7bit 4 10|", "two Content-Type fields: the first counts, flagged");
	rec_free(r);

	r = walks("Content-Type: ???\n\nx\n");
	is_trace(r, "- text/plain 7bit 3 10|", "an invalid type is text/plain, flagged");
	rec_free(r);
}

static void
cases_names(void)
{
	char out[256];
	const char *h = "Subject: a\n folded\nX: y\nnot a field\nZ : z\n", *n, *v;
	size_t pos = 0, nl, vl, got = 0;
	struct rec *r;

	ok(mimehdr_type(" Text/HTML ; charset=x", out, sizeof out) == 0 &&
	    strcmp(out, "text/html") == 0, "mimehdr_type lower-cases type/subtype");
	ok(mimehdr_type("garbage", out, sizeof out) < 0 && out[0] == '\0',
	    "mimehdr_type refuses a value without a subtype");
	while (mimehdr_next(h, strlen(h), &pos, &n, &nl, &v, &vl))
		got++;
	ok(got == 3, "mimehdr_next: folded fields are one, non-fields are skipped");
	mimehdr_param("attachment; filename*=utf-8''%E2%82%AC%20rates.txt", "filename", out, sizeof out);
	ok(strcmp(out, "\xe2\x82\xac rates.txt") == 0, "RFC 2231 charset and %XX");
	mimehdr_param("inline; filename*0=\"long\"; filename*1=\"name.txt\"", "filename", out, sizeof out);
	ok(strcmp(out, "longname.txt") == 0, "RFC 2231 continuations");
	mimehdr_param("a; filename*1=\".txt\"; filename*0*=iso-8859-1''caf%E9", "filename", out, sizeof out);
	ok(strcmp(out, "caf\xc3\xa9.txt") == 0, "RFC 2231 sections out of order, Latin-1 to UTF-8");
	mimehdr_param("x; name=\"=?UTF-8?B?w6R0LnR4dA==?=\"", "name", out, sizeof out);
	ok(strcmp(out, "\xc3\xa4t.txt") == 0, "RFC 2047 B in a file name");
	mimehdr_param("x; name=\"=?ISO-8859-1?Q?caf=E9?= =?ISO-8859-1?Q?_au_lait.txt?=\"", "name",
	    out, sizeof out);
	ok(strcmp(out, "caf\xc3\xa9 au lait.txt") == 0, "RFC 2047 Q, two words joined");
	mimehdr_param("x; name=\"=?KOI8-R?B?8NLJ18XU?=\"", "name", out, sizeof out);
	ok(strcmp(out, "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82") == 0,
	    "another charset goes through iconv");
	ok(mimehdr_param("x; a=1", "name", out, sizeof out) == 0 && out[0] == '\0',
	    "a missing parameter");
	mimehdr_param("x; name=\"a;b\\\"c\"; other=1", "name", out, sizeof out);
	ok(strcmp(out, "a;b\"c") == 0, "a quoted value with ';' and an escaped quote");
	mimehdr_param_raw("multipart/mixed; boundary=\"=?x?q?y?=\"", "boundary", out, sizeof out);
	ok(strcmp(out, "=?x?q?y?=") == 0, "a boundary is taken as written");
	{
		const char *w = "=?utf-8?q?Gr=C3=BC=C3=9Fe?= aus =?utf-8?b?S8O2bG4=?=";

		mimehdr_decode_words(w, strlen(w), out, sizeof out);
	}
	ok(strcmp(out, "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln") == 0, "RFC 2047 in a Subject");

	r = walks("Content-Type: application/pdf; name=ct.pdf\n"
	    "Content-Disposition: attachment;\n filename=\"=?UTF-8?Q?a=01b.pdf?=\"\n\nx\n");
	is_trace(r, "- application/pdf 7bit a_b.pdf 3 0|",
	    "the disposition's file name wins; control characters become _");
	rec_free(r);
	r = walks("Content-Type: application/pdf; name*=us-ascii'en'r%65port.pdf\n\nx\n");
	is_trace(r, "- application/pdf 7bit report.pdf 3 0|", "else the type's name (RFC 2231)");
	rec_free(r);
}

/* uuencode n octets as lines of 45 into out. */
static size_t
uu_encode(const unsigned char *d, size_t n, char *out)
{
	size_t i, j, len = 0;

	for (i = 0; i < n; i += 45) {
		size_t k = n - i < 45 ? n - i : 45;

		out[len++] = (char)(32 + k);
		for (j = 0; j < k; j += 3) {
			unsigned char a = d[i + j], b = j + 1 < k ? d[i + j + 1] : 0,
			    c = j + 2 < k ? d[i + j + 2] : 0;
			unsigned char q[4] = { a >> 2, (a & 3) << 4 | b >> 4,
			    (b & 15) << 2 | c >> 6, c & 63 };

			for (int x = 0; x < 4; x++)
				out[len++] = q[x] ? (char)(32 + q[x]) : '`';
		}
		out[len++] = '\n';
	}
	return len;
}

/* BinHex 4.0 of a stream that is already run-length encoded. */
static size_t
hqx_encode(const unsigned char *s, size_t n, char *out)
{
	static const char a[] =
	    "!\"#$%&'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr";
	size_t i, len = 0, col = 1;
	unsigned acc = 0, bits = 0;

	len += (size_t)sprintf(out, "(This file must be converted with BinHex 4.0)\n\n:");
	for (i = 0; i <= n; i++) {
		acc = acc << 8 | (i < n ? s[i] : 0);
		bits += 8;
		while (bits >= 6 && (i < n || bits > 8)) {
			bits -= 6;
			out[len++] = a[(acc >> bits) & 63];
			if (++col == 64) {
				out[len++] = '\n';
				col = 0;
			}
		}
	}
	len += (size_t)sprintf(out + len, ":\n");
	return len;
}

/* The BinHex stream of file name with data d (0x90 escaped, no resource fork). */
static size_t
hqx_stream(const char *name, const unsigned char *d, size_t n, unsigned char *s)
{
	size_t len = 0, i, nl = strlen(name);

	s[len++] = (unsigned char)nl;
	memcpy(s + len, name, nl);
	len += nl;
	s[len++] = 0;
	memcpy(s + len, "TEXTttxt\0\0", 10);
	len += 10;
	s[len++] = (unsigned char)(n >> 24);
	s[len++] = (unsigned char)(n >> 16);
	s[len++] = (unsigned char)(n >> 8);
	s[len++] = (unsigned char)n;
	memset(s + len, 0, 6);	/* resource length, header CRC */
	len += 6;
	for (i = 0; i < n; i++) {
		s[len++] = d[i];
		if (d[i] == 0x90)
			s[len++] = 0;
	}
	memset(s + len, 0, 4);	/* data CRC, resource CRC */
	return len + 4;
}

static void
cases_embedded(void)
{
	static char msg[65536];
	unsigned char bin[300], hs[1024];
	char enc[4096];
	struct rec *r;
	size_t i, n;

	r = walks("Subject: uu\n\nsee attached\nbegin 644 cat.txt\n#8V%T\n`\nend\nbye\n");
	is_trace(r, "1 application/octet-stream 7bit cat.txt 3 0|- text/plain 7bit 53 0|",
	    "a uuencoded file in a non-MIME body is an entity");
	ok(strcmp(data(r, "1"), "cat") == 0, "its content is decoded");
	rec_free(r);

	for (i = 0; i < sizeof bin; i++)
		bin[i] = (unsigned char)(i * 7);
	n = uu_encode(bin, sizeof bin, enc);
	snprintf(msg, sizeof msg, "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
	    "Content-Type: text/plain\n\ntext\nbegin 0755 bin.dat\n%.*s`\nend\n--b--\n", (int)n, enc);
	r = walks(msg);
	ok(has(r, "1.1 application/octet-stream 7bit bin.dat 300 0|") &&
	    memcmp(data(r, "1.1"), bin, sizeof bin) == 0,
	    "a uuencoded file in a text part: 1.1, all 300 octets");
	rec_free(r);

	r = walks("Subject: uu\n\nbegin 644 cut.txt\n#8V%T\nbye\n");
	is_trace(r, "1 application/octet-stream 7bit cut.txt 3 60|- text/plain 7bit 31 0|",
	    "uuencode cut short by text: flagged, the text goes on");
	rec_free(r);

	r = walks("Subject: uu\n\nbegin 644 open.txt\n#8V%T\n");
	is_trace(r, "1 application/octet-stream 7bit open.txt 3 40|- text/plain 7bit 27 0|",
	    "uuencode without end at the end of the message");
	rec_free(r);

	r = walks("Subject: b64\n\nbegin-base64 644 hi.txt\naGVsbG8=\n====\n");
	ok(strcmp(data(r, "1"), "hello") == 0 && has(r, "1 application/octet-stream 7bit hi.txt 5 0|"),
	    "begin-base64 (uuencode -m)");
	rec_free(r);

	r = walks("Content-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\n"
	    "begin 644 qp.txt\n#8V%T\n`\nend\n");
	ok(strcmp(data(r, "1"), "cat") == 0, "a uuencoded file inside quoted-printable text");
	rec_free(r);

	n = hqx_stream("mac.txt", bin, sizeof bin, hs);
	i = hqx_encode(hs, n, enc);
	snprintf(msg, sizeof msg, "Subject: hqx\n\nhere it is\n%.*sthanks\n", (int)i, enc);
	r = walks(msg);
	ok(has(r, "1 application/octet-stream 7bit mac.txt 300 0|") &&
	    memcmp(data(r, "1"), bin, sizeof bin) == 0, "BinHex 4.0: name and data fork");
	ok(lossless(r, msg, strlen(msg)), "BinHex: lossless");
	rec_free(r);

	memcpy(hs + 1 + 7 + 1 + 10, "\0\0\0\x08", 4);	/* data length 8 */
	n = 1 + 7 + 1 + 10 + 4 + 6;
	memcpy(hs + n, "AB\x90\x05\x90\x00X\0\0\0\0", 11);
	i = hqx_encode(hs, n + 11, enc);
	snprintf(msg, sizeof msg, "Content-Type: application/mac-binhex40\n\n%.*s", (int)i, enc);
	r = walks(msg);
	ok(strcmp(data(r, "1"), "ABBBBB\x90X") == 0,
	    "BinHex run-length encoding: 0x90 n repeats, 0x90 0 is 0x90");
	rec_free(r);

	r = walks("Subject: x\n\n(This file must be converted with BinHex 4.0)\n:!!!!\"\"\"~~~\n");
	ok(r->begins == 1 && walk_flags == MIME_F_ENCODING, "broken BinHex: flagged, no entity");
	rec_free(r);
}

/* A growing buffer for the bombs. */
struct big {
	char *s;
	size_t n, a;
};

static void
big_room(struct big *b)
{
	if (b->a - b->n < 4096) {
		b->a = b->a ? b->a * 2 : 1 << 16;
		if ((b->s = realloc(b->s, b->a)) == NULL)
			abort();
	}
}

static void
big_add(struct big *b, const char *fmt, ...)
{
	va_list ap;
	int k;

	big_room(b);
	va_start(ap, fmt);
	k = vsnprintf(b->s + b->n, b->a - b->n, fmt, ap);
	va_end(ap);
	b->n += (size_t)k;
}

static void
cases_attacks(void)
{
	struct big b = { 0 };
	struct mime_limits lim = { 5, 50, 4096 };
	struct rec *r;
	size_t i;

	for (i = 0; i < 10000; i++)
		big_add(&b, "Content-Type: multipart/mixed; boundary=b%zu\n\n--b%zu\n", i, i);
	big_add(&b, "\ninnermost\n");
	for (i = 10000; i-- > 0; )
		big_add(&b, "--b%zu--\n", i);
	r = walk(b.s, b.n, 0, NULL);
	ok((walk_flags & MIME_F_DEPTH) && r->maxdepth == MIME_DEPTH_DEF &&
	    r->begins == MIME_DEPTH_DEF + 1, "10,000 nested multiparts: walked to the depth limit, flagged");
	ok(lossless(r, b.s, b.n), "10,000 nested multiparts: lossless, every begin ended");
	rec_free(r);
	r = walk(b.s, b.n, 0, &lim);
	ok(r->maxdepth == 5 && (walk_flags & MIME_F_DEPTH) && lossless(r, b.s, b.n),
	    "a depth limit of 5 holds");
	rec_free(r);

	b.n = 0;
	big_add(&b, "Content-Type: multipart/mixed; boundary=p\n\n");
	for (i = 0; i < 100000; i++)
		big_add(&b, "--p\n\nx\n");
	big_add(&b, "--p--\n");
	r = walk(b.s, b.n, 0, NULL);
	ok(r->begins == MIME_PARTS_DEF + 1 && (walk_flags & MIME_F_PARTS) && lossless(r, b.s, b.n),
	    "a part-count bomb of 100,000 parts stops at the limit, lossless");
	rec_free(r);

	b.n = 0;
	big_add(&b, "Subject: ");
	for (i = 0; i < 1024; i++)
		big_add(&b, "%01024d", 0);
	big_add(&b, "\nContent-Type: text/html\n\nbody\n");
	r = walk(b.s, b.n, 0, NULL);
	ok(walk_flags == (MIME_F_LINE | MIME_F_HEADER) && strcmp(data(r, ""), "body\r\n") == 0,
	    "a 1 MB header line: flagged, the body still found");
	ok(lossless(r, b.s, b.n), "a 1 MB header line: lossless");
	rec_free(r);
	r = walk(b.s, b.n, 777, NULL);
	ok(lossless(r, b.s, b.n) && strcmp(data(r, ""), "body\r\n") == 0, "the same fed in odd chunks");
	rec_free(r);

	b.n = 0;
	big_add(&b, "Content-Type: multipart/mixed; boundary=h\n\n--h\nX-Long: a");
	for (i = 0; i < 1024; i++)
		big_add(&b, "\n\t%0998d", 0);
	big_add(&b, "\nContent-Type: text/plain\n\npart\n--h--\n");
	r = walk(b.s, b.n, 0, NULL);
	ok(walk_flags == MIME_F_HEADER && strcmp(data(r, "1"), "part") == 0 &&
	    lossless(r, b.s, b.n), "a 1 MB folded part header: flagged, lossless, the part ends");
	rec_free(r);

	b.n = 0;
	big_add(&b, "Content-Type: multipart/mixed; boundary=z\n\n--z\n"
	    "Content-Transfer-Encoding: base64\n\n");
	for (i = 0; i < 20000; i++)
		big_add(&b, "%s\n", i % 3 ? "QUJD\x01\xff\x80=====!!!" : "QUJDREVG");
	big_add(&b, "--z--\n");
	r = walk(b.s, b.n, 0, NULL);
	ok((walk_flags & MIME_F_ENCODING) && lossless(r, b.s, b.n), "20,000 lines of base64 garbage");
	rec_free(r);
	free(b.s);
}

static void
cases_random(void)
{
	static const char *const pieces[] = { "--a\n", "--a--\n", "--b\n", "\n",
	    "Content-Type: multipart/mixed; boundary=a\n", "Content-Type: message/rfc822\n",
	    "Content-Type: multipart/mixed; boundary=b\n", "Content-Transfer-Encoding: base64\n",
	    "Content-Transfer-Encoding: quoted-printable\n", "begin 644 x\n", "M86)C\n", "end\n",
	    "(This file must be converted with BinHex 4.0)\n", ":!!!!", ":\n", "=\n", "=4",
	    "\r\n", "aGVsbG8=\n", "Content-Disposition: attachment; filename*0*=x''%", " \t",
	    "\0", "\xff\xfe", "====\n", "begin-base64 644 y\n", "Content-Type: text/plain\n" };
	struct big b = { 0 };
	struct mime_limits lim = { 8, 30, 1024 };
	unsigned seed = 12345;
	int all = 1, i, j;

	for (i = 0; i < 3000; i++) {
		b.n = 0;
		for (j = 0; j < 60; j++) {
			seed = seed * 1103515245 + 12345;
			if ((seed >> 16) % 5 == 0)
				big_add(&b, "%c", (char)(seed >> 8));
			else {
				const char *p = pieces[(seed >> 16) % (sizeof pieces / sizeof pieces[0])];

				big_room(&b);
				memcpy(b.s + b.n, p, *p ? strlen(p) : 1);
				b.n += *p ? strlen(p) : 1;
			}
		}
		/* The CRs before LF are dropped: compare without them. */
		for (j = 0; (size_t)j + 1 < b.n; j++)
			if (b.s[j] == '\r' && b.s[j + 1] == '\n')
				b.s[j] = ' ';
		struct rec *r = walk(b.s, b.n, 1 + (seed >> 20) % 50, i % 2 ? &lim : NULL);

		all &= lossless(r, b.s, b.n) ? 1 : 0;
		rec_free(r);
	}
	ok(all, "3,000 random messages of MIME pieces and noise: lossless, every begin ended");
	free(b.s);
}

int
main(void)
{
	cases_simple();
	cases_encodings();
	cases_structure();
	cases_names();
	cases_embedded();
	cases_attacks();
	cases_random();
	return tap_done();
}
