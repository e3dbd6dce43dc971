/*
 * sluice-mkcdb: compile a text table into a constant database, replacing
 * the old one atomically.  See sluice-mkcdb(1).
 */
#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"
#include "handoff.h"
#include "log.h"
#include "settings.h"
#include "table.h"
#include "tabsrc.h"
#include "usage.h"

#define LINE_MAX_MKCDB 8192

static const char usage_text[] =
    "usage: sluice-mkcdb [-c] [-o output.cdb] table\n"
    "See sluice-mkcdb(1).\n";

static void
usage(void)
{
	usage_die(usage_text, NULL);
}

/* Whether a table is the aliases table: -a, or its name (aliases, aliases.cdb). */
static int
is_aliases(const char *file, const char *out)
{
	const char *name = strcmp(file, "-") == 0 ? out : file;
	const char *base = strrchr(name, '/');

	base = base ? base + 1 : name;
	return strcmp(base, "aliases") == 0 || strcmp(base, "aliases.cdb") == 0;
}

/*
 * The new database keeps the owner and mode of the old one, or of the
 * source when there is none, and is never readable by more than the
 * source is: a chmod of either survives a rebuild, and a table of
 * passwords stays private (sluice-mkcdb(1) "Owner and mode").  With
 * neither (standard input, a first build) it is 0644 less the umask, as
 * before.  Not root, an owner we cannot give stays ours, and a group we
 * cannot give gets no more than others.
 */
static int
keep_mode(int fd, int in, const char *out)
{
	struct stat src, old;
	int has_src = in != 0 && fstat(in, &src) == 0 && S_ISREG(src.st_mode);
	int has_old = stat(out, &old) == 0 && S_ISREG(old.st_mode);
	const struct stat *from = has_old ? &old : &src;
	mode_t mode, mask;

	if (!has_src && !has_old) {
		mask = umask(022);
		umask(mask);
		return fchmod(fd, 0644 & ~mask);
	}
	mode = from->st_mode & 0666;
	if (has_old && has_src)
		mode &= src.st_mode;
	if (fchown(fd, from->st_uid, from->st_gid) < 0 &&
	    fchown(fd, (uid_t)-1, from->st_gid) < 0)
		mode = (mode & ~(mode_t)070) | ((mode & 07) << 3);
	return fchmod(fd, mode);
}

struct entry {
	char key[TABLE_KEY_MAX];
	size_t klen;
	char *val;
	size_t vlen;
	unsigned long line;
	int have;
};

static char tmpname[4200];

static void
cleanup_fail(int code, const char *fmt, const char *file, unsigned long line,
    const char *what)
{
	if (tmpname[0] != '\0')
		unlink(tmpname);
	if (line)
		die(code, fmt, file, line, what);
	die(code, "%s: %s", file, what);
}

static void
flush_entry(struct cdb_make *cm, struct entry *e, const char *file, int check)
{
	const char *err;

	if (!e->have)
		return;
	/* The config table: every name known, every value valid (lib/settings.h). */
	if (settings_check_entry(file, e->key, e->val, e->vlen, &err) < 0)
		cleanup_fail(100, "%s:%lu: %s", file, e->line, err);
	if (!check) {
		int rc = cdb_make_exists(cm, e->key, (unsigned)e->klen);

		if (rc < 0)
			cleanup_fail(EXIT_TEMP, "%s:%lu: %s", file, e->line, strerror(errno));
		if (rc > 0)
			cleanup_fail(EXIT_PERM, "%s:%lu: duplicate key %s", file, e->line, e->key);
		if (cdb_make_add(cm, e->key, (unsigned)e->klen, e->val,
		    (unsigned)e->vlen) < 0)
			cleanup_fail(EXIT_TEMP, "%s:%lu: unable to write: %s", file, e->line,
			    strerror(errno));
	}
	e->have = 0;
	e->vlen = 0;
}

