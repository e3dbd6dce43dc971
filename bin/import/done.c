/*
 * done: the sources to remove (with -d) once the output is safe, and what
 * each was when it was read, so that one that changed meanwhile (mail
 * appended to a live mbox, a file replaced) is left in place.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "handoff.h"
#include "import.h"
#include "log.h"

struct done_id {
	dev_t dev;
	ino_t ino;
	off_t size;		/* -1: gone already, nothing to remove */
};

static struct {
	char **path;
	struct done_id *id;
	size_t n, alloc;
} done;

static void
done_grow(void)
{
	size_t n = done.alloc ? done.alloc * 2 : 64;
	char **p = realloc(done.path, n * sizeof *p);
	struct done_id *q = realloc(done.id, n * sizeof *q);

	if (p != NULL)
		done.path = p;
	if (q != NULL)
		done.id = q;
	if (p == NULL || q == NULL)
		die_nomem();
	done.alloc = n;
}

/* read_size: the octets imported from it, or -1 for "its size now". */
void
done_add_read(const char *path, long long read_size)
{
	struct done_id *d;
	struct stat st;

	if (done.n == done.alloc)
		done_grow();
	d = &done.id[done.n];
	memset(d, 0, sizeof *d);
	if (stat(path, &st) == 0) {
		d->dev = st.st_dev;
		d->ino = st.st_ino;
		d->size = read_size >= 0 ? (off_t)read_size : st.st_size;
	} else
		d->size = -1;
	if ((done.path[done.n++] = strdup(path)) == NULL)
		die_nomem();
}

void
done_add(const char *path)
{
	done_add_read(path, -1);
}

/* Whether path i is the last of its folder in the list. */
static int
done_last_in_folder(size_t i)
{
	const char *a = done.path[i], *b;
	size_t k = (size_t)(bad_base_name(a) - a);

	if (i + 1 == done.n)
		return 1;
	b = done.path[i + 1];
	return (size_t)(bad_base_name(b) - b) != k || strncmp(a, b, k) != 0;
}

void
done_remove(void)
{
	size_t i;

	for (i = 0; imp.remove && i < done.n; i++) {
		const char *p = done.path[i];
		struct stat st;

		if (lstat(p, &st) == 0 && (st.st_dev != done.id[i].dev ||
		    st.st_ino != done.id[i].ino || st.st_size != done.id[i].size)) {
			log_warn("source=%s changed while it was imported: left in place",
			    p);
			continue;
		}
		if (unlink(p) < 0 && errno != ENOENT)
			die_sys("unable to remove %s", p);
		/* Sync each folder once, after its last removal. */
		if (done_last_in_folder(i) && handoff_sync_dir(AT_FDCWD, p) < 0)
			die_sys("unable to sync the folder of %s", p);
	}
	for (i = 0; i < done.n; i++)
		free(done.path[i]);
	free(done.id);
	free(done.path);
	memset(&done, 0, sizeof done);
}
