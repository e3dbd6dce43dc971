#ifndef COMPAT_GLIBC_H
#define COMPAT_GLIBC_H

/*
 * What Debian's libcares.a (built for glibc) and lib/dns.c need from glibc
 * when they are linked static against musl instead (the FAST build of
 * sluice-dnsbl, see the Makefile): glibc's _FORTIFY_SOURCE checks and
 * arc4random_uniform (glibc 2.36; musl has none).  Not for glibc builds.
 */

#include <stddef.h>
#include <stdint.h>

long __fdelt_chk(long d);
void *__memcpy_chk(void *dst, const void *src, size_t n, size_t dstlen);
int __sprintf_chk(char *buf, int flag, size_t size, const char *fmt, ...);
uint32_t arc4random_uniform(uint32_t upper);

#endif
