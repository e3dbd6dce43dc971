#ifndef IMPORT_H
#define IMPORT_H

/*
 * sluice-import(1): another server's spool in, a stream out.  One file
 * per module, named after its function prefix:
 *
 *   sluice-import.c   main: options, the program run over the output
 *   import.c          what every format shares: a message written, a file
 *                     that is one message, a folder listed
 *   import_smtpserv.c, import_eml.c, import_maildir.c, import_mbox.c
 *                     the formats
 *   src.c             reading a source file line by line
 *   msg.c             a message on its way from a source into the body spool
 *   env.c             envelope addresses as spools write them
 *   bad.c             the malformed folder
 *   done.c            the sources to remove once the output is safe
 *
 * The state of one run is one struct, imp, defined in sluice-import.c.
 */

#include <stddef.h>

#include "bodyfile.h"
#include "buf.h"
#include "header.h"
#include "hold.h"
#include "stream.h"

#define ENV_LINE_MAX 1024	/* a line of a .WRK file or an x-sender: line */
#define HDR_VAL_MAX 1000	/* a captured Return-Path:/Delivered-To: value, unfolded */
#define RFLAG_MAX STREAM_RCPT_MAX

struct importer {
	struct hold out;	/* the whole output, until the commit */
	struct bodyfile body;	/* one body, while its envelope is checked */
	struct header head;	/* one header, while its fields are read */
	const char *baddir;	/* the malformed folder (-b) */
	int remove;		/* -d */
	const char **rflags;	/* -r */
	size_t nrflags;
	unsigned long n_ok, n_bad;
};

extern struct importer imp;

/* import.c */
struct msg;
struct txn;
struct dirent;
int import_emit(struct txn *, struct msg *, const char *name, char *err,
    size_t errsz);
void import_file_end(struct txn *, struct msg *, const char *path, int bad,
    char *err, size_t errsz);
struct src;
int import_body(struct src *, struct msg *, char *err, size_t errsz);
int import_has_suffix(const char *name, const char *suf);
int import_list(const char *dir, struct dirent ***ents);
int import_is_file(const char *path);

/* The formats. */
void import_smtpserv(const char *dir);
void import_eml(const char *dir);
void import_maildir(const char *dir);
void import_mbox(const char *file);

/* src.c */
struct src {
	struct rbuf in;
	int fd;
	char path[4096];
	unsigned long line;
	unsigned long long off;	/* offset of the next unread octet */
};

int src_open(struct src *, const char *path);
void src_close(struct src *);
/*
 * Next line without its line end (LF or CRLF; a last line may lack it).
 * Returns 1, 0 at end, or -2 when the line is longer than max octets, in
 * which case all of it has been consumed.  A read error is fatal.
 */
int src_line(struct src *, const char **l, size_t *n, size_t max);

/* msg.c */
struct msg {
	int headers;		/* still in the header section */
	int filter;		/* look at headers: capture and drop */
	char hv[3][HDR_VAL_MAX + 1];	/* Return-Path, Delivered-To, X-Original-To */
	size_t hl[3];
	int have[3];		/* 1; -1 when longer than HDR_VAL_MAX; 0 none */
	unsigned long blanks;	/* empty lines held back (mbox separator) */
	unsigned long long size;
	int eight;
};

enum { MSG_RETURN_PATH, MSG_DELIVERED_TO, MSG_ORIGINAL_TO };

/* Start a message; filter_headers captures the three fields above. */
void msg_init(struct msg *, int filter_headers);
void msg_line(struct msg *, const char *l, size_t n);
/* End of message; mbox drops the one empty line that separates messages. */
void msg_end(struct msg *, int mbox);

/* env.c */
int env_from(struct txn *, const char *s, size_t n, unsigned long line);
int env_rcpt(struct txn *, const char *s, size_t n, unsigned long line);
/*
 * The recipients of a message from a mailbox: -r if given, else the first
 * Delivered-To:, else the first X-Original-To:.
 */
int env_mailbox_rcpts(struct txn *, struct msg *);

/* bad.c */
/* The default malformed folder: "malformed" beside the source. */
void bad_default(const char *src, int is_dir);
/* Move a source file into the malformed folder, and log why. */
void bad_move(const char *src, const char *reason);
/*
 * Copy octets [from, to) of a source, its message number nmsg, into the
 * malformed folder (the source stays as it is), and log why.
 */
void bad_copy(struct src *, unsigned long long from, unsigned long long to,
    unsigned long nmsg, const char *reason);
const char *bad_base_name(const char *path);

/* done.c */
/* A source to remove (with -d) once the output is safe. */
void done_add(const char *path);
/* The same, when only read_size octets of it were imported. */
void done_add_read(const char *path, long long read_size);
/* The output is safe: remove what was imported. */
void done_remove(void);

#endif
