#ifndef TAP_H
#define TAP_H

/*
 * The TAP the C unit tests print: ok() for each check as it runs, then
 * tap_done() prints the plan at the end and gives main's exit status.
 */

#include <stdio.h>

static int tap_n, tap_failed;

static inline void
ok(int cond, const char *name)
{
	printf("%sok %d - %s\n", cond ? "" : "not ", ++tap_n, name);
	if (!cond)
		tap_failed++;
}

static inline int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
