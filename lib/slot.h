#ifndef SLOT_H
#define SLOT_H

/*
 * Counted slots shared by unrelated processes, with no daemon: the slots
 * of a key are the files DIR/KEY.0 ... DIR/KEY.(limit-1), and a slot is
 * held by holding flock(2) on its file.  The kernel drops the lock when
 * the holder ends, however it ends, so a crash never leaks a slot; a
 * holder removes its file when it lets go, so files do not pile up for
 * keys that are gone.  sluice-smtpd counts a client's sessions with it.
 */

#include <stddef.h>

#define SLOT_KEY_MAX 64	/* an IPv6 address with room to spare */

struct slot {
	int fd;		/* -1 when no slot is held */
	char path[4096];
};

/*
 * Take a free slot of key in dir (made, mode 0700, if missing; its parent
 * must exist).  Returns 1 with the slot held, 0 when all limit slots are
 * taken, or -1 with errno (a key with '/' or a leading '.' is EINVAL).
 */
int slot_take(struct slot *, const char *dir, const char *key, unsigned limit);
/* Let go of the slot, if one is held. */
void slot_release(struct slot *);

#endif
