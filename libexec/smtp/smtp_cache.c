/*
 * The connection cache: an open session outlives the chain run that
 * opened it, so that the next run's worker for the same destination goes
 * on with it instead of connecting, greeting and saying EHLO again.
 *
 * A worker that is done with its messages while its session is still
 * good hands the session to a holder: a process of its own (setsid, its
 * standard descriptors on /dev/null, every other descriptor closed, so
 * that neither sluice-smtp nor the runner waits for it) that listens on
 * a Unix socket in spool/smtp/cache/ (mode 0700), named after a hash of
 * the destination's key and a slot number, at most one slot per
 * connection the destination allows.  A worker of a later run connects
 * there first, checks that the holder runs under its own uid
 * (SO_PEERCRED), asks for the destination by its full key, receives the
 * socket with SCM_RIGHTS and sends RSET: a 250 within a second or two
 * and the session is its own.  No holder, a stale socket, another uid, a
 * key that differs, a dead session: a new connection, as without cache.
 *
 * A holder lives smtp_connection_cache_time with nothing to do, never
 * past smtp_connection_reuse_time from the connection's start nor past
 * the destination's messages per connection; it ends at once when the
 * server closes the connection or says anything.  The session carries
 * no transaction while it waits (the last one ended with its reply), so
 * a holder that dies, however, loses nothing.
 *
 * TLS sessions are not cached: OpenSSL's state of a session cannot be
 * passed through a socket, and a holder that relayed the encrypted
 * stream would be a proxy in the path of every message.
 *
 * The request, from the worker:  "TAKE" SP key LF
 * The answer, with the socket:    key TAB name TAB ip TAB port TAB start
 *     TAB sent TAB esmtp pipelining eightbit utf8 dsn TAB size_max LF
 */
#include "smtp.h"

#include "clock.h"
#include "conf.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define STATE_MAX (sizeof ((struct dest *)0)->key + 700)
#define VERIFY_MS 2000		/* RSET of a taken session, QUIT of a holder */

/* Where a job's sessions are cached: the folder and the names. */
struct place {
	int dir;		/* spool/smtp/cache, or -1 */
	char key[sizeof ((struct dest *)0)->key + 40];
	char base[24];		/* hash of key */
	size_t slots;
};

