#include "extscan.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int
extscan_codes_parse(const char *s, struct extscan_codes *c)
{
	char *end;
	long lo, hi;

	c->n = 0;
	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == ',')
			s++;
		if (*s == '\0')
			return 0;
		if (c->n == EXTSCAN_RANGES)
			return -1;
		if (*s == '>' || *s == '<') {
			char op = *s++;

			lo = strtol(s, &end, 10);
			if (end == s)
				return -1;
			hi = op == '>' ? 1L << 30 : lo - 1;
			lo = op == '>' ? lo + 1 : -(1L << 30);
		} else {
			lo = hi = strtol(s, &end, 10);
			if (end == s)
				return -1;
			if (*end == '-') {
				s = end + 1;
				hi = strtol(s, &end, 10);
				if (end == s || hi < lo)
					return -1;
			}
		}
		if (*end != '\0' && *end != ',' && *end != ' ' && *end != '\t')
			return -1;
		c->r[c->n].lo = lo;
		c->r[c->n++].hi = hi;
		s = end;
	}
}

int
extscan_codes_has(const struct extscan_codes *c, long code)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (code >= c->r[i].lo && code <= c->r[i].hi)
			return 1;
	return 0;
}

int
extscan_init(struct extscan *x, const char *cmdline)
{
	size_t n = 0;
	char *p;
	int has_f = 0;

	if (strlen(cmdline) >= sizeof x->buf)
		return -1;
	strcpy(x->buf, cmdline);
	for (p = strtok(x->buf, " \t"); p != NULL; p = strtok(NULL, " \t")) {
		if (n == EXTSCAN_ARGS)
			return -1;
		has_f |= strstr(p, "%f") != NULL;
		x->argv[n++] = p;
	}
	x->argv[n] = NULL;
	return n > 0 && has_f ? 0 : -1;
}

/* argv with every "%f" replaced by file, in buf. */
static int
expand(const struct extscan *x, const char *file, char *buf, size_t size,
    char **argv)
{
	size_t i, len = 0, fl = strlen(file);

	for (i = 0; x->argv[i] != NULL; i++) {
		const char *a = x->argv[i], *f;

		argv[i] = buf + len;
		while (*a) {
			if ((f = strstr(a, "%f")) == NULL)
				f = a + strlen(a);
			if (len + (size_t)(f - a) + (*f ? fl : 0) + 1 >= size)
				return -1;
			memcpy(buf + len, a, (size_t)(f - a));
			len += (size_t)(f - a);
			a = f;
			if (*f) {
				memcpy(buf + len, file, fl);
				len += fl;
				a += 2;
			}
		}
		buf[len++] = '\0';
	}
	argv[i] = NULL;
	return 0;
}

static pid_t
spawn(char **argv, int out)
{
	pid_t pid = fork();
	int null;

	if (pid != 0)
		return pid;
	/* Its own process group, so that a timeout kills all it started. */
	setpgid(0, 0);
	null = open("/dev/null", O_RDONLY);
	if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(127);
	signal(SIGPIPE, SIG_DFL);
	execv(argv[0], argv);
	dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Read what the scanner prints until it closes its output or time is up. */
static int
collect(int fd, time_t deadline, char *out, size_t osize)
{
	char buf[4096];
	size_t len = 0;
	ssize_t r;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int left = (int)(deadline - time(NULL));

		if (left <= 0 || poll(&p, 1, left * 1000) == 0)
			return -1;
		r = read(fd, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return 0;
		if (len + 1 < osize) {
			size_t k = (size_t)r < osize - 1 - len ? (size_t)r : osize - 1 - len;

			memcpy(out + len, buf, k);
			len += k;
			out[len] = '\0';
		}
	}
}

/* The first non-empty line of s, in printable ASCII. */
static void
first_line(char *s)
{
	char *p = s, *q = s;

	while (*p == '\n' || *p == '\r')
		p++;
	for (; *p && *p != '\n' && *p != '\r'; p++)
		*q++ = *p >= ' ' && *p < 127 ? *p : '?';
	*q = '\0';
}

enum extscan_result
extscan_run(const struct extscan *x, const char *file, int *code, char *out,
    size_t osize)
{
	char buf[8192], *argv[EXTSCAN_ARGS + 1];
	int pfd[2], st, timedout;
	pid_t pid;

	*code = -1;
	out[0] = '\0';
	if (expand(x, file, buf, sizeof buf, argv) < 0) {
		snprintf(out, osize, "scanner command too long");
		return EXT_ERROR;
	}
	if (pipe2(pfd, O_CLOEXEC) < 0 || (pid = spawn(argv, pfd[1])) < 0) {
		snprintf(out, osize, "cannot start %s: %s", argv[0], strerror(errno));
		return EXT_ERROR;
	}
	close(pfd[1]);
	timedout = collect(pfd[0], time(NULL) + x->timeout, out, osize) < 0;
	close(pfd[0]);
	if (timedout)
		kill(-pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	first_line(out);
	if (timedout) {
		snprintf(out, osize, "%s timed out after %us", argv[0], x->timeout);
		return EXT_ERROR;
	}
	if (!WIFEXITED(st))
		return EXT_ERROR;
	*code = WEXITSTATUS(st);
	if (extscan_codes_has(&x->infected, *code))
		return EXT_INFECTED;
	if (extscan_codes_has(&x->suspicious, *code))
		return EXT_SUSPICIOUS;
	if (extscan_codes_has(&x->clean, *code))
		return EXT_CLEAN;
	return EXT_ERROR;
}
