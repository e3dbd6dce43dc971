#ifndef FUZZ_H
#define FUZZ_H

/*
 * What every fuzz target in t/fuzz shares.  A target is one file that
 * defines LLVMFuzzerTestOneInput(); it is linked twice: with libFuzzer
 * (make fuzz, clang) and with t/fuzz/main.c, which replays files
 * (make check, any compiler, SAN=1 for the sanitizers).  A target must
 * free what it allocates, leave no file behind and never exit: each
 * input is one call in a long-running process.
 */

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An anonymous file holding data, at offset 0; aborts on failure. */
int fuzz_memfd(const uint8_t *data, size_t size);
/* A fresh empty folder of the process's own under $TMPDIR; aborts on failure. */
const char *fuzz_tmpdir(void);
/* Remove everything inside dir (not dir itself). */
void fuzz_rm_contents(const char *dir);
/*
 * The next piece of an input that arrives piecemeal (a lib/buf transport's
 * read): from data[*off], at most n octets, at most max when max is not 0,
 * up to and including the next LF when by_line; its length, 0 at the end.
 */
size_t fuzz_piece(const uint8_t *data, size_t len, size_t *off, void *dst,
    size_t n, size_t max, int by_line);
/* p grown to hold need elements of elem octets (*size counts them). */
void *fuzz_grow(void *p, size_t *size, size_t need, size_t elem);
/* Abort with a message: a broken invariant is a finding. */
void fuzz_fail(const char *what) __attribute__((noreturn));

#endif
