#include "qfree.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#endif

/* Slots tried by one put, files taken by one take, before giving up. */
#define PUT_TRIES 4
#define TAKE_TRIES 8
/*
 * Slots a take guesses before it reads free/.  Reading 512 names costs
 * 60 us (measured, doc/performance.md): more than the rest of a take, at
 * every message of a busy server, where most slots are filled and a guess
 * seldom misses.  When few are filled, guesses miss, and the list is short.
 */
#define TAKE_GUESSES 4
/*
 * Then as many guesses among the other slots, spread over them: the
 * runner fills every slot when idle (qfree_fill), and in a burst deeper
 * than 64 messages the first slots are emptied first, the others stay
 * filled: measured, a third of the takes of a run read free/ without these.
 */
#define TAKE_WIDE 4
#define WIDE_STEP 113	/* prime, not a divisor of QFREE_SLOTS - QFREE_HOT */
/*
 * How often a put that finds every slot filled reads free/ again, in ms:
 * takers empty slots behind the runner's back, at every message.
 */
#define RELIST_MS 10

/* musl has no wrapper: the system call itself (Linux 3.15). */
static int
rename_noreplace(int dfd, const char *from, const char *to)
{
	return (int)syscall(SYS_renameat2, dfd, from, dfd, to, RENAME_NOREPLACE);
}

/*
 * The names in free/ that are slots (digits), at most QFREE_SLOTS of them,
 * from one getdents64 call: the count, or -1.  They stay valid until the
 * next call (a static buffer).
 */
