/*
 * test_ids.c - the API's ids (src/order/ids.h): round trips, and every
 * malformed id names nothing.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "order/ids.h"
#include "boxoffice/error.h"

Test(ids, round_trips)
{
    char s[BO_ID_HOLD_LEN + 1];
    uint64_t v;
    bo_id_event(s, 0x0123456789abcdefull);
    cr_assert_str_eq(s, "evt_0123456789abcdef");
    cr_assert_eq(bo_id_parse_event(s, &v), 0);
    cr_assert_eq(v, 0x0123456789abcdefull);
    bo_id_venue(s, 42);
    cr_assert_str_eq(s, "ven_000000000000002a");
    cr_assert_eq(bo_id_parse_venue(s, &v), 0);
    cr_assert_eq(v, 42);
    bo_hold_id_t h, back;
    for (int i = 0; i < 16; i++)
        h.b[i] = (uint8_t)(i * 17);
    bo_id_hold(s, 7, &h);
    cr_assert_str_eq(s, "hold_000000000000000700112233445566778899aabbccddeeff");
    cr_assert_eq(bo_id_parse_hold(s, &v, &back), 0);
    cr_assert_eq(v, 7);
    cr_assert_eq(memcmp(h.b, back.b, 16), 0);
}

Test(ids, malformed_ids_name_nothing)
{
    uint64_t v;
    bo_hold_id_t h;
    const char *bad_events[] = {NULL,
                                "",
                                "evt_",
                                "evt_0123456789abcde",
                                "evt_0123456789abcdef0",
                                "evt_0123456789ABCDEF",
                                "ven_0123456789abcdef",
                                "evt_0000000000000000",
                                "evt_01234567 9abcdef",
                                "evt_0123456789abcdeg"};
    for (size_t i = 0; i < sizeof(bad_events) / sizeof(bad_events[0]); i++)
        cr_assert_eq(bo_id_parse_event(bad_events[i], &v), BO_ENOTFOUND, "case %zu", i);
    cr_assert_eq(bo_id_parse_venue("evt_000000000000002a", &v), BO_ENOTFOUND);
    cr_assert_eq(bo_id_parse_hold("hold_0000000000000007", &v, &h), BO_ENOTFOUND);
    cr_assert_eq(bo_id_parse_hold("hold_000000000000000700112233445566778899aabbccddeefg", &v, &h),
                 BO_ENOTFOUND);
    cr_assert_eq(bo_id_parse_hold("hold_000000000000000000112233445566778899aabbccddeeff", &v, &h),
                 BO_ENOTFOUND, "event 0 does not exist");
}

Test(ids, random_and_derived_ids)
{
    uint64_t a = bo_id_random(), b = bo_id_random();
    cr_assert_neq(a, 0);
    cr_assert_neq(a, b);
    cr_assert_leq(a, (uint64_t)INT64_MAX);
    cr_assert_eq(bo_id_from_key("venue", "k1"), bo_id_from_key("venue", "k1"));
    cr_assert_neq(bo_id_from_key("venue", "k1"), bo_id_from_key("event", "k1"));
    cr_assert_neq(bo_id_from_key("venue", "k1"), bo_id_from_key("venue", "k2"));
}

static int cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(bo_hold_id_t));
}

static void *make_ids(void *arg)
{
    bo_hold_id_t *ids = arg;
    for (int i = 0; i < 5000; i++)
        bo_id_random_hold(&ids[i]);
    return NULL;
}

Test(ids, hold_ids_never_repeat_within_or_across_threads)
{
    static bo_hold_id_t ids[10000];
    pthread_t t;
    make_ids(ids);
    pthread_create(&t, NULL, make_ids, ids + 5000); /* its own key */
    pthread_join(t, NULL);
    qsort(ids, 10000, sizeof(ids[0]), cmp_id);
    for (int i = 1; i < 10000; i++)
        cr_assert_neq(memcmp(&ids[i - 1], &ids[i], sizeof(ids[0])), 0, "repeat at %d", i);
}
