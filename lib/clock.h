#ifndef CLOCK_H
#define CLOCK_H

/*
 * Deadlines in milliseconds on the monotonic clock, so that a change of
 * the wall clock neither shortens nor stretches a timeout.
 */

/* Now, in milliseconds since an arbitrary fixed point. */
long long clock_now_ms(void);
/*
 * Wait until fd is ready for events (POLLIN, POLLOUT), at most until
 * deadline (a clock_now_ms() value); poll is restarted after a signal.
 * 0 when ready, or -1 with errno (ETIMEDOUT when the deadline passed).
 */
int clock_wait_fd(int fd, short events, long long deadline);

#endif
