#ifndef PROG_H
#define PROG_H

/*
 * Finding and running the other sluice programs without a shell.
 * A name with a '/' is used as it is; otherwise it is looked for in
 * $SLUICE_LIBEXEC, then in the compiled-in libexec folder, then in PATH,
 * then in the compiled-in bin folder.
 */

#include <stddef.h>
#include <sys/types.h>

/* Resolve name into buf (absolute or as given); 0, or -1 if not found. */
int prog_path(const char *name, char *buf, size_t size);
/*
 * name in the folder of the running program (/proc/self/exe, links
 * resolved) into buf: how a program of bin/ finds another installed
 * beside it rather than another MTA's of the same name on PATH.  0; -1 if
 * there is none; -2 if it is this very program (a link to it).
 */
int prog_sibling(const char *name, char *buf, size_t size);
/* execv the resolved program; returns only on failure. */
void prog_exec(char *const argv[]);
/*
 * Split a chain "a -x | b | c y" into argv arrays on whitespace and '|'.
 * No quoting, no globbing, no shell.  Returns the number of stages, or -1
 * if there are more than max stages, more than maxargs words in one, or an
 * empty stage.  The argv arrays point into buf, which is modified.
 */
int prog_split_chain(char *buf, char **argv[], size_t max, size_t maxargs);
/* Wait for pid; returns the sluice exit status (signal => 111). */
int prog_wait(pid_t pid);

#endif