static int
list_slots(int spool_fd, char **names)
{
	/* 24-octet records for names of up to 4 digits, and room for others */
	static char buf[QFREE_SLOTS * 48];
	long n, off;
	int dfd, k = 0;

	dfd = openat(spool_fd, "free", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	n = syscall(SYS_getdents64, dfd, buf, sizeof buf);
	close(dfd);
	for (off = 0; off < n && k < QFREE_SLOTS;) {
		/* struct linux_dirent64: ino 8, off 8, reclen 2, type 1, name */
		unsigned short reclen;
		char *name = buf + off + 19;

		memcpy(&reclen, buf + off + 16, sizeof reclen);
		if (reclen == 0)
			break;
		if (name[0] >= '0' && name[0] <= '9' && strlen(name) < 8)
			names[k++] = name;
		off += reclen;
	}
	return k;
}

static long long
now_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Slot s filled, as far as the runner knows; mark it so. */
static int
filled(const struct qfree *q, unsigned s)
{
	return (q->used[s / 8] & (1u << (s % 8))) != 0;
}

static void
mark(struct qfree *q, unsigned s)
{
	q->used[s / 8] |= (unsigned char)(1u << (s % 8));
}

/* Mark the slots listed in free/ as used, the others as not. */
static void
relist(int spool_fd, struct qfree *q)
{
	char *names[QFREE_SLOTS], *end;
	int i, k;
	unsigned long n;

	memset(q->used, 0, sizeof q->used);
	k = list_slots(spool_fd, names);
	for (i = 0; i < k; i++) {
		n = strtoul(names[i], &end, 10);
		if (*end == '\0' && n < QFREE_SLOTS)
			mark(q, (unsigned)n);
	}
	q->listed_at = now_ms() + 1;	/* 0: never */
}

/* The lowest slot not known to be filled; -1 if none. */
static int
next_slot(const struct qfree *q)
{
	unsigned s;

	for (s = 0; s < QFREE_SLOTS; s++)
		if (!filled(q, s))
			return (int)s;
	return -1;
}

int
qfree_put(int spool_fd, const char *path, struct qfree *q, uid_t owner)
{
	struct stat st;
	char slot[32];
	int s, tries = 0;

	if (fstatat(spool_fd, path, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(st.st_mode) || st.st_nlink != 1 || st.st_uid != owner ||
	    st.st_size > QFREE_MAX_SIZE)
		return -1;
	if (q->listed_at == 0)
		relist(spool_fd, q);
	/*
	 * Takers empty slots behind our back, the first QFREE_HOT most: when
	 * those seem filled, look again, but not more than once in RELIST_MS,
	 * or a deep queue drained with the slots filled would read the folder
	 * at every message.  (Once a second was too seldom: with mail
	 * arriving, about half of the done files were removed, and as many
	 * created by the takers.)
	 */
	s = next_slot(q);
	if ((s < 0 || s >= QFREE_HOT) && now_ms() + 1 - q->listed_at >= RELIST_MS)
		relist(spool_fd, q);
	while (tries < PUT_TRIES && (s = next_slot(q)) >= 0) {
		mark(q, (unsigned)s);
		snprintf(slot, sizeof slot, "free/%d", s);
		if (rename_noreplace(spool_fd, path, slot) == 0)
			return 0;
		if (errno != EEXIST)
			return -1;
		tries++;
	}
	return -1;
}

/*
 * Take free/NAME as tmp: 1 with *fd, 0 when it is not there or not one to
 * reuse (*taken counts those), -1 to give up (tmp exists, no renameat2).
 */
static int
take_slot(int spool_fd, const char *name, const char *tmp, uid_t owner,
    int *fd, int *taken)
{
	struct stat st;
	char slot[32];

	snprintf(slot, sizeof slot, "free/%s", name);
	if (rename_noreplace(spool_fd, slot, tmp) < 0)
		return errno == ENOENT ? 0 : -1;	/* ENOENT: not filled */
	++*taken;
	/* Not written to before it is known to be ours alone (qfree.h). */
	*fd = openat(spool_fd, tmp, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (*fd >= 0 && fstat(*fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_nlink == 1 && st.st_uid == owner && (st.st_mode & 07777) == 0600)
		return 1;
	/*
	 * Taken meanwhile by the runner's tmp/ clean-up (ENOENT), or not one
	 * to reuse: this name of it goes, the file stays if linked elsewhere.
	 * A folder there stays: the caller's create fails on it.
	 */
	if (*fd >= 0)
		close(*fd);
	(void)unlinkat(spool_fd, tmp, 0);
	return 0;
}

int
qfree_take(int spool_fd, const char *tmp, unsigned seed, uid_t owner)
{
	char *names[QFREE_SLOTS], guess[16];
	int i, k, r, fd = -1, taken = 0;

	/*
	 * Guesses first, among the slots puts fill first; takers start at
	 * different slots (seed).
	 */
	for (i = 0; i < TAKE_GUESSES + TAKE_WIDE; i++) {
		unsigned s = i < TAKE_GUESSES ? (seed + (unsigned)i) % QFREE_HOT :
		    QFREE_HOT + (seed + (unsigned)(i - TAKE_GUESSES) * WIDE_STEP) %
		    (QFREE_SLOTS - QFREE_HOT);

		snprintf(guess, sizeof guess, "%u", s);
		if ((r = take_slot(spool_fd, guess, tmp, owner, &fd, &taken)) != 0)
			return r > 0 ? fd : -1;
	}
	/*
	 * Then the folder rather than more guesses: they miss when few slots
	 * are filled.  Takers start at different places in the list.
	 */
	if ((k = list_slots(spool_fd, names)) <= 0)
		return -1;
	for (i = 0; i < k && taken < TAKE_TRIES; i++) {
		r = take_slot(spool_fd, names[(seed + (unsigned)i) % (unsigned)k], tmp,
		    owner, &fd, &taken);
		if (r != 0)
			return r > 0 ? fd : -1;
	}
	return -1;
}

int
qfree_fill(int spool_fd, struct qfree *q, uid_t owner, unsigned n)
{
	char slot[32];
	unsigned s;
	int fd, made = 0;

	relist(spool_fd, q);
	for (s = 0; s < n && s < QFREE_SLOTS; s++) {
		if (filled(q, s))
			continue;
		snprintf(slot, sizeof slot, "free/%u", s);
		fd = openat(spool_fd, slot, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		if (fd < 0) {
			if (errno == EEXIST)
				continue;	/* filled meanwhile */
			break;	/* no free/, a full disk: the takers create files */
		}
		/* A take uses only the owner's files of mode 0600 (qfree.h). */
		if ((geteuid() != owner && fchown(fd, owner, (gid_t)-1) < 0) ||
		    fchmod(fd, 0600) < 0) {
			close(fd);
			(void)unlinkat(spool_fd, slot, 0);
			break;
		}
		close(fd);
		mark(q, s);
		made++;
	}
	return made;
}
