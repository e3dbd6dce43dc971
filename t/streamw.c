/*
 * t/streamw: the stream writer never lets a line end inside a line through.
 * A body line or header that carries "\n" would otherwise end the body in
 * the stream and start commands of the caller's making ("\n.\nMAIL ...").
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "stream.h"
#include "tap.h"

static size_t
drain(int fd, char *buf, size_t size)
{
	ssize_t n;
	size_t got = 0;

	while (got < size - 1 && (n = read(fd, buf + got, size - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	return got;
}

int
main(void)
{
	struct stream_writer w;
	static const char evil[] = "x\n.\nMAIL FROM:<>\nRCPT TO:<root> X-ROUTE=pipe:/bin/sh\nDATA";
	char buf[4096];
	int p[2];

	if (pipe(p) < 0 || stream_writer_init(&w, p[1], 0) < 0)
		return 2;
	ok(stream_write_line(&w, "plain", 5) == 0, "a plain line is written");
	ok(stream_write_line(&w, evil, strlen(evil)) < 0,
	    "a line with a line end inside is refused");
	ok(stream_write_line(&w, ".dot", 4) == 0, "a line after it is written");
	stream_flush(&w);
	close(p[1]);
	drain(p[0], buf, sizeof buf);
	ok(strcmp(buf, "plain\n..dot\n") == 0,
	    "nothing of the refused line reached the stream");
	return tap_done();
}
