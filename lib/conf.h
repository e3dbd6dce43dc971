#ifndef CONF_H
#define CONF_H

/*
 * Settings from config.cdb in the configuration folder ($SLUICE_CONF,
 * else /etc/sluice), compiled by sluice-mkcdb(1) from the text file
 * "config".  Every setting has a built-in default, so a program runs with
 * no configuration at all.  See sluice-config(5).
 */

#ifndef SLUICE_CONFDIR
#define SLUICE_CONFDIR "/etc/sluice"
#endif
#ifndef SLUICE_SPOOLDIR
#define SLUICE_SPOOLDIR "/var/spool/sluice"
#endif
#ifndef SLUICE_LIBEXECDIR
#define SLUICE_LIBEXECDIR "/usr/local/libexec/sluice"
#endif

const char *conf_dir(void);
/* The spool: $SLUICE_SPOOL, else the "spool" setting, else the default. */
const char *conf_spool(void);
/* A setting's value, or def when unset.  The pointer stays valid. */
const char *conf_get(const char *key, const char *def);
/* Numbers with an optional unit: s m h d w for times, k M G for sizes. */
long long conf_time(const char *key, long long def);
long long conf_size(const char *key, long long def);
long long conf_num(const char *key, long long def);
/* Parse a time or size text as above; -1 if malformed. */
long long conf_parse_time(const char *s);
long long conf_parse_size(const char *s);
/*
 * The first read of a setting checks every entry of config.cdb against
 * lib/settings.h and dies (111) naming file, line and setting at the first
 * bad one.  conf_no_check(), called before, turns that off (sluice-check).
 */
void conf_no_check(void);
/*
 * Forget config.cdb and the values read from it, so that the next
 * conf_get reads the file as it is now: for a session forked from a
 * listener that read it at its start.  Values handed out before stay
 * valid (they are kept, not freed).
 */
void conf_reset(void);
/* The host's name: the "hostname" setting, else gethostname(). */
const char *conf_hostname(void);

#endif
