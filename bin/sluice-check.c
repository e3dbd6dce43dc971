/*
 * sluice-check: the configuration check (Postfix's `postfix check`): every
 * setting name known and every value valid (lib/settings.h), every table
 * compiles and its .cdb is not older than its text, passwords are not
 * readable by others, no table or folder is writable by others, and every
 * file, folder, user and stage the settings name exists.  Reports every
 * problem, one a line; exit 100 if there is an error.  See sluice-check(8).
 */
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "prog.h"
#include "settings.h"
#include "bodyfile.h"
#include "table.h"
#include "usage.h"

static const char usage_text[] =
    "usage: sluice-check [-C confdir]\n"
    "       sluice-check --help\n"
    "See sluice-check(8).\n";

/* The tables sluice knows; those holding passwords must not be readable by others. */
static const struct {
	const char *name;
	int secret;
} tables[] = {
	{ "config", 0 }, { "domains", 0 }, { "users", 0 }, { "access", 0 },
	{ "aliases", 0 }, { "routes", 0 }, { "smtp_dest", 0 },
	{ "smtp_hosts", 0 }, { "smtp_tls", 0 }, { "bsmtp_tunnels", 0 },
	{ "smtp_auth", 1 }, { "bsmtp_senders", 1 }, { "pop3_profiles", 1 },
};

static unsigned long nerr, nwarn;

static void __attribute__((format(printf, 2, 3)))
report(int error, const char *fmt, ...)
{
	va_list ap;

	printf("sluice-check: %s: ", error ? "error" : "warning");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (error)
		nerr++;
	else
		nwarn++;
}

/* One line of the config text: "name value"; continuation lines were joined. */
static void
config_entry(const char *file, unsigned long line, char *text)
{
	char *v = text + strcspn(text, " \t");
	const char *err;

	if (*v != '\0') {
		*v++ = '\0';
		v += strspn(v, " \t");
	}
	for (char *p = text; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	if (settings_check_line(text, v, &err) < 0)
		report(1, "%s:%lu: %s", file, line, err);
}

/* The config text, as sluice-mkcdb reads it, every entry checked. */
static void
check_config_text(const char *file)
{
	char buf[8192], cur[8192] = "";
	unsigned long n = 0, at = 0;
	FILE *f = fopen(file, "r");

	if (f == NULL)
		return;
	while (fgets(buf, sizeof buf, f) != NULL) {
		size_t len = strcspn(buf, "\r\n");

		n++;
		buf[len] = '\0';
		while (len > 0 && (buf[len - 1] == ' ' || buf[len - 1] == '\t'))
			buf[--len] = '\0';
		if (buf[strspn(buf, " \t")] == '\0' || buf[strspn(buf, " \t")] == '#')
			continue;
		if ((buf[0] == ' ' || buf[0] == '\t') && at > 0) {
			snprintf(cur + strlen(cur), sizeof cur - strlen(cur), " %s",
			    buf + strspn(buf, " \t"));
			continue;
		}
		if (at > 0)
			config_entry(file, at, cur);
		snprintf(cur, sizeof cur, "%s", buf);
		at = n;
	}
	if (at > 0)
		config_entry(file, at, cur);
	fclose(f);
}

/*
 * Compile a table's text into a scratch file, as sluice-mkcdb would (the
 * -c check misses what only the compile finds, duplicate keys), and
 * report what it says; settings are left to check_config_text.
 */
static void
check_compiles(const char *src)
{
	char mkcdb[4096], out[4096], line[1024];
	char *av[] = { mkcdb, "-o", out, (char *)src, NULL };
	int p[2], st, said = 0;
	FILE *f;
	pid_t pid;

	if (prog_sibling("sluice-mkcdb", mkcdb, sizeof mkcdb) != 0 &&
	    prog_path("sluice-mkcdb", mkcdb, sizeof mkcdb) != 0) {
		report(0, "sluice-mkcdb not found: %s not compiled to check it", src);
		return;
	}
	snprintf(out, sizeof out, "%s/sluice-check.%ld.cdb", bodyfile_tmpdir(),
	    (long)getpid());
	if (pipe(p) < 0 || (pid = fork()) < 0)
		die_sys("unable to run sluice-mkcdb");
	if (pid == 0) {
		dup2(p[1], 2);
		close(p[0]);
		execv(mkcdb, av);
		_exit(EXIT_TEMP);
	}
	close(p[1]);
	if ((f = fdopen(p[0], "r")) == NULL)
		die_nomem();
	while (fgets(line, sizeof line, f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strstr(line, ": setting ") == NULL &&
		    strstr(line, ": unknown setting ") == NULL)
			report(1, "%s", line);
		said = 1;
	}
	fclose(f);
	st = prog_wait(pid);
	unlink(out);
	if (st != 0 && !said)
		report(1, "%s does not compile (sluice-mkcdb exit %d)", src, st);
}

/* Modes: nobody else writes a table; nobody else reads a password. */
static void
check_mode(const char *path, const struct stat *st, int secret)
{
	if (st->st_mode & S_IWOTH)
		report(1, "%s is writable by every local user (mode %04o)", path,
		    (unsigned)(st->st_mode & 07777));
	else if ((st->st_mode & S_IWGRP) && st->st_uid == 0 && st->st_gid != 0)
		report(0, "%s is writable by group %lu (mode %04o)", path,
		    (unsigned long)st->st_gid, (unsigned)(st->st_mode & 07777));
	if (secret && (st->st_mode & S_IROTH))
		report(1, "%s holds passwords and is readable by every local user "
		    "(mode %04o): chmod o-r", path, (unsigned)(st->st_mode & 07777));
}

static void
check_table(const char *dir, const char *name, int secret)
{
	char src[4096], cdb[4200];
	struct stat s, c;
	int have_src, have_cdb;

	snprintf(src, sizeof src, "%s/%s", dir, name);
	snprintf(cdb, sizeof cdb, "%s.cdb", src);
	have_src = stat(src, &s) == 0;
	have_cdb = stat(cdb, &c) == 0;
	if (have_src) {
		check_mode(src, &s, secret);
		check_compiles(src);
		if (!have_cdb)
			report(1, "%s is not compiled: run sluice-mkcdb %s", src, src);
		else if (s.st_mtim.tv_sec > c.st_mtim.tv_sec ||
		    (s.st_mtim.tv_sec == c.st_mtim.tv_sec &&
		    s.st_mtim.tv_nsec > c.st_mtim.tv_nsec))
			report(1, "%s is newer than %s: the change is not in force; "
			    "run sluice-mkcdb %s", src, cdb, src);
	}
	if (have_cdb)
		check_mode(cdb, &c, secret);
}

/* A folder a setting names: there, a folder, not writable by others. */
static void
check_dir(const char *setting, const char *path, int must)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		report(must, "%s %s: %s", setting, path, strerror(errno));
		return;
	}
	if (!S_ISDIR(st.st_mode))
		report(1, "%s %s: not a folder", setting, path);
	else if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX))
		report(1, "%s %s is writable by every local user (mode %04o)", setting,
		    path, (unsigned)(st.st_mode & 07777));
}

