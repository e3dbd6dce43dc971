/*
 * mailq: list the messages in sluice's queue, reading only the envelope
 * and the header block of each queue file.  sendmail -bp runs it.  Exit
 * status follows <sysexits.h>, as for sendmail; see mailq(1).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "fmt.h"
#include "log.h"
#include "qdest.h"
#include "qid.h"
#include "stream.h"
#include "text.h"
#include "xtext.h"

#define HDR_SCAN_MAX 1000	/* header lines mailq reads for Priority: */

enum sortkey { SORT_TIME, SORT_SIZE, SORT_PRIO };

struct qent {
	char name[QID_LEN + 1];
	char mark;		/* '*' incoming (not yet tried), ' ' deferred, '!' held */
	long long size;
	time_t mtime;
	int prio;		/* 1 urgent, 0 normal, -1 non-urgent */
};

static int
prio_of(const char *name, size_t nl, const char *v, size_t vl)
{
	while (vl > 0 && (*v == ' ' || *v == '\t'))
		v++, vl--;
	if (text_name_is(name, nl, "Priority") ||
	    text_name_is(name, nl, "Importance")) {
		if ((vl >= 6 && strncasecmp(v, "urgent", 6) == 0) ||
		    (vl >= 4 && strncasecmp(v, "high", 4) == 0))
			return 1;
		if ((vl >= 10 && strncasecmp(v, "non-urgent", 10) == 0) ||
		    (vl >= 3 && strncasecmp(v, "low", 3) == 0))
			return -1;
		return 0;
	}
	/* X-Priority: 1 (Highest) ... 5 (Lowest). */
	if (vl > 0 && (*v == '1' || *v == '2'))
		return 1;
	if (vl > 0 && (*v == '4' || *v == '5'))
		return -1;
	return 0;
}

/*
 * Read a queue file's envelope into t and its header block as far as it
 * tells the priority.  Returns 0, or -1 (with errno ENOENT when the file
 * left the queue meanwhile) and *why set.
 */
static int
qfile_read(int dirfd, const char *name, struct txn *t, int *prio,
    const char **why)
{
	static struct stream_reader r;
	const char *l;
	size_t n, k, lines = 0;
	int fd, rc;

	*prio = 0;
	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC)) < 0) {
		*why = strerror(errno);
		return -1;
	}
	if (stream_reader_init(&r, fd, name) < 0)
		die(EX_TEMPFAIL, "out of memory");
	rc = stream_read_txn(&r, t);
	if (rc != 1) {
		*why = rc == 0 ? "empty queue file" : r.err;
		close(fd);
		stream_reader_free(&r);
		errno = EINVAL;
		return -1;
	}
	while (lines++ < HDR_SCAN_MAX && stream_read_line(&r, &l, &n) == 1 && n > 0) {
		if ((k = text_field_name(l, n)) == 0)
			continue;
		if (text_name_is(l, k, "Priority") ||
		    text_name_is(l, k, "X-Priority") ||
		    text_name_is(l, k, "Importance")) {
			const char *c = memchr(l, ':', n);

			*prio = prio_of(l, k, c + 1, n - (size_t)(c + 1 - l));
		}
	}
	close(fd);
	stream_reader_free(&r);
	return 0;
}

static size_t nq, aq;
static struct qent *qents;

static void
scan_dir(const char *spool, const char *sub, char mark, enum sortkey sort,
    int *keep)
{
	char path[4096];
	struct dirent *de;
	struct stat st;
	struct txn t;
	const char *why;
	DIR *d;

	if (fmt_path(path, sizeof path, "%s/%s", spool, sub) < 0)
		die_sys("unable to read %s/%s", spool, sub);
	if ((d = opendir(path)) == NULL) {
		if (errno == ENOENT) {
			*keep = -1;
			return;
		}
		die(EX_TEMPFAIL, "unable to read %s: %s", path, strerror(errno));
	}
	*keep = dup(dirfd(d));
	txn_init(&t);
	while ((de = readdir(d)) != NULL) {
		struct qent *e;

		if (!qid_valid(de->d_name))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, 0) < 0)
			continue;	/* delivered meanwhile */
		if (nq == aq) {
			aq = aq ? aq * 2 : 256;
			if ((qents = realloc(qents, aq * sizeof *qents)) == NULL)
				die(EX_TEMPFAIL, "out of memory");
		}
		e = &qents[nq];
		strcpy(e->name, de->d_name);
		e->mark = mark;
		e->size = (long long)st.st_size;
		e->mtime = st.st_mtime;
		e->prio = 0;
		if (sort == SORT_PRIO &&
		    qfile_read(dirfd(d), e->name, &t, &e->prio, &why) < 0 &&
		    errno == ENOENT)
			continue;
		nq++;
	}
	txn_free(&t);
	closedir(d);
}

