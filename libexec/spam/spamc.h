#ifndef SPAMC_H
#define SPAMC_H

/*
 * A client of spamd (SpamAssassin's daemon) speaking the spamc protocol,
 * one connection per message:
 *
 *   SYMBOLS SPAMC/1.5            SPAMD/1.5 0 EX_OK
 *   Content-length: 1834         Content-length: 24
 *   [User: name]                 Spam: True ; 1003.7 / 5.0
 *                                
 *   the message, CRLF lines      GTUBE,MISSING_DATE
 *
 * The message goes as it is (the spooled body: unstuffed, CRLF line
 * ends), streamed from the spool file, whose size is known before the
 * first octet is sent.  Every read and write times out.
 */

#include <stddef.h>

#include "bodyfile.h"

#define SPAMC_SYMBOLS_MAX 2000	/* octets of the rule names kept */

struct spamc_result {
	int spam;		/* spamd's verdict: score >= required */
	double score, required;
	char symbols[SPAMC_SYMBOLS_MAX + 1];	/* "GTUBE,MISSING_DATE"; may be "" */
};

/*
 * Ask spamd at addr ("/path", "unix:/path", "127.0.0.1:783") about the
 * message in sp.  0, or -1 with err set (connecting, writing, a reply
 * that is not EX_OK, or none).
 */
int spamc_check(const char *addr, const char *user, unsigned timeout,
    struct bodyfile *sp, struct spamc_result *r, char *err, size_t esize);

#endif
