/*
 * The commands and files of the aliases table (X-ROUTE=pipe: and file:):
 * a command run with execve, no shell, a fixed environment, within
 * command_time_limit, its exit status deciding; a file appended to as an
 * mbox (or a Maildir).  Both as the user of this process: sluice-local's,
 * or default_privs in a child of the privileged part (local_priv.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "route.h"
#include "sluice-local.h"
#include "xtext.h"

#define ARGV_MAX 64	/* words of a pipe command */
#define ENV_VAL_MAX 600	/* an environment value given to a command */
#define ENV_MAX 8	/* variables given to a command, with the NULL */

/*
 * file:/path appends to an mbox, file:/path/ writes a Maildir, and
 * file:/dev/null discards, as the aliases of sendmail and Postfix do.
 * As this process's user: default_privs when sluice-local was started as
 * root (local_priv.c runs this in a child that has become it).
 */
void
local_pipe_file(struct local *L, const char *path, const struct copy *c,
    struct result *res)
{
	if (path[0] != '/') {
		local_result_set(res, 4, "4.3.5", "file route without an absolute "
		    "path: %.200s", path);
		return local_result_public(res, "file route without an absolute path");
	}
	if (strcmp(path, "/dev/null") == 0) {
		local_result_set(res, 0, "2.0.0", "discarded (/dev/null)");
		return local_result_public(res, "discarded");
	}
	local_box_deliver(L, path, c, BOX_STRICT | (L->sync_now ? BOX_NOW : 0),
	    res);
}

/* This process's user, for the command's LOGNAME and USER. */
static void
self(struct who *u)
{
	struct passwd *pw;

	memset(u, 0, sizeof *u);
	u->uid = geteuid();
	u->gid = getegid();
	if ((pw = getpwuid(u->uid)) != NULL && strlen(pw->pw_name) < sizeof u->name)
		snprintf(u->name, sizeof u->name, "%s", pw->pw_name);
	else
		snprintf(u->name, sizeof u->name, "%lu", (unsigned long)u->uid);
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* NAME=value into buf, control characters shown as '?'. */
static char *
env_set(char *buf, size_t size, const char *name, const char *val)
{
	size_t i, k = (size_t)snprintf(buf, size, "%s=", name);

	for (i = 0; val[i] != '\0' && k + 1 < size; i++)
		buf[k++] = ((unsigned char)val[i] < 0x20 || val[i] == 0x7f) ? '?' :
		    val[i];
	buf[k] = '\0';
	return buf;
}

/* ORCPT's address: "rfc822;xtext" decoded, other types as written. */
static void
orcpt_addr(const char *orcpt, char *out, size_t size)
{
	const char *semi;

	out[0] = '\0';
	if (orcpt == NULL || (semi = strchr(orcpt, ';')) == NULL)
		return;
	if (strncasecmp(orcpt, "rfc822;", 7) != 0 ||
	    xtext_decode(semi + 1, strlen(semi + 1), out, size) < 0)
		snprintf(out, size, "%s", semi + 1);
}

/*
 * The command's whole environment, as Postfix's local(8) gives it (no
 * more: nothing of ours leaks into it).
 */
static void
pipe_env(const struct copy *c, const struct who *u, char buf[][ENV_VAL_MAX],
    char **env)
{
	char orcpt[STREAM_ORCPT_MAX + 1];
	size_t n = 0;

	env[n] = env_set(buf[n], ENV_VAL_MAX, "PATH", "/usr/bin:/bin"), n++;
	env[n] = env_set(buf[n], ENV_VAL_MAX, "HOME", "/"), n++;
	env[n] = env_set(buf[n], ENV_VAL_MAX, "LOGNAME", u->name), n++;
	env[n] = env_set(buf[n], ENV_VAL_MAX, "USER", u->name), n++;
	env[n] = env_set(buf[n], ENV_VAL_MAX, "SENDER", c->from), n++;
	env[n] = env_set(buf[n], ENV_VAL_MAX, "RECIPIENT", c->rcpt), n++;
	orcpt_addr(c->orcpt, orcpt, sizeof orcpt);
	if (orcpt[0] != '\0')
		env[n] = env_set(buf[n], ENV_VAL_MAX, "ORIGINAL_RECIPIENT", orcpt),
		    n++;
	env[n] = NULL;
}

/* The command's process: stdin, stdout+stderr, a session, "/", exec. */
static void __attribute__((noreturn))
pipe_child(char **argv, char **env, int in, int out)
{
	sigset_t none;
	int fd;

	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(75);
	/* The system call itself: musl (the FAST build) has no wrapper. */
	if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0)
		for (fd = 3; fd < 1024; fd++)
			close(fd);
	/* What we ignore or block is not the command's business. */
	signal(SIGPIPE, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Its own process group, so a time-out kills what it started too. */
	setsid();
	if (chdir("/") < 0) {
		dprintf(2, "unable to change to /: %s\n", strerror(errno));
		_exit(75);
	}
	umask(077);
	execve(argv[0], argv, env);
	/* No path: this is the diagnostic senders see (the log names it). */
	dprintf(2, "unable to run the command: %s\n", strerror(errno));
	_exit(75);
}

/*
 * The feeder's process: the message (Return-Path, Delivered-To, the body
 * with LF line ends) into the command's stdin.  A command that stops
 * reading early is its own business (EPIPE is success, as in Postfix).
 */
static void __attribute__((noreturn))
pipe_feed(struct local *L, int fd, const struct copy *c)
{
	struct wbuf w;

	signal(SIGPIPE, SIG_IGN);
	if (wbuf_init(&w, fd, BUF_SIZE) < 0)
		_exit(1);
	if (local_box_copy(L, &w, c, 0) < 0)
		_exit(errno == EPIPE ? 0 : 1);
	_exit(0);
}

/*
 * Read the command's output until it closes it or the deadline passes,
 * keeping the first OUTPUT_MAX octets.  0 at the end of the output, -1 at
 * the deadline.
 */
static int
pipe_output(int fd, long long deadline, char *out, size_t *nout)
{
	char buf[4096];
	struct pollfd pf;
	ssize_t n;
	long long left;

	*nout = 0;
	for (;;) {
		if ((left = deadline - now_ms()) <= 0)
			return -1;
		pf.fd = fd;
		pf.events = POLLIN;
		if ((n = poll(&pf, 1, left > 1000 ? 1000 : (int)left)) == 0 ||
		    (n < 0 && errno == EINTR))
			continue;
		if (n < 0)
			return 0;
		if ((n = read(fd, buf, sizeof buf)) < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		if (*nout < OUTPUT_MAX) {
			size_t k = (size_t)n < OUTPUT_MAX - *nout ? (size_t)n :
			    OUTPUT_MAX - *nout;

			memcpy(out + *nout, buf, k);
			*nout += k;
		}
	}
}

/* Reap pid by the deadline: 0 with *st set, or -1 when it is still running. */
static int
reap(pid_t pid, long long deadline, int *st)
{
	long ms = 1;
	pid_t p;

	while ((p = waitpid(pid, st, WNOHANG)) == 0 || (p < 0 && errno == EINTR)) {
		struct timespec ts = { 0, ms * 1000000L };

		if (now_ms() >= deadline)
			return -1;
		nanosleep(&ts, NULL);
		if (ms < 100)
			ms *= 2;
	}
	if (p < 0)
		*st = 75 << 8;	/* exit 75, W_EXITCODE (not in musl): lost, not a success */
	return 0;
}

static void
kill_reap(pid_t pid, int group, int *st)
{
	if (group)
		kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, st, 0) < 0 && errno == EINTR)
		;
}

