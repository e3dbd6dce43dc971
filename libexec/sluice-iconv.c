/*
 * sluice-iconv: UTF-8 text on standard input, in another charset on
 * standard output, with glibc's iconv(3) and its transliteration.
 * sluice-disclaimer is linked static against musl, whose iconv knows
 * fewer charsets and no transliteration; it runs this program for the
 * few parts whose charset needs a conversion.  See sluice-iconv(8).
 */
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "usage.h"

#define TEXT_MAX (1024 * 1024)	/* a disclaimer, not a message */

static const char usage_text[] =
    "usage: sluice-iconv -t charset < utf-8-text > text\n"
    "See sluice-iconv(8).\n";

/* All of standard input, NUL-terminated; its length in *len. */
static char *
read_input(size_t *len)
{
	char *buf = malloc(TEXT_MAX + 1);
	ssize_t r;

	if (buf == NULL)
		die_nomem();
	*len = 0;
	while ((r = read(0, buf + *len, TEXT_MAX - *len)) > 0)
		*len += (size_t)r;
	if (r < 0)
		die_sys("unable to read the text");
	if (*len == TEXT_MAX)
		die(EXIT_PERM, "the text is longer than %d octets", TEXT_MAX);
	buf[*len] = '\0';
	return buf;
}

/*
 * in (UTF-8) into out in charset, what it cannot hold transliterated,
 * else one '?' a character.  The length, or -1 when iconv does not know
 * the charset.
 */
static long
convert(const char *charset, char *in, size_t inleft, char *out, size_t size)
{
	char to[100], *o = out;
	size_t outleft = size - 1;
	iconv_t cd;

	if (snprintf(to, sizeof to, "%s//TRANSLIT", charset) >= (int)sizeof to ||
	    (cd = iconv_open(to, "UTF-8")) == (iconv_t)-1)
		return -1;
	while (inleft > 0 && outleft > 0) {
		if (iconv(cd, &in, &inleft, &o, &outleft) != (size_t)-1)
			break;
		if (errno == E2BIG)
			break;
		/* Not in the charset and no transliteration: one '?'. */
		*o++ = '?';
		outleft--;
		do {
			in++;
			inleft--;
		} while (inleft > 0 && ((unsigned char)*in & 0xc0) == 0x80);
	}
	iconv_close(cd);
	return (long)(o - out);
}

int
main(int argc, char **argv)
{
	const char *charset = NULL;
	char *in, *out;
	size_t len;
	long n;
	int c;

	usage_help(argc, argv, usage_text);
	log_init(argv[0]);
	while ((c = getopt(argc, argv, "t:")) != -1) {
		if (c != 't')
			usage_die(usage_text, NULL);
		charset = optarg;
	}
	if (charset == NULL || optind != argc)
		usage_die(usage_text, NULL);
	in = read_input(&len);
	/* Eight octets a character is more than any charset takes. */
	if ((out = malloc(len * 8 + 1)) == NULL)
		die_nomem();
	if ((n = convert(charset, in, len, out, len * 8 + 1)) < 0)
		die(EXIT_PERM, "charset %.60s unknown", charset);
	if (write_all(1, out, (size_t)n) < 0)
		die_sys("unable to write the text");
	free(in);
	free(out);
	return EXIT_OK;
}
