#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

const char *log_prog = "sluice";
static int use_syslog;

void
log_init(const char *argv0)
{
	const char *p;

	if (argv0 == NULL || *argv0 == '\0')
		return;
	p = strrchr(argv0, '/');
	log_prog = p ? p + 1 : argv0;
	log_check_stderr();
}

void
log_check_stderr(void)
{
	struct stat st;
	int fd;

	/*
	 * Under inetd, standard error is the client's socket: a log line
	 * written there would reach the client as SMTP text.  Log to syslog
	 * instead, and point descriptor 2 at /dev/null for anything else.
	 */
	if (fstat(2, &st) == 0 && S_ISSOCK(st.st_mode)) {
		openlog(log_prog, LOG_PID, LOG_MAIL);
		use_syslog = 1;
		if ((fd = open("/dev/null", O_WRONLY)) >= 0) {
			if (fd != 2) {
				dup2(fd, 2);
				close(fd);
			}
		}
	}
}

static void
vlog(const char *level, const char *fmt, va_list ap, const char *tail)
{
	char buf[2048];
	int n, m;

	n = snprintf(buf, sizeof buf, "%s: %s%s", log_prog, level,
	    *level ? ": " : "");
	if (n < 0 || (size_t)n >= sizeof buf)
		n = 0;
	m = vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n >= sizeof buf - 1)
		n = (int)sizeof buf - 2;
	if (tail != NULL) {
		m = snprintf(buf + n, sizeof buf - (size_t)n, ": %s", tail);
		if (m > 0)
			n += m;
		if ((size_t)n >= sizeof buf - 1)
			n = (int)sizeof buf - 2;
	}
	if (use_syslog) {
		syslog(*level ? LOG_WARNING : LOG_INFO, "%s", buf + strlen(log_prog) + 2);
		return;
	}
	buf[n++] = '\n';
	/* One write per line, so lines from concurrent stages do not mix. */
	(void)!write(2, buf, (size_t)n);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("", fmt, ap, NULL);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("warning", fmt, ap, NULL);
	va_end(ap);
}

void
die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("fatal", fmt, ap, NULL);
	va_end(ap);
	_exit(code);
}

void
die_sys(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	vlog("fatal", fmt, ap, strerror(e));
	va_end(ap);
	_exit(errno_exit(e));
}

void
die_nomem(void)
{
	die(EXIT_TEMP, "out of memory");
}

int
errno_exit(int e)
{
	/*
	 * Almost every system error is a property of the moment (disk
	 * full, file table full, interrupted); only errors that no retry can
	 * cure are permanent.
	 */
	switch (e) {
	case ENAMETOOLONG:
	case ELOOP:
	case EINVAL:
	case EFBIG:
		return EXIT_PERM;
	default:
		return EXIT_TEMP;
	}
}
