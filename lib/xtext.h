#ifndef XTEXT_H
#define XTEXT_H

/* RFC 3461 xtext: printable ASCII except '+' and '=', others as +HH. */

#include <stddef.h>

/* Whether s[0..n) is syntactically valid xtext. */
int xtext_valid(const char *s, size_t n);
/*
 * Decode into out (NUL-terminated); returns length or -1 if invalid, too
 * long, or if it would decode to a NUL (+00), which every reader of out
 * would take as its end.
 */
long xtext_decode(const char *s, size_t n, char *out, size_t outsz);
/* Encode into out; returns length or -1 if it does not fit. */
long xtext_encode(const char *s, size_t n, char *out, size_t outsz);

#endif
