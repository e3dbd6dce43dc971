#include <errno.h>
#include <poll.h>
#include <stdlib.h>
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

int
clock_fixed(time_t *t)
{
	const char *s = getenv("SLUICE_NOW");
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0 || s[0] < '0' || s[0] > '9')
		return -1;
	*t = (time_t)v;
	return 1;
}

time_t
clock_wall(void)
{
	time_t t;

	return clock_fixed(&t) == 1 ? t : time(NULL);
}
