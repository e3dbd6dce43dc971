/*
 * Unit tests (TAP) for lib/qfree.c, the queue files kept for reuse in
 * spool/free/; run by t/31-qfree-slots.t with a fresh spool folder.
 * Puts fill the lowest slot free; takes guess among the first QFREE_HOT
 * slots before they read the folder; a put that finds the first slots
 * filled reads the folder again after RELIST_MS (10 ms), since takers
 * empty slots behind its back.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "qfree.h"
#include "tap.h"

static int sp;

/* A done queue file tmp/NAME holding its name, mode 0600; 0 or -1. */
static int
done_file(const char *name)
{
	char path[64];
	int fd;

	snprintf(path, sizeof path, "tmp/%s", name);
	fd = openat(sp, path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, name, strlen(name)) != (ssize_t)strlen(name))
		return -1;
	return close(fd);
}

static int
put(const char *name, struct qfree *q)
{
	char path[64];

	if (done_file(name) < 0)
		return -2;
	snprintf(path, sizeof path, "tmp/%s", name);
	return qfree_put(sp, path, q, geteuid());
}

static int
slot_holds(unsigned s, const char *name)
{
	char path[64], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "free/%u", s);
	if ((fd = openat(sp, path, O_RDONLY)) < 0)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	return n >= 0 && (buf[n] = '\0', strcmp(buf, name) == 0);
}

static int
filled(unsigned s)
{
	char path[64];

	snprintf(path, sizeof path, "free/%u", s);
	return faccessat(sp, path, F_OK, 0) == 0;
}

