/*
 * A mailbox: the copy it gets (Return-Path, Delivered-To, the message),
 * Maildir or mbox by the form of its name, written as sluice-local's own
 * user or by a child that has become another.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "prog.h"
#include "sluice-local.h"

/* The copy a mailbox gets: Return-Path, Delivered-To, then the message. */
int
local_box_copy(struct local *L, struct wbuf *w, const struct copy *c,
    int mboxrd)
{
	const char *l;
	size_t n, i;
	int rc;

	if (wbuf_printf(w, "Return-Path: <%s>\nDelivered-To: %s\n", c->from,
	    c->rcpt) < 0 || spool_rewind(&L->sp) < 0)
		return -1;
	while ((rc = spool_getline(&L->sp, &l, &n)) == 1) {
		if (mboxrd) {
			/* mboxrd: one more '>' on every line that reads ">*From ". */
			for (i = 0; i < n && l[i] == '>'; i++)
				;
			if (n - i >= 5 && memcmp(l + i, "From ", 5) == 0 &&
			    wbuf_putc(w, '>') < 0)
				return -1;
		}
		if (wbuf_put(w, l, n) < 0 || wbuf_putc(w, '\n') < 0)
			return -1;
	}
	if (rc < 0)
		return -1;
	return wbuf_flush(w);
}

/*
 * A Maildir when box ends with '/', else an mbox file.  With strict (a
 * file: target), a Maildir folder that is a symbolic link is refused as
 * an mbox file that is one is (O_NOFOLLOW, local_mbox_deliver).
 */
void
local_box_deliver(struct local *L, const char *box, const struct copy *c,
    int now, int strict, struct result *res)
{
	char dir[BOX_MAX + BOX_MAX];
	struct stat st;
	size_t n = strlen(box);

	if (n == 0 || n >= sizeof dir)
		return local_result_set(res, 5, "5.2.0",
		    "mailbox name empty or too long");
	if (box[n - 1] != '/')
		return local_mbox_deliver(L, box, c, res);
	memcpy(dir, box, n + 1);
	while (n > 1 && dir[n - 1] == '/')
		dir[--n] = '\0';
	if (strict && lstat(dir, &st) == 0 && S_ISLNK(st.st_mode)) {
		local_result_set(res, 5, "5.2.0", "Maildir %s is a symbolic link: "
		    "refused", dir);
		return local_result_public(res, "Maildir is a symbolic link: refused");
	}
	local_maildir_deliver(L, dir, c, now, res);
}

/* Become u for good: 0, or -1 when any step fails or root could come back. */
int
local_box_become(const struct who *u)
{
	if (setgid(u->gid) < 0 || initgroups(u->name, u->gid) < 0 ||
	    setuid(u->uid) < 0 || getuid() != u->uid || geteuid() != u->uid)
		return -1;
	return setuid(0) == 0 ? -1 : 0;
}

/*
 * Deliver into box from a child that has become u before touching any
 * path: root's rights never reach a path the user controls.
 */
void
local_box_as(struct local *L, const struct who *u, const char *box,
    const struct copy *c, int strict, struct result *res)
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
		if (local_box_become(u) < 0)
			local_result_set(res, 4, "4.3.0", "unable to become %s", u->name);
		else
			local_box_deliver(L, box, c, 1, strict, res);
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
