/*
 * sluice-smtp: deliver the recipients routed to "smtp" to other mail
 * servers over SMTP, and pass everything else through.  See sluice-smtp(8);
 * smtp.h lists the modules.
 *
 * The parent reads the whole input, spooling each body once in wire form
 * (CRLF, dot-stuffed) to one unlinked file, and groups the recipients by
 * destination.  One worker process per destination (more when the
 * destination allows several connections) resolves it, connects and
 * delivers its messages over reused connections, and reports each
 * recipient's outcome on a pipe.  A slow destination so only holds up its
 * own worker.  At the end the parent writes what is left: deferred
 * recipients with X-DEFER, bounces and success notices (lib/dsn).
 *
 * A chain run by sluice-runq lasts as long as its slowest worker, so a
 * destination found unreachable is remembered in the spool for a while
 * (lib/unreach, spool/unreachable/), and later runs defer its recipients
 * at once.
 */
#include "smtp.h"

#include "bodyfile.h"
#include "conf.h"
#include "log.h"
#include "priv.h"
#include "prog.h"
#include "usage.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void
fmt(char *buf, size_t size, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	(void)vsnprintf(buf, size, f, ap);
	va_end(ap);
}

void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n)) == NULL)
		die_nomem();
	return p;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		die_nomem();
	return p;
}

/* A table that exists but cannot be read: noted, and said. */
static void
unreadable(struct smtp *s, struct table *t)
{
	int e = errno;

	t->fd = -1;
	log_warn("unable to read table %s: %s: every smtp recipient is "
	    "deferred", t->path, strerror(e));
	if (s->table_errno == 0) {
		s->table_errno = e;
		s->table_bad = t;
	}
}

/*
 * smtp_auth (or the text it is compiled from) that others may read: the
 * relay passwords are every local user's.  Refuse to run, naming the file
 * and its mode; the runner keeps the recipients until it is fixed.
 */
static void
refuse_exposed(const struct table *t)
{
	char src[sizeof t->path];
	struct stat st;
	size_t n = strlen(t->path);

	snprintf(src, sizeof src, "%s", t->path);
	if (stat(t->path, &st) == 0 && (st.st_mode & S_IROTH) == 0 && n > 4 &&
	    strcmp(src + n - 4, ".cdb") == 0) {
		src[n - 4] = '\0';
		if (stat(src, &st) < 0)
			st.st_mode = 0;
	}
	die(EXIT_TEMP, "table %s holds relay passwords but others may read it "
	    "(mode %04o): refusing to use it; make it readable by its owner "
	    "(and group) alone, as sluice-mkcdb keeps its text's mode", src,
	    (unsigned)(st.st_mode & 07777));
}

/*
 * The tables the workers read, opened once here so that every worker
 * inherits them.  One that exists but cannot be read is never taken for
 * empty: every recipient waits (dest_skip_unreadable_table).
 */
static void
open_tables(struct smtp *s)
{
	if (table_open(&s->hosts, "smtp_hosts") < 0)
		unreadable(s, &s->hosts);
	if (table_open(&s->tls, "smtp_tls") < 0)
		unreadable(s, &s->tls);
	if (table_open_secret(&s->auth, "smtp_auth") < 0) {
		if (errno == EPERM)
			refuse_exposed(&s->auth);
		unreadable(s, &s->auth);
	}
}

int
main(int argc, char **argv)
{
	struct smtp s;
	struct stream_writer out;

	usage_none(argc, argv, "usage: sluice-smtp < stream > stream\nSee sluice-smtp(8).\n");
	log_init(argv[0]);
	priv_refuse_root();
	memset(&s, 0, sizeof s);
	gettimeofday(&s.t_start, NULL);
	signal(SIGPIPE, SIG_IGN);
	settings_read(&s.cf);
	s.spool_fd = -1;	/* made for the first message to deliver (input_read) */
	if (stream_writer_init(&out, 1, 0) < 0)
		die_nomem();
	(void)unreach_open(&s.unreach, conf_spool(), "unreachable",
	    s.cf.unreach_ttl);
	input_read(&s, &out);
	if (s.ndests > 0)
		open_tables(&s);
	if (s.table_errno != 0)
		dest_skip_unreadable_table(&s);
	dest_skip_unreachable(&s);
	/* Workers must not inherit unwritten output. */
	if (stream_flush(&out) < 0)
		die_sys("unable to write the output");
	pool_run(&s);
	output_write(&s, &out);
	if (stream_flush(&out) < 0)
		die_sys("unable to write the output");
	stream_writer_free(&out);
	return EXIT_OK;
}
