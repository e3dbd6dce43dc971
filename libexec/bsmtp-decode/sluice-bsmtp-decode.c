/*
 * sluice-bsmtp-decode: the receiving end of a BSMTP tunnel (RFC 2442).
 * Reads one tunnel message (or, with -b, one plain BSMTP batch), checks
 * who sent it and that the batch in it is whole and well formed, and
 * hands the transactions to the queue program as a stream; the tunnel id
 * is recorded once the queue has them, so a second copy of the same
 * tunnel message queues nothing.  See sluice-bsmtp-decode(8).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bodyfile.h"
#include "buf.h"
#include "conf.h"
#include "decode.h"
#include "log.h"
#include "prog.h"
#include "usage.h"

#define QUEUE_ARGS 16

static const char usage_text[] =
    "usage: sluice-bsmtp-decode [-b] [-o] < message\n"
    "See sluice-bsmtp-decode(8).\n";

static void
usage(void)
{
	usage_die(usage_text, NULL);
}

/* The whole input into an unlinked file: it is read more than once. */
static int
save_input(void)
{
	char buf[BUF_SIZE];
	ssize_t k;
	int fd = bodyfile_tmpfile(bodyfile_tmpdir());

	if (fd < 0)
		die_sys("unable to create a temporary file in %s", bodyfile_tmpdir());
	while ((k = read(0, buf, sizeof buf)) != 0) {
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			die_sys("unable to read standard input");
		if (write_all(fd, buf, (size_t)k) < 0)
			die_sys("unable to write a temporary file");
	}
	return fd;
}

static int
is_batch_smtp(const char *ctype)
{
	size_t n = strlen("application/batch-smtp");

	return strncasecmp(ctype, "application/batch-smtp", n) == 0 &&
	    (ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ' ||
	    ctype[n] == '\t');
}

/* Who sent it: From: must name an entry of table bsmtp_senders. */
static void
check_sender(struct decode *d)
{
	struct table t;
	char val[TABLE_VAL_MAX], key[TABLE_KEY_MAX], flag[8];
	int rc;

	if (!is_batch_smtp(d->h.ctype))
		refuse_input(d, "not a tunnel message: Content-Type is not "
		    "application/batch-SMTP");
	if (d->h.from_bad || d->h.from[0] == '\0')
		refuse_input(d, "5.7.1 the From: field is not one address");
	if (d->h.id[0] == '\0')
		refuse_input(d, "no Message-ID: field, the tunnel id");
	if (table_open(&t, "bsmtp_senders") < 0)
		die_sys("unable to open table bsmtp_senders");
	rc = table_lookup_addr(&t, d->h.from, val, sizeof val, key, sizeof key);
	if (rc < 0)
		die_sys("unable to read table bsmtp_senders");
	table_close(&t);
	if (rc == 0)
		refuse_input(d, "5.7.1 %s is not a tunnel sender (table "
		    "bsmtp_senders)", d->h.from);
	if (bsmtp_opt(val, "secret", d->secret, sizeof d->secret) < 0)
		die(EXIT_TEMP, "4.3.5 table bsmtp_senders: secret too long");
	d->relay = bsmtp_opt(val, "relay", flag, sizeof flag) != 0;
}

/* Run the queue program (SLUICE_QUEUE) on the held stream: its status. */
static int
queue(struct decode *d)
{
	const char *q = getenv("SLUICE_QUEUE");
	char buf[4096], *argv[QUEUE_ARGS], **argvs[1] = { argv };
	pid_t pid;
	int fd = hold_rewind(&d->out);

	if (q == NULL || *q == '\0')
		q = "sluice-enqueue";
	if (strlen(q) >= sizeof buf)
		die(EXIT_TEMP, "SLUICE_QUEUE is too long");
	strcpy(buf, q);
	if (prog_split_chain(buf, argvs, 1, QUEUE_ARGS) != 1)
		die(EXIT_TEMP, "SLUICE_QUEUE is not one program with arguments: %s", q);
	if ((pid = fork()) < 0)
		die_sys("unable to fork");
	if (pid == 0) {
		if (dup2(fd, 0) < 0)
			_exit(EXIT_TEMP);
		prog_exec(argv);
		fprintf(stderr, "%s: fatal: unable to run %s: %s\n", log_prog,
		    argv[0], strerror(errno));
		_exit(EXIT_TEMP);
	}
	return prog_wait(pid);
}

int
main(int argc, char **argv)
{
	static struct decode d;
	unsigned long long off = 0;
	int c, to_stdout = 0, rc;

	usage_help(argc, argv, usage_text);
	log_init(argv[0]);
	while ((c = getopt(argc, argv, "bo")) != -1) {
		if (c == 'b')
			d.plain = 1;
		else if (c == 'o')
			to_stdout = 1;
		else
			usage();
	}
	if (optind != argc)
		usage();
	d.raw_fd = save_input();
	/* Nothing to keep for the postmaster, and no refused/ file per call. */
	if (lseek(d.raw_fd, 0, SEEK_END) == 0)
		die(EXIT_PERM, "5.6.0 empty input: no message and no batch");
	if ((d.batch_fd = bodyfile_tmpfile(bodyfile_tmpdir())) < 0)
		die_sys("unable to create a temporary file in %s", bodyfile_tmpdir());
	if (table_open(&d.domains, "domains") < 0 ||
	    table_open(&d.routes, "routes") < 0)
		die_sys("unable to open table domains or routes");
	if (!d.plain) {
		off = head_read(&d);
		check_sender(&d);
	}
	unwrap_body(&d, off);
	hold_init(&d.out);
	batch_read(&d);
	if (to_stdout) {
		hold_commit(&d.out, 1);
		return 0;
	}
	if (!d.plain && seen_has(d.h.id)) {
		log_info("status=duplicate id=<%s> sender=<%s> messages=%u: queued "
		    "before, nothing queued now", d.h.id, d.h.from, d.ntxn);
		return 0;
	}
	if ((rc = queue(&d)) != 0)
		die(rc == EXIT_PERM ? EXIT_PERM : EXIT_TEMP, "the queue program "
		    "refused the batch (exit %d)", rc);
	if (!d.plain)
		seen_add(d.h.id);
	log_info("status=queued id=<%s> sender=<%s> messages=%u",
	    d.plain ? "-" : d.h.id, d.plain ? "-" : d.h.from, d.ntxn);
	return 0;
}
