#ifndef SLUICE_LOCAL_H
#define SLUICE_LOCAL_H

/*
 * sluice-local(8), the local delivery stage.  One file per module, named
 * after its function prefix:
 *
 *   sluice-local.c   main: settings, privileges, the stream
 *   local_txn.c      one transaction: what is ours, the body, outcomes
 *                    and notices, the record of delivered recipients
 *   local_users.c    one recipient: loops, the users table, the route to
 *                    a mailbox, a system user, a command or a file
 *   local_result.c   what a delivery attempt came to
 *   local_box.c      a mailbox: the copy, Maildir or mbox, as another user
 *   local_maildir.c  Maildir delivery and the folders' sync
 *   local_mbox.c     mbox delivery and its locks
 *   local_pipe.c     commands and files of the aliases table
 *   local_priv.c     the privileged part: system mailboxes, and commands
 *                    and files as default_privs, each in a child that has
 *                    become the user (sluice-local(8) PRIVILEGE)
 *
 * The state of one run is one struct local, made in main.
 */

#include <stddef.h>
#include <sys/types.h>

#include "bodyfile.h"
#include "buf.h"
#include "header.h"
#include "stream.h"
#include "strset.h"
#include "table.h"

#define BOX_MAX 4096	/* a mailbox path */
#define SYNC_MAX 64	/* Maildir folders waiting for their fsync */
#define PEND_MAX 256	/* Maildir files waiting for the sync and rename */
#define PEND_FS_MAX 8	/* file systems they are on */
#define OUTPUT_MAX 1024	/* a command's output kept for the diagnostic */
#define TIME_LIMIT_MAX (7 * 86400)	/* the largest command_time_limit */

struct result {
	int code;	/* 0 delivered, 4 temporary, 5 permanent */
	char status[8];
	char text[OUTPUT_MAX + 200];	/* for the log: paths and commands too */
	/*
	 * For notices and X-DEFER, which reach the sender: the text without
	 * local paths (mailbox files and folders, command lines); empty when
	 * text names none.
	 */
	char pub[OUTPUT_MAX + 200];
};

/* Whom a command runs as: sluice-local's own user, or default_privs. */
struct who {
	uid_t uid;
	gid_t gid;
	char name[64];
};

/* How a mailbox is written (local_box_deliver). */
#define BOX_NOW 1	/* a Maildir's new/ is synced at once, not at the end */
#define BOX_STRICT 2	/* a file: target: a Maildir that is a link is refused too */
#define BOX_SPOOL 4	/* a system user's mbox in mail_spool_directory */

/* The envelope of one copy: its Return-Path, Delivered-To, ORCPT. */
struct copy {
	const char *from, *rcpt;
	const char *orcpt;	/* as in the stream, or NULL */
};

/*
 * A Maildir file written in tmp/, not yet synced nor renamed into new/
 * (local_maildir.c), and the recipient to add to the record of delivered
 * recipients once it is there.
 */
struct pend {
	char *dir, *name;	/* DIR/tmp/NAME, to be DIR/new/NAME */
	char *qid, *addr, *route;	/* addr NULL: nothing to record */
};

struct local {
	/* Settings and tables, read once at start. */
	struct table users, domains;
	const char *mailroot, *host, *delims, *default_privs;
	const char *mail_spool, *home_mailbox;	/* for system users */
	gid_t mail_gid;		/* group "mail", or (gid_t)-1 */
	long long time_limit;	/* command_time_limit, seconds */
	/* The privileged part, when started as root (local_priv.c). */
	int priv_fd;		/* the socket to it, or -1 */
	pid_t priv_pid;
	int sync_now;		/* in the privileged part: sync Maildirs at once */
	/* The transaction at hand. */
	struct bodyfile sp;	/* its body */
	struct header hdr;	/* its header, as read */
	struct strset loops;	/* the Delivered-To addresses of its header */
	const char *qid;
	/* The run. */
	char *pending_sync[SYNC_MAX];
	size_t nsync;
	struct pend *pend;	/* PEND_MAX of them, made at the first */
	size_t npend;
	unsigned long npend_made;	/* ever: a delivery left one if it grew */
	/* A descriptor on each file system of those files, open from before
	 * the first was written: syncfs on it reports any error since. */
	struct { dev_t dev; int fd; } pend_fs[PEND_FS_MAX];
	size_t npend_fs;
	unsigned long deliveries;	/* Maildir files made */
};

/* local_txn.c */
void local_txn_process(struct local *, struct stream_reader *,
    struct stream_writer *, struct txn *);
/* Add a delivered recipient to the record of qid (a failure is logged). */
void local_txn_record(const char *qid, const char *addr, const char *route);

/* local_users.c */
struct addr;
struct rcpt;
int local_users_is_local(struct local *, const struct rcpt *,
    const struct addr *, int parsed);
void local_users_deliver(struct local *, const struct txn *,
    const struct rcpt *, const struct addr *, struct result *);

/* local_result.c */
void local_result_set(struct result *, int code, const char *status,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void local_result_public(struct result *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
const char *local_result_text(const struct result *);
void local_result_sys(struct result *, const char *what, const char *path);

/* local_box.c */
/*
 * A writer for one mailbox file at a time around fd, on one static
 * buffer: from malloc, musl maps and unmaps 64 KiB per delivery.
 */
void local_box_writer(struct wbuf *, int fd);
int local_box_copy(struct local *, struct wbuf *, const struct copy *,
    int mboxrd);
void local_box_deliver(struct local *, const char *box, const struct copy *,
    int flags, struct result *);

/* local_maildir.c */
void local_maildir_deliver(struct local *, const char *dir,
    const struct copy *, int now, struct result *);
/*
 * If the delivery just made left a file pending (npend_made grew past
 * before: npend itself drops when a full list is committed first), that
 * file's recipient addr (of qid, with route) is recorded once it is in
 * new/, and 1 is returned; else 0.
 */
int local_maildir_record_later(struct local *, unsigned long before,
    const char *qid, const char *addr, const char *route);
int local_maildir_sync(struct local *);
/* When this process dies (die, die_sys), remove the files still pending. */
void local_maildir_on_death(struct local *);

/* local_mbox.c */
void local_mbox_deliver(struct local *, const char *path, const struct copy *,
    int flags, struct result *);

/* local_priv.c */
enum priv_kind { PRIV_SYSTEM = 1, PRIV_PIPE, PRIV_FILE };
void local_priv_start(struct local *);
void local_priv_stop(struct local *);
void local_priv_deliver(struct local *, enum priv_kind, const char *arg,
    const struct copy *, struct result *);

/* local_pipe.c */
void local_pipe_deliver(struct local *, const char *cmd, const struct copy *,
    struct result *);
void local_pipe_file(struct local *, const char *path, const struct copy *,
    struct result *);

#endif
