/*
 * The privileged part of sluice-local (sluice-local(8) PRIVILEGE), as in
 * OpenSMTPD: started as root, sluice-local forks this process before it
 * reads any input, and then becomes the owner of the spool.  This process
 * keeps root and does one thing: on a request over a socket, "deliver the
 * body (a descriptor passed with it) to system user NAME's mailbox, or to
 * this command or file as default_privs", it forks a child that becomes
 * that user (never root) before it touches any path or runs anything, and
 * answers with the child's result.  It takes no path from the request for
 * a system user: the mailbox is computed here, from the settings read
 * before the fork.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "addr.h"
#include "log.h"
#include "priv.h"
#include "prog.h"
#include "route.h"
#include "sluice-local.h"

#define PRIV_QID_MAX 64

struct priv_req {
	int kind;	/* enum priv_kind */
	char arg[ROUTE_MAX + 1];	/* the user's name, the command, the path */
	char from[ADDR_PATH_MAX + 1], rcpt[ADDR_PATH_MAX + 1];
	char orcpt[STREAM_ORCPT_MAX + 1];
	int has_orcpt;
	char qid[PRIV_QID_MAX];
};

/* ---- sluice-local's side ---- */

static int
copy_str(char *dst, size_t size, const char *src)
{
	return snprintf(dst, size, "%s", src) >= (int)size ? -1 : 0;
}

/* Send the request with the body's descriptor: 0 or -1. */
static int
send_req(int sock, const struct priv_req *q, int body)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { (void *)q, sizeof *q };
	struct msghdr m;
	struct cmsghdr *cm;

	memset(&m, 0, sizeof m);
	memset(cbuf, 0, sizeof cbuf);
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = cbuf;
	m.msg_controllen = sizeof cbuf;
	cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &body, sizeof body);
	return sendmsg(sock, &m, MSG_NOSIGNAL) == (ssize_t)sizeof *q ? 0 : -1;
}

/* Have the privileged part deliver c to arg (a system user, a command, a file). */
void
local_priv_deliver(struct local *L, enum priv_kind kind, const char *arg,
    const struct copy *c, struct result *res)
{
	static struct priv_req q;
	ssize_t n;

	memset(&q, 0, sizeof q);
	q.kind = kind;
	if (copy_str(q.arg, sizeof q.arg, arg) < 0 ||
	    copy_str(q.from, sizeof q.from, c->from) < 0 ||
	    copy_str(q.rcpt, sizeof q.rcpt, c->rcpt) < 0 ||
	    copy_str(q.orcpt, sizeof q.orcpt, c->orcpt ? c->orcpt : "") < 0)
		return local_result_set(res, 4, "4.3.0", "delivery request too long");
	q.has_orcpt = c->orcpt != NULL;
	snprintf(q.qid, sizeof q.qid, "%s", L->qid);
	/* Flushed, so that the privileged part reads the whole body. */
	if (bodyfile_rewind(&L->sp) < 0)
		return local_result_sys(res, "unable to write", "the body file");
	if (L->priv_fd < 0 || send_req(L->priv_fd, &q, L->sp.fd) < 0)
		return local_result_set(res, 4, "4.3.0", "the privileged delivery "
		    "process is gone");
	while ((n = recv(L->priv_fd, res, sizeof *res, 0)) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof *res) {
		local_result_set(res, 4, "4.3.0", "the privileged delivery process "
		    "is gone");
		close(L->priv_fd);
		L->priv_fd = -1;
	}
}

/* ---- the privileged side ---- */

/* The next request and its body: 1, 0 when sluice-local is done, -1. */
static int
recv_req(int sock, struct priv_req *q, int *body)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { q, sizeof *q };
	struct msghdr m;
	struct cmsghdr *cm;
	ssize_t n;

	memset(&m, 0, sizeof m);
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = cbuf;
	m.msg_controllen = sizeof cbuf;
	while ((n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	if (n <= 0)
		return n == 0 ? 0 : -1;
	cm = CMSG_FIRSTHDR(&m);
	if (n != (ssize_t)sizeof *q || (m.msg_flags & MSG_CTRUNC) || cm == NULL ||
	    cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(sizeof(int)))
		return -1;
	memcpy(body, CMSG_DATA(cm), sizeof *body);
	/* Whatever came, every string ends here. */
	q->arg[sizeof q->arg - 1] = q->from[sizeof q->from - 1] = '\0';
	q->rcpt[sizeof q->rcpt - 1] = q->orcpt[sizeof q->orcpt - 1] = '\0';
	q->qid[sizeof q->qid - 1] = '\0';
	return 1;
}

/* As the user: the delivery the request asks for. */
static void
deliver(struct local *L, const struct priv_req *q, const char *box, int flags,
    struct result *res)
{
	const struct copy c = { q->from, q->rcpt, q->has_orcpt ? q->orcpt : NULL };

	L->qid = q->qid;
	if (q->kind == PRIV_SYSTEM)
		local_box_deliver(L, box, &c, flags, res);
	else if (q->kind == PRIV_PIPE)
		local_pipe_deliver(L, q->arg, &c, res);
	else
		local_pipe_file(L, q->arg, &c, res);
}

/*
 * Deliver from a child that has become u (and taken the extra group)
 * before anything else: root's rights never reach a path the user
 * controls, nor a command.
 */
static void
deliver_as(struct local *L, const struct priv_user *u, gid_t extra,
    const struct priv_req *q, const char *box, int flags, struct result *res)
{
	int p[2];
	pid_t pid;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) < 0)
		return local_result_sys(res, "unable to make a pipe", u->name);
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return local_result_sys(res, "unable to fork", u->name);
	}
	if (pid == 0) {
		close(p[0]);
		if (priv_drop(u, extra) < 0 || chdir("/") < 0)
			local_result_set(res, 4, "4.3.0", "unable to become %s: %s",
			    u->name, strerror(errno));
		else
			deliver(L, q, box, flags, res);
		(void)!write(p[1], res, sizeof *res);
		_exit(0);
	}
	close(p[1]);
	while ((n = read(p[0], res, sizeof *res)) < 0 && errno == EINTR)
		;
	close(p[0]);
	if (prog_wait(pid) != 0 || n != (ssize_t)sizeof *res)
		local_result_set(res, 4, "4.3.0", "delivery process for %s failed",
		    u->name);
}

