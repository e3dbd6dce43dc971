#include "texts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"

/* The contents of path (cached), checked; NULL with err set. */
static const char *
file_get(struct texts *x, const char *name, char *err, size_t errsz)
{
	char path[4096], *buf, *l;
	struct texts_file *f;
	ssize_t k;
	size_t i, n = 0;
	int fd;

	if (snprintf(path, sizeof path, "%s%s%s", name[0] == '/' ? "" : conf_dir(),
	    name[0] == '/' ? "" : "/", name) >= (int)sizeof path)
		return snprintf(err, errsz, "file name too long: %.100s", name), NULL;
	for (i = 0; i < x->nfiles; i++)
		if (strcmp(x->files[i].path, path) == 0)
			return x->files[i].data;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return snprintf(err, errsz, "unable to open %s: %s", path, strerror(errno)), NULL;
	if ((buf = malloc(TEXTS_FILE_MAX + 2)) == NULL)
		die_nomem();
	while ((k = read(fd, buf + n, TEXTS_FILE_MAX + 1 - n)) > 0 && n <= TEXTS_FILE_MAX)
		n += (size_t)k;
	close(fd);
	if (k < 0 || n > TEXTS_FILE_MAX || memchr(buf, '\0', n) != NULL) {
		snprintf(err, errsz, "%s: %s", path, k < 0 ? strerror(errno) : n >
		    TEXTS_FILE_MAX ? "longer than 16k" : "holds a NUL");
		free(buf);
		return NULL;
	}
	/* Lines end with LF; a CR before it goes. */
	for (i = 0, k = 0; i < n; i++)
		if (!(buf[i] == '\r' && i + 1 < n && buf[i + 1] == '\n'))
			buf[k++] = buf[i];
	n = (size_t)k;
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	for (l = buf; l != NULL; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strcspn(l, "\n") > TEXTS_LINE_MAX) {
			snprintf(err, errsz, "%s: a line longer than %d octets", path, TEXTS_LINE_MAX);
			free(buf);
			return NULL;
		}
	if ((f = realloc(x->files, (x->nfiles + 1) * sizeof *f)) == NULL ||
	    (f[x->nfiles].path = strdup(path)) == NULL)
		die_nomem();
	x->files = f;
	f[x->nfiles].data = buf;
	return f[x->nfiles++].data;
}

/* A value "text=FILE html=FILE" or "none" into d. */
static int
parse_value(struct texts *x, const char *v, struct dtext *d, char *err, size_t errsz)
{
	char buf[4096], *w, *save = NULL;

	d->text = d->html = NULL;
	snprintf(buf, sizeof buf, "%s", v);
	for (w = strtok_r(buf, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save)) {
		if (strcmp(w, "none") == 0)
			continue;
		if (strncmp(w, "text=", 5) == 0 && (d->text = file_get(x, w + 5, err, errsz)) != NULL)
			continue;
		if (strncmp(w, "html=", 5) == 0 && (d->html = file_get(x, w + 5, err, errsz)) != NULL)
			continue;
		if (strncmp(w, "text=", 5) != 0 && strncmp(w, "html=", 5) != 0)
			snprintf(err, errsz, "not understood: \"%.100s\" (text=FILE html=FILE, "
			    "or none)", w);
		return -1;
	}
	/* An empty file is no disclaimer. */
	if (d->text != NULL && *d->text == '\0')
		d->text = NULL;
	if (d->html != NULL && *d->html == '\0')
		d->html = NULL;
	return 0;
}

int
texts_load(struct texts *x, char *err, size_t errsz)
{
	static char key[TABLE_KEY_MAX], val[TABLE_VAL_MAX];
	const char *t = conf_get("disclaimer_text", ""), *h = conf_get("disclaimer_html", "");
	char why[400];
	unsigned pos = 0;
	struct cidr_range c;
	int rc;

	memset(x, 0, sizeof *x);
	if ((*t && (x->dflt.text = file_get(x, t, why, sizeof why)) == NULL) ||
	    (*h && (x->dflt.html = file_get(x, h, why, sizeof why)) == NULL))
		return snprintf(err, errsz, "setting disclaimer_%s: %s", x->dflt.text || !*t ?
		    "html" : "text", why), -1;
	if (x->dflt.text != NULL && *x->dflt.text == '\0')
		x->dflt.text = NULL;
	if (x->dflt.html != NULL && *x->dflt.html == '\0')
		x->dflt.html = NULL;
	if (table_open(&x->tab, "disclaimers") < 0)
		return snprintf(err, errsz, "unable to open table disclaimers: %s",
		    strerror(errno)), -1;
	while ((rc = table_next(&x->tab, &pos, key, sizeof key, val, sizeof val)) == 1) {
		struct texts_net *p;

		x->entries++;
		if (cidr_parse(key, &c) < 0)
			continue;	/* an address: looked up per message */
		if ((p = realloc(x->nets, (x->nnets + 1) * sizeof *p)) == NULL)
			die_nomem();
		x->nets = p;
		p[x->nnets].c = c;
		if (parse_value(x, val, &p[x->nnets].d, why, sizeof why) < 0)
			return snprintf(err, errsz, "table disclaimers: %s: %s", key, why), -1;
		x->nnets++;
	}
	if (rc < 0)
		return snprintf(err, errsz, "unable to read table disclaimers: %s",
		    strerror(errno)), -1;
	return 0;
}

int
texts_any(const struct texts *x)
{
	return x->dflt.text || x->dflt.html || x->entries > 0;
}

int
texts_for(struct texts *x, const struct txn *t, const struct dtext **d, char *err,
    size_t errsz)
{
	static char val[TABLE_VAL_MAX];
	const char *addr = t->xf[XF_ADDR];
	const struct texts_net *best = NULL;
	struct cidr_addr a;
	size_t i;
	int rc;

	*d = &x->dflt;
	/* The sender is known: authenticated, or a local user. */
	if (*t->from && ((t->auth != NULL && strcmp(t->auth, "<>") != 0) ||
	    (t->xf[XF_PROTO] && strcasecmp(t->xf[XF_PROTO], "LOCAL") == 0) ||
	    (t->xf[XF_SOURCE] && strcasecmp(t->xf[XF_SOURCE], "LOCAL") == 0))) {
		rc = table_lookup_addr(&x->tab, t->from, val, sizeof val, NULL, 0);
		if (rc < 0)
			return snprintf(err, errsz, "unable to read table disclaimers: %s",
			    strerror(errno)), -1;
		if (rc == 1) {
			if (parse_value(x, val, &x->chosen, err, errsz) < 0)
				return -1;
			*d = &x->chosen;
			return 0;
		}
	}
	if (addr == NULL || cidr_addr_parse(addr, &a) < 0)
		return 0;
	/* The most specific range wins: one inside the best so far. */
	for (i = 0; i < x->nnets; i++)
		if (cidr_match(&x->nets[i].c, &a) && (best == NULL ||
		    (cidr_cmp(&x->nets[i].c.lo, &best->c.lo) >= 0 &&
		    cidr_cmp(&x->nets[i].c.hi, &best->c.hi) <= 0)))
			best = &x->nets[i];
	if (best != NULL)
		*d = &best->d;
	return 0;
}
