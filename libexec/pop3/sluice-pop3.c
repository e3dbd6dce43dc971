/*
 * sluice-pop3: fetch mail from POP3 mailboxes, as the profiles of table
 * pop3_profiles say, and feed each message to a program (by default
 * sluice-bsmtp-decode, the receiving end of a BSMTP tunnel).  A message
 * is deleted on the server only after that program exited 0 for it.
 * See sluice-pop3(8).
 */
#include <cdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pop3.h"
#include "table.h"

#define SESSIONS_MAX 10000	/* per profile and run: a guard, not a limit */

static void
usage(void)
{
	die(EXIT_PERM, "usage: sluice-pop3 [-p profile]...");
}

/* All sessions one profile needs; 0, or 111 when a later run must go on. */
static int
run_profile(const char *name, const char *val)
{
	struct profile p;
	struct uidl u;
	const char *err;
	unsigned fed, n;
	int rc = SESSION_MORE;

	if (profile_parse(&p, name, val, &err) < 0) {
		log_warn("profile=%s status=deferred reason=\"table pop3_profiles: %s\"",
		    name, err);
		return EXIT_TEMP;
	}
	uidl_load(&u, p.name);
	/* Another session while the last stopped at max and got somewhere. */
	for (n = 0, fed = 1; rc == SESSION_MORE && fed > 0 && n < SESSIONS_MAX; n++)
		rc = session_run(&p, &u, &fed);
	uidl_free(&u);
	return rc == SESSION_TEMP ? EXIT_TEMP : 0;
}

static int
run_named(struct table *t, const char *name)
{
	char val[TABLE_VAL_MAX];
	int rc = table_get(t, name, val, sizeof val);

	if (rc < 0)
		die_sys("unable to read table pop3_profiles");
	if (rc == 0) {
		log_warn("profile=%s status=deferred reason=\"not in table "
		    "pop3_profiles\"", name);
		return EXIT_TEMP;
	}
	return run_profile(name, val);
}

/* Every profile of the table, in the table's order. */
static int
run_all(struct table *t)
{
	char key[TABLE_KEY_MAX + 1], val[TABLE_VAL_MAX];
	unsigned pos;
	unsigned kl, vl;
	int worst = 0;

	if (t->fd < 0)
		return 0;
	cdb_seqinit(&pos, &t->cdb);
	while (cdb_seqnext(&pos, &t->cdb) > 0) {
		kl = cdb_keylen(&t->cdb);
		vl = cdb_datalen(&t->cdb);
		if (kl >= sizeof key || vl >= sizeof val ||
		    cdb_read(&t->cdb, key, kl, cdb_keypos(&t->cdb)) < 0 ||
		    cdb_read(&t->cdb, val, vl, cdb_datapos(&t->cdb)) < 0)
			die_sys("unable to read table pop3_profiles");
		key[kl] = '\0';
		val[vl] = '\0';
		if (run_profile(key, val) != 0)
			worst = EXIT_TEMP;
	}
	return worst;
}

int
main(int argc, char **argv)
{
	struct table t;
	int c, i, worst = 0, named = 0;

	log_init(argv[0]);
	/* A server that closes while we write must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	while ((c = getopt(argc, argv, "p:")) != -1) {
		if (c != 'p')
			usage();
		named = 1;
	}
	if (optind != argc)
		usage();
	if (table_open(&t, "pop3_profiles") < 0)
		die_sys("unable to open table pop3_profiles");
	if (!named)
		worst = run_all(&t);
	for (optind = 1, i = 1; named && (c = getopt(argc, argv, "p:")) != -1; i++)
		if (run_named(&t, optarg) != 0)
			worst = EXIT_TEMP;
	table_close(&t);
	if (worst)
		die(EXIT_TEMP, "4.4.0 a mailbox could not be fetched to the end: "
		    "a later run goes on");
	return 0;
}
