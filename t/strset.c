/*
 * Unit tests (TAP) for lib/strset.c; run by t/14-strset-case-insensitive.t.
 */
#include <stdio.h>
#include <string.h>

#include "strset.h"
#include "tap.h"

int
main(void)
{
	struct strset s = { 0 };
	char key[32];
	int i, all;

	ok(!strset_has(&s, "a"), "an empty set has nothing");
	ok(strset_add(&s, "Bob@Example.org") == 1, "a new string is added");
	ok(strset_add(&s, "bob@example.ORG") == 0, "case does not make it new");
	ok(strset_has(&s, "BOB@EXAMPLE.ORG"), "lookup ignores case");
	ok(!strset_has(&s, "bob@example.org.") && !strset_has(&s, "bob@example.or"),
	    "a longer or shorter string is not in the set");
	for (i = 0, all = 1; i < 5000; i++) {
		snprintf(key, sizeof key, "%05d", i);
		all &= strset_add(&s, key) == 1;
	}
	ok(all && s.n == 5001, "5000 more strings, through growth");
	for (i = 0, all = 1; i < 5000; i++) {
		snprintf(key, sizeof key, "%05d", i);
		all &= strset_has(&s, key) && strset_add(&s, key) == 0;
	}
	ok(all && strset_has(&s, "bob@example.org"), "all still there after growth");
	ok(!strset_has(&s, "05000"), "one never added is not");
	strset_clear(&s);
	ok(s.n == 0 && !strset_has(&s, "00001") && !strset_has(&s, "bob@example.org"),
	    "clear empties the set");
	ok(strset_add(&s, "00001") == 1 && strset_has(&s, "00001") &&
	    !strset_has(&s, "00002"), "a cleared set is used again");
	strset_free(&s);
	ok(s.cap == 0 && !strset_has(&s, "00001"), "free leaves an empty set");
	ok(strset_add(&s, "") == 1 && strset_has(&s, "") && strset_add(&s, "") == 0,
	    "the empty string is a member like any other");
	strset_free(&s);
	return tap_done();
}
