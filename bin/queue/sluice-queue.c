/*
 * sluice-queue: the administrator's queue verbs, after Postfix's
 * postqueue, postsuper and postcat: list, show, hold, release, delete,
 * requeue, bounce, flush.  Each change takes the message's lock without
 * waiting (lib/qlock.h), so a message in a running chain is never lost or
 * doubled, and is logged with the queue id and the caller's uid.  For
 * root and the spool's owner.  See sluice-queue(8).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "prog.h"
#include "qdest.h"
#include "queue.h"
#include "usage.h"

static const char usage_text[] =
    "usage: sluice-queue [-C confdir] list [mailq options]\n"
    "       sluice-queue [-C confdir] show [-e] [-h] [-b] queue-id|file\n"
    "       sluice-queue [-C confdir] hold|release|delete|requeue queue-id...|ALL\n"
    "       sluice-queue [-C confdir] bounce [-r \"5.x.y reason\"] queue-id...\n"
    "       sluice-queue [-C confdir] flush [destination]\n"
    "       sluice-queue --help\n"
    "See sluice-queue(8).\n";

static void __attribute__((noreturn))
usage(const char *why)
{
	usage_die(usage_text, why);
}

struct verb {
	const char *name;
	int (*fn)(struct queue *, const char *qid);
	unsigned all;		/* the folders ALL means; 0: no ALL */
};

static const struct verb verbs[] = {
	{ "hold", change_hold, QBIT(Q_INCOMING) | QBIT(Q_DEFERRED) },
	{ "release", change_release, QBIT(Q_HOLD) },
	{ "delete", change_delete, QBIT(Q_INCOMING) | QBIT(Q_DEFERRED) | QBIT(Q_HOLD) },
	{ "requeue", change_requeue, QBIT(Q_INCOMING) | QBIT(Q_DEFERRED) | QBIT(Q_HOLD) },
};

/* The worst of two results: a refusal outranks a temporary failure. */
static int
worst(int a, int b)
{
	return a == EXIT_PERM || b == EXIT_PERM ? EXIT_PERM : a ? a : b;
}

static int
run_verb(struct queue *q, const struct verb *v, int argc, char **argv)
{
	char (*ids)[QID_LEN + 1];
	size_t i, n;
	int rc = 0;

	if (argc < 1)
		usage("a queue id is needed");
	if (argc == 1 && strcmp(argv[0], "ALL") == 0) {
		ids = qfile_list(q, v->all, &n);
		for (i = 0; i < n; i++)
			rc = worst(rc, v->fn(q, ids[i]));
		free(ids);
		return rc;
	}
	for (i = 0; i < (size_t)argc; i++)
		rc = worst(rc, v->fn(q, argv[i]));
	return rc;
}

static int
run_bounce(struct queue *q, int argc, char **argv)
{
	const char *reason = NULL;
	int c, i, rc = 0;

	optind = 1;
	while ((c = getopt(argc, argv, "+r:")) != -1) {
		if (c != 'r')
			usage(NULL);
		reason = optarg;
	}
	if (optind >= argc)
		usage("a queue id is needed");
	if (reason != NULL && (strlen(reason) > 500 || strpbrk(reason, "\r\n")))
		usage("-r: a reason is one line of at most 500 characters");
	for (i = optind; i < argc; i++)
		rc = worst(rc, bounce_message(q, argv[i], reason));
	return rc;
}

static int
run_show(struct queue *q, int argc, char **argv)
{
	int c, what = 0;

	optind = 1;
	while ((c = getopt(argc, argv, "+ehb")) != -1) {
		switch (c) {
		case 'e': what |= SHOW_ENV; break;
		case 'h': what |= SHOW_HDR; break;
		case 'b': what |= SHOW_BODY; break;
		default: usage(NULL);
		}
	}
	if (optind + 1 != argc)
		usage("show takes one queue id or file");
	return show_message(q, argv[optind], what ? what : SHOW_ENV | SHOW_HDR |
	    SHOW_BODY);
}

/* exec a program of ours: mailq beside us, sluice-runq among the stages. */
static void __attribute__((noreturn))
run_prog(char **av, int sibling)
{
	char path[4096];

	if (sibling && prog_sibling(av[0], path, sizeof path) == 0)
		av[0] = path;
	prog_exec(av);
	die_sys("unable to run %s", av[0]);
}

/*
 * flush: sluice-runq does it, once (-1 -f: everything, due or not; -1 -D
 * for one destination), or, beside a running daemon, leaves it the
 * request and wakes it.
 */
static void __attribute__((noreturn))
run_flush(struct queue *q, int argc, char **argv)
{
	char *av[] = { "sluice-runq", "-1", "-f", NULL, NULL };
	char name[QDEST_NAME_MAX + 2];

	if (argc > 1)
		usage("flush takes at most one destination");
	if (argc == 1) {
		if (strlen(argv[0]) >= sizeof name ||
		    (strcpy(name, argv[0]), qdest_check(name) < 0))
			usage("flush: not a domain, host name or [address]");
		av[2] = "-D";
		av[3] = argv[0];
	}
	log_info("action=flush dest=%s uid=%lu", argc ? argv[0] : "all",
	    (unsigned long)q->uid);
	run_prog(av, 0);
}

static int
dispatch(struct queue *q, int argc, char **argv)
{
	size_t i;

	if (strcmp(argv[0], "list") == 0) {
		argv[0] = "mailq";
		run_prog(argv, 1);
	}
	if (strcmp(argv[0], "show") == 0)
		return run_show(q, argc, argv);
	if (strcmp(argv[0], "bounce") == 0)
		return run_bounce(q, argc, argv);
	if (strcmp(argv[0], "flush") == 0)
		run_flush(q, argc - 1, argv + 1);
	for (i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (strcmp(argv[0], verbs[i].name) == 0)
			return run_verb(q, &verbs[i], argc - 1, argv + 1);
	usage("unknown verb");
}

int
main(int argc, char **argv)
{
	struct queue q;
	int c;

	log_name(argv[0]);
	usage_help(argc, argv, usage_text);
	while ((c = getopt(argc, argv, "+C:")) != -1) {
		if (c != 'C')
			usage(NULL);
		if (setenv("SLUICE_CONF", optarg, 1) < 0)
			die_nomem();
	}
	if (optind >= argc)
		usage("a verb is needed");
	log_setup(LOG_ROLE_DAEMON);
	signal(SIGPIPE, SIG_IGN);
	memset(&q, 0, sizeof q);
	q.uid = getuid();
	if (strcmp(argv[optind], "list") != 0)
		qfile_open_spool(&q, strcmp(argv[optind], "show") != 0);
	return dispatch(&q, argc - optind, argv + optind);
}
