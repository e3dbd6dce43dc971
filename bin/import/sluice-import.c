/*
 * sluice-import: turn another server's spool (SMTPSERV, an MS SMTP drop
 * folder, mbox, Maildir) into a stream.  See sluice-import(1).
 *
 * Nothing is lost: what cannot be converted goes to the malformed folder,
 * the output is all or nothing (lib/hold), and with -d a source is removed
 * only once what was made of it is safe.  Standard output cannot tell
 * when that is if it is a pipe: the reader may still fail.  So -d takes a
 * regular file as standard output (synced before the removal), or a
 * program to run over the output, whose exit 0 says it is safe:
 *
 *   sluice-import -d -m box.mbox -- sluice-enqueue
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "envelope.h"
#include "import.h"
#include "log.h"
#include "prog.h"
#include "usage.h"

struct importer imp;

static const char usage_text[] =
    "usage: sluice-import [-d] [-b malformed-dir] -w dir | -e dir | -M dir | -m mbox\n"
    "           [-r rcpt]... [[--] program [arg]...]\n"
    "See sluice-import(1).\n";

static void
usage(void)
{
	usage_die(usage_text, NULL);
}

/* With -d and no program, standard output must be a file it can sync. */
static void
check_removal_safe(void)
{
	struct stat st;

	if (fstat(1, &st) == 0 && S_ISREG(st.st_mode))
		return;
	die(EXIT_PERM, "-d: standard output is not a regular file, so the sources "
	    "could go before their mail is safe; give the next program as an "
	    "argument instead (sluice-import -d ... -- sluice-enqueue)");
}

/*
 * Run argv with the whole output as its standard input (the held file,
 * rewound), and wait.  Its exit 0 says the output is safe; anything else
 * is its verdict, and nothing is removed.
 */
static void
run_next(char **argv)
{
	int fd = hold_rewind(&imp.out);
	pid_t pid = fork();
	int st;

	if (pid < 0)
		die_sys("unable to fork");
	if (pid == 0) {
		if (dup2(fd, 0) < 0)
			die_sys("unable to run %s", argv[0]);
		prog_exec(argv);
		die_sys("unable to run %s", argv[0]);
	}
	st = prog_wait(pid);
	if (st != 0)
		die(st == EXIT_PERM ? EXIT_PERM : EXIT_TEMP, "%s failed (exit %d): nothing removed",
		    argv[0], st);
}

static int
parse_opts(int argc, char **argv, int *mode, const char **src)
{
	int c;

	if ((imp.rflags = calloc(RFLAG_MAX, sizeof *imp.rflags)) == NULL)
		die_nomem();
	while ((c = getopt(argc, argv, "+b:de:m:M:r:w:")) != -1) {
		switch (c) {
		case 'b': imp.baddir = optarg; break;
		case 'd': imp.remove = 1; break;
		case 'e': case 'm': case 'M': case 'w':
			if (*mode != 0)
				usage();
			*mode = c;
			*src = optarg;
			break;
		case 'r':
			if (imp.nrflags == RFLAG_MAX)
				die(EXIT_PERM, "more than %d -r recipients", RFLAG_MAX);
			imp.rflags[imp.nrflags++] = optarg;
			break;
		default: usage();
		}
	}
	if (*mode == 0)
		usage();
	if (imp.nrflags && *mode != 'm' && *mode != 'M')
		die(EXIT_PERM, "-r is for -m and -M only: the other formats name their recipients");
	return optind;
}

int
main(int argc, char **argv)
{
	const char *src = NULL;
	char **next;
	int mode = 0;

	usage_help(argc, argv, usage_text);
	log_init(argv[0]);
	/* A caller that ignores SIGCHLD would have the next program reaped unseen. */
	signal(SIGCHLD, SIG_DFL);
	next = argv + parse_opts(argc, argv, &mode, &src);
	if (imp.remove && *next == NULL)
		check_removal_safe();
	envelope_init();
	hold_init(&imp.out);
	if (header_init(&imp.head) < 0)
		die_nomem();
	if (bodyfile_open(&imp.body, bodyfile_tmpdir()) < 0)
		die_sys("unable to create a temporary file in %s", bodyfile_tmpdir());
	if (imp.baddir == NULL)
		bad_default(src, mode != 'm');

	switch (mode) {
	case 'w': import_smtpserv(src); break;
	case 'e': import_eml(src); break;
	case 'M': import_maildir(src); break;
	case 'm': import_mbox(src); break;
	}
	if (*next != NULL)
		run_next(next);
	else
		hold_commit(&imp.out, 1);
	done_remove();
	log_info("imported=%lu malformed=%lu source=%s%s", imp.n_ok, imp.n_bad,
	    src, imp.remove ? " removed=yes" : "");
	return 0;
}
