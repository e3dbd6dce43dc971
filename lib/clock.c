#include <errno.h>
#include <poll.h>
#include <time.h>

#include "clock.h"

long long
clock_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
clock_wait_fd(int fd, short events, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int ms, rc;

	for (;;) {
		ms = (int)(deadline - clock_now_ms());
		if (ms <= 0)
			return errno = ETIMEDOUT, -1;
		rc = poll(&p, 1, ms);
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return -1;
	}
}
