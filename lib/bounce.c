#include "bounce.h"

#include <stdlib.h>

#include "dsn.h"
#include "log.h"

int
bounce_write(struct stream_writer *w, struct txn *t, struct bodyfile *sp,
    const char *status, const char *diag)
{
	struct dsn d = { .orig = t, .qid = t->xf[XF_IDENT], .action = DSN_FAILED,
	    .body = sp };
	struct dsn_rcpt *dr;
	enum ret_type ret = t->ret;
	size_t i;
	int rc = -1;

	if ((dr = calloc(t->nrcpt ? t->nrcpt : 1, sizeof *dr)) == NULL)
		die_nomem();
	for (i = 0; i < t->nrcpt; i++) {
		dr[i].rcpt = &t->rcpt[i];
		dr[i].status = status;
		dr[i].diag = diag;
	}
	t->ret = RET_HDRS;
	if (bodyfile_rewind(sp) == 0)
		rc = dsn_write(w, &d, dr, t->nrcpt);
	t->ret = ret;
	free(dr);
	if (rc >= 0)
		log_info("qid=%s from=<%s> nrcpt=%zu action=bounce notice=%s",
		    t->xf[XF_IDENT] ? t->xf[XF_IDENT] : "-", t->from, t->nrcpt,
		    rc == DSN_WRITTEN ? "sent" : rc == DSN_DEAD ? "dead" : "none");
	return rc;
}
