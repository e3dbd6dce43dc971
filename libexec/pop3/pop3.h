#ifndef POP3_H
#define POP3_H

/*
 * sluice-pop3(8): fetch mail from POP3 mailboxes and feed each message to
 * a program.  One file per module, named after its function prefix:
 *
 *   sluice-pop3.c  main: options, the profiles, sessions until the
 *                  mailbox is done
 *   profile.c      a profile: one entry of table pop3_profiles
 *   conn.c         the connection: TCP with timeouts, TLS (OpenSSL)
 *   session.c      the POP3 dialogue (RFC 1939, RFC 2595 STLS)
 *   uidl.c         the record of messages fed and refused, by UIDL
 *   feed.c         the program each message is fed to
 */

#include <stddef.h>

#include "strset.h"

#define POP3_LINE_MAX 512	/* a reply line (RFC 2449: 512 with CRLF) */
#define POP3_UID_MAX 70		/* a unique id (RFC 1939: 1 to 70 octets) */
#define POP3_ARG_MAX 256	/* user, password, host */
#define FEED_MAX 1024		/* the feed command */

enum tls_mode { TLS_NONE, TLS_STARTTLS, TLS_IMPLICIT };
enum auth_mode { AUTH_ANY, AUTH_USER, AUTH_APOP };

struct profile {
	char name[POP3_ARG_MAX];
	char host[POP3_ARG_MAX];
	unsigned port;
	enum tls_mode tls;
	enum auth_mode auth;
	char user[POP3_ARG_MAX];
	char pass[POP3_ARG_MAX];
	int verify;		/* check the server's certificate */
	char ca[POP3_ARG_MAX];	/* CA file, "" for the system's */
	unsigned max;		/* messages per session, 0 for no limit */
	int timeout_ms;		/* per command, and to connect */
	char feed[FEED_MAX];
};

/* profile.c */
/* Parse an entry's value; 0, or -1 with *err saying what is wrong. */
int profile_parse(struct profile *, const char *name, const char *val,
    const char **err);

/* conn.c */
struct conn;
struct conn *conn_open(const struct profile *, char *err, size_t errsz);
/* Switch to TLS (at once for implicit TLS, after STLS otherwise); 0 or -1. */
int conn_tls(struct conn *, const struct profile *, char *err, size_t errsz);
int conn_printf(struct conn *, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/*
 * The next line without its CRLF, NUL-terminated.  A line longer than
 * the buffer comes in pieces: *partial is set on all but the last.
 * 1, or -1 with errno (ETIMEDOUT; ECONNRESET when the server is gone).
 */
int conn_getline(struct conn *, char **line, size_t *len, int *partial);
const char *conn_describe(struct conn *);
void conn_close(struct conn *);

/* uidl.c: the record of one profile, in the pop3 state folder */
struct uidl {
	struct strset done;	/* fed; to be deleted on the server */
	struct strset refused;	/* the feed refused it (exit 100): left alone */
	int fd;			/* appended to */
	char path[4096];
};
void uidl_load(struct uidl *, const char *profile);
/* Note a uid as done ('D') or refused ('R'), synced before it returns. */
void uidl_note(struct uidl *, char kind, const char *uid);
/* Keep only the uids the server still has (a rewrite, when it saves some). */
void uidl_compact(struct uidl *, const struct strset *on_server);
void uidl_free(struct uidl *);

/* feed.c: run the feed with the file fd on its stdin; the chain's status. */
int feed_run(const struct profile *, int fd, const char *uid);

/* session.c: one session; see there for the return values. */
#define SESSION_DONE 0	/* the mailbox has nothing more for us */
#define SESSION_MORE 1	/* stopped at the profile's max: another session */
#define SESSION_TEMP 2	/* failed: a later run goes on */
int session_run(const struct profile *, struct uidl *, unsigned *fed);

#endif
