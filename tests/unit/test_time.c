/*
 * test_time.c - RFC 3339 parsing and formatting (src/util/time.h): the
 * forms RFC 3339 allows, exact milliseconds, every malformed or impossible
 * time refused, and round trips.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "boxoffice/error.h"
#include "util/time.h"

static int64_t parse_ok(const char *s)
{
    int64_t ms = 0;
    cr_assert_eq(bo_time_parse(s, strlen(s), &ms), 0, "%s should parse", s);
    return ms;
}

Test(time, parses_utc_fractions_and_offsets)
{
    cr_assert_eq(parse_ok("1970-01-01T00:00:00Z"), 0);
    cr_assert_eq(parse_ok("2026-12-05T19:30:00Z"), 1796499000000LL);
    cr_assert_eq(parse_ok("2026-12-05t19:30:00z"), 1796499000000LL);
    cr_assert_eq(parse_ok("2026-12-05T19:30:00.250Z"), 1796499000250LL);
    cr_assert_eq(parse_ok("2026-12-05T19:30:00.2Z"), 1796499000200LL);
    cr_assert_eq(parse_ok("2026-12-05T19:30:00.123456789Z"), 1796499000123LL);
    cr_assert_eq(parse_ok("2026-12-05T20:30:00+01:00"), 1796499000000LL);
    cr_assert_eq(parse_ok("2026-12-05T14:00:00-05:30"), 1796499000000LL);
    cr_assert_eq(parse_ok("2026-12-05T19:30:00+00:00"), 1796499000000LL);
    cr_assert_eq(parse_ok("1969-12-31T23:59:59.999Z"), -1);
    cr_assert_eq(parse_ok("2024-02-29T00:00:00Z"), 1709164800000LL);
    cr_assert_eq(parse_ok("2000-02-29T00:00:00Z"), 951782400000LL);
    cr_assert_eq(parse_ok("2016-12-31T23:59:60Z"), parse_ok("2017-01-01T00:00:00Z"));
    cr_assert_eq(parse_ok("0001-01-01T00:00:00Z"), -62135596800000LL);
    cr_assert_eq(parse_ok("9999-12-31T23:59:59Z"), 253402300799000LL);
}

Test(time, refuses_malformed_and_impossible_times)
{
    const char *bad[] = {
        "",
        "2026-12-05",
        "2026-12-05T19:30:00",  /* no zone */
        "2026-12-05 19:30:00Z", /* space */
        "2026-12-05T19:30Z",    /* no seconds */
        "2026-13-05T19:30:00Z", /* month 13 */
        "2026-00-05T19:30:00Z",
        "2026-12-00T19:30:00Z",
        "2026-12-32T19:30:00Z",
        "2026-02-29T00:00:00Z", /* not a leap year */
        "1900-02-29T00:00:00Z",
        "2026-04-31T00:00:00Z",
        "2026-12-05T24:00:00Z",
        "2026-12-05T19:60:00Z",
        "2026-12-05T19:30:61Z",
        "2026-12-05T19:30:00.Z", /* empty fraction */
        "2026-12-05T19:30:00.1234567890Z",
        "2026-12-05T19:30:00+01",
        "2026-12-05T19:30:00+0100",
        "2026-12-05T19:30:00+24:00",
        "2026-12-05T19:30:00+01:60",
        "2026-12-05T19:30:00Zjunk",
        "2026-12-05T19:30:00ZZ",
        "0000-01-01T00:00:00Z",
        "+2026-12-05T19:30:00Z",
        "2026-1-05T19:30:00Z",
        "2026-12-05T19:30:0xZ",
        "２０２６-12-05T19:30:00Z",
        "yesterday",
        "next friday",
        "2024-13-45T00:00:00Z",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t ms = 42;
        cr_assert_eq(bo_time_parse(bad[i], strlen(bad[i]), &ms), BO_EINVAL, "%s should not parse",
                     bad[i]);
        cr_assert_eq(ms, 42, "%s: *ms untouched", bad[i]);
    }
    int64_t ms;
    cr_assert_eq(bo_time_parse(NULL, 0, &ms), BO_EINVAL);
    /* len bounds the read: the text past it is not looked at */
    cr_assert_eq(bo_time_parse("2026-12-05T19:30:00Zxyz", 20, &ms), 0);
    cr_assert_eq(bo_time_parse("2026-12-05T19:30:00Z", 19, &ms), BO_EINVAL);
}

Test(time, formats_utc_with_milliseconds_only_when_needed)
{
    char buf[BO_RFC3339_SIZE];
    cr_assert_eq(bo_time_format(0, buf), 20);
    cr_assert_str_eq(buf, "1970-01-01T00:00:00Z");
    bo_time_format(1796499000000LL, buf);
    cr_assert_str_eq(buf, "2026-12-05T19:30:00Z");
    cr_assert_eq(bo_time_format(1796499000250LL, buf), 24);
    cr_assert_str_eq(buf, "2026-12-05T19:30:00.250Z");
    bo_time_format(-1, buf);
    cr_assert_str_eq(buf, "1969-12-31T23:59:59.999Z");
    bo_time_format(INT64_MIN, buf);
    cr_assert_str_eq(buf, "0001-01-01T00:00:00Z");
    bo_time_format(INT64_MAX, buf);
    cr_assert_str_eq(buf, "9999-12-31T23:59:59.999Z");
}

Test(time, round_trips)
{
    char buf[BO_RFC3339_SIZE];
    int64_t samples[] = {0,
                         1,
                         999,
                         1000,
                         -1000,
                         951782400000LL,
                         1796499000250LL,
                         253402300799999LL,
                         -62135596800000LL,
                         4102444800000LL};
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        int64_t back = 0;
        size_t n = bo_time_format(samples[i], buf);
        cr_assert_eq(bo_time_parse(buf, n, &back), 0, "%s", buf);
        cr_assert_eq(back, samples[i], "%s", buf);
    }
    /* every day of a leap year and of a common one */
    for (int64_t ms = 946684800000LL; ms < 946684800000LL + 2 * 366 * 86400000LL;
         ms += 86400000LL + 3723001) {
        int64_t back = 0;
        size_t n = bo_time_format(ms, buf);
        cr_assert_eq(bo_time_parse(buf, n, &back), 0, "%s", buf);
        cr_assert_eq(back, ms, "%s", buf);
    }
}

/* Found by tests/fuzz/fuzz_ids.c: an offset or a leap second could carry a
 * time past year 1 or 9999, which bo_time_format clamps, so the parsed
 * instant did not read back. Those are refused; the bounds themselves and
 * offsets that stay inside parse. */
Test(time, refuses_instants_outside_years_1_to_9999)
{
    const char *bad[] = {"0001-01-01T00:00:00+01:00", "0001-01-01T00:59:59.999+01:00",
                         "9999-12-31T23:59:60Z", "9999-12-31T23:59:59-00:01",
                         "9999-12-31T23:00:00-23:59"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t ms = 42;
        cr_assert_eq(bo_time_parse(bad[i], strlen(bad[i]), &ms), BO_EINVAL, "%s", bad[i]);
        cr_assert_eq(ms, 42, "%s: untouched", bad[i]);
    }
    cr_assert_eq(parse_ok("0001-01-01T01:00:00+01:00"), -62135596800000LL);
    cr_assert_eq(parse_ok("0001-01-01T00:00:00-01:00"), -62135596800000LL + 3600000);
    cr_assert_eq(parse_ok("9999-12-31T23:59:59.999Z"), 253402300799999LL);
    cr_assert_eq(parse_ok("9999-12-31T23:59:59.999+23:59"), 253402300799999LL - 86340000);
}
