/*
 * test_api_hold_json.c - the pure pieces of the holds API: e-mail addresses
 * and the customer hash, Idempotency-Key checks and the request hash, hold
 * requests read against a layout (every refusal names its field), holds
 * written as JSON, times.
 */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"

/* ---- e-mail addresses ---- */

Test(email, accepts_ordinary_addresses)
{
    const char *good[] = {"a@b.co",
                          "ana@example.org",
                          "Ana.Silva+tickets@mail.example.pt",
                          "o'neil@x-y.example",
                          "user_1@sub.domain.example",
                          "\xc3\xa9@b.co",
                          "x@\xc3\xa9xample.com",
                          "!#$%&'*+/=?^_`{|}~-@a.b"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        cr_assert(bo_email_customer(good[i], strlen(good[i]), NULL), "%s", good[i]);
}

Test(email, refuses_what_is_not_an_address)
{
    char local65[80], long255[300];
    memset(local65, 'a', 65);
    strcpy(local65 + 65, "@b.co");
    memset(long255, 'a', 64);
    long255[64] = '@';
    for (int i = 65; i < 250; i += 2) { /* labels "b." up to 255 bytes */
        long255[i] = 'b';
        long255[i + 1] = '.';
    }
    strcpy(long255 + 251, "com");
    cr_assert_eq(strlen(long255), 254);
    cr_assert(bo_email_customer(long255, 254, NULL), "254 bytes is fine");
    long255[253] = 'm';
    long255[254] = 'x';
    long255[255] = '\0';
    const char *bad[] = {"",          "nobody",  "@b.co",    "a@",         "a@b",      "a@@b.co",
                         "a@b@c.co",  ".a@b.co", "a.@b.co",  "a..b@c.co",  "a b@c.co", "a@b..co",
                         "a@.b.co",   "a@b.co.", "a@-b.co",  "a@b-.co",    "a@b_c.co", "a\"b@c.co",
                         "a(b)@c.co", "a@b.c o", "a,b@c.co", "a\x01@b.co", local65,    long255};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert(!bo_email_customer(bad[i], strlen(bad[i]), NULL), "%zu: %s", i, bad[i]);
    cr_assert(!bo_email_customer("a\0b@c.co", 8, NULL), "an embedded NUL");
}

Test(email, customer_hash_ignores_ascii_case_and_is_nonzero)
{
    uint64_t a = 0, b = 0, c = 0;
    cr_assert(bo_email_customer("Ana@Example.ORG", 15, &a));
    cr_assert(bo_email_customer("ana@example.org", 15, &b));
    cr_assert(bo_email_customer("ann@example.org", 15, &c));
    cr_assert_neq(a, 0);
    cr_assert_eq(a, b);
    cr_assert_neq(a, c);
    uint8_t h[8];
    crypto_generichash(h, 8, (const uint8_t *)"ana@example.org", 15, NULL, 0);
    uint64_t want = 0;
    for (int i = 0; i < 8; i++)
        want = want << 8 | h[i];
    cr_assert_eq(b, want, "BLAKE2b-64 of the lower-cased address, big-endian");
}

/* ---- Idempotency-Key ---- */

Test(idem, key_bounds)
{
    char k[300];
    memset(k, 'k', sizeof(k));
    cr_assert(bo__idem_key_ok("a", 1));
    cr_assert(bo__idem_key_ok("6f1c2b9e-3d4a-4f7b-9a0e-2c5d8e1f3a47", 36));
    cr_assert(bo__idem_key_ok(" ~!", 3));
    cr_assert(bo__idem_key_ok(k, 255));
    cr_assert(!bo__idem_key_ok(k, 256));
    cr_assert(!bo__idem_key_ok("", 0));
    cr_assert(!bo__idem_key_ok("a\tb", 3));
    cr_assert(!bo__idem_key_ok("a\x7f", 2));
    cr_assert(!bo__idem_key_ok("\xc3\xa9", 2));
    cr_assert(!bo__idem_key_ok("a\0b", 3));
}

Test(idem, request_hash_is_sha256_of_method_path_body_with_separators)
{
    uint8_t got[32], want[32];
    static const char framed[] = "POST\0/api/v1/events/evt_1/holds\0{\"a\":1}";
    bo__idem_hash("POST", "/api/v1/events/evt_1/holds", "{\"a\":1}", 7, got);
    crypto_hash_sha256(want, (const uint8_t *)framed, sizeof(framed) - 1);
    cr_assert_eq(memcmp(got, want, 32), 0);
    /* The separators keep the parts apart. */
    uint8_t x[32], y[32];
    bo__idem_hash("POST", "/ab", "", 0, x);
    bo__idem_hash("POST", "/a", "b", 1, y);
    cr_assert_neq(memcmp(x, y, 32), 0);
    bo__idem_hash("DELETE", "/a", "b", 1, x);
    cr_assert_neq(memcmp(x, y, 32), 0);
}

/* ---- reading hold requests ---- */

static bo_layout_t *layout;

static void make_layout(void)
{
    bo_venue_gen_t g = {
        .sections = 2, .rows = 2, .seats = 5, .ga_areas = 2, .ga_capacity = 50, .categories = 2};
    size_t len;
    char *json = bo_venue_generate(&g, &len);
    cr_assert_not_null(json);
    cr_assert_eq(bo_layout_parse(json, len, &layout, NULL), 0);
    free(json);
}

static void free_layout(void)
{
    bo_layout_free(layout);
}

TestSuite(request, .init = make_layout, .fini = free_layout);

typedef struct parsed {
    int rc;
    bo_hold_req_t req;
    uint32_t seats[BO_HOLD_MAX_SEATS];
    bo_ga_line_t ga[BO_HOLD_MAX_GA];
    bo_hold_bad_t bad;
} parsed_t;

static parsed_t *parse(const char *text)
{
    static parsed_t p;
    json_error_t err;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &err);
    cr_assert_not_null(j, "test JSON %s: %s", text, err.text);
    json_decref(p.bad.details);
    memset(&p, 0, sizeof(p));
    p.rc = bo__hold_request_read(j, layout, &p.req, p.seats, p.ga, &p.bad);
    json_decref(j);
    return &p;
}

