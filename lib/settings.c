/*
 * settings: the registry of every setting (settings.h).  Ranges are those
 * doc/internals.md gives; a setting without one takes any value of its
 * type.  Times are seconds with s m h d w, sizes octets with k M G.
 */
#include "settings.h"
#include "conf.h"
#include "prog.h"
#include "route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DAY 86400LL
#define K 1024LL
#define M (1024LL * 1024)

static const char *check_chain(const char *);
static const char *check_route(const char *);
static const char *check_path(const char *);
static const char *check_word(const char *);
static const char *check_codes(const char *);

#define STR(n, c) { n, SET_STRING, 0, 0, NULL, c }
#define NUM(n, lo, hi) { n, SET_NUMBER, lo, hi, NULL, NULL }
#define TIME(n, lo, hi) { n, SET_TIME, lo, hi, NULL, NULL }
#define SIZE(n, lo, hi) { n, SET_SIZE, lo, hi, NULL, NULL }
#define BOOL(n) { n, SET_BOOL, 0, 0, NULL, NULL }
#define ENUM(n, w) { n, SET_ENUM, 0, 0, w, NULL }

static const struct setting registry[] = {
	STR("hostname", check_word),
	STR("qualify_domain", check_word),
	STR("postmaster", check_word),
	STR("spool", check_path),
	ENUM("log", "auto|stderr|syslog"),
	STR("syslog_socket", check_path),
	STR("mailroot", check_path),
	STR("default_privs", check_word),
	TIME("command_time_limit", 1, 7 * DAY),
	SIZE("message_size_limit", 0, 0),
	NUM("max_recipients", 1, 1000),
	TIME("smtpd_timeout", 1, 0),
	TIME("smtpd_session_time_limit", 0, 0),
	TIME("smtpd_data_time_limit", 0, 0),
	NUM("smtpd_client_connection_limit", 0, 0),
	BOOL("smtpd_vrfy"),
	TIME("queue_lifetime", 0, 0),
	TIME("delay_warning", 0, 0),
	TIME("retry_min", 1, 0),
	TIME("retry_max", 1, 0),
	STR("chain", check_chain),
	NUM("batch_size", 1, 10000),
	NUM("batch_wait_ms", 0, 10000),
	NUM("concurrency", 1, 64),
	NUM("max_received", 1, 0),
	BOOL("loop_to_postmaster"),
	STR("recipient_delimiter", NULL),
	NUM("alias_max_depth", 1, 100),
	STR("local_default_channel", check_route),
	STR("internet_channel", check_route),
	STR("relayhost", check_word),
	STR("relayhost_backup", check_word),
	NUM("smtp_port", 1, 65535),
	NUM("smtp_concurrency", 1, 1000),
	NUM("smtp_destination_concurrency", 1, 1000),
	NUM("smtp_messages_per_connection", 1, 0),
	NUM("smtp_reuse_max", 1, 0),
	ENUM("smtp_hosts_order", "first|last"),
	ENUM("smtp_tls_level", "none|may|require|verify"),
	STR("smtp_tls_ca", check_path),
	BOOL("smtp_554_data_temporary"),
	TIME("smtp_connect_timeout", 1, DAY),
	TIME("smtp_helo_timeout", 1, DAY),
	TIME("smtp_mail_timeout", 1, DAY),
	TIME("smtp_rcpt_timeout", 1, DAY),
	TIME("smtp_data_init_timeout", 1, DAY),
	TIME("smtp_data_block_timeout", 1, DAY),
	TIME("smtp_data_done_timeout", 1, DAY),
	TIME("smtp_quit_timeout", 1, DAY),
	TIME("smtp_unreachable_ttl", 0, DAY),
	TIME("smtp_connection_cache_time", 0, 3600),
	TIME("smtp_connection_reuse_time", 1, DAY),
	STR("bsmtp_sender", check_word),
	ENUM("bsmtp_form", "sluice|plain"),
	BOOL("bsmtp_batch"),
	SIZE("bsmtp_max_size", 4 * K, 0),
	STR("bsmtp_dir", check_path),
	TIME("bsmtp_dedup_window", 0, 0),
	STR("pop3_dir", check_path),
	ENUM("scan_method", "clamd|command|none"),
	STR("scan_clamd", check_word),
	STR("scan_command", NULL),
	STR("scan_clean_codes", check_codes),
	STR("scan_infected_codes", check_codes),
	STR("scan_suspicious_codes", check_codes),
	TIME("scan_timeout", 1, DAY),
	SIZE("scan_max_size", 0, 0),
	ENUM("scan_infected_action", "reject|bounce|discard|quarantine|tag"),
	ENUM("scan_suspicious_action", "reject|bounce|discard|quarantine|tag"),
	ENUM("scan_error_action", "defer|pass|suspicious"),
	BOOL("scan_notify_postmaster"),
	BOOL("scan_notify_sender"),
	NUM("mime_max_depth", 1, 1000),
	NUM("mime_max_parts", 1, 1000000),
	SIZE("mime_header_limit", K, 16 * M),
	STR("mail_spool_directory", check_path),
	STR("home_mailbox", NULL),
	STR("attach_block", NULL),
	ENUM("attach_action", "remove|bounce|reject"),
	STR("attach_text", NULL),
	BOOL("attach_notify_postmaster"),
	STR("disclaimer_text", NULL),
	STR("disclaimer_html", NULL),
	TIME("dnsbl_timeout", 1, 3600),
	ENUM("dnsbl_timeout_action", "accept|tempfail"),
	ENUM("dnsbl_refuse_at", "connect|rcpt"),
	STR("smtpd_tls_cert", check_path),
	STR("smtpd_tls_key", check_path),
	STR("smtpd_tls_ciphers", NULL),
	BOOL("smtpd_auth"),
	STR("smtpd_auth_program", NULL),
	TIME("smtpd_auth_failure_delay", 0, 60),
	NUM("smtpd_auth_max_failures", 1, 1000),
	NUM("smtpd_auth_daily_messages", 0, 100000000),
	SIZE("smtpd_auth_daily_bytes", 0, 0),
	STR("header_checks", NULL),
	STR("body_checks", NULL),
	BOOL("checks_mime_headers"),
	STR("spam_spamd", check_word),
	STR("spam_user", check_word),
	TIME("spam_timeout", 1, DAY),
	SIZE("spam_max_size", 0, 0),
	STR("spam_threshold", NULL),
	STR("spam_action", NULL),
	STR("spam_ham_action", NULL),
	STR("spam_subject_prefix", NULL),
	ENUM("spam_error_action", "defer|pass"),
	ENUM("smtpd_client_default", "allow|reject|tempfail"),
	NUM("smtpd_client_net_connection_limit", 0, 100000),
	NUM("smtpd_client_message_rate_limit", 0, 100000000),
	NUM("smtpd_client_recipient_rate_limit", 0, 100000000),
	TIME("smtpd_client_rate_window", 1, DAY),
	TIME("smtpd_error_delay", 0, 60),
	TIME("smtpd_error_delay_max", 0, 300),
	NUM("smtpd_error_delay_after", 0, 1000),
	STR("smtpd_greeting", NULL),
	ENUM("smtpd_require_rdns", "no|reject|tempfail"),
	ENUM("smtpd_require_fcrdns", "no|reject|tempfail"),
	ENUM("smtpd_require_helo_match", "no|reject|tempfail"),
	ENUM("smtpd_require_sender_domain", "no|reject|tempfail"),
	STR("dns_servers", NULL),
	TIME("dns_timeout", 1, 3599),
	NUM("dns_tries", 1, 9),
};

