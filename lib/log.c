#include "log.h"
#include "conf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define DEST_STDERR 1
#define DEST_SYSLOG 2

const char *log_prog = "sluice";

/*
 * Where lines go: event lines (log_info) and the others (warnings,
 * fatal errors) may go to different places; see enum log_role.  Until
 * log_setup() runs, everything goes to standard error.
 */
static struct {
	int info, err;	/* DEST_ bits */
	int role;
	int fd;		/* the syslog socket, -1 until the first line */
	int stream;	/* it is a stream socket: each message ends in NUL */
} lg = { DEST_STDERR, DEST_STDERR, LOG_ROLE_DAEMON, -1, 0 };

void
log_name(const char *argv0)
{
	const char *p;

	if (argv0 == NULL || *argv0 == '\0')
		return;
	p = strrchr(argv0, '/');
	log_prog = p ? p + 1 : argv0;
}

void
log_init(const char *argv0)
{
	log_name(argv0);
	log_setup(LOG_ROLE_DAEMON);
}

/*
 * Under inetd, standard error is the client's socket: a log line written
 * there would reach the client as SMTP text.  So "auto" logs to syslog
 * then, and points descriptor 2 at /dev/null for anything else.  1 when
 * standard error is such a socket.
 */
static int
stderr_is_socket(void)
{
	struct stat st;
	int fd;

	if (fstat(2, &st) < 0 || !S_ISSOCK(st.st_mode))
		return 0;
	if ((fd = open("/dev/null", O_WRONLY)) >= 0 && fd != 2) {
		dup2(fd, 2);
		close(fd);
	}
	return 1;
}

/*
 * Standard error is the client's own socket, as under inetd (0, 1 and 2
 * one socket): pointed at /dev/null then, whatever the settings say, and
 * before they are read, so that no line, not even one saying they cannot
 * be read, reaches the client.  1 when it was.
 */
static int
stderr_is_client(void)
{
	struct stat a, b;

	if (fstat(0, &a) < 0 || fstat(2, &b) < 0 || !S_ISSOCK(b.st_mode) ||
	    a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return 0;
	return stderr_is_socket();
}

void
log_setup(enum log_role role)
{
	int client = role == LOG_ROLE_DAEMON && stderr_is_client();
	const char *v = conf_get("log", "auto");
	int dest, known = 1;

	lg.role = role;
	if (strcmp(v, "stderr") == 0)
		dest = DEST_STDERR;
	else if (strcmp(v, "syslog") == 0)
		dest = DEST_SYSLOG;
	else {
		known = strcmp(v, "auto") == 0;
		dest = (role == LOG_ROLE_DAEMON && (client || stderr_is_socket())) ?
		    DEST_SYSLOG : DEST_STDERR;
	}
	switch (role) {
	case LOG_ROLE_DAEMON:
		/* A person running it at a terminal sees its lines there too. */
		if (dest == DEST_SYSLOG && isatty(2))
			dest |= DEST_STDERR;
		lg.info = lg.err = dest;
		break;
	case LOG_ROLE_COMMAND:
		lg.info = DEST_STDERR;
		lg.err = DEST_STDERR | (dest & DEST_SYSLOG);
		break;
	case LOG_ROLE_SUBMISSION:
		lg.info = DEST_SYSLOG;
		lg.err = DEST_STDERR | DEST_SYSLOG;
		break;
	}
	if (!known)
		log_warn("setting log: unknown value \"%s\": use auto, stderr "
		    "or syslog; taken as auto", v);
}

/*
 * The syslog socket, connected: a datagram socket, as syslogd, rsyslog
 * and journald offer, else a stream one.  The path is a setting, so that
 * a chroot or a test can name its own.
 */
static int
syslog_open(void)
{
	const char *path = conf_get("syslog_socket", "/dev/log");
	struct sockaddr_un sa;
	int type;

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sa.sun_path)
		return -1;
	strcpy(sa.sun_path, path);
	for (type = SOCK_DGRAM; ; type = SOCK_STREAM) {
		lg.fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
		if (lg.fd >= 0 && connect(lg.fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
			lg.stream = type == SOCK_STREAM;
			return 0;
		}
		if (lg.fd >= 0)
			close(lg.fd);
		lg.fd = -1;
		if (type == SOCK_STREAM || errno != EPROTOTYPE)
			return -1;
	}
}

/*
 * One message as syslog(3) sends it (RFC 3164): "<PRI>Mmm dd hh:mm:ss
 * prog[pid]: text", facility mail.  A syslogd that restarted has a new
 * socket: reconnect once.  0, or -1 when the line could not be sent.
 */
static int
syslog_send(int level, const char *text)
{
	static const char mon[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	char buf[2400];
	time_t now = time(NULL);
	struct tm tm;
	int n, try;

	localtime_r(&now, &tm);
	n = snprintf(buf, sizeof buf, "<%d>%.3s %2d %02d:%02d:%02d %s[%ld]: %s",
	    LOG_MAIL | level, mon + 3 * tm.tm_mon, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, log_prog, (long)getpid(), text);
	if (n < 0)
		return -1;
	if ((size_t)n >= sizeof buf)
		n = (int)sizeof buf - 1;
	for (try = 0; try < 2; try++) {
		if (lg.fd < 0 && syslog_open() < 0)
			return -1;
		if (send(lg.fd, buf, (size_t)n + (size_t)lg.stream, MSG_NOSIGNAL) ==
		    n + lg.stream)
			return 0;
		close(lg.fd);
		lg.fd = -1;
	}
	return -1;
}

/* Where a line of this kind goes, and what happens when syslog is down. */
static void
emit(int level, char *buf, size_t n)
{
	int dest = level == LOG_INFO ? lg.info : lg.err;
	int e = errno;

	if ((dest & DEST_SYSLOG) &&
	    syslog_send(level, buf + strlen(log_prog) + 2) < 0 &&
	    !(dest & DEST_STDERR) && lg.role != LOG_ROLE_SUBMISSION)
		dest |= DEST_STDERR;	/* never lost for want of a syslogd */
	if (dest & DEST_STDERR) {
		buf[n++] = '\n';
		/* One write per line, so lines from concurrent stages do not mix. */
		(void)!write(2, buf, n);
	}
	errno = e;
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
	buf[n] = '\0';
	emit(*level == '\0' ? LOG_INFO : *level == 'w' ? LOG_WARNING : LOG_ERR,
	    buf, (size_t)n);
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

static void (*die_hook)(void);
static pid_t die_hook_pid;

void
log_die_hook(void (*fn)(void))
{
	die_hook = fn;
	die_hook_pid = getpid();
}

static void
run_die_hook(void)
{
	void (*fn)(void) = die_hook;

	die_hook = NULL;
	if (fn != NULL && getpid() == die_hook_pid)
		fn();
}

void
die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("fatal", fmt, ap, NULL);
	va_end(ap);
	run_die_hook();
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
	run_die_hook();
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
