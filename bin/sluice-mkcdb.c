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
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"
#include "log.h"
#include "table.h"
#include "tabsrc.h"

#define LINE_MAX_MKCDB 8192

static void
usage(void)
{
	die(EXIT_PERM, "usage: sluice-mkcdb [-c] [-o output.cdb] table");
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
	if (!e->have)
		return;
	if (!check) {
		int rc = cdb_make_exists(cm, e->key, (unsigned)e->klen);

		if (rc < 0)
			cleanup_fail(111, "%s:%lu: %s", file, e->line, strerror(errno));
		if (rc > 0)
			cleanup_fail(100, "%s:%lu: duplicate key %s", file, e->line, e->key);
		if (cdb_make_add(cm, e->key, (unsigned)e->klen, e->val,
		    (unsigned)e->vlen) < 0)
			cleanup_fail(111, "%s:%lu: unable to write: %s", file, e->line,
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
	int c, check = 0, in, fd = -1, rc;

	log_init(argv[0]);
	while ((c = getopt(argc, argv, "co:")) != -1) {
		switch (c) {
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
		fd = open(tmpname, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			die_sys("unable to create %s", tmpname);
		if (cdb_make_start(&cm, fd) < 0)
			cleanup_fail(111, "%s:%lu: %s", tmpname, 0, strerror(errno));
	}
	while ((rc = rbuf_getline(&rb, &line, &len, LINE_MAX_MKCDB + 1)) != 0) {
		struct tabsrc_line tl;
		const char *why;

		lineno++;
		if (rc == -1)
			cleanup_fail(111, "%s:%lu: read error: %s", file, lineno,
			    strerror(rb.err));
		if (rc == -2)
			cleanup_fail(100, "%s:%lu: %s", file, lineno,
			    "line longer than 8192 octets");
		if (tabsrc_parse(line, len, &tl, &why) < 0)
			cleanup_fail(100, "%s:%lu: %s", file, lineno, why);
		if (tl.kind == TABSRC_NONE)
			continue;
		if (tl.kind == TABSRC_CONT) {
			if (!e.have)
				cleanup_fail(100, "%s:%lu: %s", file, lineno,
				    "continuation line with no entry before it");
			if (e.vlen + 1 + tl.vlen >= TABLE_VAL_MAX)
				cleanup_fail(100, "%s:%lu: %s", file, lineno,
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
	if (cdb_make_finish(&cm) < 0 || fsync(fd) < 0 || close(fd) < 0)
		cleanup_fail(111, "%s:%lu: unable to write: %s", tmpname, 0,
		    strerror(errno));
	if (rename(tmpname, out) < 0)
		cleanup_fail(111, "%s:%lu: unable to rename: %s", out, 0,
		    strerror(errno));
	tmpname[0] = '\0';
	if (fsync_dir(out, 0) < 0)
		die_sys("unable to sync the folder of %s", out);
	return 0;
}
