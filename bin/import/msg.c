/*
 * msg: a message on its way from a source file into the body spool
 * (imp.body), with its size and 8-bit-ness counted for the envelope.
 */
#include <string.h>
#include <strings.h>

#include "import.h"
#include "log.h"
#include "text.h"

static const char *const cap_names[3] = {
	"Return-Path:", "Delivered-To:", "X-Original-To:",
};

void
msg_init(struct msg *m, int filter_headers)
{
	memset(m, 0, sizeof *m);
	m->headers = 1;
	m->filter = filter_headers;
	m->cap = -1;
	if (bodyfile_reset(&imp.body) < 0)
		die_sys("unable to truncate a temporary file");
}

static void
msg_put(struct msg *m, const char *l, size_t n)
{
	m->eight |= text_has8bit(l, n);
	m->size += n + 2;
	if (bodyfile_write_line(&imp.body, l, n) < 0)
		die_sys("unable to write a temporary file");
}

static void
msg_capture(struct msg *m, int i, const char *s, size_t n)
{
	if (m->hl[i] + n > HDR_VAL_MAX)
		n = HDR_VAL_MAX - m->hl[i];
	memcpy(m->hv[i] + m->hl[i], s, n);
	m->hl[i] += n;
	m->hv[i][m->hl[i]] = '\0';
}

/*
 * One line of the message.  In the header section, the first Return-Path:,
 * Delivered-To: and X-Original-To: are remembered, and Return-Path: is
 * removed: final delivery adds it again (RFC 5321 4.4).
 */
void
msg_line(struct msg *m, const char *l, size_t n)
{
	int i;

	if (n == 0) {
		m->headers = 0;
		m->blanks++;
		return;
	}
	if (m->headers && m->filter) {
		if (l[0] == ' ' || l[0] == '\t') {
			if (m->cap >= 0)
				msg_capture(m, m->cap, l, n);
			if (m->drop)
				return;
		} else {
			m->drop = 0;
			m->cap = -1;
			for (i = 0; i < 3; i++) {
				size_t k = strlen(cap_names[i]);

				if (n < k || strncasecmp(l, cap_names[i], k) != 0)
					continue;
				if (!m->have[i]) {
					m->have[i] = 1;
					m->cap = i;
					msg_capture(m, i, l + k, n - k);
				}
				if (i == MSG_RETURN_PATH) {
					m->drop = 1;
					return;
				}
			}
		}
	}
	for (; m->blanks > 0; m->blanks--)
		msg_put(m, "", 0);
	msg_put(m, l, n);
}

void
msg_end(struct msg *m, int mbox)
{
	if (mbox && m->blanks > 0)
		m->blanks--;
	for (; m->blanks > 0; m->blanks--)
		msg_put(m, "", 0);
}
