/*
 * glibc's fortify checks, arc4random_uniform and ucontext for musl: see glibc.h.
 * A failed check aborts, as glibc's does.
 */
#include "glibc.h"

#include <errno.h>
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

/* OpenSSL's archive (sluice-smtp): its error printing, built fortified. */
int
__fprintf_chk(FILE *f, int flag, const char *fmt, ...)
{
	va_list ap;
	int n;

	(void)flag;
	va_start(ap, fmt);
	n = vfprintf(f, fmt, ap);
	va_end(ap);
	return n;
}

int
__vfprintf_chk(FILE *f, int flag, const char *fmt, va_list ap)
{
	(void)flag;
	return vfprintf(f, fmt, ap);
}

void *
__memset_chk(void *dst, int c, size_t n, size_t dstlen)
{
	if (n > dstlen)
		abort();
	return memset(dst, c, n);
}

/*
 * OpenSSL's async jobs (ASYNC_start_job) switch stacks with these; musl has
 * none.  sluice never starts such a job; if something did, failing here
 * makes OpenSSL report that async is unavailable.
 */
int
getcontext(ucontext_t *u)
{
	(void)u;
	errno = ENOSYS;
	return -1;
}

int
setcontext(const ucontext_t *u)
{
	(void)u;
	errno = ENOSYS;
	return -1;
}

void
makecontext(ucontext_t *u, void (*fn)(void), int argc, ...)
{
	(void)u;
	(void)fn;
	(void)argc;
}
