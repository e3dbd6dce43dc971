/*
 * The settings of sluice-smtp, read once from the configuration; a value
 * out of its range falls back to the default.
 */
#include "smtp.h"

#include "conf.h"

#include <strings.h>

static const char *const phase_key[PH_COUNT] = {
	"smtp_connect_timeout", "smtp_helo_timeout", "smtp_mail_timeout",
	"smtp_rcpt_timeout", "smtp_data_init_timeout", "smtp_data_block_timeout",
	"smtp_data_done_timeout", "smtp_quit_timeout",
};
/* RFC 5321 4.5.3.2; connect as Postfix's smtp_connect_timeout. */
static const long long phase_def[PH_COUNT] = { 30, 300, 300, 300, 120, 180,
	600, 300 };

/* v when within [1, max], else def. */
static long
in_range(long long v, long long max, long def)
{
	return v > 0 && v <= max ? (long)v : def;
}

void
settings_read(struct settings *cf)
{
	long long v;
	int i;

	for (i = 0; i < PH_COUNT; i++) {
		v = conf_time(phase_key[i], phase_def[i]);
		if (v <= 0 || v > 86400)
			v = phase_def[i];
		cf->timeout_ms[i] = (int)(v * 1000);
	}
	cf->port = (unsigned)in_range(conf_num("smtp_port", 25), 65535, 25);
	cf->concurrency = in_range(conf_num("smtp_concurrency", 20), 1000, 20);
	cf->dest_concurrency = in_range(conf_num("smtp_destination_concurrency",
	    4), 1000, 4);
	cf->per_conn = in_range(conf_num("smtp_messages_per_connection",
	    5), 1000000, 5);
	cf->reuse = in_range(conf_num("smtp_reuse_max", 100), 1000000, 100);
	cf->hosts_first = strcasecmp(conf_get("smtp_hosts_order", "last"),
	    "first") == 0;
	cf->data554_temp = strcasecmp(conf_get("smtp_554_data_temporary", "yes"),
	    "yes") == 0;
	cf->relay = conf_get("relayhost", "");
	cf->relay_backup = conf_get("relayhost_backup", "");
	cf->tls_ca = conf_get("smtp_tls_ca", "");
	cf->tls_level = conf_get("smtp_tls_level", "may");
	cf->helo = conf_hostname();
	v = conf_time("smtp_unreachable_ttl", 60);
	cf->unreach_ttl = v <= 86400 ? v : 60;
	v = conf_time("smtp_connection_cache_time", 2);
	cf->cache_time = v >= 0 && v <= 3600 ? v : 2;
	v = conf_time("smtp_connection_reuse_time", 300);
	cf->reuse_time = v > 0 && v <= 86400 ? v : 300;
}

int
settings_tls_level(const char *s)
{
	if (strcasecmp(s, "none") == 0)
		return TLS_NONE;
	if (strcasecmp(s, "require") == 0 || strcasecmp(s, "encrypt") == 0)
		return TLS_REQUIRE;
	if (strcasecmp(s, "verify") == 0)
		return TLS_VERIFY;
	return TLS_MAY;
}
