#ifndef SMTP_H
#define SMTP_H

/*
 * sluice-smtp(8): the remote delivery stage.  One file per module, named
 * after its function prefix:
 *
 *   sluice-smtp.c    main: the order of the jobs below
 *   smtp_settings.c  settings_*  the settings, read once
 *   smtp_input.c     input_*     read the stream, spool each body in wire
 *                                form, pass through what is not ours
 *   smtp_dest.c      dest_*      a recipient's destination (nexthop), the
 *                                destinations' table, deferring a whole one
 *   smtp_rcpt.c      rcpt_*      a recipient's outcome: logged, reported
 *   smtp_pool.c      pool_*      the parent: worker processes and their reports
 *   smtp_report.c    report_*    the report line, written and parsed
 *   smtp_worker.c    worker_*    a worker: one destination, some messages
 *   smtp_resolve.c   resolve_*   the servers of a destination: MX, A/AAAA,
 *                                smtp_hosts, relayhost_backup
 *   smtp_conn.c      conn_*      a connection: deadlines, TLS, replies
 *   smtp_session.c   session_*   connect, greeting, EHLO, STARTTLS, AUTH
 *   smtp_transfer.c  transfer_*  MAIL, RCPT, DATA and the body of one message
 *   smtp_output.c    output_*    what is left, and the notices
 *   smtp_cache.c     cache_*     sessions kept open between runs: a
 *                                holder process hands them over
 *
 * The memory of unreachable destinations is lib/unreach.  The state of a
 * run is one struct smtp, made in main and passed to every module; a
 * worker is a forked copy of it, with a struct job of its own.
 */

#include <stddef.h>
#include <sys/time.h>
#include <sys/types.h>

#include "buf.h"
#include "dest.h"
#include "dns.h"
#include "stream.h"
#include "table.h"
#include "unreach.h"

#define REPLY_MAX 2048		/* one reply line we accept */
#define TEXT_MAX 600		/* reply text kept for logs and DSNs */
#define TARGET_MAX 12		/* addresses tried per destination */
#define HOSTS_VAL_MAX 1024	/* a smtp_hosts or smtp_auth value */
#define STATUS_MAX 16		/* "4.4.1", room to spare */

/* The phases of a session, each with its timeout (RFC 5321 4.5.3.2). */
enum phase { PH_CONNECT, PH_HELO, PH_MAIL, PH_RCPT, PH_DATA_INIT,
	PH_DATA_BLOCK, PH_DATA_DONE, PH_QUIT, PH_COUNT };

enum { TLS_NONE, TLS_MAY, TLS_REQUIRE, TLS_VERIFY };

struct settings {
	int timeout_ms[PH_COUNT];
	unsigned port;
	long concurrency, dest_concurrency, reuse, per_conn;
	int hosts_first;
	int data554_temp;
	long long unreach_ttl;	/* seconds; 0: no memory of dead destinations */
	long long cache_time;	/* seconds a held session waits; 0: no cache */
	long long reuse_time;	/* seconds a session is used at most */
	const char *relay, *relay_backup, *tls_ca, *tls_level, *helo;
};

/* A recipient's state.  The order is that of the report's KIND words. */
enum rstat { R_NONE = 0, R_PENDING, R_SENT, R_DEFERRED, R_BOUNCED };

struct rstate {
	int dest;		/* index into dests, -1: not ours, -2: decided */
	enum rstat st;
	int dsn_passed;		/* the remote took NOTIFY: no success notice */
	char status[STATUS_MAX];	/* "4.4.1" */
	char *text;		/* reply or reason */
	char *mta;		/* Remote-MTA, or NULL */
};

struct msg {
	struct txn t;
	off_t off;		/* wire body in the body file */
	unsigned long long len;
	int eight;		/* body has 8-bit octets or BODY=8BITMIME */
	struct rstate *rs;
};

/* A destination: the recipients with one nexthop. */
struct dest {
	char key[300];		/* "example.org" or "[host]:port" */
	char host[256];		/* domain or host, no brackets */
	int mx;			/* look up MX of host */
	unsigned port;		/* 0: smtp_port */
	int relay;		/* relayhost: also try relayhost_backup */
	struct dest_opts o;
	size_t *m;		/* message indices, ascending */
	size_t nm, am;
	size_t nworkers;
};