#define CUST ",\"customer\":{\"email\":\"a@b.co\"}}"

static void refused(const char *text, const char *field)
{
    parsed_t *p = parse(text);
    cr_assert_eq(p->rc, BO_EINVAL, "%s", text);
    cr_assert_str_eq(p->bad.field, field, "%s", text);
    cr_assert(p->bad.message && *p->bad.message);
}

Test(request, explicit_seats)
{
    parsed_t *p = parse("{\"seats\":[\"S1-A-2\",\"S2-B-5\"],\"unknown\":[1,2]" CUST);
    cr_assert_eq(p->rc, 0);
    cr_assert_eq(p->req.nseats, 2);
    cr_assert_eq(p->req.seats[0], bo_layout_find_seat(layout, "S1-A-2", 6));
    cr_assert_eq(p->req.seats[1], bo_layout_find_seat(layout, "S2-B-5", 6));
    cr_assert_eq(p->req.nga, 0);
    cr_assert_eq(p->req.best_quantity, 0);
    cr_assert_neq(p->req.customer, 0);
}

Test(request, unknown_seats_are_listed_once)
{
    parsed_t *p = parse("{\"seats\":[\"S1-A-2\",\"Z9\",\"Z8\",\"Z9\"]" CUST);
    cr_assert_eq(p->rc, BO_EINVAL);
    cr_assert_str_eq(p->bad.field, "seats");
    json_t *u = json_object_get(p->bad.details, "unknown");
    cr_assert_eq(json_array_size(u), 2);
    cr_assert_str_eq(json_string_value(json_array_get(u, 0)), "Z9");
    cr_assert_str_eq(json_string_value(json_array_get(u, 1)), "Z8");
}

Test(request, seats_refusals)
{
    refused("{\"seats\":[]" CUST, "seats");
    refused("{\"seats\":\"S1-A-1\"" CUST, "seats");
    refused("{\"seats\":{\"id\":\"S1-A-1\"}" CUST, "seats");
    refused("{\"seats\":[\"S1-A-1\",2]" CUST, "seats[1]");
    refused("{\"seats\":[null]" CUST, "seats[0]");
    refused("{\"seats\":[\"\"]" CUST, "seats[0]");
    refused("{\"seats\":[\"S1-A-1\",\"S1-A-1\"]" CUST, "seats");
    char big[2000] = "{\"seats\":[";
    for (int i = 0; i < 101; i++)
        strcat(big, i ? ",\"S1-A-1\"" : "\"S1-A-1\"");
    strcat(big, "]" CUST);
    refused(big, "seats");
    char longid[200] = "{\"seats\":[\"";
    memset(longid + strlen(longid), 'x', 65);
    strcat(longid, "\"]" CUST);
    refused(longid, "seats[0]");
}

