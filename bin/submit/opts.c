/*
 * The options of Sendmail and Postfix.  Those that make no sense here are
 * accepted and ignored, so that no caller breaks; see sendmail(1).  Bad
 * usage exits EX_USAGE (64), not 100: callers of sendmail (mutt, mailx)
 * read its status as a <sysexits.h> code.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#include "log.h"
#include "submit.h"

static const char usage_text[] =
    "usage: sendmail [-t] [-i] [-f sender] [-F name] [-N dsn] [-R ret] "
    "[-V envid] [-B type]\n"
    "                [-bm|-bs|-bp|-bi] [-q|-qRdomain] [-C confdir] [-v] "
    "[recipient ...]\n"
    "       sendmail --help\n"
    "See sendmail(1).\n";

void
opts_usage(void)
{
	(void)!write(2, usage_text, sizeof usage_text - 1);
	_exit(EX_USAGE);
}

static void __attribute__((noreturn))
help(void)
{
	fputs(usage_text, stdout);
	exit(fflush(stdout) == 0 && !ferror(stdout) ? EX_OK : EX_IOERR);
}

static unsigned
parse_notify(const char *s)
{
	unsigned f = 0;
	char buf[64], *w, *save;

	if (strlen(s) >= sizeof buf)
		die(EX_USAGE, "-N: use never, or success, failure, delay");
	strcpy(buf, s);
	for (w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		if (strcasecmp(w, "never") == 0)
			f |= NOTIFY_NEVER;
		else if (strcasecmp(w, "success") == 0)
			f |= NOTIFY_SUCCESS;
		else if (strcasecmp(w, "failure") == 0)
			f |= NOTIFY_FAILURE;
		else if (strcasecmp(w, "delay") == 0)
			f |= NOTIFY_DELAY;
		else
			die(EX_USAGE, "-N: unknown notification %s", w);
	}
	if (f == 0 || ((f & NOTIFY_NEVER) && f != NOTIFY_NEVER))
		die(EX_USAGE, "-N: use never, or success, failure, delay");
	return f;
}

static int
sort_key(const char *s, struct opts *o)
{
	if (strcmp(s, "time") == 0)
		o->sort = SORT_TIME;
	else if (strcmp(s, "size") == 0)
		o->sort = SORT_SIZE;
	else if (strcmp(s, "priority") == 0)
		o->sort = SORT_PRIO;
	else
		return -1;
	return 0;
}

static void
set_mode(struct opts *o, const char *m)
{
	if (strcmp(m, "m") == 0)
		o->mode = M_DELIVER;
	else if (strcmp(m, "p") == 0)
		o->mode = M_QUEUE;
	else if (strcmp(m, "s") == 0)
		o->mode = M_SMTP;
	else if (strcmp(m, "i") == 0)
		o->mode = M_ALIASES;
	else if (strcmp(m, "d") == 0 || strcmp(m, "D") == 0)
		die(EX_USAGE, "-b%s: run sluice-smtpd under tcpserver instead, "
		    "see sluice-smtpd(8)", m);
	else
		die(EX_USAGE, "-b%s: unsupported mode", m);
}

/*
 * -qRdomain flushes one destination, as sendmail's -qRsubstr and
 * Postfix's -qRsite do; -q15m (an interval) runs the queue once.
 */
static void
set_runq(struct opts *o, char *arg, int argc, char **argv)
{
	o->mode = M_RUNQ;
	if (arg != NULL && (*arg == 'R' || *arg == 'r')) {
		o->flush = arg + 1;
		if (*o->flush == '\0' && optind < argc)
			o->flush = argv[optind++];
		if (*o->flush == '\0')
			die(EX_USAGE, "-qR needs a domain");
	} else if (arg != NULL && !isdigit((unsigned char)*arg))
		die(EX_USAGE, "-q%s: unsupported; use -q or -qRdomain", arg);
}

/* An option that is not one of sendmail's: name it, then the usage. */
static void __attribute__((noreturn))
bad_option(void)
{
	if (optopt && strchr("ABCFLNORSVXbefhopr", optopt))
		fprintf(stderr, "%s: -%c needs an argument\n", log_prog, optopt);
	else
		fprintf(stderr, "%s: unknown option -%c\n", log_prog,
		    optopt ? optopt : '?');
	fflush(stderr);
	opts_usage();
}

/* The options that set a field of o; 0, or -1 for one that is not. */
static int
opt_value(int c, struct opts *o)
{
	switch (c) {
	case 'B':
		if (strcasecmp(optarg, "8BITMIME") == 0)
			o->body = BODY_8BITMIME;
		else if (strcasecmp(optarg, "7BIT") == 0)
			o->body = BODY_7BIT;
		else
			die(EX_USAGE, "-B: use 7BIT or 8BITMIME");
		return 0;
	case 'F':
		o->fullname = optarg;
		return 0;
	case 'N':
		o->notify = parse_notify(optarg);
		return 0;
	case 'R':
		if (strcasecmp(optarg, "full") == 0)
			o->ret = RET_FULL;
		else if (strcasecmp(optarg, "hdrs") == 0)
			o->ret = RET_HDRS;
		else
			die(EX_USAGE, "-R: use full or hdrs");
		return 0;
	case 'S':
		if (sort_key(optarg, o) < 0)
			die(EX_USAGE, "-S: use time, size or priority");
		return 0;
	case 'V':
		o->envid = optarg;
		return 0;
	case 'f': case 'r':
		o->sender = optarg;
		return 0;
	}
	return -1;
}

int
opts_parse(int argc, char **argv, struct opts *o)
{
	const char *base = strrchr(argv[0], '/');
	int c;

	base = base ? base + 1 : argv[0];
	memset(o, 0, sizeof *o);
	o->dot_ends = 1;
	o->fullname = getenv("NAME");
	if (strcmp(base, "mailq") == 0)
		o->mode = M_QUEUE;
	else if (strcmp(base, "newaliases") == 0)
		o->mode = M_ALIASES;
	if (argc > 1 && strcmp(argv[1], "--help") == 0)
		help();
	opterr = 0;
	while ((c = getopt(argc, argv,
	    "+A:B:C:F:GIL:N:O:R:S:UV:X:b:e:f:h:imno:p:q::r:tvx")) != -1) {
		if (opt_value(c, o) == 0)
			continue;
		switch (c) {
		case 'C':
			/* The configuration folder, as with Postfix's -C. */
			if (setenv("SLUICE_CONF", optarg, 1) < 0)
				die(EX_TEMPFAIL, "out of memory");
			break;
		case 'I':
			o->mode = M_ALIASES;
			break;
		case 'b':
			set_mode(o, optarg);
			break;
		case 'i':
			o->dot_ends = 0;
			break;
		case 'o':
			/* -oi is -i; "-o size" sorts mailq; other -oX are ignored. */
			if (strcmp(optarg, "i") == 0)
				o->dot_ends = 0;
			else
				(void)sort_key(optarg, o);
			break;
		case 'q':
			set_runq(o, optarg, argc, argv);
			break;
		case 't':
			o->extract = 1;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'A': case 'G': case 'L': case 'O': case 'U': case 'X':
		case 'e': case 'h': case 'm': case 'n': case 'p': case 'x':
			break;
		default:
			bad_option();
		}
	}
	return optind;
}
