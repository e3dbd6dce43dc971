/*
 * qlock: a byte lock per queue id in spool/msglock (qlock.h).
 */
#include "qlock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

/* FNV-1a of the id, kept below 2^62 so that it is a valid file offset. */
static off_t
qlock_offset(const char *qid)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *qid != '\0'; qid++)
		h = (h ^ (unsigned char)*qid) * 1099511628211ULL;
	return (off_t)(h >> 2);
}

int
qlock_open(int spool_fd)
{
	return openat(spool_fd, "msglock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
}

static int
qlock_set(int fd, const char *qid, short type)
{
	struct flock fl;

	memset(&fl, 0, sizeof fl);
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = qlock_offset(qid);
	fl.l_len = 1;
	if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	if (errno == EACCES)
		errno = EAGAIN;
	return -1;
}

int
qlock_try(int fd, const char *qid)
{
	return qlock_set(fd, qid, F_WRLCK);
}

void
qlock_release(int fd, const char *qid)
{
	(void)qlock_set(fd, qid, F_UNLCK);
}
