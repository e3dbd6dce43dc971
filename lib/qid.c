#include "qid.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

void
qid_make(char out[QID_LEN + 1])
{
	static struct timeval last;
	struct timeval tv;

	do
		gettimeofday(&tv, NULL);
	while (tv.tv_sec == last.tv_sec && tv.tv_usec == last.tv_usec);
	last = tv;
	snprintf(out, QID_LEN + 1, "%09llx%05lx%07lx",
	    (unsigned long long)tv.tv_sec & 0xfffffffffULL,
	    (unsigned long)tv.tv_usec & 0xfffff,
	    (unsigned long)getpid() & 0xfffffff);
}

int
qid_valid(const char *s)
{
	size_t i;

	for (i = 0; i < QID_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[QID_LEN] == '\0';
}

time_t
qid_time(const char *s)
{
	unsigned long long t = 0;
	size_t i;

	if (!qid_valid(s))
		return 0;
	for (i = 0; i < 9; i++)
		t = t << 4 | (unsigned)(s[i] <= '9' ? s[i] - '0' : s[i] - 'a' + 10);
	return (time_t)t;
}
