/*
 * Replay files through a fuzz target without libFuzzer, for make check:
 * every file of a corpus, crashes found once among them, is a regression
 * test.  (LLVM's StandaloneFuzzTargetMain does the same.)
 *
 *   t/fuzz/build/replay-NAME FILE|DIR...
 *
 * Exits 0 when every input ran; a crash or a sanitizer report ends it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

static unsigned long nfiles;

static void
run_file(const char *path)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	ssize_t k;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		exit(111);
	}
	/* An exact-size copy: reads past the input are caught by ASan. */
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		exit(111);
	while (got < (size_t)st.st_size &&
	    (k = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)k;
	close(fd);
	LLVMFuzzerTestOneInput(buf, got);
	free(buf);
	nfiles++;
}

static int
visible(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static void
run_path(const char *path)
{
	struct dirent **ents;
	struct stat st;
	char p[4096];
	int i, n;

	if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode)) {
		run_file(path);
		return;
	}
	if ((n = scandir(path, &ents, visible, alphasort)) < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		exit(111);
	}
	for (i = 0; i < n; i++) {
		if (snprintf(p, sizeof p, "%s/%s", path, ents[i]->d_name) <
		    (int)sizeof p)
			run_path(p);
		free(ents[i]);
	}
	free(ents);
}

int
main(int argc, char **argv)
{
	int i;

	LLVMFuzzerTestOneInput((const uint8_t *)"", 0);
	for (i = 1; i < argc; i++)
		run_path(argv[i]);
	fprintf(stderr, "replay: %lu inputs\n", nfiles);
	return 0;
}
