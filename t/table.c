/*
 * Unit tests (TAP) for lib/table.c; run by t/12-table-damaged-or-exposed.t with a folder
 * holding the tables it made: a damaged .cdb, a table of secrets in three
 * modes, and a table with a bare name.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "table.h"
#include "tap.h"

static char path[4096];

static const char *
in(const char *dir, const char *name)
{
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return path;
}

int
main(int argc, char **argv)
{
	struct table t;
	char val[64], key[64];

	if (argc != 2)
		return 2;
	ok(table_open(&t, in(argv[1], "missing.cdb")) == 0 && t.fd < 0,
	    "a table without a .cdb is empty");
	ok(table_open(&t, in(argv[1], "damaged.cdb")) < 0 &&
	    errno_exit(errno) == EXIT_TEMP,
	    "a damaged .cdb is an error, and a temporary one");
	ok(table_open_secret(&t, in(argv[1], "private.cdb")) == 0 && t.fd >= 0,
	    "a table of secrets others cannot read opens");
	table_close(&t);
	ok(table_open_secret(&t, in(argv[1], "public.cdb")) < 0 && errno == EPERM,
	    "a table of secrets others can read is refused (EPERM)");
	ok(table_open_secret(&t, in(argv[1], "leaky.cdb")) < 0 && errno == EPERM,
	    "so is one whose text source others can read");
	ok(table_open(&t, in(argv[1], "public.cdb")) == 0 && t.fd >= 0,
	    "table_open takes it: only secrets are checked");
	table_close(&t);

	if (table_open(&t, in(argv[1], "aliases.cdb")) < 0 || t.fd < 0)
		return 2;
	ok(table_lookup_addr(&t, "root@example.test", val, sizeof val, key,
	    sizeof key) == 1 && strcmp(val, "bare") == 0 && strcmp(key, "root") == 0,
	    "a bare name matches that local part (the /etc/aliases form)");
	ok(table_lookup_addr(&t, "bob@example.test", val, sizeof val, NULL, 0) == 1 &&
	    strcmp(val, "any") == 0, "local@ comes before the bare name");
	ok(table_lookup_addr(&t, "carol@example.test", val, sizeof val, NULL, 0) == 1 &&
	    strcmp(val, "bare") == 0, "the bare name comes before @domain");
	ok(table_lookup_addr(&t, "dave@example.test", val, sizeof val, NULL, 0) == 1 &&
	    strcmp(val, "catchall") == 0, "@domain still catches the rest");
	table_close(&t);
	return tap_done();
}
