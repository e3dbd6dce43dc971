#include "rules.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

int
rules_parse(struct rules *rs, const char *list, char *err, size_t errsz)
{
	char *w, *save = NULL, *colon, *slash;

	rs->n = 0;
	if ((rs->buf = strdup(list)) == NULL)
		die_nomem();
	for (w = strtok_r(rs->buf, " \t,", &save); w != NULL;
	    w = strtok_r(NULL, " \t,", &save)) {
		if (rs->n == RULES_MAX) {
			snprintf(err, errsz, "more than %d patterns", RULES_MAX);
			return -1;
		}
		rs->r[rs->n].type = rs->r[rs->n].name = NULL;
		if ((slash = strchr(w, '/')) == NULL)
			rs->r[rs->n].name = w;
		else {
			rs->r[rs->n].type = w;
			if ((colon = strchr(slash, ':')) != NULL) {
				*colon = '\0';
				rs->r[rs->n].name = colon + 1;
			}
			if (slash == w || slash[1] == '\0' ||
			    (colon != NULL && colon[1] == '\0')) {
				snprintf(err, errsz, "\"%.100s\" is not TYPE/SUBTYPE[:NAME]", w);
				return -1;
			}
		}
		rs->n++;
	}
	return 0;
}

static int
name_matches(const char *glob, const char *name)
{
	char trimmed[512];
	size_t n;

	if (*name == '\0')
		return 0;
	if (fnmatch(glob, name, FNM_CASEFOLD) == 0)
		return 1;
	n = strlen(name);
	while (n > 0 && (name[n - 1] == '.' || name[n - 1] == ' '))
		n--;
	if (n == strlen(name) || n == 0 || n >= sizeof trimmed)
		return 0;
	memcpy(trimmed, name, n);
	trimmed[n] = '\0';
	return fnmatch(glob, trimmed, FNM_CASEFOLD) == 0;
}

int
rules_match(const struct rules *rs, const struct mime_part *p)
{
	size_t i;

	for (i = 0; i < rs->n; i++) {
		if (rs->r[i].type != NULL && fnmatch(rs->r[i].type, p->type, FNM_CASEFOLD) != 0)
			continue;
		if (rs->r[i].name != NULL && !name_matches(rs->r[i].name, p->filename))
			continue;
		return 1;
	}
	return 0;
}
