/*
 * sluice-local: the local delivery stage.  Delivers each local recipient
 * into its Maildir or mbox (table "users"), and each recipient routed to
 * pipe: or file: by the aliases table into its command or file; removes
 * it from the stream, and adds an RFC 3464 notice for permanent failures
 * (and for successes when asked); temporary failures stay in the stream
 * with X-DEFER set.  Everything else passes through untouched.  See
 * sluice-local(8); the modules are listed in sluice-local.h.
 */
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "fsutil.h"
#include "log.h"
#include "priv.h"
#include "sluice-local.h"
#include "stage.h"
#include "usage.h"

/* The queue's own tmp/ when we can write there, so the body stays on its disk. */
static const char *
body_dir(void)
{
	static char dir[4096];
	struct stat st;

	if (path_join(dir, sizeof dir, conf_spool(), "tmp") == 0 &&
	    stat(dir, &st) == 0 && access(dir, W_OK) == 0)
		return dir;
	return bodyfile_tmpdir();
}

/* The tables and settings of sluice-local(8) ENVIRONMENT. */
static void
settings(struct local *L)
{
	struct group *g;

	if (table_open(&L->users, "users") < 0)
		die_sys("unable to open table users");
	if (table_open(&L->domains, "domains") < 0)
		die_sys("unable to open table domains");
	L->mailroot = conf_get("mailroot", "/var/mail/sluice");
	L->delims = conf_get("recipient_delimiter", "+");
	L->default_privs = conf_get("default_privs", "nobody");
	L->mail_spool = conf_get("mail_spool_directory", "/var/mail");
	L->home_mailbox = conf_get("home_mailbox", "");
	L->mail_gid = (g = getgrnam("mail")) != NULL ? g->gr_gid : (gid_t)-1;
	L->time_limit = conf_time("command_time_limit", 1000);
	if (L->time_limit < 1 || L->time_limit > TIME_LIMIT_MAX)
		die(EXIT_TEMP, "command_time_limit must be from 1s to 7d");
	L->host = conf_hostname();
	if (strchr(L->host, '/') != NULL || strchr(L->host, ':') != NULL)
		L->host = "localhost";	/* never a '/' or ':' in a Maildir name */
}

/*
 * Least privilege (sluice-local(8) PRIVILEGE): started as root, keep root
 * only in the privileged part, forked now, and become the owner of the
 * spool before reading anything.  A spool that root owns, or none at all
 * (a test rig, a run by hand), leaves this process root, the privileged
 * part still doing the rest.
 */
static void
drop_privileges(struct local *L)
{
	struct priv_user u;
	const char *spool = conf_spool();

	L->priv_fd = -1;
	if (geteuid() != 0)
		return;
	local_priv_start(L);
	if (priv_owner(spool, &u) < 0) {
		if (errno != ENOENT)
			die_sys("started as root, unable to find the owner of the "
			    "spool %s", spool);
		log_warn("no spool folder %s: running as root", spool);
		return;
	}
	if (u.uid != 0 && priv_drop(&u, (gid_t)-1) < 0)
		die_sys("unable to become %s, the owner of the spool %s", u.name,
		    spool);
}

static void
local_stage_txn(struct stream_reader *rd, struct stream_writer *w,
    struct txn *t, struct bodyfile *sp, void *ctx)
{
	(void)sp;	/* L->sp, the one the privileged part reads too */
	local_txn_process(ctx, rd, w, t);
}

/* Nothing is reported delivered before its Maildir folder is synced. */
static void
local_stage_end(struct stream_writer *w, int failed, void *ctx)
{
	(void)w;
	if (local_maildir_sync(ctx) < 0 && !failed)
		die(EXIT_TEMP, "unable to sync or rename the Maildir files of this run "
		    "(see above): the batch is retried");
}

int
main(int argc, char **argv)
{
	static struct local L;
	const struct stage s = { .txn = local_stage_txn, .ctx = &L, .body = &L.sp,
	    .end = local_stage_end };

	usage_none(argc, argv, "usage: sluice-local < stream > stream\nSee sluice-local(8).\n");
	log_init(argv[0]);
	settings(&L);
	/* Commands are waited for: their status must not be reaped away. */
	signal(SIGCHLD, SIG_DFL);
	drop_privileges(&L);
	local_maildir_on_death(&L);
	if (header_init(&L.hdr) < 0)
		die_nomem();
	/* Made at the first local delivery: none for a run with no local mail. */
	bodyfile_defer(&L.sp, body_dir());
	stage_run_with(&s);
	local_priv_stop(&L);
	return 0;
}
