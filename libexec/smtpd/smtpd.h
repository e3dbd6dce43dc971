#ifndef SMTPD_H
#define SMTPD_H

/*
 * sluice-smtpd(8), the SMTP server: one file per job, each named after
 * its function prefix (as Postfix's src/smtpd/ is):
 *
 *   sluice-smtpd.c     main: the order of things in a session, as the
 *                      man page's DESCRIPTION tells it
 *   smtpd_session.c    settings, reading commands, the command table,
 *                      HELO/EHLO, VRFY, RSET, QUIT, the error count
 *   smtpd_reply.c      every fixed reply, with its enhanced status code
 *   smtpd_client.c     who is talking (tcpserver's variables, the socket)
 *   smtpd_access.c     who may connect and what each client may do: the
 *                      access table, the default, per-peer settings, the
 *                      greeting, the client checks at MAIL (reverse DNS,
 *                      HELO, a refusal passed by sluice-dnsbl)
 *   smtpd_sender.c     senders refused: table sender_access on MAIL FROM
 *                      and on the header's sender fields, the sender
 *                      domain's MX or A
 *   smtpd_dns.c        the DNS lookups of those checks, done only when a
 *                      rule needs them
 *   smtpd_limits.c     limits per client: sessions per address and per
 *                      /24 or /64, messages and recipients per window, the
 *                      delay on errors
 *   smtpd_policy.c     relaying and which recipients exist
 *   smtpd_txn.c        MAIL and RCPT: the transaction's envelope
 *   smtpd_data.c       DATA: reading to the final ".", its refusals
 *                      (bare CR/LF, long lines, size, hop count), the answer
 *   smtpd_received.c   the Received: field
 *   smtpd_queue.c      the queue program ($SLUICE_QUEUE): start, wait, reason
 *   smtpd_etrn.c       ETRN (RFC 1985)
 *   smtpd_tls.c        STARTTLS (RFC 3207) through sluice-tlsd, and the
 *                      facts of a session that is TLS from the start
 *   smtpd_auth.c       AUTH PLAIN and LOGIN (RFC 4954) through a
 *                      checkpassword program, submission's rules
 *   smtpd_limit.c      the daily limits of an authenticated user
 *
 * A session's whole state is one struct session, passed to every
 * function; there are no file-scope variables.
 */

#include <netinet/in.h>
#include <stddef.h>
#include <sys/types.h>

#include "addr.h"
#include "buf.h"
#include "dns.h"
#include "enqueue.h"
#include "slot.h"
#include "stream.h"
#include "table.h"

/*
 * Limits, each enforced while reading.  RFC 5321 4.5.3.1.4 allows a
 * command line of 512 octets; SIZE (RFC 1870), DSN (RFC 3461: ENVID 100,
 * ORCPT 500) and SMTPUTF8 addresses (RFC 6531) lengthen MAIL and RCPT, so
 * every command may have 2048 octets with its line end.
 */
#define CMD_MAX 2048
#define TEXT_MAX 1000		/* a text line with CRLF, RFC 5321 4.5.3.1.6 */
#define HELO_MAX 255		/* the HELO/EHLO argument */
#define ERRORS_MAX 20		/* protocol errors before the server hangs up */
#define REASON_MAX 200		/* text passed on from the queue program */
#define QUEUE_ARGS 16
#define AUTH_USER_MAX 255	/* an XFORWARD value holds it whole */

