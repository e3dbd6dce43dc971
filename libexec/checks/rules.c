#include "rules.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const rule_action_names[] = { "REJECT", "DISCARD", "HOLD", "WARN",
	"REPLACE", "TAG", "IGNORE", "DUNNO" };

#define BAD(...) do { snprintf(err, esize, "%s:%lu: ", rs->file, line); \
	snprintf(err + strlen(err), esize - strlen(err), __VA_ARGS__); return -1; } while (0)

/* Whether s is a header field line "Name: value" (RFC 5322 2.2 field name). */
static int
is_field(const char *s)
{
	const char *p = s;

	while (*p > ' ' && *p < 127 && *p != ':')
		p++;
	return p > s && *p == ':';
}

/* The pattern of s (after an optional '!') between delimiters into pat. */
static int
pattern(const char *s, char *pat, size_t size, const char **rest)
{
	char d = *s++;
	size_t n = 0;

	if (d == '\0' || isalnum((unsigned char)d) || isspace((unsigned char)d) ||
	    d == '\\')
		return -1;
	for (; *s && *s != d; s++) {
		if (*s == '\\' && s[1] == d)
			s++;	/* an escaped delimiter is part of the pattern */
		if (n + 1 >= size)
			return -2;
		pat[n++] = *s;
	}
	if (*s != d)
		return -1;
	pat[n] = '\0';
	*rest = s + 1;
	return 0;
}

static int
action(struct rules *rs, struct rule *r, const char *s, unsigned long line,
    char *err, size_t esize)
{
	size_t i, n = strcspn(s, " \t");
	const char *text = s + n;

	for (i = 0; i < sizeof rule_action_names / sizeof rule_action_names[0]; i++)
		if (strlen(rule_action_names[i]) == n &&
		    strncasecmp(s, rule_action_names[i], n) == 0)
			break;
	if (n == 0 || i == sizeof rule_action_names / sizeof rule_action_names[0])
		BAD("unknown action \"%.*s\" (REJECT, DISCARD, HOLD, WARN, REPLACE, TAG, "
		    "IGNORE, DUNNO)", (int)(n > 40 ? 40 : n), s);
	r->action = (enum rule_action)i;
	text += strspn(text, " \t");
	if (strlen(text) > RULES_TEXT_MAX)
		BAD("the text of %s is longer than %d octets", rule_action_names[i],
		    RULES_TEXT_MAX);
	if (rs->body && (r->action == RA_REPLACE || r->action == RA_IGNORE))
		BAD("%s changes a header field: it is for header checks only",
		    rule_action_names[i]);
	if ((r->action == RA_REPLACE || r->action == RA_TAG) && !is_field(text))
		BAD("%s needs a header field, \"Name: value\"", rule_action_names[i]);
	if ((r->text = strdup(text)) == NULL)
		BAD("out of memory");
	return 0;
}

/* One logical line: a rule, compiled into rs->r[rs->n]. */
static int
rule(struct rules *rs, char *s, unsigned long line, char *err, size_t esize)
{
	struct rule *r = &rs->r[rs->n];
	char pat[RULES_PATTERN_MAX + 1], msg[200];
	const char *p;
	int flags = REG_EXTENDED | REG_NOSUB, rc;

	memset(r, 0, sizeof *r);
	r->line = line;
	if ((r->negate = *s == '!'))
		s++;
	if ((rc = pattern(s, pat, sizeof pat, &p)) == -2)
		BAD("pattern longer than %d octets", RULES_PATTERN_MAX);
	if (rc < 0)
		BAD("expected /pattern/ (a pattern between two delimiters)");
	for (; *p && !isspace((unsigned char)*p); p++) {
		if (*p != 'i')
			BAD("unknown flag '%c' (i: ignore case)", *p);
		flags |= REG_ICASE;
	}
	p += strspn(p, " \t");
	if (action(rs, r, p, line, err, esize) < 0)
		return -1;
	if ((rc = regcomp(&r->re, pat, flags)) != 0) {
		regerror(rc, &r->re, msg, sizeof msg);
		free(r->text);
		BAD("bad regular expression /%.100s/: %s", pat, msg);
	}
	rs->n++;
	return 0;
}

static int
add(struct rules *rs, char *s, unsigned long line, char *err, size_t esize)
{
	size_t n = strlen(s);

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	if (n == 0)
		return 0;
	if (rs->n == RULES_MAX)
		BAD("more than %d rules", RULES_MAX);
	return rule(rs, s, line, err, esize);
}

static int
read_rules(struct rules *rs, FILE *f, char *err, size_t esize)
{
	char *l = NULL, cur[RULES_LINE_MAX + 1];
	size_t cap = 0, len = 0, n;
	unsigned long line = 0, start = 0;
	ssize_t got;
	int rc = 0;

	cur[0] = '\0';
	while (rc == 0 && (got = getline(&l, &cap, f)) >= 0) {
		line++;
		n = (size_t)got;
		while (n > 0 && (l[n - 1] == '\n' || l[n - 1] == '\r'))
			l[--n] = '\0';
		if (l[0] == '#' || (n > 0 && strspn(l, " \t") == n) || n == 0)
			continue;
		if (l[0] == ' ' || l[0] == '\t') {
			if (len == 0) {
				snprintf(err, esize, "%s:%lu: a continuation line with no rule "
				    "above", rs->file, line);
				rc = -1;
			} else if (len + n >= sizeof cur) {
				snprintf(err, esize, "%s:%lu: rule longer than %d octets",
				    rs->file, start, RULES_LINE_MAX);
				rc = -1;
			} else {
				memcpy(cur + len, l, n + 1);
				len += n;
			}
			continue;
		}
		rc = add(rs, cur, start, err, esize);
		if (rc == 0 && n >= sizeof cur) {
			snprintf(err, esize, "%s:%lu: rule longer than %d octets", rs->file,
			    line, RULES_LINE_MAX);
			rc = -1;
		}
		if (rc == 0) {
			memcpy(cur, l, n + 1);
			len = n;
			start = line;
		}
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, esize, "%s: read error: %s", rs->file, strerror(errno));
		rc = -1;
	}
	if (rc == 0)
		rc = add(rs, cur, start, err, esize);
	free(l);
	return rc;
}

int
rules_load(struct rules *rs, const char *path, int body, char *err, size_t esize)
{
	FILE *f;
	int rc;

	memset(rs, 0, sizeof *rs);
	rs->file = path;
	rs->body = body;
	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, esize, "unable to open %s: %s", path, strerror(errno));
		return -1;
	}
	if ((rs->r = calloc(RULES_MAX, sizeof *rs->r)) == NULL) {
		fclose(f);
		snprintf(err, esize, "out of memory");
		return -1;
	}
	rc = read_rules(rs, f, err, esize);
	fclose(f);
	if (rc < 0)
		rules_free(rs);
	return rc;
}

void
rules_free(struct rules *rs)
{
	size_t i;

	for (i = 0; i < rs->n; i++) {
		regfree(&rs->r[i].re);
		free(rs->r[i].text);
	}
	free(rs->r);
	rs->r = NULL;
	rs->n = 0;
}

const struct rule *
rules_match(const struct rules *rs, const char *s)
{
	size_t i;

	for (i = 0; i < rs->n; i++)
		if ((regexec(&rs->r[i].re, s, 0, NULL, 0) == 0) != rs->r[i].negate)
			return &rs->r[i];
	return NULL;
}
