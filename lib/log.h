#ifndef LOG_H
#define LOG_H

/*
 * One error vocabulary for every program:
 *   prog: fatal: unable to open queue/tmp: No space left on device
 * and one place that decides whether a failure is temporary (111) or
 * permanent (100).  Log lines are key=value after the program name.
 */

#include <stdarg.h>

#define EXIT_OK 0
#define EXIT_PERM 100
#define EXIT_TEMP 111

extern const char *log_prog;

/*
 * Sets the program name; if standard error is a socket (inetd), log lines
 * go to syslog (LOG_MAIL) instead and descriptor 2 becomes /dev/null.
 */
void log_init(const char *argv0);
void log_check_stderr(void);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Exit with `code` after writing "prog: fatal: message" on stderr. */
void die(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
/* As die(), appending ": strerror(errno)"; code from errno_exit(). */
void die_sys(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
void die_nomem(void) __attribute__((noreturn));
/* The temporary-vs-permanent decision for a system error. */
int errno_exit(int e);

#endif
