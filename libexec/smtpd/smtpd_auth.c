/*
 * AUTH PLAIN and LOGIN (RFC 4954, 4616), offered and accepted only under
 * TLS.  The password is checked by a checkpassword-compatible program
 * (the qmail convention: "user\0password\0timestamp\0" on its descriptor
 * 3; exit 0 good, 1 bad, 111 temporary), sluice-auth(8) by default, which
 * reads a table of crypt(3) hashes: so neither libcrypt nor the hashes
 * come into this program.  Failures are counted and delayed, and a client
 * that keeps failing is sent away.  An authenticated client may relay;
 * submission (RFC 6409) needs AUTH before MAIL.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "b64.h"
#include "clock.h"
#include "conf.h"
#include "log.h"
#include "prog.h"
#include "smtpd.h"
#include "xtext.h"

#define AUTH_ARGS 16
#define SECRET_MAX 1024		/* a decoded response */

enum { AUTH_GOOD, AUTH_BAD, AUTH_TEMP };

void
smtpd_auth_init(struct session *s)
{
	const char *mode = getenv("SLUICE_SMTPD_MODE");
	long long v;

	s->submission = mode != NULL && strcmp(mode, "submission") == 0;
	s->auth_offer = s->submission ||
	    strcasecmp(conf_get("smtpd_auth", "no"), "yes") == 0;
	v = conf_num("smtpd_auth_max_failures", 3);
	s->auth_max_failures = v < 1 ? 1 : v > 1000 ? 1000 : (unsigned)v;
	v = conf_time("smtpd_auth_failure_delay", 2);
	s->auth_delay = v < 0 ? 0 : v > 60 ? 60 : (unsigned)v;
}

/* A base64 response (l, n) into out; its length, or -1 when answered. */
static long
auth_decode(struct session *s, const char *l, size_t n, char *out,
    size_t size)
{
	struct b64_dec d;
	size_t outn;

	if (n == 1 && l[0] == '*') {
		smtpd_reply(s, RP_AUTH_CANCEL);
		return -1;
	}
	/* RFC 4954 4: "=" is an empty initial response. */
	if (n == 1 && l[0] == '=')
		n = 0;
	b64_dec_init(&d);
	if (3 * (n / 4) + 3 >= size ||
	    b64_dec_line(&d, l, n, (unsigned char *)out, &outn) < 0 ||
	    b64_dec_end(&d) < 0) {
		smtpd_reply(s, RP_AUTH_SYNTAX);
		return -1;
	}
	out[outn] = '\0';
	return (long)outn;
}

/*
 * One response line, base64, decoded into out (NUL-terminated, which a
 * decoded NUL inside may precede).  "*" cancels (RFC 4954 4).  Returns
 * the length, or -1 when answered.
 */
static long
auth_response(struct session *s, const char *prompt, char *out, size_t size)
{
	char *l;
	size_t n;

	wbuf_printf(&s->out, "334 %s\r\n", prompt);
	if (!smtpd_session_read(s, &l, &n))
		return -1;
	return auth_decode(s, l, n, out, size);
}

/*
 * A name for logs, the Received: field's comment and XFORWARD: printable
 * ASCII without spaces or parentheses.
 */
