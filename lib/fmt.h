#ifndef FMT_H
#define FMT_H

/*
 * snprintf that says when it cut: the one way sluice formats a path, an
 * address, a command or a protocol line into a fixed buffer.  A truncated
 * name is an error, never a shorter name: the caller reports it (die_sys
 * says "File name too long" or "Value too large...").  buf always ends in
 * a NUL.  Texts meant for people, where a cut is harmless, may use plain
 * snprintf; say so where it is done.
 */

#include <stdarg.h>
#include <stddef.h>

/* The length written, or -1 with errno EOVERFLOW when it did not fit. */
int fmt_buf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same for a file name: -1 with errno ENAMETOOLONG. */
int fmt_path(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The core of both: -1 with errno set to toolong when it did not fit. */
int fmt_vbuf(char *buf, size_t size, int toolong, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

#endif
