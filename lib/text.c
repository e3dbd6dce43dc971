#include "text.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

int
text_has8bit(const char *s, size_t n)
{
	uint64_t w, words = 0;
	unsigned char any = 0;
	size_t i = 0;

	/* Sixteen or eight octets a step, no early exit: whole blocks go through here. */
#if defined(__SSE2__)
	__m128i acc = _mm_setzero_si128();

	for (; i + 16 <= n; i += 16)
		acc = _mm_or_si128(acc,
		    _mm_loadu_si128((const __m128i *)(const void *)(s + i)));
	if (_mm_movemask_epi8(acc) != 0)
		return 1;
#endif
	for (; i + 8 <= n; i += 8) {
		memcpy(&w, s + i, 8);
		words |= w;
	}
	for (; i < n; i++)
		any |= (unsigned char)s[i];
	return any >= 0x80 || (words & 0x8080808080808080ULL) != 0;
}

const char *
text_find(const char *s, size_t n, char c)
{
	size_t i = 0;
#if defined(__SSE2__)
	const __m128i want = _mm_set1_epi8(c);

	for (; i + 16 <= n; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, want));

		if (m != 0)
			return s + i + __builtin_ctz(m);
	}
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
	uint64_t w, x;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, s + i, 8);
		x = w ^ (ones * (unsigned char)c);
		/* A zero octet of x sets its high bit here; the lowest is exact. */
		x = (x - ones) & ~x & highs;
		if (x != 0)
			return s + i + (__builtin_ctzll(x) >> 3);
	}
#endif
	for (; i < n; i++)
		if (s[i] == c)
			return s + i;
	return NULL;
}

size_t
text_drop(char *s, size_t n, char c)
{
	size_t i = 0, o = 0;
#if defined(__SSE2__)
	const __m128i drop = _mm_set1_epi8(c);

	/*
	 * A block without c is stored whole at o (o <= i: it overwrites only
	 * what was read already).  Before a c, the octets that precede it:
	 * also the whole block when o is sixteen or more behind i (all it
	 * overwrites was read), else only those.
	 */
	while (i + 16 <= n) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, drop));

		if (m == 0) {
			_mm_storeu_si128((__m128i *)(void *)(s + o), v);
			o += 16;
			i += 16;
		} else {
			unsigned k = (unsigned)__builtin_ctz(m);

			if (i - o >= 16)
				_mm_storeu_si128((__m128i *)(void *)(s + o), v);
			else
				memmove(s + o, s + i, k);
			o += k;
			i += k + 1;
		}
	}
#endif
	for (; i < n; i++)
		if (s[i] != c)
			s[o++] = s[i];
	return o;
}

size_t
text_field_name(const char *l, size_t n)
{
	size_t i = 0, k;

	while (i < n && l[i] > ' ' && l[i] < 127 && l[i] != ':')
		i++;
	if (i == 0)
		return 0;
	k = i;
	while (k < n && (l[k] == ' ' || l[k] == '\t'))
		k++;
	return (k < n && l[k] == ':') ? i : 0;
}

int
text_name_is(const char *l, size_t n, const char *name)
{
	return strlen(name) == n && text_ieq(l, name, n);
}
