#ifndef EXTSCAN_H
#define EXTSCAN_H

/*
 * An external virus scanner run on a temporary file: its command line
 * with "%f" replaced by the file's name (execv, never a shell), its exit
 * code mapped to clean, infected, suspicious or error by lists of codes
 * and ranges ("0", "10,13", "3-4", ">100", "<0"), as IEMS 7 configured
 * McAfee, Sophos and F-PROT (sluice-scan(8)).
 */

#include <stddef.h>

#define EXTSCAN_ARGS 64
#define EXTSCAN_RANGES 32

struct extscan_codes {
	struct { long lo, hi; } r[EXTSCAN_RANGES];
	size_t n;
};

enum extscan_result { EXT_CLEAN, EXT_INFECTED, EXT_SUSPICIOUS, EXT_ERROR };

struct extscan {
	char buf[4096];		/* the command line, split in place */
	char *argv[EXTSCAN_ARGS + 1];
	struct extscan_codes clean, infected, suspicious;
	unsigned timeout;
};

/* Parse a code list: 0, or -1 when it is malformed. */
int extscan_codes_parse(const char *s, struct extscan_codes *);
int extscan_codes_has(const struct extscan_codes *, long code);
/* Split the command line: 0, or -1 (empty, too long, or without %f). */
int extscan_init(struct extscan *, const char *cmdline);
/*
 * Run the scanner on file.  Returns the result; *code gets its exit code
 * (-1 when killed or not run), and out the first line it printed, or why
 * it could not be run.
 */
enum extscan_result extscan_run(const struct extscan *, const char *file,
    int *code, char *out, size_t osize);

#endif
