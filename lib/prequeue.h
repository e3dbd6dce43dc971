#ifndef PREQUEUE_H
#define PREQUEUE_H

/*
 * A content stage run before the queue: sluice-smtpd runs
 * SLUICE_QUEUE="sluice-scan -- sluice-enqueue" for each transaction, so
 * that the stage can refuse the message during the SMTP dialogue (no
 * backscatter).  The stage starts the queue program with a pipe from its
 * own standard output, writes what it passes on, and:
 *   - at the end, prequeue_finish() closes the pipe and answers with the
 *     queue program's exit status (what it committed is what smtpd acks);
 *   - to refuse, prequeue_reject() first lets the queue program commit
 *     what was already written (a notice to the postmaster), then exits
 *     100 with the reason, whose enhanced status code smtpd passes on;
 *   - on any failure of the stage (a die() anywhere), an atexit handler
 *     kills the queue program, which then commits nothing.
 */

#include "stream.h"

/*
 * A content stage's arguments: none (a filter in the chain), or
 * "-- queue-program [args...]"; --help and bad usage as lib/usage.h says.
 * Returns the queue program's argv, or NULL in the chain.
 */
char **prequeue_args(int argc, char **argv, const char *usage_text);
/* The end of a content stage: 0 in the chain, else prequeue_finish(). */
int prequeue_end(void);
/* Start argv (resolved with prog_path) reading our standard output. */
void prequeue_start(char **argv);
/* Whether prequeue_start() was called. */
int prequeue_active(void);
/* Close our output and wait: the queue program's exit status. */
int prequeue_finish(void);
/* "5.7.1 text": commit what w holds, then exit 100 with the reason. */
void prequeue_reject(struct stream_writer *w, const char *reason)
    __attribute__((noreturn));

#endif