/* The fixed replies; their codes and texts are in smtpd_reply.c. */
enum reply_id {
	RP_OK, RP_SENDER_OK, RP_RCPT_OK, RP_QUEUED, RP_HELP, RP_VRFY, RP_BYE, RP_DATA,
	RP_UNKNOWN, RP_TOO_LONG, RP_BAD_CHAR, RP_HELO_SYNTAX, RP_MAIL_SYNTAX,
	RP_RCPT_SYNTAX, RP_NO_ARGS, RP_VRFY_SYNTAX, RP_PARAM_SYNTAX, RP_BAD_SENDER,
	RP_BAD_RCPT, RP_NOT_IMPL, RP_VRFY_OFF, RP_NEED_HELO, RP_NESTED_MAIL,
	RP_NEED_MAIL, RP_NEED_RCPT, RP_PARAM_UNKNOWN, RP_PARAM_NO_EHLO,
	RP_NEED_UTF8, RP_NO_USER, RP_RELAY_DENIED, RP_TOO_BIG, RP_TOO_MANY_RCPT,
	RP_BARE_EOL, RP_LONG_LINE, RP_TOO_MANY_HOPS, RP_QUEUE_PERM, RP_QUEUE_TEMP, RP_QUEUE_START,
	RP_LOOKUP_FAIL, RP_LOCAL_ERROR, RP_TIMEOUT, RP_TIME_LIMIT, RP_TOO_MANY_ERRORS,
	RP_TOO_MANY_CONN, RP_UNAVAILABLE,
	RP_TOO_MANY_NET_CONN, RP_ACCESS_TEMP, RP_MAIL_DENIED, RP_MAIL_DENIED_TEMP,
	RP_NO_RDNS, RP_NO_RDNS_TEMP, RP_FCRDNS, RP_FCRDNS_TEMP, RP_RDNS_DNS_TEMP,
	RP_HELO_MISMATCH, RP_HELO_MISMATCH_TEMP, RP_HELO_DNS_TEMP,
	RP_SENDER_DENIED, RP_SENDER_DENIED_TEMP, RP_SENDER_DOMAIN,
	RP_SENDER_DOMAIN_TEMP, RP_SENDER_NULL_MX, RP_SENDER_NULL_MX_TEMP,
	RP_SENDER_DNS_TEMP, RP_HEADER_SENDER, RP_HEADER_SENDER_TEMP,
	RP_MSG_RATE, RP_RCPT_RATE,
	RP_ACCESS_DENIED, RP_ETRN_OK, RP_ETRN_SYNTAX, RP_ETRN_DENIED, RP_ETRN_FAIL,
	RP_NEED_EHLO, RP_IN_TXN, RP_TLS_READY, RP_TLS_ACTIVE, RP_TLS_UNAVAIL,
	RP_AUTH_OK, RP_AUTH_BAD, RP_AUTH_TEMP, RP_AUTH_NEED_TLS, RP_AUTH_MECH,
	RP_AUTH_CANCEL, RP_AUTH_SYNTAX, RP_AUTH_ALREADY, RP_AUTH_REQUIRED,
	RP_AUTH_TOO_MANY, RP_DAILY_LIMIT,
	RP_COUNT
};

enum helo_kind { HELO_NONE, HELO_SMTP, HELO_ESMTP };

/* What a rule does to a client that breaks it: nothing, 5xx, or 4xx. */
enum action { ACT_NONE, ACT_REJECT, ACT_TEMPFAIL };

/* What the reverse DNS says of the client (smtpd_dns.c). */
enum rdns { RDNS_UNCHECKED, RDNS_OK, RDNS_NONE, RDNS_MISMATCH, RDNS_TEMP };

/* The access table's word on this client (smtpd_access.c). */
struct access {
	int allow;		/* allow or relay: let in, no client checks */
	int relay;		/* may relay */
	enum action connect;	/* reject or tempfail at connect */
	enum action mail;	/* mail=reject or mail=tempfail at MAIL */
	long long size;		/* size=N, -1: none */
	char key[256];		/* the entry that matched, for the log (cut) */
};

/* The access and limit settings (sluice-smtpd(8), ACCESS and LIMITS). */
struct access_conf {
	enum action deflt;		/* smtpd_client_default */
	enum action rdns, fcrdns, helo, sender_domain;
	int name_keys;			/* access has entries by host name */
	unsigned net_limit;		/* sessions per /24 or /64 */
	unsigned long msg_rate, rcpt_rate;	/* per window; 0: none */
	long rate_window;		/* seconds */
	long long error_delay, error_delay_max;	/* ms */
	unsigned error_delay_after;	/* errors that cost nothing */
	const char *dnsbl;		/* $SLUICE_DNSBL, checked; NULL: none */
};

