/*
 * sendmail: the interface every Unix program expects.  It reads a message
 * on standard input, completes its header, and hands it as one stream
 * transaction to the queue program ($SLUICE_QUEUE, default sluice-enqueue)
 * through a pipe.  -bp (or the name mailq) runs mailq(1); -bs speaks SMTP
 * on standard input and output; -q runs the queue once; -bi (or the name
 * newaliases) compiles the aliases table.  Exit status follows
 * <sysexits.h>, as callers of sendmail expect; see sendmail(1).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "conf.h"
#include "fmt.h"
#include "log.h"
#include "prog.h"
#include "submit.h"

static void __attribute__((noreturn))
run(char *const argv[])
{
	prog_exec(argv);
	die(EX_UNAVAILABLE, "unable to run %s: %s", argv[0], strerror(errno));
}

/* -bp: mailq is a program of its own, installed beside sendmail. */
static void __attribute__((noreturn))
sendmail_mailq(const struct opts *o)
{
	char self[4096];
	char *av[] = { "mailq", "-S", o->sort == SORT_SIZE ? "size" :
	    o->sort == SORT_PRIO ? "priority" : "time", NULL };

	switch (prog_sibling("mailq", self, sizeof self)) {
	case 0:
		av[0] = self;
		break;
	case -2:
		die(EX_SOFTWARE, "%s is a link to sendmail, as before "
		    "mailq was a program of its own: install it again", self);
	}
	run(av);
}

/* -bs: a local user is trusted as a relay client, as with Postfix. */
static void __attribute__((noreturn))
sendmail_smtp(void)
{
	char *av[] = { "sluice-smtpd", NULL };

	if (setenv("RELAYCLIENT", "", 1) < 0)
		die(EX_TEMPFAIL, "out of memory");
	run(av);
}

/*
 * -q: a flush of the whole queue, as Postfix's sendmail -q (postqueue -f):
 * one run over every message, due or not; -qRdomain: of one destination.
 * Beside a running sluice-runq, either leaves it the request.
 */
static void __attribute__((noreturn))
sendmail_runq(const struct opts *o)
{
	char *av[] = { "sluice-runq", "-1", "-f", NULL, NULL };

	if (o->flush != NULL) {
		av[2] = "-D";
		av[3] = o->flush;
	}
	run(av);
}

/* -bi: compile the aliases table with the sluice-mkcdb beside us. */
static void __attribute__((noreturn))
sendmail_aliases(void)
{
	char src[4096], dst[4200], self[4096];
	char *av[] = { "sluice-mkcdb", "-o", dst, src, NULL };

	if (fmt_path(src, sizeof src, "%s/aliases", conf_dir()) < 0 ||
	    fmt_path(dst, sizeof dst, "%s.cdb", src) < 0)
		die(EX_CONFIG, "the configuration folder's name is too long");
	/* Installed next to sendmail, maybe not on PATH. */
	if (prog_sibling("sluice-mkcdb", self, sizeof self) == 0)
		av[0] = self;
	run(av);
}

int
main(int argc, char **argv)
{
	struct opts o;
	int i;

	/* Settings only after -C has named their folder. */
	log_name("sendmail");
	/*
	 * A caller that ignores SIGCHLD (swaks --pipe does) would have the
	 * queue program reaped behind our back, and its status lost; the
	 * setting is inherited across exec, so it is reset for -bs as well.
	 */
	signal(SIGCHLD, SIG_DFL);
	i = opts_parse(argc, argv, &o);
	log_setup(LOG_ROLE_COMMAND);
	switch (o.mode) {
	case M_QUEUE:
		sendmail_mailq(&o);
	case M_SMTP:
		sendmail_smtp();
	case M_RUNQ:
		sendmail_runq(&o);
	case M_ALIASES:
		sendmail_aliases();
	case M_DELIVER:
		break;
	}
	return deliver(&o, argc - i, argv + i);
}
