#ifndef PRIV_H
#define PRIV_H

/*
 * Least privilege (DESIGN.md "Security").  Only the part of sluice-local
 * that writes into a system user's mailbox keeps root, and it becomes
 * that user for each recipient; everything else runs as the owner of the
 * spool folder (a root sluice-runq switches each stage to that user before
 * exec), and the programs that face the network refuse root.
 *
 * A drop is for good: priv_drop() sets the groups, then the gid, then
 * the uid, and checks that every id is the new one and that setuid(0)
 * fails, so that nothing later in the process can take root back.
 */

#include <sys/types.h>

#define PRIV_NAME_MAX 64

struct priv_user {
	uid_t uid;
	gid_t gid;	/* the user's group (passwd), or the file's */
	char name[PRIV_NAME_MAX];	/* "" when the uid has no passwd entry */
	char home[4096];	/* "" when unknown */
};

/* The user named name: 0, or -1 with errno (ENOENT: no such user). */
int priv_user(const char *name, struct priv_user *);
/* The owner of path (the spool folder), with its passwd group: 0 or -1. */
int priv_owner(const char *path, struct priv_user *);
/*
 * Become u for good: the groups of u's name (initgroups; only u->gid when
 * it has none) and extra when it is not (gid_t)-1, then u->gid and u->uid.
 * 0, or -1 with errno (EPERM when root could come back).
 */
int priv_drop(const struct priv_user *u, gid_t extra);
/*
 * For the programs that face the network (sluice-smtpd, sluice-smtp):
 * exit 111 saying why when running as root (real or effective uid 0).
 * SLUICE_ALLOW_ROOT=1 in the environment lets a test rig that runs as
 * root use them; never set it on a server.
 */
void priv_refuse_root(void);
/* 1 when not root, or root with SLUICE_ALLOW_ROOT=1 (a test rig). */
int priv_root_allowed(void);

#endif