/* The state of one run. */
struct smtp {
	struct settings cf;
	struct msg *msgs;
	size_t nmsgs, amsgs;
	struct dest *dests;
	size_t ndests, adests;
	size_t *dhash;		/* open addressing: index + 1 */
	size_t dhsize;
	int spool_fd;		/* the bodies, in wire form */
	struct timeval t_start;
	struct unreach unreach;
	/* Tables, opened once by the parent before the workers start. */
	struct table hosts, tls, auth;
	/* The first of them that exists but cannot be read (errno 0: none). */
	int table_errno;
	const struct table *table_bad;
};

/* A connection to one server. */
struct conn {
	int fd;
	struct tls *tls;
	const int *timeout_ms;	/* per phase */
	struct rbuf in;		/* over inmem, outmem: plain, or through io */
	struct wbuf out;
	struct buf_io io;	/* TLS, once STARTTLS is done */
	char inmem[8192], outmem[16384];
	int broken;		/* no further I/O */
	int timed_out;		/* it broke by a timeout */
	char err[TEXT_MAX];	/* why it broke */
	/* session_open failed before EHLO was answered; and by a timeout */
	int dead, slow;
	/* the server */
	char name[256], ip_s[64];
	unsigned port;
	/* EHLO capabilities */
	int esmtp, pipelining, eightbit, utf8, dsn, starttls, auth_plain,
	    auth_login;
	unsigned long long size_max;
	long sent;		/* messages on this connection */
	time_t born;		/* when it was opened */
};

struct reply {
	int code;		/* 250; 0 when the connection broke */
	char text[TEXT_MAX];	/* "250 2.0.0 Ok" (lines joined by spaces) */
	char status[STATUS_MAX];	/* enhanced status, from the reply or made up */
};

/* A server address of a destination. */
struct target {
	char name[256];		/* host name, for logs, SNI and smtp_auth */
	struct dns_addr a;
	unsigned port;
	int notls;		/* STARTTLS failed here once: go plain */
};

/* A worker's job: one destination, a share of its messages. */
struct job {
	struct smtp *s;
	struct dest *d;
	size_t *m;		/* message indices */
	size_t nm;
	int tls_level;
	struct target t[TARGET_MAX];
	size_t nt;
	struct tls_client *tc;
	struct wbuf rep;	/* reports to the parent */
	/* servers tried; of them found dead, by a timeout; answered */
	size_t tried, dead, slow, answered;
};

/*
 * The report: how a worker tells the parent each recipient's outcome, on a
 * pipe, one line per recipient, the fields separated by one TAB:
 *
 *   MSG TAB RCPT TAB KIND TAB PASSED TAB STATUS TAB MTA TAB TEXT LF
 *
 *   MSG, RCPT  the message's index in the run and the recipient's in the
 *              message: decimal, no sign, no leading zero
 *   KIND       sent, deferred or bounced
 *   PASSED     1 when the server took NOTIFY (no success notice from us),
 *              else 0
 *   STATUS     the enhanced status code, class.subject.detail (RFC 3463),
 *              whose class is that of KIND: 2, 4 or 5
 *   MTA        the server's name (Remote-MTA), or empty
 *   TEXT       the reply or the reason, as logged
 *
 * MTA and TEXT are printable ASCII without TAB (a writer replaces any
 * other octet by '?'); MTA is at most REPORT_MTA_MAX octets, TEXT at most
 * REPORT_TEXT_MAX (a writer cuts it), so that no line is longer than
 * REPORT_LINE_MAX with its LF.  The parent reads the lines strictly: a
 * line that breaks any rule above, is longer, ends without LF, or names
 * a recipient that is not the worker's to report or was reported already
 * is an error, logged; that recipient (and any the worker leaves
 * unreported) is deferred with 4.3.0, so the message stays queued.
 */
#define REPORT_MTA_MAX 255
#define REPORT_TEXT_MAX (TEXT_MAX - 1)
#define REPORT_LINE_MAX (2 * 20 + 8 + 1 + STATUS_MAX + REPORT_MTA_MAX + \
	REPORT_TEXT_MAX + 7)

