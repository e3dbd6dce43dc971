#ifndef SETTINGS_H
#define SETTINGS_H

/*
 * The registry of every setting of the config table: its name, its type
 * (a string, a number, a time, a size, yes/no, or one of a list of words)
 * and the values it takes.  doc/internals.md documents the same list
 * (t/01-docs-match-code.t checks that the two, the code and conf/config agree).
 *
 * Who uses it: sluice-mkcdb refuses a config with an unknown name or a bad
 * value when it compiles it; lib/conf checks every entry of config.cdb
 * when a program first reads a setting, and a bad one is fatal (a silent
 * default would hide the mistake); sluice-check(8) reports them all.
 */

#include <stddef.h>

enum setting_type { SET_STRING, SET_NUMBER, SET_TIME, SET_SIZE, SET_BOOL,
	SET_ENUM };

struct setting {
	const char *name;
	enum setting_type type;
	long long min, max;	/* numbers, times (s), sizes (octets); max 0: none */
	const char *words;	/* SET_ENUM: "a|b|c" */
	/* Strings: a further check of the value; NULL or the reason it is bad. */
	const char *(*check)(const char *value);
};

/* The setting's entry, or NULL for an unknown name. */
const struct setting *settings_find(const char *name);
/* The i-th setting of the registry, or NULL past its end. */
const struct setting *settings_at(size_t i);
/*
 * Check one line of the config table: 0, or -1 with *err set to "unknown
 * setting NAME" or "setting NAME: bad value "V": why" (a static buffer).
 */
int settings_check_line(const char *name, const char *value, const char **err);
/*
 * For sluice-mkcdb: the same for an entry of table file, when file is the
 * config table (its last component is "config"); 0 for any other table.
 * value is vlen octets, not NUL-terminated.
 */
int settings_check_entry(const char *file, const char *name, const char *value,
    size_t vlen, const char **err);

#endif