/* jansson allocations not yet freed, counted while a test installs these */
static long live_allocs;

static void *counting_malloc(size_t n)
{
    live_allocs++;
    return malloc(n);
}

static void counting_free(void *p)
{
    if (p)
        live_allocs--;
    free(p);
}

/* Found by tests/fuzz/fuzz_hold_body.c: an unknown seat id followed by a
 * malformed one (not a string, empty, over 64 bytes) returned the
 * malformed one's refusal and leaked the list of unknown ids. */
Test(request, a_malformed_id_after_an_unknown_one_keeps_nothing)
{
    const char *bodies[] = {
        "{\"seats\":[\"Z9\",2]" CUST, "{\"seats\":[\"Z9\",\"\"]" CUST,
        "{\"seats\":[\"Z9\",\"S1-A-1\",\"S1-A-1\",null]" CUST,
        "{\"seats\":[\"S1-A-1\",\"Z9\",\"Z8\","
        "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"]" CUST};
    const char *fields[] = {"seats[1]", "seats[1]", "seats[3]", "seats[3]"};
    json_set_alloc_funcs(counting_malloc, counting_free);
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        bo_hold_req_t req = {0};
        uint32_t seats[BO_HOLD_MAX_SEATS];
        bo_ga_line_t ga[BO_HOLD_MAX_GA];
        bo_hold_bad_t bad;
        json_t *j = json_loads(bodies[i], JSON_REJECT_DUPLICATES, NULL);
        cr_assert_not_null(j);
        int rc = bo__hold_request_read(j, layout, &req, seats, ga, &bad);
        json_decref(j);
        cr_assert_eq(rc, BO_EINVAL, "%s", bodies[i]);
        cr_assert_str_eq(bad.field, fields[i], "%s", bodies[i]);
        cr_assert_null(bad.details, "%s", bodies[i]);
        cr_assert_eq(live_allocs, 0, "%s: %ld jansson allocations left", bodies[i], live_allocs);
    }
    json_set_alloc_funcs(malloc, free);
}

Test(request, duplicate_seats_are_listed)
{
    parsed_t *p = parse("{\"seats\":[\"S1-A-1\",\"S1-A-2\",\"S1-A-1\"]" CUST);
    cr_assert_eq(p->rc, BO_EINVAL);
    json_t *d = json_object_get(p->bad.details, "duplicates");
    cr_assert_eq(json_array_size(d), 1);
    cr_assert_str_eq(json_string_value(json_array_get(d, 0)), "S1-A-1");
}

Test(request, best_available)
{
    parsed_t *p = parse("{\"best_available\":{\"quantity\":3}" CUST);
    cr_assert_eq(p->rc, 0);
    cr_assert_eq(p->req.best_quantity, 3);
    cr_assert_eq(p->req.best_category, BO_NONE);
    cr_assert_eq(p->req.best_section, BO_NONE);
    p = parse("{\"best_available\":{\"quantity\":100,\"category\":\"P2\",\"section\":\"S2\"}" CUST);
    cr_assert_eq(p->rc, 0);
    cr_assert_eq(p->req.best_quantity, 100);
    cr_assert_eq(p->req.best_category, bo_layout_find_category(layout, "P2"));
    cr_assert_eq(p->req.best_section, bo_layout_find_section(layout, "S2"));
    p = parse("{\"best_available\":{\"quantity\":1,\"category\":null}" CUST);
    cr_assert_eq(p->rc, 0, "null is absent");
    const char *q = "best_available.quantity";
    refused("{\"best_available\":2" CUST, "best_available");
    refused("{\"best_available\":[]" CUST, "best_available");
    refused("{\"best_available\":{}" CUST, q);
    refused("{\"best_available\":{\"quantity\":0}" CUST, q);
    refused("{\"best_available\":{\"quantity\":101}" CUST, q);
    refused("{\"best_available\":{\"quantity\":-1}" CUST, q);
    refused("{\"best_available\":{\"quantity\":2.5}" CUST, q);
    refused("{\"best_available\":{\"quantity\":2.0}" CUST, q);
    refused("{\"best_available\":{\"quantity\":1e30}" CUST, q);
    refused("{\"best_available\":{\"quantity\":4294967297}" CUST, q);
    refused("{\"best_available\":{\"quantity\":\"2\"}" CUST, q);
    refused("{\"best_available\":{\"quantity\":true}" CUST, q);
    refused("{\"best_available\":{\"quantity\":2,\"category\":\"VIP\"}" CUST,
            "best_available.category");
    refused("{\"best_available\":{\"quantity\":2,\"category\":7}" CUST, "best_available.category");
    refused("{\"best_available\":{\"quantity\":2,\"section\":\"S9\"}" CUST,
            "best_available.section");
}

