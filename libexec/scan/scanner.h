#ifndef SCANNER_H
#define SCANNER_H

/*
 * What sluice-scan scans with: clamd (INSTREAM) or an external command on
 * a temporary file.  A scan object is one thing scanned (the raw message,
 * a decoded part, a file embedded in a text part): opened on its first
 * octet, fed, then finished, which folds its verdict into the message's.
 * The worst verdict wins: infected, then error, then suspicious, then
 * clean.
 */

#include <stddef.h>

#include "clamd.h"
#include "extscan.h"

enum verdict { V_CLEAN, V_SUSPICIOUS, V_ERROR, V_INFECTED };

struct scanner {
	int method;		/* SCAN_CLAMD or SCAN_COMMAND */
	const char *clamd;
	struct extscan ext;
	const char *tmpdir;
	unsigned timeout;
	unsigned long long max_size;	/* octets scanned per object */
	enum verdict v;		/* the message's verdict so far */
	char name[256];		/* what was found, or what failed */
	char where[300];	/* in which object */
	unsigned objects;	/* scanned in this message */
};

#define SCAN_CLAMD 0
#define SCAN_COMMAND 1

struct scanobj {
	int open;
	int skip;		/* not scanned (a failure already recorded) */
	struct clamd c;
	int fd;			/* the temporary file of SCAN_COMMAND */
	char path[4096];
	unsigned char buf[65536];
	size_t len;
	unsigned long long size;
	int truncated;
	char what[300];		/* "the message", "part 2 \"x.exe\"" */
};

/* A new message: the verdict is clean again. */
void scanner_reset(struct scanner *);
/* Feed an object, opening it first when needed. */
void scanner_write(struct scanner *, struct scanobj *, const char *what,
    const void *p, size_t n);
/* Finish an open object: its verdict joins the message's. */
void scanner_finish(struct scanner *, struct scanobj *);
/* Drop an open object without a verdict. */
void scanner_abort(struct scanobj *);
/*
 * Remove what killed sluice-scans left in tmpdir: files named
 * sluice-scan.*, ours, unlocked (a scan holds its file locked until it is
 * removed) and a minute old; each removal is logged.
 */
void scanner_sweep(const char *tmpdir);

#endif
