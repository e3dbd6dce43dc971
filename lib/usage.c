#include "usage.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
usage_help(int argc, char **argv, const char *text)
{
	if (argc < 2 || strcmp(argv[1], "--help") != 0)
		return;
	fputs(text, stdout);
	exit(fflush(stdout) == 0 && !ferror(stdout) ? EXIT_OK : EXIT_TEMP);
}

void
usage_die(const char *text, const char *why)
{
	if (why != NULL)
		fprintf(stderr, "%s: %s\n", log_prog, why);
	fputs(text, stderr);
	exit(EXIT_PERM);
}

void
usage_none(int argc, char **argv, const char *text)
{
	usage_help(argc, argv, text);
	if (argc > 1)
		usage_die(text, "no arguments are taken");
}
