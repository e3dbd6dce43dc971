#ifndef USAGE_H
#define USAGE_H

/*
 * Usage, alike in every program: `prog --help` prints the usage on
 * standard output and exits 0; bad usage prints it on standard error and
 * exits 100 (EXIT_PERM: the same command will fail again).  text is the
 * whole usage, "usage: prog ..." lines ending in "\n", with a last line
 * naming the manual page.
 */

/* --help as the first argument: print text and exit 0; else return. */
void usage_help(int argc, char **argv, const char *text);
/* A program that takes no arguments (a filter): --help, else any is bad usage. */
void usage_none(int argc, char **argv, const char *text);
/* Print "prog: why" (when why is not NULL) and text on stderr, exit 100. */
void usage_die(const char *text, const char *why)
	__attribute__((noreturn));

#endif
