#ifndef QLOCK_H
#define QLOCK_H

/*
 * Per-message locks, shared by the queue runner and the queue tool
 * (sluice-queue): the runner holds a message's lock from the moment it
 * takes the message into a chain until the chain's output is committed,
 * and the tool takes it, without waiting, before it holds, deletes,
 * requeues or bounces a message.  So a message in a running chain is
 * neither lost nor doubled by the tool: the tool says "in a running chain,
 * try again" instead.
 *
 * One file, spool/msglock, holds every lock: a message's lock is a byte
 * of it at an offset hashed from the queue id (open file description
 * locks, F_OFD_SETLK), so the runner needs one descriptor however many
 * messages its chains hold.  Two ids that hash alike only make the tool
 * wait for the other; the locks do not interfere with the runner's flock
 * of spool/lock.
 */

/* Open (or make) spool_fd's msglock; the descriptor, or -1 with errno. */
int qlock_open(int spool_fd);
/* Lock qid without waiting: 0, or -1 with errno EAGAIN when it is held. */
int qlock_try(int fd, const char *qid);
void qlock_release(int fd, const char *qid);

#endif