Test(request, ga_lines)
{
    parsed_t *p = parse("{\"ga\":{\"area\":\"ga2\",\"quantity\":4}" CUST);
    cr_assert_eq(p->rc, 0);
    cr_assert_eq(p->req.nga, 1);
    cr_assert_eq(p->req.ga[0].area, bo_layout_find_ga(layout, "ga2"));
    cr_assert_eq(p->req.ga[0].quantity, 4);
    p = parse(
        "{\"ga\":[{\"area\":\"ga1\",\"quantity\":1},{\"area\":\"ga2\",\"quantity\":100}]" CUST);
    cr_assert_eq(p->rc, 0);
    cr_assert_eq(p->req.nga, 2);
    cr_assert_eq(p->req.ga[1].quantity, 100);
    refused("{\"ga\":\"ga1\"" CUST, "ga");
    refused("{\"ga\":[]" CUST, "ga");
    refused("{\"ga\":[1]" CUST, "ga[0]");
    refused("{\"ga\":{\"quantity\":1}" CUST, "ga.area");
    refused("{\"ga\":{\"area\":\"floor9\",\"quantity\":1}" CUST, "ga.area");
    refused("{\"ga\":{\"area\":\"ga1\",\"quantity\":null}" CUST, "ga.quantity");
    refused("{\"ga\":{\"area\":\"ga1\",\"quantity\":101}" CUST, "ga.quantity");
    refused("{\"ga\":{\"area\":\"ga1\",\"quantity\":1e9}" CUST, "ga.quantity");
    refused("{\"ga\":[{\"area\":\"ga1\",\"quantity\":1},{\"area\":\"ga2\",\"quantity\":0}]" CUST,
            "ga[1].quantity");
    refused("{\"ga\":[{\"area\":\"ga1\",\"quantity\":1},{\"area\":\"ga1\",\"quantity\":2}]" CUST,
            "ga");
    char nine[600] = "{\"ga\":[";
    for (int i = 0; i < 9; i++)
        strcat(nine,
               i ? ",{\"area\":\"ga1\",\"quantity\":1}" : "{\"area\":\"ga1\",\"quantity\":1}");
    strcat(nine, "]" CUST);
    refused(nine, "ga");
}

Test(request, exactly_one_selection_and_a_customer)
{
    refused("{\"customer\":{\"email\":\"a@b.co\"}}", "");
    refused("{\"seats\":[\"S1-A-1\"],\"ga\":{\"area\":\"ga1\",\"quantity\":1}" CUST, "");
    refused("{\"seats\":null,\"best_available\":null,\"ga\":null" CUST, "");
    refused("{\"seats\":[\"S1-A-1\"]}", "customer");
    refused("{\"seats\":[\"S1-A-1\"],\"customer\":\"a@b.co\"}", "customer");
    refused("{\"seats\":[\"S1-A-1\"],\"customer\":{}}", "customer.email");
    refused("{\"seats\":[\"S1-A-1\"],\"customer\":{\"email\":42}}", "customer.email");
    refused("{\"seats\":[\"S1-A-1\"],\"customer\":{\"email\":\"nobody\"}}", "customer.email");
    parsed_t *p = parse("{\"customer\":{\"email\":\"a@b.co\"}}");
    cr_assert_not_null(json_object_get(p->bad.details, "one_of"));
}

/* ---- writing holds ---- */

