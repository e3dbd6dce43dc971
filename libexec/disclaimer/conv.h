#ifndef CONV_H
#define CONV_H

/* The disclaimer text made ready for one part (see insert.h). */

#include <stddef.h>

/* Whether s holds only ASCII. */
int conv_ascii(const char *s);
/* UTF-8 s as ASCII HTML: other characters as &#N;.  Returns the length. */
size_t conv_html(const char *s, char *out, size_t size);
/* Plain text as an HTML fragment: escaped, lines joined by <br>. */
size_t conv_text_html(const char *s, char *out, size_t size);
/*
 * UTF-8 s in charset (what it cannot hold transliterated or "?"), by
 * sluice-iconv(8): the length, or -1 when the charset is unknown to it.
 * When sluice-iconv fails otherwise, the stage exits 111.
 */
long conv_charset(const char *s, const char *charset, char *out, size_t size);

#endif