/* The command's output on one line: printable ASCII, runs of space as one. */
static void
flatten(const char *s, size_t n, char *out, size_t size)
{
	size_t i, k = 0;

	for (i = 0; i < n && k + 1 < size; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch <= ' ' || ch >= 0x7f) {
			if (k > 0 && out[k - 1] != ' ')
				out[k++] = ' ';
		} else
			out[k++] = (char)ch;
	}
	while (k > 0 && out[k - 1] == ' ')
		k--;
	out[k] = '\0';
}

/*
 * sysexits.h codes 64..78 as Postfix's sys_exits table reads them:
 * EX_OSERR (71) and EX_TEMPFAIL (75) are temporary, the others permanent.
 */
static const struct {
	const char *status, *text;
} sysexits[] = {
	{ "5.3.0", "command line usage error" },	/* 64 EX_USAGE */
	{ "5.6.0", "data format error" },		/* 65 EX_DATAERR */
	{ "5.3.0", "cannot open input" },		/* 66 EX_NOINPUT */
	{ "5.1.1", "user unknown" },			/* 67 EX_NOUSER */
	{ "5.1.2", "host name unknown" },		/* 68 EX_NOHOST */
	{ "5.3.0", "service unavailable" },		/* 69 EX_UNAVAILABLE */
	{ "5.3.0", "internal software error" },	/* 70 EX_SOFTWARE */
	{ "4.3.0", "system resource problem" },	/* 71 EX_OSERR */
	{ "5.3.0", "critical OS file missing" },	/* 72 EX_OSFILE */
	{ "5.2.0", "can't create user output file" },	/* 73 EX_CANTCREAT */
	{ "5.3.0", "input/output error" },		/* 74 EX_IOERR */
	{ "4.3.0", "temporary failure" },		/* 75 EX_TEMPFAIL */
	{ "5.5.0", "remote error in protocol" },	/* 76 EX_PROTOCOL */
	{ "5.7.0", "permission denied" },		/* 77 EX_NOPERM */
	{ "5.3.5", "local configuration error" },	/* 78 EX_CONFIG */
};

/*
 * What the command's end means for the recipient.  The log's text names
 * the command; the sender's leaves it out, and keeps the command's output.
 */
