/*
 * time.c - RFC 3339 parsing and formatting (time.h). Called a few times per
 * request at most (event times, list filters), so clarity wins over speed:
 * the calendar arithmetic is glibc's timegm/gmtime_r on 64-bit time_t,
 * after this file has checked every field, since timegm silently
 * normalises out-of-range ones.
 */
#include <stdio.h>
#include <time.h>

#include "boxoffice/error.h"
#include "util/time.h"

/* Year 1 and year 9999 bounds, in ms since the epoch. */
#define MIN_MS (-62135596800000LL) /* 0001-01-01T00:00:00Z */
#define MAX_MS (253402300799999LL) /* 9999-12-31T23:59:59.999Z */

/* n decimal digits at s into *out; -1 when one is not a digit. */
static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* "YYYY-MM-DDThh:mm:ss" at s (19 bytes, checked by the caller). */
static int parse_fields(const char *s, struct tm *tm, int *sec)
{
    int y, mo, d, h, mi;
    if (digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
        digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') || digits(s + 11, 2, &h) ||
        s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, sec))
        return BO_EINVAL;
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
        *sec > 60)
        return BO_EINVAL;
    *tm = (struct tm){
        .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi};
    return 0;
}

/* The fraction after the seconds (".123456"), as ms; *p moves past it. */
static int parse_fraction(const char *s, size_t len, size_t *p, int *frac_ms)
{
    size_t i = *p, n = 0;
    *frac_ms = 0;
    if (i >= len || s[i] != '.')
        return 0;
    for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, n++)
        if (n < 3)
            *frac_ms = *frac_ms * 10 + (s[i] - '0');
    if (n == 0 || n > 9)
        return BO_EINVAL;
    for (; n < 3; n++)
        *frac_ms *= 10;
    *p = i;
    return 0;
}

/* 'Z' or +hh:mm / -hh:mm ending the text exactly; *offset_s east of UTC. */
static int parse_offset(const char *s, size_t len, size_t p, int *offset_s)
{
    int h, m;
    *offset_s = 0;
    if (p + 1 == len && (s[p] == 'Z' || s[p] == 'z'))
        return 0;
    if (p + 6 != len || (s[p] != '+' && s[p] != '-') || digits(s + p + 1, 2, &h) ||
        s[p + 3] != ':' || digits(s + p + 4, 2, &m) || h > 23 || m > 59)
        return BO_EINVAL;
    *offset_s = (s[p] == '-' ? -1 : 1) * (h * 3600 + m * 60);
    return 0;
}

int bo_time_parse(const char *s, size_t len, int64_t *ms)
{
    struct tm tm;
    int sec, frac_ms, offset_s;
    size_t p = 19;
    if (!s || len < 20 || len > BO_RFC3339_MAX_INPUT || parse_fields(s, &tm, &sec) ||
        parse_fraction(s, len, &p, &frac_ms) || parse_offset(s, len, p, &offset_s))
        return BO_EINVAL;
    int64_t t = (int64_t)timegm(&tm) + sec - offset_s;
    t = t * 1000 + frac_ms;
    if (t < MIN_MS || t > MAX_MS) /* an offset or a leap second past year 1 or 9999 */
        return BO_EINVAL;
    *ms = t;
    return 0;
}

size_t bo_time_format(int64_t ms, char out[BO_RFC3339_SIZE])
{
    struct tm tm;
    ms = ms < MIN_MS ? MIN_MS : ms > MAX_MS ? MAX_MS : ms;
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int frac = (int)(ms - secs * 1000);
    time_t t = (time_t)secs;
    gmtime_r(&t, &tm);
    int n = snprintf(out, BO_RFC3339_SIZE, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (frac)
        n += snprintf(out + n, BO_RFC3339_SIZE - (size_t)n, ".%03d", frac);
    out[n++] = 'Z';
    out[n] = '\0';
    return (size_t)n;
}

json_t *bo_time_json(int64_t ms)
{
    char t[BO_RFC3339_SIZE];
    if (ms <= 0)
        return json_null();
    bo_time_format(ms, t);
    return json_string(t);
}
