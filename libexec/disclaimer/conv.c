#include "conv.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "prog.h"

extern char **environ;

int
conv_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

/* The next code point of UTF-8 s (advancing it); a bad octet is '?'. */
static unsigned long
utf8_next(const unsigned char **s)
{
	const unsigned char *p = *s;
	unsigned long c = p[0];
	int k = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 :
	    (c & 0xf8) == 0xf0 ? 3 : -1;
	int i;

	if (k < 0) {
		*s = p + 1;
		return '?';
	}
	c &= k == 0 ? 0x7f : (0x3f >> k);
	for (i = 1; i <= k; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			*s = p + 1;
			return '?';
		}
		c = c << 6 | (p[i] & 0x3f);
	}
	*s = p + k + 1;
	return c;
}

size_t
conv_html(const char *s, char *out, size_t size)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = 0;

	while (*p && len + 12 < size) {
		unsigned long c = utf8_next(&p);

		if (c < 0x80)
			out[len++] = (char)c;
		else
			len += (size_t)snprintf(out + len, size - len, "&#%lu;", c);
	}
	out[len] = '\0';
	return len;
}

size_t
conv_text_html(const char *s, char *out, size_t size)
{
	size_t len = 0;

	len += (size_t)snprintf(out, size, "<p>");
	for (; *s && len + 12 < size; s++) {
		const char *e = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" :
		    *s == '\n' ? "<br>\n" : NULL;

		if (e != NULL)
			len += (size_t)snprintf(out + len, size - len, "%s", e);
		else
			out[len++] = *s;
	}
	if (len + 6 < size)
		len += (size_t)snprintf(out + len, size - len, "</p>");
	out[len] = '\0';
	return len;
}

/*
 * Run sluice-iconv -t charset over s, its output into out; its exit
 * status (-1 when it did not run).  It reads all of s before it writes,
 * so writing all of s first cannot block both.
 */
static int
run_iconv(const char *s, const char *charset, char *out, size_t size, size_t *len)
{
	char path[4096], *argv[] = { "sluice-iconv", "-t", (char *)charset, NULL };
	posix_spawn_file_actions_t fa;
	int to[2] = { -1, -1 }, from[2] = { -1, -1 }, st = -1, rc = -1;
	ssize_t r;
	pid_t pid;

	*len = 0;
	if (prog_path(argv[0], path, sizeof path) < 0 || pipe2(to, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(from, O_CLOEXEC) < 0 || posix_spawn_file_actions_init(&fa) != 0)
		goto out;
	if (posix_spawn_file_actions_adddup2(&fa, to[0], 0) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, from[1], 1) != 0 ||
	    posix_spawn(&pid, path, &fa, NULL, argv, environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		goto out;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(to[0]);
	close(from[1]);
	to[0] = from[1] = -1;
	rc = write_all(to[1], s, strlen(s));
	close(to[1]);
	to[1] = -1;
	while (rc == 0 && (r = read(from[0], out + *len, size - 1 - *len)) > 0)
		*len += (size_t)r;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			break;
	rc = rc == 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
out:
	close(to[0]);
	close(to[1]);
	close(from[0]);
	close(from[1]);
	out[*len] = '\0';
	return rc;
}

/*
 * musl's iconv knows fewer charsets than glibc's and does not
 * transliterate, so the conversion is glibc's, in sluice-iconv(8): an
 * exec only for a part whose charset needs one, and once a run for the
 * same text and charset.
 */
long
conv_charset(const char *s, const char *charset, char *out, size_t size)
{
	static const char *last_s;
	static char last_cs[100], *last_out;
	static long last_len;
	size_t len;
	int st;

	if (last_out != NULL && s == last_s && strcasecmp(charset, last_cs) == 0) {
		memcpy(out, last_out, (size_t)last_len + 1);
		return last_len;
	}
	if ((st = run_iconv(s, charset, out, size, &len)) == EXIT_PERM)
		return -1;
	if (st != 0)
		die(EXIT_TEMP, "sluice-iconv -t %.60s failed", charset);
	free(last_out);
	if ((last_out = malloc(len + 1)) != NULL) {
		memcpy(last_out, out, len + 1);
		last_s = s;
		snprintf(last_cs, sizeof last_cs, "%s", charset);
		last_len = (long)len;
	}
	return (long)len;
}
