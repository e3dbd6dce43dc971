#include "table.h"
#include "conf.h"
#include "fmt.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
table_open(struct table *t, const char *name)
{
	int n;

	memset(&t->cdb, 0, sizeof t->cdb);
	t->fd = -1;
	if (strchr(name, '/') != NULL)
		n = snprintf(t->path, sizeof t->path, "%s", name);
	else
		n = snprintf(t->path, sizeof t->path, "%s/%s.cdb", conf_dir(), name);
	if (n < 0 || (size_t)n >= sizeof t->path)
		return errno = ENAMETOOLONG, -1;
	/*
	 * openat, not open: musl's open follows an O_CLOEXEC open with an
	 * fcntl for kernels older than 2.6.23, a system call per table for
	 * every program start (sluice-smtpd opens six per connection).
	 */
	t->fd = openat(AT_FDCWD, t->path, O_RDONLY | O_CLOEXEC);
	if (t->fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (cdb_init(&t->cdb, t->fd) < 0) {
		close(t->fd);
		t->fd = -1;
		/* Damaged or cut short: the postmaster's to fix, mail waits. */
		return errno = EIO, -1;
	}
	return 0;
}

/* Whether others may read path: 1, 0 (or absent), -1. */
static int
others_read(const char *path, int fd)
{
	struct stat st;

	if ((fd >= 0 ? fstat(fd, &st) : stat(path, &st)) < 0)
		return errno == ENOENT ? 0 : -1;
	return (st.st_mode & S_IROTH) != 0;
}

int
table_open_secret(struct table *t, const char *name)
{
	char src[sizeof t->path];
	size_t n;
	int rc;

	if (table_open(t, name) < 0)
		return -1;
	n = strlen(t->path);
	snprintf(src, sizeof src, "%s", t->path);
	if (n > 4 && strcmp(src + n - 4, ".cdb") == 0)
		src[n - 4] = '\0';
	if ((rc = others_read(t->path, t->fd)) == 0 && strcmp(src, t->path) != 0)
		rc = others_read(src, -1);
	if (rc != 0) {
		int e = rc < 0 ? errno : EPERM;

		table_close(t);
		return errno = e, -1;
	}
	return 0;
}

void
table_need(struct table *t, const char *name)
{
	if (table_open(t, name) < 0)
		die_sys("unable to open table %s", name);
}

void
table_close(struct table *t)
{
	if (t->fd >= 0) {
		cdb_free(&t->cdb);
		close(t->fd);
	}
	t->fd = -1;
}

int
table_get(struct table *t, const char *key, char *val, size_t vsz)
{
	char k[TABLE_KEY_MAX];
	size_t i, n = strlen(key);
	unsigned len;
	int rc;

	if (t->fd < 0)
		return 0;
	if (n >= sizeof k)
		return 0;
	for (i = 0; i < n; i++)
		k[i] = (key[i] >= 'A' && key[i] <= 'Z') ? (char)(key[i] + 32) : key[i];
	rc = cdb_find(&t->cdb, k, (unsigned)n);
	if (rc <= 0)
		return rc < 0 ? -1 : 0;
	len = cdb_datalen(&t->cdb);
	if (len >= vsz)
		return errno = EOVERFLOW, -1;
	if (cdb_read(&t->cdb, val, len, cdb_datapos(&t->cdb)) < 0)
		return -1;
	val[len] = '\0';
	return 1;
}

static int
try(struct table *t, const char *key, char *val, size_t vsz, char *matched,
    size_t msz)
{
	int rc = table_get(t, key, val, vsz);

	if (rc == 1 && matched != NULL)
		snprintf(matched, msz, "%s", key);
	return rc;
}

int
table_lookup_addr(struct table *t, const char *addr, char *val, size_t vsz,
    char *matched, size_t msz)
{
	char key[TABLE_KEY_MAX];
	const char *at = strrchr(addr, '@'), *d;
	int rc;

	if (t->fd < 0)
		return 0;
	if ((rc = try(t, addr, val, vsz, matched, msz)) != 0)
		return rc;
	if (at == NULL)
		return 0;
	if ((size_t)(at - addr) + 2 > sizeof key)
		return 0;
	snprintf(key, sizeof key, "%.*s@", (int)(at - addr), addr);
	if ((rc = try(t, key, val, vsz, matched, msz)) != 0)
		return rc;
	key[at - addr] = '\0';	/* the bare name, as /etc/aliases has it */
	if ((rc = try(t, key, val, vsz, matched, msz)) != 0)
		return rc;
	if (fmt_buf(key, sizeof key, "%s", at) < 0)
		return 0;
	if ((rc = try(t, key, val, vsz, matched, msz)) != 0)
		return rc;
	for (d = strchr(at + 1, '.'); d != NULL; d = strchr(d + 1, '.')) {
		if (fmt_buf(key, sizeof key, "@%s", d) < 0)
			continue;
		if ((rc = try(t, key, val, vsz, matched, msz)) != 0)
			return rc;
	}
	return 0;
}

int
table_lookup_domain(struct table *t, const char *domain, char *val,
    size_t vsz)
{
	const char *d;
	int rc;

	if (t->fd < 0)
		return 0;
	if ((rc = table_get(t, domain, val, vsz)) != 0)
		return rc;
	for (d = strchr(domain, '.'); d != NULL; d = strchr(d + 1, '.'))
		if ((rc = table_get(t, d, val, vsz)) != 0)
			return rc;
	return 0;
}

int
table_next(struct table *t, unsigned *pos, char *key, size_t ksz, char *val,
    size_t vsz)
{
	unsigned kl, vl;
	int rc;

	if (t->fd < 0)
		return 0;
	if (*pos == 0)
		cdb_seqinit(pos, &t->cdb);
	if ((rc = cdb_seqnext(pos, &t->cdb)) <= 0)
		return rc < 0 ? -1 : 0;
	kl = cdb_keylen(&t->cdb);
	vl = cdb_datalen(&t->cdb);
	if (kl >= ksz || vl >= vsz)
		return errno = EOVERFLOW, -1;
	if (cdb_read(&t->cdb, key, kl, cdb_keypos(&t->cdb)) < 0 ||
	    cdb_read(&t->cdb, val, vl, cdb_datapos(&t->cdb)) < 0)
		return -1;
	key[kl] = '\0';
	val[vl] = '\0';
	return 1;
}