struct report {
	size_t msg, rcpt;
	enum rstat st;		/* R_SENT, R_DEFERRED or R_BOUNCED */
	int passed;
	char status[STATUS_MAX];
	char mta[REPORT_MTA_MAX + 1];
	char text[REPORT_TEXT_MAX + 1];
};

/* smtp_settings.c */
void settings_read(struct settings *);
int settings_tls_level(const char *);

/* smtp_input.c */
void input_read(struct smtp *, struct stream_writer *out);

/* smtp_dest.c */
int dest_of_rcpt(struct smtp *, const struct rcpt *, struct rstate *);
int dest_nexthop_parse(const char *s, const char *domain, struct dest *d);
void dest_add_msg(struct dest *, size_t mi);
void dest_defer_all(struct smtp *, size_t di, const char *status,
    const char *text);
void dest_skip_unreachable(struct smtp *);
void dest_skip_unreadable_table(struct smtp *);

/* smtp_rcpt.c */
double rcpt_delay(const struct smtp *, const struct msg *);
void rcpt_log(const struct smtp *, const struct msg *, size_t ri,
    const char *relay, const char *status, enum rstat, const char *text);
void rcpt_done(struct job *, size_t mi, size_t ri, enum rstat,
    const char *status, const char *text, const struct conn *, int passed);
void rcpt_soft(struct rstate *, const char *status, const char *text,
    const struct conn *);
void rcpt_outcome(struct job *, size_t mi, size_t ri, const struct conn *,
    const struct reply *, const char *cmd, int temp554);
void rcpt_set_text(struct rstate *, const char *text);

/* smtp_pool.c */
void pool_run(struct smtp *);

/* smtp_report.c */
int report_write(struct wbuf *, const struct report *);
int report_parse(const char *line, size_t len, struct report *, char *err,
    size_t errsz);
void report_clean(char *);

/* smtp_worker.c */
void worker_run(struct job *);

/* smtp_resolve.c */
int resolve_dest(struct job *, const struct dest *, char *status, char *err,
    size_t errsz);

/* smtp_conn.c */
void conn_init(struct conn *, const struct target *, const int *timeout_ms);
int conn_connect(struct conn *, const struct target *, char *err, size_t errsz);
struct tls_client;
int conn_starttls(struct conn *, struct tls_client *, const char *servername,
    int verify, int timeout_ms, char *err, size_t errsz);
void conn_fail(struct conn *, enum phase, const char *what);
int conn_rawwrite(struct conn *, const char *p, size_t n, enum phase);
int conn_flush(struct conn *, enum phase);
int conn_printf(struct conn *, enum phase, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int conn_reply(struct conn *, struct reply *, enum phase,
    void (*each)(struct conn *, const char *));
int conn_command(struct conn *, struct reply *, enum phase, const char *cmd);
void conn_said(char *buf, size_t size, const struct conn *,
    const struct reply *, const char *cmd);
void conn_check421(struct conn *, const struct reply *);
void conn_close(struct conn *);

/* smtp_session.c */
int session_open(struct job *, struct target *, struct conn *, char *status,
    char *err, size_t errsz);
void session_quit(struct conn *);
void session_rset(struct conn *);

/* smtp_transfer.c */
int transfer_msg(struct job *, struct conn *, size_t mi);

/* smtp_cache.c */
/* A cached session for j's destination: 1 with c open and alive, or 0. */
int cache_take(struct job *, struct conn *);
/* Hand c to a holder for the next run when it may be cached, else QUIT. */
void cache_hold(struct job *, struct conn *);

/* smtp_output.c */
void output_write(struct smtp *, struct stream_writer *out);

/*
 * snprintf for messages that may be cut: a reply or a host name is
 * allowed to be shortened in a log line or a DSN.  (sluice-smtp.c)
 */
void fmt(char *buf, size_t size, const char *f, ...)
	__attribute__((format(printf, 3, 4)));
void *xrealloc(void *, size_t);
char *xstrdup(const char *);

#endif