static char msg[600];

static const char *
check_chain(const char *v)
{
	char buf[4096], **argv[17], *words[17][32];
	size_t i;

	if (strlen(v) >= sizeof buf)
		return "longer than 4095 characters";
	strcpy(buf, v);
	for (i = 0; i < 17; i++)
		argv[i] = words[i];
	if (prog_split_chain(buf, argv, 16, 32) <= 0)
		return "an empty stage, or more than 16 stages or 31 words in one";
	return NULL;
}

static const char *
check_route(const char *v)
{
	struct route r;
	const char *err;

	return route_parse(v, &r, &err) < 0 ? err : NULL;
}

static const char *
check_path(const char *v)
{
	return v[0] == '/' ? NULL : "not an absolute path";
}

static const char *
check_word(const char *v)
{
	if (v[0] == '\0')
		return "empty";
	return strpbrk(v, " \t") ? "more than one word" : NULL;
}

/* Lists of exit codes as sluice-scan reads them: 0, 10,13, 3-4, >100, <0. */
static const char *
check_codes(const char *v)
{
	const char *p = v;
	char *end;

	while (*p != '\0') {
		if (*p == '>' || *p == '<')
			p++;
		strtol(p, &end, 10);
		if (end == p)
			return "not a list of exit codes (0, 10,13, 3-4, >100)";
		p = end;
		if (*p == '-' && p[-1] != '<' && p[-1] != '>') {
			strtol(p + 1, &end, 10);
			if (end == p + 1)
				return "not a list of exit codes (0, 10,13, 3-4, >100)";
			p = end;
		}
		while (*p == ',' || *p == ' ')
			p++;
	}
	return NULL;
}

