#ifndef UNREACH_H
#define UNREACH_H

/*
 * The memory of destinations found unreachable: a cache in a folder of the
 * spool, one file per destination, whose mtime is when the destination was
 * found unreachable and whose one line is why.  A record younger than the
 * ttl says "do not try again yet"; an older one, or none, says "try".
 *
 * It is a cache, never a source of truth: records are written to a
 * temporary file and renamed (a reader sees a whole record or none) but
 * never synced, and any failure only means less memory.  A struct unreach
 * whose open failed, or whose ttl is 0, remembers nothing, and every call
 * on it is a harmless no-op.
 *
 * A key ("example.org", "[192.0.2.1]:25") names its file lower-cased, with
 * every octet outside [a-z0-9-_:[]] and a leading dot written %XX: one
 * name per key, none hidden, "..", or holding a "/".  A key whose name
 * would be longer than NAME_MAX is not remembered.
 */

#include <limits.h>
#include <stddef.h>
#include <time.h>

struct unreach {
	char dir[PATH_MAX];	/* "" when there is no memory */
	long long ttl;		/* seconds a record is honoured */
};

/*
 * The memory in folder name of spool, honoured for ttl seconds.  The
 * folder is made (mode 0700) when spool exists.  0, or -1 when there is
 * no memory: ttl <= 0, or no usable folder (a run by hand on a file).
 */
int unreach_open(struct unreach *, const char *spool, const char *name,
    long long ttl);
/*
 * Remember key as unreachable now, with why (cut at its first newline).
 * 0; 1 when nothing is remembered by design (no memory, or a key too long
 * for a name); -1 with errno (nothing remembered, nothing left behind).
 */
int unreach_record(const struct unreach *, const char *key, const char *why);
/* Forget key: 1 when a record was removed, 0 when there was none. */
int unreach_forget(const struct unreach *, const char *key);
/*
 * The age in seconds of key's record when it is younger than the ttl, with
 * the reason it holds in why (printable: other octets become '?'); -1 when
 * key is to be tried (no record, an old one, one from the future, or
 * something other than a file there).
 */
long long unreach_age(const struct unreach *, const char *key, time_t now,
    char *why, size_t whysz);

#endif
