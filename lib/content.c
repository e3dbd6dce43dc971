#include "content.h"

#include <signal.h>

#include "log.h"
#include "prequeue.h"

int
content_stage_run(const struct content_stage *cs, int argc, char **argv)
{
	char **queue = prequeue_args(argc, argv, cs->usage);
	char err[600];

	log_init(argv[0]);
	signal(SIGPIPE, SIG_IGN);
	if (cs->settings != NULL)
		cs->settings(cs->ctx);
	if (matrix_load(cs->mx, err, sizeof err) < 0)
		die(EXIT_TEMP, "4.3.5 %s", err);
	if (queue != NULL)
		prequeue_start(queue);
	stage_run(cs->txn, cs->ctx);
	return prequeue_end();
}