int
main(int argc, char **argv)
{
	const char *out = NULL, *file;
	char outbuf[4096];
	struct cdb_make cm;
	struct entry e;
	struct rbuf rb;
	const char *line;
	size_t len;
	unsigned long lineno = 0;
	int c, check = 0, aliases = 0, in, fd = -1, rc;

	usage_help(argc, argv, usage_text);
	log_init(argv[0]);
	while ((c = getopt(argc, argv, "aco:")) != -1) {
		switch (c) {
		case 'a': aliases = 1; break;
		case 'c': check = 1; break;
		case 'o': out = optarg; break;
		default: usage();
		}
	}
	if (optind + 1 != argc)
		usage();
	file = argv[optind];
	if (out == NULL) {
		if (strcmp(file, "-") == 0)
			die(EXIT_PERM, "-o is needed when reading standard input");
		if (snprintf(outbuf, sizeof outbuf, "%s.cdb", file) >= (int)sizeof outbuf)
			die(EXIT_PERM, "%s: name too long", file);
		out = outbuf;
	}
	aliases = aliases || is_aliases(file, out);
	if (strcmp(file, "-") == 0)
		in = 0;
	else if ((in = open(file, O_RDONLY | O_CLOEXEC)) < 0)
		die_sys("unable to open %s", file);
	if (rbuf_init(&rb, in, LINE_MAX_MKCDB + 1) < 0)
		die_nomem();
	memset(&e, 0, sizeof e);
	if ((e.val = malloc(TABLE_VAL_MAX)) == NULL)
		die_nomem();

	if (!check) {
		if (snprintf(tmpname, sizeof tmpname, "%s.tmp.%ld", out,
		    (long)getpid()) >= (int)sizeof tmpname)
			die(EXIT_PERM, "%s: name too long", out);
		/* O_RDWR: cdb_make_exists() reads back what was written. */
		/* Private until keep_mode() gives it its mode, just before the rename. */
		fd = open(tmpname, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0)
			die_sys("unable to create %s", tmpname);
		if (cdb_make_start(&cm, fd) < 0)
			cleanup_fail(EXIT_TEMP, "%s:%lu: %s", tmpname, 0, strerror(errno));
	}
	while ((rc = rbuf_getline(&rb, &line, &len, LINE_MAX_MKCDB + 1)) != 0) {
		struct tabsrc_line tl;
		const char *why;

		lineno++;
		if (rc == -1)
			cleanup_fail(EXIT_TEMP, "%s:%lu: read error: %s", file, lineno,
			    strerror(rb.err));
		if (rc == -2)
			cleanup_fail(EXIT_PERM, "%s:%lu: %s", file, lineno,
			    "line longer than 8192 octets");
		if (tabsrc_parse(line, len, aliases, &tl, &why) < 0)
			cleanup_fail(EXIT_PERM, "%s:%lu: %s", file, lineno, why);
		if (tl.kind == TABSRC_NONE)
			continue;
		if (tl.kind == TABSRC_CONT) {
			if (!e.have)
				cleanup_fail(EXIT_PERM, "%s:%lu: %s", file, lineno,
				    "continuation line with no entry before it");
			if (e.vlen + 1 + tl.vlen >= TABLE_VAL_MAX)
				cleanup_fail(EXIT_PERM, "%s:%lu: %s", file, lineno,
				    "value longer than 65535 octets");
			if (e.vlen > 0)
				e.val[e.vlen++] = ' ';
			memcpy(e.val + e.vlen, tl.val, tl.vlen);
			e.vlen += tl.vlen;
			continue;
		}
		flush_entry(&cm, &e, file, check);
		for (e.klen = 0; e.klen < tl.klen; e.klen++) {
			char ch = tl.key[e.klen];

			e.key[e.klen] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
		}
		e.key[e.klen] = '\0';
		memcpy(e.val, tl.val, tl.vlen);
		e.vlen = tl.vlen;
		e.line = lineno;
		e.have = 1;
	}
	flush_entry(&cm, &e, file, check);
	if (check)
		return 0;
	if (cdb_make_finish(&cm) < 0 || keep_mode(fd, in, out) < 0 || fsync(fd) < 0 ||
	    close(fd) < 0)
		cleanup_fail(EXIT_TEMP, "%s:%lu: unable to write: %s", tmpname, 0,
		    strerror(errno));
	if (handoff_commit(-1, AT_FDCWD, tmpname, out, 0) < 0)
		cleanup_fail(EXIT_TEMP, "%s:%lu: unable to rename: %s", out, 0,
		    strerror(errno));
	tmpname[0] = '\0';
	if (handoff_sync_dir(AT_FDCWD, out) < 0)
		die_sys("unable to sync the folder of %s", out);
	return 0;
}
