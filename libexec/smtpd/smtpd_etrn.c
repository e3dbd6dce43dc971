/*
 * ETRN (RFC 1985): start the queue for a destination that table smtp_dest
 * marks queue_first=yes, by leaving a flush request for sluice-runq
 * (sluice-runq -D).  Any client may ask: the mail goes to the
 * destination's own route, never to the client.  Other names get 459, so
 * that a stranger cannot make the runner scan the queue at will.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "dest.h"
#include "log.h"
#include "prog.h"
#include "qdest.h"
#include "smtpd.h"

/* The node name, checked as sluice-runq -D will; 0, or -1 when answered. */
static int
etrn_name(struct session *s, const char *arg, char *name, size_t size)
{
	if (s->helo == HELO_NONE) {
		smtpd_reply(s, RP_NEED_HELO);
		return -1;
	}
	if (*arg == '\0' || *arg == '#' || strlen(arg) >= size ||
	    (strcpy(name, arg), qdest_check(name) < 0)) {
		smtpd_reply(s, RP_ETRN_SYNTAX);
		return -1;
	}
	return 0;
}

/*
 * A relay client (one we trust to send anywhere) may flush any
 * destination; anyone else only a destination we hold mail for on
 * purpose (smtp_dest queue_first=yes, RFC 1985), so that strangers
 * cannot make the runner rescan the queue at will.
 */
static int
etrn_allowed(const struct session *s, const char *name)
{
	struct dest_opts o = { 0, 0, -1, -1 };
	char err[256];

	if (s->relay)
		return 1;
	if (name[0] == '@')
		name++;
	return dest_lookup(name, &o, err, sizeof err) == 1 && o.queue_first == 1;
}

/* sluice-runq -D name; its exit status, or -1 when it cannot start. */
static int
etrn_run(char *path, size_t size, char *name)
{
	char *av[] = { path, "-D", name, NULL };
	pid_t pid;
	int fd;

	if (prog_path("sluice-runq", path, size) < 0 || (pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		/* The client's socket is ours, not the runner's. */
		if ((fd = open("/dev/null", O_RDWR)) < 0 || dup2(fd, 0) < 0 ||
		    dup2(fd, 1) < 0)
			_exit(EXIT_TEMP);
		if (fd > 2)
			close(fd);
		signal(SIGPIPE, SIG_DFL);
		execv(path, av);
		_exit(EXIT_TEMP);
	}
	return prog_wait(pid);
}

void
smtpd_etrn(struct session *s, char *arg)
{
	char name[QDEST_NAME_MAX + 2], path[4096];
	int st;

	if (etrn_name(s, arg, name, sizeof name) < 0)
		return;
	if (!etrn_allowed(s, name)) {
		log_info("client=%s etrn=%s status=refused", s->addr, name);
		smtpd_reply_extra(s, RP_ETRN_DENIED, name);
		return;
	}
	if ((st = etrn_run(path, sizeof path, name)) < 0) {
		log_warn("client=%s etrn=%s unable to run sluice-runq: %s",
		    s->addr, name, strerror(errno));
		smtpd_reply_extra(s, RP_ETRN_FAIL, name);
		return;
	}
	if (st != 0) {
		log_info("client=%s etrn=%s status=failed", s->addr, name);
		smtpd_reply_extra(s, RP_ETRN_FAIL, name);
		return;
	}
	log_info("client=%s etrn=%s status=started", s->addr, name);
	smtpd_reply_extra(s, RP_ETRN_OK, name);
}
