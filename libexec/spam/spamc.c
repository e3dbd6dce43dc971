#include "spamc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "sock.h"

#define REPLY_LINE_MAX 1000	/* a line of spamd's reply header */

/* The request and the message, each line with CRLF. */
static int
send_message(int fd, const char *user, struct bodyfile *sp)
{
	struct wbuf w;
	const char *l;
	size_t n;
	int rc;

	if (wbuf_init(&w, fd, BUF_SIZE) < 0)
		return -1;
	rc = wbuf_printf(&w, "SYMBOLS SPAMC/1.5\r\nContent-length: %llu\r\n", sp->bytes);
	if (rc == 0 && *user)
		rc = wbuf_printf(&w, "User: %s\r\n", user);
	if (rc == 0)
		rc = wbuf_put(&w, "\r\n", 2);
	if (rc == 0)
		rc = bodyfile_rewind(sp);
	while (rc == 0 && (rc = bodyfile_getline(sp, &l, &n)) == 1)
		rc = wbuf_put(&w, l, n) < 0 || wbuf_put(&w, "\r\n", 2) < 0 ? -1 : 0;
	if (rc == 0)
		rc = wbuf_flush(&w);
	wbuf_free(&w);
	return rc;
}

/* "Spam: True ; 1003.7 / 5.0" */
static int
parse_spam(const char *v, struct spamc_result *r)
{
	char word[8];

	if (sscanf(v, " %7[A-Za-z] ; %lf / %lf", word, &r->score, &r->required) != 3)
		return -1;
	if (strcasecmp(word, "true") == 0 || strcasecmp(word, "yes") == 0)
		r->spam = 1;
	else if (strcasecmp(word, "false") == 0 || strcasecmp(word, "no") == 0)
		r->spam = 0;
	else
		return -1;
	return 0;
}

static void
trim(char *s, size_t *n)
{
	while (*n > 0 && (s[*n - 1] == '\n' || s[*n - 1] == '\r' || s[*n - 1] == ' '))
		s[--*n] = '\0';
}

/* The reply: status line, header lines, then the rule names. */
static int
read_reply(int fd, struct spamc_result *r, char *err, size_t esize)
{
	struct rbuf rb;
	const char *l;
	char line[REPLY_LINE_MAX + 1];
	size_t n, len = 0;
	int rc, seen = 0, first = 1;

	if (rbuf_init(&rb, fd, 8192) < 0)
		return snprintf(err, esize, "out of memory"), -1;
	while ((rc = rbuf_getline(&rb, &l, &n, REPLY_LINE_MAX)) == 1) {
		memcpy(line, l, n);
		line[n] = '\0';
		trim(line, &n);
		if (first) {
			first = 0;
			if (strncmp(line, "SPAMD/", 6) != 0 || strstr(line, " 0 EX_OK") == NULL) {
				snprintf(err, esize, "spamd said: %.200s", line);
				goto fail;
			}
		} else if (n == 0)
			break;
		else if (strncasecmp(line, "Spam:", 5) == 0) {
			if (parse_spam(line + 5, r) < 0) {
				snprintf(err, esize, "spamd's verdict cannot be read: %.200s", line);
				goto fail;
			}
			seen = 1;
		}
	}
	if (!seen) {
		snprintf(err, esize, "no verdict from spamd: %s", rc < 0 ?
		    strerror(rb.err ? rb.err : errno) : first ? "connection closed" :
		    "no Spam: line");
		goto fail;
	}
	/* The rule names, comma-separated, possibly over several reads. */
	while (len < SPAMC_SYMBOLS_MAX && (rc = rbuf_getline(&rb, &l, &n,
	    SPAMC_SYMBOLS_MAX - len)) != 0 && rc != -1) {
		memcpy(r->symbols + len, l, n);
		len += n;
	}
	r->symbols[len] = '\0';
	trim(r->symbols, &len);
	rbuf_free(&rb);
	return 0;
fail:
	rbuf_free(&rb);
	return -1;
}

int
spamc_check(const char *addr, const char *user, unsigned timeout,
    struct bodyfile *sp, struct spamc_result *r, char *err, size_t esize)
{
	int fd, rc;

	memset(r, 0, sizeof *r);
	if ((fd = sock_connect(addr, timeout, err, esize)) < 0)
		return -1;
	if (send_message(fd, user, sp) < 0) {
		snprintf(err, esize, "write to spamd %.200s: %s", addr, strerror(errno));
		close(fd);
		return -1;
	}
	(void)shutdown(fd, SHUT_WR);
	rc = read_reply(fd, r, err, esize);
	close(fd);
	return rc;
}
