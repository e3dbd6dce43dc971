/*
 * env: envelope addresses as other servers' spools write them, into a
 * transaction.  They are checked and normalized later, by envelope_norm()
 * in import_emit().
 */
#include <string.h>

#include "addr.h"
#include "import.h"
#include "log.h"
#include "text.h"

/*
 * An address as a spool writes it: "<a@b>" or "a@b", white space around.
 * Copies the content into dst; -1 if it is malformed.
 */
static int
env_addr_text(const char *s, size_t n, char *dst, size_t dsz)
{
	long e;

	while (n > 0 && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n > 0 && s[0] == '<') {
		e = addr_path_end(s, n);
		if (e < 0 || (size_t)e != n - 1)
			return -1;
		s++;
		n -= 2;
	}
	if (n >= dsz || memchr(s, '\0', n) != NULL)
		return -1;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

static void
env_set_utf8(struct txn *t, const char *a)
{
	if (text_has8bit(a, strlen(a)))
		t->smtputf8 = 1;
}

int
env_from(struct txn *t, const char *s, size_t n, unsigned long line)
{
	char a[ADDR_PATH_MAX + 1];

	if (env_addr_text(s, n, a, sizeof a) < 0)
		return -1;
	if (txn_set_from(t, a) < 0)
		die_nomem();
	env_set_utf8(t, a);
	t->line = line;
	return 0;
}

int
env_rcpt(struct txn *t, const char *s, size_t n, unsigned long line)
{
	char a[ADDR_PATH_MAX + 1];
	struct rcpt *r;

	if (env_addr_text(s, n, a, sizeof a) < 0 || a[0] == '\0')
		return -1;
	if (t->nrcpt == STREAM_RCPT_MAX)
		return -1;
	if ((r = txn_add_rcpt(t, a)) == NULL)
		die_nomem();
	r->line = line;
	env_set_utf8(t, a);
	return 0;
}

int
env_mailbox_rcpts(struct txn *t, struct msg *m)
{
	size_t i;

	if (imp.nrflags > 0) {
		for (i = 0; i < imp.nrflags; i++)
			if (env_rcpt(t, imp.rflags[i], strlen(imp.rflags[i]), 0) < 0)
				return -1;
		return 0;
	}
	/* A value too long for an address is a malformed one. */
	if (m->have[MSG_DELIVERED_TO] < 0)
		return -1;
	if (m->have[MSG_DELIVERED_TO])
		return env_rcpt(t, m->hv[MSG_DELIVERED_TO], m->hl[MSG_DELIVERED_TO], 0);
	if (m->have[MSG_ORIGINAL_TO] > 0)
		return env_rcpt(t, m->hv[MSG_ORIGINAL_TO], m->hl[MSG_ORIGINAL_TO], 0);
	return -1;
}
