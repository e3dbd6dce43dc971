/*
 * A mailbox: the copy it gets (Return-Path, Delivered-To, the message),
 * Maildir or mbox by the form of its name.
 */
#include <string.h>
#include <sys/stat.h>

#include "sluice-local.h"

void
local_box_writer(struct wbuf *w, int fd)
{
	static char buf[BUF_SIZE];

	wbuf_init_mem(w, fd, buf, sizeof buf);
}

/* The copy a mailbox gets: Return-Path, Delivered-To, then the message. */
int
local_box_copy(struct local *L, struct wbuf *w, const struct copy *c,
    int mboxrd)
{
	const char *l;
	size_t n, i;
	int rc;

	if (wbuf_printf(w, "Return-Path: <%s>\nDelivered-To: %s\n", c->from,
	    c->rcpt) < 0 || bodyfile_rewind(&L->sp) < 0)
		return -1;
	while ((rc = bodyfile_getline(&L->sp, &l, &n)) == 1) {
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
 * A Maildir when box ends with '/', else an mbox file.  With BOX_STRICT (a
 * file: target), a Maildir folder that is a symbolic link is refused as
 * an mbox file that is one is (O_NOFOLLOW, local_mbox_deliver).
 */
void
local_box_deliver(struct local *L, const char *box, const struct copy *c,
    int flags, struct result *res)
{
	char dir[BOX_MAX + BOX_MAX];
	struct stat st;
	size_t n = strlen(box);

	if (n == 0 || n >= sizeof dir)
		return local_result_set(res, 5, "5.2.0",
		    "mailbox name empty or too long");
	if (box[n - 1] != '/')
		return local_mbox_deliver(L, box, c, flags, res);
	memcpy(dir, box, n + 1);
	while (n > 1 && dir[n - 1] == '/')
		dir[--n] = '\0';
	if ((flags & BOX_STRICT) && lstat(dir, &st) == 0 && S_ISLNK(st.st_mode)) {
		local_result_set(res, 5, "5.2.0", "Maildir %s is a symbolic link: "
		    "refused", dir);
		return local_result_public(res, "Maildir is a symbolic link: refused");
	}
	local_maildir_deliver(L, dir, c, flags & BOX_NOW, res);
}

