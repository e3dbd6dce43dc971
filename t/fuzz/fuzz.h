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
/* Abort with a message: a broken invariant is a finding. */
void fuzz_fail(const char *what) __attribute__((noreturn));

#endif
