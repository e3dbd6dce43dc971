/*
 * The feed: the command of the profile's feed=, a chain of programs
 * joined by '|' as sluice-runq's chain (no shell), run once per message
 * with the message on standard input, LF line ends, dot-stuffing undone.
 * Its status is the chain's (sluice-runq's rule): 100 if a member exits
 * 100, else 111 if any fails or is killed, else 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pop3.h"
#include "prog.h"

#define FEED_STAGES 8
#define FEED_ARGS 32

int
feed_run(const struct profile *p, int fd, const char *uid)
{
	char buf[FEED_MAX], *args[FEED_STAGES][FEED_ARGS], **argv[FEED_STAGES];
	pid_t pid[FEED_STAGES];
	int n, i, in = fd, pfd[2], st, worst = 0;

	for (i = 0; i < FEED_STAGES; i++)
		argv[i] = args[i];
	snprintf(buf, sizeof buf, "%s", p->feed);
	if ((n = prog_split_chain(buf, argv, FEED_STAGES, FEED_ARGS)) < 1) {
		log_warn("profile=%s feed=\"%s\": not a chain of programs", p->name,
		    p->feed);
		return EXIT_TEMP;
	}
	if (lseek(fd, 0, SEEK_SET) < 0)
		die_sys("unable to read a temporary file");
	setenv("SLUICE_POP3_PROFILE", p->name, 1);
	setenv("SLUICE_POP3_UID", uid, 1);
	for (i = 0; i < n; i++) {
		pfd[0] = pfd[1] = -1;
		if (i + 1 < n && pipe2(pfd, O_CLOEXEC) < 0)
			die_sys("unable to make a pipe");
		if ((pid[i] = fork()) < 0)
			die_sys("unable to fork");
		if (pid[i] == 0) {
			if (dup2(in, 0) < 0 || (pfd[1] >= 0 && dup2(pfd[1], 1) < 0))
				_exit(EXIT_TEMP);
			prog_exec(argv[i]);
			fprintf(stderr, "%s: fatal: unable to run %s: %s\n", log_prog,
			    argv[i][0], strerror(errno));
			_exit(EXIT_TEMP);
		}
		if (in != fd)
			close(in);
		if (pfd[1] >= 0)
			close(pfd[1]);
		in = pfd[0];
	}
	for (i = 0; i < n; i++) {
		st = prog_wait(pid[i]);
		if (st == EXIT_PERM || (st != 0 && worst != EXIT_PERM))
			worst = st == EXIT_PERM ? EXIT_PERM : EXIT_TEMP;
	}
	return worst;
}
