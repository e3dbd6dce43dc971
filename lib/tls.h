#ifndef TLS_H
#define TLS_H

/*
 * TLS client connections over an existing socket (STARTTLS), with
 * OpenSSL.  Only programs that call these functions link OpenSSL.  Every
 * operation takes a deadline in milliseconds; the socket may be blocking
 * or not, it is made non-blocking here.
 */

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

struct tls_client;	/* shared settings: an SSL_CTX */
struct tls_server;	/* a server's certificate and key: an SSL_CTX */
struct tls;		/* one connection */

/*
 * cafile: PEM bundle for verification, NULL for the system's default
 * paths.  NULL with err filled on failure.
 */
struct tls_client *tls_client_new(const char *cafile, char *err, size_t errsz);
void tls_client_free(struct tls_client *);
/*
 * Handshake on fd.  servername is sent as SNI; when verify is set, the
 * peer's certificate must chain to a trusted CA and name servername.
 * NULL with err filled on failure (the socket is then unusable).
 */
struct tls *tls_connect(struct tls_client *, int fd, const char *servername,
    int verify, int timeout_ms, char *err, size_t errsz);
/* Like read(2)/write(2): bytes, 0 at a clean close, -1 with errno (ETIMEDOUT). */
ssize_t tls_read(struct tls *, void *buf, size_t n, int timeout_ms);
ssize_t tls_write(struct tls *, const void *buf, size_t n, int timeout_ms);
/*
 * A transport for lib/buf over t: an rbuf or wbuf given it reads or
 * writes through TLS, within its deadline.
 */
void tls_buf_io(struct tls *, struct buf_io *);
/* Bytes already decrypted and waiting. */
size_t tls_pending(struct tls *);
/* "TLSv1.3 TLS_AES_256_GCM_SHA384 verified" for logs. */
const char *tls_describe(struct tls *, char *buf, size_t size);
/*
 * The server side (sluice-tlsd alone links it): certificate chain and
 * key files (PEM), an OpenSSL cipher list for TLS 1.2 (NULL or "" for
 * OpenSSL's default); TLS 1.2 and later.  NULL with err filled.
 */
struct tls_server *tls_server_new(const char *cert, const char *key,
    const char *ciphers, char *err, size_t errsz);
/* The server handshake, reading rfd and writing wfd (they may be one). */
struct tls *tls_accept(struct tls_server *, int rfd, int wfd, int timeout_ms,
    char *err, size_t errsz);
/* What was agreed: "TLSv1.3", "TLS_AES_256_GCM_SHA384", 256. */
void tls_facts(struct tls *, const char **proto, const char **cipher, int *bits);
/* Sends close_notify (without waiting) and frees; the fd stays open. */
void tls_close(struct tls *);

#endif
