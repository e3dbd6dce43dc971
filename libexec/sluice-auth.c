/*
 * sluice-auth: a checkpassword-compatible program (the qmail convention)
 * that checks a user's password against table smtpd_passwords, which
 * maps a user to a crypt(3) hash ($6$..., $y$..., $2b$...).  It reads
 * "user\0password\0timestamp\0" on descriptor 3 and exits 0 when the
 * password is right (after running the rest of its arguments, if any, as
 * checkpassword does), 1 when it is not, 111 when it cannot tell.  So
 * libcrypt and the hashes stay out of sluice-smtpd.  See sluice-auth(8).
 */
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "prog.h"
#include "table.h"
#include "usage.h"

#define INPUT_MAX 2048

/*
 * A hash that matches nothing, so that an unknown user costs the same
 * crypt(3) as a known one and cannot be told apart by the time taken.
 */
static const char dummy[] =
    "$6$sluicesluice$0000000000000000000000000000000000000000000000000000000000000000000000000000000000000";

/* "user\0password\0timestamp\0" from descriptor 3. */
static void
read_input(char *buf, size_t size, const char **user, const char **pass)
{
	size_t n = 0, ul;
	ssize_t k;

	while (n < size && (k = read(3, buf + n, size - n)) != 0) {
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			die(2, "unable to read descriptor 3: %s", strerror(errno));
		n += (size_t)k;
	}
	if (n == size || memchr(buf, '\0', n) == NULL)
		die(2, "descriptor 3 does not hold user NUL password NUL");
	*user = buf;
	ul = strlen(buf);
	if (memchr(buf + ul + 1, '\0', n - ul - 1) == NULL)
		die(2, "descriptor 3 does not hold user NUL password NUL");
	*pass = buf + ul + 1;
}

/*
 * Hashes are secrets: the table, and its text beside it, must be
 * readable by their owner alone (the spool's owner, who runs us).
 */
static void
check_private(const char *cdb)
{
	char text[4096];
	size_t n = strlen(cdb);
	struct stat st;

	if (stat(cdb, &st) == 0 && (st.st_mode & 077) != 0)
		die(EXIT_TEMP, "%s can be read or written by others than its owner: "
		    "refusing it (chmod 600 it)", cdb);
	if (n > 4 && n - 4 < sizeof text && strcmp(cdb + n - 4, ".cdb") == 0) {
		memcpy(text, cdb, n - 4);
		text[n - 4] = '\0';
		if (stat(text, &st) == 0 && (st.st_mode & 077) != 0)
			die(EXIT_TEMP, "%s can be read or written by others than its "
			    "owner: refusing it (chmod 600 it)", text);
	}
}

/* Equal strings, compared in a time that does not depend on where they differ. */
static int
same(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	unsigned char d = la != lb;

	for (i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

int
main(int argc, char **argv)
{
	static char in[INPUT_MAX], hash[1024];
	struct crypt_data cd;
	const char *user, *pass, *h;
	struct table t;
	int rc, ok;

	static const char usage_text[] =
	    "usage: sluice-auth [program [arg...]] 3< user-NUL-password-NUL-timestamp-NUL\n"
	    "See sluice-auth(8).\n";

	usage_help(argc, argv, usage_text);
	log_init(argv[0]);
	if (argc > 1 && argv[1][0] == '-')
		usage_die(usage_text, NULL);
	read_input(in, sizeof in, &user, &pass);
	if (table_open(&t, "smtpd_passwords") < 0)
		die(EXIT_TEMP, "unable to open table smtpd_passwords: %s", strerror(errno));
	check_private(t.path);
	rc = table_get(&t, user, hash, sizeof hash);
	if (rc < 0)
		die(EXIT_TEMP, "unable to read table smtpd_passwords: %s", strerror(errno));
	memset(&cd, 0, sizeof cd);
	h = crypt_r(pass, rc == 1 ? hash : dummy, &cd);
	ok = rc == 1 && h != NULL && h[0] != '*' && same(h, hash);
	explicit_bzero(in, sizeof in);
	explicit_bzero(&cd, sizeof cd);
	if (!ok)
		return 1;
	if (argc > 1) {
		prog_exec(argv + 1);
		die_sys("unable to run %s", argv[1]);
	}
	return 0;
}
