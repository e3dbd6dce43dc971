#include "action.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "route.h"

const char *const action_names[] = { "tag", "subject", "discard", "bounce",
	"reject", "forward", "archive", "pass" };
const char *const channel_names[] = { "none", "local", "smtp", "pipe", "bsmtp" };

static int
action_parse(struct action *a, const char *s, size_t n, char *err, size_t esize)
{
	size_t i, k = strcspn(s, ":");

	if (k > n)
		k = n;
	for (i = 0; i < sizeof action_names / sizeof action_names[0]; i++)
		if (strlen(action_names[i]) == k && strncasecmp(s, action_names[i], k) == 0)
			break;
	if (i == sizeof action_names / sizeof action_names[0]) {
		snprintf(err, esize, "unknown action \"%.*s\" (tag, subject, discard, bounce, "
		    "reject, forward:ADDRESS, archive:PATH, pass)", (int)(n > 60 ? 60 : n), s);
		return -1;
	}
	a->kind = (enum action_kind)i;
	a->arg[0] = '\0';
	if ((a->kind == AK_FORWARD || a->kind == AK_ARCHIVE) != (k < n)) {
		snprintf(err, esize, "%s %s", action_names[i], k < n ? "takes no argument" :
		    a->kind == AK_FORWARD ? "needs an address: forward:ADDRESS" :
		    "needs a path: archive:/PATH/ (Maildir) or archive:/PATH (mbox)");
		return -1;
	}
	if (k == n)
		return 0;
	if (n - k - 1 == 0 || n - k - 1 > ACTION_ARG_MAX) {
		snprintf(err, esize, "%s: empty or too long an argument", action_names[i]);
		return -1;
	}
	snprintf(a->arg, sizeof a->arg, "%.*s", (int)(n - k - 1), s + k + 1);
	if (a->kind == AK_ARCHIVE && a->arg[0] != '/') {
		snprintf(err, esize, "archive: the path must be absolute: %.100s", a->arg);
		return -1;
	}
	if (a->kind == AK_FORWARD && (strchr(a->arg, '@') == NULL ||
	    strpbrk(a->arg, "<> \t") != NULL)) {
		snprintf(err, esize, "forward: not an address: %.100s", a->arg);
		return -1;
	}
	return 0;
}

int
policy_parse(struct policy *p, const char *v, char *err, size_t esize)
{
	const char *s = v + strspn(v, " \t"), *eq;
	size_t n, i, c;
	int first = 1;

	if (*s == '\0') {
		snprintf(err, esize, "no action");
		return -1;
	}
	while (*s) {
		n = strcspn(s, " \t");
		eq = memchr(s, '=', n);
		if (first && eq == NULL) {
			if (action_parse(&p->by[CH_NONE], s, n, err, esize) < 0)
				return -1;
			for (i = 1; i < CH_COUNT; i++)
				p->by[i] = p->by[CH_NONE];
		} else {
			for (c = 1; c < CH_COUNT && eq != NULL; c++)
				if (strlen(channel_names[c]) == (size_t)(eq - s) &&
				    strncasecmp(s, channel_names[c], (size_t)(eq - s)) == 0)
					break;
			if (first || eq == NULL || c == CH_COUNT) {
				snprintf(err, esize, "\"%.*s\": expected the default action first, "
				    "then CHANNEL=ACTION (local, smtp, pipe, bsmtp)",
				    (int)(n > 60 ? 60 : n), s);
				return -1;
			}
			if (action_parse(&p->by[c], eq + 1, n - (size_t)(eq + 1 - s), err,
			    esize) < 0)
				return -1;
		}
		first = 0;
		s += n;
		s += strspn(s, " \t");
	}
	return 0;
}

enum channel
channel_of(const struct rcpt *r)
{
	struct route rt;
	const char *err;

	if (route_get(r, &rt, &err) != 1)
		return CH_NONE;
	switch (rt.ch) {
	case ROUTE_LOCAL:
	case ROUTE_FILE:
		return CH_LOCAL;
	case ROUTE_SMTP:
		return CH_SMTP;
	case ROUTE_PIPE:
		return CH_PIPE;
	case ROUTE_BSMTP:
		return CH_BSMTP;
	default:
		return CH_NONE;
	}
}

int
action_same(const struct action *a, const struct action *b)
{
	return a->kind == b->kind && strcmp(a->arg, b->arg) == 0;
}
