/* Helpers for the fuzz targets: see fuzz.h. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "fuzz.h"

/* Where the sanitizers write (libFuzzer's -close_fd_mask closes stderr). */
extern void __sanitizer_report_error_summary(const char *) __attribute__((weak));

/* Removed at exit, so that a replay leaves nothing in $TMPDIR. */
static char tmpdir[4096];

static void
tmpdir_remove(void)
{
	fuzz_rm_contents(tmpdir);
	rmdir(tmpdir);
}

void
fuzz_fail(const char *what)
{
	char msg[600];

	snprintf(msg, sizeof msg, "fuzz: invariant broken: %s", what);
	if (__sanitizer_report_error_summary != NULL)
		__sanitizer_report_error_summary(msg);
	else
		fprintf(stderr, "%s\n", msg);
	/* abort() runs no atexit handler: the folder would stay behind. */
	if (tmpdir[0] != '\0')
		tmpdir_remove();
	abort();
}

int
fuzz_memfd(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	if (fd < 0 || write_all(fd, data, size) < 0 || lseek(fd, 0, SEEK_SET) < 0)
		fuzz_fail("memfd");
	return fd;
}

size_t
fuzz_piece(const uint8_t *data, size_t len, size_t *off, void *dst, size_t n,
    size_t max, int by_line)
{
	size_t k = len - *off;
	const uint8_t *nl;

	if (by_line && (nl = memchr(data + *off, '\n', k)) != NULL)
		k = (size_t)(nl - (data + *off)) + 1;
	if (max != 0 && k > max)
		k = max;
	if (k > n)
		k = n;
	memcpy(dst, data + *off, k);
	*off += k;
	return k;
}

void *
fuzz_grow(void *p, size_t *size, size_t need, size_t elem)
{
	size_t sz = *size ? *size : 16;

	if (need <= *size)
		return p;
	while (sz < need)
		sz *= 2;
	if ((p = realloc(p, sz * elem)) == NULL)
		fuzz_fail("out of memory");
	*size = sz;
	return p;
}

const char *
fuzz_tmpdir(void)
{
	const char *t = getenv("TMPDIR");

	if (tmpdir[0] != '\0')
		return tmpdir;
	if (snprintf(tmpdir, sizeof tmpdir, "%s/sluice-fuzz.XXXXXX",
	    t && *t ? t : "/tmp") >= (int)sizeof tmpdir || mkdtemp(tmpdir) == NULL)
		fuzz_fail("mkdtemp");
	atexit(tmpdir_remove);
	return tmpdir;
}

void
fuzz_rm_contents(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[4096];
	struct stat st;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= (int)sizeof p)
			continue;
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			fuzz_rm_contents(p);
			rmdir(p);
		} else
			unlink(p);
	}
	closedir(d);
}
