/*
 * Unit tests (TAP) for lib/local.c; run by t/12-local-lookups.t with the
 * compiled tables users.cdb and domains.cdb it makes (see there).
 */
#include <stdio.h>
#include <string.h>

#include "local.h"
#include "tap.h"

int
main(int argc, char **argv)
{
	struct table users, domains;
	char val[64];

	if (argc != 3 || table_open(&users, argv[1]) < 0 ||
	    table_open(&domains, argv[2]) < 0) {
		printf("Bail out! usage: t/local users.cdb domains.cdb\n");
		return 255;
	}
	ok(local_is_postmaster("postmaster") && local_is_postmaster("PostMaster@x.org"),
	    "postmaster, any case, with or without a domain");
	ok(!local_is_postmaster("postmaster2@x.org") && !local_is_postmaster("post@x") &&
	    !local_is_postmaster("x@postmaster"), "only the local part counts");

	ok(local_user(&users, "bob@example.test", "+", val, sizeof val) == 1 &&
	    strcmp(val, "bob/") == 0, "a user gives its mailbox");
	ok(local_user(&users, "bob+list@example.test", "+", val, sizeof val) == 1 &&
	    strcmp(val, "bob/") == 0, "bob+list is bob's mailbox");
	ok(local_user_known(&users, "bob-list@example.test", "+-") == 1,
	    "every delimiter character counts");
	ok(local_user_known(&users, "bob+list@example.test", "") == 0,
	    "no delimiters, no detail");
	ok(local_user_known(&users, "carol+x@example.test", "+") == 1 &&
	    local_user(&users, "carol+x@example.test", "+", val, sizeof val) == 1 &&
	    strcmp(val, "carol-detail/") == 0,
	    "a whole address in users wins over its base");
	ok(local_user_known(&users, "nobody@example.test", "+") == 0 &&
	    local_user_known(&users, "+bob@example.test", "+") == 0,
	    "unknown users, and a leading delimiter is no detail");

	ok(local_domain(&domains, "example.test") == 1, "a listed domain is local");
	ok(local_domain(&domains, "a.sub.example.test") == 1,
	    ".domain covers its subdomains");
	ok(local_domain(&domains, "example.org") == 0, "other domains are not");
	ok(local_domain(&domains, "[192.0.2.1]") == 1 &&
	    local_domain(&domains, "[192.0.2.2]") == 0,
	    "an address literal is looked up exactly");
	ok(local_domain(&domains, "") == 1, "an unqualified address is local");
	table_close(&users);
	table_close(&domains);
	return tap_done();
}
