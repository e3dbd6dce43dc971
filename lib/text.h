#ifndef TEXT_H
#define TEXT_H

/* Questions about octets of text: lines of a body, addresses. */

#include <stddef.h>

/*
 * Whether s[0..n) has an octet with the high bit set: 8-bit body text
 * (BODY=8BITMIME) or a UTF-8 address (SMTPUTF8).
 */
int text_has8bit(const char *s, size_t n);

#endif
