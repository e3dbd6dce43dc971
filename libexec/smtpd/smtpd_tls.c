/*
 * TLS without OpenSSL in this program: STARTTLS (RFC 3207) hands the
 * client's socket to sluice-tlsd(8), which does the handshake and then
 * relays the plaintext over a socketpair that becomes our standard input
 * and output; a session that is TLS from its start (port 465) was given
 * that plaintext by sluice-tlsd before we ran, and learns so from the
 * environment.  So a session that does not use TLS never loads it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "log.h"
#include "prog.h"
#include "smtpd.h"

/* Printable ASCII without spaces, shorter than size: kept in dst. */
static int
fact_copy(char *dst, size_t size, const char *src, size_t n)
{
	size_t i;

	if (n == 0 || n >= size)
		return -1;
	for (i = 0; i < n; i++)
		if (src[i] <= 32 || src[i] >= 127 || src[i] == '(' || src[i] == ')')
			return -1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

static int
facts_set(struct session *s, const char *proto, const char *cipher,
    const char *bits)
{
	char *end;
	long b = strtol(bits != NULL ? bits : "", &end, 10);

	if (proto == NULL || cipher == NULL ||
	    fact_copy(s->tls_proto, sizeof s->tls_proto, proto, strlen(proto)) < 0 ||
	    fact_copy(s->tls_cipher, sizeof s->tls_cipher, cipher, strlen(cipher)) < 0)
		return -1;
	s->tls_bits = (*end == '\0' && b > 0 && b < 100000) ? (int)b : 0;
	s->tls = 1;
	return 0;
}

/*
 * The settings, and the facts that sluice-tlsd (or ucspi-ssl's sslserver,
 * s6-tlsd) puts into the environment of a session that is TLS throughout.
 */
void
smtpd_tls_init(struct session *s)
{
	const char *proto = getenv("SSL_PROTOCOL");

	s->tls_offer = *conf_get("smtpd_tls_cert", "") != '\0';
	if (proto != NULL && *proto != '\0' && facts_set(s, proto,
	    getenv("SSL_CIPHER"), getenv("SSL_CIPHER_USEKEYSIZE")) < 0) {
		/* Say TLS all the same: we are told it is on. */
		strcpy(s->tls_proto, "TLS");
		strcpy(s->tls_cipher, "unknown");
		s->tls = 1;
	}
}

/*
 * sluice-tlsd -s with the client on 0 and 1 and fd 3 our end of the
 * socketpair; it is started before the 220 so that a failure to start it
 * can still be answered 454.  Returns our end, or -1.
 */
static int
tlsd_start(struct session *s, pid_t *pid)
{
	char path[4096];
	char *argv[] = { path, "-s", NULL };
	int sp[2];

	if (prog_path("sluice-tlsd", path, sizeof path) < 0) {
		log_warn("client=%s sluice-tlsd not found: no STARTTLS", s->addr);
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		return -1;
	if ((*pid = fork()) < 0) {
		close(sp[0]);
		close(sp[1]);
		return -1;
	}
	if (*pid == 0) {
		/* dup2 clears FD_CLOEXEC on 3, but not when sp[1] is 3. */
		if (sp[1] == 3 ? fcntl(3, F_SETFD, 0) < 0 : dup2(sp[1], 3) < 0)
			_exit(EXIT_TEMP);
		/* The slot's lock stays ours alone. */
		if (s->slot.fd >= 0)
			close(s->slot.fd);
		execv(path, argv);
		log_warn("unable to run %s: %s", path, strerror(errno));
		_exit(EXIT_TEMP);
	}
	close(sp[1]);
	return sp[0];
}

/* From now on the plaintext comes and goes over p. */
static void
switch_to(struct session *s, int p)
{
	struct timeval tv = { .tv_sec = s->in.timeout, .tv_usec = 0 };

	if (dup2(p, 0) < 0 || dup2(p, 1) < 0)
		die_sys("dup2");
	close(p);
	(void)setsockopt(1, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	s->in.start = s->in.end = 0;
	s->in.eof = 0;
	s->in.err = 0;
}

/* sluice-tlsd's first line: "TLS proto cipher bits". */
static void
read_facts(struct session *s)
{
	const char *l;
	char line[256], *f[4], *save = NULL;
	size_t n;
	int i, rc;

	rc = rbuf_getline(&s->in, &l, &n, sizeof line - 1);
	if (rc <= 0 || l[n - 1] != '\n')
		smtpd_session_read_failed(s, "starttls");
	memcpy(line, l, n - 1);
	line[n - 1] = '\0';
	for (i = 0; i < 4; i++)
		f[i] = strtok_r(i == 0 ? line : NULL, " ", &save);
	if (f[0] == NULL || strcmp(f[0], "TLS") != 0 ||
	    facts_set(s, f[1], f[2], f[3]) < 0) {
		log_warn("client=%s sluice-tlsd gave no TLS facts", s->addr);
		smtpd_session_exit(s, EXIT_TEMP);
	}
}

void
smtpd_tls_starttls(struct session *s, const char *arg)
{
	size_t dropped;
	pid_t pid;
	int p;

	if (s->tls || !s->tls_offer) {
		smtpd_reply(s, s->tls ? RP_TLS_ACTIVE : RP_NOT_IMPL);
		return;
	}
	if (*arg != '\0') {
		smtpd_reply(s, RP_NO_ARGS);
		return;
	}
	if (s->helo == HELO_NONE || s->have_mail) {
		smtpd_reply(s, s->have_mail ? RP_IN_TXN : RP_NEED_EHLO);
		return;
	}
	if ((p = tlsd_start(s, &pid)) < 0) {
		smtpd_reply(s, RP_TLS_UNAVAIL);
		return;
	}
	/*
	 * What the client sent after STARTTLS, before the handshake, is
	 * dropped, never read as commands under TLS (CVE-2011-0411); what
	 * arrives later is sluice-tlsd's, and breaks the handshake.
	 */
	dropped = rbuf_pending(&s->in);
	if (dropped > 0)
		log_info("client=%s event=starttls_pipelined dropped=%zu",
		    s->addr, dropped);
	smtpd_reply(s, RP_TLS_READY);
	smtpd_session_flush(s);
	switch_to(s, p);
	read_facts(s);
	/* RFC 3207 4.2: forget all the client told us; it must EHLO again. */
	s->helo = HELO_NONE;
	s->helo_name[0] = '\0';
	smtpd_txn_reset(s);
	log_info("client=%s event=starttls tls=%s cipher=%s", s->addr,
	    s->tls_proto, s->tls_cipher);
}
