#ifndef QFREE_H
#define QFREE_H

/*
 * Queue files kept for reuse: spool/free/0 ... free/511.
 *
 * When a message is done, sluice-runq moves its queue file into a free
 * slot instead of removing it, and sluice-enqueue writes the next message
 * into such a file (renamed into tmp/, overwritten) instead of creating one.
 * Creating and removing a file per message costs the file system an inode
 * allocation and a release each time; on ext4 without a journal the
 * allocation walks past every inode freed in the last minute
 * (doc/performance.md, "Queue files kept for reuse").  The hand-off itself
 * is unchanged: write, fsync, rename into incoming/, fsync incoming/.
 *
 * A slot is taken by renaming it away (one taker wins), and only used when
 * it is what the runner put there: a regular file of the spool's owner
 * (owner below), mode 0600, with one link; only files of the owner are
 * kept.  Callers are the owner, or root writing files for the owner.  A
 * name with a second link (a crash can leave a slot and a queued message
 * naming the same file until fsck counts the links) is removed, the file
 * left whole.  Files over QFREE_MAX_SIZE are removed, not kept, so the
 * slots hold at most 512 x 128 KiB (64 MiB); as many slots as a burst of
 * mail can have messages queued at once.
 */

#include <sys/types.h>

#define QFREE_SLOTS 512
/* Puts fill the lowest slot free, takes guess among the first QFREE_HOT. */
#define QFREE_HOT 64
#define QFREE_MAX_SIZE (128 * 1024)

/* The runner's view of the slots, kept between puts; zeroed to start. */
struct qfree {
	unsigned char used[QFREE_SLOTS / 8];	/* filled, as far as we know */
	long long listed_at;	/* 1 + the ms used[] was read (0: not yet) */
};

/*
 * Move the done queue file path (relative to spool_fd) into a free slot:
 * the lowest not known to be filled (free/ is read at the first put, and
 * again when the first QFREE_HOT slots seem filled, since takers empty
 * them, at most once in 10 ms).  0 when kept; -1 when not (no slot free,
 * too large, no free/ folder): the caller removes it.
 */
int qfree_put(int spool_fd, const char *path, struct qfree *q, uid_t owner);

/*
 * Take a kept file as tmp (relative to spool_fd, which must not exist):
 * four slots from seed among the first QFREE_HOT first, then four spread
 * over the others, then up to 8 of those listed in free/,
 * from the seed-th on (reading free/ costs more than the rest of a take
 * when most slots are filled, and a guess seldom misses then): a
 * descriptor open for writing at offset 0; or -1 when none could be
 * taken (then create one).  The file keeps its old content, to be
 * overwritten: its blocks stay allocated, so neither the taker nor its
 * fsync frees and allocates them again (on a file system mounted with
 * discard, each release is a discard request waited for).  The caller
 * cuts it with cut_at_offset (fsutil.h) before its fsync.
 */
int qfree_take(int spool_fd, const char *tmp, unsigned seed, uid_t owner);

/*
 * Fill each of the first n slots found empty with a new empty file of
 * owner, mode 0600: the runner does at its start and when idle, so that
 * a take finds a file instead of creating one while a client waits for
 * its 250 (on ext4 an inode allocation walks past the inodes freed in
 * the last minute: the cost is paid when nothing waits for it).  The
 * files are nobody's mail: none is synced.  How many were made.
 */
int qfree_fill(int spool_fd, struct qfree *q, uid_t owner, unsigned n);

#endif
