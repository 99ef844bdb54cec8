/*
 * test_api_catalog.c - the pure pieces of the API's catalog (src/catalog/
 * catalog.c): the events list's cursors (round trips, and every cursor the
 * server did not make refused) and the event status rules; and the text
 * buffer that big answers are built with (src/util/strbuf.h).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "boxoffice/catalog.h"
#include "boxoffice/error.h"
#include "util/strbuf.h"

Test(cursor, round_trips)
{
    const int64_t times[] = {0, 1, -1, 1796499000000LL, INT64_MAX, INT64_MIN};
    const uint64_t ids[] = {1, 0x0123456789abcdefull, UINT64_MAX, 42};
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++)
        for (size_t k = 0; k < sizeof(ids) / sizeof(ids[0]); k++) {
            char c[BO_CATALOG_CURSOR_LEN + 1];
            int64_t t = 7;
            uint64_t id = 7;
            bo_catalog_cursor_encode(times[i], ids[k], c);
            cr_assert_eq(strlen(c), BO_CATALOG_CURSOR_LEN);
            cr_assert_eq(
                strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                BO_CATALOG_CURSOR_LEN, "base64url: %s", c);
            cr_assert_eq(bo_catalog_cursor_decode(c, strlen(c), &t, &id), 0, "%s", c);
            cr_assert_eq(t, times[i]);
            cr_assert_eq(id, ids[k]);
        }
}

Test(cursor, refuses_what_the_server_did_not_make)
{
    char c[BO_CATALOG_CURSOR_LEN + 1], bad[BO_CATALOG_CURSOR_LEN + 2];
    int64_t t;
    uint64_t id;
    bo_catalog_cursor_encode(1796499000000LL, 99, c);
    const char *garbage[] = {
        "", "garbage", "AAAA",
        "eyJ0IjoiMjAyNi0xMi0wNVQxOTozMDowMFoiLCJpZCI6ImV2dF8zZjlhMWMwYjdkMmU0YTY1In0"};
    for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++)
        cr_assert_eq(bo_catalog_cursor_decode(garbage[i], strlen(garbage[i]), &t, &id), BO_EINVAL,
                     "%s", garbage[i]);
    cr_assert_eq(bo_catalog_cursor_decode(NULL, 0, &t, &id), BO_EINVAL);
    /* every single-character change is caught by the check */
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (size_t pos = 0; pos < BO_CATALOG_CURSOR_LEN; pos++) {
        memcpy(bad, c, sizeof(c));
        bad[pos] = alphabet[(strchr(alphabet, c[pos]) - alphabet + 17) % 64];
        cr_assert_eq(bo_catalog_cursor_decode(bad, BO_CATALOG_CURSOR_LEN, &t, &id), BO_EINVAL,
                     "changed at %zu", pos);
    }
    /* padded, standard base64 or longer: refused */
    memcpy(bad, c, sizeof(c));
    bad[BO_CATALOG_CURSOR_LEN] = '=';
    bad[BO_CATALOG_CURSOR_LEN + 1] = '\0';
    cr_assert_eq(bo_catalog_cursor_decode(bad, BO_CATALOG_CURSOR_LEN + 1, &t, &id), BO_EINVAL);
    cr_assert_eq(bo_catalog_cursor_decode(c, BO_CATALOG_CURSOR_LEN - 1, &t, &id), BO_EINVAL);
}

/* Found by tests/fuzz/fuzz_ids.c: libSodium's base64 decoder compares
 * signed chars, so a byte past 0x7f in place of a character could decode
 * as one, and a cursor had other spellings than the server's. */
Test(cursor, refuses_bytes_outside_the_alphabet)
{
    char c[BO_CATALOG_CURSOR_LEN + 1], bad[BO_CATALOG_CURSOR_LEN + 1];
    int64_t t;
    uint64_t id;
    const char *found = "AQAAAZrv_h7AAAAAAAAAACr2rDCS"; /* the fuzzer's, with its byte */
    cr_assert_eq(bo_catalog_cursor_decode(found, BO_CATALOG_CURSOR_LEN, &t, &id), 0);
    memcpy(bad, found, sizeof(bad));
    bad[8] = (char)0xeb;
    cr_assert_eq(bo_catalog_cursor_decode(bad, BO_CATALOG_CURSOR_LEN, &t, &id), BO_EINVAL);
    bo_catalog_cursor_encode(1796499000000LL, 99, c);
    for (size_t pos = 0; pos < BO_CATALOG_CURSOR_LEN; pos++)
        for (int b = 0x80; b <= 0xff; b++) {
            memcpy(bad, c, sizeof(c));
            bad[pos] = (char)b;
            cr_assert_eq(bo_catalog_cursor_decode(bad, BO_CATALOG_CURSOR_LEN, &t, &id), BO_EINVAL,
                         "0x%02x at %zu", b, pos);
        }
}