const struct setting *
settings_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof registry / sizeof registry[0]; i++)
		if (strcmp(registry[i].name, name) == 0)
			return &registry[i];
	return NULL;
}

const struct setting *
settings_at(size_t i)
{
	return i < sizeof registry / sizeof registry[0] ? &registry[i] : NULL;
}

static int
is_word(const char *words, const char *v)
{
	size_t n = strlen(v);
	const char *p;

	for (p = words; n > 0 && p != NULL; p = strchr(p, '|'), p = p ? p + 1 : p)
		if (strncasecmp(p, v, n) == 0 && (p[n] == '|' || p[n] == '\0'))
			return 1;
	return 0;
}

/* Why v is not a value of s, or NULL. */
static const char *
why_bad(const struct setting *s, const char *v, char *buf, size_t size)
{
	long long n = 0;
	const char *kind = "number";

	switch (s->type) {
	case SET_STRING:
		return s->check ? s->check(v) : NULL;
	case SET_BOOL:
		return is_word("yes|no", v) ? NULL : "use yes or no";
	case SET_ENUM:
		if (is_word(s->words, v))
			return NULL;
		snprintf(buf, size, "use one of %s", s->words);
		return buf;
	case SET_NUMBER:
		n = strspn(v, "0123456789") == strlen(v) ? conf_parse_time(v) : -1;
		break;
	case SET_TIME:
		n = conf_parse_time(v);
		kind = "time (a number with s, m, h, d or w)";
		break;
	case SET_SIZE:
		n = conf_parse_size(v);
		kind = "size (a number with k, M or G)";
		break;
	}
	if (n < 0) {
		snprintf(buf, size, "not a %s", kind);
		return buf;
	}
	if (n < s->min || (s->max > 0 && n > s->max)) {
		snprintf(buf, size, "out of range: from %lld to %lld%s", s->min,
		    s->max, s->type == SET_TIME ? " seconds" : s->type == SET_SIZE ?
		    " octets" : "");
		if (s->max == 0)
			snprintf(buf, size, "out of range: at least %lld", s->min);
		return buf;
	}
	return NULL;
}

int
settings_check_line(const char *name, const char *value, const char **err)
{
	const struct setting *s = settings_find(name);
	char why[200];
	const char *w;

	if (s == NULL) {
		snprintf(msg, sizeof msg, "unknown setting %.100s", name);
		*err = msg;
		return -1;
	}
	if ((w = why_bad(s, value, why, sizeof why)) == NULL)
		return 0;
	snprintf(msg, sizeof msg, "setting %s: bad value \"%.100s\": %s", name,
	    value, w);
	*err = msg;
	return -1;
}

int
settings_check_entry(const char *file, const char *name, const char *value,
    size_t vlen, const char **err)
{
	const char *b = strrchr(file, '/');
	char *v;
	int rc;

	if (strcmp(b ? b + 1 : file, "config") != 0)
		return 0;
	if ((v = strndup(value, vlen)) == NULL) {
		*err = "out of memory";
		return -1;
	}
	rc = settings_check_line(name, v, err);
	free(v);
	return rc;
}
