/*
 * import_maildir: a Maildir, new/ then cur/.  The sender is the first
 * Return-Path:, the recipients those of env_mailbox_rcpts().
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

#include "fsutil.h"
#include "import.h"
#include "log.h"

static void
import_maildir_file(const char *path)
{
	char err[4400];
	struct src s;
	struct txn t;
	struct msg m;
	int bad;

	txn_init(&t);
	msg_init(&m, 1);
	if (src_open(&s, path) < 0)
		die_sys("unable to open %s", path);
	bad = import_body(&s, &m, err, sizeof err) < 0;
	src_close(&s);
	if (!bad && !m.have[MSG_RETURN_PATH]) {
		snprintf(err, sizeof err, "%s: no Return-Path: header for the "
		    "sender", path);
		bad = 1;
	}
	if (!bad && (m.have[MSG_RETURN_PATH] < 0 || env_from(&t,
	    m.hv[MSG_RETURN_PATH], m.hl[MSG_RETURN_PATH], 0) < 0)) {
		snprintf(err, sizeof err, "%s: malformed Return-Path: header", path);
		bad = 1;
	}
	if (!bad && env_mailbox_rcpts(&t, &m) < 0) {
		snprintf(err, sizeof err, "%s: no recipient (no -r, no "
		    "Delivered-To: or X-Original-To: header, or a malformed "
		    "one)", path);
		bad = 1;
	}
	import_file_end(&t, &m, path, bad, err, sizeof err);
}

static void
import_maildir_sub(const char *dir, const char *sub)
{
	char d[4096];
	struct dirent **ents;
	int i, n;

	if (path_join(d, sizeof d, dir, sub) < 0)
		die(EXIT_PERM, "%s: name too long", dir);
	n = import_list(d, &ents);
	for (i = 0; i < n; i++) {
		char path[4096];

		if (path_join(path, sizeof path, d, ents[i]->d_name) == 0 &&
		    import_is_file(path))
			import_maildir_file(path);
		free(ents[i]);
	}
	free(ents);
}

void
import_maildir(const char *dir)
{
	import_maildir_sub(dir, "new");
	import_maildir_sub(dir, "cur");
}