static void
pipe_result(struct local *L, const char *cmd, int st, int timed_out, int fed,
    const char *out, struct result *res)
{
	const char *sep = out[0] ? ": " : "", *what = "command", *status = "4.3.0";
	char tail[OUTPUT_MAX + 200];	/* after the command's name */
	int e = WIFEXITED(st) ? WEXITSTATUS(st) : -1, code = 4;

	if (timed_out)
		snprintf(tail, sizeof tail, " exceeded the time limit of %llds "
		    "(setting command_time_limit)%s%s", L->time_limit, sep, out);
	else if (WIFSIGNALED(st))
		snprintf(tail, sizeof tail, " killed by signal %d%s%s",
		    WTERMSIG(st), sep, out);
	else if (e < 0)
		snprintf(tail, sizeof tail, " ended oddly%s%s", sep, out);
	else if (e == 0 && fed) {
		what = "delivered to command", status = "2.0.0", code = 0;
		tail[0] = '\0';
	} else if (e == 0) {
		what = "unable to give the message to command";
		snprintf(tail, sizeof tail, "%s%s", sep, out);
	} else if (e >= 64 && e <= 78) {
		status = sysexits[e - 64].status;
		code = status[0] - '0';
		snprintf(tail, sizeof tail, " exited with status %d (%s)%s%s", e,
		    sysexits[e - 64].text, sep, out);
	} else {
		status = "5.3.0", code = 5;
		snprintf(tail, sizeof tail, " exited with status %d%s%s", e, sep,
		    out);
	}
	local_result_set(res, code, status, "%s %s%s", what, cmd, tail);
	local_result_public(res, "%s%s", what, tail);
}

/* Split cmd into argv (words on white space); 0, or -1 with res set. */
static int
pipe_words(const char *cmd, char *words, size_t size, char **argv,
    struct result *res)
{
	char *save = NULL, *w;
	size_t argc = 0;

	snprintf(words, size, "%s", cmd);
	for (w = strtok_r(words, " \t", &save); w != NULL;
	    w = strtok_r(NULL, " \t", &save)) {
		if (argc == ARGV_MAX) {
			local_result_set(res, 4, "4.3.5", "pipe command has more than "
			    "%d words", ARGV_MAX);
			return -1;
		}
		argv[argc++] = w;
	}
	argv[argc] = NULL;
	if (argc == 0 || argv[0][0] != '/') {
		local_result_set(res, 4, "4.3.5", "pipe command is not an absolute "
		    "path: %.200s", cmd);
		local_result_public(res, "pipe command is not an absolute path");
		return -1;
	}
	return 0;
}

/* Wait for the command and its feeder by the deadline; the outcome in res. */
static void
pipe_wait(struct local *L, pid_t pid, pid_t feeder, int out, long long deadline,
    const char *cmd, struct result *res)
{
	char raw[OUTPUT_MAX], text[OUTPUT_MAX + 1];
	size_t nraw = 0;
	int st = 0, fst = 0, timed_out = 0;

	if (pipe_output(out, deadline, raw, &nraw) < 0 || reap(pid, deadline, &st) < 0) {
		timed_out = 1;
		kill_reap(pid, 1, &st);
	}
	close(out);
	/* A leftover of the command may hold its stdin: the deadline holds. */
	if (reap(feeder, deadline, &fst) < 0) {
		timed_out = 1;
		kill_reap(feeder, 0, &fst);
	}
	flatten(raw, nraw, text, sizeof text);
	pipe_result(L, cmd, st, timed_out, WIFEXITED(fst) && WEXITSTATUS(fst) == 0,
	    text, res);
}

/*
 * pipe:/path/to/command args: run it with execve (words split on white
 * space, no shell), the message on its stdin, a fixed environment, within
 * command_time_limit; its exit status decides.  As this process's user:
 * default_privs when sluice-local was started as root (local_priv.c).
 */
void
local_pipe_deliver(struct local *L, const char *cmd, const struct copy *c,
    struct result *res)
{
	static char envbuf[ENV_MAX][ENV_VAL_MAX];
	char words[ROUTE_MAX + 1], *argv[ARGV_MAX + 1], *env[ENV_MAX];
	int in[2], op[2], st = 0;
	long long deadline;
	pid_t pid, feeder;
	struct who u;

	if (pipe_words(cmd, words, sizeof words, argv, res) < 0)
		return;
	self(&u);
	pipe_env(c, &u, envbuf, env);
	if (pipe2(in, O_CLOEXEC) < 0)
		return local_result_sys(res, "unable to make a pipe", argv[0]);
	if (pipe2(op, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return local_result_sys(res, "unable to make a pipe", argv[0]);
	}
	deadline = now_ms() + L->time_limit * 1000;
	if ((pid = fork()) == 0)
		pipe_child(argv, env, in[0], op[1]);
	close(in[0]);
	close(op[1]);
	feeder = pid < 0 ? -1 : fork();
	if (feeder == 0) {
		close(op[0]);
		pipe_feed(L, in[1], c);
	}
	close(in[1]);
	if (pid < 0 || feeder < 0) {
		int e = errno;

		close(op[0]);
		if (pid > 0)
			kill_reap(pid, 1, &st);
		errno = e;
		return local_result_sys(res, "unable to fork", argv[0]);
	}
	pipe_wait(L, pid, feeder, op[0], deadline, argv[0], res);
}