/*
 * Where an accepted message goes, decided at the first DATA: into the
 * queue, written here through lib/enqueue.c (no SLUICE_QUEUE, and we are
 * the spool's owner), or to the queue program, started for each.
 */
struct queue {
	char buf[1024];		/* $SLUICE_QUEUE, split into argv */
	char *argv[QUEUE_ARGS];
	char path[4096];	/* argv[0] found */
	int ready;		/* buf, argv and path are set */
	pid_t pid;		/* -1 when none runs */
	int in;			/* the program's stdin, -1 once closed */
	int err;		/* its stdout and stderr */
	struct stream_writer w;
	/* Set by the vforked child whose execv failed; it shares our memory. */
	volatile int spawn_errno;
	int own;		/* we write the queue file: no program */
	struct enq_spool sp;	/* then, the spool */
	int file;		/* the locked tmp file being written, or -1 */
	char qid[QID_LEN + 1];	/* its id */
};

struct session {
	struct rbuf in;
	struct wbuf out;
	/* client */
	char addr[INET6_ADDRSTRLEN + 8];
	char name[256];		/* "" when unknown */
	char port[8];
	int relay;
	/*
	 * Set by AUTH: an authenticated client may relay and is spared the
	 * client checks (reverse DNS, HELO, sender rules, SLUICE_DNSBL).
	 */
	int authenticated;
	struct access acc;
	struct access_conf ac;
	enum rdns rdns;
	char ptr_name[256];	/* the first PTR name, verified or not */
	/* The HELO check's verdict (RP_OK or a refusal) for that name. */
	char helo_checked[HELO_MAX + 1];
	enum reply_id helo_verdict;
	struct dns *dns;	/* opened at the first lookup */
	struct table senders;	/* sender_access */
	enum helo_kind helo;
	char helo_name[HELO_MAX + 1];
	unsigned errors;
	/* settings */
	unsigned long long size_limit;	/* 0: none */
	size_t max_rcpt;
	unsigned long max_hops;	/* Received: fields a message may bring */
	int vrfy;
	const char *hostname;
	long long session_ms, data_ms;	/* time limits, 0: none */
	long long session_end;		/* clock_now_ms() deadline, 0: none */
	unsigned client_limit;		/* sessions per client address */
	struct slot slot;		/* the one this session holds */
	struct slot net_slot;		/* and of its /24 or /64 */
	struct table domains, users, aliases;
	/* TLS (sluice-tlsd) and AUTH */
	int submission;		/* SLUICE_SMTPD_MODE=submission (RFC 6409) */
	int tls_offer;		/* smtpd_tls_cert is set: STARTTLS is offered */
	int tls;		/* the session is encrypted */
	char tls_proto[32], tls_cipher[64];
	int tls_bits;
	int auth_offer;		/* AUTH is offered (under TLS only) */
	char auth_user[AUTH_USER_MAX + 1];	/* "" until AUTH succeeds */
	unsigned auth_failures, auth_max_failures;
	unsigned auth_delay;	/* seconds, times the failures so far */
	unsigned long long daily_msgs, daily_bytes;	/* 0: no limit */
	/* transaction */
	struct txn t;
	int have_mail;
	struct queue q;
	/* Room for a value looked up in a table; a lookup writes what it returns. */
	char lookup_val[TABLE_VAL_MAX];
};

/* smtpd_session.c */
/* The client's buffers, before anything can fail (the session's 421). */
void smtpd_session_io(struct session *);
void smtpd_session_init(struct session *);
void smtpd_session_exit(struct session *, int code) __attribute__((noreturn));
void smtpd_session_error(struct session *);
void smtpd_session_flush(struct session *);
void smtpd_session_read_failed(struct session *, const char *where)
    __attribute__((noreturn));
void smtpd_session_refuse(struct session *) __attribute__((noreturn));
void smtpd_session_serve(struct session *) __attribute__((noreturn));
/*
 * The next line from the client without its line end: 1, or 0 when it
 * was over-long and has been answered and discarded.
 */
