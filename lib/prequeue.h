#ifndef PREQUEUE_H
#define PREQUEUE_H

/*
 * A content stage before the queue: "stage -- queue-program [args...]",
 * as sluice-smtpd's SLUICE_QUEUE runs it.  The stage's standard output
 * becomes a pipe into the queue program, which commits what the stage
 * writes; the stage's exit status is the queue program's, or its own
 * refusal (exit 100, "5.7.1 ..." on standard error, which sluice-smtpd
 * passes on to the client).  On a failure of the stage the queue program
 * is stopped, so that it commits nothing.
 */

#include "stream.h"

/* Start argv with a pipe from our standard output; exits 111 on failure. */
void prequeue_start(char **argv);
/* Close our output and wait: the queue program's exit status. */
int prequeue_finish(void);
/*
 * Refuse the message being read (exit 100 with "5.7.1 reason"); what was
 * written before (a notice) is flushed and committed by the queue
 * program first.
 */
void prequeue_reject(struct stream_writer *w, const char *reason)
    __attribute__((noreturn));

#endif
