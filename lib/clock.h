#ifndef CLOCK_H
#define CLOCK_H

#include <time.h>

/*
 * Deadlines in milliseconds on the monotonic clock, so that a change of
 * the wall clock neither shortens nor stretches a timeout; and the wall
 * clock of the queue's policy, which a test can fix.
 */

/* Now, in milliseconds since an arbitrary fixed point. */
long long clock_now_ms(void);
/*
 * Wait until fd is ready for events (POLLIN, POLLOUT), at most until
 * deadline (a clock_now_ms() value); poll is restarted after a signal.
 * 0 when ready, or -1 with errno (ETIMEDOUT when the deadline passed).
 */
int clock_wait_fd(int fd, short events, long long deadline);
/*
 * The time of day in seconds: SLUICE_NOW (decimal seconds since the
 * epoch) when it is set to one, so that a test of retry times, lifetimes
 * and notices gets the same output on every run; else time(NULL).
 */
time_t clock_wall(void);
/* SLUICE_NOW parsed: 1 and *t when set and valid, 0 unset, -1 malformed. */
int clock_fixed(time_t *t);

#endif
