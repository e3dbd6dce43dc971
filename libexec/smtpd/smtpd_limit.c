/*
 * Daily limits per authenticated user on messages and octets (seed 002
 * "SMTP Options"): smtpd_auth_daily_messages and smtpd_auth_daily_bytes,
 * or the user's line in table auth_limits ("MESSAGES BYTES", 0 for no
 * limit).  The counts are shared by every session with no daemon: one
 * small file per user in spool/auth/, "YYYYMMDD messages octets", read
 * and rewritten under an flock(2); a new day (UTC) starts from zero.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "sha256.h"
#include "smtpd.h"
#include "table.h"

struct usage {
	long day;			/* YYYYMMDD, UTC */
	unsigned long long msgs, bytes;
};

void
smtpd_limit_init(struct session *s)
{
	long long v;

	v = conf_num("smtpd_auth_daily_messages", 0);
	s->daily_msgs = v > 0 ? (unsigned long long)v : 0;
	v = conf_size("smtpd_auth_daily_bytes", 0);
	s->daily_bytes = v > 0 ? (unsigned long long)v : 0;
}

/* The user's own limits from table auth_limits, else the settings. */
static void
user_limits(struct session *s, unsigned long long *msgs, unsigned long long *bytes)
{
	struct table t;
	char m[32], b[32], *end;
	unsigned long long lm;
	long long lb;

	*msgs = s->daily_msgs;
	*bytes = s->daily_bytes;
	if (table_open(&t, "auth_limits") < 0)
		return;
	if (table_get(&t, s->auth_user, s->lookup_val, sizeof s->lookup_val) == 1) {
		if (sscanf(s->lookup_val, "%31s %31s", m, b) == 2 && m[0] != '-' &&
		    (lm = strtoull(m, &end, 10), *end == '\0') &&
		    (lb = conf_parse_size(b)) >= 0) {
			*msgs = lm;
			*bytes = (unsigned long long)lb;
		} else
			log_warn("table auth_limits: malformed value for %s",
			    s->auth_user);
	}
	table_close(&t);
}

/*
 * spool/auth/USER, the name kept readable ([A-Za-z0-9@._+-], others as
 * %XX, a leading dot too); one that would be too long is its SHA-256.
 */
static int
usage_path(struct session *s, char *path, size_t size, int make)
{
	char name[200], dir[4096];
	unsigned char h[SHA256_LEN];
	struct sha256 c;
	const char *u = s->auth_user;
	size_t i, k = 0;
	int n;

	for (i = 0; u[i] != '\0' && k + 4 < sizeof name; i++) {
		unsigned char ch = (unsigned char)u[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') ||
		    (strchr("@._+-", ch) != NULL && !(i == 0 && ch == '.')))
			name[k++] = (char)ch;
		else
			k += (size_t)snprintf(name + k, 4, "%%%02X", ch);
	}
	name[k] = '\0';
	if (u[i] != '\0') {
		sha256_init(&c);
		sha256_update(&c, u, strlen(u));
		sha256_final(&c, h);
		strcpy(name, "sha256-");
		sha256_hex(h, SHA256_LEN, name + 7);
	}
	n = snprintf(dir, sizeof dir, "%s/auth", conf_spool());
	if (n < 0 || (size_t)n >= sizeof dir)
		return -1;
	if (make && mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -1;
	n = snprintf(path, size, "%s/%s", dir, name);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

static long
today(void)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	return (tm.tm_year + 1900L) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

/* The user's counts for today from fd (zero when absent or of another day). */
static void
usage_read(int fd, struct usage *u)
{
	char buf[128];
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	struct usage r = { 0, 0, 0 };

	u->day = today();
	u->msgs = u->bytes = 0;
	if (n <= 0)
		return;
	buf[n] = '\0';
	if (sscanf(buf, "%ld %llu %llu", &r.day, &r.msgs, &r.bytes) == 3 &&
	    r.day == u->day)
		*u = r;
}

int
smtpd_limit_check(struct session *s)
{
	unsigned long long lm, lb;
	struct usage u;
	char path[4096];
	int fd;

	if (s->auth_user[0] == '\0')
		return 0;
	user_limits(s, &lm, &lb);
	if (lm == 0 && lb == 0)
		return 0;
	if (usage_path(s, path, sizeof path, 0) < 0)
		return 0;
	/* No file: nothing sent yet, but a declared SIZE may be over already. */
	u.msgs = u.bytes = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		(void)flock(fd, LOCK_SH);
		usage_read(fd, &u);
		close(fd);
	}
	if ((lm && u.msgs >= lm) ||
	    (lb && u.bytes + (s->t.has_size ? s->t.size : 0) > lb)) {
		log_info("client=%s event=reject reason=daily_limit user=%s "
		    "messages=%llu bytes=%llu", s->addr, s->auth_user, u.msgs, u.bytes);
		smtpd_reply(s, RP_DAILY_LIMIT);
		return -1;
	}
	return 0;
}

void
smtpd_limit_count(struct session *s, unsigned long long size)
{
	unsigned long long lm, lb;
	struct usage u;
	char path[4096], line[96];
	int fd, n;

	if (s->auth_user[0] == '\0')
		return;
	user_limits(s, &lm, &lb);
	if (lm == 0 && lb == 0)
		return;
	if (usage_path(s, path, sizeof path, 1) < 0 ||
	    (fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		log_warn("user=%s unable to count toward the daily limits: %s",
		    s->auth_user, strerror(errno));
		return;
	}
	(void)flock(fd, LOCK_EX);
	usage_read(fd, &u);
	u.msgs++;
	u.bytes += size;
	n = snprintf(line, sizeof line, "%ld %llu %llu\n", u.day, u.msgs, u.bytes);
	if (pwrite(fd, line, (size_t)n, 0) != n || ftruncate(fd, n) < 0)
		log_warn("user=%s unable to count toward the daily limits: %s",
		    s->auth_user, strerror(errno));
	close(fd);
}