static long
count_dir(const char *spool, const char *sub)
{
	char path[4096];
	struct dirent *de;
	long n = 0;
	DIR *d;

	if (fmt_path(path, sizeof path, "%s/%s", spool, sub) < 0)
		return 0;
	if ((d = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int
cmp_time(const void *a, const void *b)
{
	return strcmp(((const struct qent *)a)->name, ((const struct qent *)b)->name);
}

static int
cmp_size(const void *a, const void *b)
{
	const struct qent *x = a, *y = b;

	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	return cmp_time(a, b);
}

static int
cmp_prio(const void *a, const void *b)
{
	const struct qent *x = a, *y = b;

	if (x->prio != y->prio)
		return y->prio - x->prio;
	return cmp_time(a, b);
}

static void
fmt_age(long long s, char *buf, size_t size)
{
	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(buf, size, "%llds", s);
	else if (s < 3600)
		snprintf(buf, size, "%lldm%llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, size, "%lldh%lldm", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, size, "%lldd%lldh", s / 86400, s % 86400 / 3600);
}

#define RCPT_COL 53

static void
print_entry(const struct qent *e, const struct txn *t, int prio, time_t now)
{
	char when[32], age[32], next[32], in[32], reason[STREAM_XVAL_MAX + 1];
	char dest[2][2 * QDEST_NAME_MAX + 1000];
	const char *prev = NULL, *x;
	time_t arr = qid_time(e->name);
	size_t i;

	strftime(when, sizeof when, "%a %b %e %H:%M:%S", localtime(&arr));
	printf("%s%c %8lld %-20s %s\n", e->name, e->mark, e->size, when,
	    t->from[0] ? t->from : "MAILER-DAEMON");
	fmt_age((long long)(now - arr), age, sizeof age);
	printf("%*s(age %s", 23, "", age);
	if (e->mark == '*') {
		printf(", not yet tried");
	} else if (e->mark == '!') {
		printf(", held: sluice-queue release %s", e->name);
	} else {
		strftime(next, sizeof next, "%a %b %e %H:%M:%S", localtime(&e->mtime));
		if (e->mtime > now) {
			fmt_age((long long)(e->mtime - now), in, sizeof in);
			printf(", next retry in %s at %s", in, next);
		} else {
			printf(", retry due since %s", next);
		}
	}
	if (prio != 0)
		printf(", priority %s", prio > 0 ? "urgent" : "non-urgent");
	printf(")\n");
	dest[0][0] = '\0';
	for (i = 0; i < t->nrcpt; i++) {
		int newdest;

		/* Each run of recipients for one destination: "-> dest". */
		qdest_describe(&t->rcpt[i], dest[i % 2 == 0], sizeof dest[0]);
		newdest = i == 0 || strcmp(dest[0], dest[1]) != 0;
		if (newdest) {
			printf("-> %s\n", dest[i % 2 == 0]);
			prev = NULL;
		}
		x = xparam_get(t->rcpt[i].x, t->rcpt[i].nx, "X-DEFER");
		if (x != NULL && (prev == NULL || strcmp(prev, x) != 0)) {
			if (xtext_decode(x, strlen(x), reason, sizeof reason) < 0)
				snprintf(reason, sizeof reason, "%s", x);
			printf("(%s)\n", reason);
		}
		prev = x;
		printf("%*s%s\n", RCPT_COL, "", t->rcpt[i].addr);
	}
	printf("\n");
}

static int
mailq(enum sortkey sort)
{
	const char *spool = conf_spool(), *why;
	int dfd[3], prio;
	unsigned long long kb = 0;
	size_t i, shown = 0;
	long bad, dead;
	time_t now = time(NULL);
	struct txn t;

	scan_dir(spool, "incoming", '*', sort, &dfd[0]);
	scan_dir(spool, "deferred", ' ', sort, &dfd[1]);
	scan_dir(spool, "hold", '!', sort, &dfd[2]);
	/* Not with an empty queue: qents is NULL then (UBSan, make check SAN=1). */
	if (nq > 1)
		qsort(qents, nq, sizeof *qents, sort == SORT_SIZE ? cmp_size :
		    sort == SORT_PRIO ? cmp_prio : cmp_time);
	txn_init(&t);
	for (i = 0; i < nq; i++) {
		struct qent *e = &qents[i];

		if (qfile_read(dfd[e->mark == '*' ? 0 : e->mark == ' ' ? 1 : 2],
		    e->name, &t, &prio, &why) < 0) {
			if (errno == ENOENT)
				continue;	/* delivered while we looked */
			if (shown++ == 0)
				printf("-Queue ID------------- --Size-- "
				    "----Arrival Time---- -Sender/Recipient-------\n");
			printf("%s%c %8lld (unreadable: %s)\n\n", e->name, e->mark,
			    e->size, why);
			kb += (unsigned long long)e->size;
			continue;
		}
		if (shown++ == 0)
			printf("-Queue ID------------- --Size-- "
			    "----Arrival Time---- -Sender/Recipient-------\n");
		print_entry(e, &t, prio, now);
		kb += (unsigned long long)e->size;
	}
	txn_free(&t);
	bad = count_dir(spool, "bad");
	dead = count_dir(spool, "dead");
	if (bad || dead)
		printf("-- %ld in bad/ (refused as malformed), %ld in dead/ "
		    "(undeliverable bounces)\n", bad, dead);
	if (shown == 0)
		printf("Mail queue is empty\n");
	else
		printf("-- %llu Kbytes in %zu request%s.\n", (kb + 1023) / 1024,
		    shown, shown == 1 ? "" : "s");
	if (fflush(stdout) != 0 || ferror(stdout))
		die(EX_IOERR, "unable to write: %s", strerror(errno));
	return EX_OK;
}

static const char usage_text[] =
    "usage: mailq [-S time|size|priority] [-C confdir]\n"
    "       mailq --help\n"
    "See mailq(1).\n";

/* Bad usage: EX_USAGE, as sendmail's, whose options mailq takes. */
static void __attribute__((noreturn))
usage(void)
{
	if (optopt && strchr("ABCFLNORSVXbefhopr", optopt))
		fprintf(stderr, "mailq: -%c needs an argument\n", optopt);
	else if (optopt)
		fprintf(stderr, "mailq: unknown option -%c\n", optopt);
	fputs(usage_text, stderr);
	exit(EX_USAGE);
}

static void __attribute__((noreturn))
help(void)
{
	fputs(usage_text, stdout);
	exit(fflush(stdout) == 0 && !ferror(stdout) ? EX_OK : EX_IOERR);
}

static int
sort_key(const char *s, enum sortkey *sort)
{
	if (strcmp(s, "time") == 0)
		*sort = SORT_TIME;
	else if (strcmp(s, "size") == 0)
		*sort = SORT_SIZE;
	else if (strcmp(s, "priority") == 0)
		*sort = SORT_PRIO;
	else
		return -1;
	return 0;
}

/*
 * mailq was sendmail called by another name, so it takes sendmail's
 * options: -S and -o set the order, -C the configuration folder, -bp is
 * what it does anyway; the others are ignored, except those that would
 * make it do something else.
 */
int
main(int argc, char **argv)
{
	enum sortkey sort = SORT_TIME;
	int c;

	/* Settings only after -C has named their folder. */
	log_name("mailq");
	if (argc > 1 && strcmp(argv[1], "--help") == 0)
		help();
	opterr = 0;
	while ((c = getopt(argc, argv,
	    "+A:B:C:F:GIL:N:O:R:S:UV:X:b:e:f:h:imno:p:q::r:tvx")) != -1) {
		switch (c) {
		case 'C':
			if (setenv("SLUICE_CONF", optarg, 1) < 0)
				die(EX_TEMPFAIL, "out of memory");
			break;
		case 'S':
			if (sort_key(optarg, &sort) < 0)
				die(EX_USAGE, "-S: use time, size or priority");
			break;
		case 'o':
			(void)sort_key(optarg, &sort);
			break;
		case 'b':
			if (strcmp(optarg, "p") != 0)
				die(EX_USAGE, "-b%s: mailq only lists the queue; "
				    "use sendmail -b%s", optarg, optarg);
			break;
		case 'I': case 'q':
			die(EX_USAGE, "-%c: mailq only lists the queue; use sendmail",
			    c);
		case '?':
			usage();
		default:
			break;
		}
	}
	log_setup(LOG_ROLE_COMMAND);
	return mailq(sort);
}
