#ifndef PARAM_H
#define PARAM_H

/*
 * ESMTP parameters of MAIL and RCPT: SIZE (RFC 1870), BODY (RFC 6152),
 * SMTPUTF8 (RFC 6531), RET, ENVID, NOTIFY, ORCPT (RFC 3461), AUTH
 * (RFC 4954), and sluice's private X- parameters (sluice-stream(5)).
 */

#include <stddef.h>

#include "txn.h"

/*
 * Parse one ESMTP parameter list (the text after the path) of MAIL (is_rcpt
 * 0) or RCPT; used by the reader and by sluice-smtpd.  Returns 0, or -1
 * with *err set to a message naming the parameter.  reply_code gets the
 * RFC 5321/1869 code an SMTP server should send (501 syntax, 555 unknown).
 */
int param_parse(struct txn *t, struct rcpt *r, const char *s, size_t n,
    int is_rcpt, const char **err, int *reply_code);

#endif
