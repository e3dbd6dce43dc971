/*
 * A profile: one entry of table pop3_profiles, named by its key.  The
 * value is words key=value separated by white space; feed= comes last
 * and takes the rest of the line, since a command has spaces:
 *
 *   host=pop.example.net port=995 tls=implicit user=abc pass=secret
 *   auth=apop max=50 timeout=10m verify=yes ca=/etc/ssl/ca.pem
 *   feed=sluice-bsmtp-decode
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "pop3.h"

static int
set_word(char *dst, size_t size, const char *v, size_t n, const char **err,
    const char *what)
{
	if (n == 0 || n >= size)
		return *err = what, -1;
	memcpy(dst, v, n);
	dst[n] = '\0';
	return 0;
}

static int
set_enum(const char *v, size_t n, const char *const names[], int *out)
{
	int i;

	for (i = 0; names[i] != NULL; i++)
		if (strlen(names[i]) == n && strncmp(names[i], v, n) == 0) {
			*out = i;
			return 0;
		}
	return -1;
}

/* One key=value; 0, or -1 with *err set. */
static int
option(struct profile *p, const char *k, size_t kl, const char *v, size_t vn,
    const char **err)
{
	static const char *const tls[] = { "none", "starttls", "implicit", NULL };
	static const char *const auth[] = { "any", "user", "apop", NULL };
	static const char *const yn[] = { "no", "yes", NULL };
	char num[32];
	long long t;
	int e;

#define IS(s) (kl == strlen(s) && strncmp(k, s, kl) == 0)
	if (IS("host"))
		return set_word(p->host, sizeof p->host, v, vn, err, "bad host=");
	if (IS("user"))
		return set_word(p->user, sizeof p->user, v, vn, err, "bad user=");
	if (IS("pass"))
		return set_word(p->pass, sizeof p->pass, v, vn, err, "bad pass=");
	if (IS("ca"))
		return set_word(p->ca, sizeof p->ca, v, vn, err, "bad ca=");
	if (IS("tls"))
		return set_enum(v, vn, tls, &e) < 0 ? (*err = "tls= must be none, "
		    "starttls or implicit", -1) : (p->tls = (enum tls_mode)e, 0);
	if (IS("auth"))
		return set_enum(v, vn, auth, &e) < 0 ? (*err = "auth= must be any, "
		    "user or apop", -1) : (p->auth = (enum auth_mode)e, 0);
	if (IS("verify"))
		return set_enum(v, vn, yn, &p->verify) < 0 ? (*err = "verify= must "
		    "be yes or no", -1) : 0;
	if (set_word(num, sizeof num, v, vn, err, "bad number") < 0)
		return -1;
	if (IS("port"))
		return (t = atoll(num)) < 1 || t > 65535 ? (*err = "bad port=", -1) :
		    (p->port = (unsigned)t, 0);
	if (IS("max"))
		return (t = atoll(num)) < 0 || t > 1000000 ? (*err = "bad max=", -1) :
		    (p->max = (unsigned)t, 0);
	if (IS("timeout"))
		return (t = conf_parse_time(num)) < 1 || t > 86400 ? (*err =
		    "timeout= must be 1s..1d", -1) : (p->timeout_ms = (int)t * 1000, 0);
#undef IS
	return *err = "unknown option", -1;
}

int
profile_parse(struct profile *p, const char *name, const char *val,
    const char **err)
{
	const char *s = val, *k, *eq;
	size_t n;
	int port_set = 0;

	memset(p, 0, sizeof *p);
	snprintf(p->name, sizeof p->name, "%s", name);
	p->tls = TLS_STARTTLS;
	p->verify = 1;
	p->timeout_ms = 600 * 1000;
	snprintf(p->feed, sizeof p->feed, "sluice-bsmtp-decode");
	for (;;) {
		s += strspn(s, " \t\n");
		if (*s == '\0')
			break;
		k = s;
		n = strcspn(s, " \t\n");
		if ((eq = memchr(k, '=', n)) == NULL)
			return *err = "a word without '='", -1;
		if (eq - k == 4 && strncmp(k, "feed", 4) == 0) {
			/* The rest of the line is the command. */
			if (set_word(p->feed, sizeof p->feed, eq + 1, strlen(eq + 1), err,
			    "bad feed=") < 0)
				return -1;
			break;
		}
		if (option(p, k, (size_t)(eq - k), eq + 1, n - (size_t)(eq - k) - 1,
		    err) < 0)
			return -1;
		port_set |= eq - k == 4 && strncmp(k, "port", 4) == 0;
		s += n;
	}
	if (p->host[0] == '\0' || p->user[0] == '\0' || p->pass[0] == '\0')
		return *err = "host=, user= and pass= are required", -1;
	if (!port_set)
		p->port = p->tls == TLS_IMPLICIT ? 995 : 110;
	return 0;
}
