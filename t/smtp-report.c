/*
 * Unit tests (TAP) for sluice-smtp's report line (libexec/smtp/smtp_report.c,
 * the format in libexec/smtp/smtp.h): what a worker writes reads back the
 * same, and every line that breaks the format, or is longer than its
 * limit, is refused with a reason, never taken in part; run by
 * t/50-smtp-report-strict.t.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "smtp.h"
#include "tap.h"

static char err[200];

/* Parse a NUL-terminated line: 0 or -1. */
static int
parse(const char *line, struct report *r)
{
	return report_parse(line, strlen(line), r, err, sizeof err);
}

/* The line a worker writes for r, through a pipe, into buf. */
static size_t
written(const struct report *r, char *buf, size_t size)
{
	struct wbuf w;
	int p[2];
	ssize_t n;

	if (pipe(p) < 0 || wbuf_init(&w, p[1], BUF_SIZE) < 0 ||
	    report_write(&w, r) < 0 || wbuf_flush(&w) < 0)
		return 0;
	close(p[1]);
	n = read(p[0], buf, size);
	close(p[0]);
	wbuf_free(&w);
	return n > 0 ? (size_t)n : 0;
}

static void
roundtrip(void)
{
	struct report r, back;
	char line[4096];
	size_t n;

	memset(&r, 0, sizeof r);
	r.msg = 12;
	r.rcpt = 0;
	r.st = R_DEFERRED;
	strcpy(r.status, "4.2.0");
	memset(r.mta, 'm', REPORT_MTA_MAX);
	memset(r.text, 't', REPORT_TEXT_MAX);
	n = written(&r, line, sizeof line);
	ok(n > 0 && n <= REPORT_LINE_MAX && line[n - 1] == '\n',
	    "the longest report a worker writes fits REPORT_LINE_MAX");
	ok(report_parse(line, n, &back, err, sizeof err) == 0 && back.msg == 12 &&
	    back.rcpt == 0 && back.st == R_DEFERRED && !back.passed &&
	    strcmp(back.status, "4.2.0") == 0 && strcmp(back.mta, r.mta) == 0 &&
	    strcmp(back.text, r.text) == 0, "and reads back the same");
	ok(parse("3\t1\tsent\t1\t2.0.0\tmx.example.org\t250 2.0.0 Ok\n", &back) == 0 &&
	    back.st == R_SENT && back.passed && back.msg == 3 && back.rcpt == 1,
	    "a sent recipient with NOTIFY passed on");
	ok(parse("0\t0\tbounced\t0\t5.1.1\t\tno such user\n", &back) == 0 &&
	    back.st == R_BOUNCED && back.mta[0] == '\0', "a bounce without an MTA");
}

static void
too_long(void)
{
	char line[REPORT_LINE_MAX + 100];
	struct report r;
	size_t n;

	n = (size_t)snprintf(line, sizeof line, "7\t2\tdeferred\t0\t4.2.0\tmx\t");
	memset(line + n, 'x', sizeof line - n);
	line[REPORT_LINE_MAX] = '\n';
	ok(report_parse(line, REPORT_LINE_MAX + 1, &r, err, sizeof err) == -1 &&
	    strstr(err, "too long") != NULL,
	    "a line longer than REPORT_LINE_MAX is refused, not cut");
	ok(r.msg == 7 && r.rcpt == 2, "yet it says which recipient it was about");
	memset(line + n, 'x', REPORT_TEXT_MAX + 1);
	line[n + REPORT_TEXT_MAX + 1] = '\n';
	ok(report_parse(line, n + REPORT_TEXT_MAX + 2, &r, err, sizeof err) == -1,
	    "a text one octet over REPORT_TEXT_MAX is refused");
	ok(parse("7\t2\tdeferred\t0\t4.2.0\tmx\ttext", &r) == -1 && r.msg == 7,
	    "a line without its LF (a worker cut short) is refused");
}

static void
malformed(void)
{
	static const char *const bad[] = {
		"1\t0\t3\t0\t4.2.0\tmx\ttext\n",	/* the old numeric kind */
		"1\t0\tdelayed\t0\t4.2.0\tmx\ttext\n",
		"1\t0\tdeferred\t2\t4.2.0\tmx\ttext\n",
		"1\t0\tdeferred\t\t4.2.0\tmx\ttext\n",
		"1\t0\tdeferred\t0\t2.0.0\tmx\ttext\n",	/* class of another kind */
		"1\t0\tsent\t0\t5.0.0\tmx\ttext\n",
		"1\t0\tdeferred\t0\t4.2\tmx\ttext\n",
		"1\t0\tdeferred\t0\t4.2.0.\tmx\ttext\n",
		"1\t0\tdeferred\t0\t4.2222.0\tmx\ttext\n",
		"1\t0\tdeferred\t0\t4.a.0\tmx\ttext\n",
		"-1\t0\tdeferred\t0\t4.2.0\tmx\ttext\n",
		"01\t0\tdeferred\t0\t4.2.0\tmx\ttext\n",
		"1\t+0\tdeferred\t0\t4.2.0\tmx\ttext\n",
		"\t0\tdeferred\t0\t4.2.0\tmx\ttext\n",
		"1x\t0\tdeferred\t0\t4.2.0\tmx\ttext\n",
		"123456789012345678901\t0\tdeferred\t0\t4.2.0\tmx\ttext\n",
		"1\t0\tdeferred\t0\t4.2.0\tmx\n",	/* six fields */
		"1\t0\tdeferred\t0\t4.2.0\tmx\ttext\tmore\n",	/* eight */
		"1\t0\tdeferred\t0\t4.2.0\tmx\tte\rxt\n",
		"1\t0\tdeferred\t0\t4.2.0\tm\001x\ttext\n",
		"1\t0\tdeferred\t0\t4.2.0\tmx\tt\303\251xt\n",
		"\n",
		"",
	};
	static const char nul[] = "1\t0\tdeferred\t0\t4.2.0\tmx\tte\0xt\n";
	struct report r;
	size_t i, refused = 0;

	for (i = 0; i < sizeof bad / sizeof *bad; i++) {
		err[0] = '\0';
		if (parse(bad[i], &r) == -1 && err[0] != '\0')
			refused++;
		else
			printf("# taken: %s", bad[i]);
	}
	ok(refused == sizeof bad / sizeof *bad,
	    "every malformed line is refused with a reason");
	ok(report_parse(nul, sizeof nul - 1, &r, err, sizeof err) == -1,
	    "a NUL inside the line is refused");
	ok(parse("1x\t0\tdeferred\t0\t4.2.0\tmx\ttext\n", &r) == -1 &&
	    r.msg == SIZE_MAX, "a line whose numbers do not parse names nobody");
}

int
main(void)
{
	roundtrip();
	too_long();
	malformed();
	return tap_done();
}