Test(status, follows_the_times_and_the_flags)
{
    bo_event_info_t e = {.starts_at_ms = 10000, .on_sale_at_ms = 5000};
    cr_assert_eq(bo_catalog_status(&e, 4999, 10), BO_EVENT_SCHEDULED);
    cr_assert_eq(bo_catalog_status(&e, 5000, 10), BO_EVENT_ON_SALE);
    cr_assert_eq(bo_catalog_status(&e, 5000, 0), BO_EVENT_SOLD_OUT);
    cr_assert_eq(bo_catalog_status(&e, 4999, 0), BO_EVENT_SCHEDULED, "not sold out before sales");
    cr_assert_eq(bo_catalog_status(&e, 9999, 1), BO_EVENT_ON_SALE);
    cr_assert_eq(bo_catalog_status(&e, 10000, 1), BO_EVENT_ENDED);
    cr_assert_eq(bo_catalog_status(&e, 10000, 0), BO_EVENT_ENDED);
    e.cancelled = true;
    cr_assert_eq(bo_catalog_status(&e, 0, 1), BO_EVENT_CANCELLED);
    cr_assert_eq(bo_catalog_status(&e, 20000, 1), BO_EVENT_CANCELLED);
    const char *names[] = {"scheduled", "on_sale", "sold_out", "cancelled", "ended"};
    for (int s = BO_EVENT_SCHEDULED; s <= BO_EVENT_ENDED; s++)
        cr_assert_str_eq(bo_catalog_status_name((enum bo_event_status)s), names[s]);
}

Test(status, meta_json_keeps_every_field)
{
    bo_event_info_t e = {.starts_at_ms = 1796499000000LL,
                         .on_sale_at_ms = 1793000000000LL,
                         .created_ms = 1790000000000LL,
                         .cancelled = true};
    strcpy(e.name, "Aurora \"live\"");
    strcpy(e.currency, "EUR");
    char *meta = bo_catalog_meta_json(&e, "line 1\nline 2");
    cr_assert_not_null(meta);
    json_t *j = json_loads(meta, 0, NULL);
    cr_assert_not_null(j, "%s", meta);
    cr_assert_str_eq(json_string_value(json_object_get(j, "name")), "Aurora \"live\"");
    cr_assert_str_eq(json_string_value(json_object_get(j, "description")), "line 1\nline 2");
    cr_assert_eq(json_integer_value(json_object_get(j, "starts_at")), 1796499000000LL);
    cr_assert_eq(json_integer_value(json_object_get(j, "on_sale_at")), 1793000000000LL);
    cr_assert_eq(json_integer_value(json_object_get(j, "created_at")), 1790000000000LL);
    cr_assert_str_eq(json_string_value(json_object_get(j, "currency")), "EUR");
    cr_assert(json_is_true(json_object_get(j, "cancelled")));
    json_decref(j);
    free(meta);
}

Test(strbuf, builds_text_and_json_strings)
{
    bo_buf_t b;
    size_t len;
    bo_buf_init(&b, 4); /* small: forces growth */
    bo_buf_puts(&b, "{\"s\":");
    bo_buf_json_str(&b, "a\"b\\c\n\t\r\x01\x1f é");
    bo_buf_printf(&b, ",\"n\":%d,\"long\":\"%0300d\"}", 42, 7);
    char *s = bo_buf_take(&b, &len);
    cr_assert_not_null(s);
    cr_assert_eq(strlen(s), len);
    json_t *j = json_loads(s, 0, NULL);
    cr_assert_not_null(j, "%s", s);
    cr_assert_str_eq(json_string_value(json_object_get(j, "s")), "a\"b\\c\n\t\r\x01\x1f é");
    cr_assert_eq(json_integer_value(json_object_get(j, "n")), 42);
    cr_assert_eq(strlen(json_string_value(json_object_get(j, "long"))), 300);
    json_decref(j);
    free(s);
    /* empty, and reusable after a take */
    cr_assert_eq(b.len, 0);
    s = bo_buf_take(&b, &len);
    cr_assert_str_eq(s, "");
    cr_assert_eq(len, 0);
    free(s);
}

Test(strbuf, a_failure_is_sticky)
{
    bo_buf_t b;
    bo_buf_init(&b, 0);
    bo_buf_puts(&b, "partial");
    b.failed = true; /* as after a failed realloc */
    bo_buf_puts(&b, "more");
    size_t len = 99;
    cr_assert_null(bo_buf_take(&b, &len));
    cr_assert_null(b.p);
}
