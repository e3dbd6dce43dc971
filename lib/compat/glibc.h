#ifndef COMPAT_GLIBC_H
#define COMPAT_GLIBC_H

/*
 * What Debian's libcares.a (built for glibc) and lib/dns.c need from glibc
 * when they are linked static against musl instead (the FAST build of
 * sluice-dnsbl, see the Makefile): glibc's _FORTIFY_SOURCE checks and
 * arc4random_uniform (glibc 2.36; musl has none); and what Debian's
 * libssl.a and libcrypto.a need (sluice-smtp): fortified stdio and memset,
 * and the ucontext calls musl lacks.  Not for glibc builds.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <ucontext.h>

long __fdelt_chk(long d);
void *__memcpy_chk(void *dst, const void *src, size_t n, size_t dstlen);
int __sprintf_chk(char *buf, int flag, size_t size, const char *fmt, ...);
uint32_t arc4random_uniform(uint32_t upper);
int __fprintf_chk(FILE *f, int flag, const char *fmt, ...);
int __vfprintf_chk(FILE *f, int flag, const char *fmt, va_list ap);
void *__memset_chk(void *dst, int c, size_t n, size_t dstlen);

#endif