int smtpd_session_read(struct session *, char **line, size_t *len);

/* smtpd_reply.c */
void smtpd_reply(struct session *, enum reply_id);
/* The reply with extra text after it (printable ASCII only). */
void smtpd_reply_extra(struct session *, enum reply_id, const char *extra);
/* A reply of code with text passed on from the queue program. */
void smtpd_reply_passed(struct session *, int code, const char *text);
int smtpd_reply_code(enum reply_id);
const char *smtpd_reply_text(enum reply_id);

/* smtpd_client.c */
void smtpd_client_identify(struct session *);

/* smtpd_access.c */
void smtpd_access_init(struct session *);
void smtpd_access_connect(struct session *);
void smtpd_access_greet(struct session *);
int smtpd_access_exempt(const struct session *);
int smtpd_access_mail(struct session *);
int smtpd_access_rcpt(struct session *);

/* smtpd_sender.c */
int smtpd_sender_mail(struct session *, const struct addr *, const char *fmt);
/* Header field checks while DATA is read (see smtpd_data.c). */
struct sender_hdr {
	int on;			/* checking, and still in the header */
	int keep;		/* the field being read is one to check */
	size_t len;
	char field[TEXT_MAX * 2];
	enum reply_id verdict;	/* RP_OK, or the refusal */
};
void smtpd_sender_hdr_start(struct session *, struct sender_hdr *);
void smtpd_sender_hdr_line(struct session *, struct sender_hdr *,
    const char *l, size_t n);

/* smtpd_dns.c */
void smtpd_dns_client(struct session *);
int smtpd_dns_helo(struct session *);
int smtpd_dns_sender_domain(struct session *, const char *domain);

/* smtpd_limits.c */
void smtpd_limits_connect(struct session *);
int smtpd_limits_mail(struct session *);
int smtpd_limits_rcpt(struct session *);
void smtpd_limits_error_delay(struct session *);

/* smtpd_policy.c */
enum reply_id smtpd_policy_rcpt(struct session *, const struct addr *,
    const char *full);

/* smtpd_txn.c */
void smtpd_txn_mail(struct session *, char *arg);
void smtpd_txn_rcpt(struct session *, char *arg);
void smtpd_txn_reset(struct session *);

/* smtpd_data.c */
void smtpd_data(struct session *, const char *arg);

/* smtpd_received.c */
const char *smtpd_received_proto(const struct session *);
int smtpd_received_write(struct session *, const char *qid);

/* smtpd_queue.c */
void smtpd_queue_init(struct queue *);
int smtpd_queue_ready(struct queue *);
int smtpd_queue_start(struct queue *, char qid[QID_LEN + 1]);
void smtpd_queue_close_input(struct queue *);
/* Whether a message is on its way (a program runs, or a file is open). */
int smtpd_queue_started(const struct queue *);
/*
 * The message is all there (complete) or refused: the queue's exit
 * status (0, EXIT_TEMP, EXIT_PERM) and its reason, from the program or
 * from the hand-off into the queue written here.
 */
int smtpd_queue_end(struct queue *, int complete, char *reason, size_t rsz);
void smtpd_queue_abort(struct queue *);
const char *smtpd_queue_reason_code(const char *reason, char cls);

/* smtpd_etrn.c */
void smtpd_etrn(struct session *, char *arg);

/* smtpd_tls.c */
void smtpd_tls_init(struct session *);
void smtpd_tls_starttls(struct session *, const char *arg);

/* smtpd_auth.c */
void smtpd_auth_init(struct session *);
void smtpd_auth(struct session *, char *arg);
/* At MAIL: whether it may go on (else answered), and its AUTH= value. */
int smtpd_auth_mail(struct session *);

/* smtpd_limit.c */
void smtpd_limit_init(struct session *);
/* At MAIL: 0, or -1 when the user's daily limit is reached (answered). */
int smtpd_limit_check(struct session *);
/* After a message was queued: count it. */
void smtpd_limit_count(struct session *, unsigned long long size);

#endif
