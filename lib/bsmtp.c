#include "bsmtp.h"

#include <stdio.h>
#include <string.h>

#include "conf.h"

void
bsmtp_mac_init(struct sha256_hmac *m, const char *secret, const char *id)
{
	sha256_hmac_init(m, secret, strlen(secret));
	sha256_hmac_update(m, id, strlen(id));
	sha256_hmac_update(m, "\r\n", 2);
}

void
bsmtp_mac_line(struct sha256_hmac *m, const char *s, size_t n)
{
	sha256_hmac_update(m, s, n);
	sha256_hmac_update(m, "\r\n", 2);
}

void
bsmtp_mac_final(struct sha256_hmac *m, char *out, size_t size)
{
	unsigned char mac[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1];

	sha256_hmac_final(m, mac);
	sha256_hex(mac, sizeof mac, hex);
	snprintf(out, size, "hmac-sha256=%s", hex);
}

int
bsmtp_opt(const char *val, const char *key, char *out, size_t size)
{
	size_t kl = strlen(key), n;
	const char *p = val, *w;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			return 0;
		w = p;
		while (*p && *p != ' ' && *p != '\t' && *p != ',')
			p++;
		if (strncmp(w, key, kl) != 0 || (w + kl != p && w[kl] != '='))
			continue;
		w += kl + (w + kl != p);
		n = (size_t)(p - w);
		if (n >= size)
			return -1;
		memcpy(out, w, n);
		out[n] = '\0';
		return 1;
	}
}

int
bsmtp_dir(char *buf, size_t size, const char *sub)
{
	const char *d = conf_get("bsmtp_dir", NULL);
	int n;

	if (d != NULL && *d != '\0')
		n = snprintf(buf, size, "%s%s%s", d, sub ? "/" : "", sub ? sub : "");
	else
		n = snprintf(buf, size, "%s/bsmtp%s%s", conf_spool(), sub ? "/" : "",
		    sub ? sub : "");
	return n < 0 || (size_t)n >= size ? -1 : 0;
}
