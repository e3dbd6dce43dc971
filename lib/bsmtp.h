#ifndef BSMTP_H
#define BSMTP_H

/*
 * What the two ends of a BSMTP tunnel (RFC 2442) share: the header fields
 * of a tunnel message, its message authentication code, the options of
 * the tables bsmtp_tunnels and bsmtp_senders, and the state folder.
 * See sluice-bsmtp-encode(8) and sluice-bsmtp-decode(8).
 *
 * The MAC of a tunnel message is HMAC-SHA-256, keyed by the shared
 * secret, over the tunnel id (the Message-ID without its angle brackets),
 * CRLF, and then the batch: the content after its transfer encoding is
 * undone, every line ending in CRLF.  It travels, in lowercase hex, in
 *
 *   X-Sluice-Tunnel-MAC: hmac-sha256=HEX
 */

#include <stddef.h>

#include "sha256.h"

#define BSMTP_MAC_FIELD "X-Sluice-Tunnel-MAC"
#define BSMTP_ID_MAX 250	/* a tunnel id (Message-ID content) */
#define BSMTP_OPT_MAX 1024	/* an option value in a table */

/* Start the MAC of a tunnel message with id under secret. */
void bsmtp_mac_init(struct sha256_hmac *, const char *secret, const char *id);
/* One line of the batch, without its line end: the MAC takes it with CRLF. */
void bsmtp_mac_line(struct sha256_hmac *, const char *s, size_t n);
/* The MAC as the field value "hmac-sha256=HEX" (at least 80 octets). */
void bsmtp_mac_final(struct sha256_hmac *, char *out, size_t size);

/*
 * Option key of a table value "key=value key=value flag ...": 1 with the
 * value in out ("" for a bare flag), 0 when absent, -1 when it does not
 * fit.  Values hold no white space.
 */
int bsmtp_opt(const char *val, const char *key, char *out, size_t size);

/*
 * The tunnel state folder: the bsmtp_dir setting, else "bsmtp" in the
 * spool.  0 with the path in buf, -1 when it does not fit.
 */
int bsmtp_dir(char *buf, size_t size, const char *sub);

#endif