/* The folder spool/smtp/cache, made when missing: its fd, or -1. */
static int
cache_dir(void)
{
	int sp, fd;
	struct stat st;

	if ((sp = open(conf_spool(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	fd = openat(sp, "smtp/cache", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		(void)mkdirat(sp, "smtp", 0700);
		(void)mkdirat(sp, "smtp/cache", 0700);
		fd = openat(sp, "smtp/cache", O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);
	}
	close(sp);
	if (fd < 0)
		return -1;
	/* Only the spool's owner may put a socket where workers look. */
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid() ||
	    (st.st_mode & 077) != 0) {
		log_warn("%s/smtp/cache is not a folder of uid %ld alone: no "
		    "connection cache", conf_spool(), (long)geteuid());
		close(fd);
		return -1;
	}
	return fd;
}

/* 0 with p ready, or -1 when the cache is off or unusable. */
static int
place_open(const struct job *j, struct place *p)
{
	const struct settings *cf = &j->s->cf;
	uint64_t h = 14695981039346656037ULL;
	const char *k;

	if (cf->cache_time <= 0)
		return -1;
	fmt(p->key, sizeof p->key, "%s port=%u tls=%d", j->d->key,
	    j->d->port ? j->d->port : cf->port, j->tls_level);
	for (k = p->key; *k; k++)
		h = (h ^ (unsigned char)*k) * 1099511628211ULL;
	snprintf(p->base, sizeof p->base, "%016llx", (unsigned long long)h);
	p->slots = (size_t)j->d->o.concurrency;
	return (p->dir = cache_dir()) < 0 ? -1 : 0;
}

/* A socket's address: name in the folder dir, through /proc. */
static void
sun_of(struct sockaddr_un *sa, int dir, const char *name)
{
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	fmt(sa->sun_path, sizeof sa->sun_path, "/proc/self/fd/%d/%s", dir, name);
}

/* The uid of the peer of socket fd, or -1. */
static long
peer_uid(int fd)
{
	struct ucred cr;
	socklen_t n = sizeof cr;

	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &n) < 0 ? -1 :
	    (long)cr.uid;
}

static void
io_timeout(int fd, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/*
 * Connect to the socket name: its fd, or -1.  A socket nobody listens on
 * is a holder's that was killed: removed.
 */
static int
dial(int dir, const char *name)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	sun_of(&sa, dir, name);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
		return fd;
	if (errno == ECONNREFUSED)
		(void)unlinkat(dir, name, 0);
	close(fd);
	return -1;
}

/* Receive one line and at most one descriptor: the line's length, or -1. */
static ssize_t
recv_fd(int s, char *line, size_t size, int *fd)
{
	union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } u;
	struct iovec iov = { line, size - 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.b, .msg_controllen = sizeof u.b };
	struct cmsghdr *cm;
	ssize_t n = recvmsg(s, &mh, MSG_CMSG_CLOEXEC);

	*fd = -1;
	for (cm = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL; cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(fd, CMSG_DATA(cm), sizeof(int));
	if (n <= 0 || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    line[n - 1] != '\n') {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return -1;
	}
	line[n - 1] = '\0';
	return n - 1;
}

/* The state line into c: 0, or -1 when it is not for key. */
static int
state_parse(char *l, const char *key, struct conn *c)
{
	char *f[8], *save = NULL;
	size_t n = 0;

	for (f[0] = strtok_r(l, "\t", &save); f[n] && n < 7;)
		f[++n] = strtok_r(NULL, "\t", &save);
	if (n != 7 || strcmp(f[0], key) != 0 || strlen(f[6]) != 9)
		return -1;
	fmt(c->name, sizeof c->name, "%s", f[1]);
	fmt(c->ip_s, sizeof c->ip_s, "%s", f[2]);
	c->port = (unsigned)strtoul(f[3], NULL, 10);
	c->born = (time_t)strtoll(f[4], NULL, 10);
	c->sent = strtol(f[5], NULL, 10);
	c->esmtp = f[6][0] == '1';
	c->pipelining = f[6][2] == '1';
	c->eightbit = f[6][4] == '1';
	c->utf8 = f[6][6] == '1';
	c->dsn = f[6][8] == '1';
	c->size_max = strtoull(f[7], NULL, 10);
	return 0;
}

/* The session is alive when it answers RSET with 250, soon. */
static int
alive(struct conn *c)
{
	int tmo[PH_COUNT];
	const int *keep = c->timeout_ms;
	struct reply r;
	size_t i;

	for (i = 0; i < PH_COUNT; i++)
		tmo[i] = keep[i] < VERIFY_MS ? keep[i] : VERIFY_MS;
	c->timeout_ms = tmo;
	i = conn_command(c, &r, PH_MAIL, "RSET") == 0 && r.code == 250;
	c->timeout_ms = keep;
	return (int)i;
}

/* Ask the holder on socket s for key's session: 1 with c, or 0. */
static int
take_from(struct job *j, int s, const char *key, struct conn *c)
{
	char line[STATE_MAX], req[STATE_MAX];
	struct target t;
	long uid = peer_uid(s);
	int fd;

	if (uid != (long)geteuid()) {
		log_warn("qid=- dest=%s status=cache-refused reason=\"the cached "
		    "connection's holder runs as uid %ld, not %ld\"", j->d->key,
		    uid, (long)geteuid());
		return 0;
	}
	io_timeout(s, VERIFY_MS);
	fmt(req, sizeof req, "TAKE %s\n", key);
	if (write(s, req, strlen(req)) != (ssize_t)strlen(req) ||
	    recv_fd(s, line, sizeof line, &fd) < 0)
		return 0;
	memset(&t, 0, sizeof t);
	conn_init(c, &t, j->s->cf.timeout_ms);
	c->fd = c->in.fd = c->out.fd = fd;
	if (fd < 0 || state_parse(line, key, c) < 0 || !alive(c)) {
		conn_close(c);
		return 0;
	}
	log_info("qid=- dest=%s relay=%s[%s]:%u status=cache-taken sent=%ld "
	    "age=%llds", j->d->key, c->name, c->ip_s, c->port, c->sent,
	    (long long)(time(NULL) - c->born));
	return 1;
}

int
cache_take(struct job *j, struct conn *c)
{
	struct place p;
	char name[64];
	size_t i;
	int s, got = 0;

	if (place_open(j, &p) < 0)
		return 0;
	for (i = 0; i < p.slots && !got; i++) {
		fmt(name, sizeof name, "%s.%zu", p.base, i);
		if ((s = dial(p.dir, name)) < 0)
			continue;
		got = take_from(j, s, p.key, c);
		close(s);
	}
	close(p.dir);
	return got;
}

/* Whether c may wait in the cache for the next run. */
static int
cacheable(const struct job *j, const struct conn *c)
{
	const struct settings *cf = &j->s->cf;

	return c->tls == NULL && !c->broken && c->fd >= 0 &&
	    c->sent < j->d->o.reuse &&
	    (long long)(time(NULL) - c->born) < cf->reuse_time &&
	    rbuf_pending(&c->in) == 0 && c->out.len == 0;
}

/*
 * A listening socket under the first free slot name (into name): made
 * under a name of its own, then linked where none is, so that a
 * worker never finds a socket nobody listens on yet.  A slot whose
 * socket nobody listens on is a killed holder's: taken over.  -1: none.
 */
static int
listen_slot(const struct place *p, char *name, size_t size)
{
	struct sockaddr_un sa;
	char tmp[64];
	size_t i;
	int l, s;

	fmt(tmp, sizeof tmp, "tmp.%ld", (long)getpid());
	(void)unlinkat(p->dir, tmp, 0);
	sun_of(&sa, p->dir, tmp);
	if ((l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (bind(l, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(l, 8) < 0)
		goto fail;
	for (i = 0; i < p->slots; i++) {
		fmt(name, size, "%s.%zu", p->base, i);
		if (linkat(p->dir, tmp, p->dir, name, 0) == 0)
			goto done;
		if (errno != EEXIST)
			break;
		if ((s = dial(p->dir, name)) >= 0) {
			close(s);	/* a live holder: the next slot */
			continue;
		}
		if (linkat(p->dir, tmp, p->dir, name, 0) == 0)
			goto done;	/* dial removed a dead holder's */
	}
fail:
	(void)unlinkat(p->dir, tmp, 0);
	close(l);
	return -1;
done:
	(void)unlinkat(p->dir, tmp, 0);
	return l;
}

/* Send the session's state and socket to the worker on s: 0, or -1. */
static int
give(int s, const char *key, const struct conn *c)
{
	union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } u;
	char line[STATE_MAX];
	struct iovec iov = { line, 0 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.b, .msg_controllen = sizeof u.b };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	int n;

	n = snprintf(line, sizeof line, "%s\t%s\t%s\t%u\t%lld\t%ld\t%d %d %d "
	    "%d %d\t%llu\n", key, c->name, c->ip_s, c->port, (long long)c->born,
	    c->sent, c->esmtp, c->pipelining, c->eightbit, c->utf8, c->dsn,
	    c->size_max);
	if (n < 0 || (size_t)n >= sizeof line)
		return -1;
	iov.iov_len = (size_t)n;
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &c->fd, sizeof(int));
	return sendmsg(s, &mh, MSG_NOSIGNAL) == n ? 0 : -1;
}

/*
 * A worker asks on l: 1 when it took the session (the name is removed
 * first, so that nobody else asks), else 0.
 */
static int
serve(const struct place *p, const char *name, int l, const struct conn *c)
{
	char req[STATE_MAX];
	int s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	ssize_t n;

	if (s < 0)
		return 0;
	io_timeout(s, VERIFY_MS);
	n = peer_uid(s) == (long)geteuid() ? read(s, req, sizeof req - 1) : -1;
	if (n > 5 && req[n - 1] == '\n' && memcmp(req, "TAKE ", 5) == 0 &&
	    (size_t)n - 6 == strlen(p->key) && memcmp(req + 5, p->key,
	    (size_t)n - 6) == 0) {
		(void)unlinkat(p->dir, name, 0);
		(void)give(s, p->key, c);
		close(s);
		return 1;
	}
	close(s);
	return 0;
}

/* The holder: wait for a worker, the server, or the end of its time. */
static void __attribute__((noreturn))
hold(const struct job *j, const struct place *p, const char *name, int l,
    struct conn *c)
{
	const struct settings *cf = &j->s->cf;
	long long end = clock_now_ms() + cf->cache_time * 1000,
	    life = ((long long)c->born + cf->reuse_time) * 1000 -
	    (long long)time(NULL) * 1000 + clock_now_ms(), left;
	struct pollfd pf[2] = { { .fd = l, .events = POLLIN },
		{ .fd = c->fd, .events = POLLIN } };
	int tmo[PH_COUNT], i;

	if (life < end)
		end = life;
	while ((left = end - clock_now_ms()) > 0) {
		if (poll(pf, 2, (int)left) < 0 && errno != EINTR)
			break;
		if (pf[1].revents != 0) {	/* closed, 421, or noise */
			(void)unlinkat(p->dir, name, 0);
			_exit(EXIT_OK);
		}
		if (pf[0].revents != 0 && serve(p, name, l, c))
			_exit(EXIT_OK);
	}
	(void)unlinkat(p->dir, name, 0);
	for (i = 0; i < PH_COUNT; i++)
		tmo[i] = VERIFY_MS;
	c->timeout_ms = tmo;
	session_quit(c);
	_exit(EXIT_OK);
}

/* Close the descriptors lo..hi (close_range, when the kernel has it). */
static void
close_from(unsigned lo, unsigned hi)
{
	unsigned fd;

#ifdef SYS_close_range
	if (syscall(SYS_close_range, lo, hi, 0) == 0)
		return;
#endif
	for (fd = lo; fd <= hi && fd < 4096; fd++)
		(void)close((int)fd);
}

/*
 * Detach: a session of its own, and no descriptor of the chain's (its
 * pipes would not end while the holder lives) but the listening socket,
 * the connection and the cache folder.
 */
static void
detach(int keep1, int keep2, int keep3)
{
	int fd = open("/dev/null", O_RDWR), k[3] = { keep1, keep2, keep3 }, i, t;
	unsigned lo = 3;

	(void)setsid();
	signal(SIGHUP, SIG_IGN);
	for (i = 0; i < 3 && fd >= 0; i++)
		if (fd != i)
			(void)dup2(fd, i);
	for (i = 0; i < 2; i++)		/* k ascending */
		if (k[i] > k[i + 1]) {
			t = k[i], k[i] = k[i + 1], k[i + 1] = t;
			i = -1;
		}
	for (i = 0; i < 3; i++) {
		if (k[i] > (int)lo)
			close_from(lo, (unsigned)k[i] - 1);
		if (k[i] >= (int)lo)
			lo = (unsigned)k[i] + 1;
	}
	close_from(lo, ~0U);
}

void
cache_hold(struct job *j, struct conn *c)
{
	struct place p;
	char name[64];
	pid_t pid;
	int l;

	if (!cacheable(j, c) || place_open(j, &p) < 0) {
		session_quit(c);
		return;
	}
	if ((l = listen_slot(&p, name, sizeof name)) < 0 || (pid = fork()) < 0) {
		if (l >= 0) {
			(void)unlinkat(p.dir, name, 0);
			close(l);
		}
		close(p.dir);
		session_quit(c);
		return;
	}
	if (pid == 0) {
		detach(l, c->fd, p.dir);
		hold(j, &p, name, l, c);
	}
	log_info("qid=- dest=%s relay=%s[%s]:%u status=cached holder=%ld "
	    "sent=%ld", j->d->key, c->name, c->ip_s, c->port, (long)pid, c->sent);
	close(l);
	close(p.dir);
	conn_close(c);
}
