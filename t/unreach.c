/*
 * Unit tests (TAP) for lib/unreach.c, the memory of unreachable
 * destinations; run by t/50-smtp-unreach-cache.t with a fresh folder.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "unreach.h"

/* Set the mtime of dir/name to t. */
static int
age_file(const char *dir, const char *name, time_t t)
{
	char path[4096];
	struct timeval tv[2] = { { t, 0 }, { t, 0 } };

	snprintf(path, sizeof path, "%s/%s", dir, name);
	return utimes(path, tv);
}

static int
exists(const char *dir, const char *name)
{
	char path[4096];

	snprintf(path, sizeof path, "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

int
main(int argc, char **argv)
{
	struct unreach u, off;
	char why[100], key[400], dir[4096], path[4200];
	time_t now = time(NULL);

	if (argc != 2)
		return fprintf(stderr, "usage: unreach DIR\n"), 2;
	snprintf(dir, sizeof dir, "%s/unreachable", argv[1]);
	ok(unreach_open(&u, argv[1], "unreachable", 60) == 0, "open makes the folder");
	ok(exists(argv[1], "unreachable"), "which is there");
	ok(unreach_age(&u, "example.org", now, why, sizeof why) == -1,
	    "a destination never recorded is to be tried");

	ok(unreach_record(&u, "Example.ORG", "connect to mx: timed out\nmore") == 0,
	    "a destination is remembered");
	ok(exists(dir, "example.org"), "as a file named after its lower-cased key");
	ok(unreach_age(&u, "example.org", now, why, sizeof why) >= 0 &&
	    strcmp(why, "connect to mx: timed out") == 0,
	    "within the ttl it is not to be tried, with the reason's first line");
	ok(age_file(dir, "example.org", now - 30) == 0 &&
	    unreach_age(&u, "example.org", now, why, sizeof why) == 30,
	    "its age is the age of the record");
	ok(age_file(dir, "example.org", now - 60) == 0 &&
	    unreach_age(&u, "example.org", now, why, sizeof why) == -1,
	    "at the ttl it is to be tried again");
	ok(age_file(dir, "example.org", now + 3600) == 0 &&
	    unreach_age(&u, "example.org", now, why, sizeof why) == -1,
	    "a record from the future (clock set back) does not keep it");

	ok(unreach_record(&u, "[192.0.2.1]:25", "x\001y\377z") == 0 &&
	    exists(dir, "[192.0.2.1]:25"), "an address literal keeps its brackets");
	ok(unreach_age(&u, "[192.0.2.1]:25", now, why, sizeof why) >= 0 &&
	    strcmp(why, "x?y?z") == 0, "an unprintable reason is read back printable");
	ok(unreach_forget(&u, "[192.0.2.1]:25") == 1 &&
	    !exists(dir, "[192.0.2.1]:25"), "forget removes the record");
	ok(unreach_forget(&u, "[192.0.2.1]:25") == 0, "forgetting twice finds nothing");

	ok(unreach_record(&u, "../x/.y", "why") == 0 && exists(dir, "%2E.%2Fx%2F.y"),
	    "a key with / and a leading dot is written %XX: no way out of the folder");
	memset(key, 'a', sizeof key - 1);
	key[sizeof key - 1] = '\0';
	ok(unreach_record(&u, key, "why") == 1 &&
	    unreach_age(&u, key, now, why, sizeof why) == -1,
	    "a key too long for a file name is not remembered");
	ok(unreach_record(&u, "", "why") == 1, "nor is the empty key");

	ok(snprintf(path, sizeof path, "%s/dir.test", dir) > 0 &&
	    mkdir(path, 0700) == 0 && unreach_age(&u, "dir.test", now, why,
	    sizeof why) == -1, "a folder in place of a record is no record");

	ok(unreach_open(&off, argv[1], "unreachable", 0) == -1 &&
	    unreach_record(&off, "example.net", "why") == 1 &&
	    unreach_age(&off, "example.org", now, why, sizeof why) == -1 &&
	    unreach_forget(&off, "example.org") == 0, "ttl 0: no memory, every call a no-op");
	ok(unreach_open(&off, "/nonexistent/spool", "unreachable", 60) == -1 &&
	    unreach_record(&off, "example.net", "why") == 1,
	    "no spool: no memory, and the folder is not made");
	return tap_done();
}
