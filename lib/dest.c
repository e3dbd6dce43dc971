#include "dest.h"
#include "conf.h"
#include "table.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEST_VAL_MAX 1024

static int
num(const char *v, long max, long *out)
{
	char *end;
	long n;

	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < 1 || n > max)
		return -1;
	*out = n;
	return 0;
}

static int
word(char *w, struct dest_opts *o, char *err, size_t errsz)
{
	char *v = strchr(w, '=');
	long long t;

	if (v == NULL)
		goto bad;
	*v++ = '\0';
	if (strcasecmp(w, "reuse") == 0) {
		if (num(v, 1000000, &o->reuse) < 0)
			goto bad;
	} else if (strcasecmp(w, "concurrency") == 0) {
		if (num(v, 1000, &o->concurrency) < 0)
			goto bad;
	} else if (strcasecmp(w, "lifetime") == 0) {
		if ((t = conf_parse_time(v)) < 0)
			goto bad;
		o->lifetime = t;
	} else if (strcasecmp(w, "queue_first") == 0) {
		if (strcasecmp(v, "yes") == 0)
			o->queue_first = 1;
		else if (strcasecmp(v, "no") == 0)
			o->queue_first = 0;
		else
			goto bad;
	} else {
		snprintf(err, errsz, "unknown option \"%s\"", w);
		return -1;
	}
	return 0;
bad:
	if (v != NULL)
		v[-1] = '=';
	snprintf(err, errsz, "malformed option \"%s\"", w);
	return -1;
}

int
dest_parse(const char *text, struct dest_opts *o, char *err, size_t errsz)
{
	char buf[DEST_VAL_MAX], *w, *save = NULL;

	if (strlen(text) >= sizeof buf) {
		snprintf(err, errsz, "options too long");
		return -1;
	}
	strcpy(buf, text);
	for (w = strtok_r(buf, " \t,", &save); w != NULL;
	    w = strtok_r(NULL, " \t,", &save))
		if (word(w, o, err, errsz) < 0)
			return -1;
	return 0;
}

int
dest_lookup(const char *name, struct dest_opts *o, char *err, size_t errsz)
{
	static struct table t;
	static int opened;
	char val[DEST_VAL_MAX];
	int rc;

	if (!opened) {
		if (table_open(&t, "smtp_dest") < 0) {
			int e = errno;

			snprintf(err, errsz, "unable to read table %s: %s", t.path,
			    strerror(e));
			return errno = e, -1;
		}
		opened = 1;
	}
	rc = table_lookup_domain(&t, name, val, sizeof val);
	if (rc < 0) {
		int e = errno == EINVAL ? EIO : errno;

		snprintf(err, errsz, "unable to read table %s: lookup of %s failed",
		    t.path, name);
		return errno = e, -1;
	}
	if (rc == 0)
		return 0;
	if (dest_parse(val, o, err, errsz) < 0)
		return errno = EINVAL, -1;
	return 1;
}
