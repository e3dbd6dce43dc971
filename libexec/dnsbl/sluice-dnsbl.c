/*
 * sluice-dnsbl: DNS-BL checks.  In a tcpserver chain before sluice-smtpd
 * it checks the client's address against the lists, then execs the rest
 * of its arguments, or refuses the session itself (as rblsmtpd does).  As
 * a stream stage it tags each transaction with a header field per list
 * that lists its client or its sender's domain.  See sluice-dnsbl(8).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf.h"
#include "dnsbl.h"
#include "log.h"
#include "prog.h"
#include "usage.h"

static const char usage_text[] =
    "usage: sluice-dnsbl [-l table] [-w table] program [arg...]\n"
    "       sluice-dnsbl -s [-l table] [-w table] [-- program [arg...]]\n"
    "See sluice-dnsbl(8).\n";

static void
usage(void)
{
	usage_die(usage_text, NULL);
}

/*
 * The client, as sluice-smtpd finds it: tcpserver's TCPREMOTEIP, else the
 * socket's peer (inetd).  0, or -1 when there is none (a pipe).
 */
static int
client_address(struct cidr_addr *a)
{
	const char *ip = getenv("TCPREMOTEIP");
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;

	if (ip != NULL && *ip != '\0')
		return cidr_addr_parse(ip, a);
	if (getpeername(0, (struct sockaddr *)&ss, &sl) < 0)
		return -1;
	if (cidr_addr_parse("::ffff:0.0.0.0", a) < 0)
		return -1;
	if (ss.ss_family == AF_INET)
		memcpy(a->b + 12, &((struct sockaddr_in *)&ss)->sin_addr, 4);
	else if (ss.ss_family == AF_INET6)
		memcpy(a->b, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
	else
		return -1;
	return 0;
}

/*
 * A listing that refuses: answer the session here, or (dnsbl_refuse_at
 * rcpt) leave the refusal to the next program in SLUICE_DNSBL.
 */
static void
refuse(int temporary, const char *words, int at_rcpt)
{
	char v[512];

	if (!at_rcpt)
		dnsbl_refuse(temporary, words);
	snprintf(v, sizeof v, "%s %s", temporary ? "451 4.7.1" : "554 5.7.1", words);
	if (setenv("SLUICE_DNSBL", v, 1) < 0)
		die_nomem();
}

static void
chain(const struct dnsbl_conf *conf)
{
	const char *where = conf_get("dnsbl_refuse_at", "connect");
	const struct dnsbl_check *hit;
	struct dnsbl_batch b = { 0 };
	struct cidr_addr a;
	char ip[CIDR_ADDR_STRLEN], id[80], words[400];
	size_t first, n;
	int at_rcpt = strcmp(where, "rcpt") == 0, unanswered;

	if (!at_rcpt && strcmp(where, "connect") != 0)
		die(EXIT_TEMP, "dnsbl_refuse_at: connect or rcpt, not %s", where);
	/* What tcprules or a test set is not ours to believe. */
	unsetenv("SLUICE_DNSBL");
	if (client_address(&a) < 0 || dnsbl_whitelisted(conf, &a))
		return;
	snprintf(id, sizeof id, "client=%s", cidr_ntop(&a, ip, sizeof ip));
	first = dnsbl_add_addr(&b, conf, &a, DNSBL_REJECT | DNSBL_TEMPFAIL, &n);
	dnsbl_run(&b, conf, id);
	if ((hit = dnsbl_verdict(b.c + first, n, &unanswered)) != NULL) {
		dnsbl_words(hit, words, sizeof words);
		log_info("%s event=%s list=%s answer=%s%s", id,
		    hit->list->action == DNSBL_REJECT ? "reject" : "tempfail",
		    hit->list->zone, hit->answer, at_rcpt ? " at=rcpt" : "");
		refuse(hit->list->action == DNSBL_TEMPFAIL, words, at_rcpt);
	} else if (unanswered && conf->timeout_tempfail) {
		log_info("%s event=tempfail reason=unanswered", id);
		refuse(1, "DNS-BL lookup failed, try again later", at_rcpt);
	}
	dnsbl_batch_free(&b);
}

int
main(int argc, char **argv)
{
	const char *lists = "dnsbl", *white = "dnsbl_whitelist";
	struct dnsbl_conf conf;
	int c, stage = 0;

	usage_help(argc, argv, usage_text);
	log_init(argv[0]);
	/* "+": options end at the first program name (getopt would permute). */
	while ((c = getopt(argc, argv, "+l:sw:")) != -1) {
		switch (c) {
		case 'l': lists = optarg; break;
		case 's': stage = 1; break;
		case 'w': white = optarg; break;
		default: usage();
		}
	}
	argv += optind;
	if (!stage && argv[0] == NULL)
		stage = 1;	/* alone in a chain: a stage */
	dnsbl_conf_load(&conf, lists, white);
	if (stage)
		return dnsbl_stage(&conf, argv);
	chain(&conf);
	prog_exec(argv);
	die_sys("unable to run %s", argv[0]);
}