static void
check_file(const char *setting, const char *path)
{
	if (*path != '\0' && access(path, F_OK) < 0)
		report(1, "%s %s: %s", setting, path, strerror(errno));
}

/* Each stage of the chain can be found, as the runner finds it. */
static void
check_chain(void)
{
	char buf[4096], path[4096], **argv[17], *words[17][32];
	int i, n;

	snprintf(buf, sizeof buf, "%s", conf_get("chain",
	    "sluice-envelope | sluice-local | sluice-retry"));
	for (i = 0; i < 17; i++)
		argv[i] = words[i];
	if ((n = prog_split_chain(buf, argv, 16, 32)) <= 0)
		return;	/* reported with the settings */
	for (i = 0; i < n; i++)
		if (prog_path(argv[i][0], path, sizeof path) < 0)
			report(1, "chain: stage %s not found", argv[i][0]);
}

/* The files, folders and user the settings name. */
static void
check_named(void)
{
	const char *u = conf_get("default_privs", "nobody"), *v;

	check_dir("spool", conf_spool(), 1);
	check_dir("mailroot", conf_get("mailroot", "/var/mail/sluice"), 1);
	if ((v = conf_get("bsmtp_dir", NULL)) != NULL)
		check_dir("bsmtp_dir", v, 0);
	if ((v = conf_get("pop3_dir", NULL)) != NULL)
		check_dir("pop3_dir", v, 0);
	check_file("smtp_tls_ca", conf_get("smtp_tls_ca", ""));
	if (strcmp(conf_get("log", "auto"), "stderr") != 0 &&
	    access(conf_get("syslog_socket", "/dev/log"), F_OK) < 0)
		report(0, "syslog_socket %s: %s: log lines sent to syslog are lost",
		    conf_get("syslog_socket", "/dev/log"), strerror(errno));
	if (getpwnam(u) == NULL)
		report(1, "default_privs %s: no such user", u);
	check_chain();
}

int
main(int argc, char **argv)
{
	const char *dir;
	char path[4200];
	struct stat st;
	size_t i;
	int c;

	log_name(argv[0]);
	usage_help(argc, argv, usage_text);
	while ((c = getopt(argc, argv, "C:")) != -1) {
		if (c != 'C')
			usage_die(usage_text, NULL);
		if (setenv("SLUICE_CONF", optarg, 1) < 0)
			die_nomem();
	}
	if (optind != argc)
		usage_die(usage_text, "no arguments after the options");
	conf_no_check();
	dir = conf_dir();
	if (stat(dir, &st) < 0)
		die(EXIT_PERM, "the configuration folder %s: %s", dir, strerror(errno));
	check_dir("configuration folder", dir, 1);
	snprintf(path, sizeof path, "%s/config", dir);
	check_config_text(path);
	for (i = 0; i < sizeof tables / sizeof tables[0]; i++)
		check_table(dir, tables[i].name, tables[i].secret);
	check_named();
	printf("sluice-check: %s: %lu error%s, %lu warning%s\n", dir, nerr,
	    nerr == 1 ? "" : "s", nwarn, nwarn == 1 ? "" : "s");
	if (fflush(stdout) != 0 || ferror(stdout))
		die_sys("unable to write");
	return nerr ? EXIT_PERM : 0;
}
