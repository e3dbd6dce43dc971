#include "fmt.h"

#include <errno.h>
#include <stdio.h>

int
fmt_vbuf(char *buf, size_t size, int toolong, const char *fmt, va_list ap)
{
	int n = vsnprintf(buf, size, fmt, ap);

	if (n < 0)
		return -1;
	if ((size_t)n >= size)
		return errno = toolong, -1;
	return n;
}

int
fmt_buf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = fmt_vbuf(buf, size, EOVERFLOW, fmt, ap);
	va_end(ap);
	return n;
}

int
fmt_path(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = fmt_vbuf(buf, size, ENAMETOOLONG, fmt, ap);
	va_end(ap);
	return n;
}
