#ifndef RATE_H
#define RATE_H

/*
 * Event counters per key and per time window, shared by unrelated
 * processes with no daemon (as lib/slot.h shares session slots): the
 * counters of a key are one small file DIR/KEY, a fixed record read and
 * written under flock(2).  A window starts with the first event after the
 * last one ended (a fixed window, as Postfix's anvil counts), and a file
 * whose window ended long ago is removed by a later caller, so files do
 * not pile up for keys that are gone.  sluice-smtpd counts each client's
 * messages and recipients with it.
 */

#include <stddef.h>

#define RATE_KEY_MAX 64
#define RATE_COUNTERS 4

/*
 * Count one event of counter which (< RATE_COUNTERS) for key in dir
 * (made, mode 0700, if missing; its parent must exist), in a window of
 * window seconds, if the count stays within limit.  Returns 1 when
 * counted, 0 when the limit is reached (nothing counted), -1 with errno
 * (a key with '/' or a leading '.' is EINVAL).
 */
int rate_add(const char *dir, const char *key, long window, unsigned which,
    unsigned long limit);
/*
 * Remove the files of dir whose window ended more than age seconds ago.
 * Returns how many were removed, or -1 with errno.
 */
long rate_sweep(const char *dir, long age);

#endif
