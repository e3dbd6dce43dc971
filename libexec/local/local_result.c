/*
 * What a delivery attempt came to: a code, an enhanced status, the text
 * for the log, and the text for the sender when the log's names a local
 * path.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "sluice-local.h"

void
local_result_set(struct result *r, int code, const char *status,
    const char *fmt, ...)
{
	va_list ap;

	r->code = code;
	snprintf(r->status, sizeof r->status, "%s", status);
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof r->text, fmt, ap);
	va_end(ap);
	r->pub[0] = '\0';
}

/* What the sender is told, when the log's text names a local path. */
void
local_result_public(struct result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->pub, sizeof r->pub, fmt, ap);
	va_end(ap);
}

const char *
local_result_text(const struct result *r)
{
	return r->pub[0] != '\0' ? r->pub : r->text;
}

/* A system error: temporary, as nearly all of them are (log.h). */
void
local_result_sys(struct result *r, const char *what, const char *path)
{
	int e = errno;

	local_result_set(r, errno_exit(e) == EXIT_PERM ? 5 : 4,
	    errno_exit(e) == EXIT_PERM ? "5.2.0" : "4.2.0", "%s %s: %s", what,
	    path, strerror(e));
	local_result_public(r, "%s: %s", what, strerror(e));
}