Test(render, a_hold_as_the_api_answers_it)
{
    make_layout();
    bo_hold_view_t v = {.status = BO_HOLD_HELD,
                        .expires_at_ms = 1795197900999, /* 2026-11-20T18:05:00.999Z */
                        .amount_cents = 15000};
    for (int i = 0; i < 16; i++)
        v.id.b[i] = (uint8_t)(0xa0 + i);
    uint32_t seats[] = {bo_layout_find_seat(layout, "S1-B-1", 6),
                        bo_layout_find_seat(layout, "S1-B-2", 6)};
    bo_ga_line_t ga[] = {{bo_layout_find_ga(layout, "ga1"), 4}};
    v.seats = seats;
    v.nseats = 2;
    v.ga = ga;
    v.nga = 1;
    size_t len;
    char *s = bo__hold_render(layout, 0x3f9a1c0b7d2e4a65ull, &v, "EUR", 1795197600000, &len);
    cr_assert_not_null(s);
    cr_assert_eq(strlen(s), len);
    cr_assert_str_eq(s,
                     "{\"hold\":{\"id\":\"hold_3f9a1c0b7d2e4a65a0a1a2a3a4a5a6a7a8a9aaabacadaeaf\","
                     "\"event_id\":\"evt_3f9a1c0b7d2e4a65\",\"status\":\"held\","
                     "\"seats\":[\"S1-B-1\",\"S1-B-2\"],\"ga\":[{\"area\":\"ga1\",\"quantity\":4}],"
                     "\"expires_at\":\"2026-11-20T18:05:00.999Z\",\"time_left_s\":301,"
                     "\"amount\":{\"total_cents\":15000,\"currency\":\"EUR\"}}}");
    free(s);
    v.status = BO_HOLD_SOLD;
    s = bo__hold_render(layout, 1, &v, "EUR", 1795197600000, &len);
    json_t *j = json_loads(s, 0, NULL);
    cr_assert_not_null(j, "valid JSON");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "hold"), "status")),
                     "sold");
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(j, "hold"), "time_left_s")), 0);
    json_decref(j);
    free(s);
    bo_layout_free(layout);
    layout = NULL;
}

Test(render, strings_are_escaped)
{
    static const char map[] =
        "{\"name\":\"Odd\",\"categories\":[{\"key\":\"P\",\"name\":\"P\",\"color\":\"#000000\"}],"
        "\"sections\":[{\"id\":\"s\",\"name\":\"s\",\"rows\":[{\"label\":\"A\",\"seats\":["
        "{\"id\":\"a\\\"b\\\\c\xc3\xa9\",\"number\":\"1\",\"x\":0,\"y\":0,\"category\":\"P\"}]}]}]"
        "}";
    bo_layout_t *l = NULL;
    cr_assert_eq(bo_layout_parse(map, sizeof(map) - 1, &l, NULL), 0);
    uint32_t seat = 0;
    bo_hold_view_t v = {
        .status = BO_HOLD_PAYING, .expires_at_ms = 5000, .seats = &seat, .nseats = 1};
    size_t len;
    char *s = bo__hold_render(l, 1, &v, "EUR", 10000, &len);
    json_t *j = json_loads(s, 0, NULL);
    cr_assert_not_null(j, "%s", s);
    json_t *h = json_object_get(j, "hold");
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(h, "seats"), 0)),
                     "a\"b\\c\xc3\xa9");
    cr_assert_str_eq(json_string_value(json_object_get(h, "status")), "paying");
    cr_assert_eq(json_integer_value(json_object_get(h, "time_left_s")), 0, "never negative");
    json_decref(j);
    free(s);
    bo_layout_free(l);
}

Test(time, time_left_rounds_up)
{
    cr_assert_eq(bo__time_left_s(1795197900000, 1795197600000), 300, "a new hold shows its TTL");
    cr_assert_eq(bo__time_left_s(1795197900999, 1795197600000), 301);
    cr_assert_eq(bo__time_left_s(1795197900999, 1795197601000), 300);
    cr_assert_eq(bo__time_left_s(1795197900999, 1795197900500), 1, "alive: never 0");
    cr_assert_eq(bo__time_left_s(1795197900999, 1795197900999), 0, "gone at expires_at");
    cr_assert_eq(bo__time_left_s(1795197900999, 1795197999999), 0);
}