static int
user_valid(const char *u, size_t n)
{
	size_t i;

	if (n == 0 || n > AUTH_USER_MAX || strlen(u) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (u[i] <= 32 || u[i] >= 127 || u[i] == '(' || u[i] == ')')
			return 0;
	return 1;
}

/* The program's argv from smtpd_auth_program, resolved. */
static int
auth_argv(char *buf, size_t size, char **argv, char *path, size_t psize)
{
	const char *prog = conf_get("smtpd_auth_program", "sluice-auth");
	char **argvs[1] = { argv };

	if (strlen(prog) >= size)
		return -1;
	strcpy(buf, prog);
	if (prog_split_chain(buf, argvs, 1, AUTH_ARGS) != 1 ||
	    prog_path(argv[0], path, psize) < 0) {
		log_warn("smtpd_auth_program not found or malformed: %s", prog);
		return -1;
	}
	return 0;
}

/* Child: descriptor 3 the secret, stdout the pipe that tells us it ended. */
static void
auth_exec(const char *path, char **argv, int secret, int done)
{
	int null = open("/dev/null", O_RDWR);

	if (null < 0 || dup2(null, 0) < 0 || dup2(done, 1) < 0 ||
	    dup2(secret, 3) < 0)
		_exit(EXIT_TEMP);
	signal(SIGPIPE, SIG_DFL);
	execv(path, argv);
	log_warn("unable to run %s: %s", path, strerror(errno));
	_exit(EXIT_TEMP);
}

/*
 * Wait for the program until the idle timeout: it has ended when the
 * pipe on its standard output closes (what it writes there is dropped).
 */
static int
auth_wait(struct session *s, pid_t pid, int done)
{
	long long deadline = clock_now_ms() + (long long)s->in.timeout * 1000;
	char junk[512];
	ssize_t n;

	for (;;) {
		if (clock_wait_fd(done, POLLIN, deadline) < 0) {
			log_warn("client=%s smtpd_auth_program timed out", s->addr);
			kill(pid, SIGKILL);
			break;
		}
		n = read(done, junk, sizeof junk);
		if (n == 0 || (n < 0 && errno != EINTR))
			break;
	}
	close(done);
	return prog_wait(pid);
}

/* Run the checkpassword program: AUTH_GOOD, AUTH_BAD or AUTH_TEMP. */
static int
auth_check(struct session *s, const char *user, const char *pass)
{
	char buf[1024], path[4096], *argv[AUTH_ARGS + 1], msg[SECRET_MAX * 2 + 128];
	int sec[2], done[2], st, n;
	pid_t pid;

	if (auth_argv(buf, sizeof buf, argv, path, sizeof path) < 0)
		return AUTH_TEMP;
	n = snprintf(msg, sizeof msg, "%s%c%s%c<%ld.%lld@%s>%c", user, 0, pass, 0,
	    (long)getpid(), (long long)time(NULL), s->hostname, 0);
	if (n < 0 || (size_t)n >= sizeof msg)
		return AUTH_BAD;
	if (pipe2(sec, O_CLOEXEC) < 0)
		return AUTH_TEMP;
	if (pipe2(done, O_CLOEXEC) < 0) {
		close(sec[0]);
		close(sec[1]);
		return AUTH_TEMP;
	}
	if ((pid = fork()) == 0)
		auth_exec(path, argv, sec[0], done[1]);
	close(sec[0]);
	close(done[1]);
	/* A pipe holds the few hundred octets even if nobody reads them. */
	if (pid > 0)
		(void)write_all(sec[1], msg, (size_t)n);
	explicit_bzero(msg, sizeof msg);
	close(sec[1]);
	if (pid < 0) {
		close(done[0]);
		return AUTH_TEMP;
	}
	st = auth_wait(s, pid, done[0]);
	return st == 0 ? AUTH_GOOD : (st == 1 || st == EXIT_PERM) ? AUTH_BAD : AUTH_TEMP;
}

/* RFC 4616: [authzid] NUL authcid NUL passwd; authzid, if any, is authcid. */
static int
plain_split(const char *b, size_t n, const char **user, const char **pass)
{
	const char *z1 = memchr(b, '\0', n), *z2;

	if (z1 == NULL || (z2 = memchr(z1 + 1, '\0', n - (size_t)(z1 + 1 - b))) == NULL)
		return -1;
	if (z1 != b && strcmp(b, z1 + 1) != 0)
		return -1;
	*user = z1 + 1;
	*pass = z2 + 1;
	return strlen(*pass) == n - (size_t)(z2 + 1 - b) ? 0 : -1;
}

/* The user and password of PLAIN or LOGIN: 1, 0 when malformed, -1 answered. */
static int
auth_credentials(struct session *s, const char *mech, const char *init,
    char *b1, char *b2, const char **user, const char **pass)
{
	long n, n2;

	if (strcasecmp(mech, "PLAIN") == 0) {
		n = init != NULL ? auth_decode(s, init, strlen(init), b1, SECRET_MAX) :
		    auth_response(s, "", b1, SECRET_MAX);
		if (n < 0)
			return -1;
		return plain_split(b1, (size_t)n, user, pass) == 0;
	}
	if (strcasecmp(mech, "LOGIN") == 0) {
		n = init != NULL ? auth_decode(s, init, strlen(init), b1, SECRET_MAX) :
		    auth_response(s, "VXNlcm5hbWU6", b1, SECRET_MAX);	/* Username: */
		if (n < 0 || (n2 = auth_response(s, "UGFzc3dvcmQ6", b2, SECRET_MAX)) < 0)
			return -1;					/* Password: */
		*user = b1;
		*pass = b2;
		/* A NUL inside would cut the name or password short. */
		return strlen(b1) == (size_t)n && strlen(b2) == (size_t)n2;
	}
	smtpd_reply(s, RP_AUTH_MECH);
	return -1;
}

/* Delayed more with each failure; the last one ends the session. */
static void
auth_failed(struct session *s, const char *mech, const char *user)
{
	s->auth_failures++;
	log_info("client=%s event=auth_failed mech=%s user=%.64s failures=%u",
	    s->addr, mech, user, s->auth_failures);
	if (s->auth_failures >= s->auth_max_failures) {
		smtpd_reply(s, RP_AUTH_TOO_MANY);
		smtpd_session_exit(s, EXIT_TEMP);
	}
	if (s->auth_delay > 0)
		sleep(s->auth_delay * s->auth_failures);
	smtpd_reply(s, RP_AUTH_BAD);
}

/* Whether AUTH may start here; else answered. */
static int
auth_ready(struct session *s)
{
	enum reply_id id;

	if (!s->auth_offer)
		id = RP_NOT_IMPL;
	else if (!s->tls)
		id = RP_AUTH_NEED_TLS;
	else if (s->helo != HELO_ESMTP)
		id = RP_NEED_EHLO;
	else if (s->auth_user[0] != '\0')
		id = RP_AUTH_ALREADY;
	else if (s->have_mail)
		id = RP_IN_TXN;
	else
		return 1;
	smtpd_reply(s, id);
	if (id == RP_AUTH_NEED_TLS)
		log_info("client=%s event=reject reason=auth_without_tls", s->addr);
	return 0;
}

void
smtpd_auth(struct session *s, char *arg)
{
	static char b1[SECRET_MAX], b2[SECRET_MAX];
	const char *user = "", *pass = NULL;
	char *init = strchr(arg, ' '), mech[8];
	int rc;

	if (!auth_ready(s))
		return;
	if (init != NULL)
		*init++ = '\0';
	/* Kept: the line is overwritten when the client's responses are read. */
	if (*arg == '\0' || strlen(arg) >= sizeof mech) {
		smtpd_reply(s, *arg == '\0' ? RP_PARAM_SYNTAX : RP_AUTH_MECH);
		return;
	}
	strcpy(mech, arg);
	rc = auth_credentials(s, mech, init, b1, b2, &user, &pass);
	if (rc < 0)
		return;
	if (rc == 0 || !user_valid(user, strlen(user)))
		rc = AUTH_BAD;
	else
		rc = auth_check(s, user, pass);
	if (rc == AUTH_GOOD) {
		strcpy(s->auth_user, user);
		s->relay = 1;
		s->authenticated = 1;
		log_info("client=%s event=auth mech=%s user=%s", s->addr, mech, user);
		smtpd_reply(s, RP_AUTH_OK);
	} else if (rc == AUTH_TEMP) {
		log_info("client=%s event=auth_tempfail mech=%s", s->addr, mech);
		smtpd_reply(s, RP_AUTH_TEMP);
	} else
		auth_failed(s, mech, user_valid(user, strlen(user)) ? user : "?");
	explicit_bzero(b1, sizeof b1);
	explicit_bzero(b2, sizeof b2);
}

/*
 * At MAIL, after its parameters: submission needs AUTH first.  AUTH=
 * (RFC 4954 5) is the authenticated user, whatever the client said;
 * without AUTH it is dropped, since we cannot vouch for it.
 */
int
smtpd_auth_mail(struct session *s)
{
	char enc[AUTH_USER_MAX * 3 + 1];

	if (s->submission && s->auth_user[0] == '\0') {
		smtpd_reply(s, RP_AUTH_REQUIRED);
		return -1;
	}
	free(s->t.auth);
	s->t.auth = NULL;
	if (s->auth_user[0] == '\0')
		return 0;
	if (xtext_encode(s->auth_user, strlen(s->auth_user), enc, sizeof enc) < 0 ||
	    (s->t.auth = strdup(enc)) == NULL) {
		smtpd_reply(s, RP_LOCAL_ERROR);
		return -1;
	}
	return 0;
}
