#ifndef COPY_H
#define COPY_H

/*
 * n octets from s to d (no overlap), with no call for the short copies
 * the stream is made of: a field, an address, a line.  musl's memcpy,
 * which the FAST build links, is a call and a `rep movsq` whose start-up
 * costs more than copying a few octets: sluice-attach made 59 such calls
 * a message (wbuf_put, printf), and they were a fifth of its time
 * passing a batch through (doc/performance.md).
 */

#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static inline void
copy_octets(char *d, const char *s, size_t n)
{
	uint64_t a, b;
	uint32_t c, e;
#if defined(__SSE2__)
	size_t i;

	if (n >= 16 && n <= 512) {
		/* Sixteen octets a step, the last sixteen overlapping. */
		for (i = 0; i + 16 <= n; i += 16)
			_mm_storeu_si128((__m128i *)(void *)(d + i),
			    _mm_loadu_si128((const __m128i *)(const void *)(s + i)));
		if (i < n)
			_mm_storeu_si128((__m128i *)(void *)(d + n - 16),
			    _mm_loadu_si128((const __m128i *)(const void *)(s + n - 16)));
		return;
	}
#endif
	if (n >= 8 && n <= 16) {
		/* Two eight-octet moves, overlapping: a fixed size is inlined. */
		memcpy(&a, s, 8);
		memcpy(&b, s + n - 8, 8);
		memcpy(d, &a, 8);
		memcpy(d + n - 8, &b, 8);
		return;
	}
	if (n >= 4 && n < 8) {
		memcpy(&c, s, 4);
		memcpy(&e, s + n - 4, 4);
		memcpy(d, &c, 4);
		memcpy(d + n - 4, &e, 4);
		return;
	}
	if (n < 4) {
		while (n-- > 0)
			*d++ = *s++;
		return;
	}
	memcpy(d, s, n);
}

#endif
