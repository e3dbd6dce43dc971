/*
 * execbench: the cost of running a program to its exit, as sluice's stages
 * are run: fork, exec, stdin/stdout/stderr on /dev/null (empty input).
 *   execbench RUNS PROG [ARGS...]
 * prints the mean microseconds per run, and exits 1 if any run did not
 * exit (status is not checked: a usage error still measures exec-to-exit).
 * Built and used by t/bench/run.sh; not part of the suite.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct timespec a, b;
	long runs, i;
	int null, st;
	pid_t pid;

	if (argc < 3 || (runs = atol(argv[1])) <= 0) {
		fprintf(stderr, "usage: execbench RUNS PROG [ARGS...]\n");
		return 2;
	}
	if ((null = open("/dev/null", O_RDWR)) < 0)
		return 2;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < runs; i++) {
		if ((pid = fork()) < 0)
			return 2;
		if (pid == 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
			execv(argv[2], argv + 2);
			_exit(127);
		}
		if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st))
			return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.0f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) /
	    1e3 / (double)runs);
	return 0;
}
