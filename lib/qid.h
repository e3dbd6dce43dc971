#ifndef QID_H
#define QID_H

/*
 * Queue ids: 9 hex digits of arrival time in seconds, 5 of microseconds
 * and 7 of process id, e.g. 0691f3a2c0a1b2c0001234.  Unique on one host
 * (a process waits for the microsecond to change before making another),
 * sortable by arrival, and the arrival time can be read back from the id.
 */

#include <stddef.h>
#include <time.h>

#define QID_LEN 21

void qid_make(char out[QID_LEN + 1]);
int qid_valid(const char *s);
/* Arrival time encoded in the id, or 0 if it is not a valid id. */
time_t qid_time(const char *s);

#endif
