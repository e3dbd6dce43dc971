/*
 * Fuzz target: the importers of sluice-import (bin/import/), each on a
 * spool made of the input.  The first octet picks the format (and, for
 * mbox and Maildir, whether -r names the recipient); the rest is
 *   mbox:     the mbox file;
 *   eml:      one .eml file of a drop folder;
 *   Maildir:  one message in new/;
 *   SMTPSERV: the .WRK file, a NUL, then the .TXT (no NUL: no .TXT).
 * The formats' own functions run as sluice-import runs them, with the
 * output held (lib/hold) and what is malformed moved aside; both are
 * emptied after each input.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "envelope.h"
#include "fuzz.h"
#include "import.h"
#include "log.h"
#include "header.h"

struct importer imp;

static char root[4096], work[4200], conf[4200], bad[4300], src[4300];
static int devnull = -1;

static void
put(const char *path, const uint8_t *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || write_all(fd, p, n) < 0 || close(fd) < 0)
		fuzz_fail(path);
}

static void
dir(const char *path)
{
	if (mkdir(path, 0700) < 0)
		fuzz_fail(path);
}

static void
setup(void)
{
	static const char *rcpt = "rcpt@example.org";

	snprintf(root, sizeof root, "%s", fuzz_tmpdir());
	snprintf(conf, sizeof conf, "%s/conf", root);
	snprintf(work, sizeof work, "%s/work", root);
	snprintf(bad, sizeof bad, "%s/malformed", work);
	snprintf(src, sizeof src, "%s/src", work);
	/* No configuration: the defaults, whatever the machine has. */
	dir(conf);
	dir(work);
	if (setenv("SLUICE_CONF", conf, 1) < 0)
		fuzz_fail("setenv");
	log_name("sluice-import");
	envelope_init();
	hold_init(&imp.out);
	if (header_init(&imp.head) < 0)	/* as sluice-import's main */
		fuzz_fail("out of memory");
	if (bodyfile_open(&imp.body, root) < 0 ||
	    (devnull = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0)
		fuzz_fail("spool");
	imp.baddir = bad;
	imp.rflags = &rcpt;
}

/* The output and the malformed folder, emptied for the next input. */
static void
reset(void)
{
	hold_commit(&imp.out, devnull);
	imp.out.w.out.len = 0;
	imp.out.w.out.total = 0;
	if (ftruncate(imp.out.fd, 0) < 0 || lseek(imp.out.fd, 0, SEEK_SET) < 0)
		fuzz_fail("hold");
	done_remove();
	fuzz_rm_contents(work);
	imp.nrflags = 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char p[4400];
	const uint8_t *nul;

	if (root[0] == '\0')
		setup();
	if (size == 0)
		return 0;
	imp.nrflags = (data[0] & 0x10) ? 1 : 0;
	switch (data[0] & 3) {
	case 0:
		put(src, data + 1, size - 1);
		import_mbox(src);
		break;
	case 1:
		dir(src);
		snprintf(p, sizeof p, "%s/1.eml", src);
		put(p, data + 1, size - 1);
		import_eml(src);
		break;
	case 2:
		dir(src);
		snprintf(p, sizeof p, "%s/new", src);
		dir(p);
		snprintf(p, sizeof p, "%s/cur", src);
		dir(p);
		snprintf(p, sizeof p, "%s/new/1.host", src);
		put(p, data + 1, size - 1);
		import_maildir(src);
		break;
	case 3:
		dir(src);
		nul = memchr(data + 1, '\0', size - 1);
		snprintf(p, sizeof p, "%s/1.WRK", src);
		put(p, data + 1, nul ? (size_t)(nul - data - 1) : size - 1);
		if (nul != NULL) {
			snprintf(p, sizeof p, "%s/1.TXT", src);
			put(p, nul + 1, size - (size_t)(nul + 1 - data));
		}
		import_smtpserv(src);
		break;
	}
	reset();
	return 0;
}
