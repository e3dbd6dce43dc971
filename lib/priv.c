#include "priv.h"
#include "log.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int
from_passwd(const struct passwd *pw, struct priv_user *u)
{
	if (strlen(pw->pw_name) >= sizeof u->name ||
	    strlen(pw->pw_dir) >= sizeof u->home)
		return errno = ENAMETOOLONG, -1;
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	snprintf(u->name, sizeof u->name, "%s", pw->pw_name);
	snprintf(u->home, sizeof u->home, "%s", pw->pw_dir);
	return 0;
}

int
priv_user(const char *name, struct priv_user *u)
{
	struct passwd *pw;

	errno = 0;
	if ((pw = getpwnam(name)) == NULL)
		return errno = errno ? errno : ENOENT, -1;
	return from_passwd(pw, u);
}

int
priv_owner(const char *path, struct priv_user *u)
{
	struct passwd *pw;
	struct stat st;

	if (stat(path, &st) < 0)
		return -1;
	if ((pw = getpwuid(st.st_uid)) != NULL)
		return from_passwd(pw, u);
	/* A uid without a name: its own id, and the folder's group. */
	u->uid = st.st_uid;
	u->gid = st.st_gid;
	u->name[0] = u->home[0] = '\0';
	return 0;
}

/* u's groups, and extra: 0 or -1. */
static int
set_groups(const struct priv_user *u, gid_t extra)
{
	gid_t *g;
	int n, rc;

	if (u->name[0] != '\0' ? initgroups(u->name, u->gid) < 0 :
	    setgroups(1, &u->gid) < 0)
		return -1;
	if (extra == (gid_t)-1)
		return 0;
	if ((n = getgroups(0, NULL)) < 0 ||
	    (g = calloc((size_t)n + 1, sizeof *g)) == NULL)
		return -1;
	if ((n = getgroups(n, g)) < 0) {
		free(g);
		return -1;
	}
	g[n++] = extra;
	rc = setgroups((size_t)n, g);
	free(g);
	return rc;
}

int
priv_drop(const struct priv_user *u, gid_t extra)
{
	if (set_groups(u, extra) < 0 || setgid(u->gid) < 0 || setuid(u->uid) < 0)
		return -1;
	if (getuid() != u->uid || geteuid() != u->uid || getgid() != u->gid ||
	    getegid() != u->gid)
		return errno = EPERM, -1;
	/* The test that it is for good: root must not come back. */
	if (u->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
		return errno = EPERM, -1;
	return 0;
}

int
priv_root_allowed(void)
{
	const char *allow = getenv("SLUICE_ALLOW_ROOT");

	return (getuid() != 0 && geteuid() != 0) ||
	    (allow != NULL && strcmp(allow, "1") == 0);
}

void
priv_refuse_root(void)
{
	if (priv_root_allowed())
		return;
	die(EXIT_TEMP, "refusing to run as root: this program faces the network; "
	    "run it as an unprivileged user (tcpserver -u and -g, setuidgid; "
	    "a root sluice-runq runs it as the owner of the spool)");
}
