#include "conf.h"
#include "log.h"
#include "settings.h"
#include "table.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static struct table conf_table;
static int conf_opened, conf_unchecked;

const char *
conf_dir(void)
{
	const char *d = getenv("SLUICE_CONF");

	return (d != NULL && *d != '\0') ? d : SLUICE_CONFDIR;
}

/* Values handed out stay valid for the life of the process. */
#define CONF_CACHE 64
static struct {
	char *key, *val;
} cache[CONF_CACHE];
static size_t ncache;

void
conf_no_check(void)
{
	conf_unchecked = 1;
}

void
conf_reset(void)
{
	if (conf_opened)
		table_close(&conf_table);
	conf_opened = 0;
	ncache = 0;	/* the strings stay, for whoever holds them */
}

/*
 * Where a setting was written, for the message: "DIR/config:LINE" from
 * the text the table was compiled from, else the .cdb.
 */
static void
conf_where(const char *key, char *buf, size_t size)
{
	char line[8192];
	unsigned long n = 0;
	size_t k = strlen(key);
	FILE *f;

	snprintf(buf, size, "%s/config", conf_dir());
	if ((f = fopen(buf, "r")) != NULL) {
		while (fgets(line, sizeof line, f) != NULL) {
			n++;
			if (strncasecmp(line, key, k) == 0 && (line[k] == ' ' ||
			    line[k] == '\t' || line[k] == '\n' || line[k] == '\0')) {
				fclose(f);
				snprintf(buf, size, "%s/config:%lu", conf_dir(), n);
				return;
			}
		}
		fclose(f);
	}
	snprintf(buf, size, "%s/config.cdb", conf_dir());
}

/*
 * Every entry of config.cdb against the registry (lib/settings.h), once,
 * when a program first reads a setting: an unknown name or a bad value is
 * fatal, whichever setting the program needs, so that a mistake shows at
 * once rather than as a silent default.  sluice-mkcdb, which compiles the
 * config (and must run to repair it), and sluice-check, which reports
 * every mistake, do not stop here.
 */
static void
conf_check_all(struct table *t)
{
	char key[TABLE_KEY_MAX], val[4096], where[4200];
	unsigned pos, kl, vl;
	const char *err;

	if (conf_unchecked || t->fd < 0 || strcmp(log_prog, "sluice-mkcdb") == 0)
		return;
	cdb_seqinit(&pos, &t->cdb);
	while (cdb_seqnext(&pos, &t->cdb) > 0) {
		kl = cdb_keylen(&t->cdb);
		vl = cdb_datalen(&t->cdb);
		if (kl >= sizeof key || vl >= sizeof val ||
		    cdb_read(&t->cdb, key, kl, cdb_keypos(&t->cdb)) < 0 ||
		    cdb_read(&t->cdb, val, vl, cdb_datapos(&t->cdb)) < 0)
			die(EXIT_TEMP, "%s/config.cdb: unreadable or an entry too long",
			    conf_dir());
		key[kl] = val[vl] = '\0';
		if (settings_check_line(key, val, &err) < 0) {
			conf_where(key, where, sizeof where);
			die(EXIT_TEMP, "%s: %s (see sluice-config(5); sluice-check "
			    "lists every problem)", where, err);
		}
	}
}

const char *
conf_get(const char *key, const char *def)
{
	char val[4096];
	size_t i;
	int rc;

	for (i = 0; i < ncache; i++)
		if (strcmp(cache[i].key, key) == 0)
			return cache[i].val ? cache[i].val : def;
	/* A config that exists but cannot be read is no reason to use defaults. */
	if (!conf_opened) {
		if (table_open(&conf_table, "config") < 0)
			die(EXIT_TEMP, "unable to open table %s: %s", conf_table.path,
			    strerror(errno));
		conf_opened = 1;
		conf_check_all(&conf_table);
	}
	if ((rc = table_get(&conf_table, key, val, sizeof val)) < 0)
		die(EXIT_TEMP, "unable to read table %s: %s", conf_table.path,
		    strerror(errno));
	if (ncache < CONF_CACHE) {
		cache[ncache].key = strdup(key);
		cache[ncache].val = rc == 1 ? strdup(val) : NULL;
		if (cache[ncache].key != NULL) {
			ncache++;
			return cache[ncache - 1].val ? cache[ncache - 1].val : def;
		}
	}
	return rc == 1 ? strdup(val) : def;
}

const char *
conf_spool(void)
{
	const char *d = getenv("SLUICE_SPOOL");

	if (d != NULL && *d != '\0')
		return d;
	return conf_get("spool", SLUICE_SPOOLDIR);
}

static long long
parse_unit(const char *s, const char *units, const long long *mult)
{
	char *end;
	long long v;
	const char *u;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || v < 0)
		return -1;
	if (*end == '\0')
		return v;
	if (end[1] != '\0' || (u = strchr(units, *end)) == NULL)
		return -1;
	if (v > (long long)9e15 / mult[u - units])
		return -1;
	return v * mult[u - units];
}

long long
conf_parse_time(const char *s)
{
	static const long long m[] = { 1, 60, 3600, 86400, 604800 };

	return parse_unit(s, "smhdw", m);
}

long long
conf_parse_size(const char *s)
{
	static const long long m[] = { 1024, 1024, 1048576, 1073741824 };

	return parse_unit(s, "kKMG", m);
}

static long long
conf_parsed(const char *key, long long def, long long (*parse)(const char *))
{
	const char *v = conf_get(key, NULL);
	long long n;

	if (v == NULL)
		return def;
	n = parse(v);
	return n < 0 ? def : n;
}

long long
conf_time(const char *key, long long def)
{
	return conf_parsed(key, def, conf_parse_time);
}

long long
conf_size(const char *key, long long def)
{
	return conf_parsed(key, def, conf_parse_size);
}

static long long
parse_plain(const char *s)
{
	static const long long m[] = { 1 };

	return parse_unit(s, "", m);
}

long long
conf_num(const char *key, long long def)
{
	return conf_parsed(key, def, parse_plain);
}

const char *
conf_hostname(void)
{
	static char host[256];
	const char *h = conf_get("hostname", NULL);

	if (h != NULL)
		return h;
	if (host[0] == '\0' && gethostname(host, sizeof host - 1) < 0)
		strcpy(host, "localhost");
	return host;
}
