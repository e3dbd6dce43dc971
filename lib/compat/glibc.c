/*
 * glibc's fortify checks and arc4random_uniform for musl: see glibc.h.
 * A failed check aborts, as glibc's does.
 */
#include "glibc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/select.h>

long
__fdelt_chk(long d)
{
	if (d < 0 || d >= FD_SETSIZE)
		abort();
	return d / (long)(8 * sizeof(long));
}

void *
__memcpy_chk(void *dst, const void *src, size_t n, size_t dstlen)
{
	if (n > dstlen)
		abort();
	return memcpy(dst, src, n);
}

int
__sprintf_chk(char *buf, int flag, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	(void)flag;
	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n >= size)
		abort();
	return n;
}

/* Uniform in [0, upper): rejection of the biased low values. */
uint32_t
arc4random_uniform(uint32_t upper)
{
	uint32_t r, min;

	if (upper < 2)
		return 0;
	min = -upper % upper;
	do {
		if (getrandom(&r, sizeof r, 0) != sizeof r)
			abort();
	} while (r < min);
	return r % upper;
}
