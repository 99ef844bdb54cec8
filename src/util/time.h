/*
 * time.h - RFC 3339 times as the API reads and writes them: parsing every
 * form RFC 3339 allows (fractions, offsets, lower-case 't' and 'z') into
 * milliseconds since the Unix epoch, and formatting milliseconds back in
 * UTC with a 'Z'.
 */
#ifndef BOXOFFICE_UTIL_TIME_H
#define BOXOFFICE_UTIL_TIME_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes a formatted time takes, with its NUL ("2026-12-05T19:30:00.250Z"). */
#define BO_RFC3339_SIZE 32
/* Longest text bo_time_parse accepts (a fraction of up to 9 digits and an
 * offset fit well within it). */
#define BO_RFC3339_MAX_INPUT 40

/*
 * Parse len bytes of s as an RFC 3339 date-time: YYYY-MM-DD, 'T' (or 't'),
 * hh:mm:ss, an optional fraction of 1 to 9 digits (truncated to
 * milliseconds), then 'Z' (or 'z') or an offset +hh:mm / -hh:mm. Dates must
 * exist (2026-02-29 does not); a leap second (:60) counts as the next
 * second. The instant must lie in years 1..9999 in UTC (what
 * bo_time_format writes), after the offset and leap second: 0001-01-01
 * with a positive offset, 9999-12-31T23:59:60Z or with a negative offset
 * past the year's end are refused. Returns 0 and *ms (milliseconds since the Unix epoch, UTC), or
 * BO_EINVAL for anything else; nothing is read past len.
 */
int bo_time_parse(const char *s, size_t len, int64_t *ms);

/*
 * Format ms as RFC 3339 in UTC into out: "2026-12-05T19:30:00Z", with
 * ".mmm" before the 'Z' when ms is not a whole second. Times before year 1
 * or after 9999 are clamped to those years' bounds. Returns the length.
 */
size_t bo_time_format(int64_t ms, char out[BO_RFC3339_SIZE]);
/* A time for a JSON answer: bo_time_format's string, or null when ms is 0
 * or less (not set). New reference (NULL when out of memory). */
json_t *bo_time_json(int64_t ms);

#endif
