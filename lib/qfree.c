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

/* Mark the slots listed in free/ as used, the others as not. */
static void
relist(int spool_fd, struct qfree *q)
{
	char *names[QFREE_SLOTS], *end;
	struct timespec now;
	int i, k;
	unsigned long n;

	memset(q->used, 0, sizeof q->used);
	k = list_slots(spool_fd, names);
	for (i = 0; i < k; i++) {
		n = strtoul(names[i], &end, 10);
		if (*end == '\0' && n < QFREE_SLOTS)
			q->used[n / 8] |= (unsigned char)(1u << (n % 8));
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	q->listed_at = (long long)now.tv_sec + 1;	/* 0: never */
}

/* The next slot not known to be filled, from where we were; -1 if none. */
static int
next_slot(const struct qfree *q)
{
	unsigned s, scanned;

	for (scanned = 0; scanned < QFREE_SLOTS; scanned++) {
		s = (q->next + scanned) % QFREE_SLOTS;
		if (!(q->used[s / 8] & (1u << (s % 8))))
			return (int)s;
	}
	return -1;
}

int
qfree_put(int spool_fd, const char *path, struct qfree *q, uid_t owner)
{
	struct stat st;
	struct timespec now;
	char slot[32];
	int s, tries = 0;

	if (fstatat(spool_fd, path, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(st.st_mode) || st.st_nlink != 1 || st.st_uid != owner ||
	    st.st_size > QFREE_MAX_SIZE)
		return -1;
	if (q->listed_at == 0)
		relist(spool_fd, q);
	if (next_slot(q) < 0) {
		/*
		 * Takers empty slots behind our back: look again, but not more
		 * than once a second, or a deep queue drained with every slot
		 * filled would read the folder at every message.
		 */
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((long long)now.tv_sec + 1 == q->listed_at)
			return -1;
		relist(spool_fd, q);
	}
	while (tries < PUT_TRIES && (s = next_slot(q)) >= 0) {
		q->next = (unsigned)s + 1;
		q->used[s / 8] |= (unsigned char)(1u << (s % 8));
		snprintf(slot, sizeof slot, "free/%d", s);
		if (rename_noreplace(spool_fd, path, slot) == 0)
			return 0;
		if (errno != EEXIST)
			return -1;
		tries++;
	}
	return -1;
}

int
qfree_take(int spool_fd, const char *tmp, unsigned seed, uid_t owner)
{
	char *names[QFREE_SLOTS];
	struct stat st;
	char slot[32];
	int i, k, fd, tries = 0;

	/*
	 * Read the folder rather than guess at names: a guess misses when
	 * few slots are filled.  Takers start at different places in the list.
	 */
	if ((k = list_slots(spool_fd, names)) <= 0)
		return -1;
	for (i = 0; i < k && tries < TAKE_TRIES; i++) {
		snprintf(slot, sizeof slot, "free/%s", names[(seed + (unsigned)i) % (unsigned)k]);
		if (rename_noreplace(spool_fd, slot, tmp) < 0) {
			if (errno == ENOENT)
				continue;	/* another taker was first */
			return -1;	/* tmp exists, or no renameat2 here */
		}
		tries++;
		/* Not written to before it is known to be ours alone (qfree.h). */
		fd = openat(spool_fd, tmp, O_WRONLY | O_NOFOLLOW | O_NONBLOCK |
		    O_CLOEXEC);
		if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_nlink == 1 && st.st_uid == owner &&
		    (st.st_mode & 07777) == 0600)
			return fd;
		/*
		 * Taken meanwhile by the runner's tmp/ clean-up (ENOENT), or not
		 * one to reuse: this name of it goes, the file stays if linked
		 * elsewhere.  A folder there stays: the caller's create fails on it.
		 */
		if (fd >= 0)
			close(fd);
		(void)unlinkat(spool_fd, tmp, 0);
	}
	return -1;
}
