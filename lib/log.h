#ifndef LOG_H
#define LOG_H

/*
 * One error vocabulary for every program:
 *   prog: fatal: unable to open queue/tmp: No space left on device
 * and one place that decides whether a failure is temporary (111) or
 * permanent (100).  Log lines are key=value after the program name.
 *
 * Where lines go is the setting "log": "stderr", "syslog" (facility
 * mail, through the socket the setting "syslog_socket" names), or
 * "auto" (the default): syslog when standard error is a socket, as under
 * inetd, where it is the client's connection; else standard error.
 */

#include <stdarg.h>

#define EXIT_OK 0
#define EXIT_PERM 100
#define EXIT_TEMP 111

extern const char *log_prog;

/* Who reads a program's standard error, which decides what goes there. */
enum log_role {
	/* A daemon or a stage: its supervisor's log, or a person at a terminal. */
	LOG_ROLE_DAEMON,
	/*
	 * A command whose caller reads its failures on standard error
	 * (sendmail, mailq): every line goes there; with "log syslog",
	 * warnings and fatal errors go to syslog as well.
	 */
	LOG_ROLE_COMMAND,
	/*
	 * A local submission (sluice-enqueue run by sendmail): standard error
	 * is the submitter's, not the administrator's log.  Event lines go to
	 * syslog whatever "log" says, and never to standard error; warnings and
	 * fatal errors go to both.
	 */
	LOG_ROLE_SUBMISSION,
};

/* log_name(argv0), then log_setup(LOG_ROLE_DAEMON). */
void log_init(const char *argv0);
/* Only the program name: lines go to standard error until log_setup(). */
void log_name(const char *argv0);
/*
 * Read the "log" setting and apply it for role.  Under "auto", if standard
 * error is a socket, descriptor 2 becomes /dev/null, so that nothing else
 * reaches an inetd client either.  An unknown value is reported and taken
 * as "auto".
 */
void log_setup(enum log_role role);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Exit with `code` after writing "prog: fatal: message" on stderr. */
void die(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
/* As die(), appending ": strerror(errno)"; code from errno_exit(). */
void die_sys(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
void die_nomem(void) __attribute__((noreturn));
/*
 * fn runs once in die, die_sys and die_nomem, before the exit, in this
 * process only (not in a child forked since): sluice-smtpd answers its
 * client 421 with it when it dies before its greeting.  NULL: none.
 */
void log_die_hook(void (*fn)(void));
/* The temporary-vs-permanent decision for a system error. */
int errno_exit(int e);

#endif
