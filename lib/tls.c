#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

struct tls_client {
	SSL_CTX *ctx;
};

struct tls_server {
	SSL_CTX *ctx;
};

/* The socket may be one descriptor, or two (a server on stdin and stdout). */
struct tls {
	SSL *ssl;
	int rfd, wfd;
	int verified;
};

static void
ssl_err(char *err, size_t errsz, const char *what)
{
	unsigned long e = ERR_get_error();
	char b[256];

	if (e == 0) {
		snprintf(err, errsz, "%s failed", what);
		return;
	}
	ERR_error_string_n(e, b, sizeof b);
	snprintf(err, errsz, "%s: %s", what, b);
	ERR_clear_error();
}

struct tls_client *
tls_client_new(const char *cafile, char *err, size_t errsz)
{
	struct tls_client *c;

	if ((c = calloc(1, sizeof *c)) == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	if ((c->ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		ssl_err(err, errsz, "SSL_CTX_new");
		free(c);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
	/* A mail client may meet old servers: keep the defaults otherwise. */
	SSL_CTX_set_mode(c->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (cafile != NULL && *cafile != '\0') {
		if (SSL_CTX_load_verify_locations(c->ctx, cafile, NULL) != 1) {
			ssl_err(err, errsz, cafile);
			SSL_CTX_free(c->ctx);
			free(c);
			return NULL;
		}
	} else {
		SSL_CTX_set_default_verify_paths(c->ctx);
	}
	return c;
}

void
tls_client_free(struct tls_client *c)
{
	if (c == NULL)
		return;
	SSL_CTX_free(c->ctx);
	free(c);
}

/* Wait for what OpenSSL asked for; 0, or -1 with errno. */
static int
wait_io(struct tls *t, int rc, long long deadline)
{
	int e = SSL_get_error(t->ssl, rc);

	if (e == SSL_ERROR_WANT_READ)
		return clock_wait_fd(t->rfd, POLLIN, deadline);
	if (e == SSL_ERROR_WANT_WRITE)
		return clock_wait_fd(t->wfd, POLLOUT, deadline);
	errno = (e == SSL_ERROR_SYSCALL && errno != 0) ? errno : EPROTO;
	return -1;
}

struct tls *
tls_connect(struct tls_client *c, int fd, const char *servername, int verify,
    int timeout_ms, char *err, size_t errsz)
{
	long long deadline = clock_now_ms() + timeout_ms;
	struct tls *t;
	int rc, fl;

	if ((t = calloc(1, sizeof *t)) == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	t->rfd = t->wfd = fd;
	fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	if ((t->ssl = SSL_new(c->ctx)) == NULL || SSL_set_fd(t->ssl, fd) != 1) {
		ssl_err(err, errsz, "SSL_new");
		goto fail;
	}
	if (servername != NULL && *servername != '\0' && *servername != '[')
		SSL_set_tlsext_host_name(t->ssl, servername);
	if (verify) {
		SSL_set_verify(t->ssl, SSL_VERIFY_PEER, NULL);
		if (servername == NULL || SSL_set1_host(t->ssl, servername) != 1) {
			snprintf(err, errsz, "no host name to verify");
			goto fail;
		}
	}
	ERR_clear_error();
	while ((rc = SSL_connect(t->ssl)) != 1) {
		if (wait_io(t, rc, deadline) < 0) {
			long v = SSL_get_verify_result(t->ssl);

			if (verify && v != X509_V_OK)
				snprintf(err, errsz, "certificate verification failed: %s",
				    X509_verify_cert_error_string(v));
			else if (errno == ETIMEDOUT)
				snprintf(err, errsz, "TLS handshake timed out");
			else
				ssl_err(err, errsz, "TLS handshake");
			goto fail;
		}
	}
	t->verified = verify;
	return t;
fail:
	if (t->ssl)
		SSL_free(t->ssl);
	free(t);
	return NULL;
}

ssize_t
tls_read(struct tls *t, void *buf, size_t n, int timeout_ms)
{
	long long deadline = clock_now_ms() + timeout_ms;
	int rc;

	for (;;) {
		ERR_clear_error();
		rc = SSL_read(t->ssl, buf, n > 1 << 30 ? 1 << 30 : (int)n);
		if (rc > 0)
			return rc;
		if (SSL_get_error(t->ssl, rc) == SSL_ERROR_ZERO_RETURN)
			return 0;
		if (wait_io(t, rc, deadline) < 0)
			return -1;
	}
}

ssize_t
tls_write(struct tls *t, const void *buf, size_t n, int timeout_ms)
{
	long long deadline = clock_now_ms() + timeout_ms;
	int rc;

	for (;;) {
		ERR_clear_error();
		rc = SSL_write(t->ssl, buf, n > 1 << 30 ? 1 << 30 : (int)n);
		if (rc > 0)
			return rc;
		if (wait_io(t, rc, deadline) < 0)
			return -1;
	}
}

size_t
tls_pending(struct tls *t)
{
	int n = SSL_pending(t->ssl);

	return n > 0 ? (size_t)n : 0;
}

const char *
tls_describe(struct tls *t, char *buf, size_t size)
{
	snprintf(buf, size, "%s %s%s", SSL_get_version(t->ssl),
	    SSL_get_cipher_name(t->ssl), t->verified ? " verified" : "");
	return buf;
}

void
tls_close(struct tls *t)
{
	if (t == NULL)
		return;
	SSL_shutdown(t->ssl);
	SSL_free(t->ssl);
	free(t);
}

/*
 * The server side, for sluice-tlsd(8) alone: sluice-smtpd never links
 * it.  TLS 1.2 and later; no session tickets or cache, since every
 * connection has a process of its own and could never resume; no
 * renegotiation (TLS 1.2), which a client could use to make us work.
 */
struct tls_server *
tls_server_new(const char *cert, const char *key, const char *ciphers,
    char *err, size_t errsz)
{
	struct tls_server *sv;
	SSL_CTX *ctx;

	if ((sv = calloc(1, sizeof *sv)) == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	if ((ctx = sv->ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		ssl_err(err, errsz, "SSL_CTX_new");
		free(sv);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
		ssl_err(err, errsz, cert);
	else if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
		ssl_err(err, errsz, key);
	else if (SSL_CTX_check_private_key(ctx) != 1)
		ssl_err(err, errsz, "the key does not match the certificate");
	else if (ciphers != NULL && *ciphers != '\0' &&
	    SSL_CTX_set_cipher_list(ctx, ciphers) != 1)
		ssl_err(err, errsz, "cipher list");
	else
		return sv;
	SSL_CTX_free(ctx);
	free(sv);
	return NULL;
}

struct tls *
tls_accept(struct tls_server *sv, int rfd, int wfd, int timeout_ms, char *err,
    size_t errsz)
{
	long long deadline = clock_now_ms() + timeout_ms;
	struct tls *t;
	int rc, fl, i, fds[2] = { rfd, wfd };

	if ((t = calloc(1, sizeof *t)) == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	t->rfd = rfd;
	t->wfd = wfd;
	for (i = 0; i < 2; i++)
		if ((fl = fcntl(fds[i], F_GETFL)) >= 0)
			fcntl(fds[i], F_SETFL, fl | O_NONBLOCK);
	if ((t->ssl = SSL_new(sv->ctx)) == NULL || SSL_set_rfd(t->ssl, rfd) != 1 ||
	    SSL_set_wfd(t->ssl, wfd) != 1) {
		ssl_err(err, errsz, "SSL_new");
		goto fail;
	}
	ERR_clear_error();
	while ((rc = SSL_accept(t->ssl)) != 1) {
		if (wait_io(t, rc, deadline) < 0) {
			if (errno == ETIMEDOUT)
				snprintf(err, errsz, "TLS handshake timed out");
			else
				ssl_err(err, errsz, "TLS handshake");
			goto fail;
		}
	}
	return t;
fail:
	if (t->ssl)
		SSL_free(t->ssl);
	free(t);
	return NULL;
}

void
tls_facts(struct tls *t, const char **proto, const char **cipher, int *bits)
{
	*proto = SSL_get_version(t->ssl);
	*cipher = SSL_get_cipher_name(t->ssl);
	*bits = SSL_get_cipher_bits(t->ssl, NULL);
}

/* A deadline as the timeout of one call; none is the longest there is. */
static int
tls_ms_left(long long deadline)
{
	long long left;

	if (deadline == 0)
		return INT_MAX;
	left = deadline - clock_now_ms();
	return left < 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

static ssize_t
tls_buf_read(void *ctx, void *p, size_t n, long long deadline)
{
	return tls_read(ctx, p, n, tls_ms_left(deadline));
}

static ssize_t
tls_buf_write(void *ctx, const void *p, size_t n, long long deadline)
{
	return tls_write(ctx, p, n, tls_ms_left(deadline));
}

void
tls_buf_io(struct tls *t, struct buf_io *io)
{
	io->read = tls_buf_read;
	io->write = tls_buf_write;
	io->ctx = t;
}
