/*
 * The refusal of a listed client, in SMTP so that it sees a proper reply
 * and its bounce carries the list's reason (RFC 5321 3.1): a permanent
 * refusal is the greeting 554, then 503 to every command but QUIT until
 * the client quits, makes too many commands or takes too long; a
 * temporary one is 421 (closing) as the greeting.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "dnsbl.h"
#include "log.h"

#define REFUSE_COMMANDS 10	/* answered before hanging up */
#define REFUSE_SECONDS 30	/* the whole refusal session */
#define LINE_MAX_SMTP 1000	/* longer lines are read and dropped */

static void
reply(const char *code, const char *words)
{
	char buf[512];
	int n = snprintf(buf, sizeof buf, "%s %s\r\n", code, words);

	if (n < 0 || (size_t)n >= sizeof buf) {
		n = (int)sizeof buf - 1;
		memcpy(buf + n - 2, "\r\n", 2);
	}
	if (write_all(1, buf, (size_t)n) < 0)
		exit(EXIT_TEMP);
}

/* What the client sent and has not been read as a line yet. */
struct input {
	char in[4096];
	size_t have;
};

/*
 * The next command line into line (cut at LINE_MAX_SMTP, the rest of it
 * dropped), waiting no later than end: 1, or 0 at the end of input or time.
 */
static int
next_line(struct input *b, char *line, size_t size, time_t end)
{
	char *in = b->in;
	size_t len = 0, have = b->have;
	char *nl;

	for (;;) {
		struct pollfd p = { .fd = 0, .events = POLLIN };
		time_t left = end - time(NULL);
		ssize_t r;

		while ((nl = memchr(in, '\n', have)) != NULL || have > 0) {
			size_t k = nl ? (size_t)(nl - in) : have;
			size_t take = k < size - 1 - len ? k : size - 1 - len;

			memcpy(line + len, in, take);
			len += take;
			memmove(in, in + k + (nl != NULL), have - k - (nl != NULL));
			have -= k + (nl != NULL);
			b->have = have;
			if (nl != NULL) {
				line[len] = '\0';
				if (len > 0 && line[len - 1] == '\r')
					line[len - 1] = '\0';
				return 1;
			}
		}
		if (left <= 0 || poll(&p, 1, (int)left * 1000) <= 0)
			return 0;
		if ((r = read(0, in, sizeof b->in)) <= 0)
			return 0;
		b->have = have = (size_t)r;
	}
}

void
dnsbl_refuse(int temporary, const char *words)
{
	char line[LINE_MAX_SMTP + 1], text[400];
	time_t end = time(NULL) + REFUSE_SECONDS;
	struct input b = { .have = 0 };
	int i;

	if (temporary) {
		snprintf(text, sizeof text, "4.7.1 %s", words);
		reply("421", text);
		exit(EXIT_OK);
	}
	snprintf(text, sizeof text, "5.7.1 %s", words);
	reply("554", text);
	for (i = 0; i < REFUSE_COMMANDS && next_line(&b, line, sizeof line, end); i++) {
		if (strncasecmp(line, "QUIT", 4) == 0 && (line[4] == '\0' || line[4] == ' ')) {
			reply("221", "2.0.0 Bye");
			exit(EXIT_OK);
		}
		reply("503", text);
	}
	exit(EXIT_TEMP);
}