/* A system user's mailbox: in mail_spool_directory, or home_mailbox. */
static void
system_box(struct local *L, const struct priv_req *q, struct result *res)
{
	struct priv_user u;
	char box[BOX_MAX + BOX_MAX];
	int n, flags = BOX_NOW;

	if (priv_user(q->arg, &u) < 0)
		return local_result_set(res, 4, "4.3.0", "no system user %s", q->arg);
	if (u.uid == 0)
		return local_result_set(res, 4, "4.3.0", "will not deliver as root "
		    "(%s)", q->arg);
	if (L->home_mailbox[0] == '\0') {
		n = snprintf(box, sizeof box, "%s/%s", L->mail_spool, u.name);
		flags |= BOX_SPOOL;
	} else
		n = snprintf(box, sizeof box, "%s/%s", u.home, L->home_mailbox);
	if (n < 0 || (size_t)n >= sizeof box)
		return local_result_set(res, 5, "5.2.0", "mailbox name too long");
	/* The group mail makes and locks mailboxes in the mail spool. */
	deliver_as(L, &u, (flags & BOX_SPOOL) ? L->mail_gid : (gid_t)-1, q, box,
	    flags, res);
}

/* A command or file of the aliases table: as default_privs, never root. */
static void
as_default_privs(struct local *L, const struct priv_req *q, struct result *res)
{
	struct priv_user u;

	if (priv_user(L->default_privs, &u) < 0)
		return local_result_set(res, 4, "4.3.0", "no system user %s (setting "
		    "default_privs)", L->default_privs);
	if (u.uid == 0)
		return local_result_set(res, 4, "4.3.0", "will not run pipes and "
		    "files as %s (setting default_privs)", L->default_privs);
	deliver_as(L, &u, (gid_t)-1, q, NULL, 0, res);
}

static void __attribute__((noreturn))
serve(struct local *L, int sock)
{
	static struct priv_req q;
	static struct result res;
	int body, rc;

	while ((rc = recv_req(sock, &q, &body)) == 1) {
		if (bodyfile_adopt(&L->sp, body) < 0)
			local_result_set(&res, 4, "4.3.0", "out of memory");
		else if (q.kind == PRIV_SYSTEM)
			system_box(L, &q, &res);
		else if (q.kind == PRIV_PIPE || q.kind == PRIV_FILE)
			as_default_privs(L, &q, &res);
		else
			break;
		bodyfile_close(&L->sp);
		if (send(sock, &res, sizeof res, MSG_NOSIGNAL) != (ssize_t)sizeof res)
			_exit(EXIT_TEMP);
	}
	if (rc < 0)
		log_warn("privileged part: a malformed request: giving up");
	_exit(rc < 0 ? EXIT_TEMP : 0);
}

/*
 * Fork the privileged part; it keeps only standard error.  The caller
 * (root) then becomes the owner of the spool.
 */
void
local_priv_start(struct local *L)
{
	int sv[2], null;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		die_sys("unable to make a socket for the privileged part");
	if ((pid = fork()) < 0)
		die_sys("unable to fork the privileged part");
	if (pid == 0) {
		close(sv[0]);
		/* Its children exit once delivered: their Maildirs are synced at once. */
		L->sync_now = 1;
		/* ps shows it apart from the unprivileged sluice-local. */
		prctl(PR_SET_NAME, "local-priv", 0, 0, 0);
		if ((null = open("/dev/null", O_RDWR)) < 0 || dup2(null, 0) < 0 ||
		    dup2(null, 1) < 0)
			_exit(EXIT_TEMP);
		if (null > 2)
			close(null);
		serve(L, sv[1]);
	}
	close(sv[1]);
	L->priv_fd = sv[0];
	L->priv_pid = pid;
}

/* Let the privileged part end, and wait for it. */
void
local_priv_stop(struct local *L)
{
	if (L->priv_pid <= 0)
		return;
	if (L->priv_fd >= 0)
		close(L->priv_fd);
	L->priv_fd = -1;
	if (prog_wait(L->priv_pid) != 0)
		log_warn("the privileged part ended with a failure");
	L->priv_pid = 0;
}