/* What the file a take returned holds (its descriptor is write-only). */
static const char *
content(const char *tmp)
{
	static char buf[64];
	ssize_t n = -1;
	int fd;

	if ((fd = openat(sp, tmp, O_RDONLY)) >= 0) {
		n = read(fd, buf, sizeof buf - 1);
		close(fd);
	}
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* Empty the slots from..to as takers would (renamed away). */
static void
take_away(unsigned from, unsigned to)
{
	char path[64], away[64];
	unsigned s;

	for (s = from; s <= to; s++) {
		snprintf(path, sizeof path, "free/%u", s);
		snprintf(away, sizeof away, "tmp/away.%u", s);
		renameat(sp, path, sp, away);
	}
}

static void
sleep_ms(long ms)
{
	struct timespec t = { 0, ms * 1000000 };

	nanosleep(&t, NULL);
}

int
main(int argc, char **argv)
{
	struct qfree q;
	char name[32];
	unsigned s, n;
	int fd, r;

	if (argc != 2)
		return fprintf(stderr, "usage: qfree SPOOL\n"), 2;
	if ((sp = open(argv[1], O_RDONLY | O_DIRECTORY)) < 0 ||
	    mkdirat(sp, "tmp", 0700) < 0 || mkdirat(sp, "free", 0700) < 0)
		return perror(argv[1]), 2;
	memset(&q, 0, sizeof q);

	/* ---- puts fill the lowest slots ---- */
	ok(put("a", &q) == 0 && put("b", &q) == 0 && put("c", &q) == 0,
	    "three done files are kept");
	ok(slot_holds(0, "a") && slot_holds(1, "b") && slot_holds(2, "c"),
	    "in slots 0, 1 and 2, the lowest");
	take_away(1, 1);
	sleep_ms(20);
	ok(put("d", &q) == 0 && slot_holds(3, "d"),
	    "the next goes above, while the first slots do not all seem filled");

	/* ---- takes guess among the first slots ---- */
	for (s = 4; s < QFREE_HOT; s++) {
		snprintf(name, sizeof name, "h%u", s);
		if (put(name, &q) != 0)
			break;
	}
	ok(s == QFREE_HOT, "the first 64 (QFREE_HOT) slots are filled but one");
	fd = qfree_take(sp, "tmp/t1", 5, geteuid());
	ok(fd >= 0 && strcmp(content("tmp/t1"), "h5") == 0 && !filled(5),
	    "a take with seed 5 takes slot 5, its first guess");
	if (fd >= 0)
		close(fd);
	fd = qfree_take(sp, "tmp/t2", QFREE_HOT + 1, geteuid());
	ok(fd >= 0 && strcmp(content("tmp/t2"), "c") == 0 && !filled(1) && !filled(2),
	    "seed 65 (slot 1) finds it empty, and takes its next guess, slot 2");
	if (fd >= 0)
		close(fd);

	/* ---- a take whose guesses miss reads the folder ---- */
	take_away(0, QFREE_SLOTS - 1);
	done_file("far");
	renameat(sp, "tmp/far", sp, "free/300");
	fd = qfree_take(sp, "tmp/t3", 0, geteuid());
	ok(fd >= 0 && strcmp(content("tmp/t3"), "far") == 0 && !filled(300),
	    "slots 0-3 empty: the take finds slot 300 in the folder");
	if (fd >= 0)
		close(fd);
	ok(qfree_take(sp, "tmp/t4", 0, geteuid()) == -1, "none left: -1, for a new file");

	/* ---- a put that finds every slot filled looks again after 10 ms ---- */
	memset(&q, 0, sizeof q);
	for (n = 0; n < QFREE_SLOTS; n++) {
		snprintf(name, sizeof name, "f%u", n);
		if (put(name, &q) != 0)
			break;
	}
	ok(n == QFREE_SLOTS, "512 puts fill every slot");
	r = put("over", &q);
	ok(r == -1 && faccessat(sp, "tmp/over", F_OK, 0) == 0,
	    "the next is not kept (the caller removes it)");
	take_away(0, 9);	/* takers */
	sleep_ms(20);
	ok(put("again", &q) == 0 && slot_holds(0, "again"),
	    "10 slots taken, 20 ms later: the next put finds slot 0 empty");
	for (n = 0; n < 9; n++) {
		snprintf(name, sizeof name, "g%u", n);
		if (put(name, &q) != 0)
			break;
	}
	ok(n == 9 && slot_holds(9, "g8"), "and the 9 after it the others");
	ok(put("full", &q) == -1, "then every slot is filled again");

	/* ---- fill: empty files of the owner in the empty slots ---- */
	take_away(0, QFREE_SLOTS - 1);
	done_file("kept");
	renameat(sp, "tmp/kept", sp, "free/2");
	memset(&q, 0, sizeof q);
	r = qfree_fill(sp, &q, geteuid(), 5);
	ok(r == 4, "fill 5 with slot 2 filled: 4 files made");
	ok(slot_holds(2, "kept"), "the file in slot 2 is left as it was");
	{
		struct stat st;
		int good = 1;

		for (n = 0; n < 5; n++) {
			char path[32];

			snprintf(path, sizeof path, "free/%u", n);
			if (fstatat(sp, path, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
			    !S_ISREG(st.st_mode) || (st.st_mode & 07777) != 0600 ||
			    st.st_uid != geteuid() || (n != 2 && st.st_size != 0))
				good = 0;
		}
		ok(good, "slots 0-4 hold regular files of the owner, mode 0600, "
		    "the new ones empty");
	}
	ok(!filled(5), "and no slot beyond the 5");
	fd = qfree_take(sp, "tmp/t5", 0, geteuid());
	ok(fd >= 0 && !filled(0), "a take takes a made file (slot 0, its first guess)");
	if (fd >= 0)
		close(fd);
	ok(put("back", &q) == 0 && slot_holds(5, "back"),
	    "the fill marked its slots filled: the next put goes to slot 5");
	r = qfree_fill(sp, &q, geteuid(), QFREE_SLOTS);
	ok(r == QFREE_SLOTS - 5 && filled(0) && filled(QFREE_SLOTS - 1),
	    "fill of every slot: the 507 empty ones, slot 0 again");
	ok(qfree_fill(sp, &q, geteuid(), QFREE_SLOTS) == 0, "a second fill makes none");
	return tap_done();
}
